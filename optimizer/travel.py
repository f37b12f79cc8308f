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
