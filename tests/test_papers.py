"""Tests of documents.papers: loading lists, receipt lists (TTB) and the facilitator schedule."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from documents.papers import LANGUAGES, Text, paper_files, write_papers
from geodata.i18n import REASON_LABELS
from optimizer.solution import Plan, ReasonCode, compute_kpis
from tests.conftest import _route, make_tiny_plan, make_tiny_scenario


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))


def _header(rows: list[list[str]], first: str) -> list[str]:
    return next(row for row in rows if row and row[0] == first)


TRIP_STEMS = (
    "2020-09-02_T1_trip1",
    "2020-09-02_T2_trip1",
    "2020-09-03_T2_trip1",
    "2020-10-01_T1_trip1",
)


@pytest.fixture(scope="module")
def papers_id(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("papers_id")
    write_papers(make_tiny_scenario(), make_tiny_plan(), folder, language="id")
    return folder


def test_write_papers_writes_csv_and_xlsx_of_every_paper(papers_id: Path) -> None:
    names = {p.relative_to(papers_id).as_posix() for p in papers_id.rglob("*") if p.is_file()}
    for stem in ("loading_lists", "receipts", "schedule"):
        assert {f"{stem}.csv", f"{stem}.xlsx"} <= names
    trips = {n for n in names if n.startswith("loading_lists/")}
    assert trips == {f"loading_lists/{s}.{ext}" for s in TRIP_STEMS for ext in ("csv", "xlsx")}
    receipts = {n for n in names if n.startswith("receipts/")}
    assert receipts == {
        f"receipts/{p}.{ext}" for p in ("00042", "P2", "P3", "P4") for ext in ("csv", "xlsx")
    }


def test_write_papers_returns_every_file_it_wrote(tmp_path: Path) -> None:
    written = write_papers(make_tiny_scenario(), make_tiny_plan(), tmp_path)
    on_disk = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert set(written) == on_disk
    assert len(written) == len(on_disk)


def test_write_papers_tells_how_many_files_it_has_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from documents import papers

    monkeypatch.setattr(papers._Tick, "PROGRESS_EVERY_S", 0.0)
    told: list[int] = []
    written = write_papers(make_tiny_scenario(), make_tiny_plan(), tmp_path, progress=told.append)
    # One count per per-trip or per-point paper (a csv and an xlsx each), always growing.
    assert told and told == sorted(told) and len(set(told)) == len(told)
    assert told[-1] <= len(written)


def test_csv_papers_start_with_a_byte_order_mark(papers_id: Path) -> None:
    for path in papers_id.rglob("*.csv"):
        assert path.read_bytes().startswith(b"\xef\xbb\xbf"), path


@pytest.mark.parametrize(
    ("language", "seq", "point", "kpm_name", "signature"),
    [
        ("id", "Urutan", "ID titik bagi", "Nama KPM", "Tanda tangan"),
        ("en", "Seq.", "Drop point ID", "Family name (KPM)", "Signature"),
    ],
)
def test_headers_follow_the_language(
    tmp_path: Path, language: str, seq: str, point: str, kpm_name: str, signature: str
) -> None:
    write_papers(make_tiny_scenario(), make_tiny_plan(), tmp_path, language=language)
    trip = _read_csv(tmp_path / "loading_lists" / "2020-09-02_T2_trip1.csv")
    assert _header(trip, seq)[:2] == [seq, point]
    receipt = _read_csv(tmp_path / "receipts" / "00042.csv")
    assert _header(receipt, "No.") == ["No.", kpm_name, Text.KPM_KG.label(language), signature]
    workbook = load_workbook(tmp_path / "schedule.xlsx")
    sheet = workbook.worksheets[0]
    header_row = int(sheet.freeze_panes[1:]) - 1
    headers = [cell.value for cell in sheet[header_row]]
    assert headers[0] == Text.DESA.label(language)
    assert headers[2] == point


def test_unknown_language_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        write_papers(make_tiny_scenario(), make_tiny_plan(), tmp_path / "p", language="fr")
    assert not (tmp_path / "p").exists()


def test_every_text_and_reason_code_has_a_label_in_every_language() -> None:
    assert set(REASON_LABELS) == set(ReasonCode)
    for language in LANGUAGES:
        labels = [text.label(language) for text in Text]
        assert all(label.strip() for label in labels)
        # Two headers with the same text would be ambiguous on paper.
        assert len(set(labels)) == len(labels), language


def test_loading_list_per_trip_has_stops_in_order_and_a_total(papers_id: Path) -> None:
    rows = _read_csv(papers_id / "loading_lists" / "2020-09-02_T2_trip1.csv")
    assert rows[0] == ["Daftar muat"]
    assert ["Truk", "T2"] in rows
    assert ["Berangkat", "07.30"] in rows
    assert ["Tanggal", "2020-09-02"] in rows  # CSV: ISO dates, read as dates in any locale
    start = rows.index(_header(rows, "Urutan")) + 1
    assert rows[start][:2] == ["1", "00042"]
    assert rows[start][4] == "001/01"
    assert rows[start + 1][:2] == ["2", "P2"]
    assert rows[start + 2] == ["Jumlah", "", "", "", "", "", "180", "2700"]


def test_combined_loading_list_has_one_row_per_stop(papers_id: Path) -> None:
    rows = _read_csv(papers_id / "loading_lists.csv")
    header = _header(rows, "Tanggal")
    body = rows[rows.index(header) + 1 :]
    assert len(body) == 6
    assert [r[0] for r in body] == sorted(r[0] for r in body)


def test_receipt_numbers_one_line_per_family(papers_id: Path) -> None:
    rows = _read_csv(papers_id / "receipts" / "00042.csv")
    assert ["ID titik bagi", "00042"] in rows
    assert ["Jumlah KPM", "50"] in rows
    assert ["Tahap", "T-SEP"] in rows and ["Tahap", "T-OKT"] in rows
    numbered = [r for r in rows if r and r[0].isdigit() and len(r) == 4]
    # 50 families, once per tranche, each with the tranche's ration prefilled.
    assert [int(r[0]) for r in numbered] == list(range(1, 51)) * 2
    assert {r[2] for r in numbered[:50]} == {"30"}
    assert {r[2] for r in numbered[50:]} == {"15"}
    assert all(r[1] == "" and r[3] == "" for r in numbered)


def test_partial_receipt_lists_only_the_families_served(papers_id: Path) -> None:
    rows = _read_csv(papers_id / "receipts" / "P3.csv")
    assert ["Jumlah KPM", "60"] in rows
    assert ["KPM masih menunggu", "60"] in rows
    reason = next(r[1] for r in rows if r and r[0] == "Alasan")
    assert reason.startswith("Armada tidak cukup sebelum batas waktu: 2 truk gudang W1")
    assert "Rabu, 30 September 2020" in reason
    numbered = [r for r in rows if r and r[0].isdigit()]
    assert [int(r[0]) for r in numbered] == list(range(1, 61))
    assert rows[-1] == ["Jumlah", "", "1800", ""]


def test_receipt_lists_whole_families_and_a_total_that_matches(tmp_path: Path) -> None:
    # 975 kg of a 30 kg ration is 32 families and 15 kg that serve nobody: 32 lines, 960 kg.
    scenario = make_tiny_scenario()
    route = _route("T1", date(2020, 9, 2), 1, [("P2", "T-SEP", 975.0, "08:00", "08:30")])
    plan = Plan("tiny", (route,), (), compute_kpis(scenario, (route,), ()))
    write_papers(scenario, plan, tmp_path, language="en")
    rows = _read_csv(tmp_path / "receipts" / "P2.csv")
    assert ["Families (KPM)", "32"] in rows
    assert ["Families still waiting", "8"] in rows
    numbered = [r for r in rows if r and r[0].isdigit()]
    assert len(numbered) == 32
    assert rows[-1] == ["Total", "", str(32 * 30), ""]
    assert sum(int(r[2]) for r in numbered) == 32 * 30


def test_receipt_without_waiting_families_gives_no_reason(papers_id: Path) -> None:
    rows = _read_csv(papers_id / "receipts" / "00042.csv")
    assert ["KPM masih menunggu", "0"] in rows
    assert not [r for r in rows if r and r[0] == "Alasan"]


def test_receipt_workbook_has_a_sheet_per_tranche_and_text_ids(papers_id: Path) -> None:
    workbook = load_workbook(papers_id / "receipts" / "00042.xlsx")
    assert workbook.sheetnames == ["T-SEP", "T-OKT"]
    sheet = workbook["T-SEP"]
    assert sheet["B2"].value == "00042"
    assert sheet["B2"].data_type == "s"
    header_row = int(sheet.freeze_panes[1:]) - 1
    assert sheet.print_title_rows == f"${header_row}:${header_row}"
    headers = [c.value for c in sheet[header_row]]
    assert headers == ["No.", "Nama KPM", "Beras diterima (kg)", "Tanda tangan"]
    assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)


def test_xlsx_header_is_bold_and_frozen(papers_id: Path) -> None:
    sheet = load_workbook(papers_id / "loading_lists" / "2020-09-02_T2_trip1.xlsx").worksheets[0]
    header_row = int(sheet.freeze_panes[1:]) - 1
    assert sheet.cell(row=header_row, column=1).value == "Urutan"
    assert all(cell.font.b for cell in sheet[header_row])
    assert sheet.print_title_rows == f"${header_row}:${header_row}"
    point_cell = sheet.cell(row=header_row + 1, column=2)
    assert point_cell.value == "00042"
    assert point_cell.data_type == "s"
    assert sheet.column_dimensions["C"].width >= len("RW 01 Babakan")


def test_receipts_summary_has_one_row_per_point_and_tranche(papers_id: Path) -> None:
    rows = _read_csv(papers_id / "receipts.csv")
    body = rows[rows.index(_header(rows, "ID titik bagi")) + 1 :]
    assert sorted((r[0], r[5]) for r in body) == [
        ("00042", "T-OKT"),
        ("00042", "T-SEP"),
        ("P2", "T-OKT"),
        ("P2", "T-SEP"),
        ("P3", "T-SEP"),
        ("P4", "T-SEP"),
    ]


def test_schedule_lists_what_will_not_come_with_its_reason(papers_id: Path) -> None:
    rows = _read_csv(papers_id / "schedule.csv")
    header = _header(rows, "Desa/Kelurahan")
    body = [dict(zip(header, r, strict=True)) for r in rows[rows.index(header) + 1 :]]
    p3 = [r for r in body if r["ID titik bagi"] == "P3"]
    assert [(r["Tahap"], r["Status"]) for r in p3] == [
        ("T-SEP", "Dijadwalkan sebagian"),
        ("T-SEP", "Tidak terjadwal"),
        ("T-OKT", "Tidak terjadwal"),
    ]
    assert p3[0]["Perkiraan waktu bongkar"] == "08.20–08.53"
    assert p3[0]["Tanggal"] == "2020-09-03"
    assert p3[1]["Alasan"] == "Armada tidak cukup sebelum batas waktu"
    assert p3[2]["Alasan"] == "Stok gudang habis"
    # Said in Indonesian from the reason's facts, not plan.json's English sentence.
    assert p3[2]["Keterangan"] == (
        "Gudang yang dapat menjangkau titik bagi P3 tidak punya sisa stok untuk satu jatah KPM "
        "lagi (15 kg) pada tahap T-OKT (sisa stok di akhir perencanaan: W1 12,5 kg)."
    )
    delivered = [r for r in body if r["Status"] == "Dijadwalkan"]
    assert len(delivered) == 5
    keys = [(r["Kecamatan"], r["Desa/Kelurahan"]) for r in body]
    assert keys == sorted(keys)


def test_xlsx_dates_are_dates_shown_in_the_papers_language(papers_id: Path) -> None:
    sheet = load_workbook(papers_id / "loading_lists" / "2020-09-02_T2_trip1.xlsx").worksheets[0]
    cell = next(row[1] for row in sheet.iter_rows() if row[0].value == "Tanggal")
    assert cell.is_date
    assert cell.value.date() == date(2020, 9, 2)
    assert cell.number_format == "[$-421]dddd, d mmmm yyyy"
    receipts = load_workbook(papers_id / "receipts.xlsx").worksheets[0]
    delivered = [row[-1] for row in receipts.iter_rows(min_row=4)]
    assert delivered and all(c.is_date for c in delivered)  # one delivery date each: a date
    assert delivered[0].value.date() == date(2020, 9, 2)


def test_several_delivery_dates_in_one_cell_are_written_out() -> None:
    from documents.papers import _xlsx_value

    days = (date(2020, 9, 2), date(2020, 9, 3))
    assert _xlsx_value(days, "id") == "Rab, 2 Sep 2020; Kam, 3 Sep 2020"
    assert _xlsx_value(days[:1], "id") == date(2020, 9, 2)


def test_ids_that_look_like_formulas_stay_text(tmp_path: Path) -> None:
    base = make_tiny_scenario()
    odd = base.drop_points[0].__class__(
        "=1+1", "=HYPERLINK(x)", 106.75, -6.56, 50, "Babakan", "Dramaga"
    )
    scenario = make_tiny_scenario(drop_points=(odd, *base.drop_points[1:]))
    route = _route("T1", date(2020, 9, 2), 1, [("=1+1", "T-SEP", 1500.0, "08:00", "08:30")])
    plan = Plan("tiny", (route,), (), compute_kpis(scenario, (route,), ()))
    write_papers(scenario, plan, tmp_path)
    receipts = list((tmp_path / "receipts").glob("*.xlsx"))
    assert len(receipts) == 1
    assert receipts[0].name.startswith("1_1-")
    cell = load_workbook(receipts[0]).worksheets[0]["B2"]
    # The OWASP quote keeps it text in xlsx and in any CSV a spreadsheet exports from it.
    assert (cell.value, cell.data_type) == ("'=1+1", "s")
    with (tmp_path / "receipts.csv").open(encoding="utf-8-sig", newline="") as stream:
        values = {value for row in csv.reader(stream) for value in row}
    assert "'=1+1" in values
    assert "=1+1" not in values


def test_paper_files_render_what_write_papers_writes(tmp_path: Path) -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    rendered = dict(paper_files(scenario, plan, language="en"))
    written = write_papers(scenario, plan, tmp_path, language="en")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(rendered)
    for relative, content in rendered.items():
        if relative.endswith(".csv"):  # xlsx files carry the time they were made
            assert (tmp_path / relative).read_bytes() == content, relative


def _xlsx_content(data: bytes) -> dict[str, bytes]:
    """An xlsx's parts without its creation time (docProps/core.xml)."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n != "docProps/core.xml"}


def test_papers_rendered_by_several_processes_are_the_same_files_in_the_same_order() -> None:
    from benchmarks.papers import build

    scenario, plan, roster = build(points=30, kpm=3, tranches=2, points_per_facilitator=4)
    alone = list(paper_files(scenario, plan, roster=roster, workers=1))
    shared = list(paper_files(scenario, plan, roster=roster, workers=2))
    assert [name for name, _ in shared] == [name for name, _ in alone]
    assert any(name.startswith("facilitators/without_names/") for name, _ in alone)
    for (name, one), (_, two) in zip(alone, shared, strict=True):
        if name.endswith(".xlsx"):
            assert _xlsx_content(one) == _xlsx_content(two), name
        else:
            assert one == two, name
    # Every csv and xlsx paper comes before the first PDF.
    kinds = [name.endswith(".pdf") for name, _ in alone]
    assert kinds == sorted(kinds)
