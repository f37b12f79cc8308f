"""Tests of optimizer.geometry: great-circle matrices, road distances and driving times."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from optimizer.geometry import haversine_matrix_km, road_km_matrix, travel_s_matrix
from optimizer.model import EARTH_RADIUS_KM, TravelSettings, haversine_km

KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180

lons = st.floats(-180, 180, allow_nan=False)
lats = st.floats(-90, 90, allow_nan=False)
places = st.lists(st.tuples(lons, lats), min_size=1, max_size=8)
# Indonesia and its neighbours: where bsb's places are.
indonesian_places = st.lists(
    st.tuples(st.floats(94, 142, allow_nan=False), st.floats(-11, 6, allow_nan=False)),
    min_size=1,
    max_size=8,
)
travel_settings = st.builds(
    TravelSettings,
    speed_kmh=st.floats(5, 120, allow_nan=False),
    circuity=st.floats(1, 2.5, allow_nan=False),
)


def _arrays(points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return array[:, 0], array[:, 1]


def test_one_degree_along_the_equator_and_a_meridian() -> None:
    lon, lat = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    km = haversine_matrix_km(lon, lat, lon, lat)
    assert km[0, 1] == pytest.approx(KM_PER_DEGREE, rel=1e-12)
    assert km[0, 2] == pytest.approx(KM_PER_DEGREE, rel=1e-12)
    assert km[0, 1] == pytest.approx(111.195, abs=1e-3)


def test_antipodes_are_half_a_circumference_apart() -> None:
    # Rounding can push the haversine term past 1 here; the clamp keeps arcsin defined.
    km = haversine_matrix_km(np.array([0.0]), np.array([0.0]), np.array([180.0]), np.array([0.0]))
    assert km[0, 0] == pytest.approx(math.pi * EARTH_RADIUS_KM, rel=1e-12)


def test_monas_to_kebun_raya_bogor_is_47_km_in_a_straight_line() -> None:
    # Monas (106.8272, -6.1754) to Kebun Raya Bogor (106.7990, -6.5976).
    km = haversine_matrix_km(
        np.array([106.8272]), np.array([-6.1754]), np.array([106.7990]), np.array([-6.5976])
    )
    assert km.shape == (1, 1)
    assert 46.5 < km[0, 0] < 47.5


@given(places, places)
@example([(0.0, 0.0)], [(180.0, 0.0)])
@example([(106.74, -6.57)], [(106.74, -6.57)])
def test_the_matrix_is_the_scalar_haversine_entry_by_entry(
    a: list[tuple[float, float]], b: list[tuple[float, float]]
) -> None:
    """The planner's matrices and the checker's scalar distance must agree to the metre."""
    (lon_a, lat_a), (lon_b, lat_b) = _arrays(a), _arrays(b)
    km = haversine_matrix_km(lon_a, lat_a, lon_b, lat_b)
    assert km.shape == (len(a), len(b))
    assert km.dtype == np.float64
    for i, (x1, y1) in enumerate(a):
        for j, (x2, y2) in enumerate(b):
            assert km[i, j] == pytest.approx(haversine_km(x1, y1, x2, y2), rel=1e-9, abs=1e-6)


@given(places, places)
def test_distances_are_symmetric_bounded_and_zero_only_on_the_diagonal(
    a: list[tuple[float, float]], b: list[tuple[float, float]]
) -> None:
    (lon_a, lat_a), (lon_b, lat_b) = _arrays(a), _arrays(b)
    ab = haversine_matrix_km(lon_a, lat_a, lon_b, lat_b)
    ba = haversine_matrix_km(lon_b, lat_b, lon_a, lat_a)
    np.testing.assert_allclose(ab, ba.T, rtol=1e-9, atol=1e-6)
    assert np.all(ab >= 0)
    assert np.all(ab <= math.pi * EARTH_RADIUS_KM * (1 + 1e-12))
    aa = haversine_matrix_km(lon_a, lat_a, lon_a, lat_a)
    np.testing.assert_allclose(np.diag(aa), 0.0, atol=1e-6)


@given(indonesian_places)
def test_triangle_inequality_holds(points: list[tuple[float, float]]) -> None:
    lon, lat = _arrays(points)
    km = haversine_matrix_km(lon, lat, lon, lat)
    # d(i, k) <= d(i, j) + d(j, k) for every i, j, k (with rounding slack).
    detour = km[:, :, None] + km[None, :, :]
    assert np.all(km[:, None, :] <= detour + 1e-6)


@given(indonesian_places, indonesian_places, travel_settings)
def test_road_km_is_the_great_circle_times_the_circuity(
    a: list[tuple[float, float]], b: list[tuple[float, float]], travel: TravelSettings
) -> None:
    (lon_a, lat_a), (lon_b, lat_b) = _arrays(a), _arrays(b)
    road = road_km_matrix(travel, lon_a, lat_a, lon_b, lat_b)
    straight = haversine_matrix_km(lon_a, lat_a, lon_b, lat_b)
    np.testing.assert_array_equal(road, straight * travel.circuity)
    assert np.all(road >= straight)


@given(indonesian_places, indonesian_places, travel_settings)
def test_matrices_agree_with_the_scalar_travel_model_of_the_checker(
    a: list[tuple[float, float]], b: list[tuple[float, float]], travel: TravelSettings
) -> None:
    """Planner (matrices) and checker (TravelSettings per leg) time every leg alike."""
    (lon_a, lat_a), (lon_b, lat_b) = _arrays(a), _arrays(b)
    road = road_km_matrix(travel, lon_a, lat_a, lon_b, lat_b)
    seconds = travel_s_matrix(travel, road)
    for i, (x1, y1) in enumerate(a):
        for j, (x2, y2) in enumerate(b):
            km = travel.road_km(x1, y1, x2, y2)
            assert road[i, j] == pytest.approx(km, rel=1e-9, abs=1e-6)
            assert abs(int(seconds[i, j]) - travel.travel_s(km)) <= 1
            assert int(seconds[i, j]) == travel.travel_s(float(road[i, j]))


def test_road_km_of_the_default_travel_model() -> None:
    travel = TravelSettings()
    lon, lat = np.array([0.0, 0.0]), np.array([0.0, 1.0])
    road = road_km_matrix(travel, lon, lat, lon, lat)
    assert road[0, 1] == pytest.approx(KM_PER_DEGREE * travel.circuity)


@given(
    hnp.arrays(np.float64, st.integers(0, 20), elements=st.floats(0, 2_000, allow_nan=False)),
    travel_settings,
)
@example(np.array([30.0, 0.0]), TravelSettings(speed_kmh=30.0, circuity=1.0))
def test_driving_seconds_are_whole_never_faster_than_the_speed_and_at_most_one_second_slower(
    road_km: np.ndarray, travel: TravelSettings
) -> None:
    seconds = travel_s_matrix(travel, road_km)
    assert seconds.dtype == np.int64
    assert seconds.shape == road_km.shape
    exact_s = road_km / travel.speed_kmh * 3600
    assert np.all(seconds >= exact_s - 1e-6)
    assert np.all(seconds < exact_s + 1)
    order = np.argsort(road_km, kind="stable")
    assert np.all(np.diff(seconds[order]) >= 0)  # farther never takes less time


@pytest.mark.parametrize(
    ("road_km", "speed_kmh", "expected_s"),
    [
        (30.0, 30.0, 3600),  # exactly an hour: no extra second from floating-point noise
        (0.0, 30.0, 0),
        (1.0, 36.0, 100),
        (1.0001, 36.0, 101),  # a hair over 100 s rounds up
        (12.5, 40.0, 1125),
    ],
)
def test_driving_seconds_round_up_only_when_needed(
    road_km: float, speed_kmh: float, expected_s: int
) -> None:
    travel = TravelSettings(speed_kmh=speed_kmh)
    assert travel_s_matrix(travel, np.array([road_km])).tolist() == [expected_s]


def test_driving_seconds_keep_the_shape_of_a_matrix() -> None:
    road = np.array([[0.0, 15.0], [15.0, 0.0]])
    seconds = travel_s_matrix(TravelSettings(speed_kmh=30.0), road)
    assert seconds.tolist() == [[0, 1800], [1800, 0]]
