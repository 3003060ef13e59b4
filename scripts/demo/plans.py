"""Planning projects named in the report, their zones, the development areas and the
auction lots."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from layers.lifecycle import PLAN_ORDER
from scripts.demo.city import CENTRE, inner_point, rectangle, snap

PROVINCE = "UBND tỉnh Cao Bằng"
CITY = "UBND thành phố Cao Bằng"
CONSTRUCTION = "Sở Xây dựng tỉnh Cao Bằng"
#: The report's figures run to 15/11/2024: a step it says was taken was taken by then.
REPORT_DATE = date(2024, 11, 15)
#: The source of a decision or appraisal the report says was made without its number:
#: the number stays empty (to be entered from the records), never invented.
NOT_IN_REPORT = "not in the report"


def projects(units: dict[str, BaseGeometry], outline: Polygon) -> list[dict[str, Any]]:
    """Every plan of the report with the status and decision it gives."""
    de_tham = units["01282"]
    de_tham_c = inner_point(de_tham)
    hop_giang_c = inner_point(units["01273"])
    song_bang_c = inner_point(units["01270"])
    tan_giang_c = inner_point(units["01276"])
    rows = [
        dict(
            code="CB-QHC-2017",
            level="general",
            scale_denominator=10000,
            status="approved",
            name="Điều chỉnh Quy hoạch chung thành phố Cao Bằng đến năm 2030, tầm nhìn đến "
            "năm 2050",
            decision_authority=PROVINCE,
            known_by=date(2017, 12, 31),
            horizon_year=2030,
            published=True,
            geom=outline,
            notes="Approved by the province in 2017 (report of 11/2024); the decision "
            "number and date are not given in the report and are to be entered from the "
            "records (the decision is dated 31/12/2017: by the end of that year).",
        ),
        dict(
            code="CB-QHC-2045",
            level="general",
            scale_denominator=10000,
            status="preparation",
            name="Điều chỉnh Quy hoạch chung thành phố Cao Bằng, tỉnh Cao Bằng đến năm 2045",
            horizon_year=2045,
            geom=outline,
            notes="Comments gathered at the city's meeting; the consultant has not yet "
            "completed the dossier for the Department of Construction.",
        ),
        dict(
            code="CB-QHPK-DETHAM",
            level="zoning",
            scale_denominator=2000,
            status="appraised",
            name="Quy hoạch phân khu phường Đề Thám, thành phố Cao Bằng, tỉnh Cao Bằng",
            appraisal_date=date(2024, 5, 20),
            geom=de_tham,
            notes="Appraised by the Department of Construction on 20/5/2024; awaiting "
            "approval by the province.",
        ),
        dict(
            code="CB-QHCT-6A",
            level="detailed",
            scale_denominator=500,
            status="task_preparation",
            name="Quy hoạch chi tiết tỷ lệ 1/500 Dự án phát triển đô thị 6A, thành phố Cao Bằng",
            geom=rectangle(Point(de_tham_c.x + 250, de_tham_c.y + 150), 700, 450, 12),
            notes="Draft task decision under review; to be approved after the general plan "
            "adjustment and the Đề Thám zoning plan.",
        ),
        dict(
            code="CB-QHPK-09",
            level="zoning",
            scale_denominator=2000,
            status="contractor_selection",
            name="Quy hoạch/điều chỉnh quy hoạch phân khu của 09 phường, xã trên địa bàn thành phố",
            geom=snap(outline.difference(de_tham)),
            notes="Contractor selection plan approved by the province; consultants for "
            "survey and planning being selected. The report does not name the nine units: "
            "the boundary is illustrative.",
        ),
        dict(
            code="CB-QHCT-XUANTRUONG",
            level="detailed",
            scale_denominator=500,
            status="approved",
            published=True,
            name="Quy hoạch chi tiết Khu nhà ở dịch vụ hỗn hợp phố Xuân Trường, phường Hợp Giang",
            geom=rectangle(Point(hop_giang_c.x - 120, hop_giang_c.y + 80), 260, 180, -8),
            notes="Submitted to the province for a local adjustment of the land, the basis "
            "for preparing the detailed plan.",
        ),
        dict(
            code="CB-NARUA",
            level="detailed",
            scale_denominator=500,
            status="task_preparation",
            name="Khu đất dôi dư (khu vực phụ trợ) của dự án Khai thác lộ thiên mỏ sắt Nà Rụa",
            geom=rectangle(Point(tan_giang_c.x + 300, tan_giang_c.y - 250), 600, 400, 25),
            notes="Preparing the steps to plan the land.",
        ),
        dict(
            code="CB-TDC-DETHAM-DC",
            level="detailed",
            scale_denominator=500,
            status="task_preparation",
            name="Điều chỉnh quy hoạch một số khu đất thuộc Dự án Tái định cư Khu đô thị mới "
            "phường Đề Thám",
            geom=rectangle(Point(de_tham_c.x - 450, de_tham_c.y - 300), 380, 260, 12),
            notes="To follow once the Đề Thám zoning plan is approved.",
        ),
        dict(
            code="CB-NACAN1",
            level="detailed",
            scale_denominator=500,
            status="approved",
            published=True,
            name="Quy hoạch mặt bằng chi tiết phân lô đất khu dân cư Nà Cạn I, phường Sông Bằng",
            geom=rectangle(Point(song_bang_c.x, song_bang_c.y), 330, 160, 0),
            notes="Community consultation on abolishing zone B (56 lots, 01 to 56); the "
            "land of the former Nà Cạn airport waiting house is a long-standing dispute.",
        ),
        dict(
            code="CB-QHC-CHUTRINH",
            level="general",
            scale_denominator=5000,
            status="approved",
            name="Quy hoạch chung xây dựng xã Chu Trinh, thành phố Cao Bằng, giai đoạn 2022-2030",
            decision_number="2218/QĐ-UBND",
            decision_date=date(2023, 11, 30),
            decision_authority=CITY,
            horizon_year=2030,
            published=True,
            geom=units["01720"],
        ),
        dict(
            code="CB-QHC-VINHQUANG",
            level="general",
            scale_denominator=5000,
            status="approved",
            name="Quy hoạch chung xây dựng xã Vĩnh Quang, thành phố Cao Bằng, giai đoạn 2022-2030",
            decision_number="2219/QĐ-UBND",
            decision_date=date(2023, 11, 30),
            decision_authority=CITY,
            horizon_year=2030,
            published=True,
            geom=units["01693"],
        ),
    ]
    for row in rows:
        row.setdefault("decision_authority", approving_authority(row))
        row["geom"] = snap(row["geom"])
        row.setdefault("documents", [])
        row.setdefault("published", False)
        if row.get("decision_number"):
            row["documents"] = [
                {"title": f"Quyết định {row['decision_number']}", "url": None},
            ]
    return rows


def approving_authority(plan: dict[str, Any]) -> str:
    """Who approves a plan (Law 47/2024/QH15, art. 40): the province a city's general and
    zoning plans, the city a commune's general plan and detailed plans."""
    city_level = plan["level"] == "detailed" or plan["scale_denominator"] == 5000
    return CITY if city_level else PROVINCE


def road(plan: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The transitions (target state, body) that bring a new plan of the report to the
    status the report gives, with the decisions and appraisal each needs. A step the
    report does not date is dated by the next step it does date (it was taken by then),
    or by the report's date; its number stays empty with the source "not in the report"."""
    known = [d for d in (plan.get("appraisal_date"), plan.get("decision_date")) if d]
    by = (min(known) if known else None) or plan.get("known_by") or REPORT_DATE
    authority = plan["decision_authority"]
    steps: list[tuple[str, dict[str, Any]]] = []
    for to in PLAN_ORDER[1 : PLAN_ORDER.index(plan["status"]) + 1]:
        body: dict[str, Any] = {}
        if to == "task_approved":
            body["decision"] = _unknown(authority, by)
        elif to == "appraised":
            dated = plan.get("appraisal_date")
            body["appraisal"] = {
                "date": (dated or by).isoformat(),
                "body": CONSTRUCTION,
                "source": None if dated else NOT_IN_REPORT,
            }
        elif to == "approved":
            number = plan.get("decision_number")
            body["decision"] = {
                **_unknown(authority, plan.get("decision_date") or by),
                "number": number,
                "source": None if number else NOT_IN_REPORT,
            }
        steps.append((to, body))
    return steps


def _unknown(authority: str, by: date) -> dict[str, Any]:
    return {"number": None, "date": by.isoformat(), "authority": authority, "source": NOT_IN_REPORT}


#: What the lifecycle writes, not the row as first recorded (the road sets them).
LIFECYCLE_COLUMNS = (
    "status",
    "published",
    "decision_number",
    "decision_date",
    "decision_authority",
    "appraisal_date",
    "known_by",
)


# Indicators by land use: (coverage %, floor-area ratio, max floors); None where a plan
# sets no building indicator (farmland, forest, water).
INDICATORS: dict[str, tuple[float, float, int] | None] = {
    "ODT": (70, 3.5, 5),
    "ONT": (50, 1.5, 3),
    "TMD": (60, 4.5, 9),
    "DGD": (40, 1.2, 4),
    "DYT": (40, 1.6, 5),
    "TSC": (40, 2.0, 7),
    "DVH": (40, 1.2, 3),
    "DTT": (30, 0.6, 2),
    "DKV": (5, 0.05, 1),
    "SKC": (60, 1.2, 2),
    "DCH": (60, 1.8, 3),
    "DGT": None,
    "CLN": None,
    "LUC": None,
    "RSX": None,
    "NTS": None,
    "SON": None,
    "NTD": (10, 0.1, 1),
}
INNER = ("ODT", "ODT", "ODT", "TMD", "DKV", "DGD", "DYT", "TSC", "DVH", "DCH")
MIDDLE = ("ODT", "ODT", "ONT", "DKV", "DTT", "SKC", "CLN", "DGT", "TMD")
OUTER = ("CLN", "LUC", "RSX", "ONT", "RSX", "NTS", "CLN", "NTD", "SON")
CELL_SIZE = {10000: 900.0, 5000: 450.0, 2000: 180.0, 500: 45.0}
ZONE_PREFIX = {"general": "K", "zoning": "PK", "detailed": "O"}
#: Plans drawn far enough to have zones; the others are still at the task stage.
ZONED = ("CB-QHC-2017", "CB-QHC-2045", "CB-QHPK-DETHAM", "CB-QHC-CHUTRINH", "CB-QHC-VINHQUANG")


def zones(project: dict[str, Any], rng: np.random.Generator) -> list[dict[str, Any]]:
    """Zones over a grid of the plan's boundary, land use by distance from the centre."""
    boundary: BaseGeometry = project["geom"]
    size = CELL_SIZE[project["scale_denominator"]]
    xmin, ymin, xmax, ymax = boundary.bounds
    out: list[dict[str, Any]] = []
    for y in np.arange(ymax, ymin, -size):
        for x in np.arange(xmin, xmax, size):
            cell = snap(shapely.box(x, y - size, x + size, y).intersection(boundary))
            cell = _polygonal(cell)
            if cell is None or cell.area < 0.05 * size * size:
                continue
            distance = Point(CENTRE).distance(cell.centroid)
            palette = INNER if distance < 1800 else MIDDLE if distance < 3800 else OUTER
            code = palette[int(rng.integers(len(palette)))]
            out.append(
                _zone(project, f"{ZONE_PREFIX[project['level']]}{len(out) + 1:03d}", code, cell)
            )
    return out


def na_can_zones(project: dict[str, Any]) -> list[dict[str, Any]]:
    """The Nà Cạn I lot layout: zone A lots, zone B lots 01-56, the internal road."""
    minx, miny, maxx, _ = project["geom"].bounds
    out = []
    lot_w, lot_d = 5.0, 20.0
    # Zone B: 56 lots in 2 back-to-back rows of 28 along the south edge.
    for i in range(56):
        row, col = divmod(i, 28)
        x0 = minx + 15 + col * lot_w
        y0 = miny + 5 + row * lot_d
        out.append(
            _zone(
                project,
                f"B-{i + 1:02d}",
                "ODT",
                shapely.box(x0, y0, x0 + lot_w, y0 + lot_d),
                function="Lô đất ở khu B",
            )
        )
    # Road between zones B and A.
    out.append(
        _zone(
            project,
            "GT-01",
            "DGT",
            shapely.box(minx + 5, miny + 48, maxx - 5, miny + 60),
            function="Đường nội bộ",
        )
    )
    for i in range(50):
        row, col = divmod(i, 25)
        x0 = minx + 20 + col * 6.0
        y0 = miny + 65 + row * lot_d
        out.append(
            _zone(
                project,
                f"A-{i + 1:02d}",
                "ODT",
                shapely.box(x0, y0, x0 + 6.0, y0 + lot_d),
                function="Lô đất ở khu A",
            )
        )
    return out


def _zone(
    project: dict[str, Any],
    zone_code: str,
    land_use: str,
    geom: BaseGeometry,
    function: str | None = None,
) -> dict[str, Any]:
    indicators = INDICATORS.get(land_use)
    coverage, far, floors = indicators if indicators else (None, None, None)
    return dict(
        project_code=project["code"],
        zone_code=zone_code,
        land_use_code=land_use,
        function_name=function,
        max_coverage_pct=coverage,
        floor_area_ratio=far,
        max_floors=floors,
        max_height_m=floors * 3.6 + 1.5 if floors else None,
        setback_m=3.0 if floors and floors > 2 else None,
        geom=snap(geom),
    )


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    if geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


#: Urban development areas published by Decision 2696/QĐ-UBND of 31/12/2021:
#: code, host unit, offset from the unit's inner point (m), size (m).
DEVELOPMENT_AREAS = (
    ("3B", "01276", (-150, 250), (520, 380)),
    ("4B", "01267", (200, -150), (600, 420)),
    ("5A1", "01282", (300, -350), (480, 360)),
    ("14A", "01279", (-200, 250), (560, 400)),
    ("1A", "01270", (0, -260), (300, 200)),
    ("5D", "01285", (150, 150), (460, 340)),
)


def development_areas(units: dict[str, BaseGeometry]) -> list[dict[str, Any]]:
    rows = []
    for code, unit, (dx, dy), (w, h) in DEVELOPMENT_AREAS:
        anchor = inner_point(units[unit])
        geom = snap(
            rectangle(Point(anchor.x + dx, anchor.y + dy), w, h, 10).intersection(units[unit])
        )
        rows.append(
            dict(
                code=code,
                name=f"Khu vực phát triển đô thị số {code}",
                status="published",
                decision_number="2696/QĐ-UBND",
                decision_date=date(2021, 12, 31),
                geom=geom,
                notes="Published for investors; consultants invited to study and plan the area.",
            )
        )
    return rows


AUCTION_STATUSES = ("planned", "announced", "auctioned", "sold", "cancelled")


#: The source of a demo lot's decisions: the lots are illustrative, so are their decisions.
ILLUSTRATIVE = "demo: illustrative lot, no real decision"
#: What a lot's steps write, not the row as first recorded (:func:`lot_road` sets them).
LOT_STEP_COLUMNS = ("status", "auction_date", "winning_price_vnd", "result")


def lot_road(lot: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The steps (target state, body) that bring a new lot to its demo status."""
    target, held = lot["status"], lot["auction_date"]
    sale = ("announced", "auctioned", "sold")
    path = sale[: sale.index(target) + 1] if target in sale else ()
    if target == "cancelled":
        path = ("cancelled",)
    steps = []
    for to in path:
        body: dict[str, Any] = {}
        if to == "announced":
            body["decision"] = _illustrative(held - timedelta(days=30))
            body["auction"] = {"date": held.isoformat()}
        elif to == "auctioned":
            body["result"] = {"note": "Đã đấu giá, chờ phê duyệt kết quả"}
        elif to == "sold":
            body["decision"] = _illustrative(held + timedelta(days=14))
            body["result"] = {
                "winning_price_vnd": lot["winning_price_vnd"],
                "note": lot["result"],
            }
        elif to == "cancelled":
            body["decision"] = _illustrative(REPORT_DATE)
            body["result"] = {"note": lot["result"]}
        steps.append((to, body))
    return steps


def _illustrative(on: date) -> dict[str, Any]:
    return {"number": None, "date": on.isoformat(), "authority": CITY, "source": ILLUSTRATIVE}


def auction_lots(areas: list[dict[str, Any]], rng: np.random.Generator) -> list[dict[str, Any]]:
    """Eight lots in each development area, cycling through every auction status."""
    rows = []
    first_auction = date(2027, 1, 15)
    for a, area in enumerate(areas):
        cx, cy = area["geom"].centroid.x, area["geom"].centroid.y
        for i in range(8):
            status = AUCTION_STATUSES[(a + i) % len(AUCTION_STATUSES)]
            width, depth = float(rng.uniform(6, 12)), float(rng.uniform(18, 25))
            x0 = cx - 50 + (i % 4) * 13.0
            y0 = cy - 30 + (i // 4) * 30.0
            geom = snap(shapely.box(x0, y0, x0 + width, y0 + depth))
            area_m2 = round(geom.area, 1)
            price = int(round(area_m2 * float(rng.uniform(6, 22)) * 1e6, -6))
            row = dict(
                lot_code=f"DG-{area['code']}-{i + 1:02d}",
                development_area_code=area["code"],
                land_use_code="ODT" if i % 3 else "TMD",
                area_m2=area_m2,
                starting_price_vnd=price,
                status=status,
                auction_date=None,
                winning_price_vnd=None,
                result=None,
                geom=geom,
            )
            if status == "announced":
                row["auction_date"] = first_auction + timedelta(days=14 * (a + i))
            elif status in ("auctioned", "sold"):
                row["auction_date"] = date(2024, 3, 20) + timedelta(days=30 * (a + i))
                row["result"] = (
                    "Đã đấu giá, chờ phê duyệt kết quả"
                    if status == "auctioned"
                    else "Đã công nhận kết quả trúng đấu giá"
                )
            if status == "sold":
                row["winning_price_vnd"] = int(round(price * float(rng.uniform(1.05, 1.6)), -6))
            if status == "cancelled":
                row["result"] = "Hủy do không có người đăng ký tham gia"
            rows.append(row)
    return rows
