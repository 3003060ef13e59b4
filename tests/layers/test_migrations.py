"""Migrations upgrade and downgrade cleanly on an empty database, and match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from layers.models import metadata
from scripts import migrate

TABLES = {
    "admin_units",
    "planning_projects",
    "plan_zones",
    "parcels",
    "auction_lots",
    "development_areas",
    "dossiers",
    "land_use_codes",
    "extracts",
    "service_area",
}


def _state(engine):
    with engine.connect() as conn:
        inspector = inspect(conn)
        tables = set(inspector.get_table_names()) - {"spatial_ref_sys", "alembic_version"}
        schemas = inspector.get_schema_names()
        private = (
            set(inspector.get_table_names(schema="private")) if "private" in schemas else set()
        )
        kept = set(inspector.get_table_names(schema="history")) if "history" in schemas else set()
        srid = conn.execute(text("SELECT count(*) FROM spatial_ref_sys WHERE srid = 9210")).scalar()
        functions = conn.execute(
            text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'landplan_%'")
        ).scalar()
    return tables, private, kept, srid, functions


def test_upgrade_downgrade_upgrade(make_database):
    url = make_database("migrations")
    engine = create_engine(url)

    migrate.upgrade(url)
    tables, private, kept, srid, functions = _state(engine)
    assert tables == TABLES
    assert private == {
        "parcel_holders",
        "staff_accounts",
        "staff_tokens",
        "staff_sessions",
        "edits",
        "change_sets",
        "parcel_holders_history",
        "lifecycle_events",
        "change_requests",
        "change_request_edits",
    }
    # 0009: a history table beside each layer table
    assert kept == {
        "admin_units",
        "development_areas",
        "planning_projects",
        "auction_lots",
        "parcels",
        "plan_zones",
    }
    assert srid == 1
    # 0001: four checks, 0002: folding, 0003: two set-based checks, 0006: the WGS 84 copy,
    # 0008: actor, version, journal, holders; 0009: change sets (open, stamp), truncation
    # kept, history kept; 0010: lifecycles
    assert functions == 18
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM land_use_codes")).scalar() == 33
        assert conn.execute(text("SELECT count(*) FROM service_area")).scalar() == 1

    migrate.downgrade(url, "base")
    assert _state(engine) == (set(), set(), set(), 0, 0)

    migrate.upgrade(url)
    assert _state(engine)[0] == TABLES
    engine.dispose()


def test_models_and_migrations_agree(make_database):
    url = make_database("autogen")
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": True,
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    not (type_ == "table" and reflected and compare_to is None)
                ),
            },
        )
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_history_tables_hold_their_tables_columns_in_order(engine):
    """The history triggers copy ``old_rows.*`` after closed_by and system_time: each
    history table must have its table's columns, in the table's order (a migration that
    adds a column to a layer adds it to the layer's history table too)."""
    with engine.connect() as conn:
        inspector = inspect(conn)
        pairs = [
            ("public", t, "history", t)
            for t in TABLES & set(inspector.get_table_names(schema="history"))
        ]
        pairs.append(("private", "parcel_holders", "private", "parcel_holders_history"))
        for schema, table, kept_schema, kept in pairs:
            columns = [c["name"] for c in inspector.get_columns(table, schema=schema)]
            kept_columns = [c["name"] for c in inspector.get_columns(kept, schema=kept_schema)]
            assert kept_columns == ["closed_by", "system_time", *columns], table
    assert len(pairs) == 7
