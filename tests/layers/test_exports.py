"""Exports: public fields only, every format, and export → import round trips."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import delete

from layers import exports
from layers.imports import run_import
from layers.parcels import Parcel
from layers.registry import default_registry
from tests.layers.importfiles import parcels, write_shapefile

PARCELS = default_registry()["parcels"]
TABLE = Parcel.__table__


def stored(engine) -> dict[int, tuple]:
    """Parcels by number: public attributes and geometry (EPSG:9210)."""
    with engine.connect() as conn:
        frame = exports.public_frame(conn, PARCELS)
    return {
        row.parcel_number: (
            row.unit_code,
            row.map_sheet,
            row.land_use_code,
            float(row.legal_area_m2),
            row.certificate_status,
            row.address,
            row.geometry,
        )
        for row in frame.itertuples()
    }


@pytest.fixture
def imported(db, tmp_path):
    run_import(db, write_shapefile(parcels(), tmp_path / "source.shp", "tcvn3"), "parcels")
    return stored(db)


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "geojson", "csv"])
def test_export_then_import_round_trips(db, tmp_path, imported, fmt):
    with db.connect() as conn:
        frame = exports.public_frame(conn, PARCELS)
    written = exports.write(frame, PARCELS, tmp_path / "out" / "thua", fmt)
    with db.begin() as conn:
        conn.execute(delete(TABLE))
    crs = "EPSG:9210" if fmt == "csv" else None  # a CSV carries no CRS
    report = run_import(
        db, written[0] if fmt != "shp" else tmp_path / "out" / "thua.shp", "parcels", crs=crs
    )
    assert report.written and report.inserted == 6, report.as_dict()
    again = stored(db)
    assert again.keys() == imported.keys()
    for number, before in imported.items():
        after = again[number]
        assert after[:6] == before[:6]
        assert shapely.hausdorff_distance(after[6], before[6]) < 0.001


def test_wgs84_geojson_export_round_trips_within_a_millimetre(db, tmp_path, imported):
    with db.connect() as conn:
        frame = exports.public_frame(conn, PARCELS, crs="EPSG:4326")
    (path,) = exports.write(frame, PARCELS, tmp_path / "thua.geojson", "geojson")
    with db.begin() as conn:
        conn.execute(delete(TABLE))
    run_import(db, path, "parcels")
    for number, after in stored(db).items():
        assert shapely.hausdorff_distance(after[6], imported[number][6]) < 0.001


def test_shapefile_names_are_short_documented_and_utf8(db, tmp_path, imported):
    with db.connect() as conn:
        frame = exports.public_frame(conn, PARCELS)
    written = exports.write(frame, PARCELS, tmp_path / "thua.shp", "shp")
    names = {p.suffix for p in written}
    assert {".shp", ".dbf", ".shx", ".prj", ".cpg", ".csv"} <= names
    assert (tmp_path / "thua.cpg").read_text().strip().upper() in ("UTF-8", "UTF8")
    with (tmp_path / "thua.fields.csv").open(encoding="utf-8") as f:
        pairs = {row["column"]: row["shapefile_field"] for row in csv.DictReader(f)}
    assert pairs["unit_code"] == "MaXa" and pairs["legal_area_m2"] == "DienTich"
    assert all(len(v) <= 10 for v in pairs.values())
    assert len({v.lower() for v in pairs.values()}) == len(pairs)
    read = gpd.read_file(tmp_path / "thua.shp")
    assert set(read.columns) - {"geometry"} == set(pairs.values())
    assert "Đề Thám" in set(read[pairs["address"]])


def test_exports_hold_public_fields_only(db, tmp_path, imported):
    with db.begin() as conn:
        conn.execute(TABLE.update().values(certificate_serial="CS 123456", use_term="lâu dài"))
    with db.connect() as conn:
        frame = exports.public_frame(conn, PARCELS)
    assert set(frame.columns) == {"fid", "geometry", *PARCELS.public_properties}
    for fmt in exports.FORMATS:
        for path in exports.write(frame, PARCELS, tmp_path / fmt / "thua", fmt):
            assert b"CS 123456" not in path.read_bytes()


def test_dxf_export_keeps_land_use_as_cad_layer(db, tmp_path, imported):
    with db.connect() as conn:
        frame = exports.public_frame(conn, PARCELS)
    (path,) = exports.write(frame, PARCELS, tmp_path / "thua.dxf", "dxf")
    read = gpd.read_file(path)
    assert set(read["Layer"]) == {"ODT"} and len(read) == 6


def test_bbox_limits_the_export(db, imported):
    with db.connect() as conn:
        everything = exports.public_frame(conn, PARCELS, crs="EPSG:4326")
        first = everything.geometry[0].centroid
        some = exports.public_frame(
            conn, PARCELS, bbox=(first.x - 1e-5, first.y - 1e-5, first.x + 1e-5, first.y + 1e-5)
        )
    assert 1 <= len(some) < len(everything)


def test_unknown_format_and_bad_bbox_are_errors():
    with pytest.raises(exports.ExportError, match="unknown format"):
        exports.write(gpd.GeoDataFrame(geometry=[]), PARCELS, "x", "dwg")
    with pytest.raises(exports.ExportError, match="four numbers"):
        exports.bbox_from_text("1,2,3")


def test_the_documented_shapefile_names_are_the_ones_written():
    doc = (Path(__file__).parents[2] / "docs" / "imports.md").read_text()
    table = doc.split("| column | Shapefile field |", 1)[1].split("\n\n", 1)[0]
    documented = dict(
        (cell.strip() for cell in line.strip("|").split("|"))
        for line in table.strip().splitlines()[1:]
    )
    assert documented == exports.shapefile_names(PARCELS)
