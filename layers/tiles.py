"""Mapbox vector tiles from PostGIS, the way pg_tileserv and pygeoapi make them.

The tile envelope is transformed once to EPSG:4326 so the GiST index on ``geom_wgs84``
selects the rows; only those are projected to Web Mercator, simplified for the zoom,
clipped by ``ST_AsMVTGeom`` and encoded by ``ST_AsMVT``. Several layers are concatenated
in one statement (one round trip); each is a separate MVT layer named by its id.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    Select,
    Text,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg as psycopg_dialect

from gis.crs import WEB_MERCATOR, WGS84
from layers import history
from layers.base import PUBLIC, Audience, Layer

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 24
#: Width of the Web Mercator world in metres.
WORLD = 40_075_016.685_578_5


def in_matrix(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def tile_properties(layer: Layer) -> dict[str, str]:
    """Properties that go into tiles, with their MVT value type (lists are left out)."""
    out = {}
    for name in layer.tile_properties or layer.public_properties:
        kind = layer.table.c[name].type
        if isinstance(kind, JSONB):
            continue
        out[name] = (
            "Number" if isinstance(kind, Float | Numeric) or kind.python_type is int else ("String")
        )
    return out


def _layer_tile(layer: Layer, z: int, audience: Audience) -> Select:
    table = layer.table
    envelope = func.ST_TileEnvelope(z, bindparam("x", type_=Integer), bindparam("y", type_=Integer))
    geom = func.ST_Transform(table.c[layer.geometry_column], WEB_MERCATOR)
    if layer.simplify and z < 16:  # drop detail finer than half a pixel before clipping
        geom = func.ST_Simplify(geom, WORLD / 2**z / EXTENT / 2, True)
    columns = []
    for name in tile_properties(layer):
        column: ColumnElement[Any] = table.c[name]
        if isinstance(column.type, Numeric):
            column = cast(column, Float)
        elif isinstance(column.type, Date):
            column = cast(column, Text)
        columns.append(column.label(name))
    rows = (
        select(
            func.ST_AsMVTGeom(geom, envelope, EXTENT, BUFFER, True).label("mvt_geom"),
            table.c[layer.key].label("fid"),
            *columns,
        )
        .where(
            table.c[layer.geometry_column].op("&&")(func.ST_Transform(envelope, WGS84)),
            layer.where(audience),
        )
        .limit(layer.tile_feature_limit)
        .subquery()
    )
    q = select(rows).where(rows.c.mvt_geom.is_not(None)).subquery("q")
    return select(
        func.coalesce(
            func.ST_AsMVT(literal_column("q"), literal(layer.id), EXTENT, "mvt_geom", "fid"),
            cast(b"", LargeBinary),
        )
    ).select_from(q)


def tile(
    layers: list[Layer], z: int, audiences: tuple[Audience, ...] | None = None, past: bool = False
) -> Select:
    """One MVT with a layer per (visible at ``z``) layer, for the tile given by the bound
    parameters ``x`` and ``y``; empty bytes when nothing is there. ``past``: as of the
    change set given as the bound parameter :data:`layers.history.AS_OF`.

    The statement depends only on the layers and the zoom, so it is built once per pair
    and reused (building it costs more than a small tile's query).
    """
    return _tile_statement(tuple(layers), z, audiences or (PUBLIC,) * len(layers), past)


@lru_cache(maxsize=512)
def _tile_statement(
    layers: tuple[Layer, ...], z: int, audiences: tuple[Audience, ...], past: bool = False
) -> Select:
    """``audiences[i]`` is what the reader may see of ``layers[i]``."""
    statement = _current_tile(layers, z, audiences)
    return history.as_of(statement) if past else statement


def _current_tile(layers: tuple[Layer, ...], z: int, audiences: tuple[Audience, ...]) -> Select:
    visible = [
        (layer, audience)
        for layer, audience in zip(layers, audiences, strict=True)
        if layer.min_zoom <= z <= layer.max_zoom
    ]
    if not visible:
        return select(cast(b"", LargeBinary))
    parts = [_layer_tile(layer, z, audience).scalar_subquery() for layer, audience in visible]
    combined: ColumnElement[Any] = parts[0]
    for part in parts[1:]:
        combined = combined.op("||")(part)
    return select(combined)


@lru_cache(maxsize=512)
def compiled(
    layers: tuple[Layer, ...],
    z: int,
    audiences: tuple[Audience, ...] | None = None,
    past: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The tile statement as driver SQL and its constant parameters (add ``x``, ``y``,
    and for ``past`` the change set).

    Tiles are the hottest path; running the SQL on the driver connection skips the ORM
    layer's per-execution parameter and result processing.
    """
    audiences = audiences or (PUBLIC,) * len(layers)
    statement = _tile_statement(layers, z, audiences, past).compile(dialect=psycopg_dialect())
    return str(statement), dict(statement.params)
