"""The national index: warehouse summaries, plan.json, summaries by region, the index map."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from documents.national_index import (
    INDEX_KIND,
    LEVELS,
    STATUSES,
    RegionRow,
    WarehouseSummary,
    index_map,
    national_index_dict,
    summarise_warehouse,
    summary_rows,
    write_national_index,
)
from geodata.map_assets import remote_references
from geodata.maps import BSB_MAP_MARKER, is_bsb_map
from geodata.output_guard import read_manifest, write_manifest
from optimizer.model import DropPoint, Scenario, Tranche, Truck, Warehouse
from optimizer.planner import plan_scenario
from optimizer.reasons import ReasonFacts
from optimizer.solution import (
    Plan,
    PlanStatus,
    ReasonCode,
    Route,
    Stop,
    Unassigned,
    compute_kpis,
)
from tests.conftest import make_tiny_plan, make_tiny_scenario

JABAR = "Jawa Barat"


@dataclass(frozen=True, slots=True)
class _Unmet:
    """Stands for ``optimizer.flow_assign.Unmet``: the index reads only these three fields."""

    drop_point: str
    families: int
    reason_code: str


def _regional_tiny() -> Scenario:
    """The tiny scenario with 00042 and P2 in Kabupaten Bogor, P3 and P4 in Kota Bogor."""
    tiny = make_tiny_scenario()
    where = {"00042": "Bogor", "P2": "Bogor", "P3": "Kota Bogor", "P4": "Kota Bogor"}
    points = tuple(replace(p, provinsi=JABAR, kabupaten=where[p.id]) for p in tiny.drop_points)
    warehouse = replace(tiny.warehouses[0], provinsi=JABAR, kabupaten="Bogor")
    return replace(tiny, drop_points=points, warehouses=(warehouse,))


# --- summarise_warehouse -----------------------------------------------------------------------


def test_summary_counts_whole_rations_by_the_points_region() -> None:
    scenario = _regional_tiny()
    summary = summarise_warehouse(scenario, make_tiny_plan(scenario), "warehouses/W1")
    rows = {(r.kabupaten, r.tranche): r for r in summary.regions}
    assert list(rows) == [
        ("Bogor", "T-SEP"),
        ("Bogor", "T-OKT"),
        ("Kota Bogor", "T-SEP"),
        ("Kota Bogor", "T-OKT"),
    ]
    bogor_sep = rows[("Bogor", "T-SEP")]
    assert (bogor_sep.families_served, bogor_sep.kg) == (90, 2700.0)
    assert bogor_sep.families_unassigned == {}
    assert bogor_sep.last_delivery == date(2020, 9, 2)
    assert rows[("Bogor", "T-OKT")].families_served == 90
    # P4's 30 families in full, P3's 1,800 kg = 60 of its 120 rations; the rest waits.
    kota_sep = rows[("Kota Bogor", "T-SEP")]
    assert kota_sep.families_served == 90
    assert kota_sep.families_unassigned == {"fleet_time": 60}
    assert kota_sep.last_delivery == date(2020, 9, 3)
    kota_oct = rows[("Kota Bogor", "T-OKT")]
    assert (kota_oct.families_served, kota_oct.kg, kota_oct.last_delivery) == (0, 0.0, None)
    assert kota_oct.families_unassigned == {"stock": 150}
    assert all(r.families == 150 if r.kabupaten == "Kota Bogor" else 90 for r in summary.regions)
    assert (summary.trucks, summary.trips, summary.truck_days) == (2, 4, 4)
    assert summary.tonnes == 6.75
    assert (summary.provinsi, summary.kabupaten, summary.folder) == (
        JABAR,
        "Bogor",
        "warehouses/W1",
    )
    assert summary.status == "complete"
    assert summary.families_served_per_tranche == {"T-SEP": 180, "T-OKT": 90}


def test_summary_status_says_interrupted_and_failed_checks() -> None:
    scenario = _regional_tiny()
    plan = replace(make_tiny_plan(scenario), status=PlanStatus.INTERRUPTED)
    assert summarise_warehouse(scenario, plan, "w").status == "interrupted"
    failed = summarise_warehouse(scenario, plan, "w", check_violations=3)
    assert (failed.status, failed.check_violations) == ("check_failed", 3)


def test_summary_leaves_replacement_rice_out_of_the_families() -> None:
    scenario = _regional_tiny()
    plan = make_tiny_plan(scenario)
    first = plan.routes[0]
    extra = Stop(
        "00042", "T-SEP", 150.0, 10, first.stops[0].arrive, first.stops[0].depart, "replacement"
    )
    routes = (replace(first, stops=(*first.stops, extra)), *plan.routes[1:])
    summary = summarise_warehouse(scenario, replace(plan, routes=routes), "w")
    bogor_sep = next(r for r in summary.regions if (r.kabupaten, r.tranche) == ("Bogor", "T-SEP"))
    assert bogor_sep.families_served == 90
    assert bogor_sep.kg == 2850.0


def test_summary_needs_a_scenario_of_one_warehouse() -> None:
    scenario = _regional_tiny()
    two = replace(scenario, warehouses=(*scenario.warehouses, Warehouse("W2", "B", 106.8, -6.5, 1)))
    with pytest.raises(ValueError, match="one warehouse"):
        summarise_warehouse(two, make_tiny_plan(scenario), "w")


# --- a national scenario of hand-made warehouse plans -----------------------------------------

TRANCHES = (
    Tranche("S", "September", 30.0, date(2020, 9, 1), date(2020, 9, 30)),
    Tranche("O", "Oktober", 15.0, date(2020, 10, 1), date(2020, 10, 31)),
)
REGIONS = (("Banten", "Serang"), ("Banten", "Lebak"), (JABAR, "Bogor"), (JABAR, ""))


def _national(kpm: list[int], region_of: list[int]) -> Scenario:
    points = tuple(
        DropPoint(
            f"P{i}",
            f"RW {i}",
            106.0 + i * 0.01,
            -6.5,
            families,
            provinsi=REGIONS[region_of[i]][0],
            kabupaten=REGIONS[region_of[i]][1],
        )
        for i, families in enumerate(kpm)
    )
    warehouses = tuple(
        Warehouse(f"W{w}", f"Gudang {w}", 106.0 + w * 0.1, -6.4, 1e6, REGIONS[w][1], REGIONS[w][0])
        for w in range(3)
    )
    trucks = tuple(Truck(f"T{w}", f"W{w}", 5000.0, 7 * 3600, 17 * 3600, 1.0, 1.0) for w in range(3))
    return Scenario("nasional", date(2020, 9, 1), warehouses, trucks, points, TRANCHES)


def _sub_scenario(national: Scenario, warehouse: str, point_ids: list[str]) -> Scenario:
    return replace(
        national,
        warehouses=(national.warehouse(warehouse),),
        trucks=tuple(t for t in national.trucks if t.warehouse_id == warehouse),
        drop_points=tuple(national.drop_point(p) for p in point_ids),
    )


def _plan_serving(sub: Scenario, served: dict[tuple[str, str], int]) -> Plan:
    """One trip per (point, tranche) with rations served; the rest unassigned for stock."""
    warehouse = sub.warehouses[0].id
    truck = sub.trucks[0].id
    routes: list[Route] = []
    unassigned: list[Unassigned] = []
    for point in sub.drop_points:
        for tranche in sub.tranches:
            rations = served[(point.id, tranche.id)]
            day = tranche.release
            start = datetime(day.year, day.month, day.day, 8)
            if rations:
                kg = rations * tranche.kg_per_kpm
                stop = Stop(point.id, tranche.id, kg, round(kg / 15), start, start)
                routes.append(
                    Route(truck, warehouse, day, len(routes) + 1, start, start, 1.5, kg, (stop,))
                )
            if rations < point.kpm:
                kg = (point.kpm - rations) * tranche.kg_per_kpm
                unassigned.append(
                    Unassigned(
                        point.id,
                        tranche.id,
                        kg,
                        round(kg / 15),
                        ReasonCode.STOCK,
                        "no stock",
                        ReasonFacts(),
                    )
                )
    return Plan(sub.name, tuple(routes), tuple(unassigned), compute_kpis(sub, routes, unassigned))


@st.composite
def _nationals(draw: st.DrawFn) -> tuple[Scenario, list[WarehouseSummary], list[_Unmet]]:
    n = draw(st.integers(min_value=1, max_value=12))
    kpm = draw(st.lists(st.integers(1, 80), min_size=n, max_size=n))
    region_of = draw(st.lists(st.integers(0, len(REGIONS) - 1), min_size=n, max_size=n))
    # -1: no warehouse takes the point (unmet), else the warehouse 0..2.
    warehouse_of = draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n))
    national = _national(kpm, region_of)
    summaries: list[WarehouseSummary] = []
    for w in range(3):
        ids = [f"P{i}" for i in range(n) if warehouse_of[i] == w]
        if not ids:
            continue
        sub = _sub_scenario(national, f"W{w}", ids)
        served = {
            (p, t.id): draw(st.integers(0, national.drop_point(p).kpm))
            for p in ids
            for t in TRANCHES
        }
        summaries.append(summarise_warehouse(sub, _plan_serving(sub, served), f"warehouses/W{w}"))
    unmet = [_Unmet(f"P{i}", kpm[i], "stock") for i in range(n) if warehouse_of[i] == -1]
    return national, summaries, unmet


@given(_nationals())
def test_every_region_accounts_for_every_family_of_every_tranche(
    case: tuple[Scenario, list[WarehouseSummary], list[_Unmet]],
) -> None:
    national, summaries, unmet = case
    for level in LEVELS:
        header, rows = summary_rows(level, national, summaries, unmet=unmet)
        due: dict[tuple[str, ...], int] = {}
        for p in national.drop_points:
            key = (p.provinsi,) if level == "provinsi" else (p.provinsi, p.kabupaten)
            due[key] = due.get(key, 0) + p.kpm
        for row in rows:
            cells = dict(zip(header, row, strict=True))
            key = tuple(row[: LEVELS.index(level) + 1])
            assert cells["families"] == due.get(key, 0)
            for t in TRANCHES:
                accounted = cells[f"families_served_{t.id}"] + cells[f"families_unassigned_{t.id}"]
                assert accounted == cells["families"], (level, key, t.id)
        assert sum(row[header.index("warehouses")] for row in rows) == len(summaries)
    index = national_index_dict(national, summaries, unmet=unmet)
    totals = index["totals"]
    for t in TRANCHES:
        unassigned = sum(totals["families_unassigned_per_tranche"][t.id].values())
        assert totals["families_served_per_tranche"][t.id] + unassigned == totals["families"]
    assert sum(totals["families_without_warehouse"].values()) == sum(u.families for u in unmet)


# --- the files ---------------------------------------------------------------------------------


@pytest.fixture
def national_case() -> tuple[Scenario, list[WarehouseSummary], list[_Unmet]]:
    kpm = [50, 40, 30, 20, 10, 60]
    region_of = [0, 0, 1, 2, 3, 2]
    national = _national(kpm, region_of)
    summaries = []
    for w, ids in ((0, ["P0", "P1", "P3"]), (1, ["P2", "P5"])):
        sub = _sub_scenario(national, f"W{w}", ids)
        served = {(p, t.id): national.drop_point(p).kpm for p in ids for t in TRANCHES}
        served[("P1", "O")] = 25  # 15 of P1's families wait for October's ration
        summaries.append(summarise_warehouse(sub, _plan_serving(sub, served), f"warehouses/W{w}"))
    # W2 got no point: it stays in the index as not planned.
    return national, summaries, [_Unmet("P4", 10, "stock")]


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_write_national_index_writes_the_documented_files(
    tmp_path: Path, national_case: tuple[Scenario, list[WarehouseSummary], list[_Unmet]]
) -> None:
    national, summaries, unmet = national_case
    written = write_national_index(tmp_path, national, summaries, unmet=unmet)
    names = [p.relative_to(tmp_path).as_posix() for p in written]
    assert names[0] == "plan.json"
    index = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert sorted(names) == sorted(
        ["plan.json", index["files"]["map"], *index["files"]["summaries"]]
    )
    assert index["kind"] == INDEX_KIND
    assert [w["id"] for w in index["warehouses"]] == ["W0", "W1", "W2"]
    assert [w["status"] for w in index["warehouses"]] == ["complete", "complete", "not_planned"]
    assert index["warehouses"][0]["map"] == "warehouses/W0/map.html"
    assert index["warehouses"][2]["map"] is None
    totals = index["totals"]
    assert totals["families"] == 210
    assert totals["families_served_per_tranche"] == {"S": 200, "O": 185}
    assert totals["families_unassigned_per_tranche"] == {"S": {"stock": 10}, "O": {"stock": 25}}
    assert totals["families_without_warehouse"] == {"stock": 10}
    assert totals["warehouses_by_status"] == dict.fromkeys(STATUSES, 0) | {
        "complete": 2,
        "not_planned": 1,
    }
    # 200 x 30 kg + 185 x 15 kg
    assert totals["tonnes"] == 8.775

    kabupaten = {
        (r["provinsi"], r["kabupaten"]): r for r in _csv(tmp_path / "summary/kabupaten.csv")
    }
    assert list(kabupaten) == [
        ("Banten", "Lebak"),
        ("Banten", "Serang"),
        (JABAR, ""),
        (JABAR, "Bogor"),
    ]
    serang = kabupaten[("Banten", "Serang")]
    # W0 lies in Serang; its 90 families there, 15 of whom wait in October.
    assert (serang["warehouses"], serang["families"]) == ("1", "90")
    assert (serang["families_served_O"], serang["families_unassigned_stock_O"]) == ("75", "15")
    assert serang["last_delivery_S"] == "2020-09-01"
    # The unmet point's families count where they live, in every tranche.
    unnamed = kabupaten[(JABAR, "")]
    assert (unnamed["families_unassigned_stock_S"], unnamed["families_unassigned_stock_O"]) == (
        "10",
        "10",
    )
    assert unnamed["warehouses"] == "0"
    provinsi = {r["provinsi"]: r for r in _csv(tmp_path / "summary/provinsi.csv")}
    assert provinsi[JABAR]["families"] == "90"
    assert provinsi["Banten"]["families_served_S"] == "120"


def test_summary_xlsx_and_markdown_speak_the_language(
    tmp_path: Path, national_case: tuple[Scenario, list[WarehouseSummary], list[_Unmet]]
) -> None:
    national, summaries, unmet = national_case
    write_national_index(tmp_path / "id", national, summaries, unmet=unmet)
    write_national_index(tmp_path / "en", national, summaries, unmet=unmet, language="en")
    sheet = load_workbook(tmp_path / "id/summary/kabupaten.xlsx").active
    assert sheet.title == "Kabupaten-Kota"
    assert [c.value for c in sheet[3]][:3] == ["Provinsi", "Kabupaten/Kota", "Gudang"]
    last = [c.value for c in sheet[sheet.max_row]]
    assert last[0] == "Jumlah"
    assert last[[c.value for c in sheet[3]].index("Jumlah KPM")] == 210
    english = load_workbook(tmp_path / "en/summary/provinsi.xlsx").active
    assert [c.value for c in english[3]][:2] == ["Province", "Warehouses"]
    dates = [c for c in english[4] if isinstance(c.value, datetime)]
    assert dates and all("mmmm" in c.number_format for c in dates)
    md_id = (tmp_path / "id/summary/kabupaten.md").read_text(encoding="utf-8")
    md_en = (tmp_path / "en/summary/kabupaten.md").read_text(encoding="utf-8")
    assert "| Banten | Serang | 1 |" in md_id
    assert "(tidak disebut)" in md_id and "(not given)" in md_en
    assert "Stok gudang habis" in md_id and "No stock left" in md_en
    assert "Sel, 1 Sep 2020" in md_id
    assert "**1.350**" not in md_en  # English groups digits with a comma
    with pytest.raises(ValueError, match="language"):
        write_national_index(tmp_path / "xx", national, summaries, language="xx")


def test_region_names_are_never_markup_or_formulas(tmp_path: Path) -> None:
    national = _national([5], [0])
    hostile = "=HYPERLINK(1)|<b>x</b>"
    national = replace(national, drop_points=(replace(national.drop_points[0], kabupaten=hostile),))
    sub = _sub_scenario(national, "W0", ["P0"])
    summary = summarise_warehouse(sub, _plan_serving(sub, {("P0", "S"): 5, ("P0", "O"): 5}), "w/W0")
    write_national_index(tmp_path, national, [summary])
    md = (tmp_path / "summary/kabupaten.md").read_text(encoding="utf-8")
    assert "<b>" not in md and "\\|\\<b\\>x\\</b\\>" in md
    assert _csv(tmp_path / "summary/kabupaten.csv")[0]["kabupaten"] == "'" + hostile
    sheet = load_workbook(tmp_path / "summary/kabupaten.xlsx").active
    assert sheet.cell(row=4, column=2).value == "'" + hostile


def test_index_map_is_offline_and_links_each_warehouse_map(
    tmp_path: Path, national_case: tuple[Scenario, list[WarehouseSummary], list[_Unmet]]
) -> None:
    national, summaries, unmet = national_case
    write_national_index(tmp_path, national, summaries, unmet=unmet, language="en")
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert remote_references(page) == []
    assert is_bsb_map(tmp_path / "map.html")
    assert page.endswith(BSB_MAP_MARKER.decode())
    index = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    m = index_map(index, language="en")
    (element,) = [c for c in m._children.values() if c._name == "BsbNationalIndex"]
    markers = element.bsb_index["warehouses"]
    assert [(w["id"], w["href"]) for w in markers] == [
        ("W0", "warehouses/W0/map.html"),
        ("W1", "warehouses/W1/map.html"),
        ("W2", None),
    ]
    # Circle area follows families served: W0 110 (the largest), W1 90, W2 none (the least).
    assert [w["radius"] for w in markers] == [22.0, round(22.0 * (90 / 110) ** 0.5, 1), 4.0]
    assert ["Status", "complete"] in markers[0]["rows"]
    assert ["Status", "not planned"] in markers[2]["rows"]
    assert "warehouses/W0/map.html" in page


def test_index_map_data_cannot_break_out_of_its_script(
    national_case: tuple[Scenario, list[WarehouseSummary], list[_Unmet]],
) -> None:
    national, summaries, unmet = national_case
    index = national_index_dict(national, summaries, unmet=unmet)
    index["warehouses"][0]["name"] = "</script><script>alert(1)</script>{{ 7*7 }}"
    page = index_map(index).get_root().render()
    assert "<script>alert(1)" not in page
    assert "\\u003c/script\\u003e" in page
    # Nothing of the name is read as a Jinja tag by branca's second pass.
    assert "{{ 7*7 }}" not in page and "\\u007b{ 7*7 }}" in page


def test_files_join_the_folders_manifest(
    tmp_path: Path, national_case: tuple[Scenario, list[WarehouseSummary], list[_Unmet]]
) -> None:
    national, summaries, unmet = national_case
    tmp_path.joinpath("run.json").write_text("{}", encoding="utf-8")
    write_manifest(tmp_path, "plan")
    written = write_national_index(tmp_path, national, summaries, unmet=unmet)
    manifest = read_manifest(tmp_path)
    assert manifest is not None and manifest.files is not None
    assert {p.relative_to(tmp_path).as_posix() for p in written} <= set(manifest.files)


def test_duplicate_or_unknown_warehouses_are_refused(
    tmp_path: Path, national_case: tuple[Scenario, list[WarehouseSummary], list[_Unmet]]
) -> None:
    national, summaries, _ = national_case
    with pytest.raises(ValueError, match="two summaries"):
        write_national_index(tmp_path, national, [summaries[0], summaries[0]])
    stranger = replace(summaries[0], warehouse="W9")
    with pytest.raises(KeyError):
        write_national_index(tmp_path, national, [stranger])
    assert not any(tmp_path.iterdir())


def test_region_row_families_add_served_and_unassigned() -> None:
    row = RegionRow(JABAR, "Bogor", "S", 7, 210.0, {"stock": 2, "fleet_time": 1}, None)
    assert row.families == 10


def test_a_planned_warehouse_accounts_for_every_family() -> None:
    scenario = _regional_tiny()
    # Stock for about half the rations: the planner leaves whole families for `stock`.
    short = replace(scenario, warehouses=(replace(scenario.warehouses[0], stock_kg=4500.0),))
    plan = plan_scenario(short)
    summary = summarise_warehouse(short, plan, "warehouses/W1")
    due = {"Bogor": 90, "Kota Bogor": 150}
    for row in summary.regions:
        assert row.families == due[row.kabupaten], row
    assert any(row.families_unassigned.get("stock") for row in summary.regions)
    assert sum(r.kg for r in summary.regions) == pytest.approx(plan.kpis.kg_delivered)


def test_a_summary_survives_json_and_a_written_folder_gives_it_again(tmp_path: Path) -> None:
    from documents.national_index import (
        summarise_plan_folder,
        summary_from_dict,
        summary_to_dict,
    )
    from documents.plan_files import write_complete_plan

    scenario = _regional_tiny()
    plan = make_tiny_plan(scenario)
    summary = summarise_warehouse(scenario, plan, "warehouses/W1", check_violations=2)
    text = json.dumps(summary_to_dict(summary))
    assert summary_from_dict(json.loads(text)) == summary
    # A resumed run reads what an earlier run wrote instead of planning it again.
    write_complete_plan(scenario, plan, tmp_path / "warehouses" / "W1")
    again = summarise_plan_folder(tmp_path, "warehouses/W1", check_violations=2)
    assert again == summary


def test_the_index_map_opens_each_warehouse_popup_in_a_browser(
    tmp_path: Path, national_case: tuple[Scenario, list[WarehouseSummary], list[_Unmet]]
) -> None:
    """Headless Chromium (skipped without it): no script error, a circle per warehouse, links."""
    import re

    from tests.conftest import find_chromium

    chromium = find_chromium()
    playwright_api = pytest.importorskip("playwright.sync_api")
    if chromium is None:
        pytest.skip("chromium is not installed")
    national, summaries, unmet = national_case
    write_national_index(tmp_path, national, summaries, unmet=unmet)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context()
            context.route(re.compile(r"^https?://"), lambda route: route.abort())
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto((tmp_path / "map.html").as_uri())
            page.wait_for_selector(".bsb-index-info")
            # Open every circle's popup in turn; keep what each shows.
            popups = page.evaluate(
                """() => {
                  const map = Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k))
                    .map(k => window[k])[0];
                  const shown = [];
                  map.eachLayer(layer => {
                    if (layer instanceof L.CircleMarker) {
                      layer.openPopup();
                      const box = layer.getPopup().getElement()
                        .querySelector('.leaflet-popup-content');
                      const link = box.querySelector('a');
                      shown.push([box.querySelector('b').textContent,
                                  link ? link.getAttribute('href') : null]);
                    }
                  });
                  return shown;
                }"""
            )
            info = page.locator(".bsb-index-info").inner_text()
        finally:
            browser.close()
    assert errors == []
    assert sorted(popups) == [
        ["Gudang 0 (W0)", "warehouses/W0/map.html"],
        ["Gudang 1 (W1)", "warehouses/W1/map.html"],
        ["Gudang 2 (W2)", None],
    ]
    assert "KPM tanpa gudang: 10" in info
