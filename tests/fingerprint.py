"""A database's contents as comparable values: every table's row count and a checksum
of all its rows (geometries included), public and private schemas."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

TABLES = """
SELECT schemaname || '.' || tablename FROM pg_tables
WHERE schemaname IN ('public', 'private') AND tablename <> 'spatial_ref_sys'
ORDER BY 1
"""


def fingerprint(url: URL) -> dict[str, tuple[int, str]]:
    """Each table's row count and a checksum of all its rows (geometries included)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = conn.execute(text(TABLES)).scalars().all()
        found = {
            table: tuple(
                conn.execute(
                    text(
                        f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' "
                        f"ORDER BY t::text), '')) FROM {table} t"
                    )
                ).one()
            )
            for table in tables
        }
        found["spatial_ref_sys 9210"] = (
            conn.execute(text("SELECT count(*) FROM spatial_ref_sys WHERE srid = 9210")).scalar(),
            "",
        )
    engine.dispose()
    return found
