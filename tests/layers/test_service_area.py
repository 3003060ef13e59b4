"""The configured service area: replaced only when every stored feature stays inside."""

from __future__ import annotations

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import func, insert, select

from gis.crs import VN2000_CAO_BANG, WGS84, transform_geometry
from layers.parcels import Parcel
from layers.service_area import ServiceArea, ServiceAreaError, replace

CITY_BOX = box(106.12, 22.56, 106.36, 22.74)


def test_default_is_cao_bang_province(conn):
    name, hectares = conn.execute(
        select(ServiceArea.name, func.ST_Area(ServiceArea.geom) / 10_000)
    ).one()
    assert name.startswith("Cao Bằng province")
    # The default outline is a generous approximation of the province (about 670,000 ha).
    assert 670_000 < hectares < 1_500_000


def test_an_area_leaving_features_outside_is_refused(conn):
    tiny = transform_geometry(box(106.25, 22.66, 106.26, 22.67), WGS84, VN2000_CAO_BANG)
    with pytest.raises(ServiceAreaError, match=r"\d+ in parcels"):
        replace(conn, tiny, "too small")
    assert conn.execute(select(ServiceArea.name)).scalar_one().startswith("Cao Bằng province")


def test_a_smaller_area_then_refuses_new_features_outside_it(conn):
    replace(conn, transform_geometry(CITY_BOX, WGS84, VN2000_CAO_BANG), "Cao Bằng city")
    assert conn.execute(select(ServiceArea.name)).scalar_one() == "Cao Bằng city"
    outside_city = transform_geometry(box(106.5, 22.8, 106.5002, 22.8002), WGS84, VN2000_CAO_BANG)
    with pytest.raises(Exception, match="outside the service area") as info, conn.begin_nested():
        conn.execute(
            insert(Parcel),
            dict(
                unit_code="01273",
                map_sheet=998,
                parcel_number=1,
                land_use_code="ODT",
                legal_area_m2=400,
                certificate_status="none",
                geom=from_shape(MultiPolygon([outside_city]), srid=VN2000_CAO_BANG),
            ),
        )
    assert info.value.orig.diag.constraint_name == "parcels_in_service_area"
