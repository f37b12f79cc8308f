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

    bsb bench limits                                              # 20,000 to 100,000 points
    bsb bench limits --sizes 20000 --limits 30 --no-write

Results replace the ``plan-limits`` section (:data:`SECTION`) of ``benchmarks/RESULTS.md``.
The child is ``bsb bench limits-child`` (hidden), which runs :func:`measure` through
``documents.pipeline`` and prints its JSON line.
"""

from __future__ import annotations

import json
import logging
import re
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.metrics import results_section

ROOT = Path(__file__).resolve().parents[1]
SECTION = "plan-limits"
"""The section of ``benchmarks/RESULTS.md`` these results replace."""
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


def measure(scenario_dir: Path, time_limit_s: float, workers: int) -> dict[str, Any]:
    """Read, plan and check in this process; return the measurements (one JSON object).

    Run in a fresh process (``bsb bench limits-child``) so that the peak memory is this run's.
    """
    from documents.pipeline import SolverOverrides, run_pipeline
    from optimizer.planner import PlannerOptions

    phases: list[str] = []

    class Phases(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found = re.search(r"stock round\(s\)\): (.*)$", record.getMessage())
            if found:
                phases.append(found.group(1))

    logging.getLogger("optimizer.planner").addHandler(Phases())
    logging.getLogger("optimizer.planner").setLevel(logging.INFO)
    result = run_pipeline(
        scenario_dir,
        overrides=SolverOverrides(time_limit_s=time_limit_s),
        options=PlannerOptions(workers=workers),
        require_valid=False,
    )
    plan, times = result.plan, result.times
    return {
        "n_warehouses": len(result.scenario.warehouses),
        "read_s": times.read_s,
        "plan_s": times.plan_s,
        "check_s": times.check_s,
        "phases": phases[-1] if phases else "",
        "constructed": (
            f"{plan.solver.constructed_parts} / {plan.solver.routing_parts}"
            if plan.solver is not None
            else "-"
        ),
        "violations": len(result.violations),
        "distance_km": float(plan.kpis.distance_km),
        "unassigned_kg": float(plan.kpis.kg_unassigned),
        "peak_kb": max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        ),
    }


def run_one(scenario_dir: Path, n_points: int, time_limit_s: float, workers: int) -> Row:
    """Run :func:`measure` in a fresh process (``bsb bench limits-child``)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "-q",
            "bench",
            "limits-child",
            str(scenario_dir),
            "--time-limit",
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


def run_limits(
    sizes: Sequence[int],
    limits_s: Sequence[float],
    *,
    seed: int,
    workers: int,
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Run the benchmark: every size under every time limit, each in a fresh process.

    Parameters
    ----------
    sizes
        Numbers of drop points (one sample scenario each, written once).
    limits_s
        Time limits in seconds.
    seed
        Seed of the samples.
    workers
        Planner processes.
    on_row
        Told each row as soon as it is measured.

    Returns
    -------
    list[Row]
        One row per size and limit, by size, then limit.
    """
    from geodata.sample import write_sample

    rows: list[Row] = []
    for n in sorted(sizes):
        with tempfile.TemporaryDirectory(prefix="bsb-limits-") as tmp:
            scenario_dir = Path(tmp) / "scenario"
            write_sample(scenario_dir, n_drop_points=n, seed=seed)
            for limit in sorted(limits_s):
                row = run_one(scenario_dir, n, limit, workers)
                rows.append(row)
                if on_row is not None:
                    on_row(row)
    rows.sort(key=lambda r: (r.n_points, r.time_limit_s))
    return rows


def section(rows: list[Row], *, command: str, seed: int, workers: int) -> str:
    """Return the RESULTS.md section of a run: machine, date, command, goals, the table."""
    worst = max(rows, key=lambda r: r.over_limit)
    return results_section(
        "Plan limits",
        command,
        [
            "the time limit bounds planning; memory stays per warehouse and routing part",
            f"seed {seed}, {workers} worker processes, default strategy; "
            "synthetic Bogor-like samples (one warehouse per 500 points)",
            f"goals: plan / limit at most {GOAL_OVERRUN:.2f}, peak at most {GOAL_PEAK_MB} MB "
            "per process at 100,000 points",
            f"worst plan / limit: {worst.over_limit:.2f} ({worst.n_points:,} points, "
            f"{worst.time_limit_s:g} s); largest peak: {max(r.peak_mb for r in rows):,.0f} MB",
        ],
        table(rows),
    )
