"""optimizer.replan: classification, residual arithmetic, replacements, merge, changes.

The planner is a fake here (it records the residual it is given and returns a plan of its
own), so these tests exercise the composition without part B's planner hooks.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimizer.errors import InputError
from optimizer.model import Scenario
from optimizer.progress import Closed, Progress, Receipt, StockChange, Unavailable
from optimizer.reasons import ReasonCode
from optimizer.replan import (
    classify_routes,
    frozen_window,
    nth_working_day_after,
    replacement_needs,
    replan,
    residual_families,
    residual_start,
    residual_stock_kg,
)
from optimizer.residual import Residual
from optimizer.solution import Plan, Route, Stop, Unassigned, compute_kpis
from tests.conftest import make_tiny_plan, make_tiny_scenario

SEP2, SEP3, SEP4, SEP5, OCT1 = (
    date(2020, 9, 2),
    date(2020, 9, 3),
    date(2020, 9, 4),
    date(2020, 9, 5),
    date(2020, 10, 1),
)


class FakePlanner:
    """Records the residual and returns the routes it was built with."""

    def __init__(
        self, routes: tuple[Route, ...] = (), unassigned: tuple[Unassigned, ...] = ()
    ) -> None:
        self.routes = routes
        self.unassigned = unassigned
        self.residual: Residual | None = None
        self.scenario: Scenario | None = None

    def __call__(self, scenario: Scenario, **kwargs: Any) -> Plan:
        self.scenario = scenario
        self.residual = kwargs["residual"]
        return Plan(
            scenario_name=scenario.name,
            routes=self.routes,
            unassigned=self.unassigned,
            kpis=compute_kpis(scenario, self.routes, self.unassigned),
        )


def _receipts(*rows: tuple[str, str, date, int, float, float]) -> Progress:
    return Progress(receipts=tuple(Receipt(*row) for row in rows))


GOOD = _receipts(
    ("00042", "T-SEP", SEP2, 50, 1500.0, 30.0),  # 30 kg rejected: 2 sacks to replace
    ("P4", "T-SEP", SEP2, 30, 900.0, 0.0),
)  # P2's stop on Sep 2 has no receipt: missed


def _families(scenario: Scenario, progress: Progress, today: date, freeze: int) -> Any:
    previous = make_tiny_plan(scenario)
    fake = FakePlanner()
    replan(scenario, previous, progress, today, freeze_days=freeze, planner=fake)
    assert fake.residual is not None
    return fake.residual


def test_working_days_count_from_the_day_after() -> None:
    calendar = make_tiny_scenario().calendar  # Monday to Saturday
    assert nth_working_day_after(calendar, SEP2, 3) == SEP5
    assert nth_working_day_after(calendar, SEP5, 1) == date(2020, 9, 7)  # Sunday skipped
    assert nth_working_day_after(calendar, SEP5, 0) == SEP5
    assert frozen_window(calendar, date(2020, 9, 6), 2) == (date(2020, 9, 7), date(2020, 9, 8))
    assert residual_start(calendar, SEP3, 0) == SEP3
    assert residual_start(calendar, SEP3, 1) == SEP4
    assert residual_start(calendar, SEP4, 2) == date(2020, 9, 7)


def test_routes_are_classified_done_frozen_announced() -> None:
    scenario = make_tiny_scenario()
    got = classify_routes(scenario, make_tiny_plan(scenario), GOOD, SEP3, 1)
    assert [r.date for r in got.done] == [SEP2, SEP2]
    assert [(r.truck, r.date) for r in got.frozen] == [("T2", SEP3)]
    assert [(r.truck, r.date) for r in got.announced] == [("T1", OCT1)]
    assert got.cancelled == ()
    assert got.start_date == SEP4


def test_residual_families_come_from_receipts_not_the_plan() -> None:
    residual = _families(make_tiny_scenario(), GOOD, SEP3, 1)
    assert dict(residual.families) == {
        ("P2", "T-SEP"): 40,  # missed stop: planned again
        ("P3", "T-SEP"): 60,  # 120 - 60 on the frozen Sep 3 trip
        ("P3", "T-OKT"): 120,
        ("P4", "T-OKT"): 30,
    }
    assert residual.start_date == SEP4
    assert residual.busy == {("T1", OCT1): (12 * 3600, 1)}
    assert residual.announced == {}


def test_a_receipt_without_a_planned_stop_counts() -> None:
    progress = _receipts(("P3", "T-OKT", SEP2, 100, 1500.0, 0.0))
    residual = _families(make_tiny_scenario(), progress, SEP3, 1)
    assert residual.families[("P3", "T-OKT")] == 20


def test_rejected_kg_becomes_whole_sacks_due_after_working_days() -> None:
    residual = _families(make_tiny_scenario(), GOOD, SEP3, 1)
    (need,) = residual.extra
    assert (need.drop_point, need.tranche, need.sacks, need.due) == ("00042", "T-SEP", 2, SEP5)
    assert need.pickup_kg == 30.0
    assert need.kind == "replacement"


def test_rejections_round_up_to_whole_sacks() -> None:
    scenario = make_tiny_scenario()
    progress = _receipts(("P2", "T-SEP", SEP2, 40, 1200.0, 16.0))
    (need,) = replacement_needs(scenario, progress, 3, [])
    assert need.sacks == 2
    assert need.pickup_kg == 16.0


def test_replacement_stops_on_kept_routes_count() -> None:
    scenario = make_tiny_scenario()
    progress = _receipts(("P2", "T-SEP", SEP2, 40, 1200.0, 45.0))  # 3 sacks
    stop = Stop("P2", "T-SEP", 30.0, 2, datetime(2020, 9, 4, 9), datetime(2020, 9, 4, 9, 20))
    stop = _as_replacement(stop)
    needs = replacement_needs(scenario, progress, 3, [stop])
    assert [n.sacks for n in needs] == [1]


def _as_replacement(stop: Stop) -> Stop:
    return dataclasses.replace(stop, kind="replacement", pickup_kg=30.0)


def test_stock_left_counts_every_kept_load_and_only_stock_arrived_by_the_start() -> None:
    scenario = make_tiny_scenario()
    previous = make_tiny_plan(scenario)
    progress = Progress(
        stock_changes=(
            StockChange("W1", SEP4, 1000.0),  # arrived by the start: used
            StockChange("W1", OCT1, 5000.0),  # arrives later: not used yet
            StockChange("W1", OCT1, -700.0),  # a later loss: subtracted now
        )
    )
    loads = sum(r.load_kg for r in previous.routes)
    got = residual_stock_kg(scenario, progress, previous.routes, SEP4)
    assert got == {"W1": 100_000.0 - loads + 1000.0 - 700.0}


def test_a_frozen_trip_on_an_unavailable_truck_is_cancelled_and_planned_again() -> None:
    scenario = make_tiny_scenario()
    progress = dataclasses.replace(GOOD, unavailable=(Unavailable("T2", SEP3, SEP4),))
    previous = make_tiny_plan(scenario)
    fake = FakePlanner()
    result = replan(scenario, previous, progress, SEP3, freeze_days=1, planner=fake)
    assert fake.residual is not None
    assert fake.residual.families[("P3", "T-SEP")] == 120
    assert fake.residual.truck_off["T2"] == frozenset({SEP3, SEP4})
    assert fake.residual.announced[("P3", "T-SEP")] == SEP3
    assert result.record["cancelled"] == [
        {"truck": "T2", "date": "2020-09-03", "trip": 1, "reason": "truck_unavailable"}
    ]
    change = [c for c in result.changes if c.drop_point == "P3" and c.tranche == "T-SEP"]
    assert [(c.change, c.old_date, c.reason) for c in change] == [
        ("cancelled", SEP3, "truck_unavailable")
    ]


def test_an_announced_trip_to_a_closed_point_is_cancelled() -> None:
    scenario = make_tiny_scenario()
    progress = dataclasses.replace(GOOD, closed=(Closed("P2", OCT1, OCT1),))
    fake = FakePlanner()
    result = replan(scenario, make_tiny_plan(scenario), progress, SEP3, freeze_days=1, planner=fake)
    assert [c["reason"] for c in result.record["cancelled"]] == ["point_closed"]
    assert fake.residual is not None
    assert fake.residual.families[("00042", "T-OKT")] == 50
    assert fake.residual.closed == {"P2": frozenset({OCT1})}
    assert fake.residual.busy == {}


def test_an_announced_trip_whose_families_were_served_is_cancelled() -> None:
    scenario = make_tiny_scenario()
    progress = _receipts(("00042", "T-OKT", SEP2, 50, 750.0, 0.0))
    result = replan(
        scenario, make_tiny_plan(scenario), progress, SEP3, freeze_days=1, planner=FakePlanner()
    )
    assert [c["reason"] for c in result.record["cancelled"]] == ["already_delivered"]


def test_kept_routes_stay_exactly_and_new_trips_number_after_them() -> None:
    scenario = make_tiny_scenario()
    previous = make_tiny_plan(scenario)
    day = OCT1
    new = Route(
        "T1",
        "W1",
        day,
        1,
        datetime(2020, 10, 1, 12, 30),
        datetime(2020, 10, 1, 15, 0),
        9.0,
        600.0,
        (Stop("P2", "T-SEP", 600.0, 40, datetime(2020, 10, 1, 13), datetime(2020, 10, 1, 13, 20)),),
    )
    result = replan(scenario, previous, GOOD, SEP3, freeze_days=1, planner=FakePlanner((new,)))
    routes = result.plan.routes
    for old in previous.routes:
        (same,) = [
            r for r in routes if (r.truck, r.date, r.trip) == (old.truck, old.date, old.trip)
        ]
        assert _without_status(same) == _without_status(old)
    (added,) = [r for r in routes if r.stops[0].drop_point == "P2" and r.date == day]
    assert added.trip == 2
    moved = [c for c in result.changes if (c.drop_point, c.tranche) == ("P2", "T-SEP")]
    assert [(c.change, c.new_date, c.new_truck) for c in moved] == [("new", day, "T1")]
    assert result.record["as_of"] == "2020-09-03"
    assert result.record["progress"]["receipts"][0]["kg_rejected"] == 30.0
    statuses = [r.status for r in routes]
    assert statuses == ["done", "done", "frozen", "planned", "planned"]


def _without_status(route: Route) -> Route:
    if hasattr(route, "status"):
        return dataclasses.replace(route, status="planned")  # type: ignore[call-arg,unused-ignore]
    return route


def test_freeze_days_must_not_be_negative() -> None:
    scenario = make_tiny_scenario()
    with pytest.raises(ValueError, match="freeze_days"):
        replan(
            scenario, make_tiny_plan(scenario), GOOD, SEP3, freeze_days=-1, planner=FakePlanner()
        )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["00042", "P2", "P3", "P4"]),
            st.sampled_from(["T-SEP", "T-OKT"]),
            st.integers(min_value=0, max_value=80),
        ),
        max_size=6,
    ),
    st.integers(min_value=0, max_value=3),
)
def test_residual_families_add_up_and_never_go_below_zero(
    rows: list[tuple[str, str, int]], freeze: int
) -> None:
    scenario = make_tiny_scenario()
    progress = Progress(receipts=tuple(Receipt(p, t, SEP2, n, n * 15.0, 0.0) for p, t, n in rows))
    previous = make_tiny_plan(scenario)
    got = classify_routes(scenario, previous, progress, SEP3, freeze)
    kept = [*got.frozen, *got.announced]
    left = residual_families(scenario, progress, kept)
    received: dict[tuple[str, str], int] = {}
    for p, t, n in rows:
        received[(p, t)] = received.get((p, t), 0) + n
    for point in scenario.drop_points:
        for tranche in scenario.tranches:
            key = (point.id, tranche.id)
            on_kept = sum(
                round(s.kg / tranche.kg_per_kpm)
                for r in kept
                for s in r.stops
                if (s.drop_point, s.tranche) == key
            )
            assert left.get(key, 0) == max(0, point.kpm - received.get(key, 0) - on_kept)
            # a kept announced trip never takes families the receipts already served
            on_announced = sum(
                1 for r in got.announced for s in r.stops if (s.drop_point, s.tranche) == key
            )
            if on_announced:
                assert received.get(key, 0) + on_kept <= point.kpm


def test_a_receipt_after_today_is_bad_input() -> None:
    scenario = make_tiny_scenario()
    progress = _receipts(("P2", "T-SEP", SEP4, 40, 1200.0, 0.0))
    with pytest.raises(InputError, match="after today"):
        replan(
            scenario, make_tiny_plan(scenario), progress, SEP3, freeze_days=1, planner=FakePlanner()
        )


def test_an_announced_delivery_left_unassigned_is_one_row_with_the_planners_reason() -> None:
    scenario = make_tiny_scenario()
    progress = dataclasses.replace(GOOD, closed=(Closed("P2", OCT1, OCT1),))
    left = Unassigned("P2", "T-OKT", 600.0, 40, ReasonCode.DEADLINE, "closed until the deadline")
    fake = FakePlanner(unassigned=(left,))
    result = replan(scenario, make_tiny_plan(scenario), progress, SEP3, freeze_days=1, planner=fake)
    rows = [c for c in result.changes if (c.drop_point, c.tranche) == ("P2", "T-OKT")]
    assert [(c.change, c.old_date, c.reason) for c in rows] == [("unassigned", OCT1, "deadline")]
    cancelled = [c for c in result.changes if (c.drop_point, c.tranche) == ("00042", "T-OKT")]
    assert [(c.change, c.reason) for c in cancelled] == [("cancelled", "point_closed")]


def test_kpis_count_history_from_receipts_and_no_replacement_rice() -> None:
    scenario = make_tiny_scenario()
    result = replan(
        scenario, make_tiny_plan(scenario), GOOD, SEP3, freeze_days=1, planner=FakePlanner()
    )
    kpis = result.plan.kpis
    # 00042 (1500) and P4 (900) received on Sep 2, P2's 1200 missed; P3's 1800 frozen.
    assert kpis.kg_delivered_per_tranche["T-SEP"] == 1500 + 900 + 1800
    assert kpis.trips == 4  # the missed stop's trip still drove
