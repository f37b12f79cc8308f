"""A campaign played day by day: seeded disruptions, a re-plan every morning, what it cost.

The simulator stands in for the field. It takes a plan and, for each day that has passed,
writes what a clerk would type from the signed TTB lists (:func:`simulate_progress`): a receipt
for every planned handover, except a seeded share of missed stops; some handovers with rice
refused for poor quality (whole sacks); one truck in ten broken down for two working days; a
drop point closed on the day of its next planned visit; and stock arriving late at one
warehouse. :func:`run_campaign` plans the scenario, then every working day re-plans the rest
with :func:`optimizer.replan.replan` from the progress so far, and measures:

- families served by each tranche's deadline (received, plus still planned by the deadline);
- the share of announced deliveries moved (a delivery announced in the previous plan, dated
  on or after today, whose day is another in the re-plan, or that is no longer planned);
- replacement delays: working days from a rejected handover to its replacement stop;
- seconds per re-plan.

Every draw is keyed by the seed and by what it is about (a stop's truck, date, trip, point
and tranche), never by the order of a loop, so the receipts of a day stay the same whichever
later plan the progress is rebuilt from: the history of a re-plan is the history of its
previous plan.

Usage::

    bsb bench campaign SCENARIO --days 5 --time-limit 60

Results replace the ``campaign`` section (:data:`SECTION`) of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

from benchmarks.metrics import results_section
from geodata.progress_io import (
    CLOSED_COLUMNS,
    RECEIPT_COLUMNS,
    STOCK_CHANGE_COLUMNS,
    UNAVAILABLE_COLUMNS,
)
from optimizer.model import Scenario
from optimizer.progress import Closed, Progress, Receipt, StockChange, Unavailable
from optimizer.replan import nth_working_day_after
from optimizer.replan import replan as replan_plan
from optimizer.solution import Plan

SECTION = "campaign"
"""The section of ``benchmarks/RESULTS.md`` these results replace."""
REJECTED_MAX_SHARE = 0.2
"""A rejected handover refuses between one sack and this share of its sacks (rounded up)."""
LATE_STOCK_SHARE = 0.1
"""Late stock: this share of one warehouse's scenario stock arrives late."""
LATE_STOCK_DAYS = 3
"""Late stock arrives this many working days after the day it was due."""


@dataclass(frozen=True, slots=True)
class Disruptions:
    """What goes wrong in the field, and how often.

    ``missed_share``: share of planned handovers that did not happen (no receipt).
    ``rejection_rate``: share of handovers where some rice was refused for poor quality (one
    sack up to :data:`REJECTED_MAX_SHARE` of the stop's sacks). ``breakdown_share``: share of
    the fleet (at least one truck) out of service for ``breakdown_days`` working days from
    ``breakdown_from`` (default: today). ``closed_points``: drop points closed on the day of
    their next planned visit on or after ``closed_from`` (default: today). ``late_stock``:
    :data:`LATE_STOCK_SHARE` of one warehouse's stock arrives :data:`LATE_STOCK_DAYS` working
    days late (from ``late_stock_from``, default today).
    """

    missed_share: float = 0.03
    rejection_rate: float = 0.02
    breakdown_share: float = 0.1
    breakdown_days: int = 2
    breakdown_from: date | None = None
    closed_points: int = 1
    closed_from: date | None = None
    late_stock: bool = True
    late_stock_from: date | None = None


def _draw(seed: int, *key: object) -> random.Random:
    """Return a generator keyed by the seed and by what the draw is about (stable across plans)."""
    text = "\x1f".join(str(part) for part in (seed, *key))
    return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))


def simulate_progress(
    scenario: Scenario,
    plan: Plan,
    today: date,
    *,
    seed: int = 0,
    disruptions: Disruptions | None = None,
) -> Progress:
    """Report what the field says of ``plan`` by the morning of ``today``.

    Parameters
    ----------
    scenario
        The scenario the plan was made for.
    plan
        A plan or a re-plan; every route dated before ``today`` has been driven.
    today
        The day of the re-plan; nothing on or after it has happened yet.
    seed
        Seed of every draw.
    disruptions
        What goes wrong; the defaults of :class:`Disruptions` when ``None``. An event whose
        first day is after ``today`` is not reported yet.

    Returns
    -------
    Progress
        Receipts of the handovers before ``today`` (all but the missed ones; families are
        the stop's kg over the tranche's ration, 0 on a replacement stop), and the
        breakdowns, closed points and late stock known by ``today``.
    """
    chosen = disruptions or Disruptions()
    ration_kg = {t.id: t.kg_per_kpm for t in scenario.tranches}
    receipts: list[Receipt] = []
    for route in sorted(plan.routes, key=lambda r: (r.date, r.truck, r.trip)):
        if route.date >= today:
            continue
        for stop in route.stops:
            draw = _draw(seed, "stop", route.truck, route.date, route.trip, stop.drop_point)
            if draw.random() < chosen.missed_share:
                continue
            rejected_kg = 0.0
            if draw.random() < chosen.rejection_rate and stop.sacks > 0:
                most = max(1, math.ceil(REJECTED_MAX_SHARE * stop.sacks))
                rejected_kg = min(stop.kg, draw.randint(1, most) * scenario.sack_kg)
            replacement = stop.kind == "replacement"
            families = 0 if replacement else round(stop.kg / ration_kg[stop.tranche])
            receipts.append(
                Receipt(
                    drop_point=stop.drop_point,
                    tranche=stop.tranche,
                    date=route.date,
                    families=families,
                    kg_received=stop.kg,
                    kg_rejected=rejected_kg,
                    note="rejected: poor quality" if rejected_kg else "",
                )
            )
    return Progress(
        receipts=tuple(receipts),
        unavailable=_breakdowns(scenario, plan, today, seed, chosen),
        stock_changes=_late_stock(scenario, today, seed, chosen),
        closed=_closed(scenario, plan, today, seed, chosen),
    )


def _breakdowns(
    scenario: Scenario, plan: Plan, today: date, seed: int, chosen: Disruptions
) -> tuple[Unavailable, ...]:
    start = chosen.breakdown_from or today
    if chosen.breakdown_share <= 0 or chosen.breakdown_days <= 0 or start > today:
        return ()
    while not scenario.calendar.is_working_day(start):
        start += timedelta(days=1)
    # Trucks that drive on the first day of the breakdown: a truck idle that day would
    # disrupt nothing. Fewer than asked when fewer drive.
    driving = sorted({r.truck for r in plan.routes if r.date == start})
    count = max(1, round(chosen.breakdown_share * len(scenario.trucks)))
    broken = _draw(seed, "breakdown", start).sample(driving, min(count, len(driving)))
    end = nth_working_day_after(scenario.calendar, start, chosen.breakdown_days - 1)
    return tuple(Unavailable(truck, start, end, "breakdown") for truck in sorted(broken))


def _closed(
    scenario: Scenario, plan: Plan, today: date, seed: int, chosen: Disruptions
) -> tuple[Closed, ...]:
    start = chosen.closed_from or today
    if chosen.closed_points <= 0 or start > today:
        return ()
    # The first planned visit of each point on or after the closing date: the closure lands
    # on a day the plan meant to deliver.
    visit: dict[str, date] = {}
    for route in plan.routes:
        if route.date < start:
            continue
        for stop in route.stops:
            if stop.drop_point not in visit or route.date < visit[stop.drop_point]:
                visit[stop.drop_point] = route.date
    points = sorted(visit)
    picked = _draw(seed, "closed", start).sample(points, min(chosen.closed_points, len(points)))
    return tuple(Closed(p, visit[p], visit[p], "closed: facilitator away") for p in sorted(picked))


def _late_stock(
    scenario: Scenario, today: date, seed: int, chosen: Disruptions
) -> tuple[StockChange, ...]:
    start = chosen.late_stock_from or today
    if not chosen.late_stock or start > today or not scenario.warehouses:
        return ()
    warehouse = _draw(seed, "late", start).choice(sorted(w.id for w in scenario.warehouses))
    stock_kg = next(w.stock_kg for w in scenario.warehouses if w.id == warehouse)
    late_kg = float(math.floor(LATE_STOCK_SHARE * stock_kg / scenario.sack_kg) * scenario.sack_kg)
    if late_kg <= 0:
        return ()
    arrives = nth_working_day_after(scenario.calendar, start, LATE_STOCK_DAYS)
    return (
        StockChange(warehouse, start, -late_kg, f"late: arrives {arrives.isoformat()}"),
        StockChange(warehouse, arrives, late_kg, "late stock arrived"),
    )


def progress_tables(progress: Progress) -> dict[str, str]:
    """Return the CSV text of a progress folder's files (only the files that have rows).

    Parameters
    ----------
    progress
        Progress, e.g. from :func:`simulate_progress`.

    Returns
    -------
    dict[str, str]
        File name (``receipts.csv`` ...) to its CSV text, columns as ``docs/progress-format.md``
        lists them.
    """
    tables: dict[str, tuple[tuple[str, ...], list[tuple[object, ...]]]] = {
        "receipts.csv": (
            RECEIPT_COLUMNS,
            [
                (
                    r.drop_point,
                    r.tranche,
                    r.date,
                    r.families,
                    _number(r.kg_received),
                    _number(r.kg_rejected),
                    r.note,
                )
                for r in progress.receipts
            ],
        ),
        "unavailable.csv": (
            UNAVAILABLE_COLUMNS,
            [(u.truck, u.from_date, u.to_date, u.note) for u in progress.unavailable],
        ),
        "stock_changes.csv": (
            STOCK_CHANGE_COLUMNS,
            [(s.warehouse, s.date, _number(s.kg), s.note) for s in progress.stock_changes],
        ),
        "closed.csv": (
            CLOSED_COLUMNS,
            [(c.drop_point, c.from_date, c.to_date, c.note) for c in progress.closed],
        ),
    }
    texts: dict[str, str] = {}
    for name, (columns, rows) in tables.items():
        if not rows:
            continue
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(
            [value.isoformat() if isinstance(value, date) else value for value in row]
            for row in rows
        )
        texts[name] = buffer.getvalue()
    return texts


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


def write_progress_folder(progress: Progress, folder: Path) -> Path:
    """Write a progress folder that ``bsb replan --progress`` reads.

    Parameters
    ----------
    progress
        What to write.
    folder
        A new or empty folder (created); a file already there is never overwritten.

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    FileExistsError
        If one of the files already exists.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in progress_tables(progress).items():
        with (folder / name).open("x", encoding="utf-8", newline="") as handle:
            handle.write(text)
    return folder


# --- what a campaign measures ---------------------------------------------------------------


def announced_days(plan: Plan, today: date) -> dict[tuple[str, str], tuple[date, str]]:
    """Each (point, tranche)'s first delivery on or after ``today``: (date, truck)."""
    days: dict[tuple[str, str], tuple[date, str]] = {}
    for route in sorted(plan.routes, key=lambda r: (r.date, r.truck, r.trip)):
        if route.date < today:
            continue
        for stop in route.stops:
            key = (stop.drop_point, stop.tranche)
            if stop.kind == "delivery" and key not in days:
                days[key] = (route.date, route.truck)
    return days


@dataclass(frozen=True, slots=True)
class Moves:
    """How many announced deliveries a re-plan kept, moved to another day, or gave a new truck."""

    announced: int
    moved: int
    truck_changed: int

    @property
    def moved_share(self) -> float:
        """Moved over announced (0 when nothing was announced)."""
        return self.moved / self.announced if self.announced else 0.0


def count_moves(previous: Plan, new: Plan, today: date) -> Moves:
    """Compare the deliveries ``previous`` announced from ``today`` on with ``new``'s.

    A delivery is moved when its first day on or after ``today`` differs, or when ``new`` no
    longer plans it; ``truck_changed`` counts those kept on their day by another truck.
    """
    before = announced_days(previous, today)
    after = announced_days(new, today)
    moved = sum(1 for key, (day, _) in before.items() if key not in after or after[key][0] != day)
    truck = sum(
        1
        for key, (day, truck_id) in before.items()
        if key in after and after[key][0] == day and after[key][1] != truck_id
    )
    return Moves(announced=len(before), moved=moved, truck_changed=truck)


def families_by_deadline(
    scenario: Scenario, plan: Plan, progress: Progress, today: date
) -> dict[str, tuple[int, int]]:
    """Per tranche, families served by its deadline, and all its families.

    Served: families on receipts dated by the deadline, plus families on delivery stops the
    plan still has from ``today`` on, dated by the deadline (the plan's routes before
    ``today`` count through their receipts only: a missed stop served nobody).
    """
    ration_kg = {t.id: t.kg_per_kpm for t in scenario.tranches}
    total = sum(p.kpm for p in scenario.drop_points)
    served: dict[str, int] = dict.fromkeys(ration_kg, 0)
    deadline = {t.id: t.deadline for t in scenario.tranches}
    for receipt in progress.receipts:
        if receipt.date <= deadline[receipt.tranche]:
            served[receipt.tranche] += receipt.families
    for route in plan.routes:
        if route.date < today:
            continue
        for stop in route.stops:
            if stop.kind == "delivery" and route.date <= deadline[stop.tranche]:
                served[stop.tranche] += round(stop.kg / ration_kg[stop.tranche])
    return {t: (min(n, total), total) for t, n in served.items()}


def replacement_delays(scenario: Scenario, plan: Plan, progress: Progress) -> tuple[list[int], int]:
    """Working days from each rejected handover to its replacement stop, and how many have none.

    Replacement stops of a (point, tranche) are matched to its rejected receipts in date
    order; a delay of 1 is the next working day.
    """
    stops: dict[tuple[str, str], list[date]] = defaultdict(list)
    for route in plan.routes:
        for stop in route.stops:
            if stop.kind == "replacement":
                stops[(stop.drop_point, stop.tranche)].append(route.date)
    delays: list[int] = []
    unmatched = 0
    for receipt in sorted(progress.receipts, key=lambda r: r.date):
        if receipt.kg_rejected <= 0:
            continue
        key = (receipt.drop_point, receipt.tranche)
        later = sorted(d for d in stops[key] if d > receipt.date)
        if not later:
            unmatched += 1
            continue
        stops[key].remove(later[0])
        days = scenario.calendar.working_days_between(receipt.date, later[0])
        delays.append(len(days) - 1)
    return delays, unmatched


# --- the campaign ---------------------------------------------------------------------------


class Replanned(Protocol):
    """What :func:`optimizer.replan.replan` returns (its ``plan`` is all this reads)."""

    @property
    def plan(self) -> Plan:
        """The new plan."""
        ...


ReplanFunction = Callable[..., Replanned]
"""``replan(scenario, previous, progress, today, *, freeze_days=..., ...)``."""


@dataclass(frozen=True, slots=True)
class CampaignDay:
    """One morning's re-plan."""

    today: date
    replan_s: float
    receipts: int
    missed: int
    rejected: int
    unavailable: int
    closed: int
    moves: Moves
    served_by_deadline: Mapping[str, tuple[int, int]]
    unassigned_kg: float
    violations: int
    """Rules of the independent checker the re-plan breaks (checked against its previous plan)."""


@dataclass(frozen=True, slots=True)
class CampaignResult:
    """A played campaign: the first plan, each day, and the replacement delays at the end."""

    scenario_name: str
    drop_points: int
    trucks: int
    first_plan_s: float
    days: tuple[CampaignDay, ...]
    replacement_delays: tuple[int, ...]
    replacements_missing: int
    final_plan: Plan
    final_progress: Progress
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def moved_share(self) -> float:
        """Announced deliveries moved over announced, summed over the days."""
        announced = sum(d.moves.announced for d in self.days)
        return sum(d.moves.moved for d in self.days) / announced if announced else 0.0

    @property
    def max_replan_s(self) -> float:
        """The slowest re-plan."""
        return max((d.replan_s for d in self.days), default=0.0)


def run_campaign(
    source: Path | Scenario,
    *,
    days: int = 5,
    seed: int = 0,
    disruptions: Disruptions | None = None,
    freeze_days: int = 1,
    time_limit_s: float = 30.0,
    workers: int = 1,
    first_plan: Plan | None = None,
    replan: ReplanFunction | None = None,
    on_day: Callable[[CampaignDay], None] | None = None,
) -> CampaignResult:
    """Play a campaign: plan, then re-plan every working day from the field's progress.

    Parameters
    ----------
    source
        A scenario folder, or a scenario built in code.
    days
        Re-plans to run: the mornings of the 2nd to the ``days + 1``-th working day of the plan.
    seed
        Seed of the search and of every disruption.
    disruptions
        What goes wrong (default :class:`Disruptions`); a breakdown, closed point or late
        stock without a first day starts on the first re-plan's day.
    freeze_days
        ``--freeze-days`` of each re-plan.
    time_limit_s
        Search time of the first plan and of each re-plan.
    workers
        Planner processes.
    first_plan
        The plan to start from (planned here when ``None``).
    replan
        The re-plan function (default :func:`optimizer.replan.replan`; tests pass a stand-in).
    on_day
        Told each day as soon as it is measured.

    Returns
    -------
    CampaignResult
        Per day: re-plan time, progress counts, announced deliveries moved, families served by
        each deadline; at the end, the replacement delays.
    """
    from optimizer.planner import PlannerOptions, plan_scenario

    if isinstance(source, Path):
        from geodata.scenario_io import read_scenario

        scenario = read_scenario(source)
    else:
        scenario = source
    scenario = replace(
        scenario, solver=replace(scenario.solver, time_limit_s=time_limit_s, seed=seed)
    )
    options = PlannerOptions(workers=workers)
    started = time.perf_counter()
    plan = first_plan or plan_scenario(scenario, options=options)
    first_plan_s = time.perf_counter() - started
    replan_fn: ReplanFunction = replan or replan_plan

    first_day = min((r.date for r in plan.routes), default=scenario.start_date)
    first_today = nth_working_day_after(scenario.calendar, first_day, 1)
    # Events without a date start on the first re-plan's day, once: a campaign has one
    # breakdown, not a new one every morning.
    given = disruptions or Disruptions()
    chosen = replace(
        given,
        breakdown_from=given.breakdown_from or first_today,
        closed_from=given.closed_from or first_today,
        late_stock_from=given.late_stock_from or first_today,
    )
    played: list[CampaignDay] = []
    progress = events = Progress()
    for index in range(days):
        today = nth_working_day_after(scenario.calendar, first_day, index + 1)
        progress = simulate_progress(scenario, plan, today, seed=seed, disruptions=chosen)
        # The events are drawn once, from the plan of their first day: a closed point stays
        # the one closed whatever later re-plans do with its visits.
        if index == 0:
            events = progress
        progress = replace(
            progress,
            unavailable=events.unavailable,
            stock_changes=events.stock_changes,
            closed=events.closed,
        )
        started = time.perf_counter()
        result = replan_fn(
            scenario, plan, progress, today, freeze_days=freeze_days, options=options
        )
        replan_s = time.perf_counter() - started
        new_plan = result.plan
        planned_before = sum(len(r.stops) for r in plan.routes if r.date < today)
        day = CampaignDay(
            today=today,
            replan_s=replan_s,
            receipts=len(progress.receipts),
            missed=planned_before - len(progress.receipts),
            rejected=sum(1 for r in progress.receipts if r.kg_rejected > 0),
            unavailable=len(progress.unavailable),
            closed=len(progress.closed),
            moves=count_moves(plan, new_plan, today),
            served_by_deadline=families_by_deadline(scenario, new_plan, progress, today),
            unassigned_kg=float(sum(u.kg for u in new_plan.unassigned)),
            violations=len(check_replan(scenario, new_plan, plan)),
        )
        played.append(day)
        if on_day is not None:
            on_day(day)
        plan = new_plan
    delays, missing = replacement_delays(scenario, plan, progress)
    return CampaignResult(
        scenario_name=scenario.name,
        drop_points=len(scenario.drop_points),
        trucks=len(scenario.trucks),
        first_plan_s=first_plan_s,
        days=tuple(played),
        replacement_delays=tuple(delays),
        replacements_missing=missing,
        final_plan=plan,
        final_progress=progress,
        settings={
            "seed": seed,
            "freeze_days": freeze_days,
            "time_limit_s": time_limit_s,
            "workers": workers,
            "disruptions": chosen,
        },
    )


def check_replan(scenario: Scenario, plan: Plan, previous: Plan) -> list[Any]:
    """Check a re-plan with the independent checker, against its previous plan.

    Both plans go through ``plan.json``'s structure, as ``bsb check`` reads them. Returns
    the checker's violations (an empty list for a plan that passes).
    """
    from optimizer.checker import check_plan
    from optimizer.solution import plan_to_dict

    def as_read(one: Plan) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(json.dumps(plan_to_dict(one)))
        return loaded

    return list(check_plan(scenario, as_read(plan), previous=as_read(previous)))


def _served(served: Mapping[str, tuple[int, int]]) -> str:
    return ", ".join(f"{t} {n / total:.1%}" for t, (n, total) in served.items() if total)


def day_row(day: CampaignDay) -> str:
    """One day as a row of :func:`table`."""
    moves = day.moves
    return (
        f"| {day.today.isoformat()} | {day.replan_s:.1f} | {day.receipts} | {day.missed} | "
        f"{day.rejected} | {day.unavailable} | {day.closed} | "
        f"{moves.moved} of {moves.announced} ({moves.moved_share:.1%}) | "
        f"{moves.truck_changed} | {_served(day.served_by_deadline)} | {day.unassigned_kg:,.0f} | "
        f"{day.violations} |"
    )


TABLE_HEADER = (
    "| today | re-plan s | receipts | missed | rejected | trucks down | points closed | "
    "announced deliveries moved | same day, other truck | families served by deadline | "
    "unassigned kg | checker violations |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def table(result: CampaignResult) -> str:
    """Markdown table of the days, then the totals."""
    delays = result.replacement_delays
    delay_text = (
        f"mean {sum(delays) / len(delays):.1f}, max {max(delays)} working days"
        if delays
        else "none"
    )
    seconds = [d.replan_s for d in result.days]
    lines = [TABLE_HEADER, *(day_row(d) for d in result.days), ""]
    lines.append(
        f"Totals: {result.moved_share:.1%} of announced deliveries moved; re-plan "
        f"mean {sum(seconds) / max(1, len(seconds)):.1f} s, max {result.max_replan_s:.1f} s; "
        f"first plan {result.first_plan_s:.1f} s; replacements {len(delays)} "
        f"({delay_text}), {result.replacements_missing} without a replacement stop."
    )
    return "\n".join(lines)


def section(result: CampaignResult, *, command: str) -> str:
    """Return the RESULTS.md section of a campaign: machine, date, command, settings, the table."""
    settings = result.settings
    chosen: Disruptions = settings["disruptions"]
    return results_section(
        "A campaign re-planned every day",
        command,
        [
            f"scenario {result.scenario_name}: {result.drop_points:,} drop points, "
            f"{result.trucks} trucks; seed {settings['seed']}, search "
            f"{settings['time_limit_s']:g} s per plan, {settings['workers']} worker processes, "
            f"freeze {settings['freeze_days']} day(s)",
            f"disruptions: {chosen.missed_share:.0%} of stops missed, "
            f"{chosen.rejection_rate:.0%} of handovers with rejected rice, "
            f"{chosen.breakdown_share:.0%} of trucks down for {chosen.breakdown_days} working "
            f"days, {chosen.closed_points} point(s) closed, late stock "
            f"{'yes' if chosen.late_stock else 'no'}",
            "goal: a re-plan of 4,000 points within 120 s, at most 5 % of announced "
            "deliveries moved when one truck in ten breaks down for two days",
        ],
        table(result),
    )


__all__ = (
    "CampaignDay",
    "CampaignResult",
    "Disruptions",
    "Moves",
    "announced_days",
    "count_moves",
    "families_by_deadline",
    "progress_tables",
    "replacement_delays",
    "run_campaign",
    "section",
    "simulate_progress",
    "table",
    "write_progress_folder",
)
