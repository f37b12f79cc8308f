"""The service's parts without HTTP: tokens, links, migrations, the queue and restart recovery."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from cli import main
from geodata.i18n import LANGUAGES
from optimizer.errors import Problem
from optimizer.solution import compute_kpis
from service.app import JobIn, JobOut
from service.config import ServiceConfig
from service.db import Base, JobRow, JobStatus, PlanRow, ScenarioRow, open_database, utcnow
from service.jobs import ConflictError, JobManager, NotFoundError, QueueFullError
from service.links import LinkClaim, load_secret, make_link, verify_link
from service.problems import items_from_problems
from service.tokens import (
    create_token,
    hash_token,
    identify,
    list_tokens,
    revoke_token,
    token_is_active,
)
from tests.conftest import make_tiny_scenario

POSTGRES_URL = os.environ.get("BSB_TEST_POSTGRES_URL")


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                POSTGRES_URL is None, reason="set BSB_TEST_POSTGRES_URL (.ci/run does)"
            ),
        ),
    ]
)
def config(request: pytest.FixtureRequest, tmp_path: Path) -> ServiceConfig:
    db_url = None
    if request.param == "postgresql":
        assert POSTGRES_URL is not None
        _empty_postgres(POSTGRES_URL)
        db_url = POSTGRES_URL
    config = ServiceConfig(data_dir=tmp_path / "data", max_queued=2, db_url=db_url)
    config.create_folders()
    return config


@pytest.fixture
def sessions(config: ServiceConfig) -> Iterator[sessionmaker[Session]]:
    engine, factory = open_database(config.database_url)
    yield factory
    engine.dispose()


def _scenario(sessions: sessionmaker[Session], scenario_id: str = "s_1") -> str:
    with sessions.begin() as session:
        session.add(
            ScenarioRow(
                id=scenario_id,
                name="test",
                created_at=utcnow(),
                created_by="t_1",
                drop_points=1,
                families=1,
                warehouses=1,
                trucks=1,
                demand_kg=45.0,
            )
        )
    return scenario_id


def _job(sessions: sessionmaker[Session], job_id: str, **fields: Any) -> None:
    values: dict[str, Any] = {
        "scenario_id": "s_1",
        "status": "queued",
        "progress": 0.0,
        "time_limit_s": 5.0,
        "language": "id",
        "cancel_requested": False,
        "attempts": 0,
        "created_by": "t_1",
        "created_at": utcnow(),
    }
    values.update(fields)
    with sessions.begin() as session:
        session.add(JobRow(id=job_id, **values))


def test_migrations_create_the_schema_once(config: ServiceConfig) -> None:
    open_database(config.database_url)[0].dispose()
    engine, _sessions = open_database(config.database_url)  # a second start changes nothing
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()
    assert {"tokens", "scenarios", "jobs", "plans", "alembic_version"} <= tables
    assert [tuple(row) for row in versions] == [("0002",)]
    if config.db_url is not None:
        return
    with sqlite3.connect(config.data_dir / "bsb.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"tokens", "scenarios", "jobs", "plans", "alembic_version"} <= tables
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_statuses_are_read_back_as_enums_and_unknown_ones_refused(
    sessions: sessionmaker[Session],
) -> None:
    _scenario(sessions)
    _job(sessions, "j_1", status="running")
    with sessions() as session:
        status = session.scalars(select(JobRow.status)).one()
        assert status is JobStatus.RUNNING
        stored = session.execute(text("SELECT status FROM jobs")).scalar_one()
        assert type(stored) is str and stored == "running"  # the table holds the code
    with pytest.raises(StatementError, match="'lost' is not a valid JobStatus"):
        _job(sessions, "j_2", status="lost")


def test_kpis_are_stored_as_plan_json_writes_them_and_read_back_typed(
    sessions: sessionmaker[Session],
) -> None:
    kpis = compute_kpis(make_tiny_scenario(), (), ())
    _scenario(sessions)
    _job(sessions, "j_1", status="done", kpis=kpis)
    with sessions() as session:
        assert session.scalars(select(JobRow.kpis)).one() == kpis
        stored = session.execute(text("SELECT kpis FROM jobs")).scalar_one()
        assert list(json.loads(stored)) == list(kpis.to_dict())  # plan.json's key order


def test_the_api_lists_exactly_the_job_statuses_and_languages() -> None:
    assert get_args(JobOut.model_fields["status"].annotation) == tuple(JobStatus)
    assert get_args(JobIn.model_fields["language"].annotation) == LANGUAGES


def test_tokens_are_stored_as_hashes_only(
    config: ServiceConfig, sessions: sessionmaker[Session]
) -> None:
    token = create_token(sessions, "viewer", "Bogor staff")
    identity = identify(sessions, token)
    assert identity is not None and identity.role == "viewer" and identity.name == "Bogor staff"
    if config.db_url is None:
        assert token.encode() not in (config.data_dir / "bsb.db").read_bytes()
    assert [row.token_hash for row in list_tokens(sessions)] == [hash_token(token)]
    assert identify(sessions, token + "x") is None
    assert identify(sessions, "not-even-the-prefix") is None
    assert revoke_token(sessions, identity.token_id)
    assert identify(sessions, token) is None
    assert not revoke_token(sessions, identity.token_id)
    with pytest.raises(ValueError, match="unknown role"):
        create_token(sessions, "admin")


def test_links_name_one_plan_and_its_token_and_expire(tmp_path: Path) -> None:
    secret = load_secret(tmp_path / "secret.key")
    assert load_secret(tmp_path / "secret.key") == secret  # kept across starts
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    link, expires = make_link(secret, "p_abc", "t_1", 3600, now=1_000_000)
    assert expires == 1_003_600
    assert verify_link(secret, link, now=1_003_599) == LinkClaim("p_abc", "t_1")
    assert verify_link(secret, link, now=1_003_601) is None
    plan_id, token_id, stamp, signature = link.split(".")
    assert verify_link(secret, f"p_other.{token_id}.{stamp}.{signature}", now=0) is None
    # A link cannot be moved to another token (e.g. one that is still active).
    assert verify_link(secret, f"{plan_id}.t_2.{stamp}.{signature}", now=0) is None
    assert verify_link(secret, f"{plan_id}.{token_id}.{int(stamp) + 9999}.{signature}") is None
    assert verify_link(b"another server", link, now=1_000_000) is None
    assert verify_link(secret, "garbage", now=0) is None
    # The format of links made before tokens were in them no longer opens.
    assert verify_link(secret, f"{plan_id}.{stamp}.{signature}", now=0) is None
    with pytest.raises(ValueError):
        make_link(secret, "p.x", "t_1", 60)


def test_a_link_dies_with_its_token(sessions: sessionmaker[Session]) -> None:
    token = create_token(sessions, "viewer")
    identity = identify(sessions, token)
    assert identity is not None
    assert token_is_active(sessions, identity.token_id)
    assert revoke_token(sessions, identity.token_id)
    assert not token_is_active(sessions, identity.token_id)
    assert not token_is_active(sessions, "t_never")


@given(st.text(max_size=200))
@example("p.t." + "9" * 5000 + ".sig")  # a 5,000-digit expiry once gave a 500
@example("p.t.\u00b2.sig")  # a non-ASCII digit that str.isdigit accepts
@example("p.t.1.\u00e9" * 1)
def test_a_malformed_link_is_refused_never_raises(link: str) -> None:
    assert verify_link(b"secret", link, now=0) is None


def test_worker_reports_each_writing_stage_after_planning_without_throttling() -> None:
    import io
    import json

    from documents.plan_files import WRITE_STAGES
    from service.worker import PLANNING_SHARE, _Events

    stream = io.StringIO()
    events = _Events(stream)
    events.planning(1.0, "routed part 6/6")
    total = len(WRITE_STAGES)
    for number, stage in enumerate(WRITE_STAGES, start=1):
        events.writing(number, total, stage)  # all within the throttle's quarter second
    sent = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sent[0]["progress"] == pytest.approx(PLANNING_SHARE)
    stages = sent[1:]
    assert [event["message"] for event in stages] == [
        f"writing the plan folder {n}/{total}: {stage}"
        for n, stage in enumerate(WRITE_STAGES, start=1)
    ]
    assert all(event["milestone"] for event in stages)
    shares = [event["progress"] for event in stages]
    assert shares == sorted(shares) and shares[0] >= PLANNING_SHARE and shares[-1] < 1.0


def test_the_queue_refuses_more_than_its_limit(
    config: ServiceConfig, sessions: sessionmaker[Session]
) -> None:
    manager = JobManager(config, sessions)
    scenario_id = _scenario(sessions)
    submit = {
        "scenario_id": scenario_id,
        "time_limit_s": 1.0,
        "strategy": None,
        "seed": None,
        "language": "id",
        "created_by": "t_1",
    }
    first = manager.submit(**submit)
    manager.submit(**submit)
    with pytest.raises(QueueFullError):
        manager.submit(**submit)
    with pytest.raises(NotFoundError):
        manager.submit(**(submit | {"scenario_id": "s_missing"}))
    # Cancelling a waiting job frees its place at once.
    assert manager.cancel(first.id).status == "cancelled"
    manager.submit(**submit)
    with pytest.raises(ConflictError):
        manager.cancel(first.id)
    with pytest.raises(NotFoundError):
        manager.cancel("j_missing")
    assert manager.counts() == {"cancelled": 1, "queued": 2}


def test_recovery_requeues_fails_and_cleans_up(
    config: ServiceConfig, sessions: sessionmaker[Session]
) -> None:
    _scenario(sessions)
    _job(sessions, "j_again", status="running", attempts=1, worker_pid=2**22 + 1)
    _job(sessions, "j_tired", status="running", attempts=config.max_attempts)
    _job(sessions, "j_stopping", status="running", attempts=1, cancel_requested=True)
    _job(sessions, "j_done", status="done", attempts=1, plan_id="p_kept")
    with sessions.begin() as session:
        session.add(
            PlanRow(
                id="p_kept",
                job_id="j_done",
                scenario_id="s_1",
                created_at=utcnow(),
                status="complete",
                kpis=compute_kpis(make_tiny_scenario(), (), ()),
            )
        )
    (config.scenarios_dir / "s_1").mkdir()
    (config.scenarios_dir / "s_00000000000000ab").mkdir()  # renamed in, row never committed
    (config.plans_dir / "p_kept").mkdir()
    (config.plans_dir / "p_kept" / "plan.json").write_text("{}")
    (config.plans_dir / "p_00000000000000cd").mkdir()  # written, row never committed
    (config.plans_dir / ".p_00000000000000ef.tmp-123-0123456789ab").mkdir()  # half-written
    (config.tmp_dir / "upload-s_00000000000000aa").mkdir()
    (config.tmp_dir / "upload-s_00000000000000aa" / "upload.zip").write_bytes(b"PK")
    # Not the service's naming: never removed (bsb serve refuses such a folder at start).
    (config.plans_dir / "my plans").mkdir()
    (config.tmp_dir / "notes.txt").write_text("mine")

    JobManager(config, sessions).recover()

    with sessions() as session:
        again = session.get(JobRow, "j_again")
        tired = session.get(JobRow, "j_tired")
        stopping = session.get(JobRow, "j_stopping")
        done = session.get(JobRow, "j_done")
    assert again is not None and tired is not None and stopping is not None and done is not None
    assert (again.status, again.worker_pid, again.started_at) == ("queued", None, None)
    assert "requeued" in (again.message or "")
    assert tired.status == "failed"
    assert f"({config.max_attempts} times)" in (tired.error or "")
    assert stopping.status == "cancelled" and stopping.error
    assert done.status == "done"
    assert sorted(p.name for p in config.plans_dir.iterdir()) == ["my plans", "p_kept"]
    assert (config.plans_dir / "p_kept" / "plan.json").exists()
    assert sorted(p.name for p in config.scenarios_dir.iterdir()) == ["s_1"]
    assert [p.name for p in config.tmp_dir.iterdir()] == ["notes.txt"]


def test_problem_items_keep_validate_wording_and_hide_server_paths() -> None:
    problems = [
        Problem("drop_points.csv", "must be a whole number", row=3, field="kpm"),
        Problem("trucks.csv", "file not found in /srv/bsb/tmp/upload-1/files"),
    ]
    items = items_from_problems(problems, hide={"/srv/bsb/tmp/upload-1/files": "s.zip"})
    assert f"{items[0].where}: {items[0].message}" == str(problems[0])
    assert (items[0].row, items[0].field) == (3, "kpm")
    assert items[1].message == "file not found in s.zip"


def test_token_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    created = runner.invoke(main, ["token", "create", "--role", "viewer", "--data", data])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("bsb_")
    listed = runner.invoke(main, ["token", "list", "--data", data])
    assert listed.exit_code == 0
    assert "viewer" in listed.stdout and token not in listed.stdout
    token_id = listed.stdout.split()[0]
    assert runner.invoke(main, ["token", "revoke", token_id, "--data", data]).exit_code == 0
    assert runner.invoke(main, ["token", "revoke", token_id, "--data", data]).exit_code == 2
    bad_role = runner.invoke(main, ["token", "create", "--role", "admin", "--data", data])
    assert bad_role.exit_code == 2


def test_token_commands_refuse_a_folder_holding_foreign_files(tmp_path: Path) -> None:
    data = tmp_path / "home"
    data.mkdir()
    (data / "thesis.docx").write_text("mine")
    created = CliRunner().invoke(main, ["token", "create", "--role", "viewer", "--data", str(data)])
    assert created.exit_code == 2
    assert "thesis.docx" in created.output
    assert sorted(p.name for p in data.iterdir()) == ["thesis.docx"]  # no database dropped


def test_service_commands_report_bad_usage_with_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    bad_url = runner.invoke(main, ["token", "list", "--data", data, "--db", "not a url"])
    assert bad_url.exit_code == 2
    assert "--db" in bad_url.output


def test_the_access_log_escapes_control_characters_and_hides_links() -> None:
    from service.app import _loggable_path

    assert _loggable_path("/api/v1/plans/p\x1b[31m\x00x\nGET /fake") == (
        "/api/v1/plans/p\\x1b[31m\\x00x\\nGET /fake"
    )
    assert _loggable_path("/view/p_1.123.sig/map.html") == "/view/<link>/map.html"
    assert _loggable_path("/api/v1/plans/Sukamaju é") == "/api/v1/plans/Sukamaju é"
