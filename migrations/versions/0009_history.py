"""The history of every change, kept by the database: versions in change sets.

A **change set** (``private.change_sets``) is one transaction's writes: who (the account,
``cli``, or the database role of SQL by hand), when (``clock_timestamp()`` when its first
write opened it; the id, from a sequence, orders them), why (the reason, a decision, a
dossier) and through what (API, import, CLI, SQL). The first statement of a transaction
that writes a layer opens it (a BEFORE statement trigger); the transaction's later
statements join it (``landplan.change_set``, set for the transaction only, with the
transaction's id so that a value set by hand for a session is not taken).

A **version** is a row as one change set left it. The current version stays in its table,
stamped with the change set that wrote it (``change_set``); when a statement replaces
or deletes it, the AFTER statement trigger copies the old rows from the transition
table into the layer's history table (``history.<layer>``; the holders' into
``private.parcel_holders_history``) with ``closed_by`` and the ``system_time`` range.
A first import writes no history row at all: its rows are their own current versions.
A row written twice in one change set keeps one version (nobody could read the other).

Versions are ordered by their change sets' ids. A transaction that would replace a
version written by a change set opened after its own (two writers overlapping on one
row) fails as a serialization failure, to be tried again: history never goes backwards.

History is kept: its tables refuse UPDATE, DELETE and TRUNCATE, and a TRUNCATE of a
layer keeps every row it removes. The change set opened by this migration (id 1) is
where history begins: every row stands as it was then; nothing earlier is known.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
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
HOLDERS = "private.parcel_holders"
HOLDERS_HISTORY = "private.parcel_holders_history"
EVENTS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}

#: The transaction's change set, opened by its first write. The setting holds
#: "<transaction id>/<change set id>".
CHANGE_SET = """
CREATE FUNCTION landplan_change_set() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    found text := current_setting('landplan.change_set', true);
    xact text := pg_current_xact_id()::text;
    opened bigint;
BEGIN
    IF found IS NOT NULL AND split_part(found, '/', 1) = xact THEN
        RETURN split_part(found, '/', 2)::bigint;
    END IF;
    INSERT INTO private.change_sets (actor, via, reason, decision, dossier, reverts)
    VALUES (
        landplan_actor(),
        coalesce(nullif(current_setting('landplan.via', true), ''), 'sql'),
        nullif(current_setting('landplan.reason', true), ''),
        nullif(current_setting('landplan.decision', true), ''),
        nullif(current_setting('landplan.dossier', true), ''),
        nullif(current_setting('landplan.reverts', true), '')::bigint
    ) RETURNING id INTO opened;
    PERFORM set_config('landplan.change_set', xact || '/' || opened, true);
    RETURN opened;
END
$$"""

OPEN = """
CREATE FUNCTION landplan_open_change_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM landplan_change_set();
    RETURN NULL;
END
$$"""

#: What a new row's ``change_set`` defaults to: the one the statement trigger opened.
CURRENT = "split_part(current_setting('landplan.change_set'), '/', 2)::bigint"

#: 0008's version bump, now also stamping the version's change set.
BUMP_VERSION = f"""
CREATE OR REPLACE FUNCTION landplan_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    NEW.updated_by := landplan_actor();
    NEW.change_set := {CURRENT};
    RETURN NEW;
END
$$"""

STAMP = f"""
CREATE FUNCTION landplan_stamp_change_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_set := {CURRENT};
    RETURN NEW;
END
$$"""

#: One statement: its journal row (0008) in the change set, and the versions it ended.
#: Arguments: the key column, the WGS 84 geometry column ('' for none), the history table.
JOURNAL = """
CREATE OR REPLACE FUNCTION landplan_journal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key text := TG_ARGV[0];
    geom text := TG_ARGV[1];
    kept text := TG_ARGV[2];
    cs bigint := landplan_change_set();
    cs_at timestamptz;
    rows_of text := CASE TG_OP WHEN 'INSERT' THEN 'new_rows' ELSE 'old_rows' END;
    extent text := CASE WHEN geom = '' THEN 'NULL::geometry'
                        ELSE format('ST_SetSRID(ST_Extent(%I)::geometry, 4326)', geom) END;
    n integer;
    ids bigint[];
    box geometry;
    moved_to geometry;
    odd boolean;
BEGIN
    -- INSERT: a change set given by the writer; UPDATE, DELETE: a version to end that a
    -- later change set wrote. One pass over the rows for the count, the extent and that.
    EXECUTE format(
        'SELECT count(*), %s, coalesce(bool_or(change_set %s $1), false) FROM %I',
        extent, CASE TG_OP WHEN 'INSERT' THEN 'IS DISTINCT FROM' ELSE '>' END, rows_of
    ) INTO n, box, odd USING cs;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF odd AND TG_OP = 'INSERT' THEN
        RAISE EXCEPTION 'the change set of a row is set by the database, not by its writer'
            USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'change_set',
                  CONSTRAINT = TG_TABLE_NAME || '_change_set_by_database';
    ELSIF odd THEN
        RAISE EXCEPTION 'a change set opened after this one has already changed rows of %',
            TG_TABLE_NAME USING ERRCODE = 'serialization_failure';
    END IF;
    IF TG_OP = 'UPDATE' AND geom <> '' THEN  -- where the rows were and where they are
        EXECUTE format('SELECT %s FROM new_rows', extent) INTO moved_to;
        box := ST_SetSRID(ST_Envelope(ST_Collect(box, moved_to)), 4326);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT opened_at INTO cs_at FROM private.change_sets WHERE id = cs;
        EXECUTE format(
            'INSERT INTO %s SELECT $1, tstzrange(c.opened_at, greatest(c.opened_at, $2)), o.* '
            'FROM old_rows o JOIN private.change_sets c ON c.id = o.change_set '
            'WHERE o.change_set <> $1', kept
        ) USING cs, cs_at;
    END IF;
    IF n <= 1000 THEN
        EXECUTE format('SELECT array_agg(%1$I ORDER BY %1$I) FROM %2$I', key, rows_of) INTO ids;
    END IF;
    INSERT INTO private.edits
        (layer, operation, row_count, feature_ids, actor, via, reason, unconditional,
         change_set, bbox)
    VALUES (
        TG_TABLE_NAME, lower(TG_OP), n, ids, landplan_actor(),
        coalesce(nullif(current_setting('landplan.via', true), ''), 'sql'),
        nullif(current_setting('landplan.reason', true), ''),
        coalesce(current_setting('landplan.unconditional', true), '') = 'on',
        cs, box
    );
    RETURN NULL;
END
$$"""

#: A TRUNCATE removes rows without a DELETE's transition table: they are kept first.
TRUNCATED = """
CREATE FUNCTION landplan_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cs bigint := landplan_change_set();
    cs_at timestamptz;
    n integer;
BEGIN
    SELECT opened_at INTO cs_at FROM private.change_sets WHERE id = cs;
    EXECUTE format(
        'INSERT INTO %s SELECT $1, tstzrange(c.opened_at, greatest(c.opened_at, $2)), o.* '
        'FROM %I.%I o JOIN private.change_sets c ON c.id = o.change_set '
        'WHERE o.change_set <> $1', TG_ARGV[0], TG_TABLE_SCHEMA, TG_TABLE_NAME
    ) USING cs, cs_at;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        INSERT INTO private.edits (layer, operation, row_count, actor, via, reason, change_set)
        VALUES (
            TG_TABLE_NAME, 'delete', n, landplan_actor(),
            coalesce(nullif(current_setting('landplan.via', true), ''), 'sql'),
            nullif(current_setting('landplan.reason', true), ''), cs
        );
    END IF;
    RETURN NULL;
END
$$"""

KEPT = """
CREATE FUNCTION landplan_history_is_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is history: it is added to, never changed', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$"""


#: 0008's functions, for the downgrade (migrations are snapshots: not imported from 0008).
BUMP_VERSION_0008 = """
CREATE OR REPLACE FUNCTION landplan_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    NEW.updated_by := landplan_actor();
    RETURN NEW;
END
$$"""
JOURNAL_0008 = """
CREATE OR REPLACE FUNCTION landplan_journal() RETURNS trigger LANGUAGE plpgsql AS $$
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


def _history_table(table: str, kept: str, key: str, geom: str | None) -> None:
    """The versions ``table`` ended: ``closed_by`` and ``system_time`` first, then the
    table's own columns in its order, so ``old_rows.*`` fills them (a column added to
    the table later is added here too, at the end, in the same migration)."""
    op.execute(
        f"CREATE TABLE {kept} (closed_by bigint NOT NULL, system_time tstzrange NOT NULL, "
        f"LIKE {table})"
    )
    name = kept.split(".")[-1]
    label = kept.replace(".", "_").removeprefix("private_")  # not the table's own names
    op.execute(f"CREATE INDEX ix_{label}_versions ON {kept} ({key}, change_set)")
    op.execute(f"CREATE INDEX ix_{label}_change_set ON {kept} (change_set)")
    op.execute(f"CREATE INDEX ix_{label}_closed_by ON {kept} (closed_by)")
    if geom:
        op.execute(f"CREATE INDEX ix_{label}_{geom} ON {kept} USING gist ({geom})")
    op.execute(
        f"CREATE TRIGGER {name}_kept BEFORE UPDATE OR DELETE OR TRUNCATE ON {kept} "
        "FOR EACH STATEMENT EXECUTE FUNCTION landplan_history_is_kept()"
    )


def _versioned(table: str, kept: str, key: str, geom: str | None, journaled: bool) -> None:
    name = table.split(".")[-1]
    op.execute(f"ALTER TABLE {table} ADD COLUMN change_set bigint NOT NULL DEFAULT 1")
    op.execute(f"ALTER TABLE {table} ALTER COLUMN change_set SET DEFAULT {CURRENT}")
    op.execute(f"CREATE INDEX ix_{name}_change_set ON {table} (change_set)")
    _history_table(table, kept, key, geom)
    op.execute(
        f"CREATE TRIGGER {name}_change_set BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION landplan_open_change_set()"
    )
    op.execute(
        f"CREATE TRIGGER {name}_truncate_kept BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION landplan_truncated('{kept}')"
    )
    for event, transition in EVENTS.items():
        if journaled:
            op.execute(f"DROP TRIGGER {name}_journal_{event.lower()} ON {table}")
        op.execute(
            f"CREATE TRIGGER {name}_journal_{event.lower()} AFTER {event} ON {table} "
            f"REFERENCING {transition} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION landplan_journal('{key}', '{geom or ''}', '{kept}')"
        )


def upgrade() -> None:
    op.execute("CREATE SCHEMA history")
    op.execute(
        """
        CREATE TABLE private.change_sets (
            id bigserial PRIMARY KEY,
            opened_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            actor text NOT NULL,
            via text NOT NULL,
            reason text,
            decision text,
            dossier text,
            reverts bigint CONSTRAINT change_sets_reverts_fkey
                REFERENCES private.change_sets (id)
        )
        """
    )
    op.execute("CREATE INDEX ix_change_sets_opened_at ON private.change_sets (opened_at, id)")
    op.execute("CREATE INDEX ix_change_sets_actor ON private.change_sets (actor, id)")
    op.execute(
        "INSERT INTO private.change_sets (actor, via, reason) VALUES "
        "('migration', 'sql', 'history begins: every row as it stood when it was recorded')"
    )
    op.execute(KEPT)
    op.execute(
        "CREATE TRIGGER change_sets_kept BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON private.change_sets FOR EACH STATEMENT EXECUTE FUNCTION landplan_history_is_kept()"
    )
    op.execute(
        "ALTER TABLE private.edits ADD COLUMN change_set bigint "
        "CONSTRAINT edits_change_set_fkey REFERENCES private.change_sets (id), "
        "ADD COLUMN bbox geometry(Geometry, 4326)"
    )
    op.execute("CREATE INDEX ix_edits_change_set ON private.edits (change_set)")
    op.execute(CHANGE_SET)
    op.execute(OPEN)
    op.execute(BUMP_VERSION)
    op.execute(STAMP)
    op.execute(JOURNAL)
    op.execute(TRUNCATED)
    for table in TABLES:
        _versioned(table, f"history.{table}", "id", "geom_wgs84", journaled=True)
    _versioned(HOLDERS, HOLDERS_HISTORY, "parcel_id", None, journaled=False)
    op.execute(
        "CREATE TRIGGER parcel_holders_stamp BEFORE UPDATE ON private.parcel_holders "
        "FOR EACH ROW EXECUTE FUNCTION landplan_stamp_change_set()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER parcel_holders_stamp ON private.parcel_holders")
    for table in (*TABLES, HOLDERS):
        name = table.split(".")[-1]
        for event in EVENTS:
            op.execute(f"DROP TRIGGER {name}_journal_{event.lower()} ON {table}")
        op.execute(f"DROP TRIGGER {name}_truncate_kept ON {table}")
        op.execute(f"DROP TRIGGER {name}_change_set ON {table}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN change_set")
    op.execute(f"DROP TABLE {HOLDERS_HISTORY}")
    op.execute("DROP SCHEMA history CASCADE")
    for table in TABLES:  # 0008's journal, as it was
        for event, transition in EVENTS.items():
            transition = "OLD TABLE AS old_rows" if event == "DELETE" else "NEW TABLE AS new_rows"
            op.execute(
                f"CREATE TRIGGER {table}_journal_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {transition} FOR EACH STATEMENT "
                "EXECUTE FUNCTION landplan_journal()"
            )
    op.execute(JOURNAL_0008)
    op.execute(BUMP_VERSION_0008)
    for function in ("truncated", "stamp_change_set", "open_change_set", "change_set"):
        op.execute(f"DROP FUNCTION landplan_{function}()")
    op.execute("DROP INDEX private.ix_edits_change_set")
    op.execute("ALTER TABLE private.edits DROP COLUMN change_set, DROP COLUMN bbox")
    op.execute("DROP TABLE private.change_sets")
    op.execute("DROP FUNCTION landplan_history_is_kept()")
