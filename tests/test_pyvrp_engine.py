"""PyVRP engine: feasible trips under OR-Tools' semantics, drops, budgets and the stop flag."""

from __future__ import annotations

import importlib.util
import itertools
import logging
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.pyvrp_engine import INSTALL_HINT, EngineUnavailable, solve_pyvrp
from optimizer.routing import (
    DROP_PENALTY,
    RoutingProblem,
    RoutingResult,
    SearchSettings,
    VehicleGroup,
    solve_routing,
)

HOUR_S = 3600

# Every test but the last needs PyVRP itself; the last checks the error raised without it.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pyvrp") is None, reason="PyVRP (extra 'pyvrp') is not installed"
)


def simulate(problem: RoutingProblem, group: VehicleGroup, nodes: tuple[int, ...]) -> list[str]:
    """Drive one trip by hand: leave at the earliest departure, wait when early."""
    problems = []
    load = sum(problem.demand_sacks[n] for n in nodes)
    if load > group.capacity_sacks:
        problems.append(f"load {load} > {group.capacity_sacks}")
    if not problem.timed:
        return problems
    clock_s = group.earliest_depart_s
    here = 0
    for node in nodes:
        clock_s += problem.service_s[here] + int(problem.travel_s[here, node])
        clock_s = max(clock_s, problem.open_s[node])
        if clock_s > problem.close_s[node]:
            problems.append(f"node {node} starts at {clock_s} > close {problem.close_s[node]}")
        here = node
    clock_s += problem.service_s[here] + int(problem.travel_s[here, 0])
    if clock_s > group.shift_end_s:
        problems.append(f"back at {clock_s} > shift end {group.shift_end_s}")
    return problems


def expected_objective(problem: RoutingProblem, result: RoutingResult) -> int:
    total = DROP_PENALTY * len(result.dropped)
    for group_index, nodes in result.trips:
        weight = problem.groups[group_index].cost_weight
        path = [0, *nodes, 0]
        for a, b in itertools.pairwise(path):
            total += int(np.rint(problem.distance_m[a, b] * weight))
    return total


def assert_valid(problem: RoutingProblem, result: RoutingResult) -> None:
    served = [node for _, nodes in result.trips for node in nodes]
    assert len(served) == len(set(served)), "a node is served twice"
    assert sorted(served + list(result.dropped)) == list(range(1, len(problem.demand_sacks)))
    trips_per_group = [0] * len(problem.groups)
    for group_index, nodes in result.trips:
        assert nodes, "empty trip"
        trips_per_group[group_index] += 1
        assert simulate(problem, problem.groups[group_index], nodes) == []
    assert all(used <= g.n_trips for used, g in zip(trips_per_group, problem.groups, strict=True))
    assert result.objective == expected_objective(problem, result)


def make_problem(
    seed: int,
    n_nodes: int,
    groups: tuple[VehicleGroup, ...],
    *,
    depot_service_s: int = 600,
    window_s: tuple[int, int] = (HOUR_S, 4 * HOUR_S),
) -> RoutingProblem:
    """Random points in 20 km x 20 km, 8 m/s, windows between 07:00 and 17:00."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20_000, (n_nodes + 1, 2))
    distance_m = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    distance_m = distance_m.astype(np.int64)
    open_s = [0, *(int(v) for v in rng.integers(7 * HOUR_S, 13 * HOUR_S, n_nodes))]
    close_s = [24 * HOUR_S] + [o + int(rng.integers(*window_s)) for o in open_s[1:]]
    return RoutingProblem(
        distance_m=distance_m,
        travel_s=np.rint(distance_m / 8.0).astype(np.int64),
        service_s=[depot_service_s, *(int(v) for v in rng.integers(300, 1200, n_nodes))],
        demand_sacks=[0, *(int(v) for v in rng.integers(5, 60, n_nodes))],
        open_s=open_s,
        close_s=close_s,
        groups=groups,
    )


TWO_GROUPS = (
    VehicleGroup(100, 7 * HOUR_S, 17 * HOUR_S, 1.0, 6),
    VehicleGroup(250, 8 * HOUR_S, 16 * HOUR_S, 1.35, 3),
)


def ints(low: int, high: int, size: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(low, high), min_size=size, max_size=size)


@st.composite
def routing_problems(draw: st.DrawFn) -> RoutingProblem:
    n_nodes = draw(st.integers(0, 7))
    coords = draw(
        st.lists(
            st.tuples(st.integers(0, 30), st.integers(0, 30)),
            min_size=n_nodes + 1,
            max_size=n_nodes + 1,
        )
    )
    xy = np.asarray(coords, dtype=np.float64)
    distance_m = np.rint(100 * np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    distance_m = distance_m.astype(np.int64)
    # Travel time not proportional to distance (and not symmetric): the engine must not
    # assume either.
    slowness = draw(ints(1, 3, n_nodes + 1))
    travel_s = (distance_m * np.asarray(slowness)[:, None]) // 10
    opens = draw(ints(0, 600, n_nodes))
    widths = draw(ints(0, 600, n_nodes))
    groups = draw(
        st.lists(
            st.builds(
                VehicleGroup,
                capacity_sacks=st.integers(1, 40),
                earliest_depart_s=st.integers(0, 200),
                shift_end_s=st.integers(300, 1500),
                cost_weight=st.sampled_from([1.0, 0.8, 1.35, 2.0]),
                n_trips=st.integers(0, 3),
            ),
            min_size=1,
            max_size=2,
        )
    )
    return RoutingProblem(
        distance_m=distance_m,
        travel_s=travel_s.astype(np.int64),
        service_s=draw(ints(0, 60, n_nodes + 1)),
        demand_sacks=[0, *draw(ints(0, 25, n_nodes))],
        open_s=[0, *opens],
        close_s=[2000, *(o + w for o, w in zip(opens, widths, strict=True))],
        groups=tuple(groups),
        timed=draw(st.booleans()),
    )


class WarningRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@settings(max_examples=15, deadline=None)
@given(problem=routing_problems())
def test_solve_pyvrp_trips_respect_capacity_windows_and_shifts(problem: RoutingProblem) -> None:
    # The engine re-checks PyVRP's trips and drops any that fail, with a warning: no warning
    # means PyVRP's model of times and loads agrees with ours, not just that bad trips were
    # filtered out.
    recorder = WarningRecorder()
    engine_log = logging.getLogger("optimizer.pyvrp_engine")
    engine_log.addHandler(recorder)
    try:
        result = solve_pyvrp(problem, SearchSettings(solution_limit=30, seed=1))
    finally:
        engine_log.removeHandler(recorder)
    assert recorder.messages == []
    assert_valid(problem, result)
    # A node that fits a trip on its own is never dropped when it is the only node.
    if len(problem.demand_sacks) == 2:
        alone_fits = any(g.n_trips > 0 and not simulate(problem, g, (1,)) for g in problem.groups)
        assert result.dropped == (() if alone_fits else (1,))


def test_solve_pyvrp_serves_every_node_when_the_fleet_suffices() -> None:
    problem = make_problem(3, 30, TWO_GROUPS, window_s=(5 * HOUR_S, 8 * HOUR_S))
    result = solve_pyvrp(problem, SearchSettings(solution_limit=300))
    assert_valid(problem, result)
    assert result.dropped == ()
    assert result.objective < DROP_PENALTY


def test_solve_pyvrp_drops_only_part_of_an_over_full_subproblem() -> None:
    # One small truck for 30 nodes: a required-client model would find nothing feasible.
    problem = make_problem(4, 30, (VehicleGroup(100, 7 * HOUR_S, 17 * HOUR_S, 1.0, 1),))
    result = solve_pyvrp(problem, SearchSettings(solution_limit=300))
    assert_valid(problem, result)
    assert len(result.trips) == 1
    assert 0 < len(result.dropped) < 30


def test_solve_pyvrp_drops_up_front_what_no_trip_can_serve_alone() -> None:
    problem = make_problem(5, 6, TWO_GROUPS, window_s=(6 * HOUR_S, 7 * HOUR_S))
    demand = list(problem.demand_sacks)
    demand[2] = 251  # more than any truck carries
    open_s, close_s = list(problem.open_s), list(problem.close_s)
    open_s[4], close_s[4] = 0, 7 * HOUR_S  # closes before any truck can arrive
    odd = RoutingProblem(
        problem.distance_m,
        problem.travel_s,
        problem.service_s,
        demand,
        open_s,
        close_s,
        problem.groups,
    )
    result = solve_pyvrp(odd, SearchSettings(solution_limit=50))
    assert_valid(odd, result)
    assert result.dropped == (2, 4)


@pytest.mark.parametrize(
    ("depot_service_s", "earliest_depart_s"), [(50, 0), (0, 50)], ids=["service", "departure"]
)
def test_solve_pyvrp_counts_depot_service_and_departure_time(
    depot_service_s: int, earliest_depart_s: int
) -> None:
    # Either way the truck reaches node 1 at 150 and node 2 at 155 (their closing times) on
    # direct runs, so one trip serves one of them but not both in either order. Forgetting
    # the depot service or the earliest departure would make 1 -> 2 look feasible: the engine
    # would then catch the late trip itself, warn, and drop both nodes.
    travel_s = np.asarray([[0, 100, 105], [100, 0, 10], [105, 10, 0]], dtype=np.int64)
    problem = RoutingProblem(
        distance_m=travel_s * 10,
        travel_s=travel_s,
        service_s=[depot_service_s, 0, 0],
        demand_sacks=[0, 1, 1],
        open_s=[0, 0, 0],
        close_s=[1000, 150, 155],
        groups=(VehicleGroup(10, earliest_depart_s, 1000, 1.0, 1),),
    )
    recorder = WarningRecorder()
    engine_log = logging.getLogger("optimizer.pyvrp_engine")
    engine_log.addHandler(recorder)
    try:
        result = solve_pyvrp(problem, SearchSettings(solution_limit=20))
    finally:
        engine_log.removeHandler(recorder)
    assert recorder.messages == []
    assert_valid(problem, result)
    assert len(result.dropped) == 1
    # Serving node 1 costs 2 x 1000 m, serving node 2 costs 2 x 1050 m: node 2 is dropped.
    assert result.trips == ((0, (1,)),)
    assert result.objective == 2000 + DROP_PENALTY


def test_solve_pyvrp_drops_up_front_a_node_the_depot_service_makes_late() -> None:
    distance_m = np.asarray([[0, 1000], [1000, 0]], dtype=np.int64)
    travel_s = np.asarray([[0, 100], [100, 0]], dtype=np.int64)
    group = VehicleGroup(10, 0, 1000, 1.0, 1)

    def solve(depot_service_s: int) -> RoutingResult:
        problem = RoutingProblem(
            distance_m, travel_s, [depot_service_s, 0], [0, 1], [0, 0], [1000, 150], (group,)
        )
        return solve_pyvrp(problem, SearchSettings(solution_limit=10))

    assert solve(50).trips == ((0, (1,)),)
    assert solve(50).objective == 2000
    assert solve(51).dropped == (1,)
    assert solve(51).objective == DROP_PENALTY


def test_solve_pyvrp_is_deterministic_with_a_solution_limit() -> None:
    problem = make_problem(6, 40, TWO_GROUPS)
    first = solve_pyvrp(problem, SearchSettings(solution_limit=200, seed=7))
    second = solve_pyvrp(problem, SearchSettings(solution_limit=200, seed=7))
    assert first == second
    assert first.solutions == 200


def test_solve_pyvrp_returns_quickly_when_the_stop_flag_is_already_set() -> None:
    problem = make_problem(7, 60, TWO_GROUPS)
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    result = solve_pyvrp(problem, SearchSettings(deadline=time.monotonic() + 30), stop)
    assert time.monotonic() - started < 1.0
    assert result.interrupted
    assert_valid(problem, result)


def test_solve_pyvrp_honours_the_deadline() -> None:
    problem = make_problem(8, 40, TWO_GROUPS)
    started = time.monotonic()
    result = solve_pyvrp(problem, SearchSettings(deadline=started + 0.3))
    assert time.monotonic() - started < 1.0
    assert not result.interrupted
    assert result.solutions > 0


def test_solve_pyvrp_reports_improvements_as_they_come() -> None:
    problem = make_problem(9, 40, TWO_GROUPS)
    seen: list[tuple[float, int]] = []
    started = time.monotonic()
    result = solve_pyvrp(
        problem,
        SearchSettings(solution_limit=300),
        on_improvement=lambda at, objective: seen.append((at, objective)),
    )
    assert seen
    times = [at for at, _ in seen]
    objectives = [objective for _, objective in seen]
    assert started <= times[0]
    assert times == sorted(times)
    assert times[-1] <= time.monotonic()
    assert all(later < earlier for earlier, later in itertools.pairwise(objectives))
    assert objectives[-1] == result.objective


def test_solve_pyvrp_without_pyvrp_raises_engine_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pyvrp", None)
    problem = make_problem(10, 3, TWO_GROUPS)
    with pytest.raises(EngineUnavailable, match="pip install 'bsb\\[pyvrp\\]'") as raised:
        solve_pyvrp(problem, SearchSettings(solution_limit=5))
    assert str(raised.value) == INSTALL_HINT


def test_solve_pyvrp_objective_is_on_the_or_tools_scale() -> None:
    # Four nodes, one cheap small truck and a dear big one: both engines find the optimum,
    # so their objectives (weighted distance plus drop penalties) must be equal.
    problem = make_problem(
        11,
        4,
        (
            VehicleGroup(60, 7 * HOUR_S, 17 * HOUR_S, 1.0, 1),
            VehicleGroup(250, 7 * HOUR_S, 17 * HOUR_S, 1.35, 1),
        ),
        window_s=(8 * HOUR_S, 9 * HOUR_S),
    )
    ortools = solve_routing(problem, SearchSettings(metaheuristic="descent"))
    pyvrp = solve_pyvrp(problem, SearchSettings(solution_limit=200))
    assert_valid(problem, pyvrp)
    assert pyvrp.objective == ortools.objective


def test_solve_pyvrp_stops_soon_after_the_flag_is_set_mid_search() -> None:
    problem = make_problem(12, 60, TWO_GROUPS)
    stop = threading.Event()
    timer = threading.Timer(0.2, stop.set)
    started = time.monotonic()
    timer.start()
    try:
        result = solve_pyvrp(problem, SearchSettings(deadline=started + 30), stop)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 1.0
    assert result.interrupted
    assert_valid(problem, result)


def test_solve_pyvrp_ignores_windows_and_shifts_when_untimed() -> None:
    # Windows that no truck can meet and a one-second shift: only capacity counts untimed.
    timed = make_problem(13, 12, TWO_GROUPS)
    untimed = RoutingProblem(
        timed.distance_m,
        timed.travel_s,
        timed.service_s,
        timed.demand_sacks,
        [0] * 13,
        [1] * 13,
        (VehicleGroup(100, 0, 1, 1.0, 6), VehicleGroup(250, 0, 1, 1.35, 3)),
        timed=False,
    )
    result = solve_pyvrp(untimed, SearchSettings(solution_limit=100))
    assert_valid(untimed, result)
    assert result.dropped == ()
