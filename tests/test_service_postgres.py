"""The service on PostgreSQL (``--db postgresql+psycopg://...``), end to end.

Runs when ``BSB_TEST_POSTGRES_URL`` names an empty database the tests may wipe; ``.ci/run``
starts Debian's PostgreSQL and sets it.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from geodata.scenario_io import read_scenario
from optimizer.checker import check_plan_file
from service.db import Base
from tests.service_live import bsb, create_token, scenario_zip, start_server, upload, wait_for_job

POSTGRES_URL = os.environ.get("BSB_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(
    POSTGRES_URL is None, reason="set BSB_TEST_POSTGRES_URL (.ci/run does)"
)


def test_a_job_runs_and_survives_a_restart_on_postgresql(tmp_path: Path) -> None:
    assert POSTGRES_URL is not None
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    data = tmp_path / "data"
    data.mkdir()
    token = create_token(data, "planner", "--db", POSTGRES_URL)
    archive = scenario_zip(tmp_path, size=20, seed=66_001)
    server = start_server(data, "--db", POSTGRES_URL, "--job-workers", "1")
    server.planner_token = token
    try:
        with server.client() as client:
            scenario = upload(client, archive).json()
            job = client.post(
                "/api/v1/jobs", json={"scenario_id": scenario["id"], "time_limit_s": 2}
            ).json()
            done = wait_for_job(client, job["id"])
            assert done["status"] == "done", done
    finally:
        server.stop(signal.SIGKILL)
    # Nothing is in the data folder's SQLite: the state is in PostgreSQL.
    assert not (data / "bsb.db").exists()
    restarted = start_server(data, "--db", POSTGRES_URL)
    restarted.planner_token = token
    try:
        with restarted.client() as client:
            assert client.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "done"
            response = client.get(f"/api/v1/plans/{done['plan_id']}/files/plan.json")
            assert response.status_code == 200
            plan_path = tmp_path / "plan.json"
            plan_path.write_bytes(response.content)
            scenario_dir = tmp_path / "scenario-20-66001"
            assert check_plan_file(read_scenario(scenario_dir), plan_path) == []
    finally:
        restarted.stop()


def test_one_server_per_postgresql_database(tmp_path: Path) -> None:
    assert POSTGRES_URL is not None
    from service.datafolder import DataFolderBusyError
    from service.db import lock_database, make_engine

    first, second = make_engine(POSTGRES_URL), make_engine(POSTGRES_URL)
    try:
        held = lock_database(first)
        assert held is not None
        with pytest.raises(DataFolderBusyError, match=f"pid {os.getpid()} on "):
            lock_database(second)
        held.close()  # released with its connection
        again = lock_database(second)
        assert again is not None
        again.close()
    finally:
        first.dispose()
        second.dispose()


def test_a_second_server_on_the_database_is_refused(tmp_path: Path) -> None:
    assert POSTGRES_URL is not None
    server = start_server(tmp_path / "one", "--db", POSTGRES_URL)
    try:
        # Another data folder, the same database: refused before it migrates or requeues.
        second = bsb("serve", "--data", str(tmp_path / "two"), "--db", POSTGRES_URL, check=False)
        assert second.returncode == 2, second.stderr
        assert f"pid {server.process.pid} on " in second.stderr
        assert "Traceback" not in second.stderr
        assert "bsb:bsb@" not in second.stderr  # the password is not shown
    finally:
        server.stop()
