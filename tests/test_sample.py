"""Tests of geodata.sample: determinism, sizes, geography, stock, fleet and round trips."""

from __future__ import annotations

import importlib.util
import math
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata.output_guard import MANIFEST_NAME, read_manifest
from geodata.sample import (
    KOTA_BOGOR_CENTRE,
    KOTA_BOGOR_RADIUS_DEG,
    REGION_LAT_MAX,
    REGION_LAT_MIN,
    REGION_LON_MAX,
    REGION_LON_MIN,
    make_sample,
    write_sample,
)
from optimizer.errors import InputError
from optimizer.model import Scenario, haversine_km
from tests.conftest import tree_digest

SHARED_GEODATA = Path(__file__).resolve().parents[1].parent / "shared" / "geodata"
needs_geodata = pytest.mark.skipif(
    not (SHARED_GEODATA / "bogor_desa_32.01_centroids.csv").is_file(),
    reason=f"real Kabupaten Bogor geodata not found at {SHARED_GEODATA}",
)
HAS_READER = importlib.util.find_spec("geodata.scenario_io") is not None


@pytest.fixture(scope="module")
def sample() -> Scenario:
    return make_sample()


def _nearest_warehouse(scenario: Scenario, lon: float, lat: float) -> str:
    return min(scenario.warehouses, key=lambda w: haversine_km(w.lon, w.lat, lon, lat)).id


def test_same_seed_gives_identical_scenario() -> None:
    assert make_sample(n_drop_points=300, seed=5) == make_sample(n_drop_points=300, seed=5)


def test_different_seeds_give_different_scenarios() -> None:
    one, two = make_sample(n_drop_points=300, seed=5), make_sample(n_drop_points=300, seed=6)
    assert one.drop_points != two.drop_points
    assert one.solver.seed == 5
    assert two.solver.seed == 6


def test_name_and_solver_settings(sample: Scenario) -> None:
    assert sample.name == "sample-bogor-400-s1"
    assert sample.solver.time_limit_s == 60
    assert sample.solver.seed == 1


# Seeds up to the solver's (NUMBER_BOUNDS["solver.seed"]): the sample's solver seed is its own,
# and a larger one is refused (test_a_seed_beyond_the_solvers_range_is_refused).
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 1500), seed=st.integers(0, 2**31 - 1))
def test_exact_number_of_points_all_inside_the_region_and_outside_kota_bogor(
    n: int, seed: int
) -> None:
    points = make_sample(n_drop_points=n, seed=seed).drop_points
    assert len(points) == n
    for p in points:
        assert REGION_LON_MIN <= p.lon <= REGION_LON_MAX
        assert REGION_LAT_MIN <= p.lat <= REGION_LAT_MAX
        hole_gap = math.hypot(p.lon - KOTA_BOGOR_CENTRE[0], p.lat - KOTA_BOGOR_CENTRE[1])
        assert hole_gap >= KOTA_BOGOR_RADIUS_DEG


def test_a_seed_beyond_the_solvers_range_is_refused() -> None:
    # Before the builder checked the sample, such a seed made a scenario.toml bsb refused to read.
    with pytest.raises(InputError) as caught:
        make_sample(n_drop_points=5, seed=2**31)
    assert [(p.file, p.field) for p in caught.value.problems] == [("scenario.toml", "solver.seed")]


def test_population_is_denser_in_the_north(sample: Scenario) -> None:
    middle = (REGION_LAT_MIN + REGION_LAT_MAX) / 2
    north = sum(p.kpm for p in sample.drop_points if p.lat > middle)
    assert north > sum(p.kpm for p in sample.drop_points) / 2


def test_families_per_point_are_about_fifty(sample: Scenario) -> None:
    kpm = [p.kpm for p in sample.drop_points]
    assert min(kpm) >= 20
    assert max(kpm) <= 120
    assert 44 <= sum(kpm) / len(kpm) <= 54


def test_every_demand_is_whole_sacks(sample: Scenario) -> None:
    for point in sample.drop_points:
        for tranche in sample.tranches:
            sacks = sample.demand_kg(point, tranche) / sample.sack_kg
            assert sacks == int(sacks)


def test_ids_are_unique_and_codes_zero_padded(sample: Scenario) -> None:
    for items in (sample.drop_points, sample.warehouses, sample.trucks, sample.tranches):
        ids = [item.id for item in items]
        assert len(set(ids)) == len(ids)
    for point in sample.drop_points:
        assert len(point.rt) == 3
        assert point.rt.isdigit()
        assert len(point.rw) == 2
        assert point.rw.isdigit()
        assert point.name == f"RW {point.rw} {point.desa}"
        assert point.desa
        assert point.kecamatan


def test_points_cluster_into_several_kecamatan_and_desa(sample: Scenario) -> None:
    kecamatan = Counter(p.kecamatan for p in sample.drop_points)
    desa = {(p.kecamatan, p.desa) for p in sample.drop_points}
    assert 5 <= len(kecamatan) <= 40
    assert len(desa) > len(kecamatan)


def test_a_few_points_have_opening_hours_or_longer_stops(sample: Scenario) -> None:
    windows = [p for p in sample.drop_points if p.open_s is not None]
    assert 0.03 * len(sample.drop_points) <= len(windows) <= 0.2 * len(sample.drop_points)
    for p in windows:
        assert p.open_s is not None
        assert p.close_s is not None
        assert sample.calendar.shift_start_s <= p.open_s < p.close_s
        assert p.close_s <= sample.calendar.shift_end_s
    assert any(p.service_min is not None for p in sample.drop_points)


def test_tranches_calendar_and_settings_are_those_of_2020(sample: Scenario) -> None:
    september, october = sample.tranches
    assert (september.id, september.kg_per_kpm) == ("2020-09", 30.0)
    assert (september.release, september.deadline) == (date(2020, 9, 1), date(2020, 9, 30))
    assert september.name == "September 2020 (Agustus + September)"
    assert (october.id, october.name, october.kg_per_kpm) == ("2020-10", "Oktober 2020", 15.0)
    assert (october.release, october.deadline) == (date(2020, 10, 1), date(2020, 10, 31))
    assert sample.start_date == date(2020, 9, 1)
    assert sample.sack_kg == 15.0
    cal = sample.calendar
    assert len(cal.working_days_between(september.release, september.deadline)) == 26
    assert len(cal.working_days_between(october.release, october.deadline)) == 24
    assert not cal.is_working_day(date(2020, 10, 29))  # Maulid Nabi
    assert not cal.is_working_day(date(2020, 9, 6))  # a Sunday
    assert cal.is_working_day(date(2020, 10, 31))  # a Saturday


@pytest.mark.parametrize(("n", "expected"), [(10, 2), (400, 2), (1000, 2), (1300, 3), (4000, 8)])
def test_default_warehouse_count_is_one_per_500_points_and_at_least_two(
    n: int, expected: int
) -> None:
    assert len(make_sample(n_drop_points=n).warehouses) == expected


def test_explicit_warehouse_count_and_dramaga_first() -> None:
    scenario = make_sample(n_drop_points=200, n_warehouses=5)
    assert len(scenario.warehouses) == 5
    dramaga = scenario.warehouses[0]
    assert (dramaga.name, dramaga.lon, dramaga.lat) == ("Gudang Dramaga", 106.74, -6.57)
    assert len({w.name for w in scenario.warehouses}) == 5


def test_warehouses_spread_out_to_serve_regions() -> None:
    scenario = make_sample(n_drop_points=2000)
    served = Counter(_nearest_warehouse(scenario, p.lon, p.lat) for p in scenario.drop_points)
    assert set(served) == {w.id for w in scenario.warehouses}


def test_stock_covers_nearby_demand_with_margin(sample: Scenario) -> None:
    kg_per_kpm = sum(t.kg_per_kpm for t in sample.tranches)
    demand = dict.fromkeys((w.id for w in sample.warehouses), 0.0)
    for p in sample.drop_points:
        demand[_nearest_warehouse(sample, p.lon, p.lat)] += p.kpm * kg_per_kpm
    for warehouse in sample.warehouses:
        assert warehouse.stock_kg >= 1.2 * demand[warehouse.id]
    assert sum(w.stock_kg for w in sample.warehouses) >= sum(demand.values())


def test_every_warehouse_has_mostly_cdd_and_some_cde_trucks() -> None:
    scenario = make_sample(n_drop_points=3000)
    for warehouse in scenario.warehouses:
        fleet = [t for t in scenario.trucks if t.warehouse_id == warehouse.id]
        kinds = Counter(t.type for t in fleet)
        assert kinds["CDD"] >= kinds["CDE"] >= 1
        assert set(kinds) == {"CDD", "CDE"}
    for truck in scenario.trucks:
        assert truck.capacity_kg == {"CDE": 2000.0, "CDD": 5000.0}[truck.type]
        assert (truck.shift_start_s, truck.shift_end_s) == (7 * 3600, 17 * 3600)
        assert truck.max_trips_per_day in (None, 4)
    limited = sum(t.max_trips_per_day is not None for t in scenario.trucks)
    assert 0 < limited < len(scenario.trucks) / 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fleet_has_time_for_a_round_trip_to_every_point_in_each_tranche(seed: int) -> None:
    scenario = make_sample(n_drop_points=1000, seed=seed)
    travel, service = scenario.travel, scenario.service
    for tranche in scenario.tranches:
        days = len(scenario.calendar.working_days_between(tranche.release, tranche.deadline))
        needed_s = Counter[str]()
        for p in scenario.drop_points:
            warehouse = scenario.warehouse(_nearest_warehouse(scenario, p.lon, p.lat))
            km = travel.road_km(warehouse.lon, warehouse.lat, p.lon, p.lat)
            trip_s = service.loading_s + 2 * travel.travel_s(km)
            trip_s += service.service_s(p, scenario.demand_kg(p, tranche))
            assert trip_s <= scenario.calendar.shift_end_s - scenario.calendar.shift_start_s
            needed_s[warehouse.id] += trip_s
        for warehouse in scenario.warehouses:
            shifts_s = sum(
                t.shift_end_s - t.shift_start_s
                for t in scenario.trucks
                if t.warehouse_id == warehouse.id
            )
            assert shifts_s * days >= needed_s[warehouse.id]


def test_four_thousand_points_take_well_under_a_second() -> None:
    started = time.perf_counter()
    scenario = make_sample(n_drop_points=4000)
    assert time.perf_counter() - started < 1.0
    assert len(scenario.drop_points) == 4000


@pytest.mark.parametrize(("n_drop_points", "n_warehouses"), [(0, None), (10, 0)])
def test_bad_sizes_are_rejected(n_drop_points: int, n_warehouses: int | None) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        make_sample(n_drop_points=n_drop_points, n_warehouses=n_warehouses)


def test_missing_geodata_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"bogor_desa_32\.01_centroids\.csv"):
        make_sample(bogor_geodata=tmp_path)


def test_write_sample_writes_the_scenario_it_returns(tmp_path: Path) -> None:
    scenario = write_sample(tmp_path, n_drop_points=50, seed=3)
    assert scenario == make_sample(n_drop_points=50, seed=3)
    lines = (tmp_path / "drop_points.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 51
    assert lines[1].startswith(scenario.drop_points[0].id + ",")
    if HAS_READER:
        from geodata.scenario_io import read_scenario

        assert read_scenario(tmp_path) == scenario


def test_write_sample_is_atomic_and_marks_the_folder_as_bsb_s(tmp_path: Path) -> None:
    out = tmp_path / "scen"
    write_sample(out, n_drop_points=5, seed=1)
    manifest = read_manifest(out)
    assert manifest is not None and manifest.kind == "scenario" and manifest.files is not None
    assert set(manifest.files) == {p.name for p in out.iterdir()} - {MANIFEST_NAME}
    assert [p.name for p in tmp_path.iterdir()] == ["scen"]  # no temporary folder left


def test_write_sample_replaces_its_own_folder_only_with_force(tmp_path: Path) -> None:
    out = tmp_path / "scen"
    write_sample(out, n_drop_points=5, seed=1)
    before = tree_digest(tmp_path)
    with pytest.raises(InputError, match="holds a sample scenario bsb wrote earlier"):
        write_sample(out, n_drop_points=6, seed=1)
    assert tree_digest(tmp_path) == before
    assert len(write_sample(out, n_drop_points=6, seed=1, force=True).drop_points) == 6
    assert len((out / "drop_points.csv").read_text(encoding="utf-8").splitlines()) == 7


def test_write_sample_never_writes_over_a_folder_bsb_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "scen"
    out.mkdir()
    (out / "drop_points.csv").write_text("id\nmy own point\n", encoding="utf-8")
    before = tree_digest(tmp_path)
    with pytest.raises(InputError, match=r"bsb did not write it \(it holds drop_points.csv\)"):
        write_sample(out, n_drop_points=5, force=True)
    assert tree_digest(tmp_path) == before


@needs_geodata
def test_real_desa_mode_uses_real_names_and_codes() -> None:
    scenario = make_sample(n_drop_points=870, seed=2, bogor_geodata=SHARED_GEODATA)
    assert scenario.name == "sample-bogor-desa-870-s2"
    assert len(scenario.drop_points) == 870
    desa = Counter(p.id.rsplit(".", 1)[0] for p in scenario.drop_points)
    assert len(desa) == 435  # two points in each of the 435 real desa
    assert set(desa.values()) == {2}
    kecamatan = {p.kecamatan for p in scenario.drop_points}
    assert len(kecamatan) == 40
    assert {"Cibinong", "Dramaga", "Jasinga"} <= kecamatan
    first = scenario.drop_points[0]
    assert first.id == "32.01.01.1001.01"
    assert (first.desa, first.kecamatan) == ("Pondok Rajeg", "Cibinong")
    assert scenario.warehouses[0].name == "Gudang Dramaga"
    assert make_sample(n_drop_points=870, seed=2, bogor_geodata=SHARED_GEODATA) == scenario


@needs_geodata
def test_real_desa_mode_round_trips_through_the_writer(tmp_path: Path) -> None:
    scenario = write_sample(tmp_path, n_drop_points=100, bogor_geodata=SHARED_GEODATA)
    assert len({p.id for p in scenario.drop_points}) == 100
    if HAS_READER:
        from geodata.scenario_io import read_scenario

        assert read_scenario(tmp_path) == scenario
