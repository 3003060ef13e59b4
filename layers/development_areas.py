"""Urban development areas (khu vực phát triển đô thị) published for investors."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Text
from sqlalchemy.orm import Mapped, mapped_column

from layers.base import Base, Layer, PolygonFeature, one_of

STATUSES = (
    "proposed",
    "published",
    "investor_selection",
    "under_development",
    "completed",
    "cancelled",
)


class DevelopmentArea(PolygonFeature, Base):
    __tablename__ = "development_areas"
    __table_args__ = (
        one_of("status", STATUSES, "status_known"),
        *PolygonFeature.geometry_checks(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    decision_number: Mapped[str | None] = mapped_column(Text)
    decision_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


LAYER = Layer(
    id="development_areas",
    title="Urban development areas",
    description="Urban development areas published for investors (Decision "
    "2696/QĐ-UBND of 31/12/2021 for Cao Bằng city).",
    table=DevelopmentArea.__table__,
    public_properties=("code", "name", "status", "decision_number", "decision_date"),
    private_properties=("notes",),
    style={"color": "#3182bd", "weight": 2, "fillOpacity": 0.15},
    temporal_property="decision_date",
    simplify=True,
)
