"""National plans warehouse by warehouse: pieces, their sub-scenarios, and the merge.

Once drop points are assigned to warehouses (:mod:`optimizer.flow_assign`, a family to one
warehouse for every tranche), each warehouse's problem is independent. A *piece* is the unit of
work a worker plans: one warehouse, by default with all its tranches and points.

* **By tranche**, only when the tranches' windows ``[release, deadline]`` are pairwise disjoint:
  then no truck-day can serve two tranches, so each tranche is planned apart with every truck.
* **By sector**, when a warehouse has more than ``max_piece_points`` points: its kecamatan are
  kept whole and grouped by angle around the warehouse (a kecamatan larger than a piece is cut
  by angle), and each sector gets a disjoint share of the warehouse's trucks (by families, at
  least one each) and the stock its families need.

So every piece is an ordinary :class:`~optimizer.model.Scenario` with one warehouse, planned by
the unchanged :func:`optimizer.planner.plan_scenario`, and the pieces of a warehouse merge into
a feasible plan by construction: disjoint trucks or disjoint days, each piece's stock its own.
Pieces run longest first (:attr:`Piece.work`: deliveries, then families).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from optimizer.model import DropPoint, Scenario, Truck
from optimizer.solution import Plan, PlanStatus, SolverRun, compute_kpis

DEFAULT_MAX_PIECE_POINTS = 1500
"""A warehouse with more drop points than this is split into sectors (about 9 minutes of
search on 2 cores for 4,000 points: pieces of 1,500 keep a piece within a few minutes)."""

MIN_PIECE_TIME_S = 10.0
"""No piece gets less search time by default: below it, start-up and construction dominate."""


class ShareLike(Protocol):
    """Families of one drop point assigned to one warehouse (``flow_assign.Share``)."""

    @property
    def drop_point(self) -> str:
        """The drop point's id."""
        ...

    @property
    def warehouse(self) -> str:
        """The warehouse's id."""
        ...

    @property
    def families(self) -> int:
        """Families of the point served from the warehouse."""
        ...


@dataclass(frozen=True, slots=True)
class Piece:
    """One warehouse's work (or a sector or tranche of it) that one worker plans.

    Attributes
    ----------
    id
        ``warehouse``, then ``:s<sector>`` when the warehouse is split into sectors, then
        ``:<tranche>`` when it is split by tranche.
    warehouse
        The warehouse id.
    tranches
        Tranche ids planned, in scenario order.
    sector
        1-based sector number, 0 when the warehouse is not split into sectors.
    points
        ``(drop point id, families)`` assigned to this piece, in scenario order.
    trucks
        Ids of the trucks the piece may use (disjoint between sectors).
    stock_kg
        Rice the piece may load: its families x the kg of its tranches.
    """

    id: str
    warehouse: str
    tranches: tuple[str, ...]
    sector: int
    points: tuple[tuple[str, int], ...]
    trucks: tuple[str, ...]
    stock_kg: float

    @property
    def families(self) -> int:
        """Families served by the piece."""
        return sum(families for _, families in self.points)

    @property
    def work(self) -> int:
        """Estimated work: deliveries (points x tranches)."""
        return len(self.points) * len(self.tranches)

    def to_dict(self) -> dict[str, Any]:
        """Return the piece as ``run.json`` lists it (points as a count and a digest)."""
        return {
            "id": self.id,
            "warehouse": self.warehouse,
            "tranches": list(self.tranches),
            "sector": self.sector,
            "points": len(self.points),
            "families": self.families,
            "trucks": list(self.trucks),
            "stock_kg": round(self.stock_kg, 6),
            "work": self.work,
            "points_sha256": points_digest(self.points),
        }


def points_digest(points: Iterable[tuple[str, int]]) -> str:
    """SHA-256 of a piece's ``(point, families)`` list, to tell a resumed run's pieces apart."""
    digest = hashlib.sha256()
    for point, families in points:
        digest.update(f"{point}\t{families}\n".encode())
    return digest.hexdigest()


def tranches_disjoint(scenario: Scenario) -> bool:
    """Whether the tranches' windows ``[release, deadline]`` are pairwise disjoint."""
    windows = sorted((t.release, t.deadline) for t in scenario.tranches)
    return all(earlier[1] < later[0] for earlier, later in itertools.pairwise(windows))


def make_pieces(
    scenario: Scenario,
    shares: Iterable[ShareLike],
    *,
    max_piece_points: int = DEFAULT_MAX_PIECE_POINTS,
) -> tuple[Piece, ...]:
    """Cut the assigned work into pieces, longest first.

    Parameters
    ----------
    scenario
        The national scenario.
    shares
        Families of each drop point per warehouse (a point may be split between warehouses in
        whole families); shares of zero families are ignored.
    max_piece_points
        A warehouse with more points is split into sectors of whole kecamatan.

    Returns
    -------
    tuple[Piece, ...]
        Longest first (work, then families), ties by id: deterministic.

    Raises
    ------
    ValueError
        If ``max_piece_points`` is below 1, or a share names an unknown point or warehouse.
    """
    if max_piece_points < 1:
        raise ValueError(f"max_piece_points must be at least 1, got {max_piece_points}")
    order = {p.id: i for i, p in enumerate(scenario.drop_points)}
    warehouse_ids = {w.id for w in scenario.warehouses}
    by_warehouse: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for share in shares:
        if share.families <= 0:
            continue
        if share.drop_point not in order:
            raise ValueError(f"share of unknown drop point {share.drop_point!r}")
        if share.warehouse not in warehouse_ids:
            raise ValueError(f"share of unknown warehouse {share.warehouse!r}")
        by_warehouse[share.warehouse][share.drop_point] += share.families
    trucks_at: dict[str, list[Truck]] = defaultdict(list)
    for truck in scenario.trucks:
        trucks_at[truck.warehouse_id].append(truck)
    split_tranches = tranches_disjoint(scenario) and len(scenario.tranches) > 1
    pieces: list[Piece] = []
    for wh_id in sorted(by_warehouse):
        points = sorted(by_warehouse[wh_id].items(), key=lambda item: order[item[0]])
        sectors = _sectors(scenario, wh_id, points, max_piece_points, len(trucks_at[wh_id]))
        truck_sets = _share_trucks(trucks_at[wh_id], [_families(s) for s in sectors])
        for number, (sector, trucks) in enumerate(zip(sectors, truck_sets, strict=True), 1):
            sector_no = number if len(sectors) > 1 else 0
            groups = [(t.id,) for t in scenario.tranches] if split_tranches else [()]
            for group in groups:
                tranche_ids = group or tuple(t.id for t in scenario.tranches)
                kg_per_family = sum(scenario.tranche(t).kg_per_kpm for t in tranche_ids)
                piece_id = wh_id + (f":s{sector_no}" if sector_no else "")
                piece_id += f":{group[0]}" if group else ""
                pieces.append(
                    Piece(
                        id=piece_id,
                        warehouse=wh_id,
                        tranches=tranche_ids,
                        sector=sector_no,
                        points=tuple(sector),
                        trucks=tuple(t.id for t in trucks),
                        stock_kg=_families(sector) * kg_per_family,
                    )
                )
    if len({p.id for p in pieces}) != len(pieces):
        raise ValueError("piece ids clash: a warehouse id looks like another's piece id")
    pieces.sort(key=lambda p: (-p.work, -p.families, p.id))
    return tuple(pieces)


def _families(points: Sequence[tuple[str, int]]) -> int:
    return sum(families for _, families in points)


def _angle(scenario: Scenario, wh_id: str, point: DropPoint) -> float:
    warehouse = scenario.warehouse(wh_id)
    dx = (point.lon - warehouse.lon) * math.cos(math.radians(warehouse.lat))
    return math.atan2(point.lat - warehouse.lat, dx)


def _sectors(
    scenario: Scenario,
    wh_id: str,
    points: list[tuple[str, int]],
    max_points: int,
    n_trucks: int,
) -> list[list[tuple[str, int]]]:
    """Group a warehouse's points into sectors of whole kecamatan, by angle around it."""
    if len(points) <= max_points or n_trucks <= 1:
        return [points]
    angle = {pid: _angle(scenario, wh_id, scenario.drop_point(pid)) for pid, _ in points}
    by_kecamatan: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for item in points:
        by_kecamatan[scenario.drop_point(item[0]).kecamatan].append(item)
    units: list[tuple[float, list[tuple[str, int]]]] = []
    for name in sorted(by_kecamatan):
        members = sorted(by_kecamatan[name], key=lambda item: (angle[item[0]], item[0]))
        cuts = math.ceil(len(members) / max_points)
        size = math.ceil(len(members) / cuts)
        for start in range(0, len(members), size):
            unit = members[start : start + size]
            units.append((_mean_angle([angle[pid] for pid, _ in unit]), unit))
    units.sort(key=lambda unit: (unit[0], unit[1][0][0]))
    wanted = math.ceil(len(points) / max_points)
    target = len(points) / wanted
    sectors: list[list[tuple[str, int]]] = [[]]
    for _, unit in units:
        current = sectors[-1]
        if current and (len(current) >= target or len(current) + len(unit) > max_points):
            sectors.append([])
        sectors[-1].extend(unit)
    # Every sector needs a truck of its own: merge the smallest neighbours while there are
    # more sectors than trucks.
    while len(sectors) > n_trucks:
        sizes = [len(a) + len(b) for a, b in itertools.pairwise(sectors)]
        i = sizes.index(min(sizes))
        sectors[i : i + 2] = [sectors[i] + sectors[i + 1]]
    order = {p.id: i for i, p in enumerate(scenario.drop_points)}
    return [sorted(s, key=lambda item: order[item[0]]) for s in sectors]


def _mean_angle(angles: Sequence[float]) -> float:
    return math.atan2(sum(map(math.sin, angles)), sum(map(math.cos, angles)))


def _share_trucks(trucks: Sequence[Truck], families: Sequence[int]) -> list[list[Truck]]:
    """Deal trucks to sectors by families (largest remainder), at least one each if any."""
    n = len(families)
    if n == 1:
        return [list(trucks)]
    total = max(1, sum(families))
    spare = len(trucks) - n
    quotas = [spare * f / total for f in families]
    counts = [1 + math.floor(q) for q in quotas]
    by_remainder = sorted(range(n), key=lambda i: (-(quotas[i] - math.floor(quotas[i])), i))
    for i in by_remainder[: len(trucks) - sum(counts)]:
        counts[i] += 1
    # Big trucks dealt round-robin so that each sector gets a mix of the fleet's types.
    ordered = sorted(trucks, key=lambda t: (-t.capacity_kg, t.id))
    dealt: list[list[Truck]] = [[] for _ in range(n)]
    turn = 0
    for truck in ordered:
        while len(dealt[turn % n]) >= counts[turn % n]:
            turn += 1
        dealt[turn % n].append(truck)
        turn += 1
    return [sorted(d, key=lambda t: t.id) for d in dealt]


def piece_time_limit_s(scenario: Scenario, piece: Piece, time_limit_s: float | None) -> float:
    """Search seconds of a piece.

    ``time_limit_s`` when given; otherwise the scenario's limit scaled by the piece's share of
    the scenario's points, at least :data:`MIN_PIECE_TIME_S`, at most the scenario's limit.
    """
    if time_limit_s is not None:
        return time_limit_s
    limit = scenario.solver.time_limit_s
    share = len(piece.points) / max(1, len(scenario.drop_points))
    return min(limit, max(MIN_PIECE_TIME_S, limit * share))


def piece_scenario(scenario: Scenario, piece: Piece, *, time_limit_s: float) -> Scenario:
    """Return the ordinary one-warehouse scenario of a piece.

    Its points carry the piece's families, its warehouse the piece's stock, its fleet the
    piece's trucks, its tranches the piece's; every setting (calendar, travel, service,
    objective, solver but the time limit) is the national scenario's.
    """
    return _sub_scenario(
        scenario,
        name=f"{scenario.name}:{piece.id}",
        warehouse=piece.warehouse,
        points=piece.points,
        trucks=piece.trucks,
        tranches=piece.tranches,
        stock_kg=piece.stock_kg,
        time_limit_s=time_limit_s,
    )


def warehouse_scenario(scenario: Scenario, pieces: Sequence[Piece]) -> Scenario:
    """Return the one-warehouse scenario of a warehouse's pieces (its plan folder's scenario).

    Raises
    ------
    ValueError
        If ``pieces`` is empty or spans several warehouses.
    """
    warehouses = {p.warehouse for p in pieces}
    if len(warehouses) != 1:
        raise ValueError(f"pieces of one warehouse expected, got {sorted(warehouses)}")
    points: dict[str, int] = {}
    for piece in pieces:
        for point, families in piece.points:
            points[point] = families
    order = {p.id: i for i, p in enumerate(scenario.drop_points)}
    trucks = sorted({t for p in pieces for t in p.trucks})
    wanted = {t for p in pieces for t in p.tranches}
    return _sub_scenario(
        scenario,
        name=f"{scenario.name}:{pieces[0].warehouse}",
        warehouse=pieces[0].warehouse,
        points=sorted(points.items(), key=lambda item: order[item[0]]),
        trucks=trucks,
        tranches=tuple(t.id for t in scenario.tranches if t.id in wanted),
        stock_kg=sum(p.stock_kg for p in pieces),
        time_limit_s=scenario.solver.time_limit_s,
    )


def _sub_scenario(
    scenario: Scenario,
    *,
    name: str,
    warehouse: str,
    points: Iterable[tuple[str, int]],
    trucks: Iterable[str],
    tranches: Iterable[str],
    stock_kg: float,
    time_limit_s: float,
) -> Scenario:
    drop_points = tuple(replace(scenario.drop_point(pid), kpm=families) for pid, families in points)
    named = {p.facilitator for p in drop_points if p.facilitator is not None}
    return replace(
        scenario,
        name=name,
        warehouses=(replace(scenario.warehouse(warehouse), stock_kg=stock_kg),),
        trucks=tuple(scenario.truck(t) for t in trucks),
        drop_points=drop_points,
        tranches=tuple(scenario.tranche(t) for t in tranches),
        solver=replace(scenario.solver, time_limit_s=time_limit_s),
        facilitators=tuple(f for f in scenario.facilitators if f.id in named),
        # Side files live in the national scenario's folder; a warehouse folder's scenario
        # copy stands alone without them.
        boundaries_file=None,
        roster_file=None,
    )


def merge_plans(scenario: Scenario, plans: Sequence[Plan]) -> Plan:
    """Merge the plans of a warehouse's pieces into the plan of its sub-scenario.

    Feasible by construction (disjoint trucks or days, each piece's own stock); the KPIs are
    recomputed on ``scenario`` (:func:`warehouse_scenario`).

    Raises
    ------
    ValueError
        If ``plans`` is empty.
    """
    if not plans:
        raise ValueError("no plan to merge")
    routes = sorted(
        (r for plan in plans for r in plan.routes),
        key=lambda r: (r.date, r.warehouse, r.truck, r.trip),
    )
    unassigned = sorted(
        (u for plan in plans for u in plan.unassigned),
        key=lambda u: (u.drop_point, u.tranche, u.kind),
    )
    runs = [p.solver for p in plans if p.solver is not None]
    solver = (
        SolverRun(
            time_limit_s=max(r.time_limit_s for r in runs),
            solution_limit=runs[0].solution_limit,
            routing_parts=sum(r.routing_parts for r in runs),
            constructed_parts=sum(r.constructed_parts for r in runs),
            stock_rounds=max(r.stock_rounds for r in runs),
        )
        if runs
        else None
    )
    snaps = [p.snap_m for p in plans if p.snap_m is not None]
    snap_m: Mapping[str, float | None] | None = None
    if snaps:
        snap_m = {k: v for snap in snaps for k, v in snap.items()}
    interrupted = any(p.status == PlanStatus.INTERRUPTED for p in plans)
    return Plan(
        scenario_name=scenario.name,
        routes=tuple(routes),
        unassigned=tuple(unassigned),
        kpis=compute_kpis(scenario, routes, unassigned),
        strategy=plans[0].strategy,
        seed=plans[0].seed,
        status=PlanStatus.INTERRUPTED if interrupted else PlanStatus.COMPLETE,
        timezone=plans[0].timezone,
        solver=solver,
        snap_m=snap_m,
    )
