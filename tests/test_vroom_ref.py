"""VROOM reference solver: routes are complete and feasible in double precision."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("vroom")
pytest.importorskip("vrplib")  # benchmarks.vrp reads instances with it

from benchmarks.vroom_ref import solve_vroom
from benchmarks.vrp import DEFAULT_INSTANCES, VrpInstance, check_solution, read_instance


def make_instance(
    *,
    windows: bool = True,
    max_vehicles: int = 4,
    x: tuple[float, ...] = (0.0, 1.1, 2.3, -3.7, 0.4, -1.9, 4.45),
    y: tuple[float, ...] = (0.0, 2.9, -1.3, 0.7, 3.3, -2.2, 1.05),
) -> VrpInstance:
    """Depot plus six customers at non-integer spots (travel times are irrational), windows
    that force waiting and one customer whose window only a direct trip can meet."""
    n = len(x)
    ready = [0.0, 0.0, 10.0, 0.0, 7.5, 0.0, 0.0] if windows else [0.0] * n
    due = [60.0, 30.0, 20.0, 40.0, 9.0, 50.0, 4.7] if windows else [math.inf] * n
    service = [0.0, 2.0, 1.5, 3.0, 1.0, 2.0, 0.5] if windows else [0.0] * n
    return VrpInstance(
        name="tiny",
        family="random",
        x=np.asarray(x, dtype=np.float64),
        y=np.asarray(y, dtype=np.float64),
        demand=np.asarray([0, 4, 3, 5, 2, 6, 3], dtype=np.int64),
        capacity=10,
        ready=np.asarray(ready, dtype=np.float64),
        due=np.asarray(due, dtype=np.float64),
        service=np.asarray(service, dtype=np.float64),
        max_vehicles=max_vehicles,
        has_time_windows=windows,
    )


def route_violations(instance: VrpInstance, routes: list[list[int]]) -> list[str]:
    """Re-simulate every route in double precision (independent of check_solution)."""
    problems = []
    for number, route in enumerate(routes, start=1):
        if sum(int(instance.demand[c]) for c in route) > instance.capacity:
            problems.append(f"route {number} over capacity")
        now = float(instance.ready[0])
        here = 0
        for customer in [*route, 0]:
            arrive = now + float(
                math.hypot(
                    instance.x[customer] - instance.x[here], instance.y[customer] - instance.y[here]
                )
            )
            now = max(arrive, float(instance.ready[customer]))
            if now > instance.due[customer] + 1e-9:
                problems.append(
                    f"route {number} late at {customer}: {now} > {instance.due[customer]}"
                )
            now += float(instance.service[customer])
            here = customer
    return problems


def test_solve_vroom_serves_everyone_within_windows_in_double_precision() -> None:
    instance = make_instance()
    routes = solve_vroom(instance, exploration=5)
    served = sorted(c for route in routes for c in route)
    assert served == list(range(1, instance.n_customers + 1))
    assert route_violations(instance, routes) == []
    check = check_solution(instance, routes)
    assert check.feasible, check.violations
    assert check.vehicles <= instance.max_vehicles


def test_solve_vroom_without_windows_uses_capacity_only() -> None:
    instance = make_instance(windows=False, max_vehicles=6)
    routes = solve_vroom(instance, exploration=0)
    assert sorted(c for route in routes for c in route) == list(range(1, 7))
    assert check_solution(instance, routes).feasible
    # 23 units of demand on vehicles of 10: three routes suffice and VROOM finds that.
    assert len(routes) == 3


def test_solve_vroom_leaves_out_what_a_too_small_fleet_cannot_carry() -> None:
    instance = make_instance(max_vehicles=1)
    routes = solve_vroom(instance, exploration=0)
    assert len(routes) == 1
    assert route_violations(instance, routes) == []
    assert sum(len(route) for route in routes) < instance.n_customers


@pytest.mark.parametrize(
    ("keyword", "value"), [("exploration", 6), ("threads", 0), ("time_limit_s", 0.0)]
)
def test_solve_vroom_rejects_bad_settings(keyword: str, value: float) -> None:
    with pytest.raises(ValueError, match=keyword):
        solve_vroom(make_instance(), **{keyword: value})  # type: ignore[arg-type]


def test_solve_vroom_on_solomon_c101_matches_the_best_known_distance() -> None:
    path = DEFAULT_INSTANCES / "solomon" / "C101.txt"
    if not path.exists():
        pytest.skip("benchmark instances not available")
    instance = read_instance(path)
    routes = solve_vroom(instance, exploration=0)
    check = check_solution(instance, routes)
    assert check.feasible, check.violations
    assert check.distance == pytest.approx(828.94, abs=0.01)


def test_solve_vroom_rounds_travel_up_so_a_hair_late_customer_stays_unserved() -> None:
    # Customer 1 is sqrt(2) = 1.41421... away and due at 1.4142: late by 1.4e-5 even on a direct
    # trip. Rounding the scaled travel time down or to nearest (141) would let VROOM serve it.
    instance = VrpInstance(
        name="hair",
        family="random",
        x=np.asarray([0.0, 1.0, 2.0]),
        y=np.asarray([0.0, 1.0, 0.0]),
        demand=np.asarray([0, 1, 1], dtype=np.int64),
        capacity=10,
        ready=np.zeros(3),
        due=np.asarray([100.0, 1.4142, 50.0]),
        service=np.zeros(3),
        max_vehicles=2,
        has_time_windows=True,
    )
    routes = solve_vroom(instance, exploration=0)
    assert routes == [[2]]
    assert route_violations(instance, routes) == []
