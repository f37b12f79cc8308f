"""Tests of optimizer.routing: one routing subproblem solved with OR-Tools, and its cost."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.construct import nearest_neighbour
from optimizer.routing import (
    DAY_S,
    DROP_PENALTY,
    NO_ROAD_M,
    RoutingProblem,
    RoutingResult,
    SearchSettings,
    VehicleGroup,
    solve_routing,
    trips_cost,
)
from optimizer.travel import NO_ROAD_S
from tests.conftest import HOUR_S, assert_routing_feasible, make_problem

FAST = SearchSettings(solution_limit=20, seed=1)
"""A deterministic budget. Without a deadline OR-Tools searches until it has found that many
solutions, which a problem with a single one (everything dropped) never does: such tests use
``solution_limit=1``, and every test has a deadline as a safety net."""
SAFETY_S = 60.0


def _search(settings: SearchSettings = FAST, **changes: object) -> SearchSettings:
    """``settings`` with ``changes`` and a deadline SAFETY_S from now."""
    return dataclasses.replace(
        settings,
        **{"deadline": time.monotonic() + SAFETY_S, **changes},  # type: ignore[arg-type]
    )


ONE_GROUP = (VehicleGroup(150, 7 * HOUR_S, 17 * HOUR_S, 1.0, 6),)


def _line_problem(
    demand_sacks: list[int], groups: tuple[VehicleGroup, ...], **changes: object
) -> RoutingProblem:
    """Depot and nodes 1 km apart on a line, 2 minutes per km, open all day."""
    n = len(demand_sacks) + 1
    position_km = np.arange(n)
    distance_m = np.abs(position_km[:, None] - position_km[None, :]) * 1000
    problem = RoutingProblem(
        distance_m=distance_m.astype(np.int64),
        travel_s=(distance_m // 1000 * 120).astype(np.int64),
        service_s=[0] + [300] * (n - 1),
        demand_sacks=[0, *demand_sacks],
        open_s=[0] * n,
        close_s=[DAY_S] * n,
        groups=groups,
    )
    return dataclasses.replace(problem, **changes)  # type: ignore[arg-type]


# --- trips_cost ---------------------------------------------------------------------------------


def test_trips_cost_sums_the_arcs_of_each_trip_and_the_drop_penalties() -> None:
    problem = _line_problem([10, 10, 10], ONE_GROUP)
    # 0 -> 1 -> 2 -> 0 is 1 + 1 + 2 km; 0 -> 3 -> 0 is 3 + 3 km.
    assert trips_cost(problem, [(0, [1, 2]), (0, [3])], 0) == 4000 + 6000
    assert trips_cost(problem, [(0, [1, 2])], 1) == 4000 + DROP_PENALTY
    assert trips_cost(problem, [], 3) == 3 * DROP_PENALTY
    assert trips_cost(problem, [], 0) == 0


def test_trips_cost_rounds_each_weighted_arc_as_the_model_registers_it() -> None:
    groups = (VehicleGroup(150, 0, DAY_S, 1.0, 2), VehicleGroup(150, 0, DAY_S, 1.35, 2))
    problem = _line_problem([10], groups, distance_m=np.array([[0, 333], [333, 0]]))
    assert trips_cost(problem, [(0, [1])], 0) == 666
    # rint(333 x 1.35) = rint(449.55) = 450 per arc, not rint(666 x 1.35) = 899.
    assert trips_cost(problem, [(1, [1])], 0) == 900


# --- the horizon ------------------------------------------------------------------------------


def test_the_horizon_is_a_day_unless_a_window_or_a_shift_ends_later() -> None:
    assert _line_problem([10], ONE_GROUP).horizon_s == DAY_S
    late_window = _line_problem([10], ONE_GROUP, close_s=[0, DAY_S + 500])
    assert late_window.horizon_s == DAY_S + 500
    long_shift = _line_problem([10], (VehicleGroup(150, 0, 3 * DAY_S, 1.0, 1),))
    assert long_shift.horizon_s == 3 * DAY_S


# --- solve_routing ------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 10_000),
    st.integers(0, 25),
    st.integers(1, 6),
    st.integers(40, 400),
    st.sampled_from(["savings", "path_cheapest_arc", "parallel_cheapest_insertion"]),
)
def test_every_solution_is_feasible_and_its_objective_is_trips_cost(
    seed: int, n_nodes: int, n_trips: int, capacity: int, first_solution: str
) -> None:
    groups = (
        VehicleGroup(capacity, 7 * HOUR_S, 17 * HOUR_S, 1.0, n_trips),
        VehicleGroup(max(1, capacity // 2), 8 * HOUR_S, 15 * HOUR_S, 1.35, n_trips),
    )
    problem = make_problem(seed, n_nodes, groups)
    result = solve_routing(
        problem, _search(first_solution=first_solution, solution_limit=10, seed=seed)
    )
    assert_routing_feasible(problem, result)
    assert result.objective == trips_cost(problem, result.trips, len(result.dropped))
    assert not result.interrupted
    assert all(nodes for _, nodes in result.trips)  # empty trips are not reported


def test_enough_trucks_route_every_node() -> None:
    problem = make_problem(3, 20, (VehicleGroup(400, 6 * HOUR_S, 20 * HOUR_S, 1.0, 20),))
    result = solve_routing(problem, _search())
    assert_routing_feasible(problem, result)
    assert result.dropped == ()
    assert result.objective < DROP_PENALTY
    assert result.solutions >= 1


def test_same_settings_give_the_same_routes() -> None:
    problem = make_problem(11, 15)
    assert solve_routing(problem, _search()) == solve_routing(problem, _search())


def test_a_node_that_closes_before_any_shift_starts_is_dropped() -> None:
    problem = _line_problem([10, 10, 10], ONE_GROUP)
    problem = dataclasses.replace(
        problem, open_s=[0, 0, 2 * HOUR_S, 0], close_s=[DAY_S, DAY_S, 3 * HOUR_S, DAY_S]
    )
    result = solve_routing(problem, _search())
    assert_routing_feasible(problem, result)
    assert result.dropped == (2,)
    assert result.objective == trips_cost(problem, result.trips, 1)
    assert result.objective >= DROP_PENALTY


def test_a_node_larger_than_every_truck_is_dropped() -> None:
    problem = _line_problem([10, 151, 10], ONE_GROUP)
    result = solve_routing(problem, _search())
    assert result.dropped == (2,)
    assert sorted(n for _, nodes in result.trips for n in nodes) == [1, 3]


def test_an_untimed_problem_ignores_windows_and_shifts() -> None:
    closed = _line_problem(
        [10, 10], (VehicleGroup(150, 0, 1, 1.0, 2),), open_s=[0, 5, 5], close_s=[0, 6, 6]
    )
    assert solve_routing(closed, _search(solution_limit=1)).dropped == (1, 2)
    result = solve_routing(dataclasses.replace(closed, timed=False), _search())
    assert result.dropped == ()
    # Both nodes fit in one truck: one trip out and back, 2 km each way.
    assert result.trips == ((0, (1, 2)),) or result.trips == ((0, (2, 1)),)
    assert result.objective == 4000


def test_no_node_or_no_trip_gives_an_empty_result_without_searching() -> None:
    only_depot = _line_problem([], ONE_GROUP)
    assert solve_routing(only_depot, _search()) == solve_routing(only_depot, SearchSettings())
    result = solve_routing(only_depot, _search())
    assert (result.trips, result.dropped, result.solutions, result.objective) == ((), (), 0, 0)
    no_trips = _line_problem([10, 20], (VehicleGroup(150, 0, DAY_S, 1.0, 0),))
    result = solve_routing(no_trips, _search())
    assert (result.trips, result.dropped) == ((), (1, 2))
    assert result.objective == 2 * DROP_PENALTY


@pytest.mark.parametrize(
    ("field", "name"), [("first_solution", "cheapest"), ("metaheuristic", "genetic")]
)
def test_an_unknown_heuristic_name_raises_value_error(field: str, name: str) -> None:
    settings = _search(**{field: name})
    with pytest.raises(ValueError, match=name):
        solve_routing(make_problem(1, 3), settings)


def test_a_set_stop_flag_keeps_the_first_solution_and_says_it_was_interrupted() -> None:
    stop = threading.Event()
    stop.set()
    problem = make_problem(5, 30)
    result = solve_routing(problem, _search(solution_limit=10_000), stop=stop)
    assert result.interrupted
    assert 1 <= result.solutions < 10_000
    assert_routing_feasible(problem, result)
    assert result.objective == trips_cost(problem, result.trips, len(result.dropped))


def test_improvements_are_reported_falling_to_the_final_objective() -> None:
    seen: list[tuple[float, int]] = []
    problem = make_problem(8, 25)
    result = solve_routing(
        problem, _search(solution_limit=200), on_improvement=lambda t, c: seen.append((t, c))
    )
    assert seen
    times = [t for t, _ in seen]
    costs = [c for _, c in seen]
    assert times == sorted(times)
    assert all(later < earlier for earlier, later in itertools.pairwise(costs))
    assert costs[-1] == result.objective


@pytest.mark.parametrize("metaheuristic", ["gls", "tabu", "sa", "descent"])
def test_each_metaheuristic_and_the_tuned_search_give_feasible_trips(metaheuristic: str) -> None:
    problem = make_problem(2, 12)
    for tuned in (False, True):
        settings = _search(metaheuristic=metaheuristic, solution_limit=30, tuned=tuned)
        result = solve_routing(problem, settings)
        assert_routing_feasible(problem, result)
        assert result.objective == trips_cost(problem, result.trips, len(result.dropped))


def _two_profile_problem(seed: int, n_nodes: int, closed: int) -> RoutingProblem:
    """Profile 0 (big trucks) has no road to nodes 1..closed; profile 1 (small) reaches all."""
    problem = make_problem(
        seed,
        n_nodes,
        (
            VehicleGroup(250, 7 * HOUR_S, 17 * HOUR_S, 1.0, 6, access=0),
            VehicleGroup(100, 7 * HOUR_S, 17 * HOUR_S, 1.35, 5, access=1),
        ),
    )
    distance = problem.distance_m.copy()
    travel = problem.travel_s.copy()
    distance[1 : closed + 1, :] = distance[:, 1 : closed + 1] = NO_ROAD_M
    travel[1 : closed + 1, :] = travel[:, 1 : closed + 1] = NO_ROAD_S
    for k in range(1, closed + 1):
        distance[k, k] = travel[k, k] = 0
    # Small trucks drive the original roads, a tenth slower.
    small = (problem.distance_m, (problem.travel_s * 11) // 10)
    return dataclasses.replace(
        problem, distance_m=distance, travel_s=travel, more_profiles=(small,)
    )


def _nearest_neighbour(problem: RoutingProblem, settings: SearchSettings) -> RoutingResult:
    return nearest_neighbour(problem)


def _pyvrp(problem: RoutingProblem, settings: SearchSettings) -> RoutingResult:
    pytest.importorskip("pyvrp")
    from optimizer.pyvrp_engine import solve_pyvrp

    return solve_pyvrp(problem, dataclasses.replace(settings, solution_limit=300))


@pytest.mark.parametrize(
    "engine", [solve_routing, _pyvrp, _nearest_neighbour], ids=["ortools", "pyvrp", "construct"]
)
def test_each_group_drives_its_own_profile_and_keeps_off_roads_it_has_not(
    engine: Callable[[RoutingProblem, SearchSettings], RoutingResult],
) -> None:
    closed = 6
    problem = _two_profile_problem(3, 25, closed)
    result = engine(problem, SearchSettings(solution_limit=60))
    assert_routing_feasible(problem, result)
    served_by = {node: group for group, nodes in result.trips for node in nodes}
    assert all(served_by.get(node, 1) == 1 for node in range(1, closed + 1))
    assert {group for group, _ in result.trips} == {0, 1}  # both profiles in use
    # The objective is each trip's cost on its own profile's distances.
    assert result.objective == trips_cost(problem, result.trips, len(result.dropped))
    assert len(result.dropped) <= 2
