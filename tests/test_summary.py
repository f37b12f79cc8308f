"""summary.md quotes scenario text as plain text (documents.plan_files.format_summary)."""

from __future__ import annotations

import re
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from documents.summary import _md, format_summary
from optimizer.solution import Plan, compute_kpis
from tests.conftest import make_tiny_plan, make_tiny_scenario


def test_a_scenario_name_with_html_is_not_markup() -> None:
    scenario = replace(make_tiny_scenario(), name='<img src=x onerror="alert(1)">[x](http://e)')
    text = format_summary(scenario, Plan(scenario.name, (), (), compute_kpis(scenario, (), ())))
    assert not re.search(r"(?<!\\)[<>\[\]]", text)  # every bracket escaped
    assert '\\<img src=x onerror="alert(1)"\\>\\[x\\](http://e)' in text


@given(st.text())
def test_quoted_text_has_no_raw_markup_or_control_characters(text: str) -> None:
    quoted = _md(text)
    unescaped = quoted.replace("\\\\", "")
    for special in "<>[]`*_#|!&~":
        assert special not in unescaped.replace("\\" + special, "")
    assert all(c.isprintable() for c in quoted)


def test_each_tranche_says_when_its_families_are_served_and_how_long_they_wait() -> None:
    scenario = make_tiny_scenario()
    lines = format_summary(scenario, make_tiny_plan(scenario), language="en").splitlines()
    september = lines.index(next(x for x in lines if x.startswith("- Tranche T-SEP:")))
    # The tiny plan serves 120 of 240 families on 2 September and 60 more on the 3rd.
    assert lines[september + 1] == (
        "  - Families served by date: last delivery (Thu, 3 Sept 2020) 75.0%;"
        " 7 days after release (Tue, 8 Sept 2020) 75.0%;"
        " 14 days after release (Tue, 15 Sept 2020) 75.0%; deadline (Wed, 30 Sept 2020) 75.0%"
    )
    assert lines[september + 2] == (
        "  - 95% families: not reached; 100% families: not reached;"
        " mean wait: 1.3 days after release"
    )
    october = lines.index(next(x for x in lines if x.startswith("- Tranche T-OKT:")))
    assert lines[october + 2].startswith("  - 95% families: not reached")


def test_indonesian_waiting_lines_by_default() -> None:
    scenario = make_tiny_scenario()
    text = format_summary(scenario, make_tiny_plan(scenario))
    assert "  - KPM terlayani per tanggal: pengiriman terakhir (Kam, 3 Sep 2020) 75,0%;" in text
    assert "rata-rata menunggu: 1,3 hari setelah tahap dibuka" in text
