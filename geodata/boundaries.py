"""Village boundaries for the maps' offline background: any GIS file of named polygons.

A scenario may name, under ``[files] boundaries``, a file of areas (the desa/kelurahan of a
regency from BIG's RBI or BPS's SHP, an OpenStreetMap export, a GeoJSON): anything geopandas
reads (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, ...). The maps draw their outlines and
names under the routes, so a map opened offline still shows where a route runs.

:func:`read_boundaries` checks the file once: it must be readable, have a coordinate reference
system and hold at least one polygon. Other geometries (points, lines) and empty ones are left
out. The areas are reprojected to EPSG:4326 and their name is taken from ``name_field``, else
from the first column whose name is a usual one for a village name (:data:`NAME_FIELDS`, in
that order, any case), else from the first column of text; areas without a name get ``""``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from optimizer.errors import InputError, Problem

if TYPE_CHECKING:
    import geopandas

NAME_COLUMN: Final = "name"
"""The column of the returned frame that holds each area's name."""

NAME_FIELDS: Final = (
    "namobj",  # BIG's RBI (Rupa Bumi Indonesia) administrative areas
    "wadmkd",  # BIG: wilayah administrasi kelurahan/desa
    "nama_desa",
    "nm_desa",
    "desa",
    "kelurahan",
    "village",
    "nama",
    "name",
)
"""Column names tried for the name of a village, in order (compared without case)."""

POLYGON_TYPES: Final = ("Polygon", "MultiPolygon")


def read_boundaries(
    path: Path, name_field: str | None = None, *, display: str | None = None
) -> geopandas.GeoDataFrame:
    """Read named areas (village boundaries) from a GIS file.

    Parameters
    ----------
    path
        A file geopandas can read.
    name_field
        The column holding each area's name; guessed from :data:`NAME_FIELDS` when ``None``.
    display
        How problems name the file (e.g. its path relative to the scenario folder); the file
        name when ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326, one row per polygon or multipolygon of the file, in file order, with the
        columns :data:`NAME_COLUMN` (text) and ``geometry``.

    Raises
    ------
    InputError
        If the file cannot be read, has no coordinate reference system or no polygon, or
        ``name_field`` is not one of its columns; every problem at once, naming the file.
    """
    import geopandas

    where = display or path.name
    try:
        frame = geopandas.read_file(path)
    # The GIS drivers raise many kinds of errors for a missing, broken or unknown file; each
    # means the same to the user: this file cannot be read as a map layer.
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(
            [Problem(where, f"cannot be read as a GIS file of village boundaries: {reason}")]
        ) from None
    problems: list[Problem] = []
    if frame.crs is None:
        problems.append(
            Problem(
                where,
                "the file has no coordinate reference system (CRS); set it (e.g. EPSG:4326 for "
                "lon/lat degrees) and save again",
            )
        )
    geometry_column = frame.geometry.name
    columns = [str(c) for c in frame.columns if c != geometry_column]
    name_column = _name_column(frame, columns, name_field)
    if name_field is not None and name_column is None:
        problems.append(
            Problem(
                where,
                f"has no column {name_field!r} for the village names; its columns are "
                f"{', '.join(columns) or 'none'}",
                field=name_field,
            )
        )
    polygons = frame[frame.geometry.notna() & frame.geometry.geom_type.isin(POLYGON_TYPES)]
    polygons = polygons[~polygons.geometry.is_empty]
    if polygons.empty:
        found = sorted({str(t) for t in frame.geometry.geom_type.dropna()})
        problems.append(
            Problem(
                where,
                "holds no polygon: village boundaries must be areas (Polygon or MultiPolygon)"
                + (f"; found {', '.join(found)}" if found else "; it has no geometry"),
                field="geometry",
            )
        )
    if problems:
        raise InputError(problems)
    names = polygons[name_column].map(_text).tolist() if name_column else [""] * len(polygons)
    return geopandas.GeoDataFrame(
        {NAME_COLUMN: names}, geometry=polygons.geometry.to_crs("EPSG:4326").tolist(), crs=4326
    )


def _name_column(
    frame: geopandas.GeoDataFrame, columns: list[str], name_field: str | None
) -> str | None:
    by_lower = {c.lower(): c for c in reversed(columns)}
    if name_field is not None:
        return name_field if name_field in columns else by_lower.get(name_field.lower())
    for candidate in NAME_FIELDS:
        if candidate in by_lower:
            return by_lower[candidate]
    from pandas.api.types import is_object_dtype, is_string_dtype

    for column in columns:
        if is_string_dtype(frame[column]) or is_object_dtype(frame[column]):
            return column
    return None


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return ""
    return str(value).strip()
