"""Change requests: a named set of edits to legal data, drafted by one account, approved
by another citing a decision or a dossier, and only then applied, as one change set.

An edit is stored as the client sent it (the Part 4 body, its CRS) with the version of the
feature it was based on, and read again when the request is applied: the rules of the day
of approval hold, and a feature changed since the draft makes the whole request stale
(:class:`Stale`, listing the features) rather than overwriting someone else's change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from layers import editing
from layers.base import Layer

_PRIVATE = MetaData()

REQUESTS = Table(
    "change_requests",
    _PRIVATE,
    Column("id", BigInteger, primary_key=True),
    Column("kind", Text),
    Column("title", Text),
    Column("reason", Text),
    Column("author", Text),
    Column("created_at", DateTime(timezone=True)),
    Column("status", Text),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision", JSONB),
    Column("dossier", Text),
    Column("decided_reason", Text),
    Column("applied_change_set", BigInteger),
    schema="private",
)
EDITS = Table(
    "change_request_edits",
    _PRIVATE,
    Column("id", BigInteger, primary_key=True),
    Column("request_id", BigInteger),
    Column("operation", Text),
    Column("layer", Text),
    Column("feature_id", BigInteger),
    Column("based_on", BigInteger),
    Column("body", JSONB),
    Column("srid", Integer),
    Column("lat_first", Boolean),
    Column("added_by", Text),
    Column("added_at", DateTime(timezone=True)),
    schema="private",
)

KINDS = ("edit", "adjustment", "cadastral")
OPERATIONS = ("create", "replace", "update", "delete")


class Stale(Exception):
    """Features changed (or went) since the edits based on them were drafted."""

    def __init__(self, features: list[dict[str, Any]]):
        super().__init__(f"{len(features)} feature(s) changed since the request was drafted")
        self.features = features


class Refused(Exception):
    """The request cannot take this step (``status``: the HTTP answer, 403 or 409)."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def draft(kind: str, title: str, reason: str | None, author: str) -> Any:
    return (
        insert(REQUESTS)
        .values(kind=kind, title=title, reason=reason, author=author)
        .returning(REQUESTS.c.id)
    )


def find(request_id: int, lock: bool = False) -> Select:
    found = select(REQUESTS).where(REQUESTS.c.id == request_id)
    return found.with_for_update() if lock else found


def edits(request_id: int) -> Select:
    return select(EDITS).where(EDITS.c.request_id == request_id).order_by(EDITS.c.id)


def listed(status: str | None, limit: int) -> Select:
    found = select(REQUESTS).order_by(REQUESTS.c.id.desc()).limit(limit)
    return found.where(REQUESTS.c.status == status) if status else found


@dataclass(frozen=True)
class Edit:
    """One Part 4 write, held for the request instead of made."""

    operation: str
    layer: str
    feature_id: int | None
    based_on: int | None
    body: Any
    srid: int = 4326
    lat_first: bool = False


def join(conn: Connection, request_id: int, edit: Edit, who: str) -> int:
    """Add ``edit`` to the draft ``request_id`` of ``who`` (Refused otherwise); its id."""
    request = conn.execute(find(request_id, lock=True)).one_or_none()
    if request is None:
        raise Refused(404, f"no change request {request_id}")
    if request.status != "draft":
        raise Refused(409, f"change request {request_id} is {request.status}: no more edits")
    if request.author != who:
        raise Refused(403, f"change request {request_id} is drafted by its author only")
    values = {**edit.__dict__, "request_id": request_id, "added_by": who}
    return conn.execute(insert(EDITS).values(values).returning(EDITS.c.id)).scalar_one()


def layers_of(conn: Connection, request_id: int) -> list[str]:
    found = select(EDITS.c.layer).where(EDITS.c.request_id == request_id).distinct()
    return sorted(conn.execute(found).scalars())


def _stale(conn: Connection, rows: Sequence[Any], registry: Mapping[str, Layer]) -> list[dict]:
    """The edited features whose version is no longer the one their edit was based on
    (locked: none can change between this check and the writes)."""
    found = []
    for row in rows:
        if row.feature_id is None:
            continue
        layer = registry[row.layer]
        table = layer.table
        now = conn.execute(
            select(table.c.version)
            .where(table.c[layer.key] == row.feature_id)
            .with_for_update(of=table)
        ).scalar()
        if now is None or (row.based_on is not None and now != row.based_on):
            found.append(
                {
                    "collection": row.layer,
                    "feature": row.feature_id,
                    "based_on": row.based_on,
                    "version": now,
                }
            )
    return found


def _write(conn: Connection, layer: Layer, row: Any) -> int:
    if row.operation == "delete":
        conn.execute(editing.remove(layer, row.feature_id, None))
        return int(row.feature_id)
    changes = editing.parse(
        layer, row.body, row.srid, partial=row.operation == "update", lat_first=row.lat_first
    )
    if row.operation == "create":
        return int(conn.execute(editing.create(layer, changes)).one().key)
    conn.execute(editing.change(layer, row.feature_id, changes, None))
    return int(row.feature_id)


def apply(
    conn: Connection,
    request_id: int,
    registry: Mapping[str, Layer],
    units: tuple[str, ...] = (),
) -> list[tuple[str, int]]:
    """Make the request's edits in the caller's transaction, in their order: Stale when a
    feature moved on, FeatureError when a body no longer reads, a database error for a
    rule; the (collection, feature) written."""
    rows = conn.execute(edits(request_id)).all()
    stale = _stale(conn, rows, registry)
    if stale:
        raise Stale(stale)
    written = []
    for row in rows:
        layer = registry[row.layer]
        key = _write(conn, layer, row)
        if units and row.operation != "delete":
            if conn.execute(editing.outside_units(layer, key, units)).scalar():
                raise Refused(403, f"{row.layer} {key} lies outside {', '.join(units)}")
        written.append((row.layer, key))
    return written


def current_change_set() -> Select:
    """The transaction's change set (open once it has written a layer)."""
    return select(func.split_part(func.current_setting("landplan.change_set"), "/", 2))


def decide(
    conn: Connection,
    request_id: int,
    status: str,
    who: str,
    *,
    decision: Mapping[str, Any] | None = None,
    dossier: str | None = None,
    reason: str | None = None,
    change_set: int | None = None,
) -> None:
    conn.execute(
        update(REQUESTS)
        .where(REQUESTS.c.id == request_id)
        .values(
            status=status,
            decided_by=who,
            decided_at=func.clock_timestamp(),
            decision=decision,
            dossier=dossier,
            decided_reason=reason,
            applied_change_set=change_set,
        )
    )


#: A parcel's legal record: changed only through a change request (the geometry too).
LEGAL_PARCEL_FIELDS = (
    "unit_code",
    "map_sheet",
    "parcel_number",
    "land_use_code",
    "legal_area_m2",
    "certificate_status",
    "certificate_serial",
    "certificate_register_number",
    "certificate_issued_on",
)
#: How far a boundary sent back may lie from the stored one and still be the same (a
#: client's round trip through WGS 84 moves it by far less).
SAME_BOUNDARY_M = 0.01


def _moved(table: Table, changes: editing.Changes) -> ColumnElement[bool]:
    new = editing.stored_geometry(changes)
    return func.ST_HausdorffDistance(table.c.geom, new) > SAME_BOUNDARY_M


def needs_request(
    layer: Layer, operation: str, key: int | None, changes: editing.Changes | None
) -> Select | str | None:
    """Whether a direct Part 4 write touches legal data that changes only through a
    change request: an approved plan's zones or boundary, a parcel's legal record. A
    reason (text), a statement answering one (or no row), or None."""
    from layers.planning_projects import PlanningProject

    table = layer.table
    values = changes.values if changes is not None else {}
    if layer.id == "plan_zones":
        plans = PlanningProject.__table__
        ids: list[Any] = []
        if key is not None:
            ids.append(select(table.c.project_id).where(table.c.id == key).scalar_subquery())
        if values.get("project_id") is not None:
            ids.append(literal(values["project_id"]))
        if not ids:
            return None
        approved = select(plans.c.code).where(
            plans.c.status == "approved", or_(*(plans.c.id == i for i in ids))
        )
        return approved.limit(1).add_columns(literal("the zones of an approved plan"))
    if layer.id == "planning_projects" and changes is not None and changes.geometry is not None:
        if key is None:
            return None
        return select(table.c.code, literal("the boundary of an approved plan")).where(
            table.c.id == key, table.c.status == "approved", _moved(table, changes)
        )
    if layer.id == "parcels":
        if key is None or changes is None:
            return "a parcel's legal record (a new parcel is made by a split, merge or survey)"
        touched = [
            table.c[name].is_distinct_from(values[name])
            for name in LEGAL_PARCEL_FIELDS
            if name in values
        ]
        if changes.geometry is not None:
            touched.append(_moved(table, changes))
        if not touched:
            return None
        return select(
            func.concat(table.c.unit_code, "/", table.c.map_sheet, "/", table.c.parcel_number),
            literal("a parcel's geometry, legal area, land use or certificate"),
        ).where(table.c.id == key, or_(*touched))
    return None
