"""Golden plans: plan.json under a seed and a solution limit stays byte-identical.

Refactors must not change what the planner decides. Each case is a scenario, a strategy, a seed
and a solution limit (a deterministic budget, with a time limit far from being reached); its
``plan.json`` text is pinned in ``tests/data/golden``. A deliberate change of plans regenerates
them with ``BSB_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_plans.py`` and says why in
its commit.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from documents.pipeline import with_overrides
from geodata.sample import write_sample
from geodata.scenario_io import read_scenario
from optimizer.model import Scenario, Truck
from optimizer.planner import PlannerOptions, plan_scenario
from optimizer.solution import plan_to_dict
from tests.conftest import make_tiny_scenario

GOLDEN = Path(__file__).parent / "data" / "golden"
HAS_PYVRP = importlib.util.find_spec("pyvrp") is not None


def _sample(
    folder: Path, n_points: int, seed: int, stock_share: float = 1.0, one_truck: bool = False
) -> Scenario:
    write_sample(folder, n_drop_points=n_points, seed=seed)
    scenario = read_scenario(folder)
    if one_truck:
        # Short of fleet: trips without a truck give their stock back (stock rounds).
        first: dict[str, Truck] = {}
        for truck in scenario.trucks:
            first.setdefault(truck.warehouse_id, truck)
        scenario = replace(scenario, trucks=tuple(first.values()))
    if stock_share < 1.0:
        # Short of stock: exercises stock rounds, whole rations and stock reasons.
        scenario = replace(
            scenario,
            warehouses=tuple(
                replace(w, stock_kg=round(w.stock_kg * stock_share)) for w in scenario.warehouses
            ),
        )
    return scenario


CASES = {
    "tiny-ortools": lambda tmp: make_tiny_scenario(),
    "sample60-ortools": lambda tmp: _sample(tmp / "s", 60, 3),
    "sample150-short-ortools": lambda tmp: _sample(tmp / "s", 150, 5, stock_share=0.45),
    "sample150-pyvrp": lambda tmp: _sample(tmp / "s", 150, 7),
    "sample400-fleet-short-ortools": lambda tmp: _sample(
        tmp / "s", 400, 9, stock_share=0.9, one_truck=True
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_json_is_byte_identical_to_its_golden_copy(name: str, tmp_path: Path) -> None:
    strategy = name.rsplit("-", 1)[1]
    if strategy == "pyvrp" and not HAS_PYVRP:
        pytest.skip("PyVRP (extra 'pyvrp') is not installed")
    scenario = with_overrides(
        CASES[name](tmp_path), strategy=strategy, seed=3, solution_limit=30, time_limit_s=900.0
    )
    plan = plan_scenario(scenario, options=PlannerOptions(workers=2))
    text = json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n"
    golden = GOLDEN / f"{name}.plan.json"
    if os.environ.get("BSB_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden copy; make it with BSB_UPDATE_GOLDEN=1 ({golden})"
    assert text == golden.read_text(encoding="utf-8"), f"{name}: plan.json changed"
