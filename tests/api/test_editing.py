"""OGC API Features Part 4 over a real server: create, replace, update, delete, ETags and
If-Match, the database's rules as 422s, units, reasons, and a race of two editors."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import numpy as np
import orjson
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import mapping, shape
from sqlalchemy import text

from tests.staff import parcels_in_and_out

GEOJSON = "application/geo+json"
MERGE = "application/merge-patch+json"
ZONES = "/collections/plan_zones/items"
#: A zone of the approved general plan (project 1), of the unpublished 2045 plan (outside
#: Thục Phán), of the appraised Đề Thám zoning plan (inside Thục Phán), and another of Đề
#: Thám to edit at once (an approved plan's zones change through change requests).
PUBLIC_ZONE, ZONE_OUTSIDE_NORTH, ZONE_INSIDE_NORTH, ZONE_OF_9 = 1, 150, 299, 400


def _headers(staff, role: str, **more: str) -> dict[str, str]:
    return {**staff.headers(role), **more}


def _get(api, staff, path, role="planner", **params):
    response = httpx.get(f"{api}{path}", headers=staff.headers(role), params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response


def _patch(api, staff, zone, body, etag, role="planner", **headers):
    more = {"Content-Type": MERGE, **({"If-Match": etag} if etag else {}), **headers}
    return httpx.patch(
        f"{api}{ZONES}/{zone}", json=body, headers=_headers(staff, role, **more), timeout=30
    )


def _journal(engine, zone: int):
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT actor, via, reason, no_reason_given, unconditional, operation "
                "FROM private.edits WHERE layer = 'plan_zones' AND :id = ANY(feature_ids) "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"id": zone},
        ).one()


def _new_zone(api, staff, code: str) -> dict:
    """A zone of project 1 with the geometry of zone 1 (inside the project's boundary)."""
    geometry = _get(api, staff, f"{ZONES}/{PUBLIC_ZONE}").json()["geometry"]
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {"project_id": 2, "zone_code": code, "land_use_code": "ODT", "max_floors": 5},
    }


def test_create_answers_201_with_location_and_etag(staff_api, staff):
    created = httpx.post(
        f"{staff_api}{ZONES}",
        json=_new_zone(staff_api, staff, "T-CREATE"),
        headers=_headers(staff, "planner", **{"Content-Type": GEOJSON}),
    )
    assert created.status_code == 201, created.text
    key = created.json()["id"]
    assert created.headers["Location"] == f"{staff_api}{ZONES}/{key}"
    assert created.headers["ETag"] == '"1"'
    again = _get(staff_api, staff, f"{ZONES}/{key}")
    assert again.headers["ETag"] == '"1"'
    assert again.json()["properties"]["zone_code"] == "T-CREATE"
    assert again.json()["properties"]["area_m2"] > 0  # computed by the database


def test_the_etag_is_the_same_for_every_representation(staff_api, staff):
    path = f"{staff_api}{ZONES}/{PUBLIC_ZONE}"
    tags = {
        httpx.get(path, params=params, headers=headers).headers["ETag"]
        for params in ({}, {"crs": "EPSG:9210"}, {"crs": "EPSG:3857"})
        for headers in (
            {"Accept-Encoding": "gzip"},
            {"Accept-Encoding": "identity"},
            staff.headers("planner"),
        )
    }
    assert len(tags) == 1 and tags.pop().strip('"').isdigit()


def test_a_stale_if_match_is_a_412_saying_who_and_when(staff_api, staff, staff_engine):
    etag = _get(staff_api, staff, f"{ZONES}/{ZONE_OF_9}").headers["ETag"]
    first = _patch(staff_api, staff, ZONE_OF_9, {"properties": {"max_floors": 9}}, etag)
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == f'"{int(etag.strip(chr(34))) + 1}"'
    assert first.json()["properties"]["max_floors"] == 9
    stale = _patch(staff_api, staff, ZONE_OF_9, {"properties": {"max_floors": 2}}, etag, "admin")
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    detail = stale.json()["detail"]
    written_at = datetime.fromisoformat(detail.split(" at ")[1].split(";")[0])
    assert "written by planner at" in detail
    assert abs(datetime.now(UTC) - written_at) < timedelta(minutes=5)
    assert stale.headers["ETag"] == first.headers["ETag"]
    kept = _get(staff_api, staff, f"{ZONES}/{ZONE_OF_9}").json()
    assert kept["properties"]["max_floors"] == 9


def test_without_if_match_428_unless_the_setting_allows_it(
    staff_api, lenient_api, staff, staff_engine
):
    refused = _patch(staff_api, staff, ZONE_OF_9, {"properties": {"max_floors": 4}}, None)
    assert refused.status_code == 428
    assert refused.headers["content-type"] == "application/problem+json"
    accepted = _patch(lenient_api, staff, ZONE_OF_9, {"properties": {"max_floors": 4}}, None)
    assert accepted.status_code == 200, accepted.text
    assert _journal(staff_engine, ZONE_OF_9).unconditional is True
    star = _patch(staff_api, staff, ZONE_OF_9, {"properties": {"max_floors": 5}}, "*")
    assert star.status_code == 200
    assert _journal(staff_engine, ZONE_OF_9).unconditional is False


def test_two_editors_racing_on_one_zone_one_wins(staff_api, staff):
    etag = _get(staff_api, staff, f"{ZONES}/{ZONE_OF_9}").headers["ETag"]
    start = threading.Barrier(2)

    def edit(floors: int) -> httpx.Response:
        start.wait()
        return _patch(staff_api, staff, ZONE_OF_9, {"properties": {"max_floors": floors}}, etag)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(edit, (11, 12)))
    assert sorted(r.status_code for r in results) == [200, 412]
    winner = next(r for r in results if r.status_code == 200).json()["properties"]["max_floors"]
    stored = _get(staff_api, staff, f"{ZONES}/{ZONE_OF_9}").json()["properties"]["max_floors"]
    assert stored == winner


def test_put_replaces_every_property(staff_api, staff):
    response = _get(staff_api, staff, f"{ZONES}/{ZONE_OF_9}")
    feature = response.json()
    feature["properties"] = {**feature["properties"], "function_name": "Đất ở mới"}
    feature["properties"].pop("max_floors")  # absent from a PUT: cleared
    replaced = httpx.put(
        f"{staff_api}{ZONES}/{ZONE_OF_9}",
        json=feature,
        headers=_headers(staff, "planner", **{"If-Match": response.headers["ETag"]}),
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["properties"]["function_name"] == "Đất ở mới"
    assert replaced.json()["properties"]["max_floors"] is None


def test_a_reason_is_recorded_and_its_absence_flagged(staff_api, staff, staff_engine):
    etag = _get(staff_api, staff, f"{ZONES}/{ZONE_OF_9}").headers["ETag"]
    why = "Điều chỉnh cục bộ theo QĐ 123/QĐ-UBND"
    reason = {"Landplan-Reason": quote(why)}
    changed = _patch(staff_api, staff, ZONE_OF_9, {"properties": {"setback_m": 3}}, etag, **reason)
    assert changed.status_code == 200
    entry = _journal(staff_engine, ZONE_OF_9)
    assert (entry.actor, entry.via, entry.reason, entry.no_reason_given) == (
        "planner",
        "api",
        why,
        False,
    )
    body = {"properties": {"setback_m": 4}}
    assert _patch(staff_api, staff, ZONE_OF_9, body, changed.headers["ETag"]).status_code == 200
    entry = _journal(staff_engine, ZONE_OF_9)
    assert entry.reason is None and entry.no_reason_given is True


def test_delete_removes_a_zone_and_parcels_and_plans_answer_405(staff_api, staff):
    created = httpx.post(
        f"{staff_api}{ZONES}",
        json=_new_zone(staff_api, staff, "T-DELETE"),
        headers=staff.headers("planner"),
    )
    location = created.headers["Location"]
    stale = httpx.delete(location, headers=_headers(staff, "planner", **{"If-Match": '"0"'}))
    assert stale.status_code == 412
    gone = httpx.delete(location, headers=_headers(staff, "planner", **{"If-Match": '"1"'}))
    assert gone.status_code == 204
    assert httpx.get(location, headers=staff.headers("planner")).status_code == 404
    for collection, role in (("parcels", "cadastral"), ("planning_projects", "planner")):
        refused = httpx.delete(
            f"{staff_api}/collections/{collection}/items/1",
            headers=_headers(staff, role, **{"If-Match": "*"}),
        )
        assert refused.status_code == 405
        assert "DELETE" not in refused.headers["Allow"] and "PATCH" in refused.headers["Allow"]


def test_options_lists_the_methods_of_the_caller(staff_api, staff):
    def allowed(role: str, path: str) -> set[str]:
        response = httpx.options(f"{staff_api}{path}", headers=staff.headers(role))
        assert response.status_code == 204
        return {m.strip() for m in response.headers["Allow"].split(",")}

    item = f"{ZONES}/{PUBLIC_ZONE}"
    assert allowed("anonymous", item) == {"GET", "HEAD", "OPTIONS"}
    assert allowed("cadastral", item) == {"GET", "HEAD", "OPTIONS"}
    assert allowed("planner", item) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"}
    assert allowed("planner", ZONES) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert "DELETE" not in allowed("cadastral", "/collections/parcels/items/1")
    assert "PATCH" in allowed("cadastral", "/collections/parcels/items/1")


def _count_zones(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM plan_zones")).scalar_one()


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"properties": {"max_coverage_pct": 150}}, "plan_zones_coverage_is_percent"),
        ({"properties": {"land_use_code": "XXX"}}, "plan_zones_land_use_code_fkey"),
        ({"properties": {"project_id": 999_999}}, "plan_zones_project_id_fkey"),
        ("bow-tie", "plan_zones_geom_valid"),
        ("moved", "plan_zones_within_project"),
    ],
)
def test_every_database_rule_is_a_422_naming_it(staff_api, staff, staff_engine, change, rule):
    response = _get(staff_api, staff, f"{ZONES}/{ZONE_OF_9}", crs="EPSG:9210")
    before, etag = response.json(), response.headers["ETag"]
    if change == "bow-tie":
        x, y = shapely.get_coordinates(shape(before["geometry"]))[0]
        ring = [[x, y], [x + 10, y + 10], [x + 10, y], [x, y + 10], [x, y]]
        change = {"geometry": {"type": "Polygon", "coordinates": [ring]}}
    elif change == "moved":
        moved = shapely.affinity.translate(shape(before["geometry"]), 6000, 0)
        change = {"geometry": mapping(moved)}
    zones = _count_zones(staff_engine)
    refused = _patch(
        staff_api,
        staff,
        ZONE_OF_9,
        change,
        etag,
        **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/9210>"},
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert problem["rule"] == rule and problem["instance"] == f"{ZONES}/{ZONE_OF_9}"
    after = _get(staff_api, staff, f"{ZONES}/{ZONE_OF_9}", crs="EPSG:9210")
    assert after.headers["ETag"] == etag and after.json() == before  # nothing written
    assert _count_zones(staff_engine) == zones


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        (b"{not json", "body"),
        (b'{"properties": {"no_such": 1}}', "body.properties.no_such"),
        (b'{"properties": {"max_floors": "five"}}', "body.properties.max_floors"),
        (b'{"properties": {"max_floors": 2.5}}', "body.properties.max_floors"),
        (b'{"properties": {"zone_code": "a\\u0000b"}}', "body.properties.zone_code"),
        (b'{"geometry": {"type": "Point", "coordinates": [106.2, 22.6]}}', "body.geometry"),
        (b'{"geometry": {"type": "Polygon", "coordinates": [[[1e308, 0]]]}}', "body.geometry"),
        (
            b'{"geometry": {"type": "Polygon", '
            b'"coordinates": [[[500,0],[501,0],[501,1],[500,0]]]}}',
            "body.geometry",
        ),
        (b"[1, 2]", "body"),
    ],
)
def test_a_bad_body_is_a_400_naming_where(staff_api, staff, body, parameter):
    response = httpx.patch(
        f"{staff_api}{ZONES}/{ZONE_OF_9}",
        content=body,
        headers=_headers(staff, "planner", **{"Content-Type": MERGE, "If-Match": "*"}),
    )
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter


def test_a_body_of_another_media_type_is_a_415(staff_api, staff):
    response = httpx.patch(
        f"{staff_api}{ZONES}/{ZONE_OF_9}",
        content=b"max_floors=3",
        headers=_headers(staff, "planner", **{"Content-Type": "application/x-www-form-urlencoded"}),
    )
    assert response.status_code == 415


def test_vn2000_coordinates_with_content_crs(staff_api, staff):
    feature = _new_zone(staff_api, staff, "T-VN2000")
    to_vn2000 = Transformer.from_crs(4326, 9210, always_xy=True)
    geom = shapely.transform(
        shape(feature["geometry"]), lambda xy: np.column_stack(to_vn2000.transform(*xy.T))
    )
    feature["geometry"] = mapping(geom)
    created = httpx.post(
        f"{staff_api}{ZONES}",
        json=feature,
        headers=_headers(
            staff, "planner", **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/9210>"}
        ),
    )
    assert created.status_code == 201, created.text
    stored = _get(staff_api, staff, f"{ZONES}/{created.json()['id']}", crs="EPSG:9210").json()
    assert shape(stored["geometry"]).equals_exact(geom, 0.001)


def test_an_account_limited_to_a_unit_edits_only_there(staff_api, staff):
    def attempt(zone: int) -> int:
        etag = _get(staff_api, staff, f"{ZONES}/{zone}").headers["ETag"]
        body = {"properties": {"max_height_m": 12}}
        return _patch(staff_api, staff, zone, body, etag, role="planner-north").status_code

    assert attempt(ZONE_INSIDE_NORTH) == 200
    assert attempt(ZONE_OUTSIDE_NORTH) == 403


def test_other_roles_may_not_write_zones(staff_api, staff):
    for role in ("cadastral", "land_fund", "anonymous"):
        status = _patch(staff_api, staff, ZONE_OF_9, {"properties": {"max_floors": 1}}, "*", role)
        assert status.status_code == (401 if role == "anonymous" else 403)


def test_owslib_creates_updates_and_deletes_with_a_bearer_token(staff_api, lenient_api, staff):
    from owslib.ogcapi.features import Features

    # Stock OWSLib sends no If-Match: the lenient setting (as for QGIS) takes its writes.
    client = Features(lenient_api, headers=dict(staff.headers("planner")))
    feature = _new_zone(lenient_api, staff, "T-OWSLIB")
    assert client.collection_item_create("plan_zones", feature)
    created = client.collection_items("plan_zones", zone_code="T-OWSLIB")["features"]
    assert len(created) == 1
    key = str(created[0]["id"])
    feature["properties"]["max_floors"] = 8
    assert client.collection_item_update("plan_zones", key, orjson.dumps(feature).decode())
    assert client.collection_item("plan_zones", key)["properties"]["max_floors"] == 8
    # Against the strict server the client says which version it replaces.
    strict = Features(staff_api, headers=dict(staff.headers("planner")))
    strict.headers["If-Match"] = _get(staff_api, staff, f"{ZONES}/{key}").headers["ETag"]
    assert strict.collection_item_delete("plan_zones", key)
    assert (
        httpx.get(f"{staff_api}{ZONES}/{key}", headers=staff.headers("planner")).status_code == 404
    )


def test_part_4_is_declared_in_conformance_and_openapi(staff_api):
    classes = httpx.get(f"{staff_api}/conformance").json()["conformsTo"]
    for name in ("create-replace-delete", "update", "optimistic-locking-etags"):
        assert f"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/{name}" in classes
    paths = httpx.get(f"{staff_api}/openapi.json").json()["paths"]
    assert {"get", "post", "options"} <= set(paths["/collections/{collection_id}/items"])
    item = paths["/collections/{collection_id}/items/{feature_id}"]
    assert {"get", "put", "patch", "delete", "options"} <= set(item)
    assert "application/merge-patch+json" in item["patch"]["requestBody"]["content"]
    assert {"412", "428", "422"} <= set(item["put"]["responses"])


def test_epsg_4326_in_content_crs_is_latitude_first(staff_api, staff):
    feature = _new_zone(staff_api, staff, "T-LATLON")
    crs84 = shape(feature["geometry"])
    feature["geometry"] = mapping(shapely.transform(crs84, lambda xy: xy[:, ::-1]))
    created = httpx.post(
        f"{staff_api}{ZONES}",
        json=feature,
        headers=_headers(
            staff, "planner", **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4326>"}
        ),
    )
    assert created.status_code == 201, created.text
    assert shape(created.json()["geometry"]).equals_exact(crs84, 1e-6)


def test_a_deeply_nested_value_is_a_400_not_a_crash(staff_api, staff):
    nested = '"a\\u0000"'
    for _ in range(900):
        nested = f"[{nested}]"
    body = '{"properties": {"documents": ' + nested + "}}"
    response = httpx.patch(
        f"{staff_api}/collections/planning_projects/items/2",
        content=body.encode(),
        headers=_headers(staff, "planner", **{"Content-Type": MERGE, "If-Match": "*"}),
    )
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == "body.properties.documents"


def test_an_unlisted_path_or_method_is_refused_by_the_gate(staff_api, staff):
    nowhere = httpx.get(f"{staff_api}/no/such/path", headers=staff.headers("admin"))
    assert nowhere.status_code == 404
    wrong = httpx.post(f"{staff_api}/collections", headers=staff.headers("admin"))
    assert wrong.status_code == 405 and set(wrong.headers["Allow"].split(", ")) == {"GET", "HEAD"}


def test_units_hold_for_new_features_and_for_parcels(staff_api, staff, staff_engine):
    inside, outside = parcels_in_and_out(staff_engine)

    def patch_parcel(parcel: int) -> int:
        return httpx.patch(
            f"{staff_api}/collections/parcels/items/{parcel}",
            json={"properties": {"address": "Tổ 1"}},
            headers=_headers(staff, "cadastral-north", **{"If-Match": "*"}),
        ).status_code

    assert patch_parcel(inside) == 200
    assert patch_parcel(outside) == 403
    # A new zone where the planner of the north has no say: refused, nothing written.
    feature = _new_zone(staff_api, staff, "T-SOUTH")
    feature["geometry"] = _get(staff_api, staff, f"{ZONES}/{ZONE_OUTSIDE_NORTH}").json()["geometry"]
    feature["properties"]["project_id"] = 2
    zones = _count_zones(staff_engine)
    refused = httpx.post(
        f"{staff_api}{ZONES}", json=feature, headers=staff.headers("planner-north")
    )
    assert refused.status_code == 403 and _count_zones(staff_engine) == zones
