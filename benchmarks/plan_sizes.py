"""Planning time and distance quality on BSB scenarios of 100 to 4,000 drop points.

For each size: write the seeded sample scenario, then time what ``bsb plan`` does (read and
validate, plan both tranches, check, write the plan folder with its papers), and report the
distance over the radial lower bound, unassigned kg by reason, and the last delivery dates.
With ``--bogor DIR`` (default ``../shared/geodata`` when present) the same runs are made on
points placed in the real villages of Kabupaten Bogor.

Usage::

    python -m benchmarks.plan_sizes                      # 100, 500, 2000, 4000 points
    python -m benchmarks.plan_sizes --sizes 100,500 --no-write

Results replace the ``plan-sizes`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import logging
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.metrics import (
    geographies,
    radial_lower_bound_km,
    replace_section,
    results_section,
    sample_size_parser,
)
from geodata.plan_files import write_plan_folder
from geodata.sample import write_sample
from geodata.scenario_io import read_scenario
from geodata.scenario_writer import write_scenario
from optimizer.checker import check_plan
from optimizer.planner import PlannerOptions, plan_scenario, with_overrides
from optimizer.solution import plan_to_dict

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


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
        scenario = with_overrides(read_scenario(scenario_dir), time_limit_s=time_limit_s)
        plan_started = time.monotonic()
        plan = plan_scenario(scenario, options=PlannerOptions(workers=workers))
        plan_s = time.monotonic() - plan_started
        violations = check_plan(scenario, plan_to_dict(plan))
        write_plan_folder(scenario, plan, Path(tmp) / "plan", write_scenario_copy=write_scenario)
        total_s = time.monotonic() - started
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


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and update RESULTS.md."""
    parser = sample_size_parser(__doc__.splitlines()[0], "100,500,2000,4000")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[Row] = []
    for bogor in geographies(args):
        for n in sizes:
            limit = args.time_limit or default_time_limit_s(n)
            row = run_one(n, seed=args.seed, time_limit_s=limit, workers=args.workers, bogor=bogor)
            rows.append(row)
            print(table([row]).splitlines()[-1], flush=True)
    command = " ".join(["python -m benchmarks.plan_sizes", *(argv or sys.argv[1:])])
    body = results_section(
        "Plan sizes: time and distance over the radial lower bound",
        command,
        [f"seed {args.seed}, {args.workers} worker processes, default strategy"],
        table(rows),
    )
    print(body)
    if not args.no_write:
        replace_section(RESULTS, "plan-sizes", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
