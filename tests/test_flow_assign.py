"""Assignment by min-cost flow: optimality against independent solvers, stock, reasons, planner."""

from __future__ import annotations

import inspect
import re
from collections import defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.sparse import csr_array
from scipy.sparse.csgraph import maximum_flow

from cli import main
from optimizer import flow_assign
from optimizer.flow_assign import assign_by_flow, family_kg, min_cost_transport
from optimizer.model import DropPoint, Scenario, Tranche, Truck, Warehouse, haversine_km
from optimizer.planner import ASSIGNMENTS, PlannerOptions
from optimizer.reasons import ReasonCode
from tests.conftest import DRAMAGA, make_tiny_scenario, planned_feasible_and_conserved

# --- the solver alone ------------------------------------------------------------------------


def test_a_full_warehouse_sends_the_cheaper_point_on() -> None:
    # Both points prefer W0 (cost 1 and 2) which takes 10 of 20 families; moving point 1 to
    # W1 costs 3 more per family, moving point 0 costs 9 more: point 0 stays, point 1 moves.
    result = min_cost_transport(
        supply=[10, 10],
        capacity=[10, 10],
        arc_point=[0, 0, 1, 1],
        arc_warehouse=[0, 1, 0, 1],
        arc_cost=[1, 10, 2, 5],
    )
    assert result.arc_flow.tolist() == [10, 0, 0, 10]
    assert result.unmet.tolist() == [0, 0]
    assert result.cost == 10 * 1 + 10 * 5


def test_unmet_families_when_stock_is_short() -> None:
    result = min_cost_transport([7, 5], [4], [0, 1], [0, 0], [3, 1])
    # The nearer point (cost 1) is served first: 4 families of point 1, none of point 0.
    assert result.arc_flow.tolist() == [0, 4]
    assert result.unmet.tolist() == [7, 1]


def test_a_finite_penalty_leaves_far_families_unmet() -> None:
    args = ([5], [5], [0], [0], [2_000])
    assert min_cost_transport(*args).unmet.tolist() == [0]
    assert min_cost_transport(*args, unmet_cost=1_000).unmet.tolist() == [5]
    assert min_cost_transport(*args, unmet_cost=3_000).unmet.tolist() == [0]


def test_bad_arrays_are_refused() -> None:
    with pytest.raises(ValueError, match="one entry per arc"):
        min_cost_transport([1], [1], [0, 0], [0], [1])
    with pytest.raises(ValueError, match=">= 0"):
        min_cost_transport([-1], [1], [0], [0], [1])
    with pytest.raises(ValueError, match="does not exist"):
        min_cost_transport([1], [1], [0], [3], [1])


@st.composite
def transports(draw: st.DrawFn) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    n_points = draw(st.integers(1, 6))
    n_wh = draw(st.integers(1, 4))
    supply = draw(st.lists(st.integers(0, 20), min_size=n_points, max_size=n_points))
    capacity = draw(st.lists(st.integers(0, 30), min_size=n_wh, max_size=n_wh))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n_points - 1), st.integers(0, n_wh - 1)),
            unique=True,
            max_size=n_points * n_wh,
        )
    )
    costs = draw(st.lists(st.integers(0, 1000), min_size=len(pairs), max_size=len(pairs)))
    return supply, capacity, [p for p, _ in pairs], [w for _, w in pairs], costs


def _independent_max_flow(
    supply: list[int], capacity: list[int], points: list[int], whs: list[int]
) -> int:
    """Scipy's max flow (Edmonds-Karp / Dinic) on source -> points -> warehouses -> sink."""
    n_p, n_w = len(supply), len(capacity)
    source, sink = n_p + n_w, n_p + n_w + 1
    cap = np.zeros((sink + 1, sink + 1), dtype=np.int32)
    for p, s in enumerate(supply):
        cap[source, p] = s
    for p, w in zip(points, whs, strict=True):
        cap[p, n_p + w] = supply[p]
    for w, c in enumerate(capacity):
        cap[n_p + w, sink] = c
    return int(maximum_flow(csr_array(cap), source, sink).flow_value)


def _independent_min_cost(
    supply: list[int],
    capacity: list[int],
    points: list[int],
    whs: list[int],
    costs: list[int],
    served: int,
) -> float:
    """The least cost of serving exactly ``served`` units, by HiGHS's LP (scipy.linprog)."""
    n_arcs = len(points)
    if n_arcs == 0:
        return 0.0
    a_ub = np.zeros((len(supply) + len(capacity), n_arcs))
    for a, (p, w) in enumerate(zip(points, whs, strict=True)):
        a_ub[p, a] = 1
        a_ub[len(supply) + w, a] = 1
    result = linprog(
        costs,
        A_ub=a_ub,
        b_ub=[*supply, *capacity],
        A_eq=np.ones((1, n_arcs)),
        b_eq=[served],
        bounds=(0, None),
        method="highs",
    )
    assert result.status == 0
    return float(result.fun)


@settings(max_examples=60)
@given(transports())
@example(([10, 10], [10, 10], [0, 0, 1, 1], [0, 1, 0, 1], [1, 10, 2, 5]))
def test_flow_is_a_maximum_flow_at_least_cost(
    case: tuple[list[int], list[int], list[int], list[int], list[int]],
) -> None:
    supply, capacity, points, whs, costs = case
    result = min_cost_transport(supply, capacity, points, whs, costs)
    flow = result.arc_flow.tolist()
    # Conservation, capacities, whole units.
    sent = np.bincount(points, weights=flow, minlength=len(supply)) if points else 0
    assert (np.asarray(sent) + result.unmet == np.asarray(supply)).all()
    taken = np.bincount(whs, weights=flow, minlength=len(capacity)) if whs else 0
    assert (np.asarray(taken) <= np.asarray(capacity)).all()
    assert all(f >= 0 for f in flow) and (result.unmet >= 0).all()
    served = sum(flow)
    assert served == _independent_max_flow(supply, capacity, points, whs)
    assert result.cost == pytest.approx(
        _independent_min_cost(supply, capacity, points, whs, costs, served), abs=1e-6
    )
    # A penalty above any chain of re-assignments gives the same flow's size and cost.
    big = min_cost_transport(supply, capacity, points, whs, costs, unmet_cost=10**7)
    assert int(big.arc_flow.sum()) == served
    assert big.cost == result.cost


# --- national assignment on scenarios --------------------------------------------------------

SEP = Tranche("T1", "September", 30.0, date(2020, 9, 1), date(2020, 9, 30))
OCT = Tranche("T2", "Oktober", 15.0, date(2020, 10, 1), date(2020, 10, 31))


def _scenario(
    warehouses: list[tuple[str, float, float, float]],
    points: list[tuple[str, float, float, int]],
    *,
    trucks_at: list[str] | None = None,
) -> Scenario:
    trucks = tuple(
        Truck(f"{w}-T", w, 8000.0, 7 * 3600, 17 * 3600, 5000.0, 500_000.0)
        for w in (trucks_at if trucks_at is not None else [w[0] for w in warehouses])
    )
    return Scenario(
        name="flow",
        start_date=date(2020, 9, 1),
        warehouses=tuple(Warehouse(i, i, lon, lat, kg) for i, lon, lat, kg in warehouses),
        trucks=trucks,
        drop_points=tuple(DropPoint(i, i, lon, lat, k) for i, lon, lat, k in points),
        tranches=(SEP, OCT),
    )


def test_family_is_one_ration_of_every_tranche() -> None:
    assert family_kg(_scenario([], [])) == 45.0


def test_ample_stock_sends_every_point_whole_to_its_nearest() -> None:
    scenario = _scenario(
        [("WA", 106.7, -6.6, 1e6), ("WB", 107.2, -6.9, 1e6)],
        [("P1", 106.75, -6.62, 40), ("P2", 107.1, -6.85, 30), ("P3", 106.9, -6.7, 10)],
    )
    result = assign_by_flow(scenario)
    assert result.unmet == ()
    got = {s.drop_point: (s.warehouse, s.families) for s in result.shares}
    for point in scenario.drop_points:
        nearest = min(
            scenario.warehouses, key=lambda w: haversine_km(w.lon, w.lat, point.lon, point.lat)
        )
        assert got[point.id] == (nearest.id, point.kpm)
    expected_km = (
        sum(
            p.kpm
            * haversine_km(
                *(lambda w: (w.lon, w.lat))(scenario.warehouse(got[p.id][0])), p.lon, p.lat
            )
            for p in scenario.drop_points
        )
        * scenario.travel.circuity
    )
    assert result.cost == pytest.approx(expected_km, rel=1e-6)
    assert result.families_by_warehouse() == {"WA": 50, "WB": 30}


def test_short_stock_splits_points_in_whole_families_and_explains_the_rest() -> None:
    # WA holds 20 families (900 kg + 30 kg, not a 21st), WB 10; 45 families want rice.
    scenario = _scenario(
        [("WA", 106.7, -6.6, 930.0), ("WB", 106.9, -6.6, 450.0)],
        [("P1", 106.71, -6.6, 25), ("P2", 106.89, -6.6, 20)],
    )
    result = assign_by_flow(scenario)
    served = defaultdict(int)
    for share in result.shares:
        served[share.drop_point] += share.families
    unmet = {u.drop_point: u for u in result.unmet}
    for point in scenario.drop_points:
        assert (
            served[point.id] + (unmet[point.id].families if point.id in unmet else 0) == point.kpm
        )
    assert result.families_by_warehouse() == {"WA": 20, "WB": 10}
    assert sum(u.families for u in result.unmet) == 15
    for item in result.unmet:
        assert item.reason_code == "stock"
        assert set(item.facts.warehouses) == {"WA", "WB"}
        assert item.facts.ration_kg == 45.0
        assert all(kg < 45.0 for kg in item.facts.leftover_kg)
        assert dict(zip(item.facts.warehouses, item.facts.leftover_kg, strict=True)) == {
            "WA": 30.0,
            "WB": 0.0,
        }


def test_a_warehouse_without_trucks_serves_nobody() -> None:
    scenario = _scenario(
        [("NEAR", 106.7, -6.6, 1e6), ("FAR", 107.5, -7.0, 1e6)],
        [("P1", 106.71, -6.6, 10)],
        trucks_at=["FAR"],
    )
    assert [(s.warehouse, s.families) for s in assign_by_flow(scenario).shares] == [("FAR", 10)]


def test_no_trucks_anywhere_is_a_capacity_reason() -> None:
    scenario = _scenario([("W", 106.7, -6.6, 1e6)], [("P1", 106.71, -6.6, 10)], trucks_at=[])
    result = assign_by_flow(scenario)
    assert result.shares == ()
    assert [(u.families, u.reason_code, u.facts.no_trucks) for u in result.unmet] == [
        (10, "capacity", True)
    ]


def test_max_km_and_nearest_limit_the_arcs() -> None:
    scenario = _scenario(
        [("NEAR", 106.7, -6.6, 450.0), ("FAR", 108.0, -7.0, 1e6)],
        [("P1", 106.71, -6.6, 30)],
    )
    assert assign_by_flow(scenario).families_by_warehouse() == {"NEAR": 10, "FAR": 20}
    capped = assign_by_flow(scenario, max_km=50.0)
    assert capped.families_by_warehouse() == {"NEAR": 10}
    assert [(u.families, u.facts.warehouses) for u in capped.unmet] == [(20, ("NEAR",))]
    assert assign_by_flow(scenario, nearest=1).families_by_warehouse() == {"NEAR": 10}
    with pytest.raises(ValueError, match="nearest"):
        assign_by_flow(scenario, nearest=0)


def test_a_distance_function_replaces_the_straight_line() -> None:
    scenario = _scenario(
        [("A", 106.7, -6.6, 1e6), ("B", 106.8, -6.6, 1e6)], [("P1", 106.71, -6.6, 10)]
    )

    # Roads make the farther warehouse the shorter drive.
    def roads_km(points: np.ndarray, warehouses: np.ndarray) -> np.ndarray:
        return np.where(warehouses == 0, 30.0, 12.0)

    result = assign_by_flow(scenario, distance_km=roads_km)
    assert [(s.warehouse, s.families) for s in result.shares] == [("B", 10)]
    assert result.cost == pytest.approx(120.0)


@settings(max_examples=30)
@given(
    st.lists(st.tuples(st.floats(95.0, 141.0), st.floats(-11.0, 6.0)), min_size=1, max_size=12),
    st.lists(st.tuples(st.floats(95.0, 141.0), st.floats(-11.0, 6.0)), min_size=1, max_size=15),
    st.integers(1, 5),
)
def test_candidates_are_the_great_circle_nearest(
    warehouses: list[tuple[float, float]], points: list[tuple[float, float]], nearest: int
) -> None:
    # Stock for nothing: every point's unmet facts list its candidates, nearest first.
    scenario = _scenario(
        [(f"W{i}", lon, lat, 45.0) for i, (lon, lat) in enumerate(warehouses)],
        [(f"P{i}", lon, lat, 10**6) for i, (lon, lat) in enumerate(points)],
    )
    result = assign_by_flow(scenario, nearest=nearest)
    by_point = {u.drop_point: u.facts.warehouses for u in result.unmet}
    for point in scenario.drop_points:
        km = sorted(haversine_km(w.lon, w.lat, point.lon, point.lat) for w in scenario.warehouses)
        got = [
            haversine_km(scenario.warehouse(w).lon, scenario.warehouse(w).lat, point.lon, point.lat)
            for w in by_point[point.id]
        ]
        assert got == pytest.approx(km[: len(got)], abs=1e-6)
        assert len(got) == min(nearest, len(warehouses))


def test_the_same_scenario_gives_the_same_assignment() -> None:
    rng = np.random.default_rng(7)
    scenario = _scenario(
        [(f"W{i}", *rng.uniform([106, -7], [107, -6]), 45.0 * 300) for i in range(6)],
        [(f"P{i}", *rng.uniform([106, -7], [107, -6]), 50) for i in range(60)],
    )
    first, second = assign_by_flow(scenario), assign_by_flow(scenario)
    assert first.shares == second.shares and first.unmet == second.unmet
    assert sum(first.families_by_warehouse().values()) == 6 * 300


# --- in the planner ----------------------------------------------------------------------------


def test_planner_refuses_an_unknown_assignment() -> None:
    with pytest.raises(ValueError, match="unknown assignment"):
        PlannerOptions(assignment="greedy")


def _two_warehouses_short() -> Scenario:
    """Two warehouses; the second holds stock for half its nearby points."""
    w1 = Warehouse("W1", "Gudang Dramaga", DRAMAGA[0], DRAMAGA[1], 60_000.0)
    w2 = Warehouse("W2", "Gudang Cibinong", 106.85, -6.48, 10_000.0)
    trucks = (
        Truck("A1", "W1", 5000.0, 7 * 3600, 17 * 3600, 6000.0, 900_000.0, 3, "CDD"),
        Truck("B1", "W2", 5000.0, 7 * 3600, 17 * 3600, 6000.0, 900_000.0, 3, "CDD"),
    )
    points = tuple(
        DropPoint(
            f"P{i:02d}",
            f"RW {i}",
            (DRAMAGA[0] if i < 8 else 106.85) + 0.01 * (i % 4 - 2),
            (DRAMAGA[1] if i < 8 else -6.48) + 0.01 * (i % 3 - 1),
            40,
        )
        for i in range(16)
    )
    return make_tiny_scenario(warehouses=(w1, w2), trucks=trucks, drop_points=points)


@pytest.mark.parametrize("assignment", ["regret", "flow"])
def test_planner_with_flow_assignment_passes_the_checker(
    assignment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[0]))
        return min_cost_transport(*args, **kwargs)

    monkeypatch.setattr(flow_assign, "min_cost_transport", counted)
    scenario = _two_warehouses_short()
    plan, _ = planned_feasible_and_conserved(scenario, PlannerOptions(assignment=assignment))
    # The flow places all 16 points in the first round; regret never calls it.
    assert calls[:1] == ([16] if assignment == "flow" else [])
    # 16 x 40 families x 45 kg = 28,800 kg, 70,000 kg in stock: everything is delivered, and
    # W2's shortfall is made up from W1.
    assert plan.unassigned == ()
    shipped: dict[str, float] = defaultdict(float)
    for route in plan.routes:
        shipped[route.warehouse] += route.load_kg
    assert shipped["W2"] <= 10_000.0
    assert shipped["W1"] == pytest.approx(28_800.0 - shipped["W2"])


def test_planner_flow_reports_stock_when_every_warehouse_is_empty() -> None:
    scenario = _two_warehouses_short()
    scenario = replace(
        scenario,
        warehouses=tuple(replace(w, stock_kg=w.stock_kg / 10) for w in scenario.warehouses),
    )
    plan, _ = planned_feasible_and_conserved(scenario, PlannerOptions(assignment="flow"))
    assert {u.reason_code.value for u in plan.unassigned} == {"stock"}


# --- the docs ------------------------------------------------------------------------------------


def test_docs_name_every_option_and_default_of_the_assignment() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "national.md").read_text("utf-8")
    section = text.split("## Assignment", 1)[1]
    parameters = inspect.signature(assign_by_flow).parameters
    for name in ("nearest", "max_km", "unmet_penalty_per_family", "distance_km"):
        assert f"`{name}`" in section, name
    assert f"default {parameters['nearest'].default}" in section
    for name in ASSIGNMENTS:
        assert f'assignment="{name}"' in section, name
    assert f'PlannerOptions(assignment="{PlannerOptions().assignment}")` (the default)' in section
    for code in re.findall(r"are `(\w+)`", section):
        assert code in {c.value for c in ReasonCode}, code
    assert f"{family_kg(_scenario([], [])):g} kg" in section


# --- the benchmark command -----------------------------------------------------------------------


def test_bench_assign_measures_both_and_writes_nothing_with_no_write(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    result = CliRunner().invoke(
        main,
        [
            "bench",
            "assign",
            *("--points", "300", "--warehouses", "6", "--nearest", "3", "--penalties", "50"),
            *("--sizes", "30", "--seeds", "1", "--workers", "1", "--solution-limit", "5"),
            *("--results-md", str(results), "--no-write"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "## Assignment: min-cost flow vs regret" in result.output
    assert "| 300 | 6 | 3 | none (max flow) |" in result.output
    assert "| 300 | 6 | 3 | 50 km |" in result.output
    for kind in ("plain", "short"):
        for assignment in ("regret", "flow"):
            row = next(
                line
                for line in result.output.splitlines()
                if line.startswith(f"| {kind} | 30 | 1 | {assignment} |")
            )
            assert row.rstrip(" |").endswith("| 0"), row  # no checker violation
    assert not results.exists()


def test_bench_assign_refuses_a_bad_list_naming_the_option() -> None:
    result = CliRunner().invoke(main, ["bench", "assign", "--seeds", "1,two", "--no-write"])
    assert result.exit_code == 2
    assert "--seeds" in result.output and "Traceback" not in result.output
