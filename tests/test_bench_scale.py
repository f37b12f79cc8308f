"""``bsb bench scale``: the list-scheduling projection, and a tiny run in process."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from benchmarks.scale import (
    lpt_makespan_s,
    national_tasks,
    predict_wall_s,
    run_scale,
    section,
)
from optimizer.executors import InProcess
from tests.test_national_run import national_scenario

seconds_lists = st.lists(st.floats(min_value=0.0, max_value=1000.0), max_size=40)


@given(tasks=seconds_lists, workers=st.integers(min_value=1, max_value=300))
@example(tasks=[3.0, 3.0, 2.0, 2.0, 2.0], workers=2)
def test_list_schedule_lies_between_the_classic_bounds(tasks: list[float], workers: int) -> None:
    makespan = lpt_makespan_s(tasks, workers)
    longest = max(tasks, default=0.0)
    assert makespan >= longest - 1e-9
    assert makespan >= sum(tasks) / workers - 1e-6
    assert makespan <= sum(tasks) / workers + longest + 1e-6
    if workers == 1:
        assert makespan == pytest.approx(sum(tasks))
    if workers >= len(tasks):
        assert makespan == pytest.approx(longest)


def test_list_schedule_takes_tasks_in_the_order_given() -> None:
    # Longest first packs 2,1,1 on two workers into 2; shortest first leaves the 2 for last.
    assert lpt_makespan_s([2.0, 1.0, 1.0], 2) == 2.0
    assert lpt_makespan_s([1.0, 1.0, 2.0], 2) == 3.0
    with pytest.raises(ValueError):
        lpt_makespan_s([1.0], 0)


def test_prediction_adds_the_fixed_part_and_the_schedulers_overhead() -> None:
    predicted = predict_wall_s([2.0, 4.0], [1.0], 2, tasks_per_s=10.0, fixed_s=5.0)
    # Pieces longest first (4 | 2), then the warehouse task on the worker free first (2+1).
    assert predicted == pytest.approx(5.0 + 4.0 + 3 / 10.0)


def test_national_tasks_replicate_the_measured_ones() -> None:
    assert national_tasks([1.0, 3.0, 2.0], 2, 4) == [3.0, 3.0, 2.0, 2.0, 1.0, 1.0]
    assert national_tasks([1.0, 3.0, 2.0], 2, 5) == [3.0, 3.0, 3.0, 2.0, 2.0, 2.0, 1.0, 1.0]
    assert national_tasks([], 2, 5) == []


def test_a_tiny_scale_run_measures_every_piece() -> None:
    lines: list[str] = []
    result = run_scale(
        national_scenario(),
        workers=(1,),
        time_limit_s=1.0,
        max_piece_points=25,
        overhead_tasks=20,
        quality_points=40,
        quality_time_limit_s=1.0,
        executor_factory=lambda _count: InProcess(),
        progress=lines.append,
    )
    assert len(result.pieces) == result.runs[0].pieces > 1
    assert result.runs[0].failures == 0
    assert all(p.status == "complete" and p.seconds > 0 for p in result.pieces)
    assert [count for count, _ in result.projections] == [16, 64, 256]
    assert result.tasks_per_s > 0
    assert result.quality is not None and result.quality.pieces_split > 1
    assert result.quality.distance_whole_km > 0
    body = section(result, command="bsb bench scale", time_limit_s=1.0)
    assert "| 64 (projected) |" in body and "split vs whole" in body
    assert [count for count, _ in result.national] == [16, 64, 256]
    assert result.national[0][1] >= result.national[1][1] >= result.national[2][1] > 0
    assert any("1 worker(s)" in line for line in lines)
