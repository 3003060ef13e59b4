"""Initial schema: PostGIS, EPSG:9210, land-use codes, the service area and every table
with its constraints and checking triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 03:53:25.604007
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from gis.crs import VN2000_CAO_BANG, spatial_ref_sys_row

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE SCHEMA IF NOT EXISTS private")
    # PostGIS 3.3 on Debian 12 ships no row for EPSG:9210; with auth_name 'EPSG' it is
    # resolved through PROJ's database (so the EPSG:6960 transformation is used).
    op.execute(
        sa.text(
            "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
            "VALUES (:srid, :auth_name, :auth_srid, :srtext, :proj4text) "
            "ON CONFLICT (srid) DO NOTHING"
        ).bindparams(**spatial_ref_sys_row(VN2000_CAO_BANG))
    )
    op.create_table(
        "admin_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=9210,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "geom_wgs84",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            sa.Computed("ST_Transform(geom, 4326)", persisted=True),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), server_default=sa.text("'unspecified'"), nullable=False),
        sa.CheckConstraint("code ~ '^[0-9]{5}$'", name=op.f("admin_units_code_format")),
        sa.CheckConstraint("kind IN ('ward', 'commune')", name=op.f("admin_units_kind_known")),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name=op.f("admin_units_geom_not_empty")),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("admin_units_geom_valid")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name=op.f("admin_units_validity_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["admin_units.id"],
            name=op.f("admin_units_merged_into_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("admin_units_pkey")),
        sa.UniqueConstraint("code", "valid_from", name=op.f("admin_units_code_valid_from_key")),
    )
    op.create_index(
        "idx_admin_units_geom", "admin_units", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        "idx_admin_units_geom_wgs84",
        "admin_units",
        ["geom_wgs84"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "development_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("decision_number", sa.Text(), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=9210,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "geom_wgs84",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            sa.Computed("ST_Transform(geom, 4326)", persisted=True),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), server_default=sa.text("'unspecified'"), nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'published', 'investor_selection', 'under_development', 'completed', 'cancelled')",
            name=op.f("development_areas_status_known"),
        ),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name=op.f("development_areas_geom_not_empty")),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("development_areas_geom_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("development_areas_pkey")),
        sa.UniqueConstraint("code", name=op.f("development_areas_code_key")),
    )
    op.create_index(
        "idx_development_areas_geom",
        "development_areas",
        ["geom"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "idx_development_areas_geom_wgs84",
        "development_areas",
        ["geom_wgs84"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "land_use_codes",
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("name_vi", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("land_group", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "land_group IN ('agricultural', 'non_agricultural', 'unused')",
            name=op.f("land_use_codes_group_known"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("land_use_codes_pkey")),
    )
    op.create_table(
        "planning_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("scale_denominator", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("decision_number", sa.Text(), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("decision_authority", sa.Text(), nullable=True),
        sa.Column("appraisal_date", sa.Date(), nullable=True),
        sa.Column("horizon_year", sa.Integer(), nullable=True),
        sa.Column("published", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "documents",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=9210,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "geom_wgs84",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            sa.Computed("ST_Transform(geom, 4326)", persisted=True),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), server_default=sa.text("'unspecified'"), nullable=False),
        sa.CheckConstraint(
            "jsonb_typeof(documents) = 'array'", name=op.f("planning_projects_documents_is_list")
        ),
        sa.CheckConstraint(
            "level IN ('general', 'zoning', 'detailed')", name=op.f("planning_projects_level_known")
        ),
        sa.CheckConstraint(
            "status <> 'approved' OR decision_authority IS NOT NULL",
            name=op.f("planning_projects_approved_has_authority"),
        ),
        sa.CheckConstraint(
            "status IN ('task_preparation', 'task_approved', 'contractor_selection', 'preparation', 'appraisal', 'appraised', 'approved', 'adjustment_pending', 'cancelled')",
            name=op.f("planning_projects_status_known"),
        ),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name=op.f("planning_projects_geom_not_empty")),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("planning_projects_geom_valid")),
        sa.CheckConstraint(
            "horizon_year BETWEEN 2000 AND 2100", name=op.f("planning_projects_horizon_plausible")
        ),
        sa.CheckConstraint(
            "scale_denominator IN (500, 1000, 2000, 5000, 10000, 25000)",
            name=op.f("planning_projects_scale_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("planning_projects_pkey")),
        sa.UniqueConstraint("code", name=op.f("planning_projects_code_key")),
    )
    op.create_index(
        "idx_planning_projects_geom",
        "planning_projects",
        ["geom"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "idx_planning_projects_geom_wgs84",
        "planning_projects",
        ["geom_wgs84"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "service_area",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=9210,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("id = 1", name=op.f("service_area_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("service_area_pkey")),
    )
    op.create_index(
        "idx_service_area_geom", "service_area", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "auction_lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_code", sa.Text(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("development_area_id", sa.Integer(), nullable=True),
        sa.Column("land_use_code", sa.String(length=3), nullable=False),
        sa.Column("area_m2", sa.Numeric(precision=12, scale=1), nullable=False),
        sa.Column("starting_price_vnd", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("auction_date", sa.Date(), nullable=True),
        sa.Column("winning_price_vnd", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=9210,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "geom_wgs84",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            sa.Computed("ST_Transform(geom, 4326)", persisted=True),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), server_default=sa.text("'unspecified'"), nullable=False),
        sa.CheckConstraint(
            "status <> 'sold' OR (winning_price_vnd IS NOT NULL "
            "AND winning_price_vnd >= starting_price_vnd)",
            name=op.f("auction_lots_sold_has_winning_price"),
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'announced', 'auctioned', 'sold', 'cancelled')",
            name=op.f("auction_lots_status_known"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('announced', 'auctioned', 'sold') OR auction_date IS NOT NULL",
            name=op.f("auction_lots_auction_has_date"),
        ),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name=op.f("auction_lots_geom_not_empty")),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("auction_lots_geom_valid")),
        sa.CheckConstraint("area_m2 > 0", name=op.f("auction_lots_area_positive")),
        sa.CheckConstraint(
            "starting_price_vnd > 0", name=op.f("auction_lots_starting_price_positive")
        ),
        sa.ForeignKeyConstraint(
            ["development_area_id"],
            ["development_areas.id"],
            name=op.f("auction_lots_development_area_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["land_use_code"], ["land_use_codes.code"], name=op.f("auction_lots_land_use_code_fkey")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["planning_projects.id"],
            name=op.f("auction_lots_project_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("auction_lots_pkey")),
        sa.UniqueConstraint("lot_code", name=op.f("auction_lots_lot_code_key")),
    )
    op.create_index(
        "idx_auction_lots_geom", "auction_lots", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        "idx_auction_lots_geom_wgs84",
        "auction_lots",
        ["geom_wgs84"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "parcels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=5), nullable=False),
        sa.Column("map_sheet", sa.Integer(), nullable=False),
        sa.Column("parcel_number", sa.Integer(), nullable=False),
        sa.Column("land_use_code", sa.String(length=3), nullable=False),
        sa.Column("legal_area_m2", sa.Numeric(precision=12, scale=1), nullable=False),
        sa.Column(
            "geom_area_m2", sa.Float(), sa.Computed("ST_Area(geom)", persisted=True), nullable=False
        ),
        sa.Column("certificate_status", sa.Text(), server_default="none", nullable=False),
        sa.Column("certificate_serial", sa.Text(), nullable=True),
        sa.Column("certificate_register_number", sa.Text(), nullable=True),
        sa.Column("certificate_issued_on", sa.Date(), nullable=True),
        sa.Column("use_term", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=9210,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "geom_wgs84",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            sa.Computed("ST_Transform(geom, 4326)", persisted=True),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), server_default=sa.text("'unspecified'"), nullable=False),
        sa.CheckConstraint(
            "certificate_status <> 'issued' OR certificate_serial IS NOT NULL",
            name=op.f("parcels_issued_has_serial"),
        ),
        sa.CheckConstraint(
            "certificate_status IN ('none', 'pending', 'issued')",
            name=op.f("parcels_certificate_status_known"),
        ),
        sa.CheckConstraint("unit_code ~ '^[0-9]{5}$'", name=op.f("parcels_unit_code_format")),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name=op.f("parcels_geom_not_empty")),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("parcels_geom_valid")),
        sa.CheckConstraint("legal_area_m2 > 0", name=op.f("parcels_legal_area_positive")),
        sa.CheckConstraint(
            "map_sheet > 0 AND parcel_number > 0", name=op.f("parcels_numbers_positive")
        ),
        sa.ForeignKeyConstraint(
            ["land_use_code"], ["land_use_codes.code"], name=op.f("parcels_land_use_code_fkey")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("parcels_pkey")),
        sa.UniqueConstraint(
            "unit_code",
            "map_sheet",
            "parcel_number",
            name=op.f("parcels_unit_code_map_sheet_parcel_number_key"),
        ),
    )
    op.create_index("idx_parcels_geom", "parcels", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(
        "idx_parcels_geom_wgs84", "parcels", ["geom_wgs84"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "plan_zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("zone_code", sa.Text(), nullable=False),
        sa.Column("function_name", sa.Text(), nullable=True),
        sa.Column("land_use_code", sa.String(length=3), nullable=False),
        sa.Column(
            "area_m2", sa.Float(), sa.Computed("ST_Area(geom)", persisted=True), nullable=False
        ),
        sa.Column("max_coverage_pct", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("floor_area_ratio", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("max_floors", sa.Integer(), nullable=True),
        sa.Column("max_height_m", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("setback_m", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=9210,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "geom_wgs84",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            sa.Computed("ST_Transform(geom, 4326)", persisted=True),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), server_default=sa.text("'unspecified'"), nullable=False),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name=op.f("plan_zones_geom_not_empty")),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("plan_zones_geom_valid")),
        sa.CheckConstraint(
            "floor_area_ratio IS NULL OR floor_area_ratio BETWEEN 0 AND 20",
            name=op.f("plan_zones_far_range"),
        ),
        sa.CheckConstraint(
            "max_coverage_pct IS NULL OR max_coverage_pct BETWEEN 0 AND 100",
            name=op.f("plan_zones_coverage_is_percent"),
        ),
        sa.CheckConstraint(
            "max_floors IS NULL OR max_floors BETWEEN 0 AND 100",
            name=op.f("plan_zones_floors_range"),
        ),
        sa.ForeignKeyConstraint(
            ["land_use_code"], ["land_use_codes.code"], name=op.f("plan_zones_land_use_code_fkey")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["planning_projects.id"],
            name=op.f("plan_zones_project_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("plan_zones_pkey")),
        sa.UniqueConstraint(
            "project_id", "zone_code", name=op.f("plan_zones_project_id_zone_code_key")
        ),
    )
    op.create_index(
        "idx_plan_zones_geom", "plan_zones", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        "idx_plan_zones_geom_wgs84",
        "plan_zones",
        ["geom_wgs84"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(op.f("ix_plan_zones_project_id"), "plan_zones", ["project_id"], unique=False)
    op.create_table(
        "dossiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("procedure", sa.Text(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("parcel_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(status = 'resolved') = (resolved_on IS NOT NULL)",
            name=op.f("dossiers_resolved_has_date"),
        ),
        sa.CheckConstraint(
            "category IN ('land', 'construction_permit', 'other')",
            name=op.f("dossiers_category_known"),
        ),
        sa.CheckConstraint(
            "channel IN ('one_stop', 'online')", name=op.f("dossiers_channel_known")
        ),
        sa.CheckConstraint(
            "status IN ('received', 'in_progress', 'in_appraisal', 'resolved', 'returned', 'withdrawn')",
            name=op.f("dossiers_status_known"),
        ),
        sa.CheckConstraint("due_on >= received_on", name=op.f("dossiers_due_after_received")),
        sa.CheckConstraint(
            "resolved_on IS NULL OR resolved_on >= received_on",
            name=op.f("dossiers_resolved_after_received"),
        ),
        sa.ForeignKeyConstraint(
            ["parcel_id"], ["parcels.id"], name=op.f("dossiers_parcel_id_fkey"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("dossiers_pkey")),
        sa.UniqueConstraint("number", name=op.f("dossiers_number_key")),
    )
    op.create_index(op.f("ix_dossiers_parcel_id"), "dossiers", ["parcel_id"], unique=False)
    op.create_table(
        "parcel_holders",
        sa.Column("parcel_id", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.Text(), nullable=False),
        sa.Column("holder_id_number", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parcel_id"],
            ["parcels.id"],
            name=op.f("parcel_holders_parcel_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("parcel_id", name=op.f("parcel_holders_pkey")),
        schema="private",
    )
    _seed_land_use_codes()
    _seed_service_area()
    for statement in CHECK_FUNCTIONS + CHECK_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for table in SERVICE_AREA_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_in_service_area ON {table}")
    op.execute("DROP TRIGGER IF EXISTS plan_zones_within_project ON plan_zones")
    op.execute("DROP TRIGGER IF EXISTS planning_projects_contains_zones ON planning_projects")
    op.execute("DROP TRIGGER IF EXISTS parcels_unit_code_known ON parcels")
    op.drop_table("parcel_holders", schema="private")
    op.drop_index(op.f("ix_dossiers_parcel_id"), table_name="dossiers")
    op.drop_table("dossiers")
    op.drop_index(op.f("ix_plan_zones_project_id"), table_name="plan_zones")
    op.drop_index("idx_plan_zones_geom_wgs84", table_name="plan_zones", postgresql_using="gist")
    op.drop_index("idx_plan_zones_geom", table_name="plan_zones", postgresql_using="gist")
    op.drop_table("plan_zones")
    op.drop_index("idx_parcels_geom_wgs84", table_name="parcels", postgresql_using="gist")
    op.drop_index("idx_parcels_geom", table_name="parcels", postgresql_using="gist")
    op.drop_table("parcels")
    op.drop_index("idx_auction_lots_geom_wgs84", table_name="auction_lots", postgresql_using="gist")
    op.drop_index("idx_auction_lots_geom", table_name="auction_lots", postgresql_using="gist")
    op.drop_table("auction_lots")
    op.drop_index("idx_service_area_geom", table_name="service_area", postgresql_using="gist")
    op.drop_table("service_area")
    op.drop_index(
        "idx_planning_projects_geom_wgs84", table_name="planning_projects", postgresql_using="gist"
    )
    op.drop_index(
        "idx_planning_projects_geom", table_name="planning_projects", postgresql_using="gist"
    )
    op.drop_table("planning_projects")
    op.drop_table("land_use_codes")
    op.drop_index(
        "idx_development_areas_geom_wgs84", table_name="development_areas", postgresql_using="gist"
    )
    op.drop_index(
        "idx_development_areas_geom", table_name="development_areas", postgresql_using="gist"
    )
    op.drop_table("development_areas")
    op.drop_index("idx_admin_units_geom_wgs84", table_name="admin_units", postgresql_using="gist")
    op.drop_index("idx_admin_units_geom", table_name="admin_units", postgresql_using="gist")
    op.drop_table("admin_units")
    for function in FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.execute("DROP SCHEMA IF EXISTS private")
    op.execute(f"DELETE FROM spatial_ref_sys WHERE srid = {VN2000_CAO_BANG}")


# Land-use codes in common use (domain brief); check against Circular 08/2024/TT-BTNMT
# Appendix II before a release, and add codes in a later migration.
LAND_USE_CODES = [
    ("ODT", "Đất ở tại đô thị", "Urban residential land", "non_agricultural"),
    ("ONT", "Đất ở tại nông thôn", "Rural residential land", "non_agricultural"),
    ("LUC", "Đất chuyên trồng lúa nước", "Paddy land (wet rice)", "agricultural"),
    ("LUK", "Đất trồng lúa nước còn lại", "Other paddy land", "agricultural"),
    ("BHK", "Đất bằng trồng cây hằng năm khác", "Flat land, other annual crops", "agricultural"),
    ("NHK", "Đất nương rẫy trồng cây hằng năm khác", "Upland annual crops", "agricultural"),
    ("CLN", "Đất trồng cây lâu năm", "Perennial crop land", "agricultural"),
    ("RSX", "Đất rừng sản xuất", "Production forest", "agricultural"),
    ("RPH", "Đất rừng phòng hộ", "Protection forest", "agricultural"),
    ("RDD", "Đất rừng đặc dụng", "Special-use forest", "agricultural"),
    ("NTS", "Đất nuôi trồng thủy sản", "Aquaculture land", "agricultural"),
    ("TSC", "Đất xây dựng trụ sở cơ quan", "Government offices", "non_agricultural"),
    ("DGD", "Đất xây dựng cơ sở giáo dục và đào tạo", "Education", "non_agricultural"),
    ("DYT", "Đất xây dựng cơ sở y tế", "Health care", "non_agricultural"),
    ("DVH", "Đất xây dựng cơ sở văn hóa", "Culture", "non_agricultural"),
    ("DTT", "Đất xây dựng cơ sở thể dục thể thao", "Sport", "non_agricultural"),
    ("TMD", "Đất thương mại, dịch vụ", "Commerce and services", "non_agricultural"),
    (
        "SKC",
        "Đất cơ sở sản xuất phi nông nghiệp",
        "Non-agricultural production",
        "non_agricultural",
    ),
    ("SKK", "Đất khu công nghiệp", "Industrial zone", "non_agricultural"),
    ("SKS", "Đất sử dụng cho hoạt động khoáng sản", "Mining", "non_agricultural"),
    ("DGT", "Đất giao thông", "Transport", "non_agricultural"),
    ("DTL", "Đất thủy lợi", "Irrigation", "non_agricultural"),
    ("DNL", "Đất công trình năng lượng", "Energy", "non_agricultural"),
    ("DCH", "Đất chợ", "Market", "non_agricultural"),
    (
        "DKV",
        "Đất khu vui chơi, giải trí công cộng",
        "Public recreation and green space",
        "non_agricultural",
    ),
    ("TON", "Đất cơ sở tôn giáo", "Religious (organised religion)", "non_agricultural"),
    ("TIN", "Đất cơ sở tín ngưỡng", "Religious (beliefs, shrines)", "non_agricultural"),
    ("NTD", "Đất nghĩa trang, nhà tang lễ", "Cemetery and funeral", "non_agricultural"),
    ("SON", "Đất sông, ngòi, kênh, rạch, suối", "Rivers and streams", "non_agricultural"),
    ("MNC", "Đất có mặt nước chuyên dùng", "Special-use water surface", "non_agricultural"),
    ("BCS", "Đất bằng chưa sử dụng", "Unused flat land", "unused"),
    ("DCS", "Đất đồi núi chưa sử dụng", "Unused hilly land", "unused"),
    ("NCS", "Núi đá không có rừng cây", "Rocky mountain without forest", "unused"),
]

# A generous hand-drawn outline around Cao Bằng province (lon lat, WGS 84; about twice
# the province's 670,000 ha) so that data along the border is never refused;
# `landplan service-area set` replaces it with the official boundary.
CAO_BANG_PROVINCE_WKT = (
    "POLYGON((105.26 22.55, 105.55 22.30, 106.00 22.30, 106.45 22.33, 106.90 22.50, "
    "106.90 22.95, 106.60 23.15, 106.05 23.15, 105.50 23.10, 105.26 22.85, 105.26 22.55))"
)

SERVICE_AREA_TABLES = (
    "admin_units",
    "planning_projects",
    "plan_zones",
    "parcels",
    "auction_lots",
    "development_areas",
)

FUNCTION_NAMES = (
    "landplan_check_service_area",
    "landplan_check_zone_in_project",
    "landplan_check_project_contains_zones",
    "landplan_check_unit_code",
)

# Each check raises check_violation naming a constraint, like a CHECK would, so that
# clients map every refusal the same way. An invalid geometry is left to the geom_valid
# CHECK (BEFORE triggers run first, and GEOS cannot compare invalid shapes).
CHECK_FUNCTIONS = [
    """
CREATE FUNCTION landplan_check_service_area() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    area geometry;
    area_name text;
BEGIN
    IF NEW.geom IS NULL OR ST_IsEmpty(NEW.geom) OR NOT ST_IsValid(NEW.geom) THEN
        RETURN NEW;
    END IF;
    SELECT geom, name INTO area, area_name FROM service_area WHERE id = 1;
    IF area IS NOT NULL AND NOT ST_CoveredBy(NEW.geom, area) THEN
        RAISE EXCEPTION 'geometry of % lies outside the service area (%)', TG_TABLE_NAME, area_name
            USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'geom',
                  CONSTRAINT = TG_TABLE_NAME || '_in_service_area';
    END IF;
    RETURN NEW;
END
$$""",
    """
CREATE FUNCTION landplan_check_zone_in_project() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    boundary geometry;
    project_code text;
    outside double precision;
BEGIN
    IF NEW.geom IS NULL OR ST_IsEmpty(NEW.geom) OR NOT ST_IsValid(NEW.geom) THEN
        RETURN NEW;
    END IF;
    SELECT geom, code INTO boundary, project_code FROM planning_projects WHERE id = NEW.project_id;
    -- Tolerance: no point of the zone more than 1 cm outside the boundary.
    IF boundary IS NULL OR ST_CoveredBy(NEW.geom, boundary)
       OR ST_CoveredBy(NEW.geom, ST_Buffer(boundary, 0.01)) THEN
        RETURN NEW;
    END IF;
    outside := ST_Area(ST_Difference(NEW.geom, boundary));
    RAISE EXCEPTION 'zone % lies outside the boundary of planning project % (% m² outside)',
        NEW.zone_code, project_code, round(outside::numeric, 2)
        USING ERRCODE = 'check_violation', TABLE = 'plan_zones', COLUMN = 'geom',
              CONSTRAINT = 'plan_zones_within_project';
END
$$""",
    """
CREATE FUNCTION landplan_check_project_contains_zones() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text;
BEGIN
    IF NEW.geom IS NULL OR ST_IsEmpty(NEW.geom) OR NOT ST_IsValid(NEW.geom) THEN
        RETURN NEW;
    END IF;
    SELECT z.zone_code INTO zone FROM plan_zones z
     WHERE z.project_id = NEW.id AND NOT ST_CoveredBy(z.geom, NEW.geom)
       AND NOT ST_CoveredBy(z.geom, ST_Buffer(NEW.geom, 0.01))
     LIMIT 1;
    IF zone IS NOT NULL THEN
        RAISE EXCEPTION 'new boundary of planning project % leaves zone % outside', NEW.code, zone
            USING ERRCODE = 'check_violation', TABLE = 'planning_projects', COLUMN = 'geom',
                  CONSTRAINT = 'plan_zones_within_project';
    END IF;
    RETURN NEW;
END
$$""",
    """
CREATE FUNCTION landplan_check_unit_code() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM admin_units WHERE code = NEW.unit_code) THEN
        RAISE EXCEPTION 'unit code % is not an administrative unit', NEW.unit_code
            USING ERRCODE = 'foreign_key_violation', TABLE = 'parcels', COLUMN = 'unit_code',
                  CONSTRAINT = 'parcels_unit_code_known';
    END IF;
    RETURN NEW;
END
$$""",
]

CHECK_TRIGGERS = [
    *(
        f"CREATE TRIGGER {table}_in_service_area BEFORE INSERT OR UPDATE OF geom ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION landplan_check_service_area()"
        for table in SERVICE_AREA_TABLES
    ),
    "CREATE TRIGGER plan_zones_within_project BEFORE INSERT OR UPDATE OF geom, project_id "
    "ON plan_zones FOR EACH ROW EXECUTE FUNCTION landplan_check_zone_in_project()",
    "CREATE TRIGGER planning_projects_contains_zones BEFORE UPDATE OF geom "
    "ON planning_projects FOR EACH ROW EXECUTE FUNCTION landplan_check_project_contains_zones()",
    "CREATE TRIGGER parcels_unit_code_known BEFORE INSERT OR UPDATE OF unit_code "
    "ON parcels FOR EACH ROW EXECUTE FUNCTION landplan_check_unit_code()",
]


def _seed_land_use_codes() -> None:
    table = sa.table(
        "land_use_codes",
        sa.column("code"),
        sa.column("name_vi"),
        sa.column("name_en"),
        sa.column("land_group"),
    )
    op.bulk_insert(
        table,
        [
            dict(zip(("code", "name_vi", "name_en", "land_group"), row, strict=True))
            for row in LAND_USE_CODES
        ],
    )


def _seed_service_area() -> None:
    op.execute(
        sa.text(
            "INSERT INTO service_area (id, name, geom) VALUES (1, :name, "
            "ST_Multi(ST_Transform(ST_GeomFromText(:wkt, 4326), :srid)))"
        ).bindparams(
            name="Cao Bằng province (approximate outline)",
            wkt=CAO_BANG_PROVINCE_WKT,
            srid=VN2000_CAO_BANG,
        )
    )
