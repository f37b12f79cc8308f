"""The data folder belongs to the service: what it refuses, the lock, and what it removes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from service.datafolder import (
    LOCK_NAME,
    MARKER,
    DataFolderBusyError,
    DataFolderError,
    claim_data_folder,
    foreign_entries,
    remove_own_temporary,
)
from tests.service_live import bsb, create_token, start_server

S_ID = "s_0123456789abcdef"
P_ID = "p_0123456789abcdef"
J_LOG = "j_0123456789abcdef.log"


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() if path.is_file() else None
        for path in sorted(folder.rglob("*"))
    }


def _service_folder(folder: Path) -> Path:
    """A folder with one of each entry the service makes."""
    for sub in ("scenarios", "plans", "jobs", "tmp"):
        (folder / sub).mkdir(parents=True)
    (folder / "bsb.db").write_bytes(b"SQLite format 3\x00")
    (folder / "secret.key").write_bytes(b"k" * 32)
    (folder / "scenarios" / S_ID).mkdir()
    (folder / "plans" / P_ID).mkdir()
    (folder / "jobs" / J_LOG).write_text("log")
    (folder / "tmp" / f"upload-{S_ID}").mkdir()
    return folder


def test_a_folder_of_service_entries_is_the_services(tmp_path: Path) -> None:
    assert foreign_entries(_service_folder(tmp_path / "data")) == []


def test_every_foreign_entry_is_named_and_nothing_is_touched(tmp_path: Path) -> None:
    data = _service_folder(tmp_path / "data")
    (data / "notes.txt").write_text("mine")
    (data / "plans" / "my plans").mkdir()
    (data / "tmp" / "upload-mine").mkdir()
    (data / "scenarios" / "s_1").mkdir()  # not the service's naming (16 hex digits)
    (data / "jobs" / "j_0123456789abcdef.log.bak").write_text("x")
    (data / "secret.key").unlink()
    (data / "secret.key").mkdir()  # the right name, the wrong kind
    (data / "plans" / P_ID.replace("p_0", "p_1")).symlink_to("/etc")
    before = _snapshot(data)
    with pytest.raises(DataFolderError) as caught:
        claim_data_folder(data)
    assert caught.value.foreign == [
        "jobs/j_0123456789abcdef.log.bak",
        "notes.txt",
        "plans/my plans",
        "plans/p_1123456789abcdef",
        "scenarios/s_1",
        "secret.key",
        "tmp/upload-mine",
    ]
    assert "notes.txt" in str(caught.value)
    # Refused before anything was written: no marker, no lock file.
    assert _snapshot(data) == before
    assert not (data / MARKER).exists() and not (data / LOCK_NAME).exists()


def test_a_file_given_as_the_data_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file")
    with pytest.raises(DataFolderError):
        claim_data_folder(tmp_path / "data")
    assert (tmp_path / "data").read_text() == "a file"


def test_new_empty_and_old_folders_are_adopted_and_marked(tmp_path: Path) -> None:
    old = _service_folder(tmp_path / "old")  # an older bsb's, or `bsb token create`'s
    for folder in (tmp_path / "new" / "data", tmp_path / "empty", old):
        if folder.name == "empty":
            folder.mkdir()
        lock = claim_data_folder(folder)
        try:
            assert (folder / MARKER).is_file()
            assert (folder / LOCK_NAME).read_text().strip() == str(os.getpid())
        finally:
            lock.release()
        # Marked and released: the next server takes it again.
        claim_data_folder(folder).release()


def test_one_holder_at_a_time(tmp_path: Path) -> None:
    lock = claim_data_folder(tmp_path / "data")
    try:
        with pytest.raises(DataFolderBusyError, match=f"pid {os.getpid()}"):
            claim_data_folder(tmp_path / "data")
    finally:
        lock.release()
    claim_data_folder(tmp_path / "data").release()


def test_only_the_services_own_leftovers_are_removed(tmp_path: Path) -> None:
    data = _service_folder(tmp_path / "data")
    staging = f".{P_ID}.tmp-77-0123456789ab"
    (data / "plans" / staging).mkdir()
    (data / "plans" / "p_fedcba9876543210").mkdir()  # a plan with a row
    (data / "secret.key.tmp-99").write_bytes(b"half")
    # Not the service's naming: left alone (claim_data_folder refuses such a folder anyway).
    (data / "tmp" / "mine").mkdir()
    (data / "plans" / "mine").mkdir()
    removed = remove_own_temporary(data, scenario_ids=[], plan_ids=["p_fedcba9876543210"])
    assert removed == [
        f"tmp/upload-{S_ID}",
        f"plans/{staging}",
        f"plans/{P_ID}",
        f"scenarios/{S_ID}",
        "secret.key.tmp-99",
    ]
    assert sorted(p.name for p in (data / "plans").iterdir()) == ["mine", "p_fedcba9876543210"]
    assert [p.name for p in (data / "tmp").iterdir()] == ["mine"]
    assert (data / "jobs" / J_LOG).exists()


def test_bsb_serve_refuses_a_foreign_folder_with_exit_2(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "plans").mkdir(parents=True)
    (home / "plans" / "2025 budget.xlsx").write_bytes(b"precious")
    (home / "tmp").mkdir()
    (home / "tmp" / "draft").mkdir()
    before = _snapshot(home)
    result = bsb("serve", "--data", str(home), "--port", "0", check=False)
    assert result.returncode == 2, result.stderr
    assert "2025 budget.xlsx" in result.stderr and "draft" in result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(home) == before


def test_a_second_server_on_the_folder_is_refused_and_touches_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    token = create_token(data, "planner")
    first = start_server(data)
    try:
        # An upload the first server is receiving: a second server must not clean it up.
        receiving = data / "tmp" / f"upload-{S_ID}"
        receiving.mkdir()
        (receiving / "upload.zip").write_bytes(b"PK partial")
        before = _snapshot(data / "tmp")
        second = bsb("serve", "--data", str(data), "--port", "0", check=False)
        assert second.returncode == 2, second.stderr
        assert f"pid {first.process.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        assert _snapshot(data / "tmp") == before
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{first.url}/api/v1/me", headers=headers).status_code == 200
    finally:
        first.stop(signal.SIGKILL)
    # The lock dies with its holder: a new server starts and removes the dead upload.
    again = start_server(data)
    try:
        assert not receiving.exists()
    finally:
        again.stop()
