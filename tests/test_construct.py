"""The construction heuristic: feasible trips for the routing model, fast and deterministic."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.construct import nearest_neighbour
from optimizer.routing import RoutingProblem, VehicleGroup, trips_cost
from tests.conftest import HOUR_S, assert_routing_feasible, make_problem


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 60), st.integers(1, 6), st.integers(1, 400))
def test_constructed_trips_are_feasible_and_cover_every_chunk_once(
    seed: int, n_nodes: int, n_trips: int, capacity: int
) -> None:
    groups = (
        VehicleGroup(capacity, 7 * HOUR_S, 17 * HOUR_S, 1.0, n_trips),
        VehicleGroup(max(1, capacity // 3), 8 * HOUR_S, 12 * HOUR_S, 0.7, n_trips),
    )
    problem = make_problem(seed, n_nodes, groups)
    result = nearest_neighbour(problem)
    assert_routing_feasible(problem, result)
    assert result.objective == trips_cost(problem, result.trips, len(result.dropped))
    assert nearest_neighbour(problem) == result  # deterministic


def test_with_enough_trips_every_chunk_is_routed_in_full_trucks() -> None:
    problem = make_problem(3, 50, (VehicleGroup(200, 6 * HOUR_S, 20 * HOUR_S, 1.0, 50),))
    result = nearest_neighbour(problem)
    assert_routing_feasible(problem, result)
    assert result.dropped == ()
    # Greedy, but not one trip per chunk: trips are filled while anything fits.
    assert len(result.trips) <= sum(problem.demand_sacks) / 200 * 2 + 1


def test_a_chunk_no_group_can_reach_in_time_is_dropped() -> None:
    problem = make_problem(5, 4, (VehicleGroup(500, 7 * HOUR_S, 17 * HOUR_S, 1.0, 4),))
    closed = list(problem.close_s)
    opened = list(problem.open_s)
    opened[2], closed[2] = 3 * HOUR_S, 4 * HOUR_S  # closes before any truck leaves
    problem = RoutingProblem(
        problem.distance_m,
        problem.travel_s,
        problem.service_s,
        problem.demand_sacks,
        opened,
        closed,
        problem.groups,
    )
    result = nearest_neighbour(problem)
    assert_routing_feasible(problem, result)
    assert result.dropped == (2,)


def test_untimed_problems_ignore_windows() -> None:
    base = make_problem(7, 30, (VehicleGroup(100, 0, 1, 1.0, 30),))
    problem = RoutingProblem(
        base.distance_m,
        base.travel_s,
        base.service_s,
        base.demand_sacks,
        base.open_s,
        base.close_s,
        base.groups,
        timed=False,
    )
    result = nearest_neighbour(problem)
    assert_routing_feasible(problem, result)
    assert result.dropped == ()
    assert np.sum([len(nodes) for _, nodes in result.trips]) == 30
