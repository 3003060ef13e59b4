"""A lean route class for the hottest endpoints.

FastAPI solves dependencies and validates parameters through pydantic on every request;
for a small vector tile that machinery cost more than the tile's SQL on the benchmark
machine (py-spy: a quarter of the request's CPU time, docs/benchmarks.md). A
:class:`PathRoute` endpoint takes the request and its path parameters only; the route
converts those itself and calls the endpoint directly. FastAPI still documents it from the
signature, and errors go through the app's problem+json handlers as usual.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from api.errors import BadRequest
from layers.properties import INTEGER_TEXT


class PathRoute(APIRoute):
    """Calls ``endpoint(request, **path_params)``, each converted by its annotation
    (``int`` or ``str``); a value that does not convert is a 400 naming the parameter."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        hints = typing.get_type_hints(endpoint)
        names = [name for name in inspect.signature(endpoint).parameters if name != "request"]
        if set(names) != set(self.param_convertors) or any(
            hints.get(name) not in (int, str) for name in names
        ):
            raise TypeError(
                f"{endpoint.__name__}: a PathRoute endpoint takes the request and its path "
                "parameters (int or str) only"
            )
        converters: list[tuple[str, type]] = [(name, hints[name]) for name in names]

        async def handler(request: Request) -> Response:
            path = request.path_params
            args: dict[str, Any] = {}
            for name, kind in converters:
                try:
                    if kind is int and not INTEGER_TEXT.fullmatch(path[name]):
                        raise ValueError(path[name])
                    args[name] = kind(path[name])
                except ValueError:
                    message = f"must be an integer, not {path[name]!r}"
                    raise BadRequest(name, message) from None
            return await endpoint(request, **args)

        return handler
