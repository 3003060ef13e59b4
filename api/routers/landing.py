"""Landing page and health."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy.exc import OperationalError

from api.deps import ConnectionDep
from api.errors import problem, problems
from api.links import link
from api.routers.webmap import map_page, wants_html
from layers.queries import postgis_version

router = APIRouter(tags=["service"])

JSON = "application/json"


@router.get(
    "/",
    summary="Landing page: the public map for browsers (or f=html), links as JSON otherwise",
    responses={200: {"content": {"text/html": {}}}, **problems(400, 503)},
)
async def landing(
    request: Request,
    conn: ConnectionDep,
    f: Annotated[Literal["json", "html"] | None, Query(description="Output format")] = None,
):
    if wants_html(request, f):
        return await map_page(request, conn)
    return {
        "title": "landplan: Cao Bằng planning and land information",
        "description": "Approved plans, plan zones, cadastral parcels (public fields only), "
        "auction lots, development areas and administrative units.",
        "links": [
            link(request, "/", "self", JSON, "This document"),
            link(request, "/?f=html", "alternate", "text/html", "The public map"),
            link(
                request,
                "/openapi.json",
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.0",
                "The API definition",
            ),
            link(request, "/docs", "service-doc", "text/html", "The API documentation"),
            link(request, "/conformance", "conformance", JSON, "Conformance classes"),
            link(request, "/collections", "data", JSON, "The public collections"),
            link(request, "/health", "status", JSON, "Service health"),
        ],
    }


@router.get("/health", summary="Database reachable, PostGIS version", responses=problems(503))
async def health(conn: ConnectionDep):
    try:
        postgis, postgres = (await conn.execute(postgis_version())).one()
    except OperationalError:
        return problem(503, "the database is not reachable", title="Unhealthy")
    return {"status": "ok", "database": "reachable", "postgis": postgis, "postgres": postgres}


CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    # Part 4 (create, replace, update, delete), for staff: api/routers/editing.py.
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
]


@router.get("/conformance", summary="Conformance classes")
async def conformance() -> dict:
    return {"conformsTo": CONFORMANCE}
