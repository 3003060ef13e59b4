"""Fixtures: a real PostGIS, a throwaway database per test run, one transaction per test.

The database is created on the project-local cluster (started if needed), or on the
server of DATABASE_URL, migrated and loaded with the demo once per run, and dropped at the
end. Tests that write run inside a transaction that is rolled back.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import URL

from api.settings import DatabaseSettings
from scripts import migrate
from scripts.cluster import Cluster, drop_database, ensure_database
from scripts.demo import load


@pytest.fixture(scope="session")
def db_settings() -> DatabaseSettings:
    settings = DatabaseSettings()
    if not settings.external:
        Cluster(settings).start()
    return settings


@pytest.fixture(scope="session")
def make_database(db_settings: DatabaseSettings) -> Iterator:
    """Create throwaway databases (dropped at the end of the run); returns their URLs."""
    created: list[str] = []

    def make(purpose: str) -> URL:
        name = f"landplan_test_{purpose}_{os.getpid()}_{secrets.token_hex(3)}"
        ensure_database(db_settings, name)
        created.append(name)
        return db_settings.sqlalchemy_url(database=name)

    yield make
    for name in created:
        drop_database(db_settings, name)


@pytest.fixture(scope="session")
def make_demo_database(make_database):
    """Create a throwaway database migrated to head and loaded with the demo."""

    def make(purpose: str) -> URL:
        url = make_database(purpose)
        migrate.upgrade(url)
        engine = create_engine(url)
        with engine.begin() as conn:
            load.load(conn)
        engine.dispose()
        return url

    return make


@pytest.fixture(scope="session")
def database_url(make_demo_database) -> URL:
    """The run's database: migrated to head and loaded with the demo."""
    return make_demo_database("demo")


@pytest.fixture(scope="session")
def engine(database_url: URL) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@pytest.fixture(scope="session")
def import_database_url(make_database) -> URL:
    """A migrated database with one ward (01273) and no parcels, where imports commit."""
    from tests.layers.importfiles import insert_ward

    url = make_database("imports")
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        insert_ward(conn)
    engine.dispose()
    return url


@pytest.fixture
def db(import_database_url: URL) -> Iterator[Engine]:
    """An engine on the import database, its parcels emptied before the test."""
    from sqlalchemy import delete

    from layers.parcels import Parcel

    engine = create_engine(import_database_url)
    with engine.begin() as conn:
        conn.execute(delete(Parcel.__table__))
    yield engine
    engine.dispose()
