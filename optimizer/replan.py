"""Re-plan a campaign from what happened: keep history and announced trips, plan the rest.

A re-plan is a composition, not a new planner (see ``docs/replan.md``):

1. the previous plan's routes are classified: **done** (dated before ``today``, kept exactly,
   whatever the receipts say), **frozen** (``today`` and the next ``freeze_days - 1`` working
   days, kept exactly unless their truck is unavailable or a point is closed that day) and
   **announced** (later; kept exactly while still valid: truck available, points open, the
   residual of each stop still needs its kg, the warehouse's stock suffices);
2. what is left is computed from the receipts: residual families per (point, tranche),
   replacement needs for every rejected kg with their due dates, residual stock;
3. the existing planner plans the rest on a :class:`~optimizer.residual.Residual` (days off,
   closed days, busy truck-days, the announced day of every delivery planned again);
4. the kept and new routes are merged, KPIs computed, and ``Plan.replan`` records the
   inputs (as of, freeze days, the previous plan's sha256, the progress, cancelled trips).

The module imports no solver directly at import time; :func:`replan` takes the planner as a
parameter (``optimizer.planner.plan_scenario`` by default) so tests can compose with a fake.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from optimizer.errors import InputError, Problem
from optimizer.model import Calendar, Scenario
from optimizer.progress import Progress, Receipt
from optimizer.residual import ExtraDelivery, Residual
from optimizer.solution import Plan, Route, Stop, Unassigned, compute_kpis, plan_to_dict

__all__ = [
    "CANCEL_REASONS",
    "Cancelled",
    "Change",
    "Classified",
    "Replanned",
    "classify_routes",
    "nth_working_day_after",
    "replacement_needs",
    "replan",
    "residual_families",
    "residual_stock_kg",
]

CANCEL_REASONS = ("truck_unavailable", "point_closed", "already_delivered", "stock")
"""Why a kept route was cancelled (English codes; ``changes.md`` translates them)."""

FAMILY_EPS = 1e-6
"""Tolerance when turning a stop's kg into whole families."""

Planner = Callable[..., Plan]
"""``plan_scenario``'s signature: ``(scenario, *, residual, stop, options, progress, **travel)``."""


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A route of the previous plan (frozen or announced) that the re-plan does not keep."""

    truck: str
    date: date
    trip: int
    reason: str
    """One of :data:`CANCEL_REASONS`."""

    def to_dict(self) -> dict[str, Any]:
        """Return the entry of ``plan.json``'s ``replan.cancelled`` list."""
        return {
            "truck": self.truck,
            "date": self.date.isoformat(),
            "trip": self.trip,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """One row of ``changes.csv``: what became of one announced or new delivery."""

    drop_point: str
    tranche: str
    change: str
    """``kept``, ``moved``, ``new``, ``replacement``, ``cancelled`` or ``unassigned``."""
    old_date: date | None
    old_truck: str
    new_date: date | None
    new_truck: str
    families: int
    kg: float
    reason: str


@dataclass(frozen=True)
class Replanned:
    """The result of :func:`replan`: the new plan and what changed against the previous one."""

    plan: Plan
    changes: tuple[Change, ...]
    record: Mapping[str, Any]
    """``plan.json``'s ``replan`` object (also ``plan.replan``)."""
    statuses: tuple[str, ...] = ()
    """Each route's status, in ``plan.routes`` order (as ``Route.status``)."""

    def to_dict(self) -> dict[str, Any]:
        """Return ``plan.json`` of the re-plan: the plan with its statuses and ``replan``."""
        return plan_to_dict(self.plan)


@dataclass(frozen=True)
class Classified:
    """The previous plan's routes, sorted into what the re-plan keeps and what it cancels."""

    done: tuple[Route, ...]
    frozen: tuple[Route, ...]
    announced: tuple[Route, ...]
    """Announced routes after the frozen window that stay (still valid)."""
    cancelled: tuple[tuple[Route, str], ...]
    """Frozen or announced routes not kept, with the reason (:data:`CANCEL_REASONS`)."""
    start_date: date
    """The first day the residual plan may use."""


# --- small helpers ------------------------------------------------------------------------


def with_status(route: Route, status: str) -> Route:
    """``route`` with ``Route.status`` set."""
    return replace(route, status=status)


def nth_working_day_after(calendar: Calendar, day: date, n: int) -> date:
    """Return the ``n``-th working day after ``day`` (``day`` not counted; ``n=0``: ``day``)."""
    current = day
    left = n
    while left > 0:
        current += timedelta(days=1)
        if calendar.is_working_day(current):
            left -= 1
    return current


def frozen_window(calendar: Calendar, today: date, freeze_days: int) -> tuple[date, ...]:
    """Return the first ``freeze_days`` working days on or after ``today``."""
    days: list[date] = []
    day = today
    while len(days) < freeze_days:
        if calendar.is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


def residual_start(calendar: Calendar, today: date, freeze_days: int) -> date:
    """``today`` when nothing is frozen, else the working day after the frozen window."""
    window = frozen_window(calendar, today, freeze_days)
    if not window:
        return today
    return nth_working_day_after(calendar, window[-1], 1)


def stop_families(scenario: Scenario, stop: Stop) -> int:
    """Families a delivery stop serves (its kg in whole rations); 0 for a replacement."""
    if stop.kind != "delivery":
        return 0
    per_kpm = scenario.tranche(stop.tranche).kg_per_kpm
    return round(stop.kg / per_kpm) if per_kpm > FAMILY_EPS else 0


def _truck_off(progress: Progress, truck: str, day: date) -> bool:
    return any(u.truck == truck and u.covers(day) for u in progress.unavailable)


def _point_closed(progress: Progress, point: str, day: date) -> bool:
    return any(c.drop_point == point and c.covers(day) for c in progress.closed)


def _route_key(route: Route) -> tuple[date, str, int]:
    return (route.date, route.truck, route.trip)


# --- residual arithmetic --------------------------------------------------------------------


def received_families(progress: Progress) -> dict[tuple[str, str], int]:
    """Families served per (point, tranche) by every receipt."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for receipt in progress.receipts:
        totals[(receipt.drop_point, receipt.tranche)] += receipt.families
    return dict(totals)


def residual_families(
    scenario: Scenario, progress: Progress, kept: Iterable[Route]
) -> dict[tuple[str, str], int]:
    """Families still to plan per (point, tranche): kpm - received - on kept routes, >= 0.

    ``kept`` are the frozen and announced routes the re-plan keeps (done routes count through
    their receipts only: a stop without a receipt was missed).
    """
    on_routes: dict[tuple[str, str], int] = defaultdict(int)
    for route in kept:
        for stop in route.stops:
            on_routes[(stop.drop_point, stop.tranche)] += stop_families(scenario, stop)
    received = received_families(progress)
    left: dict[tuple[str, str], int] = {}
    for point in scenario.drop_points:
        for tranche in scenario.tranches:
            key = (point.id, tranche.id)
            families = point.kpm - received.get(key, 0) - on_routes.get(key, 0)
            if families > 0:
                left[key] = families
    return left


def residual_stock_kg(
    scenario: Scenario, progress: Progress, kept: Iterable[Route], first_day: date
) -> dict[str, float]:
    """Stock each warehouse has left for new trips.

    Scenario stock, minus the load of every kept route (done routes count their planned load:
    the rice left the warehouse, and a missed stop's rice is not assumed back), plus stock
    changes dated on or before ``first_day``; a later arrival is not used yet (the next
    re-plan picks it up), a later loss is subtracted now. Never below 0.
    """
    stock = {w.id: w.stock_kg for w in scenario.warehouses}
    for route in kept:
        stock[route.warehouse] = stock.get(route.warehouse, 0.0) - route.load_kg
    for change in progress.stock_changes:
        if change.date <= first_day or change.kg < 0:
            stock[change.warehouse] = stock.get(change.warehouse, 0.0) + change.kg
    return {w: max(0.0, kg) for w, kg in stock.items()}


def replacement_needs(
    scenario: Scenario,
    progress: Progress,
    replacement_days: int,
    covered: Iterable[Stop],
) -> tuple[ExtraDelivery, ...]:
    """Return the replacements still to plan: whole sacks per rejecting receipt, with due days.

    Each receipt with ``kg_rejected > 0`` needs ``ceil(kg_rejected / sack_kg)`` sacks at the
    same point and tranche by the ``replacement_days``-th working day after the receipt.
    Replacement stops in ``covered`` (on kept routes) count, earliest need first.
    """
    sack_kg = scenario.sack_kg
    covered_sacks: dict[tuple[str, str], int] = defaultdict(int)
    for stop in covered:
        if stop.kind == "replacement":
            covered_sacks[(stop.drop_point, stop.tranche)] += stop.sacks
    needs: list[ExtraDelivery] = []
    rejecting: list[Receipt] = sorted(
        (r for r in progress.receipts if r.kg_rejected > 0),
        key=lambda r: (r.date, r.drop_point, r.tranche),
    )
    for receipt in rejecting:
        key = (receipt.drop_point, receipt.tranche)
        sacks = math.ceil(receipt.kg_rejected / sack_kg - FAMILY_EPS)
        used = min(sacks, covered_sacks[key])
        covered_sacks[key] -= used
        sacks -= used
        if sacks <= 0:
            continue
        needs.append(
            ExtraDelivery(
                drop_point=receipt.drop_point,
                tranche=receipt.tranche,
                sacks=sacks,
                due=nth_working_day_after(scenario.calendar, receipt.date, replacement_days),
                pickup_kg=min(receipt.kg_rejected, sacks * sack_kg),
            )
        )
    return tuple(needs)


# --- classification -------------------------------------------------------------------------


def classify_routes(
    scenario: Scenario,
    previous: Plan,
    progress: Progress,
    today: date,
    freeze_days: int,
) -> Classified:
    """Sort the previous plan's routes into done, frozen, announced kept, and cancelled.

    Announced routes are checked in date order, consuming the residual families of their
    stops and their warehouse's stock, so that two routes cannot both keep the same families.
    """
    window = frozen_window(scenario.calendar, today, freeze_days)
    window_end = window[-1] if window else today - timedelta(days=1)
    start = residual_start(scenario.calendar, today, freeze_days)
    done: list[Route] = []
    frozen: list[Route] = []
    later: list[Route] = []
    cancelled: list[tuple[Route, str]] = []
    for route in sorted(previous.routes, key=_route_key):
        if route.date < today:
            done.append(route)
            continue
        reason = _blocked(progress, route)
        if route.date <= window_end:
            if reason:
                cancelled.append((route, reason))
            else:
                frozen.append(route)
        else:
            later.append(route)

    # Families still open before announced routes take theirs.
    open_families = residual_families(scenario, progress, frozen)
    stock = residual_stock_kg(scenario, progress, [*done, *frozen], start)
    received_on: set[tuple[str, str, date]] = {
        (r.drop_point, r.tranche, r.date) for r in progress.receipts
    }
    delivered_replacements = [
        s
        for r in done
        for s in r.stops
        if s.kind == "replacement" and (s.drop_point, s.tranche, r.date) in received_on
    ]
    open_sacks: dict[tuple[str, str], int] = defaultdict(int)
    for need in replacement_needs(
        scenario,
        progress,
        scenario.replan.replacement_days,
        [*delivered_replacements, *(s for r in frozen for s in r.stops)],
    ):
        open_sacks[(need.drop_point, need.tranche)] += need.sacks

    announced: list[Route] = []
    for route in later:
        reason = _blocked(progress, route)
        if not reason:
            reason = _short(scenario, route, open_families, open_sacks, stock)
        if reason:
            cancelled.append((route, reason))
            continue
        for stop in route.stops:
            key = (stop.drop_point, stop.tranche)
            if stop.kind == "replacement":
                open_sacks[key] -= stop.sacks
            else:
                open_families[key] -= stop_families(scenario, stop)
        stock[route.warehouse] -= route.load_kg
        announced.append(route)
    return Classified(
        done=tuple(done),
        frozen=tuple(frozen),
        announced=tuple(announced),
        cancelled=tuple(cancelled),
        start_date=start,
    )


def _blocked(progress: Progress, route: Route) -> str:
    if _truck_off(progress, route.truck, route.date):
        return "truck_unavailable"
    if any(_point_closed(progress, s.drop_point, route.date) for s in route.stops):
        return "point_closed"
    return ""


def _short(
    scenario: Scenario,
    route: Route,
    open_families: Mapping[tuple[str, str], int],
    open_sacks: Mapping[tuple[str, str], int],
    stock: Mapping[str, float],
) -> str:
    families: dict[tuple[str, str], int] = defaultdict(int)
    sacks: dict[tuple[str, str], int] = defaultdict(int)
    for stop in route.stops:
        key = (stop.drop_point, stop.tranche)
        if stop.kind == "replacement":
            sacks[key] += stop.sacks
        else:
            families[key] += stop_families(scenario, stop)
    if any(open_families.get(k, 0) < n for k, n in families.items()):
        return "already_delivered"
    if any(open_sacks.get(k, 0) < n for k, n in sacks.items()):
        return "already_delivered"
    if stock.get(route.warehouse, 0.0) < route.load_kg - FAMILY_EPS:
        return "stock"
    return ""


# --- the re-plan ----------------------------------------------------------------------------


def _expand(
    ranges: Iterable[tuple[str, date, date]], first: date, last: date
) -> dict[str, frozenset[date]]:
    days: dict[str, set[date]] = defaultdict(set)
    for key, start, end in ranges:
        day = max(start, first)
        while day <= min(end, last):
            days[key].add(day)
            day += timedelta(days=1)
    return {k: frozenset(v) for k, v in days.items()}


def _busy(routes: Iterable[Route]) -> dict[tuple[str, date], tuple[int, int]]:
    busy: dict[tuple[str, date], tuple[int, int]] = {}
    for route in routes:
        back = route.return_
        free_s = back.hour * 3600 + back.minute * 60 + back.second
        if back.date() > route.date:  # a trip past midnight leaves no time that day
            free_s = 24 * 3600
        key = (route.truck, route.date)
        old_free, old_trips = busy.get(key, (0, 0))
        busy[key] = (max(old_free, free_s), max(old_trips, route.trip))
    return busy


def build_residual(
    scenario: Scenario,
    previous: Plan,
    progress: Progress,
    today: date,
    classified: Classified,
) -> Residual:
    """Build the :class:`Residual` the planner plans the rest on."""
    settings = scenario.replan
    kept = [*classified.frozen, *classified.announced]
    received_on = {(r.drop_point, r.tranche, r.date) for r in progress.receipts}
    delivered_replacements = [
        s
        for r in classified.done
        for s in r.stops
        if s.kind == "replacement" and (s.drop_point, s.tranche, r.date) in received_on
    ]
    extra = replacement_needs(
        scenario,
        progress,
        settings.replacement_days,
        [*delivered_replacements, *(s for r in kept for s in r.stops)],
    )
    last = max(
        [t.deadline for t in scenario.tranches] + [e.due for e in extra] + [today],
    ) + timedelta(days=366)
    kept_keys = {_route_key(r) for r in kept}
    announced: dict[tuple[str, str], date] = {}
    for route in sorted(previous.routes, key=_route_key):
        if route.date < today or _route_key(route) in kept_keys:
            continue
        for stop in route.stops:
            if stop.kind == "delivery":
                announced.setdefault((stop.drop_point, stop.tranche), route.date)
    return Residual(
        start_date=classified.start_date,
        families=residual_families(scenario, progress, kept),
        stock_kg=residual_stock_kg(
            scenario, progress, [*classified.done, *kept], classified.start_date
        ),
        truck_off=_expand(
            ((u.truck, u.from_date, u.to_date) for u in progress.unavailable), today, last
        ),
        closed=_expand(
            ((c.drop_point, c.from_date, c.to_date) for c in progress.closed), today, last
        ),
        busy=_busy(r for r in kept if r.date >= classified.start_date),
        announced=announced,
        move_cost_per_kpm_day=settings.move_cost_per_kpm_day,
        extra=extra,
    )


def progress_to_dict(progress: Progress) -> dict[str, list[dict[str, Any]]]:
    """Return the ``replan.progress`` object of ``plan.json``: the progress as read."""

    def one(item: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(item):
            value = getattr(item, f.name)
            out[f.name] = value.isoformat() if isinstance(value, date) else value
        return out

    return {
        "receipts": [one(r) for r in progress.receipts],
        "unavailable": [one(u) for u in progress.unavailable],
        "stock_changes": [one(s) for s in progress.stock_changes],
        "closed": [one(c) for c in progress.closed],
    }


def _renumber(kept: Sequence[Route], new: Sequence[Route]) -> list[Route]:
    """Move new trips whose (truck, day, trip) a kept trip holds after the kept trips."""
    used: dict[tuple[str, date], set[int]] = defaultdict(set)
    for route in kept:
        used[(route.truck, route.date)].add(route.trip)
    out: list[Route] = []
    for route in sorted(new, key=_route_key):
        taken = used[(route.truck, route.date)]
        trip = route.trip
        if trip in taken:
            trip = max(taken) + 1
        taken.add(trip)
        out.append(route if trip == route.trip else replace(route, trip=trip))
    return out


def _default_planner() -> Planner:
    from optimizer.planner import plan_scenario

    return plan_scenario


def replan(
    scenario: Scenario,
    previous: Plan,
    progress: Progress,
    today: date,
    *,
    freeze_days: int,
    options: Any = None,
    travel: Any = None,
    stop: threading.Event | None = None,
    progress_cb: Callable[[float, str], None] | None = None,
    previous_sha256: str = "",
    previous_plan_dir: str = "",
    planner: Planner | None = None,
) -> Replanned:
    """Re-plan a campaign from its previous plan and what happened since.

    Parameters
    ----------
    scenario
        The scenario the previous plan was made for (same ids).
    previous
        The previous plan (read from its ``plan.json``).
    progress
        Receipts, unavailable trucks, stock changes and closed points.
    today
        The first day not yet history.
    freeze_days
        Working days from ``today`` whose routes stay as they were (0: none).
    options, travel, stop, progress_cb
        Passed to the planner (``PlannerOptions``, a road matrix, the stop flag, progress).
    previous_sha256, previous_plan_dir
        Recorded in ``plan.json``'s ``replan`` object.
    planner
        ``optimizer.planner.plan_scenario`` when omitted (tests pass a fake).

    Returns
    -------
    Replanned
        The new plan (done, frozen and kept announced routes exactly as before but their
        status, then the new routes) and the rows of ``changes.csv``.

    Raises
    ------
    InputError
        If a receipt is dated after ``today``.
    ValueError
        If ``freeze_days`` is negative.
    """
    if freeze_days < 0:
        raise ValueError(f"freeze_days must be >= 0, not {freeze_days}")
    future = [r for r in progress.receipts if r.date > today]
    if future:
        # A receipt records a handover that happened; one after today cannot be replaced
        # before it happens, nor be trusted.
        raise InputError(
            Problem(
                "receipts",
                f"receipt of drop point {r.drop_point}, tranche {r.tranche} is dated {r.date}, "
                f"after today ({today}); receipts record handovers that happened",
                field="date",
            )
            for r in future
        )
    run: Planner = planner if planner is not None else _default_planner()
    classified = classify_routes(scenario, previous, progress, today, freeze_days)
    residual = build_residual(scenario, previous, progress, today, classified)
    residual_scenario = replace(scenario, start_date=max(scenario.start_date, residual.start_date))
    extra_args: dict[str, Any] = {} if travel is None else {"travel": travel}
    planned = run(
        residual_scenario,
        residual=residual,
        stop=stop,
        options=options,
        progress=progress_cb,
        **extra_args,
    )
    tagged = [
        *((r, "done") for r in classified.done),
        *((r, "frozen") for r in classified.frozen),
        *((r, "planned") for r in classified.announced),
    ]
    kept = [r for r, _ in tagged]
    new_routes = _renumber(kept, planned.routes)
    tagged += [(r, "planned") for r in new_routes]
    tagged.sort(key=lambda pair: _route_key(pair[0]))
    routes = tuple(with_status(r, status) for r, status in tagged)
    unassigned = tuple(planned.unassigned)
    record = {
        "as_of": today.isoformat(),
        "freeze_days": freeze_days,
        "previous_plan_sha256": previous_sha256,
        "previous_plan_dir": previous_plan_dir,
        "progress": progress_to_dict(progress),
        "cancelled": [
            Cancelled(r.truck, r.date, r.trip, reason).to_dict()
            for r, reason in classified.cancelled
        ],
    }
    plan = replace(
        planned,
        scenario_name=scenario.name,
        routes=routes,
        unassigned=unassigned,
        kpis=compute_kpis(scenario, kpi_view(progress, tagged), unassigned),
        replan=record,
    )
    changes = compute_changes(scenario, previous, today, classified, new_routes, unassigned)
    return Replanned(
        plan=plan, changes=changes, record=record, statuses=tuple(s for _, s in tagged)
    )


def kpi_view(progress: Progress, tagged: Iterable[tuple[Route, str]]) -> list[Route]:
    """Return the trips as a re-plan's KPIs count them: families' rice, history from receipts.

    A done trip's stop counts only when a receipt of its point, tranche and day exists (a
    missed stop delivered nothing); replacement stops replace rice and add none. Trips,
    distance and cost count every trip (they drove).
    """
    received_on = {(r.drop_point, r.tranche, r.date) for r in progress.receipts}
    return [
        replace(
            route,
            stops=tuple(
                s
                for s in route.stops
                if s.kind == "delivery"
                and (status != "done" or (s.drop_point, s.tranche, route.date) in received_on)
            ),
        )
        for route, status in tagged
    ]


# --- changes --------------------------------------------------------------------------------


def compute_changes(
    scenario: Scenario,
    previous: Plan,
    today: date,
    classified: Classified,
    new_routes: Sequence[Route],
    unassigned: Sequence[Unassigned],
) -> tuple[Change, ...]:
    """One row per (point, tranche, announced or new delivery) against the previous plan."""
    rows: list[Change] = []
    kept_keys = {_route_key(r) for r in (*classified.frozen, *classified.announced)}
    cancel_reason = {_route_key(r): reason for r, reason in classified.cancelled}
    old_open: dict[tuple[str, str], list[tuple[Route, Stop, str]]] = defaultdict(list)
    for route in sorted(previous.routes, key=_route_key):
        if route.date < today:
            continue
        for stop in route.stops:
            if _route_key(route) in kept_keys:
                rows.append(_row(scenario, stop, "kept", route, route, ""))
            else:
                old_open[(stop.drop_point, stop.tranche)].append(
                    (route, stop, cancel_reason.get(_route_key(route), ""))
                )
    # Planner's reason for families of a (point, tranche) left unassigned (not replacements).
    unassigned_at = {
        (u.drop_point, u.tranche): str(u.reason_code) for u in unassigned if u.kind == "delivery"
    }
    covered: set[tuple[str, str]] = set()
    for route in new_routes:
        for stop in route.stops:
            key = (stop.drop_point, stop.tranche)
            if stop.kind == "replacement":
                rows.append(_row(scenario, stop, "replacement", None, route, "rejected"))
                continue
            olds = [o for o in old_open.get(key, []) if o[1].kind == "delivery"]
            if olds:
                old_route, old_stop, reason = olds[0]
                old_open[key].remove(olds[0])
                same = old_route.date == route.date and old_route.truck == route.truck
                rows.append(
                    _row(scenario, stop, "kept" if same else "moved", old_route, route, reason)
                )
            else:
                rows.append(_row(scenario, stop, "new", None, route, ""))
    for point_tranche, left in old_open.items():
        for old_route, old_stop, reason in left:
            if old_stop.kind == "delivery" and point_tranche in unassigned_at:
                # One row per announced delivery: it says why it is not delivered now.
                covered.add(point_tranche)
                why = unassigned_at[point_tranche]
                rows.append(_row(scenario, old_stop, "unassigned", old_route, None, why))
            else:
                rows.append(_row(scenario, old_stop, "cancelled", old_route, None, reason))
    for item in unassigned:
        if item.kind == "delivery" and ((item.drop_point, item.tranche) in covered):
            continue
        per_kpm = scenario.tranche(item.tranche).kg_per_kpm
        rows.append(
            Change(
                drop_point=item.drop_point,
                tranche=item.tranche,
                change="unassigned",
                old_date=None,
                old_truck="",
                new_date=None,
                new_truck="",
                families=round(item.kg / per_kpm) if per_kpm > FAMILY_EPS else 0,
                kg=item.kg,
                reason=str(item.reason_code),
            )
        )
    rows.sort(key=lambda c: (c.drop_point, c.tranche, c.change, c.old_date or date.min))
    return tuple(rows)


def _row(
    scenario: Scenario,
    stop: Stop,
    change: str,
    old: Route | None,
    new: Route | None,
    reason: str,
) -> Change:
    return Change(
        drop_point=stop.drop_point,
        tranche=stop.tranche,
        change=change,
        old_date=old.date if old else None,
        old_truck=old.truck if old else "",
        new_date=new.date if new else None,
        new_truck=new.truck if new else "",
        families=stop_families(scenario, stop),
        kg=stop.kg,
        reason=reason,
    )
