"""Tests of the independent plan checker.

A valid plan for the tiny scenario is laid out by hand (own arithmetic, not the planner's); each
rule test breaks it in one way and expects that rule to be reported.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import math
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimizer.checker import RULES, Violation, check_plan, check_plan_file
from optimizer.model import Calendar, Scenario, Warehouse, haversine_km
from optimizer.solution import compute_kpis, plan_from_dict
from tests.conftest import DRAMAGA, make_tiny_scenario

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
CHECKER_PATH = Path(__file__).resolve().parents[1] / "optimizer" / "checker.py"


@dataclass(frozen=True)
class PlannedStop:
    drop_point: str
    tranche: str
    sacks: int


def _at(day: date, seconds: int) -> str:
    return (datetime.combine(day, time()) + timedelta(seconds=seconds)).strftime(TIME_FORMAT)


def layout_route(
    scenario: Scenario,
    truck_id: str,
    day: date,
    trip: int,
    depart_s: int,
    stops: list[PlannedStop],
) -> dict[str, Any]:
    """One trip as plan.json writes it, timed with whole-second legs and service, waiting at
    closed points."""
    truck = next(t for t in scenario.trucks if t.id == truck_id)
    warehouse = next(w for w in scenario.warehouses if w.id == truck.warehouse_id)
    points = {p.id: p for p in scenario.drop_points}
    speed, circuity = scenario.travel.speed_kmh, scenario.travel.circuity
    here = (warehouse.lon, warehouse.lat)
    clock_s = depart_s
    distance_km = 0.0
    entries: list[dict[str, Any]] = []
    for stop in stops:
        point = points[stop.drop_point]
        leg_km = haversine_km(*here, point.lon, point.lat) * circuity
        distance_km += leg_km
        arrive_s = clock_s + math.ceil(leg_km / speed * 3600)
        if point.open_s is not None:
            arrive_s = max(arrive_s, point.open_s)
        kg = stop.sacks * scenario.sack_kg
        base_min = point.service_min if point.service_min is not None else 15.0
        leave_s = arrive_s + math.ceil((base_min + kg / 100) * 60)
        entries.append(
            {
                "drop_point": stop.drop_point,
                "tranche": stop.tranche,
                "kg": int(kg),
                "sacks": stop.sacks,
                "arrive": _at(day, arrive_s),
                "depart": _at(day, leave_s),
            }
        )
        here, clock_s = (point.lon, point.lat), leave_s
    back_km = haversine_km(*here, warehouse.lon, warehouse.lat) * circuity
    distance_km += back_km
    return {
        "truck": truck_id,
        "warehouse": warehouse.id,
        "date": day.isoformat(),
        "trip": trip,
        "depart": _at(day, depart_s),
        "return": _at(day, clock_s + math.ceil(back_km / speed * 3600)),
        "distance_km": round(distance_km, 3),
        "load_kg": int(sum(e["kg"] for e in entries)),
        "stops": entries,
    }


def _seconds_of(text: str) -> int:
    moment = datetime.strptime(text, TIME_FORMAT)
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def refresh_kpis(scenario: Scenario, plan: dict[str, Any]) -> dict[str, Any]:
    """Recompute the KPIs with the plan module, as the planner would write them."""
    # Any well-formed KPIs let the plan be read; the real ones are computed from what was read.
    parsed = plan_from_dict({**plan, "kpis": compute_kpis(scenario, (), ()).to_dict()})
    plan["kpis"] = compute_kpis(scenario, parsed.routes, parsed.unassigned).to_dict()
    return plan


def build_valid_plan(
    scenario: Scenario, *, october_stops: list[PlannedStop] | None = None
) -> dict[str, Any]:
    """Four trips for the tiny scenario; Petir (P4) is half delivered, the rest unassigned."""
    sep1, oct1 = date(2020, 9, 1), date(2020, 10, 1)
    first = layout_route(
        scenario,
        "T1",
        sep1,
        1,
        7 * 3600 + 1800,
        [PlannedStop("00042", "T-SEP", 100), PlannedStop("P4", "T-SEP", 30)],
    )
    second = layout_route(
        scenario,
        "T1",
        sep1,
        2,
        _seconds_of(first["return"]) + 1800,
        [PlannedStop("P2", "T-SEP", 80)],
    )
    big = layout_route(scenario, "T2", sep1, 1, 7 * 3600 + 1800, [PlannedStop("P3", "T-SEP", 240)])
    october = layout_route(
        scenario,
        "T2",
        oct1,
        1,
        8 * 3600,
        october_stops
        or [
            PlannedStop("00042", "T-OKT", 50),
            PlannedStop("P2", "T-OKT", 40),
            PlannedStop("P3", "T-OKT", 120),
        ],
    )
    unassigned = [
        {
            "drop_point": "P4",
            "tranche": tranche,
            "kg": 450,
            "sacks": 30,
            "reason_code": "solver",
            "reason": "The search found no trip for it within its budget.",
        }
        for tranche in ("T-SEP", "T-OKT")
    ]
    plan: dict[str, Any] = {
        "format_version": 1,
        "scenario": scenario.name,
        "status": "complete",
        "strategy": "default",
        "seed": 1,
        "solver": {},
        "kpis": {},
        "routes": [first, second, big, october],
        "unassigned": unassigned,
    }
    return refresh_kpis(scenario, plan)


def rules_of(violations: list[Violation]) -> set[str]:
    return {v.rule for v in violations}


def shift_route(route: dict[str, Any], seconds: int) -> None:
    """Move every time of a trip by ``seconds`` (same date)."""

    def moved(text: str) -> str:
        return (datetime.strptime(text, TIME_FORMAT) + timedelta(seconds=seconds)).strftime(
            TIME_FORMAT
        )

    route["depart"], route["return"] = moved(route["depart"]), moved(route["return"])
    for stop in route["stops"]:
        stop["arrive"], stop["depart"] = moved(stop["arrive"]), moved(stop["depart"])


def move_route_to(route: dict[str, Any], day: date) -> None:
    """Keep a trip's clock times but put it on another date."""
    old = date.fromisoformat(route["date"])
    shift_route(route, (day - old).days * 86_400)
    route["date"] = day.isoformat()


@pytest.fixture
def plan(tiny_scenario: Scenario) -> dict[str, Any]:
    return build_valid_plan(tiny_scenario)


# --------------------------------------------------------------------------------------------
# The valid plan.


def test_hand_built_plan_has_no_violations(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    assert check_plan(tiny_scenario, plan) == []


def test_hand_built_plan_kpis_match_hand_arithmetic(plan: dict[str, Any]) -> None:
    kpis = plan["kpis"]
    assert kpis["kg_delivered"] == 1500 + 450 + 1200 + 3600 + 750 + 600 + 1800
    assert kpis["kg_delivered_per_tranche"] == {"T-SEP": 6750, "T-OKT": 3150}
    assert kpis["kg_unassigned"] == 900
    assert kpis["trips"] == 4
    assert kpis["truck_days"] == 3
    assert kpis["families_served"] == 50 + 40 + 120
    assert kpis["last_delivery_date"] == "2020-10-01"


def test_plan_survives_a_json_round_trip(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    assert check_plan(tiny_scenario, json.loads(json.dumps(plan))) == []


def test_every_reported_rule_is_documented(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][0]["stops"][0]["kg"] = -1
    plan["routes"][1]["date"] = "2020-09-06"
    plan["unassigned"][0]["reason_code"] = "weather"
    violations = check_plan(tiny_scenario, plan)
    assert violations
    assert rules_of(violations) <= RULES
    assert all(v.message.endswith(".") for v in violations)


# --------------------------------------------------------------------------------------------
# Trips and dates.


def test_load_over_capacity_is_reported(plan: dict[str, Any]) -> None:
    scenario = make_tiny_scenario()
    small_t1 = replace(scenario.trucks[0], capacity_kg=1900.0)
    scenario = make_tiny_scenario(trucks=(small_t1, scenario.trucks[1]))
    violations = check_plan(scenario, plan)
    assert rules_of(violations) == {"capacity"}
    assert violations[0].route_index == 0
    assert "1950" in violations[0].message and "1900" in violations[0].message


def test_trip_on_a_sunday_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    move_route_to(plan["routes"][3], date(2020, 10, 4))
    refresh_kpis(tiny_scenario, plan)
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"working_day"}
    assert "Sunday" in violations[0].message


def test_trip_on_a_holiday_is_reported(plan: dict[str, Any]) -> None:
    scenario = make_tiny_scenario(calendar=Calendar(holidays=frozenset({date(2020, 10, 1)})))
    violations = check_plan(scenario, plan)
    assert rules_of(violations) == {"holiday"}
    assert [v.route_index for v in violations] == [3]


def test_trip_before_the_start_date_is_reported(plan: dict[str, Any]) -> None:
    scenario = make_tiny_scenario(start_date=date(2020, 9, 2))
    violations = check_plan(scenario, plan)
    assert rules_of(violations) == {"start_date"}
    assert sorted(v.route_index for v in violations if v.route_index is not None) == [0, 1, 2]


def test_delivery_outside_the_tranche_window_is_reported(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    move_route_to(plan["routes"][3], date(2020, 9, 30))
    refresh_kpis(tiny_scenario, plan)
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"tranche_window"}
    assert [v.stop_index for v in violations] == [0, 1, 2]


def test_route_date_differing_from_departure_date_is_reported(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    plan["routes"][3]["date"] = "2020-10-02"
    assert "route_date" in rules_of(check_plan(tiny_scenario, plan))


def test_arrival_before_opening_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][2]["stops"][0]["arrive"] = "2020-09-01T07:50:00"
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"time_window"}
    assert (violations[0].route_index, violations[0].stop_index) == (2, 0)
    assert "P3" in violations[0].message and "08:00:00" in violations[0].message


def test_arrival_after_closing_is_reported(plan: dict[str, Any]) -> None:
    scenario = make_tiny_scenario()
    early_close = replace(scenario.drop_points[2], close_s=8 * 3600 + 60)
    points = (*scenario.drop_points[:2], early_close, scenario.drop_points[3])
    violations = check_plan(make_tiny_scenario(drop_points=points), plan)
    assert rules_of(violations) == {"time_window"}
    assert violations[0].route_index == 3


def test_departure_before_shift_start_plus_loading_is_reported(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    shift_route(plan["routes"][0], -20 * 60)
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"shift_start"}
    assert "07:10:00" in violations[0].message and "07:30:00" in violations[0].message


def test_return_after_shift_end_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][3]["return"] = "2020-10-01T17:00:02"
    assert rules_of(check_plan(tiny_scenario, plan)) == {"shift_end"}


def test_return_one_second_after_shift_end_is_tolerated(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    plan["routes"][3]["return"] = "2020-10-01T17:00:01"
    assert check_plan(tiny_scenario, plan) == []


def test_overlapping_trips_are_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    shift_route(plan["routes"][1], -10 * 60)
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"trip_overlap"}
    assert violations[0].route_index == 1


def test_trips_numbered_against_departure_order_are_reported(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    plan["routes"][0]["trip"], plan["routes"][1]["trip"] = 2, 1
    assert rules_of(check_plan(tiny_scenario, plan)) == {"trip_numbering"}


def test_too_many_trips_a_day_are_reported(plan: dict[str, Any]) -> None:
    scenario = make_tiny_scenario()
    one_trip_t1 = replace(scenario.trucks[0], max_trips_per_day=1)
    violations = check_plan(make_tiny_scenario(trucks=(one_trip_t1, scenario.trucks[1])), plan)
    assert rules_of(violations) == {"max_trips"}
    assert violations[0].route_index == 1


def test_unknown_truck_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][0]["truck"] = "T9"
    assert "unknown_truck" in rules_of(check_plan(tiny_scenario, plan))


def test_unknown_warehouse_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][0]["warehouse"] = "W9"
    assert rules_of(check_plan(tiny_scenario, plan)) == {"unknown_warehouse", "warehouse"}


def test_trip_from_another_warehouse_than_its_trucks_is_reported(plan: dict[str, Any]) -> None:
    twin = Warehouse("W2", "Gudang kembar", DRAMAGA[0], DRAMAGA[1], 100_000.0)
    scenario = make_tiny_scenario(warehouses=(*make_tiny_scenario().warehouses, twin))
    plan["routes"][0]["warehouse"] = "W2"
    assert rules_of(check_plan(scenario, plan)) == {"warehouse"}


def test_empty_trip_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][1]["stops"] = []
    assert "empty_trip" in rules_of(check_plan(tiny_scenario, plan))


# --------------------------------------------------------------------------------------------
# Stops.


def test_wrong_sacks_are_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][0]["stops"][0]["sacks"] = 99
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"sacks"}
    assert (violations[0].route_index, violations[0].stop_index) == (0, 0)


def test_fractional_sacks_are_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][0]["stops"][0]["sacks"] = 100.0
    assert "format" in rules_of(check_plan(tiny_scenario, plan))


def test_non_positive_kg_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["unassigned"][0]["kg"] = 0
    plan["unassigned"][0]["sacks"] = 0
    assert "kg" in rules_of(check_plan(tiny_scenario, plan))


def test_leg_driven_too_fast_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    route = plan["routes"][0]
    route["stops"][0]["arrive"] = _at(date(2020, 9, 1), _seconds_of(route["depart"]) + 60)
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"leg_time"}
    assert (violations[0].route_index, violations[0].stop_index) == (0, 0)


def test_return_leg_driven_too_fast_is_reported(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    route = plan["routes"][0]
    route["return"] = _at(date(2020, 9, 1), _seconds_of(route["stops"][-1]["depart"]) + 10)
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"leg_time"}
    assert violations[0].stop_index is None


def test_leg_one_second_short_is_tolerated(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    # The hand layout rounds each leg up, so one second less is still within the model's time.
    stop = plan["routes"][0]["stops"][0]
    stop["arrive"] = _at(date(2020, 9, 1), _seconds_of(stop["arrive"]) - 1)
    assert check_plan(tiny_scenario, plan) == []


def test_service_too_short_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    stop = plan["routes"][0]["stops"][0]
    stop["depart"] = _at(date(2020, 9, 1), _seconds_of(stop["arrive"]) + 60)
    assert rules_of(check_plan(tiny_scenario, plan)) == {"service_time"}


@pytest.mark.parametrize(
    ("stop_index", "stay_s"),
    [
        (0, 15 * 60),  # 00042, 1500 kg: the per-100-kg minutes are missing
        (1, math.ceil((15 + 4.5) * 60)),  # P4: its own 20 min, not the default 15, applies
    ],
)
def test_service_formula_counts_kg_and_point_override(
    tiny_scenario: Scenario, plan: dict[str, Any], stop_index: int, stay_s: int
) -> None:
    stop = plan["routes"][0]["stops"][stop_index]
    stop["depart"] = _at(date(2020, 9, 1), _seconds_of(stop["arrive"]) + stay_s)
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"service_time"}
    assert violations[0].stop_index == stop_index


def test_duplicate_stop_in_a_trip_is_reported(tiny_scenario: Scenario) -> None:
    split = [
        PlannedStop("00042", "T-OKT", 25),
        PlannedStop("00042", "T-OKT", 25),
        PlannedStop("P2", "T-OKT", 40),
        PlannedStop("P3", "T-OKT", 120),
    ]
    plan = build_valid_plan(tiny_scenario, october_stops=split)
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"duplicate_stop"}
    assert (violations[0].route_index, violations[0].stop_index) == (3, 1)


def test_unknown_drop_point_in_a_stop_is_reported(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    plan["routes"][0]["stops"][0]["drop_point"] = "P9"
    assert "unknown_drop_point" in rules_of(check_plan(tiny_scenario, plan))


def test_wrong_distance_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][0]["distance_km"] += 0.01
    refresh_kpis(tiny_scenario, plan)
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"distance"}


def test_distance_rounding_is_tolerated(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][0]["distance_km"] += 0.0009
    assert check_plan(tiny_scenario, plan) == []


def test_wrong_load_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][0]["load_kg"] = 1900
    assert rules_of(check_plan(tiny_scenario, plan)) == {"load"}


# --------------------------------------------------------------------------------------------
# Plan-wide rules.


def test_stock_exceeded_is_reported(plan: dict[str, Any]) -> None:
    small = Warehouse("W1", "Gudang Dramaga", DRAMAGA[0], DRAMAGA[1], 9000.0)
    violations = check_plan(make_tiny_scenario(warehouses=(small,)), plan)
    assert rules_of(violations) == {"stock"}
    assert "9900" in violations[0].message and "9000" in violations[0].message


def test_kg_not_conserved_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["unassigned"][1].update(kg=435, sacks=29)
    refresh_kpis(tiny_scenario, plan)
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"conservation"}
    assert "P4" in violations[0].message and "T-OKT" in violations[0].message


def test_missing_unassigned_entry_breaks_conservation(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    del plan["unassigned"][0]
    refresh_kpis(tiny_scenario, plan)
    assert rules_of(check_plan(tiny_scenario, plan)) == {"conservation"}


def test_duplicate_unassigned_entry_is_reported(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    plan["unassigned"].append(dict(plan["unassigned"][0]))
    assert "duplicate_unassigned" in rules_of(check_plan(tiny_scenario, plan))


def test_unassigned_with_unknown_tranche_is_reported(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    plan["unassigned"][0]["tranche"] = "T-NOV"
    assert "unknown_tranche" in rules_of(check_plan(tiny_scenario, plan))


def test_wrong_unassigned_sacks_are_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["unassigned"][0]["sacks"] = 29
    assert rules_of(check_plan(tiny_scenario, plan)) == {"sacks"}


def test_bad_reason_code_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["unassigned"][0]["reason_code"] = "weather"
    assert rules_of(check_plan(tiny_scenario, plan)) == {"reason_code"}


def test_empty_reason_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["unassigned"][0]["reason"] = "  "
    assert rules_of(check_plan(tiny_scenario, plan)) == {"reason"}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("kg_delivered", 9915),
        ("kg_delivered_per_tranche", {"T-SEP": 6750, "T-OKT": 3000}),
        ("kg_unassigned", 450),
        ("distance_km", 1.0),
        ("trips", 5),
        ("truck_days", 4),
        ("families_served", 240),
        ("last_delivery_date", "2020-09-01"),
        ("families_served_per_tranche", {"T-SEP": 0, "T-OKT": 0}),
        ("cost", 0.0),
    ],
)
def test_kpi_mismatch_is_reported(
    tiny_scenario: Scenario, plan: dict[str, Any], key: str, value: object
) -> None:
    plan["kpis"][key] = value
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"kpis"}
    assert key in violations[0].message


def test_missing_kpi_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    del plan["kpis"]["kg_delivered"]
    assert rules_of(check_plan(tiny_scenario, plan)) == {"kpis"}


# --------------------------------------------------------------------------------------------
# Malformed data.


def test_bad_time_string_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][0]["stops"][0]["arrive"] = "2020-09-01 08:00"
    violations = check_plan(tiny_scenario, plan)
    assert "time_format" in rules_of(violations)
    bad = next(v for v in violations if v.rule == "time_format")
    assert (bad.route_index, bad.stop_index) == (0, 0)


def test_impossible_date_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    plan["routes"][0]["date"] = "2020-02-30"
    assert "time_format" in rules_of(check_plan(tiny_scenario, plan))


def test_missing_route_field_is_reported(tiny_scenario: Scenario, plan: dict[str, Any]) -> None:
    del plan["routes"][0]["depart"]
    violations = check_plan(tiny_scenario, plan)
    assert "format" in rules_of(violations)
    assert any("'depart'" in v.message for v in violations)


@pytest.mark.parametrize("bad_plan", [[], "plan", None, {}, {"routes": "x", "unassigned": 3}])
def test_malformed_plan_gives_violations_not_exceptions(
    tiny_scenario: Scenario, bad_plan: Any
) -> None:
    violations = check_plan(tiny_scenario, bad_plan)
    assert "format" in rules_of(violations)


def test_plan_file_is_checked(
    tiny_scenario: Scenario, plan: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    assert check_plan_file(tiny_scenario, path) == []


@pytest.mark.parametrize("content", [None, "{not json", b"\xff\xfe\x00"])
def test_unreadable_plan_file_is_one_violation(
    tiny_scenario: Scenario, tmp_path: Path, content: str | bytes | None
) -> None:
    path = tmp_path / "plan.json"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    violations = check_plan_file(tiny_scenario, path)
    assert [v.rule for v in violations] == ["file"]


# --------------------------------------------------------------------------------------------
# Robustness: perturbed plans give violations, never exceptions.

TIME_FIELDS = st.sampled_from(["depart", "return", "arrive", "stop_depart"])
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=25),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _set_time(plan: dict[str, Any], route_pick: int, stop_pick: int, name: str, value: Any) -> None:
    route = plan["routes"][route_pick % len(plan["routes"])]
    if name in ("depart", "return"):
        route[name] = value(route[name]) if callable(value) else value
        return
    stop = route["stops"][stop_pick % len(route["stops"])]
    key = "depart" if name == "stop_depart" else name
    stop[key] = value(stop[key]) if callable(value) else value


@given(
    changes=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, 3),
            TIME_FIELDS,
            st.integers(-2 * 86_400, 2 * 86_400) | st.text(max_size=25),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_perturbed_times_never_raise(changes: list[tuple[int, int, str, int | str]]) -> None:
    scenario = make_tiny_scenario()
    plan = build_valid_plan(scenario)
    for route_pick, stop_pick, name, change in changes:
        if isinstance(change, int):
            delta = timedelta(seconds=change)

            def moved(text: str, delta: timedelta = delta) -> str:
                return (datetime.strptime(text, TIME_FORMAT) + delta).strftime(TIME_FORMAT)

            # A ValueError means an earlier change already made this field unparsable.
            with contextlib.suppress(ValueError):
                _set_time(plan, route_pick, stop_pick, name, moved)
        else:
            _set_time(plan, route_pick, stop_pick, name, change)
    violations = check_plan(scenario, plan)
    assert all(isinstance(v, Violation) and v.rule in RULES for v in violations)


@given(
    route_pick=st.integers(0, 3),
    key=st.sampled_from(
        [
            "truck",
            "warehouse",
            "date",
            "trip",
            "depart",
            "return",
            "distance_km",
            "load_kg",
            "stops",
            "stop.drop_point",
            "stop.tranche",
            "stop.kg",
            "stop.sacks",
            "stop.arrive",
            "unassigned.kg",
            "unassigned.sacks",
            "unassigned.reason_code",
            "kpis",
            "routes",
        ]
    ),
    value=JSON_VALUES,
)
def test_arbitrary_json_values_never_raise(route_pick: int, key: str, value: Any) -> None:
    scenario = make_tiny_scenario()
    plan = build_valid_plan(scenario)
    route = plan["routes"][route_pick]
    if key.startswith("stop."):
        route["stops"][0][key.removeprefix("stop.")] = value
    elif key.startswith("unassigned."):
        plan["unassigned"][route_pick % 2][key.removeprefix("unassigned.")] = value
    elif key in ("kpis", "routes"):
        plan[key] = value
    else:
        route[key] = value
    violations = check_plan(scenario, copy.deepcopy(plan))
    assert all(isinstance(v, Violation) and v.rule in RULES for v in violations)


# --------------------------------------------------------------------------------------------
# Independence from the planner.


def test_checker_does_not_import_ortools_or_solver_modules() -> None:
    forbidden = ("ortools", "optimizer.solver", "optimizer.routing", "optimizer.solution")
    code = (
        "import sys, optimizer.checker\n"
        f"bad = [m for m in sys.modules if m.startswith({forbidden!r})]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=CHECKER_PATH.parents[1],
    )
    assert result.returncode == 0, result.stderr


def test_checker_imports_only_the_model_errors_and_the_standard_library() -> None:
    tree = ast.parse(CHECKER_PATH.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    allowed_own = {"optimizer.model", "optimizer.errors"}
    outside = {
        name
        for name in imported
        if name not in allowed_own and name.split(".")[0] not in sys.stdlib_module_names
    }
    assert outside == set()


# --------------------------------------------------------------------------------------------
# Whole families and true stock reasons.


def test_a_split_ration_is_reported(tiny_scenario: Scenario) -> None:
    # 99 sacks of 15 kg to 00042 in September are 49.5 rations of 30 kg: half a family.
    plan = build_valid_plan(tiny_scenario)
    sep1 = date(2020, 9, 1)
    plan["routes"][0] = layout_route(
        tiny_scenario,
        "T1",
        sep1,
        1,
        7 * 3600 + 1800,
        [PlannedStop("00042", "T-SEP", 99), PlannedStop("P4", "T-SEP", 31)],
    )
    second = plan["routes"][1]
    shift_route(
        second, _seconds_of(plan["routes"][0]["return"]) + 1800 - _seconds_of(second["depart"])
    )
    plan["unassigned"][0].update(kg=435, sacks=29)
    plan["unassigned"].append(
        {
            "drop_point": "00042",
            "tranche": "T-SEP",
            "kg": 15,
            "sacks": 1,
            "reason_code": "solver",
            "reason": "Half a family left over.",
        }
    )
    refresh_kpis(tiny_scenario, plan)
    violations = check_plan(tiny_scenario, plan)
    assert rules_of(violations) == {"ration"}
    messages = " ".join(v.message for v in violations)
    assert "49.5 rations" in messages and "0.5 rations" in messages and "14.5 rations" in messages


@pytest.mark.parametrize(
    ("stock_kg", "flagged"),
    [
        (9900.0, set()),  # everything shipped: stock is the true reason
        (9914.0, set()),  # 14 kg left: less than any family's ration
        (9915.0, {"T-OKT"}),  # one October ration (15 kg) left, not a September one (30 kg)
        (9930.0, {"T-SEP", "T-OKT"}),
    ],
)
def test_stock_reason_with_a_ration_left_in_reach_is_reported(
    plan: dict[str, Any], stock_kg: float, flagged: set[str]
) -> None:
    scenario = make_tiny_scenario(
        warehouses=(Warehouse("W1", "Gudang Dramaga", DRAMAGA[0], DRAMAGA[1], stock_kg),)
    )
    for entry in plan["unassigned"]:
        entry["reason_code"] = "stock"
    violations = [v for v in check_plan(scenario, plan) if v.rule == "stock_reason"]
    assert {v.message.split("tranche ")[1].split(")")[0] for v in violations} == flagged
    assert all("W1" in v.message for v in violations)


def test_stock_reason_is_true_when_the_warehouse_with_stock_cannot_reach(
    plan: dict[str, Any],
) -> None:
    # A second warehouse full of rice, but with no truck: it reaches nobody.
    far = Warehouse("W9", "Gudang jauh", 106.9, -6.5, 50_000.0)
    scenario = make_tiny_scenario(
        warehouses=(Warehouse("W1", "Gudang Dramaga", DRAMAGA[0], DRAMAGA[1], 9900.0), far)
    )
    for entry in plan["unassigned"]:
        entry["reason_code"] = "stock"
    assert "stock_reason" not in rules_of(check_plan(scenario, plan))


# --------------------------------------------------------------------------------------------
# Plans on roads: legs from the plan's travel/legs.csv.


def _straight_legs(scenario: Scenario, access: str = "all") -> dict[tuple[str, str, str], Any]:
    """Every ordered pair of places, at the straight line's km and whole seconds."""
    places = [*scenario.warehouses, *scenario.drop_points]
    legs = {}
    for a in places:
        for b in places:
            km = haversine_km(a.lon, a.lat, b.lon, b.lat) * scenario.travel.circuity
            legs[(a.id, b.id, access)] = (km, math.ceil(km / scenario.travel.speed_kmh * 3600))
    return legs


def _on_roads(scenario: Scenario, source: str = "matrix") -> Scenario:
    return replace(
        scenario,
        travel=replace(scenario.travel, source=source, matrix_file="m.csv", osm_file="r.pbf"),
    )


def test_a_plan_on_legs_equal_to_the_straight_line_passes(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    assert check_plan(_on_roads(tiny_scenario), plan, _straight_legs(tiny_scenario)) == []


def test_a_plan_on_roads_without_its_legs_is_one_violation(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    (violation,) = check_plan(_on_roads(tiny_scenario, "osm"), plan)
    assert violation.rule == "leg" and "travel/legs.csv" in violation.message


def test_a_leg_the_legs_do_not_hold_is_reported(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    legs = _straight_legs(tiny_scenario)
    del legs[("00042", "P4", "all")]  # trip 1 of T1 drives it
    violations = check_plan(_on_roads(tiny_scenario), plan, legs)
    assert rules_of(violations) == {"leg"}
    assert violations[0].route_index == 0 and "00042 to P4" in violations[0].message


def test_leg_times_and_distances_come_from_the_legs(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    legs = _straight_legs(tiny_scenario)
    km, seconds = legs[("P3", "W1", "all")]  # the way back of T2's first trip, and October's
    legs[("P3", "W1", "all")] = (km + 2.0, seconds + 600)
    violations = check_plan(_on_roads(tiny_scenario), plan, legs)
    assert rules_of(violations) == {"leg_time", "distance"}
    assert {v.route_index for v in violations} == {2, 3}


def test_a_big_truck_may_not_drive_a_leg_only_small_trucks_have(
    tiny_scenario: Scenario, plan: dict[str, Any]
) -> None:
    scenario = _on_roads(tiny_scenario, "osm")
    small = _straight_legs(tiny_scenario, "small")
    big = {
        key: value
        for key, value in _straight_legs(tiny_scenario, "big").items()
        if "P3" not in key  # P3 lies behind a track
    }
    violations = check_plan(scenario, plan, {**small, **big})
    # T2 (5 t: big) serves P3 on trips 3 and 4; T1 (2 t: small) never goes there.
    assert rules_of(violations) == {"leg"}
    assert {v.route_index for v in violations} == {2, 3}
    assert all("'big'" in v.message for v in violations)
    # The same plan with P3 given to trucks of type CDD as small ones passes.
    as_small = replace(scenario, travel=replace(scenario.travel, access=(("CDD", "small"),)))
    assert check_plan(as_small, plan, {**small, **big}) == []


def test_stock_reason_reach_uses_the_legs(plan: dict[str, Any]) -> None:
    scenario = _on_roads(
        make_tiny_scenario(
            warehouses=(Warehouse("W1", "Gudang Dramaga", DRAMAGA[0], DRAMAGA[1], 9930.0),)
        )
    )
    for entry in plan["unassigned"]:
        entry["reason_code"] = "stock"
    legs = _straight_legs(scenario)
    assert "stock_reason" in rules_of(check_plan(scenario, plan, legs))
    # No road back from P4 (the unassigned point): W1 cannot serve it, stock is the reason
    # given, and no trip drives that leg.
    del legs[("P4", "W1", "all")]
    plan["routes"][0]["stops"] = plan["routes"][0]["stops"][:1]
    violations = check_plan(scenario, plan, legs)
    assert "stock_reason" not in rules_of(violations)


def test_check_plan_file_reads_the_legs_beside_the_plan(
    tiny_scenario: Scenario, plan: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    (tmp_path / "travel").mkdir()
    rows = ["from,to,access,distance_km,duration_s"] + [
        f"{a},{b},{access},{km!r},{seconds}"
        for (a, b, access), (km, seconds) in _straight_legs(tiny_scenario).items()
    ]
    (tmp_path / "travel" / "legs.csv").write_text("\n".join(rows) + "\n")
    assert check_plan_file(_on_roads(tiny_scenario), tmp_path / "plan.json") == []
    (tmp_path / "travel" / "legs.csv").write_text(rows[0] + "\nW1,P2,all,x,1\n")
    (violation,) = check_plan_file(_on_roads(tiny_scenario), tmp_path / "plan.json")
    assert violation.rule == "file" and "row 2" in violation.message
