"""Settings, split by concern, read from the environment (and ``.env``).

Nothing here is built at import time: :func:`get_settings` is the cached getter, and
``create_app`` takes a ``Settings`` so tests can pass their own.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DatabaseSettings(BaseSettings):
    """Where the database is. With ``DATABASE_URL`` set, that server is used as it is;
    otherwise the project-local cluster (``landplan db up``) on ``port``."""

    model_config = SettingsConfigDict(
        env_prefix="LANDPLAN_DB_", env_file=".env", extra="ignore", populate_by_name=True
    )

    url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "LANDPLAN_DB_URL")
    )
    host: str = "127.0.0.1"
    port: int = 55432
    name: str = "landplan"
    user: str = "landplan"
    state_dir: Path = PROJECT_ROOT / "var"
    pg_bin: Path = Path("/usr/lib/postgresql/15/bin")
    pool_size: int = 10
    #: Seconds a request waits for a pooled connection before a 503 (Retry-After): a
    #: longer wait means the server is overloaded or the database is down, and a quick
    #: 503 then serves clients better than a hung request.
    pool_timeout: float = 0.5

    @property
    def external(self) -> bool:
        """True when ``DATABASE_URL`` names a server the project does not manage."""
        return self.url is not None

    @property
    def password_file(self) -> Path:
        return self.state_dir / "db-password"

    def sqlalchemy_url(self, database: str | None = None) -> URL:
        """The URL for SQLAlchemy (psycopg 3 driver), optionally for another database."""
        if self.url is not None:
            url = make_url(self.url.get_secret_value())
            url = url.set(drivername="postgresql+psycopg")
        else:
            password = (
                self.password_file.read_text().strip() if self.password_file.exists() else None
            )
            url = URL.create(
                "postgresql+psycopg",
                username=self.user,
                password=password,
                host=self.host,
                port=self.port,
                database=self.name,
            )
        return url.set(database=database) if database else url

    def libpq_url(self, database: str | None = None) -> str:
        """The same server as a libpq connection string, for psycopg used directly."""
        url = self.sqlalchemy_url(database).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LANDPLAN_", env_file=".env", extra="ignore")

    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    #: Seconds clients and proxies may reuse items and tiles without asking (Cache-Control
    #: max-age). 0, the default: they revalidate every time (ETag, 304), so that a plan
    #: published or withdrawn shows on the next request.
    cache_max_age: int = 0
    #: Token for staff endpoints; no default, and a placeholder is refused outside
    #: development.
    admin_token: SecretStr | None = None
    #: Largest upload POST /imports accepts, in MiB (413 beyond).
    max_upload_mb: int = 512
    #: File downloads and pages over 1,000 features run at most this many at once
    #: (downloads in a worker process each); past it, 503 with Retry-After. Ordinary
    #: reads are not limited. One leaves a 2-core machine's other core to the map
    #: (docs/benchmarks.md, "contention"): raise it with the cores.
    heavy_concurrency: int = 1
    #: Host names (any port) requests may name in Host; others get a 400. None: this
    #: machine's names only (development). The host of ``public_url`` is always allowed.
    allowed_hosts: list[str] | None = None
    #: Addresses of reverse proxies whose X-Forwarded-* headers are believed; none by
    #: default (a client's own X-Forwarded-For would otherwise be taken for its address).
    trusted_proxies: list[str] = Field(default_factory=list)
    #: A staff session ends after this many minutes without a request, and in any case
    #: this many hours after sign-in.
    session_idle_minutes: int = 30
    session_hours: int = 12
    #: Failed sign-ins allowed per account, and per client address, in
    #: ``login_window_seconds``; past them, 429 with Retry-After.
    login_attempts_per_account: int = 5
    login_attempts_per_client: int = 20
    login_window_seconds: int = 900
    #: Accounts with the admin role must have a TOTP second factor to sign in.
    admin_requires_totp: bool = False
    #: PUT, PATCH and DELETE without If-Match: refused with 428 (true), or accepted and
    #: recorded as unconditional (false; stock QGIS sends no If-Match).
    require_if_match: bool = True

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> ServerSettings:
        token = self.admin_token.get_secret_value() if self.admin_token else None
        if self.env != "development" and token in {"change-me", "changeme", "secret", ""}:
            raise ValueError("LANDPLAN_ADMIN_TOKEN is a placeholder; set a real secret")
        if self.env != "development" and not self.public_url and self.allowed_hosts is None:
            raise ValueError(
                "outside development set LANDPLAN_PUBLIC_URL or LANDPLAN_ALLOWED_HOSTS: links "
                "in responses are absolute, and a request's Host cannot be trusted for them"
            )
        return self

    def hosts(self) -> frozenset[str]:
        """The host names (lower case, no port) this service answers to."""
        names = set(self.allowed_hosts if self.allowed_hosts is not None else LOCAL_HOSTS)
        if self.public_url:
            names.add(urlsplit(self.public_url).hostname or "")
        return frozenset(name.lower().strip("[]") for name in names if name)


#: Basemaps known by name; anything else containing ``{z}`` is a tile URL template.
BASEMAPS = {
    "osm": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    ),
}


class MapSettings(BaseSettings):
    """The public map (``GET /``, ``landplan publish-map``)."""

    model_config = SettingsConfigDict(env_prefix="LANDPLAN_MAP_", env_file=".env", extra="ignore")

    #: ``osm`` (OpenStreetMap's tiles), ``none`` (no basemap: offline), or a tile URL
    #: template with ``{z}``, ``{x}``, ``{y}``.
    basemap: str = "osm"
    basemap_attribution: str = ""
    #: Where the map opens: the centre of Cao Bằng city.
    center_lon: float = 106.2575
    center_lat: float = 22.6657
    zoom: int = 13

    @model_validator(mode="after")
    def _known_basemap(self) -> MapSettings:
        if self.basemap not in {*BASEMAPS, "none"} and "{z}" not in self.basemap:
            raise ValueError(
                f"LANDPLAN_MAP_BASEMAP={self.basemap!r}: use osm, none or a tile URL template"
            )
        return self

    def basemap_tiles(self) -> tuple[str, str] | None:
        """The basemap's URL template and attribution, or None for no basemap."""
        if self.basemap == "none":
            return None
        url, attribution = BASEMAPS.get(self.basemap, (self.basemap, ""))
        return url, self.basemap_attribution or attribution


class Settings:
    """All settings of one process."""

    def __init__(
        self,
        database: DatabaseSettings | None = None,
        server: ServerSettings | None = None,
        map: MapSettings | None = None,
    ):
        self.database = database or DatabaseSettings()
        self.server = server or ServerSettings()
        self.map = map or MapSettings()


@lru_cache
def get_settings() -> Settings:
    return Settings()
