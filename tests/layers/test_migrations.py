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
        private = (
            set(inspector.get_table_names(schema="private"))
            if "private" in (inspector.get_schema_names())
            else set()
        )
        srid = conn.execute(text("SELECT count(*) FROM spatial_ref_sys WHERE srid = 9210")).scalar()
        functions = conn.execute(
            text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'landplan_%'")
        ).scalar()
    return tables, private, srid, functions


def test_upgrade_downgrade_upgrade(make_database):
    url = make_database("migrations")
    engine = create_engine(url)

    migrate.upgrade(url)
    tables, private, srid, functions = _state(engine)
    assert tables == TABLES
    assert private == {
        "parcel_holders",
        "staff_accounts",
        "staff_tokens",
        "staff_sessions",
        "edits",
    }
    assert srid == 1
    # 0001: four checks, 0002: folding, 0003: two set-based checks, 0006: the WGS 84 copy
    assert functions == 12
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM land_use_codes")).scalar() == 33
        assert conn.execute(text("SELECT count(*) FROM service_area")).scalar() == 1

    migrate.downgrade(url, "base")
    assert _state(engine) == (set(), set(), 0, 0)

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
