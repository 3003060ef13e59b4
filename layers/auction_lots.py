"""Lots of land-use rights offered at public auction (đấu giá quyền sử dụng đất)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from layers.base import Base, Layer, PolygonFeature, one_of
from layers.lifecycle import LOT

STATUSES = LOT.states


class AuctionLot(PolygonFeature, Base):
    __tablename__ = "auction_lots"
    __table_args__ = (
        one_of("status", STATUSES, "status_known"),
        CheckConstraint("area_m2 > 0", name="area_positive"),
        CheckConstraint("starting_price_vnd > 0", name="starting_price_positive"),
        CheckConstraint(
            "status NOT IN ('announced', 'auctioned', 'sold') OR auction_date IS NOT NULL",
            name="auction_has_date",
        ),
        CheckConstraint(
            "status <> 'sold' OR (winning_price_vnd IS NOT NULL "
            "AND winning_price_vnd >= starting_price_vnd)",
            name="sold_has_winning_price",
        ),
        *PolygonFeature.geometry_checks(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_code: Mapped[str] = mapped_column(Text, unique=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("planning_projects.id", ondelete="SET NULL")
    )
    development_area_id: Mapped[int | None] = mapped_column(
        ForeignKey("development_areas.id", ondelete="SET NULL")
    )
    land_use_code: Mapped[str] = mapped_column(String(3), ForeignKey("land_use_codes.code"))
    area_m2: Mapped[float] = mapped_column(Numeric(12, 1))
    starting_price_vnd: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text, server_default=text("'planned'"))
    auction_date: Mapped[date | None] = mapped_column(Date)
    winning_price_vnd: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[str | None] = mapped_column(Text)


LAYER = Layer(
    id="auction_lots",
    title="Auction lots",
    description="Land-use-right auction lots with starting price, status and result.",
    table=AuctionLot.__table__,
    public_properties=(
        "lot_code",
        "project_id",
        "development_area_id",
        "land_use_code",
        "area_m2",
        "starting_price_vnd",
        "status",
        "auction_date",
        "winning_price_vnd",
        "result",
    ),
    min_zoom=12,
    style={"color": "#e6550d", "weight": 1.5, "fillOpacity": 0.4},
    temporal_property="auction_date",
)
