"""The configured service area: every geometry the system stores must lie inside it.

One row. Cao Bằng province by default (an approximate outline seeded by the first
migration), so the system can grow from the city to the province;
``landplan service-area set`` replaces it.
"""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from layers.base import STORAGE_SRID, Base


class ServiceArea(Base):
    __tablename__ = "service_area"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    name: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=STORAGE_SRID), nullable=False)
