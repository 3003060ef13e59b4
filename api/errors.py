"""Every error leaves as ``application/problem+json`` (RFC 9457).

Database errors never reach the client as text: a 500 is logged once with its detail and
answered with a generic message.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException

from layers.registry import UnknownLayerError

log = logging.getLogger("landplan.api")

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int, detail: str, *, title: str | None = None, instance: str | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **({"instance": instance} if instance else {}),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


class BadRequest(ValueError):
    """A request parameter is wrong; the message says which and why."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


def install(app: FastAPI) -> None:
    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        return problem(
            400,
            str(exc),
            title="Invalid parameter",
            instance=request.url.path,
            parameter=exc.parameter,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        response = problem(exc.status_code, str(exc.detail), instance=request.url.path)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors)
        return problem(
            400, detail, title="Invalid request", instance=request.url.path, errors=errors
        )

    @app.exception_handler(UnknownLayerError)
    async def unknown_layer(request: Request, exc: UnknownLayerError) -> JSONResponse:
        return problem(
            404, f"no public collection named {exc.args[0]!r}", instance=request.url.path
        )

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable on %s: %s", request.url.path, exc)
        return problem(
            503, "the database is not reachable; try again shortly", instance=request.url.path
        )

    # Through SQLAlchemy, and through the driver pool the tiles use (api/app.py).
    for unavailable in (OperationalError, psycopg.OperationalError, PoolTimeout):
        app.add_exception_handler(unavailable, database_unavailable)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        log.exception("database error on %s", request.url.path, exc_info=exc)
        return problem(500, "internal error", instance=request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path, exc_info=exc)
        return problem(500, "internal error", instance=request.url.path)
