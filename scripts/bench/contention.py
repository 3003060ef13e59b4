"""Tiles while the heavy downloads run: tile latency with 16 clients downloading
``limit=10000&f=dxf`` against the same tiles on an idle server, in the same run.

Usage: ``python -m scripts.bench.contention [--seconds N]`` (or ``make bench-contention``),
on the demo database. The server is ``landplan serve`` as deployed (one worker process);
the tile client asks one tile at a time over one keep-alive connection. Results go into
the "contention" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from api.settings import PROJECT_ROOT, ServerSettings
from scripts.bench import report
from scripts.bench.report import p50_ms, p95_ms
from scripts.bench.run import machine, start, tile_xy
from scripts.localhost import free_port

DOWNLOAD = "/collections/parcels/items?limit=10000&f=dxf"
CLIENTS = 16
CENTRE = (106.2575, 22.6657)


def tiles() -> list[str]:
    """Tiles of the demo's centre at street zoom: every layer, as the map asks them."""
    paths = []
    for z in (15, 16):
        cx, cy = tile_xy(*CENTRE, z)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                paths.append(f"/tiles/WebMercatorQuad/{z}/{cx + dx}/{cy + dy}")
    return paths


def tile_latencies(base: str, seconds: float) -> list[float]:
    paths, took = tiles(), []
    with httpx.Client(base_url=base, timeout=60) as client:
        for path in paths:  # warm the server's and the database's caches
            client.get(path)
        deadline, i = time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = client.get(paths[i % len(paths)], headers={"Cache-Control": "no-cache"})
            took.append(time.perf_counter() - started)
            assert response.status_code in (200, 204), response.status_code
            i += 1
    return took


def downloads(base: str, stop: threading.Event, outcomes: Counter) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        while not stop.is_set():
            status = client.get(DOWNLOAD).status_code
            outcomes[status] += 1
            if status == 503:
                time.sleep(0.05)  # a client told to retry does not spin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    port = free_port()
    landplan = str(PROJECT_ROOT / ".venv" / "bin" / "landplan")
    server = start([landplan, "serve", "--port", str(port)], {}, port)
    base = f"http://127.0.0.1:{port}"
    try:
        idle_before = tile_latencies(base, args.seconds)
        stop, outcomes = threading.Event(), Counter[int]()
        clients = [
            threading.Thread(target=downloads, args=(base, stop, outcomes)) for _ in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        time.sleep(2)  # the downloads under way
        loaded = tile_latencies(base, args.seconds)
        stop.set()
        for client in clients:
            client.join(timeout=180)
        idle_after = tile_latencies(base, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    idle = idle_before + idle_after
    heavy = ServerSettings().heavy_concurrency
    ratio = p50_ms(loaded) / p50_ms(idle)
    done = outcomes[200]
    lines = [
        "## Tiles while heavy downloads run",
        "",
        "Written by `make bench-contention` (`python -m scripts.bench.contention`).",
        "",
        f"- **Machine**: {machine()}.",
        "- **Server**: `landplan serve` (one worker), the demo database (6,250 parcels).",
        f"- **Load**: {CLIENTS} clients in a loop asking `{DOWNLOAD}` (every parcel as a "
        "DXF drawing); a 503 is retried after 50 ms. Downloads and pages over 1,000 "
        f"features run at most `LANDPLAN_HEAVY_CONCURRENCY` ({heavy}) at once, downloads "
        "in worker processes (at nice 10) with a connection of their own; past that the "
        "server answers "
        "503 with Retry-After.",
        f"- **Measured**: one client asking 18 tiles of the city centre (z15–z16, every "
        f"layer) in turn, one at a time over one keep-alive connection, for "
        f"{args.seconds:.0f} s idle, {args.seconds:.0f} s under the load, then "
        f"{args.seconds:.0f} s idle again (the reference: both idle runs together).",
        "",
        "| | tiles | p50 ms | p95 ms |",
        "|---|---:|---:|---:|",
        f"| idle (reference) | {len(idle):,} | {p50_ms(idle):.1f} | {p95_ms(idle):.1f} |",
        f"| {CLIENTS} DXF downloads | {len(loaded):,} | {p50_ms(loaded):.1f} | "
        f"{p95_ms(loaded):.1f} |",
        "",
        f"Tile p50 under the load: **{ratio:.2f}×** idle (goal: within 2×). Downloads "
        f"during the loaded run: {done:,} served, {outcomes[503]:,} answered 503 (retry "
        f"later), {sum(outcomes.values()) - done - outcomes[503]:,} other.",
    ]
    lines += [
        "",
        "Before this limit, with the same run: every download ran at once on the event "
        "loop's thread (the frame built there, the file in a thread of the same process): "
        "tile p50 156 ms, p95 1.5 s, **29.6×** idle. Worker threads under a limit of 2 "
        "gave 10.0× (the GIL), of 1 4.3×; worker processes under a limit of 2 gave 2.5× "
        "(two downloads and their queries take both cores), of 1 1.6–2.1× from run to "
        "run; at nice 10, the figure above.",
    ]
    body = "\n".join(lines)
    report.write_section(args.out, "contention", body)
    print(body)


if __name__ == "__main__":
    main()
