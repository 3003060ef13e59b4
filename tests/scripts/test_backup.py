"""Backups restore: every row of every table, public and private, comes back."""

from __future__ import annotations

import os
import subprocess

from sqlalchemy.engine import URL

from tests.cli import run
from tests.fingerprint import fingerprint


def libpq_env(url: URL) -> dict[str, str]:
    return {
        **os.environ,
        "PGHOST": url.host or "",
        "PGPORT": str(url.port),
        "PGUSER": url.username or "",
        "PGPASSWORD": str(url.password or ""),
    }


def test_backup_and_restore_keep_every_row(database_url, make_database, tmp_path):
    source = database_url.render_as_string(hide_password=False)
    backup = tmp_path / "landplan.dump"
    made = run("db", "backup", str(backup), env={"DATABASE_URL": source})
    assert made.returncode == 0, made.stderr
    assert source.split("@")[0].split(":")[-1] not in made.stdout + made.stderr  # no password

    target = make_database("restored")
    restored = run(
        "db", "restore", str(backup), "--database", target.database, env={"DATABASE_URL": source}
    )
    assert restored.returncode == 0, restored.stderr
    before, after = fingerprint(database_url), fingerprint(target)
    assert after == before
    assert before["public.parcels"][0] > 0 and before["private.parcel_holders"][0] > 0

    assert backup.stat().st_mode & 0o077 == 0  # it holds holders: the operator's only

    again = run(
        "db", "restore", str(backup), "--database", target.database, env={"DATABASE_URL": source}
    )
    assert again.returncode == 1 and "--replace" in again.stderr

    cut = tmp_path / "cut.dump"
    cut.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    broken = run(
        "db",
        "restore",
        str(cut),
        "--database",
        target.database,
        "--replace",
        env={"DATABASE_URL": source},
    )
    assert broken.returncode == 1
    assert fingerprint(target) == before  # a bad file replaces nothing

    replaced = run(
        "db",
        "restore",
        str(backup),
        "--database",
        target.database,
        "--replace",
        env={"DATABASE_URL": source},
    )
    assert replaced.returncode == 0, replaced.stderr
    assert fingerprint(target) == before


def test_plain_pg_dump_into_pg_restore_restores(database_url, make_database):
    target = make_database("plain")  # CREATE DATABASE: a copy of template1, no PostGIS
    dump = subprocess.Popen(
        ["pg_dump", "-Fc", "-d", database_url.database],
        stdout=subprocess.PIPE,
        env=libpq_env(database_url),
    )
    restore = subprocess.run(
        ["pg_restore", "--no-owner", "-d", target.database],
        stdin=dump.stdout,
        capture_output=True,
        text=True,
        env=libpq_env(target),
        check=False,
    )
    assert dump.wait() == 0
    assert restore.returncode == 0, restore.stderr
    assert fingerprint(target) == fingerprint(database_url)
