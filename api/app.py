"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from multiprocessing import get_context

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import create_async_engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import errors, openapi
from api.http import HeadAsGet, HostGate
from api.routers import (
    change_requests,
    collections,
    editing,
    extract,
    features,
    history,
    imports,
    landing,
    lookup,
    tiles,
    webmap,
    workflows,
)
from api.session import SESSION_OPTIONS
from api.settings import Settings, get_settings
from api.staff import signin
from api.staff.auth import StaffGate
from api.staff.rules import STAFF_PREFIX
from layers.registry import default_registry


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = settings.database
        app.state.engine = create_async_engine(
            db.sqlalchemy_url(),
            pool_size=db.pool_size,
            pool_timeout=db.pool_timeout,
            pool_recycle=300,
            # After a database restart, stale pooled connections are replaced, not failed.
            pool_pre_ping=True,
            # The public API only reads: no BEGIN/ROLLBACK round trips around each query.
            isolation_level="AUTOCOMMIT",
            # libpq's shortest: a database that accepts and never answers is a 503.
            connect_args={"options": SESSION_OPTIONS, "connect_timeout": 2},
        )
        # Statements compiled once (tiles) run on psycopg directly, from its own pool:
        # the SQLAlchemy connection around them cost ~10% of a small tile (api/routing.py).
        app.state.driver_pool = AsyncConnectionPool(
            db.libpq_url(),
            min_size=1,
            max_size=db.pool_size,
            kwargs={
                "autocommit": True,
                "options": SESSION_OPTIONS,
                "connect_timeout": 2,
            },
            timeout=db.pool_timeout,
            open=False,
        )
        await app.state.driver_pool.open()

        # Downloads are made in worker processes (their CPU is not the event loop's);
        # spawned, not forked: a fork would copy the running loop and its connections.
        def new_workers() -> ProcessPoolExecutor:
            return ProcessPoolExecutor(
                max_workers=settings.server.heavy_concurrency,
                mp_context=get_context("spawn"),
                # Files can wait a little; the map's tiles should not.
                initializer=functools.partial(os.nice, 10),
            )

        app.state.new_workers = new_workers
        app.state.workers = new_workers()
        try:
            yield
        finally:
            app.state.workers.shutdown(wait=False, cancel_futures=True)
            await app.state.driver_pool.close()
            await app.state.engine.dispose()
            if getattr(app.state, "sync_engine", None) is not None:
                app.state.sync_engine.dispose()

    app = FastAPI(
        title="landplan",
        summary="Planning and land information for Cao Bằng city (OGC API Features)",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.heavy = asyncio.Semaphore(settings.server.heavy_concurrency)
    app.state.registry = default_registry()
    errors.install(app)
    # Level 5: most of level 9's saving on GeoJSON and tiles at a fraction of its CPU.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    # Tiles first: routes are matched in order, and tiles are most of a map's requests.
    api_routers = [
        tiles.router,
        landing.router,
        collections.router,
        features.router,
        editing.router,
        history.router,
        workflows.router,
        change_requests.router,
        lookup.router,
        extract.router,
        imports.router(settings),
    ]
    for router in api_routers:
        app.include_router(router)
    app.include_router(signin.router)
    # The same API again under /staff, where the browser sends the session cookie (its
    # Path): the staff workspace reads and writes through it. Documented once, as the
    # public paths (docs/staff.md).
    for router in api_routers:
        app.include_router(router, prefix=STAFF_PREFIX, include_in_schema=False)
    webmap.mount_assets(app)
    openapi.install(app, app.state.registry)
    app.add_middleware(HeadAsGet)
    app.add_middleware(StaffGate, settings=settings.server)
    if settings.server.cors_origins:
        # Around the gate: its refusals carry CORS headers too, and it answers preflights.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_origins,
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["*"],
        )
    app.add_middleware(HostGate, hosts=settings.server.hosts())
    if settings.server.trusted_proxies:
        app.add_middleware(
            ProxyHeadersMiddleware, trusted_hosts=list(settings.server.trusted_proxies)
        )
    # Outermost, so that nothing escapes to the server's own error handling.
    app.add_middleware(errors.ConnectionGuard)
    return app
