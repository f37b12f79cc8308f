"""benchmarks.solve and `bsb bench solve`: instances become routing problems, solutions check."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("vrplib")  # benchmarks.vrp reads instances with it

from benchmarks.solve import (
    SCALE,
    bench_strategy_names,
    is_bsb_solution,
    is_bsb_trace,
    routing_problem,
    solve_instance,
    write_trace,
)
from benchmarks.vrp import (
    VrpInstance,
    check_solution,
    euclid_matrix,
    make_random_instance,
    read_instance,
    read_solution,
    route_cost,
    write_solomon,
)
from cli import main
from optimizer import engines
from optimizer.routing import DROP_PENALTY
from optimizer.strategies import strategy_names
from tests.conftest import tree_digest

HAS_PYVRP = importlib.util.find_spec("pyvrp") is not None
HAS_VROOM = importlib.util.find_spec("vroom") is not None
needs_pyvrp = pytest.mark.skipif(not HAS_PYVRP, reason="PyVRP (extra 'pyvrp') is not installed")
needs_vroom = pytest.mark.skipif(not HAS_VROOM, reason="pyvroom (extra 'bench') is not installed")


def fractional_instance(*, windows: bool = True) -> VrpInstance:
    """Depot and six customers at non-integer spots; windows with fractions, one tight.

    Customer 6 (distance 4.5722 from the depot) closes at 4.7: it must come first on its
    route, and its integer window [0, 470] still admits the travel time ceil(457.22) = 458.
    """
    n = 7
    return VrpInstance(
        name="fractional",
        family="random",
        x=np.asarray([0.0, 1.1, 2.3, -3.7, 0.4, -1.9, 4.45]),
        y=np.asarray([0.0, 2.9, -1.3, 0.7, 3.3, -2.2, 1.05]),
        demand=np.asarray([0, 4, 3, 5, 2, 6, 3], dtype=np.int64),
        capacity=10,
        ready=np.asarray([0.0, 0.0, 10.0, 0.0, 7.5, 0.0, 0.0] if windows else [0.0] * n),
        due=np.asarray([60.0, 30.0, 20.0, 40.0, 9.0, 50.0, 4.7] if windows else [math.inf] * n),
        service=np.asarray([0.0, 2.0, 1.5, 3.0, 1.0, 2.0, 0.5] if windows else [0.0] * n),
        max_vehicles=4,
        has_time_windows=windows,
    )


# --- routing_problem --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_routing_problem_scales_a_random_instance_to_integers(seed: int) -> None:
    instance = make_random_instance(12, seed)
    problem = routing_problem(instance)
    d = euclid_matrix(instance)
    assert problem.timed
    assert problem.distance_m.shape == problem.travel_s.shape == (13, 13)
    assert problem.distance_m.dtype == problem.travel_s.dtype == np.int64
    for column in (
        problem.service_s,
        problem.demand_sacks,
        problem.open_s,
        problem.close_s,
    ):
        assert len(column) == 13
    np.testing.assert_array_equal(problem.distance_m, np.rint(SCALE * d))
    np.testing.assert_array_equal(problem.travel_s, np.ceil(SCALE * d - 1e-9))
    # Travel never shorter than the true distance (up to float noise).
    assert (problem.travel_s >= SCALE * d - 1e-6).all()
    # Integer data scale exactly.
    assert list(problem.demand_sacks) == instance.demand.tolist()
    assert list(problem.service_s) == (SCALE * instance.service).astype(int).tolist()
    assert list(problem.open_s) == (SCALE * instance.ready).astype(int).tolist()
    assert list(problem.close_s) == (SCALE * instance.due).astype(int).tolist()
    (group,) = problem.groups
    assert group.capacity_sacks == instance.capacity
    assert group.n_trips == instance.max_vehicles
    assert group.cost_weight == 1.0
    assert (group.earliest_depart_s, group.shift_end_s) == (0, SCALE * int(instance.due[0]))


def test_routing_problem_rounds_windows_inwards_and_durations_up() -> None:
    instance = fractional_instance()
    problem = routing_problem(instance)
    # 100 * 4.7 is 470.00000000000006 in floating point: the window still closes at 470.
    assert list(problem.open_s) == [0, 0, 1000, 0, 750, 0, 0]
    assert list(problem.close_s) == [6000, 3000, 2000, 4000, 900, 5000, 470]
    assert list(problem.service_s) == [0, 200, 150, 300, 100, 200, 50]
    # Customer 6: distance 4.57219... -> cost rint(457.22) = 457, travel ceil(457.22) = 458.
    assert problem.distance_m[0, 6] == 457
    assert problem.travel_s[0, 6] == 458


@pytest.mark.parametrize(
    ("ready", "due", "opens", "closes"),
    [
        (1.234, 5.678, 124, 567),  # fractions: the window shrinks to whole units inside it
        (1.1, 2.9, 110, 290),  # 100 * 1.1 = 110.00000000000001 must not open at 111
        (0.29, 0.57, 29, 57),  # 100 * 0.57 = 56.99999999999999 must not close at 56
    ],
)
def test_routing_problem_window_rounding_survives_float_noise(
    ready: float, due: float, opens: int, closes: int
) -> None:
    base = fractional_instance()
    instance = VrpInstance(
        name=base.name,
        family=base.family,
        x=base.x,
        y=base.y,
        demand=base.demand,
        capacity=base.capacity,
        ready=np.asarray([0.0, ready, *base.ready[2:]]),
        due=np.asarray([base.due[0], due, *base.due[2:]]),
        service=base.service,
        max_vehicles=base.max_vehicles,
        has_time_windows=True,
    )
    problem = routing_problem(instance)
    assert (problem.open_s[1], problem.close_s[1]) == (opens, closes)
    assert SCALE * ready - 1e-9 <= opens <= closes <= SCALE * due + 1e-9


def test_routing_problem_of_a_cvrp_instance_is_untimed() -> None:
    instance = fractional_instance(windows=False)
    problem = routing_problem(instance)
    assert not problem.timed
    assert list(problem.service_s) == [0] * 7
    assert all(math.isfinite(c) and isinstance(c, int) for c in problem.close_s)
    (group,) = problem.groups
    assert group.capacity_sacks == 10
    assert group.n_trips == 4
    assert group.shift_end_s >= max(problem.close_s)


# --- solve_instance ---------------------------------------------------------------------------

SOLVED_STRATEGIES = ["ortools", "pci-gls", *(["pyvrp"] if HAS_PYVRP else [])]


@settings(max_examples=15, deadline=None)
@given(
    n_customers=st.integers(5, 25),
    seed=st.integers(0, 10_000),
    strategy=st.sampled_from(SOLVED_STRATEGIES),
)
def test_solve_instance_is_complete_and_feasible_in_double_precision(
    n_customers: int, seed: int, strategy: str
) -> None:
    instance = make_random_instance(n_customers, seed)
    outcome = solve_instance(instance, strategy, 5.0, seed=1, solution_limit=30)
    assert outcome.complete
    checked = check_solution(instance, outcome.routes, convention="euclid_double")
    assert checked.feasible, checked.violations
    assert all(outcome.routes)
    assert outcome.distance == pytest.approx(route_cost(instance, outcome.routes, "euclid_double"))
    assert outcome.distance == pytest.approx(checked.distance)
    distances = [distance for _, distance in outcome.trace]
    assert distances
    assert all(b <= a for a, b in itertools.pairwise(distances))


@pytest.mark.parametrize("strategy", SOLVED_STRATEGIES)
def test_solve_instance_with_fractional_data_is_feasible_in_double_precision(
    strategy: str,
) -> None:
    instance = fractional_instance()
    outcome = solve_instance(instance, strategy, 5.0, solution_limit=50)
    assert outcome.complete
    checked = check_solution(instance, outcome.routes)
    assert checked.feasible, checked.violations
    assert any(route[0] == 6 for route in outcome.routes)


def test_solve_instance_of_a_cvrp_instance_uses_capacity_only() -> None:
    instance = fractional_instance(windows=False)
    outcome = solve_instance(instance, "ortools", 5.0, solution_limit=50)
    assert outcome.complete
    checked = check_solution(instance, outcome.routes)
    assert checked.feasible, checked.violations
    # 23 units of demand, capacity 10: at least three routes, at most the fleet of four.
    assert 3 <= checked.vehicles <= 4


def test_solve_instance_rejects_an_unknown_strategy() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        solve_instance(fractional_instance(), "nonsense", 1.0)


def test_bench_strategy_names_add_the_vroom_references() -> None:
    names = bench_strategy_names()
    assert names == [*strategy_names(), "vroom", "vroom-x0"]
    assert len(names) == len(set(names))


def test_write_trace_writes_a_header_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "trace.csv"
    write_trace(path, [(0.0, 12.5), (1.25, 10.0)])
    assert path.read_text(encoding="utf-8").splitlines() == [
        "elapsed_s,distance",
        "0.000,12.5000",
        "1.250,10.0000",
    ]
    assert list(path.parent.iterdir()) == [path]


# --- bsb bench solve --------------------------------------------------------------------------

# Depot at (0, 0); customer 1 at distance 50 closes at 10: no vehicle can reach it in time.
UNSERVABLE_SOLOMON = """unservable

VEHICLE
NUMBER     CAPACITY
    3          100

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0          0          0          0          0       1000          0
    1         50          0         10          0         10          0
    2          0         10         10          0       1000          0
    3        -10          0         10          0       1000          0
"""

# Depot (node 1) and five customers, EUC_2D; demand 28 in all, capacity 10.
TINY_VRPLIB = """NAME : tiny-x
COMMENT : hand-written for tests
TYPE : CVRP
DIMENSION : 6
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 50 50
2 60 50
3 50 65
4 30 40
5 70 80
6 45 20
DEMAND_SECTION
1 0
2 7
3 5
4 6
5 4
6 6
DEPOT_SECTION
1
-1
EOF
"""


@pytest.fixture(scope="module")
def instance_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("instances") / "rand-n15-s5.txt"
    write_solomon(path, make_random_instance(15, 5))
    return path


def bench_solve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-q", "bench", "solve", *args])
    return result.exit_code, result.output


def assert_solution_checks_out(instance_path: Path, solution_path: Path) -> None:
    instance = read_instance(instance_path)
    routes, cost = read_solution(solution_path)
    checked = check_solution(instance, routes)
    assert checked.feasible, checked.violations
    assert cost is not None
    assert cost == pytest.approx(route_cost(instance, routes, "euclid_double"), abs=1e-6)


def test_bench_solve_writes_a_feasible_solution_with_its_cost(
    instance_file: Path, tmp_path: Path
) -> None:
    solution = tmp_path / "out.sol"
    code, output = bench_solve(
        str(instance_file), "-o", str(solution), "--strategy", "ortools", "--solution-limit", "50"
    )
    assert code == 0, output
    assert_solution_checks_out(instance_file, solution)
    assert "rand-n15-s5" in output
    assert str(solution) in output


def test_bench_solve_same_seed_and_limit_give_identical_files(
    instance_file: Path, tmp_path: Path
) -> None:
    texts = []
    for name in ("first.sol", "second.sol"):
        solution = tmp_path / name
        code, output = bench_solve(
            str(instance_file), "-o", str(solution), "--seed", "4", "--solution-limit", "50"
        )
        assert code == 0, output
        texts.append(solution.read_bytes())
    assert texts[0] == texts[1]


def test_bench_solve_writes_a_falling_trace(instance_file: Path, tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    code, output = bench_solve(
        str(instance_file),
        "-o",
        str(tmp_path / "out.sol"),
        "--strategy",
        "pci-gls",
        "--solution-limit",
        "50",
        "--trace",
        str(trace),
    )
    assert code == 0, output
    with trace.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["elapsed_s", "distance"]
    assert len(rows) >= 2
    elapsed = [float(r[0]) for r in rows[1:]]
    distances = [float(r[1]) for r in rows[1:]]
    assert all(e >= 0 for e in elapsed)
    assert elapsed == sorted(elapsed)
    assert all(b <= a for a, b in itertools.pairwise(distances))
    routes, cost = read_solution(tmp_path / "out.sol")
    assert cost is not None
    # The trace's last entry is the written solution, its arcs rounded to 1/100 of a unit.
    arcs = sum(len(route) + 1 for route in routes)
    assert distances[-1] == pytest.approx(cost, abs=0.005 * arcs + 1e-6)


def test_bench_solve_unknown_strategy_exits_2_naming_it(
    instance_file: Path, tmp_path: Path
) -> None:
    solution = tmp_path / "out.sol"
    code, output = bench_solve(str(instance_file), "-o", str(solution), "--strategy", "warp")
    assert code == 2
    assert "'warp'" in output
    assert not solution.exists()


@pytest.mark.parametrize(
    "text", [None, "this is not an instance\n1 2 3\n"], ids=["missing", "garbage"]
)
def test_bench_solve_unreadable_instance_exits_2(tmp_path: Path, text: str | None) -> None:
    instance = tmp_path / "broken.txt"
    if text is not None:
        instance.write_text(text, encoding="utf-8")
    solution = tmp_path / "out.sol"
    code, output = bench_solve(str(instance), "-o", str(solution))
    assert code == 2, output
    assert "broken.txt" in output
    assert not solution.exists()


def test_bench_solve_exits_1_without_a_file_when_a_customer_cannot_be_served(
    tmp_path: Path,
) -> None:
    instance = tmp_path / "unservable.txt"
    instance.write_text(UNSERVABLE_SOLOMON, encoding="utf-8")
    solution = tmp_path / "out.sol"
    code, output = bench_solve(
        str(instance), "-o", str(solution), "--strategy", "ortools", "--solution-limit", "20"
    )
    assert code == 1, output
    assert "no solution" in output
    assert not solution.exists()


def test_bench_solve_a_vrplib_cvrp_instance(tmp_path: Path) -> None:
    instance = tmp_path / "tiny-x.vrp"
    instance.write_text(TINY_VRPLIB, encoding="utf-8")
    solution = tmp_path / "tiny-x.sol"
    code, output = bench_solve(
        str(instance), "-o", str(solution), "--strategy", "ortools", "--solution-limit", "50"
    )
    assert code == 0, output
    assert_solution_checks_out(instance, solution)
    routes, _ = read_solution(solution)
    assert sorted(c for r in routes for c in r) == [1, 2, 3, 4, 5]
    assert len(routes) <= 2 * math.ceil(28 / 10)


@needs_vroom
def test_bench_solve_with_vroom(instance_file: Path, tmp_path: Path) -> None:
    solution = tmp_path / "out.sol"
    code, output = bench_solve(
        str(instance_file), "-o", str(solution), "--strategy", "vroom", "--time-limit", "2"
    )
    assert code == 0, output
    assert_solution_checks_out(instance_file, solution)


def test_bench_solve_with_portfolio(
    instance_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two members whatever the machine, so the test costs the same on a many-core runner.
    members = engines.default_members
    monkeypatch.setattr(engines, "default_members", lambda *a, **k: members(2))
    solution = tmp_path / "out.sol"
    code, output = bench_solve(
        str(instance_file), "-o", str(solution), "--strategy", "portfolio", "--time-limit", "2"
    )
    assert code == 0, output
    assert_solution_checks_out(instance_file, solution)


# --- bsb bench report -------------------------------------------------------------------------


def test_bench_report_check_without_results_csv_exits_2(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    result = CliRunner().invoke(main, ["bench", "report", str(run_dir), "--check"])
    assert result.exit_code == 2, result.output
    assert "results.csv" in result.output


def test_bench_solve_into_a_missing_folder_is_not_an_internal_error(
    instance_file: Path, tmp_path: Path
) -> None:
    solution = tmp_path / "new" / "out.sol"
    code, output = bench_solve(str(instance_file), "-o", str(solution), "--solution-limit", "20")
    assert "internal error" not in output
    assert code in (0, 2), output


def test_trace_holds_only_solutions_that_serve_every_customer() -> None:
    # Savings starts by dropping customers here (found by a scan over seeds); the search then
    # serves them all, so the run is complete and its trace feeds the gap-over-time plot.
    instance = make_random_instance(41, 16)
    outcome = solve_instance(instance, "savings-gls", 5.0, solution_limit=30)
    assert outcome.complete
    assert outcome.trace
    assert all(distance < DROP_PENALTY / SCALE for _, distance in outcome.trace)


def test_bench_solve_names_the_extra_when_pyvrp_is_missing(
    instance_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from optimizer import strategies

    monkeypatch.setattr(strategies, "pyvrp_installed", lambda: False)
    solution = tmp_path / "out.sol"
    code, output = bench_solve(str(instance_file), "-o", str(solution), "--strategy", "pyvrp")
    assert code == 2, output
    assert "bsb[pyvrp]" in output
    assert not solution.exists()


# --- bsb bench solve -o: never over the instance or a file bsb did not write; the gap --------


def test_bench_solve_refuses_the_instance_and_foreign_files(
    instance_file: Path, tmp_path: Path
) -> None:
    (tmp_path / "C101.sol").write_text("Route #1: 1\nCost 1\n", encoding="utf-8")  # someone's
    before = (tree_digest(tmp_path), instance_file.read_bytes())
    for target, message in (
        (instance_file, "is the input itself"),
        (tmp_path / "C101.sol", "exists and bsb did not write it"),
    ):
        code, output = bench_solve(str(instance_file), "-o", str(target), "--force")
        assert code == 2, output
        assert message in output
    code, output = bench_solve(
        str(instance_file), "-o", str(tmp_path / "new.sol"), "--trace", str(tmp_path / "C101.sol")
    )
    assert code == 2, output
    assert "--trace" in output and "exists and bsb did not write it" in output
    assert (tree_digest(tmp_path), instance_file.read_bytes()) == before


def test_bench_solve_replaces_its_own_solution_only_with_force(
    instance_file: Path, tmp_path: Path
) -> None:
    solution, trace = tmp_path / "out.sol", tmp_path / "trace.csv"
    args = [str(instance_file), "-o", str(solution), "--trace", str(trace), "--solution-limit", "5"]
    assert bench_solve(*args)[0] == 0
    assert is_bsb_solution(solution) and is_bsb_trace(trace)
    assert read_solution(solution)[0]  # the comment line does not disturb the reader
    code, output = bench_solve(*args)
    assert code == 2, output
    assert "holds a solution file bsb wrote earlier" in output
    assert "holds a trace file bsb wrote earlier" in output
    assert bench_solve(*args, "--force")[0] == 0


def test_bench_solve_prints_the_gap_when_the_instance_has_a_best_known_solution(
    instance_file: Path, tmp_path: Path
) -> None:
    family = tmp_path / "instances" / "solomon"
    family.mkdir(parents=True)
    copy = family / instance_file.name
    copy.write_bytes(instance_file.read_bytes())
    name = read_instance(copy).name
    (tmp_path / "instances" / "bks.csv").write_text(
        "family,instance,customers,vehicles,bks_distance,objective_convention,source\n"
        f"solomon,{name},15,3,100.0,distance_only;dimacs_trunc1,test\n",
        encoding="utf-8",
    )
    solution = tmp_path / "out.sol"
    code, output = bench_solve(str(copy), "-o", str(solution), "--solution-limit", "5")
    assert code == 0, output
    routes, _ = read_solution(solution)
    truncated = route_cost(read_instance(copy), routes, "dimacs_trunc1")
    gap = 100.0 * (truncated - 100.0) / 100.0
    assert f"gap {gap:+.2f} % over the best-known 100 (3 vehicles" in output
    code, output = bench_solve(str(instance_file), "-o", str(tmp_path / "b.sol"), "--force")
    assert code == 0 and "gap" not in output  # a random instance has no best-known solution
