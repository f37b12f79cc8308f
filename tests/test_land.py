"""Tests of geodata.land: which places are in the sea, and how far from land they are."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st

from geodata.land import (
    LAND_TOLERANCE_M,
    LandPolygons,
    _coast_pieces,
    find_sea_points,
    load_land,
    surely_on_land,
)

JAVA_SEA = (106.80, -5.60)  # the drop point, north of Kepulauan Seribu
INDIAN_OCEAN = (106.50, -8.50)  # south of Java
PULAU_PRAMUKA = (106.615, -5.745)  # Kepulauan Seribu's seat, about 20 ha
PULAU_UNTUNG_JAWA = (106.7045, -5.9777)
BOGOR = (106.80, -6.60)
TANJUNG_PRIOK = (106.88, -6.10)  # Jakarta's port, on reclaimed land


def _sea(*points: tuple[float, float], **kwargs: float) -> dict[tuple[float, float], float]:
    found = find_sea_points([p[0] for p in points], [p[1] for p in points], **kwargs)
    return {points[s.index]: s.distance_to_land_km for s in found}


def _aeqd_distance_m(lon: float, lat: float) -> float:
    """Reference: distance to the land polygons in an azimuthal equidistant projection."""
    import pyproj

    land = load_land()
    reach_deg = land.distance_to_land_m([lon], [lat])[0] / 100_000 + 0.01
    box = (lon - reach_deg, lat - reach_deg, lon + reach_deg, lat + reach_deg)
    nearby = land._polygons[land._polygon_tree.query(shapely.box(*box))]
    projection = pyproj.Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m", always_xy=True
    )
    clipped = [shapely.clip_by_rect(polygon, *box) for polygon in nearby]
    projected = [
        shapely.transform(
            polygon, lambda xy: np.column_stack(projection.transform(xy[:, 0], xy[:, 1]))
        )
        for polygon in clipped
        if not polygon.is_empty
    ]
    return float(min(polygon.distance(shapely.Point(0.0, 0.0)) for polygon in projected))


def test_java_sea_point_is_in_the_sea_14_km_from_land() -> None:
    # The nearest land is an islet of Kepulauan Seribu (Pulau Bira area), about 14 km away.
    assert _sea(JAVA_SEA) == {JAVA_SEA: pytest.approx(14.1, abs=0.2)}


def test_indian_ocean_point_is_in_the_sea_about_120_km_south_of_java() -> None:
    assert _sea(INDIAN_OCEAN) == {INDIAN_OCEAN: pytest.approx(120.0, abs=2.0)}


@pytest.mark.parametrize(
    "point",
    [PULAU_PRAMUKA, PULAU_UNTUNG_JAWA, BOGOR, TANJUNG_PRIOK],
    ids=["pulau-pramuka", "pulau-untung-jawa", "bogor", "tanjung-priok"],
)
def test_small_islands_inland_towns_and_reclaimed_ports_are_on_land(
    point: tuple[float, float],
) -> None:
    assert _sea(point) == {}


def test_tolerance_decides_for_a_point_near_land() -> None:
    distance_m = load_land().distance_to_land_m([JAVA_SEA[0]], [JAVA_SEA[1]])[0]
    assert _sea(JAVA_SEA, tolerance_m=distance_m + 1.0) == {}
    assert JAVA_SEA in _sea(JAVA_SEA, tolerance_m=distance_m - 1.0)


def test_default_tolerance_lets_a_jetty_point_pass_and_a_point_offshore_fail() -> None:
    # Walk north from Pulau Pramuka's centre until the point is 100 m and then 400 m off the
    # island: the first is a harbour reading, the second a mistake.
    land = load_land()
    lat = np.linspace(-5.745, -5.70, 4501)
    lon = np.full_like(lat, 106.613)
    distance_m = land.distance_to_land_m(lon, lat)
    offshore = np.flatnonzero(distance_m > 0)
    jetty = offshore[np.argmin(np.abs(distance_m[offshore] - 100.0))]
    boat = offshore[np.argmin(np.abs(distance_m[offshore] - 400.0))]
    assert distance_m[jetty] == pytest.approx(100.0, abs=5.0)
    assert _sea((lon[jetty], lat[jetty])) == {}
    assert _sea((lon[boat], lat[boat])) == {(lon[boat], lat[boat]): pytest.approx(0.4, abs=0.01)}
    assert LAND_TOLERANCE_M == 150.0  # docs/scenario-format.md states it


@pytest.mark.parametrize(
    "point",
    [JAVA_SEA, INDIAN_OCEAN, (106.95, -6.05), (106.62, -5.76), (118.90, -5.30)],
    ids=["java-sea", "indian-ocean", "jakarta-bay", "off-pramuka", "makassar-strait"],
)
def test_distances_match_an_azimuthal_equidistant_projection(point: tuple[float, float]) -> None:
    got_m = load_land().distance_to_land_m([point[0]], [point[1]])[0]
    assert got_m > 0
    assert got_m == pytest.approx(_aeqd_distance_m(*point), rel=2e-3)


@settings(max_examples=60, deadline=None)
@given(lon=st.floats(106.0, 107.2), lat=st.floats(-6.4, -5.4))
@example(lon=PULAU_UNTUNG_JAWA[0], lat=PULAU_UNTUNG_JAWA[1])
def test_raster_shortcut_never_changes_the_verdict(lon: float, lat: float) -> None:
    # Jakarta Bay and Kepulauan Seribu: islets, reclaimed land and open sea.
    land = load_land()
    with_raster = find_sea_points([lon], [lat])
    polygons_only = find_sea_points([lon], [lat], land=land)
    assert with_raster == polygons_only
    if surely_on_land([lon], [lat])[0]:
        assert land.distance_to_land_m([lon], [lat])[0] <= LAND_TOLERANCE_M


@settings(max_examples=60, deadline=None)
@given(lon=st.floats(94.0, 142.0), lat=st.floats(-11.5, 6.5))
def test_distance_is_zero_exactly_on_land(lon: float, lat: float) -> None:
    land = load_land()
    distance_m = land.distance_to_land_m([lon], [lat])[0]
    assert (distance_m == 0.0) == bool(land.contains([lon], [lat])[0])
    assert np.isfinite(distance_m)


def test_many_points_are_answered_in_one_call_in_input_order() -> None:
    points = [BOGOR, JAVA_SEA, PULAU_PRAMUKA, INDIAN_OCEAN, BOGOR]
    found = find_sea_points([p[0] for p in points], [p[1] for p in points])
    assert [s.index for s in found] == [1, 3]


def test_points_outside_the_land_region_and_ragged_arrays_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the land region"):
        find_sea_points([16.8], [-6.6])
    with pytest.raises(ValueError, match="one length"):
        find_sea_points([106.8, 106.9], [-6.6])
    assert find_sea_points([], []) == ()


@given(
    segments_per_piece=st.integers(1, 9),
    vertex_count=st.integers(3, 40),
    seed=st.integers(0, 2**16),
)
def test_coast_pieces_cover_every_segment_once(
    segments_per_piece: int, vertex_count: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0, 2 * np.pi, vertex_count))
    radius = rng.uniform(0.5, 1.0, vertex_count)
    star = shapely.Polygon(np.column_stack([radius * np.cos(angles), radius * np.sin(angles)]))
    holed = shapely.Polygon(
        [(-5, -5), (5, -5), (5, 5), (-5, 5)], holes=[[(2, 2), (3, 2), (3, 3), (2, 3)]]
    )
    polygons = np.array([star, holed], dtype=object)
    pieces = _coast_pieces(polygons, segments_per_piece)
    assert shapely.get_num_coordinates(pieces).max() <= segments_per_piece + 1
    rings_length = shapely.length(shapely.get_rings(polygons)).sum()
    assert shapely.length(pieces).sum() == pytest.approx(rings_length)
    assert shapely.union_all(pieces).equals(shapely.union_all(shapely.get_rings(polygons)))


def test_land_polygons_can_be_built_from_any_polygons() -> None:
    island = shapely.box(106.0, -6.0, 106.01, -5.99)
    land = LandPolygons([island])
    assert land.polygon_count == 1
    assert list(land.contains([106.005, 106.02], [-5.995, -5.995])) == [True, False]
    # 0.01 degree of longitude east of the island at 6 deg S is about 1,107 m.
    assert land.distance_to_land_m([106.02], [-5.995])[0] == pytest.approx(1107.0, abs=2.0)
