"""Planning time and distance quality on BSB scenarios of 100 to 4,000 drop points.

For each size: write the seeded sample scenario, then time what ``bsb plan`` does (read and
validate, plan both tranches, check, write the plan folder with its papers), and report the
distance over the radial lower bound, unassigned kg by reason, and the last delivery dates.
With ``--bogor DIR`` (default ``../shared/geodata`` when present) the same runs are made on
points placed in the real villages of Kabupaten Bogor. Each run goes through
``documents.pipeline`` (plan files and papers; the maps are measured by ``benchmarks.map_sizes``).

Usage::

    bsb bench sizes                                      # 100, 500, 2000, 4000 points
    bsb bench sizes --sizes 100,500 --no-write

Results replace the ``plan-sizes`` section (:data:`SECTION`) of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.metrics import geographies, radial_lower_bound_km, results_section
from documents.pipeline import SolverOverrides, run_pipeline
from geodata.sample import write_sample
from optimizer.planner import PlannerOptions

SECTION = "plan-sizes"
"""The section of ``benchmarks/RESULTS.md`` these results replace."""


def default_time_limit_s(n_points: int) -> float:
    """Search time by size: the 4,000-point goal is 10 minutes with papers included."""
    if n_points <= 100:
        return 20.0
    if n_points <= 500:
        return 60.0
    if n_points <= 2000:
        return 240.0
    return 480.0


@dataclass(frozen=True)
class Row:
    """One benchmark run."""

    geography: str
    n_points: int
    n_warehouses: int
    n_trucks: int
    time_limit_s: float
    plan_s: float
    total_s: float
    distance_km: float
    bound_km: float
    trips: int
    truck_days: int
    unassigned_kg: float
    unassigned_reasons: str
    last_dates: str
    violations: int
    peak_rss_mb: float

    @property
    def ratio(self) -> float:
        """Distance over the radial lower bound."""
        return self.distance_km / self.bound_km if self.bound_km else float("nan")


def run_one(
    n_points: int, *, seed: int, time_limit_s: float, workers: int, bogor: Path | None
) -> Row:
    """Plan one sample scenario the way ``bsb plan`` does and measure it."""
    with tempfile.TemporaryDirectory(prefix="bsb-bench-") as tmp:
        scenario_dir = Path(tmp) / "scenario"
        write_sample(scenario_dir, n_drop_points=n_points, seed=seed, bogor_geodata=bogor)
        started = time.monotonic()
        result = run_pipeline(
            scenario_dir,
            Path(tmp) / "plan",
            overrides=SolverOverrides(time_limit_s=time_limit_s),
            options=PlannerOptions(workers=workers),
            require_valid=False,
            maps_and_trip_sheets=False,
        )
        total_s = time.monotonic() - started
    scenario, plan, violations = result.scenario, result.plan, result.violations
    plan_s = result.times.plan_s
    reasons = Counter(u.reason_code.value for u in plan.unassigned)
    kpis = plan.kpis
    last = kpis.last_delivery_date_per_tranche
    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    return Row(
        geography="Bogor villages" if bogor else "synthetic",
        n_points=n_points,
        n_warehouses=len(scenario.warehouses),
        n_trucks=len(scenario.trucks),
        time_limit_s=time_limit_s,
        plan_s=plan_s,
        total_s=total_s,
        distance_km=float(kpis.distance_km),
        bound_km=radial_lower_bound_km(scenario, plan),
        trips=int(kpis.trips),
        truck_days=int(kpis.truck_days),
        unassigned_kg=float(kpis.kg_unassigned),
        unassigned_reasons=", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "-",
        last_dates=" / ".join(str(v)[5:] for v in last.values()),
        violations=len(violations),
        peak_rss_mb=peak_kb / 1024,
    )


def table(rows: list[Row]) -> str:
    """Markdown table of the runs."""
    lines = [
        "| geography | drop points | warehouses / trucks | time limit s | plan s | total s "
        "(read, plan, check, write with papers) | distance km | radial bound km | ratio | "
        "trips | truck-days | unassigned kg (reasons) | last delivery per tranche | "
        "check violations | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.geography} | {r.n_points} | {r.n_warehouses} / {r.n_trucks} | "
            f"{r.time_limit_s:.0f} | {r.plan_s:.1f} | {r.total_s:.1f} | {r.distance_km:,.0f} | "
            f"{r.bound_km:,.0f} | **{r.ratio:.3f}** | {r.trips} | {r.truck_days} | "
            f"{r.unassigned_kg:,.0f} ({r.unassigned_reasons}) | {r.last_dates} | "
            f"{r.violations} | {r.peak_rss_mb:,.0f} |"
        )
    return "\n".join(lines)


def run_sizes(
    sizes: Sequence[int],
    *,
    seed: int,
    time_limit_s: float | None,
    workers: int,
    bogor: Path | None,
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Run the benchmark: every size, in the synthetic geography and then in Bogor's villages.

    Parameters
    ----------
    sizes
        Numbers of drop points.
    seed
        Seed of the samples.
    time_limit_s
        Search time of every run; ``None`` for :func:`default_time_limit_s` by size.
    workers
        Planner processes.
    bogor
        The Bogor geodata folder, or ``None`` for the synthetic geography only.
    on_row
        Told each row as soon as it is measured.

    Returns
    -------
    list[Row]
        One row per geography and size.
    """
    rows: list[Row] = []
    for geography in geographies(bogor):
        for n in sizes:
            limit = time_limit_s or default_time_limit_s(n)
            row = run_one(n, seed=seed, time_limit_s=limit, workers=workers, bogor=geography)
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def section(rows: list[Row], *, command: str, seed: int, workers: int) -> str:
    """Return the RESULTS.md section of a run: machine, date, command, then the table."""
    return results_section(
        "Plan sizes: time and distance over the radial lower bound",
        command,
        [f"seed {seed}, {workers} worker processes, default strategy"],
        table(rows),
    )
