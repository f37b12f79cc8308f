"""Tests of geodata.files: safe names, atomic writes and the pages' package data files."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from geodata.files import numbered_stem, package_text, safe_stem, unique_stems, write_atomic

ROOT = Path(__file__).resolve().parent.parent
ASSETS = {
    "geodata": ("assets/map.css", "assets/map.js", "assets/index.css"),
    "documents": ("assets/trip_sheet.css",),
}


@pytest.mark.parametrize(("package", "name"), [(p, n) for p, ns in ASSETS.items() for n in ns])
def test_package_text_is_the_file_byte_for_byte(package: str, name: str) -> None:
    on_disk = (ROOT / package / name).read_bytes()
    assert package_text(package, name).encode("utf-8") == on_disk
    assert on_disk  # an empty stylesheet or script would pass the equality silently


def test_assets_are_declared_as_package_data() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["package-data"]
    for package, names in ASSETS.items():
        patterns = package_data[package]
        for name in names:
            assert any(Path(name).match(pattern) for pattern in patterns), (package, name)


def test_no_page_keeps_its_script_or_stylesheet_in_python() -> None:
    for path in [ROOT / "geodata" / "maps.py", ROOT / "documents" / "trip_sheets.py"]:
        text = path.read_text(encoding="utf-8")
        assert "function (map, cfg)" not in text, path
        assert "border-collapse:collapse" not in text, path


def test_package_text_of_a_missing_file_is_refused() -> None:
    with pytest.raises(FileNotFoundError):
        package_text("geodata", "assets/no-such-file.css")


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "page.html"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["page.html"]


def test_write_atomic_that_fails_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.write_bytes(b"old")

    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_unique_stems_differ_ignoring_case() -> None:
    stems = unique_stems(["TRUCK-1", "truck-1", "a/b", "a_b"])
    folded = [s.casefold() for s in stems.values()]
    assert len(set(folded)) == len(folded) == 4
    assert stems["TRUCK-1"] == "TRUCK-1"


WINDOWS_DEVICES = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}


@given(st.text(max_size=80))
@example("00042")
@example("COM1")
@example("CON")
@example("../etc/passwd")
def test_safe_stem_is_a_plain_file_name(text: str) -> None:
    stem = safe_stem(text)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", stem)
    assert not stem.startswith(".")
    assert stem.split(".")[0].upper() not in WINDOWS_DEVICES
    plain = re.fullmatch(r"[A-Za-z0-9-]([A-Za-z0-9._-]{0,58}[A-Za-z0-9-])?", text)
    if plain and text.split(".")[0].upper() not in WINDOWS_DEVICES:
        assert stem == text


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_safe_stem_keeps_distinct_ids_apart(first: str, second: str) -> None:
    if first != second:
        assert safe_stem(first) != safe_stem(second)


def test_numbered_stems_count_up_ignoring_case() -> None:
    used: set[str] = set()
    stems = [numbered_stem(i, used) for i in ["W1", "w1", "W1", "all"]]
    assert stems == ["W1", "w1_2", "W1_3", "all"]


def test_write_atomic_not_private_keeps_the_umask_permissions(tmp_path: Path) -> None:
    shared = tmp_path / "shared.json"
    private = tmp_path / "private.json"
    write_atomic(shared, b"{}", private=False)
    write_atomic(private, b"{}")
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    assert shared.stat().st_mode & 0o777 == reference.stat().st_mode & 0o777
    assert private.stat().st_mode & 0o777 == 0o600
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["private.json", "reference", "shared.json"]
