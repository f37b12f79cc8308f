"""Travel models: road distance and driving time between places, as the planner sees them.

The planner asks a :class:`TravelModel` for every distance and driving time it uses (screening,
routing matrices and the timing of trips), so the routing model, the trip timing and the
reported ``distance_km`` agree to the metre and the second. Places are indices: the scenario's
warehouses, then its drop points. :class:`StraightLine` is great-circle distance x circuity at
a constant speed, one class for every truck; :class:`RoadMatrix` holds road distances and times
per access class (big trucks keep off tracks and narrow ways), built by ``geodata`` from an
OpenStreetMap extract or a matrix file. :func:`travel_model` picks the one a plan uses.

The independent checker (:mod:`optimizer.checker`) computes its own distances from the same
settings on purpose and does not use this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from optimizer.geometry import FloatArray, IntArray, haversine_matrix_km
from optimizer.model import Scenario


class TravelModel(Protocol):
    """Road distances and driving times between a scenario's places, per access class.

    Places are numbered as the planner numbers them: the scenario's warehouses in order, then
    its drop points in order. A model holds one matrix per access class (``access``); a truck
    drives the one :meth:`access_index` gives for its class. Times are whole seconds, never
    shorter than the model's own (rounded up); a pair no road connects has ``inf`` km and
    :data:`NO_ROAD_S` seconds.
    """

    @property
    def access(self) -> tuple[str, ...]:
        """The access classes held, one matrix each."""
        ...

    @property
    def symmetric(self) -> bool:
        """Whether every matrix is symmetric (a place pair takes as long both ways)."""
        ...

    @property
    def snap_m(self) -> FloatArray | None:
        """Metres from each place to the nearest road of each class, or ``None``.

        ``(len(access), n places)``; ``None`` when places need no road (the straight line).
        """
        ...

    @property
    def snap_road(self) -> tuple[tuple[str, ...], ...]:
        """Name of that road per class and place (empty without roads)."""
        ...

    def access_index(self, access: str) -> int:
        """Index of the matrix a truck of access class ``access`` drives on."""
        ...

    def km_s(self, rows: IntArray, cols: IntArray, access: int = 0) -> tuple[FloatArray, IntArray]:
        """Return road km and driving seconds from every place of ``rows`` to every ``cols``.

        Places are indices; ``access`` is the index of the class whose matrix is read.
        """
        ...


@dataclass(frozen=True, eq=False)
class StraightLine:
    """Road km = great-circle km x ``circuity``; driving time at ``speed_kmh``.

    One class serves every truck: no road is closed to anyone and no place is off the road.

    Parameters
    ----------
    circuity
        Road km per great-circle km (above 1: roads wind).
    speed_kmh
        Mean driving speed.
    lon, lat
        Coordinates of the places (degrees, WGS84): warehouses, then drop points.
    """

    circuity: float
    speed_kmh: float
    lon: FloatArray
    lat: FloatArray

    @property
    def access(self) -> tuple[str, ...]:
        """One class, ``all``: every truck drives the same straight lines."""
        return ("all",)

    @property
    def symmetric(self) -> bool:
        """Always: great circles are the same both ways."""
        return True

    @property
    def snap_m(self) -> FloatArray | None:
        """``None``: places need no road."""
        return None

    @property
    def snap_road(self) -> tuple[tuple[str, ...], ...]:
        """Empty: there are no roads."""
        return ()

    def access_index(self, access: str) -> int:
        """Return 0: one matrix serves every truck."""
        return 0

    def km_s(self, rows: IntArray, cols: IntArray, access: int = 0) -> tuple[FloatArray, IntArray]:
        """Return road km and driving seconds from every place of ``rows`` to every one of ``cols``.

        Parameters
        ----------
        rows, cols
            Place indices (warehouses first, then drop points).
        access
            Ignored: one class.

        Returns
        -------
        tuple[FloatArray, IntArray]
            ``len(rows) x len(cols)`` road km, and driving seconds rounded up (as
            :meth:`optimizer.model.TravelSettings.travel_s` rounds one leg).
        """
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        road_km = (
            haversine_matrix_km(self.lon[rows], self.lat[rows], self.lon[cols], self.lat[cols])
            * self.circuity
        )
        return road_km, self.seconds(road_km)

    def seconds(self, road_km: FloatArray) -> IntArray:
        """Driving times in whole seconds for road distances, rounded up.

        The epsilon keeps exact products (3600.0000000001) from rounding a second up on one
        machine and not on another, as in :meth:`optimizer.model.TravelSettings.travel_s`.
        """
        return np.ceil(road_km / self.speed_kmh * 3600 - 1e-9).astype(np.int64)


def place_ids(scenario: Scenario) -> tuple[str, ...]:
    """Return the places in the planner's numbering: warehouse ids, then drop point ids."""
    return tuple(w.id for w in scenario.warehouses) + tuple(p.id for p in scenario.drop_points)


def travel_model(scenario: Scenario, road: RoadMatrix | None = None) -> TravelModel:
    """Return the travel model a scenario plans with.

    Parameters
    ----------
    scenario
        The scenario; its ``[travel]`` settings give the straight line's circuity and speed.
    road
        Road distances and times between the scenario's places (from an OpenStreetMap extract
        or a matrix file), when its travel source is not the straight line.

    Returns
    -------
    TravelModel
        ``road`` when given (as :class:`WithinSnap`: a class cannot drive to a place farther
        than ``max_snap_m`` from its roads), else :class:`StraightLine` over the scenario's
        places.

    Raises
    ------
    ValueError
        If ``road`` does not hold the scenario's places in the planner's order, or its arrays
        do not match them.
    """
    if road is not None:
        expected = place_ids(scenario)
        if tuple(road.place_ids) != expected:
            raise ValueError(
                "the road matrix does not hold the scenario's warehouses and drop points in "
                "scenario order"
            )
        n, k = len(expected), len(road.access)
        shapes = {
            "km": (road.km.shape, (k, n, n)),
            "seconds": (road.seconds.shape, (k, n, n)),
            "snap_m": (road.snap_m.shape, (k, n)),
        }
        for name, (shape, wanted) in shapes.items():
            if tuple(shape) != wanted:
                raise ValueError(f"the road matrix's {name} has shape {shape}, not {wanted}")
        return WithinSnap(road, scenario.travel.max_snap_m)
    coords = [(w.lon, w.lat) for w in scenario.warehouses]
    coords += [(p.lon, p.lat) for p in scenario.drop_points]
    lonlat = np.array(coords, dtype=np.float64).reshape(-1, 2)
    return StraightLine(
        circuity=scenario.travel.circuity,
        speed_kmh=scenario.travel.speed_kmh,
        lon=np.ascontiguousarray(lonlat[:, 0]),
        lat=np.ascontiguousarray(lonlat[:, 1]),
    )


NO_ROAD_S = 10**7
"""Seconds :class:`RoadMatrix` gives a pair no road connects: longer than any shift, so no
search can use the leg."""


@dataclass(frozen=True, eq=False)
class RoadMatrix:
    """Road km and driving seconds between every pair of a scenario's places, per access class.

    Built by ``geodata`` (from an OpenStreetMap extract or a matrix file) and handed to the
    planner; the optimizer never reads road files. Places are numbered as the planner numbers
    them: the scenario's warehouses in order, then its drop points in order.

    Attributes
    ----------
    place_ids
        Warehouse ids then drop point ids (scenario order).
    access
        The access classes held (see :data:`optimizer.model.ACCESS_CLASSES`), one matrix
        each: ``("big", "small")`` from roads, ``("all",)`` from a matrix file (every truck).
    km
        ``(len(access), n, n)`` float64 road km from row place to column place; ``inf`` where
        no road of that class connects them.
    seconds
        ``(len(access), n, n)`` int64 driving seconds, rounded up; :data:`NO_ROAD_S` where
        ``km`` is ``inf``.
    snap_m
        ``(len(access), n)`` metres from each place to the nearest road of that class it
        attaches to; ``inf`` where the network has none. The planner compares it with
        ``max_snap_m``.
    snap_road
        ``(len(access), n)`` name of that road (its ``name`` tag, else its ``highway`` value),
        for reasons and popups.
    provenance
        Where the numbers come from (source, file, bytes, sha256, speeds, rules), JSON-ready;
        written to the plan folder.
    """

    place_ids: tuple[str, ...]
    access: tuple[str, ...]
    km: FloatArray
    seconds: IntArray
    snap_m: FloatArray
    snap_road: tuple[tuple[str, ...], ...]
    provenance: dict[str, object]

    @property
    def symmetric(self) -> bool:
        """``False``: one-way streets make road matrices asymmetric (not checked, not needed)."""
        return False

    def access_index(self, access: str) -> int:
        """Index of the matrix a truck of access class ``access`` drives on.

        A one-class matrix (``("all",)``) serves every class; otherwise ``small`` falls back
        to ``big``'s matrix when only that one is held, and vice versa.
        """
        if access in self.access:
            return self.access.index(access)
        return 0

    def km_s(self, rows: IntArray, cols: IntArray, access: int = 0) -> tuple[FloatArray, IntArray]:
        """Return road km and seconds from every place of ``rows`` to every one of ``cols``.

        Parameters
        ----------
        rows, cols
            Place indices (warehouses first, then drop points).
        access
            Index into :attr:`access`.

        Returns
        -------
        tuple[FloatArray, IntArray]
            ``len(rows) x len(cols)`` road km (``inf`` where no road) and seconds.
        """
        grid = np.ix_(np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))
        return self.km[access][grid], self.seconds[access][grid]


@dataclass(frozen=True, eq=False)
class WithinSnap:
    """A :class:`RoadMatrix` whose legs end only at places near a road of the leg's class.

    The matrix holds a path between every pair of places its roads connect, however far a
    place is from its road; a truck of a class cannot reach a place farther than
    ``max_snap_m`` from every road of that class, so every leg to or from such a place reads
    as no road (``inf`` km, :data:`NO_ROAD_S`) here, for the search, the trip timing and
    screening alike.
    """

    road: RoadMatrix
    max_snap_m: float

    @property
    def access(self) -> tuple[str, ...]:
        """The access classes held, one matrix each."""
        return self.road.access

    @property
    def symmetric(self) -> bool:
        """Road matrices are not assumed symmetric (one-way streets)."""
        return False

    @property
    def snap_m(self) -> FloatArray:
        """Metres from each place to the nearest road of each class (not capped)."""
        return self.road.snap_m

    @property
    def snap_road(self) -> tuple[tuple[str, ...], ...]:
        """Name of that road per class and place."""
        return self.road.snap_road

    def access_index(self, access: str) -> int:
        """Index of the matrix a truck of access class ``access`` drives on."""
        return self.road.access_index(access)

    def km_s(self, rows: IntArray, cols: IntArray, access: int = 0) -> tuple[FloatArray, IntArray]:
        """As :meth:`RoadMatrix.km_s`, with no road where an end is beyond ``max_snap_m``."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        km, secs = self.road.km_s(rows, cols, access)
        near = self.road.snap_m[access] <= self.max_snap_m
        # A place is no distance from itself, however far from a road (matrices keep a zero
        # diagonal).
        far = ~(near[rows][:, None] & near[cols][None, :]) & (rows[:, None] != cols[None, :])
        if far.any():
            km = np.where(far, np.inf, km)
            secs = np.where(far, NO_ROAD_S, secs)
        return km, secs
