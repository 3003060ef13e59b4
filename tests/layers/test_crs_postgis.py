"""PostGIS knows EPSG:9210 (added by the migration) and agrees with pyproj."""

import pytest
from sqlalchemy import text

from gis.crs import (
    REFERENCE_POINT_VN2000,
    REFERENCE_POINT_WGS84,
    VN2000_CAO_BANG,
    WGS84,
    transformer,
)


def test_postgis_reference_point_to_vn2000(conn):
    x, y = conn.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform("
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 9210) AS p) q"
        ),
        {"lon": REFERENCE_POINT_WGS84[0], "lat": REFERENCE_POINT_WGS84[1]},
    ).one()
    assert (x, y) == pytest.approx(REFERENCE_POINT_VN2000, abs=0.01)
    assert (x, y) == pytest.approx(
        transformer(WGS84, VN2000_CAO_BANG).transform(*REFERENCE_POINT_WGS84), abs=0.01
    )


def test_postgis_vn2000_to_wgs84_agrees_with_pyproj(conn):
    lon, lat = conn.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform("
            "ST_SetSRID(ST_MakePoint(:x, :y), 9210), 4326) AS p) q"
        ),
        {"x": REFERENCE_POINT_VN2000[0], "y": REFERENCE_POINT_VN2000[1]},
    ).one()
    # Back in VN-2000 through pyproj, the difference is measured in metres.
    east, north = transformer(WGS84, VN2000_CAO_BANG).transform(lon, lat)
    assert (east, north) == pytest.approx(REFERENCE_POINT_VN2000, abs=0.01)


def test_stored_wgs84_copy_follows_the_vn2000_geometry(conn):
    lon, lat = conn.execute(
        text(
            "SELECT ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom_wgs84, 1)), 1)), "
            "ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom_wgs84, 1)), 1)) "
            "FROM parcels ORDER BY id LIMIT 1"
        )
    ).one()
    x, y = conn.execute(
        text(
            "SELECT ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)), "
            "ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)) "
            "FROM parcels ORDER BY id LIMIT 1"
        )
    ).one()
    assert transformer(VN2000_CAO_BANG, WGS84).transform(x, y) == pytest.approx(
        (lon, lat), abs=1e-8
    )
