"""Plans under shortage: stock offered again versus stock kept by trips that found no truck.

Each scenario is a seeded ``bsb sample`` made short of stock and of fleet at the same time, as
a BULOG planner met it (issue 10): every warehouse holds about the demand of the drop points
nearest to it, except the last one, which holds a fifth of it; October's deadline is brought
forward to three days after its release. The same scenario is planned twice, side by side:

- ``rounds 1``: no stock round: stock promised to trips that found no truck stays unused in
  its warehouse (as bsb planned before issue 10; the deliveries left short are now reported
  ``fleet_time``, not ``stock``, because a warehouse in reach still has their rice);
- ``rounds 8``: the default: that stock goes back and is offered again.

Reported: rice and families delivered, unassigned kg by reason, how many ``stock`` entries the
independent checker rejects (a warehouse in reach still had a family's ration; must be 0), and
planning time.

Usage::

    bsb bench shortage                                  # 400 and 1,000 points
    bsb bench shortage --sizes 400 --no-write

Results replace the ``shortage`` section (:data:`SECTION`) of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from benchmarks.metrics import geographies, results_section
from documents.pipeline import SolverOverrides, run_pipeline
from geodata.sample import write_sample
from geodata.scenario_io import read_scenario
from optimizer.model import Scenario, haversine_km
from optimizer.planner import PlannerOptions

SECTION = "shortage"
"""The section of ``benchmarks/RESULTS.md`` these results replace."""
SHORT_WAREHOUSE_SHARE = 0.2
"""The last warehouse holds this share of its nearest points' demand."""
OCTOBER_DAYS = 2
"""October's deadline is its release plus this many days."""


def short_scenario(scenario: Scenario) -> Scenario:
    """Make a sample scenario short of stock (last warehouse) and of fleet (October)."""
    nearest_kg = dict.fromkeys((w.id for w in scenario.warehouses), 0.0)
    for point in scenario.drop_points:
        nearest = min(
            scenario.warehouses, key=lambda w: haversine_km(w.lon, w.lat, point.lon, point.lat)
        )
        nearest_kg[nearest.id] += sum(scenario.demand_kg(point, t) for t in scenario.tranches)
    last = scenario.warehouses[-1].id
    warehouses = tuple(
        replace(
            w,
            stock_kg=float(
                round(nearest_kg[w.id] * (SHORT_WAREHOUSE_SHARE if w.id == last else 1.0))
            ),
        )
        for w in scenario.warehouses
    )
    tranches = tuple(
        replace(t, deadline=t.release + timedelta(days=OCTOBER_DAYS)) if i == 1 else t
        for i, t in enumerate(scenario.tranches)
    )
    return replace(scenario, warehouses=warehouses, tranches=tranches)


@dataclass(frozen=True)
class Row:
    """One plan of one scenario."""

    geography: str
    n_points: int
    rounds_allowed: int
    rounds_used: int
    plan_s: float
    kg_delivered: float
    kg_demand: float
    families_served: int
    families_total: int
    unassigned: str
    false_stock: int
    other_violations: int


def run_one(
    n_points: int,
    *,
    seed: int,
    time_limit_s: float,
    workers: int,
    bogor: Path | None,
    rounds: int,
) -> Row:
    """Plan one short sample scenario with ``rounds`` stock rounds allowed, and measure it."""
    with tempfile.TemporaryDirectory(prefix="bsb-shortage-") as tmp:
        scenario_dir = Path(tmp) / "scenario"
        write_sample(scenario_dir, n_drop_points=n_points, seed=seed, bogor_geodata=bogor)
        scenario = short_scenario(read_scenario(scenario_dir))
    result = run_pipeline(
        scenario,
        overrides=SolverOverrides(time_limit_s=time_limit_s, seed=seed),
        options=PlannerOptions(workers=workers, stock_rounds=rounds),
        require_valid=False,
    )
    plan, violations, plan_s = result.plan, result.violations, result.times.plan_s
    kg_by_reason: dict[str, float] = defaultdict(float)
    for item in plan.unassigned:
        kg_by_reason[item.reason_code.value] += item.kg
    kpis = plan.kpis
    return Row(
        geography="Bogor villages" if bogor else "synthetic",
        n_points=n_points,
        rounds_allowed=rounds,
        rounds_used=plan.solver.stock_rounds if plan.solver is not None else 1,
        plan_s=plan_s,
        kg_delivered=float(kpis.kg_delivered),
        kg_demand=float(kpis.kg_delivered) + float(kpis.kg_unassigned),
        families_served=int(kpis.families_served),
        families_total=int(kpis.families_total),
        unassigned=", ".join(f"{k} {v:,.0f}" for k, v in sorted(kg_by_reason.items())) or "-",
        false_stock=sum(v.rule == "stock_reason" for v in violations),
        other_violations=sum(v.rule != "stock_reason" for v in violations),
    )


def table(rows: list[Row]) -> str:
    """Markdown table of the runs."""
    lines = [
        "| geography | drop points | stock rounds allowed (used) | plan s | kg delivered "
        "(of demand) | families served in full | unassigned kg by reason | false `stock` "
        "entries (checker) | other violations |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.geography} | {r.n_points} | {r.rounds_allowed} ({r.rounds_used}) | "
            f"{r.plan_s:.1f} | **{r.kg_delivered:,.0f}** ({r.kg_delivered / r.kg_demand:.1%}) | "
            f"{r.families_served:,} of {r.families_total:,} | {r.unassigned} | "
            f"**{r.false_stock}** | {r.other_violations} |"
        )
    return "\n".join(lines)


def default_time_limit_s(n_points: int) -> float:
    """Search time by size."""
    return 30.0 if n_points <= 500 else 60.0


def run_shortage(
    sizes: Sequence[int],
    *,
    seed: int,
    time_limit_s: float | None,
    workers: int,
    bogor: Path | None,
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Run the benchmark: each size and geography planned without and with stock rounds.

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
    bogor
        The Bogor geodata folder, or ``None`` for the synthetic geography only.
    on_row
        Told each row as soon as it is measured.

    Returns
    -------
    list[Row]
        Two rows (1 round, the default rounds) per geography and size.
    """
    rows: list[Row] = []
    for geography in geographies(bogor):
        for n in sizes:
            limit = time_limit_s or default_time_limit_s(n)
            for rounds in (1, PlannerOptions().stock_rounds):
                row = run_one(
                    n,
                    seed=seed,
                    time_limit_s=limit,
                    workers=workers,
                    bogor=geography,
                    rounds=rounds,
                )
                rows.append(row)
                if on_row is not None:
                    on_row(row)
    return rows


def section(rows: list[Row], *, command: str, seed: int, workers: int) -> str:
    """Return the RESULTS.md section of a run: machine, date, command, notes, the table."""
    return results_section(
        "Plans under shortage: stock offered again",
        command,
        [
            f"seed {seed}, {workers} worker processes, default strategy; each "
            "warehouse holds its nearest points' demand, the last one a fifth of it; October's "
            f"deadline is its release + {OCTOBER_DAYS} days"
        ],
        table(rows),
    )
