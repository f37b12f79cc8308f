"""The planner end to end on small scenarios: feasibility, conservation, reasons, determinism."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from documents.pipeline import with_overrides
from optimizer import planner
from optimizer.checker import check_plan
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
from optimizer.solution import ReasonCode, plan_to_dict
from tests.conftest import DRAMAGA, assert_feasible_and_conserved, make_tiny_scenario

FAST = SolverSettings(time_limit_s=5.0, seed=1, solution_limit=20)


def test_tiny_scenario_is_fully_delivered(tiny_scenario: Scenario) -> None:
    data = assert_feasible_and_conserved(tiny_scenario)
    assert data["unassigned"] == []
    kpis = data["kpis"]
    assert isinstance(kpis, dict)
    assert kpis["families_served"] == sum(p.kpm for p in tiny_scenario.drop_points)


def test_ids_are_echoed_verbatim(tiny_scenario: Scenario) -> None:
    data = plan_to_dict(plan_scenario(tiny_scenario))
    points = {s["drop_point"] for r in data["routes"] for s in r["stops"]}
    assert "00042" in points


def test_demand_over_a_truckload_is_split_over_trips() -> None:
    big = DropPoint("BIG", "RW besar", 106.76, -6.56, 500)  # 15,000 kg in September
    scenario = make_tiny_scenario(drop_points=(big,))
    data = assert_feasible_and_conserved(scenario)
    routes = data["routes"]
    assert isinstance(routes, list)
    september = [r for r in routes if r["stops"][0]["tranche"] == "T-SEP"]
    assert len(september) >= 3  # 15 t on trucks of at most 5 t
    assert all(r["load_kg"] <= 5000 for r in september)


def test_short_stock_is_reported_not_raised() -> None:
    scenario = make_tiny_scenario(
        warehouses=(Warehouse("W1", "Gudang kecil", DRAMAGA[0], DRAMAGA[1], 3000.0),)
    )
    data = assert_feasible_and_conserved(scenario)
    unassigned = data["unassigned"]
    assert isinstance(unassigned, list)
    assert {u["reason_code"] for u in unassigned} == {"stock"}
    assert all("stock" in u["reason"] for u in unassigned)


def _two_warehouse_shortage() -> Scenario:
    """W01 has stock for its own points but one truck doing one trip a day, and October's
    window is a single day; W02 has too little stock for its points. W01's October trips find
    no truck, and their stock must go to W02's points instead of staying in W01."""
    w01 = Warehouse("W01", "Gudang Dramaga", DRAMAGA[0], DRAMAGA[1], 22_500.0)
    w02 = Warehouse("W02", "Gudang Cibinong", 106.85, -6.48, 10_000.0)
    trucks = (
        Truck("A1", "W01", 5000.0, 7 * 3600, 17 * 3600, 6000.0, 900_000.0, 1, "CDD"),
        Truck("B1", "W02", 5000.0, 7 * 3600, 17 * 3600, 6000.0, 900_000.0, 3, "CDD"),
        Truck("B2", "W02", 5000.0, 7 * 3600, 17 * 3600, 6000.0, 900_000.0, 3, "CDD"),
    )
    points = []
    for i in range(20):
        base = DRAMAGA if i < 10 else (106.85, -6.48)
        lon, lat = base[0] + 0.01 * (i % 5 - 2), base[1] + 0.01 * (i % 3 - 1)
        points.append(DropPoint(f"P{i:02d}", f"RW {i}", lon, lat, 50))
    tranches = (
        Tranche("T-SEP", "September", 30.0, date(2020, 9, 1), date(2020, 9, 30)),
        Tranche("T-OKT", "Oktober", 15.0, date(2020, 10, 1), date(2020, 10, 1)),
    )
    return make_tiny_scenario(
        warehouses=(w01, w02),
        trucks=trucks,
        drop_points=tuple(points),
        tranches=tranches,
        solver=FAST,
    )


def test_stock_of_trips_without_a_truck_is_offered_again() -> None:
    scenario = _two_warehouse_shortage()
    data = assert_feasible_and_conserved(scenario)  # the checker's stock_reason rule included
    shipped: dict[str, float] = defaultdict(float)
    for route in data["routes"]:
        shipped[route["warehouse"]] += route["load_kg"]
    # Before, W01 kept 3,750 kg promised to October trips that found no truck, while W02's
    # points were told "no stock".
    assert shipped["W01"] == pytest.approx(22_500.0)
    assert data["solver"]["stock_rounds"] >= 2
    codes = {u["reason_code"] for u in data["unassigned"]}
    assert codes == {"stock", "fleet_time"}
    for entry in data["unassigned"]:
        facts = entry["reason_facts"]
        if entry["reason_code"] == "stock":
            assert set(facts["warehouses"]) == {"W01", "W02"}
            assert all(kg < facts["ration_kg"] for kg in facts["leftover_kg"])
            assert "W01 0 kg" in entry["reason"]
        else:
            assert entry["reason"].startswith("Not enough fleet before the deadline")


def test_families_are_served_whole_under_short_stock() -> None:
    # 39 families x 30 kg = 1,170 kg, but only 1,000 kg in stock: 33 families get rice, 6 wait.
    point = DropPoint("P39", "RW 39", 106.75, -6.56, 39)
    scenario = make_tiny_scenario(
        warehouses=(Warehouse("W1", "Gudang kecil", DRAMAGA[0], DRAMAGA[1], 1000.0),),
        drop_points=(point,),
        tranches=(Tranche("T-SEP", "September", 30.0, date(2020, 9, 1), date(2020, 9, 30)),),
    )
    data = assert_feasible_and_conserved(scenario)
    delivered = sum(s["kg"] for r in data["routes"] for s in r["stops"])
    assert delivered == 990
    [entry] = data["unassigned"]
    assert (entry["kg"], entry["reason_code"]) == (180, "stock")


def test_truckloads_carry_whole_rations() -> None:
    # 171 families x 30 kg = 5,130 kg: a 5 t truck takes 166 families (4,980 kg), not 333 sacks.
    big = DropPoint("BIG", "RW besar", 106.76, -6.56, 171)
    scenario = make_tiny_scenario(
        drop_points=(big,),
        tranches=(Tranche("T-SEP", "September", 30.0, date(2020, 9, 1), date(2020, 9, 30)),),
    )
    data = assert_feasible_and_conserved(scenario)
    kgs = [s["kg"] for r in data["routes"] for s in r["stops"]]
    assert sum(kgs) == 5130
    assert all(kg % 30 == 0 for kg in kgs)


def test_no_working_day_in_window_is_a_deadline_reason() -> None:
    tranches = (
        Tranche("SUNDAY", "Minggu saja", 15.0, date(2020, 9, 6), date(2020, 9, 6)),  # a Sunday
    )
    data = assert_feasible_and_conserved(make_tiny_scenario(tranches=tranches))
    unassigned = data["unassigned"]
    assert isinstance(unassigned, list)
    assert len(unassigned) == 4
    assert {u["reason_code"] for u in unassigned} == {"deadline"}


def test_point_too_far_for_any_shift_is_a_shift_reason() -> None:
    far = DropPoint("FAR", "Jauh", 109.0, -7.5, 10)  # about 270 km away: 9 h each way
    scenario = make_tiny_scenario(drop_points=(far,))
    data = assert_feasible_and_conserved(scenario)
    unassigned = data["unassigned"]
    assert isinstance(unassigned, list)
    assert {u["reason_code"] for u in unassigned} == {"shift"}


def test_window_closed_before_any_truck_can_arrive_is_a_time_window_reason() -> None:
    early = DropPoint("EARLY", "Pagi", 106.75, -6.56, 10, open_s=5 * 3600, close_s=6 * 3600)
    data = assert_feasible_and_conserved(make_tiny_scenario(drop_points=(early,)))
    unassigned = data["unassigned"]
    assert isinstance(unassigned, list)
    assert {u["reason_code"] for u in unassigned} == {"time_window"}


def test_a_tiny_fleet_runs_out_of_time_before_the_deadline() -> None:
    points = tuple(
        DropPoint(f"P{i}", f"RW {i}", 106.70 + 0.01 * (i % 8), -6.50 - 0.01 * (i // 8), 100)
        for i in range(40)
    )
    trucks = (Truck("T1", "W1", 2000.0, 7 * 3600, 17 * 3600, 5000.0, 750_000.0, 2, "CDE"),)
    tranches = (Tranche("T1", "Satu minggu", 30.0, date(2020, 9, 1), date(2020, 9, 3)),)
    warehouses = (Warehouse("W1", "Gudang besar", DRAMAGA[0], DRAMAGA[1], 1e6),)
    scenario = make_tiny_scenario(
        drop_points=points, trucks=trucks, tranches=tranches, warehouses=warehouses
    )
    data = assert_feasible_and_conserved(scenario)
    unassigned = data["unassigned"]
    assert isinstance(unassigned, list)
    assert unassigned
    assert {u["reason_code"] for u in unassigned} <= {"fleet_time"}


def test_max_trips_per_day_is_respected() -> None:
    trucks = (Truck("T1", "W1", 2000.0, 7 * 3600, 17 * 3600, 5000.0, 750_000.0, 1, "CDE"),)
    scenario = make_tiny_scenario(trucks=trucks)
    data = assert_feasible_and_conserved(scenario)
    routes = data["routes"]
    assert isinstance(routes, list)
    per_day: dict[tuple[str, str], int] = defaultdict(int)
    for route in routes:
        per_day[(route["truck"], route["date"])] += 1
    assert max(per_day.values()) == 1


def test_same_seed_and_solution_limit_give_identical_plans(tiny_scenario: Scenario) -> None:
    first = json.dumps(plan_to_dict(plan_scenario(tiny_scenario)))
    second = json.dumps(plan_to_dict(plan_scenario(tiny_scenario)))
    assert first == second


def test_stop_flag_still_returns_a_complete_feasible_plan(tiny_scenario: Scenario) -> None:
    stop = threading.Event()
    stop.set()
    plan = plan_scenario(tiny_scenario, stop=stop)
    assert plan.status == "interrupted"
    assert check_plan(tiny_scenario, plan_to_dict(plan)) == []
    assert plan.kpis.kg_unassigned == 0


def test_sectors_split_large_parts_and_stay_feasible() -> None:
    points = tuple(
        DropPoint(f"S{i:03d}", f"RW {i}", 106.60 + 0.02 * (i % 10), -6.45 - 0.02 * (i // 10), 40)
        for i in range(60)
    )
    scenario = make_tiny_scenario(drop_points=points)
    plan = plan_scenario(scenario, options=PlannerOptions(max_chunks_per_part=15))
    assert plan.solver.routing_parts >= 8
    assert check_plan(scenario, plan_to_dict(plan)) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_parts_left_without_time_are_constructed_and_the_plan_ends_in_time(workers: int) -> None:
    points = tuple(
        DropPoint(f"S{i:03d}", f"RW {i}", 106.60 + 0.02 * (i % 10), -6.45 - 0.02 * (i // 10), 40)
        for i in range(60)
    )
    scenario = with_overrides(make_tiny_scenario(drop_points=points), time_limit_s=0.1)
    started = time.monotonic()
    plan = plan_scenario(scenario, options=PlannerOptions(max_chunks_per_part=15, workers=workers))
    elapsed = time.monotonic() - started
    # Parts left without search time are built by construction, not one chunk per trip.
    assert plan.solver.routing_parts >= 8
    assert plan.solver.constructed_parts >= 1
    assert plan.status == "complete"
    assert check_plan(scenario, plan_to_dict(plan)) == []
    # The sample warehouse has stock for 50 of the 60 points; trucks for all of them.
    assert {u.reason_code for u in plan.unassigned} == {ReasonCode.STOCK}
    assert len(plan.routes) < len(points) / 2
    assert elapsed < 5.0  # a generous bound: construction takes milliseconds per part


def test_a_stop_during_routing_ends_the_stock_rounds(tiny_scenario: Scenario) -> None:
    stop = threading.Event()

    def progress(_fraction: float, message: str) -> None:
        if message.startswith("routing"):
            stop.set()

    plan = plan_scenario(tiny_scenario, stop=stop, progress=progress)
    assert plan.status == "interrupted"
    assert plan.solver.stock_rounds == 1
    assert check_plan(tiny_scenario, plan_to_dict(plan)) == []


def test_unknown_strategy_is_a_value_error(tiny_scenario: Scenario) -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        plan_scenario(with_overrides(tiny_scenario, strategy="nonsense"))


# --- property tests ---------------------------------------------------------------------------

SEPT_1 = date(2020, 9, 1)


@st.composite
def small_scenarios(draw: st.DrawFn) -> Scenario:
    n_wh = draw(st.integers(1, 2))
    warehouses = tuple(
        Warehouse(
            f"W{i}",
            f"Gudang {i}",
            draw(st.floats(106.5, 107.0)),
            draw(st.floats(-6.8, -6.3)),
            float(draw(st.sampled_from([0, 1500, 6000, 60_000, 1_000_000]))),
        )
        for i in range(n_wh)
    )
    trucks = []
    for i in range(draw(st.integers(0, 4))):
        start_h = draw(st.integers(5, 9))
        trucks.append(
            Truck(
                f"T{i}",
                f"W{draw(st.integers(0, n_wh - 1))}",
                float(draw(st.sampled_from([15, 600, 2000, 5000]))),
                start_h * 3600,
                (start_h + draw(st.integers(2, 11))) * 3600,
                draw(st.floats(0, 8000)),
                draw(st.floats(0, 1e6)),
                draw(st.one_of(st.none(), st.integers(1, 4))),
                "",
            )
        )
    points = []
    for i in range(draw(st.integers(1, 8))):
        windowed = draw(st.booleans())
        open_h = draw(st.integers(6, 14))
        points.append(
            DropPoint(
                f"{i:03d}",
                f"RW {i}",
                draw(st.floats(106.4, 107.1)),
                draw(st.floats(-6.85, -6.25)),
                draw(st.integers(0, 200)),
                open_s=open_h * 3600 if windowed else None,
                close_s=(open_h + draw(st.integers(0, 4))) * 3600 if windowed else None,
                service_min=draw(st.one_of(st.none(), st.floats(0, 60))),
            )
        )
    tranches = []
    for i in range(draw(st.integers(1, 2))):
        release = SEPT_1 + timedelta(days=draw(st.integers(0, 20)))
        tranches.append(
            Tranche(
                f"TR{i}",
                f"Tahap {i}",
                float(draw(st.sampled_from([15, 30, 45]))),
                release,
                release + timedelta(days=draw(st.integers(0, 10))),
            )
        )
    holidays = frozenset(SEPT_1 + timedelta(days=d) for d in draw(st.sets(st.integers(0, 30))))
    return Scenario(
        name="random",
        start_date=SEPT_1 + timedelta(days=draw(st.integers(0, 5))),
        warehouses=warehouses,
        trucks=tuple(trucks),
        drop_points=tuple(points),
        tranches=tuple(tranches),
        calendar=Calendar(holidays=holidays),
        solver=SolverSettings(time_limit_s=5.0, seed=draw(st.integers(0, 3)), solution_limit=5),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios())
@example(make_tiny_scenario())
@example(make_tiny_scenario(trucks=()))  # no fleet at all: everything unassigned, exit 0
def test_every_plan_passes_the_checker_and_conserves_every_kg(scenario: Scenario) -> None:
    assert_feasible_and_conserved(scenario)


def test_reason_codes_are_the_documented_ones() -> None:
    assert {c.value for c in ReasonCode} == {
        "stock",
        "deadline",
        "capacity",
        "shift",
        "time_window",
        "fleet_time",
        "solver",
        "no_road",
        "closed",
    }


def test_a_truck_too_small_for_one_sack_is_never_used() -> None:
    tiny = make_tiny_scenario()
    trucks = (*tiny.trucks, Truck("MINI", "W1", 10.0, 7 * 3600, 17 * 3600, 1.0, 1.0, None, ""))
    data = assert_feasible_and_conserved(replace(tiny, trucks=trucks))
    routes = data["routes"]
    assert isinstance(routes, list)
    assert all(r["truck"] != "MINI" for r in routes)
    assert data["unassigned"] == []


def test_only_too_small_trucks_gives_capacity_reasons() -> None:
    trucks = (Truck("MINI", "W1", 10.0, 7 * 3600, 17 * 3600, 1.0, 1.0, None, ""),)
    data = assert_feasible_and_conserved(make_tiny_scenario(trucks=trucks))
    unassigned = data["unassigned"]
    assert isinstance(unassigned, list)
    assert {u["reason_code"] for u in unassigned} == {"capacity"}


@st.composite
def shortage_scenarios(
    draw: st.DrawFn, warehouses: tuple[int, int] = (2, 3), trucks: tuple[int, int] = (0, 2)
) -> Scenario:
    """Two or three warehouses close together, short of stock and of fleet at the same time."""
    n_wh = draw(st.integers(*warehouses))
    tranches = (
        Tranche(
            "T-SEP", "September", 30.0, SEPT_1, SEPT_1 + timedelta(days=draw(st.integers(0, 6)))
        ),
        Tranche(
            "T-OKT",
            "Oktober",
            15.0,
            date(2020, 10, 1),
            date(2020, 10, 1) + timedelta(days=draw(st.integers(0, 3))),
        ),
    )
    points = tuple(
        DropPoint(
            f"P{i}",
            f"RW {i}",
            draw(st.floats(106.6, 106.9)),
            draw(st.floats(-6.65, -6.45)),
            draw(st.integers(1, 90)),
            open_s=8 * 3600 if i % 4 == 0 else None,
            close_s=12 * 3600 if i % 4 == 0 else None,
        )
        for i in range(draw(st.integers(3, 14)))
    )
    demand_kg = sum(p.kpm for p in points) * 45.0
    warehouses = tuple(
        Warehouse(
            f"W{i}",
            f"Gudang {i}",
            draw(st.floats(106.65, 106.85)),
            draw(st.floats(-6.6, -6.5)),
            # Stock not a multiple of a ration on purpose: 7 kg here and there must be left over.
            float(int(demand_kg * draw(st.floats(0.05, 0.8))) + draw(st.integers(0, 40))),
        )
        for i in range(n_wh)
    )
    trucks = tuple(
        Truck(
            f"T{w}-{k}",
            f"W{w}",
            float(draw(st.sampled_from([2000, 5000]))),
            7 * 3600,
            draw(st.integers(10, 17)) * 3600,
            5000.0,
            800_000.0,
            draw(st.integers(1, 2)),
            "",
        )
        for w in range(n_wh)
        for k in range(draw(st.integers(*trucks)))
    )
    return make_tiny_scenario(
        warehouses=warehouses,
        trucks=trucks,
        drop_points=points,
        tranches=tranches,
        solver=SolverSettings(time_limit_s=5.0, seed=draw(st.integers(0, 3)), solution_limit=5),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shortage_scenarios())
def test_under_shortage_families_are_whole_and_stock_reasons_are_true(scenario: Scenario) -> None:
    data = assert_feasible_and_conserved(scenario)  # includes the ration and stock_reason rules
    rations = {t.id: t.kg_per_kpm for t in scenario.tranches}
    for route in data["routes"]:
        for stop in route["stops"]:
            assert stop["kg"] % rations[stop["tranche"]] == 0
    for entry in data["unassigned"]:
        assert entry["kg"] % rations[entry["tranche"]] == 0
        if entry["reason_code"] == "stock":
            facts = entry["reason_facts"]
            assert facts["warehouses"], entry
            assert all(kg < rations[entry["tranche"]] for kg in facts["leftover_kg"])
            for warehouse, kg in zip(facts["warehouses"], facts["leftover_kg"], strict=True):
                assert f"{warehouse} {kg:,.0f} kg" in entry["reason"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shortage_scenarios(warehouses=(3, 5), trucks=(1, 2)))
def test_points_that_keep_only_their_nearest_warehouse_still_get_every_ration(
    scenario: Scenario,
) -> None:
    # Two kept warehouses of three: short points must reach the third, and a stock reason must
    # still name every warehouse in reach (the checker's stock_reason rule).
    assert_feasible_and_conserved(scenario, PlannerOptions(nearest_warehouses=2))


def _one_sack_problem(
    scenario: Scenario, warehouse: Warehouse, point: DropPoint, truck: Truck
) -> ReasonCode | None:
    """The screening rule, one pair and one truck at a time (the planner does it in arrays)."""
    travel = scenario.travel
    sack_kg = scenario.sack_kg
    if truck.capacity_kg < max(t.kg_per_kpm for t in scenario.tranches):
        return ReasonCode.CAPACITY
    seconds = travel.travel_s(travel.road_km(warehouse.lon, warehouse.lat, point.lon, point.lat))
    service = scenario.service.service_s(point, sack_kg)
    earliest = truck.shift_start_s + scenario.service.loading_s
    open_s = 0 if point.open_s is None else point.open_s
    close_s = 24 * 3600 if point.close_s is None else point.close_s
    if earliest + 2 * seconds + service > truck.shift_end_s:
        return ReasonCode.SHIFT
    arrive = max(earliest + seconds, open_s)
    if arrive > close_s or arrive + service + seconds > truck.shift_end_s:
        return ReasonCode.TIME_WINDOW
    return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.integers(2, 4))
def test_screening_in_arrays_matches_the_rule_pair_by_pair(scenario: Scenario, keep: int) -> None:
    ctx = planner._build_context(scenario, PlannerOptions(nearest_warehouses=keep))
    screened = planner._Reach(ctx).rows(np.arange(len(scenario.drop_points)), keep)
    for p, point in enumerate(scenario.drop_points):
        codes = {}
        for w, warehouse in enumerate(scenario.warehouses):
            trucks = [t for t in scenario.trucks if t.warehouse_id == warehouse.id]
            per_truck = [_one_sack_problem(scenario, warehouse, point, t) for t in trucks]
            codes[w] = per_truck if trucks else [ReasonCode.CAPACITY]
        reachable = [w for w, c in codes.items() if None in c]
        km = {
            w: scenario.travel.road_km(wh.lon, wh.lat, point.lon, point.lat)
            for w, wh in enumerate(scenario.warehouses)
        }
        reachable.sort(key=lambda w: (km[w], w))
        assert screened.warehouses[p] == reachable[:keep]
        assert screened.n_reachable[p] == len(reachable)
        if not reachable:
            found = {c for cs in codes.values() for c in cs}
            expected = next(
                c
                for c in (ReasonCode.TIME_WINDOW, ReasonCode.SHIFT, ReasonCode.CAPACITY)
                if c in found or c is ReasonCode.CAPACITY
            )
            assert screened.binding[p] is expected
