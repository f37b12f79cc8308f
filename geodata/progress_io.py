"""Read and validate a progress folder (what happened in the field) into a :class:`Progress`.

A progress folder holds up to four tables, each optional, each ``.csv`` or ``.xlsx`` read as
scenario tables are (``geodata.scenario_io``: encodings, ``;`` files with decimal commas, cells
trimmed, blank rows skipped, spreadsheet row numbers, columns in any case and order, extra
columns ignored, a close misspelling of a missing column reported):

``receipts``
    ``drop_point, tranche, date, families, kg_received`` and optional ``kg_rejected`` (empty:
    0), ``note``. One row per handover, from the signed TTB.
``unavailable``
    ``truck, from_date, to_date`` and optional ``note``: a truck out of service, both days
    included.
``stock_changes``
    ``warehouse, date, kg`` and optional ``note``: stock arriving (``kg`` > 0) or lost (< 0).
``closed``
    ``drop_point, from_date, to_date`` and optional ``note``: a drop point that cannot receive.

:func:`read_progress` checks every row against the scenario and raises one
:class:`optimizer.errors.InputError` naming file, row and field of every problem: unknown drop
points, tranches, trucks and warehouses; dates that are not ISO dates; ranges that end before
they start; numbers out of :data:`PROGRESS_NUMBER_BOUNDS` (no negative kg, whole families);
more families on a receipt than the point has, or on all receipts of a point and tranche
together; more kg rejected than received. ``kg_received`` need not be whole sacks (the field
weighs on scales). A table with a header and no rows is no problem: nothing of that kind
happened. Two files for one table (``receipts.csv`` and ``receipts.xlsx``), or a table file of
an unknown name (``reciepts.csv``) are problems, so that no file is silently left unread.

:func:`progress_files` writes a :class:`Progress` back as the four CSV files, which read back
equal (a re-plan's folder keeps this copy in ``progress/``). docs/progress-format.md is the
format's documentation.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeVar

from geodata.cells import spreadsheet_text, strip_invisible
from geodata.scenario_io import (
    _CSV_SUFFIXES,
    _SPREADSHEET_SUFFIXES,
    _locate_inside,
    _read_table,
    _Refused,
    _RowCells,
    _side_columns_usable,
    _Table,
    _TableSpec,
)
from geodata.scenario_writer import format_float
from optimizer.builder import (
    MAX_KPM_PER_POINT,
    NumberBounds,
    normalise_id,
    out_of_bounds,
    quoted,
)
from optimizer.errors import InputError, Problem, ProblemCollector
from optimizer.model import Scenario
from optimizer.progress import Closed, Progress, Receipt, StockChange, Unavailable

__all__ = [
    "CLOSED_COLUMNS",
    "PROGRESS_NUMBER_BOUNDS",
    "PROGRESS_TABLES",
    "RECEIPT_COLUMNS",
    "STOCK_CHANGE_COLUMNS",
    "UNAVAILABLE_COLUMNS",
    "progress_files",
    "read_progress",
]

RECEIPT_COLUMNS: Final = (
    "drop_point",
    "tranche",
    "date",
    "families",
    "kg_received",
    "kg_rejected",
    "note",
)
"""Columns of ``receipts.csv``, in the order bsb writes them (the receipts template too)."""
UNAVAILABLE_COLUMNS: Final = ("truck", "from_date", "to_date", "note")
STOCK_CHANGE_COLUMNS: Final = ("warehouse", "date", "kg", "note")
CLOSED_COLUMNS: Final = ("drop_point", "from_date", "to_date", "note")

_MAX_KG: Final = 100_000_000.0
"""As a warehouse's stock: far beyond any handover or delivery, only typing errors pass it."""

PROGRESS_NUMBER_BOUNDS: Mapping[str, NumberBounds] = MappingProxyType(
    {
        "receipts.families": NumberBounds(0, MAX_KPM_PER_POINT, whole=True),
        "receipts.kg_received": NumberBounds(0, _MAX_KG),
        "receipts.kg_rejected": NumberBounds(0, _MAX_KG),
        "stock_changes.kg": NumberBounds(-_MAX_KG, _MAX_KG),
    }
)
"""Range of every number of a progress folder, by ``table.column`` (docs/progress-format.md)."""

_RECEIPTS = _TableSpec(
    "receipts",
    "receipt",
    ("drop_point", "tranche", "date", "families", "kg_received"),
    ("kg_rejected", "note"),
)
_UNAVAILABLE = _TableSpec(
    "unavailable", "truck period", ("truck", "from_date", "to_date"), ("note",)
)
_STOCK_CHANGES = _TableSpec("stock_changes", "stock change", ("warehouse", "date", "kg"), ("note",))
_CLOSED = _TableSpec("closed", "closed period", ("drop_point", "from_date", "to_date"), ("note",))

PROGRESS_TABLES: Final = ("receipts", "unavailable", "stock_changes", "closed")
"""The tables of a progress folder, in the order they are read and written."""

_TABLE_SUFFIXES: Final = (*_CSV_SUFFIXES, *_SPREADSHEET_SUFFIXES, ".xls")
_SUGGESTED_FROM_MAX: Final = 1000
"""Most known ids searched for a "did you mean" hint (difflib compares with each)."""
_LISTED_IDS_MAX: Final = 10
"""A scenario with this many trucks (warehouses, ...) or fewer names them all in the message."""
"""As the scenario reader's: how close a column name must be to a missing one to be a typo."""

_HINTS: Mapping[str, str] = MappingProxyType(
    {
        "date": "an ISO date, e.g. 2020-09-07",
        "from_date": "an ISO date, e.g. 2020-09-07",
        "to_date": "an ISO date, e.g. 2020-09-08",
        "families": "a whole number of families, e.g. 50",
        "kg_received": "kg handed over, e.g. 750",
        "kg_rejected": "kg refused for poor quality, e.g. 30, or empty for none",
        "kg": "kg arriving (e.g. 5000) or lost (e.g. -300)",
    }
)

T = TypeVar("T")


def read_progress(folder: Path, scenario: Scenario) -> Progress:
    """Read a progress folder and check every row against ``scenario``.

    Parameters
    ----------
    folder
        Folder holding any of ``receipts``, ``unavailable``, ``stock_changes`` and ``closed``
        (``.csv`` or ``.xlsx``); an empty folder is no progress at all.
    scenario
        The scenario the progress is of: ids are checked against it, and families against its
        drop points' ``kpm``.

    Returns
    -------
    Progress
        Every row, in file order; ids as the scenario writes them (:func:`normalise_id`).

    Raises
    ------
    InputError
        Listing every problem found in every file, each with file, row and field.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            [
                Problem(
                    str(folder),
                    "progress folder not found; expected a folder holding receipts.csv, "
                    "unavailable.csv, stock_changes.csv or closed.csv (each optional)",
                )
            ]
        )
    problems = ProblemCollector()
    _report_unknown_files(folder, problems)
    checker = _Checker(scenario, problems)
    receipts, receipts_file = _rows(folder, _RECEIPTS, problems, checker.receipt)
    checker.check_families_per_point(receipts, receipts_file)
    progress = Progress(
        receipts=tuple(receipt for receipt, _ in receipts),
        unavailable=tuple(
            item for item, _ in _rows(folder, _UNAVAILABLE, problems, checker.unavailable)[0]
        ),
        stock_changes=tuple(
            item for item, _ in _rows(folder, _STOCK_CHANGES, problems, checker.stock_change)[0]
        ),
        closed=tuple(item for item, _ in _rows(folder, _CLOSED, problems, checker.closed)[0]),
    )
    if problems:
        raise problems.error()
    return progress


def progress_files(progress: Progress) -> dict[str, bytes]:
    """Write ``progress`` as the four CSV files of a progress folder, which read back equal.

    UTF-8 without byte-order mark, ``,``-separated, ``.`` decimals, ``\\n`` line ends, header
    row first, every table written (a header alone when it has no rows). Text goes through
    :func:`geodata.cells.spreadsheet_text` (never a formula; the reader takes its quote off),
    numbers are written so that they read back exactly, dates in ISO form.

    Parameters
    ----------
    progress
        What a progress folder said (as :func:`read_progress` returns it).

    Returns
    -------
    dict of str to bytes
        ``{"receipts.csv": ..., "unavailable.csv": ..., "stock_changes.csv": ...,
        "closed.csv": ...}``.
    """
    return {
        "receipts.csv": _csv_bytes(
            RECEIPT_COLUMNS,
            (
                (
                    _text(r.drop_point),
                    _text(r.tranche),
                    r.date.isoformat(),
                    str(r.families),
                    format_float(r.kg_received),
                    format_float(r.kg_rejected),
                    _text(r.note),
                )
                for r in progress.receipts
            ),
        ),
        "unavailable.csv": _csv_bytes(
            UNAVAILABLE_COLUMNS,
            (
                (_text(u.truck), u.from_date.isoformat(), u.to_date.isoformat(), _text(u.note))
                for u in progress.unavailable
            ),
        ),
        "stock_changes.csv": _csv_bytes(
            STOCK_CHANGE_COLUMNS,
            (
                (_text(s.warehouse), s.date.isoformat(), format_float(s.kg), _text(s.note))
                for s in progress.stock_changes
            ),
        ),
        "closed.csv": _csv_bytes(
            CLOSED_COLUMNS,
            (
                (_text(c.drop_point), c.from_date.isoformat(), c.to_date.isoformat(), _text(c.note))
                for c in progress.closed
            ),
        ),
    }


# --------------------------------------------------------------------------------------------
# Finding and reading the tables


def _report_unknown_files(folder: Path, problems: ProblemCollector) -> None:
    """Report table files bsb would not read: ignoring ``reciepts.csv`` loses every receipt."""
    known = {*PROGRESS_TABLES}
    for path in sorted(folder.iterdir()):
        # Hidden files, and the "~$receipts.xlsx" Excel keeps beside a workbook it has open.
        if path.name.startswith((".", "~$")) or path.suffix.lower() not in _TABLE_SUFFIXES:
            continue
        stem = path.stem.lower()
        if stem in known and path.suffix.lower() in (".csv", ".xlsx"):
            continue
        if stem in known:
            message = (
                f"unsupported file type '{path.suffix}'; save the {stem} table as .csv or .xlsx"
            )
        else:
            match = difflib.get_close_matches(stem, PROGRESS_TABLES, n=1, cutoff=0.6)
            hint = f"did you mean '{match[0]}{path.suffix}'? " if match else ""
            message = (
                f"unknown table; {hint}a progress folder holds only "
                f"{', '.join(f'{name}.csv' for name in PROGRESS_TABLES)} (or .xlsx)"
            )
        problems.append(Problem(path.name, message))


def _load(folder: Path, spec: _TableSpec, problems: ProblemCollector) -> _Table | None:
    """Read the table's one file and check its columns; None when absent or unusable."""
    found: list[tuple[str, Path | _Refused]] = []
    for suffix in (".csv", ".xlsx"):
        name = f"{spec.key}{suffix}"
        located = _locate_inside(folder, name)
        if located is not None:
            found.append((name, located))
    if not found:
        return None
    if len(found) > 1:
        names = " and ".join(name for name, _ in found)
        problems.append(Problem(found[0][0], f"both {names} are there; keep only the one to read"))
        return None
    name, located = found[0]
    if isinstance(located, _Refused):
        problems.append(Problem(name, f"'{name}' {located.reason}"))
        return None
    table = _read_table(located, name, spec, problems)
    if table is not None and not _side_columns_usable(table, spec, problems):
        return None
    return table


def _rows(
    folder: Path,
    spec: _TableSpec,
    problems: ProblemCollector,
    make: Callable[[_Row], T | None],
) -> tuple[list[tuple[T, int]], str]:
    """Each good row of the table made into an item, with its row number; and the file read."""
    table = _load(folder, spec, problems)
    if table is None:
        return [], spec.default_file
    items: list[tuple[T, int]] = []
    for index in range(len(table.rows)):
        row = _Row(_RowCells(table, index), spec.key, problems)
        item = make(row)
        row.flush()
        if item is not None and not row.bad:
            items.append((item, row.line))
    return items, table.file


class _Row:
    """One row's typed cells; every problem goes to the collector with file, row and field."""

    def __init__(self, cells: _RowCells, table: str, problems: ProblemCollector) -> None:
        self.cells = cells
        self.table = table
        self.file = cells.table.file
        self.line = cells.row
        self.bad = False
        self._problems = problems

    def problem(self, column: str, message: str) -> None:
        self.flush()
        self.bad = True
        self._problems.append(Problem(self.file, message, row=self.line, field=column))

    def flush(self) -> None:
        """Pass on what the cell reader found (numbers that do not parse, bad dates)."""
        for found in self.cells.found:
            self.bad = True
            self._problems.append(found)
        self.cells.found.clear()

    def _empty(self, column: str) -> None:
        if column not in self.cells.reported:  # a missing column is reported for the file
            self.problem(column, f"is empty; expected {_HINTS.get(column, 'a value')}")
        self.bad = True

    def reference(self, column: str) -> str | None:
        value = self.cells.text(column, required=True)
        if value is None:
            self._empty(column)
            return None
        return normalise_id(value)

    def text(self, column: str) -> str:
        # As the writer will write it (no invisible characters, "\n" line breaks), so that a
        # re-plan's progress/ copy reads back as what was read.
        text = strip_invisible(self.cells.text(column) or "")
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def day(self, column: str) -> date | None:
        value = self.cells.date_value(column)
        self.flush()
        if value is None and column not in self.cells.reported:
            self._empty(column)
        return value

    def number(self, column: str, *, default: float | None = None) -> float | None:
        value = self.cells.number(column, required=default is None)
        self.flush()
        if value is None:
            if column in self.cells.reported:
                self.bad = True
                return None
            if default is not None:
                return default
            self._empty(column)
            return None
        reason = out_of_bounds(value, PROGRESS_NUMBER_BOUNDS[f"{self.table}.{column}"])
        if reason is not None:
            self.problem(column, f"{quoted(self.cells.raw(column) or '')} {reason}")
            return None
        return value


class _Checker:
    """Turns rows into progress items, checking ids against the scenario."""

    def __init__(self, scenario: Scenario, problems: ProblemCollector) -> None:
        self.scenario = scenario
        self.problems = problems
        self.points = {point.id: point for point in scenario.drop_points}
        self.tranches = {tranche.id for tranche in scenario.tranches}
        self.trucks = {truck.id for truck in scenario.trucks}
        self.warehouses = {warehouse.id for warehouse in scenario.warehouses}

    def _known(
        self, row: _Row, column: str, value: str | None, ids: Collection[str], what: str
    ) -> str | None:
        if value is None:
            return None
        if value in ids:
            return value
        hint = ""
        if len(ids) <= _LISTED_IDS_MAX:
            hint = f"; the scenario's are {', '.join(sorted(ids))}"
        elif len(ids) <= _SUGGESTED_FROM_MAX:
            match = difflib.get_close_matches(value, sorted(ids), n=1, cutoff=0.6)
            hint = f" (did you mean {match[0]!r}?)" if match else ""
        row.problem(column, f"{quoted(value)} is not a {what} of the scenario{hint}")
        return None

    def _range(self, row: _Row) -> tuple[date, date] | None:
        start, end = row.day("from_date"), row.day("to_date")
        if start is None or end is None:
            return None
        if end < start:
            row.problem(
                "to_date",
                f"{end.isoformat()} is before from_date {start.isoformat()}; both days are "
                "included, so a single day has from_date = to_date",
            )
            return None
        return start, end

    def receipt(self, row: _Row) -> Receipt | None:
        point_id = self._known(
            row, "drop_point", row.reference("drop_point"), self.points, "drop point"
        )
        tranche = self._known(row, "tranche", row.reference("tranche"), self.tranches, "tranche")
        day = row.day("date")
        families = row.number("families")
        received_kg = row.number("kg_received")
        rejected_kg = row.number("kg_rejected", default=0.0)
        if point_id is not None and families is not None:
            kpm = self.points[point_id].kpm
            if families > kpm:
                row.problem(
                    "families",
                    f"{int(families)} families, but drop point {point_id!r} has {kpm} (kpm)",
                )
        if received_kg is not None and rejected_kg is not None and rejected_kg > received_kg:
            row.problem(
                "kg_rejected",
                f"{format_float(rejected_kg)} kg rejected is more than the "
                f"{format_float(received_kg)} kg received; rejected rice is part of what "
                "was handed over",
            )
        if (
            point_id is None
            or tranche is None
            or day is None
            or families is None
            or received_kg is None
            or rejected_kg is None
        ):
            return None
        return Receipt(
            point_id, tranche, day, int(families), received_kg, rejected_kg, row.text("note")
        )

    def check_families_per_point(self, receipts: Sequence[tuple[Receipt, int]], file: str) -> None:
        """All receipts of a point and tranche together serve at most the point's families."""
        rows: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for receipt, number in receipts:
            rows.setdefault((receipt.drop_point, receipt.tranche), []).append(
                (number, receipt.families)
            )
        for (point_id, tranche), numbered in rows.items():
            total = sum(families for _, families in numbered)
            kpm = self.points[point_id].kpm
            if total <= kpm:
                continue
            listed = ", ".join(str(number) for number, _ in numbered)
            self.problems.append(
                Problem(
                    file,
                    f"the receipts of drop point {point_id!r}, tranche {tranche!r} (rows "
                    f"{listed}) count {total} families, but the point has {kpm} (kpm)",
                    row=numbered[-1][0],
                    field="families",
                )
            )

    def unavailable(self, row: _Row) -> Unavailable | None:
        truck = self._known(row, "truck", row.reference("truck"), self.trucks, "truck")
        period = self._range(row)
        if truck is None or period is None:
            return None
        return Unavailable(truck, period[0], period[1], row.text("note"))

    def stock_change(self, row: _Row) -> StockChange | None:
        warehouse = self._known(
            row, "warehouse", row.reference("warehouse"), self.warehouses, "warehouse"
        )
        day = row.day("date")
        kg = row.number("kg")
        if warehouse is None or day is None or kg is None:
            return None
        return StockChange(warehouse, day, kg, row.text("note"))

    def closed(self, row: _Row) -> Closed | None:
        point_id = self._known(
            row, "drop_point", row.reference("drop_point"), self.points, "drop point"
        )
        period = self._range(row)
        if point_id is None or period is None:
            return None
        return Closed(point_id, period[0], period[1], row.text("note"))


# --------------------------------------------------------------------------------------------
# Writing


def _text(text: str) -> str:
    # As the scenario writer: never a formula, and no bare carriage return to split a row.
    return spreadsheet_text(text).replace("\r\n", "\n").replace("\r", "\n")


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    stream = io.StringIO(newline="")
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return stream.getvalue().encode("utf-8")
