"""Planning-information extracts, kept as issued so their verification code reopens them.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "extracts",
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("unit_code", sa.String(5), nullable=False),
        sa.Column("map_sheet", sa.Integer(), nullable=False),
        sa.Column("parcel_number", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("content", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_extracts_parcel", "extracts", ["unit_code", "map_sheet", "parcel_number"])


def downgrade() -> None:
    op.drop_table("extracts")
