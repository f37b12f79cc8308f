"""Resumable benchmark runner: routing strategies side by side at the same time limits.

Every task (family, instance, strategy, time limit, seed) runs as its own subprocess, ``bsb bench
solve`` for the VRP families and ``bsb plan`` for BSB scenarios; the runner re-checks what it
wrote and appends one row to ``<out>/results.csv`` as soon as the task ends. A rerun with the
same ``--out`` skips every task that already has a row (except rows with status ``error``).

Usage::

    bsb bench run --preset quick --out benchmarks/runs/quick
    bsb bench run --preset full --out benchmarks/runs/full --seeds 1,2
    bsb bench plan --preset quick                           # planned wall time, no runs

Families
--------
``solomon``    the 56 Solomon VRPTW files (``<root>/solomon/*.txt``), 100 customers.
``homberger``  Gehring-Homberger VRPTW (``<root>/homberger/*.txt``), 200 and 1000 customers.
``x``          CVRPLIB X (``<root>/cvrplib_x/*.vrp``), 100 to 1000 customers.
``random``     new 200-customer VRPTW instances, ``benchmarks.vrp.make_random_instance(200, k)``,
               written to ``<out>/instances/random/R200_<k>.txt`` (``k`` = 1, 2, ...; the
               instance seed is part of the name and independent of the solver seed).
``bsb``        BSB sample scenarios (``benchmarks.bsb_family``), planned with ``bsb plan``.

Time limits
-----------
By number of customers ``n``: ``n <= 100`` 10 s, ``n <= 200`` 20 s, ``n <= 400`` 30 s, larger 60 s.
The rule is a step function, so X instances between the listed sizes take the limit of the next
step up (X-n153: 20 s, X-n256: 30 s, X-n502: 60 s). BSB scenarios: 30 s up to 200 drop points,
120 s above (``benchmarks.bsb_family.time_limit_s``). ``--time-factor`` multiplies every limit.

Execution
---------
Single-core strategies run first, one subprocess per core (``jobs``, default ``os.cpu_count()``)
in a thread pool, longest limits first. Multi-core strategies (:data:`MULTI_CORE_STRATEGIES`,
i.e. ``portfolio``) run afterwards, one at a time with nothing beside them, so they have the whole
machine. Each subprocess has a hard timeout of its time limit + 60 s (BSB: + 120 s, because
``bsb plan`` also writes the papers); a killed run gives a row with status ``timeout``. Children
run in their own session, so a Ctrl-C in the terminal reaches only the runner, which stops
submitting, terminates the running children and writes nothing for them (a rerun redoes them).

Planned wall time
-----------------
:func:`planned_wall_s` is an upper bound for list scheduling: single-core work / cores + the
longest single-core task + the multi-core tasks one after another, each task counted as its
time limit + a fixed overhead (5 s per ``bench solve``; 10 s + 0.03 s per drop point for
``bsb plan``, which writes the plan folder with its papers). On 2 cores, the ``quick`` preset is
6 Solomon instances (one per class) x 5 single-core strategies x 15 s = 450 s, 2 random
instances x 2 strategies x 25 s = 100 s, 1 BSB scenario of 200 points x 3 strategies x 46 s =
138 s; (450 + 100 + 138) / 2 + 46 = 390 s; then portfolio alone: 6 x 15 + 2 x 25 = 140 s;
530 s in all, within the 15 minutes of the goal. ``full`` (56 Solomon, 12 Homberger, 10 X,
10 random with 8 strategies, 3 BSB scenarios) is planned at 2 h 46 min on 2 cores.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.metadata
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from benchmarks import bsb_family, vrp
from benchmarks.metrics import machine_description
from geodata.output_guard import KIND_NAMES, MANIFEST_NAME, read_manifest, write_manifest
from optimizer.errors import InputError, Problem

LOG = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
"""Repository root: the working directory of every subprocess (``python -m cli``)."""

FAMILIES = ("solomon", "homberger", "x", "random", "bsb")
MULTI_CORE_STRATEGIES = frozenset({"portfolio"})
"""Strategies that use every core: they run alone, after the single-core tasks."""

TIMEOUT_MARGIN_S = 60.0
"""Hard timeout of a ``bench solve`` run: its time limit plus this."""
BENCH_OVERHEAD_S = 5.0
"""Planned start-up, reading, writing and re-checking time of one ``bench solve`` task."""
POLL_S = 0.1

_FILE_FAMILIES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "solomon": ("solomon", "*.txt"),
        "homberger": ("homberger", "*.txt"),
        "x": ("cvrplib_x", "*.vrp"),
    }
)
_CONTRACT_FAMILY: Mapping[str, str] = MappingProxyType(
    {"solomon": "solomon", "homberger": "homberger", "x": "cvrplib_x", "random": "random"}
)
_RANDOM_NAME = re.compile(r"^R(\d+)_(\d+)$")
_HOMBERGER_NAME = re.compile(r"^[a-z]+\d_(\d+)_\d+$", re.IGNORECASE)
_X_NAME = re.compile(r"^X-n(\d+)-k\d+$")


def time_limit_for(customers: int) -> float:
    """Time limit in seconds of a VRP instance with ``customers`` customers (step rule)."""
    if customers <= 100:
        return 10.0
    if customers <= 200:
        return 20.0
    if customers <= 400:
        return 30.0
    return 60.0


def customers_from_name(family: str, instance: str) -> int:
    """Tell the number of customers (BSB: drop points) of an instance from its name alone.

    Raises
    ------
    ValueError
        If the name does not follow the family's naming scheme.
    """
    if family == "solomon":
        return 100
    if family == "homberger" and (m := _HOMBERGER_NAME.match(instance)):
        return 100 * int(m.group(1))
    if family == "x" and (m := _X_NAME.match(instance)):
        return int(m.group(1)) - 1
    if family == "random" and (m := _RANDOM_NAME.match(instance)):
        return int(m.group(1))
    if family == "bsb":
        return bsb_family.parse_name(instance).n_points
    raise ValueError(f"cannot tell the size of {family} instance {instance!r} from its name")


def format_limit(time_limit_s: float) -> str:
    """Time limit as written in keys, file names and the CSV (``10``, ``2.5``)."""
    return f"{time_limit_s:g}"


@dataclass(frozen=True, slots=True)
class TaskKey:
    """What identifies a task in ``results.csv``."""

    family: str
    instance: str
    strategy: str
    time_limit: str
    seed: int


@dataclass(frozen=True, slots=True)
class Task:
    """One run: an instance solved by a strategy at a time limit with a seed."""

    family: str
    instance_path: Path
    strategy: str
    time_limit_s: float
    seed: int

    @property
    def instance(self) -> str:
        """Instance name: the file stem (BSB: the scenario folder's name)."""
        return self.instance_path.stem if self.family != "bsb" else self.instance_path.name

    @property
    def key(self) -> TaskKey:
        """Stable identity, the same across reruns."""
        return TaskKey(
            self.family, self.instance, self.strategy, format_limit(self.time_limit_s), self.seed
        )

    @property
    def customers(self) -> int:
        """Customers (BSB: drop points), from the name."""
        return customers_from_name(self.family, self.instance)

    @property
    def multi_core(self) -> bool:
        """Whether the task uses every core and must run alone."""
        return self.strategy in MULTI_CORE_STRATEGIES

    @property
    def timeout_s(self) -> float:
        """Hard timeout of the subprocess."""
        margin = bsb_family.TIMEOUT_MARGIN_S if self.family == "bsb" else TIMEOUT_MARGIN_S
        return self.time_limit_s + margin

    def solution_path(self, out: Path) -> Path:
        """Where the solution goes (BSB: the plan folder)."""
        stem = f"{self.instance}_s{self.seed}_t{format_limit(self.time_limit_s)}"
        folder = out / "solutions" / self.family / self.strategy
        return folder / stem if self.family == "bsb" else folder / f"{stem}.sol"

    def trace_path(self, out: Path) -> Path:
        """Where the trace of improving solutions goes (next to the solution)."""
        solution = self.solution_path(out)
        return solution.with_name(solution.name.removesuffix(".sol") + ".trace.csv")

    def log_path(self, out: Path) -> Path:
        """Where the subprocess's stdout and stderr go."""
        solution = self.solution_path(out)
        return solution.with_name(solution.name.removesuffix(".sol") + ".log")


@dataclass(frozen=True, slots=True)
class FamilyPlan:
    """What a preset runs on one family; ``instances=None`` means every file of the family."""

    family: str
    strategies: tuple[str, ...]
    instances: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Preset:
    """A named set of families, instances and strategies."""

    name: str
    families: tuple[FamilyPlan, ...]

    def family(self, name: str) -> FamilyPlan | None:
        """Return the plan for family ``name``, if the preset has one."""
        return next((f for f in self.families if f.family == name), None)


FULL_STRATEGIES = (
    "ortools",
    "pyvrp",
    "portfolio",
    "pca-gls",
    "pci-gls",
    "savings-gls",
    "vroom",
    "vroom-x0",
)
BSB_STRATEGIES = ("savings-gls", "pca-gls", "pci-gls", "ortools", "pyvrp", "portfolio")
"""BSB strategies of the full preset; those ``bsb plan`` does not know are left out at run time."""

PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        "quick": Preset(
            "quick",
            (
                FamilyPlan(
                    "solomon",
                    ("ortools", "pyvrp", "pci-gls", "vroom", "vroom-x0", "portfolio"),
                    ("C101", "C201", "R101", "R201", "RC101", "RC201"),
                ),
                FamilyPlan("random", ("ortools", "pyvrp", "portfolio"), ("R200_1", "R200_2")),
                FamilyPlan(
                    "bsb", ("savings-gls", "ortools", "pyvrp", "portfolio"), ("synthetic-200",)
                ),
            ),
        ),
        "full": Preset(
            "full",
            (
                FamilyPlan("solomon", FULL_STRATEGIES),
                FamilyPlan("homberger", FULL_STRATEGIES),
                FamilyPlan("x", FULL_STRATEGIES),
                FamilyPlan("random", FULL_STRATEGIES, tuple(f"R200_{k}" for k in range(1, 11))),
                FamilyPlan(
                    "bsb", BSB_STRATEGIES, ("synthetic-200", "synthetic-1000", "bogor-1000")
                ),
            ),
        ),
    }
)


def planned_task_s(task: Task) -> float:
    """Planned wall time of one task: its time limit plus start-up and writing overhead."""
    if task.family == "bsb":
        return task.time_limit_s + bsb_family.planned_overhead_s(task.customers)
    return task.time_limit_s + BENCH_OVERHEAD_S


def planned_wall_s(tasks: Preset | Iterable[Task], *, cores: int = 2) -> float:
    """Upper bound on the wall time of running ``tasks`` on ``cores`` cores.

    Parameters
    ----------
    tasks
        Tasks, or a preset (expanded with seed 1, time factor 1 and every instance it names;
        presets without an instance list count the family's files as found on this machine).
    cores
        Worker processes for the single-core tasks.

    Returns
    -------
    float
        Seconds: single-core work / cores + the longest single-core task (list scheduling
        bound) + the multi-core tasks one after another.
    """
    if isinstance(tasks, Preset):
        tasks = build_tasks(tasks, Path("benchmarks/runs/planned"))
    task_list = list(tasks)
    single = [planned_task_s(t) for t in task_list if not t.multi_core]
    multi = [planned_task_s(t) for t in task_list if t.multi_core]
    return sum(single) / max(1, cores) + max(single, default=0.0) + sum(multi)


def _family_instances(
    family: str, plan: FamilyPlan, root: Path, out: Path, names: Sequence[str] | None
) -> list[Path]:
    if family in _FILE_FAMILIES:
        folder, pattern = _FILE_FAMILIES[family]
        wanted = names if names is not None else plan.instances
        if wanted is not None:
            ext = pattern.removeprefix("*")
            return [root / folder / f"{name}{ext}" for name in wanted]
        return sorted((root / folder).glob(pattern))
    chosen = names if names is not None else plan.instances or ()
    if family == "random":
        return [out / "instances" / "random" / f"{name}.txt" for name in chosen]
    return [out / "instances" / "bsb" / name for name in chosen]


def _belongs(family: str, name: str, root: Path) -> bool:
    if family in _FILE_FAMILIES:
        folder, pattern = _FILE_FAMILIES[family]
        return (root / folder / f"{name}{pattern.removeprefix('*')}").exists()
    try:
        customers_from_name(family, name)
    except ValueError:
        return False
    return True


def build_tasks(
    preset: Preset,
    out: Path,
    *,
    families: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    instances: Sequence[str] | None = None,
    instances_root: Path | None = None,
    seeds: Sequence[int] = (1,),
    time_factor: float = 1.0,
    bogor_geodata: Path | None = bsb_family.DEFAULT_GEODATA,
) -> list[Task]:
    """Expand a preset (with overrides) into tasks; nothing is written.

    Parameters
    ----------
    preset
        The preset.
    out
        Output folder (random instances and BSB scenarios live under ``out/instances``).
    families
        Families to run (default: the preset's, or every family when ``instances`` is given).
        A family the preset lacks takes its strategies from ``full``.
    strategies
        Strategies for every family instead of the preset's; on ``bsb`` only those ``bsb plan``
        accepts are kept.
    instances
        Instance names (file stems, ``R200_3``, ``synthetic-200``); each goes to the families
        it belongs to.
    instances_root
        Folder with ``solomon/``, ``homberger/``, ``cvrplib_x/`` and ``bks.csv``.
    seeds
        Solver seeds; every (instance, strategy) runs once per seed.
    time_factor
        Multiplies every time limit.
    bogor_geodata
        Folder with the Kabupaten Bogor village geodata; ``bogor-*`` scenarios are left out
        when it is ``None`` or lacks the centroids file.

    Returns
    -------
    list of Task
        In family, instance, strategy, seed order.
    """
    root = instances_root if instances_root is not None else vrp.DEFAULT_INSTANCES
    if families is not None:
        chosen = list(families)
    elif instances is not None:  # named instances: look for them in every family
        chosen = list(FAMILIES)
    else:
        chosen = [f.family for f in preset.families]
    for family in chosen:
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    tasks: list[Task] = []
    for family in chosen:
        plan = preset.family(family) or PRESETS["full"].family(family)
        assert plan is not None  # every family is in the full preset
        names = (
            [n for n in instances if _belongs(family, n, root)] if instances is not None else None
        )
        paths = _family_instances(family, plan, root, out, names)
        family_strategies = list(strategies) if strategies is not None else list(plan.strategies)
        if family == "bsb":
            family_strategies = bsb_family.known_strategies(family_strategies)
            paths = [p for p in paths if bsb_family.available(p.name, bogor_geodata)]
        for path in paths:
            for strategy in family_strategies:
                for seed in seeds:
                    probe = Task(family, path, strategy, 0.0, seed)
                    base = (
                        bsb_family.time_limit_s(probe.customers)
                        if family == "bsb"
                        else time_limit_for(probe.customers)
                    )
                    tasks.append(replace(probe, time_limit_s=base * time_factor))
    return tasks


def prepare_inputs(tasks: Iterable[Task], *, bogor_geodata: Path | None) -> None:
    """Write the random instances and BSB scenarios the tasks need and that are missing."""
    done: set[Path] = set()
    for task in tasks:
        path = task.instance_path
        if path in done:
            continue
        done.add(path)
        if task.family == "random" and not path.exists():
            match = _RANDOM_NAME.match(path.stem)
            if match is None:
                raise ValueError(f"random instance names are R<customers>_<seed>, not {path.stem}")
            instance = vrp.make_random_instance(
                int(match.group(1)), int(match.group(2)), name=path.stem
            )
            vrp.write_solomon(path, instance)  # atomic: no half instance under its name
        elif task.family == "bsb":
            bsb_family.ensure_scenario(path, bogor_geodata=bogor_geodata)


# --------------------------------------------------------------------------------------------
# Result rows


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One line of ``results.csv``. Distances are double precision; paths relative to ``out``.

    ``cost_convention`` is the rounding convention of the gap reference (``dimacs_trunc1``,
    ``euclid_nint``, ``euclid_double``; ``road_km`` for BSB) and ``cost_under_convention`` the
    solution's cost under it; ``gap_pct`` compares that cost with ``bks_distance`` and is filled
    only for feasible solutions. For BSB rows ``vehicles`` counts trips, ``distance`` is road km.
    """

    family: str
    instance: str
    customers: int
    strategy: str
    time_limit_s: float
    seed: int
    status: str
    feasible: bool | None
    violations: str
    vehicles: int | None
    bks_vehicles: int | None
    distance: float | None
    cost_convention: str
    cost_under_convention: float | None
    bks_distance: float | None
    gap_pct: float | None
    ratio_to_bound: float | None
    bound_km: float | None
    unassigned_kg: float | None
    served_share_by_deadline: str
    wall_s: float | None
    instance_file: str
    solution_file: str
    trace_file: str
    versions: str
    machine: str
    started_utc: str

    @property
    def key(self) -> TaskKey:
        """The task this row belongs to."""
        return TaskKey(
            self.family, self.instance, self.strategy, format_limit(self.time_limit_s), self.seed
        )


COLUMNS = tuple(f.name for f in fields(ResultRow))
_HINTS = typing.get_type_hints(ResultRow)


def _to_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def row_to_csv(row: ResultRow) -> list[str]:
    """Return the row's cells in :data:`COLUMNS` order (floats at full precision)."""
    cells = [_to_text(getattr(row, name)) for name in COLUMNS]
    cells[COLUMNS.index("time_limit_s")] = format_limit(row.time_limit_s)
    return cells


def _from_text(text: str, hint: object, column: str) -> object:
    # Hints are str, int, float or "X | None"; an empty cell is None for the optional ones.
    options = typing.get_args(hint) or (hint,)
    if text == "" and type(None) in options:
        return None
    base = next(t for t in options if t is not type(None))
    if base is bool:
        if text not in ("true", "false"):
            raise ValueError(f"column {column}: {text!r} is not true or false")
        return text == "true"
    if base is int:
        return int(text)
    if base is float:
        return float(text)
    return text


def row_from_csv(cells: Mapping[str, str]) -> ResultRow:
    """Parse one CSV record (a ``csv.DictReader`` row).

    Raises
    ------
    ValueError
        If a column is missing or a value does not parse.
    """
    values: dict[str, object] = {}
    for name in COLUMNS:
        if name not in cells or cells[name] is None:
            raise ValueError(f"results.csv has no column {name}")
        values[name] = _from_text(cells[name], _HINTS[name], name)
    return ResultRow(**values)  # type: ignore[arg-type]


RUN_LAYOUT = frozenset({"results.csv", "solutions", "instances", "plots", MANIFEST_NAME})
"""What a run folder holds at its top level; anything else there was not written by bsb."""


def check_run_folder(out: Path) -> None:
    """Check that ``out`` may hold a run (:func:`mark_run_folder` then marks a new one).

    A run is resumable, so a run folder bsb wrote is written into again without ``--force``:
    one whose manifest says ``bench-run``, or, for runs older than manifests, one without a
    manifest whose top level holds only entries of :data:`RUN_LAYOUT`. Either way every entry
    at its top level must be in :data:`RUN_LAYOUT` (no link) and its ``results.csv``, if any,
    must have the runner's header, so that no row is ever appended to someone else's table. A
    missing or empty folder becomes a new run folder. Anything else is refused: a file, a link,
    another kind of bsb output, a folder holding what the runner does not write.

    Parameters
    ----------
    out
        The run folder.

    Raises
    ------
    InputError
        Naming what was found and what to do. Nothing is written.
    """
    where = f"--out {out}"
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        what = "a symbolic link" if out.is_symlink() else "a file"
        raise InputError([Problem(where, f"is {what}, not a run folder; choose a new folder.")])
    if not out.exists():
        return
    manifest = read_manifest(out)
    if manifest is not None and manifest.kind != "bench-run":
        raise InputError(
            [
                Problem(
                    where,
                    f"holds {KIND_NAMES.get(manifest.kind, manifest.kind)} bsb wrote, not a "
                    "benchmark run. Nothing was changed: choose a new or empty folder.",
                )
            ]
        )
    foreign = sorted(
        entry.name + ("/" if entry.is_dir() else "")
        for entry in out.iterdir()
        if entry.name not in RUN_LAYOUT or entry.is_symlink()
    )
    results = out / "results.csv"
    if results.exists() and not _runner_results(results):
        foreign.append("results.csv (not the runner's columns)")
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise InputError(
            [
                Problem(
                    where,
                    f"holds what the benchmark runner did not write ({shown}). Nothing was "
                    "changed: choose a new or empty folder, or move those away.",
                )
            ]
        )


def mark_run_folder(out: Path) -> None:
    """Create ``out`` if missing and mark it as a run folder, unless it already is one.

    Parameters
    ----------
    out
        A folder :func:`check_run_folder` accepted.
    """
    out.mkdir(parents=True, exist_ok=True)
    if read_manifest(out) is None:
        write_manifest(out, "bench-run", track_files=False)


def _runner_results(csv_path: Path) -> bool:
    if csv_path.is_symlink() or not csv_path.is_file():
        return False
    with csv_path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    return tuple(header) == tuple(COLUMNS)


def read_rows(csv_path: Path) -> list[ResultRow]:
    """All rows of a ``results.csv`` in file order (empty when the file is missing)."""
    if not csv_path.exists():
        return []
    with csv_path.open(newline="", encoding="utf-8") as handle:
        return [row_from_csv(cells) for cells in csv.DictReader(handle)]


def latest_rows(rows: Iterable[ResultRow]) -> list[ResultRow]:
    """Keep the last row of every task key (a rerun of an ``error`` task supersedes it)."""
    latest: dict[TaskKey, ResultRow] = {}
    for row in rows:
        latest.pop(row.key, None)
        latest[row.key] = row
    return list(latest.values())


def append_row(csv_path: Path, row: ResultRow) -> None:
    """Append one row (the header first when the file is new) and flush it to disk."""
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    new = not csv_path.exists() or csv_path.stat().st_size == 0
    with csv_path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if new:
            writer.writerow(COLUMNS)
        writer.writerow(row_to_csv(row))
        handle.flush()
        os.fsync(handle.fileno())


# --------------------------------------------------------------------------------------------
# Running one task


def solver_versions() -> str:
    """Versions of the solvers, e.g. ``"ortools 9.15.6755; pyvrp 0.14.1; vroom 1.15.2"``."""
    parts = []
    for label, distribution in (("ortools", "ortools"), ("pyvrp", "pyvrp"), ("vroom", "pyvroom")):
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        parts.append(f"{label} {version}")
    return "; ".join(parts)


def solve_command(task: Task, solution: Path, trace: Path) -> list[str]:
    """Build the ``bsb bench solve`` command line of a VRP task."""
    return [
        sys.executable,
        "-m",
        "cli",
        "bench",
        "solve",
        str(task.instance_path),
        "-o",
        str(solution),
        "--strategy",
        task.strategy,
        "--time-limit",
        format_limit(task.time_limit_s),
        "--seed",
        str(task.seed),
        "--trace",
        str(trace),
    ]


def plan_command(task: Task, plan_dir: Path) -> list[str]:
    """Build the ``bsb plan`` command line of a BSB task (one worker unless multi-core)."""
    workers = (os.cpu_count() or 1) if task.multi_core else 1
    return [
        sys.executable,
        "-m",
        "cli",
        "plan",
        str(task.instance_path),
        "-o",
        str(plan_dir),
        "--strategy",
        task.strategy,
        "--time-limit",
        format_limit(task.time_limit_s),
        "--seed",
        str(task.seed),
        "--workers",
        str(workers),
    ]


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    """How a subprocess ended. ``returncode`` is ``None`` when it was killed."""

    returncode: int | None
    timed_out: bool
    stopped: bool
    wall_s: float


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    # The child leads its own session (start_new_session), so its process group holds it and
    # any workers it started; nothing else is in that group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def run_process(
    argv: Sequence[str], *, timeout_s: float, stop: threading.Event, log_path: Path
) -> ProcessOutcome:
    """Run ``argv`` in the repository root, killing it at ``timeout_s`` or when ``stop`` is set.

    Parameters
    ----------
    argv
        Command line.
    timeout_s
        Hard limit on its wall time.
    stop
        When set, the process is terminated (then killed after 5 s).
    log_path
        File that receives its stdout and stderr.

    Returns
    -------
    ProcessOutcome
        Exit code, whether it timed out or was stopped, and the wall time around it.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            list(argv),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = stopped = False
        try:
            while True:
                try:
                    proc.wait(timeout=POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if stop.is_set():
                    stopped = True
                    _kill_group(proc, signal.SIGTERM)
                    try:
                        proc.wait(timeout=5.0)
                    except subprocess.TimeoutExpired:
                        _kill_group(proc, signal.SIGKILL)
                        proc.wait()
                    break
                if time.monotonic() - started > timeout_s:
                    timed_out = True
                    _kill_group(proc, signal.SIGKILL)
                    proc.wait()
                    break
        finally:
            if proc.poll() is None:
                _kill_group(proc, signal.SIGKILL)
                proc.wait()
        wall_s = time.monotonic() - started
    returncode = None if (timed_out or stopped) else proc.returncode
    return ProcessOutcome(returncode, timed_out, stopped, wall_s)


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every row of one run shares."""

    out: Path
    versions: str
    machine: str
    bks: dict[tuple[str, str], vrp.Bks]


def _relative(path: Path, out: Path) -> str:
    try:
        return str(path.resolve().relative_to(out.resolve()))
    except ValueError:
        return str(path.resolve())


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def _blank_row(task: Task, ctx: RunContext, started_utc: str) -> ResultRow:
    return ResultRow(
        family=task.family,
        instance=task.instance,
        customers=task.customers,
        strategy=task.strategy,
        time_limit_s=task.time_limit_s,
        seed=task.seed,
        status="error",
        feasible=None,
        violations="",
        vehicles=None,
        bks_vehicles=None,
        distance=None,
        cost_convention="",
        cost_under_convention=None,
        bks_distance=None,
        gap_pct=None,
        ratio_to_bound=None,
        bound_km=None,
        unassigned_kg=None,
        served_share_by_deadline="",
        wall_s=None,
        instance_file=_relative(task.instance_path, ctx.out),
        solution_file="",
        trace_file="",
        versions=ctx.versions,
        machine=ctx.machine,
        started_utc=started_utc,
    )


@dataclass(frozen=True, slots=True)
class VrpEvaluation:
    """A VRP solution re-checked and measured; the numbers of a row."""

    feasible: bool
    violations: str
    vehicles: int
    distance: float
    cost_convention: str
    cost_under_convention: float
    bks_vehicles: int | None
    bks_distance: float | None
    gap_pct: float | None


def evaluate_vrp_solution(
    instance: vrp.VrpInstance, routes: Sequence[Sequence[int]], ref: vrp.Bks | None
) -> VrpEvaluation:
    """Re-check routes in double precision and compute their gap against ``ref`` (if any).

    The gap is given only for feasible solutions.
    """
    check = vrp.check_solution(instance, routes, convention="euclid_double")
    convention = ref.arc_convention if ref is not None else "euclid_double"
    cost = vrp.route_cost(instance, routes, convention)
    return VrpEvaluation(
        feasible=check.feasible,
        violations=check.violations[0] if check.violations else "",
        vehicles=check.vehicles,
        distance=check.distance,
        cost_convention=convention,
        cost_under_convention=cost,
        bks_vehicles=ref.vehicles if ref is not None else None,
        bks_distance=ref.distance if ref is not None else None,
        gap_pct=vrp.gap_percent(instance, routes, ref)
        if ref is not None and check.feasible
        else None,
    )


def _run_vrp(task: Task, ctx: RunContext, stop: threading.Event) -> ResultRow | None:
    started_utc = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    solution, trace, log = (
        task.solution_path(ctx.out),
        task.trace_path(ctx.out),
        task.log_path(ctx.out),
    )
    solution.parent.mkdir(parents=True, exist_ok=True)
    # A stale file from an interrupted or failed attempt must not pass for this run's output.
    for stale in (solution, trace):
        stale.unlink(missing_ok=True)
    outcome = run_process(
        solve_command(task, solution, trace), timeout_s=task.timeout_s, stop=stop, log_path=log
    )
    if outcome.stopped or stop.is_set():
        return None
    row = _blank_row(task, ctx, started_utc)
    row = replace(
        row,
        wall_s=outcome.wall_s,
        solution_file=_relative(solution, ctx.out) if solution.exists() else "",
        trace_file=_relative(trace, ctx.out) if trace.exists() else "",
    )
    if outcome.timed_out:
        return replace(row, status="timeout", violations=f"killed after {outcome.wall_s:.0f} s")
    if outcome.returncode == 1 and not solution.exists():
        return replace(row, status="no_solution")
    if outcome.returncode != 0 or not solution.exists():
        message = _last_line(log) or f"exit code {outcome.returncode}, no solution file"
        return replace(row, status="error", violations=message)
    instance = vrp.read_instance(task.instance_path)
    routes, _ = vrp.read_solution(solution)
    ref = (
        vrp.gap_reference(instance.name, _CONTRACT_FAMILY[task.family], ctx.bks)
        if task.family != "random"
        else None
    )
    ev = evaluate_vrp_solution(instance, routes, ref)
    return replace(
        row,
        customers=instance.n_customers,
        status="ok" if ev.feasible else "infeasible",
        feasible=ev.feasible,
        violations=ev.violations,
        vehicles=ev.vehicles,
        bks_vehicles=ev.bks_vehicles,
        distance=ev.distance,
        cost_convention=ev.cost_convention,
        cost_under_convention=ev.cost_under_convention,
        bks_distance=ev.bks_distance,
        gap_pct=ev.gap_pct,
    )


def _run_bsb(task: Task, ctx: RunContext, stop: threading.Event) -> ResultRow | None:
    started_utc = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan_dir, log = task.solution_path(ctx.out), task.log_path(ctx.out)
    plan_dir.parent.mkdir(parents=True, exist_ok=True)
    if plan_dir.exists():
        shutil.rmtree(plan_dir)
    outcome = run_process(
        plan_command(task, plan_dir), timeout_s=task.timeout_s, stop=stop, log_path=log
    )
    if outcome.stopped or stop.is_set():
        return None
    plan_json = plan_dir / "plan.json"
    row = replace(
        _blank_row(task, ctx, started_utc),
        wall_s=outcome.wall_s,
        solution_file=_relative(plan_json, ctx.out) if plan_json.exists() else "",
        cost_convention=bsb_family.COST_CONVENTION,
    )
    if outcome.timed_out:
        return replace(row, status="timeout", violations=f"killed after {outcome.wall_s:.0f} s")
    if outcome.returncode != 0 or not plan_json.exists():
        message = _last_line(log) or f"exit code {outcome.returncode}, no plan.json"
        return replace(row, status="error", violations=message)
    ev = bsb_family.evaluate_plan(task.instance_path, plan_json)
    return replace(
        row,
        status="ok" if ev.feasible else "infeasible",
        feasible=ev.feasible,
        violations=ev.violations,
        vehicles=ev.trips,
        distance=ev.distance_km,
        cost_under_convention=ev.distance_km,
        ratio_to_bound=ev.ratio_to_bound,
        bound_km=ev.bound_km,
        unassigned_kg=ev.unassigned_kg,
        served_share_by_deadline=ev.served_share_by_deadline,
    )


def execute(task: Task, ctx: RunContext, stop: threading.Event) -> ResultRow | None:
    """Run one task and re-check its output; ``None`` when it was stopped (nothing to record)."""
    if stop.is_set():
        return None
    try:
        if task.family == "bsb":
            return _run_bsb(task, ctx, stop)
        return _run_vrp(task, ctx, stop)
    except Exception as exc:  # a broken file or a bug must cost one row, not the whole run
        LOG.debug("task %s failed", task.key, exc_info=True)
        started_utc = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return replace(
            _blank_row(task, ctx, started_utc),
            violations=f"{type(exc).__name__}: {exc}"[:300],
        )


# --------------------------------------------------------------------------------------------
# The run


def format_duration(seconds: float) -> str:
    """Return ``seconds`` as ``H:MM:SS``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


@dataclass
class _Progress:
    """Counts finished tasks and estimates what is left (only the main thread touches it)."""

    total: int
    jobs: int
    report: Callable[[str], None]
    remaining: list[Task]
    done: int = 0

    def finished(self, task: Task, row: ResultRow) -> None:
        self.done += 1
        if task in self.remaining:
            self.remaining.remove(task)
        eta = planned_wall_s(self.remaining, cores=self.jobs) if self.remaining else 0.0
        detail = f"{row.status}"
        if row.distance is not None:
            detail += f", distance {row.distance:.2f}"
        if row.gap_pct is not None:
            detail += f", gap {row.gap_pct:.2f} %"
        if row.ratio_to_bound is not None:
            detail += f", ratio to bound {row.ratio_to_bound:.3f}"
        wall = f"{row.wall_s:.1f} s" if row.wall_s is not None else "-"
        self.report(
            f"[{self.done}/{self.total}] {task.family} {task.instance} {task.strategy} "
            f"t={format_limit(task.time_limit_s)} seed={task.seed}: {detail} ({wall}); "
            f"ETA {format_duration(eta)}"
        )


def _run_pool(
    tasks: Sequence[Task],
    workers: int,
    ctx: RunContext,
    csv_path: Path,
    stop: threading.Event,
    progress: _Progress,
) -> None:
    if not tasks:
        return
    written: set[Future[ResultRow | None]] = set()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench") as pool:
        futures = {pool.submit(execute, task, ctx, stop): task for task in tasks}
        try:
            for future in as_completed(futures):
                written.add(future)
                row = future.result()
                if row is not None:
                    append_row(csv_path, row)
                    progress.finished(futures[future], row)
                if stop.is_set():
                    break
        except BaseException:
            stop.set()
            raise
        finally:
            if stop.is_set():
                for future in futures:
                    future.cancel()
                # Leaving the with-block waits for the running tasks, which see ``stop`` and
                # terminate their children; rows of tasks that ended normally before are kept.
                pool.shutdown(wait=True)
                for future, task in futures.items():
                    if future in written or future.cancelled() or not future.done():
                        continue
                    if future.exception() is None and (row := future.result()) is not None:
                        append_row(csv_path, row)
                        progress.finished(task, row)


def run(
    preset: str,
    out: Path,
    *,
    families: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    instances: Sequence[str] | None = None,
    instances_root: Path | None = None,
    seeds: Sequence[int] = (1,),
    time_factor: float = 1.0,
    jobs: int | None = None,
    stop: threading.Event | None = None,
    bogor_geodata: Path | None = bsb_family.DEFAULT_GEODATA,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Run a preset's tasks that ``out/results.csv`` does not hold yet.

    Parameters
    ----------
    preset
        ``"quick"`` or ``"full"``.
    out
        Output folder: ``results.csv``, ``solutions/``, ``instances/`` (random, BSB).
    families, strategies, instances, instances_root, seeds, time_factor, bogor_geodata
        As for :func:`build_tasks`.
    jobs
        Subprocesses at once for single-core strategies (default: every core).
    stop
        Set it (e.g. from a signal handler) to stop: no new task starts, running children are
        terminated and leave no row; the function then returns.
    progress
        Receives one line per finished task (done/total, result, ETA); default: this module's
        logger at INFO level.

    Returns
    -------
    Path
        The CSV file.

    Raises
    ------
    KeyError
        If the preset is unknown.
    InputError
        If ``out`` is not a run folder the runner may write (see :func:`check_run_folder`).
    KeyboardInterrupt
        Re-raised after the children are terminated and the CSV is consistent.
    """
    chosen = PRESETS[preset]
    check_run_folder(out)
    given, out = out, out.resolve()
    stop = stop if stop is not None else threading.Event()
    jobs = jobs or os.cpu_count() or 1
    report = progress if progress is not None else LOG.info
    csv_path = out / "results.csv"
    tasks = build_tasks(
        chosen,
        out,
        families=families,
        strategies=strategies,
        instances=instances,
        instances_root=instances_root,
        seeds=seeds,
        time_factor=time_factor,
        bogor_geodata=bogor_geodata,
    )
    mark_run_folder(given)
    finished = {row.key for row in read_rows(csv_path) if row.status != "error"}
    todo = [t for t in tasks if t.key not in finished]
    planned = format_duration(planned_wall_s(todo, cores=jobs))
    report(
        f"{preset}: {len(tasks)} tasks, {len(tasks) - len(todo)} already in {csv_path}, "
        f"{len(todo)} to run on {jobs} cores, planned {planned}"
    )
    if not todo:
        return csv_path
    prepare_inputs(todo, bogor_geodata=bogor_geodata)
    root = instances_root if instances_root is not None else vrp.DEFAULT_INSTANCES
    needs_bks = any(t.family in _FILE_FAMILIES for t in todo)
    ctx = RunContext(
        out=out,
        versions=solver_versions(),
        machine=machine_description(),
        bks=vrp.load_bks(root / "bks.csv") if needs_bks else {},
    )
    # Longest first: fewer idle cores at the end of the single-core phase.
    single = sorted((t for t in todo if not t.multi_core), key=planned_task_s, reverse=True)
    multi = [t for t in todo if t.multi_core]
    tracker = _Progress(len(todo), jobs, report, list(todo))
    _run_pool(single, jobs, ctx, csv_path, stop, tracker)
    for task in multi:  # alone on the machine, one after another
        if stop.is_set():
            break
        _run_pool([task], 1, ctx, csv_path, stop, tracker)
    return csv_path
