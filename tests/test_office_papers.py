"""Tests of documents/office_papers.py: the Dinas Sosial summary and the dispatch sheets."""

from __future__ import annotations

import base64
import io
import re
import zlib
from datetime import datetime

from openpyxl import load_workbook

from documents.office_papers import dinsos_summary_pdf, dinsos_summary_xlsx, dispatch_sheets
from geodata.i18n import format_short_date
from tests.conftest import make_tiny_plan, make_tiny_scenario


def _text(pdf: bytes) -> bytes:
    """The PDF's page contents, decoded (ReportLab writes them ASCII85 + Flate compressed)."""
    parts = []
    for found in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        data = found.group(1).strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data[:-2])
        parts.append(zlib.decompress(data))
    return b"\n".join(parts)


def test_summary_counts_families_served_and_not_served_with_reasons() -> None:
    scenario = make_tiny_scenario()
    ws = load_workbook(io.BytesIO(dinsos_summary_xlsx(scenario, make_tiny_plan(scenario)))).active
    rows = {r[:3]: r for r in ws.iter_rows(min_row=4, values_only=True) if r[2]}
    sukawening = rows[("Dramaga", "Sukawening", "T-SEP")]
    assert sukawening[3:6] == (120, 60, 1800)
    assert sukawening[6] == datetime(2020, 9, 3) and sukawening[8] == 60
    assert sukawening[9] == "Armada tidak cukup sebelum batas waktu"
    total = list(ws.iter_rows(values_only=True))[-1]
    assert total[3:6] == (480, 270, 6750) and total[8] == 210
    assert ws.freeze_panes == "A4" and ws.auto_filter.ref.startswith("A3:")
    assert ws.cell(row=3, column=1).font.b


def test_summary_pdf_and_english() -> None:
    scenario = make_tiny_scenario()
    plan = make_tiny_plan(scenario)
    pdf = dinsos_summary_pdf(scenario, plan)
    assert pdf.startswith(b"%PDF") and re.search(rb"/Type /Page\b", pdf)
    assert b"(Sukawening)" in _text(pdf) and b"Rekap penyaluran" in _text(pdf)
    english = _text(dinsos_summary_pdf(scenario, plan, language="en"))
    assert b"Distribution summary" in english and b"Rekap" not in english


def test_dispatch_sheets_one_sheet_per_day_with_time_cells() -> None:
    scenario = make_tiny_scenario()
    plan = make_tiny_plan(scenario)
    files = dispatch_sheets(scenario, plan)
    assert list(files) == ["W1.xlsx"]
    workbook = load_workbook(io.BytesIO(files["W1.xlsx"]))
    days = sorted({r.date for r in plan.routes})
    # Tabs named the way an Indonesian reader writes the day, in date order.
    assert workbook.sheetnames == [format_short_date(day, "id") for day in days]
    ws = workbook["Rab, 2 Sep 2020"]
    rows = list(ws.iter_rows(min_row=5, values_only=True))
    assert ws.freeze_panes == "A5"
    assert rows[0][:3] == ("T1", 1, datetime(2020, 9, 2, 7, 30))
    assert rows[-1][4:] == (3, 240, 3600)


def test_the_curve_sheet_gives_families_served_per_tranche_and_day() -> None:
    scenario = make_tiny_scenario()
    book = load_workbook(io.BytesIO(dinsos_summary_xlsx(scenario, make_tiny_plan(scenario))))
    assert book.sheetnames == ["Rekap", "Kurva"]
    ws = book["Kurva"]
    lines = list(ws.iter_rows(values_only=True))
    assert lines[0][0] == "KPM terlayani per tanggal"
    assert lines[1][0] == (
        "Tahap T-SEP: 95% KPM: belum tercapai; 100% KPM: belum tercapai;"
        " rata-rata menunggu: 1,3 hari setelah tahap dibuka"
    )
    header = lines.index(next(r for r in lines if r[0] == "Tahap"))
    # 120 of 240 families on 2 September, 60 more on the 3rd; 90 on 1 October.
    assert lines[header + 1 :] == [
        ("T-SEP", datetime(2020, 9, 2), 120, 120, 240, 50),
        ("T-SEP", datetime(2020, 9, 3), 60, 180, 240, 75),
        ("T-OKT", datetime(2020, 10, 1), 90, 90, 240, 37.5),
    ]
    assert ws.freeze_panes == f"A{header + 2}"
    english = load_workbook(
        io.BytesIO(dinsos_summary_xlsx(scenario, make_tiny_plan(scenario), language="en"))
    )
    assert english.sheetnames == ["Summary", "Curve"]


def test_the_pdf_says_each_tranches_waiting_above_the_table() -> None:
    scenario = make_tiny_scenario()
    text = _text(dinsos_summary_pdf(scenario, make_tiny_plan(scenario)))
    assert b"(Waktu tunggu KPM)" in text and b"(Tahap T-OKT)" in text
    assert b"rata-rata menunggu: 1,3 hari setelah tahap dibuka" in text
    assert text.index(b"Waktu tunggu KPM") < text.index(b"(Sukawening)")


def test_many_tranches_leave_the_table_room_on_the_first_page() -> None:
    from dataclasses import replace
    from datetime import date, timedelta

    from documents.office_papers import WAITING_ROOM_PT
    from optimizer.model import Tranche
    from optimizer.solution import Plan, compute_kpis

    base = make_tiny_scenario()
    start = date(2020, 9, 1)
    tranches = tuple(
        Tranche(
            f"T{i:02d}",
            f"Tahap {i}",
            15.0,
            start + timedelta(30 * i),
            start + timedelta(30 * i + 29),
        )
        for i in range(30)
    )
    scenario = replace(base, tranches=tranches)
    pdf = dinsos_summary_pdf(scenario, Plan("tiny", (), (), compute_kpis(scenario, (), ())))
    first_page = _text(pdf).split(b"Rekap penyaluran")[1]
    # The block stops with "..." and the table's first rows still start on the first page.
    assert b"(Tahap T00)" in first_page and b"(Tahap T29)" not in first_page
    assert b"(...)" in first_page and b"(Babakan)" in first_page
    assert WAITING_ROOM_PT > 0


def test_the_curve_sheet_charts_each_tranches_share_against_the_date() -> None:
    import zipfile

    scenario = make_tiny_scenario()
    data = dinsos_summary_xlsx(scenario, make_tiny_plan(scenario), language="en")
    chart = zipfile.ZipFile(io.BytesIO(data)).read("xl/charts/chart1.xml").decode("utf-8")
    # September's two delivery days and October's one: dates (B) against the share (F).
    assert re.findall(r"<c:f>(.*?)</c:f>", chart) == [
        "Curve!$B$6:$B$7",
        "Curve!$F$6:$F$7",
        "Curve!$B$8",
        "Curve!$F$8",
    ]
    assert "Tranche T-SEP" in chart and "Families served by date" in chart


def test_the_pdf_draws_each_tranches_curve_beside_its_lines() -> None:
    scenario = make_tiny_scenario()
    text = _text(dinsos_summary_pdf(scenario, make_tiny_plan(scenario)))
    # The curve's colour, one stroke per tranche; September steps to 50 % then 75 % of its box.
    assert text.count(b".1 .6 .31 RG") == len(scenario.tranches)
    path = re.search(rb"\.1 \.6 \.31 RG\n1\.2 w\nn (.*?) l\nS", text)
    assert path is not None
    numbers = [float(v) for v in re.findall(rb"[\d.]+", path.group(1))]
    ys = numbers[1::2]
    box_bottom, box_height = ys[0], 12.0 * 72 / 25.4
    shares = sorted({round((y - box_bottom) / box_height, 3) for y in ys})
    assert shares == [0.0, 0.5, 0.75]
