"""How long families wait: the share of each tranche's families served by each date.

A plan says which day each stop is delivered; families care about the day their ration
arrives. :func:`waiting_curves` turns a plan into one :class:`WaitingCurve` per tranche: the
families served on or before each delivery day, and the mean days they waited after the
tranche's release. Summaries, maps, the Dinas Sosial papers and the what-if tables all read
these curves, so they agree.

Counting rules
--------------
- The tranche's families are all of the scenario's families (``kpm`` summed over every drop
  point), delivered or not.
- A family is served once its whole ration has arrived: at a drop point, the families served
  by a day are ``floor(kg delivered there for the tranche on or before that day /
  kg_per_kpm)``, never more than the point's ``kpm``. Rations split over several days count on
  the day they are completed. (The KPI ``families_served_per_tranche`` counts a point's
  families only when all of them are served, so a point short of stock counts here, not
  there.)
- Every trip of the plan counts, whatever its status (``done`` trips of a re-plan included).
  The kg of a stop is net of the rice it picks up (``kg - pickup_kg``): a replacement stop
  that swaps refused sacks adds no families, since the families were counted when their rice
  first arrived.
- A family's wait is the days from the tranche's release to the day it is served; the mean is
  over the families served (0 when none). With whole-ration deliveries (the planner's), the
  family-days summed over the tranches equal the plan's KPI ``family_wait_days``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from optimizer.model import Scenario
from optimizer.solution import Plan

KEY_DAYS_AFTER_RELEASE: Final = (7, 14)
"""Days after a tranche's release at which summaries show the share of families served: a
week and two weeks, the checkpoints of the programme's weekly reports."""


class KeyDay(StrEnum):
    """The dates at which summaries show a tranche's share of families served."""

    WEEK_1 = "release+7"
    """:data:`KEY_DAYS_AFTER_RELEASE` [0] days after the release."""
    WEEK_2 = "release+14"
    """:data:`KEY_DAYS_AFTER_RELEASE` [1] days after the release."""
    DEADLINE = "deadline"
    """The tranche's deadline."""
    LAST_DELIVERY = "last_delivery"
    """The plan's last delivery of the tranche."""


# Kilograms are sums of floats (sacks, rations): a ration short by less than this is whole.
_KG_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class WaitingCurve:
    """The families of one tranche served on or before each delivery day.

    ``points`` holds one ``(day, families served on or before it)`` per day the plan delivers
    rice of the tranche, ascending in day, the count never falling. A tranche nobody delivered
    has no points.
    """

    tranche: str
    families_total: int
    release: date
    deadline: date
    points: tuple[tuple[date, int], ...]
    mean_wait_days: float

    @property
    def families_served(self) -> int:
        """Families served by the end of the plan (the last point's count; 0 when none)."""
        return self.points[-1][1] if self.points else 0

    @property
    def last_delivery(self) -> date | None:
        """The last day the plan delivers rice of this tranche, or ``None``."""
        return self.points[-1][0] if self.points else None

    def key_days(self) -> tuple[tuple[KeyDay, date], ...]:
        """Return the dates summaries show, in date order (ties: the order of :class:`KeyDay`).

        A week and two weeks after the release (each only when on or before the deadline),
        the deadline, and the last delivery when the plan delivers any of the tranche.
        """
        days: list[tuple[KeyDay, date]] = []
        for key, after_days in zip(
            (KeyDay.WEEK_1, KeyDay.WEEK_2), KEY_DAYS_AFTER_RELEASE, strict=True
        ):
            day = self.release + timedelta(days=after_days)
            if day <= self.deadline:
                days.append((key, day))
        days.append((KeyDay.DEADLINE, self.deadline))
        if self.last_delivery is not None:
            days.append((KeyDay.LAST_DELIVERY, self.last_delivery))
        order = list(KeyDay)
        return tuple(sorted(days, key=lambda item: (item[1], order.index(item[0]))))

    def served_by(self, day: date) -> int:
        """Return the families served on or before ``day``."""
        served = 0
        for point_day, count in self.points:
            if point_day > day:
                break
            served = count
        return served

    def share_by(self, day: date) -> float:
        """Return the share (0 to 1) of the tranche's families served on or before ``day``.

        A tranche without families is wholly served (share 1) from the start.
        """
        if self.families_total <= 0:
            return 1.0
        return self.served_by(day) / self.families_total

    def date_reaching(self, share: float) -> date | None:
        """Return the first day on which at least ``share`` of the families are served.

        Parameters
        ----------
        share
            A share from 0 to 1 (0.95 for "95 % of families", 1.0 for all of them).

        Returns
        -------
        date or None
            The first delivery day reaching ``share``; the release for a tranche without
            families (or for ``share`` 0); ``None`` when the plan never reaches it.

        Raises
        ------
        ValueError
            If ``share`` is outside 0 to 1.
        """
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be from 0 to 1, not {share}")
        # Whole families: 95 % of 30 families is 28.5, so 29 are needed (not 28 by rounding).
        needed = math.ceil(share * self.families_total - 1e-9)
        if needed <= 0:
            return self.release
        for day, count in self.points:
            if count >= needed:
                return day
        return None


def waiting_curves(
    scenario: Scenario, plan: Plan, *, drop_points: Iterable[str] | None = None
) -> tuple[WaitingCurve, ...]:
    """Return the waiting curve of every tranche of ``scenario``, in scenario order.

    Parameters
    ----------
    scenario
        The scenario the plan is for (its tranches, drop points and families).
    plan
        The plan; all its trips count, whatever their status.
    drop_points
        Ids of the drop points whose families are counted (the map of one warehouse passes
        the points it shows); every point of the scenario when omitted. Families at these
        points count whoever brought their rice.

    Returns
    -------
    tuple of WaitingCurve
        One curve per tranche of the scenario, in the scenario's order.

    Raises
    ------
    KeyError
        If a stop, or ``drop_points``, names a drop point or tranche the scenario does not
        have.
    """
    counted = (
        {p.id for p in scenario.drop_points}
        if drop_points is None
        else {scenario.drop_point(p).id for p in drop_points}
    )
    families_total = sum(scenario.drop_point(p).kpm for p in counted)
    # (tranche, day) -> point -> net kg delivered that day
    kg_by_day: dict[str, dict[date, dict[str, float]]] = {
        t.id: defaultdict(lambda: defaultdict(float)) for t in scenario.tranches
    }
    for route in plan.routes:
        for stop in route.stops:
            scenario.drop_point(stop.drop_point)  # an unknown point is an error, not a zero
            tranche_id = scenario.tranche(stop.tranche).id
            if stop.drop_point not in counted:
                continue
            kg_by_day[tranche_id][route.date][stop.drop_point] += stop.kg - stop.pickup_kg
    curves = []
    for tranche in scenario.tranches:
        by_day = kg_by_day[tranche.id]
        kg_so_far: dict[str, float] = defaultdict(float)
        served_at: dict[str, int] = defaultdict(int)
        served = 0
        wait_family_days = 0
        points: list[tuple[date, int]] = []
        for day in sorted(by_day):
            for point_id, kg in by_day[day].items():
                kg_so_far[point_id] += kg
                kpm = scenario.drop_point(point_id).kpm
                whole = _whole_rations(kg_so_far[point_id], tranche.kg_per_kpm, kpm)
                # Net kg never falls (a stop never takes back more than it brings), but a
                # count that did fall must not make the curve go down.
                added = max(0, whole - served_at[point_id])
                served_at[point_id] += added
                served += added
                wait_family_days += added * (day - tranche.release).days
            points.append((day, served))
        curves.append(
            WaitingCurve(
                tranche=tranche.id,
                families_total=families_total,
                release=tranche.release,
                deadline=tranche.deadline,
                points=tuple(points),
                mean_wait_days=wait_family_days / served if served else 0.0,
            )
        )
    return tuple(curves)


def _whole_rations(kg: float, kg_per_kpm: float, kpm: int) -> int:
    """Families whose whole ration is in ``kg``, at most ``kpm``."""
    if kg_per_kpm <= 0:
        # A tranche giving nothing serves every family on its first visit.
        return kpm if kg >= 0 else 0
    return max(0, min(kpm, math.floor((kg + _KG_TOLERANCE) / kg_per_kpm)))
