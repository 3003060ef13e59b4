"""Importing the layers beside parcels: planning projects and their zones, auction lots,
administrative units. Files name related rows by code (a zone's project, a lot's
development area, the unit an old ward was merged into) and use Vietnamese words for the
schema's values; the import turns both into what the database holds.

Runs on the import database; each test removes what it imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, create_engine, delete, select

from layers import editing, exports, workflows
from layers.admin_units import AdminUnit
from layers.auction_lots import AuctionLot
from layers.development_areas import DevelopmentArea
from layers.imports import ImportStopped, run_import
from layers.plan_zones import PlanZone
from layers.planning_projects import PlanningProject
from layers.registry import default_registry
from tests.layers.importfiles import ORIGIN

PROJECTS, ZONES = PlanningProject.__table__, PlanZone.__table__
LOTS, AREAS, UNITS = AuctionLot.__table__, DevelopmentArea.__table__, AdminUnit.__table__
X, Y = ORIGIN


@pytest.fixture
def engine(import_database_url) -> Iterator[Engine]:
    engine = create_engine(import_database_url)
    yield engine
    with engine.begin() as conn:  # leave the import database as the other tests expect
        for table in (LOTS, ZONES, PROJECTS, AREAS):
            conn.execute(delete(table))
        conn.execute(delete(UNITS).where(UNITS.c.code != "01273"))
    engine.dispose()


def write(frame: gpd.GeoDataFrame, path: Path) -> Path:
    frame.to_file(path, driver="GPKG" if path.suffix == ".gpkg" else "GeoJSON")
    return path


def projects() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "MaDoAn": ["QHPK-HG", "QHCT-DT"],
            "TenDoAn": ["Quy hoạch phân khu Hợp Giang", "Quy hoạch chi tiết khu Đề Thám"],
            "CapQH": ["Quy hoạch phân khu", "QHCT"],
            "TyLe": [2000, 500],
            "TrangThai": ["Đã phê duyệt", "Đang lập"],
            "SoQD": ["1234/QĐ-UBND", None],
            "NgayQD": ["20/05/2024", None],
            "CoQuanPheDuyet": ["UBND tỉnh Cao Bằng", None],
        },
        geometry=[shapely.box(X, Y, X + 600, Y + 400), shapely.box(X + 700, Y, X + 900, Y + 200)],
        crs="EPSG:9210",
    )


def zones(project: str = "QHPK-HG") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "MaDoAn": [project, project],
            "KyHieuO": ["OM-01", "CX-02"],
            "ChucNang": ["Đất ở mới", "Cây xanh công cộng"],
            "LoaiDat": ["ODT", "DKV"],
            "MatDoXD": [60.0, 5.0],
            "HSSDD": [3.0, None],
            "TangCao": [5, 1],
        },
        geometry=[shapely.box(X, Y, X + 300, Y + 400), shapely.box(X + 300, Y, X + 600, Y + 400)],
        crs="EPSG:9210",
    )


def test_projects_import_with_vietnamese_level_and_status_words(engine, tmp_path):
    report = run_import(engine, write(projects(), tmp_path / "doan.gpkg"), "planning_projects")
    assert report.written and report.inserted == 2, report.as_dict()["findings"]
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                PROJECTS.c.code, PROJECTS.c.level, PROJECTS.c.status, PROJECTS.c.published
            ).order_by(PROJECTS.c.code)
        ).all()
    assert [tuple(r) for r in stored] == [
        ("QHCT-DT", "detailed", "preparation", False),
        ("QHPK-HG", "zoning", "approved", False),  # publication is decided in landplan
    ]
    again = run_import(engine, tmp_path / "doan.gpkg", "planning_projects")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)


def test_zones_name_their_project_by_code(engine, tmp_path):
    run_import(engine, write(projects(), tmp_path / "doan.gpkg"), "planning_projects")
    report = run_import(engine, write(zones(), tmp_path / "o.geojson"), "plan_zones")
    assert report.written and report.inserted == 2, report.as_dict()["findings"]
    with engine.connect() as conn:
        project_id = conn.execute(
            select(PROJECTS.c.id).where(PROJECTS.c.code == "QHPK-HG")
        ).scalar_one()
        stored = conn.execute(
            select(
                ZONES.c.project_id, ZONES.c.zone_code, ZONES.c.function_name, ZONES.c.max_floors
            ).order_by(ZONES.c.zone_code)
        ).all()
    assert [tuple(r) for r in stored] == [
        (project_id, "CX-02", "Cây xanh công cộng", 1),
        (project_id, "OM-01", "Đất ở mới", 5),
    ]
    changed = zones()
    changed["TangCao"] = [7, 1]
    again = run_import(engine, write(changed, tmp_path / "o2.geojson"), "plan_zones")
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)


def test_a_zone_outside_its_project_is_found_before_writing(engine, tmp_path):
    run_import(engine, write(projects(), tmp_path / "doan.gpkg"), "planning_projects")
    frame = zones()
    frame.loc[1, "geometry"] = shapely.box(X + 300, Y, X + 650, Y + 400)  # 50 m past the edge
    report = run_import(engine, write(frame, tmp_path / "o.geojson"), "plan_zones")
    assert not report.written
    [finding] = report.errors
    assert finding.rule == "OUTSIDE_PROJECT"
    assert finding.key == {"project_code": "QHPK-HG", "zone_code": "CX-02"}
    assert "20000.00 m² outside" in finding.message
    assert finding.location.x > X + 600  # the point is in the part outside
    with engine.connect() as conn:
        assert conn.execute(select(ZONES.c.id)).all() == []


def test_a_zone_of_an_unknown_project_is_refused(engine, tmp_path):
    report = run_import(engine, write(zones("QH-KHONG-CO"), tmp_path / "o.geojson"), "plan_zones")
    assert not report.written
    assert {f.rule for f in report.errors} == {"REF_UNKNOWN"}
    assert "'QH-KHONG-CO' is not a code of planning_projects" in report.errors[0].message


def test_auction_lots_name_their_project_and_area(engine, tmp_path):
    run_import(engine, write(projects(), tmp_path / "doan.gpkg"), "planning_projects")
    area = gpd.GeoDataFrame(
        {"MaKhu": ["KPT-01"], "TenKhu": ["Khu đô thị mới Đề Thám"], "TrangThai": ["Đã công bố"]},
        geometry=[shapely.box(X, Y, X + 600, Y + 400)],
        crs="EPSG:9210",
    )
    assert run_import(engine, write(area, tmp_path / "khu.geojson"), "development_areas").written
    lots = gpd.GeoDataFrame(
        {
            "MaLo": ["LK-01", "LK-02"],
            "MaDoAn": ["QHPK-HG", None],
            "MaKhu": ["KPT-01", "KPT-01"],
            "LoaiDat": ["ODT", "ODT"],
            "DienTich": [1000.0, 900.0],  # the second is 1000 m² drawn: a warning
            "GiaKhoiDiem": [5_000_000_000, 4_500_000_000],
            "TrangThai": ["Đã thông báo", "Dự kiến"],
            "NgayDauGia": ["15/12/2026", None],
        },
        geometry=[shapely.box(X, Y, X + 40, Y + 25), shapely.box(X + 40, Y, X + 80, Y + 25)],
        crs="EPSG:9210",
    )
    report = run_import(engine, write(lots, tmp_path / "lo.geojson"), "auction_lots")
    assert report.written and report.inserted == 2
    assert [f.rule for f in report.findings] == ["AREA_MISMATCH"]
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                LOTS.c.lot_code,
                PROJECTS.c.code,
                AREAS.c.code,
                LOTS.c.status,
                LOTS.c.starting_price_vnd,
            )
            .outerjoin(PROJECTS, PROJECTS.c.id == LOTS.c.project_id)
            .join(AREAS, AREAS.c.id == LOTS.c.development_area_id)
            .order_by(LOTS.c.lot_code)
        ).all()
        assert conn.execute(select(AREAS.c.status)).scalar_one() == "published"
    assert [tuple(r) for r in stored] == [
        ("LK-01", "QHPK-HG", "KPT-01", "announced", 5_000_000_000),
        ("LK-02", None, "KPT-01", "planned", 4_500_000_000),
    ]


def units() -> gpd.GeoDataFrame:
    """Two communes merged into a new ward on 1 July 2025: the ward and its predecessors."""
    west, east = (
        shapely.box(X - 900, Y - 900, X - 500, Y - 500),
        shapely.box(X - 500, Y - 900, X - 100, Y - 500),
    )
    return gpd.GeoDataFrame(
        {
            "MaXa": ["01290", "01291", "01292"],
            "TenXa": ["Phường Nùng Trí Cao", "Xã Vĩnh Quang", "Xã Hưng Đạo"],
            "LoaiDVHC": ["Phường", "Xã", "xã"],
            "HieuLucTu": ["2025-07-01", "2000-01-01", "2000-01-01"],
            "HieuLucDen": [None, "2025-07-01", "2025-07-01"],
            "SapNhapVao": [None, "01290", "01290"],
        },
        geometry=[shapely.union(west, east), west, east],
        crs="EPSG:9210",
    )


def test_admin_units_with_vietnamese_kinds_and_mergers_by_code(engine, tmp_path):
    path = write(units(), tmp_path / "dvhc.gpkg")
    report = run_import(engine, path, "admin_units")
    assert report.written and report.inserted == 3, report.as_dict()["findings"]
    successor = UNITS.alias("successor")
    with engine.connect() as conn:
        stored = conn.execute(
            select(UNITS.c.code, UNITS.c.kind, UNITS.c.valid_to, successor.c.code)
            .outerjoin(successor, successor.c.id == UNITS.c.merged_into_id)
            .where(UNITS.c.code != "01273")
            .order_by(UNITS.c.code)
        ).all()
    assert [(r[0], r[1], str(r[2]), r[3]) for r in stored] == [
        ("01290", "ward", "None", None),
        ("01291", "commune", "2025-07-01", "01290"),
        ("01292", "commune", "2025-07-01", "01290"),
    ]
    again = run_import(engine, path, "admin_units")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    remerged = units()
    remerged.loc[2, "SapNhapVao"] = "01273"  # a correction: Hưng Đạo went to another ward
    changed = run_import(engine, write(remerged, tmp_path / "dvhc2.gpkg"), "admin_units")
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 2)


def test_a_merger_into_an_unknown_unit_is_refused(engine, tmp_path):
    frame = units()
    frame.loc[1, "SapNhapVao"] = "09999"
    report = run_import(engine, write(frame, tmp_path / "dvhc.gpkg"), "admin_units")
    assert [(f.rule, f.key["code"]) for f in report.errors] == [("REF_UNKNOWN", "01291")]


def test_a_mapping_file_adds_words_for_values(engine, tmp_path):
    frame = units()
    frame["LoaiDVHC"] = ["P", "X", "X"]
    path = write(frame, tmp_path / "dvhc.gpkg")
    refused = run_import(engine, path, "admin_units", dry_run=True)
    assert [f.rule for f in refused.errors] == ["CONSTRAINT"]  # 'P' is not a kind
    mapping = tmp_path / "words.yaml"
    mapping.write_text("values:\n  kind:\n    P: ward\n    X: commune\n")
    assert run_import(engine, path, "admin_units", mapping=mapping).inserted == 3
    mapping.write_text("values:\n  kind: ward\n")
    with pytest.raises(ImportStopped, match="'file word: value'"):
        run_import(engine, path, "admin_units", mapping=mapping)


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_every_layer_exports_and_imports_back_unchanged(engine, tmp_path, fmt):
    run_import(engine, write(projects(), tmp_path / "doan.gpkg"), "planning_projects")
    with engine.begin() as conn:  # zones and lots of a public plan are public
        conn.execute(editing.context("test", "cli", "published for the test"))
        workflows.publication(conn, "QHPK-HG", True)
    run_import(engine, write(zones(), tmp_path / "o.geojson"), "plan_zones")
    area = gpd.GeoDataFrame(
        {"MaKhu": ["KPT-01"], "TenKhu": ["Khu Đề Thám"], "TrangThai": ["published"]},
        geometry=[shapely.box(X, Y, X + 600, Y + 400)],
        crs="EPSG:9210",
    )
    run_import(engine, write(area, tmp_path / "khu.geojson"), "development_areas")
    lot = gpd.GeoDataFrame(
        {
            "MaLo": ["LK-01"],
            "MaDoAn": ["QHPK-HG"],
            "MaKhu": ["KPT-01"],
            "LoaiDat": ["ODT"],
            "DienTich": [1000.0],
            "GiaKhoiDiem": [5_000_000_000],
            "TrangThai": ["planned"],
        },
        geometry=[shapely.box(X, Y, X + 40, Y + 25)],
        crs="EPSG:9210",
    )
    run_import(engine, write(lot, tmp_path / "lo.geojson"), "auction_lots")
    run_import(engine, write(units(), tmp_path / "dvhc.gpkg"), "admin_units")
    registry = default_registry()
    expected = {"planning_projects": 1, "plan_zones": 2, "development_areas": 1}
    expected |= {"auction_lots": 1, "admin_units": 4}  # with the import database's own
    for layer, count in expected.items():
        with engine.connect() as conn:
            frame = exports.public_frame(conn, registry[layer])
        [path] = [
            p
            for p in exports.write(frame, registry[layer], tmp_path / fmt / layer, fmt)
            if p.suffix == f".{fmt}"
        ]
        report = run_import(engine, path, layer)
        assert report.refused is False, (layer, report.as_dict()["findings"])
        assert (report.inserted, report.updated, report.unchanged) == (0, 0, count), layer


def test_an_export_names_only_public_rows_by_code(engine, tmp_path):
    run_import(engine, write(projects(), tmp_path / "doan.gpkg"), "planning_projects")
    lots = gpd.GeoDataFrame(
        {
            "MaLo": ["LK-01"],
            "MaDoAn": ["QHCT-DT"],  # a plan in preparation: not public
            "LoaiDat": ["ODT"],
            "DienTich": [1000.0],
            "GiaKhoiDiem": [5_000_000_000],
            "TrangThai": ["planned"],
        },
        geometry=[shapely.box(X + 700, Y, X + 740, Y + 25)],
        crs="EPSG:9210",
    )
    assert run_import(engine, write(lots, tmp_path / "lo.geojson"), "auction_lots").written
    with engine.connect() as conn:
        frame = exports.public_frame(conn, default_registry()["auction_lots"])
    assert frame["project_id"].notna().all()
    assert frame["project_code"].isna().all()


def test_an_account_limited_to_units_cannot_take_over_another_unit_s_plan(engine, tmp_path):
    """A plan of 01273 moved by a file into 01279 is refused to an account of 01279:
    the feature it would replace lies outside its units. A new plan there is its own."""
    east = shapely.box(X + 5000, Y, X + 6000, Y + 1000)
    with engine.begin() as conn:
        conn.execute(
            UNITS.insert().values(
                code="01279",
                name="Nùng Trí Cao",
                kind="ward",
                valid_from="2025-07-01",
                geom=f"SRID=9210;{shapely.MultiPolygon([east]).wkt}",
            )
        )
    run_import(engine, write(projects(), tmp_path / "doan.gpkg"), "planning_projects")
    moved = projects().iloc[[1]].copy()
    moved.geometry = [shapely.box(X + 5200, Y, X + 5400, Y + 200)]
    report = run_import(
        engine, write(moved, tmp_path / "moved.gpkg"), "planning_projects", units=("01279",)
    )
    assert report.refused and [f.rule for f in report.findings] == ["OUTSIDE_UNITS"]
    moved["MaDoAn"] = ["QH-MOI"]
    report = run_import(
        engine, write(moved, tmp_path / "new.gpkg"), "planning_projects", units=("01279",)
    )
    assert report.written and not report.findings
