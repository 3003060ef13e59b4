"""Signing in: the session cookie and its limits, CSRF, throttling, the second factor,
and revocation taking effect at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import create_engine, text

from api.settings import ServerSettings
from layers import accounts
from tests.servers import serve, settings_for
from tests.staff import PASSWORD

ME = "/staff/auth/me"
MERGE = "application/merge-patch+json"


@contextmanager
def _sign_in(api: str, name: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api, timeout=30) as client:
        response = client.post("/staff/auth/login", json={"name": name, "password": password})
        assert response.status_code == 200, response.text
        yield client


def _add(staff_database, name: str, role: str = "planner") -> None:
    engine = create_engine(staff_database[0])
    with engine.begin() as conn:
        accounts.add_account(conn, name, role, PASSWORD)
    engine.dispose()


def _sql(staff_database, statement: str, **values) -> None:
    engine = create_engine(staff_database[0])
    with engine.begin() as conn:
        conn.execute(text(statement), values)
    engine.dispose()


def test_a_visitor_is_told_it_is_not_signed_in(staff_api):
    response = httpx.get(f"{staff_api}{ME}")
    assert response.status_code == 200 and response.json() == {"signed_in": False}


def test_sign_in_sets_a_strict_cookie_for_staff_paths_only(staff_api, staff_database):
    _add(staff_database, "cookie-check")
    response = httpx.post(
        f"{staff_api}/staff/auth/login", json={"name": "cookie-check", "password": PASSWORD}
    )
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    for attribute in ("httponly", "samesite=strict", "path=/staff", "max-age="):
        assert attribute in cookie
    assert "secure" not in cookie  # the public URL is plain http here
    body = response.json()
    assert body["signed_in"] and body["role"] == "planner" and len(body["csrf_token"]) == 64
    assert "password" not in response.text


def test_the_cookie_is_secure_when_the_public_url_is_https(staff_database):
    _add(staff_database, "secure-check")
    server = ServerSettings(public_url="https://gis.caobang.example", allowed_hosts=["127.0.0.1"])
    url = staff_database[0].render_as_string(hide_password=False)
    for api in serve(settings_for(url, server)):
        response = httpx.post(
            f"{api}/staff/auth/login", json={"name": "secure-check", "password": PASSWORD}
        )
        assert "secure" in response.headers["set-cookie"].lower()


def test_the_session_reads_as_staff_under_staff_and_as_the_public_elsewhere(
    staff_api, staff_database
):
    _add(staff_database, "two-faces")
    with _sign_in(staff_api, "two-faces") as client:
        assert client.get(ME).json()["name"] == "two-faces"
        session = client.cookies["landplan_session"]
        staff_side = client.get("/staff/collections/planning_projects/items").json()
        # The browser would not send the cookie here (its Path); a client that does gets
        # the public's answer all the same.
        public = httpx.get(
            f"{staff_api}/collections/planning_projects/items",
            headers={"Cookie": f"landplan_session={session}"},
        )
        assert public.headers["cache-control"].startswith("public")
        assert public.json()["numberReturned"] < staff_side["numberReturned"]
        assert "notes" in staff_side["features"][0]["properties"]
        assert "notes" not in public.json()["features"][0]["properties"]


def test_a_change_with_the_cookie_needs_the_csrf_token(staff_api, staff_database):
    _add(staff_database, "csrf-check")
    with _sign_in(staff_api, "csrf-check") as client:
        path = "/staff/collections/plan_zones/items/400"  # Đề Thám: appraised, edited at once
        headers = {"Content-Type": MERGE, "If-Match": "*"}
        body = '{"properties": {"max_floors": 6}}'
        refused = client.patch(path, content=body, headers=headers)
        assert refused.status_code == 403
        token = client.get(ME).json()["csrf_token"]
        wrong = client.patch(path, content=body, headers={**headers, "X-CSRF-Token": "0" * 64})
        assert wrong.status_code == 403
        done = client.patch(path, content=body, headers={**headers, "X-CSRF-Token": token})
        assert done.status_code == 200, done.text


def test_logout_ends_the_session_at_once(staff_api, staff_database):
    _add(staff_database, "logout-check")
    with _sign_in(staff_api, "logout-check") as client:
        session = client.cookies["landplan_session"]
        assert client.post("/staff/auth/logout").status_code == 204
        again = httpx.get(f"{staff_api}{ME}", headers={"Cookie": f"landplan_session={session}"})
        assert again.json() == {"signed_in": False}


def test_disabling_an_account_ends_its_sessions_and_tokens(staff_api, staff_database):
    _add(staff_database, "leaver")
    engine = create_engine(staff_database[0])
    with engine.begin() as conn:
        _, token = accounts.create_token(conn, "leaver", timedelta(days=1))
    with _sign_in(staff_api, "leaver") as client:
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{staff_api}{ME}", headers=bearer).json()["signed_in"]
        with engine.begin() as conn:
            accounts.disable_account(conn, "leaver")
        assert client.get(ME).json() == {"signed_in": False}
        assert httpx.get(f"{staff_api}/staff/collections", headers=bearer).status_code == 401
        assert httpx.get(f"{staff_api}{ME}", headers=bearer).json() == {"signed_in": False}
        refused = client.post("/staff/auth/login", json={"name": "leaver", "password": PASSWORD})
        assert refused.status_code == 401
    engine.dispose()


@pytest.mark.parametrize(
    "expire",
    [
        "UPDATE private.staff_sessions SET last_seen_at = now() - interval '31 minutes'",
        "UPDATE private.staff_sessions SET expires_at = now() - interval '1 second'",
    ],
    ids=["idle", "absolute"],
)
def test_a_session_expires_when_idle_and_at_its_end(staff_api, staff_database, expire):
    name = f"expiry-{len(expire)}"
    _add(staff_database, name)
    with _sign_in(staff_api, name) as client:
        assert client.get(ME).json()["signed_in"]
        where = " WHERE account_id = (SELECT id FROM private.staff_accounts WHERE name = :name)"
        _sql(staff_database, expire + where, name=name)
        assert client.get(ME).json() == {"signed_in": False}


def test_an_expired_or_revoked_token_is_refused(staff_api, staff_database):
    _add(staff_database, "token-check")
    engine = create_engine(staff_database[0])
    with engine.begin() as conn:
        token_id, token = accounts.create_token(conn, "token-check", timedelta(days=1))
        expired_id, expired = accounts.create_token(conn, "token-check", timedelta(hours=1))
        conn.execute(
            text(
                "UPDATE private.staff_tokens SET expires_at = now() - interval '1 s' WHERE id = :i"
            ),
            {"i": expired_id},
        )

    def me(secret: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {secret}"}
        return httpx.get(f"{staff_api}/staff/collections", headers=headers)

    assert me(token).status_code == 200
    assert me(expired).status_code == 401
    with engine.begin() as conn:
        accounts.revoke_token(conn, str(token_id))
    assert me(token).status_code == 401
    engine.dispose()


def test_tokens_and_sessions_are_stored_hashed(staff_database, staff):
    engine = create_engine(staff_database[0])
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM private.staff_tokens")).scalars().all()
        hashes = conn.execute(text("SELECT password_hash FROM private.staff_accounts")).scalars()
        assert all(h.startswith("$argon2id$") for h in hashes)
    engine.dispose()
    for token in staff.tokens.values():
        assert token.encode() not in b"".join(stored)
        assert accounts.digest(token) in stored


def test_failed_sign_ins_are_throttled_per_account_and_per_client(staff_database):
    _add(staff_database, "target")
    server = ServerSettings(login_attempts_per_account=3, login_attempts_per_client=5)
    url = staff_database[0].render_as_string(hide_password=False)
    for api in serve(settings_for(url, server)):
        login = f"{api}/staff/auth/login"
        for _ in range(3):
            assert (
                httpx.post(login, json={"name": "target", "password": "wrong"}).status_code == 401
            )
        # The right password too waits now: the account is closed for a while.
        closed = httpx.post(login, json={"name": "target", "password": PASSWORD})
        assert closed.status_code == 429 and int(closed.headers["Retry-After"]) > 0
        assert closed.headers["content-type"] == "application/problem+json"
        # Other accounts from the same client: two more failures, then the client waits.
        for _ in range(2):
            assert httpx.post(login, json={"name": "other", "password": "x"}).status_code == 401
        assert httpx.post(login, json={"name": "another", "password": "x"}).status_code == 429


def test_a_totp_second_factor(staff_database):
    engine = create_engine(staff_database[0])
    secret = pyotp.random_base32()
    with engine.begin() as conn:
        accounts.add_account(conn, "admin-2fa", "admin", PASSWORD)
        accounts.add_account(conn, "admin-plain", "admin", PASSWORD)
        accounts.set_totp(conn, "admin-2fa", secret)
    engine.dispose()
    server = ServerSettings(admin_requires_totp=True)
    url = staff_database[0].render_as_string(hide_password=False)
    for api in serve(settings_for(url, server)):
        login = f"{api}/staff/auth/login"
        without = httpx.post(login, json={"name": "admin-2fa", "password": PASSWORD})
        assert without.status_code == 401
        wrong = httpx.post(login, json={"name": "admin-2fa", "password": PASSWORD, "otp": "000000"})
        assert wrong.status_code == 401
        code = pyotp.TOTP(secret).now()
        good = httpx.post(login, json={"name": "admin-2fa", "password": PASSWORD, "otp": code})
        assert good.status_code == 200
        # An admin without a second factor may not sign in when the setting asks for one.
        plain = httpx.post(login, json={"name": "admin-plain", "password": PASSWORD})
        assert plain.status_code == 401


def test_a_bad_sign_in_body_is_a_400_or_415(staff_api):
    assert httpx.post(f"{staff_api}/staff/auth/login", json={"name": "x"}).status_code == 400
    response = httpx.post(f"{staff_api}/staff/auth/login", content=b"name=x&password=y")
    assert response.status_code == 415


def test_a_burst_of_guesses_is_throttled_as_a_sequence(staff_database):
    from concurrent.futures import ThreadPoolExecutor

    _add(staff_database, "burst-target")
    server = ServerSettings(login_attempts_per_account=3)
    url = staff_database[0].render_as_string(hide_password=False)
    for api in serve(settings_for(url, server)):

        def guess(i: int, api: str = api) -> int:
            body = {"name": "burst-target", "password": f"guess {i}"}
            return httpx.post(f"{api}/staff/auth/login", json=body, timeout=60).status_code

        with ThreadPoolExecutor(10) as pool:
            statuses = list(pool.map(guess, range(10)))
        assert statuses.count(401) <= 3 and statuses.count(429) >= 7


def test_a_totp_code_works_once(staff_database):
    engine = create_engine(staff_database[0])
    secret = pyotp.random_base32()
    with engine.begin() as conn:
        accounts.add_account(conn, "once-2fa", "planner", PASSWORD)
        accounts.set_totp(conn, "once-2fa", secret)
    engine.dispose()
    url = staff_database[0].render_as_string(hide_password=False)
    for api in serve(settings_for(url)):
        body = {"name": "once-2fa", "password": PASSWORD, "otp": pyotp.TOTP(secret).now()}
        first = httpx.post(f"{api}/staff/auth/login", json=body)
        assert first.status_code == 200
        assert first.headers["cache-control"] == "no-store"
        assert httpx.post(f"{api}/staff/auth/login", json=body).status_code == 401


@pytest.mark.parametrize("name", ["a\u0000b", "\ud800", "Ünïcode", "x" * 100])
def test_a_name_that_cannot_be_an_account_is_a_400(staff_api, name):
    body = json.dumps({"name": name, "password": "x"})  # \u escapes, as JSON allows
    response = httpx.post(
        f"{staff_api}/staff/auth/login",
        content=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text


def test_me_never_refuses(staff_api):
    for headers in (
        {"Authorization": "Bearer lpt_not-a-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Cookie": "landplan_session=lps_ended"},
    ):
        response = httpx.get(f"{staff_api}{ME}", headers=headers)
        assert response.status_code == 200 and response.json() == {"signed_in": False}


def test_signing_in_again_ends_the_previous_session(staff_api, staff_database):
    _add(staff_database, "twice")
    with _sign_in(staff_api, "twice") as client:
        first = client.cookies["landplan_session"]
        again = client.post("/staff/auth/login", json={"name": "twice", "password": PASSWORD})
        assert again.status_code == 200
        old = httpx.get(f"{staff_api}{ME}", headers={"Cookie": f"landplan_session={first}"})
        assert old.json() == {"signed_in": False}
        assert client.get(ME).json()["name"] == "twice"


def test_no_token_for_a_disabled_account(staff_database):
    _add(staff_database, "gone")
    engine = create_engine(staff_database[0])
    with engine.begin() as conn:
        accounts.disable_account(conn, "gone")
        with pytest.raises(accounts.AccountError, match="disabled"):
            accounts.create_token(conn, "gone", timedelta(days=1))
    engine.dispose()


def test_me_prefers_a_good_session_to_a_bad_token(staff_api, staff_database):
    _add(staff_database, "both-ways")
    with _sign_in(staff_api, "both-ways") as client:
        response = client.get(ME, headers={"Authorization": "Bearer lpt_revoked-long-ago"})
        assert response.json()["name"] == "both-ways"


def test_a_code_that_is_not_digits_is_a_400(staff_api):
    body = {"name": "anyone", "password": PASSWORD, "otp": "１２３４５６"}
    assert httpx.post(f"{staff_api}/staff/auth/login", json=body).status_code == 400


def test_the_gate_s_refusals_carry_cors_headers(staff_database):
    url = staff_database[0].render_as_string(hide_password=False)
    server = ServerSettings(cors_origins=["https://portal.example"])
    for api in serve(settings_for(url, server)):
        origin = {"Origin": "https://portal.example"}
        refused = httpx.post(f"{api}/collections/plan_zones/items", headers=origin)
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == "https://portal.example"
        preflight = httpx.options(
            f"{api}/collections",
            headers={**origin, "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 200
        slash = httpx.get(f"{api}/collections/", follow_redirects=False)
        assert slash.status_code == 307 and slash.headers["location"].endswith("/collections")
