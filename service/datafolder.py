"""The data folder belongs to the service: ownership check, one server per folder, cleanup.

``bsb serve --data DIR`` works in ``DIR`` only if every entry there is one bsb itself makes
(see :data:`TOP_LEVEL`, :data:`NAMED`), so it never deletes, renames or writes over a file of
somebody else's. It marks a folder it adopts with :data:`MARKER`. One server per folder: it
holds an exclusive ``flock`` on :data:`LOCK_NAME` (the file holds its pid) for as long as it
runs; a second server finds the lock taken and stops before it touches anything. At start, the
server (holding the lock, so nobody else is writing there) removes only its own temporary
entries, recognised by their names: half-received uploads, half-written plan folders, and
scenario or plan folders its database has no row for.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from optimizer.errors import InputError, Problem

LOG = logging.getLogger("bsb.service")

MARKER = ".bsb-data.json"
"""Written when the service creates or adopts a data folder: says whose folder it is."""
LOCK_NAME = ".bsb-serve.lock"
"""Locked (``flock``, exclusive) by the running server; holds its pid."""
MARKER_VERSION = 1

_HEX16 = "[0-9a-f]{16}"
SCENARIO_NAME = re.compile(rf"s_{_HEX16}")
PLAN_NAME = re.compile(rf"p_{_HEX16}")
JOB_LOG_NAME = re.compile(rf"j_{_HEX16}\.log")
UPLOAD_NAME = re.compile(rf"upload-[sj]_{_HEX16}")
"""``tmp/upload-<scenario id>`` or ``tmp/upload-<job id>`` (a re-plan's progress): an upload
being received and checked."""
JOB_PROGRESS_NAME = re.compile(rf"j_{_HEX16}\.progress")
"""``jobs/<job id>.progress/``: the progress folder a re-plan job reads (kept with its log)."""
JOB_WHATIF_NAME = re.compile(rf"j_{_HEX16}\.whatif(\.json)?")
"""``jobs/<job id>.whatif.json`` (a what-if job's question) and ``jobs/<job id>.whatif/`` (its
answer folder), kept with its log (:mod:`service.whatif`)."""
JOB_WHATIF_STAGING_NAME = re.compile(
    rf"\.j_{_HEX16}\.whatif\.(tmp-[0-9]+-[0-9a-f]{{12}}|old-[A-Za-z0-9_]+)"
)
"""A what-if answer folder being written (``geodata.output_guard``'s staging and backup)."""
PLAN_STAGING_NAME = re.compile(rf"\.p_{_HEX16}\.(tmp-[0-9]+-[0-9a-f]{{12}}|old-[A-Za-z0-9_]+)")
"""A plan folder being written (``geodata.output_guard``'s staging and backup names)."""
SECRET_TEMP_NAME = re.compile(r"secret\.key\.tmp-[0-9]+")
MARKER_TEMP_NAME = re.compile(rf"{re.escape(MARKER)}\.tmp-[0-9]+")

TOP_LEVEL = frozenset(
    {
        "scenarios",
        "plans",
        "jobs",
        "tmp",
        "secret.key",
        "bsb.db",
        "bsb.db-wal",
        "bsb.db-shm",
        "bsb.db-journal",
        MARKER,
        LOCK_NAME,
    }
)
"""Every name the service may have made at the top of its data folder."""
FOLDERS = frozenset({"scenarios", "plans", "jobs", "tmp"})
NAMED: dict[str, tuple[re.Pattern[str], ...]] = {
    "scenarios": (SCENARIO_NAME,),
    "plans": (PLAN_NAME, PLAN_STAGING_NAME),
    "jobs": (JOB_LOG_NAME, JOB_PROGRESS_NAME, JOB_WHATIF_NAME, JOB_WHATIF_STAGING_NAME),
    "tmp": (UPLOAD_NAME,),
}
"""What each sub-folder may hold: only names the service gives its own entries."""


class DataFolderError(InputError):
    """The data folder holds entries the service did not make; nothing was touched.

    Parameters
    ----------
    folder
        The data folder.
    foreign
        Every offending entry, relative to ``folder``; each becomes one problem.
    """

    def __init__(self, folder: Path, foreign: list[str]) -> None:
        super().__init__(
            Problem(
                str(folder / entry),
                "not made by bsb serve: it works only in an empty folder or one it made; "
                "move this away or choose another --data folder",
            )
            for entry in foreign
        )
        self.folder = folder
        self.foreign = foreign


class DataFolderBusyError(InputError):
    """Another server holds the data folder (or the database); nothing was touched.

    Parameters
    ----------
    where
        The data folder or the database.
    holder
        Who holds it, e.g. ``pid 4242``.
    """

    def __init__(self, where: str, holder: str) -> None:
        super().__init__(
            [Problem(where, f"another bsb serve ({holder}) is using it; one server at a time")]
        )
        self.holder = holder


@dataclass
class DataFolderLock:
    """The exclusive lock on a data folder, held while the server runs."""

    folder: Path
    fd: int | None

    def release(self) -> None:
        """Release the lock (also released by the kernel if the process dies)."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)  # closing the only descriptor drops the flock
            self.fd = None


def foreign_entries(folder: Path) -> list[str]:
    """Return every entry of ``folder`` the service would not have made, sorted.

    Parameters
    ----------
    folder
        A data folder (existing).

    Returns
    -------
    list of str
        Paths relative to ``folder``; sub-folders are looked into one level deep.
    """
    foreign: list[str] = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name in FOLDERS:
            if entry.is_symlink() or not entry.is_dir():
                foreign.append(name)
                continue
            patterns = NAMED[name]
            for inner in sorted(entry.iterdir()):
                if not any(p.fullmatch(inner.name) for p in patterns) or inner.is_symlink():
                    foreign.append(f"{name}/{inner.name}")
        elif name in TOP_LEVEL:
            if entry.is_symlink() or not entry.is_file():
                foreign.append(name)
        elif not (SECRET_TEMP_NAME.fullmatch(name) or MARKER_TEMP_NAME.fullmatch(name)):
            foreign.append(name)
    return foreign


def claim_data_folder(folder: Path) -> DataFolderLock:
    """Check that ``folder`` is the service's, take its lock and mark it.

    A missing folder is created; an empty one, or one whose every entry is one the service
    makes (a folder an older bsb or ``bsb token create`` made), is adopted. Nothing is written
    before the check passes and the lock is held.

    Parameters
    ----------
    folder
        The data folder.

    Returns
    -------
    DataFolderLock
        Held until :meth:`DataFolderLock.release` or the process ends.

    Raises
    ------
    DataFolderError
        If the folder holds anything else (every such entry is named), or is not a folder.
    DataFolderBusyError
        If another server holds the folder; the message names its pid.
    """
    # The folder itself may be a link to a folder (e.g. onto a bigger disk); entries inside
    # may not (foreign_entries), as they could lead anywhere.
    if folder.exists() and not folder.is_dir():
        raise DataFolderError(folder.parent, [folder.name])
    folder.mkdir(parents=True, exist_ok=True)
    foreign = foreign_entries(folder)
    if foreign:
        raise DataFolderError(folder, foreign)
    lock_path = folder / LOCK_NAME
    # O_NOFOLLOW: a link planted at the lock's name must not make us write elsewhere.
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        raise DataFolderBusyError(str(folder), f"pid {holder}") from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    lock = DataFolderLock(folder, fd)
    try:
        if not (folder / MARKER).is_file():
            _write_marker(folder)
    except BaseException:
        lock.release()
        raise
    return lock


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"


def _write_marker(folder: Path) -> None:
    temporary = folder / f"{MARKER}.tmp-{os.getpid()}"
    data = {
        "bsb_data": MARKER_VERSION,
        "what": "data folder of the bsb planning service (bsb serve); do not put other files here",
    }
    temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    temporary.replace(folder / MARKER)


def remove_own_temporary(
    folder: Path, *, scenario_ids: Iterable[str], plan_ids: Iterable[str]
) -> list[str]:
    """Remove the service's own leftovers; call it holding the folder's lock.

    Removed: everything in ``tmp/`` named like an upload, half-written plan folders,
    scenario and plan folders named like the service's ids that have no row, and leftover
    temporary files of the secret and the marker. An entry with any other name is never
    touched (:func:`claim_data_folder` has refused such a folder already).

    Parameters
    ----------
    folder
        The data folder.
    scenario_ids, plan_ids
        The ids the database knows.

    Returns
    -------
    list of str
        The entries removed, relative to ``folder``.
    """
    known = {"scenarios": set(scenario_ids), "plans": set(plan_ids)}

    def removable(sub: str, name: str) -> bool:
        if sub == "tmp":
            return UPLOAD_NAME.fullmatch(name) is not None
        if sub == "plans" and PLAN_STAGING_NAME.fullmatch(name):
            return True
        if sub == "jobs":
            return JOB_WHATIF_STAGING_NAME.fullmatch(name) is not None
        own = PLAN_NAME if sub == "plans" else SCENARIO_NAME
        return own.fullmatch(name) is not None and name not in known[sub]

    removed: list[str] = []
    for sub in ("tmp", "plans", "scenarios", "jobs"):
        here = folder / sub
        if not here.is_dir() or here.is_symlink():
            continue
        for entry in sorted(here.iterdir()):
            if removable(sub, entry.name):
                LOG.warning("removing %s/%s, left unfinished by an earlier server", sub, entry.name)
                remove_tree(entry)
                removed.append(f"{sub}/{entry.name}")
    for entry in sorted(folder.iterdir()):
        if SECRET_TEMP_NAME.fullmatch(entry.name) or MARKER_TEMP_NAME.fullmatch(entry.name):
            remove_tree(entry)
            removed.append(entry.name)
    return removed


def remove_tree(path: Path) -> None:
    """Remove a folder (never following a link) or a file; what is gone already is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
