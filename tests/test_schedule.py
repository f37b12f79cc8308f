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
