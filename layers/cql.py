"""CQL2 filters (OGC API Features Part 3): parsed and checked into a value, then SQL.

Parsing is pygeofilter's. Before any SQL exists, :func:`parse` checks the filter against
the layer: only public properties, only what ``/conformance`` declares (basic CQL2,
advanced comparisons, spatial functions; no arithmetic, functions, property-to-property
comparisons, temporal or array operators), every literal of the type of its property
(:mod:`layers.properties`), geometries valid and in CRS84, nesting bounded. What passes
cannot make PostgreSQL fail; :func:`where` turns it into bound-parameter SQL.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import shapely
import shapely.geometry
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import handle
from pygeofilter.backends.sqlalchemy.evaluate import SQLAlchemyFilterEvaluator
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text
from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

from layers.base import Layer
from layers.properties import Kind, PropertyValueError, check_text, check_value, kind

LANGUAGES = ("cql2-text", "cql2-json")
GEOMETRY_NAMES = ("geometry", "geom")
#: Longer than any filter a person or a map writes (a parcel's outline is a few kB).
MAX_LENGTH = 20_000
#: Levels of AND / OR / NOT: a chain of ``a OR b OR …`` nests one level per OR.
MAX_DEPTH = 100
#: Names of CRS84 a geometry's ``crs`` or a BBOX may carry (GeoJSON's lon/lat order).
CRS84_NAMES = {
    "CRS84",
    "OGC:CRS84",
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "EPSG:4326",
    "urn:ogc:def:crs:EPSG::4326",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
}
COMPARISONS = (ast.Comparison, ast.Between, ast.Like, ast.In, ast.IsNull)
UNSUPPORTED = (
    "is not supported; /conformance lists basic CQL2, LIKE, BETWEEN, IN and the spatial "
    "functions (S_INTERSECTS, S_WITHIN …)"
)


class FilterError(ValueError):
    """A filter that cannot be parsed, or that the layer cannot answer; says why."""


@dataclass(frozen=True, eq=False)
class Filter:
    """A CQL2 filter parsed and checked against one layer."""

    layer: Layer
    node: ast.Node


def parse(layer: Layer, text: str, lang: str = "cql2-text") -> Filter:
    """Parse and check ``text``; :class:`FilterError` says what is wrong and where."""
    if lang not in LANGUAGES:
        raise FilterError(f"unknown filter-lang {lang!r}; use one of {', '.join(LANGUAGES)}")
    if "\x00" in text:
        raise FilterError("the filter must not contain a NUL character")
    if len(text) > MAX_LENGTH:
        raise FilterError(f"the filter is longer than {MAX_LENGTH} characters")
    try:
        node = _parse_text(text) if lang == "cql2-text" else _parse_json(text)
    except RecursionError:
        raise FilterError(f"the filter nests more than {MAX_DEPTH} levels deep") from None
    _Checker(layer).check(node)
    return Filter(layer, node)


def where(query: Filter) -> ColumnElement[bool]:
    """The checked filter as a SQL condition (every value a bound parameter)."""
    return _Evaluator(_field_mapping(query.layer), None).evaluate(query.node)


def _parse_text(text: str) -> ast.Node:
    try:
        return parse_text(text)
    except UnexpectedEOF:
        raise FilterError("malformed cql2-text filter: it ends too early") from None
    except UnexpectedInput as exc:
        if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
            raise FilterError("malformed cql2-text filter: it ends too early") from None
        if isinstance(exc, UnexpectedToken):
            what = f"unexpected {str(exc.token)[:40]!r}"
        elif isinstance(exc, UnexpectedCharacters):
            what = f"unexpected {exc.char!r}"
        else:
            what = "unexpected input"
        raise FilterError(f"malformed cql2-text filter: {what} at column {exc.column}") from None
    except ValueError as exc:  # a date or timestamp that is not one
        raise FilterError(f"malformed cql2-text filter: {_first_line(exc)}") from None
    except Exception:
        raise FilterError("malformed cql2-text filter") from None


def _parse_json(text: str) -> ast.Node:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FilterError(
            f"cql2-json filter is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(document, dict):
        raise FilterError(
            f"a cql2-json filter is a JSON object, not {type(document).__name__} "
            '(e.g. {"op": "=", "args": [{"property": "code"}, "CB-QHC-2017"]})'
        )
    try:
        return parse_json(document)
    except RecursionError:
        raise
    except Exception:
        raise FilterError(
            "malformed cql2-json filter: an expression is not an object with 'op' and "
            "'args', a property, a literal or a geometry"
        ) from None


def _field_mapping(layer: Layer) -> dict[str, Any]:
    columns = {name: layer.table.c[name] for name in layer.public_properties}
    geometry = layer.table.c[layer.geometry_column]
    return {**columns, **dict.fromkeys(GEOMETRY_NAMES, geometry)}


class _Checker:
    """Walks the tree without recursion (its depth is what is being bounded)."""

    def __init__(self, layer: Layer):
        self.layer = layer
        self.queryables = f"see /collections/{layer.id}/queryables"

    def check(self, root: ast.Node) -> None:
        self._known_properties(root)
        stack: list[tuple[Any, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise FilterError(
                    f"the filter nests more than {MAX_DEPTH} levels of AND, OR and NOT; "
                    "compare with a list instead: code IN ('a', 'b')"
                )
            if isinstance(node, ast.Combination):
                stack += [(node.lhs, depth + 1), (node.rhs, depth + 1)]
            elif isinstance(node, ast.Not):
                stack.append((node.sub_node, depth + 1))
            elif isinstance(node, ast.Include):
                pass
            elif isinstance(node, COMPARISONS):
                self._comparison(node)
            elif isinstance(node, ast.SpatialComparisonPredicate):
                self._spatial(node)
            elif isinstance(node, ast.BBox):
                self._geometry_property(node.lhs)
                _check_box(node.minx, node.miny, node.maxx, node.maxy, node.crs)
            else:
                raise FilterError(f"{_name(node)} {UNSUPPORTED}")

    def _known_properties(self, root: ast.Node) -> None:
        names: set[str] = set()
        stack: list[Any] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Attribute):
                names.add(node.name)
            elif isinstance(node, ast.Node):
                stack += node.get_sub_nodes() or []
            elif isinstance(node, list | tuple):
                stack += list(node)
        mapping = _field_mapping(self.layer)
        unknown = sorted(names - set(mapping))
        if unknown:
            raise FilterError(
                f"unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)} in "
                f"filter; queryable: {', '.join(sorted(mapping))}"
            )

    def _comparison(self, node: Any) -> None:
        if isinstance(node, ast.Comparison):
            sides = [node.lhs, node.rhs]
            for side in sides:
                if isinstance(side, ast.Arithmetic | ast.Function):
                    raise FilterError(f"{_name(side)} {UNSUPPORTED}")
            attributes = [side for side in sides if isinstance(side, ast.Attribute)]
            literals = [side for side in sides if not isinstance(side, ast.Attribute)]
            if len(attributes) != 1:
                raise FilterError(
                    "a comparison needs one property and one value (comparing two properties "
                    f"or two values {UNSUPPORTED})"
                )
            name = self._scalar_property(attributes[0])
            self._value(name, literals[0])
            return
        name = self._scalar_property(node.lhs)
        if isinstance(node, ast.Between):
            self._value(name, node.low)
            self._value(name, node.high)
        elif isinstance(node, ast.In):
            for item in node.sub_nodes:
                self._value(name, item)
        elif isinstance(node, ast.Like):
            if kind(self.layer.table.c[name]) is not Kind.TEXT:
                raise FilterError(f"LIKE compares text, and {name} is not; {self.queryables}")
            if not isinstance(node.pattern, str):
                raise FilterError(f"LIKE takes a text pattern; {self.queryables}")
            self._text(node.pattern, name)

    def _scalar_property(self, node: Any) -> str:
        if not isinstance(node, ast.Attribute):
            raise FilterError(f"{_name(node)} where a property is expected {UNSUPPORTED}")
        if node.name in GEOMETRY_NAMES:
            raise FilterError(f"{node.name} is compared with S_INTERSECTS and the like, not =")
        return node.name

    def _value(self, name: str, value: Any) -> None:
        if isinstance(value, ast.Node) or not isinstance(value, values.LITERALS):
            raise FilterError(f"{_name(value)} as a value {UNSUPPORTED}")
        try:
            check_value(self.layer, name, value)
        except PropertyValueError as exc:
            raise FilterError(f"{exc}; {self.queryables}") from None

    def _text(self, value: str, name: str) -> None:
        try:
            check_text(value, name)
        except PropertyValueError as exc:
            raise FilterError(str(exc)) from None

    def _geometry_property(self, node: Any) -> None:
        if not (isinstance(node, ast.Attribute) and node.name in GEOMETRY_NAMES):
            raise FilterError(
                f"a spatial function compares the property geometry with a geometry, "
                f"not {_name(node)}"
            )

    def _spatial(self, node: ast.SpatialComparisonPredicate) -> None:
        sides = [node.lhs, node.rhs]
        properties = [side for side in sides if isinstance(side, ast.Attribute)]
        if len(properties) != 1:
            raise FilterError("a spatial function compares the property geometry with a geometry")
        self._geometry_property(properties[0])
        other = node.rhs if node.lhs is properties[0] else node.lhs
        if isinstance(other, values.Envelope):
            _check_box(*_envelope(other), None)
        elif isinstance(other, values.Geometry):
            _shape(other)
        else:
            raise FilterError(f"{_name(other)} is not a geometry")


def _name(node: Any) -> str:
    if isinstance(node, ast.Arithmetic):
        return "arithmetic"
    if isinstance(node, ast.Function):
        return f"the function {node.name}"
    if isinstance(node, ast.Node):
        return type(node).__name__
    return repr(node)[:40]


def _envelope(value: values.Envelope) -> tuple[float, float, float, float]:
    # The cql2-json parser fills Envelope(x1, x2, y1, y2) from "bbox" in its order:
    # minx, miny, maxx, maxy.
    return (value.x1, value.x2, value.y1, value.y2)


def _check_box(minx: Any, miny: Any, maxx: Any, maxy: Any, crs: str | None) -> None:
    if crs is not None and crs not in CRS84_NAMES:
        raise FilterError(f"filter geometries are in CRS84; {crs!r} is not supported")
    numbers = (minx, miny, maxx, maxy)
    if not all(isinstance(n, int | float) and math.isfinite(n) for n in numbers):
        raise FilterError("a filter's bbox takes four finite numbers")
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise FilterError(
            "a filter's bbox is minlon, minlat, maxlon, maxlat within -180..180, -90..90"
        )


def _shape(value: values.Geometry) -> Any:
    """The literal as a shapely geometry, refused unless valid, finite and in CRS84."""
    geojson = dict(value.geometry)
    crs = geojson.pop("crs", None)
    if isinstance(crs, dict):
        crs = (crs.get("properties") or {}).get("name")
    if crs is not None and crs not in CRS84_NAMES:
        raise FilterError(f"filter geometries are in CRS84; crs {str(crs)[:60]!r} is not supported")
    try:
        geom = shapely.geometry.shape(geojson)
    except Exception:
        raise FilterError(
            f"the filter's {geojson.get('type', 'geometry')} is not a valid geometry"
        ) from None
    if geom.is_empty:
        raise FilterError("the filter's geometry is empty")
    xy = shapely.get_coordinates(geom)
    if not (xy[:, 0].min() >= -180 and xy[:, 0].max() <= 180) or not (
        xy[:, 1].min() >= -90 and xy[:, 1].max() <= 90
    ):
        raise FilterError(
            "the filter's geometry is not in lon/lat (CRS84) within -180..180, -90..90"
        )
    if not geom.is_valid:
        raise FilterError(f"the filter's geometry is not valid: {shapely.is_valid_reason(geom)}")
    return geom


class _Evaluator(SQLAlchemyFilterEvaluator):
    """pygeofilter's translation, with literal geometries as bound WKB in EPSG:4326."""

    @handle(values.Geometry)
    def geometry(self, node):
        return func.ST_GeomFromWKB(shapely.to_wkb(_shape(node)), 4326)

    @handle(values.Envelope)
    def envelope(self, node):
        return func.ST_MakeEnvelope(*(float(n) for n in _envelope(node)), 4326)

    @handle(ast.BBox)
    def bbox(self, node, lhs):
        box = (float(n) for n in (node.minx, node.miny, node.maxx, node.maxy))
        return func.ST_Intersects(lhs, func.ST_MakeEnvelope(*box, 4326))


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
