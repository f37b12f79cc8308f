"""Travel read from a matrix file, and the travel a plan folder keeps (``travel/``).

A **matrix file** (``[travel] source = "matrix"``, ``matrix_file = "travel_matrix.csv"``) gives
road distance and driving time between every pair of a scenario's places, from any routing
engine (OSRM's ``table`` service, Valhalla, GraphHopper, a GIS):

``from,to,distance_km,duration_min``
    one row per ordered pair of places (warehouse and drop point ids), ``from`` != ``to``;
    every pair must be there, both directions (a one-way street makes them differ). A row
    from a place to itself may be given or left out (0 km, 0 min). CSV (``,``, ``;`` with
    decimal commas, or tab separated; UTF-8 or Windows-1252) or ``.xlsx`` (first sheet).

:func:`read_matrix_file` turns it into a one-class :class:`optimizer.travel.RoadMatrix`
(access ``("all",)``: every truck drives it), every problem reported at once with row and field.
Minutes become whole seconds rounded up, as the straight line's times are. The places of a
matrix file are on the road: their snap distance is 0.

A **plan folder** planned on roads (source ``osm`` or ``matrix``) keeps the travel it used, so
that ``bsb check PLAN_DIR`` needs neither the extract nor the routing engine:

``travel/legs.csv``
    ``from,to,access,distance_km,duration_s``: every leg of every trip, and every usable
    warehouse -> drop point and drop point -> warehouse pair for each access class the
    warehouse's trucks have (the checker asks whether a warehouse could have served a point
    left for want of stock). ``access`` is ``big`` or ``small`` (roads of an OpenStreetMap
    extract) or ``all`` (a matrix file). A pair no road of that class connects, or whose end
    lies farther than ``max_snap_m`` from such a road, is left out: a missing leg is a leg
    that cannot be driven. ``distance_km`` is written exactly (Python's shortest ``repr``).
``travel/provenance.json``
    where the numbers come from: ``source``, ``file``, ``bytes``, ``sha256``, ``speed_kmh``
    (by road class), ``access`` rules, ``max_snap_m``, ``small_truck_max_kg``, ``places``,
    ``created`` (UTC, ISO 8601), plus what the road builder adds.

Nothing is written for ``source = "straight"``: the checker recomputes those legs itself.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np

from geodata import roads
from geodata.files import default_cache_dir, file_sha256, write_atomic
from optimizer.errors import InputError, Problem, ProblemCollector
from optimizer.model import ACCESS_CLASSES, Scenario
from optimizer.solution import Plan
from optimizer.travel import NO_ROAD_S, RoadMatrix

__all__ = [
    "LEGS_COLUMNS",
    "LEGS_FILE",
    "MATRIX_COLUMNS",
    "ONE_CLASS",
    "PROVENANCE_FILE",
    "Leg",
    "Travel",
    "build_travel",
    "file_provenance",
    "fleet_access",
    "legs_csv",
    "legs_mapping",
    "matrix_csv",
    "place_ids",
    "place_lonlat",
    "plan_legs",
    "provenance_json",
    "read_legs",
    "read_matrix_file",
    "road_leg_paths",
    "travel_files",
    "write_travel_files",
]

MATRIX_COLUMNS: Final = ("from", "to", "distance_km", "duration_min")
"""Columns of a matrix file, in any order (names trimmed, any case)."""

LEGS_COLUMNS: Final = ("from", "to", "access", "distance_km", "duration_s")
"""Columns of a plan folder's ``travel/legs.csv``, in this order."""

LEGS_FILE: Final = "travel/legs.csv"
PROVENANCE_FILE: Final = "travel/provenance.json"

ONE_CLASS: Final = "all"
"""Access name of a matrix that serves every truck (a matrix file)."""

_MISSING_PAIRS_LISTED: Final = 20
"""Missing pairs named one by one; the rest are counted in one more problem."""


@dataclass(frozen=True, slots=True)
class Leg:
    """One drivable leg a plan folder keeps: road km and whole seconds for one access class."""

    from_id: str
    to_id: str
    access: str
    distance_km: float
    duration_s: int


def place_ids(scenario: Scenario) -> tuple[str, ...]:
    """Return the places a road matrix covers, numbered as the planner numbers them.

    Returns
    -------
    tuple[str, ...]
        Warehouse ids in order, then drop point ids in order.
    """
    return tuple(w.id for w in scenario.warehouses) + tuple(p.id for p in scenario.drop_points)


def fleet_access(scenario: Scenario) -> tuple[str, ...]:
    """Return the access classes the scenario's trucks have, in :data:`ACCESS_CLASSES` order."""
    present = {scenario.travel.truck_access(truck) for truck in scenario.trucks}
    return tuple(access for access in ACCESS_CLASSES if access in present)


# --------------------------------------------------------------------------------------------
# Matrix files


def read_matrix_file(path: Path, scenario: Scenario, *, display: str | None = None) -> RoadMatrix:
    """Read a matrix file into a one-class :class:`RoadMatrix` over the scenario's places.

    Parameters
    ----------
    path
        The ``.csv`` / ``.txt`` or ``.xlsx`` file (columns :data:`MATRIX_COLUMNS`).
    scenario
        Gives the places (:func:`place_ids`) and the settings recorded in the provenance.
    display
        The file's name in problems (as ``scenario.toml`` names it); ``path.name`` by default.

    Returns
    -------
    RoadMatrix
        Access ``("all",)``; ``km`` from ``distance_km``, ``seconds`` from ``duration_min``
        rounded up to whole seconds; ``snap_m`` 0; provenance from :func:`file_provenance`.

    Raises
    ------
    InputError
        Listing every problem: a missing column, an unknown id, a number that is not a
        finite number >= 0, a pair given twice, a pair missing (named with their ids), an id
        that is both a warehouse and a drop point.
    """
    shown = display or path.name
    problems = ProblemCollector()
    ids = place_ids(scenario)
    index: dict[str, int] = {}
    for position, place in enumerate(ids):
        if place in index:
            problems.append(
                Problem(
                    shown,
                    f"id {place!r} is both a warehouse and a drop point: a matrix file cannot "
                    "tell them apart; give them different ids",
                )
            )
        index.setdefault(place, position)
    n = len(ids)
    km = np.zeros((1, n, n), dtype=np.float64)
    minutes = np.zeros((1, n, n), dtype=np.float64)
    given = np.zeros((n, n), dtype=np.int64)  # row number of each pair's row, 0 = not given
    try:
        rows = _matrix_rows(path, shown, problems)
        for row_number, cells in rows:
            _read_matrix_row(shown, row_number, cells, index, km, minutes, given, problems)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError, KeyError) as exc:
        # ValueError/KeyError: openpyxl on a file that is not a workbook.
        problems.append(Problem(shown, f"could not be read: {exc}"))
        raise problems.error() from None
    if not problems:
        _report_missing_pairs(shown, ids, given, problems)
    if problems:
        raise problems.error()
    seconds = np.ceil(minutes * 60.0 - 1e-9).astype(np.int64)
    np.maximum(seconds, 0, out=seconds)
    provenance = file_provenance(path, shown, scenario, source="matrix")
    return RoadMatrix(
        place_ids=ids,
        access=(ONE_CLASS,),
        km=km,
        seconds=seconds,
        snap_m=np.zeros((1, n), dtype=np.float64),
        snap_road=(("",) * n,),
        provenance=provenance,
    )


def _read_matrix_row(
    shown: str,
    row_number: int,
    cells: Mapping[str, str],
    index: Mapping[str, int],
    km: np.ndarray,
    minutes: np.ndarray,
    given: np.ndarray,
    problems: ProblemCollector,
) -> None:
    ends: list[int] = []
    for column in ("from", "to"):
        place = cells[column]
        if place not in index:
            what = "empty" if not place else f"{place!r} is not a warehouse or drop point id"
            problems.append(
                Problem(shown, f"{what}; expected the id of a place", row=row_number, field=column)
            )
        else:
            ends.append(index[place])
    numbers: list[float] = []
    for column in ("distance_km", "duration_min"):
        text = cells[column]
        try:
            value = float(text.replace(",", ".")) if text else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            problems.append(
                Problem(
                    shown,
                    f"{text!r} is not a number >= 0; expected e.g. 12.5",
                    row=row_number,
                    field=column,
                )
            )
        else:
            numbers.append(value)
    if len(ends) != 2 or len(numbers) != 2:
        return
    origin, destination = ends
    first = int(given[origin, destination])
    if first:
        problems.append(
            Problem(
                shown,
                f"the pair {cells['from']!r} -> {cells['to']!r} is given again (first in row "
                f"{first}); give each pair once",
                row=row_number,
                field="from/to",
            )
        )
        return
    given[origin, destination] = row_number
    km[0, origin, destination], minutes[0, origin, destination] = numbers


def _report_missing_pairs(
    shown: str, ids: Sequence[str], given: np.ndarray, problems: ProblemCollector
) -> None:
    missing = given == 0
    np.fill_diagonal(missing, False)
    origins, destinations = np.nonzero(missing)
    for origin, destination in zip(
        origins[:_MISSING_PAIRS_LISTED], destinations[:_MISSING_PAIRS_LISTED], strict=True
    ):
        problems.append(
            Problem(
                shown,
                f"no row from {ids[origin]!r} to {ids[destination]!r}; every ordered pair of "
                "places needs a row (from, to, distance_km, duration_min)",
            )
        )
    if len(origins) > _MISSING_PAIRS_LISTED:
        problems.append(
            Problem(
                shown,
                f"{len(origins) - _MISSING_PAIRS_LISTED:,} more pairs of places have no row "
                f"({len(origins):,} of {len(ids) * (len(ids) - 1):,} missing in all)",
            )
        )


def _matrix_rows(
    path: Path, shown: str, problems: ProblemCollector
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(row number, {column: text})`` per non-empty data row; header = row 1."""
    suffix = path.suffix.lower()
    raw_rows = _xlsx_rows(path) if suffix in (".xlsx", ".xlsm") else _csv_rows(path)
    header: dict[str, int] | None = None
    for row_number, row in enumerate(raw_rows, start=1):
        cells = [_cell(value) for value in row]
        if header is None:
            header = {name.lower(): i for i, name in enumerate(cells) if name}
            absent = [column for column in MATRIX_COLUMNS if column not in header]
            if absent:
                problems.append(
                    Problem(
                        shown,
                        f"missing column(s) {', '.join(absent)}; a matrix file has the columns "
                        f"{', '.join(MATRIX_COLUMNS)} (found: {', '.join(header) or 'none'})",
                        row=1,
                    )
                )
                return
            continue
        if not any(cells):
            continue
        yield (
            row_number,
            {
                column: cells[header[column]] if header[column] < len(cells) else ""
                for column in MATRIX_COLUMNS
            },
        )
    if header is None:
        problems.append(Problem(shown, "the file is empty; expected a header row and data rows"))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(path: Path) -> Iterator[list[str]]:
    with path.open("rb") as stream:
        head = stream.read(1 << 16)
        encoding = "utf-8-sig"
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            encoding = "cp1252"  # older Excel exports
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        header_line = text.readline()
        separator = max((";", ",", "\t"), key=header_line.count)
        yield from csv.reader(itertools.chain((header_line,), text), delimiter=separator)


def _xlsx_rows(path: Path) -> Iterator[tuple[object, ...]]:
    import warnings

    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # styles and extensions openpyxl ignores
        workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        if not workbook.worksheets:
            raise ValueError("the workbook has no sheets; put the matrix on the first sheet")
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def matrix_csv(matrix: RoadMatrix, access: int = 0) -> bytes:
    """Write one class of ``matrix`` as a matrix file (every off-diagonal pair, CSV).

    Durations are written as exact minutes (``seconds / 60``), so reading the file back gives
    the same whole seconds; pairs no road connects are left out (the reader reports them).
    """
    ids = matrix.place_ids
    km = matrix.km[access]
    seconds = matrix.seconds[access]
    rows = (
        (
            from_id,
            to_id,
            repr(float(km[origin, destination])),
            repr(int(seconds[origin, destination]) / 60.0),
        )
        for origin, from_id in enumerate(ids)
        for destination, to_id in enumerate(ids)
        if origin != destination and math.isfinite(km[origin, destination])
    )
    return _csv_bytes(MATRIX_COLUMNS, rows)


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str | int]]) -> bytes:
    """CSV with ``\n`` line ends; a row whose text holds a CR is quoted whole.

    The csv module quotes a cell holding a character of its line terminator only: with
    ``\n`` ends a bare CR in an id would end the row for every reader.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    quoting = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    for row in rows:
        (quoting if any("\r" in str(cell) for cell in row) else writer).writerow(row)
    return out.getvalue().encode("utf-8")


def file_provenance(
    path: Path, name: str, scenario: Scenario, *, source: str, **extra: Any
) -> dict[str, Any]:
    """Say where road numbers come from: file, size, SHA-256, the settings that shaped them.

    Parameters
    ----------
    path
        The file read (an OpenStreetMap extract or a matrix file).
    name
        Its name as ``scenario.toml`` gives it (the provenance never holds this machine's path).
    scenario
        Its ``[travel]`` settings are recorded.
    source
        ``"osm"`` or ``"matrix"``.
    **extra
        More JSON-ready entries (the road builder's own).

    Returns
    -------
    dict
        JSON-ready: ``source``, ``file``, ``bytes``, ``sha256``, ``speed_kmh``, ``access``,
        ``small_truck_max_kg``, ``max_snap_m``, ``places``, ``created`` and ``extra``.
    """
    size = path.stat().st_size
    sha256 = file_sha256(path)
    travel = scenario.travel
    return {
        "source": source,
        "file": name,
        "bytes": size,
        "sha256": sha256,
        "speed_kmh": dict(travel.road_speed_kmh) if source == "osm" else None,
        "access": dict(travel.access),
        "small_truck_max_kg": travel.small_truck_max_kg,
        "max_snap_m": travel.max_snap_m,
        "places": len(scenario.warehouses) + len(scenario.drop_points),
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        **extra,
    }


# --------------------------------------------------------------------------------------------
# travel/ of a plan folder


def plan_legs(scenario: Scenario, plan: Plan, matrix: RoadMatrix) -> list[Leg]:
    """Return the legs a plan folder keeps (see the module docstring), without duplicates.

    Parameters
    ----------
    scenario
        The scenario planned (its trucks' access classes, ``max_snap_m``).
    plan
        The plan: every leg of its trips is kept.
    matrix
        The road matrix the plan was made with.

    Returns
    -------
    list[Leg]
        Warehouse <-> drop point pairs first (per warehouse, class, point; out then back),
        then the trips' other legs, in plan order. Only drivable legs: finite km, both ends
        within ``max_snap_m`` of the class's roads.
    """
    ids = matrix.place_ids
    position = {place: i for i, place in enumerate(ids)}
    max_snap_m = scenario.travel.max_snap_m
    one_class = matrix.access == (ONE_CLASS,)
    legs: dict[tuple[str, str, str], Leg] = {}

    def label_and_index(access: str) -> tuple[str, int]:
        return (ONE_CLASS if one_class else access), matrix.access_index(access)

    def add(origin: int, destination: int, access: str) -> None:
        label, k = label_and_index(access)
        key = (ids[origin], ids[destination], label)
        if key in legs:
            return
        km = float(matrix.km[k, origin, destination])
        seconds = int(matrix.seconds[k, origin, destination])
        snap = matrix.snap_m[k]
        if (
            not math.isfinite(km)
            or seconds >= NO_ROAD_S
            or not snap[origin] <= max_snap_m
            or not snap[destination] <= max_snap_m
        ):
            return
        legs[key] = Leg(ids[origin], ids[destination], label, km, seconds)

    n_warehouses = len(scenario.warehouses)
    points = range(n_warehouses, len(ids))
    for w_index, warehouse in enumerate(scenario.warehouses):
        classes = {
            scenario.travel.truck_access(truck)
            for truck in scenario.trucks
            if truck.warehouse_id == warehouse.id
        }
        for access in (a for a in ACCESS_CLASSES if a in classes):
            for p_index in points:
                add(w_index, p_index, access)
                add(p_index, w_index, access)
    for route in plan.routes:
        access = scenario.travel.truck_access(scenario.truck(route.truck))
        stops = [position[stop.drop_point] for stop in route.stops]
        home = position[route.warehouse]
        for origin, destination in zip([home, *stops], [*stops, home], strict=True):
            add(origin, destination, access)
    return list(legs.values())


def legs_csv(legs: Iterable[Leg]) -> bytes:
    """``travel/legs.csv``'s content (UTF-8, ``\\n`` line ends, :data:`LEGS_COLUMNS`)."""
    return _csv_bytes(
        LEGS_COLUMNS,
        (
            (leg.from_id, leg.to_id, leg.access, repr(float(leg.distance_km)), leg.duration_s)
            for leg in legs
        ),
    )


def read_legs(path: Path) -> dict[tuple[str, str, str], tuple[float, int]]:
    """Read a ``travel/legs.csv`` back.

    Returns
    -------
    dict
        ``(from, to, access) -> (distance_km, duration_s)``.

    Raises
    ------
    InputError
        If the file cannot be read, lacks a column, or holds a bad number or a repeated leg
        (each named with its row).
    """
    problems = ProblemCollector()
    shown = path.name if path.parent.name != "travel" else LEGS_FILE
    legs: dict[tuple[str, str, str], tuple[float, int]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            if header is None or tuple(header) != LEGS_COLUMNS:
                raise InputError(
                    [Problem(shown, f"expected the header {','.join(LEGS_COLUMNS)}", row=1)]
                )
            for row_number, row in enumerate(reader, start=2):
                _read_leg_row(shown, row_number, row, legs, problems)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError([Problem(shown, f"could not be read: {exc}")]) from None
    if problems:
        raise problems.error()
    return legs


def _read_leg_row(
    shown: str,
    row_number: int,
    row: Sequence[str],
    legs: dict[tuple[str, str, str], tuple[float, int]],
    problems: ProblemCollector,
) -> None:
    if len(row) != len(LEGS_COLUMNS):
        problems.append(
            Problem(shown, f"{len(row)} cells, expected {len(LEGS_COLUMNS)}", row=row_number)
        )
        return
    from_id, to_id, access, km_text, seconds_text = row
    try:
        km = float(km_text)
    except ValueError:
        km = math.nan
    if not math.isfinite(km) or km < 0:
        problems.append(
            Problem(shown, f"{km_text!r} is not a number >= 0", row=row_number, field="distance_km")
        )
        return
    if not seconds_text.isdigit():
        problems.append(
            Problem(
                shown, f"{seconds_text!r} is not whole seconds", row=row_number, field="duration_s"
            )
        )
        return
    key = (from_id, to_id, access)
    if key in legs:
        problems.append(Problem(shown, "the leg is given twice", row=row_number, field="from/to"))
        return
    legs[key] = (km, int(seconds_text))


def provenance_json(provenance: Mapping[str, Any]) -> bytes:
    """``travel/provenance.json``'s content: sorted keys, indented, UTF-8."""
    return (json.dumps(provenance, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def travel_files(scenario: Scenario, plan: Plan, matrix: RoadMatrix) -> dict[str, bytes]:
    """Return the ``travel/`` files of a plan folder: relative POSIX path -> content."""
    return {
        LEGS_FILE: legs_csv(plan_legs(scenario, plan, matrix)),
        PROVENANCE_FILE: provenance_json(matrix.provenance),
    }


def write_travel_files(folder: Path, scenario: Scenario, plan: Plan, matrix: RoadMatrix) -> None:
    """Write :func:`travel_files` into ``folder`` (``folder/travel/...``), each atomically."""
    for relative, content in travel_files(scenario, plan, matrix).items():
        write_atomic(folder / relative, content, private=False)


# --------------------------------------------------------------------------------------------
# The travel of a scenario, built before planning


@dataclass(frozen=True, eq=False)
class Travel:
    """The roads a plan is made on, as the pipeline hands them on.

    Attributes
    ----------
    matrix
        Road km and seconds between the scenario's places (given to the planner and kept in
        the plan folder's ``travel/``).
    graph
        The road network (``geodata.roads.RoadGraph``) for ``source = "osm"``: maps draw each
        leg along it and its main roads as background. ``None`` for a matrix file.
    scenario_files
        Files the plan's scenario copy gets beside its tables (the matrix file, as read).
    """

    matrix: RoadMatrix
    graph: Any | None = None
    scenario_files: Mapping[str, bytes] = field(default_factory=dict)


def build_travel(
    scenario: Scenario,
    folder: Path,
    *,
    progress: Callable[[float, str], None] | None = None,
    cache_dir: Path | None = None,
) -> Travel | None:
    """Build the travel a scenario's ``[travel]`` asks for, before planning.

    Parameters
    ----------
    scenario
        The validated scenario (read from ``folder``).
    folder
        The scenario folder: ``osm_file`` and ``matrix_file`` are relative to it.
    progress
        Told ``(fraction, message)`` while the road matrices are computed (minutes on a
        regency with thousands of points, cold; a second run reads the cache).
    cache_dir
        Cache of road graphs and matrices; :func:`default_cache_dir` when ``None``.

    Returns
    -------
    Travel or None
        ``None`` for ``source = "straight"`` (the planner's own straight line).

    Raises
    ------
    InputError
        If the matrix file has problems, or the extract cannot be read.
    """
    travel = scenario.travel
    if travel.source == "matrix":
        assert travel.matrix_file is not None  # the reader demands it
        path = folder / travel.matrix_file
        _tell(progress, 0.0, f"reading the travel matrix {travel.matrix_file}")
        matrix = read_matrix_file(path, scenario, display=travel.matrix_file)
        _tell(progress, 1.0, "travel matrix read")
        return Travel(matrix, None, {travel.matrix_file: path.read_bytes()})
    if travel.source != "osm":
        return None
    assert travel.osm_file is not None
    path = folder / travel.osm_file
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    _tell(progress, 0.0, f"reading the roads of {travel.osm_file}")
    try:
        graph = roads.load_road_graph(path, travel, cache)
    except (OSError, RuntimeError) as error:
        # pyosmium says RuntimeError for a file that is not OSM data; no traceback for that.
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError(
            [Problem(travel.osm_file, f"not readable as OpenStreetMap data: {reason}")]
        ) from error
    ids = place_ids(scenario)
    lon, lat = place_lonlat(scenario)
    provenance = file_provenance(path, travel.osm_file, scenario, source="osm")
    matrix = roads.road_matrix(
        graph,
        ids,
        lon,
        lat,
        travel,
        fleet_access(scenario),
        progress=progress,
        cache_dir=cache,
        provenance=provenance,
    )
    return Travel(matrix, graph)


def place_lonlat(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Return the longitudes and latitudes of :func:`place_ids`' places, as float64 arrays."""
    lon = [w.lon for w in scenario.warehouses] + [p.lon for p in scenario.drop_points]
    lat = [w.lat for w in scenario.warehouses] + [p.lat for p in scenario.drop_points]
    return np.array(lon, dtype=np.float64), np.array(lat, dtype=np.float64)


def _tell(progress: Callable[[float, str], None] | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(fraction, message)


def legs_mapping(legs: Iterable[Leg]) -> dict[tuple[str, str, str], tuple[float, float]]:
    """Return ``legs`` as the checker takes them: ``(from, to, access) -> (km, seconds)``."""
    return {(g.from_id, g.to_id, g.access): (g.distance_km, float(g.duration_s)) for g in legs}


def road_leg_paths(
    scenario: Scenario, plan: Plan, travel: Travel
) -> dict[tuple[str, str, str], list[tuple[float, float]]]:
    """Return the road geometry of every leg of the plan's trips, for maps and ``routes.geojson``.

    Returns
    -------
    dict
        ``(from id, to id, access) -> [(lon, lat), ...]`` along the road (part R's
        ``leg_paths``, unsimplified); empty without a road graph (a matrix file has no
        geometry: legs are drawn straight).
    """
    if travel.graph is None:
        return {}
    matrix = travel.matrix
    position = {place: i for i, place in enumerate(matrix.place_ids)}
    keys: dict[tuple[str, str, str], tuple[int, int, str]] = {}
    for route in plan.routes:
        access = scenario.travel.truck_access(scenario.truck(route.truck))
        stops = [stop.drop_point for stop in route.stops]
        for a, b in zip([route.warehouse, *stops], [*stops, route.warehouse], strict=True):
            keys.setdefault((a, b, access), (position[a], position[b], access))
    lon, lat = place_lonlat(scenario)
    paths = roads.leg_paths(travel.graph, list(keys.values()), lon, lat, scenario.travel)
    return dict(zip(keys, paths, strict=True))
