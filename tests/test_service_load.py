"""The service under load: 1,000 requests from 20 Locust users while four jobs run.

Locust runs headless in its own process (it monkey-patches the standard library with gevent,
which must not happen inside pytest) with ``tests/locustfile.py``; it stops itself after exactly
1,000 requests and writes a summary. Planners and viewers read everything, submit cheap jobs
(429 when the queue is full is fine), cancel jobs (409 once finished is fine) and try writes they
may not make (403). Nothing may answer 5xx or drop a connection, every job submitted must be
listed afterwards, the long jobs must still finish, and the server must log no traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service_live import (
    ROOT,
    LiveServer,
    create_token,
    scenario_zip,
    start_server,
    upload,
    wait_for_job,
)

API = "/api/v1"
USERS = 20
REQUEST_LIMIT = 1000
# Long enough that all four jobs run through the whole load (about 20 s), short enough for the
# test to take about a minute.
LONG_TIME_LIMITS_S = (30.0, 31.0, 32.0, 33.0)
LOCUST_RUN_TIME_S = 120
FINISHED = ("done", "failed", "cancelled")


def _submit(client: httpx.Client, scenario_id: str, time_limit_s: float) -> str:
    response = client.post(
        f"{API}/jobs", json={"scenario_id": scenario_id, "time_limit_s": time_limit_s}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _wait_until_running(client: httpx.Client, job_id: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while client.get(f"{API}/jobs/{job_id}").json()["status"] == "queued":
        assert time.monotonic() < deadline, f"job {job_id} never started"
        time.sleep(0.2)


def _run_locust(server: LiveServer, out_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run the locustfile headless; return its summary with Locust's own totals added."""
    summary_path = out_dir / "summary.json"
    stats_base = out_dir / "locust-stats"
    log_path = out_dir / "locust.log"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "tests" / "locustfile.py"),
        "--headless",
        "--users",
        str(USERS),
        "--spawn-rate",
        str(USERS),
        "--host",
        server.url,
        "--run-time",
        f"{LOCUST_RUN_TIME_S}s",
        "--stop-timeout",
        "10",
        # Locust's own final figures (it appends ".json"), to check the locustfile's tally.
        "--json-file",
        str(stats_base),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    environment = {
        **os.environ,
        **env,
        "BSB_REQUEST_LIMIT": str(REQUEST_LIMIT),
        "BSB_LOAD_SUMMARY": str(summary_path),
    }
    with log_path.open("wb") as log:
        completed = subprocess.run(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=out_dir,
            timeout=LOCUST_RUN_TIME_S + 60,
            check=False,
        )
    output = log_path.read_text(errors="replace")
    assert summary_path.exists(), (
        f"locust wrote no summary (exit {completed.returncode}):\n{output}"
    )
    summary: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
    entries = json.loads(stats_base.with_suffix(".json").read_text(encoding="utf-8"))
    summary["locust_requests"] = sum(int(entry["num_requests"]) for entry in entries)
    summary["locust_failures"] = sum(int(entry["num_failures"]) for entry in entries)
    summary["exit_code"] = completed.returncode
    summary["output"] = output
    return summary


@pytest.mark.slow  # about a minute of load
def test_a_thousand_requests_while_jobs_run(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    planner = create_token(data_dir, "planner")
    viewer = create_token(data_dir, "viewer")
    # Four job processes at once, so the four long jobs all run (not wait) during the load.
    server = start_server(data_dir, "--max-jobs", "4", "--job-workers", "1")
    server.planner_token = planner
    server.viewer_token = viewer
    try:
        with server.client("planner") as client:
            archive = scenario_zip(tmp_path, size=12, seed=83_201)
            response = upload(client, archive)
            assert response.status_code == 201, response.text
            scenario_id = response.json()["id"]
            finished = wait_for_job(client, _submit(client, scenario_id, 0.5), timeout_s=120)
            assert finished["status"] == "done", finished
            long_jobs = [_submit(client, scenario_id, limit) for limit in LONG_TIME_LIMITS_S]
            for job_id in long_jobs:
                _wait_until_running(client, job_id)

            load_started = datetime.now(UTC)
            summary = _run_locust(
                server,
                tmp_path,
                {
                    "BSB_PLANNER_TOKEN": planner,
                    "BSB_VIEWER_TOKEN": viewer,
                    "BSB_SCENARIO_ID": scenario_id,
                    "BSB_PLAN_ID": str(finished["plan_id"]),
                    "BSB_FINISHED_JOB_ID": str(finished["id"]),
                    "BSB_LONG_JOB_IDS": ",".join(long_jobs),
                },
            )
            load_ended = datetime.now(UTC)
            report = json.dumps({k: v for k, v in summary.items() if k != "output"}, indent=1)
            assert summary["completed"] == REQUEST_LIMIT, report + summary["output"]
            assert summary["locust_requests"] == REQUEST_LIMIT, report
            assert summary["connection_errors"] == [], report
            assert summary["unexpected"] == [], report
            assert summary["locust_failures"] == 0, report
            assert summary["exit_code"] == 0, summary["output"]
            server_errors = [key for key in summary["statuses"] if re.search(r" 5\d\d$", key)]
            assert server_errors == [], report
            # The load really overlapped running jobs, and reached every kind of answer.
            assert summary["long_jobs_seen_running"] > 0, report
            answered = {int(key.rsplit(" ", 1)[1]) for key in summary["statuses"]}
            assert {200, 201, 202, 401, 403, 404, 409} <= answered, report
            assert summary["submitted"], report

            # Every job accepted during the load is listed, and no other: a 429 or a viewer's
            # 403 queued nothing. The long jobs still finish (a viewer could not cancel them).
            listed = {job["id"] for job in client.get(f"{API}/jobs").json()}
            accepted = {finished["id"], *long_jobs, *summary["submitted"]}
            assert len(summary["submitted"]) == len(set(summary["submitted"])), report
            assert listed == accepted, (sorted(listed - accepted), sorted(accepted - listed))
            for job_id in long_jobs:
                job = wait_for_job(client, job_id, timeout_s=120)
                assert job["status"] == "done", job
                assert job["plan_id"], job
                # All four ran for the whole load, at the same time.
                assert datetime.fromisoformat(job["started_at"]) < load_started, job
                assert datetime.fromisoformat(job["finished_at"]) > load_ended, job
            # The cheap jobs only had to exist: stop those still waiting, then all must settle.
            for job_id in summary["submitted"]:
                if client.get(f"{API}/jobs/{job_id}").json()["status"] not in FINISHED:
                    assert client.post(f"{API}/jobs/{job_id}/cancel").status_code in (202, 409)
            for job_id in summary["submitted"]:
                job = wait_for_job(client, job_id, timeout_s=60)
                assert job["status"] in ("done", "cancelled"), job
    finally:
        server.stop()
    log = server.log()
    assert "Traceback" not in log, log
    assert not re.search(r" 5\d\d \d+ ms", log), log
