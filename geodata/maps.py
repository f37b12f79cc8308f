"""Route maps of a plan: interactive Leaflet pages that work offline, in Indonesian or English.

What a map shows:

- warehouses as dark square icons (popup: stock, kg shipped per tranche, trips, trucks);
- one layer per working day holding that day's trips, each a line in its truck's colour with
  arrowheads drawn along it in the driving direction;
- drop points as circles coloured by status (:class:`PointStatus`); their popup lists id, RT/RW,
  desa, kecamatan, families, and per tranche the kg and sacks due and scheduled, each arrival
  with truck and trip, and the reason for what is not scheduled (said in the map's language from
  the reason's code and facts, :func:`geodata.i18n.reason_sentence`);
- a panel of grouped layer switches (days, tranche filter, statuses, warehouses), a legend, a
  summary (families served, tonnes, distance, trips, truck-days, unassigned), a search box (drop
  point id or name, desa) and a day slider with playback.

Scale: every vector is drawn on one canvas (``prefer_canvas``); the data travel as one compact
GeoJSON-like collection per day plus one for the drop points, and popups are built in the
browser from feature properties, so 4,000 drop points stay a few MB. The page's own script is
written here (no folium plugin, no jQuery, Bootstrap or awesome-markers), so an offline page
needs only Leaflet, which :mod:`geodata.map_assets` inlines from an installed package.

Plans spanning several warehouses get one map per warehouse and an index page
(:func:`map_files`, :func:`write_maps`).

Every word is in the map's language (:class:`MapText`, ``docs/glossary.md``); dates and times
are formatted in Python by Babel (:mod:`geodata.i18n`), numbers in the browser by ``Intl`` with the
same locale (:data:`geodata.i18n.BROWSER_LOCALES`).

folium is imported inside the functions that draw, never at module import.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum, unique
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final

from geodata.files import numbered_stem, package_text, write_atomic
from geodata.i18n import (
    BROWSER_LOCALES,
    WordTable,
    format_clock,
    format_decimal,
    format_integer,
    format_short_date,
    language_index,
    parse_language,
    plain_number,
    reason_sentence,
)
from geodata.leg_lines import (
    LegPaths,
    Position,
    RoadLines,
    plan_snap_m,
    road_lines,
    route_line,
    simplify_lines,
)
from geodata.map_assets import LEAFLET_CSS_URL, LEAFLET_JS_URL, inline_assets
from geodata.waiting_text import curve_svg, waiting_lines
from optimizer.errors import InputError
from optimizer.model import DropPoint, Scenario, haversine_km
from optimizer.solution import Kpis, Plan, Route, Unassigned, compute_kpis
from optimizer.waiting import WaitingCurve, waiting_curves

if TYPE_CHECKING:
    import folium
    import geopandas

"""Languages of the map labels, in the order of :class:`MapText` values."""

_JINJA_OPENER: Final = re.compile(r"\{(?=[{%#])")

MAP_CSS: Final = "assets/map.css"
"""The map page's own stylesheet (panels, legend, popups), inlined: no plugin, no CDN."""
MAP_JS: Final = "assets/map.js"
"""The map page's own script (layers by day, search, play), inlined as a function of the map."""
INDEX_CSS: Final = "assets/index.css"
"""The stylesheet of ``map.html``, the index of the maps."""

COORDINATE_DECIMALS: Final = 5
"""About 1 m: plenty for a map, and it keeps a 4,000-point page small."""
MAP_DECIMALS: Final = 1
"""Decimals of the kg figures in the map's data (popups, panels): a tenth of a kg is plenty."""

BACKGROUND_TOLERANCE_M: Final = 25.0
"""Simplification of the background's main roads and village boundaries: they only situate the
routes, so a coarser line than the routes' (:data:`geodata.leg_lines.SIMPLIFY_TOLERANCE_M`)."""
BACKGROUND_MARGIN: Final = 0.15
"""Share of a map's extent added on every side when choosing the background it carries: the
roads and villages just outside the drop points situate them too."""
BOUNDARY_LABEL_MIN_ZOOM: Final = 12
"""Village names show from this zoom on (about 1:150,000); farther out they would overlap."""

MAPS_FOLDER: Final = "maps"
"""Sub-folder, beside the index page, that holds one map per warehouse."""

OVERALL_MAP_MAX_POINTS: Final = 4000
"""An index page also links a map of every warehouse together up to this many drop points
(about the size that renders in a few seconds and stays under 10 MB)."""

FIT_PADDING_TOP_LEFT_PX: Final = (270, 20)
FIT_PADDING_BOTTOM_RIGHT_PX: Final = (280, 20)
"""Margins of the first view: the summary panel sits left, the layer panel right. On a screen
too narrow for both (a phone), the page fits the drop points again with small margins."""

NARROW_SCREEN_PX: Final = 600
"""Below this map width (a phone held upright) the day list and the legend start folded, so the
panels leave the map visible (the stylesheet's ``@media`` rule narrows them at the same width)."""

TILES_URL: Final = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILES_ATTRIBUTION: Final = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)

TRUCK_COLOURS: Final = (
    "#1f77b4",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#3182bd",
    "#e6550d",
    "#636363",
    "#6baed6",
    "#c49c94",
    "#9c9ede",
)
"""Truck line colours, cycled in scenario order; no purple, red or green: those mark statuses."""


@unique
class PointStatus(StrEnum):
    """Delivery status of a drop point (for one tranche, or over all tranches)."""

    DELIVERED = "delivered"
    """Everything due arrived in one stop."""
    SPLIT = "split"
    """Everything due arrived, over several trips."""
    PARTIAL = "partial"
    """Some but not all of what is due arrived (or some tranches only)."""
    UNASSIGNED = "unassigned"
    """Nothing due is scheduled; the popup gives the reason."""


STATUS_COLOURS: Final = {
    PointStatus.DELIVERED: "#1a9850",
    PointStatus.SPLIT: "#762a83",
    PointStatus.PARTIAL: "#fdae61",
    PointStatus.UNASSIGNED: "#d7191c",
}
PENDING_COLOUR: Final = "#bdbdbd"
"""Drop points not yet reached on the day shown by the playback slider."""


@unique
class MapText(WordTable):
    """Every label of the maps and the index page: ``(Bahasa Indonesia, English)``."""

    TITLE = ("Peta rute", "Route map")
    INDEX_TITLE = ("Peta rute per gudang", "Route maps by warehouse")
    ALL_WAREHOUSES = ("Semua gudang", "All warehouses")
    BACK_TO_INDEX = ("Kembali ke daftar peta", "Back to the list of maps")
    LAYERS = ("Lapisan", "Layers")
    DAYS = ("Hari", "Days")
    DAY = ("Hari", "Day")
    ALL = ("Semua", "All")
    NONE = ("Tidak ada", "None")
    TRANCHE = ("Tahap", "Tranche")
    STATUS = ("Status titik bagi", "Drop point status")
    WAREHOUSES = ("Gudang", "Warehouses")
    WAREHOUSE = ("Gudang", "Warehouse")
    WAREHOUSE_LETTER = ("G", "W")
    LEGEND = ("Legenda", "Legend")
    ROUTE_LEGEND = (
        "Rute: warna truk, panah = arah perjalanan",
        "Route: truck colour, arrows = direction of travel",
    )
    SUMMARY = ("Ringkasan", "Summary")
    FAMILIES_SERVED = ("KPM terlayani", "Families served")
    TONNES = ("Beras dijadwalkan (ton)", "Rice scheduled (t)")
    DISTANCE = ("Jarak (km)", "Distance (km)")
    TRIPS = ("Rit", "Trips")
    TRUCK_DAYS = ("Hari-truk", "Truck-days")
    UNASSIGNED_DELIVERIES = ("Pengiriman tidak terjadwal", "Deliveries not scheduled")
    DELIVERIES = ("pengiriman", "deliveries")
    SEARCH = ("Cari ID, nama titik, desa", "Search id, drop point, village")
    NO_MATCH = ("Tidak ditemukan", "No match")
    POINTS = ("titik", "points")
    PLAYBACK = ("Per hari", "Day by day")
    ALL_DAYS = ("Semua hari", "All days")
    PLAY = ("Putar", "Play")
    PAUSE = ("Jeda", "Pause")
    PENDING = ("Belum tiba (pada hari ini)", "Not yet arrived (on this day)")
    STATUS_DELIVERED = ("Dijadwalkan", "Scheduled")
    STATUS_SPLIT = ("Dijadwalkan dalam beberapa rit", "Scheduled over several trips")
    STATUS_PARTIAL = ("Dijadwalkan sebagian", "Partly scheduled")
    STATUS_UNASSIGNED = ("Tidak terjadwal", "Not scheduled")
    ID = ("ID", "ID")
    DESA = ("Desa", "Village")
    KECAMATAN = ("Kecamatan", "District")
    RT_RW = ("RT/RW", "RT/RW")
    KPM = ("KPM", "Families")
    DUE = ("Jatah", "Due")
    KG = ("kg", "kg")
    SACKS = ("karung", "sacks")
    ARRIVAL = ("Tiba", "Arrival")
    TRUCK = ("Truk", "Truck")
    TRIP = ("Rit", "Trip")
    REASON = ("Alasan", "Reason")
    LATE = ("TERLAMBAT", "LATE")
    STOCK = ("Stok (kg)", "Stock (kg)")
    SHIPPED = ("Dijadwalkan (kg)", "Scheduled (kg)")
    TRUCKS = ("Truk", "Trucks")
    DEPART = ("Berangkat", "Departure")
    RETURN = ("Kembali", "Return")
    LOAD = ("Muatan", "Load")
    STOPS = ("Titik", "Stops")
    DATE = ("Tanggal", "Date")
    MAP = ("Peta", "Map")
    DROP_POINTS = ("Titik bagi", "Drop points")
    SNAP = ("Jarak ke jalan", "Distance to the road")
    BACKGROUND = ("Latar", "Background")
    MAIN_ROADS = ("Jalan utama", "Main roads")
    BOUNDARIES = ("Batas desa", "Village boundaries")
    WAITING = ("KPM menunggu beras", "Families waiting for rice")


NUMBER_LOCALES: Final = BROWSER_LOCALES
"""Number formatting in the browser: ``1.234,5`` in Bahasa Indonesia, ``1,234.5`` in English."""


def status_label(status: PointStatus, language: str) -> str:
    """Return the legend label of a status in ``language``."""
    return MapText[f"STATUS_{status.name}"].label(language)


def day_label(day: date, language: str) -> str:
    """``"Sen, 7 Sep 2020"`` (id) or ``"Mon, 7 Sept 2020"`` (en): the locale's short date."""
    return format_short_date(day, language)


# --------------------------------------------------------------------------------------------
# The map's content as plain data (no folium): what build_map draws, and what tests inspect.


@dataclass(frozen=True, slots=True)
class DayRoutes:
    """One day's layer: its trips as a GeoJSON FeatureCollection of LineStrings."""

    day: date
    label: str
    collection: dict[str, Any]

    @property
    def n_routes(self) -> int:
        """Number of trips drawn that day."""
        return len(self.collection["features"])


@dataclass(frozen=True, slots=True)
class Boundary:
    """A village (or any area) drawn in a map's background, with its name."""

    name: str
    rings: tuple[tuple[Position, ...], ...]
    """Outer and inner rings of every part, simplified, ``(lon, lat)``."""
    label: Position
    """Where the name is written: a point inside the area."""


@dataclass(frozen=True, slots=True)
class MapRoads:
    """What roads add to a plan's maps, prepared once for all of them by :func:`map_roads`.

    Attributes
    ----------
    legs
        Each leg's road line, simplified; ``None`` draws trips as straight lines.
    main_roads
        The background's main roads, simplified.
    boundaries
        The background's village boundaries, simplified.
    """

    legs: RoadLines | None = None
    main_roads: tuple[tuple[Position, ...], ...] = ()
    boundaries: tuple[Boundary, ...] = ()


def map_roads(
    scenario: Scenario,
    plan: Plan,
    *,
    leg_paths: LegPaths | None = None,
    main_roads: Sequence[Sequence[Position]] | None = None,
    boundaries: geopandas.GeoDataFrame | None = None,
) -> MapRoads:
    """Prepare the road lines and offline background of a plan's maps.

    Parameters
    ----------
    scenario, plan
        The plan drawn.
    leg_paths
        Road geometry of each leg, ``(from_id, to_id, access) -> [(lon, lat), ...]`` (a mapping
        or a function; see :mod:`geodata.leg_lines`); ``None`` for straight lines.
    main_roads
        Lines of the extract's main roads, ``(lon, lat)`` (the roads part's ``main_roads``).
    boundaries
        Village boundaries from :func:`geodata.boundaries.read_boundaries` (EPSG:4326, a
        ``name`` column).

    Returns
    -------
    MapRoads
        Everything simplified (legs to :data:`geodata.leg_lines.SIMPLIFY_TOLERANCE_M`, the
        background to :data:`BACKGROUND_TOLERANCE_M`).
    """
    legs = None if leg_paths is None else road_lines(scenario, plan, leg_paths)
    roads = [line for line in (main_roads or ()) if len(line) >= 2]
    simple_roads = tuple(simplify_lines(roads, tolerance_m=BACKGROUND_TOLERANCE_M))
    return MapRoads(legs, simple_roads, _boundaries(boundaries))


def plan_folder_roads(scenario: Scenario, plan: Plan, folder: Path) -> MapRoads | None:
    """Return the road lines a plan folder's ``routes.geojson`` holds, to redraw its maps.

    Parameters
    ----------
    scenario, plan
        The plan of the folder (read from ``scenario/`` and ``plan.json``).
    folder
        The plan folder.

    Returns
    -------
    MapRoads or None
        The legs along their roads (no background: that needs the extract); ``None`` for a
        straight-line plan, or when ``routes.geojson`` is missing or unreadable (the map is
        then drawn with straight lines, as before roads).
    """
    from geodata.leg_lines import road_lines_from_routes

    try:
        collection = json.loads((folder / "routes.geojson").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(collection, dict):
        return None
    legs = road_lines_from_routes(scenario, plan, collection)
    return None if legs is None else MapRoads(legs)


def _boundaries(frame: geopandas.GeoDataFrame | None) -> tuple[Boundary, ...]:
    if frame is None or frame.empty:
        return ()
    from geodata.boundaries import NAME_COLUMN

    areas = []
    for name, geometry in zip(frame[NAME_COLUMN], frame.geometry, strict=True):
        if geometry is None or geometry.is_empty:
            continue
        parts = list(getattr(geometry, "geoms", [geometry]))
        rings = [
            [(float(x), float(y)) for x, y in ring.coords]
            for part in parts
            for ring in (part.exterior, *part.interiors)
        ]
        label = geometry.representative_point()
        areas.append((str(name), rings, (float(label.x), float(label.y))))
    flat = [ring for _, rings, _ in areas for ring in rings]
    simple = iter(simplify_lines(flat, tolerance_m=BACKGROUND_TOLERANCE_M))
    return tuple(
        Boundary(name, tuple(next(simple) for _ in rings), label) for name, rings, label in areas
    )


def _background(
    roads: MapRoads | None, bounds: tuple[tuple[float, float], tuple[float, float]]
) -> dict[str, Any]:
    """Return the background near ``bounds`` (``((south, west), (north, east))``)."""
    if roads is None:
        return {"roads": [], "boundaries": []}
    (south, west), (north, east) = bounds
    margin_lat = max(north - south, 0.01) * BACKGROUND_MARGIN
    margin_lon = max(east - west, 0.01) * BACKGROUND_MARGIN
    box = (west - margin_lon, south - margin_lat, east + margin_lon, north + margin_lat)

    def near(lines: Iterable[Sequence[Position]]) -> bool:
        xs = [x for line in lines for x, _ in line]
        ys = [y for line in lines for _, y in line]
        return (
            bool(xs)
            and min(xs) <= box[2]
            and max(xs) >= box[0]
            and (min(ys) <= box[3] and max(ys) >= box[1])
        )

    return {
        "roads": [[_position(*v) for v in line] for line in roads.main_roads if near([line])],
        "boundaries": [
            {
                "name": area.name,
                "rings": [[_position(*v) for v in ring] for ring in area.rings],
                "label": _position(*area.label),
            }
            for area in roads.boundaries
            if near(area.rings)
        ],
    }


@dataclass(frozen=True, slots=True)
class MapContent:
    """Everything one map shows, JSON-ready; built by :func:`map_content`."""

    title: str
    language: str
    warehouse: str | None
    days: tuple[DayRoutes, ...]
    points: dict[str, Any]
    warehouses: dict[str, Any]
    tranches: tuple[tuple[str, str], ...]
    summary: Kpis
    """The summary panel's figures: the plan's KPIs, or those of the warehouse shown."""
    bounds: tuple[tuple[float, float], tuple[float, float]]
    background: dict[str, Any] = field(default_factory=lambda: {"roads": [], "boundaries": []})
    """Main roads (``roads``: lines) and villages (``boundaries``: name, rings, label point)
    near the map's drop points, ``[lon, lat]``; empty without :class:`MapRoads`."""
    waiting: tuple[WaitingCurve, ...] = ()
    """The summary panel's waiting curves, one per tranche: of the whole plan, or of the
    families at the drop points the warehouse's map shows (served whoever brought the rice)."""

    @property
    def n_points(self) -> int:
        """Number of drop point markers."""
        return len(self.points["features"])


def map_content(
    scenario: Scenario,
    plan: Plan,
    *,
    language: str = "id",
    warehouse: str | None = None,
    roads: MapRoads | None = None,
) -> MapContent:
    """Gather what a map shows, as JSON-ready data.

    Parameters
    ----------
    scenario
        The scenario of the plan (coordinates, names, demand).
    plan
        The plan.
    language
        ``"id"`` (default) or ``"en"``.
    warehouse
        Show only this warehouse: its trips, the drop points they serve and the undelivered
        points nearest to it. ``None`` shows everything.
    roads
        Trips along their roads and the offline background (:func:`map_roads`); ``None``
        draws straight lines on no background.

    Returns
    -------
    MapContent
        Days in date order, drop points in scenario order.

    Raises
    ------
    ValueError
        If ``language`` or ``warehouse`` is unknown.
    """
    language_index(language)
    warehouse_ids = [w.id for w in scenario.warehouses]
    if warehouse is not None and warehouse not in warehouse_ids:
        raise ValueError(f"unknown warehouse {warehouse!r}: expected one of {warehouse_ids}")
    routes = [r for r in plan.routes if warehouse is None or r.warehouse == warehouse]
    shown_points = _points_of(scenario, plan, routes, warehouse)
    unassigned = [u for u in plan.unassigned if u.drop_point in shown_points]
    colours = {
        truck.id: TRUCK_COLOURS[i % len(TRUCK_COLOURS)] for i, truck in enumerate(scenario.trucks)
    }
    days = _day_layers(scenario, routes, colours, language, None if roads is None else roads.legs)
    points = _point_collection(scenario, plan, shown_points, language)
    shown_warehouses = [w for w in scenario.warehouses if warehouse is None or w.id == warehouse]
    warehouses = _warehouse_collection(scenario, plan, [w.id for w in shown_warehouses])
    title = f"{MapText.TITLE.label(language)}: {scenario.name}"
    if warehouse is not None:
        title += f" - {scenario.warehouse(warehouse).name}"
    lons = [w.lon for w in shown_warehouses] + [scenario.drop_point(p).lon for p in shown_points]
    lats = [w.lat for w in shown_warehouses] + [scenario.drop_point(p).lat for p in shown_points]
    bounds = ((min(lats), min(lons)), (max(lats), max(lons)))
    return MapContent(
        title=title,
        language=language,
        warehouse=warehouse,
        days=days,
        points=points,
        warehouses=warehouses,
        tranches=tuple((t.id, t.name) for t in scenario.tranches),
        summary=_summary(scenario, plan, routes, unassigned, shown_points, warehouse),
        bounds=bounds,
        background=_background(roads, bounds),
        waiting=waiting_curves(
            scenario, plan, drop_points=None if warehouse is None else shown_points
        ),
    )


def _points_of(
    scenario: Scenario, plan: Plan, routes: Sequence[Route], warehouse: str | None
) -> list[str]:
    """Drop point ids shown, in scenario order."""
    if warehouse is None:
        return [p.id for p in scenario.drop_points]
    served = {stop.drop_point for route in routes for stop in route.stops}
    served_anywhere = {stop.drop_point for route in plan.routes for stop in route.stops}
    shown: list[str] = []
    for point in scenario.drop_points:
        if point.id in served:
            shown.append(point.id)
        elif point.id not in served_anywhere and _nearest_warehouse(scenario, point) == warehouse:
            # Nothing reached it: show it on the map of the warehouse that would serve it.
            shown.append(point.id)
    return shown


def _nearest_warehouse(scenario: Scenario, point: DropPoint) -> str:
    return min(
        scenario.warehouses, key=lambda w: (haversine_km(w.lon, w.lat, point.lon, point.lat), w.id)
    ).id


def _position(lon: float, lat: float) -> list[float]:
    return [round(lon, COORDINATE_DECIMALS), round(lat, COORDINATE_DECIMALS)]


def _clock(moment: datetime, language: str) -> str:
    return format_clock(moment, language)


def _day_layers(
    scenario: Scenario,
    routes: Sequence[Route],
    colours: Mapping[str, str],
    language: str,
    legs: RoadLines | None,
) -> tuple[DayRoutes, ...]:
    by_day: dict[date, list[Route]] = defaultdict(list)
    for route in routes:
        by_day[route.date].append(route)
    layers = []
    for day in sorted(by_day):
        features = []
        for route in sorted(by_day[day], key=lambda r: (r.truck, r.trip)):
            line = route_line(scenario, route, legs)
            coordinates = [_position(lon, lat) for lon, lat in line.coordinates]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": coordinates},
                    "properties": {
                        "truck": route.truck,
                        "type": scenario.truck(route.truck).type,
                        "warehouse": route.warehouse,
                        "trip": route.trip,
                        "color": colours[route.truck],
                        "tranches": sorted({s.tranche for s in route.stops}),
                        "depart": _clock(route.depart, language),
                        "return": _clock(route.return_, language),
                        "km": round(route.distance_km, 1),
                        "kg": plain_number(route.load_kg, MAP_DECIMALS),
                        "sacks": sum(s.sacks for s in route.stops),
                        "stops": [s.drop_point for s in route.stops],
                        # Where the warehouse and each stop are along the line.
                        "places": list(line.place_vertices),
                    },
                }
            )
        layers.append(
            DayRoutes(
                day=day,
                label=day_label(day, language),
                collection={"type": "FeatureCollection", "features": features},
            )
        )
    return tuple(layers)


@dataclass(frozen=True, slots=True)
class _Visit:
    day: date
    tranche: str
    kg: float
    sacks: int
    arrive: datetime
    truck: str
    trip: int


def _visits_by_point(plan: Plan) -> dict[str, list[_Visit]]:
    visits: dict[str, list[_Visit]] = defaultdict(list)
    for route in plan.routes:
        for stop in route.stops:
            visits[stop.drop_point].append(
                _Visit(
                    route.date,
                    stop.tranche,
                    stop.kg,
                    stop.sacks,
                    stop.arrive,
                    route.truck,
                    route.trip,
                )
            )
    for items in visits.values():
        items.sort(key=lambda v: (v.arrive, v.truck, v.trip))
    return visits


def tranche_status(due_kg: float, visits: Sequence[_Visit]) -> PointStatus:
    """Status of one (drop point, tranche) from what is due and the stops that delivered it.

    Parameters
    ----------
    due_kg
        Rice owed for the tranche.
    visits
        The stops that delivered part of it.

    Returns
    -------
    PointStatus
        ``UNASSIGNED`` when nothing arrived, ``PARTIAL`` when less than due, ``SPLIT`` when all of
        it in several stops, ``DELIVERED`` when all of it in one.
    """
    delivered_kg = sum(v.kg for v in visits)
    if delivered_kg <= 1e-9 and due_kg > 1e-9:
        return PointStatus.UNASSIGNED
    if delivered_kg < due_kg - 1e-6:
        return PointStatus.PARTIAL
    return PointStatus.SPLIT if len(visits) > 1 else PointStatus.DELIVERED


def overall_status(statuses: Sequence[PointStatus]) -> PointStatus:
    """Status of a point over all its tranches: the worst one, where some-but-not-all is partial."""
    if not statuses:
        return PointStatus.DELIVERED
    if all(s is PointStatus.UNASSIGNED for s in statuses):
        return PointStatus.UNASSIGNED
    if any(s in (PointStatus.UNASSIGNED, PointStatus.PARTIAL) for s in statuses):
        return PointStatus.PARTIAL
    if any(s is PointStatus.SPLIT for s in statuses):
        return PointStatus.SPLIT
    return PointStatus.DELIVERED


def _point_collection(
    scenario: Scenario, plan: Plan, point_ids: Iterable[str], language: str
) -> dict[str, Any]:
    visits = _visits_by_point(plan)
    snaps = plan_snap_m(plan)
    missing: dict[tuple[str, str], list[Unassigned]] = defaultdict(list)
    for item in plan.unassigned:
        missing[(item.drop_point, item.tranche)].append(item)
    features = []
    for point_id in point_ids:
        point = scenario.drop_point(point_id)
        per_tranche = []
        statuses = []
        for tranche in scenario.tranches:
            due_kg = scenario.demand_kg(point, tranche)
            done = [v for v in visits.get(point.id, []) if v.tranche == tranche.id]
            status = tranche_status(due_kg, done)
            statuses.append(status)
            gaps = missing.get((point.id, tranche.id), [])
            per_tranche.append(
                {
                    "tranche": tranche.id,
                    "status": str(status),
                    "due_kg": plain_number(due_kg, MAP_DECIMALS),
                    "due_sacks": math.ceil(due_kg / scenario.sack_kg - 1e-9),
                    "kg": plain_number(sum(v.kg for v in done), MAP_DECIMALS),
                    "sacks": sum(v.sacks for v in done),
                    "stops": [
                        {
                            "date": v.day.isoformat(),
                            "day": day_label(v.day, language),
                            "arrive": _clock(v.arrive, language),
                            "truck": v.truck,
                            "trip": v.trip,
                            "kg": plain_number(v.kg, MAP_DECIMALS),
                            "sacks": v.sacks,
                            "late": v.day > tranche.deadline,
                        }
                        for v in done
                    ],
                    # In the map's language, from the facts (plan.json keeps its English).
                    "reason": " ".join(
                        reason_sentence(g.reason_code, g.facts, g.drop_point, g.tranche, language)
                        for g in gaps
                    ),
                    "reason_code": ",".join(sorted({str(g.reason_code) for g in gaps})),
                }
            )
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": _position(point.lon, point.lat)},
                "properties": {
                    "id": point.id,
                    "name": point.name,
                    "rt": point.rt,
                    "rw": point.rw,
                    "desa": point.desa,
                    "kecamatan": point.kecamatan,
                    "kpm": point.kpm,
                    "status": str(overall_status(statuses)),
                    "tranches": per_tranche,
                }
                | _snap_property(snaps, point.id),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _snap_property(snaps: Mapping[str, float | None], place_id: str) -> dict[str, Any]:
    """``{"snap_m": whole metres}`` when the plan knows the place's snap (``None``: no road)."""
    if place_id not in snaps:
        return {}
    metres = snaps[place_id]
    finite = metres is not None and math.isfinite(metres)
    return {"snap_m": round(metres) if finite and metres is not None else None}


def _warehouse_collection(
    scenario: Scenario, plan: Plan, warehouse_ids: Sequence[str]
) -> dict[str, Any]:
    snaps = plan_snap_m(plan)
    features = []
    for warehouse_id in warehouse_ids:
        warehouse = scenario.warehouse(warehouse_id)
        routes = [r for r in plan.routes if r.warehouse == warehouse_id]
        shipped: dict[str, float] = dict.fromkeys((t.id for t in scenario.tranches), 0.0)
        for route in routes:
            for stop in route.stops:
                shipped[stop.tranche] += stop.kg
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": _position(warehouse.lon, warehouse.lat),
                },
                "properties": {
                    "id": warehouse.id,
                    "name": warehouse.name,
                    "stock_kg": plain_number(warehouse.stock_kg, MAP_DECIMALS),
                    "shipped_kg": plain_number(sum(shipped.values()), MAP_DECIMALS),
                    "shipped_kg_per_tranche": {
                        k: plain_number(v, MAP_DECIMALS) for k, v in shipped.items()
                    },
                    "trips": len(routes),
                    "trucks": sum(1 for t in scenario.trucks if t.warehouse_id == warehouse_id),
                }
                | _snap_property(snaps, warehouse_id),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _summary(
    scenario: Scenario,
    plan: Plan,
    routes: Sequence[Route],
    unassigned: Sequence[Unassigned],
    point_ids: Sequence[str],
    warehouse: str | None,
) -> Kpis:
    if warehouse is None:
        return plan.kpis
    # One warehouse's share of the plan; a point is served whoever brought the rice.
    return compute_kpis(scenario, routes, unassigned, drop_points=point_ids, served_by=plan.routes)


# --------------------------------------------------------------------------------------------
# Drawing with folium.


def build_map(
    scenario: Scenario,
    plan: Plan,
    *,
    language: str = "id",
    warehouse: str | None = None,
    index_href: str | None = None,
    roads: MapRoads | None = None,
) -> folium.Map:
    """Draw a plan on a folium map.

    Parameters
    ----------
    scenario
        The scenario of the plan.
    plan
        The plan.
    language
        Labels in Bahasa Indonesia (``"id"``, default) or English (``"en"``).
    warehouse
        Draw only this warehouse's part of the plan (see :func:`map_content`).
    index_href
        Relative link to an index page of maps, shown in the summary panel.
    roads
        Trips along their roads and an offline background of main roads and village
        boundaries (:func:`map_roads`); ``None`` draws straight lines.

    Returns
    -------
    folium.Map
        Its children include one element per day (``_name == "BsbDayRoutes"``, with the
        :class:`DayRoutes` as ``bsb_layer``), one for the drop points (``"BsbDropPoints"``), one
        for the warehouses (``"BsbWarehouses"``) and the controls (``"BsbControls"``, with the
        :class:`MapContent` as ``bsb_content``). Links name the Leaflet CDN; offline pages get
        the assets inlined by :func:`render_map_html`.

    Raises
    ------
    ValueError
        If ``language`` or ``warehouse`` is unknown.
    """
    import folium
    from branca.element import Element, Figure

    content = map_content(scenario, plan, language=language, warehouse=warehouse, roads=roads)
    (south, west), (north, east) = content.bounds
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=11,
        tiles=None,
        prefer_canvas=True,
        # The scale bar is added below in kilometres only: folium's would add miles too.
        control_scale=False,
    )
    # Only Leaflet itself: folium's jQuery, Bootstrap and awesome-markers are not needed here.
    m.default_js = [("leaflet", LEAFLET_JS_URL)]
    m.default_css = [("leaflet_css", LEAFLET_CSS_URL)]
    folium.TileLayer(
        tiles=TILES_URL, attr=TILES_ATTRIBUTION, name="OpenStreetMap", max_zoom=19
    ).add_to(m)
    # Room for the panels on both sides, so no drop point starts hidden under one.
    m.fit_bounds(
        [list(content.bounds[0]), list(content.bounds[1])],
        padding_top_left=FIT_PADDING_TOP_LEFT_PX,
        padding_bottom_right=FIT_PADDING_BOTTOM_RIGHT_PX,
    )
    root = m.get_root()
    assert isinstance(root, Figure)  # a new folium.Map always sits in a Figure
    root.header.add_child(Element(f"<title>{_html_text(content.title)}</title>"), name="title")
    css = package_text("geodata", MAP_CSS)
    root.header.add_child(Element(f"<style>{css}</style>"), name="bsb_css")

    state = f"bsb_{m.get_name()}"
    config = {
        "text": {t.name.lower(): t.label(language) for t in MapText},
        "statuses": [
            {"code": str(s), "label": status_label(s, language), "color": STATUS_COLOURS[s]}
            for s in PointStatus
        ],
        "pending_color": PENDING_COLOUR,
        "locale": NUMBER_LOCALES[parse_language(language)],
        "tranches": [{"id": tid, "name": name} for tid, name in content.tranches],
        "title": content.title,
        "index_href": index_href,
        # Every warehouse on one map: the legs from and back to the warehouses would hide the
        # stops under a fan of spokes, so they are drawn faint and the stops' clusters stand out.
        "overview": warehouse is None and len(scenario.warehouses) > 1,
        "fit": {
            "bounds": [list(content.bounds[0]), list(content.bounds[1])],
            "top_left": list(FIT_PADDING_TOP_LEFT_PX),
            "bottom_right": list(FIT_PADDING_BOTTOM_RIGHT_PX),
        },
        "narrow_px": NARROW_SCREEN_PX,
        "label_zoom": BOUNDARY_LABEL_MIN_ZOOM,
    }
    _add_script(m, "BsbScale", f"L.control.scale({{imperial: false}}).addTo({m.get_name()});")
    script = package_text("geodata", MAP_JS)
    _add_script(m, "BsbState", f"var {state} = ({script})({m.get_name()}, {_json(config)});")
    if content.background["roads"] or content.background["boundaries"]:
        background = _json(_packed_background(content))
        _add_script(m, "BsbBackground", f"{state}.addBackground({background});")
    for layer in content.days:
        element = _add_script(
            m,
            "BsbDayRoutes",
            f"{state}.addDay({_json(layer.day.isoformat())}, {_json(layer.label)}, "
            f"{_json(_packed_routes(layer.collection))});",
        )
        element.bsb_layer = layer
    _add_script(m, "BsbDropPoints", f"{state}.addPoints({_json(content.points)});")
    _add_script(m, "BsbWarehouses", f"{state}.addWarehouses({_json(content.warehouses)});")
    summary = {
        "families_total": content.summary.families_total,
        "families_served": content.summary.families_served,
        "tonnes": round(content.summary.kg_delivered / 1000, 1),
        "distance_km": round(content.summary.distance_km, 1),
        "trips": content.summary.trips,
        "truck_days": content.summary.truck_days,
        "unassigned": content.summary.unassigned_deliveries,
        "kg_unassigned": plain_number(content.summary.kg_unassigned, MAP_DECIMALS),
        # Written here in the map's language; the page only places them (the SVG is escaped).
        "waiting": [
            {
                "tranche": f"{MapText.TRANCHE.label(language)} {curve.tranche}",
                "lines": list(waiting_lines(curve, language)),
                "svg": curve_svg(curve, language),
            }
            for curve in content.waiting
        ],
    }
    controls = _add_script(m, "BsbControls", f"{state}.finish({_json(summary)});")
    controls.bsb_content = content
    return m


def encode_line(coordinates: Sequence[Sequence[float]]) -> str:
    """Encode ``[lon, lat]`` vertices as an encoded polyline (precision 5, latitude first).

    The format of Google's polyline algorithm: each coordinate in units of 1e-5 degrees, as
    the difference from the previous vertex, in 5-bit chunks written as printable ASCII. A
    road line of a few hundred vertices takes 4 to 6 bytes a vertex instead of the 20 of
    ``[106.12345,-6.12345],`` in JSON; the page's script decodes it.

    Parameters
    ----------
    coordinates
        ``[lon, lat]`` pairs (degrees).

    Returns
    -------
    str
        Characters ``?`` (63) to ``~`` (126) only: nothing to escape in HTML or JSON but ``\\``.
    """
    chunks: list[str] = []
    previous_lat = previous_lon = 0
    for lon, lat in coordinates:
        lat_e5, lon_e5 = round(lat * 1e5), round(lon * 1e5)
        for delta in (lat_e5 - previous_lat, lon_e5 - previous_lon):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                chunks.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            chunks.append(chr(value + 63))
        previous_lat, previous_lon = lat_e5, lon_e5
    return "".join(chunks)


def _packed_routes(collection: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return a day's trips as the page's script reads them: encoded lines, properties."""
    return [
        {"line": encode_line(f["geometry"]["coordinates"]), "properties": f["properties"]}
        for f in collection["features"]
    ]


def _packed_background(content: MapContent) -> dict[str, Any]:
    return {
        "roads": [encode_line(line) for line in content.background["roads"]],
        "boundaries": [
            {
                "name": area["name"],
                "rings": [encode_line(ring) for ring in area["rings"]],
                "label": area["label"],
            }
            for area in content.background["boundaries"]
        ],
    }


def _add_script(m: folium.Map, kind: str, script: str) -> Any:
    """Add a script to the map as an element named ``kind``; returns it (to attach test data)."""
    from branca.element import MacroElement
    from jinja2 import Template

    # Any: tests read the plain data attached to these elements (bsb_layer, bsb_content).
    element: Any = MacroElement()  # type: ignore[no-untyped-call]
    element._name = kind
    element._template = Template(
        "{% macro script(this, kwargs) %}{{ this.bsb_script }}{% endmacro %}"
    )
    # The script is inserted as a value, never parsed by Jinja: data may contain "{{".
    element.bsb_script = script
    m.add_child(element)
    return element


def _json(value: object) -> str:
    """Return JSON safe inside an inline ``<script>`` that branca will read as a template.

    No ``<``, ``>`` or ``&`` can end the script; no ``{{``, ``{%`` or ``{#`` can start a Jinja
    tag (branca re-reads every rendered script as a template). In compact JSON a ``{`` followed
    by one of those characters can only sit inside a string, where ``\\u007b`` means the same.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _JINJA_OPENER.sub("\\\\u007b", text)


def _html_text(text: str) -> str:
    """Return escaped HTML text that branca's template pass leaves as it is."""
    return html.escape(text).replace("{", "&#123;")


def render_map_html(m: folium.Map, *, offline: bool = True) -> str:
    """Render a map to a standalone HTML page.

    Parameters
    ----------
    m
        A map from :func:`build_map`.
    offline
        Inline Leaflet's script and stylesheet (from ``xstatic-leaflet``) so that the page needs
        no network; only the tile URL template and attribution links then name a host. With
        ``False`` the page links the Leaflet CDN.

    Returns
    -------
    str
        The page.

    Raises
    ------
    ValueError
        If ``offline`` and the map links a remote script or stylesheet that cannot be inlined.
    geodata.map_assets.MissingAssetError
        If ``offline`` and ``xstatic-leaflet`` is not installed.
    """
    page: str = m.get_root().render()
    return inline_assets(page) if offline else page


# --------------------------------------------------------------------------------------------
# Files.


def map_files(
    scenario: Scenario,
    plan: Plan,
    *,
    name: str = "map.html",
    language: str = "id",
    offline: bool = True,
    roads: MapRoads | None = None,
) -> dict[str, bytes]:
    """Render the map page(s) of a plan, as files relative to the folder that holds ``name``.

    Parameters
    ----------
    scenario, plan
        The plan to draw.
    name
        File name of the main page (a map, or the index when there are several warehouses).
    language
        ``"id"`` (default) or ``"en"``.
    offline
        See :func:`render_map_html`.
    roads
        Trips along their roads and the offline background (:func:`map_roads`, built once for
        every page); ``None`` draws straight lines.

    Returns
    -------
    dict
        Relative POSIX path -> UTF-8 content, ready for
        ``documents.plan_files.write_plan_folder(extra_files=...)``. One warehouse (or fewer
        than two that ship anything): ``{name: map}``. Several: ``{name: index,
        "maps/<warehouse>.html": map, ...}`` plus ``"maps/all.html"`` when the plan has at most
        :data:`OVERALL_MAP_MAX_POINTS` drop points.

    Raises
    ------
    ValueError
        If ``language`` is unknown or ``name`` is not a plain file name.
    """
    language_index(language)
    if PurePosixPath(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"map file name {name!r}: expected a plain file name")
    if len(scenario.warehouses) <= 1:
        m = build_map(scenario, plan, language=language, roads=roads)
        page = render_map_html(m, offline=offline)
        return {name: page.encode("utf-8")}
    back = f"../{name}"
    files: dict[str, bytes] = {}
    entries: list[_IndexEntry] = []
    used: set[str] = set()
    for warehouse in scenario.warehouses:
        relative = f"{MAPS_FOLDER}/{numbered_stem(warehouse.id, used)}.html"
        m = build_map(
            scenario,
            plan,
            language=language,
            warehouse=warehouse.id,
            index_href=back,
            roads=roads,
        )
        content: MapContent = _content_of(m)
        files[relative] = render_map_html(m, offline=offline).encode("utf-8")
        entries.append(_IndexEntry(relative, warehouse.id, warehouse.name, content.summary))
    if len(scenario.drop_points) <= OVERALL_MAP_MAX_POINTS:
        relative = f"{MAPS_FOLDER}/{numbered_stem('all', used)}.html"
        m = build_map(scenario, plan, language=language, index_href=back, roads=roads)
        files[relative] = render_map_html(m, offline=offline).encode("utf-8")
        label = MapText.ALL_WAREHOUSES.label(language)
        entries.insert(0, _IndexEntry(relative, "", label, _content_of(m).summary))
    files[name] = index_page(scenario.name, entries, language=language).encode("utf-8")
    return files


def _content_of(m: folium.Map) -> MapContent:
    for child in m._children.values():
        content = getattr(child, "bsb_content", None)
        if isinstance(content, MapContent):
            return content
    raise ValueError("not a map drawn by build_map")


@dataclass(frozen=True, slots=True)
class _IndexEntry:
    href: str
    warehouse_id: str
    name: str
    summary: Kpis


def index_page(scenario_name: str, entries: Sequence[_IndexEntry], *, language: str) -> str:
    """Return a small offline HTML page linking the maps, with each map's summary figures."""
    t = {text: html.escape(text.label(language)) for text in MapText}

    def n(value: float) -> str:
        return format_integer(value, language)

    rows = []
    for entry in entries:
        s = entry.summary
        label = html.escape(entry.name)
        if entry.warehouse_id:
            label += f" <small>({html.escape(entry.warehouse_id)})</small>"
        rows.append(
            f'<tr><td><a href="{html.escape(entry.href)}">{label}</a></td>'
            f"<td>{n(s.families_served)} / {n(s.families_total)}</td>"
            f"<td>{format_decimal(s.kg_delivered / 1000, language, 1)}</td>"
            f"<td>{n(s.distance_km)}</td><td>{n(s.trips)}</td><td>{n(s.truck_days)}</td>"
            f"<td>{n(s.unassigned_deliveries)}</td></tr>"
        )
    title = f"{t[MapText.INDEX_TITLE]}: {html.escape(scenario_name)}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{package_text('geodata', INDEX_CSS)}</style></head><body>"
        f"<h1>{title}</h1><table><thead><tr><th>{t[MapText.MAP]}</th>"
        f"<th>{t[MapText.FAMILIES_SERVED]}</th><th>{t[MapText.TONNES]}</th>"
        f"<th>{t[MapText.DISTANCE]}</th><th>{t[MapText.TRIPS]}</th>"
        f"<th>{t[MapText.TRUCK_DAYS]}</th><th>{t[MapText.UNASSIGNED_DELIVERIES]}</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></body></html>\n"
    )


def write_maps(
    scenario: Scenario,
    plan: Plan,
    out: Path,
    *,
    language: str = "id",
    offline: bool = True,
    force: bool = False,
    protected: Sequence[Path] = (),
    roads: MapRoads | None = None,
) -> list[Path]:
    """Write the map of a plan to ``out`` (and, for several warehouses, ``maps/`` beside it).

    Each file is written to a temporary sibling and moved into place with ``os.replace``, so a
    reader never sees half a page. Each page ends with :data:`BSB_MAP_MARKER`. A file already
    there is replaced only when bsb wrote it: a map listed, unchanged, in the manifest of its
    plan folder is redrawn in place; another bsb map needs ``force``; anything else is refused
    (:func:`geodata.output_guard.check_output_file`), before any file is written. Files written
    into a plan folder are recorded in its manifest.

    Parameters
    ----------
    scenario, plan
        The plan to draw.
    out
        The map (one warehouse) or the index page (several); its folder is created if missing.
    language
        ``"id"`` (default) or ``"en"``.
    offline
        See :func:`render_map_html`.
    force
        Replace maps bsb wrote earlier.
    protected
        Input folders (the plan's scenario) that no map may be written into.
    roads
        See :func:`map_files`.

    Returns
    -------
    list of Path
        Every file written, ``out`` first.

    Raises
    ------
    InputError
        If a file may not be written; nothing is written.
    ValueError
        If ``language`` is unknown.
    OSError
        If a file cannot be written.
    """
    from geodata.output_guard import add_to_manifest, output_file_problem

    files = map_files(
        scenario, plan, name=out.name, language=language, offline=offline, roads=roads
    )
    targets = {relative: out.parent.joinpath(*PurePosixPath(relative).parts) for relative in files}
    problems = [
        problem
        for relative in sorted(targets)
        if (
            problem := output_file_problem(
                targets[relative],
                force=force,
                written_by_bsb=is_bsb_map,
                protected=protected,
                option="-o" if targets[relative] == out else "map",
                what="map",
            )
        )
        is not None
    ]
    if problems:
        raise InputError(problems)
    written: list[Path] = []
    # The index last: it only links maps that are already in place.
    for relative in sorted(files, key=lambda r: r == out.name):
        target = targets[relative]
        write_atomic(target, files[relative] + BSB_MAP_MARKER)
        written.append(target)
    add_to_manifest(out.parent, written)
    written.sort(key=lambda p: p != out)
    return written


BSB_MAP_MARKER: Final = b"<!-- bsb map -->\n"
"""Appended to every page :func:`write_maps` writes, so a later run knows bsb wrote it."""


def is_bsb_map(path: Path) -> bool:
    """Whether ``path`` is a page :func:`write_maps` wrote (it ends with :data:`BSB_MAP_MARKER`).

    Parameters
    ----------
    path
        An existing file.

    Returns
    -------
    bool
        ``True`` when its last bytes are the marker.
    """
    size = path.stat().st_size
    with path.open("rb") as stream:
        stream.seek(max(0, size - len(BSB_MAP_MARKER)))
        return stream.read() == BSB_MAP_MARKER
