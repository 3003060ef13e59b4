"""The layers a file can be imported into: their natural keys, the rows they refer to by
code, and the checks that apply to each.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import (
    Column,
    Select,
    Table,
    select,
)

from gis.errors import GISError
from layers.admin_units import AdminUnit
from layers.auction_lots import AuctionLot
from layers.base import code_references
from layers.development_areas import DevelopmentArea
from layers.parcels import Parcel
from layers.plan_zones import PlanZone
from layers.planning_projects import PlanningProject


class ImportStopped(GISError):
    """The import cannot start as asked (no CRS, bad mapping); the message says why."""


@dataclass(frozen=True)
class Reference:
    """A column holding another row's id, which files give as that row's code: a zone's
    project, a lot's development area, the unit an old ward was merged into."""

    column: str  # the layer's id column (project_id)
    code: str  # what the mapping and the staging table call the code (project_code)
    table: Table  # the layer referred to
    by: str = "code"

    def row_of(self, code: Any, column: str = "id", other_than: Any = None) -> Select:
        """``column`` of the row ``code`` names (not ``other_than``, an id); of several
        (units keep their code across the reform), the most recent."""
        t = self.table.alias(f"referred_{self.table.name}")
        query = select(t.c[column]).where(t.c[self.by] == code)
        if other_than is not None:
            query = query.where(t.c.id != other_than)
        latest = [t.c.valid_from.desc()] if "valid_from" in t.c else []
        return query.order_by(*latest).limit(1)


@dataclass(frozen=True)
class Target:
    """A layer as an import target: its natural key (in the file's terms: codes, not
    ids), the columns a file may fill, and the checks that apply to it."""

    id: str
    model: Any
    key: tuple[str, ...]
    #: columns a file never sets: publication is a decision, documents are a list
    excluded: tuple[str, ...] = ()
    #: For layers whose features tile the land: the columns of a block that should be
    #: seamless (a map sheet); checked for overlaps and gaps.
    coverage: tuple[str, ...] = ()
    area_check: str | None = None
    #: the reference (by its code) whose row's boundary must hold each feature
    within: str | None = None

    @property
    def table(self):
        return self.model.__table__

    @cached_property
    def references(self) -> tuple[Reference, ...]:
        """The rows this layer refers to by id, which files name by code."""
        return tuple(
            Reference(column, code, referred)
            for column, (code, referred) in code_references(self.table).items()
        )

    def reference(self, code: str) -> Reference:
        return next(r for r in self.references if r.code == code)

    # Both are read for every feature imported: worked out once per target.
    @cached_property
    def columns(self) -> dict[str, Column]:
        skip = {"id", "geom", "geom_wgs84", *self.excluded}
        by_id = {r.column: r for r in self.references}
        columns: dict[str, Column] = {}
        for c in self.table.columns:
            if c.name in skip or c.computed is not None:
                continue
            if c.name in by_id:
                ref = by_id[c.name]
                columns[ref.code] = Column(ref.code, ref.table.c[ref.by].type, nullable=c.nullable)
            else:
                columns[c.name] = c
        return columns

    @cached_property
    def required(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, c in self.columns.items()
            if not c.nullable and c.server_default is None and c.default is None
        )

    @cached_property
    def conflict(self) -> tuple[str, ...]:
        """The natural key in the table's terms (project_id for project_code)."""
        by_code = {r.code: r.column for r in self.references}
        return tuple(by_code.get(k, k) for k in self.key)


TARGETS = {
    "planning_projects": Target(
        "planning_projects",
        PlanningProject,
        ("code",),
        excluded=("published", "documents"),
    ),
    "plan_zones": Target(
        "plan_zones",
        PlanZone,
        ("project_code", "zone_code"),
        within="project_code",
    ),
    "parcels": Target(
        "parcels",
        Parcel,
        ("unit_code", "map_sheet", "parcel_number"),
        coverage=("unit_code", "map_sheet"),
        area_check="legal_area_m2",
    ),
    "auction_lots": Target(
        "auction_lots",
        AuctionLot,
        ("lot_code",),
        area_check="area_m2",
    ),
    "development_areas": Target("development_areas", DevelopmentArea, ("code",)),
    "admin_units": Target(
        "admin_units",
        AdminUnit,
        ("code", "valid_from"),
    ),
}
