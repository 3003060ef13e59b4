"""What is planned here: at a point, and over a parcel."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gis.crs import REFERENCE_POINT_VN2000, REFERENCE_POINT_WGS84
from layers.parcels import Parcel


def test_point_lookup(client):
    body = client.get(
        "/lookup", params=dict(zip(("lon", "lat"), REFERENCE_POINT_WGS84, strict=True))
    ).json()
    assert body["admin_unit"]["current"]["name"] == "Thục Phán"
    assert body["admin_unit"]["before_2025"]["name"] == "Hợp Giang"
    assert body["parcel"]["unit_code"] == "01273"
    assert "holder_name" not in body["parcel"]
    general = body["planning"]["general"]
    assert {z["plan"]["code"] for z in general} == {"CB-QHC-2017"}
    zone = general[0]
    assert {"land_use_code", "max_coverage_pct", "floor_area_ratio", "max_floors"} <= zone.keys()
    assert zone["plan"]["decision_authority"] == "UBND tỉnh Cao Bằng"
    assert body["planning"]["zoning"] == [] and body["planning"]["detailed"] == []


def test_point_lookup_in_vn2000_matches(client):
    by_lonlat = client.get(
        "/lookup", params=dict(zip(("lon", "lat"), REFERENCE_POINT_WGS84, strict=True))
    ).json()
    by_xy = client.get(
        "/lookup",
        params={"x": REFERENCE_POINT_VN2000[0], "y": REFERENCE_POINT_VN2000[1], "crs": "EPSG:9210"},
    ).json()
    assert by_xy["parcel"] == by_lonlat["parcel"]
    assert by_xy["planning"] == by_lonlat["planning"]


def test_lookup_in_a_commune_with_an_approved_commune_plan(client, conn):
    lon, lat = conn.execute(
        select(
            func.ST_X(func.ST_PointOnSurface(Parcel.geom_wgs84)),
            func.ST_Y(func.ST_PointOnSurface(Parcel.geom_wgs84)),
        )
        .where(Parcel.unit_code == "01720")
        .limit(1)
    ).one()
    body = client.get("/lookup", params={"lon": lon, "lat": lat}).json()
    plans = {z["plan"]["code"] for z in body["planning"]["general"]}
    assert plans == {"CB-QHC-2017", "CB-QHC-CHUTRINH"}
    chu_trinh = next(
        z for z in body["planning"]["general"] if z["plan"]["code"] == "CB-QHC-CHUTRINH"
    )
    assert chu_trinh["plan"]["decision_number"] == "2218/QĐ-UBND"
    assert body["admin_unit"]["before_2025"]["name"] == "Chu Trinh"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lon": 106.2},
        {"lon": 500, "lat": 22},
        {"x": 1, "y": 2},
        {"x": 1, "y": 2, "crs": "EPSG:1234"},
    ],
)
def test_bad_lookup_is_400(client, params):
    response = client.get("/lookup", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_parcel_planning_overlaps(client, conn):
    parcel = conn.execute(
        select(Parcel.unit_code, Parcel.map_sheet, Parcel.parcel_number)
        .where(Parcel.unit_code == "01720")
        .limit(1)
    ).one()
    body = client.get("/parcels/{}/{}/{}/planning".format(*parcel)).json()
    assert body["parcel"]["map_sheet"] == parcel.map_sheet
    for level_zones in body["planning"].values():
        for zone in level_zones:
            assert 0 < zone["share"] <= 1.0 + 1e-9
            assert zone["overlap_m2"] <= body["parcel"]["geom_area_m2"] + 1e-6
    # Each plan's zones cover the whole parcel: the shares add up to 1 per plan.
    shares: dict[str, float] = {}
    for zone in body["planning"]["general"]:
        shares[zone["plan"]["code"]] = shares.get(zone["plan"]["code"], 0) + zone["share"]
    assert shares.keys() == {"CB-QHC-2017", "CB-QHC-CHUTRINH"}
    assert all(v == pytest.approx(1.0, abs=1e-6) for v in shares.values())


def test_unknown_parcel_is_404(client):
    response = client.get("/parcels/01273/9999/1/planning")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
