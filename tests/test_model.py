"""Tests of optimizer.model: distances, calendars, travel and service times, lookups."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimizer.model import (
    EARTH_RADIUS_KM,
    Calendar,
    ServiceSettings,
    TravelSettings,
    haversine_km,
)
from tests.conftest import make_tiny_scenario

lons = st.floats(94.0, 142.0)
lats = st.floats(-11.5, 6.5)


def test_a_degree_of_latitude_is_about_111_km() -> None:
    assert haversine_km(106.0, 0.0, 106.0, 1.0) == pytest.approx(
        math.pi * EARTH_RADIUS_KM / 180, rel=1e-12
    )


@given(lons, lats, lons, lats)
def test_haversine_is_symmetric_and_zero_on_the_spot(
    lon1: float, lat1: float, lon2: float, lat2: float
) -> None:
    assert haversine_km(lon1, lat1, lon1, lat1) == 0.0
    assert haversine_km(lon1, lat1, lon2, lat2) == pytest.approx(
        haversine_km(lon2, lat2, lon1, lat1), abs=1e-9
    )


def test_calendar_skips_sundays_and_holidays() -> None:
    calendar = Calendar(holidays=frozenset({date(2020, 9, 2)}))
    days = calendar.working_days_between(date(2020, 9, 1), date(2020, 9, 7))
    # 2020-09-06 is a Sunday, 2020-09-02 a holiday.
    assert days == [date(2020, 9, d) for d in (1, 3, 4, 5, 7)]
    assert calendar.working_days_between(date(2020, 9, 6), date(2020, 9, 5)) == []


def test_travel_time_is_rounded_up_and_never_shorter_than_the_model() -> None:
    travel = TravelSettings(speed_kmh=30.0, circuity=1.4)
    assert travel.travel_s(30.0) == 3600  # exact: not rounded up a second
    assert travel.travel_s(30.001) == 3601
    assert travel.road_km(106.0, 0.0, 106.0, 1.0) == pytest.approx(
        1.4 * haversine_km(106.0, 0.0, 106.0, 1.0)
    )


def test_service_time_uses_the_points_own_minutes_when_given() -> None:
    scenario = make_tiny_scenario()
    service = ServiceSettings(stop_min=15.0, per_100kg_min=1.0, loading_min=30.0)
    plain, own = scenario.drop_point("00042"), scenario.drop_point("P4")
    assert service.service_s(plain, 200.0) == (15 + 2) * 60
    assert service.service_s(own, 200.0) == (20 + 2) * 60
    assert service.loading_s == 1800


def test_lookups_find_objects_by_id_and_raise_key_error_otherwise() -> None:
    scenario = make_tiny_scenario()
    assert scenario.truck("T2").capacity_kg == 5000.0
    assert scenario.demand_kg(scenario.drop_point("P2"), scenario.tranche("T-OKT")) == 600.0
    with pytest.raises(KeyError):
        scenario.warehouse("W9")
