"""Tests of optimizer.builder: a scenario built in code is checked as one read from files."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from geodata.sample import make_sample
from geodata.scenario_io import read_scenario
from geodata.scenario_writer import write_scenario
from optimizer.builder import (
    MAX_KPM_PER_POINT,
    NUMBER_BOUNDS,
    Origin,
    ScenarioBuilder,
    check_scenario,
    normalise_id,
)
from optimizer.errors import MAX_LISTED_PROBLEMS, InputError, Problem, ProblemCollector
from optimizer.model import Calendar, DropPoint, Scenario, Tranche, Truck, Warehouse
from optimizer.progress import ReplanSettings
from tests.conftest import make_tiny_scenario


def problems_of(scenario: Scenario) -> tuple[Problem, ...]:
    with pytest.raises(InputError) as caught:
        check_scenario(scenario)
    return caught.value.problems


def where(problems: tuple[Problem, ...]) -> list[tuple[str, int | None, str | None]]:
    return [(p.file, p.row, p.field) for p in problems]


def settings_only() -> ScenarioBuilder:
    builder = ScenarioBuilder()
    builder.set_settings(name="code", start_date=date(2020, 9, 1))
    return builder


# --------------------------------------------------------------------------------------------
# Valid scenarios pass unchanged


def test_the_tiny_fixture_is_a_valid_scenario() -> None:
    assert check_scenario(make_tiny_scenario()) == make_tiny_scenario()


def test_the_sample_is_built_through_the_checks() -> None:
    sample = make_sample(n_drop_points=30, seed=3)
    assert check_scenario(sample) == sample


def test_check_scenario_keeps_every_setting_including_the_boundaries_file() -> None:
    scenario = dataclasses.replace(make_tiny_scenario(), boundaries_file="desa.gpkg")
    assert check_scenario(scenario) == scenario


def test_objects_may_come_in_any_order_when_checked_at_build() -> None:
    tiny = make_tiny_scenario()
    builder = ScenarioBuilder()
    for tranche in tiny.tranches:
        builder.add_tranche(*dataclasses.astuple(tranche))
    for point in tiny.drop_points:
        builder.add_drop_point(
            point.id,
            point.name,
            point.lon,
            point.lat,
            point.kpm,
            desa=point.desa,
            kecamatan=point.kecamatan,
            rt=point.rt,
            rw=point.rw,
            open_s=point.open_s,
            close_s=point.close_s,
            service_min=point.service_min,
        )
    for truck in tiny.trucks:
        builder.add_truck(
            truck.id,
            truck.warehouse_id,
            truck.capacity_kg,
            shift_start_s=truck.shift_start_s,
            shift_end_s=truck.shift_end_s,
            cost_per_km=truck.cost_per_km,
            cost_per_day=truck.cost_per_day,
            max_trips_per_day=truck.max_trips_per_day,
            type=truck.type,
        )
    for warehouse in tiny.warehouses:
        builder.add_warehouse(
            warehouse.id, warehouse.name, warehouse.lon, warehouse.lat, warehouse.stock_kg
        )
    builder.set_settings(
        name=tiny.name, start_date=tiny.start_date, calendar=tiny.calendar, solver=tiny.solver
    )
    assert builder.build() == tiny


def test_a_truck_without_shift_or_costs_takes_the_scenarios() -> None:
    builder = settings_only()
    builder.set_settings(
        name="code",
        start_date=date(2020, 9, 1),
        calendar=Calendar(shift_start_s=6 * 3600, shift_end_s=15 * 3600),
        cost_per_km=4000.0,
        cost_per_day=500_000.0,
    )
    builder.add_warehouse("W1", "Gudang", 106.74, -6.57, 1000.0)
    builder.add_truck("T1", "W1", 2000.0)
    builder.add_drop_point("P1", "RW 01", 106.75, -6.56, 10)
    builder.add_tranche("R1", "September", 15.0, date(2020, 9, 1), date(2020, 9, 30))
    truck = builder.build().truck("T1")
    assert truck == Truck("T1", "W1", 2000.0, 6 * 3600, 15 * 3600, 4000.0, 500_000.0, None, "")


def test_ids_are_folded_when_built() -> None:
    builder = settings_only()
    builder.add_warehouse("\uff37\u200b1", "Gudang", 106.74, -6.57, 1000.0)  # full-width W, ZWSP
    builder.add_truck(" T1", "W1\ufeff", 2000.0)
    builder.add_drop_point("P1", "RW 01", 106.75, -6.56, 10)
    builder.add_tranche("R1", "September", 15.0, date(2020, 9, 1), date(2020, 9, 30))
    scenario = builder.build()
    assert (scenario.warehouses[0].id, scenario.trucks[0].id) == ("W1", "T1")
    assert scenario.trucks[0].warehouse_id == "W1"


# --------------------------------------------------------------------------------------------
# Every problem at once, named as in the tables the scenario writer would write


def test_a_bad_scenario_built_in_code_lists_every_problem_at_once() -> None:
    tiny = make_tiny_scenario()
    scenario = dataclasses.replace(
        tiny,
        warehouses=(dataclasses.replace(tiny.warehouses[0], lon=-6.57, lat=106.74),),
        trucks=(
            dataclasses.replace(tiny.trucks[0], warehouse_id="W9"),
            dataclasses.replace(tiny.trucks[1], id="T1", capacity_kg=10.0),
        ),
        drop_points=(
            dataclasses.replace(tiny.drop_points[0], kpm=MAX_KPM_PER_POINT + 1),
            *tiny.drop_points[1:],
        ),
        tranches=(
            dataclasses.replace(tiny.tranches[0], kg_per_kpm=20.0),
            dataclasses.replace(
                tiny.tranches[1], release=date(2020, 10, 4), deadline=date(2020, 10, 4)
            ),
        ),
    )
    problems = problems_of(scenario)
    assert where(problems) == [
        ("warehouses", 2, "lon/lat"),
        ("trucks", 2, "warehouse_id"),
        ("trucks", 3, "id"),
        ("trucks", 3, "capacity_kg"),
        ("drop_points", 2, "kpm"),
        ("tranches", 2, "kg_per_kpm"),
        ("tranches", 3, "release/deadline"),
    ]
    messages = [p.message for p in problems]
    assert "latitude and longitude look swapped" in messages[0]
    assert messages[1].startswith("unknown warehouse 'W9'")
    assert messages[2].startswith("duplicate id 'T1' (first used in row 2)")
    assert "less than one 15 kg sack" in messages[3]
    assert f"<= {MAX_KPM_PER_POINT}" in messages[4]
    assert messages[5].endswith("e.g. 15 or 30")
    assert "2020-10-04 (Sunday) is not a working day" in messages[6]


def test_missing_values_and_settings_are_problems() -> None:
    builder = ScenarioBuilder()
    builder.add_drop_point(None, "", 106.75, -6.56, None)
    with pytest.raises(InputError) as caught:
        builder.build()
    found = where(caught.value.problems)
    assert ("scenario.toml", None, "name") in found
    assert ("drop_points", 2, "id") in found
    assert ("drop_points", 2, "name") in found
    assert ("drop_points", 2, "kpm") in found
    assert ("warehouses", None, None) in found  # no warehouse at all
    assert ("tranches", None, None) in found


def test_settings_out_of_range_are_problems() -> None:
    scenario = make_tiny_scenario()
    bad = dataclasses.replace(
        scenario,
        sack_kg=0.0,
        timezone="Mars/Olympus",
        travel=dataclasses.replace(scenario.travel, circuity=0.5),
        calendar=Calendar(shift_start_s=17 * 3600, shift_end_s=7 * 3600),
    )
    problems = problems_of(bad)
    assert where(problems)[:4] == [
        ("scenario.toml", None, "sack_kg"),
        ("scenario.toml", None, "travel.circuity"),
        ("scenario.toml", None, "timezone"),
        ("scenario.toml", None, "calendar.shift_end"),
    ]
    assert "it must be >= 1" in problems[1].message


def test_replan_settings_out_of_range_are_problems() -> None:
    scenario = dataclasses.replace(
        make_tiny_scenario(),
        replan=ReplanSettings(replacement_days=0, move_cost_per_kpm_day=-1.0, freeze_days=2),
    )
    problems = problems_of(scenario)
    assert where(problems) == [
        ("scenario.toml", None, "replan.replacement_days"),
        ("scenario.toml", None, "replan.move_cost_per_kpm_day"),
    ]
    good = dataclasses.replace(scenario, replan=ReplanSettings(freeze_days=0))
    assert check_scenario(good) == good


def test_non_finite_numbers_are_problems() -> None:
    tiny = make_tiny_scenario()
    scenario = dataclasses.replace(
        tiny, warehouses=(dataclasses.replace(tiny.warehouses[0], stock_kg=float("nan")),)
    )
    (problem,) = problems_of(scenario)
    assert (problem.file, problem.row, problem.field) == ("warehouses", 2, "stock_kg")


def test_values_of_the_wrong_type_are_problems_not_tracebacks() -> None:
    builder = settings_only()
    builder.add_warehouse(7, "Gudang", "106.74", -6.57, True)  # type: ignore[arg-type]
    builder.add_truck("T1", "W1", 2000.0, shift_start_s=7.5)  # type: ignore[arg-type]
    builder.add_drop_point("P1", "RW", 106.75, -6.56, 10, open_s=90_000)
    builder.add_tranche("R1", "Sep", 15.0, "2020-09-01", date(2020, 9, 30))  # type: ignore[arg-type]
    with pytest.raises(InputError) as caught:
        builder.build()
    assert where(caught.value.problems) == [
        ("warehouses", 2, "id"),
        ("warehouses", 2, "lon"),
        ("warehouses", 2, "stock_kg"),
        ("trucks", 2, "warehouse_id"),  # W1 was never built: its id was not a text
        ("trucks", 2, "shift_start"),
        ("drop_points", 2, "open"),
        ("tranches", 2, "release"),
    ]


@given(kpm=st.floats(-10.0, MAX_KPM_PER_POINT + 10.0, allow_nan=False))
@example(kpm=2.5)
@example(kpm=float(MAX_KPM_PER_POINT))
def test_kpm_is_accepted_exactly_when_whole_and_in_range(kpm: float) -> None:
    builder = settings_only()
    builder.add_warehouse("W1", "Gudang", 106.74, -6.57, 1000.0)
    builder.add_truck("T1", "W1", 2000.0)
    builder.add_drop_point("P1", "RW 01", 106.75, -6.56, kpm)
    builder.add_tranche("R1", "September", 15.0, date(2020, 9, 1), date(2020, 9, 30))
    bounds = NUMBER_BOUNDS["drop_points.kpm"]
    valid = kpm.is_integer() and bounds.low <= kpm <= bounds.high
    if valid:
        assert builder.build().drop_points[0].kpm == int(kpm)
    else:
        with pytest.raises(InputError) as caught:
            builder.build()
        assert where(caught.value.problems) == [("drop_points", 2, "kpm")]


def test_a_thousand_problems_are_listed_and_the_rest_counted() -> None:
    builder = settings_only()
    builder.add_warehouse("W1", "Gudang", 106.74, -6.57, 1000.0)
    builder.add_truck("T1", "W1", 2000.0)
    for index in range(MAX_LISTED_PROBLEMS + 20):
        builder.add_drop_point(f"P{index}", "RW", 106.75, -6.56, -1)
    builder.add_tranche("R1", "September", 15.0, date(2020, 9, 1), date(2020, 9, 30))
    with pytest.raises(InputError) as caught:
        builder.build()
    assert caught.value.total == MAX_LISTED_PROBLEMS + 20
    assert "20 more problems were found" in caught.value.problems[-1].message


# --------------------------------------------------------------------------------------------
# Origins: how a reader hands its rows over


def test_an_origin_names_the_file_row_and_feature() -> None:
    builder = settings_only()
    origin = Origin("points.geojson", 7, feature=True, place_field="geometry", place_note=" (x)")
    builder.add_drop_point("P1", "RW", 10.0, 50.0, 10, origin=origin)
    builder.check()
    problems = [p for p in builder._problems if p.file == "points.geojson"]
    assert where(tuple(problems)) == [
        ("points.geojson", 7, "geometry"),
        ("points.geojson", 7, "geometry"),
    ]
    assert problems[0].message.startswith("feature 7: longitude 10 (x) is outside Indonesia")


def test_problems_reported_by_the_source_are_not_repeated_and_come_in_field_order() -> None:
    collector = ProblemCollector()
    builder = ScenarioBuilder(problems=collector, check_as_added=True)
    builder.set_settings(name="code", start_date=date(2020, 9, 1))
    builder.add_warehouse("W1", "Gudang", 106.74, -6.57, 1000.0)
    unreadable = Problem("trucks.csv", "'2 t' is not a number", row=2, field="capacity_kg")
    builder.add_truck(
        "T1",
        "W9",
        None,
        origin=Origin("trucks.csv", 2, reported=frozenset({"capacity_kg"}), problems=(unreadable,)),
    )
    builder.check()
    assert where(tuple(collector))[:2] == [
        ("trucks.csv", 2, "warehouse_id"),  # the builder's, left of the cell the source read
        ("trucks.csv", 2, "capacity_kg"),
    ]
    assert [p for p in collector if p.field == "capacity_kg"] == [unreadable]


def test_checking_as_added_asks_for_the_readers_order() -> None:
    builder = ScenarioBuilder(check_as_added=True)
    with pytest.raises(ValueError, match="settings first"):
        builder.add_warehouse("W1", "Gudang", 106.74, -6.57, 1000.0)
    builder.set_settings(name="code", start_date=date(2020, 9, 1))
    builder.add_truck("T1", "W1", 2000.0)
    with pytest.raises(ValueError, match="a warehouse came too late"):
        builder.add_warehouse("W1", "Gudang", 106.74, -6.57, 1000.0)


def test_settings_are_checked_when_added_even_without_warehouses() -> None:
    builder = ScenarioBuilder(check_as_added=True)
    builder.set_settings(name="code", start_date=date(2020, 9, 1), sack_kg=0.0)
    builder.table_reported("warehouses")
    builder.add_truck("T1", "W1", 2000.0)
    assert not builder.check()
    assert ("scenario.toml", None, "sack_kg") in where(tuple(builder._problems))


def test_a_reported_table_is_not_reported_again_nor_referenced() -> None:
    builder = settings_only()
    builder.table_reported("warehouses")
    builder.add_truck("T1", "W1", 2000.0)
    builder.check()
    assert not [p for p in builder._problems if p.file in ("warehouses", "trucks")]


@given(st.text())
@example("P\u200b1")
def test_normalise_id_is_idempotent(text: str) -> None:
    once = normalise_id(text)
    assert normalise_id(once) == once


def test_model_objects_of_the_builder_are_the_models() -> None:
    scenario = check_scenario(make_tiny_scenario())
    assert isinstance(scenario.warehouses[0], Warehouse)
    assert isinstance(scenario.drop_points[0], DropPoint)
    assert isinstance(scenario.tranches[0], Tranche)


# --------------------------------------------------------------------------------------------
# docs/scenario-format.md, "Building a scenario in code"

SCENARIO_DOC = Path(__file__).parents[1] / "docs" / "scenario-format.md"


def test_the_documented_example_raises_the_documented_problems() -> None:
    text = SCENARIO_DOC.read_text(encoding="utf-8")
    section = text.split("## Building a scenario in code", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    with pytest.raises(InputError) as caught:
        exec(compile(code, str(SCENARIO_DOC), "exec"), {})
    assert str(caught.value) == shown.rstrip("\n")


# --------------------------------------------------------------------------------------------
# Files and code refused for the same reasons, in the same words

_DEFECTS = {
    "kpm_too_large": lambda s: _replace_first(s, "drop_points", kpm=MAX_KPM_PER_POINT + 1),
    "kpm_negative": lambda s: _replace_first(s, "drop_points", kpm=-3),
    "no_sack_on_the_truck": lambda s: _replace_first(s, "trucks", capacity_kg=10.0),
    "ration_of_half_a_sack": lambda s: _replace_first(s, "tranches", kg_per_kpm=22.5),
    "unknown_warehouse": lambda s: _replace_first(s, "trucks", warehouse_id="W9"),
    "duplicate_point": lambda s: _replace_first(s, "drop_points", id="P2"),
    "close_before_open": lambda s: _replace_first(
        s, "drop_points", open_s=15 * 3600, close_s=8 * 3600
    ),
    "deadline_before_release": lambda s: _replace_first(
        s, "tranches", release=date(2020, 9, 20), deadline=date(2020, 9, 10)
    ),
    "window_on_a_sunday": lambda s: _replace_first(
        s, "tranches", release=date(2020, 9, 6), deadline=date(2020, 9, 6)
    ),
    "shift_end_before_start": lambda s: _replace_first(
        s, "trucks", shift_start_s=12 * 3600, shift_end_s=9 * 3600
    ),
    "swapped_place": lambda s: _replace_first(s, "warehouses", lon=-6.57, lat=106.74),
    "too_many_trips": lambda s: _replace_first(s, "trucks", max_trips_per_day=49),
}


def _replace_first(scenario: Scenario, table: str, **changes: object) -> Scenario:
    objects = getattr(scenario, table)
    return dataclasses.replace(
        scenario, **{table: (dataclasses.replace(objects[0], **changes), *objects[1:])}
    )


@settings(max_examples=25, deadline=None)
@given(defects=st.sets(st.sampled_from(sorted(_DEFECTS)), min_size=1, max_size=4))
def test_a_scenario_read_from_files_is_refused_as_the_same_scenario_built_in_code(
    defects: set[str],
) -> None:
    scenario = make_tiny_scenario()
    for defect in sorted(defects):
        scenario = _DEFECTS[defect](scenario)
    in_code = [(f"{p.file}.csv", p.row, p.field, p.message) for p in problems_of(scenario)]
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        write_scenario(scenario, folder)
        with pytest.raises(InputError) as caught:
            read_scenario(folder)
    from_files = [(p.file, p.row, p.field, p.message) for p in caught.value.problems]
    assert from_files == in_code
