"""The events a job process sends its server: one JSON object per line on the job's stdout.

The worker (``service.worker``) encodes them with :func:`encode`; the server
(``service.jobs``) reads them back with :func:`decode`. Both sides use the classes below, so
a field added or renamed is one change here, seen by mypy on both sides.

Wire format (kept as it was before the classes: sorted keys, ``event`` naming the kind)::

    {"event": "started"}
    {"event": "progress", "message": "...", "progress": 0.42}            # "milestone": true
    {"event": "done", "kpis": {...}, "status": "complete", "strategy": "pyvrp"}
    {"event": "failed", "error": "..."}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Started:
    """The job can be cancelled from now on (SIGINT stops its search)."""


@dataclass(frozen=True)
class Progress:
    """How far the job is.

    Attributes
    ----------
    progress
        Fraction done, 0 to 1.
    message
        What it is doing.
    milestone
        A stage of writing the plan folder starts: the server records it at once (not
        throttled) and gives the job another grace period to finish.
    """

    progress: float
    message: str
    milestone: bool = False


@dataclass(frozen=True)
class Done:
    """The plan folder is written.

    Attributes
    ----------
    status
        The plan's status (``complete``, ``partial``, ``interrupted``, ...).
    kpis
        The plan's KPIs as ``plan.json`` holds them.
    strategy
        The strategy the planner resolved (``default`` names a real one by then).
    """

    status: str
    kpis: dict[str, Any] = field(default_factory=dict)
    strategy: str = ""


@dataclass(frozen=True)
class Failed:
    """The job ended without a plan.

    Attributes
    ----------
    error
        Why, in a sentence the job's reader can act on.
    """

    error: str


Event = Started | Progress | Done | Failed
"""Any event of a job process."""

_KINDS: dict[str, type[Event]] = {
    "started": Started,
    "progress": Progress,
    "done": Done,
    "failed": Failed,
}
_NAMES = {kind: name for name, kind in _KINDS.items()}


def encode(event: Event) -> str:
    """Return the JSON line (without its newline) that carries ``event``.

    Parameters
    ----------
    event
        The event.

    Returns
    -------
    str
        A JSON object with sorted keys; ``milestone`` appears only when true.
    """
    fields: dict[str, Any] = {"event": _NAMES[type(event)]}
    match event:
        case Progress(progress=progress, message=message, milestone=milestone):
            fields |= {"progress": progress, "message": message}
            if milestone:
                fields["milestone"] = True
        case Done(status=status, kpis=kpis, strategy=strategy):
            fields |= {"status": status, "kpis": kpis, "strategy": strategy}
        case Failed(error=error):
            fields["error"] = error
        case Started():
            pass
    return json.dumps(fields, sort_keys=True)


class EventError(ValueError):
    """A line from a job process that is not an event."""


def decode(line: str) -> Event:
    """Read one event from a line a job process wrote.

    Parameters
    ----------
    line
        One line of the job's stdout, newline stripped.

    Returns
    -------
    Event
        The event.

    Raises
    ------
    EventError
        If the line is not JSON, names no known event, or lacks a field the event needs.
    """
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise EventError(f"not JSON: {error}") from error
    if not isinstance(data, dict):
        raise EventError("not a JSON object")
    kind = _KINDS.get(str(data.get("event")))
    try:
        if kind is Started:
            return Started()
        if kind is Progress:
            return Progress(
                progress=float(data["progress"]),
                message=str(data.get("message", "")),
                milestone=bool(data.get("milestone", False)),
            )
        if kind is Done:
            return Done(
                status=str(data.get("status", "complete")),
                kpis=dict(data.get("kpis") or {}),
                strategy=str(data.get("strategy") or ""),
            )
        if kind is Failed:
            return Failed(error=str(data.get("error") or ""))
    except (KeyError, TypeError, ValueError) as error:
        raise EventError(f"a {data.get('event')} event without a valid field: {error}") from error
    raise EventError(f"unknown event {data.get('event')!r}")
