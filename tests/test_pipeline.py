"""documents.pipeline: read, override, plan, check, write, once for every caller."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

import documents.pipeline
from documents.pipeline import (
    PlanFailsCheckError,
    SolverOverrides,
    run_pipeline,
    with_overrides,
)
from geodata.sample import write_sample
from optimizer.checker import Violation
from optimizer.model import Scenario
from optimizer.planner import PlannerOptions
from optimizer.solution import plan_to_dict

FAST = SolverOverrides(time_limit_s=5, seed=3, solution_limit=10)


def test_with_overrides_replaces_only_what_is_given(tiny_scenario: Scenario) -> None:
    changed = with_overrides(tiny_scenario, seed=9)
    assert changed.solver == replace(tiny_scenario.solver, seed=9)


def test_no_overrides_keep_the_scenario(tiny_scenario: Scenario) -> None:
    assert SolverOverrides().apply(tiny_scenario) == tiny_scenario


def test_a_built_scenario_is_planned_checked_and_written(
    tiny_scenario: Scenario, tmp_path: Path
) -> None:
    stages: list[str] = []
    result = run_pipeline(
        tiny_scenario,
        tmp_path / "plan",
        overrides=FAST,
        options=PlannerOptions(workers=1),
        write_progress=lambda number, total, stage: stages.append(stage),
    )
    assert result.scenario.solver.seed == 3 and result.scenario.solver.solution_limit == 10
    assert result.violations == ()
    assert result.plan_dict == plan_to_dict(result.plan)
    written = json.loads((tmp_path / "plan" / "plan.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(result.plan_dict))
    assert (tmp_path / "plan" / "map.html").exists()
    assert stages and stages[0] == "maps"
    times = result.times
    assert times.read_s is None  # nothing was read
    assert times.plan_s > 0 and times.check_s >= 0 and times.write_s is not None
    assert result.out_dir == tmp_path / "plan"


def test_a_folder_is_read_and_nothing_written_without_an_output(tmp_path: Path) -> None:
    scenario_dir = tmp_path / "scenario"
    write_sample(scenario_dir, n_drop_points=12, seed=2)
    result = run_pipeline(scenario_dir, overrides=FAST, options=PlannerOptions(workers=1))
    assert result.times.read_s is not None and result.times.write_s is None
    assert result.out_dir is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario"]


def test_the_planning_context_wraps_planning_with_the_overrides_applied(
    tiny_scenario: Scenario,
) -> None:
    seen: list[float] = []
    stop = threading.Event()

    @contextmanager
    def around(scenario: Scenario) -> Iterator[None]:
        seen.append(scenario.solver.time_limit_s)
        stop.set()  # as a first Ctrl-C would: the search stops and keeps its best plan
        yield

    result = run_pipeline(
        tiny_scenario,
        overrides=FAST,
        options=PlannerOptions(workers=1),
        stop=stop,
        planning_context=around,
    )
    assert seen == [5]
    assert result.plan.status == "interrupted"
    assert result.violations == ()


def test_a_plan_the_checker_rejects_is_never_written(
    tiny_scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = Violation("load", "truck T1 carries too much")
    monkeypatch.setattr(
        documents.pipeline, "check_plan", lambda scenario, plan, legs=None: [broken]
    )
    with pytest.raises(PlanFailsCheckError) as raised:
        run_pipeline(
            tiny_scenario, tmp_path / "plan", overrides=FAST, options=PlannerOptions(workers=1)
        )
    assert raised.value.violations == (broken,)
    assert not (tmp_path / "plan").exists()
    # The benchmarks count violations instead: the folder is written and they are returned.
    result = run_pipeline(
        tiny_scenario,
        tmp_path / "counted",
        overrides=FAST,
        options=PlannerOptions(workers=1),
        require_valid=False,
        maps_and_trip_sheets=False,
    )
    assert result.violations == (broken,)
    assert (tmp_path / "counted" / "plan.json").exists()
    assert not (tmp_path / "counted" / "map.html").exists()
