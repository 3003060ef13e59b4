"""Vector tiles (OGC API Tiles, WebMercatorQuad) per collection and for the whole map."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from api import past
from api.errors import BadRequest, ensure_database_up, problems
from api.http import cached
from api.links import base_url
from api.params import AS_OF
from api.routing import PathRoute
from api.staff import rules
from api.staff.auth import principal
from layers import exports, history, tiles
from layers.base import Layer

#: Every endpoint here takes only the request and path parameters (api/routing.py).
router = APIRouter(tags=["tiles"], route_class=PathRoute)

MVT = "application/vnd.mapbox-vector-tile"
#: ``as-of``, read by the routes themselves: documented here.
AS_OF_DOC = {
    "name": AS_OF,
    "in": "query",
    "required": False,
    "description": "The tile as the data stood at this RFC 3339 date-time (docs/history.md)",
    "schema": {"type": "string", "examples": ["2025-01-01T00:00:00Z"]},
}
MATRIX_SET = "WebMercatorQuad"


async def _tile(request: Request, layers: tuple[Layer, ...], z: int, x: int, y: int) -> Response:
    if not tiles.in_matrix(z, x, y):
        raise HTTPException(404, f"tile {z}/{x}/{y} is outside the {MATRIX_SET} tile matrix set")
    who = principal(request)
    audiences = tuple(rules.audience(who, layer.id) for layer in layers) if who else None
    as_of = request.query_params.get(AS_OF)
    asked = past.statement(as_of) if as_of is not None else None  # a 400 before any query
    sql, constants = tiles.compiled(layers, z, audiences, asked is not None)
    ensure_database_up(request)
    async with request.app.state.driver_pool.connection() as conn:
        values = {**constants, "x": x, "y": y}
        if asked is not None:
            resolve, given = exports.compiled(asked)
            values[history.AS_OF] = past.found(
                await (await conn.execute(resolve, given)).fetchone()
            )
        cursor = await conn.execute(sql, values)
        (data,) = await cursor.fetchone()
    if not data:
        return cached(request, b"", MVT, status_code=204)
    return cached(request, bytes(data), MVT)


@router.get(
    f"/collections/{{collection_id}}/tiles/{MATRIX_SET}/{{z}}/{{x}}/{{y}}",
    summary="A vector tile of one collection",
    response_class=Response,
    responses={
        200: {"content": {MVT: {}}},
        204: {"description": "No features"},
        **problems(304, 400, 404, 503),
    },
    openapi_extra={"parameters": [AS_OF_DOC]},
)
async def collection_tile(request: Request, collection_id: str, z: int, x: int, y: int) -> Response:
    layer = request.app.state.registry[collection_id]  # UnknownLayerError -> 404 problem
    return await _tile(request, (layer,), z, x, y)


def _chosen_layers(request: Request) -> tuple[Layer, ...]:
    """Every layer, or those ``collections=a,b`` names, in that order (MVT layers are drawn
    in the order a tile holds them)."""
    registry = request.app.state.registry
    asked = request.query_params.get("collections")
    if asked is None:
        return tuple(registry.values())
    names = [name.strip() for name in asked.split(",")]
    unknown = [name for name in names if name not in registry]
    if unknown or not names or len(set(names)) != len(names):
        raise BadRequest(
            "collections",
            f"a comma-separated list of distinct collections of {', '.join(registry)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
        )
    return tuple(registry[name] for name in names)


@router.get(
    f"/tiles/{MATRIX_SET}/{{z}}/{{x}}/{{y}}",
    summary="A vector tile of every layer (or of `collections=a,b`, in that order)",
    response_class=Response,
    responses={
        200: {"content": {MVT: {}}},
        204: {"description": "No features"},
        **problems(304, 400, 404, 503),
    },
    # Read by the route itself (a PathRoute takes path parameters only): documented here.
    openapi_extra={
        "parameters": [
            {
                "name": "collections",
                "in": "query",
                "required": False,
                "description": "Comma-separated collections, in drawing order (default: all)",
                "schema": {"type": "string", "examples": ["admin_units,plan_zones,parcels"]},
            },
            AS_OF_DOC,
        ]
    },
)
async def map_tile(request: Request, z: int, x: int, y: int) -> Response:
    return await _tile(request, _chosen_layers(request), z, x, y)


def _tilejson(request: Request, layers: list[Layer], path: str, name: str) -> dict:
    return {
        "tilejson": "3.0.0",
        "name": name,
        "scheme": "xyz",
        "tiles": [f"{base_url(request)}{path}/{{z}}/{{x}}/{{y}}"],
        "minzoom": min(layer.min_zoom for layer in layers),
        "maxzoom": min(max(layer.max_zoom for layer in layers), tiles.MAX_ZOOM),
        "bounds": [106.13, 22.57, 106.35, 22.73],
        "center": [106.26, 22.666, 13],
        "vector_layers": [
            {
                "id": layer.id,
                "description": layer.title,
                "minzoom": layer.min_zoom,
                "maxzoom": layer.max_zoom,
                "fields": tiles.tile_properties(layer),
            }
            for layer in layers
        ],
    }


@router.get(
    f"/collections/{{collection_id}}/tiles/{MATRIX_SET}/tilejson.json",
    summary="TileJSON of one collection",
    responses=problems(404),
)
async def collection_tilejson(request: Request, collection_id: str) -> JSONResponse:
    layer = request.app.state.registry[collection_id]
    path = f"/collections/{layer.id}/tiles/{MATRIX_SET}"
    return JSONResponse(_tilejson(request, [layer], path, layer.title))


@router.get(f"/tiles/{MATRIX_SET}/tilejson.json", summary="TileJSON of the map")
async def map_tilejson(request: Request) -> JSONResponse:
    layers = list(request.app.state.registry.values())
    return JSONResponse(_tilejson(request, layers, f"/tiles/{MATRIX_SET}", "landplan"))
