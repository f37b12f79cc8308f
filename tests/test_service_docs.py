"""docs/service.md says what the service does: its options, its data folder, its messages."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cli import serve
from optimizer.solution import compute_kpis
from service import datafolder
from service.config import ServiceConfig
from service.db import SERVER_LOCK_KEY
from service.events import Done
from tests.conftest import make_tiny_scenario
from tests.service_live import ended_job, running_job

NO_DELIVERIES = compute_kpis(make_tiny_scenario(), (), ()).to_dict()
"""The KPIs of a plan that delivers nothing, as a worker reports them."""

DOC = (Path(__file__).resolve().parent.parent / "docs" / "service.md").read_text()


def _flat(title: str) -> str:
    return " ".join(_section(title).split())


def _section(title: str) -> str:
    start = DOC.index(f"\n## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end >= 0 else None]


def test_every_serve_option_is_documented_and_no_other() -> None:
    options = {opt for param in serve.params for opt in param.opts if opt.startswith("--")}
    table = {
        match.group(1)
        for line in _section("Start it").splitlines()
        if line.startswith("| `--")
        for match in [re.match(r"\| `(--[a-z-]+)", line)]
        if match
    }
    assert table <= options
    for option in options:
        assert f"`{option}" in _section("Start it"), option


def test_the_data_folder_table_names_exactly_what_the_service_makes() -> None:
    rows = [line for line in _section("The data folder").splitlines() if line.startswith("| `")]
    names = {name for row in rows for name in re.findall(r"`([^`]+)`", row.split("|")[1])}
    top = {name.rstrip("/").split("/")[0] for name in names}
    assert top == datafolder.TOP_LEVEL
    examples = {
        "scenarios/s_<16 hex digits>/": datafolder.SCENARIO_NAME,
        "plans/p_<16 hex digits>/": datafolder.PLAN_NAME,
        "jobs/j_<16 hex digits>.log": datafolder.JOB_LOG_NAME,
        "tmp/upload-s_<16 hex digits>/": datafolder.UPLOAD_NAME,
    }
    for documented, pattern in examples.items():
        assert documented in names
        concrete = documented.split("/")[1].replace("<16 hex digits>", "0123456789abcdef")
        assert pattern.fullmatch(concrete), documented
    staging = ".p_0123456789abcdef.tmp-42-0123456789ab"
    assert datafolder.PLAN_STAGING_NAME.fullmatch(staging)
    assert ".p_<16 hex>.tmp-<pid>-<12 hex>" in _section("The data folder")


def test_the_postgresql_lock_key_is_the_documented_one() -> None:
    assert f"key `{SERVER_LOCK_KEY:#x}`" in _section("The data folder")


def test_the_documented_job_endings_are_what_the_service_writes(tmp_path: Path) -> None:
    config = ServiceConfig(data_dir=tmp_path / "data", job_memory_mb=321)
    manager, run = running_job(config)
    run.killed, run.over_memory_mb = True, 812
    manager._finish(run, -9, None)
    documented = re.search(r"`(stopped: the job's processes used N MB[^`]*)`", _flat("API"))
    assert documented is not None
    expected = documented.group(1).replace("N MB", "812 MB").replace("M MB", "321 MB")
    assert ended_job(manager).error == expected

    manager, run = running_job(ServiceConfig(data_dir=tmp_path / "other"), cancel_requested=True)
    (manager.config.plans_dir / run.plan_id).mkdir(parents=True)
    manager._finish(run, 0, Done(status="interrupted", kpis=NO_DELIVERIES))
    message = ended_job(manager).message
    assert f"`{message}`" in _flat("API")


def test_the_refusal_of_a_second_server_is_the_documented_one(tmp_path: Path) -> None:
    lock = datafolder.claim_data_folder(tmp_path / "data")
    try:
        with pytest.raises(datafolder.DataFolderBusyError) as caught:
            datafolder.claim_data_folder(tmp_path / "data")
    finally:
        lock.release()
    problem = caught.value.problems[0].message
    assert problem.startswith(f"another bsb serve (pid {os.getpid()}) is using it")
    assert "`another bsb serve (pid N) is using it`" in _flat("The data folder")
