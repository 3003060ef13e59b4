"""Editing through the API against the same UPDATE through psycopg, on the
1,000,000-parcel benchmark database.

Usage: ``python -m scripts.bench.editing [--seconds N]`` (or ``make bench-editing``).
Each client edits a zone of its own: ``PATCH /collections/plan_zones/items/{id}`` with
``If-Match`` (the ETag of its previous answer) and a reason, as the staff workspace
does, at 1, 4 and 16 clients, through ``landplan serve`` (one worker process). The
reference, in the same run, is the same conditional UPDATE (``… WHERE id = %s AND
version = %s RETURNING version``) sent by psycopg on a connection per client, with the
same triggers (version, journal) firing: what the database itself costs. Results go
into the "editing" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine, text

from api.session import SESSION_OPTIONS
from api.settings import PROJECT_ROOT, DatabaseSettings
from layers import accounts
from scripts.bench import report
from scripts.bench.report import p50_ms, p95_ms
from scripts.bench.run import BENCH_DB, ensure_dataset, machine, start, versions
from scripts.localhost import free_port

LEVELS = (1, 4, 16)
ACCOUNT = "bench-planner"
REASON = "benchmark"


def bench_token(settings: DatabaseSettings) -> tuple[str, list[int]]:
    """A planner's token on the benchmark database, and the zones to edit."""
    engine = create_engine(settings.sqlalchemy_url(BENCH_DB))
    with engine.begin() as conn:
        if (
            conn.scalar(
                text("SELECT 1 FROM private.staff_accounts WHERE name = :n"), {"n": ACCOUNT}
            )
            is None
        ):
            accounts.add_account(conn, ACCOUNT, "planner", accounts.new_secret("pw"))
        _, token = accounts.create_token(conn, ACCOUNT, timedelta(hours=2))
        zones = list(conn.scalars(text("SELECT id FROM plan_zones ORDER BY id LIMIT 64")))
    engine.dispose()
    return token, zones


def api_client(
    base: str, token: str, zone: int, stop: threading.Event, took: list, outcomes: Counter
) -> None:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/merge-patch+json",
        "Landplan-Reason": REASON,
    }
    path = f"/collections/plan_zones/items/{zone}"
    with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
        etag = client.get(path).headers["ETag"]
        floors = 1
        while not stop.is_set():
            floors = floors % 30 + 1
            started = time.perf_counter()
            response = client.patch(
                path,
                content=b'{"properties": {"max_floors": %d}}' % floors,
                headers={"If-Match": etag},
            )
            took.append(time.perf_counter() - started)
            outcomes[response.status_code] += 1
            if response.status_code == 200:
                etag = response.headers["ETag"]
            else:
                etag = client.get(path).headers["ETag"]


def sql_client(dsn: str, zone: int, stop: threading.Event, took: list, outcomes: Counter) -> None:
    with psycopg.connect(dsn, autocommit=True, options=SESSION_OPTIONS) as conn:
        conn.execute("SELECT set_config('landplan.reason', %s, false)", (REASON,))
        found = conn.execute("SELECT version FROM plan_zones WHERE id = %s", (zone,)).fetchone()
        assert found is not None, zone
        version = found[0]
        floors = 1
        while not stop.is_set():
            floors = floors % 30 + 1
            started = time.perf_counter()
            row = conn.execute(
                "UPDATE plan_zones SET max_floors = %s WHERE id = %s AND version = %s "
                "RETURNING version",
                (floors, zone, version),
            ).fetchone()
            took.append(time.perf_counter() - started)
            outcomes["ok" if row else "stale"] += 1
            if row:
                version = row[0]


def run_level(target, args: tuple, zones: list[int], clients: int, seconds: float):
    stop, took, outcomes = threading.Event(), list[float](), Counter[object]()
    threads = [
        threading.Thread(target=target, args=(*args, zones[i], stop, took, outcomes))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return took, outcomes


def _floor(base: str, count: int = 500) -> float:
    """p50 ms of GET /health (one small query), one client: what a request costs."""
    took = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(count):
            started = time.perf_counter()
            client.get("/health")
            took.append(time.perf_counter() - started)
    return p50_ms(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    settings = DatabaseSettings()
    ensure_dataset(settings, args.rebuild)
    token, zones = bench_token(settings)
    port = free_port()
    landplan = str(PROJECT_ROOT / ".venv" / "bin" / "landplan")
    url = settings.sqlalchemy_url(BENCH_DB).render_as_string(hide_password=False)
    server = start([landplan, "serve", "--port", str(port)], {"DATABASE_URL": url}, port)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        floor = _floor(base)
        for clients in LEVELS:
            api, api_outcomes = run_level(api_client, (base, token), zones, clients, args.seconds)
            sql, sql_outcomes = run_level(
                sql_client, (settings.libpq_url(BENCH_DB),), zones, clients, args.seconds
            )
            errors = sum(n for status, n in api_outcomes.items() if status != 200)
            rows.append(
                f"| {clients} | {len(api):,} | {p50_ms(api):.1f} | {p95_ms(api):.1f} | "
                f"{errors} | {len(sql):,} | {p50_ms(sql):.2f} | {p95_ms(sql):.2f} | "
                f"{sql_outcomes['stale']} | **{p50_ms(api) / p50_ms(sql):.1f}×** |"
            )
            print(rows[-1], flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = [
        "## Editing: PATCH with If-Match against the bare UPDATE",
        "",
        "Written by `make bench-editing` (`python -m scripts.bench.editing`).",
        "",
        f"- **Machine**: {machine()}; {versions(settings)}.",
        "- **Data**: the benchmark database (1,000,000 parcels, its plans and zones).",
        f"- **API**: `landplan serve` (one worker process); each client, over one "
        f"keep-alive connection, PATCHes a zone of its own (`max_floors`) with the ETag "
        f"of its previous answer in `If-Match`, a bearer token and `Landplan-Reason`, "
        f"for {args.seconds:.0f} s per level. Each PATCH: the token checked, a "
        "transaction that says who and why, one UPDATE that compares the version and "
        "returns the feature as GeoJSON (version and journal triggers, the zone-in-plan "
        "check).",
        "- **Reference (same run)**: the same conditional UPDATE through psycopg, one "
        "autocommit connection per client, the same triggers firing.",
        "",
        "| clients | API PATCHes | p50 ms | p95 ms | errors | SQL UPDATEs | p50 ms | p95 ms "
        "| stale | API/SQL p50 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"The server's floor in the same run, `GET /health` (one small query) from one client: "
        f"p50 {floor:.1f} ms. A PATCH is that, the token's check (one query), and a "
        "transaction of four round trips (BEGIN, who and why, the UPDATE returning the "
        "feature, COMMIT, which waits for the disk like the reference's). Errors count "
        "answers other than 200: none, as every client edits its own zone (a 412 when "
        "two edit one zone is tested in tests/api/test_editing.py, not measured). With "
        "16 clients the two cores are shared by the server, the database and the 16 "
        "client threads of this script.",
    ]
    body = "\n".join(lines)
    report.write_section(args.out, "editing", body)
    print(body)


if __name__ == "__main__":
    main()
