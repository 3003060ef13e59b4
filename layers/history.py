"""Reading the past: snapshots at a change set, a feature's versions, a change set's diff,
and the statements that revert one.

The database keeps the history (migration 0009): each layer table holds its current
versions stamped with the change set that wrote them; ``history.<table>`` (the holders':
``private.parcel_holders_history``) holds the versions that later change sets ended
(``closed_by``). The state *as of* change set ``c`` is therefore, for each table::

    current rows with change_set <= c  UNION ALL  kept rows with change_set <= c < closed_by

:func:`as_of` puts that in place of every versioned table a query reads (joins and
subqueries included: a zone's plan, a parcel's holders), so any query of the current
data reads the past unchanged, with the same audience rules applied to the rows as they
were: an anonymous reader gets what was public then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    MetaData,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import TSTZRANGE, aggregate_order_by
from sqlalchemy.sql.util import ClauseAdapter

from layers.accounts import in_units
from layers.base import STORAGE_SRID, Audience, Layer
from layers.features import OutputCRS, feature_json
from layers.parcels import ParcelHolder

_KEPT = MetaData()

CHANGE_SETS = Table(
    "change_sets",
    _KEPT,
    Column("id", BigInteger, primary_key=True),
    Column("opened_at", DateTime(timezone=True)),
    Column("actor", Text),
    Column("via", Text),
    Column("reason", Text),
    Column("decision", Text),
    Column("dossier", Text),
    Column("reverts", BigInteger),
    schema="private",
)
EDITS = Table(
    "edits",
    _KEPT,
    Column("id", BigInteger, primary_key=True),
    Column("layer", Text),
    Column("operation", Text),
    Column("row_count", BigInteger),
    Column("change_set", BigInteger),
    Column("bbox", Geometry(srid=4326, spatial_index=False)),
    schema="private",
)

#: The name holders' statements carry in the journal, as a layer's do.
HOLDERS = "parcel_holders"
HOLDERS_TABLE: Table = ParcelHolder.__table__

#: The change set of a snapshot, as a bound parameter.
AS_OF = "as_of_change_set"


@lru_cache(maxsize=16)
def kept(table: Table) -> Table:
    """The versions of ``table`` that later change sets ended."""
    schema, name = ("private", f"{table.name}_history") if table.schema else ("history", table.name)
    return Table(
        name,
        _KEPT,
        Column("closed_by", BigInteger),
        Column("system_time", TSTZRANGE),
        *(Column(c.name, c.type) for c in table.columns),
        schema=schema,
    )


def _versioned(metadata: MetaData) -> tuple[Table, ...]:
    return tuple(
        t for t in metadata.tables.values() if "change_set" in t.c and t.metadata is metadata
    )


def snapshot(table: Table, change_set: ColumnElement[Any]) -> Any:
    """``table`` as it stood after ``change_set`` (a bound parameter or, for a version's
    own time, a column of an outer query), with the table's columns."""
    past = kept(table)
    names = [c.name for c in table.columns]
    # Correlated to the outer query when the change set is one of its columns.
    current = select(*table.c).where(table.c.change_set <= change_set).correlate_except(table)
    ended = (
        select(*(past.c[n] for n in names))
        .where(past.c.change_set <= change_set, past.c.closed_by > change_set)
        .correlate_except(past)
    )
    return union_all(current, ended).subquery(f"{table.name}_as_of")


def as_of(
    statement: Any, change_set: int | ColumnElement[Any] | None = None, skip: Table | None = None
) -> Any:
    """``statement`` (a query or an expression) reading every versioned table as of
    ``change_set``: a change set's id, a column of an outer query, or (None) the bound
    parameter :data:`AS_OF`, given when the statement runs. ``skip`` is left as it is
    (a table the caller has put one version of in place)."""
    at: ColumnElement[Any]
    if change_set is None or isinstance(change_set, int):
        at = bindparam(AS_OF, change_set, type_=BigInteger)
    else:
        at = change_set
    for table in _versioned(HOLDERS_TABLE.metadata):
        if table is not skip:
            statement = ClauseAdapter(snapshot(table, at)).traverse(statement)
    return statement


def change_set_at(moment: datetime) -> Select:
    """The last change set opened at or before ``moment`` (null: before history began),
    and when history began (the first change set, the migration's)."""
    c = CHANGE_SETS
    last = (
        select(c.c.id)
        .where(c.c.opened_at <= moment)
        .order_by(c.c.opened_at.desc(), c.c.id.desc())
        .limit(1)
    )
    first = select(c.c.opened_at).order_by(c.c.id).limit(1)
    return select(last.scalar_subquery(), first.scalar_subquery())


# --- the versions of one feature ------------------------------------------------------


def versions_of(table: Table) -> Any:
    """Every version of ``table``'s rows: the current ones (``closed_by`` null) and the
    kept ones, with the table's columns and ``closed_by``."""
    past = kept(table)
    names = [c.name for c in table.columns]
    current = select(*table.c, null().cast(BigInteger).label("closed_by"))
    ended = select(*(past.c[n] for n in names), past.c.closed_by)
    return union_all(current, ended).subquery(f"{table.name}_versions")


def at_version(expression: Any, table: Table, versions: Any) -> Any:
    """``expression`` over ``table`` read from the version rows ``versions``, and every
    other versioned table as of the version's own change set (its plan's publication,
    the parcel's holders then)."""
    adapted = ClauseAdapter(versions).traverse(expression)
    return as_of(adapted, versions.c.change_set, skip=table)


def change_set_json(alias: Any) -> ColumnElement[Any]:
    """A change set as a JSON object: who, when, why, through what."""
    names = ("id", "opened_at", "actor", "via", "reason", "decision", "dossier", "reverts")
    pairs = [item for name in names for item in (literal(name), alias.c[name])]
    # Whether it wrote holders: its reasons may name them (api/routers/history.py).
    holders = select(EDITS.c.id).where(EDITS.c.change_set == alias.c.id, EDITS.c.layer == HOLDERS)
    return func.json_build_object(*pairs, literal("holders"), holders.exists())


def feature_versions(layer: Layer, feature_id: int, crs: OutputCRS, audience: Audience) -> Select:
    """The versions of one feature the audience may read, oldest first: (version, the
    feature then as GeoJSON text, the change set that wrote it, the one that ended it)."""
    table = layer.table
    versions = versions_of(table)
    opened, closed = CHANGE_SETS.alias("opened"), CHANGE_SETS.alias("closed")
    feature = at_version(feature_json(layer, crs, audience), table, versions)
    return (
        select(
            versions.c.version,
            feature.label("feature"),
            change_set_json(opened).label("opened"),
            case((closed.c.id.is_(None), null()), else_=change_set_json(closed)).label("closed"),
        )
        .select_from(
            versions.join(opened, opened.c.id == versions.c.change_set).outerjoin(
                closed, closed.c.id == versions.c.closed_by
            )
        )
        .where(
            versions.c[layer.key] == feature_id,
            at_version(layer.where(audience), table, versions),
        )
        .order_by(versions.c.change_set)
    )


# --- change sets ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChangesQuery:
    """A search of change sets: values already checked."""

    #: The journal's names of the layers the reader may read (holders: ``parcel_holders``).
    readable: tuple[str, ...]
    actor: str | None = None
    layer: str | None = None
    #: (xmin, ymin, xmax, ymax) in WGS 84.
    bbox: tuple[float, float, float, float] | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 50
    before: int | None = None


def _in_bbox(box: tuple[float, float, float, float] | None) -> ColumnElement[bool]:
    if box is None:
        return literal(True)
    return func.ST_Intersects(EDITS.c.bbox, func.ST_MakeEnvelope(*box, 4326))


def change_sets(query: ChangesQuery) -> Select:
    """Change sets, newest first, one more than the limit, each with its statements on the
    layers the reader may read (a change set with none there is not listed)."""
    c, e = CHANGE_SETS, EDITS
    statement = func.json_build_object(
        literal("layer"),
        e.c.layer,
        literal("operation"),
        e.c.operation,
        literal("rows"),
        e.c.row_count,
    )
    extent = func.ST_SetSRID(func.ST_Extent(e.c.bbox).cast(Geometry()), 4326)
    statements = (
        select(
            func.json_agg(aggregate_order_by(statement, e.c.id)).label("statements"),
            func.ST_AsGeoJSON(extent, 7).label("bbox"),
            func.bool_or(e.c.layer == query.layer).label("has_layer"),
            func.bool_or(_in_bbox(query.bbox)).label("in_bbox"),
        )
        .where(e.c.change_set == c.c.id, e.c.layer.in_(query.readable))
        .lateral("statements")
    )
    where: list[ColumnElement[bool]] = [statements.c.statements.is_not(None)]
    if query.actor is not None:
        where.append(c.c.actor == query.actor)
    if query.layer is not None:
        where.append(statements.c.has_layer)
    if query.bbox is not None:
        where.append(statements.c.in_bbox)
    if query.start is not None:
        where.append(c.c.opened_at >= query.start)
    if query.end is not None:
        where.append(c.c.opened_at <= query.end)
    if query.before is not None:
        where.append(c.c.id < query.before)
    return (
        select(change_set_json(c).label("change_set"), statements.c.statements, statements.c.bbox)
        .select_from(c.join(statements, true()))
        .where(*where)
        .order_by(c.c.id.desc())
        .limit(query.limit + 1)
    )


def one_change_set(change_set: int, readable: tuple[str, ...]) -> Select:
    """One change set as :func:`change_sets` lists it (no row: none, or none readable)."""
    return change_sets(ChangesQuery(readable=readable, before=change_set + 1, limit=0)).where(
        CHANGE_SETS.c.id == change_set
    )


# --- what a change set did: its diff --------------------------------------------------


def touched(table: Table, change_set: int) -> tuple[Any, Any]:
    """The versions a change set wrote (``after``) and those it ended (``before``)."""
    versions = versions_of(table)
    after = select(versions).where(versions.c.change_set == change_set).subquery("after")
    before = select(versions).where(versions.c.closed_by == change_set).subquery("before")
    return after, before


def diff(
    layer: Layer, change_set: int, audience: Audience, after_key: int | None, limit: int
) -> Select:
    """The features of ``layer`` a change set touched, by key: each one's version and
    GeoJSON text before and after (null: created, or deleted), and the m² its geometry
    gained and lost, in VN-2000. A side the audience may not read is null."""
    table = layer.table
    after, before = touched(table, change_set)
    key = func.coalesce(after.c[layer.key], before.c[layer.key])
    sides = []
    for side in (before, after):
        text = at_version(feature_json(layer, OutputCRS(), audience), table, side)
        visible = at_version(layer.where(audience), table, side)
        sides.append(case((and_(side.c[layer.key].is_not(None), visible), text), else_=null()))
    column = layer.storage_geometry_column
    empty = func.ST_GeomFromText(literal("POLYGON EMPTY"), STORAGE_SRID)
    new = func.coalesce(after.c[column], empty)
    old = func.coalesce(before.c[column], empty)
    where = [] if after_key is None else [key > after_key]
    return (
        select(
            key.label("feature_id"),
            before.c.version.label("version_before"),
            after.c.version.label("version_after"),
            sides[0].label("before"),
            sides[1].label("after"),
            func.ST_Area(func.ST_Difference(new, old)).label("gained_m2"),
            func.ST_Area(func.ST_Difference(old, new)).label("lost_m2"),
        )
        .select_from(after.join(before, after.c[layer.key] == before.c[layer.key], full=True))
        .where(*where)
        .order_by(key)
        .limit(limit + 1)
    )


# --- undoing a change set -------------------------------------------------------------


@dataclass(frozen=True)
class Versioned:
    """A table whose rows have versions, as a revert writes it: its journal name, key,
    the columns a revert restores (not those the database computes or stamps)."""

    name: str
    table: Table
    key: str

    @property
    def restored(self) -> tuple[str, ...]:
        stamped = {self.key, "version", "updated_at", "updated_by", "change_set", "geom_wgs84"}
        return tuple(
            c.name for c in self.table.columns if c.computed is None and c.name not in stamped
        )


def later_changes(target: Versioned, change_set: int) -> Select:
    """Features the change set touched that later change sets wrote again: (key, their
    ids). A revert would undo those without saying so."""
    ids = _touched_keys(target, change_set)
    versions = versions_of(target.table)
    key = versions.c[target.key]
    # a later change set wrote a version of the feature, or ended one (a deletion)
    later = union_all(
        select(key.label("key"), versions.c.change_set.label("by")).where(
            key.in_(ids), versions.c.change_set > change_set
        ),
        select(key.label("key"), versions.c.closed_by.label("by")).where(
            key.in_(ids), versions.c.closed_by > change_set
        ),
    ).subquery("later")
    return (
        select(later.c.key, func.array_agg(aggregate_order_by(later.c.by.distinct(), later.c.by)))
        .group_by(later.c.key)
        .order_by(later.c.key)
    )


def _touched_keys(target: Versioned, change_set: int) -> Any:
    after, before = touched(target.table, change_set)
    return union_all(select(after.c[target.key]), select(before.c[target.key]))


def _created_keys(target: Versioned, change_set: int) -> Any:
    """Keys of the features the change set created (a version, none before it)."""
    after, before = touched(target.table, change_set)
    return select(after.c[target.key]).where(
        after.c[target.key].not_in(select(before.c[target.key]))
    )


def lock(target: Versioned, change_set: int) -> Select:
    """Lock the current rows of the features the change set touched: from here to the
    revert's commit nobody else changes them (the later-changes check runs after it)."""
    table = target.table
    keys = _touched_keys(target, change_set)
    return select(table.c[target.key]).where(table.c[target.key].in_(keys)).with_for_update()


def outside_references(target: Versioned, change_set: int, deleted: dict[Table, Any]) -> Select:
    """How many rows of other tables (dossiers too) refer to the features a revert would
    delete, and are not deleted with them: their foreign keys would cascade or be set
    null, outside the change set."""
    table = target.table
    doomed = _created_keys(target, change_set)
    counts = []
    for other in table.metadata.tables.values():
        for fk in other.foreign_keys:
            if fk.column.table is not table or fk.parent.table is not other:
                continue
            where = [fk.parent.in_(doomed)]
            if other in deleted:  # rows the same revert deletes refer freely
                other_key = deleted[other]
                where.append(
                    other.c[other_key].not_in(_created_keys_of(other, other_key, change_set))
                )
            counts.append(select(func.count()).select_from(other).where(*where).scalar_subquery())
    total: ColumnElement[Any] = literal(0)
    for count in counts:
        total = total + count
    return select(total)


def _created_keys_of(table: Table, key: str, change_set: int) -> Any:
    return _created_keys(Versioned("", table, key), change_set)


def outside_units(target: Versioned, change_set: int, units: tuple[str, ...]) -> Select:
    """How many versions the change set wrote or ended lie outside ``units``."""
    after, before = touched(target.table, change_set)
    outside = [
        select(func.count())
        .select_from(side)
        .where(~ClauseAdapter(side).traverse(in_units(target.table, units)))
        for side in (after, before)
    ]
    return select(outside[0].scalar_subquery() + outside[1].scalar_subquery())


def undo_creations(target: Versioned, change_set: int) -> Any:
    """Delete the rows the change set created (locked by :func:`lock` and checked by
    :func:`later_changes`: they are as it left them, but for the revert's own stamps)."""
    table = target.table
    return delete(table).where(table.c[target.key].in_(_created_keys(target, change_set)))


def undo_changes(target: Versioned, change_set: int) -> Any:
    """Put back the versions the change set replaced (locked and checked, as for
    :func:`undo_creations`)."""
    table, past = target.table, kept(target.table).alias("kept")
    return (
        update(table)
        .where(table.c[target.key] == past.c[target.key], past.c.closed_by == change_set)
        .values({name: past.c[name] for name in target.restored})
    )


def undo_deletions(target: Versioned, change_set: int) -> Any:
    """Insert again the rows the change set deleted, at a version after their last."""
    table, past = target.table, kept(target.table).alias("kept")
    names = [target.key, *target.restored]
    values: list[ColumnElement[Any]] = [past.c[n] for n in names]
    if "version" in table.c:  # an ETag the feature never had: no stale If-Match holds
        names.append("version")
        values.append(past.c.version + 1)
    live = select(table.c[target.key]).where(table.c[target.key] == past.c[target.key])
    rows = select(*values).where(past.c.closed_by == change_set, ~live.exists())
    return insert(table).from_select(names, rows).returning(table.c[target.key])


def targets(registry: dict[str, Layer] | Any) -> tuple[Versioned, ...]:
    """The versioned tables in the order a revert inserts into them (a row before the
    rows that refer to it); it deletes in the reverse order."""
    order = ("admin_units", "development_areas", "planning_projects", "auction_lots", "parcels")
    found = [Versioned(name, registry[name].table, registry[name].key) for name in order]
    found.append(Versioned(HOLDERS, HOLDERS_TABLE, "parcel_id"))
    found.append(Versioned("plan_zones", registry["plan_zones"].table, registry["plan_zones"].key))
    return tuple(found)
