"""The database keeps who wrote what and why, whatever client writes: the row's version
and ``private.edits`` (migration 0008), tried here as SQL by hand."""

from __future__ import annotations

from sqlalchemy import text

from layers.editing import context


def _last(conn):
    return conn.execute(text("SELECT * FROM private.edits ORDER BY id DESC LIMIT 1")).one()


def test_sql_by_hand_bumps_the_version_and_is_journaled_without_a_reason(conn):
    before = conn.execute(text("SELECT version FROM plan_zones WHERE id = 1")).scalar_one()
    conn.execute(text("UPDATE plan_zones SET max_floors = 3 WHERE id = 1"))
    row = conn.execute(text("SELECT version, updated_by FROM plan_zones WHERE id = 1")).one()
    role = conn.execute(text("SELECT session_user")).scalar_one()
    assert (row.version, row.updated_by) == (before + 1, role)
    entry = _last(conn)
    assert (entry.layer, entry.operation, entry.row_count, entry.feature_ids) == (
        "plan_zones",
        "update",
        1,
        [1],
    )
    assert (entry.actor, entry.via, entry.reason, entry.no_reason_given) == (
        role,
        "sql",
        None,
        True,
    )


def test_set_local_gives_the_reason(conn):
    conn.execute(text("SET LOCAL landplan.reason = 'Sửa lỗi số hóa'"))
    conn.execute(text("UPDATE auction_lots SET area_m2 = area_m2 WHERE id = 1"))
    entry = _last(conn)
    assert (entry.layer, entry.reason, entry.no_reason_given) == (
        "auction_lots",
        "Sửa lỗi số hóa",
        False,
    )


def test_a_bulk_write_is_one_entry_and_the_context_names_the_actor(conn):
    conn.execute(context("cli", "cli", "bulk test"))
    count = conn.execute(text("UPDATE parcels SET address = address WHERE id <= 2000")).rowcount
    entry = _last(conn)
    assert count == 2000
    assert (entry.row_count, entry.feature_ids, entry.actor, entry.via) == (
        2000,
        None,
        "cli",
        "cli",
    )
    updated_by = conn.execute(text("SELECT DISTINCT updated_by FROM parcels WHERE id <= 2000"))
    assert updated_by.scalars().all() == ["cli"]


def test_a_statement_that_touches_nothing_is_not_journaled(conn):
    last = _last(conn).id
    conn.execute(text("DELETE FROM plan_zones WHERE id < 0"))
    assert _last(conn).id == last


def test_a_holder_changed_moves_the_parcel_s_version(conn):
    parcel = conn.execute(text("SELECT min(parcel_id) FROM private.parcel_holders")).scalar_one()
    before = conn.execute(
        text("SELECT version FROM parcels WHERE id = :p"), {"p": parcel}
    ).scalar_one()
    conn.execute(
        text("UPDATE private.parcel_holders SET holder_name = 'Nông Văn A' WHERE parcel_id = :p"),
        {"p": parcel},
    )
    after = conn.execute(
        text("SELECT version FROM parcels WHERE id = :p"), {"p": parcel}
    ).scalar_one()
    assert after == before + 1
    entries = conn.execute(text("SELECT * FROM private.edits ORDER BY id DESC LIMIT 2")).all()
    assert [(e.layer, e.operation, e.feature_ids) for e in entries] == [
        ("parcel_holders", "update", [parcel]),
        ("parcels", "update", [parcel]),
    ]
    assert entries[0].change_set == entries[1].change_set  # one change set
