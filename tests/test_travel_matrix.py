"""Tests of geodata.travel_matrix: matrix files, and the travel/ files of a plan folder."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata.travel_matrix import (
    LEGS_FILE,
    PROVENANCE_FILE,
    fleet_access,
    legs_csv,
    matrix_csv,
    place_ids,
    plan_legs,
    read_legs,
    read_matrix_file,
    travel_files,
    write_travel_files,
)
from optimizer.checker import check_plan_file
from optimizer.errors import InputError
from optimizer.model import Scenario, TravelSettings
from optimizer.solution import plan_to_dict
from optimizer.travel import NO_ROAD_S, RoadMatrix
from tests.conftest import make_tiny_plan, make_tiny_scenario

IDS = ("W1", "00042", "P2", "P3", "P4")


def _matrix_scenario() -> Scenario:
    return make_tiny_scenario(travel=TravelSettings(source="matrix", matrix_file="m.csv"))


def _write_full_matrix(path: Path, *, skip: set[tuple[str, str]] = frozenset()) -> None:  # type: ignore[assignment]
    lines = ["from,to,distance_km,duration_min"]
    for (i, a), (j, b) in itertools.product(enumerate(IDS), repeat=2):
        if a != b and (a, b) not in skip:
            lines.append(f"{a},{b},{i + j + 0.5},{(i + 1) * (j + 2) / 3}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_matrix_file_reads_into_a_one_class_road_matrix(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    _write_full_matrix(path)
    matrix = read_matrix_file(path, _matrix_scenario())
    assert matrix.place_ids == IDS == place_ids(_matrix_scenario())
    assert matrix.access == ("all",)
    assert matrix.km.shape == matrix.seconds.shape == (1, 5, 5)
    assert matrix.km[0, 1, 3] == 1 + 3 + 0.5
    # Minutes become whole seconds rounded up: 2 * 5 / 3 min = 200 s exactly, 1 * 3 / 3 = 60 s.
    assert matrix.seconds[0, 1, 3] == 200
    assert matrix.seconds[0, 0, 1] == 60
    assert (np.diagonal(matrix.km[0]) == 0).all() and (np.diagonal(matrix.seconds[0]) == 0).all()
    assert (matrix.snap_m == 0).all()
    assert matrix.provenance["source"] == "matrix"
    assert matrix.provenance["file"] == "m.csv"
    assert matrix.provenance["bytes"] == path.stat().st_size
    assert len(str(matrix.provenance["sha256"])) == 64


def test_minutes_are_rounded_up_to_whole_seconds(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    _write_full_matrix(path)
    text = path.read_text()
    assert "W1,00042,1.5,1.0\n" in text
    path.write_text(text.replace("W1,00042,1.5,1.0\n", "W1,00042,1.5,0.501\n"))
    assert read_matrix_file(path, _matrix_scenario()).seconds[0, 0, 1] == 31  # 30.06 s


def test_a_semicolon_file_with_decimal_commas_reads(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    _write_full_matrix(path)
    text = path.read_text().replace(",", ";")
    text = "\n".join(
        ";".join(
            cell.replace(".", ",") if i >= 2 else cell for i, cell in enumerate(line.split(";"))
        )
        for line in text.splitlines()
    )
    path.write_text(text + "\n")
    assert read_matrix_file(path, _matrix_scenario()).km[0, 1, 3] == 4.5


def test_an_xlsx_matrix_reads_as_the_csv(tmp_path: Path) -> None:
    from openpyxl import Workbook

    csv_path = tmp_path / "m.csv"
    _write_full_matrix(csv_path)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in csv_path.read_text().splitlines():
        cells = line.split(",")
        sheet.append(cells[:2] + [float(c) if c[0].isdigit() else c for c in cells[2:]])
    workbook.save(tmp_path / "m.xlsx")
    from_xlsx = read_matrix_file(tmp_path / "m.xlsx", _matrix_scenario())
    from_csv = read_matrix_file(csv_path, _matrix_scenario())
    assert np.array_equal(from_xlsx.km, from_csv.km)
    assert np.array_equal(from_xlsx.seconds, from_csv.seconds)


def test_every_matrix_problem_is_named_with_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    _write_full_matrix(path, skip={("P3", "P4")})
    with path.open("a") as stream:
        stream.write("W9,P2,1,1\n")  # unknown id
        stream.write("W1,P2,-1,1\n")  # negative, and a pair given twice: reported once, as -1
        stream.write("P2,W1,1,nan\n")  # given twice and not a number
    with pytest.raises(InputError) as caught:
        read_matrix_file(path, _matrix_scenario(), display="input/m.csv")
    where = {(p.file, p.row, p.field) for p in caught.value.problems}
    rows = len(path.read_text().splitlines())
    assert ("input/m.csv", rows - 2, "from") in where
    assert ("input/m.csv", rows - 1, "distance_km") in where
    assert ("input/m.csv", rows, "duration_min") in where
    # Missing pairs are reported once the rows themselves are right.
    _write_full_matrix(path, skip={("P3", "P4"), ("W1", "P2")})
    with pytest.raises(InputError) as caught:
        read_matrix_file(path, _matrix_scenario())
    messages = [p.message for p in caught.value.problems]
    assert any("no row from 'P3' to 'P4'" in m for m in messages)
    assert any("no row from 'W1' to 'P2'" in m for m in messages)


def test_a_pair_given_twice_names_the_first_row(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    _write_full_matrix(path)
    with path.open("a") as stream:
        stream.write("W1,P2,1,1\n")
    with pytest.raises(InputError) as caught:
        read_matrix_file(path, _matrix_scenario())
    (problem,) = caught.value.problems
    assert "first in row" in problem.message and problem.field == "from/to"


def test_missing_columns_are_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("from,to,km\nW1,P2,1\n")
    with pytest.raises(InputError) as caught:
        read_matrix_file(path, _matrix_scenario())
    (problem,) = caught.value.problems
    assert "distance_km, duration_min" in problem.message


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 500, allow_nan=False), st.integers(0, 36_000)),
        min_size=20,
        max_size=20,
    )
)
def test_a_matrix_written_by_matrix_csv_reads_back_equal(pairs: list[tuple[float, int]]) -> None:
    import tempfile

    n = len(IDS)
    km = np.zeros((1, n, n))
    seconds = np.zeros((1, n, n), dtype=np.int64)
    off_diagonal = [(i, j) for i in range(n) for j in range(n) if i != j]
    for (i, j), (distance, duration) in zip(off_diagonal, pairs, strict=True):
        km[0, i, j], seconds[0, i, j] = distance, duration
    matrix = RoadMatrix(IDS, ("all",), km, seconds, np.zeros((1, n)), (("",) * n,), {})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.csv"
        path.write_bytes(matrix_csv(matrix))
        back = read_matrix_file(path, _matrix_scenario())
    assert np.array_equal(back.km, km)
    assert np.array_equal(back.seconds, seconds)


# --------------------------------------------------------------------------------------------
# travel/ of a plan folder


def _two_class_matrix(scenario: Scenario) -> RoadMatrix:
    """Big and small classes; P3 lies behind a track (big: no road), P4 beyond max_snap_m."""
    n = len(IDS)
    km = np.full((2, n, n), 3.0)
    seconds = np.full((2, n, n), 600, dtype=np.int64)
    for k in range(2):
        np.fill_diagonal(km[k], 0.0)
        np.fill_diagonal(seconds[k], 0)
    p3 = IDS.index("P3")
    km[0, p3, :] = km[0, :, p3] = math.inf
    seconds[0, p3, :] = seconds[0, :, p3] = NO_ROAD_S
    km[0, p3, p3] = seconds[0, p3, p3] = 0
    snap = np.zeros((2, n))
    snap[:, IDS.index("P4")] = scenario.travel.max_snap_m + 1
    return RoadMatrix(IDS, ("big", "small"), km, seconds, snap, (("",) * n,) * 2, {"source": "osm"})


def test_plan_legs_keep_drivable_legs_of_each_class_the_fleet_has() -> None:
    scenario = make_tiny_scenario(travel=TravelSettings(source="osm", osm_file="r.osm.pbf"))
    assert fleet_access(scenario) == ("big", "small")  # T2 carries 5 t, T1 2 t
    legs = plan_legs(scenario, make_tiny_plan(scenario), _two_class_matrix(scenario))
    keys = {(leg.from_id, leg.to_id, leg.access) for leg in legs}
    assert len(keys) == len(legs)
    assert ("W1", "P3", "small") in keys and ("P3", "W1", "small") in keys
    assert ("W1", "P3", "big") not in keys  # behind a track
    assert not any("P4" in (leg.from_id, leg.to_id) for leg in legs)  # too far from any road
    # The trips' own legs are there: T2 drives 00042 -> P2 on the big roads.
    assert ("00042", "P2", "big") in keys


def test_legs_csv_reads_back_exactly(tmp_path: Path) -> None:
    scenario = make_tiny_scenario(travel=TravelSettings(source="osm", osm_file="r.osm.pbf"))
    matrix = _two_class_matrix(scenario)
    matrix.km[1, 0, 1] = 1 / 3  # a float that needs all its digits
    legs = plan_legs(scenario, make_tiny_plan(scenario), matrix)
    path = tmp_path / "legs.csv"
    path.write_bytes(legs_csv(legs))
    back = read_legs(path)
    assert back == {(g.from_id, g.to_id, g.access): (g.distance_km, g.duration_s) for g in legs}
    assert back[("W1", "00042", "small")][0] == 1 / 3


def test_bad_legs_files_are_input_errors(tmp_path: Path) -> None:
    path = tmp_path / "legs.csv"
    path.write_text("from,to,access,distance_km,duration_s\nW1,P2,all,-1,5\nW1,P3,all,1,1.5\n")
    with pytest.raises(InputError) as caught:
        read_legs(path)
    assert [(p.row, p.field) for p in caught.value.problems] == [
        (2, "distance_km"),
        (3, "duration_s"),
    ]


def test_travel_files_go_into_the_folder_and_the_checker_reads_them(tmp_path: Path) -> None:
    # A one-class matrix equal to the straight line lets the hand-made tiny plan stand.
    scenario = make_tiny_scenario()
    plan = make_tiny_plan(scenario)
    on_matrix = dataclasses.replace(
        scenario, travel=TravelSettings(source="matrix", matrix_file="m.csv")
    )
    n = len(IDS)
    places = [*scenario.warehouses, *scenario.drop_points]
    km = np.zeros((1, n, n))
    seconds = np.zeros((1, n, n), dtype=np.int64)
    for (i, a), (j, b) in itertools.product(enumerate(places), repeat=2):
        km[0, i, j] = scenario.travel.road_km(a.lon, a.lat, b.lon, b.lat)
        seconds[0, i, j] = scenario.travel.travel_s(km[0, i, j])
    matrix = RoadMatrix(IDS, ("all",), km, seconds, np.zeros((1, n)), (("",) * n,), {"x": 1})
    files = travel_files(on_matrix, plan, matrix)
    assert set(files) == {LEGS_FILE, PROVENANCE_FILE}
    write_travel_files(tmp_path, on_matrix, plan, matrix)
    assert json.loads((tmp_path / PROVENANCE_FILE).read_text()) == {"x": 1}
    (tmp_path / "plan.json").write_text(json.dumps(plan_to_dict(plan)))
    # The hand-made plan's times are rough (kpis and stops laid out by hand): compare the
    # checker's findings with and without the legs, not their absence.
    from optimizer.checker import check_plan

    expected = check_plan(scenario, plan_to_dict(plan))
    found = check_plan_file(on_matrix, tmp_path / "plan.json")
    assert [v.rule for v in found] == [v.rule for v in expected]
    (tmp_path / LEGS_FILE).unlink()
    (missing,) = check_plan_file(on_matrix, tmp_path / "plan.json")
    assert missing.rule == "file"


_IDS = st.text(min_size=1, max_size=8)


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.tuples(_IDS, _IDS, st.sampled_from(["big", "small", "all"])),
        st.tuples(st.floats(0, 1e4, allow_nan=False), st.integers(0, 10**7)),
        max_size=30,
    )
)
def test_legs_csv_reads_back_equal_by_both_readers(
    legs: dict[tuple[str, str, str], tuple[float, int]],
) -> None:
    """Ids with commas, quotes and line breaks survive; the checker's own reader agrees."""
    import tempfile

    from geodata.travel_matrix import Leg
    from optimizer.checker import read_legs_file

    rows = [Leg(a, b, access, km, s) for (a, b, access), (km, s) in legs.items()]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "legs.csv"
        path.write_bytes(legs_csv(rows))
        assert read_legs(path) == legs
        assert read_legs_file(path) == {key: (km, float(s)) for key, (km, s) in legs.items()}
