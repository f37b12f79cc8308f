"""Jobs of the planning service on a Dask cluster (``bsb serve --scheduler ADDR``).

Without a scheduler each job's pipeline runs in the job process the server starts
(:mod:`service.worker`). With one, that job process stays (the server still reads its events,
signals and polices it exactly as before) but only relays: it submits the pipeline as one task
to the Dask cluster (:func:`run_remote_job`) and passes on what the task reports.

* **Events** travel from the task to the job process through a Dask ``Queue`` named after the
  job (progress, then ``done`` or ``failed``: the same JSON lines as :mod:`service.events`);
  the job process writes them on its stdout as if it had planned itself.
* **Cancel**: SIGINT to the job process sets a Dask ``Event``; a thread of the task watches it
  and stops the search, which still writes the best plan found.
* **A lost worker**: the scheduler runs the task again on another worker (Dask's
  ``distributed.scheduler.allowed-failures``, 3 by default); the new attempt plans from the
  start into the same plan folder, which is only renamed into place when complete. Progress
  never moves back on the server: the job process keeps the largest fraction seen.
* **Files**: the task reads the scenario and writes the plan folder itself, at the paths the
  server gives, so the data folder must be on a filesystem every Dask worker mounts at the same
  path, and the workers must run the same bsb (``docs/service.md``).

Dask workers are processes with one thread each (``dask worker --nthreads 1``): OR-Tools holds
the GIL, so a job plans with one process (``workers = 1``) inside its task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from service.events import Event, EventError, Failed, Progress, decode, encode
from service.worker import EXIT_FAILED, JobArgs, _Events, run_job

if TYPE_CHECKING:
    from distributed import Queue

LOG = logging.getLogger("bsb.worker")

CONNECT_TIMEOUT_S: Final = 30.0
"""How long a job process waits for the scheduler before the job fails."""
RELAY_POLL_S: Final = 0.25
"""How often the job process fetches the task's events (the server writes a few a second)."""
STOP_POLL_S: Final = 1.0
"""How often the task looks whether the job was cancelled."""


class SchedulerError(RuntimeError):
    """The Dask scheduler cannot be reached, or Dask is not installed."""


def connect(address: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> Any:
    """Return a ``distributed.Client`` connected to the scheduler at ``address``.

    Parameters
    ----------
    address
        ``tcp://host:8786`` (or any address ``distributed.Client`` takes).
    timeout_s
        Seconds to wait for the scheduler.

    Raises
    ------
    SchedulerError
        If Dask's ``distributed`` is not installed or the scheduler does not answer in time.
    """
    try:
        from distributed import Client
    except ImportError as error:
        raise SchedulerError(
            "jobs on a Dask cluster need Dask's distributed: pip install 'dask[distributed]'"
        ) from error
    try:
        # set_as_default=False: this client must not become the process's global one.
        return Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {error}") from error


def check_scheduler(address: str, *, timeout_s: float = 10.0) -> int:
    """Check that the scheduler answers, before the service takes jobs.

    Parameters
    ----------
    address
        The scheduler's address.
    timeout_s
        Seconds to wait for it.

    Returns
    -------
    int
        The number of workers it has now (0 is allowed: workers may join later).

    Raises
    ------
    SchedulerError
        If it cannot be reached.
    """
    with connect(address, timeout_s=timeout_s) as client:
        return len(client.scheduler_info(n_workers=-1).get("workers", {}))


class _QueueEvents(_Events):
    """The task's end of the event channel: each event is put on the job's Dask queue.

    Unlike the job process's own channel, a failure to send never kills anything: the process
    is a Dask worker that other tasks share.
    """

    def __init__(self, channel: Queue) -> None:
        super().__init__(stream=None)  # type: ignore[arg-type]  # never written: send is ours
        self.channel = channel

    def send(self, event: Event) -> None:
        line = encode(event)
        with self.lock:
            try:
                self.channel.put(line)
            except Exception:  # the scheduler is gone: the job process will see that too
                LOG.warning("could not send an event of the job", exc_info=True)


def run_remote_job(args: JobArgs, channel_name: str, stop_name: str) -> int:
    """Run one job's pipeline inside a Dask task (on a Dask worker).

    Parameters
    ----------
    args
        The job, with absolute paths on the shared data folder.
    channel_name
        The Dask queue the events go to.
    stop_name
        The Dask event that asks the search to stop.

    Returns
    -------
    int
        The job's exit code: 0 done, 1 failed, 2 bad input (the events say more).
    """
    from distributed import Event as DaskEvent
    from distributed import Queue, get_client

    client = get_client()
    events = _QueueEvents(Queue(channel_name, client=client))
    asked = DaskEvent(stop_name, client=client)
    stop = threading.Event()
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            # A scheduler hiccup (or a wait cut short at shut-down): look again.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                if asked.wait(timeout=STOP_POLL_S):
                    stop.set()
                    return

    watcher = threading.Thread(target=watch, name="bsb-job-stop", daemon=True)
    watcher.start()
    try:
        # One planner process: the Dask worker is the process, and it has one thread.
        return run_job(replace(args, scheduler=None, workers=1), events, stop)
    except Exception as error:
        LOG.exception("job %s failed on the Dask cluster", args.job)
        events.send(Failed(error=f"internal error: {type(error).__name__}: {error}"))
        return EXIT_FAILED
    finally:
        finished.set()
        # No wait on the scheduler may outlive the task: the worker's next task reuses it.
        watcher.join(timeout=2 * STOP_POLL_S)


def _absolute(args: JobArgs) -> JobArgs:
    """Return the job with absolute paths: a Dask worker does not share the server's cwd."""

    def absolute(path: str | None) -> str | None:
        return None if path is None else str(Path(path).resolve())

    return replace(
        args,
        scenario=str(Path(args.scenario).resolve()),
        out=str(Path(args.out).resolve()),
        previous_plan=absolute(args.previous_plan),
        progress=absolute(args.progress),
    )


class _Relay:
    """The job process's end: passes the task's events on, progress never moving back."""

    def __init__(self, events: _Events) -> None:
        self.events = events
        self.progress = 0.0
        self.outcome_sent = False

    def pass_on(self, lines: list[str]) -> None:
        for line in lines:
            try:
                event = decode(line)
            except EventError:
                LOG.warning("the task sent a line that is not an event: %r", line[:200])
                continue
            if isinstance(event, Progress):
                # A retried task starts again from 0; the job's bar must not.
                self.progress = max(self.progress, event.progress)
                event = replace(event, progress=self.progress)
            else:
                self.outcome_sent = True
            self.events.send(event)


def run_on_dask(args: JobArgs, events: _Events, stop: threading.Event) -> int:
    """Run one job as a task on the Dask cluster at ``args.scheduler``; relay its events.

    Parameters
    ----------
    args
        The job (``args.scheduler`` set).
    events
        The job process's channel to the server.
    stop
        Set by SIGINT (cancel, or an overrun): passed on to the task.

    Returns
    -------
    int
        The job's exit code: the task's, or 1 when the cluster failed it.
    """
    from distributed import Event as DaskEvent
    from distributed import Queue

    assert args.scheduler is not None
    try:
        client = connect(args.scheduler, timeout_s=CONNECT_TIMEOUT_S)
    except SchedulerError as error:
        events.send(Failed(error=str(error)))
        return EXIT_FAILED
    with client:
        # Unique per attempt of the job: a requeued job must not read an older run's events.
        name = f"bsb-job-{args.job}-{secrets.token_hex(4)}"
        channel = Queue(f"{name}-events", client=client)
        asked = DaskEvent(f"{name}-stop", client=client)
        future = client.submit(
            run_remote_job, _absolute(args), channel.name, asked.name, key=name, pure=False
        )
        LOG.info("job %s runs on the Dask cluster at %s as task %s", args.job, args.scheduler, name)
        relay = _Relay(events)
        # Until a worker takes the task (all may be busy), the job says what it waits for.
        events.send(Progress(progress=0.0, message=f"waiting for a worker of {args.scheduler}"))
        stop_sent = False
        while not future.done():
            if stop.is_set() and not stop_sent:
                LOG.info("asking task %s to stop its search", name)
                asked.set()
                stop_sent = True
            relay.pass_on(channel.get(batch=True))
            time.sleep(RELAY_POLL_S)
        relay.pass_on(channel.get(batch=True))
        try:
            code = int(future.result())
        except Exception as error:  # KilledWorker after too many lost workers, or a crash
            LOG.warning("task %s failed on the cluster: %s", name, error)
            if not relay.outcome_sent:
                events.send(
                    Failed(
                        error=f"the Dask cluster failed the job: {type(error).__name__}: {error}"
                    )
                )
            return EXIT_FAILED
        if not relay.outcome_sent:
            events.send(Failed(error="the job's task ended without saying how"))
            return EXIT_FAILED
        return code
