"""Papers for the offices: the Dinas Sosial summary and the warehouses' daily dispatch sheets.

Pure functions from a scenario and a plan to bytes; writing files is the caller's job. No
family's name or NIK appears here (the roster is not read).

* :func:`dinsos_summary_xlsx` / :func:`dinsos_summary_pdf`: one line per kecamatan, desa and
  tranche: families, families served, kg delivered, first and last delivery date, families not
  served and why (the plan's reasons, :func:`geodata.i18n.reason_label`). The workbook's second
  sheet (``Kurva``/``Curve``) is the families' waiting: per tranche and delivery day, families
  served that day, so far and their share (:func:`optimizer.waiting.waiting_curves`); the PDF
  says the same per tranche in a short block above the table
  (:func:`geodata.waiting_text.waiting_lines`).
* :func:`dispatch_sheets`: per warehouse one xlsx with one sheet per day: each trip's truck,
  trip number, departure and return time, stops, sacks and kg, with the day's total.

Words are Bahasa Indonesia by default, English with ``language="en"`` (:class:`OfficeText`);
xlsx dates are date cells, numbers are numbers, the header row is frozen, filtered and
repeated on every printed A4 page.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import unique
from typing import Any, Final

from documents.facilitator_papers import printable
from documents.xlsx import SHORT_DATE_FORMATS, Book
from geodata.files import unique_stems
from geodata.i18n import (
    WordTable,
    format_kg,
    format_long_date,
    format_short_date,
    language_index,
    plain_number,
    reason_label,
)
from geodata.waiting_text import day_fraction, step_points, waiting_lines
from optimizer.model import Scenario
from optimizer.solution import Plan
from optimizer.waiting import WaitingCurve, waiting_curves

__all__ = ["OfficeText", "dinsos_summary_pdf", "dinsos_summary_xlsx", "dispatch_sheets"]

_DONE: Final = "done"
CURVE_WIDTH_MM: Final = 60.0
CURVE_HEIGHT_MM: Final = 12.0
"""Size of each tranche's curve in the Dinas Sosial PDF."""
WAITING_ROOM_PT: Final = 150.0
"""Room the first page of the Dinas Sosial PDF keeps under the waiting block for its table."""
_REPLACEMENT: Final = "replacement"


@unique
class OfficeText(WordTable):
    """Every fixed word of the office papers: ``(Bahasa Indonesia, English)``."""

    SUMMARY = ("Rekap penyaluran untuk Dinas Sosial", "Distribution summary for Dinas Sosial")
    SUMMARY_SHEET = ("Rekap", "Summary")
    KECAMATAN = ("Kecamatan", "District")
    DESA = ("Desa/Kelurahan", "Village")
    TRANCHE = ("Tahap", "Tranche")
    FAMILIES = ("Jumlah KPM", "Families")
    SERVED = ("KPM terlayani", "Families served")
    KG = ("Beras tersalur (kg)", "Rice delivered (kg)")
    FIRST = ("Tanggal pertama", "First date")
    LAST = ("Tanggal terakhir", "Last date")
    NOT_SERVED = ("KPM belum terlayani", "Families not served")
    REASON = ("Alasan", "Reason")
    TOTAL = ("Jumlah", "Total")
    DISPATCH = ("Lembar keberangkatan harian", "Daily dispatch sheet")
    WAREHOUSE = ("Gudang", "Warehouse")
    DATE = ("Tanggal", "Date")
    TRUCK = ("Truk", "Truck")
    TRIP = ("Rit", "Trip")
    DEPART = ("Berangkat", "Departure")
    RETURN = ("Kembali", "Return")
    STOPS = ("Jumlah titik", "Stops")
    SACKS = ("Karung", "Sacks")
    LOAD_KG = ("Muatan (kg)", "Load (kg)")
    PAGE = ("Halaman", "Page")
    CURVE_SHEET = ("Kurva", "Curve")
    CURVE_TITLE = ("KPM terlayani per tanggal", "Families served by date")
    SERVED_ON_DAY = ("KPM terlayani hari itu", "Families served that day")
    SERVED_SO_FAR = ("KPM terlayani s.d. tanggal ini", "Families served up to this date")
    SHARE = ("Persentase KPM terlayani (%)", "Share of families served (%)")
    WAITING = ("Waktu tunggu KPM", "Families' waiting")


@dataclass(slots=True)
class _SummaryLine:
    kecamatan: str
    desa: str
    tranche: str
    families: int = 0
    served: int = 0
    kg: float = 0.0
    dates: set[date] = field(default_factory=set)
    reasons: set[str] = field(default_factory=set)

    @property
    def not_served(self) -> int:
        return max(self.families - self.served, 0)


def _summary(scenario: Scenario, plan: Plan, language: str) -> list[_SummaryLine]:
    lines: dict[tuple[str, str, str], _SummaryLine] = {}
    for point in scenario.drop_points:
        for tranche in scenario.tranches:
            key = (point.kecamatan, point.desa, tranche.id)
            line = lines.setdefault(key, _SummaryLine(*key))
            line.families += point.kpm
    delivered: dict[tuple[str, str], float] = defaultdict(float)
    for route in plan.routes:
        for stop in route.stops:
            point = scenario.drop_point(stop.drop_point)
            line = lines[(point.kecamatan, point.desa, stop.tranche)]
            line.kg += stop.kg
            line.dates.add(route.date)
            if stop.kind != _REPLACEMENT:
                delivered[(point.id, stop.tranche)] += stop.kg
    for (point_id, tranche_id), kg in delivered.items():
        point = scenario.drop_point(point_id)
        tranche = scenario.tranche(tranche_id)
        if tranche.kg_per_kpm:
            served = math.floor(kg / tranche.kg_per_kpm + 1e-6)
            lines[(point.kecamatan, point.desa, tranche_id)].served += min(served, point.kpm)
    for item in plan.unassigned:
        point = scenario.drop_point(item.drop_point)
        lines[(point.kecamatan, point.desa, item.tranche)].reasons.add(
            reason_label(item.reason_code, language)
        )
    return [lines[key] for key in sorted(lines)]


_SUMMARY_COLUMNS: Final = (
    (OfficeText.KECAMATAN, 18.0),
    (OfficeText.DESA, 20.0),
    (OfficeText.TRANCHE, 9.0),
    (OfficeText.FAMILIES, 10.0),
    (OfficeText.SERVED, 10.0),
    (OfficeText.KG, 13.0),
    (OfficeText.FIRST, 17.0),
    (OfficeText.LAST, 17.0),
    (OfficeText.NOT_SERVED, 11.0),
    (OfficeText.REASON, 40.0),
)


def _summary_rows(lines: Sequence[_SummaryLine]) -> list[tuple[Any, ...]]:
    return [
        (
            line.kecamatan,
            line.desa,
            line.tranche,
            line.families,
            line.served,
            plain_number(line.kg),
            min(line.dates) if line.dates else None,
            max(line.dates) if line.dates else None,
            line.not_served,
            "; ".join(sorted(line.reasons)) if line.not_served else "",
        )
        for line in lines
    ]


def dinsos_summary_xlsx(scenario: Scenario, plan: Plan, *, language: str = "id") -> bytes:
    """Render the Dinas Sosial summary as an xlsx workbook.

    Parameters
    ----------
    scenario, plan
        The scenario and its plan.
    language
        ``"id"`` (default) or ``"en"``.

    Returns
    -------
    bytes
        Two sheets. ``Rekap``/``Summary``: a line per kecamatan, desa and tranche (sorted) and
        a total line. ``Kurva``/``Curve``: per tranche its dates reaching 95 % and 100 % and
        its mean wait, then a line per tranche and delivery day (date cell): families served
        that day, up to that day, all the tranche's families and the share served (%).

    Raises
    ------
    ValueError
        If ``language`` is not ``"id"`` or ``"en"``.
    """
    language_index(language)
    lines = _summary(scenario, plan, language)
    rows = _summary_rows(lines)
    total = (
        OfficeText.TOTAL.label(language),
        "",
        "",
        sum(line.families for line in lines),
        sum(line.served for line in lines),
        plain_number(sum(line.kg for line in lines)),
        None,
        None,
        sum(line.not_served for line in lines),
        "",
    )
    book = Book(SHORT_DATE_FORMATS[language])
    # The sheet is named in the reader's language, not a default "Sheet".
    _table(
        book,
        OfficeText.SUMMARY_SHEET.label(language),
        OfficeText.SUMMARY.label(language),
        _SUMMARY_COLUMNS,
        rows,
        total,
        language,
        title_lines=(),
    )
    _curve_sheet(book, waiting_curves(scenario, plan), language)
    return book.finish()


_CURVE_COLUMNS: Final = (
    (OfficeText.TRANCHE, 9.0),
    (OfficeText.DATE, 17.0),
    (OfficeText.SERVED_ON_DAY, 14.0),
    (OfficeText.SERVED_SO_FAR, 16.0),
    (OfficeText.FAMILIES, 10.0),
    (OfficeText.SHARE, 14.0),
)


def _curve_sheet(book: Book, curves: Sequence[WaitingCurve], language: str) -> None:
    """Add the families' waiting: a line per tranche and delivery day (no total: it is a curve)."""
    sheet = book.sheet(OfficeText.CURVE_SHEET.label(language))
    sheet.title(OfficeText.CURVE_TITLE.label(language))
    for curve in curves:
        sheet.line(
            (
                f"{OfficeText.TRANCHE.label(language)} {curve.tranche}: "
                f"{waiting_lines(curve, language)[1]}",
            )
        )
    sheet.skip()
    sheet.header(
        [text.label(language) for text, _ in _CURVE_COLUMNS],
        [width for _, width in _CURVE_COLUMNS],
    )
    rows: list[tuple[WaitingCurve, int, int]] = []  # each tranche's first and last line
    for curve in curves:
        before = 0
        first = sheet.row
        for day, served in curve.points:
            share = 100 * served / curve.families_total if curve.families_total else 100.0
            sheet.line(
                (curve.tranche, day, served - before, served, curve.families_total, round(share, 1))
            )
            before = served
        if curve.points:
            rows.append((curve, first, sheet.row - 1))
    sheet.table_setup(landscape=False)
    if not rows or sheet.header_row is None:
        return
    # The curves themselves, beside the table: share served (%) against the date, a line each.
    chart = book.chart({"type": "scatter", "subtype": "straight_with_markers"})
    name = sheet.worksheet.name
    date_column, share_column = 1, len(_CURVE_COLUMNS) - 1
    for curve, first, last in rows:
        chart.add_series(
            {
                "name": f"{OfficeText.TRANCHE.label(language)} {curve.tranche}",
                "categories": [name, first, date_column, last, date_column],
                "values": [name, first, share_column, last, share_column],
            }
        )
    chart.set_title({"name": OfficeText.CURVE_TITLE.label(language)})
    chart.set_x_axis({"name": OfficeText.DATE.label(language), "num_format": "d mmm yyyy"})
    chart.set_y_axis({"name": OfficeText.SHARE.label(language), "min": 0, "max": 100})
    sheet.worksheet.insert_chart(sheet.header_row, len(_CURVE_COLUMNS) + 1, chart)


def _table(
    book: Book,
    sheet_name: str,
    title: str,
    columns: Sequence[tuple[OfficeText, float]],
    rows: Sequence[tuple[Any, ...]],
    total: tuple[Any, ...],
    language: str,
    *,
    title_lines: Sequence[str],
) -> None:
    """Add a sheet: title, extra lines, a frozen filtered header, rows, a bold total; A4."""
    sheet = book.sheet(sheet_name)
    sheet.title(title)
    for text in title_lines:
        sheet.line((text,))
    sheet.skip()
    sheet.header([text.label(language) for text, _ in columns], [width for _, width in columns])
    for row in rows:
        sheet.line(row)
    sheet.table_setup()  # the filter covers the table's lines, not its total
    sheet.line(total, bold=True)


def dinsos_summary_pdf(scenario: Scenario, plan: Plan, *, language: str = "id") -> bytes:
    """Render the Dinas Sosial summary as a PDF (A4 landscape, header on every page).

    Parameters
    ----------
    scenario, plan
        The scenario and its plan.
    language
        ``"id"`` (default) or ``"en"``.

    Returns
    -------
    bytes
        The same lines as :func:`dinsos_summary_xlsx`, dates written out, page numbers.

    Raises
    ------
    ValueError
        If ``language`` is not ``"id"`` or ``"en"``.
    """
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen.canvas import Canvas

    language_index(language)
    mm = 72 / 25.4
    width, height = 297 * mm, 210 * mm
    margin = 12 * mm
    widths_mm = (34, 36, 14, 18, 18, 26, 26, 26, 20, 49)
    size = 7.5
    lines = _summary(scenario, plan, language)
    stream = io.BytesIO()
    canvas = Canvas(stream, pagesize=(width, height), pageCompression=1, invariant=1)

    def fit(text: str, room: float) -> str:
        text = printable(text)
        while text and stringWidth(text, "Helvetica", size) > room:
            text = text[:-1]
        return text

    curve_w, curve_h = CURVE_WIDTH_MM * mm, CURVE_HEIGHT_MM * mm

    def draw_curve(curve: WaitingCurve, left: float, top: float) -> None:
        """Draw the tranche's curve in a small box: share served by date, deadline red."""
        bottom = top - curve_h
        canvas.setStrokeColorRGB(0.8, 0.8, 0.8)
        canvas.rect(left, bottom, curve_w, curve_h)
        deadline = left + day_fraction(curve, curve.deadline) * curve_w
        canvas.setStrokeColorRGB(0.84, 0.1, 0.11)
        canvas.line(deadline, bottom, deadline, top)
        canvas.setStrokeColorRGB(0.1, 0.6, 0.31)
        canvas.setLineWidth(1.2)
        path = canvas.beginPath()
        for i, (fx, share) in enumerate(step_points(curve)):
            point = (left + fx * curve_w, bottom + share * curve_h)
            if i == 0:
                path.moveTo(*point)
            else:
                path.lineTo(*point)
        canvas.drawPath(path, stroke=1, fill=0)
        canvas.setLineWidth(1)
        canvas.setStrokeColorRGB(0, 0, 0)

    def waiting_block(y: float) -> float:
        """Each tranche's waiting above the table of the first page; return the next line."""
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(margin, y, printable(OfficeText.WAITING.label(language)))
        y -= 12
        # The text on the left, the tranche's curve on the right.
        text_w = width - 2 * margin - curve_w - 6 * mm
        for curve in waiting_curves(scenario, plan):
            if y < margin + WAITING_ROOM_PT:
                # Many tranches: the table must still start on this page; the xlsx has them all.
                canvas.drawString(margin, y, "...")
                return y - 12
            top = y + size
            draw_curve(curve, width - margin - curve_w, top)
            canvas.setFont("Helvetica-Bold", size)
            canvas.drawString(
                margin, y, printable(f"{OfficeText.TRANCHE.label(language)} {curve.tranche}")
            )
            y -= 10
            canvas.setFont("Helvetica", size)
            for text in waiting_lines(curve, language):
                for part in simpleSplit(printable(text), "Helvetica", size, text_w):
                    canvas.drawString(margin, y, part)
                    y -= 10
            y = min(y, top - curve_h - 8)
        return y - 12

    index, page = 0, 0
    while index < len(lines) or page == 0:
        page += 1
        y = height - margin
        canvas.setFont("Helvetica-Bold", 13)
        canvas.drawString(margin, y, OfficeText.SUMMARY.label(language))
        canvas.setFont("Helvetica", 8)
        canvas.drawRightString(width - margin, y, f"{OfficeText.PAGE.label(language)} {page}")
        y -= 22
        if page == 1:
            y = waiting_block(y)
        canvas.setFont("Helvetica-Bold", size)
        x = margin
        for (text, _), w in zip(_SUMMARY_COLUMNS, widths_mm, strict=True):
            canvas.drawString(x, y, fit(text.label(language), w * mm - 3))
            x += w * mm
        y -= 4
        canvas.line(margin, y, width - margin, y)
        y -= 11
        canvas.setFont("Helvetica", size)
        while index < len(lines) and y > margin:
            line = lines[index]
            cells = (
                line.kecamatan,
                line.desa,
                line.tranche,
                format_kg(line.families, language),
                format_kg(line.served, language),
                format_kg(line.kg, language),
                format_short_date(min(line.dates), language) if line.dates else "-",
                format_short_date(max(line.dates), language) if line.dates else "-",
                format_kg(line.not_served, language),
                "; ".join(sorted(line.reasons)) if line.not_served else "",
            )
            x = margin
            for value, w in zip(cells, widths_mm, strict=True):
                canvas.drawString(x, y, fit(value, w * mm - 3))
                x += w * mm
            y -= 12
            index += 1
        canvas.showPage()
        if not lines:
            break
    canvas.save()
    return stream.getvalue()


_DISPATCH_COLUMNS: Final = (
    (OfficeText.TRUCK, 14.0),
    (OfficeText.TRIP, 6.0),
    (OfficeText.DEPART, 11.0),
    (OfficeText.RETURN, 11.0),
    (OfficeText.STOPS, 9.0),
    (OfficeText.SACKS, 9.0),
    (OfficeText.LOAD_KG, 12.0),
)


def dispatch_sheets(scenario: Scenario, plan: Plan, *, language: str = "id") -> dict[str, bytes]:
    """Render one daily dispatch workbook per warehouse.

    Parameters
    ----------
    scenario, plan
        The scenario and its plan (routes already done are left out).
    language
        ``"id"`` (default) or ``"en"``.

    Returns
    -------
    dict[str, bytes]
        File name (``{warehouse stem}.xlsx``, the warehouse id made file-safe) to an xlsx with
        one sheet per day (``yyyy-mm-dd``): a line per trip by departure (truck, trip,
        departure and return as time cells, stops, sacks, kg) and the day's total. Warehouses
        without trips get no file.

    Raises
    ------
    ValueError
        If ``language`` is not ``"id"`` or ``"en"``.
    """
    language_index(language)
    per_warehouse: dict[str, dict[date, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for route in plan.routes:
        if route.status != _DONE:
            per_warehouse[route.warehouse][route.date].append(route)
    stems = unique_stems(w.id for w in scenario.warehouses)
    files: dict[str, bytes] = {}
    for warehouse in scenario.warehouses:
        days = per_warehouse.get(warehouse.id)
        if not days:
            continue
        book = Book(SHORT_DATE_FORMATS[language])
        for day in sorted(days):
            routes = sorted(days[day], key=lambda r: (r.depart, r.truck, r.trip))
            rows = [
                (
                    r.truck,
                    r.trip,
                    r.depart.replace(tzinfo=None),
                    r.return_.replace(tzinfo=None),
                    len(r.stops),
                    sum(s.sacks for s in r.stops),
                    plain_number(sum(s.kg for s in r.stops)),
                )
                for r in routes
            ]
            total = (
                OfficeText.TOTAL.label(language),
                None,
                None,
                None,
                sum(row[4] for row in rows),
                sum(row[5] for row in rows),
                plain_number(sum(float(row[6]) for row in rows)),
            )
            # A person reads the tab: the day as they write it ("Rab, 2 Sep 2020").
            _table(
                book,
                format_short_date(day, language)[:31],
                f"{OfficeText.DISPATCH.label(language)}: {format_long_date(day, language)}",
                _DISPATCH_COLUMNS,
                rows,
                total,
                language,
                title_lines=(f"{OfficeText.WAREHOUSE.label(language)}: {warehouse.name}",),
            )
        files[f"{stems[warehouse.id]}.xlsx"] = book.finish()
    return files
