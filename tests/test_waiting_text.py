"""geodata.waiting_text: families' waiting in words and an inline SVG curve."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from geodata.waiting_text import (
    curve_span,
    curve_svg,
    day_fraction,
    share_label,
    step_points,
    waiting_lines,
)
from optimizer.waiting import WaitingCurve

SVG = "{http://www.w3.org/2000/svg}"
# 20 families: 10 on the 3rd, 19 (95 %) on the 5th, all on 2 October, after the deadline.
CURVE = WaitingCurve(
    "T<1>",
    20,
    date(2020, 9, 1),
    date(2020, 9, 30),
    ((date(2020, 9, 3), 10), (date(2020, 9, 5), 19), (date(2020, 10, 2), 20)),
    4.26,
)


def test_the_lines_give_the_key_days_the_target_dates_and_the_mean_wait() -> None:
    served, reached = waiting_lines(CURVE, "en")
    assert served == (
        "Families served by date: 7 days after release (Tue, 8 Sept 2020) 95.0%;"
        " 14 days after release (Tue, 15 Sept 2020) 95.0%; deadline (Wed, 30 Sept 2020) 95.0%;"
        " last delivery (Fri, 2 Oct 2020) 100.0%"
    )
    assert reached == (
        "95% families: Sat, 5 Sept 2020; 100% families: Fri, 2 Oct 2020;"
        " mean wait: 4.3 days after release"
    )
    assert waiting_lines(CURVE, "id")[1] == (
        "95% KPM: Sab, 5 Sep 2020; 100% KPM: Jum, 2 Okt 2020;"
        " rata-rata menunggu: 4,3 hari setelah tahap dibuka"
    )


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        waiting_lines(CURVE, "fr")


def test_share_labels_are_whole_percent() -> None:
    assert share_label(0.95, "id") == "95%"
    assert share_label(1.0, "en") == "100%"


def test_the_svg_is_one_element_stepping_from_nothing_to_the_families_served() -> None:
    svg = curve_svg(CURVE, "en", width_px=200, height_px=62)
    root = ET.fromstring(svg)  # well-formed: the tranche id's "<" is escaped
    assert root.tag == f"{SVG}svg"
    assert root.findtext(f"{SVG}title", "").startswith("Tranche T<1>: 95% families")
    points = [
        tuple(float(v) for v in pair.split(","))
        for pair in root.find(f"{SVG}polyline").get("points").split()  # type: ignore[union-attr]
    ]
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    assert xs == sorted(xs)  # time runs right
    assert ys == sorted(ys, reverse=True)  # the share only rises (y grows downwards)
    assert (xs[0], ys[0]) == (1.0, 49.0)  # the release, no family: bottom left of the plot
    assert (xs[-1], ys[-1]) == (199.0, 1.0)  # the last delivery, every family: top right
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing to fetch
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["Tue, 1 Sept 2020", "Fri, 2 Oct 2020"]


def test_a_curve_with_no_delivery_stays_at_zero() -> None:
    empty = WaitingCurve("T", 20, date(2020, 9, 1), date(2020, 9, 30), (), 0.0)
    root = ET.fromstring(curve_svg(empty, "id"))
    ys = {p.split(",")[1] for p in root.find(f"{SVG}polyline").get("points").split()}  # type: ignore[union-attr]
    assert len(ys) == 1


def test_step_points_rise_on_delivery_days_and_end_at_the_span_end() -> None:
    release, end = curve_span(CURVE)
    assert (release, end) == (date(2020, 9, 1), date(2020, 10, 2))  # the late last delivery
    span = 31
    assert step_points(CURVE) == (
        (0.0, 0.0),
        (2 / span, 0.0),
        (2 / span, 0.5),
        (4 / span, 0.5),
        (4 / span, 0.95),
        (1.0, 0.95),
        (1.0, 1.0),
        (1.0, 1.0),
    )
    assert day_fraction(CURVE, date(2020, 9, 30)) == 29 / span
