"""Why a delivery was not planned: the figures behind each reason, and its English sentence.

The planner records a :class:`ReasonFacts` for every unassigned delivery: which warehouses,
how far, which opening hours, which days. ``plan.json`` carries the facts (``reason_facts``)
next to the English sentence (``reason``, the machine contract), so that papers and maps can
say the same thing in Bahasa Indonesia (``geodata``) without parsing English text.

One function per reason code writes the English sentence, here, so the sentence and its
facts cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Any


class ReasonCode(StrEnum):
    """Why a delivery was not planned. Documented in ``docs/plan-format.md``."""

    STOCK = "stock"
    """No warehouse that can reach the point had stock left."""
    DEADLINE = "deadline"
    """No working day between the tranche's release (or the start date) and its deadline."""
    CAPACITY = "capacity"
    """No truck (at a warehouse that could serve the point) can carry a single sack."""
    SHIFT = "shift"
    """The round trip from every warehouse is longer than every truck's shift."""
    TIME_WINDOW = "time_window"
    """The point's opening hours cannot be met within any truck's shift."""
    FLEET_TIME = "fleet_time"
    """The trucks had no shift time (or trips) left before the tranche's deadline."""
    SOLVER = "solver"
    """The routing search found no route for it within its budget."""


@dataclass(frozen=True, slots=True)
class ReasonFacts:
    """The figures behind one unassigned delivery's reason.

    Every field is optional: each reason code uses the ones it needs (listed in
    ``docs/plan-format.md``). Times of day are seconds after local midnight.
    """

    warehouses: tuple[str, ...] = ()
    """Warehouses the reason is about: the nearest one, or every one that could reach the point."""
    leftover_kg: tuple[float, ...] = ()
    """Stock left at each of ``warehouses`` at the end of planning (``stock``), in their order."""
    ration_kg: float | None = None
    """One family's ration: stock below it cannot serve a family (``stock``); no truck carries
    it (``capacity``)."""
    distance_km: float | None = None
    """Road distance from the (nearest) warehouse to the point."""
    travel_min: float | None = None
    """Driving time from the (nearest) warehouse to the point, each way."""
    shift_h: float | None = None
    """Longest truck shift, in hours."""
    open_s: int | None = None
    """When the point opens (unloading may start)."""
    close_s: int | None = None
    """When the point closes (the latest start of unloading)."""
    largest_truck_kg: float | None = None
    """Payload of the largest truck that could reach the point (``capacity``)."""
    trucks: int | None = None
    """Trucks based at the warehouse (``fleet_time``)."""
    trip_h: float | None = None
    """Duration of the trip that found no truck-day (``fleet_time``)."""
    trip_kg: float | None = None
    """Load of that trip (``fleet_time``)."""
    working_days: int | None = None
    """Working days in the tranche's window (``fleet_time``)."""
    first_day: date | None = None
    """First day deliveries of the tranche may be made."""
    deadline: date | None = None
    """The tranche's deadline."""
    start_date: date | None = None
    """The scenario's start date (``deadline``)."""
    no_trucks: bool = False
    """No warehouse has any truck (``capacity``)."""


def facts_to_dict(facts: ReasonFacts) -> dict[str, Any]:
    """Return the facts as JSON-ready values, leaving out the fields that are not set."""
    out: dict[str, Any] = {}
    for item in fields(facts):
        value = getattr(facts, item.name)
        if value is None or value == () or value is False:
            continue
        if isinstance(value, date):
            out[item.name] = value.isoformat()
        elif isinstance(value, tuple):
            out[item.name] = [_plain(v) for v in value]
        else:
            out[item.name] = _plain(value)
    return out


def facts_from_dict(data: Mapping[str, Any]) -> ReasonFacts:
    """Read facts written by :func:`facts_to_dict` (unknown keys are ignored).

    Raises
    ------
    ValueError, TypeError
        If a value has the wrong type.
    """
    values: dict[str, Any] = {}
    for item in fields(ReasonFacts):
        if item.name not in data:
            continue
        raw = data[item.name]
        if item.name == "warehouses":
            values[item.name] = tuple(str(v) for v in raw)
        elif item.name == "leftover_kg":
            values[item.name] = tuple(float(v) for v in raw)
        elif item.name in ("first_day", "deadline", "start_date"):
            values[item.name] = date.fromisoformat(str(raw))
        elif item.name in ("open_s", "close_s", "trucks", "working_days"):
            values[item.name] = int(raw)
        elif item.name == "no_trucks":
            values[item.name] = bool(raw)
        else:
            values[item.name] = float(raw)
    return ReasonFacts(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 3)
    return value


def _hhmm(seconds: int | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _kg(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f} kg"


def _day(value: date | None) -> str:
    return "?" if value is None else value.isoformat()


def english_reason(code: ReasonCode, facts: ReasonFacts, drop_point: str, tranche: str) -> str:
    """Return the English sentence that ``plan.json`` gives as an unassigned delivery's ``reason``.

    Parameters
    ----------
    code
        The reason code.
    facts
        The figures behind it.
    drop_point, tranche
        Ids of the delivery.

    Returns
    -------
    str
        One or two sentences a planner can act on.
    """
    wh = facts.warehouses[0] if facts.warehouses else "?"
    if code is ReasonCode.STOCK:
        left = ", ".join(
            f"{w} {_kg(kg)}" for w, kg in zip(facts.warehouses, facts.leftover_kg, strict=False)
        )
        return (
            f"The warehouses that can reach drop point {drop_point} have no stock left for "
            f"one more family's ration ({_kg(facts.ration_kg)}) of tranche {tranche} "
            f"(stock left at the end of planning: {left or 'none'})."
        )
    if code is ReasonCode.DEADLINE:
        return (
            f"Tranche {tranche} has no working day between {_day(facts.first_day)} and its "
            f"deadline {_day(facts.deadline)} (start date {_day(facts.start_date)}, working days "
            "and holidays of the calendar)."
        )
    if code is ReasonCode.CAPACITY:
        if facts.no_trucks:
            return "No warehouse has a truck."
        return (
            f"No truck that could reach drop point {drop_point} carries a family's ration "
            f"({facts.ration_kg or 0:g} kg; largest truck {facts.largest_truck_kg or 0:g} kg)."
        )
    if code is ReasonCode.SHIFT:
        return (
            f"The nearest warehouse {wh} is {facts.distance_km or 0:.1f} km away by road "
            f"({facts.travel_min or 0:.0f} min each way): with loading and unloading, the round "
            f"trip does not fit in the longest shift ({facts.shift_h or 0:.1f} h)."
        )
    if code is ReasonCode.TIME_WINDOW:
        window = f"{_hhmm(facts.open_s)}-{_hhmm(facts.close_s)}"
        if facts.distance_km is None:
            return (
                f"Drop point {drop_point}'s opening hours ({window}) could not be met on a trip "
                f"from warehouse {wh} within a shift."
            )
        return (
            f"Drop point {drop_point} is open {window}; from the nearest warehouse {wh} "
            f"({facts.distance_km:.1f} km, {facts.travel_min or 0:.0f} min) no truck can arrive "
            "in that window and be back before its shift ends."
        )
    if code is ReasonCode.FLEET_TIME:
        what = (
            f"this {facts.trip_h:.1f} h trip ({_kg(facts.trip_kg)})"
            if facts.trip_h is not None
            else f"these {_kg(facts.trip_kg)}"
        )
        return (
            f"Not enough fleet before the deadline: warehouse {wh}'s {facts.trucks or 0} "
            f"truck(s) had no shift time or trips left for {what} on any of the "
            f"{facts.working_days or 0} working days from {_day(facts.first_day)} to tranche "
            f"{tranche}'s deadline {_day(facts.deadline)}."
        )
    return f"The routing search found no route for drop point {drop_point} within its budget."
