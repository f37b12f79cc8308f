"""The travel benchmark on a tiny generated network: rows, cache steps, the goal check."""

from __future__ import annotations

from pathlib import Path

from benchmarks.travel import goal_met, rows_markdown, run_travel_benchmark


def test_travel_benchmark_measures_cold_and_cached_steps(tmp_path: Path) -> None:
    lines: list[str] = []
    rows = run_travel_benchmark(
        sizes=(10, 30), n_warehouses=2, network_nodes=3000, work_dir=tmp_path, log=lines.append
    )
    steps = [(r.step, r.n_points, r.cache) for r in rows if r.network == "generated"]
    assert steps == [
        ("graph", 0, "cold"),
        ("graph", 0, "cached"),
        ("matrix", 10, "cold"),
        ("matrix", 10, "cached"),
        ("matrix", 30, "cold"),
        ("matrix", 30, "cached"),
    ]
    assert all(r.seconds >= 0 and r.peak_mb > 0 and r.n_chains < r.n_nodes for r in rows)
    assert any("100.0% pairs connected" in line for line in lines)
    table = rows_markdown(rows)
    assert table.count("\n") == len(rows) + 2
    assert goal_met(rows)
    # The cache went to the work folder, and only bsb's own files are there.
    assert {p.suffix for p in tmp_path.rglob("*") if p.is_file()} == {".npz", ".pbf"}


def test_the_plan_comparison_plans_both_ways_and_every_plan_passes_the_checker(
    tmp_path: Path,
) -> None:
    from benchmarks.travel import compare_plans, plans_markdown

    rows = compare_plans(40, 2, network_nodes=6000, time_limit_s=3, seed=2, work_dir=tmp_path)
    assert [r.travel for r in rows] == ["straight", "roads"]
    assert all(r.violations == 0 for r in rows)
    assert all(r.trips > 0 and r.distance_km > 0 for r in rows)
    # The same deliveries on other distances: the roads give another total.
    assert rows[0].distance_km != rows[1].distance_km
    table = plans_markdown(rows)
    assert table.count("\n") == 3 and "| roads | 40 | 2 |" in table
