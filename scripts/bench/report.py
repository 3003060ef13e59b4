"""docs/benchmarks.md holds one section per benchmark; each run rewrites its own."""

from __future__ import annotations

import statistics
from pathlib import Path

TITLE = "# Benchmarks\n"


def p50_ms(samples: list[float]) -> float:
    """The median of durations in seconds, in milliseconds."""
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000


def write_section(path: Path, name: str, body: str) -> None:
    """Replace (or append) the section ``name`` of ``path`` with ``body``."""
    start, end = f"<!-- section: {name} -->", f"<!-- end: {name} -->"
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    text = path.read_text() if path.exists() else TITLE
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + block + ("\n" + after if after else "")
    else:
        text = text.rstrip() + "\n\n" + block
    path.write_text(text)
