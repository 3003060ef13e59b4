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


def upgrade() -> None:
    op.execute(ACTOR)
    op.execute(
        """
        CREATE TABLE private.staff_accounts (
            id serial PRIMARY KEY,
            name text NOT NULL,
            role text NOT NULL,
            units varchar(5)[] NOT NULL DEFAULT '{}',
            password_hash text NOT NULL,
            totp_secret text,
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


def downgrade() -> None:
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
