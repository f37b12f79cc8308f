"""Travel models: the straight-line numbers, and the planner reading every distance there."""

from __future__ import annotations

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
from optimizer.travel import StraightLine, TravelModel, travel_model

# Longitudes and latitudes around Indonesia.
LON = st.floats(95.0, 141.0, allow_nan=False)
LAT = st.floats(-11.0, 6.0, allow_nan=False)


def test_the_scenario_settings_choose_a_straight_line_at_their_speed_and_circuity() -> None:
    model = travel_model(TravelSettings(speed_kmh=42.0, circuity=1.25))
    assert model == StraightLine(circuity=1.25, speed_kmh=42.0)


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
    model = travel_model(travel)
    lon_a, lat_a = (np.array(column, dtype=np.float64) for column in zip(*a, strict=True))
    lon_b, lat_b = (np.array(column, dtype=np.float64) for column in zip(*b, strict=True))
    km, seconds = model.km_s(lon_a, lat_a, lon_b, lat_b)
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
    model = StraightLine(circuity=1.4, speed_kmh=30.0)
    km, seconds = model.km_s(
        np.array([106.8456]), np.array([-6.2088]), np.array([106.7972]), np.array([-6.5971])
    )
    assert km[0, 0] == pytest.approx(1.4 * 43.507, abs=0.001)
    assert seconds[0, 0] == 7310  # 60.910 km at 30 km/h: 7,309.2 s, rounded up


class _Recording:
    """A travel model that delegates and remembers which shapes it was asked for."""

    def __init__(self, inner: TravelModel) -> None:
        self.inner = inner
        self.shapes: list[tuple[int, int]] = []

    def km_s(
        self, lon_a: FloatArray, lat_a: FloatArray, lon_b: FloatArray, lat_b: FloatArray
    ) -> tuple[FloatArray, IntArray]:
        km, seconds = self.inner.km_s(lon_a, lat_a, lon_b, lat_b)
        self.shapes.append(km.shape)
        return km, seconds


def test_the_planner_takes_every_distance_from_the_scenarios_travel_model(
    tiny_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = with_overrides(tiny_scenario, strategy="ortools", seed=1, solution_limit=20)
    expected = plan_to_dict(plan_scenario(scenario))
    models: list[_Recording] = []

    def recording(travel: TravelSettings) -> TravelModel:
        models.append(_Recording(travel_model(travel)))
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
        lambda travel: StraightLine(circuity=travel.circuity, speed_kmh=travel.speed_kmh / 2),
    )
    slow = plan_scenario(scenario)
    fast_s = sum((r.return_ - r.depart).total_seconds() for r in fast.routes)
    slow_s = sum((r.return_ - r.depart).total_seconds() for r in slow.routes)
    assert slow_s > fast_s
