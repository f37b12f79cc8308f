"""Public VRP benchmark instances, best-known solutions and an independent solution checker.

Families: Solomon VRPTW (``solomon``), Gehring & Homberger VRPTW (``homberger``), CVRPLIB X
CVRP (``cvrplib_x``) and new random VRPTW instances made by :func:`make_random_instance`
(``random``). Instances are read with the ``vrplib`` package; nothing here imports OR-Tools,
PyVRP or VROOM, so :func:`check_solution` is an independent re-check of what they return.

Numbering. Index 0 is the depot; customers are ``1..n``, the numbers used in solution files.
Routes are lists of customer numbers without the depot. For VRPLIB files, node ``k + 1`` of the
file is customer ``k``.

Distance conventions (the part after ``;`` in ``bks.csv``'s ``objective_convention``):

``euclid_double``
    Double-precision Euclidean distance; travel time = distance.
``dimacs_trunc1``
    Every arc's distance *and travel time* truncated to one decimal, ``floor(10 d) / 10``
    (exact-method literature, CVRPLIB, 12th DIMACS challenge, PyVRP).
``euclid_nint``
    Every arc rounded to the nearest integer (TSPLIB ``EUC_2D``; CVRPLIB X).

Time windows: service must *start* in ``[ready, due]``, a vehicle that arrives early waits,
vehicles leave the depot at ``ready[0]`` and must be back by ``due[0]`` (the horizon).

Why a gap is computed under the best-known row's own convention. The same routes have a
different cost under each convention, and a best-known value is only the best under its own:
a DIMACS value (truncated arcs) is 0.1-0.6 % below the double-precision length of the same
routes. So we compare like with like: our solvers produce routes that are feasible in double
precision; such routes stay feasible when travel times are truncated (truncation only shortens
them), so their truncated cost is a legitimate candidate for the truncated problem and can be
compared with the truncated best-known value (:func:`gap_percent` does this). The converse is
not true: some DIMACS best-known routes are late by up to 0.4 time units in double precision
(see the instances' README), so a double-precision solver cannot always reach a DIMACS value
and a small positive gap is expected.
"""

from __future__ import annotations

import csv
import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import vrplib  # type: ignore[import-untyped, unused-ignore]

from geodata.files import write_atomic

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_INSTANCES = Path(
    os.environ.get(
        "BSB_INSTANCES",
        str(Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "instances"),
    )
)
"""Instance root: ``$BSB_INSTANCES`` when set at import, else ``../shared/benchmarks/instances``."""

FAMILIES = ("solomon", "homberger", "cvrplib_x", "random")
"""Instance families, named as the folders of the instance root (``random``: generated)."""

CONVENTIONS = ("euclid_double", "dimacs_trunc1", "euclid_nint")
"""Distance conventions accepted by :func:`arc_matrix`, :func:`route_cost` and the checker."""

TOLERANCE = 1e-6
"""Slack allowed on time-window and horizon checks (floating-point noise, not real lateness)."""

DISTANCE_ONLY_DOUBLE = "distance_only;euclid_double"
""":func:`load_bks` key for the weak Solomon distance-only double-precision rows (see there)."""

_SOLOMON_NAME = re.compile(r"^(c|r|rc)[12]\d\d$", re.IGNORECASE)
_HOMBERGER_NAME = re.compile(r"^(c|r|rc)[12]_(\d+)_\d+$", re.IGNORECASE)
_X_NAME = re.compile(r"^x-n\d+-k\d+$", re.IGNORECASE)
_ROUTE_LINE = re.compile(r"^\s*route\s*#?\s*(\d+)\s*:(.*)$", re.IGNORECASE)
_COST_LINE = re.compile(r"^\s*cost\s*:?\s*(\S+)\s*$", re.IGNORECASE)

# Random instances (make_random_instance): Solomon-like scale.
_RANDOM_SIDE = 100
_RANDOM_CAPACITY = 200
_RANDOM_HORIZON = 1000
_RANDOM_SERVICE = 10
_RANDOM_MAX_DEMAND = 30
_RANDOM_CLUSTERED_SHARE = 0.5
_RANDOM_CLUSTER_SD = 6.0
_RANDOM_UNCONSTRAINED_SHARE = 0.2
_RANDOM_WIDTH_RANGE = (20, 100)
# Fleet = this factor x the routes of a greedy feasible solution, so a solution always fits.
_RANDOM_FLEET_FACTOR = 1.25


@dataclass(frozen=True, slots=True, eq=False)
class VrpInstance:
    """One VRP(TW) instance; arrays indexed by node, 0 = depot, ``1..n`` = customers.

    ``due[0]`` is the depot horizon (every route back by then). CVRP instances have
    ``ready = 0``, ``due = inf``, ``service = 0`` and ``has_time_windows = False``.
    ``max_vehicles`` is the file's ``NUMBER`` for Solomon/Homberger, ``2 * ceil(sum(demand) /
    capacity)`` for X instances, and a fleet with room to spare for random instances.
    """

    name: str
    family: str
    x: FloatArray
    y: FloatArray
    demand: IntArray
    capacity: int
    ready: FloatArray
    due: FloatArray
    service: FloatArray
    max_vehicles: int
    has_time_windows: bool

    @property
    def n_customers(self) -> int:
        """Number of customers ``n`` (nodes minus the depot)."""
        return int(self.x.shape[0]) - 1


@dataclass(frozen=True)
class SolutionCheck:
    """Outcome of :func:`check_solution`.

    ``violations`` are readable sentences naming route (1-based, in the given order) and
    customer; ``vehicles`` counts non-empty routes; ``distance`` is the double-precision
    Euclidean length whatever convention the check used.
    """

    feasible: bool
    violations: tuple[str, ...]
    vehicles: int
    distance: float


@dataclass(frozen=True)
class Bks:
    """One best-known solution row of ``bks.csv``.

    ``convention`` is the full ``objective_convention`` string, e.g.
    ``"distance_only;dimacs_trunc1"``; :attr:`arc_convention` is its distance part.
    """

    instance: str
    family: str
    vehicles: int
    distance: float
    convention: str

    @property
    def arc_convention(self) -> str:
        """Distance convention, e.g. ``"dimacs_trunc1"``."""
        return _arc_convention(self.convention)

    @property
    def hierarchical(self) -> bool:
        """Whether the row minimises vehicles first, then distance."""
        return self.convention.startswith("hierarchical")


def family_of(path: Path) -> str:
    """Family of an instance file, from its folder, else from its name.

    Parameters
    ----------
    path
        An instance file (``.txt`` or ``.vrp``).

    Returns
    -------
    str
        ``"solomon"``, ``"homberger"`` or ``"cvrplib_x"`` when the parent folder is so named
        or the file stem looks like one of theirs (``C101``, ``c1_2_1``, ``X-n101-k25``);
        ``"random"`` otherwise.
    """
    if path.parent.name in FAMILIES:
        return path.parent.name
    stem = path.name.split(".")[0]
    if _SOLOMON_NAME.match(stem):
        return "solomon"
    if _HOMBERGER_NAME.match(stem):
        return "homberger"
    if _X_NAME.match(stem):
        return "cvrplib_x"
    return "random"


def read_instance(path: Path) -> VrpInstance:
    """Read a Solomon-format ``.txt`` or a VRPLIB ``.vrp`` instance.

    Parameters
    ----------
    path
        The instance file. ``.txt`` is read as Solomon format (also used by Homberger and by
        :func:`write_solomon`), anything else as VRPLIB (coordinates with ``EUC_2D``, one depot).

    Returns
    -------
    VrpInstance
        Named after the file stem, family from :func:`family_of`.

    Raises
    ------
    ValueError
        When the file is not a valid instance; the message names the file.
    OSError
        When the file cannot be read.
    """
    solomon = path.suffix.lower() == ".txt"
    try:
        with warnings.catch_warnings():
            # numpy.genfromtxt warns on ragged rows; that is a bad file, not noise.
            warnings.simplefilter("error")
            data = vrplib.read_instance(
                path, instance_format="solomon" if solomon else "vrplib", compute_edge_weights=False
            )
        instance = _from_solomon(path, data) if solomon else _from_vrplib(path, data)
    except OSError:
        raise
    except (ValueError, RuntimeError, KeyError, IndexError, TypeError, Warning) as err:
        raise ValueError(f"{path}: not a valid instance file ({err})") from err
    _validate(path, instance)
    return instance


def _from_solomon(path: Path, data: dict[str, object]) -> VrpInstance:
    coords = np.asarray(data["node_coord"], dtype=np.float64)
    windows = np.asarray(data["time_window"], dtype=np.float64)
    return VrpInstance(
        name=path.stem,
        family=family_of(path),
        x=coords[:, 0].copy(),
        y=coords[:, 1].copy(),
        demand=np.asarray(data["demand"], dtype=np.int64),
        capacity=int(str(data["capacity"])),
        ready=windows[:, 0].copy(),
        due=windows[:, 1].copy(),
        service=np.asarray(data["service_time"], dtype=np.float64),
        max_vehicles=int(str(data["vehicles"])),
        has_time_windows=True,
    )


def _from_vrplib(path: Path, data: dict[str, object]) -> VrpInstance:
    weight_type = str(data.get("edge_weight_type", ""))
    if weight_type != "EUC_2D":
        raise ValueError(f"EDGE_WEIGHT_TYPE is {weight_type or 'missing'}, expected EUC_2D")
    depots = np.asarray(data["depot"]).ravel()
    if depots.tolist() != [0]:
        raise ValueError("expected one depot, node 1")
    coords = np.asarray(data["node_coord"], dtype=np.float64)
    demand = np.asarray(data["demand"], dtype=np.int64).ravel()
    capacity = int(str(data["capacity"]))
    if capacity <= 0:
        raise ValueError(f"CAPACITY is {capacity}, expected a positive number")
    nodes = coords.shape[0]
    return VrpInstance(
        name=path.stem,
        family=family_of(path),
        x=coords[:, 0].copy(),
        y=coords[:, 1].copy(),
        demand=demand,
        capacity=capacity,
        ready=np.zeros(nodes),
        due=np.full(nodes, math.inf),
        service=np.zeros(nodes),
        # CVRPLIB sets no fleet limit; twice the minimum keeps solver models small.
        max_vehicles=2 * math.ceil(int(demand.sum()) / capacity),
        has_time_windows=False,
    )


def _validate(path: Path, instance: VrpInstance) -> None:
    nodes = instance.x.shape[0]
    problems: list[str] = []
    if nodes < 2:
        problems.append("no customers")
    for label, array in (
        ("y", instance.y),
        ("demand", instance.demand),
        ("ready", instance.ready),
        ("due", instance.due),
        ("service", instance.service),
    ):
        if array.shape != (nodes,):
            problems.append(f"{label} has {array.shape[0]} values for {nodes} nodes")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    if instance.demand[0] != 0:
        problems.append(f"depot demand is {instance.demand[0]}, expected 0")
    if instance.capacity <= 0:
        problems.append(f"capacity is {instance.capacity}, expected a positive number")
    if instance.max_vehicles <= 0:
        problems.append(f"vehicle number is {instance.max_vehicles}, expected a positive number")
    if (instance.demand < 0).any():
        problems.append(f"negative demand at node {int(np.argmax(instance.demand < 0))}")
    bad_window = instance.ready > instance.due
    if bad_window.any():
        problems.append(f"ready time after due date at node {int(np.argmax(bad_window))}")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))


def euclid_matrix(instance: VrpInstance) -> FloatArray:
    """Double-precision Euclidean distances between all nodes, shape ``(n + 1, n + 1)``."""
    return np.hypot(
        instance.x[:, None] - instance.x[None, :], instance.y[:, None] - instance.y[None, :]
    )


def _arc_convention(convention: str) -> str:
    # Accept both "dimacs_trunc1" and a full bks.csv string "distance_only;dimacs_trunc1".
    arc = convention.rsplit(";", 1)[-1].strip()
    if arc not in CONVENTIONS:
        raise ValueError(
            f"unknown distance convention {convention!r}; expected one of {CONVENTIONS}"
        )
    return arc


def _apply_convention(distance: FloatArray, arc: str) -> FloatArray:
    if arc == "dimacs_trunc1":
        return np.floor(10.0 * distance) / 10.0
    if arc == "euclid_nint":
        # TSPLIB nint: round half up (np.round would round half to even).
        return np.floor(distance + 0.5)
    return distance


def arc_matrix(instance: VrpInstance, convention: str) -> FloatArray:
    """Arc distances (= travel times) under a convention, shape ``(n + 1, n + 1)``.

    Parameters
    ----------
    instance
        The instance.
    convention
        ``"euclid_double"``, ``"dimacs_trunc1"`` or ``"euclid_nint"``, or a full ``bks.csv``
        convention string ending in one of them.

    Raises
    ------
    ValueError
        On an unknown convention.
    """
    return _apply_convention(euclid_matrix(instance), _arc_convention(convention))


def _route_arcs(instance: VrpInstance, route: Sequence[int]) -> FloatArray:
    """Double-precision length of each arc of depot -> route -> depot."""
    nodes = np.asarray([0, *route, 0], dtype=np.int64)
    return np.hypot(np.diff(instance.x[nodes]), np.diff(instance.y[nodes]))


def route_cost(instance: VrpInstance, routes: Sequence[Sequence[int]], convention: str) -> float:
    """Total length of the routes (each from and back to the depot) under a convention.

    Parameters
    ----------
    instance
        The instance.
    routes
        Customer numbers ``1..n`` per route, depot left out; empty routes cost nothing.
    convention
        As for :func:`arc_matrix`.

    Returns
    -------
    float
        The sum of the arc values. Truncated arcs are summed in integer tenths so that e.g.
        Solomon C101's DIMACS solution gives exactly ``827.3``.

    Raises
    ------
    ValueError
        On an unknown convention or a number outside ``1..n``.
    """
    arc = _arc_convention(convention)
    n = instance.n_customers
    total_double = 0.0
    total_units = 0
    for number, route in enumerate(routes, start=1):
        if len(route) == 0:
            continue
        bad = [int(c) for c in route if not 1 <= int(c) <= n]
        if bad:
            raise ValueError(f"route {number}: {bad[0]} is not a customer number (1..{n})")
        lengths = _route_arcs(instance, [int(c) for c in route])
        if arc == "dimacs_trunc1":
            total_units += int(np.floor(10.0 * lengths).astype(np.int64).sum())
        elif arc == "euclid_nint":
            total_units += int(np.floor(lengths + 0.5).astype(np.int64).sum())
        else:
            total_double += math.fsum(lengths.tolist())
    if arc == "dimacs_trunc1":
        return total_units / 10
    if arc == "euclid_nint":
        return float(total_units)
    return total_double


def _pair(value: float, limit: float) -> tuple[str, str]:
    """Format two numbers with just enough decimals (2 to 6) to show that they differ."""
    for decimals in range(2, 7):
        left, right = f"{value:.{decimals}f}", f"{limit:.{decimals}f}"
        if left != right:
            return left, right
    return f"{value:.6f}", f"{limit:.6f}"


def check_solution(
    instance: VrpInstance, routes: Sequence[Sequence[int]], *, convention: str = "euclid_double"
) -> SolutionCheck:
    """Re-check a solution independently of the solver that produced it.

    Checks: every customer visited exactly once, numbers in ``1..n``, load at most the
    capacity, service starting within ``[ready, due]`` (travel time = arc distance under
    ``convention``; early arrivals wait; departure from the depot at ``ready[0]``), every route
    back at the depot by ``due[0]``, and at most ``max_vehicles`` non-empty routes. Time
    checks allow :data:`TOLERANCE`.

    Parameters
    ----------
    instance
        The instance.
    routes
        Customer numbers per route, depot left out.
    convention
        Travel-time convention, as for :func:`arc_matrix`.

    Returns
    -------
    SolutionCheck
        Feasibility, one sentence per violation (naming route and customer), the number of
        non-empty routes and the double-precision distance (routes with bad numbers skip them).

    Raises
    ------
    ValueError
        On an unknown convention.
    """
    arc = _arc_convention(convention)
    n = instance.n_customers
    violations: list[str] = []
    first_route = np.zeros(n + 1, dtype=np.int64)  # route number that first visits each node
    vehicles = 0
    distance = 0.0
    for number, raw_route in enumerate(routes, start=1):
        route: list[int] = []
        for raw in raw_route:
            customer = int(raw)
            if not 1 <= customer <= n:
                violations.append(f"route {number}: {customer} is not a customer number (1..{n})")
                continue
            if first_route[customer]:
                violations.append(
                    f"route {number}: customer {customer} is visited again "
                    f"(first in route {first_route[customer]})"
                )
            else:
                first_route[customer] = number
            route.append(customer)
        if len(raw_route) == 0:
            continue
        vehicles += 1
        lengths = _route_arcs(instance, route)
        distance += math.fsum(lengths.tolist())
        load = int(instance.demand[route].sum())
        if load > instance.capacity:
            violations.append(f"route {number}: load {load} > capacity {instance.capacity}")
        violations.extend(
            _time_violations(instance, number, route, _apply_convention(lengths, arc))
        )
    missing = [int(c) for c in np.flatnonzero(first_route[1:] == 0) + 1]
    if len(missing) == 1:
        violations.append(f"customer {missing[0]} is not visited")
    elif missing:
        listed = ", ".join(str(c) for c in missing)
        violations.append(f"{len(missing)} customers are not visited: {listed}")
    if vehicles > instance.max_vehicles:
        violations.append(f"{vehicles} routes > {instance.max_vehicles} vehicles available")
    return SolutionCheck(
        feasible=not violations, violations=tuple(violations), vehicles=vehicles, distance=distance
    )


def _time_violations(
    instance: VrpInstance, number: int, route: list[int], travel: FloatArray
) -> list[str]:
    """Late service starts and a late return of one route (travel: its arcs' travel times)."""
    violations: list[str] = []
    departure = float(instance.ready[0])  # when the vehicle leaves its last node
    for leg, customer in enumerate(route):
        start = max(departure + float(travel[leg]), float(instance.ready[customer]))
        due = float(instance.due[customer])
        if start > due + TOLERANCE:
            shown, limit = _pair(start, due)
            violations.append(
                f"route {number}: service at customer {customer} starts at {shown} > due {limit}"
            )
        departure = start + float(instance.service[customer])
    back = departure + float(travel[-1])
    horizon = float(instance.due[0])
    if back > horizon + TOLERANCE:
        shown, limit = _pair(back, horizon)
        violations.append(f"route {number}: back at the depot at {shown} > horizon {limit}")
    return violations


def write_solution(
    path: Path, routes: Sequence[Sequence[int]], cost: float, *, comment: str | None = None
) -> None:
    """Write a solution in VRPLIB format, atomically.

    ``Route #k: c1 c2 ...`` lines (non-empty routes only, numbered from 1), then ``Cost <cost>``,
    then ``Comment : <comment>`` when one is given (VRPLIB readers take it as a key-value line,
    :func:`read_solution` skips it).

    Parameters
    ----------
    path
        Output file; written through a temporary file in the same folder, then renamed.
    routes
        Customer numbers per route, depot left out.
    cost
        The cost to state (by convention of this project: double-precision distance).
    comment
        One line of text without a line break, e.g. who wrote the file.
    """
    lines = [
        f"Route #{k}: " + " ".join(str(int(c)) for c in route)
        for k, route in enumerate((r for r in routes if len(r) > 0), start=1)
    ]
    lines.append(f"Cost {round(float(cost), 6)!r}")
    if comment is not None:
        if "\n" in comment or "\r" in comment:
            raise ValueError("a solution comment is one line")
        lines.append(f"Comment : {comment}")
    write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))


def read_solution(path: Path) -> tuple[list[list[int]], float | None]:
    """Read routes and stated cost from a VRPLIB ``.sol`` or SINTEF ``.hier.sol`` file.

    Both ``Route #1: 3 5 7`` and ``Route  1 : 3 5 7`` lines are read, in file order; other
    header lines (SINTEF's instance, authors, date, reference) are skipped.

    Parameters
    ----------
    path
        The solution file.

    Returns
    -------
    tuple[list[list[int]], float | None]
        The routes (customer numbers, depot left out) and the ``Cost`` line's value, or
        ``None`` when the file states none (SINTEF files).

    Raises
    ------
    ValueError
        When a route or cost line does not hold numbers, or there is no route; names the file.
    """
    routes: list[list[int]] = []
    cost: float | None = None
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        route_match = _ROUTE_LINE.match(line)
        cost_match = _COST_LINE.match(line)
        try:
            if route_match:
                routes.append([int(token) for token in route_match.group(2).split()])
            elif cost_match:
                cost = float(cost_match.group(1))
        except ValueError as err:
            raise ValueError(
                f"{path}, line {line_number}: not a number in {line.strip()!r}"
            ) from err
    if not routes:
        raise ValueError(f"{path}: no 'Route' line")
    return routes, cost


def _bks_key(convention: str) -> str:
    arc = _arc_convention(convention)
    if arc == "euclid_double" and not convention.startswith("hierarchical"):
        return DISTANCE_ONLY_DOUBLE
    return arc


def load_bks(path: Path) -> dict[tuple[str, str], Bks]:
    """Read ``bks.csv``.

    Parameters
    ----------
    path
        The CSV (``family,instance,customers,vehicles,bks_distance,objective_convention,source``).

    Returns
    -------
    dict[tuple[str, str], Bks]
        Keyed by ``(instance, distance convention)``, e.g. ``("C101", "dimacs_trunc1")``. Two
        Solomon rows share the ``euclid_double`` distance convention: the hierarchical row
        (vehicles first, the SINTEF table; the only ``euclid_double`` row of Homberger) is
        keyed ``"euclid_double"``, the weak distance-only one :data:`DISTANCE_ONLY_DOUBLE`.

    Raises
    ------
    ValueError
        On a malformed or duplicate row; names the file and row.
    """
    table: dict[tuple[str, str], Bks] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                bks = Bks(
                    instance=row["instance"],
                    family=row["family"],
                    vehicles=int(row["vehicles"]),
                    distance=float(row["bks_distance"]),
                    convention=row["objective_convention"],
                )
                key = (bks.instance, _bks_key(bks.convention))
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                raise ValueError(f"{path}, row {row_number}: {err}") from err
            if key in table:
                raise ValueError(f"{path}, row {row_number}: second row for {key}")
            table[key] = bks
    return table


def gap_reference(instance_name: str, family: str, bks: dict[tuple[str, str], Bks]) -> Bks | None:
    """Pick the best-known row a gap is computed against.

    Solomon: the distance-only DIMACS row (``dimacs_trunc1``; proven optimal, and distance is
    what our solvers minimise). Homberger with 1000 or more customers: ``dimacs_trunc1``.
    Homberger with fewer (the 200s, which have no DIMACS row here): the hierarchical
    double-precision row. CVRPLIB X: ``euclid_nint``. Random: ``None`` (no best-known value).

    Parameters
    ----------
    instance_name
        Instance name as in ``bks.csv`` (the file stem).
    family
        One of :data:`FAMILIES`.
    bks
        From :func:`load_bks`.

    Returns
    -------
    Bks | None
        The row, or ``None`` for random instances or when the table has no such row.

    Raises
    ------
    ValueError
        On an unknown family.
    """
    if family == "random":
        return None
    if family == "solomon":
        return bks.get((instance_name, "dimacs_trunc1"))
    if family == "cvrplib_x":
        return bks.get((instance_name, "euclid_nint"))
    if family == "homberger":
        match = _HOMBERGER_NAME.match(instance_name)
        if match is None:
            # Unknown size: prefer the distance-only row when there is one.
            return bks.get((instance_name, "dimacs_trunc1")) or bks.get(
                (instance_name, "euclid_double")
            )
        customers = 100 * int(match.group(2))
        key = "dimacs_trunc1" if customers >= 1000 else "euclid_double"
        return bks.get((instance_name, key))
    raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")


def gap_percent(instance: VrpInstance, routes: Sequence[Sequence[int]], ref: Bks) -> float:
    """Gap of the routes' distance over a best-known value, under that value's convention.

    ``100 * (route_cost(instance, routes, ref's distance convention) - ref.distance) /
    ref.distance``. Vehicles are not part of the gap, even for hierarchical rows: report them
    beside it.
    """
    cost = route_cost(instance, routes, ref.arc_convention)
    return 100.0 * (cost - ref.distance) / ref.distance


def greedy_solution(instance: VrpInstance) -> list[list[int]]:
    """Build a feasible solution (double precision) by sequential nearest-feasible insertion.

    Each route is filled with the unvisited customer whose service can start soonest (ties:
    the nearer one) while load, time windows and the return by the horizon stay feasible.
    Ignores ``max_vehicles``: the number of routes is the result. A weak baseline, used to size
    the fleet of random instances.

    Raises
    ------
    ValueError
        When some customer cannot be served even alone (depot -> customer -> depot).
    """
    dist = euclid_matrix(instance)
    unvisited = np.ones(instance.n_customers + 1, dtype=bool)
    unvisited[0] = False
    horizon = float(instance.due[0])
    routes: list[list[int]] = []
    while unvisited.any():
        route: list[int] = []
        load = 0
        time = float(instance.ready[0])  # when the vehicle is free to leave its last node
        last = 0
        while True:
            candidates = np.flatnonzero(unvisited)
            arrival = time + dist[last, candidates]
            start = np.maximum(arrival, instance.ready[candidates])
            feasible = (
                (load + instance.demand[candidates] <= instance.capacity)
                & (start <= instance.due[candidates])
                & (start + instance.service[candidates] + dist[candidates, 0] <= horizon)
            )
            if not feasible.any():
                break
            options = np.flatnonzero(feasible)
            best = options[np.lexsort((dist[last, candidates[options]], start[options]))[0]]
            customer = int(candidates[best])
            route.append(customer)
            unvisited[customer] = False
            load += int(instance.demand[customer])
            time = float(start[best] + instance.service[customer])
            last = customer
        if not route:
            stranded = ", ".join(str(int(c)) for c in np.flatnonzero(unvisited))
            raise ValueError(
                f"{instance.name}: no route can serve customer {stranded}, not even alone"
            )
        routes.append(route)
    return routes


def make_random_instance(n_customers: int, seed: int, *, name: str | None = None) -> VrpInstance:
    """Generate a new random VRPTW instance in the spirit of Solomon's mixed RC1 set.

    Integer data (so :func:`write_solomon` can write it): depot at the centre of a
    100 x 100 square; half the customers in 3-8 Gaussian clusters, half uniform; demands
    1..30, capacity 200; service time 10; horizon 1000. A fifth of the customers have no
    window besides the horizon, the rest a window 20-100 wide, placed so that depot ->
    customer -> depot is always feasible (in double precision, hence under truncation too).
    ``max_vehicles`` is 1.25 x the routes of :func:`greedy_solution`, rounded up, so a feasible
    solution within the fleet always exists.

    Parameters
    ----------
    n_customers
        Number of customers, at least 1.
    seed
        Seed of the random generator; the same seed gives the same instance.
    name
        Instance name; default ``rand-n<n>-s<seed>``.

    Raises
    ------
    ValueError
        When ``n_customers`` < 1.
    """
    if n_customers < 1:
        raise ValueError(f"n_customers is {n_customers}, expected at least 1")
    rng = np.random.default_rng(seed)
    nodes = n_customers + 1
    x = np.empty(nodes)
    y = np.empty(nodes)
    x[0] = y[0] = _RANDOM_SIDE / 2
    n_clusters = int(rng.integers(3, 9))
    centres = rng.uniform(0.15 * _RANDOM_SIDE, 0.85 * _RANDOM_SIDE, size=(n_clusters, 2))
    clustered = rng.random(n_customers) < _RANDOM_CLUSTERED_SHARE
    which = rng.integers(0, n_clusters, size=n_customers)
    around = centres[which] + rng.normal(0.0, _RANDOM_CLUSTER_SD, size=(n_customers, 2))
    anywhere = rng.uniform(0.0, _RANDOM_SIDE, size=(n_customers, 2))
    points = np.clip(np.rint(np.where(clustered[:, None], around, anywhere)), 0, _RANDOM_SIDE)
    x[1:], y[1:] = points[:, 0], points[:, 1]

    demand = np.zeros(nodes, dtype=np.int64)
    demand[1:] = rng.integers(1, _RANDOM_MAX_DEMAND + 1, size=n_customers)
    service = np.full(nodes, float(_RANDOM_SERVICE))
    service[0] = 0.0

    from_depot = np.hypot(x - x[0], y - y[0])
    # Service can start no earlier than the direct drive, and no later than leaves time to
    # serve and drive straight back; integer bounds inside that interval keep it feasible.
    earliest = np.ceil(from_depot)
    latest = np.floor(_RANDOM_HORIZON - service - from_depot)
    centre = np.floor(earliest + rng.random(nodes) * (latest - earliest + 1))
    half_width = rng.integers(_RANDOM_WIDTH_RANGE[0], _RANDOM_WIDTH_RANGE[1] + 1, nodes) // 2
    unconstrained = rng.random(nodes) < _RANDOM_UNCONSTRAINED_SHARE
    ready = np.where(unconstrained, 0.0, np.maximum(0.0, centre - half_width))
    due = np.where(unconstrained, latest, np.minimum(latest, centre + half_width))
    ready[0], due[0] = 0.0, float(_RANDOM_HORIZON)

    draft = VrpInstance(
        name=name if name is not None else f"rand-n{n_customers}-s{seed}",
        family="random",
        x=x,
        y=y,
        demand=demand,
        capacity=_RANDOM_CAPACITY,
        ready=ready,
        due=due,
        service=service,
        max_vehicles=nodes,  # placeholder until the greedy solution sizes the fleet
        has_time_windows=True,
    )
    fleet = math.ceil(_RANDOM_FLEET_FACTOR * len(greedy_solution(draft)))
    return VrpInstance(
        name=draft.name,
        family=draft.family,
        x=x,
        y=y,
        demand=demand,
        capacity=draft.capacity,
        ready=ready,
        due=due,
        service=service,
        max_vehicles=fleet,
        has_time_windows=True,
    )


def write_solomon(path: Path, instance: VrpInstance) -> None:
    """Write an instance in Solomon text format (readable by :func:`read_instance` and vrplib).

    The file is written atomically. The first line is ``instance.name``; for
    :func:`read_instance` to give the same name back, call the file ``<name>.txt``.

    Raises
    ------
    ValueError
        When a value is not a finite integer (the format, as vrplib reads it, holds integers
        only; CVRP instances with ``due = inf`` cannot be written).
    """
    columns = (
        instance.x,
        instance.y,
        instance.demand,
        instance.ready,
        instance.due,
        instance.service,
    )
    labels = ("XCOORD.", "YCOORD.", "DEMAND", "READY TIME", "DUE DATE", "SERVICE TIME")
    for label, column in zip(labels, columns, strict=True):
        values = np.asarray(column, dtype=np.float64)
        if not np.isfinite(values).all() or (values != np.round(values)).any():
            raise ValueError(f"{instance.name}: {label} holds a value that is not an integer")
    lines = [
        instance.name,
        "",
        "VEHICLE",
        "NUMBER     CAPACITY",
        f"{instance.max_vehicles:>5d}{instance.capacity:>13d}",
        "",
        "CUSTOMER",
        "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME",
        "",
    ]
    table = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns]).astype(np.int64)
    for node, row in enumerate(table):
        lines.append(f"{node:>5d}" + "".join(f"{int(value):>11d}" for value in row))
    write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))
