"""What a what-if becomes: ``whatif.csv``, ``whatif.xlsx``, ``whatif.md`` and plots.

``whatif.csv`` is the machine table: English column names, ISO dates (empty: never), plain
numbers. The spreadsheet, the Markdown table and the plots are for people: in Bahasa
Indonesia by default (English on request), numbers and dates by :mod:`geodata.i18n`.

Columns of ``whatif.csv``:

* ``bsb whatif --fleet-scale``: ``fleet_scale, warehouse, trucks, date_95, date_100, cost,
  truck_days, family_wait_days``, then ``families_total, families_served, mean_wait_days,
  warning`` (warehouse ``ALL``: the whole scenario);
* ``bsb whatif --wait-cost``: the same with ``wait_cost_per_kpm_day`` first;
* ``bsb whatif --finish-by``: ``warehouse, trucks_now, trucks_added, last_date``, then
  ``estimate, plans, note``.

Plots (PNG and SVG, :func:`table_plots`): fleet size against the dates 95 % and 100 % of the
families are served (``plot_dates``) and against cost (``plot_cost``); for ``--wait-cost``,
cost against family waiting days, one point per weight (``plot_wait_cost``); for
``--finish-by``, trucks now and added per warehouse (``plot_trucks``). Matplotlib is imported
inside the plotting functions and draws with its Agg (PNG) and SVG renderers, never a window.

:func:`write_whatif_folder` writes the folder atomically with its manifest (kind ``whatif``),
and for ``--finish-by`` the confirming plan as a complete plan folder in ``plan/``.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import unique
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from documents.pipeline import SolverOverrides
from geodata.cells import spreadsheet_text
from geodata.i18n import (
    WordTable,
    format_decimal,
    format_integer,
    format_number,
    format_short_date,
    parse_language,
)
from optimizer.errors import InputError, Problem
from optimizer.whatif import (
    ALL_WAREHOUSES,
    FLEET_SCALE,
    FinishByResult,
    WhatIfRow,
    WhatIfTable,
)

if TYPE_CHECKING:
    from geodata.travel_matrix import Travel
    from optimizer.model import Scenario
    from optimizer.solution import Plan

__all__ = [
    "FINISH_BY_COLUMNS",
    "TABLE_COLUMNS",
    "WhatIfRequest",
    "WhatIfRun",
    "WhatIfText",
    "finish_by_csv",
    "finish_by_files",
    "run_whatif",
    "table_csv",
    "table_files",
    "write_whatif_folder",
]

TABLE_COLUMNS: Final = (
    "warehouse",
    "trucks",
    "date_95",
    "date_100",
    "cost",
    "truck_days",
    "family_wait_days",
    "families_total",
    "families_served",
    "mean_wait_days",
    "warning",
)
"""Columns of a fleet-scale or wait-cost ``whatif.csv`` after the setting's own column."""

FINISH_BY_COLUMNS: Final = (
    "warehouse",
    "trucks_now",
    "trucks_added",
    "last_date",
    "estimate",
    "plans",
    "note",
)
"""Columns of a ``--finish-by`` ``whatif.csv``."""

PLOT_DPI: Final = 150
"""Resolution of the PNG plots: sharp when pasted into a report at 15 cm."""


@unique
class WhatIfText(WordTable):
    """Words of the what-if tables and plots: ``(Bahasa Indonesia, English)``."""

    TITLE_FLEET = ("Bagaimana jika: ukuran armada", "What if: fleet size")
    TITLE_WAIT = ("Bagaimana jika: bobot waktu tunggu", "What if: weight on waiting")
    TITLE_FINISH = ("Bagaimana jika: selesai paling lambat", "What if: finish by")
    FLEET_SCALE = ("Skala armada", "Fleet scale")
    WAIT_COST = ("Biaya tunggu per KPM-hari", "Waiting cost per family-day")
    WAREHOUSE = ("Gudang", "Warehouse")
    ALL = ("SEMUA", "ALL")
    TRUCKS = ("Truk", "Trucks")
    DATE_95 = ("Tanggal 95% KPM terlayani", "Date 95% of families served")
    DATE_100 = ("Tanggal 100% KPM terlayani", "Date 100% of families served")
    COST = ("Biaya (Rp)", "Cost (Rp)")
    TRUCK_DAYS = ("Hari-truk", "Truck-days")
    WAIT_DAYS = ("KPM-hari menunggu", "Family-days waited")
    FAMILIES = ("KPM", "Families")
    SERVED = ("KPM terlayani", "Families served")
    MEAN_WAIT = ("Rata-rata hari menunggu", "Mean days waited")
    WARNING = ("Peringatan", "Warning")
    NEVER = ("tidak tercapai", "never")
    TRUCKS_NOW = ("Truk sekarang", "Trucks now")
    TRUCKS_ADDED = ("Truk tambahan", "Trucks added")
    LAST_DATE = ("Pengiriman terakhir", "Last delivery")
    ESTIMATE = ("Perkiraan (truk)", "Estimate (trucks)")
    NOTE = ("Catatan", "Note")
    NOT_FOUND = ("tidak ditemukan", "not found")
    TOTAL_TRUCKS = ("Jumlah truk", "Number of trucks")
    COMPLETION = ("Tanggal KPM terlayani", "Date families are served")
    SERIES_95 = ("95% KPM", "95% of families")
    SERIES_100 = ("100% KPM", "100% of families")
    COST_AXIS = ("Biaya (juta Rp)", "Cost (million Rp)")
    DATE_FOR = ("Target tanggal", "Target date")
    TRANCHES = ("Tahap", "Tranches")
    CONFIRMED = ("terkonfirmasi oleh rencana penuh", "confirmed by a whole plan")
    NOT_CONFIRMED = (
        "BELUM terkonfirmasi: KPM masih tertinggal",
        "NOT confirmed: families still left",
    )
    INCOMPLETE = (
        "Dihentikan sebelum semua skenario direncanakan",
        "Stopped before every setting was planned",
    )


# --- whatif.csv -------------------------------------------------------------------------------


def _iso(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def _plain(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 2)


def table_csv(table: WhatIfTable) -> bytes:
    """``whatif.csv`` of a fleet-scale or wait-cost what-if (UTF-8, header first)."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow((table.kind, *TABLE_COLUMNS))
    for row in table.rows:
        o = row.outcome
        writer.writerow(
            (
                _plain(row.setting),
                spreadsheet_text(o.warehouse),
                o.trucks,
                _iso(o.date_95),
                _iso(o.date_100),
                _plain(o.cost),
                o.truck_days,
                _plain(o.family_wait_days),
                o.families_total,
                o.families_served,
                _plain(o.mean_wait_days),
                row.warning,
            )
        )
    return stream.getvalue().encode("utf-8")


def _plans_cell(plans: Mapping[int, bool]) -> str:
    # "3:short 4:enough": the fleet sizes planned, so a reader sees n and n-1 were tried.
    return " ".join(f"{n}:{'enough' if ok else 'short'}" for n, ok in sorted(plans.items()))


def finish_by_csv(result: FinishByResult) -> bytes:
    """``whatif.csv`` of a ``--finish-by`` what-if (UTF-8, header first)."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(FINISH_BY_COLUMNS)
    for answer in result.answers:
        writer.writerow(
            (
                spreadsheet_text(answer.warehouse),
                answer.trucks_now,
                "" if answer.trucks_added is None else answer.trucks_added,
                _iso(answer.last_date),
                answer.estimate,
                _plans_cell(answer.plans),
                answer.note,
            )
        )
    return stream.getvalue().encode("utf-8")


# --- people's tables --------------------------------------------------------------------------


def _day_text(day: date | None, language: str) -> str:
    return WhatIfText.NEVER.label(language) if day is None else format_short_date(day, language)


def _warehouse_text(name: str, language: str) -> str:
    return WhatIfText.ALL.label(language) if name == ALL_WAREHOUSES else name


def _setting_label(kind: str, language: str) -> str:
    return (WhatIfText.FLEET_SCALE if kind == FLEET_SCALE else WhatIfText.WAIT_COST).label(language)


def _table_headers(kind: str, language: str) -> list[str]:
    words = (
        WhatIfText.WAREHOUSE,
        WhatIfText.TRUCKS,
        WhatIfText.DATE_95,
        WhatIfText.DATE_100,
        WhatIfText.COST,
        WhatIfText.TRUCK_DAYS,
        WhatIfText.WAIT_DAYS,
        WhatIfText.FAMILIES,
        WhatIfText.SERVED,
        WhatIfText.MEAN_WAIT,
        WhatIfText.WARNING,
    )
    return [_setting_label(kind, language), *(w.label(language) for w in words)]


def _table_md(table: WhatIfTable, language: str) -> str:
    title = WhatIfText.TITLE_FLEET if table.kind == FLEET_SCALE else WhatIfText.TITLE_WAIT
    lines = [f"# {title.label(language)}", ""]
    if table.tranches:
        lines += [f"{WhatIfText.TRANCHES.label(language)}: {', '.join(table.tranches)}", ""]
    headers = _table_headers(table.kind, language)
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    for row in table.rows:
        o = row.outcome
        cells = [
            format_number(row.setting, language)
            if table.kind != FLEET_SCALE
            else format_decimal(row.setting, language, 2),
            _warehouse_text(o.warehouse, language),
            format_integer(o.trucks, language),
            _day_text(o.date_95, language),
            _day_text(o.date_100, language),
            format_integer(o.cost, language),
            format_integer(o.truck_days, language),
            format_integer(o.family_wait_days, language),
            format_integer(o.families_total, language),
            format_integer(o.families_served, language),
            format_decimal(o.mean_wait_days, language, 1),
            row.warning,
        ]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    if not table.complete:
        lines += ["", f"**{WhatIfText.INCOMPLETE.label(language)}**"]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table_xlsx(table: WhatIfTable, language: str) -> bytes:
    from documents.xlsx import SHORT_DATE_FORMATS, Book

    book = Book(SHORT_DATE_FORMATS[parse_language(language)])
    title = WhatIfText.TITLE_FLEET if table.kind == FLEET_SCALE else WhatIfText.TITLE_WAIT
    sheet = book.sheet("whatif")
    sheet.title(title.label(language))
    sheet.skip()
    headers = _table_headers(table.kind, language)
    sheet.header(headers, [14, 12, 8, 18, 18, 16, 10, 14, 10, 12, 12, 30])
    for row in table.rows:
        o = row.outcome
        sheet.line(
            [
                float(row.setting),
                _warehouse_text(o.warehouse, language),
                o.trucks,
                o.date_95 if o.date_95 is not None else WhatIfText.NEVER.label(language),
                o.date_100 if o.date_100 is not None else WhatIfText.NEVER.label(language),
                _plain(o.cost),
                o.truck_days,
                _plain(o.family_wait_days),
                o.families_total,
                o.families_served,
                _plain(o.mean_wait_days),
                row.warning or None,
            ],
            bold=o.warehouse == ALL_WAREHOUSES,
        )
    sheet.table_setup()
    return book.finish()


def _finish_by_headers(language: str) -> list[str]:
    words = (
        WhatIfText.WAREHOUSE,
        WhatIfText.TRUCKS_NOW,
        WhatIfText.TRUCKS_ADDED,
        WhatIfText.LAST_DATE,
        WhatIfText.ESTIMATE,
        WhatIfText.NOTE,
    )
    return [w.label(language) for w in words]


def _finish_by_md(result: FinishByResult, language: str) -> str:
    status = WhatIfText.CONFIRMED if result.confirmed else WhatIfText.NOT_CONFIRMED
    lines = [
        f"# {WhatIfText.TITLE_FINISH.label(language)} {format_short_date(result.day, language)}",
        "",
        f"{WhatIfText.TRANCHES.label(language)}: {', '.join(result.tranches)}; "
        f"{status.label(language)}"
        + (
            f" ({format_integer(result.families_left, language)})"
            if not result.confirmed and result.families_left
            else ""
        ),
        "",
    ]
    headers = _finish_by_headers(language)
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    for a in result.answers:
        cells = [
            a.warehouse,
            format_integer(a.trucks_now, language),
            WhatIfText.NOT_FOUND.label(language)
            if a.trucks_added is None
            else format_integer(a.trucks_added, language),
            "" if a.last_date is None else format_short_date(a.last_date, language),
            format_integer(a.estimate, language),
            a.note,
        ]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _finish_by_xlsx(result: FinishByResult, language: str) -> bytes:
    from documents.xlsx import SHORT_DATE_FORMATS, Book

    book = Book(SHORT_DATE_FORMATS[parse_language(language)])
    sheet = book.sheet("whatif")
    sheet.title(
        f"{WhatIfText.TITLE_FINISH.label(language)} {format_short_date(result.day, language)}"
    )
    sheet.skip()
    sheet.header(_finish_by_headers(language), [14, 12, 12, 18, 12, 40])
    for a in result.answers:
        sheet.line(
            [
                a.warehouse,
                a.trucks_now,
                a.trucks_added
                if a.trucks_added is not None
                else WhatIfText.NOT_FOUND.label(language),
                a.last_date,
                a.estimate,
                a.note or None,
            ]
        )
    sheet.table_setup()
    return book.finish()


# --- plots ------------------------------------------------------------------------------------


def _figure() -> tuple[Any, Any]:
    # No pyplot: a Figure of its own draws with the Agg (PNG) and SVG renderers, opens no
    # window and keeps no global state between plots.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.0, 4.2), layout="constrained")
    return figure, figure.add_subplot()


def _save(figure: Any, stem: str) -> dict[str, bytes]:
    import matplotlib

    files: dict[str, bytes] = {}
    # Same inputs, same bytes: no creation date, fixed SVG ids. SVG text stays text, so a
    # report can edit it and a test can read it.
    with matplotlib.rc_context({"svg.hashsalt": "bsb", "svg.fonttype": "none"}):
        for suffix, metadata in (
            ("png", {"Software": None}),
            ("svg", {"Date": None, "Creator": None}),
        ):
            stream = io.BytesIO()
            figure.savefig(stream, format=suffix, dpi=PLOT_DPI, metadata=metadata)
            files[f"{stem}.{suffix}"] = stream.getvalue()
    return files


def _date_axis(axis: Any, language: str) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: _ordinal_text(value, language)))


def _whole_numbers(axis: Any) -> None:
    # Trucks come whole: no tick at 2.5 trucks.
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _ordinal_text(value: float, language: str) -> str:
    try:
        day = date.fromordinal(round(value))
    except (ValueError, OverflowError):
        return ""
    return format_short_date(day, language)


def _total_rows(table: WhatIfTable) -> list[WhatIfRow]:
    return [r for r in table.rows if r.outcome.warehouse == ALL_WAREHOUSES]


def plot_dates(table: WhatIfTable, language: str = "id") -> dict[str, bytes]:
    """Trucks (all warehouses) against the dates 95 % and 100 % of the families are served.

    A fleet that never serves them all has no point on the 100 % line.
    """
    figure, axes = _figure()
    totals = sorted(_total_rows(table), key=lambda r: (r.outcome.trucks, r.setting))
    days: list[int] = []
    for series, label, marker in (
        ("date_95", WhatIfText.SERIES_95, "o"),
        ("date_100", WhatIfText.SERIES_100, "s"),
    ):
        points = [
            (r.outcome.trucks, getattr(r.outcome, series).toordinal())
            for r in totals
            if getattr(r.outcome, series) is not None
        ]
        days += [p[1] for p in points]
        if points:
            axes.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                marker=marker,
                label=label.label(language),
            )
    axes.set_xlabel(WhatIfText.TOTAL_TRUCKS.label(language))
    _whole_numbers(axes.xaxis)
    axes.set_ylabel(WhatIfText.COMPLETION.label(language))
    axes.set_title(_title(table, language))
    _date_axis(axes.yaxis, language)
    if days and max(days) - min(days) < 4:
        # Every fleet finishes within a few days: show a week around them, not the
        # centuries matplotlib's automatic margin gives one repeated date.
        axes.set_ylim(min(days) - 3, max(days) + 3)
    axes.grid(True, alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend()
    return _save(figure, "whatif_dates")


def plot_cost(table: WhatIfTable, language: str = "id") -> dict[str, bytes]:
    """Trucks (all warehouses) against the plan's cost, in millions of rupiah."""
    figure, axes = _figure()
    totals = sorted(_total_rows(table), key=lambda r: (r.outcome.trucks, r.setting))
    axes.plot(
        [r.outcome.trucks for r in totals],
        [r.outcome.cost / 1e6 for r in totals],
        marker="o",
    )
    axes.set_xlabel(WhatIfText.TOTAL_TRUCKS.label(language))
    _whole_numbers(axes.xaxis)
    axes.set_ylabel(WhatIfText.COST_AXIS.label(language))
    axes.set_title(_title(table, language))
    axes.grid(True, alpha=0.3)
    return _save(figure, "whatif_cost")


def plot_wait_cost(table: WhatIfTable, language: str = "id") -> dict[str, bytes]:
    """Cost against family-days waited, one point per weight, labelled with the weight."""
    figure, axes = _figure()
    totals = _total_rows(table)
    xs = [r.outcome.family_wait_days for r in totals]
    ys = [r.outcome.cost / 1e6 for r in totals]
    axes.plot(xs, ys, marker="o", linestyle=":")
    for row, x, y in zip(totals, xs, ys, strict=True):
        axes.annotate(
            format_number(row.setting, language),
            (x, y),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
        )
    axes.set_xlabel(WhatIfText.WAIT_DAYS.label(language))
    axes.set_ylabel(WhatIfText.COST_AXIS.label(language))
    axes.set_title(_title(table, language))
    axes.grid(True, alpha=0.3)
    return _save(figure, "whatif_wait_cost")


def plot_trucks(result: FinishByResult, language: str = "id") -> dict[str, bytes]:
    """Per warehouse: trucks now and trucks to add (stacked bars)."""
    figure, axes = _figure()
    names = [a.warehouse for a in result.answers]
    now = [a.trucks_now for a in result.answers]
    added = [a.trucks_added or 0 for a in result.answers]
    axes.bar(names, now, label=WhatIfText.TRUCKS_NOW.label(language))
    axes.bar(names, added, bottom=now, label=WhatIfText.TRUCKS_ADDED.label(language))
    axes.set_xlabel(WhatIfText.WAREHOUSE.label(language))
    axes.set_ylabel(WhatIfText.TRUCKS.label(language))
    _whole_numbers(axes.yaxis)
    # Room above the tallest bar for the legend.
    axes.set_ylim(0, max([n + a for n, a in zip(now, added, strict=True)], default=1) * 1.3)
    axes.set_title(
        f"{WhatIfText.TITLE_FINISH.label(language)} {format_short_date(result.day, language)}"
    )
    axes.legend()
    return _save(figure, "whatif_trucks")


def _title(table: WhatIfTable, language: str) -> str:
    word = WhatIfText.TITLE_FLEET if table.kind == FLEET_SCALE else WhatIfText.TITLE_WAIT
    return word.label(language)


# --- the folder -------------------------------------------------------------------------------


def table_files(table: WhatIfTable, language: str = "id") -> dict[str, bytes]:
    """Every file of a fleet-scale or wait-cost what-if, by name.

    Raises
    ------
    ValueError
        If ``language`` is unknown.
    """
    parse_language(language)
    files = {
        "whatif.csv": table_csv(table),
        "whatif.xlsx": _table_xlsx(table, language),
        "whatif.md": _table_md(table, language).encode("utf-8"),
    }
    if table.kind == FLEET_SCALE:
        files |= plot_dates(table, language) | plot_cost(table, language)
    else:
        files |= plot_wait_cost(table, language) | plot_dates(table, language)
    return files


def finish_by_files(result: FinishByResult, language: str = "id") -> dict[str, bytes]:
    """Every file of a ``--finish-by`` what-if but the plan folder, by name.

    Raises
    ------
    ValueError
        If ``language`` is unknown.
    """
    parse_language(language)
    return {
        "whatif.csv": finish_by_csv(result),
        "whatif.xlsx": _finish_by_xlsx(result, language),
        "whatif.md": _finish_by_md(result, language).encode("utf-8"),
    } | plot_trucks(result, language)


PlanWriter = Callable[[Path], None]
"""Writes a plan folder at the path it is given (``documents.plan_files.write_complete_plan``
with the caller's scenario, plan and roads)."""


def write_whatif_folder(
    out_dir: Path,
    files: Mapping[str, bytes],
    *,
    write_plan: PlanWriter | None = None,
    force: bool = False,
    protected: Sequence[Path] = (),
) -> Path:
    """Write a what-if folder atomically: its files, and ``plan/`` when ``write_plan`` is given.

    Parameters
    ----------
    out_dir
        The folder to create (or, with ``force``, a what-if folder bsb wrote).
    files
        Name to bytes (:func:`table_files`, :func:`finish_by_files`).
    write_plan
        Writes the confirming plan folder into the path it is given (``out_dir/plan``).
    force, protected
        As for :func:`geodata.output_guard.write_folder_atomically`.

    Raises
    ------
    InputError
        If ``out_dir`` may not be written (nothing is written).
    """
    from geodata.output_guard import write_folder_atomically

    def write(folder: Path) -> None:
        for name, content in files.items():
            (folder / name).write_bytes(content)
        if write_plan is not None:
            write_plan(folder / "plan")

    return write_folder_atomically(out_dir, "whatif", write, force=force, protected=protected)


# --- one run, for the CLI and the service ------------------------------------------------------


@dataclass(frozen=True)
class WhatIfRequest:
    """What a ``bsb whatif`` (or a service job) asks: exactly one of the three questions.

    Attributes
    ----------
    finish_by
        The date every deliverable family must be served by (``--finish-by``).
    fleet_scales
        Fleet scales to plan (``--fleet-scale``).
    wait_costs
        Weights ``wait_cost_per_kpm_day`` to plan (``--wait-cost``).
    tranche
        The tranche asked about (``--tranche``); see :func:`optimizer.whatif.tranches_for`.
    truck_type
        Type of trucks added (``--truck-type``).
    overrides
        Solver settings of every plan (time limit per plan, seed, strategy, solution limit).
    """

    finish_by: date | None = None
    fleet_scales: tuple[float, ...] = ()
    wait_costs: tuple[float, ...] = ()
    tranche: str | None = None
    truck_type: str | None = None
    overrides: SolverOverrides = field(default_factory=SolverOverrides)

    def problems(self) -> list[Problem]:
        """List what is wrong with the request as such (before reading the scenario)."""
        asked = [
            name
            for name, given in (
                ("--finish-by", self.finish_by is not None),
                ("--fleet-scale", bool(self.fleet_scales)),
                ("--wait-cost", bool(self.wait_costs)),
            )
            if given
        ]
        found: list[Problem] = []
        if len(asked) != 1:
            found.append(
                Problem(
                    "whatif",
                    "give exactly one of --finish-by, --fleet-scale and --wait-cost"
                    + (f" (given: {', '.join(asked)})" if asked else ""),
                )
            )
        if any(not s > 0 for s in self.fleet_scales):
            found.append(Problem("--fleet-scale", "scales must be positive numbers"))
        if any(w < 0 for w in self.wait_costs):
            found.append(Problem("--wait-cost", "weights must not be negative"))
        if self.truck_type is not None and self.finish_by is None and not self.fleet_scales:
            found.append(Problem("--truck-type", "only --finish-by and --fleet-scale add trucks"))
        return found


@dataclass(frozen=True)
class WhatIfRun:
    """What :func:`run_whatif` did: the table or the finish-by answer, and the folder."""

    out_dir: Path
    table: WhatIfTable | None = None
    finish: FinishByResult | None = None
    files: tuple[str, ...] = ()


def run_whatif(
    scenario_dir: Path,
    out_dir: Path,
    request: WhatIfRequest,
    *,
    config: Path | None = None,
    workers: int = 1,
    language: str = "id",
    force: bool = False,
    stop: threading.Event | None = None,
    progress: Callable[[str], None] | None = None,
) -> WhatIfRun:
    """Read a scenario, answer a what-if by planning, write the what-if folder.

    Every plan runs through :func:`documents.pipeline.run_pipeline` (checked, not written);
    ``--finish-by``'s confirming plan is checked again against the scenario with the added
    trucks and the original deadlines and written to ``out_dir/plan``.

    Parameters
    ----------
    scenario_dir
        The scenario folder (never written).
    out_dir
        The what-if folder (new, empty, or with ``force`` one bsb wrote).
    request
        The question and the solver settings of each plan.
    config
        TOML overriding ``scenario.toml``.
    workers
        Processes routing parts at once in each plan.
    language
        ``"id"`` or ``"en"`` for the tables, plots and the plan folder.
    force
        Replace a what-if folder bsb wrote.
    stop
        When set, no further plan starts; what is done is written.
    progress
        Told a line per plan.

    Raises
    ------
    InputError
        Bad request or scenario (every problem), or an output folder that may not be written.
    PlanFailsCheckError
        If a plan fails the checker (a bug).
    """
    from documents.pipeline import run_pipeline, write_checked_plan
    from geodata.output_guard import check_output_folder
    from geodata.scenario_io import validate_scenario
    from optimizer.planner import PlannerOptions
    from optimizer.whatif import finish_by, fleet_scale_table, wait_cost_table

    found = request.problems()
    try:
        parse_language(language)
    except ValueError as error:
        found.append(Problem("--language", str(error)))
    if found:
        raise InputError(found)
    protected = (Path(scenario_dir),)
    check_output_folder(Path(out_dir), kind="whatif", force=force, protected=protected)
    scenario = request.overrides.apply(validate_scenario(Path(scenario_dir), config=config))
    travel = _travel(scenario, Path(scenario_dir))
    options = PlannerOptions(workers=workers)

    def plan_fn(variant: Scenario) -> Plan:
        return run_pipeline(variant, None, options=options, stop=stop, travel=travel).plan

    tranches = None if request.tranche is None else [request.tranche]
    try:
        if request.finish_by is not None:
            result = finish_by(
                scenario,
                request.finish_by,
                plan_fn,
                tranche_id=request.tranche,
                truck_type=request.truck_type,
                stop=stop,
                progress=progress,
            )
        elif request.fleet_scales:
            _known_tranche(scenario, request.tranche)
            table = fleet_scale_table(
                scenario,
                request.fleet_scales,
                plan_fn,
                truck_type=request.truck_type,
                tranches=tranches,
                stop=stop,
                progress=progress,
            )
        else:
            _known_tranche(scenario, request.tranche)
            table = wait_cost_table(
                scenario,
                request.wait_costs,
                plan_fn,
                tranches=tranches,
                stop=stop,
                progress=progress,
            )
    except ValueError as error:
        if isinstance(error, InputError):
            raise
        raise InputError([Problem("whatif", str(error))]) from error

    if request.finish_by is not None:
        files = finish_by_files(result, language)
        writer: PlanWriter | None = None
        if result.scenario is not None and result.plan is not None:
            final_scenario, final_plan = result.scenario, result.plan

            def writer(folder: Path) -> None:
                write_checked_plan(
                    final_scenario,
                    final_plan,
                    folder,
                    folder=Path(scenario_dir),
                    travel=travel,
                    language=language,
                    protected=protected,
                )

        write_whatif_folder(out_dir, files, write_plan=writer, force=force, protected=protected)
        names = (*files, *(("plan/",) if writer is not None else ()))
        return WhatIfRun(out_dir=Path(out_dir), finish=result, files=tuple(names))
    files = table_files(table, language)
    write_whatif_folder(out_dir, files, force=force, protected=protected)
    return WhatIfRun(out_dir=Path(out_dir), table=table, files=tuple(files))


def _known_tranche(scenario: Scenario, tranche: str | None) -> None:
    known = [t.id for t in scenario.tranches]
    if tranche is not None and tranche not in known:
        raise InputError(
            [
                Problem(
                    "--tranche", f"unknown tranche {tranche!r}: expected one of {', '.join(known)}"
                )
            ]
        )


def _travel(scenario: Scenario, folder: Path) -> Travel | None:
    # Built once: added trucks are copies of types the fleet has, so the roads of the
    # fleet's access classes serve every variant.
    if scenario.travel.source == "straight":
        return None
    from geodata.travel_matrix import build_travel

    return build_travel(scenario, folder)
