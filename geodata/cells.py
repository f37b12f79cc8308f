"""Text for spreadsheet cells that no spreadsheet reads as a formula.

Names, desa and ids come from the scenario, that is from whoever wrote it. A value such as
``=HYPERLINK("http://x","y")`` written raw into a CSV or ``.xlsx`` paper becomes a live formula
when a facilitator opens the file (CSV or formula injection). :func:`spreadsheet_text` follows the
OWASP advice (https://owasp.org/www-community/attacks/CSV_Injection): a cell that would start with
``=``, ``+``, ``-``, ``@``, tab or carriage return gets a single quote ``'`` in front, which
spreadsheets read as "this is text". Numbers are not text and never pass through here.

What bsb writes it can read back: :func:`unquote_spreadsheet_text` takes the quote off again,
so a scenario copied into a plan folder reads as the scenario that was planned. Ids are
compared as :func:`normalise_id` makes them, so that an id with a zero-width space inside is
the same id as without it.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from optimizer.builder import normalise_id  # ids are folded where they are checked

__all__ = [
    "FORMULA_TRIGGERS",
    "normalise_id",
    "spreadsheet_text",
    "strip_invisible",
    "unquote_spreadsheet_text",
]

FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make Excel, LibreOffice Calc or Google Sheets read a cell as a formula."""

_KEPT_CONTROLS: Final = frozenset("\t\n\r")
"""Line breaks and tabs may stand inside a cell's text; every other control character goes."""


def strip_invisible(text: str) -> str:
    """Remove control characters (but tab and line breaks) and invisible format characters.

    Format characters (Unicode category ``Cf``: zero-width spaces and joiners, the byte-order
    mark, bidirectional marks and overrides, soft hyphens) print as nothing, so they can hide
    what a cell starts with; control characters cannot be shown on paper and ``.xlsx`` refuses
    most of them.

    Parameters
    ----------
    text
        Any text.

    Returns
    -------
    str
        ``text`` without those characters.
    """
    if text.isprintable():
        # The common case, fast: printable text has no Cc or Cf characters at all.
        return text
    return "".join(
        char
        for char in text
        if char in _KEPT_CONTROLS or unicodedata.category(char) not in ("Cc", "Cf")
    )


def spreadsheet_text(text: str) -> str:
    """Make text safe for a CSV or ``.xlsx`` cell: never a formula, shown as written.

    Control and invisible characters are removed first (:func:`strip_invisible`), so that
    ``"\\x01=1"`` cannot slip past the check. Then, if the text starts with a formula trigger
    (:data:`FORMULA_TRIGGERS`), possibly after blanks, or does so once compatibility forms are
    folded (NFKC: a full-width ``＝`` is an ``=``), a single quote is put in front of it. So is
    text that already starts with quotes before such a trigger (``'=1`` becomes ``''=1``), so
    that :func:`unquote_spreadsheet_text` gives back exactly what was written. Text that starts
    otherwise (every ordinary name) comes back unchanged.

    Parameters
    ----------
    text
        A cell's text: a name, an id, a label.

    Returns
    -------
    str
        The text to write.
    """
    cleaned = strip_invisible(text)
    return "'" + cleaned if _needs_quote(cleaned) else cleaned


def unquote_spreadsheet_text(text: str) -> str:
    """Take off the quote :func:`spreadsheet_text` put in front of a cell's text.

    A leading ``'`` is taken off only where :func:`spreadsheet_text` would have put it: before
    what would read as a formula. ``'abc`` stays ``'abc``. For any text ``t`` without control
    or invisible characters, ``unquote_spreadsheet_text(spreadsheet_text(t)) == t``.

    Parameters
    ----------
    text
        A cell's text as read from a CSV or ``.xlsx`` file.

    Returns
    -------
    str
        The text without that quote.
    """
    if text.startswith("'") and _needs_quote(text[1:]):
        return text[1:]
    return text


def _needs_quote(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` (without its leading quotes) as a formula."""
    unquoted = text.lstrip("'")
    if unquoted.startswith(FORMULA_TRIGGERS):
        return True
    if unquoted.isascii() and not unquoted[:1].isspace():
        return False  # NFKC leaves ASCII as it is, and nothing leads but a non-trigger
    # Some spreadsheets trim blanks on import, and NFKC is how lookalikes become triggers.
    folded = unicodedata.normalize("NFKC", unquoted).lstrip()
    return folded.lstrip("'").startswith(FORMULA_TRIGGERS)
