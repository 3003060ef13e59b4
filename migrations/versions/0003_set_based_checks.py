"""Check the service area and parcels' unit codes once per statement, not per row.

The row triggers of 0001 ran a plpgsql function and a query for every row written (63 µs
and 23 µs a parcel in the import benchmark, docs/benchmarks.md). With transition tables
the same rules are one set query per statement; the refusal is the same: check_violation
(foreign_key_violation for unit codes) naming the same constraint. They run after the
row's CHECKs, so an invalid or empty geometry is still refused by its CHECK first.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE_AREA_TABLES = (
    "admin_units",
    "planning_projects",
    "plan_zones",
    "parcels",
    "auction_lots",
    "development_areas",
)
EVENTS = ("INSERT", "UPDATE")

SERVICE_AREA_CHECK = """
CREATE FUNCTION landplan_check_service_area_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    area geometry;
    area_name text;
BEGIN
    SELECT geom, name INTO area, area_name FROM service_area WHERE id = 1;
    IF area IS NOT NULL AND EXISTS (
        SELECT 1 FROM written w WHERE NOT ST_CoveredBy(w.geom, area)
    ) THEN
        RAISE EXCEPTION 'geometry of % lies outside the service area (%)', TG_TABLE_NAME, area_name
            USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'geom',
                  CONSTRAINT = TG_TABLE_NAME || '_in_service_area';
    END IF;
    RETURN NULL;
END
$$"""

UNIT_CODE_CHECK = """
CREATE FUNCTION landplan_check_unit_code_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unknown text;
BEGIN
    SELECT w.unit_code INTO unknown FROM written w
     WHERE NOT EXISTS (SELECT 1 FROM admin_units a WHERE a.code = w.unit_code)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'unit code % is not an administrative unit', unknown
            USING ERRCODE = 'foreign_key_violation', TABLE = 'parcels', COLUMN = 'unit_code',
                  CONSTRAINT = 'parcels_unit_code_known';
    END IF;
    RETURN NULL;
END
$$"""


def _name(table: str, rule: str, event: str) -> str:
    return f"{table}_{rule}" if event == "INSERT" else f"{table}_{rule}_on_update"


def upgrade() -> None:
    for table in SERVICE_AREA_TABLES:
        op.execute(f"DROP TRIGGER {table}_in_service_area ON {table}")
    op.execute("DROP TRIGGER parcels_unit_code_known ON parcels")
    op.execute(SERVICE_AREA_CHECK)
    op.execute(UNIT_CODE_CHECK)
    # A trigger with a transition table takes one event: one trigger per event.
    for event in EVENTS:
        for table in SERVICE_AREA_TABLES:
            op.execute(
                f"CREATE TRIGGER {_name(table, 'in_service_area', event)} AFTER {event} "
                f"ON {table} REFERENCING NEW TABLE AS written FOR EACH STATEMENT "
                "EXECUTE FUNCTION landplan_check_service_area_rows()"
            )
        op.execute(
            f"CREATE TRIGGER {_name('parcels', 'unit_code_known', event)} AFTER {event} "
            "ON parcels REFERENCING NEW TABLE AS written FOR EACH STATEMENT "
            "EXECUTE FUNCTION landplan_check_unit_code_rows()"
        )


def downgrade() -> None:
    for event in EVENTS:
        for table in SERVICE_AREA_TABLES:
            op.execute(f"DROP TRIGGER {_name(table, 'in_service_area', event)} ON {table}")
        op.execute(f"DROP TRIGGER {_name('parcels', 'unit_code_known', event)} ON parcels")
    op.execute("DROP FUNCTION landplan_check_service_area_rows()")
    op.execute("DROP FUNCTION landplan_check_unit_code_rows()")
    # The row triggers of 0001 (their functions were kept).
    for table in SERVICE_AREA_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_in_service_area BEFORE INSERT OR UPDATE OF geom ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION landplan_check_service_area()"
        )
    op.execute(
        "CREATE TRIGGER parcels_unit_code_known BEFORE INSERT OR UPDATE OF unit_code "
        "ON parcels FOR EACH ROW EXECUTE FUNCTION landplan_check_unit_code()"
    )
