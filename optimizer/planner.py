"""The planner: a whole BSB scenario in, a feasible multi-day plan out.

How the problem is split, and why
---------------------------------
1. **Screening.** Each (drop point, tranche) delivery is checked alone: a working day in its
   window, and for each warehouse a truck that can drive there and back within its shift while
   the point is open, on the roads of its access class. Deliveries that fail everywhere are
   unassigned with the binding reason (``no_road`` when no road of any class reaches the
   point, ``capacity`` when only trucks its warehouses lack can).
2. **Warehouse assignment.** Drop points go to warehouses by a min-cost flow of whole families
   over the warehouses that can reach them (:mod:`optimizer.flow_assign`: as many families as
   stock allows, at the least family-km), and what it leaves by *regret* (points with the most
   to lose from a second-best warehouse choose first), each to the nearest warehouse that still
   has stock and estimated fleet time for it (``PlannerOptions.assignment``). Stock is a hard
   limit; fleet time an estimate that only steers. Rice moves in whole rations
   (``kg_per_kpm``): a family is served whole or waits. Each warehouse's problem is then
   independent (national scale solves them in parallel).
3. **Routing.** Per warehouse and tranche, deliveries larger than a truckload are cut into full
   loads plus a remainder, and large sets are cut into angular sectors around the warehouse
   (``max_chunks_per_part``). Each part is a capacitated VRP with time windows whose vehicles are
   *trips* (:mod:`optimizer.routing`, OR-Tools). Routing trips rather than truck-days keeps the
   model small and leaves multi-trip days and calendars to an exact packer.
4. **Scheduling.** Each warehouse's trips are packed onto truck-days (:mod:`optimizer.schedule`):
   earliest working day first, trucks already out first, trips on a truck-day ordered by latest
   feasible departure. Trips that fit nowhere before the deadline become ``fleet_time``.
5. **Stock goes back.** The stock of trips that found no truck returns to its warehouse and is
   offered again (steps 2-4, packing each warehouse's old and new trips together) to the
   deliveries still waiting, never twice to the same (delivery, warehouse) pair, until a round
   gives nothing back. A delivery is ``stock`` only if, at the end, no warehouse that can reach
   it has a family's ration left.

A re-plan (:mod:`optimizer.replan`) runs the same steps on a *residual*
(:class:`optimizer.residual.Residual`): the families and replacement sacks still owed, the stock
left, from its start day. Replacements are deliveries of their own (whole sacks, routed apart,
days ending at their due day, stops marked ``replacement`` with the rejected kg to take back);
deliveries announced for one day are routed together; a trip never runs on a closed day of one
of its points; and the packer skips trucks' days off, loads after kept trips on busy truck-days,
adds the move cost of announced deliveries to its choice of day and lets every trip that can
keep its announced day keep it before the others choose.

Every distance and driving time comes from one travel model (:mod:`optimizer.travel`): the
straight line, or a road matrix per access class. Big and small trucks route in one problem,
each group on its own class's matrix; a trip keeps the class it was routed for, is timed on its
matrix and packed only onto trucks of that class. With one class (the straight line, a matrix
file) this is exactly the one-matrix planner.

The time limit bounds the whole plan. Screening and assignment work on arrays a block of points
at a time; routing parts share what is left in proportion to their size, less a reserve for
packing that grows with the plan; parts that get no search time (out of time, or stopped) are
routed by a construction heuristic in milliseconds (:mod:`optimizer.construct`). Memory grows
with the number of warehouses and the largest routing part, never with warehouses x points.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import numpy as np

from optimizer.construct import nearest_neighbour
from optimizer.engines import Portfolio, default_members, solve
from optimizer.executors import Executor, SpawnPool, share_of_time_s, worker_search
from optimizer.geometry import FloatArray
from optimizer.model import DropPoint, Scenario, Tranche, Truck, Warehouse
from optimizer.reasons import ReasonFacts, english_reason
from optimizer.residual import ExtraDelivery, Residual
from optimizer.routing import (
    DAY_S,
    NO_ROAD_M,
    RoutingProblem,
    RoutingResult,
    SearchSettings,
    VehicleGroup,
)
from optimizer.schedule import (
    PackedTrip,
    TimedStop,
    TripToPack,
    TruckShift,
    pack_trips,
    time_trip,
    trip_window,
)
from optimizer.solution import (
    Plan,
    PlanStatus,
    ReasonCode,
    Route,
    SolverRun,
    Stop,
    Unassigned,
    compute_kpis,
)
from optimizer.strategies import Strategy, get_strategy
from optimizer.travel import NO_ROAD_S, RoadMatrix, TravelModel, travel_model

LOG = logging.getLogger(__name__)

# Share of the estimated fleet time that warehouse assignment may promise away: trips visit
# several points and lose time to detours and to packing, so the radial estimate is optimistic.
FLEET_TIME_USABLE = 0.8
# Seconds kept back from the time limit for the work after routing (packing trips onto
# truck-days, the reasons, the routes, constructing parts that got no search time): at least
# FINISH_RESERVE_S; RESERVE_S_PER_CHUNK per routing chunk; and, since that work grows with the
# plan as screening and assignment do, POST_TO_PRE_RATIO times what they took on this machine.
# Measured on the 100,000-point sample on 2 cores (benchmarks/plan_limits.py): 12-16 s after
# routing for 200,000 chunks when most parts are constructed (about 4 ms a part of 150 chunks),
# 1.3-1.9 times screening and assignment. At most MAX_RESERVE_SHARE of the limit.
FINISH_RESERVE_S = 1.0
RESERVE_S_PER_CHUNK = 80e-6
POST_TO_PRE_RATIO = 2.0
MAX_RESERVE_SHARE = 0.5
# Share of the time limit the first routing round may use when stock is already short: the rest
# routes deliveries offered stock that comes back from trips no truck could drive.
FIRST_ROUND_SHARE = 0.85
ASSIGNMENTS = ("regret", "flow")
"""The ways of giving deliveries their warehouse (``PlannerOptions.assignment``)."""


@dataclass(frozen=True, slots=True)
class PlannerOptions:
    """Knobs of the planner that are not part of the scenario."""

    max_chunks_per_part: int = 200
    """Largest routing part (chunks); bigger sets are cut into sectors around the warehouse."""
    min_part_time_s: float = 0.5
    """No routing part gets less search time than this (if the budget allows)."""
    workers: int = 1
    """Processes that route parts at once; the CLI uses every core."""
    stock_rounds: int = 8
    """Most rounds of offering stock again that trips without a truck gave back (1: none)."""
    nearest_warehouses: int = 8
    """Reachable warehouses each point keeps from screening, nearest first; a point that runs
    short of stock there is offered every warehouse that can serve it. Keeps memory in
    points x this, not points x warehouses."""
    assignment: str = "flow"
    """How deliveries get their warehouse in each stock round: ``"flow"`` (a min-cost flow of
    whole families over each point's reachable warehouses, :mod:`optimizer.flow_assign`; what
    it leaves goes to regret) or ``"regret"`` alone (points with the most to lose choose first,
    each its nearest warehouse with stock and estimated fleet time). The flow is the default:
    side by side on sample scenarios (``benchmarks/RESULTS.md``, section ``assignment``) it
    left less rice unassigned and drove less in total."""

    def __post_init__(self) -> None:
        if self.assignment not in ASSIGNMENTS:
            raise ValueError(
                f"unknown assignment {self.assignment!r}; use one of {', '.join(ASSIGNMENTS)}"
            )


@dataclass(frozen=True, slots=True)
class _Delivery:
    """Sacks owed to one point for one tranche; in routing parts, a chunk of at most a load."""

    point: int
    tranche: str
    sacks: int
    extra: int = -1
    """Index of the replacement (``Residual.extra``) these sacks are, or -1 for rations."""


@dataclass(slots=True)
class _Part:
    warehouse: int
    tranche: str
    label: str
    chunks: list[_Delivery]
    group_access: list[int] = field(default_factory=list)
    """The access class (travel model index) of each vehicle group of the part's routing
    problem, set when the problem is built."""


@dataclass(slots=True)
class _Trip:
    warehouse: int
    tranche: str
    stops: list[tuple[int, str, int, int]]
    """(point, tranche, sacks, replacement index or -1) in visiting order."""
    timed: list[TimedStop] = field(default_factory=list)
    travel_back_s: int = 0
    distance_km: float = 0.0
    access: int = 0
    """The access class the trip was routed for (travel model index): it is timed on that
    class's roads and packed only onto trucks of that class."""


@dataclass(slots=True)
class _Context:
    scenario: Scenario
    points: tuple[DropPoint, ...]
    warehouses: tuple[Warehouse, ...]
    tranches: dict[str, Tranche]
    trucks_at: dict[int, list[Truck]]
    travel: TravelModel
    """Every road km and driving second of the plan comes from here (the scenario's model).
    Places are numbered warehouses first, then points: point ``p`` is place ``n_wh + p``."""
    truck_access: dict[str, int]
    """Each truck's access class, as an index into ``travel.access``."""
    lon: FloatArray
    lat: FloatArray
    wh_lon: FloatArray
    wh_lat: FloatArray
    days: dict[str, tuple[date, ...]]
    sack_kg: float
    ration_sacks: dict[str, int]
    """Sacks of one family's ration per tranche: deliveries move in whole rations."""
    nearest_warehouses: int
    """How many reachable warehouses (nearest first) a point keeps until it needs more."""
    stock_kg: list[float]
    """Rice each warehouse's new trips may load (the scenario's, or the residual's)."""
    residual: Residual | None = None
    """What is left to plan after kept routes (a re-plan), or ``None`` for the whole scenario."""
    extras: list[ExtraDelivery] = field(default_factory=list)
    """The residual's replacements, one per (point, tranche, kind): several of one point and
    tranche (two rejecting receipts) travel together, due by the earliest due day, so that a
    trip never stops twice at a point for one tranche."""
    extra_days: list[tuple[date, ...]] = field(default_factory=list)
    """Working days of each of ``extras``, from the residual's start to its due day."""
    closed: dict[int, frozenset[date]] = field(default_factory=dict)
    """Days each point (by index) cannot receive (from the residual)."""
    busy: dict[str, dict[date, tuple[int, int]]] = field(default_factory=dict)
    """Per truck, its days with kept trips: (back from them at, trips made), from the residual."""
    workdays: list[date] = field(default_factory=list)
    """Every working day the residual's announced days and the plan's days span, in order:
    a day's position is its working-day number, for the move cost."""
    unassigned: dict[tuple[int, str, int], list[tuple[int, ReasonCode, ReasonFacts]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """Undelivered sacks per (point, tranche, -1 for rations or 1 for replacements)."""
    reach: dict[int, list[int]] = field(default_factory=dict)
    """Warehouses that can serve each point (by point index), nearest first, filled by
    screening: the ``nearest_warehouses`` nearest, or every one after :meth:`full_reach`."""
    reach_km: dict[int, list[float]] = field(default_factory=dict)
    """Road km from each of ``reach[point]`` to the point, in the same order."""
    reach_s: dict[int, list[int]] = field(default_factory=dict)
    """Driving seconds from each of ``reach[point]`` to the point, in the same order."""
    reach_access: dict[int, list[int]] = field(default_factory=dict)
    """For each of ``reach[point]``, the bit mask of access classes whose trucks there can
    serve the point (bit ``k``: ``travel.access[k]``), in the same order."""
    truncated: set[int] = field(default_factory=set)
    screener: _Reach | None = None
    """Screening's per-point and per-warehouse arrays, built once (by :func:`_screen`)."""
    """Points whose ``reach`` holds only the nearest warehouses: more can serve them."""
    tranche_sacks: dict[tuple[int, str], int] = field(default_factory=dict)
    """Sacks assigned per (warehouse, tranche), to share fleet estimates among sectors."""
    largest_load_sacks: dict[int, int] = field(default_factory=dict)
    """Sacks the largest truck of each warehouse that has trucks carries."""
    constructed_parts: int = 0
    """Routing parts that got no search (stopped or out of time): trips by construction."""
    phase_s: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each phase of the planner, over all stock rounds (for the log)."""

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the time spent in the ``with`` block to ``phase_s[phase]``."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.phase_s[phase] = self.phase_s.get(phase, 0.0) + time.monotonic() - started

    def road_km(self, wh: int, point: int) -> float:
        """Road km from a warehouse in the point's reach to the point."""
        return self.reach_km[point][self.reach[point].index(wh)]

    def travel_s(self, wh: int, point: int) -> int:
        """Driving seconds from a warehouse in the point's reach to the point."""
        return self.reach_s[point][self.reach[point].index(wh)]

    def full_reach(self, point: int) -> list[int]:
        """Every warehouse that can serve the point, nearest first (computed once, on demand).

        Screening keeps only the nearest few; a point that runs short of stock there, or
        whose shortage must be explained, needs them all.
        """
        if point in self.truncated:
            self.truncated.discard(point)
            if self.screener is None:
                self.screener = _Reach(self)
            screened = self.screener.rows(np.array([point]), keep=len(self.warehouses))
            self.reach[point] = screened.warehouses[0]
            self.reach_km[point] = screened.km[0]
            self.reach_s[point] = screened.seconds[0]
            self.reach_access[point] = screened.access[0]
        return self.reach[point]

    @property
    def n_wh(self) -> int:
        """Warehouses: the place number of point ``p`` is ``n_wh + p``."""
        return len(self.warehouses)

    def access_mask(self, wh: int, point: int) -> int:
        """Access classes (bit mask) whose trucks at a warehouse in the point's reach serve it."""
        return self.reach_access[point][self.reach[point].index(wh)]

    def point_open_s(self, point: int) -> int:
        value = self.points[point].open_s
        return 0 if value is None else value

    def point_close_s(self, point: int) -> int:
        value = self.points[point].close_s
        return DAY_S if value is None else value

    def service_s(self, point: int, sacks: int) -> int:
        return self.scenario.service.service_s(self.points[point], sacks * self.sack_kg)

    def drop(
        self,
        point: int,
        tranche: str,
        sacks: int,
        code: ReasonCode,
        facts: ReasonFacts,
        extra: int = -1,
    ) -> None:
        if sacks > 0:
            self.unassigned[(point, tranche, 1 if extra >= 0 else -1)].append((sacks, code, facts))

    def ration(self, delivery: _Delivery) -> int:
        """Sacks that move together: a family's ration, or one sack of a replacement."""
        return 1 if delivery.extra >= 0 else self.ration_sacks[delivery.tranche]

    def deadline(self, tranche: str, extra: int) -> date:
        """Return the last day of a delivery: its tranche's deadline, or a replacement's due."""
        if extra >= 0 and self.residual is not None:
            return self.extras[extra].due
        return self.tranches[tranche].deadline


ProgressCallback = Callable[[float, str], None]
"""Receives ``(fraction done in 0..1, what the planner is doing)``."""


def plan_scenario(
    scenario: Scenario,
    *,
    stop: threading.Event | None = None,
    options: PlannerOptions | None = None,
    progress: ProgressCallback | None = None,
    travel: RoadMatrix | None = None,
    residual: Residual | None = None,
) -> Plan:
    """Plan every delivery of a scenario.

    Parameters
    ----------
    scenario
        A validated scenario; its ``solver`` settings give the time limit, seed, strategy and
        optional solution limit.
    stop
        When set (Ctrl-C, a cancelled job), searches stop at once with their best solution,
        parts not yet routed are routed by construction (milliseconds each), no further stock
        round starts, and the plan is finished and marked ``interrupted``. Screening,
        assignment and packing are not cut short: they take seconds even at 100,000 points.
    options
        Decomposition knobs; defaults suit regencies of a few thousand drop points.
    progress
        Told what the planner is doing and roughly how far it is: when routing parts start
        and end, and, for parts routed in this process, at each improving solution (from
        the engine's solution callback). Called from the planning thread; keep it quick.
    travel
        Road km and seconds between the scenario's places per access class (``geodata``
        builds it from an OpenStreetMap extract or a matrix file); the straight line of the
        scenario's ``[travel]`` settings when omitted. Each truck drives the matrix of its
        access class (``TravelSettings.truck_access``); a place farther than ``max_snap_m``
        from every road of a class is out of reach for that class. Stays in this process:
        routing parts get plain matrices.
    residual
        Plan only what is left (a re-plan, :mod:`optimizer.replan`): the families and
        replacements it lists, from its start day, on the stock it gives each warehouse,
        never on a truck's day off or at a point on a closed day, after the kept trips of a
        busy truck-day, and at a cost for moving an announced delivery off its day (see
        :class:`optimizer.residual.Residual`). ``None``: the whole scenario.

    Returns
    -------
    Plan
        Routes, unassigned deliveries with reasons, and KPIs. Every delivered or unassigned kg
        adds up to each drop point's demand.

    Raises
    ------
    ValueError
        If the strategy name is unknown, ``travel`` does not hold the scenario's places, or
        ``residual`` names an id the scenario lacks.
    """
    options = options or PlannerOptions()
    strategy = get_strategy(scenario.solver.strategy)
    started = time.monotonic()
    deadline = started + scenario.solver.time_limit_s
    ctx = _build_context(scenario, options, travel_model(scenario, travel), residual)
    with ctx.timed("screening"):
        servable = _screen(ctx)
    report = _ProgressReport(progress, started, deadline)
    rounds = _StockRounds(ctx)
    pending = [d for point in sorted(servable) for d in servable[point]]
    pending, n_parts, n_rounds = _route_in_rounds(
        ctx, rounds, pending, strategy, stop, options, report, started
    )
    with ctx.timed("reasons and routes"):
        routes = rounds.routes()
        _report_pending(ctx, pending, rounds)
        unassigned = _unassigned_list(ctx)
        kpis = compute_kpis(scenario, routes, unassigned)
    interrupted = stop is not None and stop.is_set()
    elapsed = time.monotonic() - started
    LOG.info(
        "planned %d trips in %.1f s (%d stock round(s)): %s",
        len(routes),
        elapsed,
        n_rounds,
        ", ".join(f"{name} {seconds:.1f} s" for name, seconds in ctx.phase_s.items()),
    )
    if ctx.constructed_parts and not interrupted:
        LOG.warning(
            "%d of %d routing parts got no search time and were routed by construction; "
            "a longer time limit gives shorter routes",
            ctx.constructed_parts,
            n_parts,
        )
    return Plan(
        scenario_name=scenario.name,
        routes=tuple(routes),
        unassigned=tuple(unassigned),
        kpis=kpis,
        strategy=strategy.name,
        seed=scenario.solver.seed,
        status=PlanStatus.INTERRUPTED if interrupted else PlanStatus.COMPLETE,
        timezone=scenario.timezone,
        solver=SolverRun(
            time_limit_s=scenario.solver.time_limit_s,
            solution_limit=scenario.solver.solution_limit,
            routing_parts=n_parts,
            constructed_parts=ctx.constructed_parts,
            stock_rounds=n_rounds,
        ),
        snap_m=_snap_m(ctx, routes),
    )


def _snap_m(ctx: _Context, routes: list[Route]) -> dict[str, float | None] | None:
    """Each drop point's distance to its road (see :attr:`optimizer.solution.Plan.snap_m`)."""
    snap = ctx.travel.snap_m
    if snap is None:
        return None
    n_wh = ctx.n_wh
    serving: dict[str, set[int]] = defaultdict(set)
    for route in routes:
        access = ctx.truck_access[route.truck]
        for stop in route.stops:
            serving[stop.drop_point].add(access)
    fleet = sorted(set(ctx.truck_access.values())) or list(range(len(ctx.travel.access)))
    out: dict[str, float | None] = {}
    for p, point in enumerate(ctx.points):
        classes = serving.get(point.id)
        place = snap[:, n_wh + p]
        value = (
            max(float(place[k]) for k in classes)
            if classes
            else min(float(place[k]) for k in fleet)
        )
        out[point.id] = round(value, 1) if math.isfinite(value) else None
    return out


def _route_in_rounds(
    ctx: _Context,
    rounds: _StockRounds,
    pending: list[_Delivery],
    strategy: Strategy,
    stop: threading.Event | None,
    options: PlannerOptions,
    report: _ProgressReport,
    started: float,
) -> tuple[list[_Delivery], int, int]:
    """Assign, route and pack in stock rounds; return what is still pending, parts, rounds.

    Rounds of "stock that trips could not use goes back to its warehouse and is offered
    again": each needs a new (delivery, warehouse) pair, so they end by themselves.
    """
    n_parts = 0
    n_rounds = 0
    deadline = started + ctx.scenario.solver.time_limit_s
    routing_deadline = deadline
    for n_rounds in range(1, max(1, options.stock_rounds) + 1):
        with ctx.timed("assignment"):
            assigned, short = _assign_warehouses(ctx, pending, rounds, options.assignment)
        if not assigned:
            pending = short
            break
        parts = _make_parts(ctx, assigned, options)
        n_parts += len(parts)
        if n_rounds == 1:
            routing_deadline = deadline - _finish_reserve_s(
                ctx.scenario.solver.time_limit_s,
                sum(len(p.chunks) for p in parts),
                time.monotonic() - started,
            )
        # A shortage now means stock may come back from trips that find no truck: keep some
        # of the budget for routing the deliveries it is offered to.
        round_deadline = routing_deadline
        if n_rounds == 1 and short:
            round_deadline = started + FIRST_ROUND_SHARE * (routing_deadline - started)
        again = f", stock round {n_rounds}" if n_rounds > 1 else ""
        report(0.0, f"routing {len(parts)} part(s){again}")
        with ctx.timed("routing"):
            trips = _route_parts(
                ctx,
                parts,
                strategy,
                round_deadline,
                stop,
                options,
                report,
                later_round=n_rounds > 1,
            )
        report(1.0, "scheduling trips")
        with ctx.timed("scheduling"):
            returned = rounds.pack(trips)
        pending = short + returned
        if not returned:
            # Nothing came back: the stock left is what assignment left, already offered.
            break
        if stop is not None and stop.is_set():
            # Stopped: what came back keeps the reason its trip failed with.
            break
    return pending, n_parts, n_rounds


def _finish_reserve_s(time_limit_s: float, n_chunks: int, pre_routing_s: float) -> float:
    """Seconds of the time limit kept for the work after routing, by the plan's size."""
    wanted = max(
        FINISH_RESERVE_S, RESERVE_S_PER_CHUNK * n_chunks, POST_TO_PRE_RATIO * pre_routing_s
    )
    return min(wanted, MAX_RESERVE_SHARE * time_limit_s)


class _ProgressReport:
    """Relays progress as the larger of the parts routed and the time budget used."""

    def __init__(self, callback: ProgressCallback | None, started: float, deadline: float):
        self.callback = callback
        self.started = started
        self.deadline = deadline
        self.best = 0.0

    def __call__(self, parts_share: float, message: str) -> None:
        if self.callback is None:
            return
        # The search runs until its deadline, so elapsed time is the best estimate of how far
        # it is; a part finished early (a solution limit) moves the bar ahead of the clock.
        span = max(1e-9, self.deadline - self.started)
        by_time = (time.monotonic() - self.started) / span
        # Never backwards: a later stock round starts its parts from zero again.
        self.best = min(1.0, max(self.best, parts_share, by_time))
        self.callback(self.best, message)


# --- 1. screening -----------------------------------------------------------------------------


def _build_context(
    scenario: Scenario,
    options: PlannerOptions,
    travel: TravelModel | None = None,
    residual: Residual | None = None,
) -> _Context:
    travel = travel if travel is not None else travel_model(scenario)
    points = scenario.drop_points
    warehouses = scenario.warehouses
    wh_index = {w.id: i for i, w in enumerate(warehouses)}
    trucks_at: dict[int, list[Truck]] = {i: [] for i in range(len(warehouses))}
    for truck in scenario.trucks:
        if truck.warehouse_id in wh_index:
            trucks_at[wh_index[truck.warehouse_id]].append(truck)
    start = scenario.start_date
    if residual is not None:
        start = max(start, residual.start_date)
    days = {
        t.id: tuple(scenario.calendar.working_days_between(max(t.release, start), t.deadline))
        for t in scenario.tranches
    }
    stock_kg = [w.stock_kg for w in warehouses]
    if residual is not None:
        stock_kg = [max(0.0, float(residual.stock_kg.get(w.id, 0.0))) for w in warehouses]
    ctx = _Context(
        scenario=scenario,
        points=points,
        warehouses=warehouses,
        tranches={t.id: t for t in scenario.tranches},
        trucks_at=trucks_at,
        travel=travel,
        truck_access={
            t.id: travel.access_index(scenario.travel.truck_access(t)) for t in scenario.trucks
        },
        lon=np.array([p.lon for p in points], dtype=np.float64),
        lat=np.array([p.lat for p in points], dtype=np.float64),
        wh_lon=np.array([w.lon for w in warehouses], dtype=np.float64),
        wh_lat=np.array([w.lat for w in warehouses], dtype=np.float64),
        days=days,
        sack_kg=scenario.sack_kg,
        ration_sacks={t.id: _ration_sacks(t, scenario.sack_kg) for t in scenario.tranches},
        nearest_warehouses=max(2, options.nearest_warehouses),
        largest_load_sacks={
            wh: max(int(t.capacity_kg // scenario.sack_kg) for t in trucks)
            for wh, trucks in trucks_at.items()
            if trucks
        },
        stock_kg=stock_kg,
    )
    if residual is not None:
        _add_residual(ctx, residual, start)
    return ctx


def _add_residual(ctx: _Context, residual: Residual, start: date) -> None:
    """Fill the context's residual fields: replacement days, closed days, working days."""
    calendar = ctx.scenario.calendar
    _check_residual_ids(ctx.scenario, residual)
    ctx.residual = residual
    merged: dict[tuple[str, str, str], ExtraDelivery] = {}
    for extra in residual.extra:
        key = (extra.drop_point, extra.tranche, extra.kind)
        before = merged.get(key)
        merged[key] = (
            extra
            if before is None
            else replace(
                before,
                sacks=before.sacks + extra.sacks,
                due=min(before.due, extra.due),
                pickup_kg=before.pickup_kg + extra.pickup_kg,
            )
        )
    ctx.extras = list(merged.values())
    ctx.extra_days = [
        tuple(calendar.working_days_between(start, extra.due)) for extra in ctx.extras
    ]
    point_index = {p.id: i for i, p in enumerate(ctx.points)}
    ctx.closed = {
        point_index[point]: frozenset(closed)
        for point, closed in residual.closed.items()
        if closed and point in point_index
    }
    for (truck, day), kept in residual.busy.items():
        ctx.busy.setdefault(truck, {})[day] = kept
    first = min([start, *residual.announced.values()])
    last = max(
        [start, *(t.deadline for t in ctx.tranches.values()), *(e.due for e in residual.extra)]
    )
    ctx.workdays = calendar.working_days_between(first, last)


def _ration_sacks(tranche: Tranche, sack_kg: float) -> int:
    """Sacks in one family's ration; the reader refuses a ration that is not whole sacks."""
    sacks = tranche.kg_per_kpm / sack_kg
    if sacks < 1 - 1e-9 or abs(sacks - round(sacks)) > 1e-9:
        raise ValueError(
            f"tranche {tranche.id}: a ration of {tranche.kg_per_kpm:g} kg is not a whole number "
            f"of {sack_kg:g} kg sacks"
        )
    return round(sacks)


# Screening's binding reasons as small integers (arrays), and their codes.
_CAPACITY, _SHIFT, _TIME_WINDOW, _NO_ROAD, _SMALL_ONLY = range(5)
_BINDING_CODES = (
    ReasonCode.CAPACITY,
    ReasonCode.SHIFT,
    ReasonCode.TIME_WINDOW,
    ReasonCode.NO_ROAD,
    ReasonCode.CAPACITY,
)


@dataclass(frozen=True, slots=True)
class _ReachRows:
    """Screening of some points against every warehouse (one entry per point)."""

    warehouses: list[list[int]]
    """Reachable warehouses, nearest first (ties by index), at most ``keep``."""
    km: list[list[float]]
    seconds: list[list[int]]
    access: list[list[int]]
    """For each of ``warehouses``, a bit mask of the access classes whose trucks of that
    warehouse can serve the point (bit ``k`` for the travel model's class ``k``)."""
    n_reachable: list[int]
    """How many warehouses can serve the point in all (more than kept: truncated)."""
    binding: list[ReasonCode]
    """For a point no warehouse can serve, the binding reason. The most specific wins: a
    window problem is fixable by the facilitator, a shift problem needs another warehouse, a
    road only small trucks may take needs small trucks there (``capacity``), a point off the
    road needs a road (``no_road``), a capacity problem needs other trucks."""
    small_only: list[bool]
    """Whether a ``capacity`` point is one that only trucks its warehouses lack can reach."""
    nearest: list[int]
    """The nearest warehouse of all that a road connects with the point, reachable or not
    (for the facts of a reason)."""
    nearest_km: list[float]
    nearest_s: list[int]


class _Reach:
    """Which warehouses can serve which points, a block of points at a time.

    A warehouse can serve a point when one of its trucks that carries the largest ration can
    leave after loading, drive there, arrive while the point is open, unload one sack and be
    back within its shift (a one-sack trip), on the roads of its access class: both places
    within ``max_snap_m`` of such a road, and a road path both ways. Points are screened in
    blocks against every warehouse, with arrays of one block's size: memory grows with the
    number of warehouses, never with warehouses x points. The rule is the one the checker
    applies to ``stock`` reasons, and the reasons of points nobody can serve come from the
    same arrays.
    """

    BLOCK_CELLS = 1 << 21
    """Point-warehouse pairs per block (a few tens of MB of temporary arrays)."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        scenario = ctx.scenario
        largest_ration_kg = max(ctx.ration_sacks.values(), default=1) * ctx.sack_kg
        # Distinct (shift, access class) of trucks that carry a ration, and which warehouse
        # has which.
        carrying = {
            wh: {
                (t.shift_start_s, t.shift_end_s, ctx.truck_access[t.id])
                for t in trucks
                if t.capacity_kg >= largest_ration_kg
            }
            for wh, trucks in ctx.trucks_at.items()
        }
        self.shifts = sorted(set().union(*carrying.values())) if carrying else []
        n_wh = len(ctx.warehouses)
        self.has_shift = np.zeros((n_wh, len(self.shifts)), dtype=bool)
        for wh, shifts in carrying.items():
            for shift in shifts:
                self.has_shift[wh, self.shifts.index(shift)] = True
        n_access = len(ctx.travel.access)
        # Places within max_snap_m of a road of each class (every place on a straight line).
        snap_m = ctx.travel.snap_m
        n_places = n_wh + len(ctx.points)
        self.snap_ok = (
            np.ones((n_access, n_places), dtype=bool)
            if snap_m is None
            else np.asarray(snap_m <= ctx.scenario.travel.max_snap_m)
        )
        points = ctx.points
        service = scenario.service
        self.open_s = np.array([ctx.point_open_s(p) for p in range(len(points))], dtype=np.int64)
        self.close_s = np.array([ctx.point_close_s(p) for p in range(len(points))], dtype=np.int64)
        self.one_sack_s = np.array(
            [service.service_s(point, ctx.sack_kg) for point in points], dtype=np.int64
        )
        self.loading_s = service.loading_s

    def rows(self, points: np.ndarray, keep: int) -> _ReachRows:
        """Screen ``points`` (indices) against every warehouse; keep the ``keep`` nearest."""
        ctx = self.ctx
        n_wh = len(ctx.warehouses)
        out = _ReachRows([], [], [], [], [], [], [], [], [], [])
        if n_wh == 0:
            for _ in points:
                for column in (out.warehouses, out.km, out.seconds, out.access):
                    column.append([])
                out.n_reachable.append(0)
                out.binding.append(ReasonCode.CAPACITY)
                out.small_only.append(False)
                out.nearest.append(0)
                out.nearest_km.append(0.0)
                out.nearest_s.append(0)
            return out
        keep = min(keep, n_wh)
        block = max(1, self.BLOCK_CELLS // n_wh)
        for first in range(0, len(points), block):
            rows = points[first : first + block]
            roads = [self._roads(rows, access) for access in range(len(ctx.travel.access))]
            fits_by_access, any_window, any_shift, served_road = self._fits(rows, roads)
            # Per pair, the access class that fits with the shortest road (the first class on
            # ties): its km and seconds estimate the pair for assignment and fleet time.
            km, secs = _best(roads, fits_by_access)
            fits = np.logical_or.reduce(fits_by_access)
            mask = np.zeros(fits.shape, dtype=np.int64)
            for access, fits_k in enumerate(fits_by_access):
                mask |= fits_k.astype(np.int64) << access
            # Nearest reachable first, ties by warehouse index (a stable sort keeps it).
            masked = np.where(fits, km, np.inf)
            kept = np.argsort(masked, axis=1, kind="stable")[:, :keep]
            n_ok = fits.sum(axis=1)
            taken = np.minimum(n_ok, keep).tolist()
            kept_km = np.take_along_axis(km, kept, axis=1).tolist()
            kept_s = np.take_along_axis(secs, kept, axis=1).tolist()
            kept_mask = np.take_along_axis(mask, kept, axis=1).tolist()
            for r, (w, k, s, m) in enumerate(
                zip(kept.tolist(), kept_km, kept_s, kept_mask, strict=True)
            ):
                n = taken[r]
                out.warehouses.append(w[:n])
                out.km.append(k[:n])
                out.seconds.append(s[:n])
                out.access.append(m[:n])
            out.n_reachable.extend(n_ok.tolist())
            # The most specific reason wins for a point nobody can serve (see binding): the
            # first that holds of hours, shift, no truck at all, no road of any class, and
            # roads only for classes its warehouses lack.
            road_any = np.logical_or.reduce([road.ok.any(axis=1) for road in roads])
            trucks = np.full(len(rows), bool(self.shifts))
            binding = np.select(
                [any_window, any_shift, ~trucks, ~road_any, ~served_road],
                [_TIME_WINDOW, _SHIFT, _CAPACITY, _NO_ROAD, _SMALL_ONLY],
                default=_CAPACITY,
            )
            out.binding.extend(_BINDING_CODES[k] for k in binding.tolist())
            out.small_only.extend((binding == _SMALL_ONLY).tolist())
            near_km, near_s = _best(roads, [road.ok for road in roads])
            nearest = np.argmin(near_km, axis=1)
            out.nearest.extend(nearest.tolist())
            out.nearest_km.extend(
                np.take_along_axis(near_km, nearest[:, None], axis=1)[:, 0].tolist()
            )
            out.nearest_s.extend(
                np.take_along_axis(near_s, nearest[:, None], axis=1)[:, 0].tolist()
            )
        return out

    def _roads(self, rows: np.ndarray, access: int) -> _Roads:
        """Road km and seconds between the points ``rows`` and every warehouse, one class."""
        ctx = self.ctx
        n_wh = len(ctx.warehouses)
        places = rows + n_wh
        whs = np.arange(n_wh)
        # Rows are points (as the straight line was always asked: its numbers stay the same to
        # the last bit); a symmetric model needs no second matrix.
        back_km, back_s = ctx.travel.km_s(places, whs, access)
        if ctx.travel.symmetric:
            out_km, out_s = back_km, back_s
        else:
            out_km_t, out_s_t = ctx.travel.km_s(whs, places, access)
            out_km, out_s = out_km_t.T, out_s_t.T
        ok = self.snap_ok[access][places][:, None] & self.snap_ok[access][whs][None, :]
        if ctx.travel.snap_m is not None or not ctx.travel.symmetric:
            ok = ok & np.isfinite(out_km) & np.isfinite(back_km)
            ok &= (out_s < NO_ROAD_S) & (back_s < NO_ROAD_S)
        return _Roads(out_km, out_s, back_s, ok)

    def _fits(
        self, rows: np.ndarray, roads: list[_Roads]
    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
        """Return the pairs a one-sack trip fits per access class, and which points fail how.

        ``fits[k][i, w]`` for point ``rows[i]``, warehouse ``w`` and access class ``k``; then,
        per point, whether some truck that carries a ration and has a road fails only on the
        point's hours (``time_window``), whether some fails on its shift (``shift``), and
        whether any truck that carries a ration has a road to the point at all.
        """
        service = self.one_sack_s[rows][:, None]
        open_s = self.open_s[rows][:, None]
        close_s = self.close_s[rows][:, None]
        shape = roads[0].ok.shape
        fits = [np.zeros(shape, dtype=bool) for _ in roads]
        window = np.zeros(shape, dtype=bool)
        shift_fail = np.zeros(shape, dtype=bool)
        served_road = np.zeros(shape, dtype=bool)
        for k, (start_s, end_s, access) in enumerate(self.shifts):
            road = roads[access]
            has = self.has_shift[:, k][None, :] & road.ok
            earliest = start_s + self.loading_s
            too_long = earliest + road.out_s + road.back_s + service > end_s
            arrive = np.maximum(earliest + road.out_s, open_s)
            late = (arrive > close_s) | (arrive + service + road.back_s > end_s)
            fits[access] |= has & ~too_long & ~late
            shift_fail |= has & too_long
            window |= has & ~too_long & late
            served_road |= has
        return (
            fits,
            np.asarray(window.any(axis=1)),
            np.asarray(shift_fail.any(axis=1)),
            np.asarray(served_road.any(axis=1)),
        )


@dataclass(frozen=True, slots=True)
class _Roads:
    """Points (rows) x warehouses (columns) on the roads of one access class."""

    out_km: np.ndarray
    """Road km from the warehouse to the point."""
    out_s: np.ndarray
    back_s: np.ndarray
    """Driving seconds from the point back to the warehouse."""
    ok: np.ndarray
    """Whether a road of the class serves both places and connects them both ways."""


def _best(roads: list[_Roads], usable: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per pair, km and seconds out on the usable class with the shortest road (``inf`` if none).

    With one class, its own arrays where usable.
    """
    if len(roads) == 1:
        return np.where(usable[0], roads[0].out_km, np.inf), roads[0].out_s
    km = np.stack([np.where(u, r.out_km, np.inf) for r, u in zip(roads, usable, strict=True)])
    secs = np.stack([r.out_s for r in roads])
    best = np.argmin(km, axis=0)[None]
    return np.take_along_axis(km, best, axis=0)[0], np.take_along_axis(secs, best, axis=0)[0]


def _screen(ctx: _Context) -> dict[int, list[_Delivery]]:
    """Deliveries per point that some warehouse can serve; the rest become unassigned."""
    scenario = ctx.scenario
    servable: dict[int, list[_Delivery]] = {}
    ctx.screener = _Reach(ctx)
    screened = ctx.screener.rows(np.arange(len(ctx.points)), ctx.nearest_warehouses)
    for p, point in enumerate(ctx.points):
        reachable = screened.warehouses[p]
        ctx.reach[p] = reachable
        ctx.reach_km[p] = screened.km[p]
        ctx.reach_s[p] = screened.seconds[p]
        ctx.reach_access[p] = screened.access[p]
        if screened.n_reachable[p] > len(reachable):
            ctx.truncated.add(p)
        for tranche in scenario.tranches:
            if ctx.residual is None:
                demand_kg = scenario.demand_kg(point, tranche)
                sacks = round(demand_kg / ctx.sack_kg)
            else:
                families = ctx.residual.families.get((point.id, tranche.id), 0)
                sacks = max(0, families) * ctx.ration_sacks[tranche.id]
            _screen_one(ctx, screened, servable, _Delivery(p, tranche.id, sacks))
    if ctx.residual is not None:
        point_index = {point.id: i for i, point in enumerate(ctx.points)}
        for e, extra in enumerate(ctx.extras):
            delivery = _Delivery(point_index[extra.drop_point], extra.tranche, extra.sacks, e)
            _screen_one(ctx, screened, servable, delivery)
    return servable


def _screen_one(
    ctx: _Context,
    screened: _ReachRows,
    servable: dict[int, list[_Delivery]],
    delivery: _Delivery,
) -> None:
    """Add one delivery to ``servable``, or drop it with the reason no warehouse serves it."""
    scenario = ctx.scenario
    p, sacks, extra = delivery.point, delivery.sacks, delivery.extra
    tranche = ctx.tranches[delivery.tranche]
    reachable = ctx.reach[p]
    if sacks <= 0:
        return
    days = ctx.days[tranche.id] if extra < 0 else ctx.extra_days[extra]
    if not days:
        start = scenario.start_date
        if ctx.residual is not None:
            start = max(start, ctx.residual.start_date)
        first = max(tranche.release, start) if extra < 0 else start
        facts = ReasonFacts(
            first_day=first, deadline=ctx.deadline(tranche.id, extra), start_date=start
        )
        ctx.drop(p, tranche.id, sacks, ReasonCode.DEADLINE, facts, extra)
        return
    if not reachable:
        code = screened.binding[p]
        if code is ReasonCode.NO_ROAD:
            facts = _no_road_facts(ctx, p)
        elif screened.small_only[p]:
            facts = _small_only_facts(ctx, p)
        else:
            facts = _unreachable_facts(
                ctx,
                p,
                code,
                screened.nearest[p],
                screened.nearest_km[p],
                screened.nearest_s[p],
            )
        ctx.drop(p, tranche.id, sacks, code, facts, extra)
        return
    servable.setdefault(p, []).append(delivery)


def _no_road_facts(ctx: _Context, point: int) -> ReasonFacts:
    """Facts of a point no road of any class connects with a warehouse: its nearest road."""
    place = len(ctx.warehouses) + point
    max_snap_km = ctx.scenario.travel.max_snap_m / 1000
    snap_m = ctx.travel.snap_m
    if snap_m is None:
        return ReasonFacts(max_snap_km=max_snap_km)
    access = int(np.argmin(snap_m[:, place]))
    nearest_m = float(snap_m[access, place])
    if not math.isfinite(nearest_m):
        return ReasonFacts(max_snap_km=max_snap_km)
    roads = ctx.travel.snap_road
    return ReasonFacts(
        road=roads[access][place] if roads else None,
        snap_km=round(nearest_m / 1000, 3),
        max_snap_km=max_snap_km,
    )


def _small_only_facts(ctx: _Context, point: int) -> ReasonFacts:
    """Facts of a point only trucks its warehouses lack can reach: the road closed to theirs.

    The road the point lies on for the classes that reach it is named when the others' nearest
    road is another one or too far (it is that road they may not take); otherwise the closed
    road is somewhere on the way and is not named.
    """
    place = len(ctx.warehouses) + point
    snap_m = ctx.travel.snap_m
    roads = ctx.travel.snap_road
    if snap_m is None or not roads or ctx.screener is None:
        return ReasonFacts(small_only=True)
    ok = ctx.screener.snap_ok[:, place]
    reaching = [k for k in range(len(ctx.travel.access)) if ok[k]]
    others = [k for k in range(len(ctx.travel.access)) if not ok[k]]
    if not reaching:
        return ReasonFacts(small_only=True)
    # The class with the nearest road reaches; any class whose road differs is closed off.
    reach_k = min(reaching, key=lambda k: (float(snap_m[k, place]), k))
    road = roads[reach_k][place]
    closed = others or [k for k in reaching if roads[k][place] != road]
    return ReasonFacts(small_only=True, road=road if closed else None)


def _unreachable_facts(
    ctx: _Context, point: int, code: ReasonCode, wh: int, road_km: float, travel_s: int
) -> ReasonFacts:
    """Facts of a point no warehouse can serve, about its nearest warehouse ``wh``."""
    if not any(ctx.trucks_at.values()):
        return ReasonFacts(no_trucks=True)
    trucks = ctx.trucks_at[wh] or [t for ts in ctx.trucks_at.values() for t in ts]
    if code is ReasonCode.CAPACITY:
        return ReasonFacts(
            ration_kg=max(ctx.ration_sacks.values(), default=1) * ctx.sack_kg,
            largest_truck_kg=max(t.capacity_kg for t in trucks),
        )
    return ReasonFacts(
        warehouses=(ctx.warehouses[wh].id,),
        distance_km=round(road_km, 3),
        travel_min=round(travel_s / 60, 1),
        shift_h=round(max(t.shift_end_s - t.shift_start_s for t in trucks) / 3600, 2),
        open_s=ctx.point_open_s(point),
        close_s=ctx.point_close_s(point),
    )


# --- 2. warehouse assignment ------------------------------------------------------------------


def _fleet_budget_s(ctx: _Context) -> dict[tuple[int, str], float]:
    budget: dict[tuple[int, str], float] = {}
    for wh, trucks in ctx.trucks_at.items():
        for tranche_id, days in ctx.days.items():
            per_day = sum(t.shift_end_s - t.shift_start_s for t in trucks)
            budget[(wh, tranche_id)] = FLEET_TIME_USABLE * per_day * len(days)
    return budget


def _fleet_need_s(ctx: _Context, wh: int, delivery: _Delivery) -> float:
    """Radial estimate of the truck time a delivery uses: its share of full round trips."""
    trips = delivery.sacks / ctx.largest_load_sacks[wh]
    round_trip = 2 * ctx.travel_s(wh, delivery.point) + ctx.scenario.service.loading_s
    return trips * round_trip + ctx.service_s(delivery.point, delivery.sacks)


def _assign_warehouses(
    ctx: _Context, pending: list[_Delivery], rounds: _StockRounds, assignment: str = "regret"
) -> tuple[dict[int, list[_Delivery]], list[_Delivery]]:
    """Give pending deliveries stock at warehouses that can reach them, in whole rations.

    Returns the deliveries per warehouse, and the rations no warehouse had stock for (yet).
    A (delivery, warehouse) pair whose trip already found no truck is not offered again.
    With ``assignment="flow"`` a min-cost flow places the bulk first (:func:`_assign_by_flow`)
    and regret places what it leaves.
    """
    stock = rounds.stock_left
    budget = rounds.budget
    by_warehouse: dict[int, list[_Delivery]] = defaultdict(list)
    if assignment == "flow":
        flowed, pending = _assign_by_flow(ctx, pending, rounds)
        by_warehouse.update(flowed)
    short: list[_Delivery] = []
    by_point: dict[int, list[_Delivery]] = defaultdict(list)
    for d in pending:
        by_point[d.point].append(d)

    def regret(point: int) -> tuple[float, int]:
        dists = ctx.reach_km[point]  # nearest first
        second = dists[1] if len(dists) > 1 else 1e9
        return (-(second - dists[0]), point)

    def options_for(d: _Delivery, reach: list[int]) -> list[int]:
        # Reach lists are nearest first already.
        return [
            w
            for w in reach
            if (d.point, d.tranche, d.extra, w) not in rounds.tried
            and (w, d.tranche, d.extra >= 0) not in rounds.fleet_full
        ]

    for point in sorted(by_point, key=regret):
        items = by_point[point]
        total = sum(d.sacks for d in items)
        options = [options_for(d, ctx.reach[point]) for d in items]
        common = [w for w in options[0] if all(w in o for o in options[1:])]
        chosen = None
        for wh in common:
            fits_time = all(budget[(wh, d.tranche)] >= _fleet_need_s(ctx, wh, d) for d in items)
            if stock[wh] >= total and fits_time:
                chosen = wh
                break
        if chosen is not None:
            for d in items:
                budget[(chosen, d.tranche)] -= _fleet_need_s(ctx, chosen, d)
                by_warehouse[chosen].append(d)
            stock[chosen] -= total
            continue
        # No single warehouse takes the whole point: place tranche by tranche, in whole
        # rations, first where stock and time remain, then where stock remains (the packer
        # reports what the fleet cannot drive, and its stock comes back).
        for d, item_options in zip(items, options, strict=True):
            ration = ctx.ration(d)
            remaining = d.sacks
            for need_time in (True, False):
                tried: set[int] = set()
                while True:
                    for wh in item_options:
                        if wh in tried:
                            continue
                        tried.add(wh)
                        take = min(remaining, stock[wh] // ration * ration)
                        if take <= 0:
                            continue
                        part = replace(d, sacks=take)
                        need = _fleet_need_s(ctx, wh, part)
                        if need_time and budget[(wh, d.tranche)] < need:
                            continue
                        budget[(wh, d.tranche)] -= need
                        stock[wh] -= take
                        by_warehouse[wh].append(part)
                        remaining -= take
                    if not remaining or point not in ctx.truncated:
                        break
                    # The nearest warehouses fall short: every warehouse that can serve the
                    # point may give stock, nearest first.
                    item_options = options_for(d, ctx.full_reach(point))
            if remaining:
                short.append(replace(d, sacks=remaining))
    return by_warehouse, short


def _assign_by_flow(
    ctx: _Context, pending: list[_Delivery], rounds: _StockRounds
) -> tuple[dict[int, list[_Delivery]], list[_Delivery]]:
    """Place the bulk of pending rations by a min-cost flow of whole families.

    The flow moves families: a family's rations of every pending tranche go to one warehouse
    (so a point is split only in whole families, as by regret). It takes the points whose
    pending tranches are the most common set (all tranches, in a first round) and, of each,
    the families pending in every one of them; arcs join a point to the warehouses of its
    screened reach that it has not been tried at, at road metres per family; a warehouse takes
    the families its stock left holds. Stock is the only limit: the fleet-time estimate is
    charged afterwards, as regret charges it. Everything else (replacements, other tranche
    sets, odd rations, families no warehouse in reach had stock for) is returned for regret,
    which may look beyond the nearest warehouses.
    """
    from optimizer.flow_assign import min_cost_transport

    rest: list[_Delivery] = []
    merged: dict[int, dict[str, int]] = defaultdict(dict)
    for d in pending:
        if d.extra >= 0:
            rest.append(d)
        else:
            # Two trips that failed may return one point's tranche in two pieces.
            merged[d.point][d.tranche] = merged[d.point].get(d.tranche, 0) + d.sacks
    by_warehouse: dict[int, list[_Delivery]] = defaultdict(list)
    if not merged:
        return by_warehouse, rest
    key_of = {p: tuple(sorted(sacks)) for p, sacks in merged.items()}
    bulk = Counter(key_of.values()).most_common(1)[0][0]
    rations = [ctx.ration_sacks[t] for t in bulk]
    family_sacks = sum(rations)
    points = sorted(p for p in merged if key_of[p] == bulk)
    families = []
    for p in sorted(merged):
        if key_of[p] != bulk:
            rest.extend(_Delivery(p, t, sacks) for t, sacks in merged[p].items())
    for p in points:
        whole = min(merged[p][t] // r for t, r in zip(bulk, rations, strict=True))
        families.append(whole)
        for t, r in zip(bulk, rations, strict=True):
            if merged[p][t] > whole * r:
                rest.append(_Delivery(p, t, merged[p][t] - whole * r))
    arc_point: list[int] = []
    arc_wh: list[int] = []
    arc_m: list[int] = []
    for i, p in enumerate(points):
        for wh, km in zip(ctx.reach[p], ctx.reach_km[p], strict=True):
            if all(
                (p, t, -1, wh) not in rounds.tried and (wh, t, False) not in rounds.fleet_full
                for t in bulk
            ):
                arc_point.append(i)
                arc_wh.append(wh)
                arc_m.append(round(km * 1000))
    stock = rounds.stock_left
    capacity = [stock[wh] // family_sacks for wh in range(ctx.n_wh)]
    result = min_cost_transport(families, capacity, arc_point, arc_wh, arc_m)
    for i, wh, flow in zip(arc_point, arc_wh, result.arc_flow.tolist(), strict=True):
        if flow <= 0:
            continue
        for t, r in zip(bulk, rations, strict=True):
            d = _Delivery(points[i], t, flow * r)
            rounds.budget[(wh, t)] -= _fleet_need_s(ctx, wh, d)
            by_warehouse[wh].append(d)
        stock[wh] -= flow * family_sacks
    for i, unmet in enumerate(result.unmet.tolist()):
        if unmet:
            rest.extend(
                _Delivery(points[i], t, unmet * r) for t, r in zip(bulk, rations, strict=True)
            )
    return by_warehouse, rest


class _StockRounds:
    """What is settled so far: trips on trucks per warehouse, stock left, pairs that failed.

    Each round's new trips are packed together with the trips the warehouse already holds;
    trips that find no truck give their stock back and their deliveries are offered again.
    """

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.stock_sacks = [int(kg // ctx.sack_kg + 1e-9) for kg in ctx.stock_kg]
        self.stock_left = list(self.stock_sacks)
        self.budget = _fleet_budget_s(ctx)
        self.tried: set[tuple[int, str, int, int]] = set()
        """(point, tranche, replacement, warehouse) whose trip found no truck: not offered
        again."""
        self.failures: dict[tuple[int, str, int], tuple[ReasonCode, ReasonFacts]] = {}
        """The last packing failure of each (point, tranche, replacement or -1)."""
        self.fleet_full: set[tuple[int, str, bool]] = set()
        """(warehouse, tranche, replacements?) whose fleet already left a trip without a truck:
        stock that comes back is not offered to that tranche there again (its trips would fail
        too). Replacements count apart: their days end sooner than the tranche's."""
        self.trips: dict[int, list[_Trip]] = defaultdict(list)
        self.placed: dict[int, list[tuple[_Trip, PackedTrip]]] = {}

    def pack(self, new_trips: list[_Trip]) -> list[_Delivery]:
        """Pack new trips with their warehouses' trips; return the deliveries that came back."""
        ctx = self.ctx
        returned: list[_Delivery] = []
        by_warehouse: dict[int, list[_Trip]] = defaultdict(list)
        for trip in new_trips:
            by_warehouse[trip.warehouse].append(trip)
        for wh in sorted(by_warehouse):
            trips = self.trips[wh] + by_warehouse[wh]
            placed, unplaced = _pack_warehouse(ctx, wh, trips)
            self.placed[wh] = placed
            self.trips[wh] = [trip for trip, _ in placed]
            held = sum(stop[2] for trip, _ in placed for stop in trip.stops)
            self.stock_left[wh] = self.stock_sacks[wh] - held
            for trip, item in unplaced:
                for stop, code, facts in _unplaced_failures(ctx, trip, item):
                    point, tranche, sacks, extra = stop
                    if code is ReasonCode.FLEET_TIME:
                        self.fleet_full.add((wh, tranche, extra >= 0))
                    self.failures[(point, tranche, extra)] = (code, facts)
                    self.tried.add((point, tranche, extra, wh))
                    returned.append(_Delivery(point, tranche, sacks, extra))
        return returned

    def leftover_kg(self, wh: int) -> float:
        """Return the rice left at a warehouse: its stock less what its placed trips carry.

        A part of a sack left over counts too, though no delivery can use it.
        """
        held = self.stock_sacks[wh] - self.stock_left[wh]
        return round(self.ctx.stock_kg[wh] - held * self.ctx.sack_kg, 3)

    def routes(self) -> list[Route]:
        """Every placed trip as a route, in date, warehouse, truck and trip order."""
        routes = [
            _route(self.ctx, trip, packed)
            for wh in sorted(self.placed)
            for trip, packed in self.placed[wh]
        ]
        routes.sort(key=lambda r: (r.date, r.warehouse, r.truck, r.trip))
        if self.ctx.extras:
            routes = _with_pickups(self.ctx.extras, routes)
        return routes


def _report_pending(ctx: _Context, pending: list[_Delivery], rounds: _StockRounds) -> None:
    """Record why each delivery still pending after the last round is not delivered.

    ``stock`` only when no warehouse that can reach the point has a family's ration left;
    otherwise the delivery's own packing failure (its fleet or its opening hours).
    """
    for d in pending:
        ration = ctx.ration(d)
        reach = ctx.full_reach(d.point)  # nearest first
        with_ration = [w for w in reach if rounds.stock_left[w] >= ration]
        failure = rounds.failures.get((d.point, d.tranche, d.extra))
        if failure is not None:
            ctx.drop(d.point, d.tranche, d.sacks, failure[0], failure[1], d.extra)
        elif with_ration:
            # A warehouse in reach has rice left, but its fleet already left trips of this
            # tranche without a truck (or the round limit stopped the search): the fleet is
            # what is short.
            full = [w for w in with_ration if (w, d.tranche, d.extra >= 0) in rounds.fleet_full]
            wh = (full or with_ration)[0]
            days = ctx.days[d.tranche] if d.extra < 0 else ctx.extra_days[d.extra]
            facts = ReasonFacts(
                warehouses=(ctx.warehouses[wh].id,),
                trucks=len(ctx.trucks_at[wh]),
                trip_kg=d.sacks * ctx.sack_kg,
                working_days=len(days),
                first_day=days[0] if days else None,
                deadline=ctx.deadline(d.tranche, d.extra),
            )
            ctx.drop(d.point, d.tranche, d.sacks, ReasonCode.FLEET_TIME, facts, d.extra)
        else:
            facts = ReasonFacts(
                warehouses=tuple(ctx.warehouses[w].id for w in reach),
                leftover_kg=tuple(rounds.leftover_kg(w) for w in reach),
                ration_kg=ration * ctx.sack_kg,
            )
            ctx.drop(d.point, d.tranche, d.sacks, ReasonCode.STOCK, facts, d.extra)


# --- 3. routing -------------------------------------------------------------------------------


def _make_parts(
    ctx: _Context, assigned: dict[int, list[_Delivery]], options: PlannerOptions
) -> list[_Part]:
    parts: list[_Part] = []
    for wh in sorted(assigned):
        trucks = ctx.trucks_at[wh]
        max_sacks = max(int(t.capacity_kg // ctx.sack_kg) for t in trucks)
        # Per tranche and, in a re-plan, per announced day (deliveries announced for one day
        # share trips, so each trip can keep its day) with replacements apart (their days end
        # at their due day, which would hold back any trip they shared).
        by_tranche: dict[tuple[str, str], list[_Delivery]] = defaultdict(list)
        for d in assigned[wh]:
            key = (d.tranche, _part_group(ctx, d))
            ration = ctx.ration(d)
            # A load is whole rations: a family's rice never travels on two trucks. Screening
            # kept only warehouses with a truck that carries the largest ration. A point only
            # some access classes reach gets loads of their largest truck.
            load = _largest_sacks(ctx, wh, ctx.access_mask(wh, d.point), max_sacks)
            load = load // ration * ration
            remaining = d.sacks
            # Whole truckloads go straight; the remainder shares a trip with neighbours.
            while remaining > load:
                by_tranche[key].append(replace(d, sacks=load))
                remaining -= load
            by_tranche[key].append(replace(d, sacks=remaining))
        tranche_sacks: dict[str, int] = defaultdict(int)
        for (tranche_id, _), chunks in by_tranche.items():
            tranche_sacks[tranche_id] += sum(c.sacks for c in chunks)
        for tranche_id, sacks in tranche_sacks.items():
            ctx.tranche_sacks[(wh, tranche_id)] = sacks
        for tranche_id, group in sorted(
            by_tranche, key=lambda k: (ctx.tranches[k[0]].release, k[0], k[1])
        ):
            chunks = by_tranche[(tranche_id, group)]
            sectors = _sectors(ctx, wh, chunks, options.max_chunks_per_part)
            for k, sector in enumerate(sectors, 1):
                label = f"warehouse {ctx.warehouses[wh].id} tranche {tranche_id}{group}"
                if len(sectors) > 1:
                    label += f" sector {k}/{len(sectors)}"
                parts.append(_Part(wh, tranche_id, label, sector))
    return parts


def _check_residual_ids(scenario: Scenario, residual: Residual) -> None:
    """Refuse a residual that names ids the scenario lacks (a bug of its maker, not input)."""
    index = scenario._index
    unknown: list[str] = []
    for point, tranche in [*residual.families, *residual.announced]:
        if point not in index.drop_points or tranche not in index.tranches:
            unknown.append(f"({point}, {tranche})")
    for extra in residual.extra:
        if extra.drop_point not in index.drop_points or extra.tranche not in index.tranches:
            unknown.append(f"replacement ({extra.drop_point}, {extra.tranche})")
        if extra.sacks < 0 or extra.pickup_kg < 0:
            unknown.append(f"replacement ({extra.drop_point}, {extra.tranche}): negative amount")
    unknown += [f"warehouse {w}" for w in residual.stock_kg if w not in index.warehouses]
    trucks = [*residual.truck_off, *(truck for truck, _ in residual.busy)]
    unknown += [f"truck {t}" for t in dict.fromkeys(trucks) if t not in index.trucks]
    unknown += [f"drop point {p}" for p in residual.closed if p not in index.drop_points]
    if unknown:
        raise ValueError("residual does not fit the scenario: " + ", ".join(unknown[:10]))


def _part_group(ctx: _Context, delivery: _Delivery) -> str:
    """Return the routing group of a delivery within its tranche ("" without a residual)."""
    residual = ctx.residual
    if residual is None:
        return ""
    if delivery.extra >= 0:
        return " replacements"
    announced = residual.announced.get((ctx.points[delivery.point].id, delivery.tranche))
    return f" announced {announced.isoformat()}" if announced is not None else ""


def _largest_sacks(ctx: _Context, wh: int, mask: int, largest: int) -> int:
    """Sacks the largest truck of the warehouse whose access class is in ``mask`` carries."""
    if len(ctx.travel.access) == 1:
        return largest
    return max(
        (
            int(t.capacity_kg // ctx.sack_kg)
            for t in ctx.trucks_at[wh]
            if mask >> ctx.truck_access[t.id] & 1
        ),
        default=largest,
    )


def _sectors(
    ctx: _Context, wh: int, chunks: list[_Delivery], max_chunks: int
) -> list[list[_Delivery]]:
    """Cut chunks into angular sectors around the warehouse, of near-equal size."""
    if len(chunks) <= max_chunks:
        return [chunks]
    n_sectors = math.ceil(len(chunks) / max_chunks)
    lat0 = math.radians(float(ctx.wh_lat[wh]))
    angles = np.array(
        [
            math.atan2(
                float(ctx.lat[c.point] - ctx.wh_lat[wh]),
                float(ctx.lon[c.point] - ctx.wh_lon[wh]) * math.cos(lat0),
            )
            for c in chunks
        ]
    )
    order = sorted(range(len(chunks)), key=lambda i: (angles[i], chunks[i].point))
    # Start the sweep at the widest angular gap so that no sector straddles a dense cluster.
    sorted_angles = angles[order]
    gaps = np.diff(np.concatenate([sorted_angles, [sorted_angles[0] + 2 * math.pi]]))
    start = (int(np.argmax(gaps)) + 1) % len(order)
    order = order[start:] + order[:start]
    size = math.ceil(len(chunks) / n_sectors)
    return [[chunks[i] for i in order[k : k + size]] for k in range(0, len(order), size)]


def _groups_for(ctx: _Context, part: _Part) -> list[VehicleGroup]:
    trucks = ctx.trucks_at[part.warehouse]
    keyed: dict[tuple[int, int, int, float, int], list[Truck]] = defaultdict(list)
    for t in trucks:
        cap = int(t.capacity_kg // ctx.sack_kg)
        if cap > 0:  # a truck that cannot carry one sack makes no trips
            access = ctx.truck_access[t.id]
            keyed[(cap, t.shift_start_s, t.shift_end_s, t.cost_per_km, access)].append(t)
    max_cost = max(t.cost_per_km for t in trucks)
    total_sacks = sum(c.sacks for c in part.chunks)
    n_days = len(ctx.days[part.tranche])
    mean_round_s = float(np.mean([2 * ctx.travel_s(part.warehouse, c.point) for c in part.chunks]))
    groups: list[VehicleGroup] = []
    loading = ctx.scenario.service.loading_s
    # Big trucks first: full big trucks make the fewest kilometres per kg, so the routing model
    # gets as many big-truck trips as the fleet can plausibly drive in the tranche's window
    # (share of this part), and smaller trucks only for the rest. Unlimited small trips would
    # let the search settle on many half-empty small trips it cannot easily merge.
    sacks_left = float(total_sacks)
    part_share = total_sacks / max(1, ctx.tranche_sacks[(part.warehouse, part.tranche)])
    for (cap, start, end, cost, access), group_trucks in sorted(
        keyed.items(), key=lambda kv: -kv[0][0]
    ):
        per_day = max(1, int((end - start) // max(1.0, mean_round_s + loading + 1800)))
        limits = [t.max_trips_per_day for t in group_trucks if t.max_trips_per_day is not None]
        if limits and len(limits) == len(group_trucks):
            per_day = min(per_day, max(limits))
        available = len(group_trucks) * per_day * n_days * part_share * FLEET_TIME_USABLE
        wanted = min(available, sacks_left / (cap * 0.85))
        sacks_left = max(0.0, sacks_left - wanted * cap * 0.85)
        weight = cost / max_cost if max_cost > 0 else 1.0
        groups.append(
            VehicleGroup(
                capacity_sacks=cap,
                earliest_depart_s=start + loading,
                shift_end_s=end,
                cost_weight=round(max(weight, 0.05), 4),
                n_trips=math.ceil(wanted) + 2,
                access=access,
            )
        )
    if sacks_left > 0:
        # The estimate says the fleet is short: give every group room, and let the packer
        # report what does not fit as fleet_time.
        groups = [
            replace(g, n_trips=g.n_trips + math.ceil(sacks_left / g.capacity_sacks)) for g in groups
        ]
    used = {g.access for g in groups}
    if len(used) > 1:
        # Chunks only one access class reaches (a track only small trucks take) need trips of
        # that class whatever the estimate above gave the bigger trucks.
        all_bits = sum(1 << k for k in used)
        only: dict[int, int] = defaultdict(int)
        for c in part.chunks:
            mask = ctx.access_mask(part.warehouse, c.point) & all_bits
            if mask and mask & (mask - 1) == 0:
                only[mask.bit_length() - 1] += c.sacks
        groups = [
            replace(g, n_trips=g.n_trips + math.ceil(only[g.access] / g.capacity_sacks))
            for g in groups
        ]
    return groups


def _routing_problem(ctx: _Context, part: _Part) -> RoutingProblem:
    """Build the part's routing problem: one routing profile per access class of its trucks.

    The groups' ``access`` becomes the profile's position; ``part.group_access`` keeps each
    group's class for the trips.
    """
    wh = part.warehouse
    places = np.array([wh] + [ctx.n_wh + c.point for c in part.chunks], dtype=np.int64)
    groups = _groups_for(ctx, part)
    part.group_access = [g.access for g in groups]
    used = sorted(set(part.group_access)) or [0]
    if used != [0]:
        groups = [replace(g, access=used.index(g.access)) for g in groups]
    profiles: list[tuple[np.ndarray, np.ndarray]] = []
    for access in used:
        road_km, road_s = ctx.travel.km_s(places, places, access)
        meters = road_km * 1000
        if not np.isfinite(meters).all():
            meters = np.where(np.isfinite(meters), meters, NO_ROAD_M)
        profiles.append((np.rint(meters).astype(np.int64), road_s))
    return RoutingProblem(
        distance_m=profiles[0][0],
        travel_s=profiles[0][1],
        more_profiles=tuple(profiles[1:]),
        service_s=[0] + [ctx.service_s(c.point, c.sacks) for c in part.chunks],
        demand_sacks=[0] + [c.sacks for c in part.chunks],
        open_s=[0] + [ctx.point_open_s(c.point) for c in part.chunks],
        close_s=[DAY_S] + [ctx.point_close_s(c.point) for c in part.chunks],
        groups=groups,
    )


def _route_parts(
    ctx: _Context,
    parts: list[_Part],
    strategy: Strategy,
    deadline: float,
    stop: threading.Event | None,
    options: PlannerOptions,
    report: _ProgressReport,
    *,
    later_round: bool = False,
) -> list[_Trip]:
    workers = max(1, min(options.workers, len(parts)))
    if later_round and sum(len(p.chunks) for p in parts) <= options.max_chunks_per_part:
        # A small later stock round: starting worker processes would take longer than routing
        # it here.
        workers = 1
    if strategy.multi_core:
        # The portfolio already uses every core on each part: parts go one after another.
        with Portfolio(default_members(options.workers), stop) as portfolio:
            return _route_parts_serially(
                ctx, parts, strategy, deadline, stop, options, portfolio, report
            )
    if workers > 1:
        with SpawnPool(workers, stop, log_level=LOG.getEffectiveLevel()) as pool:
            results = _route_parts_in_pool(
                ctx, parts, strategy, deadline, stop, pool, options, report
            )
        return [
            trip
            for part, result in zip(parts, results, strict=True)
            for trip in _trips_from_result(ctx, part, result)
        ]
    return _route_parts_serially(ctx, parts, strategy, deadline, stop, options, None, report)


def _out_of_time(deadline: float, stop: threading.Event | None, now: float) -> bool:
    """Whether a part must be routed without search: stopped, or no search time left."""
    return (stop is not None and stop.is_set()) or now >= deadline


def _constructed(
    ctx: _Context, part: _Part, problem: RoutingProblem | None = None
) -> RoutingResult:
    """Trips for a part without search (:func:`optimizer.construct.nearest_neighbour`)."""
    ctx.constructed_parts += 1
    return nearest_neighbour(problem or _routing_problem(ctx, part))


def _or_constructed(
    ctx: _Context, part: _Part, problem: RoutingProblem, result: RoutingResult
) -> RoutingResult:
    # A search stopped by its deadline before its first solution routes nothing; constructed
    # trips are far better than one trip per chunk.
    if result.trips or not result.dropped:
        return result
    LOG.info("%s: no solution in time; trips by construction", part.label)
    return _constructed(ctx, part, problem)


def _route_parts_serially(
    ctx: _Context,
    parts: list[_Part],
    strategy: Strategy,
    deadline: float,
    stop: threading.Event | None,
    options: PlannerOptions,
    portfolio: Portfolio | None,
    report: _ProgressReport,
) -> list[_Trip]:
    trips: list[_Trip] = []
    total_chunks = sum(len(p.chunks) for p in parts)
    remaining_chunks = total_chunks
    for number, part in enumerate(parts, 1):
        now = time.monotonic()
        done_share = 1.0 - remaining_chunks / max(1, total_chunks)
        message = f"routing part {number}/{len(parts)}: {part.label}"
        problem = _routing_problem(ctx, part)
        if _out_of_time(deadline, stop, now):
            # Stopped or out of time: trips by construction, in milliseconds, so that the
            # plan still covers every part and ends within its time limit.
            report(done_share, message)
            result = _constructed(ctx, part, problem)
        else:
            budget_s = share_of_time_s(
                deadline - now, len(part.chunks), remaining_chunks, 1, options.min_part_time_s
            )
            settings = _search_settings(ctx, min(deadline, now + budget_s), interrupted=False)
            LOG.info(
                "routing part %d/%d: %s, %d chunks, %.1f s",
                number,
                len(parts),
                part.label,
                len(part.chunks),
                budget_s,
            )
            report(done_share, message)

            def improved(
                _when: float, cost: int, message: str = message, share: float = done_share
            ) -> None:
                report(share, f"{message}, best cost {cost:,}")

            result = solve(
                problem, strategy, settings, stop, part.label, improved, portfolio=portfolio
            )
            result = _or_constructed(ctx, part, problem, result)
        trips.extend(_trips_from_result(ctx, part, result))
        remaining_chunks -= len(part.chunks)
    return trips


def _search_settings(ctx: _Context, deadline: float, interrupted: bool) -> SearchSettings:
    solver = ctx.scenario.solver
    # The strategy's engine and heuristics are applied by engines.solve, not here.
    return SearchSettings(
        deadline=deadline,
        # A part that starts after a stop request gets a first solution only.
        solution_limit=1 if interrupted else solver.solution_limit,
        seed=solver.seed,
    )


def _route_parts_in_pool(
    ctx: _Context,
    parts: list[_Part],
    strategy: Strategy,
    deadline: float,
    stop: threading.Event | None,
    pool: Executor,
    options: PlannerOptions,
    report: _ProgressReport,
) -> list[RoutingResult]:
    """Route parts on an open executor, ``pool.workers`` at once; results come back in part order.

    Parts go to the pool one at a time as workers free up, biggest first so the pool ends
    evenly, and each part's problem is built only then: memory holds ``workers`` problems, not
    all of them. Each part gets ``workers`` x its share of the time left, capped by the plan's
    deadline (:func:`optimizer.executors.share_of_time_s`). Once stopped or out of time, the
    parts left are routed here by construction. The executor relays ``stop`` to the searches.
    """
    workers = pool.workers
    order = sorted(range(len(parts)), key=lambda i: (-len(parts[i].chunks), i))
    waiting_chunks = sum(len(p.chunks) for p in parts)
    results: dict[int, RoutingResult] = {}
    problems: dict[int, RoutingProblem] = {}

    def finished(i: int, result: RoutingResult) -> None:
        results[i] = result
        report(
            len(results) / len(parts), f"routed part {len(results)}/{len(parts)}: {parts[i].label}"
        )
        LOG.info(
            "routed part %d/%d: %s (%d solutions)",
            len(results),
            len(parts),
            parts[i].label,
            result.solutions,
        )

    futures: dict[Future[RoutingResult], int] = {}
    queue = list(order)
    while queue or futures:
        while queue and len(futures) < workers:
            i = queue.pop(0)
            part = parts[i]
            now = time.monotonic()
            problem = _routing_problem(ctx, part)
            if _out_of_time(deadline, stop, now):
                finished(i, _constructed(ctx, part, problem))
                waiting_chunks -= len(part.chunks)
                continue
            budget_s = share_of_time_s(
                deadline - now, len(part.chunks), waiting_chunks, workers, options.min_part_time_s
            )
            waiting_chunks -= len(part.chunks)
            settings = _search_settings(ctx, deadline, interrupted=False)
            LOG.info(
                "routing part %s in a worker: %d chunks, up to %.1f s",
                part.label,
                len(part.chunks),
                budget_s,
            )
            problems[i] = problem
            futures[
                pool.submit(_solve_in_worker, problem, strategy, settings, budget_s, part.label)
            ] = i
        if not futures:
            continue
        for future in pool.wait_any(futures, timeout_s=0.5):
            i = futures.pop(future)
            problem = problems.pop(i)
            finished(i, _or_constructed(ctx, parts[i], problem, future.result()))
    return [results[i] for i in range(len(parts))]


def _solve_in_worker(
    problem: RoutingProblem,
    strategy: Strategy,
    settings: SearchSettings,
    budget_s: float,
    label: str,
) -> RoutingResult:
    # The part's clock starts when a worker takes it, not when it was queued.
    settings, stop = worker_search(settings, budget_s)
    return solve(problem, strategy, settings, stop, label)


def _trips_from_result(ctx: _Context, part: _Part, result: RoutingResult) -> list[_Trip]:
    trips: list[_Trip] = []
    for group, nodes in result.trips:
        merged: dict[tuple[int, str, int], int] = {}
        for node in nodes:
            chunk = part.chunks[node - 1]
            key = (chunk.point, chunk.tranche, chunk.extra)
            merged[key] = merged.get(key, 0) + chunk.sacks
        trips.append(
            _Trip(
                part.warehouse,
                part.tranche,
                [(p, t, s, e) for (p, t, e), s in merged.items()],
                access=part.group_access[group] if part.group_access else 0,
            )
        )
    # Chunks the search could not place get a trip of their own: if that trip is feasible,
    # the packer may still find it a truck.
    for node in result.dropped:
        chunk = part.chunks[node - 1]
        trips.append(
            _Trip(
                part.warehouse,
                part.tranche,
                [(chunk.point, chunk.tranche, chunk.sacks, chunk.extra)],
                access=_lone_trip_access(ctx, part.warehouse, chunk),
            )
        )
    return trips


def _lone_trip_access(ctx: _Context, wh: int, chunk: _Delivery) -> int:
    """Return the access class of a one-chunk trip: the largest truck's that reaches it.

    Trucks that carry the chunk first, then the largest of the rest; ties to the first class.
    """
    if len(ctx.travel.access) == 1:
        return 0
    mask = ctx.access_mask(wh, chunk.point)
    candidates = [
        (int(t.capacity_kg // ctx.sack_kg) >= chunk.sacks, t.capacity_kg, -ctx.truck_access[t.id])
        for t in ctx.trucks_at[wh]
        if mask >> ctx.truck_access[t.id] & 1
    ]
    return -max(candidates)[2] if candidates else 0


# --- 4. scheduling ----------------------------------------------------------------------------


def _time_model(ctx: _Context, trip: _Trip) -> None:
    wh = trip.warehouse
    places = np.array([wh] + [ctx.n_wh + stop[0] for stop in trip.stops] + [wh], dtype=np.int64)
    # Leg k runs from place k to place k+1: the diagonal of the matrix between the two lists,
    # on the roads of the trip's access class.
    km, secs = ctx.travel.km_s(places[:-1], places[1:], trip.access)
    legs_km = km.diagonal()
    legs_s = secs.diagonal()
    trip.distance_km = float(np.sum(legs_km))
    trip.travel_back_s = int(legs_s[-1])
    trip.timed = [
        TimedStop(
            travel_in_s=int(legs_s[k]),
            service_s=ctx.service_s(p, sacks),
            open_s=ctx.point_open_s(p),
            close_s=ctx.point_close_s(p),
        )
        for k, (p, _, sacks, _) in enumerate(trip.stops)
    ]


def _pack_warehouse(
    ctx: _Context, wh: int, trips: list[_Trip]
) -> tuple[list[tuple[_Trip, PackedTrip]], list[tuple[_Trip, TripToPack]]]:
    """Pack one warehouse's trips onto its truck-days: (placed, unplaced)."""
    loading_s = ctx.scenario.service.loading_s
    trucks = ctx.trucks_at[wh]
    shifts = sorted({(t.shift_start_s, t.shift_end_s) for t in trucks})
    if ctx.closed:
        trips = _split_closed(ctx, trips)
    to_pack: list[TripToPack] = []
    for key, trip in enumerate(trips):
        if not trip.timed:
            _time_model(ctx, trip)
        windows = {
            shift: trip_window(trip.timed, trip.travel_back_s, shift[0] + loading_s, shift[1])
            for shift in shifts
        }
        load = sum(stop[2] for stop in trip.stops)
        families = sum(s * ctx.sack_kg / ctx.tranches[t].kg_per_kpm for _, t, s, _ in trip.stops)
        days = ctx.days[trip.tranche]
        move_cost: tuple[float, ...] = ()
        if ctx.residual is not None:
            days = _trip_days(ctx, trip)
            move_cost = _move_cost(ctx, trip, days)
        # The trip's length when it leaves as early as it may (no wait for a point's opening
        # that a later departure would avoid); without a feasible window, its length from
        # the earliest loading.
        starts = [w[0] for w in windows.values() if w is not None] or [
            min(start for start, _ in shifts) + loading_s
        ]
        duration = min(
            time_trip(trip.timed, trip.travel_back_s, start).return_s - start for start in starts
        )
        to_pack.append(
            TripToPack(
                key=key,
                load_sacks=load,
                days=days,
                families=families,
                duration_s=duration,
                windows=windows,
                stops=tuple(trip.timed),
                travel_back_s=trip.travel_back_s,
                access=trip.access,
                move_cost=move_cost,
            )
        )
    residual = ctx.residual
    shift_list = [
        TruckShift(
            truck_id=t.id,
            capacity_sacks=int(t.capacity_kg // ctx.sack_kg),
            shift_start_s=t.shift_start_s,
            shift_end_s=t.shift_end_s,
            max_trips=t.max_trips_per_day,
            cost_per_day=t.cost_per_day,
            access=ctx.truck_access[t.id],
            off_days=frozenset(residual.truck_off.get(t.id, ())) if residual else frozenset(),
            busy=ctx.busy.get(t.id, {}),
        )
        for t in sorted(trucks, key=lambda t: (-t.capacity_kg, t.id))
    ]
    placed, unplaced = pack_trips(
        to_pack, shift_list, loading_s, ctx.scenario.objective.wait_cost_per_kpm_day
    )
    return (
        [(trips[packed.key], packed) for packed in placed],
        [(trips[item.key], item) for item in unplaced],
    )


def _split_closed(ctx: _Context, trips: list[_Trip]) -> list[_Trip]:
    """Split each trip whose stops' closed days leave it no day into trips of one stop.

    Routing does not see closed days: it may put a point closed until the deadline on a trip
    with points that are open. Alone, the open points find their days again, and the closed
    one is reported for what it is.
    """
    out: list[_Trip] = []
    for trip in trips:
        if len(trip.stops) > 1 and not _trip_days(ctx, trip):
            out.extend(
                _Trip(trip.warehouse, trip.tranche, [stop], access=trip.access)
                for stop in trip.stops
            )
        else:
            out.append(trip)
    return out


def _open_days(ctx: _Context, trip: _Trip) -> tuple[date, ...]:
    """Return the days a trip's stops may be served in a re-plan, closed days aside."""
    extras = {e for _, _, _, e in trip.stops if e >= 0}
    rations = any(e < 0 for _, _, _, e in trip.stops)
    days = ctx.days[trip.tranche] if rations or not extras else ctx.extra_days[min(extras)]
    if extras:
        last = min(ctx.extra_days[e][-1] for e in extras)
        days = tuple(d for d in days if d <= last)
    return days


def _trip_days(ctx: _Context, trip: _Trip) -> tuple[date, ...]:
    """Return the days a trip may run in a re-plan: its stops' days, none closed at a stop."""
    days = _open_days(ctx, trip)
    closed = [ctx.closed[p] for p, _, _, _ in trip.stops if p in ctx.closed]
    if closed:
        shut = frozenset().union(*closed)
        days = tuple(d for d in days if d not in shut)
    return days


def _move_cost(ctx: _Context, trip: _Trip, days: tuple[date, ...]) -> tuple[float, ...]:
    """Return the cost of running a trip on each of its days, for announced deliveries moved.

    Per family and working day between the day and the day its delivery was announced.
    """
    residual = ctx.residual
    if residual is None or not days or residual.move_cost_per_kpm_day <= 0:
        return ()
    announced: list[int] = []
    weights: list[float] = []
    for p, t, sacks, extra in trip.stops:
        day = residual.announced.get((ctx.points[p].id, t)) if extra < 0 else None
        if day is not None:
            announced.append(bisect.bisect_left(ctx.workdays, day))
            weights.append(sacks / ctx.ration_sacks[t])
    if not announced:
        return ()
    ranks = np.array([bisect.bisect_left(ctx.workdays, d) for d in days], dtype=np.float64)
    moved = np.abs(ranks[None, :] - np.array(announced, dtype=np.float64)[:, None])
    cost = residual.move_cost_per_kpm_day * (np.array(weights) @ moved)
    return tuple(float(c) for c in cost)


def _with_pickups(extras: list[ExtraDelivery], routes: list[Route]) -> list[Route]:
    """Mark replacement stops and spread each replacement's pickup over its stops, by date.

    A stop takes back at most its own kg, so the load on board never grows along a trip.
    """
    left = [extra.pickup_kg for extra in extras]
    out: list[Route] = []
    for route in routes:
        stops = []
        for stop in route.stops:
            if stop.kind.startswith("extra:"):
                e = int(stop.kind.removeprefix("extra:"))
                pickup = min(left[e], stop.kg)
                left[e] -= pickup
                stop = replace(stop, kind=extras[e].kind, pickup_kg=round(pickup, 6))
            stops.append(stop)
        out.append(replace(route, stops=tuple(stops)))
    return out


def _route(ctx: _Context, trip: _Trip, packed: PackedTrip) -> Route:
    timing = time_trip(trip.timed, trip.travel_back_s, packed.depart_s)
    midnight = datetime.combine(packed.day, datetime.min.time())
    stops = tuple(
        Stop(
            drop_point=ctx.points[p].id,
            tranche=t,
            kg=sacks * ctx.sack_kg,
            sacks=sacks,
            arrive=midnight + timedelta(seconds=arrive),
            depart=midnight + timedelta(seconds=leave),
            # Replacement stops get their kind and pickup once every route is known.
            kind=f"extra:{extra}" if extra >= 0 else "delivery",
        )
        for (p, t, sacks, extra), arrive, leave in zip(
            trip.stops, timing.arrive_s, timing.leave_s, strict=True
        )
    )
    return Route(
        truck=packed.truck_id,
        warehouse=ctx.warehouses[trip.warehouse].id,
        date=packed.day,
        trip=packed.trip_number,
        depart=midnight + timedelta(seconds=timing.depart_s),
        return_=midnight + timedelta(seconds=timing.return_s),
        distance_km=trip.distance_km,
        load_kg=sum(s.kg for s in stops),
        stops=stops,
    )


def _unplaced_failures(
    ctx: _Context, trip: _Trip, item: TripToPack
) -> list[tuple[tuple[int, str, int, int], ReasonCode, ReasonFacts]]:
    """Why each stop of a trip that found no truck-day is not delivered from its warehouse."""
    wh = ctx.warehouses[trip.warehouse]
    days = item.days
    feasible = [w for w in item.windows.values() if w is not None]
    if not feasible:
        # The trip fits no shift at all (its stops' windows clash): report each stop's window.
        return [
            (
                stop,
                ReasonCode.TIME_WINDOW,
                ReasonFacts(
                    warehouses=(wh.id,),
                    open_s=ctx.point_open_s(stop[0]),
                    close_s=ctx.point_close_s(stop[0]),
                ),
            )
            for stop in trip.stops
        ]
    deadline = min(ctx.deadline(t, e) for _, t, _, e in trip.stops)
    if not days:
        # A re-plan's closed days or a replacement's due day left the trip no day at all.
        start = ctx.residual.start_date if ctx.residual is not None else ctx.scenario.start_date
        facts = ReasonFacts(first_day=start, deadline=deadline, start_date=start)
        code = ReasonCode.DEADLINE
        if any(stop[0] in ctx.closed for stop in trip.stops) and _open_days(ctx, trip):
            # Working days were left; the point is closed on every one of them.
            code = ReasonCode.CLOSED
        return [(stop, code, facts) for stop in trip.stops]
    facts = ReasonFacts(
        warehouses=(wh.id,),
        trucks=len(ctx.trucks_at[trip.warehouse]),
        trip_h=round(item.duration_s / 3600, 2),
        trip_kg=item.load_sacks * ctx.sack_kg,
        working_days=len(days),
        first_day=days[0],
        deadline=deadline,
    )
    return [(stop, ReasonCode.FLEET_TIME, facts) for stop in trip.stops]


def _unassigned_list(ctx: _Context) -> list[Unassigned]:
    items: list[Unassigned] = []
    for (p, t, extra), entries in sorted(
        ctx.unassigned.items(), key=lambda kv: (ctx.points[kv[0][0]].id, kv[0][1], kv[0][2])
    ):
        sacks = sum(e[0] for e in entries)
        # One entry per (point, tranche): the reason of the largest share is the one reported.
        main = max(entries, key=lambda e: e[0])
        items.append(
            Unassigned(
                drop_point=ctx.points[p].id,
                tranche=t,
                kg=sacks * ctx.sack_kg,
                sacks=sacks,
                reason_code=main[1],
                reason=english_reason(main[1], main[2], ctx.points[p].id, t),
                facts=main[2],
                kind="delivery" if extra < 0 else "replacement",
            )
        )
    return items
