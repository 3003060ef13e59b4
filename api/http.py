"""Cacheable responses: ETag from the body, Cache-Control, 304 on If-None-Match."""

from __future__ import annotations

import hashlib
import re

from fastapi import Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import problem


def cached(
    request: Request,
    body: bytes,
    media_type: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    etag: str | None = None,
) -> Response:
    """``etag`` None: one made from the body."""
    max_age = request.app.state.settings.server.cache_max_age
    etag = etag or '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    common = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age}" if max_age > 0 else "public, no-cache",
        # A bearer token reads more than the public (api/staff/auth.py marks those answers
        # private): a shared cache must not hand a public answer's key to them, or back.
        "Vary": "Authorization",
        **(headers or {}),
    }
    if etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=common)
    return Response(body, status_code=status_code, media_type=media_type, headers=common)


class HostGate:
    """A request whose Host is not one of this service's names gets a 400 that does not
    repeat it: absolute links are built from the Host (when no public URL is set), and a
    forged Host would put another site's address into cacheable responses."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]):
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _host_name(scope) in self.hosts:
            await self.app(scope, receive, send)
            return
        detail = "the Host header does not name this service (LANDPLAN_ALLOWED_HOSTS)"
        await problem(400, detail, title="Unknown host")(scope, receive, send)


#: What a Host header may hold: a name or address and a port (no userinfo, no path).
HOST_TEXT = re.compile(r"[a-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9a-f:.]+\](:[0-9]{1,5})?")


def _host_name(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"host":
            host = value.decode("latin-1").strip().lower()
            if not HOST_TEXT.fullmatch(host):
                return ""
            if host.startswith("["):  # [::1]:8000
                return host[1 : host.find("]")] if "]" in host else host
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return ""


class HeadAsGet:
    """HEAD answered as GET without the body (RFC 9110 expects it of every GET
    resource; FastAPI's routes take only the methods they name). The server sends no
    body for HEAD whatever the app writes; the headers, ETag included, are GET's."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        await self.app({**scope, "method": "GET"}, receive, send)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
