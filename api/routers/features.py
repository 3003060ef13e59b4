"""OGC API Features: items, single features, queryables (Parts 1, 2 and 3)."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as FastPath
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError

from api import params, past
from api.deps import ConnectionDep, LayerDep, heavy_slot, in_worker
from api.errors import BadRequest, problems
from api.http import cached
from api.links import base_url, link
from api.session import SESSION_OPTIONS
from api.staff import rules
from api.staff.auth import principal
from layers import exports, features, history
from layers.properties import Kind, kind

router = APIRouter(tags=["features"])
log = logging.getLogger("landplan.api")

#: Pages larger than this count as heavy work (api.deps.heavy_slot).
HEAVY_PAGE = 1_000

#: Media types of the downloads (a Shapefile comes zipped with its parts).
DOWNLOAD_TYPES = {
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
    "csv": "text/csv; charset=utf-8",
    "dxf": "image/vnd.dxf",
}

GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"


def _page_link(request: Request, rel: str, **changes: int) -> dict:
    query = {k: v for k, v in request.query_params.items() if k not in ("after", "before")}
    query.update({k: str(v) for k, v in changes.items()})
    url = request.url.replace_query_params(**query)
    return {"href": f"{base_url(request)}{url.path}?{url.query}", "rel": rel, "type": GEOJSON}


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection",
    response_class=Response,
    responses={
        200: {"content": {GEOJSON: {}, **{t: {} for t in set(DOWNLOAD_TYPES.values())}}},
        **problems(304, 400, 404, 503),
    },
)
async def items(
    request: Request,
    layer: LayerDep,
    conn: ConnectionDep,
    p: Annotated[params.ItemsParams, Depends()],
) -> Response:
    crs_uri, out_crs = params.output_crs(p.crs)
    query = params.items_query(layer, p, request.query_params)
    audience = rules.audience(principal(request), layer.id)
    then = await past.change_set(conn, p.as_of)
    if p.f in params.DOWNLOADS:
        async with heavy_slot(request):
            return await _download(request, layer, query, p.f, out_crs.srid, then)
    if query.limit > HEAVY_PAGE:
        async with heavy_slot(request):
            return await _page(request, layer, conn, query, crs_uri, out_crs, audience, then)
    return await _page(request, layer, conn, query, crs_uri, out_crs, audience, then)


def _at(statement, then: int | None):
    """The statement as of the change set ``then`` (None: now)."""
    return statement if then is None else history.as_of(statement, then)


async def _page(request, layer, conn, query, crs_uri: str, out_crs, audience, then) -> Response:
    try:
        statement = _at(features.items(layer, query, out_crs, audience), then)
        rows = list((await conn.execute(statement)).all())
    except DBAPIError as exc:
        _refuse_failed_filter(exc, layer.id, query)
        raise
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    if query.before is not None:
        rows.reverse()
    links = [
        _page_link(request, "self"),
        link(request, f"/collections/{layer.id}", "collection", "application/json"),
    ]
    if rows and (has_more or query.before is not None):
        links.append(_page_link(request, "next", after=rows[-1][0]))
    if rows and (query.after is not None or (query.before is not None and has_more)):
        links.append(_page_link(request, "prev", before=rows[0][0]))
    meta: dict = {"numberReturned": len(rows)}
    if query.after is None and query.before is None and not has_more:
        meta["numberMatched"] = len(rows)
    elif layer.cheap_count:
        matched = await conn.execute(_at(features.count(layer, query, audience), then))
        meta["numberMatched"] = matched.scalar_one()
    meta["links"] = links
    body = (
        b'{"type":"FeatureCollection","features":['
        + ",".join(row[1] for row in rows).encode()
        + b"],"
        + orjson.dumps(meta)[1:]
    )
    return cached(request, body, GEOJSON, headers={"Content-Crs": f"<{crs_uri}>"})


async def _download(request: Request, layer, query, fmt: str, srid: int, then) -> Response:
    """The same features as the items page, as a file (public fields only), made in a
    worker process: the server's event loop goes on serving tiles meanwhile."""
    statement = exports.public_select(
        layer, where=features.filters(layer, query), limit=query.limit, after=query.after
    )
    statement = _at(statement, then)
    sql, values = exports.compiled(statement)
    url = request.app.state.settings.database.sqlalchemy_url()
    tag = f"landplan-download-{uuid.uuid4().hex[:16]}"
    work = (url.render_as_string(hide_password=False), SESSION_OPTIONS, tag, layer.id, sql)
    try:
        body = await in_worker(request, exports.download, *work, values, srid, fmt, queries=tag)
    except DBAPIError as exc:
        _refuse_failed_filter(exc, layer.id, query)
        raise
    name = f"{layer.id}.{'zip' if fmt == 'shp' else fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=DOWNLOAD_TYPES[fmt], headers=headers)


#: SQLSTATEs a filter's values can cause: data exceptions (class 22), an operator or
#: function missing for the types, a datatype mismatch.
_VALUE_ERRORS = ("22", "42883", "42804")


def _refuse_failed_filter(exc: DBAPIError, collection: str, query: features.ItemsQuery) -> None:
    """A filter the checks of layers.cql let through and the database refused: a 400 for
    the client (no database text), and an error in the log, since the checks missed it."""
    state = getattr(exc.orig, "sqlstate", None) or ""
    if (query.filter is not None or query.equals) and state.startswith(_VALUE_ERRORS):
        log.error("the database refused a checked filter on %s (SQLSTATE %s)", collection, state)
        raise BadRequest(
            "filter",
            f"the filter cannot be applied to the values of {collection}; see "
            f"/collections/{collection}/queryables",
        ) from None


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **problems(304, 400, 404, 503)},
)
async def feature(
    request: Request,
    layer: LayerDep,
    conn: ConnectionDep,
    feature_id: Annotated[str, FastPath(examples=["1"])],
    crs: params.CrsParam = None,
    as_of: params.AsOfParam = None,
) -> Response:
    crs_uri, out_crs = params.output_crs(crs)
    key = params.feature_key(layer, feature_id)
    audience = rules.audience(principal(request), layer.id)
    then = await past.change_set(conn, as_of)
    found = None
    if key is not None:
        statement = _at(features.one(layer, key, out_crs, audience), then)
        found = (await conn.execute(statement)).one_or_none()
    if found is None:
        raise HTTPException(404, f"no feature {feature_id!r} in {layer.id}")
    text, version = found
    body = feature_body(request, layer, feature_id, text)
    # The row's version is the ETag of every representation (CRS, gzip): If-Match on a
    # write compares it (api/routers/editing.py).
    return cached(
        request, body, GEOJSON, headers={"Content-Crs": f"<{crs_uri}>"}, etag=f'"{version}"'
    )


def feature_body(request: Request, layer, feature_id: str, text: str) -> bytes:
    """A feature's GeoJSON text with its links."""
    links = [
        link(request, f"/collections/{layer.id}/items/{feature_id}", "self", GEOJSON),
        link(request, f"/collections/{layer.id}", "collection", "application/json"),
    ]
    return text[:-1].encode() + b',"links":' + orjson.dumps(links) + b"}"


#: JSON Schema of each kind of property (layers.properties says which kind a column is).
SCHEMA_TYPES = {
    Kind.BOOLEAN: {"type": "boolean"},
    Kind.INTEGER: {"type": "integer"},
    Kind.NUMBER: {"type": "number"},
    Kind.DATE: {"type": "string", "format": "date"},
    Kind.ARRAY: {"type": "array"},
    Kind.TEXT: {"type": "string"},
}


@router.get(
    "/collections/{collection_id}/queryables",
    summary="Queryable properties",
    response_class=Response,
    responses={200: {"content": {SCHEMA_JSON: {}}}, **problems(304, 404)},
)
async def queryables(request: Request, layer: LayerDep) -> Response:
    properties = {
        "geometry": {"format": "geometry-multipolygon", "x-ogc-role": "primary-geometry"},
        **{
            name: {"title": name, **SCHEMA_TYPES[kind(layer.table.c[name])]}
            for name in layer.public_properties
        },
    }
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url(request)}/collections/{layer.id}/queryables",
        "type": "object",
        "title": layer.title,
        "properties": properties,
        "additionalProperties": False,
    }
    return cached(request, orjson.dumps(schema), SCHEMA_JSON)
