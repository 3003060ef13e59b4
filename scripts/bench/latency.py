"""Per-request latency at concurrency 1, over an ordered list of requests.

For the comparison with the database floor, both sides are measured the same way: the
same requests, in the same order, one at a time, alternating in short blocks (so both see
exactly the same requests, and drifts of a shared machine, such as another process waking
up, fall on both alike). The HTTP side is
a minimal keep-alive HTTP/1.1 client on a raw socket (so the client adds next to
nothing); the database side runs the same SQL through libpq (psycopg), as psql would.
"""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Callable


def _percentiles(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {
        "requests": len(samples),
        "p50_us": statistics.median(samples) * 1e6,
        "p95_us": samples[int(0.95 * (len(samples) - 1))] * 1e6,
        "mean_us": statistics.fmean(samples) * 1e6,
    }


def interleaved(
    runners: list[Callable[[int], object]], count: int, duration: float, block: int = 10
) -> list[dict]:
    """Time each ``runner(i)`` for i cycling over ``range(count)``, the runners taking
    turns of ``block`` requests, in whole passes over the list, until ``duration`` seconds
    have passed; the percentiles of each runner."""
    samples: list[list[float]] = [[] for _ in runners]
    start = time.perf_counter()
    while not samples[0] or time.perf_counter() - start < duration:
        for lo in range(0, count, block):
            for run_one, out in zip(runners, samples, strict=True):
                for i in range(lo, min(lo + block, count)):
                    t = time.perf_counter()
                    run_one(i)
                    out.append(time.perf_counter() - t)
    return [_percentiles(s) for s in samples]


class HTTPClient:
    """GET over one keep-alive connection; reads each response fully (Content-Length)."""

    def __init__(self, host: str, port: int):
        self.host = host
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def get(self, path: str) -> int:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(
            (
                int(line.split(":", 1)[1])
                for line in lines[1:]
                if line.lower().startswith("content-length:")
            ),
            0,
        )
        while len(self.buffer) < length:
            self._read()
        self.buffer = self.buffer[length:]
        return status

    def _read(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()
