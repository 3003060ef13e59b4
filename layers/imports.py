"""Importing a survey or planning file into one layer: validate everything, then write
everything in one transaction, or nothing.

The file is read in batches (:mod:`gis.sources`); each record is mapped to the layer's
columns (:mod:`layers.mappings`), its text decoded (:mod:`gis.encoding`), its geometry
taken to the storage CRS. Rows that convert go to a temporary table by COPY, where the
checks that need the whole file or the database run as set-based SQL (duplicates,
unknown codes and references, the service area, zones within their project, overlaps
and gaps of each map sheet). Only when no finding is an error are the rows
upserted by natural key, so importing the same file twice changes nothing. ``dry_run``
does everything but the upsert's commit.

Findings carry a stable rule code (:data:`RULES`), a severity, the feature's position in
the file and its key, and where it is, for the report and its GeoJSON of problems.
"""

from __future__ import annotations

import csv
import math
import pickle
import re
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import orjson
import shapely
import yaml
from geoalchemy2 import Geometry
from psycopg import sql
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Date,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    Row,
    Select,
    SmallInteger,
    String,
    Table,
    and_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.schema import DropIndex
from sqlalchemy.sql.expression import column as sql_column

from gis import encoding as vn_encoding
from gis.crs import WGS84, crs_from_user_input, suggest_crs, transform_geometry
from gis.errors import GISError
from gis.sources import TEXT_FIELD, Source, attach_labels, open_source, read_batches
from layers.admin_units import AdminUnit
from layers.auction_lots import AuctionLot
from layers.base import STORAGE_SRID
from layers.development_areas import DevelopmentArea
from layers.land_use import LandUseCode
from layers.parcels import Parcel
from layers.plan_zones import PlanZone
from layers.planning_projects import PlanningProject
from layers.service_area import ServiceArea

MAPPINGS = Path(__file__).parent / "mappings"
SHAPEFILE_NAME_LIMIT = 10

#: rule code -> (severity, what it means)
RULES: dict[str, tuple[str, str]] = {
    "FIELD_UNMAPPED": ("error", "a required column has no source field and no constant"),
    "FIELD_MISSING": ("error", "a required value is empty"),
    "FIELD_TYPE": ("error", "a value does not convert to the column's type"),
    "GEOM_MISSING": ("error", "the feature has no geometry"),
    "GEOM_TYPE": ("error", "the geometry is not a polygon"),
    "GEOM_SKIPPED": ("warning", "a drawing entity that is not a closed shape was left out"),
    "GEOM_INVALID": ("error", "the geometry is invalid (use --fix to repair it)"),
    "GEOM_FIXED": ("warning", "an invalid geometry was repaired with make_valid"),
    "KEY_DUPLICATE": ("error", "the same identity appears more than once in the file"),
    "LANDUSE_UNKNOWN": ("error", "the land-use code is not in the code list"),
    "UNIT_UNKNOWN": ("error", "the administrative unit code is not a known unit"),
    "OUTSIDE_AREA": ("error", "the feature lies outside the service area"),
    "REF_UNKNOWN": ("error", "a code names no row of the layer it refers to"),
    "OUTSIDE_PROJECT": ("error", "a zone reaches outside its planning project's boundary"),
    "OVERLAP": ("error", "the feature overlaps another beyond the tolerance"),
    "GAP": ("warning", "land enclosed by the features that none of them covers"),
    "SLIVER": ("warning", "a feature so thin it is likely a digitising artefact"),
    "AREA_MISMATCH": ("warning", "legal area and geometry area differ beyond the tolerance"),
    "CONSTRAINT": ("error", "a rule of the database refused a row"),
}
#: DE-9IM pattern: the interiors intersect. Neighbours that only touch (most candidate
#: pairs of a cadastral map) fail it without the cost of an intersection.
INTERIORS_MEET = "T********"
#: Overlap between parcels tolerated (digitising noise), m².
OVERLAP_TOLERANCE_M2 = 0.5
#: Gaps smaller than this are digitising noise, m² (as overlaps).
GAP_TOLERANCE_M2 = OVERLAP_TOLERANCE_M2
#: A polygon whose mean width (2 · area / perimeter) is below this is a sliver, m.
SLIVER_WIDTH_M = 0.5
#: Legal vs measured area: a finding beyond this share and this many m².
AREA_TOLERANCE_SHARE, AREA_TOLERANCE_M2 = 0.05, 2.0


class ImportStopped(GISError):
    """The import cannot start as asked (no CRS, bad mapping); the message says why."""


@dataclass(frozen=True)
class Reference:
    """A column holding another row's id, which files give as that row's code: a zone's
    project, a lot's development area, the unit an old ward was merged into."""

    column: str  # the layer's id column (project_id)
    code: str  # what the mapping and the staging table call the code (project_code)
    table: Table  # the layer referred to
    by: str = "code"

    def row_of(self, code: Any, column: str = "id", other_than: Any = None) -> Select:
        """``column`` of the row ``code`` names (not ``other_than``, an id); of several
        (units keep their code across the reform), the most recent."""
        t = self.table.alias(f"referred_{self.table.name}")
        query = select(t.c[column]).where(t.c[self.by] == code)
        if other_than is not None:
            query = query.where(t.c.id != other_than)
        latest = [t.c.valid_from.desc()] if "valid_from" in t.c else []
        return query.order_by(*latest).limit(1)


@dataclass(frozen=True)
class Target:
    """A layer as an import target: its natural key (in the file's terms: codes, not
    ids), the columns a file may fill, and the checks that apply to it."""

    id: str
    model: Any
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    #: columns a file never sets: publication is a decision, documents are a list
    excluded: tuple[str, ...] = ()
    #: For layers whose features tile the land: the columns of a block that should be
    #: seamless (a map sheet); checked for overlaps and gaps.
    coverage: tuple[str, ...] = ()
    area_check: str | None = None
    within: Reference | None = None  # the row whose boundary must hold each feature

    @property
    def table(self):
        return self.model.__table__

    # Both are read for every feature imported: worked out once per target.
    @cached_property
    def columns(self) -> dict[str, Column]:
        skip = {"id", "geom", "geom_wgs84", *self.excluded}
        by_id = {r.column: r for r in self.references}
        columns: dict[str, Column] = {}
        for c in self.table.columns:
            if c.name in skip or c.computed is not None:
                continue
            if c.name in by_id:
                ref = by_id[c.name]
                columns[ref.code] = Column(ref.code, ref.table.c[ref.by].type, nullable=c.nullable)
            else:
                columns[c.name] = c
        return columns

    @cached_property
    def required(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, c in self.columns.items()
            if not c.nullable and c.server_default is None and c.default is None
        )

    @cached_property
    def conflict(self) -> tuple[str, ...]:
        """The natural key in the table's terms (project_id for project_code)."""
        by_code = {r.code: r.column for r in self.references}
        return tuple(by_code.get(k, k) for k in self.key)


def _project_reference() -> Reference:
    return Reference("project_id", "project_code", PlanningProject.__table__)


TARGETS = {
    "planning_projects": Target(
        "planning_projects",
        PlanningProject,
        ("code",),
        excluded=("published", "documents"),
    ),
    "plan_zones": Target(
        "plan_zones",
        PlanZone,
        ("project_code", "zone_code"),
        references=(_project_reference(),),
        within=_project_reference(),
    ),
    "parcels": Target(
        "parcels",
        Parcel,
        ("unit_code", "map_sheet", "parcel_number"),
        coverage=("unit_code", "map_sheet"),
        area_check="legal_area_m2",
    ),
    "auction_lots": Target(
        "auction_lots",
        AuctionLot,
        ("lot_code",),
        references=(
            _project_reference(),
            Reference("development_area_id", "development_area_code", DevelopmentArea.__table__),
        ),
        area_check="area_m2",
    ),
    "development_areas": Target("development_areas", DevelopmentArea, ("code",)),
    "admin_units": Target(
        "admin_units",
        AdminUnit,
        ("code", "valid_from"),
        references=(Reference("merged_into_id", "merged_into_code", AdminUnit.__table__),),
    ),
}


@dataclass
class Finding:
    rule: str
    fid: int | None
    message: str
    key: dict[str, Any] | None = None
    #: where: a geometry, or its WKB as the database gave it (turned into a geometry only
    #: when asked: most findings of a big file are only counted and written out)
    where: BaseGeometry | bytes | None = None

    @property
    def location(self) -> BaseGeometry | None:
        if isinstance(self.where, bytes):
            self.where = shapely.from_wkb(self.where)
        return self.where

    @property
    def severity(self) -> str:
        return RULES[self.rule][0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "feature": self.fid,
            "key": self.key,
            "message": self.message,
        }


class Findings:
    """The findings of an import in the order found, counted by rule. The first
    :attr:`kept` stay in memory; the rest are pickled to a temporary file, so a file with
    a warning on every other feature is reported whole in bounded memory."""

    kept = 10_000

    def __init__(self) -> None:
        self._kept: list[Finding] = []
        self._spill: Any = None  # a NamedTemporaryFile once needed
        self.by_rule: Counter[str] = Counter()

    def append(self, finding: Finding) -> None:
        self.by_rule[finding.rule] += 1
        if len(self._kept) < self.kept:
            self._kept.append(finding)
            return
        if self._spill is None:
            self._spill = tempfile.NamedTemporaryFile(prefix="landplan-findings-")
        where = finding.where
        if where is not None and not isinstance(where, bytes):
            where = shapely.to_wkb(where)
        state = (finding.rule, finding.fid, finding.message, finding.key, where)
        pickle.dump(state, self._spill, protocol=pickle.HIGHEST_PROTOCOL)

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.append(finding)

    def __len__(self) -> int:
        return self.by_rule.total()

    def __iter__(self) -> Iterator[Finding]:
        yield from self._kept
        if self._spill is None:
            return
        self._spill.flush()
        with open(self._spill.name, "rb") as spilled:  # its own offset: appends go on
            while True:
                try:
                    yield Finding(*pickle.load(spilled))
                except EOFError:
                    return

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return list(islice(self, index.start, index.stop, index.step))
        return next(islice(self, index, None))

    @property
    def errors(self) -> int:
        return sum(n for rule, n in self.by_rule.items() if RULES[rule][0] == "error")


@dataclass
class Report:
    source: dict[str, Any]
    layer: str
    crs: str
    encoding: str | None
    mapping: dict[str, str]
    dry_run: bool
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    written: bool = False
    findings: Findings = field(default_factory=Findings)
    #: wall seconds of each phase: read (and convert, copy), check, write (and commit)
    seconds: dict[str, float] = field(default_factory=dict)

    def lap(self, phase: str, since: float) -> float:
        """Record ``phase`` as ending now; now, for the next phase."""
        now = time.perf_counter()
        self.seconds[phase] = round(now - since, 3)
        return now

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"] if self.refused else []

    @property
    def refused(self) -> bool:
        return self.findings.errors > 0

    def summary(self) -> dict[str, Any]:
        """Everything but the findings themselves: their counts, by rule too."""
        errors = self.findings.errors
        return {
            "source": self.source,
            "layer": self.layer,
            "crs": self.crs,
            "encoding": self.encoding,
            "mapping": self.mapping,
            "dry_run": self.dry_run,
            "written": self.written,
            "counts": {
                "read": self.read,
                "inserted": self.inserted,
                "updated": self.updated,
                "unchanged": self.unchanged,
                "errors": errors,
                "warnings": len(self.findings) - errors,
                "by_rule": dict(sorted(self.findings.by_rule.items())),
            },
            "seconds": self.seconds,
        }

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        """The summary and the findings, the first ``limit`` of them if given (the
        counts say how many there are)."""
        return self.summary() | {"findings": [f.as_dict() for f in islice(self.findings, limit)]}

    def write(self, directory: Path, chunk: int = 10_000) -> None:
        """``report.json`` and ``problems.geojson`` (the located findings, WGS 84) in
        ``directory``, in one pass over the findings, a chunk at a time: memory stays
        bounded however many there are."""
        paths = directory / "report.json", directory / "problems.geojson"
        with paths[0].open("wb") as report, paths[1].open("wb") as problems:
            head = orjson.dumps(self.summary(), option=orjson.OPT_INDENT_2, default=str)
            report.write(head[:-2] + b',\n  "findings": [')
            problems.write(b'{"type": "FeatureCollection", "features": [')
            listed = located = 0
            findings = iter(self.findings)
            while batch := list(islice(findings, chunk)):
                items = [orjson.dumps(f.as_dict(), default=str) for f in batch]
                report.write((b"," if listed else b"") + b"\n    " + b",\n    ".join(items))
                listed += len(items)
                features = _features([f for f in batch if f.where is not None])
                if features:
                    problems.write((b"," if located else b"") + b"\n" + b",\n".join(features))
                    located += len(features)
            report.write(b"\n  ]\n}\n")
            problems.write(b"\n]}\n")

    def problems_geojson(self) -> dict[str, Any]:
        """The located findings as a GeoJSON FeatureCollection in WGS 84."""
        located = [f for f in self.findings if f.where is not None]
        features = [orjson.loads(feature) for feature in _features(located)]
        return {"type": "FeatureCollection", "features": features}


def _features(located: list[Finding]) -> list[bytes]:
    """GeoJSON features (encoded) of findings with a location, transformed at once."""
    if not located:
        return []
    where = np.array([f.where for f in located], dtype=object)
    wkb = np.array([isinstance(w, bytes) for w in where], dtype=bool)
    if wkb.any():
        where[wkb] = shapely.from_wkb(where[wkb])
    geometries = shapely.to_geojson(transform_geometry(where, STORAGE_SRID, WGS84))
    return [
        b'{"type": "Feature", "geometry": '
        + geometry.encode()
        + b', "properties": '
        + orjson.dumps(f.as_dict() | {"key": f.key and str(f.key)}, default=str)
        + b"}"
        for f, geometry in zip(located, geometries, strict=True)
    ]


@dataclass(frozen=True)
class Mapping:
    """How a file's fields feed a layer: candidate source fields per column, constants for
    columns the file lacks, and the file's words for the schema's values
    (``Phường`` -> ``ward``), keyed by their casefolded NFC form."""

    fields: dict[str, list[str]]
    constants: dict[str, Any]
    values: dict[str, dict[str, Any]]


def load_mapping(
    target: Target, path: Path | None = None, exported: dict[str, str] | None = None
) -> Mapping:
    """The shipped mapping of ``target``, with the names an export wrote (``exported``)
    first among the candidates and the column's own name last; ``path`` overrides."""
    shipped = yaml.safe_load((MAPPINGS / f"{target.id}.yaml").read_text()) or {}
    names = {k: _as_list(v) for k, v in (shipped.get("fields") or {}).items()}
    fields = {
        column: [
            *([exported[column]] if exported and column in exported else []),
            *names.get(column, []),
            column,
        ]
        for column in target.columns
    }
    constants = dict(shipped.get("constants") or {})
    values = {k: _value_words(v) for k, v in (shipped.get("values") or {}).items()}
    if path is not None:
        user = _user_mapping(target, Path(path))
        fields.update({k: _as_list(v) for k, v in user["fields"].items()})
        constants.update(user["constants"])
        for column, words in user["values"].items():
            values[column] = values.get(column, {}) | _value_words(words)
    return Mapping(fields, constants, values)


SECTIONS = ("fields", "constants", "values")


def _user_mapping(target: Target, path: Path) -> dict[str, dict]:
    try:
        user = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ImportStopped(f"mapping {path}: cannot be read ({exc})") from None
    sections = {name: user.get(name) or {} for name in SECTIONS} if isinstance(user, dict) else {}
    if not sections or not all(isinstance(part, dict) for part in sections.values()):
        raise ImportStopped(
            f"mapping {path}: expected 'fields:', 'constants:' and 'values:' sections, each "
            "of 'column: value' lines"
        )
    if not all(isinstance(words, dict) for words in sections["values"].values()):
        raise ImportStopped(f"mapping {path}: 'values:' maps a column to 'file word: value' lines")
    unknown = set().union(*sections.values()) - set(target.columns)
    if unknown:
        raise ImportStopped(
            f"mapping {path}: {', '.join(sorted(unknown))} not columns of {target.id}; "
            f"columns: {', '.join(target.columns)}"
        )
    return sections


def _value_words(words: dict) -> dict[str, Any]:
    return {_word(str(k)): v for k, v in words.items()}


def _word(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def _exported_names(path: Path) -> dict[str, str] | None:
    """The column -> field pairs an export wrote beside a Shapefile (layers.exports)."""
    sidecar = path.with_name(path.stem + ".fields.csv")
    if path.suffix.lower() != ".shp" or not sidecar.exists():
        return None
    with sidecar.open(encoding="utf-8") as f:
        return {row["column"]: row["shapefile_field"] for row in csv.DictReader(f)}


def resolve_mapping(target: Target, source_fields: Iterable[str], fields: dict) -> dict:
    """Column -> the source field that feeds it: the first candidate present, in any case,
    or cut to the 10 characters a Shapefile keeps (SoHieuToBanDo -> SoHieuToBa)."""
    by_lower = {f.lower(): f for f in source_fields}
    resolved = {}
    for column, candidates in fields.items():
        for candidate in candidates:
            name = candidate.lower()
            found = by_lower.get(name) or by_lower.get(name[:SHAPEFILE_NAME_LIMIT])
            if found:
                resolved[column] = found
                break
    return resolved


def run_import(
    engine: Engine,
    path: Path,
    layer: str,
    *,
    source_layer: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    mapping: Path | None = None,
    fix: bool = False,
    dry_run: bool = False,
    batch_size: int = 50_000,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> Report:
    """Validate ``path`` for ``layer`` and, when nothing is an error and not ``dry_run``,
    upsert it in one transaction. ``progress(phase, features read, features in the file)``
    is told of each batch read and of the start of the checks and of the write. Raises
    :class:`ImportStopped` or :class:`gis.sources.SourceError` when it cannot start or
    the file cannot be read."""
    target = TARGETS.get(layer)
    if target is None:
        raise ImportStopped(f"unknown layer {layer!r}; importable: {', '.join(TARGETS)}")
    if encoding is not None:
        try:
            vn_encoding.check(encoding)
        except LookupError:
            known = ", ".join(vn_encoding.ENCODINGS)
            raise ImportStopped(f"unknown encoding {encoding!r}; use {known}") from None
    source = open_source(path, source_layer)
    if encoding is not None and source.declared_encoding:
        # Told the encoding: the staff member has seen the text, the file's .cpg may lie
        # (famis writes UTF-8 over TCVN3 bytes). Read the bytes and decode them as told.
        source = replace(source, declared_encoding=False)
    source_crs = _source_crs(engine, source, crs)
    batches: Iterable[list[dict]] = read_batches(source, batch_size)
    source_fields = list(source.fields)
    if source.drawing:  # a text labels the shape it lies in, anywhere in the drawing
        records, labels = attach_labels([r for batch in batches for r in batch])
        batches, source_fields = [records], source_fields + labels
    field_map = load_mapping(target, mapping, _exported_names(source.path))
    constants = field_map.constants
    resolved = resolve_mapping(target, source_fields, field_map.fields)
    unmapped = [c for c in target.required if c not in resolved and c not in constants]
    if unmapped:
        raise ImportStopped(
            f"{source.path.name}: no field for {', '.join(unmapped)} "
            f"(fields in the file: {', '.join(source_fields)}); "
            "name them in a --mapping file"
        )
    report = Report(
        source={"file": source.path.name, "format": source.driver, "layer": source.layer},
        layer=target.id,
        crs=source_crs,
        encoding=encoding,
        mapping=resolved,
        dry_run=dry_run,
    )
    present = [c for c in target.columns if c in resolved or c in constants]
    staging = _staging_table(target, present)
    fields = _fields(target, resolved, field_map)
    clock = time.perf_counter()
    with engine.connect() as conn, conn.begin() as transaction:
        staging.create(conn)
        same_crs = crs_from_user_input(source_crs).to_epsg() == STORAGE_SRID
        from_crs = None if same_crs else source_crs
        # Text GDAL decoded (declared encodings, UTF-8 formats) is used as read; raw
        # bytes are decoded as told, or as detected from the first batch.
        decode_as: str | None = encoding if source.legacy_text else None
        report.encoding = decode_as if source.legacy_text else "declared by the file"
        for batch in batches:
            if source.legacy_text and decode_as is None:
                decode_as = vn_encoding.detect(_text_samples(batch, resolved.values()))
                report.encoding = f"{decode_as} (detected)"
            geometries, valid = _prepare_geometries(batch, from_crs, source.drawing)
            rows = []
            for record, geometry, is_valid in zip(batch, geometries, valid, strict=True):
                row = _convert(
                    record,
                    geometry,
                    bool(is_valid),
                    target,
                    fields,
                    decode_as,
                    fix,
                    source.drawing,
                )
                report.findings.extend(row.pop("_findings"))
                if row.pop("_ok"):
                    rows.append(row)
            if rows:  # EWKB for COPY, for the whole batch at once
                ewkb = shapely.to_wkb(
                    shapely.set_srid(np.array([r["geom"] for r in rows]), STORAGE_SRID),
                    hex=True,
                    include_srid=True,
                )
                for row, value in zip(rows, ewkb, strict=True):
                    row["geom"] = value
            _copy(conn, staging, rows)
            report.read += len(batch)
            if progress:
                progress("read", report.read, source.count)
        clock = report.lap("read", clock)
        if progress:
            progress("check", report.read, None)
        _set_checks(conn, target, staging, report.findings)
        clock = report.lap("check", clock)
        if not report.refused:
            if progress:
                progress("write", report.read, None)
            try:
                with conn.begin_nested():
                    counts = _upsert(conn, target, staging)
                report.inserted, report.updated, report.unchanged = counts
            except (IntegrityError, DataError) as exc:  # a rule or type of the table
                diag = getattr(exc.orig, "diag", None)
                name = getattr(diag, "constraint_name", None) or "a constraint"
                detail = getattr(diag, "message_primary", None) or "refused"
                report.findings.append(Finding("CONSTRAINT", None, f"{name}: {detail}"))
        if dry_run or report.refused:
            transaction.rollback()
        else:
            transaction.commit()
            report.written = True
    report.lap("write", clock)
    return report


def _source_crs(engine: Engine, source: Source, given: str | None) -> str:
    if given:
        crs = crs_from_user_input(given)
        epsg = crs.to_epsg()
        return f"EPSG:{epsg}" if epsg else crs.to_wkt()
    if source.crs:
        return source.crs
    area = _service_area_bounds(engine)
    suggestions = suggest_crs(source.bounds, area) if source.bounds else []
    hint = (
        "; the coordinates fit " + ", ".join(f"EPSG:{c}" for c in suggestions)
        if suggestions
        else "; the coordinates fit no VN-2000 zone inside the service area"
    )
    raise ImportStopped(
        f"{source.path.name} does not say its coordinate reference system; give it with --crs{hint}"
    )


def _service_area_bounds(engine: Engine) -> tuple[float, float, float, float]:
    box = func.Box2D(func.ST_Transform(ServiceArea.__table__.c.geom, WGS84))
    with engine.connect() as conn:
        row = conn.execute(
            select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
        ).one()
    xmin, ymin, xmax, ymax = row
    return (xmin, ymin, xmax, ymax)


def _text_samples(batch: list[dict], names: Iterable[str]) -> list[bytes]:
    names = list(names)
    samples = []
    for record in batch[:5000]:
        for name in names:
            value = record.get(name)
            if isinstance(value, str) and not value.isascii():
                samples.append(value.encode("latin-1"))
    return samples


def _prepare_geometries(
    batch: list[dict], from_crs: str | None, drawing: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A batch's geometries in the storage CRS, rings in one orientation (exteriors
    anticlockwise, as GeoJSON has them: a Shapefile's clockwise rings would otherwise
    make the same parcel a different geometry), and their validity, computed at once."""
    geometries = np.array([record["geometry"] for record in batch], dtype=object)
    if drawing:
        # A polyline drawn back to its start without the "closed" flag is a shape too.
        for i, g in enumerate(geometries):
            if g is not None and g.geom_type == "LineString" and g.is_closed:
                if len(g.coords) >= 4:
                    geometries[i] = shapely.Polygon(g.coords)
    polygonal = np.isin(shapely.get_type_id(geometries), (3, 6))
    if from_crs is not None and polygonal.any():
        geometries[polygonal] = transform_geometry(geometries[polygonal], from_crs, STORAGE_SRID)
    geometries[polygonal] = shapely.orient_polygons(geometries[polygonal])
    valid = np.zeros(len(geometries), dtype=bool)
    valid[polygonal] = shapely.is_valid(geometries[polygonal])
    # The layers hold multipolygons: each polygon becomes one, all at once (one at a time
    # this took most of a million-parcel import's Python time).
    single = valid & (shapely.get_type_id(geometries) == 3)
    if single.any():
        parts = geometries[single]
        geometries[single] = shapely.multipolygons(parts, indices=np.arange(len(parts)))
    return geometries, valid


def _convert(
    record: dict,
    geometry: BaseGeometry | None,
    is_valid: bool,
    target: Target,
    fields: list[Field],
    decode_as: str | None,
    fix: bool,
    drawing: bool = False,
) -> dict:
    fid = record["fid"]
    if drawing and (geometry is None or geometry.geom_type not in ("Polygon", "MultiPolygon")):
        # Texts, open lines, blocks of a drawing: not features of the layer.
        kind = geometry.geom_type if geometry is not None else "no geometry"
        label = (record.get(TEXT_FIELD) or "").strip()
        what = f"text {label!r} in no closed shape" if label else f"{kind}, not a closed shape"
        skipped = Finding("GEOM_SKIPPED", fid, what)
        return {"fid": fid, "geom": None, "_findings": [skipped], "_ok": False}
    findings: list[Finding] = []
    row: dict[str, Any] = {"fid": fid}
    for name, source, value, words, coerce in fields:
        if source is not None:
            value = record.get(source)
            if isinstance(value, str):
                if decode_as:
                    value = vn_encoding.fix(value, decode_as)
                value = unicodedata.normalize("NFC", value).strip() or None
        if words and value is not None:
            value = words.get(_word(str(value)), value)
        try:
            row[name] = coerce(value)
        except OutOfRange as exc:
            findings.append(Finding("FIELD_TYPE", fid, f"{name} = {value!r}: {exc}"))
            row[name] = None
        except (TypeError, ValueError, OverflowError):
            column = target.columns[name]
            message = f"{name} = {value!r} is not a {_type_name(column)}"
            findings.append(Finding("FIELD_TYPE", fid, message))
            row[name] = None
    key = {k: row.get(k) for k in target.key}
    for name in target.required:
        if row.get(name) is None and not any(f.rule == "FIELD_TYPE" for f in findings):
            findings.append(Finding("FIELD_MISSING", fid, f"{name} is empty", key))
    for f in findings:
        f.key = key
    row["geom"] = None
    if geometry is None or geometry.is_empty:
        findings.append(Finding("GEOM_MISSING", fid, "no geometry", key))
    elif geometry.geom_type not in ("Polygon", "MultiPolygon"):
        kind = geometry.geom_type
        findings.append(Finding("GEOM_TYPE", fid, f"{kind}, not a polygon", key, geometry))
    else:
        if not is_valid:
            reason = shapely.is_valid_reason(geometry)
            where = _reason_point(reason) or geometry.representative_point()
            if fix:
                geometry = _polygonal(shapely.make_valid(geometry))
                findings.append(Finding("GEOM_FIXED", fid, f"repaired: {reason}", key, where))
            else:
                findings.append(Finding("GEOM_INVALID", fid, reason, key, where))
                geometry = None
        if geometry is not None and not geometry.is_empty:
            if geometry.geom_type == "Polygon":
                geometry = shapely.MultiPolygon([geometry])
            row["geom"] = geometry
    row["_findings"] = findings
    row["_ok"] = row["geom"] is not None and not any(f.severity == "error" for f in findings)
    return row


class OutOfRange(ValueError):
    """A value of the right kind that the column's type cannot hold (too long, too big)."""


class Field(NamedTuple):
    """How one column of a row is filled, worked out once per import."""

    name: str
    source: str | None  # the file's field, or None for a constant
    constant: Any
    words: dict[str, Any] | None  # the file's words for the schema's values
    coerce: Callable[[Any], Any]


def _fields(target: Target, resolved: dict[str, str], mapping: Mapping) -> list[Field]:
    """The columns a file fills, from its fields or the mapping's constants (which are
    text of the mapping file: never decoded as the file's legacy text is)."""
    return [
        Field(
            name,
            resolved.get(name),
            None if name in resolved else mapping.constants[name],
            mapping.values.get(name),
            _coercer(column),
        )
        for name, column in target.columns.items()
        if name in resolved or name in mapping.constants
    ]


def _integer_range(kind: Integer) -> tuple[int, int]:
    """The range of PostgreSQL ``smallint``, ``integer`` or ``bigint``."""
    bits = 64 if isinstance(kind, BigInteger) else 16 if isinstance(kind, SmallInteger) else 32
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _coercer(column: Column) -> Callable[[Any], Any]:
    """A function giving a value as the column's type holds it, or raising ValueError:
    every bound of the type is checked, so no row can fail on its way into the staging
    table. Chosen once per column, as it runs for every value of the file."""
    kind = column.type
    if isinstance(kind, Integer):
        low, high = _integer_range(kind)

        def whole(value: Any) -> int | None:
            if value is None:
                return None
            number = value if isinstance(value, int) else float(str(value).replace(",", "."))
            if number != int(number):
                raise ValueError(value)
            if not low <= int(number) <= high:
                raise OutOfRange("too large for a whole-number field")
            return int(number)

        return whole
    if isinstance(kind, Float | Numeric):
        digits = None
        if isinstance(kind, Numeric) and kind.precision is not None:
            digits = kind.precision - (kind.scale or 0)

        def real(value: Any) -> float | None:
            if value is None:
                return None
            number = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
            if not math.isfinite(number):
                raise OutOfRange("not a finite number")
            if digits is not None and abs(number) >= 10**digits:
                raise OutOfRange(f"too large (at most {digits} digits)")
            return number

        return real
    if isinstance(kind, Date):
        return _as_date
    length = kind.length if isinstance(kind, String) else None

    def as_text(value: Any) -> str | None:
        if value is None:
            return None
        if length and isinstance(value, int | float):
            # Codes stored as numbers in .dbf files lose their leading zeros (01273 -> 1273).
            value = str(int(value)).zfill(length)
        else:
            value = str(value)
        if length and len(value) > length:
            raise OutOfRange(f"longer than {length} characters")
        return value

    return as_text


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(str(value), pattern).date()
        except ValueError:
            continue
    raise ValueError(value)


def _type_name(column: Column) -> str:
    kind = column.type
    if isinstance(kind, Integer):
        return "whole number"
    if isinstance(kind, Float | Numeric):
        return "number"
    if isinstance(kind, Date):
        return "date (YYYY-MM-DD or DD/MM/YYYY)"
    return "text"


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys = [p for part in parts for p in shapely.get_parts(part)]
    return shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()


def _reason_point(reason: str) -> BaseGeometry | None:
    match = re.search(r"\[([-\d.e+]+) ([-\d.e+]+)\]", reason)
    return shapely.Point(float(match[1]), float(match[2])) if match else None


# --- staging and set-based checks -----------------------------------------------------

STAGING = "import_staging"


def _staging_table(target: Target, present: list[str]) -> Table:
    """The temporary table the rows are copied to; dropped at the end of the transaction."""
    return Table(
        STAGING,
        MetaData(),
        # No index on fid: with one, the planner scans fid ranges for "a.fid < b.fid" in
        # the overlap self-join, once per row (quadratic); the GiST index is the way in.
        Column("fid", Integer, nullable=False),
        *(Column(name, target.columns[name].type) for name in present),
        Column("geom", Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=False)),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )


def _copy(conn: Connection, staging: Table, rows: list[dict]) -> None:
    if not rows:
        return
    names = [c.name for c in staging.columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(staging.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row.get(name) for name in names])


def _key_object(table: Any, key: tuple[str, ...]):
    return func.json_build_object(*(part for k in key for part in (literal(k), table.c[k])))


def _point_on(geom):
    return func.ST_AsBinary(func.ST_PointOnSurface(geom))


def _set_checks(conn: Connection, target: Target, s: Table, findings: Findings) -> None:
    """Run the set-based rules, adding what they find to ``findings`` as they go (a
    rule may find something on every other feature)."""
    # The checks join the staging table with itself and the layer: index it first.
    Index(f"{STAGING}_geom", s.c.geom, postgresql_using="gist").create(conn)
    conn.execute(text("ANALYZE " + STAGING))
    key = _key_object(s, target.key)
    duplicates = (
        select(func.array_agg(aggregate_order_by(s.c.fid, s.c.fid)), key)
        .group_by(*(s.c[k] for k in target.key))
        .having(func.count() > 1)
    )
    for fids, key_value in _stream(conn, duplicates):
        for fid in fids:
            others = [f for f in fids if f != fid]
            message = f"same identity as feature(s) {others}"
            findings.append(Finding("KEY_DUPLICATE", fid, message, key_value))
    if "land_use_code" in s.c:
        codes = LandUseCode.__table__
        unknown = (
            select(s.c.fid, s.c.land_use_code, key, _point_on(s.c.geom))
            .outerjoin(codes, codes.c.code == s.c.land_use_code)
            .where(s.c.land_use_code.is_not(None), codes.c.code.is_(None))
        )
        for fid, code, key_value, where in _stream(conn, unknown):
            message = f"land-use code {code!r} is not in the code list"
            findings.append(Finding("LANDUSE_UNKNOWN", fid, message, key_value, _point(where)))
    if "unit_code" in s.c:
        units = AdminUnit.__table__
        unknown = select(s.c.fid, s.c.unit_code, key, _point_on(s.c.geom)).where(
            s.c.unit_code.is_not(None),
            ~exists().where(units.c.code == s.c.unit_code),
        )
        for fid, code, key_value, where in _stream(conn, unknown):
            message = f"unit code {code!r} is not an administrative unit"
            findings.append(Finding("UNIT_UNKNOWN", fid, message, key_value, _point(where)))
    area = ServiceArea.__table__
    outside = select(s.c.fid, key, _point_on(s.c.geom)).where(
        # the area first: PostGIS prepares the geometry that repeats in that place
        ~func.ST_Covers(select(area.c.geom).scalar_subquery(), s.c.geom)
    )
    for fid, key_value, where in _stream(conn, outside):
        message = "outside the service area"
        findings.append(Finding("OUTSIDE_AREA", fid, message, key_value, _point(where)))
    for ref in target.references:
        if ref.code in s.c:  # given by the file or a constant
            findings.extend(_unknown_references(conn, target, s, ref))
    if target.within is not None:
        findings.extend(_outside_project(conn, target, s, target.within))
    if target.coverage:
        findings.extend(_coverage(conn, target, s))
    thin = select(s.c.fid, key, func.ST_Area(s.c.geom), _point_on(s.c.geom)).where(
        2 * func.ST_Area(s.c.geom) < SLIVER_WIDTH_M * func.ST_Perimeter(s.c.geom)
    )
    for fid, key_value, m2, where in _stream(conn, thin):
        message = f"{m2:.2f} m², on average under {SLIVER_WIDTH_M} m wide"
        findings.append(Finding("SLIVER", fid, message, key_value, _point(where)))
    if target.area_check:
        legal = s.c[target.area_check]
        measured = func.ST_Area(s.c.geom)
        mismatched = select(s.c.fid, key, legal, measured, _point_on(s.c.geom)).where(
            legal.is_not(None),
            func.abs(measured - legal)
            > func.greatest(AREA_TOLERANCE_M2, AREA_TOLERANCE_SHARE * legal),
        )
        for fid, key_value, legal_m2, geom_m2, where in _stream(conn, mismatched):
            message = f"legal area {float(legal_m2):.1f} m², geometry {geom_m2:.1f} m²"
            findings.append(Finding("AREA_MISMATCH", fid, message, key_value, _point(where)))


def _unknown_references(
    conn: Connection, target: Target, s: Table, ref: Reference
) -> list[Finding]:
    code = s.c[ref.code]
    named: ColumnElement[bool] = exists().where(ref.table.c[ref.by] == code)
    if ref.table is target.table:  # a unit may be merged into one the same file brings
        other = s.alias("other")
        named = named | exists().where(other.c[ref.by] == code)
    unknown = select(s.c.fid, code, _key_object(s, target.key), _point_on(s.c.geom)).where(
        code.is_not(None), ~named
    )
    return [
        Finding(
            "REF_UNKNOWN",
            fid,
            f"{ref.code} {value!r} is not a {ref.by} of {ref.table.name}",
            key_value,
            _point(where),
        )
        for fid, value, key_value, where in _stream(conn, unknown)
    ]


#: How far a zone may reach past its project's boundary (digitising rounding), m; the
#: same tolerance as the database's own check (migration 0001).
WITHIN_TOLERANCE_M = 0.01


def _outside_project(conn: Connection, target: Target, s: Table, ref: Reference) -> list[Finding]:
    """Zones that reach outside the boundary of the project their code names."""
    boundary = ref.row_of(s.c[ref.code], "geom").scalar_subquery()
    outside = func.ST_Difference(s.c.geom, boundary)
    query = select(
        s.c.fid,
        s.c[ref.code],
        _key_object(s, target.key),
        func.ST_Area(outside),
        _point_on(outside),
    ).where(
        ~func.ST_Covers(boundary, s.c.geom),
        ~func.ST_Covers(func.ST_Buffer(boundary, WITHIN_TOLERANCE_M), s.c.geom),
    )
    return [
        Finding(
            "OUTSIDE_PROJECT",
            fid,
            f"{m2:.2f} m² outside the boundary of planning project {code}",
            key_value,
            _point(where),
        )
        for fid, code, key_value, m2, where in _stream(conn, query)
    ]


def _overlaps(conn: Connection, target: Target, s: Table) -> list[Finding]:
    findings = []
    a, b = s.alias("a"), s.alias("b")
    shared = func.ST_Intersection(a.c.geom, b.c.geom)
    within_file = (
        select(
            a.c.fid, b.c.fid, _key_object(a, target.key), func.ST_Area(shared), _point_on(shared)
        )
        .join(b, and_(a.c.fid < b.c.fid, a.c.geom.op("&&")(b.c.geom)))
        .where(
            func.ST_Relate(a.c.geom, b.c.geom, INTERIORS_MEET),
            func.ST_Area(shared) > OVERLAP_TOLERANCE_M2,
        )
    )
    for fid, other, key_value, m2, where in _stream(conn, within_file):
        message = f"overlaps feature {other} of the file by {m2:.1f} m²"
        findings.append(Finding("OVERLAP", fid, message, key_value, _point(where)))
    t = target.table
    replaced = s.alias("r")
    shared = func.ST_Intersection(s.c.geom, t.c.geom)
    with_stored = (
        select(
            s.c.fid,
            _key_object(s, target.key),
            _key_object(t, target.key),
            func.ST_Area(shared),
            _point_on(shared),
        )
        .join(t, s.c.geom.op("&&")(t.c.geom))
        .where(
            func.ST_Relate(s.c.geom, t.c.geom, INTERIORS_MEET),
            # a stored row the file replaces does not count
            ~exists().where(and_(*(replaced.c[k] == t.c[k] for k in target.key))),
            func.ST_Area(shared) > OVERLAP_TOLERANCE_M2,
        )
    )
    for fid, key_value, other, m2, where in _stream(conn, with_stored):
        message = f"overlaps stored {t.name} {other} by {m2:.1f} m²"
        findings.append(Finding("OVERLAP", fid, message, key_value, _point(where)))
    return findings


BLOCKS = "import_blocks"


def _coverage(conn: Connection, target: Target, s: Table) -> list[Finding]:
    """Overlaps and gaps of features that should tile each block (a map sheet).

    Each block is dissolved once, with its stored features the file does not replace.
    Holes in a block's union are gaps. The sum of the features' areas less the area of
    their union bounds every pairwise overlap from above, so when that excess, over the
    blocks and the stored features around them, is within the tolerance no pair can
    overlap beyond it, and the search pair by pair (a DE-9IM relate for every pair of
    neighbours, most of the cost of validating a clean file) is not needed."""
    blocks = _dissolve(conn, target, s)
    findings = _gaps(conn, target, blocks)
    if _excess(conn, target, blocks) > OVERLAP_TOLERANCE_M2:
        findings.extend(_overlaps(conn, target, s))
    return findings


def _dissolve(conn: Connection, target: Target, s: Table) -> Table:
    """A temporary table of each block's union and the sum of its features' areas."""
    blocks = Table(
        BLOCKS,
        MetaData(),
        *(Column(g, target.columns[g].type) for g in target.coverage),
        Column("parts_m2", Float),
        Column("geom", Geometry("GEOMETRY", srid=STORAGE_SRID, spatial_index=False)),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    blocks.create(conn)
    t, r = target.table, s.alias("r")
    replaced = exists().where(and_(*(r.c[k] == t.c[k] for k in target.key)))
    in_blocks = tuple_(*(t.c[g] for g in target.coverage)).in_(
        select(*(s.c[g] for g in target.coverage))
    )
    pieces = union_all(
        select(*(s.c[g] for g in target.coverage), s.c.geom),
        select(*(t.c[g] for g in target.coverage), t.c.geom).where(in_blocks, ~replaced),
    ).subquery("pieces")
    group = [pieces.c[g] for g in target.coverage]
    dissolved = select(
        *group, func.sum(func.ST_Area(pieces.c.geom)), func.ST_Union(pieces.c.geom)
    ).group_by(*group)
    conn.execute(insert(blocks).from_select([c.name for c in blocks.columns], dissolved))
    return blocks


def _excess(conn: Connection, target: Target, blocks: Table) -> float:
    """Sum of areas less the area of the union, over the blocks and the stored features
    of other blocks that reach into them (neighbouring sheets)."""
    t = target.table
    block_of_t = tuple_(*(t.c[g] for g in target.coverage))
    around = select(t.c.geom, func.ST_Area(t.c.geom).label("parts_m2")).where(
        exists().where(t.c.geom.op("&&")(blocks.c.geom)),
        block_of_t.not_in(select(*(blocks.c[g] for g in target.coverage))),
    )
    pieces = union_all(select(blocks.c.geom, blocks.c.parts_m2), around).subquery("pieces")
    excess = func.sum(pieces.c.parts_m2) - func.ST_Area(func.ST_Union(pieces.c.geom))
    return conn.execute(select(func.coalesce(excess, 0))).scalar_one()


def _gaps(conn: Connection, target: Target, blocks: Table) -> list[Finding]:
    """Holes in the union of each block: land no feature claims. Gaps that reach the
    block's outer edge are not holes and are not found; neither are gaps between blocks."""
    parts = func.ST_Dump(blocks.c.geom).scalar_table_valued("geom")
    group = [blocks.c[g] for g in target.coverage]
    polygons = select(*group, parts.label("geom")).subquery("polygons")
    dumped = (sql_column("path", ARRAY(Integer)), sql_column("geom", Geometry))
    rings = func.ST_DumpRings(polygons.c.geom).table_valued(*dumped).lateral("rings")
    hole = rings.c.geom
    query = (
        select(
            _key_object(polygons, target.coverage),
            func.ST_Area(hole),
            func.ST_Perimeter(hole),
            _point_on(hole),
        )
        .select_from(polygons.join(rings, literal(True)))
        .where(rings.c.path[1] > 0, func.ST_Area(hole) > GAP_TOLERANCE_M2)
    )
    findings = []
    for block, m2, perimeter, where in _stream(conn, query):
        width = 2 * m2 / perimeter
        kind = "a sliver gap" if width < SLIVER_WIDTH_M else "a gap"
        message = f"{kind} of {m2:.2f} m² (mean width {width:.2f} m) that no feature covers"
        findings.append(Finding("GAP", None, message, block, _point(where)))
    return findings


def _upsert(conn: Connection, target: Target, s: Table) -> tuple[int, int, int]:
    """Insert new keys, update changed rows, leave identical rows alone; the counts.

    Codes become ids on the way (project_code -> project_id). A layer referring to itself
    (a unit merged into another) gets those ids in a second statement, once every row of
    the file is there to be referred to."""
    table = target.table
    by_code = {r.code: r for r in target.references}
    later = [r for r in target.references if r.table is table and r.code in s.c]
    names = [c.name for c in s.columns if c.name != "fid" and c.name not in {r.code for r in later}]
    columns = [by_code[n].column if n in by_code else n for n in names]
    values = [
        by_code[n].row_of(s.c[n]).scalar_subquery()
        if n in by_code
        else _with_default(target.columns.get(n), s.c[n])
        for n in names
    ]
    updates = [c for c in columns if c not in target.conflict]
    rows = insert(table).from_select(columns, select(*values).order_by(s.c.fid))
    statement = rows.on_conflict_do_update(
        index_elements=list(target.conflict),
        set_={c: rows.excluded[c] for c in updates},
        where=tuple_(*(_compared(table.c[c]) for c in updates)).is_distinct_from(
            tuple_(*(_compared(rows.excluded[c]) for c in updates))
        ),
    ).returning(
        table.c.id, (literal_column("xmax") == literal_column("'0'::xid")).label("inserted")
    )
    total = conn.execute(select(func.count()).select_from(s)).scalar_one()
    with _spatial_indexes_rebuilt(conn, table, total):
        if later:  # which rows the upsert wrote, so the links do not count them again
            written: dict[int, bool] = dict(conn.execute(statement).all())
        else:  # counted by the database: a million ids need not come back
            rows_written = statement.cte("written")
            counted = select(func.count().filter(rows_written.c.inserted), func.count())
            inserted, changed = conn.execute(counted.select_from(rows_written)).one()
            return inserted, changed - inserted, total - changed
    for ref in later:
        linked = _link(conn, target, s, ref)
        written |= {row_id: False for row_id in linked if row_id not in written}
    inserted = sum(written.values())
    updated = len(written) - inserted
    return inserted, updated, total - inserted - updated


@contextmanager
def _spatial_indexes_rebuilt(conn: Connection, table: Table, rows: int) -> Iterator[None]:
    """Drop the table's GiST indexes for a write of ``rows`` when the table holds fewer,
    and build them again after: PostGIS builds a GiST index from sorted
    geometries in a fraction of the time that inserting each row into it takes. The
    drop locks the table against readers until the import commits, which for a bulk load
    (a new city's parcels) is what it is: nobody reads a half-loaded layer."""
    # Counted only as far as it matters: no cost for a big table.
    stored = select(literal(1)).select_from(table).limit(rows).subquery()
    if conn.execute(select(func.count()).select_from(stored)).scalar_one() >= rows:
        yield
        return
    spatial = [
        index for index in table.indexes if index.dialect_options["postgresql"]["using"] == "gist"
    ]
    definitions = (
        conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname IN :names").bindparams(
                bindparam("names", expanding=True)
            ),
            {"names": [index.name for index in spatial]},
        )
        .scalars()
        .all()
    )
    for index in spatial:
        conn.execute(DropIndex(index))
    yield
    for definition in definitions:
        conn.execute(text(definition))


def _link(conn: Connection, target: Target, s: Table, ref: Reference) -> list[int]:
    """Set a self-reference from the file's codes; the ids of the rows it changed."""
    table = target.table
    wanted = ref.row_of(s.c[ref.code], other_than=table.c.id).scalar_subquery()
    keys = and_(*(table.c[k] == s.c[k] for k in target.conflict))
    statement = (
        table.update()
        .where(keys, table.c[ref.column].is_distinct_from(wanted))
        .values({ref.column: wanted})
        .returning(table.c.id)
    )
    return list(conn.execute(statement).scalars())


def _compared(column: Any) -> Any:
    """A column as the upsert compares it: a geometry with its rings in one orientation,
    so a parcel stored clockwise (as Shapefiles and some tools write) is not "changed"
    by the same parcel in a file that has it the other way round."""
    return func.ST_ForcePolygonCCW(column) if column.key == "geom" else column


def _with_default(column: Column | None, value: Any) -> Any:
    """An empty value of a column with a server default takes the default."""
    if column is None or column.server_default is None:
        return value
    default = getattr(column.server_default, "arg", None)
    if default is None:
        return value
    return func.coalesce(value, default if hasattr(default, "text") else literal(default))


def _stream(conn: Connection, query: Select) -> Iterator[Row]:
    """The rows of a findings query fetched in chunks (a server-side cursor): a file
    with a finding on every feature does not arrive in memory at once."""
    yield from conn.execute(query, execution_options={"yield_per": 10_000})


def _point(wkb: bytes | memoryview) -> bytes:
    return bytes(wkb)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]
