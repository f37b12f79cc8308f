"""Time and memory of making, writing and reading back a national sample.

:func:`measure_national_sample` makes a scenario with
:func:`geodata.national_sample.make_national`, writes it with ``write_national`` and reads it
back with :func:`geodata.scenario_io.read_scenario` in a fresh Python process, so that each
peak memory is its own (the reader's includes the land test's polygons, loaded once per
process). Like the other benchmark modules it returns a row and prints nothing: call
``measure_national_sample(centroids=Path("../shared/geodata/national/kec_centroids.csv"))``
from a Python shell in the repository.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from geodata.national_sample import NATIONAL_FAMILIES, NATIONAL_WAREHOUSES

_READ_CHILD = (
    "import sys; from benchmarks.national_sample import _read_into; "
    "_read_into(sys.argv[1], sys.argv[2])"
)


@dataclass(frozen=True, slots=True)
class NationalSampleRow:
    """What one national sample took to make, write and read back."""

    scenario: str
    drop_points: int
    warehouses: int
    trucks: int
    make_s: float
    make_peak_mb: float
    write_s: float
    drop_points_csv_mb: float
    read_s: float
    read_peak_mb: float


def measure_national_sample(
    *,
    families: int = NATIONAL_FAMILIES,
    warehouses: int = NATIONAL_WAREHOUSES,
    seed: int = 1,
    centroids: Path | None = None,
    out: Path | None = None,
) -> NationalSampleRow:
    """Make, write and read back a national sample; return the seconds and peaks.

    Parameters
    ----------
    families, warehouses, seed, centroids
        As for :func:`geodata.national_sample.make_national`.
    out
        Keep the scenario folder here (a new folder); a temporary folder when None.

    Returns
    -------
    NationalSampleRow
        Making and writing are measured in this process, reading in a child process.
    """
    from geodata.national_sample import make_national, write_national

    with tempfile.TemporaryDirectory() as scratch:
        folder = out if out is not None else Path(scratch) / "national"
        started = time.perf_counter()
        scenario = make_national(
            families=families, warehouses=warehouses, seed=seed, centroids=centroids
        )
        make_s = time.perf_counter() - started
        make_peak_mb = _peak_mb()
        started = time.perf_counter()
        write_national(scenario, folder)
        write_s = time.perf_counter() - started
        result = Path(scratch) / "read.json"
        subprocess.run(
            [sys.executable, "-c", _READ_CHILD, str(folder), str(result)],
            check=True,
            capture_output=True,
        )
        read = json.loads(result.read_text(encoding="utf-8"))
        return NationalSampleRow(
            scenario=scenario.name,
            drop_points=len(scenario.drop_points),
            warehouses=len(scenario.warehouses),
            trucks=len(scenario.trucks),
            make_s=make_s,
            make_peak_mb=make_peak_mb,
            write_s=write_s,
            drop_points_csv_mb=(folder / "drop_points.csv").stat().st_size / 1e6,
            read_s=float(read["read_s"]),
            read_peak_mb=float(read["read_peak_mb"]),
        )


def _read_into(folder: str, result: str) -> None:
    """In the child process: read the scenario back and write seconds and peak to ``result``."""
    from geodata.scenario_io import read_scenario

    started = time.perf_counter()
    read_scenario(Path(folder))
    seconds = time.perf_counter() - started
    Path(result).write_text(
        json.dumps({"read_s": seconds, "read_peak_mb": _peak_mb()}), encoding="utf-8"
    )


def _peak_mb() -> float:
    # VmHWM belongs to this process image: ru_maxrss would carry the parent's peak over to the
    # reading child (Linux keeps it across fork and exec). Both are in KiB.
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
