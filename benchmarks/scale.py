"""How a national plan scales with workers: real assignment, real pieces, measured, projected.

``bsb bench scale`` plans N warehouses of a national sample (``geodata.national_sample``) or a
given scenario folder warehouse by warehouse (:func:`documents.national.run_national`) on a
Dask ``LocalCluster`` of 1 and then 2 worker processes, and reports:

* every piece: drop points, families, seconds, peak memory of its worker, status;
* the 1- and 2-worker wall times beside their prediction;
* the scheduler's overhead, measured: trivial tasks per second through the same executor;
* a projection to 16, 64 and 256 workers: longest-first list scheduling of the measured piece
  and warehouse-folder times, plus assignment time and every task's share of the overhead;
* optionally, the quality cost of splitting a large warehouse into sectors: its distance
  planned in pieces against planned whole, at equal CPU time.

Prediction for ``k`` workers::

    assignment s + LPT makespan(piece s, then warehouse-folder s; k workers) + tasks / (tasks/s)

The piece and warehouse times come from the 1-worker run (each task alone on its worker).

Results replace the ``scale`` section (:data:`SECTION`) of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import heapq
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.metrics import results_section
from documents.national import NationalResult, run_national
from optimizer.executors import Executor
from optimizer.model import Scenario
from optimizer.pieces import (
    DEFAULT_MAX_PIECE_POINTS,
    Piece,
    make_pieces,
    merge_plans,
    piece_scenario,
    warehouse_scenario,
)
from optimizer.planner import PlannerOptions, plan_scenario

SECTION = "scale"
"""The section of ``benchmarks/RESULTS.md`` these results replace."""
PROJECTED_WORKERS = (16, 64, 256)
NATIONAL_WAREHOUSES = 1550
"""BULOG's warehouse units in 2020: the national projection replicates the measured tasks to
this many warehouses."""
FAMILIES_PER_WAREHOUSE = 7_500
"""About 150 drop points of 50 families per warehouse: 100 warehouses, 15,000 points."""


def _trivial() -> None:
    return None


@dataclass(frozen=True)
class PieceRow:
    """One piece as the 1-worker run measured it."""

    piece: str
    points: int
    families: int
    seconds: float
    peak_rss_mb: float
    status: str


@dataclass(frozen=True)
class RunRow:
    """One run of every piece on ``workers`` workers."""

    workers: int
    wall_s: float
    predicted_s: float
    pieces: int
    failures: int


@dataclass(frozen=True)
class Quality:
    """A large warehouse planned in sectors against planned whole, at equal CPU time."""

    points: int
    pieces_split: int
    pieces_whole: int
    cpu_s: float
    distance_split_km: float
    distance_whole_km: float
    unassigned_split_kg: float
    unassigned_whole_kg: float

    @property
    def cost(self) -> float:
        """Extra distance of the split plan, as a fraction of the whole plan's."""
        return self.distance_split_km / self.distance_whole_km - 1.0


@dataclass(frozen=True)
class ScaleResult:
    """Everything ``bsb bench scale`` measured."""

    scenario: str
    points: int
    warehouses: int
    assignment_s: float
    pieces: tuple[PieceRow, ...]
    warehouse_s: tuple[float, ...]
    runs: tuple[RunRow, ...]
    tasks_per_s: float
    projections: tuple[tuple[int, float], ...]
    quality: Quality | None
    national: tuple[tuple[int, float], ...] = ()
    """Projected wall seconds of the national plan by workers (:func:`national_tasks`)."""


def lpt_makespan_s(task_seconds: Sequence[float], workers: int) -> float:
    """Finish time of tasks list-scheduled in the given order on ``workers`` workers.

    Each task goes to the worker that frees first (what the executor does with tasks queued
    longest first).

    Parameters
    ----------
    task_seconds
        Seconds of each task, in the order they are queued.
    workers
        Workers, at least 1.

    Returns
    -------
    float
        When the last task ends; 0 for no task.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    free = [0.0] * min(workers, max(1, len(task_seconds)))
    for seconds in task_seconds:
        start = heapq.heappop(free)
        heapq.heappush(free, start + seconds)
    return max(free)


def predict_wall_s(
    piece_s: Sequence[float],
    warehouse_s: Sequence[float],
    workers: int,
    *,
    tasks_per_s: float,
    fixed_s: float,
) -> float:
    """Predicted wall time: fixed part, longest-first makespan, and the scheduler's overhead."""
    tasks = [*sorted(piece_s, reverse=True), *warehouse_s]
    return fixed_s + lpt_makespan_s(tasks, workers) + len(tasks) / tasks_per_s


def national_tasks(
    tasks: Sequence[float], measured_warehouses: int, national_warehouses: int
) -> list[float]:
    """Replicate the measured tasks to ``national_warehouses`` warehouses, longest first.

    The sample's warehouses are sized like the nation's (about 130 to 150 drop points each), so
    the nation's pieces are taken to be the measured ones, ``national / measured`` times over
    (the fractional part by the longest first).
    """
    factor = national_warehouses / max(1, measured_warehouses)
    ordered = sorted(tasks, reverse=True)
    whole = int(factor)
    extra = round((factor - whole) * len(ordered))
    return sorted([*ordered * whole, *ordered[:extra]], reverse=True)


def measure_tasks_per_s(executor: Executor, tasks: int) -> float:
    """Trivial tasks per second through ``executor`` (submission to result, all in flight)."""
    started = time.monotonic()
    futures = [executor.submit(_trivial) for _ in range(tasks)]
    for future in futures:
        future.result()
    return tasks / max(1e-9, time.monotonic() - started)


def national_source(
    *, warehouses: int, families: int | None, seed: int, centroids: Path | None
) -> Scenario:
    """Return the national sample (part S) of ``warehouses`` warehouses, families in proportion."""
    from geodata.national_sample import make_national

    scenario: Scenario = make_national(
        families=families or warehouses * FAMILIES_PER_WAREHOUSE,
        warehouses=warehouses,
        seed=seed,
        centroids=centroids,
    )
    return scenario


ExecutorFactory = Callable[[int], Any]
"""Makes the (not yet entered) executor of a run with that many workers."""


def dask_local(workers: int) -> Any:
    """Return a Dask ``LocalCluster`` executor of ``workers`` one-thread processes."""
    from optimizer.dask_executor import DaskExecutor

    return DaskExecutor(workers=workers)


def run_scale(
    scenario: Scenario,
    *,
    workers: Sequence[int] = (1, 2),
    time_limit_s: float | None = None,
    max_piece_points: int = DEFAULT_MAX_PIECE_POINTS,
    overhead_tasks: int = 1000,
    quality_points: int = 0,
    quality_time_limit_s: float = 20.0,
    seed: int = 1,
    executor_factory: ExecutorFactory = dask_local,
    progress: Callable[[str], None] | None = None,
) -> ScaleResult:
    """Plan ``scenario`` warehouse by warehouse on each worker count and measure it.

    Parameters
    ----------
    scenario
        The national scenario (its solver settings: seed, strategy, solution limit).
    workers
        Worker counts to run; the first is the reference for piece times (1 recommended).
    time_limit_s
        Search seconds of each piece (``run_national``'s default when ``None``).
    max_piece_points
        Warehouses with more points are planned in sectors.
    overhead_tasks
        Trivial tasks timed on the largest cluster for the scheduler's overhead.
    quality_points
        Points of the one-warehouse sample planned split against whole; 0 skips it.
    quality_time_limit_s
        Search seconds of each sector piece in the quality measurement.
    seed
        Seed of the quality sample.
    executor_factory
        Makes each run's executor (a Dask local cluster by default).
    progress
        Told a line as each step ends.
    """
    tell = progress or (lambda _line: None)
    runs: list[tuple[int, NationalResult]] = []
    tasks_per_s = 0.0
    for count in workers:
        with (
            tempfile.TemporaryDirectory(prefix="bsb-scale-") as tmp,
            executor_factory(count) as executor,
        ):
            result = run_national(
                scenario,
                Path(tmp) / "national",
                executor=executor,
                max_piece_points=max_piece_points,
                time_limit_s=time_limit_s,
            )
            if count == max(workers):
                tasks_per_s = measure_tasks_per_s(executor, overhead_tasks)
        runs.append((count, result))
        tell(
            f"{count} worker(s): {result.seconds:.1f} s, {len(result.outcomes)} pieces, "
            f"{len(result.failures)} failures"
        )
    reference = runs[0][1]
    by_id = {p.id: p for p in reference.pieces}
    pieces = tuple(
        PieceRow(
            piece=o.piece,
            points=len(by_id[o.piece].points),
            families=by_id[o.piece].families,
            seconds=o.seconds,
            peak_rss_mb=o.peak_rss_mb,
            status=o.status,
        )
        for o in sorted(reference.outcomes, key=lambda o: -o.seconds)
    )
    piece_s = [p.seconds for p in pieces]
    warehouse_s = list(reference.warehouse_seconds)
    fixed_s = reference.assignment_s
    rows = tuple(
        RunRow(
            workers=count,
            wall_s=result.seconds,
            predicted_s=predict_wall_s(
                piece_s, warehouse_s, count, tasks_per_s=tasks_per_s, fixed_s=fixed_s
            ),
            pieces=len(result.outcomes),
            failures=len(result.failures),
        )
        for count, result in runs
    )
    projections = tuple(
        (
            count,
            predict_wall_s(piece_s, warehouse_s, count, tasks_per_s=tasks_per_s, fixed_s=fixed_s),
        )
        for count in PROJECTED_WORKERS
    )
    factor = NATIONAL_WAREHOUSES / max(1, len(reference.warehouse_seconds))
    national = tuple(
        (
            count,
            predict_wall_s(
                national_tasks(piece_s, len(warehouse_s), NATIONAL_WAREHOUSES),
                national_tasks(warehouse_s, len(warehouse_s), NATIONAL_WAREHOUSES),
                count,
                tasks_per_s=tasks_per_s,
                fixed_s=fixed_s * factor,
            ),
        )
        for count in PROJECTED_WORKERS
    )
    quality = None
    if quality_points > 0:
        quality = split_quality(
            quality_points,
            max_piece_points=max_piece_points,
            time_limit_s=quality_time_limit_s,
            seed=seed,
            solution_limit=scenario.solver.solution_limit,
        )
        tell(f"quality: split costs {quality.cost:+.2%} distance")
    return ScaleResult(
        scenario=scenario.name,
        points=len(scenario.drop_points),
        warehouses=len(scenario.warehouses),
        assignment_s=reference.assignment_s,
        pieces=pieces,
        warehouse_s=tuple(warehouse_s),
        runs=rows,
        tasks_per_s=tasks_per_s,
        projections=projections,
        quality=quality,
        national=national,
    )


def split_quality(
    points: int,
    *,
    max_piece_points: int,
    time_limit_s: float,
    seed: int,
    solution_limit: int | None = None,
) -> Quality:
    """Plan one large warehouse in sectors and whole, at equal CPU time; compare distance.

    The sample (:func:`geodata.sample.make_sample`, one warehouse) is cut as a national run
    cuts it; each sector piece searches ``time_limit_s``, and the whole warehouse (its tranche
    pieces when the tranches' windows are disjoint, as in the run) shares the same total.
    """
    from geodata.sample import make_sample

    sample = make_sample(n_drop_points=points, n_warehouses=1, seed=seed)
    sample = replace(sample, solver=replace(sample.solver, solution_limit=solution_limit))
    shares = [_WholeShare(p.id, sample.warehouses[0].id, p.kpm) for p in sample.drop_points]
    split = make_pieces(sample, shares, max_piece_points=max_piece_points)
    whole = make_pieces(sample, shares, max_piece_points=len(sample.drop_points) + 1)
    cpu_s = time_limit_s * len(split)
    distance_split, unassigned_split = _plan_pieces(sample, split, time_limit_s)
    distance_whole, unassigned_whole = _plan_pieces(sample, whole, cpu_s / len(whole))
    return Quality(
        points=points,
        pieces_split=len(split),
        pieces_whole=len(whole),
        cpu_s=cpu_s,
        distance_split_km=distance_split,
        distance_whole_km=distance_whole,
        unassigned_split_kg=unassigned_split,
        unassigned_whole_kg=unassigned_whole,
    )


@dataclass(frozen=True, slots=True)
class _WholeShare:
    drop_point: str
    warehouse: str
    families: int


def _plan_pieces(
    scenario: Scenario, pieces: Sequence[Piece], time_limit_s: float
) -> tuple[float, float]:
    plans = [
        plan_scenario(
            piece_scenario(scenario, piece, time_limit_s=time_limit_s),
            options=PlannerOptions(workers=1),
        )
        for piece in pieces
    ]
    merged = merge_plans(warehouse_scenario(scenario, pieces), plans)
    return float(merged.kpis.distance_km), float(merged.kpis.kg_unassigned)


def section(result: ScaleResult, *, command: str, time_limit_s: float | None) -> str:
    """Return the RESULTS.md section of a run."""
    seconds = [p.seconds for p in result.pieces]
    peak = max((p.peak_rss_mb for p in result.pieces), default=0.0)
    notes = [
        f"scenario: {result.scenario}, {result.points:,} drop points, "
        f"{result.warehouses:,} warehouses, {len(result.pieces)} pieces",
        "piece time limit: "
        + (
            "default (scenario limit x share, 10 s at least)"
            if time_limit_s is None
            else f"{time_limit_s:g} s"
        ),
        f"assignment (min-cost flow): {result.assignment_s:.1f} s",
        f"piece seconds: median {statistics.median(seconds) if seconds else 0:.1f}, "
        f"max {max(seconds, default=0):.1f}, sum {sum(seconds):.1f}; warehouse folders: "
        f"sum {sum(result.warehouse_s):.1f} s over {len(result.warehouse_s)}",
        f"peak memory of a worker: {peak:,.0f} MB",
        f"scheduler overhead: {result.tasks_per_s:,.0f} trivial tasks per second",
        "prediction = assignment + longest-first list schedule of the 1-worker piece and "
        "warehouse times + tasks / (tasks per second)",
        f"national projection: the measured tasks replicated to {NATIONAL_WAREHOUSES} "
        "warehouses (warehouses of the same size), assignment time scaled alike",
    ]
    lines = [
        "| workers | measured wall s | predicted s | pieces | failures | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    base = result.runs[0].wall_s if result.runs else 0.0
    for run in result.runs:
        lines.append(
            f"| {run.workers} | {run.wall_s:.1f} | {run.predicted_s:.1f} | {run.pieces} | "
            f"{run.failures} | {base / run.wall_s if run.wall_s else 0:.2f} |"
        )
    for count, seconds_s in result.projections:
        lines.append(f"| {count} (projected) | | {seconds_s:.1f} | | | |")
    for count, seconds_s in result.national:
        lines.append(
            f"| {count} (projected, national: {NATIONAL_WAREHOUSES} warehouses) | | "
            f"{seconds_s:.1f} ({seconds_s / 60:.1f} min) | | | |"
        )
    lines += [
        "",
        "| piece (longest 15) | points | families | seconds | peak RSS MB | status |",
        "|---|---|---|---|---|---|",
    ]
    for piece in result.pieces[:15]:
        lines.append(
            f"| {piece.piece} | {piece.points} | {piece.families:,} | {piece.seconds:.1f} | "
            f"{piece.peak_rss_mb:,.0f} | {piece.status} |"
        )
    if result.quality is not None:
        q = result.quality
        lines += [
            "",
            "| split vs whole | points | pieces split / whole | CPU s each | distance split km "
            "| distance whole km | extra distance | unassigned kg split / whole |",
            "|---|---|---|---|---|---|---|---|",
            f"| one warehouse | {q.points} | {q.pieces_split} / {q.pieces_whole} | "
            f"{q.cpu_s:.0f} | {q.distance_split_km:,.1f} | {q.distance_whole_km:,.1f} | "
            f"**{q.cost:+.2%}** | {q.unassigned_split_kg:,.0f} / {q.unassigned_whole_kg:,.0f} |",
        ]
    return results_section("National scale (bsb bench scale)", command, notes, "\n".join(lines))
