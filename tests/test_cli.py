"""One test (or a few) per command, asserting exit codes and the files written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

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


def test_strategies_lists_default() -> None:
    result = CliRunner().invoke(main, ["strategies"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("default")


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
