"""Assignment of drop points to warehouses: the min-cost flow at national size, and regret vs flow.

Two measurements (section ``assignment`` of ``benchmarks/RESULTS.md``):

1. **National size.** :func:`optimizer.flow_assign.assign_by_flow` on a synthetic programme of
   ``--points`` drop points (default 200,000, about 50 families each: 10 million families) and
   ``--warehouses`` warehouses (default 1,550) with ``--nearest`` warehouses per point (default
   17: about 3.4 million arcs). Warehouses lie in regional clusters over the span of Indonesia;
   points scatter around them; each warehouse's stock is the need of the points nearest to it
   times a seeded factor of 0.7 to 1.3, scaled to the national need, so that the flow must move
   families to neighbours. Reported: seconds of the assignment, the process's peak memory
   before and after it, families served and unmet, mean km per family.
2. **In the planner.** ``bsb plan``'s planner with ``PlannerOptions(assignment="regret")``
   (the default) and ``"flow"`` on ``bsb sample`` scenarios (400 and 1,000 points, several
   seeds), plain and made short of stock and fleet as in ``benchmarks/shortage.py``: distance,
   kg unassigned, plan seconds, checker violations.

Usage::

    bsb bench assign                                  # both, writes RESULTS.md
    bsb bench assign --skip-planner --no-write
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks.metrics import results_section
from benchmarks.shortage import short_scenario
from documents.pipeline import SolverOverrides, run_pipeline
from geodata.sample import write_sample
from geodata.scenario_io import read_scenario
from optimizer.flow_assign import assign_by_flow, unit_vectors
from optimizer.model import DropPoint, Scenario, Tranche, Truck, Warehouse
from optimizer.planner import PlannerOptions

SECTION = "assignment"
"""The section of ``benchmarks/RESULTS.md`` these results replace."""
# Indonesia's span, and a few regional boxes (lon0, lon1, lat0, lat1, share of warehouses):
# Sumatra, Java-Bali, Kalimantan, Sulawesi, Nusa Tenggara, Maluku-Papua. Java gets the most.
REGIONS = (
    (95.5, 106.0, -5.5, 5.0, 0.22),
    (105.5, 115.5, -8.5, -6.0, 0.45),
    (109.0, 118.5, -3.5, 3.5, 0.10),
    (119.0, 125.0, -5.5, 1.5, 0.11),
    (115.5, 125.0, -10.5, -8.0, 0.07),
    (126.0, 141.0, -8.0, -0.5, 0.05),
)
FAMILIES_PER_POINT = 50
STOCK_SPREAD = 0.3
"""Each warehouse's stock is its nearest points' need times a factor in 1 +- this."""


def national_scenario(n_points: int, n_warehouses: int, seed: int) -> Scenario:
    """Make a synthetic national programme for the assignment alone (not for routing)."""
    rng = np.random.default_rng(seed)
    shares = np.array([r[4] for r in REGIONS])
    region = rng.choice(len(REGIONS), size=n_warehouses, p=shares / shares.sum())
    boxes = np.array([r[:4] for r in REGIONS])[region]
    wh_lon = rng.uniform(boxes[:, 0], boxes[:, 1])
    wh_lat = rng.uniform(boxes[:, 2], boxes[:, 3])
    # Points around warehouses (about 25 km), more around some (skewed district sizes).
    weight = rng.lognormal(0.0, 0.6, n_warehouses)
    home = rng.choice(n_warehouses, size=n_points, p=weight / weight.sum())
    lon = wh_lon[home] + rng.normal(0, 0.22, n_points)
    lat = wh_lat[home] + rng.normal(0, 0.22, n_points)
    kpm = np.maximum(5, rng.poisson(FAMILIES_PER_POINT, n_points))
    tranches = (
        Tranche("T1", "September", 30.0, date(2020, 9, 1), date(2020, 9, 30)),
        Tranche("T2", "Oktober", 15.0, date(2020, 10, 1), date(2020, 10, 31)),
    )
    ration_kg = sum(t.kg_per_kpm for t in tranches)
    # Stock: the need of the points nearest to each warehouse, spread, scaled to the need.
    from scipy.spatial import cKDTree

    _, nearest = cKDTree(unit_vectors(wh_lon, wh_lat)).query(unit_vectors(lon, lat))
    need = np.bincount(nearest, weights=kpm, minlength=n_warehouses) * ration_kg
    stock = need * rng.uniform(1 - STOCK_SPREAD, 1 + STOCK_SPREAD, n_warehouses)
    stock *= need.sum() / stock.sum()
    warehouses = tuple(
        Warehouse(f"W{i:04d}", f"Gudang {i}", float(wh_lon[i]), float(wh_lat[i]), float(stock[i]))
        for i in range(n_warehouses)
    )
    trucks = tuple(
        Truck(f"W{i:04d}-T1", f"W{i:04d}", 8000.0, 7 * 3600, 17 * 3600, 5000.0, 500_000.0)
        for i in range(n_warehouses)
    )
    points = tuple(
        DropPoint(f"P{i:06d}", f"RW {i}", float(lon[i]), float(lat[i]), int(kpm[i]))
        for i in range(n_points)
    )
    return Scenario(
        name=f"national-{n_points}-{n_warehouses}-s{seed}",
        start_date=date(2020, 9, 1),
        warehouses=warehouses,
        trucks=trucks,
        drop_points=points,
        tranches=tranches,
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class NationalRow:
    """One national-size assignment."""

    points: int
    warehouses: int
    nearest: int
    penalty_km: float | None
    arcs: int
    build_s: float
    assign_s: float
    assign_cpu_s: float
    rss_before_mb: float
    rss_after_mb: float
    families: int
    unmet: int
    km_per_family: float


def run_national(
    n_points: int, n_warehouses: int, nearest: int, seed: int, penalty_km: float | None = None
) -> NationalRow:
    """Assign a national scenario by flow in a fresh process, so that its peak memory is its own."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_run_national, (n_points, n_warehouses, nearest, seed, penalty_km))


def _run_national(
    n_points: int, n_warehouses: int, nearest: int, seed: int, penalty_km: float | None
) -> NationalRow:
    started = time.monotonic()
    scenario = national_scenario(n_points, n_warehouses, seed)
    build_s = time.monotonic() - started
    before = peak_rss_mb()
    cpu_started = time.process_time()
    result = assign_by_flow(scenario, nearest=nearest, unmet_penalty_per_family=penalty_km)
    cpu_s = time.process_time() - cpu_started
    after = peak_rss_mb()
    served = sum(s.families for s in result.shares)
    unmet = sum(u.families for u in result.unmet)
    return NationalRow(
        points=n_points,
        warehouses=n_warehouses,
        nearest=nearest,
        penalty_km=penalty_km,
        arcs=n_points * min(nearest, n_warehouses),
        build_s=build_s,
        assign_s=result.seconds,
        assign_cpu_s=cpu_s,
        rss_before_mb=before,
        rss_after_mb=after,
        families=served + unmet,
        unmet=unmet,
        km_per_family=result.cost / served if served else 0.0,
    )


def national_table(rows: list[NationalRow]) -> str:
    """Markdown table of the national-size assignments."""
    lines = [
        "| drop points | warehouses | nearest | unmet penalty | arcs | assignment s (CPU s) | "
        "peak RSS before -> after (MB) | families | unmet families | km per family served |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        penalty = "none (max flow)" if r.penalty_km is None else f"{r.penalty_km:,.0f} km"
        lines.append(
            f"| {r.points:,} | {r.warehouses:,} | {r.nearest} | {penalty} | {r.arcs:,} | "
            f"**{r.assign_s:.1f}** ({r.assign_cpu_s:.1f}) | "
            f"{r.rss_before_mb:,.0f} -> {r.rss_after_mb:,.0f} | "
            f"{r.families:,} | {r.unmet:,} | {r.km_per_family:.1f} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class PlannerRow:
    """One plan of one sample with one assignment."""

    kind: str
    n_points: int
    seed: int
    assignment: str
    plan_s: float
    distance_km: float
    kg_unassigned: float
    kg_demand: float
    violations: int


def run_planner(
    n_points: int,
    seed: int,
    assignment: str,
    *,
    short: bool,
    time_limit_s: float,
    solution_limit: int | None,
    workers: int,
) -> PlannerRow:
    """Plan one sample (plain or short) with one assignment and measure it."""
    with tempfile.TemporaryDirectory(prefix="bsb-assign-") as tmp:
        folder = Path(tmp) / "scenario"
        write_sample(folder, n_drop_points=n_points, seed=seed)
        scenario = read_scenario(folder)
    if short:
        scenario = short_scenario(scenario)
    result = run_pipeline(
        scenario,
        overrides=SolverOverrides(
            time_limit_s=time_limit_s, seed=seed, solution_limit=solution_limit
        ),
        options=PlannerOptions(workers=workers, assignment=assignment),
        require_valid=False,
    )
    kpis = result.plan.kpis
    return PlannerRow(
        kind="short" if short else "plain",
        n_points=n_points,
        seed=seed,
        assignment=assignment,
        plan_s=result.times.plan_s,
        distance_km=float(kpis.distance_km),
        kg_unassigned=float(kpis.kg_unassigned),
        kg_demand=float(kpis.kg_delivered + kpis.kg_unassigned),
        violations=len(result.violations),
    )


def planner_table(rows: list[PlannerRow]) -> str:
    """Markdown table of regret vs flow, one line per (scenario, assignment)."""
    lines = [
        "| scenario | drop points | seed | assignment | plan s | distance km | kg unassigned "
        "(of demand) | checker violations |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.kind} | {r.n_points} | {r.seed} | {r.assignment} | {r.plan_s:.1f} | "
            f"{r.distance_km:,.1f} | {r.kg_unassigned:,.0f} ({r.kg_unassigned / r.kg_demand:.1%})"
            f" | {r.violations} |"
        )
    return "\n".join(lines)


def planner_summary(rows: list[PlannerRow]) -> str:
    """Totals per assignment over every scenario (same scenarios for both)."""
    out = []
    for name in ("regret", "flow"):
        mine = [r for r in rows if r.assignment == name]
        if mine:
            out.append(
                f"{name}: {sum(r.distance_km for r in mine):,.0f} km, "
                f"{sum(r.kg_unassigned for r in mine):,.0f} kg unassigned, "
                f"{sum(r.plan_s for r in mine):.0f} s"
            )
    return "; ".join(out)


def planner_verdict(rows: list[PlannerRow]) -> str:
    """Which assignment planned better over the same scenarios: less rice left, then distance."""
    totals = {}
    for name in ("regret", "flow"):
        mine = [r for r in rows if r.assignment == name]
        totals[name] = (sum(r.kg_unassigned for r in mine), sum(r.distance_km for r in mine))
    (regret_kg, regret_km), (flow_kg, flow_km) = totals["regret"], totals["flow"]
    wins = sum(
        (f.kg_unassigned, f.distance_km) < (r.kg_unassigned, r.distance_km)
        for r, f in zip(
            [r for r in rows if r.assignment == "regret"],
            [r for r in rows if r.assignment == "flow"],
            strict=True,
        )
    )
    better = "flow" if (flow_kg, flow_km) < (regret_kg, regret_km) else "regret"
    return (
        f"Over these {len(rows) // 2} scenarios the flow leaves {flow_kg - regret_kg:+,.0f} kg "
        f"unassigned and drives {flow_km - regret_km:+,.0f} km ({(flow_km / regret_km - 1):+.1%})"
        f" against regret, and plans better (less rice left, then less distance) in {wins} of "
        f"them; on the totals, **{better}** plans better. The planner's default "
        f"(`PlannerOptions().assignment`): `{PlannerOptions().assignment}`."
    )


def run_national_rows(
    n_points: int,
    n_warehouses: int,
    *,
    nearest: Sequence[int],
    penalties_km: Sequence[float],
    seed: int,
    on_row: Callable[[NationalRow], None] | None = None,
) -> list[NationalRow]:
    """Assign the national scenario once per ``nearest``, then per penalty (last ``nearest``).

    Each run is made in a fresh process, so that its peak memory is its own.
    """
    rows: list[NationalRow] = []
    runs: list[tuple[int, float | None]] = [(k, None) for k in nearest]
    runs += [(nearest[-1], penalty) for penalty in penalties_km]
    for k, penalty in runs:
        rows.append(run_national(n_points, n_warehouses, k, seed, penalty))
        if on_row is not None:
            on_row(rows[-1])
    return rows


def run_planner_rows(
    sizes: Sequence[int],
    seeds: Sequence[int],
    *,
    time_limit_s: float,
    solution_limit: int | None,
    workers: int,
    on_row: Callable[[PlannerRow], None] | None = None,
) -> list[PlannerRow]:
    """Plan every sample (plain, then short) with regret and with flow."""
    rows: list[PlannerRow] = []
    for short in (False, True):
        for n in sizes:
            for seed in seeds:
                for assignment in ("regret", "flow"):
                    rows.append(
                        run_planner(
                            n,
                            seed,
                            assignment,
                            short=short,
                            time_limit_s=time_limit_s,
                            solution_limit=solution_limit,
                            workers=workers,
                        )
                    )
                    if on_row is not None:
                        on_row(rows[-1])
    return rows


def section(
    national: list[NationalRow],
    planner: list[PlannerRow],
    *,
    command: str,
    seed: int,
    time_limit_s: float,
    solution_limit: int | None,
    workers: int,
    load_at_start: float,
) -> str:
    """Return the RESULTS.md section of a run: machine, date, command, notes, the tables."""
    parts = []
    if national:
        parts += ["### National size: the min-cost flow alone", "", national_table(national), ""]
    if planner:
        parts += [
            "### In the planner: regret vs flow",
            "",
            planner_table(planner),
            "",
            f"Totals: {planner_summary(planner)}.",
            "",
            planner_verdict(planner),
        ]
    notes = [
        f"load average at start {load_at_start:.1f}, at end {os.getloadavg()[0]:.1f} (the 2 "
        "cores are shared with other work: wall times carry its contention; CPU s is the "
        "assignment's own time)",
        f"national: synthetic, seed {seed}, {FAMILIES_PER_POINT} families per point on average, "
        "stock = need of the nearest points x U(0.7, 1.3) scaled to the national need (one "
        "family = 45 kg); peak RSS of a fresh process per run, before and after the assignment",
        f"planner: `bsb sample` scenarios, {solution_limit} solutions per routing part "
        f"(deterministic: the same plan every run), {time_limit_s:g} s time limit (not "
        f"reached), {workers} workers; 'short' = benchmarks/shortage.py's stock and fleet "
        "shortage (the last warehouse holds a fifth of its points' need; October 3 days)",
    ]
    return results_section("Assignment: min-cost flow vs regret", command, notes, "\n".join(parts))
