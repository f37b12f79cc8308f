"""Tests of documents.receipts_template: a plan's handovers as receipts a clerk only corrects."""

from __future__ import annotations

import csv
import dataclasses
import io
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from documents.plan_files import write_plan_folder
from documents.receipts_template import receipts_template_files, template_rows
from geodata.progress_io import RECEIPT_COLUMNS, read_progress
from geodata.sample import write_sample
from optimizer.model import Scenario, SolverSettings
from optimizer.planner import plan_scenario
from optimizer.solution import Plan
from tests.conftest import make_tiny_plan, make_tiny_scenario


@pytest.fixture(scope="module")
def sample_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, Plan]:
    """A real plan of a 40-point sample, with a deterministic budget."""
    folder = tmp_path_factory.mktemp("sample")
    scenario = write_sample(folder, n_drop_points=40, seed=3)
    scenario = dataclasses.replace(
        scenario, solver=SolverSettings(time_limit_s=10.0, seed=1, solution_limit=30)
    )
    return scenario, plan_scenario(scenario)


def _planned(plan: Plan, scenario: Scenario) -> Counter[tuple[str, str, date]]:
    """Families planned per (point, tranche, day)."""
    families: Counter[tuple[str, str, date]] = Counter()
    for route in plan.routes:
        for stop in route.stops:
            kg_per_kpm = scenario.tranche(stop.tranche).kg_per_kpm
            families[(stop.drop_point, stop.tranche, route.date)] += round(stop.kg / kg_per_kpm)
    return families


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_unedited_template_of_a_real_plan_reads_back_as_its_handovers(
    sample_plan: tuple[Scenario, Plan], suffix: str, tmp_path: Path
) -> None:
    scenario, plan = sample_plan
    assert plan.routes, "the sample plan delivers something"
    files = receipts_template_files(scenario, plan)
    (tmp_path / f"receipts{suffix}").write_bytes(files[f"receipts_template{suffix}"])
    progress = read_progress(tmp_path, scenario)
    stops = [stop for route in plan.routes for stop in route.stops]
    assert len(progress.receipts) == len(stops)
    assert all(r.kg_rejected == 0 and r.note == "" for r in progress.receipts)
    assert sum(r.kg_received for r in progress.receipts) == pytest.approx(
        sum(stop.kg for stop in stops)
    )
    read: Counter[tuple[str, str, date]] = Counter()
    for receipt in progress.receipts:
        read[(receipt.drop_point, receipt.tranche, receipt.date)] += receipt.families
    assert read == _planned(plan, scenario)


def test_rows_are_sorted_by_date_truck_trip_and_stop_order() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    routes = sorted(plan.routes, key=lambda r: (r.date, r.truck, r.trip))
    expected = [(s.drop_point, s.tranche, r.date, s.kg) for r in routes for s in r.stops]
    rows = template_rows(scenario, plan)
    assert [(r.drop_point, r.tranche, r.date, r.kg_received) for r in rows] == expected
    # Shuffling the routes in the plan changes nothing.
    reversed_plan = dataclasses.replace(plan, routes=tuple(reversed(plan.routes)))
    assert template_rows(scenario, reversed_plan) == rows


def test_template_has_exactly_the_receipts_columns_and_keeps_ids_as_text() -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    files = receipts_template_files(scenario, plan)
    assert set(files) == {"receipts_template.csv", "receipts_template.xlsx"}
    text = files["receipts_template.csv"].decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert tuple(lines[0]) == RECEIPT_COLUMNS
    assert "00042" in {line[0] for line in lines[1:]}
    sheet = load_workbook(io.BytesIO(files["receipts_template.xlsx"])).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == RECEIPT_COLUMNS
    assert "00042" in {row[0] for row in values[1:]}  # a text cell, not the number 42
    assert len(values) == len(lines)


def test_every_plan_folder_gets_the_template_in_papers(tmp_path: Path) -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    out = write_plan_folder(scenario, plan, tmp_path / "plan")
    for name, content in receipts_template_files(scenario, plan).items():
        assert (out / "papers" / name).read_bytes() == content
    progress = tmp_path / "progress"
    progress.mkdir()
    shutil.copy(out / "papers" / "receipts_template.csv", progress / "receipts.csv")
    assert len(read_progress(progress, scenario).receipts) == len(template_rows(scenario, plan))
