"""The planner's residual hooks (optimizer/residual.py, ``plan_scenario(residual=...)``).

Each hook on the tiny scenario, then random residuals: every trip must respect them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents.pipeline import with_overrides
from geodata.sample import write_sample
from geodata.scenario_io import read_scenario
from optimizer.checker import check_plan
from optimizer.model import Scenario
from optimizer.planner import plan_scenario
from optimizer.residual import ExtraDelivery, Residual
from optimizer.solution import Plan, ReasonCode, plan_from_dict, plan_to_dict
from tests.conftest import make_tiny_scenario

SEP = "T-SEP"
OKT = "T-OKT"
LOADING_S = 30 * 60

# Rules a residual plan may break on purpose: it plans only part of the demand (conservation,
# KPIs against the whole scenario), replacement sacks are not rations and may come after the
# tranche's deadline, replacements are listed apart, stock reasons name the residual's stock,
# and trips on busy truck-days are numbered after the kept ones.
RESIDUAL_RULES = {
    "conservation",
    "kpis",
    "ration",
    "tranche_window",
    "duplicate_unassigned",
    "stock_reason",
    "trip_numbering",
}


def _residual(scenario: Scenario, **changes: object) -> Residual:
    """A residual that asks for the whole scenario: every family, all stock, no constraint."""
    base = Residual(
        start_date=scenario.start_date,
        families={(p.id, t.id): p.kpm for p in scenario.drop_points for t in scenario.tranches},
        stock_kg={w.id: w.stock_kg for w in scenario.warehouses},
        truck_off={},
        closed={},
        busy={},
        announced={},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _plan(scenario: Scenario, residual: Residual | None) -> Plan:
    return plan_scenario(scenario, residual=residual)


def _delivered_kg(plan: Plan, kind: str = "delivery") -> dict[tuple[str, str], float]:
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for route in plan.routes:
        for stop in route.stops:
            if stop.kind == kind:
                totals[(stop.drop_point, stop.tranche)] += stop.kg
    return dict(totals)


def assert_respects(scenario: Scenario, residual: Residual, plan: Plan) -> None:
    """Every trip of ``plan`` obeys every field of ``residual``."""
    violations = check_plan(scenario, plan_to_dict(plan))
    assert {str(v.rule) for v in violations} <= RESIDUAL_RULES, violations
    loading_s = scenario.service.loading_s
    by_truck_day: dict[tuple[str, date], list[int]] = defaultdict(list)
    loaded: dict[str, float] = defaultdict(float)
    for route in plan.routes:
        assert route.status == "planned"
        assert route.date >= residual.start_date
        assert route.date not in residual.truck_off.get(route.truck, frozenset())
        by_truck_day[(route.truck, route.date)].append(route.trip)
        loaded[route.warehouse] += route.load_kg
        kept = residual.busy.get((route.truck, route.date))
        if kept is not None:
            free_s, used = kept
            depart_s = route.depart.hour * 3600 + route.depart.minute * 60 + route.depart.second
            assert depart_s >= free_s + loading_s
            assert route.trip > used
        on_board = route.load_kg
        for stop in route.stops:
            assert route.date not in residual.closed.get(stop.drop_point, frozenset())
            assert stop.kind in ("delivery", "replacement")
            assert 0 <= stop.pickup_kg <= stop.kg + 1e-9
            if stop.kind == "delivery":
                assert stop.pickup_kg == 0
            on_board += stop.pickup_kg - stop.kg
            assert on_board <= route.load_kg + 1e-9
    for (truck_id, day), trips in by_truck_day.items():
        used = residual.busy.get((truck_id, day), (0, 0))[1]
        assert sorted(trips) == list(range(used + 1, used + len(trips) + 1))
        limit = scenario.truck(truck_id).max_trips_per_day
        if limit is not None:
            assert used + len(trips) <= limit
    for warehouse, kg in loaded.items():
        assert kg <= residual.stock_kg.get(warehouse, 0.0) + 1e-6
    # Rations: delivered + unassigned = residual families' rice, whole rations.
    delivered = _delivered_kg(plan)
    unassigned = {(u.drop_point, u.tranche): u.kg for u in plan.unassigned if u.kind == "delivery"}
    for point in scenario.drop_points:
        for tranche in scenario.tranches:
            key = (point.id, tranche.id)
            owed = residual.families.get(key, 0) * tranche.kg_per_kpm
            got = delivered.get(key, 0.0) + unassigned.get(key, 0.0)
            assert math.isclose(got, owed, abs_tol=1e-6), (key, got, owed)
            ratio = delivered.get(key, 0.0) / tranche.kg_per_kpm
            assert abs(ratio - round(ratio)) < 1e-9
    # Replacements: delivered by their due day or unassigned, whole sacks, pickups in full.
    owed_sacks: dict[tuple[str, str], int] = defaultdict(int)
    pickup: dict[tuple[str, str], float] = defaultdict(float)
    for extra in residual.extra:
        owed_sacks[(extra.drop_point, extra.tranche)] += extra.sacks
    last_due = {
        (e.drop_point, e.tranche): max(
            x.due for x in residual.extra if (x.drop_point, x.tranche) == (e.drop_point, e.tranche)
        )
        for e in residual.extra
    }
    got_sacks: dict[tuple[str, str], int] = defaultdict(int)
    for route in plan.routes:
        for stop in route.stops:
            if stop.kind == "replacement":
                key = (stop.drop_point, stop.tranche)
                assert route.date <= last_due[key]
                got_sacks[key] += stop.sacks
                pickup[key] += stop.pickup_kg
    for u in plan.unassigned:
        if u.kind == "replacement":
            got_sacks[(u.drop_point, u.tranche)] += u.sacks
            assert u.reason_code in (
                ReasonCode.DEADLINE,
                ReasonCode.FLEET_TIME,
                ReasonCode.STOCK,
                ReasonCode.CLOSED,
            )
    assert dict(got_sacks) == dict(owed_sacks)


# --- residual=None and the equivalent residual ------------------------------------------------


def test_a_residual_of_the_whole_scenario_plans_what_no_residual_plans() -> None:
    scenario = make_tiny_scenario()
    whole = _plan(scenario, None)
    assert plan_to_dict(_plan(scenario, _residual(scenario))) == plan_to_dict(whole)


def test_new_plan_fields_default_and_survive_plan_json() -> None:
    plan = _plan(make_tiny_scenario(), None)
    data = plan_to_dict(plan)
    assert "replan" not in data
    assert all(r["status"] == "planned" for r in data["routes"])
    assert all(
        s["kind"] == "delivery" and s["pickup_kg"] == 0 for r in data["routes"] for s in r["stops"]
    )
    again = replace(plan, replan={"as_of": "2020-09-02", "freeze_days": 1, "cancelled": []})
    read = plan_from_dict(plan_to_dict(again))
    assert read.replan == again.replan
    assert plan_to_dict(read) == plan_to_dict(again)


# --- each hook ----------------------------------------------------------------------------------


def test_residual_families_are_what_is_planned_and_absent_pairs_are_not() -> None:
    scenario = make_tiny_scenario()
    residual = _residual(scenario, families={("P3", SEP): 7, ("P2", OKT): 40, ("P4", SEP): 0})
    plan = _plan(scenario, residual)
    assert _delivered_kg(plan) == {("P3", SEP): 7 * 30.0, ("P2", OKT): 40 * 15.0}
    assert not plan.unassigned
    assert_respects(scenario, residual, plan)


def test_no_trip_before_the_start_date() -> None:
    scenario = make_tiny_scenario()
    start = date(2020, 9, 10)
    residual = _residual(scenario, start_date=start)
    plan = _plan(scenario, residual)
    assert plan.routes
    assert min(r.date for r in plan.routes) == start
    assert_respects(scenario, residual, plan)


def test_a_start_after_the_deadline_leaves_the_tranche_unassigned_for_deadline() -> None:
    scenario = make_tiny_scenario()
    residual = _residual(scenario, start_date=date(2020, 10, 1))
    plan = _plan(scenario, residual)
    sep = [u for u in plan.unassigned if u.tranche == SEP]
    assert {u.drop_point for u in sep} == {p.id for p in scenario.drop_points}
    assert {u.reason_code for u in sep} == {ReasonCode.DEADLINE}
    assert all(u.facts.start_date == date(2020, 10, 1) for u in sep)


def test_a_truck_off_takes_no_trip_that_day() -> None:
    scenario = make_tiny_scenario()
    whole = _plan(scenario, None)
    used = {(r.truck, r.date) for r in whole.routes}
    off: dict[str, set[date]] = defaultdict(set)
    for truck, day in used:
        off[truck].add(day)
    residual = _residual(scenario, truck_off={t: frozenset(d) for t, d in off.items()})
    plan = _plan(scenario, residual)
    assert plan.routes
    assert not {(r.truck, r.date) for r in plan.routes} & used
    assert_respects(scenario, residual, plan)


def test_every_truck_off_every_day_leaves_all_for_fleet_time() -> None:
    scenario = make_tiny_scenario()
    days = frozenset(date(2020, 9, 1) + timedelta(days=k) for k in range(70))
    residual = _residual(scenario, truck_off={t.id: days for t in scenario.trucks})
    plan = _plan(scenario, residual)
    assert not plan.routes
    assert {u.reason_code for u in plan.unassigned} == {ReasonCode.FLEET_TIME}


def test_a_closed_point_gets_no_stop_on_its_closed_days() -> None:
    scenario = make_tiny_scenario()
    first_week = frozenset(date(2020, 9, 1) + timedelta(days=k) for k in range(7))
    residual = _residual(scenario, closed={"P3": first_week})
    plan = _plan(scenario, residual)
    p3_days = {r.date for r in plan.routes for s in r.stops if s.drop_point == "P3"}
    assert p3_days and not p3_days & first_week
    # The others are still served from the first day.
    assert min(r.date for r in plan.routes) == date(2020, 9, 1)
    assert_respects(scenario, residual, plan)


def test_a_busy_truck_day_takes_new_trips_after_its_kept_return_numbered_after() -> None:
    scenario = make_tiny_scenario()
    day = date(2020, 9, 1)
    # T2 (max 3 trips a day) is back from two kept trips at 10:00; T1 is off that day.
    residual = _residual(
        scenario,
        start_date=day,
        busy={("T2", day): (10 * 3600, 2)},
        truck_off={"T1": frozenset({day})},
    )
    plan = _plan(scenario, residual)
    first_day = [r for r in plan.routes if r.date == day]
    assert first_day, "T2 still has room for one trip on its busy day"
    assert [r.trip for r in first_day] == [3]
    assert first_day[0].depart.hour * 3600 + first_day[0].depart.minute * 60 >= 10.5 * 3600
    assert_respects(scenario, residual, plan)


def test_a_busy_truck_day_at_its_trip_limit_takes_no_new_trip() -> None:
    scenario = make_tiny_scenario()
    day = date(2020, 9, 1)
    residual = _residual(
        scenario,
        busy={("T2", day): (9 * 3600, 3)},
        truck_off={"T1": frozenset({day})},
    )
    plan = _plan(scenario, residual)
    assert all(r.date != day for r in plan.routes)
    assert_respects(scenario, residual, plan)


def test_stock_per_warehouse_comes_from_the_residual() -> None:
    scenario = make_tiny_scenario()
    residual = _residual(scenario, stock_kg={"W1": 3000.0})
    plan = _plan(scenario, residual)
    assert sum(r.load_kg for r in plan.routes) <= 3000.0
    stock = [u for u in plan.unassigned if u.reason_code is ReasonCode.STOCK]
    assert stock and all(u.facts.leftover_kg is not None for u in stock)
    assert all(sum(u.facts.leftover_kg or ()) < 30.0 for u in stock)
    assert_respects(scenario, residual, plan)


def test_a_warehouse_absent_from_the_residual_stock_ships_nothing() -> None:
    scenario = make_tiny_scenario()
    plan = _plan(scenario, _residual(scenario, stock_kg={}))
    assert not plan.routes
    assert {u.reason_code for u in plan.unassigned} == {ReasonCode.STOCK}


def test_a_replacement_is_its_own_stop_due_by_its_day_with_its_pickup() -> None:
    scenario = make_tiny_scenario()
    due = date(2020, 9, 4)
    extra = ExtraDelivery("P2", SEP, sacks=3, due=due, pickup_kg=40.0)
    residual = _residual(scenario, start_date=date(2020, 9, 2), extra=(extra,))
    plan = _plan(scenario, residual)
    replacements = [(r, s) for r in plan.routes for s in r.stops if s.kind == "replacement"]
    assert len(replacements) == 1
    route, stop = replacements[0]
    assert (stop.drop_point, stop.tranche, stop.sacks, stop.kg) == ("P2", SEP, 3, 45.0)
    assert stop.pickup_kg == 40.0
    assert date(2020, 9, 2) <= route.date <= due
    # The rations of P2 are still planned in full, apart from the replacement.
    assert _delivered_kg(plan)[("P2", SEP)] == 40 * 30.0
    assert_respects(scenario, residual, plan)
    # And the fields survive plan.json.
    read = plan_from_dict(plan_to_dict(plan))
    assert [s for r in read.routes for s in r.stops if s.kind == "replacement"] == [stop]


def test_a_replacement_due_before_the_start_is_unassigned_for_deadline() -> None:
    scenario = make_tiny_scenario()
    extra = ExtraDelivery("P4", SEP, sacks=2, due=date(2020, 9, 3), pickup_kg=30.0)
    residual = _residual(scenario, start_date=date(2020, 9, 7), extra=(extra,))
    plan = _plan(scenario, residual)
    late = [u for u in plan.unassigned if u.kind == "replacement"]
    assert len(late) == 1
    assert (late[0].drop_point, late[0].sacks, late[0].reason_code) == (
        "P4",
        2,
        ReasonCode.DEADLINE,
    )
    assert late[0].facts.deadline == date(2020, 9, 3)
    assert plan_to_dict(plan)["unassigned"][-1]["kind"] == "replacement"
    assert plan_from_dict(plan_to_dict(plan)).unassigned == plan.unassigned
    assert_respects(scenario, residual, plan)


def test_a_replacement_whose_days_are_all_closed_is_unassigned_with_a_reason() -> None:
    scenario = make_tiny_scenario()
    start, due = date(2020, 9, 2), date(2020, 9, 4)
    extra = ExtraDelivery("P4", SEP, sacks=2, due=due, pickup_kg=30.0)
    closed = frozenset(start + timedelta(days=k) for k in range(3))
    residual = _residual(scenario, start_date=start, extra=(extra,), closed={"P4": closed})
    plan = _plan(scenario, residual)
    late = [u for u in plan.unassigned if u.kind == "replacement"]
    assert [(u.drop_point, u.sacks) for u in late] == [("P4", 2)]
    assert late[0].reason_code is ReasonCode.CLOSED
    assert_respects(scenario, residual, plan)


def _day_of(plan: Plan, point: str, tranche: str) -> set[date]:
    return {
        r.date
        for r in plan.routes
        for s in r.stops
        if (s.drop_point, s.tranche, s.kind) == (point, tranche, "delivery")
    }


def test_the_move_cost_keeps_an_announced_day() -> None:
    scenario = make_tiny_scenario()
    announced = date(2020, 10, 7)
    families = {("P3", OKT): 120}
    free = _residual(scenario, families=families, announced={("P3", OKT): announced})
    # Without a move cost, waiting costs: the first day of the tranche.
    assert _day_of(_plan(scenario, free), "P3", OKT) == {date(2020, 10, 1)}
    kept = replace(free, move_cost_per_kpm_day=1000.0)
    plan = _plan(scenario, kept)
    assert _day_of(plan, "P3", OKT) == {announced}
    assert_respects(scenario, kept, plan)


def test_the_move_cost_moves_an_announced_day_as_little_as_it_can() -> None:
    scenario = make_tiny_scenario()
    announced = date(2020, 10, 7)  # a Wednesday
    residual = _residual(
        scenario,
        families={("P3", OKT): 120},
        announced={("P3", OKT): announced},
        move_cost_per_kpm_day=1000.0,
        truck_off={t.id: frozenset({announced}) for t in scenario.trucks},
    )
    plan = _plan(scenario, residual)
    # One working day away; the earlier one also waits less.
    assert _day_of(plan, "P3", OKT) == {date(2020, 10, 6)}
    assert_respects(scenario, residual, plan)


# --- random residuals ---------------------------------------------------------------------------

TINY = make_tiny_scenario()
DAYS = [date(2020, 9, 1) + timedelta(days=k) for k in range(45)]
POINTS = [p.id for p in TINY.drop_points]
TRUCKS = [t.id for t in TINY.trucks]


@st.composite
def residuals(draw: st.DrawFn) -> Residual:
    start = draw(st.sampled_from(DAYS[:20]))
    families = {
        (p.id, t.id): draw(st.integers(0, p.kpm))
        for p in TINY.drop_points
        for t in TINY.tranches
        if draw(st.booleans())
    }
    day_sets = st.frozensets(st.sampled_from(DAYS), max_size=8)
    truck_off = draw(st.dictionaries(st.sampled_from(TRUCKS), day_sets, max_size=2))
    closed = draw(st.dictionaries(st.sampled_from(POINTS), day_sets, max_size=3))
    busy = draw(
        st.dictionaries(
            st.tuples(st.sampled_from(TRUCKS), st.sampled_from(DAYS[:25])),
            st.tuples(st.integers(7 * 3600, 17 * 3600), st.integers(1, 3)),
            max_size=6,
        )
    )
    announced = draw(
        st.dictionaries(
            st.tuples(st.sampled_from(POINTS), st.sampled_from([t.id for t in TINY.tranches])),
            st.sampled_from(DAYS),
            max_size=6,
        )
    )
    extra = tuple(
        draw(
            st.lists(
                st.builds(
                    lambda point, tranche, sacks, due, share: ExtraDelivery(
                        point, tranche, sacks, due, round(sacks * TINY.sack_kg * share, 3)
                    ),
                    st.sampled_from(POINTS),
                    st.sampled_from([t.id for t in TINY.tranches]),
                    st.integers(1, 12),
                    st.sampled_from(DAYS),
                    st.floats(0.0, 1.0),
                ),
                max_size=3,
            )
        )
    )
    return Residual(
        start_date=start,
        families=families,
        stock_kg={"W1": draw(st.sampled_from([0.0, 2000.0, 9000.0, 100_000.0]))},
        truck_off=truck_off,
        closed=closed,
        busy=busy,
        announced=announced,
        move_cost_per_kpm_day=draw(st.sampled_from([0.0, 1000.0])),
        extra=extra,
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(residual=residuals())
def test_every_trip_respects_a_random_residual(residual: Residual) -> None:
    assert_respects(TINY, residual, _plan(TINY, residual))


def test_a_residual_naming_ids_the_scenario_lacks_is_refused() -> None:
    scenario = make_tiny_scenario()
    residual = _residual(
        scenario,
        families={("NOPE", SEP): 3},
        truck_off={"T9": frozenset()},
        extra=(ExtraDelivery("P2", "T-XXX", 1, date(2020, 9, 3), 0.0),),
    )
    with pytest.raises(ValueError, match=r"NOPE.*T-XXX.*truck T9"):
        plan_scenario(scenario, residual=residual)


# --- a sample campaign: the day after ------------------------------------------------------------


def test_the_day_after_on_a_sample_keeps_most_announced_days(tmp_path: Path) -> None:
    """Plan a sample, then plan what is left after its first day with one truck broken for
    two days: every trip respects the residual and most announced deliveries keep their day."""
    write_sample(tmp_path / "s", n_drop_points=80, seed=4)
    scenario = with_overrides(
        read_scenario(tmp_path / "s"), seed=3, solution_limit=30, time_limit_s=900.0
    )
    first = _plan(scenario, None)
    today = min(r.date for r in first.routes if r.date > scenario.start_date)
    families = {(p.id, t.id): p.kpm for p in scenario.drop_points for t in scenario.tranches}
    stock = {w.id: w.stock_kg for w in scenario.warehouses}
    announced: dict[tuple[str, str], date] = {}
    for route in first.routes:
        for stop in route.stops:
            if route.date < today:
                families[(stop.drop_point, stop.tranche)] -= round(
                    stop.kg / scenario.tranche(stop.tranche).kg_per_kpm
                )
            else:
                announced[(stop.drop_point, stop.tranche)] = route.date
        if route.date < today:
            stock[route.warehouse] -= route.load_kg
    broken = scenario.trucks[0].id
    later = sorted({r.date for r in first.routes if r.date >= today})[:2]
    busy_truck = scenario.trucks[-1]
    residual = Residual(
        start_date=today,
        families=families,
        stock_kg=stock,
        truck_off={broken: frozenset(later)},
        closed={scenario.drop_points[0].id: frozenset(later[:1])},
        busy={(busy_truck.id, today): (12 * 3600, 1)},
        announced=announced,
        move_cost_per_kpm_day=1000.0,
        extra=(
            ExtraDelivery(scenario.drop_points[1].id, scenario.tranches[0].id, 2, later[-1], 25.0),
        ),
    )
    plan = _plan(scenario, residual)
    assert_respects(scenario, residual, plan)
    days = {
        (s.drop_point, s.tranche): r.date
        for r in plan.routes
        for s in r.stops
        if s.kind == "delivery"
    }
    kept = sum(1 for key, day in announced.items() if days.get(key) == day)
    assert kept >= 0.75 * len(announced), (kept, len(announced))


def test_a_point_closed_to_the_deadline_is_closed_and_does_not_hold_back_its_neighbours() -> None:
    from geodata.sample import make_sample
    from optimizer.model import SolverSettings

    scenario = replace(
        make_sample(n_drop_points=150, seed=3),
        solver=SolverSettings(time_limit_s=5, seed=1, solution_limit=50),
    )
    shut, others = "07.2001.05", ["07.2001.02", "07.2001.06", "07.2002.03"]
    kpm = {p.id: p.kpm for p in scenario.drop_points}
    residual = Residual(
        start_date=date(2020, 9, 3),
        families={(p, "2020-09"): kpm[p] for p in [shut, *others]},
        stock_kg={w.id: w.stock_kg for w in scenario.warehouses},
        truck_off={},
        closed={shut: frozenset(date(2020, 9, 2) + timedelta(days=d) for d in range(31))},
        busy={},
        announced={},
    )
    plan = plan_scenario(scenario, residual=residual)
    assert [(u.drop_point, u.reason_code) for u in plan.unassigned] == [(shut, ReasonCode.CLOSED)]
    served = sorted(s.drop_point for r in plan.routes for s in r.stops)
    assert served == sorted(others)
    assert "closed on every working day" in plan.unassigned[0].reason
