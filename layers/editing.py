"""Writing features (OGC API Features Part 4): checked values in, SQL statements out.

A feature's body is parsed here into :class:`Changes` (properties of the right type,
a polygonal geometry with finite coordinates inside its CRS's area of use); the database
then checks its rules (validity, service area, zone inside its plan, codes) and bumps
the row's ``version`` (migration 0008), which is the ETag. A conditional write names the
version it replaces in its WHERE clause, so of two editors racing on one version, the
second's UPDATE finds no row once the first has committed: no lost update.

Each write transaction says who writes and why (:func:`context`): the journal
``private.edits`` and the row's ``updated_by`` take it from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import Select, delete, func, insert, literal, select, update
from sqlalchemy.sql.elements import ColumnElement

from gis.crs import WGS84, in_area_of_use
from layers import accounts
from layers.base import STORAGE_SRID, Audience, BodyError, Layer
from layers.features import OutputCRS, feature_json
from layers.properties import (
    Kind,
    PropertyValueError,
    check_text,
    check_value,
    kind,
    parse_value,
)

#: What a writer reads and writes: every row, public and private properties.
EDITOR = Audience(all_rows=True, private=True)


class FeatureError(BodyError):
    """The body is not a feature of the layer."""


@dataclass(frozen=True)
class Changes:
    """Checked column values, and the geometry as WKB in ``srid`` (None: unchanged)."""

    values: dict[str, Any] = field(default_factory=dict)
    geometry: bytes | None = None
    srid: int = WGS84


def writable(layer: Layer) -> tuple[str, ...]:
    """The properties a writer sets: the readable ones but those the database computes."""
    return tuple(name for name in layer.properties(EDITOR) if layer.table.c[name].computed is None)


def parse(layer: Layer, body: Any, srid: int, *, partial: bool, lat_first: bool = False) -> Changes:
    """A GeoJSON Feature (``partial``: a JSON merge patch of one) as checked changes.

    A full feature sets every writable property (absent ones become null); a patch sets
    the ones it names (``null`` clears one). Properties the database computes (areas)
    are ignored, as QGIS sends back what it read; unknown ones are refused.
    """
    if not isinstance(body, dict):
        raise FeatureError("", "the body is a GeoJSON Feature (a JSON object)")
    if not partial and body.get("type") != "Feature":
        raise FeatureError("/type", 'a GeoJSON Feature has "type": "Feature"')
    for member in () if partial else ("geometry", "properties"):
        if member not in body:  # RFC 7946: both members, null or not
            raise FeatureError(f"/{member}", f'a GeoJSON Feature has a "{member}" member')
    properties = body.get("properties", {}) if partial else body["properties"]
    if properties is None and not partial:
        properties = {}
    if not isinstance(properties, dict):
        raise FeatureError("/properties", "properties are a JSON object")
    names = writable(layer)
    computed = set(layer.properties(EDITOR)) - set(names)
    values: dict[str, Any] = {} if partial else dict.fromkeys(names)
    for name, value in properties.items():
        if name in computed:
            continue
        if name not in names:
            raise FeatureError(
                f"/properties/{name}",
                f"{layer.id} has no such property; writable: {', '.join(names)}",
            )
        values[name] = None if value is None else _value(layer, name, value)
    geometry = None
    if "geometry" in body or not partial:
        if body.get("geometry") is None:
            raise FeatureError("/geometry", f"a feature of {layer.id} needs a geometry")
        geometry = _geometry(body["geometry"], srid, lat_first)
    return Changes(values, geometry, srid)


def _value(layer: Layer, name: str, value: Any) -> Any:
    column = layer.table.c[name]
    expected = kind(column)
    where = f"/properties/{name}"
    if expected is Kind.INTEGER and not (isinstance(value, int) and not isinstance(value, bool)):
        raise FeatureError(where, f"{name} is an integer")
    if expected is Kind.DATE:  # JSON has no dates: YYYY-MM-DD, as in a query string
        if not isinstance(value, str):
            raise FeatureError(where, f"{name} is a date, YYYY-MM-DD")
        try:
            return parse_value(layer, name, value)
        except PropertyValueError as exc:
            raise FeatureError(where, str(exc)) from None
    if expected is Kind.ARRAY:
        if not isinstance(value, list):
            raise FeatureError(where, f"{name} is a list")
        _texts_in(value, where)
        return value
    try:
        return check_value(layer, name, value)
    except PropertyValueError as exc:
        raise FeatureError(where, str(exc)) from None


#: How deeply a JSON property may nest (a plan's list of documents needs two or three).
MAX_DEPTH = 32


def _texts_in(value: Any, where: str) -> None:
    """A JSON value nests at most :data:`MAX_DEPTH` deep and its texts are text
    PostgreSQL can store (no NUL). Walked with a stack, not by recursion: a client may
    nest a value a thousand levels deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FeatureError(where, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            try:
                check_text(item, where)
            except PropertyValueError as exc:
                raise FeatureError(where, str(exc)) from None
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, dict):
            stack.extend((child, depth + 1) for child in (*item.keys(), *item.values()))


#: How deep a geometry's coordinates nest: polygons of rings of positions.
DEPTH = {"Polygon": 3, "MultiPolygon": 4}


def _positions(value: Any, depth: int) -> bool:
    """Whether ``value`` is lists nested ``depth`` deep with positions (2 or 3 numbers)
    at the bottom; shapely's own reading fails on anything else in its own ways."""
    if not isinstance(value, list):
        return False
    if depth == 1:
        return 2 <= len(value) <= 3 and all(
            isinstance(c, int | float) and not isinstance(c, bool) for c in value
        )
    return all(_positions(item, depth - 1) for item in value)


def _geometry(given: Any, srid: int, lat_first: bool = False) -> bytes:
    kind = given.get("type") if isinstance(given, dict) else None
    if not isinstance(kind, str) or kind not in DEPTH:
        raise FeatureError("/geometry", "a GeoJSON Polygon or MultiPolygon")
    if not _positions(given.get("coordinates"), DEPTH[kind]):
        raise FeatureError("/geometry/coordinates", f"the coordinates of a GeoJSON {kind}")
    try:
        geom = shape(given)
    except (ValueError, shapely.errors.ShapelyError):  # a ring of fewer than 4 positions
        raise FeatureError("/geometry", "not a valid GeoJSON geometry") from None
    if lat_first:  # EPSG:4326 as the standard orders it: latitude, longitude
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    coords = shapely.get_coordinates(geom)
    if geom.is_empty or len(coords) == 0:
        raise FeatureError("/geometry", "the geometry is empty")
    if not all(math.isfinite(c) for c in coords.ravel()):
        raise FeatureError("/geometry", "coordinates must be finite numbers")
    xmin, ymin, xmax, ymax = geom.bounds
    if not (in_area_of_use(xmin, ymin, srid) and in_area_of_use(xmax, ymax, srid)):
        raise FeatureError("/geometry", f"coordinates outside the area of use of EPSG:{srid}")
    return shapely.to_wkb(geom, include_srid=False)


def stored_geometry(changes: Changes) -> ColumnElement[Any]:
    made = func.ST_Multi(func.ST_GeomFromWKB(changes.geometry, changes.srid))
    return made if changes.srid == STORAGE_SRID else func.ST_Transform(made, STORAGE_SRID)


def _columns(layer: Layer, changes: Changes) -> dict[str, Any]:
    values: dict[str, Any] = dict(changes.values)
    if changes.geometry is not None:
        values[layer.storage_geometry_column] = stored_geometry(changes)
    return values


def _written(layer: Layer, audience: Audience) -> tuple[ColumnElement[Any], ...]:
    """What a write returns: the key, the new version and the feature as the writer reads
    it (CRS84), in the same statement (one round trip fewer than reading it back)."""
    table = layer.table
    return (
        table.c[layer.key].label("key"),
        table.c.version,
        feature_json(layer, OutputCRS(), audience).label("feature"),
    )


def create(layer: Layer, changes: Changes, audience: Audience = EDITOR) -> Any:
    """INSERT the feature; a property left out (null) that the table has a default for
    takes the default (a plan's first state, an unpublished plan)."""
    table = layer.table
    values = {
        name: value
        for name, value in _columns(layer, changes).items()
        if value is not None or table.c[name].server_default is None
    }
    return insert(table).values(values).returning(*_written(layer, audience))


def _where(layer: Layer, feature_id: int, versions: tuple[int, ...] | None) -> list:
    table = layer.table
    where = [table.c[layer.key] == feature_id]
    if versions is not None:
        where.append(table.c.version.in_(versions))
    return where


def change(
    layer: Layer,
    feature_id: int,
    changes: Changes,
    versions: tuple[int, ...] | None,
    audience: Audience = EDITOR,
) -> Any:
    """UPDATE the feature if it is at one of ``versions`` (None: whatever its version);
    returns it as :func:`create` does, or no row.

    The version is compared in the UPDATE itself: of two writers of one version, the
    second waits for the first's row lock, then finds the version changed: no row.
    """
    table = layer.table
    values = _columns(layer, changes) or {layer.key: table.c[layer.key]}
    return (
        update(table)
        .where(*_where(layer, feature_id, versions))
        .values(values)
        .returning(*_written(layer, audience))
    )


def remove(layer: Layer, feature_id: int, versions: tuple[int, ...] | None) -> Any:
    table = layer.table
    return delete(table).where(*_where(layer, feature_id, versions)).returning(table.c[layer.key])


def current(layer: Layer, feature_id: int) -> Select:
    """Who wrote the feature's current version, and when (for a 412)."""
    table = layer.table
    return select(table.c.version, table.c.updated_by, table.c.updated_at).where(
        table.c[layer.key] == feature_id
    )


def outside_units(layer: Layer, feature_id: int, units: tuple[str, ...]) -> Select:
    """True when the feature lies outside ``units`` (:func:`layers.accounts.in_units`)."""
    table = layer.table
    # Locked: the feature cannot be moved between this check and the write.
    return (
        select(~accounts.in_units(table, units))
        .where(table.c[layer.key] == feature_id)
        .with_for_update(of=table)
    )


@dataclass(frozen=True)
class Grounds:
    """Why a change is made, beside the reason: the decision or the dossier it carries
    out, or the change set it reverts (the change set records them, migration 0009)."""

    decision: str | None = None
    dossier: str | None = None
    reverts: int | None = None


def context(
    actor: str,
    via: str,
    reason: str | None,
    unconditional: bool = False,
    grounds: Grounds = Grounds(),
) -> Select:
    """Who writes, through what and why, for the rest of the transaction: the database's
    triggers record it (``SET LOCAL landplan.*``)."""
    settings = {
        "landplan.actor": actor,
        "landplan.via": via,
        "landplan.reason": reason or "",
        "landplan.unconditional": "on" if unconditional else "off",
        "landplan.decision": grounds.decision or "",
        "landplan.dossier": grounds.dossier or "",
        "landplan.reverts": "" if grounds.reverts is None else str(grounds.reverts),
    }
    return select(*(func.set_config(literal(k), literal(v), True) for k, v in settings.items()))
