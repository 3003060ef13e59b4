"""Search across parcels, plans, auction lots and units, accent-insensitive and ranked.

"tờ 12 thửa 345 Hợp Giang", "12/345 Hợp Giang" and "12/345" find parcels by map sheet and
number (the words left over name the unit); other words match unit names, public plan
names and decision numbers, and lot codes, folded with ``landplan_fold`` (lower case,
no diacritics) so "de tham" finds Đề Thám.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, case, func, literal, or_, select, union_all

from layers.admin_units import AdminUnit
from layers.auction_lots import LAYER as AUCTION_LOTS
from layers.base import Layer
from layers.parcels import LAYER as PARCELS
from layers.planning_projects import LAYER as PLANNING_PROJECTS
from layers.properties import INT4_MAX

PARCEL_WORDS = re.compile(r"\bto\s*(?:so\s*)?(\d+)\D+?thua\s*(?:so\s*)?(\d+)")
PARCEL_SLASH = re.compile(r"\b(\d+)\s*/\s*(\d+)\b")
#: Sheet and number of a query that names a parcel no record can have (numbers past the
#: columns' int4): searched for as such, they match nothing.
NO_PARCEL = 0
FILLER = re.compile(r"\b(phuong|xa|p\.|x\.)\s*", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case without diacritics, as ``landplan_fold`` does in the database."""
    text = text.replace("đ", "d").replace("Đ", "D")
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    )
    return " ".join(stripped.lower().split())


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # folded words left for names
    sheet: int | None = None
    number: int | None = None


def parse(q: str) -> ParsedQuery:
    folded = fold(q)
    for pattern in (PARCEL_WORDS, PARCEL_SLASH):
        match = pattern.search(folded)
        if match:
            rest = folded[: match.start()] + " " + folded[match.end() :]
            rest = " ".join(FILLER.sub(" ", re.sub(r"[,;.:]", " ", rest)).split())
            sheet, number = int(match.group(1)), int(match.group(2))
            if max(sheet, number) > INT4_MAX:  # no parcel has it: the words may still match
                return ParsedQuery(rest, NO_PARCEL, NO_PARCEL)
            return ParsedQuery(rest, sheet, number)
    return ParsedQuery(folded)


def _bbox(layer_geom: ColumnElement) -> list:
    """The hit's bounding box, and a point surely inside it (a bbox's centre may lie
    outside an L-shaped parcel): where a map zooms to and asks what is there."""
    box = func.Box2D(layer_geom)
    inside = func.ST_PointOnSurface(layer_geom)
    return [
        func.ST_XMin(box).label("xmin"),
        func.ST_YMin(box).label("ymin"),
        func.ST_XMax(box).label("xmax"),
        func.ST_YMax(box).label("ymax"),
        func.ST_X(inside).label("x"),
        func.ST_Y(inside).label("y"),
    ]


def _hit(kind: str, layer_id: str, id_, title, score, geom) -> list:
    return [
        literal(kind).label("kind"),
        literal(layer_id).label("collection"),
        id_.label("id"),
        title.label("title"),
        score.label("score"),
        *_bbox(geom),
    ]


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"


def search(q: str, limit: int = 20) -> Select:
    parsed = parse(q)
    units = AdminUnit.__table__
    parts = []
    if parsed.sheet is not None:
        parcels: Layer = PARCELS
        p = parcels.table
        unit_names = select(units.c.code)
        if parsed.text:
            unit_names = unit_names.where(func.landplan_fold(units.c.name).like(_like(parsed.text)))
        title = func.concat(
            "Tờ ", p.c.map_sheet, " thửa ", p.c.parcel_number, " (", p.c.unit_code, ")"
        )
        parts.append(
            select(*_hit("parcel", "parcels", p.c.id, title, literal(1.0), p.c.geom_wgs84)).where(
                p.c.map_sheet == parsed.sheet,
                p.c.parcel_number == parsed.number,
                p.c.unit_code.in_(unit_names),
                parcels.public_where(),
            )
        )
    if parsed.text:
        pattern = _like(parsed.text)
        name = func.landplan_fold(units.c.name)
        parts.append(
            select(
                *_hit(
                    "admin_unit",
                    "admin_units",
                    units.c.id,
                    func.concat(units.c.name, " (", units.c.code, ")"),
                    case((name == parsed.text, 0.95), else_=0.7),
                    units.c.geom_wgs84,
                )
            ).where(name.like(pattern))
        )
        if parsed.sheet is None:
            plans = PLANNING_PROJECTS.table
            plan_name = func.landplan_fold(plans.c.name)
            parts.append(
                select(
                    *_hit(
                        "plan",
                        "planning_projects",
                        plans.c.id,
                        plans.c.name,
                        case(
                            (func.landplan_fold(plans.c.decision_number) == parsed.text, 0.9),
                            else_=0.6,
                        ),
                        plans.c.geom_wgs84,
                    )
                ).where(
                    or_(
                        plan_name.like(pattern),
                        func.landplan_fold(plans.c.decision_number).like(pattern),
                        func.landplan_fold(plans.c.code).like(pattern),
                    ),
                    PLANNING_PROJECTS.public_where(),
                )
            )
            lots = AUCTION_LOTS.table
            code = func.landplan_fold(lots.c.lot_code)
            parts.append(
                select(
                    *_hit(
                        "auction_lot",
                        "auction_lots",
                        lots.c.id,
                        lots.c.lot_code,
                        case((code == parsed.text, 0.9), else_=0.65),
                        lots.c.geom_wgs84,
                    )
                ).where(code.like(pattern), AUCTION_LOTS.public_where())
            )
    if not parts:
        return select(literal(None)).where(literal(False))
    hits = union_all(*parts).subquery()
    return select(hits).order_by(hits.c.score.desc(), hits.c.title).limit(limit)
