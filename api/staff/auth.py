"""Who is asking: the one check every staff route goes through, made before a request's
body is read (a refused upload costs the server nothing).

No address, header or network position is trusted: a request to a staff route carries
``Authorization: Bearer <LANDPLAN_ADMIN_TOKEN>`` or is refused (401). Behind a proxy on
the same machine every client comes "from 127.0.0.1", which is why the loopback is no
credential. Staff accounts and roles replace the single token in a later issue; they go
through this same check.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import problem
from api.settings import ServerSettings


@dataclass(frozen=True)
class StaffRoute:
    """``methods`` on ``path`` (or, with ``below``, on the paths under it) are for staff;
    ``body`` is the media type their body must have (415 otherwise, also before it is
    read). Other methods go on to the router, which answers 405 as for any path."""

    path: str
    methods: tuple[str, ...]
    below: bool = False
    body: str | None = None

    def covers(self, method: str, path: str) -> bool:
        if method not in self.methods:
            return False
        return path.startswith(self.path + "/") if self.below else path == self.path


STAFF_ROUTES = (
    StaffRoute("/imports", ("POST",), body="multipart/form-data"),
    StaffRoute("/imports", ("GET", "HEAD"), below=True),
)


@dataclass(frozen=True)
class Refusal:
    status: int
    detail: str


def staff_route(method: str, path: str) -> StaffRoute | None:
    return next((route for route in STAFF_ROUTES if route.covers(method, path)), None)


def authorize(authorization: str | None, settings: ServerSettings) -> Refusal | None:
    """None when the credentials are good; else why not."""
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    if not authorization:
        return Refusal(401, "staff routes need credentials: Authorization: Bearer <token>")
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return Refusal(401, "credentials are a bearer token: Authorization: Bearer <token>")
    if token is None or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return Refusal(401, "the credentials are not valid")
    return None


#: Set in the request's scope by :class:`StaffGate` when it let a staff request through;
#: staff routes check it (:func:`require_staff`), so a route the gate did not see (a
#: path written otherwise) is refused all the same.
PASSED = "landplan.staff"


def route_path(scope: Scope) -> str:
    """The path the router matches: without the root path a server mounted the app at
    (``uvicorn --root-path /api`` puts it in front of ``path``)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


async def require_staff(request: Request) -> None:
    if not request.scope.get(PASSED):
        raise HTTPException(
            401,
            "staff routes need credentials: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="landplan staff"'},
        )


class StaffGate:
    """Refuses a staff request without good credentials, or with a body of the wrong
    media type, from its headers alone."""

    def __init__(self, app: ASGIApp, settings: ServerSettings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http = scope["type"] == "http"
        route = staff_route(scope["method"], route_path(scope)) if http else None
        if route is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = authorize(headers.get("authorization"), self.settings)
        if refusal is None and route.body is not None:
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media != route.body:
                refusal = Refusal(
                    415, f"the body of {scope['method']} {route.path} is {route.body}"
                )
        if refusal is None:
            scope[PASSED] = True
            await self.app(scope, receive, send)
            return
        response = problem(refusal.status, refusal.detail, instance=scope.get("path"))
        if refusal.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="landplan staff"'
        await response(scope, receive, send)
