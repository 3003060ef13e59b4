"""The database stops under concurrent requests: the API answers 503 at once (with
Retry-After) while it is down, and serves again by itself once it is back."""

from __future__ import annotations

import threading
import time

import httpx

from api.app import create_app
from api.settings import ServerSettings, Settings
from scripts.localhost import serve_app

PATHS = (
    "/tiles/WebMercatorQuad/15/26056/14264",
    "/collections/parcels/items?limit=5",
    "/lookup?lon=106.2575&lat=22.6657",
)


def hammer(base: str, stop: threading.Event, seen: list[tuple[float, int, float]]) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        i = 0
        while not stop.is_set():
            started = time.monotonic()
            status = client.get(PATHS[i % len(PATHS)]).status_code
            seen.append((started, status, time.monotonic() - started))
            i += 1
            time.sleep(0.02)


def test_a_database_outage_gives_503s_then_recovery_without_a_restart(fault_cluster):
    cluster, settings = fault_cluster
    app = create_app(Settings(database=settings, server=ServerSettings()))
    with serve_app(app) as base:
        assert all(httpx.get(f"{base}{p}").status_code in (200, 204) for p in PATHS)
        stop, seen = threading.Event(), []
        workers = [threading.Thread(target=hammer, args=(base, stop, seen)) for _ in range(4)]
        for worker in workers:
            worker.start()
        time.sleep(0.5)
        down = time.monotonic()
        cluster.stop()
        stopped = time.monotonic()
        time.sleep(3)
        cluster.start()
        up = time.monotonic()
        recovered = None
        while time.monotonic() - up < 60:
            if all(httpx.get(f"{base}{p}").status_code in (200, 204) for p in PATHS):
                recovered = time.monotonic() - up
                break
            time.sleep(0.2)
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        outage = [(status, took) for started, status, took in seen if stopped <= started < up]
        statuses = {status for status, _ in outage}
        assert outage and statuses == {503}, statuses
        assert max(took for _, took in outage) < 1.0, max(took for _, took in outage)
        before = {status for started, status, _ in seen if started < down}
        assert before <= {200, 204}
        assert recovered is not None, "the API did not serve again after the database came back"
        slowest = max(took for _, took in outage)
        print(f"outage: {len(outage)} answers, slowest {slowest:.3f} s; back in {recovered:.1f} s")
        retry = httpx.get(f"{base}{PATHS[0]}")  # up again: no Retry-After any more
        assert retry.status_code in (200, 204)
