from __future__ import annotations

import dataclasses
import json
import math
import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geodata.leg_lines import Position, plan_legs
from geodata.map_assets import (
    LEAFLET_CSS_URL,
    LEAFLET_JS_URL,
    inline_assets,
    leaflet_css,
    remote_references,
)
from geodata.maps import (
    BSB_MAP_MARKER,
    MAPS_FOLDER,
    NARROW_SCREEN_PX,
    TILES_URL,
    DayRoutes,
    MapContent,
    PointStatus,
    build_map,
    encode_line,
    is_bsb_map,
    map_content,
    map_files,
    map_roads,
    overall_status,
    render_map_html,
    write_maps,
)
from geodata.sample import make_sample
from geodata.waiting_text import curve_svg, waiting_lines
from optimizer.errors import InputError
from optimizer.model import Scenario, SolverSettings
from optimizer.planner import plan_scenario
from optimizer.solution import Plan, ReasonCode, Route, Stop, Unassigned, compute_kpis
from optimizer.waiting import waiting_curves
from tests.conftest import make_tiny_scenario

if TYPE_CHECKING:
    import geopandas


def planned(n_points: int, n_warehouses: int) -> tuple[Scenario, Plan]:
    scenario = make_sample(n_drop_points=n_points, seed=1, n_warehouses=n_warehouses)
    scenario = dataclasses.replace(
        scenario, solver=SolverSettings(time_limit_s=5.0, seed=1, solution_limit=5)
    )
    return scenario, plan_scenario(scenario)


@pytest.fixture(scope="module")
def one_warehouse() -> tuple[Scenario, Plan]:
    return planned(30, 1)


@pytest.fixture(scope="module")
def two_warehouses() -> tuple[Scenario, Plan]:
    return planned(40, 2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute)


def status_plan() -> tuple[Scenario, Plan]:
    """Tiny scenario: 00042 delivered, P2 split over two trips, P3 partial, P4 unassigned."""
    scenario = make_tiny_scenario()
    d1, d2 = date(2020, 9, 1), date(2020, 9, 2)
    stops1 = (
        Stop("00042", "T-SEP", 1500.0, 100, at(d1, 8), at(d1, 8, 30)),
        Stop("P2", "T-SEP", 600.0, 40, at(d1, 9), at(d1, 9, 20)),
    )
    stops2 = (
        Stop("P2", "T-SEP", 600.0, 40, at(d2, 8), at(d2, 8, 20)),
        Stop("P3", "T-SEP", 1800.0, 120, at(d2, 9), at(d2, 9, 40)),
    )
    stops3 = (
        Stop("00042", "T-OKT", 750.0, 50, at(date(2020, 10, 1), 8), at(date(2020, 10, 1), 8, 20)),
        Stop("P2", "T-OKT", 600.0, 40, at(date(2020, 10, 1), 9), at(date(2020, 10, 1), 9, 20)),
    )
    routes = (
        Route("T2", "W1", d1, 1, at(d1, 7), at(d1, 10), 20.0, 2100.0, stops1),
        Route("T2", "W1", d2, 1, at(d2, 7), at(d2, 10), 25.0, 2400.0, stops2),
        Route(
            "T1",
            "W1",
            date(2020, 10, 1),
            1,
            at(date(2020, 10, 1), 7),
            at(date(2020, 10, 1), 10),
            18.0,
            1350.0,
            stops3,
        ),
    )
    unassigned = (
        Unassigned("P3", "T-OKT", 1800.0, 120, ReasonCode.FLEET_TIME, "no truck time left"),
        Unassigned("P4", "T-SEP", 900.0, 60, ReasonCode.STOCK, "warehouse W1 out of stock"),
        Unassigned("P4", "T-OKT", 450.0, 30, ReasonCode.STOCK, "warehouse W1 out of stock"),
    )
    return scenario, Plan("tiny", routes, unassigned, compute_kpis(scenario, routes, unassigned))


def children(m: Any, kind: str) -> list[Any]:
    return [c for c in m._children.values() if getattr(c, "_name", "") == kind]


def point_properties(content: MapContent) -> dict[str, dict[str, Any]]:
    return {f["properties"]["id"]: f["properties"] for f in content.points["features"]}


def test_map_has_one_routes_layer_per_day_holding_every_trip(
    one_warehouse: tuple[Scenario, Plan],
) -> None:
    scenario, plan = one_warehouse
    m = build_map(scenario, plan)
    layers: list[DayRoutes] = [c.bsb_layer for c in children(m, "BsbDayRoutes")]
    assert [layer.day for layer in layers] == sorted({r.date for r in plan.routes})
    assert sum(layer.n_routes for layer in layers) == len(plan.routes)
    for layer in layers:
        trips = {
            (f["properties"]["truck"], f["properties"]["trip"])
            for f in layer.collection["features"]
        }
        assert trips == {(r.truck, r.trip) for r in plan.routes if r.date == layer.day}


def test_route_lines_start_and_end_at_the_warehouse_and_carry_the_truck_colour(
    one_warehouse: tuple[Scenario, Plan],
) -> None:
    scenario, plan = one_warehouse
    content = map_content(scenario, plan)
    home = scenario.warehouses[0]
    colours_by_truck: dict[str, set[str]] = {}
    for layer in content.days:
        for feature in layer.collection["features"]:
            coords = feature["geometry"]["coordinates"]
            assert coords[0] == coords[-1] == [round(home.lon, 5), round(home.lat, 5)]
            assert len(coords) == len(feature["properties"]["stops"]) + 2
            colours_by_truck.setdefault(feature["properties"]["truck"], set()).add(
                feature["properties"]["color"]
            )
    assert all(len(c) == 1 for c in colours_by_truck.values())


def test_one_marker_per_drop_point_with_popup_fields(one_warehouse: tuple[Scenario, Plan]) -> None:
    scenario, plan = one_warehouse
    m = build_map(scenario, plan)
    [points] = children(m, "BsbDropPoints")
    [controls] = children(m, "BsbControls")
    content: MapContent = controls.bsb_content
    assert content.n_points == len(scenario.drop_points)
    props = content.points["features"][0]["properties"]
    assert {"id", "name", "rt", "rw", "desa", "kecamatan", "kpm", "status", "tranches"} <= set(
        props
    )
    tranche = props["tranches"][0]
    assert {"tranche", "status", "due_kg", "due_sacks", "kg", "sacks", "stops", "reason"} <= set(
        tranche
    )
    assert {"date", "arrive", "truck", "trip", "kg", "sacks"} <= set(tranche["stops"][0])
    assert json.dumps(props["id"]) in points.bsb_script


def test_statuses_delivered_split_partial_unassigned_with_reason() -> None:
    scenario, plan = status_plan()
    props = point_properties(map_content(scenario, plan))
    assert props["00042"]["status"] == PointStatus.DELIVERED
    assert props["P2"]["status"] == PointStatus.SPLIT
    assert props["P3"]["status"] == PointStatus.PARTIAL
    assert props["P4"]["status"] == PointStatus.UNASSIGNED
    p3_okt = next(t for t in props["P3"]["tranches"] if t["tranche"] == "T-OKT")
    assert p3_okt["status"] == PointStatus.UNASSIGNED
    # In the map's language, never plan.json's English (no facts here: the reason's label).
    assert p3_okt["reason"] == "Armada tidak cukup sebelum batas waktu."
    assert {t["reason_code"] for t in props["P4"]["tranches"]} == {"stock"}
    p2_sep = next(t for t in props["P2"]["tranches"] if t["tranche"] == "T-SEP")
    assert [(s["date"], s["arrive"], s["truck"], s["trip"]) for s in p2_sep["stops"]] == [
        ("2020-09-01", "09.00", "T2", 1),
        ("2020-09-02", "08.00", "T2", 1),
    ]
    assert p2_sep["stops"][0]["day"] == "Sel, 1 Sep 2020"
    assert p2_sep["sacks"] == 80


def test_warehouse_popup_data_has_stock_and_shipped_tonnage() -> None:
    scenario, plan = status_plan()
    [warehouse] = map_content(scenario, plan).warehouses["features"]
    props = warehouse["properties"]
    assert props["stock_kg"] == 100_000
    assert props["shipped_kg"] == 2100 + 2400 + 1350
    assert props["shipped_kg_per_tranche"] == {"T-SEP": 4500, "T-OKT": 1350}


def test_summary_matches_the_plan_kpis(one_warehouse: tuple[Scenario, Plan]) -> None:
    scenario, plan = one_warehouse
    summary = map_content(scenario, plan).summary
    assert summary.families_served == plan.kpis.families_served
    assert summary.families_total == plan.kpis.families_total
    assert summary.trips == plan.kpis.trips
    assert summary.truck_days == plan.kpis.truck_days
    assert summary.distance_km == pytest.approx(plan.kpis.distance_km, abs=0.01)
    assert summary.kg_delivered == pytest.approx(plan.kpis.kg_delivered)


@given(st.lists(st.sampled_from(list(PointStatus)), min_size=1, max_size=4))
def test_overall_status_is_unassigned_only_when_every_tranche_is(
    statuses: list[PointStatus],
) -> None:
    result = overall_status(statuses)
    assert (result is PointStatus.UNASSIGNED) == all(s is PointStatus.UNASSIGNED for s in statuses)
    if all(s in (PointStatus.DELIVERED, PointStatus.SPLIT) for s in statuses):
        assert result in (PointStatus.DELIVERED, PointStatus.SPLIT)
    else:
        assert result in (PointStatus.PARTIAL, PointStatus.UNASSIGNED)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("id", ["Ringkasan", "KPM terlayani", "Legenda", "Dijadwalkan sebagian", "Cari ID"]),
        ("en", ["Summary", "Families served", "Legend", "Partly scheduled", "Search id"]),
    ],
)
def test_labels_in_bahasa_indonesia_and_english(language: str, words: list[str]) -> None:
    scenario, plan = status_plan()
    page = render_map_html(build_map(scenario, plan, language=language))
    for word in words:
        assert word in page
    assert ("Sel, 1 Sep 2020" in page) == (language == "id")
    assert ("Tue, 1 Sept 2020" in page) == (language == "en")


def test_unknown_language_or_warehouse_is_refused() -> None:
    scenario, plan = status_plan()
    with pytest.raises(ValueError, match="language"):
        build_map(scenario, plan, language="fr")
    with pytest.raises(ValueError, match="warehouse"):
        build_map(scenario, plan, warehouse="W9")


def test_offline_page_loads_nothing_from_the_network(one_warehouse: tuple[Scenario, Plan]) -> None:
    scenario, plan = one_warehouse
    page = render_map_html(build_map(scenario, plan), offline=True)
    assert remote_references(page) == []
    assert not re.search(r"<(script|link)\b[^>]*(src|href)\s*=", page, re.IGNORECASE)
    assert "Leaflet 1.9.3" in page  # the library itself, inlined
    assert TILES_URL in page  # the tile template may name its host: tiles stay blank offline
    for unwanted in ("jquery", "bootstrap", "awesome-markers", "font-awesome", "fontawesome"):
        assert unwanted not in page.lower()


def test_scale_bar_is_in_kilometres_only(one_warehouse: tuple[Scenario, Plan]) -> None:
    scenario, plan = one_warehouse
    page = render_map_html(build_map(scenario, plan), offline=True)
    assert page.count("L.control.scale(") == 1
    assert "L.control.scale({imperial: false})" in page


def test_online_page_links_the_leaflet_cdn() -> None:
    scenario, plan = status_plan()
    page = render_map_html(build_map(scenario, plan), offline=False)
    assert remote_references(page) == [LEAFLET_JS_URL, LEAFLET_CSS_URL]


def test_inlining_refuses_an_unknown_remote_script() -> None:
    page = '<head><script src="https://example.org/x.js"></script></head>'
    with pytest.raises(ValueError, match=r"example\.org"):
        inline_assets(page)
    assert inline_assets('<script src="local.js"></script>') == '<script src="local.js"></script>'


def test_leaflet_stylesheet_images_are_inlined() -> None:
    css = leaflet_css()
    assert "data:image/png;base64," in css
    assert "url(images/" not in css


def test_text_from_the_files_cannot_break_out_of_the_script() -> None:
    base = make_tiny_scenario()
    evil = "</script><script>alert(1)</script> {{ x }} {% if %}"
    point = dataclasses.replace(base.drop_points[0], name=evil)
    scenario = dataclasses.replace(base, drop_points=(point, *base.drop_points[1:]))
    page = render_map_html(
        build_map(scenario, Plan("tiny", (), (), compute_kpis(scenario, (), ())))
    )
    assert evil not in page
    assert "\\u003c/script\\u003e" in page
    # branca re-reads scripts as Jinja templates: the braces must survive as escapes.
    assert "\\u007b{ x }} \\u007b% if %}" in page


def test_write_maps_one_warehouse_writes_one_page(
    one_warehouse: tuple[Scenario, Plan], tmp_path: Path
) -> None:
    scenario, plan = one_warehouse
    out = tmp_path / "plan" / "map.html"
    assert write_maps(scenario, plan, out) == [out]
    assert sorted(p.name for p in out.parent.iterdir()) == ["map.html"]
    assert "data-bsb-ready" in out.read_text(encoding="utf-8")


def test_write_maps_marks_its_pages_and_replaces_only_them(
    one_warehouse: tuple[Scenario, Plan], tmp_path: Path
) -> None:
    scenario, plan = one_warehouse
    out = tmp_path / "map.html"
    write_maps(scenario, plan, out)
    assert out.read_bytes().endswith(BSB_MAP_MARKER) and is_bsb_map(out)
    with pytest.raises(InputError, match="holds a map bsb wrote earlier"):
        write_maps(scenario, plan, out, language="en")
    write_maps(scenario, plan, out, language="en", force=True)
    mine = tmp_path / "mine.html"
    mine.write_text("<p>my notes</p>", encoding="utf-8")
    with pytest.raises(InputError, match="exists and bsb did not write it"):
        write_maps(scenario, plan, mine, force=True)
    assert mine.read_text(encoding="utf-8") == "<p>my notes</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html", "mine.html"]


def test_write_maps_many_warehouses_writes_an_index_and_a_map_per_warehouse(
    two_warehouses: tuple[Scenario, Plan], tmp_path: Path
) -> None:
    scenario, plan = two_warehouses
    out = tmp_path / "map.html"
    written = write_maps(scenario, plan, out, language="en")
    maps = tmp_path / MAPS_FOLDER
    assert written[0] == out
    assert sorted(p.name for p in maps.iterdir()) == ["W01.html", "W02.html", "all.html"]
    index = out.read_text(encoding="utf-8")
    for name in ("W01.html", "W02.html", "all.html"):
        assert f'href="{MAPS_FOLDER}/{name}"' in index
    assert "Route maps by warehouse" in index
    assert 'href=\\"../map.html\\"' in (maps / "W01.html").read_text(encoding="utf-8") or (
        '"index_href":"../map.html"' in (maps / "W01.html").read_text(encoding="utf-8")
    )
    per_warehouse = [map_content(scenario, plan, warehouse=w.id).days for w in scenario.warehouses]
    assert sum(d.n_routes for days in per_warehouse for d in days) == len(plan.routes)
    shown = [map_content(scenario, plan, warehouse=w.id).n_points for w in scenario.warehouses]
    assert sum(shown) >= len(scenario.drop_points)


def test_map_files_needs_a_plain_file_name() -> None:
    scenario, plan = status_plan()
    with pytest.raises(ValueError, match="file name"):
        map_files(scenario, plan, name="../map.html")


def test_reasons_read_back_from_plan_json_are_said_in_the_maps_language() -> None:
    # `bsb map PLAN_DIR` draws from plan.json: the reason's facts travel in `reason_facts`.
    from optimizer.reasons import ReasonFacts
    from optimizer.solution import plan_from_dict, plan_to_dict

    scenario, plan = status_plan()
    facts = ReasonFacts(warehouses=("W1",), leftover_kg=(1_250.5,), ration_kg=15.0)
    plan = dataclasses.replace(
        plan,
        unassigned=tuple(
            dataclasses.replace(u, facts=facts) if u.reason_code is ReasonCode.STOCK else u
            for u in plan.unassigned
        ),
    )
    read_back = plan_from_dict(json.loads(json.dumps(plan_to_dict(plan))))
    for language, expected in (("id", "W1 1.250,5 kg"), ("en", "W1 1,250.5 kg")):
        props = point_properties(map_content(scenario, read_back, language=language))
        p4 = next(t for t in props["P4"]["tranches"] if t["tranche"] == "T-OKT")
        assert expected in p4["reason"]
    assert p4["reason"].startswith("The warehouses that can reach drop point P4")


def page_config(page: str) -> dict[str, Any]:
    """The configuration the page's script is started with (the JSON after the map's name)."""
    match = re.search(r"\}\n\)\((map_\w+), ", page)
    assert match, "no bsb script in the page"
    config: dict[str, Any] = json.JSONDecoder().raw_decode(page, match.end())[0]
    return config


def test_only_the_all_warehouses_view_draws_the_warehouse_legs_faint(
    one_warehouse: tuple[Scenario, Plan], two_warehouses: tuple[Scenario, Plan]
) -> None:
    scenario, plan = two_warehouses
    overview = render_map_html(build_map(scenario, plan), offline=False)
    assert page_config(overview)["overview"] is True
    assert 'dashArray: "2 5"' in overview  # the legs from and back to the warehouses
    one = scenario.warehouses[0].id
    single = render_map_html(build_map(scenario, plan, warehouse=one), offline=False)
    assert page_config(single)["overview"] is False
    lone = render_map_html(build_map(*one_warehouse), offline=False)
    assert page_config(lone)["overview"] is False


def test_narrow_screens_get_their_own_first_view_and_folded_panels(
    one_warehouse: tuple[Scenario, Plan],
) -> None:
    scenario, plan = one_warehouse
    m = build_map(scenario, plan)
    page = render_map_html(m, offline=False)
    config = page_config(page)
    content = map_content(scenario, plan)
    assert config["fit"]["bounds"] == [list(content.bounds[0]), list(content.bounds[1])]
    assert config["narrow_px"] == NARROW_SCREEN_PX
    assert f"@media (max-width:{NARROW_SCREEN_PX}px)" in page
    # The day list scrolls in its own box below the tranche filter.
    script = page[page.index('L.DomUtil.create("h4", "", div).textContent = T.layers') :]
    assert script.index("T.tranche") < script.index("T.days") < script.index('"bsb-days"')


def test_tile_credit_waits_for_a_tile(one_warehouse: tuple[Scenario, Plan]) -> None:
    page = render_map_html(build_map(*one_warehouse), offline=True)
    assert "OpenStreetMap" in page  # the credit is there for when tiles show...
    assert "removeAttribution(credit)" in page  # ...removed at first...
    assert 'layer.once("tileload"' in page  # ...and given back by the first tile shown


# --- roads: trips along their roads, the offline background, snap distances -----------------


@dataclasses.dataclass(frozen=True)
class SnappedPlan(Plan):
    """A plan made on roads, as the planner will hand it over (``Plan.snap_m``)."""

    snap_m: dict[str, float] = dataclasses.field(default_factory=dict)


def decode_line(text: str) -> list[list[float]]:
    """Decode an encoded polyline (precision 5, latitude first) into ``[lon, lat]`` pairs."""
    values: list[int] = []
    index = 0
    while index < len(text):
        result = shift = 0
        while True:
            chunk = ord(text[index]) - 63
            index += 1
            result |= (chunk & 0x1F) << shift
            shift += 5
            if chunk < 0x20:
                break
        values.append(~(result >> 1) if result & 1 else result >> 1)
    lat = lon = 0
    out = []
    for d_lat, d_lon in zip(values[::2], values[1::2], strict=True):
        lat, lon = lat + d_lat, lon + d_lon
        out.append([round(lon / 1e5, 5), round(lat / 1e5, 5)])
    return out


def road_geometry(scenario: Scenario, plan: Plan) -> dict[tuple[str, str, str], list[Position]]:
    """A road for every leg that bows 1 km north, a vertex every few metres."""
    where = {w.id: (w.lon, w.lat) for w in scenario.warehouses}
    where |= {p.id: (p.lon, p.lat) for p in scenario.drop_points}
    paths = {}
    for key in plan_legs(scenario, plan):
        (x0, y0), (x1, y1) = where[key[0]], where[key[1]]
        n = 400
        paths[key] = [
            (
                x0 + (x1 - x0) * i / n,
                y0 + (y1 - y0) * i / n + 0.009 * math.sin(math.pi * i / n) + 1e-5 * (i % 2),
            )
            for i in range(n + 1)
        ]
    return paths


def villages() -> geopandas.GeoDataFrame:
    import geopandas
    from shapely.geometry import box

    return geopandas.GeoDataFrame(
        {"name": ["Babakan", "Ciherang", "Far Away"]},
        geometry=[
            box(106.70, -6.60, 106.76, -6.55),
            box(106.76, -6.60, 106.80, -6.55),
            box(110.0, -7.5, 110.1, -7.4),
        ],
        crs=4326,
    )


def test_encoded_lines_follow_googles_polyline_format() -> None:
    # The example of the format's documentation, given [lon, lat].
    line = [[-120.2, 38.5], [-120.95, 40.7], [-126.453, 43.252]]
    assert encode_line(line) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@"
    assert decode_line(encode_line(line)) == line


@given(st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)), max_size=30))
def test_encoded_lines_decode_to_the_rounded_vertices(points: list[tuple[float, float]]) -> None:
    line = [[round(lon, 5), round(lat, 5)] for lon, lat in points]
    encoded = encode_line(line)
    assert decode_line(encoded) == line
    assert all(63 <= ord(c) <= 126 for c in encoded)


def test_trips_follow_their_roads_on_the_map(one_warehouse: tuple[Scenario, Plan]) -> None:
    scenario, plan = one_warehouse
    roads = map_roads(scenario, plan, leg_paths=road_geometry(scenario, plan))
    assert roads.legs is not None
    straight = map_content(scenario, plan)
    content = map_content(scenario, plan, roads=roads)
    for layer, straight_layer in zip(content.days, straight.days, strict=True):
        for feature, flat in zip(
            layer.collection["features"], straight_layer.collection["features"], strict=True
        ):
            coords = feature["geometry"]["coordinates"]
            places = feature["properties"]["places"]
            # The same places, in the same order, with the road's bends between them.
            assert [coords[i] for i in places] == flat["geometry"]["coordinates"]
            assert len(coords) > 2 * len(places)
    # The page carries those lines encoded, and they decode to the same vertices.
    m = build_map(scenario, plan, roads=roads)
    [element] = children(m, "BsbDayRoutes")[:1]
    first = element.bsb_layer.collection["features"][0]
    assert json.dumps(encode_line(first["geometry"]["coordinates"])) in element.bsb_script


def test_road_lines_keep_the_page_small(one_warehouse: tuple[Scenario, Plan]) -> None:
    scenario, plan = one_warehouse
    geometry = road_geometry(scenario, plan)
    raw_vertices = sum(len(p) for p in geometry.values())
    roads = map_roads(scenario, plan, leg_paths=geometry)
    assert roads.legs is not None and roads.legs.n_vertices < raw_vertices / 10
    straight = render_map_html(build_map(scenario, plan))
    along = render_map_html(build_map(scenario, plan, roads=roads))
    # A bowed road of 400 vertices a leg costs a few bytes a simplified vertex, no more.
    assert len(along) - len(straight) < 8 * roads.legs.n_vertices


def test_the_overview_keeps_where_each_trip_enters_its_stops(
    two_warehouses: tuple[Scenario, Plan],
) -> None:
    scenario, plan = two_warehouses
    roads = map_roads(scenario, plan, leg_paths=road_geometry(scenario, plan))
    for layer in map_content(scenario, plan, roads=roads).days:
        for feature in layer.collection["features"]:
            places = feature["properties"]["places"]
            assert places[0] == 0
            assert places[-1] == len(feature["geometry"]["coordinates"]) - 1
            assert places == sorted(places)
            assert len(places) == len(feature["properties"]["stops"]) + 2


def test_background_roads_and_villages_near_the_map_are_drawn_with_names() -> None:
    scenario, plan = status_plan()
    near_road = [(106.70, -6.57), (106.74, -6.575), (106.80, -6.58)]
    far_road = [(110.0, -7.5), (110.2, -7.45)]
    roads = map_roads(scenario, plan, main_roads=[near_road, far_road], boundaries=villages())
    content = map_content(scenario, plan, roads=roads)
    assert content.background["roads"] == [[[lon, lat] for lon, lat in near_road]]
    names = [area["name"] for area in content.background["boundaries"]]
    assert names == ["Babakan", "Ciherang"]  # not the village 400 km away
    page = render_map_html(build_map(scenario, plan, roads=roads, language="en"))
    assert ".addBackground(" in page
    assert "Village boundaries" in page and "Main roads" in page
    page_id = render_map_html(build_map(scenario, plan, roads=roads))
    assert "Batas desa" in page_id and "Jalan utama" in page_id
    # Without roads, no background at all.
    assert ".addBackground(" not in render_map_html(build_map(scenario, plan))


def test_snap_distances_are_in_the_popups_of_plans_on_roads() -> None:
    scenario, plan = status_plan()
    snapped = SnappedPlan(
        plan.scenario_name,
        plan.routes,
        plan.unassigned,
        plan.kpis,
        snap_m={"00042": 35.4, "P2": 480.0, "P4": math.inf},
    )
    props = point_properties(map_content(scenario, snapped))
    assert props["00042"]["snap_m"] == 35
    assert props["P2"]["snap_m"] == 480
    assert props["P4"]["snap_m"] is None  # no road near: said as "-"
    assert "snap_m" not in props["P3"]  # not given: not said
    # A straight-line plan says nothing about roads.
    assert all("snap_m" not in p for p in point_properties(map_content(scenario, plan)).values())
    page = render_map_html(build_map(scenario, snapped, language="en"))
    assert "Distance to the road" in page


def test_map_files_with_roads_draw_every_warehouse_map_along_the_roads(
    two_warehouses: tuple[Scenario, Plan],
) -> None:
    scenario, plan = two_warehouses
    roads = map_roads(scenario, plan, leg_paths=road_geometry(scenario, plan))
    files = map_files(scenario, plan, roads=roads)
    straight = map_files(scenario, plan)
    assert set(files) == set(straight)
    for name in files:
        if name.startswith(f"{MAPS_FOLDER}/"):
            assert len(files[name]) > len(straight[name])


def test_the_summary_panel_shows_each_tranches_waiting(
    two_warehouses: tuple[Scenario, Plan],
) -> None:
    scenario, plan = two_warehouses
    whole = map_content(scenario, plan)
    assert whole.waiting == waiting_curves(scenario, plan)
    warehouse = scenario.warehouses[1].id
    part = map_content(scenario, plan, warehouse=warehouse)
    # One warehouse's map: the families of the points it shows, as its summary counts them.
    assert [c.families_total for c in part.waiting] == [part.summary.families_total] * len(
        scenario.tranches
    )
    assert 0 < part.summary.families_total < whole.summary.families_total
    page = render_map_html(build_map(scenario, plan, language="en"), offline=True)
    controls = next(
        line for line in page.splitlines() if ".finish(" in line and '"waiting"' in line
    )
    summary = json.loads(controls[controls.index(".finish(") + len(".finish(") : -2])
    assert [w["tranche"] for w in summary["waiting"]] == [
        f"Tranche {t.id}" for t in scenario.tranches
    ]
    for shown, curve in zip(summary["waiting"], whole.waiting, strict=True):
        assert shown["lines"] == list(waiting_lines(curve, "en"))
        assert shown["svg"] == curve_svg(curve, "en")
    assert "Families waiting for rice" in page
