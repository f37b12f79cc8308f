"""Time limit and memory of planning from 20,000 to 100,000 drop points.

For each size and time limit, one child process reads the seeded sample scenario, plans it
(every core) and checks it, and reports each step's seconds, the planner's phases and whether
the independent checker passes, with the peak resident memory of its largest process (itself,
or one of its routing workers: ``RUSAGE_CHILDREN`` is the maximum over every waited-for
descendant). Writing the plan folder is left out: it is measured
by ``benchmarks.plan_sizes`` and ``benchmarks.map_sizes``.

The goals (issue 11): planning ends within the time limit plus 10 %, and a 100,000-point plan
needs at most 2 GB in any process.

Usage::

    python -m benchmarks.plan_limits                              # 20,000 to 100,000 points
    python -m benchmarks.plan_limits --sizes 20000 --limits 30 --no-write

Results replace the ``plan-limits`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.metrics import replace_section, results_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
GOAL_OVERRUN = 1.10
GOAL_PEAK_MB = 2048


@dataclass(frozen=True)
class Row:
    """One run: a size under one time limit."""

    n_points: int
    n_warehouses: int
    time_limit_s: float
    read_s: float
    plan_s: float
    check_s: float
    phases: str
    constructed: str
    violations: int
    distance_km: float
    unassigned_kg: float
    peak_mb: float

    @property
    def over_limit(self) -> float:
        """Planning time over the time limit."""
        return self.plan_s / self.time_limit_s


def child(scenario_dir: Path, time_limit_s: float, workers: int) -> None:
    """Read, plan and check in this process; print one JSON line of measurements."""
    from geodata.scenario_io import read_scenario
    from optimizer.checker import check_plan
    from optimizer.planner import PlannerOptions, plan_scenario, with_overrides
    from optimizer.solution import plan_to_dict

    phases: list[str] = []

    class Phases(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found = re.search(r"stock round\(s\)\): (.*)$", record.getMessage())
            if found:
                phases.append(found.group(1))

    logging.getLogger("optimizer.planner").addHandler(Phases())
    logging.getLogger("optimizer.planner").setLevel(logging.INFO)
    started = time.monotonic()
    scenario = with_overrides(read_scenario(scenario_dir), time_limit_s=time_limit_s)
    read_s = time.monotonic() - started
    started = time.monotonic()
    plan = plan_scenario(scenario, options=PlannerOptions(workers=workers))
    plan_s = time.monotonic() - started
    started = time.monotonic()
    violations = check_plan(scenario, plan_to_dict(plan))
    check_s = time.monotonic() - started
    assert plan.solver is not None  # the planner always says how it searched
    print(
        json.dumps(
            {
                "n_warehouses": len(scenario.warehouses),
                "read_s": read_s,
                "plan_s": plan_s,
                "check_s": check_s,
                "phases": phases[-1] if phases else "",
                "constructed": (f"{plan.solver.constructed_parts} / {plan.solver.routing_parts}"),
                "violations": len(violations),
                "distance_km": float(plan.kpis.distance_km),
                "unassigned_kg": float(plan.kpis.kg_unassigned),
                "peak_kb": max(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                ),
            }
        ),
        flush=True,
    )


def run_one(scenario_dir: Path, n_points: int, time_limit_s: float, workers: int) -> Row:
    """Run :func:`child` in a fresh process."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.plan_limits",
            "--child",
            str(scenario_dir),
            "--limits",
            str(time_limit_s),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Row(
        n_points=n_points,
        n_warehouses=data["n_warehouses"],
        time_limit_s=time_limit_s,
        read_s=data["read_s"],
        plan_s=data["plan_s"],
        check_s=data["check_s"],
        phases=data["phases"],
        constructed=data["constructed"],
        violations=data["violations"],
        distance_km=data["distance_km"],
        unassigned_kg=data["unassigned_kg"],
        peak_mb=data["peak_kb"] / 1024,
    )


def table(rows: list[Row]) -> str:
    """Markdown table of the runs."""
    lines = [
        "| drop points | warehouses | time limit s | read s | plan s | plan / limit | check s "
        "| planner phases | parts constructed / all | check violations | distance km "
        "| unassigned kg | peak MB, largest process |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.n_points:,} | {r.n_warehouses} | {r.time_limit_s:g} | {r.read_s:.1f} | "
            f"{r.plan_s:.1f} | **{r.over_limit:.2f}** | {r.check_s:.1f} | {r.phases} | "
            f"{r.constructed} | {r.violations} | {r.distance_km:,.0f} | "
            f"{r.unassigned_kg:,.0f} | **{r.peak_mb:,.0f}** |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and update RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,50000,100000", help="comma-separated")
    parser.add_argument("--limits", default="30,120", help="time limits in s, comma-separated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    limits = [float(s) for s in args.limits.split(",")]
    if args.child is not None:
        child(args.child, limits[0], args.workers)
        return 0
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from geodata.sample import write_sample

    rows: list[Row] = []
    for n in sorted(int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bsb-limits-") as tmp:
            scenario_dir = Path(tmp) / "scenario"
            write_sample(scenario_dir, n_drop_points=n, seed=args.seed)
            for limit in sorted(limits):
                row = run_one(scenario_dir, n, limit, args.workers)
                rows.append(row)
                print(table([row]).splitlines()[-1], flush=True)
    rows.sort(key=lambda r: (r.n_points, r.time_limit_s))
    command = " ".join(["python -m benchmarks.plan_limits", *(argv or sys.argv[1:])])
    worst = max(rows, key=lambda r: r.over_limit)
    body = results_section(
        "Plan limits",
        command,
        [
            "the time limit bounds planning; memory stays per warehouse and routing part",
            f"seed {args.seed}, {args.workers} worker processes, default strategy; "
            "synthetic Bogor-like samples (one warehouse per 500 points)",
            f"goals: plan / limit at most {GOAL_OVERRUN:.2f}, peak at most {GOAL_PEAK_MB} MB "
            "per process at 100,000 points",
            f"worst plan / limit: {worst.over_limit:.2f} ({worst.n_points:,} points, "
            f"{worst.time_limit_s:g} s); largest peak: {max(r.peak_mb for r in rows):,.0f} MB",
        ],
        table(rows),
    )
    print(body)
    if not args.no_write:
        replace_section(RESULTS, "plan-limits", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
