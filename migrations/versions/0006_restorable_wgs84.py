"""The WGS 84 copy of each geometry kept by a trigger, not a generated column: backups
restore.

A generated ``geom_wgs84 = ST_Transform(geom, 4326)`` is computed again while pg_restore
loads each table, and pg_dump restores the EPSG:9210 row of ``spatial_ref_sys`` (data of
the PostGIS extension) after the tables that need it: every polygon table came back
empty ("Cannot find SRID (9210)"). A plain column keeps its values in the dump and is
loaded as it is; the trigger that maintains it is created after the data, as every
trigger is. Measured on 200,000 polygons (docs/operations.md): inserts 1.69-1.82 s with
the generated column, 1.90-2.12 s with the trigger; the restore copies instead of
transforming (0.28 s against 1.8 s). ``ST_Transform(geom, 'EPSG:9210', 4326)``, which
needs no table row, builds a PROJ pipeline per row: 28 ms a row, 2,000 times slower.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "admin_units",
    "development_areas",
    "planning_projects",
    "auction_lots",
    "parcels",
    "plan_zones",
)


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION landplan_geom_wgs84() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.geom_wgs84 := ST_Transform(NEW.geom, 4326);
            RETURN NEW;
        END
        $$
        """
    )
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN geom_wgs84 DROP EXPRESSION")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN geom_wgs84 SET NOT NULL")
        # OF geom_wgs84 too: a direct write of the copy is put right at once.
        op.execute(
            f"CREATE TRIGGER {table}_geom_wgs84 BEFORE INSERT OR UPDATE OF geom, geom_wgs84 "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION landplan_geom_wgs84()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_geom_wgs84 ON {table}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN geom_wgs84")
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN geom_wgs84 geometry(MultiPolygon, 4326) "
            "GENERATED ALWAYS AS (ST_Transform(geom, 4326)) STORED"
        )
        op.execute(f"CREATE INDEX idx_{table}_geom_wgs84 ON {table} USING gist (geom_wgs84)")
    op.execute("DROP FUNCTION landplan_geom_wgs84()")
