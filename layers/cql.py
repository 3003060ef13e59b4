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
import re
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
from sqlalchemy import false, func, true
from sqlalchemy.sql.elements import ColumnElement

from gis.crs import CRS84_URI, ogc_crs
from gis.errors import CRSError
from layers.base import Layer
from layers.properties import (
    Kind,
    PropertyValueError,
    check_text,
    check_value,
    describe,
    kind,
)

LANGUAGES = ("cql2-text", "cql2-json")
GEOMETRY_NAMES = ("geometry", "geom")
#: Longer than any filter a person or a map writes (a parcel's outline is a few hundred
#: characters); short enough that, percent-encoded, it stays within the request line the
#: HTTP server reads (about 64 KiB).
MAX_LENGTH = 4_000
#: Levels of AND / OR / NOT: a chain of ``a OR b OR …`` nests one level per OR.
MAX_DEPTH = 100
#: Digits a number literal may have (Python refuses to read more than 4,300).
MAX_DIGITS = 100
LONG_NUMBER = re.compile(rf"[0-9]{{{MAX_DIGITS + 1}}}")
#: CQL2 names of what pygeofilter calls otherwise, for messages.
FUNCTION_NAMES = {"lower": "CASEI"}
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
    if LONG_NUMBER.search(text):
        raise FilterError(f"a number in the filter has more than {MAX_DIGITS} digits")
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
    except ValueError:
        raise FilterError("cql2-json filter is not JSON") from None
    if not isinstance(document, dict):
        raise FilterError(
            f"a cql2-json filter is a JSON object, not {type(document).__name__} "
            '(e.g. {"op": "=", "args": [{"property": "code"}, "CB-QHC-2017"]})'
        )
    _prepare_json(document)
    try:
        return parse_json(document)
    except RecursionError:
        raise
    except Exception:
        raise FilterError(
            "malformed cql2-json filter: an expression is not an object with 'op' and "
            "'args', a property, a literal or a geometry"
        ) from None


def _prepare_json(document: dict[str, Any]) -> None:
    """Rewrite, in place, the CQL2-JSON forms pygeofilter reads otherwise: a ``bbox``
    literal (its Envelope swaps the numbers) becomes a polygon, and ``between`` with
    three arguments, as the standard writes it, takes the two bounds as one list."""
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack += node
            continue
        if not isinstance(node, dict):
            continue
        if "bbox" in node and "op" not in node and "type" not in node:
            box = _box_numbers(node.pop("bbox"))
            node.update(_polygon(box))
        args = node.get("args")
        if node.get("op") == "between" and isinstance(args, list) and len(args) == 3:
            node["args"] = [args[0], [args[1], args[2]]]
        stack += list(node.values())


def _box_numbers(box: Any) -> tuple[float, float, float, float]:
    """minx, miny, maxx, maxy of a bbox of four (or six, with heights) finite numbers."""
    if isinstance(box, list) and len(box) == 6:
        box = [box[0], box[1], box[3], box[4]]
    if not (isinstance(box, list) and len(box) == 4):
        raise FilterError("a filter's bbox takes four numbers: minlon, minlat, maxlon, maxlat")
    _check_box(box[0], box[1], box[2], box[3], None)
    minx, miny, maxx, maxy = (float(n) for n in box)
    return minx, miny, maxx, maxy


def _polygon(box: tuple[float, float, float, float]) -> dict[str, Any]:
    minx, miny, maxx, maxy = box
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {"type": "Polygon", "coordinates": [ring]}


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
                if not isinstance(node.name, str):
                    raise FilterError('a property is named by text: {"property": "code"}')
                names.add(node.name)
            elif isinstance(node, ast.Node):
                stack += node.get_sub_nodes() or []
            elif isinstance(node, list | tuple):
                stack += list(node)
        mapping = _field_mapping(self.layer)
        unknown = sorted(names - set(mapping))
        if unknown:
            listed = ", ".join(name[:40] for name in unknown[:5])
            raise FilterError(
                f"unknown propert{'y' if len(unknown) == 1 else 'ies'} {listed} in "
                f"filter; queryable: {', '.join(sorted(mapping))}"
            )

    def _comparison(self, node: Any) -> None:
        """Check the values of a comparison and put them back as they are to be bound."""
        if isinstance(node, ast.Comparison):
            for side in (node.lhs, node.rhs):
                if isinstance(side, ast.Arithmetic | ast.Function):
                    raise FilterError(f"{_name(side)} {UNSUPPORTED}")
            attributes = [side for side in (node.lhs, node.rhs) if isinstance(side, ast.Attribute)]
            if len(attributes) != 1:
                raise FilterError(
                    "a comparison needs one property and one value (comparing two properties "
                    f"or two values {UNSUPPORTED})"
                )
            name = self._scalar_property(attributes[0])
            if node.lhs is attributes[0]:
                node.rhs = self._value(name, node.rhs)
            else:
                node.lhs = self._value(name, node.lhs)
            return
        name = self._scalar_property(node.lhs)
        if isinstance(node, ast.Between):
            node.low, node.high = self._value(name, node.low), self._value(name, node.high)
        elif isinstance(node, ast.In):
            node.sub_nodes = [self._value(name, item) for item in node.sub_nodes]
        elif isinstance(node, ast.Like):
            if kind(self.layer.table.c[name]) is not Kind.TEXT:
                raise FilterError(f"LIKE compares text, and {name} is not; {self.queryables}")
            if not isinstance(node.pattern, str):
                raise FilterError(f"LIKE takes a text pattern; {self.queryables}")
            self._text(node.pattern, name)
            trailing = len(node.pattern) - len(node.pattern.rstrip("\\"))
            if trailing % 2:
                raise FilterError("a LIKE pattern must not end with its escape character \\")

    def _scalar_property(self, node: Any) -> str:
        if not isinstance(node, ast.Attribute):
            raise FilterError(f"{_name(node)} where a property is expected {UNSUPPORTED}")
        if node.name in GEOMETRY_NAMES:
            raise FilterError(f"{node.name} is compared with S_INTERSECTS and the like, not =")
        return node.name

    def _value(self, name: str, value: Any) -> Any:
        if isinstance(value, ast.Node | list) or not isinstance(value, values.LITERALS):
            raise FilterError(f"{_name(value)} as a value {UNSUPPORTED}")
        try:
            return check_value(self.layer, name, value)
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
        properties = [side for side in (node.lhs, node.rhs) if isinstance(side, ast.Attribute)]
        if len(properties) != 1:
            raise FilterError("a spatial function compares the property geometry with a geometry")
        self._geometry_property(properties[0])
        checked = _CheckedGeometry(_shape(node.rhs if node.lhs is properties[0] else node.lhs))
        if node.lhs is properties[0]:
            node.rhs = checked
        else:
            node.lhs = checked


def _name(node: Any) -> str:
    """What a part of a filter is called in CQL2, for messages."""
    if isinstance(node, ast.Arithmetic):
        return "arithmetic"
    if isinstance(node, ast.Function):
        return f"the function {FUNCTION_NAMES.get(node.name, str(node.name)).upper()}"
    if isinstance(node, ast.TemporalPredicate):
        return f"T_{node.op.name}"
    if isinstance(node, ast.ArrayPredicate):
        return f"A_{node.op.name}"
    if isinstance(node, ast.Relate):
        return "RELATE"
    if isinstance(node, ast.SpatialDistancePredicate):
        return "S_DWITHIN and BEYOND"
    if isinstance(node, ast.Attribute):
        return f"the property {str(node.name)[:40]}"
    if isinstance(node, values.Geometry | values.Envelope):
        return "a geometry"
    if isinstance(node, values.Interval):
        return "an interval"
    if isinstance(node, ast.Node):
        return type(node).__name__.upper()
    return describe(node)


def _check_box(minx: Any, miny: Any, maxx: Any, maxy: Any, crs: Any) -> None:
    _check_crs(crs)
    numbers = (minx, miny, maxx, maxy)
    if not all(
        isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers
    ):
        raise FilterError("a filter's bbox takes four finite numbers")
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise FilterError(
            "a filter's bbox is minlon, minlat, maxlon, maxlat within -180..180, -90..90"
        )


def _check_crs(crs: Any) -> None:
    """Filter geometries are in CRS84 (``filter-crs`` offers nothing else); a ``crs`` that
    names another one, or EPSG:4326 with its latitude-first axes, is refused."""
    if isinstance(crs, dict):  # GeoJSON 2008: {"type": "name", "properties": {"name": …}}
        properties = crs.get("properties")
        crs = properties.get("name") if isinstance(properties, dict) else properties
    if crs is None:
        return
    try:
        uri = ogc_crs(crs)[0] if isinstance(crs, str) else None
    except CRSError:
        uri = None
    if uri != CRS84_URI:
        raise FilterError(f"filter geometries are in CRS84 (lon/lat); {describe(crs)} is not")


def _shape(value: Any) -> Any:
    """The literal as a shapely geometry, refused unless valid, finite and in CRS84."""
    if isinstance(value, ast.Function) and str(value.name).lower() == "bbox":
        value = values.Geometry(_polygon(_box_numbers(list(value.arguments))))
    elif isinstance(value, values.Envelope):  # cql2-text ENVELOPE(minx maxx miny maxy)
        box = [value.x1, value.y1, value.x2, value.y2]
        value = values.Geometry(_polygon(_box_numbers(box)))
    if not isinstance(value, values.Geometry):
        raise FilterError(f"{_name(value)} is not a geometry")
    geojson = dict(value.geometry)
    _check_crs(geojson.pop("crs", None))
    try:
        geom = shapely.geometry.shape(geojson)
    except Exception:
        raise FilterError(
            f"the filter's {str(geojson.get('type', 'geometry'))[:20]} is not a valid geometry"
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


@dataclass(frozen=True, eq=False)
class _CheckedGeometry:
    """A geometry literal once checked: what the SQL binds."""

    geom: Any


class _Evaluator(SQLAlchemyFilterEvaluator):
    """pygeofilter's translation of what :class:`_Checker` let through, with literal
    geometries as bound WKB in EPSG:4326; anything else is refused, never guessed."""

    @handle(_CheckedGeometry)
    def checked_geometry(self, node: _CheckedGeometry) -> Any:
        return func.ST_GeomFromWKB(shapely.to_wkb(node.geom), 4326)

    @handle(ast.Include)
    def include(self, node: ast.Include) -> Any:
        return false() if node.not_ else true()

    @handle(ast.BBox)
    def bbox(self, node: ast.BBox, lhs: Any) -> Any:
        box = (float(n) for n in (node.minx, node.miny, node.maxx, node.maxy))
        return func.ST_Intersects(lhs, func.ST_MakeEnvelope(*box, 4326))

    def adopt(self, node: Any, *sub_args: Any) -> Any:
        raise FilterError(f"{_name(node)} {UNSUPPORTED}")


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
