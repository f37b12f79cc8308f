"""Trip timing and the packing of trips onto truck-days.

A *trip* is a warehouse-stops-warehouse tour that any truck of the warehouse with enough
capacity and the trip's access class can drive (a trip routed for small trucks may use roads
big trucks may not, and its times are those of small trucks). Its timing depends only on when
it departs: :func:`trip_window` gives the earliest and latest departure that keep every arrival
inside the points' opening hours and the return inside the shift; :func:`time_trip` lays out
arrivals for a given departure.

:func:`pack_trips` then gives each trip a truck and a date: earliest working day first (families
wait less), trucks already on the road that day first (fewer truck-days), and inside a
truck-day the trips run in order of latest departure, each ``loading`` after the previous
return. Trips it cannot place are returned so that the planner reports them as ``fleet_time``.

For a re-plan, a truck has days off and busy days (kept trips: new ones load after their
return and are numbered after them), and a trip may carry a move cost per day; trips with one
first try only their cheapest days, so that a lost truck-day moves the trips it held rather
than pushing every later day's trips along.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

INF_S = 10**9


@dataclass(frozen=True, slots=True)
class TimedStop:
    """A stop's fixed data for timing: travel from the previous place, unloading, window."""

    travel_in_s: int
    service_s: int
    open_s: int
    close_s: int


@dataclass(frozen=True, slots=True)
class TripTiming:
    """Arrivals and departures (seconds after midnight) of one trip departing at ``depart_s``."""

    depart_s: int
    arrive_s: tuple[int, ...]
    leave_s: tuple[int, ...]
    return_s: int


def time_trip(stops: Sequence[TimedStop], travel_back_s: int, depart_s: int) -> TripTiming:
    """Lay a trip out from its departure: arrive, wait for opening if early, unload, go on.

    Parameters
    ----------
    stops
        The trip's stops in visiting order.
    travel_back_s
        Driving time from the last stop back to the warehouse.
    depart_s
        Departure from the warehouse, seconds after midnight.

    Returns
    -------
    TripTiming
        Arrival (start of unloading) and departure at each stop, and the return time.
    """
    arrive: list[int] = []
    leave: list[int] = []
    now = depart_s
    for stop in stops:
        now = max(now + stop.travel_in_s, stop.open_s)
        arrive.append(now)
        now += stop.service_s
        leave.append(now)
    return TripTiming(depart_s, tuple(arrive), tuple(leave), now + travel_back_s)


def trip_window(
    stops: Sequence[TimedStop], travel_back_s: int, earliest_s: int, shift_end_s: int
) -> tuple[int, int] | None:
    """Earliest and latest feasible departure of a trip, or ``None`` if it fits no departure.

    The latest departure comes from a backward pass: the latest arrival at each stop that still
    lets the rest of the trip meet its closing times and the shift end. Any departure between
    the two, waiting where early, is feasible.
    """
    latest_next = shift_end_s - travel_back_s
    for stop in reversed(stops):
        latest_arrive = min(stop.close_s, latest_next - stop.service_s)
        if latest_arrive < stop.open_s:
            return None
        latest_next = latest_arrive - stop.travel_in_s
    latest_depart = latest_next
    if latest_depart < earliest_s:
        return None
    # The earliest departure may still arrive after a close if an early wait pushes later
    # stops; the forward pass from the earliest departure is feasible iff arrivals respect the
    # backward latest times, which holds by construction when earliest <= latest.
    return earliest_s, latest_depart


@dataclass(frozen=True, slots=True)
class TruckShift:
    """What the packer needs of a truck."""

    truck_id: str
    capacity_sacks: int
    shift_start_s: int
    shift_end_s: int
    max_trips: int | None
    cost_per_day: float
    access: int = 0
    """The truck's access class (index into the travel model's classes)."""
    off_days: frozenset[date] = frozenset()
    """Days the truck takes no trip (out of service)."""
    busy: Mapping[date, tuple[int, int]] = field(default_factory=dict, compare=False)
    """Days the truck already drives kept trips: (back at the warehouse, seconds after
    midnight; trips made). New trips load after that return, are numbered after the kept ones
    and count against ``max_trips``."""


@dataclass(frozen=True, slots=True)
class TripToPack:
    """A trip awaiting a truck and a day.

    ``windows`` maps a shift (start, end) to the feasible departure range for trucks with that
    shift (``None``: infeasible for them). ``families`` weighs the waiting term.
    """

    key: int
    load_sacks: int
    days: tuple[date, ...]
    families: float
    duration_s: int
    windows: dict[tuple[int, int], tuple[int, int] | None]
    stops: tuple[TimedStop, ...] = ()
    """The trip's stops: when given, a departure's return time is timed exactly (waiting at
    points that open later shortens as the departure moves later); otherwise it is
    departure + ``duration_s``."""
    travel_back_s: int = 0
    access: int = 0
    """The access class the trip was routed and timed for: only trucks of that class take it."""
    move_cost: tuple[float, ...] = ()
    """The cost of running the trip on each of ``days`` (same order) for moving announced
    deliveries off their day; empty: no such cost."""
    moving_s: int = field(init=False, repr=False, compare=False)
    """Driving and unloading time, without waiting (the trip's length when nothing waits)."""
    earliest_return_s: int = field(init=False, repr=False, compare=False)
    """The return after waiting for every opening, as if it left at once."""

    def __post_init__(self) -> None:
        # Each stop maps a time t to max(t + travel + service, open + service): a max-plus
        # function, and so is their composition. The return after departing at d is therefore
        # max(d + moving, earliest_return), exactly, in O(1) for any departure.
        moving = sum(s.travel_in_s + s.service_s for s in self.stops) + self.travel_back_s
        earliest = time_trip(self.stops, self.travel_back_s, -INF_S).return_s
        object.__setattr__(self, "moving_s", moving)
        object.__setattr__(self, "earliest_return_s", earliest)

    @property
    def min_length_s(self) -> int:
        """No departure makes the trip shorter than this."""
        return self.moving_s if self.stops else self.duration_s

    def return_s(self, depart_s: int) -> int:
        """When the truck is back at the warehouse if it leaves at ``depart_s``."""
        if self.stops:
            return max(depart_s + self.moving_s, self.earliest_return_s)
        return depart_s + self.duration_s


@dataclass(slots=True)
class _TruckDay:
    trips: list[TripToPack] = field(default_factory=list)
    departs: list[int] = field(default_factory=list)
    busy_s: int = 0
    """The trips' shortest lengths plus a loading each: a truck-day needs at least this."""


@dataclass(frozen=True, slots=True)
class PackedTrip:
    """A placed trip: which truck, which day, when it departs, and its trip number that day."""

    key: int
    truck_id: str
    day: date
    depart_s: int
    trip_number: int


def _sequence(
    trips: Sequence[TripToPack], truck: TruckShift, loading_s: int, free_from_s: int
) -> list[int] | None:
    """Departures of ``trips`` (already in run order) on one truck-day, or ``None``."""
    shift = (truck.shift_start_s, truck.shift_end_s)
    free = free_from_s + loading_s
    departs: list[int] = []
    for trip in trips:
        window = trip.windows.get(shift)
        if window is None:
            return None
        depart = max(free, window[0])
        if depart > window[1]:
            return None
        departs.append(depart)
        free = trip.return_s(depart) + loading_s
    return departs


def _try_add(
    day: _TruckDay | None,
    trip: TripToPack,
    truck: TruckShift,
    loading_s: int,
    kept: tuple[int, int] | None = None,
) -> tuple[list[TripToPack], list[int]] | None:
    """Run order and departures of a truck-day's trips with ``trip`` added, or ``None``.

    ``kept`` is the truck-day's (back from kept trips at, kept trips made), if any.
    """
    day_trips = day.trips if day is not None else []
    free_from_s, kept_trips = kept if kept is not None else (truck.shift_start_s, 0)
    free_from_s = max(free_from_s, truck.shift_start_s)
    if truck.max_trips is not None and kept_trips + len(day_trips) + 1 > truck.max_trips:
        return None
    if trip.load_sacks > truck.capacity_sacks or trip.access != truck.access:
        return None
    busy_s = (day.busy_s if day is not None else 0) + trip.min_length_s + loading_s
    if free_from_s + busy_s > truck.shift_end_s:
        return None  # the shift is too short for these trips whatever their order
    shift = (truck.shift_start_s, truck.shift_end_s)
    if trip.windows.get(shift) is None:
        return None
    # Trips with an earlier latest departure go first (earliest-deadline order), which is the
    # best single order when windows are the only constraint; try appending as a fallback.
    candidates = sorted([*day_trips, trip], key=lambda t: (_latest(t, shift), t.key))
    departs = _sequence(candidates, truck, loading_s, free_from_s)
    if departs is not None:
        return candidates, departs
    appended = [*day_trips, trip]
    departs = _sequence(appended, truck, loading_s, free_from_s)
    if departs is not None:
        return appended, departs
    return None


def _latest(trip: TripToPack, shift: tuple[int, int]) -> int:
    window = trip.windows.get(shift)
    return window[1] if window is not None else INF_S


def pack_trips(
    trips: Sequence[TripToPack],
    trucks: Sequence[TruckShift],
    loading_s: int,
    wait_cost_per_kpm_day: float,
) -> tuple[list[PackedTrip], list[TripToPack]]:
    """Assign trips to truck-days.

    Parameters
    ----------
    trips
        Trips of one warehouse, each with the working days it may run on.
    trucks
        That warehouse's trucks.
    loading_s
        Loading time before every trip.
    wait_cost_per_kpm_day
        Cost of one family waiting one day: weighs a new truck-day today against a later day
        on a truck that is already out.

    Returns
    -------
    tuple
        The placed trips (with trip numbers in departure order) and the trips that fit nowhere.
    """
    # Big trips first within a deadline: they are the hardest to fit, and with a waiting cost
    # the most families are served earliest.
    order = sorted(
        trips,
        key=lambda t: (min(t.days) if t.days else date.max, -t.families, -t.duration_s, t.key),
    )
    days: dict[tuple[str, date], _TruckDay] = {}

    def place(trip: TripToPack, announced_only: bool) -> bool:
        """Put ``trip`` on its cheapest truck-day (only its least-move days); False if none."""
        best: tuple[float, int, int, str, date] | None = None
        best_plan: tuple[list[TripToPack], list[int]] | None = None
        # Whether a trip fits an empty truck-day depends on the truck, not the day (unless
        # kept trips hold it), and without a move cost a later day only waits longer: each
        # truck's empty day is worth trying once, on the first day it is free. With a move
        # cost a later day may cost less, so the first try is remembered and reused.
        empty_tried: dict[int, tuple[list[TripToPack], list[int]] | None] = {}
        move = trip.move_cost
        # The least move cost of this or any later day: with the waiting cost, a bound on
        # what later days can cost.
        move_floor = _suffix_min(move) if move else ()
        least_move = min(move) if move else 0.0
        for day_number, day in enumerate(trip.days):
            if announced_only and move[day_number] > least_move:
                continue
            wait_cost = wait_cost_per_kpm_day * trip.families * (day - trip.days[0]).days
            if best is not None and best[0] < wait_cost + (move_floor[day_number] if move else 0):
                # Later days only cost more: none can beat the best placement found.
                break
            day_cost = wait_cost + (move[day_number] if move else 0.0)
            for truck_number, truck in enumerate(trucks):
                if day in truck.off_days:
                    continue
                current = days.get((truck.truck_id, day))
                kept = truck.busy.get(day) if truck.busy else None
                if current is None and kept is None:
                    if truck_number in empty_tried:
                        if not move:
                            continue
                        plan = empty_tried[truck_number]
                    else:
                        plan = _try_add(None, trip, truck, loading_s)
                        empty_tried[truck_number] = plan
                else:
                    plan = _try_add(current, trip, truck, loading_s, kept)
                if plan is None:
                    continue
                opening_cost = 0.0 if current or kept else truck.cost_per_day
                # Prefer the truck whose capacity is closest to the load: big trucks stay free
                # for big trips.
                spare = truck.capacity_sacks - trip.load_sacks
                score = (opening_cost + day_cost, spare, truck_number, truck.truck_id, day)
                if best is None or score < best:
                    best = score
                    best_plan = plan
            # A placement on an already-open truck-day with no waiting cannot be beaten later.
            if best is not None and best[0] == 0.0:
                break
        if best is None or best_plan is None:
            return False
        truck_id, day = best[3], best[4]
        slot = days.setdefault((truck_id, day), _TruckDay())
        slot.trips, slot.departs = best_plan
        slot.busy_s += trip.min_length_s + loading_s
        return True

    if any(trip.move_cost for trip in order):
        # A re-plan: first every trip of announced deliveries that can keep its day keeps it,
        # then the rest find days. Placed greedily by date instead, a trip pushed off its day
        # by a lost truck-day would push the next day's trips in turn, and so on: many
        # deliveries moved instead of a few.
        # Only trips that can still have their announced day (no move cost there): one whose
        # day is lost must not take the next day before that day's own trips.
        kept_day = {
            trip.key
            for trip in order
            if trip.move_cost and min(trip.move_cost) == 0.0 and place(trip, True)
        }
        order = [trip for trip in order if trip.key not in kept_day]
    unplaced = [trip for trip in order if not place(trip, False)]
    kept_trips = {truck.truck_id: truck.busy for truck in trucks if truck.busy}
    placed: list[PackedTrip] = []
    for (truck_id, day), slot in sorted(days.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        # New trips are numbered after the trips kept on that truck-day.
        first = kept_trips.get(truck_id, {}).get(day, (0, 0))[1] + 1
        for number, (trip, depart) in enumerate(zip(slot.trips, slot.departs, strict=True), first):
            placed.append(PackedTrip(trip.key, truck_id, day, depart, number))
    return placed, unplaced


def _suffix_min(values: Sequence[float]) -> list[float]:
    """``out[i] = min(values[i:])``."""
    out = list(values)
    for i in range(len(out) - 2, -1, -1):
        out[i] = min(out[i], out[i + 1])
    return out
