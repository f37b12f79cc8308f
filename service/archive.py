"""Hostile-input checks for uploaded scenario zips and the spreadsheets inside them.

An upload comes from the network, so its zip is treated as an attack until checked:

- *zip slip*: member names such as ``../x``, ``/etc/x``, ``C:\\x`` or ``a\\..\\x`` that would
  write outside the extraction folder;
- *zip bombs*: small archives that inflate to gigabytes (high compression ratios, overlapping
  members, a central directory with millions of entries);
- *links and special files*: a symlink member that later redirects a write or a read;
- *lying headers*: declared sizes that differ from the data, so sizes are counted while
  writing rather than trusted.

Every check gathers all problems and raises one :class:`~optimizer.errors.InputError`; each
problem names the upload and the member (``scenario.zip: ../evil.csv``). Nothing is extracted
or parsed before the checks pass. ``.xlsx``/``.xlsm`` files are zips too; they get the same
checks, without extraction, before a spreadsheet reader opens them.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

from optimizer.errors import InputError, Problem

SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm"})
"""Spreadsheet formats that are zips and get :func:`check_spreadsheets`."""

JUNK_FOLDERS = frozenset({"__MACOSX"})
"""Folders that archivers add and that :func:`extract_zip` skips."""

JUNK_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
"""File names that desktops add and that :func:`extract_zip` skips (as are ``._*`` files)."""

MAX_PROBLEMS = 100
"""Problems listed at most; a hostile archive could otherwise yield an enormous error."""

MAX_NAME_PART_BYTES = 255
"""Longest file or folder name (UTF-8 bytes) that Linux file systems accept."""

MAX_DIRECTORY_BYTES_PER_MEMBER = 1024
"""Central-directory bytes allowed per permitted member (46 fixed, the rest name and extras).

Checked before :mod:`zipfile` parses the directory, because parsing a 50 MB directory of
empty entries builds a million objects."""

ALLOWED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
"""What ordinary zip tools write. bzip2 and LZMA are refused: rare, slow, and an LZMA header
sets how much memory the decoder takes."""

COPY_CHUNK_BYTES = 1 << 16

_ENCRYPTED_FLAGS = 0x1 | 0x40  # traditional and strong encryption
_LOCAL_HEADER_BYTES = 30
_DRIVE = re.compile(r"^[A-Za-z]:")
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Caps on what an uploaded archive (or a spreadsheet inside it) may hold.

    Sizes are uncompressed bytes as declared in the archive and, on extraction, as written.
    """

    max_members: int = 1000
    """Entries (files and folders) in one archive."""
    max_total_bytes: int = 200 * 2**20
    """Uncompressed bytes of all members together."""
    max_member_bytes: int = 100 * 2**20
    """Uncompressed bytes of one member."""
    max_ratio: float = 100.0
    """Uncompressed / compressed size, per member and for the whole archive file."""
    max_depth: int = 8
    """Path components of a member name (``a/b/c.csv`` has 3)."""
    ratio_exempt_bytes: int = 64 * 2**10
    """Members (and archives) smaller than this, uncompressed, skip the ratio check: small text
    compresses very well and cannot do harm."""


def check_zip(path: Path, limits: ArchiveLimits, display: str) -> list[zipfile.ZipInfo]:
    """Check a zip's directory against hostile names, links, encryption and size caps.

    Nothing is decompressed: sizes are the declared ones (:func:`extract_zip` counts the real
    ones).

    Parameters
    ----------
    path
        The zip file.
    limits
        Caps on members, sizes, ratios and depth.
    display
        Name of the upload in problems, e.g. ``scenario.zip``.

    Returns
    -------
    list of zipfile.ZipInfo
        The regular file members, in archive order (folder entries left out).

    Raises
    ------
    InputError
        With every problem found: not a zip, a member name that escapes the folder (``..``,
        absolute, drive letter, backslash, control characters, empty, too deep, too long),
        links and special files, encryption, unsupported compression, duplicate names (also
        after case folding), too many members, sizes or compression ratios over the caps,
        overlapping or truncated members.
    """
    problems, files = _inspect(path, limits, display)
    _raise_if(problems, display)
    return files


def extract_zip(path: Path, dest: Path, limits: ArchiveLimits, display: str) -> Path:
    """Check a zip with :func:`check_zip`, then extract it, counting the bytes actually written.

    Members are streamed one by one into regular files created with mode ``0o644`` (never
    through an existing link); a member that yields more or fewer bytes than its header
    declares, or pushes past a cap, stops the extraction. ``__MACOSX/``, ``.DS_Store``,
    ``Thumbs.db``, ``desktop.ini`` and ``._*`` entries are skipped.

    Parameters
    ----------
    path
        The zip file.
    dest
        Folder to extract into; it must not exist yet or be empty.
    limits
        Caps on members, sizes, ratios and depth.
    display
        Name of the upload in problems, e.g. ``scenario.zip``.

    Returns
    -------
    Path
        The scenario root: ``dest``, or its only top-level entry when that is a folder (a zip
        of a folder rather than of its contents).

    Raises
    ------
    InputError
        Every problem :func:`check_zip` finds, else the first member whose data is damaged,
        differs from its header or exceeds a cap, or an archive that holds no files.
    ValueError
        If ``dest`` exists and is not an empty folder (a bug in the caller, not in the upload).

    Notes
    -----
    On any failure ``dest`` is left as it was found: removed if this call created it,
    emptied if it existed.
    """
    if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
        raise ValueError(f"{dest} must not exist yet or be an empty folder")
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        return _extract(path, dest, limits, display)
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        else:
            _empty_folder(dest)
        raise


def check_spreadsheets(folder: Path, limits: ArchiveLimits, display: str) -> None:
    """Check every ``.xlsx``/``.xlsm`` under a folder as a zip, without extracting anything.

    Parameters
    ----------
    folder
        An extracted scenario folder.
    limits
        Caps on members, sizes, ratios and depth, applied to each spreadsheet on its own.
    display
        Name of the upload, e.g. ``scenario.zip``; problems read
        ``scenario.zip: sheets/trucks.xlsx: member``.

    Raises
    ------
    InputError
        With every problem in every spreadsheet (see :func:`check_zip`). A file that is not a
        zip at all is not one of them: the scenario reader reports it with the other problems
        of the scenario, in the words of ``bsb validate``.
    """
    problems: list[Problem] = []
    for sheet in sorted(_spreadsheets(folder)):
        relative = sheet.relative_to(folder).as_posix()
        where = f"{display}: {_shown(relative)}"
        # A workbook that is no zip at all is left to the scenario reader, which names it
        # among all the scenario's problems, with the same message as ``bsb validate``.
        found, _ = _inspect(sheet, limits, where, not_zip_ok=True)
        problems.extend(found)
    _raise_if(problems, display)


# --- checks -----------------------------------------------------------------------------------


def _inspect(
    path: Path, limits: ArchiveLimits, display: str, *, not_zip_ok: bool = False
) -> tuple[list[Problem], list[zipfile.ZipInfo]]:
    """Find the problems in a zip's directory; also return its regular file members.

    With ``not_zip_ok``, a file that is not a zip at all has no problems here: whoever opens it
    next must fail on it anyway (openpyxl reads workbooks with :mod:`zipfile`).
    """
    try:
        archive_bytes = path.stat().st_size
        with path.open("rb") as handle:
            directory = _directory_size(handle, archive_bytes)
    except OSError as error:
        return [Problem(display, f"could not be read: {error.strerror or error}")], []
    if directory is None:
        return ([] if not_zip_ok else [Problem(display, "not a zip file (or a damaged one)")]), []
    declared_members, directory_bytes = directory
    if declared_members > limits.max_members:
        return [_too_many(display, declared_members, limits)], []
    if directory_bytes > limits.max_members * MAX_DIRECTORY_BYTES_PER_MEMBER:
        return [
            Problem(
                display,
                f"its directory takes {directory_bytes} bytes; too large for "
                f"at most {limits.max_members} members",
            )
        ], []
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
        if not_zip_ok:
            return [], []
        return [Problem(display, f"not a zip file (or a damaged one: {error})")], []
    if len(infos) > limits.max_members:
        return [_too_many(display, len(infos), limits)], []

    problems: list[Problem] = []
    files: list[zipfile.ZipInfo] = []
    seen: dict[str, str] = {}  # folded path -> first name
    file_keys: set[str] = set()
    folder_keys: set[str] = set()
    for info in infos:
        where = f"{display}: {_shown(info.orig_filename)}"
        messages = _name_problems(info.orig_filename, limits)
        is_folder = info.is_dir()
        file_type = _special_kind(info)
        if file_type == "folder":
            is_folder = True
        elif file_type is not None:
            messages.append(f"is a {file_type}; only regular files and folders are allowed")
        if info.flag_bits & _ENCRYPTED_FLAGS:
            messages.append("is encrypted; upload a zip without a password")
        if info.compress_type not in ALLOWED_METHODS:
            messages.append(
                f"uses compression method {info.compress_type}; only stored or deflated "
                "members are accepted (re-create the zip with an ordinary zip tool)"
            )
        if is_folder and info.file_size > 0:
            messages.append("is a folder entry that carries data")
        messages.extend(_size_problems(info, limits))
        if not messages:
            parts = _parts(info.orig_filename)
            key = _fold("/".join(parts))
            if key in seen:
                first = seen[key]
                same = "the same name" if first == info.orig_filename else f"'{_shown(first)}'"
                if not (is_folder and key in folder_keys):
                    messages.append(f"appears twice (duplicate of {same})")
            else:
                seen[key] = info.orig_filename
            if is_folder:
                folder_keys.add(key)
            else:
                file_keys.add(key)
                folder_keys.update(_fold("/".join(parts[:i])) for i in range(1, len(parts)))
        problems.extend(Problem(where, message) for message in messages)
        if not messages and not is_folder:
            files.append(info)
    for key in sorted(file_keys & folder_keys):
        problems.append(Problem(f"{display}: {_shown(seen[key])}", "is both a file and a folder"))
    problems.extend(_archive_problems(infos, archive_bytes, limits, display))
    return problems, files


def _name_problems(name: str, limits: ArchiveLimits) -> list[str]:
    """List what is wrong with a member name (``orig_filename``: zipfile cuts names at NUL)."""
    parts = [part for part in re.split(r"[/\\]", name) if part not in ("", ".")]
    if not parts:
        return ["has an empty name"]
    messages: list[str] = []
    if any(unicodedata.category(char) == "Cc" for char in name):
        messages.append("has control characters (e.g. NUL or a line break) in its name")
    if "\\" in name:
        messages.append("has a backslash in its name; zips must use '/' between folders")
    if name.startswith("/") or _DRIVE.match(name):
        messages.append("is an absolute path; members must be relative to the archive")
    if ".." in parts:
        messages.append("has a '..' component that would escape the extraction folder")
    if len(parts) > limits.max_depth:
        messages.append(f"is {len(parts)} levels deep; at most {limits.max_depth} are allowed")
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_PART_BYTES for part in parts):
        messages.append(f"has a name part longer than {MAX_NAME_PART_BYTES} bytes")
    return messages


def _special_kind(info: zipfile.ZipInfo) -> str | None:
    """``"folder"``, a description of a link or special file, or ``None`` for a regular file."""
    if info.create_system != 3:  # only Unix-made zips carry a file type (upper 16 bits)
        return None
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) == 0 or stat.S_ISREG(mode):
        return None  # no type recorded (Python's writestr) or a regular file
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    for test, kind in (
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISFIFO, "named pipe"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return kind
    return f"special file (mode {mode:o})"


def _size_problems(info: zipfile.ZipInfo, limits: ArchiveLimits) -> list[str]:
    """Check one member's declared size and compression ratio against the caps."""
    messages: list[str] = []
    if info.file_size > limits.max_member_bytes:
        messages.append(
            f"unpacks to {info.file_size} bytes; at most {limits.max_member_bytes} are allowed "
            "per file"
        )
    if info.file_size >= limits.ratio_exempt_bytes and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        messages.append(
            f"unpacks {info.compress_size} bytes into {info.file_size} "
            f"(more than {limits.max_ratio:g} times); refused as a possible zip bomb"
        )
    return messages


def _archive_problems(
    infos: list[zipfile.ZipInfo], archive_bytes: int, limits: ArchiveLimits, display: str
) -> list[Problem]:
    """Whole-archive caps, and members whose data overlaps or runs past the end."""
    problems: list[Problem] = []
    total_bytes = sum(info.file_size for info in infos)
    if total_bytes > limits.max_total_bytes:
        problems.append(
            Problem(
                display,
                f"unpacks to {total_bytes} bytes in all; at most {limits.max_total_bytes} "
                "are allowed",
            )
        )
    # Against the file's real size, so members sharing one compressed stream cannot hide.
    if total_bytes >= limits.ratio_exempt_bytes and total_bytes > limits.max_ratio * max(
        archive_bytes, 1
    ):
        problems.append(
            Problem(
                display,
                f"unpacks {archive_bytes} bytes into {total_bytes} (more than "
                f"{limits.max_ratio:g} times); refused as a possible zip bomb",
            )
        )
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for info, following in zip(ordered, [*ordered[1:], None], strict=True):
        end = info.header_offset + _LOCAL_HEADER_BYTES + info.compress_size
        where = f"{display}: {_shown(info.orig_filename)}"
        if following is not None and following.header_offset < end:
            problems.append(
                Problem(where, "overlaps another member's data; refused as a possible zip bomb")
            )
        elif end > archive_bytes:
            problems.append(Problem(where, "its data runs past the end of the archive"))
    return problems


# --- extraction -------------------------------------------------------------------------------


def _extract(path: Path, dest: Path, limits: ArchiveLimits, display: str) -> Path:
    """Extract the checked members of ``path`` into the empty folder ``dest``."""
    # ZipInfo has no equality; the header offset identifies a member (overlaps are refused).
    file_offsets = {info.header_offset for info in check_zip(path, limits, display)}
    total_written = 0
    tops: set[str] = set()
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            parts = _parts(info.orig_filename)
            if _is_junk(parts):
                continue
            tops.add(parts[0])
            if info.header_offset not in file_offsets:  # a folder entry
                _make_folders(dest, parts, display)
                continue
            folder = _make_folders(dest, parts[:-1], display)
            where = f"{display}: {_shown(info.orig_filename)}"
            room_bytes = min(limits.max_member_bytes, limits.max_total_bytes - total_written)
            total_written += _write_member(zf, info, folder / parts[-1], room_bytes, where)
    if not tops:
        raise InputError([Problem(display, "holds no files")])
    if len(tops) == 1:
        (top,) = tops
        root = dest / top
        if root.is_dir() and not root.is_symlink():
            return root
    return dest


def _write_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, room_bytes: int, where: str
) -> int:
    """Stream one member into a new file, counting real bytes; return how many were written."""
    # zipfile quietly stops at the declared size and then fails on the CRC; letting it run past
    # that size lets the count below say what happened. Two chunks past it, so zipfile's own
    # end-of-data CRC check cannot fire before the count sees the extra bytes.
    probe = copy.copy(info)
    probe.file_size = info.file_size + 2 * COPY_CHUNK_BYTES
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    written = 0
    try:
        descriptor = os.open(target, flags, 0o644)
    except FileExistsError:
        raise InputError([Problem(where, "appears twice")]) from None
    with os.fdopen(descriptor, "wb") as out:
        if hasattr(os, "fchmod"):
            os.fchmod(out.fileno(), 0o644)  # exact mode, whatever the umask
        try:
            with zf.open(probe) as source:
                for chunk in _chunks(source):
                    written += len(chunk)
                    if written > info.file_size:
                        raise InputError(
                            [
                                Problem(
                                    where,
                                    f"holds more data than the {info.file_size} bytes its "
                                    "header declares; refused as damaged or hostile",
                                )
                            ]
                        )
                    if written > room_bytes:
                        raise InputError([Problem(where, "unpacks to more than the caps allow")])
                    out.write(chunk)
        # Not OSError: a full disk is the server's trouble, not the upload's.
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
            raise InputError([Problem(where, f"is damaged: {error}")]) from error
    if written != info.file_size:
        raise InputError(
            [
                Problem(
                    where,
                    f"holds {written} bytes but its header declares {info.file_size}; "
                    "refused as damaged",
                )
            ]
        )
    return written


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    """Read a stream in bounded chunks (never the whole member at once)."""
    while chunk := source.read(COPY_CHUNK_BYTES):
        yield chunk


def _make_folders(dest: Path, parts: list[str], display: str) -> Path:
    """Create ``dest/parts...`` one level at a time, refusing anything that is not a folder."""
    folder = dest
    for part in parts:
        folder = folder / part
        try:
            folder.mkdir(mode=0o755)
            folder.chmod(0o755)  # exact mode, whatever the umask
        except FileExistsError:
            pass
        # lstat: a link here (there should be none in a fresh folder) must not be followed.
        if not stat.S_ISDIR(folder.lstat().st_mode):
            where = f"{display}: {_shown(folder.relative_to(dest).as_posix())}"
            raise InputError([Problem(where, "is both a file and a folder")])
    return folder


def _empty_folder(folder: Path) -> None:
    """Remove everything inside ``folder``, without following links."""
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


# --- helpers ----------------------------------------------------------------------------------


def _directory_size(handle: BinaryIO, archive_bytes: int) -> tuple[int, int] | None:
    """Return the declared member count and directory size; ``None`` without an end record."""
    tail_bytes = min(archive_bytes, _EOCD.size + 0xFFFF)  # the record plus the longest comment
    handle.seek(archive_bytes - tail_bytes)
    tail = handle.read(tail_bytes)
    position = tail.rfind(b"PK\x05\x06", 0, max(len(tail) - _EOCD.size + 4, 0))
    if position < 0:
        return None
    record = _EOCD.unpack_from(tail, position)
    members, directory_bytes, directory_offset = record[4], record[5], record[6]
    if members != 0xFFFF and 0xFFFFFFFF not in (directory_bytes, directory_offset):
        return members, directory_bytes
    # Zip64: the locator sits just before the end record, the zip64 record before it.
    record_at = archive_bytes - tail_bytes + position
    start = record_at - _EOCD64_LOCATOR.size - _EOCD64.size
    if start < 0:
        return None
    handle.seek(start)
    block = handle.read(_EOCD64.size + _EOCD64_LOCATOR.size)
    if len(block) != _EOCD64.size + _EOCD64_LOCATOR.size:
        return None
    locator = _EOCD64_LOCATOR.unpack_from(block, _EOCD64.size)
    record64 = _EOCD64.unpack_from(block, 0)
    if locator[0] != b"PK\x06\x07" or record64[0] != b"PK\x06\x06":
        return None
    return int(record64[7]), int(record64[8])


def _too_many(display: str, members: int, limits: ArchiveLimits) -> Problem:
    return Problem(display, f"holds {members} entries; at most {limits.max_members} are allowed")


def _parts(name: str) -> list[str]:
    """Path components of a checked member name (empty and ``.`` components dropped)."""
    return [part for part in PurePosixPath(name).parts if part not in ("", ".", "/")]


def _fold(path: str) -> str:
    """Comparison key: names that differ only in case or Unicode form clash on some disks."""
    return unicodedata.normalize("NFC", path).casefold()


def _is_junk(parts: list[str]) -> bool:
    name = parts[-1]
    return bool(JUNK_FOLDERS.intersection(parts) or name in JUNK_FILES or name.startswith("._"))


def _spreadsheets(folder: Path) -> Iterator[Path]:
    """Spreadsheet files under ``folder``, not following links."""
    for base, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if not (Path(base) / name).is_symlink()]
        for name in names:
            candidate = Path(base) / name
            if candidate.suffix.lower() in SPREADSHEET_SUFFIXES and not candidate.is_symlink():
                yield candidate


def _shown(name: str, limit: int = 200) -> str:
    """Make a member name safe to show: control characters escaped, long names cut."""
    text = "".join(
        char if unicodedata.category(char) != "Cc" else repr(char)[1:-1] for char in name
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _raise_if(problems: list[Problem], display: str) -> None:
    """Raise one InputError with every problem (at most :data:`MAX_PROBLEMS` listed)."""
    if not problems:
        return
    if len(problems) > MAX_PROBLEMS:
        hidden = len(problems) - MAX_PROBLEMS + 1
        problems = [
            *problems[: MAX_PROBLEMS - 1],
            Problem(display, f"{hidden} more problems not listed"),
        ]
    raise InputError(problems)
