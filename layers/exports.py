"""Exporting a public layer to the files consultants and agencies use.

Only what the public API shows leaves: the layer's public rows (``Layer.public_where``)
and public properties (``Layer.public_properties``), so an export can be handed to
anyone. Geometry is taken from the storage column (VN-2000) and transformed by pyproj,
as imports are, so export → import round-trips to well under a millimetre.

Shapefile field names are cut to 10 characters; rather than GDAL's silent laundering,
each column gets a documented short name (:func:`shapefile_names`): the first name of at
most 10 characters that the import mapping of the layer recognises (MaXa, SoToBanDo,
DienTich, …), else the column name cut and made unique. The export writes the pairs
beside the file (``<name>.fields.csv``) and the import reads them back.

A row that refers to another (a zone's project, a lot's development area, a unit's
successor) carries that row's code beside its id (``project_code``), as imports name
related rows, so an export imports back; the code only when the row referred to is
public itself.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import pandas as pd
import yaml
from shapely.geometry import box
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    ScalarSelect,
    Select,
    Table,
    create_engine,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

from gis.crs import WGS84, crs_from_user_input
from layers.base import STORAGE_SRID, Layer, code_references

#: format -> (GDAL driver, suffix)
FORMATS = {
    "gpkg": ("GPKG", ".gpkg"),
    "shp": ("ESRI Shapefile", ".shp"),
    "geojson": ("GeoJSON", ".geojson"),
    "csv": ("CSV", ".csv"),
    "dxf": ("DXF", ".dxf"),
}
MAPPINGS = Path(__file__).parent / "mappings"
SHAPEFILE_LIMIT = 10


class ExportError(ValueError):
    """The export cannot be made as asked; the message says why."""


def public_select(
    layer: Layer,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    limit: int | None = None,
    after: int | None = None,
) -> Select:
    """The public rows and properties of ``layer`` with its storage geometry; ``bbox``
    in lon/lat, ``where``, ``limit`` and ``after`` as an items query gives them (the
    API's ``f=``). The public-row filter applies whatever ``where`` holds."""
    table = layer.table
    columns = [table.c[name] for name in layer.public_properties]
    codes = [code.label(name) for name, code in reference_codes(layer).items()]
    statement = (
        select(
            table.c[layer.key].label("fid"),
            *columns,
            *codes,
            table.c[layer.storage_geometry_column].label("geometry"),
        )
        .where(layer.public_where(), *where)
        .order_by(table.c[layer.key])
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(table.c[layer.key] > after)
    if bbox is not None:
        envelope = func.ST_MakeEnvelope(*bbox, WGS84)
        statement = statement.where(
            table.c[layer.geometry_column].op("&&")(envelope),
            func.ST_Intersects(table.c[layer.geometry_column], envelope),
        )
    return statement


def public_frame(
    conn: Connection,
    layer: Layer,
    *,
    crs: str | int = STORAGE_SRID,
    bbox: tuple[float, float, float, float] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    limit: int | None = None,
    after: int | None = None,
) -> gpd.GeoDataFrame:
    """:func:`public_select` read into a frame in ``crs``."""
    statement = public_select(layer, bbox=bbox, where=where, limit=limit, after=after)
    return _read(conn, *compiled(statement), layer, crs)


def _read(
    conn: Connection, sql: str, params: dict[str, Any], layer: Layer, crs: str | int
) -> gpd.GeoDataFrame:
    """The rows of a compiled :func:`public_select` as a frame in ``crs``: one way of
    reading for the CLI's exports and the API's download workers."""
    result = conn.exec_driver_sql(sql, params)
    rows = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    geometry = gpd.GeoSeries.from_wkb(rows.pop("geometry"), crs=STORAGE_SRID)
    frame = gpd.GeoDataFrame(rows, geometry=geometry, crs=STORAGE_SRID)
    # With no rows pandas cannot tell the key is an integer; GeoPackage's FID must be one.
    frame["fid"] = frame["fid"].astype("int64")
    for name in layer.public_properties:
        if isinstance(layer.table.c[name].type, JSONB):
            frame[name] = [json.dumps(v, ensure_ascii=False) for v in frame[name]]
    target = crs_from_user_input(crs)
    return frame.to_crs(target) if target.to_epsg() != STORAGE_SRID else frame


def compiled(statement: Select) -> tuple[str, dict[str, Any]]:
    """The statement as psycopg's SQL and parameters: what a worker process runs, since
    SQLAlchemy objects do not cross a process boundary."""
    done = statement.compile(dialect=psycopg_dialect(), compile_kwargs={"render_postcompile": True})
    return str(done), dict(done.params)


def file_bytes(frame: gpd.GeoDataFrame, layer: Layer, fmt: str) -> bytes:
    """``frame`` as the bytes of one file (a Shapefile zipped with its parts)."""
    with tempfile.TemporaryDirectory() as tmp:
        written = write(frame, layer, Path(tmp) / layer.id, fmt)
        if fmt != "shp":
            return written[0].read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                archive.write(path, path.name)
        return buffer.getvalue()


_worker_engines: dict[str, Engine] = {}


def download(
    url: str,
    options: str,
    tag: str,
    layer_id: str,
    sql: str,
    params: dict[str, Any],
    crs: int,
    fmt: str,
) -> bytes:
    """Run a compiled :func:`public_select` and write the rows as ``fmt``: the work of a
    download, made in a worker process (its CPU is not the web server's). ``url`` and
    libpq ``options`` say where and how to connect; the session is named ``tag``
    (application_name), by which the server can cancel its query."""
    from layers.registry import default_registry

    layer = default_registry()[layer_id]
    engine = _worker_engines.get(url)
    if engine is None:
        engine = create_engine(url, pool_size=1, max_overflow=0, connect_args={"options": options})
        _worker_engines[url] = engine
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT set_config('application_name', %(tag)s, false)", {"tag": tag})
        frame = _read(conn, sql, params, layer, crs)
    return file_bytes(frame, layer, fmt)


def reference_codes(layer: Layer) -> dict[str, ScalarSelect[Any]]:
    """``<name>_code`` for each public ``<name>_id`` that refers to a row with a code: that
    code, when the row is public (a lot's project may not be)."""
    from layers.registry import default_registry

    layers = {other.table.name: other for other in default_registry().values()}
    codes = {}
    for name, (code, referred) in code_references(layer.table).items():
        if name not in layer.public_properties:
            continue
        other = referred.alias(f"referred_{name}")
        public = layers[referred.name].public_filter
        lookup = select(other.c.code).where(other.c.id == layer.table.c[name])
        if public is not None:  # the filter reads columns, which an alias has too
            lookup = lookup.where(public(cast(Table, other)))
        codes[code] = lookup.scalar_subquery()
    return codes


def shapefile_names(layer: Layer) -> dict[str, str]:
    """Column -> its Shapefile field name (at most 10 characters, unique)."""
    candidates: dict[str, list[str]] = {}
    mapping = MAPPINGS / f"{layer.id}.yaml"
    if mapping.exists():
        fields = (yaml.safe_load(mapping.read_text()) or {}).get("fields") or {}
        candidates = {k: [v] if isinstance(v, str) else list(v) for k, v in fields.items()}
    names: dict[str, str] = {}
    taken: set[str] = set()
    for column in ("fid", *layer.public_properties, *reference_codes(layer)):
        short = (
            next((c for c in candidates.get(column, []) if len(c) <= SHAPEFILE_LIMIT), None)
            or column[:SHAPEFILE_LIMIT]
        )
        base, n = short, 1
        while short.lower() in taken:
            suffix = str(n)
            short = base[: SHAPEFILE_LIMIT - len(suffix)] + suffix
            n += 1
        taken.add(short.lower())
        names[column] = short
    return names


def write(frame: gpd.GeoDataFrame, layer: Layer, path: Path, fmt: str) -> list[Path]:
    """Write ``frame`` as ``fmt`` to ``path``; the files written."""
    driver, suffix = driver_of(fmt)
    path = Path(path)
    if path.suffix.lower() != suffix:
        path = path.with_suffix(suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {}
    if fmt == "shp":
        names = shapefile_names(layer)
        frame = frame.rename(columns=names)
        options["encoding"] = "UTF-8"  # and a .cpg saying so
        sidecar = path.with_name(path.stem + ".fields.csv")
        with sidecar.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["column", "shapefile_field"])
            writer.writerows(names.items())
    elif fmt == "csv":
        options["layer_options"] = {"GEOMETRY": "AS_WKT"}
    elif fmt == "dxf":
        # A drawing keeps no attributes but its layer: the land use where there is one.
        label = "land_use_code" if "land_use_code" in frame.columns else None
        frame = gpd.GeoDataFrame(
            {"Layer": frame[label] if label else [layer.id] * len(frame)},
            geometry=frame.geometry,
        )
    frame.to_file(path, driver=driver, **options)
    return sorted(path.parent.glob(path.stem + ".*"))


def driver_of(fmt: str) -> tuple[str, str]:
    """The GDAL driver and suffix of an export format; ExportError if there is none."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
    return FORMATS[fmt]


def bbox_from_text(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ExportError(f"--bbox {text!r}: four numbers, minlon,minlat,maxlon,maxlat") from None
    if len(values) != 4 or box(*values).is_empty:
        raise ExportError(f"--bbox {text!r}: four numbers, minlon,minlat,maxlon,maxlat")
    return values
