"""Tests of geodata.cells, and that no paper or table of a plan folder holds a formula."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from openpyxl import load_workbook

from documents.plan_files import write_plan_folder
from geodata.cells import (
    FORMULA_TRIGGERS,
    spreadsheet_text,
    strip_invisible,
    unquote_spreadsheet_text,
)
from geodata.scenario_io import read_scenario
from geodata.scenario_writer import write_scenario
from optimizer.model import Scenario
from optimizer.solution import plan_from_dict, plan_to_dict
from tests.conftest import make_tiny_plan, make_tiny_scenario

HOSTILE = (
    '\x01=HYPERLINK("http://x","y")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\u200b=cmd",
    "\r=1",
    "\ufeff\u202e-1",
    " =1",
    "\uff1d1",  # full-width equals sign
)


NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
"""A plain number in CSV (``-6.560000``): a spreadsheet reads it as a number, not a formula."""


def _reads_as_formula(text: str) -> bool:
    """What a suspicious reader checks: the text, without invisible characters, is a formula."""
    seen = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))
    if text.lstrip(" ").startswith(("\t", "\r")):
        return True
    return unicodedata.normalize("NFKC", seen).lstrip().startswith(FORMULA_TRIGGERS)


@given(st.text())
@example('\x01=HYPERLINK("http://x","y")')
@example("\u200b=cmd")
@example("\t=1")
@example("\x00\r@x")
def test_spreadsheet_text_is_never_a_formula(text: str) -> None:
    safe = spreadsheet_text(text)
    assert not _reads_as_formula(safe)
    assert not safe.startswith(FORMULA_TRIGGERS)
    # Nothing is lost but invisible characters and the one quote.
    assert safe.removeprefix("'") == strip_invisible(text) or safe == strip_invisible(text)


@given(
    st.text(
        alphabet=st.characters(categories=("L", "N", "Zs")),
        min_size=1,
    ).filter(lambda s: not s[0].isspace())
)
@example("RW 01 Babakan")
@example("00042")
@example("Désa Ciherang – Utara")
def test_plain_names_are_unchanged(name: str) -> None:
    assert spreadsheet_text(name) == name


def test_each_trigger_gets_one_quote() -> None:
    assert spreadsheet_text("=1+1") == "'=1+1"
    assert spreadsheet_text("-2+3") == "'-2+3"
    assert spreadsheet_text('\x01=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert spreadsheet_text("\u200b=cmd") == "'=cmd"
    assert spreadsheet_text("\t=1") == "'\t=1"
    assert spreadsheet_text("a=b") == "a=b"
    assert spreadsheet_text("") == ""


def _rename(data: Any, names: dict[str, str]) -> Any:
    if isinstance(data, dict):
        # Keys too: the KPIs per tranche are keyed by tranche id.
        return {names.get(key, key): _rename(value, names) for key, value in data.items()}
    if isinstance(data, list):
        return [_rename(value, names) for value in data]
    if isinstance(data, str):
        return names.get(data, data)
    return data


def test_no_cell_of_a_plan_folder_is_a_formula(tmp_path: Path) -> None:
    base = make_tiny_scenario()
    old_ids = [point.id for point in base.drop_points]
    new_ids = dict(zip(old_ids, HOSTILE, strict=False))
    points = tuple(
        dataclasses.replace(
            point,
            id=new_ids[point.id],
            name=HOSTILE[(index + 4) % len(HOSTILE)],
            desa=HOSTILE[(index + 5) % len(HOSTILE)],
            kecamatan=HOSTILE[(index + 6) % len(HOSTILE)],
            rt="-",
        )
        for index, point in enumerate(base.drop_points)
    )
    scenario = make_tiny_scenario(drop_points=points)
    plan = plan_from_dict(_rename(plan_to_dict(make_tiny_plan()), new_ids))
    out = write_plan_folder(scenario, plan, tmp_path / "plan")

    # plan.json keeps ids exactly as the scenario has them.
    saved = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert {stop["drop_point"] for route in saved["routes"] for stop in route["stops"]} <= set(
        HOSTILE
    )

    workbooks = sorted(out.rglob("*.xlsx"))
    tables = sorted(out.rglob("*.csv"))
    assert len(workbooks) > 5 and len(tables) > 7
    numbers = 0
    for path in workbooks:
        for sheet in load_workbook(path).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path.name, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        assert not _reads_as_formula(cell.value), (path.name, cell.coordinate)
                    elif isinstance(cell.value, int | float):
                        numbers += 1
    assert numbers > 0  # kg and sacks are still number cells
    for path in tables:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            for row in csv.reader(stream):
                for value in row:
                    if not NUMBER.fullmatch(value):
                        assert not _reads_as_formula(value), (path.name, value)
    # A negative latitude in stops.csv is a number, not text with a quote.
    with (out / "stops.csv").open(encoding="utf-8", newline="") as stream:
        stops = list(csv.DictReader(stream))
    assert stops[0]["lat"].startswith("-6.")
    assert stops[0]["name"].startswith("'")


def test_plan_doc_states_the_rule_as_written() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "plan-format.md").read_text(encoding="utf-8")
    rule = next(line for line in doc.split("\n- ") if "no cell is a formula" in line)
    assert "(starting with `=`, `+`, `-`, `@`, tab or CR)" in " ".join(rule.split())
    assert set(FORMULA_TRIGGERS) == {"=", "+", "-", "@", "\t", "\r"}
    example = re.search(r"\(`(.+?)` becomes `(.+?)`", rule)
    assert example is not None
    assert spreadsheet_text(example[1]) == example[2]


@given(st.text())
@example("'=1")
@example("''+x")
@example("' =1")
@example("'\uff1d1")
@example("'")
def test_unquote_gives_back_what_was_written(text: str) -> None:
    cleaned = strip_invisible(text)
    assert unquote_spreadsheet_text(spreadsheet_text(text)) == cleaned


@given(st.text())
@example("'abc")
@example("'")
@example("''")
def test_unquote_takes_off_only_a_quote_before_a_formula(text: str) -> None:
    unquoted = unquote_spreadsheet_text(text)
    if unquoted != text:
        assert text == "'" + unquoted
        assert spreadsheet_text(unquoted) == text  # it is the quote bsb would have written


def test_text_already_quoted_gets_one_more_quote() -> None:
    assert spreadsheet_text("'=1") == "''=1"
    assert spreadsheet_text("'abc") == "'abc"
    assert unquote_spreadsheet_text("''=1") == "'=1"
    assert unquote_spreadsheet_text("'abc") == "'abc"


_HOSTILE_IDS = {
    "W1": "=W1",
    "T1": "+T1",
    "T2": "-T2",
    "00042": "@42",
    "P2": "'=P2",
    "P3": '=HYPERLINK("http://x","y")',
    "P4": "-4",
    "T-SEP": "=SEP",
    "T-OKT": "+OKT",
}
"""Every id of the tiny scenario as something a spreadsheet would run (already normalised)."""


def _hostile_scenario() -> Scenario:
    base = make_tiny_scenario()

    def hostile(index: int) -> str:
        return HOSTILE[index % len(HOSTILE)]

    ids = _HOSTILE_IDS
    return make_tiny_scenario(
        name="=cmd|' /C calc'!A0",
        warehouses=tuple(
            dataclasses.replace(w, id=ids[w.id], name=hostile(i))
            for i, w in enumerate(base.warehouses)
        ),
        trucks=tuple(
            dataclasses.replace(t, id=ids[t.id], warehouse_id=ids[t.warehouse_id], type="@x")
            for t in base.trucks
        ),
        drop_points=tuple(
            dataclasses.replace(
                p,
                id=ids[p.id],
                name=hostile(i + 1),
                desa=hostile(i + 2),
                kecamatan=hostile(i + 3),
                rt="-",
                rw="+1",
            )
            for i, p in enumerate(base.drop_points)
        ),
        tranches=tuple(
            dataclasses.replace(t, id=ids[t.id], name=hostile(i + 4))
            for i, t in enumerate(base.tranches)
        ),
    )


def test_no_cell_of_any_file_of_a_plan_folder_is_a_formula(tmp_path: Path) -> None:
    scenario = _hostile_scenario()
    plan = plan_from_dict(_rename(plan_to_dict(make_tiny_plan()), _HOSTILE_IDS))
    out = write_plan_folder(scenario, plan, tmp_path / "plan", write_scenario_copy=write_scenario)

    files = sorted(path for path in out.rglob("*") if path.is_file())
    workbooks = [path for path in files if path.suffix == ".xlsx"]
    tables = [path for path in files if path.suffix == ".csv"]
    assert {path.parent.name for path in tables} >= {"scenario", "papers", "plan"}
    assert len(workbooks) > 5
    for path in workbooks:
        for sheet in load_workbook(path).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path.name, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        assert not cell.value.startswith("="), (path.name, cell.coordinate)
                        assert not _reads_as_formula(cell.value), (path.name, cell.coordinate)
    for path in tables:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            for row in csv.reader(stream):
                for value in row:
                    if not NUMBER.fullmatch(value):
                        assert not _reads_as_formula(value), (path.relative_to(out), value)

    # The copy reads back as the scenario planned: ids (formula-like all) and names included,
    # but for what the writer drops from names (invisible characters, CR as LF) and the reader
    # trims (the blanks around a cell, where no quote protects them).
    def as_read(text: str) -> str:
        written = spreadsheet_text(text).replace("\r", "\n")
        return unquote_spreadsheet_text(written.strip())

    copy = read_scenario(out / "scenario")
    assert copy.name == scenario.name
    assert [w.id for w in copy.warehouses] == ["=W1"]
    assert copy.trucks == scenario.trucks
    for read, written in [
        *zip(copy.tranches, scenario.tranches, strict=True),
        *zip(copy.drop_points, scenario.drop_points, strict=True),
        *zip(copy.warehouses, scenario.warehouses, strict=True),
    ]:
        texts = {
            field: as_read(getattr(written, field))
            for field in ("name", "desa", "kecamatan", "rt", "rw")
            if hasattr(written, field)
        }
        assert read == dataclasses.replace(written, **texts)
