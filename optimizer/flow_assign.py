"""Drop points to warehouses by a min-cost flow, at national size.

A family is served by one warehouse for every tranche (its TTB, its facilitator and its
warehouse stay the same), so the flow moves *families*: each drop point supplies its families,
each warehouse takes at most ``floor(stock_kg / kg of one family's rice over all tranches)``
of them, and an arc joins a point to each of its ``nearest`` warehouses (by great-circle
distance, from a KD-tree; a warehouse with no trucks or no stock for one family gets no arcs).
The families no warehouse has stock for become ``stock`` shortfalls with the facts the planner
gives (the warehouses the point could use and the rice each had left). A point is split
between warehouses only in whole families.

Costs are integers (OR-Tools' min-cost flow works on integers): metres of estimated road
distance per family. By default every family that some warehouse can serve is served (a
maximum flow, OR-Tools' ``solve_max_flow_with_min_cost``), at the least family-km: what a
penalised "unmet" arc from each point to the sink gives when its penalty is large enough. A
finite penalty per family (``unmet_penalty_per_family``) adds that arc, so a family is left
unmet rather than carried farther than the penalty's km. The exact maximum flow is also
faster than a penalty large enough to give the same result: at national size a penalty of
100,000 km per family made OR-Tools' cost scaling take 1.65 times as long (section
``assignment`` of ``benchmarks/RESULTS.md``).

The graph is built with numpy arrays and handed to OR-Tools' ``SimpleMinCostFlow`` in one call:
no Python loop over the arcs. 200,000 points x 17 nearest warehouses (3.4 million arcs) are
measured in ``benchmarks/RESULTS.md`` (section ``assignment``).

The planner uses the same solver inside its stock rounds (``PlannerOptions.assignment =
"flow"``) through :func:`min_cost_transport`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from optimizer.geometry import FloatArray, IntArray
from optimizer.model import EARTH_RADIUS_KM, Scenario
from optimizer.reasons import ReasonCode, ReasonFacts

DistanceKm = Callable[[IntArray, IntArray], FloatArray]
"""Road km of pairs: ``(point indices, warehouse indices)`` of equal length, into the
scenario's ``drop_points`` and ``warehouses``, to one km per pair."""

# OR-Tools refuses (BAD_COST_RANGE) costs that overflow int64 once multiplied by the number of
# nodes in its cost scaling; keep a margin of 8 below that.
_COST_HEADROOM = 8


@dataclass(frozen=True, slots=True)
class Share:
    """Families of one drop point served by one warehouse (for every tranche)."""

    drop_point: str
    warehouse: str
    families: int


@dataclass(frozen=True, slots=True)
class Unmet:
    """Families of one drop point no warehouse serves, and why (``reason_code``, ``facts``).

    ``reason_code`` is ``stock`` (the warehouses the point can use, ``facts.warehouses``, have
    less than one family's rice left, ``facts.leftover_kg``), or ``capacity`` with
    ``facts.no_trucks`` when no warehouse has a truck.
    """

    drop_point: str
    families: int
    reason_code: str
    facts: ReasonFacts


@dataclass(frozen=True, slots=True)
class Assignment:
    """Result of :func:`assign_by_flow`.

    ``cost`` is the family-km of the shares (families x estimated road km, summed), without the
    penalty of the unmet families; ``seconds`` the wall time of the whole assignment.
    """

    shares: tuple[Share, ...]
    unmet: tuple[Unmet, ...]
    cost: float
    seconds: float

    def families_by_warehouse(self) -> dict[str, int]:
        """Families served by each warehouse that serves any (warehouse id -> families)."""
        out: dict[str, int] = {}
        for share in self.shares:
            out[share.warehouse] = out.get(share.warehouse, 0) + share.families
        return out


@dataclass(frozen=True, slots=True)
class Transport:
    """Result of :func:`min_cost_transport`: flow on each arc and unmet supply per point."""

    arc_flow: IntArray
    unmet: IntArray
    cost: int
    """Total cost of the arcs' flow (without the unmet penalty)."""


def min_cost_transport(
    supply: npt.ArrayLike,
    capacity: npt.ArrayLike,
    arc_point: npt.ArrayLike,
    arc_warehouse: npt.ArrayLike,
    arc_cost: npt.ArrayLike,
    *,
    unmet_cost: int | None = None,
) -> Transport:
    """Send each point's supply to warehouses within their capacity at the least cost.

    Parameters
    ----------
    supply
        Units (families) each point sends, ``>= 0``.
    capacity
        Units each warehouse takes at most, ``>= 0``.
    arc_point, arc_warehouse, arc_cost
        The arcs: point index, warehouse index and integer cost per unit, one entry per arc;
        each arc's capacity is its point's supply.
    unmet_cost
        Cost of a unit that reaches no warehouse (an arc from each point straight to the
        sink). ``None``: no such arc; the result serves every unit that can be served (a
        maximum flow) at the least cost among such flows (OR-Tools'
        ``solve_max_flow_with_min_cost``, which is what an infinite penalty would give).

    Returns
    -------
    Transport
        Flow per arc (in the order given) and unmet units per point.

    Raises
    ------
    ValueError
        If an array has a negative entry, the arrays disagree in length, or OR-Tools finds no
        optimum (costs out of its range).
    """
    supply_a = np.asarray(supply, dtype=np.int64)
    capacity_a = np.asarray(capacity, dtype=np.int64)
    tails = np.asarray(arc_point, dtype=np.int64)
    heads = np.asarray(arc_warehouse, dtype=np.int64)
    costs = np.asarray(arc_cost, dtype=np.int64)
    if not len(tails) == len(heads) == len(costs):
        raise ValueError("arc_point, arc_warehouse and arc_cost must have one entry per arc")
    if (supply_a < 0).any() or (capacity_a < 0).any() or (costs < 0).any():
        raise ValueError("supplies, capacities and costs must be >= 0")
    n_points, n_wh = len(supply_a), len(capacity_a)
    if len(tails) and (
        tails.min() < 0 or tails.max() >= n_points or heads.min() < 0 or heads.max() >= n_wh
    ):
        raise ValueError("an arc names a point or warehouse that does not exist")
    if unmet_cost is None:
        arc_flow, unmet = _max_flow_min_cost(supply_a, capacity_a, tails, heads, costs)
    else:
        arc_flow, unmet = _penalised(supply_a, capacity_a, tails, heads, costs, unmet_cost)
    return Transport(arc_flow=arc_flow, unmet=unmet, cost=int((arc_flow * costs).sum()))


def _max_flow_min_cost(
    supply: IntArray, capacity: IntArray, tails: IntArray, heads: IntArray, costs: IntArray
) -> tuple[IntArray, IntArray]:
    """Serve as much as the arcs and capacities allow, at the least cost among such flows."""
    n_points, n_wh = len(supply), len(capacity)
    # Nodes: points 0..n_points-1, warehouses next, then source and sink. Arcs: source ->
    # point (its supply), point -> warehouse, warehouse -> sink (its capacity).
    source, sink = n_points + n_wh, n_points + n_wh + 1
    _check_cost_range(costs, n_points + n_wh + 2)
    points = np.arange(n_points, dtype=np.int64)
    all_tails = np.concatenate([np.full(n_points, source), tails, n_points + np.arange(n_wh)])
    all_heads = np.concatenate([points, n_points + heads, np.full(n_wh, sink)])
    all_caps = np.concatenate([supply, supply[tails], capacity])
    all_costs = np.concatenate([np.zeros(n_points, np.int64), costs, np.zeros(n_wh, np.int64)])
    solver = min_cost_flow.SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        all_tails.astype(np.int32), all_heads.astype(np.int32), all_caps, all_costs
    )
    total = int(supply.sum())
    solver.set_nodes_supplies(
        np.array([source, sink], dtype=np.int32), np.array([total, -total], dtype=np.int64)
    )
    status = solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise ValueError(f"min-cost flow found no optimum (status {status})")
    flows = np.asarray(solver.flows(arcs), dtype=np.int64)
    return flows[n_points : n_points + len(tails)], supply - flows[:n_points]


def _penalised(
    supply: IntArray,
    capacity: IntArray,
    tails: IntArray,
    heads: IntArray,
    costs: IntArray,
    unmet_cost: int,
) -> tuple[IntArray, IntArray]:
    """Send every unit, to a warehouse or, at ``unmet_cost`` each, straight to the sink."""
    n_points, n_wh = len(supply), len(capacity)
    # Nodes: points 0..n_points-1, warehouses next, the sink last. Arcs: point -> warehouse,
    # warehouse -> sink (its capacity), point -> sink (unmet, penalised).
    sink = n_points + n_wh
    _check_cost_range(np.append(costs, unmet_cost), n_points + n_wh + 1)
    points = np.arange(n_points, dtype=np.int64)
    all_tails = np.concatenate([tails, n_points + np.arange(n_wh), points])
    all_heads = np.concatenate([n_points + heads, np.full(n_wh + n_points, sink)])
    all_caps = np.concatenate([supply[tails], capacity, supply])
    all_costs = np.concatenate(
        [costs, np.zeros(n_wh, np.int64), np.full(n_points, unmet_cost, np.int64)]
    )
    solver = min_cost_flow.SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        all_tails.astype(np.int32), all_heads.astype(np.int32), all_caps, all_costs
    )
    supplies = np.concatenate([supply, np.zeros(n_wh, np.int64), [-int(supply.sum())]])
    solver.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies.astype(np.int64))
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise ValueError(f"min-cost flow found no optimum (status {status})")
    flows = np.asarray(solver.flows(arcs), dtype=np.int64)
    return flows[: len(tails)], flows[len(tails) + n_wh :]


def _check_cost_range(costs: IntArray, n_nodes: int) -> None:
    limit = np.iinfo(np.int64).max // (_COST_HEADROOM * (n_nodes + 1))
    if len(costs) and int(costs.max()) > limit:
        raise ValueError(f"a cost of {int(costs.max())} is beyond OR-Tools' range ({limit})")


def family_kg(scenario: Scenario) -> float:
    """Rice one family receives over every tranche (the unit of the flow), in kg."""
    return float(sum(t.kg_per_kpm for t in scenario.tranches))


def unit_vectors(lon: FloatArray, lat: FloatArray) -> FloatArray:
    """Points on the unit sphere: chord length orders pairs exactly as great-circle distance."""
    lon_r, lat_r = np.radians(lon), np.radians(lat)
    cos_lat = np.cos(lat_r)
    return np.column_stack([cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)])


def assign_by_flow(
    scenario: Scenario,
    *,
    nearest: int = 8,
    max_km: float | None = None,
    unmet_penalty_per_family: float | None = None,
    distance_km: DistanceKm | None = None,
) -> Assignment:
    """Assign every drop point's families to warehouses by a min-cost flow, within stock.

    Parameters
    ----------
    scenario
        The scenario: its drop points (families), warehouses (stock), trucks (a warehouse
        without trucks serves nobody), tranches (one family's rice is the sum of their
        ``kg_per_kpm``) and ``[travel] circuity`` (road km = great-circle km x circuity).
    nearest
        Warehouses each point may use: its nearest by great-circle distance among those with
        trucks and stock for at least one family.
    max_km
        Longest estimated road distance of an arc; farther warehouses are left out. ``None``:
        no limit.
    unmet_penalty_per_family
        Road km a family left without rice counts as: a family whose cheapest way in (its own
        arc, or moving others along) costs more is left unmet. ``None``: no penalty, every
        family some warehouse can serve is served.
    distance_km
        Road km of the candidate pairs (e.g. from a road matrix) instead of the straight-line
        estimate; candidates are still the great-circle nearest.

    Returns
    -------
    Assignment
        The shares (point, warehouse, families), nearest first within a point, in the order of
        the scenario's points; the unmet families per point with their reason; the family-km;
        the seconds taken. Deterministic: the same scenario gives the same assignment.

    Raises
    ------
    ValueError
        If ``nearest`` is below 1 or ``max_km`` is negative.
    """
    from scipy.spatial import cKDTree

    if nearest < 1:
        raise ValueError(f"nearest must be at least 1, not {nearest}")
    if max_km is not None and max_km < 0:
        raise ValueError(f"max_km must be >= 0, not {max_km}")
    started = time.monotonic()
    ration_kg = family_kg(scenario)
    points = scenario.drop_points
    warehouses = scenario.warehouses
    with_trucks = {t.warehouse_id for t in scenario.trucks}
    stock_kg = np.array([w.stock_kg for w in warehouses], dtype=np.float64)
    # A tiny epsilon so that stock of exactly n rations counts n (kg are often decimal floats).
    capacity = (
        np.floor(stock_kg / ration_kg + 1e-9).astype(np.int64)
        if ration_kg > 0
        else np.zeros(len(warehouses), dtype=np.int64)
    )
    active = np.array(
        [i for i, w in enumerate(warehouses) if w.id in with_trucks and capacity[i] > 0],
        dtype=np.int64,
    )
    supply = np.array([max(0, p.kpm) for p in points], dtype=np.int64)
    lon = np.array([p.lon for p in points], dtype=np.float64)
    lat = np.array([p.lat for p in points], dtype=np.float64)
    arc_point = np.zeros(0, dtype=np.int64)
    arc_wh = np.zeros(0, dtype=np.int64)
    arc_km = np.zeros(0, dtype=np.float64)
    if len(active) and len(points):
        wh_lon = np.array([warehouses[i].lon for i in active], dtype=np.float64)
        wh_lat = np.array([warehouses[i].lat for i in active], dtype=np.float64)
        tree = cKDTree(unit_vectors(wh_lon, wh_lat))
        k = min(nearest, len(active))
        chord, column = tree.query(unit_vectors(lon, lat), k=k)
        chord = np.asarray(chord).reshape(len(points), k)
        column = np.asarray(column).reshape(len(points), k)
        arc_point = np.repeat(np.arange(len(points), dtype=np.int64), k)
        arc_wh = active[column.ravel()]
        great_circle_km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, chord.ravel() / 2))
        arc_km = (
            great_circle_km * scenario.travel.circuity
            if distance_km is None
            else np.asarray(distance_km(arc_point, arc_wh), dtype=np.float64)
        )
        keep = supply[arc_point] > 0
        if max_km is not None:
            keep &= arc_km <= max_km
        arc_point, arc_wh, arc_km = arc_point[keep], arc_wh[keep], arc_km[keep]
    penalty = None if unmet_penalty_per_family is None else int(_metres(unmet_penalty_per_family))
    result = min_cost_transport(
        supply, capacity, arc_point, arc_wh, _metres(arc_km), unmet_cost=penalty
    )
    shares = tuple(
        Share(points[p].id, warehouses[w].id, int(f))
        for p, w, f in zip(
            arc_point.tolist(), arc_wh.tolist(), result.arc_flow.tolist(), strict=True
        )
        if f > 0
    )
    used = np.bincount(arc_wh, weights=result.arc_flow, minlength=len(warehouses))
    leftover_kg = stock_kg - used * ration_kg
    unmet = _unmet(
        scenario, result.unmet, arc_point, arc_wh, leftover_kg, ration_kg, bool(with_trucks)
    )
    return Assignment(
        shares=shares,
        unmet=unmet,
        cost=float((result.arc_flow * arc_km).sum()),
        seconds=time.monotonic() - started,
    )


def _metres(km: float | FloatArray) -> IntArray:
    return np.asarray(np.rint(np.asarray(km, dtype=np.float64) * 1000.0), dtype=np.int64)


def _unmet(
    scenario: Scenario,
    unmet: IntArray,
    arc_point: IntArray,
    arc_wh: IntArray,
    leftover_kg: FloatArray,
    ration_kg: float,
    any_trucks: bool,
) -> tuple[Unmet, ...]:
    """List each point's unmet families, with the warehouses it could use and their rice left."""
    short = np.flatnonzero(unmet)
    if not len(short):
        return ()
    # Arcs are grouped by point, nearest first: each point's candidates are one slice.
    starts = np.searchsorted(arc_point, short, side="left")
    ends = np.searchsorted(arc_point, short, side="right")
    out: list[Unmet] = []
    for p, start, end in zip(short.tolist(), starts.tolist(), ends.tolist(), strict=True):
        families = int(unmet[p])
        point_id = scenario.drop_points[p].id
        if not any_trucks:
            facts = ReasonFacts(no_trucks=True)
            out.append(Unmet(point_id, families, ReasonCode.CAPACITY.value, facts))
            continue
        candidates = arc_wh[start:end].tolist()
        facts = ReasonFacts(
            warehouses=tuple(scenario.warehouses[w].id for w in candidates),
            leftover_kg=tuple(_round_kg(float(leftover_kg[w])) for w in candidates),
            ration_kg=ration_kg,
        )
        out.append(Unmet(point_id, families, ReasonCode.STOCK.value, facts))
    return tuple(out)


def _round_kg(kg: float) -> float:
    # Float noise of stock minus families x kg (e.g. 1e-12) must not show as rice left.
    return 0.0 if math.isclose(kg, 0.0, abs_tol=1e-6) else round(kg, 3)
