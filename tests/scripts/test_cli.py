"""The landplan command line, run as a user runs it."""

from __future__ import annotations

import pytest

from tests.cli import run


@pytest.mark.parametrize(
    "command",
    [
        (),
        ("db",),
        ("db", "up"),
        ("db", "down"),
        ("db", "migrate"),
        ("db", "url"),
        ("demo-data",),
        ("serve",),
        ("import",),
        ("export",),
    ],
)
def test_help(command):
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_db_url_uses_database_url(database_url):
    url = database_url.render_as_string(hide_password=False)
    result = run("db", "url", env={"DATABASE_URL": url})
    assert result.returncode == 0
    assert result.stdout.strip() == url.replace("postgresql+psycopg://", "postgresql://")


def test_db_up_with_database_url_starts_no_cluster(database_url):
    url = database_url.render_as_string(hide_password=False)
    result = run("db", "up", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "no local cluster started" in result.stdout


def test_db_migrate_is_idempotent(database_url):
    url = database_url.render_as_string(hide_password=False)
    result = run("db", "migrate", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr


def test_service_area_show(database_url):
    url = database_url.render_as_string(hide_password=False)
    result = run("service-area", "show", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "Cao Bằng province" in result.stdout


def test_service_area_set_refuses_and_writes_nothing(database_url):
    url = database_url.render_as_string(hide_password=False)
    result = run(
        "service-area",
        "set",
        "--name",
        "tiny",
        "--bbox",
        "106.25,22.66,106.26,22.67",
        env={"DATABASE_URL": url},
    )
    assert result.returncode == 1
    assert "leaves stored features outside it" in result.stderr
    assert "Cao Bằng province" in run("service-area", "show", env={"DATABASE_URL": url}).stdout


def test_service_area_set_needs_one_source(database_url):
    url = database_url.render_as_string(hide_password=False)
    result = run("service-area", "set", "--name", "x", env={"DATABASE_URL": url})
    assert result.returncode == 1
    assert "exactly one of --file and --bbox" in result.stderr
