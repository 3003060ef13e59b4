"""Feature queries: GeoJSON built in the database, keyset paging, output CRS.

Each feature leaves PostgreSQL as GeoJSON text (``json_build_object`` with
``ST_AsGeoJSON``) and is passed through to the client without being parsed in Python.
Paging is by key (``id > after``), never by deep OFFSET.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, cast, false, func, literal, select, true
from sqlalchemy.dialects.postgresql import JSON

from gis.crs import WEB_MERCATOR, WGS84, Box
from layers import cql
from layers.base import PUBLIC, STORAGE_SRID, Audience, Layer

#: Decimal digits kept per output SRID: ~1 cm in degrees, 1 mm or 1 cm in metres.
PRECISION = {WGS84: 7, STORAGE_SRID: 3, WEB_MERCATOR: 2}


@dataclass(frozen=True)
class OutputCRS:
    srid: int = WGS84
    lat_first: bool = False


def geometry_in(layer: Layer, crs: OutputCRS) -> ColumnElement:
    """The layer's geometry in the output CRS, transformed from the nearest stored copy."""
    table = layer.table
    geom: ColumnElement[Any]
    if crs.srid == WGS84:
        geom = table.c[layer.geometry_column]
    elif crs.srid == STORAGE_SRID:
        geom = table.c[layer.storage_geometry_column]
    elif crs.srid == WEB_MERCATOR:
        geom = func.ST_Transform(table.c[layer.geometry_column], crs.srid)
    else:
        geom = func.ST_Transform(table.c[layer.storage_geometry_column], crs.srid)
    return func.ST_FlipCoordinates(geom) if crs.lat_first else geom


@lru_cache(maxsize=128)
def feature_json(layer: Layer, crs: OutputCRS, audience: Audience = PUBLIC) -> ColumnElement:
    """One GeoJSON Feature as text (never parsed in Python), with the properties
    ``audience`` may read (the public's: public properties only)."""
    table = layer.table
    columns: dict[str, ColumnElement[Any]] = {
        name: table.c[name] for name in layer.properties(audience)
    }
    if audience.personal and layer.personal_properties is not None:
        columns.update(layer.personal_properties(table, audience.units))
    properties = func.json_build_object(
        *[item for name, column in columns.items() for item in (literal(name), column)]
    )
    geometry = cast(func.ST_AsGeoJSON(geometry_in(layer, crs), PRECISION.get(crs.srid, 3)), JSON)
    return cast(
        func.json_build_object(
            literal("type"),
            literal("Feature"),
            literal("id"),
            table.c[layer.key],
            literal("geometry"),
            geometry,
            literal("properties"),
            properties,
        ),
        Text,
    )


@dataclass(frozen=True)
class BBox:
    """A box in ``srid`` (x = easting or longitude), already cut to the CRS's area of use;
    ``box`` None when the asked box lay wholly outside it (nothing can match)."""

    box: Box | None
    srid: int = WGS84


@dataclass(frozen=True)
class ItemsQuery:
    """What a client asked of a collection's items, as checked values."""

    bbox: BBox | None = None
    #: ``?name=value`` filters, values already of the property's type.
    equals: tuple[tuple[str, object], ...] = ()
    filter: cql.Filter | None = None
    interval: tuple[date | None, date | None] | None = None
    limit: int = 100
    after: int | None = None
    before: int | None = None


def _envelope(bbox: BBox) -> ColumnElement:
    envelope = func.ST_MakeEnvelope(*(bbox.box or ()), bbox.srid)
    return envelope if bbox.srid == WGS84 else func.ST_Transform(envelope, WGS84)


def filters(
    layer: Layer, query: ItemsQuery, audience: Audience = PUBLIC
) -> list[ColumnElement[bool]]:
    """The row filter of a query: rows the audience may read, bbox, time, properties, CQL2."""
    table = layer.table
    clauses = [layer.where(audience), *(table.c[name] == value for name, value in query.equals)]
    if query.filter is not None:
        clauses.append(cql.where(query.filter))
    if query.bbox is not None:
        if query.bbox.box is None:
            clauses.append(false())
        else:
            clauses.append(
                func.ST_Intersects(table.c[layer.geometry_column], _envelope(query.bbox))
            )
    if query.interval is not None and layer.temporal_property:
        column = table.c[layer.temporal_property]
        start, end = query.interval
        if start is not None:
            clauses.append(column >= start)
        if end is not None:
            clauses.append(column <= end)
    return clauses


def items(layer: Layer, query: ItemsQuery, crs: OutputCRS, audience: Audience = PUBLIC) -> Select:
    """One page: (id, feature) rows; one row more than the limit tells there is a next page.

    With ``before`` the page is the one preceding that key (rows come back in descending
    key order; the caller reverses them).
    """
    key = layer.table.c[layer.key]
    clauses = filters(layer, query, audience)
    if query.after is not None:
        clauses.append(key > query.after)
    if query.before is not None:
        clauses.append(key < query.before)
    order = key.desc() if query.before is not None else key
    return (
        select(key, feature_json(layer, crs, audience).label("feature"))
        .where(and_(true(), *clauses))
        .order_by(order)
        .limit(query.limit + 1)
    )


def count(layer: Layer, query: ItemsQuery, audience: Audience = PUBLIC) -> Select:
    clauses = filters(layer, query, audience)
    return select(func.count()).select_from(layer.table).where(and_(true(), *clauses))


def one(layer: Layer, feature_id: int, crs: OutputCRS, audience: Audience = PUBLIC) -> Select:
    """The feature as text and its version (the ETag of every representation of it)."""
    table = layer.table
    return select(feature_json(layer, crs, audience), table.c.version).where(
        table.c[layer.key] == feature_id, layer.where(audience)
    )
