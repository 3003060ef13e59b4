"""A real HTTP server (uvicorn on a free loopback port) over the run's database."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
import requests

from tests.servers import serve, settings_for


@pytest.fixture(scope="session")
def api_url(database_url) -> Iterator[str]:
    yield from serve(settings_for(database_url.render_as_string(hide_password=False)))


@pytest.fixture
def client(api_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def fuzzed_api_url(make_demo_database) -> Iterator[str]:
    """A server on a database of its own: the fuzzer's requests (extracts are kept,
    uploads are tried) touch nothing another test reads."""
    url = make_demo_database("fuzz")
    yield from serve(settings_for(url.render_as_string(hide_password=False)))


@pytest.fixture(scope="session")
def fuzzed_api_schema(fuzzed_api_url, tmp_path_factory):
    import schemathesis

    # Hypothesis keeps a few files of its own; not in the work tree.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path_factory.mktemp("hyp")))
    schema = schemathesis.openapi.from_url(f"{fuzzed_api_url}/openapi.json")
    schema.config.update(base_url=fuzzed_api_url)
    return schema


@pytest.fixture(scope="session")
def fuzz_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="session")
def staff_database(make_demo_database):
    """A demo database of its own for tests that write, with an account of every role
    (tests.staff)."""
    from tests.staff import make_staff

    url = make_demo_database("staff")
    return url, make_staff(url)


@pytest.fixture(scope="session")
def staff(staff_database):
    return staff_database[1]


@pytest.fixture(scope="session")
def staff_api(staff_database) -> Iterator[str]:
    """The API over the staff database, as deployed: If-Match required."""
    url = staff_database[0].render_as_string(hide_password=False)
    yield from serve(settings_for(url))


@pytest.fixture(scope="session")
def lenient_api(staff_database) -> Iterator[str]:
    """The same database served with ``LANDPLAN_REQUIRE_IF_MATCH=false`` (stock QGIS)."""
    from api.settings import ServerSettings

    url = staff_database[0].render_as_string(hide_password=False)
    yield from serve(settings_for(url, ServerSettings(require_if_match=False)))


@pytest.fixture
def staff_engine(staff_database):
    from sqlalchemy import create_engine

    engine = create_engine(staff_database[0])
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def fuzzed_staff(make_demo_database) -> Iterator[tuple[str, dict[str, str]]]:
    """A server on a database of its own for the authenticated fuzzing of the writes:
    If-Match not required, so that writes reach the database's rules (the fuzzer sends
    If-Match too, as it likes); an admin's credentials."""
    from api.settings import ServerSettings
    from tests.staff import make_staff

    url = make_demo_database("fuzz_staff")
    staff = make_staff(url)
    settings = settings_for(
        url.render_as_string(hide_password=False), ServerSettings(require_if_match=False)
    )
    for base in serve(settings):
        yield base, staff.headers("admin")


@pytest.fixture(scope="session")
def fuzzed_writes_schema(fuzzed_staff, tmp_path_factory):
    import schemathesis

    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path_factory.mktemp("hyp")))
    base, _ = fuzzed_staff
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    schema.config.update(base_url=base)
    return schema.include(tag="editing")


@pytest.fixture(scope="session")
def history_database(make_demo_database):
    """A demo database of its own for the history tests, with an account of every role:
    they commit, and read what they committed at earlier moments (a transaction rolled
    back cannot see time move)."""
    from tests.staff import make_staff

    url = make_demo_database("history")
    return url, make_staff(url)


@pytest.fixture(scope="session")
def workflow_database(make_demo_database):
    """A demo database of its own for the legal workflows' tests: they move plans and
    lots for good (and commit, as the API does)."""
    from tests.staff import make_staff

    url = make_demo_database("workflows")
    return url, make_staff(url)


@pytest.fixture(scope="session")
def workflow_api(workflow_database) -> Iterator[str]:
    yield from serve(settings_for(workflow_database[0].render_as_string(hide_password=False)))


@pytest.fixture(scope="session")
def workflow_clients(workflow_api, workflow_database):
    """``client(role)``: an httpx client of the workflow server as ``role`` (None: the
    public)."""
    staff = workflow_database[1]

    def client(role: str | None = None) -> httpx.Client:
        headers = staff.headers(role) if role else {}
        return httpx.Client(base_url=workflow_api, headers=headers, timeout=60)

    return client


@pytest.fixture(scope="session")
def history_api(history_database) -> Iterator[str]:
    yield from serve(settings_for(history_database[0].render_as_string(hide_password=False)))


@pytest.fixture
def history_engine(history_database):
    from sqlalchemy import create_engine

    engine = create_engine(history_database[0])
    yield engine
    engine.dispose()
