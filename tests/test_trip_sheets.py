from __future__ import annotations

import dataclasses
import math
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from documents.trip_sheets import route_svg, trip_sheet_files, truck_days, write_trip_sheets
from geodata.files import safe_stem
from optimizer.model import Scenario
from optimizer.solution import Plan, Route, Stop, compute_kpis
from tests.conftest import find_chromium, make_tiny_scenario

DAY = date(2020, 9, 1)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute)


def two_trip_plan(scenario: Scenario | None = None, truck: str = "T2") -> tuple[Scenario, Plan]:
    """T2 drives two trips on 1 September; T1 one trip on 2 September."""
    scenario = scenario or make_tiny_scenario()
    trip1 = (
        Stop("P2", "T-SEP", 1200.0, 80, at(8), at(8, 20)),
        Stop("00042", "T-SEP", 1500.0, 100, at(9), at(9, 30)),
    )
    trip2 = (Stop("P4", "T-SEP", 900.0, 60, at(12), at(12, 35)),)
    day2 = date(2020, 9, 2)
    trip3 = (
        Stop("P3", "T-SEP", 1800.0, 120, datetime(2020, 9, 2, 9), datetime(2020, 9, 2, 9, 40)),
    )
    routes = (
        Route(truck, "W1", DAY, 1, at(7), at(10, 30), 21.5, 2700.0, trip1),
        Route(truck, "W1", DAY, 2, at(11), at(13, 30), 9.0, 900.0, trip2),
        Route(
            "T1",
            "W1",
            day2,
            1,
            datetime(2020, 9, 2, 7),
            datetime(2020, 9, 2, 11),
            12.0,
            1800.0,
            trip3,
        ),
    )
    return scenario, Plan("tiny", routes, (), compute_kpis(scenario, routes, ()))


def test_one_sheet_per_truck_day(tmp_path: Path) -> None:
    scenario, plan = two_trip_plan()
    written = write_trip_sheets(scenario, plan, tmp_path / "sheets")
    assert [p.name for p in written] == ["2020-09-01_T2.html", "2020-09-02_T1.html"]
    assert sorted(p.name for p in (tmp_path / "sheets").iterdir()) == [p.name for p in written]
    assert [(d.truck, d.day, len(d.routes)) for d in truck_days(plan)] == [
        ("T2", DAY, 2),
        ("T1", date(2020, 9, 2), 1),
    ]


def test_sheet_lists_stops_in_driving_order_with_times_and_sacks() -> None:
    scenario, plan = two_trip_plan()
    page = trip_sheet_files(scenario, plan)["2020-09-01_T2.html"].decode("utf-8")
    order = [page.index(f"<b>{pid}</b>") for pid in ("P2", "00042", "P4")]
    assert order == sorted(order)
    assert "Rit 1" in page and "Rit 2" in page
    # Times, dates and numbers as an Indonesian reader writes them (Babel, id_ID).
    assert "08.00" in page and "09.30" in page and "12.35" in page
    assert "08:00" not in page
    assert "Selasa, 1 September 2020" in page
    assert re.search(r"<td class='n'>80</td>", page)
    assert re.search(r"<td class='n'>180</td><td class='n'>2.700</td>", page)  # trip 1 totals
    assert "001/01" in page  # RT/RW of 00042
    assert "Gudang Dramaga" in page


def test_sheet_prints_on_a4_without_scripts_or_network() -> None:
    scenario, plan = two_trip_plan()
    page = trip_sheet_files(scenario, plan)["2020-09-01_T2.html"].decode("utf-8")
    assert "size:A4" in page
    assert "<script" not in page
    hosts = set(re.findall(r"https?://[^\"' )]+", page))
    assert hosts == {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched


def test_small_map_draws_each_trip_with_arrows_and_numbered_stops() -> None:
    scenario, plan = two_trip_plan()
    page = trip_sheet_files(scenario, plan)["2020-09-01_T2.html"].decode("utf-8")
    assert page.count('class="route"') == 2
    assert page.count('class="warehouse"') == 1
    assert page.count("<circle") == 3
    assert page.count('class="arrow"') >= 2  # at least the long legs carry an arrowhead


def test_sheet_in_english() -> None:
    scenario, plan = two_trip_plan()
    page = trip_sheet_files(scenario, plan, language="en")["2020-09-02_T1.html"].decode("utf-8")
    assert "Trip sheet" in page and "Facilitator&#x27;s initials" in page and "Driver" in page
    assert "Surat jalan" not in page
    assert "Wednesday, 2 September 2020" in page and re.search(r"\d\d:\d\d", page)


def test_unknown_language_is_refused(tmp_path: Path) -> None:
    scenario, plan = two_trip_plan()
    with pytest.raises(ValueError, match="language"):
        write_trip_sheets(scenario, plan, tmp_path, language="fr")
    assert list(tmp_path.iterdir()) == []


def test_truck_ids_become_safe_file_names_and_text_is_escaped() -> None:
    base = make_tiny_scenario()
    odd = "T/2 <x>"
    trucks = (base.trucks[0], dataclasses.replace(base.trucks[1], id=odd))
    point = dataclasses.replace(base.drop_points[1], name="<b>RW 02</b>")
    scenario = dataclasses.replace(
        base, trucks=trucks, drop_points=(base.drop_points[0], point, *base.drop_points[2:])
    )
    scenario, plan = two_trip_plan(scenario, truck=odd)
    files = trip_sheet_files(scenario, plan)
    name = f"2020-09-01_{safe_stem(odd)}.html"
    assert re.fullmatch(r"2020-09-01_[A-Za-z0-9_.-]+\.html", name)
    page = files[name].decode("utf-8")
    assert "&lt;b&gt;RW 02&lt;/b&gt;" in page
    assert "T/2 &lt;x&gt;" in page


# --- layout: the sketch's markers and the stops table ----------------------------------------


def crowded_plan(offsets_deg: list[tuple[float, float]]) -> tuple[Scenario, Plan]:
    """One trip of T2 to drop points at the given offsets from the warehouse (W1), with long
    ids and names."""
    base = make_tiny_scenario()
    home = base.warehouses[0]
    template = base.drop_points[0]
    points = tuple(
        dataclasses.replace(
            template,
            # Longer than any in the sample (ids of 10, names of 14 letters), as real ones are.
            id=f"3201.2001.{i:04d}",
            name=f"RW {i:02d} Cibodasrahajakulon",
            lon=home.lon + dx,
            lat=home.lat + dy,
            desa="Sukamakmurjayasari",
            kecamatan="Cigudegkulonwetan",
        )
        for i, (dx, dy) in enumerate(offsets_deg)
    )
    scenario = dataclasses.replace(base, drop_points=points)
    stops = tuple(
        Stop(p.id, "T-SEP", 300.0, 20, at(8, i), at(8, i + 1)) for i, p in enumerate(points)
    )
    route = Route("T2", "W1", DAY, 1, at(7), at(12), 5.0, 300.0 * len(stops), stops)
    return scenario, Plan("crowded", (route,), (), compute_kpis(scenario, (route,), ()))


def markers_and_warehouse(svg: str) -> tuple[list[tuple[float, float, float]], tuple[float, ...]]:
    markers = [
        (float(x), float(y), float(r))
        for x, y, r in re.findall(
            r'<g class="stop"><circle cx="([-\d.]+)" cy="([-\d.]+)" r="([\d.]+)"', svg
        )
    ]
    found = re.search(
        r'<rect class="warehouse" x="([-\d.]+)" y="([-\d.]+)" width="([\d.]+)" height="([\d.]+)"',
        svg,
    )
    assert found
    return markers, tuple(float(v) for v in found.groups())


def assert_nothing_hidden(svg: str, n_stops: int) -> None:
    markers, (wx, wy, width, height) = markers_and_warehouse(svg)
    assert len(markers) == n_stops
    centre = (wx + width / 2, wy + height / 2)
    for i, (x, y, r) in enumerate(markers):
        # Clear of the warehouse square, corners included.
        assert math.hypot(x - centre[0], y - centre[1]) >= r + math.hypot(width, height) / 2
        for x2, y2, r2 in markers[i + 1 :]:
            assert math.hypot(x - x2, y - y2) >= r + r2, (i, x, y, x2, y2)
    # A moved marker's leader runs from a dot on its stop to the marker.
    dots = {
        (float(x), float(y))
        for x, y in re.findall(r'<circle class="anchor" cx="([-\d.]+)" cy="([-\d.]+)"', svg)
    }
    for x1, y1, x2, y2 in re.findall(
        r'<line class="leader" x1="([-\d.]+)" y1="([-\d.]+)" x2="([-\d.]+)" y2="([-\d.]+)"', svg
    ):
        assert (float(x1), float(y1)) in dots
        assert (float(x2), float(y2)) in {(x, y) for x, y, _ in markers}


def test_markers_of_stops_on_top_of_each_other_and_of_the_warehouse_all_show() -> None:
    # Twelve stops within 30 m, three of them at the warehouse itself and two at one place.
    offsets = [(0.0, 0.0)] * 3 + [(0.0002 * (i % 4), 0.0001 * (i // 4)) for i in range(9)]
    scenario, plan = crowded_plan(offsets)
    svg = route_svg(scenario, plan.routes)
    assert_nothing_hidden(svg, len(offsets))
    assert svg.count('class="leader"') >= 3  # moved markers point back to their stop


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-0.01, 0.01), st.floats(-0.01, 0.01)), min_size=1, max_size=25))
def test_no_marker_ever_hides_another_or_the_warehouse(
    offsets: list[tuple[float, float]],
) -> None:
    scenario, plan = crowded_plan(offsets)
    assert_nothing_hidden(route_svg(scenario, plan.routes), len(offsets))


def test_stop_columns_wrap_only_between_words() -> None:
    scenario, plan = crowded_plan([(0.001 * i, 0.0) for i in range(3)])
    page = trip_sheet_files(scenario, plan)["2020-09-01_T2.html"].decode("utf-8")
    css = page[page.index("<style>") : page.index("</style>")]
    assert "table-layout:auto" in css
    for breaking in ("break-word", "anywhere", "break-all", "hyphens:auto"):
        assert breaking not in css
    assert re.search(r"\.stops td b[^{]*\{white-space:nowrap\}", css)  # the drop point id


BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll(".stops td, .stops th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /\\S+/g;
      for (let m = re.exec(node.data); m; m = re.exec(node.data)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


def test_no_word_of_the_stops_table_breaks_in_a_browser_at_a4_width(tmp_path: Path) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium is not installed")
    playwright_api = pytest.importorskip("playwright.sync_api")
    scenario, plan = crowded_plan([(0.001 * i, 0.0005 * i) for i in range(8)])
    page_path = tmp_path / "sheet.html"
    page_path.write_bytes(trip_sheet_files(scenario, plan)["2020-09-01_T2.html"])
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            # 186 mm of text at 96 dpi, as printed on A4.
            page = browser.new_page(viewport={"width": 703, "height": 1000})
            page.goto(page_path.as_uri())
            assert page.evaluate(BROKEN_WORDS) == []
            table_px, body_px = page.evaluate(
                "() => [document.querySelector('table.stops').scrollWidth,"
                " document.body.clientWidth]"
            )
            assert table_px <= body_px  # and the table still fits the page
        finally:
            browser.close()


def km_cells(page: str) -> list[list[str]]:
    """The km column of each trip's table (stops, the drive back, the total)."""
    tables = re.findall(r"<table class='stops'>(.*?)</table>", page)
    return [
        [re.findall(r"<td[^>]*>(.*?)</td>", row)[-2] for row in re.findall(r"<tr.*?</tr>", t)[1:]]
        for t in tables
    ]


def test_each_stop_shows_the_km_from_the_place_before_and_the_drive_back() -> None:
    scenario, plan = two_trip_plan()
    page = trip_sheet_files(scenario, plan)["2020-09-01_T2.html"].decode("utf-8")
    where = {w.id: (w.lon, w.lat) for w in scenario.warehouses}
    where |= {p.id: (p.lon, p.lat) for p in scenario.drop_points}

    def km(a: str, b: str) -> str:
        value = scenario.travel.road_km(*where[a], *where[b])
        return f"{value:.1f}".replace(".", ",")

    assert km_cells(page) == [
        [km("W1", "P2"), km("P2", "00042"), km("00042", "W1"), "21,5"],
        [km("W1", "P4"), km("P4", "W1"), "9,0"],
    ]
    assert "Kembali ke gudang Gudang Dramaga" in page
    assert "km: jarak perkiraan (garis lurus x kelokan jalan)" in page


def test_plans_on_roads_show_the_road_km_of_each_leg() -> None:
    scenario, plan = two_trip_plan()
    travel = dataclasses.replace(scenario.travel, source="osm", osm_file="roads.osm.pbf")
    scenario = dataclasses.replace(scenario, travel=travel)
    access = scenario.travel.truck_access(scenario.truck("T2"))
    legs = {
        ("W1", "P2", access): (7.25, 900),
        ("P2", "00042", access): (4.0, 500),
        ("00042", "W1", access): (10.25, 1200),
        ("W1", "P4", access): (4.5, 600),
        # P4 -> W1 is not given: the sheet says "-" rather than guess.
    }
    page = trip_sheet_files(scenario, plan, legs=legs)["2020-09-01_T2.html"].decode("utf-8")
    assert km_cells(page) == [["7,2", "4,0", "10,2", "21,5"], ["4,5", "-", "9,0"]]
    assert "km: jarak menurut jalan dari tempat sebelumnya" in page
    english = trip_sheet_files(scenario, plan, legs=legs, language="en")["2020-09-01_T2.html"]
    assert b"km: distance along the roads from the place before" in english
    assert b"Back to the warehouse" in english
    # On roads but without their km (a sheet redrawn from the plan alone): no estimate.
    bare = trip_sheet_files(scenario, plan)["2020-09-01_T2.html"].decode("utf-8")
    assert km_cells(bare) == [["-", "-", "-", "21,5"], ["-", "-", "9,0"]]
    assert "perkiraan" not in bare and "menurut jalan" not in bare


def test_small_map_draws_legs_along_their_roads() -> None:
    from geodata.leg_lines import plan_legs, road_lines

    scenario, plan = two_trip_plan()
    where = {w.id: (w.lon, w.lat) for w in scenario.warehouses}
    where |= {p.id: (p.lon, p.lat) for p in scenario.drop_points}
    paths = {}
    for key in plan_legs(scenario, plan):
        (x0, y0), (x1, y1) = where[key[0]], where[key[1]]
        # A road bowing 2 km south of the straight line.
        paths[key] = [
            (x0 + (x1 - x0) * i / 40, y0 + (y1 - y0) * i / 40 - 0.018 * math.sin(math.pi * i / 40))
            for i in range(41)
        ]
    routes = truck_days(plan)[0].routes
    straight = route_svg(scenario, routes)
    along = route_svg(scenario, routes, road_lines(scenario, plan, paths))

    def polylines(svg: str) -> list[int]:
        return [
            len(p.split()) for p in re.findall(r'<polyline class="route" points="([^"]*)"', svg)
        ]

    assert polylines(straight) == [4, 3]
    assert all(n > 20 for n in polylines(along))
    assert along.count('class="arrow"') >= straight.count('class="arrow"') > 0
    assert along.count('class="stop"') == straight.count('class="stop"') == 3


def test_a_replacement_stop_tells_the_driver_to_take_the_rejected_rice_back() -> None:
    scenario, plan = two_trip_plan()
    first = plan.routes[1]
    swapped = dataclasses.replace(
        first,
        stops=(dataclasses.replace(first.stops[0], kind="replacement", pickup_kg=45.0),),
    )
    plan = dataclasses.replace(plan, routes=(plan.routes[0], swapped, plan.routes[2]))
    page = trip_sheet_files(scenario, plan)["2020-09-01_T2.html"].decode("utf-8")
    assert page.count("Penggantian beras: ambil kembali 45 kg") == 1
    english = trip_sheet_files(scenario, plan, language="en")["2020-09-01_T2.html"].decode()
    assert "Replacement rice: take back 45 kg" in english
