"""The code stays clean under the project's own ruff and mypy settings."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


def test_ruff_check_is_clean() -> None:
    result = subprocess.run(
        [_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = subprocess.run(
        [_tool("ruff"), "format", "--check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_optimizer_imports_no_presentation_libraries() -> None:
    code = (
        "import sys, optimizer.planner, optimizer.checker, optimizer.solution;"
        "bad = {'geopandas', 'folium', 'click'} & set(sys.modules);"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_slow_tests_are_marked_and_still_run_by_default_and_in_ci() -> None:
    """`slow` only lets people leave tests out by hand; CI runs the README's `pytest -q`."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pytest_config = pyproject["tool"]["pytest"]["ini_options"]
    assert any(marker.startswith("slow:") for marker in pytest_config["markers"])
    assert "slow" not in pytest_config["addopts"]  # nothing deselects them by default
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ci.rstrip().endswith("&& pytest -q")
    assert "pip install -e '.[test]' && pytest -q\n" in readme
    marked = [
        path.name
        for path in (ROOT / "tests").glob("test_*.py")
        if "@pytest.mark.slow" in path.read_text(encoding="utf-8")
    ]
    assert {"test_cli.py", "test_service_load.py"} <= set(marked)


def test_only_cli_parses_arguments_prints_or_exits() -> None:
    # The packages below cli.py are libraries: no argument parser, no program entry, no exit,
    # no print (the service's job process is a hidden bsb command, `bsb job-worker`).
    found = []
    for package in ("optimizer", "geodata", "service", "benchmarks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for needle in ("import argparse", '__name__ == "__main__"', "sys.exit(", "print("):
                if needle in text:
                    found.append(f"{path.relative_to(ROOT)}: {needle}")
    assert found == []
