""" "What is planned here?": everything public at a point, or over a whole parcel."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    text,
)

from layers import history
from layers.admin_units import AdminUnit
from layers.auction_lots import LAYER as AUCTION_LOTS
from layers.base import PUBLIC, Audience, Layer
from layers.development_areas import LAYER as DEVELOPMENT_AREAS
from layers.parcels import LAYER as PARCELS
from layers.plan_zones import LAYER as PLAN_ZONES
from layers.planning_projects import LAYER as PLANNING_PROJECTS

#: Project fields shown beside each zone: which plan, and its decision.
PLAN_FIELDS = (
    "code",
    "name",
    "level",
    "scale_denominator",
    "decision_number",
    "decision_date",
    "decision_authority",
)
UNIT_FIELDS = ("code", "name", "kind", "valid_from", "valid_to")
#: Overlaps smaller than this (m²) are boundary noise, not planning information.
MIN_OVERLAP_M2 = 0.01


def with_plan(zone: dict[str, Any]) -> dict[str, Any]:
    """A zone row of :func:`zones_at` or :func:`zones_over_parcel` with its plan's fields
    (``plan_<name>``) gathered under ``plan``."""
    plan = {key[5:]: zone.pop(key) for key in [k for k in zone if k.startswith("plan_")]}
    return {**zone, "plan": plan}


def _bound_point(srid: int) -> ColumnElement:
    """The point of the bound parameters ``x`` and ``y`` in ``srid``, in EPSG:4326."""
    made = func.ST_SetSRID(
        func.ST_MakePoint(bindparam("x", type_=Float), bindparam("y", type_=Float)), srid
    )
    return made if srid == 4326 else func.ST_Transform(made, 4326)


@dataclass(frozen=True)
class Readers:
    """What the reader may see of each layer (by id; the public's when not named)."""

    audiences: tuple[tuple[str, Audience], ...] = ()

    def of(self, layer: Layer) -> Audience:
        return dict(self.audiences).get(layer.id, PUBLIC)


THE_PUBLIC = Readers()


def _columns(layer: Layer, audience: Audience = PUBLIC) -> list:
    return [layer.table.c[name] for name in layer.properties(audience)]


def features_at(layer: Layer, at: ColumnElement, audience: Audience = PUBLIC) -> Select:
    """Rows of ``layer`` the audience may read whose geometry contains the point."""
    table = layer.table
    return select(table.c[layer.key].label("id"), *_columns(layer, audience)).where(
        func.ST_Intersects(table.c[layer.geometry_column], at), layer.where(audience)
    )


def units_at(at: ColumnElement) -> Select:
    table = AdminUnit.__table__
    return (
        select(*[table.c[name] for name in UNIT_FIELDS])
        .where(func.ST_Intersects(table.c.geom_wgs84, at))
        .order_by(table.c.valid_from.desc())
    )


def zones_at(at: ColumnElement, readers: Readers = THE_PUBLIC) -> Select:
    """Zones of the plans the reader may see (the public: public plans) covering the
    point, with their plan's fields."""
    zones, projects = PLAN_ZONES.table, PLANNING_PROJECTS.table
    return (
        select(
            zones.c.id,
            *_columns(PLAN_ZONES, readers.of(PLAN_ZONES)),
            *[projects.c[name].label(f"plan_{name}") for name in _plan_fields(readers)],
        )
        .join(projects, projects.c.id == zones.c.project_id)
        .where(
            func.ST_Intersects(zones.c.geom_wgs84, at),
            PLANNING_PROJECTS.where(readers.of(PLANNING_PROJECTS)),
        )
        .order_by(projects.c.scale_denominator.desc(), zones.c.zone_code)
    )


def _plan_fields(readers: Readers) -> tuple[str, ...]:
    """A plan's fields beside its zones; with its status and publication for readers
    who see plans that are not public."""
    if readers.of(PLANNING_PROJECTS).all_rows:
        return (*PLAN_FIELDS, "status", "published")
    return PLAN_FIELDS


def parcel_by_identity(
    unit_code: str, sheet: int, number: int, audience: Audience = PUBLIC
) -> Select:
    table = PARCELS.table
    return select(table.c.id, *_columns(PARCELS, audience)).where(
        table.c.unit_code == unit_code,
        table.c.map_sheet == sheet,
        table.c.parcel_number == number,
    )


def zones_over_parcel(parcel_id: int, readers: Readers = THE_PUBLIC) -> Select:
    """Zones of the plans the reader may see overlapping a parcel, with the overlap in m²
    (VN-2000) and as a share of the parcel's measured area."""
    zones, projects, parcels = PLAN_ZONES.table, PLANNING_PROJECTS.table, PARCELS.table
    overlap = func.ST_Area(func.ST_Intersection(zones.c.geom, parcels.c.geom))
    query = (
        select(
            zones.c.id,
            *_columns(PLAN_ZONES, readers.of(PLAN_ZONES)),
            *[projects.c[name].label(f"plan_{name}") for name in _plan_fields(readers)],
            overlap.label("overlap_m2"),
            (overlap / func.ST_Area(parcels.c.geom)).label("share"),
        )
        .select_from(parcels)
        .join(zones, func.ST_Intersects(zones.c.geom, parcels.c.geom))
        .join(projects, projects.c.id == zones.c.project_id)
        .where(
            and_(parcels.c.id == parcel_id, PLANNING_PROJECTS.where(readers.of(PLANNING_PROJECTS)))
        )
        .subquery()
    )
    return (
        select(query)
        .where(query.c.overlap_m2 > MIN_OVERLAP_M2)
        .order_by(query.c.plan_scale_denominator.desc(), query.c.zone_code)
    )


SINGLE_LAYERS = {
    "parcel": PARCELS,
    "auction_lot": AUCTION_LOTS,
    "development_area": DEVELOPMENT_AREAS,
}


def _as_json(query: Select, name: str, many: bool) -> ColumnElement:
    rows = query.subquery(name)
    row: ColumnElement[Any] = literal_column(name)
    aggregate: ColumnElement[Any]
    if many:
        aggregate = func.coalesce(func.json_agg(row), text("'[]'::json"))
    else:
        aggregate = func.row_to_json(row)
    return select(aggregate).select_from(rows).scalar_subquery()


@lru_cache(maxsize=64)
def everything_at_xy(srid: int, readers: Readers = THE_PUBLIC, past: bool = False) -> Select:
    """:func:`everything_at` for the point given as bound parameters ``x``, ``y`` in
    ``srid``; built once per CRS and kind of reader (building it costs more than running
    it). ``past``: as of the change set given as :data:`layers.history.AS_OF`."""
    statement = everything_at(_bound_point(srid), readers)
    return history.as_of(statement) if past else statement


def everything_at(at: ColumnElement, readers: Readers = THE_PUBLIC) -> Select:
    """Units, parcel, lot, area and zones at the point as one JSON object: one round trip."""
    parts = {
        "units": _as_json(units_at(at), "u", many=True),
        **{
            key: _as_json(features_at(layer, at, readers.of(layer)).limit(1), key, many=False)
            for key, layer in SINGLE_LAYERS.items()
        },
        "zones": _as_json(zones_at(at, readers), "z", many=True),
    }
    return select(
        func.json_build_object(*[v for key, value in parts.items() for v in (key, value)])
    )
