"""optimizer.waiting: the share of each tranche's families served by each date."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from geodata.sample import write_sample
from geodata.scenario_io import read_scenario
from optimizer.model import DropPoint, Scenario
from optimizer.solution import Plan, Route, Stop, compute_kpis, plan_from_dict
from optimizer.waiting import KeyDay, WaitingCurve, waiting_curves
from tests.conftest import make_tiny_plan, make_tiny_scenario

GOLDEN = Path(__file__).parent / "data" / "golden"
SEP_RELEASE = date(2020, 9, 1)
OCT_RELEASE = date(2020, 10, 1)


def _stop(point: str, tranche: str, kg: float, **kwargs: object) -> Stop:
    at = datetime(2020, 9, 1, 8, 0)
    return Stop(point, tranche, kg, math.ceil(kg / 15), at, at, **kwargs)  # type: ignore[arg-type]


def _route(day: date, stops: list[Stop], status: str = "planned") -> Route:
    at = datetime(day.year, day.month, day.day, 7, 0)
    return Route(
        "T1", "W1", day, 1, at, at, 10.0, sum(s.kg for s in stops), tuple(stops), status=status
    )


def _plan(scenario: Scenario, routes: list[Route]) -> Plan:
    return Plan(scenario.name, tuple(routes), (), compute_kpis(scenario, routes, ()))


def _curve(scenario: Scenario, routes: list[Route], tranche: str = "T-SEP") -> WaitingCurve:
    curves = waiting_curves(scenario, _plan(scenario, routes))
    return next(c for c in curves if c.tranche == tranche)


def test_the_tiny_plan_counts_whole_rations_by_day() -> None:
    scenario = make_tiny_scenario()
    sep, okt = waiting_curves(scenario, make_tiny_plan(scenario))
    # September (30 kg a family): 50 + 40 + 30 families on the 2nd, P3's half (60) on the 3rd.
    assert sep == WaitingCurve(
        "T-SEP",
        240,
        SEP_RELEASE,
        date(2020, 9, 30),
        ((date(2020, 9, 2), 120), (date(2020, 9, 3), 180)),
        (120 * 1 + 60 * 2) / 180,
    )
    assert okt.points == ((OCT_RELEASE, 90),)
    assert okt.mean_wait_days == 0.0
    assert sep.share_by(date(2020, 9, 1)) == 0.0
    assert sep.share_by(date(2020, 9, 2)) == 0.5
    assert sep.share_by(date(2020, 12, 31)) == 0.75
    assert sep.date_reaching(0.5) == date(2020, 9, 2)
    assert sep.date_reaching(0.6) == date(2020, 9, 3)
    assert sep.date_reaching(0.95) is None
    assert sep.families_served == 180
    assert sep.last_delivery == date(2020, 9, 3)


def test_curves_come_in_scenario_order_even_for_a_tranche_nobody_got() -> None:
    scenario = make_tiny_scenario()
    curves = waiting_curves(scenario, _plan(scenario, []))
    assert [c.tranche for c in curves] == ["T-SEP", "T-OKT"]
    assert all(c.points == () and c.mean_wait_days == 0.0 for c in curves)
    assert curves[0].date_reaching(1.0) is None
    assert curves[0].last_delivery is None


def test_a_ration_split_over_two_days_counts_on_the_day_it_is_completed() -> None:
    scenario = make_tiny_scenario()
    curve = _curve(
        scenario,
        [
            _route(date(2020, 9, 4), [_stop("P4", "T-SEP", 45.0)]),  # 1.5 rations
            _route(date(2020, 9, 6), [_stop("P4", "T-SEP", 15.0)]),  # the second one completed
        ],
    )
    assert curve.points == ((date(2020, 9, 4), 1), (date(2020, 9, 6), 2))
    assert curve.mean_wait_days == (3 + 5) / 2


def test_a_point_never_counts_more_families_than_it_has() -> None:
    scenario = make_tiny_scenario()
    curve = _curve(scenario, [_route(date(2020, 9, 2), [_stop("P4", "T-SEP", 5000.0)])])
    assert curve.points == ((date(2020, 9, 2), 30),)


def test_done_trips_count_and_a_replacement_swap_adds_no_families() -> None:
    scenario = make_tiny_scenario()
    curve = _curve(
        scenario,
        [
            _route(date(2020, 9, 2), [_stop("P4", "T-SEP", 900.0)], status="done"),
            _route(
                date(2020, 9, 5),
                [_stop("P4", "T-SEP", 90.0, kind="replacement", pickup_kg=90.0)],
            ),
        ],
    )
    assert curve.points == ((date(2020, 9, 2), 30), (date(2020, 9, 5), 30))
    assert curve.mean_wait_days == 1.0


def test_ninety_five_percent_means_whole_families_rounded_up() -> None:
    # 20 families at one point: 95 % is 19 families, not 18.
    point = DropPoint("P", "RW 01", 106.75, -6.56, 20)
    scenario = make_tiny_scenario(drop_points=(point,))
    curve = _curve(
        scenario,
        [
            _route(date(2020, 9, 2), [_stop("P", "T-SEP", 18 * 30.0)]),
            _route(date(2020, 9, 3), [_stop("P", "T-SEP", 30.0)]),
            _route(date(2020, 9, 4), [_stop("P", "T-SEP", 30.0)]),
        ],
    )
    assert curve.date_reaching(0.9) == date(2020, 9, 2)
    assert curve.date_reaching(0.95) == date(2020, 9, 3)
    assert curve.date_reaching(1.0) == date(2020, 9, 4)
    assert curve.date_reaching(0.0) == SEP_RELEASE


@pytest.mark.parametrize("share", [-0.1, 1.01, math.nan])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    curve = WaitingCurve("T", 10, SEP_RELEASE, SEP_RELEASE, (), 0.0)
    with pytest.raises(ValueError, match="share"):
        curve.date_reaching(share)


def test_a_tranche_without_families_is_served_from_its_release() -> None:
    curve = WaitingCurve("T", 0, SEP_RELEASE, date(2020, 9, 30), (), 0.0)
    assert curve.share_by(SEP_RELEASE) == 1.0
    assert curve.date_reaching(1.0) == SEP_RELEASE


def test_a_stop_of_an_unknown_tranche_is_an_error() -> None:
    scenario = make_tiny_scenario()
    plan = _plan(scenario, [])
    plan = replace(plan, routes=(_route(date(2020, 9, 2), [_stop("P4", "T-NOV", 30.0)]),))
    with pytest.raises(KeyError):
        waiting_curves(scenario, plan)


def _sample(folder: Path, n_points: int, seed: int, stock_share: float) -> Scenario:
    write_sample(folder, n_drop_points=n_points, seed=seed)
    scenario = read_scenario(folder)
    return replace(
        scenario,
        warehouses=tuple(
            replace(w, stock_kg=round(w.stock_kg * stock_share)) for w in scenario.warehouses
        ),
    )


# The golden plans' scenarios (tests/test_golden_plans.py): one served in full, one short of stock.
@pytest.mark.parametrize(
    ("name", "n_points", "seed", "stock_share"),
    [("sample60-ortools", 60, 3, 1.0), ("sample150-short-ortools", 150, 5, 0.45)],
)
def test_the_planners_plans_wait_as_long_as_their_kpis_say(
    name: str, n_points: int, seed: int, stock_share: float, tmp_path: Path
) -> None:
    scenario = _sample(tmp_path / "s", n_points, seed, stock_share)
    plan = plan_from_dict(json.loads((GOLDEN / f"{name}.plan.json").read_text("utf-8")))
    curves = waiting_curves(scenario, plan)
    family_days = sum(c.mean_wait_days * c.families_served for c in curves)
    assert family_days == pytest.approx(plan.kpis.family_wait_days, abs=0.01)
    assert plan.kpis.family_wait_days > 0  # else the comparison proves little
    for curve in curves:
        assert curve.families_total == plan.kpis.families_total
        # The KPI counts a point's families only when all of them got rice; the curve counts
        # every whole ration, so a point short of stock adds the families it did serve.
        kpi_served = plan.kpis.families_served_per_tranche[curve.tranche]
        if stock_share == 1.0:
            assert curve.families_served == kpi_served
        else:
            assert curve.families_served >= kpi_served
        assert curve.last_delivery == plan.kpis.last_delivery_date_per_tranche[curve.tranche]


# --- properties over random deliveries ---------------------------------------------------------

POINTS = ("00042", "P2", "P3", "P4")
TRANCHES = ("T-SEP", "T-OKT")

deliveries = st.lists(
    st.tuples(
        st.integers(0, 45),  # day offset from 1 September
        st.sampled_from(POINTS),
        st.sampled_from(TRANCHES),
        st.integers(1, 300).map(lambda sacks: sacks * 15.0),
    ),
    max_size=25,
)


def _routes_of(items: list[tuple[int, str, str, float]]) -> list[Route]:
    return [
        _route(SEP_RELEASE + timedelta(days=offset), [_stop(point, tranche, kg)])
        for offset, point, tranche, kg in items
    ]


def _served_by(
    scenario: Scenario, items: list[tuple[int, str, str, float]], tranche_id: str, day: date
) -> int:
    """Families served by ``day``, counted from scratch (not the way the module counts)."""
    tranche = scenario.tranche(tranche_id)
    kg: dict[str, float] = defaultdict(float)
    for offset, point, tranche_of, kg_of in items:
        if tranche_of == tranche_id and SEP_RELEASE + timedelta(days=offset) <= day:
            kg[point] += kg_of
    return sum(min(scenario.drop_point(p).kpm, int(k // tranche.kg_per_kpm)) for p, k in kg.items())


@given(deliveries)
@example([(1, "P4", "T-SEP", 15.0), (2, "P4", "T-SEP", 15.0)])  # half rations add up to one
def test_curves_are_monotone_and_end_at_the_families_served(
    items: list[tuple[int, str, str, float]],
) -> None:
    scenario = make_tiny_scenario()
    for curve in waiting_curves(scenario, _plan(scenario, _routes_of(items))):
        days = [d for d, _ in curve.points]
        counts = [c for _, c in curve.points]
        assert days == sorted(set(days))
        assert counts == sorted(counts)
        assert all(0 <= c <= curve.families_total == 240 for c in counts)
        delivery_days = {
            SEP_RELEASE + timedelta(days=o) for o, _, t, _ in items if t == curve.tranche
        }
        assert set(days) == delivery_days
        last_day = date(2021, 1, 1)
        assert curve.families_served == _served_by(scenario, items, curve.tranche, last_day)


@given(deliveries)
def test_share_by_the_deadline_is_served_by_the_deadline_over_all_families(
    items: list[tuple[int, str, str, float]],
) -> None:
    scenario = make_tiny_scenario()
    for curve in waiting_curves(scenario, _plan(scenario, _routes_of(items))):
        served = _served_by(scenario, items, curve.tranche, curve.deadline)
        assert curve.share_by(curve.deadline) == served / 240


@given(deliveries, st.sampled_from([0.25, 0.5, 0.95, 1.0]))
def test_the_date_reaching_a_share_is_the_first_day_with_that_share(
    items: list[tuple[int, str, str, float]], share: float
) -> None:
    scenario = make_tiny_scenario()
    for curve in waiting_curves(scenario, _plan(scenario, _routes_of(items))):
        reached = curve.date_reaching(share)
        if reached is None:
            assert curve.share_by(date(2021, 1, 1)) < share
        else:
            assert curve.share_by(reached) >= share
            assert curve.share_by(reached - timedelta(days=1)) < share


@given(deliveries)
def test_whole_rations_wait_as_many_family_days_as_the_kpi(
    items: list[tuple[int, str, str, float]],
) -> None:
    scenario = make_tiny_scenario()
    # Whole rations only, at most a point's families: the KPI's fractional families are whole.
    whole: list[tuple[int, str, str, float]] = []
    for offset, point, tranche, _ in items:
        kpm = scenario.drop_point(point).kpm
        whole.append((offset, point, tranche, kpm * scenario.tranche(tranche).kg_per_kpm))
    firsts = {(p, t): (o, p, t, kg) for o, p, t, kg in sorted(whole, reverse=True)}
    plan = _plan(scenario, _routes_of(list(firsts.values())))
    curves = waiting_curves(scenario, plan)
    family_days = sum(c.mean_wait_days * c.families_served for c in curves)
    assert family_days == pytest.approx(plan.kpis.family_wait_days, abs=0.01)


def test_key_days_are_a_week_two_weeks_the_deadline_and_the_last_delivery_in_date_order() -> None:
    scenario = make_tiny_scenario()
    sep, _ = waiting_curves(scenario, make_tiny_plan(scenario))
    assert sep.key_days() == (
        (KeyDay.LAST_DELIVERY, date(2020, 9, 3)),
        (KeyDay.WEEK_1, date(2020, 9, 8)),
        (KeyDay.WEEK_2, date(2020, 9, 15)),
        (KeyDay.DEADLINE, date(2020, 9, 30)),
    )
    short = WaitingCurve("T", 10, SEP_RELEASE, date(2020, 9, 10), (), 0.0)
    assert short.key_days() == (
        (KeyDay.WEEK_1, date(2020, 9, 8)),
        (KeyDay.DEADLINE, date(2020, 9, 10)),
    )


def test_a_warehouses_points_count_their_own_families_whoever_brought_the_rice() -> None:
    scenario = make_tiny_scenario()
    sep, _ = waiting_curves(scenario, make_tiny_plan(scenario), drop_points=["P3", "P4"])
    assert sep.families_total == 150
    assert sep.points == ((date(2020, 9, 2), 30), (date(2020, 9, 3), 90))
    with pytest.raises(KeyError):
        waiting_curves(scenario, make_tiny_plan(scenario), drop_points=["P9"])
