"""Zones (khu chức năng / ô quy hoạch) of a planning project with their indicators.

A zone must lie inside its project's boundary: the database checks it on every write of
either (triggers in the first migration), with a 1 cm tolerance (no point of the zone
more than 0.01 m outside) for the rounding of digitised boundaries.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Computed,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from layers.base import Base, Layer, PolygonFeature
from layers.planning_projects import PlanningProject, is_public


class PlanZone(PolygonFeature, Base):
    __tablename__ = "plan_zones"
    __table_args__ = (
        UniqueConstraint("project_id", "zone_code"),
        CheckConstraint(
            "max_coverage_pct IS NULL OR max_coverage_pct BETWEEN 0 AND 100",
            name="coverage_is_percent",
        ),
        CheckConstraint(
            "floor_area_ratio IS NULL OR floor_area_ratio BETWEEN 0 AND 20", name="far_range"
        ),
        CheckConstraint("max_floors IS NULL OR max_floors BETWEEN 0 AND 100", name="floors_range"),
        *PolygonFeature.geometry_checks(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("planning_projects.id", ondelete="CASCADE"), index=True
    )
    zone_code: Mapped[str] = mapped_column(Text)
    function_name: Mapped[str | None] = mapped_column(Text)
    land_use_code: Mapped[str] = mapped_column(String(3), ForeignKey("land_use_codes.code"))
    area_m2: Mapped[float] = mapped_column(Float, Computed("ST_Area(geom)", persisted=True))
    max_coverage_pct: Mapped[float | None] = mapped_column(Numeric(5, 2))
    floor_area_ratio: Mapped[float | None] = mapped_column(Numeric(5, 2))
    max_floors: Mapped[int | None] = mapped_column(Integer)
    max_height_m: Mapped[float | None] = mapped_column(Numeric(6, 2))
    setback_m: Mapped[float | None] = mapped_column(Numeric(6, 2))


def in_public_project(table: Table) -> ColumnElement[bool]:
    projects = PlanningProject.__table__
    public_ids = select(projects.c.id).where(is_public(projects))
    return table.c.project_id.in_(public_ids)


LAYER = Layer(
    id="plan_zones",
    title="Plan zones",
    description="Land-use zones of approved and published plans with their indicators "
    "(building coverage, floor-area ratio, floors, height, setback).",
    table=PlanZone.__table__,
    public_properties=(
        "project_id",
        "zone_code",
        "function_name",
        "land_use_code",
        "area_m2",
        "max_coverage_pct",
        "floor_area_ratio",
        "max_floors",
        "max_height_m",
        "setback_m",
    ),
    public_filter=in_public_project,
    min_zoom=10,
    tile_properties=("project_id", "zone_code", "land_use_code", "max_floors"),
)
