"""An optional second routing engine: PyVRP's iterated local search on one routing subproblem.

PyVRP (0.14) is imported inside :func:`solve_pyvrp` only, so this module imports without it;
calling the solver without it raises :class:`EngineUnavailable`. (Earlier PyVRP releases ran a
hybrid genetic search; 0.14 runs an iterated local search with late-acceptance hill climbing
over the same kind of local-search operators.)

The model reproduces :func:`optimizer.routing.solve_routing` exactly:

- service at a node starts inside ``[open_s, close_s]``, waiting allowed; leaving node ``i``
  for ``j`` takes ``service_s[i] + travel_s[i][j]`` (the depot's service time is added on
  leaving the depot, as OR-Tools' transit matrix does);
- a trip leaves the depot no earlier than its group's ``earliest_depart_s`` and is back by
  ``shift_end_s``; untimed problems (``RoutingProblem.timed`` false) ignore all of this;
- load never exceeds the group's capacity; a group offers ``n_trips`` trips;
- a node may be dropped, at :data:`optimizer.routing.DROP_PENALTY`, and is served when the
  search can fit it;
- each vehicle group drives on its routing profile (``VehicleGroup.access``): the problem's
  profiles become PyVRP's routing profiles (one distance and one duration matrix each), and each
  vehicle type takes its group's profile, so big and small trucks route on their own roads in
  one search (no fallback to OR-Tools is needed).

The returned ``objective`` is computed here from the problem's matrices exactly as OR-Tools
computes its own (per arc ``rint(distance * cost_weight)``, plus ``DROP_PENALTY`` per dropped
node), so results of the two engines compare by that number.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.errors import BsbError
from optimizer.routing import (
    NO_ROAD_M,
    ImprovementCallback,
    RoutingProblem,
    RoutingResult,
    SearchSettings,
    StopFlag,
    VehicleGroup,
    trips_cost,
)

if TYPE_CHECKING:
    import pyvrp

LOG = logging.getLogger(__name__)

INSTALL_HINT = "PyVRP is not installed: pip install 'bsb[pyvrp]'"

# PyVRP costs are integers: a vehicle type's cost per distance unit is an int. The groups'
# relative cost weights (e.g. 1.0 and 1.35) become integer costs per metre after scaling by
# 100, which keeps two decimals of the weight; int64 costs leave ample room (a 2e6 m trip at
# weight 10 costs 2e9). The scaled cost only guides PyVRP's search; the reported objective is
# recomputed from the unscaled weights.
COST_SCALE = 100

# PyVRP's "no time limit" for windows (the default of its tw_late arguments).
_NO_LIMIT = np.iinfo(np.int64).max


class EngineUnavailable(BsbError):  # noqa: N818 (the name callers catch, fixed by the design)
    """The requested optional routing engine is not installed."""


@dataclass(frozen=True, slots=True)
class _Trip:
    """One routed trip: its group and the problem's node indices (depot excluded)."""

    group: int
    nodes: tuple[int, ...]


def solve_pyvrp(
    problem: RoutingProblem,
    settings: SearchSettings,
    stop: StopFlag | None = None,
    label: str = "",
    on_improvement: ImprovementCallback | None = None,
) -> RoutingResult:
    """Route one subproblem with PyVRP.

    Parameters
    ----------
    problem
        Matrices, demands, windows and vehicle groups (depot = node 0).
    settings
        ``deadline`` (monotonic seconds) bounds the run time; when ``solution_limit`` is set it
        replaces the deadline by that many PyVRP iterations, a deterministic budget (same seed
        and limit give the same result). ``first_solution`` and ``metaheuristic`` are
        OR-Tools names and are ignored.
    stop
        When set (e.g. by a Ctrl-C handler), the search stops at its next iteration and keeps
        its best solution.
    label
        Names the subproblem in log lines.
    on_improvement
        Called live, during the search, with ``(time.monotonic(), objective)`` for the first
        feasible solution and each better one (from PyVRP's ``on_start`` and ``on_best``
        callbacks), like :func:`optimizer.routing.solve_routing`. The objective is the one
        returned in the result.

    Returns
    -------
    RoutingResult
        Best feasible solution found; nodes it does not serve (including nodes no trip can
        serve even alone) are ``dropped``. ``solutions`` counts PyVRP iterations (one
        candidate solution each). ``interrupted`` is true when ``stop`` ended the search.

    Raises
    ------
    EngineUnavailable
        If PyVRP is not installed.
    """
    try:
        import pyvrp
        from pyvrp.exceptions import PenaltyBoundWarning
        from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion
    except ImportError:
        raise EngineUnavailable(INSTALL_HINT) from None

    n_nodes = len(problem.demand_sacks)
    groups = [
        g
        for g, group in enumerate(problem.groups)
        if group.n_trips > 0 and (not problem.timed or group.earliest_depart_s <= group.shift_end_s)
    ]
    servable = [
        node
        for node in range(1, n_nodes)
        if any(_trip_fits(problem, problem.groups[g], (node,)) for g in groups)
    ]
    if not servable:
        return _result(problem, [], 0, False)

    data = _problem_data(problem, groups, servable)
    stop_flag = _StopWhenSet(stop, label)
    budget: StoppingCriterion
    if settings.solution_limit is not None:
        budget = MaxIterations(settings.solution_limit)
    else:
        budget = MaxRuntime(max(0.0, settings.deadline - time.monotonic()))
    # PyVRP's penalties per second of lateness and per sack of overload are capped at 1e5 by
    # default, far below our scaled distance costs (metres x 100): on tight subproblems the
    # search then settled on trips a few seconds late, never feasible, and returned nothing.
    # Capping them at the drop prize instead (one second late may cost as much as one drop)
    # keeps feasibility within reach; measured on random 40-300 node subproblems, it turned
    # "no solution" into fewer drops than OR-Tools.
    max_penalty = max(float(data.client(0).prize), pyvrp.PenaltyParams().max_penalty)
    params = pyvrp.SolveParams(
        ils=pyvrp.IteratedLocalSearchParams(
            callbacks=_make_tracker(problem, groups, servable, on_improvement)
        ),
        penalty=pyvrp.PenaltyParams(max_penalty=max_penalty),
    )
    with warnings.catch_warnings():
        # Reaching that cap is expected on subproblems that cannot be served in full (drops
        # follow); PyVRP's warning would only alarm (and fails tests that treat warnings as
        # errors). The planner runs subproblems in processes, so this filter is not shared.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(
            data,
            MultipleCriteria([stop_flag, budget]),
            seed=settings.seed,
            collect_stats=False,
            params=params,
        )
    if not result.best.is_feasible():
        LOG.info("%s: PyVRP found no feasible solution", label)
        return _result(problem, [], result.num_iterations, stop_flag.triggered)

    trips = _trips(result.best, groups, servable)
    checked = [
        trip for trip in trips if _trip_fits(problem, problem.groups[trip.group], trip.nodes)
    ]
    if len(checked) != len(trips):
        # PyVRP's feasibility and ours should agree exactly; if they ever do not, the nodes of
        # the offending trip are reported dropped rather than planned into an impossible trip.
        LOG.warning("%s: %d PyVRP trip(s) fail the time check", label, len(trips) - len(checked))
    LOG.info(
        "%s: PyVRP %d iterations, %d trips, objective %d",
        label,
        result.num_iterations,
        len(checked),
        _objective(problem, checked),
    )
    return _result(problem, checked, result.num_iterations, stop_flag.triggered)


class _StopWhenSet:
    """PyVRP stopping criterion: honours the stop flag, and logs progress now and then.

    PyVRP calls it once per iteration, so it is also where long searches report that they are
    alive (a progress line every :attr:`LOG_EVERY_S` seconds, as the OR-Tools engine does).
    """

    LOG_EVERY_S = 5.0

    def __init__(self, stop: StopFlag | None, label: str = "") -> None:
        self.stop = stop
        self.label = label
        self.triggered = False
        self.iterations = 0
        self.last_log = time.monotonic()

    def __call__(self, best_cost: float) -> bool:
        self.iterations += 1
        now = time.monotonic()
        if now - self.last_log >= self.LOG_EVERY_S:
            self.last_log = now
            LOG.info("%s: PyVRP iteration %d, cost %.0f", self.label, self.iterations, best_cost)
        if self.stop is not None and self.stop.is_set():
            self.triggered = True
        return self.triggered


def _problem_data(
    problem: RoutingProblem,
    groups: Sequence[int],
    servable: Sequence[int],
) -> pyvrp.ProblemData:
    """PyVRP data over the depot (location 0) and the servable nodes (locations 1..k)."""
    import pyvrp as pv

    index = np.asarray([0, *servable], dtype=np.intp)
    grid = np.ix_(index, index)
    distances = [
        np.ascontiguousarray(problem.distance(k)[grid], dtype=np.int64)
        for k in range(problem.n_profiles)
    ]
    durations = [
        np.ascontiguousarray(problem.travel(k)[grid], dtype=np.int64)
        for k in range(problem.n_profiles)
    ]
    for duration in durations:
        # The depot's service time is spent on leaving it (OR-Tools adds service_s[0] to every
        # transit out of the depot); folding it into row 0 keeps PyVRP's depot service at zero.
        duration[0, 1:] += int(problem.service_s[0])

    # Optional clients with a prize larger than any detour: serving a node pays whenever it
    # fits, and dropping stays possible, as with OR-Tools' disjunctions. Decided by trying
    # both on random 40-300 node subproblems: required=True found no feasible solution at all
    # on every over-full one (the whole subproblem would be lost), and was no better on those
    # that fit; optional clients dropped fewer nodes than OR-Tools on the over-full ones.
    # The prize is not DROP_PENALTY-sized because it also caps PyVRP's violation penalties
    # (see solve_pyvrp), which must stay far from int64 overflow.
    unit_costs = [round(COST_SCALE * problem.groups[g].cost_weight) for g in groups]
    # Legs without a road (NO_ROAD_M) are left out of the prize: their time already forbids
    # them, and a prize that large would push the violation penalties toward overflow.
    longest = max(int(d[d < NO_ROAD_M].max(initial=0)) for d in distances)
    prize = max(unit_costs) * 2 * longest + 1

    # Untimed problems (capacitated VRP benchmarks) get no windows and zero durations.
    timed = problem.timed
    if not timed:
        for duration in durations:
            duration[:] = 0
    clients = [
        pv.Client(
            location=k,
            delivery=[int(problem.demand_sacks[node])],
            service_duration=int(problem.service_s[node]) if timed else 0,
            tw_early=int(problem.open_s[node]) if timed else 0,
            tw_late=int(problem.close_s[node]) if timed else _NO_LIMIT,
            prize=prize,
            required=False,
        )
        for k, node in enumerate(servable, start=1)
    ]
    vehicle_types = [
        pv.VehicleType(
            num_available=problem.groups[g].n_trips,
            capacity=[problem.groups[g].capacity_sacks],
            tw_early=problem.groups[g].earliest_depart_s if timed else 0,
            tw_late=problem.groups[g].shift_end_s if timed else _NO_LIMIT,
            unit_distance_cost=unit_cost,
            profile=problem.groups[g].access,
        )
        for g, unit_cost in zip(groups, unit_costs, strict=True)
    ]
    locations = [pv.Location(0.0, 0.0) for _ in index]
    # PyVRP's stub types the matrices as ``ndarray[int]``, which no real array type matches.
    distance_list: list[Any] = distances
    duration_list: list[Any] = durations
    return pv.ProblemData(
        locations, clients, [pv.Depot(0)], vehicle_types, distance_list, duration_list
    )


def _make_tracker(
    problem: RoutingProblem,
    groups: Sequence[int],
    servable: Sequence[int],
    on_improvement: ImprovementCallback | None,
) -> pyvrp.IteratedLocalSearchCallbacks:
    """ILS callbacks that report each better feasible solution to ``on_improvement``."""
    import pyvrp as pv

    class Tracker(pv.IteratedLocalSearchCallbacks):
        def __init__(self) -> None:
            self.best = math.inf

        def on_start(self, ils: pv.IteratedLocalSearch) -> None:
            self.report(ils.initial_solution)

        def on_best(self, best: pv.Solution) -> None:
            self.report(best)

        def report(self, solution: pv.Solution) -> None:
            if on_improvement is None or not solution.is_feasible():
                return
            objective = _objective(problem, _trips(solution, groups, servable))
            if objective < self.best:
                self.best = objective
                on_improvement(time.monotonic(), objective)

    return Tracker()


def _trips(solution: pyvrp.Solution, groups: Sequence[int], servable: Sequence[int]) -> list[_Trip]:
    """Read the solution's routes as trips over the problem's node numbers."""
    trips = []
    for route in solution.routes():
        nodes = tuple(servable[activity.idx] for activity in route if activity.is_client())
        if nodes:
            trips.append(_Trip(groups[route.vehicle_type()], nodes))
    return trips


def _objective(problem: RoutingProblem, trips: Sequence[_Trip]) -> int:
    """OR-Tools' objective for these trips: weighted arc costs plus the drop penalties."""
    served = sum(len(trip.nodes) for trip in trips)
    return trips_cost(
        problem, [(t.group, t.nodes) for t in trips], len(problem.demand_sacks) - 1 - served
    )


def _result(
    problem: RoutingProblem, trips: Sequence[_Trip], solutions: int, interrupted: bool
) -> RoutingResult:
    served = {node for trip in trips for node in trip.nodes}
    dropped = tuple(n for n in range(1, len(problem.demand_sacks)) if n not in served)
    return RoutingResult(
        tuple((trip.group, trip.nodes) for trip in trips),
        dropped,
        solutions,
        interrupted,
        _objective(problem, trips),
    )


def _trip_fits(problem: RoutingProblem, group: VehicleGroup, nodes: Sequence[int]) -> bool:
    """Whether one trip of ``group`` can serve ``nodes`` in order (load, windows and shift).

    Leaves as early as allowed: with waiting allowed and no cost on time, an earlier start
    never makes a later service start later. No time cap is needed beyond windows and shift:
    OR-Tools' horizon (``RoutingProblem.horizon_s``) is at least every close and shift end.
    """
    if sum(int(problem.demand_sacks[n]) for n in nodes) > group.capacity_sacks:
        return False
    if not problem.timed:
        return True
    now_s = group.earliest_depart_s
    if now_s > group.shift_end_s:
        return False
    travel = problem.travel(group.access)
    previous = 0
    for node in nodes:
        arrive_s = now_s + int(problem.service_s[previous]) + int(travel[previous][node])
        now_s = max(arrive_s, int(problem.open_s[node]))
        if now_s > int(problem.close_s[node]):
            return False
        previous = node
    back_s = now_s + int(problem.service_s[previous]) + int(travel[previous][0])
    return back_s <= group.shift_end_s
