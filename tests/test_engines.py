"""Engines: strategy names, the common cost scale, dispatch, the portfolio and planning with it."""

from __future__ import annotations

import importlib.util
import itertools
import threading
import time
from dataclasses import replace
from typing import cast

import pytest

import optimizer.pyvrp_engine
from documents.pipeline import with_overrides
from optimizer import engines, strategies
from optimizer.engines import Member, Portfolio, default_members, result_cost, solve
from optimizer.model import Scenario
from optimizer.planner import PlannerOptions
from optimizer.routing import (
    DROP_PENALTY,
    ImprovementCallback,
    RoutingProblem,
    RoutingResult,
    SearchSettings,
    StopFlag,
    VehicleGroup,
    solve_routing,
)
from optimizer.strategies import (
    DEFAULT_STRATEGY,
    FALLBACK_STRATEGY,
    FIRST_SOLUTIONS,
    METAHEURISTICS,
    NAMED,
    Strategy,
    get_strategy,
    strategy_names,
)
from tests.conftest import make_problem, make_tiny_scenario, planned_feasible_and_conserved

HOUR_S = 3600
HAS_PYVRP = importlib.util.find_spec("pyvrp") is not None
needs_pyvrp = pytest.mark.skipif(not HAS_PYVRP, reason="PyVRP (extra 'pyvrp') is not installed")

# --- strategies -------------------------------------------------------------------------------


def test_default_resolves_to_the_default_strategy_under_its_own_name() -> None:
    resolved = get_strategy("default")
    assert resolved == NAMED[DEFAULT_STRATEGY]
    assert resolved.name == DEFAULT_STRATEGY


def test_default_falls_back_to_ortools_without_pyvrp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(strategies, "pyvrp_installed", lambda: False)
    assert get_strategy("default") is NAMED[FALLBACK_STRATEGY]
    assert FALLBACK_STRATEGY == "ortools"
    with pytest.raises(ValueError, match="bsb\\[pyvrp\\]"):
        get_strategy("pyvrp")
    # The portfolio still works: tuned OR-Tools members.
    assert get_strategy("portfolio").engine == "portfolio"


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_strategies_resolve_to_themselves(name: str) -> None:
    assert get_strategy(name) is NAMED[name]
    assert get_strategy(name).name == name


def test_ortools_is_tuned_and_only_portfolio_is_multi_core() -> None:
    assert get_strategy("ortools").tuned
    assert get_strategy("ortools").engine == "ortools"
    assert get_strategy("pyvrp").engine == "pyvrp"
    assert [n for n in strategy_names() if get_strategy(n).multi_core] == ["portfolio"]


@pytest.mark.parametrize(
    ("name", "first", "meta"),
    [
        ("pci-gls", "parallel_cheapest_insertion", "gls"),
        ("pca-gls", "path_cheapest_arc", "gls"),
        ("savings-tabu", "savings", "tabu"),
        ("christofides-descent", "christofides", "descent"),
        ("lci-sa", "local_cheapest_insertion", "sa"),
    ],
)
def test_crosses_are_untuned_or_tools(name: str, first: str, meta: str) -> None:
    assert get_strategy(name) == Strategy(name, "ortools", first, meta, tuned=False)


@pytest.mark.parametrize(
    "name", ["nonsense", "", "PCI-GLS", "pci", "pci-", "-gls", "pci-gls-x", "vroom", "pci_gls"]
)
def test_unknown_strategy_names_raise_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        get_strategy(name)


def test_strategy_names_are_unique_and_each_resolves() -> None:
    names = strategy_names()
    assert len(names) == len(set(names))
    assert names[0] == "default"
    assert set(NAMED) <= set(names)
    assert len(names) == 1 + len(NAMED) + len(FIRST_SOLUTIONS) * len(METAHEURISTICS)
    for name in names:
        resolved = get_strategy(name)
        assert resolved.name == (DEFAULT_STRATEGY if name == "default" else name)


# --- result_cost ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_result_cost_equals_the_or_tools_objective(seed: int) -> None:
    problem = make_problem(seed, 20)
    result = solve_routing(problem, SearchSettings(solution_limit=60, seed=seed))
    assert result.dropped == ()
    # Both groups must be used, or the 1.35 weight would go untested.
    assert {group for group, _ in result.trips} == {0, 1}
    assert result_cost(problem, result) == result.objective


def test_result_cost_counts_the_drop_penalty() -> None:
    # One small truck for 20 nodes: most of them are dropped.
    problem = make_problem(4, 20, (VehicleGroup(60, 7 * HOUR_S, 17 * HOUR_S, 1.35, 1),))
    result = solve_routing(problem, SearchSettings(solution_limit=60))
    assert result.dropped
    assert result_cost(problem, result) == result.objective
    assert result_cost(problem, result) > DROP_PENALTY * len(result.dropped)


def test_result_cost_of_nothing_routed_is_all_penalties() -> None:
    problem = make_problem(5, 3)
    empty = RoutingResult((), (1, 2, 3), 0, False, 0)
    assert result_cost(problem, empty) == 3 * DROP_PENALTY


# --- solve() dispatch -------------------------------------------------------------------------


class _Captured:
    """Stands in for an engine: records its arguments and returns a fixed result."""

    def __init__(self) -> None:
        self.settings: list[SearchSettings] = []
        self.result = RoutingResult(((0, (1, 2, 3)),), (), 1, False, 0)

    def __call__(
        self,
        problem: RoutingProblem,
        settings: SearchSettings,
        stop: StopFlag | None = None,
        label: str = "",
        on_improvement: ImprovementCallback | None = None,
    ) -> RoutingResult:
        self.settings.append(settings)
        return self.result


@pytest.mark.parametrize(
    ("name", "first", "meta", "tuned"),
    [
        ("ortools", "parallel_cheapest_insertion", "gls", True),
        ("pca-tabu", "path_cheapest_arc", "tabu", False),
    ],
)
def test_solve_passes_the_strategy_heuristics_to_or_tools(
    monkeypatch: pytest.MonkeyPatch, name: str, first: str, meta: str, tuned: bool
) -> None:
    captured = _Captured()
    monkeypatch.setattr(engines, "solve_routing", captured)
    settings = SearchSettings("savings", "descent", deadline=123.0, solution_limit=7, seed=9)
    result = solve(make_problem(1, 3), get_strategy(name), settings)
    assert result is captured.result
    assert captured.settings == [
        SearchSettings(first, meta, deadline=123.0, solution_limit=7, seed=9, tuned=tuned)
    ]


def test_solve_sends_pyvrp_to_solve_pyvrp(monkeypatch: pytest.MonkeyPatch) -> None:
    captured = _Captured()
    or_tools = _Captured()
    monkeypatch.setattr(optimizer.pyvrp_engine, "solve_pyvrp", captured)
    monkeypatch.setattr(engines, "solve_routing", or_tools)
    settings = SearchSettings(solution_limit=7, seed=9)
    result = solve(make_problem(1, 3), get_strategy("pyvrp"), settings)
    assert result is captured.result
    assert captured.settings == [settings]
    assert or_tools.settings == []


def test_solve_with_an_open_portfolio_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakePortfolio:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def solve(
            self,
            problem: RoutingProblem,
            settings: SearchSettings,
            label: str = "",
            on_improvement: ImprovementCallback | None = None,
        ) -> RoutingResult:
            self.calls.append(label)
            return RoutingResult((), (1, 2, 3), 0, False, 0)

    or_tools = _Captured()
    monkeypatch.setattr(engines, "solve_routing", or_tools)
    fake = FakePortfolio()
    solve(
        make_problem(1, 3),
        get_strategy("portfolio"),
        SearchSettings(),
        label="part A",
        portfolio=cast(Portfolio, fake),
    )
    assert fake.calls == ["part A"]
    assert or_tools.settings == []


# --- default_members --------------------------------------------------------------------------


@pytest.mark.parametrize("cores", [1, 2, 3, 4])
def test_default_members_with_pyvrp(cores: int) -> None:
    members = default_members(cores, with_pyvrp=True)
    assert len(members) == cores
    pyvrp = [m for m in members if m.strategy.engine == "pyvrp"]
    ortools = [m for m in members if m.strategy.engine == "ortools"]
    assert len(pyvrp) + len(ortools) == cores
    assert len({m.seed_offset for m in pyvrp}) == len(pyvrp)
    assert all(m.strategy == NAMED["pyvrp"] for m in pyvrp)
    # From three cores on exactly one core runs tuned OR-Tools.
    assert ortools == ([Member(NAMED["ortools"], 0)] if cores >= 3 else [])
    assert pyvrp, "PyVRP makes up the portfolio"


@pytest.mark.parametrize("cores", [1, 2, 3, 4])
def test_default_members_without_pyvrp_vary_the_first_solution(cores: int) -> None:
    members = default_members(cores, with_pyvrp=False)
    assert len(members) == cores
    assert all(m.strategy.engine == "ortools" and m.strategy.tuned for m in members)
    assert all(m.strategy.metaheuristic == "gls" for m in members)
    assert len({m.strategy.first_solution for m in members}) == cores


def test_default_members_without_pyvrp_never_repeat_a_search_on_many_cores() -> None:
    members = default_members(9, with_pyvrp=False)
    searches = {(m.strategy.first_solution, m.seed_offset) for m in members}
    assert len(searches) == 9


def test_default_members_have_at_least_one_member() -> None:
    assert len(default_members(0, with_pyvrp=True)) == 1
    assert len(default_members(0, with_pyvrp=False)) == 1
    assert len(default_members()) >= 1


# --- Portfolio --------------------------------------------------------------------------------

TWO_OR_TOOLS = (
    Member(replace(NAMED["ortools"], first_solution="savings"), 0),
    Member(NAMED["ortools"], 1),
)


def test_portfolio_solve_outside_with_raises() -> None:
    portfolio = Portfolio(TWO_OR_TOOLS)
    with pytest.raises(RuntimeError, match="context manager"):
        portfolio.solve(make_problem(1, 3), SearchSettings(solution_limit=5))


def test_portfolio_needs_a_member() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        Portfolio([])


def test_portfolio_keeps_the_best_member_and_merges_a_falling_trace() -> None:
    problem = make_problem(21, 25)
    settings = SearchSettings(solution_limit=40, seed=3)
    alone = [
        solve(problem, m.strategy, replace(settings, seed=settings.seed + m.seed_offset))
        for m in TWO_OR_TOOLS
    ]
    alone_costs = [result_cost(problem, r) for r in alone]
    # The later member wins here: a portfolio that always kept the first result would fail.
    assert alone_costs[1] < alone_costs[0]
    trace: list[tuple[float, int]] = []
    started = time.monotonic()
    with Portfolio(TWO_OR_TOOLS) as portfolio:
        result = portfolio.solve(problem, settings, "race", lambda at, c: trace.append((at, c)))
    assert result.dropped == ()
    assert result_cost(problem, result) == min(alone_costs)
    assert result.solutions == sum(r.solutions for r in alone)
    assert not result.interrupted
    assert trace
    times = [at for at, _ in trace]
    costs = [c for _, c in trace]
    assert times == sorted(times)
    assert started <= times[0] <= times[-1] <= time.monotonic()
    assert all(later < earlier for earlier, later in itertools.pairwise(costs))
    assert costs[-1] == min(alone_costs)


def test_portfolio_returns_quickly_with_a_valid_result_when_stopped() -> None:
    problem = make_problem(22, 60)
    stop = threading.Event()
    stop.set()
    with Portfolio(TWO_OR_TOOLS, stop) as portfolio:
        started = time.monotonic()
        result = portfolio.solve(problem, SearchSettings(deadline=started + 30))
        elapsed_s = time.monotonic() - started
    assert elapsed_s < 3.0
    assert result.interrupted
    served = sorted(node for _, nodes in result.trips for node in nodes)
    assert sorted(served + list(result.dropped)) == list(range(1, 61))
    assert result_cost(problem, result) == result.objective


# --- planner with the other engines -----------------------------------------------------------


def assert_engine_plan_feasible_and_conserved(scenario: Scenario, options: PlannerOptions) -> None:
    plan, _ = planned_feasible_and_conserved(scenario, options)
    assert plan.routes
    assert plan.strategy == scenario.solver.strategy


@needs_pyvrp
def test_plan_with_pyvrp_passes_the_checker_and_conserves_every_kg() -> None:
    scenario = with_overrides(make_tiny_scenario(), strategy="pyvrp")
    assert_engine_plan_feasible_and_conserved(scenario, PlannerOptions())


def test_plan_with_portfolio_passes_the_checker_and_conserves_every_kg() -> None:
    scenario = with_overrides(make_tiny_scenario(), strategy="portfolio", solution_limit=30)
    assert_engine_plan_feasible_and_conserved(scenario, PlannerOptions(workers=2))
