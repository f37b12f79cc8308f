"""The process that runs one planning job: ``python -m cli job-worker ...`` (hidden command).

The server starts one per running job, in its own session (process group), and talks to it
through pipes: the job writes events on stdout (``service.events``: ``Started`` once it can be
cancelled, ``Progress``, then ``Done`` or ``Failed``); its log goes to stderr, which the server
keeps in ``jobs/<id>.log``. It runs the same pipeline as ``bsb plan`` (``documents.pipeline``).
SIGINT stops the search and still writes the best plan found (cancel); SIGTERM kills the job
and every planner process it started. On Linux the kernel sends SIGTERM when the server dies,
and a watchdog thread does the same everywhere else, so no solver outlives its server.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from service.events import Done, Event, Failed, Progress, Started, encode

if TYPE_CHECKING:
    from optimizer.model import Scenario

LOG = logging.getLogger("bsb.worker")
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
PR_SET_PDEATHSIG = 1
PLANNING_SHARE = 0.9
"""Share of the progress bar for planning; writing the plan folder fills the rest (seconds
per hundred drop points, mostly the papers)."""


def _kill_own_group(*_args: object) -> None:
    # The planner's pool processes share this process group: take them all down at once.
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the server died before prctl took effect
        _kill_own_group()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                _kill_own_group()

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


class _Events:
    """JSON-lines channel to the server; a broken pipe means the server is gone."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.last_progress = 0.0
        self.fraction = 0.0
        self.message = "starting"

    def send(self, event: Event) -> None:
        line = encode(event)
        with self.lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (BrokenPipeError, OSError):
                _kill_own_group()

    def progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        self.fraction = max(self.fraction, fraction)
        self.message = message
        # Improvements can come hundreds of times a second; the server needs a few a second.
        if now - self.last_progress < 0.25 and fraction < 1.0:
            return
        self.last_progress = now
        self.send(Progress(progress=round(self.fraction, 4), message=message))

    def planning(self, fraction: float, message: str) -> None:
        """Report planning's progress, on its share of the bar."""
        self.progress(PLANNING_SHARE * fraction, message)

    def writing(self, number: int, total: int, stage: str) -> None:
        """Report that a stage of writing the plan folder starts (a ``WriteProgress``)."""
        done = (number - 1) / total
        self.fraction = max(self.fraction, PLANNING_SHARE + (1.0 - PLANNING_SHARE) * done)
        self.message = f"writing the plan folder {number}/{total}: {stage}"
        LOG.info("%s", self.message)  # the job's log shows how long each stage took
        # Sent at once and marked as a milestone: a stage must not be lost to the throttles.
        self.send(Progress(progress=round(self.fraction, 4), message=self.message, milestone=True))

    def heartbeat(self, time_limit_s: float, stop: threading.Event) -> None:
        """Move the bar with the clock while parts are routed in other processes.

        Parts routed by the planner's pool report only when they end; the search uses its
        whole time limit, so the clock is an honest estimate in between.
        """
        started = time.monotonic()
        while not stop.wait(1.0):
            by_time = min(0.99, (time.monotonic() - started) / max(1e-9, time_limit_s))
            if PLANNING_SHARE * by_time > self.fraction:
                self.planning(by_time, self.message)


@contextlib.contextmanager
def _heartbeat(events: _Events, scenario: Scenario) -> Iterator[None]:
    """Move the progress bar with the clock while the scenario is planned."""
    events.planning(0.0, "planning")
    finished = threading.Event()
    threading.Thread(
        target=events.heartbeat,
        args=(scenario.solver.time_limit_s, finished),
        name="progress-heartbeat",
        daemon=True,
    ).start()
    try:
        yield
    finally:
        finished.set()


def run_job(args: JobArgs, events: _Events, stop: threading.Event) -> int:
    """Run the pipeline on the job's scenario; report on ``events``.

    With ``args.scheduler`` the pipeline runs as a task on that Dask cluster and this process
    relays its events (:mod:`service.dask_jobs`). A what-if job runs in this process
    (:mod:`service.whatif`), scheduler or not.
    """
    if args.whatif is not None:
        from service.whatif import run_whatif_job

        return run_whatif_job(args, events, stop)
    if args.scheduler is not None:
        from service.dask_jobs import run_on_dask

        return run_on_dask(args, events, stop)
    from documents import pipeline
    from documents.pipeline import PlanFailsCheckError, SolverOverrides
    from optimizer.planner import PlannerOptions

    shared: dict[str, Any] = {
        "overrides": SolverOverrides(
            time_limit_s=args.time_limit, seed=args.seed, strategy=args.strategy
        ),
        "options": PlannerOptions(workers=args.workers),
        "language": args.language,
        "stop": stop,
        "planning_context": lambda scenario: _heartbeat(events, scenario),
        "progress": events.planning,
        "write_progress": events.writing,
    }
    try:
        if args.previous_plan is None:
            result = pipeline.run_pipeline(Path(args.scenario), Path(args.out), **shared)
        else:
            result = _run_replan(args, shared)
    except PlanFailsCheckError as failed:
        shown = "; ".join(f"[{v.rule}] {v.message}" for v in failed.violations[:10])
        problem = f"internal error: the plan fails {len(failed.violations)} check(s): {shown}"
        events.send(Failed(error=problem))
        return EXIT_FAILED
    except ValueError as error:  # InputError (the scenario), or an unknown strategy
        events.send(Failed(error=str(error)))
        return EXIT_BAD_INPUT
    plan = result.plan
    # The strategy the planner resolved ("default" names a real one by then).
    events.send(Done(status=plan.status, kpis=plan.kpis.to_dict(), strategy=plan.strategy))
    return EXIT_OK


def _run_replan(args: JobArgs, shared: dict[str, Any]) -> Any:
    """Re-plan the job's previous plan from its progress (``bsb replan``'s pipeline)."""
    if args.previous_plan is None or args.progress is None or args.today is None:
        raise ValueError("a re-plan job needs --previous-plan, --progress and --today")
    from documents.pipeline import run_replan_pipeline

    return run_replan_pipeline(
        Path(args.scenario),
        Path(args.previous_plan),
        Path(args.progress),
        Path(args.out),
        date.fromisoformat(args.today),
        args.freeze_days,
        **shared,
    )


@dataclass(frozen=True, slots=True)
class JobArgs:
    """What the server tells a job process (``bsb job-worker``, a command only it uses)."""

    job: str
    scenario: str
    out: str
    time_limit: float
    strategy: str | None
    seed: int | None
    language: str
    workers: int
    parent_pid: int
    previous_plan: str | None = None
    """A re-plan: the previous plan's folder (with ``progress``, ``today``, ``freeze_days``)."""
    progress: str | None = None
    today: str | None = None
    freeze_days: int | None = None
    scheduler: str | None = None
    """A Dask scheduler's address: the pipeline runs as a task on that cluster."""
    whatif: str | None = None
    """A what-if job: its question's file (``jobs/<id>.whatif.json``, :mod:`service.whatif`);
    ``out`` is then its answer folder."""


def start() -> tuple[_Events, threading.Event]:
    """Take SIGINT as "stop the search", then tell the server so: call this first of all.

    From here SIGINT stops the search and keeps the best plan; before, it would have raised
    KeyboardInterrupt in Python's start-up. The server sends it only after this event.
    """
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    events = _Events(sys.stdout)
    events.send(Started())
    return events, stop


def run(args: JobArgs, events: _Events, stop: threading.Event) -> int:
    """Run one job; the exit code is 0 done, 1 failed, 2 bad input."""
    _die_with_parent(args.parent_pid)
    signal.signal(signal.SIGTERM, _kill_own_group)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"%(asctime)s job {args.job} %(name)s: %(message)s",
        force=True,
    )
    try:
        return run_job(args, events, stop)
    except Exception as error:
        LOG.exception("job failed")
        events.send(Failed(error=f"internal error: {type(error).__name__}: {error}"))
        return EXIT_FAILED
