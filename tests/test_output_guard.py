"""Tests of geodata.output_guard: which outputs bsb may write; a refusal changes nothing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from geodata.output_guard import (
    MANIFEST_NAME,
    check_output_file,
    check_output_folder,
    foreign_entries,
    read_manifest,
    write_folder_atomically,
    write_manifest,
)
from optimizer.errors import InputError
from tests.conftest import tree_digest


def _fill(folder: Path) -> None:
    (folder / "a.txt").write_text("a", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.txt").write_text("b", encoding="utf-8")


def _bsb_folder(path: Path, kind: str = "plan") -> Path:
    return write_folder_atomically(path, kind, _fill)


def _refused(target: Path, match: str, **options: object) -> None:
    with pytest.raises(InputError, match=match) as caught:
        check_output_folder(target, **{"kind": "plan", "force": False, **options})  # type: ignore[arg-type]
    assert len(caught.value.problems) == 1


# --- what may be written ---------------------------------------------------------------------


def test_a_new_folder_and_an_empty_folder_may_be_written(tmp_path: Path) -> None:
    check_output_folder(tmp_path / "new", kind="plan", force=False)
    (tmp_path / "empty").mkdir()
    check_output_folder(tmp_path / "empty", kind="plan", force=False)
    written = _bsb_folder(tmp_path / "empty")
    assert (written / "sub" / "b.txt").read_text(encoding="utf-8") == "b"


def test_a_folder_bsb_wrote_needs_force(tmp_path: Path) -> None:
    out = _bsb_folder(tmp_path / "out")
    _refused(out, r"holds a plan bsb wrote earlier\. Nothing was changed: add --force")
    check_output_folder(out, kind="plan", force=True)


def test_a_folder_of_another_kind_is_refused_even_with_force(tmp_path: Path) -> None:
    out = _bsb_folder(tmp_path / "out", kind="scenario")
    _refused(out, "holds a sample scenario bsb wrote, not a plan", force=True)


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        (lambda out: (out / "important.txt").write_text("x", encoding="utf-8"), "important.txt"),
        (lambda out: (out / "sub" / "b.txt").write_text("edited", encoding="utf-8"), "changed"),
        (lambda out: (out / "notes").mkdir(), "notes/"),
        (lambda out: (out / "link").symlink_to(out / "a.txt"), "link"),
    ],
    ids=["new file", "edited file", "new folder", "symbolic link"],
)
def test_a_bsb_folder_with_something_bsb_did_not_write_is_refused_even_with_force(
    tmp_path: Path, change: object, shown: str
) -> None:
    out = _bsb_folder(tmp_path / "out")
    change(out)  # type: ignore[operator]
    _refused(out, f"also holds what bsb did not write .*{shown}", force=True)


def test_a_deleted_file_is_not_a_foreign_one(tmp_path: Path) -> None:
    out = _bsb_folder(tmp_path / "out")
    (out / "a.txt").unlink()
    check_output_folder(out, kind="plan", force=True)


def test_a_folder_bsb_did_not_write_is_refused_and_named(tmp_path: Path) -> None:
    out = tmp_path / "b9"
    out.mkdir()
    (out / "important.txt").write_text("mine", encoding="utf-8")
    _refused(out, r"is not empty and bsb did not write it \(it holds important.txt\)", force=True)


def test_a_file_or_a_link_is_refused_as_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    _refused(tmp_path / "file", "is a file, not a folder")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    _refused(tmp_path / "link", "is a symbolic link")


def test_the_current_folder_or_one_holding_it_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = tmp_path / "empty" / "here"
    inside.mkdir(parents=True)
    monkeypatch.chdir(inside)
    _refused(Path(), "is or holds the current folder")
    _refused(Path(".."), "is or holds the current folder")


def test_an_unreadable_manifest_counts_as_not_written_by_bsb(tmp_path: Path) -> None:
    out = _bsb_folder(tmp_path / "out")
    (out / MANIFEST_NAME).write_text("{not json", encoding="utf-8")
    assert read_manifest(out) is None
    _refused(out, "bsb did not write it", force=True)


# --- the scenario folder ---------------------------------------------------------------------


def test_the_scenario_folder_itself_is_refused(tmp_path: Path) -> None:
    scenario = _bsb_folder(tmp_path / "b8", kind="plan")  # even one bsb wrote, of the same kind
    _refused(scenario, "is the scenario folder.*e.g. .*b8-plan", force=True, protected=[scenario])


def test_a_folder_holding_the_scenario_is_refused(tmp_path: Path) -> None:
    scenario = tmp_path / "work" / "scen"
    scenario.mkdir(parents=True)
    _refused(tmp_path / "work", "holds the scenario folder", force=True, protected=[scenario])
    _refused(tmp_path, "holds the scenario folder", force=True, protected=[scenario])


def test_a_folder_inside_the_scenario_is_refused(tmp_path: Path) -> None:
    scenario = tmp_path / "scen"
    scenario.mkdir()
    _refused(scenario / "plan", "is inside the scenario folder", protected=[scenario])


def test_links_and_dots_do_not_get_round_the_scenario_rule(tmp_path: Path) -> None:
    scenario = tmp_path / "scen"
    scenario.mkdir()
    (tmp_path / "alias").symlink_to(scenario)
    _refused(tmp_path / "alias" / "plan", "is inside the scenario folder", protected=[scenario])
    dotted = tmp_path / "scen" / ".." / "scen"
    _refused(dotted, "is the scenario folder", protected=[scenario])


# --- writing ---------------------------------------------------------------------------------


def test_a_refused_write_changes_nothing_and_leaves_no_temporary_folder(tmp_path: Path) -> None:
    out = tmp_path / "b9"
    out.mkdir()
    (out / "important.txt").write_text("mine", encoding="utf-8")
    before = tree_digest(tmp_path)
    with pytest.raises(InputError):
        write_folder_atomically(out, "plan", _fill, force=True)
    assert tree_digest(tmp_path) == before


def test_a_file_appearing_while_writing_stops_the_swap(tmp_path: Path) -> None:
    out = _bsb_folder(tmp_path / "out")

    def write_and_meanwhile(staging: Path) -> None:
        _fill(staging)
        (out / "meanwhile.txt").write_text("someone", encoding="utf-8")

    with pytest.raises(InputError, match=r"meanwhile\.txt"):
        write_folder_atomically(out, "plan", write_and_meanwhile, force=True)
    assert (out / "meanwhile.txt").read_text(encoding="utf-8") == "someone"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_written_folder_follows_the_umask_not_mkdtemp(tmp_path: Path) -> None:
    out = _bsb_folder(tmp_path / "out")
    assert out.stat().st_mode & 0o777 == (tmp_path / "out" / "sub").stat().st_mode & 0o777


def test_nested_bsb_folders_are_judged_by_their_own_manifest(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    write_manifest(demo, "demo")
    _bsb_folder(demo / "scenario", kind="scenario")
    _bsb_folder(demo / "plan")
    manifest = read_manifest(demo)
    assert manifest is not None and manifest.files == {}
    assert foreign_entries(demo, manifest) == []
    (demo / "plan" / "extra.txt").write_text("x", encoding="utf-8")
    assert foreign_entries(demo, manifest) == ["plan/extra.txt"]


def test_the_manifest_is_plain_json(tmp_path: Path) -> None:
    out = _bsb_folder(tmp_path / "out")
    data = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert data["bsb_output"] == 1 and data["kind"] == "plan"
    assert sorted(data["files"]) == ["a.txt", "sub/b.txt"]


# --- files -----------------------------------------------------------------------------------


def _marked(path: Path) -> bool:
    return path.read_text(encoding="utf-8").endswith("<!-- bsb -->")


def test_an_output_file_is_written_new_or_over_a_bsb_file_with_force(tmp_path: Path) -> None:
    target = tmp_path / "map.html"
    check_output_file(target, force=False, written_by_bsb=_marked)
    target.write_text("page<!-- bsb -->", encoding="utf-8")
    with pytest.raises(InputError, match="add --force"):
        check_output_file(target, force=False, written_by_bsb=_marked, what="map")
    check_output_file(target, force=True, written_by_bsb=_marked)


def test_an_output_file_bsb_did_not_write_is_refused_even_with_force(tmp_path: Path) -> None:
    target = tmp_path / "notes.html"
    target.write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="exists and bsb did not write it"):
        check_output_file(target, force=True, written_by_bsb=_marked)


def test_an_output_file_in_the_scenario_or_over_the_input_is_refused(tmp_path: Path) -> None:
    scenario = tmp_path / "scen"
    scenario.mkdir()
    with pytest.raises(InputError, match="inside the scenario folder"):
        check_output_file(
            scenario / "map.html", force=True, written_by_bsb=_marked, protected=[scenario]
        )
    instance = tmp_path / "C101.txt"
    instance.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="is the input itself"):
        check_output_file(instance, force=True, written_by_bsb=_marked, protected=[instance])


def test_a_file_listed_unchanged_in_its_bsb_folder_is_redrawn_without_force(
    tmp_path: Path,
) -> None:
    out = _bsb_folder(tmp_path / "out")
    check_output_file(out / "a.txt", force=False, written_by_bsb=_marked)
    (out / "a.txt").write_text("edited", encoding="utf-8")
    with pytest.raises(InputError, match="bsb did not write it"):
        check_output_file(out / "a.txt", force=True, written_by_bsb=_marked)


# --- folders left by a killed run (issue 11) ---------------------------------------------------


def _dead_pid() -> int:
    import subprocess
    import sys

    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(process.stdout)


def test_a_half_written_folder_of_a_killed_run_is_removed_by_the_next_run(tmp_path: Path) -> None:
    stale = tmp_path / f".plan.tmp-{_dead_pid()}-0123456789ab"
    stale.mkdir()
    (stale / "plan.json").write_text("{", encoding="utf-8")
    running = tmp_path / f".plan.tmp-{os.getpid()}-0123456789ab"  # a run still writing
    running.mkdir()
    lookalikes = [tmp_path / ".plan.tmp-notapid", tmp_path / ".other.tmp-1-0123456789ab"]
    for folder in lookalikes:
        folder.mkdir()
    backup = tmp_path / ".plan.old-abc123"  # may hold the previous plan: never removed
    backup.mkdir()
    _bsb_folder(tmp_path / "plan")
    assert not stale.exists()
    assert running.exists() and backup.exists() and all(f.exists() for f in lookalikes)


def test_staging_folders_carry_the_writers_pid(tmp_path: Path) -> None:
    seen: list[str] = []
    write_folder_atomically(tmp_path / "plan", "plan", lambda folder: seen.append(folder.name))
    assert re.fullmatch(rf"\.plan\.tmp-{os.getpid()}-[0-9a-f]{{12}}", seen[0])
