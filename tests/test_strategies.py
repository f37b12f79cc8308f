"""Strategies: one table of OR-Tools' heuristics, and one check of a name where it enters bsb."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from optimizer import routing, strategies
from optimizer.strategies import (
    FIRST_SOLUTIONS,
    METAHEURISTICS,
    check_strategy_name,
    get_strategy,
    strategy_names,
)


def test_routing_knows_exactly_the_heuristics_of_the_name_table() -> None:
    assert set(routing.FIRST_SOLUTION) == set(FIRST_SOLUTIONS.values())
    assert set(routing.METAHEURISTIC) == set(METAHEURISTICS)
    # Distinct names reach distinct OR-Tools heuristics.
    assert len(set(routing.FIRST_SOLUTION.values())) == len(FIRST_SOLUTIONS)
    assert len(set(routing.METAHEURISTIC.values())) == len(METAHEURISTICS)


def test_every_cross_reaches_or_tools_with_its_own_heuristics() -> None:
    for name in strategy_names():
        strategy = get_strategy(name)
        if strategy.engine == "ortools":
            assert strategy.first_solution in routing.FIRST_SOLUTION
            assert strategy.metaheuristic in routing.METAHEURISTIC


def test_the_check_returns_every_listed_name_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(strategies, "pyvrp_installed", lambda: True)
    assert [check_strategy_name(name) for name in strategy_names()] == strategy_names()


def test_the_check_refuses_unknown_names_and_pyvrp_when_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="unknown strategy 'pci-fast'; choose one of: default"):
        check_strategy_name("pci-fast")
    monkeypatch.setattr(strategies, "pyvrp_installed", lambda: False)
    with pytest.raises(ValueError, match="needs PyVRP"):
        check_strategy_name("pyvrp")


def test_the_command_line_checks_the_name_before_reading_anything(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["plan", str(tmp_path / "nowhere"), "-o", str(tmp_path / "p"), "--strategy", "x"]
    )
    assert result.exit_code == 2
    assert "Invalid value for '--strategy': unknown strategy 'x'" in result.output
    assert "pci-gls" in result.output  # the names to choose from
    assert not (tmp_path / "p").exists()
