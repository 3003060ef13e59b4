"""What every layer module shares: the declarative base, the geometry columns and checks,
and the :class:`Layer` definition that the registry collects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, CheckConstraint, DateTime, MetaData, Table, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from gis.crs import VN2000_CAO_BANG, WGS84

#: The CRS geometries are stored in: areas are legal areas only in VN-2000 (see
#: docs/architecture.md); a generated WGS 84 copy serves maps and GeoJSON.
STORAGE_SRID = VN2000_CAO_BANG

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


#: A new row's change set: the one its statement opened (migration 0009).
CURRENT_CHANGE_SET = text("split_part(current_setting('landplan.change_set'), '/', 2)::bigint")


class BodyError(ValueError):
    """A request's body is refused at ``where`` (a JSON pointer into it), and why: the
    shape the API turns into a problem naming the member."""

    def __init__(self, where: str, detail: str):
        super().__init__(f"{where}: {detail}")
        self.where, self.detail = where, detail


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __table__: ClassVar[Table]


class PolygonFeature:
    """Mixin for tables whose rows are polygons on the map.

    ``geom`` is the authoritative geometry in VN-2000; ``geom_wgs84`` is kept by the
    database from it (a trigger, migration 0006), so the two can never disagree.
    Validity, emptiness and the service area are checked by the database itself,
    whatever client writes the row.
    """

    @declared_attr
    def geom(cls) -> Mapped[Any]:
        return mapped_column(
            Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False
        )

    @declared_attr
    def geom_wgs84(cls) -> Mapped[Any]:
        # Not a generated column: that would be computed again while a backup is
        # restored, before the EPSG:9210 row it needs (migration 0006).
        return mapped_column(
            Geometry("MULTIPOLYGON", srid=WGS84, spatial_index=True), nullable=False
        )

    @declared_attr
    def source(cls) -> Mapped[str]:
        """Lineage: where the geometry came from (survey, digitised plan, illustrative)."""
        return mapped_column(Text, nullable=False, server_default=text("'unspecified'"))

    @declared_attr
    def version(cls) -> Mapped[int]:
        """The row's version, its ETag: bumped by the database on every UPDATE (0008)."""
        return mapped_column(BigInteger, nullable=False, server_default=text("1"))

    @declared_attr
    def updated_at(cls) -> Mapped[datetime]:
        return mapped_column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

    @declared_attr
    def updated_by(cls) -> Mapped[str]:
        """Who wrote the version (staff data: never a public property)."""
        return mapped_column(Text, nullable=False, server_default=text("landplan_actor()"))

    @declared_attr
    def change_set(cls) -> Mapped[int]:
        """The change set that wrote the version (migration 0009, layers/history.py)."""
        return mapped_column(
            BigInteger, nullable=False, server_default=CURRENT_CHANGE_SET, index=True
        )

    @classmethod
    def geometry_checks(cls) -> tuple[CheckConstraint, ...]:
        return (
            CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
            CheckConstraint("NOT ST_IsEmpty(geom)", name="geom_not_empty"),
        )


def code_references(table: Table) -> dict[str, tuple[str, Table]]:
    """The columns of ``table`` that hold the id of a row with a code, as files name that
    row: ``project_id`` -> (``project_code``, planning_projects). Imports take the code and
    exports write it, under this one name, so an export imports back."""
    found = {}
    for column in table.columns:
        for key in column.foreign_keys:
            table_name, target = key.target_fullname.split(".")
            referred = table.metadata.tables.get(table_name)
            if column.name.endswith("_id") and target == "id" and referred is not None:
                if "code" in referred.c:
                    found[column.name] = (column.name.removesuffix("_id") + "_code", referred)
    return found


def one_of(column: str, values: tuple[str, ...] | tuple[int, ...], name: str) -> CheckConstraint:
    """A named CHECK that ``column`` takes one of ``values``: statuses and kinds."""
    listed = ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


@dataclass(frozen=True)
class Audience:
    """What a reader may see of a layer; decided for each caller by the authorization
    table (api/staff/rules.py), never by a layer. The default is the public's."""

    #: Every row, not only the public ones (unpublished plans).
    all_rows: bool = False
    #: The private properties too (certificate details, notes).
    private: bool = False
    #: Personal data joined from the private schema (a parcel's holders).
    personal: bool = False
    #: The units the reader is limited to (its personal data: only there); () for all.
    units: tuple[str, ...] = ()


PUBLIC = Audience()


@dataclass(frozen=True, eq=False)
class Layer:
    """How one table is published: the API, the tiles and the map read only this.

    ``public_properties`` is an allow-list: a column not named there never leaves the
    server through a public endpoint. ``public_filter`` restricts which rows are public
    (for plans: approved and published).
    """

    id: str
    title: str
    description: str
    table: Table
    public_properties: tuple[str, ...]
    private_properties: tuple[str, ...] = ()
    key: str = "id"
    geometry_column: str = "geom_wgs84"
    storage_geometry_column: str = "geom"
    min_zoom: int = 0
    max_zoom: int = 22
    tile_feature_limit: int = 20_000
    style: Mapping[str, Any] = field(default_factory=dict)
    public_filter: Callable[[Table], ColumnElement[bool]] | None = None
    #: Date column that ``datetime`` filters on (None: the layer has no time).
    temporal_property: str | None = None
    #: Whether counting the matches of a query is cheap enough to do on every page.
    cheap_count: bool = True
    #: Properties carried in vector tiles: what the map styles and labels by (details
    #: come from /lookup on a click). None: every public property but lists.
    tile_properties: tuple[str, ...] | None = None
    #: Simplify geometries in tiles below street zoom: worth it for large, detailed
    #: polygons (boundaries), a waste for small ones (parcels, zones, lots), which
    #: ST_AsMVTGeom's snapping to the tile grid already reduces.
    simplify: bool = False
    #: Whether features may be deleted (Part 4 DELETE). Legal records (parcels, planning
    #: projects) are never deleted: they are retired or cancelled by a decision.
    deletable: bool = True
    #: Personal data a :attr:`Audience.personal` reader gets as extra properties, built
    #: from the row's table and the reader's units (a parcel's holders, from
    #: ``private.parcel_holders``).
    personal_properties: (
        Callable[[Table, tuple[str, ...]], Mapping[str, ColumnElement[Any]]] | None
    ) = None

    def where(self, audience: Audience = PUBLIC) -> ColumnElement[bool]:
        """The rows ``audience`` may read."""
        return text("true") if audience.all_rows else self.public_where()  # type: ignore[return-value]

    def properties(self, audience: Audience = PUBLIC) -> tuple[str, ...]:
        """The properties ``audience`` may read (columns of the table)."""
        if audience.private:
            return self.public_properties + self.private_properties
        return self.public_properties

    def public_where(self) -> ColumnElement[bool]:
        """The row filter for anonymous readers (``true`` when every row is public)."""
        if self.public_filter is None:
            return text("true")  # type: ignore[return-value]
        return self.public_filter(self.table)
