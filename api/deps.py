"""Dependency aliases for the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from api.errors import ensure_database_up
from layers.base import Layer
from layers.registry import Registry

# Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in a
# thread pool, a hand-off that costs more than these functions do.


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    ensure_database_up(request)
    async with request.app.state.engine.connect() as conn:
        yield conn


async def get_layer(
    registry: Annotated[Registry, Depends(get_registry)],
    collection_id: Annotated[str, Path(description="Collection (layer) id")],
) -> Layer:
    return registry[collection_id]  # UnknownLayerError -> 404 problem


RegistryDep = Annotated[Registry, Depends(get_registry)]
ConnectionDep = Annotated[AsyncConnection, Depends(get_connection)]
LayerDep = Annotated[Layer, Depends(get_layer)]
