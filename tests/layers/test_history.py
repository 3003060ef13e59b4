"""The database keeps the history itself, whatever writes (migration 0009): tried here as
SQL by hand and as an import, on databases of their own, committing (a transaction
rolled back cannot show what the next one reads of it)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from layers.editing import Grounds, context
from layers.imports import import_as
from tests.layers.importfiles import parcels, write_shapefile


@pytest.fixture(scope="module")
def engine(make_demo_database):
    engine = create_engine(make_demo_database("history_sql"))
    yield engine
    engine.dispose()


def _latest(conn):
    return conn.execute(text("SELECT * FROM private.change_sets ORDER BY id DESC LIMIT 1")).one()


def test_sql_by_hand_is_a_change_set_of_the_database_role_with_the_old_version_kept(engine):
    with engine.begin() as conn:
        old = conn.execute(text("SELECT * FROM plan_zones WHERE id = 5")).one()
        conn.execute(text("UPDATE plan_zones SET max_floors = 7 WHERE id IN (5, 6)"))
        conn.execute(text("UPDATE plan_zones SET max_floors = 8 WHERE id = 5"))  # same set
        role = conn.execute(text("SELECT session_user")).scalar_one()
    with engine.connect() as conn:
        change = _latest(conn)
        assert (change.actor, change.via, change.reason) == (role, "sql", None)
        kept = conn.execute(
            text("SELECT * FROM history.plan_zones WHERE closed_by = :c ORDER BY id"),
            {"c": change.id},
        ).all()
        # one version per feature and change set: the intermediate 7 of zone 5 was never
        # a state anyone could read
        assert (kept[0].id, kept[0].max_floors, kept[0].version) == (
            5,
            old.max_floors,
            old.version,
        )
        assert [k.id for k in kept] == [5, 6]
        assert kept[0].system_time.lower < kept[0].system_time.upper
        now = conn.execute(text("SELECT max_floors, change_set FROM plan_zones WHERE id = 5")).one()
        assert tuple(now) == (8, change.id)
        statements = conn.execute(
            text("SELECT layer, operation FROM private.edits WHERE change_set = :c ORDER BY id"),
            {"c": change.id},
        ).all()
        assert [tuple(s) for s in statements] == [("plan_zones", "update")] * 2


def test_the_context_gives_who_why_and_the_decision(engine):
    with engine.begin() as conn:
        conn.execute(
            context("cli", "cli", "Sửa lỗi", grounds=Grounds(decision="QĐ 12/2025", dossier="H1"))
        )
        conn.execute(text("UPDATE auction_lots SET area_m2 = area_m2 + 1 WHERE id = 1"))
    with engine.connect() as conn:
        change = _latest(conn)
    assert (change.actor, change.via, change.reason, change.decision, change.dossier) == (
        "cli",
        "cli",
        "Sửa lỗi",
        "QĐ 12/2025",
        "H1",
    )


def test_deletes_and_truncates_keep_every_row(engine):
    with engine.begin() as conn:
        lots = conn.execute(text("SELECT count(*) FROM auction_lots")).scalar_one()
        conn.execute(text("DELETE FROM auction_lots WHERE id = 2"))
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE auction_lots"))
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT count(DISTINCT id) FROM history.auction_lots")).scalar()
        assert kept >= lots
        truncation = _latest(conn)
        row = conn.execute(
            text("SELECT operation, row_count FROM private.edits WHERE change_set = :c"),
            {"c": truncation.id},
        ).one()
        assert tuple(row) == ("delete", lots - 1)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE history.parcels SET address = 'x'",
        "DELETE FROM history.parcels",
        "TRUNCATE history.parcels",
        "UPDATE private.change_sets SET actor = 'someone else'",
        "DELETE FROM private.change_sets",
    ],
)
def test_history_is_never_changed(engine, statement):
    with engine.connect() as conn, pytest.raises(DBAPIError) as refused:
        conn.execute(text(statement))
    assert refused.value.orig.sqlstate == "42501"


def test_a_writer_cannot_stamp_a_change_set(engine):
    with engine.connect() as conn, pytest.raises(DBAPIError) as refused:
        row = conn.execute(text("SELECT * FROM development_areas WHERE id = 1")).one()
        conn.execute(
            text(
                "INSERT INTO development_areas (code, name, status, geom, change_set) "
                "SELECT 'FORGED', name, status, geom, 1 FROM development_areas WHERE id = :i"
            ),
            {"i": row.id},
        )
    assert refused.value.orig.diag.constraint_name == "development_areas_change_set_by_database"


def test_a_session_setting_is_not_taken_for_a_change_set(engine):
    with engine.connect() as conn:
        conn.execute(text("SET landplan.change_set = '1/1'"))  # for the session, by hand
        conn.commit()
        with conn.begin():
            conn.execute(text("UPDATE plan_zones SET max_floors = 4 WHERE id = 7"))
        stamped = conn.execute(text("SELECT change_set FROM plan_zones WHERE id = 7")).scalar()
        assert stamped == _latest(conn).id != 1


def test_a_version_written_by_a_later_change_set_is_not_overwritten_by_an_earlier(engine):
    """Two transactions overlap on one row: the one whose change set opened first but
    writes the row second fails (serialization failure), so versions keep their order."""
    with engine.connect() as first, engine.connect() as second:
        first.begin()
        first.execute(text("UPDATE plan_zones SET max_floors = 2 WHERE id = 8"))  # opens
        with second.begin():
            second.execute(text("UPDATE plan_zones SET max_floors = 3 WHERE id = 9"))
            second.execute(text("UPDATE plan_zones SET max_floors = 3 WHERE id = 10"))
        with pytest.raises(DBAPIError) as refused:
            first.execute(text("UPDATE plan_zones SET max_floors = 2 WHERE id = 10"))
        assert refused.value.orig.sqlstate == "40001"
        first.rollback()


def test_an_import_is_one_change_set(db, tmp_path):
    path = write_shapefile(parcels(6), tmp_path / "parcels.shp")
    report = import_as(db, "cli", "first survey", path, "parcels", grounds=Grounds(dossier="D-7"))
    assert report.written and report.inserted == 6
    frame = parcels(6)
    frame["DiaChi"] = "Tổ 1"
    write_shapefile(frame, tmp_path / "again.shp")
    again = import_as(db, "cli", "second survey", tmp_path / "again.shp", "parcels")
    assert again.written and again.updated == 6
    with db.connect() as conn:
        sets = conn.execute(
            text(
                "SELECT id, via, reason, dossier FROM private.change_sets "
                "WHERE reason IN ('first survey', 'second survey') ORDER BY id"
            )
        ).all()
        assert [(s.via, s.reason, s.dossier) for s in sets] == [
            ("import", "first survey", "D-7"),
            ("import", "second survey", None),
        ]
        first, second = sets[0].id, sets[1].id
        stamped = conn.execute(text("SELECT DISTINCT change_set FROM parcels")).scalars().all()
        assert stamped == [second]
        kept = conn.execute(
            text(
                "SELECT change_set, closed_by, count(*) FROM history.parcels "
                "WHERE closed_by = :s GROUP BY 1, 2"
            ),
            {"s": second},
        ).all()
        assert [tuple(k) for k in kept] == [(first, second, 6)]
