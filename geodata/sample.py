"""Seeded sample scenarios shaped like Kabupaten Bogor, for demos, tests and benchmarks.

Two modes:

* **synthetic** (default): a made-up regency in the box lon 106.40..107.15, lat -6.80..-6.30,
  with a hole where Kota Bogor is. Drop points are RW-level points clustered into synthetic
  kecamatan and desa whose names are built from Sundanese place-name parts; population is
  denser in the north and the east-west middle, as in the real regency.
* **real desa** (``bogor_geodata`` given): drop points scattered around the real desa centroids
  of Kabupaten Bogor, with real desa and kecamatan names. Meant for benchmarks; it reads
  ``bogor_desa_32.01_centroids.csv`` and ``bogor_kec_32.01.geojson`` from that folder.

Both modes share the BSB 2020 programme (two tranches, 30 kg then 15 kg per family), the
calendar of September and October 2020, warehouses (one at the Dramaga estimate) with stock
for their region's demand plus a margin, and a fleet of 2 t CDE and 5 t CDD trucks sized from
a simple round-trip estimate with spare shift time. Figures marked *estimate* come from
``DOMAIN.md`` and are assumptions, not published numbers. The same arguments always give the
same scenario.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

from geodata.output_guard import check_output_folder, write_folder_atomically
from geodata.scenario_writer import write_scenario
from optimizer.builder import check_scenario
from optimizer.geometry import haversine_matrix_km
from optimizer.model import (
    Calendar,
    DropPoint,
    Scenario,
    ServiceSettings,
    SolverSettings,
    Tranche,
    TravelSettings,
    Truck,
    Warehouse,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# --- Region (synthetic mode) ---

REGION_LON_MIN, REGION_LON_MAX = 106.40, 107.15
REGION_LAT_MIN, REGION_LAT_MAX = -6.80, -6.30
KOTA_BOGOR_CENTRE = (106.80, -6.60)
"""Centre of the Kota Bogor hole, ``(lon, lat)``: no synthetic drop point falls within
:data:`KOTA_BOGOR_RADIUS_DEG` of it (Kota Bogor is a separate city, not in the regency)."""
KOTA_BOGOR_RADIUS_DEG = 0.04
KECAMATAN_HOLE_MARGIN_DEG = 0.02
"""Kecamatan centres keep this much more distance from the hole so that their points fit."""

REAL_KECAMATAN_COUNT = 40
REAL_DESA_COUNT = 435
RW_PER_DESA_ESTIMATE = 9.0
"""About 3,900 RW over 435 desa (DOMAIN.md)."""

# --- Families per drop point ---

KPM_MEAN = 48.0
KPM_SD = 18.0
KPM_MIN, KPM_MAX = 20, 120
"""Families (KPM) per RW-level point: a normal clipped to 20..120, mean about 49 (estimate)."""

OPENING_HOURS_SHARE = 0.10
OPENING_HOURS_CHOICES_H = ((8, 15), (8, 16), (9, 15))
"""Opening hours (start, end) drawn for points that have them: when unloading may start."""
SERVICE_MIN_SHARE = 0.05
SERVICE_MIN_CHOICES = (20.0, 25.0, 30.0)
"""Longer stops, e.g. a meeting place up a lane the truck cannot enter."""
HOST_RT_MAX = 5
"""RW-level points are hosted at one RT of the RW, numbered 1..5."""

# --- Programme, calendar ---

START_DATE = date(2020, 9, 1)
TRANCHES = (
    Tranche(
        "2020-09", "September 2020 (Agustus + September)", 30.0, date(2020, 9, 1), date(2020, 9, 30)
    ),
    Tranche("2020-10", "Oktober 2020", 15.0, date(2020, 10, 1), date(2020, 10, 31)),
)
SACK_KG = 15.0
# Public holidays of September and October 2020: none in September (Islamic New Year 1442 was
# on 20 August); Maulid Nabi on Thursday 29 October, with the cuti bersama (collective leave)
# of Wednesday 28 and Friday 30 October added by the revised joint ministerial decree (SKB 3
# Menteri) of 2020. 28 October (Sumpah Pemuda) and 1 October (Kesaktian Pancasila) are not
# holidays in themselves. Sundays are off: working days are Monday to Saturday.
HOLIDAYS_2020 = frozenset({date(2020, 10, 28), date(2020, 10, 29), date(2020, 10, 30)})
CALENDAR = Calendar(
    working_days=frozenset(range(6)),
    holidays=HOLIDAYS_2020,
    shift_start_s=7 * 3600,
    shift_end_s=17 * 3600,
)

# --- Warehouses and fleet ---

DRAMAGA = (106.74, -6.57)
"""BULOG Dramaga warehouse, ``(lon, lat)``: an estimate (the Dramaga village centroid)."""
DRAMAGA_NAME = "Gudang Dramaga"
DROP_POINTS_PER_WAREHOUSE = 500
MIN_WAREHOUSES = 2
STOCK_MARGIN = 1.2
"""Each warehouse holds its region's demand over all tranches times this, in whole tonnes."""
KMEANS_ITERATIONS = 15


@dataclass(frozen=True, slots=True)
class TruckType:
    """A kind of truck and its cost estimates."""

    name: str
    capacity_kg: float
    cost_per_km: float
    cost_per_day: float


# Costs in IDR are estimates (fuel, driver, crew, rental), not published figures.
CDE = TruckType("CDE", 2000.0, 4000.0, 600_000.0)
CDD = TruckType("CDD", 5000.0, 5500.0, 900_000.0)
CDE_SHARE = 0.25
"""About a quarter of each fleet are CDE (village roads); at least one per warehouse."""
TARGET_UTILISATION = 0.6
"""The fleet is sized to need 60 % of its estimated capacity: 40 % spare shift time."""
TRIPS_PER_DAY_CAP = 4
"""Estimated trips per day never exceed this, which also covers trucks limited to 4 trips."""
LIMITED_TRIPS_SHARE = 0.15
LIMITED_TRIPS_PER_DAY = 4
DIRECT_TRIP_ROUNDING_S = 3.0
"""Seconds added per direct trip for the model's rounding up of each leg and stop."""
INTER_STOP_ROAD_KM_ESTIMATE = 4.0
"""Road km between consecutive stops of one trip (generous estimate)."""

# --- Names ---

_NAME_HEADS = (
    "Ci",
    "Suka",
    "Karang",
    "Mekar",
    "Sindang",
    "Pasir",
    "Bojong",
    "Leuwi",
    "Gunung",
    "Tegal",
    "Sirna",
    "Tanjung",
    "Jaya",
    "Warga",
    "Bina",
    "Rawa",
    "Situ",
    "Cibodas",
)
_NAME_TAILS = (
    "maju",
    "jaya",
    "sari",
    "mulya",
    "wangi",
    "asih",
    "galih",
    "rasa",
    "manah",
    "harja",
    "beureum",
    "hurip",
    "kerta",
    "raharja",
    "laksana",
    "makmur",
    "resmi",
    "mukti",
    "nagara",
    "luyu",
    "endah",
    "gede",
    "sirna",
    "tonggoh",
    "girang",
    "hilir",
    "kulon",
    "wetan",
)


@dataclass(frozen=True, slots=True)
class _Desa:
    """Where points cluster: a desa, its kecamatan, its code and its centre."""

    code: str
    name: str
    kecamatan: str
    lon: float
    lat: float


def make_sample(
    *,
    n_drop_points: int = 400,
    n_warehouses: int | None = None,
    seed: int = 1,
    bogor_geodata: Path | None = None,
) -> Scenario:
    """Generate a seeded sample scenario shaped like Kabupaten Bogor in 2020.

    Parameters
    ----------
    n_drop_points
        Exact number of drop points (RW-level points of about 49 families each).
    n_warehouses
        Number of warehouses; by default one per 500 drop points, at least 2. The first is
        "Gudang Dramaga" at the Dramaga estimate; the others are placed by a weighted k-means so
        that each serves a region.
    seed
        Seed of every random draw: the same arguments give the same scenario.
    bogor_geodata
        Folder with ``bogor_desa_32.01_centroids.csv`` and ``bogor_kec_32.01.geojson`` (real
        Kabupaten Bogor data): when given, points are placed around the real desa centroids
        with real names instead of in synthetic kecamatan.

    Returns
    -------
    Scenario
        Named ``sample-bogor-<n>-s<seed>`` (``sample-bogor-desa-<n>-s<seed>`` with real desa),
        with the two 2020 tranches, the September-October 2020 calendar and a solver time limit
        of 60 s.

    Raises
    ------
    ValueError
        If ``n_drop_points`` or ``n_warehouses`` is smaller than 1.
    FileNotFoundError
        If ``bogor_geodata`` is given but lacks one of the two files.
    InputError
        If the scenario fails the checks of a scenario read from files
        (:func:`optimizer.builder.check_scenario`): a ``seed`` beyond the solver's range.
    """
    if n_drop_points < 1:
        raise ValueError(f"n_drop_points must be at least 1, got {n_drop_points}")
    if n_warehouses is None:
        n_warehouses = max(MIN_WAREHOUSES, round(n_drop_points / DROP_POINTS_PER_WAREHOUSE))
    if n_warehouses < 1:
        raise ValueError(f"n_warehouses must be at least 1, got {n_warehouses}")
    rng = np.random.default_rng(seed)
    if bogor_geodata is None:
        desa_list = _synthetic_desa(rng, n_drop_points)
        desa_of_point = _points_per_desa_synthetic(rng, desa_list, n_drop_points)
        desa_sigma_deg = _desa_sigma_deg(len(desa_list))
        name = f"sample-bogor-{n_drop_points}-s{seed}"
        keep_in_region = True
    else:
        desa_list = _real_desa(bogor_geodata)
        desa_of_point = _points_per_desa_real(rng, len(desa_list), n_drop_points)
        # Real desa are small (6.9 km2 on average): stay within about 1 km of the centroid.
        desa_sigma_deg = 0.005
        name = f"sample-bogor-desa-{n_drop_points}-s{seed}"
        # Real desa reach beyond the synthetic box (to lon 107.2) and lie outside Kota Bogor.
        keep_in_region = False
    points = _drop_points(rng, desa_list, desa_of_point, desa_sigma_deg, keep_in_region)
    travel = TravelSettings()
    service = ServiceSettings()
    warehouses, trucks = _warehouses_and_fleet(rng, points, n_warehouses, travel, service)
    # Built in code, checked as a scenario read from files is (a sample must read back as is).
    return check_scenario(
        Scenario(
            name=name,
            start_date=START_DATE,
            warehouses=warehouses,
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


def write_sample(
    folder: Path,
    *,
    n_drop_points: int = 400,
    n_warehouses: int | None = None,
    seed: int = 1,
    bogor_geodata: Path | None = None,
    force: bool = False,
) -> Scenario:
    """Generate a sample with :func:`make_sample` and write it as a scenario folder, atomically.

    The folder is written under a temporary name with its manifest and renamed into place
    (:func:`geodata.output_guard.write_folder_atomically`): only a new or empty folder, or a
    sample scenario bsb wrote (holding nothing else) with ``force``, is written.

    Parameters
    ----------
    folder
        Destination folder (created when missing, with its parents).
    n_drop_points, n_warehouses, seed, bogor_geodata
        As for :func:`make_sample`.
    force
        Replace a sample scenario folder bsb wrote earlier.

    Returns
    -------
    Scenario
        The scenario that was written.

    Raises
    ------
    InputError
        If ``folder`` may not be written; nothing is written.
    """
    check_output_folder(folder, kind="scenario", force=force, option="OUT_DIR")
    scenario = make_sample(
        n_drop_points=n_drop_points,
        n_warehouses=n_warehouses,
        seed=seed,
        bogor_geodata=bogor_geodata,
    )
    write_folder_atomically(
        folder,
        "scenario",
        lambda staging: write_scenario(scenario, staging),
        force=force,
        option="OUT_DIR",
    )
    return scenario


# --- Synthetic geography ---


def _density_weight(lon: FloatArray, lat: FloatArray) -> FloatArray:
    """Relative population density: higher in the north and in the east-west middle."""
    north = (lat - REGION_LAT_MIN) / (REGION_LAT_MAX - REGION_LAT_MIN)
    middle = np.exp(-(((lon - 106.85) / 0.25) ** 2))
    result: FloatArray = (0.2 + 0.8 * north) * (0.5 + 0.5 * middle)
    return result


def _in_region(lon: FloatArray, lat: FloatArray, hole_radius_deg: float) -> npt.NDArray[np.bool_]:
    inside_box = (
        (lon >= REGION_LON_MIN)
        & (lon <= REGION_LON_MAX)
        & (lat >= REGION_LAT_MIN)
        & (lat <= REGION_LAT_MAX)
    )
    hole_distance = np.hypot(lon - KOTA_BOGOR_CENTRE[0], lat - KOTA_BOGOR_CENTRE[1])
    result: npt.NDArray[np.bool_] = inside_box & (hole_distance >= hole_radius_deg)
    return result


def _weighted_candidates(rng: np.random.Generator, count: int) -> FloatArray:
    """``count`` points drawn from the density over the region, away from the hole."""
    found: list[FloatArray] = []
    total = 0
    while total < count:
        lon = rng.uniform(REGION_LON_MIN, REGION_LON_MAX, 4 * count)
        lat = rng.uniform(REGION_LAT_MIN, REGION_LAT_MAX, 4 * count)
        keep = _in_region(lon, lat, KOTA_BOGOR_RADIUS_DEG + KECAMATAN_HOLE_MARGIN_DEG)
        keep &= rng.uniform(0.0, 1.0, lon.size) < _density_weight(lon, lat)
        batch = np.column_stack([lon[keep], lat[keep]])
        found.append(batch)
        total += len(batch)
    return np.concatenate(found)[:count]


def _spread_centres(rng: np.random.Generator, count: int, tries: int = 12) -> FloatArray:
    """Mitchell's best-candidate: density-weighted centres that keep apart from each other."""
    candidates = _weighted_candidates(rng, count * tries).reshape(count, tries, 2)
    centres = np.empty((count, 2))
    centres[0] = candidates[0, 0]
    for i in range(1, count):
        gaps = np.hypot(
            candidates[i, :, None, 0] - centres[None, :i, 0],
            candidates[i, :, None, 1] - centres[None, :i, 1],
        ).min(axis=1)
        centres[i] = candidates[i, int(np.argmax(gaps))]
    return centres


def _unique_place_names(rng: np.random.Generator, count: int) -> list[str]:
    combos = [head + tail for head in _NAME_HEADS for tail in _NAME_TAILS]
    # "Ci" + "beureum" is "Cibeureum"; drop doubled names such as "Jayajaya" and repeats.
    combos = sorted({n for n in combos if n[: len(n) // 2].lower() != n[len(n) // 2 :].lower()})
    if count > len(combos):
        # More desa than name parts: number the repeats, as real villages do ("Sukamaju 2").
        extra = [f"{name} {k}" for k in range(2, 2 + count // len(combos)) for name in combos]
        combos += extra
    order = rng.permutation(len(combos))[:count]
    return [combos[i] for i in order]


def _synthetic_desa(rng: np.random.Generator, n_points: int) -> list[_Desa]:
    n_kec = int(np.clip(round(0.6 * math.sqrt(n_points)), 1, REAL_KECAMATAN_COUNT))
    n_desa = int(
        np.clip(round(n_points / RW_PER_DESA_ESTIMATE), n_kec, max(REAL_DESA_COUNT, n_kec))
    )
    kec_centres = _spread_centres(rng, n_kec)
    kec_weight = _density_weight(kec_centres[:, 0], kec_centres[:, 1])
    # Every kecamatan gets at least one desa; the rest go to the denser ones.
    extra = rng.multinomial(n_desa - n_kec, kec_weight / kec_weight.sum())
    desa_per_kec = 1 + extra
    names = _unique_place_names(rng, n_desa)
    kec_sigma_deg = 0.5 * math.sqrt(_region_area_deg2() / n_kec / math.pi)
    desa_list: list[_Desa] = []
    name_index = 0
    for k in range(n_kec):
        # A kecamatan is named after its first desa, as most real ones are.
        kec_name = names[name_index]
        lon, lat = _scatter(rng, kec_centres[k], int(desa_per_kec[k]), kec_sigma_deg)
        for d in range(int(desa_per_kec[k])):
            desa_list.append(
                _Desa(
                    code=f"{k + 1:02d}.{2001 + d:04d}",
                    name=names[name_index],
                    kecamatan=kec_name,
                    lon=float(lon[d]),
                    lat=float(lat[d]),
                )
            )
            name_index += 1
    return desa_list


def _region_area_deg2() -> float:
    return (REGION_LON_MAX - REGION_LON_MIN) * (REGION_LAT_MAX - REGION_LAT_MIN)


def _desa_sigma_deg(n_desa: int) -> float:
    return 0.5 * math.sqrt(_region_area_deg2() / n_desa / math.pi)


def _scatter(
    rng: np.random.Generator,
    centre: FloatArray,
    count: int,
    sigma_deg: float,
    *,
    keep_in_region: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """``count`` points normally spread around ``centre``.

    With ``keep_in_region``, points outside the synthetic region or inside the Kota Bogor hole
    are drawn again. ``centre`` must then itself be inside the region: after a few rounds the
    stragglers are put on it, which keeps this loop finite however close to an edge it is.
    """
    lon = np.full(count, centre[0])
    lat = np.full(count, centre[1])
    todo = np.arange(count)
    for _ in range(20):
        lon[todo] = centre[0] + rng.normal(0.0, sigma_deg, todo.size)
        lat[todo] = centre[1] + rng.normal(0.0, sigma_deg, todo.size)
        if not keep_in_region:
            return lon, lat
        todo = todo[~_in_region(lon[todo], lat[todo], KOTA_BOGOR_RADIUS_DEG)]
        if todo.size == 0:
            break
    lon[todo] = centre[0]
    lat[todo] = centre[1]
    return lon, lat


def _points_per_desa_synthetic(
    rng: np.random.Generator, desa_list: list[_Desa], n_points: int
) -> IntArray:
    """Desa index of each point: every desa gets one, the rest follow the density."""
    n_desa = len(desa_list)
    lon = np.array([d.lon for d in desa_list])
    lat = np.array([d.lat for d in desa_list])
    weight = _density_weight(lon, lat) * rng.uniform(0.5, 1.5, n_desa)
    first = np.arange(min(n_desa, n_points))
    rest = rng.choice(n_desa, size=n_points - first.size, p=weight / weight.sum())
    return np.sort(np.concatenate([first, rest])).astype(np.int64)


# --- Real desa ---


def _real_desa(folder: Path) -> list[_Desa]:
    centroids = folder / "bogor_desa_32.01_centroids.csv"
    kecamatan = folder / "bogor_kec_32.01.geojson"
    for path in (centroids, kecamatan):
        if not path.is_file():
            raise FileNotFoundError(f"real Kabupaten Bogor data needs {path}")
    with kecamatan.open(encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    kec_names = {str(f["properties"]["kode"]): str(f["properties"]["nama"]) for f in features}
    with centroids.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        _Desa(
            code=row["kode"],
            name=row["nama"],
            kecamatan=kec_names.get(row["kec_kode"], row["kec_kode"]),
            lon=float(row["lng"]),
            lat=float(row["lat"]),
        )
        for row in sorted(rows, key=lambda r: r["kode"])
    ]


def _points_per_desa_real(rng: np.random.Generator, n_desa: int, n_points: int) -> IntArray:
    """Desa index of each point: as even as possible, the remainder on random desa.

    Real desa are smaller where people live closer together, so even shares already put more
    points per km2 in the dense north.
    """
    base, remainder = divmod(n_points, n_desa)
    counts = np.full(n_desa, base, dtype=np.int64)
    counts[rng.choice(n_desa, size=remainder, replace=False)] += 1
    return np.repeat(np.arange(n_desa, dtype=np.int64), counts)


# --- Drop points ---


def _drop_points(
    rng: np.random.Generator,
    desa_list: list[_Desa],
    desa_of_point: IntArray,
    sigma_deg: float,
    keep_in_region: bool,
) -> tuple[DropPoint, ...]:
    n = desa_of_point.size
    lon = np.empty(n)
    lat = np.empty(n)
    rw_number = np.empty(n, dtype=np.int64)
    starts = np.searchsorted(desa_of_point, np.arange(len(desa_list) + 1))
    for d, desa in enumerate(desa_list):
        lo, hi = int(starts[d]), int(starts[d + 1])
        if hi == lo:
            continue
        centre = np.array([desa.lon, desa.lat])
        lon[lo:hi], lat[lo:hi] = _scatter(
            rng, centre, hi - lo, sigma_deg, keep_in_region=keep_in_region
        )
        rw_number[lo:hi] = np.arange(1, hi - lo + 1)
    kpm = np.clip(np.rint(rng.normal(KPM_MEAN, KPM_SD, n)), KPM_MIN, KPM_MAX).astype(np.int64)
    has_hours = rng.uniform(0.0, 1.0, n) < OPENING_HOURS_SHARE
    hours_choice = rng.integers(0, len(OPENING_HOURS_CHOICES_H), n)
    has_service = rng.uniform(0.0, 1.0, n) < SERVICE_MIN_SHARE
    service_choice = rng.integers(0, len(SERVICE_MIN_CHOICES), n)
    host_rt = rng.integers(1, HOST_RT_MAX + 1, n)
    rw_width = max(2, len(str(int(rw_number.max()))))
    points: list[DropPoint] = []
    for i in range(n):
        desa = desa_list[int(desa_of_point[i])]
        rw = f"{int(rw_number[i]):0{rw_width}d}"
        open_h, close_h = OPENING_HOURS_CHOICES_H[int(hours_choice[i])]
        points.append(
            DropPoint(
                id=f"{desa.code}.{rw}",
                name=f"RW {rw} {desa.name}",
                # Rounded to about 0.1 m so that the CSV stays readable.
                lon=round(float(lon[i]), 6),
                lat=round(float(lat[i]), 6),
                kpm=int(kpm[i]),
                desa=desa.name,
                kecamatan=desa.kecamatan,
                rt=f"{int(host_rt[i]):03d}",
                rw=rw,
                open_s=open_h * 3600 if has_hours[i] else None,
                close_s=close_h * 3600 if has_hours[i] else None,
                service_min=SERVICE_MIN_CHOICES[int(service_choice[i])] if has_service[i] else None,
            )
        )
    return tuple(points)


# --- Warehouses and fleet ---


def _place_warehouses(
    lon: FloatArray, lat: FloatArray, weight: FloatArray, count: int
) -> FloatArray:
    """Dramaga plus ``count - 1`` centres of a weighted k-means over the points (Dramaga fixed)."""
    centres = np.empty((count, 2))
    centres[0] = DRAMAGA
    # Farthest-point start: each new centre at the point farthest from those placed so far.
    nearest = haversine_matrix_km(lon, lat, centres[:1, 0], centres[:1, 1])[:, 0]
    for c in range(1, count):
        far = int(np.argmax(nearest))
        centres[c] = (lon[far], lat[far])
        nearest = np.minimum(
            nearest, haversine_matrix_km(lon, lat, lon[far : far + 1], lat[far : far + 1])[:, 0]
        )
    for _ in range(KMEANS_ITERATIONS):
        owner = np.argmin(haversine_matrix_km(lon, lat, centres[:, 0], centres[:, 1]), axis=1)
        for c in range(1, count):
            mine = owner == c
            if mine.any():
                w = weight[mine]
                centres[c] = (np.dot(lon[mine], w) / w.sum(), np.dot(lat[mine], w) / w.sum())
    # A centre inside Kota Bogor moves out to the edge of the hole, away from its middle.
    for c in range(1, count):
        dx = centres[c, 0] - KOTA_BOGOR_CENTRE[0]
        dy = centres[c, 1] - KOTA_BOGOR_CENTRE[1]
        gap = math.hypot(dx, dy)
        if gap < KOTA_BOGOR_RADIUS_DEG:
            scale = KOTA_BOGOR_RADIUS_DEG / gap if gap > 0 else 1.0
            centres[c] = (KOTA_BOGOR_CENTRE[0] + dx * scale, KOTA_BOGOR_CENTRE[1] + dy * scale)
            if gap == 0:
                centres[c, 1] += KOTA_BOGOR_RADIUS_DEG
    return centres


def _warehouses_and_fleet(
    rng: np.random.Generator,
    points: tuple[DropPoint, ...],
    count: int,
    travel: TravelSettings,
    service: ServiceSettings,
) -> tuple[tuple[Warehouse, ...], tuple[Truck, ...]]:
    lon = np.array([p.lon for p in points])
    lat = np.array([p.lat for p in points])
    kpm = np.array([p.kpm for p in points], dtype=np.float64)
    centres = _place_warehouses(lon, lat, kpm, count)
    distance_km = haversine_matrix_km(lon, lat, centres[:, 0], centres[:, 1])
    owner = np.argmin(distance_km, axis=1)
    kg_per_kpm_total = sum(t.kg_per_kpm for t in TRANCHES)
    working_days = {
        t.id: len(CALENDAR.working_days_between(t.release, t.deadline)) for t in TRANCHES
    }
    warehouses: list[Warehouse] = []
    trucks: list[Truck] = []
    used_names: set[str] = set()
    for c in range(count):
        mine = owner == c
        warehouse_id = f"W{c + 1:02d}"
        if c == 0:
            name = DRAMAGA_NAME
        else:
            near = int(np.argmin(distance_km[:, c]))
            name = f"Gudang {points[near].kecamatan}"
            if name in used_names:
                name = f"{name} {c + 1}"
        used_names.add(name)
        demand_kg = float(kpm[mine].sum()) * kg_per_kpm_total
        stock_kg = float(math.ceil(demand_kg * STOCK_MARGIN / 1000.0) * 1000)
        warehouses.append(
            Warehouse(
                warehouse_id,
                name,
                round(float(centres[c, 0]), 6),
                round(float(centres[c, 1]), 6),
                stock_kg,
            )
        )
        trucks += warehouse_fleet(
            rng, warehouse_id, kpm[mine], distance_km[mine, c], working_days, travel, service
        )
    return tuple(warehouses), tuple(trucks)


def warehouse_fleet(
    rng: np.random.Generator,
    warehouse_id: str,
    kpm: FloatArray,
    straight_km: FloatArray,
    working_days: dict[str, int],
    travel: TravelSettings,
    service: ServiceSettings,
) -> list[Truck]:
    """Return one warehouse's trucks, CDD first, sized for its points (see :func:`_fleet_size`).

    Ids are ``{warehouse}-{type}-{nn}``; a seeded share of the trucks
    (:data:`LIMITED_TRIPS_SHARE`) may make at most :data:`LIMITED_TRIPS_PER_DAY` trips a day.
    """
    n_cde, n_cdd = _fleet_size(kpm, straight_km, working_days, travel, service)
    trucks = []
    for number, kind in enumerate([CDD] * n_cdd + [CDE] * n_cde, start=1):
        limited = rng.uniform(0.0, 1.0) < LIMITED_TRIPS_SHARE
        trucks.append(
            Truck(
                id=f"{warehouse_id}-{kind.name}-{number:02d}",
                warehouse_id=warehouse_id,
                capacity_kg=kind.capacity_kg,
                shift_start_s=CALENDAR.shift_start_s,
                shift_end_s=CALENDAR.shift_end_s,
                cost_per_km=kind.cost_per_km,
                cost_per_day=kind.cost_per_day,
                max_trips_per_day=LIMITED_TRIPS_PER_DAY if limited else None,
                type=kind.name,
            )
        )
    return trucks


def _fleet_size(
    kpm: FloatArray,
    straight_km: FloatArray,
    working_days: dict[str, int],
    travel: TravelSettings,
    service: ServiceSettings,
) -> tuple[int, int]:
    """Numbers of CDE and CDD trucks (at least one each) for one warehouse's points.

    Estimate: a trip loads, drives to the average point and back, and serves as many average
    deliveries as fit; the trips that fit in a shift (at most :data:`TRIPS_PER_DAY_CAP`) give
    kg per truck-day. The fleet carries the busiest tranche's kg per working day at
    :data:`TARGET_UTILISATION`, and has at least the shift time to serve every point of a
    tranche by its own round trip.
    """
    if kpm.size == 0:
        return 1, 1
    shift_s = CALENDAR.shift_end_s - CALENDAR.shift_start_s
    mean_road_km = float(straight_km.mean()) * travel.circuity
    need_kg_per_day = max(
        float(kpm.sum()) * t.kg_per_kpm / max(1, working_days[t.id]) / TARGET_UTILISATION
        for t in TRANCHES
    )
    mean_delivery_kg = max(float(kpm.mean()) * t.kg_per_kpm for t in TRANCHES)

    def kg_per_truck_day(kind: TruckType) -> float:
        stops = max(1, math.floor(kind.capacity_kg / mean_delivery_kg))
        kg_per_trip = min(kind.capacity_kg, stops * mean_delivery_kg)
        trip_s = (
            service.loading_min * 60
            + 2 * mean_road_km / travel.speed_kmh * 3600
            + stops * (service.stop_min + service.per_100kg_min * mean_delivery_kg / 100) * 60
            + (stops - 1) * INTER_STOP_ROAD_KM_ESTIMATE / travel.speed_kmh * 3600
        )
        trips = min(TRIPS_PER_DAY_CAP, max(1, math.floor(shift_s / trip_s)))
        return trips * kg_per_trip

    cdd_rate, cde_rate = kg_per_truck_day(CDD), kg_per_truck_day(CDE)
    n_cde = max(1, round(CDE_SHARE * need_kg_per_day / cdd_rate))
    n_cdd = max(1, math.ceil((need_kg_per_day - n_cde * cde_rate) / cdd_rate))
    # Generous floor: enough shift time in every tranche to serve each point by its own round
    # trip (a CDD carries any single delivery). Idle trucks cost nothing, unplanned rice does.
    road_km = straight_km * travel.circuity
    for tranche in TRANCHES:
        kg = kpm * tranche.kg_per_kpm
        direct_s = (
            service.loading_min * 60
            + 2 * road_km / travel.speed_kmh * 3600
            + (service.stop_min + service.per_100kg_min * kg / 100) * 60
            + DIRECT_TRIP_ROUNDING_S
        )
        available_s = max(1, working_days[tranche.id]) * shift_s
        n_cdd = max(n_cdd, math.ceil(float(direct_s.sum()) / available_s) - n_cde)
    return n_cde, n_cdd
