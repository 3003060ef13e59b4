"""Benchmark ``landplan import`` against ``ogr2ogr -f PostgreSQL`` on the same file.

Usage: ``python -m scripts.bench.imports [--parcels N]`` (or ``make bench-import``).
Writes a GeoPackage of N synthetic parcels in EPSG:9210 (from the ``landplan_bench``
database of ``scripts.bench.run``), then, one after the other on a fresh copy of that
database with no parcels: ogr2ogr with PG_USE_COPY=YES into a plain table (the
reference: no validation, no constraints), and ``landplan import`` into ``parcels``
(mapping, validation, upsert, every database rule). Wall time and peak memory of each
process go into the "import" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from psycopg import sql

from api.settings import PROJECT_ROOT, DatabaseSettings
from scripts import migrate
from scripts.bench import report
from scripts.bench.run import BENCH_DB, ensure_dataset, machine, versions
from scripts.cluster import _admin_connection

TARGET_DB = "landplan_bench_import"
COLUMNS = "unit_code,map_sheet,parcel_number,land_use_code,legal_area_m2,address"


def libpq_keywords(settings: DatabaseSettings, database: str) -> str:
    """The ``PG:`` connection string GDAL takes (the password goes in :func:`gdal_env`,
    not on a command line every user of the machine can read)."""
    url = settings.sqlalchemy_url(database)
    return f"host={url.host} port={url.port} user={url.username} dbname={url.database}"


def gdal_env(settings: DatabaseSettings) -> dict[str, str]:
    password = settings.sqlalchemy_url().password
    return {"PGPASSWORD": str(password)} if password else {}


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run ``command``; wall seconds, peak resident memory in MiB, and its output.

    The peak is GNU time's: a process started from this one inherits its memory
    high-water mark through fork and exec (Linux keeps the larger), so ``wait4`` would
    report this Python's few hundred MiB for a small ogr2ogr."""
    with tempfile.NamedTemporaryFile("r") as peak, tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", peak.name, *command],
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        seconds = time.perf_counter() - start
        out.seek(0)
        output = out.read().decode(errors="replace")
        kib = int(peak.read().split()[-1])
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({proc.returncode}):\n{output[-3000:]}")
    return seconds, kib / 1024, output


def build_file(settings: DatabaseSettings, count: int) -> Path:
    path = PROJECT_ROOT / "var" / "bench" / f"parcels-{count}.gpkg"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "GPKG",
            str(path),
            f"PG:{libpq_keywords(settings, BENCH_DB)}",
            "parcels",
            "-select",
            COLUMNS,
            "-limit",
            str(count),
            "-nln",
            "parcels",
            "-a_srs",
            "EPSG:9210",
        ],
        check=True,
        env={**os.environ, **gdal_env(settings)},
    )
    return path


#: The tables emptied for an import into a copy of the benchmark database, with the
#: history kept of their rows (a benchmark's own, not worth keeping).
EMPTIED = ("parcels", "private.parcel_holders", "history.parcels", "private.parcel_holders_history")


def fresh_target(settings: DatabaseSettings, revision: str | None = None) -> None:
    """A copy of the benchmark database (units, service area, codes) without parcels;
    ``revision``: migrated down to it (``0008``: as before the history)."""
    with _admin_connection(settings) as conn:
        name = sql.Identifier(TARGET_DB)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(name, sql.Identifier(BENCH_DB))
        )
    import psycopg

    with psycopg.connect(settings.libpq_url(TARGET_DB), autocommit=True) as conn:
        for table in EMPTIED:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        conn.execute(f"TRUNCATE {', '.join(EMPTIED)} CASCADE")
        for table in EMPTIED:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    if revision is not None:
        migrate.downgrade(settings.sqlalchemy_url(TARGET_DB), revision)
    with psycopg.connect(settings.libpq_url(TARGET_DB), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE parcels")


def changed_file(path: Path) -> Path:
    """The same parcels with every one changed (its address): a re-import updates all."""
    changed = path.with_name(path.stem + "-changed.gpkg")
    if not changed.exists():
        subprocess.run(
            [
                "ogr2ogr",
                "-f",
                "GPKG",
                str(changed),
                str(path),
                "-nln",
                "parcels",
                "-dialect",
                "SQLite",
                "-sql",
                "SELECT unit_code, map_sheet, parcel_number, land_use_code, legal_area_m2, "
                "address || ' (đo lại)' AS address, geom FROM parcels",
            ],
            check=True,
        )
    return changed


def landplan_import(settings: DatabaseSettings, path: Path) -> tuple[float, float, dict]:
    """Wall seconds, peak MiB and the report of ``landplan import`` into the target."""
    report_dir = Path(tempfile.mkdtemp(prefix="landplan-bench-import-"))
    seconds, mib, _ = timed(
        [
            str(Path(sys.executable).with_name("landplan")),
            "import",
            str(path),
            "--layer",
            "parcels",
            "--report-dir",
            str(report_dir),
        ],
        env={"DATABASE_URL": settings.libpq_url(TARGET_DB)},
    )
    return seconds, mib, json.loads((report_dir / "report.json").read_text())


def database_floor(settings: DatabaseSettings) -> float:
    """Seconds to insert ogr2ogr's rows into ``parcels`` (rolled back)."""
    import psycopg

    columns = sql.SQL(COLUMNS)
    with psycopg.connect(settings.libpq_url(TARGET_DB)) as conn:
        start = time.perf_counter()
        conn.execute(
            sql.SQL("INSERT INTO parcels ({}, geom) SELECT {}, geom FROM ogr_parcels").format(
                columns, columns
            )
        )
        seconds = time.perf_counter() - start
        conn.rollback()
    return seconds


def as_of_reads(settings: DatabaseSettings, moment: datetime) -> dict[str, tuple[float, float]]:
    """Median ms of the items pages and tiles the API runs, now and as of ``moment``
    (the parcels as the first import left them: every row is in the history since)."""
    import random

    import psycopg

    from api.session import SESSION_OPTIONS
    from layers import exports, features, history, tiles
    from layers.base import PUBLIC
    from layers.features import BBox, ItemsQuery, OutputCRS
    from layers.parcels import LAYER as PARCELS

    # The API's session (no parallel workers, no JIT): what its requests run with.
    with psycopg.connect(
        settings.libpq_url(TARGET_DB), autocommit=True, options=SESSION_OPTIONS
    ) as conn:
        (cs, _) = conn.execute(*exports.compiled(history.change_set_at(moment))).fetchone() or ()
        xmin, ymin, xmax, ymax = (
            conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_Extent(geom_wgs84) e FROM parcels) s"
            ).fetchone()
            or ()
        )
        rng = random.Random(2024)
        corners = [
            (rng.uniform(xmin, xmax - 0.002), rng.uniform(ymin, ymax - 0.002)) for _ in range(40)
        ]
        timings: dict[str, tuple[float, float]] = {}
        for name, then in (("now", None), ("as-of", cs)):
            pages, tile_times = [], []
            for x, y in corners:
                query = ItemsQuery(bbox=BBox((x, y, x + 0.002, y + 0.002)), limit=100)
                statement = features.items(PARCELS, query, OutputCRS(), PUBLIC)
                sql_text, values = exports.compiled(
                    statement if then is None else history.as_of(statement, then)
                )
                start = time.perf_counter()
                conn.execute(sql_text, values).fetchall()
                pages.append(time.perf_counter() - start)
                tx = int((x + 180) / 360 * 2**16)
                ty = int((1 - math.asinh(math.tan(math.radians(y))) / math.pi) / 2 * 2**16)
                tile_sql, constants = tiles.compiled((PARCELS,), 16, None, then is not None)
                values = {**constants, "x": tx, "y": ty, history.AS_OF: then}
                start = time.perf_counter()
                conn.execute(tile_sql, values).fetchone()
                tile_times.append(time.perf_counter() - start)
            timings[name] = (report.p50_ms(pages[5:]), report.p50_ms(tile_times[5:]))
    return timings


def history_lines(runs: dict, reads: dict[str, tuple[float, float]], count: int) -> list[str]:
    def row(label: str, key: str) -> str:
        with_history, without = runs[key][0], runs[f"{key} without"][0]
        counts = runs[key][2]["counts"]
        written = f"{counts['inserted']:,} inserted, {counts['updated']:,} updated"
        ratio = with_history / without
        return f"| {label} | {written} | {without:.1f} | {with_history:.1f} | {ratio:.2f}× |"

    (page_now, tile_now), (page_then, tile_then) = reads["now"], reads["as-of"]
    return [
        "### The cost of the history",
        "",
        "The same imports into two copies of the benchmark database: one at the migrations' "
        "head, with the history (migration 0009), one migrated down to 0008 (no history). "
        f"First the {count:,} parcels into an empty table, then the same file with every "
        "parcel's address changed (every row an UPDATE, whose old version the history "
        "keeps). One run each, wall time of the CLI.",
        "",
        "| import | rows | without history s | with history s | ratio |",
        "|---|---|---|---|---|",
        row("first import (new parcels; target ≤ 1.25×)", "first"),
        row("re-import changing every parcel (goal ≤ 1.5×)", "again"),
        "",
        "Reads after the re-import, of the parcels now and as of a moment between the two "
        "imports (every row of that state is in `history.parcels`): the items page (100 "
        "features in a 0.002° box, the API's statement) and the z16 vector tile around it; "
        "35 places, median ms, in the same database and run.",
        "",
        "| read | now ms | as-of ms | as-of / now |",
        "|---|---|---|---|",
        f"| items page | {page_now:.2f} | {page_then:.2f} | {page_then / page_now:.2f}× |",
        f"| tile z16 | {tile_now:.2f} | {tile_then:.2f} | {tile_then / tile_now:.2f}× |",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs/benchmarks.md")
    args = parser.parse_args()
    settings = DatabaseSettings()
    ensure_dataset(settings, rebuild=False)
    path = build_file(settings, args.parcels)

    fresh_target(settings)
    ogr_seconds, ogr_mib, _ = timed(
        [
            "ogr2ogr",
            "-f",
            "PostgreSQL",
            f"PG:{libpq_keywords(settings, TARGET_DB)}",
            str(path),
            "-nln",
            "ogr_parcels",
            "-lco",
            "GEOMETRY_NAME=geom",
            "--config",
            "PG_USE_COPY",
            "YES",
        ],
        env=gdal_env(settings),
    )
    print(f"ogr2ogr: {ogr_seconds:.1f} s, {ogr_mib:.0f} MiB", flush=True)
    floor_seconds = database_floor(settings)
    print(f"INSERT into parcels from ogr2ogr's table: {floor_seconds:.1f} s", flush=True)

    changed = changed_file(path)
    runs: dict[str, tuple[float, float, dict]] = {}
    fresh_target(settings)  # with the history (the migrations' head)
    runs["first"] = landplan_import(settings, path)
    print(f"landplan import: {runs['first'][:2]}", flush=True)
    between = datetime.now(UTC)
    runs["again"] = landplan_import(settings, changed)
    print(f"re-import with history: {runs['again'][:2]}", flush=True)
    reads = as_of_reads(settings, between)
    fresh_target(settings, revision="0008")  # the same schema before the history
    runs["first without"] = landplan_import(settings, path)
    runs["again without"] = landplan_import(settings, changed)
    print(f"without history: {runs['first without'][:2]}, {runs['again without'][:2]}")
    ours_seconds, ours_mib, written = runs["first"]
    counts, phases = written["counts"], written["seconds"]

    size = path.stat().st_size / 1024**2
    gdal = subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True).stdout
    ratio = ours_seconds / ogr_seconds
    lines = [
        "## Import against ogr2ogr",
        "",
        "Written by `make bench-import` (`python -m scripts.bench.imports`).",
        "",
        f"- **Machine**: {machine()}.",
        f"- **Software**: {versions(settings).rsplit(', tipg', 1)[0]}, {gdal.strip()}.",
        f"- **File**: {args.parcels:,} synthetic parcels (`scripts/bench/synthetic.py`) as a "
        f"GeoPackage in EPSG:9210, {size:.0f} MiB.",
        "- **Reference**: `ogr2ogr -f PostgreSQL … --config PG_USE_COPY YES` into a new plain "
        "table (COPY, then its GiST index; no validation, no constraints).",
        "- **landplan import**: the CLI as staff run it, into `parcels` of a copy of the "
        "benchmark database with no parcels: field mapping, every validation rule (geometry "
        "validity, duplicates, unknown codes, unit codes, service area, overlaps within the "
        "file and with stored parcels, gaps per map sheet, slivers, legal vs measured area), "
        "then the upsert through the table's constraints and triggers, in one transaction; "
        "every finding written to report.json and problems.geojson.",
        "- **Database floor**: after ogr2ogr, one `INSERT INTO parcels … SELECT … FROM` its "
        "table, rolled back: what writing these rows into `parcels` costs any client, with "
        "the table's checks, foreign key, triggers, generated WGS 84 column and indexes, and "
        "no validation or file reading at all.",
        "- Wall time and peak resident memory of each process (GNU time), one run each; the "
        "import's phases from its report.",
        "",
        "| | wall s | × ogr2ogr | peak MiB | rows |",
        "|---|---|---|---|---|",
        f"| ogr2ogr (reference) | {ogr_seconds:.1f} | 1.00 | {ogr_mib:.0f} | {args.parcels:,} |",
        f"| database floor: INSERT into parcels | {floor_seconds:.1f} | "
        f"{floor_seconds / ogr_seconds:.2f} | (server) | {args.parcels:,} |",
        f"| landplan import | {ours_seconds:.1f} | {ratio:.2f} | {ours_mib:.0f} | "
        f"{counts['inserted']:,} inserted, {counts['errors']} errors, "
        f"{counts['warnings']:,} warnings |",
        "",
        "Phases of the import: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())
        + " (read: file to staging table with conversion and geometry checks; check: the "
        "set-based rules; write: upsert and commit).",
        "",
        f"landplan import / ogr2ogr: **{ratio:.2f}×** the time (target 1.5×).",
        "",
        *history_lines(runs, reads, args.parcels),
    ]
    report.write_section(args.out, "import", "\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
