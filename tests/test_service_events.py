"""service.events: what a job process tells its server, one JSON line per event."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.events import Done, Event, EventError, Failed, Progress, Started, decode, encode


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (Started(), '{"event": "started"}'),
        (
            Progress(progress=0.5, message="routing part 2/4"),
            '{"event": "progress", "message": "routing part 2/4", "progress": 0.5}',
        ),
        (
            Progress(progress=0.95, message="writing", milestone=True),
            '{"event": "progress", "message": "writing", "milestone": true, "progress": 0.95}',
        ),
        (
            Done(status="complete", kpis={"trips": 3}, strategy="ortools"),
            '{"event": "done", "kpis": {"trips": 3}, "status": "complete", "strategy": "ortools"}',
        ),
        (Failed(error="bad input"), '{"error": "bad input", "event": "failed"}'),
    ],
)
def test_the_wire_format_is_the_one_the_worker_always_wrote(event: Event, line: str) -> None:
    assert encode(event) == line
    assert decode(line) == event


@given(
    progress=st.floats(min_value=0, max_value=1),
    message=st.text(),
    milestone=st.booleans(),
)
def test_progress_round_trips(progress: float, message: str, milestone: bool) -> None:
    event = Progress(progress=progress, message=message, milestone=milestone)
    assert decode(encode(event)) == event


@pytest.mark.parametrize(
    "line",
    [
        "not json",
        "[1, 2]",
        '{"event": "finished"}',
        '{"message": "no kind"}',
        '{"event": "progress", "message": "no fraction"}',
        '{"event": "progress", "progress": "half"}',
    ],
)
def test_a_line_that_is_not_an_event_is_refused(line: str) -> None:
    with pytest.raises(EventError):
        decode(line)


def test_an_event_from_an_older_worker_gets_the_defaults() -> None:
    assert decode('{"event": "done"}') == Done(status="complete", kpis={}, strategy="")
    assert decode(json.dumps({"event": "failed"})) == Failed(error="")
