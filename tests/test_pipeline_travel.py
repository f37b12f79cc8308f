"""Plans on roads from a matrix file: the pipeline, the plan folder's travel/, bsb check.

The matrix source is read by geodata.travel_matrix; these tests need no OpenStreetMap code.
Most use a matrix file that equals the straight line, so that what is checked here is the
data: reading, the legs kept, the scenario copy and the checker; one plans on an asymmetric
matrix end to end.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from documents.pipeline import PlanFailsCheckError, run_pipeline
from geodata.scenario_io import read_scenario
from geodata.travel_matrix import LEGS_FILE, PROVENANCE_FILE, matrix_csv, read_legs
from optimizer.errors import InputError
from optimizer.model import Scenario, TravelSettings
from optimizer.travel import RoadMatrix
from tests.conftest import VALID, _append_toml, scenario_with_defect

MATRIX = "travel_matrix.csv"


def _matrix(scenario: Scenario, scale: Callable[[int, int], float] | None = None) -> RoadMatrix:
    """The straight line between every pair of places, as a matrix (times ``scale(i, j)``)."""
    places = [*scenario.warehouses, *scenario.drop_points]
    n = len(places)
    km = np.zeros((1, n, n))
    seconds = np.zeros((1, n, n), dtype=np.int64)
    for (i, a), (j, b) in itertools.product(enumerate(places), repeat=2):
        factor = scale(i, j) if scale is not None else 1.0
        km[0, i, j] = scenario.travel.road_km(a.lon, a.lat, b.lon, b.lat) * factor
        seconds[0, i, j] = scenario.travel.travel_s(km[0, i, j])
    ids = tuple(p.id for p in places)
    return RoadMatrix(ids, ("all",), km, seconds, np.zeros((1, n)), (("",) * n,), {})


def _matrix_folder(tmp_path: Path, scale: Callable[[int, int], float] | None = None) -> Path:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    scenario = read_scenario(folder)
    (folder / MATRIX).write_bytes(matrix_csv(_matrix(scenario, scale)))
    _append_toml(folder, f'\n[travel]\nsource = "matrix"\nmatrix_file = "{MATRIX}"\n')
    return folder


def test_a_plan_on_a_matrix_keeps_its_legs_and_matrix(tmp_path: Path) -> None:
    folder = _matrix_folder(tmp_path)
    out = tmp_path / "plan"
    result = run_pipeline(folder, out, maps_and_trip_sheets=False)
    assert result.violations == ()
    assert result.travel is not None and result.travel.matrix.access == ("all",)
    assert result.times.travel_s is not None
    legs = read_legs(out / LEGS_FILE)
    for route in result.plan.routes:
        stops = [stop.drop_point for stop in route.stops]
        for a, b in zip([route.warehouse, *stops], [*stops, route.warehouse], strict=True):
            assert (a, b, "all") in legs
    # Every warehouse <-> point pair, both ways, for the stock-reason check.
    scenario = result.scenario
    assert all(
        (w.id, p.id, "all") in legs and (p.id, w.id, "all") in legs
        for w in scenario.warehouses
        for p in scenario.drop_points
    )
    provenance = json.loads((out / PROVENANCE_FILE).read_text())
    assert (provenance["source"], provenance["file"]) == ("matrix", MATRIX)
    assert provenance["bytes"] == (folder / MATRIX).stat().st_size
    # The scenario copy keeps the settings and the matrix file itself, and reads back equal.
    assert (out / "scenario" / MATRIX).read_bytes() == (folder / MATRIX).read_bytes()
    assert read_scenario(out / "scenario") == scenario


def test_bsb_check_uses_the_plan_folders_legs(tmp_path: Path) -> None:
    folder = _matrix_folder(tmp_path)
    out = tmp_path / "plan"
    run_pipeline(folder, out, maps_and_trip_sheets=False)
    runner = CliRunner()
    checked = runner.invoke(main, ["check", str(out)])
    assert checked.exit_code == 0, checked.output
    # A leg made longer in travel/legs.csv: the trips driving it no longer add up.
    legs_path = out / LEGS_FILE
    lines = legs_path.read_text().splitlines()
    plan = json.loads((out / "plan.json").read_text())
    first = plan["routes"][0]
    leg = f"{first['warehouse']},{first['stops'][0]['drop_point']},all,"
    lines = [
        line if not line.startswith(leg) else f"{leg}99.0,{line.split(',')[-1]}" for line in lines
    ]
    legs_path.write_text("\n".join(lines) + "\n")
    failed = runner.invoke(main, ["check", str(out)])
    assert failed.exit_code == 1
    assert "[distance]" in failed.output
    # Without its legs a plan on roads cannot be checked at all.
    legs_path.unlink()
    assert runner.invoke(main, ["check", str(out)]).exit_code == 1


def test_a_plan_on_a_matrix_is_replaced_with_force(tmp_path: Path) -> None:
    folder = _matrix_folder(tmp_path)
    out = tmp_path / "plan"
    run_pipeline(folder, out, maps_and_trip_sheets=False)
    run_pipeline(folder, out, maps_and_trip_sheets=False, force=True)  # travel/ is bsb's
    assert (out / LEGS_FILE).is_file()


def test_bsb_check_roads_refuses_a_plan_not_made_on_an_extract(tmp_path: Path) -> None:
    folder = scenario_with_defect("valid_minimal", tmp_path)
    out = tmp_path / "plan"
    run_pipeline(folder, out, maps_and_trip_sheets=False)
    result = CliRunner().invoke(main, ["check", str(out), "--roads"])
    assert result.exit_code == 2
    assert "no roads to recompute" in result.output


def test_a_straight_plan_has_no_travel_folder(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    run_pipeline(VALID, out, maps_and_trip_sheets=False)
    assert not (out / "travel").exists()


def test_a_scenario_built_in_code_on_roads_needs_its_travel(tiny_scenario: Scenario) -> None:
    on_matrix = dataclasses.replace(
        tiny_scenario, travel=TravelSettings(source="matrix", matrix_file=MATRIX)
    )
    with pytest.raises(InputError, match="must come with its travel"):
        run_pipeline(on_matrix)


def test_a_bad_matrix_file_stops_the_run_before_planning(tmp_path: Path) -> None:
    folder = _matrix_folder(tmp_path)
    text = (folder / MATRIX).read_text().splitlines()
    (folder / MATRIX).write_text("\n".join(text[:-1]) + "\n")  # one pair missing
    result = CliRunner().invoke(main, ["plan", str(folder), "-o", str(tmp_path / "plan")])
    assert result.exit_code == 2
    assert MATRIX in result.output and "no row from" in result.output
    assert not (tmp_path / "plan").exists()


def test_a_plan_on_an_asymmetric_matrix_passes_the_check(tmp_path: Path) -> None:
    # Roads twice the straight line out of the warehouse, 1.5 times back: nothing like it.
    folder = _matrix_folder(tmp_path, lambda i, j: 2.0 if i == 0 else 1.5)
    out = tmp_path / "plan"
    try:
        result = run_pipeline(folder, out, maps_and_trip_sheets=False)
    except (PlanFailsCheckError, TypeError) as error:
        pytest.fail(f"the plan is not made on the matrix: {error}")
    assert result.violations == ()
    assert CliRunner().invoke(main, ["check", str(out)]).exit_code == 0
    legs = read_legs(out / LEGS_FILE)
    route = result.plan.routes[0]
    first = route.stops[0].drop_point
    out_km = legs[(route.warehouse, first, "all")][0]
    back_km = legs[(first, route.warehouse, "all")][0]
    assert out_km == pytest.approx(back_km * 2.0 / 1.5)


def test_bsb_validate_reads_a_matrix_scenario(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(_matrix_folder(tmp_path))])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK:") and "warning" not in result.output


def test_bsb_travel_calibrate_needs_an_extract_that_is_there(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["travel", "calibrate", str(VALID), "--osm", str(tmp_path / "absent.osm.pbf")]
    )
    assert result.exit_code == 2
    assert "absent.osm.pbf" in result.output and "file not found" in result.output


def test_bsb_bench_travel_writes_the_benchmarks_rows_as_a_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks import travel as travel_bench

    calls: list[dict[str, Any]] = []

    def run_travel_benchmark(sizes: list[int], n_warehouses: int, **options: Any) -> list[str]:
        calls.append({"sizes": sizes, "n_warehouses": n_warehouses, **options})
        options["log"]("measured")
        return ["row"]

    monkeypatch.setattr(travel_bench, "run_travel_benchmark", run_travel_benchmark)
    monkeypatch.setattr(
        travel_bench, "compare_plans", lambda n, n_wh, **options: [("plans", n, n_wh)]
    )
    monkeypatch.setattr(travel_bench, "plans_markdown", lambda rows: f"| {rows[0]} |")
    monkeypatch.setattr(
        travel_bench, "rows_markdown", lambda rows: f"| step |\n|---|\n| {rows[0]} |"
    )
    results = tmp_path / "RESULTS.md"
    result = CliRunner().invoke(
        main,
        ["bench", "travel", "--sizes", "500,2000", "--nodes", "1000", "--results-md", str(results)],
    )
    assert result.exit_code == 0, result.output
    assert calls[0]["sizes"] == [500, 2000] and calls[0]["network_nodes"] == 1000
    text = results.read_text()
    assert "<!-- travel -->" in text and "| row |" in text
    assert "| ('plans', 1000, 4) |" in text
    assert "bsb bench travel --sizes 500,2000 --nodes 1000" in text


def test_bsb_map_redraws_a_plan_whose_copy_names_files_it_does_not_hold(tmp_path: Path) -> None:
    folder = _matrix_folder(tmp_path)
    out = tmp_path / "plan"
    run_pipeline(folder, out, maps_and_trip_sheets=False)
    (out / "scenario" / MATRIX).unlink()  # as an extract is never copied
    result = CliRunner().invoke(main, ["map", str(out), "-o", str(tmp_path / "map.html")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "map.html").is_file()


def _trip_sheets_take_legs() -> bool:
    from documents.trip_sheets import trip_sheet_files

    return "legs" in inspect.signature(trip_sheet_files).parameters


@pytest.mark.skipif(
    not _trip_sheets_take_legs(),
    reason="needs the maps part of issue 13: trip sheets that take the road legs (legs=)",
)
def test_bsb_plan_on_a_matrix_writes_the_whole_folder(tmp_path: Path) -> None:
    folder = _matrix_folder(tmp_path)
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["plan", str(folder), "-o", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    for name in ("plan.json", "map.html", LEGS_FILE, PROVENANCE_FILE, f"scenario/{MATRIX}"):
        assert (out / name).is_file(), name
    assert any((out / "trip_sheets").iterdir())
    assert CliRunner().invoke(main, ["check", str(out)]).exit_code == 0
