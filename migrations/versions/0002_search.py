"""Accent-insensitive search: the unaccent extension and an immutable folding function.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    # unaccent() is STABLE (it reads a dictionary); naming the dictionary makes the result
    # depend on the arguments only, so the wrapper can be IMMUTABLE and used in indexes.
    op.execute(
        """
CREATE FUNCTION landplan_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN lower(public.unaccent('public.unaccent'::regdictionary, value))
"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS landplan_fold(text)")
    op.execute("DROP EXTENSION IF EXISTS unaccent")
