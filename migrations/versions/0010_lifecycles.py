"""A plan's and an auction lot's lifecycle, kept by the database: moves, publication, events.

A status changes only by a move of its lifecycle (layers/lifecycle.py, written here
literally: migrations are snapshots), and only inside a transition
(``landplan.lifecycle`` set for the transaction by the transitions' code); a plan's
publication likewise. A row created through the API begins at its lifecycle's first
state; an import or the CLI may record a row at any state (an existing plan as its file
states it), and from then on the moves hold. Each transition and each change of
publication is an event (``private.lifecycle_events``): who, when, the grounds (decision,
appraisal, auction date, result) and the change set it belongs to; events are kept like
history.

``adjustment_pending`` goes: an adjustment (điều chỉnh) is a change request of kind
``adjustment`` on an approved plan that stays approved and public. Such plans become
approved; an approving authority that was not recorded is written ``unknown`` and said
so in ``decision_source``, not invented.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAN_STATES = (
    "task_preparation",
    "task_approved",
    "contractor_selection",
    "preparation",
    "appraisal",
    "appraised",
    "approved",
    "cancelled",
)
#: (from, to) of every allowed move: the chain, appraisal back to preparation, and any
#: state but cancelled to cancelled.
PLAN_MOVES = (
    "task_preparation>task_approved task_preparation>cancelled "
    "task_approved>contractor_selection task_approved>cancelled "
    "contractor_selection>preparation contractor_selection>cancelled "
    "preparation>appraisal preparation>cancelled "
    "appraisal>appraised appraisal>preparation appraisal>cancelled "
    "appraised>approved appraised>cancelled "
    "approved>cancelled"
)
LOT_MOVES = (
    "planned>announced planned>cancelled "
    "announced>auctioned announced>cancelled "
    "auctioned>sold auctioned>cancelled"
)
NEW_PLAN_COLUMNS = ("decision_source", "appraisal_body", "appraisal_number")

#: Arguments: the first state, the moves ("from>to" separated by spaces), the route that
#: makes a move (for the message), and 'published' where the table has a publication
#: (plpgsql reads ``NEW.published`` only on that branch).
LIFECYCLE = """
CREATE FUNCTION landplan_lifecycle() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moving boolean := coalesce(current_setting('landplan.lifecycle', true), '') = 'on';
    rule text := TG_TABLE_NAME || '_lifecycle';
    publishes boolean := TG_NARGS > 3 AND TG_ARGV[3] = 'published';
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF coalesce(current_setting('landplan.via', true), '') <> 'api' OR moving THEN
            RETURN NEW;
        END IF;
        IF NEW.status <> TG_ARGV[0] THEN
            RAISE EXCEPTION 'a new row of % begins at %; it moves by %',
                TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[2]
                USING ERRCODE = 'check_violation', CONSTRAINT = rule;
        END IF;
        IF publishes THEN
            IF NEW.published THEN
                RAISE EXCEPTION 'a new plan begins unpublished; it is published by %',
                    TG_ARGV[2] USING ERRCODE = 'check_violation', CONSTRAINT = rule;
            END IF;
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NOT moving THEN
            RAISE EXCEPTION 'the status of % changes only by a transition (%)',
                TG_TABLE_NAME, TG_ARGV[2]
                USING ERRCODE = 'check_violation', CONSTRAINT = rule;
        END IF;
        IF NOT (OLD.status || '>' || NEW.status) = ANY (string_to_array(TG_ARGV[1], ' ')) THEN
            RAISE EXCEPTION 'no move from % to % in the lifecycle of %',
                OLD.status, NEW.status, TG_TABLE_NAME
                USING ERRCODE = 'check_violation', CONSTRAINT = rule;
        END IF;
    END IF;
    IF publishes AND NOT moving THEN
        IF NEW.published IS DISTINCT FROM OLD.published THEN
            RAISE EXCEPTION 'a plan is published or withdrawn only through its publication (%)',
                TG_ARGV[2] USING ERRCODE = 'check_violation', CONSTRAINT = rule;
        END IF;
    END IF;
    RETURN NEW;
END
$$"""

EVENTS = """
CREATE TABLE private.lifecycle_events (
    id bigserial PRIMARY KEY,
    layer text NOT NULL CONSTRAINT lifecycle_events_layer_known
        CHECK (layer IN ('planning_projects', 'auction_lots')),
    feature_id bigint NOT NULL,
    kind text NOT NULL CONSTRAINT lifecycle_events_kind_known
        CHECK (kind IN ('transition', 'published', 'withdrawn')),
    from_status text,
    to_status text,
    grounds jsonb NOT NULL DEFAULT '{}'::jsonb,
    reason text,
    actor text NOT NULL DEFAULT landplan_actor(),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    change_set bigint NOT NULL
        DEFAULT split_part(current_setting('landplan.change_set'), '/', 2)::bigint
        CONSTRAINT lifecycle_events_change_set_fkey REFERENCES private.change_sets (id)
)"""


def upgrade() -> None:
    op.execute(
        "SELECT set_config('landplan.reason', "
        "'0010: an adjustment is a change request; the approved plan stays approved', true)"
    )
    for table in ("planning_projects", "history.planning_projects"):
        columns = ", ".join(f"ADD COLUMN {name} text" for name in NEW_PLAN_COLUMNS)
        op.execute(f"ALTER TABLE {table} {columns}")
    op.execute("ALTER TABLE planning_projects DROP CONSTRAINT planning_projects_status_known")
    op.execute("UPDATE planning_projects SET published = false WHERE status <> 'approved'")
    op.execute(
        "UPDATE planning_projects SET status = 'approved', "
        "decision_source = CASE WHEN decision_authority IS NULL THEN "
        "'recorded as adjustment_pending before migration 0010; the approving authority "
        "is not recorded' END, "
        "decision_authority = coalesce(decision_authority, 'unknown') "
        "WHERE status = 'adjustment_pending'"
    )
    listed = ", ".join(f"'{s}'" for s in PLAN_STATES)
    op.execute(
        f"ALTER TABLE planning_projects ADD CONSTRAINT planning_projects_status_known "
        f"CHECK (status IN ({listed}))"
    )
    op.execute(
        "ALTER TABLE planning_projects ADD CONSTRAINT planning_projects_published_only_approved "
        "CHECK (NOT published OR status = 'approved')"
    )
    op.execute("ALTER TABLE planning_projects ALTER COLUMN status SET DEFAULT 'task_preparation'")
    op.execute("ALTER TABLE auction_lots ALTER COLUMN status SET DEFAULT 'planned'")
    op.execute(LIFECYCLE)
    op.execute(
        "CREATE TRIGGER planning_projects_lifecycle BEFORE INSERT OR UPDATE OF status, published "
        "ON planning_projects FOR EACH ROW EXECUTE FUNCTION landplan_lifecycle("
        f"'task_preparation', '{PLAN_MOVES}', "
        "'POST /plans/{code}/transitions, PUT or DELETE /plans/{code}/publication', "
        "'published')"
    )
    op.execute(
        "CREATE TRIGGER auction_lots_lifecycle BEFORE INSERT OR UPDATE OF status "
        "ON auction_lots FOR EACH ROW EXECUTE FUNCTION landplan_lifecycle("
        f"'planned', '{LOT_MOVES}', 'POST /auction-lots/{{lot_code}}/transitions')"
    )
    op.execute(EVENTS)
    op.execute(
        "CREATE INDEX ix_lifecycle_events_feature ON private.lifecycle_events "
        "(layer, feature_id, id)"
    )
    op.execute(
        "CREATE TRIGGER lifecycle_events_kept BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON private.lifecycle_events FOR EACH STATEMENT "
        "EXECUTE FUNCTION landplan_history_is_kept()"
    )


def downgrade() -> None:
    op.execute("DROP TABLE private.lifecycle_events")
    op.execute("DROP TRIGGER auction_lots_lifecycle ON auction_lots")
    op.execute("DROP TRIGGER planning_projects_lifecycle ON planning_projects")
    op.execute("DROP FUNCTION landplan_lifecycle()")
    op.execute("ALTER TABLE auction_lots ALTER COLUMN status DROP DEFAULT")
    op.execute("ALTER TABLE planning_projects ALTER COLUMN status DROP DEFAULT")
    op.execute(
        "ALTER TABLE planning_projects DROP CONSTRAINT planning_projects_published_only_approved"
    )
    op.execute("ALTER TABLE planning_projects DROP CONSTRAINT planning_projects_status_known")
    listed = ", ".join(f"'{s}'" for s in (*PLAN_STATES[:-1], "adjustment_pending", "cancelled"))
    op.execute(
        f"ALTER TABLE planning_projects ADD CONSTRAINT planning_projects_status_known "
        f"CHECK (status IN ({listed}))"
    )
    for table in ("history.planning_projects", "planning_projects"):
        columns = ", ".join(f"DROP COLUMN {name}" for name in NEW_PLAN_COLUMNS)
        op.execute(f"ALTER TABLE {table} {columns}")
