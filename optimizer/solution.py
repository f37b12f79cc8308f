"""The plan: routes (one per truck trip), unassigned deliveries with reasons, and KPIs.

This module also defines ``plan.json``, the output contract (see ``docs/plan-format.md``):
:func:`plan_to_dict` writes it and :func:`plan_from_dict` reads it back. Times are naive local
date-times of the scenario's timezone, formatted ``YYYY-MM-DDTHH:MM:SS``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from optimizer.model import Scenario
from optimizer.reasons import ReasonCode, ReasonFacts, facts_from_dict, facts_to_dict

__all__ = [
    "PLAN_FORMAT_VERSION",
    "TIME_FORMAT",
    "Kpis",
    "Plan",
    "PlanStatus",
    "ReasonCode",
    "ReasonFacts",
    "Route",
    "SolverRun",
    "Stop",
    "Unassigned",
    "compute_kpis",
    "delivered_kg",
    "plan_from_dict",
    "plan_to_dict",
]

PLAN_FORMAT_VERSION = 1
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True, slots=True)
class Stop:
    """One (drop point, tranche) delivery within a trip, in visiting order."""

    drop_point: str
    tranche: str
    kg: float
    sacks: int
    arrive: datetime
    depart: datetime
    kind: str = "delivery"
    """``delivery`` (families' rations) or ``replacement`` (rice replacing rejected kg)."""
    pickup_kg: float = 0.0
    """Rejected rice taken back on board at this stop (never more than ``kg``)."""


@dataclass(frozen=True, slots=True)
class Route:
    """One trip of one truck: load at the warehouse, visit stops, come back."""

    truck: str
    warehouse: str
    date: date
    trip: int
    depart: datetime
    return_: datetime
    distance_km: float
    load_kg: float
    stops: tuple[Stop, ...]
    status: str = "planned"
    """``planned``; in a re-plan also ``done`` (dated before its day) or ``frozen`` (kept)."""


@dataclass(frozen=True, slots=True)
class Unassigned:
    """Demand of one (drop point, tranche) that the plan does not deliver, and why."""

    drop_point: str
    tranche: str
    kg: float
    sacks: int
    reason_code: ReasonCode
    reason: str
    facts: ReasonFacts = field(default_factory=ReasonFacts)
    """The figures behind ``reason``, so papers and maps can say it in every language."""
    kind: str = "delivery"
    """``replacement`` for replacement rice not delivered (listed apart from the rations of
    the same point and tranche); ``plan.json`` writes it only then."""


class PlanStatus(StrEnum):
    """How the search that made a plan ended (``status`` in ``plan.json``)."""

    COMPLETE = "complete"
    """The search ran its budget."""
    INTERRUPTED = "interrupted"
    """The search was stopped early (Ctrl-C, a job's stop); the plan is the best found by then."""


def _num(value: float) -> int | float:
    """Integral floats as ints, so JSON reads ``1500`` rather than ``1500.0``."""
    if float(value).is_integer():
        return int(value)
    return round(float(value), 6)


def _kg(value: float) -> float:
    """Kilograms as ``plan.json`` holds them (6 decimals), as a float."""
    return float(_num(value))


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data[key]
    if not isinstance(value, Mapping):
        raise TypeError(f"'{key}' is {type(value).__name__}, not an object")
    return value


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text is not None else None


@dataclass(frozen=True, slots=True)
class Kpis:
    """A plan's key figures, computed once by :func:`compute_kpis` and read everywhere.

    The values are rounded as ``plan.json`` writes them (kg to 6 decimals, km to 3, money and
    family-days to 2), so a plan read back from its file has the same KPIs as the plan that
    wrote it. ``*_per_tranche`` maps hold every tranche of the scenario, in scenario order.
    The fields, in this order, are the keys of ``plan.json``'s ``kpis`` object
    (``docs/plan-format.md`` says what each one means).
    """

    families_total: int
    families_served: int
    """Families whose every tranche was delivered in full (whoever delivered it)."""
    families_served_per_tranche: Mapping[str, int]
    kg_delivered: float
    kg_delivered_per_tranche: Mapping[str, float]
    kg_unassigned: float
    kg_unassigned_per_tranche: Mapping[str, float]
    unassigned_deliveries: int
    trips: int
    truck_days: int
    distance_km: float
    cost_distance: float
    cost_truck_days: float
    cost: float
    family_wait_days: float
    objective: float
    last_delivery_date: date | None
    last_delivery_date_per_tranche: Mapping[str, date | None]

    def to_dict(self) -> dict[str, Any]:
        """Return the ``kpis`` object of ``plan.json`` (fixed key order, whole numbers as ints)."""
        return {
            "families_total": self.families_total,
            "families_served": self.families_served,
            "families_served_per_tranche": dict(self.families_served_per_tranche),
            "kg_delivered": _num(self.kg_delivered),
            "kg_delivered_per_tranche": {
                k: _num(v) for k, v in self.kg_delivered_per_tranche.items()
            },
            "kg_unassigned": _num(self.kg_unassigned),
            "kg_unassigned_per_tranche": {
                k: _num(v) for k, v in self.kg_unassigned_per_tranche.items()
            },
            "unassigned_deliveries": self.unassigned_deliveries,
            "trips": self.trips,
            "truck_days": self.truck_days,
            "distance_km": self.distance_km,
            "cost_distance": self.cost_distance,
            "cost_truck_days": self.cost_truck_days,
            "cost": self.cost,
            "family_wait_days": self.family_wait_days,
            "objective": self.objective,
            "last_delivery_date": _iso(self.last_delivery_date),
            "last_delivery_date_per_tranche": {
                k: _iso(v) for k, v in self.last_delivery_date_per_tranche.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Kpis:
        """Read the ``kpis`` object of ``plan.json``.

        Raises
        ------
        KeyError, ValueError, TypeError
            If a KPI is missing or malformed.
        """
        return cls(
            families_total=int(data["families_total"]),
            families_served=int(data["families_served"]),
            families_served_per_tranche={
                str(k): int(v) for k, v in _object(data, "families_served_per_tranche").items()
            },
            kg_delivered=float(data["kg_delivered"]),
            kg_delivered_per_tranche={
                str(k): float(v) for k, v in _object(data, "kg_delivered_per_tranche").items()
            },
            kg_unassigned=float(data["kg_unassigned"]),
            kg_unassigned_per_tranche={
                str(k): float(v) for k, v in _object(data, "kg_unassigned_per_tranche").items()
            },
            unassigned_deliveries=int(data["unassigned_deliveries"]),
            trips=int(data["trips"]),
            truck_days=int(data["truck_days"]),
            distance_km=float(data["distance_km"]),
            cost_distance=float(data["cost_distance"]),
            cost_truck_days=float(data["cost_truck_days"]),
            cost=float(data["cost"]),
            family_wait_days=float(data["family_wait_days"]),
            objective=float(data["objective"]),
            last_delivery_date=_day(data["last_delivery_date"]),
            last_delivery_date_per_tranche={
                str(k): _day(v) for k, v in _object(data, "last_delivery_date_per_tranche").items()
            },
        )


@dataclass(frozen=True, slots=True)
class SolverRun:
    """How the plan was searched: the ``solver`` object of ``plan.json`` (not checked)."""

    time_limit_s: float
    solution_limit: int | None
    routing_parts: int
    """Routing subproblems, over all stock rounds."""
    constructed_parts: int
    """Parts that got no search time and were routed by a construction heuristic."""
    stock_rounds: int
    """Rounds of offering stock again."""

    def to_dict(self) -> dict[str, Any]:
        """Return the ``solver`` object of ``plan.json`` (fixed key order)."""
        return {
            "time_limit_s": self.time_limit_s,
            "solution_limit": self.solution_limit,
            "routing_parts": self.routing_parts,
            "constructed_parts": self.constructed_parts,
            "stock_rounds": self.stock_rounds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SolverRun:
        """Read the ``solver`` object of ``plan.json``.

        Raises
        ------
        KeyError, ValueError, TypeError
            If a field is missing or malformed.
        """
        limit = data["solution_limit"]
        return cls(
            time_limit_s=float(data["time_limit_s"]),
            solution_limit=None if limit is None else int(limit),
            routing_parts=int(data["routing_parts"]),
            constructed_parts=int(data["constructed_parts"]),
            stock_rounds=int(data["stock_rounds"]),
        )


@dataclass(frozen=True)
class Plan:
    """The planner's result: trips, undelivered demand with reasons, and the KPIs of both."""

    scenario_name: str
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    kpis: Kpis
    strategy: str = "default"
    seed: int = 0
    status: PlanStatus = PlanStatus.COMPLETE
    timezone: str = "Asia/Jakarta"
    solver: SolverRun | None = None
    """How the search ran; ``None`` for a plan not made by the planner (``"solver": {}``)."""
    snap_m: Mapping[str, float | None] | None = None
    """Metres from each drop point (by id) to the road its trucks stop on, when the plan was
    made on roads; ``None`` on the straight line. A point served by trucks of one access class
    gets that class's distance (several classes: the largest); a point not served, the nearest
    road of any class the fleet has; ``None`` for a point with no usable road at all. Rounded
    to 0.1 m."""
    replan: Mapping[str, Any] | None = None
    """The ``replan`` object of ``plan.json`` for a re-plan (as of, previous plan, progress,
    cancelled trips); ``None`` for a plan made from scratch."""


def compute_kpis(
    scenario: Scenario,
    routes: Sequence[Route],
    unassigned: Sequence[Unassigned],
    *,
    drop_points: Iterable[str] | None = None,
    served_by: Iterable[Route] | None = None,
) -> Kpis:
    """Summarise a plan, or the part of it one map shows.

    Parameters
    ----------
    scenario
        The scenario the plan is for.
    routes, unassigned
        The plan's trips and undelivered demand (or the part of them summarised).
    drop_points
        Ids of the drop points whose families are counted (``families_*``); every point of
        the scenario when omitted.
    served_by
        The trips that decide whether a family is served; ``routes`` when omitted. The map of
        one warehouse passes every trip of the plan: a family is served whoever brought the
        rice.

    Returns
    -------
    Kpis
        Families, kg per tranche, distance, truck-days, cost, dates, waiting.
    """
    tranche_ids = [t.id for t in scenario.tranches]
    kg_per_tranche: dict[str, float] = dict.fromkeys(tranche_ids, 0.0)
    last_per_tranche: dict[str, date | None] = dict.fromkeys(tranche_ids, None)
    wait_kpm_days = 0.0
    distance_km = 0.0
    distance_cost = 0.0
    truck_days: set[tuple[str, date]] = set()
    day_cost = 0.0
    for route in routes:
        truck = scenario.truck(route.truck)
        distance_km += route.distance_km
        distance_cost += route.distance_km * truck.cost_per_km
        if (route.truck, route.date) not in truck_days:
            truck_days.add((route.truck, route.date))
            day_cost += truck.cost_per_day
        for stop in route.stops:
            tranche = scenario.tranche(stop.tranche)
            kg_per_tranche[stop.tranche] += stop.kg
            last = last_per_tranche[stop.tranche]
            if last is None or route.date > last:
                last_per_tranche[stop.tranche] = route.date
            families = stop.kg / tranche.kg_per_kpm if tranche.kg_per_kpm else 0.0
            wait_kpm_days += families * (route.date - tranche.release).days
    unassigned_per_tranche: dict[str, float] = dict.fromkeys(tranche_ids, 0.0)
    for item in unassigned:
        unassigned_per_tranche[item.tranche] += item.kg
    delivered = delivered_kg(routes if served_by is None else served_by)
    points = (
        scenario.drop_points
        if drop_points is None
        else tuple(scenario.drop_point(p) for p in drop_points)
    )
    served_per_tranche: dict[str, int] = dict.fromkeys(tranche_ids, 0)
    families_served = 0
    for point in points:
        complete_all = True
        for tranche in scenario.tranches:
            demand = scenario.demand_kg(point, tranche)
            if delivered.get((point.id, tranche.id), 0.0) >= demand - 1e-6:
                served_per_tranche[tranche.id] += point.kpm
            else:
                complete_all = False
        if complete_all:
            families_served += point.kpm
    dates = [d for d in last_per_tranche.values() if d is not None]
    cost = distance_cost + day_cost
    wait_cost = wait_kpm_days * scenario.objective.wait_cost_per_kpm_day
    return Kpis(
        families_total=sum(p.kpm for p in points),
        families_served=families_served,
        families_served_per_tranche=served_per_tranche,
        kg_delivered=_kg(sum(kg_per_tranche.values())),
        kg_delivered_per_tranche={k: _kg(v) for k, v in kg_per_tranche.items()},
        kg_unassigned=_kg(sum(unassigned_per_tranche.values())),
        kg_unassigned_per_tranche={k: _kg(v) for k, v in unassigned_per_tranche.items()},
        unassigned_deliveries=len(unassigned),
        trips=len(routes),
        truck_days=len(truck_days),
        distance_km=round(distance_km, 3),
        cost_distance=round(distance_cost, 2),
        cost_truck_days=round(day_cost, 2),
        cost=round(cost, 2),
        family_wait_days=round(wait_kpm_days, 2),
        objective=round(cost + wait_cost, 2),
        last_delivery_date=max(dates) if dates else None,
        last_delivery_date_per_tranche=last_per_tranche,
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """Serialise a plan to the ``plan.json`` structure (deterministic key and list order)."""
    data: dict[str, Any] = {
        "format_version": PLAN_FORMAT_VERSION,
        "scenario": plan.scenario_name,
        "timezone": plan.timezone,
        "status": str(plan.status),
        "strategy": plan.strategy,
        "seed": plan.seed,
        "solver": plan.solver.to_dict() if plan.solver is not None else {},
        "kpis": plan.kpis.to_dict(),
        "routes": [
            {
                "truck": r.truck,
                "warehouse": r.warehouse,
                "date": r.date.isoformat(),
                "trip": r.trip,
                "depart": r.depart.strftime(TIME_FORMAT),
                "return": r.return_.strftime(TIME_FORMAT),
                "distance_km": round(r.distance_km, 3),
                "load_kg": _num(r.load_kg),
                "stops": [
                    {
                        "drop_point": s.drop_point,
                        "tranche": s.tranche,
                        "kg": _num(s.kg),
                        "sacks": s.sacks,
                        "arrive": s.arrive.strftime(TIME_FORMAT),
                        "depart": s.depart.strftime(TIME_FORMAT),
                        "kind": s.kind,
                        "pickup_kg": _num(s.pickup_kg),
                    }
                    for s in r.stops
                ],
                "status": r.status,
            }
            for r in plan.routes
        ],
        "unassigned": [
            {
                "drop_point": u.drop_point,
                "tranche": u.tranche,
                "kg": _num(u.kg),
                "sacks": u.sacks,
                "reason_code": str(u.reason_code),
                "reason": u.reason,
                "reason_facts": facts_to_dict(u.facts),
                **({"kind": u.kind} if u.kind != "delivery" else {}),
            }
            for u in plan.unassigned
        ],
    }
    if plan.replan is not None:
        data["replan"] = dict(plan.replan)
    return data


def _time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT)


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    """Read a plan back from the ``plan.json`` structure.

    Raises
    ------
    KeyError, ValueError, TypeError
        If a field is missing or malformed.
    """
    routes = tuple(
        Route(
            truck=str(r["truck"]),
            warehouse=str(r["warehouse"]),
            date=date.fromisoformat(r["date"]),
            trip=int(r["trip"]),
            depart=_time(r["depart"]),
            return_=_time(r["return"]),
            distance_km=float(r["distance_km"]),
            load_kg=float(r["load_kg"]),
            stops=tuple(
                Stop(
                    drop_point=str(s["drop_point"]),
                    tranche=str(s["tranche"]),
                    kg=float(s["kg"]),
                    sacks=int(s["sacks"]),
                    arrive=_time(s["arrive"]),
                    depart=_time(s["depart"]),
                    kind=str(s.get("kind", "delivery")),
                    pickup_kg=float(s.get("pickup_kg", 0.0)),
                )
                for s in r["stops"]
            ),
            status=str(r.get("status", "planned")),
        )
        for r in data["routes"]
    )
    unassigned = tuple(
        Unassigned(
            drop_point=str(u["drop_point"]),
            tranche=str(u["tranche"]),
            kg=float(u["kg"]),
            sacks=int(u["sacks"]),
            reason_code=ReasonCode(u["reason_code"]),
            reason=str(u["reason"]),
            facts=facts_from_dict(u.get("reason_facts", {})),
            kind=str(u.get("kind", "delivery")),
        )
        for u in data["unassigned"]
    )
    return Plan(
        scenario_name=str(data.get("scenario", "")),
        routes=routes,
        unassigned=unassigned,
        kpis=Kpis.from_dict(data["kpis"]),
        strategy=str(data.get("strategy", "")),
        seed=int(data.get("seed", 0)),
        status=PlanStatus(data.get("status", PlanStatus.COMPLETE)),
        timezone=str(data.get("timezone", "Asia/Jakarta")),
        solver=SolverRun.from_dict(data["solver"]) if data.get("solver") else None,
        replan=_object(data, "replan") if data.get("replan") is not None else None,
    )


def delivered_kg(routes: Iterable[Route]) -> dict[tuple[str, str], float]:
    """Kilograms delivered per ``(drop_point, tranche)``."""
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for route in routes:
        for stop in route.stops:
            totals[(stop.drop_point, stop.tranche)] += stop.kg
    return dict(totals)
