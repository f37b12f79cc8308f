"""The planner on road matrices: hand-made RoadMatrix objects, no OpenStreetMap needed.

Big and small trucks drive their own matrices; points only small trucks reach are served by
small trucks only; points off every road are ``no_road``; a small-only point at a warehouse
without small trucks is ``capacity`` naming the road. Every leg of every plan takes its
distance and time from the matrix of its truck's class, to the metre and the second.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from optimizer import planner
from optimizer.model import (
    Calendar,
    DropPoint,
    Scenario,
    SolverSettings,
    Tranche,
    Truck,
    Warehouse,
)
from optimizer.planner import PlannerOptions, plan_scenario
from optimizer.reasons import ReasonCode
from optimizer.solution import Plan, plan_to_dict
from optimizer.travel import NO_ROAD_S, RoadMatrix, place_ids, travel_model
from tests.conftest import DRAMAGA

ACCESS = ("big", "small")
BIG, SMALL = 0, 1
BIG_KMH, SMALL_KMH = 25.0, 32.0
TRACK = "Jalan Setapak Cibuntu"


def road_matrix(
    scenario: Scenario,
    *,
    stretch: np.ndarray | None = None,
    small_only: Iterable[str] = (),
    off_road_m: Mapping[str, float] | None = None,
    cut_off: Iterable[str] = (),
) -> RoadMatrix:
    """A two-class matrix over the scenario's places, from the straight line.

    ``stretch`` multiplies each pair's straight km (asymmetric when not symmetric); big trucks
    drive slower. ``small_only`` points lie on a track: big trucks have no road to them and
    their nearest big road is 900 m away. ``off_road_m`` points are that far from every road.
    ``cut_off`` points have a road but no path to any place.
    """
    ids = place_ids(scenario)
    n = len(ids)
    everyone = np.arange(n)
    base_km, _ = travel_model(scenario).km_s(everyone, everyone)
    km_small = base_km * (1.0 if stretch is None else stretch)
    km = np.stack([km_small * 1.1, km_small])
    snap_m = np.full((2, n), 40.0)
    roads = [["Jalan Raya Dramaga"] * n, ["Jalan Raya Dramaga"] * n]
    index = {place: k for k, place in enumerate(ids)}
    for point in small_only:
        k = index[point]
        km[BIG, k, :] = km[BIG, :, k] = np.inf
        snap_m[BIG, k] = 900.0
        roads[SMALL][k] = TRACK
    for point, metres in (off_road_m or {}).items():
        k = index[point]
        km[:, k, :] = km[:, :, k] = np.inf
        snap_m[:, k] = metres
    for point in cut_off:
        k = index[point]
        km[:, k, :] = km[:, :, k] = np.inf
    for c in range(2):
        np.fill_diagonal(km[c], 0.0)
    speed = np.array([BIG_KMH, SMALL_KMH])[:, None, None]
    with np.errstate(invalid="ignore"):
        seconds = np.where(
            np.isfinite(km), np.ceil(km / speed * 3600 - 1e-9), float(NO_ROAD_S)
        ).astype(np.int64)
    return RoadMatrix(
        place_ids=ids,
        access=ACCESS,
        km=km,
        seconds=seconds,
        snap_m=snap_m,
        snap_road=tuple(tuple(r) for r in roads),
        provenance={"source": "test"},
    )


def _s(moment: datetime) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def assert_legs_follow_the_matrix(scenario: Scenario, plan: Plan, road: RoadMatrix) -> None:
    """Every route's km, arrivals and return come from its truck's class of the matrix."""
    index = {place: k for k, place in enumerate(road.place_ids)}
    for route in plan.routes:
        truck = scenario.truck(route.truck)
        access = road.access_index(scenario.travel.truck_access(truck))
        places = [index[route.warehouse], *(index[s.drop_point] for s in route.stops)]
        places.append(index[route.warehouse])
        legs_km = [road.km[access, a, b] for a, b in itertools.pairwise(places)]
        legs_s = [road.seconds[access, a, b] for a, b in itertools.pairwise(places)]
        assert all(math.isfinite(k) for k in legs_km), route
        assert all(s < NO_ROAD_S for s in legs_s), route
        assert route.distance_km == pytest.approx(sum(legs_km), abs=1e-9)
        now = _s(route.depart)
        for stop, leg_s in zip(route.stops, legs_s, strict=False):
            point = scenario.drop_point(stop.drop_point)
            opens = point.open_s if point.open_s is not None else 0
            assert _s(stop.arrive) == max(now + int(leg_s), opens), (route, stop)
            now = _s(stop.depart)
        assert _s(route.return_) == now + int(legs_s[-1])
        assert route.load_kg <= truck.capacity_kg + 1e-6
        # Inside the shift, after loading, and every stop before its point closes.
        loading_s = scenario.service.loading_s
        assert _s(route.depart) >= truck.shift_start_s + loading_s
        assert _s(route.return_) <= truck.shift_end_s
        for stop in route.stops:
            closes = scenario.drop_point(stop.drop_point).close_s
            assert closes is None or _s(stop.arrive) <= closes
    # A truck's trips of one day follow each other, a loading apart.
    days: dict[tuple[str, date], list[tuple[int, int]]] = defaultdict(list)
    for route in plan.routes:
        days[(route.truck, route.date)].append((_s(route.depart), _s(route.return_)))
    for trips in days.values():
        trips.sort()
        for (_, back), (leave, _) in itertools.pairwise(trips):
            assert leave >= back + scenario.service.loading_s


def assert_conserved(scenario: Scenario, plan: Plan) -> None:
    total: dict[tuple[str, str], float] = defaultdict(float)
    for route in plan.routes:
        for stop in route.stops:
            total[(stop.drop_point, stop.tranche)] += stop.kg
    for item in plan.unassigned:
        total[(item.drop_point, item.tranche)] += item.kg
    for point in scenario.drop_points:
        for tranche in scenario.tranches:
            assert total[(point.id, tranche.id)] == pytest.approx(
                scenario.demand_kg(point, tranche)
            )


def _classes_serving(scenario: Scenario, plan: Plan, point: str) -> set[str]:
    return {
        scenario.travel.truck_access(scenario.truck(route.truck))
        for route in plan.routes
        for stop in route.stops
        if stop.drop_point == point
    }


def test_one_class_matrix_equal_to_the_straight_line_gives_the_same_plan(
    tiny_scenario: Scenario,
) -> None:
    # A matrix file's one class ("all") holding the straight line's own numbers plans exactly
    # as the straight line: the planner reads both through the same place indices.
    straight = travel_model(tiny_scenario)
    everyone = np.arange(len(place_ids(tiny_scenario)))
    km, seconds = straight.km_s(everyone, everyone)
    road = RoadMatrix(
        place_ids=place_ids(tiny_scenario),
        access=("all",),
        km=km[None],
        seconds=seconds[None],
        snap_m=np.zeros((1, len(everyone))),
        snap_road=(("",) * len(everyone),),
        provenance={},
    )
    on_roads = plan_to_dict(plan_scenario(tiny_scenario, travel=road))
    assert on_roads == plan_to_dict(plan_scenario(tiny_scenario))


def test_asymmetric_roads_time_every_leg_on_the_trucks_own_matrix(
    tiny_scenario: Scenario,
) -> None:
    n = len(place_ids(tiny_scenario))
    # Going out takes 1.3 times the straight line, coming back 1.8 times (one-way streets).
    stretch = np.where(np.arange(n)[:, None] < np.arange(n)[None, :], 1.3, 1.8)
    road = road_matrix(tiny_scenario, stretch=stretch)
    assert not np.array_equal(road.km[SMALL], road.km[SMALL].T)
    plan = plan_scenario(tiny_scenario, travel=road)
    assert plan.unassigned == ()
    assert_conserved(tiny_scenario, plan)
    assert_legs_follow_the_matrix(tiny_scenario, plan, road)
    # Both classes drove: the test proves each class's own matrix, not one of them.
    classes = {tiny_scenario.travel.truck_access(tiny_scenario.truck(r.truck)) for r in plan.routes}
    assert classes == {"big", "small"}
    assert plan.snap_m == {p.id: 40.0 for p in tiny_scenario.drop_points}


@pytest.mark.parametrize("strategy", ["ortools", "pyvrp", "default"])
def test_a_point_on_a_track_is_served_by_small_trucks_only(
    tiny_scenario: Scenario, strategy: str
) -> None:
    if strategy == "pyvrp":
        pytest.importorskip("pyvrp")
    scenario = replace(
        tiny_scenario, solver=replace(tiny_scenario.solver, strategy=strategy, solution_limit=30)
    )
    road = road_matrix(scenario, small_only=["P3"])
    plan = plan_scenario(scenario, travel=road)
    assert plan.unassigned == ()
    assert_conserved(scenario, plan)
    assert_legs_follow_the_matrix(scenario, plan, road)
    assert _classes_serving(scenario, plan, "P3") == {"small"}
    assert "big" in {scenario.travel.truck_access(scenario.truck(r.truck)) for r in plan.routes}
    assert plan.snap_m is not None and plan.snap_m["P3"] == 40.0


def test_parts_routed_by_construction_keep_track_points_on_small_trucks(
    tiny_scenario: Scenario,
) -> None:
    # Stopped before it starts: every part is routed by the construction heuristic.
    stop = threading.Event()
    stop.set()
    road = road_matrix(tiny_scenario, small_only=["P3", "P2"])
    plan = plan_scenario(tiny_scenario, travel=road, stop=stop)
    assert plan.solver is not None
    assert plan.solver.constructed_parts == plan.solver.routing_parts > 0
    assert_conserved(tiny_scenario, plan)
    assert_legs_follow_the_matrix(tiny_scenario, plan, road)
    assert _classes_serving(tiny_scenario, plan, "P3") == {"small"}
    assert _classes_serving(tiny_scenario, plan, "P2") == {"small"}


def test_a_truck_type_override_makes_a_big_truck_small(tiny_scenario: Scenario) -> None:
    # The 5 t CDD declared small (it fits the track): it may now serve the track's point.
    travel = replace(tiny_scenario.travel, access=(("CDD", "small"),))
    scenario = replace(tiny_scenario, travel=travel)
    road = road_matrix(scenario, small_only=["P3"])
    plan = plan_scenario(scenario, travel=road)
    assert plan.unassigned == ()
    assert_legs_follow_the_matrix(scenario, plan, road)
    assert {r.truck for r in plan.routes} <= {"T1", "T2"}
    assert _classes_serving(scenario, plan, "P3") == {"small"}


def test_a_point_far_from_every_road_is_no_road(tiny_scenario: Scenario) -> None:
    road = road_matrix(tiny_scenario, off_road_m={"P4": 2300.0})
    plan = plan_scenario(tiny_scenario, travel=road)
    assert_conserved(tiny_scenario, plan)
    assert_legs_follow_the_matrix(tiny_scenario, plan, road)
    unassigned = {(u.drop_point, u.tranche): u for u in plan.unassigned}
    assert set(unassigned) == {("P4", "T-SEP"), ("P4", "T-OKT")}
    item = unassigned[("P4", "T-SEP")]
    assert item.reason_code is ReasonCode.NO_ROAD
    assert item.facts.snap_km == 2.3 and item.facts.max_snap_km == 0.5
    assert item.facts.road == "Jalan Raya Dramaga"
    assert "nearest usable road 2.3 km away" in item.reason
    assert plan.snap_m is not None and plan.snap_m["P4"] == 2300.0
    # The reason's facts travel through plan.json.
    entry = next(u for u in plan_to_dict(plan)["unassigned"] if u["tranche"] == "T-SEP")
    assert entry["reason_code"] == "no_road"
    assert entry["reason_facts"]["snap_km"] == 2.3


def test_a_point_no_road_connects_is_no_road(tiny_scenario: Scenario) -> None:
    road = road_matrix(tiny_scenario, cut_off=["P2"])
    plan = plan_scenario(tiny_scenario, travel=road)
    assert_conserved(tiny_scenario, plan)
    codes = {u.reason_code for u in plan.unassigned if u.drop_point == "P2"}
    assert codes == {ReasonCode.NO_ROAD}
    assert all(u.drop_point == "P2" for u in plan.unassigned)
    item = next(u for u in plan.unassigned if u.drop_point == "P2")
    assert "connects drop point P2" in item.reason


def test_a_track_point_at_a_warehouse_without_small_trucks_is_capacity_naming_the_road(
    tiny_scenario: Scenario,
) -> None:
    big_only = replace(tiny_scenario, trucks=(tiny_scenario.truck("T2"),))
    road = road_matrix(big_only, small_only=["P3"])
    plan = plan_scenario(big_only, travel=road)
    assert_conserved(big_only, plan)
    assert_legs_follow_the_matrix(big_only, plan, road)
    p3 = [u for u in plan.unassigned if u.drop_point == "P3"]
    assert p3 and all(u.reason_code is ReasonCode.CAPACITY for u in p3)
    assert p3[0].facts.small_only and p3[0].facts.road == TRACK
    assert TRACK in p3[0].reason and "Only small trucks" in p3[0].reason
    assert not any(s.drop_point == "P3" for r in plan.routes for s in r.stops)


def test_the_straight_line_exposes_no_snap_distances(tiny_scenario: Scenario) -> None:
    assert plan_scenario(tiny_scenario).snap_m is None


# --- random matrix scenarios --------------------------------------------------------------------


@st.composite
def road_scenarios(draw: st.DrawFn) -> tuple[Scenario, RoadMatrix]:
    """1-2 warehouses, big and small trucks, 2-7 points, asymmetric two-class roads."""
    n_wh = draw(st.integers(1, 2))
    warehouses = tuple(
        Warehouse(
            f"W{w}",
            f"Gudang {w}",
            DRAMAGA[0] + 0.05 * w,
            DRAMAGA[1],
            draw(st.sampled_from([200_000.0, 4_000.0])),
        )
        for w in range(n_wh)
    )
    trucks = []
    for w in range(n_wh):
        for k in range(draw(st.integers(1, 3))):
            capacity = draw(st.sampled_from([1500.0, 2500.0, 5000.0, 8000.0]))
            trucks.append(
                Truck(f"T{w}{k}", f"W{w}", capacity, 7 * 3600, 17 * 3600, 5000.0, 8e5, None, "")
            )
    n_points = draw(st.integers(2, 7))
    points = []
    for i in range(n_points):
        opens = draw(st.none() | st.integers(7, 14).map(lambda h: h * 3600))
        points.append(
            DropPoint(
                f"P{i}",
                f"RW {i}",
                DRAMAGA[0] + draw(st.floats(-0.12, 0.12)),
                DRAMAGA[1] + draw(st.floats(-0.12, 0.12)),
                draw(st.integers(5, 150)),
                open_s=opens,
                close_s=None if opens is None else opens + draw(st.integers(1, 4)) * 3600,
            )
        )
    tranches = (Tranche("T1", "Satu", 30.0, date(2020, 9, 1), date(2020, 9, 10)),)
    scenario = Scenario(
        name="roads",
        start_date=date(2020, 9, 1),
        warehouses=warehouses,
        trucks=tuple(trucks),
        drop_points=tuple(points),
        tranches=tranches,
        calendar=Calendar(),
        solver=SolverSettings(time_limit_s=5.0, seed=draw(st.integers(0, 3)), solution_limit=10),
    )
    n = n_wh + n_points
    seed = draw(st.integers(0, 2**32 - 1))
    # Up to 8 times the straight line: some round trips no longer fit a shift.
    stretch = np.random.default_rng(seed).uniform(1.0, draw(st.sampled_from([2.0, 8.0])), (n, n))
    ids = [p.id for p in points]
    small_only = draw(st.lists(st.sampled_from(ids), max_size=2, unique=True))
    rest = [p for p in ids if p not in small_only]
    off = draw(st.lists(st.sampled_from(rest), max_size=1, unique=True)) if rest else []
    road = road_matrix(
        scenario, stretch=stretch, small_only=small_only, off_road_m=dict.fromkeys(off, 800.0)
    )
    return scenario, road


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(road_scenarios())
def test_plans_on_random_road_matrices_keep_every_leg_on_the_trucks_matrix(
    case: tuple[Scenario, RoadMatrix],
) -> None:
    scenario, road = case
    plan = plan_scenario(scenario, travel=road, options=PlannerOptions(workers=1))
    assert_conserved(scenario, plan)
    assert_legs_follow_the_matrix(scenario, plan, road)
    index = {place: k for k, place in enumerate(road.place_ids)}
    for item in plan.unassigned:
        k = index[item.drop_point]
        if item.reason_code is ReasonCode.NO_ROAD:
            # Only a point off every road (or with no path) is no_road.
            assert not np.isfinite(road.km[SMALL, k, : len(scenario.warehouses)]).any()
    for point in scenario.drop_points:
        k = index[point.id]
        if not np.isfinite(road.km[BIG, k, 0]):
            assert "big" not in _classes_serving(scenario, plan, point.id)


def _one_sack_on_roads(
    scenario: Scenario, road: RoadMatrix, w: int, p: int, truck: Truck
) -> ReasonCode | None:
    """The screening rule on roads, one pair and one truck at a time."""
    if truck.capacity_kg < max(t.kg_per_kpm for t in scenario.tranches):
        return ReasonCode.CAPACITY
    k = road.access_index(scenario.travel.truck_access(truck))
    place = len(scenario.warehouses) + p
    max_snap_m = scenario.travel.max_snap_m
    if max(road.snap_m[k, w], road.snap_m[k, place]) > max_snap_m:
        return ReasonCode.NO_ROAD
    if not (math.isfinite(road.km[k, w, place]) and math.isfinite(road.km[k, place, w])):
        return ReasonCode.NO_ROAD
    out_s, back_s = int(road.seconds[k, w, place]), int(road.seconds[k, place, w])
    point = scenario.drop_points[p]
    service = scenario.service.service_s(point, scenario.sack_kg)
    earliest = truck.shift_start_s + scenario.service.loading_s
    open_s = 0 if point.open_s is None else point.open_s
    close_s = 24 * 3600 if point.close_s is None else point.close_s
    if earliest + out_s + back_s + service > truck.shift_end_s:
        return ReasonCode.SHIFT
    arrive = max(earliest + out_s, open_s)
    if arrive > close_s or arrive + service + back_s > truck.shift_end_s:
        return ReasonCode.TIME_WINDOW
    return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(road_scenarios(), st.integers(1, 2))
def test_screening_on_roads_matches_the_rule_pair_by_pair_and_truck_by_truck(
    case: tuple[Scenario, RoadMatrix], keep: int
) -> None:
    scenario, road = case
    ctx = planner._build_context(scenario, PlannerOptions(nearest_warehouses=keep), road)
    screened = planner._Reach(ctx).rows(np.arange(len(scenario.drop_points)), keep)
    n_wh = len(scenario.warehouses)
    carrying = [
        t for t in scenario.trucks if t.capacity_kg >= max(r.kg_per_kpm for r in scenario.tranches)
    ]
    for p in range(len(scenario.drop_points)):
        place = n_wh + p
        found: set[ReasonCode | None] = set()
        best_km: dict[int, float] = {}
        for w, warehouse in enumerate(scenario.warehouses):
            for truck in (t for t in scenario.trucks if t.warehouse_id == warehouse.id):
                code = _one_sack_on_roads(scenario, road, w, p, truck)
                found.add(code)
                if code is None:
                    k = road.access_index(scenario.travel.truck_access(truck))
                    best_km[w] = min(best_km.get(w, math.inf), float(road.km[k, w, place]))
        reachable = sorted(best_km, key=lambda w: (best_km[w], w))
        assert screened.warehouses[p] == reachable[:keep]
        assert screened.n_reachable[p] == len(reachable)
        assert screened.km[p] == [best_km[w] for w in reachable[:keep]]
        if reachable:
            continue
        road_any = any(
            max(road.snap_m[k, w], road.snap_m[k, place]) <= scenario.travel.max_snap_m
            and math.isfinite(road.km[k, w, place])
            and math.isfinite(road.km[k, place, w])
            for k in range(len(road.access))
            for w in range(n_wh)
        )
        if ReasonCode.TIME_WINDOW in found:
            expected = ReasonCode.TIME_WINDOW
        elif ReasonCode.SHIFT in found:
            expected = ReasonCode.SHIFT
        elif carrying and not road_any:
            expected = ReasonCode.NO_ROAD
        else:
            expected = ReasonCode.CAPACITY
        assert screened.binding[p] is expected
        event(f"unreachable: {expected}")
        small_only = expected is ReasonCode.CAPACITY and bool(carrying) and road_any
        assert screened.small_only[p] == small_only
