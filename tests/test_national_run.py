"""The national run folder: pieces streamed to disk, warehouse folders, refusals and resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest

from documents.national import NationalProgress, NationalResult, run_national
from geodata.sample import make_sample
from geodata.scenario_io import read_scenario
from optimizer.checker import check_plan_file
from optimizer.errors import InputError
from optimizer.executors import InProcess, SpawnPool
from optimizer.model import Scenario


@cache
def national_scenario(points: int = 60, warehouses: int = 2, seed: int = 4) -> Scenario:
    """A small multi-warehouse scenario with a deterministic search budget."""
    scenario = make_sample(n_drop_points=points, n_warehouses=warehouses, seed=seed)
    return replace(scenario, solver=replace(scenario.solver, solution_limit=5))


def assert_national_folder(out: Path, scenario: Scenario) -> None:
    """Every piece written once, every warehouse plan checked, stock and families kept."""
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    pieces = run["pieces"]
    written = sorted(p.name for p in (out / "pieces").iterdir())
    assert len(written) == len(pieces), "a piece is missing or written twice"
    ids = Counter(json.loads((out / "pieces" / n).read_text())["piece"] for n in written)
    assert ids == Counter(p["id"] for p in pieces)
    served = 0
    for wh_id in sorted({p["warehouse"] for p in pieces}):
        folder = out / "warehouses" / wh_id
        sub = read_scenario(folder / "scenario")
        assert check_plan_file(sub, folder / "plan.json") == [], wh_id
        plan = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
        shipped = sum(r["load_kg"] for r in plan["routes"])
        assert shipped <= scenario.warehouse(wh_id).stock_kg + 1e-6, "stock broken"
        served += plan["kpis"]["families_served"] + sum(
            u["sacks"] * scenario.sack_kg / scenario.tranche(u["tranche"]).kg_per_kpm
            for u in plan["unassigned"]
        ) / len(scenario.tranches)
    unmet = sum(
        int(row.split(",")[2])
        for row in (out / "assignment.csv").read_text().splitlines()[1:]
        if row.split(",")[1] == ""
    )
    assert served + unmet == pytest.approx(sum(p.kpm for p in scenario.drop_points))


def _run(out: Path, executor: object, **kwargs: object) -> NationalResult:
    options: dict[str, object] = {"time_limit_s": 2.0, "max_piece_points": 25} | kwargs
    return run_national(national_scenario(), out, executor=executor, **options)  # type: ignore[arg-type]


def test_a_national_run_in_process_writes_every_warehouse_folder(tmp_path: Path) -> None:
    told: list[NationalProgress] = []
    out = tmp_path / "national"
    with InProcess() as executor:
        result = _run(out, executor, progress=told.append)
    assert result.finished, result.failures
    assert {o.piece for o in result.outcomes} == {p.id for p in result.pieces}
    assert result.warehouses == ("W01", "W02")
    assert_national_folder(out, national_scenario())
    assert (out / "plan.json").is_file() and (out / ".bsb-output.json").is_file()
    assert told[-1].pieces_done == told[-1].pieces_total == len(result.pieces)
    assert told[-1].warehouses_done == 2
    assert any(t.projected_left_s is not None for t in told)
    header = (out / "assignment.csv").read_text().splitlines()[0]
    assert header == "drop_point,warehouse,families,reason"


def test_a_national_run_on_a_process_pool(tmp_path: Path) -> None:
    out = tmp_path / "national"
    with SpawnPool(2) as executor:
        result = _run(out, executor)
    assert result.finished, result.failures
    assert_national_folder(out, national_scenario())


def test_an_interrupted_run_resumes_with_only_the_missing_pieces(tmp_path: Path) -> None:
    out = tmp_path / "national"
    stop = threading.Event()

    def stop_after_first(progress: NationalProgress) -> None:
        if progress.pieces_done >= 1:
            stop.set()

    with InProcess(stop) as executor:
        first = _run(out, executor, progress=stop_after_first, stop=stop)
    assert first.stopped and not first.finished
    done_first = {o.piece for o in first.outcomes}
    assert 1 <= len(done_first) < len(first.pieces)
    assert not (out / "plan.json").exists()
    with pytest.raises(InputError, match="--resume"), InProcess() as executor:
        _run(out, executor)
    stale = out / "pieces" / ".W01_2020-09-0a1b2c3d.json.tmp-0123456789ab"
    stale.write_text("half a piece, left by a killed run")
    with InProcess() as executor:
        second = _run(out, executor, resume=True)
    assert not stale.exists()
    assert second.finished, second.failures
    assert set(second.reused_pieces) == done_first
    done_second = {o.piece for o in second.outcomes}
    assert not done_first & done_second, "a piece was planned twice"
    assert done_first | done_second == {p.id for p in second.pieces}
    assert_national_folder(out, national_scenario())
    # A finished run resumed again plans nothing and keeps every folder.
    with InProcess() as executor:
        third = _run(out, executor, resume=True)
    assert third.finished and third.outcomes == ()


def test_resume_refuses_a_folder_of_other_options_or_another_scenario(tmp_path: Path) -> None:
    out = tmp_path / "national"
    stop = threading.Event()
    stop.set()
    with InProcess(stop) as executor:
        stopped = _run(out, executor, stop=stop)
    assert stopped.stopped and stopped.outcomes == ()
    assert (out / "run.json").is_file()
    with InProcess() as executor, pytest.raises(InputError, match="options"):
        _run(out, executor, resume=True, max_piece_points=1000)
    other = replace(national_scenario(), name="another")
    with InProcess() as executor, pytest.raises(InputError, match="scenario"):
        run_national(
            other, out, executor=executor, time_limit_s=2.0, resume=True, max_piece_points=25
        )


def test_a_folder_bsb_did_not_write_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with InProcess() as executor, pytest.raises(InputError, match="did not write"):
        _run(out, executor)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_scenario_on_roads_is_refused(tmp_path: Path) -> None:
    scenario = national_scenario()
    on_roads = replace(scenario, travel=replace(scenario.travel, source="matrix"))
    with InProcess() as executor, pytest.raises(InputError, match="straight line"):
        run_national(on_roads, tmp_path / "out", executor=executor)
    assert not (tmp_path / "out").exists()


def test_the_scenario_digest_is_the_same_in_every_process() -> None:
    # Sets of strings iterate in another order under another hash seed; resume runs in a new
    # process, so the digest must not depend on it.
    code = (
        "from geodata.sample import make_sample; from documents.national import scenario_sha256;"
        "print(scenario_sha256(make_sample(n_drop_points=30, n_warehouses=2, seed=1)))"
    )
    root = Path(__file__).resolve().parents[1]
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env=dict(os.environ, PYTHONHASHSEED=str(seed)),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(digests) == 1
