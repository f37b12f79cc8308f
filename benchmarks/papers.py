"""Time every paper of a plan folder at issue 15's size: 4,000 points, 160,000 families.

    bsb bench papers --points 4000 --kpm 40 --tranches 2

Builds a scenario of ``points`` drop points of ``kpm`` families each (desa of 40 points,
kecamatan of 400, one facilitator per ``points_per_facilitator`` points), a plan that serves
every point in full in every tranche (4 stops per trip, 50 trucks), and a roster with a name
and NIK for every family; then renders every paper :func:`documents.papers.paper_files` makes
(loading lists, receipt lists, schedule, each facilitator's PDF and xlsx, the Dinas Sosial
summary, the dispatch sheets) into a temporary folder, the way ``bsb plan`` and ``bsb papers``
write them. The time between two files is charged to the later file's kind, so the table says
how long the csv and xlsx papers take and how long the PDFs take, in wall and CPU seconds (CPU
seconds do not grow when other processes share the machine).

Results replace the ``papers`` section (:data:`SECTION`) of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from benchmarks.metrics import results_section
from documents.papers import paper_files
from geodata.roster_io import Family, Roster
from optimizer.model import DropPoint, Facilitator, Scenario, Tranche, Truck, Warehouse
from optimizer.solution import Plan, Route, Stop, compute_kpis

SECTION = "papers"
"""The section of ``benchmarks/RESULTS.md`` these results replace."""
POINTS_PER_DESA = 40
STOPS_PER_TRIP = 4
TRUCKS = 50


def build(
    points: int, kpm: int, tranches: int, points_per_facilitator: int = 6
) -> tuple[Scenario, Plan, Roster]:
    """Return a scenario, a plan serving every point in full, and its roster.

    Parameters
    ----------
    points
        Drop points.
    kpm
        Families per drop point.
    tranches
        Tranches (10 kg a family each, a month apart), each delivering every point in full.
    points_per_facilitator
        Points each facilitator serves (PKH facilitators look after about 250 families).

    Returns
    -------
    tuple
        The scenario, the plan and the roster (``kpm`` families per point, 16-digit NIKs).
    """
    start = date(2020, 9, 1)
    n_facilitators = -(-points // points_per_facilitator)
    facilitators = tuple(
        Facilitator(f"F{i:04d}", f"Pendamping {i}", f"0812{i:08d}") for i in range(n_facilitators)
    )
    drop_points = tuple(
        DropPoint(
            f"P{i:05d}",
            f"Pos {i}",
            106.7,
            -6.5,
            kpm,
            f"Desa {i // POINTS_PER_DESA}",
            f"Kec {i // (POINTS_PER_DESA * 10)}",
            rt=f"{i % 9 + 1:03d}",
            rw=f"{i % 5 + 1:03d}",
            facilitator=facilitators[i // points_per_facilitator].id,
        )
        for i in range(points)
    )
    tranche_list = tuple(
        Tranche(f"T{t + 1}", f"Tahap {t + 1}", 10.0, first, first + timedelta(29))
        for t in range(tranches)
        for first in (start + timedelta(30 * t),)
    )
    scenario = Scenario(
        name="bench",
        start_date=start,
        warehouses=(Warehouse("W1", "Gudang", 106.7, -6.5, 1e12),),
        trucks=tuple(
            Truck(f"K{i:02d}", "W1", 8000.0, 25200, 61200, 1.0, 1.0) for i in range(TRUCKS)
        ),
        drop_points=drop_points,
        tranches=tranche_list,
        facilitators=facilitators,
    )
    routes = []
    for tranche in tranche_list:
        for trip_number, first in enumerate(range(0, points, STOPS_PER_TRIP)):
            day = tranche.release + timedelta(trip_number // TRUCKS)
            base = datetime(day.year, day.month, day.day, 8)
            stops = tuple(
                Stop(
                    p.id,
                    tranche.id,
                    kpm * tranche.kg_per_kpm,
                    round(kpm * tranche.kg_per_kpm / 15),
                    base + timedelta(minutes=40 * n),
                    base + timedelta(minutes=40 * n + 30),
                )
                for n, p in enumerate(drop_points[first : first + STOPS_PER_TRIP])
            )
            routes.append(
                Route(
                    f"K{trip_number % TRUCKS:02d}",
                    "W1",
                    day,
                    1,
                    base,
                    base + timedelta(hours=4),
                    20.0,
                    sum(s.kg for s in stops),
                    stops,
                )
            )
    plan = Plan(
        scenario_name="bench",
        routes=tuple(routes),
        unassigned=(),
        kpis=compute_kpis(scenario, routes, []),
    )
    roster = {
        p.id: tuple(
            Family(f"{p.id}-{n:03d}", f"Keluarga {p.id} {n}", f"3201{i:08d}{n:04d}", p.rt, p.rw)
            for n in range(kpm)
        )
        for i, p in enumerate(drop_points)
    }
    return scenario, plan, roster


@dataclass(frozen=True, slots=True)
class PapersRow:
    """One run of :func:`run_papers`: files, seconds and megabytes by kind."""

    points: int
    families: int
    tranches: int
    facilitators: int
    workers: int
    tables_files: int
    tables_mb: float
    pdf_files: int
    pdf_mb: float
    tables_done_s: float
    """Wall seconds until the last csv or xlsx paper was written (they come first)."""
    all_done_s: float
    """Wall seconds until every paper, PDFs included, was written."""
    cpu_s: float
    """CPU seconds of this process and of the workers together."""
    peak_rss_mb: float
    """Peak resident memory of this process (building the plan included)."""
    worker_peak_rss_mb: float
    """Peak resident memory of the largest worker process (0 without workers)."""


def run_papers(
    points: int = 4000,
    kpm: int = 40,
    tranches: int = 2,
    *,
    workers: int = 1,
    language: str = "id",
) -> PapersRow:
    """Render and write every paper of the synthetic plan, timed.

    Parameters
    ----------
    points, kpm, tranches
        Size of the synthetic plan (see :func:`build`).
    workers
        Processes rendering the papers (``documents.papers.paper_files``).
    language
        The papers' language.

    Returns
    -------
    PapersRow
        Files and megabytes of the csv and xlsx papers ("tables") and of the PDFs, when the
        last table and the last PDF were written, CPU seconds, and peak resident memory.
    """
    scenario, plan, roster = build(points, kpm, tranches)
    size: dict[str, int] = defaultdict(int)
    files: dict[str, int] = defaultdict(int)
    tables_done = 0.0
    cpu_before = _cpu_s()
    with tempfile.TemporaryDirectory(prefix="bsb-papers-") as folder:
        started = time.perf_counter()
        for relative, content in paper_files(
            scenario, plan, language=language, roster=roster, workers=workers
        ):
            path = Path(folder) / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            kind = "pdf" if relative.endswith(".pdf") else "tables"
            if kind == "tables":
                tables_done = time.perf_counter() - started
            size[kind] += len(content)
            files[kind] += 1
        all_done = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return PapersRow(
        points=points,
        families=points * kpm,
        tranches=tranches,
        facilitators=len(scenario.facilitators),
        workers=workers,
        tables_files=files["tables"],
        tables_mb=round(size["tables"] / 1e6, 1),
        pdf_files=files["pdf"],
        pdf_mb=round(size["pdf"] / 1e6, 1),
        tables_done_s=round(tables_done, 1),
        all_done_s=round(all_done, 1),
        cpu_s=round(_cpu_s() - cpu_before, 1),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        worker_peak_rss_mb=round(children.ru_maxrss / 1024) if workers > 1 else 0,
    )


def _cpu_s() -> float:
    """CPU seconds of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def table(rows: list[PapersRow]) -> str:
    """Return the rows as a markdown table."""
    lines = [
        "| points | families | tranches | facilitators | workers | csv+xlsx files (MB) "
        "| PDFs (MB) | csv+xlsx done s | all done s | CPU s | peak RSS MB (worker) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.points:,} | {r.families:,} | {r.tranches} | {r.facilitators:,} | {r.workers} "
        f"| {r.tables_files:,} ({r.tables_mb}) | {r.pdf_files:,} ({r.pdf_mb}) "
        f"| {r.tables_done_s} | {r.all_done_s} | {r.cpu_s} "
        f"| {r.peak_rss_mb:,.0f} ({r.worker_peak_rss_mb:,.0f}) |"
        for r in rows
    ]
    return "\n".join(lines)


def section(rows: list[PapersRow], *, command: str) -> str:
    """Return the RESULTS.md section of a run."""
    return results_section(
        "Papers: every csv, xlsx and PDF of a plan",
        command,
        [
            "synthetic plan serving every point in full (4 stops a trip, 50 trucks), a roster "
            "with a name and NIK per family, one facilitator per 6 points; files written to a "
            "temporary folder as `bsb plan` writes them",
            "goal (issue 15): 4,000 points and 160,000 families: csv and xlsx <= 15 s, with the "
            "PDFs <= 2 min, peak memory <= 1 GB",
            "the worker column is the children's `ru_maxrss`, which counts the parent's memory "
            "at spawn (it survives exec): an upper bound of a worker's own peak",
        ],
        table(rows),
    )
