"""The history over a real server: as-of on every reading endpoint, a feature's versions,
change sets and their diffs, revert and its 409, and who may read any of it. On a
database of its own (history_database), committing: as-of reads earlier moments."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import mapbox_vector_tile
import numpy as np
import orjson
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import mapping, shape
from sqlalchemy import text

from layers import editing, workflows
from layers.parcels import LAYER as PARCELS

GEOJSON = "application/geo+json"
MERGE = "application/merge-patch+json"
LOTS = "/collections/auction_lots/items"
ZONES = "/collections/plan_zones/items"
# Zones 153–156 are the 2045 plan's (in preparation): edited at once, where an approved
# plan's zones change through change requests (tests/api/test_change_requests.py).
#: A zone of the approved, published general plan (project 1); one of the unpublished
#: 2045 plan.
PUBLIC_ZONE, UNPUBLISHED_ZONE = 1, 150
TO_VN2000 = Transformer.from_crs("EPSG:4326", "EPSG:9210", always_xy=True)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _client(api: str, staff=None, role: str | None = None) -> httpx.Client:
    headers = staff.headers(role) if staff and role else {}
    return httpx.Client(base_url=api, headers=headers, timeout=60)


def _features(client: httpx.Client, path: str, **params) -> list[dict]:
    response = client.get(path, params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["features"]


# --- as-of: exactly the snapshot taken then -------------------------------------------

_codes = itertools.count(1)

STEP = st.tuples(st.sampled_from(["create", "update", "move", "delete"]), st.integers(0, 50))


@settings(
    max_examples=6,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(STEP, min_size=1, max_size=6))
def test_as_of_returns_exactly_the_snapshot_taken_then(history_api, history_database, steps):
    """Random creates, updates and deletes through the API; after each, the public
    items and one feature as they are; afterwards, as-of each moment gives them back."""
    staff = history_database[1]
    writer, public = _client(history_api, staff, "land_fund"), _client(history_api)
    template = public.get(f"{LOTS}/1").json()
    mine: list[int] = []
    taken = []
    for action, pick in steps:
        if action == "create" or not mine:
            body = {
                "type": "Feature",
                "geometry": template["geometry"],
                "properties": {
                    "lot_code": f"H-{next(_codes)}",
                    "land_use_code": "ODT",
                    "area_m2": 100.0 + pick,
                    "starting_price_vnd": 1_000_000 + pick,
                    "status": "planned",
                },
            }
            done = writer.post(LOTS, json=body, headers={"Content-Type": GEOJSON})
            assert done.status_code == 201, done.text
            mine.append(done.json()["id"])
        else:
            key = mine[pick % len(mine)]
            etag = writer.get(f"{LOTS}/{key}").headers["ETag"]
            if action == "delete":
                done = writer.delete(f"{LOTS}/{key}", headers={"If-Match": etag})
                assert done.status_code == 204, done.text
                mine.remove(key)
            else:
                change: dict = {"properties": {"starting_price_vnd": 2_000_000 + pick}}
                if action == "move":
                    moved = shapely.affinity.translate(shape(template["geometry"]), 1e-5 * pick)
                    change = {"geometry": mapping(moved)}
                done = writer.patch(
                    f"{LOTS}/{key}", json=change, headers={"If-Match": etag, "Content-Type": MERGE}
                )
                assert done.status_code == 200, done.text
        moment = _now()
        one = mine[-1] if mine else 1
        taken.append((moment, _features(public, LOTS), one, public.get(f"{LOTS}/{one}").text))
    for moment, snapshot, one, feature in taken:
        assert _features(public, LOTS, **{"as-of": moment}) == snapshot
        then = public.get(f"{LOTS}/{one}", params={"as-of": moment})
        assert then.status_code == 200
        assert then.json()["properties"] == orjson.loads(feature)["properties"]


# --- as-of: what was public then --------------------------------------------------------


def _tile_features(client: httpx.Client, **params) -> set[int]:
    tile = client.get("/collections/plan_zones/tiles/WebMercatorQuad/12/3257/1783", params=params)
    assert tile.status_code in (200, 204), tile.text
    if tile.status_code == 204:
        return set()
    decoded = mapbox_vector_tile.decode(tile.content)
    return {f["id"] for f in decoded.get("plan_zones", {}).get("features", [])}


def test_anonymous_readers_get_what_was_public_then(history_api, history_engine):
    public = _client(history_api)
    before = _now()
    with history_engine.begin() as conn:
        conn.execute(editing.context("test", "cli", "withdrawn for the test"))
        workflows.publication(conn, "CB-QHC-2017", False)
    after = _now()
    try:
        ids_then = {f["id"] for f in _features(public, ZONES, **{"as-of": before})}
        ids_after = {f["id"] for f in _features(public, ZONES, **{"as-of": after})}
        assert PUBLIC_ZONE in ids_then and PUBLIC_ZONE not in ids_after
        assert {f["id"] for f in _features(public, ZONES)} == ids_after
        assert UNPUBLISHED_ZONE not in ids_then | ids_after
        for moment in (before, after):
            hidden = public.get(f"{ZONES}/{UNPUBLISHED_ZONE}", params={"as-of": moment})
            assert hidden.status_code == 404
        assert public.get(f"{ZONES}/{PUBLIC_ZONE}", params={"as-of": before}).status_code == 200
        assert public.get(f"{ZONES}/{PUBLIC_ZONE}", params={"as-of": after}).status_code == 404
        tile_then, tile_after = (
            _tile_features(public, **{"as-of": before}),
            _tile_features(public, **{"as-of": after}),
        )
        assert tile_then and len(tile_after) < len(tile_then)
        point = {"lon": 106.2575, "lat": 22.6657}
        plans = [
            {z["plan"]["code"] for level in found["planning"].values() for z in level}
            for found in (
                public.get("/lookup", params={**point, "as-of": m}).json() for m in (before, after)
            )
        ]
        assert "CB-QHC-2017" in plans[0] and "CB-QHC-2017" not in plans[1]
        planning = [
            public.get("/parcels/01273/17/32/planning", params={"as-of": m}).json()
            for m in (before, after)
        ]
        assert len(planning[0]["planning"]["general"]) > len(planning[1]["planning"]["general"])
    finally:
        with history_engine.begin() as conn:
            conn.execute(editing.context("test", "cli", "published again"))
            workflows.publication(conn, "CB-QHC-2017", True)


def test_as_of_never_gives_the_public_a_private_field(history_api, history_engine):
    moment = _now()
    with history_engine.begin() as conn:
        conn.execute(
            text("UPDATE private.parcel_holders SET holder_name = 'Nông Thị B' WHERE parcel_id = 2")
        )
    public = _client(history_api)
    for params in ({"as-of": moment}, {"as-of": _now()}):
        for feature in _features(public, "/collections/parcels/items", **params, limit=200):
            assert set(feature["properties"]) == set(PARCELS.public_properties)
    assert (
        "Nông Thị B"
        not in public.get("/collections/parcels/items/2", params={"as-of": _now()}).text
    )


@pytest.mark.parametrize(
    "path",
    [
        ZONES,
        f"{ZONES}/1",
        "/collections/plan_zones/tiles/WebMercatorQuad/12/3257/1783",
        "/tiles/WebMercatorQuad/12/3257/1783",
        "/lookup",
        "/parcels/01273/17/32/planning",
    ],
)
@pytest.mark.parametrize(
    ("moment", "says"),
    [
        ("2025-01-01T00:00:00Z", "history begins at"),
        ("2999-01-01T00:00:00Z", "in the future"),
        ("2025-01-01", "RFC 3339"),
        ("yesterday", "RFC 3339"),
    ],
)
def test_an_as_of_that_cannot_be_answered_is_a_400(history_api, path, moment, says):
    point = {"lon": 106.2575, "lat": 22.6657} if path == "/lookup" else {}
    response = _client(history_api).get(path, params={**point, "as-of": moment})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["parameter"], says in response.json()["detail"]) == ("as-of", True)


# --- who may read the history ----------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/staff"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{ZONES}/1/history"),
        ("GET", "/collections/parcels/items/2/history"),
        ("GET", "/changes"),
        ("GET", "/changes/2"),
        ("POST", "/changes/2/revert"),
    ],
)
def test_anonymous_readers_get_no_history(history_api, prefix, method, path):
    response = _client(history_api).request(method, prefix + path)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


# --- a feature's versions, a change set's diff ------------------------------------------


def _patch(client, path, body, **headers):
    etag = client.get(path).headers["ETag"]
    done = client.patch(
        path, json=body, headers={"If-Match": etag, "Content-Type": MERGE, **headers}
    )
    assert done.status_code == 200, done.text
    return done


def _last_change(client, path) -> dict:
    history = client.get(f"{path}/history")
    assert history.status_code == 200, history.text
    return history.json()["features"][-1]["written_by"]


def _area(geometry: dict) -> float:
    """The geometry's area in VN-2000, projected here (pyproj), not by the database."""
    projected = shapely.transform(
        shape(geometry), lambda xy: np.column_stack(TO_VN2000.transform(xy[:, 0], xy[:, 1]))
    )
    return projected.area


def test_a_feature_s_versions_each_with_its_change_set(history_api, history_database):
    staff = history_database[1]
    planner = _client(history_api, staff, "planner")
    path = f"{ZONES}/153"
    for floors, why in ((4, "Điều chỉnh tầng cao"), (6, "Sửa lại")):
        _patch(
            planner,
            path,
            {"properties": {"max_floors": floors}},
            **{"Landplan-Reason": quote(why)},
        )
    versions = planner.get(f"{path}/history").json()["features"]
    assert [v["properties"]["max_floors"] for v in versions[-2:]] == [4, 6]
    assert [v["written_by"]["reason"] for v in versions[-2:]] == ["Điều chỉnh tầng cao", "Sửa lại"]
    assert {v["written_by"]["actor"] for v in versions[-2:]} == {"planner"}
    assert [v["version"] for v in versions] == sorted(v["version"] for v in versions)
    for older, newer in itertools.pairwise(versions):
        assert older["valid"]["to"] == newer["valid"]["from"]
        assert older["ended_by"]["id"] == newer["written_by"]["id"]
    assert versions[-1]["valid"]["to"] is None and versions[-1]["ended_by"] is None
    assert versions[0]["written_by"]["via"] == "cli"  # the demo's load


def test_holders_history_is_for_cadastral_officers_and_admins(
    history_api, history_database, history_engine
):
    staff = history_database[1]
    with history_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE private.parcel_holders SET holder_name = 'Hoàng Văn C' WHERE parcel_id = 3"
            )
        )
    path = "/collections/parcels/items/3/history"
    for role in ("cadastral", "admin"):
        versions = _client(history_api, staff, role).get(path).json()["features"]
        assert versions[-1]["properties"]["holders"][0]["name"] == "Hoàng Văn C"
        assert versions[-2]["properties"]["holders"][0]["name"] != "Hoàng Văn C"
    for role in ("planner", "land_fund"):
        answer = _client(history_api, staff, role).get(path)
        assert answer.status_code == 200
        assert "Hoàng Văn C" not in answer.text
        assert all("holders" not in v["properties"] for v in answer.json()["features"])
        changes = _client(history_api, staff, role).get(
            "/changes", params={"layer": "parcel_holders"}
        )
        assert changes.status_code == 403
    listed = _client(history_api, staff, "cadastral").get(
        "/changes", params={"layer": "parcel_holders"}
    )
    assert listed.status_code == 200 and listed.json()["features"]


def test_a_diff_gives_both_geometries_the_attributes_changed_and_the_area(
    history_api, history_database
):
    staff = history_database[1]
    planner = _client(history_api, staff, "planner")
    path = f"{ZONES}/154"
    old = planner.get(path).json()
    smaller = shapely.affinity.scale(shape(old["geometry"]), 0.9, 0.9)
    headers = {
        "Landplan-Reason": quote("thu hẹp"),
        "Landplan-Decision": quote("QĐ 5/2026"),
        "Landplan-Dossier": "H-42",
    }
    _patch(
        planner, path, {"geometry": mapping(smaller), "properties": {"max_floors": 9}}, **headers
    )
    change = _last_change(planner, path)
    assert (change["decision"], change["dossier"], change["reason"]) == (
        "QĐ 5/2026",
        "H-42",
        "thu hẹp",
    )
    diff = planner.get(f"/changes/{change['id']}").json()
    assert diff["change_set"]["layers"] == {"plan_zones": {"update": 1}}
    before, after = diff["features"]
    assert (before["properties"]["state"], after["properties"]["state"]) == ("before", "after")
    assert after["properties"]["operation"] == "changed"
    changed = after["properties"]["changed"]
    assert changed["max_floors"]["after"] == 9 and "area_m2" in changed
    lost = _area(before["geometry"]) - _area(after["geometry"])
    assert after["properties"]["area_lost_m2"] == pytest.approx(lost, rel=1e-3)
    assert after["properties"]["area_gained_m2"] == pytest.approx(0, abs=0.01)
    assert shape(after["geometry"]).equals_exact(smaller, 1e-6)


def test_changes_are_found_by_actor_layer_place_and_time(history_api, history_database):
    staff = history_database[1]
    planner = _client(history_api, staff, "planner")
    start = _now()
    _patch(planner, f"{ZONES}/155", {"properties": {"max_floors": 2}})
    change = _last_change(planner, f"{ZONES}/155")
    zone = shape(planner.get(f"{ZONES}/155").json()["geometry"])
    box = ",".join(str(v) for v in zone.bounds)

    def ids(**params) -> list[int]:
        found = planner.get("/changes", params=params)
        assert found.status_code == 200, found.text
        return [f["id"] for f in found.json()["features"]]

    assert change["id"] in ids(
        actor="planner", layer="plan_zones", bbox=box, datetime=f"{start}/.."
    )
    assert change["id"] not in ids(actor="cadastral")
    assert change["id"] not in ids(layer="auction_lots")
    assert change["id"] not in ids(bbox="106.30,22.70,106.31,22.71")
    assert change["id"] not in ids(datetime=f"../{start}")
    assert ids(limit=1)[0] >= change["id"]
    pages = planner.get("/changes", params={"limit": 1}).json()
    following = next(link["href"] for link in pages["links"] if link["rel"] == "next")
    assert planner.get(following).json()["features"][0]["id"] < pages["features"][0]["id"]


# --- revert ----------------------------------------------------------------------------


def test_revert_undoes_a_change_set_unless_later_ones_touched_it(history_api, history_database):
    staff = history_database[1]
    planner = _client(history_api, staff, "planner")
    path = f"{ZONES}/156"
    _patch(planner, path, {"properties": {"max_floors": 11}})
    first = _last_change(planner, path)
    _patch(planner, path, {"properties": {"max_floors": 12}})
    second = _last_change(planner, path)

    refused = planner.post(f"/changes/{first['id']}/revert")
    assert refused.status_code == 409
    assert refused.json()["later_changes"] == [
        {"layer": "plan_zones", "feature_id": 156, "change_sets": [second["id"]]}
    ]
    assert planner.get(path).json()["properties"]["max_floors"] == 12  # nothing changed

    assert (
        _client(history_api, staff, "land_fund").post(f"/changes/{second['id']}/revert").status_code
        == 403
    )
    done = planner.post(f"/changes/{second['id']}/revert", headers={"Landplan-Reason": "undo"})
    assert done.status_code == 201, done.text
    assert done.json()["layers"] == {"plan_zones": {"deleted": 0, "restored": 1, "reinserted": 0}}
    assert planner.get(path).json()["properties"]["max_floors"] == 11
    revert = planner.get(f"/changes/{done.json()['change_set']}").json()["change_set"]
    assert (revert["reverts"], revert["reason"], revert["actor"]) == (
        second["id"],
        "undo",
        "planner",
    )

    twice = planner.post(f"/changes/{first['id']}/revert")
    assert twice.status_code == 409  # the revert is a later change of the same feature


def test_revert_puts_a_deleted_feature_back_and_removes_a_created_one(
    history_api, history_database
):
    staff = history_database[1]
    planner = _client(history_api, staff, "planner")
    body = planner.get(f"{ZONES}/{PUBLIC_ZONE}").json()
    body = {
        "type": "Feature",
        "geometry": body["geometry"],
        "properties": {"project_id": 2, "zone_code": "H-REVERT", "land_use_code": "ODT"},
    }
    created = planner.post(ZONES, json=body, headers={"Content-Type": GEOJSON})
    assert created.status_code == 201, created.text
    key = created.json()["id"]
    creation = _last_change(planner, f"{ZONES}/{key}")
    etag = planner.get(f"{ZONES}/{key}").headers["ETag"]
    assert planner.delete(f"{ZONES}/{key}", headers={"If-Match": etag}).status_code == 204
    deletion = planner.get(f"{ZONES}/{key}/history").json()["features"][-1]["ended_by"]

    back = planner.post(f"/changes/{deletion['id']}/revert")
    assert back.status_code == 201, back.text
    again = planner.get(f"{ZONES}/{key}")
    assert again.status_code == 200 and again.json()["properties"]["zone_code"] == "H-REVERT"
    assert int(again.headers["ETag"].strip('"')) > int(etag.strip('"'))  # a new ETag

    assert planner.post(f"/changes/{creation['id']}/revert").status_code == 409
    undone = planner.post(f"/changes/{back.json()['change_set']}/revert")
    assert undone.status_code == 201
    assert undone.json()["layers"]["plan_zones"]["deleted"] == 1
    assert planner.get(f"{ZONES}/{key}").status_code == 404
    assert len(planner.get(f"{ZONES}/{key}/history").json()["features"]) == 2


def test_a_large_diff_comes_in_pages(history_api, history_database, history_engine):
    with history_engine.begin() as conn:
        conn.execute(text("UPDATE plan_zones SET max_floors = 13 WHERE id IN (20, 21, 22)"))
        conn.execute(text("UPDATE auction_lots SET result = 'xem lại' WHERE id IN (3, 4)"))
        change = conn.execute(text("SELECT max(change_set) FROM private.edits")).scalar_one()
    admin = _client(history_api, history_database[1], "admin")
    seen, page = [], admin.get(f"/changes/{change}", params={"limit": 2}).json()
    while True:
        assert page["numberReturned"] <= 4  # two features, before and after each
        seen += [
            (f["properties"]["layer"], f["properties"]["feature_id"]) for f in page["features"]
        ]
        following = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not following:
            break
        page = admin.get(following[0]).json()
    assert sorted(set(seen)) == sorted(
        [("auction_lots", 3), ("auction_lots", 4)] + [("plan_zones", i) for i in (20, 21, 22)]
    )
    assert len(seen) == 10


def test_a_later_deletion_is_a_later_change_and_the_revert_changes_nothing(
    history_api, history_database
):
    planner = _client(history_api, history_database[1], "planner")
    body = planner.get(f"{ZONES}/{PUBLIC_ZONE}").json()
    body = {
        "type": "Feature",
        "geometry": body["geometry"],
        "properties": {"project_id": 2, "zone_code": "H-LATER", "land_use_code": "ODT"},
    }
    key = planner.post(ZONES, json=body, headers={"Content-Type": GEOJSON}).json()["id"]
    _patch(planner, f"{ZONES}/{key}", {"properties": {"max_floors": 3}})
    change = _last_change(planner, f"{ZONES}/{key}")
    etag = planner.get(f"{ZONES}/{key}").headers["ETag"]
    assert planner.delete(f"{ZONES}/{key}", headers={"If-Match": etag}).status_code == 204
    refused = planner.post(f"/changes/{change['id']}/revert")
    assert refused.status_code == 409, refused.text
    (later,) = refused.json()["later_changes"]
    assert (later["layer"], later["feature_id"], len(later["change_sets"])) == (
        "plan_zones",
        key,
        1,
    )
    assert planner.get(f"{ZONES}/{key}").status_code == 404


def test_a_holders_change_is_reverted_and_its_words_are_for_holder_readers(
    history_api, history_database, history_engine
):
    staff = history_database[1]
    with history_engine.begin() as conn:
        conn.execute(text("SET LOCAL landplan.reason = 'bán cho Lò Văn D'"))
        conn.execute(
            text("UPDATE private.parcel_holders SET holder_name = 'Lò Văn D' WHERE parcel_id = 4")
        )
        change = conn.execute(text("SELECT max(change_set) FROM private.edits")).scalar_one()
    planner = _client(history_api, staff, "planner").get(f"/changes/{change}").json()
    assert planner["change_set"]["reason"] is None and "Lò Văn D" not in str(planner)
    history = _client(history_api, staff, "planner").get("/collections/parcels/items/4/history")
    assert "Lò Văn D" not in history.text
    cadastral = _client(history_api, staff, "cadastral")
    assert cadastral.get(f"/changes/{change}").json()["change_set"]["reason"] == "bán cho Lò Văn D"
    done = cadastral.post(f"/changes/{change}/revert")
    assert done.status_code == 201, done.text
    assert done.json()["layers"]["parcel_holders"]["restored"] == 1
    holders = cadastral.get("/collections/parcels/items/4").json()["properties"]["holders"]
    assert holders[0]["name"] != "Lò Văn D"


def test_a_revert_that_would_cascade_outside_its_change_set_is_refused(
    history_api, history_database
):
    admin = _client(history_api, history_database[1], "admin")
    project = admin.get("/collections/planning_projects/items/1").json()
    body = {
        "type": "Feature",
        "geometry": project["geometry"],
        "properties": {
            "code": "H-PLAN",
            "name": "Thử",
            "level": "detailed",
            "scale_denominator": 500,
            "documents": [],
        },
    }
    created = admin.post(
        "/collections/planning_projects/items", json=body, headers={"Content-Type": GEOJSON}
    )
    assert created.status_code == 201, created.text
    plan = created.json()["id"]
    creation = _last_change(admin, f"/collections/planning_projects/items/{plan}")
    zone = {
        "type": "Feature",
        "geometry": admin.get(f"{ZONES}/{PUBLIC_ZONE}").json()["geometry"],
        "properties": {"project_id": plan, "zone_code": "H-Z", "land_use_code": "ODT"},
    }
    added = admin.post(ZONES, json=zone, headers={"Content-Type": GEOJSON})
    assert added.status_code == 201, added.text
    refused = admin.post(f"/changes/{creation['id']}/revert")
    assert refused.status_code == 409 and refused.json()["layer"] == "planning_projects"
    assert admin.get(f"{ZONES}/{added.json()['id']}").status_code == 200
