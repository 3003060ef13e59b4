"""Change requests: named sets of edits to legal data, applied only once another account
approves them.

A request (``private.change_requests``) is drafted by its author, who joins edits to it
(``private.change_request_edits``: the Part 4 operation, the feature, the version it was
based on, the body as the client sent it with its CRS, read again when applied). It is
approved by another account, citing a decision or a dossier, and then applied as one
change set (``applied_change_set``); or rejected, or withdrawn. Requests and their edits
hold personal data (a parcel's holders in a body): private schema, staff only.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE private.change_requests (
            id bigserial PRIMARY KEY,
            kind text NOT NULL DEFAULT 'edit' CONSTRAINT change_requests_kind_known
                CHECK (kind IN ('edit', 'adjustment', 'cadastral')),
            title text NOT NULL CONSTRAINT change_requests_title_given
                CHECK (length(btrim(title)) > 0),
            reason text,
            author text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            status text NOT NULL DEFAULT 'draft' CONSTRAINT change_requests_status_known
                CHECK (status IN ('draft', 'applied', 'rejected', 'withdrawn')),
            decided_by text,
            decided_at timestamptz,
            decision jsonb,
            dossier text,
            decided_reason text,
            applied_change_set bigint CONSTRAINT change_requests_change_set_fkey
                REFERENCES private.change_sets (id),
            CONSTRAINT change_requests_four_eyes CHECK (decided_by IS NULL OR
                decided_by <> author OR status = 'withdrawn'),
            CONSTRAINT change_requests_applied_cites CHECK (status <> 'applied' OR
                ((decision IS NOT NULL OR dossier IS NOT NULL) AND applied_change_set IS NOT NULL))
        )
        """
    )
    op.execute("CREATE INDEX ix_change_requests_status ON private.change_requests (status, id)")
    op.execute(
        """
        CREATE TABLE private.change_request_edits (
            id bigserial PRIMARY KEY,
            request_id bigint NOT NULL CONSTRAINT change_request_edits_request_fkey
                REFERENCES private.change_requests (id),
            operation text NOT NULL CONSTRAINT change_request_edits_operation_known
                CHECK (operation IN ('create', 'replace', 'update', 'delete')),
            layer text NOT NULL,
            feature_id bigint,
            based_on bigint,
            body jsonb,
            srid integer NOT NULL DEFAULT 4326,
            lat_first boolean NOT NULL DEFAULT false,
            added_by text NOT NULL,
            added_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            CONSTRAINT change_request_edits_names_feature CHECK
                ((operation = 'create') = (feature_id IS NULL))
        )
        """
    )
    op.execute(
        "CREATE INDEX ix_change_request_edits_request ON private.change_request_edits "
        "(request_id, id)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE private.change_request_edits")
    op.execute("DROP TABLE private.change_requests")
