"""Vector tiles (OGC API Tiles, WebMercatorQuad) per collection and for the whole map."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from api.deps import ConnectionDep, LayerDep, RegistryDep
from api.http import cached
from api.links import base_url
from layers import tiles
from layers.base import Layer

router = APIRouter(tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
MATRIX_SET = "WebMercatorQuad"


async def _tile(request: Request, conn, layers: list[Layer], z: int, x: int, y: int) -> Response:
    if not tiles.in_matrix(z, x, y):
        raise HTTPException(404, f"tile {z}/{x}/{y} is outside the {MATRIX_SET} tile matrix set")
    sql, constants = tiles.compiled(tuple(layers), z)
    driver = (await conn.get_raw_connection()).driver_connection
    cursor = await driver.execute(sql, {**constants, "x": x, "y": y})
    (data,) = await cursor.fetchone()
    if not data:
        return cached(request, b"", MVT, status_code=204)
    return cached(request, bytes(data), MVT)


@router.get(
    f"/collections/{{collection_id}}/tiles/{MATRIX_SET}/{{z}}/{{x}}/{{y}}",
    summary="A vector tile of one collection",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}, 204: {"description": "No features"}},
)
async def collection_tile(
    request: Request, layer: LayerDep, conn: ConnectionDep, z: int, x: int, y: int
) -> Response:
    return await _tile(request, conn, [layer], z, x, y)


@router.get(
    f"/tiles/{MATRIX_SET}/{{z}}/{{x}}/{{y}}",
    summary="A vector tile of every layer",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}, 204: {"description": "No features"}},
)
async def map_tile(
    request: Request, registry: RegistryDep, conn: ConnectionDep, z: int, x: int, y: int
) -> Response:
    return await _tile(request, conn, list(registry.values()), z, x, y)


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
)
async def collection_tilejson(request: Request, layer: LayerDep) -> dict:
    return _tilejson(request, [layer], f"/collections/{layer.id}/tiles/{MATRIX_SET}", layer.title)


@router.get(f"/tiles/{MATRIX_SET}/tilejson.json", summary="TileJSON of the map")
async def map_tilejson(request: Request, registry: RegistryDep) -> dict:
    return _tilejson(request, list(registry.values()), f"/tiles/{MATRIX_SET}", "landplan")
