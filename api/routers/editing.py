"""OGC API Features Part 4: create, replace, update (JSON merge patch), delete, with
optimistic locking (ETag = the row's version, If-Match) so that no update is lost.

Who may is decided before this code runs (api/staff/rules.py). Every write is one
transaction that says who and why (``Landplan-Reason``), the database checks its rules
(422 naming the rule), and the answer is the feature as the writer now reads it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, HTTPException, Request
from fastapi import Path as FastPath
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from api.deps import LayerDep
from api.errors import BadRequest, Conflict, RuleBroken, ensure_database_up, problems, retry_later
from api.links import base_url
from api.params import DECISION_HEADER, DOSSIER_HEADER, REASON_HEADER, feature_key
from api.params import reason as reason_of
from api.routers.features import GEOJSON, feature_body
from api.staff import rules
from api.staff.auth import DECISION, principal
from gis.crs import CRS84_URI, CRSError, ogc_crs
from layers import change_requests, editing
from layers.accounts import Principal
from layers.base import Layer

router = APIRouter(tags=["editing"])

#: Bodies from this size on are parsed in a worker thread.
OFF_LOOP_BYTES = 256 * 1024
#: Largest feature body taken (a detailed plan boundary is a few MiB at most).
MAX_BODY = 32 * 1024 * 1024

FEATURE_SCHEMA = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "geometry": {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {
                "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
                "coordinates": {"type": "array"},
            },
        },
        # RFC 7946 allows null: a feature with no properties.
        "properties": {"type": ["object", "null"]},
    },
}
PATCH_SCHEMA = {
    "type": "object",
    "properties": {
        "geometry": FEATURE_SCHEMA["properties"]["geometry"],  # type: ignore[index]
        "properties": {"type": "object"},
    },
}


#: A zone of the general plan near the city centre: what a client would send.
EXAMPLE = {
    "type": "Feature",
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [106.2570, 22.6650],
                [106.2580, 22.6650],
                [106.2580, 22.6660],
                [106.2570, 22.6660],
                [106.2570, 22.6650],
            ]
        ],
    },
    "properties": {"project_id": 1, "zone_code": "VD-01", "land_use_code": "ODT"},
}


def _body_doc(schema: dict, *media: str) -> dict:
    content = {m: {"schema": schema, "example": EXAMPLE} for m in media}
    return {"requestBody": {"required": True, "content": content}}


ContentCrs = Annotated[
    str | None,
    Header(
        alias="Content-Crs",
        description="CRS of the body's coordinates: CRS84 (default) or EPSG:9210 (VN-2000)",
    ),
]
Reason = Annotated[
    str | None,
    Header(alias=REASON_HEADER, description="Why (percent-encoded UTF-8); recorded"),
]
IfMatch = Annotated[
    str | None, Header(alias="If-Match", description='The ETag the change replaces ("*": any)')
]
FeatureId = Annotated[str, FastPath(examples=["1"])]
CHANGE_REQUEST_HEADER = "Change-Request"
#: A write that joins a change request is held, not made.
HELD: dict[int | str, dict[str, Any]] = {
    202: {"description": "Held in the change request named by Change-Request"}
}
ChangeRequest = Annotated[
    str | None,
    Header(
        alias=CHANGE_REQUEST_HEADER,
        description="The change request this write joins: held (202), applied when approved",
    ),
]


def _crs(content_crs: str | None) -> tuple[int, bool]:
    """The SRID of the body's coordinates, and whether they are latitude first
    (EPSG:4326 is, CRS84 is not)."""
    if not content_crs or not content_crs.strip():
        return 4326, False
    try:
        _, srid, lat_first = ogc_crs(content_crs.strip().strip("<>"))
    except CRSError as exc:
        raise BadRequest("Content-Crs", str(exc)) from None
    return srid, lat_first


async def _body(request: Request) -> bytes:
    too_large = HTTPException(413, f"a feature body is at most {MAX_BODY // 2**20} MiB")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise too_large
    return bytes(body)


@dataclass(frozen=True)
class Parsed:
    """A write's body as the client sent it (JSON), and as checked changes."""

    feature: Any
    changes: editing.Changes
    srid: int
    lat_first: bool


def _changes(layer: Layer, body: bytes, srid: int, partial: bool, lat_first: bool) -> Parsed:
    try:
        feature = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("body", f"not JSON: {exc}") from None
    try:
        changes = editing.parse(layer, feature, srid, partial=partial, lat_first=lat_first)
        return Parsed(feature, changes, srid, lat_first)
    except editing.FeatureError as exc:
        where = exc.where.replace("/", ".")
        raise BadRequest(f"body{where}", exc.detail) from None


async def _parse(request: Request, layer: Layer, content_crs: str | None, partial: bool) -> Parsed:
    """The body as checked changes; a large one is read off the event loop (JSON and
    shapely on megabytes of coordinates would hold up every other request, tiles too)."""
    srid, lat_first = _crs(content_crs)
    body = await _body(request)
    work = functools.partial(_changes, layer, body, srid, partial, lat_first)
    return work() if len(body) < OFF_LOOP_BYTES else await run_in_threadpool(work)


@asynccontextmanager
async def writing(
    request: Request,
    who: Principal,
    reason: str | None,
    unconditional: bool = False,
    reverts: int | None = None,
    decision: str | None = None,
    dossier: str | None = None,
) -> AsyncIterator[AsyncConnection]:
    """One transaction for the request's write, with who and why set in it (the decision
    and dossier headers too, or the ``decision`` a move cites); a rule of the database
    that refuses it is a 422 naming the rule (and nothing is written)."""
    headers = request.headers
    grounds = editing.Grounds(
        decision=decision or reason_of(headers.get(DECISION_HEADER), DECISION_HEADER),
        dossier=dossier or reason_of(headers.get(DOSSIER_HEADER), DOSSIER_HEADER),
        reverts=reverts,
    )
    ensure_database_up(request)
    async with request.app.state.engine.connect() as conn:
        await conn.execution_options(isolation_level="READ COMMITTED")
        try:
            async with conn.begin():
                context = editing.context(who.name, "api", reason, unconditional, grounds)
                await conn.execute(context)
                yield conn
        except DBAPIError as exc:  # IntegrityError and DataError among them
            _refuse_by_rule(request, exc)
            raise


#: SQLSTATE classes a feature's values can break: integrity (23), data (22), and the
#: check_violation that the database's rule triggers raise.
RULE_CLASSES = ("23", "22")


def _refuse_by_rule(request: Request, exc: DBAPIError) -> None:
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or ""
    if state in ("40001", "40P01"):  # a deadlock or serialization failure: try again
        raise retry_later("the change met another at the same time; send it again") from None
    if not state.startswith(RULE_CLASSES):
        return
    diag = getattr(orig, "diag", None)
    rule = getattr(diag, "constraint_name", None) or getattr(diag, "column_name", None)
    message = getattr(diag, "message_primary", None) or "refused by a rule of the data"
    raise RuleBroken(rule or f"SQLSTATE {state}", message, request.url.path) from None


async def _in_units(conn: AsyncConnection, layer: Layer, key: int, who: Principal) -> None:
    if not who.units:
        return
    outside = (await conn.execute(editing.outside_units(layer, key, who.units))).scalar()
    if outside:
        raise HTTPException(
            403, f"the feature lies outside the units of {who.name} ({', '.join(who.units)})"
        )


def _answer(request: Request, layer: Layer, written: Any, status: int = 200) -> Response:
    """The feature a write returned (:func:`layers.editing.create`), with its ETag."""
    key, version = written.key, written.version
    body = feature_body(request, layer, str(key), written.feature)
    headers = {
        "ETag": f'"{version}"',
        "Content-Crs": f"<{CRS84_URI}>",
    }
    if status == 201:
        headers["Location"] = f"{base_url(request)}{_items_path(request, layer)}/{key}"
    return Response(body, status_code=status, media_type=GEOJSON, headers=headers)


def _items_path(request: Request, layer: Layer) -> str:
    decision = request.scope.get(DECISION)
    prefix = rules.STAFF_PREFIX if decision is not None and decision.staff else ""
    return f"{prefix}/collections/{layer.id}/items"


def writer(request: Request) -> Principal:
    who = principal(request)
    if who is None:  # the gate refuses first; never write as nobody
        raise HTTPException(401, "writes need credentials")
    return who


@router.post(
    "/collections/{collection_id}/items",
    summary="Add a feature (staff)",
    status_code=201,
    response_class=Response,
    responses={
        201: {"content": {GEOJSON: {}}},
        **HELD,
        **problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
    },
    openapi_extra=_body_doc(FEATURE_SCHEMA, GEOJSON, "application/json"),
)
async def create(
    request: Request,
    layer: LayerDep,
    content_crs: ContentCrs = None,
    reason: Reason = None,
    change_request: ChangeRequest = None,
) -> Response:
    who = writer(request)
    held = _request_id(change_request)
    parsed = await _parse(request, layer, content_crs, partial=False)
    if held is not None:
        return await _hold(request, who, layer, held, "create", None, None, parsed)
    audience = rules.audience(who, layer.id)
    async with writing(request, who, reason_of(reason)) as conn:
        await _direct(conn, layer, "create", None, parsed.changes)
        written = (await conn.execute(editing.create(layer, parsed.changes, audience))).one()
        await _in_units(conn, layer, written.key, who)
        return _answer(request, layer, written, status=201)


async def _change(
    request: Request,
    layer: Layer,
    feature_id: str,
    if_match: str | None,
    reason: str | None,
    parsed: Parsed | None,
    change_request: str | None = None,
    operation: str = "delete",
) -> Response:
    """PUT, PATCH (``parsed``) and DELETE (None): the same preconditions."""
    who = writer(request)
    held = _request_id(change_request)
    changes = parsed.changes if parsed is not None else None
    if if_match is not None and not if_match.strip():
        if_match = None  # an empty list of ETags is no condition
    key = feature_key(layer, feature_id)
    if key is None:
        raise HTTPException(404, f"no feature {feature_id!r} in {layer.id}")
    settings = request.app.state.settings.server
    if if_match is None and settings.require_if_match:
        raise HTTPException(
            428, "send If-Match with the feature's ETag (GET it first), or '*' to overwrite"
        )
    versions = _versions(if_match)
    if held is not None:
        based_on = await _based_on(request, layer, feature_id, key, versions, who)
        return await _hold(request, who, layer, held, operation, key, based_on, parsed)
    audience = rules.audience(who, layer.id)
    async with writing(request, who, reason_of(reason), unconditional=if_match is None) as conn:
        await _in_units(conn, layer, key, who)
        await _direct(conn, layer, operation, key, changes)
        if changes is None:
            statement = editing.remove(layer, key, versions)
        else:
            statement = editing.change(layer, key, changes, versions, audience)
        written = (await conn.execute(statement)).one_or_none()
        if written is None:
            await _not_written(conn, layer, feature_id, key)
        if changes is None:
            return Response(status_code=204)
        await _in_units(conn, layer, key, who)
        return _answer(request, layer, written)


async def _direct(
    conn: AsyncConnection,
    layer: Layer,
    operation: str,
    key: int | None,
    changes: editing.Changes | None,
) -> None:
    """A write made at once may not touch legal data (an approved plan's zones or
    boundary, a parcel's legal record): 409, send it in a change request."""
    needs = change_requests.needs_request(layer, operation, key, changes)
    if isinstance(needs, str):
        what: Any = ("", needs)
    elif needs is None:
        return
    else:
        what = (await conn.execute(needs)).first()
    if what is not None:
        raise Conflict(
            f"{what[1]}{f' ({what[0]})' if what[0] else ''} change only through a change "
            "request: draft one "
            f"(POST /change-requests) and send this write with {CHANGE_REQUEST_HEADER}: <id>",
            needs_change_request=True,
        )


def _request_id(given: str | None) -> int | None:
    if given is None or not given.strip():
        return None
    if not given.strip().isdigit() or len(given.strip()) > 18:
        raise BadRequest(CHANGE_REQUEST_HEADER, "the id of a change request (digits)")
    return int(given)


async def _based_on(
    request: Request,
    layer: Layer,
    feature_id: str,
    key: int,
    versions: tuple[int, ...] | None,
    who: Principal,
) -> int:
    """The version a held edit is based on: the feature's current one, which If-Match
    (when sent) must name (412 otherwise, as for a write made at once)."""
    ensure_database_up(request)
    async with request.app.state.engine.connect() as conn:
        await _in_units(conn, layer, key, who)
        found = (await conn.execute(editing.current(layer, key))).one_or_none()
        if found is None or (versions is not None and found.version not in versions):
            await _not_written(conn, layer, feature_id, key)
    return int(found.version)


async def _hold(
    request: Request,
    who: Principal,
    layer: Layer,
    request_id: int,
    operation: str,
    key: int | None,
    based_on: int | None,
    parsed: Parsed | None,
) -> Response:
    """The write joins the change request instead of being made: 202, and where the
    request is."""
    edit = change_requests.Edit(
        operation=operation,
        layer=layer.id,
        feature_id=key,
        based_on=based_on,
        body=parsed.feature if parsed else None,
        srid=parsed.srid if parsed else 4326,
        lat_first=parsed.lat_first if parsed else False,
    )
    ensure_database_up(request)
    async with request.app.state.engine.begin() as conn:
        try:
            edit_id = await conn.run_sync(change_requests.join, request_id, edit, who.name)
        except change_requests.Refused as exc:
            if exc.status == 409:
                raise Conflict(exc.detail) from None
            raise HTTPException(exc.status, exc.detail) from None
    decision = request.scope.get(DECISION)
    prefix = rules.STAFF_PREFIX if decision is not None and decision.staff else ""
    where = f"{base_url(request)}{prefix}/change-requests/{request_id}"
    body = {
        "change_request": request_id,
        "edit": edit_id,
        "operation": operation,
        "collection": layer.id,
        "feature": key,
        "based_on": based_on,
    }
    return Response(
        orjson.dumps(body),
        status_code=202,
        media_type="application/json",
        headers={"Location": where},
    )


async def _not_written(conn: AsyncConnection, layer: Layer, feature_id: str, key: int) -> None:
    """Why a conditional write found no row: none with the id (404), or one at another
    version (412, saying who wrote that one and when)."""
    found = (await conn.execute(editing.current(layer, key))).one_or_none()
    if found is None:
        raise HTTPException(404, f"no feature {feature_id!r} in {layer.id}")
    raise HTTPException(
        412,
        f"the feature has changed: version {found.version}, written by "
        f"{found.updated_by} at {found.updated_at.isoformat()}; GET it again",
        headers={"ETag": f'"{found.version}"'},
    )


def _versions(if_match: str | None) -> tuple[int, ...] | None:
    """The versions an If-Match names (RFC 9110: ``*``, or a list of strong ETags);
    None for any. A weak or malformed tag names no version of ours (a 412)."""
    if if_match is None:
        return None
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:
        return None
    return tuple(int(tag[1:-1]) for tag in tags if _VERSION_TAG.fullmatch(tag))


#: A strong ETag of ours: a row version (bigint) in quotes.
_VERSION_TAG = re.compile(r'"[0-9]{1,18}"')


FEATURE_PATH = "/collections/{collection_id}/items/{feature_id}"
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 503)


@router.put(
    FEATURE_PATH,
    summary="Replace a feature (staff)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **HELD, **WRITE_ERRORS},
    openapi_extra=_body_doc(FEATURE_SCHEMA, GEOJSON, "application/json"),
)
async def replace(
    request: Request,
    layer: LayerDep,
    feature_id: FeatureId,
    if_match: IfMatch = None,
    content_crs: ContentCrs = None,
    reason: Reason = None,
    change_request: ChangeRequest = None,
) -> Response:
    parsed = await _parse(request, layer, content_crs, partial=False)
    return await _change(
        request, layer, feature_id, if_match, reason, parsed, change_request, "replace"
    )


@router.patch(
    FEATURE_PATH,
    summary="Change some properties or the geometry of a feature (JSON merge patch; staff)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **HELD, **WRITE_ERRORS},
    openapi_extra=_body_doc(PATCH_SCHEMA, "application/merge-patch+json", "application/json"),
)
async def patch(
    request: Request,
    layer: LayerDep,
    feature_id: FeatureId,
    if_match: IfMatch = None,
    content_crs: ContentCrs = None,
    reason: Reason = None,
    change_request: ChangeRequest = None,
) -> Response:
    parsed = await _parse(request, layer, content_crs, partial=True)
    return await _change(
        request, layer, feature_id, if_match, reason, parsed, change_request, "update"
    )


@router.delete(
    FEATURE_PATH,
    summary="Delete a feature (staff; not parcels nor planning projects)",
    status_code=204,
    response_class=Response,
    responses={
        204: {"description": "Deleted"},
        **HELD,
        **problems(400, 401, 403, 404, 405, 409, 412, 428, 503),
    },
)
async def remove(
    request: Request,
    layer: LayerDep,
    feature_id: FeatureId,
    if_match: IfMatch = None,
    reason: Reason = None,
    change_request: ChangeRequest = None,
) -> Response:
    if not layer.deletable:
        allowed = ", ".join(_methods(request, layer, item=True))
        raise HTTPException(
            405,
            f"{layer.id} are never deleted: they are retired or cancelled by a decision",
            headers={"Allow": allowed},
        )
    return await _change(request, layer, feature_id, if_match, reason, None, change_request)


def _methods(request: Request, layer: Layer, item: bool) -> list[str]:
    methods = rules.allowed_methods(principal(request), layer.id, item)
    return [m for m in methods if m != "DELETE" or layer.deletable]


@router.options(
    "/collections/{collection_id}/items",
    summary="The methods the caller may use on the items",
    status_code=204,
    response_class=Response,
    responses=problems(404),
)
async def items_options(request: Request, layer: LayerDep) -> Response:
    return Response(status_code=204, headers={"Allow": ", ".join(_methods(request, layer, False))})


@router.options(
    FEATURE_PATH,
    summary="The methods the caller may use on the feature",
    status_code=204,
    response_class=Response,
    responses=problems(404),
)
async def feature_options(request: Request, layer: LayerDep, feature_id: FeatureId) -> Response:
    allowed = ", ".join(_methods(request, layer, True))
    return Response(status_code=204, headers={"Allow": allowed})
