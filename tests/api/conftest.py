"""A real HTTP server (uvicorn on a free loopback port) over the run's database."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.servers import serve, settings_for


@pytest.fixture(scope="session")
def api_url(database_url) -> Iterator[str]:
    yield from serve(settings_for(database_url.render_as_string(hide_password=False)))


@pytest.fixture
def client(api_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as http:
        yield http
