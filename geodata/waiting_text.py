"""Families' waiting in words and a tiny picture, for the summary, the map and the papers.

:func:`optimizer.waiting.waiting_curves` counts; this module says it the same way everywhere,
in the plan's language: two lines per tranche (:func:`waiting_lines`) and an inline SVG curve
(:func:`curve_svg`) that needs no network and no plotting library.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Final

from babel.numbers import format_percent as _babel_percent

from geodata.i18n import (
    LOCALES,
    Term,
    format_decimal,
    format_percent,
    format_short_date,
    parse_language,
)
from optimizer.waiting import KEY_DAYS_AFTER_RELEASE, KeyDay, WaitingCurve

REACHED_SHARES: Final = (0.95, 1.0)
"""The shares of families whose date the summaries give (the programme's 2020 targets: 95 %
by one date, everyone by a later one)."""

CURVE_WIDTH_PX: Final = 220
CURVE_HEIGHT_PX: Final = 64
CURVE_COLOUR: Final = "#1a9850"
"""The map's colour of a delivered drop point: the curve is the families it has served."""
DEADLINE_COLOUR: Final = "#d7191c"


def share_label(share: float, language: str) -> str:
    """``95%`` or ``100%``: a target share, in whole percent as the locale writes it."""
    return _babel_percent(share, format="#,##0%", locale=LOCALES[parse_language(language)])


def _key_day_label(key: KeyDay, language: str) -> str:
    if key is KeyDay.WEEK_1:
        return f"{KEY_DAYS_AFTER_RELEASE[0]} {Term.DAYS_AFTER_RELEASE.label(language)}"
    if key is KeyDay.WEEK_2:
        return f"{KEY_DAYS_AFTER_RELEASE[1]} {Term.DAYS_AFTER_RELEASE.label(language)}"
    if key is KeyDay.DEADLINE:
        return Term.DEADLINE.label(language)
    return Term.LAST_DELIVERY.label(language)


def waiting_lines(curve: WaitingCurve, language: str) -> tuple[str, str]:
    """Say how many of a tranche's families are served by when, in plain text.

    Parameters
    ----------
    curve
        The tranche's curve (:func:`optimizer.waiting.waiting_curves`).
    language
        ``"id"`` or ``"en"``.

    Returns
    -------
    tuple of str
        The share served at each key day (``KPM terlayani per tanggal: 7 hari setelah tahap
        dibuka (Sel, 8 Sep 2020) 50,0%; ...``), then the dates reaching 95 % and 100 % and the
        mean wait (``95% KPM: Kam, 10 Sep 2020; 100% KPM: belum tercapai; rata-rata menunggu:
        3,4 hari setelah tahap dibuka``). No markup: callers quote it for theirs.

    Raises
    ------
    ValueError
        If ``language`` is unknown.
    """
    parse_language(language)
    shares = "; ".join(
        f"{_key_day_label(key, language)} ({format_short_date(day, language)}) "
        f"{format_percent(curve.served_by(day), curve.families_total, language)}"
        for key, day in curve.key_days()
    )
    served = f"{Term.FAMILIES_SERVED_BY_DATE.label(language)}: {shares}"
    reached = []
    for share in REACHED_SHARES:
        day = curve.date_reaching(share)
        when = Term.NOT_REACHED.label(language) if day is None else format_short_date(day, language)
        reached.append(f"{share_label(share, language)} {Term.FAMILIES.label(language)}: {when}")
    wait = (
        f"{Term.MEAN_WAIT.label(language)}: {format_decimal(curve.mean_wait_days, language)} "
        f"{Term.DAYS_AFTER_RELEASE.label(language)}"
    )
    return served, "; ".join([*reached, wait])


def curve_span(curve: WaitingCurve) -> tuple[date, date]:
    """Return the days a picture of ``curve`` spans (release to deadline or last delivery)."""
    last = curve.last_delivery
    return curve.release, (max(curve.deadline, last) if last is not None else curve.deadline)


def day_fraction(curve: WaitingCurve, day: date) -> float:
    """Return where ``day`` falls in :func:`curve_span`, from 0 (release) to 1 (its end)."""
    release, end = curve_span(curve)
    return (day - release).days / max(1, (end - release).days)


def step_points(curve: WaitingCurve) -> tuple[tuple[float, float], ...]:
    """Return the vertices of ``curve`` drawn as steps: ``(day fraction, share served)``.

    Both from 0 to 1 (:func:`day_fraction`; the share of the tranche's families): families
    served on a day count from that day on, so the line is flat between delivery days and rises
    on them. Every picture of the curve (the map's SVG, the Dinas Sosial PDF) draws these.
    """
    total = curve.families_total

    def share(families: int) -> float:
        return families / total if total > 0 else 0.0

    _release, end = curve_span(curve)
    vertices = [(0.0, 0.0)]
    served = 0
    for day, count in curve.points:
        vertices.append((day_fraction(curve, day), share(served)))
        vertices.append((day_fraction(curve, day), share(count)))
        served = count
    vertices.append((day_fraction(curve, end), share(served)))
    return tuple(vertices)


def curve_svg(
    curve: WaitingCurve,
    language: str,
    *,
    width_px: int = CURVE_WIDTH_PX,
    height_px: int = CURVE_HEIGHT_PX,
) -> str:
    """Draw a tranche's share of families served against the date, as inline SVG.

    The x axis runs from the release to the later of the deadline and the last delivery; the
    y axis from no family to all of them. The curve steps up on each delivery day; a red line
    marks the deadline, a faint one 95 % of the families. Labels: the release and the end date
    under the axis.

    Parameters
    ----------
    curve
        The tranche's curve.
    language
        ``"id"`` or ``"en"`` (the dates' labels and the title).
    width_px, height_px
        The picture's size.

    Returns
    -------
    str
        One ``<svg>`` element (no XML declaration), text escaped, no external reference.

    Raises
    ------
    ValueError
        If ``language`` is unknown.
    """
    parse_language(language)
    label_px = 12  # room under the plot for the dates
    plot_h = height_px - label_px
    _release, end = curve_span(curve)

    def x(fraction: float) -> float:
        return round(fraction * (width_px - 2) + 1, 1)

    def y(share: float) -> float:
        return round((1 - share) * (plot_h - 2) + 1, 1)

    vertices = [(x(fx), y(share)) for fx, share in step_points(curve)]
    deadline_x = x(day_fraction(curve, curve.deadline))
    path = " ".join(f"{vx},{vy}" for vx, vy in vertices)
    ninety_five = y(REACHED_SHARES[0])
    title = f"{Term.TRANCHE.label(language)} {curve.tranche}: " + waiting_lines(curve, language)[1]
    font = 'font-size="9" font-family="sans-serif" fill="#555"'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bsb-curve" width="{width_px}" '
        f'height="{height_px}" viewBox="0 0 {width_px} {height_px}" role="img">'
        f"<title>{html.escape(title)}</title>"
        f'<rect x="0.5" y="0.5" width="{width_px - 1}" height="{plot_h - 1}" fill="#fff" '
        'stroke="#ccc"/>'
        f'<line x1="1" y1="{ninety_five}" x2="{width_px - 1}" y2="{ninety_five}" '
        'stroke="#999" stroke-dasharray="2,2"/>'
        f'<line x1="{deadline_x}" y1="1" x2="{deadline_x}" y2="{plot_h - 1}" '
        f'stroke="{DEADLINE_COLOUR}"/>'
        f'<polyline points="{path}" fill="none" stroke="{CURVE_COLOUR}" stroke-width="2"/>'
        f'<text x="1" y="{height_px - 2}" {font}>'
        f"{html.escape(format_short_date(curve.release, language))}</text>"
        f'<text x="{width_px - 1}" y="{height_px - 2}" text-anchor="end" {font}>'
        f"{html.escape(format_short_date(end, language))}</text>"
        "</svg>"
    )
