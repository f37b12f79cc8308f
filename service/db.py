"""The service's tables, its database engine and its schema migrations.

SQLite (the default) runs in WAL mode so that readers never wait for the one writer; every
write is a short transaction. PostgreSQL works the same through a ``postgresql+psycopg://`` URL.
The schema is created and upgraded by Alembic migrations (``service/migrations``) at every
start, never by ``create_all``, so a data folder made by an older bsb is upgraded in place.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from optimizer.solution import Kpis, PlanStatus


class JobStatus(StrEnum):
    """Where a planning job is; members compare equal to the codes the API and the table hold."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATUSES: Final = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})
"""Statuses a job never leaves."""


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Return a random id such as ``j_3f9a0c1d2e4b5a69`` (64 random bits)."""
    return f"{prefix}_{secrets.token_hex(8)}"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Store in UTC."""
        if value is None:
            return None
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Read back timezone-aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class KpisText(TypeDecorator[Kpis]):
    """A plan's KPIs kept as the JSON text of ``plan.json``'s ``kpis`` object, read back typed."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Kpis | None, dialect: Any) -> str | None:
        """Store as JSON text, keys in ``plan.json`` order."""
        return None if value is None else json.dumps(value.to_dict())

    def process_result_value(self, value: str | None, dialect: Any) -> Kpis | None:
        """Read back a :class:`~optimizer.solution.Kpis`."""
        return None if value is None else Kpis.from_dict(json.loads(value))


class StatusText(TypeDecorator[StrEnum]):
    """A status enum stored as its code (``String(20)``, as the migrations made it)."""

    impl = String(20)
    cache_ok = True

    def __init__(self, enum_type: type[StrEnum]) -> None:
        super().__init__()
        self.enum_type = enum_type

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        """Store the code; an unknown code fails here, before it reaches the table."""
        return None if value is None else str(self.enum_type(value))

    def process_result_value(self, value: str | None, dialect: Any) -> StrEnum | None:
        """Read back the enum member."""
        return None if value is None else self.enum_type(value)


class Base(DeclarativeBase):
    """Declarative base of the service's tables."""


class Token(Base):
    """An API token; only its SHA-256 is stored."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ScenarioRow(Base):
    """An uploaded, validated scenario; its files are in ``scenarios/<id>/``."""

    __tablename__ = "scenarios"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str] = mapped_column(String(40))
    drop_points: Mapped[int] = mapped_column(Integer)
    families: Mapped[int] = mapped_column(Integer)
    warehouses: Mapped[int] = mapped_column(Integer)
    trucks: Mapped[int] = mapped_column(Integer)
    demand_kg: Mapped[float] = mapped_column(Float)


class JobRow(Base):
    """A planning job: queued, then run in its own process."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id"), index=True)
    status: Mapped[JobStatus] = mapped_column(StatusText(JobStatus), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    time_limit_s: Mapped[float] = mapped_column(Float)
    strategy: Mapped[str | None] = mapped_column(String(100), nullable=True)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str] = mapped_column(String(5), default="id")
    kpis: Mapped[Kpis | None] = mapped_column(KpisText(), nullable=True)
    plan_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    previous_plan_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """A re-plan's job: the plan it re-plans (``None`` for a plan from scratch)."""
    today: Mapped[date | None] = mapped_column(Date, nullable=True)
    """A re-plan's ``--today``."""
    freeze_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """A re-plan's ``--freeze-days`` (``None``: the scenario's ``[replan] freeze_days``)."""


class PlanRow(Base):
    """A finished plan; its folder ``plans/<id>/`` is complete before this row exists."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[PlanStatus] = mapped_column(StatusText(PlanStatus))
    kpis: Mapped[Kpis] = mapped_column(KpisText())
    previous_plan_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    """The plan this one re-planned (``None`` for a plan from scratch)."""
    as_of: Mapped[date | None] = mapped_column(Date, nullable=True)
    """A re-plan's day: history before it, plans from it on."""


def make_engine(url: str) -> Engine:
    """Create the engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys.

    Parameters
    ----------
    url
        SQLAlchemy URL, e.g. ``sqlite:////srv/bsb/bsb.db`` or ``postgresql+psycopg://...``.

    Returns
    -------
    Engine
        With ``pool_pre_ping`` so a restarted PostgreSQL does not fail the next request.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, pool_pre_ping=True
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            # WAL: readers (the web page polling) never block the writer (job progress).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration.

    Parameters
    ----------
    engine
        The service's engine.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


SERVER_LOCK_KEY = 0x62736273
"""The PostgreSQL advisory lock a server holds on its database ("bsbs"): one server each."""


def lock_database(engine: Engine) -> Connection | None:
    """Hold the database for this server: on PostgreSQL, a session advisory lock.

    SQLite lives in the data folder, which has its own lock (:mod:`service.datafolder`). On
    PostgreSQL several data folders could point at one database; the lock is held on a
    connection kept open for the server's life and is released when it closes (or when the
    server dies and PostgreSQL drops the connection).

    Parameters
    ----------
    engine
        The service's engine; nothing is read or written before the lock is held.

    Returns
    -------
    Connection or None
        The connection that holds the lock (close it to release), or ``None`` for SQLite.

    Raises
    ------
    DataFolderBusyError
        If another server holds the database; the message names its pid and host.
    """
    if engine.dialect.name != "postgresql":
        return None
    from service.datafolder import DataFolderBusyError

    connection = engine.connect()
    # Out of the pool: closing it must close the session, and so release the lock.
    connection.detach()
    try:
        # The holder's name, so that a second server can say who holds the lock.
        label = f"bsb serve pid {os.getpid()} on {socket.gethostname()}"[:60]
        connection.execute(
            text("SELECT set_config('application_name', :label, false)"), {"label": label}
        )
        held = connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": SERVER_LOCK_KEY}
        )
        if not held:
            row = connection.execute(
                text(
                    "SELECT a.application_name, a.pid "
                    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted "
                    "AND l.classid = 0 AND l.objid = :key AND l.objsubid = 1"
                ),
                {"key": SERVER_LOCK_KEY},
            ).first()
            holder = "holder unknown"
            if row is not None:
                name = str(row[0] or "").removeprefix("bsb serve ")
                holder = f"{name or 'unnamed'}, PostgreSQL backend {row[1]}"
            where = engine.url.render_as_string(hide_password=True)
            raise DataFolderBusyError(f"--db {where}", holder)
        connection.commit()
    except BaseException:
        connection.close()
        raise
    return connection


def open_database(url: str) -> tuple[Engine, sessionmaker[Any]]:
    """Open (and migrate) the database at ``url``.

    Parameters
    ----------
    url
        SQLAlchemy URL.

    Returns
    -------
    tuple
        The engine and a session factory whose objects stay readable after commit.
    """
    engine = make_engine(url)
    migrate(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)
