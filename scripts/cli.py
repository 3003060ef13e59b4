"""The ``landplan`` command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import create_engine

from api.settings import DatabaseSettings, get_settings
from scripts import migrate, staff_cli
from scripts.cluster import Cluster, ClusterError, ensure_database

app = typer.Typer(
    help="landplan: planning and land information for Vietnamese cities.", no_args_is_help=True
)
db = typer.Typer(
    help="The database: local cluster, migrations, connection URL.", no_args_is_help=True
)
app.add_typer(db, name="db")
service_area = typer.Typer(help="The area every stored geometry must lie in.", no_args_is_help=True)
app.add_typer(service_area, name="service-area")
app.add_typer(staff_cli.user, name="user")
app.add_typer(staff_cli.token, name="token")


def _db_settings() -> DatabaseSettings:
    return get_settings().database


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@db.command("up")
def db_up() -> None:
    """Start the project-local PostGIS cluster (reused if running) and create the database.

    With DATABASE_URL set, no cluster is started: the database there is created if missing.
    """
    settings = _db_settings()
    try:
        if not settings.external:
            cluster = Cluster(settings)
            was_running = cluster.is_running()
            cluster.start()
            typer.echo(
                f"PostGIS cluster {'already running' if was_running else 'started'} on "
                f"{settings.host}:{settings.port} (data: {cluster.data_dir})"
            )
        else:
            typer.echo("DATABASE_URL is set: using that server, no local cluster started")
        ensure_database(settings)
    except (ClusterError, OSError) as exc:
        _fail(str(exc))


@db.command("down")
def db_down() -> None:
    """Stop the project-local cluster (nothing to do with DATABASE_URL set)."""
    settings = _db_settings()
    if settings.external:
        typer.echo("DATABASE_URL is set: no local cluster to stop")
        return
    try:
        stopped = Cluster(settings).stop()
    except ClusterError as exc:
        _fail(str(exc))
    typer.echo("PostGIS cluster stopped" if stopped else "PostGIS cluster was not running")


@db.command("migrate")
def db_migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Upgrade the database schema to REVISION (default: the newest)."""
    migrate.upgrade(_db_settings().sqlalchemy_url(), revision)


@db.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base")],
) -> None:
    """Downgrade the database schema to REVISION."""
    migrate.downgrade(_db_settings().sqlalchemy_url(), revision)


@db.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="The backup file to write (pg_dump -Fc)")],
) -> None:
    """Back up the whole database to FILE (pg_restore or `landplan db restore` reads it)."""
    from scripts.backup import BackupError, backup

    try:
        backup(_db_settings(), file)
    except BackupError as exc:
        _fail(str(exc))
    typer.echo(f"Backed up to {file} ({file.stat().st_size / 1e6:.1f} MB)")


@db.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A backup written by `landplan db backup`")],
    database: Annotated[
        str | None, typer.Option(help="Restore into this database (default: the configured one)")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Drop the database first if it holds tables")
    ] = False,
) -> None:
    """Restore FILE into a fresh database, in one transaction."""
    from scripts.backup import BackupError, restore

    try:
        restore(_db_settings(), file, database, replace)
    except BackupError as exc:
        _fail(str(exc))
    typer.echo(f"Restored {file} into {database or _db_settings().name}")


@db.command("url")
def db_url(
    show_password: Annotated[bool, typer.Option(help="Print the password too")] = True,
) -> None:
    """Print the connection URL of the database in use."""
    url = _db_settings().sqlalchemy_url().set(drivername="postgresql")
    typer.echo(url.render_as_string(hide_password=not show_password))


@app.command("demo-data")
def demo_data(
    reload: Annotated[
        bool, typer.Option(help="Empty the data tables and load the demo again")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed of the generator")] = 2024,
) -> None:
    """Load the Cao Bằng demo (skipped when already loaded, unless --reload)."""
    from scripts.demo import load

    engine = create_engine(_db_settings().sqlalchemy_url())
    with engine.begin() as conn:
        if load.is_loaded(conn) and not reload:
            typer.echo("Demo data already loaded (use --reload to load it again)")
            return
        if reload:
            load.clear(conn)
        counts = load.load(conn, seed=seed)
    typer.echo("Demo data loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@service_area.command("show")
def service_area_show() -> None:
    """Print the service area's name, area and bounds (WGS 84)."""
    from sqlalchemy import func, select

    from layers.service_area import ServiceArea

    engine = create_engine(_db_settings().sqlalchemy_url())
    with engine.connect() as conn:
        name, hectares, bounds = conn.execute(
            select(
                ServiceArea.name,
                func.ST_Area(ServiceArea.geom) / 10_000,
                func.Box2D(func.ST_Transform(ServiceArea.geom, 4326)),
            )
        ).one()
    typer.echo(f"{name}: {hectares:,.0f} ha, {bounds}")


@service_area.command("set")
def service_area_set(
    name: Annotated[str, typer.Option(help="Name of the area, e.g. the province")],
    file: Annotated[
        Path | None, typer.Option(help="Vector file whose polygons are the area")
    ] = None,
    bbox: Annotated[str | None, typer.Option(help="minx,miny,maxx,maxy instead of a file")] = None,
    crs: Annotated[
        str, typer.Option(help="CRS of --bbox (a file's own CRS is used)")
    ] = "EPSG:4326",
) -> None:
    """Replace the service area; refused if stored features would fall outside it."""
    import shapely
    from shapely.geometry import box

    from gis.crs import transform_geometry
    from gis.errors import GISError
    from layers.base import STORAGE_SRID
    from layers.service_area import ServiceAreaError, replace

    if (file is None) == (bbox is None):
        _fail("give exactly one of --file and --bbox")
    try:
        if file is not None:
            import geopandas

            frame = geopandas.read_file(file)
            if frame.crs is None:
                _fail(f"{file} has no CRS; reproject it or give the area as --bbox with --crs")
            geom = shapely.union_all(frame.to_crs(STORAGE_SRID).geometry.values)
        else:
            assert bbox is not None  # exactly one of the two, checked above
            values = [float(v) for v in bbox.split(",")]
            if len(values) != 4:
                raise ValueError("--bbox takes four numbers")
            geom = transform_geometry(box(*values), crs, STORAGE_SRID)
        with create_engine(_db_settings().sqlalchemy_url()).begin() as conn:
            replace(conn, geom, name)
    except (ServiceAreaError, GISError, ValueError, OSError, RuntimeError) as exc:
        _fail(str(exc))
    typer.echo(f"Service area set: {name}")


#: Exit codes of ``landplan import``.
EXIT_CANNOT_START, EXIT_REFUSED = 1, 3


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="Shapefile (or .zip), GeoPackage, GeoJSON, …")],
    layer: Annotated[str, typer.Option(help="Target layer, e.g. parcels")],
    source_layer: Annotated[
        str | None, typer.Option(help="Layer inside the file (GeoPackage, DXF)")
    ] = None,
    crs: Annotated[
        str | None, typer.Option(help="CRS when the file has none, e.g. EPSG:9210")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding: utf-8, cp1258, tcvn3, vni (else detected)")
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="YAML field mapping")] = None,
    fix: Annotated[bool, typer.Option(help="Repair invalid geometries (make_valid)")] = False,
    dry_run: Annotated[bool, typer.Option(help="Validate and count, write nothing")] = False,
    report_dir: Annotated[
        Path | None, typer.Option(help="Where to write report.json and problems.geojson")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help='Why, as the journal records it (default "import of FILE")')
    ] = None,
    as_account: Annotated[
        str | None,
        typer.Option("--as", help="Act for this staff account (default: the actor cli)"),
    ] = None,
    decision: Annotated[
        str | None,
        typer.Option(help="The decision the import carries out, as the history keeps it"),
    ] = None,
    dossier: Annotated[
        str | None, typer.Option(help="The dossier the import carries out, as the history keeps it")
    ] = None,
) -> None:
    """Validate a file and import it into a layer in one transaction (one change set).

    Nothing is written when any finding is an error. Exit status: 0 imported (or, with
    --dry-run, importable), 1 the import could not start (file, CRS, mapping), 3 refused
    by validation; the report says why, feature by feature.
    """
    from datetime import datetime

    from rich.progress import Progress

    from gis.errors import GISError
    from layers import accounts
    from layers.editing import Grounds
    from layers.imports import import_as

    engine = create_engine(_db_settings().sqlalchemy_url())
    actor, units = accounts.CLI_ACTOR, tuple[str, ...]()
    if as_account is not None:  # acting for an account: within its units
        with engine.connect() as conn:
            try:
                account = accounts.principal_named(conn, as_account)
            except accounts.AccountError as exc:
                engine.dispose()
                _fail(str(exc))
        from api.staff.rules import may_write

        if not may_write(account, layer):
            engine.dispose()
            _fail(f"{as_account} ({account.role}) does not write {layer}")
        actor, units = account.name, account.units
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task(f"Reading {path.name}", total=None)
            phases = {
                "read": f"Reading {path.name}",
                "check": "Checking the rules",
                "write": "Writing",
            }

            def progress(phase: str, done: int, total: int | None) -> None:
                # reading counts features; checking and writing are single statements
                # of unknown length: the bar pulses
                bar.update(task, description=phases[phase], completed=done, total=total)

            report = import_as(
                engine,
                actor,
                reason or f"import of {path.name}",
                path,
                layer,
                grounds=Grounds(decision=decision, dossier=dossier),
                source_layer=source_layer,
                crs=crs,
                encoding=encoding,
                mapping=mapping,
                fix=fix,
                dry_run=dry_run,
                progress=progress,
                units=units,
            )
    except GISError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_CANNOT_START) from None
    finally:
        engine.dispose()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = report_dir or _db_settings().state_dir / "imports" / f"{path.stem}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    report.write(out)
    counts = report.summary()["counts"]
    typer.echo(
        f"{path.name} -> {layer}: {counts['read']} read, {counts['inserted']} new, "
        f"{counts['updated']} changed, {counts['unchanged']} unchanged; "
        f"{counts['errors']} errors, {counts['warnings']} warnings "
        f"(CRS {report.crs}, text {report.encoding or 'UTF-8'})"
    )
    for finding in report.findings[:20]:
        colour = typer.colors.RED if finding.severity == "error" else typer.colors.YELLOW
        where = f"feature {finding.fid}" if finding.fid is not None else "file"
        typer.secho(f"  {finding.rule:16} {where}: {finding.message}", fg=colour)
    if len(report.findings) > 20:
        typer.echo(f"  … and {len(report.findings) - 20} more")
    typer.echo(f"Report: {out / 'report.json'}, problem locations: {out / 'problems.geojson'}")
    if report.refused:
        typer.secho("Nothing was written.", fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_REFUSED)
    typer.echo("Dry run: nothing was written." if dry_run else "Imported.")


@app.command("export")
def export(
    layer: Annotated[str, typer.Option(help="Public layer, e.g. parcels")],
    format: Annotated[str, typer.Option(help="gpkg, shp, geojson, csv or dxf")] = "gpkg",
    out: Annotated[Path | None, typer.Option(help="File to write (default: LAYER.FORMAT)")] = None,
    crs: Annotated[str, typer.Option(help="Output CRS, e.g. EPSG:4326")] = "EPSG:9210",
    bbox: Annotated[
        str | None, typer.Option(help="Only features in minlon,minlat,maxlon,maxlat")
    ] = None,
) -> None:
    """Export a layer's public features and fields (what the public API shows)."""
    from gis.errors import GISError
    from layers import exports
    from layers.registry import UnknownLayerError, default_registry

    try:
        target = default_registry()[layer]
        area = exports.bbox_from_text(bbox) if bbox else None
        exports.driver_of(format)  # before any query: an unknown format is refused now
        engine = create_engine(_db_settings().sqlalchemy_url())
        with engine.connect() as conn:
            frame = exports.public_frame(conn, target, crs=crs, bbox=area)
        engine.dispose()
        written = exports.write(frame, target, out or Path(f"{layer}.{format}"), format)
    except UnknownLayerError:
        _fail(f"no public layer {layer!r}; layers: {', '.join(default_registry())}")
    except (exports.ExportError, GISError, OSError) as exc:
        _fail(str(exc))
    typer.echo(f"{len(frame)} {layer} -> {', '.join(str(p) for p in written)}")


@app.command("publish-map")
def publish_map(
    out: Annotated[Path, typer.Option(help="Directory to write the static site to")],
    api_url: Annotated[
        str, typer.Option(help="The API the page asks for tiles, lookups and search")
    ],
) -> None:
    """Write the public map as a static site (index.html and every file it loads) that
    works against the API at API_URL. The API must allow the site's origin
    (LANDPLAN_CORS_ORIGINS)."""
    from api import webmap
    from layers import land_use
    from layers.registry import default_registry

    settings = get_settings()
    missing = [p for p in webmap.VENDOR if not webmap.vendor_dir(p).is_dir()]
    if missing:
        _fail(f"front-end packages not installed ({', '.join(missing)}): run make setup")
    engine = create_engine(settings.database.sqlalchemy_url())
    with engine.connect() as conn:
        rows = conn.execute(land_use.listing()).all()
    engine.dispose()
    html = webmap.build(
        default_registry(),
        settings.map,
        land_use.described(rows),
        api=api_url.rstrip("/"),
        assets="static",
    )
    files = webmap.publish(html, out)
    size = sum(f.stat().st_size for f in files)
    typer.echo(f"Wrote {len(files)} files ({size / 1024:.0f} KiB) to {out}; open {out}/index.html")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default LANDPLAN_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default LANDPLAN_PORT)")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    pid_file: Annotated[Path | None, typer.Option(help="Write the server's PID here")] = None,
) -> None:
    """Serve the API and the public map."""
    import uvicorn

    server = get_settings().server
    if pid_file:
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(f"{os.getpid()}\n")
    try:
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host or server.host,
            port=port or server.port,
            workers=workers,
            # The app believes X-Forwarded-* from LANDPLAN_TRUSTED_PROXIES only (api/app.py).
            proxy_headers=False,
        )
    finally:
        if pid_file:
            pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    app()
