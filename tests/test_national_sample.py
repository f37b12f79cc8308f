"""Tests of geodata.national_sample: exact totals, regions, land, stock, fleet, files, CLI."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st

from cli import main
from geodata.land import find_sea_points
from geodata.national_sample import (
    ISLAND_FAMILY_SHARE,
    PROVINCE_NAMES,
    _families_per_point,
    _largest_remainder,
    island_of_province,
    make_national,
    write_national,
)
from geodata.output_guard import MANIFEST_NAME, read_manifest
from geodata.scenario_io import read_scenario
from optimizer.builder import inside_indonesia
from optimizer.checker import check_plan
from optimizer.errors import InputError
from optimizer.model import DropPoint, Scenario, SolverSettings, Warehouse, haversine_km
from optimizer.planner import plan_scenario
from optimizer.solution import plan_to_dict
from tests.conftest import tree_digest

SHARED_NATIONAL = Path(
    os.environ.get(
        "BSB_NATIONAL_GEODATA",
        Path(__file__).resolve().parents[1].parent / "shared" / "geodata" / "national",
    )
)
KEC_CENTROIDS = SHARED_NATIONAL / "kec_centroids.csv"
needs_centroids = pytest.mark.skipif(
    not KEC_CENTROIDS.is_file(),
    reason=f"district centroids not found at {KEC_CENTROIDS} (set BSB_NATIONAL_GEODATA)",
)
RATION_KG = 45.0


@pytest.fixture(scope="module")
def small() -> Scenario:
    """2,000 families on synthetic districts, the size the national run's tests use."""
    return make_national(families=2000, warehouses=1550, seed=3)


@pytest.fixture(scope="module")
def medium() -> Scenario:
    """200,000 families (about 4,000 points) on synthetic districts."""
    return make_national(families=200_000, warehouses=60, seed=1)


def _nearest(scenario: Scenario) -> dict[str, str]:
    return {
        p.id: min(scenario.warehouses, key=lambda w: haversine_km(w.lon, w.lat, p.lon, p.lat)).id
        for p in scenario.drop_points
    }


def test_same_seed_gives_identical_scenario_and_another_seed_another(small: Scenario) -> None:
    assert make_national(families=2000, seed=3) == small
    assert make_national(families=2000, seed=4).drop_points != small.drop_points


@pytest.mark.parametrize(
    ("families", "warehouses", "per_point"),
    [(1, 1, 50), (7, 3, 50), (120, 1550, 50), (5000, 1, 50), (3000, 10, 1)],
)
def test_any_size_down_to_one_family(families: int, warehouses: int, per_point: int) -> None:
    scenario = make_national(families=families, warehouses=warehouses, families_per_point=per_point)
    assert sum(p.kpm for p in scenario.drop_points) == families
    assert 1 <= len(scenario.warehouses) <= warehouses
    assert sum(w.stock_kg for w in scenario.warehouses) == families * RATION_KG


def test_the_same_seed_gives_the_same_files_in_another_process(tmp_path: Path) -> None:
    # Nothing may hang on the order of a set of strings, which differs between processes.
    digests = set()
    for hash_seed in ("1", "2"):
        out = tmp_path / f"hash-{hash_seed}"
        subprocess.run(
            [sys.executable, "-m", "cli", "sample", str(out), "--national", "--families", "3000"],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            cwd=Path(__file__).resolve().parents[1],
        )
        digests.add((out / "drop_points.csv").read_bytes() + (out / "trucks.csv").read_bytes())
    assert len(digests) == 1


def test_families_add_up_exactly_in_points_of_about_fifty(
    small: Scenario, medium: Scenario
) -> None:
    for scenario, families in ((small, 2000), (medium, 200_000)):
        kpm = [p.kpm for p in scenario.drop_points]
        assert sum(kpm) == families
        assert len(kpm) == families // 50
        assert min(kpm) >= 1
        assert 40 <= families / len(kpm) <= 60
    assert max(p.kpm for p in medium.drop_points) <= 2.4 * 50 + 1


def test_every_place_has_its_regency_and_province(medium: Scenario) -> None:
    places: list[DropPoint | Warehouse] = [*medium.drop_points, *medium.warehouses]
    for place in places:
        assert place.kabupaten.startswith("Kabupaten ")
        assert place.provinsi in PROVINCE_NAMES.values()
    # The point's code starts with its regency's: one province and one regency per code prefix.
    regency_of_code: dict[str, set[str]] = defaultdict(set)
    for p in medium.drop_points:
        regency_of_code[p.id[:5]].add(p.kabupaten)
        assert p.id.count(".") == 3
        assert p.kecamatan and p.desa.startswith(p.kecamatan)
    assert all(len(names) == 1 for names in regency_of_code.values())


def test_a_small_sample_keeps_a_few_whole_regencies(small: Scenario) -> None:
    regencies = {p.kabupaten for p in small.drop_points}
    assert 1 <= len(regencies) <= 2000 // 50 // 20
    # Warehouses: at least one per regency with points, at most one per 10 points.
    assert {w.kabupaten for w in small.warehouses} == regencies
    assert len(regencies) <= len(small.warehouses) <= len(small.drop_points) // 10


def test_java_holds_about_its_share_of_the_families(medium: Scenario) -> None:
    code_of = {name: code for code, name in PROVINCE_NAMES.items()}
    by_island: Counter[str] = Counter()
    for p in medium.drop_points:
        by_island[island_of_province(code_of[p.provinsi])] += p.kpm
    java_share = by_island["Jawa"] / 200_000
    assert 0.4 <= java_share <= 0.75, by_island
    assert java_share > max(share for island, share in by_island.items() if island != "Jawa") / (
        200_000
    )
    assert math.isclose(sum(ISLAND_FAMILY_SHARE.values()), 1.0, abs_tol=1e-9)


def test_district_populations_are_skewed(medium: Scenario) -> None:
    per_district = Counter(p.id.rsplit(".", 1)[0] for p in medium.drop_points)
    counts = sorted(per_district.values())
    # A few crowded districts, many small ones: the largest holds several times the median.
    assert counts[-1] >= 3 * counts[len(counts) // 2]


def test_warehouses_are_requested_count_and_placed_on_points(medium: Scenario) -> None:
    assert len(medium.warehouses) == 60
    places = {(p.lon, p.lat) for p in medium.drop_points}
    assert all((w.lon, w.lat) in places for w in medium.warehouses)
    assert len({w.id for w in medium.warehouses}) == 60
    assert len({w.name for w in medium.warehouses}) == 60


def test_stock_is_the_need_of_the_families_nearest_each_warehouse(small: Scenario) -> None:
    nearest = _nearest(small)
    families: Counter[str] = Counter()
    for p in small.drop_points:
        families[nearest[p.id]] += p.kpm
    for w in small.warehouses:
        assert w.stock_kg == families[w.id] * RATION_KG
    assert sum(w.stock_kg for w in small.warehouses) == 2000 * RATION_KG


@pytest.mark.parametrize("ratio", [0.5, 0.9, 1.25])
def test_stock_ratio_scales_the_stock_in_whole_rations(ratio: float) -> None:
    scenario = make_national(families=2000, seed=3, stock_ratio=ratio)
    stock_kg = [w.stock_kg for w in scenario.warehouses]
    assert all(kg % RATION_KG == 0 for kg in stock_kg)
    # Each warehouse rounds its rations up: at most one ration over per warehouse.
    assert ratio * 2000 * RATION_KG <= sum(stock_kg)
    assert sum(stock_kg) <= (ratio * 2000 + len(stock_kg)) * RATION_KG


def test_every_warehouse_has_at_least_one_truck_of_each_type(medium: Scenario) -> None:
    trucks: dict[str, Counter[str]] = defaultdict(Counter)
    for t in medium.trucks:
        trucks[t.warehouse_id][t.type] += 1
        assert t.id.startswith(t.warehouse_id + "-")
    for w in medium.warehouses:
        assert trucks[w.id]["CDE"] >= 1
        assert trucks[w.id]["CDD"] >= 1


def test_fleets_grow_with_the_families_a_warehouse_serves() -> None:
    scenario = make_national(families=200_000, warehouses=4, seed=1)
    trucks = Counter(t.warehouse_id for t in scenario.trucks)
    by_families = sorted(scenario.warehouses, key=lambda w: w.stock_kg)
    fleet = [trucks[w.id] for w in by_families]
    assert fleet == sorted(fleet)
    assert fleet[-1] >= 3 * fleet[0]


def test_programme_is_that_of_2020(small: Scenario) -> None:
    assert [(t.id, t.kg_per_kpm) for t in small.tranches] == [("2020-09", 30.0), ("2020-10", 15.0)]
    assert small.sack_kg == 15.0
    assert small.name == "national-2000-w1550-s3"
    assert small.solver.seed == 3


def test_every_place_is_on_land_in_indonesia(medium: Scenario) -> None:
    places: list[DropPoint | Warehouse] = [*medium.drop_points, *medium.warehouses]
    assert all(inside_indonesia(p.lon, p.lat) for p in places)
    assert find_sea_points([p.lon for p in places], [p.lat for p in places]) == ()


def test_write_national_reads_back_equal_and_refuses_to_overwrite(
    small: Scenario, tmp_path: Path
) -> None:
    folder = tmp_path / "national"
    write_national(small, folder)
    assert read_scenario(folder) == small
    assert read_manifest(folder) is not None
    assert (folder / MANIFEST_NAME).is_file()
    before = tree_digest(folder)
    with pytest.raises(InputError, match="--force"):
        write_national(small, folder)
    assert tree_digest(folder) == before
    write_national(small, folder, force=True)
    assert read_scenario(folder) == small


def test_a_small_national_sample_plans_whole_and_passes_the_checker(small: Scenario) -> None:
    scenario = replace(small, solver=SolverSettings(time_limit_s=10.0, seed=1, solution_limit=20))
    plan = plan_scenario(scenario)
    assert check_plan(scenario, plan_to_dict(plan)) == []
    # Stock is exactly the need and every point is near its warehouse: all is delivered.
    assert plan.unassigned == ()
    delivered = Counter(stop.drop_point for route in plan.routes for stop in route.stops)
    assert set(delivered) == {p.id for p in scenario.drop_points}


@pytest.mark.parametrize(
    "arguments",
    [
        {"families": 0},
        {"warehouses": 0},
        {"families_per_point": 0},
        {"stock_ratio": -0.5},
        {"stock_ratio": math.nan},
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        make_national(**arguments)  # type: ignore[arg-type]


@given(
    total=st.integers(0, 10_000),
    weight=st.lists(st.floats(0.01, 1000.0), min_size=1, max_size=30),
    minimum=st.integers(0, 3),
)
@example(total=5, weight=[1.0, 1.0, 1.0], minimum=1)
def test_largest_remainder_splits_the_total_exactly(
    total: int, weight: list[float], minimum: int
) -> None:
    share = _largest_remainder(total, np.array(weight), minimum=minimum)
    assert (share >= minimum).all()
    assert int(share.sum()) == max(total, minimum * len(weight))


@given(
    n_points=st.integers(1, 300),
    extra=st.integers(0, 30_000),
    per_point=st.integers(1, 200),
    seed=st.integers(0, 2**32 - 1),
)
@example(n_points=3, extra=0, per_point=200, seed=0)
def test_families_per_point_add_up_and_are_never_zero(
    n_points: int, extra: int, per_point: int, seed: int
) -> None:
    families = n_points + extra
    kpm = _families_per_point(np.random.default_rng(seed), n_points, families, per_point)
    assert kpm.size == n_points
    assert int(kpm.sum()) == families
    assert int(kpm.min()) >= 1


# --- Centroids files ---


def _centroids(folder: Path, rows: list[str], *, header: str = "kode,nama,lat,lng") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kec_centroids.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_centroids_file_gives_codes_names_and_regions(tmp_path: Path) -> None:
    path = _centroids(
        tmp_path,
        [
            "32.01.01,Cibinong,-6.4817,106.8544",
            "32.01.02,Gunung Putri,-6.4350,106.9200",
            "32.71.01,Bogor Selatan,-6.6300,106.8100",
        ],
    )
    (tmp_path / "kab_centroids.csv").write_text(
        "kode,nama,lat,lng\n32.01,Kabupaten Bogor,-6.5,106.8\n", encoding="utf-8"
    )
    scenario = make_national(families=5000, warehouses=3, seed=2, centroids=path)
    assert scenario.name == "national-kec-5000-w3-s2"
    names = {"32.01": "Kabupaten Bogor", "32.71": "Kabupaten 32.71"}  # no name given: its code
    districts = {"32.01.01": "Cibinong", "32.01.02": "Gunung Putri", "32.71.01": "Bogor Selatan"}
    for p in scenario.drop_points:
        assert p.kabupaten == names[p.id[:5]]
        assert p.provinsi == "Jawa Barat"
        assert p.kecamatan == districts[p.id[:8]]
    assert sum(p.kpm for p in scenario.drop_points) == 5000


def test_a_district_in_the_sea_is_anchored_on_the_nearest_land(tmp_path: Path) -> None:
    # Pulau Pramuka (Kepulauan Seribu), given 1.5 km out at sea, and a Java district.
    path = _centroids(
        tmp_path,
        ["31.01.01,Kepulauan Seribu Utara,-5.7320,106.6150", "32.01.01,Cibinong,-6.4817,106.8544"],
    )
    assert find_sea_points([106.6150], [-5.7320]) != ()
    scenario = make_national(families=3000, warehouses=2, seed=1, centroids=path)
    lon = [p.lon for p in scenario.drop_points]
    lat = [p.lat for p in scenario.drop_points]
    assert find_sea_points(lon, lat) == ()
    island = [p for p in scenario.drop_points if p.id.startswith("31.01.01")]
    assert island
    # Most points found no land at their draws and went to the anchor, the land nearest the
    # centroid (Pulau Pramuka); a few found other islets of the district.
    away_km = sorted(haversine_km(p.lon, p.lat, 106.6150, -5.7320) for p in island)
    assert away_km[len(away_km) // 2] < 3.0
    assert away_km[-1] < 40.0


def test_a_bad_centroids_file_lists_every_problem_with_row_and_field(tmp_path: Path) -> None:
    path = _centroids(
        tmp_path,
        [
            "32.01.01,Cibinong,-6.4817,106.8544",
            "3201,Bad code,-6.4,106.9",
            "32.01.01,Twice,-6.4,106.9",
            "32.01.03,North pole,90,106.9",
            "32.01.04,No number,-6.4,east",
        ],
    )
    with pytest.raises(InputError) as raised:
        make_national(families=2000, centroids=path)
    where = {(p.row, p.field) for p in raised.value.problems}
    assert where == {(3, "kode"), (4, "kode"), (5, "lat"), (6, "lng")}
    assert all(p.file == "kec_centroids.csv" for p in raised.value.problems)


def test_a_centroids_file_without_its_columns_is_refused(tmp_path: Path) -> None:
    path = _centroids(tmp_path, ["32.01.01,Cibinong,-6.4817"], header="kode,nama,lat")
    with pytest.raises(InputError, match="missing column"):
        make_national(families=2000, centroids=path)


@needs_centroids
def test_real_district_centroids_give_real_names_and_land_places() -> None:
    scenario = make_national(families=60_000, warehouses=40, seed=5, centroids=KEC_CENTROIDS)
    codes = {}
    with KEC_CENTROIDS.open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            kode, nama, *_ = line.rstrip("\n").split(",")
            codes[kode] = nama
    for p in scenario.drop_points:
        assert codes[p.id[:8]] == p.kecamatan
        assert not p.kabupaten.startswith("Kabupaten 1")  # a real name, not a code
    assert len(scenario.warehouses) == 40
    places: list[DropPoint | Warehouse] = [*scenario.drop_points, *scenario.warehouses]
    assert find_sea_points([p.lon for p in places], [p.lat for p in places]) == ()


# --- CLI ---


def test_cli_writes_a_national_sample_that_validates(tmp_path: Path) -> None:
    out = tmp_path / "national"
    result = CliRunner().invoke(
        main, ["sample", str(out), "--national", "--families", "2000", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "national-2000-w1550-s3" in result.output
    assert read_scenario(out) == make_national(families=2000, seed=3)
    again = CliRunner().invoke(main, ["sample", str(out), "--national", "--families", "2000"])
    assert again.exit_code == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--families", "2000"], "needs --national"),
        (["--national", "--size", "40"], "--size does not go with --national"),
        (["--national", "--bogor", "x"], "--bogor does not go with --national"),
        (["--national", "--centroids", "missing.csv"], "is not a file"),
        (["--national", "--families", "10", "--families-per-point", "20"], "more than"),
    ],
)
def test_cli_refuses_options_that_do_not_go_together(
    arguments: list[str], message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "out"), *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out").exists()
