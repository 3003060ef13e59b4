""" "What is planned here?" for a point or a parcel, and search."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from api import params, past
from api.deps import ConnectionDep
from api.errors import BadRequest, problems
from api.http import cached
from api.params import ParcelNumberPath, SheetPath, UnitCodePath
from api.staff import rules
from api.staff.auth import principal
from gis.crs import CRS84_URI
from layers import history, lookup, search
from layers.planning_projects import LEVELS

router = APIRouter(tags=["lookup"])

JSON = "application/json"


def _row(row) -> dict[str, Any]:
    return {str(key): value for key, value in row._mapping.items()}


def _plan_groups(rows) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {level: [] for level in LEVELS}
    for row in rows:
        zone = lookup.with_plan(row if isinstance(row, dict) else _row(row))
        groups[zone["plan"]["level"]].append(zone)
    return groups


def _readers(request: Request) -> lookup.Readers:
    """What the caller may see of each layer (the public's for anonymous callers)."""
    who = principal(request)
    if who is None:
        return lookup.THE_PUBLIC
    registry = request.app.state.registry
    return lookup.Readers(tuple((name, rules.audience(who, name)) for name in registry))


def _json(request: Request, payload: Any) -> Response:
    return cached(request, orjson.dumps(jsonable_encoder(payload)), JSON)


@router.get("/lookup", summary="What is planned at a point", responses=problems(304, 400, 503))
async def point_lookup(
    request: Request,
    conn: ConnectionDep,
    lon: Annotated[float | None, Query(description="Longitude", examples=[106.2575])] = None,
    lat: Annotated[float | None, Query(description="Latitude", examples=[22.6657])] = None,
    x: Annotated[float | None, Query(description="Easting in `crs`", examples=[551956.7])] = None,
    y: Annotated[float | None, Query(description="Northing in `crs`", examples=[2507463.1])] = None,
    crs: Annotated[
        str | None, Query(description="CRS of x/y, e.g. EPSG:9210", examples=["EPSG:9210"])
    ] = None,
    as_of: params.AsOfParam = None,
) -> Response:
    where: dict[str, Any]
    if lon is not None and lat is not None:
        srid, px, py = params.point(lon, lat, CRS84_URI, ("lon", "lat"))
        where = {"lon": lon, "lat": lat}
    elif x is not None and y is not None:
        if not crs:
            raise BadRequest("crs", "x and y need the CRS they are in, e.g. crs=EPSG:9210")
        srid, px, py = params.point(x, y, crs)
        where = {"x": x, "y": y, "crs": crs}
    else:
        raise BadRequest("lon", "give lon and lat, or x, y and crs")
    then = await past.change_set(conn, as_of)
    statement = lookup.everything_at_xy(srid, _readers(request), then is not None)
    values = {"x": px, "y": py}
    if then is not None:
        values[history.AS_OF] = then
        where[params.AS_OF] = as_of
    found = (await conn.execute(statement, values)).scalar_one()
    units = found["units"]
    payload: dict[str, Any] = {
        "query": where,
        "admin_unit": {
            "current": next((u for u in units if u["valid_to"] is None), None),
            "before_2025": next((u for u in units if u["valid_to"] is not None), None),
        },
        **{key: found[key] for key in lookup.SINGLE_LAYERS},
        "planning": _plan_groups(found["zones"]),
    }
    return _json(request, payload)


@router.get(
    "/parcels/{unit}/{sheet}/{number}/planning",
    summary="Every public plan zone over a parcel, with overlap area and share",
    responses=problems(304, 400, 404, 503),
)
async def parcel_planning(
    request: Request,
    conn: ConnectionDep,
    unit: UnitCodePath,
    sheet: SheetPath,
    number: ParcelNumberPath,
    as_of: params.AsOfParam = None,
) -> Response:
    readers = _readers(request)
    then = await past.change_set(conn, as_of)

    def at(statement):
        return statement if then is None else history.as_of(statement, then)

    identity = lookup.parcel_by_identity(unit, sheet, number, readers.of(lookup.PARCELS))
    parcel = (await conn.execute(at(identity))).first()
    if parcel is None:
        raise HTTPException(404, f"no parcel {unit}/{sheet}/{number}")
    rows = (await conn.execute(at(lookup.zones_over_parcel(parcel.id, readers)))).all()
    return _json(request, {"parcel": _row(parcel), "planning": _plan_groups(rows)})


@router.get(
    "/search",
    summary="Find parcels, plans, auction lots and units",
    responses=problems(304, 400, 503),
)
async def find(
    request: Request,
    conn: ConnectionDep,
    q: Annotated[str, Query(min_length=1, max_length=200, examples=["tờ 17 thửa 32"])],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    rows = (await conn.execute(search.search(params.text("q", q), limit))).all()
    hits = [
        {
            "kind": r.kind,
            "collection": r.collection,
            "id": r.id,
            "title": r.title,
            "score": float(r.score),
            "bbox": [r.xmin, r.ymin, r.xmax, r.ymax],
            "point": [r.x, r.y],
        }
        for r in rows
    ]
    return _json(request, {"query": q, "hits": hits})
