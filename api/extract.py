"""The parcel's planning-information extract: gathered from the database, drawn as HTML,
printed to PDF by WeasyPrint."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncConnection

from api.settings import PROJECT_ROOT
from gis.svg import Shape, frame_around, polygons_svg
from layers import extracts, land_use, lookup

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
LEVELS = ("general", "zoning", "detailed")
LEVEL_STROKES = {"general": "#b2182b", "zoning": "#2166ac", "detailed": "#6a3d9a"}

TEXT = {
    "vi": {
        "issuer": "Hệ thống thông tin quy hoạch và đất đai thành phố Cao Bằng",
        "title": "Trích lục thông tin quy hoạch thửa đất",
        "parcel": "Thông tin thửa đất",
        "unit": "Phường, xã",
        "unit_before": "trước 1/7/2025",
        "sheet": "Tờ bản đồ số",
        "number": "Thửa đất số",
        "address": "Địa chỉ",
        "land_use": "Mục đích sử dụng đất",
        "legal_area": "Diện tích pháp lý",
        "measured_area": "Diện tích đo trên bản đồ",
        "certificate": "Giấy chứng nhận quyền sử dụng đất",
        "cert_none": "Chưa cấp",
        "cert_pending": "Đang giải quyết",
        "cert_issued": "Đã cấp",
        "planning": "Thông tin quy hoạch",
        "no_plan": "Thửa đất không nằm trong đồ án quy hoạch nào đã được phê duyệt và công bố.",
        "level_general": "Quy hoạch chung",
        "level_zoning": "Quy hoạch phân khu",
        "level_detailed": "Quy hoạch chi tiết",
        "plan": "Đồ án",
        "zone": "Ô quy hoạch",
        "function": "Chức năng",
        "overlap": "Diện tích trong ô",
        "coverage": "Mật độ XD tối đa",
        "far": "Hệ số SDĐ",
        "floors": "Tầng cao tối đa",
        "height": "Chiều cao tối đa",
        "setback": "Khoảng lùi",
        "decision": "Quyết định",
        "dated": "ngày",
        "approved_by": "Phê duyệt:",
        "scale": "tỷ lệ",
        "map": "Sơ đồ vị trí",
        "map_caption": "Thửa đất (viền đỏ), các thửa lân cận và các ô quy hoạch; "
        "hệ tọa độ VN-2000, kinh tuyến trục 105°45′.",
        "this_parcel": "Thửa đất",
        "issued_on": "Ngày trích lục",
        "code": "Mã xác thực",
        "verify": "Mở lại đúng bản trích lục này tại:",
        "disclaimer": "Thông tin trích từ các đồ án quy hoạch đã được phê duyệt và công bố "
        "và từ cơ sở dữ liệu địa chính tại ngày trích lục. Diện tích trong ô quy hoạch "
        "được tính trên bản đồ (VN-2000).",
    },
    "en": {
        "issuer": "Cao Bằng city planning and land information system",
        "title": "Planning-information extract for a land parcel",
        "parcel": "Parcel",
        "unit": "Ward / commune",
        "unit_before": "before 1 July 2025",
        "sheet": "Map sheet",
        "number": "Parcel number",
        "address": "Address",
        "land_use": "Land use",
        "legal_area": "Legal area",
        "measured_area": "Measured area (map)",
        "certificate": "Land-use right certificate",
        "cert_none": "Not issued",
        "cert_pending": "In progress",
        "cert_issued": "Issued",
        "planning": "Planning",
        "no_plan": "The parcel lies in no approved and published plan.",
        "level_general": "General plan",
        "level_zoning": "Zoning plan",
        "level_detailed": "Detailed plan",
        "plan": "Plan",
        "zone": "Zone",
        "function": "Function",
        "overlap": "Area in zone",
        "coverage": "Max. coverage",
        "far": "FAR",
        "floors": "Max. floors",
        "height": "Max. height",
        "setback": "Setback",
        "decision": "Decision",
        "dated": "of",
        "approved_by": "Approved by",
        "scale": "scale",
        "map": "Location map",
        "map_caption": "The parcel (red outline), its neighbours and the plan zones; "
        "VN-2000, central meridian 105°45′.",
        "this_parcel": "The parcel",
        "issued_on": "Issued on",
        "code": "Verification code",
        "verify": "Reopen this very extract at:",
        "disclaimer": "Taken from approved and published plans and from the cadastral "
        "database on the date of issue. Areas in zones are measured on the map (VN-2000).",
    },
}

_templates = Environment(
    loader=FileSystemLoader(PROJECT_ROOT / "api" / "templates"),
    autoescape=select_autoescape(["html"]),
)


def today() -> date:
    return datetime.now(VIETNAM).date()


def _map(rows: Sequence[Any], colours: dict[str, str]) -> str:
    target = next(shapely.from_wkb(r.wkb) for r in rows if r.is_target)
    shapes = []
    for row in rows:
        geometry = shapely.from_wkb(row.wkb)
        if row.kind == "zone":
            shapes.append(
                Shape(
                    geometry,
                    fill=colours.get(row.land_use_code, "#dddddd"),
                    fill_opacity=0.55,
                    stroke=LEVEL_STROKES.get(row.level, "#555555"),
                    stroke_width=1.2,
                    label=row.label,
                    label_size=11,
                )
            )
    for row in rows:
        if row.kind == "parcel" and not row.is_target:
            shapes.append(
                Shape(
                    shapely.from_wkb(row.wkb),
                    stroke="#555555",
                    stroke_width=0.6,
                    label=row.label,
                    label_size=8,
                )
            )
    shapes.append(Shape(target, stroke="#d7191c", stroke_width=3))
    return polygons_svg(shapes, frame_around(target, extracts.MAP_MARGIN), width=640)


async def gather(
    conn: AsyncConnection, unit: str, sheet: int, number: int, issued_on: date
) -> dict[str, Any] | None:
    """The content of a parcel's extract as of ``issued_on``, or None for no such parcel."""
    parcel = (await conn.execute(lookup.parcel_by_identity(unit, sheet, number))).first()
    if parcel is None:
        return None
    zones = extracts.zone_entries((await conn.execute(lookup.zones_over_parcel(parcel.id))).all())
    units = (await conn.execute(extracts.parcel_units(parcel.id))).all()
    shapes = (await conn.execute(extracts.map_features(parcel.id))).all()
    codes = {parcel.land_use_code, *(z["land_use_code"] for z in zones)}
    codes |= {r.land_use_code for r in shapes if r.kind == "zone"}
    rows = (await conn.execute(land_use.listing(codes))).all()
    uses = {use["code"]: use for use in land_use.described(rows)}
    svg = _map(shapes, {code: use["colour"] for code, use in uses.items()})
    return extracts.content(parcel, zones, units, uses, svg, issued_on)


def _number(lang: str):
    def num(value: float | None, digits: int = 1) -> str:
        if value is None:
            return "—"
        text = f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"
        if lang == "vi":  # 1.234,5
            text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        return text

    return num


def render_html(data: dict[str, Any], code: str, verify_url: str, lang: str) -> str:
    t = TEXT[lang]
    uses = data["land_uses"]
    num = _number(lang)
    levels = []
    for level in LEVELS:
        plans: dict[str, tuple[dict, list]] = {}
        for zone in data["zones"]:
            if zone["plan"]["level"] == level:
                plans.setdefault(zone["plan"]["code"], (zone["plan"], []))[1].append(zone)
        if plans:
            levels.append((level, list(plans.values())))
    shown_uses = sorted(
        {z["land_use_code"] for z in data["zones"]} | {data["parcel"]["land_use_code"]}
    )

    def day(iso: str) -> str:
        value = date.fromisoformat(iso)
        return value.strftime("%d/%m/%Y") if lang == "vi" else value.strftime("%-d %B %Y")

    return _templates.get_template("extract.html").render(
        lang=lang,
        t=t,
        p=data["parcel"],
        unit_name=(data["unit"] or {}).get("name"),
        before_name=(data["unit_before_2025"] or {}).get("name"),
        levels=levels,
        map_svg=data["map_svg"],
        map_uses=[c for c in shown_uses if c in uses],
        issued_on=data["issued_on"],
        code=code,
        verify_url=verify_url,
        num=num,
        pct=lambda v: "—" if v is None else f"{num(v)} %",
        day=day,
        colour=lambda c: uses.get(c, {}).get("colour", "#dddddd"),
        use_name=lambda c: f"{uses[c][lang]} ({c})" if c in uses else c,
    )


def render_pdf(html: str, base_url: str) -> bytes:
    """Print the extract (WeasyPrint: Pango lays the Vietnamese text out with DejaVu)."""
    from weasyprint import HTML  # imported on use: it loads Pango, ~0.5 s

    return HTML(string=html, base_url=base_url).write_pdf()
