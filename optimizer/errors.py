"""The one exceptions module of bsb.

``BsbError`` is the root. Input problems subclass ``ValueError`` and carry *every* problem
found, each naming file, row and field, so that a planner can fix a spreadsheet in one pass.
``cli.py`` maps these to exit codes: :class:`InputError` is 2, anything else is 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class BsbError(Exception):
    """Root of every error bsb raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input.

    ``row`` is the spreadsheet row number (header = row 1, first data row = row 2), or ``None``
    for a whole-file or whole-column problem. ``field`` is the column or TOML key.
    """

    file: str
    message: str
    row: int | None = None
    field: str | None = None

    @property
    def where(self) -> str:
        """File, row and field, e.g. ``drop_points.csv, row 3, field 'kpm'``."""
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", field '{self.field}'"
        return where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class InputError(BsbError, ValueError):
    """Bad input: carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the input"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class CheckError(BsbError):
    """A plan violates the rules (raised by callers that want an exception, not a list)."""
