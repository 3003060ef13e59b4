"""The public map page and the files it loads (our own and the npm-installed vendor files)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncConnection

from api import webmap
from layers import land_use

HTML = "text/html"


def wants_html(request: Request, asked: str | None) -> bool:
    """``f=html``, or a browser's Accept (``text/html`` before any JSON type)."""
    if asked:
        return asked == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split("text/html")[0]


async def map_page(request: Request, conn: AsyncConnection) -> HTMLResponse:
    rows = (await conn.execute(land_use.listing())).all()
    settings = request.app.state.settings
    html = webmap.build(request.app.state.registry, settings.map, land_use.described(rows))
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


def mount_assets(app: FastAPI) -> None:
    """Serve ``web/static`` at ``/static`` and each vendor package's built files at
    ``/static/vendor/<package>`` (only those directories, not all of node_modules)."""
    for package in webmap.VENDOR:
        app.mount(
            f"/static/vendor/{package}",
            StaticFiles(directory=webmap.vendor_dir(package), check_dir=False),
            name=f"vendor-{package}",
        )
    app.mount("/static", StaticFiles(directory=webmap.OWN_ASSETS), name="static")
