"""summary.md quotes scenario text as plain text (documents.plan_files.format_summary)."""

from __future__ import annotations

import re
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from documents.summary import _md, format_summary
from optimizer.solution import Plan, compute_kpis
from tests.conftest import make_tiny_scenario


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
