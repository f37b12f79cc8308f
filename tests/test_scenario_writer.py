"""Tests of geodata.scenario_writer: file contents, TOML escaping, and round trips."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import tempfile
import tomllib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from geodata.scenario_writer import (
    DROP_POINT_COLUMNS,
    TRANCHE_COLUMNS,
    TRUCK_COLUMNS,
    WAREHOUSE_COLUMNS,
    format_float,
    format_time_of_day,
    toml_float,
    toml_string,
    write_scenario,
)
from optimizer.model import Calendar, DropPoint, Scenario, SolverSettings, Truck, Warehouse
from optimizer.progress import ReplanSettings
from tests.conftest import make_tiny_scenario

HAS_READER = importlib.util.find_spec("geodata.scenario_io") is not None
needs_reader = pytest.mark.skipif(not HAS_READER, reason="geodata.scenario_io not written yet")


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _read_back(folder: Path) -> Scenario:
    from geodata.scenario_io import read_scenario

    return read_scenario(folder)


def test_write_scenario_creates_toml_and_four_tables_in_a_new_folder(tmp_path: Path) -> None:
    folder = tmp_path / "nested" / "tiny"
    write_scenario(make_tiny_scenario(), folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "drop_points.csv",
        "scenario.toml",
        "tranches.csv",
        "trucks.csv",
        "warehouses.csv",
    ]


def test_headers_are_the_documented_columns(tmp_path: Path) -> None:
    write_scenario(make_tiny_scenario(), tmp_path)
    assert tuple(_rows(tmp_path / "warehouses.csv")[0]) == WAREHOUSE_COLUMNS
    assert tuple(_rows(tmp_path / "trucks.csv")[0]) == TRUCK_COLUMNS
    assert tuple(_rows(tmp_path / "drop_points.csv")[0]) == DROP_POINT_COLUMNS
    assert tuple(_rows(tmp_path / "tranches.csv")[0]) == TRANCHE_COLUMNS
    assert DROP_POINT_COLUMNS[:5] == ("id", "name", "lon", "lat", "kpm")


def test_cells_are_verbatim_ids_exact_floats_times_and_empty_nones(tmp_path: Path) -> None:
    write_scenario(make_tiny_scenario(), tmp_path)
    points = _rows(tmp_path / "drop_points.csv")
    assert points[1] == ["00042", "RW 01 Babakan", "106.75", "-6.56", "50", "Babakan", "Dramaga",
                         "001", "01", "", "", ""]  # fmt: skip
    assert points[3][9:] == ["08:00", "15:00", ""]
    assert points[4][11] == "20"
    trucks = _rows(tmp_path / "trucks.csv")
    assert trucks[1] == ["T1", "W1", "2000", "07:00", "17:00", "5000", "750000", "", "CDE"]
    assert trucks[2][7] == "3"
    assert _rows(tmp_path / "warehouses.csv")[1] == ["W1", "Gudang Dramaga", "106.74", "-6.57",
                                                      "100000"]  # fmt: skip
    assert _rows(tmp_path / "tranches.csv")[1] == [
        "T-SEP", "September (Agustus + September)", "30", "2020-09-01", "2020-09-30",
    ]  # fmt: skip


def test_files_are_utf8_with_unix_line_endings(tmp_path: Path) -> None:
    base = make_tiny_scenario()
    point = dataclasses.replace(base.drop_points[0], name="RW 01 Babakan “Lebak”, Cibeureum")
    write_scenario(make_tiny_scenario(drop_points=(point, *base.drop_points[1:])), tmp_path)
    raw = (tmp_path / "drop_points.csv").read_bytes()
    assert b"\r\n" not in raw
    assert "“Lebak”".encode() in raw
    assert _rows(tmp_path / "drop_points.csv")[1][1] == "RW 01 Babakan “Lebak”, Cibeureum"


def test_toml_has_every_section_with_the_scenario_values(tmp_path: Path) -> None:
    scenario = make_tiny_scenario(
        calendar=Calendar(
            working_days=frozenset({0, 1, 2, 3, 4}),
            holidays=frozenset({date(2020, 10, 29), date(2020, 10, 28)}),
            shift_start_s=6 * 3600 + 30 * 60,
            shift_end_s=17 * 3600 + 15,
        )
    )
    write_scenario(scenario, tmp_path)
    doc = tomllib.loads((tmp_path / "scenario.toml").read_text(encoding="utf-8"))
    assert doc["name"] == "tiny"
    assert doc["start_date"] == date(2020, 9, 1)
    assert doc["sack_kg"] == 15.0
    assert doc["timezone"] == "Asia/Jakarta"
    assert doc["calendar"] == {
        "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "holidays": [date(2020, 10, 28), date(2020, 10, 29)],
        "shift_start": "06:30",
        "shift_end": "17:00:15",
    }
    assert doc["travel"] == {"speed_kmh": 30.0, "circuity": 1.4}
    assert doc["service"] == {"stop_min": 15.0, "per_100kg_min": 1.0, "loading_min": 30.0}
    assert doc["costs"] == {"cost_per_km": 5000.0, "cost_per_day": 750000.0}
    assert doc["objective"] == {"wait_cost_per_kpm_day": 100.0}
    assert doc["solver"] == {
        "time_limit_s": 5.0,
        "seed": 1,
        "strategy": "default",
        "solution_limit": 50,
    }
    assert doc["replan"] == {
        "replacement_days": 3,
        "move_cost_per_kpm_day": 1000.0,
        "freeze_days": 1,
    }


def test_toml_leaves_solution_limit_out_when_none(tmp_path: Path) -> None:
    write_scenario(make_tiny_scenario(solver=SolverSettings()), tmp_path)
    doc = tomllib.loads((tmp_path / "scenario.toml").read_text(encoding="utf-8"))
    assert "solution_limit" not in doc["solver"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "00:00"), (7 * 3600, "07:00"), (8 * 3600 + 5 * 60 + 9, "08:05:09"), (24 * 3600, "24:00")],
)
def test_format_time_of_day_drops_zero_seconds(seconds: int, text: str) -> None:
    assert format_time_of_day(seconds) == text


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"])))
@example('Gudang "Dramaga" \\ C:\\temp\n\t\x00\x7f')
def test_toml_string_reads_back_as_the_same_text(text: str) -> None:
    assert tomllib.loads(f"key = {toml_string(text)}")["key"] == text


@given(st.floats(allow_nan=False))
@example(1e-05)
@example(1e16)
@example(-0.0)
def test_floats_read_back_exactly_from_csv_and_toml(value: float) -> None:
    assert float(format_float(value)) == value
    assert tomllib.loads(f"x = {toml_float(value)}")["x"] == value


def test_integral_floats_are_written_as_integers() -> None:
    assert format_float(2000.0) == "2000"
    assert format_float(106.74) == "106.74"
    assert format_float(2.0**60) == repr(2.0**60)


@needs_reader
def test_tiny_scenario_reads_back_equal(tmp_path: Path) -> None:
    scenario = make_tiny_scenario()
    write_scenario(scenario, tmp_path)
    assert _read_back(tmp_path) == scenario


@needs_reader
def test_scenario_with_odd_text_and_settings_reads_back_equal(tmp_path: Path) -> None:
    base = make_tiny_scenario()
    point = dataclasses.replace(
        base.drop_points[0],
        id="0007",
        name='RW 01 "Babakan", Lebak; Kp. Ciomas',
        lon=106.123456789,
        lat=-6.5000000001,
        open_s=8 * 3600 + 30,
        close_s=15 * 3600,
    )
    truck = dataclasses.replace(base.trucks[0], shift_start_s=6 * 3600 + 45 * 60, type="")
    scenario = make_tiny_scenario(
        name='Bogor "uji" \\ coba',
        drop_points=(point, *base.drop_points[1:]),
        trucks=(truck, base.trucks[1]),
        warehouses=(Warehouse("W1", "Gudang Dramaga, BULOG", 106.74, -6.57, 123_456.5),),
        calendar=Calendar(holidays=frozenset({date(2020, 10, 29)})),
        solver=SolverSettings(time_limit_s=2.5, seed=7, strategy="default"),
        replan=ReplanSettings(replacement_days=5, move_cost_per_kpm_day=2500.5, freeze_days=0),
    )
    write_scenario(scenario, tmp_path)
    assert _read_back(tmp_path) == scenario


_names = (
    st.text(
        alphabet=st.characters(
            whitelist_categories=("L", "N", "P", "Zs"), blacklist_characters="\u2028\u2029"
        ),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)


@needs_reader
@settings(max_examples=25, deadline=None)
@given(
    point_names=st.lists(_names, min_size=1, max_size=5),
    # Inland West Java (the sample's region): the reader refuses places in the sea.
    lon=st.floats(106.4, 107.15),
    lat=st.floats(-6.8, -6.3),
    kpm=st.integers(1, 500),
    capacity_kg=st.floats(15.0, 20_000.0),
    cost_per_km=st.floats(0.0, 1e5),
)
def test_random_scenarios_read_back_equal(
    point_names: list[str],
    lon: float,
    lat: float,
    kpm: int,
    capacity_kg: float,
    cost_per_km: float,
) -> None:
    base = make_tiny_scenario()
    points = tuple(
        DropPoint(f"{i:04d}", name, lon, lat, kpm, desa=name, rw=f"{i:02d}")
        for i, name in enumerate(point_names)
    )
    truck = Truck("T1", "W1", capacity_kg, 7 * 3600, 17 * 3600, cost_per_km, 1.0, None, "CDE")
    scenario = make_tiny_scenario(drop_points=points, trucks=(truck, *base.trucks[1:]))
    with tempfile.TemporaryDirectory() as folder:
        write_scenario(scenario, Path(folder))
        assert _read_back(Path(folder)) == scenario
