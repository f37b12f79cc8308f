"""documents.whatif_report and `bsb whatif`: tables, plots, the folder, exit codes."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from documents.whatif_report import (
    FINISH_BY_COLUMNS,
    WhatIfRequest,
    finish_by_csv,
    finish_by_files,
    table_csv,
    table_files,
)
from optimizer.model import Scenario
from optimizer.solution import Plan
from optimizer.whatif import (
    FinishByResult,
    WarehouseAnswer,
    WhatIfTable,
    fleet_scale_table,
    wait_cost_table,
)
from tests.conftest import make_tiny_plan, make_tiny_scenario, tree_digest

FAST = ["--time-limit", "5", "--solution-limit", "10", "--seed", "1", "--workers", "1"]


def _table() -> WhatIfTable:
    scenario = make_tiny_scenario()
    plan = make_tiny_plan(scenario)

    def plan_fn(variant: Scenario) -> Plan:
        return plan

    return fleet_scale_table(scenario, [1.0, 2.0], plan_fn, tranches=["T-SEP"])


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_the_fleet_scale_csv_has_the_issue_columns_first() -> None:
    content = table_csv(_table())
    header = content.decode("utf-8").splitlines()[0].split(",")
    assert header[:8] == [
        "fleet_scale",
        "warehouse",
        "trucks",
        "date_95",
        "date_100",
        "cost",
        "truck_days",
        "family_wait_days",
    ]
    rows = _rows(content)
    assert [(r["fleet_scale"], r["warehouse"], r["trucks"]) for r in rows] == [
        ("1", "W1", "2"),
        ("1", "ALL", "2"),
        ("2", "W1", "4"),
        ("2", "ALL", "4"),
    ]
    # 180 of 240 September families: 95 % and 100 % are never reached (empty cells).
    assert rows[0]["date_95"] == "" and rows[0]["families_served"] == "180"


def test_the_wait_cost_csv_names_its_setting() -> None:
    scenario = make_tiny_scenario()
    table = wait_cost_table(scenario, [0, 1000], lambda _s: make_tiny_plan(scenario))
    rows = _rows(table_csv(table))
    assert [r["wait_cost_per_kpm_day"] for r in rows] == ["0", "0", "1000", "1000"]


def _finish() -> FinishByResult:
    answers = (
        WarehouseAnswer("W1", 2, 1, date(2020, 9, 4), 3, {2: False, 3: True}),
        WarehouseAnswer("W2", 3, None, None, 4, {3: False}, "7 trucks still short"),
    )
    return FinishByResult(date(2020, 9, 5), ("T-SEP",), answers, None, None, False, 12)


def test_the_finish_by_csv_has_the_issue_columns() -> None:
    rows = _rows(finish_by_csv(_finish()))
    assert tuple(rows[0]) == FINISH_BY_COLUMNS
    assert rows[0] == {
        "warehouse": "W1",
        "trucks_now": "2",
        "trucks_added": "1",
        "last_date": "2020-09-04",
        "estimate": "3",
        "plans": "2:short 3:enough",
        "note": "",
    }
    assert rows[1]["trucks_added"] == "" and rows[1]["note"] == "7 trucks still short"


def test_people_read_indonesian_by_default_and_english_on_request() -> None:
    table = _table()
    indonesian = table_files(table)
    english = table_files(table, "en")
    assert "Skala armada" in indonesian["whatif.md"].decode()
    assert "SEMUA" in indonesian["whatif.md"].decode()
    assert "Fleet scale" in english["whatif.md"].decode()
    # The plots' words are text in the SVG, in the language asked for.
    assert "Jumlah truk" in indonesian["whatif_dates.svg"].decode()
    assert "Number of trucks" in english["whatif_cost.svg"].decode()
    finish = finish_by_files(_finish())
    assert "BELUM terkonfirmasi" in finish["whatif.md"].decode()
    assert "tidak ditemukan" in finish["whatif.md"].decode()


def test_the_files_are_the_same_bytes_every_time() -> None:
    first, second = table_files(_table()), table_files(_table())
    assert set(first) == {
        "whatif.csv",
        "whatif.xlsx",
        "whatif.md",
        "whatif_dates.png",
        "whatif_dates.svg",
        "whatif_cost.png",
        "whatif_cost.svg",
    }
    assert first["whatif_dates.png"].startswith(b"\x89PNG")
    for name in ("whatif.csv", "whatif.md", "whatif_dates.png", "whatif_dates.svg"):
        assert first[name] == second[name], name


def test_a_request_asks_exactly_one_question() -> None:
    assert WhatIfRequest(fleet_scales=(1.0,)).problems() == []
    both = WhatIfRequest(fleet_scales=(1.0,), wait_costs=(0.0,)).problems()
    assert "exactly one" in both[0].message and "--fleet-scale, --wait-cost" in both[0].message
    assert WhatIfRequest().problems()[0].file == "whatif"
    typed = WhatIfRequest(wait_costs=(0.0,), truck_type="CDD").problems()
    assert typed[0].file == "--truck-type"


# --- the command ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("whatif-cli") / "scenario"
    result = CliRunner().invoke(main, ["sample", str(folder), "--size", "40", "--seed", "2"])
    assert result.exit_code == 0, result.output
    return folder


def test_fleet_scale_writes_the_table_and_plots(sample_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "wi"
    result = CliRunner().invoke(
        main, ["-q", "whatif", str(sample_dir), "--fleet-scale", "0.5,1,2", "-o", str(out), *FAST]
    )
    assert result.exit_code == 0, result.output
    assert "Skala armada" in result.output
    rows = _rows((out / "whatif.csv").read_bytes())
    totals = [r for r in rows if r["warehouse"] == "ALL"]
    assert [r["fleet_scale"] for r in totals] == ["0.5", "1", "2"]
    trucks = [int(r["trucks"]) for r in totals]
    assert trucks == sorted(trucks) and trucks[0] < trucks[-1]
    # Completion dates move with fleet size, or the row says they did not.
    for smaller, larger in itertools.pairwise(totals):
        never = "9999-12-31"  # an empty date: never all served
        later = (larger["date_100"] or never) > (smaller["date_100"] or never)
        assert not later or larger["warning"]
    manifest = json.loads((out / ".bsb-output.json").read_text())
    assert manifest["kind"] == "whatif" and "whatif_cost.png" in manifest["files"]


def test_finish_by_writes_a_checked_plan_with_the_added_trucks(
    sample_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "wi"
    result = CliRunner().invoke(
        main,
        ["-q", "whatif", str(sample_dir), "--finish-by", "2020-09-02", "-o", str(out), *FAST],
    )
    assert result.exit_code == 0, result.output
    rows = _rows((out / "whatif.csv").read_bytes())
    added = sum(int(r["trucks_added"]) for r in rows)
    assert added > 0
    trucks = _rows((out / "plan" / "scenario" / "trucks.csv").read_bytes())
    assert sum("-TAMBAH-" in t["id"] for t in trucks) == added
    tranches = _rows((out / "plan" / "scenario" / "tranches.csv").read_bytes())
    assert tranches[0]["deadline"] == "2020-09-30"  # the original deadline, not the date
    checked = CliRunner().invoke(main, ["check", str(out / "plan")])
    assert checked.exit_code == 0, checked.output
    plan = json.loads((out / "plan" / "plan.json").read_text())
    september = [r["date"] for r in plan["routes"] if r["stops"][0]["tranche"] == "2020-09"]
    assert max(september) <= "2020-09-02"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--fleet-scale", "1", "--wait-cost", "0"], "exactly one"),
        ([], "exactly one"),
        (["--fleet-scale", "0,1"], "--fleet-scale"),
        (["--wait-cost", "x"], "--wait-cost"),
        (["--finish-by", "2020-09-10", "--tranche", "NOPE"], "unknown tranche 'NOPE'"),
        (["--finish-by", "2021-01-01"], "no tranche's window holds 2021-01-01"),
        (["--fleet-scale", "1", "--tranche", "NOPE"], "unknown tranche 'NOPE'"),
    ],
)
def test_bad_requests_exit_2_naming_the_option(
    sample_dir: Path, tmp_path: Path, args: list[str], says: str
) -> None:
    out = tmp_path / "wi"
    result = CliRunner().invoke(main, ["-q", "whatif", str(sample_dir), "-o", str(out), *args])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert not out.exists()


def test_a_folder_with_files_bsb_did_not_write_is_refused(sample_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "wi"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    before = tree_digest(out)
    result = CliRunner().invoke(
        main, ["-q", "whatif", str(sample_dir), "--wait-cost", "0", "-o", str(out), *FAST]
    )
    assert result.exit_code == 2, result.output
    assert tree_digest(out) == before


def test_a_plan_the_checker_rejects_is_not_written(tmp_path: Path) -> None:
    from dataclasses import replace

    from documents.pipeline import PlanFailsCheckError, write_checked_plan
    from optimizer.planner import plan_scenario

    scenario = make_tiny_scenario()
    plan = plan_scenario(scenario)
    first = min(r.date for r in plan.routes if r.stops[0].tranche == "T-SEP")
    # A release after the plan's first September day makes that trip early.
    tranches = tuple(
        replace(t, release=first + timedelta(days=1)) if t.id == "T-SEP" else t
        for t in scenario.tranches
    )
    out = tmp_path / "plan"
    with pytest.raises(PlanFailsCheckError) as failed:
        write_checked_plan(replace(scenario, tranches=tranches), plan, out, folder=None)
    assert "tranche_window" in {v.rule for v in failed.value.violations}
    assert not out.exists()
    write_checked_plan(scenario, plan, out, folder=None, maps_and_trip_sheets=False)
    assert (out / "plan.json").exists()


def test_the_dates_plot_shows_the_days_around_one_repeated_date(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import documents.whatif_report as report

    shown: list[tuple[float, float]] = []
    save = report._save

    def keep_limits(figure: Any, stem: str) -> dict[str, bytes]:
        shown.append(figure.axes[0].get_ylim())
        return save(figure, stem)

    monkeypatch.setattr(report, "_save", keep_limits)
    report.plot_dates(_table())  # both fleets finish on the same day
    low, high = shown[0]
    # A week around that day, not the centuries of matplotlib's automatic margin.
    assert 0 < high - low <= 7
