"""Tests of geodata.i18n and of the language of everything a person reads in a plan folder.

The glossary (docs/glossary.md) and the four text tables must agree; a plan folder written in
one language must hold no word of the other, and its numbers, dates and times must be written
as the language's locale writes them.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import replace
from datetime import date, datetime, time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.numbers import parse_decimal
from hypothesis import example, given
from hypothesis import strategies as st
from openpyxl import load_workbook

from documents.changes import ChangeText
from documents.papers import Text
from documents.plan_files import write_complete_plan
from documents.receipts_template import TEMPLATE_STEM
from documents.trip_sheets import SheetText
from documents.whatif_report import WhatIfText
from geodata.i18n import (
    LANGUAGES,
    LOCALES,
    REASON_LABELS,
    Term,
    format_clock,
    format_integer,
    format_km,
    format_long_date,
    format_number,
    format_percent,
    format_short_date,
    format_time_range,
    language_index,
    reason_label,
    reason_sentence,
)
from geodata.maps import MapText
from optimizer.model import Scenario
from optimizer.reasons import ReasonCode, ReasonFacts
from optimizer.solution import Plan, Unassigned, compute_kpis
from tests.conftest import make_tiny_plan, make_tiny_scenario

GLOSSARY = Path(__file__).resolve().parent.parent / "docs" / "glossary.md"
TABLES = (Text, SheetText, MapText, Term, ChangeText, WhatIfText)

FULL_FACTS = ReasonFacts(
    warehouses=("W1",),
    leftover_kg=(12.5,),
    ration_kg=30.0,
    distance_km=159.53,
    travel_min=190.0,
    shift_h=10.0,
    open_s=8 * 3600,
    close_s=9 * 3600 + 1800,
    largest_truck_kg=20.0,
    trucks=2,
    trip_h=4.5,
    trip_kg=18_764.0,
    working_days=25,
    first_day=date(2020, 9, 1),
    deadline=date(2020, 9, 30),
    start_date=date(2020, 9, 1),
)
"""Every fact set, so that every sentence has all its numbers and dates."""


# --- formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "id",
            ("18.764", "159,5 km", "Selasa, 1 September 2020", "Sel, 1 Sep 2020", "08.00–09.30"),
        ),
        (
            "en",
            ("18,764", "159.5 km", "Tuesday, 1 September 2020", "Tue, 1 Sept 2020", "08:00–09:30"),
        ),
    ],
)
def test_numbers_dates_and_times_follow_the_locale(
    language: str, expected: tuple[str, ...]
) -> None:
    day = date(2020, 9, 1)
    assert (
        format_integer(18_764, language),
        format_km(159.5, language),
        format_long_date(day, language),
        format_short_date(day, language),
        format_time_range(time(8, 0), time(9, 30), language),
    ) == expected


def test_whole_kg_have_no_decimals_and_others_one() -> None:
    assert format_number(1500.0, "id") == "1.500"
    assert format_number(1234.25, "id") == "1.234,2"
    assert format_percent(1, 3, "id") == "33,3%"
    assert format_percent(1, 0, "en") == "–"
    assert format_clock(datetime(2020, 9, 1, 7, 5), "id") == "07.05"


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(LANGUAGES))
@example(18_764, "id")
def test_integers_read_back_in_their_locale(value: int, language: str) -> None:
    assert parse_decimal(format_integer(value, language), locale=LOCALES[language]) == value


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        language_index("fr")
    with pytest.raises(ValueError, match="unknown language"):
        reason_sentence(ReasonCode.STOCK, FULL_FACTS, "P1", "T1", "fr")


# --- reasons ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_reason_has_a_sentence_in_every_language(code: ReasonCode) -> None:
    sentences = {
        language: reason_sentence(code, FULL_FACTS, "P3", "T-SEP", language)
        for language in LANGUAGES
    }
    assert sentences["id"] != sentences["en"]
    for sentence in sentences.values():
        assert sentence.endswith(".")
        assert "?" not in sentence  # every fact it needs is said
    assert set(REASON_LABELS) == set(ReasonCode)


def test_fleet_time_says_not_enough_fleet_before_the_deadline() -> None:
    sentence = reason_sentence(ReasonCode.FLEET_TIME, FULL_FACTS, "P3", "T-SEP", "id")
    assert sentence.startswith("Armada tidak cukup sebelum batas waktu: 2 truk gudang W1")
    assert "18.764 kg" in sentence and "4,5 jam" in sentence
    assert "Rabu, 30 September 2020" in sentence
    assert reason_label(ReasonCode.FLEET_TIME, "en") == "Not enough fleet before the deadline"


def test_fleet_time_without_a_trip_says_the_kg_not_a_zero_hour_trip() -> None:
    # Stock that came back to a warehouse whose fleet is full for the tranche: no trip was made.
    facts = replace(FULL_FACTS, trip_h=None)
    for language, hours in (("id", "perjalanan"), ("en", " h trip")):
        sentence = reason_sentence(ReasonCode.FLEET_TIME, facts, "P3", "T-SEP", language)
        assert hours not in sentence
        assert ("18.764 kg" if language == "id" else "18,764 kg") in sentence


def test_stock_sentence_names_the_warehouses_and_their_leftover() -> None:
    sentence = reason_sentence(ReasonCode.STOCK, FULL_FACTS, "P3", "T-OKT", "id")
    assert "W1 12,5 kg" in sentence and "(30 kg)" in sentence


def test_a_reason_without_facts_says_its_label() -> None:
    assert reason_sentence(ReasonCode.SHIFT, ReasonFacts(), "P3", "T-SEP", "id") == (
        "Terlalu jauh untuk satu hari kerja."
    )


# --- the glossary ----------------------------------------------------------------------------


def _glossary_pairs() -> list[tuple[str, str]]:
    text = GLOSSARY.read_text(encoding="utf-8")
    section = text.split("## Terms", 1)[1].split("\n## ", 1)[0]
    pairs = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("Bahasa Indonesia", "---"):
            pairs.append((cells[0], cells[1]))
    return pairs


def _table_pairs() -> set[tuple[str, str]]:
    return {member.value for table in TABLES for member in table}


def test_glossary_lists_exactly_the_words_of_the_tables() -> None:
    pairs = _glossary_pairs()
    assert len(pairs) == len(set(pairs)), "a term is listed twice"
    assert set(pairs) - _table_pairs() == set(), "in the glossary, in no table"
    assert _table_pairs() - set(pairs) == set(), "in a table, missing from the glossary"


def test_one_english_word_has_one_indonesian_word() -> None:
    # A term is translated the same way in every table (case aside).
    by_english: dict[str, set[str]] = {}
    for indonesian, english in _table_pairs():
        by_english.setdefault(english.casefold(), set()).add(indonesian.casefold())
    assert {e: i for e, i in by_english.items() if len(i) > 1} == {}


# --- a plan folder in one language holds no word of the other --------------------------------


def _plan_with_every_reason(scenario: Scenario) -> Plan:
    base = make_tiny_plan(scenario)
    every_code = [
        Unassigned("P4", "T-OKT", 30.0, 2, code, f"English reason {code}", FULL_FACTS)
        for code in ReasonCode
    ]
    no_trucks = Unassigned(
        "P3", "T-OKT", 30.0, 2, ReasonCode.CAPACITY, "English", ReasonFacts(no_trucks=True)
    )
    on_its_trip = Unassigned(
        "P3",
        "T-OKT",
        30.0,
        2,
        ReasonCode.TIME_WINDOW,
        "English",
        replace(FULL_FACTS, distance_km=None),
    )
    extra = (*every_code, no_trucks, on_its_trip)
    unassigned = base.unassigned + extra
    return replace(
        base,
        unassigned=unassigned,
        kpis=compute_kpis(scenario, base.routes, unassigned),
    )


class _TextNodes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.texts.append(data)


_MAP_STRINGS = re.compile(
    r'"(?:reason|label|day|arrive|depart|return|title)":\s*"((?:[^"\\]|\\.)*)"'
)
_MAP_TEXT = re.compile(r'"text":\s*(\{[^{}]*\})')
"""What a map shows that is not in its HTML text: labels, popups' reasons, days and times."""


def _visible_texts(folder: Path) -> dict[str, list[str]]:
    """The text a person reads in a plan folder, by kind: ``csv``, ``xlsx``, ``html``, ``md``."""
    texts: dict[str, list[str]] = {"csv": [], "xlsx": [], "html": [], "md": []}
    # The receipts template is read back by bsb replan: its header is the progress format's
    # English column names in every language (docs/progress-format.md), and it has no other words.
    template = {f"{TEMPLATE_STEM}.csv", f"{TEMPLATE_STEM}.xlsx"}
    for path in sorted((folder / "papers").rglob("*.csv")):
        if path.name in template:
            continue
        with path.open(encoding="utf-8-sig", newline="") as stream:
            texts["csv"] += [cell for row in csv.reader(stream) for cell in row]
    for path in sorted((folder / "papers").rglob("*.xlsx")):
        if path.name in template:
            continue
        for sheet in load_workbook(path).worksheets:
            texts["xlsx"] += [sheet.title]
            for row in sheet.iter_rows(values_only=True):
                texts["xlsx"] += [value for value in row if isinstance(value, str)]
    for path in sorted(folder.rglob("*.html")):
        page = path.read_text(encoding="utf-8")
        parser = _TextNodes()
        parser.feed(page)
        texts["html"] += parser.texts
        texts["html"] += [json.loads(f'"{m}"') for m in _MAP_STRINGS.findall(page)]
        for labels in _MAP_TEXT.findall(page):
            texts["html"] += list(json.loads(labels).values())
    texts["md"].append((folder / "summary.md").read_text(encoding="utf-8"))
    return texts


def _words(text: str) -> set[str]:
    return {word.casefold() for word in re.findall(r"[^\W\d_]{3,}", text)}


def _scenario_strings(scenario: Scenario) -> list[str]:
    names = [scenario.name]
    names += [w.name for w in scenario.warehouses]
    names += [t.name for t in scenario.tranches]
    names += [t.type for t in scenario.trucks]
    for point in scenario.drop_points:
        names += [point.name, point.desa, point.kecamatan]
    return sorted({n for n in names if n}, key=len, reverse=True)


def _only_words() -> dict[str, set[str]]:
    """Words of one language's glossary column that the other column never uses."""
    indonesian: set[str] = set()
    english: set[str] = set()
    for id_text, en_text in _glossary_pairs():
        indonesian |= _words(id_text)
        english |= _words(en_text)
    # Sentence words the short labels do not hold.
    indonesian |= {"yang", "untuk", "pada", "sampai", "sebelum", "hari", "jam", "menit"}
    english |= {"the", "and", "with", "has", "have", "from", "left", "day", "days", "min"}
    common = indonesian & english
    return {"id": english - common, "en": indonesian - common}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    scenario = make_tiny_scenario()
    plan = _plan_with_every_reason(scenario)
    root = tmp_path_factory.mktemp("languages")
    return {
        language: write_complete_plan(scenario, plan, root / language, language=language)
        for language in LANGUAGES
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_plan_folder_holds_no_word_of_the_other_language(
    folders: dict[str, Path], language: str
) -> None:
    forbidden = _only_words()[language]
    names = _scenario_strings(make_tiny_scenario())
    found: dict[str, set[str]] = {}
    for kind, texts in _visible_texts(folders[language]).items():
        assert texts, kind
        for text in texts:
            for name in names:  # names of places and tranches are the scenario's own
                text = text.replace(name, " ")
            wrong = _words(text) & forbidden
            if wrong:
                found.setdefault(text[:120], set()).update(wrong)
    assert found == {}


def test_the_indonesian_folder_writes_numbers_dates_and_times_the_indonesian_way(
    folders: dict[str, Path],
) -> None:
    texts = _visible_texts(folders["id"])
    read = " ".join(texts["xlsx"] + texts["html"] + texts["md"])
    assert "18.764 kg" in read and "159,5 km" in read
    assert "Rabu, 30 September 2020" in read
    assert "08.10–08.40" in " ".join(texts["csv"])  # the unloading window of 00042
    assert not re.search(r"\d,\d{3}(?!\d)", read), "a thousands comma"
    assert not re.search(r"\b\d{1,2}:\d{2}\b", read), "a time with a colon"
    assert not re.search(r"\d{4}-\d{2}-\d{2}", read), "an ISO date where a person reads it"
    for word in ("Dijadwalkan", "Tidak terjadwal", "Perkiraan waktu bongkar"):
        assert word in read
    assert "Dikirim" not in read


def test_the_english_folder_writes_numbers_the_english_way(folders: dict[str, Path]) -> None:
    texts = _visible_texts(folders["en"])
    read = " ".join(texts["xlsx"] + texts["html"] + texts["md"])
    assert "18,764 kg" in read and "159.5 km" in read
    assert "Wednesday, 30 September 2020" in read
    assert "Not enough fleet before the deadline" in read
    assert not re.search(r"\d\.\d{3}(?!\d)", read), "a thousands dot"


def test_no_road_and_small_truck_reasons_in_indonesian() -> None:
    far = ReasonFacts(road="Jalan Cibuntu", snap_km=2.3, max_snap_km=0.5)
    text = reason_sentence(ReasonCode.NO_ROAD, far, "P7", "T-SEP", "id")
    assert "jalan terdekat yang dapat dilalui berjarak 2,3 km (Jalan Cibuntu)" in text
    small = ReasonFacts(small_only=True, road="Jalan Setapak")
    text = reason_sentence(ReasonCode.CAPACITY, small, "P7", "T-SEP", "id")
    assert "hanya dapat dijangkau truk kecil (Jalan Setapak tertutup bagi truk besar)" in text
    assert reason_label(ReasonCode.NO_ROAD, "id") == "Tidak terjangkau jalan"
