"""Who is asking, and may they: the one check every request goes through, made from its
method, path and headers before its body is read or its parameters validated (a refused
upload costs the server nothing).

No address, header or network position is trusted. Credentials are a bearer token
(``Authorization: Bearer …``: an account's token, or ``LANDPLAN_ADMIN_TOKEN`` as an
``admin``), on every path; or the session cookie, which the browser sends only under
``/staff`` (its Path) and which this check reads only there, so that the public paths and
the public map always read as the public. An unsafe method authenticated by the cookie
must carry the session's CSRF token in ``X-CSRF-Token``. What each role may do is the
table of :mod:`api.staff.rules`.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from fastapi import Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem, unavailable
from api.settings import ServerSettings
from api.staff import rules
from layers import accounts
from layers.accounts import Principal

#: Keys in the request's scope: who is asking (None: the public), the decision made.
PRINCIPAL = "landplan.principal"
DECISION = "landplan.decision"
SESSION_COOKIE = "landplan_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ADMIN = Principal(accounts.ADMIN_TOKEN_ACTOR, "admin", via="admin-token")

#: The only media type each body-carrying route takes (415 otherwise, before the body).
BODIES = {
    ("POST", "/imports"): ("multipart/form-data",),
    ("POST", "/collections/{collection_id}/items"): ("application/geo+json", "application/json"),
    ("PUT", "/collections/{collection_id}/items/{feature_id}"): (
        "application/geo+json",
        "application/json",
    ),
    ("PATCH", "/collections/{collection_id}/items/{feature_id}"): (
        "application/merge-patch+json",
        "application/json",
        "application/geo+json",
    ),
    ("POST", "/plans/{code}/transitions"): ("application/json",),
    ("POST", "/auction-lots/{lot_code}/transitions"): ("application/json",),
    ("POST", "/change-requests"): ("application/json",),
    ("POST", "/change-requests/{request_id}/approve"): ("application/json",),
    ("POST", "/change-requests/{request_id}/reject"): ("application/json",),
    ("POST", "/staff/auth/login"): ("application/json",),
}


class Refused(Exception):
    def __init__(self, status: int, detail: str, allow: tuple[str, ...] = ()):
        self.status, self.detail, self.allow = status, detail, allow


#: Where a page asks who is signed in: never an error, whatever the credentials.
ME = "/staff/auth/me"


def csrf_token(session_id: str) -> str:
    """The CSRF token of a session: derived from its id (a secret only the cookie
    holder knows), so nothing more is stored."""
    return hashlib.sha256(b"landplan-csrf:" + session_id.encode()).hexdigest()


def route_path(scope: Scope) -> str:
    """The path the router matches: without the root path a server mounted the app at
    (``uvicorn --root-path /api`` puts it in front of ``path``)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


async def authenticate(
    scope: Scope, headers: dict[str, str], path: str, settings: ServerSettings
) -> Principal | None:
    """The caller, None for the public; :class:`Refused` for bad credentials."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, given = authorization.partition(" ")
        given = given.strip()
        if scheme.lower() == "bearer" and given:
            return await _bearer(scope, given, settings)
        # Other schemes (a proxy's Basic) are no credential of ours: the caller is
        # anonymous, and the table refuses what the public may not do.
    if not path.startswith(rules.STAFF_PREFIX + "/"):
        return None
    session_id = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
    if not session_id:
        return None
    idle = timedelta(minutes=settings.session_idle_minutes)
    principal = await _run(scope, accounts.principal_for_session, session_id, idle)
    if principal is None:
        return None  # ended or expired: the caller is signed out
    if scope["method"] in UNSAFE and path not in ("/staff/auth/login", "/staff/auth/logout"):
        given = headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), csrf_token(session_id).encode()):
            raise Refused(403, "a change made with the session cookie needs X-CSRF-Token")
    return principal


async def _bearer(scope: Scope, given: str, settings: ServerSettings) -> Principal:
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    if token is not None and hmac.compare_digest(given.encode(), token.encode()):
        return ADMIN
    principal = None
    if given.startswith("lpt_"):
        principal = await _run(scope, accounts.principal_for_token, given)
    if principal is None:
        raise Refused(401, "the credentials are not valid (unknown, expired or revoked)")
    return principal


async def _run(scope: Scope, function, *args):
    engine = scope["app"].state.engine
    async with engine.connect() as conn:
        return await conn.run_sync(function, *args)


def principal(request: Request) -> Principal | None:
    """Who is asking (None: the public), as the gate found."""
    return request.scope.get(PRINCIPAL)


class StaffGate:
    """Authenticates every request from its headers and applies the authorization table
    (:func:`api.staff.rules.decide`); refuses with 401/403/415 before the body is read."""

    def __init__(self, app: ASGIApp, settings: ServerSettings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            try:
                who = await authenticate(scope, headers, path, self.settings)
            except Refused:
                if path != ME:
                    raise
                # A page asking who is signed in: a token no longer good is no answer;
                # the session, if any, is.
                without = {k: v for k, v in headers.items() if k != "authorization"}
                who = await authenticate(scope, without, path, self.settings)
            decision = rules.decide(scope["method"], path, who)
            if decision.status is not None:
                raise Refused(decision.status, decision.detail, decision.allow)
            _check_body(scope["method"], decision, headers)
        except Refused as refused:
            response = problem(refused.status, refused.detail, instance=scope.get("path"))
            if refused.status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="landplan staff"'
            if refused.allow:
                response.headers["Allow"] = ", ".join(refused.allow)
            await response(scope, receive, send)
            return
        except (OperationalError, PoolTimeout):
            busy = unavailable("the database is not answering; try again shortly")
            await busy(scope, receive, send)
            return
        scope[PRINCIPAL] = who
        scope[DECISION] = decision
        if who is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _private(send))


def _check_body(method: str, decision: rules.Decision, headers: dict[str, str]) -> None:
    # The /staff copy of a route takes what the public route takes (same template).
    template = decision.template or ""
    media_types = BODIES.get((method, template))
    if media_types is None:
        return
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in media_types:
        raise Refused(415, f"the body of {method} {template} is {' or '.join(media_types)}")


def _private(send: Send) -> Send:
    """Responses computed for a staff audience are the caller's alone: no cache keeps
    them, and none serves them to another caller."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            vary = {b"Authorization", b"Cookie"}
            kept = []
            for key, value in message.get("headers", []):
                if key.lower() == b"vary":
                    vary.update(v.strip() for v in value.split(b",") if v.strip())
                elif key.lower() != b"cache-control":
                    kept.append((key, value))
            kept += [(b"cache-control", b"private, no-store"), (b"vary", b", ".join(sorted(vary)))]
            message = {**message, "headers": kept}
        await send(message)

    return sending
