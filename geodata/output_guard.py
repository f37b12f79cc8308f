"""Decide whether bsb may write an output, so that no command destroys what bsb did not write.

Every folder bsb writes (a plan, a sample scenario, a demo, a benchmark run) holds a manifest,
``.bsb-output.json``::

    {"bsb_output": 1, "kind": "plan", "files": {"plan.json": "<sha256>", ...}}

``files`` maps every file bsb wrote (relative POSIX path) to its SHA-256, so a folder can be
told apart from one that also holds something bsb did not write: a file not listed, a file
changed since, a folder no listed file lies in, a symbolic link. A sub-folder holding its own
manifest (the demo's ``scenario/`` and ``plan/``) is judged by that manifest. ``files`` is
``null`` for a benchmark run, whose files grow while it runs; the runner checks its layout.

The rules (:func:`check_output_folder`) for ``-o FOLDER``:

* never the scenario folder, a folder that holds it, or a folder inside it (paths resolved,
  so symbolic links and ``..`` do not get round it);
* a missing or empty folder is written;
* a folder bsb wrote, of the same kind and holding nothing else, is replaced only with
  ``force``;
* anything else (a file, a link, a folder with files bsb did not write) is refused.

A refusal raises :class:`~optimizer.errors.InputError` (exit 2) saying what was found and what
to do, before anything is written. :func:`write_folder_atomically` applies the rules, writes the
new folder under a hidden temporary sibling, adds the manifest, checks again and renames it into
place, so a refused or failed run leaves every file as it was and no temporary folder.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from geodata.files import file_sha256, write_atomic
from optimizer.errors import InputError, Problem

logger = logging.getLogger(__name__)

MANIFEST_NAME: Final = ".bsb-output.json"
"""The marker file bsb writes into every folder it creates."""

MANIFEST_VERSION: Final = 1

KIND_NAMES: Final[Mapping[str, str]] = {
    "plan": "a plan",
    "scenario": "a sample scenario",
    "demo": "a demo (sample scenario and plan)",
    "bench-run": "a benchmark run",
    "whatif": "a what-if (tables, plots and, for --finish-by, a plan)",
    "national": "a national plan (bsb plan --by-warehouse)",
}
"""Manifest kinds and how a message names them."""

SHOWN_ENTRIES: Final = 5
"""How many foreign entries a message names before it says "and N more"."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a ``.bsb-output.json`` says.

    ``files`` maps each file bsb wrote (relative POSIX path) to its SHA-256 hex digest, or is
    ``None`` for kinds whose files grow after writing (a benchmark run).
    """

    kind: str
    files: Mapping[str, str] | None


def read_manifest(folder: Path) -> Manifest | None:
    """Read ``folder``'s manifest.

    Parameters
    ----------
    folder
        A folder.

    Returns
    -------
    Manifest | None
        The manifest, or ``None`` when there is none or it is not one bsb wrote (unreadable,
        or a link): such a folder counts as not written by bsb.
    """
    path = folder / MANIFEST_NAME
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("bsb_output") != MANIFEST_VERSION:
        return None
    kind, files = data.get("kind"), data.get("files")
    if not isinstance(kind, str):
        return None
    if files is None:
        return Manifest(kind, None)
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        return None
    return Manifest(kind, dict(files))


def write_manifest(folder: Path, kind: str, *, track_files: bool = True) -> None:
    """Write ``folder``'s manifest, listing (and hashing) every file now in it.

    Sub-folders that hold their own manifest are left to it.

    Parameters
    ----------
    folder
        The folder bsb has just written.
    kind
        One of :data:`KIND_NAMES`.
    track_files
        ``False`` writes ``"files": null`` (a benchmark run).
    """
    files = _hash_files(folder) if track_files else None
    _write_manifest_data(folder, kind, files)


def add_to_manifest(folder: Path, written: Iterable[Path]) -> None:
    """Record files bsb has just written into a folder that holds a manifest.

    Does nothing when ``folder`` holds no manifest, or one that does not list files.

    Parameters
    ----------
    folder
        The folder with the manifest.
    written
        Files inside ``folder``.
    """
    manifest = read_manifest(folder)
    if manifest is None or manifest.files is None:
        return
    files = dict(manifest.files)
    for path in written:
        files[path.relative_to(folder).as_posix()] = file_sha256(path)
    _write_manifest_data(folder, manifest.kind, files)


def relist_in_manifest(folder: Path, subfolder: str) -> None:
    """Make ``folder``'s manifest list exactly the files now in ``subfolder``, which bsb rewrote.

    Entries of other files are kept as they are: a file someone put elsewhere in the folder
    never becomes listed as written by bsb.

    Parameters
    ----------
    folder
        The folder with the manifest (it must list files).
    subfolder
        The rewritten sub-folder, relative POSIX path (``"papers"``).
    """
    manifest = read_manifest(folder)
    if manifest is None or manifest.files is None:
        return
    prefix = subfolder.rstrip("/") + "/"
    files = {name: sha for name, sha in manifest.files.items() if not name.startswith(prefix)}
    files |= {f"{prefix}{name}": sha for name, sha in _hash_files(folder / subfolder).items()}
    _write_manifest_data(folder, manifest.kind, files)


def foreign_entries(folder: Path, manifest: Manifest) -> list[str]:
    """List what in ``folder`` bsb did not write, judged by its manifest.

    Parameters
    ----------
    folder
        A folder holding ``manifest``.
    manifest
        Its manifest; one with ``files`` ``None`` lists nothing here (its writer checks it).

    Returns
    -------
    list of str
        Relative POSIX paths, sorted: files not listed or changed since bsb wrote them (a
        changed one is followed by ``" (changed)"``), folders no listed file lies in (ending in
        ``/``), symbolic links.
    """
    if manifest.files is None:
        return []
    listed = manifest.files
    holders = {str(parent) for name in listed for parent in PurePosixPath(name).parents}
    found: list[str] = []
    for entry in sorted(folder.iterdir()):
        _judge(entry, entry.name, listed, holders, found)
    return sorted(found)


def _judge(
    entry: Path, relative: str, listed: Mapping[str, str], holders: set[str], found: list[str]
) -> None:
    if relative == MANIFEST_NAME:
        return
    if entry.is_symlink():
        found.append(relative)
    elif entry.is_dir():
        nested = read_manifest(entry)
        if nested is not None:
            found.extend(f"{relative}/{name}" for name in foreign_entries(entry, nested))
        elif relative not in holders:
            found.append(relative + "/")
        else:
            for child in sorted(entry.iterdir()):
                _judge(child, f"{relative}/{child.name}", listed, holders, found)
    elif relative not in listed:
        found.append(relative)
    elif file_sha256(entry) != listed[relative]:
        found.append(relative + " (changed)")


def check_output_folder(
    target: Path,
    *,
    kind: str,
    force: bool,
    protected: Sequence[Path] = (),
    option: str = "-o",
) -> None:
    """Refuse an output folder that bsb must not write (see the module docstring).

    Parameters
    ----------
    target
        The folder to create or replace.
    kind
        What will be written there, one of :data:`KIND_NAMES`.
    force
        Whether the user allowed replacing a folder bsb wrote earlier.
    protected
        Input folders (the scenario) that must never be replaced, held or written into.
    option
        How the user named ``target`` (``-o``, ``OUT_DIR``, ``--out``), for the message.

    Raises
    ------
    InputError
        With one problem saying what was found and what to do. Nothing has been written.
    """
    problem = output_folder_problem(
        target, kind=kind, force=force, protected=protected, option=option
    )
    if problem is not None:
        raise InputError([problem])


def output_folder_problem(
    target: Path,
    *,
    kind: str,
    force: bool,
    protected: Sequence[Path] = (),
    option: str = "-o",
) -> Problem | None:
    """Return the problem :func:`check_output_folder` would raise, or ``None`` if none."""
    where = f"{option} {target}"
    clash = _protected_clash(target, protected, kind)
    if clash is not None:
        return Problem(where, clash)
    if target.is_symlink():
        return Problem(
            where,
            "is a symbolic link; bsb does not replace links. Nothing was changed: choose a "
            "new folder.",
        )
    if not target.exists():
        return None
    if Path.cwd().resolve().is_relative_to(target.resolve()):
        # The folder is replaced by a rename: the shell would be left in a deleted folder.
        return Problem(
            where,
            "is or holds the current folder; bsb replaces a folder as a whole, so it cannot "
            "write there. Nothing was changed: give a new folder name, e.g. -o plan.",
        )
    if not target.is_dir():
        return Problem(
            where, "is a file, not a folder. Nothing was changed: choose a new folder name."
        )
    manifest = read_manifest(target)
    if manifest is None:
        entries = sorted(e.name + ("/" if e.is_dir() else "") for e in target.iterdir())
        if not entries:
            return None
        return Problem(
            where,
            f"is not empty and bsb did not write it (it holds {_shown(entries)}). Nothing was "
            "changed: choose a new or empty folder.",
        )
    foreign = foreign_entries(target, manifest)
    if foreign:
        return Problem(
            where,
            f"was written by bsb but also holds what bsb did not write ({_shown(foreign)}). "
            "Nothing was changed: move those away, or choose a new folder.",
        )
    found = KIND_NAMES.get(manifest.kind, f"a bsb output of kind {manifest.kind!r}")
    if manifest.kind != kind:
        wanted = KIND_NAMES.get(kind, kind)
        return Problem(
            where,
            f"holds {found} bsb wrote, not {wanted}; bsb replaces a folder only by one of "
            "the same kind. Nothing was changed: choose a new folder.",
        )
    if not force:
        return Problem(
            where,
            f"holds {found} bsb wrote earlier. Nothing was changed: add --force to replace "
            "it, or choose a new folder.",
        )
    return None


def _protected_clash(target: Path, protected: Sequence[Path], kind: str) -> str | None:
    resolved = target.resolve()
    for folder in protected:
        scenario = folder.resolve()
        if resolved == scenario:
            return (
                "is the scenario folder; bsb never writes over its input. Nothing was "
                f"changed: choose a new folder, e.g. {_new_name(target, kind)}."
            )
        if scenario.is_relative_to(resolved):
            return (
                f"holds the scenario folder {folder}; bsb never replaces a folder that holds "
                "its input. Nothing was changed: choose a new folder outside it."
            )
        if resolved.is_relative_to(scenario):
            return (
                f"is inside the scenario folder {folder}; bsb never writes into its input. "
                "Nothing was changed: choose a folder outside it."
            )
    return None


def _new_name(target: Path, kind: str) -> str:
    """Suggest a new folder beside ``target``, e.g. ``b8-plan`` for ``b8``."""
    name = target.name or target.resolve().name or "out"
    return str(target.parent / f"{name}-{kind}")


def check_output_file(
    target: Path,
    *,
    force: bool,
    written_by_bsb: Callable[[Path], bool],
    protected: Sequence[Path] = (),
    option: str = "-o",
    what: str = "file",
) -> None:
    """Refuse an output file that bsb must not write.

    A missing file is written. An existing file is replaced only when ``written_by_bsb`` says
    bsb wrote it, and then only with ``force`` or when it is listed, unchanged, in the manifest
    of the folder that holds it (a file of a bsb folder is redrawn in place).

    Parameters
    ----------
    target
        The file to write.
    force
        Whether the user allowed replacing a file bsb wrote earlier.
    written_by_bsb
        Recognises a file bsb wrote (e.g. by a marker in it).
    protected
        Input files or folders that must never be written or written into.
    option
        How the user named ``target``, for the message.
    what
        What the file is, for the message (``"map"``, ``"solution file"``).

    Raises
    ------
    InputError
        With one problem saying what was found and what to do.
    """
    problem = output_file_problem(
        target,
        force=force,
        written_by_bsb=written_by_bsb,
        protected=protected,
        option=option,
        what=what,
    )
    if problem is not None:
        raise InputError([problem])


def output_file_problem(
    target: Path,
    *,
    force: bool,
    written_by_bsb: Callable[[Path], bool],
    protected: Sequence[Path] = (),
    option: str = "-o",
    what: str = "file",
) -> Problem | None:
    """Return the problem :func:`check_output_file` would raise, or ``None`` if none."""
    where = f"{option} {target}"
    resolved = target.resolve()
    for item in protected:
        source = item.resolve()
        if resolved == source:
            return Problem(
                where, "is the input itself. Nothing was changed: choose a new file name."
            )
        if source.is_dir() and resolved.is_relative_to(source):
            return Problem(
                where,
                f"is inside the scenario folder {item}; bsb never writes into its input. "
                "Nothing was changed: choose a file outside it.",
            )
    if target.is_symlink():
        return Problem(
            where, "is a symbolic link; bsb does not replace links. Nothing was changed."
        )
    if not target.exists():
        return None
    if not target.is_file():
        return Problem(where, "is a folder, not a file. Nothing was changed: choose a file name.")
    if not written_by_bsb(target) and not _listed_unchanged(target):
        return Problem(
            where,
            f"exists and bsb did not write it. Nothing was changed: choose a new {what} name.",
        )
    if not force and not _listed_unchanged(target):
        return Problem(
            where,
            f"holds a {what} bsb wrote earlier. Nothing was changed: add --force to replace "
            "it, or choose a new file name.",
        )
    return None


def _listed_unchanged(path: Path) -> bool:
    """Whether ``path`` is listed, unchanged, in the manifest of a folder above it."""
    for folder in path.parents:
        manifest = read_manifest(folder)
        if manifest is None:
            continue
        if manifest.files is None:
            return False
        return manifest.files.get(path.relative_to(folder).as_posix()) == file_sha256(path)
    return False


def write_folder_atomically(
    target: Path,
    kind: str,
    write: Callable[[Path], None],
    *,
    force: bool = False,
    protected: Sequence[Path] = (),
    option: str = "-o",
) -> Path:
    """Write a new folder with ``write`` and put it in place of ``target``, or refuse.

    The rules of :func:`check_output_folder` are applied before anything is written and again
    just before the rename (something may have appeared meanwhile).

    Parameters
    ----------
    target
        The folder to create or replace. Its parent is created if missing.
    kind
        One of :data:`KIND_NAMES`, recorded in the manifest.
    write
        Fills the (empty, existing) folder it is given.
    force, protected, option
        As for :func:`check_output_folder`.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    InputError
        When the rules refuse ``target``; nothing is written.
    OSError
        When writing fails. In every error case ``target`` is left as it was and no temporary
        folder remains.
    """
    check_output_folder(target, kind=kind, force=force, protected=protected, option=option)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    staging = _new_sibling(target, "tmp")
    try:
        write(staging)
        write_manifest(staging, kind)
        check_output_folder(target, kind=kind, force=force, protected=protected, option=option)
        replace_folder(staging, target)
    except BaseException:
        # BaseException too: Ctrl-C while writing must not leave a temporary folder behind.
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def replace_folder(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``, replacing a folder already checked as replaceable.

    Parameters
    ----------
    staging
        The complete new folder, a sibling of ``target``.
    target
        Missing, or a folder the caller has checked may be replaced.
    """
    if not target.exists():
        staging.rename(target)
        return
    # Two renames: there is no portable atomic exchange of two folders. Between them target
    # is briefly missing; it is never half-written.
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    backup.rmdir()  # only the unique name is wanted: rename needs it free on Windows
    target.rename(backup)
    try:
        staging.rename(target)
    except BaseException:
        backup.rename(target)
        raise
    try:
        shutil.rmtree(backup)
    except OSError:
        # The new folder is in place; a leftover backup is untidy, not wrong.
        logger.warning("could not remove the previous folder kept at %s", backup)


def _hash_files(folder: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for root, dirs, names in os.walk(folder):
        here = Path(root)
        # A sub-folder with its own manifest is judged by it, not listed here.
        dirs[:] = sorted(d for d in dirs if read_manifest(here / d) is None)
        for name in sorted(names):
            path = here / name
            if path == folder / MANIFEST_NAME or path.is_symlink():
                continue
            files[path.relative_to(folder).as_posix()] = file_sha256(path)
    return files


def _write_manifest_data(folder: Path, kind: str, files: Mapping[str, str] | None) -> None:
    data = {
        "bsb_output": MANIFEST_VERSION,
        "kind": kind,
        "files": None if files is None else dict(sorted(files.items())),
    }
    # Not private: the manifest has the umask's permissions, like the plan's files.
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    write_atomic(folder / MANIFEST_NAME, text.encode("utf-8"), private=False)


def remove_stale_staging(target: Path) -> list[Path]:
    """Remove the half-written folders that a killed bsb left beside ``target``.

    Only bsb's own staging folders are touched: hidden siblings named
    ``.{target}.tmp-{pid}-{12 hex digits}`` whose writing process no longer runs. A folder
    another process is still writing, and anything else, are left alone; so are the
    ``.old-`` backups of :func:`replace_folder`, which may hold the previous output.

    Parameters
    ----------
    target
        The output about to be written.

    Returns
    -------
    list of Path
        The folders removed.
    """
    pattern = re.compile(rf"\.{re.escape(target.name)}\.tmp-(\d+)-[0-9a-f]{{12}}")
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    for entry in sorted(target.parent.iterdir()):
        match = pattern.fullmatch(entry.name)
        if match is None or entry.is_symlink() or not entry.is_dir():
            continue
        if _process_runs(int(match.group(1))):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        logger.info("removed %s, left by a bsb run that was stopped while writing", entry)
        removed.append(entry)
    return removed


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        # Another user's process, or a pid no system has: not ours to judge, keep the folder.
        return True
    return True


def _new_sibling(target: Path, label: str) -> Path:
    """Create a new hidden folder beside ``target``, with the umask's permissions.

    ``tempfile.mkdtemp`` would make it private (0700), and the renamed output with it. The
    name holds this process's id, so that a later run can tell a folder left by a killed run
    (:func:`remove_stale_staging`).
    """
    for _ in range(100):
        candidate = target.parent / f".{target.name}.{label}-{os.getpid()}-{secrets.token_hex(6)}"
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free temporary name beside {target}")


def _shown(entries: Sequence[str]) -> str:
    shown = ", ".join(entries[:SHOWN_ENTRIES])
    more = len(entries) - SHOWN_ENTRIES
    return f"{shown} and {more} more" if more > 0 else shown
