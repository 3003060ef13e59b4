"""Staff accounts, sessions and tokens; a row version on every layer table; a journal of
who wrote what, and why.

Accounts are personal data: they live in the ``private`` schema, as holders do. Passwords
are Argon2id hashes; tokens and session ids are random and stored as their SHA-256 (a
stolen table gives nothing to sign in with).

``version`` is the row's ETag (OGC API Features Part 4, optimistic locking): a trigger
bumps it on every UPDATE, whoever writes (API, import, SQL by hand), with who and when.
The journal, ``private.edits``, keeps one row per statement (transition tables: an import
of a million parcels is one row, not a million) with the actor, the channel and the
reason each writer puts in its transaction (``SET LOCAL landplan.reason``). A statement
without a reason is kept all the same, with none (the history issue builds on it).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
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
EVENTS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}

ACTOR = """
CREATE FUNCTION landplan_actor() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('landplan.actor', true), ''), session_user::text)
$$"""

BUMP_VERSION = """
CREATE FUNCTION landplan_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    NEW.updated_by := landplan_actor();
    RETURN NEW;
END
$$"""

JOURNAL = """
CREATE FUNCTION landplan_journal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    ids bigint[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT count(*) INTO n FROM old_rows;
        IF n BETWEEN 1 AND 1000 THEN
            SELECT array_agg(id ORDER BY id) INTO ids FROM old_rows;
        END IF;
    ELSE
        SELECT count(*) INTO n FROM new_rows;
        IF n BETWEEN 1 AND 1000 THEN
            SELECT array_agg(id ORDER BY id) INTO ids FROM new_rows;
        END IF;
    END IF;
    IF n > 0 THEN
        INSERT INTO private.edits
            (layer, operation, row_count, feature_ids, actor, via, reason, unconditional)
        VALUES (
            TG_TABLE_NAME, lower(TG_OP), n, ids, landplan_actor(),
            coalesce(nullif(current_setting('landplan.via', true), ''), 'sql'),
            nullif(current_setting('landplan.reason', true), ''),
            coalesce(current_setting('landplan.unconditional', true), '') = 'on'
        );
    END IF;
    RETURN NULL;
END
$$"""


#: A holder changed is the parcel's record changed: its version (the ETag of what a
#: cadastral officer reads) moves, and the journal has it.
HOLDERS_CHANGED = """
CREATE FUNCTION landplan_holders_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE parcels SET version = version WHERE id IN (SELECT parcel_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE parcels SET version = version WHERE id IN (SELECT parcel_id FROM old_rows);
    ELSE
        UPDATE parcels SET version = version
         WHERE id IN (SELECT parcel_id FROM new_rows UNION SELECT parcel_id FROM old_rows);
    END IF;
    RETURN NULL;
END
$$"""

#: The zone-in-plan rule of 0001, with the plan's row locked while a zone is checked
#: against it: a zone written and its plan's boundary shrunk at the same time can no
#: longer both pass (each would check the other's old state). The lock waits for a
#: boundary change under way, and a boundary change waits for the zone's transaction.
ZONE_IN_PROJECT = """
CREATE OR REPLACE FUNCTION landplan_check_zone_in_project() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    boundary geometry;
    project_code text;
    outside double precision;
BEGIN
    IF NEW.geom IS NULL OR ST_IsEmpty(NEW.geom) OR NOT ST_IsValid(NEW.geom) THEN
        RETURN NEW;
    END IF;
    SELECT geom, code INTO boundary, project_code FROM planning_projects
     WHERE id = NEW.project_id {lock};
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
$$"""


def upgrade() -> None:
    op.execute(ACTOR)
    op.execute(ZONE_IN_PROJECT.replace("{lock}", "FOR SHARE"))
    op.execute(
        """
        CREATE TABLE private.staff_accounts (
            id serial PRIMARY KEY,
            name text NOT NULL,
            role text NOT NULL,
            units varchar(5)[] NOT NULL DEFAULT '{}',
            password_hash text NOT NULL,
            totp_secret text,
            totp_last_step bigint,
            created_at timestamptz NOT NULL DEFAULT now(),
            disabled_at timestamptz,
            CONSTRAINT staff_accounts_name_key UNIQUE (name),
            CONSTRAINT staff_accounts_role_known
                CHECK (role IN ('planner', 'cadastral', 'land_fund', 'admin')),
            CONSTRAINT staff_accounts_name_format CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$')
        )
        """
    )
    op.execute(
        """
        CREATE TABLE private.staff_tokens (
            id serial PRIMARY KEY,
            account_id integer NOT NULL
                CONSTRAINT staff_tokens_account_id_fkey
                REFERENCES private.staff_accounts (id) ON DELETE CASCADE,
            token_hash bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz,
            last_used_at timestamptz,
            CONSTRAINT staff_tokens_token_hash_key UNIQUE (token_hash)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE private.staff_sessions (
            id_hash bytea PRIMARY KEY,
            account_id integer NOT NULL
                CONSTRAINT staff_sessions_account_id_fkey
                REFERENCES private.staff_accounts (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_seen_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ix_staff_sessions_account_id ON private.staff_sessions (account_id)")
    op.execute(
        """
        CREATE TABLE private.edits (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT clock_timestamp(),
            layer text NOT NULL,
            operation text NOT NULL,
            row_count integer NOT NULL,
            feature_ids bigint[],
            actor text NOT NULL,
            via text NOT NULL,
            reason text,
            no_reason_given boolean GENERATED ALWAYS AS (reason IS NULL) STORED,
            unconditional boolean NOT NULL DEFAULT false
        )
        """
    )
    op.execute(BUMP_VERSION)
    op.execute(JOURNAL)
    for table in TABLES:
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN version bigint NOT NULL DEFAULT 1, "
            "ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(), "
            "ADD COLUMN updated_by text NOT NULL DEFAULT landplan_actor()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_version BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION landplan_bump_version()"
        )
        for event, transition in EVENTS.items():
            op.execute(
                f"CREATE TRIGGER {table}_journal_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {transition} FOR EACH STATEMENT "
                "EXECUTE FUNCTION landplan_journal()"
            )
    op.execute(HOLDERS_CHANGED)
    for event in EVENTS:
        transition = "OLD TABLE AS old_rows" if event == "DELETE" else "NEW TABLE AS new_rows"
        if event == "UPDATE":
            transition = "OLD TABLE AS old_rows NEW TABLE AS new_rows"
        op.execute(
            f"CREATE TRIGGER parcel_holders_changed_{event.lower()} AFTER {event} "
            f"ON private.parcel_holders REFERENCING {transition} FOR EACH STATEMENT "
            "EXECUTE FUNCTION landplan_holders_changed()"
        )


def downgrade() -> None:
    for event in EVENTS:
        op.execute(f"DROP TRIGGER parcel_holders_changed_{event.lower()} ON private.parcel_holders")
    op.execute("DROP FUNCTION landplan_holders_changed()")
    op.execute(ZONE_IN_PROJECT.replace(" {lock}", ""))
    for table in TABLES:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER {table}_journal_{event.lower()} ON {table}")
        op.execute(f"DROP TRIGGER {table}_version ON {table}")
        op.execute(
            f"ALTER TABLE {table} DROP COLUMN version, DROP COLUMN updated_at, "
            "DROP COLUMN updated_by"
        )
    op.execute("DROP FUNCTION landplan_journal()")
    op.execute("DROP FUNCTION landplan_bump_version()")
    op.execute("DROP TABLE private.edits")
    op.execute("DROP TABLE private.staff_sessions")
    op.execute("DROP TABLE private.staff_tokens")
    op.execute("DROP TABLE private.staff_accounts")
    op.execute("DROP FUNCTION landplan_actor()")
