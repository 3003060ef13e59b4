"""Parsing of OGC API query parameters into what :mod:`layers` takes."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated

from fastapi import Path
from sqlalchemy import ColumnElement, Date, Float, Integer, Numeric, func
from starlette.datastructures import QueryParams

from api.errors import BadRequest
from gis.crs import CRS84_URI, ogc_crs
from gis.errors import CRSError
from layers import cql
from layers.base import Layer
from layers.features import ItemsQuery, OutputCRS

#: ``f=`` values that make the items a file download instead of GeoJSON.
DOWNLOADS = ("gpkg", "shp", "csv", "dxf")
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
ITEMS_PARAMS = {
    "bbox",
    "bbox-crs",
    "limit",
    "after",
    "before",
    "datetime",
    "crs",
    "filter",
    "filter-lang",
    "filter-crs",
    "f",
}


def output_crs(value: str | None) -> tuple[str, OutputCRS]:
    try:
        uri, srid, lat_first = ogc_crs(value or CRS84_URI)
    except CRSError as exc:
        raise BadRequest("crs", str(exc)) from None
    return uri, OutputCRS(srid, lat_first)


def items_query(layer: Layer, params: QueryParams) -> ItemsQuery:
    unknown = sorted(set(params) - ITEMS_PARAMS - set(layer.public_properties))
    if unknown:
        raise BadRequest(
            unknown[0],
            f"unknown parameter; queryable properties: {', '.join(layer.public_properties)}",
        )
    if params.get("f", "json") not in ("json", "geojson", *DOWNLOADS):
        offered = ", ".join(("json", "geojson", *DOWNLOADS))
        raise BadRequest("f", f"unknown format; offered: {offered}")
    where = [
        _equals(layer, name, params[name]) for name in layer.public_properties if name in params
    ]
    if params.get("filter"):
        if params.get("filter-crs", CRS84_URI) != CRS84_URI:
            raise BadRequest("filter-crs", "only CRS84 is supported for filter geometries")
        try:
            where.append(cql.parse(layer, params["filter"], params.get("filter-lang", "cql2-text")))
        except cql.FilterError as exc:
            raise BadRequest("filter", str(exc)) from None
    return ItemsQuery(
        bbox=_bbox(params.get("bbox"), params.get("bbox-crs")),
        where=tuple(where),
        interval=_interval(params.get("datetime")),
        limit=_int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        after=_int(params, "after", None, 0, None),
        before=_int(params, "before", None, 0, None),
    )


def _int(params: QueryParams, name: str, default, low: int, high: int | None):
    if name not in params:
        return default
    try:
        value = int(params[name])
    except ValueError:
        raise BadRequest(name, f"expected an integer, got {params[name]!r}") from None
    if value < low or (high is not None and value > high):
        raise BadRequest(name, f"must be between {low} and {high}" if high else f"must be ≥ {low}")
    return value


def _bbox(value: str | None, crs_value: str | None) -> ColumnElement | None:
    if value is None:
        return None
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        raise BadRequest("bbox", f"expected four numbers, got {value!r}") from None
    if len(numbers) == 6:  # 3D box: drop the heights
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise BadRequest("bbox", "expected four finite numbers minx,miny,maxx,maxy")
    try:
        _, srid, lat_first = ogc_crs(crs_value or CRS84_URI)
    except CRSError as exc:
        raise BadRequest("bbox-crs", str(exc)) from None
    if lat_first:
        numbers = [numbers[1], numbers[0], numbers[3], numbers[2]]
    xmin, ymin, xmax, ymax = numbers
    if srid == 4326 and not (-180 <= xmin <= 180 and -90 <= ymin <= ymax <= 90):
        raise BadRequest("bbox", "coordinates out of range for CRS84")
    if ymin > ymax:
        raise BadRequest("bbox", "miny is greater than maxy")
    envelope = func.ST_MakeEnvelope(xmin, ymin, xmax, ymax, srid)
    return envelope if srid == 4326 else func.ST_Transform(envelope, 4326)


def _interval(value: str | None) -> tuple[date | None, date | None] | None:
    if value is None:
        return None
    parts = value.split("/")
    if len(parts) > 2:
        raise BadRequest("datetime", "expected an instant or start/end")
    bounds = [_instant(p) for p in parts]
    return (bounds[0], bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])


def _instant(text: str) -> date | None:
    if text in ("", ".."):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise BadRequest("datetime", f"not an RFC 3339 date or date-time: {text!r}") from None


def _equals(layer: Layer, name: str, raw: str) -> ColumnElement[bool]:
    column = layer.table.c[name]
    try:
        if isinstance(column.type, Integer):
            value: object = int(raw)
        elif isinstance(column.type, Float | Numeric):
            value = float(raw)
        elif isinstance(column.type, Date):
            value = date.fromisoformat(raw)
        else:
            value = raw
    except ValueError:
        raise BadRequest(name, f"{raw!r} is not a valid {column.type}") from None
    return column == value


#: A parcel's identity in a path: the unit's five-digit code, map sheet and parcel number
#: (positive int4, as stored: a larger number is a 400, not a database error).
INT4_MAX = 2**31 - 1
UnitCodePath = Annotated[str, Path(pattern=r"^[0-9]{5}$", description="Unit code (5 digits)")]
SheetPath = Annotated[int, Path(ge=1, le=INT4_MAX, description="Map sheet number")]
ParcelNumberPath = Annotated[int, Path(ge=1, le=INT4_MAX, description="Parcel number")]
