"""Tests of benchmarks.national_sample: the row says what was made and measured."""

from __future__ import annotations

from pathlib import Path

from benchmarks.national_sample import measure_national_sample
from geodata.national_sample import make_national
from geodata.scenario_io import read_scenario


def test_the_row_counts_the_scenario_and_measures_each_step(tmp_path: Path) -> None:
    out = tmp_path / "national"
    row = measure_national_sample(families=2000, warehouses=10, seed=2, out=out)
    scenario = make_national(families=2000, warehouses=10, seed=2)
    assert read_scenario(out) == scenario
    assert (row.scenario, row.drop_points, row.warehouses, row.trucks) == (
        scenario.name,
        len(scenario.drop_points),
        len(scenario.warehouses),
        len(scenario.trucks),
    )
    assert row.make_s > 0 and row.write_s > 0 and row.read_s > 0
    # Each peak is its own process's: a Python process with numpy holds tens of MB at least.
    assert 20 < row.make_peak_mb < 4000 and 20 < row.read_peak_mb < 4000
    assert row.drop_points_csv_mb == (out / "drop_points.csv").stat().st_size / 1e6
