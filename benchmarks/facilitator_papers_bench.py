"""Time the facilitators' and office papers on a synthetic plan (issue 15's size).

    >>> from benchmarks.facilitator_papers_bench import run
    >>> run(4000, 40, 1)  # doctest: +SKIP

Builds a scenario of ``points`` drop points (``kpm`` families each) in desa of 40 points, a
plan delivering every point in full (4 stops per trip, 50 trips a day), a roster, and renders
every group's PDF and xlsx, the Dinas Sosial summary and the dispatch sheets; returns seconds
per kind and the peak resident memory. Nothing is written to disk.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from documents.facilitator_papers import facilitator_groups, facilitator_pdf, facilitator_xlsx
from documents.office_papers import dinsos_summary_pdf, dinsos_summary_xlsx, dispatch_sheets
from optimizer.model import DropPoint, Scenario, Tranche, Truck, Warehouse
from optimizer.solution import Kpis, Plan, Route, Stop


class _Family:
    __slots__ = ("kpm_id", "name", "nik", "rt", "rw")

    def __init__(self, kpm_id: str, name: str, nik: str) -> None:
        self.kpm_id, self.name, self.nik, self.rt, self.rw = kpm_id, name, nik, "001", "002"


Roster = dict[str, tuple[_Family, ...]]


def build(points: int, kpm: int, tranches: int) -> tuple[Scenario, Plan, Roster]:
    """Return a scenario, a plan serving every point in full, and a roster."""
    start = date(2020, 9, 1)
    drop_points = tuple(
        DropPoint(f"P{i:05d}", f"Pos {i}", 106.7, -6.5, kpm, f"Desa {i // 40}", f"Kec {i // 400}")
        for i in range(points)
    )
    tranche_list = tuple(
        Tranche(f"T{t}", f"Tahap {t}", 10.0, first, first + timedelta(29))
        for t in range(tranches)
        for first in (start + timedelta(30 * t),)
    )
    scenario = Scenario(
        name="bench",
        start_date=start,
        warehouses=(Warehouse("W1", "Gudang", 106.7, -6.5, 1e12),),
        trucks=tuple(Truck(f"K{i}", "W1", 8000.0, 25200, 61200, 1.0, 1.0) for i in range(50)),
        drop_points=drop_points,
        tranches=tranche_list,
    )
    routes = []
    for tranche_number, tranche in enumerate(tranche_list):
        for trip_number, first in enumerate(range(0, points, 4)):
            day = tranche.release + timedelta(trip_number // 50)
            truck = f"K{trip_number % 50}"
            base = datetime(day.year, day.month, day.day, 8)
            stops = tuple(
                Stop(
                    p.id,
                    tranche.id,
                    kpm * 10.0,
                    kpm * 10 // 15,
                    base + timedelta(minutes=40 * n),
                    base + timedelta(minutes=40 * n + 30),
                )
                for n, p in enumerate(drop_points[first : first + 4])
            )
            routes.append(
                Route(
                    truck,
                    "W1",
                    day,
                    1 + tranche_number,
                    base,
                    base + timedelta(hours=4),
                    20.0,
                    sum(s.kg for s in stops),
                    stops,
                )
            )
    plan = Plan(scenario_name="bench", routes=tuple(routes), unassigned=(), kpis=Kpis.__new__(Kpis))
    roster = {
        p.id: tuple(
            _Family(f"{p.id}-{n}", f"Keluarga {p.id} {n}", f"3201{i:08d}{n:04d}")
            for n in range(kpm)
        )
        for i, p in enumerate(drop_points)
    }
    return scenario, plan, roster


@dataclass(frozen=True, slots=True)
class PapersTiming:
    """Seconds and sizes of one run of :func:`run`."""

    points: int
    families: int
    tranches: int
    groups: int
    xlsx_s: float
    xlsx_mb: float
    pdf_s: float
    pdf_mb: float
    peak_rss_mb: float


def run(points: int = 4000, kpm: int = 40, tranches: int = 1) -> PapersTiming:
    """Build the synthetic plan and render every paper of this module pair, timed.

    Parameters
    ----------
    points
        Drop points.
    kpm
        Families per drop point.
    tranches
        Tranches, each delivering every point in full.

    Returns
    -------
    PapersTiming
        Seconds for all xlsx (groups, summary, dispatch) and all PDFs (groups, summary), their
        total size, and the process's peak resident memory (``ru_maxrss``).
    """
    scenario, plan, roster = build(points, kpm, tranches)
    clock = time.perf_counter()
    groups = facilitator_groups(scenario, plan)
    xlsx_bytes = sum(len(facilitator_xlsx(scenario, plan, g)) for g in groups)
    xlsx_bytes += len(dinsos_summary_xlsx(scenario, plan))
    xlsx_bytes += sum(len(b) for b in dispatch_sheets(scenario, plan).values())
    xlsx_s = time.perf_counter() - clock
    clock = time.perf_counter()
    pdf_bytes = sum(len(facilitator_pdf(scenario, plan, g, roster)) for g in groups)
    pdf_bytes += len(dinsos_summary_pdf(scenario, plan))
    pdf_s = time.perf_counter() - clock
    return PapersTiming(
        points=points,
        families=points * kpm,
        tranches=tranches,
        groups=len(groups),
        xlsx_s=round(xlsx_s, 1),
        xlsx_mb=round(xlsx_bytes / 1e6, 1),
        pdf_s=round(pdf_s, 1),
        pdf_mb=round(pdf_bytes / 1e6, 1),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    )
