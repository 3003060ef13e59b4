"""Importing survey files into parcels: decoding, mapping, validation, one transaction.

Runs against a database of its own (migrated, one administrative unit), so imports can
commit; each test starts with no parcels.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine, create_engine, delete, func, select, text

from gis.crs import VN2000_CAO_BANG, WGS84, transformer
from gis.sources import SourceError
from layers.development_areas import DevelopmentArea
from layers.imports import Findings, ImportStopped, run_import
from layers.parcels import Parcel
from tests.layers.importfiles import (
    ADDRESSES,
    ORIGIN,
    legacy,
    lot,
    parcels,
    write_drawing,
    write_shapefile,
)

PARCELS = Parcel.__table__


def snapshot(engine: Engine) -> list[tuple]:
    """Every stored parcel with its geometry, to compare before and after."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                PARCELS.c.id,
                PARCELS.c.parcel_number,
                PARCELS.c.address,
                func.ST_AsEWKB(PARCELS.c.geom),
            ).order_by(PARCELS.c.id)
        ).all()
    return [(r[0], r[1], r[2], bytes(r[3])) for r in rows]


def rules(report) -> set[str]:
    return {f.rule for f in report.findings}


@pytest.mark.parametrize("encoding", ["utf-8", "cp1258", "tcvn3", "vni"])
def test_a_shapefile_in_each_encoding_imports_as_unicode(db, tmp_path, encoding):
    path = write_shapefile(parcels(), tmp_path / "thua.shp", encoding)
    report = run_import(db, path, "parcels")
    assert report.written and report.inserted == 6 and not report.errors
    if encoding != "utf-8":
        assert report.encoding == f"{encoding} (detected)"
    with db.connect() as conn:
        stored = conn.execute(
            select(PARCELS.c.parcel_number, PARCELS.c.address, PARCELS.c.unit_code).order_by(
                PARCELS.c.parcel_number
            )
        ).all()
    assert [r.address for r in stored] == ADDRESSES
    assert {r.unit_code for r in stored} == {"01273"}


def test_the_encoding_can_be_given(db, tmp_path):
    path = write_shapefile(parcels(), tmp_path / "thua.shp", "vni")
    report = run_import(db, path, "parcels", encoding="vni")
    assert report.encoding == "vni"
    with db.connect() as conn:
        assert (
            conn.execute(select(PARCELS.c.address).where(PARCELS.c.parcel_number == 1)).scalar_one()
            == "Đề Thám"
        )


def test_constants_are_not_decoded_as_the_files_legacy_text(db, tmp_path):
    path = write_shapefile(parcels(), tmp_path / "thua.shp", "tcvn3")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("constants:\n  source: Đo đạc địa chính 2024\n", encoding="utf-8")
    assert run_import(db, path, "parcels", mapping=mapping).written
    with db.connect() as conn:
        sources = conn.execute(select(PARCELS.c.source).distinct()).scalars().all()
    assert sources == ["Đo đạc địa chính 2024"]


def test_a_given_encoding_overrides_a_wrong_cpg(db, tmp_path):
    path = write_shapefile(parcels(), tmp_path / "thua.shp", "tcvn3")
    path.with_suffix(".cpg").write_text("UTF-8")  # but the bytes are TCVN3
    report = run_import(db, path, "parcels", encoding="tcvn3")
    assert report.encoding == "tcvn3"
    with db.connect() as conn:
        stored = conn.execute(select(PARCELS.c.address).order_by(PARCELS.c.parcel_number))
        assert stored.scalars().all() == [ADDRESSES[i % len(ADDRESSES)] for i in range(6)]


def test_an_unknown_encoding_stops_the_import(db, tmp_path):
    path = write_shapefile(parcels(), tmp_path / "thua.shp", "vni")
    with pytest.raises(ImportStopped, match=r"unknown encoding 'vnn'.*tcvn3"):
        run_import(db, path, "parcels", encoding="vnn")


def test_truncated_shapefile_field_names_are_mapped(db, tmp_path):
    path = write_shapefile(parcels(), tmp_path / "thua.shp")
    report = run_import(db, path, "parcels", dry_run=True)
    assert report.mapping["map_sheet"] == "SoHieuToBa"  # SoHieuToBanDo cut to 10
    assert report.mapping["land_use_code"] == "KyHieuMucD"


def test_reimporting_the_same_file_changes_nothing(db, tmp_path):
    path = write_shapefile(parcels(), tmp_path / "thua.shp", "tcvn3")
    run_import(db, path, "parcels")
    before = snapshot(db)
    again = run_import(db, path, "parcels")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    assert snapshot(db) == before


def test_a_changed_file_updates_by_natural_key(db, tmp_path):
    run_import(db, write_shapefile(parcels(), tmp_path / "a.shp"), "parcels")
    ids = {r[1]: r[0] for r in snapshot(db)}
    changed = parcels()
    changed.loc[0, "DiaChi"] = "Sông Hiến"
    report = run_import(db, write_shapefile(changed, tmp_path / "b.shp"), "parcels")
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 5)
    after = {r[1]: r for r in snapshot(db)}
    assert after[1][2] == "Sông Hiến" and after[1][0] == ids[1]  # same row, updated


def test_progress_is_told_of_each_batch_and_phase(db, tmp_path):
    calls = []
    path = write_shapefile(parcels(7), tmp_path / "t.shp")
    run_import(db, path, "parcels", batch_size=3, progress=lambda *call: calls.append(call))
    assert calls == [
        ("read", 3, 7),
        ("read", 6, 7),
        ("read", 7, 7),
        ("check", 7, None),
        ("write", 7, None),
    ]


def test_a_parcel_stored_clockwise_is_unchanged_by_the_same_one_anticlockwise(db, tmp_path):
    frame = parcels(1)
    clockwise = shapely.orient_polygons(lot(0), exterior_cw=True)
    with db.begin() as conn:  # as another tool stored it
        conn.execute(
            PARCELS.insert().values(
                unit_code="01273",
                map_sheet=90,
                parcel_number=1,
                legal_area_m2=500,
                land_use_code="ODT",
                address=frame["DiaChi"][0],
                geom=func.ST_Multi(func.ST_GeomFromText(clockwise.wkt, 9210)),
            )
        )
    before = snapshot(db)
    path = tmp_path / "t.geojson"
    frame.to_file(path, driver="GeoJSON")  # anticlockwise, as GeoJSON has it
    report = run_import(db, path, "parcels")
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 1)
    assert snapshot(db) == before


def test_dry_run_writes_nothing(db, tmp_path):
    report = run_import(db, write_shapefile(parcels(), tmp_path / "t.shp"), "parcels", dry_run=True)
    assert report.inserted == 6 and not report.written
    assert snapshot(db) == []


def test_any_error_leaves_the_database_exactly_as_it_was(db, tmp_path):
    run_import(db, write_shapefile(parcels(), tmp_path / "a.shp"), "parcels")
    before = snapshot(db)
    bad = parcels(8)
    bad.loc[7, "KyHieuMucDichSuDung"] = "XYZ"  # one bad row among new and changed ones
    bad.loc[0, "DiaChi"] = "changed"
    report = run_import(db, write_shapefile(bad, tmp_path / "b.shp"), "parcels")
    assert not report.written and rules(report) == {"LANDUSE_UNKNOWN"}
    assert report.errors[0].fid == 7 and report.errors[0].key["parcel_number"] == 8
    assert snapshot(db) == before


def spatial_indexes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return (
            conn.execute(
                text(
                    "SELECT indexdef || ' ' || CAST(indexname AS regclass)::oid "
                    "FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'parcels' "
                    "AND indexdef LIKE '%gist%' "
                    "ORDER BY 1"
                )
            )
            .scalars()
            .all()
        )


def test_a_bulk_load_rebuilds_the_spatial_indexes_it_drops(db, tmp_path):
    # Into an empty table the import drops the GiST indexes and builds them after
    # writing (new objects, new oids); an import refused while writing restores them.
    before = spatial_indexes(db)
    assert len(before) == 2
    refused = parcels(3)
    refused["TrangThaiGCN"] = ["issued", "none", "none"]  # issued without a serial
    path = write_shapefile(refused, tmp_path / "refused.shp")
    report = run_import(db, path, "parcels")
    assert [f.rule for f in report.errors] == ["CONSTRAINT"]  # refused inside the upsert
    assert spatial_indexes(db) == before
    assert run_import(db, write_shapefile(parcels(3), tmp_path / "t.shp"), "parcels").written
    after = spatial_indexes(db)
    assert [d.rsplit(" ", 1)[0] for d in after] == [d.rsplit(" ", 1)[0] for d in before]
    assert set(after).isdisjoint(before)  # built again
    with db.connect() as conn:  # and the rebuilt index finds the rows
        conn.execute(text("SET enable_seqscan = off"))
        found = conn.execute(
            select(func.count())
            .select_from(PARCELS)
            .where(PARCELS.c.geom.op("&&")(func.ST_MakeEnvelope(*lot(1).bounds, 9210)))
        ).scalar_one()
    assert found == 3  # lot 1 and the two it touches


def test_invalid_geometry_is_reported_with_its_reason_and_location(db, tmp_path):
    frame = parcels(3)
    x0, y0 = ORIGIN
    bowtie = shapely.Polygon([(x0, y0), (x0 + 20, y0 + 25), (x0 + 20, y0), (x0, y0 + 25)])
    frame.loc[0, "geometry"] = bowtie
    report = run_import(db, write_shapefile(frame, tmp_path / "t.shp"), "parcels")
    (finding,) = report.findings
    assert finding.rule == "GEOM_INVALID" and "Self-intersection" in finding.message
    assert finding.location.distance(shapely.Point(x0 + 10, y0 + 12.5)) < 0.01
    assert not report.written and snapshot(db) == []
    feature = report.problems_geojson()["features"][0]
    lon, lat = feature["geometry"]["coordinates"]
    assert 106 < lon < 107 and 22 < lat < 23


def test_fix_repairs_invalid_geometry_and_says_so(db, tmp_path):
    frame = parcels(1)
    x0, y0 = ORIGIN
    frame.loc[0, "geometry"] = shapely.Polygon(
        [(x0, y0), (x0 + 20, y0 + 25), (x0 + 20, y0), (x0, y0 + 25)]
    )
    frame.loc[0, "DienTich"] = 250.0
    report = run_import(db, write_shapefile(frame, tmp_path / "t.shp"), "parcels", fix=True)
    assert rules(report) == {"GEOM_FIXED"} and report.written
    with db.connect() as conn:
        assert conn.execute(select(func.ST_IsValid(PARCELS.c.geom))).scalar_one()


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda f: f.__setitem__("SoThuTuThua", [1, 1, 3]), "KEY_DUPLICATE"),
        (lambda f: f.__setitem__("geometry", [lot(0), lot(0, dx=5), lot(2)]), "OVERLAP"),
        (lambda f: f.__setitem__("MaXa", ["01273", "09999", "01273"]), "UNIT_UNKNOWN"),
        (lambda f: f.__setitem__("SoThuTuThua", [1, None, 3]), "FIELD_MISSING"),
        (lambda f: f.__setitem__("SoHieuToBanDo", ["90", "chín", "90"]), "FIELD_TYPE"),
        # values of the right kind the column cannot hold: refused as findings, not by COPY
        (lambda f: f.__setitem__("MaXa", ["01273", "012734", "01273"]), "FIELD_TYPE"),
        (lambda f: f.__setitem__("DienTich", [500.0, float("inf"), 500.0]), "FIELD_TYPE"),
        (lambda f: f.__setitem__("DienTich", [500.0, 1e15, 500.0]), "FIELD_TYPE"),
        (lambda f: f.__setitem__("SoHieuToBanDo", ["90", "9999999999", "90"]), "FIELD_TYPE"),
    ],
)
def test_each_rule_finds_its_problem(db, tmp_path, change, rule):
    frame = parcels(3)
    change(frame)
    report = run_import(db, write_shapefile(frame, tmp_path / "t.shp"), "parcels")
    assert rule in rules(report)
    assert not report.written


def test_overlap_with_a_stored_parcel_is_found(db, tmp_path):
    run_import(db, write_shapefile(parcels(1), tmp_path / "a.shp"), "parcels")
    other = parcels(1)
    other["SoThuTuThua"] = [2]
    other["geometry"] = [lot(0, dx=10)]
    report = run_import(db, write_shapefile(other, tmp_path / "b.shp"), "parcels")
    (finding,) = report.errors
    assert finding.rule == "OVERLAP" and "stored parcels" in finding.message
    assert "250.0 m²" in finding.message  # shifted 10 m: half of the 20 m × 25 m lot


def test_overlaps_across_map_sheets_are_found(db, tmp_path):
    # The check dissolves each sheet; overlaps between sheets must not slip through.
    frame = parcels(2)
    frame["SoHieuToBanDo"] = [90, 91]
    frame["geometry"] = [lot(0), lot(0, dx=15)]
    report = run_import(db, write_shapefile(frame, tmp_path / "a.shp"), "parcels")
    assert [f.rule for f in report.errors] == ["OVERLAP"]
    run_import(db, write_shapefile(frame.iloc[[1]], tmp_path / "b.shp"), "parcels")
    stored = run_import(db, write_shapefile(frame.iloc[[0]], tmp_path / "c.shp"), "parcels")
    assert [f.rule for f in stored.errors] == ["OVERLAP"]
    assert "stored parcels" in stored.errors[0].message and "125.0 m²" in stored.errors[0].message


def test_features_outside_the_service_area_are_refused(db, tmp_path):
    frame = parcels(1)
    frame["geometry"] = [shapely.affinity.translate(lot(0), yoff=-500_000)]
    report = run_import(db, write_shapefile(frame, tmp_path / "t.shp"), "parcels")
    assert "OUTSIDE_AREA" in rules(report)


def test_area_mismatch_is_a_warning_only(db, tmp_path):
    frame = parcels(2)
    frame["DienTich"] = [500.0, 600.0]
    report = run_import(db, write_shapefile(frame, tmp_path / "t.shp"), "parcels")
    assert rules(report) == {"AREA_MISMATCH"} and report.written
    assert report.findings[0].fid == 1


def test_a_gap_enclosed_by_parcels_is_a_warning_located_in_it(db, tmp_path):
    frame = parcels(9).drop(index=4)  # the middle lot of a 3 × 3 block is missing
    report = run_import(db, write_shapefile(frame, tmp_path / "t.shp"), "parcels")
    assert rules(report) == {"GAP"} and report.written
    (gap,) = report.findings
    assert gap.key == {"unit_code": "01273", "map_sheet": 90}
    assert "a gap of 500.00 m²" in gap.message
    assert lot(4).contains(gap.location)


def test_a_sheet_drawn_inside_another_is_no_gap_in_it(db, tmp_path):
    frame = parcels(9)
    frame.loc[4, "SoHieuToBanDo"] = 91  # the middle lot is on a detail sheet of its own
    report = run_import(db, write_shapefile(frame, tmp_path / "t.shp"), "parcels")
    assert rules(report) == set() and report.inserted == 9
    inner = run_import(db, write_shapefile(frame.drop(index=4), tmp_path / "u.shp"), "parcels")
    assert rules(inner) == set()  # the stored parcel of sheet 91 fills sheet 90's hole


def test_a_gap_filled_by_a_stored_parcel_is_no_gap(db, tmp_path):
    frame = parcels(9)
    run_import(db, write_shapefile(frame.iloc[[4]], tmp_path / "middle.shp"), "parcels")
    rest = run_import(db, write_shapefile(frame.drop(index=4), tmp_path / "t.shp"), "parcels")
    assert rules(rest) == set() and rest.inserted == 8


def test_a_thin_gap_and_a_sliver_parcel_are_found(db, tmp_path):
    frame = parcels(9)
    # the middle lot drawn 0.3 m short of its eastern neighbour: a thin gap of 7.5 m²
    frame.loc[4, "geometry"] = shapely.box(
        *(lot(4).bounds[:2]), lot(4).bounds[2] - 0.3, lot(4).bounds[3]
    )
    frame.loc[4, "DienTich"] = 492.5
    sliver = frame.iloc[[0]].copy()
    sliver["SoThuTuThua"] = [10]
    sliver["DienTich"] = [2.5]
    x0, y0, _, _ = lot(0).bounds
    sliver["geometry"] = [shapely.box(x0 - 0.1, y0, x0, y0 + 25)]  # 10 cm wide along lot 1
    frame = gpd.GeoDataFrame(pd.concat([frame, sliver]), crs=frame.crs)
    report = run_import(db, write_shapefile(frame, tmp_path / "t.shp"), "parcels", dry_run=True)
    assert sorted(f.rule for f in report.findings) == ["GAP", "SLIVER"]
    gap = next(f for f in report.findings if f.rule == "GAP")
    assert "a sliver gap of 7.50 m² (mean width 0.30 m)" in gap.message
    (thin,) = (f for f in report.findings if f.rule == "SLIVER")
    assert thin.key["parcel_number"] == 10 and "2.50 m²" in thin.message


def test_a_file_without_crs_stops_and_suggests_the_zone(db, tmp_path):
    path = write_shapefile(parcels(), tmp_path / "t.shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(ImportStopped, match=r"--crs.*EPSG:9210"):
        run_import(db, path, "parcels")
    report = run_import(db, path, "parcels", crs="EPSG:9210")
    assert report.written and report.crs == "EPSG:9210"


def test_wgs84_geojson_lands_where_pyproj_puts_it(db, tmp_path):
    frame = parcels(1).to_crs(WGS84)
    path = tmp_path / "t.geojson"
    frame.to_file(path, driver="GeoJSON")
    run_import(db, path, "parcels")
    with db.connect() as conn:
        stored = shapely.from_wkb(
            bytes(conn.execute(select(func.ST_AsBinary(PARCELS.c.geom))).scalar_one())
        )
    lon, lat = frame.geometry[0].exterior.coords[0]
    expected = transformer(WGS84, VN2000_CAO_BANG).transform(lon, lat)
    nearest = min(
        stored.geoms[0].exterior.coords,
        key=lambda c: shapely.Point(c).distance(shapely.Point(expected)),
    )
    assert shapely.Point(nearest).distance(shapely.Point(expected)) < 0.01


def test_zipped_shapefile_and_geopackage_layers(db, tmp_path):
    shp = write_shapefile(parcels(), tmp_path / "thua.shp", "tcvn3")
    archive = tmp_path / "thua.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in shp.parent.glob("thua.*"):
            z.write(part, f"so_lieu/{part.name}")
    assert run_import(db, archive, "parcels", dry_run=True).inserted == 6
    gpkg = tmp_path / "du_lieu.gpkg"
    parcels().to_file(gpkg, layer="thua_dat", driver="GPKG")
    parcels(2).to_file(gpkg, layer="khac", driver="GPKG")
    with pytest.raises(SourceError, match=r"several layers.*thua_dat"):
        run_import(db, gpkg, "parcels")
    assert run_import(db, gpkg, "parcels", source_layer="thua_dat", dry_run=True).inserted == 6


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _zip_with(tmp_path: Path, name: str, payload: bytes = b"x") -> Path:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(name, payload)
    return archive


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: _file(d / "empty.shp", b""), "empty"),
        (lambda d: _file(d / "z.zip", b""), "empty"),
        (lambda d: _file(d / "c.zip", b"PK\x03\x04garbage"), "not a readable zip"),
        (lambda d: _zip_with(d, "../../etc/evil.shp"), "outside the archive"),
        (lambda d: _zip_with(d, "notes.txt"), "no file of a known format"),
        (lambda d: _file(d / "x.dwg", b"AC1032"), "unknown format"),
        (lambda d: d / "missing.shp", "no such file"),
    ],
)
def test_bad_files_get_a_clear_message(db, tmp_path, make, message):
    with pytest.raises(SourceError, match=message):
        run_import(db, make(tmp_path), "parcels")


def test_a_shapefile_without_its_dbf_is_refused(db, tmp_path):
    path = write_shapefile(parcels(), tmp_path / "t.shp")
    path.with_suffix(".dbf").unlink()
    with pytest.raises(SourceError, match=r"\.dbf"):
        run_import(db, path, "parcels")


def test_a_truncated_shapefile_is_refused_and_nothing_is_written(db, tmp_path):
    path = write_shapefile(parcels(50), tmp_path / "t.shp")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="truncated"):
        run_import(db, path, "parcels")
    assert snapshot(db) == []


def test_wrong_layer_name_lists_the_layers(db, tmp_path):
    gpkg = tmp_path / "d.gpkg"
    parcels().to_file(gpkg, layer="thua_dat", driver="GPKG")
    with pytest.raises(SourceError, match=r"no layer .parcels.*thua_dat"):
        run_import(db, gpkg, "parcels", source_layer="parcels")


def test_a_mapping_file_names_unusual_fields(db, tmp_path):
    frame = parcels().rename(columns={"SoThuTuThua": "STT", "DiaChi": "DC"})
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "fields:\n  parcel_number: STT\n  address: DC\nconstants:\n  source: Đo đạc 2024\n"
    )
    report = run_import(db, write_shapefile(frame, tmp_path / "t.shp"), "parcels", mapping=mapping)
    assert report.written
    with db.connect() as conn:
        assert set(conn.execute(select(PARCELS.c.source)).scalars()) == {"Đo đạc 2024"}
    with pytest.raises(ImportStopped, match="no field for parcel_number"):
        run_import(db, write_shapefile(frame, tmp_path / "u.shp"), "parcels")
    listed = tmp_path / "listed.yaml"
    listed.write_text("fields:\n  - parcel_number\n  - STT\n")
    with pytest.raises(ImportStopped, match="'column: value' lines"):
        run_import(db, write_shapefile(frame, tmp_path / "w.shp"), "parcels", mapping=listed)
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  nonsense: X\n")
    with pytest.raises(ImportStopped, match="nonsense"):
        run_import(db, write_shapefile(frame, tmp_path / "v.shp"), "parcels", mapping=bad)


def test_kml_from_google_earth_imports(db, tmp_path):
    path = tmp_path / "thua.kml"
    parcels().to_crs(WGS84).to_file(path, driver="LIBKML")
    report = run_import(db, path, "parcels")
    assert report.written and report.inserted == 6 and report.crs == "EPSG:4326"


def test_csv_with_a_wkt_column_needs_a_crs_and_imports(db, tmp_path):
    frame = parcels()
    table = frame.drop(columns="geometry").assign(WKT=[g.wkt for g in frame.geometry])
    path = tmp_path / "thua.csv"
    table.to_csv(path, index=False, encoding="utf-8")
    with pytest.raises(ImportStopped, match="EPSG:9210"):
        run_import(db, path, "parcels")
    report = run_import(db, path, "parcels", crs="EPSG:9210")
    assert report.written and report.inserted == 6
    with db.connect() as conn:
        assert (
            conn.execute(select(PARCELS.c.address).where(PARCELS.c.parcel_number == 2)).scalar_one()
            == "Hợp Giang"
        )


def test_a_tcvn3_csv_is_decoded(db, tmp_path):
    frame = parcels()
    table = frame.drop(columns="geometry").assign(WKT=[g.wkt for g in frame.geometry])
    path = tmp_path / "thua.csv"
    text = table.to_csv(index=False)
    body = b"".join(
        legacy(line, "tcvn3") if not line.isascii() else line.encode()
        for line in text.splitlines(keepends=True)
    )
    path.write_bytes(body)
    report = run_import(db, path, "parcels", crs="EPSG:9210")
    assert report.encoding == "tcvn3 (detected)" and report.written


def test_dxf_closed_shapes_become_parcels_and_other_entities_are_left_out(db, tmp_path):
    frame = parcels(3)
    shapes = gpd.GeoDataFrame(
        {"Layer": ["ODT", "ODT", "ODT", "GHI_CHU"]},
        geometry=[
            frame.geometry[0],  # written as a hatch
            shapely.LineString(frame.geometry[1].exterior.coords),  # a closed polyline
            frame.geometry[2],
            shapely.LineString([(ORIGIN[0], ORIGIN[1]), (ORIGIN[0] + 5, ORIGIN[1] + 5)]),
        ],
        crs="EPSG:9210",
    )
    path = tmp_path / "ban_ve.dxf"
    shapes.to_file(path, driver="DXF")
    mapping = tmp_path / "cad.yaml"
    mapping.write_text(
        "fields:\n  land_use_code: Layer\n  parcel_number: EntityHandle\n"
        "constants:\n  unit_code: '01273'\n  map_sheet: 7\n  legal_area_m2: 500\n"
    )
    report = run_import(db, path, "parcels", crs="EPSG:9210", mapping=mapping, dry_run=True)
    assert rules(report) == {"GEOM_SKIPPED"}
    assert report.inserted == 3


def test_dxf_texts_label_the_shapes_they_lie_in(db, tmp_path):
    shapes = [("THUA", lot(i)) for i in range(3)]
    texts = []
    for i in range(3):
        x, y = lot(i).centroid.x, lot(i).centroid.y
        texts.append(("SO_THUA", x, y + 3, str(101 + i).encode()))
        texts.append(("LOAI_DAT", x, y - 3, b"ODT"))
    texts.append(("DIA_CHI", *lot(1).centroid.coords[0], legacy("Hợp Giang", "tcvn3")))
    outside = lot(0).bounds[0] - 50, lot(0).bounds[1]
    texts.append(("SO_THUA", *outside, b"999"))  # in no shape
    path = write_drawing(tmp_path / "ban_do.dxf", shapes, texts)
    mapping = tmp_path / "cad.yaml"
    mapping.write_text(
        "fields:\n  parcel_number: Text_SO_THUA\n  land_use_code: Text_LOAI_DAT\n"
        "  address: Text_DIA_CHI\n"
        "constants:\n  unit_code: '01273'\n  map_sheet: 7\n  legal_area_m2: 500\n"
    )
    calls = []
    report = run_import(
        db, path, "parcels", crs="EPSG:9210", mapping=mapping, progress=lambda *c: calls.append(c)
    )
    assert report.written and report.inserted == 3
    assert calls[0] == ("read", 4, 4)  # three shapes and the text in none: all read
    (skipped,) = report.findings
    assert skipped.rule == "GEOM_SKIPPED" and skipped.message == "text '999' in no closed shape"
    with db.connect() as conn:
        stored = conn.execute(
            select(PARCELS.c.parcel_number, PARCELS.c.land_use_code, PARCELS.c.address).order_by(
                PARCELS.c.parcel_number
            )
        ).all()
    assert [tuple(r) for r in stored] == [
        (101, "ODT", None),
        (102, "ODT", "Hợp Giang"),  # TCVN3 bytes, detected and decoded
        (103, "ODT", None),
    ]


def development_areas() -> gpd.GeoDataFrame:
    x, y = ORIGIN
    return gpd.GeoDataFrame(
        {
            "MaKhu": ["KPT-01", "KPT-02"],
            "TenKhu": ["Khu đô thị mới Đề Thám", "Khu phát triển Sông Bằng"],
            "TrangThai": ["published", "proposed"],
            "SoQD": ["123/QĐ-UBND", None],
            "NgayQD": ["15/03/2024", None],
        },
        geometry=[shapely.box(x, y, x + 300, y + 200), shapely.box(x + 400, y, x + 700, y + 200)],
        crs="EPSG:9210",
    )


def test_development_areas_import_by_code(import_database_url, tmp_path):
    engine = create_engine(import_database_url)
    table = DevelopmentArea.__table__
    with engine.begin() as conn:
        conn.execute(delete(table))
    path = tmp_path / "khu.geojson"
    development_areas().to_file(path, driver="GeoJSON")
    report = run_import(engine, path, "development_areas")
    assert report.written and report.inserted == 2
    with engine.connect() as conn:
        stored = conn.execute(
            select(table.c.code, table.c.name, table.c.decision_date).order_by(table.c.code)
        ).all()
    assert stored[0].name == "Khu đô thị mới Đề Thám"
    assert str(stored[0].decision_date) == "2024-03-15"  # DD/MM/YYYY as Vietnamese files write
    again = run_import(engine, path, "development_areas")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    bad = development_areas()
    bad["TrangThai"] = ["published", "đang làm"]
    bad.to_file(tmp_path / "bad.geojson", driver="GeoJSON")
    refused = run_import(engine, tmp_path / "bad.geojson", "development_areas")
    assert [f.rule for f in refused.errors] == ["CONSTRAINT"]
    assert "development_areas_status_known" in refused.errors[0].message
    with engine.connect() as conn:
        assert conn.execute(select(table.c.status).order_by(table.c.code)).scalars().all() == [
            "published",
            "proposed",
        ]
    engine.dispose()


def test_findings_beyond_those_kept_in_memory_are_reported_whole(db, tmp_path, monkeypatch):
    monkeypatch.setattr(Findings, "kept", 2)  # so that 6 warnings spill to disk
    frame = parcels(6)
    frame["DienTich"] = [600.0 + i for i in range(6)]  # each lot is 500 m²: 6 mismatches
    report = run_import(db, write_shapefile(frame, tmp_path / "t.shp"), "parcels")
    assert report.written and len(report.findings) == 6
    assert sorted(f.fid for f in report.findings) == list(range(6))
    assert report.findings[4].location is not None  # read back from the spill, located
    report.write(tmp_path)
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["counts"]["by_rule"] == {"AREA_MISMATCH": 6}
    assert set(written["seconds"]) == {"read", "check", "write"}
    assert [f["feature"] for f in written["findings"]] == [f.fid for f in report.findings]
    problems = json.loads((tmp_path / "problems.geojson").read_text())
    assert len(problems["features"]) == 6
    lon, lat = problems["features"][5]["geometry"]["coordinates"]
    assert 105 < lon < 107 and 22 < lat < 23  # in WGS 84, around Cao Bằng
    assert len(report.as_dict(limit=3)["findings"]) == 3
