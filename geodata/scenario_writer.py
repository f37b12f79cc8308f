"""Write a :class:`~optimizer.model.Scenario` as a scenario folder that reads back equal.

The folder holds ``scenario.toml`` and four CSV files (UTF-8, comma-separated, ``.`` decimals,
one header row), the input format read by ``geodata.scenario_io.read_scenario``:

``warehouses.csv``
    ``id, name, lon, lat, stock_kg``
``trucks.csv``
    ``id, warehouse_id, capacity_kg, shift_start, shift_end, cost_per_km, cost_per_day,
    max_trips_per_day, type``
``drop_points.csv``
    ``id, name, lon, lat, kpm, desa, kecamatan, rt, rw, open, close, service_min``
``tranches.csv``
    ``id, name, kg_per_kpm, release, deadline``
``facilitators.csv`` (only when the scenario has facilitators)
    ``id, name, phone``; then ``drop_points.csv`` ends with a ``facilitator`` column and
    ``scenario.toml`` names the table under ``[files] facilitators``.

``[files] kpm`` names the roster as the scenario does; the roster itself (names and NIKs) is
never in the :class:`~optimizer.model.Scenario`: a caller that wants it in the folder passes
its bytes as a side file (:func:`geodata.roster_io.roster_side_files`). ``[papers] full_nik``
is written only when true.

Ids and text are written as they are, except that text a spreadsheet would read as a formula
(``=``, ``+``, ``-``, ``@``, tab or CR first) gets a ``'`` in front and control and invisible
characters are dropped (:func:`geodata.cells.spreadsheet_text`), and a carriage return inside
a cell is written as a line feed: a plan folder's ``scenario/`` is opened in spreadsheets like
any paper. The reader takes that quote off again, so the folder
still reads back equal. Numbers are never quoted (a negative latitude stays a number). Floats
are written with ``repr`` so that they read back exactly (integral floats as integers, ``2000``
rather than ``2000.0``); times of day as ``HH:MM``, or ``HH:MM:SS`` when the seconds are not
zero; dates in ISO form; ``None`` as an empty cell. The TOML is written here by hand because
the standard library only reads TOML.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path, PurePosixPath

from geodata.cells import spreadsheet_text
from optimizer.model import DEFAULT_ROAD_SPEED_KMH, WEEKDAY_NAMES, Scenario, TravelSettings

DEFAULT_COST_PER_KM = 5000.0
"""``[costs] cost_per_km`` written to the TOML: the default for trucks with an empty cell.

Every :class:`~optimizer.model.Truck` carries its own costs and they are written in its own
cells, so this default never applies on read-back; it documents the reader's default.
"""

DEFAULT_COST_PER_DAY = 750_000.0
"""``[costs] cost_per_day`` written to the TOML (see :data:`DEFAULT_COST_PER_KM`)."""

WAREHOUSE_COLUMNS = ("id", "name", "lon", "lat", "stock_kg")
TRUCK_COLUMNS = (
    "id",
    "warehouse_id",
    "capacity_kg",
    "shift_start",
    "shift_end",
    "cost_per_km",
    "cost_per_day",
    "max_trips_per_day",
    "type",
)
DROP_POINT_COLUMNS = (
    "id",
    "name",
    "lon",
    "lat",
    "kpm",
    "desa",
    "kecamatan",
    "rt",
    "rw",
    "open",
    "close",
    "service_min",
)
REGION_COLUMNS = ("kabupaten", "provinsi")
"""Written after the other columns of warehouses and drop points when any is known."""
TRANCHE_COLUMNS = ("id", "name", "kg_per_kpm", "release", "deadline")
FACILITATOR_COLUMNS = ("id", "name", "phone")
FACILITATORS_FILE = "facilitators.csv"
"""The name the facilitators table is written under, whatever the scenario read it from."""

# Beyond 2**53 not every integer is a float, so "integral floats as ints" stops there.
_LARGEST_EXACT_INT_FLOAT = 2.0**53

_TOML_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def write_scenario(
    scenario: Scenario, folder: Path, *, side_files: Mapping[str, bytes] | None = None
) -> None:
    """Write ``scenario`` as a scenario folder (``scenario.toml`` and four CSV files).

    Parameters
    ----------
    scenario
        The scenario to write.
    folder
        Destination folder; created (with its parents) when missing. Existing files of the
        same names are overwritten, other files are left alone.
    side_files
        Files the settings name, to copy beside the tables: relative POSIX name (as in
        ``scenario.toml``) -> content. A plan's scenario copy gets its ``[travel]
        matrix_file`` this way; never the OpenStreetMap extract (hundreds of MB, and the plan
        keeps the legs it used in ``travel/``).

    Raises
    ------
    ValueError
        If a side file's name is absolute or leaves the folder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in sorted((side_files or {}).items()):
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"side file {name!r}: expected a relative name inside the folder")
        target = folder.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    (folder / "scenario.toml").write_text(scenario_toml(scenario), encoding="utf-8")
    # Regions only when known: a scenario without them is written as it always was.
    with_regions = any(w.kabupaten or w.provinsi for w in scenario.warehouses) or any(
        p.kabupaten or p.provinsi for p in scenario.drop_points
    )
    regions = REGION_COLUMNS if with_regions else ()
    _write_csv(
        folder / "warehouses.csv",
        WAREHOUSE_COLUMNS + regions,
        (
            [
                _text(w.id),
                _text(w.name),
                format_float(w.lon),
                format_float(w.lat),
                format_float(w.stock_kg),
                *((_text(w.kabupaten), _text(w.provinsi)) if with_regions else ()),
            ]
            for w in scenario.warehouses
        ),
    )
    _write_csv(
        folder / "trucks.csv",
        TRUCK_COLUMNS,
        (
            [
                _text(t.id),
                _text(t.warehouse_id),
                format_float(t.capacity_kg),
                format_time_of_day(t.shift_start_s),
                format_time_of_day(t.shift_end_s),
                format_float(t.cost_per_km),
                format_float(t.cost_per_day),
                "" if t.max_trips_per_day is None else str(int(t.max_trips_per_day)),
                _text(t.type),
            ]
            for t in scenario.trucks
        ),
    )
    # The facilitator column only when facilitators are known: a scenario without them is
    # written as it always was.
    with_facilitators = bool(scenario.facilitators) or any(
        p.facilitator for p in scenario.drop_points
    )
    _write_csv(
        folder / "drop_points.csv",
        DROP_POINT_COLUMNS + (("facilitator",) if with_facilitators else ()) + regions,
        (
            [
                _text(p.id),
                _text(p.name),
                format_float(p.lon),
                format_float(p.lat),
                str(int(p.kpm)),
                _text(p.desa),
                _text(p.kecamatan),
                _text(p.rt),
                _text(p.rw),
                "" if p.open_s is None else format_time_of_day(p.open_s),
                "" if p.close_s is None else format_time_of_day(p.close_s),
                "" if p.service_min is None else format_float(p.service_min),
                *((_text(p.facilitator or ""),) if with_facilitators else ()),
                *((_text(p.kabupaten), _text(p.provinsi)) if with_regions else ()),
            ]
            for p in scenario.drop_points
        ),
    )
    if scenario.facilitators:
        _write_csv(
            folder / FACILITATORS_FILE,
            FACILITATOR_COLUMNS,
            ([_text(f.id), _text(f.name), _text(f.phone)] for f in scenario.facilitators),
        )
    _write_csv(
        folder / "tranches.csv",
        TRANCHE_COLUMNS,
        (
            [
                _text(t.id),
                _text(t.name),
                format_float(t.kg_per_kpm),
                t.release.isoformat(),
                t.deadline.isoformat(),
            ]
            for t in scenario.tranches
        ),
    )


def scenario_toml(scenario: Scenario) -> str:
    """Return the text of ``scenario.toml`` for ``scenario``, every section included.

    Parameters
    ----------
    scenario
        The scenario whose settings to write.

    Returns
    -------
    str
        TOML text: top-level ``name``, ``start_date``, ``sack_kg``, ``timezone``, then the tables
        ``[calendar]``, ``[travel]``, ``[service]``, ``[costs]``, ``[objective]``, ``[solver]``,
        ``[replan]``, ``[files]`` (``facilitators`` and ``kpm`` only, when there are) and
        ``[papers]`` (only when ``full_nik`` is true).
        Dates are TOML local dates; times of day are ``"HH:MM"`` strings as in the CSV files.
    """
    cal = scenario.calendar
    solver = scenario.solver
    working_days = [WEEKDAY_NAMES[d] for d in sorted(cal.working_days)]
    lines = [
        f"name = {toml_string(scenario.name)}",
        f"start_date = {scenario.start_date.isoformat()}",
        f"sack_kg = {toml_float(scenario.sack_kg)}",
        f"timezone = {toml_string(scenario.timezone)}",
        "",
        "[calendar]",
        f"working_days = {_toml_array(toml_string(name) for name in working_days)}",
        f"holidays = {_toml_array(_toml_date(day) for day in sorted(cal.holidays))}",
        f"shift_start = {toml_string(format_time_of_day(cal.shift_start_s))}",
        f"shift_end = {toml_string(format_time_of_day(cal.shift_end_s))}",
        "",
        *_travel_lines(scenario.travel),
        "",
        "[service]",
        f"stop_min = {toml_float(scenario.service.stop_min)}",
        f"per_100kg_min = {toml_float(scenario.service.per_100kg_min)}",
        f"loading_min = {toml_float(scenario.service.loading_min)}",
        "",
        "# Defaults for trucks with empty cost cells; every truck here has its own costs.",
        "[costs]",
        f"cost_per_km = {toml_float(DEFAULT_COST_PER_KM)}",
        f"cost_per_day = {toml_float(DEFAULT_COST_PER_DAY)}",
        "",
        "[objective]",
        f"wait_cost_per_kpm_day = {toml_float(scenario.objective.wait_cost_per_kpm_day)}",
        "",
        "[solver]",
        f"time_limit_s = {toml_float(solver.time_limit_s)}",
        f"seed = {int(solver.seed)}",
        f"strategy = {toml_string(solver.strategy)}",
    ]
    if solver.solution_limit is not None:
        lines.append(f"solution_limit = {int(solver.solution_limit)}")
    replan = scenario.replan
    lines += [
        "",
        "[replan]",
        f"replacement_days = {int(replan.replacement_days)}",
        f"move_cost_per_kpm_day = {toml_float(replan.move_cost_per_kpm_day)}",
        f"freeze_days = {int(replan.freeze_days)}",
    ]
    files: list[str] = []
    if scenario.facilitators:
        files.append(f"facilitators = {toml_string(FACILITATORS_FILE)}")
    if scenario.roster_file is not None:
        files.append(f"kpm = {toml_string(scenario.roster_file)}")
    if files:
        lines += ["", "[files]", *files]
    if scenario.papers.full_nik:
        # Only when not the default: scenarios that print masked NIKs are written as before.
        lines += ["", "[papers]", "full_nik = true"]
    return "\n".join(lines) + "\n"


_DEFAULT_TRAVEL = TravelSettings()


def _travel_lines(travel: TravelSettings) -> list[str]:
    """``[travel]`` and its tables; a straight-line scenario's section is as it always was."""
    lines = ["[travel]"]
    if travel.source != _DEFAULT_TRAVEL.source:
        lines.append(f"source = {toml_string(travel.source)}")
    speeds = [
        (road, speed)
        for road, speed in travel.road_speed_kmh
        if (road, speed) not in DEFAULT_ROAD_SPEED_KMH
    ]
    # In TOML `speed_kmh` is either the straight line's number or the road speeds' table.
    if travel.source == "straight" or not speeds:
        lines.append(f"speed_kmh = {toml_float(travel.speed_kmh)}")
    lines.append(f"circuity = {toml_float(travel.circuity)}")
    for key, name in (("osm_file", travel.osm_file), ("matrix_file", travel.matrix_file)):
        if name is not None:
            lines.append(f"{key} = {toml_string(name)}")
    for key, value, default in (
        ("max_snap_m", travel.max_snap_m, _DEFAULT_TRAVEL.max_snap_m),
        ("small_truck_max_kg", travel.small_truck_max_kg, _DEFAULT_TRAVEL.small_truck_max_kg),
    ):
        if value != default:
            lines.append(f"{key} = {toml_float(value)}")
    if travel.source != "straight" and speeds:
        lines += ["", "[travel.speed_kmh]"]
        lines += [f"{_toml_key(road)} = {toml_float(speed)}" for road, speed in speeds]
    if travel.access:
        lines += ["", "[travel.access]"]
        lines += [f"{_toml_key(kind)} = {toml_string(access)}" for kind, access in travel.access]
    return lines


def _toml_key(key: str) -> str:
    # A bare key when TOML allows one, else a quoted key (a truck type "CDD 5 t").
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else toml_string(key)


def format_float(value: float) -> str:
    """Format a number for a CSV cell so that ``float()`` reads back the same value.

    Integral values are written as integers (``2000``); others with ``repr`` (shortest exact).
    """
    number = float(value)  # also turns numpy scalars, whose repr is "np.float64(...)", into floats
    if number.is_integer() and abs(number) < _LARGEST_EXACT_INT_FLOAT:
        return str(int(number))
    return repr(number)


def format_time_of_day(seconds: int) -> str:
    """Format seconds after midnight as ``HH:MM``, or ``HH:MM:SS`` when seconds are not zero."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}"
    return f"{text}:{secs:02d}" if secs else text


def toml_string(text: str) -> str:
    """Quote ``text`` as a TOML basic string, escaping quotes, backslashes and controls."""
    parts = ['"']
    for char in text:
        if char in _TOML_SHORT_ESCAPES:
            parts.append(_TOML_SHORT_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            parts.append(f"\\u{ord(char):04X}")
        else:
            parts.append(char)
    parts.append('"')
    return "".join(parts)


def toml_float(value: float) -> str:
    """Format a number as a TOML float that ``tomllib`` reads back exactly."""
    number = float(value)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    # repr of a finite float always has "." or an exponent ("5000.0", "1e-05", "1e+16"), all
    # of which are TOML floats.
    return repr(number)


def _toml_date(day: date) -> str:
    return day.isoformat()


def _toml_array(items: Iterable[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _text(text: str) -> str:
    # Never a formula in a spreadsheet; the reader takes the quote off again. A carriage return
    # becomes a line feed: with "\n" line ends the csv module does not quote a cell holding a
    # bare "\r", which every reader then takes for the end of the row, and what follows it
    # ("\r=1") would start a row of its own, a formula.
    return spreadsheet_text(text).replace("\r\n", "\n").replace("\r", "\n")


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    # newline="" lets the csv module own line endings; "\n" keeps the files diff-friendly.
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
