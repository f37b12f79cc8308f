"""Routing strategies, selectable by name (``bsb plan --strategy NAME``, ``bsb bench solve``).

- ``<first>-<meta>``: OR-Tools with one of its first-solution heuristics and one of its
  metaheuristics, at OR-Tools' default settings otherwise (as its guide sets it up). ``first`` is
  ``savings``, ``pca`` (path cheapest arc), ``pci`` (parallel cheapest insertion), ``lci`` (local
  cheapest insertion), ``christofides`` or ``automatic``; ``meta`` is ``gls`` (guided local
  search), ``tabu``, ``sa`` (simulated annealing) or ``descent``.
- ``ortools``: the project's best configuration of OR-Tools alone: parallel cheapest insertion,
  then guided local search with tuned penalties and without the operators that serve models
  this project never builds (see ``optimizer.routing._tune``).
- ``pyvrp``: PyVRP's iterated local search, an optional engine (``pip install 'bsb[pyvrp]'``).
- ``portfolio``: one search per core (PyVRP with different seeds when installed, tuned OR-Tools
  otherwise and beside them on three or more cores); the best result wins.
- ``default``: the strategy with the lowest distance on BSB scenarios in
  ``benchmarks/RESULTS.md`` (``pyvrp``), or ``ortools`` when PyVRP is not installed; the README
  gives the numbers.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

# The one table of OR-Tools' heuristics: the name in a strategy (``pci-gls``) -> the name
# OR-Tools gives it. ``optimizer.routing`` turns OR-Tools' names into its enum values.
FIRST_SOLUTIONS = {
    "savings": "savings",
    "pca": "path_cheapest_arc",
    "pci": "parallel_cheapest_insertion",
    "lci": "local_cheapest_insertion",
    "christofides": "christofides",
    "automatic": "automatic",
}
"""First-solution heuristics: short name -> OR-Tools' ``FirstSolutionStrategy`` in lower case."""
METAHEURISTICS = {
    "gls": "GUIDED_LOCAL_SEARCH",
    "tabu": "TABU_SEARCH",
    "sa": "SIMULATED_ANNEALING",
    "descent": "GREEDY_DESCENT",
}
"""Metaheuristics: short name -> OR-Tools' ``LocalSearchMetaheuristic``."""
DEFAULT_STRATEGY = "pyvrp"
FALLBACK_STRATEGY = "ortools"
"""``default`` without PyVRP: the best strategy that needs nothing beyond OR-Tools."""
PYVRP_HINT = "needs PyVRP: pip install 'bsb[pyvrp]'"


@dataclass(frozen=True, slots=True)
class Strategy:
    """A named way to search the routing subproblems.

    Attributes
    ----------
    name
        The name users type.
    engine
        ``ortools``, ``pyvrp`` or ``portfolio``.
    first_solution, metaheuristic
        OR-Tools' first-solution heuristic and metaheuristic (OR-Tools engine only).
    tuned
        Whether OR-Tools runs with the project's tuned local search.
    """

    name: str
    engine: str = "ortools"
    first_solution: str = "parallel_cheapest_insertion"
    metaheuristic: str = "gls"
    tuned: bool = False

    @property
    def multi_core(self) -> bool:
        """Whether one search uses every core (and so must run alone on the machine)."""
        return self.engine == "portfolio"


NAMED = {
    "ortools": Strategy("ortools", "ortools", "parallel_cheapest_insertion", "gls", tuned=True),
    "pyvrp": Strategy("pyvrp", "pyvrp"),
    "portfolio": Strategy("portfolio", "portfolio"),
}


def pyvrp_installed() -> bool:
    """Whether the optional PyVRP engine is installed (without importing it)."""
    return importlib.util.find_spec("pyvrp") is not None


def default_strategy_name() -> str:
    """Name what ``default`` stands for here: :data:`DEFAULT_STRATEGY`, or the fallback."""
    return DEFAULT_STRATEGY if pyvrp_installed() else FALLBACK_STRATEGY


def strategy_names() -> list[str]:
    """Every selectable strategy name: ``default``, the named ones, then the OR-Tools crosses."""
    crosses = [f"{f}-{m}" for f in FIRST_SOLUTIONS for m in METAHEURISTICS]
    return ["default", *NAMED, *crosses]


def get_strategy(name: str) -> Strategy:
    """Resolve a strategy name.

    Parameters
    ----------
    name
        One of :func:`strategy_names`.

    Returns
    -------
    Strategy
        ``default`` resolves to the strategy it stands for, under that strategy's own name.

    Raises
    ------
    ValueError
        If the name is not one of :func:`strategy_names`, or names PyVRP when it is not
        installed.
    """
    resolved = default_strategy_name() if name == "default" else name
    if resolved in NAMED:
        if NAMED[resolved].engine == "pyvrp" and not pyvrp_installed():
            raise ValueError(f"strategy {name!r} {PYVRP_HINT}")
        return NAMED[resolved]
    first, _, meta = resolved.partition("-")
    if first not in FIRST_SOLUTIONS or meta not in METAHEURISTICS:
        raise ValueError(f"unknown strategy {name!r}; choose one of: {', '.join(strategy_names())}")
    return Strategy(resolved, "ortools", FIRST_SOLUTIONS[first], meta)


def check_strategy_name(name: str) -> str:
    """Check a strategy name where it enters bsb (option, scenario file, request).

    The command line's ``--strategy`` type, the scenario reader and the service call this one
    check; the planner then resolves the name with :func:`get_strategy` into the
    :class:`Strategy` the engines read.

    Parameters
    ----------
    name
        A name the user gave.

    Returns
    -------
    str
        ``name`` itself, when :func:`get_strategy` accepts it.

    Raises
    ------
    ValueError
        With the message to show: the name is unknown (the message lists every name), or it
        names PyVRP and PyVRP is not installed.
    """
    get_strategy(name)
    return name
