"""The offline map in a real browser: headless Chromium, no network, no console error.

Skipped when Chromium is not installed (``.ci/run`` installs Debian's ``chromium``). Vectors are
drawn on a canvas, so the page's own script reports what it drew as ``data-routes`` /
``data-markers`` / ``data-warehouses`` on the map container; a test script appended to a copy of
the page also clicks through the controls and records the counts after each step.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from geodata.maps import NARROW_SCREEN_PX, build_map, render_map_html
from geodata.sample import make_sample
from optimizer.model import Scenario, SolverSettings
from optimizer.planner import plan_scenario
from optimizer.solution import Plan
from tests.conftest import find_chromium

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

SCREENSHOT_COPY = Path("/tmp/bsb_map_screenshot.png")

CAPTURE_ERRORS = """<script>
window.__bsbErrors = [];
window.addEventListener("error", function (e) { window.__bsbErrors.push(String(e.message)); });
(function () {
  var original = console.error;
  console.error = function () {
    window.__bsbErrors.push(Array.prototype.join.call(arguments, " "));
    original.apply(console, arguments);
  };
})();
</script>"""

EXERCISE_CONTROLS = """<script>
(function () {
  var el = document.querySelector(".folium-map"), out = {};
  function n(name) { return Number(el.getAttribute(name)); }
  function fire(node, type) { node.dispatchEvent(new Event(type)); }
  out.routes = n("data-routes");
  out.markers = n("data-markers");
  var links = document.querySelectorAll(".bsb-links a");
  links[1].click();
  out.routes_no_day = n("data-routes");
  links[0].click();
  out.routes_all_days = n("data-routes");
  var radios = document.querySelectorAll('input[name="bsb-tranche"]');
  radios[1].checked = true; fire(radios[1], "change");
  out.routes_first_tranche = n("data-routes");
  radios[0].checked = true; fire(radios[0], "change");
  // The status boxes sit right in the panel (the days in their own box): delivered first.
  var statuses = document.querySelectorAll(".bsb-layers > label > input[type=checkbox]");
  var delivered = statuses[0];
  delivered.checked = false; fire(delivered, "change");
  out.markers_without_delivered = n("data-markers");
  delivered.checked = true; fire(delivered, "change");
  var range = document.querySelector(".bsb-play input[type=range]");
  range.value = 1; fire(range, "input");
  out.routes_day_one = n("data-routes");
  range.value = 0; fire(range, "input");
  var input = document.querySelector(".bsb-search input");
  input.value = "__POINT_ID__"; fire(input, "input");
  out.search_hits = document.querySelectorAll(".bsb-search li").length;
  input.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter"}));
  var popup = document.querySelector(".leaflet-popup-content");
  out.popup_text = popup ? popup.textContent : "";
  out.warehouse_icons = document.querySelectorAll(".leaflet-marker-icon.bsb-wh").length;
  out.canvases = document.querySelectorAll(".leaflet-overlay-pane canvas").length;
  out.attribution = document.querySelector(".leaflet-control-attribution").textContent;
  el.setAttribute("data-test", JSON.stringify(out));
  function report() {
    document.documentElement.setAttribute("data-errors", JSON.stringify(window.__bsbErrors));
  }
  report();
  setTimeout(report, 1500);
})();
</script>"""


@dataclass(frozen=True)
class BrowserRun:
    scenario: Scenario
    plan: Plan
    dom: str
    stderr: str
    screenshot: Path


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        # No network: every host name fails to resolve, so tiles fail fast and cleanly.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory: pytest.TempPathFactory) -> BrowserRun:
    scenario = make_sample(n_drop_points=40, seed=1, n_warehouses=1)
    scenario = dataclasses.replace(
        scenario, solver=SolverSettings(time_limit_s=5.0, seed=1, solution_limit=5)
    )
    plan = plan_scenario(scenario)
    folder = tmp_path_factory.mktemp("browser")
    page = render_map_html(build_map(scenario, plan), offline=True)
    (folder / "map.html").write_text(page, encoding="utf-8")
    probe = page.replace("<head>", "<head>" + CAPTURE_ERRORS, 1)
    probe = probe.replace(
        "</html>", EXERCISE_CONTROLS.replace("__POINT_ID__", scenario.drop_points[0].id) + "</html>"
    )
    (folder / "probe.html").write_text(probe, encoding="utf-8")
    dumped = chromium(
        "--virtual-time-budget=5000",
        "--dump-dom",
        (folder / "probe.html").as_uri(),
        profile=folder / "profile-dom",
    )
    screenshot = folder / "map.png"
    shot = chromium(
        "--virtual-time-budget=3000",
        "--hide-scrollbars",
        "--window-size=1280,900",
        f"--screenshot={screenshot}",
        (folder / "map.html").as_uri(),
        profile=folder / "profile-shot",
    )
    if screenshot.exists():
        shutil.copyfile(screenshot, SCREENSHOT_COPY)
    return BrowserRun(scenario, plan, dumped.stdout, dumped.stderr + shot.stderr, screenshot)


def attribute(dom: str, name: str) -> str:
    match = re.search(rf'\b{name}="([^"]*)"', dom)
    assert match, f"{name} not in the rendered page"
    return html.unescape(match.group(1))


def recorded(run: BrowserRun) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(attribute(run.dom, "data-test"))
    return result


def test_page_renders_offline_without_console_errors(browser_run: BrowserRun) -> None:
    assert attribute(browser_run.dom, "data-bsb-ready") == "1"
    assert json.loads(attribute(browser_run.dom, "data-errors")) == []
    uncaught = [
        line
        for line in browser_run.stderr.splitlines()
        if "Uncaught" in line or ("CONSOLE" in line and "ERROR" in line and "tile" not in line)
    ]
    # Tiles may fail (there is no network); nothing else may.
    assert [line for line in uncaught if "ERR_NAME_NOT_RESOLVED" not in line] == []


def test_every_route_marker_and_warehouse_is_drawn(browser_run: BrowserRun) -> None:
    plan, scenario = browser_run.plan, browser_run.scenario
    assert int(attribute(browser_run.dom, "data-routes")) == len(plan.routes)
    assert int(attribute(browser_run.dom, "data-markers")) == len(scenario.drop_points)
    assert int(attribute(browser_run.dom, "data-warehouses")) == len(scenario.warehouses)
    assert int(attribute(browser_run.dom, "data-days")) == len({r.date for r in plan.routes})
    out = recorded(browser_run)
    assert out["warehouse_icons"] == len(scenario.warehouses)
    assert out["canvases"] == 1  # prefer_canvas: one canvas for every vector


def test_controls_filter_days_tranches_statuses_and_search(browser_run: BrowserRun) -> None:
    plan, scenario = browser_run.plan, browser_run.scenario
    out = recorded(browser_run)
    first_day = min(r.date for r in plan.routes)
    first_tranche = scenario.tranches[0].id
    assert out["routes_no_day"] == 0
    assert out["routes_all_days"] == len(plan.routes)
    assert out["routes_first_tranche"] == sum(
        1 for r in plan.routes if any(s.tranche == first_tranche for s in r.stops)
    )
    assert out["routes_day_one"] == sum(1 for r in plan.routes if r.date == first_day)
    assert out["markers_without_delivered"] < len(scenario.drop_points)
    assert out["search_hits"] >= 1
    assert scenario.drop_points[0].id in out["popup_text"]
    assert scenario.drop_points[0].desa in out["popup_text"]


def test_no_tile_credit_without_tiles(browser_run: BrowserRun) -> None:
    # No network, so no tile is shown, and none is credited; Leaflet's own credit stays.
    attribution = recorded(browser_run)["attribution"]
    assert "Leaflet" in attribution
    assert "OpenStreetMap" not in attribution


def test_screenshot_is_saved(browser_run: BrowserRun) -> None:
    assert browser_run.screenshot.exists()
    assert browser_run.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert browser_run.screenshot.stat().st_size > 20_000


# --- layouts at a desktop's and a phone's size (Playwright drives the same Chromium) ---------

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None  # type: ignore[assignment]

VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844), "phone-sideways": (844, 390)}

# Is the element itself what a tap at its centre reaches (not scrolled away inside its panel,
# not under another panel, not off screen)?
TAP_REACHES = """el => {
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit === el || (hit !== null && el.parentNode.contains(hit));
}"""


@pytest.fixture(scope="module")
def overview_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, Plan, Path]:
    """The all-warehouses map of a two-warehouse plan, written offline."""
    scenario = make_sample(n_drop_points=40, seed=3, n_warehouses=2)
    scenario = dataclasses.replace(
        scenario, solver=SolverSettings(time_limit_s=5.0, seed=1, solution_limit=5)
    )
    plan = plan_scenario(scenario)
    page = tmp_path_factory.mktemp("overview") / "all.html"
    page.write_text(render_map_html(build_map(scenario, plan), offline=True), encoding="utf-8")
    return scenario, plan, page


@pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed")
@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_the_tranche_filter_stays_on_screen_and_the_overview_draws_every_trip(
    overview_page: tuple[Scenario, Plan, Path], viewport: str
) -> None:
    scenario, plan, page_path = overview_page
    width, height = VIEWPORTS[viewport]
    assert CHROMIUM is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            # No network: tiles fail at once, as on a laptop in the field.
            context.route(re.compile(r"^https?://"), lambda route: route.abort())
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_path.as_uri())
            page.wait_for_selector(".folium-map[data-bsb-ready]")
            radios = page.locator('input[name="bsb-tranche"]')
            assert radios.count() == len(scenario.tranches) + 1
            for index in range(radios.count()):
                assert radios.nth(index).evaluate(TAP_REACHES), (viewport, index)
            radios.nth(1).check()
            routes = int(page.locator(".folium-map").get_attribute("data-routes") or -1)
            first = scenario.tranches[0].id
            assert routes == sum(1 for r in plan.routes if any(s.tranche == first for s in r.stops))
            radios.nth(0).check()
            routes = int(page.locator(".folium-map").get_attribute("data-routes") or -1)
            assert routes == len(plan.routes)
            # On a phone held upright the long lists start folded; elsewhere they are open.
            days_open = page.locator("details.bsb-days-fold").evaluate("d => d.open")
            assert days_open is (width >= NARROW_SCREEN_PX)
            # The first view holds every warehouse, even on a phone.
            for icon in page.locator(".leaflet-marker-icon.bsb-wh").all():
                box = icon.bounding_box()
                assert box is not None
                assert 0 <= box["x"] <= width and 0 <= box["y"] <= height, (viewport, box)
            assert errors == []
        finally:
            browser.close()


def test_a_map_along_roads_on_its_own_background_draws_without_error(tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    from benchmarks.map_sizes import fake_boundaries, fake_leg_paths, fake_main_roads
    from geodata.maps import map_roads

    scenario = make_sample(n_drop_points=40, seed=2, n_warehouses=2)
    scenario = dataclasses.replace(
        scenario, solver=SolverSettings(time_limit_s=5.0, seed=1, solution_limit=5)
    )
    plan = plan_scenario(scenario)
    roads = map_roads(
        scenario,
        plan,
        leg_paths=fake_leg_paths(scenario, plan),
        main_roads=fake_main_roads(scenario, n_roads=5),
        boundaries=fake_boundaries(scenario, columns=3, rows=3),
    )
    assert CHROMIUM is not None
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            # The map of every warehouse (legs to and from them drawn apart), then one's own.
            for warehouse in (None, scenario.warehouses[0].id):
                page_path = tmp_path / f"map-{warehouse}.html"
                m = build_map(scenario, plan, warehouse=warehouse, roads=roads)
                page_path.write_text(render_map_html(m), encoding="utf-8")
                trips = [r for r in plan.routes if warehouse in (None, r.warehouse)]
                errors: list[str] = []
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
                page.on(
                    "console",
                    lambda message, errors=errors: (
                        errors.append(message.text) if message.type == "error" else None
                    ),
                )
                # No network: tiles fail (and say so on the console).
                page.route("http*://**", lambda route: route.abort())
                page.goto(page_path.as_uri())
                page.wait_for_selector("[data-bsb-ready]")
                container = page.locator(".folium-map")
                assert int(container.get_attribute("data-routes") or -1) == len(trips)
                assert int(container.get_attribute("data-background") or 0) > 0
                assert page.get_by_text("Batas desa").count() == 1
                # Names show only when zoomed in; switching a background layer off hides it.
                state = m.get_name()
                page.evaluate(f"() => {{ {state}.setZoom(9, {{animate: false}}); }}")
                assert page.locator(".bsb-area-name").count() == 0
                page.evaluate(f"() => {{ {state}.setZoom(14, {{animate: false}}); }}")
                assert page.locator(".bsb-area-name").count() > 0
                page.get_by_text("Batas desa").click()
                assert page.locator(".bsb-area-name").count() == 0
                page.get_by_text("Jalan utama").click()
                assert [e for e in errors if "Failed to load resource" not in e] == []
                page.close()
        finally:
            browser.close()
