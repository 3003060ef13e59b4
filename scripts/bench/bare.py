"""A bare ASGI tile server: the least any Python server can do per tile, for reference.

No framework, no middleware, no ETag, no error handling: uvicorn parses the request,
one psycopg pool connection runs the same compiled tile SQL as the API
(``layers.tiles.compiled``), and the bytes go back. The benchmark measures it beside the
database floor and this API, so the report shows how much of the distance to the floor
is the API's own and how much any Python HTTP server on the machine pays.

Run: ``DATABASE_URL=… uvicorn scripts.bench.bare:app --port N``; it serves
``/collections/{id}/tiles/WebMercatorQuad/{z}/{x}/{y}`` (and ``/health`` for the start-up
probe).
"""

from __future__ import annotations

import os

from psycopg_pool import AsyncConnectionPool

from api.session import SESSION_OPTIONS
from layers import tiles
from layers.registry import default_registry

REGISTRY = default_registry()
_pool: AsyncConnectionPool | None = None


async def app(scope, receive, send) -> None:
    global _pool
    if scope["type"] == "lifespan":
        await receive()
        _pool = AsyncConnectionPool(
            os.environ["DATABASE_URL"],
            kwargs={"autocommit": True, "options": SESSION_OPTIONS},
            open=False,
        )
        await _pool.open()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await _pool.close()
        await send({"type": "lifespan.shutdown.complete"})
        return
    assert _pool is not None
    if scope["path"] == "/health":
        await _respond(send, 200, b"ok")
        return
    parts = scope["path"].split("/")  # "", collections, id, tiles, WebMercatorQuad, z, x, y
    layer = REGISTRY[parts[2]]
    z, x, y = (int(v) for v in parts[5:8])
    sql, constants = tiles.compiled((layer,), z)
    async with _pool.connection() as conn:
        cursor = await conn.execute(sql, {**constants, "x": x, "y": y})
        row = await cursor.fetchone()
    data = row[0] if row else None
    await _respond(send, 200 if data else 204, bytes(data or b""))


async def _respond(send, status: int, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
