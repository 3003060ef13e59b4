"""The landplan command line as a user runs it: a subprocess of the installed script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LANDPLAN = str(Path(sys.executable).with_name("landplan"))


def run(
    *args: str, env: dict[str, str] | None = None, input: str = ""
) -> subprocess.CompletedProcess:
    """``landplan ARGS``; ``input`` is its standard input (a pipe, not a terminal)."""
    return subprocess.run(
        [LANDPLAN, *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, **(env or {})},
        check=False,
    )
