"""Routing strategies, selectable by name (``bsb plan --strategy NAME``).

A strategy names an OR-Tools first-solution heuristic and a local-search metaheuristic. The
names are ``<first>-<meta>`` with first in ``savings``, ``pca`` (path cheapest arc), ``pci``
(parallel cheapest insertion), ``lci`` (local cheapest insertion), ``christofides``,
``automatic``, and meta in ``gls`` (guided local search), ``tabu``, ``sa`` (simulated
annealing), ``descent``. ``default`` is the strategy that the benchmarks found best on BSB
scenarios (see ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

FIRST_SOLUTIONS = {
    "savings": "savings",
    "pca": "path_cheapest_arc",
    "pci": "parallel_cheapest_insertion",
    "lci": "local_cheapest_insertion",
    "christofides": "christofides",
    "automatic": "automatic",
}
METAHEURISTICS = ("gls", "tabu", "sa", "descent")
DEFAULT_STRATEGY = "savings-gls"


@dataclass(frozen=True, slots=True)
class Strategy:
    """A named way to search the routing parts."""

    name: str
    first_solution: str
    metaheuristic: str


def strategy_names() -> list[str]:
    """Every selectable strategy name, ``default`` first."""
    return ["default"] + [f"{f}-{m}" for f in FIRST_SOLUTIONS for m in METAHEURISTICS]


def get_strategy(name: str) -> Strategy:
    """Resolve a strategy name.

    Raises
    ------
    ValueError
        If the name is not one of :func:`strategy_names`.
    """
    resolved = DEFAULT_STRATEGY if name == "default" else name
    first, _, meta = resolved.partition("-")
    if first not in FIRST_SOLUTIONS or meta not in METAHEURISTICS:
        raise ValueError(f"unknown strategy {name!r}; choose one of: {', '.join(strategy_names())}")
    return Strategy(resolved, FIRST_SOLUTIONS[first], meta)
