"""The national index of a plan made warehouse by warehouse: plan.json, summaries, index map.

A national run (:mod:`documents.national`) writes one complete plan folder per warehouse under
``OUT/warehouses/``. This module adds what the national office reads first:

* ``OUT/plan.json``: the national index (``"kind": "national"``): totals, one entry per
  warehouse of the scenario (its folder, status, families, tonnes, fleet) and the families left
  unassigned, by reason;
* ``OUT/summary/provinsi.{csv,xlsx,md}`` and ``OUT/summary/kabupaten.{csv,xlsx,md}``: one line
  per province or regency: warehouses, trucks, trips, truck-days and km of the warehouses that
  lie there; families due, families served, tonnes and last delivery per tranche, and families
  unassigned per tranche and reason, of the drop points that lie there;
* ``OUT/map.html``: an offline map of the warehouses, a circle per warehouse sized by the
  families it served, whose popup gives its figures and links its own map
  (``warehouses/{stem}/map.html``).

Memory stays bounded: the run hands over one :class:`WarehouseSummary` per warehouse (made by
:func:`summarise_warehouse` as soon as that warehouse's folder is written, in the worker that
wrote it), a few hundred bytes each; no plan is ever held here. The national scenario is read
once for the families each region is due and the regions of unmet points.

The CSV files are the machine contract (English keys, plain numbers, ISO dates); the xlsx and
Markdown files are for people, in Bahasa Indonesia by default or English, numbers and dates by
:mod:`geodata.i18n`. ``docs/national.md`` says what every file holds.

folium is imported inside the function that draws the map, never at module import.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import unique
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import quote

from geodata.cells import spreadsheet_text
from geodata.i18n import (
    WordTable,
    format_decimal,
    format_integer,
    format_short_date,
    language_index,
    plain_number,
    reason_label,
)
from optimizer.model import Scenario
from optimizer.reasons import ReasonCode
from optimizer.solution import Plan, PlanStatus

if TYPE_CHECKING:
    import folium

__all__ = [
    "INDEX_FORMAT_VERSION",
    "INDEX_KIND",
    "LEVELS",
    "STATUSES",
    "IndexText",
    "RegionRow",
    "UnmetFamilies",
    "WarehouseSummary",
    "index_map",
    "national_index_dict",
    "summarise_plan_folder",
    "summarise_warehouse",
    "summary_from_dict",
    "summary_rows",
    "summary_to_dict",
    "write_national_index",
]

INDEX_KIND: Final = "national"
"""``kind`` of the national ``plan.json`` (a warehouse's ``plan.json`` has no ``kind``)."""
INDEX_FORMAT_VERSION: Final = 1
"""``format_version`` of the national ``plan.json``."""

INDEX_FILE: Final = "plan.json"
MAP_FILE: Final = "map.html"
SUMMARY_FOLDER: Final = "summary"
LEVELS: Final = ("provinsi", "kabupaten")
"""The summaries' levels: one file set per level, ``summary/{level}.csv|xlsx|md``."""
SUMMARY_SUFFIXES: Final = ("csv", "xlsx", "md")

STATUS_COMPLETE: Final = str(PlanStatus.COMPLETE)
STATUS_INTERRUPTED: Final = str(PlanStatus.INTERRUPTED)
STATUS_CHECK_FAILED: Final = "check_failed"
STATUS_NOT_PLANNED: Final = "not_planned"
STATUSES: Final = (STATUS_COMPLETE, STATUS_INTERRUPTED, STATUS_CHECK_FAILED, STATUS_NOT_PLANNED)
"""A warehouse's ``status`` in the index: its plan's status, ``check_failed`` when the checker
found violations (whatever the search's status), ``not_planned`` for a warehouse of the
scenario with no summary (no family was assigned to it, or its pieces have not finished)."""

_STATUS_COLOURS: Final = {
    STATUS_COMPLETE: "#1a9850",
    STATUS_INTERRUPTED: "#f39c12",
    STATUS_CHECK_FAILED: "#d73027",
    STATUS_NOT_PLANNED: "#7f7f7f",
}
"""Circle colour of each status on the index map."""

_RADIUS_MIN_PX: Final = 4.0
_RADIUS_MAX_PX: Final = 22.0
"""Circle radius bounds; the area between them grows with the families a warehouse served."""

_DELIVERY: Final = "delivery"
_RATION_EPS: Final = 1e-6
"""Slack when counting whole rations in kg that went through float sums."""


class UnmetFamilies(Protocol):
    """Families of a drop point that no warehouse could take (``optimizer.flow_assign.Unmet``)."""

    @property
    def drop_point(self) -> str:
        """The drop point's id."""
        ...

    @property
    def families(self) -> int:
        """Families of it that no warehouse takes."""
        ...

    @property
    def reason_code(self) -> str:
        """Why (``stock``)."""
        ...


@dataclass(frozen=True, slots=True)
class RegionRow:
    """One (provinsi, kabupaten, tranche) of one warehouse's plan.

    The region is the drop points' (``DropPoint.provinsi`` / ``kabupaten``), not the
    warehouse's: a warehouse near a border serves families of two regencies.
    """

    provinsi: str
    kabupaten: str
    tranche: str
    families_served: int
    """Whole rations of the tranche delivered to the region's points by this warehouse."""
    kg: float
    """Rice delivered to the region's points in the tranche, kg."""
    families_unassigned: Mapping[str, int]
    """Reason code -> families of the region whose ration of the tranche is not planned."""
    last_delivery: date | None

    @property
    def families(self) -> int:
        """Families of the region this warehouse answers for in the tranche."""
        return self.families_served + sum(self.families_unassigned.values())


@dataclass(frozen=True, slots=True)
class WarehouseSummary:
    """What the national index keeps of one warehouse's plan: a few numbers, never the plan."""

    warehouse: str
    name: str
    provinsi: str
    kabupaten: str
    lon: float
    lat: float
    folder: str
    """The warehouse's plan folder relative to the national folder, ``warehouses/W0001``."""
    trucks: int
    """Trucks that drive at least one trip (the fleet the plan takes)."""
    trips: int
    truck_days: int
    distance_km: float
    tonnes: float
    status: str
    """One of :data:`STATUSES` (never ``not_planned``)."""
    check_violations: int
    regions: tuple[RegionRow, ...]

    @property
    def families_served_per_tranche(self) -> dict[str, int]:
        """Tranche id -> families served, in the order the rows name the tranches."""
        served: dict[str, int] = {}
        for row in self.regions:
            served[row.tranche] = served.get(row.tranche, 0) + row.families_served
        return served

    @property
    def families_unassigned_per_tranche(self) -> dict[str, dict[str, int]]:
        """Tranche id -> reason code -> families not served by this warehouse's plan."""
        out: dict[str, dict[str, int]] = {}
        for row in self.regions:
            reasons = out.setdefault(row.tranche, {})
            for code, families in row.families_unassigned.items():
                reasons[code] = reasons.get(code, 0) + families
        return out


def summarise_warehouse(
    scenario: Scenario, plan: Plan, folder: str, *, check_violations: int = 0
) -> WarehouseSummary:
    """Summarise one warehouse's plan for the national index.

    Parameters
    ----------
    scenario
        The warehouse's sub-scenario: exactly one warehouse, and the drop points (or the
        families of them) assigned to it.
    plan
        The warehouse's merged plan.
    folder
        Its plan folder relative to the national folder (POSIX, e.g. ``warehouses/W0001``).
    check_violations
        Violations the checker found in the plan (0: it passed).

    Returns
    -------
    WarehouseSummary
        Fleet figures from the plan's KPIs; one :class:`RegionRow` per (provinsi, kabupaten,
        tranche) of the drop points, sorted by region then in scenario tranche order. Rations
        are whole: a point's families served in a tranche are the whole rations its delivery
        stops brought (replacement rice serves no new family).

    Raises
    ------
    ValueError
        If the scenario does not hold exactly one warehouse.
    """
    if len(scenario.warehouses) != 1:
        raise ValueError(
            f"a warehouse summary needs a scenario of one warehouse, not {len(scenario.warehouses)}"
        )
    warehouse = scenario.warehouses[0]
    delivered: dict[tuple[str, str], float] = defaultdict(float)
    kg: dict[tuple[str, str, str], float] = defaultdict(float)
    last: dict[tuple[str, str, str], date] = {}
    for route in plan.routes:
        for stop in route.stops:
            point = scenario.drop_point(stop.drop_point)
            key = (point.provinsi, point.kabupaten, stop.tranche)
            kg[key] += stop.kg
            if key not in last or route.date > last[key]:
                last[key] = route.date
            if stop.kind == _DELIVERY:
                delivered[(point.id, stop.tranche)] += stop.kg
    served: dict[tuple[str, str, str], int] = defaultdict(int)
    for (point_id, tranche_id), point_kg in delivered.items():
        point = scenario.drop_point(point_id)
        ration_kg = scenario.tranche(tranche_id).kg_per_kpm
        if ration_kg > 0:
            rations = math.floor(point_kg / ration_kg + _RATION_EPS)
            served[(point.provinsi, point.kabupaten, tranche_id)] += min(rations, point.kpm)
    unassigned: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    for item in plan.unassigned:
        if item.kind != _DELIVERY:
            continue
        point = scenario.drop_point(item.drop_point)
        ration_kg = scenario.tranche(item.tranche).kg_per_kpm
        families = round(item.kg / ration_kg) if ration_kg > 0 else 0
        reasons = unassigned[(point.provinsi, point.kabupaten, item.tranche)]
        code = str(item.reason_code)
        reasons[code] = reasons.get(code, 0) + families
    order = {t.id: i for i, t in enumerate(scenario.tranches)}
    keys = {
        (p.provinsi, p.kabupaten, t.id) for p in scenario.drop_points for t in scenario.tranches
    }
    rows = tuple(
        RegionRow(
            provinsi=key[0],
            kabupaten=key[1],
            tranche=key[2],
            families_served=served.get(key, 0),
            kg=float(plain_number(kg.get(key, 0.0))),
            families_unassigned=dict(sorted(unassigned.get(key, {}).items())),
            last_delivery=last.get(key),
        )
        for key in sorted(keys, key=lambda k: (k[0], k[1], order[k[2]]))
    )
    status = STATUS_CHECK_FAILED if check_violations else str(plan.status)
    return WarehouseSummary(
        warehouse=warehouse.id,
        name=warehouse.name,
        provinsi=warehouse.provinsi,
        kabupaten=warehouse.kabupaten,
        lon=warehouse.lon,
        lat=warehouse.lat,
        folder=folder,
        trucks=len({route.truck for route in plan.routes}),
        trips=plan.kpis.trips,
        truck_days=plan.kpis.truck_days,
        distance_km=plan.kpis.distance_km,
        tonnes=round(plan.kpis.kg_delivered / 1000, 6),
        status=status,
        check_violations=check_violations,
        regions=rows,
    )


def summary_to_dict(summary: WarehouseSummary) -> dict[str, Any]:
    """Return a JSON-ready form of a summary (to keep beside a run, or send between processes).

    Parameters
    ----------
    summary
        A warehouse's summary.

    Returns
    -------
    dict
        Every field; dates ISO, reason maps sorted. :func:`summary_from_dict` reads it back.
    """
    return {
        "warehouse": summary.warehouse,
        "name": summary.name,
        "provinsi": summary.provinsi,
        "kabupaten": summary.kabupaten,
        "lon": summary.lon,
        "lat": summary.lat,
        "folder": summary.folder,
        "trucks": summary.trucks,
        "trips": summary.trips,
        "truck_days": summary.truck_days,
        "distance_km": summary.distance_km,
        "tonnes": summary.tonnes,
        "status": summary.status,
        "check_violations": summary.check_violations,
        "regions": [
            {
                "provinsi": row.provinsi,
                "kabupaten": row.kabupaten,
                "tranche": row.tranche,
                "families_served": row.families_served,
                "kg": row.kg,
                "families_unassigned": dict(sorted(row.families_unassigned.items())),
                "last_delivery": row.last_delivery.isoformat() if row.last_delivery else None,
            }
            for row in summary.regions
        ],
    }


def summary_from_dict(data: Mapping[str, Any]) -> WarehouseSummary:
    """Read a summary back from :func:`summary_to_dict`'s form.

    Raises
    ------
    KeyError, ValueError, TypeError
        If a field is missing or malformed.
    """
    return WarehouseSummary(
        warehouse=str(data["warehouse"]),
        name=str(data["name"]),
        provinsi=str(data["provinsi"]),
        kabupaten=str(data["kabupaten"]),
        lon=float(data["lon"]),
        lat=float(data["lat"]),
        folder=str(data["folder"]),
        trucks=int(data["trucks"]),
        trips=int(data["trips"]),
        truck_days=int(data["truck_days"]),
        distance_km=float(data["distance_km"]),
        tonnes=float(data["tonnes"]),
        status=str(data["status"]),
        check_violations=int(data["check_violations"]),
        regions=tuple(
            RegionRow(
                provinsi=str(row["provinsi"]),
                kabupaten=str(row["kabupaten"]),
                tranche=str(row["tranche"]),
                families_served=int(row["families_served"]),
                kg=float(row["kg"]),
                families_unassigned={
                    str(k): int(v) for k, v in dict(row["families_unassigned"]).items()
                },
                last_delivery=(
                    date.fromisoformat(row["last_delivery"]) if row["last_delivery"] else None
                ),
            )
            for row in data["regions"]
        ),
    )


def summarise_plan_folder(out: Path, folder: str, *, check_violations: int = 0) -> WarehouseSummary:
    """Summarise a warehouse's plan folder already written (a resumed run's earlier work).

    Parameters
    ----------
    out
        The national plan folder.
    folder
        The warehouse's plan folder relative to ``out`` (``warehouses/W0001``): its
        ``scenario/`` copy and ``plan.json`` are read.
    check_violations
        Violations the checker found in it.

    Returns
    -------
    WarehouseSummary
        The same summary :func:`summarise_warehouse` gave when the folder was written.

    Raises
    ------
    InputError
        If the folder's scenario copy cannot be read.
    OSError, KeyError, ValueError, TypeError
        If its ``plan.json`` is missing or malformed.
    """
    from geodata.scenario_io import read_scenario
    from optimizer.solution import plan_from_dict

    path = out.joinpath(*folder.split("/"))
    scenario = read_scenario(path / "scenario", side_files=False)
    plan = plan_from_dict(json.loads((path / "plan.json").read_text(encoding="utf-8")))
    return summarise_warehouse(scenario, plan, folder, check_violations=check_violations)


# --- words -----------------------------------------------------------------------------------


@unique
class IndexText(WordTable):
    """Every fixed word of the national summaries and index map: ``(Bahasa Indonesia, English)``."""

    SUMMARY_PROVINSI = ("Ringkasan per provinsi", "Summary by province")
    SUMMARY_KABUPATEN = ("Ringkasan per kabupaten/kota", "Summary by regency")
    INDEX_MAP = ("Peta gudang", "Map of the warehouses")
    PROVINSI = ("Provinsi", "Province")
    KABUPATEN = ("Kabupaten/Kota", "Regency")
    UNKNOWN = ("(tidak disebut)", "(not given)")
    WAREHOUSES = ("Gudang", "Warehouses")
    WAREHOUSE = ("Gudang", "Warehouse")
    TRUCKS = ("Truk", "Trucks")
    TRIPS = ("Rit", "Trips")
    TRUCK_DAYS = ("Hari-truk", "Truck-days")
    DISTANCE_KM = ("Jarak (km)", "Distance (km)")
    FAMILIES = ("Jumlah KPM", "Families")
    FAMILIES_SERVED = ("KPM terlayani", "Families served")
    TONNES = ("Beras tersalur (ton)", "Rice delivered (t)")
    LAST_DELIVERY = ("Pengiriman terakhir", "Last delivery")
    FAMILIES_UNASSIGNED = ("KPM belum terlayani", "Families not served")
    TRANCHE = ("Tahap", "Tranche")
    TOTAL = ("Jumlah", "Total")
    STATUS = ("Status", "Status")
    OPEN_MAP = ("Buka peta gudang", "Open the warehouse's map")
    NO_WAREHOUSE = ("KPM tanpa gudang", "Families without a warehouse")
    STATUS_COMPLETE = ("selesai", "complete")
    STATUS_INTERRUPTED = ("dihentikan", "interrupted")
    STATUS_CHECK_FAILED = ("gagal diperiksa", "failed the check")
    STATUS_NOT_PLANNED = ("belum direncanakan", "not planned")


_STATUS_TEXT: Final = {
    STATUS_COMPLETE: IndexText.STATUS_COMPLETE,
    STATUS_INTERRUPTED: IndexText.STATUS_INTERRUPTED,
    STATUS_CHECK_FAILED: IndexText.STATUS_CHECK_FAILED,
    STATUS_NOT_PLANNED: IndexText.STATUS_NOT_PLANNED,
}


# --- the regions' totals ---------------------------------------------------------------------


@dataclass(slots=True)
class _TrancheTotals:
    families: int = 0
    served: int = 0
    kg: float = 0.0
    last: date | None = None
    unassigned: dict[str, int] = field(default_factory=dict)

    def add_unassigned(self, reasons: Mapping[str, int]) -> None:
        for code, families in reasons.items():
            self.unassigned[code] = self.unassigned.get(code, 0) + families

    def add_last(self, day: date | None) -> None:
        if day is not None and (self.last is None or day > self.last):
            self.last = day


@dataclass(slots=True)
class _RegionTotals:
    warehouses: int = 0
    trucks: int = 0
    trips: int = 0
    truck_days: int = 0
    distance_km: float = 0.0
    tranches: dict[str, _TrancheTotals] = field(default_factory=dict)


def _region_key(level: str, provinsi: str, kabupaten: str) -> tuple[str, ...]:
    return (provinsi,) if level == "provinsi" else (provinsi, kabupaten)


def _totals(
    level: str,
    scenario: Scenario,
    summaries: Sequence[WarehouseSummary],
    unmet: Sequence[UnmetFamilies],
) -> dict[tuple[str, ...], _RegionTotals]:
    """Add every figure up by region of ``level`` (the key holds the names, ``""`` if none)."""
    tranche_ids = [t.id for t in scenario.tranches]

    def region(key: tuple[str, ...]) -> _RegionTotals:
        totals = regions.get(key)
        if totals is None:
            totals = regions[key] = _RegionTotals(
                tranches={tid: _TrancheTotals() for tid in tranche_ids}
            )
        return totals

    regions: dict[tuple[str, ...], _RegionTotals] = {}
    for point in scenario.drop_points:
        totals = region(_region_key(level, point.provinsi, point.kabupaten))
        for tranche in totals.tranches.values():
            tranche.families += point.kpm
    for summary in summaries:
        # The fleet counts where the warehouse lies; the families, where they live.
        fleet = region(_region_key(level, summary.provinsi, summary.kabupaten))
        fleet.warehouses += 1
        fleet.trucks += summary.trucks
        fleet.trips += summary.trips
        fleet.truck_days += summary.truck_days
        fleet.distance_km += summary.distance_km
        for row in summary.regions:
            tranche = region(_region_key(level, row.provinsi, row.kabupaten)).tranches[row.tranche]
            tranche.served += row.families_served
            tranche.kg += row.kg
            tranche.add_last(row.last_delivery)
            tranche.add_unassigned(row.families_unassigned)
    for item in unmet:
        point = scenario.drop_point(item.drop_point)
        # A family goes to one warehouse for every tranche: unmet, it misses them all.
        for tranche in region(
            _region_key(level, point.provinsi, point.kabupaten)
        ).tranches.values():
            tranche.add_unassigned({str(item.reason_code): int(item.families)})
    return dict(sorted(regions.items()))


def _reasons_present(regions: Mapping[tuple[str, ...], _RegionTotals]) -> list[str]:
    codes = {code for r in regions.values() for t in r.tranches.values() for code in t.unassigned}
    known = [str(code) for code in ReasonCode if str(code) in codes]
    return known + sorted(codes - set(known))


# --- summary tables --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    key: str
    """The CSV header (English, machine-read)."""
    header: str
    """The xlsx and Markdown header, in the summary's language."""
    kind: str
    """``text``, ``int``, ``decimal`` or ``date``: how people's files format the cells."""


def _columns(
    level: str, scenario: Scenario, reasons: Sequence[str], language: str
) -> list[_Column]:
    def w(text: IndexText) -> str:
        return text.label(language)

    columns = [_Column("provinsi", w(IndexText.PROVINSI), "text")]
    if level == "kabupaten":
        columns.append(_Column("kabupaten", w(IndexText.KABUPATEN), "text"))
    columns += [
        _Column("warehouses", w(IndexText.WAREHOUSES), "int"),
        _Column("trucks", w(IndexText.TRUCKS), "int"),
        _Column("trips", w(IndexText.TRIPS), "int"),
        _Column("truck_days", w(IndexText.TRUCK_DAYS), "int"),
        _Column("distance_km", w(IndexText.DISTANCE_KM), "decimal"),
        _Column("families", w(IndexText.FAMILIES), "int"),
    ]
    for tranche in scenario.tranches:
        tid = tranche.id
        of = f" ({w(IndexText.TRANCHE)} {tid})"
        columns += [
            _Column(f"families_served_{tid}", w(IndexText.FAMILIES_SERVED) + of, "int"),
            _Column(f"tonnes_{tid}", w(IndexText.TONNES) + of, "decimal"),
            _Column(f"last_delivery_{tid}", w(IndexText.LAST_DELIVERY) + of, "date"),
            _Column(f"families_unassigned_{tid}", w(IndexText.FAMILIES_UNASSIGNED) + of, "int"),
        ]
        for code in reasons:
            label = _reason_text(code, language)
            columns.append(
                _Column(
                    f"families_unassigned_{code}_{tid}",
                    f"{w(IndexText.FAMILIES_UNASSIGNED)}: {label}{of}",
                    "int",
                )
            )
    return columns


def _reason_text(code: str, language: str) -> str:
    try:
        return reason_label(ReasonCode(code), language)
    except ValueError:
        return code


def _row_values(key: tuple[str, ...], totals: _RegionTotals, reasons: Sequence[str]) -> list[Any]:
    values: list[Any] = [
        *key,
        totals.warehouses,
        totals.trucks,
        totals.trips,
        totals.truck_days,
        round(totals.distance_km, 3),
        max((t.families for t in totals.tranches.values()), default=0),
    ]
    for tranche in totals.tranches.values():
        values += [
            tranche.served,
            round(tranche.kg / 1000, 3),
            tranche.last,
            sum(tranche.unassigned.values()),
        ]
        values += [tranche.unassigned.get(code, 0) for code in reasons]
    return values


def summary_rows(
    level: str,
    scenario: Scenario,
    summaries: Sequence[WarehouseSummary],
    *,
    unmet: Sequence[UnmetFamilies] = (),
) -> tuple[list[str], list[list[Any]]]:
    """Return the machine form of one summary: CSV header and rows (one per region, sorted).

    Parameters
    ----------
    level
        ``"provinsi"`` or ``"kabupaten"``.
    scenario
        The national scenario (the families each region is due, the regions of unmet points).
    summaries
        One per planned warehouse.
    unmet
        Families no warehouse could take.

    Returns
    -------
    tuple of (list of str, list of rows)
        Keys as in ``docs/national.md``; dates as :class:`datetime.date` or ``None``, numbers
        as numbers, region names as given (``""`` when the scenario names none).

    Raises
    ------
    ValueError
        If ``level`` is unknown.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}: expected one of {', '.join(LEVELS)}")
    regions = _totals(level, scenario, summaries, unmet)
    reasons = _reasons_present(regions)
    header = [c.key for c in _columns(level, scenario, reasons, "en")]
    return header, [_row_values(key, totals, reasons) for key, totals in regions.items()]


def _total_row(columns: Sequence[_Column], rows: Sequence[Sequence[Any]], label: str) -> list[Any]:
    total: list[Any] = []
    for index, column in enumerate(columns):
        cells = [row[index] for row in rows]
        if column.kind == "text":
            total.append(label if index == 0 else "")
        elif column.kind == "date":
            days = [day for day in cells if day is not None]
            total.append(max(days) if days else None)
        elif column.kind == "decimal":
            total.append(round(sum(cells), 3))
        else:
            total.append(sum(cells))
    return total


def _summary_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    stream = io.StringIO(newline="")
    writer = csv.writer(stream)
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                spreadsheet_text(v)
                if isinstance(v, str)
                else ("" if v is None else v.isoformat() if isinstance(v, date) else v)
                for v in row
            ]
        )
    return stream.getvalue().encode("utf-8")


def _display_name(value: str, language: str) -> str:
    return value if value else IndexText.UNKNOWN.label(language)


def _summary_xlsx(
    title: str, sheet: str, columns: Sequence[_Column], rows: Sequence[Sequence[Any]], language: str
) -> bytes:
    from documents.xlsx import SHORT_DATE_FORMATS, Book

    book = Book(SHORT_DATE_FORMATS[language])
    # A tab name may not hold "/" (Kabupaten/Kota) and has at most 31 characters.
    ws = book.sheet(sheet.replace("/", "-")[:31])
    ws.title(title)
    ws.skip()
    ws.header([c.header for c in columns], [22.0 if c.kind == "text" else 14.0 for c in columns])
    for row in rows:
        ws.line(
            [
                _display_name(v, language) if c.kind == "text" else v
                for c, v in zip(columns, row, strict=True)
            ]
        )
    ws.line(_total_row(columns, rows, IndexText.TOTAL.label(language)), bold=True)
    ws.table_setup()
    return book.finish()


_MARKDOWN_SPECIAL: Final = frozenset("\\`*_[]<>#|!&~")


def _md(text: str) -> str:
    """Scenario text (region names) as plain text in a Markdown table cell."""
    return "".join(
        "\\" + c
        if c in _MARKDOWN_SPECIAL
        else (c if c.isprintable() else c.encode("unicode_escape").decode("ascii"))
        for c in text
    )


def _md_cell(column: _Column, value: Any, language: str) -> str:
    if column.kind == "text":
        return _md(value)
    if column.kind == "date":
        return format_short_date(value, language) if value is not None else "–"
    if column.kind == "decimal":
        return format_decimal(value, language, 1)
    return format_integer(value, language)


def _summary_md(
    title: str, columns: Sequence[_Column], rows: Sequence[Sequence[Any]], language: str
) -> bytes:
    total = _total_row(columns, rows, IndexText.TOTAL.label(language))
    lines = [
        f"# {_md(title)}",
        "",
        "| " + " | ".join(_md(c.header) for c in columns) + " |",
        "|" + "|".join("---" if c.kind == "text" else "---:" for c in columns) + "|",
    ]
    for row in rows:
        cells = [
            _md_cell(c, _display_name(v, language) if c.kind == "text" else v, language)
            for c, v in zip(columns, row, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    cells = [_md_cell(c, v, language) for c, v in zip(columns, total, strict=True)]
    cells = [f"**{cell}**" if cell else "" for cell in cells]
    lines.append("| " + " | ".join(cells) + " |")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _summary_files(
    level: str,
    scenario: Scenario,
    summaries: Sequence[WarehouseSummary],
    unmet: Sequence[UnmetFamilies],
    language: str,
) -> dict[str, bytes]:
    regions = _totals(level, scenario, summaries, unmet)
    reasons = _reasons_present(regions)
    header = [c.key for c in _columns(level, scenario, reasons, "en")]
    columns = _columns(level, scenario, reasons, language)
    rows = [_row_values(key, totals, reasons) for key, totals in regions.items()]
    heading = IndexText.SUMMARY_PROVINSI if level == "provinsi" else IndexText.SUMMARY_KABUPATEN
    title = f"{heading.label(language)}: {scenario.name}"
    stem = f"{SUMMARY_FOLDER}/{level}"
    sheet = columns[LEVELS.index(level)].header  # the tab: "Provinsi" or "Kabupaten/Kota"
    return {
        f"{stem}.csv": _summary_csv(header, rows),
        f"{stem}.xlsx": _summary_xlsx(title, sheet, columns, rows, language),
        f"{stem}.md": _summary_md(title, columns, rows, language),
    }


# --- plan.json -------------------------------------------------------------------------------


def _warehouse_map_href(folder: str) -> str:
    return quote(f"{folder.rstrip('/')}/{MAP_FILE}")


def national_index_dict(
    scenario: Scenario,
    summaries: Sequence[WarehouseSummary],
    *,
    unmet: Sequence[UnmetFamilies] = (),
    language: str = "id",
) -> dict[str, Any]:
    """Build the national ``plan.json`` (``docs/national.md`` names every key).

    Parameters
    ----------
    scenario
        The national scenario; every warehouse gets an entry, in scenario order.
    summaries
        One per warehouse whose plan folder is written; a warehouse without one is
        ``not_planned``.
    unmet
        Families no warehouse could take.
    language
        The language of the people's files, recorded in the index.

    Returns
    -------
    dict
        Deterministic key and list order; kg and km rounded as in a warehouse's ``plan.json``.
    """
    by_id = {s.warehouse: s for s in summaries}
    tranche_ids = [t.id for t in scenario.tranches]
    served = dict.fromkeys(tranche_ids, 0)
    kg_per_tranche = dict.fromkeys(tranche_ids, 0.0)
    last: dict[str, date | None] = dict.fromkeys(tranche_ids, None)
    unassigned: dict[str, dict[str, int]] = {tid: {} for tid in tranche_ids}
    warehouses: list[dict[str, Any]] = []
    for warehouse in scenario.warehouses:
        summary = by_id.get(warehouse.id)
        if summary is None:
            warehouses.append(
                {
                    "id": warehouse.id,
                    "name": warehouse.name,
                    "provinsi": warehouse.provinsi,
                    "kabupaten": warehouse.kabupaten,
                    "lon": warehouse.lon,
                    "lat": warehouse.lat,
                    "status": STATUS_NOT_PLANNED,
                    "folder": None,
                    "map": None,
                    "check_violations": 0,
                    "families_served_per_tranche": dict.fromkeys(tranche_ids, 0),
                    "families_unassigned_per_tranche": {tid: {} for tid in tranche_ids},
                    "tonnes": 0,
                    "trucks": 0,
                    "trips": 0,
                    "truck_days": 0,
                    "distance_km": 0,
                }
            )
            continue
        wh_served = summary.families_served_per_tranche
        wh_unassigned = summary.families_unassigned_per_tranche
        for row in summary.regions:
            kg_per_tranche[row.tranche] += row.kg
            day = last[row.tranche]
            if row.last_delivery is not None and (day is None or row.last_delivery > day):
                last[row.tranche] = row.last_delivery
        for tid in tranche_ids:
            served[tid] += wh_served.get(tid, 0)
            for code, families in wh_unassigned.get(tid, {}).items():
                unassigned[tid][code] = unassigned[tid].get(code, 0) + families
        warehouses.append(
            {
                "id": summary.warehouse,
                "name": summary.name,
                "provinsi": summary.provinsi,
                "kabupaten": summary.kabupaten,
                "lon": summary.lon,
                "lat": summary.lat,
                "status": summary.status,
                "folder": summary.folder,
                "map": _warehouse_map_href(summary.folder),
                "check_violations": summary.check_violations,
                "families_served_per_tranche": {tid: wh_served.get(tid, 0) for tid in tranche_ids},
                "families_unassigned_per_tranche": {
                    tid: dict(sorted(wh_unassigned.get(tid, {}).items())) for tid in tranche_ids
                },
                "tonnes": plain_number(summary.tonnes),
                "trucks": summary.trucks,
                "trips": summary.trips,
                "truck_days": summary.truck_days,
                "distance_km": plain_number(summary.distance_km, 3),
            }
        )
    without_warehouse: dict[str, int] = {}
    for item in unmet:
        code = str(item.reason_code)
        without_warehouse[code] = without_warehouse.get(code, 0) + int(item.families)
    for tid in tranche_ids:
        for code, families in without_warehouse.items():
            unassigned[tid][code] = unassigned[tid].get(code, 0) + families
    statuses = dict.fromkeys(STATUSES, 0)
    for entry in warehouses:
        statuses[entry["status"]] += 1
    planned = list(by_id.values())
    totals = {
        "families": sum(p.kpm for p in scenario.drop_points),
        "families_served_per_tranche": served,
        "families_unassigned_per_tranche": {
            tid: dict(sorted(unassigned[tid].items())) for tid in tranche_ids
        },
        "families_without_warehouse": dict(sorted(without_warehouse.items())),
        "tonnes_per_tranche": {
            tid: plain_number(kg_per_tranche[tid] / 1000) for tid in tranche_ids
        },
        "tonnes": plain_number(sum(kg_per_tranche.values()) / 1000),
        "trucks": sum(s.trucks for s in planned),
        "trips": sum(s.trips for s in planned),
        "truck_days": sum(s.truck_days for s in planned),
        "distance_km": plain_number(sum(s.distance_km for s in planned), 3),
        "last_delivery_per_tranche": {
            tid: day.isoformat() if day is not None else None for tid, day in last.items()
        },
        "warehouses": len(scenario.warehouses),
        "warehouses_by_status": statuses,
        "check_violations": sum(s.check_violations for s in planned),
    }
    return {
        "kind": INDEX_KIND,
        "format_version": INDEX_FORMAT_VERSION,
        "scenario": scenario.name,
        "language": language,
        "tranches": tranche_ids,
        "totals": totals,
        "files": {
            "map": MAP_FILE,
            "summaries": [
                f"{SUMMARY_FOLDER}/{level}.{suffix}"
                for level in LEVELS
                for suffix in SUMMARY_SUFFIXES
            ],
        },
        "warehouses": warehouses,
    }


# --- the index map ---------------------------------------------------------------------------

_JINJA_OPENER: Final = re.compile(r"\{(?=[{%#])")

_INDEX_SCRIPT: Final = """(function (map, data) {
  var group = L.featureGroup().addTo(map);
  function popup(w) {
    var box = document.createElement('div');
    var title = document.createElement('b');
    title.textContent = w.name + ' (' + w.id + ')';
    box.appendChild(title);
    var table = document.createElement('table');
    w.rows.forEach(function (pair) {
      var tr = document.createElement('tr');
      pair.forEach(function (text) {
        var td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    box.appendChild(table);
    if (w.href) {
      var link = document.createElement('a');
      link.href = w.href;
      link.textContent = data.open_map;
      box.appendChild(link);
    }
    return box;
  }
  data.warehouses.forEach(function (w) {
    L.circleMarker([w.lat, w.lon], {
      radius: w.radius, color: w.colour, fillColor: w.colour, fillOpacity: 0.55, weight: 1
    }).bindPopup(function () { return popup(w); }).bindTooltip(w.name).addTo(group);
  });
  var info = L.control({position: 'topright'});
  info.onAdd = function () {
    var box = L.DomUtil.create('div', 'bsb-index-info');
    box.style.cssText = 'background:#fff;padding:6px 10px;border-radius:4px;font:13px sans-serif';
    var title = document.createElement('b');
    title.textContent = data.title;
    box.appendChild(title);
    data.lines.forEach(function (text) {
      var line = document.createElement('div');
      line.textContent = text;
      box.appendChild(line);
    });
    data.legend.forEach(function (item) {
      var line = document.createElement('div');
      var dot = document.createElement('span');
      dot.style.cssText = 'display:inline-block;width:10px;height:10px;border-radius:5px;' +
        'margin-right:6px;background:' + item.colour;
      line.appendChild(dot);
      line.appendChild(document.createTextNode(item.label));
      box.appendChild(line);
    });
    return box;
  };
  info.addTo(map);
})"""
"""The index map's own script: circles, popups built as DOM text (no name is read as HTML)."""


def _script_json(value: object) -> str:
    """JSON safe inside an inline ``<script>`` that branca re-reads as a Jinja template.

    The same escaping as :mod:`geodata.maps` uses for its data: no ``<``, ``>`` or ``&`` can
    end the script, no ``{{``, ``{%`` or ``{#`` can open a Jinja tag.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _JINJA_OPENER.sub("\\\\u007b", text)


def _radius_px(families: int, largest: int) -> float:
    if largest <= 0 or families <= 0:
        return _RADIUS_MIN_PX
    # Area in proportion to families: the eye compares areas, not radii.
    return round(max(_RADIUS_MIN_PX, _RADIUS_MAX_PX * math.sqrt(families / largest)), 1)


def _map_data(index: Mapping[str, Any], language: str) -> dict[str, Any]:
    def w(text: IndexText) -> str:
        return text.label(language)

    def n(value: float) -> str:
        return format_integer(value, language)

    entries = index["warehouses"]
    families = {e["id"]: max(e["families_served_per_tranche"].values(), default=0) for e in entries}
    largest = max(families.values(), default=0)
    markers = []
    for entry in entries:
        rows = [
            [w(IndexText.STATUS), _STATUS_TEXT[entry["status"]].label(language)],
            [w(IndexText.PROVINSI), _display_name(entry["provinsi"], language)],
            [w(IndexText.KABUPATEN), _display_name(entry["kabupaten"], language)],
        ]
        for tid, served in entry["families_served_per_tranche"].items():
            rows.append(
                [f"{w(IndexText.FAMILIES_SERVED)} ({w(IndexText.TRANCHE)} {tid})", n(served)]
            )
            not_served = sum(entry["families_unassigned_per_tranche"][tid].values())
            rows.append(
                [
                    f"{w(IndexText.FAMILIES_UNASSIGNED)} ({w(IndexText.TRANCHE)} {tid})",
                    n(not_served),
                ]
            )
        rows += [
            [w(IndexText.TONNES), format_decimal(entry["tonnes"], language, 1)],
            [w(IndexText.TRUCKS), n(entry["trucks"])],
            [w(IndexText.TRIPS), n(entry["trips"])],
            [w(IndexText.TRUCK_DAYS), n(entry["truck_days"])],
            [w(IndexText.DISTANCE_KM), format_decimal(entry["distance_km"], language, 1)],
        ]
        markers.append(
            {
                "id": entry["id"],
                "name": entry["name"],
                "lon": entry["lon"],
                "lat": entry["lat"],
                "radius": _radius_px(families[entry["id"]], largest),
                "colour": _STATUS_COLOURS[entry["status"]],
                "href": entry["map"],
                "rows": rows,
            }
        )
    totals = index["totals"]
    lines = [f"{w(IndexText.WAREHOUSES)}: {n(totals['warehouses'])}"]
    for tid, served in totals["families_served_per_tranche"].items():
        lines.append(
            f"{w(IndexText.FAMILIES_SERVED)} ({w(IndexText.TRANCHE)} {tid}): {n(served)} / "
            f"{n(totals['families'])}"
        )
    lines.append(f"{w(IndexText.TONNES)}: {format_decimal(totals['tonnes'], language, 1)}")
    lines.append(f"{w(IndexText.TRUCKS)}: {n(totals['trucks'])}")
    without = sum(totals["families_without_warehouse"].values())
    if without:
        lines.append(f"{w(IndexText.NO_WAREHOUSE)}: {n(without)}")
    legend = [
        {"colour": _STATUS_COLOURS[status], "label": _STATUS_TEXT[status].label(language)}
        for status, count in totals["warehouses_by_status"].items()
        if count
    ]
    return {
        "title": f"{w(IndexText.INDEX_MAP)}: {index['scenario']}",
        "open_map": w(IndexText.OPEN_MAP),
        "lines": lines,
        "legend": legend,
        "warehouses": markers,
    }


def index_map(index: Mapping[str, Any], *, language: str = "id") -> folium.Map:
    """Draw the index map of a national plan: a circle per warehouse linking its own map.

    Parameters
    ----------
    index
        The national ``plan.json`` (:func:`national_index_dict`).
    language
        ``"id"`` (default) or ``"en"``.

    Returns
    -------
    folium.Map
        A map whose one script element (``_name == "BsbNationalIndex"``) carries the drawn data
        as ``bsb_index``: one marker per warehouse with its radius, colour, link (``None`` for a
        warehouse not planned) and popup rows already formatted in ``language``.

    Raises
    ------
    ValueError
        If ``language`` is unknown.
    """
    import folium
    from branca.element import Element, Figure, MacroElement
    from jinja2 import Template

    from geodata.map_assets import LEAFLET_CSS_URL, LEAFLET_JS_URL
    from geodata.maps import TILES_ATTRIBUTION, TILES_URL

    language_index(language)
    data = _map_data(index, language)
    lats = [m["lat"] for m in data["warehouses"]] or [-2.5]
    lons = [m["lon"] for m in data["warehouses"]] or [118.0]
    m = folium.Map(
        location=[(min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2],
        zoom_start=5,
        tiles=None,
        prefer_canvas=True,
    )
    # Only Leaflet: the page must inline everything it loads (geodata.map_assets).
    m.default_js = [("leaflet", LEAFLET_JS_URL)]
    m.default_css = [("leaflet_css", LEAFLET_CSS_URL)]
    folium.TileLayer(
        tiles=TILES_URL, attr=TILES_ATTRIBUTION, name="OpenStreetMap", max_zoom=19
    ).add_to(m)
    if data["warehouses"]:
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(20, 20))
    root = m.get_root()
    assert isinstance(root, Figure)  # a new folium.Map always sits in a Figure
    title = data["title"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    root.header.add_child(Element(f"<title>{title.replace('{', '&#123;')}</title>"), name="title")
    element: Any = MacroElement()  # type: ignore[no-untyped-call]
    element._name = "BsbNationalIndex"
    element._template = Template(
        "{% macro script(this, kwargs) %}{{ this.bsb_script }}{% endmacro %}"
    )
    # The script is a value, never parsed by Jinja: names may hold "{{".
    element.bsb_script = f"{_INDEX_SCRIPT}({m.get_name()}, {_script_json(data)});"
    element.bsb_index = data
    m.add_child(element)
    return m


# --- writing ---------------------------------------------------------------------------------


def write_national_index(
    out: Path,
    scenario: Scenario,
    summaries: Sequence[WarehouseSummary],
    *,
    unmet: Sequence[UnmetFamilies] = (),
    language: str = "id",
    offline: bool = True,
) -> list[Path]:
    """Write the national index, the summaries and the index map into a national plan folder.

    Every file is written to a temporary sibling and moved into place (``os.replace``), so a
    reader never sees half a file; ``plan.json`` goes last, once everything it names is there.
    The files are added to the folder's manifest when it holds one.

    Parameters
    ----------
    out
        The national plan folder (the run's ``OUT``), on a filesystem every worker sees.
    scenario
        The national scenario.
    summaries
        One per warehouse whose plan folder is written (:func:`summarise_warehouse`).
    unmet
        Families no warehouse could take (the assignment's ``unmet``).
    language
        ``"id"`` (default) or ``"en"`` for the xlsx, Markdown and map.
    offline
        Inline Leaflet in ``map.html`` (see :func:`geodata.maps.render_map_html`).

    Returns
    -------
    list of Path
        The files written, ``plan.json`` first.

    Raises
    ------
    ValueError
        If ``language`` is unknown, or two summaries name the same warehouse.
    KeyError
        If a summary or an unmet entry names a warehouse or drop point the scenario lacks.
    OSError
        If a file cannot be written.
    """
    from geodata.files import write_atomic
    from geodata.maps import BSB_MAP_MARKER, render_map_html
    from geodata.output_guard import add_to_manifest

    language_index(language)
    _check_summaries(scenario, summaries)
    index = national_index_dict(scenario, summaries, unmet=unmet, language=language)
    files: dict[str, bytes] = {}
    for level in LEVELS:
        files.update(_summary_files(level, scenario, summaries, unmet, language))
    page = render_map_html(index_map(index, language=language), offline=offline)
    files[MAP_FILE] = page.encode("utf-8") + BSB_MAP_MARKER
    written: list[Path] = []
    for relative, content in files.items():
        target = out.joinpath(*relative.split("/"))
        write_atomic(target, content, private=False)
        written.append(target)
    index_path = out / INDEX_FILE
    text = json.dumps(index, ensure_ascii=False, indent=2) + "\n"
    write_atomic(index_path, text.encode("utf-8"), private=False)
    written.insert(0, index_path)
    add_to_manifest(out, written)
    return written


def _check_summaries(scenario: Scenario, summaries: Iterable[WarehouseSummary]) -> None:
    seen: set[str] = set()
    for summary in summaries:
        scenario.warehouse(summary.warehouse)  # KeyError for a warehouse the scenario lacks
        if summary.warehouse in seen:
            raise ValueError(f"two summaries of warehouse {summary.warehouse!r}")
        seen.add(summary.warehouse)
