"""A plan's lifecycle and publication, an auction lot's steps: the moves staff make, each
with the decision that makes it legal (docs/workflows.md).

``GET …/transitions`` says where the row stands, the moves it may make with the grounds
each needs, and the moves it made; ``POST …/transitions`` makes one. Who may is the
authorization table's (the layer's writers); what is allowed is the lifecycle's
(layers/lifecycle.py), checked here (409 with the allowed moves, 422 for missing
grounds) and again by the database's trigger.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as FastPath
from fastapi.responses import JSONResponse
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from api.errors import BadRequest, Conflict, ensure_database_up, problems
from api.params import json_members
from api.params import reason as reason_of
from api.routers.editing import Reason, writer, writing
from layers import workflows
from layers.lifecycle import MoveError
from layers.workflows import Workflow

router = APIRouter(tags=["workflows"])

PlanCode = Annotated[str, FastPath(max_length=100, examples=["CB-QHC-CHUTRINH"])]
LotCode = Annotated[str, FastPath(max_length=100, examples=["DG-3B-01"])]

MOVE_EXAMPLE = {
    "to": "approved",
    "decision": {"number": "1234/QĐ-UBND", "date": "2025-03-20", "authority": "UBND tỉnh Cao Bằng"},
    "reason": "Phê duyệt đồ án",
}
LOT_EXAMPLE = {
    "to": "announced",
    "decision": {"number": "56/QĐ-UBND", "date": "2026-12-01", "authority": "UBND thành phố"},
    "auction": {"date": "2027-01-15"},
}


def _body_doc(workflow: Workflow, example: dict[str, Any]) -> dict[str, Any]:
    members: dict[str, Any] = {"to": {"type": "string", "enum": list(workflow.lifecycle.states)}}
    members["reason"] = {"type": "string", "maxLength": 2000}
    members |= {name: {"type": "object"} for name in workflow.lifecycle.grounds}
    schema = {"type": "object", "required": ["to"], "properties": members}
    content = {"application/json": {"schema": schema, "example": example}}
    return {"requestBody": {"required": True, "content": content}}


def _state(conn: Connection, workflow: Workflow, code: str, units: tuple[str, ...]) -> dict:
    """Where the row stands: status, publication, allowed moves, past events."""
    row = workflows.locate(conn, workflow, code, units, lock=False)
    events = [
        {
            "id": e.id,
            "kind": e.kind,
            "from": e.from_status,
            "to": e.to_status,
            **e.grounds,
            "reason": e.reason,
            "actor": e.actor,
            "at": e.at.isoformat(),
            "change_set": e.change_set,
        }
        for e in conn.execute(workflow.events(row.id))
    ]
    state: dict[str, Any] = {workflow.code: code, "status": row.status}
    if workflow.publishes:
        state["published"] = row.published
    return {**state, "allowed": workflow.allowed(row.status), "events": events}


async def _read_body(request: Request, workflow: Workflow) -> dict[str, Any]:
    given = await json_members(request, {"to", "reason", *workflow.lifecycle.grounds})
    if not isinstance(given.get("to"), str) or not given["to"]:
        raise BadRequest("body.to", "the state to move to, a string")
    reason = given.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 2000):
        raise BadRequest("body.reason", "text, at most 2,000 characters")
    return given


def _cited(decision: Any) -> str | None:
    """A move's decision as the change set records it: "number, date, authority"."""
    if not isinstance(decision, dict):
        return None
    parts = (decision.get(name) for name in ("number", "date", "authority"))
    return ", ".join(p for p in parts if isinstance(p, str) and p.strip())[:500] or None


async def _run(conn: AsyncConnection, function: Any, *args: Any) -> Any:
    """``function`` (of layers/workflows.py) on the request's connection; its refusals
    as the API's answers."""
    try:
        return await conn.run_sync(function, *args)
    except workflows.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except workflows.OutsideUnits as exc:
        raise HTTPException(403, str(exc)) from None
    except MoveError as exc:
        raise Conflict(str(exc), current=exc.current, allowed=list(exc.allowed)) from None
    except workflows.NotApproved as exc:
        raise Conflict(str(exc)) from None


async def _show(request: Request, workflow: Workflow, code: str) -> JSONResponse:
    who = writer(request)
    ensure_database_up(request)
    async with request.app.state.engine.connect() as conn:
        state = await _run(conn, _state, workflow, code, who.units)
    return JSONResponse(state)


async def _move(
    request: Request, workflow: Workflow, code: str, header: str | None
) -> JSONResponse:
    who = writer(request)
    given = await _read_body(request, workflow)
    reason = given.get("reason") or reason_of(header)
    cited = _cited(given.get("decision"))
    async with writing(request, who, reason, decision=cited) as conn:
        to, units = given["to"], who.units
        await _run(conn, workflows.transition, workflow, code, to, given, reason, units)
        state = await _run(conn, _state, workflow, code, who.units)
    return JSONResponse(state)


async def _publish(
    request: Request, code: str, published: bool, header: str | None
) -> JSONResponse:
    who = writer(request)
    reason = reason_of(header)
    async with writing(request, who, reason) as conn:
        await _run(conn, workflows.publication, code, published, reason, who.units)
        state = await _run(conn, _state, workflows.PLANS, code, who.units)
    return JSONResponse(state)


STATE_ERRORS = problems(401, 403, 404, 503)
MOVE_ERRORS = problems(400, 401, 403, 404, 409, 413, 415, 422, 503)


@router.get(
    "/plans/{code}/transitions",
    summary="A plan's status, its allowed transitions with their fields, its past moves (staff)",
    responses=STATE_ERRORS,
)
async def plan_transitions(request: Request, code: PlanCode) -> JSONResponse:
    return await _show(request, workflows.PLANS, code)


@router.post(
    "/plans/{code}/transitions",
    summary="Move a plan along its lifecycle, citing its decision or appraisal (staff)",
    responses=MOVE_ERRORS,
    openapi_extra=_body_doc(workflows.PLANS, MOVE_EXAMPLE),
)
async def move_plan(request: Request, code: PlanCode, reason: Reason = None) -> JSONResponse:
    return await _move(request, workflows.PLANS, code, reason)


@router.put(
    "/plans/{code}/publication",
    summary="Publish an approved plan: public on the next request (staff)",
    responses=problems(401, 403, 404, 409, 503),
)
async def publish_plan(request: Request, code: PlanCode, reason: Reason = None) -> JSONResponse:
    return await _publish(request, code, True, reason)


@router.delete(
    "/plans/{code}/publication",
    summary="Withdraw an approved plan from publication (staff)",
    responses=problems(401, 403, 404, 409, 503),
)
async def withdraw_plan(request: Request, code: PlanCode, reason: Reason = None) -> JSONResponse:
    return await _publish(request, code, False, reason)


@router.get(
    "/auction-lots/{lot_code}/transitions",
    summary="An auction lot's status, its allowed steps with their fields, its past steps "
    "(land fund)",
    responses=STATE_ERRORS,
)
async def lot_transitions(request: Request, lot_code: LotCode) -> JSONResponse:
    return await _show(request, workflows.LOTS, lot_code)


@router.post(
    "/auction-lots/{lot_code}/transitions",
    summary="Take an auction lot to its next step: announced, auctioned, sold or cancelled "
    "(land fund)",
    responses=MOVE_ERRORS,
    openapi_extra=_body_doc(workflows.LOTS, LOT_EXAMPLE),
)
async def move_lot(request: Request, lot_code: LotCode, reason: Reason = None) -> JSONResponse:
    return await _move(request, workflows.LOTS, lot_code, reason)
