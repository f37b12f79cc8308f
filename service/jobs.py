"""Job scheduling: a queue in the database, one process per running job, restart recovery.

The scheduler thread claims queued jobs oldest first, up to ``max_jobs`` at once, and runs each
in ``python -m cli job-worker`` (service/worker.py), in its own process group. One thread per
running job reads the job's JSON-lines events and writes them to the database; the worker
never touches the database, so a killed worker cannot leave a half-written row. A plan folder
is complete (it is renamed into place) before its row is committed; at start, the service's
own leftovers (recognised by their names, :mod:`service.datafolder`) are removed, and jobs the
last server left ``running`` are requeued (or failed after ``max_attempts``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from optimizer.solution import Kpis, PlanStatus
from service.config import ServiceConfig
from service.datafolder import remove_own_temporary, remove_tree
from service.db import (
    FINISHED_STATUSES,
    JobRow,
    JobStatus,
    PlanRow,
    ScenarioRow,
    new_id,
    utcnow,
)
from service.events import Done, EventError, Failed, Progress, Started, decode

LOG = logging.getLogger("bsb.service")
# Seconds between progress writes per job: the bar moves smoothly without flooding the database.
PROGRESS_WRITE_S = 0.5
# A job still running this long after its time limit (plus writing its files) is stopped.
OVERRUN_GRACE_S = 120.0
# The hidden bsb command a job process runs (cli.py job_worker -> service.worker).
JOB_COMMAND = "job-worker"
# After a stop request, seconds before the job's processes are killed.
STOP_GRACE_S = 60.0


@dataclass(frozen=True, slots=True)
class ReplanRequest:
    """What turns a job into a re-plan: the plan it re-plans and the field's progress.

    ``progress_root`` is a checked progress folder (``tmp/upload-<job id>/...``); queueing
    the job moves it to ``jobs/<job id>.progress/``, where the job process reads it.
    """

    previous_plan_id: str
    today: date
    freeze_days: int | None
    progress_root: Path


class QueueFullError(Exception):
    """Too many jobs are waiting; the caller should retry later (HTTP 429)."""


class NotFoundError(Exception):
    """No such job or scenario."""


class ConflictError(Exception):
    """The job has already finished."""


@dataclass(slots=True)
class _Running:
    job_id: str
    plan_id: str
    process: subprocess.Popen[str]
    started: float
    time_limit_s: float
    thread: threading.Thread | None = None
    interrupt_sent_at: float | None = None
    """When the server asked the job to stop (cancel, or far past its time limit)."""
    ready: bool = False
    """The worker said ``started``: SIGINT now stops its search instead of killing it."""
    interrupt_pending: bool = False
    """A stop was asked before the worker was ready; SIGINT goes when it is."""
    killed: bool = False
    last_milestone_at: float | None = None
    """When the worker last started a stage of writing the plan folder."""
    cancelling: bool = False
    over_memory_mb: int | None = None
    """The memory its processes used when it was killed for passing the cap."""


class JobManager:
    """Owns the queue and the job processes of one server.

    Parameters
    ----------
    config
        The service configuration.
    sessions
        Session factory of the service database.
    """

    def __init__(self, config: ServiceConfig, sessions: sessionmaker[Session]) -> None:
        self.config = config
        self.sessions = sessions
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}
        self._shutdown = threading.Event()
        self._wake = threading.Event()
        self._scheduler: threading.Thread | None = None
        self.memory_cap_mb = config.memory_cap_mb
        """Each job's memory cap, fixed at start (the default reads the machine's memory)."""

    # --- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Recover from the previous run, then start scheduling."""
        self.config.create_folders()
        if self.config.scheduler is not None:
            LOG.info(
                "up to %d job(s) at once, each a task on the Dask cluster at %s",
                self.config.max_jobs,
                self.config.scheduler,
            )
        else:
            LOG.info(
                "up to %d job(s) at once, %d planner process(es) and %d MB each",
                self.config.max_jobs,
                self.config.workers_per_job,
                self.memory_cap_mb,
            )
        self.recover()
        self._scheduler = threading.Thread(target=self._schedule, name="bsb-scheduler")
        self._scheduler.start()

    def stop(self) -> None:
        """Stop scheduling, kill running jobs and put them back in the queue."""
        self._shutdown.set()
        self._wake.set()
        with self._lock:
            running = list(self._running.values())
        for run in running:
            run.killed = True
            _kill_group(run.process)
        for run in running:
            if run.thread is not None:
                run.thread.join(timeout=30)
        if self._scheduler is not None:
            self._scheduler.join(timeout=30)
        with self.sessions.begin() as session:
            for run in running:
                job = session.get(JobRow, run.job_id)
                if job is not None and job.status == JobStatus.RUNNING:
                    _requeue(job, "requeued: the server was stopped while this job ran")
                    # A deliberate stop is not a failed attempt.
                    job.attempts = max(0, job.attempts - 1)
                remove_tree(self.config.plans_dir / run.plan_id)

    def recover(self) -> None:
        """Settle what the previous server left: orphans, running jobs and partial output."""
        with self.sessions.begin() as session:
            for job in session.scalars(select(JobRow).where(JobRow.status == JobStatus.RUNNING)):
                if job.worker_pid is not None:
                    _kill_orphan(job.worker_pid, job.id)
                if job.cancel_requested:
                    job.status = JobStatus.CANCELLED
                    job.error = "the server stopped before the best plan found was saved"
                    job.finished_at = utcnow()
                elif job.attempts >= self.config.max_attempts:
                    job.status = JobStatus.FAILED
                    job.error = (
                        f"the server stopped while this job ran ({job.attempts} times); not retried"
                    )
                    job.finished_at = utcnow()
                else:
                    _requeue(job, "requeued: the server stopped while this job ran")
                LOG.warning("job %s was running when the server stopped: %s", job.id, job.status)
            plan_ids = set(session.scalars(select(PlanRow.id)))
            scenario_ids = set(session.scalars(select(ScenarioRow.id)))
        # Only the service's own leftovers, by their names; the caller holds the folder's lock.
        remove_own_temporary(self.config.data_dir, scenario_ids=scenario_ids, plan_ids=plan_ids)

    # --- requests ----------------------------------------------------------------------------

    def submit(
        self,
        *,
        scenario_id: str,
        time_limit_s: float,
        strategy: str | None,
        seed: int | None,
        language: str,
        created_by: str,
        replan: ReplanRequest | None = None,
        job_id: str | None = None,
    ) -> JobRow:
        """Queue a job; with ``replan``, a re-plan of a previous plan.

        ``job_id`` is the id to give the job (a re-plan's upload is named after it before
        it is queued); a new one by default.

        Raises
        ------
        NotFoundError
            If the scenario, or a re-plan's previous plan, does not exist.
        QueueFullError
            If ``max_queued`` jobs are already waiting.
        """
        # One lock: two requests must not both see the last free place in the queue.
        with self._lock, self.sessions.begin() as session:
            if session.get(ScenarioRow, scenario_id) is None:
                raise NotFoundError(f"no scenario {scenario_id!r}")
            if replan is not None and session.get(PlanRow, replan.previous_plan_id) is None:
                raise NotFoundError(f"no plan {replan.previous_plan_id!r}")
            waiting = session.scalar(
                select(func.count()).select_from(JobRow).where(JobRow.status == JobStatus.QUEUED)
            )
            if (waiting or 0) >= self.config.max_queued:
                raise QueueFullError(
                    f"{waiting} jobs are waiting (the limit is {self.config.max_queued})"
                )
            job = JobRow(
                id=job_id or new_id("j"),
                scenario_id=scenario_id,
                status=JobStatus.QUEUED,
                progress=0.0,
                message="queued",
                time_limit_s=time_limit_s,
                strategy=strategy,
                seed=seed,
                language=language,
                cancel_requested=False,
                attempts=0,
                created_by=created_by,
                created_at=utcnow(),
            )
            if replan is not None:
                job.previous_plan_id = replan.previous_plan_id
                job.today = replan.today
                job.freeze_days = replan.freeze_days
            session.add(job)
            if replan is not None:
                # Moved before the commit: a queued re-plan always has its progress (a failed
                # rename rolls the job back).
                replan.progress_root.rename(self.progress_dir(job.id))
        self._wake.set()
        return job

    def progress_dir(self, job_id: str) -> Path:
        """Return the progress folder a re-plan job reads: ``jobs/<job id>.progress/``."""
        return self.config.jobs_dir / f"{job_id}.progress"

    def cancel(self, job_id: str) -> JobRow:
        """Cancel a job: a queued one at once, a running one keeps the best plan found.

        Raises
        ------
        NotFoundError
            If there is no such job.
        ConflictError
            If the job has already finished.
        """
        with self._lock, self.sessions.begin() as session:
            job = session.get(JobRow, job_id)
            if job is None:
                raise NotFoundError(f"no job {job_id!r}")
            if job.status in FINISHED_STATUSES:
                raise ConflictError(f"job {job_id} has already finished ({job.status})")
            job.cancel_requested = True
            if job.status == JobStatus.QUEUED:
                job.status = JobStatus.CANCELLED
                job.message = "cancelled before it started"
                job.finished_at = utcnow()
            else:
                job.message = "cancelling: stopping the search, keeping the best plan found"
            run = self._running.get(job_id)
            if run is not None:
                run.cancelling = True
        if run is not None:
            self._interrupt(run)
        return job

    def _interrupt(self, run: _Running) -> None:
        """Ask a running job to stop its search and write the best plan found (SIGINT)."""
        with self._lock:
            if run.interrupt_sent_at is not None:
                return
            run.interrupt_sent_at = time.monotonic()
            if not run.ready:
                # Sent now, SIGINT would kill Python while it starts, plan and all.
                run.interrupt_pending = True
                return
        _signal(run.process, signal.SIGINT)

    def _mark_ready(self, run: _Running) -> None:
        with self._lock:
            run.ready = True
            pending, run.interrupt_pending = run.interrupt_pending, False
        if pending:
            _signal(run.process, signal.SIGINT)

    def counts(self) -> dict[str, int]:
        """Return the number of jobs per status."""
        with self.sessions() as session:
            rows = session.execute(select(JobRow.status, func.count()).group_by(JobRow.status))
            return {status: int(count) for status, count in rows}

    # --- scheduling --------------------------------------------------------------------------

    def _schedule(self) -> None:
        while not self._shutdown.is_set():
            try:
                self._police_overruns()
                while not self._shutdown.is_set() and self._free_slots() > 0:
                    if not self._start_next():
                        break
            except Exception:
                # The scheduler must outlive a database hiccup; the next round retries.
                LOG.exception("scheduler round failed")
            self._wake.wait(self.config.poll_s)
            self._wake.clear()

    def _free_slots(self) -> int:
        with self._lock:
            return self.config.max_jobs - len(self._running)

    def _start_next(self) -> bool:
        with self._lock, self.sessions.begin() as session:
            job = session.scalars(
                select(JobRow)
                .where(JobRow.status == JobStatus.QUEUED)
                .order_by(JobRow.created_at, JobRow.id)
                .limit(1)
            ).first()
            if job is None:
                return False
            plan_id = new_id("p")
            log_path = self.config.jobs_dir / f"{job.id}.log"
            command = self.command(job, plan_id)
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    start_new_session=True,
                    env=_worker_env(),
                )
            job.status = JobStatus.RUNNING
            job.attempts += 1
            job.progress = 0.0
            job.message = "starting"
            job.started_at = utcnow()
            job.worker_pid = process.pid
            run = _Running(job.id, plan_id, process, time.monotonic(), job.time_limit_s)
            self._running[job.id] = run
        LOG.info("job %s started (process %d)", job.id, process.pid)
        run.thread = threading.Thread(target=self._follow, args=(run,), name=f"job-{run.job_id}")
        run.thread.start()
        return True

    def command(self, job: JobRow, plan_id: str) -> list[str]:
        """Return the job process's command: a plan, or a re-plan of the job's previous plan."""
        command = [
            sys.executable,
            "-m",
            "cli",
            JOB_COMMAND,
            "--job",
            job.id,
            "--scenario",
            str(self.config.scenarios_dir / job.scenario_id),
            "--out",
            str(self.config.plans_dir / plan_id),
            "--time-limit",
            repr(job.time_limit_s),
            "--language",
            job.language,
            "--workers",
            str(self.config.workers_per_job),
            "--parent-pid",
            str(os.getpid()),
        ]
        if self.config.scheduler is not None:
            command += ["--scheduler", self.config.scheduler]
        if job.strategy:
            command += ["--strategy", job.strategy]
        if job.seed is not None:
            command += ["--seed", str(job.seed)]
        command += _whatif_options(self.config, job)
        if job.previous_plan_id is not None and job.today is not None:
            command += [
                "--previous-plan",
                str(self.config.plans_dir / job.previous_plan_id),
                "--progress",
                str(self.progress_dir(job.id)),
                "--today",
                job.today.isoformat(),
            ]
            if job.freeze_days is not None:
                command += ["--freeze-days", str(job.freeze_days)]
        return command

    def _police_overruns(self) -> None:
        now = time.monotonic()
        with self._lock:
            running = list(self._running.values())
        cap_mb = self.memory_cap_mb
        for run in running:
            if run.killed:
                continue
            used_mb = group_memory_mb(run.process.pid)
            if used_mb > cap_mb:
                LOG.warning(
                    "job %s uses %d MB, over the cap of %d MB; killing it",
                    run.job_id,
                    used_mb,
                    cap_mb,
                )
                run.over_memory_mb = used_mb
                run.killed = True
                _kill_group(run.process)
                continue
            allowed_s = run.time_limit_s + max(OVERRUN_GRACE_S, 0.5 * run.time_limit_s)
            # Writing the plan folder ignores the stop request (it is what keeps the best
            # plan): each stage it starts gives it another grace period.
            asked_at = max(run.interrupt_sent_at or 0.0, run.last_milestone_at or 0.0)
            if run.interrupt_sent_at is None and now - run.started > allowed_s:
                LOG.warning("job %s overran its time limit; stopping it", run.job_id)
                self._interrupt(run)
            elif run.interrupt_sent_at is not None and now - asked_at > STOP_GRACE_S:
                LOG.warning("job %s did not stop; killing it", run.job_id)
                run.killed = True
                _kill_group(run.process)

    # --- one running job ---------------------------------------------------------------------

    def _follow(self, run: _Running) -> None:
        outcome: Done | Failed | None = None
        last_write = 0.0
        assert run.process.stdout is not None
        for line in _lines(run.process.stdout):
            try:
                event = decode(line)
            except EventError as error:
                LOG.warning("job %s wrote a line that is not an event (%s)", run.job_id, error)
                continue
            match event:
                case Started():
                    self._mark_ready(run)
                case Progress():
                    now = time.monotonic()
                    if event.milestone:
                        run.last_milestone_at = now
                    due = now - last_write >= PROGRESS_WRITE_S or event.milestone
                    if due or event.progress >= 1.0:
                        last_write = now
                        self._write_progress(run, event)
                case Done() | Failed():
                    outcome = event
        code = run.process.wait()
        try:
            self._finish(run, code, outcome)
        except Exception:
            LOG.exception("could not record the end of job %s", run.job_id)
        finally:
            with self._lock:
                self._running.pop(run.job_id, None)
            self._wake.set()

    def _write_progress(self, run: _Running, event: Progress) -> None:
        message = event.message
        if run.cancelling:
            # The worker does not know it was cancelled; the reader of the job must.
            message = f"cancelling, keeping the best plan found: {message}"
        with self.sessions.begin() as session:
            session.execute(
                update(JobRow)
                .where(JobRow.id == run.job_id, JobRow.status == JobStatus.RUNNING)
                .values(
                    progress=max(0.0, min(1.0, event.progress)),
                    message=message[:500],
                )
            )

    def _finish(self, run: _Running, code: int, outcome: Done | Failed | None) -> None:
        if self._shutdown.is_set() and run.killed:
            return  # stop() requeues it
        plan_dir = self.config.plans_dir / run.plan_id
        with self.sessions.begin() as session:
            job = session.get(JobRow, run.job_id)
            if job is None:
                return
            job.worker_pid = None
            job.finished_at = utcnow()
            if _is_whatif(self.config, job.id):
                # Its answer is its folder, jobs/<id>.whatif/: no plan row (service.whatif).
                plan_dir = _whatif_dir(self.config, job.id)
                if isinstance(outcome, Done) and code == 0 and plan_dir.is_dir():
                    job.progress = 1.0
                    if job.cancel_requested:
                        job.status = JobStatus.CANCELLED
                        job.message = "cancelled; what was planned by then was kept"
                    else:
                        job.status = JobStatus.DONE
                        job.message = "done"
                    if outcome.kpis:
                        job.kpis = Kpis.from_dict(outcome.kpis)
                    LOG.info("job %s done: what-if %s", job.id, plan_dir.name)
                    return
            elif isinstance(outcome, Done) and code == 0 and plan_dir.is_dir():
                kpis = Kpis.from_dict(outcome.kpis)
                session.add(
                    PlanRow(
                        id=run.plan_id,
                        job_id=job.id,
                        scenario_id=job.scenario_id,
                        created_at=utcnow(),
                        status=PlanStatus(outcome.status),
                        kpis=kpis,
                        previous_plan_id=job.previous_plan_id,
                        as_of=job.today,
                    )
                )
                job.plan_id = run.plan_id
                job.kpis = kpis
                if outcome.strategy:
                    job.strategy = outcome.strategy
                job.progress = 1.0
                if job.cancel_requested:
                    job.status = JobStatus.CANCELLED
                    job.message = "cancelled; the best plan found was kept"
                else:
                    job.status = JobStatus.DONE
                    job.message = "done"
                LOG.info("job %s %s: plan %s", job.id, job.status, run.plan_id)
                return
            remove_tree(plan_dir)
            cancelled = job.cancel_requested and outcome is None
            if run.over_memory_mb is not None:
                cancelled = False
                reason = (
                    f"stopped: the job's processes used {run.over_memory_mb} MB, over the "
                    f"memory cap of {self.memory_cap_mb} MB per job "
                    "(bsb serve --job-memory-mb); no plan was kept"
                )
            elif run.killed and job.cancel_requested:
                reason = (
                    f"cancelled: the search did not stop within {STOP_GRACE_S:.0f} s of the "
                    "request, so it was killed; no plan was kept"
                )
            elif run.killed:
                reason = (
                    "stopped: it ran far past its time limit and did not stop when asked; "
                    "no plan was kept"
                )
            else:
                error = outcome.error if isinstance(outcome, Failed) else ""
                reason = error or f"the job process ended with code {code}"
                if cancelled:
                    reason = f"cancelled; no plan was kept ({reason})"
            job.status = JobStatus.CANCELLED if cancelled else JobStatus.FAILED
            job.error = reason
            job.message = job.status
            LOG.warning("job %s %s: %s", job.id, job.status, reason)


def _is_whatif(config: ServiceConfig, job_id: str) -> bool:
    from service.whatif import request_path

    return request_path(config, job_id).is_file()


def _whatif_dir(config: ServiceConfig, job_id: str) -> Path:
    from service.whatif import output_dir

    return output_dir(config, job_id)


def _whatif_options(config: ServiceConfig, job: JobRow) -> list[str]:
    """Return the options of a what-if job: its question, and its answer folder as ``--out``."""
    if not _is_whatif(config, job.id):
        return []
    from service.whatif import request_path

    # The later --out wins (click keeps an option's last value).
    return [
        "--whatif",
        str(request_path(config, job.id)),
        "--out",
        str(_whatif_dir(config, job.id)),
    ]


def _lines(stream: IO[str]) -> Iterator[str]:
    for line in stream:
        line = line.strip()
        if line:
            yield line


def _requeue(job: JobRow, message: str) -> None:
    job.status = JobStatus.QUEUED
    job.progress = 0.0
    job.message = message
    job.started_at = None
    job.worker_pid = None


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    # The worker must import this very bsb, wherever the server was started from.
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def group_memory_mb(pid: int) -> int:
    """Return the resident memory of a process and all its descendants, in MiB.

    Parameters
    ----------
    pid
        A job's worker; its planner processes are its children (and theirs).

    Returns
    -------
    int
        0 if the process is gone.
    """
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0
    total = 0
    for process in processes:
        # A process may end between the listing and the reading: it no longer counts.
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += process.memory_info().rss
    return total // 2**20


def _signal(process: subprocess.Popen[str], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signum)


def _kill_group(process: subprocess.Popen[str]) -> None:
    # The worker leads its own process group; its planner processes are in it too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _kill_orphan(pid: int, job_id: str) -> None:
    """Kill a job process the previous server left, if that pid is still that job's."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return  # gone (or not Linux: the worker's own watchdog ends it)
    if JOB_COMMAND.encode() in cmdline and job_id.encode() in cmdline:
        LOG.warning("killing job process %d left by the previous server", pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
