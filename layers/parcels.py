"""Cadastral parcels (thửa đất).

A parcel is identified by the unit code of the cadastral record, the map sheet number (số
tờ bản đồ) and the parcel number (số thửa). Holders are personal data (Decree
13/2023/NĐ-CP): they live in ``private.parcel_holders``, a separate table in a separate
schema that no public query touches, rather than in columns beside the public ones.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Date,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from layers.accounts import units_covered
from layers.base import CURRENT_CHANGE_SET, Base, Layer, PolygonFeature, one_of

CERTIFICATE_STATUSES = ("none", "pending", "issued")


class Parcel(PolygonFeature, Base):
    __tablename__ = "parcels"
    __table_args__ = (
        UniqueConstraint("unit_code", "map_sheet", "parcel_number"),
        CheckConstraint("map_sheet > 0 AND parcel_number > 0", name="numbers_positive"),
        CheckConstraint("unit_code ~ '^[0-9]{5}$'", name="unit_code_format"),
        CheckConstraint("legal_area_m2 > 0", name="legal_area_positive"),
        one_of("certificate_status", CERTIFICATE_STATUSES, "certificate_status_known"),
        CheckConstraint(
            "certificate_status <> 'issued' OR certificate_serial IS NOT NULL",
            name="issued_has_serial",
        ),
        *PolygonFeature.geometry_checks(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(5))
    map_sheet: Mapped[int] = mapped_column(Integer)
    parcel_number: Mapped[int] = mapped_column(Integer)
    land_use_code: Mapped[str] = mapped_column(String(3), ForeignKey("land_use_codes.code"))
    legal_area_m2: Mapped[float] = mapped_column(Numeric(12, 1))
    geom_area_m2: Mapped[float] = mapped_column(Float, Computed("ST_Area(geom)", persisted=True))
    certificate_status: Mapped[str] = mapped_column(Text, server_default="none")
    certificate_serial: Mapped[str | None] = mapped_column(Text)
    certificate_register_number: Mapped[str | None] = mapped_column(Text)
    certificate_issued_on: Mapped[date | None] = mapped_column(Date)
    use_term: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)


class ParcelHolder(Base):
    """Personal data of a parcel's holder; never selected by a public query."""

    __tablename__ = "parcel_holders"
    __table_args__ = {"schema": "private"}

    parcel_id: Mapped[int] = mapped_column(
        ForeignKey("parcels.id", ondelete="CASCADE"), primary_key=True
    )
    holder_name: Mapped[str] = mapped_column(Text)
    holder_id_number: Mapped[str | None] = mapped_column(Text)
    change_set: Mapped[int] = mapped_column(
        BigInteger, server_default=CURRENT_CHANGE_SET, index=True
    )


def holders_json(table: Table, units: tuple[str, ...] = ()) -> ColumnElement[Any]:
    """The parcel's holders as a JSON list (personal data: for cadastral officers only);
    for an officer limited to ``units``, null outside them."""
    holders = ParcelHolder.__table__
    pair = func.json_build_object(
        literal("name"), holders.c.holder_name, literal("id_number"), holders.c.holder_id_number
    )
    found = (
        select(func.coalesce(func.json_agg(pair), literal("[]").cast(JSON)))
        .where(holders.c.parcel_id == table.c.id)
        .scalar_subquery()
    )
    if not units:
        return found
    return case((table.c.unit_code.in_(units_covered(units)), found), else_=null())


LAYER = Layer(
    id="parcels",
    title="Cadastral parcels",
    description="Parcels with their land use, legal and measured area and certificate "
    "status. Holders are personal data and are never published.",
    table=Parcel.__table__,
    public_properties=(
        "unit_code",
        "map_sheet",
        "parcel_number",
        "land_use_code",
        "legal_area_m2",
        "geom_area_m2",
        "certificate_status",
        "address",
    ),
    private_properties=(
        "certificate_serial",
        "certificate_register_number",
        "certificate_issued_on",
        "use_term",
        "origin",
    ),
    min_zoom=15,
    style={"color": "#7f7f7f", "weight": 0.5, "fillOpacity": 0.1},
    cheap_count=False,
    deletable=False,
    personal_properties=lambda table, units: {"holders": holders_json(table, units)},
    tile_properties=(
        "unit_code",
        "map_sheet",
        "parcel_number",
        "land_use_code",
        "certificate_status",
    ),
)
