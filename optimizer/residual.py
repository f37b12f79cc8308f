"""What is left to plan in a re-plan: the hooks ``plan_scenario(..., residual=...)`` obeys.

STAND-IN until part B merges: part B ("hooks") owns this module; this copy holds exactly the
split file's definition so that the merge is trivial.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ExtraDelivery:
    """A replacement: whole sacks to a point and tranche by ``due``, picking up rejected rice."""

    drop_point: str
    tranche: str
    sacks: int
    due: date
    pickup_kg: float
    kind: str = "replacement"


@dataclass(frozen=True)
class Residual:
    """The rest of a campaign for the planner: families, stock and days still free."""

    start_date: date
    families: Mapping[tuple[str, str], int]
    stock_kg: Mapping[str, float]
    truck_off: Mapping[str, frozenset[date]]
    closed: Mapping[str, frozenset[date]]
    busy: Mapping[tuple[str, date], tuple[int, int]]
    announced: Mapping[tuple[str, str], date]
    move_cost_per_kpm_day: float = 0.0
    extra: tuple[ExtraDelivery, ...] = ()
