"""Run tasks on a Dask cluster, behind the :class:`~optimizer.executors.Executor` protocol.

A national plan's pieces (:mod:`documents.national`) go to a Dask ``distributed`` cluster, an
existing engine that already knows how to spread tasks over machines, notice a lost worker and
run its tasks again. :class:`DaskExecutor` connects to a running scheduler
(``tcp://host:8786``, or ``DASK_SCHEDULER_ADDRESS``), or starts a ``LocalCluster`` of worker
processes on this machine when none is given.

* Workers should be processes with **one thread each**: OR-Tools holds the GIL, so a second
  thread in a worker would only slow the first (``dask worker --nthreads 1``; the local cluster
  is started so).
* :meth:`DaskExecutor.submit` returns a ``concurrent.futures.Future`` fed by the Dask future's
  done callback, so callers wait on it as on a process pool's (results stream back as they
  complete). Tasks are submitted with ``pure=False`` (two pieces with equal arguments are still
  two tasks) and ``retries``: a task that raises is run again; a task whose worker dies is
  rescheduled by the scheduler on another worker.
* Stopping: :meth:`DaskExecutor.wait_any` relays the caller's stop flag to a cluster-wide
  ``distributed.Event``; each task reads it through :func:`optimizer.executors.worker_stop`
  (at most once a second), so running searches stop and return their best solution.

Tasks and their arguments must be importable and picklable on the workers: the workers need
bsb installed (the same version), and files the tasks write must be on a filesystem they share.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from types import TracebackType
from typing import Any, Final, TypeVar

from optimizer.executors import _stop_of_tasks
from optimizer.routing import StopFlag

LOG = logging.getLogger(__name__)

T = TypeVar("T")

SCHEDULER_ENV: Final = "DASK_SCHEDULER_ADDRESS"
"""The environment variable naming the scheduler when no address is given."""
DEFAULT_RETRIES: Final = 2
"""Runs of a task that raised, after the first (a worker lost mid-task is rescheduled apart)."""
STOP_POLL_S: Final = 1.0
"""A task asks the scheduler whether to stop at most this often (the search asks far more)."""


class DaskExecutor:
    """Runs tasks on a Dask cluster: a running scheduler, or a local cluster it starts.

    Use as a context manager: the client connects (or the local cluster starts) on entry; on
    exit the stop event is set, tasks not started are cancelled and the client (and local
    cluster) close.

    Parameters
    ----------
    scheduler
        The scheduler's address (``tcp://host:8786``); ``None`` reads ``DASK_SCHEDULER_ADDRESS``
        and, when that is unset too, starts a ``LocalCluster``.
    workers
        Worker processes of a local cluster (one thread each); the number of cores by default.
        Ignored when connecting to a scheduler.
    stop
        The caller's stop flag; :meth:`wait_any` relays it to the tasks.
    retries
        Runs of a task that raised, after the first.
    """

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        workers: int | None = None,
        stop: StopFlag | None = None,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        self.address = scheduler or os.environ.get(SCHEDULER_ENV) or None
        self._local_workers = max(1, workers or os.cpu_count() or 1)
        self.stop = stop
        self.retries = retries
        self._client: Any = None
        self._cluster: Any = None
        self._event: Any = None
        self._stop_name = f"bsb-stop-{uuid.uuid4().hex}"
        self._pending: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count()

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (inside the ``with`` block)."""
        if self._client is None:
            raise RuntimeError("use DaskExecutor as a context manager")
        return self._client

    @property
    def workers(self) -> int:
        """Tasks that run at once: worker threads on the cluster now (at least 1)."""
        threads: dict[str, int] = self.client.nthreads()
        return max(1, sum(threads.values()))

    def __enter__(self) -> DaskExecutor:
        from distributed import Client, Event, LocalCluster

        if self.address is not None:
            LOG.info("connecting to the Dask scheduler at %s", self.address)
            self._client = Client(self.address)
        else:
            self._cluster = LocalCluster(
                n_workers=self._local_workers,
                threads_per_worker=1,
                processes=True,
                # Any free port: the scheduler serves its HTTP routes even without a
                # dashboard, and 8787 may be taken by another cluster on the machine.
                dashboard_address=":0",
            )
            self._client = Client(self._cluster)
            LOG.info(
                "started a local Dask cluster of %d worker processes at %s",
                self._local_workers,
                self._cluster.scheduler_address,
            )
        self._event = Event(self._stop_name, client=self._client)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is None:
            return
        try:
            self._event.set()
            with self._lock:
                pending = list(self._pending.values())
                self._pending.clear()
            if pending:
                self._client.cancel(pending)
        finally:
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = self._event = None

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Send ``fn(*args)`` to the cluster; return a future set when it completes."""
        future: Future[T] = Future()
        task_id = next(self._ids)
        dask_future = self.client.submit(
            run_task, self._stop_name, fn, *args, retries=self.retries, pure=False
        )
        with self._lock:
            # Dask forgets a task whose future nobody holds: keep it until it is done.
            self._pending[task_id] = dask_future

        def relay(done: Any) -> None:
            with self._lock:
                self._pending.pop(task_id, None)
            _copy_outcome(done, future)

        dask_future.add_done_callback(relay)
        return future

    def wait_any(self, futures: Collection[Future[T]], timeout_s: float) -> set[Future[T]]:
        """Wait up to ``timeout_s`` for one of ``futures``, relaying the caller's stop flag."""
        self._relay_stop()
        done, _ = wait(set(futures), timeout=timeout_s, return_when=FIRST_COMPLETED)
        self._relay_stop()
        return done

    def _relay_stop(self) -> None:
        if self.stop is not None and self.stop.is_set() and self._event is not None:
            self._event.set()


def _copy_outcome(done: Any, future: Future[Any]) -> None:
    """Give a Dask future's outcome to a ``concurrent.futures`` future (in Dask's thread)."""
    try:
        if done.status == "finished":
            future.set_result(done.result())
        elif done.status == "cancelled":
            future.set_exception(CancelledError(f"task {done.key} was cancelled"))
        else:
            error = done.exception()
            future.set_exception(
                error if isinstance(error, BaseException) else RuntimeError(str(error))
            )
    except BaseException as error:
        if not future.done():
            future.set_exception(error)


class _ClusterStop:
    """A task's stop flag: the executor's ``distributed.Event``, read at most once a second."""

    def __init__(self, name: str) -> None:
        from distributed import Event

        self._event = Event(name)
        self._checked = 0.0
        self._set = False

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self._set and now - self._checked >= STOP_POLL_S:
            self._checked = now
            try:
                self._set = bool(self._event.is_set())
            except Exception:
                LOG.debug("could not read the stop event", exc_info=True)
        return self._set


def run_task(stop_name: str, fn: Callable[..., T], /, *args: Any) -> T:
    """Run ``fn(*args)`` on a Dask worker with the executor's stop flag as its worker stop.

    Parameters
    ----------
    stop_name
        Name of the executor's ``distributed.Event``.
    fn, args
        The task.

    Returns
    -------
    T
        What ``fn`` returns.
    """
    with _stop_of_tasks(_ClusterStop(stop_name)):
        return fn(*args)
