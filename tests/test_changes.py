"""documents.changes: changes.csv and changes.md of a re-plan."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from documents.changes import CHANGES_COLUMNS, changes_csv, changes_md
from optimizer.replan import Change

SEP3, SEP7 = date(2020, 9, 3), date(2020, 9, 7)
ROWS = (
    Change("P1", "T-SEP", "kept", SEP3, "T1", SEP3, "T1", 50, 1500.0, ""),
    Change("P2", "T-SEP", "moved", SEP3, "T2", SEP7, "T1", 40, 1200.0, "truck_unavailable"),
    Change("P3", "T-SEP", "replacement", None, "", SEP7, "T1", 0, 30.0, "rejected"),
    Change("=P4", "T-SEP", "unassigned", None, "", None, "", 10, 300.0, "deadline"),
)
RECORD = {"as_of": "2020-09-03", "freeze_days": 1, "previous_plan_sha256": "ab" * 32}


def test_changes_csv_has_the_columns_and_one_row_per_change() -> None:
    rows = list(csv.reader(io.StringIO(changes_csv(ROWS).decode("utf-8"))))
    assert tuple(rows[0]) == CHANGES_COLUMNS
    assert rows[2] == [
        "P2", "T-SEP", "moved", "2020-09-03", "T2", "2020-09-07", "T1", "40", "1200",
        "truck_unavailable",
    ]  # fmt: skip
    assert rows[3][3] == "" and rows[3][5] == "2020-09-07"
    assert rows[4][0] == "'=P4"  # an id never reads as a formula


def test_changes_md_counts_and_lists_in_indonesian_by_default() -> None:
    text = changes_md(ROWS, RECORD)
    assert text.startswith("# Perubahan rencana per Kamis, 3 September 2020\n")
    assert "| tetap | 1 |" in text and "| dipindah | 1 |" in text and "| dibatalkan | 0 |" in text
    assert "## Dipindah" in text and "truk tidak tersedia" in text
    assert "## Penggantian" in text and "## Tidak terjadwal" in text
    assert "ab" * 32 in text
    assert "| P1 |" not in text  # kept rows are counted, not listed


def test_changes_md_in_english() -> None:
    text = changes_md(ROWS, RECORD, language="en")
    assert text.startswith("# Plan changes as of Thursday, 3 September 2020\n")
    assert "| moved | 1 |" in text and "truck unavailable" in text
    assert "## Replacement" in text


def test_changes_md_refuses_an_unknown_language() -> None:
    with pytest.raises(ValueError):
        changes_md(ROWS, RECORD, language="fr")
