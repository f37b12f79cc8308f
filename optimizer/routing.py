"""The one module that talks to OR-Tools: trips for one routing subproblem.

A subproblem is one warehouse, one tranche and (for large ones) one angular sector around the
warehouse. Its nodes are delivery *chunks* (a drop point's demand, split when it exceeds a
truckload). Its vehicles are *virtual trips*: each trip a truck of some group could make, with a
departure anywhere in that group's shift. The scheduler (``optimizer.schedule``) later puts the
trips on truck-days. Routing trips rather than truck-days keeps the OR-Tools model a plain
capacitated VRP with time windows, which its local search handles well, and leaves multi-trip
days, calendars and trip limits to a simple exact-feasibility packer.

The search honours a deadline (monotonic seconds), an optional solution limit (the
deterministic budget) and a stop flag (set on Ctrl-C); in every case it returns the best
solution found so far.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_parameters_pb2
from ortools.util import optional_boolean_pb2

from optimizer.strategies import FIRST_SOLUTIONS, METAHEURISTICS

LOG = logging.getLogger(__name__)

# OR-Tools' enum values for the heuristics named in optimizer.strategies (the one name table).
FIRST_SOLUTION = {
    name: getattr(routing_enums_pb2.FirstSolutionStrategy, name.upper())
    for name in FIRST_SOLUTIONS.values()
}
METAHEURISTIC = {
    short: getattr(routing_enums_pb2.LocalSearchMetaheuristic, or_tools_name)
    for short, or_tools_name in METAHEURISTICS.items()
}

# A dropped chunk must always cost more than any detour that could serve it: distances are in
# metres (a national-scale trip is < 2e6 m), so 1e9 per chunk is safely dominant without
# overflowing OR-Tools' int64 objective for tens of thousands of chunks.
DROP_PENALTY = 1_000_000_000
DAY_S = 24 * 3600
# Metres of a leg no road of a vehicle's access class connects. Its time (NO_ROAD_S of
# optimizer.travel, longer than any horizon) already keeps every search off it; the distance
# only has to be a finite integer, large enough that no heuristic likes the arc.
NO_ROAD_M = 1_000_000_000


ImprovementCallback = Callable[[float, int], None]
"""Receives ``(time.monotonic(), objective)`` whenever a search finds a better solution."""


class StopFlag(Protocol):
    """Anything with ``is_set()``: a ``threading.Event`` or a ``multiprocessing`` event."""

    def is_set(self) -> bool:
        """Return whether the search should stop."""
        ...


@dataclass(frozen=True, slots=True)
class VehicleGroup:
    """Trucks that are interchangeable for routing: same capacity, shift, cost per km and roads.

    ``access`` is the routing profile the group drives on: 0 is the problem's ``distance_m`` and
    ``travel_s``, ``k`` > 0 its ``more_profiles[k - 1]`` (small trucks may take roads that big
    ones may not).
    """

    capacity_sacks: int
    earliest_depart_s: int
    shift_end_s: int
    cost_weight: float
    n_trips: int
    access: int = 0


@dataclass(frozen=True, slots=True)
class RoutingProblem:
    """A CVRP with time windows over a depot (index 0) and ``n`` chunk nodes (1..n).

    ``distance_m`` and ``travel_s`` are (n+1) x (n+1) integer matrices (routing profile 0);
    ``more_profiles`` holds the ``(distance, travel)`` pairs of profiles 1, 2, ... when vehicle
    groups drive on different roads (a leg a profile has no road for: :data:`NO_ROAD_M` and a
    time longer than the horizon). ``service_s``, ``demand_sacks``, ``open_s`` and ``close_s``
    have length n+1 (entry 0 is the depot's).
    With ``timed`` false (capacitated VRP benchmarks) windows and shifts are ignored. The units
    are the caller's: metres and seconds for BSB, hundredths of a unit for benchmark instances.
    """

    distance_m: np.ndarray
    travel_s: np.ndarray
    service_s: Sequence[int]
    demand_sacks: Sequence[int]
    open_s: Sequence[int]
    close_s: Sequence[int]
    groups: Sequence[VehicleGroup]
    timed: bool = True
    more_profiles: Sequence[tuple[np.ndarray, np.ndarray]] = ()

    @property
    def n_profiles(self) -> int:
        """Routing profiles (sets of roads): 1 unless vehicle groups drive on different roads."""
        return 1 + len(self.more_profiles)

    def distance(self, profile: int) -> np.ndarray:
        """Return the distance matrix of routing profile ``profile`` (see :class:`VehicleGroup`)."""
        return self.distance_m if profile == 0 else self.more_profiles[profile - 1][0]

    def travel(self, profile: int) -> np.ndarray:
        """Return the driving-time matrix of routing profile ``profile``."""
        return self.travel_s if profile == 0 else self.more_profiles[profile - 1][1]

    @property
    def horizon_s(self) -> int:
        """The time dimension's upper bound: a day for BSB, the depot's due time for benchmarks."""
        latest = max([int(c) for c in self.close_s] + [g.shift_end_s for g in self.groups])
        return max(DAY_S, latest)


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """How to search one subproblem.

    ``tuned`` switches on the project's configuration of guided local search (see
    :func:`_tune`); otherwise OR-Tools runs with its defaults, as in its guide.
    """

    first_solution: str = "savings"
    metaheuristic: str = "gls"
    deadline: float = math.inf
    solution_limit: int | None = None
    seed: int = 0
    tuned: bool = False


@dataclass(frozen=True, slots=True)
class RoutingResult:
    """Trips as node lists (depot excluded) with their group index; ``dropped`` node indices."""

    trips: tuple[tuple[int, tuple[int, ...]], ...]
    dropped: tuple[int, ...]
    solutions: int
    interrupted: bool
    objective: int


def trips_cost(
    problem: RoutingProblem, trips: Sequence[tuple[int, Sequence[int]]], n_dropped: int
) -> int:
    """OR-Tools' objective for trips of any engine: weighted arc costs plus drop penalties.

    Parameters
    ----------
    problem
        The routed problem.
    trips
        ``(group index, nodes without the depot)`` per trip.
    n_dropped
        Nodes left unserved.

    Returns
    -------
    int
        Sum over trips of ``rint(distance * cost_weight)`` per arc (the rounding of the
        weighted transit matrices :func:`solve_routing` registers), plus :data:`DROP_PENALTY`
        per dropped node.
    """
    total = DROP_PENALTY * n_dropped
    for group, nodes in trips:
        weight = problem.groups[group].cost_weight
        path = np.asarray([0, *nodes, 0], dtype=np.intp)
        distance = problem.distance(problem.groups[group].access)
        arcs = distance[path[:-1], path[1:]].astype(np.int64)
        total += int(arcs.sum()) if weight == 1.0 else int(np.rint(arcs * weight).sum())
    return total


def solve_routing(
    problem: RoutingProblem,
    settings: SearchSettings,
    stop: StopFlag | None = None,
    label: str = "",
    on_improvement: ImprovementCallback | None = None,
) -> RoutingResult:
    """Route one subproblem with OR-Tools.

    Parameters
    ----------
    problem
        Matrices, demands, windows and vehicle groups.
    settings
        First-solution strategy, metaheuristic, deadline and optional solution limit.
    stop
        When set (e.g. by a Ctrl-C handler), the search stops and keeps its best solution.
    label
        Names the subproblem in progress log lines.
    on_improvement
        Called with ``(time.monotonic(), objective)`` for every improving solution.

    Returns
    -------
    RoutingResult
        The best solution found; chunks it could not route are listed as ``dropped``.

    Raises
    ------
    ValueError
        If a strategy name is unknown.
    """
    if settings.first_solution not in FIRST_SOLUTION:
        raise ValueError(f"unknown first-solution strategy {settings.first_solution!r}")
    if settings.metaheuristic not in METAHEURISTIC:
        raise ValueError(f"unknown metaheuristic {settings.metaheuristic!r}")
    n_nodes = len(problem.demand_sacks)
    vehicle_group: list[int] = []
    for index, group in enumerate(problem.groups):
        vehicle_group.extend([index] * group.n_trips)
    n_vehicles = len(vehicle_group)
    if n_nodes <= 1 or n_vehicles == 0:
        return RoutingResult(
            (), tuple(range(1, n_nodes)), 0, False, DROP_PENALTY * max(0, n_nodes - 1)
        )

    manager = pywrapcp.RoutingIndexManager(n_nodes, n_vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)

    _add_costs(routing, problem, vehicle_group)
    _add_load(routing, problem, vehicle_group)
    _add_time_and_drops(routing, manager, problem, vehicle_group)
    params = _search_parameters(settings)

    counter = _SolutionCallback(routing, stop, label, settings.deadline, on_improvement)
    routing.AddAtSolutionCallback(counter)
    solution = routing.SolveWithParameters(params)
    if solution is None:
        LOG.info("%s: no solution found", label)
        return RoutingResult(
            (),
            tuple(range(1, n_nodes)),
            counter.solutions,
            counter.stopped,
            DROP_PENALTY * (n_nodes - 1),
        )

    trips, dropped = _read_trips(solution, routing, manager, vehicle_group, n_nodes)
    return RoutingResult(
        tuple(trips), dropped, counter.solutions, counter.stopped, int(solution.ObjectiveValue())
    )


# The tuned local search of the `ortools` strategy. Each choice was measured on 14 Solomon
# instances at 10 s and 4 random 200-customer instances at 20 s (benchmarks/RESULTS.md, "OR-Tools
# tuning"); mean gap to the best-known solutions went from 2.81 % (OR-Tools' defaults) to 1.26 %
# there, and from 2.77 % to 2.23 % on all 56 Solomon instances (the tight-window R1 and RC1
# classes gain least).
#
# Off: operators for models this project never builds (pickup-and-delivery pairs, visit types)
# and slow ones (insertion-based LNS, Lin-Kernighan, expensive chains, shortest-path moves):
# guided local search then makes more moves in the same time (2.81 % -> 2.05 %).
_OPERATORS_OFF = (
    "use_relocate_pair",
    "use_light_relocate_pair",
    "use_exchange_pair",
    "use_relocate_subtrip",
    "use_exchange_subtrip",
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_lin_kernighan",
    "use_relocate_expensive_chain",
    "use_shortest_path_two_opt",
    "use_shortest_path_swap_active",
    "use_swap_active_chain",
    "use_make_chain_inactive",
)
# On: exchanges of route segments between nearby routes, which VRPTW solutions need.
_OPERATORS_ON = ("use_cross_exchange", "use_relocate_neighbors")
# OR-Tools' default penalty weight (0.1) lets guided local search drift slowly; 0.5, with the
# penalties also steering the operators, escapes local optima faster (2.05 % -> 1.26 %). 0.3 to
# 0.7 measured within noise of each other; 0.1 and 1.0 clearly worse.
GLS_LAMBDA = 0.5


def _add_costs(
    routing: pywrapcp.RoutingModel, problem: RoutingProblem, vehicle_group: list[int]
) -> None:
    """Arc costs of each vehicle: its profile's distance weighted by its group's cost per km."""
    # Matrices are registered
    # as plain lists: OR-Tools then evaluates them in C++ without calling back into Python.
    cost_index: dict[tuple[float, int], int] = {}
    for vehicle, group_index in enumerate(vehicle_group):
        group = problem.groups[group_index]
        key = (group.cost_weight, group.access)
        if key not in cost_index:
            distance = problem.distance(group.access)
            if group.cost_weight == 1.0:
                matrix = distance.tolist()
            else:
                matrix = np.rint(distance * group.cost_weight).astype(np.int64).tolist()
            cost_index[key] = routing.RegisterTransitMatrix(matrix)
        routing.SetArcCostEvaluatorOfVehicle(cost_index[key], vehicle)


def _add_load(
    routing: pywrapcp.RoutingModel, problem: RoutingProblem, vehicle_group: list[int]
) -> None:
    """Sacks carried, at most each vehicle's capacity."""
    demand_index = routing.RegisterUnaryTransitVector([int(d) for d in problem.demand_sacks])
    routing.AddDimensionWithVehicleCapacity(
        demand_index,
        0,
        [problem.groups[g].capacity_sacks for g in vehicle_group],
        True,
        "load",
    )


def _add_time_and_drops(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    problem: RoutingProblem,
    vehicle_group: list[int],
) -> None:
    """Every chunk may be dropped at a penalty; time windows and shifts when ``timed``.

    Kept in one function because OR-Tools numbers callbacks and dimensions in the order they
    are added, and the search (hence every plan) depends on that order.
    """
    n_nodes = len(problem.demand_sacks)
    # Time: leaving node i for j takes service(i) + travel(i, j); cumul = arrival (start of
    # unloading) at a node, waiting allowed as slack. One transit matrix per routing profile.
    if problem.timed:
        service = np.asarray(problem.service_s, dtype=np.int64)
        time_index = [
            routing.RegisterTransitMatrix(
                (problem.travel(profile) + service[:, None]).astype(np.int64).tolist()
            )
            for profile in range(problem.n_profiles)
        ]
    for node in range(1, n_nodes):
        routing.AddDisjunction([manager.NodeToIndex(node)], DROP_PENALTY)
    if problem.timed:
        horizon = problem.horizon_s
        if problem.n_profiles == 1:
            routing.AddDimension(time_index[0], horizon, horizon, False, "time")
        else:
            transits = [time_index[problem.groups[g].access] for g in vehicle_group]
            routing.AddDimensionWithVehicleTransits(transits, horizon, horizon, False, "time")
        time_dim = routing.GetDimensionOrDie("time")
        for node in range(1, n_nodes):
            time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(
                int(problem.open_s[node]), int(problem.close_s[node])
            )
        for vehicle, group_index in enumerate(vehicle_group):
            group = problem.groups[group_index]
            time_dim.CumulVar(routing.Start(vehicle)).SetRange(
                group.earliest_depart_s, group.shift_end_s
            )
            time_dim.CumulVar(routing.End(vehicle)).SetRange(
                group.earliest_depart_s, group.shift_end_s
            )
            routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(vehicle)))


def _search_parameters(settings: SearchSettings) -> Any:
    """OR-Tools search parameters: heuristics, time left, solution limit, tuning."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = FIRST_SOLUTION[settings.first_solution]
    params.local_search_metaheuristic = METAHEURISTIC[settings.metaheuristic]
    remaining_s = settings.deadline - time.monotonic()
    if math.isfinite(remaining_s):
        params.time_limit.FromMilliseconds(max(100, int(remaining_s * 1000)))
    if settings.solution_limit is not None:
        params.solution_limit = settings.solution_limit
    if settings.tuned:
        _tune(params)

    return params


def _read_trips(
    solution: Any,
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    vehicle_group: list[int],
    n_nodes: int,
) -> tuple[list[tuple[int, tuple[int, ...]]], tuple[int, ...]]:
    """Return the non-empty trips with their group, and the chunks no trip visits."""
    trips: list[tuple[int, tuple[int, ...]]] = []
    visited: set[int] = set()
    for vehicle in range(len(vehicle_group)):
        nodes: list[int] = []
        index = solution.Value(routing.NextVar(routing.Start(vehicle)))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            nodes.append(node)
            visited.add(node)
            index = solution.Value(routing.NextVar(index))
        if nodes:
            trips.append((vehicle_group[vehicle], tuple(nodes)))
    dropped = tuple(n for n in range(1, n_nodes) if n not in visited)
    return trips, dropped


def _tune(params: routing_parameters_pb2.RoutingSearchParameters) -> None:
    """Apply the project's tuned local search (the ``ortools`` strategy)."""
    for name in _OPERATORS_OFF:
        setattr(params.local_search_operators, name, optional_boolean_pb2.BOOL_FALSE)
    for name in _OPERATORS_ON:
        setattr(params.local_search_operators, name, optional_boolean_pb2.BOOL_TRUE)
    params.guided_local_search_lambda_coefficient = GLS_LAMBDA
    params.use_guided_local_search_penalties_in_local_search_operators = True


class _SolutionCallback:
    """At-solution callback: counts solutions, logs now and then, and honours the stop flag.

    OR-Tools holds the interpreter lock while it searches, so a Ctrl-C handler only runs when
    the search calls back into Python: here. Cancelling keeps the best solution found.
    """

    LOG_EVERY_S = 5.0

    def __init__(
        self,
        routing: pywrapcp.RoutingModel,
        stop: StopFlag | None,
        label: str,
        deadline: float,
        on_improvement: ImprovementCallback | None = None,
    ) -> None:
        self.routing = routing
        self.on_improvement = on_improvement
        self.best = math.inf
        self.stop = stop
        self.label = label
        self.deadline = deadline
        self.solutions = 0
        self.stopped = False
        self.last_log = time.monotonic()

    def __call__(self) -> None:
        self.solutions += 1
        now = time.monotonic()
        if self.on_improvement is not None:
            cost = self.routing.CostVar().Max()
            if cost < self.best:
                self.best = cost
                self.on_improvement(now, int(cost))
        if now - self.last_log >= self.LOG_EVERY_S:
            self.last_log = now
            LOG.info(
                "%s: solution %d, cost %d", self.label, self.solutions, self.routing.CostVar().Max()
            )
        if self.stop is not None and self.stop.is_set() and not self.stopped:
            self.stopped = True
            self.routing.CancelSearch()
