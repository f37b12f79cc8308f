"""Lines of a plan's trips: along the roads when the road geometry of each leg is known.

A trip is drawn warehouse -> stops -> warehouse. With a straight-line travel model each leg is
a straight segment. With roads, the pipeline gives the geometry of each leg (part of the road
network between the two places' snapped positions) as a mapping, or a function, from the leg
key ``(from_id, to_id, access)`` to a list of ``(lon, lat)``; ``access`` is the access class
of the truck that drives it (``scenario.travel.truck_access(truck)``). :func:`plan_legs`
lists the legs a plan needs, so that only those are traced.

Road geometry is heavy (a node every few metres on a winding road), so :func:`road_lines`
simplifies every leg once, with the Douglas-Peucker algorithm of shapely in a local metric
projection, to within :data:`SIMPLIFY_TOLERANCE_M` of the road: at map scale the line does not
move, and a 4,000-point map stays under 10 MB. Each simplified leg starts at its place and
ends at the next (the off-road stretch to the snapped position is drawn as a short straight
piece: the truck stops at the road, the line shows where the place is). A leg the geometry
does not hold is drawn straight. :func:`route_line` assembles one trip's line; the maps and
``routes.geojson`` both use it, so they hold the same lines.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

from optimizer.model import Scenario
from optimizer.solution import Plan, Route

Position: TypeAlias = tuple[float, float]
"""``(lon, lat)`` in degrees, WGS 84."""
LegKey: TypeAlias = tuple[str, str, str]
"""``(from_id, to_id, access)``: a warehouse or drop point id, another, the truck's class."""
LegPaths: TypeAlias = (
    Mapping[LegKey, Sequence[Position]] | Callable[[str, str, str], Sequence[Position] | None]
)
"""The road geometry of legs, as given by the pipeline (from the roads part's ``leg_paths``)."""

SIMPLIFY_TOLERANCE_M: Final = 15.0
"""Largest distance between a drawn line and its road: a third of a millimetre at 1:50,000,
well under a line's width at the zoom a street is read at, and it drops the nodes of every
gentle bend."""

METRES_PER_DEGREE: Final = 111_320.0
"""Metres per degree of latitude (and of longitude at the equator), near enough for simplifying
lines: the tolerance, not the line, is what it scales."""


@dataclass(frozen=True, slots=True)
class RouteLine:
    """One trip's line.

    Attributes
    ----------
    coordinates
        ``(lon, lat)`` vertices from the warehouse through the stops back to it.
    place_vertices
        Index in ``coordinates`` of each place of the trip in driving order: the warehouse,
        each stop, the warehouse again (``len(route.stops) + 2`` indices, never decreasing).
    """

    coordinates: tuple[Position, ...]
    place_vertices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RoadLines:
    """The simplified road geometry of a plan's legs, built once by :func:`road_lines`.

    Attributes
    ----------
    legs
        Leg key -> vertices from the first place to the second, simplified.
    tolerance_m
        The simplification tolerance used.
    """

    legs: Mapping[LegKey, tuple[Position, ...]]
    tolerance_m: float = SIMPLIFY_TOLERANCE_M

    @property
    def n_vertices(self) -> int:
        """Vertices over all legs (the size the maps carry)."""
        return sum(len(line) for line in self.legs.values())


def route_places(scenario: Scenario, route: Route) -> list[tuple[str, Position]]:
    """Return the ids and positions of a trip's places in driving order (warehouse at both ends).

    Parameters
    ----------
    scenario
        Supplies the coordinates.
    route
        The trip.

    Returns
    -------
    list
        ``(id, (lon, lat))``: the warehouse, each stop, the warehouse.
    """
    home = scenario.warehouse(route.warehouse)
    places = [(home.id, (home.lon, home.lat))]
    for stop in route.stops:
        point = scenario.drop_point(stop.drop_point)
        places.append((point.id, (point.lon, point.lat)))
    places.append(places[0])
    return places


def plan_legs(scenario: Scenario, plan: Plan) -> list[LegKey]:
    """Return every distinct leg the plan's trips drive, in first-driven order.

    Parameters
    ----------
    scenario
        Supplies each truck's access class.
    plan
        The plan.

    Returns
    -------
    list of LegKey
        ``(from_id, to_id, access)``; a stay at the same place (two tranches delivered in a row)
        is no leg.
    """
    seen: dict[LegKey, None] = {}
    for route in plan.routes:
        access = scenario.travel.truck_access(scenario.truck(route.truck))
        places = route_places(scenario, route)
        for (a, _), (b, _) in itertools.pairwise(places):
            if a != b:
                seen.setdefault((a, b, access), None)
    return list(seen)


def road_lines(
    scenario: Scenario,
    plan: Plan,
    leg_paths: LegPaths,
    *,
    tolerance_m: float = SIMPLIFY_TOLERANCE_M,
) -> RoadLines:
    """Look up and simplify the road geometry of every leg of a plan.

    Parameters
    ----------
    scenario, plan
        The plan whose legs are drawn.
    leg_paths
        Leg key -> ``(lon, lat)`` vertices of the road path, as a mapping or a function
        returning ``None`` for a leg it does not know. The path may start and end at the
        snapped positions; the places themselves are added at both ends.
    tolerance_m
        Largest distance, in metres, between the simplified line and the path.

    Returns
    -------
    RoadLines
        Only the legs the geometry holds (with at least one vertex); the others are drawn
        straight by :func:`route_line`.

    Raises
    ------
    ValueError
        If ``tolerance_m`` is negative or a path holds a coordinate that is not finite.
    """
    if not tolerance_m >= 0:
        raise ValueError(f"tolerance_m {tolerance_m!r}: expected 0 or more metres")
    if callable(leg_paths):
        lookup = leg_paths
    else:
        paths = leg_paths

        def lookup(from_id: str, to_id: str, access: str) -> Sequence[Position] | None:
            return paths.get((from_id, to_id, access))

    position = {w.id: (w.lon, w.lat) for w in scenario.warehouses}
    position |= {p.id: (p.lon, p.lat) for p in scenario.drop_points}
    keys: list[LegKey] = []
    lines: list[npt.NDArray[np.float64]] = []
    for key in plan_legs(scenario, plan):
        path = lookup(*key)
        if path is None or len(path) == 0:
            continue
        vertices = np.asarray(path, dtype=float)
        if vertices.ndim != 2 or vertices.shape[1] != 2:
            raise ValueError(f"leg {key}: expected (lon, lat) pairs, got shape {vertices.shape}")
        if not np.isfinite(vertices).all():
            raise ValueError(f"leg {key}: the road path holds a coordinate that is not finite")
        keys.append(key)
        lines.append(np.vstack((position[key[0]], vertices, position[key[1]])))
    simplified = simplify_lines(lines, tolerance_m=tolerance_m)
    return RoadLines(dict(zip(keys, simplified, strict=True)), tolerance_m)


def simplify_lines(
    lines: Sequence[Sequence[Position] | npt.NDArray[np.float64]],
    *,
    tolerance_m: float = SIMPLIFY_TOLERANCE_M,
) -> list[tuple[Position, ...]]:
    """Simplify ``(lon, lat)`` lines to within ``tolerance_m`` metres (Douglas-Peucker).

    All lines are projected at once to metres in an equirectangular projection about their mean
    latitude (within a regency, scale errors of well under 1 %: only the tolerance is scaled),
    simplified by shapely in one call and projected back; the first and last vertex of each
    line are kept exactly, and repeated vertices are dropped.

    Parameters
    ----------
    lines
        Lines of at least one vertex each (sequences of pairs, or ``(n, 2)`` arrays).
    tolerance_m
        Largest distance between a simplified line and the original.

    Returns
    -------
    list
        The lines in the same order, each with at least its two end vertices (one for a line of
        one vertex, or of one repeated vertex).
    """
    import shapely

    if not lines:
        return []
    arrays = [np.asarray(line, dtype=float).reshape(-1, 2) for line in lines]
    mean_lat = float(np.mean(np.concatenate([a[:, 1] for a in arrays])))
    scale = np.array([METRES_PER_DEGREE * math.cos(math.radians(mean_lat)), METRES_PER_DEGREE])
    out: list[tuple[Position, ...]] = []
    long_lines: list[npt.NDArray[np.float64]] = []
    long_at: list[int] = []
    for array in arrays:
        moved = np.concatenate(([True], np.any(array[1:] != array[:-1], axis=1)))
        unique = array[moved]
        if len(unique) >= 3:
            first, last = unique[0], unique[-1]
            out.append(((float(first[0]), float(first[1])), (float(last[0]), float(last[1]))))
            long_at.append(len(out) - 1)
            long_lines.append(unique)
        else:
            out.append(tuple((float(x), float(y)) for x, y in unique))
    if not long_lines:
        return out
    counts = np.array([len(line) for line in long_lines])
    geometries = shapely.linestrings(
        np.concatenate(long_lines) * scale, indices=np.repeat(np.arange(len(counts)), counts)
    )
    simple = shapely.simplify(geometries, tolerance_m, preserve_topology=False)
    coordinates, index = shapely.get_coordinates(simple, return_index=True)
    pieces = np.split(coordinates / scale, np.searchsorted(index, np.arange(1, len(counts))))
    for at, piece in zip(long_at, pieces, strict=True):
        first, last = out[at]
        # The ends exactly as given (projecting back may move them in the last bit).
        out[at] = (first, *((float(x), float(y)) for x, y in piece[1:-1].tolist()), last)
    return out


def route_line(scenario: Scenario, route: Route, roads: RoadLines | None = None) -> RouteLine:
    """Return one trip's line: along the roads where ``roads`` holds a leg, straight otherwise.

    Parameters
    ----------
    scenario
        Supplies coordinates and the truck's access class.
    route
        The trip.
    roads
        The plan's simplified leg geometry (:func:`road_lines`); ``None`` draws every leg
        straight (a straight-line plan).

    Returns
    -------
    RouteLine
        Vertices from the warehouse through the stops back to it, and where each place is.
    """
    places = route_places(scenario, route)
    coordinates: list[Position] = [places[0][1]]
    place_vertices = [0]
    access = scenario.travel.truck_access(scenario.truck(route.truck))
    for (a, _), (b, end) in itertools.pairwise(places):
        leg = None if roads is None or a == b else roads.legs.get((a, b, access))
        if leg is not None:
            coordinates.extend(leg[1:])
        else:
            # As straight-line plans were always drawn: every place, a repeated one too.
            coordinates.append(end)
        place_vertices.append(len(coordinates) - 1)
    return RouteLine(tuple(coordinates), tuple(place_vertices))


def plan_snap_m(plan: Plan) -> Mapping[str, float | None]:
    """Return the metres from each place to the road it attaches to, as the plan holds them.

    Parameters
    ----------
    plan
        A plan; one planned on roads holds ``snap_m`` (drop point or warehouse id -> metres).

    Returns
    -------
    Mapping
        Empty for a straight-line plan (or a plan from before roads).
    """
    return plan.snap_m or {}


def road_lines_from_routes(
    scenario: Scenario, plan: Plan, collection: Mapping[str, Any]
) -> RoadLines | None:
    """Read the legs' road lines back from a plan folder's ``routes.geojson``.

    So that a map redrawn from the plan folder alone (``bsb map PLAN_DIR``) follows the roads
    the plan was made on, without the extract.

    Parameters
    ----------
    scenario, plan
        The plan the file was written for.
    collection
        The parsed ``routes.geojson``: one LineString per trip, with the properties ``truck``,
        ``date``, ``trip`` and ``places`` (the vertex index of each place of the trip).

    Returns
    -------
    RoadLines or None
        Each leg of a line that holds more vertices than places; ``None`` when no line does
        (a straight-line plan, or a file written before lines followed the roads). Features
        that do not match a trip of the plan, or whose ``places`` do not fit, are skipped.
    """
    trips = {(r.truck, r.date.isoformat(), r.trip): r for r in plan.routes}
    legs: dict[LegKey, tuple[Position, ...]] = {}
    for feature in collection.get("features", ()):
        try:
            props = feature["properties"]
            route = trips.get((props["truck"], props["date"], props["trip"]))
            coordinates = [(float(x), float(y)) for x, y in feature["geometry"]["coordinates"]]
            places = [int(i) for i in props["places"]]
        except (KeyError, TypeError, ValueError):
            continue
        if (
            route is None
            or len(places) != len(route.stops) + 2
            or places != sorted(places)
            or places[0] != 0
            or places[-1] != len(coordinates) - 1
        ):
            continue
        access = scenario.travel.truck_access(scenario.truck(route.truck))
        ids = [place_id for place_id, _ in route_places(scenario, route)]
        for (a, i), (b, j) in itertools.pairwise(zip(ids, places, strict=True)):
            if a != b and j - i > 1:
                legs.setdefault((a, b, access), tuple(coordinates[i : j + 1]))
    return RoadLines(legs) if legs else None
