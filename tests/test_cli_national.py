"""``bsb plan --by-warehouse``: exit codes, the run folder, refusals and --resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from geodata.sample import write_sample

REPO = Path(__file__).resolve().parents[1]
FAST = ["--time-limit", "1", "--solution-limit", "5", "--max-piece-points", "25"]


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("national") / "scenario"
    write_sample(folder, n_drop_points=50, n_warehouses=2, seed=6)
    return folder


def _plan(scenario_dir: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main,
        ["-q", "plan", str(scenario_dir), "-o", str(out), "--executor", "inprocess", *FAST, *extra],
    )
    return result.exit_code, result.stdout, result.stderr


def test_plan_by_warehouse_writes_the_run_folder_and_resume_reuses_it(
    scenario_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = _plan(scenario_dir, out, "--by-warehouse")
    assert code == 0, stderr
    assert "National plan written to" in stdout
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["options"]["max_piece_points"] == 25 and run["options"]["time_limit_s"] == 1.0
    assert sorted(p.name for p in (out / "warehouses").iterdir()) == ["W01", "W02"]
    check = CliRunner().invoke(main, ["check", str(out / "warehouses" / "W01")])
    assert check.exit_code == 0, check.output

    code, _, stderr = _plan(scenario_dir, out, "--by-warehouse")
    assert code == 2 and "--resume" in stderr
    code, stdout, stderr = _plan(scenario_dir, out, "--resume")
    assert code == 0, stderr
    assert f"{len(run['pieces'])} from an earlier run" in stdout
    code, _, stderr = _plan(scenario_dir, out, "--resume", "--max-piece-points", "1000")
    assert code == 2 and "options" in stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--by-warehouse", "--force"], "--force does not go with --by-warehouse"),
        (["--by-warehouse", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler goes with"),
    ],
)
def test_plan_by_warehouse_refuses_options_that_do_not_fit(
    scenario_dir: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    code, _, stderr = _plan(scenario_dir, tmp_path / "out", *extra)
    assert code == 2 and message in stderr
    assert not (tmp_path / "out").exists()


def test_executor_without_by_warehouse_is_a_usage_error(scenario_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["plan", str(scenario_dir), "-o", str(tmp_path / "out"), "--max-piece-points", "9"]
    )
    assert result.exit_code == 2 and "--by-warehouse" in result.stderr


def test_plan_by_warehouse_never_writes_into_the_scenario(scenario_dir: Path) -> None:
    before = sorted(p.name for p in scenario_dir.iterdir())
    code, _, stderr = _plan(scenario_dir, scenario_dir / "out", "--by-warehouse")
    assert code == 2 and "scenario folder" in stderr
    assert sorted(p.name for p in scenario_dir.iterdir()) == before


def test_ctrl_c_keeps_finished_pieces_and_resume_finishes(
    scenario_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-c",
        "import sys; from cli import main; sys.exit(main())",
        "plan", str(scenario_dir), "-o", str(out), "--by-warehouse", "--executor", "inprocess",
        "--time-limit", "2", "--max-piece-points", "25",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    ends = time.monotonic() + 120
    while not list((out / "pieces").glob("*.json")) and time.monotonic() < ends:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert "--resume" in stderr
    kept = {p.name for p in (out / "pieces").glob("*.json")}
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert 1 <= len(kept) < len(run["pieces"])
    resumed = subprocess.run([*command, "--resume"], cwd=REPO, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(kept)} from an earlier run" in resumed.stdout
    assert len(list((out / "pieces").glob("*.json"))) == len(run["pieces"])
