"""Tests of the truck-day packer (optimizer.schedule)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from optimizer.schedule import TimedStop, TripToPack, TruckShift, pack_trips, time_trip, trip_window

HOUR = 3600
DAY = date(2020, 9, 1)
SHIFT = (7 * HOUR, 17 * HOUR)
LOADING_S = 1800


def _trip(key: int, stops: tuple[TimedStop, ...], back_s: int) -> TripToPack:
    window = trip_window(stops, back_s, SHIFT[0] + LOADING_S, SHIFT[1])
    start = window[0] if window else SHIFT[0]
    return TripToPack(
        key=key,
        load_sacks=100,
        days=(DAY,),
        families=50.0,
        duration_s=time_trip(stops, back_s, start).return_s - start,
        windows={SHIFT: window},
        stops=stops,
        travel_back_s=back_s,
    )


def test_a_point_opening_late_does_not_block_the_truck_for_the_day() -> None:
    # Trip 0 waits for a point that opens at 10:00 (30 min away); trip 1 has no window. Both
    # fit one truck-day: leave 09:30, back 11:00, load, then the 2.5 h trip. Timed from
    # midnight, trip 0 would have looked 11 h long and needed a second truck-day.
    late = _trip(0, (TimedStop(1800, 1800, 10 * HOUR, 14 * HOUR),), 1800)
    plain = _trip(1, (TimedStop(3600, 1800, 0, 24 * HOUR),), 3600)
    truck = TruckShift("T1", 300, SHIFT[0], SHIFT[1], None, 1.0)
    placed, unplaced = pack_trips([late, plain], [truck], LOADING_S, 0.0)
    assert unplaced == []
    assert {(p.truck_id, p.day) for p in placed} == {("T1", DAY)}
    first, second = sorted(placed, key=lambda p: p.depart_s)
    assert (first.trip_number, second.trip_number) == (1, 2)
    gap_s = second.depart_s - [late, plain][first.key].return_s(first.depart_s)
    assert gap_s >= LOADING_S
    assert second.depart_s <= 12 * HOUR  # freed at its real return, not 11 h after leaving


def test_return_time_without_stops_falls_back_to_the_duration() -> None:
    trip = TripToPack(0, 10, (DAY,), 5.0, 5400, {SHIFT: (SHIFT[0], SHIFT[1] - 5400)})
    assert trip.return_s(8 * HOUR) == 8 * HOUR + 5400


timed_stops = st.lists(
    st.builds(
        TimedStop,
        travel_in_s=st.integers(0, 4 * HOUR),
        service_s=st.integers(0, HOUR),
        open_s=st.integers(0, 20 * HOUR),
        close_s=st.just(24 * HOUR),
    ),
    min_size=1,
    max_size=8,
)


@given(timed_stops, st.integers(0, 4 * HOUR), st.integers(0, 22 * HOUR))
def test_the_return_for_any_departure_is_the_timed_return(
    stops: list[TimedStop], back_s: int, depart_s: int
) -> None:
    # The packer times departures in O(1); it must agree with laying the trip out stop by stop.
    trip = _trip(0, tuple(stops), back_s)
    assert trip.return_s(depart_s) == time_trip(stops, back_s, depart_s).return_s


def test_a_trip_goes_only_on_a_truck_of_its_access_class() -> None:
    # Trip 0 was routed for small trucks (class 1): the big truck, free and large enough,
    # must not take it; trip 1 (class 0) must not go on the small truck.
    stops = (TimedStop(1800, 600, 0, 24 * HOUR),)
    small_trip = replace(_trip(0, stops, 1800), access=1)
    big_trip = _trip(1, stops, 1800)
    big = TruckShift("BIG", 300, SHIFT[0], SHIFT[1], None, 1.0, access=0)
    small = TruckShift("SMALL", 100, SHIFT[0], SHIFT[1], 1, 1.0, access=1)
    placed, unplaced = pack_trips([small_trip, big_trip], [big, small], LOADING_S, 0.0)
    assert {(p.key, p.truck_id) for p in placed} == {(0, "SMALL"), (1, "BIG")}
    assert unplaced == []
    # With no truck of its class, a trip is left unplaced (the planner reports it).
    placed, unplaced = pack_trips([small_trip], [big], LOADING_S, 0.0)
    assert placed == [] and [t.key for t in unplaced] == [0]


# --- re-plan hooks: days off, busy truck-days, move cost ----------------------------------------

DAYS = tuple(date(2020, 9, d) for d in (1, 2, 3, 4))


def _plain(
    key: int, days: tuple[date, ...] = DAYS, move_cost: tuple[float, ...] = ()
) -> TripToPack:
    stops = (TimedStop(1800, 1800, 0, 24 * HOUR),)
    return replace(_trip(key, stops, 1800), days=days, move_cost=move_cost)


def test_a_truck_takes_no_trip_on_its_day_off() -> None:
    truck = TruckShift("T1", 300, SHIFT[0], SHIFT[1], None, 1.0, off_days=frozenset(DAYS[:2]))
    placed, unplaced = pack_trips([_plain(0)], [truck], LOADING_S, 1.0)
    assert unplaced == []
    assert [p.day for p in placed] == [DAYS[2]]
    every_day = replace(truck, off_days=frozenset(DAYS))
    assert pack_trips([_plain(0)], [every_day], LOADING_S, 1.0) == ([], [_plain(0)])


def test_a_busy_truck_day_loads_after_its_kept_return_and_numbers_after_its_trips() -> None:
    truck = TruckShift("T1", 300, SHIFT[0], SHIFT[1], 3, 1.0, busy={DAYS[0]: (12 * HOUR, 2)})
    placed, _ = pack_trips([_plain(0)], [truck], LOADING_S, 1.0)
    assert [(p.day, p.trip_number) for p in placed] == [(DAYS[0], 3)]
    assert placed[0].depart_s == 12 * HOUR + LOADING_S


def test_a_busy_truck_day_is_already_open_and_wins_over_an_empty_truck() -> None:
    # T2 is empty that day (a new truck-day costs), T1 already drives kept trips: T1 wins.
    busy = TruckShift("T1", 300, SHIFT[0], SHIFT[1], None, 1e6, busy={DAYS[0]: (9 * HOUR, 1)})
    empty = TruckShift("T2", 300, SHIFT[0], SHIFT[1], None, 1.0)
    placed, _ = pack_trips([_plain(0)], [empty, busy], LOADING_S, 1.0)
    assert [(p.truck_id, p.day, p.trip_number) for p in placed] == [("T1", DAYS[0], 2)]


def test_a_busy_truck_day_at_its_trip_limit_or_shift_end_takes_nothing_more() -> None:
    full = TruckShift("T1", 300, SHIFT[0], SHIFT[1], 2, 1.0, busy={DAYS[0]: (9 * HOUR, 2)})
    late = TruckShift("T1", 300, SHIFT[0], SHIFT[1], None, 1.0, busy={DAYS[0]: (16 * HOUR, 1)})
    for truck in (full, late):
        placed, _ = pack_trips([_plain(0)], [truck], LOADING_S, 1.0)
        assert [(p.day, p.trip_number) for p in placed] == [(DAYS[1], 1)]


def test_the_move_cost_picks_the_cheapest_day_even_on_an_empty_truck() -> None:
    truck = TruckShift("T1", 300, SHIFT[0], SHIFT[1], None, 10.0)
    moved = (3000.0, 2000.0, 0.0, 1000.0)  # announced for the third day
    placed, _ = pack_trips([_plain(0, move_cost=moved)], [truck], LOADING_S, 1.0)
    assert [p.day for p in placed] == [DAYS[2]]
    # A second trip announced for the first day is not held back by the first's cache.
    first = (0.0, 1000.0, 2000.0, 3000.0)
    placed, _ = pack_trips(
        [_plain(0, move_cost=moved), _plain(1, move_cost=first)], [truck], LOADING_S, 1.0
    )
    assert {p.key: p.day for p in placed} == {0: DAYS[2], 1: DAYS[0]}


@given(
    off=st.frozensets(st.sampled_from(DAYS)),
    busy=st.dictionaries(
        st.sampled_from(DAYS), st.tuples(st.integers(7 * HOUR, 17 * HOUR), st.integers(0, 3))
    ),
    n_trips=st.integers(1, 8),
)
def test_packed_trips_respect_days_off_and_busy_truck_days(
    off: frozenset[date], busy: dict[date, tuple[int, int]], n_trips: int
) -> None:
    truck = TruckShift("T1", 300, SHIFT[0], SHIFT[1], 3, 1.0, off_days=off, busy=busy)
    trips = [_plain(k) for k in range(n_trips)]
    placed, unplaced = pack_trips(trips, [truck], LOADING_S, 1.0)
    assert len(placed) + len(unplaced) == n_trips
    by_day: dict[date, list[int]] = {}
    for p in placed:
        assert p.day not in off
        free_s, used = busy.get(p.day, (SHIFT[0], 0))
        assert p.depart_s >= max(free_s, SHIFT[0]) + LOADING_S
        assert p.trip_number > used
        by_day.setdefault(p.day, []).append(p.trip_number)
    for day, numbers in by_day.items():
        used = busy.get(day, (0, 0))[1]
        assert sorted(numbers) == list(range(used + 1, used + len(numbers) + 1))
        assert used + len(numbers) <= 3


def test_a_trip_pushed_off_its_day_does_not_push_the_next_days_trips() -> None:
    # One trip a day. Trip 0 was announced for the first day, now lost; trip 1 for the second.
    # Trip 1 keeps its day and trip 0 alone moves, rather than both moving by one day.
    truck = TruckShift("T1", 300, SHIFT[0], SHIFT[1], 1, 1.0, off_days=frozenset({DAYS[0]}))
    lost = _plain(0, move_cost=(0.0, 1000.0, 2000.0, 3000.0))
    next_day = _plain(1, move_cost=(1000.0, 0.0, 1000.0, 2000.0))
    placed, unplaced = pack_trips([lost, next_day], [truck], LOADING_S, 1.0)
    assert unplaced == []
    assert {p.key: p.day for p in placed} == {0: DAYS[2], 1: DAYS[1]}


def test_a_trip_whose_announced_day_is_gone_does_not_take_the_next_day_first() -> None:
    # Trip 0 was announced for a day before these (cheapest now: the first day); trip 1 for
    # the first day. Trip 1 keeps its day; trip 0 takes the next.
    truck = TruckShift("T1", 300, SHIFT[0], SHIFT[1], 1, 1.0)
    gone = _plain(0, move_cost=(1000.0, 2000.0, 3000.0, 4000.0))
    first_day = _plain(1, move_cost=(0.0, 1000.0, 2000.0, 3000.0))
    placed, _ = pack_trips([gone, first_day], [truck], LOADING_S, 1.0)
    assert {p.key: p.day for p in placed} == {0: DAYS[1], 1: DAYS[0]}
