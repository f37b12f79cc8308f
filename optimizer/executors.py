"""Where routing searches run: in this process, or in a pool of spawned worker processes.

Both the planner's routing parts and the portfolio's members run as tasks on an
:class:`Executor`: they are submitted, waited for a few at a time, and stopped through a stop
flag. :class:`InProcess` runs each task at once in this process; :class:`SpawnPool` runs them
in spawned processes (a distributed executor can plug in later with the same three calls).

Ctrl-C and stopping: a terminal Ctrl-C reaches every process of the group. Pool workers ignore
it so that only the parent decides; the parent sets the pool's shared stop event (relayed from
its own stop flag each time it waits), and each search polls that event in its solution
callback, keeps its best solution and returns it. A task reads its stop flag with
:func:`worker_stop`, or gets its settings with :func:`worker_search`.

Time: :func:`share_of_time_s` is the one rule for how much search time a task gets.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import signal
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import replace
from types import TracebackType
from typing import Any, Protocol, TypeVar

from optimizer.routing import SearchSettings, StopFlag

LOG = logging.getLogger(__name__)

T = TypeVar("T")

_WORKER_STOP: StopFlag | None = None


class Executor(Protocol):
    """Runs tasks, ``workers`` at a time; a context manager that waits for them on exit."""

    @property
    def workers(self) -> int:
        """How many tasks run at once."""
        ...

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Start ``fn(*args)`` (picklable for a process pool); return its future."""
        ...

    def wait_any(self, futures: Collection[Future[T]], timeout_s: float) -> set[Future[T]]:
        """Wait up to ``timeout_s`` for one of ``futures``; return those done.

        Relays the caller's stop flag to the running tasks while it waits.
        """
        ...

    def __enter__(self) -> Executor: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class InProcess:
    """Runs each task at once, in this process, when it is submitted (one worker).

    No start-up and no pickling; the task sees the caller's stop flag through
    :func:`worker_stop`, as a pool worker sees its shared event.

    Parameters
    ----------
    stop
        The caller's stop flag.
    """

    def __init__(self, stop: StopFlag | None = None) -> None:
        self.stop = stop

    @property
    def workers(self) -> int:
        """One task at a time."""
        return 1

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Run ``fn(*args)`` now; return a finished future (with its result or exception)."""
        future: Future[T] = Future()
        with _stop_of_tasks(self.stop):
            try:
                result = fn(*args)
            except Exception as error:  # the caller reads it from the future, as from a pool
                future.set_exception(error)
            else:
                future.set_result(result)
        return future

    def wait_any(self, futures: Collection[Future[T]], timeout_s: float) -> set[Future[T]]:
        """Return the futures: every one is done already."""
        return {f for f in futures if f.done()}

    def __enter__(self) -> InProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class SpawnPool:
    """Spawned worker processes that ignore Ctrl-C and watch a shared stop event.

    Use as a context manager: the processes start on entry (with ``warm_up`` submitted once
    per worker, so that imports are done while the caller prepares) and, on exit, the shared
    event is set, so running searches return their best solution, and the pool waits for them.

    Parameters
    ----------
    workers
        Processes in the pool.
    stop
        The caller's stop flag (Ctrl-C, a cancelled job); :meth:`wait_any` relays it.
    warm_up
        A picklable function without arguments to run once in each worker on entry.
    log_level
        Progress lines of searches go to stderr at INFO and below; defaults to the level of
        the ``optimizer`` logger.
    """

    def __init__(
        self,
        workers: int,
        stop: StopFlag | None = None,
        *,
        warm_up: Callable[[], None] | None = None,
        log_level: int | None = None,
    ) -> None:
        self._workers = max(1, workers)
        self.stop = stop
        self._warm_up = warm_up
        self._context = multiprocessing.get_context("spawn")
        self._shared_stop = self._context.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._log_level = (
            logging.getLogger("optimizer").getEffectiveLevel() if log_level is None else log_level
        )

    @property
    def workers(self) -> int:
        """Processes in the pool."""
        return self._workers

    def __enter__(self) -> SpawnPool:
        self._pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=self._context,
            initializer=worker_init,
            initargs=(self._shared_stop, self._log_level),
        )
        if self._warm_up is not None:
            for _ in range(self._workers):
                self._pool.submit(self._warm_up)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._shared_stop.set()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    @property
    def is_open(self) -> bool:
        """Whether the pool has been entered and not yet left."""
        return self._pool is not None

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Queue ``fn(*args)`` for a worker; return its future."""
        if self._pool is None:
            raise RuntimeError("use SpawnPool as a context manager")
        return self._pool.submit(fn, *args)

    def wait_any(self, futures: Collection[Future[T]], timeout_s: float) -> set[Future[T]]:
        """Wait up to ``timeout_s`` for one of ``futures``, relaying the caller's stop flag."""
        self._relay_stop()
        done, _ = wait(set(futures), timeout=timeout_s, return_when=FIRST_COMPLETED)
        self._relay_stop()
        return done

    def _relay_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            self._shared_stop.set()


def share_of_time_s(
    left_s: float, size: int, waiting_size: int, workers: int, min_s: float
) -> float:
    """Search seconds for one task: its share, by size, of the time the workers have left.

    Parameters
    ----------
    left_s
        Seconds to the deadline.
    size
        The task's size (routing chunks).
    waiting_size
        Size of every task not yet started, this one included.
    workers
        Tasks that run at once: together they have ``workers x left_s`` seconds.
    min_s
        No task gets less (if the deadline allows: callers cap by the deadline).

    Returns
    -------
    float
        ``max(min_s, left_s x workers x size / waiting_size)``.
    """
    return max(min_s, left_s * workers * size / max(1, waiting_size))


def worker_init(stop: StopFlag, log_level: int) -> None:
    """Initialise a worker process of a :class:`SpawnPool`.

    Parameters
    ----------
    stop
        The shared event that the parent sets on Ctrl-C.
    log_level
        The parent's log level: progress lines of the search go to stderr at INFO and below.
    """
    global _WORKER_STOP
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_STOP = stop
    if log_level <= logging.INFO:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("bsb %(asctime)s %(message)s", "%H:%M:%S"))
        logger = logging.getLogger("optimizer")
        logger.handlers[:] = [handler]
        logger.setLevel(log_level)
        logger.propagate = False


def worker_stop() -> StopFlag | None:
    """Return the stop flag of the running task (``None`` outside an executor's task)."""
    return _WORKER_STOP


def worker_search(
    settings: SearchSettings, budget_s: float = math.inf
) -> tuple[SearchSettings, StopFlag | None]:
    """Return the settings and stop flag of a search that a task starts now.

    Parameters
    ----------
    settings
        The search as the caller queued it.
    budget_s
        Search seconds from now (the clock starts when a worker takes the task, not when it
        was queued), capped by ``settings.deadline``.

    Returns
    -------
    tuple[SearchSettings, StopFlag | None]
        The settings with that deadline, and a solution limit of 1 (a first solution only)
        when the task starts after a stop request; and the task's stop flag.
    """
    stop = worker_stop()
    if stop is not None and stop.is_set():
        settings = replace(settings, solution_limit=1)
    if math.isfinite(budget_s):
        settings = replace(settings, deadline=min(settings.deadline, time.monotonic() + budget_s))
    return settings, stop


@contextmanager
def _stop_of_tasks(stop: StopFlag | None) -> Iterator[None]:
    """Let :func:`worker_stop` return ``stop`` inside the block (tasks run in this process)."""
    global _WORKER_STOP
    saved = _WORKER_STOP
    _WORKER_STOP = stop
    try:
        yield
    finally:
        _WORKER_STOP = saved
