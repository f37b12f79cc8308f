"""The Dask executor: on a LocalCluster, and on a scheduler and workers started apart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from documents.national import NationalProgress, run_national
from optimizer.dask_executor import SCHEDULER_ENV, DaskExecutor
from optimizer.executors import worker_stop
from tests.test_national_run import assert_national_folder, national_scenario

REPO = Path(__file__).resolve().parents[1]


def _square(x: int) -> int:
    return x * x


def _fails_once(marker: str) -> str:
    """Raise the first time (no marker file yet), succeed the second."""
    path = Path(marker)
    if not path.exists():
        path.write_text("tried")
        raise RuntimeError("first try fails")
    return "second try"


def _always_fails() -> None:
    raise ValueError("bad piece")


def _until_stopped(limit_s: float) -> bool:
    """Wait for the task's stop flag; return whether it came before ``limit_s``."""
    flag = worker_stop()
    ends = time.monotonic() + limit_s
    while time.monotonic() < ends:
        if flag is not None and flag.is_set():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def local_dask() -> Iterator[DaskExecutor]:
    stop = threading.Event()
    with DaskExecutor(workers=2, stop=stop) as executor:
        yield executor


def test_tasks_run_on_the_local_cluster_and_stream_back(local_dask: DaskExecutor) -> None:
    assert local_dask.workers == 2
    futures = [local_dask.submit(_square, i) for i in range(6)]
    done: set[object] = set()
    while len(done) < len(futures):
        done |= local_dask.wait_any([f for f in futures if f not in done], 10.0)
    assert [f.result() for f in futures] == [i * i for i in range(6)]


def test_a_failing_task_is_retried_then_reported(local_dask: DaskExecutor, tmp_path: Path) -> None:
    assert local_dask.submit(_fails_once, str(tmp_path / "marker")).result(30) == "second try"
    with pytest.raises(ValueError, match="bad piece"):
        local_dask.submit(_always_fails).result(30)


def test_the_stop_flag_reaches_running_tasks(local_dask: DaskExecutor) -> None:
    future = local_dask.submit(_until_stopped, 30.0)
    time.sleep(1.0)
    assert local_dask.stop is not None
    local_dask.stop.set()  # type: ignore[attr-defined]
    local_dask.wait_any([future], 20.0)
    assert future.result(20) is True


def test_a_national_run_on_a_local_cluster(tmp_path: Path) -> None:
    out = tmp_path / "national"
    with DaskExecutor(workers=2) as executor:
        result = run_national(
            national_scenario(), out, executor=executor, time_limit_s=2.0, max_piece_points=25
        )
    assert result.finished, result.failures
    assert Counter(o.piece for o in result.outcomes) == Counter(p.id for p in result.pieces)
    assert_national_folder(out, national_scenario())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop(SCHEDULER_ENV, None)
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_separate_scheduler_and_workers_survive_a_worker_killed_mid_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    processes = [_start(["scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"])]
    try:
        worker = ["worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
        for name in ("w0", "w1"):
            processes.append(_start([*worker, "--name", name]))
        # Pieces search their whole time limit (no solution limit), so a kill lands mid-piece.
        scenario = national_scenario()
        scenario = replace(scenario, solver=replace(scenario.solver, solution_limit=None))
        monkeypatch.setenv(SCHEDULER_ENV, address)
        killed: list[int] = []
        out = tmp_path / "national"
        with DaskExecutor() as executor:
            client = executor.client
            client.wait_for_workers(2, timeout=60)
            assert executor.workers == 2

            def kill_a_busy_worker(progress: NationalProgress) -> None:
                if killed or progress.pieces_done < 1:
                    return
                busy = {a for a, tasks in client.processing().items() if tasks}
                info = client.scheduler_info()["workers"]
                for addr in busy:
                    victim = processes[1 + ["w0", "w1"].index(info[addr]["name"])]
                    victim.send_signal(signal.SIGKILL)
                    killed.append(victim.pid)
                    return

            result = run_national(
                scenario,
                out,
                executor=executor,
                time_limit_s=2.0,
                max_piece_points=20,
                progress=kill_a_busy_worker,
            )
            assert len(client.scheduler_info()["workers"]) == 1, "the killed worker is still seen"
        assert killed, "no worker was busy when the first piece ended"
        assert result.finished, result.failures
        assert Counter(o.piece for o in result.outcomes) == Counter(p.id for p in result.pieces)
        assert_national_folder(out, national_scenario())
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
