"""Query and path parameters, each parsed once into a checked value that :mod:`layers`
builds SQL from. FastAPI parses what it can declare (numbers, bounds, enumerations); the
functions here finish what it cannot: a box in a CRS, a CQL2 filter, an interval, and
the ``?property=value`` filters whose names depend on the collection."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import unquote

import orjson
from fastapi import HTTPException, Path, Query
from pydantic import BeforeValidator
from starlette.datastructures import QueryParams

from api.errors import BadRequest
from gis.crs import CRS84_URI, clip_to_area_of_use, in_area_of_use, ogc_crs
from gis.errors import CRSError
from layers import cql
from layers.base import Layer
from layers.features import BBox, ItemsQuery, OutputCRS
from layers.properties import (
    INT4_MAX,
    INTEGER_TEXT,
    PropertyValueError,
    int_range,
    parse_value,
)

#: ``f=`` values that make the items a file download instead of GeoJSON.
DOWNLOADS = ("gpkg", "shp", "csv", "dxf")
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100


def _ascii_integer(value: object) -> object:
    if isinstance(value, str) and not INTEGER_TEXT.fullmatch(value):
        raise ValueError("expected an integer in ASCII digits")
    return value


#: An integer as a query string or path writes it: ASCII digits, no "1_000" (which
#: Python's int() would read, giving one value many spellings and cache keys).
Integer = Annotated[int, BeforeValidator(_ascii_integer)]

ItemsFormat = Literal["json", "geojson", "gpkg", "shp", "csv", "dxf"]
CrsParam = Annotated[
    str | None,
    Query(
        description="Output CRS: CRS84 (default), EPSG:4326, EPSG:3857, EPSG:9210 or EPSG:3405",
        examples=["http://www.opengis.net/def/crs/EPSG/0/9210"],
    ),
]


AS_OF = "as-of"
AsOfParam = Annotated[
    str | None,
    Query(
        alias=AS_OF,
        description="The data as it stood at this RFC 3339 date-time (docs/history.md)",
        examples=["2025-01-01T00:00:00Z"],
    ),
]


@dataclass
class ItemsParams:
    """The fixed query parameters of ``/collections/{id}/items`` (OGC API Features 1–3)."""

    bbox: Annotated[
        str | None,
        Query(
            description="minx,miny,maxx,maxy (or six numbers with heights) in `bbox-crs`",
            examples=["106.25,22.66,106.26,22.67"],
        ),
    ] = None
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", examples=["EPSG:9210"])] = None
    limit: Annotated[Integer, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    after: Annotated[
        Integer | None, Query(ge=0, le=INT4_MAX, description="Page after this feature id")
    ] = None
    before: Annotated[
        Integer | None, Query(ge=0, le=INT4_MAX, description="Page before this feature id")
    ] = None
    datetime: Annotated[
        str | None,
        Query(description="Instant or interval (RFC 3339)", examples=["2023-01-01/.."]),
    ] = None
    crs: CrsParam = None
    filter: Annotated[
        str | None,
        Query(
            description="CQL2 filter (see /conformance)",
            max_length=cql.MAX_LENGTH,
            examples=["land_use_code = 'ODT'"],
        ),
    ] = None
    filter_lang: Annotated[Literal["cql2-text", "cql2-json"], Query(alias="filter-lang")] = (
        "cql2-text"
    )
    filter_crs: Annotated[
        Literal["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] | None,
        Query(alias="filter-crs", description="Only CRS84"),
    ] = None
    f: Annotated[
        ItemsFormat,
        Query(description="json (GeoJSON, default) or a download: gpkg, shp (zip), csv, dxf"),
    ] = "json"
    as_of: AsOfParam = None


#: The fixed parameters as a query string names them (``bbox_crs`` is ``bbox-crs``).
ITEMS_NAMES = frozenset(field.name.replace("_", "-") for field in fields(ItemsParams))


def output_crs(value: str | None) -> tuple[str, OutputCRS]:
    try:
        uri, srid, lat_first = ogc_crs(value or CRS84_URI)
    except CRSError as exc:
        raise BadRequest("crs", str(exc)) from None
    return uri, OutputCRS(srid, lat_first)


def items_query(layer: Layer, p: ItemsParams, query: QueryParams) -> ItemsQuery:
    """The items request as values; ``query`` is read only for the property filters,
    whose names FastAPI cannot know (they are the collection's queryables)."""
    filter_ = None
    if p.filter:
        try:
            filter_ = cql.parse(layer, p.filter, p.filter_lang)
        except cql.FilterError as exc:
            raise BadRequest("filter", str(exc)) from None
    return ItemsQuery(
        bbox=_bbox(p.bbox, p.bbox_crs),
        equals=property_filters(layer, query),
        filter=filter_,
        interval=_interval(p.datetime),
        limit=p.limit,
        after=p.after,
        before=p.before,
    )


def property_filters(layer: Layer, query: QueryParams) -> tuple[tuple[str, object], ...]:
    unknown = sorted(set(query) - ITEMS_NAMES - set(layer.public_properties))
    if unknown:
        raise BadRequest(
            unknown[0][:50],
            f"unknown parameter; queryable properties: {', '.join(layer.public_properties)}",
        )
    found = []
    for name in layer.public_properties:
        if name in query:
            try:
                found.append((name, parse_value(layer, name, query[name])))
            except PropertyValueError as exc:
                raise BadRequest(name, exc.reason) from None
    return tuple(found)


def _bbox(value: str | None, crs_value: str | None) -> BBox | None:
    if value is None:
        return None
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        raise BadRequest("bbox", f"expected four numbers, got {value[:80]!r}") from None
    if len(numbers) == 6:  # 3D box: drop the heights
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise BadRequest("bbox", "expected four finite numbers minx,miny,maxx,maxy")
    try:
        _, srid, lat_first = ogc_crs(crs_value or CRS84_URI)
    except CRSError as exc:
        raise BadRequest("bbox-crs", str(exc)) from None
    if lat_first:
        numbers = [numbers[1], numbers[0], numbers[3], numbers[2]]
    xmin, ymin, xmax, ymax = numbers
    if ymin > ymax:
        raise BadRequest("bbox", "miny is greater than maxy")
    if xmin > xmax:
        raise BadRequest("bbox", "minx is greater than maxx (boxes across 180° are not served)")
    return BBox(clip_to_area_of_use((xmin, ymin, xmax, ymax), srid), srid)


def _interval(value: str | None) -> tuple[date | None, date | None] | None:
    if value is None:
        return None
    parts = value.split("/")
    if len(parts) > 2:
        raise BadRequest("datetime", "expected an instant or start/end")
    bounds = [_instant(p) for p in parts]
    return (bounds[0], bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])


#: RFC 3339: a full date, or a date-time with its offset (Python's fromisoformat alone
#: also reads ISO week dates and compact forms).
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2}))?"
)


def _instant(text: str) -> date | None:
    if text in ("", ".."):
        return None
    try:
        if not RFC3339.fullmatch(text):
            raise ValueError(text)
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).date()
    except ValueError:
        raise BadRequest("datetime", f"not an RFC 3339 date or date-time: {text[:40]!r}") from None


#: A date-time of RFC 3339 (``as-of``): the offset is required, a date alone is not one.
DATE_TIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(\.(?P<fraction>[0-9]{1,9}))?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def moment(name: str, text: str) -> datetime:
    """An RFC 3339 date-time (``2025-01-01T00:00:00Z``), not later than now."""
    found = DATE_TIME.fullmatch(text)
    fraction = (found["fraction"] or "")[:6].ljust(6, "0") if found else ""
    offset = found["offset"] if found else ""
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        if found is None:
            raise ValueError(text)
        at = datetime.fromisoformat(f"{found['date']}T{found['time']}.{fraction}{offset}")
    except ValueError:
        example = "2025-01-01T00:00:00Z"
        raise BadRequest(
            name, f"not an RFC 3339 date-time with its offset (e.g. {example}): {text[:40]!r}"
        ) from None
    if at > datetime.now(UTC):
        raise BadRequest(name, f"{text} is in the future: without {name}, the data as it is now")
    return at


def feature_key(layer: Layer, feature_id: str) -> int | None:
    """The key a feature id names, or None when no row can have it (not digits, or past
    the key column's range): the caller answers 404 as for any unknown id."""
    if not (feature_id.isascii() and feature_id.isdigit() and len(feature_id) <= 20):
        return None
    low, high = int_range(layer.table.c[layer.key])
    key = int(feature_id)
    return key if low <= key <= high else None


def point(
    x: float, y: float, crs: str, names: tuple[str, str] = ("x", "y")
) -> tuple[int, float, float]:
    """``x``/``y`` in ``crs`` (in its axis order) as (srid, easting or longitude,
    northing or latitude); a 400 unless finite and in the CRS's area of use."""
    try:
        _, srid, lat_first = ogc_crs(crs)
    except CRSError as exc:
        raise BadRequest("crs", str(exc)) from None
    for name, value in zip(names, (x, y), strict=True):
        if not math.isfinite(value):
            raise BadRequest(name, f"must be a finite number, not {value}")
    east, north = (y, x) if lat_first else (x, y)
    if not in_area_of_use(east, north, srid):
        raise BadRequest(
            names[0], f"the point ({x:g}, {y:g}) is outside the area of use of {crs[:60]}"
        )
    return srid, east, north


def text(name: str, value: str) -> str:
    """Free text from a client: no NUL character (PostgreSQL text cannot hold one)."""
    if "\x00" in value:
        raise BadRequest(name, "text must not contain a NUL character")
    return value


REASON_HEADER = "Landplan-Reason"
#: The decision (number, date, authority) or the dossier a write carries out: recorded
#: with its change set (docs/history.md).
DECISION_HEADER = "Landplan-Decision"
DOSSIER_HEADER = "Landplan-Dossier"
MAX_REASON = 2000


def reason(given: str | None, header: str = REASON_HEADER) -> str | None:
    """Why a write is made, from ``Landplan-Reason`` (or another header of words):
    percent-encoded UTF-8 (a header holds Latin-1 at best; "Điều chỉnh" is
    ``%C4%90i%E1%BB%81u%20ch%E1%BB%89nh``); UTF-8 sent raw is taken too. None when
    absent or blank."""
    if given is None or not given.strip():
        return None
    raw = given.encode("latin-1", "replace").decode("utf-8", "replace")
    found = unquote(raw, errors="replace").strip()
    if len(found) > MAX_REASON:
        raise BadRequest(header, f"at most {MAX_REASON} characters")
    return text(header, found) or None


#: A parcel's identity in a path: the unit's five-digit code, map sheet and parcel number
#: (positive int4, as stored: a larger number is a 400, not a database error).
UnitCodePath = Annotated[
    str, Path(pattern=r"^[0-9]{5}$", description="Unit code (5 digits)", examples=["01273"])
]
SheetPath = Annotated[
    Integer, Path(ge=1, le=INT4_MAX, description="Map sheet number", examples=[17])
]
ParcelNumberPath = Annotated[
    Integer, Path(ge=1, le=INT4_MAX, description="Parcel number", examples=[32])
]


#: A small JSON body (a move, a change request's approval) is a few hundred bytes.
MAX_SMALL_BODY = 64 * 1024


async def json_members(request: Any, known: set[str], empty_ok: bool = False) -> dict[str, Any]:
    """A small JSON object body whose members are among ``known`` (400 naming the member
    otherwise, 413 beyond :data:`MAX_SMALL_BODY`); ``empty_ok``: no body reads as {}."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_SMALL_BODY:
            raise HTTPException(413, f"the body is at most {MAX_SMALL_BODY // 1024} KiB")
    try:
        given = orjson.loads(body) if body or not empty_ok else {}
    except orjson.JSONDecodeError as exc:
        raise BadRequest("body", f"not JSON: {exc}") from None
    if not isinstance(given, dict):
        raise BadRequest("body", f"a JSON object with members among {sorted(known)}")
    for name in given:
        if name not in known:
            raise BadRequest(f"body.{name}", f"not a member; known: {sorted(known)}")
    return given
