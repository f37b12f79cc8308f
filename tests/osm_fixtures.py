"""Small OpenStreetMap networks drawn in metres, written with :func:`geodata.osm_writer.write_osm`.

A :class:`Sketch` places named nodes at ``(x, y)`` metres east and north of a point in
Kabupaten Bogor and joins them with tagged ways; :meth:`Sketch.lonlat` turns any metre
position into ``(lon, lat)`` for places. The named networks are the cases the issue names: a
river with one bridge, a dirt track to a hamlet, one-way streets, an island without roads to
the mainland, ways big trucks may not take and ways no truck may use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from geodata.osm_writer import OsmWay, write_osm

ORIGIN = (106.8, -6.6)
METRES_PER_DEGREE = math.pi / 180 * 6_371_008.8


@dataclass
class Sketch:
    """Named nodes in metres and the ways between them."""

    nodes: dict[str, tuple[float, float]] = field(default_factory=dict)
    ways: list[tuple[tuple[str, ...], dict[str, str]]] = field(default_factory=list)

    def node(self, name: str, x_m: float, y_m: float) -> str:
        self.nodes[name] = (x_m, y_m)
        return name

    def way(self, names: list[str] | tuple[str, ...], **tags: str) -> None:
        self.ways.append((tuple(names), dict(tags)))

    @staticmethod
    def lonlat(x_m: float, y_m: float) -> tuple[float, float]:
        lon0, lat0 = ORIGIN
        lat = lat0 + y_m / METRES_PER_DEGREE
        return lon0 + x_m / (METRES_PER_DEGREE * math.cos(math.radians(lat0))), lat

    def write(self, path: Path) -> Path:
        ids = {name: k for k, name in enumerate(self.nodes, start=1)}
        coords = {ids[name]: self.lonlat(*xy) for name, xy in self.nodes.items()}
        write_osm(
            path,
            coords,
            [OsmWay(tuple(ids[n] for n in names), tags) for names, tags in self.ways],
        )
        return path


def river_with_one_bridge() -> Sketch:
    """Two roads 200 m apart on either bank of a river, joined by one bridge 3 km north."""
    s = Sketch()
    for bank, x in (("w", 0.0), ("e", 200.0)):
        s.node(f"{bank}0", x, 0)
        s.node(f"{bank}1", x, 1500)
        s.node(f"{bank}2", x, 3000)
        s.way([f"{bank}0", f"{bank}1", f"{bank}2"], highway="secondary", name=f"Jalan {bank}")
    s.way(["w2", "e2"], highway="secondary", bridge="yes", name="Jembatan Cisadane")
    return s


def track_to_hamlet() -> Sketch:
    """A residential road 2 km long; a dirt track leaves it for a hamlet 800 m north."""
    s = Sketch()
    s.node("a", 0, 0)
    s.node("m", 1000, 0)
    s.node("b", 2000, 0)
    s.node("t1", 1000, 400)
    s.node("hamlet", 1000, 800)
    s.way(["a", "m", "b"], highway="residential", name="Jalan Desa")
    s.way(["m", "t1", "hamlet"], highway="track", name="Jalan Tanah")
    return s


def one_way_loop() -> Sketch:
    """P to Q by a 1 km one-way street; back only by a 3 km two-way road."""
    s = Sketch()
    s.node("p", 0, 0)
    s.node("q", 1000, 0)
    s.node("r", 1000, 1000)
    s.node("s", 0, 1000)
    s.way(["p", "q"], highway="tertiary", oneway="yes", name="Jalan Searah")
    s.way(["q", "r", "s", "p"], highway="tertiary", name="Jalan Memutar")
    return s


def island_without_bridge() -> Sketch:
    """A mainland road and an island road 5 km away, not connected."""
    s = Sketch()
    s.node("m0", 0, 0)
    s.node("m1", 1000, 0)
    s.way(["m0", "m1"], highway="primary")
    s.node("i0", 0, 5000)
    s.node("i1", 1000, 5000)
    s.way(["i0", "i1"], highway="residential", name="Jalan Pulau")
    return s


def mixed_rules() -> Sketch:
    """One way per rule, side by side, 100 m apart, each 1 km long (tags in the names)."""
    cases: list[dict[str, str]] = [
        {"highway": "primary"},
        {"highway": "primary", "maxspeed": "20"},
        {"highway": "residential", "width": "2.5"},
        {"highway": "residential", "hgv": "no"},
        {"highway": "track"},
        {"highway": "residential", "access": "private"},
        {"highway": "footway"},
        {"highway": "residential", "area": "yes"},
        {"highway": "construction"},
        {"highway": "residential", "access": "no", "motor_vehicle": "yes"},
        {"highway": "secondary_link"},
    ]
    s = Sketch()
    for k, tags in enumerate(cases):
        a = s.node(f"a{k}", 0, 100 * k)
        b = s.node(f"b{k}", 1000, 100 * k)
        s.way([a, b], name=f"case {k}", **tags)
    return s


def sawtooth(teeth: int = 10, tooth_m: float = 200.0) -> Sketch:
    """A zigzag road at 45 degrees along the x axis: road km = straight km x sqrt(2)."""
    s = Sketch()
    names = []
    for k in range(2 * teeth + 1):
        names.append(s.node(f"z{k}", k * tooth_m / 2, 0 if k % 2 == 0 else tooth_m / 2))
    s.way(names, highway="residential")
    return s
