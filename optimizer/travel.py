"""Travel models: road distance and driving time between places, as the planner sees them.

The planner asks a :class:`TravelModel` for every distance and driving time it uses (screening,
routing matrices and the timing of trips), so the routing model, the trip timing and the
reported ``distance_km`` agree to the metre and the second. :class:`StraightLine` is the one
model today: great-circle distance x circuity, at a constant speed. A road network plugs in
here as another model; :func:`travel_model` picks the model a scenario's
:class:`~optimizer.model.TravelSettings` asks for.

The independent checker (:mod:`optimizer.checker`) computes its own distances from the same
settings on purpose and does not use this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from optimizer.geometry import FloatArray, IntArray, haversine_matrix_km
from optimizer.model import TravelSettings


class TravelModel(Protocol):
    """Road distances and driving times between two sets of places.

    Places are given as longitude and latitude arrays (degrees, WGS84). Times are whole
    seconds, never shorter than the model's own (rounded up).
    """

    def km_s(
        self, lon_a: FloatArray, lat_a: FloatArray, lon_b: FloatArray, lat_b: FloatArray
    ) -> tuple[FloatArray, IntArray]:
        """Return road km and driving seconds from every place of A (rows) to B (columns)."""
        ...


@dataclass(frozen=True, slots=True)
class StraightLine:
    """Road km = great-circle km x ``circuity``; driving time at ``speed_kmh``.

    Parameters
    ----------
    circuity
        Road km per great-circle km (above 1: roads wind).
    speed_kmh
        Mean driving speed.
    """

    circuity: float
    speed_kmh: float

    def km_s(
        self, lon_a: FloatArray, lat_a: FloatArray, lon_b: FloatArray, lat_b: FloatArray
    ) -> tuple[FloatArray, IntArray]:
        """Return road km and driving seconds from every place of A (rows) to B (columns).

        Parameters
        ----------
        lon_a, lat_a
            Places of A (degrees).
        lon_b, lat_b
            Places of B (degrees).

        Returns
        -------
        tuple[FloatArray, IntArray]
            ``len(A) x len(B)`` road km, and driving seconds rounded up (as
            :meth:`optimizer.model.TravelSettings.travel_s` rounds one leg).
        """
        road_km = haversine_matrix_km(lon_a, lat_a, lon_b, lat_b) * self.circuity
        return road_km, self.seconds(road_km)

    def seconds(self, road_km: FloatArray) -> IntArray:
        """Driving times in whole seconds for road distances, rounded up.

        The epsilon keeps exact products (3600.0000000001) from rounding a second up on one
        machine and not on another, as in :meth:`optimizer.model.TravelSettings.travel_s`.
        """
        return np.ceil(road_km / self.speed_kmh * 3600 - 1e-9).astype(np.int64)


def travel_model(settings: TravelSettings) -> TravelModel:
    """Return the travel model a scenario's travel settings ask for.

    Parameters
    ----------
    settings
        The scenario's ``[travel]`` settings.

    Returns
    -------
    TravelModel
        Today always :class:`StraightLine` with the settings' circuity and speed.
    """
    return StraightLine(circuity=settings.circuity, speed_kmh=settings.speed_kmh)


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
