"""The settings of every database session the API opens."""

from __future__ import annotations

#: Set on every API session. PostgreSQL's JIT costs ~40 ms per costly plan (low-zoom
#: tiles), far more than it saves on queries of milliseconds; parallel workers help one
#: request but take the cores concurrent requests need; a generic plan for a tile query
#: cannot know the tile, so plans are made for each (docs/benchmarks.md).
SESSION_SETTINGS = {
    "jit": "off",
    "max_parallel_workers_per_gather": "0",
    "plan_cache_mode": "force_custom_plan",
    # A query whose client has gone ends within seconds (migration 0007).
    "client_connection_check_interval": "2s",
}
SESSION_OPTIONS = " ".join(f"-c {k}={v}" for k, v in SESSION_SETTINGS.items())
