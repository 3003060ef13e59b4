"""The city outline and its administrative units, before and after the 2025 reform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import shapely
import shapely.affinity
import shapely.ops
from shapely.geometry import MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

from gis.crs import REFERENCE_POINT_VN2000

#: Cao Bằng city centre in EPSG:9210 (the domain brief's reference point).
CENTRE = REFERENCE_POINT_VN2000
#: The city's area per the report: 10,711.7 ha.
CITY_AREA_M2 = 10_711.7 * 10_000
REFORM_DATE = date(2025, 7, 1)
#: Validity start of the pre-reform units (the national list in force since 2012 for
#: Cao Bằng city; the exact date each unit took its form is not in the report).
OLD_UNITS_FROM = date(2012, 9, 1)
GRID = 0.001  # mm: every demo geometry is snapped to it so shared edges match exactly


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: str
    offset_km: tuple[float, float]  # seed point from the centre, for the Voronoi split
    successor: str  # code of the post-reform ward


UNITS = (
    UnitSpec("01267", "Sông Hiến", "ward", (1.5, 0.6), "01273"),
    UnitSpec("01270", "Sông Bằng", "ward", (0.4, 1.4), "01279"),
    UnitSpec("01273", "Hợp Giang", "ward", (0.0, 0.0), "01273"),
    UnitSpec("01276", "Tân Giang", "ward", (1.3, -2.1), "01288"),
    UnitSpec("01279", "Ngọc Xuân", "ward", (-0.4, 2.7), "01279"),
    UnitSpec("01282", "Đề Thám", "ward", (-1.7, -1.2), "01273"),
    UnitSpec("01285", "Hòa Chung", "ward", (-0.1, -3.0), "01288"),
    UnitSpec("01288", "Duyệt Trung", "ward", (-1.4, -4.6), "01288"),
    UnitSpec("01693", "Vĩnh Quang", "commune", (-3.2, 4.2), "01279"),
    UnitSpec("01705", "Hưng Đạo", "commune", (-4.6, -1.8), "01273"),
    UnitSpec("01720", "Chu Trinh", "commune", (4.6, -0.8), "01288"),
)

#: Post-reform wards (Resolution 1657/NQ-UBTVQH15 of 16/06/2025); each keeps the national
#: code of one of the units merged into it. Parts of Hoàng Tung and Lê Chung communes
#: that joined them lie outside the old city and are not drawn.
NEW_WARDS = (("01273", "Thục Phán"), ("01279", "Nùng Trí Cao"), ("01288", "Tân Giang"))


def snap(geom: BaseGeometry) -> BaseGeometry:
    return shapely.set_precision(geom, GRID)


def city_outline() -> Polygon:
    """An irregular outline around the centre whose area is exactly the city's."""
    theta = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    shape = 1 + 0.18 * np.sin(2 * theta + 0.7) + 0.10 * np.cos(3 * theta - 0.4)
    shape += 0.05 * np.sin(5 * theta)
    unit = Polygon(np.column_stack([shape * np.cos(theta), shape * np.sin(theta)]))
    radius = np.sqrt(CITY_AREA_M2 / unit.area)
    return Polygon(
        np.column_stack(
            [CENTRE[0] + radius * shape * np.cos(theta), CENTRE[1] + radius * shape * np.sin(theta)]
        )
    )


def old_units(outline: Polygon) -> dict[str, BaseGeometry]:
    """The 11 pre-2025 units: a Voronoi split of the outline around their seed points."""
    seeds = {
        u.code: Point(CENTRE[0] + u.offset_km[0] * 1000, CENTRE[1] + u.offset_km[1] * 1000)
        for u in UNITS
    }
    cells = shapely.voronoi_polygons(
        MultiPoint(list(seeds.values())), extend_to=outline.buffer(5000)
    )
    units: dict[str, BaseGeometry] = {}
    for cell in cells.geoms:
        code = next(c for c, p in seeds.items() if cell.contains(p))
        units[code] = snap(cell.intersection(outline))
    return units


def new_wards(units: dict[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    merged: dict[str, list[BaseGeometry]] = {code: [] for code, _ in NEW_WARDS}
    for spec in UNITS:
        merged[spec.successor].append(units[spec.code])
    return {code: snap(shapely.union_all(parts)) for code, parts in merged.items()}


def inner_point(geom: BaseGeometry) -> Point:
    """A point well inside a unit, where its features are anchored."""
    return shapely.ops.polylabel(geom, tolerance=10.0)


def rectangle(centre: Point, width: float, height: float, angle_deg: float = 0.0) -> Polygon:
    box = shapely.box(-width / 2, -height / 2, width / 2, height / 2)
    box = shapely.affinity.rotate(box, angle_deg, origin=(0, 0))
    return shapely.affinity.translate(box, centre.x, centre.y)
