"""Shared fixtures and helpers of the tests; no test module imports from another.

Tiny scenarios and plans built directly from the model, named after what they exercise; random
routing problems and the feasibility rules of the routing model; scenario folders with one
defect; a digest of a folder tree (to prove a refusal changed nothing); the local Chromium.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

from optimizer.checker import check_plan
from optimizer.errors import InputError, Problem
from optimizer.model import (
    Calendar,
    DropPoint,
    Scenario,
    SolverSettings,
    Tranche,
    Truck,
    Warehouse,
)
from optimizer.planner import PlannerOptions, plan_scenario
from optimizer.reasons import ReasonFacts
from optimizer.routing import RoutingProblem, RoutingResult, VehicleGroup
from optimizer.solution import (
    Plan,
    ReasonCode,
    Route,
    Stop,
    Unassigned,
    compute_kpis,
    plan_to_dict,
)

# The service tests' real server on loopback (one per module that asks for it).
from tests.service_live import live_server  # noqa: F401

# Hypothesis's 200 ms deadline fails tests on a busy machine (two cores shared by the whole suite)
# and says nothing about what the tests check; tests that care about time measure it themselves.
settings.register_profile("bsb", deadline=None)
settings.load_profile("bsb")

DRAMAGA = (106.74, -6.57)


def make_tiny_scenario(**overrides: object) -> Scenario:
    """One warehouse near Dramaga, two trucks (2 t and 5 t), four drop points, two tranches."""
    warehouses = (Warehouse("W1", "Gudang Dramaga", DRAMAGA[0], DRAMAGA[1], 100_000.0),)
    trucks = (
        Truck("T1", "W1", 2000.0, 7 * 3600, 17 * 3600, 5000.0, 750_000.0, None, "CDE"),
        Truck("T2", "W1", 5000.0, 7 * 3600, 17 * 3600, 6000.0, 900_000.0, 3, "CDD"),
    )
    points = (
        DropPoint("00042", "RW 01 Babakan", 106.75, -6.56, 50, "Babakan", "Dramaga", "001", "01"),
        DropPoint("P2", "RW 02 Ciherang", 106.72, -6.58, 40, "Ciherang", "Dramaga", "", "02"),
        DropPoint(
            "P3",
            "RW 03 Sukawening",
            106.70,
            -6.55,
            120,
            "Sukawening",
            "Dramaga",
            open_s=8 * 3600,
            close_s=15 * 3600,
        ),
        DropPoint("P4", "RW 05 Petir", 106.77, -6.60, 30, "Petir", "Dramaga", service_min=20.0),
    )
    tranches = (
        Tranche(
            "T-SEP", "September (Agustus + September)", 30.0, date(2020, 9, 1), date(2020, 9, 30)
        ),
        Tranche("T-OKT", "Oktober", 15.0, date(2020, 10, 1), date(2020, 10, 31)),
    )
    fields: dict[str, object] = {
        "name": "tiny",
        "start_date": date(2020, 9, 1),
        "warehouses": warehouses,
        "trucks": trucks,
        "drop_points": points,
        "tranches": tranches,
        "calendar": Calendar(),
        "solver": SolverSettings(time_limit_s=5.0, seed=1, solution_limit=50),
    }
    fields.update(overrides)
    return Scenario(**fields)  # type: ignore[arg-type]


@pytest.fixture
def tiny_scenario() -> Scenario:
    return make_tiny_scenario()


# --- a hand-made plan for the tiny scenario ----------------------------------------------------


def _at(day: date, hhmm: str) -> datetime:
    hour, minute = hhmm.split(":")
    return datetime(day.year, day.month, day.day, int(hour), int(minute))


def _route(
    truck: str, day: date, trip: int, stops: list[tuple[str, str, float, str, str]]
) -> Route:
    built = tuple(
        Stop(point, tranche, kg, round(kg / 15), _at(day, arrive), _at(day, depart))
        for point, tranche, kg, arrive, depart in stops
    )
    return Route(
        truck=truck,
        warehouse="W1",
        date=day,
        trip=trip,
        depart=_at(day, "07:30"),
        return_=_at(day, "12:00"),
        distance_km=12.5,
        load_kg=sum(s.kg for s in built),
        stops=built,
    )


def make_tiny_plan(scenario: Scenario | None = None) -> Plan:
    """A hand-made plan for make_tiny_scenario.

    00042 and P2 get both tranches in full; P4 gets September only (October: no stock); P3 gets
    half of September (the rest: fleet time) and nothing in October (no stock).
    """
    scenario = scenario or make_tiny_scenario()
    sep2, sep3, oct1 = date(2020, 9, 2), date(2020, 9, 3), date(2020, 10, 1)
    routes = (
        _route(
            "T2",
            sep2,
            1,
            [
                ("00042", "T-SEP", 1500.0, "08:10", "08:40"),
                ("P2", "T-SEP", 1200.0, "09:00", "09:27"),
            ],
        ),
        _route("T1", sep2, 1, [("P4", "T-SEP", 900.0, "08:05", "08:34")]),
        _route("T2", sep3, 1, [("P3", "T-SEP", 1800.0, "08:20", "08:53")]),
        _route(
            "T1",
            oct1,
            1,
            [("00042", "T-OKT", 750.0, "08:10", "08:32"), ("P2", "T-OKT", 600.0, "09:00", "09:21")],
        ),
    )
    fleet = ReasonFacts(
        warehouses=("W1",),
        trucks=2,
        trip_h=4.5,
        trip_kg=1800.0,
        working_days=25,
        first_day=date(2020, 9, 1),
        deadline=date(2020, 9, 30),
    )
    stock = ReasonFacts(warehouses=("W1",), leftover_kg=(12.5,), ration_kg=15.0)
    unassigned = (
        Unassigned(
            "P3", "T-SEP", 1800.0, 120, ReasonCode.FLEET_TIME, "trucks out of shift time", fleet
        ),
        Unassigned(
            "P3", "T-OKT", 1800.0, 120, ReasonCode.STOCK, "warehouse W1 has no stock left", stock
        ),
        Unassigned(
            "P4", "T-OKT", 450.0, 30, ReasonCode.STOCK, "warehouse W1 has no stock left", stock
        ),
    )
    return Plan(
        scenario_name=scenario.name,
        routes=routes,
        unassigned=unassigned,
        kpis=compute_kpis(scenario, routes, unassigned),
        strategy="default",
        seed=1,
    )


# --- routing problems ---------------------------------------------------------------------------

HOUR_S = 3600
TWO_WEIGHTS = (
    VehicleGroup(100, 7 * HOUR_S, 17 * HOUR_S, 1.0, 5),
    VehicleGroup(250, 8 * HOUR_S, 16 * HOUR_S, 1.35, 3),
)


def make_problem(
    seed: int, n_nodes: int, groups: tuple[VehicleGroup, ...] = TWO_WEIGHTS
) -> RoutingProblem:
    """Random nodes in 20 km x 20 km at 8 m/s, windows of 3-6 hours between 07:00 and 17:00."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20_000, (n_nodes + 1, 2))
    distance_m = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    distance_m = distance_m.astype(np.int64)
    open_s = [0, *(int(v) for v in rng.integers(7 * HOUR_S, 11 * HOUR_S, n_nodes))]
    close_s = [24 * HOUR_S] + [o + int(rng.integers(3 * HOUR_S, 6 * HOUR_S)) for o in open_s[1:]]
    return RoutingProblem(
        distance_m=distance_m,
        travel_s=np.rint(distance_m / 8.0).astype(np.int64),
        service_s=[600, *(int(v) for v in rng.integers(300, 900, n_nodes))],
        demand_sacks=[0, *(int(v) for v in rng.integers(5, 60, n_nodes))],
        open_s=open_s,
        close_s=close_s,
        groups=groups,
    )


def assert_routing_feasible(problem: RoutingProblem, result: RoutingResult) -> None:
    """Each chunk once; loads, windows and shifts as the OR-Tools model states them."""
    seen = [n for _, nodes in result.trips for n in nodes] + list(result.dropped)
    assert sorted(seen) == list(range(1, len(problem.demand_sacks)))
    per_group = [0] * len(problem.groups)
    for group_index, nodes in result.trips:
        group = problem.groups[group_index]
        per_group[group_index] += 1
        assert sum(problem.demand_sacks[n] for n in nodes) <= group.capacity_sacks
        if not problem.timed:
            continue
        travel = problem.travel(group.access)  # the group's own roads
        here, leave = 0, group.earliest_depart_s + problem.service_s[0]
        for node in nodes:
            arrive = max(leave + int(travel[here, node]), problem.open_s[node])
            assert arrive <= problem.close_s[node]
            here, leave = node, arrive + problem.service_s[node]
        assert leave + int(travel[here, 0]) <= group.shift_end_s
    assert all(n <= g.n_trips for n, g in zip(per_group, problem.groups, strict=True))


# --- scenario folders with one defect (tests/data/scenarios) ----------------------------------

SCENARIOS = Path(__file__).parent / "data" / "scenarios"
VALID = SCENARIOS / "valid_minimal"
SECRET = "db_password=hunter2-secret"
"""Text that must never appear in a message: a table outside the scenario folder carries it."""


def scenario_with_defect(defect: str, tmp_path: Path) -> Path:
    """Copy valid_minimal into tmp_path and lay the defect folder's files over it."""
    folder = tmp_path / defect
    shutil.copytree(VALID, folder)
    for source in (SCENARIOS / defect).iterdir():
        shutil.copy(source, folder / source.name)
    return folder


def problems_of(folder: Path, **kwargs: Path) -> tuple[Problem, ...]:
    # Imported here: the reader brings geopandas, which most test modules never need.
    from geodata.scenario_io import read_scenario

    with pytest.raises(InputError) as caught:
        read_scenario(folder, **kwargs)
    return caught.value.problems


def the_problem(
    problems: tuple[Problem, ...], file: str, row: int | None, field: str | None
) -> Problem:
    matching = [p for p in problems if (p.file, p.row, p.field) == (file, row, field)]
    assert matching, f"no problem at {file}, row {row}, field {field}: {problems}"
    return matching[0]


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def _append_toml(folder: Path, text: str) -> None:
    with (folder / "scenario.toml").open("a", encoding="utf-8") as stream:
        stream.write(text)


def _outside_table(tmp_path: Path) -> Path:
    """A valid trucks table outside the scenario folder whose header carries a secret."""
    outside = tmp_path / "outside"
    outside.mkdir()
    table = outside / "trucks.csv"
    rows = read_rows(VALID / "trucks.csv")
    rows[0].append(SECRET)
    for row in rows[1:]:
        row.append(SECRET)
    with table.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream, lineterminator="\n").writerows(rows)
    return table


# --- files and programs --------------------------------------------------------------------------


def tree_digest(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (``root`` itself included) -> its kind and content hash."""
    digest: dict[str, str] = {}
    for path in [root, *sorted(root.rglob("*"))]:
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            digest[name] = "link " + str(path.readlink())
        elif path.is_dir():
            digest[name] = "dir"
        else:
            digest[name] = "file " + hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def find_chromium() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def planned_feasible_and_conserved(
    scenario: Scenario, options: PlannerOptions | None = None
) -> tuple[Plan, dict[str, Any]]:
    """Plan, assert the checker passes and every kg is delivered or unassigned; plan and dict."""
    plan = plan_scenario(scenario, options=options)
    data = plan_to_dict(plan)
    violations = check_plan(scenario, data)
    assert violations == [], [v.message for v in violations]
    delivered: dict[tuple[str, str], float] = defaultdict(float)
    for route in plan.routes:
        for stop in route.stops:
            delivered[(stop.drop_point, stop.tranche)] += stop.kg
    for item in plan.unassigned:
        delivered[(item.drop_point, item.tranche)] += item.kg
    for point in scenario.drop_points:
        for tranche in scenario.tranches:
            assert delivered[(point.id, tranche.id)] == pytest.approx(
                scenario.demand_kg(point, tranche)
            )
    return plan, data


def assert_feasible_and_conserved(
    scenario: Scenario, options: PlannerOptions | None = None
) -> dict[str, Any]:
    """As :func:`planned_feasible_and_conserved`, returning the plan's dict."""
    return planned_feasible_and_conserved(scenario, options)[1]
