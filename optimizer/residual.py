"""What is left to plan after a re-plan keeps routes: the planner's *residual* hooks.

:func:`optimizer.planner.plan_scenario` plans a whole scenario; given a :class:`Residual` it
plans only what the residual says is still owed, on the days, trucks and stock still free.
:mod:`optimizer.replan` builds the residual from a previous plan and the field's progress.
Times are seconds after local midnight; dates are calendar dates of the scenario's timezone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

__all__ = ["REPLACEMENT", "ExtraDelivery", "Residual"]

REPLACEMENT = "replacement"
"""``Stop.kind`` of a stop that brings replacement rice (and takes rejected rice back)."""


@dataclass(frozen=True)
class ExtraDelivery:
    """A delivery on top of the families' rations: replacement rice for rejected kg.

    ``sacks`` whole sacks go to ``drop_point`` for ``tranche`` on a working day from the
    residual's start to ``due`` (both included); the stops that bring them take
    ``pickup_kg`` of rejected rice back on board (spread over the stops, never more than a
    stop's own kg). Replacement sacks are not whole rations: they replace sacks.
    """

    drop_point: str
    tranche: str
    sacks: int
    due: date
    pickup_kg: float
    kind: str = REPLACEMENT


@dataclass(frozen=True)
class Residual:
    """The part of a scenario still to plan, and what kept routes already use.

    Every mapping is by scenario id; an absent key means the default given per field.
    """

    start_date: date
    """No new trip before this day."""
    families: Mapping[tuple[str, str], int]
    """(point, tranche) -> families still to plan (absent: 0, nothing to plan)."""
    stock_kg: Mapping[str, float]
    """Warehouse -> kg its new trips may load (absent: 0)."""
    truck_off: Mapping[str, frozenset[date]]
    """Truck -> days it may take no new trip."""
    closed: Mapping[str, frozenset[date]]
    """Point -> days no new trip may stop there."""
    busy: Mapping[tuple[str, date], tuple[int, int]]
    """(truck, day) -> (seconds after midnight the truck is back from its last kept trip,
    trips it already makes that day). New trips load after that return, are numbered after
    the kept ones and count against ``max_trips_per_day``."""
    announced: Mapping[tuple[str, str], date]
    """(point, tranche) -> the day its delivery was announced; placing its families on
    another working day costs ``move_cost_per_kpm_day`` per family and working day moved."""
    move_cost_per_kpm_day: float = 0.0
    extra: tuple[ExtraDelivery, ...] = ()
    """Replacement deliveries, each planned on its own stops."""
