"""A real browser (Debian's Chromium, driven by Playwright) on the map the API serves.

Each page records what went wrong in it: console errors, uncaught exceptions, failed
requests, and the hosts it asked. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from api.settings import PROJECT_ROOT, MapSettings, ServerSettings
from scripts.localhost import CHROMIUM, CHROMIUM_ARGS, free_port
from tests.servers import serve, settings_for

ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@dataclass
class Visit:
    """A page and what happened while it was open."""

    page: Page
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.wait_for_timeout(400)  # Leaflet fades new tiles in over 200 ms
        self.page.screenshot(path=path)
        return path


@pytest.fixture(scope="session")
def site_port() -> int:
    """Where a published copy of the map is served (the API allows this origin)."""
    return free_port()


@pytest.fixture(scope="session")
def map_api(database_url, site_port) -> Iterator[str]:
    """The API with no basemap (this machine reaches no tile server) and CORS for the
    published site."""
    settings = settings_for(
        database_url.render_as_string(hide_password=False),
        server=ServerSettings(cors_origins=[f"http://127.0.0.1:{site_port}"]),
    )
    settings.map = MapSettings(basemap="none")
    yield from serve(settings)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is installed by `make test` (bootstrap --browser)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser: Browser, url: str, **context_options) -> Visit:
    context = browser.new_context(**context_options)
    page = context.new_page()
    visit = Visit(page)
    page.on("console", lambda m: m.type == "error" and visit.errors.append(m.text))
    page.on("pageerror", lambda e: visit.errors.append(str(e)))
    page.on("requestfailed", lambda r: visit.failed.append(f"{r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and visit.failed.append(f"{r.url} {r.status}"))
    page.on("request", lambda r: visit.hosts.add(urlsplit(r.url).netloc))
    page.goto(url, wait_until="networkidle")
    page.wait_for_function("window.landplan && landplan.drawn('zones') > 0")
    return visit


@pytest.fixture
def visit(browser, map_api) -> Iterator[Visit]:
    visit = open_page(browser, f"{map_api}/", viewport={"width": 1280, "height": 800})
    yield visit
    visit.page.context.close()
