from __future__ import annotations

import warnings
from pathlib import Path

import geopandas
import pytest
from shapely.geometry import LineString, Point, box

from geodata.boundaries import NAME_COLUMN, read_boundaries
from geodata.maps import map_content, map_roads
from optimizer.errors import InputError
from optimizer.solution import Plan, compute_kpis
from tests.conftest import make_tiny_scenario

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "geodata"
BOGOR_DESA = SHARED / "bogor_desa_32.01.geojson"


def two_villages_utm(path: Path, **columns: list[object]) -> Path:
    """Two villages near Dramaga, in UTM zone 48S metres (as BIG's files often are)."""
    frame = geopandas.GeoDataFrame(
        columns or {"NAMOBJ": ["Babakan", "Ciherang"], "KODE": ["3201", "3202"]},
        geometry=[box(106.70, -6.60, 106.75, -6.55), box(106.75, -6.60, 106.80, -6.55)],
        crs=4326,
    ).to_crs(32748)
    frame.to_file(path)
    return path


def test_names_are_found_and_areas_reprojected_to_lon_lat(tmp_path: Path) -> None:
    frame = read_boundaries(two_villages_utm(tmp_path / "desa.gpkg"))
    assert frame.crs.to_epsg() == 4326
    assert list(frame[NAME_COLUMN]) == ["Babakan", "Ciherang"]
    west, south, east, north = frame.total_bounds
    assert (west, south, east, north) == pytest.approx((106.70, -6.60, 106.80, -6.55), abs=1e-6)


def test_a_name_field_given_is_used(tmp_path: Path) -> None:
    frame = read_boundaries(two_villages_utm(tmp_path / "desa.gpkg"), name_field="KODE")
    assert list(frame[NAME_COLUMN]) == ["3201", "3202"]


def test_without_a_usual_name_column_the_first_text_column_names_the_areas(
    tmp_path: Path,
) -> None:
    path = two_villages_utm(tmp_path / "desa.geojson", area_ha=[12.5, 20.0], label=["A", None])
    assert list(read_boundaries(path)[NAME_COLUMN]) == ["A", ""]


def test_points_and_lines_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "mixed.geojson"
    geopandas.GeoDataFrame(
        {"desa": ["Babakan", "a well", "a river"]},
        geometry=[
            box(106.70, -6.60, 106.75, -6.55),
            Point(106.7, -6.6),
            LineString([(0, 0), (1, 1)]),
        ],
        crs=4326,
    ).to_file(path)
    assert list(read_boundaries(path)[NAME_COLUMN]) == ["Babakan"]


def test_a_file_without_crs_or_polygons_is_refused_with_every_problem(tmp_path: Path) -> None:
    # A shapefile without its .prj has no CRS (a GeoJSON is lon/lat by definition).
    shapefile = tmp_path / "wells.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # geopandas warns that the file will have no CRS
        wells = geopandas.GeoDataFrame({"desa": ["a well"]}, geometry=[Point(106.7, -6.6)])
        wells.to_file(shapefile)
    with pytest.raises(InputError) as caught:
        read_boundaries(shapefile, name_field="NAMOBJ", display="batas/wells.shp")
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 3
    assert all(m.startswith("batas/wells.shp") for m in messages)
    assert any("coordinate reference system" in m for m in messages)
    assert any("no column 'NAMOBJ'" in m for m in messages)
    assert any("holds no polygon" in m and m.endswith("found Point") for m in messages)


@pytest.mark.parametrize(
    ("name", "content"),
    [("missing.gpkg", None), ("broken.geojson", b"{not json"), ("empty.shp", b"")],
)
def test_an_unreadable_file_is_an_input_error_naming_it(
    tmp_path: Path, name: str, content: bytes | None
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_boundaries(path)
    [problem] = caught.value.problems
    assert problem.file == name
    assert "cannot be read as a GIS file" in problem.message


@pytest.mark.skipif(not BOGOR_DESA.is_file(), reason="../shared/geodata is absent")
def test_the_villages_of_kabupaten_bogor_make_a_background() -> None:
    frame = read_boundaries(BOGOR_DESA)
    assert len(frame) == 435
    assert "Karadenan" in set(frame[NAME_COLUMN])
    scenario = make_tiny_scenario()  # Dramaga, in Kabupaten Bogor
    plan = Plan("tiny", (), (), compute_kpis(scenario, (), ()))
    roads = map_roads(scenario, plan, boundaries=frame)
    assert len(roads.boundaries) == 435
    shown = map_content(scenario, plan, roads=roads).background["boundaries"]
    # Only the villages around the drop points, each simplified to a few dozen vertices.
    assert 0 < len(shown) < 100
    assert "Babakan" in {area["name"] for area in shown}
    vertices = sum(len(ring) for area in roads.boundaries for ring in area.rings)
    original = sum(
        len(ring.coords)
        for geometry in frame.geometry
        for part in getattr(geometry, "geoms", [geometry])
        for ring in (part.exterior, *part.interiors)
    )
    assert vertices < 0.8 * original
