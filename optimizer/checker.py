"""Independent feasibility checker for ``plan.json``.

The checker reads the raw ``plan.json`` dict (the structure written by
``optimizer.solution.plan_to_dict``) and checks it against a :class:`~optimizer.model.Scenario`.
It returns *every* violation it finds; an empty list means the plan is feasible. Malformed plan
data (missing keys, bad time strings, unknown ids) are violations too, never exceptions.

It is deliberately independent of the planner: it imports neither OR-Tools nor any solver or
plan module, and re-implements the haversine distance, the working-day test and the service-time
formula, so that a bug shared by planner and model helpers cannot hide.

Travel: with ``[travel] source = "straight"`` every leg is haversine km x circuity at the
scenario's speed, recomputed here. With roads (``osm`` or ``matrix``) a leg's km and seconds
are those of the plan folder's ``travel/legs.csv`` (``legs`` of :func:`check_plan`), looked up
by the two places' ids and the truck's access class (``scenario.travel.truck_access``; a leg of
access ``all`` serves every class). A leg it does not hold cannot be driven by that truck:
rule ``leg``. The checker reads that file itself (:func:`read_legs_file`).

Tolerances: 1 second for times (the planner rounds durations up to whole seconds), 1e-6 kg for
masses, 0.001 km plus 1e-6 relative for a trip's distance (``plan.json`` rounds it to 3
decimals).

Rule codes of :class:`Violation` (the members of :class:`Rule`; :data:`RULES` is their set):

``format``
    A missing field, a value of the wrong type, a plan that is not an object.
``time_format``
    A date or time that is not ``YYYY-MM-DD`` / ``YYYY-MM-DDTHH:MM:SS``.
``unknown_truck``, ``unknown_warehouse``, ``unknown_drop_point``, ``unknown_tranche``
    An id that the scenario does not define.
``warehouse``
    A trip's warehouse is not its truck's warehouse.
``empty_trip``
    A trip without stops.
``working_day``, ``holiday``, ``start_date``
    A trip on a non-working weekday, on a holiday, or before the scenario's start date.
``tranche_window``
    A trip delivers a tranche outside the tranche's release..deadline dates.
``route_date``
    A trip's ``date`` is not the date of its ``depart``.
``shift_start``
    A truck's first trip of a day departs before shift start + loading time.
``trip_overlap``
    A later trip departs before the previous trip's return + loading time.
``shift_end``
    A trip returns after its truck's shift end on the trip's date.
``trip_numbering``
    A truck's trips of one date are not numbered 1, 2, ... in departure order (in a re-plan,
    not increasing: a trip kept after a cancelled one keeps its number).
``max_trips``
    More trips in a day than the truck's ``max_trips_per_day``.
``duplicate_stop``
    The same (drop point, tranche) twice in one trip.
``kg``, ``sacks``
    A non-positive mass, or sacks x sack size that is not the mass.
``leg_time``
    An arrival (or the return) sooner than the driving time from the previous place allows.
``leg``
    A trip drives a leg the plan's travel legs do not hold for the truck's access class (no
    road that truck may use connects the places), or a plan on roads comes without its legs.
``time_window``
    Unloading starts outside the drop point's opening hours.
``service_time``
    A stop departs before its unloading time has passed.
``distance``
    A trip's ``distance_km`` is not the sum of its legs.
``load``
    A trip's ``load_kg`` is not the sum of its stops' kg.
``capacity``
    A trip carries more than its truck's capacity.
``stock``
    A warehouse ships more than its stock over the plan.
``ration``
    A stop or unassigned entry whose kg is not a whole number of the tranche's rations: a
    family's rice is delivered whole or not at all.
``stock_reason``
    An unassigned entry says ``stock`` while a warehouse that can reach the point still has a
    family's ration left.
``conservation``
    Delivered + unassigned kg differ from the demand of a (drop point, tranche).
``duplicate_unassigned``
    The same (drop point, tranche) twice in ``unassigned``.
``reason_code``, ``reason``
    An unknown reason code, or an empty reason sentence.
``kpis``
    A KPI that does not match the routes and unassigned entries.
``file``
    A plan file that cannot be read or is not JSON (:func:`check_plan_file` only).

A re-plan (a plan with a ``replan`` object, see ``docs/replan.md``) is checked against the
progress it records and, when given, its previous ``plan.json``; ``stock``, ``stock_reason``
and ``conservation`` give way to the rules below, and replacement stops (``kind`` =
``replacement``, whole sacks of refused rice) are exempt from ``ration`` and
``tranche_window``. Loads are followed stop by stop: a stop's ``pickup_kg`` comes back on
board (rule ``capacity``).

``history``
    A trip dated before ``as_of`` that is not exactly the previous plan's, or not ``done``.
``frozen``
    A trip of the frozen days changed or dropped without a cancellation, or not ``frozen``.
``cancelled``
    A frozen trip cancelled for a reason that does not hold (truck not unavailable, no point
    closed that day).
``replan_start``
    A new trip before the first day the re-plan may plan.
``truck_unavailable``, ``point_closed``
    A trip from ``as_of`` on uses a truck on a day it is unavailable, or visits a point on a
    day it is closed.
``replacement``
    Rejected rice not replaced (whole sacks, same point and tranche) by its due working day,
    with no unassigned entry for the point and tranche.
``replan_conservation``
    Families received + on frozen trips + on planned trips + unassigned differ from the
    point's families (receipts and frozen trips beyond them leave nothing to plan).
``replan_stock``
    A warehouse ships more over the campaign than its stock plus its stock changes.
``previous_plan``
    The previous ``plan.json`` given is not the one the re-plan records (sha256).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

from optimizer.model import DropPoint, Scenario, Tranche, Truck, Warehouse


class Rule(StrEnum):
    """Every rule code a :class:`Violation` can carry (listed in the module docstring)."""

    FORMAT = "format"
    TIME_FORMAT = "time_format"
    UNKNOWN_TRUCK = "unknown_truck"
    UNKNOWN_WAREHOUSE = "unknown_warehouse"
    UNKNOWN_DROP_POINT = "unknown_drop_point"
    UNKNOWN_TRANCHE = "unknown_tranche"
    WAREHOUSE = "warehouse"
    EMPTY_TRIP = "empty_trip"
    WORKING_DAY = "working_day"
    HOLIDAY = "holiday"
    START_DATE = "start_date"
    TRANCHE_WINDOW = "tranche_window"
    ROUTE_DATE = "route_date"
    SHIFT_START = "shift_start"
    TRIP_OVERLAP = "trip_overlap"
    SHIFT_END = "shift_end"
    TRIP_NUMBERING = "trip_numbering"
    MAX_TRIPS = "max_trips"
    DUPLICATE_STOP = "duplicate_stop"
    KG = "kg"
    SACKS = "sacks"
    LEG_TIME = "leg_time"
    LEG = "leg"
    TIME_WINDOW = "time_window"
    SERVICE_TIME = "service_time"
    DISTANCE = "distance"
    LOAD = "load"
    CAPACITY = "capacity"
    STOCK = "stock"
    RATION = "ration"
    STOCK_REASON = "stock_reason"
    CONSERVATION = "conservation"
    DUPLICATE_UNASSIGNED = "duplicate_unassigned"
    REASON_CODE = "reason_code"
    REASON = "reason"
    KPIS = "kpis"
    FILE = "file"
    HISTORY = "history"
    FROZEN = "frozen"
    CANCELLED = "cancelled"
    REPLAN_START = "replan_start"
    TRUCK_UNAVAILABLE = "truck_unavailable"
    POINT_CLOSED = "point_closed"
    REPLACEMENT = "replacement"
    REPLAN_CONSERVATION = "replan_conservation"
    REPLAN_STOCK = "replan_stock"
    PREVIOUS_PLAN = "previous_plan"


RULES: Final = frozenset(Rule)
"""Every rule code, as a set (of :class:`Rule`, which compare equal to their strings)."""

REASON_CODES = frozenset(
    {
        "stock",
        "deadline",
        "capacity",
        "shift",
        "time_window",
        "fleet_time",
        "solver",
        "no_road",
        "closed",
    }
)
"""Valid ``reason_code`` values of unassigned entries (kept apart from the plan module)."""

STOP_KINDS = frozenset({"delivery", "replacement"})
"""Valid ``kind`` values of stops."""

# Own copy of the constant: the checker must not share a value with the code it checks.
_EARTH_RADIUS_KM = 6371.0088
_TIME_TOL_S = 1.0
_KG_TOL = 1e-6
# Relative slack for kg sums over a whole plan: float sums of ~1e8 kg lose ~1e-8 kg.
_KG_REL_TOL = 1e-9
_DISTANCE_TOL_KM = 0.001
_DISTANCE_REL_TOL = 1e-6
_KPI_DISTANCE_TOL_KM = 0.01
# plan.json rounds each trip's distance to 3 decimals: up to 0.0005 km lost per trip.
_ROUTE_DISTANCE_ROUNDING_KM = 0.0005
_KPI_MONEY_TOL = 0.01
_KPI_DAYS_TOL = 0.01
_SECONDS_PER_DAY = 86_400
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    ``rule`` is a :class:`Rule`; ``message`` is a sentence naming the truck,
    date, trip, drop point and the numbers. ``route_index`` and ``stop_index`` are 0-based
    positions in ``plan["routes"]`` and that route's ``stops`` when the violation belongs to
    one.
    """

    rule: Rule
    message: str
    route_index: int | None = None
    stop_index: int | None = None


# --------------------------------------------------------------------------------------------
# Independent re-implementations of the model's formulas.


def _haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlmb = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlmb) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _road_km(scenario: Scenario, start: tuple[float, float], end: tuple[float, float]) -> float:
    return _haversine_km(start[0], start[1], end[0], end[1]) * scenario.travel.circuity


def _drive_s(scenario: Scenario, road_km: float) -> float:
    return road_km / scenario.travel.speed_kmh * 3600.0


Legs = Mapping[tuple[str, str, str], tuple[float, float]]
"""``(from id, to id, access) -> (road km, driving seconds)``: a plan's ``travel/legs.csv``."""

LEGS_COLUMNS: Final = ("from", "to", "access", "distance_km", "duration_s")
_ONE_CLASS = "all"
_ACCESS_TRIED = ("big", "small")


@dataclass(frozen=True)
class _Place:
    id: str
    lon: float
    lat: float


@dataclass(frozen=True)
class _Travel:
    """Leg km and seconds: recomputed on the straight line, or looked up in the plan's legs."""

    scenario: Scenario
    legs: Legs | None
    """``None``: the straight line. Empty and ``known`` false: a road plan without its legs."""
    known: bool = True

    def leg(self, start: _Place, end: _Place, truck: Truck | None) -> tuple[float, float] | None:
        """Road km and seconds from ``start`` to ``end`` for ``truck``; ``None``: no such leg."""
        if self.legs is None:
            km = _road_km(self.scenario, (start.lon, start.lat), (end.lon, end.lat))
            return km, _drive_s(self.scenario, km)
        if truck is not None:
            classes: tuple[str, ...] = (self.scenario.travel.truck_access(truck), _ONE_CLASS)
        else:
            classes = (_ONE_CLASS, *_ACCESS_TRIED)  # the unknown truck is reported already
        for access in classes:
            found = self.legs.get((start.id, end.id, access))
            if found is not None:
                return found
        return None

    def access_of(self, truck: Truck | None) -> str:
        return "?" if truck is None else self.scenario.travel.truck_access(truck)


def _service_s(scenario: Scenario, point: DropPoint, kg: float) -> float:
    base_min = point.service_min if point.service_min is not None else scenario.service.stop_min
    return (base_min + scenario.service.per_100kg_min * kg / 100.0) * 60.0


def _is_holiday(scenario: Scenario, day: date) -> bool:
    return day in scenario.calendar.holidays


def _is_working_weekday(scenario: Scenario, day: date) -> bool:
    return day.weekday() in scenario.calendar.working_days


# --------------------------------------------------------------------------------------------
# Formatting for messages.


def _kg(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _clock(seconds_after_midnight: float) -> str:
    whole = math.floor(seconds_after_midnight + 1e-9)
    days, rest = divmod(whole, _SECONDS_PER_DAY)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    if days:
        text += f" ({days:+d} day{'s' if abs(days) != 1 else ''})"
    return text


def _show(value: Any) -> str:
    """Show a value as found in the plan, quoted if a string, cut short if long."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _name(value: Any) -> str:
    """Show an id as it reads in a sentence: unquoted if a short string."""
    return value if isinstance(value, str) and len(value) <= 40 else _show(value)


def _seconds(later: datetime, earlier: datetime) -> float:
    # Differences never overflow, unlike adding a timedelta to a date near year 9999.
    return (later - earlier).total_seconds()


def _seconds_of_day(moment: datetime, day: date) -> float:
    return _seconds(moment, datetime.combine(day, time()))


def _close(a: float, b: float, abs_tol: float, rel_tol: float) -> bool:
    return abs(a - b) <= abs_tol + rel_tol * max(abs(a), abs(b))


def _kg_equal(a: float, b: float) -> bool:
    return _close(a, b, _KG_TOL, _KG_REL_TOL)


# --------------------------------------------------------------------------------------------
# Parsing the raw dict into typed records; every defect becomes a violation.


@dataclass
class _Collector:
    violations: list[Violation] = field(default_factory=list)

    def add(
        self,
        rule: Rule,
        message: str,
        route_index: int | None = None,
        stop_index: int | None = None,
    ) -> None:
        self.violations.append(Violation(rule, message, route_index, stop_index))


@dataclass(frozen=True)
class _Index:
    warehouses: dict[str, Warehouse]
    trucks: dict[str, Truck]
    drop_points: dict[str, DropPoint]
    tranches: dict[str, Tranche]

    @classmethod
    def of(cls, scenario: Scenario) -> _Index:
        return cls(
            warehouses={w.id: w for w in scenario.warehouses},
            trucks={t.id: t for t in scenario.trucks},
            drop_points={p.id: p for p in scenario.drop_points},
            tranches={t.id: t for t in scenario.tranches},
        )


@dataclass(frozen=True)
class _Reader:
    """Reads typed fields of one JSON object, reporting each defect once."""

    out: _Collector
    where: str
    route_index: int | None = None
    stop_index: int | None = None

    def add(self, rule: Rule, message: str) -> None:
        self.out.add(rule, message, self.route_index, self.stop_index)

    def raw(self, data: Mapping[str, Any], key: str) -> tuple[bool, Any]:
        if key not in data:
            self.add(Rule.FORMAT, f"{self.where}: the field '{key}' is missing.")
            return False, None
        return True, data[key]

    def text(self, data: Mapping[str, Any], key: str) -> str | None:
        found, value = self.raw(data, key)
        if not found:
            return None
        if not isinstance(value, str):
            self.add(Rule.FORMAT, f"{self.where}: '{key}' is {_show(value)}, not a string.")
            return None
        return value

    def number(self, data: Mapping[str, Any], key: str) -> float | None:
        found, value = self.raw(data, key)
        if not found:
            return None
        number = _as_number(value)
        if number is None:
            self.add(Rule.FORMAT, f"{self.where}: '{key}' is {_show(value)}, not a finite number.")
        return number

    def integer(self, data: Mapping[str, Any], key: str) -> int | None:
        found, value = self.raw(data, key)
        if not found:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(Rule.FORMAT, f"{self.where}: '{key}' is {_show(value)}, not an integer.")
            return None
        return value

    def moment(self, data: Mapping[str, Any], key: str) -> datetime | None:
        found, value = self.raw(data, key)
        if not found:
            return None
        parsed = _parse_time(value)
        if parsed is None:
            self.add(
                Rule.TIME_FORMAT,
                f"{self.where}: '{key}' is {_show(value)}, not a time YYYY-MM-DDTHH:MM:SS.",
            )
        return parsed

    def day(self, data: Mapping[str, Any], key: str) -> date | None:
        found, value = self.raw(data, key)
        if not found:
            return None
        parsed = _parse_date(value)
        if parsed is None:
            self.add(
                Rule.TIME_FORMAT, f"{self.where}: '{key}' is {_show(value)}, not a date YYYY-MM-DD."
            )
        return parsed


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _text_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
        return None
    try:
        # The pattern already fixed the layout; fromisoformat reads it many times faster.
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray):
        return list(value)
    return None


@dataclass(frozen=True)
class _Stop:
    index: int
    label: str
    point: DropPoint | None
    tranche: Tranche | None
    kg: float | None
    sacks: int | None
    arrive: datetime | None
    depart: datetime | None
    kind: str = "delivery"
    """``delivery`` or ``replacement`` (a re-plan's replacement of rejected rice)."""
    pickup_kg: float = 0.0
    """Rejected rice taken back on board at the stop."""


@dataclass(frozen=True)
class _Route:
    index: int
    label: str
    truck_id: str | None
    truck: Truck | None
    warehouse: Warehouse | None
    """The warehouse the trip loads at: the declared one if known, else the truck's."""
    day: date | None
    trip: int | None
    depart: datetime | None
    return_: datetime | None
    distance_km: float | None
    load_kg: float | None
    stops: tuple[_Stop, ...]
    stops_complete: bool
    """Whether ``stops`` is a list whose every entry is an object."""

    def stops_kg(self) -> float:
        return math.fsum(s.kg for s in self.stops if s.kg is not None)

    def kg_complete(self) -> bool:
        """Whether the trip's load is known: every stop read, each with a numeric kg."""
        return self.stops_complete and all(s.kg is not None for s in self.stops)


@dataclass(frozen=True)
class _Unassigned:
    index: int
    label: str
    point: DropPoint | None
    tranche: Tranche | None
    kg: float | None
    reason_code: str | None = None
    kind: str = "delivery"
    """``replacement`` for replacement rice of a re-plan not delivered (whole sacks)."""


def _read_stop(
    raw: Any, route_label: str, route_index: int, stop_index: int, index: _Index, out: _Collector
) -> _Stop | None:
    if not isinstance(raw, Mapping):
        out.add(
            Rule.FORMAT,
            f"{route_label}, stop {stop_index + 1}: is {_show(raw)}, not an object.",
            route_index,
            stop_index,
        )
        return None
    label = (
        f"{route_label}, stop {stop_index + 1} (drop point {_name(raw.get('drop_point', '?'))}, "
        f"tranche {_name(raw.get('tranche', '?'))})"
    )
    read = _Reader(out, label, route_index, stop_index)
    point_id = read.text(raw, "drop_point")
    point = index.drop_points.get(point_id) if point_id is not None else None
    if point_id is not None and point is None:
        read.add(Rule.UNKNOWN_DROP_POINT, f"{label}: the scenario has no drop point '{point_id}'.")
    tranche_id = read.text(raw, "tranche")
    tranche = index.tranches.get(tranche_id) if tranche_id is not None else None
    if tranche_id is not None and tranche is None:
        read.add(Rule.UNKNOWN_TRANCHE, f"{label}: the scenario has no tranche '{tranche_id}'.")
    # kind and pickup_kg came with re-plans; a plan.json written before them has neither.
    kind = raw.get("kind", "delivery")
    if kind not in STOP_KINDS:
        read.add(Rule.FORMAT, f"{label}: kind is {_show(kind)}, not one of {sorted(STOP_KINDS)}.")
        kind = "delivery"
    pickup_kg = read.number(raw, "pickup_kg") if "pickup_kg" in raw else 0.0
    if pickup_kg is not None and pickup_kg < 0:
        read.add(Rule.KG, f"{label}: pickup_kg is {_kg(pickup_kg)}, but it cannot be negative.")
    if pickup_kg and kind != "replacement":
        read.add(Rule.FORMAT, f"{label}: only a replacement stop picks rice up.")
    return _Stop(
        index=stop_index,
        label=label,
        point=point,
        tranche=tranche,
        kg=read.number(raw, "kg"),
        sacks=read.integer(raw, "sacks"),
        arrive=read.moment(raw, "arrive"),
        depart=read.moment(raw, "depart"),
        kind=str(kind),
        pickup_kg=pickup_kg or 0.0,
    )


def _read_route(raw: Any, route_index: int, index: _Index, out: _Collector) -> _Route | None:
    if not isinstance(raw, Mapping):
        out.add(
            Rule.FORMAT, f"Route {route_index + 1} is {_show(raw)}, not an object.", route_index
        )
        return None
    label = (
        f"Truck {_name(raw.get('truck', '?'))} on {_name(raw.get('date', '?'))} "
        f"trip {_name(raw.get('trip', '?'))}"
    )
    read = _Reader(out, label, route_index)
    truck_id = read.text(raw, "truck")
    truck = index.trucks.get(truck_id) if truck_id is not None else None
    if truck_id is not None and truck is None:
        read.add(Rule.UNKNOWN_TRUCK, f"{label}: the scenario has no truck '{truck_id}'.")
    warehouse_id = read.text(raw, "warehouse")
    warehouse = index.warehouses.get(warehouse_id) if warehouse_id is not None else None
    if warehouse_id is not None and warehouse is None:
        read.add(
            Rule.UNKNOWN_WAREHOUSE, f"{label}: the scenario has no warehouse '{warehouse_id}'."
        )
    if warehouse_id is not None and truck is not None and warehouse_id != truck.warehouse_id:
        read.add(
            Rule.WAREHOUSE,
            f"{label}: loads at warehouse '{warehouse_id}', but truck {truck.id} is based at "
            f"'{truck.warehouse_id}'.",
        )
    if warehouse is None and truck is not None:
        warehouse = index.warehouses.get(truck.warehouse_id)
    day = read.day(raw, "date")
    trip = read.integer(raw, "trip")
    depart = read.moment(raw, "depart")
    return_ = read.moment(raw, "return")
    distance_km = read.number(raw, "distance_km")
    load_kg = read.number(raw, "load_kg")
    stops: list[_Stop] = []
    stops_complete = False
    found, raw_stops = read.raw(raw, "stops")
    if found:
        stop_list = _as_list(raw_stops)
        if stop_list is None:
            read.add(Rule.FORMAT, f"{label}: 'stops' is {_show(raw_stops)}, not a list.")
        else:
            stops_complete = True
            for stop_index, raw_stop in enumerate(stop_list):
                stop = _read_stop(raw_stop, label, route_index, stop_index, index, out)
                if stop is None:
                    stops_complete = False
                else:
                    stops.append(stop)
    return _Route(
        index=route_index,
        label=label,
        truck_id=truck_id,
        truck=truck,
        warehouse=warehouse,
        day=day,
        trip=trip,
        depart=depart,
        return_=return_,
        distance_km=distance_km,
        load_kg=load_kg,
        stops=tuple(stops),
        stops_complete=stops_complete,
    )


def _read_unassigned(
    raw: Any, entry_index: int, scenario: Scenario, index: _Index, out: _Collector
) -> _Unassigned | None:
    where = f"Unassigned entry {entry_index + 1}"
    if not isinstance(raw, Mapping):
        out.add(Rule.FORMAT, f"{where} is {_show(raw)}, not an object.")
        return None
    label = (
        f"{where} (drop point {_name(raw.get('drop_point', '?'))}, "
        f"tranche {_name(raw.get('tranche', '?'))})"
    )
    read = _Reader(out, label)
    point_id = read.text(raw, "drop_point")
    point = index.drop_points.get(point_id) if point_id is not None else None
    if point_id is not None and point is None:
        read.add(Rule.UNKNOWN_DROP_POINT, f"{label}: the scenario has no drop point '{point_id}'.")
    tranche_id = read.text(raw, "tranche")
    tranche = index.tranches.get(tranche_id) if tranche_id is not None else None
    if tranche_id is not None and tranche is None:
        read.add(Rule.UNKNOWN_TRANCHE, f"{label}: the scenario has no tranche '{tranche_id}'.")
    kg = read.number(raw, "kg")
    sacks = read.integer(raw, "sacks")
    _check_kg_and_sacks(scenario, read, label, kg, sacks)
    code = read.text(raw, "reason_code")
    if code is not None and code not in REASON_CODES:
        read.add(
            Rule.REASON_CODE,
            f"{label}: reason_code '{code}' is not one of {', '.join(sorted(REASON_CODES))}.",
        )
    reason = read.text(raw, "reason")
    if reason is not None and not reason.strip():
        read.add(Rule.REASON, f"{label}: the reason is empty; it must say why in a sentence.")
    kind = raw.get("kind", "delivery")
    if kind not in STOP_KINDS:
        read.add(Rule.FORMAT, f"{label}: kind is {_show(kind)}, not one of {sorted(STOP_KINDS)}.")
        kind = "delivery"
    return _Unassigned(entry_index, label, point, tranche, kg, code, str(kind))


def _check_kg_and_sacks(
    scenario: Scenario, read: _Reader, label: str, kg: float | None, sacks: int | None
) -> None:
    if kg is not None and kg <= 0:
        read.add(Rule.KG, f"{label}: kg is {_kg(kg)}, but it must be more than 0.")
    if kg is None or sacks is None:
        return
    try:
        sacks_kg = float(sacks) * scenario.sack_kg
    except OverflowError:
        sacks_kg = math.inf
    if not _kg_equal(sacks_kg, kg):
        read.add(
            Rule.SACKS,
            f"{label}: {sacks} sacks of {_kg(scenario.sack_kg)} kg make {_kg(sacks_kg)} kg, "
            f"not the {_kg(kg)} kg stated.",
        )


# --------------------------------------------------------------------------------------------
# Checks.


def _check_route_day(scenario: Scenario, route: _Route, out: _Collector) -> None:
    day = route.day
    if day is None:
        return
    where = route.label
    weekday = day.strftime("%A")
    if not _is_working_weekday(scenario, day):
        out.add(Rule.WORKING_DAY, f"{where}: {day} is a {weekday}, not a working day.", route.index)
    if _is_holiday(scenario, day):
        out.add(Rule.HOLIDAY, f"{where}: {day} is a holiday.", route.index)
    if day < scenario.start_date:
        out.add(
            Rule.START_DATE,
            f"{where}: {day} is before the scenario's start date {scenario.start_date}.",
            route.index,
        )
    if route.depart is not None and route.depart.date() != day:
        out.add(
            Rule.ROUTE_DATE,
            f"{where}: the trip departs on {route.depart.date()}, not on its date {day}.",
            route.index,
        )
    for stop in route.stops:
        tranche = stop.tranche
        if stop.kind == "replacement":
            continue  # replaces rice refused at a handover; due by its own date (rule replacement)
        if tranche is not None and not tranche.release <= day <= tranche.deadline:
            out.add(
                Rule.TRANCHE_WINDOW,
                f"{stop.label}: delivered on {day}, outside tranche {tranche.id}'s window "
                f"{tranche.release} to {tranche.deadline}.",
                route.index,
                stop.index,
            )


def _check_route_shift_end(route: _Route, out: _Collector) -> None:
    if route.truck is None or route.day is None or route.return_ is None:
        return
    back_s = _seconds_of_day(route.return_, route.day)
    if back_s > route.truck.shift_end_s + _TIME_TOL_S:
        out.add(
            Rule.SHIFT_END,
            f"{route.label}: returns at {_clock(back_s)}, after truck {route.truck.id}'s shift "
            f"ends at {_clock(route.truck.shift_end_s)} on {route.day}.",
            route.index,
        )


def _warehouse_place(route: _Route) -> _Place | None:
    w = route.warehouse
    return _Place(w.id, w.lon, w.lat) if w is not None else None


def _missing_leg(
    travel: _Travel, route: _Route, start: _Place, end: _Place, where: str, out: _Collector
) -> None:
    out.add(
        Rule.LEG,
        f"{where}: the plan's travel legs hold no leg from {start.id} to {end.id} for truck "
        f"{route.truck_id}'s access class '{travel.access_of(route.truck)}': no road it may use "
        "connects them.",
        route.index,
    )


def _check_route_stops(scenario: Scenario, route: _Route, out: _Collector, travel: _Travel) -> None:
    """Stop contents, timing chain (legs, windows, service) and the return leg."""
    seen: set[tuple[str, str]] = set()
    prev_time = route.depart
    prev_place = _warehouse_place(route)
    prev_name = "the warehouse"
    for stop in route.stops:
        read = _Reader(out, stop.label, route.index, stop.index)
        _check_kg_and_sacks(scenario, read, stop.label, stop.kg, stop.sacks)
        point = stop.point
        if point is not None and stop.tranche is not None:
            pair = (point.id, stop.tranche.id)
            if pair in seen:
                read.add(
                    Rule.DUPLICATE_STOP, f"{stop.label}: this trip already delivers this pair."
                )
            seen.add(pair)
        place = _Place(point.id, point.lon, point.lat) if point is not None else None
        leg_s = 0.0
        if place is not None and prev_place is not None and travel.known:
            found = travel.leg(prev_place, place, route.truck)
            if found is None:
                _missing_leg(travel, route, prev_place, place, stop.label, out)
            else:
                leg_s = found[1]
        if stop.arrive is not None and prev_time is not None:
            gap_s = _seconds(stop.arrive, prev_time)
            if gap_s < leg_s - _TIME_TOL_S:
                read.add(
                    Rule.LEG_TIME,
                    f"{stop.label}: arrives {gap_s:.0f} s after leaving {prev_name}, but the "
                    f"drive takes {leg_s:.0f} s.",
                )
        if stop.arrive is not None and point is not None:
            day = route.day if route.day is not None else stop.arrive.date()
            arrive_s = _seconds_of_day(stop.arrive, day)
            if point.open_s is not None and arrive_s < point.open_s - _TIME_TOL_S:
                read.add(
                    Rule.TIME_WINDOW,
                    f"{stop.label}: unloading starts at {_clock(arrive_s)}, before the point "
                    f"opens at {_clock(point.open_s)}.",
                )
            if point.close_s is not None and arrive_s > point.close_s + _TIME_TOL_S:
                read.add(
                    Rule.TIME_WINDOW,
                    f"{stop.label}: unloading starts at {_clock(arrive_s)}, after the point "
                    f"closes at {_clock(point.close_s)}.",
                )
        if stop.arrive is not None and stop.depart is not None:
            kg = stop.kg if stop.kg is not None else 0.0
            service_s = _service_s(scenario, point, kg) if point is not None else 0.0
            stay_s = _seconds(stop.depart, stop.arrive)
            if stay_s < service_s - _TIME_TOL_S:
                read.add(
                    Rule.SERVICE_TIME,
                    f"{stop.label}: stays {stay_s:.0f} s, but unloading {_kg(kg)} kg takes "
                    f"{service_s:.0f} s.",
                )
        prev_time = stop.depart
        prev_place = place
        prev_name = f"stop {stop.index + 1}"
    home = _warehouse_place(route)
    if home is not None and prev_place is not None and travel.known:
        back = travel.leg(prev_place, home, route.truck)
        if back is None:
            _missing_leg(travel, route, prev_place, home, f"{route.label}, the way back", out)
    if route.return_ is not None and prev_time is not None:
        leg_s = 0.0
        if home is not None and prev_place is not None and travel.known:
            found = travel.leg(prev_place, home, route.truck)
            leg_s = found[1] if found is not None else 0.0
        gap_s = _seconds(route.return_, prev_time)
        if gap_s < leg_s - _TIME_TOL_S:
            out.add(
                Rule.LEG_TIME,
                f"{route.label}: returns {gap_s:.0f} s after leaving {prev_name}, but the drive "
                f"back to the warehouse takes {leg_s:.0f} s.",
                route.index,
            )


def _check_route_totals(
    scenario: Scenario, route: _Route, out: _Collector, travel: _Travel
) -> None:
    """Distance, declared load and capacity."""
    places: list[_Place] = []
    home = _warehouse_place(route)
    if home is not None and all(s.point is not None for s in route.stops):
        places = [
            home,
            *(_Place(s.point.id, s.point.lon, s.point.lat) for s in route.stops if s.point),
            home,
        ]
    legs = [travel.leg(a, b, route.truck) for a, b in pairwise(places)] if travel.known else []
    # A missing leg is its own violation (rule leg): the sum would mean nothing.
    if legs and all(legs) and route.distance_km is not None and route.stops_complete:
        legs_km = math.fsum(leg[0] for leg in legs if leg is not None)
        if not _close(route.distance_km, legs_km, _DISTANCE_TOL_KM, _DISTANCE_REL_TOL):
            out.add(
                Rule.DISTANCE,
                f"{route.label}: distance_km is {_kg(route.distance_km)}, but its legs add up "
                f"to {legs_km:.3f} km.",
                route.index,
            )
    stops_kg = route.stops_kg()
    if route.load_kg is not None and route.kg_complete() and not _kg_equal(route.load_kg, stops_kg):
        out.add(
            Rule.LOAD,
            f"{route.label}: load_kg is {_kg(route.load_kg)}, but its stops add up to "
            f"{_kg(stops_kg)} kg.",
            route.index,
        )
    # A partial sum (some kg unreadable) is still a lower bound of the load.
    truck = route.truck
    if truck and stops_kg > truck.capacity_kg and not _kg_equal(stops_kg, truck.capacity_kg):
        out.add(
            Rule.CAPACITY,
            f"{route.label}: carries {_kg(stops_kg)} kg, more than truck {truck.id}'s "
            f"capacity of {_kg(truck.capacity_kg)} kg.",
            route.index,
        )
        return
    # With pickups the load on board falls by each stop's kg and rises by its pickup_kg.
    on_board = stops_kg
    for stop in route.stops:
        on_board += stop.pickup_kg - (stop.kg or 0.0)
        if truck and on_board > truck.capacity_kg and not _kg_equal(on_board, truck.capacity_kg):
            out.add(
                Rule.CAPACITY,
                f"{stop.label}: leaves with {_kg(on_board)} kg on board (rejected rice picked "
                f"up), more than truck {truck.id}'s capacity of {_kg(truck.capacity_kg)} kg.",
                route.index,
                stop.index,
            )
            break


def _check_route(scenario: Scenario, route: _Route, out: _Collector, travel: _Travel) -> None:
    if route.stops_complete and not route.stops:
        out.add(Rule.EMPTY_TRIP, f"{route.label}: the trip has no stops.", route.index)
    _check_route_day(scenario, route, out)
    _check_route_shift_end(route, out)
    _check_route_stops(scenario, route, out, travel)
    _check_route_totals(scenario, route, out, travel)


def _check_truck_days(
    scenario: Scenario,
    index: _Index,
    routes: Sequence[_Route],
    out: _Collector,
    *,
    gaps_allowed: bool = False,
) -> None:
    """Trip order, numbering, count, shift start and loading gaps per truck and date."""
    groups: dict[tuple[str, date], list[_Route]] = defaultdict(list)
    for route in routes:
        if route.truck_id is not None and route.day is not None:
            groups[(route.truck_id, route.day)].append(route)
    loading_s = scenario.service.loading_min * 60.0
    for (truck_id, day), group in sorted(groups.items()):
        group.sort(key=lambda r: (r.depart is None, r.depart or datetime.min, r.index))
        where = f"Truck {truck_id} on {day}"
        trips = [r.trip for r in group]
        expected: list[int | None] = list(range(1, len(group) + 1))
        numbers = [t for t in trips if t is not None]
        # A re-plan keeps trips with their numbers when an earlier one was cancelled.
        increasing = bool(numbers) and numbers[0] >= 1 and all(a < b for a, b in pairwise(numbers))
        if gaps_allowed and len(numbers) == len(trips) and increasing:
            expected = list(trips)
        if trips != expected:
            first_bad = next(r for r, n in zip(group, expected, strict=True) if r.trip != n)
            out.add(
                Rule.TRIP_NUMBERING,
                f"{where}: trips are numbered {trips} in departure order, not {expected}.",
                first_bad.index,
            )
        truck = index.trucks.get(truck_id)
        if truck is None:
            continue
        limit = truck.max_trips_per_day
        if limit is not None and len(group) > limit:
            out.add(
                Rule.MAX_TRIPS,
                f"{where}: {len(group)} trips, more than the truck's {limit} a day.",
                group[limit].index,
            )
        timed = [(r, r.depart) for r in group if r.depart is not None]
        if not timed:
            continue
        first, first_depart = timed[0]
        start_s = _seconds_of_day(first_depart, day)
        earliest_s = truck.shift_start_s + loading_s
        if start_s < earliest_s - _TIME_TOL_S:
            out.add(
                Rule.SHIFT_START,
                f"{first.label}: departs at {_clock(start_s)}, before shift start "
                f"{_clock(truck.shift_start_s)} + {_kg(scenario.service.loading_min)} min "
                f"loading = {_clock(earliest_s)}.",
                first.index,
            )
        for (prev, _), (later, later_depart) in pairwise(timed):
            if prev.return_ is None:
                continue
            gap_s = _seconds(later_depart, prev.return_)
            if gap_s < loading_s - _TIME_TOL_S:
                out.add(
                    Rule.TRIP_OVERLAP,
                    f"{later.label}: departs {gap_s:.0f} s after trip {_name(prev.trip)} "
                    f"returns, but loading takes {loading_s:.0f} s.",
                    later.index,
                )


def _shipped_kg(scenario: Scenario, routes: Sequence[_Route]) -> dict[str, float]:
    """Kilograms each warehouse ships over the plan."""
    shipped: dict[str, list[float]] = defaultdict(list)
    for route in routes:
        if route.warehouse is not None:
            shipped[route.warehouse.id].append(route.stops_kg())
    return {w.id: math.fsum(shipped.get(w.id, [])) for w in scenario.warehouses}


def _check_stock(scenario: Scenario, shipped: Mapping[str, float], out: _Collector) -> None:
    for warehouse in scenario.warehouses:
        total_kg = shipped[warehouse.id]
        if total_kg > warehouse.stock_kg and not _kg_equal(total_kg, warehouse.stock_kg):
            out.add(
                Rule.STOCK,
                f"Warehouse {warehouse.id} ({warehouse.name}) ships {_kg(total_kg)} kg over the "
                f"plan, more than its stock of {_kg(warehouse.stock_kg)} kg.",
            )


def _whole_rations(kg: float, ration_kg: float) -> bool:
    if ration_kg <= 0:
        return True
    families = kg / ration_kg
    return abs(families - round(families)) <= _KG_TOL * max(1.0, abs(families))


def _check_rations(
    routes: Sequence[_Route], unassigned: Sequence[_Unassigned], out: _Collector
) -> None:
    items: list[tuple[str, Tranche | None, float | None, tuple[int, ...]]] = [
        (stop.label, stop.tranche, stop.kg, (route.index, stop.index))
        for route in routes
        for stop in route.stops
        if stop.kind == "delivery"  # a replacement is whole sacks of refused rice
    ]
    items += [
        (item.label, item.tranche, item.kg, ()) for item in unassigned if item.kind == "delivery"
    ]
    for label, tranche, kg, where in items:
        if tranche is None or kg is None or _whole_rations(kg, tranche.kg_per_kpm):
            continue
        out.add(
            Rule.RATION,
            f"{label}: {_kg(kg)} kg is {kg / tranche.kg_per_kpm:g} rations of "
            f"{_kg(tranche.kg_per_kpm)} kg; a family's ration cannot be split.",
            *where,
        )


# A warehouse counts as reaching a point only when a one-sack trip fits with this much to
# spare, so that rounding of leg times (the planner rounds each leg up to whole seconds) can
# never make the checker see a warehouse the planner rightly left out.
_REACH_SLACK_S = 60.0


def _reaches(
    scenario: Scenario,
    warehouse: Warehouse,
    trucks: Sequence[Truck],
    point: DropPoint,
    travel: _Travel,
) -> bool:
    """Whether some truck of ``warehouse`` can serve ``point`` alone, as screening demands.

    The truck must carry a family's ration of every tranche, and drive there (after loading)
    on roads its access class may use, unload one sack within the point's opening hours and
    drive back within its shift.
    """
    ration_kg = max((t.kg_per_kpm for t in scenario.tranches), default=0.0)
    loading_s = scenario.service.loading_min * 60.0
    home = _Place(warehouse.id, warehouse.lon, warehouse.lat)
    there = _Place(point.id, point.lon, point.lat)
    service_s = _service_s(scenario, point, scenario.sack_kg)
    open_s = point.open_s if point.open_s is not None else 0
    close_s = point.close_s if point.close_s is not None else _SECONDS_PER_DAY
    for truck in trucks:
        if truck.capacity_kg < ration_kg:
            continue
        out_leg = travel.leg(home, there, truck)
        back_leg = travel.leg(there, home, truck)
        if out_leg is None or back_leg is None:
            continue  # no road this truck may use
        earliest = truck.shift_start_s + loading_s
        arrive = max(earliest + out_leg[1], open_s)
        back = arrive + service_s + back_leg[1]
        if arrive + _REACH_SLACK_S <= close_s and back + _REACH_SLACK_S <= truck.shift_end_s:
            return True
    return False


def _check_stock_reasons(
    scenario: Scenario,
    shipped: Mapping[str, float],
    unassigned: Sequence[_Unassigned],
    out: _Collector,
    travel: _Travel,
) -> None:
    if not travel.known:
        return  # without the legs no warehouse's reach is known
    left_kg = {w.id: w.stock_kg - shipped[w.id] for w in scenario.warehouses}
    trucks_at: dict[str, list[Truck]] = defaultdict(list)
    for truck in scenario.trucks:
        trucks_at[truck.warehouse_id].append(truck)
    for item in unassigned:
        if item.reason_code != "stock" or item.point is None or item.tranche is None:
            continue
        ration_kg = item.tranche.kg_per_kpm
        for warehouse in scenario.warehouses:
            left = left_kg[warehouse.id]
            if left + _KG_TOL < ration_kg or not _reaches(
                scenario, warehouse, trucks_at[warehouse.id], item.point, travel
            ):
                continue
            out.add(
                Rule.STOCK_REASON,
                f"{item.label}: the reason is stock, but warehouse {warehouse.id} can reach the "
                f"point and has {_kg(left)} kg left, at least one family's ration "
                f"({_kg(ration_kg)} kg).",
            )
            break


def _delivered(routes: Sequence[_Route]) -> dict[tuple[str, str], float]:
    parts: dict[tuple[str, str], list[float]] = defaultdict(list)
    for route in routes:
        for stop in route.stops:
            if stop.point is not None and stop.tranche is not None and stop.kg is not None:
                parts[(stop.point.id, stop.tranche.id)].append(stop.kg)
    return {pair: math.fsum(kgs) for pair, kgs in parts.items()}


def _check_conservation(
    scenario: Scenario,
    routes: Sequence[_Route],
    unassigned: Sequence[_Unassigned],
    out: _Collector,
) -> None:
    delivered = _delivered(routes)
    left: dict[tuple[str, str], list[float]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for item in unassigned:
        if item.point is None or item.tranche is None:
            continue
        pair = (item.point.id, item.tranche.id)
        if pair in seen:
            out.add(Rule.DUPLICATE_UNASSIGNED, f"{item.label}: the pair is listed twice.")
        seen.add(pair)
        if item.kg is not None:
            left[pair].append(item.kg)
    for point in scenario.drop_points:
        for tranche in scenario.tranches:
            pair = (point.id, tranche.id)
            demand_kg = point.kpm * tranche.kg_per_kpm
            sent_kg = delivered.get(pair, 0.0)
            left_kg = math.fsum(left.get(pair, []))
            if not _kg_equal(sent_kg + left_kg, demand_kg):
                out.add(
                    Rule.CONSERVATION,
                    f"Drop point {point.id} ({point.name}), tranche {tranche.id}: {_kg(sent_kg)} "
                    f"kg delivered + {_kg(left_kg)} kg unassigned = {_kg(sent_kg + left_kg)} kg, "
                    f"but the demand is {point.kpm} families x {_kg(tranche.kg_per_kpm)} kg = "
                    f"{_kg(demand_kg)} kg.",
                )


@dataclass(frozen=True)
class _KpiCheck:
    """Compares reported KPIs with recomputed ones."""

    kpis: Mapping[str, Any]
    out: _Collector

    def _present(self, name: str, required: bool) -> bool:
        if name in self.kpis:
            return True
        if required:
            self.out.add(Rule.KPIS, f"The KPI '{name}' is missing.")
        return False

    def _number_ok(self, name: str, reported: Any, expected: float, tol: float) -> bool:
        value = _as_number(reported)
        if value is None or not _close(value, expected, tol, _KG_REL_TOL):
            self.out.add(
                Rule.KPIS,
                f"The KPI '{name}' is {_show(reported)}, but the plan gives {_kg(expected)}.",
            )
            return False
        return True

    def number(self, name: str, expected: float, tol: float, *, required: bool = True) -> None:
        if self._present(name, required):
            self._number_ok(name, self.kpis[name], expected, tol)

    def exact(self, name: str, expected: Any, *, required: bool = True) -> None:
        if not self._present(name, required):
            return
        reported = self.kpis[name]
        if type(reported) is not type(expected) or reported != expected:
            self.out.add(
                Rule.KPIS,
                f"The KPI '{name}' is {_show(reported)}, but the plan gives {_show(expected)}.",
            )

    def per_tranche(
        self, name: str, expected: Mapping[str, Any], tol: float | None, *, required: bool = True
    ) -> None:
        if not self._present(name, required):
            return
        reported = self.kpis[name]
        if not isinstance(reported, Mapping) or set(reported) != set(expected):
            self.out.add(
                Rule.KPIS,
                f"The KPI '{name}' is {_show(reported)}; it must give one value for each of the "
                f"tranches {', '.join(expected)}.",
            )
            return
        for tranche_id, value in expected.items():
            key = f"{name}[{tranche_id}]"
            if tol is None:
                if type(reported[tranche_id]) is not type(value) or reported[tranche_id] != value:
                    self.out.add(
                        Rule.KPIS,
                        f"The KPI '{key}' is {_show(reported[tranche_id])}, but the plan gives "
                        f"{_show(value)}.",
                    )
            else:
                self._number_ok(key, reported[tranche_id], value, tol)


def _check_kpis(
    scenario: Scenario,
    plan: Mapping[str, Any],
    route_count: int,
    routes: Sequence[_Route],
    unassigned_count: int,
    unassigned: Sequence[_Unassigned],
    out: _Collector,
) -> None:
    if "kpis" not in plan:
        out.add(Rule.KPIS, "The plan has no 'kpis' object.")
        return
    kpis = plan["kpis"]
    if not isinstance(kpis, Mapping):
        out.add(Rule.KPIS, f"The plan's 'kpis' is {_show(kpis)}, not an object.")
        return
    check = _KpiCheck(kpis, out)
    tranche_ids = [t.id for t in scenario.tranches]
    delivered = _delivered(routes)

    sent: dict[str, list[float]] = {t: [] for t in tranche_ids}
    last: dict[str, date | None] = dict.fromkeys(tranche_ids)
    wait_parts: list[float] = []
    for route in routes:
        for stop in route.stops:
            tranche = stop.tranche
            if tranche is None or stop.kg is None:
                continue
            sent[tranche.id].append(stop.kg)
            if route.day is None:
                continue
            previous = last[tranche.id]
            if previous is None or route.day > previous:
                last[tranche.id] = route.day
            if tranche.kg_per_kpm:
                wait_parts.append(stop.kg / tranche.kg_per_kpm * (route.day - tranche.release).days)
    sent_kg = {t: math.fsum(v) for t, v in sent.items()}
    left: dict[str, list[float]] = {t: [] for t in tranche_ids}
    for item in unassigned:
        if item.tranche is not None and item.kg is not None:
            left[item.tranche.id].append(item.kg)
    left_kg = {t: math.fsum(v) for t, v in left.items()}

    served_per_tranche = dict.fromkeys(tranche_ids, 0)
    families_served = 0
    for point in scenario.drop_points:
        complete = True
        for tranche in scenario.tranches:
            demand_kg = point.kpm * tranche.kg_per_kpm
            if delivered.get((point.id, tranche.id), 0.0) >= demand_kg - _KG_TOL:
                served_per_tranche[tranche.id] += point.kpm
            else:
                complete = False
        if complete:
            families_served += point.kpm

    truck_days = {(r.truck_id, r.day) for r in routes if r.truck_id is not None and r.day}
    distances = [r.distance_km for r in routes if r.distance_km is not None]
    dates = [d for d in last.values() if d is not None]
    kg_tol = _KG_TOL

    check.number("kg_delivered", math.fsum(sent_kg.values()), kg_tol)
    check.per_tranche("kg_delivered_per_tranche", sent_kg, kg_tol)
    check.number("kg_unassigned", math.fsum(left_kg.values()), kg_tol)
    check.per_tranche("kg_unassigned_per_tranche", left_kg, kg_tol, required=False)
    check.number(
        "distance_km",
        math.fsum(distances),
        _KPI_DISTANCE_TOL_KM + _ROUTE_DISTANCE_ROUNDING_KM * len(distances),
    )
    check.exact("trips", route_count)
    check.exact("truck_days", len(truck_days))
    check.exact("families_served", families_served)
    check.per_tranche("families_served_per_tranche", served_per_tranche, None, required=False)
    check.exact("families_total", sum(p.kpm for p in scenario.drop_points), required=False)
    check.exact("unassigned_deliveries", unassigned_count, required=False)
    check.exact("last_delivery_date", max(dates).isoformat() if dates else None)
    check.per_tranche(
        "last_delivery_date_per_tranche",
        {t: (d.isoformat() if d is not None else None) for t, d in last.items()},
        None,
        required=False,
    )
    wait_days = math.fsum(wait_parts)
    check.number("family_wait_days", wait_days, _KPI_DAYS_TOL, required=False)
    _check_cost_kpis(scenario, routes, truck_days, wait_days, check)


def _check_cost_kpis(
    scenario: Scenario,
    routes: Sequence[_Route],
    truck_days: set[tuple[str, date]],
    wait_days: float,
    check: _KpiCheck,
) -> None:
    """Costs, checked only when every trip's truck and distance are known."""
    if any(r.truck is None or r.distance_km is None for r in routes):
        return
    distance_cost = math.fsum(
        r.distance_km * r.truck.cost_per_km
        for r in routes
        if r.truck is not None and r.distance_km is not None
    )
    # Each trip's distance was rounded in plan.json: the cost may differ by that much per km.
    distance_cost_tol = _KPI_MONEY_TOL + math.fsum(
        _ROUTE_DISTANCE_ROUNDING_KM * r.truck.cost_per_km for r in routes if r.truck is not None
    )
    trucks = {t.id: t for t in scenario.trucks}
    day_cost = math.fsum(trucks[t].cost_per_day for t, _ in truck_days if t in trucks)
    cost = distance_cost + day_cost
    cost_tol = distance_cost_tol + _KPI_MONEY_TOL
    check.number("cost_distance", distance_cost, distance_cost_tol, required=False)
    check.number("cost_truck_days", day_cost, _KPI_MONEY_TOL, required=False)
    check.number("cost", cost, cost_tol, required=False)
    objective = cost + wait_days * scenario.objective.wait_cost_per_kpm_day
    check.number("objective", objective, cost_tol + _KPI_MONEY_TOL, required=False)


def _top_level_list(top: _Reader, data: Mapping[str, Any], key: str) -> list[Any]:
    """Return the plan's list under ``key``; missing or not a list: a violation, and []."""
    found, value = top.raw(data, key)
    if not found:
        return []
    listed = _as_list(value)
    if listed is None:
        top.add(Rule.FORMAT, f"The plan's '{key}' is {_show(value)}, not a list.")
        return []
    return listed


def check_plan(
    scenario: Scenario,
    plan: Mapping[str, Any],
    legs: Legs | None = None,
    *,
    previous: Mapping[str, Any] | None = None,
    previous_sha256: str | None = None,
) -> list[Violation]:
    """Check a ``plan.json`` dict against a scenario.

    Parameters
    ----------
    scenario
        The scenario the plan claims to solve.
    plan
        The raw ``plan.json`` structure (as written by ``optimizer.solution.plan_to_dict`` and
        read back with :func:`json.load`).
    legs
        The plan's travel legs, ``(from id, to id, access) -> (km, seconds)`` (its
        ``travel/legs.csv``, see :func:`read_legs_file`). Used when the scenario's travel
        source is not ``straight``; without them such a plan gets one ``leg`` violation and
        its legs go unchecked.
    previous, previous_sha256
        For a re-plan (a plan with a ``replan`` object): the previous ``plan.json`` as a dict
        and the sha256 of its bytes. The re-plan rules (module docstring) are checked against
        it; without it only the rules that need no previous plan are.

    Returns
    -------
    list of Violation
        Every violation found, routes first in plan order, then warehouse stock, conservation
        and KPIs. An empty list means the plan is feasible. Malformed data is reported as
        violations; this function does not raise on any JSON-like input.
    """
    out = _Collector()
    # Typed as a Mapping for callers, but json.load may hand over anything.
    data: object = plan
    if not isinstance(data, Mapping):
        out.add(Rule.FORMAT, f"The plan is {_show(data)}, not a JSON object.")
        return out.violations
    index = _Index.of(scenario)
    top = _Reader(out, "The plan")
    travel = _Travel(scenario, None)
    if scenario.travel.source != "straight":
        travel = _Travel(scenario, legs or {}, known=legs is not None)
        if legs is None:
            out.add(
                Rule.LEG,
                f"The scenario's travel source is '{scenario.travel.source}', but the plan's "
                "travel legs (travel/legs.csv) were not given: no leg can be checked.",
            )

    raw_routes = _top_level_list(top, data, "routes")
    routes = [
        route
        for i, raw in enumerate(raw_routes)
        if (route := _read_route(raw, i, index, out)) is not None
    ]

    raw_unassigned = _top_level_list(top, data, "unassigned")
    unassigned = [
        item
        for i, raw in enumerate(raw_unassigned)
        if (item := _read_unassigned(raw, i, scenario, index, out)) is not None
    ]

    for route in routes:
        _check_route(scenario, route, out, travel)
    _check_truck_days(scenario, index, routes, out, gaps_allowed="replan" in data)
    shipped = _shipped_kg(scenario, routes)
    _check_rations(routes, unassigned, out)
    kpi_routes = routes
    if "replan" in data:
        kpi_routes = _kpi_view(data, raw_routes, routes)
        # Receipts, not the plan, say what was delivered before the re-plan; stock changed.
        _check_replan(scenario, data, raw_routes, routes, unassigned, out, previous)
        if previous_sha256 is not None:
            _check_previous_sha(data, previous_sha256, out)
    else:
        _check_stock(scenario, shipped, out)
        _check_stock_reasons(scenario, shipped, unassigned, out, travel)
        _check_conservation(scenario, routes, unassigned, out)
    _check_kpis(scenario, data, len(raw_routes), kpi_routes, len(raw_unassigned), unassigned, out)
    return out.violations


def check_plan_file(
    scenario: Scenario, plan_path: Path, *, previous_plan: Path | None = None
) -> list[Violation]:
    """Load a ``plan.json`` file and check it with :func:`check_plan`.

    When the scenario's travel source is not ``straight``, the legs are read from
    ``travel/legs.csv`` beside ``plan.json`` (:func:`read_legs_file`).

    Parameters
    ----------
    scenario
        The scenario the plan claims to solve.
    plan_path
        Path of the ``plan.json`` file.
    previous_plan
        For a re-plan: the previous plan's ``plan.json`` (or its folder); its sha256 must be
        the one the re-plan records.

    Returns
    -------
    list of Violation
        As :func:`check_plan`; a file that cannot be read or parsed as JSON (the plan, or its
        legs) gives exactly one violation with rule ``"file"``.
    """
    try:
        data = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return [Violation(Rule.FILE, f"The plan file {plan_path} cannot be read as JSON: {exc}")]
    legs: Legs | None = None
    if scenario.travel.source != "straight":
        read = read_legs_file(Path(plan_path).parent / "travel" / "legs.csv")
        if isinstance(read, Violation):
            return [read]
        legs = read
    if previous_plan is None or not isinstance(data, Mapping) or "replan" not in data:
        return check_plan(scenario, data, legs)
    path = Path(previous_plan)
    path = path / "plan.json" if path.is_dir() else path
    try:
        raw = path.read_bytes()
        previous = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return [Violation(Rule.FILE, f"The previous plan {path} cannot be read as JSON: {exc}")]
    if not isinstance(previous, Mapping):
        return [Violation(Rule.FILE, f"The previous plan {path} is not a JSON object.")]
    sha256 = hashlib.sha256(raw).hexdigest()
    return check_plan(scenario, data, legs, previous=previous, previous_sha256=sha256)


def read_legs_file(path: Path) -> Legs | Violation:
    """Read a plan's ``travel/legs.csv`` (columns ``from,to,access,distance_km,duration_s``).

    The checker's own reader (nothing shared with the writer in ``geodata``).

    Returns
    -------
    Legs or Violation
        ``(from, to, access) -> (km, seconds)``; or one violation with rule ``"file"`` naming
        the first bad row, when the file is missing or malformed.
    """
    legs: dict[tuple[str, str, str], tuple[float, float]] = {}
    try:
        with Path(path).open(encoding="utf-8", newline="") as stream:
            rows = csv.reader(stream)
            header = next(rows, None)
            if header is None or tuple(header) != LEGS_COLUMNS:
                return Violation(
                    Rule.FILE, f"{path}: expected the header {','.join(LEGS_COLUMNS)}."
                )
            for row_number, row in enumerate(rows, start=2):
                km = _text_number(row[3]) if len(row) == len(LEGS_COLUMNS) else None
                seconds = _text_number(row[4]) if km is not None else None
                if km is None or seconds is None or km < 0 or seconds < 0:
                    return Violation(Rule.FILE, f"{path}, row {row_number}: not a leg: {row}.")
                legs[(row[0], row[1], row[2])] = (km, seconds)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return Violation(Rule.FILE, f"The travel legs {path} cannot be read: {exc}")
    return legs


# --------------------------------------------------------------------------------------------
# Re-plans: a plan with a ``replan`` object, checked against its previous plan and progress.


@dataclass(frozen=True)
class _Progress:
    """The ``replan.progress`` object as the checker reads it (its own reader)."""

    receipts: tuple[tuple[str, str, date, int, float, float], ...]
    unavailable: Mapping[str, tuple[tuple[date, date], ...]]
    closed: Mapping[str, tuple[tuple[date, date], ...]]
    stock_changes: tuple[tuple[str, date, float], ...]


def _read_progress(raw: Any, out: _Collector) -> _Progress:
    def rows(key: str) -> list[Mapping[str, Any]]:
        listed = _as_list(raw.get(key, [])) if isinstance(raw, Mapping) else None
        if listed is None or not all(isinstance(r, Mapping) for r in listed):
            out.add(Rule.FORMAT, f"The plan's 'replan.progress.{key}' is not a list of objects.")
            return []
        return listed

    receipts: list[tuple[str, str, date, int, float, float]] = []
    for i, r in enumerate(rows("receipts")):
        day = _parse_date(r.get("date"))
        families = r.get("families")
        received = _as_number(r.get("kg_received"))
        rejected = _as_number(r.get("kg_rejected"))
        if day is None or not isinstance(families, int) or received is None or rejected is None:
            out.add(Rule.FORMAT, f"replan.progress.receipts entry {i + 1} is malformed.")
            continue
        receipts.append(
            (str(r.get("drop_point")), str(r.get("tranche")), day, families, received, rejected)
        )
    ranges: dict[str, dict[str, list[tuple[date, date]]]] = {"unavailable": {}, "closed": {}}
    for key, id_key in (("unavailable", "truck"), ("closed", "drop_point")):
        for i, r in enumerate(rows(key)):
            first, last = _parse_date(r.get("from_date")), _parse_date(r.get("to_date"))
            if first is None or last is None:
                out.add(Rule.FORMAT, f"replan.progress.{key} entry {i + 1} is malformed.")
                continue
            ranges[key].setdefault(str(r.get(id_key)), []).append((first, last))
    changes: list[tuple[str, date, float]] = []
    for i, r in enumerate(rows("stock_changes")):
        day, kg = _parse_date(r.get("date")), _as_number(r.get("kg"))
        if day is None or kg is None:
            out.add(Rule.FORMAT, f"replan.progress.stock_changes entry {i + 1} is malformed.")
            continue
        changes.append((str(r.get("warehouse")), day, kg))
    return _Progress(
        receipts=tuple(receipts),
        unavailable={k: tuple(v) for k, v in ranges["unavailable"].items()},
        closed={k: tuple(v) for k, v in ranges["closed"].items()},
        stock_changes=tuple(changes),
    )


def _covers(ranges: Mapping[str, Sequence[tuple[date, date]]], key: str | None, day: date) -> bool:
    return key is not None and any(a <= day <= b for a, b in ranges.get(key, ()))


def _working(scenario: Scenario, day: date) -> bool:
    return _is_working_weekday(scenario, day) and not _is_holiday(scenario, day)


def _after_working_days(scenario: Scenario, day: date, n: int) -> date:
    """Return the ``n``-th working day after ``day`` (``day`` not counted)."""
    left = n
    while left > 0:
        day += timedelta(days=1)
        if _working(scenario, day):
            left -= 1
    return day


def _comparable(raw: Any) -> str:
    """Return a route's JSON without status; stops without kind/pickup_kg are deliveries."""
    if not isinstance(raw, Mapping):
        return json.dumps(raw)
    route = {k: v for k, v in raw.items() if k != "status"}
    stops = _as_list(route.get("stops"))
    if stops is not None:
        route["stops"] = [
            {"kind": "delivery", "pickup_kg": 0, **s} if isinstance(s, Mapping) else s
            for s in stops
        ]
    return json.dumps(route, sort_keys=True)


def _route_key(raw: Any) -> tuple[str, str, str] | None:
    if not isinstance(raw, Mapping):
        return None
    return (str(raw.get("truck")), str(raw.get("date")), str(raw.get("trip")))


def _check_previous_sha(data: Mapping[str, Any], sha256: str, out: _Collector) -> None:
    record = data.get("replan")
    recorded = record.get("previous_plan_sha256") if isinstance(record, Mapping) else None
    if recorded != sha256:
        out.add(
            Rule.PREVIOUS_PLAN,
            f"The re-plan records the previous plan's sha256 {_show(recorded)}, but the "
            f"previous plan.json given has {sha256}.",
        )


def _check_replan(
    scenario: Scenario,
    data: Mapping[str, Any],
    raw_routes: Sequence[Any],
    routes: Sequence[_Route],
    unassigned: Sequence[_Unassigned],
    out: _Collector,
    previous: Mapping[str, Any] | None,
) -> None:
    record = data["replan"]
    as_of = _parse_date(record.get("as_of")) if isinstance(record, Mapping) else None
    freeze = record.get("freeze_days") if isinstance(record, Mapping) else None
    if as_of is None or not isinstance(freeze, int) or freeze < 0:
        out.add(Rule.FORMAT, "The plan's 'replan' needs 'as_of' (YYYY-MM-DD) and 'freeze_days'.")
        return
    progress = _read_progress(record.get("progress", {}), out)
    window: list[date] = []
    day = as_of
    while len(window) < freeze:
        if _working(scenario, day):
            window.append(day)
        day += timedelta(days=1)
    window_end = window[-1] if window else as_of - timedelta(days=1)
    start = _after_working_days(scenario, window_end, 1) if window else as_of
    status = {
        r.index: str(raw.get("status", "planned")) if isinstance(raw, Mapping) else "planned"
        for r, raw in ((r, raw_routes[r.index]) for r in routes)
    }

    # Statuses match the dates, trucks and points are obeyed from as_of on.
    for route in routes:
        if route.day is None:
            continue
        expected = (
            "done" if route.day < as_of else "frozen" if route.day <= window_end else "planned"
        )
        if status[route.index] != expected:
            rule = Rule.HISTORY if route.day < as_of else Rule.FROZEN
            out.add(
                rule,
                f"{route.label}: status is {status[route.index]!r}, but a trip on {route.day} of "
                f"a re-plan as of {as_of} with {freeze} frozen day(s) is {expected!r}.",
                route.index,
            )
        if route.day < as_of:
            continue
        if _covers(progress.unavailable, route.truck_id, route.day):
            out.add(
                Rule.TRUCK_UNAVAILABLE,
                f"{route.label}: truck {route.truck_id} is unavailable on {route.day}.",
                route.index,
            )
        for stop in route.stops:
            if stop.point is not None and _covers(progress.closed, stop.point.id, route.day):
                out.add(
                    Rule.POINT_CLOSED,
                    f"{stop.label}: drop point {stop.point.id} is closed on {route.day}.",
                    route.index,
                    stop.index,
                )

    if previous is not None:
        _check_against_previous(
            data, raw_routes, routes, out, previous, progress, as_of, window_end, start
        )
    needs_open_kg = _check_replacements(scenario, routes, status, unassigned, progress, out)
    _check_replan_conservation(scenario, routes, status, unassigned, progress, needs_open_kg, out)
    shipped: dict[str, float] = defaultdict(float)
    for route in routes:
        if route.warehouse is not None:
            shipped[route.warehouse.id] += route.stops_kg()
    for warehouse in scenario.warehouses:
        limit = warehouse.stock_kg + math.fsum(
            kg for w, _, kg in progress.stock_changes if w == warehouse.id
        )
        if shipped[warehouse.id] > limit and not _kg_equal(shipped[warehouse.id], limit):
            out.add(
                Rule.REPLAN_STOCK,
                f"Warehouse {warehouse.id} ships {_kg(shipped[warehouse.id])} kg over the "
                f"campaign, more than its stock and stock changes, {_kg(limit)} kg.",
            )


def _check_against_previous(
    data: Mapping[str, Any],
    raw_routes: Sequence[Any],
    routes: Sequence[_Route],
    out: _Collector,
    previous: Mapping[str, Any],
    progress: _Progress,
    as_of: date,
    window_end: date,
    start: date,
) -> None:
    """History and frozen trips exactly as before; cancellations that hold; new trips later."""
    previous_routes = _as_list(previous.get("routes"))
    if previous_routes is None:
        out.add(Rule.PREVIOUS_PLAN, "The previous plan has no list of routes.")
        return
    record = data["replan"]
    cancelled: dict[tuple[str, str, str], str] = {}
    for entry in _as_list(record.get("cancelled", [])) or []:
        key = _route_key(entry)
        if key is not None:
            cancelled[key] = str(entry.get("reason"))
    new_by_key = {k: raw for raw in raw_routes if (k := _route_key(raw)) is not None}
    old_same: set[str] = set()
    for old in previous_routes:
        key = _route_key(old)
        day = _parse_date(old.get("date")) if isinstance(old, Mapping) else None
        if key is None or day is None:
            continue
        now = new_by_key.get(key)
        identical = now is not None and _comparable(now) == _comparable(old)
        if identical:
            old_same.add(_comparable(old))
        where = f"Truck {key[0]} on {key[1]} trip {key[2]}"
        if day < as_of and not identical:
            out.add(Rule.HISTORY, f"{where}: a trip before {as_of} is not as it was planned.")
        elif as_of <= day <= window_end and not identical:
            reason = cancelled.get(key)
            stops = _as_list(old.get("stops")) or []
            holds = (
                reason == "truck_unavailable" and _covers(progress.unavailable, key[0], day)
            ) or (
                reason == "point_closed"
                and any(
                    isinstance(s, Mapping)
                    and _covers(progress.closed, str(s.get("drop_point")), day)
                    for s in stops
                )
            )
            if not holds:
                out.add(
                    Rule.FROZEN if reason is None else Rule.CANCELLED,
                    f"{where}: a frozen trip changed or was dropped"
                    + ("" if reason is None else f" for a reason that does not hold ({reason})")
                    + ".",
                )
    for route in routes:
        raw = raw_routes[route.index]
        if route.day is None or _comparable(raw) in old_same:
            continue
        if route.day < start:
            out.add(
                Rule.REPLAN_START,
                f"{route.label}: a new trip on {route.day}, before {start}, the first day the "
                "re-plan may plan.",
                route.index,
            )


def _check_replacements(
    scenario: Scenario,
    routes: Sequence[_Route],
    status: Mapping[int, str],
    unassigned: Sequence[_Unassigned],
    progress: _Progress,
    out: _Collector,
) -> dict[tuple[str, str], float]:
    """Every rejected kg replaced in whole sacks by its due day, or unassigned with a reason.

    Returns the kg of replacements not met, per (point, tranche).
    """
    settings = getattr(scenario, "replan", None)
    # Own copy of the default (ReplanSettings.replacement_days) for a scenario without [replan].
    replacement_days = int(getattr(settings, "replacement_days", 3))
    received_on = {(p, t, d) for p, t, d, *_ in progress.receipts}
    supply: dict[tuple[str, str], list[list[Any]]] = defaultdict(list)
    for route in sorted(routes, key=lambda r: (r.day or date.min, r.index)):
        for stop in route.stops:
            if stop.kind != "replacement" or stop.point is None or stop.tranche is None:
                continue
            if route.day is None or stop.sacks is None:
                continue
            pair = (stop.point.id, stop.tranche.id)
            if status[route.index] == "done" and (*pair, route.day) not in received_on:
                continue  # missed: nothing was delivered
            supply[pair].append([route.day, stop.sacks])
    explained = {(u.point.id, u.tranche.id) for u in unassigned if u.point and u.tranche}
    open_kg: dict[tuple[str, str], float] = defaultdict(float)
    for point, tranche, day, _families, _received, rejected in sorted(
        progress.receipts, key=lambda r: r[2]
    ):
        if rejected <= _KG_TOL:
            continue
        need = math.ceil(rejected / scenario.sack_kg - _KG_TOL)
        due = _after_working_days(scenario, day, replacement_days)
        for item in supply[(point, tranche)]:
            if need <= 0:
                break
            if day <= item[0] <= due and item[1] > 0:
                used = min(need, item[1])
                item[1] -= used
                need -= used
        if need <= 0:
            continue
        open_kg[(point, tranche)] += need * scenario.sack_kg
        if (point, tranche) not in explained:
            out.add(
                Rule.REPLACEMENT,
                f"Drop point {point}, tranche {tranche}: {need} sack(s) of the "
                f"{_kg(rejected)} kg rejected on {day} are not replaced by {due}, and no "
                "unassigned entry says why.",
            )
    return open_kg


def _check_replan_conservation(
    scenario: Scenario,
    routes: Sequence[_Route],
    status: Mapping[int, str],
    unassigned: Sequence[_Unassigned],
    progress: _Progress,
    open_replacement_kg: Mapping[tuple[str, str], float],
    out: _Collector,
) -> None:
    """Families received + frozen + planned + unassigned = the point's families, per tranche."""
    received: dict[tuple[str, str], int] = defaultdict(int)
    for point_id, tranche_id, _day, families, *_ in progress.receipts:
        received[(point_id, tranche_id)] += families
    frozen: dict[tuple[str, str], float] = defaultdict(float)
    planned: dict[tuple[str, str], float] = defaultdict(float)
    for route in routes:
        state = status[route.index]
        if state == "done":
            continue
        for stop in route.stops:
            if stop.kind != "delivery" or not (stop.point and stop.tranche and stop.kg):
                continue
            target = frozen if state == "frozen" else planned
            target[(stop.point.id, stop.tranche.id)] += stop.kg / stop.tranche.kg_per_kpm
    left_kg: dict[tuple[str, str], float] = defaultdict(float)
    for item in unassigned:
        if item.point and item.tranche and item.kg is not None:
            left_kg[(item.point.id, item.tranche.id)] += item.kg
    for point in scenario.drop_points:
        for tranche in scenario.tranches:
            pair = (point.id, tranche.id)
            if tranche.kg_per_kpm <= 0:
                continue
            expected = max(0, point.kpm - received[pair] - round(frozen[pair]))
            waiting_kg = max(0.0, left_kg[pair] - open_replacement_kg.get(pair, 0.0))
            got = round(planned[pair]) + round(waiting_kg / tranche.kg_per_kpm)
            if got != expected:
                out.add(
                    Rule.REPLAN_CONSERVATION,
                    f"Drop point {point.id}, tranche {tranche.id}: {point.kpm} families - "
                    f"{received[pair]} received - {round(frozen[pair])} on frozen trips leave "
                    f"{expected}, but the plan delivers {round(planned[pair])} more and leaves "
                    f"{round(waiting_kg / tranche.kg_per_kpm)} unassigned.",
                )


def _kpi_view(
    data: Mapping[str, Any], raw_routes: Sequence[Any], routes: Sequence[_Route]
) -> list[_Route]:
    """Return a re-plan's trips as its KPIs count them: families' rice, history from receipts.

    A done trip's stop counts only when a receipt of its point, tranche and day exists (a
    missed stop delivered nothing); replacement stops replace rice, they add none.
    """
    record = data["replan"]
    progress = _read_progress(
        record.get("progress", {}) if isinstance(record, Mapping) else {}, _Collector()
    )
    received_on = {(p, t, d) for p, t, d, *_ in progress.receipts}
    view: list[_Route] = []
    for route in routes:
        raw = raw_routes[route.index]
        done = isinstance(raw, Mapping) and raw.get("status") == "done"
        stops = tuple(
            stop
            for stop in route.stops
            if stop.kind == "delivery"
            and (
                not done
                or (
                    stop.point is not None
                    and stop.tranche is not None
                    and (stop.point.id, stop.tranche.id, route.day) in received_on
                )
            )
        )
        view.append(replace(route, stops=stops))
    return view
