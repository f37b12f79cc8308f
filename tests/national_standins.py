"""TEMPORARY stand-ins for parts F and I of issue 16, for the tests of the national run only.

TODO(lead): delete this module (and its ``install()`` calls in tests/test_national_run.py,
tests/test_dask_executor.py and tests/test_cli_national.py) once ``optimizer.flow_assign``
(part F) and ``documents.national_index`` (part I) are merged: :func:`install` does nothing
when the real modules import.

They follow the interfaces of /work/issue16-split.md: ``assign_by_flow`` gives each point to
its nearest warehouse with trucks that has a family's ration of stock left (greedy, in point
order, whole families); ``summarise_warehouse`` keeps the few numbers the tests read, and
``write_national_index`` writes a ``plan.json`` listing the warehouses.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optimizer.model import Scenario, haversine_km
from optimizer.reasons import ReasonFacts
from optimizer.solution import Plan


@dataclass(frozen=True, slots=True)
class Share:
    drop_point: str
    warehouse: str
    families: int


@dataclass(frozen=True, slots=True)
class Unmet:
    drop_point: str
    families: int
    reason_code: str
    facts: ReasonFacts = field(default_factory=ReasonFacts)


@dataclass(frozen=True, slots=True)
class Assignment:
    shares: tuple[Share, ...]
    unmet: tuple[Unmet, ...]
    cost: float
    seconds: float

    def families_by_warehouse(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for share in self.shares:
            totals[share.warehouse] = totals.get(share.warehouse, 0) + share.families
        return totals


def assign_by_flow(scenario: Scenario, **_: Any) -> Assignment:
    kg_per_family = sum(t.kg_per_kpm for t in scenario.tranches)
    with_trucks = {t.warehouse_id for t in scenario.trucks}
    left = {
        w.id: math.floor(w.stock_kg / kg_per_family + 1e-9)
        for w in scenario.warehouses
        if w.id in with_trucks
    }
    shares: list[Share] = []
    unmet: list[Unmet] = []
    for point in scenario.drop_points:
        need = point.kpm
        for wh in sorted(
            (w for w in scenario.warehouses if w.id in left),
            key=lambda w: (haversine_km(w.lon, w.lat, point.lon, point.lat), w.id),
        ):
            take = min(need, left[wh.id])
            if take > 0:
                shares.append(Share(point.id, wh.id, take))
                left[wh.id] -= take
                need -= take
            if need == 0:
                break
        if need > 0:
            unmet.append(Unmet(point.id, need, "stock"))
    return Assignment(tuple(shares), tuple(unmet), 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class WarehouseSummary:
    warehouse: str
    folder: str
    families_served: int
    trips: int
    distance_km: float
    status: str
    check_violations: int


def summarise_warehouse(
    scenario: Scenario, plan: Plan, folder: str, *, check_violations: int = 0
) -> WarehouseSummary:
    return WarehouseSummary(
        warehouse=scenario.warehouses[0].id,
        folder=folder,
        families_served=plan.kpis.families_served,
        trips=len(plan.routes),
        distance_km=plan.kpis.distance_km,
        status=plan.status.value,
        check_violations=check_violations,
    )


def write_national_index(
    out: Path,
    scenario: Scenario,
    summaries: Sequence[WarehouseSummary],
    *,
    unmet: Sequence[Unmet] = (),
    language: str = "id",
) -> list[Path]:
    path = out / "plan.json"
    data = {
        "warehouses": [
            {"warehouse": s.warehouse, "folder": s.folder, "families": s.families_served}
            for s in summaries
        ],
        "unmet_families": sum(u.families for u in unmet),
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return [path]


def install() -> None:
    """Put the stand-ins in place of the parts not merged yet (in this process)."""
    for name, attributes in (
        ("optimizer.flow_assign", ("Share", "Unmet", "Assignment", "assign_by_flow")),
        (
            "documents.national_index",
            ("WarehouseSummary", "summarise_warehouse", "write_national_index"),
        ),
    ):
        try:
            importlib.import_module(name)
        except ImportError:
            module = types.ModuleType(name)
            module.__doc__ = "TEMPORARY test stand-in (tests/national_standins.py)"
            for attribute in attributes:
                setattr(module, attribute, globals()[attribute])
            sys.modules[name] = module


def with_standins(fn: Any, /, *args: Any) -> Any:
    """Run a task with the stand-ins installed in its (worker) process."""
    install()
    return fn(*args)


class StandinExecutor:
    """An executor whose tasks install the stand-ins first (pool and Dask worker processes)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def workers(self) -> int:
        return int(self.inner.workers)

    def submit(self, fn: Any, /, *args: Any) -> Any:
        return self.inner.submit(with_standins, fn, *args)

    def wait_any(self, futures: Any, timeout_s: float) -> Any:
        return self.inner.wait_any(futures, timeout_s)

    def __enter__(self) -> StandinExecutor:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)
