"""The typed results: Kpis computed once and read as they were written, and the status enums."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from documents.summary import format_summary
from geodata.i18n import LANGUAGES, LOCALES, Language, language_index, parse_language
from geodata.maps import map_content
from optimizer.checker import RULES, Rule, check_plan
from optimizer.solution import (
    Kpis,
    Plan,
    PlanStatus,
    compute_kpis,
    plan_from_dict,
    plan_to_dict,
)
from tests.conftest import make_tiny_scenario

GOLDEN = Path(__file__).parent / "data" / "golden"
GOLDEN_PLANS = sorted(GOLDEN.glob("*.plan.json"))


def _plan_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n"


@pytest.fixture
def tiny_plan() -> Plan:
    return plan_from_dict(json.loads((GOLDEN / "tiny-ortools.plan.json").read_text("utf-8")))


@pytest.mark.parametrize("path", GOLDEN_PLANS, ids=lambda p: p.name.split(".")[0])
def test_a_plan_read_back_writes_the_same_bytes(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    plan = plan_from_dict(json.loads(text))
    assert isinstance(plan.kpis, Kpis)
    assert isinstance(plan.status, PlanStatus)
    assert _plan_json(plan) == text


def test_kpis_are_what_the_plan_file_says(tiny_plan: Plan) -> None:
    kpis = compute_kpis(make_tiny_scenario(), tiny_plan.routes, tiny_plan.unassigned)
    # plan.json rounds each trip's km to 3 decimals, so sums over trips read back may drift.
    drifting = {"distance_km": 0.01, "cost_distance": 10.0, "cost": 10.0, "objective": 10.0}
    for name, tolerance in drifting.items():
        assert getattr(kpis, name) == pytest.approx(getattr(tiny_plan.kpis, name), abs=tolerance)
    assert replace(kpis, **{n: getattr(tiny_plan.kpis, n) for n in drifting}) == tiny_plan.kpis
    assert Kpis.from_dict(kpis.to_dict()) == kpis
    assert kpis.last_delivery_date_per_tranche["T-OKT"] is not None
    assert kpis.last_delivery_date == max(
        d for d in kpis.last_delivery_date_per_tranche.values() if d is not None
    )


def test_kpis_keys_are_the_dataclass_fields_in_order(tiny_plan: Plan) -> None:
    written = plan_to_dict(tiny_plan)["kpis"]
    assert list(written) == list(Kpis.__dataclass_fields__)


def test_whole_kg_are_written_as_integers(tiny_plan: Plan) -> None:
    written = plan_to_dict(tiny_plan)["kpis"]
    assert tiny_plan.kpis.kg_delivered == 10800.0
    assert type(written["kg_delivered"]) is int
    assert all(type(v) is int for v in written["kg_delivered_per_tranche"].values())


def test_a_missing_kpi_makes_the_plan_unreadable(tiny_plan: Plan) -> None:
    data = plan_to_dict(tiny_plan)
    del data["kpis"]["trips"]
    with pytest.raises(KeyError, match="trips"):
        plan_from_dict(data)


def test_an_unknown_status_makes_the_plan_unreadable(tiny_plan: Plan) -> None:
    data = {**plan_to_dict(tiny_plan), "status": "half-done"}
    with pytest.raises(ValueError, match="half-done"):
        plan_from_dict(data)


def test_parts_add_up_and_families_count_whoever_served_them(tiny_plan: Plan) -> None:
    scenario = make_tiny_scenario()
    routes = tiny_plan.routes
    odd, even = routes[::2], routes[1::2]
    parts = [
        compute_kpis(scenario, part, (), served_by=routes, drop_points=[p.id])
        for part in (odd, even)
        for p in scenario.drop_points[:1]
    ]
    assert sum(p.trips for p in parts) == tiny_plan.kpis.trips
    assert sum(p.kg_delivered for p in parts) == pytest.approx(tiny_plan.kpis.kg_delivered)
    first = scenario.drop_points[0]
    # Served by the whole plan, so both parts count the point's families as served...
    assert [p.families_served for p in parts] == [first.kpm, first.kpm]
    # ...which only the trips of one part would not always do.
    alone = [compute_kpis(scenario, part, (), drop_points=[first.id]) for part in (odd, even)]
    assert sum(p.families_served for p in alone) <= first.kpm
    assert all(p.families_total == first.kpm for p in alone)


def test_the_summary_reads_the_plans_kpis_without_recomputing(tiny_plan: Plan) -> None:
    scenario = make_tiny_scenario()
    marked = replace(tiny_plan, kpis=replace(tiny_plan.kpis, trips=4321, truck_days=987))
    text = format_summary(scenario, marked, language="en")
    assert "4,321" in text and "987" in text


def test_the_whole_plan_map_shows_the_plans_kpis(tiny_plan: Plan) -> None:
    assert map_content(make_tiny_scenario(), tiny_plan).summary is tiny_plan.kpis


def test_the_warehouse_map_summary_is_its_share(tiny_plan: Plan) -> None:
    summary = map_content(make_tiny_scenario(), tiny_plan, warehouse="W1").summary
    # The tiny scenario has one warehouse: its share is the whole plan (km read back drift).
    assert summary.distance_km == pytest.approx(tiny_plan.kpis.distance_km, abs=0.01)
    assert replace(summary, distance_km=0.0) == replace(
        tiny_plan.kpis,
        distance_km=0.0,
        cost_distance=summary.cost_distance,
        cost=summary.cost,
        objective=summary.objective,
    )


def test_plan_status_codes_are_the_plan_json_values() -> None:
    assert [str(s) for s in PlanStatus] == ["complete", "interrupted"]
    assert json.dumps(PlanStatus.INTERRUPTED) == '"interrupted"'


def test_every_violation_carries_a_rule(tiny_plan: Plan) -> None:
    data = plan_to_dict(tiny_plan)
    data["kpis"]["trips"] = 99
    data["routes"][0]["truck"] = "nope"
    violations = check_plan(make_tiny_scenario(), data)
    assert {v.rule for v in violations} >= {Rule.KPIS, Rule.UNKNOWN_TRUCK}
    assert all(isinstance(v.rule, Rule) for v in violations)
    assert frozenset(Rule) == RULES and "kpis" in RULES


def test_languages_are_an_enum_with_a_locale_each() -> None:
    assert LANGUAGES == ("id", "en") and LANGUAGES[0] is Language.ID
    assert set(LOCALES) == set(Language)
    assert parse_language("en") is Language.EN
    assert language_index(Language.EN) == language_index("en") == 1
    with pytest.raises(ValueError, match="unknown language 'fr': expected one of id, en"):
        parse_language("fr")


def test_the_solver_run_is_typed_and_empty_for_a_hand_made_plan(tiny_plan: Plan) -> None:
    assert tiny_plan.solver is not None
    assert (tiny_plan.solver.routing_parts, tiny_plan.solver.stock_rounds) == (2, 1)
    hand_made = plan_from_dict({**plan_to_dict(tiny_plan), "solver": {}})
    assert hand_made.solver is None
    assert plan_to_dict(hand_made)["solver"] == {}


def test_the_plan_format_lists_the_kpis_in_their_written_order() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "plan-format.md").read_text(encoding="utf-8")
    section = doc.split("### KPIs", 1)[1].split("\n## ", 1)[0]
    keys = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
    assert keys == list(Kpis.__dataclass_fields__)


def test_a_per_tranche_kpi_that_is_not_an_object_is_a_type_error(tiny_plan: Plan) -> None:
    data = plan_to_dict(tiny_plan)
    data["kpis"]["kg_delivered_per_tranche"] = [7200, 3600]
    with pytest.raises(TypeError, match="kg_delivered_per_tranche"):
        plan_from_dict(data)
