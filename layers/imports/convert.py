"""A record of the file as a row of the layer: text decoded, values converted within the
column's bounds, geometry taken to the storage CRS and checked, all before the database.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, NamedTuple

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    Integer,
    Numeric,
    SmallInteger,
    String,
)

from gis import encoding as vn_encoding
from gis.crs import transform_geometry
from gis.sources import TEXT_FIELD
from layers.base import STORAGE_SRID
from layers.imports.mapping import Mapping, normalised_word
from layers.imports.report import Finding
from layers.imports.targets import Target


def text_samples(batch: list[dict], names: Iterable[str]) -> list[bytes]:
    names = list(names)
    samples = []
    for record in batch[:5000]:
        for name in names:
            value = record.get(name)
            if isinstance(value, str) and not value.isascii():
                samples.append(value.encode("latin-1"))
    return samples


def prepare_geometries(
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


def convert_record(
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
            value = words.get(normalised_word(str(value)), value)
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


def plan_fields(target: Target, resolved: dict[str, str], mapping: Mapping) -> list[Field]:
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
