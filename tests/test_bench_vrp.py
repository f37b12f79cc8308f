"""Tests of benchmarks.vrp: instance reading, conventions, BKS, solution files and the checker.

Tests on the public instances skip when ``/work/shared/benchmarks/instances`` (or
``$BSB_INSTANCES``) is absent; the others build tiny instances in ``tmp_path``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import vrplib  # type: ignore[import-untyped, unused-ignore]
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.vrp import (
    DEFAULT_INSTANCES,
    DISTANCE_ONLY_DOUBLE,
    Bks,
    VrpInstance,
    arc_matrix,
    check_solution,
    euclid_matrix,
    family_of,
    gap_percent,
    gap_reference,
    greedy_solution,
    load_bks,
    make_random_instance,
    read_instance,
    read_solution,
    route_cost,
    write_solomon,
    write_solution,
)

needs_instances = pytest.mark.skipif(
    not (DEFAULT_INSTANCES / "bks.csv").exists(),
    reason=f"benchmark instances absent ({DEFAULT_INSTANCES})",
)

# The README's list of Solomon DIMACS solutions that are late when times are not truncated.
SOLOMON_LATE_IN_DOUBLE = {"R102", "R105", "R107", "R108", "R112", "R211", "RC101", "RC105"}


# --- tiny hand-made instance -------------------------------------------------------------------


def make_tiny_instance() -> VrpInstance:
    """Depot at (0, 0); customers 1..4 on the axes at distance 10, 20, 10, 20.

    Capacity 10 (demands 4, 5, 3, 6), horizon 100, service 5, two vehicles.
    Feasible: route 1 = [1, 2] (load 9), route 2 = [3, 4] (load 9).
    """
    return VrpInstance(
        name="tiny",
        family="random",
        x=np.array([0.0, 10.0, 20.0, 0.0, 0.0]),
        y=np.array([0.0, 0.0, 0.0, 10.0, 20.0]),
        demand=np.array([0, 4, 5, 3, 6], dtype=np.int64),
        capacity=10,
        ready=np.array([0.0, 0.0, 25.0, 0.0, 0.0]),
        due=np.array([100.0, 50.0, 40.0, 50.0, 60.0]),
        service=np.array([0.0, 5.0, 5.0, 5.0, 5.0]),
        max_vehicles=2,
        has_time_windows=True,
    )


TINY_FEASIBLE = [[1, 2], [3, 4]]


def assert_same_instance(left: VrpInstance, right: VrpInstance) -> None:
    for field in ("x", "y", "demand", "ready", "due", "service"):
        np.testing.assert_array_equal(getattr(left, field), getattr(right, field), err_msg=field)
    assert left.capacity == right.capacity
    assert left.max_vehicles == right.max_vehicles
    assert left.name == right.name
    assert left.has_time_windows == right.has_time_windows


def test_tiny_instance_round_trips_through_solomon_format(tmp_path: Path) -> None:
    tiny = make_tiny_instance()
    path = tmp_path / "tiny.txt"
    write_solomon(path, tiny)
    back = read_instance(path)
    assert_same_instance(tiny, back)
    assert back.family == "random"
    assert back.n_customers == 4
    # vrplib itself reads the file too.
    raw = vrplib.read_instance(path, instance_format="solomon")
    assert raw["capacity"] == 10


def test_tiny_feasible_solution_passes() -> None:
    check = check_solution(make_tiny_instance(), TINY_FEASIBLE)
    assert check.feasible, check.violations
    assert check.vehicles == 2
    # 0-10-20-0 on the x axis and the same on y: 40 each.
    assert check.distance == pytest.approx(80.0)


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        ([[1, 2], [3, 4, 1]], "route 2: customer 1 is visited again (first in route 1)"),
        ([[1, 2], [3]], "customer 4 is not visited"),
        ([[1], [2], [3, 4]], "3 routes > 2 vehicles available"),
        ([[1, 2, 7], [3, 4]], "route 1: 7 is not a customer number (1..4)"),
        ([[1, 2], [0, 3, 4]], "route 2: 0 is not a customer number (1..4)"),
        ([[1, 2, 3], [4]], "route 1: load 12 > capacity 10"),
    ],
)
def test_checker_names_each_violation(routes: list[list[int]], expected: str) -> None:
    check = check_solution(make_tiny_instance(), routes)
    assert not check.feasible
    assert expected in check.violations


def test_checker_reports_late_service_with_route_and_customer() -> None:
    tiny = dataclasses.replace(make_tiny_instance(), due=np.array([100.0, 50.0, 40.0, 50.0, 25.0]))
    # Route 2 = [3, 4]: start at 3 is 10, leave at 15, reach 4 (10 further) at 25: on time.
    assert check_solution(tiny, TINY_FEASIBLE).feasible
    # Detour via 1: 0 -> 3 (10) + 5 -> 1 (14.142...) + 5 -> 4 (22.36...) = 56.50 > 25.
    check = check_solution(tiny, [[2], [3, 1, 4]])
    assert "route 2: service at customer 4 starts at 56.50 > due 25.00" in check.violations


def test_checker_reports_return_after_horizon() -> None:
    tiny = dataclasses.replace(make_tiny_instance(), due=np.array([45.0, 50.0, 40.0, 50.0, 60.0]))
    check = check_solution(tiny, TINY_FEASIBLE)
    # [1, 2]: 0->1 at 10, 15 ->2 at 25, leave 30, back at 50 > 45; [3, 4] likewise back at 50.
    assert "route 1: back at the depot at 50.00 > horizon 45.00" in check.violations
    assert "route 2: back at the depot at 50.00 > horizon 45.00" in check.violations


def test_checker_shows_enough_decimals_for_tiny_lateness() -> None:
    tiny = dataclasses.replace(make_tiny_instance(), due=np.array([49.999, 50.0, 40.0, 50.0, 60.0]))
    check = check_solution(tiny, TINY_FEASIBLE)
    assert "route 1: back at the depot at 50.000 > horizon 49.999" in check.violations


def test_checker_tolerates_float_noise() -> None:
    tiny = dataclasses.replace(
        make_tiny_instance(), due=np.array([50.0 - 1e-9, 50.0, 40.0, 50.0, 60.0])
    )
    assert check_solution(tiny, TINY_FEASIBLE).feasible


def test_truncated_travel_times_loosen_windows() -> None:
    # Customer 1 at distance sqrt(2) * 10 = 14.142...; due 14.1 is met only when truncated.
    tiny = dataclasses.replace(
        make_tiny_instance(),
        x=np.array([0.0, 10.0, 20.0, 0.0, 0.0]),
        y=np.array([0.0, 10.0, 0.0, 10.0, 20.0]),
        due=np.array([100.0, 14.1, 40.0, 50.0, 60.0]),
    )
    routes = [[1, 2], [3, 4]]
    assert check_solution(tiny, routes, convention="dimacs_trunc1").feasible
    late = check_solution(tiny, routes, convention="euclid_double")
    assert late.violations == ("route 1: service at customer 1 starts at 14.14 > due 14.10",)


def test_conventions_round_arcs_as_documented() -> None:
    tiny = dataclasses.replace(
        make_tiny_instance(),
        x=np.array([0.0, 3.0, 20.0, 0.0, 1.0]),
        y=np.array([0.0, 3.0, 0.0, 10.0, 1.0]),
    )
    exact = euclid_matrix(tiny)
    assert exact[0, 1] == pytest.approx(math.sqrt(18))  # 4.2426...
    assert arc_matrix(tiny, "dimacs_trunc1")[0, 1] == pytest.approx(4.2)
    assert arc_matrix(tiny, "euclid_nint")[0, 1] == 4.0
    assert arc_matrix(tiny, "euclid_nint")[0, 4] == 1.0  # 1.414 rounds down
    assert arc_matrix(tiny, "distance_only;euclid_double")[0, 1] == exact[0, 1]
    with pytest.raises(ValueError, match="unknown distance convention"):
        arc_matrix(tiny, "manhattan")


def test_route_cost_under_each_convention() -> None:
    tiny = make_tiny_instance()
    assert route_cost(tiny, TINY_FEASIBLE, "euclid_double") == pytest.approx(80.0)
    assert route_cost(tiny, [[1], [], [3]], "dimacs_trunc1") == 40.0
    with pytest.raises(ValueError, match="not a customer number"):
        route_cost(tiny, [[9]], "euclid_nint")


# --- solution files ----------------------------------------------------------------------------


def test_solution_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "out.sol"
    write_solution(path, [[3, 5, 7], [], [1]], 828.936664)
    assert path.read_text(encoding="utf-8") == "Route #1: 3 5 7\nRoute #2: 1\nCost 828.936664\n"
    assert read_solution(path) == ([[3, 5, 7], [1]], 828.936664)
    assert [p.name for p in tmp_path.iterdir()] == ["out.sol"]  # no temporary file left


@settings(max_examples=30, deadline=None)
@given(
    routes=st.lists(
        st.lists(st.integers(1, 10_000), min_size=1, max_size=8), min_size=1, max_size=6
    ),
    cost=st.floats(0, 1e7, allow_nan=False),
)
def test_solution_file_round_trips_any_routes(
    tmp_path_factory: pytest.TempPathFactory, routes: list[list[int]], cost: float
) -> None:
    path = tmp_path_factory.mktemp("sol") / "any.sol"
    write_solution(path, routes, cost)
    back_routes, back_cost = read_solution(path)
    assert back_routes == routes
    assert back_cost == pytest.approx(cost, abs=1e-6)


def test_read_solution_reads_sintef_format(tmp_path: Path) -> None:
    path = tmp_path / "x.hier.sol"
    path.write_text(
        "Instance name : c1_2_1\nAuthors       : A, B\nDate          : 24.10.2003 16:51:15\n"
        "Reference     : Chapter 2\nSolution\nRoute  1 : 3 1\nRoute  2 : 2\n",
        encoding="utf-8",
    )
    assert read_solution(path) == ([[3, 1], [2]], None)


def test_read_solution_rejects_bad_numbers(tmp_path: Path) -> None:
    path = tmp_path / "bad.sol"
    path.write_text("Route #1: 3 x 5\nCost 10\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.sol, line 1"):
        read_solution(path)
    empty = tmp_path / "empty.sol"
    empty.write_text("Cost 10\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no 'Route' line"):
        read_solution(empty)


def test_read_instance_rejects_a_malformed_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt"
    path.write_text("broken\n\nVEHICLE\nNUMBER\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.txt"):
        read_instance(path)


def test_read_instance_rejects_depot_demand(tmp_path: Path) -> None:
    tiny = dataclasses.replace(make_tiny_instance(), demand=np.array([2, 4, 5, 3, 6]))
    path = tmp_path / "tiny.txt"
    write_solomon(path, tiny)
    with pytest.raises(ValueError, match="depot demand is 2"):
        read_instance(path)


def test_write_solomon_refuses_non_integer_data(tmp_path: Path) -> None:
    tiny = dataclasses.replace(make_tiny_instance(), x=np.array([0.0, 10.5, 20.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="XCOORD"):
        write_solomon(tmp_path / "tiny.txt", tiny)


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("somewhere/C101.txt", "solomon"),
        ("somewhere/rc2_10_1.txt", "homberger"),
        ("somewhere/X-n101-k25.vrp", "cvrplib_x"),
        ("homberger/anything.txt", "homberger"),
        ("somewhere/rand-n200-s3.txt", "random"),
    ],
)
def test_family_of(path: str, family: str) -> None:
    assert family_of(Path(path)) == family


# --- random instances --------------------------------------------------------------------------


def test_random_instance_is_deterministic_per_seed() -> None:
    first, again, other = (make_random_instance(50, s) for s in (7, 7, 8))
    assert_same_instance(first, again)
    assert not np.array_equal(first.x, other.x)
    assert first.name == "rand-n50-s7"
    assert make_random_instance(5, 1, name="mine").name == "mine"


def test_random_instance_has_the_documented_shape() -> None:
    instance = make_random_instance(100, 3)
    assert instance.n_customers == 100
    assert instance.capacity == 200
    assert instance.due[0] == 1000.0
    assert instance.demand[0] == 0 and 1 <= instance.demand[1:].min() <= instance.demand.max() <= 30
    assert (instance.service[1:] == 10.0).all()
    assert min(instance.x.min(), instance.y.min()) >= 0
    assert max(instance.x.max(), instance.y.max()) <= 100
    assert 10 <= instance.max_vehicles <= 20


def test_random_instance_reads_back(tmp_path: Path) -> None:
    instance = make_random_instance(60, 11)
    path = tmp_path / f"{instance.name}.txt"
    write_solomon(path, instance)
    assert_same_instance(instance, read_instance(path))


@settings(max_examples=20, deadline=None)
@given(n_customers=st.integers(1, 120), seed=st.integers(0, 2**32 - 1))
def test_random_instance_has_feasible_solutions(n_customers: int, seed: int) -> None:
    instance = make_random_instance(n_customers, seed)
    # Depot -> customer -> depot is feasible for every customer, in double precision and so
    # under truncation too (given enough vehicles).
    singletons = [[c] for c in range(1, n_customers + 1)]
    roomy = dataclasses.replace(instance, max_vehicles=n_customers)
    for convention in ("euclid_double", "dimacs_trunc1"):
        check = check_solution(roomy, singletons, convention=convention)
        assert check.feasible, check.violations
    # And a solution within the instance's own fleet exists.
    greedy = check_solution(instance, greedy_solution(instance))
    assert greedy.feasible, greedy.violations


def test_greedy_solution_refuses_an_unservable_customer() -> None:
    tiny = dataclasses.replace(make_tiny_instance(), due=np.array([100.0, 5.0, 40.0, 50.0, 60.0]))
    with pytest.raises(ValueError, match="no route can serve customer 1, not even alone"):
        greedy_solution(tiny)


# --- bks.csv and gaps ----------------------------------------------------------------------------


def write_bks(path: Path) -> Path:
    path.write_text(
        "family,instance,customers,vehicles,bks_distance,objective_convention,source\n"
        'solomon,C101,100,10,828.94,"hierarchical(min_vehicles,then_distance);euclid_double",a\n'
        "solomon,C101,100,10,828.94,distance_only;euclid_double,b\n"
        "solomon,C101,100,10,827.3,distance_only;dimacs_trunc1,c\n"
        'homberger,c1_2_1,200,20,2704.5678,"hierarchical(min_vehicles,then_distance);euclid_double",d\n'
        'homberger,c1_10_1,1000,100,42478.9516,"hierarchical(min_vehicles,then_distance);euclid_double",e\n'
        "homberger,c1_10_1,1000,100,42444.8,distance_only;dimacs_trunc1,f\n"
        "cvrplib_x,X-n101-k25,100,26,27591,distance_only;euclid_nint,g\n",
        encoding="utf-8",
    )
    return path


def test_load_bks_keys_rows_by_distance_convention(tmp_path: Path) -> None:
    bks = load_bks(write_bks(tmp_path / "bks.csv"))
    assert len(bks) == 7
    assert bks[("C101", "dimacs_trunc1")] == Bks(
        "C101", "solomon", 10, 827.3, "distance_only;dimacs_trunc1"
    )
    assert bks[("C101", "euclid_double")].hierarchical
    assert not bks[("C101", DISTANCE_ONLY_DOUBLE)].hierarchical
    assert bks[("X-n101-k25", "euclid_nint")].arc_convention == "euclid_nint"


def test_load_bks_rejects_duplicates(tmp_path: Path) -> None:
    path = write_bks(tmp_path / "bks.csv")
    path.write_text(
        path.read_text(encoding="utf-8")
        + "cvrplib_x,X-n101-k25,100,26,27590,distance_only;euclid_nint,h\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="row 9: second row"):
        load_bks(path)


def test_gap_reference_picks_the_documented_rows(tmp_path: Path) -> None:
    bks = load_bks(write_bks(tmp_path / "bks.csv"))
    assert gap_reference("C101", "solomon", bks) == bks[("C101", "dimacs_trunc1")]
    assert gap_reference("c1_2_1", "homberger", bks) == bks[("c1_2_1", "euclid_double")]
    assert gap_reference("c1_10_1", "homberger", bks) == bks[("c1_10_1", "dimacs_trunc1")]
    assert gap_reference("X-n101-k25", "cvrplib_x", bks) == bks[("X-n101-k25", "euclid_nint")]
    assert gap_reference("rand-n100-s1", "random", bks) is None
    assert gap_reference("C999", "solomon", bks) is None
    with pytest.raises(ValueError, match="unknown family"):
        gap_reference("C101", "tsplib", bks)


def test_gap_percent_uses_the_reference_convention() -> None:
    tiny = dataclasses.replace(
        make_tiny_instance(),
        x=np.array([0.0, 3.0, 20.0, 0.0, 0.0]),
        y=np.array([0.0, 3.0, 0.0, 10.0, 20.0]),
    )
    routes = [[1], [2, 3, 4]]
    truncated = route_cost(tiny, routes, "dimacs_trunc1")
    ref = Bks("tiny", "random", 2, truncated / 1.1, "distance_only;dimacs_trunc1")
    assert gap_percent(tiny, routes, ref) == pytest.approx(10.0)
    assert truncated < route_cost(tiny, routes, "euclid_double")


# --- the public instances -----------------------------------------------------------------------


@needs_instances
def test_solomon_dimacs_solutions_are_feasible_and_reproduce_their_cost() -> None:
    paths = sorted((DEFAULT_INSTANCES / "solomon").glob("*.txt"))
    assert len(paths) == 56
    late_in_double = set()
    for path in paths:
        instance = read_instance(path)
        assert instance.family == "solomon" and instance.n_customers == 100
        routes, cost = read_solution(path.with_suffix(".sol"))
        check = check_solution(instance, routes, convention="dimacs_trunc1")
        assert check.feasible, (path.name, check.violations)
        assert route_cost(instance, routes, "dimacs_trunc1") == cost, path.name
        if not check_solution(instance, routes).feasible:
            late_in_double.add(instance.name)
    assert late_in_double == SOLOMON_LATE_IN_DOUBLE


@needs_instances
def test_solomon_r102_caveat_is_detected_in_double_precision() -> None:
    instance = read_instance(DEFAULT_INSTANCES / "solomon" / "R102.txt")
    routes, _ = read_solution(DEFAULT_INSTANCES / "solomon" / "R102.sol")
    check = check_solution(instance, routes, convention="euclid_double")
    assert not check.feasible
    assert check.violations == ("route 18: service at customer 14 starts at 42.07 > due 42.00",)


@needs_instances
def test_solomon_c101_matches_the_readme_example() -> None:
    instance = read_instance(DEFAULT_INSTANCES / "solomon" / "C101.txt")
    routes, cost = read_solution(DEFAULT_INSTANCES / "solomon" / "C101.sol")
    assert cost == 827.3
    assert round(check_solution(instance, routes).distance, 2) == 828.94
    bks = load_bks(DEFAULT_INSTANCES / "bks.csv")
    ref = gap_reference("C101", "solomon", bks)
    assert ref is not None and ref.distance == 827.3
    assert gap_percent(instance, routes, ref) == pytest.approx(0.0, abs=1e-9)


@needs_instances
def test_homberger_sintef_solutions_are_feasible_with_their_bks_distance() -> None:
    bks = load_bks(DEFAULT_INSTANCES / "bks.csv")
    paths = sorted((DEFAULT_INSTANCES / "homberger").glob("*.hier.sol"))
    assert len(paths) == 12
    for path in paths:
        name = path.name.removesuffix(".hier.sol")
        instance = read_instance(path.with_name(f"{name}.txt"))
        assert instance.family == "homberger"
        routes, cost = read_solution(path)
        assert cost is None
        check = check_solution(instance, routes)
        assert check.feasible, (name, check.violations)
        ref = bks[(name, "euclid_double")]
        assert ref.hierarchical
        assert check.vehicles == ref.vehicles, name
        assert round(check.distance, 4) == pytest.approx(ref.distance, abs=1e-9), name


@needs_instances
def test_homberger_dimacs_solutions_reproduce_their_cost() -> None:
    paths = sorted((DEFAULT_INSTANCES / "homberger").glob("*.dimacs.sol"))
    assert len(paths) == 6
    for path in paths:
        instance = read_instance(path.with_name(path.name.removesuffix(".dimacs.sol") + ".txt"))
        routes, cost = read_solution(path)
        check = check_solution(instance, routes, convention="dimacs_trunc1")
        assert check.feasible, (path.name, check.violations)
        assert route_cost(instance, routes, "dimacs_trunc1") == cost, path.name


@needs_instances
def test_x_solutions_reproduce_their_cost() -> None:
    bks = load_bks(DEFAULT_INSTANCES / "bks.csv")
    paths = sorted((DEFAULT_INSTANCES / "cvrplib_x").glob("*.vrp"))
    assert len(paths) == 10
    for path in paths:
        instance = read_instance(path)
        assert instance.family == "cvrplib_x" and not instance.has_time_windows
        total = int(instance.demand.sum())
        assert instance.max_vehicles == 2 * math.ceil(total / instance.capacity)
        routes, cost = read_solution(path.with_suffix(".sol"))
        check = check_solution(instance, routes, convention="euclid_nint")
        assert check.feasible, (path.name, check.violations)
        assert route_cost(instance, routes, "euclid_nint") == cost, path.name
        ref = gap_reference(instance.name, "cvrplib_x", bks)
        assert ref is not None and gap_percent(instance, routes, ref) == 0.0


@needs_instances
def test_every_bks_row_has_an_instance_and_every_instance_a_reference() -> None:
    bks = load_bks(DEFAULT_INSTANCES / "bks.csv")
    assert len(bks) == 196
    for family in ("solomon", "homberger", "cvrplib_x"):
        for path in (DEFAULT_INSTANCES / family).glob("*.*"):
            if path.suffix in {".txt", ".vrp"}:
                assert gap_reference(path.stem, family, bks) is not None, path.name
