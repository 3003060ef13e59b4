"""Dependency aliases for the routers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncConnection

from api.errors import ensure_database_up, retry_later
from api.session import SESSION_OPTIONS
from layers.base import Layer
from layers.registry import Registry

T = TypeVar("T")
log = logging.getLogger("landplan.api")

# Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in a
# thread pool, a hand-off that costs more than these functions do.


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    ensure_database_up(request)
    async with request.app.state.engine.connect() as conn:
        yield conn


def sync_engine(request: Request) -> Engine:
    """A synchronous engine for imports, which run in worker threads (COPY and the
    checks on one connection of their own, never the event loop's)."""
    state = request.app.state
    if getattr(state, "sync_engine", None) is None:
        state.sync_engine = create_engine(
            state.settings.database.sqlalchemy_url(),
            pool_size=2,
            max_overflow=0,
            connect_args={"options": SESSION_OPTIONS},
        )
    return state.sync_engine


@asynccontextmanager
async def heavy_slot(request: Request) -> AsyncIterator[None]:
    """One of the few places for heavy work (file downloads, pages of thousands): taken
    at once or refused with 503 and Retry-After, so that heavy clients cannot queue up
    and starve the map's tiles."""
    limiter: asyncio.Semaphore = request.app.state.heavy
    if limiter.locked():
        raise retry_later("the server is busy with other downloads; try again in a few seconds")
    async with limiter:
        yield


async def in_worker(
    request: Request, function: Callable[..., T], *args: Any, queries: str | None = None
) -> T:
    """``function(*args)`` in one of the download worker processes (its CPU is not the
    event loop's). A worker that died (killed, out of memory) is a 503; a new pool
    serves the next call. ``queries``: the application_name the worker's database
    sessions carry; when the request is cancelled (its client went away), their running
    queries are cancelled too."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(request.app.state.workers, function, *args)
    except asyncio.CancelledError:
        if queries is not None:
            await asyncio.shield(cancel_queries(request, queries))
        raise
    except BrokenProcessPool:
        log.error("a worker process died; starting new ones")
        request.app.state.workers = request.app.state.new_workers()
        raise retry_later("the work failed; try again") from None


async def cancel_queries(request: Request, application_name: str) -> None:
    async with request.app.state.driver_pool.connection() as conn:
        await conn.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        )


async def get_layer(
    registry: Annotated[Registry, Depends(get_registry)],
    collection_id: Annotated[str, Path(description="Collection (layer) id")],
) -> Layer:
    return registry[collection_id]  # UnknownLayerError -> 404 problem


RegistryDep = Annotated[Registry, Depends(get_registry)]
ConnectionDep = Annotated[AsyncConnection, Depends(get_connection)]
LayerDep = Annotated[Layer, Depends(get_layer)]
