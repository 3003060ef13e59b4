"""Change requests over a real server: Part 4 writes held in a draft (202), approved by
another account citing a decision or a dossier and applied as one change set, refused
to the author (403), stale when a feature moved on (409, nothing applied), rejected or
withdrawn with nothing changed; never readable by the public."""

from __future__ import annotations

import httpx
import pytest
import shapely
from shapely.geometry import mapping, shape

MERGE = "application/merge-patch+json"
GEOJSON = "application/geo+json"
ZONES = "/collections/plan_zones/items"
DECISION = {"number": "77/QĐ-UBND", "date": "2026-11-30", "authority": "UBND thành phố Cao Bằng"}


@pytest.fixture(scope="module")
def api(workflow_clients):
    return workflow_clients


def _draft(client: httpx.Client, title: str = "Điều chỉnh cục bộ", kind: str = "edit") -> int:
    made = client.post("/change-requests", json={"title": title, "kind": kind})
    assert made.status_code == 201, made.text
    assert made.headers["Location"].endswith(f"/change-requests/{made.json()['id']}")
    assert made.json()["status"] == "draft" and made.json()["edits"] == []
    return made.json()["id"]


def _zones(client: httpx.Client, n: int) -> list[dict]:
    """Zones of the approved, published Chu Trinh commune plan."""
    plan = client.get(
        "/collections/planning_projects/items", params={"code": "CB-QHC-CHUTRINH"}
    ).json()["features"][0]
    found = client.get(ZONES, params={"project_id": plan["id"], "limit": 200}).json()
    return found["features"][:n]


def _patch(client: httpx.Client, zone: dict, properties: dict, request: int | None = None):
    path = f"{ZONES}/{zone['id']}"
    headers = {"If-Match": client.get(path).headers["ETag"], "Content-Type": MERGE}
    if request is not None:
        headers["Change-Request"] = str(request)
    return client.patch(path, json={"properties": properties}, headers=headers)


def _function(api, zone: dict) -> str | None:
    """The zone's function as the public reads it."""
    with api() as public:
        return public.get(f"{ZONES}/{zone['id']}").json()["properties"]["function_name"]


def test_a_request_is_drafted_held_and_applied_by_another_account(api):
    with api("planner") as planner, api("admin") as admin:
        request = _draft(planner)
        zone = _zones(planner, 1)[0]
        before = _function(api, zone)
        held = _patch(planner, zone, {"function_name": "Đất cây xanh công cộng"}, request)
        assert held.status_code == 202, held.text
        assert held.json()["based_on"] >= 1 and held.headers["Location"].endswith(str(request))
        assert _function(api, zone) == before  # held, not written
        draft = planner.get(f"/change-requests/{request}").json()
        assert [e["operation"] for e in draft["edits"]] == ["update"]
        own = planner.post(f"/change-requests/{request}/approve", json={"decision": DECISION})
        assert own.status_code == 403 and "four eyes" in own.json()["detail"]
        uncited = admin.post(f"/change-requests/{request}/approve", json={})
        assert uncited.status_code == 422
        approved = admin.post(
            f"/change-requests/{request}/approve", json={"decision": DECISION, "reason": "ok"}
        )
        assert approved.status_code == 200, approved.text
        body = approved.json()
        assert body["status"] == "applied" and body["decided_by"] == "admin"
        assert body["decision"]["number"] == DECISION["number"]
        assert _function(api, zone) == "Đất cây xanh công cộng"
        change = admin.get(f"/changes/{body['applied_change_set']}").json()
        assert change["change_set"]["decision"].startswith("77/QĐ-UBND")
        assert change["change_set"]["layers"] == {"plan_zones": {"update": 1}}
        again = admin.post(f"/change-requests/{request}/approve", json={"decision": DECISION})
        assert again.status_code == 409  # applied once


def test_approval_needs_write_rights_on_every_layer_of_the_request(api):
    with api("planner") as planner, api("land_fund") as land_fund:
        request = _draft(planner)
        zone = _zones(planner, 1)[0]
        assert _patch(planner, zone, {"function_name": "x"}, request).status_code == 202
        refused = land_fund.post(f"/change-requests/{request}/approve", json={"dossier": "D-1"})
        assert refused.status_code == 403 and "plan_zones" in refused.json()["detail"]


def test_a_stale_request_answers_409_listing_the_features_and_applies_nothing(api):
    with api("planner") as planner, api("admin") as admin:
        request = _draft(planner)
        first, second = _zones(planner, 3)[1:3]
        untouched = _function(api, second)
        assert _patch(planner, second, {"function_name": "held"}, request).status_code == 202
        assert _patch(planner, first, {"function_name": "held too"}, request).status_code == 202
        meanwhile = _draft(admin, "Another adjustment")
        assert (
            _patch(admin, first, {"function_name": "changed meanwhile"}, meanwhile).status_code
            == 202
        )
        moved = planner.post(f"/change-requests/{meanwhile}/approve", json={"dossier": "H10-2"})
        assert moved.status_code == 200, moved.text
        stale = admin.post(
            f"/change-requests/{request}/approve", json={"dossier": "000.00.00.H10-2026-1"}
        )
        assert stale.status_code == 409
        assert [f["feature"] for f in stale.json()["features"]] == [first["id"]]
        assert _function(api, second) == untouched and _function(api, first) == "changed meanwhile"
        assert planner.get(f"/change-requests/{request}").json()["status"] == "draft"


def test_a_created_feature_waits_for_its_approval(api):
    with api("planner") as planner, api("admin") as admin:
        request = _draft(planner)
        zone = _zones(planner, 1)[0]
        new = {
            "type": "Feature",
            "geometry": zone["geometry"],
            "properties": {
                "project_id": zone["properties"]["project_id"],
                "zone_code": "CR-1",
                "land_use_code": "DKV",
            },
        }
        held = planner.post(
            ZONES, json=new, headers={"Content-Type": GEOJSON, "Change-Request": str(request)}
        )
        assert held.status_code == 202 and held.json()["feature"] is None
        with api() as public:
            assert public.get(ZONES, params={"zone_code": "CR-1"}).json()["features"] == []
            applied = admin.post(f"/change-requests/{request}/approve", json={"dossier": "D-2"})
            assert applied.status_code == 200, applied.text
            found = public.get(ZONES, params={"zone_code": "CR-1"}).json()["features"]
        assert len(found) == 1 and found[0]["properties"]["land_use_code"] == "DKV"


def test_rejected_and_withdrawn_requests_change_nothing(api):
    with api("planner") as planner, api("admin") as admin:
        zone = _zones(planner, 4)[3]
        before = _function(api, zone)
        rejected = _draft(planner)
        _patch(planner, zone, {"function_name": "rejected"}, rejected)
        assert planner.post(f"/change-requests/{rejected}/reject", json={}).status_code == 403
        done = admin.post(f"/change-requests/{rejected}/reject", json={"reason": "sai ranh giới"})
        assert done.status_code == 200 and done.json()["status"] == "rejected"
        late = _patch(planner, zone, {"function_name": "late"}, rejected)
        assert late.status_code == 409
        withdrawn = _draft(planner)
        _patch(planner, zone, {"function_name": "withdrawn"}, withdrawn)
        assert admin.post(f"/change-requests/{withdrawn}/withdraw").status_code == 403
        assert planner.post(f"/change-requests/{withdrawn}/withdraw").status_code == 200
        assert _function(api, zone) == before
        for closed in (rejected, withdrawn):
            approve = admin.post(f"/change-requests/{closed}/approve", json={"dossier": "D"})
            assert approve.status_code == 409


def test_only_the_author_drafts_and_the_public_reads_no_request(api):
    with api("planner") as planner, api("admin") as admin, api() as public:
        request = _draft(planner)
        zone = _zones(planner, 1)[0]
        assert _patch(admin, zone, {"function_name": "x"}, request).status_code == 403
        assert _patch(planner, zone, {"function_name": "x"}, 10**12).status_code == 404
        direct = _patch(planner, zone, {"function_name": "x"}, None)
        assert direct.status_code == 409 and direct.json()["needs_change_request"] is True
        path = f"{ZONES}/{zone['id']}"
        wrong = planner.patch(
            path,
            json={"properties": {}},
            headers={"If-Match": "*", "Content-Type": MERGE, "Change-Request": "abc"},
        )
        assert wrong.status_code == 400 and wrong.json()["parameter"] == "Change-Request"
        for path in ("/change-requests", f"/change-requests/{request}"):
            assert public.get(path).status_code == 401
        listed = planner.get("/change-requests", params={"status": "draft"}).json()
        assert request in [r["id"] for r in listed["change_requests"]]


def test_direct_writes_to_legal_data_answer_409_other_edits_stay_direct(api):
    with api("cadastral") as cadastral, api("planner") as planner, api("admin") as admin:
        parcel = cadastral.get("/collections/parcels/items", params={"limit": 1}).json()
        parcel = parcel["features"][0]
        path = f"/collections/parcels/items/{parcel['id']}"
        legal = parcel["properties"]["legal_area_m2"]

        def patch(client, path, body, request=None):
            headers = {"If-Match": client.get(path).headers["ETag"], "Content-Type": MERGE}
            if request is not None:
                headers["Change-Request"] = str(request)
            return client.patch(path, json=body, headers=headers)

        for change in (
            {"properties": {"legal_area_m2": legal + 5}},
            {"properties": {"certificate_serial": "DA 000001"}},
        ):
            refused = patch(cadastral, path, change)
            assert refused.status_code == 409 and refused.json()["needs_change_request"], change
        same = patch(cadastral, path, {"properties": {"legal_area_m2": legal}})
        assert same.status_code == 200  # the same value: nothing legal changes
        address = patch(cadastral, path, {"properties": {"address": "Tổ 5, phường Thục Phán"}})
        assert address.status_code == 200, address.text
        request = _draft(cadastral, "Đính chính diện tích", "cadastral")
        held = patch(cadastral, path, {"properties": {"legal_area_m2": legal + 5}}, request)
        assert held.status_code == 202
        applied = admin.post(
            f"/change-requests/{request}/approve", json={"dossier": "H10.33-261130-0001"}
        )
        assert applied.status_code == 200, applied.text
        assert cadastral.get(path).json()["properties"]["legal_area_m2"] == legal + 5
        # An approved plan's boundary moves by a change request; its notes at once.
        plan = planner.get(
            "/collections/planning_projects/items", params={"code": "CB-QHC-VINHQUANG"}
        ).json()["features"][0]
        plan_path = f"/collections/planning_projects/items/{plan['id']}"
        moved = shapely.affinity.translate(shape(plan["geometry"]), 0.0005, 0)
        refused = patch(planner, plan_path, {"geometry": mapping(moved)})
        assert refused.status_code == 409 and "boundary" in refused.json()["detail"]
        noted = patch(planner, plan_path, {"properties": {"notes": "Ghi chú"}})
        assert noted.status_code == 200, noted.text
