"""Administrative units (đơn vị hành chính cấp xã) with validity dates.

Units are versioned rather than overwritten: the 1 July 2025 reform abolished the district
level and merged Cao Bằng city's 11 wards and communes into 3 wards, some of which reuse an
old national code (Thục Phán keeps 01273, Hợp Giang's). A code is therefore unique only
together with ``valid_from``; records made before the reform keep the old unit, and
``merged_into_id`` leads from it to its successor.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from layers.base import Base, Layer, PolygonFeature, one_of

KINDS = ("ward", "commune")


class AdminUnit(PolygonFeature, Base):
    __tablename__ = "admin_units"
    __table_args__ = (
        UniqueConstraint("code", "valid_from"),
        one_of("kind", KINDS, "kind_known"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity_ordered"),
        CheckConstraint("code ~ '^[0-9]{5}$'", name="code_format"),
        *PolygonFeature.geometry_checks(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(5))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_units.id", ondelete="SET NULL")
    )


LAYER = Layer(
    id="admin_units",
    title="Administrative units",
    description="Wards and communes, current and before the 1 July 2025 reform, with "
    "validity dates and the unit each old one was merged into.",
    table=AdminUnit.__table__,
    public_properties=("code", "name", "kind", "valid_from", "valid_to", "merged_into_id"),
    max_zoom=22,
    style={"color": "#444444", "weight": 2, "fill": False},
    simplify=True,
)
