"""The history, for staff: a feature's versions, the change sets, a change set's diff,
and its revert (docs/history.md). Anonymous callers never reach these routes (the
authorization table, api/staff/rules.py); what each role reads of them is its audience
of each layer, as everywhere else.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from api import params
from api.deps import ConnectionDep, LayerDep
from api.errors import BadRequest, Conflict, problems
from api.http import cached
from api.links import base_url
from api.params import REASON_HEADER
from api.params import reason as reason_of
from api.routers.editing import writer, writing
from api.routers.features import GEOJSON
from api.staff import rules
from api.staff.auth import DECISION, principal
from layers import history
from layers.accounts import Principal
from layers.base import Layer

router = APIRouter(tags=["history"])

ChangeId = Annotated[params.Integer, FastPath(ge=1, le=2**62, examples=[2])]
MAX_CHANGES = 500
MAX_DIFF = 1_000


def _prefix(request: Request) -> str:
    decision = request.scope.get(DECISION)
    return rules.STAFF_PREFIX if decision is not None and decision.staff else ""


def _href(request: Request, path: str) -> str:
    return f"{base_url(request)}{_prefix(request)}{path}"


def _link(request: Request, rel: str, **changes: Any) -> dict[str, str]:
    """This page (``changes``: the next one) at the service's public address."""
    url = request.url.include_query_params(**changes) if changes else request.url
    query = f"?{url.query}" if url.query else ""
    return {"href": f"{base_url(request)}{url.path}{query}", "rel": rel, "type": GEOJSON}


def _staff(request: Request) -> Principal:
    who = principal(request)
    if who is None:  # the gate refuses first
        raise HTTPException(401, "the history is for signed-in staff")
    return who


def readable(request: Request, who: Principal) -> tuple[str, ...]:
    """The journal's layers whose changes ``who`` sees: a layer it reads whole, or one
    that is all public; the holders for those who read them."""
    registry = request.app.state.registry
    found = []
    for name, layer in registry.items():
        audience = rules.audience(who, name)
        if audience.all_rows or layer.public_filter is None:
            found.append(name)
    if rules.audience(who, "parcels").personal:
        found.append(history.HOLDERS)
    return tuple(found)


#: What a change set says of why: free text, which for a holders' change may name them.
WORDS = ("reason", "decision", "dossier")


def _shown(change_set: dict | None, personal: bool) -> dict | None:
    """A change set as the reader may see it: the words of a change of holders are for
    those who read holders."""
    if change_set is None:
        return None
    holders = change_set.pop("holders", False)
    if holders and not personal:
        return {**change_set, **dict.fromkeys(WORDS), "withheld": list(WORDS)}
    return change_set


def _version_feature(row: Any, personal: bool) -> dict[str, Any]:
    feature = orjson.loads(row.feature)
    opened, closed = _shown(row.opened, personal) or {}, _shown(row.closed, personal)
    feature["version"] = row.version
    feature["valid"] = {"from": opened.get("opened_at"), "to": closed and closed["opened_at"]}
    feature["written_by"] = opened
    feature["ended_by"] = closed
    return feature


@router.get(
    "/collections/{collection_id}/items/{feature_id}/history",
    summary="Every version of a feature, with the change set of each (staff)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **problems(304, 400, 401, 404, 503)},
)
async def feature_history(
    request: Request,
    layer: LayerDep,
    conn: ConnectionDep,
    feature_id: Annotated[str, FastPath(examples=["1"])],
    crs: params.CrsParam = None,
) -> Response:
    who = _staff(request)
    _, out_crs = params.output_crs(crs)
    key = params.feature_key(layer, feature_id)
    rows = []
    audience = rules.audience(who, layer.id)
    if key is not None:
        statement = history.feature_versions(layer, key, out_crs, audience)
        rows = list((await conn.execute(statement)).all())
    if not rows:
        raise HTTPException(404, f"no feature {feature_id!r} in {layer.id}, now or before")
    path = f"/collections/{layer.id}/items/{feature_id}"
    body = {
        "type": "FeatureCollection",
        "features": [_version_feature(row, audience.personal) for row in rows],
        "numberReturned": len(rows),
        "links": [
            {"href": _href(request, f"{path}/history"), "rel": "self", "type": GEOJSON},
            {"href": _href(request, path), "rel": "latest-version", "type": GEOJSON},
        ],
    }
    return cached(request, orjson.dumps(body), GEOJSON)


def _interval(value: str | None) -> tuple[Any, Any]:
    """``datetime=start/end`` of date-times (``..`` or empty: open)."""
    if value is None:
        return None, None
    parts = value.split("/")
    if len(parts) > 2:
        raise BadRequest("datetime", "a date-time, or start/end (.. for an open end)")
    bounds = [None if p in ("", "..") else params.moment("datetime", p) for p in parts]
    return (bounds[0], bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])


def _box(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        box = tuple(float(v) for v in value.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not (box[0] <= box[2] and box[1] <= box[3]):
        raise BadRequest("bbox", "minlon,minlat,maxlon,maxlat in WGS 84")
    return box


def _summary(change_set: dict, statements: list[dict], personal: bool) -> dict[str, Any]:
    """A change set with its statements counted by layer and operation."""
    change_set = _shown(change_set, personal) or {}
    layers: dict[str, dict[str, int]] = {}
    for s in statements:
        counts = layers.setdefault(s["layer"], {})
        counts[s["operation"]] = counts.get(s["operation"], 0) + s["rows"]
    return {**change_set, "layers": layers}


def _change_feature(request: Request, row: Any, personal: bool) -> dict[str, Any]:
    summary = _summary(row.change_set, row.statements, personal)
    return {
        "type": "Feature",
        "id": summary["id"],
        "geometry": orjson.loads(row.bbox) if row.bbox else None,
        "properties": summary,
        "links": [
            {"href": _href(request, f"/changes/{summary['id']}"), "rel": "item", "type": GEOJSON}
        ],
    }


@router.get(
    "/changes",
    summary="Change sets, newest first (staff): who, when, why, which layers, where",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **problems(304, 400, 401, 403, 503)},
)
async def changes(
    request: Request,
    conn: ConnectionDep,
    actor: Annotated[str | None, Query(max_length=200, description="Who: an account, cli")] = None,
    layer: Annotated[str | None, Query(max_length=100, examples=["plan_zones"])] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    datetime: Annotated[
        str | None, Query(description="When: start/end date-times (RFC 3339, .. open)")
    ] = None,
    limit: Annotated[params.Integer, Query(ge=1, le=MAX_CHANGES)] = 50,
    before: Annotated[params.Integer | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    who = _staff(request)
    visible = readable(request, who)
    if layer is not None and layer not in visible:
        known = set(request.app.state.registry) | {history.HOLDERS}
        if layer not in known:
            raise BadRequest("layer", f"one of {', '.join(sorted(known))}")
        raise HTTPException(403, f"the role {who.role} does not see the changes of {layer}")
    start, end = _interval(datetime)
    query = history.ChangesQuery(
        readable=visible,
        actor=params.text("actor", actor) if actor else None,
        layer=layer,
        bbox=_box(bbox),
        start=start,
        end=end,
        limit=limit,
        before=before,
    )
    rows = list((await conn.execute(history.change_sets(query))).all())
    more, rows = len(rows) > limit, rows[:limit]
    links = [_link(request, "self")]
    if more:
        links.append(_link(request, "next", before=rows[-1].change_set["id"]))
    body = {
        "type": "FeatureCollection",
        "features": [_change_feature(request, row, history.HOLDERS in visible) for row in rows],
        "numberReturned": len(rows),
        "links": links,
    }
    return cached(request, orjson.dumps(body), GEOJSON)


def _diff_features(layer: Layer, row: Any) -> list[dict[str, Any]]:
    """A touched feature as GeoJSON: its version before and after, each with the
    attributes that changed between them and the area gained and lost."""
    before = orjson.loads(row.before) if row.before else None
    after = orjson.loads(row.after) if row.after else None
    operation = (
        "created"
        if row.version_before is None
        else "deleted"
        if row.version_after is None
        else "changed"
    )
    old = (before or {}).get("properties", {})
    new = (after or {}).get("properties", {})
    changed = {
        name: {"before": old.get(name), "after": new.get(name)}
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    }
    common = {
        "layer": layer.id,
        "feature_id": row.feature_id,
        "operation": operation,
        "changed": changed,
        "geometry_changed": (before or {}).get("geometry") != (after or {}).get("geometry"),
        "area_gained_m2": round(row.gained_m2, 2),
        "area_lost_m2": round(row.lost_m2, 2),
    }
    found = []
    for state, side, version in (
        ("before", before, row.version_before),
        ("after", after, row.version_after),
    ):
        if side is not None:
            found.append(
                {
                    "type": "Feature",
                    "id": f"{layer.id}/{row.feature_id}/{state}",
                    "geometry": side["geometry"],
                    "properties": {
                        **common,
                        "state": state,
                        "version": version,
                        "attributes": side["properties"],
                    },
                }
            )
    return found


def _cursor(value: str | None, layers: list[str]) -> tuple[str, int] | None:
    if value is None:
        return None
    name, _, key = value.partition(":")
    if name not in layers or not key.isdigit() or len(key) > 18:
        raise BadRequest("after", "layer:feature_id, as the next link gives it")
    return name, int(key)


@router.get(
    "/changes/{change_id}",
    summary="What a change set did, as GeoJSON: each feature before and after, the "
    "attributes changed and the m² gained and lost (VN-2000) (staff)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **problems(304, 400, 401, 404, 503)},
)
async def change(
    request: Request,
    conn: ConnectionDep,
    change_id: ChangeId,
    limit: Annotated[params.Integer, Query(ge=1, le=MAX_DIFF)] = 100,
    after: Annotated[str | None, Query(max_length=140, description="layer:feature_id")] = None,
) -> Response:
    who = _staff(request)
    visible = readable(request, who)
    found = (await conn.execute(history.one_change_set(change_id, visible))).one_or_none()
    if found is None:
        raise HTTPException(404, f"no change set {change_id} that {who.name} may read")
    summary = _summary(found.change_set, found.statements, history.HOLDERS in visible)
    registry = request.app.state.registry
    layers = [name for name in registry if name in summary["layers"]]
    if history.HOLDERS in summary["layers"] and "parcels" not in layers:
        layers.append("parcels")  # holders are read as their parcel's
    cursor = _cursor(after, layers)
    features: list[dict[str, Any]] = []
    room, following = limit, None
    for name in layers[layers.index(cursor[0]) if cursor else 0 :]:
        layer = registry[name]
        start = cursor[1] if cursor and cursor[0] == name else None
        statement = history.diff(layer, change_id, rules.audience(who, name), start, room)
        rows = list((await conn.execute(statement)).all())
        for row in rows[:room]:
            features += _diff_features(layer, row)
        if len(rows) > room:  # the page is full: the next one goes on from its last row
            following = f"{name}:{rows[room - 1].feature_id if room else start or 0}"
            break
        room -= len(rows)
    links = [_link(request, "self")]
    if following:
        links.append(_link(request, "next", after=following))
    revert = _href(request, f"/changes/{change_id}/revert")
    links.append({"href": revert, "rel": "revert", "type": "application/json"})
    body = {
        "type": "FeatureCollection",
        "change_set": summary,
        "features": features,
        "numberReturned": len(features),
        "links": links,
    }
    return cached(request, orjson.dumps(body), GEOJSON)


async def _may_revert(
    request: Request, conn: AsyncConnection, who: Principal, layers: set[str], change_id: int
) -> None:
    """Whoever reverts must write every layer the change set wrote, within their units."""
    refused = []
    for name in sorted(layers):
        if name == history.HOLDERS:
            if not rules.audience(who, "parcels").personal:
                refused.append(name)
        elif not rules.may_write(who, name):
            refused.append(name)
    if refused:
        raise HTTPException(
            403, f"the change set wrote {', '.join(refused)}, which the role {who.role} does not"
        )
    if who.units:
        for target in history.targets(request.app.state.registry):
            if target.name in layers and target.name != history.HOLDERS:
                statement = history.outside_units(target, change_id, who.units)
                if (await conn.execute(statement)).scalar():
                    raise HTTPException(
                        403,
                        f"the change set wrote {target.name} outside the units of {who.name}",
                    )


@router.post(
    "/changes/{change_id}/revert",
    summary="Undo a change set, as a new change set (staff who write its layers)",
    status_code=201,
    responses=problems(400, 401, 403, 404, 409, 422, 503),
)
async def revert(request: Request, change_id: ChangeId) -> Response:
    who = writer(request)
    reason = reason_of(request.headers.get(REASON_HEADER)) or f"revert of change set {change_id}"
    targets = history.targets(request.app.state.registry)
    async with writing(request, who, reason, reverts=change_id) as conn:
        edits = history.EDITS
        statement = select(edits.c.layer).where(edits.c.change_set == change_id).distinct()
        layers = set((await conn.execute(statement)).scalars())
        if not layers:
            raise HTTPException(404, f"no change set {change_id} that wrote anything")
        await _may_revert(request, conn, who, layers, change_id)
        mine = [target for target in targets if target.name in layers]
        for target in mine:  # nobody changes them from here on; then what came before
            await conn.execute(history.lock(target, change_id))
        later = [
            {"layer": target.name, "feature_id": key, "change_sets": sets}
            for target in mine
            for key, sets in (await conn.execute(history.later_changes(target, change_id))).all()
        ]
        if later:
            raise Conflict(
                f"later change sets changed {len(later)} of the features change set "
                f"{change_id} touched: revert those first, or edit by hand",
                later_changes=later[:1000],
            )
        deleted = {target.table: target.key for target in mine}
        for target in mine:
            statement = history.outside_references(target, change_id, deleted)
            if (await conn.execute(statement)).scalar():
                raise Conflict(
                    f"rows outside change set {change_id} refer to {target.name} it created: "
                    "deleting those would change them too; revert or edit them first",
                    layer=target.name,
                )
        done = {target.name: {"deleted": 0, "restored": 0, "reinserted": 0} for target in mine}
        # Versions back first (a holder deleted or put back stamps its parcel), then the
        # creations undone (rows that refer first), then the deletions (referred first).
        for target in mine:
            changed = await conn.execute(history.undo_changes(target, change_id))
            done[target.name]["restored"] = changed.rowcount
        for target in reversed(mine):
            removed = await conn.execute(history.undo_creations(target, change_id))
            done[target.name]["deleted"] = removed.rowcount
        for target in mine:
            inserted = await conn.execute(history.undo_deletions(target, change_id))
            done[target.name]["reinserted"] = len(inserted.all())
        new = (await conn.execute(select(func.landplan_change_set()))).scalar_one()
    body = {"change_set": new, "reverts": change_id, "layers": done}
    location = _href(request, f"/changes/{new}")
    return Response(
        orjson.dumps(body), 201, media_type="application/json", headers={"Location": location}
    )
