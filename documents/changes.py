"""``changes.csv`` and ``changes.md``: what a re-plan changed against the previous plan.

``changes.csv`` is a machine file (English codes, ISO dates, like ``stops.csv``): one row per
(drop point, tranche, announced or new delivery), columns :data:`CHANGES_COLUMNS`, ``change``
one of :data:`CHANGE_KINDS`. ``changes.md`` is for people, in Bahasa Indonesia by default or in
English: the counts of each kind of change, then every moved, cancelled, replacement and
unassigned row. See ``docs/replan.md``.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from enum import unique
from typing import Any

from geodata.cells import spreadsheet_text
from geodata.i18n import (
    Term,
    WordTable,
    format_integer,
    format_long_date,
    format_short_date,
    parse_language,
    plain_number,
    reason_label,
)
from optimizer.reasons import ReasonCode
from optimizer.replan import Change

__all__ = [
    "CHANGES_COLUMNS",
    "CHANGE_KINDS",
    "ChangeText",
    "changes_csv",
    "changes_md",
]

CHANGES_COLUMNS = (
    "drop_point",
    "tranche",
    "change",
    "old_date",
    "old_truck",
    "new_date",
    "new_truck",
    "families",
    "kg",
    "reason",
)
"""The header of ``changes.csv``, in order."""

CHANGE_KINDS = ("kept", "moved", "new", "replacement", "cancelled", "unassigned")
"""Every value of ``changes.csv``'s ``change`` column, in the order ``changes.md`` counts them."""

LISTED_KINDS = ("moved", "cancelled", "replacement", "unassigned")
"""The kinds of change ``changes.md`` lists row by row."""


@unique
class ChangeText(WordTable):
    """The words of ``changes.md``: ``(id, en)``."""

    TITLE = ("Perubahan rencana", "Plan changes")
    AS_OF = ("per", "as of")
    PREVIOUS_PLAN = ("Rencana sebelumnya", "Previous plan")
    FROZEN_DAYS = ("Hari kerja yang dibekukan", "Frozen working days")
    CHANGE = ("Perubahan", "Change")
    COUNT = ("Banyaknya", "Count")
    KEPT = ("tetap", "kept")
    MOVED = ("dipindah", "moved")
    NEW = ("baru", "new")
    REPLACEMENT = ("penggantian", "replacement")
    CANCELLED = ("dibatalkan", "cancelled")
    UNASSIGNED = ("tidak terjadwal", "not scheduled")
    DROP_POINT = ("Titik bagi", "Drop point")
    TRANCHE = ("Tahap", "Tranche")
    OLD = ("Sebelumnya", "Before")
    NEW_PLAN = ("Sekarang", "Now")
    FAMILIES = ("KPM", "Families")
    REASON = ("Alasan", "Reason")
    TRUCK_UNAVAILABLE = ("truk tidak tersedia", "truck unavailable")
    POINT_CLOSED = ("titik bagi tutup", "drop point closed")
    ALREADY_DELIVERED = ("sudah diterima", "already received")
    STOCK_SHORT = ("stok tidak cukup", "not enough stock")
    REJECTED = ("beras ditolak, diganti", "rejected rice, replaced")


_KIND_WORDS: Mapping[str, ChangeText] = {
    "kept": ChangeText.KEPT,
    "moved": ChangeText.MOVED,
    "new": ChangeText.NEW,
    "replacement": ChangeText.REPLACEMENT,
    "cancelled": ChangeText.CANCELLED,
    "unassigned": ChangeText.UNASSIGNED,
}

_REASON_WORDS: Mapping[str, ChangeText] = {
    "truck_unavailable": ChangeText.TRUCK_UNAVAILABLE,
    "point_closed": ChangeText.POINT_CLOSED,
    "already_delivered": ChangeText.ALREADY_DELIVERED,
    "stock": ChangeText.STOCK_SHORT,
    "rejected": ChangeText.REJECTED,
}


def _iso(day: date | None) -> str:
    return day.isoformat() if day is not None else ""


def changes_csv(changes: Iterable[Change]) -> bytes:
    """Return ``changes.csv`` (UTF-8, header :data:`CHANGES_COLUMNS`).

    Text cells go through ``spreadsheet_text`` so that no id reads as a formula.
    """
    stream = io.StringIO(newline="")
    writer = csv.writer(stream)
    writer.writerow(CHANGES_COLUMNS)
    text = spreadsheet_text
    for row in changes:
        writer.writerow(
            (
                text(row.drop_point),
                text(row.tranche),
                row.change,
                _iso(row.old_date),
                text(row.old_truck),
                _iso(row.new_date),
                text(row.new_truck),
                row.families,
                plain_number(row.kg),
                row.reason,
            )
        )
    return stream.getvalue().encode("utf-8")


def _reason(code: str, language: str) -> str:
    if code in _REASON_WORDS:
        return _REASON_WORDS[code].label(language)
    try:
        return reason_label(ReasonCode(code), language)
    except ValueError:
        return code


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _when(day: date | None, truck: str, language: str) -> str:
    if day is None:
        return "–"
    return f"{format_short_date(day, language)} {_cell(truck)}".strip()


def changes_md(
    changes: Sequence[Change], record: Mapping[str, Any], *, language: str = "id"
) -> str:
    """Return ``changes.md``: counts per kind of change and the rows that matter to people.

    Parameters
    ----------
    changes
        The rows of ``changes.csv``.
    record
        ``plan.json``'s ``replan`` object (``as_of``, ``freeze_days``,
        ``previous_plan_sha256``).
    language
        ``"id"`` (default) or ``"en"``.

    Raises
    ------
    ValueError
        If ``language`` is unknown.
    """
    language = str(parse_language(language))
    words = ChangeText
    as_of = date.fromisoformat(str(record["as_of"]))
    lines = [
        f"# {words.TITLE.label(language)} {words.AS_OF.label(language)} "
        f"{format_long_date(as_of, language)}",
        "",
        f"- {words.PREVIOUS_PLAN.label(language)}: "
        f"sha256 `{record.get('previous_plan_sha256', '')}`",
        f"- {words.FROZEN_DAYS.label(language)}: "
        f"{format_integer(int(record.get('freeze_days', 0)), language)}",
        "",
        f"| {words.CHANGE.label(language)} | {words.COUNT.label(language)} |",
        "|---|---:|",
    ]
    counts = Counter(c.change for c in changes)
    for kind in CHANGE_KINDS:
        lines.append(
            f"| {_KIND_WORDS[kind].label(language)} | {format_integer(counts[kind], language)} |"
        )
    for kind in LISTED_KINDS:
        rows = [c for c in changes if c.change == kind]
        if not rows:
            continue
        lines += [
            "",
            f"## {_KIND_WORDS[kind].label(language).capitalize()}",
            "",
            f"| {words.DROP_POINT.label(language)} | {words.TRANCHE.label(language)} "
            f"| {words.OLD.label(language)} | {words.NEW_PLAN.label(language)} "
            f"| {words.FAMILIES.label(language)} | {words.REASON.label(language)} |",
            "|---|---|---|---|---:|---|",
        ]
        for row in rows:
            lines.append(
                f"| {_cell(row.drop_point)} | {_cell(row.tranche)} "
                f"| {_when(row.old_date, row.old_truck, language)} "
                f"| {_when(row.new_date, row.new_truck, language)} "
                f"| {format_integer(row.families, language)} "
                f"| {_reason(row.reason, language) if row.reason else Term.NONE.label(language)} |"
            )
    return "\n".join(lines) + "\n"
