"""Queries that serve the published layers. Each returns a SQLAlchemy ``Select``; table
and column names come only from the layer registry, values are bound parameters."""

from __future__ import annotations

from sqlalchemy import ColumnClause, Select, func, literal_column, select

from layers.base import Layer


def extent(layer: Layer) -> Select:
    """Bounding box (CRS84) of the layer's public rows: xmin, ymin, xmax, ymax, or NULLs."""
    geom = layer.table.c[layer.geometry_column]
    box = select(func.ST_Extent(geom).label("box")).where(layer.public_where()).subquery()
    box_col: ColumnClause = literal_column("box")
    return select(
        func.ST_XMin(box_col), func.ST_YMin(box_col), func.ST_XMax(box_col), func.ST_YMax(box_col)
    ).select_from(box)


def postgis_version() -> Select:
    return select(func.postgis_lib_version(), func.current_setting("server_version"))
