"""Time and memory of making, writing and reading back a national sample.

Run as ``python -m benchmarks.national_sample_bench [--families N] [--warehouses W]
[--centroids FILE] [--seed S] [--out DIR]``; prints one markdown table. Making and writing run
in one process, reading back in a fresh one, so that each peak (``ru_maxrss``) is its own: the
reader's includes the land test's polygons, loaded once per process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from geodata.national_sample import NATIONAL_FAMILIES, NATIONAL_WAREHOUSES


def _peak_mb() -> float:
    # VmHWM belongs to this process image: ru_maxrss would carry the parent's peak over to the
    # reading child (Linux keeps it across fork and exec). Both are in KiB.
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _make_and_write(args: argparse.Namespace, folder: Path) -> dict[str, object]:
    from geodata.national_sample import make_national, write_national

    started = time.perf_counter()
    scenario = make_national(
        families=args.families,
        warehouses=args.warehouses,
        seed=args.seed,
        centroids=args.centroids,
    )
    make_s = time.perf_counter() - started
    make_mb = _peak_mb()
    started = time.perf_counter()
    write_national(scenario, folder)
    return {
        "scenario": scenario.name,
        "drop_points": len(scenario.drop_points),
        "warehouses": len(scenario.warehouses),
        "trucks": len(scenario.trucks),
        "make_s": make_s,
        "make_peak_mb": make_mb,
        "write_s": time.perf_counter() - started,
        "drop_points_csv_mb": (folder / "drop_points.csv").stat().st_size / 1e6,
    }


def _read(folder: Path) -> dict[str, object]:
    from geodata.scenario_io import read_scenario

    started = time.perf_counter()
    scenario = read_scenario(folder)
    return {
        "read_s": time.perf_counter() - started,
        "read_peak_mb": _peak_mb(),
        "read_points": len(scenario.drop_points),
    }


def main(argv: list[str] | None = None) -> None:
    """Measure and print; ``--read-only DIR`` is the child process that reads back."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", type=int, default=NATIONAL_FAMILIES)
    parser.add_argument("--warehouses", type=int, default=NATIONAL_WAREHOUSES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--centroids", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="keep the scenario here")
    parser.add_argument("--read-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.read_only is not None:
        print(json.dumps(_read(args.read_only)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.out if args.out is not None else Path(scratch) / "national"
        row = _make_and_write(args, folder)
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.national_sample_bench", "--read-only", str(folder)],
            check=True,
            capture_output=True,
            text=True,
        )
        row.update(json.loads(child.stdout.strip().splitlines()[-1]))
    print("| " + " | ".join(row) + " |")
    print("|" + "---|" * len(row))
    print(
        "| "
        + " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row.values())
        + " |"
    )


if __name__ == "__main__":
    main()
