"""The two file-format documents stay true to the code that reads and writes the files.

``docs/plan-format.md`` must name exactly the keys :func:`plan_to_dict` writes, the reason
codes and the checker's rules; ``docs/scenario-format.md`` exactly the columns and TOML keys
the scenario writer and reader know. The examples quoted in them are re-made and compared.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import re
import tomllib
from dataclasses import asdict, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from benchmarks.runner import RUN_LAYOUT
from benchmarks.solve import SOLUTION_COMMENT
from cli import main
from documents.plan_files import STOPS_COLUMNS, UNASSIGNED_COLUMNS
from geodata.maps import BSB_MAP_MARKER
from geodata.output_guard import KIND_NAMES, MANIFEST_NAME, write_manifest
from geodata.progress_io import (
    CLOSED_COLUMNS,
    PROGRESS_NUMBER_BOUNDS,
    RECEIPT_COLUMNS,
    STOCK_CHANGE_COLUMNS,
    UNAVAILABLE_COLUMNS,
    progress_files,
    read_progress,
)
from geodata.roster_io import ROSTER_COLUMNS
from geodata.sample import write_sample
from geodata.scenario_io import (
    _SECTION_KEYS,
    _TOP_LEVEL_KEYS,
    DEFAULT_COST_PER_DAY,
    DEFAULT_COST_PER_KM,
    DEFAULT_SACK_KG,
    DEFAULT_TIMEZONE,
    MAX_PLAN_DAYS,
    NUMBER_BOUNDS,
    read_scenario,
)
from geodata.scenario_writer import (
    DROP_POINT_COLUMNS,
    FACILITATOR_COLUMNS,
    REGION_COLUMNS,
    TRANCHE_COLUMNS,
    TRUCK_COLUMNS,
    WAREHOUSE_COLUMNS,
    format_time_of_day,
    scenario_toml,
    write_scenario,
)
from optimizer.checker import REASON_CODES, RULES, check_plan
from optimizer.errors import InputError
from optimizer.model import (
    DEFAULT_ROAD_SPEED_KMH,
    WEEKDAY_NAMES,
    Calendar,
    ObjectiveSettings,
    PaperSettings,
    Scenario,
    ServiceSettings,
    SolverSettings,
    TravelSettings,
)
from optimizer.planner import plan_scenario
from optimizer.progress import Progress, ReplanSettings
from optimizer.solution import (
    Plan,
    ReasonCode,
    Route,
    Stop,
    Unassigned,
    compute_kpis,
    plan_from_dict,
    plan_to_dict,
)
from tests.conftest import make_tiny_scenario

DOCS = Path(__file__).resolve().parents[1] / "docs"
PLAN_DOC = DOCS / "plan-format.md"
SCENARIO_DOC = DOCS / "scenario-format.md"

# The worked example of docs/scenario-format.md is this sample.
SAMPLE_POINTS = 12
SAMPLE_SEED = 1

_BACKTICKED = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
# A paragraph that starts by naming a sample file, then its quoted first lines.
_QUOTED_FILE = re.compile(
    r"^`([a-z_]+\.(?:csv|toml))`[^\n]*(?:\n[^\n]+)*\n\n```\w*\n(.*?)^```",
    re.DOTALL | re.MULTILINE,
)


# --- helpers ----------------------------------------------------------------------------------


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _section(doc: str, heading: str) -> str:
    """The text under ``heading`` (a whole line) up to the next heading of its level or above."""
    lines = doc.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        pytest.fail(f"heading {heading!r} not found")
    level = len(heading) - len(heading.lstrip("#"))
    body: list[str] = []
    in_code = False
    for line in lines[start + 1 :]:
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and re.match(rf"#{{1,{level}}} ", line):
            break
        body.append(line)
    return "\n".join(body)


def _first_column(section: str) -> set[str]:
    """Names in backticks in the first cell of each body row of the section's tables."""
    names: set[str] = set()
    previous_was_row = False
    for line in section.splitlines():
        is_row = line.startswith("|")
        first_cell = line.strip().strip("|").split("|")[0].strip()
        # A table's first row is its header; the second is the |---| separator.
        if is_row and previous_was_row and not set(first_cell) <= {"-", ":"}:
            names.update(_BACKTICKED.findall(first_cell))
        previous_was_row = is_row
    return names


def _code_blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in _FENCE.findall(text) if lang == language]


def _hand_made_plan(scenario: Scenario) -> Plan:
    """A plan with one route, one stop and one unassigned entry: every field filled."""
    stop = Stop(
        "P2",
        "T-SEP",
        1200.0,
        80,
        datetime(2020, 9, 1, 7, 36, 56),
        datetime(2020, 9, 1, 8, 3, 56),
    )
    route = Route(
        "T2",
        "W1",
        date(2020, 9, 1),
        1,
        datetime(2020, 9, 1, 7, 30),
        datetime(2020, 9, 1, 8, 20),
        6.9,
        1200.0,
        (stop,),
    )
    missing = Unassigned("P4", "T-OKT", 450.0, 30, ReasonCode.STOCK, "No stock left.")
    return Plan(
        scenario_name=scenario.name,
        routes=(route,),
        unassigned=(missing,),
        kpis=compute_kpis(scenario, (route,), (missing,)),
    )


@pytest.fixture(scope="module")
def plan_doc() -> str:
    return _text(PLAN_DOC)


@pytest.fixture(scope="module")
def scenario_doc() -> str:
    return _text(SCENARIO_DOC)


@pytest.fixture(scope="module")
def written_plan() -> dict[str, Any]:
    return plan_to_dict(_hand_made_plan(make_tiny_scenario()))


@pytest.fixture(scope="module")
def planned_tiny() -> dict[str, Any]:
    """The planner's own plan.json for the tiny scenario (feasible, so a baseline to edit)."""
    return plan_to_dict(plan_scenario(make_tiny_scenario()))


# --- docs/plan-format.md ----------------------------------------------------------------------


def test_plan_doc_lists_exactly_the_top_level_keys(
    plan_doc: str, written_plan: dict[str, Any]
) -> None:
    # ``replan`` is written by re-plans only (its own test below).
    assert _first_column(_section(plan_doc, "### Top level")) == set(written_plan) | {"replan"}


def test_plan_doc_lists_exactly_the_route_keys(plan_doc: str, written_plan: dict[str, Any]) -> None:
    documented = _first_column(_section(plan_doc, "### Route (one trip of one truck)"))
    assert documented == set(written_plan["routes"][0])


def test_plan_doc_lists_exactly_the_stop_keys(plan_doc: str, written_plan: dict[str, Any]) -> None:
    documented = _first_column(_section(plan_doc, "### Stop"))
    assert documented == set(written_plan["routes"][0]["stops"][0])


def test_plan_doc_lists_exactly_the_unassigned_keys(
    plan_doc: str, written_plan: dict[str, Any]
) -> None:
    documented = _first_column(_section(plan_doc, "### Unassigned entry"))
    assert documented == set(written_plan["unassigned"][0])
    # ``kind`` is written only on replacement entries, and the doc says so.
    assert '`"kind": "replacement"`' in _section(plan_doc, "### Unassigned entry")


def test_plan_doc_names_the_stop_kinds_and_route_statuses(plan_doc: str) -> None:
    stop = _section(plan_doc, "### Stop")
    assert '`"delivery"`' in stop and '`"replacement"`' in stop
    route = _section(plan_doc, "### Route (one trip of one truck)")
    for status in ("planned", "done", "frozen"):
        assert f'`"{status}"`' in route


def test_plan_doc_replan_object_is_what_plans_write_back(
    plan_doc: str, written_plan: dict[str, Any]
) -> None:
    documented = _first_column(_section(plan_doc, "### Re-plan (`replan`)"))
    plan = plan_from_dict(written_plan)
    replan = dict.fromkeys(sorted(documented))
    written = plan_to_dict(replace(plan, replan=replan))
    assert set(written["replan"]) == documented
    assert "replan" not in plan_to_dict(plan)


def test_plan_doc_lists_exactly_the_kpis(plan_doc: str, written_plan: dict[str, Any]) -> None:
    assert _first_column(_section(plan_doc, "### KPIs")) == set(written_plan["kpis"])


def test_plan_doc_names_the_solver_keys_the_planner_writes(
    plan_doc: str, planned_tiny: dict[str, Any]
) -> None:
    solver_row = next(
        line for line in _section(plan_doc, "### Top level").splitlines() if "| `solver` |" in line
    )
    assert set(planned_tiny["solver"]) <= set(_BACKTICKED.findall(solver_row))


def test_plan_doc_marks_exactly_the_kpis_the_checker_requires(
    plan_doc: str, planned_tiny: dict[str, Any]
) -> None:
    scenario = make_tiny_scenario()
    assert check_plan(scenario, planned_tiny) == []
    required = set()
    for name in planned_tiny["kpis"]:
        kpis = {k: v for k, v in planned_tiny["kpis"].items() if k != name}
        if check_plan(scenario, {**planned_tiny, "kpis": kpis}):
            required.add(name)
    marked = {
        _BACKTICKED.findall(line)[0]
        for line in _section(plan_doc, "### KPIs").splitlines()
        if line.startswith("| `") and line.rstrip().endswith("| yes |")
    }
    assert marked == required


def test_plan_doc_lists_exactly_the_reason_codes(plan_doc: str) -> None:
    if "no_road" not in {code.value for code in ReasonCode}:
        pytest.skip("needs ReasonCode.NO_ROAD from the planner part of issue 13")
    documented = _first_column(_section(plan_doc, "## Reason codes"))
    assert documented == {code.value for code in ReasonCode}
    assert documented == set(REASON_CODES)


def test_plan_doc_lists_exactly_the_checker_rules(plan_doc: str) -> None:
    assert _first_column(_section(plan_doc, "## Rules checked by `bsb check`")) == set(RULES)


def test_plan_doc_names_every_column_of_stops_and_unassigned_csv(plan_doc: str) -> None:
    named = set(_BACKTICKED.findall(_section(plan_doc, "## Other files of the folder")))
    assert set(STOPS_COLUMNS) <= named
    assert set(UNASSIGNED_COLUMNS) <= named


def test_plan_doc_example_has_the_written_structure(
    plan_doc: str, written_plan: dict[str, Any]
) -> None:
    example, unassigned_entry = (json.loads(b) for b in _code_blocks(plan_doc, "json"))
    assert set(example) == set(written_plan)
    assert set(example["kpis"]) == set(written_plan["kpis"])
    assert set(example["routes"][0]) == set(written_plan["routes"][0])
    assert set(example["routes"][0]["stops"][0]) == set(written_plan["routes"][0]["stops"][0])
    assert set(unassigned_entry) == set(written_plan["unassigned"][0])
    assert unassigned_entry["reason_code"] in REASON_CODES


def test_plan_doc_example_route_obeys_every_rule_of_the_tiny_scenario(plan_doc: str) -> None:
    example = json.loads(_code_blocks(plan_doc, "json")[0])
    violations = check_plan(make_tiny_scenario(), example)
    # The example is trimmed to one route: only totals over the whole plan may disagree.
    assert {v.rule for v in violations} <= {"kpis", "conservation"}
    assert violations, "the trimmed example should not add up to the full plan's KPIs"


# --- docs/scenario-format.md ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "columns"),
    [
        # The region columns are written when any warehouse or point names its region.
        ("## `warehouses`", (*WAREHOUSE_COLUMNS, *REGION_COLUMNS)),
        ("## `trucks`", TRUCK_COLUMNS),
        # The facilitator column is written when the scenario has facilitators.
        ("## `drop_points`", (*DROP_POINT_COLUMNS, "facilitator", *REGION_COLUMNS)),
        ("## `tranches`", TRANCHE_COLUMNS),
        ("## `facilitators`", FACILITATOR_COLUMNS),
        ("## `kpm`", ROSTER_COLUMNS),
    ],
)
def test_scenario_doc_lists_exactly_the_written_columns(
    scenario_doc: str, heading: str, columns: tuple[str, ...]
) -> None:
    assert _first_column(_section(scenario_doc, heading)) == set(columns)


def _documented_bounds(scenario_doc: str) -> dict[str, tuple[str, str, str]]:
    """The "Ranges of numbers" table as ``{key: (lowest, highest, whole)}``, keys as in code."""
    rows: dict[str, tuple[str, str, str]] = {}
    for line in _section(scenario_doc, "## Ranges of numbers").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 4 or not cells[0].startswith(("`", "`[")):
            continue
        # `[travel] speed_kmh` is the TOML key travel.speed_kmh; `trucks.capacity_kg` a column.
        name = re.sub(r"^\[(\w+)\] ", r"\1.", cells[0].strip("`"))
        rows[name] = (cells[1], cells[2], cells[3])
    return rows


def test_scenario_doc_ranges_are_the_reader_bounds(scenario_doc: str) -> None:
    documented = _documented_bounds(scenario_doc)
    assert set(documented) == set(NUMBER_BOUNDS)
    for key, bounds in NUMBER_BOUNDS.items():
        lowest = f"> {bounds.low:g}" if bounds.low_exclusive else f"{bounds.low:g}"
        expected = (lowest, str(int(bounds.high)), "yes" if bounds.whole else "no")
        assert documented[key] == expected, key


def test_scenario_doc_states_the_longest_plan(scenario_doc: str) -> None:
    tranches = _section(scenario_doc, "## `tranches`")
    assert f"at most **{MAX_PLAN_DAYS} days** after `start_date`" in " ".join(tranches.split())


def test_scenario_doc_lists_exactly_the_toml_keys_the_reader_knows(scenario_doc: str) -> None:
    toml_part = _section(scenario_doc, "## `scenario.toml`")
    assert _first_column(_section(toml_part, "### Top level")) == set(_TOP_LEVEL_KEYS)
    for section, keys in _SECTION_KEYS.items():
        documented = _first_column(_section(toml_part, f"### `[{section}]`"))
        assert documented == set(keys), section


def test_scenario_doc_names_every_toml_key_the_writer_writes(scenario_doc: str) -> None:
    scenario = make_tiny_scenario(solver=SolverSettings(solution_limit=5))
    written = tomllib.loads(scenario_toml(scenario))
    toml_part = _section(scenario_doc, "## `scenario.toml`")
    for key, value in written.items():
        if isinstance(value, dict):
            documented = _first_column(_section(toml_part, f"### `[{key}]`"))
            assert set(value) <= documented, key
        else:
            assert key in _first_column(_section(toml_part, "### Top level"))


def _commented_keys(block: str, section: str) -> set[str]:
    """Keys shown commented out (``# key = ...``) under ``[section]`` of a TOML block."""
    body = block.split(f"[{section}]\n", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^# (\w+) = ", body, flags=re.MULTILINE))


def test_scenario_doc_complete_example_has_every_key(scenario_doc: str) -> None:
    block = _code_blocks(_section(scenario_doc, "## `scenario.toml`"), "toml")[0]
    example = tomllib.loads(block)
    assert set(_TOP_LEVEL_KEYS) <= set(example)
    for section, keys in _SECTION_KEYS.items():
        # Keys naming files the example folder lacks are shown commented out.
        shown = set(example[section]) | _commented_keys(block, section)
        assert shown == set(keys), section


def test_scenario_doc_toml_examples_are_accepted_by_the_reader(
    scenario_doc: str, tmp_path: Path
) -> None:
    folder = tmp_path / "scenario"
    write_scenario(make_tiny_scenario(), folder)
    blocks = _code_blocks(scenario_doc, "toml")
    assert len(blocks) >= 3
    for number, block in enumerate(blocks):
        # The files an example names (an extract, a matrix) are there, empty: only names count.
        for name in re.findall(r'^(?:osm_file|matrix_file|boundaries) = "(.+)"', block, re.M):
            (folder / name).write_bytes(b"")
        config = tmp_path / f"block{number}.toml"
        config.write_text(block, encoding="utf-8")
        read_scenario(folder, config=config)  # raises InputError listing what is wrong


def test_scenario_doc_quotes_the_sample_files_as_written(scenario_doc: str, tmp_path: Path) -> None:
    folder = tmp_path / "sample"
    write_sample(folder, n_drop_points=SAMPLE_POINTS, seed=SAMPLE_SEED)
    example = _section(scenario_doc, "## Worked example: the sample")
    quoted = dict(_QUOTED_FILE.findall(example))
    assert set(quoted) == {
        "scenario.toml",
        "warehouses.csv",
        "trucks.csv",
        "drop_points.csv",
        "tranches.csv",
    }
    hint = "regenerate with geodata.sample.write_sample(n_drop_points=12, seed=1)"
    for name, lines in quoted.items():
        actual = _text(folder / name)
        if name == "scenario.toml":
            assert lines == actual, hint
        else:
            assert actual.startswith(lines), f"{name}: {hint}"


def test_scenario_doc_quotes_the_national_sample_as_written(
    scenario_doc: str, tmp_path: Path
) -> None:
    folder = tmp_path / "national"
    result = CliRunner().invoke(
        main, ["sample", str(folder), "--national", "--families", "2000", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    section = _section(scenario_doc, "## National sample")
    quoted = dict(_QUOTED_FILE.findall(section))
    assert set(quoted) == {"warehouses.csv", "drop_points.csv"}
    for name, lines in quoted.items():
        assert _text(folder / name).startswith(lines), (
            f"{name}: regenerate with bsb sample OUT --national --families 2000 --seed 3"
        )


def test_scenario_doc_national_options_are_the_commands(scenario_doc: str) -> None:
    from geodata.national_sample import FAMILIES_PER_POINT, NATIONAL_FAMILIES, NATIONAL_WAREHOUSES

    section = _section(scenario_doc, "## National sample")
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| `(--[a-z-]+)[^`]*` \| ([^|]+) \|", section, re.MULTILINE)
    }
    sample = main.commands["sample"]
    options = {opt for param in sample.params for opt in getattr(param, "opts", ())}
    assert set(rows) <= options
    assert set(rows) == {
        "--families",
        "--warehouses",
        "--seed",
        "--centroids",
        "--families-per-point",
        "--stock-ratio",
    }
    assert rows["--families"].strip() == f"{NATIONAL_FAMILIES:,}"
    assert rows["--warehouses"].strip() == f"{NATIONAL_WAREHOUSES:,}"
    assert rows["--families-per-point"].strip() == str(FAMILIES_PER_POINT)


def test_scenario_doc_indonesian_locale_example_reads_like_the_sample(
    scenario_doc: str, tmp_path: Path
) -> None:
    folder = tmp_path / "sample"
    sample = write_sample(folder, n_drop_points=SAMPLE_POINTS, seed=SAMPLE_SEED)
    semicolon = next(
        b for b in _code_blocks(scenario_doc, "text") if b.startswith("id;name;lon;lat;")
    )
    (folder / "warehouses.csv").write_text(semicolon, encoding="utf-8")
    assert read_scenario(folder).warehouses == sample.warehouses


def _break_sample(folder: Path) -> None:
    """Make the five mistakes the error example of docs/scenario-format.md describes."""
    toml_path = folder / "scenario.toml"
    text = _text(toml_path)
    assert "speed_kmh = 30.0\n" in text
    toml_path.write_text(text.replace("speed_kmh = 30.0\n", 'speed_kmh = "30"\n'), "utf-8")

    def edit(name: str, row: int, changes: dict[str, str]) -> None:
        path = folder / name
        with path.open(encoding="utf-8", newline="") as stream:
            rows = list(csv.DictReader(stream))
        rows[row - 2].update(changes)  # spreadsheet row numbers: header = row 1
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    edit("trucks.csv", 3, {"warehouse_id": "W1", "capacity_kg": "2 t"})
    with (folder / "drop_points.csv").open(encoding="utf-8", newline="") as stream:
        point = list(csv.DictReader(stream))[1]
    edit("drop_points.csv", 3, {"lon": point["lat"], "lat": point["lon"]})
    edit("drop_points.csv", 5, {"kpm": "53.5"})
    edit("tranches.csv", 3, {"deadline": "31-10-2020"})


def test_scenario_doc_error_example_is_what_the_reader_reports(
    scenario_doc: str, tmp_path: Path
) -> None:
    folder = tmp_path / "sample"
    write_sample(folder, n_drop_points=SAMPLE_POINTS, seed=SAMPLE_SEED)
    _break_sample(folder)
    with pytest.raises(InputError) as caught:
        read_scenario(folder)
    console = _code_blocks(_section(scenario_doc, "## How problems are reported"), "console")
    documented = [line for line in console[0].splitlines() if line.startswith("  - ")]
    assert documented == [f"  - {problem}" for problem in caught.value.problems]
    assert f"bsb: {len(documented)} problems in the input:" in console[0]


def test_scenario_doc_validate_examples_match_the_command(
    scenario_doc: str, tmp_path: Path
) -> None:
    folder = tmp_path / "sample"
    write_sample(folder, n_drop_points=SAMPLE_POINTS, seed=SAMPLE_SEED)
    console = _code_blocks(_section(scenario_doc, "## How problems are reported"), "console")
    ok = CliRunner().invoke(main, ["validate", str(folder)])
    assert ok.exit_code == 0
    assert ok.stdout.strip() == console[1].splitlines()[1]
    _break_sample(folder)
    bad = CliRunner().invoke(main, ["validate", str(folder)])
    assert bad.exit_code == 2
    assert "$ echo $?\n2\n" in console[0]


def test_scenario_doc_impossible_input_example_is_what_validate_reports(
    scenario_doc: str, tmp_path: Path
) -> None:
    from geodata.land import LAND_TOLERANCE_M

    folder = tmp_path / "sample"
    write_sample(folder, n_drop_points=SAMPLE_POINTS, seed=SAMPLE_SEED)
    points = _text(folder / "drop_points.csv")
    assert ",106.427224,-6.329663," in points  # the drop point in row 4
    (folder / "drop_points.csv").write_text(
        points.replace(",106.427224,-6.329663,", ",106.427224,-5.329663,"), "utf-8"
    )
    tranches = _text(folder / "tranches.csv").splitlines(keepends=True)
    tranches[1] = tranches[1].replace(",30,", ",22.5,")
    tranches[2] = tranches[2].replace("2020-10-01,2020-10-31", "2020-10-04,2020-10-04")
    (folder / "tranches.csv").write_text("".join(tranches), "utf-8")
    console = _code_blocks(_section(scenario_doc, "## How problems are reported"), "console")
    example = next(block for block in console if "is in the sea" in block)
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 2
    documented = [line for line in example.splitlines() if line.startswith("  - ")]
    assert documented == [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(documented) == 3
    assert f"more than **{LAND_TOLERANCE_M:g} m** from land" in scenario_doc


def test_scenario_doc_complete_example_shows_the_defaults(scenario_doc: str) -> None:
    example = tomllib.loads(_code_blocks(_section(scenario_doc, "## `scenario.toml`"), "toml")[0])
    calendar = Calendar()
    assert example["sack_kg"] == DEFAULT_SACK_KG
    assert example["timezone"] == DEFAULT_TIMEZONE
    assert example["calendar"]["working_days"] == [
        WEEKDAY_NAMES[d] for d in sorted(calendar.working_days)
    ]
    assert example["calendar"]["shift_start"] == format_time_of_day(calendar.shift_start_s)
    assert example["calendar"]["shift_end"] == format_time_of_day(calendar.shift_end_s)
    travel = TravelSettings()
    assert example["travel"] == {
        "source": travel.source,
        "speed_kmh": travel.speed_kmh,
        "circuity": travel.circuity,
        "max_snap_m": travel.max_snap_m,
        "small_truck_max_kg": travel.small_truck_max_kg,
    }
    assert example["service"] == asdict(ServiceSettings())
    assert example["costs"] == {
        "cost_per_km": DEFAULT_COST_PER_KM,
        "cost_per_day": DEFAULT_COST_PER_DAY,
    }
    assert example["objective"] == asdict(ObjectiveSettings())
    solver = asdict(SolverSettings())
    del solver["solution_limit"]  # no default: the example shows one
    assert {k: v for k, v in example["solver"].items() if k != "solution_limit"} == solver
    assert example["replan"] == asdict(ReplanSettings())
    assert example["papers"] == asdict(PaperSettings())
    tables = ("warehouses", "trucks", "drop_points", "tranches")
    assert example["files"] == {key: f"{key}.csv" for key in tables}


def test_scenario_doc_road_speeds_are_the_defaults(scenario_doc: str) -> None:
    travel = _section(_section(scenario_doc, "## `scenario.toml`"), "### `[travel]`")
    cells = [
        cell.strip()
        for line in travel.splitlines()
        if line.startswith("| ") and not line.startswith(("| highway", "| key", "| `"))
        for cell in line.strip().strip("|").split("|")
    ]
    documented = {road: float(speed) for road, speed in zip(cells[::2], cells[1::2], strict=True)}
    assert documented == dict(DEFAULT_ROAD_SPEED_KMH)


def test_plan_doc_names_the_travel_files_columns_and_provenance(plan_doc: str) -> None:
    from geodata.travel_matrix import LEGS_COLUMNS, file_provenance
    from optimizer.checker import LEGS_COLUMNS as CHECKER_LEGS_COLUMNS

    travel = _section(plan_doc, "## `travel/`: the roads a plan was made on")
    assert _first_column(travel) == set(LEGS_COLUMNS)
    assert LEGS_COLUMNS == CHECKER_LEGS_COLUMNS
    assert ", ".join(f"`{c}`" for c in LEGS_COLUMNS[:1]) in travel
    provenance_text = travel.split("**`travel/provenance.json`**")[1]
    written = file_provenance(
        Path(__file__), "x", make_tiny_scenario(), source="matrix"
    )  # any file: only the keys count
    assert set(written) <= set(_BACKTICKED.findall(provenance_text))


def test_roads_doc_names_the_cache_and_the_commands() -> None:
    roads_doc = (DOCS / "roads.md").read_text(encoding="utf-8")
    for name in ("BSB_CACHE_DIR", "XDG_CACHE_HOME", "graphs/<key>.npz", "travel/<key>.npz"):
        assert name in roads_doc, name
    assert "osmium extract -p regency.geojson java-latest.osm.pbf -o roads.osm.pbf" in roads_doc
    assert "bsb travel calibrate" in roads_doc and "--roads" in roads_doc


def test_benchmarks_doc_names_every_strategy_and_family() -> None:
    from benchmarks.runner import FAMILIES
    from benchmarks.solve import REFERENCE_STRATEGIES
    from optimizer.strategies import NAMED

    text = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    for name in [*NAMED, "default", "<first>-<meta>"]:
        assert f"| `{name}` |" in text, name
    assert "| `vroom`, `vroom-x0` |" in text and set(REFERENCE_STRATEGIES) == {"vroom", "vroom-x0"}
    for family in FAMILIES:
        assert f"| `{family}` |" in text, family


def test_plan_doc_lists_exactly_the_reason_facts(plan_doc: str) -> None:
    from dataclasses import fields

    from optimizer.reasons import ReasonFacts

    documented = _first_column(_section(plan_doc, "### Reason facts"))
    assert documented == {f.name for f in fields(ReasonFacts)}


def test_plan_doc_says_what_default_is_written_as(
    plan_doc: str, planned_tiny: dict[str, Any]
) -> None:
    from optimizer.strategies import FALLBACK_STRATEGY, strategy_names

    row = next(
        line for line in _section(plan_doc, "### Top level").splitlines() if "`strategy`" in line
    )
    # What the planner really writes for "default" is what the doc says it writes.
    assert planned_tiny["strategy"] != "default"
    assert f'`"{planned_tiny["strategy"]}"`' in row
    assert f'`"{FALLBACK_STRATEGY}"`' in row
    example = json.loads(_code_blocks(plan_doc, "json")[0])
    assert example["strategy"] in set(strategy_names()) - {"default"}


# --- docs/plan-format.md: the manifest ----------------------------------------------------------

MANIFEST_HEADING = "## The manifest, `.bsb-output.json`"


def test_plan_doc_manifest_names_the_keys_and_kinds_bsb_writes(
    plan_doc: str, tmp_path: Path
) -> None:
    section = _section(plan_doc, MANIFEST_HEADING)
    assert f"`{MANIFEST_NAME}`" in MANIFEST_HEADING
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("a", encoding="utf-8")
    write_manifest(tmp_path, "plan")
    written = json.loads((tmp_path / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert _first_column(section) == set(written)
    example = _FENCE.findall(section)[0][1]
    assert set(re.findall(r'^ "(\w+)"', example, re.MULTILINE)) == set(written)
    assert written["files"] == {"sub/a.txt": hashlib.sha256(b"a").hexdigest()}
    kind_row = next(line for line in section.splitlines() if line.startswith("| `kind`"))
    assert set(_BACKTICKED.findall(kind_row)) - {"kind"} == set(KIND_NAMES)


def test_plan_doc_names_the_markers_of_single_files(plan_doc: str) -> None:
    section = _section(plan_doc, MANIFEST_HEADING)
    assert f"`{BSB_MAP_MARKER.decode().strip()}`" in section
    assert f"`Comment : {SOLUTION_COMMENT}`" in section
    assert set(RUN_LAYOUT) - {MANIFEST_NAME} == {
        name.rstrip("/") for name in _BACKTICKED.findall(section) if name.rstrip("/") in RUN_LAYOUT
    }


@pytest.mark.parametrize("package", ["geodata", "documents"])
def test_readme_layout_names_only_files_the_package_has(package: str) -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{package}/` |"))
    named = re.findall(r"`([a-z_]+\.py)`", row)
    assert named, row
    for name in named:
        assert (DOCS.parent / package / name).is_file(), (package, name)
    if "assets/" in row:
        assert any((DOCS.parent / package / "assets").iterdir())


# --- docs/progress-format.md ------------------------------------------------------------------

PROGRESS_DOC = DOCS / "progress-format.md"


@pytest.fixture(scope="module")
def progress_doc() -> str:
    return _text(PROGRESS_DOC)


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("receipts", RECEIPT_COLUMNS),
        ("unavailable", UNAVAILABLE_COLUMNS),
        ("stock_changes", STOCK_CHANGE_COLUMNS),
        ("closed", CLOSED_COLUMNS),
    ],
)
def test_progress_doc_lists_exactly_the_columns_and_which_are_required(
    progress_doc: str, table: str, columns: tuple[str, ...], tmp_path: Path
) -> None:
    section = _section(progress_doc, f"## `{table}`")
    assert _first_column(section) == set(columns)
    required = {
        name
        for line in section.splitlines()
        if line.startswith("| `") and line.split("|")[2].strip() == "yes"
        for name in _BACKTICKED.findall(line.split("|")[1])
    }
    # A header of only the required columns reads; without any one of them it does not.
    scenario = make_tiny_scenario()
    (tmp_path / f"{table}.csv").write_text(",".join(sorted(required)) + "\n", encoding="utf-8")
    assert read_progress(tmp_path, scenario) == Progress()
    for column in required:
        header = ",".join(sorted(required - {column}))
        (tmp_path / f"{table}.csv").write_text(header + "\n", encoding="utf-8")
        with pytest.raises(InputError) as caught:
            read_progress(tmp_path, scenario)
        assert [p.field for p in caught.value.problems] == [column]


def test_progress_doc_ranges_are_the_reader_bounds(progress_doc: str) -> None:
    documented: dict[str, tuple[str, str, str]] = {}
    for line in _section(progress_doc, "## Ranges of numbers").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 4:
            documented[cells[0].strip("`")] = (cells[1], cells[2], cells[3])
    assert documented == {
        key: (f"{bounds.low:.0f}", f"{bounds.high:.0f}", "yes" if bounds.whole else "no")
        for key, bounds in PROGRESS_NUMBER_BOUNDS.items()
    }


def _progress_folder(section: str, folder: Path) -> Path:
    quoted = dict(_QUOTED_FILE.findall(section))
    assert quoted
    folder.mkdir()
    for name, text in quoted.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_progress_doc_example_reads_against_the_sample(progress_doc: str, tmp_path: Path) -> None:
    sample = write_sample(tmp_path / "sample", n_drop_points=SAMPLE_POINTS, seed=SAMPLE_SEED)
    folder = _progress_folder(_section(progress_doc, "## Example"), tmp_path / "progress")
    progress = read_progress(folder, sample)
    assert [len(progress.receipts), len(progress.unavailable)] == [2, 1]
    assert [len(progress.stock_changes), len(progress.closed)] == [1, 1]
    assert progress.receipts[0].kg_rejected == 30.0
    # The copy a re-plan keeps reads back the same.
    copy = tmp_path / "copy"
    copy.mkdir()
    for name, content in progress_files(progress).items():
        (copy / name).write_bytes(content)
    assert read_progress(copy, sample) == progress


def test_progress_doc_error_example_is_what_the_reader_reports(
    progress_doc: str, tmp_path: Path
) -> None:
    sample = write_sample(tmp_path / "sample", n_drop_points=SAMPLE_POINTS, seed=SAMPLE_SEED)
    section = _section(progress_doc, "## How problems are reported")
    folder = _progress_folder(section, tmp_path / "progress")
    with pytest.raises(InputError) as caught:
        read_progress(folder, sample)
    assert _code_blocks(section, "text")[-1] == str(caught.value) + "\n"


# --- docs/replan.md -----------------------------------------------------------------------------


def test_replan_doc_names_the_changes_columns_kinds_reasons_and_rules() -> None:
    from documents.changes import CHANGE_KINDS, CHANGES_COLUMNS
    from optimizer.replan import CANCEL_REASONS

    doc = (Path(__file__).resolve().parent.parent / "docs" / "replan.md").read_text("utf-8")
    assert ", ".join(CHANGES_COLUMNS) in doc
    named = set(re.findall(r"`([a-z_]+)`", doc))
    assert set(CHANGE_KINDS) <= named
    assert set(CANCEL_REASONS) <= named
    replan_rules = {
        "history", "frozen", "cancelled", "replan_start", "truck_unavailable", "point_closed",
        "replacement", "replan_conservation", "replan_stock", "previous_plan",
    }  # fmt: skip
    assert replan_rules <= set(RULES)
    assert replan_rules <= named


def test_scenario_doc_roster_count_message_is_what_the_reader_says(
    scenario_doc: str, tmp_path: Path
) -> None:
    from geodata.roster_io import read_roster

    base = make_tiny_scenario()
    point = dataclasses.replace(base.drop_points[0], id="01.2001.01", kpm=20)
    scenario = dataclasses.replace(base, drop_points=(point,))
    rows = "".join(f"01.2001.01,K{i},Nama {i}\n" for i in range(19))
    (tmp_path / "kpm.csv").write_text("drop_point,kpm_id,name\n" + rows, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_roster(tmp_path / "kpm.csv", scenario)
    (problem,) = caught.value.problems
    quoted_in_doc = re.search(r'\("(drop point .*? table)"\)', " ".join(scenario_doc.split()))
    assert quoted_in_doc is not None
    assert problem.message.startswith(quoted_in_doc.group(1))


# --- docs/national.md -------------------------------------------------------------------------


def _national_index_case() -> tuple[Scenario, dict[str, Any], list[str]]:
    """The tiny scenario as a national one: its plan summarised, one family left unmet."""
    from documents.national_index import (
        national_index_dict,
        summarise_warehouse,
        summary_rows,
    )
    from tests.conftest import make_tiny_plan

    scenario = make_tiny_scenario()
    summary = summarise_warehouse(scenario, make_tiny_plan(scenario), "warehouses/W1")

    @dataclasses.dataclass(frozen=True)
    class Unmet:
        drop_point: str
        families: int
        reason_code: str

    unmet = [Unmet("P2", 1, "stock")]
    index = national_index_dict(scenario, [summary], unmet=unmet)
    header, _ = summary_rows("kabupaten", scenario, [summary], unmet=unmet)
    return scenario, index, header


def test_national_doc_lists_exactly_the_index_keys() -> None:
    doc = _text(DOCS / "national.md")
    _, index, _ = _national_index_case()
    assert _first_column(_section(doc, "### Top level")) == set(index)
    assert _first_column(_section(doc, "### Totals")) == set(index["totals"])
    assert _first_column(_section(doc, "### Warehouse entry")) == set(index["warehouses"][0])


def test_national_doc_lists_exactly_the_summary_columns() -> None:
    from documents.national_index import STATUSES

    doc = _text(DOCS / "national.md")
    scenario, _, header = _national_index_case()
    reasons = {"stock", "fleet_time"}  # the tiny plan's reasons, and the unmet family's
    generic = set()
    for key in header:
        for tranche in scenario.tranches:
            if key.endswith(f"_{tranche.id}"):
                key = key.removesuffix(f"_{tranche.id}") + "_{tranche}"
        for reason in reasons:
            key = key.replace(f"_{reason}_", "_{reason}_")
        generic.add(key)
    assert "families_unassigned_{reason}_{tranche}" in generic
    section = _section(doc, "## Summaries by province and regency")
    assert _first_column(section) == generic
    statuses = _section(doc, "### Warehouse entry")
    assert all(f"`{status}`" in statuses for status in STATUSES)


# --- docs/plan-format.md: families' waiting ----------------------------------------------------


def test_plan_doc_states_how_waiting_is_counted_and_where_it_shows(plan_doc: str) -> None:
    from documents.office_papers import OfficeText
    from geodata.waiting_text import REACHED_SHARES
    from optimizer.waiting import KEY_DAYS_AFTER_RELEASE

    section = _section(plan_doc, "### Families' waiting")
    first, second = KEY_DAYS_AFTER_RELEASE
    assert f"{first} and {second} days after the tranche's `release`" in section
    for share in REACHED_SHARES:
        assert f"{round(share * 100)} %" in section
    for text in (
        OfficeText.CURVE_SHEET,
        OfficeText.SERVED_ON_DAY,
        OfficeText.SERVED_SO_FAR,
        OfficeText.FAMILIES,
        OfficeText.SHARE,
    ):
        assert f"*{text.label('id')}*" in section, text
    assert f"*{OfficeText.CURVE_SHEET.label('en')}*" in section
    for place in ("`summary.md`", "`map.html`", "`dinsos/summary.xlsx`", "`dinsos/summary.pdf`"):
        assert place in section
    assert "`family_wait_days`" in section and "`families_served_per_tranche`" in section


# --- docs/whatif.md ---------------------------------------------------------------------------

WHATIF_DOC = DOCS / "whatif.md"


def test_whatif_doc_lists_exactly_the_columns_written() -> None:
    from documents.whatif_report import FINISH_BY_COLUMNS, TABLE_COLUMNS
    from optimizer.whatif import FLEET_SCALE, WAIT_COST

    doc = _text(WHATIF_DOC)
    tables = _section(doc, "## `--fleet-scale` and `--wait-cost`: `whatif.csv`")
    assert _first_column(tables) == {FLEET_SCALE, WAIT_COST, *TABLE_COLUMNS}
    finish = _section(doc, "## `--finish-by DATE`: the fewest trucks to add")
    assert _first_column(finish) == set(FINISH_BY_COLUMNS)


def test_whatif_doc_names_the_added_ids_the_fixable_reasons_and_the_files(
    tmp_path: Path,
) -> None:
    from documents.whatif_report import finish_by_files, table_files
    from optimizer.whatif import (
        ALL_WAREHOUSES,
        CONFIRM_ROUNDS,
        FIXABLE_REASONS,
        FinishByResult,
        WhatIfTable,
        added_truck_id,
    )

    doc = _text(WHATIF_DOC)
    assert added_truck_id("{warehouse}", 1) == "{warehouse}-TAMBAH-1"
    assert "`{warehouse}-TAMBAH-{k}`" in doc
    assert f"warehouse `{ALL_WAREHOUSES}`" in doc
    assert (
        f"(at most {CONFIRM_ROUNDS}\n   plans)" in doc or f"(at most {CONFIRM_ROUNDS} plans)" in doc
    )
    fixable = re.search(r"Only (.*?) count against a fleet", " ".join(doc.split()))
    assert fixable is not None
    assert set(_BACKTICKED.findall(fixable.group(1))) == {str(r) for r in FIXABLE_REASONS}
    # Every file a what-if writes is in the folder's table, and nothing else.
    files = _section(doc, "## The folder")
    # "`whatif_dates.png`, `.svg`": one row per stem; ".bsb-output.json" is the manifest.
    named = {n.lstrip(".").split(".")[0] for n in _first_column(files) if n != ".svg"}
    table = WhatIfTable("fleet_scale", ())
    wait = WhatIfTable("wait_cost_per_kpm_day", ())
    finish = FinishByResult(date(2020, 9, 5), ("T",), (), None, None, False)
    written = set(table_files(table)) | set(table_files(wait)) | set(finish_by_files(finish))
    assert {n.split(".")[0] for n in written} | {"plan/", "bsb-output"} == named
