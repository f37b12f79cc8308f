"""Settings of the planning service, with the defaults ``bsb serve`` uses."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from service.archive import ArchiveLimits

MIB = 2**20


def default_job_workers(max_jobs: int) -> int:
    """Planner processes per job so that ``max_jobs`` jobs at once share the machine's cores.

    Parameters
    ----------
    max_jobs
        Jobs that may run at the same time.

    Returns
    -------
    int
        At least 1.
    """
    return max(1, (os.cpu_count() or 1) // max(1, max_jobs))


MEMORY_SHARE = 0.5
"""Share of the machine's memory that running jobs may use together, by default."""


def default_job_memory_mb(max_jobs: int) -> int:
    """Memory cap of one job: half the machine's memory shared among ``max_jobs`` jobs.

    Parameters
    ----------
    max_jobs
        Jobs that may run at the same time.

    Returns
    -------
    int
        MiB, at least 256.
    """
    import psutil

    total_mb = psutil.virtual_memory().total / MIB
    return max(256, int(MEMORY_SHARE * total_mb / max(1, max_jobs)))


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything the service needs to know at start.

    The data folder holds ``bsb.db`` (unless ``db_url`` points elsewhere), ``scenarios/``,
    ``plans/``, ``jobs/`` (one log per job) and ``secret.key`` (signs browser links).
    """

    data_dir: Path
    db_url: str | None = None
    """SQLAlchemy URL; ``None`` means SQLite at ``data_dir/bsb.db`` in WAL mode."""
    max_jobs: int = 1
    """Jobs running at once, each in its own process."""
    max_queued: int = 20
    """Jobs waiting; one more is refused with 429."""
    job_workers: int | None = None
    """Planner processes per job; ``None``: the cores divided among ``max_jobs``."""
    max_body_bytes: int = 50 * MIB
    """Largest request body; bigger ones get 413."""
    max_time_limit_s: float = 24 * 3600.0
    """Largest ``time_limit_s`` a job may ask for."""
    max_attempts: int = 3
    """Times a job is started before a server crash during it marks it failed."""
    job_memory_mb: int | None = None
    """Memory cap of one job (its worker and planner processes together, resident memory);
    past it the job is killed and fails. ``None``: :func:`default_job_memory_mb`."""
    link_ttl_s: int = 3600
    """Lifetime of the signed links that let a browser open a plan's map and papers."""
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    poll_s: float = 0.25
    """How often the scheduler looks for queued jobs and finished processes."""
    scheduler: str | None = None
    """Address of a Dask scheduler (``tcp://host:8786``): each job's pipeline then runs as a
    task on that cluster, its job process only relaying (:mod:`service.dask_jobs`); ``None``
    plans in the job process itself."""

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL in use."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'bsb.db').resolve()}"

    @property
    def workers_per_job(self) -> int:
        """Planner processes each job uses."""
        return self.job_workers or default_job_workers(self.max_jobs)

    @property
    def memory_cap_mb(self) -> int:
        """Memory cap of each job, in MiB."""
        return self.job_memory_mb or default_job_memory_mb(self.max_jobs)

    @property
    def scenarios_dir(self) -> Path:
        """Where uploaded scenarios are kept, one folder per id."""
        return self.data_dir / "scenarios"

    @property
    def plans_dir(self) -> Path:
        """Where plans are kept, one folder per id."""
        return self.data_dir / "plans"

    @property
    def jobs_dir(self) -> Path:
        """Where each job's log is kept."""
        return self.data_dir / "jobs"

    @property
    def tmp_dir(self) -> Path:
        """Uploads being received and checked; the service's own uploads are removed at start."""
        return self.data_dir / "tmp"

    def create_folders(self) -> None:
        """Create the data folder and its subfolders if missing."""
        for folder in (self.scenarios_dir, self.plans_dir, self.jobs_dir, self.tmp_dir):
            folder.mkdir(parents=True, exist_ok=True)
