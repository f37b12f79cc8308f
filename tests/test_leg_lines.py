from __future__ import annotations

import dataclasses
import itertools
import math
from datetime import date, datetime

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata.leg_lines import (
    METRES_PER_DEGREE,
    Position,
    RoadLines,
    plan_legs,
    plan_snap_m,
    road_lines,
    route_line,
    simplify_lines,
)
from optimizer.model import Scenario
from optimizer.solution import Plan, Route, Stop, compute_kpis
from tests.conftest import make_tiny_scenario


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute)


def small_and_big_plan() -> tuple[Scenario, Plan]:
    """W1 -> 00042 -> P2 -> W1 by the big truck T1; W1 -> P2 -> P2 -> P3 -> W1 by the small T2."""
    scenario = make_tiny_scenario()
    trucks = (
        dataclasses.replace(scenario.trucks[0], id="T1", capacity_kg=8000.0),
        dataclasses.replace(scenario.trucks[0], id="T2", capacity_kg=2000.0),
    )
    scenario = dataclasses.replace(scenario, trucks=trucks)
    d1 = date(2020, 9, 1)
    big = Route(
        "T1",
        "W1",
        d1,
        1,
        at(d1, 7),
        at(d1, 10),
        20.0,
        2100.0,
        (
            Stop("00042", "T-SEP", 1500.0, 100, at(d1, 8), at(d1, 8, 30)),
            Stop("P2", "T-SEP", 600.0, 40, at(d1, 9), at(d1, 9, 20)),
        ),
    )
    small = Route(
        "T2",
        "W1",
        d1,
        1,
        at(d1, 7),
        at(d1, 11),
        25.0,
        1950.0,
        (
            Stop("P2", "T-SEP", 150.0, 10, at(d1, 8), at(d1, 8, 20)),
            Stop("P2", "T-OKT", 300.0, 20, at(d1, 8, 20), at(d1, 8, 30)),
            Stop("P3", "T-SEP", 1500.0, 100, at(d1, 9), at(d1, 9, 40)),
        ),
    )
    routes = (big, small)
    return scenario, Plan("tiny", routes, (), compute_kpis(scenario, routes, ()))


def place(scenario: Scenario, place_id: str) -> Position:
    for w in scenario.warehouses:
        if w.id == place_id:
            return (w.lon, w.lat)
    point = scenario.drop_point(place_id)
    return (point.lon, point.lat)


def zigzag(start: Position, end: Position, n: int = 200, jitter_m: float = 3.0) -> list[Position]:
    """A road from start to end that bows out 500 m and zigzags a few metres on the way."""
    out = []
    for i in range(n + 1):
        t = i / n
        bow = 500 / METRES_PER_DEGREE * math.sin(math.pi * t)
        wiggle = jitter_m / METRES_PER_DEGREE * (1 if i % 2 else -1)
        out.append(
            (
                start[0] + (end[0] - start[0]) * t,
                start[1] + (end[1] - start[1]) * t + bow + wiggle,
            )
        )
    return out


def test_plan_legs_names_each_leg_once_with_the_trucks_access_class() -> None:
    scenario, plan = small_and_big_plan()
    assert plan_legs(scenario, plan) == [
        ("W1", "00042", "big"),
        ("00042", "P2", "big"),
        ("P2", "W1", "big"),
        ("W1", "P2", "small"),
        ("P2", "P3", "small"),  # the stay at P2 between two tranches is no leg
        ("P3", "W1", "small"),
    ]


def test_without_roads_a_trip_is_drawn_through_every_stop_as_before() -> None:
    scenario, plan = small_and_big_plan()
    line = route_line(scenario, plan.routes[1])
    home = place(scenario, "W1")
    assert line.coordinates == (
        home,
        place(scenario, "P2"),
        place(scenario, "P2"),
        place(scenario, "P3"),
        home,
    )
    assert line.place_vertices == (0, 1, 2, 3, 4)


def test_road_legs_follow_the_road_and_mark_where_each_place_is() -> None:
    scenario, plan = small_and_big_plan()
    paths = {
        key: zigzag(place(scenario, key[0]), place(scenario, key[1]))
        for key in plan_legs(scenario, plan)
    }
    roads = road_lines(scenario, plan, paths)
    for route in plan.routes:
        line = route_line(scenario, route, roads)
        stops = [s.drop_point for s in route.stops]
        assert [line.coordinates[i] for i in line.place_vertices] == [
            place(scenario, pid) for pid in ["W1", *stops, "W1"]
        ]
        # Each leg bows 500 m north, far off its straight line (less across a diagonal one).
        for i, j in itertools.pairwise(line.place_vertices):
            if line.coordinates[i] != line.coordinates[j]:
                chord = (line.coordinates[i], line.coordinates[j])
                assert metres_off(chord, list(line.coordinates[i : j + 1])) > 250


def test_a_leg_the_geometry_lacks_is_drawn_straight_and_access_must_match() -> None:
    scenario, plan = small_and_big_plan()
    # Only the big truck's legs are known; T2 (small) shares W1 -> P2 in no class.
    paths = {
        key: zigzag(place(scenario, key[0]), place(scenario, key[1]))
        for key in plan_legs(scenario, plan)
        if key[2] == "big"
    }
    roads = road_lines(scenario, plan, paths)
    assert set(roads.legs) == set(paths)
    assert route_line(scenario, plan.routes[1], roads) == route_line(scenario, plan.routes[1])


def test_a_function_gives_the_same_lines_as_a_mapping() -> None:
    scenario, plan = small_and_big_plan()
    paths = {
        key: zigzag(place(scenario, key[0]), place(scenario, key[1]))
        for key in plan_legs(scenario, plan)
    }
    from_mapping = road_lines(scenario, plan, paths)
    calls: list[tuple[str, str, str]] = []

    def lookup(a: str, b: str, access: str) -> list[Position] | None:
        calls.append((a, b, access))
        return paths.get((a, b, access))

    assert road_lines(scenario, plan, lookup) == from_mapping
    assert calls == plan_legs(scenario, plan)


def test_the_roads_snapped_ends_are_joined_to_the_places() -> None:
    scenario, plan = small_and_big_plan()
    key = ("W1", "00042", "big")
    a, b = place(scenario, "W1"), place(scenario, "00042")
    off = 100 / METRES_PER_DEGREE  # the road passes 100 m north of both places
    roads = road_lines(scenario, plan, {key: [(a[0], a[1] + off), (b[0], b[1] + off)]})
    assert roads.legs[key] == (a, (a[0], a[1] + off), (b[0], b[1] + off), b)


def test_coordinates_that_are_not_finite_are_refused() -> None:
    scenario, plan = small_and_big_plan()
    with pytest.raises(ValueError, match="not finite"):
        road_lines(scenario, plan, {("W1", "00042", "big"): [(math.nan, 0.0)]})
    with pytest.raises(ValueError, match="tolerance_m"):
        road_lines(scenario, plan, {}, tolerance_m=-1)


def metres_off(line: tuple[Position, ...], original: list[Position]) -> float:
    """Largest distance (m) from a vertex of ``original`` to ``line``, in a local projection."""
    lat0 = original[0][1]
    scale = (METRES_PER_DEGREE * math.cos(math.radians(lat0)), METRES_PER_DEGREE)

    def metric(points: list[Position] | tuple[Position, ...]) -> list[tuple[float, float]]:
        return [(x * scale[0], y * scale[1]) for x, y in points]

    simple = shapely.LineString(metric(line)) if len(line) > 1 else shapely.Point(metric(line)[0])
    return max(simple.distance(shapely.Point(p)) for p in metric(original))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-0.02, 0.02), st.floats(-0.02, 0.02)), min_size=2, max_size=60),
    st.sampled_from([5.0, 15.0, 40.0]),
)
def test_simplified_lines_stay_within_the_tolerance_and_keep_their_ends(
    offsets: list[tuple[float, float]], tolerance_m: float
) -> None:
    original = [(106.8 + dx, -6.5 + dy) for dx, dy in offsets]
    [line] = simplify_lines([original], tolerance_m=tolerance_m)
    assert line[0] == original[0]
    assert line[-1] == original[-1]
    assert len(line) <= len(original)
    # The local projections of the test and of the module differ by well under 1 %.
    assert metres_off(line, original) <= tolerance_m * 1.01 + 0.01


def test_simplifying_drops_the_jitter_of_a_surveyed_road() -> None:
    road = zigzag((106.80, -6.50), (106.85, -6.52), n=2000, jitter_m=2.0)
    [line] = simplify_lines([road], tolerance_m=15.0)
    assert len(line) < len(road) / 20
    assert metres_off(line, road) <= 15.0 * 1.01


def test_plans_without_snap_distances_have_none() -> None:
    _, plan = small_and_big_plan()
    assert plan_snap_m(plan) == {}
    assert isinstance(RoadLines({}).n_vertices, int)


def test_truck_access_follows_the_travel_settings() -> None:
    scenario, plan = small_and_big_plan()
    assert {t.type for t in scenario.trucks} == {"CDE"}
    travel = dataclasses.replace(scenario.travel, access=(("CDE", "small"),))
    scenario = dataclasses.replace(scenario, travel=travel)
    assert {access for _, _, access in plan_legs(scenario, plan)} == {"small"}
