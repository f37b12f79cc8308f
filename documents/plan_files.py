"""Write a plan folder, atomically: either the whole new folder is there, or the old one is.

Contents of the folder::

    plan.json          the output contract (optimizer.solution.plan_to_dict), byte-stable
    scenario/          the validated scenario copy (written by a caller-supplied function)
    routes.geojson     one LineString per trip: warehouse -> stops -> warehouse, [lon, lat]
    stops.csv          one row per stop
    unassigned.csv     one row per undelivered (drop point, tranche)
    summary.md         :func:`format_summary`, in the plan's language
    papers/            loading lists, receipt lists (TTB), facilitator schedule (documents.papers)
                       and receipts_template.csv|xlsx (documents.receipts_template)
    travel/            a plan on roads only: legs.csv and provenance.json (geodata.travel_matrix)
    (extra files)      from the caller: the CLI adds map.html, maps/ and trip_sheets/

    .bsb-output.json   the manifest: every file bsb wrote, with its SHA-256 (geodata.output_guard)

Everything is first written to a hidden sibling ``.{name}.tmp-<random>``, then swapped into
place with renames on the same file system, so a crash or an error never leaves half a plan
where the old one was. Only a new or empty folder, or (with ``force``) a plan folder bsb wrote
and nothing else, is ever replaced; never the scenario folder (see geodata.output_guard).
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final

from documents.papers import write_papers
from documents.receipts_template import receipts_template_files
from documents.summary import format_summary
from geodata.cells import spreadsheet_text
from geodata.i18n import plain_number
from geodata.leg_lines import LegKey, RoadLines, plan_snap_m, route_line
from geodata.output_guard import check_output_folder, write_folder_atomically
from geodata.roster_io import Roster
from optimizer.model import Scenario
from optimizer.solution import TIME_FORMAT, Plan, Route, plan_to_dict

if TYPE_CHECKING:
    from geodata.maps import MapRoads
    from geodata.travel_matrix import Travel

logger = logging.getLogger(__name__)

WRITE_STAGES: Final = ("maps", "trip sheets", "plan files", "papers")
"""The stages of writing a complete plan folder, in order, as told to a :data:`WriteProgress`."""

WriteProgress = Callable[[int, int, str], None]
"""Told ``(number, total, stage)`` as each stage of :data:`WRITE_STAGES` starts (1-based), and
during the long papers stage every 10 s with the files written so far (``"papers (N files
written)"``)."""

COORDINATE_DECIMALS: Final = 6
"""About 0.1 m: more than enough for a drop point, and keeps the GeoJSON small and stable."""

STOPS_COLUMNS: Final = (
    "truck",
    "warehouse",
    "date",
    "trip",
    "seq",
    "drop_point",
    "name",
    "desa",
    "kecamatan",
    "rt",
    "rw",
    "lon",
    "lat",
    "tranche",
    "kpm",
    "kg",
    "sacks",
    "arrive",
    "depart",
    "snap_m",
    "kind",
    "pickup_kg",
    "status",
)
"""``snap_m``: metres from the drop point to the road it attaches to (plans on roads; empty for
straight-line plans, and where no road is near)."""
UNASSIGNED_COLUMNS: Final = (
    "drop_point",
    "name",
    "desa",
    "kecamatan",
    "tranche",
    "kg",
    "sacks",
    "reason_code",
    "reason",
)


def write_plan_folder(
    scenario: Scenario,
    plan: Plan,
    out_dir: Path,
    *,
    language: str = "id",
    write_scenario_copy: Callable[[Scenario, Path], None] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    force: bool = False,
    protected: Sequence[Path] = (),
    progress: WriteProgress | None = None,
    road_lines: RoadLines | None = None,
    roster: Roster | None = None,
) -> Path:
    """Write every output of a plan into ``out_dir``, replacing it atomically.

    ``out_dir`` is written only where :func:`geodata.output_guard.check_output_folder` allows:
    a new or empty folder, or a plan folder bsb wrote (holding nothing else) with ``force``.

    Parameters
    ----------
    scenario
        The scenario the plan is for.
    plan
        The plan to write.
    out_dir
        The folder to create or replace. Its parent is created if missing.
    language
        Language of the papers' headers: ``"id"`` (default) or ``"en"``.
    write_scenario_copy
        Writes the scenario's files into the folder it is given (``out_dir/scenario``);
        skipped when ``None``.
    extra_files
        More files to add, relative POSIX path -> content (e.g. ``{"map.html": ...}``).
    force
        Replace a plan folder bsb wrote earlier.
    protected
        Input folders (the scenario folder) that ``out_dir`` must not be, hold or lie in.
    progress
        Told as the "plan files" and "papers" stages start (see :data:`WriteProgress`).
    roster
        The families by drop point, for the names on the facilitators' TTB lists
        (:func:`documents.papers.write_papers`); ``None``: blank lines.
    road_lines
        Each leg's road line for ``routes.geojson`` (:func:`geodata.leg_lines.road_lines`);
        ``None`` writes straight lines.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    InputError
        If ``out_dir`` may not be written (see :mod:`geodata.output_guard`); nothing is written.
    ValueError
        If ``language`` is unknown, or an extra file's path is absolute, leaves the folder, or
        collides with a file already written.
    OSError
        If writing fails. In every error case ``out_dir`` is left as it was and no temporary
        folder remains.
    """

    def write(staging: Path) -> None:
        _write_contents(
            scenario,
            plan,
            staging,
            language=language,
            write_scenario_copy=write_scenario_copy,
            extra_files=extra_files or {},
            progress=progress,
            road_lines=road_lines,
            roster=roster,
        )

    return write_folder_atomically(
        out_dir, "plan", write, force=force, protected=protected, option="-o"
    )


def write_complete_plan(
    scenario: Scenario,
    plan: Plan,
    out_dir: Path,
    *,
    language: str = "id",
    force: bool = False,
    protected: Sequence[Path] = (),
    progress: WriteProgress | None = None,
    travel: Travel | None = None,
    roads: MapRoads | None = None,
    legs: Mapping[LegKey, tuple[float, int]] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    trip_sheets_from: date | None = None,
    roster: Roster | None = None,
    scenario_side_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write the plan folder ``bsb plan`` writes: plan files, offline map, trip sheets, scenario.

    Parameters
    ----------
    scenario
        The scenario the plan is for; a copy goes to ``out_dir/scenario``.
    plan
        The plan, already checked by the caller.
    out_dir
        The folder to create or replace atomically (see :func:`write_plan_folder`).
    language
        ``"id"`` or ``"en"`` for the map, papers and trip sheets.
    force, protected
        As for :func:`write_plan_folder`.
    progress
        Told as each stage of :data:`WRITE_STAGES` starts: writing takes seconds per hundred
        drop points (mostly the papers), and the CLI and the service show where it is.
    travel
        The roads the plan was made on (``None``: the straight line): ``travel/`` is written
        and the scenario copy gets the matrix file.
    roads
        Trips along their roads and the maps' offline background
        (:func:`geodata.maps.map_roads`), for the maps and ``routes.geojson``; ``None`` draws
        straight lines.
    legs
        Road km and seconds of each leg, ``(from_id, to_id, access) -> (km, s)`` (as the
        checker takes them), for the trip sheets' km per stop; ``None`` for straight lines.
    extra_files
        More files of the folder (a re-plan's ``changes.csv``, ``changes.md``, ``progress/``).
    roster
        The families by drop point, for the facilitators' TTB lists; ``None``: blank lines.
    trip_sheets_from
        Trip sheets only for trips on or after this day (a re-plan: drivers need the days
        still to drive; history stays in ``plan.json`` and the papers); ``None``: every trip.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    InputError
        If ``out_dir`` may not be written; checked before the maps are drawn.
    """
    from documents.trip_sheets import trip_sheet_files
    from geodata.maps import map_files

    check_output_folder(out_dir, kind="plan", force=force, protected=protected)
    _tell(progress, "maps")
    extra = map_files(scenario, plan, name="map.html", language=language, offline=True, roads=roads)
    _tell(progress, "trip sheets")
    ahead = plan
    if trip_sheets_from is not None:
        ahead = replace(plan, routes=tuple(r for r in plan.routes if r.date >= trip_sheets_from))
    sheets = trip_sheet_files(
        scenario,
        ahead,
        language=language,
        legs=legs,
        road_lines=None if roads is None else roads.legs,
    )
    extra |= {f"trip_sheets/{name}": page for name, page in sheets.items()}
    extra |= dict(extra_files or {})
    if travel is not None:
        from geodata.travel_matrix import travel_files

        extra |= travel_files(scenario, plan, travel.matrix)
    return write_plan_folder(
        scenario,
        plan,
        out_dir,
        language=language,
        write_scenario_copy=scenario_copy_writer(travel, scenario_side_files),
        extra_files=extra,
        force=force,
        protected=protected,
        progress=progress,
        road_lines=None if roads is None else roads.legs,
        roster=roster,
    )


def scenario_copy_writer(
    travel: Travel | None, side_files: Mapping[str, bytes] | None = None
) -> Callable[[Scenario, Path], None]:
    """Return the writer of a plan's ``scenario/`` copy: the scenario, and its matrix file.

    ``side_files`` are more files to copy beside the tables (the roster,
    :func:`geodata.roster_io.roster_side_files`), by their name in ``scenario.toml``.

    The OpenStreetMap extract is not copied (hundreds of MB): ``bsb check`` needs only the
    plan's ``travel/legs.csv``, and reads the copy without it.
    """
    from geodata.scenario_writer import write_scenario

    copied = dict(travel.scenario_files) if travel is not None else {}
    copied |= dict(side_files or {})

    def write(scenario: Scenario, folder: Path) -> None:
        write_scenario(scenario, folder, side_files=copied)

    return write


def _tell(progress: WriteProgress | None, stage: str) -> None:
    if progress is not None:
        progress(WRITE_STAGES.index(stage) + 1, len(WRITE_STAGES), stage)


def _write_contents(
    scenario: Scenario,
    plan: Plan,
    folder: Path,
    *,
    language: str,
    write_scenario_copy: Callable[[Scenario, Path], None] | None,
    extra_files: Mapping[str, bytes],
    progress: WriteProgress | None = None,
    road_lines: RoadLines | None = None,
    roster: Roster | None = None,
) -> None:
    _tell(progress, "plan files")
    plan_json = json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n"
    (folder / "plan.json").write_text(plan_json, encoding="utf-8")
    if write_scenario_copy is not None:
        write_scenario_copy(scenario, folder / "scenario")
    collection = routes_geojson(scenario, plan, road_lines=road_lines)
    geojson = json.dumps(collection, indent=2, ensure_ascii=False) + "\n"
    (folder / "routes.geojson").write_text(geojson, encoding="utf-8")
    _write_stops_csv(scenario, plan, folder / "stops.csv")
    _write_unassigned_csv(scenario, plan, folder / "unassigned.csv")
    summary = format_summary(scenario, plan, language=language)
    (folder / "summary.md").write_text(summary, encoding="utf-8")
    _tell(progress, "papers")

    def papers_written(files: int) -> None:
        # Still at the papers stage: tells a job's server the writing is alive, not stuck.
        if progress is not None:
            stage = WRITE_STAGES.index("papers") + 1
            progress(stage, len(WRITE_STAGES), f"papers ({files:,} files written)")

    write_papers(
        scenario,
        plan,
        folder / "papers",
        language=language,
        progress=papers_written,
        roster=roster,
    )
    # The clerk's starting point for bsb replan's receipts (English column names: read back).
    for name, content in receipts_template_files(scenario, plan).items():
        (folder / "papers" / name).write_bytes(content)
    for relative, content in sorted(extra_files.items()):
        target = _extra_file_target(folder, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _extra_file_target(folder: Path, relative: str) -> Path:
    posix = PurePosixPath(relative)
    if posix.is_absolute() or not posix.parts or ".." in posix.parts or "\\" in relative:
        raise ValueError(f"extra file {relative!r}: expected a relative path inside the folder")
    target = folder.joinpath(*posix.parts)
    if target.exists():
        raise ValueError(f"extra file {relative!r} would replace a file of the plan")
    return target


def routes_geojson(
    scenario: Scenario, plan: Plan, *, road_lines: RoadLines | None = None
) -> dict[str, Any]:
    """Build a GeoJSON FeatureCollection of the plan's trips.

    Parameters
    ----------
    scenario
        Supplies the coordinates of warehouses and drop points.
    plan
        The plan.
    road_lines
        Each leg's road line (:func:`geodata.leg_lines.road_lines`, the lines the maps draw);
        ``None`` draws each leg straight.

    Returns
    -------
    dict
        JSON-ready FeatureCollection: one LineString per trip, ``[lon, lat]`` rounded to
        :data:`COORDINATE_DECIMALS`, from the warehouse through the stops back to it (along
        the roads where ``road_lines`` holds the leg), with properties truck, warehouse, date,
        trip, depart, return, distance_km, load_kg, sacks, n_stops, stops (drop point ids,
        in order) and places (the index of the warehouse, each stop and the warehouse again
        among the line's vertices: :func:`geodata.leg_lines.road_lines_from_routes` reads the
        legs back from them).
    """
    return {
        "type": "FeatureCollection",
        "features": [_route_feature(scenario, route, road_lines) for route in plan.routes],
    }


def _position(lon: float, lat: float) -> list[float]:
    return [round(lon, COORDINATE_DECIMALS), round(lat, COORDINATE_DECIMALS)]


def _route_feature(
    scenario: Scenario, route: Route, road_lines: RoadLines | None
) -> dict[str, Any]:
    line = route_line(scenario, route, road_lines)
    coordinates = [_position(lon, lat) for lon, lat in line.coordinates]
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coordinates},
        "properties": {
            "truck": route.truck,
            "warehouse": route.warehouse,
            "date": route.date.isoformat(),
            "trip": route.trip,
            "depart": route.depart.strftime(TIME_FORMAT),
            "return": route.return_.strftime(TIME_FORMAT),
            "distance_km": round(route.distance_km, 3),
            "load_kg": plain_number(route.load_kg),
            "sacks": sum(stop.sacks for stop in route.stops),
            "n_stops": len(route.stops),
            "stops": [stop.drop_point for stop in route.stops],
            "places": list(line.place_vertices),
        },
    }


def _snap_cell(snaps: Mapping[str, float | None], point_id: str) -> str | int | float:
    """Metres to the road, to the decimetre; empty when unknown or no road is near."""
    metres = snaps.get(point_id)
    if metres is None or not math.isfinite(metres):
        return ""
    return plain_number(metres, 1)


def _write_stops_csv(scenario: Scenario, plan: Plan, path: Path) -> None:
    snaps = plan_snap_m(plan)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(STOPS_COLUMNS)
        for route in plan.routes:
            for seq, stop in enumerate(route.stops, start=1):
                point = scenario.drop_point(stop.drop_point)
                tranche = scenario.tranche(stop.tranche)
                # A replacement serves no new family: it replaces rejected rice.
                ration = stop.kind == "delivery" and tranche.kg_per_kpm
                kpm = stop.kg / tranche.kg_per_kpm if ration else 0.0
                # Text from the scenario never reads as a formula; numbers (a negative
                # latitude too) are written as they are.
                text = spreadsheet_text
                writer.writerow(
                    (
                        text(route.truck),
                        text(route.warehouse),
                        route.date.isoformat(),
                        route.trip,
                        seq,
                        text(stop.drop_point),
                        text(point.name),
                        text(point.desa),
                        text(point.kecamatan),
                        text(point.rt),
                        text(point.rw),
                        f"{point.lon:.{COORDINATE_DECIMALS}f}",
                        f"{point.lat:.{COORDINATE_DECIMALS}f}",
                        text(stop.tranche),
                        plain_number(kpm),
                        plain_number(stop.kg),
                        stop.sacks,
                        stop.arrive.strftime(TIME_FORMAT),
                        stop.depart.strftime(TIME_FORMAT),
                        _snap_cell(snaps, stop.drop_point),
                        stop.kind,
                        plain_number(stop.pickup_kg),
                        route.status,
                    )
                )


def _write_unassigned_csv(scenario: Scenario, plan: Plan, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(UNASSIGNED_COLUMNS)
        for item in plan.unassigned:
            point = scenario.drop_point(item.drop_point)
            text = spreadsheet_text  # as in stops.csv: text is never a formula
            writer.writerow(
                (
                    text(item.drop_point),
                    text(point.name),
                    text(point.desa),
                    text(point.kecamatan),
                    text(item.tranche),
                    plain_number(item.kg),
                    item.sacks,
                    str(item.reason_code),
                    text(item.reason),
                )
            )
