"""Executors: tasks in this process or in spawned workers, the stop relay and the time share."""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import Future

import pytest
from hypothesis import given
from hypothesis import strategies as st

from documents.pipeline import with_overrides
from optimizer.executors import (
    Executor,
    InProcess,
    SpawnPool,
    share_of_time_s,
    worker_search,
    worker_stop,
)
from optimizer.model import DropPoint
from optimizer.planner import PlannerOptions, plan_scenario
from optimizer.routing import SearchSettings
from optimizer.solution import plan_to_dict
from tests.conftest import make_tiny_scenario


def _square(x: int) -> int:
    return x * x


def _fail(message: str) -> int:
    raise ValueError(message)


def _stop_seen_within(seconds: float) -> bool:
    """Wait for the task's stop flag; return whether it was set in time."""
    stop = worker_stop()
    give_up = time.monotonic() + seconds
    while stop is None or not stop.is_set():
        if time.monotonic() >= give_up:
            return False
        time.sleep(0.02)
    return True


def _search_of_a_task(budget_s: float) -> tuple[float, int | None]:
    settings, _ = worker_search(SearchSettings(deadline=math.inf, solution_limit=50), budget_s)
    return settings.deadline - time.monotonic(), settings.solution_limit


def _run_all(executor: Executor, values: list[int]) -> list[int]:
    """Any executor: submit a few at a time, collect in order."""
    results: dict[int, int] = {}
    futures: dict[Future[int], int] = {}
    queue = list(enumerate(values))
    while queue or futures:
        while queue and len(futures) < executor.workers:
            index, value = queue.pop(0)
            futures[executor.submit(_square, value)] = index
        for future in executor.wait_any(futures, timeout_s=0.5):
            results[futures.pop(future)] = future.result()
    return [results[i] for i in range(len(values))]


# --- the time share -----------------------------------------------------------------------------


def test_one_worker_shares_the_time_left_by_size() -> None:
    assert share_of_time_s(100.0, 30, 120, 1, 0.5) == pytest.approx(25.0)


def test_workers_multiply_the_share_and_the_minimum_holds() -> None:
    assert share_of_time_s(100.0, 30, 120, 2, 0.5) == pytest.approx(50.0)
    assert share_of_time_s(1.0, 1, 1000, 2, 0.5) == 0.5
    assert share_of_time_s(10.0, 5, 0, 1, 0.5) == pytest.approx(50.0)  # nothing waiting: no /0


@given(
    st.floats(0.0, 1e5),
    st.integers(1, 500),
    st.integers(0, 5000),
    st.integers(1, 64),
    st.floats(0.0, 5.0),
)
def test_the_last_task_alone_gets_all_the_time_of_its_workers(
    left_s: float, size: int, more: int, workers: int, min_s: float
) -> None:
    whole = share_of_time_s(left_s, size, size, workers, min_s)
    assert whole == pytest.approx(max(min_s, left_s * workers))
    assert share_of_time_s(left_s, size, size + more, workers, min_s) <= whole + 1e-9


# --- in process ---------------------------------------------------------------------------------


def test_in_process_runs_at_submit_and_keeps_errors_in_the_future() -> None:
    with InProcess() as executor:
        done = executor.submit(_square, 7)
        failed = executor.submit(_fail, "no")
        assert done.done() and done.result() == 49
        with pytest.raises(ValueError, match="no"):
            failed.result()
        assert executor.wait_any([done, failed], timeout_s=0.0) == {done, failed}


def test_in_process_tasks_see_the_callers_stop_flag_and_only_they() -> None:
    stop = threading.Event()
    stop.set()
    executor = InProcess(stop)
    assert executor.submit(_stop_seen_within, 0.0).result()
    assert executor.submit(worker_stop).result() is stop
    assert worker_stop() is None


def test_a_task_starting_after_a_stop_gets_a_first_solution_only() -> None:
    stop = threading.Event()
    left_s, limit = InProcess(stop).submit(_search_of_a_task, 30.0).result()
    assert 29.0 < left_s <= 30.0
    assert limit == 50
    stop.set()
    assert InProcess(stop).submit(_search_of_a_task, 30.0).result()[1] == 1


# --- spawned workers ----------------------------------------------------------------------------


def test_spawn_pool_needs_its_context() -> None:
    with pytest.raises(RuntimeError, match="context manager"):
        SpawnPool(1).submit(_square, 2)


def test_both_executors_give_the_same_results_and_the_pool_relays_a_stop() -> None:
    values = [3, 1, 4, 1, 5, 9, 2, 6]
    expected = [v * v for v in values]
    assert _run_all(InProcess(), values) == expected
    stop = threading.Event()
    with SpawnPool(2, stop) as pool:
        assert pool.workers == 2
        assert _run_all(pool, values) == expected
        # A worker ignores Ctrl-C; it sees the caller's stop through the shared event, which
        # the pool sets while the caller waits.
        waiting = pool.submit(_stop_seen_within, 60.0)
        started = time.monotonic()
        stop.set()
        while not pool.wait_any([waiting], timeout_s=0.2):
            pass
        assert waiting.result()
        assert time.monotonic() - started < 30.0


# --- the planner on either ----------------------------------------------------------------------


def test_a_plan_does_not_depend_on_where_its_parts_are_routed() -> None:
    points = tuple(
        DropPoint(f"S{i:03d}", f"RW {i}", 106.60 + 0.02 * (i % 10), -6.45 - 0.02 * (i // 10), 40)
        for i in range(60)
    )
    scenario = with_overrides(
        make_tiny_scenario(drop_points=points),
        strategy="ortools",
        seed=2,
        solution_limit=20,
        time_limit_s=600.0,
    )
    plans = [
        plan_to_dict(
            plan_scenario(scenario, options=PlannerOptions(max_chunks_per_part=15, workers=workers))
        )
        for workers in (1, 2)
    ]
    assert plans[0]["solver"]["routing_parts"] >= 4
    assert plans[0] == plans[1]
