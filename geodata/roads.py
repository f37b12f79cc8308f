"""Roads from an OpenStreetMap extract: the network, snapping, distance and time matrices.

:func:`load_road_graph` reads the motor roads of an ``.osm``/``.osm.pbf`` file with pyosmium
and applies the rules of :func:`way_rule` (speed by ``highway`` class lowered by ``maxspeed``,
one-way streets, ways closed to motor vehicles left out, ways a big truck may not take). The
network keeps every segment of every way (for snapping and drawing) and a contracted form in
which each chain of degree-2 nodes is one edge (for shortest paths: a regency's 300,000 road
nodes shrink to a few tens of thousands of junctions).

:func:`road_matrix` attaches every place to the closest point of the nearest road its access
class may use (a virtual node splits that road there; a one-way road keeps its direction) and
runs :func:`scipy.sparse.csgraph.dijkstra` from every place, on a core in which the junctions
no place sits on are eliminated by exact shortcut edges (a fifth of the nodes remain on a
regency network with 4,000 places), in two processes when there are many places. A leg is the
**shortest path by length**; ties are broken by the shorter time, and its time is the driving
time along that same path. Both come out of one Dijkstra: each edge weighs
``length_dm * 2**24 + time_ds`` as an exact integer held in a float64 (sums stay exact below
``2**53``: paths up to 53,000 km and 19 days). The snap distance is reported, never added to a
leg. Graphs and matrices are cached in bsb's cache folder (``graphs/<key>.npz``,
``travel/<key>.npz``). :func:`leg_paths` draws legs along the same paths;
:func:`check_legs_independently` recomputes legs by a routine of its own (networkx).

Units: metres and km as named; coordinates are WGS84 ``(lon, lat)`` degrees. Distances for
snapping are measured in a local equirectangular projection about the network's mean latitude
(under 0.1 % off over a regency).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import multiprocessing
import os
import re
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from geodata.files import file_sha256
from optimizer.geometry import FloatArray, IntArray, haversine_matrix_km
from optimizer.model import TravelSettings
from optimizer.travel import NO_ROAD_S, RoadMatrix

__all__ = [
    "Calibration",
    "RoadGraph",
    "WayRule",
    "calibrate",
    "check_legs_independently",
    "leg_path",
    "leg_paths",
    "load_road_graph",
    "main_roads",
    "parse_maxspeed_kmh",
    "parse_width_m",
    "road_matrix",
    "snap_places",
    "way_rule",
]

BoolArray = npt.NDArray[np.bool_]
ProgressFn = Callable[[float, str], None]

TIME_BITS: Final = 24
"""Bits of an edge weight that hold the time in deciseconds; the length in decimetres sits
above them, so comparing weights compares lengths first, then times."""
_TIME_MASK: Final = (1 << TIME_BITS) - 1
_EARTH_RADIUS_M: Final = 6_371_008.8
_RULES_VERSION: Final = "roads-1"
"""Bumped when the reading rules or the cached layouts change, so old cache files are unused."""
_CLOSED_VALUES: Final = frozenset({"no", "private"})
_ONEWAY_FORWARD: Final = frozenset({"yes", "1", "true"})
_ONEWAY_REVERSE: Final = frozenset({"-1", "reverse"})
_BIG_MIN_WIDTH_M: Final = 3.0
_PARALLEL_MIN_SOURCES: Final = 400
"""Below this many Dijkstra sources one process is quicker than starting workers."""
_CHUNK_SOURCES: Final = 96
"""Sources per Dijkstra call: ``chunk x nodes`` float64 is the largest temporary array."""
_PATH_DETOUR: Final = 4.0
_PATH_SLACK_KM: Final = 3.0
"""A leg's path is first searched within ``4 x straight km + 3 km`` of road; legs longer
than that (across a river with one bridge) are searched whole."""
_SNAP_TIE_M: Final = 0.01
MAIN_ROAD_CLASSES: Final = ("motorway", "trunk", "primary", "secondary")


# --------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True, slots=True)
class WayRule:
    """How trucks may use one OSM way.

    Attributes
    ----------
    highway
        The way's ``highway`` value.
    speed_kmh
        The class speed, lowered by ``maxspeed``.
    big_ok
        Whether trucks of access class ``big`` may use it.
    forward, backward
        Whether it may be driven in the direction of its nodes, and against it.
    """

    highway: str
    speed_kmh: float
    big_ok: bool
    forward: bool
    backward: bool


_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([a-z/ ]*)\s*$")


def parse_maxspeed_kmh(text: str | None) -> float | None:
    """Read a ``maxspeed`` tag: ``"40"``, ``"40 km/h"``, ``"30 mph"``; None when unreadable.

    Several values (``"40;60"``) give the lowest.
    """
    if not text:
        return None
    speeds: list[float] = []
    for part in text.lower().split(";"):
        match = _NUMBER.match(part)
        if not match:
            continue
        value = float(match.group(1).replace(",", "."))
        unit = match.group(2).strip()
        if unit in ("", "km/h", "kmh", "kph"):
            speeds.append(value)
        elif unit == "mph":
            speeds.append(value * 1.609344)
    positive = [s for s in speeds if s > 0]
    return min(positive) if positive else None


def parse_width_m(text: str | None) -> float | None:
    """Read a ``width``/``maxwidth`` tag in metres (``"2.5"``, ``"2,5 m"``); None if unreadable."""
    if not text:
        return None
    match = _NUMBER.match(text.lower())
    if not match or match.group(2).strip() not in ("", "m"):
        return None
    return float(match.group(1).replace(",", "."))


def way_rule(tags: Mapping[str, str], speeds_kmh: Mapping[str, float]) -> WayRule | None:
    """Return how trucks may use a way with ``tags``, or None when no truck may.

    A way is a road when its ``highway`` value (``*_link`` counts as its road) has a speed in
    ``speeds_kmh``; ``area=yes`` and ways whose most specific access tag among ``motorcar``,
    ``motor_vehicle``, ``vehicle``, ``access`` is ``no``/``private`` are left out.
    ``maxspeed`` lowers the class speed. ``oneway=yes/1/true`` allows the node order only,
    ``-1``/``reverse`` the opposite; roundabouts and motorways are one-way unless
    ``oneway=no``. Big trucks may not take ``highway=track``, ways with ``width`` or
    ``maxwidth`` under 3 m, nor ``hgv=no``/``private``.

    Parameters
    ----------
    tags
        The way's tags.
    speeds_kmh
        Speed by ``highway`` value (:meth:`optimizer.model.TravelSettings.speeds_kmh`).

    Returns
    -------
    WayRule | None
        The rule, or None for a way no truck may use.
    """
    highway = tags.get("highway")
    if highway is None:
        return None
    base = highway.removesuffix("_link")
    if base not in speeds_kmh or tags.get("area") == "yes":
        return None
    for key in ("motorcar", "motor_vehicle", "vehicle", "access"):
        if key in tags:
            if tags[key] in _CLOSED_VALUES:
                return None
            break
    speed_kmh = float(speeds_kmh[base])
    maxspeed = parse_maxspeed_kmh(tags.get("maxspeed"))
    if maxspeed is not None:
        speed_kmh = min(speed_kmh, maxspeed)
    if speed_kmh <= 0:
        return None
    oneway = tags.get("oneway", "").lower()
    forward = backward = True
    if oneway in _ONEWAY_FORWARD:
        backward = False
    elif oneway in _ONEWAY_REVERSE:
        forward = False
    elif oneway != "no" and (
        tags.get("junction") in ("roundabout", "circular") or highway == "motorway"
    ):
        backward = False
    widths = [parse_width_m(tags.get(key)) for key in ("width", "maxwidth")]
    narrow = any(w is not None and w < _BIG_MIN_WIDTH_M for w in widths)
    big_ok = base != "track" and not narrow and tags.get("hgv") not in _CLOSED_VALUES
    return WayRule(highway, speed_kmh, big_ok, forward, backward)


def _rules_text(settings: TravelSettings) -> dict[str, object]:
    """Return the reading rules as JSON-ready data, for cache keys and provenance."""
    return {
        "version": _RULES_VERSION,
        "speed_kmh": dict(sorted(settings.speeds_kmh().items())),
        "big_excluded": "highway=track, width or maxwidth < 3 m, hgv=no/private",
        "closed": "motorcar/motor_vehicle/vehicle/access = no/private",
    }


# --------------------------------------------------------------------------------------------
# Files and cache


def _save_npz(target: Path, arrays: Mapping[str, npt.NDArray[Any]]) -> None:
    """Write arrays to ``target`` through a temporary sibling and ``os.replace`` (atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".npz", dir=target.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)  # type: ignore[arg-type]
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


def _load_npz(path: Path) -> dict[str, npt.NDArray[Any]] | None:
    """Arrays of a cache file, or None when it is missing or unreadable (then recomputed)."""
    try:
        with path.open("rb") as stream, np.load(stream, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


# --------------------------------------------------------------------------------------------
# The graph


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A routable road network, built once per (extract, rules) by :func:`load_road_graph`.

    Segments are the pieces of ways between consecutive nodes; each may be driven from
    ``src`` to ``dst`` when ``forward`` and back when ``backward`` (one-way streets have one
    of them). Chains are maximal runs of segments through nodes of degree 2 with the same
    class, speed, access and direction: the edges shortest paths run on.

    Attributes
    ----------
    key
        SHA-256 of the extract's bytes and the rules; names cache files.
    lon, lat
        Node coordinates (degrees).
    src, dst, length_m, speed_kmh, forward, backward, big_ok, highway, name
        Per segment: end nodes, length, speed, the directions allowed, whether big trucks may
        use it, and indices into :attr:`highway_names` and :attr:`road_names`.
    highway_names, road_names
        ``highway`` values; road names (``name`` tag, else the ``highway`` value).
    chain_a, chain_b, chain_forward, chain_backward, chain_big_ok, chain_speed_kmh
    chain_length_m, chain_highway
        Per chain: end junctions, directions (``a -> b`` is forward), access, speed, length,
        class.
    chain_ptr, chain_segments
        Segments of chain ``c`` in order from ``chain_a``: ``chain_segments[chain_ptr[c]:
        chain_ptr[c + 1]]``.
    segment_chain, segment_reversed, segment_offset_m
        Per segment: its chain, whether the chain runs ``dst -> src`` over it, and the chain
        length before it.
    provenance
        The extract (file name, bytes, sha256) and the rules, JSON-ready.
    """

    key: str
    lon: FloatArray
    lat: FloatArray
    src: IntArray
    dst: IntArray
    length_m: FloatArray
    speed_kmh: FloatArray
    forward: BoolArray
    backward: BoolArray
    big_ok: BoolArray
    highway: IntArray
    name: IntArray
    highway_names: tuple[str, ...]
    road_names: tuple[str, ...]
    chain_a: IntArray
    chain_b: IntArray
    chain_forward: BoolArray
    chain_backward: BoolArray
    chain_big_ok: BoolArray
    chain_speed_kmh: FloatArray
    chain_length_m: FloatArray
    chain_highway: IntArray
    chain_ptr: IntArray
    chain_segments: IntArray
    segment_chain: IntArray
    segment_reversed: BoolArray
    segment_offset_m: FloatArray
    provenance: dict[str, object]

    @property
    def n_nodes(self) -> int:
        """Road nodes."""
        return len(self.lon)

    @property
    def n_segments(self) -> int:
        """Way segments."""
        return len(self.src)

    @property
    def n_chains(self) -> int:
        """Edges of the contracted network (chains of degree-2 nodes)."""
        return len(self.chain_a)

    @property
    def has_restricted(self) -> bool:
        """Whether some road is closed to big trucks (else one matrix serves both classes)."""
        return bool(len(self.big_ok)) and not bool(self.big_ok.all())

    @property
    def lat0(self) -> float:
        """Latitude of the local projection (the nodes' mean)."""
        return float(self.lat.mean()) if len(self.lat) else 0.0

    def chain_coords(self, chain: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Longitudes, latitudes and distance from ``chain_a`` (m) of a chain's nodes."""
        segments = self.chain_segments[self.chain_ptr[chain] : self.chain_ptr[chain + 1]]
        reversed_ = self.segment_reversed[segments]
        far = np.where(reversed_, self.src[segments], self.dst[segments])
        nodes = np.concatenate(([self.chain_a[chain]], far))
        along = np.concatenate(([0.0], np.cumsum(self.length_m[segments])))
        return self.lon[nodes], self.lat[nodes], along


_GRAPH_ARRAYS: Final = (
    "lon",
    "lat",
    "src",
    "dst",
    "length_m",
    "speed_kmh",
    "forward",
    "backward",
    "big_ok",
    "highway",
    "name",
    "chain_a",
    "chain_b",
    "chain_forward",
    "chain_backward",
    "chain_big_ok",
    "chain_speed_kmh",
    "chain_length_m",
    "chain_highway",
    "chain_ptr",
    "chain_segments",
    "segment_chain",
    "segment_reversed",
    "segment_offset_m",
)


def _graph_key(sha256: str, settings: TravelSettings) -> str:
    text = json.dumps({"sha256": sha256, "rules": _rules_text(settings)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def load_road_graph(
    osm_path: Path, settings: TravelSettings, cache_dir: Path | None = None
) -> RoadGraph:
    """Read the motor roads of an OSM extract into a :class:`RoadGraph`.

    Parameters
    ----------
    osm_path
        An ``.osm``, ``.osm.pbf`` or ``.osm.bz2`` file.
    settings
        The scenario's travel settings (speeds by road class).
    cache_dir
        bsb's cache folder (:func:`default_cache_dir`); the graph is kept there as
        ``graphs/<key>.npz``, keyed by the file's SHA-256 and the rules. None: no cache.

    Returns
    -------
    RoadGraph
        The network (empty when the file holds no usable road).

    Raises
    ------
    OSError
        If the file cannot be read.
    RuntimeError
        If pyosmium cannot parse it.
    """
    sha256 = file_sha256(osm_path)
    key = _graph_key(sha256, settings)
    provenance: dict[str, object] = {
        "source": "osm",
        "file": osm_path.name,
        "bytes": osm_path.stat().st_size,
        "sha256": sha256,
        "rules": _rules_text(settings),
    }
    cache_file = cache_dir / "graphs" / f"{key}.npz" if cache_dir is not None else None
    if cache_file is not None and cache_file.exists():
        data = _load_npz(cache_file)
        if data is not None and set(_GRAPH_ARRAYS) <= set(data):
            return RoadGraph(
                key=key,
                highway_names=tuple(str(x) for x in data["highway_names"]),
                road_names=tuple(str(x) for x in data["road_names"]),
                provenance=provenance,
                **{name: data[name] for name in _GRAPH_ARRAYS},
            )
    graph = _build_graph(key, _read_ways(osm_path, settings.speeds_kmh()), provenance)
    if cache_file is not None:
        arrays: dict[str, npt.NDArray[Any]] = {name: getattr(graph, name) for name in _GRAPH_ARRAYS}
        arrays["highway_names"] = np.asarray(graph.highway_names, dtype=str)
        arrays["road_names"] = np.asarray(graph.road_names, dtype=str)
        _save_npz(cache_file, arrays)
    return graph


@dataclass
class _Ways:
    """Usable ways as read: node refs and locations, and per way its rule and name."""

    refs: list[int]
    lon: list[float]
    lat: list[float]
    way_end: list[int]  # exclusive end of each way's nodes in refs
    rules: list[WayRule]
    names: list[str]


def _read_ways(osm_path: Path, speeds_kmh: Mapping[str, float]) -> _Ways:
    import osmium

    ways = _Ways([], [], [], [], [], [])

    class Reader(osmium.SimpleHandler):
        def way(self, way: Any) -> None:
            if "highway" not in way.tags:  # buildings, rivers...: most ways, skipped cheaply
                return
            tags = {tag.k: tag.v for tag in way.tags}
            rule = way_rule(tags, speeds_kmh)
            if rule is None:
                return
            start = len(ways.refs)
            for node in way.nodes:
                location = node.location
                if not location.valid():
                    # A node outside the extract: the way is cut there; a lone node before
                    # the cut joins nothing.
                    if len(ways.refs) - start >= 2:
                        self._close(rule, tags)
                    else:
                        del ways.refs[start:], ways.lon[start:], ways.lat[start:]
                    start = len(ways.refs)
                    continue
                ways.refs.append(node.ref)
                ways.lon.append(location.lon)
                ways.lat.append(location.lat)
            if len(ways.refs) - start >= 2:
                self._close(rule, tags)
            else:
                del ways.refs[start:], ways.lon[start:], ways.lat[start:]

        def _close(self, rule: WayRule, tags: Mapping[str, str]) -> None:
            ways.way_end.append(len(ways.refs))
            ways.rules.append(rule)
            ways.names.append(tags.get("name") or rule.highway)

    Reader().apply_file(str(osm_path), locations=True)
    return ways


def _haversine_m(
    lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray
) -> FloatArray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0))))


def _build_graph(key: str, ways: _Ways, provenance: dict[str, object]) -> RoadGraph:
    refs = np.asarray(ways.refs, dtype=np.int64)
    node_ids, node_of_ref = np.unique(refs, return_inverse=True)
    lon = np.zeros(len(node_ids))
    lat = np.zeros(len(node_ids))
    lon[node_of_ref] = ways.lon
    lat[node_of_ref] = ways.lat
    ends = np.asarray(ways.way_end, dtype=np.int64)
    way_of_ref = np.searchsorted(ends, np.arange(len(refs)), side="right")
    # A segment joins ref i and i + 1 of the same way; repeated nodes make none.
    first = np.arange(len(refs) - 1)
    same_way = way_of_ref[first] == way_of_ref[first + 1] if len(refs) else np.zeros(0, bool)
    first = first[same_way]
    src = node_of_ref[first].astype(np.int64)
    dst = node_of_ref[first + 1].astype(np.int64)
    keep = src != dst
    first, src, dst = first[keep], src[keep], dst[keep]
    way = way_of_ref[first]
    highway_names = tuple(sorted({rule.highway for rule in ways.rules}))
    road_names = tuple(sorted(set(ways.names)))
    hw_index = {name: i for i, name in enumerate(highway_names)}
    name_index = {name: i for i, name in enumerate(road_names)}
    rules = ways.rules
    w_speed = np.asarray([r.speed_kmh for r in rules], dtype=np.float64)
    w_big = np.asarray([r.big_ok for r in rules], dtype=bool)
    w_fwd = np.asarray([r.forward for r in rules], dtype=bool)
    w_bwd = np.asarray([r.backward for r in rules], dtype=bool)
    w_hw = np.asarray([hw_index[r.highway] for r in rules], dtype=np.int64)
    w_name = np.asarray([name_index[n] for n in ways.names], dtype=np.int64)
    segments = {
        "src": src,
        "dst": dst,
        "length_m": _haversine_m(lon[src], lat[src], lon[dst], lat[dst]),
        "speed_kmh": w_speed[way] if len(rules) else np.zeros(0),
        "forward": w_fwd[way] if len(rules) else np.zeros(0, bool),
        "backward": w_bwd[way] if len(rules) else np.zeros(0, bool),
        "big_ok": w_big[way] if len(rules) else np.zeros(0, bool),
        "highway": w_hw[way] if len(rules) else np.zeros(0, np.int64),
        "name": w_name[way] if len(rules) else np.zeros(0, np.int64),
    }
    chains = _contract(len(node_ids), segments)
    return RoadGraph(
        key=key,
        lon=lon,
        lat=lat,
        highway_names=highway_names,
        road_names=road_names,
        provenance=provenance,
        **segments,
        **chains,
    )


def _contract(n_nodes: int, seg: Mapping[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
    """Chains of segments through degree-2 nodes whose two segments drive alike."""
    src, dst = seg["src"], seg["dst"]
    n_seg = len(src)
    ends = np.concatenate((src, dst))
    order = np.argsort(ends, kind="stable")
    inc_seg = (order % max(n_seg, 1)).astype(np.int64)
    inc_ptr = np.concatenate(([0], np.cumsum(np.bincount(ends, minlength=n_nodes))))
    degree = np.diff(inc_ptr)
    junction = degree != 2
    two = np.flatnonzero(degree == 2)
    s1 = inc_seg[inc_ptr[two]]
    s2 = inc_seg[inc_ptr[two] + 1]
    alike = (
        (seg["speed_kmh"][s1] == seg["speed_kmh"][s2])
        & (seg["big_ok"][s1] == seg["big_ok"][s2])
        & (seg["highway"][s1] == seg["highway"][s2])
    )
    # Orient s1 into the node and s2 out of it: both must allow the same directions.
    s1_in = np.where(dst[s1] == two, seg["forward"][s1], seg["backward"][s1])
    s1_out = np.where(dst[s1] == two, seg["backward"][s1], seg["forward"][s1])
    s2_on = np.where(src[s2] == two, seg["forward"][s2], seg["backward"][s2])
    s2_back = np.where(src[s2] == two, seg["backward"][s2], seg["forward"][s2])
    alike &= (s1_in == s2_on) & (s1_out == s2_back) & (s1 != s2)
    junction[two[~alike]] = True

    src_l, dst_l = src.tolist(), dst.tolist()
    inc_l, ptr_l = inc_seg.tolist(), inc_ptr.tolist()
    junction_l = junction.tolist()
    visited = bytearray(n_seg)
    chain_a: list[int] = []
    chain_b: list[int] = []
    chain_ptr = [0]
    chain_segments: list[int] = []
    reversed_flags: list[bool] = []

    def walk(start: int, segment: int) -> None:
        current = start
        while True:
            visited[segment] = 1
            if src_l[segment] == current:
                nxt, rev = dst_l[segment], False
            else:
                nxt, rev = src_l[segment], True
            chain_segments.append(segment)
            reversed_flags.append(rev)
            if junction_l[nxt]:
                break
            first = inc_l[ptr_l[nxt]]
            segment = inc_l[ptr_l[nxt] + 1] if first == segment else first
            current = nxt
        chain_a.append(start)
        chain_b.append(nxt)
        chain_ptr.append(len(chain_segments))

    for node in np.flatnonzero(junction).tolist():
        for k in range(ptr_l[node], ptr_l[node + 1]):
            if not visited[inc_l[k]]:
                walk(node, inc_l[k])
    for segment in range(n_seg):  # rings of degree-2 nodes: cut each at one node
        if not visited[segment]:
            junction_l[src_l[segment]] = True
            walk(src_l[segment], segment)

    segs = np.asarray(chain_segments, dtype=np.int64)
    rev = np.asarray(reversed_flags, dtype=bool)
    ptr = np.asarray(chain_ptr, dtype=np.int64)
    n_chain = len(chain_a)
    chain_of_entry = np.repeat(np.arange(n_chain), np.diff(ptr))
    length = seg["length_m"][segs]
    cumulative = np.cumsum(length)
    start_of_chain = np.concatenate(([0.0], cumulative))[ptr[:-1]]
    offset = np.concatenate(([0.0], cumulative))[:-1] - start_of_chain[chain_of_entry]
    segment_chain = np.zeros(n_seg, dtype=np.int64)
    segment_reversed = np.zeros(n_seg, dtype=bool)
    segment_offset = np.zeros(n_seg)
    segment_chain[segs] = chain_of_entry
    segment_reversed[segs] = rev
    segment_offset[segs] = offset
    first = segs[ptr[:-1]] if n_chain else np.zeros(0, np.int64)
    first_rev = rev[ptr[:-1]] if n_chain else np.zeros(0, bool)
    return {
        "chain_a": np.asarray(chain_a, dtype=np.int64),
        "chain_b": np.asarray(chain_b, dtype=np.int64),
        "chain_forward": np.where(first_rev, seg["backward"][first], seg["forward"][first]),
        "chain_backward": np.where(first_rev, seg["forward"][first], seg["backward"][first]),
        "chain_big_ok": seg["big_ok"][first],
        "chain_speed_kmh": seg["speed_kmh"][first],
        "chain_length_m": np.bincount(chain_of_entry, weights=length, minlength=n_chain),
        "chain_highway": seg["highway"][first],
        "chain_ptr": ptr,
        "chain_segments": segs,
        "segment_chain": segment_chain,
        "segment_reversed": segment_reversed,
        "segment_offset_m": segment_offset,
    }


# --------------------------------------------------------------------------------------------
# One access class's network with the places attached


def _project(lon: FloatArray, lat: FloatArray, lat0: float) -> tuple[FloatArray, FloatArray]:
    """Local equirectangular metres (x east, y north)."""
    k = math.pi / 180 * _EARTH_RADIUS_M
    return np.asarray(lon) * k * math.cos(math.radians(lat0)), np.asarray(lat) * k


@dataclass(frozen=True, eq=False)
class _Network:
    """The contracted network of one access class with a node at every place's snap point.

    Edges are in CSR order (rows sorted, then columns); per edge, the chain it runs on and
    the positions (dm from ``chain_a``) where it starts and ends.
    """

    n_nodes: int
    indptr: IntArray
    indices: IntArray
    weight: FloatArray
    edge_chain: IntArray
    edge_from_dm: IntArray
    edge_to_dm: IntArray
    place_node: IntArray  # -1: no road of the class at all
    snap_m: FloatArray
    snap_segment: IntArray
    snap_lon: FloatArray
    snap_lat: FloatArray


def _weights(length_dm: IntArray, time_ds: IntArray) -> FloatArray:
    # Exact integers in float64; never 0 (csgraph would treat a stored 0 as no edge).
    return np.asarray(np.maximum((length_dm << TIME_BITS) + time_ds, 1), dtype=np.float64)


def _time_ds(position_dm: IntArray, speed_kmh: FloatArray) -> IntArray:
    """Driving time from the chain's start to a position, in whole deciseconds."""
    return np.rint(position_dm * 3.6 / speed_kmh).astype(np.int64)


def _build_network(graph: RoadGraph, lon: FloatArray, lat: FloatArray, access: str) -> _Network:
    import shapely

    big_only = access == "big"
    usable_seg = graph.big_ok if big_only else np.ones(graph.n_segments, dtype=bool)
    usable_chain = graph.chain_big_ok if big_only else np.ones(graph.n_chains, dtype=bool)
    n_places = len(lon)
    lat0 = graph.lat0

    # Snap: nearest usable segment, projected; ties go to the lowest segment index.
    seg_ids = np.flatnonzero(usable_seg)
    snap_segment = np.full(n_places, -1, dtype=np.int64)
    snap_m = np.full(n_places, np.inf)
    fraction = np.zeros(n_places)
    if len(seg_ids) and n_places:
        nx_, ny_ = _project(graph.lon, graph.lat, lat0)
        a, b = graph.src[seg_ids], graph.dst[seg_ids]
        coords = np.stack(
            (np.stack((nx_[a], ny_[a]), axis=1), np.stack((nx_[b], ny_[b]), axis=1)), axis=1
        )
        lines = shapely.linestrings(coords)
        tree = shapely.STRtree(lines)
        px, py = _project(np.asarray(lon, float), np.asarray(lat, float), lat0)
        points = shapely.points(px, py)
        (place, hit), distance = tree.query_nearest(points, return_distance=True)
        nearest_m = np.full(n_places, np.inf)
        np.minimum.at(nearest_m, place, distance)
        # Roads within 1 cm of the nearest tie (overlapping ways): the fastest wins, then a
        # two-way road, then the first; check_legs_independently breaks ties the same way.
        found = np.flatnonzero(np.isfinite(nearest_m))
        (place, hit) = tree.query(
            points[found], predicate="dwithin", distance=nearest_m[found] + _SNAP_TIE_M
        )
        place = found[place]
        distance = shapely.distance(lines[hit], points[place])
        close = distance <= nearest_m[place] + _SNAP_TIE_M
        place, hit, distance = place[close], hit[close], distance[close]
        segment = seg_ids[hit]
        one_way = ~(graph.forward[segment] & graph.backward[segment])
        order = np.lexsort((hit, one_way, -graph.speed_kmh[segment], place))
        place, hit, distance = place[order], hit[order], distance[order]
        first = np.concatenate(([True], place[1:] != place[:-1]))
        place, hit, distance = place[first], hit[first], distance[first]
        snap_segment[place] = seg_ids[hit]
        snap_m[place] = distance
        fraction[place] = shapely.line_locate_point(lines[hit], points[place], normalized=True)
    placed = snap_segment >= 0
    if not placed.any():
        return _Network(
            n_nodes=0,
            indptr=np.zeros(1, np.int64),
            indices=np.zeros(0, np.int64),
            weight=np.zeros(0),
            edge_chain=np.zeros(0, np.int64),
            edge_from_dm=np.zeros(0, np.int64),
            edge_to_dm=np.zeros(0, np.int64),
            place_node=snap_segment,
            snap_m=snap_m,
            snap_segment=snap_segment,
            snap_lon=np.full(n_places, np.nan),
            snap_lat=np.full(n_places, np.nan),
        )
    fraction = np.clip(fraction, 0.0, 1.0)
    seg = np.where(placed, snap_segment, 0)
    snap_lon = np.where(
        placed,
        graph.lon[graph.src[seg]]
        + fraction * (graph.lon[graph.dst[seg]] - graph.lon[graph.src[seg]]),
        np.nan,
    )
    snap_lat = np.where(
        placed,
        graph.lat[graph.src[seg]]
        + fraction * (graph.lat[graph.dst[seg]] - graph.lat[graph.src[seg]]),
        np.nan,
    )

    # Junctions of the class, numbered 0..J-1; virtual nodes follow.
    chains = np.flatnonzero(usable_chain)
    junction_ids, inverse = np.unique(
        np.concatenate((graph.chain_a[chains], graph.chain_b[chains])), return_inverse=True
    )
    node_a = np.full(graph.n_chains, -1, dtype=np.int64)
    node_b = np.full(graph.n_chains, -1, dtype=np.int64)
    node_a[chains] = inverse[: len(chains)]
    node_b[chains] = inverse[len(chains) :]
    n_junctions = len(junction_ids)
    length_dm = np.rint(graph.chain_length_m * 10).astype(np.int64)

    # Where each place sits on its chain, in dm from chain_a.
    place_chain = graph.segment_chain[seg]
    along_m = np.where(graph.segment_reversed[seg], 1 - fraction, fraction) * graph.length_m[seg]
    position = np.clip(
        np.rint((graph.segment_offset_m[seg] + along_m) * 10).astype(np.int64),
        0,
        length_dm[place_chain],
    )
    place_node = np.full(n_places, -1, dtype=np.int64)
    at_a = placed & (position == 0)
    at_b = placed & (position == length_dm[place_chain]) & ~at_a
    place_node[at_a] = node_a[place_chain[at_a]]
    place_node[at_b] = node_b[place_chain[at_b]]
    inner = placed & ~at_a & ~at_b
    stops = np.unique((place_chain[inner] << 32) | position[inner])
    stop_chain, stop_pos = stops >> 32, stops & 0xFFFFFFFF
    stop_node = n_junctions + np.arange(len(stops))
    place_node[inner] = n_junctions + np.searchsorted(
        stops, (place_chain[inner] << 32) | position[inner]
    )

    # Edges: untouched chains whole, split chains piece by piece.
    split = np.zeros(graph.n_chains, dtype=bool)
    split[stop_chain] = True
    whole = chains[~split[chains]]
    # Pieces of split chains: a -> stop_1 -> ... -> stop_k -> b.
    split_ids = np.unique(stop_chain)
    starts = np.searchsorted(stop_chain, split_ids)
    ends = np.searchsorted(stop_chain, split_ids, side="right")
    piece_chain = np.concatenate((stop_chain, split_ids))
    piece_from_node = np.concatenate((np.zeros(len(stops), np.int64), node_b[split_ids]))
    piece_from_pos = np.concatenate((np.zeros(len(stops), np.int64), length_dm[split_ids]))
    # The piece ending at stop i starts at the previous stop of the chain, or at chain_a.
    prev_node = np.concatenate(([0], stop_node[:-1]))
    prev_pos = np.concatenate(([0], stop_pos[:-1]))
    is_first = np.zeros(len(stops), dtype=bool)
    is_first[starts] = True
    piece_from_node[: len(stops)] = np.where(is_first, node_a[stop_chain], prev_node)
    piece_from_pos[: len(stops)] = np.where(is_first, 0, prev_pos)
    piece_to_node = np.concatenate((stop_node, node_b[split_ids]))
    piece_to_pos = np.concatenate((stop_pos, length_dm[split_ids]))
    last_stop = ends - 1
    piece_from_node[len(stops) :] = stop_node[last_stop]
    piece_from_pos[len(stops) :] = stop_pos[last_stop]

    all_chain = np.concatenate((whole, piece_chain))
    u = np.concatenate((node_a[whole], piece_from_node))
    v = np.concatenate((node_b[whole], piece_to_node))
    p = np.concatenate((np.zeros(len(whole), np.int64), piece_from_pos))
    q = np.concatenate((length_dm[whole], piece_to_pos))
    speed = graph.chain_speed_kmh[all_chain]
    t_p, t_q = _time_ds(p, speed), _time_ds(q, speed)
    fwd = graph.chain_forward[all_chain]
    bwd = graph.chain_backward[all_chain]
    e_u = np.concatenate((u[fwd], v[bwd]))
    e_v = np.concatenate((v[fwd], u[bwd]))
    e_chain = np.concatenate((all_chain[fwd], all_chain[bwd]))
    e_from = np.concatenate((p[fwd], q[bwd]))
    e_to = np.concatenate((q[fwd], p[bwd]))
    e_len = np.abs(e_to - e_from)
    e_time = np.concatenate((t_q[fwd] - t_p[fwd], t_q[bwd] - t_p[bwd]))
    e_w = _weights(e_len, e_time)
    keep = e_u != e_v
    e_u, e_v, e_w, e_chain, e_from, e_to = (x[keep] for x in (e_u, e_v, e_w, e_chain, e_from, e_to))
    # Parallel edges: the lightest only (a sparse matrix would add them up).
    order = np.lexsort((e_w, e_v, e_u))
    e_u, e_v, e_w, e_chain, e_from, e_to = (
        x[order] for x in (e_u, e_v, e_w, e_chain, e_from, e_to)
    )
    first_of_pair = np.concatenate(([True], (e_u[1:] != e_u[:-1]) | (e_v[1:] != e_v[:-1])))
    e_u, e_v, e_w, e_chain, e_from, e_to = (
        x[first_of_pair] for x in (e_u, e_v, e_w, e_chain, e_from, e_to)
    )
    n_nodes = n_junctions + len(stops)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(e_u, minlength=n_nodes)))).astype(np.int64)
    return _Network(
        n_nodes=n_nodes,
        indptr=indptr,
        indices=e_v.astype(np.int64),
        weight=e_w,
        edge_chain=e_chain,
        edge_from_dm=e_from,
        edge_to_dm=e_to,
        place_node=place_node,
        snap_m=snap_m,
        snap_segment=snap_segment,
        snap_lon=snap_lon,
        snap_lat=snap_lat,
    )


# --------------------------------------------------------------------------------------------
# The core: junctions no place sits on, eliminated with exact shortcuts

_ELIMINATION_GROWTH: Final = 32
"""A node is eliminated when its shortcuts outnumber its edges by at most this; measured on
the generated regency network with 4,000 places, 32 leaves a fifth of the nodes and halves
the edges, making each Dijkstra 3.6 times quicker than 0, 4 or 128."""
_ELIMINATION_PASSES: Final = 8


@dataclass(frozen=True, eq=False)
class _Core:
    """A network reduced to the nodes places sit on and a few junctions (CSR, exact weights)."""

    n_nodes: int
    indptr: IntArray
    indices: IntArray
    weight: FloatArray
    place_node: IntArray  # -1: not placed


def _core(network: _Network) -> _Core:
    """Eliminate nodes no place sits on, joining their neighbours by shortcut edges.

    Eliminating node ``x`` adds ``u -> w`` weighing ``weight(u -> x) + weight(x -> w)`` for
    every in-neighbour ``u`` and out-neighbour ``w`` (kept when lighter than an existing
    ``u -> w``), so the shortest weight between the nodes left is unchanged, exactly (the
    weights are integers). Cheap nodes go first, in a few passes; a node whose shortcuts
    would add many edges stays.
    """
    n = network.n_nodes
    out_adj: list[dict[int, float]] = [{} for _ in range(n)]
    in_adj: list[dict[int, float]] = [{} for _ in range(n)]
    sources = np.repeat(np.arange(n), np.diff(network.indptr)).tolist()
    for a, b, w in zip(sources, network.indices.tolist(), network.weight.tolist(), strict=True):
        out_adj[a][b] = w
        in_adj[b][a] = w
    alive = np.ones(n, dtype=bool)
    protected = np.zeros(n, dtype=bool)
    protected[network.place_node[network.place_node >= 0]] = True
    for _ in range(_ELIMINATION_PASSES):
        candidates = np.flatnonzero(alive & ~protected).tolist()
        candidates.sort(key=lambda x: len(in_adj[x]) + len(out_adj[x]))
        eliminated = 0
        for x in candidates:
            ins, outs = in_adj[x], out_adj[x]
            edges = len(ins) + len(outs)
            if len(ins) * len(outs) - min(len(ins), len(outs)) - edges > _ELIMINATION_GROWTH:
                continue
            shortcuts = sum(1 for a in ins for b in outs if a != b)
            if shortcuts - edges > _ELIMINATION_GROWTH:
                continue
            for a, wa in ins.items():
                out_a = out_adj[a]
                del out_a[x]
                for b, wb in outs.items():
                    if a == b:
                        continue
                    w = wa + wb
                    old = out_a.get(b)
                    if old is None or w < old:
                        out_a[b] = w
                        in_adj[b][a] = w
            for b in outs:
                del in_adj[b][x]
            in_adj[x], out_adj[x] = {}, {}
            alive[x] = False
            eliminated += 1
        if not eliminated:
            break
    keep = np.flatnonzero(alive)
    new_id = np.full(n + 1, -1, dtype=np.int64)  # new_id[-1] = -1 keeps "not placed"
    new_id[keep] = np.arange(len(keep))
    rows: list[int] = []
    cols: list[int] = []
    weights: list[float] = []
    for x in keep.tolist():
        targets = sorted(out_adj[x].items())
        rows.extend([x] * len(targets))
        cols.extend(b for b, _ in targets)
        weights.extend(w for _, w in targets)
    counts = np.bincount(new_id[np.asarray(rows, dtype=np.int64)], minlength=len(keep))
    return _Core(
        n_nodes=len(keep),
        indptr=np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
        indices=new_id[np.asarray(cols, dtype=np.int64)],
        weight=np.asarray(weights, dtype=np.float64),
        place_node=new_id[network.place_node],
    )


# --------------------------------------------------------------------------------------------
# Dijkstra, in this process or in worker processes

_WORKER_GRAPHS: list[Any] = []


def _csr(indptr: IntArray, indices: IntArray, weight: FloatArray, n_nodes: int) -> Any:
    from scipy.sparse import csr_matrix

    return csr_matrix((weight, indices, indptr), shape=(n_nodes, n_nodes))


def _init_worker(networks: list[tuple[IntArray, IntArray, FloatArray, int]]) -> None:
    _WORKER_GRAPHS.clear()
    _WORKER_GRAPHS.extend(_csr(*parts) for parts in networks)


def _dijkstra_rows(matrix: Any, sources: IntArray, targets: IntArray) -> FloatArray:
    from scipy.sparse.csgraph import dijkstra

    distances = dijkstra(matrix, directed=True, indices=sources)
    return np.asarray(distances[:, targets], dtype=np.float64)


def _worker_task(network: int, sources: IntArray, targets: IntArray) -> FloatArray:
    return _dijkstra_rows(_WORKER_GRAPHS[network], sources, targets)


def _workers_allowed(requested: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    # A daemonic process (a job worker) may not start processes of its own.
    if multiprocessing.current_process().daemon:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def _all_pairs(
    networks: Sequence[_Core],
    progress: ProgressFn | None,
    workers: int | None,
) -> list[FloatArray]:
    """Weights from every place to every place, per network (inf: no path; 0 on the diagonal)."""
    results: list[FloatArray] = []
    # Per network: the placed places, and for each the index of its source node.
    placements: list[tuple[IntArray, IntArray]] = []
    tasks: list[tuple[int, IntArray, IntArray]] = []  # network, source nodes, chunk indices
    for k, network in enumerate(networks):
        n = len(network.place_node)
        results.append(np.full((n, n), np.inf))
        placed = np.flatnonzero(network.place_node >= 0)
        sources, source_of_place = np.unique(network.place_node[placed], return_inverse=True)
        placements.append((placed, source_of_place))
        for start in range(0, len(sources), _CHUNK_SOURCES):
            chunk = np.arange(start, min(start + _CHUNK_SOURCES, len(sources)))
            tasks.append((k, sources[chunk], chunk))
    total = sum(len(t[1]) for t in tasks)
    done = 0

    def store(task: tuple[int, IntArray, IntArray], rows: FloatArray) -> None:
        nonlocal done
        k, sources, chunk = task
        placed, source_of_place = placements[k]
        # rows[i] holds the weights from source chunk[i] to every placed place.
        in_chunk = (source_of_place >= chunk[0]) & (source_of_place <= chunk[-1])
        results[k][placed[in_chunk][:, None], placed[None, :]] = rows[
            source_of_place[in_chunk] - chunk[0]
        ]
        done += len(sources)
        if progress is not None:
            progress(done / max(total, 1), f"{done}/{total}")

    targets = [
        network.place_node[placed]
        for network, (placed, _) in zip(networks, placements, strict=True)
    ]
    n_workers = _workers_allowed(workers)
    if n_workers > 1 and total >= _PARALLEL_MIN_SOURCES:
        context = multiprocessing.get_context("spawn")
        parts = [(n.indptr, n.indices, n.weight, n.n_nodes) for n in networks]
        with ProcessPoolExecutor(
            max_workers=n_workers, mp_context=context, initializer=_init_worker, initargs=(parts,)
        ) as pool:
            futures = {pool.submit(_worker_task, t[0], t[1], targets[t[0]]): t for t in tasks}
            for future in as_completed(futures):
                store(futures[future], future.result())
    else:
        matrices = [_csr(n.indptr, n.indices, n.weight, n.n_nodes) for n in networks]
        for task in tasks:
            store(task, _dijkstra_rows(matrices[task[0]], task[1], targets[task[0]]))
    for matrix in results:
        np.fill_diagonal(matrix, 0.0)
    return results


def _encode(weights: FloatArray) -> IntArray:
    """Exact integer weights, -1 where there is no path (inf)."""
    encoded = np.full(weights.shape, -1, dtype=np.int64)
    finite = np.isfinite(weights)
    encoded[finite] = weights[finite]
    return encoded


def _decode(encoded: IntArray) -> tuple[FloatArray, IntArray]:
    """Road km and whole seconds (rounded up) of encoded weights; -1 -> no road.

    Works one leading slice at a time so that temporaries stay small.
    """
    km = np.empty(encoded.shape, dtype=np.float64)
    seconds = np.empty(encoded.shape, dtype=np.int64)
    if encoded.size == 0:
        return km, seconds
    flat_in = encoded.reshape(-1, encoded.shape[-1]) if encoded.ndim > 1 else encoded[None]
    flat_km = km.reshape(flat_in.shape)
    flat_s = seconds.reshape(flat_in.shape)
    step = max(1, (1 << 22) // max(flat_in.shape[1], 1))
    for start in range(0, flat_in.shape[0], step):
        w = flat_in[start : start + step]
        road = w >= 0
        flat_km[start : start + step] = np.where(road, (w >> TIME_BITS) / 10_000.0, np.inf)
        flat_s[start : start + step] = np.where(road, ((w & _TIME_MASK) + 9) // 10, NO_ROAD_S)
    return km, seconds


def _network_class(graph: RoadGraph, access: str) -> str:
    """Return the network a class drives on: without restricted roads ``big`` is ``small``."""
    return access if access == "big" and graph.has_restricted else "small"


def _matrix_key(
    graph: RoadGraph,
    place_ids: Sequence[str],
    lon: FloatArray,
    lat: FloatArray,
    access: Sequence[str],
) -> str:
    digest = hashlib.sha256()
    header = {"graph": graph.key, "version": _RULES_VERSION, "access": list(access)}
    digest.update(json.dumps(header, sort_keys=True).encode())
    digest.update("\x1f".join(place_ids).encode())
    digest.update(np.ascontiguousarray(lon, dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(lat, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _mapped_member(path: Path, name: str) -> npt.NDArray[Any] | None:
    """Map an uncompressed array of an ``.npz`` file into memory, read-only; None if unable.

    A cached 4,000-place matrix is 500 MB: mapped, a re-plan starts at once and reads only
    the pages it uses (the file is replaced atomically, never rewritten in place).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(f"{name}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with path.open("rb") as stream:
            stream.seek(info.header_offset)
            local = stream.read(30)
            if local[:4] != b"PK\x03\x04":
                return None
            name_length, extra_length = struct.unpack("<HH", local[26:30])
            stream.seek(info.header_offset + 30 + name_length + extra_length)
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
            offset = stream.tell()
        if dtype.hasobject:
            return None
        return np.memmap(
            path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C"
        )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, struct.error):
        return None


def _load_matrix(path: Path, place_ids: Sequence[str]) -> dict[str, Any] | None:
    """Return the cached arrays of a matrix for these places, or None (then recomputed)."""
    try:
        with path.open("rb") as stream, np.load(stream, allow_pickle=False) as data:
            if tuple(str(x) for x in data["place_ids"]) != tuple(place_ids):
                return None
            snap_m = data["snap_m"]
            snap_road = tuple(tuple(str(x) for x in row) for row in data["snap_road"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    km = _mapped_member(path, "km")
    seconds = _mapped_member(path, "seconds")
    if km is None or seconds is None:
        return None
    return {"km": km, "seconds": seconds, "snap_m": snap_m, "snap_road": snap_road}


def road_matrix(
    graph: RoadGraph,
    place_ids: Sequence[str],
    lon: FloatArray,
    lat: FloatArray,
    settings: TravelSettings,
    access: Sequence[str],
    progress: ProgressFn | None = None,
    cache_dir: Path | None = None,
    provenance: Mapping[str, object] | None = None,
    *,
    workers: int | None = None,
) -> RoadMatrix:
    """Road km and driving seconds between every pair of places, per access class.

    Each place attaches to the closest point of the nearest road its class may use; a leg is
    the shortest road path between the two attachment points (ties: the quicker), its time
    the driving time along it, rounded up to whole seconds. The distance from a place to its
    road is reported in ``snap_m``, never added, and not capped here (the planner compares it
    with ``max_snap_m``).

    Parameters
    ----------
    graph
        The network (:func:`load_road_graph`).
    place_ids
        Warehouse ids then drop point ids (scenario order).
    lon, lat
        The places' coordinates (degrees), in the same order.
    settings
        The scenario's travel settings (``max_snap_m`` goes into the provenance).
    access
        The classes to compute (``"big"``, ``"small"``), in the order the matrix holds them.
        Without restricted roads the two are computed once.
    progress
        Called with the fraction done and a short text while Dijkstra runs.
    cache_dir
        bsb's cache folder; the result is kept as ``travel/<key>.npz`` keyed by the graph,
        the classes and the places (ids and coordinates). None: no cache.
    provenance
        Extra JSON-ready facts merged into the result's provenance.
    workers
        Processes for Dijkstra; None: 2 when there are many places (1 in a daemonic process).

    Returns
    -------
    RoadMatrix
        ``km`` inf and ``seconds`` :data:`~optimizer.travel.NO_ROAD_S` where no road of the
        class connects two places; ``snap_m`` inf where the class has no road at all.

    Raises
    ------
    ValueError
        If ``place_ids``, ``lon`` and ``lat`` differ in length.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if not len(place_ids) == len(lon) == len(lat):
        raise ValueError(
            f"{len(place_ids)} place ids but {len(lon)} longitudes and {len(lat)} latitudes"
        )
    classes = tuple(access)
    key = _matrix_key(graph, place_ids, lon, lat, classes)
    facts: dict[str, object] = {
        **graph.provenance,
        "access": list(classes),
        "max_snap_m": settings.max_snap_m,
        "places": len(place_ids),
        "matrix_key": key,
        **(provenance or {}),
    }
    cache_file = cache_dir / "travel" / f"{key}.npz" if cache_dir is not None else None
    if cache_file is not None and cache_file.exists():
        cached = _load_matrix(cache_file, place_ids)
        if cached is not None:
            if progress is not None:
                progress(1.0, "cache")
            return RoadMatrix(
                place_ids=tuple(place_ids), access=classes, provenance=facts, **cached
            )
    kinds = sorted({_network_class(graph, a) for a in classes})
    networks = {kind: _build_network(graph, lon, lat, kind) for kind in kinds}
    weights = dict(
        zip(kinds, _all_pairs([_core(networks[k]) for k in kinds], progress, workers), strict=True)
    )
    n = len(place_ids)
    encoded = np.empty((len(classes), n, n), dtype=np.int64)
    for index, name in enumerate(classes):
        encoded[index] = _encode(weights[_network_class(graph, name)])
    del weights
    snap_m = (
        np.stack([networks[_network_class(graph, a)].snap_m for a in classes])
        if classes
        else np.zeros((0, n))
    )
    snap_road = tuple(
        tuple(
            graph.road_names[graph.name[s]] if s >= 0 else ""
            for s in networks[_network_class(graph, a)].snap_segment.tolist()
        )
        for a in classes
    )
    km, seconds = _decode(encoded)
    del encoded
    # Read-only, as a cached matrix (mapped from its file) is: a stray write fails alike.
    km.flags.writeable = False
    seconds.flags.writeable = False
    if cache_file is not None:
        _save_npz(
            cache_file,
            {
                "km": km,
                "seconds": seconds,
                "snap_m": snap_m,
                "snap_road": np.asarray(snap_road, dtype=str).reshape(len(classes), n),
                "place_ids": np.asarray(place_ids, dtype=str),
            },
        )
    return RoadMatrix(
        place_ids=tuple(place_ids),
        access=classes,
        km=km,
        seconds=seconds,
        snap_m=snap_m,
        snap_road=snap_road,
        provenance=facts,
    )


def snap_places(
    graph: RoadGraph, lon: FloatArray, lat: FloatArray, access: str
) -> tuple[FloatArray, tuple[str, ...]]:
    """Return how far each place is from the nearest road of a class, and that road's name.

    The same attachment as :func:`road_matrix`, without the matrix: for ``bsb validate``,
    which lists places farther than ``max_snap_m``.

    Parameters
    ----------
    graph
        The network.
    lon, lat
        The places (degrees).
    access
        ``"big"`` or ``"small"``.

    Returns
    -------
    tuple[FloatArray, tuple[str, ...]]
        Metres per place (inf when the class has no road at all) and road names ("" then).
    """
    network = _build_network(
        graph, np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64), access
    )
    names = tuple(
        graph.road_names[graph.name[s]] if s >= 0 else "" for s in network.snap_segment.tolist()
    )
    return network.snap_m, names


# --------------------------------------------------------------------------------------------
# Geometry of legs, main roads


def _piece(
    graph: RoadGraph, chain: int, from_dm: int, to_dm: int, memo: dict[int, Any]
) -> list[tuple[float, float]]:
    """Coordinates of a chain between two positions (dm from ``chain_a``), in driving order."""
    if chain not in memo:
        memo[chain] = graph.chain_coords(chain)
    lon, lat, along = memo[chain]
    low, high = sorted((from_dm / 10, to_dm / 10))
    inside = np.flatnonzero((along > low) & (along < high))
    xs = np.concatenate(([np.interp(low, along, lon)], lon[inside], [np.interp(high, along, lon)]))
    ys = np.concatenate(([np.interp(low, along, lat)], lat[inside], [np.interp(high, along, lat)]))
    points = list(zip(xs.tolist(), ys.tolist(), strict=True))
    return points if from_dm <= to_dm else points[::-1]


def leg_paths(
    graph: RoadGraph,
    legs: Sequence[tuple[int, int, str]],
    lon: FloatArray,
    lat: FloatArray,
    settings: TravelSettings,
) -> list[list[tuple[float, float]]]:
    """Return the road each leg drives, with the snapping and paths of :func:`road_matrix`.

    Parameters
    ----------
    graph
        The network.
    legs
        ``(from place, to place, access class)``; places index ``lon``/``lat``.
    lon, lat
        Every place's coordinates (the same arrays given to :func:`road_matrix`, so places
        attach where they did there).
    settings
        The scenario's travel settings.

    Returns
    -------
    list[list[tuple[float, float]]]
        Per leg ``(lon, lat)`` points: the place, its road point, the road, the other road
        point and place. Unsimplified (the map simplifies). Empty when no road connects them.
    """
    from scipy.sparse.csgraph import dijkstra

    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    paths: list[list[tuple[float, float]]] = [[] for _ in legs]
    found: dict[tuple[int, int, str], list[tuple[float, float]]] = {}
    memo: dict[int, Any] = {}
    by_kind: dict[str, list[int]] = {}
    for index, (_, _, access) in enumerate(legs):
        by_kind.setdefault(_network_class(graph, access), []).append(index)
    for kind, indices in by_kind.items():
        network = _build_network(graph, lon, lat, kind)
        matrix = _csr(network.indptr, network.indices, network.weight, network.n_nodes)
        targets: dict[int, list[int]] = {}
        for i in indices:
            a, b, _ = legs[i]
            if network.place_node[a] >= 0 and network.place_node[b] >= 0:
                targets.setdefault(a, []).append(b)
        unreached: dict[int, list[int]] = {}
        for a, ends in targets.items():
            # A route's legs are short: search only as far as a generous detour could go,
            # then search whole for the few ends not found (a river, a one-way loop).
            reach_km = float(haversine_matrix_km(lon[[a]], lat[[a]], lon[ends], lat[ends]).max())
            limit_dm = int((_PATH_DETOUR * reach_km + _PATH_SLACK_KM) * 10_000)
            _, predecessors = dijkstra(
                matrix,
                directed=True,
                indices=int(network.place_node[a]),
                return_predecessors=True,
                limit=float(limit_dm << TIME_BITS),
            )
            for b in ends:
                node = network.place_node[b]
                if node != network.place_node[a] and predecessors[node] < 0:
                    unreached.setdefault(a, []).append(b)
                else:
                    found[(a, b, kind)] = _trace(graph, network, predecessors, a, b, lon, lat, memo)
        sources = sorted(unreached)
        for start in range(0, len(sources), _CHUNK_SOURCES):
            chunk = sources[start : start + _CHUNK_SOURCES]
            _, predecessors = dijkstra(
                matrix, directed=True, indices=network.place_node[chunk], return_predecessors=True
            )
            for row, a in enumerate(chunk):
                for b in unreached[a]:
                    found[(a, b, kind)] = _trace(
                        graph, network, predecessors[row], a, b, lon, lat, memo
                    )
    for index, (a, b, access) in enumerate(legs):
        paths[index] = found.get((a, b, _network_class(graph, access)), [])
    return paths


def leg_path(
    graph: RoadGraph,
    from_lonlat: tuple[float, float],
    to_lonlat: tuple[float, float],
    access: str,
    settings: TravelSettings,
) -> list[tuple[float, float]]:
    """Return the road one leg drives (see :func:`leg_paths`, which draws many at once).

    A place attaches to its road the same way whatever other places there are, so this is
    the path :func:`road_matrix` measured.
    """
    lon = np.array([from_lonlat[0], to_lonlat[0]])
    lat = np.array([from_lonlat[1], to_lonlat[1]])
    return leg_paths(graph, [(0, 1, access)], lon, lat, settings)[0]


def _trace(
    graph: RoadGraph,
    network: _Network,
    predecessors: IntArray,
    a: int,
    b: int,
    lon: FloatArray,
    lat: FloatArray,
    memo: dict[int, Any],
) -> list[tuple[float, float]]:
    source, target = int(network.place_node[a]), int(network.place_node[b])
    nodes = [target]
    while nodes[-1] != source:
        previous = int(predecessors[nodes[-1]])
        if previous < 0:
            return []
        nodes.append(previous)
    nodes.reverse()
    points = [
        (float(lon[a]), float(lat[a])),
        (float(network.snap_lon[a]), float(network.snap_lat[a])),
    ]
    for u, v in itertools.pairwise(nodes):
        row = network.indices[network.indptr[u] : network.indptr[u + 1]]
        edge = int(network.indptr[u] + np.searchsorted(row, v))
        points += _piece(
            graph,
            int(network.edge_chain[edge]),
            int(network.edge_from_dm[edge]),
            int(network.edge_to_dm[edge]),
            memo,
        )
    points += [
        (float(network.snap_lon[b]), float(network.snap_lat[b])),
        (float(lon[b]), float(lat[b])),
    ]
    return [p for k, p in enumerate(points) if k == 0 or p != points[k - 1]]


def main_roads(
    graph: RoadGraph, classes: Iterable[str] = MAIN_ROAD_CLASSES
) -> list[list[tuple[float, float]]]:
    """Lines of the main roads (and their links) for a map's offline background.

    Parameters
    ----------
    graph
        The network.
    classes
        ``highway`` values to draw.

    Returns
    -------
    list[list[tuple[float, float]]]
        One ``(lon, lat)`` line per chain of those classes.
    """
    wanted = set(classes)
    chosen = [
        i for i, name in enumerate(graph.highway_names) if name.removesuffix("_link") in wanted
    ]
    lines = []
    for chain in np.flatnonzero(np.isin(graph.chain_highway, chosen)).tolist():
        lon, lat, _ = graph.chain_coords(chain)
        lines.append(list(zip(lon.tolist(), lat.tolist(), strict=True)))
    return lines


# --------------------------------------------------------------------------------------------
# Calibration of the straight-line model


@dataclass(frozen=True)
class Calibration:
    """Circuity and speed fitted on road legs, and how far straight-line estimates are off.

    Attributes
    ----------
    circuity
        Road km per great-circle km (least squares through the origin).
    speed_kmh
        Road km per road hour over the sample.
    n_pairs
        Pairs used (connected by road, at least 200 m apart).
    km_error_pct, time_error_pct
        ``(percentile, error %)`` of the straight-line estimate with these values against the
        road: positive = the estimate is longer.
    """

    circuity: float
    speed_kmh: float
    n_pairs: int
    km_error_pct: tuple[tuple[int, float], ...]
    time_error_pct: tuple[tuple[int, float], ...]

    def toml_lines(self) -> list[str]:
        """Return the ``[travel]`` lines of ``scenario.toml`` for the straight-line model."""
        return [
            "[travel]",
            'source = "straight"',
            f"circuity = {self.circuity:.2f}",
            f"speed_kmh = {self.speed_kmh:.1f}",
        ]


_PERCENTILES: Final = (5, 25, 50, 75, 95)
_CALIBRATION_MIN_KM: Final = 0.2


def calibrate(
    graph: RoadGraph,
    lon: FloatArray,
    lat: FloatArray,
    sample_pairs: int = 500,
    seed: int = 0,
    *,
    access: str = "small",
) -> Calibration:
    """Fit the straight-line model's circuity and speed on road legs between sampled places.

    Parameters
    ----------
    graph
        The network.
    lon, lat
        The places (a scenario's warehouses and drop points).
    sample_pairs
        Ordered pairs of distinct places to draw.
    seed
        Seed of the draw.
    access
        The class whose roads are driven.

    Returns
    -------
    Calibration
        The fit and the error distribution.

    Raises
    ------
    ValueError
        If no sampled pair is connected by road and at least 200 m apart.
    """
    from scipy.sparse.csgraph import dijkstra

    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    network = _build_network(graph, lon, lat, _network_class(graph, access))
    placed = np.flatnonzero(network.place_node >= 0)
    if len(placed) < 2:
        raise ValueError("fewer than two places are near a road")
    rng = np.random.default_rng(seed)
    a = rng.choice(placed, size=sample_pairs)
    b = rng.choice(placed, size=sample_pairs)
    a, b = a[a != b], b[a != b]
    sources, row = np.unique(network.place_node[a], return_inverse=True)
    matrix = _csr(network.indptr, network.indices, network.weight, network.n_nodes)
    weights = np.asarray(dijkstra(matrix, directed=True, indices=sources))[
        row, network.place_node[b]
    ]
    road_km, road_s = _decode(_encode(weights))
    straight_km = haversine_matrix_km(lon[a], lat[a], lon[b], lat[b]).diagonal()
    usable = np.isfinite(road_km) & (straight_km >= _CALIBRATION_MIN_KM) & (road_km > 0)
    if not usable.any():
        raise ValueError("no sampled pair is connected by road and at least 200 m apart")
    road_km, road_s, straight_km = road_km[usable], road_s[usable], straight_km[usable]
    circuity = float(np.sum(road_km * straight_km) / np.sum(straight_km**2))
    speed_kmh = float(road_km.sum() / (road_s.sum() / 3600))
    estimate_km = straight_km * circuity
    km_error = (estimate_km - road_km) / road_km * 100
    time_error = (estimate_km / speed_kmh * 3600 - road_s) / np.maximum(road_s, 1) * 100
    return Calibration(
        circuity=circuity,
        speed_kmh=speed_kmh,
        n_pairs=int(usable.sum()),
        km_error_pct=tuple((p, float(np.percentile(km_error, p))) for p in _PERCENTILES),
        time_error_pct=tuple((p, float(np.percentile(time_error, p))) for p in _PERCENTILES),
    )


# --------------------------------------------------------------------------------------------
# An independent check: its own reader, its own graph (networkx), its own snapping code


def check_legs_independently(
    osm_path: Path,
    settings: TravelSettings,
    legs: Sequence[tuple[tuple[float, float], tuple[float, float], str]],
) -> list[tuple[float, float]]:
    """Recompute legs from the extract by a routine that shares only the rule table.

    The extract is read again by a small handler of its own into a networkx graph (one node
    per OSM node, one edge per drivable direction of each segment); each end attaches to the
    closest point of the nearest usable segment (brute force over all segments, the same
    rule as :func:`road_matrix`), and networkx's Dijkstra finds the shortest path by length
    (ties: the quicker). For ``bsb check --roads``.

    Parameters
    ----------
    osm_path
        The extract.
    settings
        The scenario's travel settings (speeds).
    legs
        ``((lon, lat) from, (lon, lat) to, access class)``.

    Returns
    -------
    list[tuple[float, float]]
        Per leg road km and driving seconds (rounded up); ``(inf, inf)`` when no road of the
        class connects the two ends.
    """
    import networkx as nx
    import osmium

    speeds = settings.speeds_kmh()
    coords: dict[int, tuple[float, float]] = {}
    segments: list[tuple[int, int, WayRule]] = []

    class Collector(osmium.SimpleHandler):
        def way(self, way: Any) -> None:
            if "highway" not in way.tags:
                return
            rule = way_rule({tag.k: tag.v for tag in way.tags}, speeds)
            if rule is None:
                return
            previous: int | None = None
            for node in way.nodes:
                if not node.location.valid():
                    previous = None
                    continue
                coords[node.ref] = (node.location.lon, node.location.lat)
                if previous is not None and previous != node.ref:
                    segments.append((previous, node.ref, rule))
                previous = node.ref

    Collector().apply_file(str(osm_path), locations=True)
    results: list[tuple[float, float]] = [(math.inf, math.inf)] * len(legs)
    if not segments:
        return results
    mean_lat = sum(c[1] for c in coords.values()) / len(coords)
    scale_y = math.pi / 180 * _EARTH_RADIUS_M
    scale_x = scale_y * math.cos(math.radians(mean_lat))

    def metres(lonlat: tuple[float, float]) -> tuple[float, float]:
        return lonlat[0] * scale_x, lonlat[1] * scale_y

    def great_circle_m(p: tuple[float, float], q: tuple[float, float]) -> float:
        phi1, phi2 = math.radians(p[1]), math.radians(q[1])
        h = (
            math.sin((phi2 - phi1) / 2) ** 2
            + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(q[0] - p[0]) / 2) ** 2
        )
        return 2 * _EARTH_RADIUS_M * math.asin(math.sqrt(min(h, 1.0)))

    ax = np.array([metres(coords[s[0]])[0] for s in segments])
    ay = np.array([metres(coords[s[0]])[1] for s in segments])
    bx = np.array([metres(coords[s[1]])[0] for s in segments])
    by = np.array([metres(coords[s[1]])[1] for s in segments])
    big = np.array([s[2].big_ok for s in segments])

    for access in sorted({leg[2] for leg in legs}):
        mask = big if access == "big" else np.ones(len(segments), dtype=bool)
        candidates = np.flatnonzero(mask)
        if not len(candidates):
            continue
        graph = nx.DiGraph()

        def connect(u: Any, v: Any, length_m: float, rule: WayRule, graph: Any = graph) -> None:
            time_s = length_m / (rule.speed_kmh / 3.6)
            for x, y, allowed in ((u, v, rule.forward), (v, u, rule.backward)):
                old = graph.get_edge_data(x, y)
                if allowed and (
                    old is None or (length_m, time_s) < (old["length_m"], old["time_s"])
                ):
                    graph.add_edge(x, y, length_m=length_m, time_s=time_s)

        # Ends of this class's legs attach to their segments at parameter t.
        attach: dict[tuple[float, float], tuple[int, float]] = {}
        for leg in legs:
            if leg[2] != access:
                continue
            for end in leg[:2]:
                if end in attach:
                    continue
                px, py = metres(end)
                dx, dy = bx[candidates] - ax[candidates], by[candidates] - ay[candidates]
                norm = dx * dx + dy * dy
                t = np.clip(
                    ((px - ax[candidates]) * dx + (py - ay[candidates]) * dy)
                    / np.where(norm > 0, norm, 1),
                    0,
                    1,
                )
                distance = np.hypot(ax[candidates] + t * dx - px, ay[candidates] + t * dy - py)
                # Ties within 1 cm (overlapping ways): the fastest, then two-way, then first.
                tied = np.flatnonzero(distance <= distance.min() + 0.01)
                best = int(
                    min(
                        tied.tolist(),
                        key=lambda k: (
                            -segments[candidates[k]][2].speed_kmh,
                            not (
                                segments[candidates[k]][2].forward
                                and segments[candidates[k]][2].backward
                            ),
                        ),
                    )
                )
                along_m = float(t[best]) * math.sqrt(float(norm[best]))
                rest_m = (1 - float(t[best])) * math.sqrt(float(norm[best]))
                # Positions are kept to the decimetre: within 5 cm of an end is the end.
                at = 0.0 if along_m < 0.05 else 1.0 if rest_m < 0.05 else float(t[best])
                attach[end] = (int(candidates[best]), at)
        split: dict[int, list[float]] = {}
        for segment, t in attach.values():
            split.setdefault(segment, []).append(t)
        for index in candidates.tolist():
            u, v, rule = segments[index]
            length_m = great_circle_m(coords[u], coords[v])
            cuts = sorted(set(split.get(index, [])))
            stops: list[Any] = [u, *[("cut", index, t) for t in cuts], v]
            marks = [0.0, *cuts, 1.0]
            for k in range(len(stops) - 1):
                connect(stops[k], stops[k + 1], (marks[k + 1] - marks[k]) * length_m, rule)
        # A cut at t = 0 or 1 is the segment's end itself: join them at no cost.
        for segment, t in attach.values():
            u, v, _ = segments[segment]
            for node, at in ((u, 0.0), (v, 1.0)):
                if t == at:
                    graph.add_edge(node, ("cut", segment, t), length_m=0.0, time_s=0.0)
                    graph.add_edge(("cut", segment, t), node, length_m=0.0, time_s=0.0)

        def weight(u: Any, v: Any, data: Mapping[str, float]) -> float:
            return data["length_m"] + data["time_s"] * 1e-6

        for index, (start, end, leg_access) in enumerate(legs):
            if leg_access != access:
                continue
            source = ("cut", *attach[start])
            target = ("cut", *attach[end])
            try:
                path = nx.dijkstra_path(graph, source, target, weight=weight)
            except nx.NetworkXNoPath:
                continue
            length_m = sum(graph[x][y]["length_m"] for x, y in itertools.pairwise(path))
            time_s = sum(graph[x][y]["time_s"] for x, y in itertools.pairwise(path))
            results[index] = (length_m / 1000, float(math.ceil(time_s - 1e-9)))
    return results
