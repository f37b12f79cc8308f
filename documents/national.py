"""A national plan, warehouse by warehouse, on any executor, resumable.

:func:`run_national` assigns drop points to warehouses by min-cost flow
(:func:`optimizer.flow_assign.assign_by_flow`), cuts the work into pieces
(:func:`optimizer.pieces.make_pieces`), runs them longest first on an executor (in this
process, a local process pool, or a Dask cluster) and writes the run folder as results stream
back::

    OUT/
      .bsb-output.json          marks the folder as a national plan bsb writes (files: null)
      run.json                  scenario sha256, options and the pieces; written first
      assignment.csv            drop_point, warehouse, families, reason (warehouse empty: unmet)
      pieces/{piece}.json       a finished piece: its plan.json, seconds, peak_rss_mb, status,
                                check violations (temp file + os.replace)
      warehouses/{wh}/          a complete plan folder of the warehouse, written by a worker
                                when its last piece is done
      plan.json, summary/, map.html   the national index (documents.national_index)

Workers read and write ``OUT`` themselves, so it must be on a filesystem every worker sees
(a local disk for the process pool; a shared disk, e.g. NFS, for a cluster). The parent holds
the scenario, the pieces and one small summary per warehouse, never a plan: each piece's plan
goes from its worker to ``pieces/``, and a warehouse's plan is merged and written by a worker.

An interrupted run (Ctrl-C, a killed parent) keeps every finished piece and warehouse;
``resume=True`` redoes only what is missing, and refuses a folder made for another scenario or
other options. A piece whose search was stopped is not written, so a resumed run plans it
again with its full time.

The module prints nothing and never exits.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import resource
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from geodata.files import unique_stems, write_atomic
from optimizer.errors import InputError, Problem
from optimizer.executors import Executor, worker_stop
from optimizer.model import Scenario
from optimizer.pieces import (
    DEFAULT_MAX_PIECE_POINTS,
    Piece,
    make_pieces,
    merge_plans,
    piece_scenario,
    piece_time_limit_s,
    warehouse_scenario,
)
from optimizer.planner import PlannerOptions, plan_scenario
from optimizer.solution import PlanStatus, plan_from_dict, plan_to_dict

if TYPE_CHECKING:
    from documents.national_index import WarehouseSummary
    from documents.pipeline import SolverOverrides
    from optimizer.flow_assign import Assignment

LOG = logging.getLogger(__name__)

RUN_FORMAT_VERSION: Final = 1
NATIONAL_KIND: Final = "national"
"""The manifest kind of a national plan folder (``geodata.output_guard.KIND_NAMES``)."""
PIECES_FOLDER: Final = "pieces"
WAREHOUSES_FOLDER: Final = "warehouses"
ASSIGNMENT_COLUMNS: Final = ("drop_point", "warehouse", "families", "reason")
WAIT_S: Final = 1.0
"""How often the parent looks at the stop flag while pieces run."""
QUIET_S: Final = 30.0
"""Progress is told at least this often, even when no piece finishes."""


@dataclass(frozen=True, slots=True)
class NationalProgress:
    """What :func:`run_national` tells its ``progress`` callback after each result.

    Attributes
    ----------
    pieces_done, pieces_total
        Pieces finished (in this run or an earlier one) and in all.
    warehouses_done, warehouses_total
        Warehouse folders written, and in all.
    elapsed_s
        Seconds since this run started.
    projected_left_s
        Seconds to the projected finish, from the work (deliveries) done per second in this
        run; ``None`` before the first piece of this run ends.
    message
        What just happened.
    """

    pieces_done: int
    pieces_total: int
    warehouses_done: int
    warehouses_total: int
    elapsed_s: float
    projected_left_s: float | None
    message: str


NationalProgressCallback = Callable[[NationalProgress], None]


@dataclass(frozen=True, slots=True)
class PieceOutcome:
    """A finished piece, as its worker reports it (small: no plan).

    ``status`` is ``complete``, ``interrupted`` (stopped: not written, redone on resume) or
    ``failed`` (the checker rejected the plan: not written). ``peak_rss_mb`` is the worker
    process's peak resident memory so far (``getrusage``).
    """

    piece: str
    warehouse: str
    status: str
    seconds: float
    peak_rss_mb: float
    violations: tuple[str, ...]
    distance_km: float
    routes: int
    reused: bool = False
    """The piece file was there already (a retried task whose first try had written it)."""


@dataclass(frozen=True, slots=True)
class WarehouseOutcome:
    """A warehouse folder written (or found complete) by a worker."""

    warehouse: str
    folder: str
    violations: tuple[str, ...]
    summary: WarehouseSummary
    seconds: float
    """Merging, checking and writing the folder (reading it back, for a complete one)."""


@dataclass(frozen=True)
class NationalResult:
    """What one call of :func:`run_national` did.

    Attributes
    ----------
    out
        The run folder.
    pieces
        Every piece of the run, longest first.
    outcomes
        The pieces finished in this call, in the order they finished.
    reused_pieces
        Pieces found finished in the folder (resume), not planned again.
    warehouses
        Warehouse folders written or found complete.
    failures
        What went wrong (piece or warehouse id: message); empty on success.
    stopped
        Whether the stop flag ended the run early.
    index_files
        The national index's files, written when every warehouse is done.
    seconds
        Wall time of the call.
    unmet_families
        Families no warehouse could serve (reason ``stock``).
    warehouse_seconds
        Seconds of each warehouse task of this call (merge, check, write), in finishing order.
    assignment_s
        Seconds of the min-cost-flow assignment.
    """

    out: Path
    pieces: tuple[Piece, ...]
    outcomes: tuple[PieceOutcome, ...]
    reused_pieces: tuple[str, ...]
    warehouses: tuple[str, ...]
    failures: tuple[str, ...]
    stopped: bool
    index_files: tuple[Path, ...]
    seconds: float
    unmet_families: int
    warehouse_seconds: tuple[float, ...] = ()
    assignment_s: float = 0.0

    @property
    def finished(self) -> bool:
        """Whether every piece and warehouse is done and the index written."""
        return not self.failures and not self.stopped and bool(self.index_files)


def scenario_sha256(scenario: Scenario) -> str:
    """SHA-256 of everything in a scenario, to recognise it on resume.

    Made of each field's canonical text: sets sorted, so that the same scenario read in another
    process (another string hash seed) gives the same digest.
    """
    digest = hashlib.sha256()
    for item in fields(scenario):
        value = getattr(scenario, item.name)
        if isinstance(value, tuple):
            digest.update(f"{item.name}:{len(value)}\n".encode())
            for element in value:
                digest.update(_canonical(element).encode())
        else:
            digest.update(f"{item.name}={_canonical(value)}\n".encode())
    return digest.hexdigest()


def _canonical(value: Any) -> str:
    if is_dataclass(value) and not isinstance(value, type):
        inner = ", ".join(f"{f.name}={_canonical(getattr(value, f.name))}" for f in fields(value))
        return f"{type(value).__name__}({inner})"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(_canonical(v) for v in value)) + "}"
    if isinstance(value, dict):
        items = sorted(f"{_canonical(k)}: {_canonical(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_canonical(v) for v in value) + ")"
    return repr(value)


def run_national(
    source: Path | Scenario,
    out: Path,
    *,
    executor: Executor,
    max_piece_points: int = DEFAULT_MAX_PIECE_POINTS,
    time_limit_s: float | None = None,
    resume: bool = False,
    language: str = "id",
    overrides: SolverOverrides | None = None,
    config: Path | None = None,
    protected: Sequence[Path] = (),
    progress: NationalProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> NationalResult:
    """Plan a national scenario warehouse by warehouse into the run folder ``out``.

    Parameters
    ----------
    source
        A scenario folder, or a ``Scenario`` built in code. Straight-line travel only.
    out
        The run folder: new or empty, or (``resume``) one an earlier run of the same
        scenario and options wrote. On a filesystem every worker sees.
    executor
        Where pieces run (entered by the caller): ``InProcess``, ``SpawnPool`` or
        ``optimizer.dask_executor.DaskExecutor``. Its stop flag should be ``stop``.
    max_piece_points
        A warehouse with more drop points is split into sectors.
    time_limit_s
        Search seconds of every piece; by default the scenario's limit scaled by the piece's
        share of points, between 10 s and the scenario's limit.
    resume
        Continue the run in ``out``: finished pieces and warehouses are kept.
    language
        ``"id"`` or ``"en"`` for the warehouse folders and the index.
    overrides
        Solver settings that replace the scenario's (seed, strategy, solution limit).
    config
        TOML file whose sections override ``scenario.toml`` (reading a folder only).
    protected
        Input folders (the scenario) that ``out`` must not be, hold or lie in.
    progress
        Told after each finished piece or warehouse (and every few seconds while waiting).
    stop
        Set it to stop: no new piece starts, running ones stop and are not kept, finished
        ones are.

    Returns
    -------
    NationalResult
        What was done; :attr:`NationalResult.finished` when the whole plan is there.

    Raises
    ------
    InputError
        Bad scenario, a travel source other than the straight line, a refused ``out``, or a
        ``resume`` into a folder of another scenario or other options. Nothing is written.
    """
    started = time.monotonic()
    reusing = _check_out(out, resume, protected)
    scenario = _read(source, config)
    if overrides is not None:
        scenario = overrides.apply(scenario)
    if scenario.travel.source != "straight":
        raise InputError(
            [
                Problem(
                    "scenario.toml",
                    "a national plan (--by-warehouse) runs on the straight line only; plan "
                    "each warehouse on roads with bsb plan",
                    field="travel.source",
                )
            ]
        )
    assignment = _assign(scenario)
    pieces = make_pieces(scenario, assignment.shares, max_piece_points=max_piece_points)
    _check_stock(scenario, pieces)
    run = _run_record(scenario, pieces, max_piece_points, time_limit_s, language)
    if reusing:
        _compare_run(out, run)
        _remove_stale_piece_files(out / PIECES_FOLDER)
    else:
        _start_folder(out, run, assignment)
    return _Run(
        scenario=scenario,
        out=out,
        pieces=pieces,
        executor=executor,
        time_limit_s=time_limit_s,
        language=language,
        progress=progress,
        stop=stop,
        started=started,
        assignment=assignment,
    ).execute()


def _read(source: Path | Scenario, config: Path | None) -> Scenario:
    if isinstance(source, Scenario):
        return source
    from geodata.scenario_io import validate_scenario

    return validate_scenario(Path(source), config=config)


def _assign(scenario: Scenario) -> Assignment:
    from optimizer.flow_assign import assign_by_flow

    assignment = assign_by_flow(scenario)
    LOG.info(
        "assigned %d shares to warehouses by min-cost flow in %.1f s (%d families unmet)",
        len(assignment.shares),
        assignment.seconds,
        sum(u.families for u in assignment.unmet),
    )
    return assignment


def _check_stock(scenario: Scenario, pieces: Sequence[Piece]) -> None:
    """Raise if the pieces give a warehouse more than its stock (a bug of the assignment)."""
    given: dict[str, float] = defaultdict(float)
    for piece in pieces:
        given[piece.warehouse] += piece.stock_kg
    for wh_id, kg in given.items():
        if kg > scenario.warehouse(wh_id).stock_kg + 1e-6:
            raise RuntimeError(f"assignment gives warehouse {wh_id} {kg} kg over its stock")


def _check_out(out: Path, resume: bool, protected: Sequence[Path]) -> bool:
    """Refuse a folder bsb may not write; return whether an earlier run is to be continued."""
    from geodata.output_guard import output_folder_problem, read_manifest

    # "force" only lets an earlier national run folder through to the resume rule below;
    # every other rule (the scenario folder, a file, what bsb did not write) holds.
    problem = output_folder_problem(out, kind=NATIONAL_KIND, force=True, protected=protected)
    if problem is not None:
        raise InputError([problem])
    manifest = read_manifest(out) if out.is_dir() else None
    if manifest is None:
        return False
    if not resume:
        raise InputError(
            [
                Problem(
                    f"-o {out}",
                    "holds a national plan bsb wrote earlier. Nothing was changed: add "
                    "--resume to finish it, or choose a new folder.",
                )
            ]
        )
    return (out / "run.json").is_file()


def _run_record(
    scenario: Scenario,
    pieces: Sequence[Piece],
    max_piece_points: int,
    time_limit_s: float | None,
    language: str,
) -> dict[str, Any]:
    return {
        "bsb_national_run": RUN_FORMAT_VERSION,
        "scenario": scenario.name,
        "scenario_sha256": scenario_sha256(scenario),
        "options": {
            "max_piece_points": max_piece_points,
            "time_limit_s": time_limit_s,
            "language": language,
        },
        "pieces": [piece.to_dict() for piece in pieces],
    }


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _compare_run(out: Path, run: dict[str, Any]) -> None:
    try:
        previous = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError([Problem(f"{out}/run.json", f"cannot be read: {error}")]) from error
    differences = [
        key
        for key in ("bsb_national_run", "scenario_sha256", "options", "pieces")
        if previous.get(key) != run[key]
    ]
    if differences:
        what = {
            "bsb_national_run": "its format",
            "scenario_sha256": "the scenario (its sha256 differs)",
            "options": f"the options ({previous.get('options')} then, {run['options']} now)",
            "pieces": "the pieces (another assignment or --max-piece-points)",
        }
        raise InputError(
            [
                Problem(
                    f"{out}/run.json",
                    f"was written for another run: {', '.join(what[d] for d in differences)}. "
                    "Nothing was changed: resume with the same scenario and options, or "
                    "choose a new folder.",
                )
            ]
        )


_STALE_PIECE = re.compile(r"\..+\.json\.tmp-[0-9a-f]{12}")


def _remove_stale_piece_files(folder: Path) -> None:
    """Remove the temporary piece files a killed run left (bsb's own names only)."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if _STALE_PIECE.fullmatch(entry.name) and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
            LOG.info("removed %s, left by a run that was stopped while writing it", entry)


def _start_folder(out: Path, run: dict[str, Any], assignment: Assignment) -> None:
    from geodata.output_guard import write_manifest

    out.mkdir(parents=True, exist_ok=True)
    # The manifest first: a run killed at once leaves a folder bsb recognises as its own.
    write_manifest(out, NATIONAL_KIND, track_files=False)
    write_atomic(out / "run.json", _json_bytes(run), private=False)
    write_atomic(out / "assignment.csv", _assignment_csv(assignment), private=False)


def _assignment_csv(assignment: Assignment) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(ASSIGNMENT_COLUMNS)
    for share in assignment.shares:
        writer.writerow((share.drop_point, share.warehouse, share.families, ""))
    for unmet in assignment.unmet:
        writer.writerow((unmet.drop_point, "", unmet.families, unmet.reason_code))
    return text.getvalue().encode("utf-8")


def piece_files(pieces: Sequence[Piece]) -> dict[str, str]:
    """Piece id -> its file's path relative to the run folder (``pieces/<stem>.json``)."""
    stems = unique_stems(p.id for p in pieces)
    return {p.id: f"{PIECES_FOLDER}/{stems[p.id]}.json" for p in pieces}


def warehouse_folders(scenario: Scenario) -> dict[str, str]:
    """Warehouse id -> its plan folder relative to the run folder (``warehouses/<stem>``)."""
    stems = unique_stems(w.id for w in scenario.warehouses)
    return {w.id: f"{WAREHOUSES_FOLDER}/{stems[w.id]}" for w in scenario.warehouses}


class _Run:
    """The parent's loop: submit pieces longest first, take results as they come."""

    def __init__(
        self,
        *,
        scenario: Scenario,
        out: Path,
        pieces: tuple[Piece, ...],
        executor: Executor,
        time_limit_s: float | None,
        language: str,
        progress: NationalProgressCallback | None,
        stop: threading.Event | None,
        started: float,
        assignment: Assignment,
    ) -> None:
        self.scenario = scenario
        self.out = out
        self.pieces = pieces
        self.executor = executor
        self.time_limit_s = time_limit_s
        self.language = language
        self.progress = progress
        self.stop = stop
        self.started = started
        self.unmet = assignment.unmet
        self.assignment_s = assignment.seconds
        self.warehouse_seconds: list[float] = []
        self.files = piece_files(pieces)
        self.folders = warehouse_folders(scenario)
        self.of_warehouse: dict[str, list[Piece]] = defaultdict(list)
        for piece in pieces:
            self.of_warehouse[piece.warehouse].append(piece)
        self.waiting = {wh: len(ps) for wh, ps in self.of_warehouse.items()}
        self.outcomes: list[PieceOutcome] = []
        self.reused: list[str] = []
        self.summaries: dict[str, WarehouseSummary] = {}
        self.failures: list[str] = []
        self.work_done = 0
        self.work_left = sum(p.work for p in pieces)
        self.run_started = time.monotonic()
        self.told_at = self.run_started

    def execute(self) -> NationalResult:
        todo: deque[Piece] = deque()
        ready: list[str] = []
        for piece in self.pieces:
            if (self.out / self.files[piece.id]).is_file():
                self.reused.append(piece.id)
                self.work_left -= piece.work
                if self._piece_done(piece.warehouse):
                    ready.append(piece.warehouse)
            else:
                todo.append(piece)
        if self.reused:
            LOG.info("resuming: %d of %d pieces done already", len(self.reused), len(self.pieces))
        running: dict[Future[Any], str] = {}
        stopped = False
        while todo or running or ready:
            stopped = stopped or self._stopping()
            # Few tasks queued beyond the running ones: a stop takes effect at once, and a
            # cluster that grows (workers joining) gets more.
            window = 2 * max(1, self.executor.workers) + 1
            # Warehouses first: their folders are what users wait for, and they free memory.
            while ready and not stopped:
                wh = ready.pop(0)
                running[self._submit_warehouse(wh)] = f"warehouse {wh}"
            while todo and len(running) < window and not self._stopping():
                piece = todo.popleft()
                running[self._submit_piece(piece)] = f"piece {piece.id}"
            if stopped:
                ready.clear()
            if not running:
                break
            for future in self.executor.wait_any(list(running), WAIT_S):
                what = running.pop(future)
                ready.extend(self._take(future, what))
            if time.monotonic() - self.told_at >= QUIET_S:
                self._tell("still running")
        missing = len(self.of_warehouse) - len(self.summaries)
        # A stop that came after the last warehouse changes nothing: the plan is whole.
        stopped = bool(missing) and (stopped or self._stopping())
        if missing and not stopped and not self.failures:
            self.failures.append(f"{missing} warehouse(s) not finished: a piece was not kept")
        index_files: tuple[Path, ...] = ()
        if not missing and not self.failures:
            index_files = self._write_index()
        return NationalResult(
            out=self.out,
            pieces=self.pieces,
            outcomes=tuple(self.outcomes),
            reused_pieces=tuple(self.reused),
            warehouses=tuple(sorted(self.summaries)),
            failures=tuple(self.failures),
            stopped=stopped,
            index_files=index_files,
            seconds=time.monotonic() - self.started,
            unmet_families=sum(u.families for u in self.unmet),
            warehouse_seconds=tuple(self.warehouse_seconds),
            assignment_s=self.assignment_s,
        )

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def _piece_done(self, warehouse: str) -> bool:
        self.waiting[warehouse] -= 1
        return self.waiting[warehouse] == 0

    def _submit_piece(self, piece: Piece) -> Future[PieceOutcome]:
        limit = piece_time_limit_s(self.scenario, piece, self.time_limit_s)
        sub = piece_scenario(self.scenario, piece, time_limit_s=limit)
        path = str(self.out / self.files[piece.id])
        return self.executor.submit(plan_piece, sub, piece.id, piece.warehouse, path)

    def _submit_warehouse(self, wh: str) -> Future[WarehouseOutcome]:
        pieces = self.of_warehouse[wh]
        sub = warehouse_scenario(self.scenario, pieces)
        paths = [str(self.out / self.files[p.id]) for p in pieces]
        return self.executor.submit(
            write_warehouse, sub, paths, str(self.out), self.folders[wh], self.language
        )

    def _take(self, future: Future[Any], what: str) -> list[str]:
        """Record a finished task; return warehouses whose last piece just finished."""
        error = future.exception()
        if error is not None:
            self.failures.append(f"{what}: {type(error).__name__}: {error}")
            LOG.error("%s failed: %s", what, error)
            return []
        result = future.result()
        if isinstance(result, WarehouseOutcome):
            self.summaries[result.warehouse] = result.summary
            self.warehouse_seconds.append(result.seconds)
            if result.violations:
                self.failures.append(f"{what}: {len(result.violations)} check violation(s)")
            self._tell(f"warehouse {result.warehouse} written to {result.folder}")
            return []
        outcome: PieceOutcome = result
        if outcome.status != PlanStatus.COMPLETE.value:
            LOG.warning(
                "%s ended %s: not kept (a resumed run plans it again)", what, outcome.status
            )
            if outcome.status == "failed":
                self.failures.append(f"{what}: fails the check: {'; '.join(outcome.violations)}")
            return []
        self.outcomes.append(outcome)
        piece = next(p for p in self.of_warehouse[outcome.warehouse] if p.id == outcome.piece)
        self.work_done += piece.work
        self.work_left -= piece.work
        self._tell(f"piece {outcome.piece} done in {outcome.seconds:.1f} s")
        return [outcome.warehouse] if self._piece_done(outcome.warehouse) else []

    def _tell(self, message: str) -> None:
        if self.progress is None:
            return
        self.told_at = time.monotonic()
        elapsed = self.told_at - self.run_started
        left = None
        if self.work_done > 0:
            left = self.work_left * elapsed / self.work_done
        self.progress(
            NationalProgress(
                pieces_done=len(self.outcomes) + len(self.reused),
                pieces_total=len(self.pieces),
                warehouses_done=len(self.summaries),
                warehouses_total=len(self.of_warehouse),
                elapsed_s=elapsed,
                projected_left_s=left,
                message=message,
            )
        )

    def _write_index(self) -> tuple[Path, ...]:
        from documents.national_index import write_national_index

        summaries = [self.summaries[wh] for wh in sorted(self.summaries)]
        written = write_national_index(
            self.out, self.scenario, summaries, unmet=self.unmet, language=self.language
        )
        return tuple(written)


def _peak_rss_mb() -> float:
    """Peak resident memory of this process's own program, in MB.

    On Linux from ``VmHWM``: ``ru_maxrss`` survives ``exec``, so a worker spawned by a large
    parent would report the parent's memory at the time it started as its own.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux gives kB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def plan_piece(sub: Scenario, piece_id: str, warehouse: str, path: str) -> PieceOutcome:
    """Plan one piece in a worker, check it and write ``pieces/<piece>.json`` atomically.

    A piece file already there (a retried task whose first try wrote it) is read, not planned
    again. A stopped search (interrupted plan) or a plan the checker rejects is not written.

    Parameters
    ----------
    sub
        The piece's scenario (:func:`optimizer.pieces.piece_scenario`).
    piece_id, warehouse
        The piece and its warehouse.
    path
        The piece file to write.

    Returns
    -------
    PieceOutcome
        Status, seconds, peak memory and violations; never the plan.
    """
    from optimizer.checker import check_plan

    target = Path(path)
    if target.is_file():
        data = json.loads(target.read_text(encoding="utf-8"))
        return _outcome_of(data, warehouse, reused=True)
    started = time.monotonic()
    stop = worker_stop()
    plan = plan_scenario(
        sub,
        options=PlannerOptions(workers=1),
        stop=stop if isinstance(stop, threading.Event) else _EventView(stop),
    )
    plan_dict = plan_to_dict(plan)
    violations = tuple(f"[{v.rule}] {v.message}" for v in check_plan(sub, plan_dict))
    seconds = time.monotonic() - started
    status = "failed" if violations else plan.status.value
    data = {
        "piece": piece_id,
        "warehouse": warehouse,
        "status": status,
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "check_violations": list(violations),
        "plan": plan_dict,
    }
    if status == PlanStatus.COMPLETE.value:
        write_atomic(target, _json_bytes(data), private=False)
    return _outcome_of(data, warehouse, reused=False)


class _EventView(threading.Event):
    """A ``threading.Event`` that also reads a worker's stop flag (a process-shared event)."""

    def __init__(self, flag: Any) -> None:
        super().__init__()
        # Not "_flag": threading.Event keeps its own state under that name.
        self._worker_flag = flag

    def is_set(self) -> bool:
        flag = self._worker_flag
        return super().is_set() or (flag is not None and bool(flag.is_set()))


def _outcome_of(data: dict[str, Any], warehouse: str, *, reused: bool) -> PieceOutcome:
    plan = data["plan"]
    return PieceOutcome(
        piece=str(data["piece"]),
        warehouse=warehouse,
        status=str(data["status"]),
        seconds=float(data["seconds"]),
        peak_rss_mb=float(data["peak_rss_mb"]),
        violations=tuple(data["check_violations"]),
        distance_km=float(plan["kpis"]["distance_km"]),
        routes=len(plan["routes"]),
        reused=reused,
    )


def write_warehouse(
    sub: Scenario, piece_paths: Sequence[str], out: str, folder: str, language: str
) -> WarehouseOutcome:
    """Merge a warehouse's pieces, check the plan and write its complete plan folder.

    Runs in a worker, so the parent never holds a plan. A folder already complete (a resumed
    run) is read back, not written again.

    Parameters
    ----------
    sub
        The warehouse's scenario (:func:`optimizer.pieces.warehouse_scenario`).
    piece_paths
        Its pieces' files.
    out
        The run folder.
    folder
        The warehouse folder, relative to ``out``.
    language
        ``"id"`` or ``"en"``.

    Returns
    -------
    WarehouseOutcome
        The folder, the checker's violations and the summary for the national index.
    """
    from documents.national_index import summarise_warehouse
    from documents.plan_files import write_complete_plan
    from geodata.output_guard import read_manifest
    from optimizer.checker import check_plan

    started = time.monotonic()
    target = Path(out) / folder
    manifest = read_manifest(target) if target.is_dir() else None
    if manifest is not None and manifest.kind == "plan" and (target / "plan.json").is_file():
        plan = plan_from_dict(json.loads((target / "plan.json").read_text(encoding="utf-8")))
        violations = tuple(f"[{v.rule}] {v.message}" for v in check_plan(sub, plan_to_dict(plan)))
    else:
        plans = [
            plan_from_dict(json.loads(Path(p).read_text(encoding="utf-8"))["plan"])
            for p in piece_paths
        ]
        plan = merge_plans(sub, plans)
        violations = tuple(f"[{v.rule}] {v.message}" for v in check_plan(sub, plan_to_dict(plan)))
        if not violations:
            write_complete_plan(sub, plan, target, language=language)
    summary = summarise_warehouse(sub, plan, folder, check_violations=len(violations))
    warehouse = sub.warehouses[0].id
    return WarehouseOutcome(
        warehouse=warehouse,
        folder=folder,
        violations=violations,
        summary=summary,
        seconds=time.monotonic() - started,
    )
