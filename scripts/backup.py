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


def _target(settings: DatabaseSettings, database: str | None) -> tuple[str, dict[str, str]]:
    """libpq's URI of the database without its password (query options such as sslmode
    kept), and an environment that holds the password."""
    url = settings.sqlalchemy_url(database=database).set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")


def backup(settings: DatabaseSettings, file: Path, database: str | None = None) -> None:
    """Write the whole database (schema, data, the private schema) to ``file``, readable
    by its owner only (it holds holders' personal data)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(file.name + ".partial")
    partial.touch(mode=0o600)
    partial.chmod(0o600)  # pg_dump truncates it and keeps the mode
    uri, env = _target(settings, database)
    _run([_program(settings, "pg_dump"), "-Fc", "-f", str(partial), "-d", uri], env)
    partial.replace(file)  # a backup file is complete or absent


def restore(
    settings: DatabaseSettings, file: Path, database: str | None = None, replace: bool = False
) -> None:
    """Restore ``file`` as ``database`` (default: the configured one).

    The backup is restored into a new database first, in one transaction; only when that
    has succeeded does it take the name (``replace`` drops a database of that name that
    holds tables; without it such a database is refused, untouched).
    """
    if not file.is_file():
        raise BackupError(f"no backup file {file}")
    name = database or settings.name
    if _has_tables(settings, name) and not replace:
        raise BackupError(
            f"database {name} holds tables; restore into another one (--database) or "
            "give --replace to drop it first"
        )
    scratch = f"{name[:40]}_restoring"
    drop_database(settings, scratch)
    ensure_database(settings, scratch)
    uri, env = _target(settings, scratch)
    command = [_program(settings, "pg_restore"), "--no-owner", "--exit-on-error"]
    try:
        _run([*command, "--single-transaction", "-d", uri, str(file)], env)
    except BackupError:
        drop_database(settings, scratch)
        raise
    drop_database(settings, name)
    with _admin(settings) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(scratch), sql.Identifier(name)
            )
        )
        try:  # what migration 0007 set, which a dump does not carry
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET client_connection_check_interval = '2s'").format(
                    sql.Identifier(name)
                )
            )
        except psycopg.errors.InsufficientPrivilege:
            pass


def _admin(settings: DatabaseSettings) -> psycopg.Connection:
    return psycopg.connect(settings.libpq_url(database="postgres"), autocommit=True)


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
