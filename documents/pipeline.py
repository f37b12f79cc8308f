"""The one planning pipeline: read, override, plan, check, write.

``bsb plan``, ``bsb demo``, the service's job process and the benchmarks all run a scenario
through :func:`run_pipeline`, so what the benchmarks measure and what the service does is
what ``bsb plan`` does. Each caller keeps only what is its own: the CLI prints and maps
Ctrl-C to the stop flag, the job process reports events to its server, a benchmark measures.

Steps, in order, each timed in :class:`StepTimes`:

1. **read** the scenario folder (``geodata.scenario_io.read_scenario``: every input problem at
   once, as one ``InputError``); skipped when the caller passes a ``Scenario`` it built;
2. apply the **overrides** of the solver settings (command-line options, a job's settings);
3. **plan** (``optimizer.planner.plan_scenario``), with the caller's stop flag and progress;
4. **check** the plan with the independent checker; a plan that fails raises
   :class:`PlanFailsCheckError` (the caller may ask for the violations instead);
5. **write** the plan folder atomically, when an output folder is given.

The module prints nothing and never exits; it logs each step's time at INFO.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.checker import Violation, check_plan
from optimizer.errors import BsbError
from optimizer.model import Scenario
from optimizer.planner import PlannerOptions, ProgressCallback, plan_scenario
from optimizer.solution import Plan, plan_to_dict

if TYPE_CHECKING:
    from documents.plan_files import WriteProgress

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
    """

    read_s: float | None
    plan_s: float
    check_s: float
    write_s: float | None


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
    """

    scenario: Scenario
    plan: Plan
    violations: tuple[Violation, ...]
    times: StepTimes
    out_dir: Path | None

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
    if isinstance(source, Scenario):
        scenario = source
    else:
        from geodata.scenario_io import read_scenario

        started = time.monotonic()
        scenario = read_scenario(source, config=config)
        read_s = time.monotonic() - started
    if overrides is not None:
        scenario = overrides.apply(scenario)

    started = time.monotonic()
    around = planning_context(scenario) if planning_context is not None else nullcontext()
    with around:
        plan = plan_scenario(scenario, stop=stop, options=options, progress=progress)
    plan_s = time.monotonic() - started
    LOG.info("planning took %.1f s", plan_s)

    started = time.monotonic()
    violations = tuple(check_plan(scenario, plan_to_dict(plan)))
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
        )
        write_s = time.monotonic() - started
        LOG.info("writing the plan folder took %.1f s", write_s)
    return PipelineResult(
        scenario=scenario,
        plan=plan,
        violations=violations,
        times=StepTimes(read_s=read_s, plan_s=plan_s, check_s=check_s, write_s=write_s),
        out_dir=out_dir,
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
) -> None:
    from documents.plan_files import write_complete_plan, write_plan_folder
    from geodata.scenario_writer import write_scenario

    if maps_and_trip_sheets:
        write_complete_plan(
            scenario,
            plan,
            out_dir,
            language=language,
            force=force,
            protected=protected,
            progress=progress,
        )
    else:
        write_plan_folder(
            scenario,
            plan,
            out_dir,
            language=language,
            write_scenario_copy=write_scenario,
            force=force,
            protected=protected,
            progress=progress,
        )
