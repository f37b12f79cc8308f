"""``docs/national-run.md`` stays true to the run folder and the command it documents."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from documents.national import ASSIGNMENT_COLUMNS, run_national
from optimizer.executors import InProcess
from tests.test_national_run import national_scenario

DOC = Path(__file__).resolve().parents[1] / "docs" / "national-run.md"


def _table_after(text: str, marker: str) -> set[str]:
    """Backticked names in the first column of the table that follows ``marker``."""
    rest = text.split(marker, 1)[1].lstrip("\n")
    table = rest.split("\n\n", 1)[0]
    names: set[str] = set()
    for row in table.splitlines():
        first = row.split("|")[1] if row.startswith("|") else ""
        names |= set(re.findall(r"`([^`]+)`", first))
    return names


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("doc") / "national"
    with InProcess() as executor:
        result = run_national(
            national_scenario(), out, executor=executor, time_limit_s=1.0, max_piece_points=25
        )
    assert result.finished, result.failures
    return out


def test_doc_lists_exactly_the_assignment_columns(doc: str) -> None:
    assert _table_after(doc, "`assignment.csv` columns:") == set(ASSIGNMENT_COLUMNS)


def test_doc_lists_exactly_the_run_json_keys(doc: str, run_folder: Path) -> None:
    run = json.loads((run_folder / "run.json").read_text(encoding="utf-8"))
    assert _table_after(doc, "`run.json` keys:") == set(run)
    pieces_row = next(line for line in doc.splitlines() if line.startswith("| `pieces` |"))
    assert set(re.findall(r"`(\w+)`", pieces_row)) - {"pieces"} == set(run["pieces"][0])
    options_row = next(line for line in doc.splitlines() if line.startswith("| `options` |"))
    assert set(run["options"]) <= set(re.findall(r"`(\w+)`", options_row))


def test_doc_lists_exactly_the_piece_file_keys(doc: str, run_folder: Path) -> None:
    piece = json.loads(next((run_folder / "pieces").iterdir()).read_text(encoding="utf-8"))
    assert _table_after(doc, "`pieces/<piece>.json` keys:") == set(piece)


def test_doc_names_every_entry_of_the_run_folder(doc: str, run_folder: Path) -> None:
    documented = _table_after(doc, "## The run folder")
    for entry in run_folder.iterdir():
        name = entry.name + ("/" if entry.is_dir() else "")
        assert name in documented or entry.name in {"plan.json", "summary", "map.html"}, name


def test_doc_options_are_the_commands(doc: str) -> None:
    help_text = CliRunner().invoke(main, ["plan", "--help"]).output
    options = _table_after(doc, "| option | meaning |\n|---|---|\n")
    for option in options:
        assert option.split()[0] in help_text, option
