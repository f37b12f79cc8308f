"""The one exceptions module of bsb.

``BsbError`` is the root. Input problems subclass ``ValueError`` and carry *every* problem
found, each naming file, row and field, so that a planner can fix a spreadsheet in one pass.
``cli.py`` maps these to exit codes: :class:`InputError` is 2, anything else is 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

MAX_LISTED_PROBLEMS: Final = 1000
"""Most problems one :class:`InputError` lists; the rest are only counted.

Enough to fix a spreadsheet in a few passes. A table of two million bad rows would otherwise
make an error of hundreds of megabytes, held in memory and sent to whoever uploaded it.
"""


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
    """Bad input: carries every problem found, not just the first (at most a thousand).

    Parameters
    ----------
    problems
        The problems, in the order found. Past :data:`MAX_LISTED_PROBLEMS` they are counted,
        not kept.
    not_listed
        Problems found but already left out (by a :class:`ProblemCollector`).
    not_listed_file
        The file of the first problem left out, named by the note that ends the list.

    Attributes
    ----------
    problems
        The problems listed; when some were left out, the last one is a note (whole-file, no
        row, no field) saying how many, so that every reader of the list sees it.
    not_listed
        How many problems were found but not listed.
    total
        Every problem found, listed or not (the note not counted).
    """

    def __init__(
        self,
        problems: Iterable[Problem],
        *,
        not_listed: int = 0,
        not_listed_file: str | None = None,
    ) -> None:
        listed: list[Problem] = []
        for problem in problems:
            if len(listed) < MAX_LISTED_PROBLEMS:
                listed.append(problem)
            else:
                not_listed += 1
                if not_listed_file is None:
                    not_listed_file = problem.file
        self.not_listed = not_listed
        self.total = len(listed) + not_listed
        self._rebuild = (tuple(listed), not_listed, not_listed_file)
        count = self.total
        head = f"{count} problem{'s' if count != 1 else ''} in the input"
        if not_listed:
            head += f" (the first {len(listed)} listed)"
            listed.append(_not_listed_note(len(listed), not_listed, not_listed_file or "input"))
        self.problems: tuple[Problem, ...] = tuple(listed)
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions pickle as their class called with ``args`` (the message); rebuild from the
        # problems instead, so that an InputError raised in a worker process arrives whole.
        return (_rebuild_input_error, self._rebuild)


def _rebuild_input_error(
    problems: tuple[Problem, ...], not_listed: int, not_listed_file: str | None
) -> InputError:
    return InputError(problems, not_listed=not_listed, not_listed_file=not_listed_file)


def _not_listed_note(listed: int, not_listed: int, file: str) -> Problem:
    return Problem(
        file,
        f"validation stopped listing after {listed} problems: {not_listed} more "
        f"problem{'s were' if not_listed != 1 else ' was'} found and not listed; fix the ones "
        "listed and validate again",
    )


class ProblemCollector:
    """Gathers problems as a validator finds them: keeps the first thousand, counts the rest.

    Used where a list of problems would be (``append``, ``len``, truth value), so that a table
    of millions of bad rows costs a counter, not millions of messages.

    Parameters
    ----------
    limit
        How many problems to keep (:data:`MAX_LISTED_PROBLEMS`).
    """

    __slots__ = ("_limit", "_listed", "not_listed", "not_listed_file")

    def __init__(self, limit: int = MAX_LISTED_PROBLEMS) -> None:
        self._listed: list[Problem] = []
        self._limit = limit
        self.not_listed = 0
        """Problems found past the limit, counted only."""
        self.not_listed_file: str | None = None
        """The file of the first problem past the limit."""

    def append(self, problem: Problem) -> None:
        """Keep ``problem``, or only count it once the limit is reached."""
        if len(self._listed) < self._limit:
            self._listed.append(problem)
        else:
            if not self.not_listed:
                self.not_listed_file = problem.file
            self.not_listed += 1

    @property
    def full(self) -> bool:
        """True once further problems are only counted."""
        return len(self._listed) >= self._limit

    def __len__(self) -> int:
        return len(self._listed) + self.not_listed

    def __bool__(self) -> bool:
        return bool(self._listed)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self._listed)

    def error(self) -> InputError:
        """Return the :class:`InputError` listing what was kept and counting the rest."""
        return InputError(
            self._listed, not_listed=self.not_listed, not_listed_file=self.not_listed_file
        )
