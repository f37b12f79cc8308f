"""What-if speed and the estimate's bracket: ``bsb bench whatif``.

Two measurements on a seeded ``bsb sample`` (2,000 drop points by default):

- **fleet sizes**: ``bsb whatif --fleet-scale 0.5,0.75,1,1.5,2`` planned in this process, every
  plan checked (as ``bsb whatif`` does, plan files not written): the wall time of the whole
  what-if (goal: 10 minutes), and per scale the trucks, the dates 95 % and 100 % of the
  families are served, cost and waiting;
- **bracket**: ``bsb whatif --finish-by DATE`` for a few dates after the first tranche's
  release; per warehouse that needed trucks, the estimate from the base plan
  (:func:`optimizer.whatif.estimate_trucks`) against the fleet the plans confirmed. Goal: within
  one truck on at least 90 % of those warehouses.

Results replace the ``whatif`` section (:data:`SECTION`) of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from benchmarks.metrics import results_section
from documents.pipeline import run_pipeline, with_overrides
from geodata.sample import write_sample
from geodata.scenario_io import validate_scenario
from optimizer.model import Scenario
from optimizer.planner import PlannerOptions
from optimizer.solution import Plan
from optimizer.whatif import ALL_WAREHOUSES, WhatIfTable, finish_by, fleet_scale_table

SECTION = "whatif"
"""The section of ``benchmarks/RESULTS.md`` these results replace."""

DEFAULT_SCALES = (0.5, 0.75, 1.0, 1.5, 2.0)
DEFAULT_DAYS_AFTER_RELEASE = (6, 10)
"""``--finish-by`` dates of the bracket runs: the first tranche's release plus these days."""
GOAL_S = 600.0
"""The fleet-size what-if must end within this many seconds."""
GOAL_BRACKET = 0.9
"""Share of warehouses whose estimate is within one truck of the confirmed fleet."""


@dataclass(frozen=True)
class BracketRow:
    """One warehouse of one ``--finish-by`` run."""

    day: date
    warehouse: str
    trucks_now: int
    estimate: int
    confirmed: int | None
    plans: int

    @property
    def within_one(self) -> bool:
        """Whether the estimate is within one truck of the confirmed fleet."""
        return self.confirmed is not None and abs(self.estimate - self.confirmed) <= 1


@dataclass(frozen=True)
class WhatIfBench:
    """What one benchmark run measured."""

    n_points: int
    n_warehouses: int
    n_trucks: int
    time_limit_s: float
    bracket_time_limit_s: float
    table: WhatIfTable
    table_s: float
    brackets: tuple[BracketRow, ...]
    bracket_s: float


def _plan_function(scenario_time_limit_s: float, workers: int) -> Callable[[Scenario], Plan]:
    options = PlannerOptions(workers=workers)

    def plan_fn(variant: Scenario) -> Plan:
        fixed = with_overrides(variant, time_limit_s=scenario_time_limit_s)
        # Checked like every bsb plan: a plan the checker rejects raises.
        return run_pipeline(fixed, None, options=options).plan

    return plan_fn


def run_bench(
    *,
    n_points: int = 2000,
    n_warehouses: int | None = None,
    seed: int = 1,
    time_limit_s: float = 60.0,
    bracket_time_limit_s: float = 10.0,
    scales: Sequence[float] = DEFAULT_SCALES,
    days_after_release: Sequence[int] = DEFAULT_DAYS_AFTER_RELEASE,
    workers: int = 1,
    on_line: Callable[[str], None] | None = None,
) -> WhatIfBench:
    """Run both measurements on one seeded sample.

    Parameters
    ----------
    n_points, n_warehouses, seed
        The sample (``bsb sample``).
    time_limit_s
        Seconds per plan of the fleet-size what-if.
    bracket_time_limit_s
        Seconds per plan of the ``--finish-by`` runs.
    scales
        Fleet scales.
    days_after_release
        ``--finish-by`` dates: the first tranche's release plus these days.
    workers
        Processes routing parts at once in each plan.
    on_line
        Told a progress line per plan.
    """
    with tempfile.TemporaryDirectory(prefix="bsb-bench-whatif-") as tmp:
        folder = Path(tmp) / "scenario"
        write_sample(folder, n_drop_points=n_points, n_warehouses=n_warehouses, seed=seed)
        scenario = with_overrides(validate_scenario(folder), seed=seed)
    started = time.monotonic()
    table = fleet_scale_table(
        scenario, scales, _plan_function(time_limit_s, workers), progress=on_line
    )
    table_s = time.monotonic() - started
    started = time.monotonic()
    release = min(t.release for t in scenario.tranches)
    first = min(scenario.tranches, key=lambda t: t.release).id
    brackets: list[BracketRow] = []
    for days in days_after_release:
        day = release + timedelta(days=days)
        result = finish_by(
            scenario,
            day,
            _plan_function(bracket_time_limit_s, workers),
            tranche_id=first,
            progress=on_line,
        )
        for answer in result.answers:
            if not any(not ok for ok in answer.plans.values()):
                continue  # today's fleet was enough: nothing to bracket
            confirmed = (
                None if answer.trucks_added is None else answer.trucks_now + answer.trucks_added
            )
            brackets.append(
                BracketRow(
                    day,
                    answer.warehouse,
                    answer.trucks_now,
                    answer.estimate,
                    confirmed,
                    len(answer.plans) - 1,
                )
            )
    bracket_s = time.monotonic() - started
    return WhatIfBench(
        n_points=n_points,
        n_warehouses=len(scenario.warehouses),
        n_trucks=len(scenario.trucks),
        time_limit_s=time_limit_s,
        bracket_time_limit_s=bracket_time_limit_s,
        table=table,
        table_s=table_s,
        brackets=tuple(brackets),
        bracket_s=bracket_s,
    )


def _iso(day: date | None) -> str:
    return "never" if day is None else day.isoformat()


def table_text(bench: WhatIfBench) -> str:
    """Return the Markdown tables of a run: fleet sizes (totals), then the bracket."""
    lines = [
        "| fleet scale | trucks | 95 % served | 100 % served | cost (Rp) | truck-days "
        "| family-days waited | warning |",
        "|---:|---:|---|---|---:|---:|---:|---|",
    ]
    for row in bench.table.rows:
        o = row.outcome
        if o.warehouse != ALL_WAREHOUSES:
            continue
        lines.append(
            f"| {row.setting:g} | {o.trucks} | {_iso(o.date_95)} | {_iso(o.date_100)} "
            f"| {o.cost:,.0f} | {o.truck_days} | {o.family_wait_days:,.0f} | {row.warning} |"
        )
    lines += [
        "",
        "| finish by | warehouse | trucks now | estimate | confirmed | fleets planned "
        "| within one |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for b in bench.brackets:
        confirmed = "not found" if b.confirmed is None else str(b.confirmed)
        lines.append(
            f"| {b.day.isoformat()} | {b.warehouse} | {b.trucks_now} | {b.estimate} "
            f"| {confirmed} | {b.plans} | {'yes' if b.within_one else 'no'} |"
        )
    return "\n".join(lines)


def bracket_share(bench: WhatIfBench) -> float | None:
    """Share of bracketed warehouses whose estimate is within one truck (``None``: none)."""
    if not bench.brackets:
        return None
    return sum(b.within_one for b in bench.brackets) / len(bench.brackets)


def section(bench: WhatIfBench, *, command: str, workers: int) -> str:
    """Return the RESULTS.md section of a run."""
    share = bracket_share(bench)
    scales = ", ".join(f"{r.setting:g}" for r in bench.table.rows if r.outcome.warehouse == "ALL")
    notes = [
        f"sample of {bench.n_points:,} drop points, {bench.n_warehouses} warehouses, "
        f"{bench.n_trucks} trucks; {workers} worker processes, default strategy",
        f"fleet sizes {scales}: {bench.table_s:.0f} s in all at {bench.time_limit_s:g} s per "
        f"plan (goal {GOAL_S:.0f} s: {'met' if bench.table_s <= GOAL_S else 'NOT met'})",
        f"bracket: {bench.bracket_s:.0f} s at {bench.bracket_time_limit_s:g} s per plan; "
        + (
            "no warehouse needed trucks"
            if share is None
            else f"estimate within one truck of the confirmed fleet on "
            f"{sum(b.within_one for b in bench.brackets)} of {len(bench.brackets)} warehouses "
            f"({share:.0%}; goal {GOAL_BRACKET:.0%}: "
            f"{'met' if share >= GOAL_BRACKET else 'NOT met'})"
        ),
    ]
    return results_section(
        "What if: fleet sizes and the trucks to finish by a date",
        command,
        notes,
        table_text(bench),
    )
