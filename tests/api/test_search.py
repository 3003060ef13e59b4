"""Search: parcels by sheet and number, plans, lots and units; accent-insensitive."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from layers.parcels import Parcel


def hits(client, q):
    response = client.get("/search", params={"q": q})
    assert response.status_code == 200
    return response.json()["hits"]


@pytest.fixture
def hop_giang_parcel(conn):
    return conn.execute(
        select(Parcel.id, Parcel.map_sheet, Parcel.parcel_number)
        .where(Parcel.unit_code == "01273")
        .order_by(Parcel.id)
        .limit(1)
    ).one()


@pytest.mark.parametrize(
    "template",
    [
        "tờ {s} thửa {n} Hợp Giang",
        "{s}/{n} Hợp Giang",
        "to {s} thua {n} hop giang",
        "Tờ số {s}, thửa số {n}, phường Hợp Giang",
    ],
)
def test_parcel_by_sheet_and_number(client, hop_giang_parcel, template):
    q = template.format(s=hop_giang_parcel.map_sheet, n=hop_giang_parcel.parcel_number)
    first = hits(client, q)[0]
    assert (first["kind"], first["id"]) == ("parcel", hop_giang_parcel.id)
    xmin, ymin, xmax, ymax = first["bbox"]
    assert 106.13 < xmin < xmax < 106.35 and 22.57 < ymin < ymax < 22.73


def test_hit_point_lies_inside_the_feature(client, conn, hop_giang_parcel):
    from sqlalchemy import func

    q = f"{hop_giang_parcel.map_sheet}/{hop_giang_parcel.parcel_number} Hợp Giang"
    x, y = hits(client, q)[0]["point"]
    point = func.ST_SetSRID(func.ST_MakePoint(x, y), 4326)
    assert conn.execute(
        select(func.ST_Intersects(Parcel.geom_wgs84, point)).where(Parcel.id == hop_giang_parcel.id)
    ).scalar_one()


def test_sheet_and_number_alone_finds_every_unit(client, hop_giang_parcel):
    found = hits(client, f"{hop_giang_parcel.map_sheet}/{hop_giang_parcel.parcel_number}")
    assert hop_giang_parcel.id in [h["id"] for h in found if h["kind"] == "parcel"]


@pytest.mark.parametrize("q", ["de tham", "Đề Thám", "DE THAM"])
def test_units_accent_insensitive(client, q):
    first = hits(client, q)[0]
    assert first["kind"] == "admin_unit" and first["title"].startswith("Đề Thám")


def test_plan_by_decision_number_and_name(client):
    assert hits(client, "2218/QĐ-UBND")[0]["title"].startswith("Quy hoạch chung xây dựng xã Chu")
    assert any(h["kind"] == "plan" for h in hits(client, "vinh quang"))


def test_lot_by_code(client):
    first = hits(client, "DG-3B-01")[0]
    assert (first["kind"], first["title"]) == ("auction_lot", "DG-3B-01")


def test_ranked(client):
    scores = [h["score"] for h in hits(client, "tan giang")]
    assert scores == sorted(scores, reverse=True)


def test_empty_query_is_400(client):
    assert client.get("/search", params={"q": ""}).status_code == 400
