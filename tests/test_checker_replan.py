"""optimizer.checker in re-plan mode: history, frozen days, cancellations, replacements,
conservation with receipts, capacity with pickups, unavailable trucks and closed points.

The re-plan is composed by optimizer.replan with a fake planner that leaves the rest
unassigned (with a reason), so these tests do not need part B's planner hooks.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from datetime import date
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.checker import Rule, check_plan
from optimizer.model import Scenario
from optimizer.planner import plan_scenario
from optimizer.progress import Closed, Progress, Receipt, Unavailable
from optimizer.reasons import ReasonCode
from optimizer.replan import replan
from optimizer.solution import Plan, Unassigned, compute_kpis, plan_from_dict, plan_to_dict
from tests.conftest import make_tiny_scenario

SEP1, SEP2, OCT1 = date(2020, 9, 1), date(2020, 9, 2), date(2020, 10, 1)


@cache
def _previous_json() -> str:
    return json.dumps(plan_to_dict(plan_scenario(make_tiny_scenario())))


def _previous() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_previous_json())
    return data


def _leave_the_rest(scenario: Scenario, **kwargs: Any) -> Plan:
    """A planner that plans nothing: every residual family and replacement is unassigned."""
    residual = kwargs["residual"]
    left: dict[tuple[str, str], float] = {}
    for (point, tranche), families in residual.families.items():
        left[(point, tranche)] = families * scenario.tranche(tranche).kg_per_kpm
    for extra in residual.extra:
        key = (extra.drop_point, extra.tranche)
        left[key] = left.get(key, 0.0) + extra.sacks * scenario.sack_kg
    unassigned = tuple(
        Unassigned(p, t, kg, round(kg / scenario.sack_kg), ReasonCode.FLEET_TIME, "no truck")
        for (p, t), kg in sorted(left.items())
    )
    return Plan(scenario.name, (), unassigned, compute_kpis(scenario, (), unassigned))


PROGRESS = Progress(
    receipts=(
        Receipt("P2", "T-SEP", SEP1, 40, 1200.0, 30.0),  # 2 sacks to replace
        Receipt("P3", "T-SEP", SEP1, 120, 3600.0, 0.0),
        Receipt("00042", "T-SEP", SEP1, 50, 1500.0, 0.0),
    )  # P4's September stop has no receipt: missed
)


def _replanned(progress: Progress = PROGRESS, today: date = SEP2, freeze: int = 1) -> Any:
    scenario = make_tiny_scenario()
    previous = plan_from_dict(_previous())
    sha = hashlib.sha256(_previous_json().encode()).hexdigest()
    result = replan(
        scenario,
        previous,
        progress,
        today,
        freeze_days=freeze,
        planner=_leave_the_rest,
        previous_sha256=sha,
    )
    return json.loads(json.dumps(result.to_dict())), sha


def _rules(data: dict[str, Any], **kwargs: Any) -> set[Rule]:
    kwargs.setdefault("previous", _previous())
    return {v.rule for v in check_plan(make_tiny_scenario(), data, **kwargs)}


def test_a_replan_passes_the_checker() -> None:
    data, sha = _replanned()
    assert check_plan(make_tiny_scenario(), data, previous=_previous(), previous_sha256=sha) == []
    statuses = [r["status"] for r in data["routes"]]
    assert statuses == ["done", "done", "done", "planned", "planned"]
    assert {(u["drop_point"], u["tranche"], u["kg"]) for u in data["unassigned"]} == {
        ("P4", "T-SEP", 900),  # missed
        ("P2", "T-SEP", 30),  # the replacement
    }


def test_a_changed_history_trip_is_reported() -> None:
    data, _ = _replanned()
    data["routes"][0]["stops"][0]["arrive"] = data["routes"][0]["stops"][0]["depart"]
    assert Rule.HISTORY in _rules(data)


def test_a_wrong_status_is_reported() -> None:
    data, _ = _replanned()
    data["routes"][0]["status"] = "planned"
    assert Rule.HISTORY in _rules(data)


def test_another_previous_plan_is_reported() -> None:
    data, _ = _replanned()
    assert Rule.PREVIOUS_PLAN in _rules(data, previous_sha256="0" * 64)


def test_an_unexplained_missing_replacement_is_reported() -> None:
    data, _ = _replanned()
    data["unassigned"] = [u for u in data["unassigned"] if u["drop_point"] != "P2"]
    data["kpis"]["kg_unassigned"] -= 30
    rules = _rules(data)
    assert Rule.REPLACEMENT in rules


def test_conservation_counts_receipts_not_the_plan() -> None:
    data, _ = _replanned()
    # Pretend P4's missed stop had been received: its 30 families are now planned twice.
    data["replan"]["progress"]["receipts"].append(
        {
            "drop_point": "P4",
            "tranche": "T-SEP",
            "date": "2020-09-01",
            "families": 30,
            "kg_received": 900,
            "kg_rejected": 0,
            "note": "",
        }
    )
    assert Rule.REPLAN_CONSERVATION in _rules(data)


def test_a_trip_on_an_unavailable_truck_is_reported() -> None:
    data, _ = _replanned()
    data["replan"]["progress"]["unavailable"].append(
        {"truck": "T1", "from_date": "2020-10-01", "to_date": "2020-10-01", "note": ""}
    )
    assert Rule.TRUCK_UNAVAILABLE in _rules(data)


def test_unavailable_truck_and_closed_point_cancel_and_are_obeyed() -> None:
    progress = dataclasses.replace(
        PROGRESS,
        unavailable=(Unavailable("T1", OCT1, OCT1),),
        closed=(Closed("P3", date(2020, 9, 30), OCT1),),
    )
    data, _ = _replanned(progress)
    assert [r["date"] for r in data["routes"]] == ["2020-09-01"] * 3
    assert {c["reason"] for c in data["replan"]["cancelled"]} == {"truck_unavailable"}
    assert check_plan(make_tiny_scenario(), data, previous=_previous()) == []


def test_a_frozen_trip_is_kept_exactly_or_cancelled_for_a_true_reason() -> None:
    data, _ = _replanned(Progress(), today=OCT1, freeze=1)
    assert [r["status"] for r in data["routes"]] == ["done"] * 3 + ["frozen"] * 2
    assert check_plan(make_tiny_scenario(), data, previous=_previous()) == []
    dropped = copy.deepcopy(data)
    dropped["routes"].pop()
    dropped["replan"]["cancelled"] = [
        {"truck": "T1", "date": "2020-10-01", "trip": 2, "reason": "point_closed"}
    ]
    assert Rule.CANCELLED in _rules(dropped)


def test_load_with_pickups_never_above_capacity() -> None:
    data, _ = _replanned(Progress(), today=OCT1, freeze=1)
    stop = data["routes"][4]["stops"][0]
    stop["kind"] = "replacement"
    stop["pickup_kg"] = 5000  # the truck (2 t) cannot take that back
    assert Rule.CAPACITY in _rules(data)


def test_an_unassigned_replacement_is_whole_sacks_not_rations() -> None:
    progress = dataclasses.replace(
        PROGRESS, receipts=(Receipt("P2", "T-SEP", SEP1, 40, 1200.0, 15.0), *PROGRESS.receipts[1:])
    )
    data, _ = _replanned(progress)
    (entry,) = [u for u in data["unassigned"] if u["drop_point"] == "P2"]
    assert entry["kg"] == 15  # one sack: half a family's September ration
    entry["kind"] = "replacement"
    assert check_plan(make_tiny_scenario(), data, previous=_previous()) == []
    entry["kind"] = "delivery"
    assert Rule.RATION in _rules(data)


PAIRS = [
    (p.id, t.id, p.kpm)
    for p in make_tiny_scenario().drop_points
    for t in make_tiny_scenario().tranches
]


@st.composite
def _progress(draw: st.DrawFn) -> tuple[Progress, date, int]:
    today = draw(st.sampled_from([SEP2, date(2020, 9, 30), OCT1, date(2020, 10, 2)]))
    receipts = []
    for point, tranche, kpm in draw(st.lists(st.sampled_from(PAIRS), unique=True, max_size=5)):
        families = draw(st.integers(min_value=0, max_value=kpm))
        per_kpm = 30.0 if tranche == "T-SEP" else 15.0
        rejected = draw(st.sampled_from([0.0, 30.0, 60.0])) if families >= 2 else 0.0
        day = draw(st.sampled_from([d for d in (SEP1, date(2020, 9, 29), today) if d <= today]))
        receipts.append(Receipt(point, tranche, day, families, families * per_kpm, rejected))
    unavailable = tuple(
        Unavailable(truck, first, first)
        for truck, first in draw(
            st.lists(
                st.tuples(st.sampled_from(["T1", "T2"]), st.sampled_from([OCT1, today])), max_size=2
            )
        )
    )
    closed = tuple(
        Closed(point, first, first)
        for point, first in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["00042", "P2", "P3", "P4"]), st.sampled_from([OCT1, today])
                ),
                max_size=2,
            )
        )
    )
    freeze = draw(st.integers(min_value=0, max_value=2))
    return Progress(tuple(receipts), unavailable, (), closed), today, freeze


def _check_replanned(progress: Progress, today: date, freeze: int, planner: Any) -> None:
    scenario = make_tiny_scenario()
    previous = plan_from_dict(_previous())
    sha = hashlib.sha256(_previous_json().encode()).hexdigest()
    result = replan(
        scenario,
        previous,
        progress,
        today,
        freeze_days=freeze,
        planner=planner,
        previous_sha256=sha,
    )
    data = json.loads(json.dumps(result.to_dict()))
    violations = check_plan(scenario, data, previous=_previous(), previous_sha256=sha)
    assert violations == []


@settings(max_examples=40)
@given(_progress())
def test_every_composed_replan_passes_the_checker(case: tuple[Progress, date, int]) -> None:
    _check_replanned(*case, planner=_leave_the_rest)


@settings(max_examples=8)
@given(_progress())
def test_every_replan_by_the_planner_passes_the_checker(case: tuple[Progress, date, int]) -> None:
    _check_replanned(*case, planner=plan_scenario)
