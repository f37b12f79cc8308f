"""The service under pressure: anonymous bodies, slow uploads, greedy jobs, stopped jobs."""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from optimizer.errors import Problem
from optimizer.solution import compute_kpis
from service.config import ServiceConfig
from service.events import Done, Progress
from service.jobs import STOP_GRACE_S
from service.tokens import create_token
from service.uploads import UploadOutcome
from tests.conftest import make_tiny_scenario
from tests.service_live import (
    create_token as create_token_cli,
)
from tests.service_live import (
    ended_job,
    free_port,
    running_job,
    scenario_zip,
    start_server,
    upload,
    wait_for_job,
    zip_bytes,
)

NO_DELIVERIES = compute_kpis(make_tiny_scenario(), (), ()).to_dict()
"""The KPIs of a plan that delivers nothing, as a worker reports them."""

SLOW_PARSE_S = 3.0


@pytest.fixture
def app_config(tmp_path: Path) -> ServiceConfig:
    return ServiceConfig(data_dir=tmp_path / "data")


# --- a request without a valid token: its body is never read --------------------------------


def _call(
    app: Any,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    path: str = "/api/v1/scenarios",
    content_type: bytes = b"multipart/form-data; boundary=xyz",
) -> tuple[int, int]:
    """Send one POST through the ASGI app; return (status, number of body reads)."""
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"]), reads


def test_the_body_of_a_request_without_a_valid_token_is_not_read(
    app_config: ServiceConfig,
) -> None:
    from service.app import create_app

    app = create_app(app_config, run_jobs=False)
    try:
        planner = create_token(app.state.sessions, "planner")
        body = b"--xyz\r\nContent-Disposition: form-data; name=file; filename=a.zip\r\n\r\nPK"
        for header in (
            [(b"authorization", b"Bearer bsb_unknown-token")],
            [(b"authorization", b"Basic dXNlcjpwYXNz")],
            [(b"authorization", b"Bearer")],
            [],
        ):
            status, reads = _call(app, header, body)
            assert (status, reads) == (401, 0), header
            status, reads = _call(app, header, b"{}", "/api/v1/jobs", b"application/json")
            assert (status, reads) == (401, 0), header
        # With a real token the body is read (so the counts above mean something).
        real = [(b"authorization", f"Bearer {planner}".encode())]
        status, reads = _call(app, real, b"{}", "/api/v1/jobs", b"application/json")
        assert (status, reads) == (422, 1)
    finally:
        app.state.held.release()


# --- uploads are read off the event loop -----------------------------------------------------


def slow_check_upload(archive: Path, dest: Path, limits: Any, display: str) -> UploadOutcome:
    """Stand-in for the upload reader: busy for SLOW_PARSE_S, then a problem naming its pid."""
    deadline = time.monotonic() + SLOW_PARSE_S
    spins = 0
    while time.monotonic() < deadline:  # pure Python: holds the interpreter lock throughout
        spins += 1
    return UploadOutcome(None, (Problem(display, f"read by process {os.getpid()}"),))


@pytest.fixture
def in_process_server(
    app_config: ServiceConfig, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    """The app served by uvicorn in a thread of this process, with the slow reader."""
    import uvicorn

    from service import uploads
    from service.app import create_app

    monkeypatch.setattr(uploads, "check_upload", slow_check_upload)
    app = create_app(app_config, run_jobs=False)
    token = create_token(app.state.sessions, "planner")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def test_health_answers_quickly_while_an_upload_is_read(
    in_process_server: tuple[str, str],
) -> None:
    url, token = in_process_server
    answers: dict[str, httpx.Response] = {}

    def send_upload() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            answers["upload"] = client.post(
                "/api/v1/scenarios",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": ("slow.zip", zip_bytes({"a.csv": b"x"}), "application/zip")},
            )

    uploader = threading.Thread(target=send_upload)
    latencies_s: list[float] = []
    with httpx.Client(base_url=url, timeout=10) as client:
        client.get("/api/v1/health")  # connection open before timing
        uploader.start()
        time.sleep(1.0)  # the reader process is up and busy by now (spawn takes < 1 s)
        while uploader.is_alive() and len(latencies_s) < 40:
            started = time.perf_counter()
            assert client.get("/api/v1/health").status_code == 200
            latencies_s.append(time.perf_counter() - started)
            time.sleep(0.02)
        uploader.join(timeout=120)
    body = answers["upload"].json()
    assert answers["upload"].status_code == 422, body
    # The upload was read in another process, and /health was asked while it was.
    assert body["errors"][0]["message"].startswith("read by process ")
    assert body["errors"][0]["message"] != f"read by process {os.getpid()}"
    assert len(latencies_s) >= 10, latencies_s
    assert statistics.median(latencies_s) < 0.1, latencies_s
    assert max(latencies_s) < 0.5, latencies_s


# --- each job's memory is capped -------------------------------------------------------------


def test_a_job_over_its_memory_cap_fails_and_the_server_goes_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    token = create_token_cli(data, "planner")
    archive = scenario_zip(tmp_path, size=15, seed=91_001)
    # 40 MB: less than a Python process with the planner imported needs.
    server = start_server(data, "--job-memory-mb", "40", "--job-workers", "1")
    server.planner_token = token
    try:
        with server.client() as client:
            scenario = upload(client, archive).json()
            jobs = [
                client.post(
                    "/api/v1/jobs", json={"scenario_id": scenario["id"], "time_limit_s": 30}
                ).json()
                for _ in range(2)
            ]
            # Both run (one after the other) and both fail: the server went on after the first.
            for job in jobs:
                ended = wait_for_job(client, job["id"], timeout_s=120)
                assert ended["status"] == "failed", ended
                assert "memory cap of 40 MB" in ended["error"], ended
                assert ended["plan_id"] is None
            assert client.get("/api/v1/health").status_code == 200
            assert client.get("/api/v1/plans").json() == []
        assert server.process.poll() is None
    finally:
        server.stop()
    assert "Traceback" not in server.log()
    assert list((data / "plans").iterdir()) == []


def test_the_default_memory_cap_is_a_share_of_the_machine() -> None:
    import psutil

    total_mb = psutil.virtual_memory().total / 2**20
    one = ServiceConfig(data_dir=Path("x"), max_jobs=1).memory_cap_mb
    two = ServiceConfig(data_dir=Path("x"), max_jobs=2).memory_cap_mb
    assert one == pytest.approx(total_mb / 2, rel=0.01)
    assert two == pytest.approx(total_mb / 4, rel=0.01)
    assert ServiceConfig(data_dir=Path("x"), job_memory_mb=123).memory_cap_mb == 123


# --- how a stopped job ends --------------------------------------------------------------


def test_a_job_killed_for_memory_says_so(app_config: ServiceConfig) -> None:
    manager, run = running_job(app_config, cancel_requested=True)
    run.killed, run.over_memory_mb = True, 812
    manager._finish(run, -9, None)
    job = ended_job(manager)
    assert job.status == "failed"
    assert f"used 812 MB, over the memory cap of {app_config.memory_cap_mb} MB" in (job.error or "")


def test_a_cancelled_job_that_would_not_stop_says_so(app_config: ServiceConfig) -> None:
    manager, run = running_job(app_config, cancel_requested=True)
    run.killed = True
    manager._finish(run, -9, None)
    job = ended_job(manager)
    assert job.status == "cancelled"
    assert f"did not stop within {STOP_GRACE_S:.0f} s" in (job.error or "")
    assert "time limit" not in (job.error or "")


def test_a_cancelled_job_that_wrote_its_plan_keeps_it(app_config: ServiceConfig) -> None:
    manager, run = running_job(app_config, cancel_requested=True)
    (app_config.plans_dir / run.plan_id).mkdir(parents=True)
    manager._finish(run, 0, Done(status="interrupted", kpis=NO_DELIVERIES))
    job = ended_job(manager)
    assert (job.status, job.plan_id) == ("cancelled", run.plan_id)
    assert job.message == "cancelled; the best plan found was kept"


def test_a_cancelled_jobs_progress_says_it_is_cancelling(app_config: ServiceConfig) -> None:
    manager, run = running_job(app_config)
    manager._write_progress(run, Progress(progress=0.5, message="routing part 2/4"))
    assert ended_job(manager).message == "routing part 2/4"
    run.cancelling = True
    manager._write_progress(run, Progress(progress=0.6, message="routing part 3/4"))
    assert ended_job(manager).message == (
        "cancelling, keeping the best plan found: routing part 3/4"
    )


def test_a_stop_asked_while_the_worker_starts_waits_until_it_can_be_honoured(
    app_config: ServiceConfig,
) -> None:
    import signal
    import subprocess

    manager, run = running_job(app_config)
    # A stand-in worker that SIGINT would end at once, like Python still starting up.
    run.process = subprocess.Popen(["sleep", "30"])
    try:
        manager._interrupt(run)
        time.sleep(0.3)
        assert run.process.poll() is None  # not yet: it would have died without a plan
        assert run.interrupt_pending and run.interrupt_sent_at is not None
        manager._mark_ready(run)  # the worker said "started"
        assert run.process.wait(timeout=10) == -signal.SIGINT
        assert not run.interrupt_pending
    finally:
        run.process.kill()
        run.process.wait()


def test_an_upload_with_thousands_of_problems_lists_1000_and_counts_them_all(
    tmp_path: Path,
) -> None:
    import csv
    import zipfile

    from geodata.sample import write_sample
    from service.archive import ArchiveLimits
    from service.uploads import check_upload

    scenario = tmp_path / "scenario"
    write_sample(scenario, n_drop_points=1500, seed=1)
    table = scenario / "drop_points.csv"
    with table.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    kpm = rows[0].index("kpm")
    for row in rows[1:]:
        row[kpm] = "many"
    with table.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    archive = tmp_path / "up.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(scenario.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                zipped.write(path, path.name)
    outcome = check_upload(archive, tmp_path / "files", ArchiveLimits(), "up.zip")
    assert outcome.summary is None
    assert outcome.total >= 1500
    assert len(outcome.problems) == 1001  # 1,000 listed, then the note counting the rest
    assert "more problems" in outcome.problems[-1].message
