"""Build a checked :class:`optimizer.model.Scenario`, collecting every problem before raising.

A :class:`ScenarioBuilder` is filled one object at a time (``add_warehouse``, ``add_truck``,
``add_drop_point``, ``add_tranche``, ``set_settings``), in the manner of PyVRP's ``Model``;
:meth:`ScenarioBuilder.build` then checks everything that can be checked without the files and
raises one :class:`optimizer.errors.InputError` listing every problem, or returns the frozen
scenario. The file reader (``geodata.scenario_io``) only turns cells into these calls; a
scenario built in code (the sample, tests, the service) goes through the same checks:

- ids are compared as :func:`normalise_id` makes them (invisible characters removed, NFKC
  folded, trimmed): a duplicate names both rows, a truck's ``warehouse_id`` must name a
  warehouse;
- every number falls in the range :data:`NUMBER_BOUNDS` gives it (whole where it counts);
- places lie inside Indonesia (:data:`INDONESIA_LON_RANGE`, :data:`INDONESIA_LAT_RANGE`);
- shifts end after they start, drop points close after they open, deadlines are on or after
  releases, every tranche's window holds a working day within :data:`MAX_PLAN_DAYS`;
- a truck carries at least one sack and a family's ration is a whole number of sacks.

Each call may carry an :class:`Origin` (file, row, how fields are named there); problems are
reported there. Without one, an object is reported as in the table ``geodata.scenario_writer``
would write: file ``warehouses``, ``trucks``, ``drop_points`` or ``tranches``, row = position
+ 2 (row 1 is the header). Reading a place in the sea needs the land data, so that check stays
with the reader.
"""

from __future__ import annotations

import difflib
import math
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from optimizer.errors import Problem, ProblemCollector
from optimizer.model import (
    ACCESS_CLASSES,
    DEFAULT_ROAD_SPEED_KMH,
    TRAVEL_SOURCES,
    WEEKDAY_NAMES,
    Calendar,
    DropPoint,
    Facilitator,
    ObjectiveSettings,
    PaperSettings,
    Scenario,
    ServiceSettings,
    SolverSettings,
    Tranche,
    TravelSettings,
    Truck,
    Warehouse,
)
from optimizer.progress import ReplanSettings

__all__ = [
    "DEFAULT_COST_PER_DAY",
    "DEFAULT_COST_PER_KM",
    "DEFAULT_SACK_KG",
    "DEFAULT_TIMEZONE",
    "INDONESIA_LAT_RANGE",
    "INDONESIA_LON_RANGE",
    "MAX_FACILITATOR_NAME_CHARS",
    "MAX_KPM_PER_POINT",
    "MAX_PHONE_CHARS",
    "MAX_PLAN_DAYS",
    "MAX_TRIPS_PER_DAY",
    "NUMBER_BOUNDS",
    "ROAD_SPEED_BOUNDS",
    "NumberBounds",
    "Origin",
    "ScenarioBuilder",
    "check_scenario",
    "inside_indonesia",
    "normalise_id",
]

INDONESIA_LON_RANGE: Final = (94.0, 142.0)
"""Longitudes (degrees east) a point must fall in to count as inside Indonesia."""

INDONESIA_LAT_RANGE: Final = (-11.5, 6.5)
"""Latitudes (degrees north) a point must fall in to count as inside Indonesia."""

SACK_TOLERANCE: Final = 1e-9
"""How far from a whole number of sacks a ration may be (in sacks) and still count as whole."""

DEFAULT_COST_PER_KM: Final = 5000.0
"""IDR per road km for trucks without their own cost (an estimate)."""

DEFAULT_COST_PER_DAY: Final = 750_000.0
"""IDR per day a truck is used, for trucks without their own cost (an estimate)."""

DEFAULT_SACK_KG: Final = 15.0
"""Kg per sack when the scenario gives none (BSB rice came in 15 kg sacks)."""

DEFAULT_TIMEZONE: Final = "Asia/Jakarta"
"""Time zone when the scenario gives none (Kabupaten Bogor is on WIB)."""

MAX_KPM_PER_POINT: Final = 100_000
"""Most families one drop point may have: an RT/RW point serves tens of families (about 63 in
the 2020 reports), a whole desa a few thousand; more is a typing error (``kpm = 1e30`` once
passed as a whole number)."""

MAX_FACILITATOR_NAME_CHARS: Final = 200
"""Longest facilitator name: it is printed on every notice and TTB list."""

MAX_PHONE_CHARS: Final = 32
"""Longest phone number (``+62 812-3456-7890`` and an extension fit)."""

_PHONE_CHARS: Final = frozenset("0123456789+-() ./")
"""What a phone number may hold besides digits: the ways people write them."""

MAX_TRIPS_PER_DAY: Final = 48
"""Most trips a truck may be limited to in a day (one every half hour of a full day)."""

MAX_PLAN_DAYS: Final = 366
"""Longest window of a tranche, in days from the later of its release and the scenario's
start_date to its deadline: BSB rounds were monthly; a year is far beyond any of them."""

_DAY_MIN = 24 * 60
_DAY_S = 24 * 3600
_QUOTED_CHARS_MAX = 60
_SUGGESTED_FROM_MAX = 1000
"""Most known ids searched for a "did you mean" hint (difflib compares with each)."""
_LISTED_DAYS_MAX = 10
"""Non-working days named in one message; a longer list ends with "..."."""
_NEXT_WORKING_DAY_SEARCH_DAYS = 366
"""How far past a deadline to look for a working day to suggest."""
_WEEKDAY_FULL_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class NumberBounds:
    """The range a number of the scenario must fall in: ``low`` to ``high``, both inclusive.

    ``low_exclusive`` makes ``low`` itself out of range (a speed of 0); ``whole`` asks for a
    whole number (families, trips, seeds). Every bound is far beyond anything real, so that it
    only catches typing errors and hostile input (``1e30`` families, a 400-digit seed) before
    they reach the planner.
    """

    low: float
    high: float
    low_exclusive: bool = False
    whole: bool = False

    def describe(self) -> str:
        """Say the range in words, e.g. ``a whole number from 1 to 48``."""
        kind = "a whole number" if self.whole else "a number"
        if self.low_exclusive:
            return f"{kind} > {fmt_number(self.low)} and <= {fmt_number(self.high)}"
        return f"{kind} from {fmt_number(self.low)} to {fmt_number(self.high)}"


_COST_PER_KM_BOUNDS = NumberBounds(0, 1_000_000)
_COST_PER_DAY_BOUNDS = NumberBounds(0, 100_000_000)

NUMBER_BOUNDS: Mapping[str, NumberBounds] = MappingProxyType(
    {
        "sack_kg": NumberBounds(0, 100, low_exclusive=True),
        "travel.speed_kmh": NumberBounds(0, 150, low_exclusive=True),
        "travel.circuity": NumberBounds(1, 5),
        # Beyond 50 km a "snap" is no longer a walk from the road: a place that far is roadless.
        "travel.max_snap_m": NumberBounds(0, 50_000, low_exclusive=True),
        "travel.small_truck_max_kg": NumberBounds(0, 100_000),
        "service.stop_min": NumberBounds(0, _DAY_MIN),
        "service.per_100kg_min": NumberBounds(0, _DAY_MIN),
        "service.loading_min": NumberBounds(0, _DAY_MIN),
        "costs.cost_per_km": _COST_PER_KM_BOUNDS,
        "costs.cost_per_day": _COST_PER_DAY_BOUNDS,
        "objective.wait_cost_per_kpm_day": NumberBounds(0, 1_000_000),
        "solver.time_limit_s": NumberBounds(0, 86_400, low_exclusive=True),
        "solver.seed": NumberBounds(0, 2**31 - 1, whole=True),
        "solver.solution_limit": NumberBounds(1, 1_000_000_000, whole=True),
        # A replacement is due at least one working day after the refusal (the rice must be
        # loaded again), and neither a due date nor a frozen window goes past the longest plan.
        "replan.replacement_days": NumberBounds(1, MAX_PLAN_DAYS, whole=True),
        "replan.move_cost_per_kpm_day": NumberBounds(0, 1_000_000_000),
        "replan.freeze_days": NumberBounds(0, MAX_PLAN_DAYS, whole=True),
        "warehouses.stock_kg": NumberBounds(0, 100_000_000),
        "trucks.capacity_kg": NumberBounds(0, 100_000, low_exclusive=True),
        "trucks.cost_per_km": _COST_PER_KM_BOUNDS,
        "trucks.cost_per_day": _COST_PER_DAY_BOUNDS,
        "trucks.max_trips_per_day": NumberBounds(1, MAX_TRIPS_PER_DAY, whole=True),
        "drop_points.kpm": NumberBounds(0, MAX_KPM_PER_POINT, whole=True),
        "drop_points.service_min": NumberBounds(0, _DAY_MIN),
        "tranches.kg_per_kpm": NumberBounds(0, 1000, low_exclusive=True),
    }
)
"""Range of every number in a scenario, by TOML key or ``table.column`` (documented in
docs/scenario-format.md, "Ranges of numbers"). Coordinates are bounded by Indonesia instead."""

ROAD_SPEED_BOUNDS: Final = NumberBounds(0, 150, low_exclusive=True)
"""Range of each road speed of ``[travel.speed_kmh]`` (km/h), as the straight line's."""

# What a right value looks like, quoted in messages so that the fix is obvious.
COLUMN_HINTS: Mapping[str, str] = MappingProxyType(
    {
        "id": "a unique code, e.g. P001",
        "name": "a name, e.g. RW 01 Babakan",
        "warehouse_id": "the id of a warehouse in the warehouses table",
        "lon": "degrees east in EPSG:4326, 94..142 in Indonesia, e.g. 106.74",
        "lat": "degrees north in EPSG:4326, -11.5..6.5 in Indonesia, e.g. -6.57",
        "stock_kg": "kg of rice the warehouse can ship, e.g. 100000",
        "capacity_kg": "the truck's payload in kg, e.g. 2000",
        "cost_per_km": "IDR per km, e.g. 5000",
        "cost_per_day": "IDR per day, e.g. 750000",
        "max_trips_per_day": "a whole number of trips, at least 1, or empty for no limit",
        "kpm": "a whole number of families, e.g. 50",
        "service_min": "minutes at the stop, e.g. 15, or empty for the scenario's stop_min",
        "kg_per_kpm": "kg per family, e.g. 15",
        "release": "an ISO date, e.g. 2020-09-01",
        "deadline": "an ISO date, e.g. 2020-09-30",
        "shift_start": "a time of day, e.g. 07:00",
        "shift_end": "a time of day, e.g. 17:00",
        "open": "a time of day, e.g. 08:00",
        "close": "a time of day, e.g. 15:00",
    }
)
"""What a right value of each column looks like, quoted in messages."""


# --------------------------------------------------------------------------------------------
# Small text helpers shared with the reader


def normalise_id(text: str) -> str:
    """Return the id as bsb compares it: no invisible characters, NFKC-folded, trimmed.

    Two ids that print the same are the same id: ``"P001\\u200b"`` (a zero-width space after
    it) is ``"P001"``, and a full-width ``Ｐ００１`` is ``P001``. Invisible characters go first
    (they could keep NFKC from folding what stands around them), then compatibility forms are
    folded, then surrounding blanks are trimmed.

    Parameters
    ----------
    text
        An id or a reference to one, as written in a table.

    Returns
    -------
    str
        The normalised id.
    """
    if text.isascii() and text.isprintable():
        return text.strip()  # the common case: NFKC leaves printable ASCII as it is
    visible = "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cf"))
    return unicodedata.normalize("NFKC", visible).strip()


def inside_indonesia(lon: float, lat: float) -> bool:
    """Return whether ``(lon, lat)`` lies in the box that holds Indonesia."""
    return (
        INDONESIA_LON_RANGE[0] <= lon <= INDONESIA_LON_RANGE[1]
        and INDONESIA_LAT_RANGE[0] <= lat <= INDONESIA_LAT_RANGE[1]
    )


def fmt_number(number: float) -> str:
    """Write a number for a message: whole numbers without ".0", others in full precision."""
    if isinstance(number, int) and abs(number) >= 10**15:
        # TOML integers have no size limit: a float would overflow, and thousands of digits
        # help nobody.
        return "an integer of more than 15 digits"
    value = float(number)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def quoted(text: str) -> str:
    """Quote a cell in a message, as ``repr`` does, cut when longer than a cell should be."""
    if len(text) <= _QUOTED_CHARS_MAX:
        return repr(text)
    return f"{text[:_QUOTED_CHARS_MAX]!r}... ({len(text)} characters)"


def format_time(seconds: int) -> str:
    """Write seconds after midnight as ``HH:MM``."""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


# --------------------------------------------------------------------------------------------
# Where a value came from


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object's values came from, so that a problem names the place to fix.

    Parameters
    ----------
    file
        The file (or table) to name.
    row
        The spreadsheet row (header = row 1) or the feature number of a vector file.
    feature
        A feature of a vector file: messages start with "feature N: " and duplicates say
        "feature", not "row".
    place_field
        The field a bad place is reported under (``"geometry"`` in vector files); by default
        ``lon``, ``lat`` or ``lon/lat``.
    place_note
        Said after a place, e.g. " after reprojecting from EPSG:32748 to EPSG:4326".
    reported
        Fields whose problem the source has reported (an unreadable cell, a missing column):
        they are not reported again, and the object is not built.
    problems
        The problems of those cells, if the builder is to report them (see ``reported``).
    """

    file: str
    row: int | None = None
    feature: bool = False
    place_field: str | None = None
    place_note: str = ""
    reported: frozenset[str] = frozenset()
    problems: tuple[Problem, ...] = ()
    """Problems the source found in this object's cells: reported with the builder's, in the
    order of the object's fields, so that a row's problems read from left to right."""


@dataclass(slots=True)
class _Pending:
    """One object as given, before it is checked."""

    kind: str
    values: dict[str, object]
    origin: Origin
    id: str | None = None
    """The id once folded by :func:`normalise_id`."""
    written: str = ""
    """The id as given, quoted when a duplicate differs from its first use only invisibly."""
    ok: bool = True
    found: list[Problem] = field(default_factory=list)
    """This object's problems, reported together once it is checked."""


@dataclass(frozen=True, slots=True)
class _FirstUse:
    row: int | None
    written: str


@dataclass(frozen=True, slots=True)
class _Kind:
    key: str
    label: str


_WAREHOUSES = _Kind("warehouses", "warehouse")
_TRUCKS = _Kind("trucks", "truck")
_DROP_POINTS = _Kind("drop_points", "drop point")
_TRANCHES = _Kind("tranches", "tranche")
_KINDS = (_WAREHOUSES, _TRUCKS, _DROP_POINTS, _TRANCHES)


@dataclass(slots=True)
class _Settings:
    name: str | None = None
    start_date: date | None = None
    sack_kg: float | None = DEFAULT_SACK_KG
    timezone: str = DEFAULT_TIMEZONE
    calendar: Calendar = field(default_factory=Calendar)
    travel: TravelSettings = field(default_factory=TravelSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    objective: ObjectiveSettings = field(default_factory=ObjectiveSettings)
    solver: SolverSettings = field(default_factory=SolverSettings)
    replan: ReplanSettings = field(default_factory=ReplanSettings)
    cost_per_km: float | None = DEFAULT_COST_PER_KM
    cost_per_day: float | None = DEFAULT_COST_PER_DAY
    origin: Origin = field(default_factory=lambda: Origin("scenario.toml"))
    files: dict[str, str] = field(default_factory=dict)
    boundaries_file: str | None = None
    roster_file: str | None = None
    papers: PaperSettings = field(default_factory=PaperSettings)
    given: bool = False
    bad: set[str] = field(default_factory=set)
    """Keys found bad, by the source (``origin.reported``) or by the builder."""

    def is_bad(self, key: str) -> bool:
        return key in self.bad or key in self.origin.reported


class ScenarioBuilder:
    """Collect a scenario's objects and settings, then check them all at once.

    Every ``add_*`` records the object as given; ``None`` for a required value means it is
    missing (a problem, unless its origin says it was reported already). By default nothing is
    checked until :meth:`check` or :meth:`build`, so objects and settings may come in any order.

    Parameters
    ----------
    problems
        Where problems go; the file reader passes its own so that the problems of reading and
        of checking come in one list (at most a thousand kept, the rest counted).
    check_as_added
        Check each object as it is added, and keep only what is built: the settings must come
        first, then the warehouses, trucks, drop points and tranches, in that order (as a
        reader of tables gives them). Problems then come row by row, and a table of millions
        of rows is never held twice.

    Raises
    ------
    ValueError
        From ``add_*`` with ``check_as_added``, when an object comes out of that order (a
        mistake in the caller, not in the input).
    """

    def __init__(
        self, *, problems: ProblemCollector | None = None, check_as_added: bool = False
    ) -> None:
        self._problems = ProblemCollector() if problems is None else problems
        self._check_as_added = check_as_added
        self._pending: list[_Pending] = []
        self._counts: dict[str, int] = {kind.key: 0 for kind in _KINDS}
        self._built: dict[str, list[object]] = {kind.key: [] for kind in _KINDS}
        self._first_use: dict[str, dict[str, _FirstUse]] = {kind.key: {} for kind in _KINDS}
        self._windows_pending: list[tuple[Tranche, Origin]] = []
        self._reported_tables: set[str] = set()
        self._unreferenced_tables: set[str] = set()
        self._settings = _Settings()
        self._last_kind = -1
        self._settings_checked = False
        self._checked_tables = False
        self._facilitators_given: list[tuple[object, object, object, Origin]] = []
        self._facilitators: list[Facilitator] = []
        self._facilitator_refs: list[tuple[str, Origin]] = []
        self._facilitators_reported = False
        self._facilitator_rows: dict[str, int | None] = {}

    # ----------------------------------------------------------------------------------------
    # Filling

    def set_settings(
        self,
        *,
        name: str | None,
        start_date: date | None,
        sack_kg: float | None = DEFAULT_SACK_KG,
        timezone: str = DEFAULT_TIMEZONE,
        calendar: Calendar | None = None,
        travel: TravelSettings | None = None,
        service: ServiceSettings | None = None,
        objective: ObjectiveSettings | None = None,
        solver: SolverSettings | None = None,
        replan: ReplanSettings | None = None,
        cost_per_km: float | None = DEFAULT_COST_PER_KM,
        cost_per_day: float | None = DEFAULT_COST_PER_DAY,
        origin: Origin | None = None,
        files: Mapping[str, str] | None = None,
        boundaries_file: str | None = None,
        roster_file: str | None = None,
        papers: PaperSettings | None = None,
    ) -> None:
        """Set the scenario's name, dates and settings.

        Parameters
        ----------
        name, start_date
            Required; ``None`` is a problem (unless reported already).
        sack_kg, timezone, calendar, travel, service, objective, solver, replan
            As in :class:`optimizer.model.Scenario`.
        cost_per_km, cost_per_day
            Costs of trucks whose own are not given (IDR).
        origin
            Where the settings came from (``scenario.toml`` by default); ``reported`` names
            the keys (e.g. ``"sack_kg"``) the source has already reported as bad.
        files
            The file that gave each key (``"calendar.shift_end"``), where it is not
            ``origin.file`` (a config overriding ``scenario.toml``): its problems name it.
        boundaries_file
            ``[files] boundaries``: village boundaries for the map, relative to the folder.
        roster_file
            ``[files] kpm``: the families' roster, relative to the folder (read on demand by
            :func:`geodata.roster_io.read_roster`, not here).
        papers
            ``[papers]``: how the field papers are printed.
        """
        if self._check_as_added and self._last_kind >= 0:
            raise ValueError("with check_as_added, set_settings must come before any object")
        self._settings_checked = False
        self._settings = _Settings(
            name=name,
            start_date=start_date,
            sack_kg=sack_kg,
            timezone=timezone,
            calendar=calendar or Calendar(),
            travel=travel or TravelSettings(),
            service=service or ServiceSettings(),
            objective=objective or ObjectiveSettings(),
            solver=solver or SolverSettings(),
            replan=replan or ReplanSettings(),
            cost_per_km=cost_per_km,
            cost_per_day=cost_per_day,
            origin=origin or Origin("scenario.toml"),
            files=dict(files or {}),
            boundaries_file=boundaries_file,
            roster_file=roster_file,
            papers=papers or PaperSettings(),
            given=True,
        )
        if self._check_as_added:
            self._check_settings()

    def add_warehouse(
        self,
        id: str | None,
        name: str | None,
        lon: float | None,
        lat: float | None,
        stock_kg: float | None,
        *,
        kabupaten: str = "",
        provinsi: str = "",
        origin: Origin | None = None,
    ) -> None:
        """Add a warehouse (see :class:`optimizer.model.Warehouse`)."""
        self._add(
            _WAREHOUSES,
            origin,
            {
                "id": id,
                "name": name,
                "lon": lon,
                "lat": lat,
                "stock_kg": stock_kg,
                "kabupaten": kabupaten,
                "provinsi": provinsi,
            },
        )

    def add_truck(
        self,
        id: str | None,
        warehouse_id: str | None,
        capacity_kg: float | None,
        *,
        shift_start_s: int | None = None,
        shift_end_s: int | None = None,
        cost_per_km: float | None = None,
        cost_per_day: float | None = None,
        max_trips_per_day: float | None = None,
        type: str = "",
        origin: Origin | None = None,
    ) -> None:
        """Add a truck (see :class:`optimizer.model.Truck`).

        A shift or a cost not given is the scenario's (``calendar`` shift, ``cost_per_km``,
        ``cost_per_day`` of :meth:`set_settings`); ``max_trips_per_day`` not given is no limit.
        """
        self._add(
            _TRUCKS,
            origin,
            {
                "id": id,
                "warehouse_id": warehouse_id,
                "capacity_kg": capacity_kg,
                "shift_start": shift_start_s,
                "shift_end": shift_end_s,
                "cost_per_km": cost_per_km,
                "cost_per_day": cost_per_day,
                "max_trips_per_day": max_trips_per_day,
                "type": type,
            },
        )

    def add_drop_point(
        self,
        id: str | None,
        name: str | None,
        lon: float | None,
        lat: float | None,
        kpm: float | None,
        *,
        desa: str = "",
        kecamatan: str = "",
        rt: str = "",
        rw: str = "",
        open_s: int | None = None,
        close_s: int | None = None,
        service_min: float | None = None,
        facilitator: str | None = None,
        kabupaten: str = "",
        provinsi: str = "",
        origin: Origin | None = None,
    ) -> None:
        """Add a drop point (see :class:`optimizer.model.DropPoint`).

        ``facilitator`` (empty or ``None``: none) must name a facilitator given with
        :meth:`add_facilitator`, before or after; it is checked by :meth:`check`.
        """
        self._add(
            _DROP_POINTS,
            origin,
            {
                "id": id,
                "name": name,
                "lon": lon,
                "lat": lat,
                "kpm": kpm,
                "desa": desa,
                "kecamatan": kecamatan,
                "rt": rt,
                "rw": rw,
                "open": open_s,
                "close": close_s,
                "service_min": service_min,
                "facilitator": facilitator,
                "kabupaten": kabupaten,
                "provinsi": provinsi,
            },
        )

    def add_facilitator(
        self,
        id: str | None,
        name: str | None,
        phone: str | None = "",
        *,
        origin: Origin | None = None,
    ) -> None:
        """Add a PKH facilitator (see :class:`optimizer.model.Facilitator`).

        Facilitators may come at any time, also with ``check_as_added``: they are checked
        by :meth:`check` (ids unique, a name, a phone of digits), as are the drop points'
        references to them. Problems never quote a name or a phone number, only row and field.
        """
        if origin is None:
            origin = Origin("facilitators", len(self._facilitators_given) + 2)
        self._facilitators_given.append((id, name, phone, origin))

    def add_tranche(
        self,
        id: str | None,
        name: str | None,
        kg_per_kpm: float | None,
        release: date | None,
        deadline: date | None,
        *,
        origin: Origin | None = None,
    ) -> None:
        """Add a tranche (see :class:`optimizer.model.Tranche`)."""
        self._add(
            _TRANCHES,
            origin,
            {
                "id": id,
                "name": name,
                "kg_per_kpm": kg_per_kpm,
                "release": release,
                "deadline": deadline,
            },
        )

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> ScenarioBuilder:
        """Return a builder holding every object and setting of ``scenario``, unchecked.

        Parameters
        ----------
        scenario
            Any scenario, e.g. one made in code or changed with ``dataclasses.replace``.

        Returns
        -------
        ScenarioBuilder
            Ready for :meth:`build` (or for more objects).
        """
        builder = cls()
        builder.set_settings(
            name=scenario.name,
            start_date=scenario.start_date,
            sack_kg=scenario.sack_kg,
            timezone=scenario.timezone,
            calendar=scenario.calendar,
            travel=scenario.travel,
            service=scenario.service,
            objective=scenario.objective,
            solver=scenario.solver,
            replan=scenario.replan,
            boundaries_file=scenario.boundaries_file,
            roster_file=scenario.roster_file,
            papers=scenario.papers,
        )
        for w in scenario.warehouses:
            builder.add_warehouse(
                w.id, w.name, w.lon, w.lat, w.stock_kg, kabupaten=w.kabupaten, provinsi=w.provinsi
            )
        for t in scenario.trucks:
            builder.add_truck(
                t.id,
                t.warehouse_id,
                t.capacity_kg,
                shift_start_s=t.shift_start_s,
                shift_end_s=t.shift_end_s,
                cost_per_km=t.cost_per_km,
                cost_per_day=t.cost_per_day,
                max_trips_per_day=t.max_trips_per_day,
                type=t.type,
            )
        for p in scenario.drop_points:
            builder.add_drop_point(
                p.id,
                p.name,
                p.lon,
                p.lat,
                p.kpm,
                desa=p.desa,
                kecamatan=p.kecamatan,
                rt=p.rt,
                rw=p.rw,
                open_s=p.open_s,
                close_s=p.close_s,
                service_min=p.service_min,
                facilitator=p.facilitator,
                kabupaten=p.kabupaten,
                provinsi=p.provinsi,
            )
        for f in scenario.facilitators:
            builder.add_facilitator(f.id, f.name, f.phone)
        for r in scenario.tranches:
            builder.add_tranche(r.id, r.name, r.kg_per_kpm, r.release, r.deadline)
        return builder

    def table_reported(self, key: str, *, keep_references: bool = False) -> None:
        """Say that a problem with table ``key`` (e.g. ``"warehouses"``) was reported already.

        Its absence of rows is then not reported again. References into it (a truck's
        ``warehouse_id``) are not checked either, as there is nothing sure to check them
        against, unless ``keep_references`` (a table read whole that has no rows).
        """
        self._reported_tables.add(key)
        if key == "facilitators":
            self._facilitators_reported = True
        if not keep_references:
            self._unreferenced_tables.add(key)

    def _add(self, kind: _Kind, origin: Origin | None, values: dict[str, object]) -> None:
        if origin is None:
            # As in the table geodata.scenario_writer would write: header in row 1.
            origin = Origin(kind.key, self._counts[kind.key] + 2)
        self._counts[kind.key] += 1
        item = _Pending(kind.key, values, origin)
        if not self._check_as_added:
            self._pending.append(item)
            return
        order = _KINDS.index(kind)
        if not self._settings.given or order < self._last_kind:
            raise ValueError(
                "with check_as_added, give the settings first, then warehouses, trucks, drop "
                f"points and tranches in that order; a {kind.label} came too late"
            )
        if not self._settings_checked:
            self._check_settings()
        self._last_kind = order
        self._check_item(kind, item)

    # ----------------------------------------------------------------------------------------
    # Checking

    def check(self) -> bool:
        """Check everything given so far; return whether no problem was found (ever).

        Problems go to the collector given to the builder; :meth:`build` raises them. Each
        object is checked once, however often this is called.
        """
        if not self._settings_checked:
            self._check_settings()
        if self._pending:
            pending, self._pending = self._pending, []
            for kind in _KINDS:
                for item in pending:
                    if item.kind == kind.key:
                        self._check_item(kind, item)
        if not self._checked_tables:
            self._checked_tables = True
            if self._settings.given:
                self._check_access_types()
            for kind in _KINDS:
                if not self._counts[kind.key] and kind.key not in self._reported_tables:
                    self._problems.append(
                        Problem(kind.key, f"has no data rows; add at least one {kind.label}")
                    )
        windows, self._windows_pending = self._windows_pending, []
        self._check_windows(windows)
        self._check_facilitators()
        return not self._problems

    def build(self) -> Scenario:
        """Check everything and return the scenario.

        Returns
        -------
        Scenario
            The frozen scenario; objects keep the order they were added in.

        Raises
        ------
        InputError
            Listing every problem found (with those the caller's reader found before).
        """
        if not self.check():
            raise self._problems.error()
        settings = self._settings
        # No problem means every required setting is there; the asserts only narrow types.
        assert settings.name is not None and settings.start_date is not None
        assert settings.sack_kg is not None
        built = self._built
        return Scenario(
            name=settings.name,
            start_date=settings.start_date,
            warehouses=tuple(built["warehouses"]),  # type: ignore[arg-type]
            trucks=tuple(built["trucks"]),  # type: ignore[arg-type]
            drop_points=tuple(built["drop_points"]),  # type: ignore[arg-type]
            tranches=tuple(built["tranches"]),  # type: ignore[arg-type]
            sack_kg=settings.sack_kg,
            timezone=settings.timezone,
            calendar=settings.calendar,
            travel=settings.travel,
            service=settings.service,
            objective=settings.objective,
            solver=settings.solver,
            boundaries_file=settings.boundaries_file,
            replan=settings.replan,
            facilitators=tuple(self._facilitators),
            roster_file=settings.roster_file,
            papers=settings.papers,
        )

    def _check_item(self, kind: _Kind, item: _Pending) -> None:
        self._check_id(kind, item)
        value: object | None
        if kind is _WAREHOUSES:
            value = self._warehouse(item)
        elif kind is _TRUCKS:
            known = (
                None
                if "warehouses" in self._unreferenced_tables
                else self._first_use["warehouses"].keys()
            )
            value = self._truck(item, known)
        elif kind is _DROP_POINTS:
            value = self._drop_point(item)
        else:
            value = self._tranche(item)
        if item.found or item.origin.problems:
            # A row's problems from left to right, the source's before the builder's.
            rank = {name: index for index, name in enumerate(item.values)}
            rank["lon/lat"] = rank["geometry"] = rank.get("lat", 0)
            for problem in sorted(
                (*item.origin.problems, *item.found), key=lambda p: rank.get(p.field or "", 0)
            ):
                self._problems.append(problem)
        if value is None or not item.ok:
            return
        self._built[kind.key].append(value)
        if isinstance(value, Tranche):
            self._windows_pending.append((value, item.origin))

    def _check_settings(self) -> None:
        self._settings_checked = True
        settings = self._settings
        origin = settings.origin
        reported = origin.reported

        def problem(key: str, message: str, *, file: str | None = None) -> None:
            file = file or settings.files.get(key, origin.file)
            self._problems.append(Problem(file, message, field=key))
            settings.bad.add(key)

        if not settings.given:
            problem("name", "no settings given: name and start_date are required")
            return
        if (settings.name is None or not settings.name.strip()) and "name" not in reported:
            problem("name", "'name' is missing; add e.g. name = \"Kabupaten Bogor, tranche 1\"")
        if settings.start_date is None and "start_date" not in reported:
            problem("start_date", "'start_date' is missing; add e.g. start_date = 2020-09-01")
        numbers: list[tuple[str, float | None]] = [
            ("sack_kg", settings.sack_kg),
            ("travel.speed_kmh", settings.travel.speed_kmh),
            ("travel.circuity", settings.travel.circuity),
            ("travel.max_snap_m", settings.travel.max_snap_m),
            ("travel.small_truck_max_kg", settings.travel.small_truck_max_kg),
            ("service.stop_min", settings.service.stop_min),
            ("service.per_100kg_min", settings.service.per_100kg_min),
            ("service.loading_min", settings.service.loading_min),
            ("costs.cost_per_km", settings.cost_per_km),
            ("costs.cost_per_day", settings.cost_per_day),
            ("objective.wait_cost_per_kpm_day", settings.objective.wait_cost_per_kpm_day),
            ("solver.time_limit_s", settings.solver.time_limit_s),
            ("solver.seed", settings.solver.seed),
            ("solver.solution_limit", settings.solver.solution_limit),
            ("replan.replacement_days", settings.replan.replacement_days),
            ("replan.move_cost_per_kpm_day", settings.replan.move_cost_per_kpm_day),
            ("replan.freeze_days", settings.replan.freeze_days),
        ]
        for key, value in numbers:
            if value is None or key in reported:
                continue
            message = out_of_bounds(value, NUMBER_BOUNDS[key])
            if message is not None:
                problem(key, f"{shown_value(value)} {message}")
        try:
            ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            if "timezone" not in reported:
                problem(
                    "timezone",
                    f"unknown time zone {settings.timezone!r}; expected a zoneinfo name such as "
                    "'Asia/Jakarta' (WIB), 'Asia/Makassar' (WITA) or 'Asia/Jayapura' (WIT)",
                )
        self._check_travel(problem)
        calendar = settings.calendar
        if not calendar.working_days and "calendar.working_days" not in reported:
            problem(
                "calendar.working_days",
                "expected a non-empty list of day names, e.g. "
                '["mon", "tue", "wed", "thu", "fri", "sat"]',
            )
        start_s, end_s = calendar.shift_start_s, calendar.shift_end_s
        shift_bad = not (0 <= start_s <= _DAY_S and 0 <= end_s <= _DAY_S) or end_s <= start_s
        if shift_bad and not reported & {"calendar.shift_start", "calendar.shift_end"}:
            settings.bad.add("calendar.shift_start")
            files = settings.files
            problem(
                "calendar.shift_end",
                f"shift_end {format_time(end_s)} is not after shift_start "
                f"{format_time(start_s)}; the default shift must end later the same day",
                file=files.get("calendar.shift_end") or files.get("calendar.shift_start"),
            )

    def _check_travel(self, problem: Callable[[str, str], None]) -> None:
        """Check the ``[travel]`` choices a scenario built in code can get wrong, as a file can."""
        travel = self._settings.travel
        reported = self._settings.origin.reported
        if travel.source not in TRAVEL_SOURCES and "travel.source" not in reported:
            problem(
                "travel.source",
                f"unknown travel source {quoted(travel.source)}; expected one of "
                f"{', '.join(TRAVEL_SOURCES)}",
            )
        for source, key, name in (
            ("osm", "travel.osm_file", travel.osm_file),
            ("matrix", "travel.matrix_file", travel.matrix_file),
        ):
            if travel.source == source and not name and key not in reported:
                problem(
                    key,
                    f"source = {quoted(source)} needs {key.split('.')[1]}, the file's name "
                    "relative to the scenario folder",
                )
        known_roads = {road for road, _ in DEFAULT_ROAD_SPEED_KMH}
        for road, speed_kmh in travel.road_speed_kmh:
            key = f"travel.speed_kmh.{road}"
            if key in reported:
                continue
            if road not in known_roads:
                problem(
                    key,
                    f"unknown road class {quoted(road)}; expected an OSM highway value among "
                    f"{', '.join(sorted(known_roads))}",
                )
            message = out_of_bounds(speed_kmh, ROAD_SPEED_BOUNDS)
            if message is not None:
                problem(key, f"{shown_value(speed_kmh)} {message}")
        for truck_type, access in travel.access:
            key = f"travel.access.{truck_type}"
            if access not in ACCESS_CLASSES and key not in reported:
                problem(
                    key,
                    f"unknown access class {quoted(access)}; expected one of "
                    f"{', '.join(ACCESS_CLASSES)}",
                )

    def _check_access_types(self) -> None:
        """Every truck type ``[travel.access]`` names is the type of some truck."""
        settings = self._settings
        types = {truck.type for truck in self._built["trucks"] if isinstance(truck, Truck)}
        if "trucks" in self._reported_tables:
            return  # the trucks table is broken: its types are not known
        for truck_type, _ in settings.travel.access:
            key = f"travel.access.{truck_type}"
            if truck_type in types or settings.is_bad(key):
                continue
            known = ", ".join(sorted(t for t in types if t)) or "none"
            self._problems.append(
                Problem(
                    settings.files.get(key, settings.origin.file),
                    f"no truck has type {quoted(truck_type)}{_close_match(truck_type, types)}; "
                    f"the trucks' types: {known}",
                    field=key,
                )
            )

    def _sack_kg(self) -> float | None:
        """Return the sack to check against, or None when it is unknown (reported elsewhere)."""
        settings = self._settings
        if settings.sack_kg is None or settings.is_bad("sack_kg"):
            return None
        return settings.sack_kg

    # Objects ----------------------------------------------------------------------------------

    def _problem(self, item: _Pending, field_name: str, message: str) -> None:
        origin = item.origin
        if origin.feature:
            message = f"feature {origin.row}: {message}"
        item.found.append(Problem(origin.file, message, row=origin.row, field=field_name))
        item.ok = False

    def _check_id(self, kind: _Kind, item: _Pending) -> None:
        written = item.values["id"]
        if not isinstance(written, str) or not written:
            return
        item.id = item_id = normalise_id(written)
        item.values["id"] = item_id
        if not item_id:
            return
        first_use = self._first_use[kind.key]
        this_use = _FirstUse(item.origin.row, written)
        first = first_use.setdefault(item_id, this_use)
        if first is this_use:
            return
        where = "feature" if item.origin.feature else "row"
        how = (
            ""
            if written == first.written
            else f"; {where} {first.row} has {quoted(first.written)} and {where} "
            f"{item.origin.row} {quoted(written)}, the same id once invisible characters are "
            "removed, compatibility forms folded (NFKC) and blanks trimmed"
        )
        self._problem(
            item,
            "id",
            f"duplicate id {quoted(item_id)} (first used in {where} {first.row}{how}); "
            f"each {kind.label} needs its own id",
        )

    def _required(self, item: _Pending, field_name: str) -> object | None:
        value = item.values[field_name]
        if value is None or value == "":
            if field_name in item.origin.reported:
                item.ok = False
            else:
                self._problem(
                    item,
                    field_name,
                    f"{field_name} is empty; expected {COLUMN_HINTS.get(field_name, 'a value')}",
                )
            return None
        return value

    def _number(self, item: _Pending, field_name: str, *, required: bool = False) -> float | None:
        value = self._required(item, field_name) if required else item.values[field_name]
        if field_name in item.origin.reported:
            item.ok = False
            return None
        if value is None:
            return None
        hint = COLUMN_HINTS.get(field_name, "a number")
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._problem(
                item, field_name, f"{field_name} {value!r} is not a number; expected {hint}"
            )
            return None
        number = float(value)
        if not math.isfinite(number):
            self._problem(
                item, field_name, f"{field_name} {number!r} is not a finite number; expected {hint}"
            )
            return None
        bounds = NUMBER_BOUNDS[f"{item.kind}.{field_name}"]
        low, high = bounds.low, bounds.high
        if number < low or (bounds.low_exclusive and number == low):
            bound = f"> {fmt_number(low)}" if bounds.low_exclusive else f">= {fmt_number(low)}"
            self._problem(
                item,
                field_name,
                f"{field_name} {fmt_number(number)} must be {bound}; expected {hint}",
            )
            return None
        if number > high:
            self._problem(
                item,
                field_name,
                f"{field_name} {fmt_number(number)} must be <= {fmt_number(high)} "
                f"({bounds.describe()}); expected {hint}",
            )
            return None
        if bounds.whole and not number.is_integer():
            self._problem(
                item,
                field_name,
                f"{field_name} {fmt_number(number)} is not a whole number; expected {hint}",
            )
            return None
        return number

    def _text(self, item: _Pending, field_name: str) -> str | None:
        value = self._required(item, field_name)
        if field_name in item.origin.reported:
            item.ok = False
        if value is None or isinstance(value, str):
            return value
        hint = COLUMN_HINTS.get(field_name, "a text")
        self._problem(item, field_name, f"{field_name} {value!r} is not a text; expected {hint}")
        return None

    def _seconds(self, item: _Pending, field_name: str) -> int | None:
        """Return a time of day in seconds after midnight, None when not given or bad."""
        value = item.values[field_name]
        if field_name in item.origin.reported:
            item.ok = False
            return None
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _DAY_S:
            self._problem(
                item,
                field_name,
                f"{field_name} {value!r} is not a time of day in whole seconds after midnight "
                "(0 to 86400)",
            )
            return None
        return value

    def _date(self, item: _Pending, field_name: str) -> date | None:
        value = self._required(item, field_name)
        if field_name in item.origin.reported:
            item.ok = False
        if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
            return value
        hint = COLUMN_HINTS.get(field_name, "a date")
        self._problem(item, field_name, f"{field_name} {value!r} is not a date; expected {hint}")
        return None

    def _place(self, item: _Pending) -> tuple[float, float] | None:
        origin = item.origin
        if origin.reported & {"lon", "lat"}:
            item.ok = False
            return None
        lon_value = (
            self._required(item, "lon") if origin.place_field is None else item.values["lon"]
        )
        lat_value = (
            self._required(item, "lat") if origin.place_field is None else item.values["lat"]
        )
        for name, value in (("lon", lon_value), ("lat", lat_value)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                self._problem(
                    item, name, f"{name} {value!r} is not a number; expected {COLUMN_HINTS[name]}"
                )
        if (
            not isinstance(lon_value, int | float)
            or not isinstance(lat_value, int | float)
            or isinstance(lon_value, bool)
            or isinstance(lat_value, bool)
        ):
            item.ok = False
            return None
        lon, lat = float(lon_value), float(lat_value)
        if origin.place_field is None:
            field_lon, field_lat, field_both = "lon", "lat", "lon/lat"
        else:
            field_lon = field_lat = field_both = origin.place_field
        after = origin.place_note
        if inside_indonesia(lon, lat):
            return lon, lat
        if inside_indonesia(lat, lon):
            self._problem(
                item,
                field_both,
                f"lon {fmt_number(lon)}, lat {fmt_number(lat)}{after} is outside Indonesia: "
                "latitude and longitude look swapped; lon should be "
                f"{fmt_number(lat)} and lat {fmt_number(lon)}",
            )
            return None
        lon_low, lon_high = INDONESIA_LON_RANGE
        lat_low, lat_high = INDONESIA_LAT_RANGE
        if not lon_low <= lon <= lon_high:
            self._problem(
                item,
                field_lon,
                f"longitude {fmt_number(lon)}{after} is outside Indonesia; expected "
                f"{fmt_number(lon_low)}..{fmt_number(lon_high)} degrees east",
            )
        if not lat_low <= lat <= lat_high:
            self._problem(
                item,
                field_lat,
                f"latitude {fmt_number(lat)}{after} is outside Indonesia; expected "
                f"{fmt_number(lat_low)}..{fmt_number(lat_high)} degrees north",
            )
        item.ok = False
        return None

    def _warehouse(self, item: _Pending) -> Warehouse | None:
        item_id = self._text(item, "id")
        name = self._text(item, "name")
        place = self._place(item)
        stock_kg = self._number(item, "stock_kg", required=True)
        if item_id is None or name is None or place is None or stock_kg is None:
            return None
        return Warehouse(
            item_id,
            name,
            place[0],
            place[1],
            stock_kg,
            str(item.values.get("kabupaten") or ""),
            str(item.values.get("provinsi") or ""),
        )

    def _truck(self, item: _Pending, known_warehouses: Collection[str] | None) -> Truck | None:
        settings = self._settings
        item_id = self._text(item, "id")
        reference = item.values["warehouse_id"]
        if isinstance(reference, str):
            item.values["warehouse_id"] = normalise_id(reference)
        warehouse_id = self._text(item, "warehouse_id")
        if (
            warehouse_id is not None
            and known_warehouses is not None
            and warehouse_id not in known_warehouses
        ):
            self._problem(
                item,
                "warehouse_id",
                f"unknown warehouse {quoted(warehouse_id)}"
                f"{_closest_ids(warehouse_id, known_warehouses)}",
            )
        capacity_kg = self._number(item, "capacity_kg", required=True)
        sack_kg = self._sack_kg()
        if capacity_kg is not None and sack_kg is not None and capacity_kg < sack_kg:
            self._problem(
                item,
                "capacity_kg",
                f"capacity_kg {fmt_number(capacity_kg)} is less than one {fmt_number(sack_kg)} "
                f"kg sack; expected at least {fmt_number(sack_kg)}",
            )
        start_given = self._seconds(item, "shift_start")
        end_given = self._seconds(item, "shift_end")
        # Not given: the scenario's shift; given but bad (reported): nothing to check.
        shift_start_s = _shift(item, start_given, "shift_start", settings)
        shift_end_s = _shift(item, end_given, "shift_end", settings)
        if shift_start_s is not None and shift_end_s is not None and shift_end_s <= shift_start_s:
            origin_note = (
                ""
                if start_given is not None and end_given is not None
                else " (empty cells use [calendar] of scenario.toml)"
            )
            self._problem(
                item,
                "shift_end",
                f"shift_end {format_time(shift_end_s)} is not after shift_start "
                f"{format_time(shift_start_s)}{origin_note}; the shift must end later the same day",
            )
        cost_per_km = _or(self._number(item, "cost_per_km"), settings.cost_per_km)
        cost_per_day = _or(self._number(item, "cost_per_day"), settings.cost_per_day)
        max_trips = self._number(item, "max_trips_per_day")
        truck_type = item.values["type"]
        if (
            item_id is None
            or warehouse_id is None
            or capacity_kg is None
            or shift_start_s is None
            or shift_end_s is None
            or cost_per_km is None
            or cost_per_day is None
        ):
            return None
        return Truck(
            item_id,
            warehouse_id,
            capacity_kg,
            shift_start_s,
            shift_end_s,
            cost_per_km,
            cost_per_day,
            None if max_trips is None else int(max_trips),
            truck_type if isinstance(truck_type, str) else "",
        )

    def _drop_point(self, item: _Pending) -> DropPoint | None:
        item_id = self._text(item, "id")
        name = self._text(item, "name")
        place = self._place(item)
        kpm = self._number(item, "kpm", required=True)
        values = item.values
        open_s = self._seconds(item, "open")
        close_s = self._seconds(item, "close")
        if open_s is not None and close_s is not None and close_s < open_s:
            self._problem(
                item,
                "close",
                f"close {format_time(close_s)} is before open {format_time(open_s)}; "
                "expected a closing time later the same day",
            )
        service_min = self._number(item, "service_min")
        facilitator = values["facilitator"]
        if "facilitator" in item.origin.reported:
            item.ok = False
            facilitator = None
        elif isinstance(facilitator, str) and normalise_id(facilitator):
            facilitator = normalise_id(facilitator)
            self._facilitator_refs.append((facilitator, item.origin))
        elif facilitator is not None and not isinstance(facilitator, str):
            self._problem(
                item, "facilitator", "facilitator is not a text; expected a facilitator's id"
            )
            facilitator = None
        else:
            facilitator = None
        if item_id is None or name is None or place is None or kpm is None:
            return None
        return DropPoint(
            item_id,
            name,
            place[0],
            place[1],
            int(kpm),
            str(values["desa"] or ""),
            str(values["kecamatan"] or ""),
            str(values["rt"] or ""),
            str(values["rw"] or ""),
            open_s,
            close_s,
            service_min,
            facilitator,
            str(values["kabupaten"] or ""),
            str(values["provinsi"] or ""),
        )

    def _check_facilitators(self) -> None:
        """Check the facilitators given since the last check, then every reference to them.

        A facilitator's name and phone are personal data: problems name row and field only.
        """
        given, self._facilitators_given = self._facilitators_given, []
        first_rows = dict(self._facilitator_rows)
        for id_value, name, phone, origin in given:
            found: list[Problem] = []

            def problem(
                field_name: str,
                message: str,
                origin: Origin = origin,
                found: list[Problem] = found,
            ) -> None:
                if field_name not in origin.reported:
                    found.append(Problem(origin.file, message, row=origin.row, field=field_name))

            item_id = normalise_id(id_value) if isinstance(id_value, str) else ""
            if not item_id:
                problem("id", "id is empty; expected a facilitator's id, e.g. F01")
            elif item_id in first_rows:
                first = first_rows[item_id]
                at = f" (first used in row {first})" if first is not None else ""
                problem(
                    "id",
                    f"duplicate id {quoted(item_id)}{at}; each facilitator needs its own id",
                )
            else:
                first_rows[item_id] = origin.row
            if not isinstance(name, str) or not name.strip():
                problem("name", "name is empty; expected the facilitator's full name")
            elif len(name) > MAX_FACILITATOR_NAME_CHARS:
                problem(
                    "name",
                    f"name is {len(name)} characters long; expected at most "
                    f"{MAX_FACILITATOR_NAME_CHARS}",
                )
            phone_text = phone if isinstance(phone, str) else ""
            if phone is not None and not isinstance(phone, str):
                problem("phone", "phone is not a text; expected e.g. 0812-3456-7890")
            elif len(phone_text) > MAX_PHONE_CHARS:
                problem(
                    "phone",
                    f"phone is {len(phone_text)} characters long; expected at most "
                    f"{MAX_PHONE_CHARS}",
                )
            elif phone_text.strip() and (
                not set(phone_text) <= _PHONE_CHARS or not any(c.isdigit() for c in phone_text)
            ):
                problem(
                    "phone",
                    "phone holds characters other than digits, spaces and + - ( ) . /; "
                    "expected e.g. 0812-3456-7890",
                )
            for p in found:
                self._problems.append(p)
            if found or origin.reported & {"id", "name", "phone"}:
                continue
            assert isinstance(name, str)
            self._facilitators.append(Facilitator(item_id, name.strip(), phone_text.strip()))
            self._facilitator_rows[item_id] = origin.row
        refs, self._facilitator_refs = self._facilitator_refs, []
        if self._facilitators_reported:
            return  # the table is broken: references cannot be checked against it
        known = {f.id for f in self._facilitators}
        for reference, origin in refs:
            if reference in known:
                continue
            hint = _closest_facilitator(reference, known)
            self._problems.append(
                Problem(
                    origin.file,
                    f"unknown facilitator {quoted(reference)}{hint}",
                    row=origin.row,
                    field="facilitator",
                )
            )

    def _tranche(self, item: _Pending) -> Tranche | None:
        item_id = self._text(item, "id")
        name = self._text(item, "name")
        kg_per_kpm = self._number(item, "kg_per_kpm", required=True)
        sack_kg = self._sack_kg()
        if kg_per_kpm is not None and sack_kg is not None:
            # A family's ration is handed over in whole sacks: a ration of 1.5 sacks would split
            # a sack, and every delivery must be a whole number of rations and of sacks.
            sacks = kg_per_kpm / sack_kg
            if abs(sacks - round(sacks)) > SACK_TOLERANCE:
                lower = math.floor(sacks)
                nearest = [n * sack_kg for n in (lower, lower + 1) if n >= 1]
                self._problem(
                    item,
                    "kg_per_kpm",
                    f"kg_per_kpm {fmt_number(kg_per_kpm)} is not a whole number of "
                    f"{fmt_number(sack_kg)} kg sacks ({fmt_number(round(sacks, 4))} sacks): a "
                    "family's ration is handed over in whole sacks; expected a multiple of "
                    f"sack_kg {fmt_number(sack_kg)}, e.g. "
                    + " or ".join(fmt_number(kg) for kg in nearest),
                )
        release = self._date(item, "release")
        deadline = self._date(item, "deadline")
        if release is not None and deadline is not None and deadline < release:
            self._problem(
                item,
                "deadline",
                f"deadline {deadline.isoformat()} is before release {release.isoformat()}; "
                "expected a deadline on or after the release date",
            )
        if (
            item_id is None
            or name is None
            or kg_per_kpm is None
            or not isinstance(release, date)
            or not isinstance(deadline, date)
        ):
            item.ok = False
            return None
        return Tranche(item_id, name, kg_per_kpm, release, deadline)

    def _check_windows(self, tranches: Sequence[tuple[Tranche, Origin]]) -> None:
        """Report every tranche whose window (from release or start_date) has no working day."""
        settings = self._settings
        calendar = settings.calendar
        start_date = settings.start_date
        for tranche, origin in tranches:
            first = tranche.release
            opening = f"release {_fmt_day(tranche.release)}"
            if start_date is not None and start_date > tranche.release:
                first = start_date
                opening = (
                    f"the scenario's start_date {_fmt_day(start_date)} (release "
                    f"{tranche.release.isoformat()} is earlier)"
                )
            # A plan of centuries is a typing error; it would also have the calendar walk every
            # day of it here, and the planner plan every day of it.
            start = first if start_date is None else start_date
            span = "release" if start_date is None else "the scenario's start_date"
            if (tranche.deadline - start).days > MAX_PLAN_DAYS:
                message = (
                    f"deadline {tranche.deadline.isoformat()} is "
                    f"{(tranche.deadline - start).days} days after {span} {start.isoformat()}; "
                    f"every deadline must lie within {MAX_PLAN_DAYS} days of it: check the year"
                )
            elif first > tranche.deadline:
                message = (
                    f"deadline {_fmt_day(tranche.deadline)} is before the scenario's start_date "
                    f"{_fmt_day(first)}: no day is left to deliver tranche {tranche.id!r}; "
                    f"expected a deadline on or after {first.isoformat()}"
                )
            elif calendar.working_days_between(first, tranche.deadline):
                continue
            else:
                message = (
                    f"no working day from {opening} to deadline {_fmt_day(tranche.deadline)}: "
                    f"{_non_working_reasons(calendar, first, tranche.deadline)}; expected a "
                    "window holding at least one working day"
                    f"{_next_working_day_hint(calendar, tranche)}"
                )
            # Not through _problem: a window problem names no feature, and the tranche stays.
            self._problems.append(
                Problem(origin.file, message, row=origin.row, field="release/deadline")
            )


def check_scenario(scenario: Scenario) -> Scenario:
    """Check a scenario built in code, as if it had been read from files.

    Parameters
    ----------
    scenario
        Any scenario.

    Returns
    -------
    Scenario
        An equal scenario, built by a :class:`ScenarioBuilder`.

    Raises
    ------
    InputError
        Listing every problem (rows as in the tables ``geodata.scenario_writer`` would write).
    """
    return ScenarioBuilder.from_scenario(scenario).build()


# --------------------------------------------------------------------------------------------
# Helpers of the checks


def _or(value: float | None, default: float | None) -> float | None:
    return default if value is None else value


def _shift(item: _Pending, given: int | None, field_name: str, settings: _Settings) -> int | None:
    """Return a truck's shift end: its own, the calendar's when not given, None if unknown."""
    if given is not None:
        return given
    if item.values[field_name] is not None or field_name in item.origin.reported:
        return None  # given but bad, and reported
    if settings.is_bad(f"calendar.{field_name}"):
        return None  # the scenario's default is bad (reported there): nothing to check
    calendar = settings.calendar
    return calendar.shift_start_s if field_name == "shift_start" else calendar.shift_end_s


def out_of_bounds(value: float, bounds: NumberBounds) -> str | None:
    """Say why a setting is outside ``bounds``, or return None when it is inside.

    Compared before any conversion: a 400-digit TOML integer does not fit a float.

    Parameters
    ----------
    value
        The setting's number.
    bounds
        Its range, from :data:`NUMBER_BOUNDS`.

    Returns
    -------
    str or None
        E.g. ``is out of range; it must be <= 150 (a number > 0 and <= 150)``.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return f"is not a number; expected {bounds.describe()}"
    too_low = value < bounds.low or (bounds.low_exclusive and value == bounds.low)
    if too_low or value > bounds.high:
        limit = (
            (
                f"> {fmt_number(bounds.low)}"
                if bounds.low_exclusive
                else f">= {fmt_number(bounds.low)}"
            )
            if too_low
            else f"<= {fmt_number(bounds.high)}"
        )
        return f"is out of range; it must be {limit} ({bounds.describe()})"
    if bounds.whole and not float(value).is_integer():
        return f"is not a whole number; expected {bounds.describe()}"
    return None


def shown_value(value: object) -> str:
    """Quote a setting in a message, cutting what is too long to read (a 400-digit number)."""
    text = (
        fmt_number(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else None
    )
    if text is None:
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _close_match(name: str, known: Collection[str]) -> str:
    match = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _closest_facilitator(item_id: str, known: Collection[str]) -> str:
    if not known:
        return "; the scenario has no facilitators (add [files] facilitators)"
    if len(known) <= _SUGGESTED_FROM_MAX:
        match = difflib.get_close_matches(item_id, sorted(known), n=1, cutoff=0.6)
        if match:
            return f"; did you mean {match[0]!r}?"
    return "; expected the id of a facilitator in the facilitators table"


def _closest_ids(item_id: str, known: Collection[str]) -> str:
    if not known:
        return "; the warehouses table has no ids"
    if len(known) > _SUGGESTED_FROM_MAX:
        # difflib compares with every id: for each bad row of a huge table that is no hint.
        return "; expected the id of a warehouse in the warehouses table"
    match = difflib.get_close_matches(item_id, sorted(known), n=1, cutoff=0.6)
    if match:
        return f"; did you mean {match[0]!r}?"
    listed = sorted(known)
    shown = ", ".join(repr(i) for i in listed[:10]) + (", ..." if len(listed) > 10 else "")
    return f"; expected one of the warehouse ids: {shown}"


def _fmt_day(day: date) -> str:
    # Named here rather than by strftime("%A"), which follows the process locale.
    return f"{day.isoformat()} ({_WEEKDAY_FULL_NAMES[day.weekday()]})"


def _non_working_reasons(calendar: Calendar, first: date, last: date) -> str:
    """Say why each day from ``first`` to ``last`` is not a working day."""
    weekend: list[date] = []
    holidays: list[date] = []
    day = first
    while day <= last:
        (holidays if day in calendar.holidays else weekend).append(day)
        day += timedelta(days=1)
    working = ", ".join(WEEKDAY_NAMES[d] for d in sorted(calendar.working_days))
    reasons = []
    if weekend:
        verb = "is not a working day" if len(weekend) == 1 else "are not working days"
        reasons.append(f"{_listed_days(weekend)} {verb} ([calendar] working_days = {working})")
    if holidays:
        verb = "is a holiday" if len(holidays) == 1 else "are holidays"
        reasons.append(f"{_listed_days(holidays)} {verb} ([calendar] holidays)")
    return "; ".join(reasons)


def _listed_days(days: Sequence[date]) -> str:
    shown = ", ".join(_fmt_day(d) for d in days[:_LISTED_DAYS_MAX])
    return shown + (", ..." if len(days) > _LISTED_DAYS_MAX else "")


def _next_working_day_hint(calendar: Calendar, tranche: Tranche) -> str:
    day = tranche.deadline
    for _ in range(_NEXT_WORKING_DAY_SEARCH_DAYS):
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            return f", e.g. deadline {_fmt_day(day)}"
    return ""
