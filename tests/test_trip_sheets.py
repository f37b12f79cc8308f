from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from geodata.papers import safe_stem
from geodata.trip_sheets import trip_sheet_files, truck_days, write_trip_sheets
from optimizer.model import Scenario
from optimizer.solution import Plan, Route, Stop
from tests.conftest import make_tiny_scenario

DAY = date(2020, 9, 1)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute)


def two_trip_plan(scenario: Scenario | None = None, truck: str = "T2") -> tuple[Scenario, Plan]:
    """T2 drives two trips on 1 September; T1 one trip on 2 September."""
    scenario = scenario or make_tiny_scenario()
    trip1 = (
        Stop("P2", "T-SEP", 1200.0, 80, at(8), at(8, 20)),
        Stop("00042", "T-SEP", 1500.0, 100, at(9), at(9, 30)),
    )
    trip2 = (Stop("P4", "T-SEP", 900.0, 60, at(12), at(12, 35)),)
    day2 = date(2020, 9, 2)
    trip3 = (
        Stop("P3", "T-SEP", 1800.0, 120, datetime(2020, 9, 2, 9), datetime(2020, 9, 2, 9, 40)),
    )
    routes = (
        Route(truck, "W1", DAY, 1, at(7), at(10, 30), 21.5, 2700.0, trip1),
        Route(truck, "W1", DAY, 2, at(11), at(13, 30), 9.0, 900.0, trip2),
        Route(
            "T1",
            "W1",
            day2,
            1,
            datetime(2020, 9, 2, 7),
            datetime(2020, 9, 2, 11),
            12.0,
            1800.0,
            trip3,
        ),
    )
    return scenario, Plan("tiny", routes, (), kpis={})


def test_one_sheet_per_truck_day(tmp_path: Path) -> None:
    scenario, plan = two_trip_plan()
    written = write_trip_sheets(scenario, plan, tmp_path / "sheets")
    assert [p.name for p in written] == ["2020-09-01_T2.html", "2020-09-02_T1.html"]
    assert sorted(p.name for p in (tmp_path / "sheets").iterdir()) == [p.name for p in written]
    assert [(d.truck, d.day, len(d.routes)) for d in truck_days(plan)] == [
        ("T2", DAY, 2),
        ("T1", date(2020, 9, 2), 1),
    ]


def test_sheet_lists_stops_in_driving_order_with_times_and_sacks() -> None:
    scenario, plan = two_trip_plan()
    page = trip_sheet_files(scenario, plan)["2020-09-01_T2.html"].decode("utf-8")
    order = [page.index(f"<b>{pid}</b>") for pid in ("P2", "00042", "P4")]
    assert order == sorted(order)
    assert "Rit 1" in page and "Rit 2" in page
    # Times, dates and numbers as an Indonesian reader writes them (Babel, id_ID).
    assert "08.00" in page and "09.30" in page and "12.35" in page
    assert "08:00" not in page
    assert "Selasa, 1 September 2020" in page
    assert re.search(r"<td class='n'>80</td>", page)
    assert re.search(r"<td class='n'>180</td><td class='n'>2.700</td>", page)  # trip 1 totals
    assert "001/01" in page  # RT/RW of 00042
    assert "Gudang Dramaga" in page


def test_sheet_prints_on_a4_without_scripts_or_network() -> None:
    scenario, plan = two_trip_plan()
    page = trip_sheet_files(scenario, plan)["2020-09-01_T2.html"].decode("utf-8")
    assert "size:A4" in page
    assert "<script" not in page
    hosts = set(re.findall(r"https?://[^\"' )]+", page))
    assert hosts == {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched


def test_small_map_draws_each_trip_with_arrows_and_numbered_stops() -> None:
    scenario, plan = two_trip_plan()
    page = trip_sheet_files(scenario, plan)["2020-09-01_T2.html"].decode("utf-8")
    assert page.count('class="route"') == 2
    assert page.count('class="warehouse"') == 1
    assert page.count("<circle") == 3
    assert page.count('class="arrow"') >= 2  # at least the long legs carry an arrowhead


def test_sheet_in_english() -> None:
    scenario, plan = two_trip_plan()
    page = trip_sheet_files(scenario, plan, language="en")["2020-09-02_T1.html"].decode("utf-8")
    assert "Trip sheet" in page and "Facilitator&#x27;s initials" in page and "Driver" in page
    assert "Surat jalan" not in page
    assert "Wednesday, 2 September 2020" in page and re.search(r"\d\d:\d\d", page)


def test_unknown_language_is_refused(tmp_path: Path) -> None:
    scenario, plan = two_trip_plan()
    with pytest.raises(ValueError, match="language"):
        write_trip_sheets(scenario, plan, tmp_path, language="fr")
    assert list(tmp_path.iterdir()) == []


def test_truck_ids_become_safe_file_names_and_text_is_escaped() -> None:
    base = make_tiny_scenario()
    odd = "T/2 <x>"
    trucks = (base.trucks[0], dataclasses.replace(base.trucks[1], id=odd))
    point = dataclasses.replace(base.drop_points[1], name="<b>RW 02</b>")
    scenario = dataclasses.replace(
        base, trucks=trucks, drop_points=(base.drop_points[0], point, *base.drop_points[2:])
    )
    scenario, plan = two_trip_plan(scenario, truck=odd)
    files = trip_sheet_files(scenario, plan)
    name = f"2020-09-01_{safe_stem(odd)}.html"
    assert re.fullmatch(r"2020-09-01_[A-Za-z0-9_.-]+\.html", name)
    page = files[name].decode("utf-8")
    assert "&lt;b&gt;RW 02&lt;/b&gt;" in page
    assert "T/2 &lt;x&gt;" in page
