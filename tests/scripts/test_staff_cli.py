"""``landplan user`` and ``landplan token`` as an administrator runs them, and imports
that say who and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from layers import accounts
from tests.cli import run
from tests.layers.importfiles import parcels, write_shapefile

PASSWORD = "a long staff password"


@pytest.fixture
def env(import_database_url) -> dict[str, str]:
    return {"DATABASE_URL": import_database_url.render_as_string(hide_password=False)}


@pytest.fixture
def engine(import_database_url):
    engine = create_engine(import_database_url)
    yield engine
    engine.dispose()


def _listed(env) -> dict[str, list[str]]:
    result = run("user", "list", env=env)
    assert result.returncode == 0, result.stderr
    return {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}


def test_user_add_takes_the_password_from_standard_input(env, engine):
    added = run(
        "user",
        "add",
        "cli-planner",
        "--role",
        "planner",
        "--unit",
        "01273",
        env=env,
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout + added.stderr
    assert _listed(env)["cli-planner"][1:3] == ["planner", "01273"]
    with engine.connect() as conn:
        row = accounts.account_for_login(conn, "cli-planner")
    assert accounts.password_matches(PASSWORD, row.password_hash)
    again = run("user", "add", "cli-planner", "--role", "planner", env=env, input=PASSWORD)
    assert again.returncode == 1 and "exists already" in again.stderr


@pytest.mark.parametrize(
    ("arguments", "given", "message"),
    [
        (("--role", "planner"), f"{PASSWORD}\nsomething else\n", "differ"),
        (("--role", "planner"), "short\n", "at least"),
        (("--role", "mayor"), f"{PASSWORD}\n", "unknown role"),
        (("--role", "planner", "--unit", "99999"), f"{PASSWORD}\n", "not a current"),
    ],
)
def test_user_add_refuses(env, arguments, given, message):
    result = run("user", "add", "cli-refused", *arguments, env=env, input=given)
    assert result.returncode == 1 and message in result.stderr
    assert "cli-refused" not in _listed(env)


def test_a_password_is_never_an_argument(env):
    result = run("user", "add", "cli-arg", "--role", "planner", PASSWORD, env=env, input="")
    assert result.returncode == 2
    assert "cli-arg" not in _listed(env)


def test_tokens_created_printed_last_and_revoked(env, engine):
    run("user", "add", "cli-tokens", "--role", "cadastral", env=env, input=PASSWORD)
    created = run("token", "create", "cli-tokens", "--expires", "12h", env=env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.splitlines()[-1]
    assert token.startswith("lpt_") and " " not in token
    with engine.begin() as conn:
        who = accounts.principal_for_token(conn, token)
        expires = conn.execute(
            text("SELECT expires_at FROM private.staff_tokens WHERE token_hash = :h"),
            {"h": accounts.digest(token)},
        ).scalar_one()
    assert who is not None and who.role == "cadastral"
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=12))) < timedelta(minutes=5)
    default = run("token", "create", "cli-tokens", env=env).stdout.splitlines()[-1]
    listed = run("token", "list", "cli-tokens", env=env).stdout
    assert token not in listed and len(listed.splitlines()) == 2
    token_id = listed.splitlines()[0].split("\t")[0]
    assert run("token", "revoke", token_id, env=env).returncode == 0
    assert run("token", "revoke", default, env=env).returncode == 0  # by the token itself
    with engine.begin() as conn:
        assert accounts.principal_for_token(conn, token) is None
        assert accounts.principal_for_token(conn, default) is None
    assert run("token", "revoke", token_id, env=env).returncode == 1


def test_disable_and_set_password(env, engine):
    run("user", "add", "cli-leaver", "--role", "land_fund", env=env, input=PASSWORD)
    token = run("token", "create", "cli-leaver", env=env).stdout.splitlines()[-1]
    changed = run("user", "set-password", "cli-leaver", env=env, input="another long password")
    assert changed.returncode == 0
    with engine.connect() as conn:
        row = accounts.account_for_login(conn, "cli-leaver")
    assert accounts.password_matches("another long password", row.password_hash)
    assert run("user", "disable", "cli-leaver", env=env).returncode == 0
    assert _listed(env)["cli-leaver"][-1].startswith("disabled")
    with engine.begin() as conn:
        assert accounts.principal_for_token(conn, token) is None
        assert accounts.account_for_login(conn, "cli-leaver") is None
    assert run("user", "disable", "nobody-at-all", env=env).returncode == 1


def test_totp_prints_a_provisioning_uri(env):
    run("user", "add", "cli-2fa", "--role", "admin", env=env, input=PASSWORD)
    result = run("user", "totp", "cli-2fa", env=env)
    assert result.returncode == 0 and result.stdout.startswith("otpauth://totp/landplan:cli-2fa")
    assert _listed(env)["cli-2fa"][3] == "totp"


@pytest.mark.parametrize(
    "command",
    [
        ("user", "add"),
        ("user", "list"),
        ("user", "disable"),
        ("user", "set-password"),
        ("user", "totp"),
        ("token", "create"),
        ("token", "list"),
        ("token", "revoke"),
    ],
)
def test_every_command_has_help(command):
    result = run(*command, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def _last_import(engine):
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT actor, via, reason FROM private.edits WHERE layer = 'parcels' "
                "AND operation = 'insert' ORDER BY id DESC LIMIT 1"
            )
        ).one()


def test_an_import_says_who_and_why(db, env, engine, tmp_path):
    path = write_shapefile(parcels(), tmp_path / "thua.shp", "tcvn3")
    report = str(tmp_path / "report")
    first = run("import", str(path), "--layer", "parcels", "--report-dir", report, env=env)
    assert first.returncode == 0, first.stderr
    assert tuple(_last_import(engine)) == ("cli", "import", "import of thua.shp")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM parcels"))
    run("user", "add", "cli-importer", "--role", "cadastral", env=env, input=PASSWORD)
    second = run(
        "import",
        str(path),
        "--layer",
        "parcels",
        "--report-dir",
        report,
        "--as",
        "cli-importer",
        "--reason",
        "Đo đạc lại tờ 17",
        env=env,
    )
    assert second.returncode == 0, second.stderr
    assert tuple(_last_import(engine)) == ("cli-importer", "import", "Đo đạc lại tờ 17")
    unknown = run("import", str(path), "--layer", "parcels", "--as", "nobody", env=env)
    assert unknown.returncode == 1 and "no enabled account" in unknown.stderr


def test_user_add_prompts_twice_on_a_terminal(env, engine):
    """On a terminal the password is asked for, hidden, and confirmed."""
    import os
    import pty
    import select
    import time

    from tests.cli import LANDPLAN

    pid, fd = pty.fork()
    if pid == 0:  # the child: landplan on the pseudo-terminal
        arguments = [LANDPLAN, "user", "add", "cli-tty", "--role", "planner"]
        os.execve(LANDPLAN, arguments, {**os.environ, **env})

    def read_until(marker: bytes, seconds: float = 30) -> bytes:
        got, deadline = b"", time.monotonic() + seconds
        while marker not in got and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:  # the child has exited
                    break
                if not chunk:
                    break
                got += chunk
        return got

    # click writes "Password:" and then getpass(" ") writes the space once it has turned
    # echo off and flushed the terminal's input: what comes before the space is lost.
    seen = read_until(b"Password: ")
    os.write(fd, PASSWORD.encode() + b"\n")
    seen += read_until(b"confirmation: ")
    os.write(fd, PASSWORD.encode() + b"\n")
    seen += read_until(b"Added")
    if b"Added" not in seen:  # never wait for a child that waits for us
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"Added cli-tty" in seen and PASSWORD.encode() not in seen  # never echoed
    with engine.connect() as conn:
        row = accounts.account_for_login(conn, "cli-tty")
    assert accounts.password_matches(PASSWORD, row.password_hash)
