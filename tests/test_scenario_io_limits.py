"""Tests of the reader's limits: problems listed, ranges of numbers, ids folded, hostile paths."""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import pickle
import socket
import stat
import tempfile
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cli import main
from geodata.cells import normalise_id
from geodata.scenario_io import (
    MAX_PLAN_DAYS,
    NUMBER_BOUNDS,
    _open_regular,
    _UnreadableFileError,
    read_scenario,
)
from geodata.scenario_writer import write_scenario
from optimizer.errors import MAX_LISTED_PROBLEMS, InputError, Problem, ProblemCollector
from tests.conftest import (
    SECRET,
    VALID,
    _append_toml,
    _outside_table,
    make_tiny_scenario,
    problems_of,
    read_rows,
    scenario_with_defect,
    the_problem,
)


def _write_rows(path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> None:
    with path.open("w", newline="", encoding=encoding) as stream:
        csv.writer(stream, lineterminator="\n").writerows(rows)


def _bad_points(folder: Path, count: int) -> None:
    """Replace the drop points with ``count`` rows whose kpm is not a number."""
    header = read_rows(VALID / "drop_points.csv")[0]
    rows = [header] + [
        [f"P{i}", "RW 01", "106.75", "-6.56", f"x{i}", "", "", "", "", "", "", ""]
        for i in range(count)
    ]
    _write_rows(folder / "drop_points.csv", rows)


# --------------------------------------------------------------------------------------------
# At most 1,000 problems listed


def test_collector_keeps_the_first_thousand_and_counts_the_rest() -> None:
    collector = ProblemCollector()
    for index in range(MAX_LISTED_PROBLEMS + 250):
        collector.append(Problem("a.csv" if index < 1100 else "b.csv", f"bad {index}", row=index))
    assert len(collector) == MAX_LISTED_PROBLEMS + 250
    assert collector.full
    error = collector.error()
    assert error.total == MAX_LISTED_PROBLEMS + 250
    assert error.not_listed == 250
    assert len(error.problems) == MAX_LISTED_PROBLEMS + 1
    assert [p.message for p in error.problems[:2]] == ["bad 0", "bad 1"]
    note = error.problems[-1]
    assert (note.file, note.row, note.field) == ("a.csv", None, None)
    assert "250 more problems were found and not listed" in note.message


def test_input_error_caps_a_long_list_given_directly() -> None:
    error = InputError(Problem("x.csv", "bad", row=i) for i in range(MAX_LISTED_PROBLEMS + 1))
    assert error.total == MAX_LISTED_PROBLEMS + 1
    assert error.not_listed == 1
    assert "1 more problem was found" in error.problems[-1].message
    assert str(error).startswith(f"{MAX_LISTED_PROBLEMS + 1} problems in the input (the first")


def test_input_error_below_the_cap_has_no_note() -> None:
    error = InputError([Problem("x.csv", "bad", row=2)])
    assert error.problems == (Problem("x.csv", "bad", row=2),)
    assert (error.total, error.not_listed) == (1, 0)
    assert "listed" not in str(error)


def test_many_bad_rows_give_a_thousand_problems_and_a_count(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _bad_points(folder, 3000)
    with pytest.raises(InputError) as caught:
        read_scenario(folder)
    error = caught.value
    assert error.total == 3000
    assert len(error.problems) == MAX_LISTED_PROBLEMS + 1
    assert error.problems[0].row == 2
    note = error.problems[-1]
    assert note.file == "drop_points.csv"
    assert "2000 more problems were found and not listed" in note.message
    assert len(str(error)) < 200_000


def test_bsb_validate_shows_the_cap_note(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _bad_points(folder, MAX_LISTED_PROBLEMS + 5)
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 2
    assert f"{MAX_LISTED_PROBLEMS + 5} problems in the input (the first 1000 listed)" in (
        result.output
    )
    assert "5 more problems were found and not listed" in result.output
    assert result.output.count("\n  - ") == MAX_LISTED_PROBLEMS + 1


def test_service_problem_items_end_with_the_cap_note(tmp_path: Path) -> None:
    problems_module = pytest.importorskip("service.problems")
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _bad_points(folder, MAX_LISTED_PROBLEMS + 2)
    with pytest.raises(InputError) as caught:
        read_scenario(folder)
    items = problems_module.items_from_problems(caught.value.problems)
    assert len(items) == MAX_LISTED_PROBLEMS + 1
    assert "2 more problems were found and not listed" in items[-1].message


def test_windows_1252_csv_is_still_read(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    rows = read_rows(VALID / "drop_points.csv")
    rows[1][1] = "RW 01 Café – Babakan"
    _write_rows(folder / "drop_points.csv", rows, encoding="cp1252")
    assert read_scenario(folder).drop_points[0].name == "RW 01 Café – Babakan"


# --------------------------------------------------------------------------------------------
# Ranges of numbers

_TABLE_CELLS = {
    # table key -> (file, column, row to change)
    "warehouses.stock_kg": ("warehouses.csv", "stock_kg", 1),
    "trucks.capacity_kg": ("trucks.csv", "capacity_kg", 1),
    "trucks.cost_per_km": ("trucks.csv", "cost_per_km", 2),
    "trucks.cost_per_day": ("trucks.csv", "cost_per_day", 2),
    "trucks.max_trips_per_day": ("trucks.csv", "max_trips_per_day", 2),
    "drop_points.kpm": ("drop_points.csv", "kpm", 1),
    "drop_points.service_min": ("drop_points.csv", "service_min", 4),
    "tranches.kg_per_kpm": ("tranches.csv", "kg_per_kpm", 1),
}


def _set_cell(folder: Path, file: str, column: str, row: int, value: str) -> None:
    rows = read_rows(folder / file)
    rows[row][rows[0].index(column)] = value
    _write_rows(folder / file, rows)


def _set_toml(folder: Path, key: str, value: str) -> None:
    """Set ``key`` (``section.name`` or a top-level name) in scenario.toml, replacing it."""
    section, _, name = key.rpartition(".")
    path = folder / "scenario.toml"
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.startswith(f"{name} =")
    ]
    entry = f"{name} = {value}"
    if not section:
        lines.insert(0, entry)
    elif f"[{section}]" in lines:
        lines.insert(lines.index(f"[{section}]") + 1, entry)
    else:
        lines += [f"[{section}]", entry]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_every_bounded_field_is_tested() -> None:
    toml_keys = {key for key in NUMBER_BOUNDS if key.split(".")[0] not in _TABLES}
    assert set(NUMBER_BOUNDS) == set(_TABLE_CELLS) | toml_keys


_TABLES = ("warehouses", "trucks", "drop_points", "tranches")


def _read_with(tmp_path: Path, key: str, value: str) -> tuple[Problem, ...]:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    if key in _TABLE_CELLS:
        file, column, row = _TABLE_CELLS[key]
        _set_cell(folder, file, column, row, value)
    else:
        _set_toml(folder, key, value)
    try:
        read_scenario(folder)
    except InputError as error:
        return error.problems
    return ()


def _field_problem(problems: tuple[Problem, ...], key: str) -> Problem:
    if key in _TABLE_CELLS:
        file, column, row = _TABLE_CELLS[key]
        return the_problem(problems, file, row + 1, column)
    return the_problem(problems, "scenario.toml", None, key)


@pytest.mark.parametrize("key", sorted(NUMBER_BOUNDS))
def test_the_highest_value_is_accepted_and_just_above_is_refused(tmp_path: Path, key: str) -> None:
    bounds = NUMBER_BOUNDS[key]
    high = int(bounds.high)  # every bound is a whole number
    accepted = _read_with(tmp_path / "ok", key, str(high))
    # Other rules may still apply (1000 kg is no whole number of 15 kg sacks): not the range.
    assert not [p for p in accepted if "<=" in p.message or "out of range" in p.message], accepted
    above = high + 1 if bounds.whole else bounds.high * 1.001
    problem = _field_problem(_read_with(tmp_path / "above", key, str(above)), key)
    assert f"<= {high}" in problem.message


@pytest.mark.parametrize("key", sorted(NUMBER_BOUNDS))
@pytest.mark.parametrize("value", ["1e30", "-1e30", "nan", "inf", "1" + "0" * 400])
def test_huge_and_non_finite_numbers_are_refused(tmp_path: Path, key: str, value: str) -> None:
    problems = _read_with(tmp_path, key, value)
    problem = _field_problem(problems, key)
    assert len(str(problem)) < 400
    assert "0" * 100 not in problem.message


def test_a_toml_integer_too_long_for_python_is_an_input_error(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _set_toml(folder, "solver.seed", "9" * 5000)
    problem = the_problem(problems_of(folder), "scenario.toml", None, None)
    assert "too long" in problem.message


@pytest.mark.parametrize(("key", "value"), [("solver.seed", "1.5"), ("drop_points.kpm", "2.5")])
def test_whole_numbers_must_be_whole(tmp_path: Path, key: str, value: str) -> None:
    problem = _field_problem(_read_with(tmp_path, key, value), key)
    assert "whole number" in problem.message


# --------------------------------------------------------------------------------------------
# Ids folded before they are compared

ZWSP = "\u200b"


def test_an_id_with_a_zero_width_space_is_a_duplicate_naming_both_rows(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _set_cell(folder, "drop_points.csv", "id", 3, f"P{ZWSP}2")
    problem = the_problem(problems_of(folder), "drop_points.csv", 4, "id")
    assert "duplicate id 'P2' (first used in row 3" in problem.message
    assert "row 3 has 'P2' and row 4 'P\\u200b2'" in problem.message


@pytest.mark.parametrize(
    ("table", "column", "row", "written"),
    [
        ("warehouses.csv", "id", 1, f"{ZWSP}W1"),
        ("trucks.csv", "warehouse_id", 2, f"W1{ZWSP}\ufeff"),
        ("trucks.csv", "warehouse_id", 1, "\uff371"),  # full-width W
        ("tranches.csv", "id", 1, f"T-{ZWSP}SEP\u2060"),
        ("trucks.csv", "id", 1, "\x01T1"),
        ("drop_points.csv", "id", 2, "\u00a0P2\u3000"),
    ],
)
def test_ids_and_references_are_folded(
    tmp_path: Path, table: str, column: str, row: int, written: str
) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _set_cell(folder, table, column, row, written)
    assert read_scenario(folder) == read_scenario(VALID)


def test_two_trucks_differing_only_by_invisible_characters_are_duplicates(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _set_cell(folder, "trucks.csv", "id", 2, f"T1{ZWSP}")
    assert "duplicate id 'T1'" in the_problem(problems_of(folder), "trucks.csv", 3, "id").message


def test_an_unknown_reference_is_named_folded(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _set_cell(folder, "trucks.csv", "warehouse_id", 1, f"W{ZWSP}9")
    problem = the_problem(problems_of(folder), "trucks.csv", 2, "warehouse_id")
    assert "unknown warehouse 'W9'" in problem.message


@given(st.text())
@example(f"P{ZWSP}1")
@example("\uff30\uff11")
def test_normalise_id_is_idempotent_and_visible(text: str) -> None:
    once = normalise_id(text)
    assert normalise_id(once) == once
    assert once == once.strip()
    assert ZWSP not in once


# --------------------------------------------------------------------------------------------
# What bsb writes it reads back: the scenario copy in a plan folder

_PREFIXES = ("=", "+", "-", "@", "'=", "''+", "'", " =", "\uff1d", "")
_VISIBLE = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))


@st.composite
def _formula_like(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(_PREFIXES))
    return (prefix + draw(st.text(_VISIBLE, max_size=12))).strip()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(point_id=_formula_like(), warehouse_id=_formula_like(), name=_formula_like())
@example(point_id="=1+1", warehouse_id="@W", name='=HYPERLINK("http://x","y")')
@example(point_id="'=P", warehouse_id="-W1", name="''+1")
@example(point_id="-42", warehouse_id="+62", name="'abc")
def test_ids_and_names_like_formulas_survive_a_write_and_read(
    point_id: str, warehouse_id: str, name: str
) -> None:
    point_id, warehouse_id = normalise_id(point_id), normalise_id(warehouse_id)
    base = make_tiny_scenario()
    others = {p.id for p in base.drop_points[1:]}
    if not point_id or not warehouse_id or not name or point_id in others:
        return
    scenario = make_tiny_scenario(
        warehouses=(dataclasses.replace(base.warehouses[0], id=warehouse_id, name=name),),
        trucks=tuple(dataclasses.replace(t, warehouse_id=warehouse_id) for t in base.trucks),
        drop_points=(
            dataclasses.replace(base.drop_points[0], id=point_id, name=name, desa=name),
            *base.drop_points[1:],
        ),
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "copy"
        write_scenario(scenario, folder)
        for path in folder.glob("*.csv"):
            for row in read_rows(path):
                assert not any(cell.startswith(("=", "+", "@")) for cell in row), row
        assert read_scenario(folder) == scenario


# --------------------------------------------------------------------------------------------
# Paths: nothing outside the folder, nothing but regular files, no hang


def test_a_symlinked_folder_two_hops_out_is_refused(tmp_path: Path) -> None:
    table = _outside_table(tmp_path)
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "a").mkdir()
    (folder / "a" / "b").symlink_to(table.parent, target_is_directory=True)
    (folder / "c").symlink_to(Path("a") / "b", target_is_directory=True)
    _append_toml(folder, '[files]\ntrucks = "c/trucks.csv"\n')
    problems = problems_of(folder)
    problem = the_problem(problems, "scenario.toml", None, "files.trucks")
    assert "symbolic link" in problem.message
    assert str(table.parent) not in " ".join(str(p) for p in problems)
    assert SECRET not in " ".join(str(p) for p in problems)


def test_a_socket_is_refused(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    here = Path.cwd()
    os.chdir(folder)  # a socket's path is limited to about 100 bytes: bind a short one
    try:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind("sock.csv")
            _append_toml(folder, '[files]\ntrucks = "sock.csv"\n')
            problem = the_problem(problems_of(folder), "scenario.toml", None, "files.trucks")
    finally:
        os.chdir(here)
    assert "not a regular file" in problem.message


def test_a_device_inside_the_folder_is_refused(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    try:
        os.mknod(folder / "zero.csv", stat.S_IFCHR | 0o600, os.makedev(1, 5))
    except (PermissionError, OSError) as error:
        pytest.skip(f"cannot make a device node here: {error}")
    _append_toml(folder, '[files]\ndrop_points = "zero.csv"\n')
    problem = the_problem(problems_of(folder), "scenario.toml", None, "files.drop_points")
    assert "not a regular file" in problem.message


def test_a_fifo_put_in_place_after_the_check_does_not_hang_the_reader(tmp_path: Path) -> None:
    fifo = tmp_path / "swapped.csv"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def open_it() -> None:
        try:
            _open_regular(fifo).close()
            outcome.append(None)
        except BaseException as error:  # recorded for the assertion below
            outcome.append(error)

    worker = threading.Thread(target=open_it, daemon=True)
    worker.start()
    worker.join(timeout=5)
    if worker.is_alive():  # unblock the thread before failing, so the test run can end
        with fifo.open("wb"):
            pass
        pytest.fail("opening a FIFO blocked")
    assert isinstance(outcome[0], _UnreadableFileError)


def test_a_link_put_in_place_after_the_check_is_not_followed(tmp_path: Path) -> None:
    table = _outside_table(tmp_path)
    link = tmp_path / "link.csv"
    link.symlink_to(table)
    with pytest.raises(OSError):
        _open_regular(link)


@pytest.mark.parametrize("companion", ["drop_points.dbf", "drop_points.shx", "DROP_POINTS.prj"])
def test_a_shapefile_companion_leading_out_is_refused(tmp_path: Path, companion: str) -> None:
    geopandas = pytest.importorskip("geopandas")
    shapely = pytest.importorskip("shapely.geometry")
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "drop_points.csv").unlink()
    frame = geopandas.GeoDataFrame(
        {"id": ["P1"], "name": ["RW 01"], "kpm": [10]},
        geometry=[shapely.Point(106.75, -6.56)],
        crs="EPSG:4326",
    )
    frame.to_file(folder / "drop_points.shp")
    outside = tmp_path / "outside"
    outside.mkdir()
    real = folder / companion
    if not real.exists():
        real = next(p for p in folder.iterdir() if p.name.lower() == companion.lower())
    (outside / real.name).write_bytes(real.read_bytes())
    real.unlink()
    (folder / companion).symlink_to(outside / real.name)
    problems = problems_of(folder)
    problem = the_problem(problems, "drop_points.shp", None, "files.drop_points")
    assert f"companion file '{companion}'" in problem.message
    assert "symbolic link" in problem.message
    assert str(outside) not in " ".join(str(p) for p in problems)


def test_a_fifo_beside_a_shapefile_is_refused_without_hanging(tmp_path: Path) -> None:
    geopandas = pytest.importorskip("geopandas")
    shapely = pytest.importorskip("shapely.geometry")
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "drop_points.csv").unlink()
    geopandas.GeoDataFrame(
        {"id": ["P1"], "name": ["RW 01"], "kpm": [10]},
        geometry=[shapely.Point(106.75, -6.56)],
        crs="EPSG:4326",
    ).to_file(folder / "drop_points.shp")
    (folder / "drop_points.cpg").unlink(missing_ok=True)
    os.mkfifo(folder / "drop_points.cpg")
    problem = the_problem(problems_of(folder), "drop_points.shp", None, "files.drop_points")
    assert "not a regular file" in problem.message


def test_math_isfinite_is_not_what_guards_toml_integers() -> None:
    # The reason NumberBounds are compared before any float conversion.
    with pytest.raises(OverflowError):
        math.isfinite(10**400)


def test_input_error_crosses_a_process_boundary_whole() -> None:
    error = InputError(Problem("x.csv", "bad", row=i) for i in range(MAX_LISTED_PROBLEMS + 3))
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.problems, copy.total, copy.not_listed) == (error.problems, error.total, 3)
    assert str(copy) == str(error)


def test_scenario_toml_that_is_not_utf8_is_unreadable_not_a_long_number(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "scenario.toml").write_bytes(b'name = "caf\xe9"\nstart_date = 2020-09-01\n')
    problem = the_problem(problems_of(folder), "scenario.toml", None, None)
    assert "could not be read" in problem.message


@pytest.mark.parametrize(
    ("option", "key"),
    [
        ("--seed", "solver.seed"),
        ("--time-limit", "solver.time_limit_s"),
        ("--solution-limit", "solver.solution_limit"),
    ],
)
def test_command_line_overrides_have_the_scenario_bounds(
    tmp_path: Path, option: str, key: str
) -> None:
    too_large = str(int(NUMBER_BOUNDS[key].high) + 1)
    result = CliRunner().invoke(
        main, ["plan", str(VALID), "-o", str(tmp_path / "plan"), option, too_large]
    )
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "plan").exists()


def test_a_deadline_centuries_away_is_refused_quickly(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _set_cell(folder, "tranches.csv", "release", 1, "0001-01-01")
    _set_cell(folder, "tranches.csv", "deadline", 1, "9999-12-31")
    _set_cell(folder, "tranches.csv", "release", 2, "2021-10-01")
    _set_cell(folder, "tranches.csv", "deadline", 2, "2021-10-31")
    problems = problems_of(folder)
    first = the_problem(problems, "tranches.csv", 2, "release/deadline")
    assert "deadline 9999-12-31 is 2914390 days after the scenario's start_date" in first.message
    second = the_problem(problems, "tranches.csv", 3, "release/deadline")
    assert f"within {MAX_PLAN_DAYS} days" in second.message


def test_a_deadline_a_year_after_the_start_is_accepted(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _set_cell(folder, "tranches.csv", "deadline", 2, "2021-09-01")  # 365 days after 2020-09-01
    assert read_scenario(folder).tranches[1].deadline.isoformat() == "2021-09-01"


def test_an_unknown_reference_among_many_ids_gets_no_costly_hint(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    rows = read_rows(VALID / "warehouses.csv")
    rows += [[f"W{i:05d}", "Gudang", "106.74", "-6.57", "1000"] for i in range(2, 1500)]
    _write_rows(folder / "warehouses.csv", rows)
    _set_cell(folder, "trucks.csv", "warehouse_id", 1, "W9")
    problem = the_problem(problems_of(folder), "trucks.csv", 2, "warehouse_id")
    assert "expected the id of a warehouse in the warehouses table" in problem.message


def test_a_header_of_thousands_of_columns_is_cut_in_the_message(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    rows = read_rows(VALID / "drop_points.csv")
    rows[0][rows[0].index("kpm")] = "x" * 500
    rows[0] += [f"note{i}" for i in range(5000)]
    _write_rows(folder / "drop_points.csv", rows)
    problem = the_problem(problems_of(folder), "drop_points.csv", None, "kpm")
    assert "missing required column 'kpm'" in problem.message
    assert len(problem.message) < 1000
