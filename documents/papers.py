"""The papers people carry: loading lists, receipt lists (TTB) and the facilitators' schedule.

Every paper is written twice, as CSV (UTF-8 with a byte-order mark, so that Excel guesses the
encoding right) and as ``.xlsx`` (bold, frozen header row; A4, fitted to the page width, header
row repeated on every printed page; ids as text cells, so ``00042`` stays ``00042``).

Headers, statuses and reasons are in Bahasa Indonesia by default (``language="id"``) or English
(``"en"``); both sets live in one table, :class:`Text` (statuses and reasons in
:class:`geodata.i18n.Term`), so they cannot drift apart; ``docs/glossary.md`` lists them. What a
person reads is formatted for the language's locale by :mod:`geodata.i18n` (Babel): times
(``08.00–09.30``), lists of dates and the reasons' sentences. Numbers stay numbers and dates stay
dates: CSV cells hold plain numbers and ISO dates (``2020-09-07``) so that any spreadsheet reads
them; xlsx cells are real numbers (grouped digits) and real dates shown with the weekday and month
written out in the paper's language (``Senin, 7 September 2020``). Folder and file names never
depend on the language::

    papers/
        loading_lists.csv|xlsx           every trip, one row per stop
        loading_lists/{date}_{truck}_trip{n}.csv|xlsx
        receipts.csv|xlsx                one row per delivered (drop point, tranche)
        receipts/{drop point}.csv|xlsx   TTB form per drop point (one xlsx sheet per tranche): one
                                         numbered line per family served, and how many of the
                                         point's families still wait, and why
        schedule.csv|xlsx                facilitator schedule by kecamatan, desa, date, arrival
        facilitators/{id}.pdf|xlsx       each facilitator's (or desa's) schedule, notices for
                                         families, TTB lists and handover reports
        facilitators/without_names/{id}.pdf
                                         with a roster: the same PDF, TTB lines left blank
        dinsos/summary.xlsx|pdf          the Dinas Sosial summary per kecamatan and desa
        dispatch/{warehouse}.xlsx        daily dispatch sheets of each warehouse

Ids are echoed verbatim inside the papers, with one exception: no text cell is ever a formula.
Control and invisible characters are dropped, and text that a spreadsheet would read as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or CR) gets a leading ``'``, as OWASP advises
(:func:`geodata.cells.spreadsheet_text`); numbers stay numbers. In file names ids are reduced to
safe characters (with a short hash of the original id appended whenever that changed the id, so
two ids never share a file).
"""

from __future__ import annotations

import csv
import io
import math
import multiprocessing
import os
import pickle
import re
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from enum import unique
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from documents.facilitator_papers import rt_rw
from documents.xlsx import LONG_DATE_FORMATS, Book, Value
from geodata.cells import spreadsheet_text
from geodata.files import unique_stems
from geodata.i18n import (
    LANGUAGES,
    Term,
    WordTable,
    format_clock,
    format_short_date,
    format_time_range,
    language_index,
    plain_number,
    reason_label,
    reason_sentence,
)
from geodata.roster_io import Roster
from optimizer.model import DropPoint, Scenario, Tranche
from optimizer.solution import Plan, Route, Stop, Unassigned

__all__ = [
    "LANGUAGES",
    "PaperFile",
    "Text",
    "group_pdfs",
    "language_index",
    "paper_files",
    "write_papers",
]

if TYPE_CHECKING:
    from documents.facilitator_papers import Group

_T = TypeVar("_T")

PaperFile = tuple[str, bytes]
"""One rendered paper: its path relative to the papers folder, and its bytes."""

LOADING_LISTS: Final = "loading_lists"
RECEIPTS: Final = "receipts"
FACILITATORS: Final = "facilitators"
"""Each facilitator's (or desa's) PDF and xlsx: schedule, notices, TTB lists, handovers."""
WITHOUT_NAMES: Final = "without_names"
"""With a roster: each facilitator's PDF again, its TTB lines blank (no name, no NIK)."""
DINSOS: Final = "dinsos"
"""The Dinas Sosial summary per kecamatan and desa (xlsx, PDF)."""
DISPATCH: Final = "dispatch"
"""One daily dispatch sheet per warehouse (xlsx)."""
SCHEDULE: Final = "schedule"

Cell = str | int | float | date | tuple[date, ...] | None
"""One value in a paper: text (ids included), a number, a date, some dates, or empty."""

_XLSX_DATE_WIDTH: Final = 27.0
"""Room for the longest written-out date (``Wednesday, 30 September 2020``)."""


@unique
class Text(WordTable):
    """Every header and fixed word of the papers: ``(Bahasa Indonesia, English)``."""

    TRUCK = ("Truk", "Truck")
    TRUCK_TYPE = ("Jenis truk", "Truck type")
    WAREHOUSE = ("Gudang", "Warehouse")
    WAREHOUSE_NAME = ("Nama gudang", "Warehouse name")
    DATE = ("Tanggal", "Date")
    TRIP = ("Rit", "Trip")
    DEPART = ("Berangkat", "Departure")
    SEQ = ("Urutan", "Seq.")
    DROP_POINT = ("ID titik bagi", "Drop point ID")
    DROP_POINT_NAME = ("Nama titik bagi", "Drop point name")
    DESA = ("Desa/Kelurahan", "Village (desa)")
    KECAMATAN = ("Kecamatan", "District (kecamatan)")
    RT_RW = ("RT/RW", "RT/RW (neighbourhood)")
    TRANCHE = ("Tahap", "Tranche")
    TRANCHE_NAME = ("Nama tahap", "Tranche name")
    SACKS = ("Karung", "Sacks")
    KG = ("Berat (kg)", "Weight (kg)")
    TOTAL = ("Jumlah", "Total")
    KPM = ("Jumlah KPM", "Families (KPM)")
    TRUCKS = ("Truk pengirim", "Truck(s)")
    DELIVERY_DATES = ("Tanggal kirim", "Delivery date(s)")
    NUMBER = ("No.", "No.")
    KPM_NAME = ("Nama KPM", "Family name (KPM)")
    KPM_KG = ("Beras diterima (kg)", "Rice received (kg)")
    SIGNATURE = ("Tanda tangan", "Signature")
    ARRIVAL_WINDOW = ("Perkiraan waktu bongkar", "Expected unloading window")
    STATUS = ("Status", "Status")
    REASON = ("Alasan", "Reason")
    DETAIL = ("Keterangan", "Details")
    KPM_WAITING = ("KPM masih menunggu", "Families still waiting")
    LOADING_LIST = ("Daftar muat", "Loading list")
    RECEIPT = ("Tanda Terima Barang (TTB)", "Goods receipt (TTB)")
    RECEIPTS = ("Rekap TTB", "Receipts")
    SCHEDULE = ("Jadwal pendamping", "Facilitator schedule")


_MIN_WIDTH: Final = 6.0
_MAX_WIDTH: Final = 45.0
_SIGNATURE_ROW_HEIGHT_PT: Final = 22.0
"""Room to sign by hand on a printed receipt list."""
_SHEET_TITLE_MAX: Final = 31
"""Excel's limit on sheet-name length."""
_UNSAFE_SHEET_CHARS: Final = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True, slots=True)
class _Column:
    text: Text
    min_width: float = _MIN_WIDTH


@dataclass(frozen=True, slots=True)
class _Sheet:
    """One table with an optional block of ``label: value`` lines above it."""

    title: Text
    columns: tuple[_Column, ...]
    rows: Sequence[tuple[Cell, ...]]
    preamble: tuple[tuple[Text, Cell], ...] = ()
    total: tuple[Cell, ...] | None = None
    sheet_name: str = ""
    """Overrides the translated title as the xlsx sheet name (e.g. a tranche id)."""
    row_height_pt: float | None = None
    landscape: bool = False

    @property
    def header_row(self) -> int:
        """1-based spreadsheet row of the column headers (title, preamble, blank line first)."""
        return 1 + len(self.preamble) + 1 + 1


@dataclass(frozen=True, slots=True)
class _Delivery:
    """What one (drop point, tranche) received over the whole plan."""

    point: DropPoint
    tranche: Tranche
    kg: float
    sacks: int
    trucks: tuple[str, ...]
    dates: tuple[date, ...]

    @property
    def families(self) -> int:
        """Families served in full.

        The planner delivers whole rations, so ``kg`` is a whole number of them; a remainder (a
        plan from elsewhere) serves no family and gets no line.
        """
        if not self.tranche.kg_per_kpm:
            return 0
        return math.floor(self.kg / self.tranche.kg_per_kpm + 1e-6)

    @property
    def families_waiting(self) -> int:
        """The point's families of this tranche that get nothing from this plan."""
        return max(self.point.kpm - self.families, 0)


def write_papers(
    scenario: Scenario,
    plan: Plan,
    folder: Path,
    *,
    language: str = "id",
    progress: Callable[[int], None] | None = None,
    roster: Roster | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Write loading lists, receipt lists (TTB) and the facilitator schedule into ``folder``.

    Also each facilitator's (or desa's) PDF and xlsx (``facilitators/``), the Dinas Sosial
    summary (``dinsos/``) and the warehouses' daily dispatch sheets (``dispatch/``).

    Parameters
    ----------
    scenario
        The scenario the plan is for (names, desa, RT/RW and kg per family come from it).
    plan
        The plan to print.
    folder
        Destination folder; created if missing. Existing files of the same name are replaced.
    language
        ``"id"`` (Bahasa Indonesia, default) or ``"en"`` for the headers.
    progress
        Told the number of files written so far, at most every 10 s: a large plan has a
        paper per trip and per drop point, tens of thousands of files (a job's heartbeat).
    roster
        The families by drop point (``geodata.roster_io.read_roster``), for the names on the
        facilitators' TTB lists; ``None``: numbered blank lines.
    workers
        Processes rendering the papers (see :func:`paper_files`); ``None``: by the plan's size.

    Returns
    -------
    list of Path
        Every file written, in a stable order.

    Raises
    ------
    ValueError
        If ``language`` is not one of :data:`LANGUAGES`.
    KeyError
        If the plan names a drop point, tranche or warehouse the scenario does not have.
    """
    language_index(language)  # fail before writing anything
    for subfolder in (folder / LOADING_LISTS, folder / RECEIPTS):
        subfolder.mkdir(parents=True, exist_ok=True)  # even when empty, as they always were
    tick = _Tick(progress)
    written: list[Path] = []
    for relative, content in paper_files(
        scenario, plan, language=language, roster=roster, workers=workers
    ):
        # Plain writes: the plan folder around the papers is written and renamed atomically.
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
        tick(1)
    return written


def paper_files(
    scenario: Scenario,
    plan: Plan,
    *,
    language: str = "id",
    roster: Roster | None = None,
    workers: int | None = 1,
) -> Iterator[PaperFile]:
    """Render the papers one file at a time: loading lists, receipt lists, schedule, the rest.

    A generator, so a plan of 100,000 drop points never holds every paper in memory; the
    writer (:func:`write_papers`) writes each as it comes. The csv and xlsx papers come first,
    then each facilitator's PDF and xlsx, the Dinas Sosial summary and the dispatch sheets; the
    order, and every byte, are the same whatever ``workers`` is.

    Parameters
    ----------
    scenario
        The scenario the plan is for.
    plan
        The plan to print.
    language
        ``"id"`` (Bahasa Indonesia, default) or ``"en"`` for the headers.
    roster
        The families by drop point, for the names on the facilitators' TTB lists.
    workers
        Processes rendering papers at once: the papers of a large plan (thousands of
        workbooks, hundreds of PDFs) are cut into parts rendered in spawned processes, in
        order. ``None``: :func:`paper_workers` decides from the plan's size; 1: in this
        process.

    Yields
    ------
    tuple of (str, bytes)
        The file's path relative to the papers folder (``receipts/00042.xlsx``) and its bytes.

    Raises
    ------
    ValueError
        If ``language`` is not one of :data:`LANGUAGES` (when the first file is asked for).
    """
    language_index(language)
    if workers is None:
        workers = paper_workers(plan)
    if workers <= 1:
        for kind, _ in _JOB_KINDS:
            yield from _render(kind, scenario, plan, language, roster, 0, 1)
        return
    jobs = [
        (kind, part, parts)
        for kind, per_worker in _JOB_KINDS
        for parts in (max(1, per_worker * workers),)
        for part in range(parts)
    ]
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    with ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_init_paper_worker,
        initargs=(scenario, plan, language, None if roster is None else pickle.dumps(roster)),
    ) as pool:
        try:
            # In order, a part at a time: the writer writes a part while later ones render.
            for files in pool.map(_render_job, jobs):
                yield from files
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


PAPER_WORKERS_FROM_STOPS: Final = 2000
"""Plans with at least this many stops render their papers in several processes: below it,
starting the processes costs more than it saves."""
MAX_PAPER_WORKERS: Final = 4


def paper_workers(plan: Plan) -> int:
    """Return how many processes should render the papers of ``plan``.

    One for small plans and inside daemonic processes (which may not start children); else one
    per core, at most :data:`MAX_PAPER_WORKERS`.
    """
    stops = sum(len(route.stops) for route in plan.routes)
    if stops < PAPER_WORKERS_FROM_STOPS or multiprocessing.current_process().daemon:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_PAPER_WORKERS))


_JOB_KINDS: Final = (
    ("trips", 2),
    ("loading_lists", 0),
    ("points", 2),
    ("receipts", 0),
    ("schedule", 0),
    ("group_tables", 1),
    ("office_tables", 0),
    ("group_pdfs", 4),
    ("office_pdf", 0),
)
"""The kinds of paper in the order they are written (every csv and xlsx first, then the PDFs),
and how many parts per worker each is cut into (0: one part): small parts of the heavy kinds
keep every worker busy to the end."""

_WORKER_INPUT: tuple[Scenario, Plan, str] | None = None
_WORKER_ROSTER: bytes | Roster | None = None


def _init_paper_worker(scenario: Scenario, plan: Plan, language: str, roster: bytes | None) -> None:
    """Keep the inputs once per worker process; Ctrl-C is the parent's to handle.

    The roster (160,000 families: 12 MB) comes pickled once by the parent and is unpickled
    only by a worker that renders a PDF: the tables do not wait for it.
    """
    global _WORKER_INPUT, _WORKER_ROSTER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_INPUT = (scenario, plan, language)
    _WORKER_ROSTER = roster


def _worker_roster() -> Roster | None:
    global _WORKER_ROSTER
    if isinstance(_WORKER_ROSTER, bytes):
        _WORKER_ROSTER = pickle.loads(_WORKER_ROSTER)  # bytes the parent pickled
    assert not isinstance(_WORKER_ROSTER, bytes)
    return _WORKER_ROSTER


def _render_job(job: tuple[str, int, int]) -> list[PaperFile]:
    assert _WORKER_INPUT is not None, "the pool's initializer sets the inputs"
    scenario, plan, language = _WORKER_INPUT
    kind, part, parts = job
    roster = _worker_roster() if kind == "group_pdfs" else None
    return list(_render(kind, scenario, plan, language, roster, part, parts))


def _render(
    kind: str,
    scenario: Scenario,
    plan: Plan,
    language: str,
    roster: Roster | None,
    part: int,
    parts: int,
) -> Iterator[PaperFile]:
    """Render part ``part`` of ``parts`` of one kind of paper."""
    if kind == "trips":
        yield from _trip_papers(scenario, plan, language, part, parts)
    elif kind == "loading_lists":
        yield from _loading_lists(scenario, plan, language)
    elif kind == "points":
        yield from _point_receipts(scenario, plan, language, part, parts)
    elif kind == "receipts":
        yield from _receipts(scenario, plan, language)
    elif kind == "schedule":
        yield from _schedule(scenario, plan, language)
    elif kind == "group_tables":
        yield from _group_tables(scenario, plan, language, part, parts)
    elif kind == "office_tables":
        yield from _office_tables(scenario, plan, language)
    elif kind == "group_pdfs":
        yield from _group_pdfs(scenario, plan, language, roster, part, parts)
    elif kind == "office_pdf":
        yield from _office_pdf(scenario, plan, language)
    else:
        raise ValueError(f"unknown kind of paper: {kind!r}")


def _share(items: Sequence[_T], part: int, parts: int) -> Sequence[_T]:
    """Return part ``part`` of ``parts`` nearly equal runs of ``items``."""
    return items[len(items) * part // parts : len(items) * (part + 1) // parts]


def _group_tables(
    scenario: Scenario, plan: Plan, language: str, part: int, parts: int
) -> Iterator[PaperFile]:
    """Render each facilitator's (or desa's) schedule as xlsx."""
    from documents.facilitator_papers import facilitator_groups, facilitator_xlsx

    for group in _share(facilitator_groups(scenario, plan), part, parts):
        yield (
            f"{FACILITATORS}/{group.id}.xlsx",
            facilitator_xlsx(scenario, plan, group, language=language),
        )


def _group_pdfs(
    scenario: Scenario, plan: Plan, language: str, roster: Roster | None, part: int, parts: int
) -> Iterator[PaperFile]:
    """Render each facilitator's (or desa's) PDF."""
    from documents.facilitator_papers import facilitator_groups

    for group in _share(facilitator_groups(scenario, plan), part, parts):
        yield from group_pdfs(scenario, plan, group, roster, language)


def group_pdfs(
    scenario: Scenario, plan: Plan, group: Group, roster: Roster | None, language: str
) -> Iterator[PaperFile]:
    """Render one facilitator's (or desa's) PDF and, with a roster, the same without names.

    Parameters
    ----------
    scenario, plan
        The scenario and its plan.
    group
        One of :func:`documents.facilitator_papers.facilitator_groups`'s groups.
    roster
        The families by drop point; ``None`` or empty: numbered blank TTB lines.
    language
        ``"id"`` or ``"en"``.

    Yields
    ------
    tuple of (str, bytes)
        ``facilitators/{id}.pdf`` and, with a roster, ``facilitators/without_names/{id}.pdf``.
    """
    from documents.facilitator_papers import facilitator_pdf

    yield (
        f"{FACILITATORS}/{group.id}.pdf",
        facilitator_pdf(
            scenario,
            plan,
            group,
            roster or {},
            language=language,
            full_nik=scenario.papers.full_nik,
        ),
    )
    if roster:
        # The same papers with numbered blank TTB lines, for readers who may not see the
        # families' names (the service's viewers).
        yield (
            f"{FACILITATORS}/{WITHOUT_NAMES}/{group.id}.pdf",
            facilitator_pdf(scenario, plan, group, {}, language=language),
        )


def _office_tables(scenario: Scenario, plan: Plan, language: str) -> Iterator[PaperFile]:
    """Render the Dinas Sosial summary's xlsx and the dispatch sheets."""
    from documents.office_papers import dinsos_summary_xlsx, dispatch_sheets

    yield f"{DINSOS}/summary.xlsx", dinsos_summary_xlsx(scenario, plan, language=language)
    for name, content in dispatch_sheets(scenario, plan, language=language).items():
        yield f"{DISPATCH}/{name}", content


def _office_pdf(scenario: Scenario, plan: Plan, language: str) -> Iterator[PaperFile]:
    """Render the Dinas Sosial summary's PDF."""
    from documents.office_papers import dinsos_summary_pdf

    yield f"{DINSOS}/summary.pdf", dinsos_summary_pdf(scenario, plan, language=language)


class _Tick:
    """Count files written and tell ``progress`` at most every ``PROGRESS_EVERY_S``."""

    PROGRESS_EVERY_S = 10.0

    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self.progress = progress
        self.files = 0
        self.last = time.monotonic()

    def __call__(self, files: int) -> None:
        self.files += files
        now = time.monotonic()
        if self.progress is not None and now - self.last >= self.PROGRESS_EVERY_S:
            self.last = now
            self.progress(self.files)


# --- the three papers -----------------------------------------------------------------------


def _sorted_routes(plan: Plan) -> list[Route]:
    return sorted(plan.routes, key=lambda r: (r.date, r.truck, r.trip))


_STOP_COLUMNS: Final = (
    _Column(Text.SEQ),
    _Column(Text.DROP_POINT),
    _Column(Text.DROP_POINT_NAME, 20.0),
    _Column(Text.DESA),
    _Column(Text.RT_RW),
    _Column(Text.TRANCHE),
    _Column(Text.SACKS),
    _Column(Text.KG),
)


def _stop_rows(scenario: Scenario, route: Route) -> list[tuple[Cell, ...]]:
    return [(seq, *_stop_cells(scenario, stop)) for seq, stop in enumerate(route.stops, start=1)]


def _trip_papers(
    scenario: Scenario, plan: Plan, language: str, part: int, parts: int
) -> Iterator[PaperFile]:
    """Render one loading list per trip (part ``part`` of ``parts`` of the trips, by date)."""
    routes = _sorted_routes(plan)
    truck_stems = unique_stems(sorted({r.truck for r in routes}))
    for route in _share(routes, part, parts):
        warehouse = scenario.warehouse(route.warehouse)
        truck = scenario.truck(route.truck)
        sheet = _Sheet(
            title=Text.LOADING_LIST,
            columns=_STOP_COLUMNS,
            rows=_stop_rows(scenario, route),
            preamble=(
                (Text.TRUCK, route.truck),
                (Text.TRUCK_TYPE, truck.type),
                (Text.WAREHOUSE, route.warehouse),
                (Text.WAREHOUSE_NAME, warehouse.name),
                (Text.DATE, route.date),
                (Text.TRIP, route.trip),
                (Text.DEPART, format_clock(route.depart, language)),
            ),
            total=(
                Text.TOTAL.label(language),
                None,
                None,
                None,
                None,
                None,
                sum(s.sacks for s in route.stops),
                plain_number(sum(s.kg for s in route.stops)),
            ),
        )
        stem = f"{route.date.isoformat()}_{truck_stems[route.truck]}_trip{route.trip}"
        yield from _both(f"{LOADING_LISTS}/{stem}", (sheet,), language)


def _loading_lists(scenario: Scenario, plan: Plan, language: str) -> Iterator[PaperFile]:
    """Render every trip's stops as one table."""
    combined: list[tuple[Cell, ...]] = []
    for route in _sorted_routes(plan):
        trip_cells: tuple[Cell, ...] = (
            route.date,
            route.truck,
            route.trip,
            format_clock(route.depart, language),
            route.warehouse,
        )
        combined.extend(trip_cells + row for row in _stop_rows(scenario, route))
    combined_sheet = _Sheet(
        title=Text.LOADING_LIST,
        columns=(
            _Column(Text.DATE),
            _Column(Text.TRUCK),
            _Column(Text.TRIP),
            _Column(Text.DEPART),
            _Column(Text.WAREHOUSE),
            *_STOP_COLUMNS,
        ),
        rows=combined,
        landscape=True,
    )
    yield from _both(LOADING_LISTS, (combined_sheet,), language)


def _stop_cells(scenario: Scenario, stop: Stop) -> tuple[Cell, ...]:
    point = scenario.drop_point(stop.drop_point)
    return (
        stop.drop_point,
        point.name,
        point.desa,
        _rt_rw(point),
        stop.tranche,
        stop.sacks,
        plain_number(stop.kg),
    )


def _deliveries(scenario: Scenario, plan: Plan) -> list[_Delivery]:
    """Aggregate the plan's stops per (drop point, tranche), in scenario order."""
    kg: dict[tuple[str, str], float] = defaultdict(float)
    sacks: dict[tuple[str, str], int] = defaultdict(int)
    trucks: dict[tuple[str, str], set[str]] = defaultdict(set)
    dates: dict[tuple[str, str], set[date]] = defaultdict(set)
    for route in plan.routes:
        for stop in route.stops:
            key = (stop.drop_point, stop.tranche)
            kg[key] += stop.kg
            sacks[key] += stop.sacks
            trucks[key].add(route.truck)
            dates[key].add(route.date)
    deliveries = []
    for point in scenario.drop_points:
        for tranche in scenario.tranches:
            key = (point.id, tranche.id)
            if key in kg:
                deliveries.append(
                    _Delivery(
                        point=point,
                        tranche=tranche,
                        kg=kg[key],
                        sacks=sacks[key],
                        trucks=tuple(sorted(trucks[key])),
                        dates=tuple(sorted(dates[key])),
                    )
                )
    return deliveries


def _point_receipts(
    scenario: Scenario, plan: Plan, language: str, part: int, parts: int
) -> Iterator[PaperFile]:
    """Render one TTB form per drop point (part ``part`` of ``parts`` of the points)."""
    missing = _missing(plan)
    per_point: dict[str, list[_Delivery]] = defaultdict(list)
    for delivery in _deliveries(scenario, plan):
        per_point[delivery.point.id].append(delivery)
    point_stems = unique_stems(list(per_point))
    for point_id in _share(list(per_point), part, parts):
        sheets = tuple(
            _receipt_sheet(d, missing.get((d.point.id, d.tranche.id), []), language)
            for d in per_point[point_id]
        )
        yield from _both(f"{RECEIPTS}/{point_stems[point_id]}", sheets, language)


def _receipts(scenario: Scenario, plan: Plan, language: str) -> Iterator[PaperFile]:
    """Render every (drop point, tranche) delivered as one table."""
    deliveries = _deliveries(scenario, plan)
    summary_rows = [
        (
            d.point.id,
            d.point.name,
            d.point.desa,
            d.point.kecamatan,
            _rt_rw(d.point),
            d.tranche.id,
            d.families,
            d.families_waiting,
            d.sacks,
            plain_number(d.kg),
            ", ".join(d.trucks),
            d.dates,
        )
        for d in sorted(
            deliveries, key=lambda d: (d.point.kecamatan, d.point.desa, d.point.id)
        )  # stable: tranche order within a point is kept
    ]
    summary = _Sheet(
        title=Text.RECEIPTS,
        columns=(
            _Column(Text.DROP_POINT),
            _Column(Text.DROP_POINT_NAME, 20.0),
            _Column(Text.DESA),
            _Column(Text.KECAMATAN),
            _Column(Text.RT_RW),
            _Column(Text.TRANCHE),
            _Column(Text.KPM),
            _Column(Text.KPM_WAITING),
            _Column(Text.SACKS),
            _Column(Text.KG),
            _Column(Text.TRUCKS),
            _Column(Text.DELIVERY_DATES),
        ),
        rows=summary_rows,
        landscape=True,
    )
    yield from _both(RECEIPTS, (summary,), language)


def _receipt_sheet(delivery: _Delivery, short: Sequence[Unassigned], language: str) -> _Sheet:
    point, tranche = delivery.point, delivery.tranche
    # A family is either served in full or not at all: one line per family served, and the
    # total is what those lines hold.
    families = delivery.families
    per_family_kg = plain_number(tranche.kg_per_kpm)
    waiting: tuple[tuple[Text, Cell], ...] = ((Text.KPM_WAITING, delivery.families_waiting),)
    if delivery.families_waiting:
        waiting += ((Text.REASON, _reason_sentences(short, language)),)
    return _Sheet(
        title=Text.RECEIPT,
        sheet_name=tranche.id,
        columns=(
            _Column(Text.NUMBER),
            _Column(Text.KPM_NAME, 40.0),
            _Column(Text.KPM_KG),
            _Column(Text.SIGNATURE, 30.0),
        ),
        rows=[(n, None, per_family_kg, None) for n in range(1, families + 1)],
        preamble=(
            (Text.DROP_POINT, point.id),
            (Text.DROP_POINT_NAME, point.name),
            (Text.RT_RW, _rt_rw(point)),
            (Text.DESA, point.desa),
            (Text.KECAMATAN, point.kecamatan),
            (Text.TRANCHE, tranche.id),
            (Text.TRANCHE_NAME, tranche.name),
            (Text.KPM, families),
            *waiting,
            (Text.SACKS, delivery.sacks),
            (Text.KG, plain_number(delivery.kg)),
            (Text.TRUCKS, ", ".join(delivery.trucks)),
            (Text.DELIVERY_DATES, delivery.dates),
        ),
        total=(Text.TOTAL.label(language), None, plain_number(families * tranche.kg_per_kpm), None),
        row_height_pt=_SIGNATURE_ROW_HEIGHT_PT,
    )


@dataclass(frozen=True, slots=True)
class _ScheduleLine:
    sort_key: tuple[str, str, str, str, int, int]
    cells: tuple[Cell, ...]


def _schedule(scenario: Scenario, plan: Plan, language: str) -> Iterator[PaperFile]:
    tranche_order = {t.id: i for i, t in enumerate(scenario.tranches)}
    missing = _missing(plan)
    lines: list[_ScheduleLine] = []
    for route in plan.routes:
        for stop in route.stops:
            point = scenario.drop_point(stop.drop_point)
            short = missing.get((stop.drop_point, stop.tranche), [])
            lines.append(
                _ScheduleLine(
                    sort_key=(
                        point.kecamatan,
                        point.desa,
                        route.date.isoformat(),
                        stop.arrive.isoformat(),
                        0,
                        tranche_order.get(stop.tranche, -1),
                    ),
                    cells=(
                        *_schedule_point_cells(point, stop.tranche),
                        route.date,
                        format_time_range(stop.arrive, stop.depart, language),
                        route.truck,
                        route.trip,
                        stop.sacks,
                        plain_number(stop.kg),
                        (Term.PARTLY_SCHEDULED if short else Term.SCHEDULED).label(language),
                        _reason_labels(short, language),
                        _reason_sentences(short, language),
                    ),
                )
            )
    for item in plan.unassigned:
        point = scenario.drop_point(item.drop_point)
        lines.append(
            _ScheduleLine(
                # "~" sorts after every ISO date: what will not come is listed last in a desa.
                sort_key=(
                    point.kecamatan,
                    point.desa,
                    "~",
                    point.id,
                    1,
                    tranche_order.get(item.tranche, -1),
                ),
                cells=(
                    *_schedule_point_cells(point, item.tranche),
                    None,
                    None,
                    None,
                    None,
                    item.sacks,
                    plain_number(item.kg),
                    Term.NOT_SCHEDULED.label(language),
                    _reason_labels([item], language),
                    _reason_sentences([item], language),
                ),
            )
        )
    lines.sort(key=lambda line: line.sort_key)
    sheet = _Sheet(
        title=Text.SCHEDULE,
        columns=(
            _Column(Text.DESA),
            _Column(Text.KECAMATAN),
            _Column(Text.DROP_POINT),
            _Column(Text.DROP_POINT_NAME, 20.0),
            _Column(Text.RT_RW),
            _Column(Text.TRANCHE),
            _Column(Text.DATE),
            _Column(Text.ARRIVAL_WINDOW),
            _Column(Text.TRUCK),
            _Column(Text.TRIP),
            _Column(Text.SACKS),
            _Column(Text.KG),
            _Column(Text.STATUS),
            _Column(Text.REASON),
            _Column(Text.DETAIL, 30.0),
        ),
        rows=[line.cells for line in lines],
        landscape=True,
    )
    yield from _both(SCHEDULE, (sheet,), language)


def _schedule_point_cells(point: DropPoint, tranche_id: str) -> tuple[Cell, ...]:
    return (point.desa, point.kecamatan, point.id, point.name, _rt_rw(point), tranche_id)


def _missing(plan: Plan) -> dict[tuple[str, str], list[Unassigned]]:
    """Group the plan's unassigned deliveries by (drop point, tranche)."""
    missing: dict[tuple[str, str], list[Unassigned]] = defaultdict(list)
    for item in plan.unassigned:
        missing[(item.drop_point, item.tranche)].append(item)
    return missing


def _reason_labels(items: Iterable[Unassigned], language: str) -> str:
    codes = sorted({item.reason_code for item in items})
    return "; ".join(reason_label(code, language) for code in codes)


def _reason_sentences(items: Iterable[Unassigned], language: str) -> str:
    """Why, in the paper's language, written from each reason's code and facts."""
    return " ".join(
        reason_sentence(item.reason_code, item.facts, item.drop_point, item.tranche, language)
        for item in items
    )


# --- formatting helpers ---------------------------------------------------------------------


def _rt_rw(point: DropPoint) -> str:
    return rt_rw(point.rt, point.rw)


# --- writers --------------------------------------------------------------------------------


def _both(stem: str, sheets: Sequence[_Sheet], language: str) -> Iterator[PaperFile]:
    """Render the same sheets as ``{stem}.csv`` and ``{stem}.xlsx``."""
    yield f"{stem}.csv", _csv_bytes(sheets, language)
    yield f"{stem}.xlsx", _xlsx_bytes(sheets, language)


def _sheet_lines(sheet: _Sheet, language: str) -> list[tuple[Cell, ...]]:
    """Lay the sheet out as rows: title, preamble, blank, header, data, total."""
    lines: list[tuple[Cell, ...]] = [(sheet.title.label(language),)]
    lines += [(text.label(language), value) for text, value in sheet.preamble]
    lines.append(())
    lines.append(tuple(column.text.label(language) for column in sheet.columns))
    lines += sheet.rows
    if sheet.total is not None:
        lines.append(sheet.total)
    return lines


def _csv_value(value: Cell) -> str | int | float | None:
    """ISO dates in CSV: every spreadsheet reads ``2020-09-07`` as a date, in any locale.

    Text never reads as a formula (:func:`geodata.cells.spreadsheet_text`); numbers stay numbers.
    """
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return ", ".join(day.isoformat() for day in value)
    if isinstance(value, str):
        return spreadsheet_text(value)
    return value


def _csv_bytes(sheets: Sequence[_Sheet], language: str) -> bytes:
    stream = io.StringIO(newline="")
    writer = csv.writer(stream)
    for index, sheet in enumerate(sheets):
        if index:
            writer.writerow(())
        writer.writerows(
            [_csv_value(value) for value in line] for line in _sheet_lines(sheet, language)
        )
    # utf-8-sig: the byte-order mark tells Excel the file is UTF-8 (names with é, en dashes).
    return stream.getvalue().encode("utf-8-sig")


def _xlsx_value(value: Cell, language: str) -> Value:
    if isinstance(value, tuple):
        if len(value) == 1:
            return value[0]  # one date: a date cell
        # Several dates in one cell are text: written out, in the paper's language.
        return "; ".join(format_short_date(day, language) for day in value)
    return value


def _sheet_names(sheets: Sequence[_Sheet], language: str) -> list[str]:
    names: list[str] = []
    taken: set[str] = set()
    for sheet in sheets:
        base = _UNSAFE_SHEET_CHARS.sub("_", sheet.sheet_name or sheet.title.label(language))
        base = base.strip("'")[:_SHEET_TITLE_MAX] or "Sheet"
        name, n = base, 1
        while name.casefold() in taken:  # Excel compares sheet names case-insensitively
            n += 1
            suffix = f" ({n})"
            name = base[: _SHEET_TITLE_MAX - len(suffix)] + suffix
        taken.add(name.casefold())
        names.append(name)
    return names


def _xlsx_bytes(sheets: Sequence[_Sheet], language: str) -> bytes:
    book = Book(LONG_DATE_FORMATS[language])
    for sheet, name in zip(sheets, _sheet_names(sheets, language), strict=True):
        out = book.sheet(name)
        lines = _sheet_lines(sheet, language)
        out.title(sheet.title.label(language))
        for text, value in sheet.preamble:
            out.line((text.label(language), _xlsx_value(value, language)), first_bold=True)
        out.skip()
        out.header(
            [column.text.label(language) for column in sheet.columns],
            _column_widths(sheet, lines),
        )
        for row in sheet.rows:
            out.line([_xlsx_value(value, language) for value in row])
        # The filter covers the table's lines, not its total.
        out.table_setup(landscape=sheet.landscape, row_height_pt=sheet.row_height_pt)
        if sheet.total is not None:
            out.line([_xlsx_value(value, language) for value in sheet.total], bold=True)
    return book.finish()


def _column_widths(sheet: _Sheet, lines: Sequence[tuple[Cell, ...]]) -> list[float]:
    widths = [column.min_width for column in sheet.columns]
    # The title line may be long; it spills over empty neighbours, so it does not count.
    for line in lines[1:]:
        for index, value in enumerate(line[: len(widths)]):
            if isinstance(value, date):
                widths[index] = max(widths[index], _XLSX_DATE_WIDTH)
            elif isinstance(value, tuple):
                widths[index] = max(widths[index], 18.0 * len(value))
            elif value is not None:
                widths[index] = max(widths[index], len(str(value)) + 2.0)
    return [min(width, _MAX_WIDTH) for width in widths]
