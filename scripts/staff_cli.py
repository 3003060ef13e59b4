"""``landplan user …`` and ``landplan token …``: staff accounts and their tokens.

The command line acts with the database's credentials, as the built-in actor ``cli``:
no token is needed to create the first account. Passwords are never arguments (they
would stay in the shell's history and in ``ps``): a prompt, or standard input.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Any

import pyotp
import typer
from sqlalchemy import Connection, create_engine

from api.settings import get_settings
from layers import accounts
from layers.editing import context

user = typer.Typer(help="Staff accounts: add, list, disable, set a password.", no_args_is_help=True)
token = typer.Typer(help="Bearer tokens of staff accounts.", no_args_is_help=True)

MIN_PASSWORD = 10
LIFETIME = re.compile(r"([1-9][0-9]{0,4})([hdw])")
UNITS = {"h": "hours", "d": "days", "w": "weeks"}


@contextmanager
def _transaction() -> Iterator[Connection]:
    engine = create_engine(get_settings().database.sqlalchemy_url())
    try:
        with engine.begin() as conn:
            conn.execute(context(accounts.CLI_ACTOR, "cli", None))
            yield conn
    finally:
        engine.dispose()


def _run(work: Callable[[Connection], Any]) -> Any:
    try:
        with _transaction() as conn:
            return work(conn)
    except accounts.AccountError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def read_password() -> str:
    """From a prompt (twice), or, when standard input is not a terminal, its first line
    (and its second, if there is one, must match)."""
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        lines = sys.stdin.read().splitlines()
        password = lines[0] if lines else ""
        if len(lines) > 1 and lines[1] != password:
            typer.secho("the two passwords differ", fg=typer.colors.RED, err=True)
            raise typer.Exit(1)
    if len(password) < MIN_PASSWORD:
        typer.secho(
            f"a password has at least {MIN_PASSWORD} characters", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(1)
    return password


@user.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Account name: lower case, digits, . _ -")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(accounts.ROLES)}")],
    unit: Annotated[
        list[str] | None,
        typer.Option(help="Limit to a current unit (code; repeat for more)"),
    ] = None,
) -> None:
    """Add a staff account; the password comes from a prompt or standard input."""
    if not re.fullmatch(accounts.NAME_PATTERN.strip("^$"), name):
        typer.secho("a name is lower case letters, digits, . _ - (at most 63)", err=True)
        raise typer.Exit(1)
    password = read_password()
    _run(lambda conn: accounts.add_account(conn, name, role, password, unit or []))
    typer.echo(f"Added {name} ({role}{', units ' + ', '.join(unit) if unit else ''}).")


@user.command("list")
def user_list() -> None:
    """Every account, its role, units, second factor, and whether it is disabled."""
    for row in _run(accounts.list_accounts):
        state = f"disabled {row.disabled_at:%Y-%m-%d}" if row.disabled_at else "enabled"
        units = ",".join(row.units) or "all units"
        totp = "totp" if row.totp else "-"
        typer.echo(f"{row.name}\t{row.role}\t{units}\t{totp}\t{state}")


@user.command("disable")
def user_disable(name: str) -> None:
    """Disable an account: its sessions and tokens end at once."""
    _run(lambda conn: accounts.disable_account(conn, name))
    typer.echo(f"Disabled {name}; its sessions and tokens are revoked.")


@user.command("set-password")
def user_set_password(name: str) -> None:
    """A new password (prompt or standard input); the account's sessions end."""
    password = read_password()
    _run(lambda conn: accounts.set_password(conn, name, password))
    typer.echo(f"New password for {name}.")


@user.command("totp")
def user_totp(
    name: str,
    remove: Annotated[bool, typer.Option(help="Remove the second factor")] = False,
) -> None:
    """Give the account a TOTP second factor; prints the provisioning URI for an
    authenticator app (its secret is in it: show it to the account's owner only)."""
    secret = None if remove else pyotp.random_base32()
    _run(lambda conn: accounts.set_totp(conn, name, secret))
    if secret is None:
        typer.echo(f"{name} signs in with a password alone.")
        return
    typer.echo(pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name="landplan"))


def parse_lifetime(text: str) -> timedelta:
    match = LIFETIME.fullmatch(text.strip())
    if match is None:
        raise typer.BadParameter("a number and h, d or w: 12h, 90d, 2w")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


@token.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="The account the token acts for")],
    expires: Annotated[str, typer.Option(help="Lifetime: 12h, 90d, 2w")] = "90d",
) -> None:
    """A new bearer token, printed once, alone on the last line; only its hash is kept."""
    lifetime = parse_lifetime(expires)
    token_id, secret = _run(lambda conn: accounts.create_token(conn, name, lifetime))
    typer.echo(f"Token {token_id} for {name}, valid for {expires}:", err=True)
    typer.echo(secret)


@token.command("list")
def token_list(name: Annotated[str | None, typer.Argument()] = None) -> None:
    """Tokens (never their values): id, account, created, expires, revoked, last used."""
    for row in _run(lambda conn: accounts.list_tokens(conn, name)):
        revoked = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        typer.echo(
            f"{row.id}\t{row.name}\t{row.created_at:%Y-%m-%d}\t"
            f"expires {row.expires_at:%Y-%m-%d}\t{revoked}\t{used}"
        )


@token.command("revoke")
def token_revoke(
    which: Annotated[str, typer.Argument(help="The token's id (token list), or the token")],
) -> None:
    """Revoke a token at once."""
    found = _run(lambda conn: accounts.revoke_token(conn, which))
    typer.echo(f"Revoked token {found}.")
