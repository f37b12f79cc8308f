"""Tests of documents/facilitator_papers.py: groups, the PDF (TTB, notices, handover), the xlsx."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from documents.facilitator_papers import (
    FacilitatorText,
    facilitator_groups,
    facilitator_pdf,
    facilitator_xlsx,
)
from geodata.progress_io import RECEIPT_COLUMNS
from geodata.roster_io import mask_nik
from optimizer.model import DropPoint, Scenario
from optimizer.solution import Plan, Route, Stop
from tests.conftest import make_tiny_plan, make_tiny_scenario

_REPLACED = "replacement"
_PAGE = re.compile(rb"/Type /Page\b")


def _text(pdf: bytes) -> bytes:
    """The PDF's page contents, decoded (ReportLab writes them ASCII85 + Flate compressed)."""
    parts = []
    for found in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        data = found.group(1).strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data[:-2])
        parts.append(zlib.decompress(data))
    return b"\n".join(parts)


@dataclass(frozen=True, slots=True)
class _Family:
    """Stand-in of geodata.roster_io.Family (same fields)."""

    kpm_id: str
    name: str
    nik: str = ""
    rt: str = ""
    rw: str = ""


@dataclass(frozen=True, slots=True)
class _Facilitator:
    """Stand-in of optimizer.model.Facilitator (same fields)."""

    id: str
    name: str
    phone: str = ""


class _Scenario:
    """A scenario whose points carry ``facilitator`` (the shared model's new field)."""

    def __init__(
        self, base: Scenario, facilitators: tuple[_Facilitator, ...], by_point: dict[str, str]
    ):
        self.base = base
        self.facilitators = facilitators
        self.drop_points = tuple(_Point(p, by_point.get(p.id)) for p in base.drop_points)
        self.tranches = base.tranches
        self._points = {p.id: p for p in self.drop_points}

    def drop_point(self, point_id: str) -> Any:
        return self._points[point_id]

    def tranche(self, tranche_id: str) -> Any:
        return self.base.tranche(tranche_id)


class _Point:
    def __init__(self, point: DropPoint, facilitator: str | None):
        self._point = point
        self.facilitator = facilitator

    def __getattr__(self, name: str) -> Any:
        return getattr(self._point, name)


def _nik(point_id: str, n: int) -> str:
    return f"3201{abs(hash(point_id)) % 10**8:08d}{n:04d}"


def _roster(scenario: Scenario) -> dict[str, tuple[_Family, ...]]:
    return {
        p.id: tuple(
            _Family(f"{p.id}-{n}", f"Keluarga {p.id} nomor {n}", _nik(p.id, n), "001", "02")
            for n in range(1, p.kpm + 1)
        )
        for p in scenario.drop_points
    }


def _split_plan(scenario: Scenario) -> Plan:
    """The tiny plan plus a second September delivery of 30 families to P3 on 4 September."""
    plan = make_tiny_plan(scenario)
    day = date(2020, 9, 4)
    extra = Route(
        truck="T1",
        warehouse="W1",
        date=day,
        trip=1,
        depart=datetime(2020, 9, 4, 7, 30),
        return_=datetime(2020, 9, 4, 11, 0),
        distance_km=10.0,
        load_kg=900.0,
        stops=(
            Stop("P3", "T-SEP", 900.0, 60, datetime(2020, 9, 4, 8, 0), datetime(2020, 9, 4, 8, 30)),
        ),
    )
    return dataclasses.replace(plan, routes=(*plan.routes, extra))


def test_groups_per_desa_without_facilitators() -> None:
    scenario = make_tiny_scenario()
    groups = facilitator_groups(scenario, make_tiny_plan(scenario))
    assert [g.id for g in groups] == ["Babakan", "Ciherang", "Sukawening", "Petir"]
    for group in groups:
        days = [(v.day, v.arrive) for v in group.visits]
        assert days == sorted(days)
        assert {v.point.desa for v in group.visits} <= {group.name}


def test_groups_per_facilitator_hold_exactly_their_points_and_dates() -> None:
    base = make_tiny_scenario()
    scenario = _Scenario(
        base,
        (_Facilitator("F01", "Siti", "0812"), _Facilitator("F02", "Budi")),
        {"00042": "F01", "P3": "F01", "P2": "F02"},
    )
    plan = make_tiny_plan(base)
    groups = {g.id: g for g in facilitator_groups(scenario, plan)}  # type: ignore[arg-type]
    assert list(groups) == ["F01", "F02", "Petir"]  # P4 has no facilitator: its desa
    assert groups["F01"].name == "Siti" and groups["F01"].phone == "0812"
    stops = {
        (s.drop_point, s.tranche, r.date)
        for r in plan.routes
        for s in r.stops
        if s.drop_point in {"00042", "P3"}
    }
    assert {(v.point.id, v.tranche.id, v.day) for v in groups["F01"].visits} == stops
    assert {v.point.id for v in groups["F02"].visits} == {"P2"}


def test_roster_order_continues_over_split_deliveries() -> None:
    scenario = make_tiny_scenario()
    groups = facilitator_groups(scenario, _split_plan(scenario))
    visits = [v for g in groups for v in g.visits if v.point.id == "P3"]
    assert [(v.day, v.families, v.first_family) for v in visits] == [
        (date(2020, 9, 3), 120 // 2, 0),
        (date(2020, 9, 4), 30, 60),
    ]


def test_ttb_lists_the_first_families_of_the_roster_with_masked_nik() -> None:
    scenario = make_tiny_scenario()
    roster = _roster(scenario)
    group = next(
        g for g in facilitator_groups(scenario, make_tiny_plan(scenario)) if g.id == "Sukawening"
    )
    pdf = _text(facilitator_pdf(scenario, make_tiny_plan(scenario), group, roster))
    served, waiting = roster["P3"][:60], roster["P3"][60:]
    for family in served:
        assert f"({family.name})".encode() in pdf
        assert f"({mask_nik(family.nik)})".encode() in pdf
        assert family.nik.encode() not in pdf
    for family in waiting:  # named as still waiting, without their NIK
        assert family.name.encode() in pdf
        assert mask_nik(family.nik).encode() not in pdf
    full = _text(facilitator_pdf(scenario, make_tiny_plan(scenario), group, roster, full_nik=True))
    assert all(f.nik.encode() in full for f in served)


def test_second_delivery_lists_the_next_families() -> None:
    scenario = make_tiny_scenario()
    plan = _split_plan(scenario)
    roster = _roster(scenario)
    group = next(g for g in facilitator_groups(scenario, plan) if g.id == "Sukawening")
    pdf = _text(facilitator_pdf(scenario, plan, group, roster))
    for family in roster["P3"][:90]:
        assert f"({mask_nik(family.nik)})".encode() in pdf
    for family in roster["P3"][90:]:
        assert mask_nik(family.nik).encode() not in pdf


def test_mask_nik_keeps_four_and_four() -> None:
    assert mask_nik("3201234567890001") == "3201********0001"
    assert set(mask_nik("12345678")) == {"*"}


def test_pdf_pages_without_roster_and_renders() -> None:
    scenario = make_tiny_scenario()
    plan = make_tiny_plan(scenario)
    group = next(g for g in facilitator_groups(scenario, plan) if g.id == "Babakan")
    pdf = facilitator_pdf(scenario, plan, group, None)
    assert pdf.startswith(b"%PDF")
    # schedule + per delivery (2): notice, TTB (50 lines: 2 pages), handover
    assert len(_PAGE.findall(pdf)) >= 1 + 2 * 3
    assert b"(Keluarga" not in _text(pdf)
    # The handover form has receipts.csv's fields in its column order: by place in
    # Indonesian (the column names are English words), by name in English.
    for number, _ in enumerate(RECEIPT_COLUMNS, start=1):
        assert f"\\(kolom {number}\\))".encode() in _text(pdf)
    pdf_en = _text(facilitator_pdf(scenario, plan, group, None, language="en"))
    for column in RECEIPT_COLUMNS:
        assert f"\\({column}\\))".encode() in pdf_en
        assert f"\\({column}\\))".encode() not in _text(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "20", "-png", "-", "/dev/null"], input=pdf, check=True)


def test_indonesian_pdf_has_no_english_words_and_english_on_request() -> None:
    scenario = make_tiny_scenario()
    plan = make_tiny_plan(scenario)
    group = facilitator_groups(scenario, plan)[0]
    pdf_id = _text(facilitator_pdf(scenario, plan, group, _roster(scenario)))
    pdf_en = _text(facilitator_pdf(scenario, plan, group, _roster(scenario), language="en"))
    english = [t.value[1] for t in FacilitatorText if t.value[0] != t.value[1]]
    assert not [w for w in english if f"({w}".encode() in pdf_id]
    assert b"(Goods receipt list (TTB\\)" in pdf_en or b"Goods receipt list" in pdf_en
    assert b"Tanda Terima Barang" not in pdf_en
    assert b"kg kg" not in pdf_id and b"(30 kg)" in pdf_id  # the notice's ration, kg once
    assert b"(Selasa, 2 September 2020" in pdf_id or b"Rabu, 2 September 2020" in pdf_id


def test_xlsx_has_real_dates_frozen_header_filter_and_print_setup(tmp_path: Path) -> None:
    scenario = make_tiny_scenario()
    plan = make_tiny_plan(scenario)
    group = next(g for g in facilitator_groups(scenario, plan) if g.id == "Babakan")
    ws = load_workbook(io.BytesIO(facilitator_xlsx(scenario, plan, group))).active
    assert ws.freeze_panes == "A6"
    assert ws.auto_filter.ref == "A5:M7"
    assert int(ws.page_setup.paperSize) == 9  # A4
    # Fitted to one page wide (1 is the file format's default, so it may be left out) and as
    # many pages down as needed (0), with the header line on every page.
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert int(ws.page_setup.fitToWidth or 1) == 1 and int(ws.page_setup.fitToHeight) == 0
    assert ws.print_title_rows == "$5:$5"
    rows = list(ws.iter_rows(min_row=6, values_only=True))
    assert [r[0] for r in rows] == [datetime(2020, 9, 2), datetime(2020, 10, 1)]
    assert [r[8] for r in rows] == [50, 50] and [r[10] for r in rows] == [1500, 750]
    assert ws.cell(row=6, column=1).number_format.startswith("[$-421]")


def test_unknown_language_is_refused() -> None:
    scenario = make_tiny_scenario()
    plan = make_tiny_plan(scenario)
    group = facilitator_groups(scenario, plan)[0]
    with pytest.raises(ValueError):
        facilitator_pdf(scenario, plan, group, None, language="fr")


def test_done_routes_count_in_roster_order_but_are_not_printed() -> None:
    scenario = make_tiny_scenario()
    plan = _split_plan(scenario)
    first = next(r for r in plan.routes if r.date == date(2020, 9, 3))
    routes = tuple(dataclasses.replace(r, status="done") if r is first else r for r in plan.routes)
    plan = dataclasses.replace(plan, routes=routes)
    group = next(g for g in facilitator_groups(scenario, plan) if g.id == "Sukawening")
    assert [(v.day, v.families, v.first_family) for v in group.visits] == [
        (date(2020, 9, 4), 30, 60)
    ]


def test_replacement_rice_gets_a_handover_but_no_ttb_nor_notice() -> None:
    scenario = make_tiny_scenario()
    plan = make_tiny_plan(scenario)
    day = date(2020, 9, 10)
    stop = Stop(
        "P4",
        "T-SEP",
        45.0,
        3,
        datetime(2020, 9, 10, 8),
        datetime(2020, 9, 10, 8, 20),
        "replacement",
    )
    extra = Route("T1", "W1", day, 1, stop.arrive, stop.depart, 5.0, 45.0, (stop,))
    plan = dataclasses.replace(plan, routes=(*plan.routes, extra))
    group = next(g for g in facilitator_groups(scenario, plan) if g.id == "Petir")
    replacement = group.visits[-1]
    assert replacement.kind == "replacement" and replacement.families == 0
    pdf = facilitator_pdf(scenario, plan, group, _roster(scenario))
    text = _text(pdf)
    # the September delivery: notice, TTB, handover; the replacement rice: a handover only
    assert text.count(b"(PENGUMUMAN)") == 1
    assert text.count(b"(Berita Acara Serah Terima") == 2
    assert text.count(b"(Jumlah: 30 KPM") == 1  # one TTB's total
    assert b"Beras pengganti" in _text(pdf)


def test_printable_keeps_win_ansi_and_strips_what_helvetica_cannot_show() -> None:
    from documents.facilitator_papers import printable

    assert printable("Siti ’Aisyah – Pos “RW 03”") == "Siti ’Aisyah – Pos “RW 03”"
    assert printable("Şükrü Ādi") == "Sükrü Adi"  # marks WinAnsi lacks are dropped
    assert printable("Ali\tbin\nAbu") == "Ali bin Abu"
    assert printable("محمد Ali") == "???? Ali"
