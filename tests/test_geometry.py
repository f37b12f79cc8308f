"""Tests of optimizer.geometry: great-circle distance matrices (travel models build on them)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from optimizer.geometry import haversine_matrix_km
from optimizer.model import EARTH_RADIUS_KM, haversine_km

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
