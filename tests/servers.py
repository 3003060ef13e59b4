"""Real HTTP servers for tests: the API (uvicorn) on a free loopback port; a directory
over plain HTTP is :func:`scripts.localhost.serve_files`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import SecretStr

from api.app import create_app
from api.settings import DatabaseSettings, ServerSettings, Settings
from scripts.localhost import serve_app


def serve(settings: Settings) -> Iterator[str]:
    with serve_app(create_app(settings)) as url:
        yield url


def settings_for(url: str, server: ServerSettings | None = None, **database: Any) -> Settings:
    return Settings(
        database=DatabaseSettings(url=SecretStr(url), **database),
        server=server or ServerSettings(),
    )
