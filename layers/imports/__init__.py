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

The package: :mod:`.targets` (the layers a file can go to), :mod:`.mapping` (fields to
columns), :mod:`.convert` (a record to a row), :mod:`.checks` (the set-based rules),
:mod:`.write` (the upsert), :mod:`.report` (findings and the report's files).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import (
    Connection,
    Engine,
    func,
    select,
)
from sqlalchemy.exc import DataError, IntegrityError

from gis import encoding as vn_encoding
from gis.crs import WGS84, crs_from_user_input, suggest_crs
from gis.sources import Source, attach_labels, open_source, read_batches
from layers.base import STORAGE_SRID
from layers.imports.checks import check_units, copy_rows, run_checks, staging_table
from layers.imports.convert import convert_record, plan_fields, prepare_geometries, text_samples
from layers.imports.mapping import exported_names, load_mapping, resolve_mapping
from layers.imports.report import RULES, Finding, Findings, Report
from layers.imports.targets import TARGETS, ImportStopped, Target
from layers.imports.write import upsert
from layers.service_area import ServiceArea

__all__ = [
    "RULES",
    "TARGETS",
    "Finding",
    "Findings",
    "ImportStopped",
    "Report",
    "Target",
    "load_mapping",
    "resolve_mapping",
    "run_import",
]


def run_import(
    bind: Engine | Connection,
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
    units: tuple[str, ...] = (),
) -> Report:
    """Validate ``path`` for ``layer`` and, when nothing is an error and not ``dry_run``,
    upsert it in one transaction. ``progress(phase, features read, features in the file)``
    is told of each batch read and of the start of the checks and of the write. Raises
    :class:`ImportStopped` or :class:`gis.sources.SourceError` when it cannot start or
    the file cannot be read.

    Given a connection, the import is part of the caller's transaction (a savepoint,
    released or rolled back as above; the caller commits), so that it can say who
    imports and why (:func:`layers.editing.context`) and be one step of a larger change.
    Given an engine, it runs in a transaction of its own. With ``units`` (an account
    limited to them), a feature outside them is an error (``OUTSIDE_UNITS``).
    """
    if isinstance(bind, Engine):
        with bind.connect() as conn, conn.begin():
            return run_import(
                conn,
                path,
                layer,
                source_layer=source_layer,
                crs=crs,
                encoding=encoding,
                mapping=mapping,
                fix=fix,
                dry_run=dry_run,
                batch_size=batch_size,
                progress=progress,
                units=units,
            )
    conn = bind
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
    source_crs = _source_crs(conn, source, crs)
    batches: Iterable[list[dict]] = read_batches(source, batch_size)
    source_fields = list(source.fields)
    features = source.count
    if source.drawing:  # a text labels the shape it lies in, anywhere in the drawing
        records, labels = attach_labels([r for batch in batches for r in batch])
        batches, source_fields = [records], source_fields + labels
        features = len(records)  # the labels placed are part of their shapes now
    field_map = load_mapping(target, mapping, exported_names(source.path))
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
    fields = plan_fields(target, resolved, field_map)
    staging = staging_table(target, [f.name for f in fields])
    clock = time.perf_counter()
    with conn.begin_nested() as transaction:
        staging.create(conn)
        same_crs = crs_from_user_input(source_crs).to_epsg() == STORAGE_SRID
        from_crs = None if same_crs else source_crs
        # Text GDAL decoded (declared encodings, UTF-8 formats) is used as read; raw
        # bytes are decoded as told, or as detected from the first batch.
        decode_as: str | None = encoding if source.legacy_text else None
        report.encoding = decode_as if source.legacy_text else "declared by the file"
        for batch in batches:
            if source.legacy_text and decode_as is None:
                decode_as = vn_encoding.detect(text_samples(batch, resolved.values()))
                report.encoding = f"{decode_as} (detected)"
            geometries, valid = prepare_geometries(batch, from_crs, source.drawing)
            rows = []
            for record, geometry, is_valid in zip(batch, geometries, valid, strict=True):
                row = convert_record(
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
            copy_rows(conn, staging, rows)
            report.read += len(batch)
            if progress:
                progress("read", report.read, features)
        clock = report.lap("read", clock)
        if progress:
            progress("check", report.read, None)
        run_checks(conn, target, staging, report.findings)
        if units:  # an account limited to units imports only there
            check_units(conn, target, staging, units, report.findings)
        clock = report.lap("check", clock)
        if not report.refused:
            if progress:
                progress("write", report.read, None)
            try:
                with conn.begin_nested():
                    counts = upsert(conn, target, staging)
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


def import_as(
    engine: Engine,
    actor: str,
    reason: str | None,
    path: Path,
    layer: str,
    grounds: Any = None,
    **options: Any,
) -> Report:
    """:func:`run_import` in a transaction that says who imports and why (None: no
    reason given; ``grounds``: the decision or dossier, :class:`layers.editing.Grounds`):
    the whole import is one change set of the history."""
    from layers.editing import Grounds, context

    with engine.connect() as conn, conn.begin():
        conn.execute(context(actor, "import", reason, grounds=grounds or Grounds()))
        return run_import(conn, path, layer, **options)


def _source_crs(conn: Connection, source: Source, given: str | None) -> str:
    if given:
        crs = crs_from_user_input(given)
        epsg = crs.to_epsg()
        return f"EPSG:{epsg}" if epsg else crs.to_wkt()
    if source.crs:
        return source.crs
    area = _service_area_bounds(conn)
    suggestions = suggest_crs(source.bounds, area) if source.bounds else []
    hint = (
        "; the coordinates fit " + ", ".join(f"EPSG:{c}" for c in suggestions)
        if suggestions
        else "; the coordinates fit no VN-2000 zone inside the service area"
    )
    raise ImportStopped(
        f"{source.path.name} does not say its coordinate reference system; give it with --crs{hint}"
    )


def _service_area_bounds(conn: Connection) -> tuple[float, float, float, float]:
    box = func.Box2D(func.ST_Transform(ServiceArea.__table__.c.geom, WGS84))
    row = conn.execute(
        select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
    ).one()
    xmin, ymin, xmax, ymax = row
    return (xmin, ymin, xmax, ymax)
