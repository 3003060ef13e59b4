"""Moving a plan or an auction lot along its lifecycle, and publishing a plan, as SQL.

The routes (api/routers/workflows.py, through ``AsyncConnection.run_sync``) and the demo
loader run the same functions, :func:`transition` and :func:`publication`: lock the row,
check the move against the lifecycle (layers/lifecycle.py), say that a move is being made
(:func:`moving`: the database's trigger refuses a status or publication changed any
other way, migration 0010), write the row and its event. The event and the row's new
version belong to the transaction's change set: who and when are the history's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Insert,
    MetaData,
    Select,
    Table,
    Text,
    Update,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from layers import auction_lots, editing, planning_projects
from layers.base import Layer
from layers.lifecycle import FIELDS, LOT, PLAN, GroundsError, Lifecycle

_PRIVATE = MetaData()

#: The moves and publications of plans and lots (migration 0010); kept like history.
EVENTS = Table(
    "lifecycle_events",
    _PRIVATE,
    Column("id", BigInteger, primary_key=True),
    Column("layer", Text),
    Column("feature_id", BigInteger),
    Column("kind", Text),
    Column("from_status", Text),
    Column("to_status", Text),
    Column("grounds", JSONB),
    Column("reason", Text),
    Column("actor", Text),
    Column("at", DateTime(timezone=True)),
    Column("change_set", BigInteger),
    schema="private",
)

Grounds = Mapping[str, Any]


def _plan_columns(to: str, grounds: Grounds) -> dict[str, Any]:
    """What a plan's move writes beside its status: the approving decision, the
    appraisal; a cancelled plan is no longer published."""
    if to == "approved":
        decision = grounds["decision"]
        return {
            "decision_number": decision.number,
            "decision_date": decision.date,
            "decision_authority": decision.authority,
            "decision_source": decision.source,
        }
    if to == "appraised":
        appraisal = grounds["appraisal"]
        return {
            "appraisal_date": appraisal.date,
            "appraisal_body": appraisal.body,
            "appraisal_number": appraisal.number,
        }
    if to == "cancelled":
        return {"published": False}
    return {}


def _lot_columns(to: str, grounds: Grounds) -> dict[str, Any]:
    """What a lot's step writes beside its status: the auction's date when announced,
    the winning price when sold, the result's words."""
    values: dict[str, Any] = {}
    if "auction" in grounds:
        values["auction_date"] = grounds["auction"].date
    result = grounds.get("result")
    if to == "sold" and (result is None or result.winning_price_vnd is None):
        raise GroundsError("/result/winning_price_vnd", "a sale needs the winning price")
    if result is not None:
        if result.winning_price_vnd is not None:
            values["winning_price_vnd"] = result.winning_price_vnd
        if result.note is not None:
            values["result"] = result.note
    return values


@dataclass(frozen=True)
class Workflow:
    """A layer whose rows move along a lifecycle, named in URLs by ``code``."""

    layer: Layer
    lifecycle: Lifecycle
    code: str
    columns: Callable[[str, Grounds], dict[str, Any]]
    #: Whether rows are published (plans) beside moving.
    publishes: bool = False

    def find(self, code: str, lock: bool = True) -> Select:
        """The row named ``code`` (key, status, publication); ``lock``: locked until the
        transaction ends, so that two moves of one row are made one after the other."""
        table = self.layer.table
        published = table.c.published if self.publishes else null()
        found = select(table.c.id, table.c.status, published.label("published")).where(
            table.c[self.code] == code
        )
        return found.with_for_update(of=table) if lock else found

    def values(self, to: str, grounds: Grounds) -> dict[str, Any]:
        """The row's new values for the move to ``to`` (GroundsError when the grounds
        do not carry what the move writes)."""
        return {"status": to, **self.columns(to, grounds)}

    def move(self, key: int, values: dict[str, Any]) -> Update:
        table = self.layer.table
        return update(table).where(table.c.id == key).values(values)

    def publish(self, key: int, published: bool) -> Update:
        table = self.layer.table
        return update(table).where(table.c.id == key).values(published=published)

    def events(self, key: int) -> Select:
        """The row's moves and publications, oldest first."""
        return (
            select(EVENTS)
            .where(EVENTS.c.layer == self.layer.id, EVENTS.c.feature_id == key)
            .order_by(EVENTS.c.id)
        )

    def allowed(self, current: str) -> list[dict[str, Any]]:
        """The moves from ``current`` with the grounds each needs and their fields."""
        return [
            {
                "to": to,
                "requires": list(self.lifecycle.required(to)),
                "grounds": {name: FIELDS[name] for name in self.lifecycle.grounds},
            }
            for to in self.lifecycle.allowed(current)
        ]


PLANS = Workflow(planning_projects.LAYER, PLAN, "code", _plan_columns, publishes=True)
LOTS = Workflow(auction_lots.LAYER, LOT, "lot_code", _lot_columns)


def moving() -> Select:
    """For the rest of the transaction, status and publication may change: the trigger
    then checks the move itself against the lifecycle (migration 0010)."""
    return select(func.set_config(literal("landplan.lifecycle"), literal("on"), True))


def event(
    workflow: Workflow,
    key: int,
    kind: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    grounds: Grounds | None = None,
    reason: str | None = None,
) -> Insert:
    """The event of a move (``transition``) or of a publication (``published``,
    ``withdrawn``); its actor, time and change set are the transaction's."""
    found = {name: ground.as_json() for name, ground in (grounds or {}).items()}
    return insert(EVENTS).values(
        layer=workflow.layer.id,
        feature_id=key,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        grounds=found,
        reason=reason,
    )


class NotFound(LookupError):
    """No row of the workflow's layer has the code (a 404)."""


class OutsideUnits(PermissionError):
    """The row lies outside the caller's units (a 403)."""


class NotApproved(ValueError):
    """Only an approved plan is published or withdrawn (a 409)."""


@dataclass(frozen=True)
class Moved:
    key: int
    from_status: str
    to_status: str


def locate(
    conn: Connection, workflow: Workflow, code: str, units: tuple[str, ...], lock: bool = True
) -> Any:
    """The row named ``code`` (NotFound, OutsideUnits when the caller may not have it)."""
    row = conn.execute(workflow.find(code, lock)).one_or_none()
    if row is None:
        raise NotFound(f"no {workflow.lifecycle.name} {code!r}")
    if units and conn.execute(editing.outside_units(workflow.layer, row.id, units)).scalar():
        raise OutsideUnits(f"{workflow.lifecycle.name} {code} lies outside {', '.join(units)}")
    return row


def transition(
    conn: Connection,
    workflow: Workflow,
    code: str,
    to: str,
    body: Mapping[str, Any],
    reason: str | None = None,
    units: tuple[str, ...] = (),
) -> Moved:
    """Move the row named ``code`` to ``to`` with the grounds in ``body`` (MoveError,
    GroundsError, NotFound, OutsideUnits when it may not)."""
    row = locate(conn, workflow, code, units)
    grounds = workflow.lifecycle.check(row.status, to, dict(body))
    values = workflow.values(to, grounds)
    conn.execute(moving())
    conn.execute(workflow.move(row.id, values))
    conn.execute(
        event(
            workflow,
            row.id,
            "transition",
            from_status=row.status,
            to_status=to,
            grounds=grounds,
            reason=reason,
        )
    )
    return Moved(row.id, row.status, to)


def publication(
    conn: Connection,
    code: str,
    published: bool,
    reason: str | None = None,
    units: tuple[str, ...] = (),
) -> bool:
    """Publish (or withdraw) the approved plan ``code``; whether anything changed."""
    row = locate(conn, PLANS, code, units)
    if row.status != "approved":
        raise NotApproved(
            f"plan {code} is {row.status}: only an approved plan is published or withdrawn"
        )
    if row.published == published:
        return False
    conn.execute(moving())
    conn.execute(PLANS.publish(row.id, published))
    kind = "published" if published else "withdrawn"
    conn.execute(event(PLANS, row.id, kind, reason=reason))
    return True
