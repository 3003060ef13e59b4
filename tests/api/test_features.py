"""OGC API Features Parts 1-3 over real HTTP."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from gis.crs import VN2000_CAO_BANG, WGS84, transformer
from layers.parcels import Parcel

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def features(client, collection, **params):
    response = client.get(f"/collections/{collection}/items", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    return response.json()


def test_conformance(client):
    classes = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json" in classes


def test_items_default_page(client, conn):
    body = features(client, "parcels")
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"]) == 100
    feature = body["features"][0]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "MultiPolygon"
    assert set(feature["properties"]) == {
        "unit_code",
        "map_sheet",
        "parcel_number",
        "land_use_code",
        "legal_area_m2",
        "geom_area_m2",
        "certificate_status",
        "address",
    }
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "next", "collection"} <= rels


def test_paging_walks_every_feature_once(client, conn):
    total = conn.execute(select(func.count()).select_from(Parcel)).scalar_one()
    seen, url, pages = [], "/collections/parcels/items?limit=1000", 0
    while url:
        body = client.get(url).json()
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
    assert len(seen) == len(set(seen)) == total
    assert pages == -(-total // 1000)


def test_prev_link_returns_the_previous_page(client):
    first = features(client, "parcels", limit=10)
    second_url = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(second_url).json()
    prev_url = next(link["href"] for link in second["links"] if link["rel"] == "prev")
    back = client.get(prev_url).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]


def test_number_matched_on_small_layers(client):
    body = features(client, "auction_lots", limit=2, status="announced")
    assert body["numberReturned"] == 2
    all_announced = features(client, "auction_lots", limit=1000, status="announced")
    assert body["numberMatched"] == all_announced["numberReturned"]
    assert all(f["properties"]["status"] == "announced" for f in all_announced["features"])


def test_limit_bounds(client):
    assert client.get("/collections/parcels/items?limit=10001").status_code == 400
    assert client.get("/collections/parcels/items?limit=0").status_code == 400
    assert features(client, "parcels", limit=10000)["numberReturned"] == 6250


def test_bbox(client, conn):
    box = (106.25, 22.66, 106.26, 22.67)
    expected = conn.execute(
        select(func.count()).where(
            func.ST_Intersects(Parcel.geom_wgs84, func.ST_MakeEnvelope(*box, 4326))
        )
    ).scalar_one()
    body = features(client, "parcels", bbox=",".join(map(str, box)), limit=10000)
    assert body["numberReturned"] == expected > 0


def test_bbox_in_vn2000(client):
    to_vn = transformer(WGS84, VN2000_CAO_BANG)
    x0, y0 = to_vn.transform(106.25, 22.66)
    x1, y1 = to_vn.transform(106.26, 22.67)
    in_wgs = features(client, "parcels", bbox="106.25,22.66,106.26,22.67", limit=10000)
    in_vn = features(
        client, "parcels", bbox=f"{x0},{y0},{x1},{y1}", limit=10000, **{"bbox-crs": f"{EPSG}9210"}
    )
    # The boxes differ slightly (a rectangle in one CRS is not one in the other).
    assert (
        abs(in_vn["numberReturned"] - in_wgs["numberReturned"]) <= 0.05 * in_wgs["numberReturned"]
    )


@pytest.mark.parametrize("bad", ["1,2,3", "a,b,c,d", "106,23,107,22", "nan,nan,nan,nan"])
def test_bad_bbox_is_400(client, bad):
    response = client.get("/collections/parcels/items", params={"bbox": bad})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["parameter"] == "bbox"


def test_datetime(client):
    body = features(client, "planning_projects", datetime="2023-11-30")
    assert sorted(f["properties"]["code"] for f in body["features"]) == [
        "CB-QHC-CHUTRINH",
        "CB-QHC-VINHQUANG",
    ]
    # Approved "in 2017": dated by that year's end, its source "not in the report".
    early = features(client, "planning_projects", datetime="../2023-01-01")["features"]
    assert [f["properties"]["code"] for f in early] == ["CB-QHC-2017"]
    assert early[0]["properties"]["decision_source"] == "not in the report"
    assert client.get("/collections/planning_projects/items?datetime=yesterday").status_code == 400


def test_equality_filters(client):
    body = features(client, "parcels", unit_code="01282", limit=10000)
    assert body["numberReturned"] == 650
    assert {f["properties"]["unit_code"] for f in body["features"]} == {"01282"}
    assert client.get("/collections/parcels/items?map_sheet=abc").status_code == 400


def test_unknown_parameter_is_400(client):
    response = client.get("/collections/parcels/items?holder_name=x")
    assert response.status_code == 400
    assert response.json()["parameter"] == "holder_name"


@pytest.mark.parametrize(
    ("crs", "header"),
    [
        (None, "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"),
        (f"{EPSG}4326", f"<{EPSG}4326>"),
        (f"{EPSG}3857", f"<{EPSG}3857>"),
        (f"{EPSG}9210", f"<{EPSG}9210>"),
        (f"{EPSG}3405", f"<{EPSG}3405>"),
    ],
)
def test_output_crs(client, crs, header):
    params = {"limit": 1} | ({"crs": crs} if crs else {})
    response = client.get("/collections/parcels/items", params=params)
    assert response.headers["content-crs"] == header
    x, y = response.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    crs84 = client.get("/collections/parcels/items", params={"limit": 1}).json()
    lon, lat = crs84["features"][0]["geometry"]["coordinates"][0][0][0]
    if crs is None:
        return
    epsg = int(crs.rsplit("/", 1)[1])
    if epsg == 4326:
        assert (x, y) == (lat, lon)
    else:
        expected = transformer(WGS84, epsg).transform(lon, lat)
        # lon/lat are rounded to 1e-7 degrees (~1 cm): compare at that resolution
        assert (x, y) == pytest.approx(expected, abs=0.03)


def test_vn2000_output_is_the_stored_geometry(client, conn):
    body = features(client, "parcels", limit=1, crs=f"{EPSG}9210")
    fid = body["features"][0]["id"]
    x, y = body["features"][0]["geometry"]["coordinates"][0][0][0]
    stored = conn.execute(
        select(
            func.ST_X(func.ST_PointN(func.ST_ExteriorRing(func.ST_GeometryN(Parcel.geom, 1)), 1)),
            func.ST_Y(func.ST_PointN(func.ST_ExteriorRing(func.ST_GeometryN(Parcel.geom, 1)), 1)),
        ).where(Parcel.id == fid)
    ).one()
    assert (x, y) == pytest.approx(tuple(stored), abs=0.001)


def test_unsupported_crs_is_400(client):
    response = client.get("/collections/parcels/items?crs=EPSG:2000")
    assert response.status_code == 400
    assert response.json()["parameter"] == "crs"


def test_single_feature(client):
    first = features(client, "parcels", limit=1)["features"][0]
    response = client.get(f"/collections/parcels/items/{first['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == first["id"] and body["properties"] == first["properties"]
    assert {link["rel"] for link in body["links"]} == {"self", "collection"}
    assert client.get("/collections/parcels/items/99999999").status_code == 404
    assert client.get("/collections/parcels/items/abc").status_code == 404


@pytest.mark.parametrize(
    ("text", "expected_codes"),
    [
        ("level = 'general' AND scale_denominator = 5000", {"CB-QHC-CHUTRINH", "CB-QHC-VINHQUANG"}),
        ("decision_number IS NULL", {"CB-QHC-2017", "CB-QHCT-XUANTRUONG", "CB-NACAN1"}),
        ("NOT (decision_number IS NULL)", {"CB-QHC-CHUTRINH", "CB-QHC-VINHQUANG"}),
        ("code LIKE 'CB-QHC-V%'", {"CB-QHC-VINHQUANG"}),
        ("code IN ('CB-QHC-2017', 'CB-QHC-2045')", {"CB-QHC-2017"}),  # 2045: unpublished
        ("scale_denominator BETWEEN 6000 AND 20000", {"CB-QHC-2017"}),
        (
            "decision_date > DATE('2023-12-01') OR code = 'CB-QHC-2017'",
            # The report dates neither detailed plan's approval: by its own date.
            {"CB-QHC-2017", "CB-QHCT-XUANTRUONG", "CB-NACAN1"},
        ),
    ],
)
def test_cql2_text(client, text, expected_codes):
    body = features(client, "planning_projects", filter=text)
    assert {f["properties"]["code"] for f in body["features"]} == expected_codes


def test_cql2_spatial_with_wkt_and_geojson(client):
    polygon = "POLYGON((106.25 22.66, 106.26 22.66, 106.26 22.67, 106.25 22.67, 106.25 22.66))"
    by_bbox = features(client, "parcels", bbox="106.25,22.66,106.26,22.67", limit=10000)
    by_wkt = features(client, "parcels", filter=f"S_INTERSECTS(geometry, {polygon})", limit=10000)
    assert by_wkt["numberReturned"] == by_bbox["numberReturned"] > 0
    geojson = {
        "type": "Polygon",
        "coordinates": [
            [[106.25, 22.66], [106.26, 22.66], [106.26, 22.67], [106.25, 22.67], [106.25, 22.66]]
        ],
    }
    cql_json = {"op": "s_within", "args": [{"property": "geometry"}, geojson]}
    within = features(
        client, "parcels", filter=json.dumps(cql_json), **{"filter-lang": "cql2-json"}, limit=10000
    )
    assert 0 < within["numberReturned"] <= by_wkt["numberReturned"]


@pytest.mark.parametrize(
    "text",
    ["scale_denominator = 'ten thousand'", "level > 5", "code LIKE 5", "decision_date = 'soon'"],
)
def test_filters_of_the_wrong_type_are_400(client, text):
    response = client.get("/collections/planning_projects/items", params={"filter": text})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["parameter"] == "filter"
    assert "queryables" in body["detail"]
    assert "operator" not in body["detail"] and "syntax" not in body["detail"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("holder_name = 'Nông Văn An'", "unknown property holder_name"),
        ("land_use_code = ", "malformed cql2-text filter"),
        ("notes LIKE '%dispute%'", "unknown property notes"),
    ],
)
def test_bad_filters_are_400(client, text, message):
    response = client.get("/collections/planning_projects/items", params={"filter": text})
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_queryables(client):
    response = client.get("/collections/parcels/queryables")
    assert response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    assert schema["properties"]["map_sheet"]["type"] == "integer"
    assert schema["properties"]["legal_area_m2"]["type"] == "number"
    assert "holder_name" not in schema["properties"]
    assert schema["additionalProperties"] is False


def test_etag_and_304(client):
    first = client.get("/collections/auction_lots/items")
    # Revalidated on every use: a publication shows on the next request.
    assert first.headers["cache-control"] == "public, no-cache"
    again = client.get(
        "/collections/auction_lots/items", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


def test_gzip(client):
    response = client.get(
        "/collections/parcels/items?limit=500", headers={"Accept-Encoding": "gzip"}
    )
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["numberReturned"] == 500
