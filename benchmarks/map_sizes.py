"""Map build time, page size and browser render time for 500, 2,000 and 4,000 drop points.

For each size: plan the seeded sample scenario with a short time limit (map size does not depend
on plan quality), then time :func:`geodata.maps.build_map` + :func:`render_map_html` (offline)
for the map of every warehouse together, and :func:`write_maps` for the index with one map per
warehouse. When Chromium is installed, the offline page is also opened headless with no
network: the page's own script reports when its layers and controls were ready
(``data-ready-ms``, from navigation start), and the wall time of a 1280x900 screenshot is given
next to that of an empty page.

Usage::

    python -m benchmarks.map_sizes                      # 500, 2000, 4000 points
    python -m benchmarks.map_sizes --sizes 500 --no-write

Results replace the ``map-sizes`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.metrics import machine_description, replace_section
from geodata.maps import build_map, map_content, render_map_html, write_maps
from geodata.sample import make_sample
from optimizer.model import SolverSettings
from optimizer.planner import PlannerOptions, plan_scenario

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
MB = 1024 * 1024


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
    started = time.monotonic()
    plan = plan_scenario(scenario, options=PlannerOptions(workers=workers))
    plan_s = time.monotonic() - started
    started = time.monotonic()
    m = build_map(scenario, plan)
    build_s = time.monotonic() - started
    started = time.monotonic()
    page = render_map_html(m, offline=True)
    render_s = time.monotonic() - started
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
    )


def _optional(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(rows: list[Row]) -> str:
    """Markdown table of the runs."""
    lines = [
        "| drop points | warehouses | trips | days | plan s (not the subject) | build s | "
        "render s | offline page MB | write_maps s (index + per-warehouse maps) | files | "
        "largest file MB | browser ready ms | screenshot s (blank page s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.n_points} | {r.n_warehouses} | {r.trips} | {r.days} | {r.plan_s:.1f} | "
            f"{r.build_s:.2f} | {r.render_s:.2f} | **{r.size_mb:.2f}** | {r.write_all_s:.2f} | "
            f"{r.files} | {r.largest_mb:.2f} | {_optional(r.browser_ready_ms, '.0f')} | "
            f"{_optional(r.screenshot_s, '.1f')} ({_optional(r.blank_screenshot_s, '.1f')}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and update RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000,4000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=None, help="override, seconds")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    rows: list[Row] = []
    for n in (int(s) for s in args.sizes.split(",")):
        limit = args.time_limit or default_time_limit_s(n)
        rows.append(run_one(n, seed=args.seed, time_limit_s=limit, workers=args.workers))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    command = " ".join(["python -m benchmarks.map_sizes", *(argv or sys.argv[1:])])
    chromium = find_chromium()
    browser = "not installed" if chromium is None else _version(chromium)
    body = "\n".join(
        [
            "## Map sizes: build, render and page size",
            "",
            f"- machine: {machine_description()}",
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- command: `{command}`",
            f"- seed {args.seed}, sample scenarios, short plans (5 / 20 / 40 s); the page is the "
            "offline map of every warehouse together (Leaflet inlined); browser: "
            f"{browser}, headless, no network (tiles fail), ready time from navigation start",
            "",
            table(rows),
        ]
    )
    print(body)
    if not args.no_write:
        replace_section(RESULTS, "map-sizes", body)
    return 0


def _version(binary: str) -> str:
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or binary


if __name__ == "__main__":
    raise SystemExit(main())
