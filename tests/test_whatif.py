"""optimizer.whatif: fleets resized, tables over a setting, fewest trucks to finish by a date."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from geodata.sample import write_sample
from geodata.scenario_io import validate_scenario
from optimizer.checker import check_plan
from optimizer.model import Scenario, Truck
from optimizer.planner import plan_scenario
from optimizer.solution import Plan, compute_kpis, plan_to_dict
from optimizer.whatif import (
    ALL_WAREHOUSES,
    FIXABLE_REASONS,
    added_truck_id,
    clip_deadlines,
    finish_by,
    fleet_scale_table,
    plan_outcomes,
    prototype_truck,
    resize_fleet,
    scaled_counts,
    tranches_for,
    trucks_by_warehouse,
    wait_cost_table,
)
from tests.conftest import make_tiny_plan, make_tiny_scenario

SEP = "T-SEP"


def _with_fleet(scenario: Scenario, trucks: list[Truck]) -> Scenario:
    return replace(scenario, trucks=tuple(trucks))


# --- fleets -----------------------------------------------------------------------------------


def test_trucks_are_added_as_copies_of_the_most_common_type_and_removed_last_by_id() -> None:
    scenario = make_tiny_scenario()
    base = scenario.trucks[0]
    fleet = [
        replace(base, id="A", type="CDE", capacity_kg=2000.0),
        replace(base, id="B", type="CDD", capacity_kg=5000.0),
        replace(base, id="C", type="CDE", capacity_kg=2000.0),
    ]
    scenario = _with_fleet(scenario, fleet)
    assert prototype_truck(scenario, "W1") == fleet[0]  # CDE: two of three
    grown = resize_fleet(scenario, {"W1": 5})
    assert [t.id for t in grown.trucks] == ["A", "B", "C", "W1-TAMBAH-1", "W1-TAMBAH-2"]
    assert {t.type for t in grown.trucks[3:]} == {"CDE"}
    assert all(t.warehouse_id == "W1" for t in grown.trucks)
    assert [t.id for t in resize_fleet(scenario, {"W1": 1}).trucks] == ["A"]
    typed = resize_fleet(scenario, {"W1": 4}, truck_type="CDD")
    assert typed.trucks[-1] == replace(fleet[1], id="W1-TAMBAH-1")


def test_a_tie_between_types_goes_to_the_larger_payload() -> None:
    scenario = make_tiny_scenario()  # one CDE of 2 t, one CDD of 5 t
    model = prototype_truck(scenario, "W1")
    assert model is not None and model.type == "CDD"


def test_added_ids_skip_ids_already_taken() -> None:
    scenario = make_tiny_scenario()
    taken = replace(scenario.trucks[0], id=added_truck_id("W1", 1))
    scenario = _with_fleet(scenario, [*scenario.trucks, taken])
    grown = resize_fleet(scenario, {"W1": 4})
    assert sorted(t.id for t in grown.trucks if "TAMBAH" in t.id) == [
        "W1-TAMBAH-1",
        "W1-TAMBAH-2",
    ]


def test_an_unknown_type_cannot_be_added() -> None:
    with pytest.raises(ValueError, match="no truck of type 'TRONTON'"):
        resize_fleet(make_tiny_scenario(), {"W1": 3}, truck_type="TRONTON")


@given(
    n=st.integers(min_value=1, max_value=6),
    smaller=st.floats(min_value=0.1, max_value=3.0),
    larger=st.floats(min_value=0.1, max_value=3.0),
)
@example(n=3, smaller=0.5, larger=0.5)  # 1.5 rounds half up, to 2
def test_scaled_fleets_are_nested_and_sized_half_up(n: int, smaller: float, larger: float) -> None:
    smaller, larger = min(smaller, larger), max(smaller, larger)
    scenario = make_tiny_scenario()
    scenario = _with_fleet(
        scenario, [replace(scenario.trucks[0], id=f"T{i}") for i in range(1, n + 1)]
    )
    small = resize_fleet(scenario, scaled_counts(scenario, smaller))
    large = resize_fleet(scenario, scaled_counts(scenario, larger))
    assert len(small.trucks) == max(1, int(n * smaller + 0.5))
    # A larger fleet can drive the smaller fleet's plan: every truck of it is there.
    assert {t.id for t in small.trucks} <= {t.id for t in large.trucks}


def test_a_warehouse_without_trucks_keeps_none() -> None:
    scenario = make_tiny_scenario()
    scenario = replace(
        scenario, warehouses=(*scenario.warehouses, replace(scenario.warehouses[0], id="W2"))
    )
    assert scaled_counts(scenario, 2.0) == {"W1": 4, "W2": 0}


def test_deadlines_are_clipped_only_for_the_tranches_named_and_only_earlier() -> None:
    scenario = make_tiny_scenario()
    clipped = clip_deadlines(scenario, [SEP], date(2020, 9, 10))
    assert clipped.tranche(SEP).deadline == date(2020, 9, 10)
    assert clipped.tranche("T-OKT") == scenario.tranche("T-OKT")
    later = clip_deadlines(scenario, [SEP], date(2021, 1, 1))
    assert later.tranche(SEP) == scenario.tranche(SEP)


def test_finish_by_asks_about_the_tranches_whose_window_holds_the_date() -> None:
    scenario = make_tiny_scenario()
    assert tranches_for(scenario, date(2020, 9, 20)) == (SEP,)
    assert tranches_for(scenario, date(2020, 10, 20), SEP) == (SEP,)
    with pytest.raises(ValueError, match="unknown tranche 'X'"):
        tranches_for(scenario, date(2020, 9, 20), "X")
    with pytest.raises(ValueError, match="before tranche T-OKT's release"):
        tranches_for(scenario, date(2020, 9, 20), "T-OKT")
    with pytest.raises(ValueError, match="no tranche's window holds 2021-01-01"):
        tranches_for(scenario, date(2021, 1, 1))


# --- what a plan gives --------------------------------------------------------------------------


def test_outcomes_of_the_tiny_plan() -> None:
    scenario = make_tiny_scenario()
    plan = make_tiny_plan(scenario)
    w1, total = plan_outcomes(scenario, plan, tranches=[SEP])
    assert total.warehouse == ALL_WAREHOUSES and w1.warehouse == "W1"
    assert (w1.trucks, total.trucks) == (2, 2)
    # September: 180 of 240 families by the 3rd (P3's second half never comes).
    assert total.families_total == 240 and total.families_served == 180
    assert total.date_95 is None and total.date_100 is None
    assert (total.cost, total.truck_days) == (plan.kpis.cost, plan.kpis.truck_days)
    assert w1.cost == plan.kpis.cost


def _fully_served() -> tuple[Scenario, Plan]:
    """The tiny scenario and plan cut to 00042 and P2, which get both tranches in full."""
    scenario = make_tiny_scenario()
    served = replace(scenario, drop_points=scenario.drop_points[:2])
    plan = make_tiny_plan(scenario)
    routes = tuple(
        replace(r, stops=tuple(s for s in r.stops if s.drop_point in ("00042", "P2")))
        for r in plan.routes
    )
    routes = tuple(r for r in routes if r.stops)
    return served, replace(
        plan, routes=routes, unassigned=(), kpis=compute_kpis(served, routes, ())
    )


def test_a_share_counts_on_the_day_every_tranche_reaches_it() -> None:
    served, plan = _fully_served()
    total = plan_outcomes(served, plan)[-1]
    assert total.date_100 == date(2020, 10, 1)  # October's day, the later of the two
    assert plan_outcomes(served, plan, tranches=[SEP])[-1].date_100 == date(2020, 9, 2)


def _shifted(plan: Plan, scenario: Scenario, days: int) -> Plan:
    routes = tuple(replace(r, date=r.date + timedelta(days=days)) for r in plan.routes)
    return replace(plan, routes=routes, kpis=compute_kpis(scenario, routes, plan.unassigned))


def test_a_larger_fleet_finishing_later_is_warned_not_hidden() -> None:
    scenario, plan = _fully_served()

    def plan_fn(variant: Scenario) -> Plan:
        # The larger fleet "plans" a day later, as a search may.
        return plan if len(variant.trucks) <= 2 else _shifted(plan, variant, 1)

    table = fleet_scale_table(scenario, [1.0, 2.0], plan_fn)
    assert [(r.setting, r.outcome.warehouse) for r in table.rows] == [
        (1.0, "W1"),
        (1.0, ALL_WAREHOUSES),
        (2.0, "W1"),
        (2.0, ALL_WAREHOUSES),
    ]
    assert all(r.warning == "" for r in table.rows[:2])
    later = table.rows[3]
    assert later.outcome.trucks == 4
    assert later.outcome.date_100 == date(2020, 10, 2)
    assert later.warning == "date_95 later than at 1; date_100 later than at 1"


def test_a_stop_keeps_the_rows_done() -> None:
    import threading

    scenario = make_tiny_scenario()
    stop = threading.Event()
    calls: list[int] = []

    def plan_fn(variant: Scenario) -> Plan:
        calls.append(len(variant.trucks))
        stop.set()  # Ctrl-C while the first plan is made: its dates are not kept.
        return make_tiny_plan(scenario)

    table = wait_cost_table(scenario, [0.0, 100.0], plan_fn, stop=stop)
    assert calls == [2] and table.rows == () and not table.complete


def test_wait_costs_reach_the_objective() -> None:
    scenario = make_tiny_scenario()
    seen: list[float] = []

    def plan_fn(variant: Scenario) -> Plan:
        seen.append(variant.objective.wait_cost_per_kpm_day)
        return make_tiny_plan(scenario)

    table = wait_cost_table(scenario, [0, 5000], plan_fn)
    assert seen == [0.0, 5000.0]
    assert [r.setting for r in table.rows] == [0.0, 0.0, 5000.0, 5000.0]


# --- finishing by a date: real plans on a small sample ------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    folder = tmp_path_factory.mktemp("whatif") / "scenario"
    write_sample(folder, n_drop_points=60, seed=4, n_warehouses=2)
    scenario = validate_scenario(folder)
    return replace(
        scenario, solver=replace(scenario.solver, time_limit_s=5.0, seed=1, solution_limit=10)
    )


def test_finish_by_adds_the_fewest_trucks_that_serve_everyone_by_the_date(
    sample: Scenario,
) -> None:
    day = date(2020, 9, 2)  # two working days for 60 points: both warehouses need more
    plans: list[int] = []
    lines: list[str] = []

    def plan_fn(variant: Scenario) -> Plan:
        plans.append(len(variant.trucks))
        return plan_scenario(variant)

    result = finish_by(sample, day, plan_fn, tranche_id="2020-09", progress=lines.append)
    assert len(lines) == len(plans)  # a line per plan: a service job's bar moves by plans
    assert result.tranches == ("2020-09",) and result.confirmed
    assert result.plan is not None and result.scenario is not None
    added = {a.warehouse: a.trucks_added for a in result.answers}
    assert all(added.values()), added
    fleets = trucks_by_warehouse(result.scenario)
    for answer in result.answers:
        assert answer.trucks_added is not None
        assert len(fleets[answer.warehouse]) == answer.trucks_now + answer.trucks_added
        if answer.trucks_added and not answer.note:
            n = answer.trucks_now + answer.trucks_added
            # n was planned and enough, n - 1 planned and short.
            assert answer.plans[n] is True and answer.plans[n - 1] is False
    # Every deliverable family of September has its rice by the date ...
    assert not [u for u in result.plan.unassigned if u.reason_code in FIXABLE_REASONS]
    assert all(r.date <= day for r in result.plan.routes if r.stops[0].tranche == "2020-09")
    # ... and the plan is valid under the original deadlines, added trucks included.
    assert result.scenario.tranche("2020-09").deadline == sample.tranche("2020-09").deadline
    assert check_plan(result.scenario, plan_to_dict(result.plan)) == []
    # Planned independently with the fleet recommended, everyone is served by the date.
    again = plan_scenario(clip_deadlines(result.scenario, ["2020-09"], day))
    assert not [u for u in again.unassigned if u.reason_code in FIXABLE_REASONS]


def test_finish_by_a_date_already_met_adds_nothing(sample: Scenario) -> None:
    calls = Counter[int]()

    def plan_fn(variant: Scenario) -> Plan:
        calls[len(variant.trucks)] += 1
        return plan_scenario(variant)

    result = finish_by(sample, date(2020, 9, 30), plan_fn)
    assert [a.trucks_added for a in result.answers] == [0, 0]
    assert result.confirmed and len(result.scenario.trucks) == len(sample.trucks)  # type: ignore[union-attr]
    # The base plan and one confirming plan: no search where nothing is short.
    assert sum(calls.values()) == 2


def test_an_unknown_truck_type_is_refused_before_planning(sample: Scenario) -> None:
    def plan_fn(variant: Scenario) -> Plan:
        raise AssertionError("planned")

    with pytest.raises(ValueError, match="unknown truck type 'X'"):
        finish_by(sample, date(2020, 9, 10), plan_fn, truck_type="X")


def test_the_same_seed_and_solution_limit_give_the_same_table(sample: Scenario) -> None:
    first = fleet_scale_table(sample, [0.5, 1.5], plan_scenario)
    second = fleet_scale_table(sample, [0.5, 1.5], plan_scenario)
    assert first == second
    totals = [r.outcome for r in first.rows if r.outcome.warehouse == ALL_WAREHOUSES]
    assert totals[0].trucks < totals[1].trucks


def test_a_stop_during_finish_by_keeps_the_answers_found_and_no_plan() -> None:
    import threading

    from documents.whatif_report import finish_by_files

    scenario = make_tiny_scenario()
    stop = threading.Event()

    def plan_fn(variant: Scenario) -> Plan:
        stop.set()  # Ctrl-C during the base plan
        return make_tiny_plan(scenario)  # P3's September is short of fleet at W1

    result = finish_by(scenario, date(2020, 9, 10), plan_fn, stop=stop)
    assert result.plan is None and result.scenario is None and not result.confirmed
    (answer,) = result.answers
    assert (answer.warehouse, answer.trucks_added, answer.note) == ("W1", None, "stopped")
    assert finish_by_files(result)["whatif.csv"].decode().splitlines()[1].startswith("W1,2,,")
