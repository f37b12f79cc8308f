"""Read and validate a scenario folder into an :class:`optimizer.model.Scenario`.

A scenario folder holds ``scenario.toml`` and four tables. :func:`read_scenario` reads all of
them, collects *every* problem it finds (file, row, field, what is wrong and what would be
right) and raises one :class:`optimizer.errors.InputError`; it never lets a traceback escape
for bad input. Nothing downstream re-validates.

This module finds the files and turns their text into values (what does not parse is its
problem, as are unknown keys and columns and places in the sea); it hands every row to an
:class:`optimizer.builder.ScenarioBuilder` with its file, row and field names, and the builder
checks the values (ranges, ids, references, windows, whole sacks), as it does for a scenario
built in code.

``scenario.toml``
    Top level: ``name`` and ``start_date`` (required; a TOML date or ``"YYYY-MM-DD"``),
    ``sack_kg`` (15), ``timezone`` (``"Asia/Jakarta"``, a zoneinfo name). Sections (defaults in
    brackets): ``[calendar]`` ``working_days`` (mon..sat, English three-letter names, any
    case), ``holidays`` (none), ``shift_start``/``shift_end`` (``"07:00"``/``"17:00"``, for
    trucks whose own cells are empty); ``[travel]`` ``source`` (``"straight"``, ``"osm"`` or
    ``"matrix"``), ``speed_kmh`` (30) and ``circuity`` (1.4) of the straight line,
    ``osm_file`` / ``matrix_file`` (required by their source), ``max_snap_m`` (500),
    ``small_truck_max_kg`` (2500), a ``[travel.speed_kmh]`` table of road speeds by OSM
    ``highway`` value (over :data:`optimizer.model.DEFAULT_ROAD_SPEED_KMH`; then
    ``speed_kmh`` is that table, not a number) and a ``[travel.access]`` table of truck type =
    ``"big"`` or ``"small"``;
    ``[service]`` ``stop_min`` (15), ``per_100kg_min`` (1), ``loading_min`` (30); ``[costs]``
    ``cost_per_km`` (5000 IDR) and ``cost_per_day`` (750000 IDR), both estimates used for
    trucks whose own cells are empty; ``[objective]`` ``wait_cost_per_kpm_day`` (100);
    ``[solver]`` ``time_limit_s`` (60), ``seed`` (0), ``strategy`` (``"default"``),
    ``solution_limit`` (none); ``[replan]`` ``replacement_days`` (3), ``move_cost_per_kpm_day``
    (1000), ``freeze_days`` (1), how ``bsb replan`` treats what happened (see
    :class:`optimizer.progress.ReplanSettings`); ``[files]`` ``warehouses``, ``trucks``,
    ``drop_points``, ``tranches`` (file names relative to the folder), ``boundaries``
    (village boundaries for the map, any GIS format), ``facilitators`` (the PKH facilitators
    table, optional) and ``kpm`` (the families' roster, optional; only its name is read here:
    :func:`geodata.roster_io.read_roster` reads it for the papers); ``[papers]`` ``full_nik``
    (false: NIKs masked on the TTB lists). Unknown keys and sections are problems.
    Every file a scenario names (and every default table name found) must resolve inside the
    folder and be a regular file: absolute paths, ``..`` leaving the folder, symbolic links
    leading out, folders, devices, pipes and sockets are problems (field ``files.<table>``)
    that name the path as written and quote nothing of the target, which is never opened.
    A ``config`` TOML with the same layout overrides the scenario's values key by key.

Tables (``.csv`` or ``.xlsx``; drop points and warehouses may also be GeoJSON, GeoPackage or
Shapefile with Point geometry in any CRS, reprojected to EPSG:4326)
    ``warehouses``: ``id, name, lon, lat, stock_kg``.
    ``trucks``: ``id, warehouse_id, capacity_kg`` and optional ``shift_start, shift_end,
    cost_per_km, cost_per_day, max_trips_per_day, type``.
    ``drop_points``: ``id, name, lon, lat, kpm`` and optional ``desa, kecamatan, rt, rw,
    open, close, service_min, facilitator`` (a facilitator's id).
    ``facilitators`` (only when ``[files] facilitators`` names it): ``id, name`` and optional
    ``phone``; problems name row and field, never a name or a phone number.
    ``tranches``: ``id, name, kg_per_kpm, release, deadline`` (ISO dates, both inclusive).
    When a table's default ``<name>.csv`` is absent, a same-stem ``.xlsx`` (and for drop
    points ``.geojson``, ``.gpkg`` or ``.shp``) is used; two such candidates are a problem.

Choices made here
-----------------
- Column names are trimmed and matched case-insensitively, with no silent aliases. Extra
  columns are ignored (planners keep notes in spreadsheets), except a column whose name is a
  close misspelling of a known column that is absent (``difflib`` ratio >= 0.8, e.g.
  ``capacity`` or ``stok_kg``): that is a problem saying "did you mean ...". In a Shapefile a
  column cut to the format's 10 characters (``service_mi``) counts as the full name.
- Every cell is trimmed of surrounding whitespace; otherwise codes are verbatim text
  (``00042`` stays ``00042``). Ids and references to them (``id``, ``warehouse_id``) are
  compared as :func:`optimizer.builder.normalise_id` makes them: invisible characters removed,
  NFKC-folded, trimmed; an id with a zero-width space is the same id without it (a duplicate
  names both rows). One leading ``'`` before formula-like text is taken off
  (:func:`geodata.cells.unquote_spreadsheet_text`): bsb's writers put it there, and so a plan
  folder's scenario copy reads back as the scenario planned. An ``.xlsx`` number cell in a text
  column is echoed without a trailing ``.0``; leading zeros lost by a number cell cannot be
  recovered, so store codes as text in spreadsheets.
- Every number falls in the range :data:`NUMBER_BOUNDS` gives it (whole where it counts
  something); ``nan``, ``inf``, ``1e30`` and 400-digit TOML integers are problems.
- At most :data:`optimizer.errors.MAX_LISTED_PROBLEMS` problems are kept; the rest are counted
  (:class:`optimizer.errors.ProblemCollector`). CSV files are streamed and repeated cells
  shared, so that a table of millions of bad rows costs its cells and a counter, not its text
  several times over and millions of messages.
- Rows whose cells are all empty are skipped; row numbers still count them, so they match the
  spreadsheet (header = row 1). Vector files number features from 1, reported as the row and
  named "feature N" in the message.
- CSV: UTF-8 with or without BOM, falling back to Windows-1252 (older Excel exports). The
  separator is the most frequent of ``;``, ``,`` and tab in the header line. In a ``;`` file a
  numeric column in which any value contains ``,`` uses ``,`` as decimal mark and ``.`` as
  thousands separator (checked: ``106.74`` in such a column is a problem, not 10674).
- Times of day are ``H:MM`` or ``H:MM:SS`` (00:00 to 24:00); overnight shifts are not
  supported.
- A table with no data rows is a problem: no plan can be made without warehouses, trucks,
  drop points or tranches.
- Vector files: a missing CRS is a problem (no guessing). When no feature lies in Indonesia
  after reprojection, one problem names the file's CRS instead of one per feature.
- Impossible input is refused before planning. A warehouse or drop point farther than
  :data:`geodata.land.LAND_TOLERANCE_M` from land is a problem (field ``lon/lat``, or
  ``geometry`` in vector files) naming its distance to the nearest land; rows with other bad
  cells are checked too. A tranche with no working day from the later of ``release`` and
  ``start_date`` to ``deadline`` is a problem (field ``release/deadline``) naming each day and
  why it is not a working day. ``kg_per_kpm`` must be a whole number of ``sack_kg`` sacks (a
  family's ration is never split), which also makes every point's demand whole sacks.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import itertools
import math
import os
import re
import stat
import tomllib
import warnings
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import MappingProxyType
from typing import BinaryIO, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from geodata.cells import unquote_spreadsheet_text
from geodata.land import LAND_TOLERANCE_M, find_sea_points
from optimizer.builder import (
    COLUMN_HINTS as _COLUMN_HINTS,
)
from optimizer.builder import (
    DEFAULT_COST_PER_DAY,
    DEFAULT_COST_PER_KM,
    DEFAULT_SACK_KG,
    DEFAULT_TIMEZONE,
    INDONESIA_LAT_RANGE,
    INDONESIA_LON_RANGE,
    MAX_KPM_PER_POINT,
    MAX_PLAN_DAYS,
    MAX_TRIPS_PER_DAY,
    NUMBER_BOUNDS,
    ROAD_SPEED_BOUNDS,
    NumberBounds,
    Origin,
    ScenarioBuilder,
    inside_indonesia,
    out_of_bounds,
)
from optimizer.builder import fmt_number as _fmt
from optimizer.builder import format_time as _format_time
from optimizer.builder import quoted as _quoted
from optimizer.builder import shown_value as _shown_value
from optimizer.errors import InputError, Problem, ProblemCollector
from optimizer.model import (
    ACCESS_CLASSES,
    DEFAULT_ROAD_SPEED_KMH,
    TRAVEL_SOURCES,
    WEEKDAY_NAMES,
    Calendar,
    ObjectiveSettings,
    PaperSettings,
    Scenario,
    ServiceSettings,
    SolverSettings,
    TravelSettings,
)
from optimizer.progress import ReplanSettings
from optimizer.strategies import check_strategy_name

__all__ = [
    "DEFAULT_COST_PER_DAY",
    "DEFAULT_COST_PER_KM",
    "DEFAULT_SACK_KG",
    "DEFAULT_TIMEZONE",
    "INDONESIA_LAT_RANGE",
    "INDONESIA_LON_RANGE",
    "MAX_KPM_PER_POINT",
    "MAX_PLAN_DAYS",
    "MAX_TRIPS_PER_DAY",
    "NUMBER_BOUNDS",
    "SCENARIO_FILE",
    "NumberBounds",
    "read_scenario",
    "validate_scenario",
]

T = TypeVar("T")

SCENARIO_FILE = "scenario.toml"
"""Name of the settings file every scenario folder must hold."""

_DEFAULT_CALENDAR = Calendar()
_DEFAULT_TRAVEL = TravelSettings()
_DEFAULT_SERVICE = ServiceSettings()
_DEFAULT_OBJECTIVE = ObjectiveSettings()
_DEFAULT_SOLVER = SolverSettings()
_DEFAULT_REPLAN = ReplanSettings()
_TYPO_CUTOFF = 0.8
_SHAPEFILE_NAME_CHARS = 10
_VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")
_SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm")
_CSV_SUFFIXES = (".csv", ".txt")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_COORDINATE_COLUMNS = frozenset({"lon", "lat"})
_GROUPED_INTEGER_RE = re.compile(r"[+-]?\d{1,3}(\.\d{3})+")
_DAY_S = 24 * 3600
_READ_CHUNK_BYTES = 1 << 20
_LAND_CHECK_POINTS = 100_000
"""Points given to the land test at once (its memory grows with them)."""
_SHARED_VALUES_MAX = 4096
"""Distinct values of a column above which its cells stop being shared (see _SharedCells)."""

_TOP_LEVEL_KEYS = ("name", "start_date", "sack_kg", "timezone")
_SECTION_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "calendar": ("working_days", "holidays", "shift_start", "shift_end"),
        "travel": (
            "source",
            "speed_kmh",
            "circuity",
            "osm_file",
            "matrix_file",
            "max_snap_m",
            "small_truck_max_kg",
            "access",
        ),
        "service": ("stop_min", "per_100kg_min", "loading_min"),
        "costs": ("cost_per_km", "cost_per_day"),
        "objective": ("wait_cost_per_kpm_day",),
        "solver": ("time_limit_s", "seed", "strategy", "solution_limit"),
        "replan": ("replacement_days", "move_cost_per_kpm_day", "freeze_days"),
        "files": (
            "warehouses",
            "trucks",
            "drop_points",
            "tranches",
            "boundaries",
            "facilitators",
            "kpm",
        ),
        "papers": ("full_nik",),
    }
)

# Common names for a required column: mentioned when the column is missing, never used.
_ALIAS_HINTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "lon": ("longitude", "lng", "long", "x", "bujur"),
        "lat": ("latitude", "y", "lintang"),
        "kpm": ("families", "jumlah_kpm", "kk"),
        "capacity_kg": ("capacity", "kapasitas", "payload_kg"),
    }
)


class _UnreadableFileError(Exception):
    """A table file that cannot be turned into rows at all; becomes one Problem."""


@dataclass(frozen=True, slots=True)
class _TableSpec:
    key: str
    label: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    vector_ok: bool = False

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def default_file(self) -> str:
        return f"{self.key}.csv"


_WAREHOUSES = _TableSpec(
    "warehouses",
    "warehouse",
    ("id", "name", "lon", "lat", "stock_kg"),
    ("kabupaten", "provinsi"),
    vector_ok=True,
)
_TRUCKS = _TableSpec(
    "trucks",
    "truck",
    ("id", "warehouse_id", "capacity_kg"),
    ("shift_start", "shift_end", "cost_per_km", "cost_per_day", "max_trips_per_day", "type"),
)
_DROP_POINTS = _TableSpec(
    "drop_points",
    "drop point",
    ("id", "name", "lon", "lat", "kpm"),
    (
        "desa",
        "kecamatan",
        "rt",
        "rw",
        "open",
        "close",
        "service_min",
        "facilitator",
        "kabupaten",
        "provinsi",
    ),
    vector_ok=True,
)
_TRANCHES = _TableSpec("tranches", "tranche", ("id", "name", "kg_per_kpm", "release", "deadline"))
_FACILITATORS = _TableSpec("facilitators", "facilitator", ("id", "name"), ("phone",))


@dataclass(frozen=True, slots=True)
class _Point:
    lon: float
    lat: float


@dataclass(frozen=True)
class _Table:
    """Raw text cells of one table, with the spreadsheet row number of each data row."""

    file: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_numbers: Sequence[int]
    comma_decimal_columns: frozenset[str] = frozenset()
    semicolon: bool = False
    """A ';'-separated file, as Indonesian-locale spreadsheets export."""
    # Vector files only: each feature's reprojected location, None where unusable.
    points: tuple[_Point | None, ...] | None = None
    crs_name: str = ""

    @property
    def is_vector(self) -> bool:
        return self.points is not None

    def column_index(self, column: str) -> int | None:
        return self.column_indexes.get(column)

    @cached_property
    def column_indexes(self) -> dict[str, int]:
        """Each column's index (the first, where a name repeats)."""
        indexes: dict[str, int] = {}
        for index, name in enumerate(self.columns):
            indexes.setdefault(name, index)  # a repeated column: the first, as a person reads
        return indexes


@dataclass(frozen=True, slots=True)
class _Setting:
    value: object
    file: str


@dataclass(frozen=True, slots=True)
class _FileChoice:
    name: str
    explicit_in: str | None  # the TOML file naming it, None for the default name


@dataclass(frozen=True, slots=True)
class _Settings:
    name: str | None
    start_date: date | None
    sack_kg: float | None
    timezone: str
    calendar: Calendar
    travel: TravelSettings
    service: ServiceSettings
    objective: ObjectiveSettings
    solver: SolverSettings
    replan: ReplanSettings
    cost_per_km: float | None
    cost_per_day: float | None
    warehouses_file: _FileChoice
    trucks_file: _FileChoice
    drop_points_file: _FileChoice
    tranches_file: _FileChoice
    boundaries_file: str | None
    facilitators_file: _FileChoice | None
    """Only when ``[files] facilitators`` names one: the table is optional."""
    roster_file: str | None
    papers: PaperSettings


class _Located:
    """Rows with a place inside Indonesia, as three arrays (a few bytes a row, not objects)."""

    __slots__ = ("lat", "lon", "row")

    def __init__(self) -> None:
        self.lon = array("d")
        self.lat = array("d")
        self.row = array("l")

    def add(self, point: _Point, row: int) -> None:
        self.lon.append(point.lon)
        self.lat.append(point.lat)
        self.row.append(row)

    def __len__(self) -> int:
        return len(self.row)


def read_scenario(folder: Path, *, config: Path | None = None, side_files: bool = True) -> Scenario:
    """Read a scenario folder, validate everything and build the :class:`Scenario`.

    Parameters
    ----------
    folder
        Folder holding ``scenario.toml`` and the warehouses, trucks, drop points and tranches
        tables (see the module docstring for the format).
    config
        Optional TOML with the same sections as ``scenario.toml``; its values override the
        scenario's (e.g. ``[solver] time_limit_s``).
    side_files
        Whether the files ``[travel]`` (``osm_file``, ``matrix_file``) and ``[files]
        boundaries`` name must be there. False reads a plan folder's scenario copy, which
        keeps those names but not the OpenStreetMap extract (its legs are in the plan's
        ``travel/``); names leaving the folder are problems either way.

    Returns
    -------
    Scenario
        The validated scenario; tables keep their file order.

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
                    f"scenario folder not found; expected a folder holding {SCENARIO_FILE} "
                    "and the warehouses, trucks, drop_points and tranches tables",
                )
            ]
        )
    problems = ProblemCollector()
    builder = ScenarioBuilder(problems=problems, check_as_added=True)
    settings = _read_settings(folder, config, problems, builder, side_files=side_files)
    tables = (
        (_WAREHOUSES, settings.warehouses_file, _add_warehouse),
        (_TRUCKS, settings.trucks_file, _add_truck),
        (_DROP_POINTS, settings.drop_points_file, _add_drop_point),
        (_TRANCHES, settings.tranches_file, _add_tranche),
    )
    if settings.facilitators_file is not None:
        _read_facilitators(folder, settings.facilitators_file, problems, builder)
    loaded = [
        (spec, _load_table(folder, spec, choice, problems), add) for spec, choice, add in tables
    ]
    for spec, table, add in loaded:
        if table is None:
            builder.table_reported(spec.key)
            continue
        if not table.rows:
            builder.table_reported(spec.key, keep_references=True)  # "has no data rows"
        elif table.column_index("id") is None:
            builder.table_reported(spec.key)  # the missing column, reported once for the file
        located = _Located()
        for index in range(len(table.rows)):
            cells = _RowCells(table, index)
            add(builder, cells)
            if cells.point is not None:
                located.add(cells.point, cells.row)
        if spec.vector_ok:
            _check_on_land(table, spec, located, problems)
    return builder.build()


def _read_facilitators(
    folder: Path, choice: _FileChoice, problems: ProblemCollector, builder: ScenarioBuilder
) -> None:
    """Give the facilitators table's rows to the builder (it checks them, never quoting names)."""
    table = _load_table(folder, _FACILITATORS, choice, problems)
    if table is None or table.column_index("id") is None:
        builder.table_reported(_FACILITATORS.key)
        return
    for index in range(len(table.rows)):
        cells = _RowCells(table, index)
        builder.add_facilitator(
            cells.text("id", required=True),
            cells.text("name", required=True),
            cells.text("phone") or "",
            origin=cells.origin(),
        )


def validate_scenario(folder: Path, *, config: Path | None = None) -> Scenario:
    """Validate a scenario folder: :func:`read_scenario`, then the roster ``[files] kpm`` names.

    The roster (names and NIKs) is checked against the scenario and let go; nothing of it is
    kept (:func:`geodata.roster_io.read_roster` reads it again for the papers).

    Parameters
    ----------
    folder
        Folder holding ``scenario.toml`` and the four tables.
    config
        Optional TOML whose values override the scenario's.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    InputError
        Listing every problem found (the roster's once the rest has none).
    """
    scenario = read_scenario(folder, config=config)
    if scenario.roster_file is not None:
        from geodata.roster_io import read_roster

        read_roster(Path(folder) / scenario.roster_file, scenario, display=scenario.roster_file)
    return scenario


# --------------------------------------------------------------------------------------------
# scenario.toml and the config override


def _read_settings(
    folder: Path,
    config: Path | None,
    problems: ProblemCollector,
    builder: ScenarioBuilder,
    *,
    side_files: bool = True,
) -> _Settings:
    values: dict[str, _Setting] = {}
    located = _locate_inside(folder, SCENARIO_FILE)
    scenario_doc = None
    if isinstance(located, _Refused):
        problems.append(Problem(SCENARIO_FILE, f"'{SCENARIO_FILE}' {located.reason}"))
    else:
        scenario_doc = _load_toml(folder / SCENARIO_FILE, SCENARIO_FILE, problems)
    if scenario_doc is not None:
        values.update(_flatten_toml(scenario_doc, SCENARIO_FILE, problems))
    if config is not None:
        config_doc = _load_toml(Path(config), str(config), problems)
        if config_doc is not None:
            values.update(_flatten_toml(config_doc, str(config), problems))
    reader = _SettingsReader(values, problems, required=scenario_doc is not None)

    shift_start_s = reader.time_of_day("calendar.shift_start", _DEFAULT_CALENDAR.shift_start_s)
    shift_end_s = reader.time_of_day("calendar.shift_end", _DEFAULT_CALENDAR.shift_end_s)
    # A default shift that ends before it starts is the builder's to report.
    calendar = Calendar(
        working_days=reader.working_days("calendar.working_days"),
        holidays=reader.holidays("calendar.holidays"),
        shift_start_s=_or(shift_start_s, _DEFAULT_CALENDAR.shift_start_s),
        shift_end_s=_or(shift_end_s, _DEFAULT_CALENDAR.shift_end_s),
    )
    travel = _read_travel(reader, folder, side_files=side_files)
    boundaries = reader.side_file(folder, "files.boundaries", must_exist=side_files)
    roster = reader.side_file(folder, "files.kpm", must_exist=side_files)
    facilitators_file = (
        reader.file_choice("files.facilitators", _FACILITATORS.default_file)
        if reader.value("files.facilitators") is not None
        else None
    )
    full_nik = reader.boolean("papers.full_nik", PaperSettings().full_nik)
    service = ServiceSettings(
        stop_min=reader.number_or_default("service.stop_min", _DEFAULT_SERVICE.stop_min),
        per_100kg_min=reader.number_or_default(
            "service.per_100kg_min", _DEFAULT_SERVICE.per_100kg_min
        ),
        loading_min=reader.number_or_default("service.loading_min", _DEFAULT_SERVICE.loading_min),
    )
    objective = ObjectiveSettings(
        wait_cost_per_kpm_day=reader.number_or_default(
            "objective.wait_cost_per_kpm_day", _DEFAULT_OBJECTIVE.wait_cost_per_kpm_day
        )
    )
    solver = SolverSettings(
        time_limit_s=reader.number_or_default("solver.time_limit_s", _DEFAULT_SOLVER.time_limit_s),
        seed=_or(reader.integer("solver.seed", _DEFAULT_SOLVER.seed), _DEFAULT_SOLVER.seed),
        strategy=_or(
            reader.text("solver.strategy", _DEFAULT_SOLVER.strategy), _DEFAULT_SOLVER.strategy
        ),
        solution_limit=reader.integer("solver.solution_limit", None),
    )
    replan = ReplanSettings(
        replacement_days=_or(
            reader.integer("replan.replacement_days", _DEFAULT_REPLAN.replacement_days),
            _DEFAULT_REPLAN.replacement_days,
        ),
        move_cost_per_kpm_day=reader.number_or_default(
            "replan.move_cost_per_kpm_day", _DEFAULT_REPLAN.move_cost_per_kpm_day
        ),
        freeze_days=_or(
            reader.integer("replan.freeze_days", _DEFAULT_REPLAN.freeze_days),
            _DEFAULT_REPLAN.freeze_days,
        ),
    )
    try:
        check_strategy_name(solver.strategy)
    except ValueError as error:
        setting = values.get("solver.strategy")
        problems.append(
            Problem(setting.file if setting else SCENARIO_FILE, str(error), field="solver.strategy")
        )
    settings = _Settings(
        name=reader.text("name", None),
        start_date=reader.date_value("start_date"),
        sack_kg=reader.number("sack_kg", DEFAULT_SACK_KG),
        timezone=_or(reader.timezone("timezone", DEFAULT_TIMEZONE), DEFAULT_TIMEZONE),
        calendar=calendar,
        travel=travel,
        service=service,
        objective=objective,
        solver=solver,
        replan=replan,
        cost_per_km=reader.number("costs.cost_per_km", DEFAULT_COST_PER_KM),
        cost_per_day=reader.number("costs.cost_per_day", DEFAULT_COST_PER_DAY),
        warehouses_file=reader.file_choice("files.warehouses", _WAREHOUSES.default_file),
        trucks_file=reader.file_choice("files.trucks", _TRUCKS.default_file),
        drop_points_file=reader.file_choice("files.drop_points", _DROP_POINTS.default_file),
        tranches_file=reader.file_choice("files.tranches", _TRANCHES.default_file),
        boundaries_file=boundaries,
        facilitators_file=facilitators_file,
        roster_file=roster,
        papers=PaperSettings(full_nik=full_nik),
    )
    builder.set_settings(
        name=settings.name,
        start_date=settings.start_date,
        sack_kg=settings.sack_kg,
        timezone=settings.timezone,
        calendar=settings.calendar,
        travel=settings.travel,
        service=settings.service,
        objective=settings.objective,
        solver=settings.solver,
        replan=settings.replan,
        cost_per_km=settings.cost_per_km,
        cost_per_day=settings.cost_per_day,
        # The reader has said all there is to say of name and start_date, and of every bad key.
        origin=Origin(SCENARIO_FILE, reported=frozenset({"name", "start_date", *reader.bad})),
        files={key: setting.file for key, setting in values.items()},
        boundaries_file=settings.boundaries_file,
        roster_file=settings.roster_file,
        papers=settings.papers,
    )
    return settings


def _read_travel(reader: _SettingsReader, folder: Path, *, side_files: bool) -> TravelSettings:
    """``[travel]``: the source, its file, road speeds and access classes (see the module doc)."""
    source = reader.choice("travel.source", _DEFAULT_TRAVEL.source, TRAVEL_SOURCES)
    speeds = reader.value("travel.speed_kmh")
    # `speed_kmh = 30` is the straight line's speed; a `[travel.speed_kmh]` table gives the
    # road speeds by OSM highway value (the TOML key cannot be both at once).
    straight_kmh = (
        _DEFAULT_TRAVEL.speed_kmh
        if isinstance(speeds, dict)
        else reader.number_or_default("travel.speed_kmh", _DEFAULT_TRAVEL.speed_kmh)
    )
    road_speed_kmh = reader.road_speeds("travel.speed_kmh") if isinstance(speeds, dict) else {}
    files: dict[str, str | None] = {}
    for key, needed_by in (("travel.osm_file", "osm"), ("travel.matrix_file", "matrix")):
        files[key] = reader.side_file(folder, key, must_exist=side_files and source == needed_by)
        if source == needed_by and files[key] is None and key not in reader.bad:
            example = "roads.osm.pbf" if needed_by == "osm" else "travel_matrix.csv"
            reader.report_missing(
                key, f'source = "{needed_by}" needs it, e.g. {key.split(".")[1]} = "{example}"'
            )
    return TravelSettings(
        speed_kmh=straight_kmh,
        circuity=reader.number_or_default("travel.circuity", _DEFAULT_TRAVEL.circuity),
        source=source,
        osm_file=files["travel.osm_file"],
        matrix_file=files["travel.matrix_file"],
        max_snap_m=reader.number_or_default("travel.max_snap_m", _DEFAULT_TRAVEL.max_snap_m),
        road_speed_kmh=tuple(
            (road, road_speed_kmh.get(road, default)) for road, default in DEFAULT_ROAD_SPEED_KMH
        ),
        small_truck_max_kg=reader.number_or_default(
            "travel.small_truck_max_kg", _DEFAULT_TRAVEL.small_truck_max_kg
        ),
        access=reader.access("travel.access"),
    )


def _or(value: T | None, default: T) -> T:
    return default if value is None else value


def _load_toml(path: Path, display: str, problems: ProblemCollector) -> dict[str, object] | None:
    if not path.is_file():
        problems.append(
            Problem(
                display,
                "file not found; every scenario folder needs a scenario.toml with at least "
                'name = "..." and start_date = 2020-09-01'
                if display == SCENARIO_FILE
                else "config file not found",
            )
        )
        return None
    try:
        # Resolved first: a link (inside the folder, as _locate_inside made sure) is fine, but
        # what is opened must still be a regular file (no pipe swapped in to hang the reader).
        with _open_regular(path.resolve()) as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts "(at line N, column M)" in its message: keep it, it is the line to fix.
        problems.append(Problem(display, f"not valid TOML: {exc}"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(display, f"could not be read: {exc}"))
    except ValueError:
        # tomllib refuses integers of more than 4,300 digits with a bare ValueError.
        problems.append(Problem(display, "not a scenario file: a number too long to read"))
    except RecursionError:
        # Arrays or tables nested thousands deep exhaust the parser's recursion; bsb's TOML is
        # flat sections of plain values, so this is never a scenario.
        problems.append(
            Problem(display, "not a scenario file: arrays or tables nested too deep to read")
        )
    except _UnreadableFileError as exc:
        problems.append(Problem(display, str(exc)))
    except OSError as exc:
        # The OS's reason only: its message would name the path on this machine.
        problems.append(
            Problem(display, f"could not be read ({exc.strerror or type(exc).__name__})")
        )
    return None


def _flatten_toml(
    doc: Mapping[str, object], file: str, problems: ProblemCollector
) -> dict[str, _Setting]:
    """Turn a TOML document into ``{"section.key": _Setting}``, reporting unknown names."""
    flat: dict[str, _Setting] = {}
    for key, value in doc.items():
        if key in _TOP_LEVEL_KEYS:
            flat[key] = _Setting(value, file)
        elif key in _SECTION_KEYS:
            if not isinstance(value, dict):
                problems.append(
                    Problem(
                        file, f"'{key}' must be a section: write [{key}] on its own line", field=key
                    )
                )
                continue
            for sub_key, sub_value in value.items():
                dotted = f"{key}.{sub_key}"
                if sub_key in _SECTION_KEYS[key]:
                    flat[dotted] = _Setting(sub_value, file)
                else:
                    known = ", ".join(_SECTION_KEYS[key])
                    problems.append(
                        Problem(
                            file,
                            f"unknown key '{sub_key}' in [{key}]"
                            f"{_did_you_mean(sub_key, _SECTION_KEYS[key])}; known keys: {known}",
                            field=dotted,
                        )
                    )
        else:
            candidates = _TOP_LEVEL_KEYS + tuple(_SECTION_KEYS)
            what = "section" if isinstance(value, dict) else "key"
            problems.append(
                Problem(
                    file,
                    f"unknown {what} '{key}'{_did_you_mean(key, candidates)}; known top-level "
                    f"keys: {', '.join(_TOP_LEVEL_KEYS)}; sections: {', '.join(_SECTION_KEYS)}",
                    field=key,
                )
            )
    return flat


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(name.lower(), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


class _SettingsReader:
    """Typed access to the merged TOML values; every bad value becomes a Problem.

    Each accessor returns the value, the default when the key is absent, or None when the
    value is bad (the problem is recorded).
    """

    def __init__(
        self, values: Mapping[str, _Setting], problems: ProblemCollector, *, required: bool
    ) -> None:
        self._values = values
        self._problems = problems
        self.bad: set[str] = set()
        """Keys whose value was bad (or missing) and reported."""
        # Without a readable scenario.toml its absence is the one problem to report.
        self._required = required

    def _bad(self, key: str, setting: _Setting, message: str) -> None:
        self.bad.add(key)
        self._problems.append(Problem(setting.file, message, field=key))

    def _missing(self, key: str, example: str) -> None:
        if self._required:
            self._problems.append(
                Problem(SCENARIO_FILE, f"'{key}' is missing; add e.g. {example}", field=key)
            )

    def number(self, key: str, default: float) -> float | None:
        """Return the number under ``key`` within :data:`NUMBER_BOUNDS`, ``default`` if absent."""
        setting = self._values.get(key)
        if setting is None:
            return default
        value = setting.value
        bounds = NUMBER_BOUNDS[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            self._bad(
                key,
                setting,
                f"{_shown_value(value)} is not a number; expected {bounds.describe()}, "
                f"e.g. {_fmt(default)}",
            )
            return None
        return self._within(key, setting, value, bounds, default)

    def number_or_default(self, key: str, default: float) -> float:
        # A bad value is reported; the default stands in so that reading can go on.
        return _or(self.number(key, default), default)

    def integer(self, key: str, default: int | None) -> int | None:
        """Return the whole number under ``key`` within :data:`NUMBER_BOUNDS`."""
        setting = self._values.get(key)
        if setting is None:
            return default
        value = setting.value
        bounds = NUMBER_BOUNDS[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self._bad(
                key,
                setting,
                f"{_shown_value(value)} is not a whole number; expected {bounds.describe()}",
            )
            return None
        number = self._within(key, setting, value, bounds, default)
        return None if number is None else int(number)

    def _within(
        self, key: str, setting: _Setting, value: float, bounds: NumberBounds, default: float | None
    ) -> float | None:
        reason = out_of_bounds(value, bounds)
        if reason is not None:
            example = "" if default is None else f", e.g. {_fmt(default)}"
            self._bad(key, setting, f"{_shown_value(value)} {reason}{example}")
            return None
        return float(value)

    def text(self, key: str, default: str | None) -> str | None:
        setting = self._values.get(key)
        if setting is None:
            if default is None:
                self._missing(key, f'{key} = "Kabupaten Bogor, tranche 1"')
            return default
        if not isinstance(setting.value, str) or not setting.value.strip():
            self._bad(
                key,
                setting,
                f"{setting.value!r} is not a text; expected a non-empty string in quotes",
            )
            return None
        return setting.value.strip()

    def date_value(self, key: str) -> date | None:
        setting = self._values.get(key)
        if setting is None:
            self._missing(key, f"{key} = 2020-09-01")
            return None
        parsed = _toml_date(setting.value)
        if parsed is None:
            self._bad(
                key,
                setting,
                f"{setting.value!r} is not a date; expected e.g. 2020-09-01 (YYYY-MM-DD)",
            )
        return parsed

    def timezone(self, key: str, default: str) -> str | None:
        name = self.text(key, default)
        if name is None:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            setting = self._values[key]
            self._bad(
                key,
                setting,
                f"unknown time zone {name!r}; expected a zoneinfo name such as "
                "'Asia/Jakarta' (WIB), 'Asia/Makassar' (WITA) or 'Asia/Jayapura' (WIT)",
            )
            return None
        return name

    def time_of_day(self, key: str, default: int) -> int | None:
        setting = self._values.get(key)
        if setting is None:
            return default
        value = setting.value
        if isinstance(value, time):
            return value.hour * 3600 + value.minute * 60 + value.second
        seconds = _parse_time_s(value) if isinstance(value, str) else None
        if seconds is None:
            self._bad(
                key,
                setting,
                f'{_shown_value(value)} is not a time of day; expected "HH:MM", '
                f'e.g. "{_format_time(default)}"',
            )
        return seconds

    def working_days(self, key: str) -> frozenset[int]:
        setting = self._values.get(key)
        if setting is None:
            return _DEFAULT_CALENDAR.working_days
        if not isinstance(setting.value, list) or not setting.value:
            self._bad(
                key,
                setting,
                "expected a non-empty list of day names, e.g. "
                '["mon", "tue", "wed", "thu", "fri", "sat"]',
            )
            return _DEFAULT_CALENDAR.working_days
        days: set[int] = set()
        for item in setting.value:
            name = item.strip().lower() if isinstance(item, str) else None
            if name in WEEKDAY_NAMES:
                days.add(WEEKDAY_NAMES.index(name))
            else:
                self._bad(
                    key,
                    setting,
                    f"{item!r} is not a weekday name; expected one of {', '.join(WEEKDAY_NAMES)}",
                )
        return frozenset(days)

    def holidays(self, key: str) -> frozenset[date]:
        setting = self._values.get(key)
        if setting is None:
            return frozenset()
        if not isinstance(setting.value, list):
            self._bad(key, setting, 'expected a list of dates, e.g. [2020-10-29] or ["2020-10-29"]')
            return frozenset()
        days: set[date] = set()
        for item in setting.value:
            parsed = _toml_date(item)
            if parsed is None:
                self._bad(
                    key, setting, f"{item!r} is not a date; expected e.g. 2020-10-29 (YYYY-MM-DD)"
                )
            else:
                days.add(parsed)
        return frozenset(days)

    def value(self, key: str) -> object | None:
        """Return the raw value under ``key``, ``None`` when absent."""
        setting = self._values.get(key)
        return None if setting is None else setting.value

    def boolean(self, key: str, default: bool) -> bool:
        """Return the TOML boolean under ``key``; the default (and a problem) when it is not one."""
        setting = self._values.get(key)
        if setting is None:
            return default
        if not isinstance(setting.value, bool):
            self._bad(key, setting, f"{setting.value!r} is not true or false; expected e.g. false")
            return default
        return setting.value

    def report_missing(self, key: str, message: str) -> None:
        """Report ``key`` as missing where the settings came from (``scenario.toml``)."""
        self.bad.add(key)
        self._problems.append(Problem(SCENARIO_FILE, f"'{key}' is missing; {message}", field=key))

    def choice(self, key: str, default: str, allowed: Sequence[str]) -> str:
        """Return a text among ``allowed``; the default (and a problem) when it is another."""
        text = self.text(key, default)
        if text is None:
            return default
        if text not in allowed:
            self._bad(
                key,
                self._values[key],
                f"{text!r} is not one of {', '.join(allowed)}{_did_you_mean(text, allowed)}",
            )
            return default
        return text

    def road_speeds(self, key: str) -> dict[str, float]:
        """``[travel.speed_kmh]``: km/h by OSM ``highway`` value, every bad entry reported."""
        setting = self._values[key]
        assert isinstance(setting.value, dict)
        known = [road for road, _ in DEFAULT_ROAD_SPEED_KMH]
        bounds = ROAD_SPEED_BOUNDS
        speeds: dict[str, float] = {}
        for road, value in setting.value.items():
            field = f"{key}.{road}"
            if road not in known:
                self._bad(
                    field,
                    setting,
                    f"unknown road class {road!r}{_did_you_mean(road, known)}; expected an OSM "
                    f"highway value among {', '.join(known)}",
                )
                continue
            number = (
                None
                if isinstance(value, bool) or not isinstance(value, int | float)
                else float(value)
            )
            reason = "is not a number" if number is None else out_of_bounds(number, bounds)
            if number is None or reason is not None:
                self._bad(
                    field,
                    setting,
                    f"{_shown_value(value)} {reason}; expected {bounds.describe()} (km/h)",
                )
                continue
            speeds[road] = number
        return speeds

    def access(self, key: str) -> tuple[tuple[str, str], ...]:
        """``[travel.access]``: access class by truck type, every bad entry reported."""
        setting = self._values.get(key)
        if setting is None:
            return ()
        if not isinstance(setting.value, dict):
            self._bad(
                key,
                setting,
                'must be a table of truck type = "big" or "small", e.g. [travel.access] '
                'pickup = "small"',
            )
            return ()
        pairs: list[tuple[str, str]] = []
        for truck_type, access in setting.value.items():
            if access not in ACCESS_CLASSES:
                self._bad(
                    f"{key}.{truck_type}",
                    setting,
                    f"{_shown_value(access)} is not an access class; expected one of "
                    f"{', '.join(repr(a) for a in ACCESS_CLASSES)}",
                )
                continue
            pairs.append((truck_type, access))
        return tuple(pairs)

    def side_file(self, folder: Path, key: str, *, must_exist: bool) -> str | None:
        """Return the file name under ``key`` if it lies inside ``folder``; else ``None``.

        The name is returned as written when it resolves inside the folder (and, with
        ``must_exist``, names a file there); otherwise a problem says why and ``None`` is
        returned.
        """
        setting = self._values.get(key)
        if setting is None:
            return None
        if not isinstance(setting.value, str) or not setting.value.strip():
            self._bad(key, setting, f"{setting.value!r} is not a file name")
            return None
        name = setting.value.strip()
        found = _locate_inside(folder, name)
        if isinstance(found, _Refused):
            self._bad(key, setting, f"'{name}' {found.reason}")
            return None
        if found is None and must_exist:
            self._bad(key, setting, f"'{name}': file not found in the scenario folder")
            return None
        return name

    def file_choice(self, key: str, default: str) -> _FileChoice:
        setting = self._values.get(key)
        if setting is None:
            return _FileChoice(default, None)
        if not isinstance(setting.value, str) or not setting.value.strip():
            self._bad(
                key, setting, f'{setting.value!r} is not a file name; expected e.g. "{default}"'
            )
            return _FileChoice(default, None)
        return _FileChoice(setting.value.strip(), setting.file)


def _toml_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return None  # a date and time: the time part would be silently dropped
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return _parse_date(value.strip())
    return None


# --------------------------------------------------------------------------------------------
# Locating and reading tables


def _load_table(
    folder: Path, spec: _TableSpec, choice: _FileChoice, problems: ProblemCollector
) -> _Table | None:
    field = f"files.{spec.key}"
    found = _locate_inside(folder, choice.name)
    if isinstance(found, _Refused):
        # Named in a TOML file: the fix is there. A default name: the fix is the file itself.
        problems.append(
            Problem(
                choice.explicit_in or choice.name,
                f"'{choice.name}' {found.reason}",
                field=field,
            )
        )
        return None
    path = found
    display = PurePosixPath(choice.name).as_posix()
    if path is None:
        if choice.explicit_in is not None:
            problems.append(
                Problem(
                    choice.name,
                    f"file not found in the scenario folder; [files] {spec.key} in "
                    f"{choice.explicit_in} names it",
                    field=field,
                )
            )
            return None
        fallbacks: list[tuple[Path, str]] = []
        for name in _fallback_names(spec):
            candidate = _locate_inside(folder, name)
            if isinstance(candidate, _Refused):
                problems.append(Problem(name, f"'{name}' {candidate.reason}", field=field))
                return None
            if candidate is not None:
                fallbacks.append((candidate, name))
        if not fallbacks:
            others = ".xlsx" + (", .geojson, .gpkg or .shp" if spec is _DROP_POINTS else "")
            problems.append(
                Problem(
                    choice.name,
                    f"file not found in the scenario folder; expected {choice.name} (or the "
                    f"same name with {others}), or name the file in scenario.toml under "
                    f"[files] {spec.key}",
                )
            )
            return None
        if len(fallbacks) > 1:
            names = ", ".join(name for _, name in fallbacks)
            problems.append(
                Problem(
                    choice.name,
                    f"not found, and several candidates exist ({names}); name the one to use in "
                    f"scenario.toml under [files] {spec.key}",
                )
            )
            return None
        path, display = fallbacks[0]
    if path.suffix.lower() in _VECTOR_SUFFIXES:
        companion = _refused_companion(folder, path)
        if companion is not None:
            problems.append(Problem(display, companion, field=field))
            return None
    # Messages name the file as the scenario names it, never where a link inside leads.
    table = _read_table(path, display, spec, problems)
    if table is not None:
        table = _check_columns(table, spec, problems)
    return table


def _fallback_names(spec: _TableSpec) -> list[str]:
    suffixes = (".xlsx", *((".geojson", ".gpkg", ".shp") if spec is _DROP_POINTS else ()))
    return [f"{spec.key}{suffix}" for suffix in suffixes]


@dataclass(frozen=True, slots=True)
class _Refused:
    """Why a path the scenario names may not be read; says nothing of what the target holds."""

    reason: str


def _locate_inside(folder: Path, name: str) -> Path | _Refused | None:
    """Resolve ``name`` to a regular file inside ``folder``, without opening anything.

    Returns the resolved path, ``None`` when nothing of that name exists, or why the name is
    refused. A scenario is a unit uploaded to the service or handed from planner to planner:
    a name that reaches outside it would let whoever writes ``scenario.toml`` read (and have
    echoed back in messages and plans) any file the server can read. So absolute paths,
    ``..`` leaving the folder, symbolic links leading out and anything but a regular file
    (folders, devices, pipes, sockets) are refused; only ``stat`` is called, which neither
    opens a pipe (that would block) nor reads a device.
    """
    written = PurePosixPath(name.replace("\\", "/"))
    if written.is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        return _Refused(
            "is an absolute path (or names a drive); name a file inside the scenario folder, "
            "relative to it "
            '(e.g. "drop_points.csv" or "input/drop_points.csv")'
        )
    depth = 0
    for part in written.parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < 0:
            return _Refused(
                "leaves the scenario folder through '..'; put the file inside the scenario "
                "folder and name it relative to it"
            )
    try:
        root = folder.resolve()
        target = (folder / name).resolve()
        if not target.is_relative_to(root):
            return _Refused(
                "is a symbolic link (or passes through one) leading out of the scenario folder; "
                "copy the file into the folder instead"
            )
        if not os.path.lexists(folder / name):
            return None
        mode = target.stat().st_mode
    except FileNotFoundError:
        return None  # a dangling link inside the folder: simply not there
    except (OSError, RuntimeError, ValueError):
        # Link loops (RuntimeError before Python 3.13), NUL bytes (ValueError), permissions.
        return _Refused("cannot be resolved to a file (a link loop or an unusable name?)")
    if stat.S_ISDIR(mode):
        return _Refused("is a folder, not a file; name the table file inside it")
    if not stat.S_ISREG(mode):
        return _Refused(
            "is not a regular file (a device, pipe or socket); name a .csv or .xlsx table file"
        )
    return target


def _refused_companion(folder: Path, path: Path) -> str | None:
    """Say why a GIS file's companion files may not be read, or None when they may.

    GDAL opens more than the file named: a Shapefile's ``.dbf``, ``.shx``, ``.prj`` and
    ``.cpg``, a GeoPackage's ``-wal`` and ``-shm``, anyone's ``.aux.xml``, found by name beside
    it. Each must pass the same test as a table (:func:`_locate_inside`), or a link named
    ``drop_points.dbf`` would have GDAL read a file outside the folder, and a pipe would hang it.
    """
    root = folder.resolve()
    stem = path.stem.casefold()
    with os.scandir(path.parent) as entries:
        names = [
            entry.name
            for entry in entries
            if entry.name.casefold().startswith((stem + ".", stem + "-"))
            and entry.name != path.name
        ]
    for name in sorted(names):
        relative = (path.parent / name).relative_to(root).as_posix()
        found = _locate_inside(folder, relative)
        if isinstance(found, _Refused):
            return f"its companion file '{name}' {found.reason}"
    return None


def _read_table(
    path: Path, display: str, spec: _TableSpec, problems: ProblemCollector
) -> _Table | None:
    suffix = path.suffix.lower()
    try:
        if suffix in _CSV_SUFFIXES:
            return _read_csv(path, display, problems)
        if suffix in _SPREADSHEET_SUFFIXES:
            return _read_xlsx(path, display, problems)
        if suffix in _VECTOR_SUFFIXES and spec.vector_ok:
            return _read_vector(path, display, spec, problems)
    except _UnreadableFileError as exc:
        problems.append(Problem(display, str(exc)))
        return None
    except OSError as exc:
        # The OS's reason only: its message would name the path on this machine.
        problems.append(
            Problem(display, f"could not be read ({exc.strerror or type(exc).__name__})")
        )
        return None
    except Exception as exc:  # any reader failure on bad bytes is an input problem, not a crash
        problems.append(
            Problem(
                display,
                f"could not be read ({type(exc).__name__}: {exc}); "
                "check that the file is not damaged and opens in a spreadsheet or GIS",
            )
        )
        return None
    formats = ".csv or .xlsx" + (" (or .geojson, .gpkg, .shp)" if spec.vector_ok else "")
    problems.append(
        Problem(
            display, f"unsupported file type '{suffix}'; save the {spec.key} table as {formats}"
        )
    )
    return None


def _read_csv(path: Path, display: str, problems: ProblemCollector) -> _Table:
    # Streamed, never read whole: a table of millions of rows is held once, as its cells, not
    # also as bytes, as text and as a copy of that text.
    with _open_regular(path) as stream:
        encoding = _csv_encoding(stream)
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        header_line = text.readline()
        separator = max((";", ",", "\t"), key=header_line.count)
        if header_line.count(separator) == 0:
            separator = ","
        lines = itertools.chain((header_line,), text)
        rows = (
            tuple(cell.strip() for cell in row) for row in csv.reader(lines, delimiter=separator)
        )
        table = _table_from_rows(display, rows, problems)
    if separator == ";":
        comma_columns = frozenset(
            column
            for index, column in enumerate(table.columns)
            if any("," in row[index] for row in table.rows)
        )
        table = replace(table, comma_decimal_columns=comma_columns, semicolon=True)
    return table


def _open_regular(path: Path) -> BinaryIO:
    """Open a located table, refusing anything that is not (or no longer) a regular file.

    :func:`_locate_inside` looked with ``stat``; the file may have been swapped since. Opening
    with ``O_NONBLOCK`` keeps a pipe from blocking the open, ``O_NOFOLLOW`` refuses a link put
    in its place, and ``fstat`` looks at what was actually opened.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise _UnreadableFileError(
                "is not a regular file (a device, pipe or socket); name a .csv or .xlsx table file"
            )
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _csv_encoding(stream: BinaryIO) -> str:
    """UTF-8 (with or without BOM) when every byte decodes as such, else Windows-1252."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(_READ_CHUNK_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"  # older Excel "CSV" exports; fails later if it is not text at all
    return "utf-8-sig"


def _read_xlsx(path: Path, display: str, problems: ProblemCollector) -> _Table:
    from openpyxl import load_workbook

    with warnings.catch_warnings(), _open_regular(path) as stream:
        # openpyxl warns about styles and extensions it ignores; none of that matters here.
        warnings.simplefilter("ignore")
        workbook = load_workbook(stream, read_only=True, data_only=True)
        try:
            if not workbook.worksheets:
                raise _UnreadableFileError(
                    "the workbook has no sheets; put the table on the first sheet"
                )
            sheet = workbook.worksheets[0]
            rows = (
                tuple(_cell_text(value) for value in row)
                for row in sheet.iter_rows(values_only=True)
            )
            return _table_from_rows(display, rows, problems)
        finally:
            workbook.close()


def _read_vector(path: Path, display: str, spec: _TableSpec, problems: ProblemCollector) -> _Table:
    import geopandas  # heavy: only when a vector file is actually read

    frame = geopandas.read_file(path)
    geometry_column = frame.geometry.name
    attribute_columns = [str(c) for c in frame.columns if c != geometry_column]
    header = [c.strip().lower() for c in attribute_columns]
    if path.suffix.lower() == ".shp":
        # Shapefile (DBF) cuts column names to 10 characters; accept the cut name.
        cut = {name[:_SHAPEFILE_NAME_CHARS]: name for name in spec.known}
        header = [column if column in spec.known else cut.get(column, column) for column in header]
    columns_values = [[_cell_text(v) for v in frame[c].tolist()] for c in attribute_columns]
    rows = [tuple(values[i] for values in columns_values) for i in range(len(frame))]
    # lon/lat come from the geometry; attribute columns of those names are ignored.
    keep = [i for i, name in enumerate(header) if name not in ("lon", "lat")]
    header = [header[i] for i in keep]
    rows = [tuple(row[i] for i in keep) for row in rows]

    points: list[_Point | None] = [None] * len(frame)
    crs_name = ""
    if frame.crs is None:
        problems.append(
            Problem(
                display,
                "the file has no coordinate reference system (CRS); set it (e.g. "
                "EPSG:4326 for lon/lat degrees, EPSG:32748 for UTM 48S metres) and save again",
            )
        )
    else:
        crs_name = frame.crs.to_string()
        geometries = frame.to_crs("EPSG:4326").geometry.tolist()
        for index, geometry in enumerate(geometries):
            feature = index + 1
            if geometry is None or geometry.is_empty:
                problems.append(
                    Problem(
                        display,
                        f"feature {feature}: has no geometry; expected a Point",
                        row=feature,
                        field="geometry",
                    )
                )
            elif geometry.geom_type != "Point":
                problems.append(
                    Problem(
                        display,
                        f"feature {feature}: geometry is a {geometry.geom_type}; expected a "
                        f"Point (one location per {spec.label})",
                        row=feature,
                        field="geometry",
                    )
                )
            else:
                points[index] = _Point(float(geometry.x), float(geometry.y))
        located = [p for p in points if p is not None]
        if located and not any(
            inside_indonesia(p.lon, p.lat) or inside_indonesia(p.lat, p.lon) for p in located
        ):
            first = located[0]
            problems.append(
                Problem(
                    display,
                    f"none of the {len(located)} located features lies in Indonesia after "
                    f"reprojecting from the file's CRS {crs_name} to EPSG:4326 (the first is at "
                    f"lon {first.lon:.4f}, lat {first.lat:.4f}); the file's CRS {crs_name} is "
                    "probably wrong: assign the CRS the coordinates were measured in",
                    field="geometry",
                )
            )
            points = [None] * len(frame)
    header_row = tuple(header)
    _unique_header(display, header_row, problems, row=None)
    return _Table(
        file=display,
        columns=header_row,
        rows=tuple(rows),
        row_numbers=tuple(range(1, len(frame) + 1)),
        points=tuple(points),
        crs_name=crs_name,
    )


def _unique_header(
    display: str, header: tuple[str, ...], problems: ProblemCollector, *, row: int | None = 1
) -> None:
    # Duplicates are reported; column_index() then reads the first, as a person would.
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            problems.append(
                Problem(
                    display,
                    f"column '{name}' appears more than once in the header; keep one",
                    row=row,
                    field=name,
                )
            )
        seen.add(name)


def _table_from_rows(
    display: str, raw_rows: Iterable[tuple[str, ...]], problems: ProblemCollector
) -> _Table:
    """Build a table from text rows: header in row 1, blank rows skipped, rows padded."""
    row_iter = iter(raw_rows)
    first = next(row_iter, None)
    if not first or not any(first):
        raise _UnreadableFileError(
            "row 1 is empty; it must hold the column names, e.g. id, name, lon, lat, kpm"
        )
    header = tuple(cell.strip().lower() for cell in first)
    width = len(header)
    _unique_header(display, header, problems)
    rows: list[tuple[str, ...]] = []
    numbers = array("l")  # a machine integer per row, not an int object
    shared = _SharedCells(width)
    for row_number, raw in enumerate(row_iter, start=2):
        if not any(raw):
            continue
        raw = shared.row(raw)
        if len(raw) == width:
            rows.append(raw)
        elif len(raw) < width:
            rows.append(raw + ("",) * (width - len(raw)))
        elif any(raw[width:]):
            problems.append(
                Problem(
                    display,
                    f"row has {len(raw)} cells but the header has {width} columns; a ',' "
                    "inside a number? Use '.' for decimals in ','-separated files, quote the "
                    "cell, or save with ';' as separator",
                    row=row_number,
                )
            )
            continue
        else:
            rows.append(raw[:width])
        numbers.append(row_number)
    return _Table(display, header, tuple(rows), numbers)


class _SharedCells:
    """One string object per distinct value of a column, while the column repeats itself.

    Desa, kecamatan, RT, RW, opening hours and types repeat down a table of drop points; each
    cell the reader makes is a new object of about 55 bytes, so a table of millions of rows
    would hold each value millions of times. A column with more than
    :data:`_SHARED_VALUES_MAX` distinct values (ids, coordinates) stops being shared, so the
    lookups never cost more than they save.
    """

    __slots__ = ("_rows", "_seen")

    def __init__(self, width: int) -> None:
        self._seen: list[dict[str, str] | None] = [{} for _ in range(width)]
        self._rows = 0

    def row(self, cells: tuple[str, ...]) -> tuple[str, ...]:
        if len(cells) != len(self._seen):
            return cells  # a short or long row: rare, padded or reported by the caller
        self._rows += 1
        if self._rows % 1024 == 0:
            self._seen = [
                None if seen is None or len(seen) > _SHARED_VALUES_MAX else seen
                for seen in self._seen
            ]
        return tuple(
            cell if seen is None else seen.setdefault(cell, cell)
            for cell, seen in zip(cells, self._seen, strict=True)
        )


def _cell_text(value: object) -> str:
    """Echo a spreadsheet or attribute value as the text a person would have typed."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        # Ids typed into a number cell come back as 42.0; echo them as 42.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        if value != value:  # NaT
            return ""
        if value.date() == date(1899, 12, 30):  # Excel's zero day: a time-only cell
            return value.time().isoformat()
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        total_s = int(value.total_seconds())
        return f"{total_s // 3600:02d}:{total_s % 3600 // 60:02d}:{total_s % 60:02d}"
    try:
        if value != value:  # pandas NA and friends
            return ""
    except TypeError:
        return ""
    return str(value).strip()


def _listed_columns(columns: Sequence[str]) -> str:
    # A header of thousands of columns, or of one huge cell, is cut: the message is read.
    named = [
        c if len(c) <= _QUOTED_CHARS_MAX else c[:_QUOTED_CHARS_MAX] + "..." for c in columns if c
    ]
    shown = ", ".join(named[:_LISTED_COLUMNS_MAX])
    return (shown + (", ..." if len(named) > _LISTED_COLUMNS_MAX else "")) or "nothing"


def _check_columns(table: _Table, spec: _TableSpec, problems: ProblemCollector) -> _Table:
    present = set(table.columns)
    required = [c for c in spec.required if not (table.is_vector and c in ("lon", "lat"))]
    missing = [c for c in required if c not in present]
    for column in missing:
        aliases = [a for a in _ALIAS_HINTS.get(column, ()) if a in present]
        found = f"; found '{aliases[0]}': rename it to '{column}'" if aliases else ""
        problems.append(
            Problem(
                table.file,
                f"missing required column '{column}' ({_COLUMN_HINTS.get(column, 'text')}){found}; "
                f"the header has: {_listed_columns(table.columns)}",
                field=column,
            )
        )
    absent_known = [c for c in spec.known if c not in present]
    for column in table.columns:
        if not column or column in spec.known:
            continue
        match = difflib.get_close_matches(column, absent_known, n=1, cutoff=_TYPO_CUTOFF)
        if match:
            problems.append(
                Problem(
                    table.file,
                    f"unknown column '{column}': did you mean '{match[0]}'? Column names must "
                    "match exactly (any case)",
                    row=None if table.is_vector else 1,
                    field=column,
                )
            )
    if not table.rows:
        problems.append(Problem(table.file, f"has no data rows; add at least one {spec.label}"))
    return table


# --------------------------------------------------------------------------------------------
# Parsing cells


class _RowCells:
    """Typed access to one row's cells; records a Problem for each unreadable cell.

    Only what needs the cells' text is checked here (numbers, times and dates that do not
    parse); the :class:`optimizer.builder.ScenarioBuilder` checks the values. Columns whose
    problem is reported here (or, for a missing column, once for the file) are in
    ``reported``, so that the builder does not report them again.
    """

    def __init__(self, table: _Table, index: int) -> None:
        self.table = table
        self.index = index
        self.row = table.row_numbers[index]
        self.reported: set[str] = set()
        self.found: list[Problem] = []
        self.point: _Point | None = None
        """The row's location once :meth:`coordinates` found it inside Indonesia."""
        self._cells = table.rows[index]
        self._indexes = table.column_indexes

    def problem(self, column: str, message: str) -> None:
        # Kept for the builder, which reports them with its own in the order of the fields.
        if self.table.is_vector:
            message = f"feature {self.row}: {message}"
        self.found.append(Problem(self.table.file, message, row=self.row, field=column))
        self.reported.add(column)

    def origin(self) -> Origin:
        """Where the row is, for the builder's messages; call it once every cell is read."""
        table = self.table
        if table.is_vector:
            return Origin(
                table.file,
                self.row,
                feature=True,
                place_field="geometry",
                place_note=f" after reprojecting from {table.crs_name} to EPSG:4326",
                reported=frozenset(self.reported),
                problems=tuple(self.found),
            )
        return Origin(
            table.file, self.row, reported=frozenset(self.reported), problems=tuple(self.found)
        )

    def raw(self, column: str) -> str | None:
        """Return the cell's text, unquoted, and normalised in id columns.

        The quote bsb's writers put before a formula-like text is taken off
        (:func:`geodata.cells.unquote_spreadsheet_text`); the builder folds ids
        (:func:`optimizer.builder.normalise_id`).
        """
        # Called a dozen times a row, millions of times for a big table: kept lean.
        index = self._indexes.get(column)
        if index is None:
            return None
        cell = self._cells[index]
        if not cell:
            return cell
        if cell[0] == "'":
            cell = unquote_spreadsheet_text(cell)
        return cell

    def text(self, column: str, *, required: bool = False) -> str | None:
        """Return the cell's text; for a required cell None when empty (the builder says so)."""
        value = self.raw(column)
        if value is None:
            if required:
                self.reported.add(column)  # the missing column is reported once for the file
            return None if required else ""
        if not value and required:
            return None
        return value

    def number(self, column: str, *, required: bool = False) -> float | None:
        """Return the number, or None when empty or unreadable (a problem, reported here).

        Its range (:data:`NUMBER_BOUNDS`) is the builder's to check.
        """
        value = self.text(column, required=required)
        if not value:
            return None
        hint = _COLUMN_HINTS.get(column, "a number")
        if (
            self.table.semicolon
            and column not in self.table.comma_decimal_columns
            and column not in _COORDINATE_COLUMNS
            and _GROUPED_INTEGER_RE.fullmatch(value)
        ):
            # In an Indonesian-locale export 8.000 is eight thousand; in a column without any
            # decimal comma it could also be eight. Guessing wrong is a 1000x error: ask.
            self.problem(
                column,
                f"{_quoted(value)} is ambiguous in a ';'-separated file: write "
                f"{value.replace('.', '')} for {value.replace('.', '')}, or use ',' as the "
                f"decimal mark (e.g. {value.split('.', 1)[0]},5); expected {hint}",
            )
            return None
        try:
            return _parse_number(value, decimal_comma=column in self.table.comma_decimal_columns)
        except ValueError as exc:
            self.problem(column, f"{_quoted(value)} {exc}; expected {hint}")
            return None

    def time_s(self, column: str) -> int | None:
        value = self.text(column)
        if not value:
            return None
        seconds = _parse_time_s(value)
        if seconds is None:
            self.problem(
                column,
                f"{_quoted(value)} is not a time of day; expected HH:MM or HH:MM:SS, e.g. "
                f"{_COLUMN_HINTS.get(column, '08:00').rsplit(' ', 1)[-1]}",
            )
        return seconds

    def date_value(self, column: str) -> date | None:
        value = self.text(column, required=True)
        if value is None:
            return None
        parsed = _parse_date(value)
        if parsed is None:
            self.problem(
                column,
                f"{_quoted(value)} is not a date; "
                f"expected {_COLUMN_HINTS.get(column, 'YYYY-MM-DD')}",
            )
        return parsed

    def coordinates(self) -> tuple[float | None, float | None]:
        """Return the row's ``(lon, lat)``, from its cells or its feature's geometry.

        A place inside Indonesia is kept in :attr:`point` for the land test; whether it lies
        in Indonesia at all is the builder's to check.
        """
        if self.table.points is not None:
            point = self.table.points[self.index]
            if point is None:
                # No CRS or a bad geometry: reported when the file was read.
                self.reported.update(_COORDINATE_COLUMNS)
                return None, None
            if inside_indonesia(point.lon, point.lat):
                self.point = point
            return point.lon, point.lat
        lon = self.number("lon", required=True)
        lat = self.number("lat", required=True)
        if lon is not None and lat is not None and inside_indonesia(lon, lat):
            self.point = _Point(lon, lat)
        return lon, lat


def _parse_number(text: str, *, decimal_comma: bool) -> float:
    """Parse a number written with '.' decimals, or ',' decimals and '.' thousands.

    Raises
    ------
    ValueError
        With a short reason ("is not a number", ...).
    """
    cleaned = text.strip()
    if decimal_comma:
        integer_part, _, fraction = cleaned.partition(",")
        if "." in integer_part:
            if not _GROUPED_INTEGER_RE.fullmatch(integer_part):
                raise ValueError(
                    "mixes '.' and ',' (in this ';'-separated column ',' is the decimal mark "
                    "and '.' groups thousands, as in 1.500,5)"
                )
            integer_part = integer_part.replace(".", "")
        cleaned = (
            f"{integer_part}.{fraction}" if fraction or cleaned.endswith(",") else integer_part
        )
    if not _NUMBER_RE.fullmatch(cleaned):
        if "," in text and not decimal_comma:
            raise ValueError(
                "is not a number (decimal commas are read only in ';'-separated files)"
            )
        raise ValueError("is not a number")
    number = float(cleaned)
    if not math.isfinite(number):
        raise ValueError("is too large")
    return number


_QUOTED_CHARS_MAX = 60
"""Longest column name quoted whole in a message; a longer one is cut."""
_LISTED_COLUMNS_MAX = 30
"""Most column names listed in one message."""


def _parse_time_s(text: str) -> int | None:
    match = _TIME_RE.fullmatch(text.strip())
    if match is None:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    total_s = hours * 3600 + minutes * 60 + seconds
    if minutes > 59 or seconds > 59 or total_s > _DAY_S:
        return None
    return total_s


def _parse_date(text: str) -> date | None:
    if not _DATE_RE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Rows into builder calls


def _add_warehouse(builder: ScenarioBuilder, cells: _RowCells) -> None:
    item_id = cells.text("id", required=True)
    name = cells.text("name", required=True)
    lon, lat = cells.coordinates()
    stock_kg = cells.number("stock_kg", required=True)
    builder.add_warehouse(
        item_id,
        name,
        lon,
        lat,
        stock_kg,
        kabupaten=cells.text("kabupaten") or "",
        provinsi=cells.text("provinsi") or "",
        origin=cells.origin(),
    )


def _add_truck(builder: ScenarioBuilder, cells: _RowCells) -> None:
    item_id = cells.text("id", required=True)
    warehouse_id = cells.text("warehouse_id", required=True)
    capacity_kg = cells.number("capacity_kg", required=True)
    # An empty shift or cost cell is None: the builder gives it the scenario's value.
    shift_start_s = cells.time_s("shift_start")
    shift_end_s = cells.time_s("shift_end")
    cost_per_km = cells.number("cost_per_km")
    cost_per_day = cells.number("cost_per_day")
    max_trips_per_day = cells.number("max_trips_per_day")
    builder.add_truck(
        item_id,
        warehouse_id,
        capacity_kg,
        shift_start_s=shift_start_s,
        shift_end_s=shift_end_s,
        cost_per_km=cost_per_km,
        cost_per_day=cost_per_day,
        max_trips_per_day=max_trips_per_day,
        type=cells.text("type") or "",
        origin=cells.origin(),
    )


def _add_drop_point(builder: ScenarioBuilder, cells: _RowCells) -> None:
    item_id = cells.text("id", required=True)
    name = cells.text("name", required=True)
    lon, lat = cells.coordinates()
    kpm = cells.number("kpm", required=True)
    open_s = cells.time_s("open")
    close_s = cells.time_s("close")
    service_min = cells.number("service_min")
    builder.add_drop_point(
        item_id,
        name,
        lon,
        lat,
        kpm,
        desa=cells.text("desa") or "",
        kecamatan=cells.text("kecamatan") or "",
        rt=cells.text("rt") or "",
        rw=cells.text("rw") or "",
        open_s=open_s,
        close_s=close_s,
        service_min=service_min,
        facilitator=cells.text("facilitator") or None,
        kabupaten=cells.text("kabupaten") or "",
        provinsi=cells.text("provinsi") or "",
        origin=cells.origin(),
    )


def _add_tranche(builder: ScenarioBuilder, cells: _RowCells) -> None:
    item_id = cells.text("id", required=True)
    name = cells.text("name", required=True)
    kg_per_kpm = cells.number("kg_per_kpm", required=True)
    release = cells.date_value("release")
    deadline = cells.date_value("deadline")
    builder.add_tranche(item_id, name, kg_per_kpm, release, deadline, origin=cells.origin())


# --------------------------------------------------------------------------------------------
# Checks across rows and settings


def _check_on_land(
    table: _Table, spec: _TableSpec, located: _Located, problems: ProblemCollector
) -> None:
    """Report every located row whose place lies in the sea, with its distance to land."""
    if not located:
        return
    # In slices: the land test's working arrays grow with the points it is given at once.
    sea_points = (
        (start + sea.index, sea.distance_to_land_km)
        for start in range(0, len(located), _LAND_CHECK_POINTS)
        for sea in find_sea_points(
            located.lon[start : start + _LAND_CHECK_POINTS],
            located.lat[start : start + _LAND_CHECK_POINTS],
        )
    )
    for index, distance_to_land_km in sea_points:
        lon, lat, row = located.lon[index], located.lat[index], located.row[index]
        where = f"lon {_fmt(lon)}, lat {_fmt(lat)}"
        if table.is_vector:
            prefix = f"feature {row}: "
            where += f" (after reprojecting from {table.crs_name} to EPSG:4326)"
            field = "geometry"
        else:
            prefix, field = "", "lon/lat"
        problems.append(
            Problem(
                table.file,
                f"{prefix}{where} is in the sea, {_format_distance(distance_to_land_km)} "
                f"from the nearest land; expected the {spec.label}'s place on land (within "
                f"{_fmt(LAND_TOLERANCE_M)} m of the coast): look for a lost digit or a wrong "
                "sign, or read the coordinates off a map",
                row=row,
                field=field,
            )
        )


def _format_distance(distance_km: float) -> str:
    if distance_km < 1.0:
        return f"{round(distance_km * 1000):d} m"
    if distance_km < 10.0:
        return f"{distance_km:.1f} km"
    return f"{round(distance_km):d} km"


def _side_columns_usable(table: _Table, spec: _TableSpec, problems: ProblemCollector) -> bool:
    """Report a side table's missing and misspelt columns; False when rows cannot be read.

    Side tables (progress, roster) have no aliases to hint at, unlike the scenario's own.
    """
    present = set(table.columns)
    missing = [column for column in spec.required if column not in present]
    absent = [column for column in spec.known if column not in present]
    for column in missing:
        problems.append(
            Problem(
                table.file,
                f"missing required column '{column}'; the header must name "
                f"{', '.join(spec.required)} (and may name {', '.join(spec.optional)})",
                field=column,
            )
        )
    for column in table.columns:
        if not column or column in spec.known:
            continue
        match = difflib.get_close_matches(column, absent, n=1, cutoff=_TYPO_CUTOFF)
        if match:
            problems.append(
                Problem(
                    table.file,
                    f"unknown column '{column}': did you mean '{match[0]}'? Column names must "
                    "match exactly (any case)",
                    row=1,
                    field=column,
                )
            )
    return not missing
