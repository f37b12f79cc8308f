"""Solve one benchmark instance with a named strategy: the code behind ``bsb bench solve``.

The instance becomes the same :class:`~optimizer.routing.RoutingProblem` that ``bsb plan``
routes, in hundredths of an instance unit: an arc costs ``rint(100 d)`` and takes
``ceil(100 d)``, service takes ``ceil(100 s)``, a window ``[a, b]`` becomes
``[ceil(100 a), floor(100 b)]``. Durations rounded up and windows rounded inwards make every
integer schedule at least as late as the double-precision one at each stop, so every solution
is feasible in double precision too. The depot's window is the fleet's shift; the fleet is the
instance's vehicle count. Dropping a customer costs far more than any detour, so the engines
serve every customer they can; a solution that still drops one counts as no solution.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.vrp import (
    DEFAULT_INSTANCES,
    Bks,
    VrpInstance,
    euclid_matrix,
    family_of,
    gap_percent,
    gap_reference,
    load_bks,
    route_cost,
)
from geodata.files import write_atomic
from optimizer.engines import solve
from optimizer.routing import DROP_PENALTY, RoutingProblem, SearchSettings, StopFlag, VehicleGroup
from optimizer.strategies import get_strategy, strategy_names

SCALE = 100
"""Integer units per instance unit of distance and time."""

# Keeps products like 100 * 1.1 = 110.00000000000001 from rounding up by a whole unit; the
# error it admits (1e-11 per arc) is far inside the checker's 1e-6 tolerance.
_EPS = 1e-9
# Capacitated instances have no time: the fleet's "shift" is just a large number.
_UNTIMED_HORIZON = 10**9

REFERENCE_STRATEGIES = {"vroom": 5, "vroom-x0": 0}
"""Bench-only reference solvers (VROOM) and their exploration levels."""


def bench_strategy_names() -> list[str]:
    """Strategy names ``bsb bench solve`` accepts: the planner's plus the VROOM references."""
    return [*strategy_names(), *REFERENCE_STRATEGIES]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A solved instance: depot-less routes (customers 1..n), their double distance, a trace.

    ``trace`` holds ``(elapsed_s, distance)`` for improving solutions; the distances there are
    the engines' integer costs / 100 (rounded arcs), close to but not the double distance.
    """

    routes: list[list[int]]
    distance: float
    trace: list[tuple[float, float]]
    complete: bool


def routing_problem(instance: VrpInstance) -> RoutingProblem:
    """Translate a benchmark instance into the planner's routing problem (see module doc).

    Parameters
    ----------
    instance
        A Solomon, Homberger, random or CVRPLIB instance.

    Returns
    -------
    RoutingProblem
        Depot at index 0, customers at 1..n, one vehicle group of ``max_vehicles`` vehicles.
    """
    d = euclid_matrix(instance)
    distance = np.rint(d * SCALE).astype(np.int64)
    travel = np.ceil(d * SCALE - _EPS).astype(np.int64)
    if not instance.has_time_windows:
        n = instance.n_customers + 1
        return RoutingProblem(
            distance_m=distance,
            travel_s=travel,
            service_s=[0] * n,
            demand_sacks=[int(q) for q in instance.demand],
            open_s=[0] * n,
            close_s=[_UNTIMED_HORIZON] * n,
            groups=[
                VehicleGroup(instance.capacity, 0, _UNTIMED_HORIZON, 1.0, instance.max_vehicles)
            ],
            timed=False,
        )
    open_s = [math.ceil(a * SCALE - _EPS) for a in instance.ready]
    close_s = [math.floor(b * SCALE + _EPS) for b in instance.due]
    return RoutingProblem(
        distance_m=distance,
        travel_s=travel,
        service_s=[math.ceil(s * SCALE - _EPS) for s in instance.service],
        demand_sacks=[int(q) for q in instance.demand],
        open_s=open_s,
        close_s=close_s,
        groups=[VehicleGroup(instance.capacity, open_s[0], close_s[0], 1.0, instance.max_vehicles)],
    )


def solve_instance(
    instance: VrpInstance,
    strategy: str,
    time_limit_s: float,
    seed: int = 1,
    *,
    stop: StopFlag | None = None,
    solution_limit: int | None = None,
) -> Outcome:
    """Solve one instance, minimising total distance, within the time limit.

    Parameters
    ----------
    instance
        The instance.
    strategy
        One of :func:`bench_strategy_names`.
    time_limit_s
        Search time; the call returns shortly after it.
    seed
        Seed of the randomised engines.
    stop
        Set on Ctrl-C: the search returns its best solution.
    solution_limit
        A deterministic budget instead of (or besides) the time limit.

    Returns
    -------
    Outcome
        Routes and distance; ``complete`` is false if some customer could not be served.

    Raises
    ------
    ValueError
        If the strategy name is unknown.
    """
    started = time.monotonic()
    if strategy in REFERENCE_STRATEGIES:
        from benchmarks.vroom_ref import solve_vroom

        routes = solve_vroom(
            instance, exploration=REFERENCE_STRATEGIES[strategy], time_limit_s=time_limit_s
        )
        served = sorted(c for r in routes for c in r)
        distance = route_cost(instance, routes, "euclid_double")
        trace = [(time.monotonic() - started, distance)]
        complete = served == list(range(1, instance.n_customers + 1))
        return Outcome(routes, distance, trace, complete)
    resolved = get_strategy(strategy)
    problem = routing_problem(instance)
    raw_trace: list[tuple[float, int]] = []
    settings = SearchSettings(
        deadline=started + time_limit_s, solution_limit=solution_limit, seed=seed
    )
    result = solve(
        problem,
        resolved,
        settings,
        stop,
        instance.name,
        lambda at, cost: raw_trace.append((at, cost)),
    )
    routes = [list(nodes) for _, nodes in result.trips if nodes]
    # Costs with a drop penalty belong to solutions that leave customers out: not in the trace.
    trace = [
        (max(0.0, at - started), cost / SCALE) for at, cost in raw_trace if cost < DROP_PENALTY
    ]
    distance = route_cost(instance, routes, "euclid_double")
    return Outcome(routes, distance, trace, not result.dropped)


def write_trace(path: Path, trace: Sequence[tuple[float, float]]) -> None:
    """Write ``elapsed_s,distance`` rows atomically."""
    rows = io.StringIO(newline="")
    writer = csv.writer(rows)
    writer.writerow(TRACE_HEADER.split(","))
    for elapsed, distance in trace:
        writer.writerow([f"{elapsed:.3f}", f"{distance:.4f}"])
    write_atomic(path, rows.getvalue().encode("utf-8"))


SOLUTION_COMMENT = "written by bsb bench solve"
"""The ``Comment`` line of every solution file ``bsb bench solve`` writes: marks it as bsb's."""

TRACE_HEADER = "elapsed_s,distance"
"""First line of a trace file :func:`write_trace` writes."""


def is_bsb_solution(path: Path) -> bool:
    """Whether ``path`` is a solution file ``bsb bench solve`` wrote (its comment line says so).

    Parameters
    ----------
    path
        An existing file.

    Returns
    -------
    bool
        ``True`` when a line reads ``Comment : written by bsb bench solve``.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    return f"Comment : {SOLUTION_COMMENT}" in lines


def is_bsb_trace(path: Path) -> bool:
    """Whether ``path`` looks like a trace :func:`write_trace` wrote (its header, numbers only).

    Parameters
    ----------
    path
        An existing file.

    Returns
    -------
    bool
        ``True`` when the first line is :data:`TRACE_HEADER` and every other line two numbers.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    if not lines or lines[0] != TRACE_HEADER:
        return False
    try:
        return all(len([float(cell) for cell in line.split(",")]) == 2 for line in lines[1:])
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Gap:
    """A solution's gap over the best-known solution of its instance."""

    reference: Bks
    percent: float


def best_known_gap(
    instance_path: Path,
    instance: VrpInstance,
    routes: Sequence[Sequence[int]],
    *,
    bks_path: Path | None = None,
) -> Gap | None:
    """Gap of ``routes`` over the instance's best-known solution, when ``bks.csv`` has one.

    Parameters
    ----------
    instance_path
        The instance file; its family comes from :func:`benchmarks.vrp.family_of`.
    instance
        The instance read from it.
    routes
        A solution (customers per route, depot left out).
    bks_path
        The best-known table. Default: ``bks.csv`` beside the instance's family folder (e.g.
        ``instances/bks.csv`` for ``instances/solomon/C101.txt``) if there is one, else the one
        of :data:`benchmarks.vrp.DEFAULT_INSTANCES`.

    Returns
    -------
    Gap | None
        ``None`` when there is no table, the table is unreadable or has no row for the instance
        (random instances never do).
    """
    family = family_of(instance_path)
    if family == "random":
        return None
    if bks_path is None:
        beside = instance_path.resolve().parent.parent / "bks.csv"
        bks_path = beside if beside.is_file() else DEFAULT_INSTANCES / "bks.csv"
    if not bks_path.is_file():
        return None
    try:
        reference = gap_reference(instance.name, family, load_bks(bks_path))
    except (OSError, ValueError):
        return None
    if reference is None:
        return None
    return Gap(reference, gap_percent(instance, routes, reference))
