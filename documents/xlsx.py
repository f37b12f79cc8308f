"""One way to write every xlsx paper: typed cells, a frozen filtered header, A4 print setup.

The papers of a 4,000-point plan are about 8,000 workbooks (a loading list per trip, a receipt
list per drop point). XlsxWriter writes a small workbook in about 1.5 ms where openpyxl takes
15 ms, mostly in building and serialising its object tree, so the papers are written with
XlsxWriter (openpyxl still reads the planners' spreadsheets).

Every cell is written by its Python type, never guessed from text:

- ``str``: a text cell, made safe by :func:`geodata.cells.spreadsheet_text` (no formula, no
  control characters); ids such as ``00042`` stay text;
- ``int`` and ``float``: a number, digits grouped as the reader's spreadsheet groups them;
- ``datetime``: a time of day (``hh:mm``); ``date``: a real date cell shown in the paper's
  language (``Senin, 7 September 2020``, locale ids ``[$-421]`` Bahasa Indonesia and
  ``[$-809]`` British English);
- ``None``: nothing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Final

import xlsxwriter

from geodata.cells import spreadsheet_text

Value = str | int | float | date | datetime | None
"""What a cell may hold."""

LONG_DATE_FORMATS: Final = {
    "id": "[$-421]dddd, d mmmm yyyy",
    "en": "[$-809]dddd, d mmmm yyyy",
}
"""A date cell with the weekday and month written out in the paper's language."""
SHORT_DATE_FORMATS: Final = {"id": "[$-421]d mmmm yyyy", "en": "[$-809]d mmmm yyyy"}
ISO_DATE_FORMAT: Final = "yyyy-mm-dd"
"""Dates a clerk types back in (the receipts template): the form the readers accept."""
TIME_FORMAT: Final = "hh:mm"
INTEGER_FORMAT: Final = "#,##0"
DECIMAL_FORMAT: Final = "#,##0.0##"
A4: Final = 9
"""XlsxWriter's paper code for A4."""


class Book:
    """An xlsx workbook written in memory.

    Parameters
    ----------
    date_format
        Number format of ``date`` cells (one of :data:`LONG_DATE_FORMATS`' values, say).
    """

    def __init__(self, date_format: str = ISO_DATE_FORMAT) -> None:
        self._stream = io.BytesIO()
        self._workbook = xlsxwriter.Workbook(
            self._stream,
            {
                "in_memory": True,
                # Text is text: never a formula, a link or a number because of how it looks.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        self._date_format = date_format
        self._formats: dict[tuple[str | None, bool, int | None, bool], Any] = {}

    def format(
        self,
        number: str | None = None,
        *,
        bold: bool = False,
        size: int | None = None,
        wrap: bool = False,
    ) -> Any:
        """Return the (shared) cell format with these properties."""
        key = (number, bold, size, wrap)
        found = self._formats.get(key)
        if found is None:
            properties: dict[str, Any] = {}
            if number is not None:
                properties["num_format"] = number
            if bold:
                properties["bold"] = True
            if size is not None:
                properties["font_size"] = size
            if wrap:
                properties["text_wrap"] = True
                properties["valign"] = "top"
            found = self._formats[key] = self._workbook.add_format(properties)
        return found

    def chart(self, options: dict[str, Any]) -> Any:
        """Add a chart (xlsxwriter's ``add_chart`` options); a sheet inserts it."""
        return self._workbook.add_chart(options)

    def sheet(self, name: str) -> Sheet:
        """Add a sheet named ``name`` (at most 31 characters, none of ``[]:*?/\\``)."""
        return Sheet(self, self._workbook.add_worksheet(name))

    def value_format(self, value: Value, bold: bool) -> Any:
        """Return the format of a cell holding ``value``."""
        if isinstance(value, datetime):
            return self.format(TIME_FORMAT, bold=bold)
        if isinstance(value, date):
            return self.format(self._date_format, bold=bold)
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = INTEGER_FORMAT if float(value).is_integer() else DECIMAL_FORMAT
            return self.format(number, bold=bold)
        return self.format(bold=True) if bold else None

    def finish(self) -> bytes:
        """Close the workbook and return the file's bytes."""
        self._workbook.close()
        return self._stream.getvalue()


class Sheet:
    """One sheet, filled a line at a time from the top."""

    def __init__(self, book: Book, worksheet: Any) -> None:
        self.book = book
        self.worksheet = worksheet
        self.row = 0
        """The next line's index (0-based)."""
        self.header_row: int | None = None
        self.columns = 0

    def line(
        self, values: Sequence[Value], *, bold: bool = False, first_bold: bool = False
    ) -> None:
        """Write ``values`` as the next line; ``bold`` all of it, or ``first_bold`` its label."""
        ws, row = self.worksheet, self.row
        for column, value in enumerate(values):
            strong = bold or (first_bold and column == 0)
            if value is None:
                continue
            cell_format = self.book.value_format(value, strong)
            if isinstance(value, str):
                ws.write_string(row, column, spreadsheet_text(value), cell_format)
            elif isinstance(value, datetime):
                ws.write_datetime(row, column, value.replace(tzinfo=None), cell_format)
            elif isinstance(value, date):
                ws.write_datetime(row, column, value, cell_format)
            else:
                ws.write_number(row, column, value, cell_format)
        self.row += 1

    def title(self, text: str) -> None:
        """Write the sheet's title line in large bold type."""
        self.worksheet.write_string(
            self.row, 0, spreadsheet_text(text), self.book.format(bold=True, size=13)
        )
        self.row += 1

    def skip(self) -> None:
        """Leave one line empty."""
        self.row += 1

    def header(self, labels: Sequence[str], widths: Sequence[float]) -> None:
        """Write the table's header line (bold, wrapped) and set the column widths."""
        header_format = self.book.format(bold=True, wrap=True)
        for column, (label, width) in enumerate(zip(labels, widths, strict=True)):
            self.worksheet.write_string(self.row, column, spreadsheet_text(label), header_format)
            self.worksheet.set_column(column, column, width)
        self.header_row = self.row
        self.columns = len(labels)
        self.row += 1

    def table_setup(
        self, *, landscape: bool = True, row_height_pt: float | None = None, filter: bool = True
    ) -> None:
        """Freeze the header, filter the table, print it on A4 fitted to the page width.

        The header line repeats on every printed page; as many pages down as needed.
        """
        ws = self.worksheet
        if self.header_row is not None:
            ws.freeze_panes(self.header_row + 1, 0)
            ws.repeat_rows(self.header_row)
            if filter:
                last_row = max(self.row - 1, self.header_row)
                ws.autofilter(self.header_row, 0, last_row, max(self.columns - 1, 0))
        ws.set_paper(A4)
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)
        if row_height_pt is not None:
            # One sheet-wide default instead of a height per line: room to sign by hand.
            ws.set_default_row(row_height_pt)
