"""Opening the files surveyors and planners hand in, safely, with clear errors.

Shapefiles (loose or zipped), GeoPackages, GeoJSON, KML, CSV with a WKT column and DXF
drawings are read through GDAL (pyogrio) in batches, so a file of a million parcels is
never all in memory. Every failure a user can cause (a missing .dbf, a truncated .shp, a
zip that is corrupt or tries to escape with ``../``, an unknown layer) is a
:class:`SourceError` with a message that says what is wrong; no traceback reaches them.

Text comes back as read byte for byte (latin-1) from the formats that may carry legacy
Vietnamese encodings (Shapefile, CSV, DXF), so that :mod:`gis.encoding` can decide what
the bytes mean; GeoPackage, GeoJSON and KML are UTF-8 by definition.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError, FieldError
from pyogrio.raw import read

from gis.errors import GISError

#: File suffix -> GDAL driver.
DRIVERS = {
    ".shp": "ESRI Shapefile",
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".kml": "KML",
    ".csv": "CSV",
    ".dxf": "DXF",
}
#: Drivers whose text may be in a legacy encoding.
LEGACY_TEXT = {"ESRI Shapefile", "CSV", "DXF"}
#: Drivers whose files are drawings: entities that are not closed shapes are left out.
DRAWINGS = {"DXF"}
#: GDAL settings for drawings: closed polylines are polygons (hatches already are), and
#: text arrives byte for byte like a legacy .dbf's, whatever $DWGCODEPAGE claims.
GDAL_CONFIG = {"DXF_CLOSED_LINE_AS_POLYGON": "TRUE", "DXF_ENCODING": "ISO-8859-1"}
#: Columns a CSV's geometry may be in, as WKT.
CSV_GEOMETRY_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "WKT")


class SourceError(GISError):
    """A file that cannot be read as given; the message is for the user."""


@dataclass(frozen=True)
class Source:
    """One layer of a readable file."""

    path: Path
    gdal_path: str
    driver: str
    layer: str
    layers: tuple[str, ...]
    crs: str | None
    fields: tuple[str, ...]
    geometry_type: str | None
    count: int
    bounds: tuple[float, float, float, float] | None
    #: The file names its encoding (a Shapefile's .cpg), so GDAL decodes its text.
    declared_encoding: bool = False

    @property
    def drawing(self) -> bool:
        return self.driver in DRAWINGS

    @property
    def legacy_text(self) -> bool:
        """Whether the text arrives as raw bytes (latin-1 view) for us to decode."""
        return self.driver in LEGACY_TEXT and not self.declared_encoding


def open_source(path: Path, layer: str | None = None) -> Source:
    """Inspect ``path`` (and choose ``layer`` in multi-layer files) without reading it all."""
    pyogrio.set_gdal_config_options(GDAL_CONFIG)
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise SourceError(f"{path.name}: the file is empty")
    suffix = path.suffix.lower()
    declared = False
    if suffix == ".zip":
        gdal_path, driver, declared = _inside_zip(path)
    elif suffix in DRIVERS:
        gdal_path, driver = str(path), DRIVERS[suffix]
        if driver == "ESRI Shapefile":
            declared = _check_shapefile_parts(path)
    else:
        known = ", ".join(sorted({*DRIVERS, ".zip"}))
        raise SourceError(f"{path.name}: unknown format {suffix or '(no suffix)'}; use {known}")
    try:
        layers = tuple(name for name, _ in pyogrio.list_layers(gdal_path))
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise SourceError(
            f"{path.name}: cannot be read as {driver} ({_gdal_reason(exc)})"
        ) from None
    if not layers:
        raise SourceError(f"{path.name}: holds no layers")
    if layer is None:
        if len(layers) > 1 and driver == "GPKG":
            raise SourceError(f"{path.name} holds several layers; choose one: {', '.join(layers)}")
        layer = layers[0]
    elif layer not in layers:
        raise SourceError(f"{path.name} has no layer {layer!r}; it has: {', '.join(layers)}")
    try:
        info = pyogrio.read_info(gdal_path, layer=layer, **_open_options(driver))
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise SourceError(f"{path.name}: cannot be read ({_gdal_reason(exc)})") from None
    if info.get("crs") is None and info.get("total_bounds") is None:
        # Only to suggest a CRS: some drivers (CSV) scan the whole file for this.
        options = _open_options(driver)
        info = pyogrio.read_info(gdal_path, layer=layer, force_total_bounds=True, **options)
    bounds = info.get("total_bounds")
    return Source(
        path=path,
        gdal_path=gdal_path,
        driver=driver,
        layer=layer,
        layers=layers,
        crs=info.get("crs"),
        fields=tuple(info["fields"]),
        geometry_type=info.get("geometry_type"),
        count=int(info.get("features") or 0),
        bounds=tuple(bounds) if bounds is not None and all(map(_finite, bounds)) else None,
        declared_encoding=declared,
    )


def read_batches(source: Source, batch_size: int = 50_000) -> Iterator[list[dict]]:
    """The features of ``source`` in lists of at most ``batch_size`` records.

    Each record has ``fid`` (0-based position in the file), ``geometry`` (shapely, or
    None) and the attributes by field name. Text is as stored: for
    :attr:`Source.legacy_text` files, the latin-1 view of the bytes.

    UTF-8 text streams through GDAL's Arrow interface; raw bytes cannot (Arrow strings
    are UTF-8), so legacy files are read by pages with pyogrio's own decoding.
    """
    pages = _legacy_pages if source.legacy_text else _arrow_pages
    position = 0
    try:
        for columns, geometries in pages(source, batch_size):
            names = [name for name in columns if name != "geometry"]
            records = []
            for i, geometry in enumerate(geometries):
                record = {name: columns[name][i] for name in names}
                record["fid"] = position + i
                record["geometry"] = geometry
                records.append(record)
            position += len(records)
            yield records
    except (DataSourceError, DataLayerError, FieldError, OSError) as exc:
        raise SourceError(
            f"{source.path.name}: reading stopped after {position} features "
            f"({_gdal_reason(exc)}); the file looks truncated or corrupt"
        ) from None


#: The field a drawing's texts arrive in, and the prefix of the fields they become on the
#: shape that holds them (``Text_SO_THUA``: the texts of CAD layer SO_THUA).
TEXT_FIELD = "Text"


def attach_labels(records: list[dict]) -> tuple[list[dict], list[str]]:
    """Give a drawing's texts to the closed shape each lies in (the smallest, when shapes
    nest), as surveyors label parcels: the number on one CAD layer, the land use on
    another. The shape gets ``Text`` (all its texts, in drawing order, spaced) and
    ``Text_<layer>`` for each layer's; texts so placed leave the records, texts outside
    every shape stay as they were. Returns the records and the new field names."""
    shapes = [r for r in records if shapely.get_type_id(r["geometry"]) in (3, 6)]
    texts = [
        r
        for r in records
        if shapely.get_type_id(r["geometry"]) == 0 and (r.get(TEXT_FIELD) or "").strip()
    ]
    if not shapes or not texts:
        return records, []
    tree = shapely.STRtree([r["geometry"] for r in shapes])
    where = [r["geometry"] for r in texts]
    text_index, shape_index = tree.query(where, predicate="within")
    holder: dict[int, int] = {}
    for t, s in zip(text_index.tolist(), shape_index.tolist(), strict=True):
        if t not in holder or shapes[s]["geometry"].area < shapes[holder[t]]["geometry"].area:
            holder[t] = s
    names: set[str] = set()
    for t in sorted(holder):  # drawing order
        text, shape = texts[t], shapes[holder[t]]
        value = text[TEXT_FIELD].strip()
        layer = text.get("Layer")
        for name in (TEXT_FIELD, f"{TEXT_FIELD}_{layer}") if layer else (TEXT_FIELD,):
            shape[name] = f"{shape[name]} {value}" if shape.get(name) else value
            names.add(name)
    placed = {id(texts[t]) for t in holder}
    return [r for r in records if id(r) not in placed], sorted(names)


def _arrow_pages(source: Source, batch_size: int) -> Iterator[tuple[dict, list]]:
    with pyogrio.open_arrow(
        source.gdal_path,
        layer=source.layer,
        batch_size=batch_size,
        use_pyarrow=True,
        **_open_options(source.driver),
    ) as (meta, reader):
        geometry_name = meta["geometry_name"] or "wkb_geometry"
        for batch in reader:
            columns = batch.to_pydict()
            wkb = columns.pop(geometry_name, [None] * batch.num_rows)
            yield columns, list(shapely.from_wkb(wkb, on_invalid="ignore"))


def _legacy_pages(source: Source, batch_size: int) -> Iterator[tuple[dict, list]]:
    skip = 0
    while True:
        meta, _fids, wkb, field_data = read(
            source.gdal_path,
            layer=source.layer,
            # ISO-8859-1 is recoded by GDAL itself, byte for byte (DXF: by GDAL_CONFIG)
            encoding=None if source.drawing else "ISO-8859-1",
            skip_features=skip,
            max_features=batch_size,
            **_open_options(source.driver),
        )
        if not len(wkb):
            return
        columns = {
            name: list(values) for name, values in zip(meta["fields"], field_data, strict=True)
        }
        yield columns, list(shapely.from_wkb(wkb, on_invalid="ignore"))
        skip += len(wkb)
        if len(wkb) < batch_size:
            return


def _open_options(driver: str) -> dict:
    if driver == "CSV":
        return {"GEOM_POSSIBLE_NAMES": ",".join(CSV_GEOMETRY_COLUMNS), "KEEP_GEOM_COLUMNS": "NO"}
    return {}


def _check_shapefile_parts(shp: Path) -> bool:
    """Refuse a Shapefile without its .dbf or .shx; whether a .cpg declares its encoding."""
    siblings = {p.suffix.lower(): p for p in shp.parent.glob(shp.stem + ".*")}
    for part in (".dbf", ".shx"):
        if part not in siblings:
            raise SourceError(f"{shp.name}: the {part} file that belongs with it is missing")
    _check_shp_length(shp)
    dbf, shx = siblings[".dbf"], siblings[".shx"]
    with dbf.open("rb") as d, shx.open("rb") as x:
        _check_dbf_matches(d.read(32), dbf.stat().st_size, x.read(100), dbf.name)
    return ".cpg" in siblings


def _check_dbf_matches(dbf_header: bytes, dbf_size: int, shx_header: bytes, name: str) -> None:
    """Refuse a .dbf cut short, or holding another number of records than the .shx has
    shapes: GDAL would read the shapes up to the shorter of the two, silently.

    dBase header: record count (bytes 4-7), header and record length (8-9, 10-11), little
    endian. The .shx has a 100-byte header (its length in 16-bit words at 24-27, big
    endian) and 8 bytes per shape.
    """
    if len(dbf_header) < 12 or len(shx_header) < 100:
        raise SourceError(f"{name}: the .dbf or .shx header is incomplete")
    records = int.from_bytes(dbf_header[4:8], "little")
    header_length = int.from_bytes(dbf_header[8:10], "little")
    record_length = int.from_bytes(dbf_header[10:12], "little")
    shapes = (int.from_bytes(shx_header[24:28], "big") * 2 - 100) // 8
    needed = header_length + records * record_length
    if dbf_size < needed:
        held = max(0, (dbf_size - header_length) // record_length) if record_length else 0
        raise SourceError(
            f"{name}: truncated, it holds {held:,} of the {records:,} records its header "
            f"declares ({dbf_size:,} of {needed:,} bytes)"
        )
    if records != shapes:
        raise SourceError(
            f"{name}: {records:,} attribute records for {shapes:,} shapes in the .shx; the "
            "files do not belong together or one was cut off"
        )


def _check_shp_length(shp: Path) -> None:
    """Refuse a .shp shorter than its header says (a cut-off copy or upload).

    The main file header holds the file code 9994 (bytes 0–3) and the file length in
    16-bit words (bytes 24–27), both big-endian (ESRI Shapefile Technical Description).
    """
    with shp.open("rb") as f:
        header = f.read(100)
    if len(header) < 100 or int.from_bytes(header[0:4], "big") != 9994:
        raise SourceError(f"{shp.name}: not a Shapefile (no valid header)")
    declared = int.from_bytes(header[24:28], "big") * 2
    actual = shp.stat().st_size
    if actual < declared:
        raise SourceError(
            f"{shp.name}: truncated, {actual:,} of the {declared:,} bytes its header declares"
        )


#: Limits an archive is checked against from its directory, before anything is inflated:
#: a zip bomb of 4 MB inflates to gigabytes. Survey data compresses 3-20 times.
ZIP_MAX_ENTRIES = 1_000
ZIP_MAX_TOTAL = 4 * 1024**3
ZIP_MAX_RATIO = 200


def _check_zip_directory(name: str, entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > ZIP_MAX_ENTRIES:
        raise SourceError(f"{name}: {len(entries):,} entries; at most {ZIP_MAX_ENTRIES:,}")
    total = sum(entry.file_size for entry in entries)
    if total > ZIP_MAX_TOTAL:
        raise SourceError(
            f"{name}: would inflate to {total / 1024**3:.1f} GiB; at most "
            f"{ZIP_MAX_TOTAL / 1024**3:.0f} GiB"
        )
    packed = sum(entry.compress_size for entry in entries)
    if total > 16 * 1024**2 and total > ZIP_MAX_RATIO * max(packed, 1):
        raise SourceError(
            f"{name}: would inflate {total:,} bytes from {packed:,}; refused as a zip bomb "
            f"(more than {ZIP_MAX_RATIO}:1)"
        )
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise SourceError(f"{name}: the entry {entry.filename!r} is encrypted")
        if entry.file_size > ZIP_MAX_RATIO * max(entry.compress_size, 1) and (
            entry.file_size > 1024**2
        ):
            raise SourceError(
                f"{name}: the entry {entry.filename!r} inflates {entry.file_size:,} bytes from "
                f"{entry.compress_size:,}; refused as a zip bomb (more than {ZIP_MAX_RATIO}:1)"
            )


def _inside_zip(path: Path) -> tuple[str, str, bool]:
    """The GDAL path of the one dataset inside a zip, refusing unsafe or broken archives."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            _check_zip_directory(path.name, entries)
            names = archive.namelist()
            broken = archive.testzip()  # bounded now by the limits above
            headers = {
                entry.filename.lower(): archive.open(entry).read(100)
                for entry in entries
                if entry.filename.lower().endswith((".dbf", ".shx"))
            }
            sizes = {entry.filename.lower(): entry.file_size for entry in entries}
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
        raise SourceError(f"{path.name}: not a readable zip archive ({exc})") from None
    if broken is not None:
        raise SourceError(f"{path.name}: the entry {broken!r} is corrupt")
    for name in names:
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise SourceError(
                f"{path.name}: refused, the entry {name!r} points outside the archive"
            )
    datasets = [n for n in names if PurePosixPath(n).suffix.lower() in DRIVERS]
    shapefiles = [n for n in datasets if n.lower().endswith(".shp")]
    chosen = shapefiles or datasets
    if not chosen:
        raise SourceError(f"{path.name}: the archive holds no file of a known format")
    if len(chosen) > 1:
        raise SourceError(
            f"{path.name}: the archive holds several datasets ({', '.join(chosen)}); "
            "send one per archive"
        )
    entry = chosen[0]
    driver = DRIVERS[PurePosixPath(entry).suffix.lower()]
    declared = False
    if driver == "ESRI Shapefile":
        stem = entry[: -len(".shp")]
        present = {n.lower() for n in names}
        for part in (".dbf", ".shx"):
            if (stem + part).lower() not in present:
                raise SourceError(f"{path.name}: {entry} has no {part} beside it in the archive")
        dbf, shx = (stem + ".dbf").lower(), (stem + ".shx").lower()
        _check_dbf_matches(headers[dbf], sizes[dbf], headers[shx], f"{path.name}: {stem}.dbf")
        declared = (stem + ".cpg").lower() in present
    return f"/vsizip/{path.resolve()}/{entry}", driver, declared


def _gdal_reason(exc: Exception) -> str:
    """GDAL's message without the path noise, short enough to show."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")
