"""One test (or a few) per command, asserting exit codes and the files written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from tests.conftest import tree_digest

DATA = Path(__file__).parent / "data" / "scenarios"
FAST = ["--time-limit", "20", "--solution-limit", "10", "--seed", "3"]


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "scenario"
    result = CliRunner().invoke(main, ["sample", str(folder), "--size", "30", "--seed", "2"])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def plan_dir(sample_dir: Path) -> Path:
    out = sample_dir.parent / "plan"
    result = CliRunner().invoke(main, ["-q", "plan", str(sample_dir), "-o", str(out), *FAST])
    assert result.exit_code == 0, result.output
    return out


def test_sample_writes_a_valid_scenario(sample_dir: Path) -> None:
    assert (sample_dir / "scenario.toml").exists()
    result = CliRunner().invoke(main, ["validate", str(sample_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK:")


def test_plan_writes_the_whole_folder(plan_dir: Path) -> None:
    for name in ("plan.json", "routes.geojson", "stops.csv", "summary.md", "scenario"):
        assert (plan_dir / name).exists(), name
    assert any((plan_dir / "papers").iterdir())
    assert not list(plan_dir.parent.glob(".plan.tmp-*"))


def test_plan_reports_the_time_of_each_step(sample_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["plan", str(sample_dir), "-o", str(out), *FAST])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "time taken:" in x)
    for step in ("read ", "planned ", "(time limit 20 s)", "checked ", "wrote "):
        assert step in line, line


def test_check_passes_on_a_fresh_plan(plan_dir: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(plan_dir)])
    assert result.exit_code == 0, result.output
    assert "passes every check" in result.output


def test_check_with_explicit_scenario(sample_dir: Path, plan_dir: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(sample_dir), str(plan_dir)])
    assert result.exit_code == 0, result.output


def test_check_fails_with_exit_1_on_a_tampered_plan(plan_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(plan_dir, copy)
    data = json.loads((copy / "plan.json").read_text(encoding="utf-8"))
    data["routes"][0]["load_kg"] = 10**6
    (copy / "plan.json").write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(copy)])
    assert result.exit_code == 1
    assert "[load]" in result.output


def test_same_seed_and_solution_limit_give_byte_identical_plan_json(
    sample_dir: Path, plan_dir: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    result = CliRunner().invoke(main, ["-q", "plan", str(sample_dir), "-o", str(again), *FAST])
    assert result.exit_code == 0, result.output
    assert (again / "plan.json").read_bytes() == (plan_dir / "plan.json").read_bytes()


def test_bad_input_exits_2_and_names_file_row_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(DATA / "valid_minimal", folder)
    trucks = folder / "trucks.csv"
    lines = trucks.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("capacity_kg")] = "0"
    lines[1] = ",".join(cells)
    trucks.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for command in (["validate", str(folder)], ["plan", str(folder), "-o", str(tmp_path / "p")]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output
        assert "trucks.csv, row 2, field 'capacity_kg'" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "p").exists()


def test_missing_scenario_folder_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 2


def test_unknown_strategy_exits_2(sample_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["plan", str(sample_dir), "-o", str(tmp_path / "p"), "--strategy", "magic"]
    )
    assert result.exit_code == 2
    assert "unknown strategy" in result.output


def test_usage_error_exits_2() -> None:
    result = CliRunner().invoke(main, ["plan"])
    assert result.exit_code == 2


def test_check_of_a_folder_without_plan_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 2


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        main, ["-q", "demo", "-o", str(out), "--size", "20", "--time-limit", "5"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "plan" / "plan.json").exists()
    assert "KPM terlayani" in result.output  # the summary, in Bahasa Indonesia by default
    before = tree_digest(tmp_path)
    code, output = _invoke("demo", "-o", str(out), "--size", "20", "--time-limit", "5")
    _assert_refused(code, output, "holds a demo (sample scenario and plan) bsb wrote earlier")
    _assert_refused(code, output, "add --force to replace it")
    assert tree_digest(tmp_path) == before
    code, output = _invoke("demo", "-o", str(out), "--size", "20", "--time-limit", "5", "--force")
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_demo_refuses_a_folder_bsb_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    before = tree_digest(tmp_path)
    code, output = _invoke("demo", "-o", str(tmp_path), "--size", "5", "--force")
    _assert_refused(code, output, "bsb did not write it (it holds notes.txt)")
    assert tree_digest(tmp_path) == before


def test_strategies_lists_default() -> None:
    result = CliRunner().invoke(main, ["strategies"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("default")


@pytest.mark.slow  # a real process planning with a 300 s limit until Ctrl-C
def test_ctrl_c_keeps_the_best_plan_found(sample_dir: Path, tmp_path: Path) -> None:
    """SIGINT during the search: exit 0, a complete plan marked interrupted that passes check."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "interrupted"
    command = [
        sys.executable,
        "-c",
        "import cli; cli.main()",
        "plan",
        str(sample_dir),
        "-o",
        str(out),
        "--time-limit",
        "300",
        "--workers",
        "2",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    # Wait until the search is under way (a progress line on stderr), then press Ctrl-C.
    assert process.stderr is not None
    for line in process.stderr:
        if "rout" in line or time.monotonic() > deadline:
            break
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    data = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert data["status"] == "interrupted"
    result = CliRunner().invoke(main, ["check", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "summary.md").exists()


def test_plan_writes_an_offline_map_and_trip_sheets(plan_dir: Path) -> None:
    html_files = sorted(p.name for p in plan_dir.glob("*.html"))
    assert html_files == ["map.html"]
    html = (plan_dir / "map.html").read_text(encoding="utf-8")
    assert '<script src="http' not in html
    assert any((plan_dir / "trip_sheets").glob("*.html"))


def test_map_command_writes_online_and_offline_maps(plan_dir: Path, tmp_path: Path) -> None:
    # The sample has two warehouses: the file named is an index, the maps go to maps/ beside it.
    for mode, folder in (("--offline", tmp_path / "off"), ("--online", tmp_path / "on")):
        folder.mkdir()
        command = ["map", str(plan_dir), "-o", str(folder / "index.html"), mode]
        result = CliRunner().invoke(main, [*command, "--language", "en"])
        assert result.exit_code == 0, result.output
        pages = [p.read_text(encoding="utf-8") for p in folder.rglob("*.html")]
        assert len(pages) >= 3  # index + one map per warehouse
        remote = any('<script src="http' in page for page in pages)
        assert remote is (mode == "--online")


def test_map_of_a_folder_without_plan_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["map", str(tmp_path)])
    assert result.exit_code == 2


# --- nothing is destroyed: -o never replaces the scenario or what bsb did not write -----------


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-q", *args])
    return result.exit_code, result.output


def _assert_refused(code: int, output: str, message: str) -> None:
    assert code == 2, output
    assert message in " ".join(output.split()), output
    assert "Traceback" not in output


def test_plan_onto_its_scenario_folder_exits_2_and_changes_nothing(sample_dir: Path) -> None:
    before = tree_digest(sample_dir.parent)
    for target in (sample_dir, sample_dir.parent / "scenario" / ".." / "scenario"):
        for force in ([], ["--force"]):
            code, output = _invoke("plan", str(sample_dir), "-o", str(target), *force, *FAST)
            _assert_refused(code, output, "is the scenario folder; bsb never writes over its input")
    assert tree_digest(sample_dir.parent) == before


def test_plan_onto_a_folder_holding_the_scenario_exits_2(sample_dir: Path) -> None:
    before = tree_digest(sample_dir.parent)
    code, output = _invoke("plan", str(sample_dir), "-o", str(sample_dir.parent), "--force")
    _assert_refused(code, output, f"holds the scenario folder {sample_dir}")
    assert tree_digest(sample_dir.parent) == before


def test_plan_into_the_scenario_folder_exits_2(sample_dir: Path) -> None:
    before = tree_digest(sample_dir.parent)
    code, output = _invoke("plan", str(sample_dir), "-o", str(sample_dir / "plan"))
    _assert_refused(code, output, "is inside the scenario folder")
    assert tree_digest(sample_dir.parent) == before


def test_plan_onto_a_folder_with_a_foreign_file_exits_2_and_keeps_it(
    sample_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "b9"
    out.mkdir()
    (out / "important.txt").write_text("do not delete", encoding="utf-8")
    before = tree_digest(tmp_path)
    for force in ([], ["--force"]):
        code, output = _invoke("plan", str(sample_dir), "-o", str(out), *force, *FAST)
        _assert_refused(
            code, output, "is not empty and bsb did not write it (it holds important.txt)"
        )
    assert tree_digest(tmp_path) == before


def test_replanning_a_plan_folder_needs_force(
    sample_dir: Path, plan_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plan"
    shutil.copytree(plan_dir, out)
    before = tree_digest(tmp_path)
    code, output = _invoke("plan", str(sample_dir), "-o", str(out), *FAST)
    _assert_refused(
        code, output, "holds a plan bsb wrote earlier. Nothing was changed: add --force"
    )
    assert tree_digest(tmp_path) == before
    (out / "summary.md").write_text("my notes", encoding="utf-8")  # an edit is not bsb's
    code, output = _invoke("plan", str(sample_dir), "-o", str(out), "--force", *FAST)
    _assert_refused(code, output, "summary.md (changed)")
    shutil.rmtree(out)
    shutil.copytree(plan_dir, out)
    code, output = _invoke("plan", str(sample_dir), "-o", str(out), "--force", *FAST)
    assert code == 0, output
    assert (out / "plan.json").read_bytes() == (plan_dir / "plan.json").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]


def test_sample_refuses_a_foreign_folder_and_replaces_its_own_only_with_force(
    tmp_path: Path,
) -> None:
    out = tmp_path / "scen"
    out.mkdir()
    (out / "drop_points.csv").write_text("my own data", encoding="utf-8")
    before = tree_digest(tmp_path)
    code, output = _invoke("sample", str(out), "--size", "5", "--force")
    _assert_refused(code, output, "OUT_DIR")
    _assert_refused(code, output, "bsb did not write it (it holds drop_points.csv)")
    assert tree_digest(tmp_path) == before
    fresh = tmp_path / "fresh"
    assert _invoke("sample", str(fresh), "--size", "5")[0] == 0
    written = tree_digest(fresh)
    code, output = _invoke("sample", str(fresh), "--size", "6")
    _assert_refused(code, output, "holds a sample scenario bsb wrote earlier")
    assert tree_digest(fresh) == written
    assert _invoke("sample", str(fresh), "--size", "6", "--force")[0] == 0
    assert tree_digest(fresh) != written


def test_map_refuses_files_bsb_did_not_write_and_the_scenario_folder(
    plan_dir: Path, tmp_path: Path
) -> None:
    plan = tmp_path / "plan"
    shutil.copytree(plan_dir, plan)
    (tmp_path / "index.html").write_text("<p>my page</p>", encoding="utf-8")
    before = tree_digest(tmp_path)
    code, output = _invoke("map", str(plan), "-o", str(tmp_path / "index.html"), "--force")
    _assert_refused(code, output, "exists and bsb did not write it")
    code, output = _invoke("map", str(plan), "-o", str(plan / "scenario" / "map.html"))
    _assert_refused(code, output, "is inside the scenario folder")
    assert tree_digest(tmp_path) == before
    # The plan's own map is redrawn in place and stays the plan's: a later --force is allowed.
    assert _invoke("map", str(plan), "--language", "en")[0] == 0
    assert tree_digest(plan) != before
    assert "Route maps" in (plan / "map.html").read_text(encoding="utf-8")
    from geodata.output_guard import check_output_folder

    check_output_folder(plan, kind="plan", force=True)
    # A map bsb wrote elsewhere is replaced only with --force.
    out = tmp_path / "maps-en" / "index.html"
    assert _invoke("map", str(plan), "-o", str(out))[0] == 0
    code, output = _invoke("map", str(plan), "-o", str(out))
    _assert_refused(code, output, "holds a map bsb wrote earlier")
    assert _invoke("map", str(plan), "-o", str(out), "--force")[0] == 0


def test_gis_scenario_short_of_stock_and_fleet_plans_honestly(
    sample_dir: Path, tmp_path: Path
) -> None:
    """As issue 10 is checked: GIS tables, stock and fleet short at once, a planner's view."""
    import geopandas as gpd
    import pandas as pd

    scenario = tmp_path / "short"
    shutil.copytree(sample_dir, scenario)
    (scenario / ".bsb-output.json").unlink()
    points = pd.read_csv(scenario / "drop_points.csv", dtype=str)
    gpd.GeoDataFrame(
        points.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(points["lon"].astype(float), points["lat"].astype(float)),
        crs=4326,
    ).to_crs(32748).to_file(scenario / "drop_points.geojson", driver="GeoJSON")
    (scenario / "drop_points.csv").unlink()
    warehouses = pd.read_csv(scenario / "warehouses.csv", dtype=str)
    warehouses["stock_kg"] = ["20000", "1000"][: len(warehouses)]
    gpd.GeoDataFrame(
        warehouses.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(
            warehouses["lon"].astype(float), warehouses["lat"].astype(float)
        ),
        crs=4326,
    ).to_file(scenario / "warehouses.gpkg", driver="GPKG")
    (scenario / "warehouses.csv").unlink()
    tranches = (scenario / "tranches.csv").read_text(encoding="utf-8")
    (scenario / "tranches.csv").write_text(
        tranches.replace("2020-10-01,2020-10-31", "2020-10-01,2020-10-01"), encoding="utf-8"
    )
    with (scenario / "scenario.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[files]\nwarehouses = "warehouses.gpkg"\n')

    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["-q", "plan", str(scenario), "-o", str(out), *FAST])
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(main, ["check", str(out)]).exit_code == 0
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    rations = {"2020-09": 30, "2020-10": 15}
    kgs = [(s["tranche"], s["kg"]) for r in plan["routes"] for s in r["stops"]]
    kgs += [(u["tranche"], u["kg"]) for u in plan["unassigned"]]
    assert all(kg % rations[tranche] == 0 for tranche, kg in kgs)  # no family split
    codes = {u["reason_code"] for u in plan["unassigned"]}
    assert "stock" in codes
    for entry in plan["unassigned"]:
        if entry["reason_code"] == "stock":  # true: no warehouse in reach has a ration left
            assert all(
                kg < rations[entry["tranche"]] for kg in entry["reason_facts"]["leftover_kg"]
            )
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "Stok gudang habis" in summary and "No stock" not in summary
