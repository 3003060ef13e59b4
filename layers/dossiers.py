"""Administrative dossiers (hồ sơ thủ tục hành chính): not a map layer, staff-only.

Timeliness is derived from the dates (resolved before, on or after the due date), never
stored, so it cannot disagree with them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Select, Text, and_, func, select
from sqlalchemy.orm import Mapped, mapped_column

from layers.base import Base, one_of

CATEGORIES = ("land", "construction_permit", "other")
#: Where the dossier was received: the city's one-stop desk (bộ phận một cửa) or the
#: online public-service portal. The report counts the one-stop desk on its own.
CHANNELS = ("one_stop", "online")
STATUSES = ("received", "in_progress", "in_appraisal", "resolved", "returned", "withdrawn")


class Dossier(Base):
    __tablename__ = "dossiers"
    __table_args__ = (
        one_of("category", CATEGORIES, "category_known"),
        one_of("channel", CHANNELS, "channel_known"),
        one_of("status", STATUSES, "status_known"),
        CheckConstraint("due_on >= received_on", name="due_after_received"),
        CheckConstraint(
            "resolved_on IS NULL OR resolved_on >= received_on", name="resolved_after_received"
        ),
        CheckConstraint(
            "(status = 'resolved') = (resolved_on IS NOT NULL)", name="resolved_has_date"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(Text, unique=True)
    category: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    procedure: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text)
    parcel_id: Mapped[int | None] = mapped_column(
        ForeignKey("parcels.id", ondelete="SET NULL"), index=True
    )


def summary(
    start: date, end: date, *, channel: str | None = None, category: str | None = None
) -> Select:
    """Counts for a reporting period as the report gives them: received in the period,
    resolved by its end (before, on and after the due date) and still open at its end."""
    d = Dossier.__table__.c
    resolved = and_(d.resolved_on.is_not(None), d.resolved_on <= end)
    query = select(
        func.count().label("received"),
        func.count().filter(resolved).label("resolved"),
        func.count().filter(resolved, d.resolved_on < d.due_on).label("early"),
        func.count().filter(resolved, d.resolved_on == d.due_on).label("on_time"),
        func.count().filter(resolved, d.resolved_on > d.due_on).label("late"),
        func.count().filter(~resolved, d.status.not_in(("returned", "withdrawn"))).label("open"),
    ).where(d.received_on.between(start, end))
    if channel is not None:
        query = query.where(d.channel == channel)
    if category is not None:
        query = query.where(d.category == category)
    return query
