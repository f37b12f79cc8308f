"""Tests of the reasons' facts and their English sentences (optimizer.reasons)."""

from __future__ import annotations

import json
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from optimizer.reasons import (
    ReasonCode,
    ReasonFacts,
    english_reason,
    facts_from_dict,
    facts_to_dict,
)

facts_strategy = st.builds(
    ReasonFacts,
    warehouses=st.lists(st.text(min_size=1, max_size=5), max_size=3).map(tuple),
    leftover_kg=st.lists(st.integers(0, 10**6).map(float), max_size=3).map(tuple),
    ration_kg=st.none() | st.sampled_from([15.0, 30.0]),
    distance_km=st.none() | st.floats(0, 500).map(lambda v: round(v, 3)),
    open_s=st.none() | st.integers(0, 86_400),
    trucks=st.none() | st.integers(0, 50),
    first_day=st.none() | st.dates(date(2020, 1, 1), date(2021, 1, 1)),
    no_trucks=st.booleans(),
    small_only=st.booleans(),
    road=st.none() | st.text(min_size=1, max_size=12),
    snap_km=st.none() | st.floats(0, 50).map(lambda v: round(v, 3)),
    max_snap_km=st.none() | st.sampled_from([0.5, 1.0]),
)


@given(facts_strategy)
def test_facts_survive_a_json_round_trip(facts: ReasonFacts) -> None:
    assert facts_from_dict(json.loads(json.dumps(facts_to_dict(facts)))) == facts


@given(st.sampled_from(list(ReasonCode)), facts_strategy)
def test_every_code_gives_a_sentence(code: ReasonCode, facts: ReasonFacts) -> None:
    text = english_reason(code, facts, "P1", "T-SEP")
    assert text.strip() and text.endswith(".")


def test_stock_sentence_names_every_warehouse_in_reach_and_its_leftover() -> None:
    facts = ReasonFacts(warehouses=("W01", "W02"), leftover_kg=(14.0, 0.0), ration_kg=15.0)
    text = english_reason(ReasonCode.STOCK, facts, "P1", "T-OKT")
    assert "W01 14 kg" in text and "W02 0 kg" in text and "(15 kg)" in text


def test_fleet_sentence_says_the_fleet_is_short_before_the_deadline() -> None:
    facts = ReasonFacts(
        warehouses=("W01",),
        trucks=5,
        trip_h=5.5,
        trip_kg=4620.0,
        working_days=3,
        first_day=date(2020, 10, 1),
        deadline=date(2020, 10, 3),
    )
    text = english_reason(ReasonCode.FLEET_TIME, facts, "P1", "T-OKT")
    assert text.startswith("Not enough fleet before the deadline")
    assert "5.5 h trip (4,620 kg)" in text and "2020-10-03" in text


def test_facts_left_unset_are_not_written() -> None:
    assert facts_to_dict(ReasonFacts()) == {}
    assert facts_to_dict(ReasonFacts(warehouses=("W1",), ration_kg=30.0)) == {
        "warehouses": ["W1"],
        "ration_kg": 30,
    }


def test_no_road_says_how_far_the_nearest_usable_road_is() -> None:
    facts = ReasonFacts(road="Jalan Cibuntu", snap_km=2.3, max_snap_km=0.5)
    text = english_reason(ReasonCode.NO_ROAD, facts, "P7", "T-SEP")
    assert "nearest usable road 2.3 km away (Jalan Cibuntu)" in text
    assert "0.5 km" in text
    # Near a road, but no road connects it: said so, not a distance.
    near = ReasonFacts(road="Jalan Cibuntu", snap_km=0.1, max_snap_km=0.5)
    assert "connects drop point P7" in english_reason(ReasonCode.NO_ROAD, near, "P7", "T-SEP")


def test_capacity_of_a_small_truck_point_names_the_road() -> None:
    facts = ReasonFacts(small_only=True, road="Jalan Setapak")
    text = english_reason(ReasonCode.CAPACITY, facts, "P7", "T-SEP")
    assert text.startswith("Only small trucks can reach drop point P7")
    assert "Jalan Setapak is closed to big trucks" in text
