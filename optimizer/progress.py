"""What happened in the field since a plan was made: the input of a re-plan.

A progress folder (``receipts.csv``, ``unavailable.csv``, ``stock_changes.csv``,
``closed.csv``; every file optional) is read and validated by ``geodata.progress_io`` into a
:class:`Progress`; :mod:`optimizer.replan` plans the rest from it. Dates are calendar dates in
the scenario's timezone; both ends of a date range are included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Receipt:
    """One handover, from a signed TTB list.

    ``families`` received their ration; ``kg_received`` was handed over, of which
    ``kg_rejected`` was refused for poor quality (to be picked up and replaced). The good rice
    delivered is ``kg_received - kg_rejected``.
    """

    drop_point: str
    tranche: str
    date: date
    families: int
    kg_received: float
    kg_rejected: float
    note: str = ""

    @property
    def good_kg(self) -> float:
        """Rice delivered and kept: received minus rejected."""
        return self.kg_received - self.kg_rejected


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A truck out of service from ``from_date`` to ``to_date`` (both included)."""

    truck: str
    from_date: date
    to_date: date
    note: str = ""

    def covers(self, day: date) -> bool:
        """Whether ``day`` falls within the period."""
        return self.from_date <= day <= self.to_date


@dataclass(frozen=True, slots=True)
class StockChange:
    """Stock arriving (``kg`` > 0) or lost (``kg`` < 0) at a warehouse from ``date`` on."""

    warehouse: str
    date: date
    kg: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class Closed:
    """A drop point that cannot receive from ``from_date`` to ``to_date`` (both included)."""

    drop_point: str
    from_date: date
    to_date: date
    note: str = ""

    def covers(self, day: date) -> bool:
        """Whether ``day`` falls within the period."""
        return self.from_date <= day <= self.to_date


@dataclass(frozen=True, slots=True)
class Progress:
    """Everything a progress folder says, validated against its scenario."""

    receipts: tuple[Receipt, ...] = ()
    unavailable: tuple[Unavailable, ...] = ()
    stock_changes: tuple[StockChange, ...] = ()
    closed: tuple[Closed, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplanSettings:
    """``[replan]`` in ``scenario.toml``.

    ``replacement_days``: working days after a receipt by which rejected rice must be
    replaced. ``move_cost_per_kpm_day``: the cost of moving an announced delivery by one day,
    per family, so that a re-plan changes as little as it can (an estimate: ten times the
    default cost of a family waiting one day, ``objective.wait_cost_per_kpm_day``).
    ``freeze_days``: working days from today whose routes stay as they were (1: today's
    trucks are loaded); ``bsb replan --freeze-days`` overrides it.
    """

    replacement_days: int = 3
    move_cost_per_kpm_day: float = 1000.0
    freeze_days: int = 1
