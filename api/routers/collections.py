"""OGC API Features collections: the public layers with titles and extents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.deps import ConnectionDep, LayerDep, RegistryDep
from api.errors import problems
from api.links import link
from gis.crs import CRS84_URI, OGC_CRS
from layers.base import Layer
from layers.queries import extent

router = APIRouter(tags=["collections"])

JSON = "application/json"
GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"


async def _describe(request: Request, conn, layer: Layer) -> dict:
    xmin, ymin, xmax, ymax = (await conn.execute(extent(layer))).one()
    spatial: dict[str, Any] = {"crs": CRS84_URI}
    if xmin is not None:
        spatial["bbox"] = [[xmin, ymin, xmax, ymax]]
    return {
        "id": layer.id,
        "title": layer.title,
        "description": layer.description,
        "itemType": "feature",
        "extent": {"spatial": spatial},
        "crs": list(OGC_CRS),
        "storageCrs": "http://www.opengis.net/def/crs/EPSG/0/9210",
        "links": [
            link(request, f"/collections/{layer.id}", "self", JSON, layer.title),
            link(request, f"/collections/{layer.id}/items", "items", GEOJSON, "Features"),
            link(
                request,
                f"/collections/{layer.id}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                SCHEMA_JSON,
                "Queryables",
            ),
        ],
    }


@router.get("/collections", summary="The public collections", responses=problems(503))
async def collections(request: Request, registry: RegistryDep, conn: ConnectionDep) -> dict:
    return {
        "collections": [await _describe(request, conn, layer) for layer in registry.values()],
        "links": [link(request, "/collections", "self", JSON, "The public collections")],
    }


@router.get(
    "/collections/{collection_id}",
    summary="One public collection",
    responses=problems(404, 503),
)
async def collection(request: Request, layer: LayerDep, conn: ConnectionDep) -> dict:
    return await _describe(request, conn, layer)
