"""Travel models: the straight-line numbers, and the planner reading every distance there."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from documents.pipeline import with_overrides
from optimizer import planner
from optimizer.geometry import FloatArray, IntArray
from optimizer.model import Scenario, TravelSettings
from optimizer.planner import plan_scenario
from optimizer.solution import plan_to_dict
from optimizer.travel import (
    NO_ROAD_S,
    RoadMatrix,
    StraightLine,
    TravelModel,
    WithinSnap,
    place_ids,
    travel_model,
)

# Longitudes and latitudes around Indonesia.
LON = st.floats(95.0, 141.0, allow_nan=False)
LAT = st.floats(-11.0, 6.0, allow_nan=False)


def test_the_scenario_settings_choose_a_straight_line_at_their_speed_and_circuity(
    tiny_scenario: Scenario,
) -> None:
    scenario = replace(tiny_scenario, travel=TravelSettings(speed_kmh=42.0, circuity=1.25))
    model = travel_model(scenario)
    assert isinstance(model, StraightLine)
    assert (model.circuity, model.speed_kmh) == (1.25, 42.0)
    assert model.access == ("all",) and model.snap_m is None and model.symmetric
    # Places are numbered warehouses first, then drop points, in scenario order.
    places = (*scenario.warehouses, *scenario.drop_points)
    assert model.lon.tolist() == [p.lon for p in places]
    assert model.lat.tolist() == [p.lat for p in places]
    # Every truck, big or small, drives the one matrix.
    assert {model.access_index(scenario.travel.truck_access(t)) for t in scenario.trucks} == {0}


def test_a_road_matrix_is_the_model_when_given_and_must_hold_the_scenarios_places(
    tiny_scenario: Scenario,
) -> None:
    ids = place_ids(tiny_scenario)
    n = len(ids)
    road = RoadMatrix(
        place_ids=ids,
        access=("all",),
        km=np.ones((1, n, n)),
        seconds=np.ones((1, n, n), dtype=np.int64),
        snap_m=np.zeros((1, n)),
        snap_road=(("x",) * n,),
        provenance={},
    )
    model = travel_model(tiny_scenario, road)
    assert isinstance(model, WithinSnap) and model.road is road
    shuffled = replace(road, place_ids=ids[::-1])
    with pytest.raises(ValueError, match="scenario order"):
        travel_model(tiny_scenario, shuffled)
    short = replace(road, snap_m=np.zeros((1, n - 1)))
    with pytest.raises(ValueError, match="snap_m"):
        travel_model(tiny_scenario, short)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(LON, LAT), min_size=1, max_size=6),
    st.lists(st.tuples(LON, LAT), min_size=1, max_size=6),
    st.floats(5.0, 90.0),
    st.floats(1.0, 2.5),
)
def test_straight_line_matrices_agree_with_the_one_leg_model(
    a: list[tuple[float, float]],
    b: list[tuple[float, float]],
    speed_kmh: float,
    circuity: float,
) -> None:
    travel = TravelSettings(speed_kmh=speed_kmh, circuity=circuity)
    lon, lat = (np.array(column, dtype=np.float64) for column in zip(*a, *b, strict=True))
    model = StraightLine(circuity=circuity, speed_kmh=speed_kmh, lon=lon, lat=lat)
    rows = np.arange(len(a))
    cols = len(a) + np.arange(len(b))
    km, seconds = model.km_s(rows, cols)
    assert km.shape == seconds.shape == (len(a), len(b))
    assert seconds.dtype == np.int64
    for i, (lon1, lat1) in enumerate(a):
        for j, (lon2, lat2) in enumerate(b):
            assert km[i, j] == pytest.approx(travel.road_km(lon1, lat1, lon2, lat2), abs=1e-9)
            # The same rounding up as one leg of the checker's model, from the same distance.
            assert seconds[i, j] == travel.travel_s(float(km[i, j]))
            assert seconds[i, j] * speed_kmh >= km[i, j] * 3600 - 1e-6


def test_a_known_distance_and_time() -> None:
    # Jakarta (Gambir) to Bogor: 0.388 degrees of latitude and 0.048 of longitude, 43.51 km as
    # the crow flies (flat-earth check: hypot(0.3883 x 111.19, 0.0484 x 111.19 x cos 6.4 deg)).
    model = StraightLine(
        circuity=1.4,
        speed_kmh=30.0,
        lon=np.array([106.8456, 106.7972]),
        lat=np.array([-6.2088, -6.5971]),
    )
    km, seconds = model.km_s(np.array([0]), np.array([1]))
    assert km[0, 0] == pytest.approx(1.4 * 43.507, abs=0.001)
    assert seconds[0, 0] == 7310  # 60.910 km at 30 km/h: 7,309.2 s, rounded up


class _Recording:
    """A travel model that delegates and remembers which shapes it was asked for."""

    def __init__(self, inner: TravelModel) -> None:
        self.inner = inner
        self.shapes: list[tuple[int, int]] = []
        self.access = inner.access
        self.symmetric = inner.symmetric
        self.snap_m = inner.snap_m
        self.snap_road = inner.snap_road

    def access_index(self, access: str) -> int:
        return self.inner.access_index(access)

    def km_s(self, rows: IntArray, cols: IntArray, access: int = 0) -> tuple[FloatArray, IntArray]:
        km, seconds = self.inner.km_s(rows, cols, access)
        self.shapes.append(km.shape)
        return km, seconds


def test_the_planner_takes_every_distance_from_the_scenarios_travel_model(
    tiny_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = with_overrides(tiny_scenario, strategy="ortools", seed=1, solution_limit=20)
    expected = plan_to_dict(plan_scenario(scenario))
    models: list[_Recording] = []

    def recording(scenario: Scenario, road: RoadMatrix | None = None) -> TravelModel:
        models.append(_Recording(travel_model(scenario, road)))
        return models[-1]

    monkeypatch.setattr(planner, "travel_model", recording)
    assert plan_to_dict(plan_scenario(scenario)) == expected
    [model] = models
    n_points, n_warehouses = len(scenario.drop_points), len(scenario.warehouses)
    # Screening (points x warehouses), routing parts (square, depot first) and trip legs.
    assert (n_points, n_warehouses) in model.shapes
    assert any(rows == cols and rows > 1 for rows, cols in model.shapes[1:])
    assert len(model.shapes) >= 3


def test_a_slower_travel_model_gives_longer_trips(
    tiny_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = with_overrides(tiny_scenario, strategy="ortools", seed=1, solution_limit=20)
    fast = plan_scenario(scenario)
    monkeypatch.setattr(
        planner,
        "travel_model",
        lambda scenario, road=None: replace(
            travel_model(scenario), speed_kmh=scenario.travel.speed_kmh / 2
        ),
    )
    slow = plan_scenario(scenario)
    fast_s = sum((r.return_ - r.depart).total_seconds() for r in fast.routes)
    slow_s = sum((r.return_ - r.depart).total_seconds() for r in slow.routes)
    assert slow_s > fast_s


def test_a_place_beyond_max_snap_is_reached_by_no_leg_of_that_class(tiny_scenario):
    n = len(place_ids(tiny_scenario))
    km = np.ones((2, n, n))
    for k in range(2):
        np.fill_diagonal(km[k], 0.0)
    snap_m = np.zeros((2, n))
    snap_m[0, 2] = 810.0  # the big class's road is 810 m from place 2; the small one's 14 m
    snap_m[1, 2] = 14.0
    road = RoadMatrix(
        place_ids=place_ids(tiny_scenario),
        access=("big", "small"),
        km=km,
        seconds=(km * 100).astype(np.int64),
        snap_m=snap_m,
        snap_road=(("x",) * n, ("y",) * n),
        provenance={},
    )
    model = travel_model(tiny_scenario, road)
    every = np.arange(n)
    big_km, big_s = model.km_s(every, every, 0)
    assert np.isinf(big_km[2, [0, 1, 3]]).all() and np.isinf(big_km[[0, 1, 3], 2]).all()
    assert (big_s[2, [0, 1, 3]] == NO_ROAD_S).all()
    assert big_km[2, 2] == 0.0 and np.isfinite(np.delete(np.delete(big_km, 2, 0), 2, 1)).all()
    small_km, _ = model.km_s(every, every, 1)
    assert np.isfinite(small_km).all()
