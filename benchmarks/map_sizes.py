"""Map build time, page size and browser render time for 500, 2,000 and 4,000 drop points.

For each size: plan the seeded sample scenario with a short time limit (map size does not depend
on plan quality), then time :func:`geodata.maps.build_map` + :func:`render_map_html` (offline)
for the map of every warehouse together, and :func:`write_maps` for the index with one map per
warehouse. The same map is then drawn along roads: each leg gets a fake winding road
(:func:`fake_leg_paths`: a vertex every 10 m, bends of a few hundred metres, 2 m of jitter, a
third longer than the straight line, like the roads of an OpenStreetMap extract in the hills),
on a background of fake main roads (:func:`fake_main_roads`) and village boundaries (Kabupaten
Bogor's 435 desa from ``../shared/geodata`` when present, else :func:`fake_boundaries`); its
build time and page size are reported beside the straight-line page's. When Chromium is
installed, the offline page is also opened headless with no network: the page's own script
reports when its layers and controls were ready (``data-ready-ms``, from navigation start), and
the wall time of a 1280x900 screenshot is given next to that of an empty page.

Usage::

    bsb bench maps                                      # 500, 2000, 4000 points
    bsb bench maps --sizes 500 --no-write

Results replace the ``map-sizes`` section (:data:`SECTION`) of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from benchmarks.metrics import machine_description
from documents.pipeline import run_pipeline
from geodata.leg_lines import METRES_PER_DEGREE, LegKey, Position, plan_legs
from geodata.maps import MapRoads, build_map, map_content, map_roads, render_map_html, write_maps
from geodata.sample import make_sample
from optimizer.model import Scenario, SolverSettings
from optimizer.planner import PlannerOptions
from optimizer.solution import Plan

if TYPE_CHECKING:
    import geopandas

SECTION = "map-sizes"
"""The section of ``benchmarks/RESULTS.md`` these results replace."""
MB = 1024 * 1024

ROAD_VERTEX_SPACING_M = 10.0
"""Metres between the vertices of a fake road: as dense as a winding road in OpenStreetMap."""
BOGOR_DESA = (
    Path(__file__).resolve().parent.parent.parent / "shared/geodata/bogor_desa_32.01.geojson"
)
"""Kabupaten Bogor's villages, beside the repository when the shared data folder is there."""


def _wiggly_path(
    start: Position, end: Position, rng: np.random.Generator, *, spacing_m: float
) -> list[Position]:
    """Return a fake road from near ``start`` to near ``end``: bends, jitter, ends off road."""
    x_scale = METRES_PER_DEGREE * np.cos(np.radians((start[1] + end[1]) / 2))
    a = np.array([start[0] * x_scale, start[1] * METRES_PER_DEGREE])
    b = np.array([end[0] * x_scale, end[1] * METRES_PER_DEGREE])
    # The places sit up to 60 m off the road (the snap distance).
    a = a + rng.uniform(-60, 60, 2)
    b = b + rng.uniform(-60, 60, 2)
    chord = float(np.linalg.norm(b - a))
    if chord < 1.0:
        return [start, end]
    along = (b - a) / chord
    across = np.array([-along[1], along[0]])
    # Enough bends that the road is about a third longer than the straight line.
    n = max(2, int(chord * 1.35 / spacing_m))
    t = np.linspace(0.0, 1.0, n)
    wavelength_m = rng.uniform(250, 900)
    amplitude_m = min(0.22 * wavelength_m, 0.25 * chord)
    phase = rng.uniform(0, 2 * np.pi)
    offset = amplitude_m * np.sin(2 * np.pi * t * chord / wavelength_m + phase) * np.sin(np.pi * t)
    offset += 0.08 * chord * np.sin(np.pi * t) * rng.uniform(-1, 1)  # a detour
    offset += rng.normal(0, 2.0, n)  # surveyed nodes are never on a perfect curve
    xy = a + np.outer(t * chord, along) + np.outer(offset, across)
    return [(float(x / x_scale), float(y / METRES_PER_DEGREE)) for x, y in xy]


def fake_leg_paths(
    scenario: Scenario, plan: Plan, *, seed: int = 0, spacing_m: float = ROAD_VERTEX_SPACING_M
) -> dict[LegKey, list[Position]]:
    """Return a fake winding road for every leg of a plan, as the pipeline would give them.

    Parameters
    ----------
    scenario, plan
        The plan whose legs get roads (:func:`geodata.leg_lines.plan_legs`).
    seed
        Seed of the bends.
    spacing_m
        Metres between vertices.

    Returns
    -------
    dict
        ``(from_id, to_id, access) -> [(lon, lat), ...]``.
    """
    rng = np.random.default_rng(seed)
    position = {w.id: (w.lon, w.lat) for w in scenario.warehouses}
    position |= {p.id: (p.lon, p.lat) for p in scenario.drop_points}
    return {
        key: _wiggly_path(position[key[0]], position[key[1]], rng, spacing_m=spacing_m)
        for key in plan_legs(scenario, plan)
    }


def _extent(scenario: Scenario) -> tuple[float, float, float, float]:
    lons = [p.lon for p in scenario.drop_points] + [w.lon for w in scenario.warehouses]
    lats = [p.lat for p in scenario.drop_points] + [w.lat for w in scenario.warehouses]
    return min(lons), min(lats), max(lons), max(lats)


def fake_main_roads(
    scenario: Scenario, *, seed: int = 0, n_roads: int = 60, spacing_m: float = 10.0
) -> list[list[Position]]:
    """Return winding main roads criss-crossing the scenario's extent (a background to draw)."""
    rng = np.random.default_rng(seed)
    west, south, east, north = _extent(scenario)
    roads = []
    for _ in range(n_roads):
        if rng.random() < 0.5:
            start = (west, float(rng.uniform(south, north)))
            end = (east, float(rng.uniform(south, north)))
        else:
            start = (float(rng.uniform(west, east)), south)
            end = (float(rng.uniform(west, east)), north)
        roads.append(_wiggly_path(start, end, rng, spacing_m=spacing_m))
    return roads


def fake_boundaries(
    scenario: Scenario, *, columns: int = 20, rows: int = 22
) -> geopandas.GeoDataFrame:
    """Return a grid of named square villages over the scenario's extent, edges every 20 m."""
    import geopandas
    from shapely.geometry import Polygon

    west, south, east, north = _extent(scenario)
    dx, dy = (east - west) / columns, (north - south) / rows
    step = 20 / METRES_PER_DEGREE
    names, polygons = [], []
    for i in range(columns):
        for j in range(rows):
            x0, y0 = west + i * dx, south + j * dy
            edge = np.linspace(0, 1, max(2, int(max(dx, dy) / step)))
            ring = (
                [(x0 + dx * t, y0) for t in edge]
                + [(x0 + dx, y0 + dy * t) for t in edge]
                + [(x0 + dx * (1 - t), y0 + dy) for t in edge]
                + [(x0, y0 + dy * (1 - t)) for t in edge]
            )
            names.append(f"Desa {i}-{j}")
            polygons.append(Polygon(ring))
    return geopandas.GeoDataFrame({"name": names}, geometry=polygons, crs=4326)


def _villages(scenario: Scenario) -> geopandas.GeoDataFrame:
    from geodata.boundaries import read_boundaries

    return read_boundaries(BOGOR_DESA) if BOGOR_DESA.is_file() else fake_boundaries(scenario)


def road_background(scenario: Scenario, plan: Plan, *, seed: int = 0) -> MapRoads:
    """Return fake roads for every leg, fake main roads and villages (Bogor's when present)."""
    return map_roads(
        scenario,
        plan,
        leg_paths=fake_leg_paths(scenario, plan, seed=seed),
        main_roads=fake_main_roads(scenario, seed=seed),
        boundaries=_villages(scenario),
    )


def default_time_limit_s(n_points: int) -> float:
    """Short searches: the map's size and speed do not depend on the plan's quality."""
    if n_points <= 500:
        return 5.0
    if n_points <= 2000:
        return 20.0
    return 40.0


@dataclass(frozen=True)
class Row:
    """One benchmark run."""

    n_points: int
    n_warehouses: int
    trips: int
    days: int
    plan_s: float
    build_s: float
    render_s: float
    size_mb: float
    write_all_s: float
    files: int
    largest_mb: float
    browser_ready_ms: float | None
    screenshot_s: float | None
    blank_screenshot_s: float | None
    road_vertices: int = 0
    """Vertices of the fake roads of every leg, before simplification."""
    road_prepare_s: float = 0.0
    """:func:`geodata.maps.map_roads`: simplifying legs, main roads and villages."""
    road_vertices_drawn: int = 0
    """Vertices of the legs after simplification."""
    road_size_mb: float = 0.0
    """The same page along the roads, on its background."""
    road_build_render_s: float = 0.0


def find_chromium() -> str | None:
    """Chromium on PATH or at Debian's path, if installed."""
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def browser_times(binary: str, page: Path, folder: Path) -> tuple[float | None, float, float]:
    """Ready time reported by the page, and screenshot wall times of the page and of a blank."""
    dumped = _chromium(binary, folder / "p1", "--dump-dom", page.as_uri())
    match = re.search(r'data-ready-ms="([0-9.]+)"', dumped.stdout)
    ready_ms = float(match.group(1)) if match else None
    blank = folder / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    timings = []
    for target in (page, blank):
        started = time.monotonic()
        _chromium(
            binary,
            folder / f"p-{target.stem}",
            "--window-size=1280,900",
            f"--screenshot={folder / (target.stem + '.png')}",
            target.as_uri(),
        )
        timings.append(time.monotonic() - started)
    return ready_ms, timings[0], timings[1]


def run_one(n_points: int, *, seed: int, time_limit_s: float, workers: int) -> Row:
    """Plan one sample and measure its maps."""
    scenario = make_sample(n_drop_points=n_points, seed=seed)
    scenario = dataclasses.replace(
        scenario, solver=SolverSettings(time_limit_s=time_limit_s, seed=seed)
    )
    # Checked like every plan; the check's time is not part of plan_s.
    planned = run_pipeline(scenario, options=PlannerOptions(workers=workers), require_valid=False)
    plan, plan_s = planned.plan, planned.times.plan_s
    started = time.monotonic()
    m = build_map(scenario, plan)
    build_s = time.monotonic() - started
    started = time.monotonic()
    page = render_map_html(m, offline=True)
    render_s = time.monotonic() - started
    paths = fake_leg_paths(scenario, plan, seed=seed)
    main_roads = fake_main_roads(scenario, seed=seed)
    villages = _villages(scenario)
    started = time.monotonic()
    roads = map_roads(scenario, plan, leg_paths=paths, main_roads=main_roads, boundaries=villages)
    road_prepare_s = time.monotonic() - started
    started = time.monotonic()
    road_page = render_map_html(build_map(scenario, plan, roads=roads), offline=True)
    road_build_render_s = time.monotonic() - started
    binary = find_chromium()
    with tempfile.TemporaryDirectory(prefix="bsb-map-bench-") as tmp:
        folder = Path(tmp)
        overall = folder / "overall.html"
        overall.write_text(page, encoding="utf-8")
        started = time.monotonic()
        written = write_maps(scenario, plan, folder / "plan" / "map.html")
        write_all_s = time.monotonic() - started
        largest = max(p.stat().st_size for p in written)
        ready_ms: float | None = None
        shot_s: float | None = None
        blank_s: float | None = None
        if binary is not None:
            ready_ms, shot_s, blank_s = browser_times(binary, overall, folder)
    return Row(
        n_points=n_points,
        n_warehouses=len(scenario.warehouses),
        trips=len(plan.routes),
        days=len(map_content(scenario, plan).days),
        plan_s=plan_s,
        build_s=build_s,
        render_s=render_s,
        size_mb=len(page.encode("utf-8")) / MB,
        write_all_s=write_all_s,
        files=len(written),
        largest_mb=largest / MB,
        browser_ready_ms=ready_ms,
        screenshot_s=shot_s,
        blank_screenshot_s=blank_s,
        road_vertices=sum(len(p) for p in paths.values()),
        road_prepare_s=road_prepare_s,
        road_vertices_drawn=0 if roads.legs is None else roads.legs.n_vertices,
        road_size_mb=len(road_page.encode("utf-8")) / MB,
        road_build_render_s=road_build_render_s,
    )


def _optional(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(rows: list[Row]) -> str:
    """Markdown table of the runs."""
    lines = [
        "| drop points | warehouses | trips | days | plan s (not the subject) | build s | "
        "render s | offline page MB | write_maps s (index + per-warehouse maps) | files | "
        "largest file MB | browser ready ms | screenshot s (blank page s) | "
        "road vertices (drawn) | roads: prepare s | roads: build + render s | "
        "roads: offline page MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.n_points} | {r.n_warehouses} | {r.trips} | {r.days} | {r.plan_s:.1f} | "
            f"{r.build_s:.2f} | {r.render_s:.2f} | **{r.size_mb:.2f}** | {r.write_all_s:.2f} | "
            f"{r.files} | {r.largest_mb:.2f} | {_optional(r.browser_ready_ms, '.0f')} | "
            f"{_optional(r.screenshot_s, '.1f')} ({_optional(r.blank_screenshot_s, '.1f')}) | "
            f"{r.road_vertices:,} ({r.road_vertices_drawn:,}) | {r.road_prepare_s:.2f} | "
            f"{r.road_build_render_s:.2f} | **{r.road_size_mb:.2f}** |"
        )
    return "\n".join(lines)


def run_maps(
    sizes: Sequence[int],
    *,
    seed: int,
    time_limit_s: float | None,
    workers: int,
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Run the benchmark: one sample per size, planned briefly, its maps measured.

    Parameters
    ----------
    sizes
        Numbers of drop points.
    seed
        Seed of the samples and of the search.
    time_limit_s
        Search time of every plan; ``None`` for :func:`default_time_limit_s` by size.
    workers
        Planner processes.
    on_row
        Told each row as soon as it is measured.

    Returns
    -------
    list[Row]
        One row per size.
    """
    rows: list[Row] = []
    for n in sizes:
        limit = time_limit_s or default_time_limit_s(n)
        rows.append(run_one(n, seed=seed, time_limit_s=limit, workers=workers))
        if on_row is not None:
            on_row(rows[-1])
    return rows


def section(rows: list[Row], *, command: str, seed: int) -> str:
    """Return the RESULTS.md section of a run: machine, date, command, browser, the table."""
    chromium = find_chromium()
    browser = "not installed" if chromium is None else _version(chromium)
    return "\n".join(
        [
            "## Map sizes: build, render and page size",
            "",
            f"- machine: {machine_description()}",
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- command: `{command}`",
            f"- seed {seed}, sample scenarios, short plans (5 / 20 / 40 s); the page is the "
            "offline map of every warehouse together (Leaflet inlined); browser: "
            f"{browser}, headless, no network (tiles fail), ready time from navigation start",
            "- roads: the same page with every leg along a fake winding road (a vertex every "
            f"{ROAD_VERTEX_SPACING_M:.0f} m, simplified to 15 m), 60 fake main roads and "
            + (
                "Kabupaten Bogor's 435 villages"
                if BOGOR_DESA.is_file()
                else "a grid of 440 fake villages"
            )
            + " as background; prepare = `map_roads` (simplifying), not the fake roads' making",
            "",
            table(rows),
        ]
    )


def _version(binary: str) -> str:
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or binary
