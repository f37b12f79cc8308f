"""The import layers: ``documents`` above ``geodata`` above ``optimizer``, never the reverse."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imported_packages(package: str) -> dict[str, set[str]]:
    """Top-level package of every import (at module level or inside functions), per file."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "above"),
    [
        ("optimizer", {"geodata", "documents", "service", "benchmarks", "cli"}),
        ("geodata", {"documents", "service", "benchmarks", "cli"}),
        ("documents", {"service", "benchmarks", "cli"}),
    ],
)
def test_no_import_runs_back_up(package: str, above: set[str]) -> None:
    upward = {
        file: sorted(names & above)
        for file, names in _imported_packages(package).items()
        if names & above
    }
    assert upward == {}


def test_documents_are_not_in_geodata() -> None:
    for name in ("papers.py", "trip_sheets.py", "summary.py", "plan_files.py", "pipeline.py"):
        assert not (ROOT / "geodata" / name).exists(), name
        assert (ROOT / "documents" / name).is_file(), name
