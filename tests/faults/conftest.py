"""A throwaway PostgreSQL cluster of the fault tests' own: initdb in a temporary
directory, a free port. These tests stop it and kill its clients; the project's shared
cluster is never touched."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.settings import DatabaseSettings
from scripts import migrate
from scripts.cluster import Cluster, ensure_database
from scripts.localhost import free_port


@pytest.fixture(scope="session")
def fault_cluster() -> Iterator[tuple[Cluster, DatabaseSettings]]:
    state = Path(tempfile.mkdtemp(prefix="landplan-faults-"))
    state.chmod(0o755)  # the server runs as postgres under root: it must enter
    settings = DatabaseSettings(url=None, state_dir=state, port=free_port(), name="faults")
    cluster = Cluster(settings)
    cluster.start()
    ensure_database(settings)
    migrate.upgrade(settings.sqlalchemy_url())
    try:
        yield cluster, settings
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
