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

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import problem
from api.settings import ServerSettings


@dataclass(frozen=True)
class StaffRoute:
    """Paths under ``prefix`` are for staff (every method); ``bodies`` names the media
    type each method's body must have (415 otherwise, also before reading it)."""

    prefix: str
    bodies: tuple[tuple[str, str], ...] = ()


STAFF_ROUTES = (StaffRoute("/imports", bodies=(("POST", "multipart/form-data"),)),)


@dataclass(frozen=True)
class Refusal:
    status: int
    detail: str


def staff_route(path: str) -> StaffRoute | None:
    for route in STAFF_ROUTES:
        if path == route.prefix or path.startswith(route.prefix + "/"):
            return route
    return None


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


class StaffGate:
    """Refuses a staff request without good credentials, or with a body of the wrong
    media type, from its headers alone."""

    def __init__(self, app: ASGIApp, settings: ServerSettings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = staff_route(scope.get("path", "")) if scope["type"] == "http" else None
        if route is None or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = authorize(headers.get("authorization"), self.settings)
        if refusal is None:
            wanted = dict(route.bodies).get(scope["method"])
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if wanted and media != wanted:
                refusal = Refusal(415, f"the body of {scope['method']} {route.prefix} is {wanted}")
        if refusal is None:
            await self.app(scope, receive, send)
            return
        response = problem(refusal.status, refusal.detail, instance=scope.get("path"))
        if refusal.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="landplan staff"'
        await response(scope, receive, send)
