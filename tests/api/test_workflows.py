"""A plan's lifecycle and publication, an auction lot's steps, over a real server: the
moves with their decisions, the refusals (409 with the allowed moves, 422 for missing
grounds, 403 outside one's role or units), and the public seeing a publication on the
next request. On a database of its own (workflow_database): the moves are committed."""

from __future__ import annotations

import itertools

import httpx
import pytest
from sqlalchemy import create_engine, text

from layers.lifecycle import PLAN, PLAN_ORDER

GEOJSON = "application/geo+json"
DECISION = {"number": "1234/QĐ-UBND", "date": "2025-03-20", "authority": "UBND tỉnh Cao Bằng"}
UNNUMBERED = {"date": "2025-03-20", "authority": "UBND tỉnh Cao Bằng"}
APPRAISAL = {"date": "2025-02-10", "body": "Sở Xây dựng tỉnh Cao Bằng", "number": "45/SXD"}

_codes = itertools.count(1)


@pytest.fixture(scope="module")
def api(workflow_clients):
    return workflow_clients


@pytest.fixture(scope="module")
def planner(api):
    with api("planner") as client:
        yield client


def _move(client: httpx.Client, code: str, body: dict, path: str = "plans") -> httpx.Response:
    return client.post(f"/{path}/{code}/transitions", json=body)


def _new_plan(planner: httpx.Client) -> str:
    """A plan made through Part 4 (its first state, unpublished), over Đề Thám's boundary."""
    template = planner.get("/collections/planning_projects/items", params={"limit": 1}).json()
    code = f"T-PLAN-{next(_codes)}"
    body = {
        "type": "Feature",
        "geometry": template["features"][0]["geometry"],
        "properties": {
            "code": code,
            "name": "Thử quy trình",
            "level": "detailed",
            "scale_denominator": 500,
        },
    }
    made = planner.post(
        "/collections/planning_projects/items", json=body, headers={"Content-Type": GEOJSON}
    )
    assert made.status_code == 201, made.text
    assert made.json()["properties"]["status"] == "task_preparation"
    assert made.json()["properties"]["published"] is False
    return code


def _grounds(to: str) -> dict:
    body: dict = {"to": to}
    if "decision" in PLAN.required(to):
        body["decision"] = UNNUMBERED
    if "appraisal" in PLAN.required(to):
        body["appraisal"] = APPRAISAL
    return body


def _bring(planner: httpx.Client, code: str, state: str) -> None:
    for to in PLAN_ORDER[1 : PLAN_ORDER.index(state) + 1]:
        moved = _move(planner, code, _grounds(to))
        assert moved.status_code == 200, moved.text


def _public_codes(items: str) -> set[str]:
    return {f["properties"]["code"] for f in httpx.get(items).json()["features"]}


def test_a_plan_lists_its_allowed_moves_with_their_fields(planner):
    state = planner.get("/plans/CB-QHPK-DETHAM/transitions")
    assert state.status_code == 200, state.text
    body = state.json()
    assert body["status"] == "appraised" and body["published"] is False
    allowed = {move["to"]: move for move in body["allowed"]}
    assert set(allowed) == set(PLAN.allowed("appraised")) == {"approved", "cancelled"}
    assert allowed["approved"]["requires"] == ["decision"]
    fields = allowed["approved"]["grounds"]["decision"]
    assert fields == {"number": False, "date": True, "authority": True, "source": False}
    # The demo walked the same road: its events, from the first state.
    moves = [(e["from"], e["to"]) for e in body["events"] if e["kind"] == "transition"]
    assert moves[0][0] == "task_preparation" and moves[-1][1] == "appraised"
    assert body["events"][-1]["appraisal"]["date"] == "2024-05-20"


def test_a_plan_walks_its_whole_road_to_approval_and_publication(api, planner, workflow_api):
    code = _new_plan(planner)
    _bring(planner, code, "appraised")
    state = planner.get(f"/plans/{code}/transitions").json()
    assert [e["to"] for e in state["events"]] == list(PLAN_ORDER[1:6])
    assert state["events"][-1]["appraisal"]["body"] == APPRAISAL["body"]
    approved = _move(
        planner, code, {"to": "approved", "decision": UNNUMBERED, "reason": "Phê duyệt"}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    item = planner.get("/collections/planning_projects/items", params={"code": code}).json()
    properties = item["features"][0]["properties"]
    assert properties["decision_number"] is None  # none given: none invented
    assert properties["decision_authority"] == UNNUMBERED["authority"]
    assert properties["appraisal_body"] == APPRAISAL["body"]
    # Approved is not yet public: publication is its own act.
    items = f"{workflow_api}/collections/planning_projects/items"
    before = httpx.get(items)
    assert code not in _public_codes(items)
    published = planner.put(f"/plans/{code}/publication")
    assert published.status_code == 200 and published.json()["published"] is True
    # The next request sees it, even one revalidating the answer it had.
    again = httpx.get(items, headers={"If-None-Match": before.headers["etag"]})
    assert again.status_code == 200 and code in _public_codes(items)
    withdrawn = planner.delete(f"/plans/{code}/publication")
    assert withdrawn.status_code == 200 and withdrawn.json()["published"] is False
    assert code not in _public_codes(items)
    kinds = [e["kind"] for e in planner.get(f"/plans/{code}/transitions").json()["events"]]
    assert kinds[-2:] == ["published", "withdrawn"]


def test_an_illegal_move_answers_409_with_the_allowed_ones(planner):
    code = _new_plan(planner)
    refused = _move(planner, code, {"to": "approved", "decision": DECISION})
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["allowed"] == list(PLAN.allowed("task_preparation"))
    assert refused.json()["current"] == "task_preparation"
    unknown = _move(planner, code, {"to": "adjustment_pending"})
    assert unknown.status_code == 409  # the state is gone: no move reaches it


def test_a_move_without_its_decision_is_422_and_writes_nothing(planner):
    code = _new_plan(planner)
    before = planner.get(f"/plans/{code}/transitions").json()
    refused = _move(planner, code, {"to": "task_approved"})
    assert refused.status_code == 422
    assert refused.json()["pointer"] == "/decision"
    no_date = _move(planner, code, {"to": "task_approved", "decision": {"authority": "UBND"}})
    assert no_date.status_code == 422 and no_date.json()["pointer"] == "/decision/date"
    assert planner.get(f"/plans/{code}/transitions").json() == before


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("not json", "body"),
        ([1, 2], "body"),
        ({"to": 5}, "body.to"),
        ({}, "body.to"),
        ({"to": "task_approved", "decision": UNNUMBERED, "extra": 1}, "body.extra"),
        ({"to": "task_approved", "reason": 7}, "body.reason"),
    ],
)
def test_a_malformed_move_is_400_naming_the_member(planner, body, where):
    content = body.encode() if isinstance(body, str) else None
    kwargs = {"content": content} if content else {"json": body}
    refused = planner.post(
        "/plans/CB-QHCT-6A/transitions", headers={"Content-Type": "application/json"}, **kwargs
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["parameter"] == where


def test_a_move_is_json_or_415_before_the_body_is_read(planner):
    refused = planner.post("/plans/CB-QHCT-6A/transitions", content=b"to=task_approved")
    assert refused.status_code == 415


def test_only_an_approved_plan_is_published(planner):
    refused = planner.put("/plans/CB-QHCT-6A/publication")
    assert refused.status_code == 409
    assert "only an approved plan" in refused.json()["detail"]
    assert planner.put("/plans/NO-SUCH-PLAN/publication").status_code == 404


def test_status_and_publication_change_only_by_their_routes(planner):
    """Part 4 cannot move a plan or publish it: the database's trigger refuses (422
    naming the rule), and a new plan begins at the first state."""
    found = planner.get("/collections/planning_projects/items", params={"code": "CB-QHCT-6A"})
    feature = found.json()["features"][0]
    path = f"/collections/planning_projects/items/{feature['id']}"
    etag = planner.get(path).headers["ETag"]
    for change in ({"status": "task_approved"}, {"published": True}):
        refused = planner.patch(
            path,
            json={"properties": change},
            headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["rule"] == "planning_projects_lifecycle"
    renamed = planner.patch(
        path,
        json={"properties": {"notes": "Ghi chú mới", "status": "task_preparation"}},
        headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
    )
    assert renamed.status_code == 200, renamed.text  # the same status: no move
    made = planner.post(
        "/collections/planning_projects/items",
        json={
            **feature,
            "properties": {**feature["properties"], "code": "T-SKIP", "status": "approved"},
        },
        headers={"Content-Type": GEOJSON},
    )
    assert made.status_code == 422 and made.json()["rule"] == "planning_projects_lifecycle"


def test_a_cancelled_approved_plan_leaves_the_public(planner, workflow_api):
    code = _new_plan(planner)
    _bring(planner, code, "approved")
    assert planner.put(f"/plans/{code}/publication").status_code == 200
    items = f"{workflow_api}/collections/planning_projects/items"
    assert code in _public_codes(items)
    cancelled = _move(planner, code, {"to": "cancelled", "decision": DECISION})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["published"] is False and cancelled.json()["allowed"] == []
    assert code not in _public_codes(items)


def test_the_move_s_decision_is_recorded_in_its_change_set(planner, workflow_database):
    code = _new_plan(planner)
    _move(planner, code, {"to": "task_approved", "decision": DECISION, "reason": "Nhiệm vụ"})
    event = planner.get(f"/plans/{code}/transitions").json()["events"][-1]
    assert event["decision"]["number"] == DECISION["number"]
    assert event["actor"] == "planner" and event["reason"] == "Nhiệm vụ"
    engine = create_engine(workflow_database[0])
    with engine.connect() as conn:
        recorded = conn.execute(
            text("SELECT actor, decision, reason FROM private.change_sets WHERE id = :id"),
            {"id": event["change_set"]},
        ).one()
    engine.dispose()
    assert recorded == ("planner", "1234/QĐ-UBND, 2025-03-20, UBND tỉnh Cao Bằng", "Nhiệm vụ")


def test_a_revert_cannot_undo_a_transition(planner):
    """A decision is undone by another decision (a cancellation), not by rewinding."""
    code = _new_plan(planner)
    _move(planner, code, {"to": "task_approved", "decision": DECISION})
    change_set = planner.get(f"/plans/{code}/transitions").json()["events"][-1]["change_set"]
    refused = planner.post(f"/changes/{change_set}/revert")
    assert refused.status_code == 422, refused.text
    assert refused.json()["rule"] == "planning_projects_lifecycle"
    assert planner.get(f"/plans/{code}/transitions").json()["status"] == "task_approved"


def test_roles_and_units_decide_who_moves_what(api):
    with api("cadastral") as cadastral, api("planner-north") as north, api() as public:
        assert cadastral.get("/plans/CB-QHCT-6A/transitions").status_code == 403
        assert public.get("/plans/CB-QHCT-6A/transitions").status_code == 401
        # Nà Cạn I lies in Sông Bằng, outside the north planner's unit.
        outside = north.post("/plans/CB-NACAN1/transitions", json={"to": "cancelled"})
        assert outside.status_code == 403
        assert north.get("/plans/CB-NACAN1/transitions").status_code == 403


# --- auction lots ---------------------------------------------------------------------


def _lot(land_fund: httpx.Client, status: str) -> dict:
    found = land_fund.get("/collections/auction_lots/items", params={"status": status})
    return found.json()["features"][0]["properties"]


def test_a_lot_goes_announced_auctioned_sold_each_with_its_grounds(api, workflow_api):
    with api("land_fund") as land_fund:
        lot = _lot(land_fund, "planned")
        code = lot["lot_code"]
        out_of_order = _move(land_fund, code, {"to": "sold"}, "auction-lots")
        assert out_of_order.status_code == 409
        assert out_of_order.json()["allowed"] == ["announced", "cancelled"]
        no_date = _move(land_fund, code, {"to": "announced", "decision": DECISION}, "auction-lots")
        assert no_date.status_code == 422 and no_date.json()["pointer"] == "/auction"
        announced = _move(
            land_fund,
            code,
            {"to": "announced", "decision": DECISION, "auction": {"date": "2027-03-01"}},
            "auction-lots",
        )
        assert announced.status_code == 200, announced.text
        held = _move(land_fund, code, {"to": "auctioned"}, "auction-lots")
        assert held.status_code == 200, held.text
        unpriced = _move(
            land_fund, code, {"to": "sold", "decision": DECISION, "result": {}}, "auction-lots"
        )
        assert unpriced.status_code == 422
        assert unpriced.json()["pointer"] == "/result/winning_price_vnd"
        below = _move(
            land_fund,
            code,
            {"to": "sold", "decision": DECISION, "result": {"winning_price_vnd": 1}},
            "auction-lots",
        )
        assert below.status_code == 422
        assert below.json()["rule"] == "auction_lots_sold_has_winning_price"
        price = lot["starting_price_vnd"] + 100_000_000
        sold = _move(
            land_fund,
            code,
            {
                "to": "sold",
                "decision": DECISION,
                "result": {"winning_price_vnd": price, "note": "Công nhận kết quả"},
            },
            "auction-lots",
        )
        assert sold.status_code == 200, sold.text
        assert sold.json()["allowed"] == []
        public = httpx.get(
            f"{workflow_api}/collections/auction_lots/items", params={"lot_code": code}
        )
        properties = public.json()["features"][0]["properties"]
        assert (properties["status"], properties["auction_date"]) == ("sold", "2027-03-01")
        assert properties["winning_price_vnd"] == price
        again = _move(land_fund, code, {"to": "cancelled", "decision": DECISION}, "auction-lots")
        assert again.status_code == 409 and again.json()["allowed"] == []


def test_a_lot_s_status_is_no_part_4_property_to_change(api):
    with api("land_fund") as land_fund:
        lot = land_fund.get("/collections/auction_lots/items", params={"status": "planned"})
        key = lot.json()["features"][0]["id"]
        path = f"/collections/auction_lots/items/{key}"
        refused = land_fund.patch(
            path,
            json={"properties": {"status": "cancelled"}},
            headers={
                "If-Match": land_fund.get(path).headers["ETag"],
                "Content-Type": "application/merge-patch+json",
            },
        )
        assert refused.status_code == 422 and refused.json()["rule"] == "auction_lots_lifecycle"


def test_a_planner_does_not_run_auctions(api):
    with api("planner") as planner:
        refused = _move(planner, "DG-3B-01", {"to": "cancelled"}, "auction-lots")
        assert refused.status_code == 403
