"""Tests of benchmarks.bsb_family: names, served shares, plan evaluation, runner rows."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import bsb_family, report, runner
from benchmarks.bsb_family import TrancheShare, format_shares, parse_shares, served_shares
from geodata.scenario_writer import write_scenario
from optimizer.planner import plan_scenario
from optimizer.solution import Plan, plan_to_dict
from tests.conftest import make_tiny_scenario


@pytest.fixture
def planned(tmp_path: Path) -> tuple[Path, Path, Plan]:
    """The tiny scenario written as ``synthetic-4`` and its plan.json."""
    scenario = make_tiny_scenario()
    folder = tmp_path / "out" / "instances" / "bsb" / "synthetic-4"
    write_scenario(scenario, folder)
    plan = plan_scenario(scenario)
    plan_json = tmp_path / "plan.json"
    plan_json.write_text(json.dumps(plan_to_dict(plan)))
    return folder, plan_json, plan


def test_names_sizes_and_time_limits() -> None:
    assert bsb_family.parse_name("bogor-1000") == bsb_family.ScenarioName("bogor", 1000)
    assert str(bsb_family.parse_name("synthetic-200")) == "synthetic-200"
    with pytest.raises(ValueError, match="synthetic-<points>"):
        bsb_family.parse_name("jakarta-10")
    assert (bsb_family.time_limit_s(200), bsb_family.time_limit_s(1000)) == (30.0, 120.0)
    assert not bsb_family.available("bogor-1000", None)
    assert bsb_family.available("synthetic-1000", None)


def test_unknown_strategies_are_left_out() -> None:
    assert bsb_family.known_strategies(["vroom", "pci-gls", "savings-gls"]) == [
        "pci-gls",
        "savings-gls",
    ]


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 _-]{0,8}[A-Za-z0-9]", fullmatch=True),
            st.floats(0, 100),
        ),
        max_size=4,
    )
)
def test_shares_text_round_trips(pairs: list[tuple[str, float]]) -> None:
    shares = tuple(TrancheShare(t, round(v, 1)) for t, v in pairs)
    assert parse_shares(format_shares(shares)) == shares


def test_evaluate_plan_of_a_complete_plan(planned: tuple[Path, Path, Plan]) -> None:
    folder, plan_json, plan = planned
    ev = bsb_family.evaluate_plan(folder, plan_json)
    assert ev.feasible and ev.violations == ""
    assert ev.served_share_by_deadline == "T-SEP 100.0%; T-OKT 100.0%"
    assert ev.unassigned_kg == 0
    assert ev.trips == len(plan.routes)
    # plan.json holds each trip's km to 3 decimals.
    assert ev.distance_km == pytest.approx(sum(r.distance_km for r in plan.routes), abs=0.01)
    assert ev.ratio_to_bound is not None and ev.ratio_to_bound >= 1.0


def test_late_trip_does_not_count_as_served_by_deadline(planned: tuple[Path, Path, Plan]) -> None:
    _, _, plan = planned
    scenario = make_tiny_scenario()
    # Move the September trips that serve the first drop point past the September deadline.
    late = tuple(
        dataclasses.replace(r, date=date(2020, 10, 5))
        if any(s.drop_point == "00042" and s.tranche == "T-SEP" for s in r.stops)
        else r
        for r in plan.routes
    )
    shares = served_shares(scenario, dataclasses.replace(plan, routes=late))
    total = sum(p.kpm for p in scenario.drop_points)
    assert shares[0].tranche == "T-SEP"
    assert shares[0].share_pct == pytest.approx(100 * (total - 50) / total)
    assert shares[1] == TrancheShare("T-OKT", 100.0)


def test_runner_bsb_row_and_check(
    tmp_path: Path, planned: tuple[Path, Path, Plan], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, plan_json, _ = planned
    script = tmp_path / "fake_plan.py"
    script.write_text(
        "import pathlib, shutil, sys\n"
        "out = pathlib.Path(sys.argv[2]); out.mkdir(parents=True)\n"
        "shutil.copy(sys.argv[1], out / 'plan.json')\n"
    )

    def command(task: runner.Task, plan_dir: Path) -> list[str]:
        return [sys.executable, str(script), str(plan_json), str(plan_dir)]

    monkeypatch.setattr(runner, "plan_command", command)
    out = tmp_path / "out"
    csv_path = runner.run(
        "quick",
        out,
        families=["bsb"],
        strategies=["savings-gls", "vroom"],
        instances=["synthetic-4"],
        progress=lambda line: None,
    )
    [row] = runner.read_rows(csv_path)
    assert (row.strategy, row.status, row.time_limit_s, row.customers) == (
        "savings-gls",
        "ok",
        30.0,
        4,
    )
    assert row.served_share_by_deadline == "T-SEP 100.0%; T-OKT 100.0%"
    assert row.ratio_to_bound is not None and row.bound_km is not None
    assert row.ratio_to_bound == pytest.approx((row.distance or 0) / row.bound_km)
    assert row.solution_file == "solutions/bsb/savings-gls/synthetic-4_s1_t30/plan.json"
    assert report.check_results(csv_path) == []
