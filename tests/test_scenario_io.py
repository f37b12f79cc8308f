"""Tests of geodata.scenario_io: reading a scenario folder and reporting every input problem."""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
import tempfile
import warnings
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from geodata.scenario_io import _parse_number, read_scenario, validate_scenario
from optimizer.errors import InputError
from optimizer.model import SolverSettings
from optimizer.progress import ReplanSettings
from tests.conftest import (
    SCENARIOS,
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

# --------------------------------------------------------------------------------------------
# Valid inputs


def test_valid_minimal_folder_reads_into_the_tiny_scenario() -> None:
    assert read_scenario(VALID) == make_tiny_scenario()


def test_validate_scenario_is_read_scenario() -> None:
    assert validate_scenario(VALID) == read_scenario(VALID)


def test_ids_and_codes_stay_verbatim_text() -> None:
    scenario = read_scenario(VALID)
    point = scenario.drop_point("00042")
    assert (point.id, point.rt, point.rw) == ("00042", "001", "01")


def test_defaults_apply_when_scenario_toml_is_minimal(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "scenario.toml").write_text('name = "x"\nstart_date = "2020-09-01"\n')
    scenario = read_scenario(folder)
    assert scenario.start_date == date(2020, 9, 1)
    assert scenario.solver == SolverSettings()
    assert (scenario.sack_kg, scenario.timezone) == (15.0, "Asia/Jakarta")
    assert scenario.calendar.working_days == frozenset(range(6))


def test_full_scenario_toml_maps_onto_the_settings(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "scenario.toml").write_text(
        'name = "full"\nstart_date = 2020-09-01\nsack_kg = 5\ntimezone = "Asia/Makassar"\n'
        '[calendar]\nworking_days = ["MON", "wed"]\nholidays = [2020-09-02, "2020-09-09"]\n'
        'shift_start = "06:30"\nshift_end = "16:00"\n'
        "[travel]\nspeed_kmh = 25\ncircuity = 1.3\n"
        "[service]\nstop_min = 10\nper_100kg_min = 2\nloading_min = 45\n"
        "[costs]\ncost_per_km = 4000\ncost_per_day = 500000\n"
        "[objective]\nwait_cost_per_kpm_day = 0\n"
        '[solver]\ntime_limit_s = 9.5\nseed = 3\nstrategy = "pci-gls"\nsolution_limit = 7\n'
    )
    scenario = read_scenario(folder)
    assert scenario.calendar.working_days == frozenset({0, 2})
    assert scenario.calendar.holidays == frozenset({date(2020, 9, 2), date(2020, 9, 9)})
    assert (scenario.travel.speed_kmh, scenario.travel.circuity) == (25.0, 1.3)
    assert scenario.service.loading_min == 45.0
    assert scenario.objective.wait_cost_per_kpm_day == 0.0
    assert scenario.solver == SolverSettings(9.5, 3, "pci-gls", 7)
    # T1 has empty shift and cost cells: it takes the scenario's defaults.
    t1 = scenario.truck("T1")
    assert (t1.shift_start_s, t1.shift_end_s) == (6 * 3600 + 1800, 16 * 3600)
    assert (t1.cost_per_km, t1.cost_per_day) == (4000.0, 500000.0)
    assert scenario.truck("T2").shift_start_s == 7 * 3600


def test_config_overrides_scenario_values(tmp_path: Path) -> None:
    config = tmp_path / "fast.toml"
    config.write_text("[solver]\ntime_limit_s = 2\n[travel]\nspeed_kmh = 40\n")
    scenario = read_scenario(VALID, config=config)
    assert scenario.solver == SolverSettings(time_limit_s=2.0, seed=1, solution_limit=50)
    assert scenario.travel.speed_kmh == 40.0


def test_semicolon_csv_with_decimal_commas_and_bom(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "warehouses.csv").write_text(
        "\ufeffid;name;lon;lat;stock_kg\nW1;Gudang Dramaga;106,74;-6,57;100.000,0\n",
        encoding="utf-8",
    )
    header, *rows = read_rows(folder / "drop_points.csv")
    lon, lat = header.index("lon"), header.index("lat")
    with (folder / "drop_points.csv").open("w", newline="", encoding="utf-8-sig") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(header)
        for row in rows:
            row[lon], row[lat] = row[lon].replace(".", ","), row[lat].replace(".", ",")
            writer.writerow(row)
    assert read_scenario(folder) == make_tiny_scenario()


def test_semicolon_csv_without_commas_reads_points_as_decimals(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "warehouses.csv").write_text(
        "id;name;lon;lat;stock_kg\nW1;Gudang Dramaga;106.74;-6.57;100000\n"
    )
    assert read_scenario(folder) == make_tiny_scenario()


def xlsx_value(cell: str) -> object:
    """What a person would have typed into a spreadsheet cell for this CSV text."""
    if cell.startswith("0") and len(cell) > 1:
        return cell  # a code with leading zeros, stored as text
    for parse in (int, float, date.fromisoformat, time.fromisoformat):
        try:
            return parse(cell)
        except ValueError:
            continue
    return cell or None


def write_xlsx(csv_path: Path, xlsx_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in read_rows(csv_path):
        sheet.append([xlsx_value(cell) for cell in row])
    workbook.save(xlsx_path)


def test_xlsx_tables_read_like_csv(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    for table in ("warehouses", "trucks", "drop_points", "tranches"):
        write_xlsx(folder / f"{table}.csv", folder / f"{table}.xlsx")
        (folder / f"{table}.csv").unlink()
    assert read_scenario(folder) == make_tiny_scenario()


def test_xlsx_number_cells_in_id_columns_read_as_text_without_point_zero(tmp_path: Path) -> None:
    from openpyxl import Workbook

    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "warehouses.csv").unlink()
    (folder / "trucks.csv").write_text("id,warehouse_id,capacity_kg\nT1,7,2000\n")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["ID", " Name ", "lon", "lat", "stock_kg"])
    sheet.append([7.0, "Gudang Dramaga", 106.74, -6.57, 100000])
    workbook.save(folder / "warehouses.xlsx")
    scenario = read_scenario(folder)
    assert [w.id for w in scenario.warehouses] == ["7"]
    assert scenario.truck("T1").warehouse_id == "7"


def write_drop_points_geojson(
    folder: Path, *, crs: str, relabel_crs: str | None = None, line_at: int | None = None
) -> None:
    """Write the tiny scenario's drop points as GeoJSON in ``crs`` and remove the CSV."""
    import geopandas
    from shapely.geometry import LineString, Point

    tiny = make_tiny_scenario()
    frame = geopandas.GeoDataFrame(
        {
            "id": [p.id for p in tiny.drop_points],
            "name": [p.name for p in tiny.drop_points],
            "kpm": [p.kpm for p in tiny.drop_points],
            "desa": [p.desa for p in tiny.drop_points],
            "kecamatan": [p.kecamatan for p in tiny.drop_points],
            "rt": [p.rt for p in tiny.drop_points],
            "rw": [p.rw for p in tiny.drop_points],
            "open": ["", "", "08:00", ""],
            "close": ["", "", "15:00", ""],
            "service_min": [None, None, None, 20.0],
        },
        geometry=[Point(p.lon, p.lat) for p in tiny.drop_points],
        crs="EPSG:4326",
    ).to_crs(crs)
    if line_at is not None:
        frame.loc[line_at, "geometry"] = LineString([(106.7, -6.5), (106.8, -6.6)])
    if relabel_crs is not None:
        frame = frame.set_crs(relabel_crs, allow_override=True)
    frame.to_file(folder / "drop_points.geojson", driver="GeoJSON")
    (folder / "drop_points.csv").unlink()


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32748"])
def test_geojson_drop_points_are_reprojected_to_lon_lat(tmp_path: Path, crs: str) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    write_drop_points_geojson(folder, crs=crs)
    scenario = read_scenario(folder)
    expected = make_tiny_scenario().drop_points
    for got, want in zip(scenario.drop_points, expected, strict=True):
        assert (got.lon, got.lat) == pytest.approx((want.lon, want.lat), abs=1e-7)
    located = [dataclasses.replace(p, lon=0.0, lat=0.0) for p in scenario.drop_points]
    assert located == [dataclasses.replace(p, lon=0.0, lat=0.0) for p in expected]


def test_files_section_names_the_tables(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "input").mkdir()
    (folder / "trucks.csv").rename(folder / "input" / "armada.csv")
    with (folder / "scenario.toml").open("a") as stream:
        stream.write('[files]\ntrucks = "input/armada.csv"\n')
    assert read_scenario(folder).trucks == make_tiny_scenario().trucks


# --------------------------------------------------------------------------------------------
# Bad inputs: one fixture folder per defect, each holding only the file(s) that differ


DEFECTS = [
    # defect folder, file, row, field, message fragment, number of problems
    ("missing_column", "drop_points.csv", None, "kpm", "missing required column 'kpm'", 1),
    ("empty_required_cell", "trucks.csv", 3, "capacity_kg", "capacity_kg is empty", 1),
    ("duplicate_id", "drop_points.csv", 4, "id", "duplicate id 'P2' (first used in row 3)", 1),
    ("non_numeric_stock", "warehouses.csv", 2, "stock_kg", "'banyak' is not a number", 1),
    ("negative_cost", "trucks.csv", 2, "cost_per_km", "-5000 must be >= 0", 1),
    ("fractional_kpm", "drop_points.csv", 3, "kpm", "12.5 is not a whole number", 1),
    ("zero_speed", "scenario.toml", None, "travel.speed_kmh", "it must be > 0", 1),
    ("circuity_below_one", "scenario.toml", None, "travel.circuity", "it must be >= 1", 1),
    ("zero_sack", "scenario.toml", None, "sack_kg", "it must be > 0", 1),
    ("outside_indonesia", "drop_points.csv", 3, "lon", "longitude 16.72 is outside Indonesia", 1),
    (
        "swapped_coordinates",
        "drop_points.csv",
        3,
        "lon/lat",
        "latitude and longitude look swapped",
        1,
    ),
    ("unknown_warehouse", "trucks.csv", 3, "warehouse_id", "unknown warehouse 'W2'", 1),
    ("deadline_before_release", "tranches.csv", 3, "deadline", "is before release", 1),
    ("zero_capacity", "trucks.csv", 2, "capacity_kg", "capacity_kg 0 must be > 0", 1),
    ("capacity_below_one_sack", "trucks.csv", 3, "capacity_kg", "less than one 15 kg sack", 1),
    ("shift_end_before_start", "trucks.csv", 2, "shift_end", "07:00 is not after shift_start", 1),
    ("malformed_open", "drop_points.csv", 2, "open", "'8 pagi' is not a time of day", 1),
    ("close_before_open", "drop_points.csv", 3, "close", "close 08:30 is before open 09:00", 1),
    (
        "ration_not_whole_sacks",
        "tranches.csv",
        3,
        "kg_per_kpm",
        "kg_per_kpm 22.5 is not a whole number of 15 kg sacks (1.5 sacks): a family's ration "
        "is handed over in whole sacks; expected a multiple of sack_kg 15, e.g. 15 or 30",
        1,
    ),
    (
        "point_in_sea",
        "drop_points.csv",
        3,
        "lon/lat",
        "lon 106.8, lat -5.6 is in the sea, 14 km from the nearest land",
        1,
    ),
    (
        "tranche_without_working_day",
        "tranches.csv",
        2,
        "release/deadline",
        "no working day from release 2020-09-06 (Sunday) to deadline 2020-09-06 (Sunday): "
        "2020-09-06 (Sunday) is not a working day ([calendar] working_days = mon, tue, wed, "
        "thu, fri, sat); expected a window holding at least one working day, e.g. deadline "
        "2020-09-07 (Monday)",
        1,
    ),
    (
        "bad_weekday",
        "scenario.toml",
        None,
        "calendar.working_days",
        "'senin' is not a weekday name",
        1,
    ),
    ("bad_date", "tranches.csv", 2, "release", "'01/09/2020' is not a date", 1),
    ("unreadable_toml", "scenario.toml", None, None, "(at line 4", 1),
    ("toml_nested_too_deep", "scenario.toml", None, None, "nested too deep to read", 1),
    ("kpm_too_large", "drop_points.csv", 3, "kpm", "kpm 1e+30 must be <= 100000", 1),
    ("unknown_toml_key", "scenario.toml", None, "solver.time_limit", "mean 'time_limit_s'", 1),
    ("bad_timezone", "scenario.toml", None, "timezone", "unknown time zone 'WIB'", 1),
    ("typo_column", "trucks.csv", 1, "capacity", "did you mean 'capacity_kg'?", 2),
    ("corrupt_xlsx", "drop_points.xlsx", None, None, "could not be read", 1),
    ("unreadable_geojson", "drop_points.geojson", None, None, "could not be read", 1),
]


@pytest.mark.parametrize(
    ("defect", "file", "row", "field", "fragment", "count"),
    DEFECTS,
    ids=[case[0] for case in DEFECTS],
)
def test_defect_is_reported_with_file_row_and_field(
    tmp_path: Path,
    defect: str,
    file: str,
    row: int | None,
    field: str | None,
    fragment: str,
    count: int,
) -> None:
    problems = problems_of(scenario_with_defect(defect, tmp_path))
    assert fragment in the_problem(problems, file, row, field).message
    assert len(problems) == count, problems


def test_every_defect_folder_has_a_test() -> None:
    folders = {p.name for p in SCENARIOS.iterdir() if p.is_dir()}
    tested = {case[0] for case in DEFECTS} | {"valid_minimal", "several_problems_in_several_files"}
    assert folders == tested


def test_several_problems_in_several_files_are_reported_together(tmp_path: Path) -> None:
    problems = problems_of(scenario_with_defect("several_problems_in_several_files", tmp_path))
    assert {(p.file, p.row, p.field) for p in problems} == {
        ("scenario.toml", None, "start_date"),
        ("scenario.toml", None, "travel.speed_kmh"),
        ("trucks.csv", 2, "warehouse_id"),
        ("trucks.csv", 3, "capacity_kg"),
        ("tranches.csv", 2, "deadline"),
    }


def test_input_error_message_lists_every_problem(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"5 problems in the input") as caught:
        read_scenario(scenario_with_defect("several_problems_in_several_files", tmp_path))
    assert "trucks.csv, row 3, field 'capacity_kg'" in str(caught.value)


def test_missing_table_file_is_reported(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "trucks.csv").unlink()
    problems = problems_of(folder)
    assert "file not found" in the_problem(problems, "trucks.csv", None, None).message
    assert len(problems) == 1


def test_missing_scenario_toml_is_reported_once(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "scenario.toml").unlink()
    problems = problems_of(folder)
    assert [p.file for p in problems] == ["scenario.toml"]


def test_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    problems = problems_of(tmp_path / "nowhere")
    assert problems[0].file == str(tmp_path / "nowhere")


def test_missing_name_and_start_date_are_reported(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "scenario.toml").write_text("sack_kg = 15\n")
    problems = problems_of(folder)
    assert {p.field for p in problems} == {"name", "start_date"}


def test_bad_config_value_names_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "override.toml"
    config.write_text('[solver]\nseed = "one"\n[solvr]\n')
    problems = problems_of(VALID, config=config)
    assert "not a whole number" in the_problem(problems, str(config), None, "solver.seed").message
    assert "did you mean 'solver'" in the_problem(problems, str(config), None, "solvr").message


def test_default_shift_must_end_after_it_starts(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    with (folder / "scenario.toml").open("a") as stream:
        stream.write('[calendar]\nshift_start = "18:00"\n')
    problems = problems_of(folder)
    assert (
        "not after shift_start 18:00"
        in the_problem(problems, "scenario.toml", None, "calendar.shift_end").message
    )
    assert len(problems) == 1


def test_a_default_shift_from_a_config_is_reported_in_the_config(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    config = tmp_path / "late.toml"
    config.write_text('[calendar]\nshift_end = "06:00"\n', encoding="utf-8")
    problems = problems_of(folder, config=config)
    problem = the_problem(problems, str(config), None, "calendar.shift_end")
    assert "shift_end 06:00 is not after shift_start 07:00" in problem.message
    assert len(problems) == 1


def test_decimal_comma_column_rejects_a_point_decimal(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "warehouses.csv").write_text(
        "id;name;lon;lat;stock_kg\nW1;Dramaga;106.74;-6,57;100000\nW2;Ciampea;106,70;-6,55;1\n"
    )
    problems = problems_of(folder)
    assert "mixes '.' and ','" in the_problem(problems, "warehouses.csv", 2, "lon").message


def test_comma_inside_a_number_of_a_comma_csv_is_reported(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "warehouses.csv").write_text(
        "id,name,lon,lat,stock_kg\nW1,Gudang Dramaga,106,74,-6,57,100000\n"
    )
    problems = problems_of(folder)
    assert "row has 7 cells" in the_problem(problems, "warehouses.csv", 2, None).message


def test_xlsx_fallback_when_csv_is_absent_and_ambiguity_is_reported(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    write_xlsx(folder / "drop_points.csv", folder / "drop_points.xlsx")
    write_drop_points_geojson(folder, crs="EPSG:4326")  # also removes drop_points.csv
    problems = problems_of(folder)
    assert "several candidates" in the_problem(problems, "drop_points.csv", None, None).message
    (folder / "drop_points.geojson").unlink()
    assert read_scenario(folder).drop_points == make_tiny_scenario().drop_points


def test_geojson_with_a_wrong_crs_names_the_crs(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    # Degrees labelled as UTM metres: after "reprojection" nothing is near Indonesia.
    write_drop_points_geojson(folder, crs="EPSG:4326", relabel_crs="EPSG:32748")
    problems = problems_of(folder)
    message = the_problem(problems, "drop_points.geojson", None, "geometry").message
    assert "the file's CRS EPSG:32748 is probably wrong" in message
    assert len(problems) == 1


def test_non_point_geometry_is_reported_per_feature(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    write_drop_points_geojson(folder, crs="EPSG:4326", line_at=1)
    problems = problems_of(folder)
    message = the_problem(problems, "drop_points.geojson", 2, "geometry").message
    assert message.startswith("feature 2: geometry is a LineString; expected a Point")


def test_shapefile_without_crs_is_reported(tmp_path: Path) -> None:
    import geopandas
    from shapely.geometry import Point

    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "drop_points.csv").unlink()
    frame = geopandas.GeoDataFrame(
        {"id": ["00042"], "name": ["RW 01"], "kpm": [50], "service_min": [20.0]},
        geometry=[Point(106.75, -6.56)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio warns that the file will have no CRS
        frame.to_file(folder / "drop_points.shp")
    problems = problems_of(folder)
    message = the_problem(problems, "drop_points.shp", None, None).message
    assert "no coordinate reference system" in message
    # service_min, cut to 'service_mi' by the DBF format, is not taken for a typo.
    assert len(problems) == 1


def test_vector_feature_outside_indonesia_names_feature_and_crs(tmp_path: Path) -> None:
    import geopandas
    from shapely.geometry import Point

    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "drop_points.csv").unlink()
    geopandas.GeoDataFrame(
        {"id": ["00042", "P2"], "name": ["RW 01", "RW 02"], "kpm": [50, 40]},
        geometry=[Point(106.75, -6.56), Point(16.75, -6.56)],
        crs="EPSG:4326",
    ).to_file(folder / "drop_points.gpkg")
    problems = problems_of(folder)
    message = the_problem(problems, "drop_points.gpkg", 2, "geometry").message
    assert message.startswith("feature 2: longitude 16.75 after reprojecting from EPSG:4326")


# --------------------------------------------------------------------------------------------
# Number parsing


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
@example(value=Decimal("1500.50"))
def test_decimal_comma_numbers_with_thousands_groups_parse_back(value: Decimal) -> None:
    indonesian = f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    assert _parse_number(indonesian, decimal_comma=True) == pytest.approx(float(value))
    assert _parse_number(f"{value:.2f}", decimal_comma=False) == pytest.approx(float(value))


@pytest.mark.parametrize("text", ["", "abc", "1e", "nan", "inf", "1_000", "--1", "1,5"])
def test_non_numbers_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        _parse_number(text, decimal_comma=False)


def test_unknown_solver_strategy_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "scenario"
    shutil.copytree(VALID, folder)
    toml = folder / "scenario.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8") + 'strategy = "fastest-please"\n', encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        read_scenario(folder)
    problems = caught.value.problems
    assert [(p.file, p.field) for p in problems] == [("scenario.toml", "solver.strategy")]
    assert "unknown strategy" in problems[0].message


def test_semicolon_csv_grouped_number_without_decimal_comma_is_ambiguous(tmp_path: Path) -> None:
    folder = tmp_path / "scenario"
    shutil.copytree(VALID, folder)
    (folder / "warehouses.csv").write_text(
        "id;name;lon;lat;stock_kg\nW1;Gudang Dramaga;106.74;-6.57;100.000\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        read_scenario(folder)
    problem = caught.value.problems[0]
    assert (problem.file, problem.row, problem.field) == ("warehouses.csv", 2, "stock_kg")
    assert "ambiguous" in problem.message
    assert "100000" in problem.message


# --------------------------------------------------------------------------------------------
# Impossible input: places in the sea, tranche windows without a working day, split sacks


def _replace_row(path: Path, row: int, **cells: str) -> None:
    """Set cells of one spreadsheet row (header = row 1) of a CSV file."""
    rows = read_rows(path)
    for column, value in cells.items():
        rows[row - 1][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream, lineterminator="\n").writerows(rows)


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(106.615, -5.745), (106.7045, -5.9777), (106.88, -6.10), (106.80, -6.60)],
    ids=["pulau-pramuka", "pulau-untung-jawa", "tanjung-priok", "bogor"],
)
def test_drop_points_on_small_islands_and_reclaimed_coast_are_accepted(
    tmp_path: Path, lon: float, lat: float
) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _replace_row(folder / "drop_points.csv", 3, lon=str(lon), lat=str(lat))
    _replace_row(folder / "warehouses.csv", 2, lon=str(lon), lat=str(lat))
    scenario = read_scenario(folder)
    assert (scenario.drop_points[1].lon, scenario.drop_points[1].lat) == (lon, lat)


def test_indian_ocean_warehouse_is_refused_with_its_distance_to_land(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _replace_row(folder / "warehouses.csv", 2, lon="106.5", lat="-8.5")
    problems = problems_of(folder)
    message = the_problem(problems, "warehouses.csv", 2, "lon/lat").message
    assert message.startswith("lon 106.5, lat -8.5 is in the sea, 120 km from the nearest land")
    assert "expected the warehouse's place on land (within 150 m of the coast)" in message
    assert len(problems) == 1


def test_sea_point_is_reported_with_the_other_problems_of_its_row(tmp_path: Path) -> None:
    folder = scenario_with_defect("point_in_sea", tmp_path)
    _replace_row(folder / "drop_points.csv", 3, kpm="banyak")
    _replace_row(folder / "drop_points.csv", 5, lon="106.5", lat="-8.5")
    problems = problems_of(folder)
    assert {(p.file, p.row, p.field) for p in problems} == {
        ("drop_points.csv", 3, "lon/lat"),
        ("drop_points.csv", 3, "kpm"),
        ("drop_points.csv", 5, "lon/lat"),
    }


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_gis_table_with_a_sea_point_names_the_feature(tmp_path: Path, suffix: str) -> None:
    import geopandas
    from shapely.geometry import Point

    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "drop_points.csv").unlink()
    geopandas.GeoDataFrame(
        {"id": ["00042", "P2", "P3"], "name": ["RW 01", "RW 02", "RW 03"], "kpm": [50, 40, 30]},
        geometry=[Point(106.75, -6.56), Point(106.615, -5.745), Point(106.80, -5.60)],
        crs="EPSG:4326",
    ).to_crs("EPSG:32748").to_file(folder / f"drop_points{suffix}")
    problems = problems_of(folder)
    message = the_problem(problems, f"drop_points{suffix}", 3, "geometry").message
    assert message.startswith("feature 3: lon 106.8")
    assert "(after reprojecting from EPSG:32748 to EPSG:4326) is in the sea, 14 km from" in message
    assert len(problems) == 1  # Pulau Pramuka, feature 2, is land


def test_tranche_window_of_weekend_and_holiday_names_each_day(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _append_toml(
        folder,
        '[calendar]\nworking_days = ["mon", "tue", "wed", "thu", "fri"]\n'
        "holidays = [2020-10-05, 2020-10-29]\n",
    )
    # Saturday 3 October to Monday 5 October 2020, a holiday here.
    _replace_row(folder / "tranches.csv", 3, release="2020-10-03", deadline="2020-10-05")
    problems = problems_of(folder)
    message = the_problem(problems, "tranches.csv", 3, "release/deadline").message
    assert message == (
        "no working day from release 2020-10-03 (Saturday) to deadline 2020-10-05 (Monday): "
        "2020-10-03 (Saturday), 2020-10-04 (Sunday) are not working days ([calendar] "
        "working_days = mon, tue, wed, thu, fri); 2020-10-05 (Monday) is a holiday ([calendar] "
        "holidays); expected a window holding at least one working day, e.g. deadline "
        "2020-10-06 (Tuesday)"
    )
    assert len(problems) == 1


def test_tranche_window_starts_at_the_scenario_start_date(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    toml = folder / "scenario.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("2020-09-01", "2020-09-27"), encoding="utf-8"
    )
    # September's window 2020-09-01..09-30 keeps Mon 28 to Wed 30; October's is untouched.
    assert read_scenario(folder).start_date == date(2020, 9, 27)
    _replace_row(folder / "tranches.csv", 2, deadline="2020-09-27")
    _replace_row(folder / "tranches.csv", 3, deadline="2020-09-20", release="2020-09-15")
    problems = problems_of(folder)
    september = the_problem(problems, "tranches.csv", 2, "release/deadline").message
    assert september.startswith(
        "no working day from the scenario's start_date 2020-09-27 (Sunday) (release "
        "2020-09-01 is earlier) to deadline 2020-09-27 (Sunday): 2020-09-27 (Sunday) is not"
    )
    october = the_problem(problems, "tranches.csv", 3, "release/deadline").message
    assert october.startswith(
        "deadline 2020-09-20 (Sunday) is before the scenario's start_date 2020-09-27 (Sunday)"
    )
    assert len(problems) == 2


@settings(max_examples=30, deadline=None)
@given(
    release=st.dates(date(2020, 1, 1), date(2021, 12, 31)),
    length_days=st.integers(0, 10),
    working_days=st.sets(st.integers(0, 6), min_size=1),
    holiday_offsets=st.sets(st.integers(0, 10), max_size=4),
)
def test_a_tranche_is_refused_exactly_when_its_window_has_no_working_day(
    release: date, length_days: int, working_days: set[int], holiday_offsets: set[int]
) -> None:
    from datetime import timedelta

    from optimizer.model import WEEKDAY_NAMES, Calendar

    deadline = release + timedelta(days=length_days)
    holidays = {release + timedelta(days=d) for d in holiday_offsets}
    calendar = Calendar(working_days=frozenset(working_days), holidays=frozenset(holidays))
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "scenario"
        shutil.copytree(VALID, folder)
        toml = folder / "scenario.toml"
        toml.write_text(
            f'name = "window"\nstart_date = {release.isoformat()}\n[calendar]\n'
            f"working_days = {[WEEKDAY_NAMES[d] for d in sorted(working_days)]!r}\n"
            f"holidays = [{', '.join(d.isoformat() for d in sorted(holidays))}]\n".replace(
                "'", '"'
            ),
            encoding="utf-8",
        )
        (folder / "tranches.csv").write_text(
            "id,name,kg_per_kpm,release,deadline\n"
            f"T1,Satu,15,{release.isoformat()},{deadline.isoformat()}\n",
            encoding="utf-8",
        )
        if calendar.working_days_between(release, deadline):
            assert read_scenario(folder).tranches[0].deadline == deadline
        else:
            problems = problems_of(folder)
            assert [(p.file, p.row, p.field) for p in problems] == [
                ("tranches.csv", 2, "release/deadline")
            ]


@given(sacks=st.integers(1, 10), offset_kg=st.sampled_from([0.0, 0.5, 5.0, 7.5, 14.0]))
def test_ration_must_be_a_whole_number_of_sacks(sacks: int, offset_kg: float) -> None:
    kg_per_kpm = sacks * 15 + offset_kg
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "scenario"
        shutil.copytree(VALID, folder)
        _replace_row(folder / "tranches.csv", 2, kg_per_kpm=f"{kg_per_kpm:g}")
        if offset_kg == 0.0:
            assert read_scenario(folder).tranches[0].kg_per_kpm == kg_per_kpm
        else:
            problems = problems_of(folder)
            (problem,) = problems
            assert (problem.file, problem.row, problem.field) == (
                "tranches.csv",
                2,
                "kg_per_kpm",
            )
            assert problem.message.endswith(f"e.g. {sacks * 15} or {sacks * 15 + 15}")


def test_ration_below_one_sack_suggests_one_sack(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _replace_row(folder / "tranches.csv", 2, kg_per_kpm="10")
    problems = problems_of(folder)
    message = the_problem(problems, "tranches.csv", 2, "kg_per_kpm").message
    assert message.endswith("expected a multiple of sack_kg 15, e.g. 15")


# --------------------------------------------------------------------------------------------
# Paths must stay inside the scenario folder and name regular files


def _assert_refused(folder: Path, table: str, written: str, reason: str) -> None:
    problems = problems_of(folder)
    problem = the_problem(problems, "scenario.toml", None, f"files.{table}")
    assert f"'{written}'" in problem.message
    assert reason in problem.message
    every_message = " ".join(str(p) for p in problems)
    assert SECRET not in every_message
    assert "hunter2" not in every_message


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("{outside}", "absolute path"),
        ("C:/outside/trucks.csv", "absolute path"),
        ("C:trucks.csv", "absolute path"),
        ("../outside/trucks.csv", "leaves the scenario folder"),
        ("sub/../../outside/trucks.csv", "leaves the scenario folder"),
    ],
)
def test_files_entry_leaving_the_folder_is_refused_without_quoting_it(
    tmp_path: Path, written: str, reason: str
) -> None:
    table = _outside_table(tmp_path)
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "sub").mkdir()
    written = written.format(outside=table)
    _append_toml(folder, f'[files]\ntrucks = "{written}"\n')
    _assert_refused(folder, "trucks", written, reason)


def test_files_entry_through_a_symlink_leading_out_is_refused(tmp_path: Path) -> None:
    table = _outside_table(tmp_path)
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "armada.csv").symlink_to(table)
    (folder / "elsewhere").symlink_to(table.parent, target_is_directory=True)
    _append_toml(folder, '[files]\ntrucks = "armada.csv"\ntranches = "elsewhere/trucks.csv"\n')
    _assert_refused(folder, "trucks", "armada.csv", "symbolic link")
    _assert_refused(folder, "tranches", "elsewhere/trucks.csv", "symbolic link")


def test_symlink_inside_the_folder_to_a_file_inside_is_read(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "input").mkdir()
    (folder / "trucks.csv").rename(folder / "input" / "armada.csv")
    (folder / "trucks.csv").symlink_to(Path("input") / "armada.csv")
    assert read_scenario(folder).trucks == make_tiny_scenario().trucks


def test_default_table_that_is_a_symlink_leading_out_is_refused(tmp_path: Path) -> None:
    table = _outside_table(tmp_path)
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "trucks.csv").unlink()
    (folder / "trucks.csv").symlink_to(table)
    problems = problems_of(folder)
    problem = the_problem(problems, "trucks.csv", None, "files.trucks")
    assert "symbolic link" in problem.message
    assert SECRET not in " ".join(str(p) for p in problems)


def test_default_fallback_candidate_leading_out_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.xlsx"
    outside.write_text(SECRET)
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "trucks.csv").unlink()
    (folder / "trucks.xlsx").symlink_to(outside)
    problems = problems_of(folder)
    assert "symbolic link" in the_problem(problems, "trucks.xlsx", None, "files.trucks").message
    assert SECRET not in " ".join(str(p) for p in problems)


def test_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    # Opening a FIFO with no writer blocks forever: the test finishing proves it is not opened.
    folder = scenario_with_defect("valid_minimal", tmp_path)
    os.mkfifo(folder / "pipe.csv")
    (folder / "trucks.csv").unlink()
    os.mkfifo(folder / "trucks.csv")
    _append_toml(folder, '[files]\ndrop_points = "pipe.csv"\n')
    problems = problems_of(folder)
    assert (
        "not a regular file"
        in the_problem(problems, "scenario.toml", None, "files.drop_points").message
    )
    assert "not a regular file" in the_problem(problems, "trucks.csv", None, "files.trucks").message


def test_device_and_folder_are_refused(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "zero.csv").symlink_to("/dev/zero")
    (folder / "input").mkdir()
    _append_toml(folder, '[files]\ndrop_points = "zero.csv"\ntrucks = "input"\n')
    problems = problems_of(folder)
    # /dev/zero lies outside the folder: refused before its type is even looked at.
    assert (
        "symbolic link" in the_problem(problems, "scenario.toml", None, "files.drop_points").message
    )
    assert "folder" in the_problem(problems, "scenario.toml", None, "files.trucks").message


def test_every_path_problem_is_reported_at_once(tmp_path: Path) -> None:
    table = _outside_table(tmp_path)
    folder = scenario_with_defect("valid_minimal", tmp_path)
    _append_toml(
        folder,
        f'[files]\nwarehouses = "{table}"\ntrucks = "../x.csv"\ndrop_points = "/etc/passwd"\n',
    )
    problems = problems_of(folder)
    fields = {p.field for p in problems if p.file == "scenario.toml"}
    assert {"files.warehouses", "files.trucks", "files.drop_points"} <= fields
    assert "root:" not in " ".join(str(p) for p in problems)


def test_scenario_toml_linking_out_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "other.toml"
    outside.write_text(f'name = "{SECRET}"\nstart_date = 2020-09-01\n')
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "scenario.toml").unlink()
    (folder / "scenario.toml").symlink_to(outside)
    problems = problems_of(folder)
    assert "symbolic link" in the_problem(problems, "scenario.toml", None, None).message
    assert SECRET not in " ".join(str(p) for p in problems)


# --------------------------------------------------------------------------------------------
# [replan]


def test_replan_section_is_read_and_defaults_when_absent(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    toml = folder / "scenario.toml"
    toml.write_text('name = "x"\nstart_date = 2020-09-01\n')
    assert read_scenario(folder).replan == ReplanSettings()
    toml.write_text(
        'name = "x"\nstart_date = 2020-09-01\n'
        "[replan]\nreplacement_days = 5\nmove_cost_per_kpm_day = 0\nfreeze_days = 0\n"
    )
    assert read_scenario(folder).replan == ReplanSettings(5, 0.0, 0)


def test_every_bad_replan_value_is_reported_at_once(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    (folder / "scenario.toml").write_text(
        'name = "x"\nstart_date = 2020-09-01\n'
        "[replan]\nreplacement_days = 0\nmove_cost_per_kpm_day = -1\nfreeze_days = 1.5\n"
        "replacement_day = 3\n"
    )
    problems = problems_of(folder)
    days = the_problem(problems, "scenario.toml", None, "replan.replacement_days")
    assert "range" in days.message
    assert (
        "range"
        in the_problem(problems, "scenario.toml", None, "replan.move_cost_per_kpm_day").message
    )
    assert "whole" in the_problem(problems, "scenario.toml", None, "replan.freeze_days").message
    typo = the_problem(problems, "scenario.toml", None, "replan.replacement_day")
    assert "did you mean 'replacement_days'" in typo.message
    assert len(problems) == 4


def test_config_overrides_replan_settings(tmp_path: Path) -> None:
    config = tmp_path / "replan.toml"
    config.write_text("[replan]\nfreeze_days = 2\n")
    assert read_scenario(VALID, config=config).replan == ReplanSettings(freeze_days=2)


def test_regions_are_read_and_written_back(tmp_path: Path) -> None:
    """``kabupaten`` and ``provinsi`` of warehouses and drop points survive a round trip."""
    from dataclasses import replace

    from geodata.sample import make_sample
    from geodata.scenario_writer import write_scenario

    scenario = make_sample(n_drop_points=12, seed=3)
    scenario = replace(
        scenario,
        warehouses=tuple(
            replace(w, kabupaten="Kabupaten Bogor", provinsi="Jawa Barat")
            for w in scenario.warehouses
        ),
        drop_points=tuple(
            replace(p, kabupaten=f"Kab {i % 2}", provinsi="Jawa Barat")
            for i, p in enumerate(scenario.drop_points)
        ),
    )
    write_scenario(scenario, tmp_path / "s")
    again = read_scenario(tmp_path / "s")
    assert [w.kabupaten for w in again.warehouses] == ["Kabupaten Bogor"] * len(again.warehouses)
    assert [p.kabupaten for p in again.drop_points] == [p.kabupaten for p in scenario.drop_points]
    assert {p.provinsi for p in again.drop_points} == {"Jawa Barat"}
