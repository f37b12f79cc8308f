"""``bsb papers PLAN_DIR``: a plan's papers printed again from the folder alone."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from documents.pipeline import SolverOverrides, run_pipeline
from geodata.files import file_sha256
from geodata.output_guard import read_manifest
from geodata.scenario_writer import write_scenario
from optimizer.model import Facilitator
from optimizer.planner import PlannerOptions
from tests.conftest import make_tiny_scenario

FAST = SolverOverrides(time_limit_s=5, seed=3, solution_limit=10)


@pytest.fixture(scope="module")
def plan_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A planned tiny scenario with two facilitators and a roster (Indonesian papers)."""
    tmp = tmp_path_factory.mktemp("papers_again")
    base = make_tiny_scenario()
    points = tuple(
        dataclasses.replace(p, facilitator="F01" if i % 2 == 0 else "F02")
        for i, p in enumerate(base.drop_points)
    )
    scenario = dataclasses.replace(
        base,
        drop_points=points,
        facilitators=(Facilitator("F01", "Siti", "0812"), Facilitator("F02", "Budi", "0813")),
        roster_file="kpm.csv",
    )
    roster = "drop_point,kpm_id,name\n" + "".join(
        f"{p.id},{p.id}-{i},Nama {i}\n" for p in points for i in range(p.kpm)
    )
    write_scenario(scenario, tmp / "in", side_files={"kpm.csv": roster.encode("utf-8")})
    run_pipeline(
        tmp / "in",
        tmp / "plan",
        overrides=FAST,
        options=PlannerOptions(workers=1),
        maps_and_trip_sheets=False,
    )
    return tmp / "plan"


def _copy(folder: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "plan"
    shutil.copytree(folder, target)
    return target


def _papers_listed_and_unchanged(plan: Path) -> None:
    manifest = read_manifest(plan)
    assert manifest is not None and manifest.files is not None
    on_disk = {p.relative_to(plan).as_posix() for p in (plan / "papers").rglob("*") if p.is_file()}
    listed = {name for name in manifest.files if name.startswith("papers/")}
    assert on_disk == listed
    for name in listed:
        assert manifest.files[name] == file_sha256(plan / name), name


def _schedule_header(plan: Path) -> list[str]:
    with (plan / "papers" / "schedule.csv").open(encoding="utf-8-sig", newline="") as stream:
        return next(row for row in csv.reader(stream) if len(row) > 5)


def test_all_papers_again_in_english(plan_folder: Path, tmp_path: Path) -> None:
    plan = _copy(plan_folder, tmp_path)
    before = sorted(p.relative_to(plan) for p in (plan / "papers").rglob("*") if p.is_file())
    (plan / "notes.txt").write_text("mine", encoding="utf-8")  # a planner's own file
    assert "Desa/Kelurahan" in _schedule_header(plan)
    result = CliRunner().invoke(main, ["papers", str(plan), "--language", "en"])
    assert result.exit_code == 0, result.output
    after = sorted(p.relative_to(plan) for p in (plan / "papers").rglob("*") if p.is_file())
    assert after == before  # the same files, now in English
    assert "Village (desa)" in _schedule_header(plan)
    assert "receipts_template.csv" in {p.name for p in after}
    _papers_listed_and_unchanged(plan)
    manifest = read_manifest(plan)
    assert manifest is not None and manifest.files is not None
    assert "notes.txt" not in manifest.files  # never adopted as bsb's
    assert not [p for p in plan.iterdir() if p.name.startswith(".papers")]  # no leftovers


def test_one_facilitators_papers_only(plan_folder: Path, tmp_path: Path) -> None:
    plan = _copy(plan_folder, tmp_path)
    other = plan / "papers" / "facilitators" / "F02.pdf"
    other_bytes = other.read_bytes()
    own = plan / "papers" / "facilitators" / "F01.xlsx"
    own_bytes = own.read_bytes()
    result = CliRunner().invoke(
        main, ["papers", str(plan), "--facilitator", "F01", "--language", "en"]
    )
    assert result.exit_code == 0, result.output
    assert other.read_bytes() == other_bytes
    assert own.read_bytes() != own_bytes
    assert (plan / "papers" / "facilitators" / "without_names" / "F01.pdf").is_file()
    _papers_listed_and_unchanged(plan)


def test_unknown_facilitator_is_a_usage_error_with_a_suggestion(
    plan_folder: Path, tmp_path: Path
) -> None:
    plan = _copy(plan_folder, tmp_path)
    result = CliRunner().invoke(main, ["papers", str(plan), "--facilitator", "f01"])
    assert result.exit_code == 2
    assert "Did you mean 'F01'?" in result.output and "Traceback" not in result.output


def test_a_file_bsb_did_not_write_in_papers_is_refused_and_nothing_changes(
    plan_folder: Path, tmp_path: Path
) -> None:
    plan = _copy(plan_folder, tmp_path)
    (plan / "papers" / "my_notes.xlsx").write_bytes(b"mine")
    changed = plan / "papers" / "schedule.csv"
    changed.write_bytes(changed.read_bytes() + b"\n")
    before = {p: p.read_bytes() for p in (plan / "papers").rglob("*") if p.is_file()}
    result = CliRunner().invoke(main, ["papers", str(plan), "--language", "en"])
    assert result.exit_code == 2
    assert "my_notes.xlsx" in result.output and "was not written by bsb" in result.output
    assert "schedule.csv" in result.output and "was changed" in result.output
    assert {p: p.read_bytes() for p in (plan / "papers").rglob("*") if p.is_file()} == before


def test_a_folder_that_is_not_a_plan_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    result = CliRunner().invoke(main, ["papers", str(tmp_path / "x")])
    assert result.exit_code == 2 and "not a plan folder bsb wrote" in result.output
