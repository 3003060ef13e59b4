"""End a query within seconds when its client is gone.

A killed import (kill -9) left its statement running in the server for two minutes:
PostgreSQL notices a vanished client only when it next talks to it. With
``client_connection_check_interval`` it checks the socket while a query runs. Set for
the database, so that every client gets it (API, CLI, psql); a role that does not own
the database cannot set it, and then the server's own setting applies (the project's
cluster sets it too, scripts/cluster.py).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _set(value: str) -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            EXECUTE format('ALTER DATABASE %I {value}', current_database());
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'client_connection_check_interval left to the server';
        END
        $$
        """
    )


def upgrade() -> None:
    _set("SET client_connection_check_interval = ''2s''")


def downgrade() -> None:
    _set("RESET client_connection_check_interval")
