"""CQL2 filters (OGC API Features Part 3) translated to bound-parameter SQL.

Parsing and translation are pygeofilter's; this module restricts the properties a filter
may name to the layer's public ones (anything else is refused, never reaching SQL) and
turns the library's errors into one :class:`FilterError` with a message for the client.
"""

from __future__ import annotations

import json
from typing import Any

from pygeofilter import ast
from pygeofilter.backends.sqlalchemy import to_filter
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text
from sqlalchemy.sql.elements import ColumnElement

from layers.base import Layer

LANGUAGES = ("cql2-text", "cql2-json")
GEOMETRY_NAMES = ("geometry", "geom")


class FilterError(ValueError):
    """A filter that cannot be parsed or names something the layer does not publish."""


def parse(layer: Layer, text: str, lang: str = "cql2-text") -> ColumnElement[bool]:
    if lang not in LANGUAGES:
        raise FilterError(f"unknown filter-lang {lang!r}; use one of {', '.join(LANGUAGES)}")
    try:
        node = parse_text(text) if lang == "cql2-text" else parse_json(json.loads(text))
    except Exception as exc:  # the parsers raise many types (lark, json, ValueError...)
        raise FilterError(f"malformed {lang} filter: {_first_line(exc)}") from None
    mapping = _field_mapping(layer)
    unknown = sorted({name for name in _attributes(node) if name not in mapping})
    if unknown:
        raise FilterError(
            f"unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)} in "
            f"filter; queryable: {', '.join(sorted(mapping))}"
        )
    try:
        return to_filter(node, mapping)
    except KeyError as exc:
        raise FilterError(f"unsupported function or operator in filter: {exc}") from None
    except Exception as exc:
        raise FilterError(f"cannot apply filter: {_first_line(exc)}") from None


def _field_mapping(layer: Layer) -> dict[str, Any]:
    columns = {name: layer.table.c[name] for name in layer.public_properties}
    geometry = layer.table.c[layer.geometry_column]
    return {**columns, **dict.fromkeys(GEOMETRY_NAMES, geometry)}


def _attributes(node: Any) -> list[str]:
    if isinstance(node, ast.Attribute):
        return [node.name]
    children = node.get_sub_nodes() if isinstance(node, ast.Node) else []
    if isinstance(node, list | tuple):
        children = list(node)
    names: list[str] = []
    for child in children or []:
        names += _attributes(child)
    return names


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
