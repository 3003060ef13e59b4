"""What values a layer's public properties take, checked before any SQL is built.

A value that does not fit its column (text with a NUL byte, an integer past the column's
range, an infinite number, a date that is not one) would otherwise reach PostgreSQL and
come back as a database error. Equality parameters and CQL2 literals go through the same
checks, so both refuse the same values with the same words.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from enum import Enum

from sqlalchemy import BigInteger, Boolean, Column, Date, Float, Integer, Numeric, SmallInteger
from sqlalchemy.dialects.postgresql import JSONB

from layers.base import Layer

#: The longest text a filter may compare with: longer than any stored value.
MAX_TEXT = 1000
INT_RANGES = {
    SmallInteger: (-(2**15), 2**15 - 1),
    Integer: (-(2**31), 2**31 - 1),
    BigInteger: (-(2**63), 2**63 - 1),
}
INT4_MAX = 2**31 - 1


class Kind(Enum):
    INTEGER = "integer"
    NUMBER = "number"
    TEXT = "text"
    DATE = "date"
    BOOLEAN = "boolean"
    ARRAY = "array"


class PropertyValueError(ValueError):
    """A value does not fit the property it is compared with: ``name (kind): reason``."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.reason = reason


def kind(column: Column) -> Kind:
    kind_of = column.type
    if isinstance(kind_of, Boolean):
        return Kind.BOOLEAN
    if isinstance(kind_of, Integer):
        return Kind.INTEGER
    if isinstance(kind_of, Float | Numeric):
        return Kind.NUMBER
    if isinstance(kind_of, Date):
        return Kind.DATE
    if isinstance(kind_of, JSONB):
        return Kind.ARRAY
    return Kind.TEXT


def int_range(column: Column) -> tuple[int, int]:
    """The integers ``column`` can hold (``int4`` for a plain Integer)."""
    for type_, bounds in INT_RANGES.items():
        if type(column.type) is type_:
            return bounds
    return INT_RANGES[Integer]


def _a(expected: Kind) -> str:
    article = "an" if expected in (Kind.INTEGER, Kind.ARRAY) else "a"
    return f"{article} {expected.value}"


def check_text(value: str, where: str) -> str:
    if "\x00" in value:
        raise PropertyValueError(where, "text must not contain a NUL character")
    if len(value) > MAX_TEXT:
        raise PropertyValueError(where, f"text longer than {MAX_TEXT} characters")
    return value


def check_value(layer: Layer, name: str, value: object) -> object:
    """``value`` if it fits property ``name`` of ``layer``; else :class:`PropertyValueError`.

    Numbers fit numbers (an integer column also takes a number with a fraction, which
    simply matches nothing), text fits text, dates fit dates.
    """
    column = layer.table.c[name]
    expected = kind(column)
    where = f"{name} ({expected.value})"
    if expected is Kind.ARRAY:
        raise PropertyValueError(where, "a list cannot be compared with a value")
    if expected is Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
    elif expected in (Kind.INTEGER, Kind.NUMBER):
        if isinstance(value, bool) or not isinstance(value, int | float):
            pass
        elif isinstance(value, float) and not math.isfinite(value):
            raise PropertyValueError(where, "numbers must be finite")
        elif expected is Kind.INTEGER and isinstance(value, int):
            low, high = int_range(column)
            if not low <= value <= high:
                raise PropertyValueError(where, f"{value} is outside {low}..{high}")
            return value
        elif isinstance(value, int) and abs(value) > 1e300:
            raise PropertyValueError(where, f"{value:.3g} is too large")
        else:
            return value
    elif expected is Kind.DATE:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
    elif isinstance(value, str):
        return check_text(value, where)
    raise PropertyValueError(where, f"{value!r} is not {_a(expected)}")


def parse_value(layer: Layer, name: str, raw: str) -> object:
    """A query-string value for property ``name`` (``?map_sheet=17``) as a checked value."""
    column = layer.table.c[name]
    expected = kind(column)
    value: object = raw
    try:
        if expected is Kind.INTEGER:
            value = int(raw)
        elif expected is Kind.NUMBER:
            value = float(raw)
        elif expected is Kind.DATE:
            value = date.fromisoformat(raw)
        elif expected is Kind.BOOLEAN:
            value = {"true": True, "false": False}[raw.lower()]
    except (ValueError, KeyError):
        raise PropertyValueError(name, f"{raw[:50]!r} is not {_a(expected)}") from None
    return check_value(layer, name, value)
