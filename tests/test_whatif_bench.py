"""benchmarks.whatif (`bsb bench whatif`): the section it writes, on a tiny sample."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner

from benchmarks.whatif import BracketRow, WhatIfBench, bracket_share, run_bench, section
from cli import main
from optimizer.whatif import WhatIfTable


def test_a_tiny_run_times_the_fleet_sizes_and_brackets_the_estimate() -> None:
    bench = run_bench(
        n_points=40,
        seed=2,
        time_limit_s=1.0,
        bracket_time_limit_s=1.0,
        scales=(0.5, 1.0, 2.0),
        days_after_release=(1,),
        workers=1,
    )
    totals = [r for r in bench.table.rows if r.outcome.warehouse == "ALL"]
    assert [r.setting for r in totals] == [0.5, 1.0, 2.0]
    assert bench.brackets, "one working day for 40 points should need more trucks"
    for row in bench.brackets:
        assert row.confirmed is None or row.confirmed > row.trucks_now
    text = section(bench, command="bsb bench whatif", workers=1)
    assert text.startswith("## What if: fleet sizes and the trucks to finish by a date")
    assert "fleet sizes 0.5, 1, 2:" in text
    assert "| finish by | warehouse |" in text


def test_the_bracket_share_counts_warehouses_within_one_truck() -> None:
    day = date(2020, 9, 3)
    rows = (
        BracketRow(day, "W1", 2, 5, 5, 2),
        BracketRow(day, "W2", 2, 5, 4, 2),
        BracketRow(day, "W3", 2, 6, 4, 3),
        BracketRow(day, "W4", 2, 3, None, 12),
    )
    bench = WhatIfBench(40, 4, 8, 1.0, 1.0, WhatIfTable("fleet_scale", ()), 1.0, rows, 1.0)
    assert [r.within_one for r in rows] == [True, True, False, False]
    assert bracket_share(bench) == 0.5
    assert "on 2 of 4 warehouses (50%; goal 90%: NOT met)" in section(
        bench, command="bsb bench whatif", workers=1
    )


def test_bench_whatif_prints_the_section_without_writing(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    args = ["--size", "30", "--time-limit", "1", "--bracket-time-limit", "1", "--days", "1"]
    result = CliRunner().invoke(
        main, ["-q", "bench", "whatif", *args, "--workers", "1", "--no-write"]
    )
    assert result.exit_code == 0, result.output
    assert "## What if: fleet sizes" in result.output
    assert not results.exists()
