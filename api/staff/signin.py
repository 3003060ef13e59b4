"""Signing in and out of the staff workspace: a server-side session in a cookie.

The cookie holds an opaque random id (the database keeps its hash); it is HttpOnly,
SameSite=Strict, ``Path=/staff`` (so the public paths never receive it) and Secure when
the public URL is https. Sessions end after ``LANDPLAN_SESSION_IDLE_MINUTES`` without a
request and ``LANDPLAN_SESSION_HOURS`` after sign-in; logout, a new password and
``landplan user disable`` end them at once. Failed sign-ins are throttled per account and
per client address (429 with Retry-After). An account with a TOTP secret must give its
current code; ``LANDPLAN_ADMIN_REQUIRES_TOTP`` makes one compulsory for admins.
"""

from __future__ import annotations

import hmac
import math
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from typing import Annotated

import pyotp
from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.errors import ensure_database_up, problems
from api.staff.auth import SESSION_COOKIE, csrf_token, principal
from api.staff.rules import STAFF_PREFIX
from layers import accounts

router = APIRouter(prefix=f"{STAFF_PREFIX}/auth", tags=["staff"])


class Credentials(BaseModel):
    name: str = Field(pattern=accounts.NAME_PATTERN, max_length=63, examples=["planner1"])
    password: str = Field(min_length=1, max_length=1024)
    #: The current TOTP code, for accounts with a second factor.
    otp: str | None = Field(default=None, pattern=r"^[0-9]{6,8}$")


class Throttle:
    """Failures remembered per key for a window; ``limit`` of them close the door until
    the oldest leaves the window. In the server's memory: with several worker processes
    each counts its own (a client then gets a few more tries, never unlimited)."""

    #: Keys remembered at most: names are the client's to choose, memory is not.
    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def wait(self, key: str, limit: int, window: float) -> int:
        """Seconds until ``key`` may try again (0: now)."""
        now = time.monotonic()
        seen = self.failures.get(key)
        if not seen:
            return 0
        while seen and seen[0] <= now - window:
            seen.popleft()
        if not seen:
            del self.failures[key]
        if len(seen) < limit:
            return 0
        return max(1, math.ceil(seen[0] + window - now))

    def fail(self, key: str) -> None:
        if key not in self.failures and len(self.failures) >= self.MAX_KEYS:
            del self.failures[next(iter(self.failures))]  # the longest remembered
        self.failures[key].append(time.monotonic())

    def forget(self, key: str) -> None:
        self.failures.pop(key, None)

    def take_back(self, key: str) -> None:
        """Undo the latest :meth:`fail` of ``key`` (the attempt succeeded)."""
        seen = self.failures.get(key)
        if seen:
            seen.pop()
            if not seen:
                del self.failures[key]


def _throttle(request: Request) -> Throttle:
    state = request.app.state
    if getattr(state, "login_throttle", None) is None:
        state.login_throttle = Throttle()
    return state.login_throttle


def _me(who: accounts.Principal | None, session_id: str | None) -> dict:
    if who is None:
        return {"signed_in": False}
    me = {"signed_in": True, "name": who.name, "role": who.role, "units": list(who.units)}
    if session_id is not None:
        me["csrf_token"] = csrf_token(session_id)
    return me


@router.post(
    "/login",
    summary="Sign in: a session cookie (Path=/staff) and the CSRF token for changes",
    responses={200: {"description": "Signed in"}, **problems(400, 401, 415, 429, 503)},
)
async def login(request: Request, credentials: Annotated[Credentials, Body()]) -> Response:
    settings = request.app.state.settings.server
    throttle = _throttle(request)
    window = settings.login_window_seconds
    client = f"client:{request.client.host if request.client else '?'}"
    account_key = f"account:{credentials.name}"
    wait = max(
        throttle.wait(account_key, settings.login_attempts_per_account, window),
        throttle.wait(client, settings.login_attempts_per_client, window),
    )
    if wait:
        raise HTTPException(
            429, "too many failed sign-ins; try again later", headers={"Retry-After": str(wait)}
        )
    ensure_database_up(request)  # an outage does not use up anyone's attempts
    # Counted as failed until it succeeds: a burst of guesses sent at once is throttled
    # as if sent one after the other.
    throttle.fail(account_key)
    throttle.fail(client)
    engine = request.app.state.engine
    async with engine.connect() as conn:
        row = await conn.run_sync(accounts.account_for_login, credentials.name)
    hashed = row.password_hash if row is not None else None
    # Argon2 takes tens of milliseconds of CPU: not on the event loop.
    good = await run_in_threadpool(accounts.password_matches, credentials.password, hashed)
    if good and row is not None:
        async with engine.begin() as conn:
            good = await conn.run_sync(
                _second_factor, row, credentials.otp, settings.admin_requires_totp
            )
    if not good or row is None:
        raise HTTPException(401, "the name, password or code is not right")
    throttle.forget(account_key)
    throttle.take_back(client)
    absolute = timedelta(hours=settings.session_hours)
    previous = request.cookies.get(SESSION_COOKIE)
    async with engine.begin() as conn:
        if previous:  # one session per sign-in: the browser's last one ends
            await conn.run_sync(accounts.close_session, previous)
        session_id = await conn.run_sync(accounts.open_session, row.id, absolute)
    who = accounts.principal_of(row, "session")
    response = JSONResponse(_me(who, session_id), headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(absolute.total_seconds()),
        path=STAFF_PREFIX,
        httponly=True,
        samesite="strict",
        secure=(settings.public_url or "").startswith("https://"),
    )
    return response


def _second_factor(conn, row, otp: str | None, admin_requires_totp: bool) -> bool:
    """The account's TOTP code, if it has a second factor: the current one (or the one
    before or after, for clocks that drift), never one already used."""
    if row.totp_secret is None:
        return not (admin_requires_totp and row.role == "admin")
    if otp is None:
        return False
    totp = pyotp.TOTP(row.totp_secret)
    now = datetime.now(UTC)
    for drift in (-1, 0, 1):
        if hmac.compare_digest(totp.at(now, counter_offset=drift), otp):
            return accounts.use_totp_step(conn, row.id, totp.timecode(now) + drift)
    return False


@router.post(
    "/logout",
    summary="Sign out: the session ends at once",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Signed out (or was not signed in)"}, **problems(503)},
)
async def logout(request: Request) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        ensure_database_up(request)
        async with request.app.state.engine.begin() as conn:
            await conn.run_sync(accounts.close_session, session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path=STAFF_PREFIX)
    return response


@router.get(
    "/me",
    summary="Who is signed in (never an error: a page may ask)",
    responses={200: {"description": '{"signed_in": false} for a visitor'}},
)
async def me(request: Request) -> JSONResponse:
    who = principal(request)
    session_id = request.cookies.get(SESSION_COOKIE) if who and who.via == "session" else None
    return JSONResponse(_me(who, session_id))
