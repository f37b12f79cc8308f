"""Tests of geodata.progress_io: reading a progress folder, every problem at once, and back."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from geodata.progress_io import (
    CLOSED_COLUMNS,
    RECEIPT_COLUMNS,
    STOCK_CHANGE_COLUMNS,
    UNAVAILABLE_COLUMNS,
    progress_files,
    read_progress,
)
from optimizer.errors import InputError, Problem
from optimizer.progress import Closed, Progress, Receipt, StockChange, Unavailable
from tests.conftest import make_tiny_scenario, the_problem

TINY = make_tiny_scenario()  # points 00042 (50 kpm), P2 (40), P3 (120), P4 (30)


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _problems(folder: Path) -> tuple[Problem, ...]:
    with pytest.raises(InputError) as caught:
        read_progress(folder, TINY)
    return caught.value.problems


# --------------------------------------------------------------------------------------------
# Valid folders


def test_an_empty_folder_is_no_progress(tmp_path: Path) -> None:
    assert read_progress(tmp_path, TINY) == Progress()


def test_every_table_is_read_in_file_order_with_ids_as_the_scenario_has_them(
    tmp_path: Path,
) -> None:
    folder = _write(
        tmp_path,
        {
            # Columns in another order and case, an extra column, an id with a zero-width
            # space, an empty kg_rejected (none rejected).
            "receipts.csv": "Tranche,drop_point,date,families,kg_received,kg_rejected,note,ttb\n"
            "T-SEP,00042\u200b,2020-09-07,50,1500,30,2 karung basah,TTB-1\n"
            "T-OKT,P2,2020-10-05,40,600,,,\n",
            "unavailable.csv": "truck,from_date,to_date,note\nT2,2020-09-08,2020-09-09,rusak\n",
            "stock_changes.csv": "warehouse,date,kg,note\nW1,2020-09-10,-300.5,hilang\n",
            "closed.csv": "drop_point,from_date,to_date\nP3,2020-09-08,2020-09-08\n",
        },
    )
    assert read_progress(folder, TINY) == Progress(
        receipts=(
            Receipt("00042", "T-SEP", date(2020, 9, 7), 50, 1500.0, 30.0, "2 karung basah"),
            Receipt("P2", "T-OKT", date(2020, 10, 5), 40, 600.0, 0.0, ""),
        ),
        unavailable=(Unavailable("T2", date(2020, 9, 8), date(2020, 9, 9), "rusak"),),
        stock_changes=(StockChange("W1", date(2020, 9, 10), -300.5, "hilang"),),
        closed=(Closed("P3", date(2020, 9, 8), date(2020, 9, 8), ""),),
    )


def test_a_table_with_a_header_and_no_rows_says_nothing_happened(tmp_path: Path) -> None:
    folder = _write(tmp_path, {"receipts.csv": ",".join(RECEIPT_COLUMNS) + "\n"})
    assert read_progress(folder, TINY) == Progress()


def test_xlsx_tables_with_date_and_number_cells_are_read(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(RECEIPT_COLUMNS))
    sheet.append(["00042", "T-SEP", date(2020, 9, 7), 50, 1500, 0, None])
    workbook.save(tmp_path / "receipts.xlsx")
    progress = read_progress(tmp_path, TINY)
    assert progress.receipts == (Receipt("00042", "T-SEP", date(2020, 9, 7), 50, 1500.0, 0.0),)


def test_semicolon_files_with_decimal_commas_are_read(tmp_path: Path) -> None:
    folder = _write(tmp_path, {"stock_changes.csv": "warehouse;date;kg\nW1;2020-09-10;1.500,5\n"})
    assert read_progress(folder, TINY).stock_changes == (
        StockChange("W1", date(2020, 9, 10), 1500.5),
    )


# --------------------------------------------------------------------------------------------
# Problems


def test_every_problem_of_every_file_is_named_with_file_row_and_field(tmp_path: Path) -> None:
    folder = _write(
        tmp_path,
        {
            "receipts.csv": "drop_point,tranche,date,families,kg_received,kg_rejected\n"
            "P9,T-SEP,2020-09-07,5,150,0\n"  # row 2: unknown point
            "P2,T-XX,2020-9-7,41,100,200\n"  # row 3: tranche, date, families, rejected
            "P4,T-SEP,2020-09-07,2.5,-1,\n"  # row 4: whole families, negative kg
            ",T-SEP,2020-09-07,1,15,0\n",  # row 5: empty drop point
            "unavailable.csv": "truck,from_date,to_date\n"
            "T1,2020-09-08,2020-09-07\n"  # row 2: ends before it starts
            "T3,2020-09-08,2020-09-09\n",  # row 3: unknown truck
            "stock_changes.csv": "warehouse,date,kg\nW2,2020-09-08,abc\n",  # row 2: two
            "closed.csv": "drop_pont,from_date,to_date\nP3,2020-09-08,2020-09-08\n",
        },
    )
    problems = _problems(folder)
    expected = {
        ("receipts.csv", 2, "drop_point"),
        ("receipts.csv", 3, "tranche"),
        ("receipts.csv", 3, "date"),
        ("receipts.csv", 3, "families"),
        ("receipts.csv", 3, "kg_rejected"),
        ("receipts.csv", 4, "families"),
        ("receipts.csv", 4, "kg_received"),
        ("receipts.csv", 5, "drop_point"),
        ("unavailable.csv", 2, "to_date"),
        ("unavailable.csv", 3, "truck"),
        ("stock_changes.csv", 2, "warehouse"),
        ("stock_changes.csv", 2, "kg"),
        ("closed.csv", None, "drop_point"),
        ("closed.csv", 1, "drop_pont"),
    }
    assert {(p.file, p.row, p.field) for p in problems} == expected
    assert len(problems) == len(expected)
    assert "41 families, but drop point 'P2' has 40" in str(
        the_problem(problems, "receipts.csv", 3, "families")
    )
    assert "more than the 100 kg received" in str(
        the_problem(problems, "receipts.csv", 3, "kg_rejected")
    )
    assert "the scenario's are T1, T2" in str(the_problem(problems, "unavailable.csv", 3, "truck"))
    assert "did you mean 'drop_point'" in str(the_problem(problems, "closed.csv", 1, "drop_pont"))


def test_families_summed_over_a_points_receipts_may_not_pass_its_kpm(tmp_path: Path) -> None:
    folder = _write(
        tmp_path,
        {
            "receipts.csv": "drop_point,tranche,date,families,kg_received\n"
            "P2,T-SEP,2020-09-07,30,900\n"
            "P2,T-OKT,2020-10-07,40,600\n"  # another tranche: its own 40
            "P2,T-SEP,2020-09-09,11,330\n",
        },
    )
    problem = the_problem(_problems(folder), "receipts.csv", 4, "families")
    assert "(rows 2, 4) count 41 families, but the point has 40" in problem.message


def test_two_files_for_one_table_and_unknown_table_files_are_problems(tmp_path: Path) -> None:
    header = ",".join(RECEIPT_COLUMNS) + "\n"
    folder = _write(tmp_path, {"receipts.csv": header, "reciepts.csv": header, "closed.txt": ""})
    Workbook().save(folder / "receipts.xlsx")
    problems = _problems(folder)
    assert (
        "both receipts.csv and receipts.xlsx"
        in the_problem(problems, "receipts.csv", None, None).message
    )
    typo = the_problem(problems, "reciepts.csv", None, None)
    assert "did you mean 'receipts.csv'" in typo.message
    assert "unsupported file type" in the_problem(problems, "closed.txt", None, None).message


def test_the_lock_file_of_a_workbook_open_in_excel_is_no_problem(tmp_path: Path) -> None:
    (tmp_path / "~$receipts.xlsx").write_bytes(b"owner")
    assert read_progress(tmp_path, TINY) == Progress()


def test_a_missing_folder_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_progress(tmp_path / "nowhere", TINY)
    assert len(caught.value.problems) == 1


# --------------------------------------------------------------------------------------------
# Writing back


def test_progress_files_are_the_four_tables_with_their_columns() -> None:
    files = progress_files(Progress())
    headers = {name: next(csv.reader(io.StringIO(data.decode()))) for name, data in files.items()}
    assert headers == {
        "receipts.csv": list(RECEIPT_COLUMNS),
        "unavailable.csv": list(UNAVAILABLE_COLUMNS),
        "stock_changes.csv": list(STOCK_CHANGE_COLUMNS),
        "closed.csv": list(CLOSED_COLUMNS),
    }


def test_what_was_read_is_what_progress_files_write_back(tmp_path: Path) -> None:
    notes = ["dua\u200b karung", "baris 1\r\nbaris 2", "=1+1", "'-3", "-"]
    rows = "".join(f'P3,T-OKT,2020-10-0{i + 1},1,15,0,"{note}"\r\n' for i, note in enumerate(notes))
    folder = _write(tmp_path / "field", {"receipts.csv": ",".join(RECEIPT_COLUMNS) + "\n" + rows})
    progress = read_progress(folder, TINY)
    assert [r.note for r in progress.receipts] == [
        "dua karung",
        "baris 1\nbaris 2",
        "=1+1",
        "-3",  # the quote a spreadsheet writer puts before a formula-like text comes off
        "-",
    ]
    copy = tmp_path / "copy"
    copy.mkdir()
    for name, content in progress_files(progress).items():
        (copy / name).write_bytes(content)
    assert read_progress(copy, TINY) == progress


_notes = (
    st.text(
        alphabet=st.characters(
            whitelist_categories=("L", "N", "P", "S", "Zs"), blacklist_characters="\u2028\u2029"
        ),
        max_size=15,
    )
    # The reader trims cells, as a spreadsheet user expects.
    .map(str.strip)
)
_days = st.dates(date(2020, 1, 1), date(2021, 12, 31))
_kg = st.floats(0, 1e6, allow_nan=False)


@st.composite
def _receipts(draw: st.DrawFn) -> Receipt:
    received = draw(_kg)
    share = draw(st.floats(0, 1))
    return Receipt(
        draw(st.sampled_from([p.id for p in TINY.drop_points])),
        draw(st.sampled_from([t.id for t in TINY.tranches])),
        draw(_days),
        # Six receipts of at most 5 families never pass the smallest point's 30.
        draw(st.integers(0, 5)),
        received,
        received * share,
        draw(_notes),
    )


@st.composite
def _period(draw: st.DrawFn) -> tuple[date, date]:
    first, second = draw(_days), draw(_days)
    return min(first, second), max(first, second)


@st.composite
def _progress(draw: st.DrawFn) -> Progress:
    periods = draw(st.lists(_period(), max_size=6))
    return Progress(
        receipts=tuple(draw(st.lists(_receipts(), max_size=6))),
        unavailable=tuple(
            Unavailable(draw(st.sampled_from(["T1", "T2"])), start, end, draw(_notes))
            for start, end in periods[:3]
        ),
        stock_changes=tuple(
            StockChange("W1", day, kg, note)
            for day, kg, note in draw(
                st.lists(st.tuples(_days, st.floats(-1e8, 1e8), _notes), max_size=4)
            )
        ),
        closed=tuple(
            Closed(draw(st.sampled_from(["00042", "P3"])), start, end, draw(_notes))
            for start, end in periods[3:]
        ),
    )


@settings(max_examples=40, deadline=None)
@given(_progress())
@example(
    Progress(
        receipts=(Receipt("00042", "T-SEP", date(2020, 9, 7), 1, 0.1, 0.1, "=SUM(A1) -2"),),
        stock_changes=(StockChange("W1", date(2020, 9, 7), -5e-324, "'=quoted"),),
    )
)
def test_progress_files_read_back_equal(progress: Progress) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for file, content in progress_files(progress).items():
            (folder / file).write_bytes(content)
        assert read_progress(folder, TINY) == progress
