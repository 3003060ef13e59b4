"""What values a layer's public properties take, checked before any SQL is built.

A value that does not fit its column (text with a NUL byte, an integer past the column's
range, an infinite number, a date that is not one) would otherwise reach PostgreSQL and
come back as a database error. Equality parameters and CQL2 literals go through the same
checks, so both refuse the same values with the same words.
"""

from __future__ import annotations

import math
import re
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


def describe(value: object) -> str:
    """A literal as a filter writes it: ``true``, ``'text'``, ``12``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value[:40])
    if isinstance(value, int | float | date):
        return str(value)[:40]
    return f"a {type(value).__name__.lower()}"


def check_text(value: str, where: str) -> str:
    if "\x00" in value:
        raise PropertyValueError(where, "text must not contain a NUL character")
    if len(value) > MAX_TEXT:
        raise PropertyValueError(where, f"text longer than {MAX_TEXT} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PropertyValueError(where, "text is not valid Unicode (a lone surrogate)") from None
    return value


def check_value(layer: Layer, name: str, value: object) -> object:
    """``value`` as it is to be bound for property ``name`` of ``layer``, or
    :class:`PropertyValueError` saying why it does not fit.

    Numbers fit numbers (an integer column also takes a number with a fraction, which
    simply matches nothing; a number column takes any finite number, as a float), text
    fits text, dates fit dates (a timestamp is taken as its date).
    """
    column = layer.table.c[name]
    expected = kind(column)
    where = f"{name} ({expected.value})"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if expected is Kind.INTEGER and isinstance(value, int) and number:
        low, high = int_range(column)
        if not low <= value <= high:
            raise PropertyValueError(where, f"{value:.6g} is outside {low}..{high}")
        return value
    if expected in (Kind.INTEGER, Kind.NUMBER) and number:
        try:
            as_float = float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise PropertyValueError(where, "the number is too large") from None
        if not math.isfinite(as_float):
            raise PropertyValueError(where, "numbers must be finite")
        return as_float
    if expected is Kind.TEXT and isinstance(value, str):
        return check_text(value, where)
    if expected is Kind.DATE and isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    if expected is Kind.BOOLEAN and isinstance(value, bool):
        return value
    if expected is Kind.ARRAY:
        raise PropertyValueError(where, "a list cannot be compared with a value")
    raise PropertyValueError(where, f"{describe(value)} is not {_a(expected)}")


#: Integers as a query string writes them: ASCII digits only (Python's int() also takes
#: "1_000" and other scripts' digits, which would give one value many spellings).
INTEGER_TEXT = re.compile(r"-?[0-9]{1,20}")
NUMBER_TEXT = re.compile(r"-?[0-9]{1,300}(\.[0-9]{1,300})?([eE][-+]?[0-9]{1,4})?")
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_value(layer: Layer, name: str, raw: str) -> object:
    """A query-string value for property ``name`` (``?map_sheet=17``) as a checked value."""
    column = layer.table.c[name]
    expected = kind(column)
    value: object = raw
    try:
        if expected is Kind.INTEGER:
            value = int(_matching(INTEGER_TEXT, raw))
        elif expected is Kind.NUMBER:
            value = float(_matching(NUMBER_TEXT, raw))
        elif expected is Kind.DATE:
            value = date.fromisoformat(_matching(DATE_TEXT, raw))
        elif expected is Kind.BOOLEAN:
            value = {"true": True, "false": False}[raw.lower()]
    except (ValueError, KeyError):
        raise PropertyValueError(name, f"{raw[:50]!r} is not {_a(expected)}") from None
    return check_value(layer, name, value)


def _matching(pattern: re.Pattern[str], raw: str) -> str:
    if not pattern.fullmatch(raw):
        raise ValueError(raw)
    return raw
