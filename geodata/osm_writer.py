"""Write OpenStreetMap files of our own design: test networks and a regency-sized benchmark one.

:func:`write_osm` writes nodes and tagged ways with pyosmium (the format follows the file
name: ``.osm``, ``.osm.pbf``, ...). :func:`generate_regency_network` makes a road network the
size of a Javanese regency (about 300,000 road nodes): villages of residential streets on a
grid, joined by secondary and primary roads with shape nodes, dead-end tracks to hamlets, a few
one-way streets, narrow ways and ``hgv=no`` ways, and a river crossed by a few bridges only.
Coordinates are WGS84 degrees, ``(lon, lat)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["OsmWay", "RegencyNetwork", "generate_regency_network", "write_osm"]

_EARTH_RADIUS_M = 6_371_008.8
_BOGOR_LON_LAT = (106.60, -6.75)
"""South-west corner of the generated network: Kabupaten Bogor's hills."""


@dataclass(frozen=True)
class OsmWay:
    """One way: its node ids in order and its tags."""

    node_ids: tuple[int, ...]
    tags: Mapping[str, str] = field(default_factory=dict)


def write_osm(
    path: Path,
    nodes: Mapping[int, tuple[float, float]],
    ways: Sequence[OsmWay],
) -> None:
    """Write nodes and ways to an OSM file, atomically.

    Parameters
    ----------
    path
        The file; pyosmium picks the format from its suffix (``.osm``, ``.osm.pbf``).
    nodes
        Node id to ``(lon, lat)`` degrees; ids are positive.
    ways
        The ways; way ids are 1, 2, ... in order. Every node id they use must be in ``nodes``.

    Raises
    ------
    ValueError
        If a way uses a node that is not given.
    """
    import osmium

    for way in ways:
        missing = [ref for ref in way.node_ids if ref not in nodes]
        if missing:
            raise ValueError(f"way uses unknown nodes {missing[:5]}")
    # pyosmium picks the format from the name, so the temporary sibling keeps the suffixes.
    temporary = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        writer = osmium.SimpleWriter(str(temporary), overwrite=True)
        try:
            for node_id in sorted(nodes):
                lon, lat = nodes[node_id]
                writer.add_node(osmium.osm.mutable.Node(id=node_id, location=(lon, lat)))
            for way_id, way in enumerate(ways, start=1):
                writer.add_way(
                    osmium.osm.mutable.Way(id=way_id, nodes=list(way.node_ids), tags=dict(way.tags))
                )
        finally:
            writer.close()
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


@dataclass(frozen=True)
class RegencyNetwork:
    """What :func:`generate_regency_network` wrote.

    Attributes
    ----------
    path
        The OSM file.
    n_nodes
        Road nodes written.
    n_ways
        Ways written (the river included).
    bbox
        ``(min lon, min lat, max lon, max lat)`` of the villages.
    village_lon, village_lat
        Centre of each village, to place drop points and warehouses near roads.
    """

    path: Path
    n_nodes: int
    n_ways: int
    bbox: tuple[float, float, float, float]
    village_lon: np.ndarray
    village_lat: np.ndarray


def generate_regency_network(
    path: Path, n_nodes: int = 300_000, seed: int = 0, *, village_spacing_m: float = 1200.0
) -> RegencyNetwork:
    """Write a generated regency-sized road network to ``path``.

    Villages sit on a square grid ``village_spacing_m`` apart; each is a 5 x 5 grid of
    residential streets 120 m apart with two shape nodes per block (one street one-way, one
    ``unclassified``, some ``width=2.5`` or ``hgv=no``). Neighbouring villages are joined by
    roads with a shape node every 20 m: every fourth row and column ``primary`` (some with
    ``maxspeed=40``), the others ``secondary``. A river runs north-south through the middle;
    east-west roads cross it only on every eighth row (the bridges). Every fifth village has a
    dead-end ``track`` of 300-600 m to a hamlet.

    Parameters
    ----------
    path
        The OSM file to write (``.osm.pbf`` is compact and quick to read).
    n_nodes
        About how many road nodes to make; the village grid is sized to match.
    seed
        Seed of the jitter and of the choice of tracks and tags.
    village_spacing_m
        Distance between neighbouring village centres.

    Returns
    -------
    RegencyNetwork
        The file and what it holds.
    """
    rng = np.random.default_rng(seed)
    streets = 5  # junctions per village side
    block_m = 120.0
    shape_per_block = 2
    link_step_m = 20.0
    village_m = (streets - 1) * block_m
    link_nodes = int((village_spacing_m - village_m) / link_step_m) - 1
    per_village = streets * streets + 2 * streets * (streets - 1) * shape_per_block + 2 * link_nodes
    side = max(2, round(float(np.sqrt(n_nodes / per_village))))
    river_column = side // 2  # the river runs east of this village column
    lon0, lat0 = _BOGOR_LON_LAT
    metres_per_deg_lat = np.pi / 180 * _EARTH_RADIUS_M
    metres_per_deg_lon = metres_per_deg_lat * np.cos(np.radians(lat0))

    coords: dict[int, tuple[float, float]] = {}
    ways: list[OsmWay] = []

    def node(x_m: float, y_m: float) -> int:
        node_id = len(coords) + 1
        coords[node_id] = (lon0 + x_m / metres_per_deg_lon, lat0 + y_m / metres_per_deg_lat)
        return node_id

    def chain(start: int, end: int, pieces: int) -> list[int]:
        """Node ids from ``start`` to ``end`` with ``pieces - 1`` shape nodes between."""
        (x0, y0), (x1, y1) = (_metres(coords[start]), _metres(coords[end]))
        ids = [start]
        for k in range(1, pieces):
            f = k / pieces
            wobble = rng.normal(0.0, 3.0)  # roads are not ruled lines
            ids.append(node(x0 + f * (x1 - x0) + wobble, y0 + f * (y1 - y0) + wobble))
        ids.append(end)
        return ids

    def _metres(lonlat: tuple[float, float]) -> tuple[float, float]:
        return (
            (lonlat[0] - lon0) * metres_per_deg_lon,
            (lonlat[1] - lat0) * metres_per_deg_lat,
        )

    junctions = np.zeros((side, side, streets, streets), dtype=np.int64)
    centres: list[tuple[float, float]] = []
    for vi in range(side):
        for vj in range(side):
            cx = vi * village_spacing_m + rng.normal(0, 30)
            cy = vj * village_spacing_m + rng.normal(0, 30)
            centres.append((cx, cy))
            for a in range(streets):
                for b in range(streets):
                    junctions[vi, vj, a, b] = node(
                        cx + (a - (streets - 1) / 2) * block_m + rng.normal(0, 5),
                        cy + (b - (streets - 1) / 2) * block_m + rng.normal(0, 5),
                    )
            grid = junctions[vi, vj]
            for b in range(streets):  # east-west streets
                ids: list[int] = [int(grid[0, b])]
                for a in range(1, streets):
                    ids += chain(int(grid[a - 1, b]), int(grid[a, b]), shape_per_block + 1)[1:]
                tags = {"highway": "residential", "name": f"Jalan Desa {vi}-{vj} {b}"}
                if b == 1:
                    tags["oneway"] = "yes"
                if b == 3 and rng.random() < 0.2:
                    tags["width"] = "2.5"
                ways.append(OsmWay(tuple(ids), tags))
            for a in range(streets):  # north-south streets
                ids = [int(grid[a, 0])]
                for b in range(1, streets):
                    ids += chain(int(grid[a, b - 1]), int(grid[a, b]), shape_per_block + 1)[1:]
                tags = {"highway": "unclassified" if a == 2 else "residential"}
                if a == 3 and rng.random() < 0.1:
                    tags["hgv"] = "no"
                ways.append(OsmWay(tuple(ids), tags))
            if (vi * side + vj) % 5 == 2:  # a dead-end track to a hamlet
                start = int(grid[0, 0])
                sx, sy = _metres(coords[start])
                length_m = rng.uniform(300, 600)
                hamlet = node(sx - length_m * 0.6, sy - length_m * 0.8)
                pieces = max(2, int(length_m / link_step_m))
                ways.append(OsmWay(tuple(chain(start, hamlet, pieces)), {"highway": "track"}))
    middle = streets // 2
    for vi in range(side):
        for vj in range(side):
            main_row = vj % 4 == 0
            main_col = vi % 4 == 0
            if vi + 1 < side and (vi != river_column or vj % 8 == 3):
                start = int(junctions[vi, vj, streets - 1, middle])
                end = int(junctions[vi + 1, vj, 0, middle])
                tags = {"highway": "primary" if main_row else "secondary"}
                if vi == river_column:
                    tags["bridge"] = "yes"
                    tags["name"] = f"Jembatan {vj}"
                elif main_row and rng.random() < 0.3:
                    tags["maxspeed"] = "40"
                ways.append(OsmWay(tuple(chain(start, end, link_nodes + 1)), tags))
            if vj + 1 < side:
                start = int(junctions[vi, vj, middle, streets - 1])
                end = int(junctions[vi, vj + 1, middle, 0])
                tags = {"highway": "primary" if main_col else "secondary"}
                ways.append(OsmWay(tuple(chain(start, end, link_nodes + 1)), tags))
    road_nodes = len(coords)
    river_x = (river_column + 0.5) * village_spacing_m
    top_y = side * village_spacing_m
    river_ids = [node(river_x, -village_spacing_m / 2)]
    river_ids.append(node(river_x, top_y))
    ways.append(OsmWay(tuple(river_ids), {"waterway": "river", "name": "Ci Sadane"}))
    write_osm(path, coords, ways)
    centre_m = np.asarray(centres)
    village_lon = lon0 + centre_m[:, 0] / metres_per_deg_lon
    village_lat = lat0 + centre_m[:, 1] / metres_per_deg_lat
    return RegencyNetwork(
        path=path,
        n_nodes=road_nodes,
        n_ways=len(ways),
        bbox=(
            float(village_lon.min()),
            float(village_lat.min()),
            float(village_lon.max()),
            float(village_lat.max()),
        ),
        village_lon=village_lon,
        village_lat=village_lat,
    )
