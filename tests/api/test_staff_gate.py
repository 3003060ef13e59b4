"""No write without credentials, whoever and wherever the client is; no foreign Host.

Every operation of the OpenAPI document is tried as an anonymous client, with a wrong
token, with another scheme (no credential: anonymous) and with the admin token: staff
operations refuse all but the last with 401 before reading a byte of the body; a token
that is not valid is refused everywhere (but where a page asks who is signed in); public
ones never ask for credentials.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from api.settings import ServerSettings
from api.staff import rules
from scripts.localhost import free_port, serve_app
from tests.servers import settings_for
from tests.staff import PATH_EXAMPLES

TOKEN = "a-token-long-enough-for-the-staff-gate"
ROLES = {
    "anonymous": {},
    "wrong token": {"Authorization": "Bearer not-the-token"},
    "not a bearer": {"Authorization": f"Basic {TOKEN}"},
    "admin": {"Authorization": f"Bearer {TOKEN}"},
}
EXAMPLE_PATH = {"collection_id": "parcels", **PATH_EXAMPLES}


@pytest.fixture(scope="module")
def gated_api(database_url) -> Iterator[str]:
    server = ServerSettings(admin_token=SecretStr(TOKEN), max_upload_mb=1)
    settings = settings_for(database_url.render_as_string(hide_password=False), server)
    with serve_app(create_app(settings)) as url:
        yield url


def operations(base: str) -> list[tuple[str, str]]:
    document = httpx.get(f"{base}/openapi.json").json()
    found = []
    for template, methods in document["paths"].items():
        path = template
        for name, value in EXAMPLE_PATH.items():
            path = path.replace("{" + name + "}", value)
        found += [(method.upper(), path) for method in methods]
    return found


def test_every_operation_by_every_kind_of_client(gated_api):
    checked = 0
    for method, path in operations(gated_api):
        for role, headers in ROLES.items():
            response = httpx.request(method, f"{gated_api}{path}", headers=headers, timeout=60)
            # Another scheme is no credential: the caller is anonymous.
            refused = (role == "wrong token" and path != "/staff/auth/me") or (
                rules.decide(method, path, None).status and role != "admin"
            )
            if refused:  # a token that is not valid is refused on every route
                assert response.status_code == 401, (method, path, role)
                assert response.headers["content-type"] == "application/problem+json"
            else:
                assert response.status_code not in (401, 403), (method, path, role)
            assert response.status_code < 500, (method, path, role)
            checked += 1
    assert checked >= 4 * 19


def test_the_gate_holds_under_a_root_path(database_url):
    """Mounted under /api (uvicorn --root-path, a proxy stripping /api): the server's
    paths then begin with /api while the router matches /imports."""
    server = ServerSettings(admin_token=SecretStr(TOKEN))
    settings = settings_for(database_url.render_as_string(hide_password=False), server)
    with serve_app(create_app(settings), root_path="/api") as base:
        upload = {"files": {"files": ("a.zip", b"PK")}, "data": {"layer": "parcels"}}
        assert httpx.post(f"{base}/imports", **upload).status_code == 401
        assert httpx.get(f"{base}/imports/0123456789abcdef").status_code == 401
        staff = {"Authorization": f"Bearer {TOKEN}"}
        job = httpx.get(f"{base}/imports/0123456789abcdef", headers=staff)
        assert job.status_code == 404


def test_a_refused_upload_is_not_read(gated_api):
    """500 MB announced, 1 KB sent: the 401 comes at once and closes the connection."""
    host, port = gated_api.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /imports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: 524288000\r\n\r\n" + b"x" * 1024
        )
        started = time.monotonic()
        head = sock.recv(65536).split(b"\r\n\r\n")[0].lower()
        assert time.monotonic() - started < 2
    assert head.startswith(b"http/1.1 401") and b"connection: close" in head


class _Proxy:
    """A plain TCP proxy on this machine (what nginx's proxy_pass is to the API): the
    API sees every client as 127.0.0.1."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
            api_r, api_w = await asyncio.open_connection("127.0.0.1", self.target_port)
            await asyncio.gather(pipe(client_r, api_w), pipe(api_r, client_w))

        async def main() -> None:
            server = await asyncio.start_server(handle, "127.0.0.1", self.port)
            self.ready.set()
            async with server:
                await server.serve_forever()

        try:
            self.loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass  # stopped by __exit__
        finally:
            self.loop.close()

    def __enter__(self) -> _Proxy:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def cancel_all() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=5)
        self.thread.join(timeout=5)


def test_a_client_behind_a_proxy_on_this_machine_cannot_write(gated_api):
    api_port = int(gated_api.rsplit(":", 1)[1])
    # The client is another loopback address, as an internet client is to a proxy.
    transport = httpx.HTTPTransport(local_address="127.0.0.7")
    with _Proxy(api_port) as proxy, httpx.Client(transport=transport, timeout=30) as client:
        base = f"http://127.0.0.1:{proxy.port}"
        upload = {"files": {"files": ("a.zip", b"PK")}, "data": {"layer": "development_areas"}}
        forged = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"}
        assert client.post(f"{base}/imports", headers=forged, **upload).status_code == 401
        assert client.get(f"{base}/collections/parcels/items?limit=1").status_code == 200


def test_forwarded_headers_from_untrusted_proxies_change_nothing(gated_api):
    links = httpx.get(
        f"{gated_api}/collections/parcels/items?limit=1",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
    ).json()["links"]
    assert all(link["href"].startswith(gated_api) for link in links)


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.2", "", "localhost:1@evil.example"]
)
def test_a_foreign_host_is_a_400_that_does_not_repeat_it(gated_api, host):
    response = httpx.get(f"{gated_api}/collections/parcels/items?limit=1", headers={"Host": host})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "evil" not in response.text and (not host or host not in response.text)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:8000", "[::1]:8000", "LOCALHOST"])
def test_this_machine_s_names_are_answered(gated_api, host):
    response = httpx.get(f"{gated_api}/collections/parcels/items?limit=1", headers={"Host": host})
    assert response.status_code == 200
    assert response.json()["links"][0]["href"].lower().startswith("http://" + host.lower())


def test_links_use_the_public_url_and_its_host_is_allowed(database_url):
    server = ServerSettings(public_url="https://gis.caobang.example/api", allowed_hosts=[])
    settings = settings_for(database_url.render_as_string(hide_password=False), server)
    with serve_app(create_app(settings)) as url:
        headers = {"Host": "gis.caobang.example"}
        body = httpx.get(f"{url}/collections/parcels/items?limit=1", headers=headers).json()
        assert body["links"][0]["href"].startswith("https://gis.caobang.example/api/")
        assert httpx.get(f"{url}/collections").status_code == 400  # 127.0.0.1 is not listed


def test_production_refuses_to_start_without_public_url_or_allowed_hosts():
    with pytest.raises(ValueError, match="LANDPLAN_PUBLIC_URL or LANDPLAN_ALLOWED_HOSTS"):
        ServerSettings(env="production")
    assert ServerSettings(env="production", allowed_hosts=["gis.example"]).hosts() == {
        "gis.example"
    }
