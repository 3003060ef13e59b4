"""Planning projects (đồ án quy hoạch) at every level, through their lifecycle.

Only approved and published projects are public; everything else is staff-only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, Integer, Table, Text, and_, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from layers.base import Base, Layer, PolygonFeature, one_of
from layers.lifecycle import PLAN

#: Law 47/2024/QH15 levels: general (quy hoạch chung), zoning (phân khu), detailed (chi tiết).
LEVELS = ("general", "zoning", "detailed")
SCALES = (500, 1000, 2000, 5000, 10000, 25000)

#: The lifecycle (layers/lifecycle.py): the database's trigger holds the moves
#: (migration 0010), the routes of api/routers/workflows.py make them.
STATUSES = PLAN.states


class PlanningProject(PolygonFeature, Base):
    __tablename__ = "planning_projects"
    __table_args__ = (
        one_of("level", LEVELS, "level_known"),
        one_of("scale_denominator", SCALES, "scale_known"),
        one_of("status", STATUSES, "status_known"),
        CheckConstraint(
            "status <> 'approved' OR decision_authority IS NOT NULL",
            name="approved_has_authority",
        ),
        CheckConstraint("NOT published OR status = 'approved'", name="published_only_approved"),
        CheckConstraint("jsonb_typeof(documents) = 'array'", name="documents_is_list"),
        CheckConstraint("horizon_year BETWEEN 2000 AND 2100", name="horizon_plausible"),
        *PolygonFeature.geometry_checks(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    scale_denominator: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text, server_default=text("'task_preparation'"))
    #: The approving decision (the lifecycle's move to approved writes it).
    decision_number: Mapped[str | None] = mapped_column(Text)
    decision_date: Mapped[date | None] = mapped_column(Date)
    decision_authority: Mapped[str | None] = mapped_column(Text)
    #: Where the decision is known from when its number is not ("not in the report").
    decision_source: Mapped[str | None] = mapped_column(Text)
    appraisal_date: Mapped[date | None] = mapped_column(Date)
    appraisal_body: Mapped[str | None] = mapped_column(Text)
    appraisal_number: Mapped[str | None] = mapped_column(Text)
    horizon_year: Mapped[int | None] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    documents: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    notes: Mapped[str | None] = mapped_column(Text)


def is_public(table: Table) -> ColumnElement[bool]:
    """Approved and published: the only plans anonymous readers may see."""
    return and_(table.c.status == "approved", table.c.published.is_(True))


LAYER = Layer(
    id="planning_projects",
    title="Planning projects",
    description="Approved and published planning projects (general, zoning, detailed) "
    "with their approving decisions and boundaries.",
    table=PlanningProject.__table__,
    public_properties=(
        "code",
        "name",
        "level",
        "scale_denominator",
        "status",
        "decision_number",
        "decision_date",
        "decision_authority",
        "decision_source",
        "horizon_year",
        "documents",
    ),
    private_properties=(
        "notes",
        "published",
        "appraisal_date",
        "appraisal_body",
        "appraisal_number",
    ),
    public_filter=is_public,
    style={"color": "#b2182b", "weight": 2, "fillOpacity": 0.05},
    temporal_property="decision_date",
    deletable=False,
    simplify=True,
)
