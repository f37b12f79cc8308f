"""File helpers shared by every writer: safe file names, atomic writes, package data files.

A file name made of an id (a truck, a drop point, a warehouse) goes through :func:`safe_stem`;
a file bsb writes goes to disk through :func:`write_atomic`, so a reader never sees half of it
and a failed write leaves no temporary file behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

__all__ = [
    "numbered_stem",
    "package_text",
    "safe_stem",
    "short_hash",
    "unique_stems",
    "write_atomic",
]

_STEM_MAX: Final = 60
_HASH_CHARS: Final = 8
_UNSAFE_FILE_CHARS: Final = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)


def safe_stem(text: str) -> str:
    """Make a file-name stem of an id: safe characters only, plus a hash if it had to change.

    Parameters
    ----------
    text
        Any id (drop point, truck, ...).

    Returns
    -------
    str
        ``text`` itself when it is made of ``A-Z a-z 0-9 . _ -`` only, is not a reserved Windows
        device name and is short; otherwise a cleaned version followed by ``-`` and the first
        8 hex digits of the SHA-1 of ``text`` (so distinct ids keep distinct names).
    """
    stem = _UNSAFE_FILE_CHARS.sub("_", text).strip("._")[:_STEM_MAX]
    # Windows reserves device names even with an extension: "CON.csv", "con.x.xlsx".
    if stem and stem == text and stem.split(".")[0].upper() not in _WINDOWS_RESERVED:
        return stem
    return f"{stem or 'id'}-{short_hash(text)}"


def short_hash(text: str) -> str:
    """Return the first 8 hex digits of the SHA-1 of ``text``, to tell ids apart."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:_HASH_CHARS]


def unique_stems(ids: Iterable[str]) -> dict[str, str]:
    """:func:`safe_stem` per id, also distinct on case-insensitive file systems.

    Parameters
    ----------
    ids
        The ids, each once.

    Returns
    -------
    dict[str, str]
        Id to stem; a stem that would clash (ignoring case) with an earlier one gets the id's
        :func:`short_hash` appended.
    """
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for text in ids:
        stem = safe_stem(text)
        if stem.casefold() in taken:
            stem = f"{stem}-{short_hash(text)}"
        taken.add(stem.casefold())
        stems[text] = stem
    return stems


def numbered_stem(identifier: str, used: set[str]) -> str:
    """Return :func:`safe_stem` of an id, numbered ``_2``, ``_3``, ... if already ``used``.

    The maps' file names (one page per warehouse) are made this way; the papers use
    :func:`unique_stems`, which appends a hash instead. Both stay as they are, so the names of
    files users already have do not change.

    Parameters
    ----------
    identifier
        Any id.
    used
        Stems already taken, lower-cased; the returned stem is added to it.

    Returns
    -------
    str
        A stem distinct, ignoring case, from every stem in ``used``.
    """
    stem = safe_stem(identifier)
    candidate = stem
    counter = 2
    while candidate.lower() in used:
        candidate = f"{stem}_{counter}"
        counter += 1
    used.add(candidate.lower())
    return candidate


def write_atomic(target: Path, content: bytes, *, private: bool = True) -> None:
    """Write ``content`` to ``target`` through a temporary sibling and ``os.replace``.

    Parameters
    ----------
    target
        The file; its folder is created if missing.
    content
        The bytes to write.
    private
        True (default): the file is readable by its owner only (``0600``, as
        ``tempfile.mkstemp`` makes it). False: the umask's permissions, like every other file
        of the folder (a plan folder's manifest).

    Raises
    ------
    OSError
        If writing fails; no temporary file is left behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if private:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        temporary = Path(name)
        stream = os.fdopen(handle, "wb")
    else:
        temporary = target.parent / f".{target.name}.tmp-{secrets.token_hex(6)}"
        stream = temporary.open("xb")  # "x": a new file, never one someone else made
    try:
        with stream:
            stream.write(content)
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@cache
def package_text(package: str, name: str) -> str:
    """Return a text file shipped inside a package (a stylesheet, a script), exactly as stored.

    The pages' JavaScript and CSS live as files (``geodata/assets/``, ``documents/assets/``)
    included in the wheel as package data, not as strings in Python.

    Parameters
    ----------
    package
        Import name of the package holding the file, e.g. ``"geodata"``.
    name
        Path of the file inside the package, e.g. ``"assets/map.js"``.

    Returns
    -------
    str
        The file's UTF-8 text; its bytes are never changed (no newline translation), so the
        pages that inline it stay byte-identical.

    Raises
    ------
    FileNotFoundError
        If the package does not hold the file (an install without its package data).
    """
    return resources.files(package).joinpath(name).read_bytes().decode("utf-8")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MB blocks (extracts run to hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """Return bsb's cache folder for road graphs and matrices.

    ``$BSB_CACHE_DIR``, else ``$XDG_CACHE_HOME/bsb``, else ``~/.cache/bsb``. bsb writes only
    its own files there (``graphs/<key>.npz``, ``travel/<key>.npz``), atomically.
    """
    if explicit := os.environ.get("BSB_CACHE_DIR"):
        return Path(explicit)
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg) / "bsb"
    return Path.home() / ".cache" / "bsb"
