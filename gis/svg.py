"""Small maps as SVG, for documents (the planning-information extract) that must print
without a tile server: polygons in a projected CRS, drawn to scale, north up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

import shapely
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class Shape:
    """A geometry to draw, with SVG presentation attributes and an optional label."""

    geometry: BaseGeometry
    fill: str = "none"
    stroke: str = "#333333"
    stroke_width: float = 1.0
    fill_opacity: float = 1.0
    dash: str | None = None
    label: str | None = None
    label_size: float = 10.0
    extra: dict[str, str] = field(default_factory=dict)


def _path(geometry: BaseGeometry, to_px) -> str:
    parts = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        if polygon.is_empty or polygon.geom_type != "Polygon":
            continue
        for ring in (polygon.exterior, *polygon.interiors):
            points = [to_px(x, y) for x, y in ring.coords]
            parts.append("M" + " L".join(f"{px:.1f} {py:.1f}" for px, py in points[:-1]) + " Z")
    return " ".join(parts)


def polygons_svg(
    shapes: Sequence[Shape],
    frame: tuple[float, float, float, float],
    *,
    width: int = 640,
    title: str | None = None,
) -> str:
    """Draw ``shapes`` inside ``frame`` (minx, miny, maxx, maxy in metres) as an SVG of
    ``width`` pixels, the height following the frame's aspect, with a scale bar.

    Geometries are clipped to the frame; polygons only (other types are skipped).
    """
    minx, miny, maxx, maxy = frame
    scale = width / (maxx - minx)
    height = round((maxy - miny) * scale)

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (x - minx) * scale, (maxy - y) * scale

    box = shapely.box(*frame)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif">'
    ]
    if title:
        out.append(f"<title>{escape(title)}</title>")
    out.append(f'<rect width="{width}" height="{height}" fill="#ffffff" stroke="#999999"/>')
    labels = []
    for shape in shapes:
        clipped = shapely.intersection(shape.geometry, box)
        d = _path(clipped, to_px)
        if not d:
            continue
        attrs = {
            "d": d,
            "fill": shape.fill,
            "fill-opacity": f"{shape.fill_opacity:g}",
            "fill-rule": "evenodd",
            "stroke": shape.stroke,
            "stroke-width": f"{shape.stroke_width:g}",
            **({"stroke-dasharray": shape.dash} if shape.dash else {}),
            **shape.extra,
        }
        out.append("<path " + " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items()) + "/>")
        if shape.label:
            at = clipped.point_on_surface()
            px, py = to_px(at.x, at.y)
            labels.append(
                f'<text x="{px:.1f}" y="{py:.1f}" font-size="{shape.label_size:g}" '
                f'text-anchor="middle" dominant-baseline="middle" fill="#111111" '
                f'stroke="#ffffff" stroke-width="2.5" paint-order="stroke">'
                f"{escape(shape.label)}</text>"
            )
    out.extend(labels)
    out.append(_scale_bar(scale, height))
    out.append("</svg>")
    return "".join(out)


def _scale_bar(scale: float, height: int) -> str:
    """A bar of a round length near a fifth of the width."""
    target = 120 / scale
    length = next(
        (n for n in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000) if n >= target),
        5000,
    )
    px = length * scale
    y = height - 12
    return (
        f'<g font-size="10"><rect x="10" y="{y - 4}" width="{px:.1f}" height="4" '
        f'fill="#111111"/><text x="{10 + px + 4:.1f}" y="{y}">{length} m</text></g>'
    )


def frame_around(geometry: BaseGeometry, margin: float, aspect: float = 0.75) -> tuple:
    """A frame around ``geometry`` with ``margin`` (a share of its size, at least 15 m)
    on each side, widened to the aspect (height / width)."""
    minx, miny, maxx, maxy = geometry.bounds
    size = max(maxx - minx, maxy - miny)
    pad = max(size * margin, 15.0)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    width, height = maxx - minx, maxy - miny
    if height / width < aspect:
        grow = (width * aspect - height) / 2
        miny, maxy = miny - grow, maxy + grow
    else:
        grow = (height / aspect - width) / 2
        minx, maxx = minx - grow, maxx + grow
    return minx, miny, maxx, maxy
