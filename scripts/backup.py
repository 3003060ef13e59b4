"""Backups of the database with PostgreSQL's own tools: ``pg_dump -Fc`` and
``pg_restore``, with the connection in libpq's environment (never on a command line,
where other users of the machine could read the password)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from api.settings import DatabaseSettings
from scripts.cluster import drop_database, ensure_database


class BackupError(RuntimeError):
    """A backup or restore did not complete; the message says why."""


def _program(settings: DatabaseSettings, name: str) -> str:
    local = settings.pg_bin / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found (install postgresql-client-15)")
    return found


def _environment(settings: DatabaseSettings, database: str | None) -> dict[str, str]:
    url = settings.sqlalchemy_url(database=database)
    env = {**os.environ, "PGHOST": url.host or "", "PGPORT": str(url.port or 5432)}
    env.update(PGUSER=url.username or "", PGDATABASE=url.database or "")
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")


def backup(settings: DatabaseSettings, file: Path, database: str | None = None) -> None:
    """Write the whole database (schema, data, the private schema) to ``file``."""
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(file.name + ".partial")
    _run(
        [_program(settings, "pg_dump"), "-Fc", "-f", str(partial)], _environment(settings, database)
    )
    partial.replace(file)  # a backup file is complete or absent


def restore(
    settings: DatabaseSettings, file: Path, database: str | None = None, replace: bool = False
) -> None:
    """Restore ``file`` into ``database`` (default: the configured one), created fresh.

    A database that holds tables is refused unless ``replace``, which drops it first.
    The restore is one transaction: it completes or leaves the new database empty.
    """
    if not file.is_file():
        raise BackupError(f"no backup file {file}")
    name = database or settings.name
    if _has_tables(settings, name):
        if not replace:
            raise BackupError(
                f"database {name} holds tables; restore into another one (--database) or "
                "give --replace to drop it first"
            )
        drop_database(settings, name)
    ensure_database(settings, name)
    command = [_program(settings, "pg_restore"), "--no-owner", "--exit-on-error"]
    command += ["--single-transaction", "-d", name, str(file)]
    _run(command, _environment(settings, name))


def _has_tables(settings: DatabaseSettings, name: str) -> bool:
    try:
        conn = psycopg.connect(settings.libpq_url(database=name), autocommit=True)
    except psycopg.OperationalError:
        return False  # no such database yet
    with conn:
        found = conn.execute(
            sql.SQL(
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                "('pg_catalog', 'information_schema') AND tablename <> 'spatial_ref_sys'"
            )
        ).fetchone()
    return bool(found and found[0])
