""" "What is planned here?": everything public at a point, or over a whole parcel."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, func, select

from layers.admin_units import AdminUnit
from layers.auction_lots import LAYER as AUCTION_LOTS
from layers.base import Layer
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


def point(lon: float, lat: float) -> ColumnElement:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


def point_from(x: float, y: float, srid: int) -> ColumnElement:
    return func.ST_Transform(func.ST_SetSRID(func.ST_MakePoint(x, y), srid), 4326)


def _public_columns(layer: Layer) -> list:
    return [layer.table.c[name] for name in layer.public_properties]


def features_at(layer: Layer, at: ColumnElement) -> Select:
    """Public rows of ``layer`` whose geometry contains the point."""
    table = layer.table
    return select(table.c[layer.key].label("id"), *_public_columns(layer)).where(
        func.ST_Intersects(table.c[layer.geometry_column], at), layer.public_where()
    )


def units_at(at: ColumnElement) -> Select:
    table = AdminUnit.__table__
    return (
        select(*[table.c[name] for name in UNIT_FIELDS])
        .where(func.ST_Intersects(table.c.geom_wgs84, at))
        .order_by(table.c.valid_from.desc())
    )


def zones_at(at: ColumnElement) -> Select:
    """Zones of public plans covering the point, with their plan's fields."""
    zones, projects = PLAN_ZONES.table, PLANNING_PROJECTS.table
    return (
        select(
            zones.c.id,
            *_public_columns(PLAN_ZONES),
            *[projects.c[name].label(f"plan_{name}") for name in PLAN_FIELDS],
        )
        .join(projects, projects.c.id == zones.c.project_id)
        .where(func.ST_Intersects(zones.c.geom_wgs84, at), PLANNING_PROJECTS.public_where())
        .order_by(projects.c.scale_denominator.desc(), zones.c.zone_code)
    )


def parcel_by_identity(unit_code: str, sheet: int, number: int) -> Select:
    table = PARCELS.table
    return select(table.c.id, *_public_columns(PARCELS)).where(
        table.c.unit_code == unit_code,
        table.c.map_sheet == sheet,
        table.c.parcel_number == number,
    )


def zones_over_parcel(parcel_id: int) -> Select:
    """Zones of public plans overlapping a parcel, with the overlap in m² (VN-2000) and
    as a share of the parcel's measured area."""
    zones, projects, parcels = PLAN_ZONES.table, PLANNING_PROJECTS.table, PARCELS.table
    overlap = func.ST_Area(func.ST_Intersection(zones.c.geom, parcels.c.geom))
    query = (
        select(
            zones.c.id,
            *_public_columns(PLAN_ZONES),
            *[projects.c[name].label(f"plan_{name}") for name in PLAN_FIELDS],
            overlap.label("overlap_m2"),
            (overlap / func.ST_Area(parcels.c.geom)).label("share"),
        )
        .select_from(parcels)
        .join(zones, func.ST_Intersects(zones.c.geom, parcels.c.geom))
        .join(projects, projects.c.id == zones.c.project_id)
        .where(and_(parcels.c.id == parcel_id, PLANNING_PROJECTS.public_where()))
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
