"""Jobs of the planning service as tasks on a Dask cluster (``bsb serve --scheduler``).

The cluster is a real one: a ``LocalCluster`` of worker processes with one thread each, as
``dask worker --nthreads 1`` would start them.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from geodata.sample import write_sample
from service import dask_jobs, worker
from service.config import ServiceConfig
from service.events import Done, Failed, Progress, decode
from tests.service_live import free_port

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dask-job") / "scenario"
    write_sample(folder, n_drop_points=25, seed=4343)
    return folder


class _Pipe(io.StringIO):
    """The job process's stdout, as the server would read it."""

    def events(self) -> list[Any]:
        return [decode(line) for line in self.getvalue().splitlines()]


def _args(scenario: Path, out: Path, scheduler: str, time_limit_s: float) -> worker.JobArgs:
    return worker.JobArgs(
        job="j_1",
        scenario=str(scenario),
        out=str(out),
        time_limit=time_limit_s,
        strategy=None,
        seed=1,
        language="id",
        workers=2,
        parent_pid=os.getpid(),
        scheduler=scheduler,
    )


def _progress(events: list[Any]) -> list[float]:
    return [e.progress for e in events if isinstance(e, Progress)]


def test_a_job_runs_as_a_task_on_the_cluster(
    cluster: Any, scenario_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pipe = _Pipe()
    caplog.set_level(logging.INFO)
    args = _args(scenario_dir, tmp_path / "plan", cluster.scheduler_address, 3.0)
    code = worker.run_job(args, worker._Events(pipe), threading.Event())
    assert code == worker.EXIT_OK
    events = pipe.events()
    assert isinstance(events[-1], Done)
    assert events[-1].status == "complete"
    assert events[0] == Progress(0.0, f"waiting for a worker of {cluster.scheduler_address}")
    progress = _progress(events)
    assert progress and progress == sorted(progress)
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text(encoding="utf-8"))
    assert plan["kpis"] == events[-1].kpis
    assert any("runs on the Dask cluster" in r.getMessage() for r in caplog.records)
    # Planned in a worker process: nothing of the pipeline logged in this one.
    assert not any(r.name.startswith(("documents", "optimizer")) for r in caplog.records)


def test_cancelling_stops_the_search_on_the_cluster(
    cluster: Any, scenario_dir: Path, tmp_path: Path
) -> None:
    pipe = _Pipe()
    stop = threading.Event()
    args = _args(scenario_dir, tmp_path / "plan", cluster.scheduler_address, 120.0)
    timer = threading.Timer(3.0, stop.set)
    timer.start()
    started = time.monotonic()
    try:
        code = worker.run_job(args, worker._Events(pipe), stop)
    finally:
        timer.cancel()
    assert code == worker.EXIT_OK
    assert time.monotonic() - started < 60
    done = pipe.events()[-1]
    assert isinstance(done, Done) and done.status == "interrupted"
    assert (tmp_path / "plan" / "plan.json").is_file()


def test_an_unreachable_scheduler_fails_the_job(
    monkeypatch: pytest.MonkeyPatch, scenario_dir: Path, tmp_path: Path
) -> None:
    monkeypatch.setattr(dask_jobs, "CONNECT_TIMEOUT_S", 1.0)
    pipe = _Pipe()
    address = f"tcp://127.0.0.1:{free_port()}"
    args = _args(scenario_dir, tmp_path / "plan", address, 3.0)
    assert worker.run_job(args, worker._Events(pipe), threading.Event()) == worker.EXIT_FAILED
    (failed,) = pipe.events()
    assert isinstance(failed, Failed) and f"cannot reach the Dask scheduler at {address}" in (
        failed.error
    )
    assert not (tmp_path / "plan").exists()


def test_progress_of_a_retried_task_never_moves_back() -> None:
    pipe = _Pipe()
    relay = dask_jobs._Relay(worker._Events(pipe))
    lines = [
        '{"event": "progress", "message": "a", "progress": 0.5}',
        # The worker was lost; the task starts again on another one.
        '{"event": "progress", "message": "planning", "progress": 0.0}',
        '{"event": "progress", "message": "b", "progress": 0.7}',
        "not an event",
    ]
    relay.pass_on(lines)
    assert _progress(pipe.events()) == [0.5, 0.5, 0.7]
    assert not relay.outcome_sent
    relay.pass_on(['{"event": "failed", "error": "x"}'])
    assert relay.outcome_sent


def test_the_job_process_is_told_the_scheduler(tmp_path: Path) -> None:
    from service.db import JobRow
    from service.jobs import JobManager

    job = JobRow(
        id="j_1",
        scenario_id="s_1",
        time_limit_s=5.0,
        strategy=None,
        seed=None,
        language="id",
        previous_plan_id=None,
        today=None,
    )
    plain = JobManager(ServiceConfig(data_dir=tmp_path), sessions=None)  # type: ignore[arg-type]
    assert "--scheduler" not in plain.command(job, "p_1")
    on_dask = JobManager(
        ServiceConfig(data_dir=tmp_path, scheduler="tcp://10.0.0.5:8786"),
        sessions=None,  # type: ignore[arg-type]
    )
    command = on_dask.command(job, "p_1")
    assert command[command.index("--scheduler") + 1] == "tcp://10.0.0.5:8786"


def test_serve_refuses_a_scheduler_it_cannot_reach(tmp_path: Path) -> None:
    from cli import main

    address = f"tcp://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        main, ["serve", "--data", str(tmp_path / "data"), "--scheduler", address]
    )
    assert result.exit_code == 2, result.output
    assert f"cannot reach the Dask scheduler at {address}" in result.output


def test_check_scheduler_counts_the_workers(cluster: Any) -> None:
    assert dask_jobs.check_scheduler(cluster.scheduler_address) == 2


@pytest.mark.slow
def test_a_job_survives_the_loss_of_its_worker(
    cluster: Any, scenario_dir: Path, tmp_path: Path
) -> None:
    pipe = _Pipe()
    args = _args(scenario_dir, tmp_path / "plan", cluster.scheduler_address, 8.0)
    outcome: list[int] = []
    job = threading.Thread(
        target=lambda: outcome.append(worker.run_job(args, worker._Events(pipe), threading.Event()))
    )
    job.start()
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        deadline = time.monotonic() + 60
        busy: list[str] = []
        while not busy and time.monotonic() < deadline:
            if _progress(pipe.events()):
                busy = [w for w, keys in client.processing().items() if keys]
            time.sleep(0.2)
        assert busy, "the job never started on a worker"
        # The worker process dies mid-job, as a killed `dask worker` would.
        (pid,) = client.run(os.getpid, workers=busy).values()
        os.kill(pid, signal.SIGKILL)
    job.join(timeout=240)
    assert outcome == [worker.EXIT_OK]
    events = pipe.events()
    assert isinstance(events[-1], Done)
    progress = _progress(events)
    assert progress == sorted(progress)
    # The task ran twice: each run starts by saying "planning".
    starts = [e for e in events if isinstance(e, Progress) and e.message == "planning"]
    assert len(starts) >= 2
    assert (tmp_path / "plan" / "plan.json").is_file()


@pytest.mark.slow
def test_bsb_serve_hands_its_jobs_to_the_cluster(cluster: Any, tmp_path: Path) -> None:
    from tests.service_live import create_token, scenario_zip, start_server, upload, wait_for_job

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    token = create_token(data_dir, "planner")
    server = start_server(data_dir, "--scheduler", cluster.scheduler_address)
    server.planner_token = token
    try:
        archive = scenario_zip(tmp_path, size=20, seed=91_919)
        with server.client("planner") as client:
            uploaded = upload(client, archive)
            assert uploaded.status_code == 201, uploaded.text
            response = client.post(
                "/api/v1/jobs", json={"scenario_id": uploaded.json()["id"], "time_limit_s": 3}
            )
            assert response.status_code == 202, response.text
            job = wait_for_job(client, response.json()["id"])
            assert job["status"] == "done", job
            plan = client.get(f"/api/v1/plans/{job['plan_id']}/files/plan.json")
            assert plan.status_code == 200
            assert plan.json()["kpis"] == job["kpis"]
        log = (data_dir / "jobs" / f"{job['id']}.log").read_text(encoding="utf-8")
        assert f"runs on the Dask cluster at {cluster.scheduler_address}" in log
        # The planner logged on the Dask worker, not in the job process.
        assert "planning took" not in log
    finally:
        server.stop()
