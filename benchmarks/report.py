"""Benchmark report: tables and plots from a runner's ``results.csv``, and an independent check.

Usage::

    bsb bench report benchmarks/runs/quick            # tables + plots into RESULTS.md
    bsb bench report benchmarks/runs/quick --check    # recompute every row, exit 1 on a mismatch

Tables (one per family; the last row of every task counts, so a rerun supersedes an ``error``):

- Solomon, Homberger, X: per strategy, runs, feasible runs, mean and max gap % over the
  feasible runs (gap of the cost under the reference's rounding convention, see
  ``benchmarks.vrp.gap_reference``), mean routes over the reference's route count, runs that
  were infeasible / found no solution / timed out / failed, median wall time.
- random: the same with the ratio of the distance to PyVRP's distance on the same instance,
  time limit and seed instead of the gap, and a table of those ratios per instance.
- bsb: per strategy, the mean distance over the radial lower bound, the mean distance over the
  best strategy's distance on the same scenario (time limit, seed), the mean share of families
  served by each tranche deadline, mean unassigned kg, median wall time.

Plots (``<plots>/``, matplotlib, Agg): ``gap_vs_time_<family>.png`` and
``final_<family>.png``; see :func:`plot_gap_vs_time` for how the curves are made.
"""

from __future__ import annotations

import math
import os
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import bsb_family, vrp
from benchmarks.metrics import replace_section
from benchmarks.runner import ResultRow as Row
from benchmarks.runner import TaskKey, format_limit, latest_rows, read_rows

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "strategies"
GAP_FAMILIES = ("solomon", "homberger", "x")
FAMILY_TITLES = {
    "solomon": "Solomon VRPTW",
    "homberger": "Gehring-Homberger VRPTW",
    "x": "CVRPLIB X",
    "random": "Random 200-customer VRPTW (new instances)",
    "bsb": "BSB scenarios",
}
REFERENCE_STRATEGY = "pyvrp"
"""Random instances have no best-known value: distances are compared with this strategy's."""
TOLERANCE = 1e-6


def _strategies(rows: Iterable[Row]) -> list[str]:
    """Strategies in order of first appearance."""
    return list(dict.fromkeys(r.strategy for r in rows))


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _fmt(value: float | None, digits: int = 2, *, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Runs of one strategy by status."""

    runs: int
    feasible: int
    infeasible: int
    no_solution: int
    timeout: int
    error: int
    median_wall_s: float | None

    @classmethod
    def of(cls, rows: Sequence[Row]) -> Outcomes:
        """Count the statuses of ``rows``."""
        walls = [r.wall_s for r in rows if r.wall_s is not None]
        return cls(
            runs=len(rows),
            feasible=sum(r.status == "ok" for r in rows),
            infeasible=sum(r.status == "infeasible" for r in rows),
            no_solution=sum(r.status == "no_solution" for r in rows),
            timeout=sum(r.status == "timeout" for r in rows),
            error=sum(r.status == "error" for r in rows),
            median_wall_s=statistics.median(walls) if walls else None,
        )

    @property
    def failures(self) -> str:
        """``infeasible / no solution / timeout / error`` counts."""
        return f"{self.infeasible} / {self.no_solution} / {self.timeout} / {self.error}"


@dataclass(frozen=True, slots=True)
class GapSummary:
    """One strategy on one family with best-known values."""

    strategy: str
    outcomes: Outcomes
    mean_gap_pct: float | None
    max_gap_pct: float | None
    vehicles_over_bks: float | None
    mean_double_gap_pct: float | None = None


def summarise_gaps(rows: Sequence[Row], family: str) -> list[GapSummary]:
    """Per strategy: outcomes, mean and max gap of feasible runs, mean routes over the BKS's."""
    mine = [r for r in latest_rows(rows) if r.family == family]
    summaries = []
    for strategy in _strategies(mine):
        runs = [r for r in mine if r.strategy == strategy]
        ok = [r for r in runs if r.status == "ok"]
        gaps = [r.gap_pct for r in ok if r.gap_pct is not None]
        # The double-precision distance against the reference's value, whatever its rounding:
        # what a solver's own objective says, and how some published tables count.
        double_gaps = [
            100.0 * (r.distance - r.bks_distance) / r.bks_distance
            for r in ok
            if r.distance is not None and r.bks_distance
        ]
        extra = [
            float(r.vehicles - r.bks_vehicles)
            for r in ok
            if r.vehicles is not None and r.bks_vehicles is not None
        ]
        summaries.append(
            GapSummary(
                strategy,
                Outcomes.of(runs),
                _mean(gaps),
                max(gaps) if gaps else None,
                _mean(extra),
                _mean(double_gaps),
            )
        )
    return summaries


def gap_table(rows: Sequence[Row], family: str) -> str:
    """Markdown table of :func:`summarise_gaps`."""
    lines = [
        "| strategy | runs | feasible runs | mean gap % | max gap % | mean gap %, double "
        "distance | routes over best-known (mean) | infeasible / no solution / timeout / error | "
        "median wall s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summarise_gaps(rows, family):
        o = s.outcomes
        lines.append(
            f"| {s.strategy} | {o.runs} | {o.feasible} / {o.runs} | {_fmt(s.mean_gap_pct)} | "
            f"{_fmt(s.max_gap_pct)} | {_fmt(s.mean_double_gap_pct)} | "
            f"{_fmt(s.vehicles_over_bks, signed=True)} | {o.failures} | "
            f"{_fmt(o.median_wall_s, 1)} |"
        )
    return "\n".join(lines)


def _scenario_key(row: Row) -> tuple[str, str, int]:
    return (row.instance, format_limit(row.time_limit_s), row.seed)


@dataclass(frozen=True, slots=True)
class Ratio:
    """A run's distance over the reference strategy's on the same instance, limit and seed."""

    instance: str
    strategy: str
    time_limit_s: float
    seed: int
    ratio: float


def random_ratios(rows: Sequence[Row], reference: str = REFERENCE_STRATEGY) -> list[Ratio]:
    """Ratios of every feasible random run to the feasible ``reference`` run it pairs with."""
    mine = [r for r in latest_rows(rows) if r.family == "random"]
    ref = {
        _scenario_key(r): r.distance
        for r in mine
        if r.strategy == reference and r.status == "ok" and r.distance
    }
    return [
        Ratio(r.instance, r.strategy, r.time_limit_s, r.seed, r.distance / ref[_scenario_key(r)])
        for r in mine
        if r.status == "ok" and r.distance is not None and _scenario_key(r) in ref
    ]


def random_table(rows: Sequence[Row], reference: str = REFERENCE_STRATEGY) -> str:
    """Summary per strategy, then the ratio of every instance and strategy."""
    mine = [r for r in latest_rows(rows) if r.family == "random"]
    ratios = random_ratios(rows, reference)
    strategies = _strategies(mine)
    lines = [
        f"| strategy | runs | feasible runs | mean ratio to {reference} | max ratio to "
        f"{reference} | mean routes | infeasible / no solution / timeout / error | "
        "median wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for strategy in strategies:
        runs = [r for r in mine if r.strategy == strategy]
        values = [q.ratio for q in ratios if q.strategy == strategy]
        routes = [float(r.vehicles) for r in runs if r.status == "ok" and r.vehicles is not None]
        o = Outcomes.of(runs)
        lines.append(
            f"| {strategy} | {o.runs} | {o.feasible} / {o.runs} | {_fmt(_mean(values), 4)} | "
            f"{_fmt(max(values) if values else None, 4)} | {_fmt(_mean(routes), 1)} | "
            f"{o.failures} | {_fmt(o.median_wall_s, 1)} |"
        )
    instances = list(dict.fromkeys(q.instance for q in ratios))
    if not instances:
        return "\n".join(lines)
    lines += [
        "",
        f"Distance over {reference}'s distance, per instance (mean over seeds):",
        "",
        "| instance | " + " | ".join(strategies) + " |",
        "|---|" + "---|" * len(strategies),
    ]
    for instance in [*instances, "mean"]:
        cells = []
        for strategy in strategies:
            values = [
                q.ratio
                for q in ratios
                if q.strategy == strategy and (instance == "mean" or q.instance == instance)
            ]
            cells.append(_fmt(_mean(values), 4))
        label = "**mean**" if instance == "mean" else instance
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class BsbSummary:
    """One strategy on the BSB scenarios."""

    strategy: str
    outcomes: Outcomes
    mean_ratio_to_bound: float | None
    mean_ratio_to_best: float | None
    served: str
    mean_unassigned_kg: float | None


def summarise_bsb(rows: Sequence[Row]) -> list[BsbSummary]:
    """Per strategy: ratio to the bound and to the best strategy, served shares, unassigned."""
    mine = [r for r in latest_rows(rows) if r.family == "bsb"]
    best: dict[tuple[str, str, int], float] = {}
    for r in mine:
        if r.status == "ok" and r.distance is not None:
            key = _scenario_key(r)
            best[key] = min(best.get(key, math.inf), r.distance)
    summaries = []
    for strategy in _strategies(mine):
        runs = [r for r in mine if r.strategy == strategy]
        ok = [r for r in runs if r.status == "ok"]
        to_bound = [r.ratio_to_bound for r in ok if r.ratio_to_bound is not None]
        to_best = [
            r.distance / best[_scenario_key(r)]
            for r in ok
            if r.distance is not None and best.get(_scenario_key(r))
        ]
        shares: dict[str, list[float]] = defaultdict(list)
        for r in ok:
            for share in bsb_family.parse_shares(r.served_share_by_deadline):
                shares[share.tranche].append(share.share_pct)
        served = "; ".join(f"{t} {statistics.fmean(v):.1f}%" for t, v in shares.items()) or "-"
        unassigned = [r.unassigned_kg for r in ok if r.unassigned_kg is not None]
        summaries.append(
            BsbSummary(
                strategy,
                Outcomes.of(runs),
                _mean(to_bound),
                _mean(to_best),
                served,
                _mean(unassigned),
            )
        )
    return summaries


def bsb_table(rows: Sequence[Row]) -> str:
    """Summary per strategy, then every scenario's runs."""
    lines = [
        "| strategy | runs | feasible runs | mean ratio to bound | mean ratio to best strategy | "
        "families served by the deadline (mean) | mean unassigned kg | "
        "infeasible / no solution / timeout / error | median wall s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summarise_bsb(rows):
        o = s.outcomes
        lines.append(
            f"| {s.strategy} | {o.runs} | {o.feasible} / {o.runs} | "
            f"{_fmt(s.mean_ratio_to_bound, 3)} | {_fmt(s.mean_ratio_to_best, 4)} | {s.served} | "
            f"{_fmt(s.mean_unassigned_kg, 0)} | {o.failures} | {_fmt(o.median_wall_s, 1)} |"
        )
    mine = sorted(
        (r for r in latest_rows(rows) if r.family == "bsb"),
        key=lambda r: (r.customers, r.instance, r.seed, r.strategy),
    )
    lines += [
        "",
        "| scenario | time limit s | seed | strategy | status | distance km | ratio to bound | "
        "trips | families served by the deadline | unassigned kg | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in mine:
        distance = f"{r.distance:,.1f}" if r.distance is not None else "-"
        lines.append(
            f"| {r.instance} | {format_limit(r.time_limit_s)} | {r.seed} | {r.strategy} | "
            f"{r.status} | {distance} | {_fmt(r.ratio_to_bound, 3)} | "
            f"{r.vehicles if r.vehicles is not None else '-'} | "
            f"{r.served_share_by_deadline or '-'} | {_fmt(r.unassigned_kg, 0)} | "
            f"{_fmt(r.wall_s, 1)} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Plots


@dataclass(frozen=True, slots=True)
class TracePoint:
    """An improving solution: seconds since the solver started, double-precision distance."""

    elapsed_s: float
    distance: float


def read_trace(path: Path) -> list[TracePoint]:
    """Read a ``elapsed_s,distance`` trace CSV (header and malformed lines skipped), by time."""
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(",")
        if len(parts) < 2:
            continue
        try:
            points.append(TracePoint(float(parts[0]), float(parts[1])))
        except ValueError:
            continue
    return sorted(points, key=lambda p: p.elapsed_s)


@dataclass(frozen=True, slots=True)
class Curve:
    """Mean gap of one strategy's runs over time (a step function)."""

    strategy: str
    times_s: tuple[float, ...]
    mean_gap_pct: tuple[float, ...]
    runs: int
    without_solution: int


def _reference_distances(rows: Sequence[Row], family: str) -> dict[TaskKey, float]:
    """Distance each run's trace is compared with: the BKS's, or PyVRP's final one (random)."""
    mine = [r for r in rows if r.family == family]
    if family == "random":
        pyvrp = {
            _scenario_key(r): r.distance
            for r in mine
            if r.strategy == REFERENCE_STRATEGY and r.status == "ok" and r.distance
        }
        return {r.key: pyvrp[_scenario_key(r)] for r in mine if _scenario_key(r) in pyvrp}
    return {r.key: r.bks_distance for r in mine if r.bks_distance}


def gap_curves(rows: Sequence[Row], family: str, base: Path) -> list[Curve]:
    """Mean gap over time per strategy, from the trace files (paths relative to ``base``).

    At time t a run's value is the gap of the best distance it had found by t,
    ``100 * (distance - reference) / reference`` in double precision against the reference
    distance of its row (random: PyVRP's final distance on the same instance, limit and seed).
    A curve starts when every run of the strategy that found a solution has its first one, so
    the mean is over a fixed set of runs; runs without a solution (or without a usable trace)
    are left out and counted. After its last point a run keeps its final value.
    """
    mine = [r for r in latest_rows(rows) if r.family == family]
    refs = _reference_distances(mine, family)
    curves = []
    for strategy in _strategies(mine):
        runs = [r for r in mine if r.strategy == strategy]
        traces: list[tuple[list[TracePoint], float]] = []
        for r in runs:
            path = base / r.trace_file if r.trace_file else None
            if r.status != "ok" or r.key not in refs or path is None or not path.exists():
                continue
            points = read_trace(path)
            if points:
                traces.append((points, refs[r.key]))
        if not traces:
            continue
        start = max(points[0].elapsed_s for points, _ in traces)
        end = max(max(p.elapsed_s for p in points) for points, _ in traces)
        end = max(end, max(r.time_limit_s for r in runs))
        times = sorted(
            {start, end}
            | {p.elapsed_s for points, _ in traces for p in points if p.elapsed_s > start}
        )
        means = []
        for t in times:
            gaps = []
            for points, ref in traces:
                best = min(p.distance for p in points if p.elapsed_s <= t)
                gaps.append(100.0 * (best - ref) / ref)
            means.append(statistics.fmean(gaps))
        curves.append(
            Curve(strategy, tuple(times), tuple(means), len(runs), len(runs) - len(traces))
        )
    return curves


def plot_gap_vs_time(rows: Sequence[Row], family: str, base: Path, path: Path) -> bool:
    """Draw :func:`gap_curves` into ``path`` (PNG); ``False`` (no file) when there is no trace."""
    from matplotlib.figure import Figure  # heavy import, only when drawing

    curves = gap_curves(rows, family, base)
    if not curves:
        return False
    figure = Figure(figsize=(8, 5), layout="constrained")
    axes = figure.subplots()
    for curve in curves:
        times = [max(t, 0.01) for t in curve.times_s]
        label = f"{curve.strategy} ({curve.runs - curve.without_solution} runs"
        label += f", {curve.without_solution} without solution)" if curve.without_solution else ")"
        axes.step(times, curve.mean_gap_pct, where="post", label=label)
    axes.set_xscale("log")
    axes.set_xlabel("elapsed time, s (log scale)")
    reference = f"{REFERENCE_STRATEGY}'s final distance" if family == "random" else "best-known"
    axes.set_ylabel(f"mean gap to {reference}, % (double precision)")
    axes.set_title(f"{FAMILY_TITLES.get(family, family)}: best distance found by time t")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return True


def _final_values(rows: Sequence[Row], family: str) -> tuple[str, dict[str, list[float]]]:
    mine = [r for r in latest_rows(rows) if r.family == family]
    values: dict[str, list[float]] = {s: [] for s in _strategies(mine)}
    if family == "random":
        for q in random_ratios(rows):
            values[q.strategy].append(q.ratio)
        return f"distance / {REFERENCE_STRATEGY}'s distance", values
    if family == "bsb":
        for r in mine:
            if r.status == "ok" and r.ratio_to_bound is not None:
                values[r.strategy].append(r.ratio_to_bound)
        return "distance / radial lower bound", values
    for r in mine:
        if r.status == "ok" and r.gap_pct is not None:
            values[r.strategy].append(r.gap_pct)
    return "gap to best-known, % (reference's convention)", values


def plot_final(rows: Sequence[Row], family: str, path: Path) -> bool:
    """Box plot of the final gaps (random: ratios to PyVRP; bsb: ratios to the bound)."""
    from matplotlib.figure import Figure  # heavy import, only when drawing

    label, values = _final_values(rows, family)
    values = {s: v for s, v in values.items() if v}
    if not values:
        return False
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    axes.boxplot(list(values.values()), tick_labels=list(values), showmeans=True)
    axes.set_ylabel(label)
    axes.set_title(f"{FAMILY_TITLES.get(family, family)}: final result per strategy")
    axes.grid(True, axis="y", alpha=0.3)
    axes.tick_params(axis="x", labelrotation=20)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return True


# --------------------------------------------------------------------------------------------
# RESULTS.md


def _family_notes(rows: Sequence[Row], family: str) -> str:
    mine = [r for r in latest_rows(rows) if r.family == family]
    limits = ", ".join(f"{format_limit(t)} s" for t in sorted({r.time_limit_s for r in mine}))
    instances = len({r.instance for r in mine})
    seeds = ", ".join(str(s) for s in sorted({r.seed for r in mine}))
    text = (
        f"{instances} instance{'s' if instances != 1 else ''}, time limits {limits}, seeds {seeds}."
    )
    if family in GAP_FAMILIES:
        conventions = ", ".join(sorted({r.cost_convention for r in mine if r.cost_convention}))
        text += (
            " Gap: the solution's cost recomputed under the reference's rounding convention "
            f"({conventions}) against that best-known distance; feasible runs only (every "
            "solution re-checked in double precision). Routes over best-known: routes minus "
            "the reference solution's routes."
        )
    elif family == "bsb":
        text += (
            " Ratio to bound: distance over the radial lower bound for the kg delivered. Ratio "
            "to best strategy: distance over the lowest distance of any strategy on the same "
            "scenario, limit and seed (read it with the unassigned kg: serving less is shorter)."
        )
    return text


def _link(target: Path, results_md: Path) -> str:
    return Path(os.path.relpath(target.resolve(), results_md.resolve().parent)).as_posix()


def gap_caption(family: str) -> str:
    """Caption of ``gap_vs_time_<family>.png``: what the curves compare and how."""
    common = (
        "A curve starts once every run of the strategy that found a solution has one; runs "
        "without a solution are left out and counted in the legend; a finished run keeps its "
        "final value."
    )
    if family == "random":
        return (
            "Mean gap over the runs against time, from the trace files (the improving solutions "
            f"each run logged), relative to {REFERENCE_STRATEGY}'s final distance on the same "
            "instance, time limit and seed (double precision). " + common
        )
    return (
        "Mean gap over the runs against time, from the trace files (the improving solutions "
        "each run logged). Trace distances are double precision and are compared with the "
        "reference row's distance as it stands; where the reference is one-decimal truncated "
        "(Solomon, Homberger 1000) or rounded to integers (X), the curves sit a little above "
        "the table's gaps, which recompute the cost under the reference's convention (0.1 to "
        "0.6 points for the DIMACS references). " + common
    )


def build_report(csv_path: Path, results_md: Path, plots_dir: Path, command: str) -> str:
    """Make the plots and return the Markdown body of the ``strategies`` section."""
    rows = read_rows(csv_path)
    latest = latest_rows(rows)
    base = csv_path.parent
    machines = sorted({r.machine for r in latest if r.machine})
    versions = sorted({r.versions for r in latest if r.versions})
    started = sorted(r.started_utc for r in latest if r.started_utc)
    lines = [
        "## Routing strategies side by side",
        "",
        f"- machine: {'; '.join(machines) or '-'}",
        f"- runs: {started[0] if started else '-'} to {started[-1] if started else '-'}; "
        f"report {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command}`",
        f"- versions: {' | '.join(versions) or '-'}",
        f"- results: `{_link(csv_path, results_md)}` ({len(latest)} runs)",
    ]
    families = [f for f in FAMILY_TITLES if any(r.family == f for r in latest)]
    for family in families:
        lines += ["", f"### {FAMILY_TITLES[family]}", "", _family_notes(rows, family), ""]
        if family == "random":
            lines.append(random_table(rows))
        elif family == "bsb":
            lines.append(bsb_table(rows))
        else:
            lines.append(gap_table(rows, family))
        gap_png = plots_dir / f"gap_vs_time_{family}.png"
        final_png = plots_dir / f"final_{family}.png"
        if family != "bsb" and plot_gap_vs_time(rows, family, base, gap_png):
            lines += [
                "",
                f"![Mean gap against time, {family}]({_link(gap_png, results_md)})",
                "",
                f"*{gap_caption(family)}*",
            ]
        if plot_final(rows, family, final_png):
            lines += [
                "",
                f"![Final results per strategy, {family}]({_link(final_png, results_md)})",
            ]
    return "\n".join(lines)


def write_report(csv_path: Path, results_md: Path, plots_dir: Path, command: str) -> None:
    """Write the tables and plots of ``csv_path`` into the ``strategies`` section of RESULTS.md.

    Parameters
    ----------
    csv_path
        The runner's ``results.csv``; solution and trace paths in it are relative to its folder.
    results_md
        The Markdown file (``benchmarks/RESULTS.md``); only its ``strategies`` section changes.
    plots_dir
        Where the PNG files go (linked relative to ``results_md``).
    command
        The command line that produced the results, shown above the tables.
    """
    body = build_report(csv_path, results_md, plots_dir, command)
    replace_section(results_md, SECTION, body)


# --------------------------------------------------------------------------------------------
# Independent check


def _differs(stated: float | None, actual: float | None) -> bool:
    if stated is None or actual is None:
        return stated is not actual
    return not math.isclose(stated, actual, rel_tol=1e-12, abs_tol=TOLERANCE)


def _check_vrp_row(
    row: Row, base: Path, bks_cache: dict[Path, dict[tuple[str, str], vrp.Bks]]
) -> list[str]:
    instance_file = base / row.instance_file
    instance = vrp.read_instance(instance_file)
    routes, _ = vrp.read_solution(base / row.solution_file)
    check = vrp.check_solution(instance, routes, convention="euclid_double")
    ref = None
    if row.family != "random":
        bks_path = instance_file.parent.parent / "bks.csv"
        if bks_path not in bks_cache:
            bks_cache[bks_path] = vrp.load_bks(bks_path)
        family = "cvrplib_x" if row.family == "x" else row.family
        ref = vrp.gap_reference(instance.name, family, bks_cache[bks_path])
    convention = ref.arc_convention if ref is not None else "euclid_double"
    gap = (
        100.0 * (vrp.route_cost(instance, routes, convention) - ref.distance) / ref.distance
        if ref is not None and check.feasible
        else None
    )
    problems = []
    expected_status = "ok" if check.feasible else "infeasible"
    if row.status != expected_status or row.feasible is not check.feasible:
        problems.append(f"status {row.status}, the solution is {expected_status}")
    if row.vehicles != check.vehicles:
        problems.append(f"vehicles {row.vehicles}, solution has {check.vehicles}")
    pairs = (
        ("distance", row.distance, check.distance),
        (
            "cost_under_convention",
            row.cost_under_convention,
            vrp.route_cost(instance, routes, convention),
        ),
        ("bks_distance", row.bks_distance, ref.distance if ref is not None else None),
        ("gap_pct", row.gap_pct, gap),
    )
    problems += [
        f"{name} {stated!r}, recomputed {actual!r}"
        for name, stated, actual in pairs
        if _differs(stated, actual)
    ]
    return problems


def _check_bsb_row(row: Row, base: Path) -> list[str]:
    ev = bsb_family.evaluate_plan(base / row.instance_file, base / row.solution_file)
    problems = []
    if row.feasible is not ev.feasible:
        problems.append(f"feasible {row.feasible}, the checker says {ev.feasible}")
    pairs = (
        ("distance", row.distance, ev.distance_km),
        ("bound_km", row.bound_km, ev.bound_km),
        ("ratio_to_bound", row.ratio_to_bound, ev.ratio_to_bound),
        ("unassigned_kg", row.unassigned_kg, ev.unassigned_kg),
    )
    problems += [
        f"{name} {stated!r}, recomputed {actual!r}"
        for name, stated, actual in pairs
        if _differs(stated, actual)
    ]
    if row.served_share_by_deadline != ev.served_share_by_deadline:
        problems.append(
            f"served share {row.served_share_by_deadline!r}, "
            f"recomputed {ev.served_share_by_deadline!r}"
        )
    return problems


def check_results(csv_path: Path) -> list[str]:
    """Recompute every row of ``results.csv`` from its instance and solution files.

    Distances, costs under the reference convention, gaps, vehicles and feasibility (BSB:
    distance, bound, ratio, served shares, unassigned kg) must match to 1e-6; rows without a
    solution must carry no numbers.

    Returns
    -------
    list of str
        One message per mismatch (``instance strategy seed: what differs``); empty when all
        rows agree.
    """
    base = csv_path.parent
    bks_cache: dict[Path, dict[tuple[str, str], vrp.Bks]] = {}
    messages = []
    for number, row in enumerate(read_rows(csv_path), start=2):
        where = f"row {number} ({row.family} {row.instance} {row.strategy} seed {row.seed})"
        try:
            if row.status in ("ok", "infeasible"):
                if not row.solution_file:
                    problems = ["no solution file"]
                elif row.family == "bsb":
                    problems = _check_bsb_row(row, base)
                else:
                    problems = _check_vrp_row(row, base, bks_cache)
            else:
                problems = [
                    f"{name} is set on a {row.status} row"
                    for name in ("distance", "gap_pct")
                    if getattr(row, name) is not None
                ]
        except (OSError, ValueError, KeyError) as exc:
            problems = [f"cannot recompute: {exc}"]
        messages += [f"{where}: {p}" for p in problems]
    return messages
