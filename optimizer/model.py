"""The problem model: a validated, immutable BSB scenario.

Everything the planner and the checker need is held in frozen dataclasses. They are built and
checked by :class:`optimizer.builder.ScenarioBuilder`, which the file reader
(``geodata.scenario_io``) feeds row by row and code may call directly; nothing downstream
re-validates.

Units are explicit in names: ``_kg`` kilograms, ``_s`` seconds, ``_km`` kilometres, ``_min``
minutes. Times of day are seconds after local midnight (``int``); dates are ``datetime.date``
in the scenario's timezone. Coordinates are ``(lon, lat)`` in EPSG:4326.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

from optimizer.progress import ReplanSettings

EARTH_RADIUS_KM = 6371.0088
"""Mean earth radius (IUGG) used for every haversine distance in bsb."""

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""English three-letter weekday names, index = ``date.weekday()``."""


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance between two ``(lon, lat)`` points.

    Parameters
    ----------
    lon1, lat1, lon2, lat2
        Coordinates in decimal degrees (EPSG:4326).

    Returns
    -------
    float
        Distance in kilometres on a sphere of radius :data:`EARTH_RADIUS_KM`.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A BULOG warehouse that loads trucks.

    ``stock_kg`` is all it can ship over the whole plan, all tranches together.
    """

    id: str
    name: str
    lon: float
    lat: float
    stock_kg: float
    kabupaten: str = ""
    """The regency or city (kabupaten/kota) the warehouse lies in."""
    provinsi: str = ""
    """The province the warehouse lies in."""


@dataclass(frozen=True, slots=True)
class Truck:
    """One truck, based at one warehouse, with its own shift (seconds after midnight)."""

    id: str
    warehouse_id: str
    capacity_kg: float
    shift_start_s: int
    shift_end_s: int
    cost_per_km: float
    cost_per_day: float
    max_trips_per_day: int | None = None
    type: str = ""


@dataclass(frozen=True, slots=True)
class DropPoint:
    """An RT/RW drop point (or PKH meeting place) where families collect their rice.

    ``open_s``/``close_s`` bound the time unloading may *start*; ``None`` means no limit
    beyond the truck's shift. ``service_min`` overrides the scenario's ``stop_min``.
    """

    id: str
    name: str
    lon: float
    lat: float
    kpm: int
    desa: str = ""
    kecamatan: str = ""
    rt: str = ""
    rw: str = ""
    open_s: int | None = None
    close_s: int | None = None
    service_min: float | None = None
    facilitator: str | None = None
    """Id of the PKH facilitator (:class:`Facilitator`) serving this point, if known."""
    kabupaten: str = ""
    """The regency or city (kabupaten/kota); national summaries group families by it."""
    provinsi: str = ""
    """The province; national summaries group families by it."""


@dataclass(frozen=True, slots=True)
class Facilitator:
    """A PKH facilitator (pendamping) who socialises the schedule and collects the TTB.

    Read from ``[files] facilitators`` (``id, name, phone``); drop points name theirs in the
    optional ``facilitator`` column.
    """

    id: str
    name: str
    phone: str = ""


@dataclass(frozen=True, slots=True)
class PaperSettings:
    """How the field papers are printed (``[papers]`` in ``scenario.toml``).

    ``full_nik`` prints each family's NIK whole on the TTB lists; by default (``False``) only
    its first 4 and last 4 digits are shown, since the papers travel through many hands.
    """

    full_nik: bool = False


@dataclass(frozen=True, slots=True)
class Tranche:
    """A delivery round: ``kg_per_kpm`` per family from ``release`` to ``deadline``, inclusive."""

    id: str
    name: str
    kg_per_kpm: float
    release: date
    deadline: date


@dataclass(frozen=True, slots=True)
class Calendar:
    """Working days (``date.weekday()`` numbers), holidays and the default shift."""

    working_days: frozenset[int] = frozenset(range(6))
    holidays: frozenset[date] = frozenset()
    shift_start_s: int = 7 * 3600
    shift_end_s: int = 17 * 3600

    def is_working_day(self, day: date) -> bool:
        """Return whether trucks may drive on ``day``."""
        return day.weekday() in self.working_days and day not in self.holidays

    def working_days_between(self, first: date, last: date) -> list[date]:
        """All working days from ``first`` to ``last``, both inclusive, in order."""
        days: list[date] = []
        day = first
        while day <= last:
            if self.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days


TRAVEL_SOURCES = ("straight", "osm", "matrix")
"""Where road distances and times come from (``[travel] source``)."""

ACCESS_CLASSES = ("big", "small")
"""Which roads a truck may use. ``big``: every motor road but tracks, ways narrower than 3 m
and ``hgv=no``; ``small``: every motor road. A travel model that holds one class only (the
straight line, a ``matrix`` file) serves every truck from it."""

DEFAULT_ROAD_SPEED_KMH: tuple[tuple[str, float], ...] = (
    ("motorway", 60.0),
    ("trunk", 50.0),
    ("primary", 40.0),
    ("secondary", 35.0),
    ("tertiary", 30.0),
    ("unclassified", 20.0),
    ("residential", 20.0),
    ("living_street", 10.0),
    ("service", 15.0),
    ("track", 10.0),
)
"""Truck speeds by OSM ``highway`` value (``*_link`` roads take their road's speed); estimates
from PP 34/2006's design speeds (arterial 60, collector 40, local 20, village 15) and toll-road
observations (60-80 km/h), see ../shared/DOMAIN.md. ``[travel.speed_kmh]`` overrides any of
them; a way's ``maxspeed`` tag lowers it."""


@dataclass(frozen=True, slots=True)
class TravelSettings:
    """How road distances and driving times are found (``[travel]`` in ``scenario.toml``).

    With ``source = "straight"`` (the default), road km = haversine km x ``circuity`` at
    ``speed_kmh``. With ``"osm"`` they come from the roads of ``osm_file``, at
    ``road_speed_kmh`` by road class; with ``"matrix"`` from ``matrix_file``. File paths are
    relative to the scenario folder. A place farther than ``max_snap_m`` from every road its
    trucks may use is unreachable (``no_road``). ``access`` overrides, per truck type, the
    access class a truck gets by capacity (``small`` up to ``small_truck_max_kg``).
    """

    speed_kmh: float = 30.0
    circuity: float = 1.4
    source: str = "straight"
    osm_file: str | None = None
    matrix_file: str | None = None
    max_snap_m: float = 500.0
    road_speed_kmh: tuple[tuple[str, float], ...] = DEFAULT_ROAD_SPEED_KMH
    small_truck_max_kg: float = 2500.0
    access: tuple[tuple[str, str], ...] = ()
    """``(truck type, access class)`` overrides from ``[travel.access]``."""

    def truck_access(self, truck: Truck) -> str:
        """Return the access class (``big`` or ``small``) of ``truck``.

        Its type's ``[travel.access]`` override if any, else by capacity.
        """
        for truck_type, access in self.access:
            if truck_type == truck.type:
                return access
        return "small" if truck.capacity_kg <= self.small_truck_max_kg else "big"

    def speeds_kmh(self) -> dict[str, float]:
        """Speed by OSM ``highway`` value, defaults overridden by the scenario's."""
        return dict(self.road_speed_kmh)

    def road_km(self, lon1: float, lat1: float, lon2: float, lat2: float) -> float:
        """Estimated road distance between two points."""
        return haversine_km(lon1, lat1, lon2, lat2) * self.circuity

    def travel_s(self, road_km: float) -> int:
        """Driving time in whole seconds, rounded up so that it is never shorter than the model."""
        # A tiny epsilon keeps exact products (e.g. 3600.0000000001) from rounding a second up
        # on one machine and not on another; ceil keeps every leg at least the model's time.
        return math.ceil(road_km / self.speed_kmh * 3600 - 1e-9)


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Times spent at stops and at the warehouse."""

    stop_min: float = 15.0
    per_100kg_min: float = 1.0
    loading_min: float = 30.0

    @property
    def loading_s(self) -> int:
        """Loading time before each trip, in whole seconds (rounded up)."""
        return math.ceil(self.loading_min * 60 - 1e-9)

    def service_s(self, point: DropPoint, kg: float) -> int:
        """Unloading time at ``point`` for ``kg``, in whole seconds (rounded up)."""
        base_min = point.service_min if point.service_min is not None else self.stop_min
        return math.ceil((base_min + self.per_100kg_min * kg / 100.0) * 60 - 1e-9)


@dataclass(frozen=True, slots=True)
class ObjectiveSettings:
    """Weights of the plan's cost.

    ``wait_cost_per_kpm_day`` is the secondary term: the cost of one family waiting one day
    between its tranche's release and its delivery. Zero lets the planner pack trucks tighter
    at the price of later deliveries.
    """

    wait_cost_per_kpm_day: float = 100.0


@dataclass(frozen=True, slots=True)
class SolverSettings:
    """Search budget and strategy.

    ``solution_limit`` is the deterministic budget: the number of solutions each routing
    subproblem may find. With it (and a time limit that is not reached) the same inputs and seed
    give the same plan, byte for byte.
    """

    time_limit_s: float = 60.0
    seed: int = 0
    strategy: str = "default"
    solution_limit: int | None = None


@dataclass(frozen=True)
class Scenario:
    """A complete, validated planning scenario."""

    name: str
    start_date: date
    warehouses: tuple[Warehouse, ...]
    trucks: tuple[Truck, ...]
    drop_points: tuple[DropPoint, ...]
    tranches: tuple[Tranche, ...]
    sack_kg: float = 15.0
    timezone: str = "Asia/Jakarta"
    calendar: Calendar = field(default_factory=Calendar)
    travel: TravelSettings = field(default_factory=TravelSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    objective: ObjectiveSettings = field(default_factory=ObjectiveSettings)
    solver: SolverSettings = field(default_factory=SolverSettings)
    boundaries_file: str | None = None
    """Village boundaries for the map's background (``[files] boundaries``), relative to the
    scenario folder; ``None`` when the scenario gives none."""
    replan: ReplanSettings = field(default_factory=ReplanSettings)
    """``[replan]``: how a re-plan treats what was announced and what was rejected."""
    facilitators: tuple[Facilitator, ...] = ()
    """PKH facilitators (``[files] facilitators``); empty when the scenario names none."""
    roster_file: str | None = None
    """The families' roster (``[files] kpm``), relative to the scenario folder; it holds
    names and NIKs, so it is read on demand for the TTB papers only
    (:func:`geodata.roster_io.read_roster`), never kept in the scenario."""
    papers: PaperSettings = field(default_factory=PaperSettings)
    """``[papers]``: how the field papers are printed."""

    def demand_kg(self, point: DropPoint, tranche: Tranche) -> float:
        """Rice owed to ``point`` for ``tranche``: families x kg per family."""
        return point.kpm * tranche.kg_per_kpm

    def warehouse(self, warehouse_id: str) -> Warehouse:
        """Look a warehouse up by id (raises ``KeyError``)."""
        return self._index.warehouses[warehouse_id]

    def drop_point(self, point_id: str) -> DropPoint:
        """Look a drop point up by id (raises ``KeyError``)."""
        return self._index.drop_points[point_id]

    def tranche(self, tranche_id: str) -> Tranche:
        """Look a tranche up by id (raises ``KeyError``)."""
        return self._index.tranches[tranche_id]

    def truck(self, truck_id: str) -> Truck:
        """Look a truck up by id (raises ``KeyError``)."""
        return self._index.trucks[truck_id]

    def facilitator(self, facilitator_id: str) -> Facilitator:
        """Look a facilitator up by id (raises ``KeyError``)."""
        return self._index.facilitators[facilitator_id]

    @cached_property
    def _index(self) -> _ScenarioIndex:
        # cached_property writes straight into __dict__, which a frozen dataclass allows.
        return _ScenarioIndex(
            warehouses={w.id: w for w in self.warehouses},
            drop_points={p.id: p for p in self.drop_points},
            tranches={t.id: t for t in self.tranches},
            trucks={t.id: t for t in self.trucks},
            facilitators={f.id: f for f in self.facilitators},
        )


@dataclass(frozen=True)
class _ScenarioIndex:
    warehouses: dict[str, Warehouse]
    drop_points: dict[str, DropPoint]
    tranches: dict[str, Tranche]
    trucks: dict[str, Truck]
    facilitators: dict[str, Facilitator]
