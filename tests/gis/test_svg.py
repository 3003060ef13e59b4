"""Small SVG maps drawn to scale."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import shapely

from gis.svg import Shape, frame_around, polygons_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_polygons_are_drawn_to_scale_north_up():
    square = shapely.box(500_010, 2_500_010, 500_020, 2_500_020)  # 10 m, VN-2000 metres
    svg = polygons_svg(
        [Shape(square, fill="#ff0000")], (500_000, 2_500_000, 500_040, 2_500_030), width=400
    )
    root = ET.fromstring(svg)
    assert (root.get("width"), root.get("height")) == ("400", "300")  # 10 px per metre
    path = root.find(f"{SVG}path")
    assert path.get("fill") == "#ff0000"
    points = [tuple(map(float, p.split())) for p in re.findall(r"[\d.]+ [\d.]+", path.get("d"))]
    xs, ys = {x for x, _ in points}, {y for _, y in points}
    assert xs == {100.0, 200.0}
    # y grows downwards in SVG: the square's north edge (2,500,020) is 100 px from the top.
    assert ys == {100.0, 200.0}


def test_shapes_are_clipped_to_the_frame_and_labelled():
    big = shapely.box(0, 0, 1000, 1000)
    svg = polygons_svg([Shape(big, label="K072 & co")], (100, 100, 200, 200), width=100)
    root = ET.fromstring(svg)
    d = root.find(f"{SVG}path").get("d")
    assert max(float(v) for v in re.findall(r"[\d.]+", d)) <= 100.0
    assert root.find(f"{SVG}text").text == "K072 & co"  # escaped in the markup, read back


def test_scale_bar_has_a_round_length():
    svg = polygons_svg([], (0, 0, 200, 150), width=600)  # 3 px per metre
    assert "50 m" in svg  # 120 px is 40 m: the next round length


def test_frame_keeps_the_geometry_inside_with_the_aspect():
    parcel = shapely.box(0, 0, 10, 40)
    minx, miny, maxx, maxy = frame_around(parcel, margin=0.5, aspect=0.75)
    assert minx < 0 and miny < 0 and maxx > 10 and maxy > 40
    assert round((maxy - miny) / (maxx - minx), 6) == 0.75
    assert miny <= -15  # at least 15 m, or half the size (20 m) around
