"""Is a place on land? Land polygons of Indonesia and the distance of a sea point to land.

A warehouse or drop point in the sea is a typing mistake (a digit lost, a sign flipped) that
the planner cannot see: it would route a truck there as the crow flies. This module tells
which points lie in the sea and how far they are from the nearest land, so that
:mod:`geodata.scenario_io` can refuse them with file, row and field.

Where the land comes from
-------------------------
The land polygons are OpenStreetMap's coastline-derived land polygons (© OpenStreetMap
contributors, ODbL) as shipped inside the PyPI package ``roaring-landmask`` (its ``Osm``
provider, read through ``Shapes.wkb``). Nothing is downloaded at run time. They were chosen
over the GSHHG polygons of the same package and over ``global-land-mask`` (a 1 km grid)
because they hold the small inhabited islands of Kepulauan Seribu (Pulau Pramuka, Pulau
Untung Jawa, Pulau Tidung) where the others put these points 150 m to 1 km out at sea, and
the reclaimed coast of Jakarta Bay.

Two steps keep the common case cheap. The package's raster of the same polygons (15
arc-seconds, about 1.5 s to load) settles points well inland (:func:`surely_on_land`); it
cannot settle the others, since it misses islets such as Pulau Untung Jawa. Only when some
point is left are the polygons loaded (about 5 s and 0.9 GB at the peak, once per process:
:func:`load_land` caches them, keeping about 19,000 polygons with 1.1 million vertices near
Indonesia). Then 100,000 points are tested in about 0.1 s, or measured in a few seconds when
most of them are at sea.

How distances are measured
--------------------------
A point inside a land polygon is on land (distance 0). For any other point the distance to
the nearest coastline is measured in metres in a local tangent projection centred on that
point (east-west and north-south metres from the WGS 84 radii of curvature at the point's
latitude); within 100 km of the point this is within 0.3 % of the geodesic distance. Coastlines
are cut into short pieces (:data:`COAST_PIECE_SEGMENTS` segments) held in a spatial index, so
that each sea point is measured only against the pieces near it, all points at once.

A point within :data:`LAND_TOLERANCE_M` of land counts as on land: GPS readings at a harbour
or a jetty, and coastlines drawn a little inland, must not turn a real drop point into a sea
point.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "COAST_PIECE_SEGMENTS",
    "EXACT_WITHIN_M",
    "LAND_REGION",
    "LAND_TOLERANCE_M",
    "MASK_NEIGHBOUR_CELLS",
    "LandPolygons",
    "SeaPoint",
    "find_sea_points",
    "load_land",
    "surely_on_land",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

LAND_TOLERANCE_M = 150.0
"""A point this close to land (metres) counts as on land: GPS error at a harbour drop point."""

LAND_REGION = (91.0, -14.5, 145.0, 9.5)
"""Polygons kept, ``(lon_min, lat_min, lon_max, lat_max)``: Indonesia's box (94..142 E,
11.5 S..6.5 N) with 3 degrees around it, so that the nearest land of any point in Indonesia's
box, Malaysian, Timorese or Australian included, is among them."""

COAST_PIECE_SEGMENTS = 16
"""Coastline segments per indexed piece: short pieces keep each distance measurement local."""

EXACT_WITHIN_M = 20_000.0
"""Sea points nearer land than this (metres) are measured against every coast that could be
nearest; farther ones against the coast nearest in degrees, at most 4 % too far (at 14 deg of
latitude; 0.6 % at 6 deg), which cannot change the verdict."""

MASK_NEIGHBOUR_CELLS = 1
"""Raster cells around a point's cell that must all be land for the raster alone to decide.

The package's raster (15 arc-seconds, about 460 m) marks a cell as land by its centre, so it
misses islets and cannot measure distances; but a point whose cell and the cells around it
are all land is on land, or at worst in a channel narrower than a cell. Of 600,000 random
points over all Indonesia, Jakarta Bay with Kepulauan Seribu, and West Java with both its
coasts, the raster so decided 208,000, and none of them was more than 150 m from land by the
polygons (tests/test_land.py keeps checking this around Jakarta Bay)."""

_WGS84_A_M = 6_378_137.0
_WGS84_E2 = 6.694379990141316e-3
_SEARCH_MARGIN = 1.05
"""The nearest coast in degrees is at most ~3 % nearer than the nearest in metres at 14 deg of
latitude; searching 5 % beyond the nearest in degrees finds the nearest in metres."""


@dataclass(frozen=True, slots=True)
class SeaPoint:
    """A point that lies in the sea, farther than the tolerance from land.

    Attributes
    ----------
    index
        Position of the point in the arrays given to :func:`find_sea_points`.
    distance_to_land_km
        Distance to the nearest land, in km.
    """

    index: int
    distance_to_land_km: float


class LandPolygons:
    """Land polygons of a region with spatial indexes for point tests and coast distances.

    Parameters
    ----------
    polygons
        Land polygons in EPSG:4326 (lon, lat degrees), e.g. from :func:`load_land`.
    """

    def __init__(self, polygons: Sequence[object] | npt.NDArray[np.object_]) -> None:
        import shapely

        self._polygons = np.asarray(polygons, dtype=object)
        # Prepared polygons answer point-in-polygon through an edge index: Java has 600,000
        # vertices, and every point on Java is tested against it.
        shapely.prepare(self._polygons)
        self._polygon_tree = shapely.STRtree(self._polygons)
        self._pieces = _coast_pieces(self._polygons, COAST_PIECE_SEGMENTS)
        self._piece_tree = shapely.STRtree(self._pieces)
        # GEOS builds a prepared polygon's edge index on its first query: one query at a time.
        self._query_lock = threading.Lock()

    @property
    def polygon_count(self) -> int:
        """Number of land polygons held."""
        return len(self._polygons)

    def contains(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> BoolArray:
        """Return, for each point, whether it lies inside (or on the edge of) a land polygon.

        Parameters
        ----------
        lon, lat
            Degrees east and north (EPSG:4326), arrays of the same length.

        Returns
        -------
        numpy.ndarray
            Booleans, one per point.
        """
        import shapely

        lon_deg, lat_deg = _as_coordinates(lon, lat)
        points = shapely.points(lon_deg, lat_deg)
        point_index, polygon_index = self._polygon_tree.query(points)
        with self._query_lock:
            inside = shapely.intersects_xy(
                self._polygons[polygon_index], lon_deg[point_index], lat_deg[point_index]
            )
        on_land = np.zeros(len(lon_deg), dtype=bool)
        on_land[point_index[inside]] = True
        return on_land

    def distance_to_land_m(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
        """Return each point's distance to the nearest land in metres (0 on land).

        Parameters
        ----------
        lon, lat
            Degrees east and north (EPSG:4326), arrays of the same length, inside
            :data:`LAND_REGION` (farther away the nearest land may not be among the polygons).

        Returns
        -------
        numpy.ndarray
            Metres, one per point; 0.0 for points on land.
        """
        lon_deg, lat_deg = _as_coordinates(lon, lat)
        distance_m = np.zeros(len(lon_deg))
        off_land = np.flatnonzero(~self.contains(lon_deg, lat_deg))
        if off_land.size:
            distance_m[off_land] = self._coast_distance_m(lon_deg[off_land], lat_deg[off_land])
        return distance_m

    def _coast_distance_m(self, lon_deg: FloatArray, lat_deg: FloatArray) -> FloatArray:
        """Distance in metres from each point to the nearest coastline piece."""
        import shapely

        points = shapely.points(lon_deg, lat_deg)
        (point_index, nearest_piece), nearest_deg = self._piece_tree.query_nearest(
            points, return_distance=True, all_matches=False
        )
        # First the coast nearest in degrees, measured in metres: never less than the truth.
        distance_m = np.full(len(points), np.inf)
        np.minimum.at(
            distance_m,
            point_index,
            self._pair_distance_m(lon_deg, lat_deg, point_index, nearest_piece),
        )
        # Then, for points near enough that metres matter, every piece that could be nearer in
        # metres than that one (the two orders differ by the cosine of the latitude).
        near = point_index[distance_m[point_index] <= EXACT_WITHIN_M]
        if near.size:
            reach_deg = nearest_deg[np.isin(point_index, near)] * _SEARCH_MARGIN + 1e-9
            pair_near, pair_piece = self._piece_tree.query(
                points[near], predicate="dwithin", distance=reach_deg
            )
            pair_point = near[pair_near]
            np.minimum.at(
                distance_m,
                pair_point,
                self._pair_distance_m(lon_deg, lat_deg, pair_point, pair_piece),
            )
        return distance_m

    def _pair_distance_m(
        self,
        lon_deg: FloatArray,
        lat_deg: FloatArray,
        point_index: npt.NDArray[np.intp],
        piece_index: npt.NDArray[np.intp],
    ) -> FloatArray:
        """Metres from point ``point_index[k]`` to coast piece ``piece_index[k]``, for each k."""
        import shapely

        coordinates, pair_of_vertex = shapely.get_coordinates(
            self._pieces[piece_index], return_index=True
        )
        owner = point_index[pair_of_vertex]
        east_m, north_m = _local_metres(
            coordinates[:, 0], coordinates[:, 1], lon_deg[owner], lat_deg[owner]
        )
        lines = shapely.linestrings(np.column_stack([east_m, north_m]), indices=pair_of_vertex)
        return np.asarray(shapely.distance(shapely.points(0.0, 0.0), lines), dtype=np.float64)


def find_sea_points(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    tolerance_m: float = LAND_TOLERANCE_M,
    land: LandPolygons | None = None,
) -> tuple[SeaPoint, ...]:
    """Return the points that lie in the sea, farther than ``tolerance_m`` from land.

    Parameters
    ----------
    lon, lat
        Degrees east and north (EPSG:4326), arrays of the same length, inside
        :data:`LAND_REGION`.
    tolerance_m
        A point this close to land (metres) counts as on land.
    land
        The land to test against; :func:`load_land` (loaded once per process) when None.

    Returns
    -------
    tuple of SeaPoint
        In the order of the input; empty when every point is on land.

    Raises
    ------
    ValueError
        When ``lon`` and ``lat`` differ in length, or a point lies outside :data:`LAND_REGION`.
    """
    lon_deg, lat_deg = _as_coordinates(lon, lat)
    if lon_deg.size == 0:
        return ()
    lon_min, lat_min, lon_max, lat_max = LAND_REGION
    outside = (lon_deg < lon_min) | (lon_deg > lon_max) | (lat_deg < lat_min) | (lat_deg > lat_max)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"point {first} (lon {lon_deg[first]}, lat {lat_deg[first]}) is outside the land "
            f"region {LAND_REGION}"
        )
    distance_m = np.zeros(len(lon_deg))
    if land is None:
        # The raster answers most inland points; the polygons are loaded only for the rest.
        undecided = np.flatnonzero(~surely_on_land(lon_deg, lat_deg))
        if undecided.size:
            distance_m[undecided] = load_land().distance_to_land_m(
                lon_deg[undecided], lat_deg[undecided]
            )
    else:
        distance_m = land.distance_to_land_m(lon_deg, lat_deg)
    return tuple(
        SeaPoint(int(index), float(distance_m[index]) / 1000.0)
        for index in np.flatnonzero(distance_m > tolerance_m)
    )


def surely_on_land(lon: npt.ArrayLike, lat: npt.ArrayLike) -> BoolArray:
    """Return, for each point, whether the land raster puts it well inside land.

    A point is surely on land when its raster cell and the eight cells around it are all land
    (:data:`MASK_NEIGHBOUR_CELLS`). False means "ask the polygons", not "in the sea".

    Parameters
    ----------
    lon, lat
        Degrees east and north (EPSG:4326), arrays of the same length.

    Returns
    -------
    numpy.ndarray
        Booleans, one per point.
    """
    lon_deg, lat_deg = _as_coordinates(lon, lat)
    mask = _load_mask()
    on_land = np.ones(len(lon_deg), dtype=bool)
    reach = MASK_NEIGHBOUR_CELLS
    for east in range(-reach, reach + 1):
        for north in range(-reach, reach + 1):
            on_land &= np.asarray(
                mask.contains_many(lon_deg + east * mask.dx, lat_deg + north * mask.dy),
                dtype=bool,
            )
    return on_land


_LOAD_LOCK = threading.Lock()
"""Held while loading, so that threads asking at once (the service) load the data only once."""


def _load_mask() -> Any:
    with _LOAD_LOCK:
        return _load_mask_once()


@lru_cache(maxsize=1)
def _load_mask_once() -> Any:
    from roaring_landmask import LandmaskProvider, RoaringMask

    return RoaringMask.new(LandmaskProvider.Osm)


def load_land() -> LandPolygons:
    """Load the land polygons of :data:`LAND_REGION` from ``roaring-landmask`` (once).

    Returns
    -------
    LandPolygons
        Cached for the life of the process: the first call takes about 5 s.
    """
    with _LOAD_LOCK:
        return _load_land_once()


@lru_cache(maxsize=1)
def _load_land_once() -> LandPolygons:
    import shapely
    from roaring_landmask import LandmaskProvider, Shapes

    world = shapely.from_wkb(Shapes.wkb(LandmaskProvider.Osm))
    polygons = shapely.get_parts(world)
    del world
    bounds = shapely.bounds(polygons)
    lon_min, lat_min, lon_max, lat_max = LAND_REGION
    near = (
        (bounds[:, 2] >= lon_min)
        & (bounds[:, 0] <= lon_max)
        & (bounds[:, 3] >= lat_min)
        & (bounds[:, 1] <= lat_max)
    )
    return LandPolygons(polygons[near])


def _as_coordinates(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_deg = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat_deg = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    if lon_deg.shape != lat_deg.shape or lon_deg.ndim != 1:
        raise ValueError(
            f"lon and lat must be 1-D arrays of one length; got {lon_deg.shape} and {lat_deg.shape}"
        )
    return lon_deg, lat_deg


def _local_metres(
    lon_deg: FloatArray, lat_deg: FloatArray, origin_lon_deg: FloatArray, origin_lat_deg: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Metres east and north of each origin, on the plane tangent to WGS 84 at the origin."""
    phi = np.radians(origin_lat_deg)
    sin2 = np.sin(phi) ** 2
    normal_m = _WGS84_A_M / np.sqrt(1.0 - _WGS84_E2 * sin2)  # prime vertical radius
    meridian_m = _WGS84_A_M * (1.0 - _WGS84_E2) / (1.0 - _WGS84_E2 * sin2) ** 1.5
    east_m = np.radians(lon_deg - origin_lon_deg) * normal_m * np.cos(phi)
    north_m = np.radians(lat_deg - origin_lat_deg) * meridian_m
    return east_m, north_m


def _coast_pieces(
    polygons: npt.NDArray[np.object_], segments_per_piece: int
) -> npt.NDArray[np.object_]:
    """Cut every ring of the polygons into linestrings of at most ``segments_per_piece``.

    Consecutive pieces of a ring share their end vertex, so no segment is lost.
    """
    import shapely

    rings = shapely.get_rings(polygons)
    coordinates, ring_of_vertex = shapely.get_coordinates(rings, return_index=True)
    vertices_per_ring = np.bincount(ring_of_vertex, minlength=len(rings))
    first_vertex = np.cumsum(vertices_per_ring) - vertices_per_ring
    position = np.arange(len(coordinates)) - first_vertex[ring_of_vertex]
    pieces_per_ring = np.maximum(
        1, -(-(vertices_per_ring - 1) // segments_per_piece)
    )  # ceil((n - 1) / s)
    first_piece = np.cumsum(pieces_per_ring) - pieces_per_ring
    last_position = vertices_per_ring[ring_of_vertex] - 1
    local_piece = np.minimum(position // segments_per_piece, pieces_per_ring[ring_of_vertex] - 1)
    # A vertex that starts a piece also ends the previous one.
    shared = (position % segments_per_piece == 0) & (position > 0) & (position < last_position)
    piece = np.concatenate(
        [
            first_piece[ring_of_vertex] + local_piece,
            first_piece[ring_of_vertex[shared]] + local_piece[shared] - 1,
        ]
    )
    order_key = np.concatenate([position, position[shared]])
    vertex = np.concatenate([np.arange(len(coordinates)), np.flatnonzero(shared)])
    order = np.lexsort((order_key, piece))
    return np.asarray(
        shapely.linestrings(coordinates[vertex[order]], indices=piece[order]), dtype=object
    )
