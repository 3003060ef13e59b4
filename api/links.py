"""Absolute links for OGC API responses."""

from __future__ import annotations

from fastapi import Request


def base_url(request: Request) -> str:
    configured = request.app.state.settings.server.public_url
    return (configured or str(request.base_url)).rstrip("/")


def link(request: Request, path: str, rel: str, type_: str, title: str | None = None) -> dict:
    out = {"href": f"{base_url(request)}{path}", "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out
