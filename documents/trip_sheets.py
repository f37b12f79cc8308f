"""Printable trip sheets for drivers: one A4 HTML page per truck and day.

Each sheet names the truck, its warehouse and the day, then for every trip of that day the
departure, return, load and distance, and a table of stops in driving order (arrival, departure,
drop point, RT/RW, desa, kecamatan, tranche, sacks, kg, km from the place before, and a box for
the facilitator's initials), the drive back to the warehouse, with totals and signature lines.
The km of each leg are road km when the plan was made on roads (``legs``, as the checker takes
them), else the straight-line estimate the planner used. A small map drawn as inline SVG
(warehouse square, numbered stops, each trip's line with arrowheads, along the roads when their
lines are given) needs no network and prints sharply.

Labels are in Bahasa Indonesia (``language="id"``, default) or English (``"en"``), numbers,
dates and times formatted for the language's locale by :mod:`geodata.i18n` (``1.500 kg``,
``Rabu, 2 September 2020``, ``08.10``); file names never depend on the language::

    trip_sheets/{date}_{truck}.html

"""

from __future__ import annotations

import html
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import unique
from pathlib import Path
from typing import Final

from geodata.files import package_text, safe_stem, write_atomic
from geodata.i18n import (
    WordTable,
    format_clock,
    format_decimal,
    format_km,
    format_long_date,
    format_number,
    language_index,
)
from geodata.leg_lines import LegKey, RoadLines, route_line, route_places
from geodata.maps import TRUCK_COLOURS
from optimizer.model import Scenario
from optimizer.solution import Plan, Route

SHEET_CSS: Final = "assets/trip_sheet.css"
"""The trip sheets' print stylesheet (A4, tables that break between rows), inlined in each."""
SVG_WIDTH: Final = 1800
SVG_HEIGHT: Final = 820
"""SVG user units of the small map (about 10 per millimetre across an A4 page's text width)."""
SVG_PADDING: Final = 70
MIN_SPAN_DEG: Final = 0.005
"""Smallest extent of the small map (about 500 m), so one stop next to the warehouse is legible."""
MARKER_RADIUS: Final = 26
"""Radius of a numbered stop marker, in SVG units (about 2.5 mm printed)."""
MARKER_GAP: Final = 4
"""Space kept between two markers, and between a marker and the warehouse."""
WAREHOUSE_HALF: Final = 26
"""Half the side of the warehouse square, in SVG units."""
MIN_ARROW_LEG: Final = 120
"""A leg shorter than this (SVG units, about 12 mm printed) gets no arrowhead: it would hide it."""


@unique
class SheetText(WordTable):
    """Every fixed word of the trip sheets: ``(Bahasa Indonesia, English)``."""

    TITLE = ("Surat jalan", "Trip sheet")
    REPLACEMENT = ("Penggantian beras: ambil kembali", "Replacement rice: take back")
    TRUCK = ("Truk", "Truck")
    CAPACITY = ("Kapasitas", "Capacity")
    WAREHOUSE = ("Gudang", "Warehouse")
    DATE = ("Tanggal", "Date")
    TRIP = ("Rit", "Trip")
    TRIPS = ("Jumlah rit", "Number of trips")
    DEPART = ("Berangkat", "Departure")
    RETURN = ("Kembali", "Return")
    LOAD = ("Muatan", "Load")
    DISTANCE = ("Jarak", "Distance")
    SEQ = ("No.", "No.")
    ARRIVE = ("Tiba", "Arrive")
    LEAVE = ("Selesai", "Leave")
    DROP_POINT = ("Titik bagi", "Drop point")
    RT_RW = ("RT/RW", "RT/RW")
    DESA = ("Desa", "Village")
    KECAMATAN = ("Kecamatan", "District")
    TRANCHE = ("Tahap", "Tranche")
    SACKS = ("Karung", "Sacks")
    KG = ("kg", "kg")
    INITIALS = ("Paraf pendamping", "Facilitator's initials")
    TOTAL = ("Jumlah", "Total")
    DRIVER = ("Sopir", "Driver")
    WAREHOUSE_OFFICER = ("Petugas gudang", "Warehouse officer")
    MAP = ("Peta rute", "Route map")
    PRINT = ("Cetak", "Print")
    KM = ("km", "km")
    BACK_TO_WAREHOUSE = ("Kembali ke gudang", "Back to the warehouse")
    KM_ALONG_ROADS = (
        "km: jarak menurut jalan dari tempat sebelumnya",
        "km: distance along the roads from the place before",
    )
    KM_ESTIMATED = (
        "km: jarak perkiraan (garis lurus x kelokan jalan) dari tempat sebelumnya",
        "km: estimated distance (straight line x road winding) from the place before",
    )


@dataclass(frozen=True, slots=True)
class TruckDay:
    """The trips of one truck on one day, in trip order."""

    truck: str
    day: date
    routes: tuple[Route, ...]

    @property
    def file_name(self) -> str:
        """``{date}_{truck}.html``, the truck id made safe by :func:`geodata.files.safe_stem`."""
        return f"{self.day.isoformat()}_{safe_stem(self.truck)}.html"


def truck_days(plan: Plan) -> list[TruckDay]:
    """Group a plan's trips by truck and day, sorted by day then truck.

    Parameters
    ----------
    plan
        The plan.

    Returns
    -------
    list of TruckDay
        One per (truck, day) that has at least one trip.
    """
    grouped: dict[tuple[date, str], list[Route]] = defaultdict(list)
    for route in plan.routes:
        grouped[(route.date, route.truck)].append(route)
    return [
        TruckDay(truck, day, tuple(sorted(routes, key=lambda r: r.trip)))
        for (day, truck), routes in sorted(grouped.items())
    ]


def leg_km(
    scenario: Scenario, route: Route, legs: Mapping[LegKey, tuple[float, int]] | None = None
) -> list[float | None]:
    """Return the km of each leg of a trip, in driving order.

    Parameters
    ----------
    scenario
        Supplies coordinates, the truck's access class and the straight-line model.
    route
        The trip.
    legs
        Road km and seconds per leg, ``(from_id, to_id, access) -> (km, s)`` (a plan made on
        roads, as the checker takes them); ``None`` for a straight-line plan.

    Returns
    -------
    list
        ``len(route.stops) + 1`` values: warehouse to the first stop, ..., last stop back to
        the warehouse. A stay at the same place is 0. With ``legs``, a leg it does not hold is
        ``None``; without, legs are the straight-line estimate when the scenario plans on
        straight lines, and ``None`` when it plans on roads (no road km to show).
    """
    access = scenario.travel.truck_access(scenario.truck(route.truck))
    straight = scenario.travel.source == "straight"
    places = route_places(scenario, route)
    km: list[float | None] = []
    for (a, start), (b, end) in itertools.pairwise(places):
        if a == b:
            km.append(0.0)
        elif legs is not None:
            found = legs.get((a, b, access))
            km.append(None if found is None else float(found[0]))
        elif straight:
            km.append(scenario.travel.road_km(start[0], start[1], end[0], end[1]))
        else:
            km.append(None)
    return km


def trip_sheet_files(
    scenario: Scenario,
    plan: Plan,
    *,
    language: str = "id",
    legs: Mapping[LegKey, tuple[float, int]] | None = None,
    road_lines: RoadLines | None = None,
) -> dict[str, bytes]:
    """Render every trip sheet of a plan.

    Parameters
    ----------
    scenario, plan
        The plan and its scenario.
    language
        ``"id"`` (default) or ``"en"``.
    legs
        Road km per leg for the km column (see :func:`leg_km`); ``None`` for straight lines.
    road_lines
        Each leg's road line for the small maps (:func:`geodata.leg_lines.road_lines`);
        ``None`` draws straight legs.

    Returns
    -------
    dict
        File name (``{date}_{truck}.html``) -> UTF-8 page, in day then truck order. Two truck
        ids that only differ in unsafe characters get a numbered suffix.

    Raises
    ------
    ValueError
        If ``language`` is unknown.
    """
    language_index(language)
    files: dict[str, bytes] = {}
    for truck_day in truck_days(plan):
        name = truck_day.file_name
        counter = 2
        while name in files:
            name = truck_day.file_name.removesuffix(".html") + f"_{counter}.html"
            counter += 1
        page = trip_sheet_html(
            scenario, truck_day, language=language, legs=legs, road_lines=road_lines
        )
        files[name] = page.encode("utf-8")
    return files


def write_trip_sheets(
    scenario: Scenario,
    plan: Plan,
    folder: Path,
    *,
    language: str = "id",
    legs: Mapping[LegKey, tuple[float, int]] | None = None,
    road_lines: RoadLines | None = None,
) -> list[Path]:
    """Write one printable A4 HTML trip sheet per truck-day into ``folder``.

    Parameters
    ----------
    scenario, plan
        The plan and its scenario.
    folder
        Created if missing. Each file is written to a temporary sibling, then moved into place.
    language
        ``"id"`` (default) or ``"en"``.
    legs, road_lines
        See :func:`trip_sheet_files`.

    Returns
    -------
    list of Path
        The sheets written, in day then truck order.

    Raises
    ------
    ValueError
        If ``language`` is unknown.
    OSError
        If a file cannot be written.
    """
    written = []
    sheets = trip_sheet_files(scenario, plan, language=language, legs=legs, road_lines=road_lines)
    for name, content in sheets.items():
        target = folder / name
        write_atomic(target, content)
        written.append(target)
    return written


def trip_sheet_html(
    scenario: Scenario,
    truck_day: TruckDay,
    *,
    language: str = "id",
    legs: Mapping[LegKey, tuple[float, int]] | None = None,
    road_lines: RoadLines | None = None,
) -> str:
    """Render the trip sheet of one truck-day as a standalone A4 HTML page.

    Parameters
    ----------
    scenario
        Supplies names, coordinates, truck and warehouse details.
    truck_day
        The trips to print.
    language
        ``"id"`` (default) or ``"en"``.
    legs, road_lines
        See :func:`trip_sheet_files`.

    Returns
    -------
    str
        The page: no script, no external resource.
    """

    def t(text: SheetText) -> str:
        return html.escape(text.label(language))

    truck = scenario.truck(truck_day.truck)
    warehouse = scenario.warehouse(truck_day.routes[0].warehouse)
    day = html.escape(format_long_date(truck_day.day, language))
    title = f"{t(SheetText.TITLE)} {html.escape(truck.id)} {day}"
    total_kg = sum(r.load_kg for r in truck_day.routes)
    total_sacks = sum(s.sacks for r in truck_day.routes for s in r.stops)
    total_km = sum(r.distance_km for r in truck_day.routes)
    truck_line = html.escape(truck.id) + (f" ({html.escape(truck.type)})" if truck.type else "")
    facts = (
        f"<table class='facts'><tr><th>{t(SheetText.TRUCK)}</th><td>{truck_line}</td>"
        f"<th>{t(SheetText.CAPACITY)}</th><td>{_kg(truck.capacity_kg, language)} kg</td></tr>"
        f"<tr><th>{t(SheetText.WAREHOUSE)}</th><td>{html.escape(warehouse.name)}"
        f" ({html.escape(warehouse.id)})</td><th>{t(SheetText.DATE)}</th>"
        f"<td>{day}</td></tr>"
        f"<tr><th>{t(SheetText.TRIPS)}</th><td>{len(truck_day.routes)}</td>"
        f"<th>{t(SheetText.LOAD)}</th><td>{_kg(total_kg, language)} kg, "
        f"{_kg(total_sacks, language)} {t(SheetText.SACKS).lower()}, "
        f"{format_km(total_km, language)}</td></tr></table>"
    )
    trips = "".join(
        _trip_table(scenario, route, i, t, language, leg_km(scenario, route, legs))
        for i, route in enumerate(truck_day.routes)
    )
    if legs is not None:
        km_note = f"<p class='note'>{t(SheetText.KM_ALONG_ROADS)}</p>"
    elif scenario.travel.source == "straight":
        km_note = f"<p class='note'>{t(SheetText.KM_ESTIMATED)}</p>"
    else:
        km_note = ""
    signatures = (
        "<table class='sign'><tr>"
        f"<td>{t(SheetText.WAREHOUSE_OFFICER)}<br><br><br>(........................)</td>"
        f"<td>{t(SheetText.DRIVER)}<br><br><br>(........................)</td></tr></table>"
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{language}"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{package_text('documents', SHEET_CSS)}</style></head><body>"
        f"<h1>{title}</h1>{facts}"
        f"<figure><figcaption>{t(SheetText.MAP)}</figcaption>"
        f"{route_svg(scenario, truck_day.routes, road_lines)}</figure>"
        f"{trips}{km_note}{signatures}</body></html>\n"
    )


def _trip_table(
    scenario: Scenario,
    route: Route,
    index: int,
    t: Callable[[SheetText], str],
    language: str,
    km: Sequence[float | None],
) -> str:
    colour = TRUCK_COLOURS[index % len(TRUCK_COLOURS)]
    sacks = sum(s.sacks for s in route.stops)

    def clock(moment: datetime) -> str:
        return format_clock(moment, language)

    heading = (
        f"<h2><span class='swatch' style='background:{colour}'></span>"
        f"{t(SheetText.TRIP)} {route.trip}: {t(SheetText.DEPART)} {clock(route.depart)}, "
        f"{t(SheetText.RETURN)} {clock(route.return_)}, {t(SheetText.LOAD)} "
        f"{_kg(route.load_kg, language)} kg ({_kg(sacks, language)} "
        f"{t(SheetText.SACKS).lower()}), {t(SheetText.DISTANCE)} "
        f"{format_km(route.distance_km, language)}</h2>"
    )
    head = (
        f"<thead><tr><th class='c-seq'>{t(SheetText.SEQ)}</th>"
        f"<th class='c-time'>{t(SheetText.ARRIVE)}</th>"
        f"<th class='c-time'>{t(SheetText.LEAVE)}</th><th>{t(SheetText.DROP_POINT)}</th>"
        f"<th class='c-rtrw'>{t(SheetText.RT_RW)}</th><th class='c-place'>{t(SheetText.DESA)}</th>"
        f"<th class='c-place'>{t(SheetText.KECAMATAN)}</th>"
        f"<th class='c-tranche'>{t(SheetText.TRANCHE)}</th>"
        f"<th class='c-num'>{t(SheetText.SACKS)}</th><th class='c-num'>{t(SheetText.KG)}</th>"
        f"<th class='c-num'>{t(SheetText.KM)}</th>"
        f"<th class='initials'>{t(SheetText.INITIALS)}</th></tr></thead>"
    )
    rows = []
    for seq, stop in enumerate(route.stops, start=1):
        point = scenario.drop_point(stop.drop_point)
        rt_rw = f"{point.rt or '-'}/{point.rw or '-'}"
        # A replacement stop: the driver hands over good rice and takes the rejected back.
        swap = (
            f"<br><i>{t(SheetText.REPLACEMENT)} {_kg(stop.pickup_kg, language)} kg</i>"
            if stop.kind == "replacement"
            else ""
        )
        rows.append(
            f"<tr><td class='n'>{seq}</td><td>{clock(stop.arrive)}</td>"
            f"<td>{clock(stop.depart)}</td><td><b>{html.escape(point.id)}</b> "
            f"{html.escape(point.name)}{swap}</td><td>{html.escape(rt_rw)}</td>"
            f"<td>{html.escape(point.desa)}</td><td>{html.escape(point.kecamatan)}</td>"
            f"<td>{html.escape(stop.tranche)}</td><td class='n'>{_kg(stop.sacks, language)}</td>"
            f"<td class='n'>{_kg(stop.kg, language)}</td>"
            f"<td class='n'>{_leg_km(km[seq - 1], language)}</td><td></td></tr>"
        )
    warehouse = scenario.warehouse(route.warehouse)
    back = (
        f"<tr class='back'><td></td><td>{clock(route.return_)}</td><td></td>"
        f"<td colspan='7'>{t(SheetText.BACK_TO_WAREHOUSE)} {html.escape(warehouse.name)}</td>"
        f"<td class='n'>{_leg_km(km[-1], language)}</td><td></td></tr>"
    )
    total = (
        f"<tr class='total'><td colspan='8'>{t(SheetText.TOTAL)}</td>"
        f"<td class='n'>{_kg(sacks, language)}</td>"
        f"<td class='n'>{_kg(route.load_kg, language)}</td>"
        f"<td class='n'>{format_decimal(route.distance_km, language, 1)}</td><td></td></tr>"
    )
    body = "".join(rows) + back + total
    return f"<section>{heading}<table class='stops'>{head}<tbody>{body}</tbody></table></section>"


def route_svg(
    scenario: Scenario, routes: Sequence[Route], road_lines: RoadLines | None = None
) -> str:
    """Draw trips as a small inline SVG map.

    Parameters
    ----------
    scenario
        Supplies coordinates.
    routes
        The trips (of one truck-day), drawn in trip colours with an arrowhead on every leg and
        the stops numbered in visiting order within each trip.
    road_lines
        Each leg's road line (:func:`geodata.leg_lines.road_lines`); ``None`` draws straight
        legs.

    Returns
    -------
    str
        An ``<svg>`` element (equirectangular projection, north up).
    """
    lines = [route_line(scenario, route, road_lines) for route in routes]
    places = [vertex for line in lines for vertex in line.coordinates]
    lons = [p[0] for p in places]
    lats = [p[1] for p in places]
    mid_lat = (min(lats) + max(lats)) / 2
    x_factor = math.cos(math.radians(mid_lat))
    span_x = max((max(lons) - min(lons)) * x_factor, MIN_SPAN_DEG)
    span_y = max(max(lats) - min(lats), MIN_SPAN_DEG)
    scale = min((SVG_WIDTH - 2 * SVG_PADDING) / span_x, (SVG_HEIGHT - 2 * SVG_PADDING) / span_y)
    centre_x = (min(lons) + max(lons)) / 2 * x_factor
    centre_y = (min(lats) + max(lats)) / 2

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (
            round(SVG_WIDTH / 2 + (lon * x_factor - centre_x) * scale, 1),
            round(SVG_HEIGHT / 2 - (lat - centre_y) * scale, 1),
        )

    parts = [
        f'<svg class="map" viewBox="0 0 {SVG_WIDTH} {SVG_HEIGHT}" '
        'xmlns="http://www.w3.org/2000/svg" role="img">',
        f'<rect width="{SVG_WIDTH}" height="{SVG_HEIGHT}" fill="#fafafa" stroke="#999"/>',
    ]
    # A truck belongs to one warehouse: every trip of the day starts there.
    first_home = scenario.warehouse(routes[0].warehouse)
    home_xy = xy(first_home.lon, first_home.lat)
    # Markers sit on their stop unless that would cover another marker or the warehouse; then
    # they move to the nearest free place, with a leader line back to a dot on the stop.
    anchors = [
        xy(scenario.drop_point(s.drop_point).lon, scenario.drop_point(s.drop_point).lat)
        for route in routes
        for s in route.stops
    ]
    marker_centres = iter(_place_markers(anchors, home_xy))
    labels: list[str] = []
    for index, (route, line) in enumerate(zip(routes, lines, strict=True)):
        colour = TRUCK_COLOURS[index % len(TRUCK_COLOURS)]
        points = [xy(lon, lat) for lon, lat in line.coordinates]
        for seq in range(1, len(route.stops) + 1):
            x, y = points[line.place_vertices[seq]]
            mx, my = next(marker_centres)
            if (mx, my) != (x, y):
                labels.insert(
                    0,
                    f'<line class="leader" x1="{x}" y1="{y}" x2="{mx}" y2="{my}" '
                    f'stroke="{colour}" stroke-width="3"/><circle class="anchor" cx="{x}" '
                    f'cy="{y}" r="7" fill="{colour}"/>',
                )
            labels.append(
                f'<g class="stop"><circle cx="{mx}" cy="{my}" r="{MARKER_RADIUS}" fill="#fff" '
                f'stroke="{colour}" stroke-width="6"/><text x="{mx}" y="{round(my + 11, 1)}" '
                f'text-anchor="middle" font-size="32" font-weight="bold">{seq}</text></g>'
            )
        path = " ".join(f"{x},{y}" for x, y in points)
        parts.append(
            f'<polyline class="route" points="{path}" fill="none" stroke="{colour}" '
            'stroke-width="7" stroke-linejoin="round" opacity="0.85"/>'
        )
        parts += [
            _leg_arrow(points[i : j + 1], colour)
            for i, j in itertools.pairwise(line.place_vertices)
        ]
    parts += labels
    x, y = home_xy
    side = 2 * WAREHOUSE_HALF
    parts.append(
        f'<rect class="warehouse" x="{round(x - WAREHOUSE_HALF, 1)}" '
        f'y="{round(y - WAREHOUSE_HALF, 1)}" width="{side}" height="{side}" '
        f'fill="#222" stroke="#fff" stroke-width="4"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _place_markers(
    anchors: Sequence[tuple[float, float]], warehouse: tuple[float, float]
) -> list[tuple[float, float]]:
    """Return a centre for each stop marker, in order: none overlaps another or the warehouse.

    Each marker takes the free place nearest its stop, searched on rings around it (the stop
    itself first); places stay inside the drawing. Deterministic: the same trips give the same
    drawing.
    """
    clear_marker = 2 * MARKER_RADIUS + MARKER_GAP
    # The square's corner is sqrt(2) half-sides from its centre (plus its white border).
    clear_warehouse = MARKER_RADIUS + WAREHOUSE_HALF * math.sqrt(2) + MARKER_GAP + 2
    low = MARKER_RADIUS + MARKER_GAP
    placed: list[tuple[float, float]] = []

    def free(x: float, y: float) -> bool:
        if not (low <= x <= SVG_WIDTH - low and low <= y <= SVG_HEIGHT - low):
            return False
        if math.hypot(x - warehouse[0], y - warehouse[1]) < clear_warehouse:
            return False
        return all(math.hypot(x - px, y - py) >= clear_marker for px, py in placed)

    for ax, ay in anchors:
        choice = None
        for x, y in _rings(ax, ay, step=MARKER_RADIUS / 2):
            if free(x, y):
                choice = (x, y)
                break
        # The rings reach every corner of the drawing, and it holds far more markers than a
        # truck-day has stops, so a place is always found; keep the stop itself if not.
        placed.append(choice if choice is not None else (ax, ay))
    return placed


def _rings(x: float, y: float, *, step: float) -> Iterator[tuple[float, float]]:
    """Yield ``(x, y)``, then points on rings of growing radius around it (rounded to 0.1)."""
    yield x, y
    for ring in range(1, int(math.hypot(SVG_WIDTH, SVG_HEIGHT) / step) + 1):
        radius = ring * step
        count = max(8, int(2 * math.pi * radius / step))
        for k in range(count):
            # Start straight up and go round, so markers move the same way on every sheet.
            angle = -math.pi / 2 + 2 * math.pi * k / count
            yield (
                round(x + radius * math.cos(angle), 1),
                round(y + radius * math.sin(angle), 1),
            )


def _leg_arrow(points: Sequence[tuple[float, float]], colour: str) -> str:
    """Return an arrowhead halfway along a leg drawn through ``points``, or nothing if short."""
    if len(points) < 2:
        return ""
    if len(points) == 2:
        return _arrow(points[0], points[1], colour)
    lengths = [math.dist(a, b) for a, b in itertools.pairwise(points)]
    if sum(lengths) < MIN_ARROW_LEG:
        return ""
    # The segment holding the leg's halfway point, and where on it that point is.
    rest = sum(lengths) / 2
    for (a, b), length in zip(itertools.pairwise(points), lengths, strict=True):
        if rest <= length and length > 0:
            share = rest / length
            middle = (a[0] + (b[0] - a[0]) * share, a[1] + (b[1] - a[1]) * share)
            return _arrowhead(middle, ((b[0] - a[0]) / length, (b[1] - a[1]) / length), colour)
        rest -= length
    return ""


def _arrow(a: tuple[float, float], b: tuple[float, float], colour: str) -> str:
    """Return a small arrowhead at the middle of leg ``a -> b``, or nothing if the leg is short."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    if length < MIN_ARROW_LEG:
        return ""
    return _arrowhead(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2), (dx / length, dy / length), colour)


def _arrowhead(middle: tuple[float, float], direction: tuple[float, float], colour: str) -> str:
    """Return an arrowhead pointing along ``direction`` (a unit vector), centred on ``middle``."""
    ux, uy = direction
    tip = (middle[0] + ux * 20, middle[1] + uy * 20)
    base = (tip[0] - ux * 42, tip[1] - uy * 42)
    left = (base[0] + uy * 20, base[1] - ux * 20)
    right = (base[0] - uy * 20, base[1] + ux * 20)
    corners = " ".join(f"{x:.1f},{y:.1f}" for x, y in (tip, left, right))
    return f'<polygon class="arrow" points="{corners}" fill="{colour}"/>'


def _leg_km(value: float | None, language: str) -> str:
    return "-" if value is None else format_decimal(value, language, 1)


def _kg(value: float, language: str) -> str:
    return format_number(value, language)
