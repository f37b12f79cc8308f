"""One entry point for every routing engine, and the portfolio that runs several at once.

:func:`solve` routes one :class:`~optimizer.routing.RoutingProblem` with the engine a
:class:`~optimizer.strategies.Strategy` names. Results of different engines compare by
:func:`result_cost`, computed here from the problem's own matrices, so that the portfolio never
trusts an engine's internal objective.

The portfolio runs one member search per core in spawned worker processes (each a plain
single-core search with its own seed) and keeps the best result. Its processes live as long
as the :class:`Portfolio` context, so a plan with many routing parts pays their start-up once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from types import TracebackType

from optimizer.executors import SpawnPool, worker_search
from optimizer.routing import (
    ImprovementCallback,
    RoutingProblem,
    RoutingResult,
    SearchSettings,
    StopFlag,
    solve_routing,
    trips_cost,
)
from optimizer.strategies import NAMED, Strategy, pyvrp_installed

LOG = logging.getLogger(__name__)


def result_cost(problem: RoutingProblem, result: RoutingResult) -> int:
    """Weighted distance of a result plus the drop penalty, as OR-Tools' objective counts it.

    Parameters
    ----------
    problem
        The routed problem.
    result
        A result of any engine for it.

    Returns
    -------
    int
        Sum over trips of ``rint(distance * cost_weight)`` per arc, plus
        :data:`~optimizer.routing.DROP_PENALTY` per dropped node.
    """
    return trips_cost(problem, result.trips, len(result.dropped))


def solve(
    problem: RoutingProblem,
    strategy: Strategy,
    settings: SearchSettings,
    stop: StopFlag | None = None,
    label: str = "",
    on_improvement: ImprovementCallback | None = None,
    portfolio: Portfolio | None = None,
) -> RoutingResult:
    """Route one subproblem with the engine the strategy names.

    Parameters
    ----------
    problem
        The routing subproblem.
    strategy
        Engine and, for OR-Tools, its heuristics.
    settings
        Deadline, solution limit and seed (the heuristics in it are overridden by the strategy).
    stop
        Set on Ctrl-C: the search stops and returns its best solution.
    label
        Names the subproblem in progress lines.
    on_improvement
        Called with ``(time.monotonic(), cost)`` for improving solutions.
    portfolio
        An open :class:`Portfolio` to reuse (portfolio strategy only); one is opened for this
        call otherwise.

    Returns
    -------
    RoutingResult
        The best solution found.

    Raises
    ------
    optimizer.pyvrp_engine.EngineUnavailable
        If the strategy needs PyVRP and it is not installed.
    """
    if strategy.engine == "portfolio":
        if portfolio is not None:
            return portfolio.solve(problem, settings, label, on_improvement)
        with Portfolio(default_members(), stop) as own:
            return own.solve(problem, settings, label, on_improvement)
    if strategy.engine == "pyvrp":
        from optimizer.pyvrp_engine import solve_pyvrp

        return solve_pyvrp(problem, settings, stop, label, on_improvement)
    tuned = replace(
        settings,
        first_solution=strategy.first_solution,
        metaheuristic=strategy.metaheuristic,
        tuned=strategy.tuned,
    )
    return solve_routing(problem, tuned, stop, label, on_improvement)


@dataclass(frozen=True, slots=True)
class Member:
    """One search of a portfolio: a single-core strategy and the offset added to the seed."""

    strategy: Strategy
    seed_offset: int


def default_members(cores: int | None = None, *, with_pyvrp: bool | None = None) -> list[Member]:
    """Choose the portfolio for this machine: one member per core.

    PyVRP (different seeds) makes up the portfolio when it is installed, because it is the
    stronger engine on every benchmark family measured (``benchmarks/RESULTS.md``); from three
    cores on, one core runs tuned OR-Tools, whose different neighbourhoods sometimes win.
    Without PyVRP every core runs tuned OR-Tools from a different first solution.

    Parameters
    ----------
    cores
        Number of members; defaults to the usable CPU count.
    with_pyvrp
        Force PyVRP in or out; defaults to whether it is installed.

    Returns
    -------
    list[Member]
        At least one member.
    """
    n = max(1, cores if cores is not None else len(os.sched_getaffinity(0)))
    use_pyvrp = pyvrp_installed() if with_pyvrp is None else with_pyvrp
    ortools = NAMED["ortools"]
    if use_pyvrp:
        members = [Member(NAMED["pyvrp"], i) for i in range(n)]
        if n >= 3:
            members[-1] = Member(ortools, 0)
        return members
    firsts = ("parallel_cheapest_insertion", "savings", "local_cheapest_insertion", "automatic")
    return [
        Member(replace(ortools, first_solution=firsts[i % len(firsts)]), i // len(firsts))
        for i in range(n)
    ]


_Outcome = tuple[RoutingResult, list[tuple[float, int]]]


class Portfolio:
    """Worker processes that race several searches on each problem and keep the best.

    Use as a context manager; :meth:`solve` may be called many times inside it.

    Parameters
    ----------
    members
        The searches to run, one process each.
    stop
        The caller's stop flag (Ctrl-C); it is relayed to the workers.
    """

    def __init__(self, members: Sequence[Member], stop: StopFlag | None = None) -> None:
        if not members:
            raise ValueError("a portfolio needs at least one member")
        self.members = list(members)
        self.stop = stop
        # Every worker starts on entry (imports take a second or two) while the caller prepares.
        self._pool = SpawnPool(
            len(self.members), stop, warm_up=_warm_up, log_level=LOG.getEffectiveLevel()
        )

    def __enter__(self) -> Portfolio:
        self._pool.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pool.__exit__(exc_type, exc, tb)

    def solve(
        self,
        problem: RoutingProblem,
        settings: SearchSettings,
        label: str = "",
        on_improvement: ImprovementCallback | None = None,
    ) -> RoutingResult:
        """Run every member on the problem until the deadline and return the best result.

        Parameters
        ----------
        problem
            The routing subproblem.
        settings
            Deadline (``time.monotonic()`` seconds, shared by all processes on Linux), solution
            limit and base seed.
        label
            Names the subproblem in progress lines.
        on_improvement
            Receives the portfolio's improving costs over time, merged from all members, once
            the members have finished.

        Returns
        -------
        RoutingResult
            The member result with the fewest dropped nodes, then the lowest
            :func:`result_cost`; ties go to the earlier member, so the choice is deterministic.
        """
        if not self._pool.is_open:
            raise RuntimeError("use Portfolio as a context manager")
        futures: list[Future[_Outcome]] = [
            self._pool.submit(
                _run_member,
                problem,
                member.strategy,
                replace(settings, seed=settings.seed + member.seed_offset),
                f"{label} [{member.strategy.name} #{index}]",
            )
            for index, member in enumerate(self.members)
        ]
        pending: set[Future[_Outcome]] = set(futures)
        while pending:
            pending -= self._pool.wait_any(pending, timeout_s=0.2)
        outcomes = [f.result() for f in futures]
        costs = [result_cost(problem, result) for result, _ in outcomes]
        best = min(range(len(outcomes)), key=lambda i: (len(outcomes[i][0].dropped), costs[i]))
        LOG.info(
            "%s: portfolio costs %s, best member %d (%s)",
            label,
            costs,
            best,
            self.members[best].strategy.name,
        )
        if on_improvement is not None:
            events = sorted(event for _, trace in outcomes for event in trace)
            running = None
            for at, cost in events:
                if running is None or cost < running:
                    running = cost
                    on_improvement(at, cost)
        result = outcomes[best][0]
        return replace(
            result,
            solutions=sum(r.solutions for r, _ in outcomes),
            interrupted=any(r.interrupted for r, _ in outcomes),
        )


def _warm_up() -> None:
    """Import the engines in a fresh worker so that the first real search starts at once."""
    import optimizer.pyvrp_engine  # noqa: F401

    if pyvrp_installed():
        import pyvrp  # noqa: F401


def _run_member(
    problem: RoutingProblem, strategy: Strategy, settings: SearchSettings, label: str
) -> _Outcome:
    trace: list[tuple[float, int]] = []
    settings, stop = worker_search(settings)
    started = time.monotonic()
    result = solve(problem, strategy, settings, stop, label, lambda t, c: trace.append((t, c)))
    LOG.debug("%s: done in %.1f s", label, time.monotonic() - started)
    return result, trace
