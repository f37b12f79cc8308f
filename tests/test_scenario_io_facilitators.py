"""Reading and writing the facilitators table, the drop points' facilitator, [files] kpm and
[papers] full_nik."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata.scenario_io import read_scenario
from geodata.scenario_writer import write_scenario
from optimizer.errors import InputError
from optimizer.model import Facilitator, PaperSettings, Scenario
from tests.conftest import make_tiny_scenario

ROSTER = b"drop_point,kpm_id,name\n"


def scenario_with_facilitators(
    facilitators: tuple[Facilitator, ...] = (
        Facilitator("F01", "Siti Aminah", "0812-1111-2222"),
        Facilitator("F02", "Budi Santoso"),
    ),
) -> Scenario:
    base = make_tiny_scenario()
    ids = [f.id for f in facilitators] or [None]
    points = tuple(
        dataclasses.replace(p, facilitator=ids[i % len(ids)] if i < 3 else None)
        for i, p in enumerate(base.drop_points)
    )
    return dataclasses.replace(
        base,
        drop_points=points,
        facilitators=facilitators,
        roster_file="data/kpm.csv",
        papers=PaperSettings(full_nik=True),
    )


def problems_reading(folder: Path) -> list[tuple[str, int | None, str | None, str]]:
    with pytest.raises(InputError) as caught:
        read_scenario(folder)
    return [(p.file, p.row, p.field, p.message) for p in caught.value.problems]


def test_facilitators_roster_name_and_full_nik_read_back_equal(tmp_path: Path) -> None:
    scenario = scenario_with_facilitators()
    write_scenario(scenario, tmp_path, side_files={"data/kpm.csv": ROSTER})
    toml = (tmp_path / "scenario.toml").read_text(encoding="utf-8")
    assert 'facilitators = "facilitators.csv"' in toml
    assert 'kpm = "data/kpm.csv"' in toml
    assert "full_nik = true" in toml
    assert read_scenario(tmp_path) == scenario


def test_a_scenario_without_facilitators_is_written_as_before(tmp_path: Path) -> None:
    write_scenario(make_tiny_scenario(), tmp_path)
    assert not (tmp_path / "facilitators.csv").exists()
    header = (tmp_path / "drop_points.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "facilitator" not in header
    assert read_scenario(tmp_path).papers == PaperSettings(full_nik=False)


def test_a_missing_roster_is_a_problem_unless_reading_a_plan_copy(tmp_path: Path) -> None:
    scenario = scenario_with_facilitators()
    write_scenario(scenario, tmp_path)
    (problem,) = problems_reading(tmp_path)
    assert problem[:3] == ("scenario.toml", None, "files.kpm")
    assert read_scenario(tmp_path, side_files=False).roster_file == "data/kpm.csv"


def test_bad_facilitators_and_references_are_listed_at_once_without_names(
    tmp_path: Path,
) -> None:
    write_scenario(scenario_with_facilitators(), tmp_path, side_files={"data/kpm.csv": ROSTER})
    (tmp_path / "facilitators.csv").write_text(
        "id,name,phone\nF01,Siti Aminah,0812\nF01,Dewi Lestari,0813\nF03,,halo Dewi\n",
        encoding="utf-8",
    )
    points = (tmp_path / "drop_points.csv").read_text(encoding="utf-8")
    (tmp_path / "drop_points.csv").write_text(points.replace(",F02\n", ",F9\n"), encoding="utf-8")
    toml = (tmp_path / "scenario.toml").read_text(encoding="utf-8")
    (tmp_path / "scenario.toml").write_text(
        toml.replace("full_nik = true", 'full_nik = "ya"'), encoding="utf-8"
    )
    problems = problems_reading(tmp_path)
    located = {(file, row, field) for file, row, field, _ in problems}
    assert ("scenario.toml", None, "papers.full_nik") in located
    assert ("facilitators.csv", 3, "id") in located
    assert ("facilitators.csv", 4, "name") in located
    assert ("facilitators.csv", 4, "phone") in located
    assert ("drop_points.csv", 3, "facilitator") in located
    text = "\n".join(message for *_, message in problems)
    for secret in ("Siti", "Dewi", "Aminah", "0813", "halo"):
        assert secret not in text


def test_a_named_facilitators_file_that_is_absent_is_a_problem(tmp_path: Path) -> None:
    write_scenario(scenario_with_facilitators(), tmp_path, side_files={"data/kpm.csv": ROSTER})
    (tmp_path / "facilitators.csv").unlink()
    problems = problems_reading(tmp_path)
    assert ("facilitators.csv", None, "files.facilitators") in {p[:3] for p in problems}


names = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "Zs", "P")), min_size=1
).filter(lambda text: text.strip() == text and len(text) <= 200)
phones = st.from_regex(r"(\+62|0)[0-9]{2,4}(-[0-9]{3,4}){1,2}", fullmatch=True) | st.just("")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(names, phones), min_size=1, max_size=5),
    st.booleans(),
)
def test_facilitators_round_trip(people: list[tuple[str, str]], full_nik: bool) -> None:
    facilitators = tuple(
        Facilitator(f"F{i:02d}", name, phone) for i, (name, phone) in enumerate(people)
    )
    scenario = dataclasses.replace(
        scenario_with_facilitators(facilitators), papers=PaperSettings(full_nik=full_nik)
    )
    with tempfile.TemporaryDirectory() as folder:
        write_scenario(scenario, Path(folder), side_files={"data/kpm.csv": ROSTER})
        assert read_scenario(Path(folder)) == scenario


def test_validating_a_folder_checks_its_roster_too(tmp_path: Path) -> None:
    from geodata.scenario_io import validate_scenario

    scenario = scenario_with_facilitators()
    write_scenario(scenario, tmp_path, side_files={"data/kpm.csv": ROSTER})
    assert read_scenario(tmp_path) == scenario  # reading does not open the roster
    with pytest.raises(InputError) as caught:
        validate_scenario(tmp_path)
    problems = caught.value.problems
    assert {(p.file, p.field) for p in problems} == {("data/kpm.csv", "drop_point")}
    assert len(problems) == len(scenario.drop_points)
    roster = "drop_point,kpm_id,name\n" + "".join(
        f"{p.id},{p.id}-{i},Nama\n" for p in scenario.drop_points for i in range(p.kpm)
    )
    (tmp_path / "data" / "kpm.csv").write_text(roster, encoding="utf-8")
    assert validate_scenario(tmp_path) == scenario
