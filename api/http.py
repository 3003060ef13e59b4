"""Cacheable responses: ETag from the body, Cache-Control, 304 on If-None-Match."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response


def cached(
    request: Request,
    body: bytes,
    media_type: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    max_age = request.app.state.settings.server.cache_max_age
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    common = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}", **(headers or {})}
    if etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=common)
    return Response(body, status_code=status_code, media_type=media_type, headers=common)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
