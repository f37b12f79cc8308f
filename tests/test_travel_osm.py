"""Plans on OpenStreetMap roads through the pipeline and the CLI (source = "osm").

Built on small OSM files of our own design (tests/osm_fixtures.py, written with pyosmium).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from click.testing import CliRunner

from cli import main
from documents.pipeline import run_pipeline
from geodata.scenario_io import read_scenario
from geodata.scenario_writer import write_scenario
from geodata.travel_matrix import LEGS_FILE, PROVENANCE_FILE, build_travel, read_legs
from optimizer.model import TravelSettings, Warehouse
from tests import osm_fixtures
from tests.conftest import make_tiny_scenario

EXTRACT = "roads.osm.pbf"


def _hamlet_folder(tmp_path: Path) -> Path:
    """A residential road with a track to a hamlet; a third point 5 km from any road.

    The warehouse stands at the road's west end; P-ROAD by its east end, P-HAMLET at the
    track's end (small trucks only), P-FAR in the fields (no road).
    """
    sketch = osm_fixtures.track_to_hamlet()
    folder = tmp_path / "scenario"
    folder.mkdir()
    sketch.write(folder / EXTRACT)
    lonlat = sketch.lonlat
    tiny = make_tiny_scenario()
    warehouse = Warehouse("W1", "Gudang", *lonlat(-30, 20), 100_000.0)
    template = tiny.drop_points[0]
    points = tuple(
        dataclasses.replace(template, id=point_id, name=name, lon=lon, lat=lat)
        for point_id, name, (lon, lat) in (
            ("P-ROAD", "Ujung jalan", lonlat(2010, 30)),
            ("P-HAMLET", "Kampung", lonlat(1010, 810)),
            ("P-FAR", "Sawah", lonlat(1000, 5800)),
        )
    )
    scenario = dataclasses.replace(
        tiny,
        warehouses=(warehouse,),
        drop_points=points,
        travel=TravelSettings(source="osm", osm_file=EXTRACT),
    )
    write_scenario(scenario, folder)
    return folder


def test_the_roads_are_built_per_access_class_of_the_fleet(tmp_path: Path) -> None:
    folder = _hamlet_folder(tmp_path)
    scenario = read_scenario(folder)
    travel = build_travel(scenario, folder, cache_dir=tmp_path / "cache")
    assert travel is not None and travel.graph is not None
    matrix = travel.matrix
    assert matrix.place_ids == ("W1", "P-ROAD", "P-HAMLET", "P-FAR")
    assert set(matrix.access) <= {"big", "small"}
    assert matrix.provenance["source"] == "osm" and matrix.provenance["file"] == EXTRACT
    assert matrix.provenance["bytes"] == (folder / EXTRACT).stat().st_size


def test_validate_warns_of_roadless_and_small_truck_places(tmp_path: Path) -> None:
    folder = _hamlet_folder(tmp_path)
    result = CliRunner(env={"BSB_CACHE_DIR": str(tmp_path / "cache")}).invoke(
        main, ["validate", str(folder)]
    )
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert any("P-FAR" in line and "no_road" in line for line in warnings), warnings
    assert any("P-HAMLET" in line and "only small trucks" in line for line in warnings), warnings
    assert not any("P-ROAD" in line for line in warnings)


def test_check_roads_recomputes_the_legs_kept_independently(tmp_path: Path) -> None:
    folder = _hamlet_folder(tmp_path)
    out = tmp_path / "plan"
    # The legs kept come from the road matrix whatever the planner made of it.
    run_pipeline(
        folder,
        out,
        maps_and_trip_sheets=False,
        require_valid=False,
        cache_dir=tmp_path / "cache",
    )
    legs = read_legs(out / LEGS_FILE)
    assert ("W1", "P-ROAD", "big") in legs and ("W1", "P-HAMLET", "small") in legs
    assert ("W1", "P-HAMLET", "big") not in legs  # behind the track
    assert not any("P-FAR" in key[:2] for key in legs)  # beyond max_snap_m of every road
    provenance = json.loads((out / PROVENANCE_FILE).read_text())
    assert provenance["source"] == "osm"
    assert not (out / "scenario" / EXTRACT).exists()  # the extract is never copied
    runner = CliRunner()
    # The plan folder's copy does not hold the extract: --osm gives it.
    result = runner.invoke(
        main, ["check", str(out), "--roads", "--osm", str(folder / EXTRACT), "--sample", "50"]
    )
    assert "all within 1 %" in result.output, result.output
    missing = runner.invoke(main, ["check", str(out), "--roads"])
    assert missing.exit_code == 2 and "--osm FILE" in missing.output
    other = tmp_path / "other.osm.pbf"
    osm_fixtures.river_with_one_bridge().write(other)
    wrong = runner.invoke(main, ["check", str(out), "--roads", "--osm", str(other)])
    assert wrong.exit_code == 2 and "not the extract the plan was made with" in wrong.output


def test_travel_calibrate_prints_the_travel_lines(tmp_path: Path) -> None:
    folder = _hamlet_folder(tmp_path)
    result = CliRunner(env={"BSB_CACHE_DIR": str(tmp_path / "cache")}).invoke(
        main, ["travel", "calibrate", str(folder), "--osm", str(folder / EXTRACT)]
    )
    assert result.exit_code == 0, result.output
    assert "[travel]" in result.output and "circuity = " in result.output
    assert "percentile" in result.output


def test_a_plan_on_roads_serves_the_hamlet_by_small_truck_and_passes_every_check(
    tmp_path: Path,
) -> None:
    folder = _hamlet_folder(tmp_path)
    out = tmp_path / "plan"
    result = run_pipeline(folder, out, maps_and_trip_sheets=False, cache_dir=tmp_path / "c")
    scenario = result.scenario
    for route in result.plan.routes:
        if any(stop.drop_point == "P-HAMLET" for stop in route.stops):
            assert scenario.travel.truck_access(scenario.truck(route.truck)) == "small"
    assert {item.reason_code for item in result.plan.unassigned if item.drop_point == "P-FAR"} == {
        "no_road"
    }
    checked = CliRunner().invoke(
        main, ["check", str(folder), str(out), "--roads", "--sample", "50"]
    )
    assert checked.exit_code == 0, checked.output
