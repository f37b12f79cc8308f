"""`bsb replan` and `bsb check` of a re-plan, through the command line."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from geodata.scenario_writer import write_scenario
from optimizer.progress import Progress, Receipt
from optimizer.reasons import ReasonCode
from optimizer.replan import replan
from optimizer.solution import Plan, Unassigned, compute_kpis, plan_from_dict
from tests.conftest import make_tiny_scenario, tree_digest

FAST = ["--time-limit", "5", "--seed", "1", "--solution-limit", "50"]
RECEIPTS = (
    "drop_point,tranche,date,families,kg_received,kg_rejected,note\n"
    "P2,T-SEP,2020-09-01,40,1200,30,sacks wet\n"
    "P3,T-SEP,2020-09-01,120,3600,0,\n"
    "00042,T-SEP,2020-09-01,50,1500,0,\n"
)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("campaign")
    write_scenario(make_tiny_scenario(), root / "scen")
    result = CliRunner().invoke(
        main, ["-q", "plan", str(root / "scen"), "-o", str(root / "prev"), *FAST]
    )
    assert result.exit_code == 0, result.output
    (root / "progress").mkdir()
    (root / "progress" / "receipts.csv").write_text(RECEIPTS, encoding="utf-8")
    return {"scen": root / "scen", "prev": root / "prev", "progress": root / "progress"}


def _replan_args(campaign: dict[str, Path], out: Path) -> list[str]:
    return [
        "replan",
        str(campaign["scen"]),
        "--plan",
        str(campaign["prev"]),
        "--progress",
        str(campaign["progress"]),
        "--today",
        "2020-09-02",
        "-o",
        str(out),
        *FAST,
    ]


def test_replan_never_writes_into_the_previous_plan(campaign: dict[str, Path]) -> None:
    before = tree_digest(campaign["prev"])
    result = CliRunner().invoke(
        main, _replan_args(campaign, campaign["prev"]), catch_exceptions=False
    )
    assert result.exit_code == 2, result.output
    assert tree_digest(campaign["prev"]) == before


def test_replan_needs_today_as_a_date(campaign: dict[str, Path], tmp_path: Path) -> None:
    args = _replan_args(campaign, tmp_path / "new")
    args[args.index("2020-09-02")] = "3 Sept"
    assert CliRunner().invoke(main, args).exit_code == 2


def _leave_the_rest(scenario: Any, **kwargs: Any) -> Plan:
    residual = kwargs["residual"]
    left = {k: n * scenario.tranche(k[1]).kg_per_kpm for k, n in residual.families.items()}
    for extra in residual.extra:
        key = (extra.drop_point, extra.tranche)
        left[key] = left.get(key, 0.0) + extra.sacks * scenario.sack_kg
    unassigned = tuple(
        Unassigned(p, t, kg, round(kg / scenario.sack_kg), ReasonCode.FLEET_TIME, "no truck")
        for (p, t), kg in sorted(left.items())
    )
    return Plan(scenario.name, (), unassigned, compute_kpis(scenario, (), unassigned))


def _fake_replan_folder(campaign: dict[str, Path], out: Path, previous_dir: str) -> None:
    raw = (campaign["prev"] / "plan.json").read_bytes()
    receipts = (
        Receipt("P2", "T-SEP", date(2020, 9, 1), 40, 1200.0, 30.0),
        Receipt("P3", "T-SEP", date(2020, 9, 1), 120, 3600.0, 0.0),
        Receipt("00042", "T-SEP", date(2020, 9, 1), 50, 1500.0, 0.0),
    )
    done = replan(
        make_tiny_scenario(),
        plan_from_dict(json.loads(raw)),
        Progress(receipts=receipts),
        date(2020, 9, 2),
        freeze_days=1,
        planner=_leave_the_rest,
        previous_sha256=hashlib.sha256(raw).hexdigest(),
        previous_plan_dir=previous_dir,
    )
    out.mkdir()
    (out / "plan.json").write_text(json.dumps(done.to_dict(), indent=2), encoding="utf-8")


def test_check_of_a_replan_uses_the_previous_plan(
    campaign: dict[str, Path], tmp_path: Path
) -> None:
    _fake_replan_folder(campaign, tmp_path / "new", str(campaign["prev"]))
    result = CliRunner().invoke(main, ["check", str(campaign["scen"]), str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    assert "passes every check" in result.output


def test_check_of_a_replan_without_its_previous_plan_is_bad_input(
    campaign: dict[str, Path], tmp_path: Path
) -> None:
    _fake_replan_folder(campaign, tmp_path / "new", str(tmp_path / "gone"))
    args = ["check", str(campaign["scen"]), str(tmp_path / "new")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "--previous" in result.output
    result = CliRunner().invoke(main, [*args, "--previous", str(campaign["prev"])])
    assert result.exit_code == 0, result.output


def test_check_of_a_replan_against_another_plan_fails(
    campaign: dict[str, Path], tmp_path: Path
) -> None:
    _fake_replan_folder(campaign, tmp_path / "new", str(campaign["prev"]))
    other = tmp_path / "other"
    other.mkdir()
    data = json.loads((campaign["prev"] / "plan.json").read_text(encoding="utf-8"))
    data["routes"][0]["trip"] = 9
    (other / "plan.json").write_text(json.dumps(data), encoding="utf-8")
    args = ["check", str(campaign["scen"]), str(tmp_path / "new"), "--previous", str(other)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "[previous_plan]" in result.output and "[history]" in result.output


def test_replan_end_to_end(campaign: dict[str, Path], tmp_path: Path) -> None:
    before = tree_digest(campaign["prev"])
    out = tmp_path / "new"
    result = CliRunner().invoke(main, _replan_args(campaign, out))
    assert result.exit_code == 0, result.output
    assert tree_digest(campaign["prev"]) == before
    for name in ("plan.json", "changes.csv", "changes.md", "progress/receipts.csv", "map.html"):
        assert (out / name).is_file(), name
    data = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert data["replan"]["as_of"] == "2020-09-02"
    previous = json.loads((campaign["prev"] / "plan.json").read_text(encoding="utf-8"))
    done = [r for r in data["routes"] if r["status"] == "done"]
    assert [{**r, "status": None} for r in done] == [
        {**r, "status": None} for r in previous["routes"] if r["date"] < "2020-09-02"
    ]
    replacements = [s for r in data["routes"] for s in r["stops"] if s["kind"] == "replacement"]
    explained = [u for u in data["unassigned"] if u["drop_point"] == "P2"]
    assert replacements or explained
    assert CliRunner().invoke(main, ["check", str(out)]).exit_code == 0


def test_replan_reports_bad_progress_with_file_and_row(
    campaign: dict[str, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad-progress"
    bad.mkdir()
    (bad / "receipts.csv").write_text(RECEIPTS + "NOPE,T-SEP,2020-09-01,1,15,0,\n", "utf-8")
    args = _replan_args({**campaign, "progress": bad}, tmp_path / "new")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "receipts.csv" in result.output and "row 5" in result.output
