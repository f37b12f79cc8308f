"""What if: how many trucks to finish by a date, and what a fleet size or a waiting weight gives.

Three questions a planner asks before routing anything, answered by planning again and again
(every plan by the caller's plan function, so the CLI's plans are ``bsb plan``'s, checked):

* :func:`fleet_scale_table`: each warehouse's fleet scaled (``round(n * scale)``, at least one
  truck where there was one); per scale, per warehouse and overall, the dates by which 95 % and
  100 % of the families are served, cost, truck-days and family waiting days.
* :func:`wait_cost_table`: the same table over ``[objective] wait_cost_per_kpm_day``, the
  planner's weight on families' waiting against cost.
* :func:`finish_by`: the fewest trucks to add per warehouse so that every deliverable family
  of a tranche is served by a date. Each warehouse is planned alone (its trucks, the families
  a base plan gave it, its stock; the tranche's deadline clipped to the date, so that what
  would come later is unassigned): an estimate from the base plan's route hours brackets the
  count, plans confirm it (the count found works, one truck fewer does not). A plan of the
  whole scenario with every added truck then confirms the answer, adding a truck where it
  still falls short.

Fleets are changed the same way everywhere (:func:`resize_fleet`): trucks added are copies of
a type (the one asked for, else the warehouse's most common type; ties: the larger payload,
then the name) with ids ``{warehouse}-TAMBAH-{k}``, ``k`` = 1, 2, ...; trucks removed are the
last by id. So a smaller fleet is always part of a larger one.

Dates by share come from :func:`optimizer.waiting.waiting_curves`. With several tranches, a
share is reached on the day every tranche (of those asked for) has reached it: the latest of
the tranches' dates, ``None`` when one never does.

The module plans nothing itself: it takes a plan function, prints nothing and imports neither
geopandas, folium nor click.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from optimizer.model import Scenario, Tranche, Truck, haversine_km
from optimizer.reasons import ReasonCode
from optimizer.solution import Kpis, Plan, Route, Unassigned, compute_kpis
from optimizer.waiting import waiting_curves

LOG = logging.getLogger(__name__)

ALL_WAREHOUSES = "ALL"
"""The ``warehouse`` of the rows that hold the whole scenario's totals."""

ADDED_TRUCK_WORD = "TAMBAH"
"""Middle part of an added truck's id, ``{warehouse}-TAMBAH-{k}`` (Indonesian: "added")."""

FIXABLE_REASONS = frozenset({ReasonCode.FLEET_TIME, ReasonCode.SOLVER})
"""Reasons more trucks can fix. Every other reason (stock, no road, a closed point, opening
hours, a trip longer than a shift, no working day before the date) stays whatever the fleet,
so such families are not deliverable and do not count against a fleet."""

SHARE_95 = 0.95
SHARE_100 = 1.0

MAX_SEARCH_STEPS = 12
"""Most fleet sizes tried upward from the estimate per warehouse (doubling the step each time)
before the search gives up on a warehouse."""

CONFIRM_ROUNDS = 3
"""Plans of the whole scenario tried to confirm the per-warehouse answer, each adding a truck
where families are still left for want of fleet."""

PlanFunction = Callable[[Scenario], Plan]
"""Plans a scenario (and, in the CLI, checks the plan); the caller's stop flag lives inside."""

Progress = Callable[[str], None]
"""Told exactly one line per plan (the CLI writes it to stderr; a service job moves its bar)."""


# --- fleets -----------------------------------------------------------------------------------


def trucks_by_warehouse(scenario: Scenario) -> dict[str, list[Truck]]:
    """Each warehouse's trucks, sorted by id (every warehouse listed, maybe with none)."""
    fleets: dict[str, list[Truck]] = {w.id: [] for w in scenario.warehouses}
    for truck in scenario.trucks:
        fleets.setdefault(truck.warehouse_id, []).append(truck)
    for trucks in fleets.values():
        trucks.sort(key=lambda t: t.id)
    return fleets


def prototype_truck(
    scenario: Scenario, warehouse_id: str, truck_type: str | None = None
) -> Truck | None:
    """Return the truck copied when trucks are added at a warehouse.

    Parameters
    ----------
    scenario
        The scenario.
    warehouse_id
        The warehouse.
    truck_type
        The type to copy; the warehouse's most common type when ``None`` (ties: the larger
        payload, then the type's name).

    Returns
    -------
    Truck | None
        The first truck by id of that type at the warehouse, else (a type the warehouse lacks)
        the first by id anywhere, with the warehouse's id; ``None`` when there is none.
    """
    own = trucks_by_warehouse(scenario).get(warehouse_id, [])
    if truck_type is None:
        if not own:
            return None
        counts = Counter(t.type for t in own)
        payload = {t.type: max(u.capacity_kg for u in own if u.type == t.type) for t in own}
        truck_type = min(counts, key=lambda kind: (-counts[kind], -payload[kind], kind))
    for truck in own:
        if truck.type == truck_type:
            return truck
    anywhere = sorted((t for t in scenario.trucks if t.type == truck_type), key=lambda t: t.id)
    if not anywhere:
        return None
    return replace(anywhere[0], warehouse_id=warehouse_id)


def added_truck_id(warehouse_id: str, number: int) -> str:
    """Id of the ``number``-th truck added at a warehouse: ``W01-TAMBAH-1``."""
    return f"{warehouse_id}-{ADDED_TRUCK_WORD}-{number}"


def resize_fleet(
    scenario: Scenario, counts: Mapping[str, int], *, truck_type: str | None = None
) -> Scenario:
    """Return ``scenario`` with each warehouse of ``counts`` holding that many trucks.

    Trucks added are copies of :func:`prototype_truck` with ids :func:`added_truck_id`
    (numbers already taken are skipped); trucks removed are the last by id. Warehouses not in
    ``counts`` keep their fleet.

    Raises
    ------
    ValueError
        If a count is negative, or trucks must be added at a warehouse with nothing to copy
        (no truck of its own and no truck of ``truck_type`` anywhere).
    """
    fleets = trucks_by_warehouse(scenario)
    taken = {t.id for t in scenario.trucks}
    kept: list[Truck] = []
    for warehouse_id, trucks in fleets.items():
        wanted = counts.get(warehouse_id, len(trucks))
        if wanted < 0:
            raise ValueError(f"warehouse {warehouse_id}: {wanted} trucks")
        kept.extend(trucks[:wanted])
        missing = wanted - len(trucks)
        if missing <= 0:
            continue
        model = prototype_truck(scenario, warehouse_id, truck_type)
        if model is None:
            kind = f"of type {truck_type!r} " if truck_type else ""
            raise ValueError(f"warehouse {warehouse_id}: no truck {kind}to copy")
        number = 0
        while missing > 0:
            number += 1
            new_id = added_truck_id(warehouse_id, number)
            if new_id in taken:
                continue
            taken.add(new_id)
            kept.append(replace(model, id=new_id, warehouse_id=warehouse_id))
            missing -= 1
    order = {w.id: i for i, w in enumerate(scenario.warehouses)}
    kept.sort(key=lambda t: (order.get(t.warehouse_id, len(order)), _id_key(t.id)))
    return replace(scenario, trucks=tuple(kept))


def _id_key(truck_id: str) -> tuple[int, str, int]:
    # Added trucks after the warehouse's own, in number order (TAMBAH-10 after TAMBAH-9).
    head, _, tail = truck_id.rpartition(f"-{ADDED_TRUCK_WORD}-")
    if head and tail.isdigit():
        return (1, head, int(tail))
    return (0, truck_id, 0)


def scaled_counts(scenario: Scenario, scale: float) -> dict[str, int]:
    """Trucks per warehouse at ``scale`` times today's fleet: rounded half up, at least one.

    A warehouse without trucks keeps none (there is nothing to scale).
    """
    counts: dict[str, int] = {}
    for warehouse_id, trucks in trucks_by_warehouse(scenario).items():
        now = len(trucks)
        counts[warehouse_id] = 0 if now == 0 else max(1, math.floor(now * scale + 0.5))
    return counts


def clip_deadlines(scenario: Scenario, tranche_ids: Iterable[str], day: date) -> Scenario:
    """Return ``scenario`` with the deadline of each tranche named moved to ``day`` if later."""
    wanted = set(tranche_ids)
    tranches = tuple(
        replace(t, deadline=min(t.deadline, day)) if t.id in wanted else t
        for t in scenario.tranches
    )
    return replace(scenario, tranches=tranches)


# --- what a plan gives, per warehouse -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one plan gives one warehouse (or ``ALL``).

    Attributes
    ----------
    warehouse
        The warehouse's id, or :data:`ALL_WAREHOUSES`.
    trucks
        Trucks planned with.
    date_95, date_100
        First day by which 95 % / 100 % of the families are served (latest over the tranches
        counted); ``None`` when never.
    cost
        Distance and truck-day cost of the warehouse's trips.
    truck_days
        Truck-days of its trips.
    family_wait_days
        Family-days waited after release, over families its trips served.
    families_total, families_served
        Families counted for the warehouse (of the tranches counted, summed), and those
        served.
    mean_wait_days
        ``family_wait_days`` per family served.
    """

    warehouse: str
    trucks: int
    date_95: date | None
    date_100: date | None
    cost: float
    truck_days: int
    family_wait_days: float
    families_total: int
    families_served: int
    mean_wait_days: float


def point_warehouses(scenario: Scenario, plan: Plan) -> dict[str, str]:
    """Return the warehouse each drop point belongs to in ``plan``.

    The warehouse whose trips bring the point the most kg; for a point no trip reaches, the
    first warehouse its unassigned reason names; else the nearest warehouse.
    """
    brought: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for route in plan.routes:
        for stop in route.stops:
            brought[stop.drop_point][route.warehouse] += stop.kg
    named: dict[str, str] = {}
    known = {w.id for w in scenario.warehouses}
    for item in plan.unassigned:
        for warehouse_id in item.facts.warehouses:
            if warehouse_id in known:
                named.setdefault(item.drop_point, warehouse_id)
                break
    owner: dict[str, str] = {}
    for point in scenario.drop_points:
        if point.id in brought:
            kg = brought[point.id]
            owner[point.id] = min(kg, key=lambda w: (-kg[w], w))
        elif point.id in named:
            owner[point.id] = named[point.id]
        elif scenario.warehouses:
            owner[point.id] = min(
                scenario.warehouses,
                key=lambda w: (haversine_km(w.lon, w.lat, point.lon, point.lat), w.id),
            ).id
    return owner


def plan_outcomes(
    scenario: Scenario, plan: Plan, *, tranches: Sequence[str] | None = None
) -> tuple[Outcome, ...]:
    """Per warehouse (scenario order) and overall (last, ``ALL``): what ``plan`` gives.

    Parameters
    ----------
    scenario
        The scenario planned (its fleet gives ``trucks``).
    plan
        The plan.
    tranches
        Tranches whose families count for the dates and family totals; every tranche when
        ``None``. Cost, truck-days and waiting are the plan's, all tranches.
    """
    counted = [t.id for t in scenario.tranches] if tranches is None else list(tranches)
    owner = point_warehouses(scenario, plan)
    fleets = trucks_by_warehouse(scenario)
    outcomes: list[Outcome] = []
    for warehouse in scenario.warehouses:
        points = {p for p, w in owner.items() if w == warehouse.id}
        routes = [r for r in plan.routes if r.warehouse == warehouse.id]
        unassigned = [u for u in plan.unassigned if u.drop_point in points]
        kpis = compute_kpis(scenario, routes, unassigned, drop_points=sorted(points))
        outcomes.append(
            _outcome(
                scenario,
                plan,
                warehouse.id,
                len(fleets.get(warehouse.id, [])),
                kpis,
                points,
                counted,
            )
        )
    points_all = {p.id for p in scenario.drop_points}
    outcomes.append(
        _outcome(
            scenario,
            plan,
            ALL_WAREHOUSES,
            len(scenario.trucks),
            plan.kpis,
            points_all,
            counted,
        )
    )
    return tuple(outcomes)


def _outcome(
    scenario: Scenario,
    plan: Plan,
    name: str,
    trucks: int,
    kpis: Kpis,
    points: set[str],
    counted: Sequence[str],
) -> Outcome:
    sub_scenario, sub_plan = _restricted(scenario, plan, points)
    curves = {c.tranche: c for c in waiting_curves(sub_scenario, sub_plan)}
    chosen = [curves[t] for t in counted if t in curves and curves[t].families_total > 0]
    total = sum(c.families_total for c in chosen)
    served = sum(c.points[-1][1] if c.points else 0 for c in chosen)
    wait = kpis.family_wait_days
    return Outcome(
        warehouse=name,
        trucks=trucks,
        date_95=_latest(c.date_reaching(SHARE_95) for c in chosen),
        date_100=_latest(c.date_reaching(SHARE_100) for c in chosen),
        cost=kpis.cost,
        truck_days=kpis.truck_days,
        family_wait_days=wait,
        families_total=total,
        families_served=served,
        mean_wait_days=round(wait / served, 2) if served else 0.0,
    )


def _latest(days: Iterable[date | None]) -> date | None:
    found: list[date] = []
    for day in days:
        if day is None:
            return None
        found.append(day)
    return max(found) if found else None


def _restricted(scenario: Scenario, plan: Plan, points: set[str]) -> tuple[Scenario, Plan]:
    """Cut the scenario and plan down to some drop points (every warehouse's trips to them)."""
    sub_scenario = replace(
        scenario, drop_points=tuple(p for p in scenario.drop_points if p.id in points)
    )
    routes: list[Route] = []
    for route in plan.routes:
        stops = tuple(s for s in route.stops if s.drop_point in points)
        if stops:
            routes.append(replace(route, stops=stops))
    # The curves read the trips only; the KPIs stay the whole plan's (not read here).
    return sub_scenario, replace(plan, routes=tuple(routes))


# --- tables over a setting ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WhatIfRow:
    """One row of ``whatif.csv`` for a fleet scale or a waiting weight.

    ``setting`` is the fleet scale (``fleet_scale``) or the weight (``wait_cost_per_kpm_day``);
    ``warning`` says when a larger fleet (or a heavier weight on waiting) finishes later than
    a smaller one (the plans are searched, not exact), empty otherwise.
    """

    setting: float
    outcome: Outcome
    warning: str = ""


@dataclass(frozen=True, slots=True)
class WhatIfTable:
    """Rows of a what-if over a setting, in the order of the settings asked for.

    ``kind`` is ``fleet_scale`` or ``wait_cost_per_kpm_day``: the name of the setting's column.
    ``complete`` is false when a stop came before every setting was planned.
    """

    kind: str
    rows: tuple[WhatIfRow, ...]
    complete: bool = True
    tranches: tuple[str, ...] = ()


FLEET_SCALE = "fleet_scale"
WAIT_COST = "wait_cost_per_kpm_day"


def fleet_scale_table(
    scenario: Scenario,
    scales: Sequence[float],
    plan_fn: PlanFunction,
    *,
    truck_type: str | None = None,
    tranches: Sequence[str] | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> WhatIfTable:
    """Plan the scenario with each warehouse's fleet scaled; rows per scale and warehouse.

    Parameters
    ----------
    scenario
        The scenario (today's fleet is scale 1).
    scales
        Positive factors, e.g. ``(0.5, 0.75, 1, 1.5, 2)``.
    plan_fn
        Plans (and checks) a scenario.
    truck_type
        Type of the trucks added (the warehouse's most common type when ``None``).
    tranches
        Tranches counted for the dates (every tranche when ``None``).
    stop
        When set, no further scale is planned; the rows done are returned.
    progress
        Told a line per plan.

    Raises
    ------
    ValueError
        If a scale is not positive or trucks cannot be added (see :func:`resize_fleet`).
    """
    if any(not scale > 0 for scale in scales):
        raise ValueError("fleet scales must be positive")
    settings: list[tuple[float, Scenario]] = []
    for scale in scales:
        fleet = resize_fleet(scenario, scaled_counts(scenario, scale), truck_type=truck_type)
        settings.append((scale, fleet))
    return _table(FLEET_SCALE, settings, plan_fn, tranches, stop, progress, larger_is_faster=True)


def wait_cost_table(
    scenario: Scenario,
    weights: Sequence[float],
    plan_fn: PlanFunction,
    *,
    tranches: Sequence[str] | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> WhatIfTable:
    """Plan the scenario with each ``wait_cost_per_kpm_day``; rows per weight and warehouse.

    Raises
    ------
    ValueError
        If a weight is negative.
    """
    if any(weight < 0 for weight in weights):
        raise ValueError("waiting weights must not be negative")
    settings = [
        (
            float(weight),
            replace(
                scenario,
                objective=replace(scenario.objective, wait_cost_per_kpm_day=float(weight)),
            ),
        )
        for weight in weights
    ]
    return _table(WAIT_COST, settings, plan_fn, tranches, stop, progress, larger_is_faster=True)


def _table(
    kind: str,
    settings: Sequence[tuple[float, Scenario]],
    plan_fn: PlanFunction,
    tranches: Sequence[str] | None,
    stop: threading.Event | None,
    progress: Progress | None,
    *,
    larger_is_faster: bool,
) -> WhatIfTable:
    done: list[tuple[float, tuple[Outcome, ...]]] = []
    complete = True
    for number, (setting, variant) in enumerate(settings, 1):
        if stop is not None and stop.is_set():
            complete = False
            break
        plan = plan_fn(variant)
        if stop is not None and stop.is_set():
            # The plan was cut short: its dates would not be this setting's.
            complete = False
            break
        outcomes = plan_outcomes(variant, plan, tranches=tranches)
        done.append((setting, outcomes))
        total = outcomes[-1]
        _say(
            progress,
            f"{kind} {setting:g} ({number}/{len(settings)}, {total.trucks} trucks): "
            f"95% by {_iso(total.date_95)}, 100% by {_iso(total.date_100)}, "
            f"cost {total.cost:,.0f}",
        )
    rows = _with_warnings(done, larger_is_faster=larger_is_faster)
    counted = tuple(t.id for t in settings[0][1].tranches) if tranches is None else tuple(tranches)
    return WhatIfTable(kind=kind, rows=rows, complete=complete, tranches=counted)


def _iso(day: date | None) -> str:
    return day.isoformat() if day is not None else "never"


def _say(progress: Progress | None, line: str) -> None:
    LOG.debug("%s", line)
    if progress is not None:
        progress(line)


def _rank(day: date | None) -> date:
    return day if day is not None else date.max


def _with_warnings(
    done: Sequence[tuple[float, tuple[Outcome, ...]]], *, larger_is_faster: bool
) -> tuple[WhatIfRow, ...]:
    """Rows in the order planned, each warned when it finishes later than a smaller setting.

    A larger fleet can always drive the smaller fleet's plan (fleets are nested), so a later
    date there is the search's doing, not the fleet's: said, not hidden.
    """
    rows: list[WhatIfRow] = []
    for setting, outcomes in done:
        for outcome in outcomes:
            notes: list[str] = []
            for other_setting, others in done:
                if not (other_setting < setting if larger_is_faster else other_setting > setting):
                    continue
                other = next(o for o in others if o.warehouse == outcome.warehouse)
                if larger_is_faster and other.trucks > outcome.trucks:
                    continue
                for label, mine, theirs in (
                    ("date_95", outcome.date_95, other.date_95),
                    ("date_100", outcome.date_100, other.date_100),
                ):
                    if _rank(mine) > _rank(theirs):
                        notes.append(f"{label} later than at {other_setting:g}")
            rows.append(WhatIfRow(setting=setting, outcome=outcome, warning="; ".join(notes)))
    return tuple(rows)


# --- finishing by a date ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarehouseAnswer:
    """How many trucks one warehouse needs to serve its families by the date.

    Attributes
    ----------
    warehouse
        The warehouse's id.
    trucks_now
        Trucks it has.
    trucks_added
        Trucks to add (``None``: the search gave up, see ``note``).
    last_date
        Its last delivery of the tranches asked for, in the confirming plan.
    estimate
        Trucks the estimate gave (from the base plan's route hours), before any plan.
    plans
        Fleet sizes planned to find the answer: ``{trucks: enough?}``.
    note
        Why the answer is missing or what limited it.
    """

    warehouse: str
    trucks_now: int
    trucks_added: int | None
    last_date: date | None
    estimate: int
    plans: Mapping[int, bool] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class FinishByResult:
    """The answer to "how many trucks to finish by ``day``".

    Attributes
    ----------
    day
        The date asked for.
    tranches
        The tranches whose families must be served by ``day``.
    answers
        One per warehouse, scenario order.
    scenario
        The scenario with the added trucks and the original deadlines (what ``plan/``
        holds), or ``None`` when a stop came first.
    plan
        The confirming plan (made with the deadlines clipped to ``day``, so valid under the
        original ones), or ``None``.
    confirmed
        Whether the confirming plan serves every deliverable family by ``day``.
    families_left
        Deliverable families the confirming plan still leaves for want of fleet.
    """

    day: date
    tranches: tuple[str, ...]
    answers: tuple[WarehouseAnswer, ...]
    scenario: Scenario | None
    plan: Plan | None
    confirmed: bool
    families_left: int = 0


def tranches_for(scenario: Scenario, day: date, tranche_id: str | None = None) -> tuple[str, ...]:
    """Return the tranches a ``--finish-by day`` is about.

    The one named; else every tranche whose window (release to deadline) holds ``day``.

    Raises
    ------
    ValueError
        If the tranche is unknown, ``day`` is before its release, or no window holds ``day``.
    """
    if tranche_id is not None:
        known = {t.id: t for t in scenario.tranches}
        if tranche_id not in known:
            raise ValueError(f"unknown tranche {tranche_id!r}: expected one of {', '.join(known)}")
        if day < known[tranche_id].release:
            raise ValueError(
                f"{day.isoformat()} is before tranche {tranche_id}'s release "
                f"({known[tranche_id].release.isoformat()})"
            )
        return (tranche_id,)
    chosen = tuple(t.id for t in scenario.tranches if t.release <= day <= t.deadline)
    if not chosen:
        windows = ", ".join(
            f"{t.id} {t.release.isoformat()}..{t.deadline.isoformat()}" for t in scenario.tranches
        )
        raise ValueError(f"no tranche's window holds {day.isoformat()} ({windows}); name one")
    return chosen


def _fixable(items: Iterable[Unassigned], tranches: Sequence[str]) -> list[Unassigned]:
    return [
        u
        for u in items
        if u.tranche in tranches and u.kind == "delivery" and u.reason_code in FIXABLE_REASONS
    ]


def _families(kg: float, tranche: Tranche) -> int:
    return math.floor(kg / tranche.kg_per_kpm + 1e-9) if tranche.kg_per_kpm else 0


def estimate_trucks(
    scenario: Scenario,
    warehouse_id: str,
    base: Plan,
    tranches: Sequence[str],
    day: date,
) -> int:
    """Estimate the trucks the warehouse needs by ``day`` from a base plan, without planning.

    Two figures, then their mean, rounded up (at least one truck):

    - *throughput*: the base plan's trucks delivered some kg by ``day`` and left the rest for
      want of fleet, so ``trucks now x (delivered + left) / delivered`` trucks would deliver
      it all at the same pace. It counts every hour the base fleet lost (the first day's
      late start, shift tails no trip fits, payloads that do not match the trips) as if it
      grew with the fleet, so it runs high;
    - *hours*: the base plan's route hours (trip plus loading) grown to the kg left, over one
      truck's shift hours on the working days from the tranches' first release (or the start
      date) to ``day``. It counts none of those losses, so it runs low.

    On samples the mean was within one truck of the fleet the plans confirmed on most
    warehouses (``bsb bench whatif``, section ``whatif`` of ``benchmarks/RESULTS.md``), where
    each figure alone missed by two or three at tight dates.
    """
    chosen = [scenario.tranche(t) for t in tranches]
    routes = [
        r
        for r in base.routes
        if r.warehouse == warehouse_id and any(s.tranche in tranches for s in r.stops)
    ]
    loading_s = scenario.service.loading_s
    work_s = sum((r.return_ - r.depart).total_seconds() + loading_s for r in routes)
    delivered_kg = sum(s.kg for r in routes for s in r.stops if s.tranche in tranches)
    short = [u for u in _fixable(base.unassigned, tranches) if _owner(u) == warehouse_id]
    short_kg = sum(u.kg for u in short)
    now = len(trucks_by_warehouse(scenario).get(warehouse_id, []))
    throughput: float | None = None
    if delivered_kg > 0:
        grow = (delivered_kg + short_kg) / delivered_kg
        work_s *= grow
        throughput = now * grow
    elif short:
        # No trip delivered: time the trips that found no truck, from their own facts.
        per_kg = [
            u.facts.trip_h * 3600 / u.facts.trip_kg
            for u in short
            if u.facts.trip_h and u.facts.trip_kg
        ]
        work_s = short_kg * (max(per_kg) if per_kg else 0.0)
    model = prototype_truck(scenario, warehouse_id)
    shift_s = (
        (model.shift_end_s - model.shift_start_s)
        if model is not None
        else (scenario.calendar.shift_end_s - scenario.calendar.shift_start_s)
    )
    first = max(scenario.start_date, min(t.release for t in chosen))
    days = len(scenario.calendar.working_days_between(first, day))
    capacity_s = days * shift_s
    hours = work_s / capacity_s if capacity_s > 0 else 1.0
    figure = hours if throughput is None else (throughput + hours) / 2
    return max(1, math.ceil(figure - 1e-9))


def _owner(item: Unassigned) -> str | None:
    return item.facts.warehouses[0] if item.facts.warehouses else None


def _warehouse_alone(
    scenario: Scenario,
    base: Plan,
    warehouse_id: str,
    tranches: Sequence[str],
) -> Scenario:
    """Cut out one warehouse: its trucks, stock, and the families of the tranches ``base`` gave it.

    A family of a point the base plan split between warehouses counts at the warehouse that
    brought it (or was short of fleet for it).
    """
    families: Counter[tuple[str, str]] = Counter()
    for route in base.routes:
        if route.warehouse != warehouse_id:
            continue
        for stop in route.stops:
            if stop.tranche in tranches:
                families[stop.drop_point, stop.tranche] += _families(
                    stop.kg, scenario.tranche(stop.tranche)
                )
    for item in _fixable(base.unassigned, tranches):
        if _owner(item) == warehouse_id:
            families[item.drop_point, item.tranche] += _families(
                item.kg, scenario.tranche(item.tranche)
            )
    per_point: dict[str, int] = {}
    for (point_id, _tranche), count in families.items():
        per_point[point_id] = max(per_point.get(point_id, 0), count)
    points = tuple(
        replace(p, kpm=per_point[p.id]) for p in scenario.drop_points if per_point.get(p.id, 0) > 0
    )
    return replace(
        scenario,
        warehouses=tuple(w for w in scenario.warehouses if w.id == warehouse_id),
        trucks=tuple(t for t in scenario.trucks if t.warehouse_id == warehouse_id),
        drop_points=points,
        tranches=tuple(t for t in scenario.tranches if t.id in tranches),
    )


def finish_by(
    scenario: Scenario,
    day: date,
    plan_fn: PlanFunction,
    *,
    tranche_id: str | None = None,
    truck_type: str | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> FinishByResult:
    """Find the fewest trucks to add per warehouse to serve every deliverable family by ``day``.

    Parameters
    ----------
    scenario
        The scenario with today's fleet.
    day
        The date every deliverable family of the tranches must have its rice by.
    plan_fn
        Plans (and checks) a scenario.
    tranche_id
        The tranche; every tranche whose window holds ``day`` when ``None``
        (:func:`tranches_for`).
    truck_type
        Type of the trucks added; each warehouse's most common type when ``None``.
    stop
        When set, the search ends with the answers found so far and no plan.
    progress
        Told a line per plan.

    Returns
    -------
    FinishByResult
        Per warehouse: trucks now, added, the estimate and the fleet sizes planned; the
        confirming plan and its scenario.

    Raises
    ------
    ValueError
        As :func:`tranches_for`; or if ``truck_type`` is a type no truck has.
    """
    tranches = tranches_for(scenario, day, tranche_id)
    if truck_type is not None and all(t.type != truck_type for t in scenario.trucks):
        types = sorted({t.type for t in scenario.trucks})
        raise ValueError(f"unknown truck type {truck_type!r}: expected one of {', '.join(types)}")
    clipped = clip_deadlines(scenario, tranches, day)
    _say(progress, f"base plan with today's fleet, deadline {day.isoformat()}")
    base = plan_fn(clipped)
    fleets = trucks_by_warehouse(scenario)
    short_at = Counter(_owner(u) for u in _fixable(base.unassigned, tranches))
    answers: list[WarehouseAnswer] = []
    for warehouse in scenario.warehouses:
        now = len(fleets.get(warehouse.id, []))
        estimate = estimate_trucks(clipped, warehouse.id, base, tranches, day)
        if short_at.get(warehouse.id, 0) == 0:
            answers.append(WarehouseAnswer(warehouse.id, now, 0, None, estimate, {now: True}))
            continue
        if stop is not None and stop.is_set():
            answers.append(WarehouseAnswer(warehouse.id, now, None, None, estimate, {}, "stopped"))
            continue
        alone = _warehouse_alone(clipped, base, warehouse.id, tranches)
        answers.append(
            _search_warehouse(
                alone, warehouse.id, now, estimate, tranches, plan_fn, truck_type, stop, progress
            )
        )
    if stop is not None and stop.is_set():
        return FinishByResult(day, tranches, tuple(answers), None, None, False)
    return _confirm(scenario, day, tranches, answers, plan_fn, truck_type, stop, progress)


def _search_warehouse(
    alone: Scenario,
    warehouse_id: str,
    now: int,
    estimate: int,
    tranches: Sequence[str],
    plan_fn: PlanFunction,
    truck_type: str | None,
    stop: threading.Event | None,
    progress: Progress | None,
) -> WarehouseAnswer:
    """Smallest fleet > ``now`` whose plan of the warehouse alone leaves nobody for want of fleet.

    Starts at the estimate; steps up (1, 2, 4, ... trucks) until a fleet is enough, tries one
    truck fewer, then halves the gap to the largest fleet known to fall short, so the answer
    ``n`` is planned and enough and ``n - 1`` is planned and not (``now`` is known short from
    the base plan).
    """
    tried: dict[int, bool] = {now: False}

    def enough(count: int) -> bool:
        if count not in tried:
            fleet = resize_fleet(alone, {warehouse_id: count}, truck_type=truck_type)
            plan = plan_fn(fleet)
            tried[count] = not _fixable(plan.unassigned, tranches)
            _say(
                progress,
                f"{warehouse_id}: {count} trucks {'enough' if tried[count] else 'short'}",
            )
        return tried[count]

    low = now
    count = max(now + 1, estimate)
    step = 1
    high: int | None = None
    for _ in range(MAX_SEARCH_STEPS):
        if stop is not None and stop.is_set():
            break
        if enough(count):
            high = count
            break
        low = count
        count += step
        step *= 2
    if high is None:
        stopped = stop is not None and stop.is_set()
        why = "stopped" if stopped else f"{low} trucks still short"
        return WarehouseAnswer(warehouse_id, now, None, None, estimate, dict(tried), why)
    low = max([c for c, ok in tried.items() if not ok and c < high], default=now)
    # The estimate is usually right or one off: one truck fewer first, then halve the gap.
    middle = high - 1
    while high - low > 1:
        if stop is not None and stop.is_set():
            return WarehouseAnswer(warehouse_id, now, None, None, estimate, dict(tried), "stopped")
        if enough(middle):
            high = middle
        else:
            low = middle
        middle = (low + high) // 2
    return WarehouseAnswer(warehouse_id, now, high - now, None, estimate, dict(tried))


def _confirm(
    scenario: Scenario,
    day: date,
    tranches: Sequence[str],
    answers: list[WarehouseAnswer],
    plan_fn: PlanFunction,
    truck_type: str | None,
    stop: threading.Event | None,
    progress: Progress | None,
) -> FinishByResult:
    """Plan the whole scenario with the trucks found, adding one where families are still left."""
    added = {a.warehouse: a.trucks_added or 0 for a in answers}
    now = {a.warehouse: a.trucks_now for a in answers}
    notes = {a.warehouse: a.note for a in answers}
    plan: Plan | None = None
    fleet = scenario
    left = 0
    for round_number in range(1, CONFIRM_ROUNDS + 1):
        counts = {w: now[w] + added[w] for w in added}
        fleet = resize_fleet(scenario, counts, truck_type=truck_type)
        _say(
            progress,
            f"confirming plan {round_number}: {sum(added.values())} trucks added, "
            f"{len(fleet.trucks)} in all",
        )
        plan = plan_fn(clip_deadlines(fleet, tranches, day))
        short = _fixable(plan.unassigned, tranches)
        left = sum(_families(u.kg, scenario.tranche(u.tranche)) for u in short)
        if not short or (stop is not None and stop.is_set()):
            break
        for warehouse_id in sorted({w for u in short if (w := _owner(u)) is not None}):
            if warehouse_id in added and round_number < CONFIRM_ROUNDS:
                added[warehouse_id] += 1
                notes[warehouse_id] = "one more truck than planned alone (whole-plan check)"
    assert plan is not None
    last = _last_dates(plan, tranches)
    final = [
        replace(
            a,
            trucks_added=added[a.warehouse]
            if a.trucks_added is not None or added[a.warehouse]
            else None,
            last_date=last.get(a.warehouse),
            note=notes[a.warehouse],
        )
        for a in answers
    ]
    return FinishByResult(
        day=day,
        tranches=tuple(tranches),
        answers=tuple(final),
        scenario=fleet,
        plan=plan,
        confirmed=left == 0 and not (stop is not None and stop.is_set()),
        families_left=left,
    )


def _last_dates(plan: Plan, tranches: Sequence[str]) -> dict[str, date]:
    last: dict[str, date] = {}
    for route in plan.routes:
        ours = any(s.tranche in tranches for s in route.stops)
        if ours and (route.warehouse not in last or route.date > last[route.warehouse]):
            last[route.warehouse] = route.date
    return last
