"""documents.pipeline.run_replan_pipeline: read, re-plan, check, write a new folder."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from documents.pipeline import run_pipeline, run_replan_pipeline
from geodata.scenario_writer import write_scenario
from optimizer import replan as replan_module
from optimizer.errors import InputError
from optimizer.reasons import ReasonCode
from optimizer.solution import Plan, Unassigned, compute_kpis
from tests.conftest import make_tiny_scenario, tree_digest

RECEIPTS = (
    "drop_point,tranche,date,families,kg_received,kg_rejected,note\n"
    "P2,T-SEP,2020-09-01,40,1200,30,\n"
    "P3,T-SEP,2020-09-01,120,3600,0,\n"
    "00042,T-SEP,2020-09-01,50,1500,0,\n"
)


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


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    write_scenario(make_tiny_scenario(), tmp_path / "scen")
    run_pipeline(tmp_path / "scen", tmp_path / "prev", maps_and_trip_sheets=False)
    (tmp_path / "progress").mkdir()
    (tmp_path / "progress" / "receipts.csv").write_text(RECEIPTS, encoding="utf-8")
    monkeypatch.setattr(replan_module, "_default_planner", lambda: _leave_the_rest)
    return {"scen": tmp_path / "scen", "prev": tmp_path / "prev", "progress": tmp_path / "progress"}


def test_the_new_folder_is_written_and_the_previous_untouched(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    before = tree_digest(folders["prev"])
    out = tmp_path / "new"
    done = run_replan_pipeline(
        folders["scen"], folders["prev"], folders["progress"], out, date(2020, 9, 2), 1,
        maps_and_trip_sheets=False,
    )  # fmt: skip
    assert tree_digest(folders["prev"]) == before
    for name in ("plan.json", "changes.csv", "changes.md", "progress/receipts.csv"):
        assert (out / name).is_file(), name
    data = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert data["replan"]["as_of"] == "2020-09-02"
    assert data["replan"]["previous_plan_dir"] == str(folders["prev"])
    assert done.plan is done.result.plan
    assert done.plan_json["replan"]["freeze_days"] == 1


def test_the_previous_folder_is_never_the_output(folders: dict[str, Path]) -> None:
    before = tree_digest(folders["prev"])
    with pytest.raises(InputError):
        run_replan_pipeline(
            folders["scen"], folders["prev"], folders["progress"], folders["prev"],
            date(2020, 9, 2), 1, force=True,
        )  # fmt: skip
    assert tree_digest(folders["prev"]) == before


def test_a_missing_previous_plan_is_bad_input(folders: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"plan\.json"):
        run_replan_pipeline(
            folders["scen"], tmp_path / "nowhere", folders["progress"], tmp_path / "new",
            date(2020, 9, 2), 1,
        )  # fmt: skip
