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
from typing import Any, Protocol


class ReasonCode(StrEnum):
    """Why a delivery was not planned. Documented in ``docs/plan-format.md``."""

    STOCK = "stock"
    """No warehouse that can reach the point had stock left."""
    DEADLINE = "deadline"
    """No working day between the tranche's release (or the start date) and its deadline."""
    CLOSED = "closed"
    """A re-plan: the point is closed (``closed.csv``) on every working day left before the
    deadline (or a replacement's due day)."""
    CAPACITY = "capacity"
    """No truck (at a warehouse that could serve the point) can carry a family's ration, or
    only small trucks can reach the point and its warehouses have none."""
    SHIFT = "shift"
    """The round trip from every warehouse is longer than every truck's shift."""
    TIME_WINDOW = "time_window"
    """The point's opening hours cannot be met within any truck's shift."""
    FLEET_TIME = "fleet_time"
    """The trucks had no shift time (or trips) left before the tranche's deadline."""
    SOLVER = "solver"
    """The routing search found no route for it within its budget."""
    NO_ROAD = "no_road"
    """The point is farther than ``[travel] max_snap_m`` from every road its trucks may use, or
    no such road connects it with a warehouse."""


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
    small_only: bool = False
    """Only small trucks can reach the point, and no warehouse that could serve it has one
    (``capacity``)."""
    road: str | None = None
    """The road the point lies on that big trucks may not take (``capacity``), or the nearest
    road its trucks may use (``no_road``): its name, else its OSM ``highway`` value."""
    snap_km: float | None = None
    """Distance from the point to the nearest road its trucks may use (``no_road``); missing
    when there is none at all."""
    max_snap_km: float | None = None
    """The farthest a place may lie from its road, ``[travel] max_snap_m`` in km (``no_road``)."""


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
        elif item.name in ("no_trucks", "small_only"):
            values[item.name] = bool(raw)
        elif item.name == "road":
            values[item.name] = str(raw)
        else:
            values[item.name] = float(raw)
    return ReasonFacts(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 3)
    return value


class Formats(Protocol):
    """How a sentence writes the facts' numbers and dates (``?`` for a fact that is missing)."""

    def kg(self, value: float | None) -> str:
        """Write a mass with its unit, e.g. ``4,620 kg``."""
        ...

    def km(self, value: float | None) -> str:
        """Write a distance with its unit, e.g. ``12.3 km``."""
        ...

    def minutes(self, value: float | None) -> str:
        """Write whole minutes, without the unit."""
        ...

    def hours(self, value: float | None) -> str:
        """Write hours to one decimal, without the unit."""
        ...

    def day(self, value: date | None) -> str:
        """Write a date."""
        ...

    def window(self, open_s: int | None, close_s: int | None) -> str:
        """Write opening hours, e.g. ``08:00-15:00``."""
        ...


class PlainFormats:
    """The formats of ``plan.json``'s ``reason``: ISO dates, ``,`` thousands, ``.`` decimals."""

    def kg(self, value: float | None) -> str:
        """Write a mass with its unit, e.g. ``4,620 kg``."""
        return "?" if value is None else f"{value:,.0f} kg"

    def km(self, value: float | None) -> str:
        """Write a distance with its unit, e.g. ``12.3 km``."""
        return "?" if value is None else f"{value:.1f} km"

    def minutes(self, value: float | None) -> str:
        """Write whole minutes, without the unit."""
        return f"{value or 0:.0f}"

    def hours(self, value: float | None) -> str:
        """Write hours to one decimal, without the unit."""
        return f"{value or 0:.1f}"

    def day(self, value: date | None) -> str:
        """Write a date, ``YYYY-MM-DD``."""
        return "?" if value is None else value.isoformat()

    def window(self, open_s: int | None, close_s: int | None) -> str:
        """Write opening hours, ``HH:MM-HH:MM``."""
        if open_s is None or close_s is None:
            return "?"
        return f"{_hhmm(open_s)}-{_hhmm(close_s)}"


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def english_reason(
    code: ReasonCode,
    facts: ReasonFacts,
    drop_point: str,
    tranche: str,
    formats: Formats | None = None,
) -> str:
    """Return the English sentence that says why a delivery was not planned.

    Parameters
    ----------
    code
        The reason code.
    facts
        The figures behind it.
    drop_point, tranche
        Ids of the delivery.
    formats
        How numbers and dates are written: ``plan.json``'s plain formats by default; the
        English papers pass their locale's (:mod:`geodata.i18n`).

    Returns
    -------
    str
        One or two sentences a planner can act on.
    """
    fmt = formats or PlainFormats()
    f = facts
    wh = f.warehouses[0] if f.warehouses else "?"
    if code is ReasonCode.STOCK:
        left = ", ".join(
            f"{w} {fmt.kg(kg)}" for w, kg in zip(f.warehouses, f.leftover_kg, strict=False)
        )
        return (
            f"The warehouses that can reach drop point {drop_point} have no stock left for "
            f"one more family's ration ({fmt.kg(f.ration_kg)}) of tranche {tranche} "
            f"(stock left at the end of planning: {left or 'none'})."
        )
    if code is ReasonCode.DEADLINE:
        return (
            f"Tranche {tranche} has no working day between {fmt.day(f.first_day)} and its "
            f"deadline {fmt.day(f.deadline)} (start date {fmt.day(f.start_date)}, working days "
            "and holidays of the calendar)."
        )
    if code is ReasonCode.CLOSED:
        return (
            f"Drop point {drop_point} is closed on every working day from "
            f"{fmt.day(f.first_day)} to {fmt.day(f.deadline)}, the last day for tranche "
            f"{tranche}."
        )
    if code is ReasonCode.CAPACITY:
        if f.no_trucks:
            return "No warehouse has a truck."
        if f.small_only:
            by = f" ({f.road} is closed to big trucks)" if f.road else ""
            return (
                f"Only small trucks can reach drop point {drop_point}{by}, and no warehouse that "
                "could serve it has a small truck."
            )
        return (
            f"No truck that could reach drop point {drop_point} carries a family's ration "
            f"({fmt.kg(f.ration_kg or 0)}; largest truck {fmt.kg(f.largest_truck_kg or 0)})."
        )
    if code is ReasonCode.SHIFT:
        return (
            f"The nearest warehouse {wh} is {fmt.km(f.distance_km or 0)} away by road "
            f"({fmt.minutes(f.travel_min)} min each way): with loading and unloading, the round "
            f"trip does not fit in the longest shift ({fmt.hours(f.shift_h)} h)."
        )
    if code is ReasonCode.TIME_WINDOW:
        window = fmt.window(f.open_s, f.close_s)
        if f.distance_km is None:
            return (
                f"Drop point {drop_point}'s opening hours ({window}) could not be met on a trip "
                f"from warehouse {wh} within a shift."
            )
        return (
            f"Drop point {drop_point} is open {window}; from the nearest warehouse {wh} "
            f"({fmt.km(f.distance_km)}, {fmt.minutes(f.travel_min)} min) no truck can arrive "
            "in that window and be back before its shift ends."
        )
    if code is ReasonCode.FLEET_TIME:
        what = (
            f"this {fmt.hours(f.trip_h)} h trip ({fmt.kg(f.trip_kg)})"
            if f.trip_h is not None
            else f"these {fmt.kg(f.trip_kg)}"
        )
        return (
            f"Not enough fleet before the deadline: warehouse {wh}'s {f.trucks or 0} "
            f"truck(s) had no shift time or trips left for {what} on any of the "
            f"{f.working_days or 0} working days from {fmt.day(f.first_day)} to tranche "
            f"{tranche}'s deadline {fmt.day(f.deadline)}."
        )
    if code is ReasonCode.NO_ROAD:
        on = f" ({f.road})" if f.road else ""
        if f.snap_km is None:
            return f"No road its trucks may use is near drop point {drop_point}."
        if f.max_snap_km is None or f.snap_km > f.max_snap_km:
            return (
                f"Drop point {drop_point}: nearest usable road {fmt.km(f.snap_km)} away{on}; "
                f"points farther than {fmt.km(f.max_snap_km)} from a road cannot be reached."
            )
        return (
            f"No road its trucks may use connects drop point {drop_point} (on {f.road or '?'}) "
            "with any warehouse."
        )
    return f"The routing search found no route for drop point {drop_point} within its budget."
