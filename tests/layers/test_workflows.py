"""The database holds the lifecycles (migration 0010): every pair of states, generated
from layers/lifecycle.py's tables, is a move the trigger takes or one it refuses naming
its rule; a status or a publication changes only inside a transition; the trigger's
moves are the table's; a move writes its event."""

from __future__ import annotations

from itertools import product

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from layers import editing, workflows
from layers.auction_lots import AuctionLot
from layers.lifecycle import LOT, PLAN, Lifecycle
from layers.planning_projects import PlanningProject
from tests.layers.test_constraints import geom

PLAN_ROW = dict(
    name="Thử",
    level="detailed",
    scale_denominator=500,
    decision_authority="UBND thành phố Cao Bằng",
    geom=geom(),
)
LOT_ROW = dict(land_use_code="ODT", area_m2=400.0, starting_price_vnd=10**9, geom=geom())


def _row(conn, machine: Lifecycle, state: str, via: str = "cli") -> int:
    conn.execute(editing.context("test", via, "lifecycle"))
    if machine is PLAN:
        row = {**PLAN_ROW, "code": f"T-{state}", "status": state}
        table = PlanningProject.__table__
    else:
        row = {**LOT_ROW, "lot_code": f"T-{state}", "status": state}
        row |= {"auction_date": "2027-01-01", "winning_price_vnd": 2 * 10**9}
        table = AuctionLot.__table__
    return conn.execute(insert(table).values(row).returning(table.c.id)).scalar_one()


def _table(machine: Lifecycle):
    return (PlanningProject if machine is PLAN else AuctionLot).__table__


@pytest.mark.parametrize(
    ("machine", "current", "to"),
    [(m, a, b) for m in (PLAN, LOT) for a, b in product(m.states, repeat=2) if a != b],
    ids=lambda v: v.name if isinstance(v, Lifecycle) else v,
)
def test_the_trigger_takes_exactly_the_table_s_moves(conn, machine, current, to):
    key = _row(conn, machine, current)
    table = _table(machine)
    conn.execute(workflows.moving())
    move = update(table).where(table.c.id == key).values(status=to)
    if (current, to) in machine.pairs():
        conn.execute(move)
        assert conn.execute(select(table.c.status).where(table.c.id == key)).scalar() == to
    else:
        with pytest.raises(IntegrityError) as refused, conn.begin_nested():
            conn.execute(move)
        assert refused.value.orig.diag.constraint_name == f"{table.name}_lifecycle"
        assert f"no move from {current} to {to}" in str(refused.value.orig)


def test_the_trigger_s_moves_are_the_lifecycle_table_s(conn):
    """The migration writes the moves literally (a snapshot): they must be the table's."""
    rows = conn.execute(
        text(
            "SELECT c.relname, encode(t.tgargs, 'escape') FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE '%\\_lifecycle'"
        )
    ).all()
    found = {name: args.split("\\000") for name, args in rows}
    for machine in (PLAN, LOT):
        args = found[_table(machine).name]
        assert args[0] == machine.states[0]
        assert sorted(tuple(m.split(">")) for m in args[1].split()) == sorted(machine.pairs())


def test_a_status_changes_only_inside_a_transition(conn):
    key = _row(conn, PLAN, "task_preparation")
    table = _table(PLAN)
    for change in ({"status": "task_approved"}, {"published": True}):
        with pytest.raises(IntegrityError) as refused, conn.begin_nested():
            conn.execute(update(table).where(table.c.id == key).values(change))
        assert refused.value.orig.diag.constraint_name == "planning_projects_lifecycle"
    conn.execute(update(table).where(table.c.id == key).values(notes="a note"))  # not a move


def test_the_api_creates_at_the_first_state_an_import_records_any(conn):
    with pytest.raises(IntegrityError) as refused, conn.begin_nested():
        _row(conn, PLAN, "approved", via="api")
    assert "begins at task_preparation" in str(refused.value.orig)
    assert _row(conn, PLAN, "task_preparation", via="api")
    assert _row(conn, LOT, "sold", via="import")  # a lot sold before the system knew it


def test_a_plan_is_published_only_approved(conn):
    key = _row(conn, PLAN, "appraised")
    table = _table(PLAN)
    conn.execute(workflows.moving())
    with pytest.raises(IntegrityError) as refused, conn.begin_nested():
        conn.execute(update(table).where(table.c.id == key).values(published=True))
    assert refused.value.orig.diag.constraint_name == "planning_projects_published_only_approved"


def test_a_transition_writes_its_row_and_its_event_in_one_change_set(conn):
    key = _row(conn, PLAN, "appraised")
    body = {"decision": {"date": "2025-01-02", "authority": "UBND tỉnh", "source": "x"}}
    moved = workflows.transition(conn, workflows.PLANS, "T-appraised", "approved", body, "ok")
    assert (moved.key, moved.from_status, moved.to_status) == (key, "appraised", "approved")
    table = _table(PLAN)
    row = conn.execute(select(table).where(table.c.id == key)).one()
    assert (row.status, row.decision_source, row.decision_number) == ("approved", "x", None)
    event = conn.execute(workflows.PLANS.events(key)).one()
    assert event.change_set == row.change_set and event.reason == "ok"
    assert event.grounds["decision"]["authority"] == "UBND tỉnh"
    with pytest.raises(DBAPIError), conn.begin_nested():  # kept like history
        conn.execute(text("DELETE FROM private.lifecycle_events WHERE id = :id"), {"id": event.id})
