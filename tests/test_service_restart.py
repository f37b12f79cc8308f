"""Restart safety: SIGKILL the server while a job runs, start it again, lose nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from geodata.scenario_io import read_scenario
from optimizer.checker import check_plan_file
from tests.service_live import (
    create_token,
    scenario_zip,
    start_server,
    upload,
    wait_for_job,
)


def _worker_pid(data_dir: Path, job_id: str) -> int | None:
    with sqlite3.connect(f"file:{data_dir / 'bsb.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT worker_pid FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # A zombie still counts for killpg; /proc tells whether it is really running.
    try:
        state = Path(f"/proc/{pgid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def _wait_until(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout_s} s")
        time.sleep(0.2)


def _check_plan(client: httpx.Client, plan_id: str, scenario_dir: Path, tmp: Path) -> None:
    response = client.get(f"/api/v1/plans/{plan_id}/files/plan.json")
    assert response.status_code == 200
    path = tmp / f"{plan_id}.json"
    path.write_bytes(response.content)
    assert check_plan_file(read_scenario(scenario_dir), path) == []


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to follow processes")
@pytest.mark.slow  # about 20 s: a server killed and restarted while a job runs
def test_sigkill_while_a_job_runs_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    planner = create_token(data, "planner")
    headers = {"Authorization": f"Bearer {planner}"}
    archive = scenario_zip(tmp_path, size=40, seed=77_001)
    scenario_dir = tmp_path / "scenario-40-77001"

    server = start_server(data, "--job-workers", "2")
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            scenario = upload(client, archive).json()
            first = client.post(
                "/api/v1/jobs", json={"scenario_id": scenario["id"], "time_limit_s": 2}
            ).json()
            earlier = wait_for_job(client, first["id"])
            assert earlier["status"] == "done"
            victim = client.post(
                "/api/v1/jobs", json={"scenario_id": scenario["id"], "time_limit_s": 8}
            ).json()
            wait_for_job(client, victim["id"], until=("running",))
            _wait_until(
                lambda: client.get(f"/api/v1/jobs/{victim['id']}").json()["progress"] > 0,
                60,
                "no progress",
            )
            worker = _worker_pid(data, victim["id"])
            assert worker is not None
            assert _group_alive(worker)
    finally:
        server.stop(signal.SIGKILL)

    # The job's processes (the worker and its planner pool) die with their server.
    _wait_until(lambda: not _group_alive(worker), 15, "the job's processes outlived the server")

    restarted = start_server(data)
    try:
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=60) as client:
            job = client.get(f"/api/v1/jobs/{victim['id']}").json()
            # Requeued (and maybe already running again): never done from the killed run.
            assert job["status"] in ("queued", "running"), job
            assert job["plan_id"] is None
            assert "requeued" in (job["message"] or "") or job["status"] == "running"
            # No partial plan folder survived, and only the earlier plan is listed.
            plans = client.get("/api/v1/plans").json()
            assert [p["id"] for p in plans] == [earlier["plan_id"]]
            assert sorted(p.name for p in (data / "plans").iterdir()) == [earlier["plan_id"]]
            _check_plan(client, earlier["plan_id"], scenario_dir, tmp_path)

            ended = wait_for_job(client, victim["id"])
            assert ended["status"] == "done", ended
            _check_plan(client, ended["plan_id"], scenario_dir, tmp_path)
            _check_plan(client, earlier["plan_id"], scenario_dir, tmp_path)
    finally:
        restarted.stop()
    # uvicorn shuts down cleanly, then re-raises the signal it was stopped with.
    assert restarted.process.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in restarted.log()


def test_graceful_stop_requeues_the_running_job(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    planner = create_token(data, "planner")
    headers = {"Authorization": f"Bearer {planner}"}
    archive = scenario_zip(tmp_path, size=25, seed=77_002)
    server = start_server(data, "--job-workers", "1")
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            scenario = upload(client, archive).json()
            job = client.post(
                "/api/v1/jobs", json={"scenario_id": scenario["id"], "time_limit_s": 30}
            ).json()
            wait_for_job(client, job["id"], until=("running",))
            worker = _worker_pid(data, job["id"])
            assert worker is not None
    finally:
        server.stop(signal.SIGTERM)  # Ctrl-C or systemd stop
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert not _group_alive(worker)
    with sqlite3.connect(data / "bsb.db") as db:
        status, attempts, message = db.execute(
            "SELECT status, attempts, message FROM jobs WHERE id = ?", (job["id"],)
        ).fetchone()
    assert (status, attempts) == ("queued", 0)
    assert "requeued" in message
    assert list((data / "plans").iterdir()) == []
