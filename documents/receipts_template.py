"""The receipts template: a plan's handovers as a ``receipts.csv`` a clerk only corrects.

Every plan folder gets ``papers/receipts_template.csv`` and ``papers/receipts_template.xlsx``
with exactly the columns of a progress folder's ``receipts`` table
(:data:`geodata.progress_io.RECEIPT_COLUMNS`, English names: the file is read back by
``bsb replan``, not printed) and one row per planned handover, sorted by date, truck, trip and
stop order: ``families`` and ``kg_received`` as planned, ``kg_rejected`` 0, ``note`` empty.
A clerk deletes the rows of stops that did not happen and types what differs; the file, saved
as ``receipts.csv`` (or ``.xlsx``) in a progress folder, then says what happened. Unedited, it
reads back as valid receipts (every planned stop delivered in full).

A re-plan's routes already done (``status`` ``"done"``) have their receipts; they are left
out. A replacement stop (``kind`` ``"replacement"``) hands rice to families already counted by
the receipt it replaces, so its row counts 0 families.

The CSV is UTF-8 with a byte-order mark (so that Excel guesses the encoding), ``,``-separated,
``.`` decimals, ISO dates; the ``.xlsx`` has a bold, frozen header, ids as text cells (``00042``
stays ``00042``) and dates as date cells shown ``yyyy-mm-dd``. Text never reads as a formula
(:func:`geodata.cells.spreadsheet_text`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Final

from documents.xlsx import ISO_DATE_FORMAT, Book
from geodata.cells import spreadsheet_text
from geodata.progress_io import RECEIPT_COLUMNS
from geodata.scenario_writer import format_float
from optimizer.model import Scenario
from optimizer.solution import Plan

__all__ = ["TEMPLATE_STEM", "TemplateRow", "receipts_template_files", "template_rows"]

TEMPLATE_STEM: Final = "receipts_template"
"""File name, without suffix, of the template in a plan's ``papers/``."""

_DONE: Final = "done"
_REPLACEMENT: Final = "replacement"
_XLSX_WIDTHS: Final = (14.0, 10.0, 12.0, 9.0, 12.0, 12.0, 30.0)


@dataclass(frozen=True, slots=True)
class TemplateRow:
    """One planned handover, as a row of ``receipts.csv``."""

    drop_point: str
    tranche: str
    date: date
    families: int
    kg_received: float
    kg_rejected: float = 0.0
    note: str = ""


def template_rows(scenario: Scenario, plan: Plan) -> list[TemplateRow]:
    """Return the plan's handovers not yet done, in the order a clerk meets them.

    Parameters
    ----------
    scenario
        The scenario of the plan (kg per family of each tranche).
    plan
        The plan.

    Returns
    -------
    list of TemplateRow
        One per stop of every route not ``done``, sorted by date, truck, trip and stop order.

    Raises
    ------
    KeyError
        If the plan names a tranche the scenario does not have.
    """
    rows: list[TemplateRow] = []
    routes = sorted(plan.routes, key=lambda route: (route.date, route.truck, route.trip))
    for route in routes:
        # getattr: the status and kind fields come with re-plans; a plain plan has neither.
        if route.status == _DONE:
            continue
        for stop in route.stops:
            kg_per_kpm = scenario.tranche(stop.tranche).kg_per_kpm
            replacement = stop.kind == _REPLACEMENT
            families = 0 if replacement else round(stop.kg / kg_per_kpm)
            rows.append(TemplateRow(stop.drop_point, stop.tranche, route.date, families, stop.kg))
    return rows


def receipts_template_files(scenario: Scenario, plan: Plan) -> dict[str, bytes]:
    """Render the template as CSV and ``.xlsx``.

    Parameters
    ----------
    scenario
        The scenario of the plan.
    plan
        The plan.

    Returns
    -------
    dict of str to bytes
        ``{"receipts_template.csv": ..., "receipts_template.xlsx": ...}``, names relative to
        the plan's ``papers/``.
    """
    rows = template_rows(scenario, plan)
    return {
        f"{TEMPLATE_STEM}.csv": _csv_bytes(rows),
        f"{TEMPLATE_STEM}.xlsx": _xlsx_bytes(rows),
    }


def _csv_bytes(rows: list[TemplateRow]) -> bytes:
    stream = io.StringIO(newline="")
    writer = csv.writer(stream, lineterminator="\r\n")  # what Excel writes and expects
    writer.writerow(RECEIPT_COLUMNS)
    for row in rows:
        writer.writerow(
            (
                spreadsheet_text(row.drop_point),
                spreadsheet_text(row.tranche),
                row.date.isoformat(),
                row.families,
                format_float(row.kg_received),
                format_float(row.kg_rejected),
                spreadsheet_text(row.note),
            )
        )
    # utf-8-sig: the byte-order mark tells Excel the file is UTF-8; the reader accepts it.
    return stream.getvalue().encode("utf-8-sig")


def _xlsx_bytes(rows: list[TemplateRow]) -> bytes:
    # Dates as real date cells shown as the readers accept them typed back (2020-09-07);
    # ids are text cells whatever they look like: 00042 must not become 42.
    book = Book(ISO_DATE_FORMAT)
    sheet = book.sheet("receipts")
    sheet.header(RECEIPT_COLUMNS, _XLSX_WIDTHS)
    for row in rows:
        sheet.line(
            (
                row.drop_point,
                row.tranche,
                row.date,
                row.families,
                row.kg_received,
                row.kg_rejected,
                row.note or None,
            )
        )
    sheet.table_setup(landscape=False)
    return book.finish()
