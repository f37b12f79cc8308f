"""Read and validate the families' roster (``[files] kpm``), for the TTB papers only.

The roster names every family (KPM) of every drop point: ``drop_point, kpm_id, name`` and
optional ``nik, rt, rw``, one row per family, ``.csv`` or ``.xlsx`` read as scenario tables are
(``geodata.scenario_io``: encodings, ``;`` files, cells trimmed, blank rows skipped, columns in
any case and order, extra columns ignored, a close misspelling of a missing column reported).

It holds personal data (names and NIKs), so it is not part of the
:class:`~optimizer.model.Scenario`: :func:`read_roster` reads it on demand, for the papers
that need names, and nothing else keeps it. Every problem names file, row and field and never
quotes a ``name``, ``nik`` or ``kpm_id`` cell; drop point ids (not personal) are quoted.

Checks, all reported at once in one :class:`optimizer.errors.InputError`: required columns
present; ``drop_point`` names a drop point of the scenario; ``kpm_id`` and ``name`` not empty;
``kpm_id`` unique in the file; ``nik``, when given, exactly :data:`NIK_DIGITS` digits (spaces
and dots people type between groups are dropped); ``rt``/``rw`` at most
:data:`MAX_RT_RW_CHARS` characters; and each drop point's number of families in the roster
equal to its ``kpm``, the message naming both numbers.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from geodata.scenario_io import (
    _locate_inside,
    _read_table,
    _Refused,
    _RowCells,
    _side_columns_usable,
    _TableSpec,
)
from optimizer.builder import normalise_id, quoted
from optimizer.errors import InputError, Problem, ProblemCollector
from optimizer.model import Scenario

__all__ = [
    "MAX_NAME_CHARS",
    "MAX_RT_RW_CHARS",
    "NIK_DIGITS",
    "ROSTER_COLUMNS",
    "Family",
    "Roster",
    "mask_nik",
    "read_roster",
    "roster_side_files",
]

NIK_DIGITS: Final = 16
"""Digits of a NIK (Nomor Induk Kependudukan, the KTP number)."""

NIK_KEPT_DIGITS: Final = 4
"""Digits :func:`mask_nik` keeps at each end of a full NIK."""

MAX_NAME_CHARS: Final = 200
"""Longest family name: longer is a pasted paragraph, not a name."""

MAX_RT_RW_CHARS: Final = 10
"""Longest RT or RW: they are numbers of three digits or so (``001``)."""

ROSTER_COLUMNS: Final = ("drop_point", "kpm_id", "name", "nik", "rt", "rw")
"""The roster's columns, in the order documented (docs/scenario-format.md)."""

_ROSTER = _TableSpec("kpm", "family", ("drop_point", "kpm_id", "name"), ("nik", "rt", "rw"))
_NIK_SEPARATORS: Final = str.maketrans("", "", " .-")
_SUGGESTED_FROM_MAX: Final = 1000
"""Most drop point ids searched for a "did you mean" hint (difflib compares with each)."""


@dataclass(frozen=True, slots=True)
class Family:
    """One family (KPM) of the roster, in the order the roster lists it.

    ``nik`` is the 16-digit NIK, or empty when the roster has none; print it through
    :func:`mask_nik` unless ``[papers] full_nik`` is true.
    """

    kpm_id: str
    name: str
    nik: str = ""
    rt: str = ""
    rw: str = ""


Roster = Mapping[str, tuple[Family, ...]]
"""Drop point id -> its families, in roster order (every drop point of the scenario a key)."""


def mask_nik(nik: str) -> str:
    """Return ``nik`` with all but its first and last 4 digits replaced by ``*``.

    Parameters
    ----------
    nik
        A NIK as the roster holds it (16 digits), or any text.

    Returns
    -------
    str
        E.g. ``3201********0004``. A text shorter than :data:`NIK_DIGITS` is masked whole, so
        that a short or truncated number never shows more than half of itself; empty stays
        empty.
    """
    if len(nik) < NIK_DIGITS:
        return "*" * len(nik)
    hidden = len(nik) - 2 * NIK_KEPT_DIGITS
    return nik[:NIK_KEPT_DIGITS] + "*" * hidden + nik[-NIK_KEPT_DIGITS:]


def read_roster(path: Path, scenario: Scenario, *, display: str | None = None) -> Roster:
    """Read the roster at ``path`` and check it against ``scenario``.

    Parameters
    ----------
    path
        The roster file (``.csv`` or ``.xlsx``), e.g. the scenario folder /
        ``scenario.roster_file``.
    scenario
        The scenario whose drop points the roster lists families of.
    display
        How messages name the file (``scenario.roster_file`` as written); ``path``'s name by
        default, never the path on this machine.

    Returns
    -------
    Roster
        Every drop point of the scenario -> its families in roster order.

    Raises
    ------
    InputError
        Listing every problem (file, row, field), none quoting a name, NIK or kpm_id.
    """
    path = Path(path)
    display = display or path.name
    problems = ProblemCollector()
    located = _locate_inside(path.parent, path.name)
    if isinstance(located, _Refused):
        raise InputError([Problem(display, f"'{display}' {located.reason}")])
    if located is None:
        raise InputError(
            [
                Problem(
                    display,
                    "roster file not found; [files] kpm in scenario.toml names it, relative to "
                    "the scenario folder",
                )
            ]
        )
    table = _read_table(located, display, _ROSTER, problems)
    if table is None or not _side_columns_usable(table, _ROSTER, problems):
        raise problems.error()
    families: dict[str, list[Family]] = {p.id: [] for p in scenario.drop_points}
    counted: dict[str, int] = dict.fromkeys(families, 0)
    first_rows: dict[str, int] = {}
    for index in range(len(table.rows)):
        family, point_id = _family(_RowCells(table, index), counted, first_rows, problems)
        if point_id is not None:
            counted[point_id] += 1
            if family is not None:
                families[point_id].append(family)
    for point in scenario.drop_points:
        count = counted[point.id]
        if count != point.kpm:
            problems.append(
                Problem(
                    display,
                    f"drop point {quoted(point.id)} has {count} "
                    f"famil{'y' if count == 1 else 'ies'} in the roster but kpm = {point.kpm} "
                    "in the drop points table; the roster must list each of its families once",
                    field="drop_point",
                )
            )
    if problems:
        raise problems.error()
    return {point_id: tuple(listed) for point_id, listed in families.items()}


def roster_side_files(scenario: Scenario, folder: Path) -> dict[str, bytes]:
    """Return the roster's bytes under its ``[files] kpm`` name, for a plan's scenario copy.

    Parameters
    ----------
    scenario
        The scenario read from ``folder``.
    folder
        The scenario folder.

    Returns
    -------
    dict[str, bytes]
        ``{scenario.roster_file: content}``, or empty when the scenario names no roster or it
        is not a regular file inside the folder (the reader has reported that already).
    """
    if scenario.roster_file is None:
        return {}
    located = _locate_inside(Path(folder), scenario.roster_file)
    if located is None or isinstance(located, _Refused):
        return {}
    return {scenario.roster_file: located.read_bytes()}


def _family(
    cells: _RowCells,
    known_points: Collection[str],
    first_rows: dict[str, int],
    problems: ProblemCollector,
) -> tuple[Family | None, str | None]:
    """Check one row; return its family (None when bad) and its known drop point (or None)."""
    file, row = cells.table.file, cells.row
    found: list[Problem] = []

    def problem(field: str, message: str) -> None:
        found.append(Problem(file, message, row=row, field=field))

    point_text = normalise_id(cells.text("drop_point") or "")
    point_id: str | None = point_text or None
    if not point_text:
        problem("drop_point", "drop_point is empty; expected the id of a drop point")
    elif point_text not in known_points:
        problem(
            "drop_point",
            f"unknown drop point {quoted(point_text)}{_closest_point(point_text, known_points)}",
        )
        point_id = None
    kpm_id = normalise_id(cells.text("kpm_id") or "")
    if not kpm_id:
        problem("kpm_id", "kpm_id is empty; expected the family's id in the DTKS/PKH data")
    elif kpm_id in first_rows:
        problem(
            "kpm_id",
            f"duplicate kpm_id (the same as row {first_rows[kpm_id]}); each family is listed once",
        )
    else:
        first_rows[kpm_id] = row
    name = (cells.text("name") or "").strip()
    if not name:
        problem("name", "name is empty; expected the family's name as on the KKS card")
    elif len(name) > MAX_NAME_CHARS:
        problem("name", f"name is {len(name)} characters long; expected at most {MAX_NAME_CHARS}")
    nik = (cells.text("nik") or "").translate(_NIK_SEPARATORS)
    if nik and (len(nik) != NIK_DIGITS or not nik.isascii() or not nik.isdigit()):
        digits = sum(c.isdigit() for c in nik)
        problem(
            "nik",
            f"nik is not {NIK_DIGITS} digits (it has {len(nik)} characters, {digits} of them "
            f"digits); expected the {NIK_DIGITS}-digit NIK of the KTP, stored as text so that a "
            "spreadsheet keeps every digit, or an empty cell",
        )
    rt_rw: dict[str, str] = {}
    for column in ("rt", "rw"):
        value = cells.text(column) or ""
        if len(value) > MAX_RT_RW_CHARS:
            problem(
                column,
                f"{column} is {len(value)} characters long; expected at most "
                f"{MAX_RT_RW_CHARS}, e.g. 001",
            )
        rt_rw[column] = value
    for found_problem in found:
        problems.append(found_problem)
    if found:
        return None, point_id
    return Family(kpm_id, name, nik, rt_rw["rt"], rt_rw["rw"]), point_id


def _closest_point(point_id: str, known: Collection[str]) -> str:
    if len(known) <= _SUGGESTED_FROM_MAX:
        match = difflib.get_close_matches(point_id, sorted(known), n=1, cutoff=0.6)
        if match:
            return f"; did you mean {match[0]!r}?"
    return "; expected the id of a drop point in the drop points table"
