"""The project-local PostgreSQL + PostGIS cluster.

Its data directory is ``var/pg/data`` inside the project (git-ignored). PostgreSQL refuses
to run as root, so when invoked as root the server runs as the ``postgres`` user and the
directory is handed to it; as any other user it runs as that user. It listens on
127.0.0.1 only, on its own port, with no Unix socket, and password authentication (the
password is generated at first start and kept in ``var/db-password``, mode 600).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from api.settings import DatabaseSettings

SERVER_USER_WHEN_ROOT = "postgres"

CONFIG = """
# written by landplan db up
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 256MB
max_connections = 200
# JIT compiles costly plans (tiles at low zoom) for ~40 ms each time: a loss for a tile
# and feature server whose queries take milliseconds.
jit = off
logging_collector = off
# A query whose client has gone (a killed import) ends within seconds, not minutes.
client_connection_check_interval = 2s
"""


class ClusterError(RuntimeError):
    """The local cluster could not be set up, started or stopped."""


@dataclass(frozen=True)
class Cluster:
    settings: DatabaseSettings

    @property
    def root(self) -> Path:
        """``var/pg`` in the project, unless the server user cannot reach it (a project
        under a private home folder, run as root): then a folder of that user's own."""
        inside = self.settings.state_dir / "pg"
        if not self.server_user or self._server_user_can_enter(self.settings.state_dir):
            return inside
        digest = hashlib.sha1(str(inside).encode()).hexdigest()[:12]
        home = Path(pwd.getpwnam(self.server_user).pw_dir)
        return home / "landplan" / digest

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def server_user(self) -> str | None:
        """Who the server runs as: ``postgres`` under root, else the caller (None)."""
        return SERVER_USER_WHEN_ROOT if os.geteuid() == 0 else None

    def _cmd(self, program: str, *args: str) -> list[str]:
        binary = str(self.settings.pg_bin / program)
        if self.server_user:
            return ["runuser", "-u", self.server_user, "--", binary, *args]
        return [binary, *args]

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            self._cmd(program, *args), capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise ClusterError(
                f"{program} failed ({result.returncode}): {result.stderr.strip() or result.stdout}"
            )
        return result

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def init(self) -> None:
        if not (self.settings.pg_bin / "initdb").exists():
            raise ClusterError(
                f"PostgreSQL binaries not found in {self.settings.pg_bin}; run `make setup` "
                "(installs postgresql-15 and postgresql-15-postgis-3)"
            )
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        password = self._password()
        pwfile = self.root / "initdb-password"
        pwfile.write_text(password + "\n")
        self._hand_over(self.root)
        try:
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.settings.user,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        # A copy beside the data, so a cluster kept outside the project (see ``root``)
        # still has its password when the project folder is cloned again.
        kept = self.root / "password"
        kept.write_text(password + "\n")
        kept.chmod(0o600)
        self._hand_over(self.root)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(CONFIG.format(port=self.settings.port))

    def start(self) -> None:
        kept = self.root / "password"
        if not self.settings.password_file.exists() and kept.exists():
            self.settings.password_file.parent.mkdir(parents=True, exist_ok=True)
            self.settings.password_file.touch(mode=0o600)
            self.settings.password_file.write_text(kept.read_text())
        if self.is_running():
            return
        if not self.is_initialised():
            self.init()
        if _port_in_use(self.settings.host, self.settings.port):
            raise ClusterError(
                f"port {self.settings.port} is taken by another server; set "
                "LANDPLAN_DB_PORT to a free port, or DATABASE_URL to use that server"
            )
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "120",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
        )

    def stop(self) -> bool:
        if not self.is_running():
            return False
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))
        return True

    def _password(self) -> str:
        path = self.settings.password_file
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(24)
        path.touch(mode=0o600)
        path.write_text(password + "\n")
        return password

    def _hand_over(self, path: Path) -> None:
        """Give the cluster's directory to the server user (only when running as root)."""
        if not self.server_user:
            return
        user = pwd.getpwnam(self.server_user)
        for item in [path, *path.rglob("*")]:
            os.chown(item, user.pw_uid, user.pw_gid)
        path.chmod(0o700)

    def _server_user_can_enter(self, path: Path) -> bool:
        path.mkdir(parents=True, exist_ok=True)
        probe = subprocess.run(
            ["runuser", "-u", str(self.server_user), "--", "test", "-x", str(path)], check=False
        )
        return probe.returncode == 0


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def ensure_database(settings: DatabaseSettings, name: str | None = None) -> None:
    """Create the database if it does not exist (needs CREATEDB on external servers)."""
    name = name or settings.name
    with _admin_connection(settings) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(settings: DatabaseSettings, name: str) -> None:
    with _admin_connection(settings) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _admin_connection(settings: DatabaseSettings) -> psycopg.Connection:
    return psycopg.connect(settings.libpq_url(database="postgres"), autocommit=True)
