"""The families' roster: reading, validation (file/row/field, all at once, no personal data in
messages) and NIK masking."""

from __future__ import annotations

import csv
import dataclasses
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from geodata.roster_io import (
    NIK_DIGITS,
    Family,
    mask_nik,
    read_roster,
    roster_side_files,
)
from optimizer.errors import InputError, Problem
from optimizer.model import Scenario
from tests.conftest import make_tiny_scenario

HEADER = ("drop_point", "kpm_id", "name", "nik", "rt", "rw")


def small_scenario() -> Scenario:
    """The tiny scenario with 2, 1, 3 and 0 families, so that rosters stay short."""
    base = make_tiny_scenario()
    counts = (2, 1, 3, 0)
    points = tuple(
        dataclasses.replace(p, kpm=n) for p, n in zip(base.drop_points, counts, strict=True)
    )
    return dataclasses.replace(base, drop_points=points)


def roster_text(rows: list[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def good_rows() -> list[tuple[str, ...]]:
    return [
        ("00042", "K1", "Ani Suryani", "3201010101010001", "001", "01"),
        ("00042", "K2", "Bambang Wijaya", "", "002", "01"),
        ("P2", "K3", "Cici Paramida", "3201 0101 0101 0003", "", "02"),
        ("P3", "K4", "Dedi Mulyadi", "3201010101010004", "", ""),
        ("P3", "K5", "Euis Komariah", "3201010101010005", "", ""),
        ("P3", "K6", "Fajar Nugroho", "3201010101010006", "", ""),
    ]


def write(tmp_path: Path, text: str, name: str = "kpm.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, scenario: Scenario) -> tuple[Problem, ...]:
    with pytest.raises(InputError) as caught:
        read_roster(path, scenario)
    return caught.value.problems


def test_a_good_roster_lists_each_points_families_in_roster_order(tmp_path: Path) -> None:
    roster = read_roster(write(tmp_path, roster_text(good_rows())), small_scenario())
    assert [f.kpm_id for f in roster["P3"]] == ["K4", "K5", "K6"]
    assert roster["00042"][0] == Family("K1", "Ani Suryani", "3201010101010001", "001", "01")
    assert roster["P2"][0].nik == "3201010101010003"  # spaces between groups dropped
    assert roster["P4"] == ()
    assert set(roster) == {"00042", "P2", "P3", "P4"}


def test_nik_rt_and_rw_columns_are_optional(tmp_path: Path) -> None:
    rows = [row[:3] for row in good_rows()]
    path = write(tmp_path, roster_text(rows, HEADER[:3]))
    roster = read_roster(path, small_scenario())
    assert roster["P2"] == (Family("K3", "Cici Paramida"),)


def test_the_roster_may_be_an_xlsx(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(HEADER))
    for row in good_rows():
        sheet.append(list(row))
    book.save(tmp_path / "kpm.xlsx")
    roster = read_roster(tmp_path / "kpm.xlsx", small_scenario())
    assert len(roster["P3"]) == 3


def test_every_problem_is_listed_at_once_with_row_and_field(tmp_path: Path) -> None:
    rows = good_rows()
    rows[1] = ("00042", "K1", "Bambang Wijaya", "", "", "")  # duplicate kpm_id
    rows[2] = ("P22", "K3", "Cici Paramida", "", "", "")  # unknown point
    rows[3] = ("P3", "K4", "Dedi Mulyadi", "32010101", "", "")  # short NIK
    rows[4] = ("P3", "K5", "", "", "", "")  # no name
    problems = problems_of(write(tmp_path, roster_text(rows)), small_scenario())
    located = [(p.file, p.row, p.field) for p in problems]
    assert ("kpm.csv", 3, "kpm_id") in located
    assert ("kpm.csv", 4, "drop_point") in located
    assert ("kpm.csv", 5, "nik") in located
    assert ("kpm.csv", 6, "name") in located
    counts = [p.message for p in problems if p.row is None]
    assert counts == [
        "drop point 'P2' has 0 families in the roster but kpm = 1 in the drop points table; "
        "the roster must list each of its families once"
    ]
    assert "did you mean 'P2'" in str(problems[located.index(("kpm.csv", 4, "drop_point"))])


def test_a_count_mismatch_names_both_numbers(tmp_path: Path) -> None:
    rows = [*good_rows(), ("P4", "K7", "Gita Gutawa", "", "", "")]
    (problem,) = problems_of(write(tmp_path, roster_text(rows)), small_scenario())
    assert (problem.field, problem.row) == ("drop_point", None)
    assert "'P4' has 1 family in the roster but kpm = 0" in problem.message


def test_missing_columns_and_files_are_problems(tmp_path: Path) -> None:
    path = write(tmp_path, roster_text([("P2", "x")], ("drop_point", "nama")))
    problems = problems_of(path, small_scenario())
    assert {(p.field, p.row) for p in problems} >= {("kpm_id", None), ("name", None)}
    (missing,) = problems_of(tmp_path / "absent.csv", small_scenario())
    assert missing.file == "absent.csv" and "not found" in missing.message
    assert str(tmp_path) not in missing.message


def test_no_name_nik_or_kpm_id_appears_in_any_message(tmp_path: Path) -> None:
    secrets = ["Zulkarnaen Secretus", "9999888877776666", "KPM-SECRET-1", "1234567"]
    rows = [
        ("00042", "KPM-SECRET-1", "Zulkarnaen Secretus", "9999888877776666x", "", ""),
        ("00042", "KPM-SECRET-1", "Zulkarnaen Secretus", "1234567", "", ""),
        ("P9", "KPM-SECRET-1", "Zulkarnaen Secretus" * 20, "", "0" * 20, ""),
    ]
    problems = problems_of(write(tmp_path, roster_text(rows)), small_scenario())
    assert len(problems) >= 6
    text = "\n".join(str(p) for p in problems)
    for secret in secrets:
        assert secret not in text


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(
                alphabet=st.characters(codec="utf-8", categories=("L", "Zs")), min_size=1
            ).filter(lambda name: name.strip() == name and len(name) <= 200),
            st.from_regex(r"[0-9]{16}", fullmatch=True) | st.just(""),
            st.from_regex(r"[0-9]{0,3}", fullmatch=True),
        ),
        min_size=0,
        max_size=12,
    ),
    st.data(),
)
def test_a_written_roster_reads_back_equal(
    people: list[tuple[str, str, str]], data: st.DataObject
) -> None:
    base = make_tiny_scenario()
    points = [p.id for p in base.drop_points]
    owners = [data.draw(st.sampled_from(points)) for _ in people]
    scenario = dataclasses.replace(
        base,
        drop_points=tuple(dataclasses.replace(p, kpm=owners.count(p.id)) for p in base.drop_points),
    )
    rows = [
        (owner, f"K{i}", name, nik, rt, "")
        for i, (owner, (name, nik, rt)) in enumerate(zip(owners, people, strict=True))
    ]
    with tempfile.TemporaryDirectory() as folder:
        roster = read_roster(write(Path(folder), roster_text(rows)), scenario)
    expected = {
        point: tuple(Family(f"K{i}", r[2], r[3], r[4]) for i, r in enumerate(rows) if r[0] == point)
        for point in points
    }
    assert roster == expected


@given(st.from_regex(r"[0-9]{16}", fullmatch=True))
@example("3201234567890004")
def test_a_masked_nik_keeps_four_digits_at_each_end(nik: str) -> None:
    masked = mask_nik(nik)
    assert len(masked) == NIK_DIGITS
    assert masked[:4] == nik[:4] and masked[-4:] == nik[-4:]
    assert masked[4:-4] == "*" * 8


@given(st.text(alphabet="0123456789", max_size=NIK_DIGITS - 1))
def test_a_short_nik_is_masked_whole(nik: str) -> None:
    assert mask_nik(nik) == "*" * len(nik)


def test_the_roster_goes_with_the_scenario_copy(tmp_path: Path) -> None:
    scenario = dataclasses.replace(small_scenario(), roster_file="data/kpm.csv")
    (tmp_path / "data").mkdir()
    write(tmp_path / "data", "drop_point,kpm_id,name\n")
    assert roster_side_files(scenario, tmp_path) == {"data/kpm.csv": b"drop_point,kpm_id,name\n"}
    assert roster_side_files(small_scenario(), tmp_path) == {}


def test_plan_and_validate_refuse_a_bad_roster_before_planning(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli import main
    from tests.conftest import _append_toml, scenario_with_defect

    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "kpm.csv").write_text("drop_point,kpm_id,name\nNOPE,1,Siti\n", encoding="utf-8")
    _append_toml(folder, '\n[files]\nkpm = "kpm.csv"\n')
    for args in (["validate", str(folder)], ["plan", str(folder), "-o", str(tmp_path / "p")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "kpm.csv" in result.output and "Siti" not in result.output
    assert not (tmp_path / "p").exists()
