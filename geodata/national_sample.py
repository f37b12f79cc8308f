"""Seeded national scenarios: BSB 2020 over all Indonesia, any number of families.

:func:`make_national` builds a scenario shaped like the whole programme (10 million PKH
families served from about 1,550 BULOG warehouses, see ``DOMAIN.md``), or any smaller share of
it, for the national planning run and its benchmarks. :func:`write_national` writes it as an
ordinary scenario folder. The same arguments always give the same scenario.

Where the places come from
--------------------------
Districts (kecamatan) are either read from a centroids file (``kode,nama,lat,lng``, such as
``../shared/geodata/national/kec_centroids.csv``; the Kemendagri code ``PP.RR.DD`` gives the
province ``PP`` and the regency ``PP.RR``, whose name is read from ``kab_centroids.csv`` beside
it when there) or made up by this module: synthetic districts around synthetic regencies
strewn along the main islands (Sumatra, Java, Bali and Nusa Tenggara, Kalimantan, Sulawesi,
Maluku, Papua), as many per island as the real ones, with made-up names.

How families are spread
-----------------------
Each island gets its share of the families (:data:`ISLAND_FAMILY_SHARE`, the 2020 census's
shares of the population; Java holds more than half), split over its districts by lognormal
weights (:data:`DISTRICT_WEIGHT_SIGMA`): a few crowded districts, many small ones, as real
district populations are. A sample smaller than the nation keeps whole regencies: each island
gets its share of them, drawn by weight (one regency per :data:`WAREHOUSES_PER_REGENCY`
warehouses wanted, as in the nation, and at most one per :data:`MIN_POINTS_PER_REGENCY`
points), so that a small sample is a few crowded regencies rather than single points all over
the map. Drop points
are RW-level points of about ``families_per_point`` families each (normal spread, as in
:mod:`geodata.sample`), scattered around their district's centroid at a spread that follows the
gap to the neighbouring districts. The kecamatan of a point is its district; its desa are
groups of :data:`RW_PER_DESA` points named after the district.

Every place passes the land test the reader applies (:func:`geodata.land.find_sea_points`):
a point drawn in the sea is drawn again nearer its centroid, and what is still in the sea goes
to the district's anchor, its centroid or, for a centroid in the sea (island districts), the
nearest land found on rings around it (then on a fine grid, for islets between the rings).

Warehouses, stock and fleet
---------------------------
Every regency with points has at least one warehouse; the rest of the ``warehouses`` asked for
go to regencies by their families (largest remainders), at most one per
:data:`MIN_POINTS_PER_WAREHOUSE` points. Within a regency warehouses sit at the centres of a
weighted k-means of its points, moved onto the nearest drop point's place (so they are on
land). Each warehouse stocks the ration of every family nearest to it times ``stock_ratio``
(1.0: exactly the national need), in whole rations, and gets the fleet
:mod:`geodata.sample` sizes for the points nearest to it (2 t CDE and 5 t CDD trucks). The
programme is the sample's: 30 kg in September, 15 kg in October 2020, its calendar and sack.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from geodata.land import find_sea_points, load_land
from geodata.output_guard import check_output_folder, write_folder_atomically
from geodata.sample import (
    _NAME_HEADS,
    _NAME_TAILS,
    CALENDAR,
    HOST_RT_MAX,
    OPENING_HOURS_CHOICES_H,
    OPENING_HOURS_SHARE,
    SACK_KG,
    SERVICE_MIN_CHOICES,
    SERVICE_MIN_SHARE,
    START_DATE,
    TRANCHES,
    warehouse_fleet,
)
from geodata.scenario_writer import write_scenario
from optimizer.builder import INDONESIA_LAT_RANGE, INDONESIA_LON_RANGE, check_scenario
from optimizer.errors import InputError, Problem
from optimizer.geometry import haversine_matrix_km
from optimizer.model import (
    DropPoint,
    Scenario,
    ServiceSettings,
    SolverSettings,
    TravelSettings,
    Truck,
    Warehouse,
)

__all__ = [
    "DISTRICT_WEIGHT_SIGMA",
    "ISLAND_FAMILY_SHARE",
    "MIN_POINTS_PER_REGENCY",
    "MIN_POINTS_PER_WAREHOUSE",
    "NATIONAL_FAMILIES",
    "NATIONAL_WAREHOUSES",
    "PROVINCE_NAMES",
    "RW_PER_DESA",
    "WAREHOUSES_PER_REGENCY",
    "island_of_province",
    "make_national",
    "write_national",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_LandTest = Callable[[FloatArray, FloatArray], npt.NDArray[np.bool_]]
"""A land test on arrays, such as :func:`geodata.land.surely_on_land`."""

NATIONAL_FAMILIES = 10_000_000
"""PKH families (KPM) of BSB 2020 (Kemensos, DOMAIN.md)."""
NATIONAL_WAREHOUSES = 1550
"""BULOG warehouse units, about 1,550 (2018, DOMAIN.md)."""
FAMILIES_PER_POINT = 50
"""Families per RW-level drop point (about 49 in Kabupaten Bogor: an estimate, DOMAIN.md)."""

KPM_SD_SHARE = 0.375
KPM_MIN_SHARE, KPM_MAX_SHARE = 0.4, 2.4
"""Families per point: a normal of mean ``families_per_point`` and this share of it as standard
deviation, clipped to these shares of it (48 +- 18 in 20..120 in :mod:`geodata.sample`)."""

ISLAND_FAMILY_SHARE: dict[str, float] = {
    "Sumatera": 0.2168,
    "Jawa": 0.5610,
    "Bali dan Nusa Tenggara": 0.0554,
    "Kalimantan": 0.0615,
    "Sulawesi": 0.0736,
    "Maluku": 0.0100,
    "Papua": 0.0217,
}
"""Share of the families on each island group: the 2020 census's shares of the population
(Maluku and Papua's 3.17 % split by an estimate); PKH families are assumed to follow people."""

DISTRICT_WEIGHT_SIGMA = 0.7
"""Sigma of the lognormal weight of a district within its island: the largest of a hundred
districts holds about five times the median (an estimate of real district populations)."""

MIN_POINTS_PER_REGENCY = 20
"""A sample of N points keeps at most N / 20 regencies (all 514 from 10,280 points on)."""
WAREHOUSES_PER_REGENCY = 3
"""About 1,550 warehouse units over 514 regencies: a sample keeps one regency per three
warehouses wanted, so that its regencies are served as densely as the nation's."""
MIN_POINTS_PER_WAREHOUSE = 10
"""At most one warehouse per this many points (a small sample gets few warehouses)."""
RW_PER_DESA = 9
"""About 3,900 RW over 435 desa in Kabupaten Bogor (DOMAIN.md): points grouped into desa."""

SCATTER_GAP_SHARE = 0.4
SCATTER_SIGMA_DEG = (0.005, 0.12)
"""Points spread around their centroid with a sigma of this share of the gap to the nearest
other district centroid, within these bounds (0.5 to 13 km)."""
LAND_REDRAWS = 6
"""Rounds of drawing a sea point again, each at half the spread of the one before."""
ANCHOR_RADII_KM = tuple(float(r) for r in np.geomspace(0.3, 80.0, 36))
ANCHOR_BEARINGS = 32
"""Rings searched for land around a centroid in the sea: radii (km) and bearings per ring."""
ANCHOR_GRID_STEP_KM = 0.2
ANCHOR_GRID_KM = (5.0, 20.0, 80.0)
"""When the rings find no land (islets between their bearings): grids of this step out to these
half-widths, whose nodes inside a land polygon are candidates (an islet narrower than the step
may be missed; the next land is then found)."""
KMEANS_ITERATIONS = 10

PROVINCE_NAMES: dict[str, str] = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "Daerah Istimewa Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",
    "94": "Papua Tengah",
    "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
}
"""Provinces by Kemendagri code (2025)."""

_KODE = re.compile(r"^(\d{2})\.(\d{2})\.\d{2,}$")
_CENTROID_COLUMNS = ("kode", "nama", "lat", "lng")


@dataclass(frozen=True, slots=True)
class _IslandShape:
    """A made-up island group: a spine of ``(lon, lat)`` nodes and a half-width (degrees)."""

    name: str
    province_codes: tuple[str, ...]
    spine: tuple[tuple[float, float], ...]
    half_width_deg: float
    regencies: int
    districts: int


# Counts of regencies and districts as in the Kemendagri 2025 tables; spines follow the islands
# roughly, and the raster land test keeps only centres on land. Provinces are listed in their
# order along the spine (west to east, or south to north for Sulawesi).
_ISLANDS = (
    _IslandShape(
        "Sumatera",
        ("11", "12", "13", "14", "21", "15", "17", "16", "19", "18"),
        ((95.6, 5.3), (97.6, 3.6), (99.4, 1.2), (101.3, -0.8), (103.4, -3.0), (105.2, -5.0)),
        0.9,
        154,
        1966,
    ),
    _IslandShape(
        "Jawa",
        ("36", "31", "32", "33", "34", "35"),
        (
            (106.0, -6.5),
            (107.5, -6.9),
            (109.0, -7.1),
            (110.5, -7.3),
            (112.0, -7.6),
            (113.5, -7.9),
            (114.2, -8.2),
        ),
        0.3,
        119,
        2146,
    ),
    _IslandShape(
        "Bali dan Nusa Tenggara",
        ("51", "52", "53"),
        ((115.1, -8.4), (116.3, -8.6), (117.6, -8.7), (119.6, -8.7), (121.0, -8.7)),
        0.25,
        41,
        489,
    ),
    _IslandShape(
        "Kalimantan",
        ("61", "62", "63", "64", "65"),
        ((109.8, 0.3), (111.5, -0.5), (113.5, -1.5), (115.0, -2.0), (116.3, 0.0), (116.8, 2.5)),
        1.0,
        56,
        626,
    ),
    _IslandShape(
        "Sulawesi",
        ("73", "74", "76", "72", "75", "71"),
        ((119.7, -5.2), (119.9, -3.2), (120.3, -1.5), (121.5, 0.5), (123.2, 0.7), (124.8, 1.3)),
        0.4,
        81,
        1027,
    ),
    _IslandShape(
        "Maluku",
        ("82", "81"),
        ((127.8, 1.0), (128.0, -0.5), (128.3, -3.3), (129.5, -3.2)),
        0.3,
        21,
        237,
    ),
    _IslandShape(
        "Papua",
        ("96", "92", "94", "95", "91", "93"),
        ((131.8, -1.2), (134.0, -3.4), (136.5, -3.9), (138.8, -4.0), (140.5, -3.6), (140.3, -7.0)),
        0.8,
        42,
        793,
    ),
)


def island_of_province(code: str) -> str:
    """Return the island group of a two-digit province code (a key of ISLAND_FAMILY_SHARE).

    Parameters
    ----------
    code
        Kemendagri province code, e.g. ``"32"``.

    Returns
    -------
    str
        E.g. ``"Jawa"`` for ``"32"``: by the code's first digit (1 and 2 Sumatera, 3 Jawa, 5 Bali
        dan Nusa Tenggara, 6 Kalimantan, 7 Sulawesi, 8 Maluku, 9 Papua; others Sumatera).
    """
    first = code[:1]
    return {
        "1": "Sumatera",
        "2": "Sumatera",
        "3": "Jawa",
        "5": "Bali dan Nusa Tenggara",
        "6": "Kalimantan",
        "7": "Sulawesi",
        "8": "Maluku",
        "9": "Papua",
    }.get(first, "Sumatera")


@dataclass(frozen=True, slots=True)
class _Geography:
    """Districts and the regencies they belong to."""

    kode: list[str]
    name: list[str]
    lon: FloatArray
    lat: FloatArray
    regency: IntArray
    """Index of each district's regency in the regency lists."""
    regency_kode: list[str]
    regency_name: list[str]
    province_code: list[str]
    province_name: list[str]
    source_file: str
    """The centroids file the districts came from, or "" (synthetic): for problems."""


def make_national(
    *,
    families: int = NATIONAL_FAMILIES,
    warehouses: int = NATIONAL_WAREHOUSES,
    seed: int = 1,
    centroids: Path | None = None,
    families_per_point: int = FAMILIES_PER_POINT,
    stock_ratio: float = 1.0,
) -> Scenario:
    """Generate a seeded national scenario of BSB 2020 (see the module docstring).

    Parameters
    ----------
    families
        Families (KPM) in all, exactly; the drop points are about ``families /
        families_per_point``.
    warehouses
        Warehouses wanted; the scenario has at least one per regency with points and at most
        one per :data:`MIN_POINTS_PER_WAREHOUSE` points, so a small sample may have fewer.
    seed
        Seed of every random draw: the same arguments give the same scenario.
    centroids
        A district centroids file (``kode,nama,lat,lng``, Kemendagri codes ``PP.RR.DD``);
        regency names come from ``kab_centroids.csv`` beside it when present. None: synthetic
        districts over the main islands.
    families_per_point
        Mean families per drop point (RW level).
    stock_ratio
        Total stock as a share of the families' need; each warehouse stocks, in whole rations,
        this share of the need of the families nearest to it.

    Returns
    -------
    Scenario
        Named ``national-<families>-w<warehouses>-s<seed>`` (``national-kec-...`` on a
        centroids file), with the two 2020 tranches and the sample's calendar; warehouses and
        drop points carry ``kabupaten`` and ``provinsi``.

    Raises
    ------
    ValueError
        If a count is smaller than 1, ``families_per_point`` is larger than ``families`` or
        ``stock_ratio`` is negative.
    InputError
        If the centroids file cannot be read or has bad rows (every problem, with row and
        field), or a district's centroid has no land within the anchor search.
    """
    if families < 1 or warehouses < 1 or families_per_point < 1:
        raise ValueError(
            "families, warehouses and families_per_point must be at least 1, got "
            f"{families}, {warehouses} and {families_per_point}"
        )
    if not math.isfinite(stock_ratio) or stock_ratio < 0:
        raise ValueError(f"stock_ratio must be a number >= 0, got {stock_ratio}")
    geography_seed, draw_seed, fleet_seed = np.random.SeedSequence(seed).spawn(3)
    geo = (
        _synthetic_geography(np.random.default_rng(geography_seed))
        if centroids is None
        else _read_centroids(centroids)
    )
    rng = np.random.default_rng(draw_seed)
    n_points = min(families, max(1, round(families / families_per_point)))
    district_points = _points_per_district(rng, geo, n_points, warehouses)
    district_of_point = np.repeat(np.arange(len(geo.kode)), district_points)
    kpm = _families_per_point(rng, n_points, families, families_per_point)
    lon, lat = _scatter_on_land(rng, geo, district_of_point)
    points = _drop_points(rng, geo, district_of_point, lon, lat, kpm)
    travel, service = TravelSettings(), ServiceSettings()
    built_warehouses, trucks = _warehouses_and_fleet(
        np.random.default_rng(fleet_seed),
        geo,
        district_of_point,
        points,
        warehouses,
        stock_ratio,
        travel,
        service,
    )
    kind = "national" if centroids is None else "national-kec"
    # Built in code, checked as a scenario read from files is (it must read back as is).
    return check_scenario(
        Scenario(
            name=f"{kind}-{families}-w{warehouses}-s{seed}",
            start_date=START_DATE,
            warehouses=built_warehouses,
            trucks=trucks,
            drop_points=points,
            tranches=TRANCHES,
            sack_kg=SACK_KG,
            calendar=CALENDAR,
            travel=travel,
            service=service,
            solver=SolverSettings(time_limit_s=60.0, seed=seed),
        )
    )


def write_national(scenario: Scenario, folder: Path, *, force: bool = False) -> None:
    """Write a national scenario as a scenario folder, atomically.

    As :func:`geodata.sample.write_sample`: the folder is written under a temporary name with
    its manifest and renamed into place; only a new or empty folder, or a scenario folder bsb
    wrote (holding nothing else) with ``force``, is written.

    Parameters
    ----------
    scenario
        The scenario, e.g. from :func:`make_national`.
    folder
        Destination folder (created when missing, with its parents).
    force
        Replace a scenario folder bsb wrote earlier.

    Raises
    ------
    InputError
        If ``folder`` may not be written; nothing is written.
    """
    check_output_folder(folder, kind="scenario", force=force, option="OUT_DIR")
    write_folder_atomically(
        folder,
        "scenario",
        lambda staging: write_scenario(scenario, staging),
        force=force,
        option="OUT_DIR",
    )


# --- Geography ---


def _read_centroids(path: Path) -> _Geography:
    """Read a district centroids file, collecting every bad row before raising."""
    display = path.name
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip().lower() for name in reader.fieldnames or ()]
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(
            [Problem(display, f"cannot read the district centroids file: {error}")]
        ) from None
    missing = [name for name in _CENTROID_COLUMNS if name not in header]
    if missing:
        raise InputError(
            [
                Problem(
                    display,
                    f"missing column(s) {', '.join(missing)}; expected "
                    f"{', '.join(_CENTROID_COLUMNS)}",
                )
            ]
        )
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    kode: list[str] = []
    name: list[str] = []
    lon: list[float] = []
    lat: list[float] = []
    for number, raw in enumerate(rows, start=2):
        row = {key.strip().lower(): (value or "").strip() for key, value in raw.items() if key}
        code = row["kode"]
        good = True
        if not _KODE.match(code):
            problems.append(
                Problem(display, f"{code!r} is not a district code like 32.01.01", number, "kode")
            )
            good = False
        elif code in seen:
            problems.append(Problem(display, f"{code} is also on row {seen[code]}", number, "kode"))
            good = False
        else:
            seen[code] = number
        place: list[float] = []
        for field, bounds in (("lng", INDONESIA_LON_RANGE), ("lat", INDONESIA_LAT_RANGE)):
            try:
                value = float(row[field])
            except ValueError:
                value = math.nan
            if not bounds[0] <= value <= bounds[1]:
                problems.append(
                    Problem(
                        display,
                        f"{row[field]!r} is not a {field} in Indonesia "
                        f"({bounds[0]:g} to {bounds[1]:g})",
                        number,
                        field,
                    )
                )
                good = False
            place.append(value)
        if good:
            kode.append(code)
            name.append(row["nama"] or code)
            lon.append(place[0])
            lat.append(place[1])
    if not rows:
        problems.append(Problem(display, "no districts in the file"))
    if problems:
        raise InputError(problems)
    regency_names = _regency_names(path.parent / "kab_centroids.csv")
    order = sorted(range(len(kode)), key=lambda i: kode[i])
    regency_index: dict[str, int] = {}
    regency = np.empty(len(order), dtype=np.int64)
    for position, i in enumerate(order):
        regency[position] = regency_index.setdefault(kode[i][:5], len(regency_index))
    regency_kode = list(regency_index)
    province_code = [code[:2] for code in regency_kode]
    return _Geography(
        kode=[kode[i] for i in order],
        name=[name[i] for i in order],
        lon=np.array([lon[i] for i in order]),
        lat=np.array([lat[i] for i in order]),
        regency=regency,
        regency_kode=regency_kode,
        regency_name=[regency_names.get(code, f"Kabupaten {code}") for code in regency_kode],
        province_code=province_code,
        province_name=[PROVINCE_NAMES.get(code, f"Provinsi {code}") for code in province_code],
        source_file=display,
    )


def _regency_names(path: Path) -> dict[str, str]:
    """Regency names by code from a ``kab_centroids.csv``; empty when there is none."""
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {
            (row.get("kode") or "").strip(): (row.get("nama") or "").strip()
            for row in csv.DictReader(handle)
            if (row.get("kode") or "").strip() and (row.get("nama") or "").strip()
        }


def _synthetic_geography(rng: np.random.Generator) -> _Geography:
    """Made-up regencies along the main islands, their districts around them, on land."""
    from geodata.land import surely_on_land

    names = _place_names(rng)
    kode: list[str] = []
    district_name: list[str] = []
    lon_parts: list[FloatArray] = []
    lat_parts: list[FloatArray] = []
    regency: list[int] = []
    regency_kode: list[str] = []
    regency_name: list[str] = []
    province_code: list[str] = []
    province_name: list[str] = []
    for island in _ISLANDS:
        centres, position = _along_spine(rng, island, island.regencies, surely_on_land)
        # Provinces are stretches of the spine; regencies are numbered along it.
        order = np.argsort(position, kind="stable")
        centres = centres[order]
        district_count = rng.multinomial(
            island.districts - island.regencies, np.full(island.regencies, 1 / island.regencies)
        )
        spacing_deg = _spine_length_deg(island) / island.regencies
        for r in range(island.regencies):
            province = island.province_codes[r * len(island.province_codes) // island.regencies]
            code = f"{province}.{sum(1 for k in regency_kode if k[:2] == province) + 1:02d}"
            index = len(regency_kode)
            regency_kode.append(code)
            regency_name.append(f"Kabupaten {next(names)}")
            province_code.append(province)
            province_name.append(PROVINCE_NAMES[province])
            count = 1 + int(district_count[r])
            lon, lat = _around(rng, centres[r], count, 0.4 * spacing_deg, surely_on_land)
            for d in range(count):
                kode.append(f"{code}.{d + 1:02d}")
                district_name.append(next(names))
                regency.append(index)
            lon_parts.append(lon)
            lat_parts.append(lat)
    return _Geography(
        kode=kode,
        name=district_name,
        lon=np.asarray(np.round(np.concatenate(lon_parts), 6), dtype=np.float64),
        lat=np.asarray(np.round(np.concatenate(lat_parts), 6), dtype=np.float64),
        regency=np.array(regency, dtype=np.int64),
        regency_kode=regency_kode,
        regency_name=regency_name,
        province_code=province_code,
        province_name=province_name,
        source_file="",
    )


def _spine_length_deg(island: _IslandShape) -> float:
    spine = np.array(island.spine)
    return float(np.hypot(*np.diff(spine, axis=0).T).sum())


def _along_spine(
    rng: np.random.Generator, island: _IslandShape, count: int, on_land: _LandTest
) -> tuple[FloatArray, FloatArray]:
    """``count`` places on land near the island's spine, and their positions along it (0..1)."""
    spine = np.array(island.spine)
    lengths = np.hypot(*np.diff(spine, axis=0).T)
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
    found: list[FloatArray] = []
    positions: list[FloatArray] = []
    total = 0
    while total < count:
        at = rng.uniform(0.0, cumulative[-1], 8 * count)
        segment = np.clip(np.searchsorted(cumulative, at, side="right") - 1, 0, len(lengths) - 1)
        share = (at - cumulative[segment]) / lengths[segment]
        base = spine[segment] + share[:, None] * (spine[segment + 1] - spine[segment])
        place = base + rng.normal(0.0, island.half_width_deg / 2, base.shape)
        keep = on_land(place[:, 0], place[:, 1])
        found.append(place[keep])
        positions.append(at[keep] / cumulative[-1])
        total += int(keep.sum())
    return np.concatenate(found)[:count], np.concatenate(positions)[:count]


def _around(
    rng: np.random.Generator, centre: FloatArray, count: int, sigma_deg: float, on_land: _LandTest
) -> tuple[FloatArray, FloatArray]:
    """``count`` places on land normally spread around ``centre`` (itself on land)."""
    lon = np.full(count, centre[0])
    lat = np.full(count, centre[1])
    todo = np.arange(1, count)  # the first district sits at the regency's centre
    for _ in range(30):
        if todo.size == 0:
            break
        lon[todo] = centre[0] + rng.normal(0.0, sigma_deg, todo.size)
        lat[todo] = centre[1] + rng.normal(0.0, sigma_deg, todo.size)
        todo = todo[~on_land(lon[todo], lat[todo])]
    lon[todo], lat[todo] = centre[0], centre[1]
    return lon, lat


def _place_names(rng: np.random.Generator) -> _NameStream:
    return _NameStream(rng)


class _NameStream:
    """Made-up place names from the sample's name parts, numbered once they run out."""

    def __init__(self, rng: np.random.Generator) -> None:
        combos = sorted(
            {
                head + tail
                for head in _NAME_HEADS
                for tail in _NAME_TAILS
                if (head + tail)[: len(head + tail) // 2].lower()
                != (head + tail)[len(head + tail) // 2 :].lower()
            }
        )
        self._names = [combos[i] for i in rng.permutation(len(combos))]
        self._count = 0

    def __iter__(self) -> _NameStream:
        return self

    def __next__(self) -> str:
        base = self._names[self._count % len(self._names)]
        round_ = self._count // len(self._names)
        self._count += 1
        return base if round_ == 0 else f"{base} {round_ + 1}"


# --- Families and drop points ---


def _district_weights(rng: np.random.Generator, geo: _Geography) -> FloatArray:
    """Lognormal weight of each district, scaled so that each island holds its share."""
    island = [island_of_province(geo.province_code[r]) for r in geo.regency]
    per_island: dict[str, int] = defaultdict(int)
    for name in island:
        per_island[name] += 1
    weight = rng.lognormal(0.0, DISTRICT_WEIGHT_SIGMA, len(island))
    raw_total: dict[str, float] = defaultdict(float)
    for i, name in enumerate(island):
        raw_total[name] += float(weight[i])
    share_total = sum(ISLAND_FAMILY_SHARE[name] for name in per_island)
    scale = np.array([ISLAND_FAMILY_SHARE[name] / share_total / raw_total[name] for name in island])
    result: FloatArray = weight * scale
    return result


def _points_per_district(
    rng: np.random.Generator, geo: _Geography, n_points: int, warehouses: int
) -> IntArray:
    """Points of each district: regencies drawn by weight, then points over their districts.

    At most one regency per :data:`WAREHOUSES_PER_REGENCY` warehouses wanted and per
    :data:`MIN_POINTS_PER_REGENCY` points. Islands get regencies and points by their share
    of the families, then regencies within an island are drawn by weight: drawing by weight
    over the whole nation and then sharing by weight again would crowd Java twice over.
    """
    weight = _district_weights(rng, geo)
    n_regencies = len(geo.regency_kode)
    regency_weight: FloatArray = np.bincount(
        geo.regency, weights=weight, minlength=n_regencies
    ).astype(np.float64)
    island_of_regency = [island_of_province(code) for code in geo.province_code]
    islands = [name for name in ISLAND_FAMILY_SHARE if name in set(island_of_regency)]
    members = [
        np.array([r for r in range(n_regencies) if island_of_regency[r] == name], dtype=np.int64)
        for name in islands
    ]
    share = np.array([ISLAND_FAMILY_SHARE[name] for name in islands])
    keep = min(
        n_regencies,
        math.ceil(warehouses / WAREHOUSES_PER_REGENCY),
        max(1, n_points // MIN_POINTS_PER_REGENCY),
    )
    keep_per_island = _capped_split(keep, share, np.array([m.size for m in members]))
    regency_points = np.zeros(n_regencies, dtype=np.int64)
    on_island = keep_per_island > 0
    island_points = _largest_remainder(
        n_points, share[on_island], minimum=keep_per_island[on_island]
    )
    for island, points in zip(np.flatnonzero(on_island).tolist(), island_points, strict=True):
        mine = members[island]
        count = int(keep_per_island[island])
        if count < mine.size:
            odds = regency_weight[mine] / regency_weight[mine].sum()
            mine = np.sort(rng.choice(mine, size=count, replace=False, p=odds))
        regency_points[mine] = _largest_remainder(int(points), regency_weight[mine], minimum=1)
    district_points = np.zeros(len(geo.kode), dtype=np.int64)
    for r in np.flatnonzero(regency_points):
        mine = np.flatnonzero(geo.regency == r)
        district_points[mine] = rng.multinomial(
            int(regency_points[r]), weight[mine] / weight[mine].sum()
        )
    return district_points


def _capped_split(total: int, weight: FloatArray, cap: IntArray) -> IntArray:
    """Split ``total`` by largest remainders in proportion to ``weight``, none above its cap."""
    split = np.zeros(weight.size, dtype=np.int64)
    open_ = cap > 0
    while (left := total - int(split.sum())) > 0 and open_.any():
        split[open_] += _largest_remainder(left, weight[open_])
        split = np.minimum(split, cap)
        open_ = split < cap
    return split


def _largest_remainder(total: int, weight: FloatArray, *, minimum: int | IntArray = 0) -> IntArray:
    """Split ``total`` in proportion to ``weight``, each at least ``minimum`` (whole numbers).

    What is left over the minimums is shared by weight; when the minimums exceed ``total``
    each gets its minimum.
    """
    base = np.zeros(weight.size, dtype=np.int64) + minimum
    rest = total - int(base.sum())
    if rest <= 0:
        return base
    exact = rest * weight / weight.sum()
    share = np.floor(exact).astype(np.int64)
    short = rest - int(share.sum())
    # Ties broken by position: stable, so the same weights always give the same split.
    order = np.argsort(-(exact - share), kind="stable")[:short]
    share[order] += 1
    result: IntArray = base + share
    return result


def _families_per_point(
    rng: np.random.Generator, n_points: int, families: int, families_per_point: int
) -> IntArray:
    """Families of each point, about ``families_per_point`` each, adding up to ``families``."""
    raw = np.clip(
        rng.normal(families_per_point, KPM_SD_SHARE * families_per_point, n_points),
        KPM_MIN_SHARE * families_per_point,
        KPM_MAX_SHARE * families_per_point,
    )
    kpm: IntArray = np.maximum(1, np.floor(raw * families / raw.sum())).astype(np.int64)
    # The floors leave a few families over (or, with the floor of 1, too many): one more or one
    # fewer on points drawn at random until the total is exact.
    while (short := families - int(kpm.sum())) != 0:
        if short > 0:
            kpm[rng.choice(n_points, size=min(short, n_points), replace=False)] += 1
        else:
            spare = np.flatnonzero(kpm > 1)
            kpm[rng.choice(spare, size=min(-short, spare.size), replace=False)] -= 1
    return kpm


def _scatter_sigma_deg(geo: _Geography) -> FloatArray:
    """Spread of each district's points: a share of the gap to the nearest other centroid."""
    from scipy.spatial import cKDTree

    if len(geo.kode) < 2:
        return np.full(len(geo.kode), SCATTER_SIGMA_DEG[1])
    xyz = _unit_vectors(geo.lon, geo.lat)
    distance, _ = cKDTree(xyz).query(xyz, k=2)
    gap_deg = np.degrees(2 * np.arcsin(np.minimum(1.0, distance[:, 1] / 2)))
    result: FloatArray = np.clip(SCATTER_GAP_SHARE * gap_deg, *SCATTER_SIGMA_DEG)
    return result


def _scatter_on_land(
    rng: np.random.Generator, geo: _Geography, district_of_point: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Places of the points around their district's centroid, all passing the land test."""
    n = district_of_point.size
    centre_lon = geo.lon[district_of_point]
    centre_lat = geo.lat[district_of_point]
    sigma = _scatter_sigma_deg(geo)[district_of_point]
    lon = centre_lon.copy()
    lat = centre_lat.copy()
    todo = np.arange(n)
    for attempt in range(LAND_REDRAWS + 1):
        spread = sigma[todo] * 0.5**attempt
        lon[todo] = _clip_round(centre_lon[todo] + rng.normal(0.0, 1.0, todo.size) * spread, "lon")
        lat[todo] = _clip_round(centre_lat[todo] + rng.normal(0.0, 1.0, todo.size) * spread, "lat")
        sea = find_sea_points(lon[todo], lat[todo])
        todo = todo[[point.index for point in sea]]
        if todo.size == 0:
            return lon, lat
    districts = np.unique(district_of_point[todo])
    anchors = _land_anchors(geo, districts)
    for district, (anchor_lon, anchor_lat) in zip(districts.tolist(), anchors, strict=True):
        stray = todo[district_of_point[todo] == district]
        lon[stray], lat[stray] = anchor_lon, anchor_lat
    return lon, lat


def _clip_round(values: FloatArray, axis: str) -> FloatArray:
    low, high = INDONESIA_LON_RANGE if axis == "lon" else INDONESIA_LAT_RANGE
    # Rounded to about 0.1 m (as the sample's): the land test sees the place that is written.
    result: FloatArray = np.asarray(np.round(np.clip(values, low, high), 6), dtype=np.float64)
    return result


def _land_anchors(geo: _Geography, districts: IntArray) -> list[tuple[float, float]]:
    """For each district, its centroid when on land, else the nearest land found around it."""
    lon = geo.lon[districts]
    lat = geo.lat[districts]
    sea = {point.index for point in find_sea_points(lon, lat)}
    anchors = [(float(lon[k]), float(lat[k])) for k in range(districts.size)]
    at_sea = sorted(sea)
    if not at_sea:
        return anchors
    radius_deg = np.array(ANCHOR_RADII_KM) / 111.32
    bearing = np.linspace(0.0, 2 * np.pi, ANCHOR_BEARINGS, endpoint=False)
    ring_r = np.repeat(radius_deg, ANCHOR_BEARINGS)
    ring_b = np.tile(bearing, radius_deg.size)
    per_district = ring_r.size
    base_lon = np.repeat(lon[at_sea], per_district)
    base_lat = np.repeat(lat[at_sea], per_district)
    cand_lat = _clip_round(base_lat + np.tile(ring_r * np.sin(ring_b), len(at_sea)), "lat")
    cand_lon = _clip_round(
        base_lon + np.tile(ring_r * np.cos(ring_b), len(at_sea)) / np.cos(np.radians(base_lat)),
        "lon",
    )
    # Inside a land polygon or not: no distances to measure, and a node inside land is on it.
    wet = ~load_land().contains(cand_lon, cand_lat)
    problems: list[Problem] = []
    for slot, k in enumerate(at_sea):
        lo = slot * per_district
        dry = np.flatnonzero(~wet[lo : lo + per_district])
        if dry.size:
            # Candidates go out ring by ring: the first dry one is the nearest land found.
            first = lo + int(dry[0])
            anchors[k] = (float(cand_lon[first]), float(cand_lat[first]))
            continue
        # Rings pass between islets: a grid fine enough that one node is near any land.
        found = _land_on_grid(float(lon[k]), float(lat[k]))
        if found is None:
            problems.append(
                Problem(
                    geo.source_file or "synthetic districts",
                    f"district {geo.kode[int(districts[k])]} is in the sea with no land within "
                    f"{ANCHOR_GRID_KM[-1]:.0f} km; expected a place on or near land",
                    field="lat/lng",
                )
            )
        else:
            anchors[k] = found
    if problems:
        raise InputError(problems)
    return anchors


def _land_on_grid(lon: float, lat: float) -> tuple[float, float] | None:
    """Return the node nearest ``(lon, lat)`` on land of a grid around it, or None."""
    for half_km in ANCHOR_GRID_KM:
        steps = np.arange(-half_km, half_km + ANCHOR_GRID_STEP_KM / 2, ANCHOR_GRID_STEP_KM)
        east_km, north_km = (axis.ravel() for axis in np.meshgrid(steps, steps))
        order = np.argsort(np.hypot(east_km, north_km), kind="stable")
        east_km, north_km = east_km[order], north_km[order]
        node_lat = _clip_round(lat + north_km / 111.32, "lat")
        node_lon = _clip_round(lon + east_km / (111.32 * math.cos(math.radians(lat))), "lon")
        dry = np.flatnonzero(load_land().contains(node_lon, node_lat))
        if dry.size:
            return float(node_lon[dry[0]]), float(node_lat[dry[0]])
    return None


def _drop_points(
    rng: np.random.Generator,
    geo: _Geography,
    district_of_point: IntArray,
    lon: FloatArray,
    lat: FloatArray,
    kpm: IntArray,
) -> tuple[DropPoint, ...]:
    n = district_of_point.size
    # RW numbers count up within each district (points are sorted by district).
    starts = np.searchsorted(district_of_point, district_of_point)
    rw_number = np.arange(n) - starts + 1
    rw_width = max(2, len(str(int(rw_number.max()))))
    has_hours = rng.uniform(0.0, 1.0, n) < OPENING_HOURS_SHARE
    hours_choice = rng.integers(0, len(OPENING_HOURS_CHOICES_H), n)
    has_service = rng.uniform(0.0, 1.0, n) < SERVICE_MIN_SHARE
    service_choice = rng.integers(0, len(SERVICE_MIN_CHOICES), n)
    host_rt = rng.integers(1, HOST_RT_MAX + 1, n)
    points: list[DropPoint] = []
    for i in range(n):
        d = int(district_of_point[i])
        r = int(geo.regency[d])
        rw = f"{int(rw_number[i]):0{rw_width}d}"
        district = geo.name[d]
        open_h, close_h = OPENING_HOURS_CHOICES_H[int(hours_choice[i])]
        points.append(
            DropPoint(
                id=f"{geo.kode[d]}.{rw}",
                name=f"RW {rw} {district}",
                lon=float(lon[i]),
                lat=float(lat[i]),
                kpm=int(kpm[i]),
                desa=f"{district} {(int(rw_number[i]) - 1) // RW_PER_DESA + 1}",
                kecamatan=district,
                rt=f"{int(host_rt[i]):03d}",
                rw=rw,
                open_s=open_h * 3600 if has_hours[i] else None,
                close_s=close_h * 3600 if has_hours[i] else None,
                service_min=SERVICE_MIN_CHOICES[int(service_choice[i])] if has_service[i] else None,
                kabupaten=geo.regency_name[r],
                provinsi=geo.province_name[r],
            )
        )
    return tuple(points)


# --- Warehouses and fleet ---


def _unit_vectors(lon: FloatArray, lat: FloatArray) -> FloatArray:
    """3-D unit vectors: chord order is great-circle order, so a KD-tree finds the nearest."""
    lon_r, lat_r = np.radians(lon), np.radians(lat)
    return np.column_stack(
        [np.cos(lat_r) * np.cos(lon_r), np.cos(lat_r) * np.sin(lon_r), np.sin(lat_r)]
    )


def _warehouses_per_regency(
    regency_of_point: IntArray, kpm: IntArray, n_regencies: int, wanted: int
) -> IntArray:
    """One warehouse per regency with points, the rest by families, within the point cap."""
    families: FloatArray = np.bincount(regency_of_point, weights=kpm, minlength=n_regencies).astype(
        np.float64
    )
    points = np.bincount(regency_of_point, minlength=n_regencies)
    served = np.flatnonzero(points > 0)
    total = max(served.size, min(wanted, int(points.sum()) // MIN_POINTS_PER_WAREHOUSE))
    count = np.zeros(n_regencies, dtype=np.int64)
    count[served] = _largest_remainder(total, families[served], minimum=1)
    # A regency never gets more warehouses than points.
    count[served] = np.minimum(count[served], points[served])
    return count


def _kmeans_sites(lon: FloatArray, lat: FloatArray, weight: FloatArray, count: int) -> IntArray:
    """Return ``count`` distinct points (indices) nearest the centres of a weighted k-means."""
    if count >= lon.size:
        return np.arange(lon.size)
    # Farthest-point start from the heaviest point: deterministic and spread out.
    centres = np.empty((count, 2))
    first = int(np.argmax(weight))
    centres[0] = (lon[first], lat[first])
    nearest = haversine_matrix_km(lon, lat, centres[:1, 0], centres[:1, 1])[:, 0]
    for c in range(1, count):
        far = int(np.argmax(nearest))
        centres[c] = (lon[far], lat[far])
        nearest = np.minimum(
            nearest, haversine_matrix_km(lon, lat, lon[far : far + 1], lat[far : far + 1])[:, 0]
        )
    for _ in range(KMEANS_ITERATIONS):
        owner = np.argmin(haversine_matrix_km(lon, lat, centres[:, 0], centres[:, 1]), axis=1)
        for c in range(count):
            mine = owner == c
            if mine.any():
                w = weight[mine]
                centres[c] = (np.dot(lon[mine], w) / w.sum(), np.dot(lat[mine], w) / w.sum())
    # Each warehouse moves onto the nearest point not taken yet: a place on land.
    distance = haversine_matrix_km(centres[:, 0], centres[:, 1], lon, lat)
    sites = np.empty(count, dtype=np.int64)
    taken = np.zeros(lon.size, dtype=bool)
    for c in range(count):
        row = np.where(taken, np.inf, distance[c])
        sites[c] = int(np.argmin(row))
        taken[sites[c]] = True
    return sites


def _warehouses_and_fleet(
    rng: np.random.Generator,
    geo: _Geography,
    district_of_point: IntArray,
    points: tuple[DropPoint, ...],
    wanted: int,
    stock_ratio: float,
    travel: TravelSettings,
    service: ServiceSettings,
) -> tuple[tuple[Warehouse, ...], tuple[Truck, ...]]:
    from scipy.spatial import cKDTree

    lon = np.array([p.lon for p in points])
    lat = np.array([p.lat for p in points])
    kpm = np.array([p.kpm for p in points], dtype=np.int64)
    regency_of_point = geo.regency[district_of_point]
    n_regencies = len(geo.regency_kode)
    per_regency = _warehouses_per_regency(regency_of_point, kpm, n_regencies, wanted)
    site_point: list[int] = []
    site_regency: list[int] = []
    for r in np.flatnonzero(per_regency):
        mine = np.flatnonzero(regency_of_point == r)
        chosen = _kmeans_sites(lon[mine], lat[mine], kpm[mine].astype(np.float64), per_regency[r])
        site_point += mine[chosen].tolist()
        site_regency += [int(r)] * chosen.size
    sites = np.array(site_point, dtype=np.int64)
    # Nearest warehouse of every point, nationally (a point near a regency border may be
    # nearer another regency's warehouse): the families a warehouse stocks and fleets for.
    tree = cKDTree(_unit_vectors(lon[sites], lat[sites]))
    chord, owner = tree.query(_unit_vectors(lon, lat))
    straight_km = 2 * 6371.0088 * np.arcsin(np.minimum(1.0, chord / 2))
    families = np.bincount(owner, weights=kpm, minlength=sites.size)
    kg_per_kpm_total = sum(t.kg_per_kpm for t in TRANCHES)
    working_days = {
        t.id: len(CALENDAR.working_days_between(t.release, t.deadline)) for t in TRANCHES
    }
    width = max(4, len(str(sites.size)))
    warehouses: list[Warehouse] = []
    trucks: list[Truck] = []
    used_names: set[str] = set()
    for w, point_index in enumerate(sites.tolist()):
        site = points[point_index]
        regency = site_regency[w]
        warehouse_id = f"W{w + 1:0{width}d}"
        name = f"Gudang {site.kecamatan}"
        if name in used_names:
            name = f"{name} ({warehouse_id})"
        used_names.add(name)
        # Whole rations: the stock feeds exactly ceil(ratio x families) families.
        rations = math.ceil(float(families[w]) * stock_ratio - 1e-9)
        warehouses.append(
            Warehouse(
                warehouse_id,
                name,
                site.lon,
                site.lat,
                float(rations * kg_per_kpm_total),
                kabupaten=geo.regency_name[regency],
                provinsi=geo.province_name[regency],
            )
        )
        mine = owner == w
        trucks += warehouse_fleet(
            rng,
            warehouse_id,
            kpm[mine].astype(np.float64),
            straight_km[mine],
            working_days,
            travel,
            service,
        )
    return tuple(warehouses), tuple(trucks)
