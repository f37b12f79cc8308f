"""`bsb bench sizes`, `shortage`, `maps`, `limits` and `plan`: tiny runs of each command.

The benchmarks are library functions returning rows; the commands print each row as it comes,
then the RESULTS.md section, and replace that section in ``--results-md`` unless ``--no-write``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks import map_sizes, plan_sizes, shortage
from cli import main

KEPT = "# Benchmark results\n\nkept\n"


def _bench(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-q", "bench", *args])
    return result.exit_code, result.output


def _section(results_md: Path, marker: str) -> str:
    text = results_md.read_text(encoding="utf-8")
    assert text.startswith(KEPT)
    return text.split(f"<!-- {marker} -->", 1)[1].split(f"<!-- /{marker} -->", 1)[0]


def test_bench_sizes_prints_each_row_and_replaces_its_section(tmp_path: Path) -> None:
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text(KEPT, encoding="utf-8")
    common = ["--sizes", "15", "--time-limit", "1", "--workers", "1", "--no-bogor"]
    code, output = _bench("sizes", *common, "--results-md", str(results_md))
    assert code == 0, output
    row = next(line for line in output.splitlines() if line.startswith("| synthetic | 15 |"))
    section = _section(results_md, plan_sizes.SECTION)
    assert row in section
    assert "- command: `bsb bench sizes --sizes 15 --time-limit 1.0 --workers 1 " in section
    assert "--no-bogor" in section
    # --no-write prints the section and leaves the file alone.
    before = results_md.read_text(encoding="utf-8")
    code, output = _bench("sizes", *common, "--results-md", str(results_md), "--no-write")
    assert code == 0, output
    assert "## Plan sizes" in output
    assert results_md.read_text(encoding="utf-8") == before


def test_bench_shortage_plans_each_size_with_and_without_stock_rounds(tmp_path: Path) -> None:
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text(KEPT, encoding="utf-8")
    code, output = _bench(
        "shortage",
        *("--sizes", "15", "--time-limit", "1", "--workers", "1", "--no-bogor"),
        *("--results-md", str(results_md)),
    )
    assert code == 0, output
    section = _section(results_md, shortage.SECTION)
    rows = [line for line in section.splitlines() if line.startswith("| synthetic | 15 |")]
    assert len(rows) == 2
    # The independent checker accepts every stock reason: column "false stock entries" is 0.
    assert all("| **0** |" in row for row in rows)


def test_bench_maps_measures_the_map_of_a_sample(tmp_path: Path) -> None:
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text(KEPT, encoding="utf-8")
    code, output = _bench(
        "maps",
        *("--sizes", "12", "--time-limit", "1", "--workers", "1"),
        *("--results-md", str(results_md)),
    )
    assert code == 0, output
    section = _section(results_md, map_sizes.SECTION)
    assert "## Map sizes" in section and "\n| 12 | " in section
    # The same map along (fake) roads: thousands of road vertices, simplified to far fewer.
    row = next(line for line in section.splitlines() if line.startswith("| 12 | "))
    raw, drawn = re.fullmatch(r"([\d,]+) \(([\d,]+)\)", row.split("|")[14].strip()).groups()
    assert int(raw.replace(",", "")) > 10 * int(drawn.replace(",", "")) > 0


def test_bench_limits_measures_in_a_child_process(tmp_path: Path) -> None:
    code, output = _bench(
        "limits", *("--sizes", "15", "--limits", "1", "--workers", "1"), "--no-write"
    )
    assert code == 0, output
    assert "## Plan limits" in output
    row = next(line for line in output.splitlines() if line.startswith("| 15 | "))
    violations = row.split("|")[10].strip()
    assert violations == "0", row


@pytest.mark.parametrize("option", ["--sizes", "--limits"])
def test_bench_limits_refuses_a_bad_list_naming_the_option(option: str) -> None:
    code, output = _bench("limits", option, "20000,lots", "--no-write")
    assert code == 2, output
    assert option in output and "Traceback" not in output


def test_bench_plan_gives_the_planned_wall_time_and_runs_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = _bench("plan", "--preset", "quick", "--out", str(out), "--no-bogor")
    assert code == 0, output
    assert "tasks, planned wall time" in output and "on " in output
    assert not out.exists()


def test_the_benchmark_modules_neither_print_nor_parse_arguments() -> None:
    folder = Path(plan_sizes.__file__ or "").parent
    modules = sorted(folder.glob("*.py"))
    assert len(modules) >= 10
    for module in modules:
        source = module.read_text(encoding="utf-8")
        for word in ("argparse", "print(", "sys.exit", "__main__", "sys.stdout"):
            assert word not in source, (module.name, word)


def test_every_bench_command_is_in_the_readme_and_the_benchmarks_doc() -> None:
    import click

    from cli import bench

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    doc = (root / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert isinstance(bench, click.Group)
    shown = [name for name, command in bench.commands.items() if not command.hidden]
    assert len(shown) == 14
    for name in shown:
        assert f"`bsb bench {name}" in readme, name
        assert f"bsb bench {name}" in doc, name
