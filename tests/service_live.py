"""Helpers of the service tests: a real ``bsb serve`` on loopback, and a job manager.

Test modules use the ``live_server`` fixture (one server per module) or :func:`start_server`
for servers they kill and restart themselves, started the way the README says; and
:func:`running_job` for a job manager holding one running job, to see how a job ends without
starting a server.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from service.config import ServiceConfig
    from service.db import JobRow
    from service.jobs import JobManager, _Running

ROOT = Path(__file__).resolve().parent.parent
BSB = [sys.executable, "-c", "import cli; cli.main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bsb(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the ``bsb`` command in a fresh process."""
    return subprocess.run(
        [*BSB, *args], capture_output=True, text=True, check=check, cwd=ROOT, timeout=300
    )


def create_token(data_dir: Path, role: str, *args: str) -> str:
    out = bsb("token", "create", "--role", role, "--data", str(data_dir), *args).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 1, out  # the token alone on stdout
    return lines[0]


@dataclass
class LiveServer:
    """A running server and the tokens made for it."""

    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    planner_token: str = ""
    viewer_token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, role: str | None = "planner", **kwargs: Any) -> httpx.Client:
        """An HTTP client with the role's token (``None``: anonymous)."""
        headers = {}
        if role is not None:
            token = self.planner_token if role == "planner" else self.viewer_token
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(data_dir: Path, *args: str, port: int | None = None) -> LiveServer:
    """Start ``bsb serve`` on a free loopback port and wait until /health answers."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{data_dir.name}-server-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*BSB, "serve", "--port", str(port), "--data", str(data_dir), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", data_dir, process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bsb serve exited with {process.returncode}:\n{server.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/api/v1/health", timeout=2).status_code == 200:
                return server
        time.sleep(0.2)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"bsb serve did not answer within 60 s:\n{server.log()}")


def scenario_zip(out_dir: Path, *, size: int = 25, seed: int = 4242, wrap: bool = True) -> Path:
    """Write a fresh synthetic scenario (a seed no other test uses) and zip it."""
    folder = out_dir / f"scenario-{size}-{seed}"
    bsb("sample", str(folder), "--size", str(size), "--seed", str(seed))
    archive = out_dir / f"scenario-{size}-{seed}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                zf.write(path, f"{folder.name}/{name}" if wrap else name)
    return archive


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def upload(client: httpx.Client, archive: Path) -> httpx.Response:
    with archive.open("rb") as handle:
        return client.post(
            "/api/v1/scenarios", files={"file": (archive.name, handle, "application/zip")}
        )


def wait_for_job(
    client: httpx.Client, job_id: str, *, timeout_s: float = 180, until: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Poll a job until it finishes (or reaches one of ``until``)."""
    finished = until or ("done", "failed", "cancelled")
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in finished:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s} s")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with a planner and a viewer token, stopped at the end of the module."""
    data_dir = tmp_path_factory.mktemp("service") / "data"
    data_dir.mkdir()
    planner = create_token(data_dir, "planner")
    viewer = create_token(data_dir, "viewer")
    server = start_server(data_dir, "--max-jobs", "2", "--job-workers", "1")
    server.planner_token = planner
    server.viewer_token = viewer
    try:
        yield server
    finally:
        server.stop()
        assert server.process.returncode is not None
        if os.environ.get("BSB_SHOW_SERVER_LOG"):
            print(server.log())


def running_job(app_config: ServiceConfig, **fields: Any) -> tuple[JobManager, _Running]:
    """A job manager whose database holds job ``j_1`` running; ``fields`` go to its row."""
    # Imported here: the live-server tests above need none of the service's own modules.
    from service.db import JobRow, ScenarioRow, open_database, utcnow
    from service.jobs import JobManager, _Running

    app_config.create_folders()
    _engine, sessions = open_database(app_config.database_url)
    with sessions.begin() as session:
        session.add(
            ScenarioRow(
                id="s_1",
                name="t",
                created_at=utcnow(),
                created_by="t_1",
                drop_points=1,
                families=1,
                warehouses=1,
                trucks=1,
                demand_kg=1.0,
            )
        )
        session.flush()  # the job's scenario first (no ORM relationship orders them)
        session.add(
            JobRow(
                id="j_1",
                scenario_id="s_1",
                status="running",
                time_limit_s=5.0,
                language="id",
                created_by="t_1",
                created_at=utcnow(),
                **fields,
            )
        )
    run = _Running("j_1", "p_0123456789abcdef", None, 0.0, 5.0)  # type: ignore[arg-type]
    return JobManager(app_config, sessions), run


def ended_job(manager: JobManager) -> JobRow:
    """The row of job ``j_1`` as the manager left it."""
    from service.db import JobRow

    with manager.sessions() as session:
        job = session.get(JobRow, "j_1")
    assert job is not None
    return job
