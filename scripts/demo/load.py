"""Build the demo and write it to the database in one transaction."""

from __future__ import annotations

from typing import Any

import numpy as np
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Table, insert, select, text

from layers import editing, workflows
from layers.accounts import CLI_ACTOR
from layers.admin_units import AdminUnit
from layers.auction_lots import AuctionLot
from layers.base import STORAGE_SRID
from layers.development_areas import DevelopmentArea
from layers.dossiers import Dossier
from layers.parcels import Parcel, ParcelHolder
from layers.plan_zones import PlanZone
from layers.planning_projects import PlanningProject
from scripts.demo import DEFAULT_SEED, DEMO_SOURCE, cadastre, city, dossiers, plans

MARKER_PROJECT = "CB-QHC-2017"
TABLES = (
    "dossiers",
    "private.parcel_holders",
    "parcels",
    "auction_lots",
    "plan_zones",
    "planning_projects",
    "development_areas",
    "admin_units",
)


def is_loaded(conn: Connection) -> bool:
    table = PlanningProject.__table__
    return (
        conn.execute(select(table.c.id).where(table.c.code == MARKER_PROJECT)).first() is not None
    )


def clear(conn: Connection) -> None:
    # Ids go on where they were: an id names one feature in its history for good.
    conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))


def load(conn: Connection, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Write the whole demo through ``conn`` (the caller owns the transaction)."""
    conn.execute(editing.context(CLI_ACTOR, "cli", "the Cao Bằng demo (illustrative data)"))
    rng = np.random.default_rng(seed)
    outline = city.city_outline()
    units = city.old_units(outline)
    counts: dict[str, int] = {}

    unit_ids = _insert_units(conn, units)
    counts["admin_units"] = len(unit_ids)

    projects = plans.projects(units, outline)
    new = [_without(p, plans.LIFECYCLE_COLUMNS) for p in projects]
    project_ids = _insert(conn, PlanningProject.__table__, new, returning="code")
    for project in projects:  # to the report's status, as staff would
        for to, body in plans.road(project):
            workflows.transition(conn, workflows.PLANS, project["code"], to, body)
        if project["published"]:
            workflows.publication(conn, project["code"], True)
    counts["planning_projects"] = len(project_ids)

    zones = []
    for project in projects:
        if project["code"] in plans.ZONED:
            zones += plans.zones(project, rng)
        elif project["code"] == "CB-NACAN1":
            zones += plans.na_can_zones(project)
    for zone in zones:
        zone["project_id"] = project_ids[zone.pop("project_code")]
    counts["plan_zones"] = len(_insert(conn, PlanZone.__table__, zones))

    areas = plans.development_areas(units)
    area_ids = _insert(conn, DevelopmentArea.__table__, areas, returning="code")
    counts["development_areas"] = len(area_ids)

    lots = plans.auction_lots(areas, rng)
    for lot in lots:
        lot["development_area_id"] = area_ids[lot.pop("development_area_code")]
    new = [_without(lot, plans.LOT_STEP_COLUMNS) for lot in lots]
    counts["auction_lots"] = len(_insert(conn, AuctionLot.__table__, new))
    for lot in lots:
        for to, body in plans.lot_road(lot):
            workflows.transition(conn, workflows.LOTS, lot["lot_code"], to, body)

    parcel_rows = cadastre.parcels(units, rng)
    holders = [row.pop("holder") for row in parcel_rows]
    parcel_ids = _insert(conn, Parcel.__table__, parcel_rows)
    holder_rows = [
        dict(parcel_id=parcel_id, **holder)
        for parcel_id, holder in zip(parcel_ids.values(), holders, strict=True)
        if holder is not None
    ]
    conn.execute(insert(ParcelHolder.__table__), holder_rows)
    counts["parcels"] = len(parcel_ids)

    dossier_rows = dossiers.dossiers(list(parcel_ids.values()), rng)
    conn.execute(insert(Dossier.__table__), dossier_rows)
    counts["dossiers"] = len(dossier_rows)
    return counts


def _without(row: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


def _insert_units(conn: Connection, units: dict[str, BaseGeometry]) -> dict[str, int]:
    wards = city.new_wards(units)
    new_rows = [
        dict(
            code=code,
            name=name,
            kind="ward",
            valid_from=city.REFORM_DATE,
            valid_to=None,
            geom=wards[code],
        )
        for code, name in city.NEW_WARDS
    ]
    new_ids = _insert(conn, AdminUnit.__table__, new_rows, returning="code")
    old_rows = [
        dict(
            code=spec.code,
            name=spec.name,
            kind=spec.kind,
            valid_from=city.OLD_UNITS_FROM,
            valid_to=city.REFORM_DATE,
            merged_into_id=new_ids[spec.successor],
            geom=units[spec.code],
        )
        for spec in city.UNITS
    ]
    old_ids = _insert(conn, AdminUnit.__table__, old_rows, returning="code")
    return {**{f"new:{k}": v for k, v in new_ids.items()}, **old_ids}


def _insert(
    conn: Connection, table: Table, rows: list[dict[str, Any]], returning: str = "id"
) -> dict[Any, int]:
    """Insert rows (geometries as MultiPolygons in the storage CRS); map ``returning`` to id."""
    if not rows:
        return {}
    columns = set().union(*rows) | {"source"}
    params = [
        {
            **dict.fromkeys(columns),
            "source": DEMO_SOURCE,
            **row,
            "geom": from_shape(_multi(row["geom"]), srid=STORAGE_SRID),
        }
        for row in rows
    ]
    key, id_ = table.c[returning], table.c.id
    statement = insert(table).returning(*dict.fromkeys([key, id_]), sort_by_parameter_order=True)
    result = conn.execute(statement, params).all()
    return {row[0]: row[-1] for row in result}


def _multi(geom: BaseGeometry) -> MultiPolygon:
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    raise TypeError(f"demo geometry must be polygonal, got {geom.geom_type}")
