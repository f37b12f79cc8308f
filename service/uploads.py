"""Reading an uploaded scenario in another process, so the server keeps answering meanwhile.

Extracting a zip, checking its spreadsheets and validating the scenario take seconds to
minutes of Python for a big upload (millions of xlsx cells). Run in the server's own process,
even in a thread, that work holds the interpreter lock and ``/health`` waits for it. So it runs
in a separate process (a fresh one per upload: the memory a big upload needed goes back to the
system when it ends), and only a small summary or the list of problems comes back.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from optimizer.errors import InputError, Problem
from service.archive import ArchiveLimits

LOG = logging.getLogger("bsb.service")
T = TypeVar("T")

READER_PROCESSES = 2
"""Uploads read at once; more wait for a free reader (the machine's cores are the jobs')."""


@dataclass(frozen=True, slots=True)
class UploadSummary:
    """What the service records of a valid scenario."""

    name: str
    drop_points: int
    families: int
    warehouses: int
    trucks: int
    demand_kg: float


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    """The result of reading an upload: a summary, or every problem found.

    ``stage`` is ``"upload"`` for a broken archive or spreadsheet, ``"scenario"`` for a
    readable scenario that fails validation. ``root`` is the extracted scenario folder (to
    hide its server path in messages, and to keep it when the scenario is valid).
    """

    summary: UploadSummary | None
    problems: tuple[Problem, ...] = ()
    stage: str = "upload"
    root: str | None = None
    total: int = 0
    """How many problems were found; ``problems`` lists at most 1,000 of them, then a note."""


def check_upload(archive: Path, dest: Path, limits: ArchiveLimits, display: str) -> UploadOutcome:
    """Extract, check and validate an uploaded zip (runs in a reader process).

    Parameters
    ----------
    archive
        The uploaded zip.
    dest
        New folder to extract into.
    limits
        Caps on the archive and the spreadsheets in it.
    display
        The upload's name, used in problems instead of server paths.

    Returns
    -------
    UploadOutcome
        Never raises for bad input: problems come back as data.
    """
    from geodata.scenario_io import validate_scenario
    from service.archive import check_spreadsheets, extract_zip

    try:
        root = extract_zip(archive, dest, limits, display)
        check_spreadsheets(root, limits, display)
    except InputError as error:
        return UploadOutcome(None, error.problems, "upload", total=error.total)
    try:
        scenario = validate_scenario(root)
    except InputError as error:
        return UploadOutcome(None, error.problems, "scenario", str(root), total=error.total)
    demand_kg = sum(
        scenario.demand_kg(p, t) for p in scenario.drop_points for t in scenario.tranches
    )
    summary = UploadSummary(
        name=scenario.name[:200],
        drop_points=len(scenario.drop_points),
        families=sum(p.kpm for p in scenario.drop_points),
        warehouses=len(scenario.warehouses),
        trucks=len(scenario.trucks),
        demand_kg=float(demand_kg),
    )
    return UploadOutcome(summary, (), "scenario", str(root))


@dataclass(frozen=True, slots=True)
class ProgressOutcome:
    """The result of reading an uploaded progress zip: its counts, or every problem found.

    ``stage`` is ``"upload"`` for a broken archive or spreadsheet, ``"progress"`` for files
    that fail validation against the scenario. ``root`` is the extracted progress folder.
    """

    counts: dict[str, int] | None
    problems: tuple[Problem, ...] = ()
    stage: str = "upload"
    root: str | None = None
    total: int = 0


def check_progress_upload(
    archive: Path, dest: Path, limits: ArchiveLimits, display: str, scenario_dir: Path
) -> ProgressOutcome:
    """Extract, check and validate an uploaded progress zip (runs in a reader process).

    The zip holds a progress folder (``receipts.csv``, ``unavailable.csv``,
    ``stock_changes.csv``, ``closed.csv``; each optional, CSV or xlsx), checked by the same
    archive and spreadsheet checks as a scenario's zip, then read by
    ``geodata.progress_io.read_progress`` against the scenario of the plan it re-plans.

    Parameters
    ----------
    archive
        The uploaded zip.
    dest
        New folder to extract into.
    limits
        Caps on the archive and the spreadsheets in it.
    display
        The upload's name, used in problems instead of server paths.
    scenario_dir
        The scenario of the plan to re-plan.

    Returns
    -------
    ProgressOutcome
        Never raises for bad input: problems come back as data.
    """
    from geodata import progress_io
    from geodata.scenario_io import read_scenario
    from service.archive import check_spreadsheets, extract_zip

    try:
        root = extract_zip(archive, dest, limits, display)
        check_spreadsheets(root, limits, display)
    except InputError as error:
        return ProgressOutcome(None, error.problems, "upload", total=error.total)
    try:
        progress = progress_io.read_progress(root, read_scenario(scenario_dir))
    except InputError as error:
        return ProgressOutcome(None, error.problems, "progress", str(root), total=error.total)
    counts = {
        "receipts": len(progress.receipts),
        "unavailable": len(progress.unavailable),
        "stock_changes": len(progress.stock_changes),
        "closed": len(progress.closed),
    }
    return ProgressOutcome(counts, (), "progress", str(root))


class UploadReaders:
    """A small pool of reader processes, started on first use, one fresh process per upload."""

    def __init__(self, processes: int = READER_PROCESSES) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn: forking a server that runs threads could copy a held lock.
                self._pool = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    max_tasks_per_child=1,
                )
            return self._pool

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` in a reader process and wait for it (call from a thread).

        Raises
        ------
        BrokenProcessPool
            If the reader died (killed, out of memory); the pool is replaced for the next.
        """
        pool = self._executor()
        try:
            return pool.submit(function, *args).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def close(self) -> None:
        """Stop the reader processes (at server stop)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
