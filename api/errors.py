"""Every error leaves as ``application/problem+json`` (RFC 9457).

Database errors never reach the client as text: a 500 is logged once with its detail and
answered with a generic message. The status codes are one contract for every operation
(docs/api.md), documented in the OpenAPI document by :func:`problems`.

No exception reaches the server's own error middleware, which would close the connection
after its answer: :class:`ConnectionGuard` answers in its place and keeps the connection
open, unless the request's body was not read, when it says ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from layers.lifecycle import GroundsError
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
        # A client's text quoted back may hold what UTF-8 cannot encode (lone surrogates).
        "detail": detail.encode("utf-8", "replace").decode("utf-8"),
        **({"instance": instance} if instance else {}),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


#: The contract: what each status means, for every operation that can answer it.
MEANINGS = {
    400: "Bad parameters: `parameter` names the one that is wrong, `detail` says why",
    401: "No credentials, or credentials that are not valid",
    403: "The credentials do not allow this",
    404: "Nothing with this name or id",
    405: "The method is not allowed here (`Allow` lists those that are)",
    406: "None of the media types the client accepts is offered",
    409: "The request conflicts with the current state of the resource",
    412: "A precondition (If-Match) no longer holds: the resource has changed",
    413: "The request body is larger than allowed",
    415: "The request body's media type is not accepted",
    422: "A rule of the data refused the request; `rule` names it",
    428: "The request must be conditional (If-Match)",
    429: "Too many requests; `Retry-After` says when to try again",
    503: "The service (its database) is unavailable; `Retry-After` says when to try again",
}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "parameter": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
RETRY_AFTER_SECONDS = 5


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these status codes (304 has no body)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        if code == 304:
            out[code] = {"description": "Not modified (If-None-Match matched the ETag)"}
            continue
        out[code] = {
            "description": MEANINGS[code],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if code in (429, 503):
            out[code]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return out


#: After the database refused or dropped a connection, requests are answered 503 at once
#: for this long instead of each waiting for a connection that will not come; then they
#: try the database again.
DOWN_FOR_SECONDS = 1.0


class DatabaseDown(Exception):
    """The database failed a request a moment ago: answer 503 without trying it."""


def unavailable(detail: str, instance: str | None = None) -> JSONResponse:
    """A 503 problem whose client should try again in a few seconds (Retry-After)."""
    response = problem(503, detail, instance=instance)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def retry_later(detail: str) -> HTTPException:
    """A 503 whose client should try again in a few seconds (Retry-After)."""
    return HTTPException(503, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def ensure_database_up(request: Request) -> None:
    if getattr(request.app.state, "database_down_until", 0.0) > time.monotonic():
        raise DatabaseDown


class RuleBroken(Exception):
    """A rule of the data (a constraint, a trigger's check) refused a write."""

    def __init__(self, rule: str, message: str, feature: str):
        super().__init__(f"{rule}: {message}")
        self.rule, self.message, self.feature = rule, message, feature


class Conflict(Exception):
    """The request conflicts with the state of the data (409); ``extra`` says with what."""

    def __init__(self, detail: str, **extra: Any):
        super().__init__(detail)
        self.detail, self.extra = detail, extra


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

    @app.exception_handler(RuleBroken)
    async def rule_broken(request: Request, exc: RuleBroken) -> JSONResponse:
        return problem(
            422,
            str(exc),
            title="A rule of the data refused the change",
            instance=exc.feature,
            rule=exc.rule,
        )

    @app.exception_handler(GroundsError)
    async def grounds_missing(request: Request, exc: GroundsError) -> JSONResponse:
        return problem(
            422,
            f"{exc.where}: {exc.detail}",
            title="The move's grounds are missing or malformed",
            instance=request.url.path,
            rule="lifecycle_grounds",
            pointer=exc.where,
        )

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> JSONResponse:
        return problem(409, exc.detail, instance=request.url.path, **exc.extra)

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
        first = exc.errors()[0]["loc"] if exc.errors() else ()
        return problem(
            400,
            detail,
            title="Invalid request",
            instance=request.url.path,
            parameter=str(first[-1]) if first else "",
            errors=errors,
        )

    @app.exception_handler(UnknownLayerError)
    async def unknown_layer(request: Request, exc: UnknownLayerError) -> JSONResponse:
        return problem(
            404, f"no public collection named {exc.args[0]!r}", instance=request.url.path
        )

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, OperationalError | psycopg.OperationalError):
            # The database refused or dropped a connection: down, not merely busy.
            log.error("database unavailable on %s: %s", request.url.path, type(exc).__name__)
            request.app.state.database_down_until = time.monotonic() + DOWN_FOR_SECONDS
        busy = isinstance(exc, PoolTimeout | SQLAlchemyTimeout)
        detail = (
            "the server is busy; try again shortly"
            if busy
            else "the database is not reachable; try again shortly"
        )
        return unavailable(detail, instance=request.url.path)

    # Through SQLAlchemy, and through the driver pool the tiles use (api/app.py); a pool
    # with no free connection in time (busy, or the database down) is a 503 as well.
    for down in (
        OperationalError,
        psycopg.OperationalError,
        PoolTimeout,
        SQLAlchemyTimeout,
        DatabaseDown,
    ):
        app.add_exception_handler(down, database_unavailable)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        log.exception("database error on %s", request.url.path, exc_info=exc)
        return problem(500, "internal error", instance=request.url.path)


class ConnectionGuard:
    """The outermost middleware: an exception becomes a 500 problem here, not in the
    server's error middleware (which re-raises, and the server then drops the
    connection); an answer given before the request's body was read closes the
    connection, since the rest of the body would be read as the next request; a
    request without a body is cancelled when its client goes away."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        has_body = b"transfer-encoding" in headers or headers.get(b"content-length", b"0") not in (
            b"0",
            b"",
        )
        state = {"body_read": not has_body, "started": False}

        async def tracked_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                state["body_read"] = True
            return message

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                if not state["body_read"]:
                    message = {
                        **message,
                        "headers": [*message.get("headers", []), (b"connection", b"close")],
                    }
            await send(message)

        try:
            if has_body:
                await self.app(scope, tracked_receive, guarded_send)
            else:
                await _cancelled_on_disconnect(self.app, scope, tracked_receive, guarded_send)
        except ClientGone:
            return  # nobody to answer; its query was cancelled in the database
        except Exception as exc:
            log.exception("unexpected error on %s", scope.get("path"), exc_info=exc)
            if state["started"]:
                raise
            await problem(500, "internal error", instance=scope.get("path"))(
                scope, tracked_receive, guarded_send
            )


class ClientGone(Exception):
    """The client closed the connection before its answer was ready."""


async def _cancelled_on_disconnect(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> None:
    """Run the app; cancel it when the client goes away (psycopg then cancels the
    running query in the server). For requests without a body only: the server's
    messages are read here and handed on, so that a disconnect is seen while the app
    works; raises :class:`ClientGone` when it was."""
    messages: asyncio.Queue[Message] = asyncio.Queue()
    answered = False
    gone = False

    async def tracked_send(message: Message) -> None:
        nonlocal answered
        await send(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered = True  # the server reports a disconnect once the answer is out

    work = asyncio.ensure_future(app(scope, messages.get, tracked_send))

    async def watch() -> None:
        nonlocal gone
        while True:
            message = await receive()
            messages.put_nowait(message)
            if message["type"] == "http.disconnect":
                if not (work.done() or answered):
                    gone = True
                    work.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        await work
    except asyncio.CancelledError:
        if not gone:
            raise  # the server itself is stopping this request
        raise ClientGone from None
    finally:
        watcher.cancel()
