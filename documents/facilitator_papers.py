"""The facilitators' papers: each PKH facilitator's schedule, notices, TTB lists and handovers.

Pure functions from a scenario, a plan and (optionally) the roster to bytes; writing files is
the caller's job. Points are grouped per facilitator (the drop points' ``facilitator``) or,
for points without one, per desa (:func:`facilitator_groups`). Each group gets

* one PDF (:func:`facilitator_pdf`, A4; notices on A5 pages): the schedule in date order, then
  per delivery a notice for families, the TTB list and the handover report
  (berita acara serah terima) whose fields are exactly the columns of a progress folder's
  ``receipts.csv`` (:data:`geodata.progress_io.RECEIPT_COLUMNS`), so a returned form can be
  typed in as is;
* one xlsx (:func:`facilitator_xlsx`): the schedule with real date cells and numbers, a frozen
  header, an autofilter and an A4 print setup.

Families are served in roster order: a delivery of ``n`` families at a point serves the first
``n`` families of the roster that earlier deliveries (same point and tranche, by date and
arrival) did not. Names and NIKs appear on TTB pages only; a NIK is masked to its first 4 and
last 4 digits unless ``full_nik``. Words are Bahasa Indonesia by default, English with
``language="en"`` (:class:`FacilitatorText`).

The PDF is drawn on ReportLab's canvas with its built-in Helvetica (no font files): a name
with characters outside Latin-1 prints them as blanks.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import unique
from typing import Any, Final, Protocol

from documents.xlsx import LONG_DATE_FORMATS, Book
from geodata.files import unique_stems
from geodata.i18n import (
    WordTable,
    format_kg,
    format_long_date,
    format_number,
    format_time_range,
    language_index,
    plain_number,
)
from geodata.progress_io import RECEIPT_COLUMNS
from geodata.roster_io import mask_nik
from optimizer.model import DropPoint, Scenario, Tranche
from optimizer.solution import Plan

__all__ = [
    "FacilitatorText",
    "Group",
    "Visit",
    "facilitator_groups",
    "facilitator_pdf",
    "facilitator_xlsx",
]

_DONE: Final = "done"
_REPLACEMENT: Final = "replacement"


@unique
class FacilitatorText(WordTable):
    """Every fixed word of the facilitators' papers: ``(Bahasa Indonesia, English)``."""

    SCHEDULE = ("Jadwal penyaluran", "Distribution schedule")
    FACILITATOR = ("Pendamping", "Facilitator")
    PHONE = ("Telepon", "Phone")
    DATE = ("Tanggal", "Date")
    WINDOW = ("Waktu bongkar", "Unloading time")
    KECAMATAN = ("Kecamatan", "District")
    DESA = ("Desa/Kelurahan", "Village")
    RT_RW = ("RT/RW", "RT/RW")
    POINT_ID = ("ID titik bagi", "Drop point ID")
    POINT = ("Titik bagi", "Drop point")
    TRANCHE = ("Tahap", "Tranche")
    FAMILIES = ("KPM", "Families")
    SACKS = ("Karung", "Sacks")
    KG = ("Berat (kg)", "Weight (kg)")
    TRUCK = ("Truk", "Truck")
    DRIVER = ("Sopir", "Driver")
    NOTICE = ("PENGUMUMAN", "NOTICE")
    NOTICE_LEAD = ("Penyaluran Bantuan Beras", "Rice assistance distribution")
    TIME = ("Waktu", "Time")
    PLACE = ("Tempat", "Place")
    RATION = ("Jatah per KPM", "Ration per family")
    BRING = ("Harap membawa", "Please bring")
    BRING_ITEMS = (
        "Kartu KKS atau KTP, dan pengumuman ini",
        "Your KKS card or ID card, and this notice",
    )
    CONTACT = ("Informasi", "Information")
    TTB = ("Tanda Terima Barang (TTB)", "Goods receipt list (TTB)")
    NUMBER = ("No.", "No.")
    NAME = ("Nama KPM", "Family name")
    NIK = ("NIK", "NIK")
    KPM_KG = ("Diterima (kg)", "Received (kg)")
    SIGNATURE = ("Tanda tangan", "Signature")
    TOTAL = ("Jumlah", "Total")
    WAITING = ("KPM yang masih menunggu", "Families still waiting")
    NONE_WAITING = ("Tidak ada", "None")
    PAGE = ("Halaman", "Page")
    SIGN_FACILITATOR = ("Pendamping PKH", "PKH facilitator")
    SIGN_OFFICER = ("Ketua RT/RW / Perangkat desa", "RT/RW head / village officer")
    SIGN_TRANSPORTER = ("Transporter", "Transporter")
    HANDOVER = ("Berita Acara Serah Terima", "Handover report")
    PLANNED = ("Rencana", "Planned")
    ACTUAL = ("Diterima", "Actual")
    FIELD = ("Isian", "Field")
    COLUMN = ("kolom", "column")
    TYPED_IN = (
        "Isian bernomor diketik ke receipts_template.csv, kolom yang sama, apa adanya.",
        "The numbered fields are typed into receipts_template.csv, same columns, as they are.",
    )
    CONDITION = ("Kondisi beras", "Rice condition")
    GOOD = ("Baik", "Good")
    DAMAGED = ("Rusak", "Damaged")
    F_FAMILIES = ("Jumlah KPM menerima", "Families served")
    F_KG_RECEIVED = ("Beras diterima (kg)", "Rice received (kg)")
    F_KG_REJECTED = ("Beras ditolak (kg)", "Rice rejected (kg)")
    F_NOTE = ("Catatan", "Note")
    REPLACEMENT = ("Beras pengganti", "Replacement rice")
    DELIVERED_SACKS = ("Karung diserahkan", "Sacks handed over")


_RECEIPT_FIELD_LABELS: Final = {
    "drop_point": FacilitatorText.POINT_ID,
    "tranche": FacilitatorText.TRANCHE,
    "date": FacilitatorText.DATE,
    "families": FacilitatorText.F_FAMILIES,
    "kg_received": FacilitatorText.F_KG_RECEIVED,
    "kg_rejected": FacilitatorText.F_KG_REJECTED,
    "note": FacilitatorText.F_NOTE,
}
assert tuple(_RECEIPT_FIELD_LABELS) == RECEIPT_COLUMNS  # the form follows receipts.csv


class FamilyLike(Protocol):
    """The roster's family (``geodata.roster_io.Family``) as the papers read it."""

    @property
    def kpm_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def nik(self) -> str: ...
    @property
    def rt(self) -> str: ...
    @property
    def rw(self) -> str: ...


RosterLike = Mapping[str, Sequence[FamilyLike]]
"""Drop point id -> its families in roster order (``geodata.roster_io.Roster``)."""


@dataclass(frozen=True, slots=True)
class Visit:
    """One stop of the plan at a group's drop point."""

    day: date
    point: DropPoint
    tranche: Tranche
    truck: str
    trip: int
    arrive: datetime
    depart: datetime
    kg: float
    sacks: int
    kind: str
    families: int
    """Families served by this stop (0 for replacement rice)."""
    first_family: int
    """Index in the point's roster of the first family this stop serves."""


@dataclass(frozen=True, slots=True)
class Group:
    """The points one facilitator (or, without one, one desa) looks after."""

    id: str
    """File-name stem: the facilitator's id, or the desa's safe stem."""
    name: str
    phone: str
    points: tuple[DropPoint, ...]
    visits: tuple[Visit, ...]
    """The plan's stops at ``points`` (routes already done left out), by date and arrival."""


def facilitator_groups(scenario: Scenario, plan: Plan) -> list[Group]:
    """Group the drop points per facilitator, else per desa, with their visits in date order.

    Parameters
    ----------
    scenario
        The scenario; ``facilitators`` and each point's ``facilitator`` when it has them.
    plan
        The plan whose stops are listed.

    Returns
    -------
    list of Group
        Facilitators in the scenario's order, then desa groups in order of first appearance.
        A group without any visit is still listed (its papers say there is nothing planned).
    """
    facilitators = {f.id: f for f in scenario.facilitators}
    keys: dict[tuple[str, str], list[DropPoint]] = {}
    for facilitator_id in facilitators:
        keys[("f", facilitator_id)] = []
    for point in scenario.drop_points:
        key = (
            ("f", point.facilitator) if point.facilitator else ("d", point.desa or point.kecamatan)
        )
        keys.setdefault(key, []).append(point)
    visits = _visits(scenario, plan)
    groups = []
    for (kind, name), points in keys.items():
        stem = unique_stems([name])[name] if kind == "f" else _desa_stem(name)
        facilitator = facilitators.get(name) if kind == "f" else None
        ids = {p.id for p in points}
        mine = [v for v in visits if v.point.id in ids]
        groups.append(
            Group(
                id=stem,
                name=facilitator.name if facilitator is not None else (name or "-"),
                phone=(facilitator.phone if facilitator is not None else "") or "",
                points=tuple(points),
                visits=tuple(mine),
            )
        )
    return _distinct_ids(groups)


def _desa_stem(desa: str) -> str:
    return unique_stems([desa or "desa"])[desa or "desa"]


def _distinct_ids(groups: list[Group]) -> list[Group]:
    """Give a taken stem (a desa named like a facilitator id) a number: one file per group."""
    taken: set[str] = set()
    result = []
    for group in groups:
        stem, n = group.id, 1
        while stem.casefold() in taken:
            n += 1
            stem = f"{group.id}-{n}"
        taken.add(stem.casefold())
        result.append(group if stem == group.id else _with_id(group, stem))
    return result


def _with_id(group: Group, stem: str) -> Group:
    return Group(stem, group.name, group.phone, group.points, group.visits)


def _visits(scenario: Scenario, plan: Plan) -> list[Visit]:
    """Every stop as a visit, with the roster slice it serves, by date and arrival."""
    stops = [(route, stop) for route in plan.routes for stop in route.stops]
    stops.sort(key=lambda rs: (rs[0].date, rs[1].arrive, rs[0].truck, rs[0].trip))
    served: dict[tuple[str, str], int] = defaultdict(int)
    visits = []
    for route, stop in stops:
        point = scenario.drop_point(stop.drop_point)
        tranche = scenario.tranche(stop.tranche)
        key = (point.id, tranche.id)
        families = 0
        if stop.kind != _REPLACEMENT and tranche.kg_per_kpm:
            families = math.floor(stop.kg / tranche.kg_per_kpm + 1e-6)
        first = served[key]
        served[key] += families
        if route.status == _DONE:
            continue  # served before this plan's papers: counted, not printed
        visits.append(
            Visit(
                day=route.date,
                point=point,
                tranche=tranche,
                truck=route.truck,
                trip=route.trip,
                arrive=stop.arrive,
                depart=stop.depart,
                kg=stop.kg,
                sacks=stop.sacks,
                kind=stop.kind,
                families=families,
                first_family=first,
            )
        )
    return visits


def rt_rw(rt: str, rw: str) -> str:
    """Return ``"001/002"`` (``-`` for a missing half), or empty when neither is known."""
    if not rt and not rw:
        return ""
    return f"{rt or '-'}/{rw or '-'}"


def _schedule_rows(group: Group, language: str) -> list[tuple[Any, ...]]:
    rows = []
    for v in group.visits:
        rows.append(
            (
                v.day,
                format_time_range(v.arrive, v.depart, language),
                v.point.kecamatan,
                v.point.desa,
                rt_rw(v.point.rt, v.point.rw),
                v.point.id,
                v.point.name,
                v.tranche.id,
                v.families,
                v.sacks,
                plain_number(v.kg),
                v.truck,
                "",
            )
        )
    return rows


_SCHEDULE_COLUMNS: Final = (
    (FacilitatorText.DATE, 27.0),
    (FacilitatorText.WINDOW, 13.0),
    (FacilitatorText.KECAMATAN, 14.0),
    (FacilitatorText.DESA, 16.0),
    (FacilitatorText.RT_RW, 8.0),
    (FacilitatorText.POINT_ID, 12.0),
    (FacilitatorText.POINT, 24.0),
    (FacilitatorText.TRANCHE, 8.0),
    (FacilitatorText.FAMILIES, 7.0),
    (FacilitatorText.SACKS, 8.0),
    (FacilitatorText.KG, 10.0),
    (FacilitatorText.TRUCK, 10.0),
    (FacilitatorText.DRIVER, 18.0),
)


# --- xlsx -------------------------------------------------------------------------------------


def facilitator_xlsx(
    scenario: Scenario, plan: Plan, group: Group, *, language: str = "id"
) -> bytes:
    """Render the group's schedule as an xlsx workbook.

    Parameters
    ----------
    scenario, plan
        The scenario and the plan the group was made from.
    group
        One of :func:`facilitator_groups`'s groups.
    language
        ``"id"`` (default) or ``"en"``.

    Returns
    -------
    bytes
        An xlsx file: title and facilitator lines, then one header row (bold, frozen, with an
        autofilter, repeated on every printed page) and one row per visit in date order; dates
        are date cells, numbers are numbers; A4 landscape, fitted to the page width.

    Raises
    ------
    ValueError
        If ``language`` is not ``"id"`` or ``"en"``.
    """
    language_index(language)
    t = FacilitatorText
    book = Book(LONG_DATE_FORMATS[language])
    sheet = book.sheet(t.SCHEDULE.label(language)[:31])
    sheet.title(t.SCHEDULE.label(language))
    sheet.line((t.FACILITATOR.label(language), group.name), first_bold=True)
    sheet.line((t.PHONE.label(language), group.phone), first_bold=True)
    sheet.skip()
    sheet.header(
        [text.label(language) for text, _ in _SCHEDULE_COLUMNS],
        [width for _, width in _SCHEDULE_COLUMNS],
    )
    for row in _schedule_rows(group, language):
        sheet.line(row)
    sheet.table_setup()
    return book.finish()


# --- pdf --------------------------------------------------------------------------------------

_MM: Final = 72 / 25.4
"""PDF points per millimetre."""
_A4: Final = (210 * _MM, 297 * _MM)
_A4_LANDSCAPE: Final = (297 * _MM, 210 * _MM)
_A5: Final = (148 * _MM, 210 * _MM)
_MARGIN: Final = 15 * _MM
_LINE_PT: Final = 18.0
"""Height of one TTB line: room to sign by hand."""
_WIN_ANSI: Final = frozenset(
    [chr(c) for c in range(0x20, 0x7F)]
    + [chr(c) for c in range(0xA0, 0x100)]
    + list("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")
)
"""What the PDFs' Helvetica shows (its WinAnsi encoding); nothing else reaches the page."""


def printable(text: str) -> str:
    """Return ``text`` as Helvetica can print it.

    Letters with marks WinAnsi lacks lose the mark (``ş`` -> ``s``, ``ā`` -> ``a``), other
    characters it cannot show become ``?`` (so a reader sees something is missing), control
    characters and line breaks a space.
    """
    if all(char in _WIN_ANSI for char in text):
        return text
    out = []
    for char in unicodedata.normalize("NFC", text):
        if char in _WIN_ANSI:
            out.append(char)
        elif unicodedata.category(char)[0] in "CZ":
            out.append(" ")
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            out.append(base if base and all(c in _WIN_ANSI for c in base) else "?")
    return "".join(out)


class _Pages:
    """A ReportLab canvas with page numbering per section and a few drawing helpers."""

    def __init__(self) -> None:
        from reportlab.pdfgen.canvas import Canvas

        self.stream = io.BytesIO()
        # Compressed: a fifth of the size (shared by phone) for about 7 % more time.
        self.canvas = Canvas(self.stream, pagesize=_A4, pageCompression=1, invariant=1)
        self.size = _A4
        self.started = False

    def page(self, size: tuple[float, float]) -> None:
        if self.started:
            self.canvas.showPage()
        self.started = True
        self.size = size
        self.canvas.setPageSize(size)

    def text(self, x: float, y: float, text: str, size: float = 9, bold: bool = False) -> None:
        self.canvas.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        self.canvas.drawString(x, y, printable(text))

    def right(self, x: float, y: float, text: str, size: float = 9, bold: bool = False) -> None:
        self.canvas.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        self.canvas.drawRightString(x, y, printable(text))

    def fit(self, text: str, width: float, size: float) -> str:
        """Cut ``text`` to ``width`` points (with an ellipsis)."""
        from reportlab.pdfbase.pdfmetrics import stringWidth

        text = printable(text)
        if stringWidth(text, "Helvetica", size) <= width:
            return text
        while text and stringWidth(text + "...", "Helvetica", size) > width:
            text = text[:-1]
        return text + "..."

    def finish(self) -> bytes:
        if not self.started:
            self.page(_A4)
        self.canvas.showPage()
        self.canvas.save()
        return self.stream.getvalue()


def facilitator_pdf(
    scenario: Scenario,
    plan: Plan,
    group: Group,
    roster: RosterLike | None,
    *,
    language: str = "id",
    full_nik: bool = False,
) -> bytes:
    """Render the group's papers as one PDF: schedule, then per delivery notice, TTB, handover.

    Parameters
    ----------
    scenario, plan
        The scenario and the plan the group was made from.
    group
        One of :func:`facilitator_groups`'s groups.
    roster
        Families per drop point in roster order (``geodata.roster_io.read_roster``), or
        ``None``: then the TTB has numbered blank name lines.
    language
        ``"id"`` (default) or ``"en"``.
    full_nik
        Print NIKs whole (``[papers] full_nik``); masked to 4 + 4 digits otherwise.

    Returns
    -------
    bytes
        A PDF: the schedule (A4 landscape), then for each delivery (replacement rice has no
        notice and no TTB) a notice for families (A5, large print), the TTB list (A4: numbered
        lines with the families served that day, NIK, RT/RW, kg, signature column, totals,
        three signature blocks, the families still waiting) and the handover report (A4).

    Raises
    ------
    ValueError
        If ``language`` is not ``"id"`` or ``"en"``.
    """
    language_index(language)
    pages = _Pages()
    _draw_schedule(pages, group, language)
    for visit in group.visits:
        families = roster.get(visit.point.id) if roster is not None else None
        if visit.kind != _REPLACEMENT:
            _draw_notice(pages, group, visit, language)
            _draw_ttb(pages, visit, families, language, full_nik)
        _draw_handover(pages, visit, language)
    return pages.finish()


def _draw_schedule(pages: _Pages, group: Group, language: str) -> None:
    t = FacilitatorText
    width, height = _A4_LANDSCAPE
    widths_mm = (44, 20, 24, 26, 13, 20, 40, 12, 12, 13, 16, 18, 0)
    size = 7.5
    rows = _schedule_rows(group, language)
    y = 0.0
    index = 0
    while index < len(rows) or y == 0.0:
        pages.page(_A4_LANDSCAPE)
        y = height - _MARGIN
        pages.text(_MARGIN, y, t.SCHEDULE.label(language), 14, bold=True)
        y -= 16
        pages.text(
            _MARGIN,
            y,
            f"{t.FACILITATOR.label(language)}: {group.name}   "
            f"{t.PHONE.label(language)}: {group.phone or '-'}",
            10,
        )
        y -= 20
        x = _MARGIN
        for (text, _), w in zip(_SCHEDULE_COLUMNS, widths_mm, strict=True):
            pages.text(x, y, text.label(language), size, bold=True)
            x += w * _MM
        y -= 4
        pages.canvas.line(_MARGIN, y, width - _MARGIN, y)
        y -= 11
        while index < len(rows) and y > _MARGIN:
            x = _MARGIN
            row = rows[index]
            cells = (format_long_date(row[0], language), *row[1:8])
            for value, w in zip(cells, widths_mm, strict=False):
                pages.text(x, y, pages.fit(str(value), w * _MM - 3, size), size)
                x += w * _MM
            for value, w in zip(row[8:11], widths_mm[8:11], strict=True):
                pages.right(x + w * _MM - 4, y, _number(value, language), size)
                x += w * _MM
            pages.text(x, y, pages.fit(row[11], widths_mm[11] * _MM - 3, size), size)
            x += widths_mm[11] * _MM
            pages.canvas.line(x, y - 2, width - _MARGIN, y - 2)  # driver: written by hand
            y -= 13
            index += 1
        if not rows:
            break


def _number(value: float, language: str) -> str:
    return format_number(value, language)


def _place(visit: Visit) -> str:
    parts = [visit.point.name]
    neighbourhood = rt_rw(visit.point.rt, visit.point.rw)
    if neighbourhood:
        parts.append(f"RT/RW {neighbourhood}")
    parts.extend(p for p in (visit.point.desa, visit.point.kecamatan) if p)
    return ", ".join(parts)


def _draw_notice(pages: _Pages, group: Group, visit: Visit, language: str) -> None:
    t = FacilitatorText
    width, height = _A5
    pages.page(_A5)
    margin = 12 * _MM
    y = height - margin - 10
    pages.canvas.setFont("Helvetica-Bold", 26)
    pages.canvas.drawCentredString(width / 2, y, t.NOTICE.label(language))
    y -= 24
    pages.canvas.setFont("Helvetica-Bold", 15)
    pages.canvas.drawCentredString(width / 2, y, printable(t.NOTICE_LEAD.label(language)))
    y -= 34
    usable = width - 2 * margin
    lines = (
        (t.DATE, format_long_date(visit.day, language)),
        (t.TIME, format_time_range(visit.arrive, visit.depart, language)),
        (t.PLACE, _place(visit)),
        (t.RATION, format_kg(visit.tranche.kg_per_kpm, language)),
        (t.BRING, t.BRING_ITEMS.label(language)),
        (t.CONTACT, f"{group.name} {group.phone}".strip()),
    )
    for label, value in lines:
        pages.text(margin, y, label.label(language), 12, bold=True)
        y -= 20
        for part in _wrap(pages, value, usable, 17):
            pages.text(margin, y, part, 17)
            y -= 21
        y -= 8


def _wrap(pages: _Pages, text: str, width: float, size: float) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    current = ""
    for word in printable(text).split():
        candidate = f"{current} {word}".strip()
        if current and stringWidth(candidate, "Helvetica", size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return [pages.fit(line, width, size) for line in lines]


def _heading(pages: _Pages, title: str, visit: Visit, language: str) -> float:
    t = FacilitatorText
    y = _A4[1] - _MARGIN
    pages.text(_MARGIN, y, title, 14, bold=True)
    y -= 16
    pages.text(
        _MARGIN,
        y,
        f"{t.POINT.label(language)}: {visit.point.id} - {visit.point.name}",
        9,
    )
    y -= 12
    pages.text(
        _MARGIN,
        y,
        f"{t.DESA.label(language)}: {visit.point.desa or '-'}   "
        f"{t.KECAMATAN.label(language)}: {visit.point.kecamatan or '-'}   "
        f"{t.RT_RW.label(language)}: {rt_rw(visit.point.rt, visit.point.rw) or '-'}",
        9,
    )
    y -= 12
    pages.text(
        _MARGIN,
        y,
        f"{t.DATE.label(language)}: {format_long_date(visit.day, language)}   "
        f"{t.TRANCHE.label(language)}: {visit.tranche.id}   "
        f"{t.TRUCK.label(language)}: {visit.truck}",
        9,
    )
    return y - 18


_TTB_COLUMNS_MM: Final = (10, 62, 34, 16, 22, 36)
"""No., name, NIK, RT/RW, kg, signature."""


def _draw_ttb(
    pages: _Pages,
    visit: Visit,
    families: Sequence[FamilyLike] | None,
    language: str,
    full_nik: bool,
) -> None:
    t = FacilitatorText
    width, _ = _A4
    served: Sequence[FamilyLike | None]
    if families is None:
        served = [None] * visit.families
        waiting: Sequence[FamilyLike] = ()
    else:
        end = visit.first_family + visit.families
        served = families[visit.first_family : end]
        waiting = families[end:]
    kg_each = visit.tranche.kg_per_kpm
    headers = (t.NUMBER, t.NAME, t.NIK, t.RT_RW, t.KPM_KG, t.SIGNATURE)
    size = 8.5
    index = 0
    title = f"{t.TTB.label(language)}"
    while True:
        pages.page(_A4)
        y = _heading(pages, title, visit, language)
        x = _MARGIN
        for text, w in zip(headers, _TTB_COLUMNS_MM, strict=True):
            pages.text(x, y, text.label(language), size, bold=True)
            x += w * _MM
        y -= 5
        pages.canvas.line(_MARGIN, y, width - _MARGIN, y)
        y -= _LINE_PT - 5
        while index < len(served) and y > _MARGIN + 10:
            family = served[index]
            cells = (str(index + 1), "", "", "", format_number(kg_each, language))
            if family is not None:
                nik = family.nik if full_nik else mask_nik(family.nik)
                cells = (
                    str(index + 1),
                    family.name,
                    nik,
                    rt_rw(family.rt, family.rw),
                    format_number(kg_each, language),
                )
            x = _MARGIN
            for value, w in zip(cells, _TTB_COLUMNS_MM, strict=False):
                pages.text(x, y, pages.fit(value, w * _MM - 3, size), size)
                x += w * _MM
            pages.canvas.line(x, y - 4, width - _MARGIN, y - 4)
            if family is None:
                pages.canvas.line(_MARGIN + 10 * _MM, y - 4, _MARGIN + 72 * _MM, y - 4)
            y -= _LINE_PT
            index += 1
        if index >= len(served) and y > _MARGIN + 170:
            break
        if index >= len(served):
            continue  # no room left for totals and signatures: a new page
    pages.canvas.line(_MARGIN, y + _LINE_PT - 8, width - _MARGIN, y + _LINE_PT - 8)
    pages.text(
        _MARGIN,
        y,
        f"{t.TOTAL.label(language)}: {visit.families} {t.FAMILIES.label(language)}, "
        f"{format_kg(visit.families * kg_each, language)}",
        10,
        bold=True,
    )
    y -= 30
    y = _signatures(pages, y, language)
    y -= 10
    pages.text(
        _MARGIN,
        y,
        f"{t.WAITING.label(language)}: {len(waiting) if families else '-'}",
        9,
        bold=True,
    )
    y -= 12
    if families is not None and not waiting:
        pages.text(_MARGIN, y, t.NONE_WAITING.label(language), 8)
    for offset, family in enumerate(waiting):
        if y < _MARGIN:
            pages.page(_A4)
            y = _heading(pages, t.WAITING.label(language), visit, language)
        number = visit.first_family + visit.families + offset + 1
        pages.text(_MARGIN, y, f"{number}. {pages.fit(family.name, 90 * _MM, 8)}", 8)
        y -= 10


def _signatures(pages: _Pages, y: float, language: str) -> float:
    t = FacilitatorText
    width, _ = _A4
    column = (width - 2 * _MARGIN) / 3
    for i, who in enumerate((t.SIGN_FACILITATOR, t.SIGN_OFFICER, t.SIGN_TRANSPORTER)):
        x = _MARGIN + i * column
        pages.text(x, y, pages.fit(who.label(language), column - 6, 8.5), 8.5, bold=True)
        pages.canvas.line(x, y - 50, x + column - 12, y - 50)
        pages.text(x, y - 60, "(                                        )", 8)
    return y - 75


def _draw_handover(pages: _Pages, visit: Visit, language: str) -> None:
    t = FacilitatorText
    width, _ = _A4
    pages.page(_A4)
    title = t.HANDOVER.label(language)
    if visit.kind == _REPLACEMENT:
        title = f"{title} - {t.REPLACEMENT.label(language)}"
    y = _heading(pages, title, visit, language)
    planned: dict[str, str] = {
        "drop_point": visit.point.id,
        "tranche": visit.tranche.id,
        "date": visit.day.isoformat(),
        "families": str(visit.families),
        "kg_received": format_number(visit.kg, language),
        "kg_rejected": "0",
        "note": "",
    }
    prefilled = {"drop_point", "tranche", "date"}
    col = (_MARGIN, _MARGIN + 70 * _MM, _MARGIN + 105 * _MM)
    pages.text(col[0], y, t.FIELD.label(language), 9, bold=True)
    pages.text(col[1], y, t.PLANNED.label(language), 9, bold=True)
    pages.text(col[2], y, t.ACTUAL.label(language), 9, bold=True)
    y -= 5
    pages.canvas.line(_MARGIN, y, width - _MARGIN, y)
    y -= 20
    for number, column_name in enumerate(RECEIPT_COLUMNS, start=1):
        label = _RECEIPT_FIELD_LABELS[column_name].label(language)
        # The clerk types the form into receipts.csv: English papers name its column, the
        # Indonesian ones its place (the column names are English words).
        where = column_name if language == "en" else f"{t.COLUMN.label(language)} {number}"
        pages.text(col[0], y, f"{number}. {label} ({where})", 9)
        value = planned[column_name]
        if column_name in prefilled:
            pages.text(col[2], y, value, 11, bold=True)
        else:
            pages.text(col[1], y, value, 9)
            pages.canvas.rect(col[2], y - 5, width - _MARGIN - col[2], 18)
        y -= 28
    pages.text(col[0], y, t.DELIVERED_SACKS.label(language), 9)
    pages.text(col[1], y, str(visit.sacks), 9)
    pages.canvas.rect(col[2], y - 5, width - _MARGIN - col[2], 18)
    y -= 28
    pages.text(col[0], y, t.CONDITION.label(language), 9)
    pages.canvas.rect(col[2], y - 1, 9, 9)
    pages.text(col[2] + 14, y, t.GOOD.label(language), 9)
    pages.canvas.rect(col[2] + 40 * _MM, y - 1, 9, 9)
    pages.text(col[2] + 40 * _MM + 14, y, t.DAMAGED.label(language), 9)
    y -= 24
    pages.text(col[0], y, t.TYPED_IN.label(language), 8)
    y -= 24
    _signatures(pages, y, language)
