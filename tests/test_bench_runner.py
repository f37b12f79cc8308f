"""Tests of benchmarks.runner and benchmarks.report with a fake ``bench solve``.

The fake is a tiny Python script (no solver imports) that writes a known solution, trace and
start/end times, chosen by the strategy name: ``good``/``ortools``/``pyvrp``/``portfolio`` write
a feasible solution, ``bad`` an infeasible one, ``none`` exits 1, ``crash`` exits 2 and
``hang`` sleeps past its timeout.
"""

from __future__ import annotations

import csv
import math
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks import report, runner
from benchmarks.runner import PRESETS, ResultRow, Task, append_row, read_rows
from cli import main
from geodata.output_guard import read_manifest, write_manifest
from optimizer.errors import InputError
from tests.conftest import tree_digest

# Depot at (0, 0), customers on the axes at distance 10; wide windows, capacity 100, 4 vehicles.
TINY_SOLOMON = """{name}

VEHICLE
NUMBER     CAPACITY
    4          100

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0          0          0          0          0       1000          0
    1         10          0         10          0       1000          0
    2          0         10         10          0       1000          0
    3        -10          0         10          0       1000          0
    4          0        -10         10          0       1000          0
"""
GOOD_DISTANCE = 4 * 10.0 + 2 * math.sqrt(200.0)  # routes [1, 2] and [3, 4], double precision
GOOD_TRUNC1 = 4 * 10.0 + 2 * 14.1  # the same under one-decimal truncation
BKS_TRUNC1 = 60.0

FAKE_SOLVE = r"""
import sys, time
strategy, solution, trace, events, sleep_s = sys.argv[1:6]
started = time.time()
time.sleep(float(sleep_s))
code = 0
if strategy == "hang":
    time.sleep(30)
elif strategy == "none":
    code = 1
elif strategy == "crash":
    sys.stderr.write("fake crash\n")
    code = 2
else:
    second = "2 3" if strategy == "bad" else "3 4"
    routes = f"Route #1: 1 2\nRoute #2: {second}\n"
    with open(trace, "w") as f:
        f.write("elapsed_s,distance\n0.01,80.0\n0.02,68.2842712474619\n")
    with open(solution, "w") as f:
        f.write(routes + "Cost 68.28\n")
with open(events, "a") as f:
    f.write(f"{strategy} {started!r} {time.time()!r}\n")
sys.exit(code)
"""


@pytest.fixture
def instances_root(tmp_path: Path) -> Path:
    root = tmp_path / "instances"
    (root / "solomon").mkdir(parents=True)
    lines = ["family,instance,customers,vehicles,bks_distance,objective_convention,source"]
    for name in ("C101", "R101"):
        (root / "solomon" / f"{name}.txt").write_text(TINY_SOLOMON.format(name=name))
        lines.append(f"solomon,{name},4,2,{BKS_TRUNC1},distance_only;dimacs_trunc1,test")
    (root / "bks.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def fake_solver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Replace the solve command with the fake; returns the file of start/end events."""
    script = tmp_path / "fake_solve.py"
    script.write_text(FAKE_SOLVE)
    events = tmp_path / "events.txt"

    def command(task: Task, solution: Path, trace: Path) -> list[str]:
        sleep_s = "0.15" if task.strategy != "hang" else "0"
        argv = [sys.executable, str(script), task.strategy, str(solution), str(trace)]
        return [*argv, str(events), sleep_s]

    monkeypatch.setattr(runner, "solve_command", command)
    return events


def _run(out: Path, root: Path, strategies: list[str], **kwargs: object) -> list[ResultRow]:
    runner.run(
        "quick",
        out,
        families=["solomon"],
        strategies=strategies,
        instances=["C101", "R101"],
        instances_root=root,
        jobs=2,
        progress=lambda line: None,
        **kwargs,  # type: ignore[arg-type]
    )
    return read_rows(out / "results.csv")


def test_run_appends_one_row_per_task_with_gap(
    tmp_path: Path, instances_root: Path, fake_solver: Path
) -> None:
    rows = _run(tmp_path / "out", instances_root, ["good"])
    assert [(r.instance, r.status) for r in sorted(rows, key=lambda r: r.instance)] == [
        ("C101", "ok"),
        ("R101", "ok"),
    ]
    row = next(r for r in rows if r.instance == "C101")
    assert row.feasible is True
    assert row.customers == 4
    assert row.time_limit_s == 10.0
    assert row.distance == pytest.approx(GOOD_DISTANCE, abs=1e-9)
    assert row.cost_convention == "dimacs_trunc1"
    assert row.cost_under_convention == pytest.approx(GOOD_TRUNC1)
    assert row.gap_pct == pytest.approx(100 * (GOOD_TRUNC1 - BKS_TRUNC1) / BKS_TRUNC1)
    assert (row.vehicles, row.bks_vehicles) == (2, 2)
    assert row.wall_s is not None and row.wall_s >= 0.15
    assert row.solution_file == "solutions/solomon/good/C101_s1_t10.sol"
    assert (tmp_path / "out" / row.trace_file).name == "C101_s1_t10.trace.csv"
    assert "ortools" in row.versions and row.machine
    header = (tmp_path / "out" / "results.csv").read_text().splitlines()[0]
    assert header.split(",") == list(runner.COLUMNS)


def test_rerun_skips_finished_tasks_but_retries_errors(
    tmp_path: Path, instances_root: Path, fake_solver: Path
) -> None:
    out = tmp_path / "out"
    first = _run(out, instances_root, ["good", "crash"])
    assert sorted(r.status for r in first) == ["error", "error", "ok", "ok"]
    assert "fake crash" in next(r.violations for r in first if r.status == "error")
    starts = len(fake_solver.read_text().splitlines())
    second = _run(out, instances_root, ["good", "crash"])
    # Only the two error tasks ran again; the finished ones kept their single row.
    assert len(fake_solver.read_text().splitlines()) == starts + 2
    assert len(second) == 6
    assert [r.strategy for r in second[4:]] == ["crash", "crash"]


def test_statuses_timeout_infeasible_and_no_solution(
    tmp_path: Path, instances_root: Path, fake_solver: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "TIMEOUT_MARGIN_S", 0.3)
    rows = _run(tmp_path / "out", instances_root, ["hang", "bad", "none"], time_factor=0.01)
    by_strategy = {r.strategy: r for r in rows if r.instance == "C101"}
    hang = by_strategy["hang"]
    assert hang.status == "timeout" and hang.distance is None
    assert hang.wall_s is not None and 0.35 <= hang.wall_s < 5
    bad = by_strategy["bad"]
    assert (bad.status, bad.feasible, bad.gap_pct) == ("infeasible", False, None)
    assert bad.violations
    assert by_strategy["none"].status == "no_solution"
    assert by_strategy["none"].time_limit_s == pytest.approx(0.1)


def test_portfolio_never_runs_beside_another_task(
    tmp_path: Path, instances_root: Path, fake_solver: Path
) -> None:
    _run(tmp_path / "out", instances_root, ["ortools", "portfolio", "pyvrp"])
    events = [line.split() for line in fake_solver.read_text().splitlines()]
    intervals = [(name, float(start), float(end)) for name, start, end in events]
    assert len(intervals) == 6
    for name, start, end in intervals:
        if name != "portfolio":
            continue
        others = [(s, e) for n, s, e in intervals if (n, s, e) != (name, start, end)]
        assert all(e <= start or s >= end for s, e in others)
    # The single-core ones did run two at a time.
    single = sorted((s, e) for n, s, e in intervals if n != "portfolio")
    assert any(single[i + 1][0] < single[i][1] for i in range(len(single) - 1))


def test_stop_event_runs_nothing_and_keeps_csv(
    tmp_path: Path, instances_root: Path, fake_solver: Path
) -> None:
    stop = threading.Event()
    stop.set()
    rows = _run(tmp_path / "out", instances_root, ["good"], stop=stop)
    assert rows == []
    assert not fake_solver.exists()


def test_planned_wall_time_of_quick_preset_fits_15_minutes() -> None:
    planned = runner.planned_wall_s(PRESETS["quick"], cores=2)
    assert 300 < planned <= 900
    tasks = runner.build_tasks(PRESETS["quick"], Path("out"), instances_root=Path("nowhere"))
    assert sum(t.strategy == "portfolio" for t in tasks) == 9
    assert {t.family for t in tasks} == {"solomon", "random", "bsb"}


def test_instance_names_pick_their_families_and_time_limits(instances_root: Path) -> None:
    tasks = runner.build_tasks(
        PRESETS["quick"],
        Path("out"),
        strategies=["vroom"],
        instances=["R101", "R200_3", "synthetic-1000", "nothing"],
        instances_root=instances_root,
        seeds=(1, 2),
        time_factor=0.5,
    )
    assert sorted((t.family, t.instance, t.seed, t.time_limit_s) for t in tasks) == [
        ("random", "R200_3", 1, 10.0),
        ("random", "R200_3", 2, 10.0),
        ("solomon", "R101", 1, 5.0),
        ("solomon", "R101", 2, 5.0),
    ]  # vroom is no bsb plan strategy: the BSB scenario is left out


def test_time_limit_rule_by_size() -> None:
    sizes = {100: 10, 152: 20, 200: 20, 255: 30, 400: 30, 501: 60, 1000: 60}
    assert {n: runner.time_limit_for(n) for n in sizes} == sizes
    assert runner.customers_from_name("x", "X-n153-k22") == 152
    assert runner.customers_from_name("homberger", "rc2_10_1") == 1000
    assert runner.customers_from_name("random", "R200_7") == 200


# --- report ------------------------------------------------------------------------------------


def _row(**fields: object) -> ResultRow:
    base: dict[str, object] = dict.fromkeys(runner.COLUMNS, "")
    base.update(
        customers=100,
        time_limit_s=10.0,
        seed=1,
        feasible=None,
        vehicles=None,
        bks_vehicles=None,
        distance=None,
        cost_under_convention=None,
        bks_distance=None,
        gap_pct=None,
        ratio_to_bound=None,
        bound_km=None,
        unassigned_kg=None,
        wall_s=None,
    )
    base.update(fields)
    return ResultRow(**base)  # type: ignore[arg-type]


def test_report_tables_match_hand_computation(tmp_path: Path) -> None:
    csv_path = tmp_path / "results.csv"
    rows = [
        _row(family="solomon", instance="C101", strategy="a", status="ok", gap_pct=1.0,
             vehicles=11, bks_vehicles=10, distance=830.0, bks_distance=800.0, wall_s=10.0),
        _row(family="solomon", instance="C102", strategy="a", status="ok", gap_pct=3.0,
             vehicles=10, bks_vehicles=10, distance=830.0, bks_distance=830.0, wall_s=12.0),
        _row(family="solomon", instance="R101", strategy="a", status="no_solution", wall_s=10.5),
        _row(family="random", instance="R200_1", strategy="pyvrp", status="ok", distance=100.0,
             vehicles=12, wall_s=20.0),
        _row(family="random", instance="R200_1", strategy="ortools", status="ok", distance=110.0,
             vehicles=13, wall_s=20.0),
        _row(family="random", instance="R200_2", strategy="pyvrp", status="ok", distance=200.0,
             vehicles=12, wall_s=20.0),
        _row(family="random", instance="R200_2", strategy="ortools", status="ok", distance=210.0,
             vehicles=14, wall_s=20.0),
        _row(family="bsb", instance="synthetic-200", strategy="s1", status="ok", distance=1000.0,
             ratio_to_bound=1.2, served_share_by_deadline="T1 100.0%; T2 90.0%",
             unassigned_kg=0.0, wall_s=31.0),
        _row(family="bsb", instance="synthetic-200", strategy="s2", status="ok", distance=1100.0,
             ratio_to_bound=1.32, served_share_by_deadline="T1 100.0%; T2 100.0%",
             unassigned_kg=0.0, wall_s=33.0),
    ]  # fmt: skip
    for row in rows:
        append_row(csv_path, row)
    gap = report.gap_table(read_rows(csv_path), "solomon").splitlines()
    # Double-precision gaps: 30/800 = 3.75 % and 0 %, mean 1.875 %.
    assert gap[2] == "| a | 3 | 2 / 3 | 2.00 | 3.00 | 1.88 | +0.50 | 0 / 1 / 0 / 0 | 10.5 |"
    random_lines = report.random_table(read_rows(csv_path)).splitlines()
    assert (
        random_lines[2] == "| pyvrp | 2 | 2 / 2 | 1.0000 | 1.0000 | 12.0 | 0 / 0 / 0 / 0 | 20.0 |"
    )
    assert (
        random_lines[3] == "| ortools | 2 | 2 / 2 | 1.0750 | 1.1000 | 13.5 | 0 / 0 / 0 / 0 | 20.0 |"
    )
    assert "| **mean** | 1.0000 | 1.0750 |" in random_lines
    assert "| R200_2 | 1.0000 | 1.0500 |" in random_lines
    bsb = report.bsb_table(read_rows(csv_path)).splitlines()
    assert bsb[2] == (
        "| s1 | 1 | 1 / 1 | 1.200 | 1.0000 | T1 100.0%; T2 90.0% | 0 | 0 / 0 / 0 / 0 | 31.0 |"
    )
    assert bsb[3].startswith("| s2 | 1 | 1 / 1 | 1.320 | 1.1000 | T1 100.0%; T2 100.0% |")


def test_report_writes_plots_and_section(
    tmp_path: Path, instances_root: Path, fake_solver: Path
) -> None:
    out = tmp_path / "out"
    _run(out, instances_root, ["ortools", "pyvrp"])
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text("# Benchmark results\n\nkept\n")
    report.write_report(out / "results.csv", results_md, out / "plots", "bsb bench run --x")
    for name in ("gap_vs_time_solomon.png", "final_solomon.png"):
        data = (out / "plots" / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000
    text = results_md.read_text()
    assert "kept" in text and "<!-- strategies -->" in text and "<!-- /strategies -->" in text
    assert "](out/plots/gap_vs_time_solomon.png)" in text
    assert "`bsb bench run --x`" in text
    curves = report.gap_curves(read_rows(out / "results.csv"), "solomon", out)
    expected = 100 * (GOOD_DISTANCE - BKS_TRUNC1) / BKS_TRUNC1
    assert [c.mean_gap_pct[-1] for c in curves] == pytest.approx([expected, expected])


def test_check_accepts_true_rows_and_catches_a_tampered_one(
    tmp_path: Path, instances_root: Path, fake_solver: Path
) -> None:
    out = tmp_path / "out"
    _run(out, instances_root, ["good", "bad", "none"])
    assert CliRunner().invoke(main, ["bench", "report", str(out), "--check"]).exit_code == 0
    csv_path = out / "results.csv"
    with csv_path.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    good = next(r for r in records if r["strategy"] == "good")
    good["gap_pct"] = repr(float(good["gap_pct"]) - 0.001)
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=runner.COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    result = CliRunner().invoke(main, ["bench", "report", str(out), "--check"])
    assert result.exit_code == 1
    assert "gap_pct" in result.stdout


def test_gap_curve_is_the_mean_best_so_far_from_when_every_run_has_a_solution(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.trace.csv").write_text("elapsed_s,distance\n1,120\n5,110\n")
    (tmp_path / "b.trace.csv").write_text("elapsed_s,distance\n2,130\n3,100\n3.5,105\n")
    rows = [
        _row(family="solomon", instance=name, strategy="s", status="ok", bks_distance=100.0,
             trace_file=f"{name}.trace.csv")
        for name in ("a", "b")
    ] + [_row(family="solomon", instance="c", strategy="s", status="no_solution")]  # fmt: skip
    [curve] = report.gap_curves(rows, "solomon", tmp_path)
    assert curve.times_s == (2.0, 3.0, 3.5, 5.0, 10.0)
    assert curve.mean_gap_pct == pytest.approx((25.0, 10.0, 10.0, 5.0, 5.0))
    assert (curve.runs, curve.without_solution) == (3, 1)


# --- the run folder: resumable, never over files bsb did not write ----------------------------


def test_a_new_run_folder_is_marked_and_resumed_without_force(
    tmp_path: Path, instances_root: Path, fake_solver: Path
) -> None:
    out = tmp_path / "out"
    _run(out, instances_root, ["good"])
    manifest = read_manifest(out)
    assert manifest is not None and manifest.kind == "bench-run"
    rows = _run(out, instances_root, ["good", "bad"])
    assert len(rows) == 4


def test_a_run_folder_older_than_manifests_is_recognised_by_its_layout(tmp_path: Path) -> None:
    out = tmp_path / "old-run"
    (out / "solutions").mkdir(parents=True)
    (out / "results.csv").write_text(",".join(runner.COLUMNS) + "\n", encoding="utf-8")
    runner.check_run_folder(out)
    runner.mark_run_folder(out)
    manifest = read_manifest(out)
    assert manifest is not None and manifest.kind == "bench-run" and manifest.files is None


@pytest.mark.parametrize(
    "setup", ["foreign folder", "foreign file in a run", "a file", "a plan", "foreign results"]
)
def test_run_refuses_an_out_folder_with_what_bsb_did_not_write(
    tmp_path: Path, instances_root: Path, fake_solver: Path, setup: str
) -> None:
    out = tmp_path / "out"
    if setup == "a file":
        out.write_text("mine", encoding="utf-8")
    elif setup == "a plan":
        out.mkdir()
        write_manifest(out, "plan")
    elif setup == "foreign results":
        out.mkdir()
        (out / "results.csv").write_text("name,score\nme,10\n", encoding="utf-8")
    else:
        out.mkdir()
        if setup == "foreign file in a run":
            write_manifest(out, "bench-run", track_files=False)
        (out / "thesis.tex").write_text("mine", encoding="utf-8")
    before = tree_digest(tmp_path)
    with pytest.raises(InputError, match=r"--out .*(Nothing was changed|is a file)"):
        _run(out, instances_root, ["good"])
    assert tree_digest(tmp_path) == before
