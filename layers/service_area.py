"""The configured service area: every geometry the system stores must lie inside it.

One row. Cao Bằng province by default (an approximate outline seeded by the first
migration), so the system can grow from the city to the province;
``landplan service-area set`` replaces it.
"""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from geoalchemy2.shape import from_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import CheckConstraint, Connection, SmallInteger, Text, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Mapped, mapped_column

from gis.geometry import as_multipolygon
from layers.base import STORAGE_SRID, Base
from layers.registry import default_registry


class ServiceArea(Base):
    __tablename__ = "service_area"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    name: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=STORAGE_SRID), nullable=False)


class ServiceAreaError(ValueError):
    """The new service area would leave stored features outside it."""


def replace(conn: Connection, geom: BaseGeometry, name: str) -> None:
    """Replace the service area, refusing one that leaves stored features outside.

    ``geom`` is a polygonal shapely geometry in the storage CRS. The caller owns the
    transaction; on refusal nothing has been written.
    """
    area = from_shape(as_multipolygon(geom), srid=STORAGE_SRID)
    outside = []
    for layer in default_registry().values():
        table = layer.table
        count = conn.execute(
            select(func.count()).where(~func.ST_Covers(area, table.c.geom))
        ).scalar_one()
        if count:
            outside.append(f"{count} in {table.name}")
    if outside:
        raise ServiceAreaError(
            "the new service area leaves stored features outside it: " + ", ".join(outside)
        )
    table = ServiceArea.__table__
    statement = pg_insert(table).values(id=1, name=name, geom=area)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.id], set_={"name": name, "geom": area}
        )
    )
