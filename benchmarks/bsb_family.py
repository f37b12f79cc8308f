"""BSB scenarios as a benchmark family: seeded ``bsb sample`` scenarios planned with ``bsb plan``.

Scenario names are ``<geography>-<drop points>``: ``synthetic-200``, ``synthetic-1000``,
``bogor-1000`` (points placed in the real villages of Kabupaten Bogor, from
``../shared/geodata`` when it holds ``bogor_desa_32.01_centroids.csv``). Every scenario is the
sample of seed :data:`SCENARIO_SEED`; the solver seed of a task is separate.

Time limits: 30 s up to 200 drop points, 120 s above (both tranches; the planner splits the
budget over its routing parts). The hard timeout adds :data:`TIMEOUT_MARGIN_S`, because
``bsb plan`` also validates the input, runs the checker and writes the plan folder with papers.

Quality of a plan:

- ``distance_km``: sum of its trips' road km; ``ratio_to_bound``: that over
  :func:`benchmarks.metrics.radial_lower_bound_km` (for the kg it delivers);
- the share of each tranche's families (KPM) whose whole ration was delivered on trips dated no
  later than the tranche's deadline, e.g. ``"2020-09 100.0%; 2020-10 98.5%"``;
- unassigned kg; the independent checker's violations (``feasible`` when there are none).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.metrics import radial_lower_bound_km
from geodata.sample import write_sample
from geodata.scenario_io import read_scenario
from optimizer.checker import check_plan
from optimizer.model import Scenario
from optimizer.solution import Plan, plan_from_dict
from optimizer.strategies import strategy_names

LOG = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GEODATA = ROOT.parent / "shared" / "geodata"
"""Kabupaten Bogor geodata next to the repository (``/work/shared/geodata`` here)."""
BOGOR_CENTROIDS = "bogor_desa_32.01_centroids.csv"
SCENARIO_SEED = 1
TIMEOUT_MARGIN_S = 120.0
COST_CONVENTION = "road_km"
"""``cost_convention`` of BSB rows: haversine km x the scenario's circuity."""
_NAME = re.compile(r"^(synthetic|bogor)-(\d+)$")


@dataclass(frozen=True, slots=True)
class ScenarioName:
    """What a scenario name says: geography and number of drop points."""

    geography: str
    n_points: int

    def __str__(self) -> str:
        return f"{self.geography}-{self.n_points}"


def parse_name(name: str) -> ScenarioName:
    """Parse ``synthetic-200`` / ``bogor-1000``.

    Raises
    ------
    ValueError
        If the name is not ``<synthetic|bogor>-<drop points>``.
    """
    match = _NAME.match(name)
    if match is None:
        raise ValueError(
            f"BSB scenario names are synthetic-<points> or bogor-<points>, not {name!r}"
        )
    return ScenarioName(match.group(1), int(match.group(2)))


def time_limit_s(n_points: int) -> float:
    """Planning time limit of a scenario: 30 s up to 200 drop points, 120 s above."""
    return 30.0 if n_points <= 200 else 120.0


def planned_overhead_s(n_points: int) -> float:
    """Planned time of ``bsb plan`` beyond its time limit: start-up, check, plan folder, papers."""
    return 10.0 + 0.03 * n_points


def has_bogor(geodata: Path | None) -> bool:
    """Whether ``geodata`` holds the Bogor village centroids."""
    return geodata is not None and (geodata / BOGOR_CENTROIDS).exists()


def available(name: str, bogor_geodata: Path | None) -> bool:
    """Whether scenario ``name`` can be made here (Bogor ones need the geodata)."""
    parsed = parse_name(name)
    if parsed.geography == "bogor" and not has_bogor(bogor_geodata):
        LOG.info("no Bogor geodata in %s: %s left out", bogor_geodata, name)
        return False
    return True


def known_strategies(strategies: Sequence[str]) -> list[str]:
    """Keep the strategies ``bsb plan`` accepts, in order; log and drop the others."""
    known = set(strategy_names())
    kept = [s for s in strategies if s in known]
    dropped = [s for s in strategies if s not in known]
    if dropped:
        LOG.info("bsb plan does not know %s: left out of the bsb family", ", ".join(dropped))
    return kept


def ensure_scenario(folder: Path, *, bogor_geodata: Path | None) -> None:
    """Write the sample scenario named by ``folder.name`` unless it is already there.

    The scenario is written to a sibling folder and renamed, so a folder with
    ``scenario.toml`` is always complete.
    """
    if (folder / "scenario.toml").exists():
        return
    parsed = parse_name(folder.name)
    partial = folder.with_name(folder.name + ".part")
    if partial.exists():
        shutil.rmtree(partial)
    write_sample(
        partial,
        n_drop_points=parsed.n_points,
        seed=SCENARIO_SEED,
        bogor_geodata=bogor_geodata if parsed.geography == "bogor" else None,
    )
    if folder.exists():
        shutil.rmtree(folder)
    partial.rename(folder)


@dataclass(frozen=True, slots=True)
class TrancheShare:
    """Share of a tranche's families served in full by its deadline."""

    tranche: str
    share_pct: float


def served_shares(scenario: Scenario, plan: Plan) -> tuple[TrancheShare, ...]:
    """Per tranche, the percentage of families whose whole ration arrives by the deadline.

    A drop point's families count as served for a tranche when the kg delivered to it for
    that tranche on trips dated on or before the tranche's deadline cover its demand
    (families x kg per family), to 1e-6 kg.
    """
    on_time: dict[tuple[str, str], float] = defaultdict(float)
    deadlines = {t.id: t.deadline for t in scenario.tranches}
    for route in plan.routes:
        for stop in route.stops:
            deadline = deadlines.get(stop.tranche)
            if deadline is not None and route.date <= deadline:
                on_time[(stop.drop_point, stop.tranche)] += stop.kg
    total_kpm = sum(p.kpm for p in scenario.drop_points)
    shares = []
    for tranche in scenario.tranches:
        served = sum(
            p.kpm
            for p in scenario.drop_points
            if on_time.get((p.id, tranche.id), 0.0) >= scenario.demand_kg(p, tranche) - 1e-6
        )
        shares.append(TrancheShare(tranche.id, 100.0 * served / total_kpm if total_kpm else 100.0))
    return tuple(shares)


def format_shares(shares: Sequence[TrancheShare]) -> str:
    """``"2020-09 100.0%; 2020-10 98.5%"``."""
    return "; ".join(f"{s.tranche} {s.share_pct:.1f}%" for s in shares)


def parse_shares(text: str) -> tuple[TrancheShare, ...]:
    """Read :func:`format_shares` back (empty text gives an empty tuple).

    Raises
    ------
    ValueError
        If a part is not ``<tranche> <number>%``.
    """
    shares = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        tranche, _, number = part.rpartition(" ")
        if not tranche or not number.endswith("%"):
            raise ValueError(f"served share {part!r} is not '<tranche> <percent>%'")
        shares.append(TrancheShare(tranche, float(number[:-1])))
    return tuple(shares)


@dataclass(frozen=True, slots=True)
class BsbEvaluation:
    """A plan re-checked and measured."""

    feasible: bool
    violations: str
    trips: int
    distance_km: float
    bound_km: float
    ratio_to_bound: float | None
    unassigned_kg: float
    served_share_by_deadline: str


def evaluate_plan(scenario_dir: Path, plan_json: Path) -> BsbEvaluation:
    """Re-check a ``plan.json`` against its scenario and measure it.

    Raises
    ------
    OSError, ValueError, KeyError
        If the files cannot be read.
    """
    scenario = read_scenario(scenario_dir)
    data = json.loads(plan_json.read_text(encoding="utf-8"))
    plan = plan_from_dict(data)
    violations = check_plan(scenario, data)
    distance_km = sum(route.distance_km for route in plan.routes)
    bound_km = radial_lower_bound_km(scenario, plan)
    return BsbEvaluation(
        feasible=not violations,
        violations=violations[0].message[:300] if violations else "",
        trips=len(plan.routes),
        distance_km=distance_km,
        bound_km=bound_km,
        ratio_to_bound=distance_km / bound_km if bound_km > 0 else None,
        unassigned_kg=sum(u.kg for u in plan.unassigned),
        served_share_by_deadline=format_shares(served_shares(scenario, plan)),
    )
