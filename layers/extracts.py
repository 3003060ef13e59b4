"""Planning-information extracts of a parcel (trích lục thông tin quy hoạch).

An extract is what the public map's popup says about a parcel, on paper: the parcel's
public fields, every zone of a published plan it overlaps (with overlap area and
indicators), the plans' decisions and a map. Each is kept as issued, under a code derived
from its content: the code printed on the paper reopens that same extract, even after the
plans or the parcel have changed. Only public fields go in (no holder, no certificate
serial), so keeping them publishes nothing new.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Date,
    DateTime,
    Index,
    Integer,
    Select,
    String,
    Text,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import Insert

from layers.base import Base
from layers.lookup import units_at, with_plan
from layers.parcels import LAYER as PARCELS
from layers.plan_zones import LAYER as PLAN_ZONES
from layers.planning_projects import LAYER as PLANNING_PROJECTS

#: The extract's map shows this share of the parcel's size around it (at least 15 m).
MAP_MARGIN = 0.6


class Extract(Base):
    __tablename__ = "extracts"
    __table_args__ = (Index("ix_extracts_parcel", "unit_code", "map_sheet", "parcel_number"),)

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(5))
    map_sheet: Mapped[int] = mapped_column(Integer)
    parcel_number: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _record(row: Any) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in row._mapping.items()}


def zone_entries(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Zones over the parcel, each with its plan's fields under ``plan``."""
    out = []
    for row in rows:
        data = _record(row)
        data.pop("id", None)
        data.pop("project_id", None)
        out.append(with_plan(data))
    return out


def map_features(parcel_id: int, frame_margin: float = MAP_MARGIN) -> CompoundSelect:
    """Shapes of the extract's map in VN-2000 WKB: the parcel, its neighbours (outline and
    number) and the public plans' zones, within a frame around the parcel."""
    parcels, zones, projects = PARCELS.table, PLAN_ZONES.table, PLANNING_PROJECTS.table
    target = select(parcels.c.geom).where(parcels.c.id == parcel_id).scalar_subquery()
    size = func.greatest(
        func.ST_XMax(target) - func.ST_XMin(target), func.ST_YMax(target) - func.ST_YMin(target)
    )
    frame = func.ST_Expand(target, func.greatest(size * frame_margin, 15.0) * 2)
    near_parcels = select(
        literal("parcel").label("kind"),
        (parcels.c.id == parcel_id).label("is_target"),
        func.ST_AsBinary(parcels.c.geom).label("wkb"),
        func.cast(parcels.c.parcel_number, Text).label("label"),
        parcels.c.land_use_code,
        literal(None, Text).label("level"),
    ).where(parcels.c.geom.op("&&")(frame))
    near_zones = (
        select(
            literal("zone").label("kind"),
            literal(False).label("is_target"),
            func.ST_AsBinary(func.ST_Intersection(zones.c.geom, frame)).label("wkb"),
            zones.c.zone_code.label("label"),
            zones.c.land_use_code,
            projects.c.level,
        )
        .join(projects, projects.c.id == zones.c.project_id)
        .where(zones.c.geom.op("&&")(frame), PLANNING_PROJECTS.public_where())
        .order_by(projects.c.scale_denominator.desc())
    )
    return near_zones.union_all(near_parcels)


def parcel_units(parcel_id: int) -> Select:
    """Units at the parcel (current, and the one before the 2025 reform)."""
    parcels = PARCELS.table
    point = (
        select(func.ST_PointOnSurface(parcels.c.geom_wgs84))
        .where(parcels.c.id == parcel_id)
        .scalar_subquery()
    )
    return units_at(point)


def content(
    parcel: Any,
    zones: list[dict[str, Any]],
    units: Sequence[Any],
    uses: dict[str, dict[str, str]],
    map_svg: str,
    issued_on: date,
) -> dict[str, Any]:
    """Everything an extract shows, as JSON-ready data (the snapshot that is kept)."""
    record = _record(parcel)
    record.pop("id", None)
    unit_rows = [_record(u) for u in units]
    return {
        "issued_on": issued_on.isoformat(),
        "parcel": record,
        "unit": next((u for u in unit_rows if u["valid_to"] is None), None),
        "unit_before_2025": next((u for u in unit_rows if u["valid_to"] is not None), None),
        "zones": zones,
        "land_uses": uses,
        "map_svg": map_svg,
    }


def verification_code(data: dict[str, Any]) -> str:
    """Twelve characters from a hash of the content, in groups of four (A–Z, 2–7: no 0/O
    or 1/I to misread): the same extract always gets the same code."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = base64.b32encode(hashlib.sha256(canonical.encode()).digest()).decode()
    return "-".join(digest[i : i + 4] for i in (0, 4, 8))


def keep(code: str, data: dict[str, Any]) -> Insert:
    """Store an issued extract; issuing the same one again changes nothing."""
    parcel = data["parcel"]
    return (
        insert(Extract.__table__)
        .values(
            code=code,
            unit_code=parcel["unit_code"],
            map_sheet=parcel["map_sheet"],
            parcel_number=parcel["parcel_number"],
            issued_on=date.fromisoformat(data["issued_on"]),
            content=data,
        )
        .on_conflict_do_nothing(index_elements=["code"])
    )


def by_code(code: str) -> Select:
    return select(Extract.__table__.c.content).where(Extract.__table__.c.code == code)
