"""Hostile uploads: zip slip, bombs, links, lying headers, and spreadsheets that are zips."""

from __future__ import annotations

import os
import stat
import struct
import warnings
import zipfile
from pathlib import Path

import pytest

from optimizer.errors import InputError
from service.archive import (
    MAX_PROBLEMS,
    ArchiveLimits,
    check_spreadsheets,
    check_zip,
    extract_zip,
)

LIMITS = ArchiveLimits()
SMALL = ArchiveLimits(
    max_members=5,
    max_total_bytes=10_000,
    max_member_bytes=6_000,
    max_ratio=20.0,
    max_depth=3,
    ratio_exempt_bytes=1_000,
)


def make_zip(
    path: Path,
    members: list[tuple[str | zipfile.ZipInfo, bytes]],
    method: int = zipfile.ZIP_DEFLATED,
) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def raw_name(name: str) -> zipfile.ZipInfo:
    """A ZipInfo that keeps its name as given (ZipInfo() cuts names at NUL)."""
    info = zipfile.ZipInfo("placeholder")
    info.filename = name
    info.orig_filename = name
    return info


def directory_entries(data: bytes) -> list[int]:
    """Offsets of the central-directory entries of a zip without comment or zip64."""
    count, _, start = struct.unpack_from("<HLL", data, len(data) - 22 + 10)
    offsets = []
    for _ in range(count):
        assert data[start : start + 4] == b"PK\x01\x02"
        offsets.append(start)
        name_len, extra_len, comment_len = struct.unpack_from("<3H", data, start + 28)
        start += 46 + name_len + extra_len + comment_len
    return offsets


def patch(path: Path, member: int, local_at: int | None, central_at: int, fmt: str, value: int):
    """Overwrite one field of member ``member`` in its local header and directory entry."""
    data = bytearray(path.read_bytes())
    entry = directory_entries(bytes(data))[member]
    if local_at is not None:
        (local,) = struct.unpack_from("<L", data, entry + 42)
        struct.pack_into(fmt, data, local + local_at, value)
    struct.pack_into(fmt, data, entry + central_at, value)
    path.write_bytes(bytes(data))


def problems_of(excinfo: pytest.ExceptionInfo[InputError]) -> list[tuple[str, str]]:
    return [(problem.file, problem.message) for problem in excinfo.value.problems]


def files_under(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


def good_xlsx(path: Path) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["truck_id", "capacity_kg"])
    for index in range(50):
        sheet.append([f"T{index}", 8_000])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


# --- good archives -------------------------------------------------------------------------


def test_flat_zip_extracts_into_dest_with_plain_file_modes(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "up.zip",
        [("scenario.toml", b'name = "x"\n'), ("data/points.csv", b"id,kg\n1,5\n")],
    )
    dest = tmp_path / "out"
    root = extract_zip(archive, dest, LIMITS, "up.zip")
    assert root == dest
    assert (dest / "scenario.toml").read_bytes() == b'name = "x"\n'
    assert (dest / "data" / "points.csv").read_bytes() == b"id,kg\n1,5\n"
    mode = (dest / "scenario.toml").stat().st_mode
    assert stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o644


def test_zip_of_one_folder_returns_that_folder_and_skips_junk(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "up.zip",
        [
            ("scen/", b""),
            ("scen/scenario.toml", b"x"),
            ("scen/.DS_Store", b"junk"),
            ("scen/._scenario.toml", b"junk"),
            ("__MACOSX/scen/._scenario.toml", b"junk"),
            ("Thumbs.db", b"junk"),
        ],
    )
    dest = tmp_path / "out"
    root = extract_zip(archive, dest, LIMITS, "up.zip")
    assert root == dest / "scen"
    assert files_under(dest) == {dest / "scen", dest / "scen" / "scenario.toml"}


def test_folder_beside_a_file_keeps_dest_as_root(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("scen/a.csv", b"a"), ("readme.txt", b"r")])
    assert extract_zip(archive, tmp_path / "out", LIMITS, "up.zip") == tmp_path / "out"


def test_check_zip_returns_only_regular_files(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("scen/", b""), ("scen/a.csv", b"a")])
    assert [info.filename for info in check_zip(archive, LIMITS, "up.zip")] == ["scen/a.csv"]


# --- hostile names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../evil.csv", "'..'"),
        ("scen/../../evil.csv", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/evil.csv", "absolute"),
        ("c:evil.csv", "absolute"),
        ("a\\b.csv", "backslash"),
        ("..\\evil.csv", "'..'"),
        ("bad\x00.csv", "control characters"),
        ("line\nbreak.csv", "control characters"),
        ("/", "empty name"),
        ("./", "empty name"),
        (".", "empty name"),
        ("a/b/c/d/deep.csv", "levels deep"),
        ("x" * 300 + ".csv", "longer than 255 bytes"),
    ],
)
def test_hostile_names_are_refused_and_nothing_lands_outside(
    tmp_path: Path, name: str, expected: str
) -> None:
    upload = tmp_path / "upload"
    upload.mkdir()
    archive = make_zip(upload / "up.zip", [("ok.csv", b"ok"), (raw_name(name), b"evil")])
    before = files_under(tmp_path)
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, SMALL, "up.zip")
    problems = problems_of(excinfo)
    assert {where for where, _ in problems} == {problems[0][0]}  # all about the one member
    assert any(expected in message for _, message in problems)
    where = problems[0][0]
    assert where.startswith("up.zip: ")
    assert "\x00" not in where and "\n" not in where  # shown escaped

    dest = upload / "out"
    with pytest.raises(InputError):
        extract_zip(archive, dest, SMALL, "up.zip")
    assert not dest.exists()
    assert files_under(tmp_path) == before
    assert not Path("/etc/passwd_evil").exists()


def test_traversal_member_named_in_problem(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "scenario.zip", [("../evil.csv", b"x")])
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "scenario.zip")
    assert problems_of(excinfo)[0][0] == "scenario.zip: ../evil.csv"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "up.zip", [("../a.csv", b"a"), ("ok.csv", b"ok"), ("/b.csv", b"b")]
    )
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "up.zip")
    assert [where for where, _ in problems_of(excinfo)] == ["up.zip: ../a.csv", "up.zip: /b.csv"]


def test_problem_list_is_capped(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [(f"../{index}.csv", b"") for index in range(150)])
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "up.zip")
    problems = problems_of(excinfo)
    assert len(problems) == MAX_PROBLEMS
    assert problems[-1] == ("up.zip", "51 more problems not listed")


# --- links, encryption, methods, duplicates --------------------------------------------------


@pytest.mark.parametrize(
    ("file_type", "expected"),
    [
        (stat.S_IFLNK, "symbolic link"),
        (stat.S_IFIFO, "named pipe"),
        (stat.S_IFCHR, "character device"),
    ],
)
def test_links_and_special_files_are_refused(tmp_path: Path, file_type: int, expected: str):
    link = zipfile.ZipInfo("passwd.csv")
    link.create_system = 3
    link.external_attr = (file_type | 0o777) << 16
    archive = make_zip(tmp_path / "up.zip", [(link, b"/etc/passwd")])
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "up.zip")
    assert problems_of(excinfo) == [
        ("up.zip: passwd.csv", f"is a {expected}; only regular files and folders are allowed")
    ]
    with pytest.raises(InputError):
        extract_zip(archive, tmp_path / "out", LIMITS, "up.zip")
    assert not (tmp_path / "out").exists()


def test_unix_modes_are_not_copied_and_umask_does_not_matter(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("scen/a.csv")
    info.create_system = 3
    info.external_attr = (stat.S_IFREG | 0o4777) << 16
    archive = make_zip(tmp_path / "up.zip", [(info, b"a")])
    old_umask = os.umask(0o077)
    try:
        extract_zip(archive, tmp_path / "out", LIMITS, "up.zip")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "out" / "scen" / "a.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "out" / "scen").stat().st_mode) == 0o755


def test_encrypted_member_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("a.csv", b"a"), ("secret.csv", b"s")])
    patch(archive, 1, local_at=6, central_at=8, fmt="<H", value=0x1)
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "up.zip")
    assert problems_of(excinfo) == [
        ("up.zip: secret.csv", "is encrypted; upload a zip without a password")
    ]


def test_unsupported_compression_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("a.csv", b"a" * 100)], method=zipfile.ZIP_BZIP2)
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "up.zip")
    [(where, message)] = problems_of(excinfo)
    assert where == "up.zip: a.csv" and "compression method 12" in message


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate
        archive = make_zip(
            tmp_path / "up.zip",
            [("a.csv", b"1"), ("a.csv", b"2"), ("Trucks.csv", b"3"), ("trucks.CSV", b"4")],
        )
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "up.zip")
    assert problems_of(excinfo) == [
        ("up.zip: a.csv", "appears twice (duplicate of the same name)"),
        ("up.zip: trucks.CSV", "appears twice (duplicate of 'Trucks.csv')"),
    ]


def test_file_and_folder_of_the_same_name_are_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("a", b"1"), ("a/b.csv", b"2")])
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "up.zip")
    assert problems_of(excinfo) == [("up.zip: a", "is both a file and a folder")]


# --- counts and sizes ------------------------------------------------------------------------


def test_too_many_members(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [(f"{index}.csv", b"x") for index in range(6)])
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, SMALL, "up.zip")
    assert problems_of(excinfo) == [("up.zip", "holds 6 entries; at most 5 are allowed")]


def test_member_count_is_checked_even_if_the_end_record_lies(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [(f"{index}.csv", b"x") for index in range(6)])
    data = bytearray(archive.read_bytes())
    struct.pack_into("<HH", data, len(data) - 22 + 8, 1, 1)  # claims one member
    archive.write_bytes(bytes(data))
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, SMALL, "up.zip")
    assert problems_of(excinfo) == [("up.zip", "holds 6 entries; at most 5 are allowed")]


def test_oversized_directory_is_refused_before_parsing(tmp_path: Path) -> None:
    names = [("d" * 200 + f"/{index}" + "x" * 200, b"") for index in range(5)]
    archive = make_zip(tmp_path / "up.zip", names)
    data = bytearray(archive.read_bytes())
    struct.pack_into("<HH", data, len(data) - 22 + 8, 1, 1)  # claims one member
    archive.write_bytes(bytes(data))
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, ArchiveLimits(max_members=2), "up.zip")
    [(where, message)] = problems_of(excinfo)
    assert where == "up.zip"
    assert message.startswith("its directory takes") and "at most 2 members" in message


def test_member_and_total_size_caps(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "up.zip",
        [("a.csv", b"a" * 7_000), ("b.csv", b"b" * 5_000)],
        method=zipfile.ZIP_STORED,
    )
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, SMALL, "up.zip")
    assert problems_of(excinfo) == [
        ("up.zip: a.csv", "unpacks to 7000 bytes; at most 6000 are allowed per file"),
        ("up.zip", "unpacks to 12000 bytes in all; at most 10000 are allowed"),
    ]


def test_zip_bomb_is_refused_by_ratio(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with (
        zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open("zeros.csv", "w") as out,
    ):
        for _ in range(50):
            out.write(bytes(2**20))  # 50 MB of zeros, a chunk at a time
    assert archive.stat().st_size < 200_000
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "bomb.zip")
    problems = problems_of(excinfo)
    assert [where for where, _ in problems] == ["bomb.zip: zeros.csv", "bomb.zip"]
    assert all("zip bomb" in message for _, message in problems)
    with pytest.raises(InputError):
        extract_zip(archive, tmp_path / "out", LIMITS, "bomb.zip")
    assert not (tmp_path / "out").exists()


def test_many_small_members_are_caught_by_the_archive_ratio(tmp_path: Path) -> None:
    # Each member is under the exemption, but together they inflate 100+ times.
    archive = make_zip(tmp_path / "up.zip", [(f"{i}.csv", bytes(60_000)) for i in range(40)])
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "up.zip")
    [(where, message)] = problems_of(excinfo)
    assert where == "up.zip" and "zip bomb" in message


def test_small_text_is_exempt_from_the_ratio(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("a.csv", b"0" * 60_000)])
    assert len(check_zip(archive, LIMITS, "up.zip")) == 1


def test_overlapping_members_are_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("a.csv", b"a" * 500), ("b.csv", b"b" * 500)])
    patch(archive, 1, local_at=None, central_at=42, fmt="<L", value=0)  # b.csv -> a.csv's data
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "up.zip")
    assert any("overlaps" in message for _, message in problems_of(excinfo))


# --- lying headers ---------------------------------------------------------------------------


def test_member_with_more_data_than_declared_is_caught_while_writing(tmp_path: Path) -> None:
    data = b"".join(b"%d,%d\n" % (index, index * 7) for index in range(40_000))  # ~400 kB
    archive = make_zip(tmp_path / "up.zip", [("big.csv", data)])
    patch(archive, 0, local_at=22, central_at=24, fmt="<L", value=1_000)  # claims 1000 bytes
    assert [info.file_size for info in check_zip(archive, LIMITS, "up.zip")] == [1_000]
    dest = tmp_path / "out"
    with pytest.raises(InputError) as excinfo:
        extract_zip(archive, dest, LIMITS, "up.zip")
    assert problems_of(excinfo) == [
        (
            "up.zip: big.csv",
            "holds more data than the 1000 bytes its header declares; refused as damaged or "
            "hostile",
        )
    ]
    assert not dest.exists()


def test_member_with_less_data_than_declared_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("a.csv", b"x" * 100)])
    patch(archive, 0, local_at=22, central_at=24, fmt="<L", value=5_000)
    with pytest.raises(InputError) as excinfo:
        extract_zip(archive, tmp_path / "out", LIMITS, "up.zip")
    assert problems_of(excinfo) == [
        ("up.zip: a.csv", "holds 100 bytes but its header declares 5000; refused as damaged")
    ]


def test_damaged_data_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("a.csv", b"x" * 100)], method=zipfile.ZIP_STORED)
    data = archive.read_bytes()
    archive.write_bytes(data.replace(b"x" * 100, b"y" * 100))  # CRC no longer matches
    with pytest.raises(InputError) as excinfo:
        extract_zip(archive, tmp_path / "out", LIMITS, "up.zip")
    [(where, message)] = problems_of(excinfo)
    assert where == "up.zip: a.csv" and "damaged" in message and "CRC" in message


# --- not zips, and dest handling -------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04" + bytes(100)])
def test_not_a_zip_is_refused(tmp_path: Path, content: bytes) -> None:
    archive = tmp_path / "up.zip"
    archive.write_bytes(content)
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "up.zip")
    [(where, message)] = problems_of(excinfo)
    assert where == "up.zip" and message.startswith("not a zip file")


def test_truncated_zip_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("a.csv", bytes(range(256)) * 100)])
    archive.write_bytes(archive.read_bytes()[:-30])
    with pytest.raises(InputError) as excinfo:
        check_zip(archive, LIMITS, "up.zip")
    assert problems_of(excinfo)[0][0] == "up.zip"


def test_empty_archive_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("__MACOSX/._x", b"junk")])
    with pytest.raises(InputError) as excinfo:
        extract_zip(archive, tmp_path / "out", LIMITS, "up.zip")
    assert problems_of(excinfo) == [("up.zip", "holds no files")]


def test_existing_empty_dest_is_emptied_on_failure(tmp_path: Path) -> None:
    data = b"".join(b"%d\n" % index for index in range(40_000))
    archive = make_zip(tmp_path / "up.zip", [("a.csv", b"a"), ("b/big.csv", data)])
    patch(archive, 1, local_at=22, central_at=24, fmt="<L", value=10)
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(InputError):
        extract_zip(archive, dest, LIMITS, "up.zip")
    assert dest.is_dir() and list(dest.iterdir()) == []


def test_dest_must_be_absent_or_empty(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "up.zip", [("a.csv", b"a")])
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old.csv").write_text("old")
    with pytest.raises(ValueError, match="empty folder"):
        extract_zip(archive, dest, LIMITS, "up.zip")
    assert (dest / "old.csv").read_text() == "old"
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ValueError, match="empty folder"):
        extract_zip(archive, link, LIMITS, "up.zip")
    assert not (tmp_path / "elsewhere").exists()


# --- spreadsheets ----------------------------------------------------------------------------


def test_good_spreadsheet_passes(tmp_path: Path) -> None:
    good_xlsx(tmp_path / "scen" / "sheets" / "trucks.xlsx")
    check_spreadsheets(tmp_path / "scen", LIMITS, "up.zip")


def test_spreadsheet_with_traversal_member_is_refused(tmp_path: Path) -> None:
    sheet = good_xlsx(tmp_path / "scen" / "sheets" / "trucks.xlsx")
    with zipfile.ZipFile(sheet, "a") as zf:
        zf.writestr("../../evil.xml", b"<x/>")
        zf.writestr(raw_name("/abs.xml"), b"<x/>")
    with pytest.raises(InputError) as excinfo:
        check_spreadsheets(tmp_path / "scen", LIMITS, "up.zip")
    assert [where for where, _ in problems_of(excinfo)] == [
        "up.zip: sheets/trucks.xlsx: ../../evil.xml",
        "up.zip: sheets/trucks.xlsx: /abs.xml",
    ]


def test_spreadsheet_bomb_is_refused_and_non_zip_left_to_the_reader(tmp_path: Path) -> None:
    sheet = good_xlsx(tmp_path / "scen" / "Bomb.XLSX")
    with zipfile.ZipFile(sheet, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet2.xml", bytes(5 * 2**20))
    (tmp_path / "scen" / "fake.xlsm").write_text("id,kg\n")
    with pytest.raises(InputError) as excinfo:
        check_spreadsheets(tmp_path / "scen", LIMITS, "up.zip")
    problems = problems_of(excinfo)
    assert [where for where, _ in problems] == [
        "up.zip: Bomb.XLSX: xl/worksheets/sheet2.xml",
        "up.zip: Bomb.XLSX",
    ]
    assert all("zip bomb" in message for _, message in problems)
    # fake.xlsm is not a zip: the scenario reader reports it, as `bsb validate` does.


def test_spreadsheet_check_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "points.csv").write_text("id\n")
    (tmp_path / "notes.xls").write_bytes(b"\xd0\xcf\x11\xe0")  # old binary format: not a zip
    check_spreadsheets(tmp_path, LIMITS, "up.zip")
