"""Tests of optimizer.solution: the KPIs, and plan.json written and read back."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimizer.model import Scenario
from optimizer.reasons import ReasonFacts
from optimizer.solution import (
    PLAN_FORMAT_VERSION,
    TIME_FORMAT,
    Plan,
    PlanStatus,
    ReasonCode,
    Route,
    SolverRun,
    Stop,
    Unassigned,
    compute_kpis,
    delivered_kg,
    plan_from_dict,
    plan_to_dict,
)
from tests.conftest import make_tiny_plan, make_tiny_scenario

TINY = make_tiny_scenario()


def _kpis(scenario: Scenario, routes: tuple[Route, ...], unassigned: tuple[Unassigned, ...]) -> Any:
    """The KPIs as plan.json writes them (the contract, whatever type holds them in memory)."""
    plan = Plan(scenario.name, routes, unassigned, compute_kpis(scenario, routes, unassigned))
    return plan_to_dict(plan)["kpis"]


# --- KPIs of the hand-made tiny plan, worked out by hand --------------------------------------


def test_kpis_of_the_tiny_plan() -> None:
    plan = make_tiny_plan()
    kpis = _kpis(TINY, plan.routes, plan.unassigned)
    # 00042 (50 families) and P2 (40) get both tranches in full; P4 (30) September only; P3
    # (120) half of September.
    assert kpis["families_total"] == 50 + 40 + 120 + 30
    assert kpis["families_served"] == 50 + 40
    assert kpis["families_served_per_tranche"] == {"T-SEP": 50 + 40 + 30, "T-OKT": 50 + 40}
    assert kpis["kg_delivered"] == 1500 + 1200 + 900 + 1800 + 750 + 600
    assert kpis["kg_delivered_per_tranche"] == {"T-SEP": 5400, "T-OKT": 1350}
    assert kpis["kg_unassigned"] == 1800 + 1800 + 450
    assert kpis["kg_unassigned_per_tranche"] == {"T-SEP": 1800, "T-OKT": 2250}
    assert kpis["unassigned_deliveries"] == 3
    assert (kpis["trips"], kpis["truck_days"]) == (4, 4)
    assert kpis["distance_km"] == 4 * 12.5
    # T1 costs 5,000 per km and 750,000 per day, T2 6,000 and 900,000; two trips each.
    assert kpis["cost_distance"] == 12.5 * 2 * (5000 + 6000)
    assert kpis["cost_truck_days"] == 2 * (750_000 + 900_000)
    assert kpis["cost"] == 275_000 + 3_300_000
    # Family-days of waiting after each tranche's release: 120 families on day 1 of September
    # (1 day), 60 on 3 September (2 days), October delivered on its release day.
    assert kpis["family_wait_days"] == 120 * 1 + 60 * 2
    assert kpis["objective"] == 3_575_000 + 240 * TINY.objective.wait_cost_per_kpm_day
    assert kpis["last_delivery_date"] == "2020-10-01"
    assert kpis["last_delivery_date_per_tranche"] == {"T-SEP": "2020-09-03", "T-OKT": "2020-10-01"}


def test_kpis_of_an_empty_plan() -> None:
    kpis = _kpis(TINY, (), ())
    assert kpis["families_served"] == 0
    assert kpis["kg_delivered"] == 0
    assert kpis["kg_delivered_per_tranche"] == {"T-SEP": 0, "T-OKT": 0}
    assert (kpis["trips"], kpis["truck_days"], kpis["cost"], kpis["objective"]) == (0, 0, 0, 0)
    assert kpis["last_delivery_date"] is None
    assert kpis["last_delivery_date_per_tranche"] == {"T-SEP": None, "T-OKT": None}


def test_a_second_trip_on_the_same_day_adds_distance_but_no_truck_day() -> None:
    plan = make_tiny_plan()
    first = plan.routes[0]
    second = dataclasses.replace(first, trip=2, stops=(), load_kg=0.0)
    one = _kpis(TINY, plan.routes, plan.unassigned)
    two = _kpis(TINY, (*plan.routes, second), plan.unassigned)
    assert two["truck_days"] == one["truck_days"]
    assert two["trips"] == one["trips"] + 1
    assert two["distance_km"] == one["distance_km"] + first.distance_km
    assert two["cost_truck_days"] == one["cost_truck_days"]


def test_a_family_counts_as_served_only_when_every_tranche_is_delivered_in_full() -> None:
    plan = make_tiny_plan()
    # Take one kilogram off 00042's October delivery: 50 families are no longer served.
    routes = list(plan.routes)
    october = routes[3]
    short = dataclasses.replace(october.stops[0], kg=october.stops[0].kg - 1)
    routes[3] = dataclasses.replace(october, stops=(short, *october.stops[1:]))
    kpis = _kpis(TINY, tuple(routes), plan.unassigned)
    assert kpis["families_served"] == 40
    assert kpis["families_served_per_tranche"] == {"T-SEP": 120, "T-OKT": 40}


# --- random plans for the tiny scenario --------------------------------------------------------

POINTS = [p.id for p in TINY.drop_points]
TRANCHES = {t.id: t for t in TINY.tranches}


@st.composite
def stops(draw: st.DrawFn, day: date) -> Stop:
    # Only tranches already released: a plan never delivers before the release date.
    tranche = draw(st.sampled_from(sorted(t for t in TRANCHES if TRANCHES[t].release <= day)))
    sacks = draw(st.integers(1, 200))
    arrive = datetime.combine(day, datetime.min.time()) + timedelta(
        seconds=draw(st.integers(7 * 3600, 16 * 3600))
    )
    depart = arrive + timedelta(seconds=draw(st.integers(0, 3600)))
    return Stop(draw(st.sampled_from(POINTS)), tranche, sacks * 15.0, sacks, arrive, depart)


@st.composite
def routes(draw: st.DrawFn) -> Route:
    day = date(2020, 9, 1) + timedelta(days=draw(st.integers(0, 45)))
    visits = tuple(draw(st.lists(stops(day), max_size=4)))
    start = datetime.combine(day, datetime.min.time()) + timedelta(hours=7)
    return Route(
        truck=draw(st.sampled_from(["T1", "T2"])),
        warehouse="W1",
        date=day,
        trip=draw(st.integers(1, 3)),
        depart=start,
        return_=start + timedelta(seconds=draw(st.integers(0, 10 * 3600))),
        distance_km=draw(st.floats(0, 500, allow_nan=False).map(lambda km: round(km, 3))),
        load_kg=sum(s.kg for s in visits),
        stops=visits,
    )


@st.composite
def unassigned_items(draw: st.DrawFn) -> Unassigned:
    sacks = draw(st.integers(1, 200))
    code = draw(st.sampled_from(list(ReasonCode)))
    facts = draw(
        st.sampled_from(
            [
                ReasonFacts(),
                ReasonFacts(warehouses=("W1",), leftover_kg=(12.5,), ration_kg=15.0),
                ReasonFacts(warehouses=("W1",), trucks=2, trip_h=4.5, working_days=25),
            ]
        )
    )
    return Unassigned(
        draw(st.sampled_from(POINTS)),
        draw(st.sampled_from(sorted(TRANCHES))),
        sacks * 15.0,
        sacks,
        code,
        f"because {code}",
        facts,
    )


plans = st.builds(
    lambda r, u, status, seed, solver: Plan(
        TINY.name,
        tuple(r),
        tuple(u),
        compute_kpis(TINY, tuple(r), tuple(u)),
        strategy="ortools",
        seed=seed,
        status=status,
        solver=solver,
    ),
    st.lists(routes(), max_size=6),
    st.lists(unassigned_items(), max_size=4),
    st.sampled_from(list(PlanStatus)),
    st.integers(0, 2**31),
    st.sampled_from([None, SolverRun(5.0, 30, 4, 1, 2), SolverRun(0.5, None, 1, 0, 1)]),
)


@given(st.lists(routes(), max_size=8))
def test_delivered_kg_adds_every_stop_once(trips: list[Route]) -> None:
    totals = delivered_kg(trips)
    every_stop = [s for r in trips for s in r.stops]
    assert set(totals) == {(s.drop_point, s.tranche) for s in every_stop}
    assert sum(totals.values()) == pytest.approx(sum(s.kg for s in every_stop))
    for (point, tranche), kg in totals.items():
        assert kg == pytest.approx(
            sum(s.kg for s in every_stop if (s.drop_point, s.tranche) == (point, tranche))
        )


@given(st.lists(routes(), max_size=8), st.lists(unassigned_items(), max_size=4))
def test_kpis_add_up(trips: list[Route], items: list[Unassigned]) -> None:
    kpis = _kpis(TINY, tuple(trips), tuple(items))
    assert kpis["kg_delivered"] == pytest.approx(sum(delivered_kg(trips).values()))
    assert kpis["kg_delivered"] == pytest.approx(sum(kpis["kg_delivered_per_tranche"].values()))
    assert kpis["kg_unassigned"] == pytest.approx(sum(u.kg for u in items))
    assert kpis["unassigned_deliveries"] == len(items)
    assert kpis["trips"] == len(trips)
    assert kpis["truck_days"] == len({(r.truck, r.date) for r in trips})
    assert 0 <= kpis["families_served"] <= kpis["families_total"]
    for served in kpis["families_served_per_tranche"].values():
        assert kpis["families_served"] <= served <= kpis["families_total"]
    assert kpis["cost"] == pytest.approx(kpis["cost_distance"] + kpis["cost_truck_days"], abs=0.01)
    assert kpis["objective"] >= kpis["cost"]
    dates = [d for d in kpis["last_delivery_date_per_tranche"].values() if d is not None]
    assert kpis["last_delivery_date"] == (max(dates) if dates else None)


# --- plan.json: written and read back -----------------------------------------------------------


def _json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), ensure_ascii=False, indent=2)


@given(plans)
def test_plan_json_reads_back_to_the_same_plan_json(plan: Plan) -> None:
    text = _json(plan)
    again = plan_from_dict(json.loads(text))
    assert _json(again) == text
    assert again.routes == plan.routes
    assert again.unassigned == plan.unassigned
    assert (again.status, again.seed, again.strategy) == (plan.status, plan.seed, plan.strategy)
    assert again.solver == plan.solver


def test_the_tiny_plan_reads_back_equal() -> None:
    plan = make_tiny_plan()
    again = plan_from_dict(json.loads(_json(plan)))
    assert again == plan


def test_plan_json_keys_come_in_the_documented_order() -> None:
    data = plan_to_dict(make_tiny_plan())
    assert list(data) == [
        "format_version",
        "scenario",
        "timezone",
        "status",
        "strategy",
        "seed",
        "solver",
        "kpis",
        "routes",
        "unassigned",
    ]
    assert data["format_version"] == PLAN_FORMAT_VERSION == 1
    assert list(data["routes"][0]) == [
        "truck",
        "warehouse",
        "date",
        "trip",
        "depart",
        "return",
        "distance_km",
        "load_kg",
        "stops",
        "status",
    ]
    assert list(data["routes"][0]["stops"][0]) == [
        "drop_point",
        "tranche",
        "kg",
        "sacks",
        "arrive",
        "depart",
        "kind",
        "pickup_kg",
    ]
    assert list(data["unassigned"][0]) == [
        "drop_point",
        "tranche",
        "kg",
        "sacks",
        "reason_code",
        "reason",
        "reason_facts",
    ]


def test_whole_kilograms_are_written_as_integers_and_times_without_a_zone() -> None:
    data = plan_to_dict(make_tiny_plan())
    route = data["routes"][0]
    assert route["date"] == "2020-09-02"
    assert (route["depart"], route["return"]) == ("2020-09-02T07:30:00", "2020-09-02T12:00:00")
    assert datetime.strptime(route["depart"], TIME_FORMAT) == datetime(2020, 9, 2, 7, 30)
    assert route["load_kg"] == 2700 and isinstance(route["load_kg"], int)
    assert route["stops"][0]["kg"] == 1500 and isinstance(route["stops"][0]["kg"], int)
    assert '"kg": 1500,' in _json(make_tiny_plan())
    fractional = dataclasses.replace(
        make_tiny_plan().routes[0], load_kg=2700.25, distance_km=1.23456
    )
    plan = dataclasses.replace(make_tiny_plan(), routes=(fractional,))
    written = plan_to_dict(plan)["routes"][0]
    assert (written["load_kg"], written["distance_km"]) == (2700.25, 1.235)


def test_reason_codes_and_facts_are_written_as_plain_json() -> None:
    data = plan_to_dict(make_tiny_plan())
    fleet = data["unassigned"][0]
    assert fleet["reason_code"] == "fleet_time" and type(fleet["reason_code"]) is str
    assert fleet["reason_facts"]["working_days"] == 25
    assert fleet["reason_facts"]["first_day"] == "2020-09-01"
    read = plan_from_dict(data).unassigned[0]
    assert read.reason_code is ReasonCode.FLEET_TIME
    assert read.facts == make_tiny_plan().unassigned[0].facts


def test_optional_fields_take_their_defaults_when_absent() -> None:
    data = plan_to_dict(make_tiny_plan())
    for key in ("scenario", "timezone", "status", "strategy", "seed", "solver"):
        del data[key]
    plan = plan_from_dict(data)
    assert (plan.scenario_name, plan.timezone, plan.status, plan.seed) == (
        "",
        "Asia/Jakarta",
        "complete",
        0,
    )
    assert (plan.strategy, plan.solver) == ("", None)
    assert plan.kpis == make_tiny_plan().kpis


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (lambda d: d.pop("routes"), KeyError),
        (lambda d: d["routes"][0].pop("truck"), KeyError),
        (lambda d: d["routes"][0]["stops"][0].pop("sacks"), KeyError),
        (lambda d: d["routes"][0].update(depart="2020-09-02 07:30"), ValueError),
        (lambda d: d["routes"][0].update(date="2 September 2020"), ValueError),
        (lambda d: d["unassigned"][0].update(reason_code="bad_weather"), ValueError),
        (lambda d: d["routes"][0]["stops"][0].update(sacks="many"), ValueError),
    ],
    ids=[
        "no-routes",
        "route-without-truck",
        "stop-without-sacks",
        "time-with-a-space",
        "date-in-words",
        "unknown-reason-code",
        "sacks-not-a-number",
    ],
)
def test_a_malformed_plan_json_raises(damage: Any, error: type[Exception]) -> None:
    data = json.loads(_json(make_tiny_plan()))
    damage(data)
    with pytest.raises(error):
        plan_from_dict(data)
