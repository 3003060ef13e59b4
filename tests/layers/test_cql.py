"""CQL2 filters at the layer level, without HTTP: what is refused before any SQL, and the
SQL of what passes (run on the demo database)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from layers import cql
from layers.parcels import LAYER as PARCELS
from layers.planning_projects import LAYER as PLANS


def matches(conn, layer, text, lang="cql2-text") -> int:
    condition = cql.where(cql.parse(layer, text, lang))
    query = select(func.count()).select_from(layer.table).where(condition)
    return conn.execute(query).scalar_one()


@pytest.mark.parametrize(
    "text",
    [
        "map_sheet = 'abc'",
        "legal_area_m2 > 'abc'",
        "certificate_status = 5",
        "map_sheet = 99999999999999999999",
        "legal_area_m2 > 1e999",
        "unit_code = '\x00'",
        "legal_area_m2 / 0 > 1",
        "map_sheet = parcel_number",
        "S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 0 0)))",
        "BBOX(geometry, 0, 0, 1, 1, 'EPSG:3857')",
        "BBOX(geometry, 0, 0, 1e999, 1)",
        " OR ".join(["map_sheet = 1"] * 101),
        "NOT " * 101 + "map_sheet = 1",
    ],
)
def test_refused_before_any_sql(text):
    with pytest.raises(cql.FilterError):
        cql.parse(PARCELS, text)


@pytest.mark.parametrize("document", ["1", "[]", '"x"', "null", "[[[[[[[[[[" * 2000])
def test_cql2_json_must_be_an_object(document):
    with pytest.raises(cql.FilterError):
        cql.parse(PARCELS, document, "cql2-json")


def test_a_geometry_crs_other_than_crs84_is_refused():
    point = {"type": "Point", "coordinates": [106.26, 22.66], "crs": "EPSG::abc"}
    document = {"op": "s_intersects", "args": [{"property": "geometry"}, point]}
    with pytest.raises(cql.FilterError, match="CRS84"):
        cql.parse(PARCELS, json.dumps(document), "cql2-json")


def test_what_passes_runs(conn):
    total = conn.execute(select(func.count()).select_from(PARCELS.table)).scalar_one()
    assert matches(conn, PARCELS, "map_sheet > 0") == total
    assert matches(conn, PARCELS, "map_sheet > 2147483647") == 0
    assert 0 < matches(conn, PARCELS, "unit_code IN ('01273', '01282')") < total
    assert matches(conn, PARCELS, " OR ".join(f"map_sheet = {n}" for n in range(1, 101))) > 0
    assert matches(conn, PLANS, "decision_date > DATE('2023-01-01')") >= 2
    assert matches(conn, PLANS, "decision_date > TIMESTAMP('2023-01-01T00:00:00Z')") >= 2


def test_a_cql2_json_bbox_is_minx_miny_maxx_maxy(conn):
    box = [106.25, 22.66, 106.26, 22.67]
    document = {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": box}]}
    by_json = matches(conn, PARCELS, json.dumps(document), "cql2-json")
    by_text = matches(conn, PARCELS, f"BBOX(geometry, {', '.join(map(str, box))})")
    assert by_json == by_text > 0


def test_cql2_literal_forms_read_as_the_standard_writes_them(conn):
    box = "106.25, 22.66, 106.26, 22.67"
    by_bbox = matches(conn, PARCELS, f"BBOX(geometry, {box})")
    assert matches(conn, PARCELS, f"S_INTERSECTS(geometry, BBOX({box}))") == by_bbox > 0
    assert (
        matches(conn, PARCELS, "S_INTERSECTS(geometry, ENVELOPE(106.25 106.26 22.66 22.67))")
        == by_bbox
    )
    between = {"op": "between", "args": [{"property": "map_sheet"}, 10, 20]}
    assert matches(conn, PARCELS, json.dumps(between), "cql2-json") == matches(
        conn, PARCELS, "map_sheet BETWEEN 10 AND 20"
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("address LIKE 'a\\'", "escape character"),
        ("BBOX(geometry, 22.66, 106.25, 22.67, 106.26, 'EPSG:4326')", "CRS84"),
        ("map_sheet = 1" + "0" * 200, "digits"),
        ("map_sheet = true", "true is not an integer"),
    ],
)
def test_refusals_name_the_problem(text, words):
    with pytest.raises(cql.FilterError, match=words):
        cql.parse(PARCELS, text)
