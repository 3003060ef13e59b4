"""The error boundary: what escapes a route is a 500 problem on a connection that stays
open; an answer given before the body was read closes the connection."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI, Request

from api import errors
from scripts.localhost import serve_app


def _app() -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/broken")
    async def broken() -> dict:
        raise RuntimeError("a bug, with a secret in its message")

    @app.get("/fine")
    async def fine() -> dict:
        return {"ok": True}

    @app.post("/refuse-unread")
    async def refuse_unread() -> dict:
        raise errors.BadRequest("body", "refused before reading it")

    @app.post("/read-then-refuse")
    async def read_then_refuse(request: Request) -> dict:
        await request.body()
        raise errors.BadRequest("body", "refused after reading it")

    app.add_middleware(errors.ConnectionGuard)
    return app


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve_app(_app()) as url:
        yield url


def test_an_unexpected_error_is_a_500_problem_and_the_connection_is_kept(base):
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", "/broken")
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 500
    assert response.getheader("content-type") == "application/problem+json"
    assert body["detail"] == "internal error" and "secret" not in json.dumps(body)
    assert not response.will_close
    sock = conn.sock
    conn.request("GET", "/fine")
    again = conn.getresponse()
    assert again.status == 200 and json.loads(again.read()) == {"ok": True}
    assert conn.sock is sock
    conn.close()


def _raw(base: str, request: bytes) -> bytes:
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n\r\n")[0].lower()


def test_a_refusal_before_the_body_is_read_closes_the_connection(base):
    head = _raw(
        base,
        b"POST /refuse-unread HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + b"x" * 10,
    )
    assert head.startswith(b"http/1.1 400")
    assert b"connection: close" in head


def test_a_refusal_after_the_body_was_read_keeps_the_connection(base):
    head = _raw(base, b"POST /read-then-refuse HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
    assert head.startswith(b"http/1.1 400")
    assert b"connection: close" not in head


class _Orig(Exception):
    sqlstate = "22003"


def test_a_database_refusal_of_a_checked_filter_is_a_400_not_its_text():
    from sqlalchemy.exc import DBAPIError

    from api.routers.features import _refuse_failed_filter
    from layers import cql
    from layers.features import ItemsQuery
    from layers.parcels import LAYER

    refused = DBAPIError("SELECT …", {}, _Orig("numeric field overflow"))
    query = ItemsQuery(filter=cql.parse(LAYER, "map_sheet = 1"))
    with pytest.raises(errors.BadRequest, match="cannot be applied") as caught:
        _refuse_failed_filter(refused, "parcels", query)
    assert "overflow" not in str(caught.value)
    _refuse_failed_filter(refused, "parcels", ItemsQuery())  # no filter: left to the 500


@pytest.fixture(scope="module")
def slow_api(database_url) -> Iterator[str]:
    """A route whose query runs for 30 s, on the real test database."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    app = FastAPI()
    errors.install(app)

    @app.get("/slow")
    async def slow() -> dict:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_sleep(30) /* landplan-slow-test */"))
        return {"slept": True}

    app.add_middleware(errors.ConnectionGuard)
    with serve_app(app) as url:
        yield url


def test_a_client_that_goes_away_has_its_query_cancelled(slow_api, engine):
    from sqlalchemy import text

    running = text(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%landplan-slow-test%' "
        "AND state = 'active' AND pid <> pg_backend_pid()"
    )
    parts = urlsplit(slow_api)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watch:
        deadline = time.monotonic() + 10
        while not watch.execute(running).scalar_one() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert watch.execute(running).scalar_one() == 1  # the query is under way
        sock.close()  # the client goes away
        closed = time.monotonic()
        while watch.execute(running).scalar_one() and time.monotonic() - closed < 2:
            time.sleep(0.05)
        assert watch.execute(running).scalar_one() == 0, "still running 2 s after the client left"


def test_a_download_whose_client_goes_away_has_its_worker_query_cancelled(
    database_url, engine, monkeypatch
):
    """The download's query runs in a worker process: cancelling the request cancels it
    in the database by the session's application_name."""
    from sqlalchemy import text

    from api.app import create_app
    from api.deps import in_worker
    from api.session import SESSION_OPTIONS
    from api.staff import rules
    from layers import exports
    from tests.servers import settings_for

    url = database_url.render_as_string(hide_password=False)
    app = create_app(settings_for(url))
    tag = "landplan-download-slow-test"
    slow = "SELECT 1 AS fid, NULL::geometry AS geometry FROM pg_sleep(30)"

    # A route of the test's own needs its row in the table, as any route does.
    monkeypatch.setitem(rules.TABLE, ("GET", "/slow-download"), (rules.Who.ANYONE, rules.READ))

    @app.get("/slow-download")
    async def slow_download(request: Request) -> dict:
        args = (url, SESSION_OPTIONS, tag, "parcels", slow, {}, 9210, "csv")
        await in_worker(request, exports.download, *args, queries=tag)
        return {}

    running = text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :tag AND state = 'active'"
    ).bindparams(tag=tag)
    with (
        serve_app(app) as base,
        engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watch,
    ):
        parts = urlsplit(base)
        sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        sock.sendall(b"GET /slow-download HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        deadline = time.monotonic() + 30  # the first download spawns the worker
        while not watch.execute(running).scalar_one() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert watch.execute(running).scalar_one() == 1
        sock.close()
        closed = time.monotonic()
        while watch.execute(running).scalar_one() and time.monotonic() - closed < 2:
            time.sleep(0.05)
        assert watch.execute(running).scalar_one() == 0, "the worker's query outlived its client"
