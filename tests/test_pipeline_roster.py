"""A plan's scenario copy keeps the facilitators table and the roster, so that its papers can be
printed again from the plan folder alone."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from documents.pipeline import SolverOverrides, run_pipeline
from geodata.scenario_io import read_scenario
from geodata.scenario_writer import write_scenario
from optimizer.model import Facilitator
from optimizer.planner import PlannerOptions
from tests.conftest import make_tiny_scenario

FAST = SolverOverrides(time_limit_s=5, seed=3, solution_limit=10)


def test_the_plans_scenario_copy_keeps_facilitators_and_roster(tmp_path: Path) -> None:
    base = make_tiny_scenario()
    points = tuple(dataclasses.replace(p, facilitator="F01") for p in base.drop_points)
    scenario = dataclasses.replace(
        base,
        drop_points=points,
        facilitators=(Facilitator("F01", "Siti Aminah", "0812-1111-2222"),),
        roster_file="kpm.csv",
    )
    roster = "drop_point,kpm_id,name\n" + "".join(
        f"{p.id},{p.id}-{i},Nama {i}\n" for p in points for i in range(p.kpm)
    )
    write_scenario(scenario, tmp_path / "in", side_files={"kpm.csv": roster.encode("utf-8")})
    run_pipeline(
        tmp_path / "in",
        tmp_path / "plan",
        overrides=FAST,
        options=PlannerOptions(workers=1),
        maps_and_trip_sheets=False,
    )
    copy = tmp_path / "plan" / "scenario"
    assert (copy / "kpm.csv").read_bytes() == roster.encode("utf-8")
    again = read_scenario(copy)
    assert again.facilitators == scenario.facilitators
    assert again.roster_file == "kpm.csv"
    assert {p.facilitator for p in again.drop_points} == {"F01"}


def test_names_and_niks_are_only_on_the_facilitators_papers(tmp_path: Path) -> None:
    base = make_tiny_scenario()
    points = tuple(dataclasses.replace(p, facilitator="F01") for p in base.drop_points)
    scenario = dataclasses.replace(
        base,
        drop_points=points,
        facilitators=(Facilitator("F01", "Siti Aminah", "0812-1111-2222"),),
        roster_file="kpm.csv",
    )
    roster = "drop_point,kpm_id,name,nik\n" + "".join(
        f"{p.id},{p.id}-{i},Rahasiawati {i},{3201000000000000 + i}\n"
        for p in points
        for i in range(p.kpm)
    )
    write_scenario(scenario, tmp_path / "in", side_files={"kpm.csv": roster.encode("utf-8")})
    run_pipeline(
        tmp_path / "in", tmp_path / "plan", overrides=FAST, options=PlannerOptions(workers=1)
    )
    plan = tmp_path / "plan"
    papers = sorted(p.relative_to(plan).as_posix() for p in (plan / "papers").rglob("*"))
    assert "papers/facilitators/F01.pdf" in papers and "papers/facilitators/F01.xlsx" in papers
    assert "papers/dinsos/summary.xlsx" in papers and "papers/dinsos/summary.pdf" in papers
    assert any(p.startswith("papers/dispatch/") for p in papers)
    # Names and NIKs: only in the roster's copy and the facilitators' PDFs (compressed there),
    # not in the same PDFs without names.
    assert "Rahasiawati" in _pdf_text(plan / "papers/facilitators/F01.pdf")
    unnamed = plan / "papers/facilitators/without_names/F01.pdf"
    assert "Rahasiawati" not in _pdf_text(unnamed) and "3201" not in _pdf_text(unnamed)
    assert "Siti Aminah" in _pdf_text(unnamed)  # the facilitator's own name stays
    for path in plan.rglob("*"):
        if not path.is_file() or path.name == "kpm.csv" or "without_names" in path.parts:
            continue
        data = path.read_bytes()
        assert b"Rahasiawati" not in data, path
        assert b"3201000000000" not in data, path


def _pdf_text(path: Path) -> str:
    """The text of a PDF's content streams, decoded (ReportLab writes ASCII85 of deflate)."""
    import base64
    import re
    import zlib

    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", path.read_bytes(), re.S):
        data = stream.strip()
        try:
            data = base64.a85decode(data.removesuffix(b"~>"))
            text.append(zlib.decompress(data).decode("latin-1"))
        except (ValueError, zlib.error):
            continue
    return "".join(text)
