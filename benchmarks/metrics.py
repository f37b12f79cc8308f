"""Quality measures shared by the benchmarks."""

from __future__ import annotations

import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from optimizer.model import Scenario, haversine_km
from optimizer.solution import Plan


def radial_lower_bound_km(scenario: Scenario, plan: Plan) -> float:
    """Radial lower bound on the distance needed for what the plan delivers.

    The sum over delivered kg of the minimum over warehouses ``w`` of
    ``2 x d(w, point) / (largest truck capacity at w)``, with ``d`` the haversine distance x
    circuity: every kg rides a full largest truck straight there and back.
    """
    largest: dict[str, float] = {}
    for truck in scenario.trucks:
        largest[truck.warehouse_id] = max(largest.get(truck.warehouse_id, 0.0), truck.capacity_kg)
    warehouses = [w for w in scenario.warehouses if largest.get(w.id, 0.0) > 0]
    per_kg: dict[str, float] = {}
    total = 0.0
    for route in plan.routes:
        for stop in route.stops:
            if stop.drop_point not in per_kg:
                point = scenario.drop_point(stop.drop_point)
                per_kg[stop.drop_point] = min(
                    2
                    * haversine_km(w.lon, w.lat, point.lon, point.lat)
                    * scenario.travel.circuity
                    / largest[w.id]
                    for w in warehouses
                )
            total += per_kg[stop.drop_point] * stop.kg
    return total


def machine_description() -> str:
    """CPU model, cores and memory of this machine, for RESULTS.md."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        first = meminfo.read_text(encoding="utf-8").splitlines()[0]
        memory = f", {int(first.split()[1]) / 1024 / 1024:.0f} GiB"
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return f"{cpu}, {cores} cores{memory}, Python {platform.python_version()}"


def replace_section(results: Path, marker: str, body: str) -> None:
    """Replace the text between ``<!-- marker -->`` and ``<!-- /marker -->`` (or append it)."""
    start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    results.write_text(text, encoding="utf-8")


DEFAULT_GEODATA = Path(__file__).resolve().parents[2] / "shared" / "geodata"
"""``../shared/geodata`` beside the project: the real villages of Kabupaten Bogor."""


def geographies(bogor: Path | None) -> list[Path | None]:
    """Synthetic geography (``None``), and the Bogor villages when ``bogor`` holds them.

    Parameters
    ----------
    bogor
        A folder like ``../shared/geodata``, or ``None`` for the synthetic geography only.
    """
    found: list[Path | None] = [None]
    if bogor is not None and (bogor / "bogor_desa_32.01_centroids.csv").exists():
        found.append(bogor)
    return found


def results_section(title: str, command: str, notes: list[str], table: str) -> str:
    """Return a RESULTS.md section: title, machine, date, command, notes, then the table."""
    return "\n".join(
        [
            f"## {title}",
            "",
            f"- machine: {machine_description()}",
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- command: `{command}`",
            *(f"- {note}" for note in notes),
            "",
            table,
        ]
    )
