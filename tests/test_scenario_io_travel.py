"""Tests of [travel] and [files] boundaries in geodata.scenario_io and their write-back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from geodata.scenario_io import read_scenario
from geodata.scenario_writer import scenario_toml, write_scenario
from optimizer.builder import ScenarioBuilder
from optimizer.errors import InputError
from optimizer.model import DEFAULT_ROAD_SPEED_KMH, TravelSettings
from tests.conftest import VALID, _append_toml, problems_of, scenario_with_defect, the_problem


def _folder(tmp_path: Path, travel: str, files: dict[str, str] | None = None) -> Path:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    for name, content in (files or {}).items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    _append_toml(folder, "\n" + travel)
    return folder


def test_the_default_travel_is_the_straight_line() -> None:
    travel = read_scenario(VALID).travel
    assert travel == TravelSettings()
    assert travel.source == "straight"


def test_an_osm_source_with_speeds_and_access_reads_whole(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        '[travel]\nsource = "osm"\nosm_file = "maps/roads.osm.pbf"\nmax_snap_m = 250\n'
        "small_truck_max_kg = 3000\n"
        "[travel.speed_kmh]\nprimary = 45\ntrack = 8.5\n"
        '[travel.access]\nCDD = "small"\n',
        {"maps/roads.osm.pbf": "not read here"},
    )
    travel = read_scenario(folder).travel
    assert (travel.source, travel.osm_file, travel.max_snap_m) == (
        "osm",
        "maps/roads.osm.pbf",
        250.0,
    )
    assert travel.small_truck_max_kg == 3000.0
    speeds = travel.speeds_kmh()
    assert (speeds["primary"], speeds["track"]) == (45.0, 8.5)
    # The others keep their defaults, in the defaults' order.
    assert [road for road, _ in travel.road_speed_kmh] == [r for r, _ in DEFAULT_ROAD_SPEED_KMH]
    assert speeds["secondary"] == dict(DEFAULT_ROAD_SPEED_KMH)["secondary"]
    assert travel.access == (("CDD", "small"),)
    assert travel.speed_kmh == TravelSettings().speed_kmh  # the table is not the straight speed


def test_every_travel_problem_is_reported_at_once(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        '[travel]\nsource = "roads"\nmatrix_file = "../outside.csv"\nmax_snap_m = -5\n'
        '[travel.speed_kmh]\nprimery = 40\ntrack = "fast"\n'
        '[travel.access]\nCDD = "huge"\nbecak = "small"\n',
    )
    problems = problems_of(folder)
    assert "not one of straight, osm, matrix" in (
        the_problem(problems, "scenario.toml", None, "travel.source").message
    )
    assert "leaves the scenario folder" in (
        the_problem(problems, "scenario.toml", None, "travel.matrix_file").message
    )
    the_problem(problems, "scenario.toml", None, "travel.max_snap_m")
    assert "did you mean 'primary'" in (
        the_problem(problems, "scenario.toml", None, "travel.speed_kmh.primery").message
    )
    the_problem(problems, "scenario.toml", None, "travel.speed_kmh.track")
    assert "'big', 'small'" in (
        the_problem(problems, "scenario.toml", None, "travel.access.CDD").message
    )
    assert "no truck has type 'becak'" in (
        the_problem(problems, "scenario.toml", None, "travel.access.becak").message
    )


@pytest.mark.parametrize(
    ("travel", "key"),
    [
        ('source = "osm"', "travel.osm_file"),
        ('source = "matrix"', "travel.matrix_file"),
        ('source = "matrix"\nmatrix_file = "absent.csv"', "travel.matrix_file"),
        ('source = "osm"\nosm_file = "absent.osm.pbf"', "travel.osm_file"),
    ],
)
def test_a_source_needs_its_file(tmp_path: Path, travel: str, key: str) -> None:
    folder = _folder(tmp_path, f"[travel]\n{travel}\n")
    problem = the_problem(problems_of(folder), "scenario.toml", None, key)
    assert "missing" in problem.message or "not found" in problem.message


def test_a_plan_copy_reads_without_the_extract(tmp_path: Path) -> None:
    folder = _folder(tmp_path, '[travel]\nsource = "osm"\nosm_file = "roads.osm.pbf"\n')
    with pytest.raises(InputError):
        read_scenario(folder)
    assert read_scenario(folder, side_files=False).travel.osm_file == "roads.osm.pbf"


def test_a_file_name_leaving_the_folder_is_refused_even_for_a_plan_copy(tmp_path: Path) -> None:
    folder = _folder(tmp_path, '[travel]\nsource = "osm"\nosm_file = "/etc/passwd"\n')
    problems = problems_of(folder, side_files=False)  # type: ignore[arg-type]
    assert (
        "absolute path" in the_problem(problems, "scenario.toml", None, "travel.osm_file").message
    )


def test_boundaries_are_read_and_checked(tmp_path: Path) -> None:
    folder = _folder(tmp_path, '[files]\nboundaries = "desa.geojson"\n', {"desa.geojson": "{}"})
    assert read_scenario(folder).boundaries_file == "desa.geojson"
    (folder / "desa.geojson").unlink()
    problem = the_problem(problems_of(folder), "scenario.toml", None, "files.boundaries")
    assert "not found" in problem.message
    assert read_scenario(folder, side_files=False).boundaries_file == "desa.geojson"


def test_the_builder_checks_travel_of_a_scenario_built_in_code() -> None:
    builder = ScenarioBuilder()
    builder.set_settings(
        name="x",
        start_date=read_scenario(VALID).start_date,
        travel=TravelSettings(
            source="ferry", max_snap_m=0.0, access=(("CDD", "medium"),), osm_file=None
        ),
    )
    with pytest.raises(InputError) as caught:
        builder.build()
    fields = {p.field for p in caught.value.problems}
    assert {"travel.source", "travel.max_snap_m", "travel.access.CDD"} <= fields


@pytest.mark.parametrize(
    "travel",
    [
        TravelSettings(),
        TravelSettings(speed_kmh=25.0, circuity=1.3),
        TravelSettings(source="matrix", matrix_file="m/travel matrix.csv", max_snap_m=120.0),
        TravelSettings(
            source="osm",
            osm_file="roads.osm.pbf",
            small_truck_max_kg=3000.0,
            road_speed_kmh=tuple(
                (road, 12.5 if road == "track" else speed) for road, speed in DEFAULT_ROAD_SPEED_KMH
            ),
            access=(("CDD", "small"), ("CDE", "big")),
        ),
    ],
)
def test_travel_settings_are_written_back_and_read_equal(
    tmp_path: Path, travel: TravelSettings
) -> None:
    scenario = dataclasses.replace(read_scenario(VALID), travel=travel)
    side = {name: b"x" for name in (travel.osm_file, travel.matrix_file) if name}
    write_scenario(scenario, tmp_path / "copy", side_files=side)
    assert read_scenario(tmp_path / "copy") == scenario


def test_a_straight_scenario_writes_travel_as_it_always_did() -> None:
    text = scenario_toml(read_scenario(VALID))
    section = text.split("[travel]\n")[1].split("\n\n")[0]
    assert section == "speed_kmh = 30.0\ncircuity = 1.4"


def test_side_files_may_not_leave_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="relative name"):
        write_scenario(read_scenario(VALID), tmp_path / "copy", side_files={"../x.csv": b"x"})
