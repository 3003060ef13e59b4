"""Staff accounts, their roles and units, bearer tokens and sign-in sessions.

Accounts are personal data and live in the ``private`` schema. Passwords are kept as
Argon2id hashes (pwdlib); tokens and session ids are 256-bit random strings kept as their
SHA-256, which is enough for secrets that were never guessable (a password is, hence
Argon2). The functions take a synchronous connection: the CLI calls them directly, the
API through ``AsyncConnection.run_sync``; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Connection,
    DateTime,
    ForeignKey,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from layers.admin_units import AdminUnit
from layers.base import Base, one_of

#: What each role is for (docs/staff.md has the whole table of what it may do).
ROLES = {
    "planner": "planning projects, plan zones, development areas",
    "cadastral": "parcels, holders, certificates",
    "land_fund": "auction lots",
    "admin": "accounts and everything",
}

#: Actors that are not accounts: the command line acting with the database's
#: credentials, and the deployment's admin token.
CLI_ACTOR = "cli"
ADMIN_TOKEN_ACTOR = "admin-token"

NAME_PATTERN = "^[a-z0-9][a-z0-9._-]{0,62}$"


class Account(Base):
    __tablename__ = "staff_accounts"
    __table_args__ = (
        one_of("role", tuple(ROLES), "role_known"),
        {"schema": "private"},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(Text)
    units: Mapped[list[str]] = mapped_column(ARRAY(String(5)), server_default=text("'{}'"))
    password_hash: Mapped[str] = mapped_column(Text)
    totp_secret: Mapped[str | None] = mapped_column(Text)
    #: The time step of the last TOTP code accepted: a code is good once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Token(Base):
    __tablename__ = "staff_tokens"
    __table_args__ = {"schema": "private"}

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("private.staff_accounts.id", ondelete="CASCADE")
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Session(Base):
    __tablename__ = "staff_sessions"
    __table_args__ = {"schema": "private"}

    id_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("private.staff_accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


ACCOUNTS: Table = Account.__table__
TOKENS: Table = Token.__table__
SESSIONS: Table = Session.__table__


class AccountError(ValueError):
    """A request about accounts that cannot be done (unknown name, unit, role)."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: an account (through a token or a session), or a built-in actor."""

    name: str
    role: str
    units: tuple[str, ...] = ()
    account_id: int | None = None
    #: "token", "session", "admin-token" or "cli".
    via: str = "token"
    #: Whether the account has a TOTP second factor (a session then needed it).
    totp: bool = False


CLI = Principal(CLI_ACTOR, "admin", via="cli")

_hasher = PasswordHash((Argon2Hasher(),))


@cache
def _dummy_hash() -> str:
    """Verified against when a name is unknown, so that an unknown name takes as long to
    refuse as a wrong password (no account enumeration by timing)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password: str, hashed: str | None) -> bool:
    return _hasher.verify(password, hashed or _dummy_hash()) and hashed is not None


def new_secret(prefix: str) -> str:
    """A random credential: 32 bytes, URL-safe, with a prefix that says what it is (so a
    leaked one is recognised by secret scanners and people)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def principal_of(row, via: str) -> Principal:
    """An account row (id, name, role, units, totp_secret) as the principal it signs in as."""
    return Principal(
        row.name, row.role, tuple(row.units), row.id, via, totp=row.totp_secret is not None
    )


def check_units(conn: Connection, units: list[str]) -> None:
    """Refuse codes that are not current units (an account is limited to today's units;
    the pre-2025 units merged into them come with them)."""
    table = AdminUnit.__table__
    current = set(conn.scalars(select(table.c.code).where(_current(units))))
    unknown = sorted(set(units) - current)
    if unknown:
        raise AccountError(f"not a current administrative unit: {', '.join(unknown)}")


def add_account(
    conn: Connection, name: str, role: str, password: str, units: list[str] | None = None
) -> int:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if conn.scalar(select(ACCOUNTS.c.id).where(ACCOUNTS.c.name == name)) is not None:
        raise AccountError(f"an account {name!r} exists already")
    check_units(conn, units or [])
    return conn.execute(
        insert(ACCOUNTS)
        .values(name=name, role=role, units=units or [], password_hash=hash_password(password))
        .returning(ACCOUNTS.c.id)
    ).scalar_one()


def account_id(conn: Connection, name: str) -> int:
    found = conn.scalar(select(ACCOUNTS.c.id).where(ACCOUNTS.c.name == name))
    if found is None:
        raise AccountError(f"no account {name!r}")
    return found


def principal_named(conn: Connection, name: str) -> Principal:
    """The account ``name`` as a principal of the CLI (``--as NAME``)."""
    row = conn.execute(
        select(ACCOUNTS).where(ACCOUNTS.c.name == name, ACCOUNTS.c.disabled_at.is_(None))
    ).one_or_none()
    if row is None:
        raise AccountError(f"no enabled account {name!r}")
    return principal_of(row, "cli")


def list_accounts(conn: Connection) -> list:
    return list(
        conn.execute(
            select(
                ACCOUNTS.c.name,
                ACCOUNTS.c.role,
                ACCOUNTS.c.units,
                ACCOUNTS.c.created_at,
                ACCOUNTS.c.disabled_at,
                (ACCOUNTS.c.totp_secret.is_not(None)).label("totp"),
            ).order_by(ACCOUNTS.c.name)
        )
    )


def disable_account(conn: Connection, name: str) -> None:
    """Disable an account and end its sessions and tokens at once."""
    found = account_id(conn, name)
    conn.execute(
        update(ACCOUNTS)
        .where(ACCOUNTS.c.id == found, ACCOUNTS.c.disabled_at.is_(None))
        .values(disabled_at=func.now())
    )
    conn.execute(delete(SESSIONS).where(SESSIONS.c.account_id == found))
    conn.execute(
        update(TOKENS)
        .where(TOKENS.c.account_id == found, TOKENS.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


def set_password(conn: Connection, name: str, password: str) -> None:
    """A new password; the account's sessions end (whoever knew the old one is out)."""
    found = account_id(conn, name)
    conn.execute(
        update(ACCOUNTS).where(ACCOUNTS.c.id == found).values(password_hash=hash_password(password))
    )
    conn.execute(delete(SESSIONS).where(SESSIONS.c.account_id == found))


def set_totp(conn: Connection, name: str, secret: str | None) -> None:
    found = account_id(conn, name)
    conn.execute(
        update(ACCOUNTS)
        .where(ACCOUNTS.c.id == found)
        .values(totp_secret=secret, totp_last_step=None)
    )


def use_totp_step(conn: Connection, account: int, step: int) -> bool:
    """Record that the account signed in with the TOTP code of ``step``; False when a
    code of that step or a later one was used already (a code works once)."""
    used = conn.execute(
        update(ACCOUNTS)
        .where(
            ACCOUNTS.c.id == account,
            or_(ACCOUNTS.c.totp_last_step.is_(None), ACCOUNTS.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .returning(ACCOUNTS.c.id)
    ).first()
    return used is not None


def create_token(conn: Connection, name: str, lifetime: timedelta) -> tuple[int, str]:
    """A new bearer token for the account: (its id, the token). Only the hash is kept."""
    found = account_id(conn, name)
    if conn.scalar(select(ACCOUNTS.c.disabled_at).where(ACCOUNTS.c.id == found)) is not None:
        raise AccountError(f"{name} is disabled")
    secret = new_secret("lpt")
    token_id = conn.execute(
        insert(TOKENS)
        .values(
            account_id=found,
            token_hash=digest(secret),
            expires_at=func.now() + lifetime,
        )
        .returning(TOKENS.c.id)
    ).scalar_one()
    return token_id, secret


def list_tokens(conn: Connection, name: str | None = None) -> list:
    query = (
        select(
            TOKENS.c.id,
            ACCOUNTS.c.name,
            TOKENS.c.created_at,
            TOKENS.c.expires_at,
            TOKENS.c.revoked_at,
            TOKENS.c.last_used_at,
        )
        .join(ACCOUNTS, ACCOUNTS.c.id == TOKENS.c.account_id)
        .order_by(TOKENS.c.id)
    )
    if name is not None:
        query = query.where(ACCOUNTS.c.name == name)
    return list(conn.execute(query))


def revoke_token(conn: Connection, token: str) -> int:
    """Revoke a token given by its id (``token list``) or by the token itself."""
    which = TOKENS.c.id == int(token) if token.isdigit() else TOKENS.c.token_hash == digest(token)
    found = conn.execute(
        update(TOKENS)
        .where(which, TOKENS.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(TOKENS.c.id)
    ).scalar_one_or_none()
    if found is None:
        raise AccountError("no such token, or revoked already")
    return found


def _enabled() -> ColumnElement[bool]:
    return ACCOUNTS.c.disabled_at.is_(None)


#: How stale a token's ``last_used_at`` or a session's ``last_seen_at`` may get before a
#: request writes it again: a write (and a commit) per request would cost more than
#: the request (docs/benchmarks.md, "editing").
TOUCH_EVERY = timedelta(minutes=1)


def _stale(column: ColumnElement[Any]) -> ColumnElement[bool]:
    return or_(column.is_(None), column < func.now() - TOUCH_EVERY)


def _account_columns() -> tuple[ColumnElement[Any], ...]:
    return (
        ACCOUNTS.c.id,
        ACCOUNTS.c.name,
        ACCOUNTS.c.role,
        ACCOUNTS.c.units,
        ACCOUNTS.c.totp_secret,
    )


def principal_for_token(conn: Connection, secret: str) -> Principal | None:
    row = conn.execute(
        select(
            *_account_columns(),
            TOKENS.c.id.label("token_id"),
            _stale(TOKENS.c.last_used_at).label("stale"),
        )
        .join(ACCOUNTS, ACCOUNTS.c.id == TOKENS.c.account_id)
        .where(
            TOKENS.c.token_hash == digest(secret),
            TOKENS.c.revoked_at.is_(None),
            TOKENS.c.expires_at > func.now(),
            _enabled(),
        )
    ).one_or_none()
    if row is None:
        return None
    if row.stale:
        conn.execute(
            update(TOKENS).where(TOKENS.c.id == row.token_id).values(last_used_at=func.now())
        )
    return principal_of(row, "token")


def account_for_login(conn: Connection, name: str):
    """The enabled account ``name`` with its password hash and TOTP secret, or None."""
    return conn.execute(select(ACCOUNTS).where(ACCOUNTS.c.name == name, _enabled())).one_or_none()


def open_session(conn: Connection, account: int, absolute: timedelta) -> str:
    """A new session for the account; returns its id (the cookie's value)."""
    session_id = new_secret("lps")
    conn.execute(
        insert(SESSIONS).values(
            id_hash=digest(session_id), account_id=account, expires_at=func.now() + absolute
        )
    )
    return session_id


def principal_for_session(conn: Connection, session_id: str, idle: timedelta) -> Principal | None:
    """The session's account, if the session is neither idle too long nor past its
    absolute end; marks it seen (at most once a minute)."""
    hashed = digest(session_id)
    row = conn.execute(
        select(*_account_columns(), _stale(SESSIONS.c.last_seen_at).label("stale"))
        .join(ACCOUNTS, ACCOUNTS.c.id == SESSIONS.c.account_id)
        .where(
            SESSIONS.c.id_hash == hashed,
            SESSIONS.c.expires_at > func.now(),
            SESSIONS.c.last_seen_at > func.now() - idle,
            _enabled(),
        )
    ).one_or_none()
    if row is None:
        return None
    if row.stale:
        conn.execute(
            update(SESSIONS).where(SESSIONS.c.id_hash == hashed).values(last_seen_at=func.now())
        )
    return principal_of(row, "session")


def close_session(conn: Connection, session_id: str) -> None:
    conn.execute(delete(SESSIONS).where(SESSIONS.c.id_hash == digest(session_id)))
    # Sessions past their end are swept on the way: nothing else needs them.
    conn.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < func.now()))


def units_covered(units: tuple[str, ...]):
    """The unit codes an account limited to ``units`` covers: those units and the
    pre-2025 units merged into them (records made before the reform carry old codes)."""
    table = AdminUnit.__table__
    current = select(table.c.id).where(_current(units))
    return select(table.c.code).where(
        or_(table.c.id.in_(current), table.c.merged_into_id.in_(current))
    )


def in_units(rows: Table, units: tuple[str, ...]) -> ColumnElement[bool]:
    """Whether a row of ``rows`` (a layer's table, or an import's staging table) lies in
    ``units``: a parcel by its unit code, the pre-2025 units merged into them counting;
    any other feature by a point on its surface (``geom``, VN-2000)."""
    if "unit_code" in rows.c:
        return rows.c.unit_code.in_(units_covered(units))
    point = func.ST_PointOnSurface(rows.c.geom)
    return func.coalesce(func.ST_Intersects(point, units_area(units)), False)


def units_area(units: tuple[str, ...]):
    """The area of the current units ``units``, as one geometry (VN-2000)."""
    table = AdminUnit.__table__
    return select(func.ST_Union(table.c.geom)).where(_current(units)).scalar_subquery()


def _current(units: tuple[str, ...] | list[str]) -> ColumnElement[bool]:
    """The administrative units of these codes in force today (a code can name an old
    unit too: Thục Phán kept Hợp Giang's 01273)."""
    table = AdminUnit.__table__
    return and_(table.c.code.in_(units), table.c.valid_to.is_(None))
