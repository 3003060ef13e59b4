"""Change requests over HTTP: draft one, join Part 4 writes to it (``Change-Request:
<id>`` on a POST, PUT, PATCH or DELETE: 202, held), then another account approves it
citing a decision or a dossier and it is applied as one change set; or it is rejected,
or withdrawn by its author (docs/workflows.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from api import params
from api.errors import BadRequest, Conflict, RuleBroken, ensure_database_up, problems
from api.links import base_url
from api.routers.editing import writer, writing
from api.staff import rules
from api.staff.auth import DECISION
from layers import change_requests as requests
from layers.accounts import Principal
from layers.editing import FeatureError
from layers.lifecycle import parse_decision

router = APIRouter(tags=["change requests"])

RequestId = Annotated[params.Integer, FastPath(ge=1, le=2**62, examples=[1])]


async def _json(request: Request, known: set[str]) -> dict[str, Any]:
    given = await params.json_members(request, known, empty_ok=True)
    for name, value in given.items():
        if name != "decision" and value is not None:
            if not isinstance(value, str) or "\x00" in value or len(value) > 2000:
                raise BadRequest(f"body.{name}", "text, at most 2,000 characters")
    return given


def _prefix(request: Request) -> str:
    decision = request.scope.get(DECISION)
    return rules.STAFF_PREFIX if decision is not None and decision.staff else ""


def location(request: Request, request_id: int) -> str:
    return f"{base_url(request)}{_prefix(request)}/change-requests/{request_id}"


def _shown(row: Any, edits: Sequence[Any] | None, who: Principal) -> dict[str, Any]:
    """A request as staff read it; an edit's body only for the writers of its layer
    (a parcel's body may hold its holders)."""
    found: dict[str, Any] = {
        name: (value.isoformat() if hasattr(value, "isoformat") else value)
        for name, value in row._mapping.items()
    }
    if edits is not None:
        found["edits"] = [
            {
                "id": e.id,
                "operation": e.operation,
                "collection": e.layer,
                "feature": e.feature_id,
                "based_on": e.based_on,
                "body": e.body if rules.may_write(who, e.layer) else None,
                "added_by": e.added_by,
                "added_at": e.added_at.isoformat(),
            }
            for e in edits
        ]
    return found


def _state(conn: Connection, request_id: int, who: Principal) -> dict[str, Any]:
    row = conn.execute(requests.find(request_id)).one_or_none()
    if row is None:
        raise requests.Refused(404, f"no change request {request_id}")
    return _shown(row, conn.execute(requests.edits(request_id)).all(), who)


def _refused(exc: requests.Refused) -> Exception:
    return Conflict(exc.detail) if exc.status == 409 else HTTPException(exc.status, exc.detail)


@router.post(
    "/change-requests",
    summary="Draft a change request: edits join it with the Change-Request header (staff)",
    status_code=201,
    responses=problems(400, 401, 403, 413, 415, 503),
)
async def draft(request: Request) -> JSONResponse:
    who = writer(request)
    given = await _json(request, {"title", "kind", "reason"})
    title, kind = given.get("title"), given.get("kind") or "edit"
    if not title or not title.strip():
        raise BadRequest("body.title", "a change request needs a title")
    if kind not in requests.KINDS:
        raise BadRequest("body.kind", f"one of {', '.join(requests.KINDS)}")
    ensure_database_up(request)
    async with request.app.state.engine.begin() as conn:
        new = (await conn.execute(requests.draft(kind, title, given.get("reason"), who.name))).one()
        state = await conn.run_sync(_state, new.id, who)
    return JSONResponse(state, status_code=201, headers={"Location": location(request, new.id)})


@router.get(
    "/change-requests",
    summary="Change requests, newest first (staff)",
    responses=problems(400, 401, 403, 503),
)
async def listed(
    request: Request,
    status: Annotated[str | None, Query(pattern="^(draft|applied|rejected|withdrawn)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSONResponse:
    who = writer(request)
    ensure_database_up(request)
    async with request.app.state.engine.connect() as conn:
        rows = (await conn.execute(requests.listed(status, limit))).all()
    return JSONResponse({"change_requests": [_shown(row, None, who) for row in rows]})


@router.get(
    "/change-requests/{request_id}",
    summary="A change request with its edits (staff)",
    responses=problems(400, 401, 403, 404, 503),
)
async def one(request: Request, request_id: RequestId) -> JSONResponse:
    who = writer(request)
    ensure_database_up(request)
    async with request.app.state.engine.connect() as conn:
        try:
            return JSONResponse(await conn.run_sync(_state, request_id, who))
        except requests.Refused as exc:
            raise _refused(exc) from None


def _approve(
    conn: Connection,
    request_id: int,
    who: Principal,
    registry: Any,
    decision: dict[str, Any] | None,
    dossier: str | None,
    reason: str | None,
) -> dict[str, Any]:
    row = conn.execute(requests.find(request_id, lock=True)).one_or_none()
    if row is None:
        raise requests.Refused(404, f"no change request {request_id}")
    if row.status != "draft":
        raise requests.Refused(409, f"change request {request_id} is {row.status}")
    if row.author == who.name:
        raise requests.Refused(403, "a change request is approved by another account (four eyes)")
    layers = requests.layers_of(conn, request_id)
    if not layers:
        raise requests.Refused(409, f"change request {request_id} has no edits to apply")
    for layer in layers:
        if not rules.may_write(who, layer):
            raise requests.Refused(403, f"approving needs write rights on {layer}")
    try:
        requests.apply(conn, request_id, registry, who.units)
    except FeatureError as exc:
        raise RuleBroken("change_request_edit", f"{exc.where}: {exc.detail}", "") from None
    change_set = int(conn.execute(requests.current_change_set()).scalar_one())
    requests.decide(
        conn,
        request_id,
        "applied",
        who.name,
        decision=decision,
        dossier=dossier,
        reason=reason,
        change_set=change_set,
    )
    return _state(conn, request_id, who)


@router.post(
    "/change-requests/{request_id}/approve",
    summary="Approve a change request, citing a decision or a dossier: applied as one "
    "change set (another account than its author)",
    responses=problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
)
async def approve(request: Request, request_id: RequestId) -> JSONResponse:
    who = writer(request)
    given = await _json(request, {"decision", "dossier", "reason"})
    decision = parse_decision(given["decision"]) if given.get("decision") is not None else None
    dossier = given.get("dossier")
    if decision is None and not dossier:
        raise RuleBroken("change_request_cites", "approval cites a decision or a dossier", "")
    cited = decision.as_json() if decision else None
    words = ", ".join(str(v) for v in (cited or {}).values() if v) or None
    reason = given.get("reason")
    registry = request.app.state.registry
    async with writing(request, who, reason, decision=words, dossier=dossier) as conn:
        try:
            state = await conn.run_sync(_approve, request_id, who, registry, cited, dossier, reason)
        except requests.Stale as exc:
            raise Conflict(
                f"{exc}; draft them again from their current versions", features=exc.features
            ) from None
        except requests.Refused as exc:
            raise _refused(exc) from None
    return JSONResponse(state)


def _close(conn: Connection, request_id: int, who: Principal, status: str, reason: Any) -> dict:
    row = conn.execute(requests.find(request_id, lock=True)).one_or_none()
    if row is None:
        raise requests.Refused(404, f"no change request {request_id}")
    if row.status != "draft":
        raise requests.Refused(409, f"change request {request_id} is {row.status}")
    if status == "withdrawn" and row.author != who.name:
        raise requests.Refused(403, "only its author withdraws a change request")
    if status == "rejected" and row.author == who.name:
        raise requests.Refused(403, "its author withdraws a change request, not rejects it")
    requests.decide(conn, request_id, status, who.name, reason=reason)
    return _state(conn, request_id, who)


async def _closing(request: Request, request_id: int, status: str) -> JSONResponse:
    who = writer(request)
    given = await _json(request, {"reason"})
    ensure_database_up(request)
    async with request.app.state.engine.begin() as conn:
        try:
            state = await conn.run_sync(_close, request_id, who, status, given.get("reason"))
        except requests.Refused as exc:
            raise _refused(exc) from None
    return JSONResponse(state)


@router.post(
    "/change-requests/{request_id}/reject",
    summary="Reject a change request with a reason: nothing is applied (staff)",
    responses=problems(400, 401, 403, 404, 409, 413, 415, 503),
)
async def reject(request: Request, request_id: RequestId) -> JSONResponse:
    return await _closing(request, request_id, "rejected")


@router.post(
    "/change-requests/{request_id}/withdraw",
    summary="Withdraw one's own change request: nothing is applied (staff)",
    responses=problems(400, 401, 403, 404, 409, 413, 415, 503),
)
async def withdraw(request: Request, request_id: RequestId) -> JSONResponse:
    return await _closing(request, request_id, "withdrawn")
