"""``summary.md``: a plan in a few lines of Markdown, in the plan's language.

The CLI prints the same text after ``bsb plan`` and ``bsb demo``. The figures are the plan's
KPIs (``plan.kpis``), the ones ``plan.json`` holds, and under each tranche its families'
waiting (:func:`optimizer.waiting.waiting_curves`, in the words of
:func:`geodata.waiting_text.waiting_lines`); the words are :class:`geodata.i18n.Term`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from geodata.i18n import (
    Term,
    format_integer,
    format_kg,
    format_km,
    format_long_date,
    format_number,
    format_percent,
    language_index,
    reason_label,
    reason_sentence,
)
from geodata.waiting_text import waiting_lines
from optimizer.model import Scenario
from optimizer.reasons import ReasonCode
from optimizer.solution import Plan, PlanStatus
from optimizer.waiting import waiting_curves

__all__ = ["format_summary"]


_STATUS_TERMS: Final[Mapping[PlanStatus, Term]] = MappingProxyType(
    {PlanStatus.COMPLETE: Term.COMPLETE, PlanStatus.INTERRUPTED: Term.INTERRUPTED}
)
"""The summary's word for each plan status."""


def format_summary(scenario: Scenario, plan: Plan, *, language: str = "id") -> str:
    """Summarise a plan in short Markdown (the CLI prints the same text).

    Parameters
    ----------
    scenario
        The scenario the plan is for.
    plan
        The plan. The figures are its KPIs (``plan.kpis``), the ones ``plan.json`` holds.
    language
        ``"id"`` (Bahasa Indonesia, default) or ``"en"``: the words, and the numbers and dates
        as the language's locale writes them (:mod:`geodata.i18n`).

    Returns
    -------
    str
        Markdown, one line per fact, ending with a newline.

    Raises
    ------
    ValueError
        If ``language`` is unknown.
    """
    language_index(language)

    def t(term: Term) -> str:
        return term.label(language)

    def n(value: float) -> str:
        return format_number(value, language)

    kpis = plan.kpis
    total = kpis.families_total
    served = kpis.families_served
    status = _STATUS_TERMS[plan.status]
    lines = [
        f"# {t(Term.PLAN)}: {_md(scenario.name)}",
        "",
        f"- {t(Term.STATUS)}: {t(status)}; "
        f"{t(Term.STRATEGY)}: {_md(plan.strategy)}; {t(Term.SEED)}: {plan.seed}",
        f"- {t(Term.FAMILIES_SERVED)}: {n(served)} {t(Term.OF)} {n(total)}"
        f" ({format_percent(served, total, language)})",
    ]
    curves = waiting_curves(scenario, plan)
    for tranche, curve in zip(scenario.tranches, curves, strict=True):
        demand_kg = sum(scenario.demand_kg(p, tranche) for p in scenario.drop_points)
        delivered_kg = kpis.kg_delivered_per_tranche[tranche.id]
        last_day = kpis.last_delivery_date_per_tranche[tranche.id]
        deadline = f"{t(Term.DEADLINE)} {format_long_date(tranche.deadline, language)}"
        if last_day is None:
            timing = f"{t(Term.NO_DELIVERY)} ({deadline})"
        else:
            late = f" **{t(Term.LATE)}**" if last_day > tranche.deadline else ""
            timing = (
                f"{t(Term.LAST_DELIVERY)} {format_long_date(last_day, language)} ({deadline}){late}"
            )
        lines.append(
            f"- {t(Term.TRANCHE)} {_md(tranche.id)}: {n(delivered_kg)} {t(Term.OF)} {n(demand_kg)}"
            f" {t(Term.KG_SCHEDULED)} ({format_percent(delivered_kg, demand_kg, language)});"
            f" {timing}"
        )
        # Families' view of the same tranche: who has their rice by when, and how long they wait.
        lines.extend(f"  - {_md(line)}" for line in waiting_lines(curve, language))
    lines.append(
        f"- {t(Term.TRIPS)}: {format_integer(kpis.trips, language)}; "
        f"{t(Term.TRUCK_DAYS)}: {format_integer(kpis.truck_days, language)}; "
        f"{t(Term.DISTANCE)}: {format_km(kpis.distance_km, language)}; "
        f"{t(Term.COST)}: {format_integer(kpis.cost, language)}"
    )
    lines.extend(_unassigned_lines(plan, language))
    return "\n".join(lines) + "\n"


_MARKDOWN_SPECIAL = frozenset("\\`*_[]<>#|!&~")
"""ASCII punctuation that Markdown (and the HTML it may hold) reads as markup."""


def _md(text: str) -> str:
    """Quote scenario text (names, ids) in Markdown as plain text.

    A scenario name such as ``<img src=x onerror=...>`` or ``[link](http://x)`` must show as
    written, not become markup when ``summary.md`` is rendered; unprintable characters are
    written as escapes.
    """
    out: list[str] = []
    for c in text:
        if c in _MARKDOWN_SPECIAL:
            out.append("\\" + c)
        elif not c.isprintable():
            out.append(c.encode("unicode_escape").decode("ascii"))
        else:
            out.append(c)
    return "".join(out)


def _unassigned_lines(plan: Plan, language: str) -> list[str]:
    heading = Term.NOT_SCHEDULED.label(language)
    if not plan.unassigned:
        return [f"- {heading}: {Term.NONE.label(language)}"]
    count: dict[ReasonCode, int] = defaultdict(int)
    kg: dict[ReasonCode, float] = defaultdict(float)
    example: dict[ReasonCode, str] = {}
    for item in plan.unassigned:
        code = item.reason_code
        count[code] += 1
        kg[code] += item.kg
        example.setdefault(
            code,
            _md(reason_sentence(code, item.facts, item.drop_point, item.tranche, language)),
        )
    total_kg = sum(kg.values())
    lines = [
        f"- {heading}: {format_integer(len(plan.unassigned), language)} "
        f"{Term.DELIVERIES.label(language)}, {format_kg(total_kg, language)}"
    ]
    # Largest first: the reason that costs the most rice is the one to act on.
    for code in sorted(count, key=lambda c: (-kg[c], str(c))):
        lines.append(
            f"  - {reason_label(code, language)}: "
            f"{format_integer(count[code], language)} ({format_kg(kg[code], language)}); "
            f"{Term.FOR_EXAMPLE.label(language)}: {example[code]}"
        )
    return lines
