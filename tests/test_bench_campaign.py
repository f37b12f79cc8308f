"""The campaign simulator: progress from a plan, the measures, the campaign, its command."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import campaign
from benchmarks.campaign import (
    Disruptions,
    count_moves,
    families_by_deadline,
    progress_tables,
    replacement_delays,
    run_campaign,
    simulate_progress,
    write_progress_folder,
)
from optimizer.model import Scenario
from optimizer.progress import Progress, Receipt
from optimizer.solution import Plan, Stop
from tests.conftest import make_tiny_plan, make_tiny_scenario

NOTHING = Disruptions(
    missed_share=0.0,
    rejection_rate=0.0,
    breakdown_share=0.0,
    closed_points=0,
    late_stock=False,
)
SEP2, SEP3, SEP4, OCT1 = date(2020, 9, 2), date(2020, 9, 3), date(2020, 9, 4), date(2020, 10, 1)


def _shift(plan: Plan, today: date, days: int) -> Plan:
    """The plan with every route from ``today`` on moved by ``days`` calendar days."""
    moved = tuple(
        replace(r, date=r.date + timedelta(days=days)) if r.date >= today else r
        for r in plan.routes
    )
    return replace(plan, routes=moved)


def test_a_calm_day_gives_one_receipt_per_stop_before_today() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    progress = simulate_progress(scenario, plan, SEP3, disruptions=NOTHING)
    assert [(r.drop_point, r.date, r.families, r.kg_received) for r in progress.receipts] == [
        ("P4", SEP2, 30, 900.0),
        ("00042", SEP2, 50, 1500.0),
        ("P2", SEP2, 40, 1200.0),
    ]
    assert all(r.kg_rejected == 0 for r in progress.receipts)
    assert (progress.unavailable, progress.closed, progress.stock_changes) == ((), (), ())


def test_missed_stops_have_no_receipt_and_rejections_are_whole_sacks() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    missed = simulate_progress(
        scenario, plan, OCT1 + timedelta(days=1), disruptions=replace(NOTHING, missed_share=1.0)
    )
    assert missed.receipts == ()
    rejected = simulate_progress(
        scenario, plan, OCT1 + timedelta(days=1), disruptions=replace(NOTHING, rejection_rate=1.0)
    )
    assert len(rejected.receipts) == 6
    for receipt in rejected.receipts:
        sacks = receipt.kg_rejected / scenario.sack_kg
        assert sacks == int(sacks) and 1 <= sacks <= math.ceil(0.2 * receipt.kg_received / 15)
        assert receipt.note


def test_receipts_of_a_day_do_not_depend_on_later_days_of_the_plan() -> None:
    """A re-plan keeps its history: rebuilding progress from it must give the same receipts."""
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    chosen = Disruptions(missed_share=0.4, rejection_rate=0.5)
    early = simulate_progress(scenario, plan, SEP3, seed=7, disruptions=chosen)
    later = simulate_progress(scenario, _shift(plan, SEP3, 2), SEP3, seed=7, disruptions=chosen)
    assert early.receipts == later.receipts
    other_seed = [
        simulate_progress(scenario, plan, OCT1 + timedelta(days=1), seed=s, disruptions=chosen)
        for s in range(8)
    ]
    assert len({p.receipts for p in other_seed}) > 1


def test_a_breakdown_takes_a_driving_truck_for_two_working_days() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    # Friday 4 September: the next working day is Saturday (the tiny calendar works six days).
    friday_plan = replace(
        plan, routes=(*plan.routes, replace(plan.routes[0], date=SEP4, truck="T1", trip=1))
    )
    progress = simulate_progress(
        scenario,
        friday_plan,
        SEP4,
        disruptions=replace(NOTHING, breakdown_share=0.1, breakdown_days=2),
    )
    [down] = progress.unavailable
    assert (down.truck, down.from_date, down.to_date) == ("T1", SEP4, date(2020, 9, 5))


def test_a_closed_point_is_closed_on_its_next_visit() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    progress = simulate_progress(
        scenario, plan, SEP3, disruptions=replace(NOTHING, closed_points=1)
    )
    [closed] = progress.closed
    visits = {(s.drop_point, r.date) for r in plan.routes if r.date >= SEP3 for s in r.stops}
    assert (closed.drop_point, closed.from_date) in visits
    assert closed.from_date == min(d for p, d in visits if p == closed.drop_point)
    assert closed.to_date == closed.from_date


def test_late_stock_leaves_then_comes_back_in_whole_sacks() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    progress = simulate_progress(
        scenario, plan, SEP3, disruptions=replace(NOTHING, late_stock=True)
    )
    gone, back = progress.stock_changes
    assert gone.date == SEP3 and gone.kg < 0 and back.kg == -gone.kg
    assert back.kg == 9990.0  # a tenth of W1's 100 t, in whole 15 kg sacks (666)
    assert back.date == date(2020, 9, 7)  # Thursday + Fri, Sat, Mon: the third working day
    future = simulate_progress(
        scenario,
        plan,
        SEP3,
        disruptions=replace(NOTHING, late_stock=True, late_stock_from=SEP4),
    )
    assert future.stock_changes == ()


@given(
    seed=st.integers(0, 10_000),
    missed=st.floats(0.0, 1.0),
    rejection=st.floats(0.0, 1.0),
    day=st.integers(0, 40),
)
def test_simulated_receipts_are_always_valid(
    seed: int, missed: float, rejection: float, day: int
) -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    today = SEP2 + timedelta(days=day)
    chosen = Disruptions(missed_share=missed, rejection_rate=rejection)
    progress = simulate_progress(scenario, plan, today, seed=seed, disruptions=chosen)
    kpm = {p.id: p.kpm for p in scenario.drop_points}
    stops = sum(len(r.stops) for r in plan.routes if r.date < today)
    assert len(progress.receipts) <= stops
    for receipt in progress.receipts:
        assert receipt.date < today
        assert 0 <= receipt.kg_rejected <= receipt.kg_received
        assert (receipt.kg_rejected / scenario.sack_kg).is_integer()
        assert 0 < receipt.families <= kpm[receipt.drop_point]
    for down in progress.unavailable:
        assert down.from_date <= today and down.from_date <= down.to_date


def test_progress_folder_has_the_documented_columns(tmp_path: Path) -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    progress = simulate_progress(
        scenario, plan, SEP3, disruptions=Disruptions(rejection_rate=1.0, missed_share=0.0)
    )
    tables = progress_tables(progress)
    assert set(tables) == {"receipts.csv", "unavailable.csv", "stock_changes.csv", "closed.csv"}
    assert tables["receipts.csv"].splitlines()[0] == (
        "drop_point,tranche,date,families,kg_received,kg_rejected,note"
    )
    assert tables["unavailable.csv"].splitlines()[0] == "truck,from_date,to_date,note"
    assert tables["stock_changes.csv"].splitlines()[0] == "warehouse,date,kg,note"
    assert tables["closed.csv"].splitlines()[0] == "drop_point,from_date,to_date,note"
    folder = write_progress_folder(progress, tmp_path / "progress")
    assert sorted(p.name for p in folder.iterdir()) == sorted(tables)
    with pytest.raises(FileExistsError):
        write_progress_folder(progress, folder)
    assert progress_tables(Progress()) == {}


def test_a_simulated_progress_folder_reads_back_as_the_same_progress(tmp_path: Path) -> None:
    from geodata import progress_io

    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    progress = simulate_progress(
        scenario, plan, OCT1 + timedelta(days=1), seed=3, disruptions=Disruptions(0.2, 0.5)
    )
    folder = write_progress_folder(progress, tmp_path / "progress")
    assert progress_io.read_progress(folder, scenario) == progress


# --- measures ---------------------------------------------------------------------------------


def test_moves_count_deliveries_on_another_day_or_truck() -> None:
    plan = make_tiny_plan()
    assert count_moves(plan, plan, SEP3) == campaign.Moves(announced=3, moved=0, truck_changed=0)
    shifted = count_moves(plan, _shift(plan, SEP3, 1), SEP3)
    assert (shifted.moved, shifted.moved_share) == (3, 1.0)
    swapped = replace(
        plan, routes=tuple(replace(r, truck="T9") if r.date == OCT1 else r for r in plan.routes)
    )
    assert count_moves(plan, swapped, SEP3) == campaign.Moves(3, 0, 2)
    dropped = replace(plan, routes=plan.routes[:3])
    assert count_moves(plan, dropped, SEP3).moved == 2


def test_families_by_deadline_count_receipts_and_what_is_still_planned() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    progress = simulate_progress(scenario, plan, SEP3, disruptions=NOTHING)
    served = families_by_deadline(scenario, plan, progress, SEP3)
    # Sep: 30 + 50 + 40 received, P3's 60 families still planned on Sep 3; Oct: 50 + 40.
    assert served == {"T-SEP": (180, 240), "T-OKT": (90, 240)}
    late = _shift(plan, SEP3, 40)
    assert families_by_deadline(scenario, late, progress, SEP3)["T-SEP"] == (120, 240)


def _with_replacement(plan: Plan, day: date) -> Plan:
    @dataclass(frozen=True)
    class ReplacementStop:
        drop_point: str
        tranche: str
        kg: float
        sacks: int
        kind: str = "replacement"

    stop = cast(Stop, ReplacementStop("P2", "T-SEP", 30.0, 2))
    route = replace(plan.routes[0], date=day, trip=2, stops=(stop,))
    return replace(plan, routes=(*plan.routes, route))


def test_replacement_delays_are_working_days_to_the_replacement_stop() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    receipt = Receipt("P2", "T-SEP", SEP2, 40, 1200.0, 30.0)
    progress = Progress(receipts=(receipt,))
    assert replacement_delays(scenario, plan, progress) == ([], 1)
    # Wed 2 -> Mon 7 September: Thu, Fri, Sat, Mon are four working days.
    assert replacement_delays(scenario, _with_replacement(plan, date(2020, 9, 7)), progress) == (
        [4],
        0,
    )


# --- the campaign -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Replanned:
    plan: Plan
    changes: tuple[Any, ...] = ()


def _keep(scenario: Scenario, previous: Plan, progress: Progress, today: date, **_: Any) -> Any:
    return _Replanned(previous)


def _postpone(scenario: Scenario, previous: Plan, progress: Progress, today: date, **_: Any) -> Any:
    return _Replanned(_shift(previous, today, 1))


def test_a_campaign_that_keeps_its_plan_moves_nothing() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    seen: list[date] = []
    result = run_campaign(
        scenario,
        days=3,
        first_plan=plan,
        replan=_keep,
        disruptions=NOTHING,
        on_day=lambda day: seen.append(day.today),
    )
    assert seen == [SEP3, SEP4, date(2020, 9, 5)]
    assert result.moved_share == 0.0
    assert [d.receipts for d in result.days] == [3, 4, 4]
    assert all(d.missed == 0 for d in result.days)
    # The hand-made tiny plan breaks a few rules (rounded distances); each re-plan is checked.
    broken = len(campaign.check_replan(scenario, plan, plan))
    assert broken > 0 and [d.violations for d in result.days] == [broken] * 3
    assert result.days[0].served_by_deadline["T-SEP"] == (180, 240)
    assert "0.0% of announced deliveries moved" in campaign.table(result)
    assert "## A campaign re-planned every day" in campaign.section(result, command="bsb x")


def test_a_campaign_that_postpones_everything_moves_everything() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    result = run_campaign(scenario, days=2, first_plan=plan, replan=_postpone)
    assert result.days[0].moves.moved == result.days[0].moves.announced == 3
    assert result.moved_share == 1.0


def test_the_events_of_a_campaign_are_drawn_once() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    result = run_campaign(
        scenario,
        days=3,
        first_plan=plan,
        replan=_postpone,
        disruptions=Disruptions(missed_share=0.0, rejection_rate=0.0, closed_points=1),
    )
    final = result.final_progress
    first = simulate_progress(
        scenario,
        plan,
        SEP3,
        disruptions=Disruptions(
            missed_share=0.0,
            rejection_rate=0.0,
            breakdown_from=SEP3,
            closed_from=SEP3,
            late_stock_from=SEP3,
        ),
    )
    assert (final.closed, final.unavailable, final.stock_changes) == (
        first.closed,
        first.unavailable,
        first.stock_changes,
    )
    assert all(d.unavailable == 1 and d.closed == 1 for d in result.days)


def test_bench_campaign_writes_its_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import main

    plan = make_tiny_plan()
    monkeypatch.setattr(campaign, "replan_plan", _keep)
    monkeypatch.setattr("optimizer.planner.plan_scenario", lambda scenario, **_: replace(plan))
    monkeypatch.setattr("geodata.scenario_io.read_scenario", lambda folder: make_tiny_scenario())
    results = tmp_path / "RESULTS.md"
    scenario_dir = tmp_path / "scenario"
    scenario_dir.mkdir()
    run = CliRunner().invoke(
        main,
        ["bench", "campaign", str(scenario_dir), "--days", "2", "--results-md", str(results)],
    )
    assert run.exit_code == 0, run.output
    text = results.read_text(encoding="utf-8")
    assert "<!-- campaign -->" in text and "bsb bench campaign" in text
    assert text.count("| 2020-09-0") == 2


def test_bench_campaign_reports_a_missing_scenario_with_exit_2(tmp_path: Path) -> None:
    from cli import main

    run = CliRunner().invoke(
        main, ["bench", "campaign", str(tmp_path / "nowhere"), "--no-write", "--days", "1"]
    )
    assert run.exit_code == 2


def test_a_real_campaign_keeps_its_history_and_replaces_rejected_rice(tmp_path: Path) -> None:
    from geodata.sample import write_sample
    from optimizer.planner import plan_scenario

    scenario = write_sample(tmp_path / "scenario", n_drop_points=40, seed=3)
    scenario = replace(scenario, solver=replace(scenario.solver, time_limit_s=3.0, seed=3))
    first = plan_scenario(scenario)
    result = run_campaign(
        scenario,
        days=3,
        seed=3,
        time_limit_s=3.0,
        first_plan=first,
        disruptions=Disruptions(missed_share=0.1, rejection_rate=0.3),
    )
    last_day = result.days[-1].today

    def history(plan: Plan) -> list[tuple[str, date, int, Any, Any]]:
        return sorted(
            (
                (r.truck, r.date, r.trip, r.depart, r.stops)
                for r in plan.routes
                if r.date < last_day
            ),
            key=repr,
        )

    # Every day before the last re-plan was driven from the plan of its morning; the days of
    # the first plan before the breakdown are kept exactly.
    first_day = result.days[0].today
    kept = [h for h in history(result.final_plan) if h[1] < first_day]
    assert kept and kept == [h for h in history(first) if h[1] < first_day]
    delays = result.replacement_delays
    # Scenario.replan arrives with part A; its default is 3 working days.
    replacement_days = getattr(getattr(scenario, "replan", None), "replacement_days", 3)
    assert all(1 <= d <= replacement_days for d in delays)
    assert all(d.replan_s > 0 for d in result.days)
    assert [d.violations for d in result.days] == [0] * len(result.days)


def test_the_benchmarks_doc_names_the_command_its_options_and_section() -> None:
    from cli import bench_campaign

    doc = (Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md").read_text()
    start = doc.index("## A campaign re-planned every day")
    end = doc.find("\n## ", start + 1)
    section = doc[start : end if end >= 0 else None]
    options = {o for p in bench_campaign.params for o in p.opts if o.startswith("--")}
    for option in options - {"--help"}:
        assert f"`{option}" in section, option
    assert f"Section `{campaign.SECTION}`" in section
    assert f"default {100 * Disruptions().missed_share:.0f} %" in section
    assert f"default {100 * Disruptions().rejection_rate:.0f} %" in section
