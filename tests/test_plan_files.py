"""Tests of documents.plan_files: the plan folder, written atomically, and the summary."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest

from documents.plan_files import (
    STOPS_COLUMNS,
    UNASSIGNED_COLUMNS,
    format_summary,
    routes_geojson,
    write_plan_folder,
)
from geodata.output_guard import MANIFEST_NAME, file_sha256, read_manifest
from optimizer.errors import InputError
from optimizer.model import Scenario
from optimizer.solution import Plan, compute_kpis, plan_from_dict, plan_to_dict
from tests.conftest import make_tiny_plan, make_tiny_scenario, tree_digest


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def _copy_scenario(scenario: Scenario, folder: Path) -> None:
    folder.mkdir()
    (folder / "scenario.toml").write_text(f'name = "{scenario.name}"\n', encoding="utf-8")


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_write_plan_folder_writes_every_output(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    result = write_plan_folder(
        make_tiny_scenario(),
        make_tiny_plan(),
        out,
        write_scenario_copy=_copy_scenario,
        extra_files={"map/map.html": b"<html></html>"},
    )
    assert result == out
    for name in ("plan.json", "routes.geojson", "stops.csv", "unassigned.csv", "summary.md"):
        assert (out / name).is_file(), name
    assert (out / "scenario" / "scenario.toml").read_text(encoding="utf-8") == 'name = "tiny"\n'
    assert (out / "papers" / "schedule.xlsx").is_file()
    assert (out / "map" / "map.html").read_bytes() == b"<html></html>"
    assert _leftovers(tmp_path) == []


def test_scenario_copy_is_skipped_without_a_writer(tmp_path: Path) -> None:
    write_plan_folder(make_tiny_scenario(), make_tiny_plan(), tmp_path / "plan")
    assert not (tmp_path / "plan" / "scenario").exists()


def test_plan_json_is_the_contract_and_byte_stable(tmp_path: Path) -> None:
    plan = make_tiny_plan()
    first = write_plan_folder(make_tiny_scenario(), plan, tmp_path / "a")
    second = write_plan_folder(make_tiny_scenario(), make_tiny_plan(), tmp_path / "b")
    data = json.loads((first / "plan.json").read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(plan_to_dict(plan)))
    assert plan_from_dict(data) == plan
    assert (first / "plan.json").read_bytes() == (second / "plan.json").read_bytes()
    assert str(tmp_path) not in (first / "plan.json").read_text(encoding="utf-8")


def test_routes_geojson_has_one_closed_line_per_trip(tmp_path: Path) -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    out = write_plan_folder(scenario, plan, tmp_path / "plan")
    collection = json.loads((out / "routes.geojson").read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == len(plan.routes)
    warehouse = [106.74, -6.57]
    for feature, route in zip(collection["features"], plan.routes, strict=True):
        coordinates = feature["geometry"]["coordinates"]
        assert feature["geometry"]["type"] == "LineString"
        assert coordinates[0] == warehouse and coordinates[-1] == warehouse
        assert len(coordinates) == len(route.stops) + 2
        props = feature["properties"]
        assert props["stops"] == [s.drop_point for s in route.stops]
        assert props["n_stops"] == len(route.stops)
        assert props["sacks"] == sum(s.sacks for s in route.stops)
    first = collection["features"][0]
    assert first["geometry"]["coordinates"][1] == [106.75, -6.56]  # [lon, lat] of 00042
    assert first["properties"]["stops"] == ["00042", "P2"]
    assert first["properties"]["depart"] == "2020-09-02T07:30:00"


def test_routes_geojson_rounds_coordinates_to_six_decimals() -> None:
    base = make_tiny_scenario()
    point = base.drop_points[0].__class__("00042", "x", 106.123456789, -6.987654321, 50)
    scenario = make_tiny_scenario(drop_points=(point, *base.drop_points[1:]))
    collection = routes_geojson(scenario, make_tiny_plan(scenario))
    assert collection["features"][0]["geometry"]["coordinates"][1] == [106.123457, -6.987654]


def test_stops_csv_keeps_ids_verbatim_and_counts_families(tmp_path: Path) -> None:
    out = write_plan_folder(make_tiny_scenario(), make_tiny_plan(), tmp_path / "plan")
    raw = (out / "stops.csv").read_text(encoding="utf-8")
    assert not raw.startswith("\ufeff")
    rows = _read_csv(out / "stops.csv")
    assert tuple(rows[0]) == STOPS_COLUMNS
    assert len(rows) == 6
    first = rows[0]
    assert (first["drop_point"], first["rt"], first["rw"]) == ("00042", "001", "01")
    assert (first["seq"], first["kpm"], first["kg"], first["sacks"]) == ("1", "50", "1500", "100")
    assert (first["lon"], first["lat"]) == ("106.750000", "-6.560000")
    assert first["arrive"] == "2020-09-02T08:10:00"
    assert rows[1]["seq"] == "2"


def test_unassigned_csv_lists_reasons(tmp_path: Path) -> None:
    out = write_plan_folder(make_tiny_scenario(), make_tiny_plan(), tmp_path / "plan")
    rows = _read_csv(out / "unassigned.csv")
    assert tuple(rows[0]) == UNASSIGNED_COLUMNS
    assert [(r["drop_point"], r["tranche"], r["reason_code"]) for r in rows] == [
        ("P3", "T-SEP", "fleet_time"),
        ("P3", "T-OKT", "stock"),
        ("P4", "T-OKT", "stock"),
    ]
    assert rows[0]["name"] == "RW 03 Sukawening"


def _failing_copy(scenario: Scenario, folder: Path) -> None:
    folder.mkdir()
    (folder / "half.csv").write_text("id\n", encoding="utf-8")
    raise OSError("disk full")


def test_failure_leaves_the_old_folder_untouched_and_no_temp(tmp_path: Path) -> None:
    out = write_plan_folder(make_tiny_scenario(), make_tiny_plan(), tmp_path / "plan")
    before = tree_digest(out)
    with pytest.raises(OSError, match="disk full"):
        write_plan_folder(
            make_tiny_scenario(),
            make_tiny_plan(),
            out,
            write_scenario_copy=_failing_copy,
            force=True,
        )
    assert tree_digest(out) == before
    assert _leftovers(tmp_path) == []


def test_failure_without_an_old_folder_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="disk full"):
        write_plan_folder(
            make_tiny_scenario(),
            make_tiny_plan(),
            tmp_path / "plan",
            write_scenario_copy=_failing_copy,
        )
    assert list(tmp_path.iterdir()) == []


def test_rewrite_with_force_replaces_the_old_plan_folder_completely(tmp_path: Path) -> None:
    out = write_plan_folder(
        make_tiny_scenario(),
        make_tiny_plan(),
        tmp_path / "plan",
        write_scenario_copy=_copy_scenario,
    )
    write_plan_folder(make_tiny_scenario(), make_tiny_plan(), out, force=True)
    assert not (out / "scenario").exists()
    assert (out / "plan.json").is_file()
    manifest = read_manifest(out)
    assert manifest is not None and manifest.files is not None
    assert manifest.kind == "plan" and "scenario/scenario.toml" not in manifest.files
    assert _leftovers(tmp_path) == []


def test_rewrite_without_force_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    out = write_plan_folder(make_tiny_scenario(), make_tiny_plan(), tmp_path / "plan")
    before = tree_digest(out)
    with pytest.raises(InputError, match="add --force"):
        write_plan_folder(make_tiny_scenario(), make_tiny_plan(), out, language="en")
    assert tree_digest(out) == before
    assert _leftovers(tmp_path) == []


def test_a_folder_with_a_file_bsb_did_not_write_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    out.mkdir()
    (out / "important.txt").write_text("mine", encoding="utf-8")
    for force in (False, True):
        with pytest.raises(InputError, match=r"bsb did not write it \(it holds important.txt\)"):
            write_plan_folder(make_tiny_scenario(), make_tiny_plan(), out, force=force)
    assert [p.name for p in out.iterdir()] == ["important.txt"]
    assert _leftovers(tmp_path) == []


def test_the_manifest_lists_every_file_with_its_hash(tmp_path: Path) -> None:
    out = write_plan_folder(
        make_tiny_scenario(),
        make_tiny_plan(),
        tmp_path / "plan",
        write_scenario_copy=_copy_scenario,
    )
    manifest = read_manifest(out)
    assert manifest is not None and manifest.kind == "plan" and manifest.files is not None
    on_disk = {
        p.relative_to(out).as_posix(): p
        for p in out.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME
    }
    assert set(manifest.files) == set(on_disk)
    assert "scenario/scenario.toml" in manifest.files
    assert all(manifest.files[name] == file_sha256(path) for name, path in on_disk.items())


@pytest.mark.parametrize("bad", ["/etc/x", "../x", "a/../../x", "plan.json", "a\\b"])
def test_extra_files_must_stay_inside_and_not_overwrite(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="extra file"):
        write_plan_folder(
            make_tiny_scenario(), make_tiny_plan(), tmp_path / "plan", extra_files={bad: b"x"}
        )
    assert list(tmp_path.iterdir()) == []


def test_unknown_language_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown language"):
        write_plan_folder(make_tiny_scenario(), make_tiny_plan(), tmp_path / "p", language="xx")
    assert list(tmp_path.iterdir()) == []


def test_out_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "plan"
    target.write_text("not a folder", encoding="utf-8")
    with pytest.raises(InputError, match="is a file, not a folder"):
        write_plan_folder(make_tiny_scenario(), make_tiny_plan(), target)
    assert target.read_text(encoding="utf-8") == "not a folder"


def test_papers_language_is_passed_on(tmp_path: Path) -> None:
    out = write_plan_folder(make_tiny_scenario(), make_tiny_plan(), tmp_path / "p", language="en")
    text = (out / "papers" / "receipts" / "00042.csv").read_text(encoding="utf-8-sig")
    assert "Family name (KPM)" in text
    assert "Nama KPM" not in text


def test_summary_reports_families_tranches_and_reasons() -> None:
    summary = format_summary(make_tiny_scenario(), make_tiny_plan(), language="en")
    assert summary.startswith("# Plan: tiny\n")
    assert "Families served (every tranche in full): 90 of 240 (37.5%)" in summary
    # September: 1500 + 1200 + 900 + 1800 of 240 families x 30 kg.
    assert "Tranche T-SEP: 5,400 of 7,200 kg scheduled (75.0%)" in summary
    assert (
        "last delivery Thursday, 3 September 2020 (deadline Wednesday, 30 September 2020)"
        in summary
    )
    assert "Not scheduled: 3 deliveries, 4,050 kg" in summary
    assert "  - No stock left: 2 (2,250 kg); for example: The warehouses" in summary
    assert "  - Not enough fleet before the deadline: 1 (1,800 kg);" in summary
    assert summary.index("No stock left") < summary.index("Not enough fleet")  # most kg first
    assert "LATE" not in summary
    assert len(summary.splitlines()) <= 30


def test_summary_is_in_bahasa_indonesia_by_default() -> None:
    summary = format_summary(make_tiny_scenario(), make_tiny_plan())
    assert summary.startswith("# Rencana: tiny\n")
    assert "KPM terlayani (semua tahap penuh): 90 dari 240 (37,5%)" in summary
    assert "Tahap T-SEP: 5.400 dari 7.200 kg dijadwalkan (75,0%)" in summary
    assert "pengiriman terakhir Kamis, 3 September 2020 (batas waktu Rabu, 30 September 2020)" in (
        summary
    )
    assert "jarak: 50,0 km" in summary
    assert "Tidak terjadwal: 3 pengiriman, 4.050 kg" in summary
    assert "  - Stok gudang habis: 2 (2.250 kg); contoh: Gudang yang dapat" in summary
    assert "Armada tidak cukup sebelum batas waktu: 2 truk gudang W1" in summary


def test_summary_md_follows_the_plan_language(tmp_path: Path) -> None:
    for language, first in (("id", "# Rencana: tiny"), ("en", "# Plan: tiny")):
        out = write_plan_folder(
            make_tiny_scenario(), make_tiny_plan(), tmp_path / language, language=language
        )
        assert (out / "summary.md").read_text(encoding="utf-8").startswith(first + "\n")


def test_summary_flags_late_tranches_and_clean_plans() -> None:
    base = make_tiny_scenario()
    early = base.tranches[0].__class__(
        "T-SEP", "September", 30.0, base.tranches[0].release, base.tranches[0].release
    )
    scenario = make_tiny_scenario(tranches=(early, base.tranches[1]))
    plan = make_tiny_plan(scenario)
    clean = Plan("tiny", plan.routes, (), compute_kpis(scenario, plan.routes, ()))
    summary = format_summary(scenario, clean, language="en")
    assert "(deadline Tuesday, 1 September 2020) **LATE**" in summary
    assert "Not scheduled: none" in summary
    summary_id = format_summary(scenario, clean)
    assert "(batas waktu Selasa, 1 September 2020) **TERLAMBAT**" in summary_id
    assert "Tidak terjadwal: tidak ada" in summary_id


def test_write_complete_plan_tells_each_stage_as_it_starts(tmp_path: Path) -> None:
    from documents.plan_files import WRITE_STAGES, write_complete_plan

    told: list[tuple[int, int, str]] = []
    out = tmp_path / "plan"

    def progress(number: int, total: int, stage: str) -> None:
        told.append((number, total, stage))

    write_complete_plan(make_tiny_scenario(), make_tiny_plan(), out, progress=progress)
    assert told == [(i + 1, len(WRITE_STAGES), stage) for i, stage in enumerate(WRITE_STAGES)]
    assert (out / "papers" / "schedule.xlsx").is_file()
    assert (out / "map.html").is_file()


@dataclasses.dataclass(frozen=True)
class SnappedPlan(Plan):
    """A plan made on roads, as the planner will hand it over (``Plan.snap_m``)."""

    snap_m: dict[str, float] = dataclasses.field(default_factory=dict)


def test_stops_csv_gives_the_snap_distance_of_plans_on_roads(tmp_path: Path) -> None:
    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    snapped = SnappedPlan(
        plan.scenario_name,
        plan.routes,
        plan.unassigned,
        plan.kpis,
        snap_m={"00042": 35.44, "P2": math.inf},
    )
    rows = _read_csv(write_plan_folder(scenario, snapped, tmp_path / "roads") / "stops.csv")
    snaps = {row["drop_point"]: row["snap_m"] for row in rows}
    assert snaps["00042"] == "35.4"
    assert snaps["P2"] == ""  # no road near: nothing to say
    straight = _read_csv(write_plan_folder(scenario, plan, tmp_path / "straight") / "stops.csv")
    assert {row["snap_m"] for row in straight} == {""}


def test_routes_geojson_along_roads_holds_the_lines_the_map_draws() -> None:
    from geodata.leg_lines import plan_legs, road_lines
    from geodata.maps import map_content, map_roads

    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    where = {w.id: (w.lon, w.lat) for w in scenario.warehouses}
    where |= {p.id: (p.lon, p.lat) for p in scenario.drop_points}
    paths = {}
    for key in plan_legs(scenario, plan):
        (x0, y0), (x1, y1) = where[key[0]], where[key[1]]
        # A zigzag road 1 km either side of the straight line.
        paths[key] = [
            (x0 + (x1 - x0) * t / 50, y0 + (y1 - y0) * t / 50 + 0.01 * (t % 2)) for t in range(51)
        ]
    lines = road_lines(scenario, plan, paths)
    collection = routes_geojson(scenario, plan, road_lines=lines)
    drawn = map_content(scenario, plan, roads=map_roads(scenario, plan, leg_paths=paths))
    on_map = {
        (f["properties"]["truck"], f["properties"]["trip"], layer.day.isoformat()): f
        for layer in drawn.days
        for f in layer.collection["features"]
    }
    for feature in collection["features"]:
        props = feature["properties"]
        coordinates = feature["geometry"]["coordinates"]
        drawn_line = on_map[(props["truck"], props["trip"], props["date"])]["geometry"]
        assert [[round(x, 5), round(y, 5)] for x, y in coordinates] == drawn_line["coordinates"]
        assert len(coordinates) > len(props["stops"]) + 2


def test_a_map_redrawn_from_the_folder_alone_follows_the_same_roads(tmp_path: Path) -> None:
    from geodata.leg_lines import plan_legs, road_lines, road_lines_from_routes
    from geodata.maps import MapRoads, map_content

    scenario, plan = make_tiny_scenario(), make_tiny_plan()
    where = {w.id: (w.lon, w.lat) for w in scenario.warehouses}
    where |= {p.id: (p.lon, p.lat) for p in scenario.drop_points}
    paths = {}
    for key in plan_legs(scenario, plan):
        (x0, y0), (x1, y1) = where[key[0]], where[key[1]]
        paths[key] = [
            (x0 + (x1 - x0) * t / 50, y0 + (y1 - y0) * t / 50 + 0.01 * (t % 2)) for t in range(51)
        ]
    lines = road_lines(scenario, plan, paths)
    out = write_plan_folder(scenario, plan, tmp_path / "roads", road_lines=lines)
    collection = json.loads((out / "routes.geojson").read_text(encoding="utf-8"))
    again = road_lines_from_routes(scenario, plan, collection)
    assert again is not None and set(again.legs) == set(lines.legs)

    def drawn(roads: MapRoads) -> list[Any]:
        return [layer.collection for layer in map_content(scenario, plan, roads=roads).days]

    assert drawn(MapRoads(again)) == drawn(MapRoads(lines))
    from geodata.maps import plan_folder_roads

    assert plan_folder_roads(scenario, plan, out) == MapRoads(again)
    assert plan_folder_roads(scenario, plan, tmp_path) is None  # no routes.geojson there
    # A straight-line plan's file holds no road: the map stays straight.
    straight = write_plan_folder(scenario, plan, tmp_path / "straight")
    flat = json.loads((straight / "routes.geojson").read_text(encoding="utf-8"))
    assert road_lines_from_routes(scenario, plan, flat) is None
    # A file that does not fit the plan is read as far as it fits, never trusted blindly.
    for feature in collection["features"]:
        feature["properties"]["places"] = feature["properties"]["places"][:-1]
    assert road_lines_from_routes(scenario, plan, collection) is None
