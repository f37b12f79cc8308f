"""The one planning pipeline: read, override, plan, check, write.

``bsb plan``, ``bsb demo``, the service's job process and the benchmarks all run a scenario
through :func:`run_pipeline`, so what the benchmarks measure and what the service does is
what ``bsb plan`` does. Each caller keeps only what is its own: the CLI prints and maps
Ctrl-C to the stop flag, the job process reports events to its server, a benchmark measures.

Steps, in order, each timed in :class:`StepTimes`:

1. **read** the scenario folder and its roster (``geodata.scenario_io.validate_scenario``:
   every input problem at once, as one ``InputError``); skipped when the caller passes a
   ``Scenario`` it built;
2. apply the **overrides** of the solver settings (command-line options, a job's settings);
3. build the **travel** ``[travel]`` asks for (``geodata.travel_matrix.build_travel``): the road
   matrices of an OpenStreetMap extract (cached on disk) or a matrix file; nothing for the
   straight line. The scenario's ``[files] boundaries`` are read here too, so that a bad file
   stops the run before minutes of planning;
4. **plan** (``optimizer.planner.plan_scenario``), with the caller's stop flag and progress,
   on the travel built;
5. **check** the plan with the independent checker (on roads: against the legs the plan
   folder keeps); a plan that fails raises :class:`PlanFailsCheckError` (the caller may ask
   for the violations instead);
6. **write** the plan folder atomically, when an output folder is given, with ``travel/``
   (``legs.csv``, ``provenance.json``) for a plan on roads.

:func:`run_replan_pipeline` is the same for ``bsb replan`` and the service's re-plan jobs:
read the scenario, the previous plan folder (only read) and the progress folder, re-plan
(``optimizer.replan.replan``), check against the previous plan, write a new plan folder with
``progress/``, ``changes.csv`` and ``changes.md``.

The module prints nothing and never exits; it logs each step's time at INFO.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.checker import Legs, Violation, check_plan
from optimizer.errors import BsbError
from optimizer.model import Scenario
from optimizer.planner import PlannerOptions, ProgressCallback, plan_scenario
from optimizer.solution import Plan, plan_to_dict

if TYPE_CHECKING:
    from documents.plan_files import WriteProgress
    from geodata.travel_matrix import Travel
    from optimizer.replan import Replanned

LOG = logging.getLogger(__name__)

PlanningContext = Callable[[Scenario], AbstractContextManager[object]]
"""Entered around the planning step only, given the scenario with its overrides applied: the
CLI turns Ctrl-C into the stop flag there, the job process moves its progress bar with the
clock. Reading, checking and writing run outside it (a Ctrl-C there aborts)."""


@dataclass(frozen=True)
class SolverOverrides:
    """Solver settings given at the edge (options, a job's settings); ``None`` keeps the file's.

    Attributes
    ----------
    time_limit_s
        Seconds for the whole plan.
    seed
        Random seed of the search.
    strategy
        Routing strategy name (checked by the planner, or earlier by the caller).
    solution_limit
        Deterministic budget: solutions per routing part.
    """

    time_limit_s: float | None = None
    seed: int | None = None
    strategy: str | None = None
    solution_limit: int | None = None

    def apply(self, scenario: Scenario) -> Scenario:
        """Return ``scenario`` with the solver settings replaced where an override is given."""
        solver = scenario.solver
        if self.time_limit_s is not None:
            solver = replace(solver, time_limit_s=self.time_limit_s)
        if self.seed is not None:
            solver = replace(solver, seed=self.seed)
        if self.strategy is not None:
            solver = replace(solver, strategy=self.strategy)
        if self.solution_limit is not None:
            solver = replace(solver, solution_limit=self.solution_limit)
        return replace(scenario, solver=solver)


def with_overrides(
    scenario: Scenario,
    *,
    time_limit_s: float | None = None,
    seed: int | None = None,
    strategy: str | None = None,
    solution_limit: int | None = None,
) -> Scenario:
    """Return ``scenario`` with solver settings replaced where an override is given.

    A shorthand for :meth:`SolverOverrides.apply`.
    """
    overrides = SolverOverrides(
        time_limit_s=time_limit_s, seed=seed, strategy=strategy, solution_limit=solution_limit
    )
    return overrides.apply(scenario)


@dataclass(frozen=True)
class StepTimes:
    """Seconds taken by each step; ``None`` for a step that did not run.

    Attributes
    ----------
    read_s
        Reading and validating the scenario folder (``None`` when given a ``Scenario``).
    plan_s
        Planning (bounded by the time limit).
    check_s
        The independent check.
    write_s
        Writing the plan folder (``None`` when no folder was asked for).
    travel_s
        Building the travel: reading the roads and computing matrices, or reading a matrix
        file (``None`` for the straight line, or travel given by the caller).
    """

    read_s: float | None
    plan_s: float
    check_s: float
    write_s: float | None
    travel_s: float | None = None


@dataclass(frozen=True)
class PipelineResult:
    """What one run of the pipeline produced.

    Attributes
    ----------
    scenario
        The scenario planned, overrides applied.
    plan
        The plan.
    violations
        The checker's findings: empty unless the caller passed ``require_valid=False``.
    times
        Seconds per step.
    out_dir
        The plan folder written, or ``None``.
    travel
        The roads planned on (``None``: the straight line).
    """

    scenario: Scenario
    plan: Plan
    violations: tuple[Violation, ...]
    times: StepTimes
    out_dir: Path | None
    travel: Travel | None = None

    @property
    def plan_dict(self) -> dict[str, Any]:
        """The plan as ``plan.json`` holds it (what the checker read), made on demand.

        Not kept: at 100,000 points it is hundreds of MB that writing does not need.
        """
        return plan_to_dict(self.plan)


class PlanFailsCheckError(BsbError):
    """The planner produced a plan the independent checker rejects: a bug, never bad input.

    Attributes
    ----------
    violations
        Every violation found.
    """

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        super().__init__(f"the plan fails {len(self.violations)} check(s)")


def run_pipeline(
    source: Path | Scenario,
    out_dir: Path | None = None,
    *,
    config: Path | None = None,
    overrides: SolverOverrides | None = None,
    options: PlannerOptions | None = None,
    language: str = "id",
    force: bool = False,
    protected: Sequence[Path] = (),
    stop: threading.Event | None = None,
    planning_context: PlanningContext | None = None,
    progress: ProgressCallback | None = None,
    write_progress: WriteProgress | None = None,
    require_valid: bool = True,
    maps_and_trip_sheets: bool = True,
    travel: Travel | None = None,
    cache_dir: Path | None = None,
) -> PipelineResult:
    """Read a scenario, plan it, check the plan and write the plan folder.

    Parameters
    ----------
    source
        A scenario folder to read, or a ``Scenario`` built in code.
    out_dir
        The plan folder to write atomically, or ``None`` to write nothing.
    config
        TOML file whose sections override ``scenario.toml`` (only when reading a folder).
    overrides
        Solver settings that replace the scenario's.
    options
        Planner options (worker processes, stock rounds); the planner's defaults otherwise.
    language
        ``"id"`` or ``"en"`` for what people read in the plan folder.
    force, protected
        As for ``documents.plan_files.write_plan_folder``: replace a plan folder bsb wrote;
        folders the output must not touch (the scenario).
    stop
        Set it to stop the search and keep the best plan found.
    planning_context
        Entered around the planning step only (see :data:`PlanningContext`).
    progress
        Planning's progress, ``(fraction, message)``.
    write_progress
        Told as each stage of writing the plan folder starts.
    require_valid
        When true (the default), a plan the checker rejects raises and nothing is written;
        when false, the violations are returned and the folder is written anyway (the
        benchmarks count them).
    maps_and_trip_sheets
        Write the offline map and the trip sheets beside the plan files and papers, as
        ``bsb plan`` does; false writes the plan files and papers only.
    travel
        Roads built by the caller (``geodata.travel_matrix.Travel``); required for a
        ``Scenario`` built in code whose travel source is not ``straight``. ``None`` builds
        them from the scenario folder.
    cache_dir
        Cache of road graphs and matrices (``geodata.files.default_cache_dir``
        when ``None``).

    Returns
    -------
    PipelineResult
        The plan, its dictionary, the violations (if allowed), each step's time.

    Raises
    ------
    InputError
        If the scenario has problems, or ``out_dir`` may not be written.
    PlanFailsCheckError
        If ``require_valid`` and the checker rejects the plan.
    ValueError
        If the strategy is unknown or its engine is not installed.
    """
    read_s: float | None = None
    folder: Path | None = None
    if isinstance(source, Scenario):
        scenario = source
    else:
        from geodata.scenario_io import validate_scenario

        started = time.monotonic()
        folder = Path(source)
        scenario = validate_scenario(folder, config=config)
        read_s = time.monotonic() - started
    if overrides is not None:
        scenario = overrides.apply(scenario)

    travel, travel_s, boundaries = _side_inputs(
        scenario, folder, travel, progress, cache_dir, maps_and_trip_sheets
    )

    started = time.monotonic()
    around = planning_context(scenario) if planning_context is not None else nullcontext()
    # Only a plan on roads passes the matrix: the straight line's call stays as it always was.
    on_roads: dict[str, Any] = {} if travel is None else {"travel": travel.matrix}
    with around:
        plan = plan_scenario(scenario, stop=stop, options=options, progress=progress, **on_roads)
    plan_s = time.monotonic() - started
    LOG.info("planning took %.1f s", plan_s)

    started = time.monotonic()
    legs = _plan_legs(scenario, plan, travel)
    violations = tuple(check_plan(scenario, plan_to_dict(plan), legs))
    check_s = time.monotonic() - started
    if violations and require_valid:
        raise PlanFailsCheckError(violations)

    write_s: float | None = None
    if out_dir is not None:
        started = time.monotonic()
        _write(
            scenario,
            plan,
            out_dir,
            language=language,
            force=force,
            protected=protected,
            progress=write_progress,
            maps_and_trip_sheets=maps_and_trip_sheets,
            travel=travel,
            boundaries=boundaries,
            legs=legs,
            folder=folder,
        )
        write_s = time.monotonic() - started
        LOG.info("writing the plan folder took %.1f s", write_s)
    return PipelineResult(
        scenario=scenario,
        plan=plan,
        violations=violations,
        times=StepTimes(
            read_s=read_s, plan_s=plan_s, check_s=check_s, write_s=write_s, travel_s=travel_s
        ),
        out_dir=out_dir,
        travel=travel,
    )


def _build_travel(
    scenario: Scenario,
    folder: Path | None,
    progress: ProgressCallback | None,
    cache_dir: Path | None,
) -> Travel | None:
    from geodata.travel_matrix import build_travel
    from optimizer.errors import InputError, Problem

    if folder is None:
        raise InputError(
            [
                Problem(
                    "scenario",
                    f"[travel] source = {scenario.travel.source!r} reads files of the scenario "
                    "folder; a scenario built in code must come with its travel",
                    field="travel.source",
                )
            ]
        )
    last_logged = [-1.0]

    def told(fraction: float, message: str) -> None:
        # Progress lines while matrices are computed: every tenth, not every chunk.
        if fraction >= last_logged[0] + 0.1 or fraction >= 1.0:
            last_logged[0] = fraction
            LOG.info("travel %3.0f%%: %s", fraction * 100, message)
        if progress is not None:
            progress(fraction, message)

    return build_travel(scenario, folder, progress=told, cache_dir=cache_dir)


def _side_inputs(
    scenario: Scenario,
    folder: Path | None,
    travel: Travel | None,
    progress: ProgressCallback | None,
    cache_dir: Path | None,
    maps_and_trip_sheets: bool,
) -> tuple[Travel | None, float | None, Any]:
    """Return the travel (built unless given; its seconds) and the village boundaries."""
    travel_s: float | None = None
    if travel is None and scenario.travel.source != "straight":
        started = time.monotonic()
        travel = _build_travel(scenario, folder, progress, cache_dir)
        travel_s = time.monotonic() - started
        LOG.info("building the travel (%s) took %.1f s", scenario.travel.source, travel_s)
    boundaries = None
    if folder is not None and scenario.boundaries_file is not None and maps_and_trip_sheets:
        boundaries = _read_boundaries(folder / scenario.boundaries_file)
    return travel, travel_s, boundaries


def _read_boundaries(path: Path) -> Any:
    # geodata.boundaries reads any GIS format geopandas reads, validated.
    from geodata.boundaries import read_boundaries

    return read_boundaries(path)


def _map_roads(scenario: Scenario, plan: Plan, travel: Travel | None, boundaries: Any) -> Any:
    """Prepare the maps' roads (``geodata.maps.map_roads``): legs, main roads, villages.

    ``None`` for a plan on straight lines without boundaries, whose maps stay as they were.
    """
    graph = travel.graph if travel is not None else None
    if graph is None and boundaries is None:
        return None
    from geodata.maps import map_roads
    from geodata.roads import main_roads
    from geodata.travel_matrix import road_leg_paths

    return map_roads(
        scenario,
        plan,
        leg_paths=road_leg_paths(scenario, plan, travel) if travel is not None else None,
        main_roads=None if graph is None else main_roads(graph),
        boundaries=boundaries,
    )


def _by_truck_class(
    scenario: Scenario, legs: Legs | None
) -> dict[tuple[str, str, str], tuple[float, int]] | None:
    """Key the legs by the trucks' own classes (as trip sheets look up), ``all`` spread."""
    if legs is None:
        return None
    from geodata.travel_matrix import ONE_CLASS, fleet_access

    classes = fleet_access(scenario)
    keyed: dict[tuple[str, str, str], tuple[float, int]] = {}
    for (a, b, access), (km, seconds) in legs.items():
        for each in classes if access == ONE_CLASS else (access,):
            keyed[(a, b, each)] = (km, int(seconds))
    return keyed


def _plan_legs(scenario: Scenario, plan: Plan, travel: Travel | None) -> Legs | None:
    if travel is None:
        return None
    from geodata.travel_matrix import legs_mapping, plan_legs

    return legs_mapping(plan_legs(scenario, plan, travel.matrix))


def write_checked_plan(
    scenario: Scenario,
    plan: Plan,
    out_dir: Path,
    *,
    folder: Path | None,
    travel: Travel | None = None,
    language: str = "id",
    force: bool = False,
    protected: Sequence[Path] = (),
    maps_and_trip_sheets: bool = True,
) -> None:
    """Check a plan made elsewhere against ``scenario`` and write it as ``bsb plan`` would.

    For plans not made by :func:`run_pipeline` on this scenario: ``bsb whatif --finish-by``
    plans with deadlines clipped to a date and writes the plan with the original ones.

    Parameters
    ----------
    scenario
        The scenario the plan folder holds a copy of, and is checked against.
    plan
        The plan.
    out_dir
        The plan folder to write atomically.
    folder
        The scenario folder read (its roster and boundaries), or ``None``.
    travel, language, force, protected, maps_and_trip_sheets
        As for :func:`run_pipeline`.

    Raises
    ------
    PlanFailsCheckError
        If the checker rejects the plan; nothing is written.
    InputError
        If ``out_dir`` may not be written.
    """
    legs = _plan_legs(scenario, plan, travel)
    violations = check_plan(scenario, plan_to_dict(plan), legs)
    if violations:
        raise PlanFailsCheckError(violations)
    _, _, boundaries = _side_inputs(scenario, folder, travel, None, None, maps_and_trip_sheets)
    _write(
        scenario,
        plan,
        out_dir,
        language=language,
        force=force,
        protected=protected,
        progress=None,
        maps_and_trip_sheets=maps_and_trip_sheets,
        travel=travel,
        boundaries=boundaries,
        legs=legs,
        folder=folder,
    )


def _write(
    scenario: Scenario,
    plan: Plan,
    out_dir: Path,
    *,
    language: str,
    force: bool,
    protected: Sequence[Path],
    progress: WriteProgress | None,
    maps_and_trip_sheets: bool,
    travel: Travel | None,
    boundaries: Any,
    legs: Legs | None,
    extra: dict[str, bytes] | None = None,
    trip_sheets_from: date | None = None,
    folder: Path | None = None,
) -> None:
    from documents.plan_files import scenario_copy_writer, write_complete_plan, write_plan_folder
    from geodata.roster_io import read_roster, roster_side_files

    # The roster goes with the scenario copy so that its papers can be printed again.
    side_files = roster_side_files(scenario, folder) if folder is not None else {}
    # Names for the facilitators' TTB lists; validated with the scenario before planning.
    roster = None
    if folder is not None and scenario.roster_file is not None:
        roster = read_roster(folder / scenario.roster_file, scenario)

    if maps_and_trip_sheets:
        write_complete_plan(
            scenario,
            plan,
            out_dir,
            language=language,
            force=force,
            protected=protected,
            progress=progress,
            travel=travel,
            roads=_map_roads(scenario, plan, travel, boundaries),
            legs=_by_truck_class(scenario, legs),
            extra_files=extra,
            trip_sheets_from=trip_sheets_from,
            scenario_side_files=side_files,
            roster=roster,
        )
    else:
        from geodata.travel_matrix import travel_files

        files = dict(extra or {})
        if travel is not None:
            files |= travel_files(scenario, plan, travel.matrix)
        write_plan_folder(
            scenario,
            plan,
            out_dir,
            language=language,
            write_scenario_copy=scenario_copy_writer(travel, side_files),
            extra_files=files or None,
            force=force,
            protected=protected,
            progress=progress,
            roster=roster,
        )


# --- re-plans -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplanPipelineResult:
    """What one run of :func:`run_replan_pipeline` produced.

    Attributes
    ----------
    result
        As for :func:`run_pipeline` (scenario, the new plan, violations, times, folder).
    replanned
        The re-plan: its plan, the rows of ``changes.csv`` and ``plan.json``'s ``replan``.
    plan_json
        The new ``plan.json`` as the checker read it.
    """

    result: PipelineResult
    replanned: Replanned
    plan_json: Mapping[str, Any]

    @property
    def plan(self) -> Plan:
        """The new plan (as :attr:`PipelineResult.plan`)."""
        return self.result.plan

    @property
    def scenario(self) -> Scenario:
        """The scenario re-planned, overrides applied."""
        return self.result.scenario

    @property
    def times(self) -> StepTimes:
        """Seconds per step."""
        return self.result.times

    @property
    def out_dir(self) -> Path | None:
        """The plan folder written, or ``None``."""
        return self.result.out_dir


def read_previous_plan(previous_plan_dir: Path) -> tuple[Plan, dict[str, Any], str]:
    """Read a previous plan folder's ``plan.json``: the plan, its dict, the sha256 of its bytes.

    Raises
    ------
    InputError
        If the folder has no readable ``plan.json`` (file and what is wrong).
    """
    from optimizer.errors import InputError, Problem
    from optimizer.solution import plan_from_dict

    path = Path(previous_plan_dir) / "plan.json"
    try:
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
        plan = plan_from_dict(data)
    except OSError as exc:
        raise InputError([Problem(str(path), f"cannot be read: {exc.strerror or exc}")]) from exc
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
        message = f"is not a bsb plan.json ({type(exc).__name__}: {exc})"
        raise InputError([Problem(str(path), message)]) from exc
    return plan, data, hashlib.sha256(raw).hexdigest()


def run_replan_pipeline(
    scenario_dir: Path,
    previous_plan_dir: Path,
    progress_dir: Path,
    out_dir: Path | None,
    today: date,
    freeze_days: int | None = None,
    *,
    config: Path | None = None,
    overrides: SolverOverrides | None = None,
    options: PlannerOptions | None = None,
    language: str = "id",
    force: bool = False,
    stop: threading.Event | None = None,
    planning_context: PlanningContext | None = None,
    progress: ProgressCallback | None = None,
    write_progress: WriteProgress | None = None,
    maps_and_trip_sheets: bool = True,
    travel: Travel | None = None,
    cache_dir: Path | None = None,
) -> ReplanPipelineResult:
    """Re-plan a campaign from a previous plan folder and a progress folder; check; write.

    The previous plan folder is only read: the output may not be it (nor the scenario or
    progress folder), and nothing in it changes. The new folder is a complete plan folder
    plus ``progress/`` (the progress files as read), ``changes.csv`` and ``changes.md``.

    Parameters
    ----------
    scenario_dir
        The scenario folder the previous plan was made for.
    previous_plan_dir
        The previous plan folder (its ``plan.json`` is read and its sha256 recorded).
    progress_dir
        The progress folder (``receipts``, ``unavailable``, ``stock_changes``, ``closed``).
    out_dir
        The new plan folder, or ``None`` to write nothing.
    today
        The first day that is not history.
    freeze_days
        Working days from ``today`` kept as they were; the scenario's ``[replan]
        freeze_days`` when ``None``.
    config, overrides, options, language, force, stop, planning_context, progress,
    write_progress, maps_and_trip_sheets, travel, cache_dir
        As for :func:`run_pipeline`.

    Returns
    -------
    ReplanPipelineResult
        The pipeline's result, the re-plan and its ``plan.json`` dict.

    Raises
    ------
    InputError
        If the scenario, the previous plan or the progress has problems (file, row, field),
        or ``out_dir`` may not be written.
    PlanFailsCheckError
        If the checker rejects the re-plan (a bug).
    """
    from geodata.progress_io import progress_files, read_progress
    from geodata.scenario_io import validate_scenario
    from optimizer.replan import replan

    started = time.monotonic()
    folder = Path(scenario_dir)
    scenario = validate_scenario(folder, config=config)
    if overrides is not None:
        scenario = overrides.apply(scenario)
    previous, previous_data, previous_sha = read_previous_plan(Path(previous_plan_dir))
    field_progress = read_progress(Path(progress_dir), scenario)
    read_s = time.monotonic() - started
    if out_dir is not None:
        from geodata.output_guard import check_output_folder

        # Before minutes of planning: the output must be new or a plan bsb wrote, never the
        # previous plan, the scenario or the progress.
        check_output_folder(
            Path(out_dir),
            kind="plan",
            force=force,
            protected=(folder, Path(previous_plan_dir), Path(progress_dir)),
        )
    freeze = scenario.replan.freeze_days if freeze_days is None else freeze_days

    travel, travel_s, boundaries = _side_inputs(
        scenario, folder, travel, progress, cache_dir, maps_and_trip_sheets
    )

    started = time.monotonic()
    around = planning_context(scenario) if planning_context is not None else nullcontext()
    with around:
        replanned = replan(
            scenario,
            previous,
            field_progress,
            today,
            freeze_days=freeze,
            options=options,
            travel=None if travel is None else travel.matrix,
            stop=stop,
            progress_cb=progress,
            previous_sha256=previous_sha,
            previous_plan_dir=str(previous_plan_dir),
        )
    plan_s = time.monotonic() - started
    LOG.info("re-planning took %.1f s", plan_s)

    started = time.monotonic()
    plan = replanned.plan
    legs = _plan_legs(scenario, plan, travel)
    plan_json = replanned.to_dict()
    violations = tuple(
        check_plan(scenario, plan_json, legs, previous=previous_data, previous_sha256=previous_sha)
    )
    check_s = time.monotonic() - started
    if violations:
        raise PlanFailsCheckError(violations)

    write_s: float | None = None
    if out_dir is not None:
        from documents.changes import changes_csv, changes_md

        started = time.monotonic()
        extra = {
            f"progress/{name}": content for name, content in progress_files(field_progress).items()
        }
        extra["changes.csv"] = changes_csv(replanned.changes)
        extra["changes.md"] = changes_md(
            replanned.changes, replanned.record, language=language
        ).encode("utf-8")
        _write(
            scenario,
            plan,
            Path(out_dir),
            extra=extra,
            trip_sheets_from=today,
            language=language,
            force=force,
            protected=(folder, Path(previous_plan_dir), Path(progress_dir)),
            progress=write_progress,
            maps_and_trip_sheets=maps_and_trip_sheets,
            travel=travel,
            boundaries=boundaries,
            legs=legs,
            folder=folder,
        )
        write_s = time.monotonic() - started
    result = PipelineResult(
        scenario=scenario,
        plan=plan,
        violations=violations,
        times=StepTimes(
            read_s=read_s, plan_s=plan_s, check_s=check_s, write_s=write_s, travel_s=travel_s
        ),
        out_dir=out_dir,
        travel=travel,
    )
    return ReplanPipelineResult(result=result, replanned=replanned, plan_json=plan_json)
