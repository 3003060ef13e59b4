"""No public response of any kind carries holders' personal data or unpublished plans."""

from __future__ import annotations

import io
import zipfile

import mapbox_vector_tile
import pytest
from sqlalchemy import func, select

from layers.parcels import ParcelHolder
from layers.plan_zones import PlanZone
from layers.planning_projects import PlanningProject, is_public
from layers.registry import default_registry
from tests.api.test_extract import pdf_text
from tests.api.tilemath import tile_of


@pytest.fixture(scope="module")
def secrets(engine):
    with engine.connect() as conn:
        holders = conn.execute(
            select(ParcelHolder.holder_name, ParcelHolder.holder_id_number)
        ).all()
        hidden = conn.execute(
            select(PlanningProject.id, PlanningProject.code, PlanningProject.name).where(
                ~is_public(PlanningProject.__table__)
            )
        ).all()
        hidden_zones = (
            conn.execute(select(PlanZone.id).where(PlanZone.project_id.in_([p.id for p in hidden])))
            .scalars()
            .all()
        )
        hidden_zone = conn.execute(
            select(
                func.ST_X(func.ST_PointOnSurface(PlanZone.geom_wgs84)),
                func.ST_Y(func.ST_PointOnSurface(PlanZone.geom_wgs84)),
            )
            .join(PlanningProject, PlanningProject.id == PlanZone.project_id)
            .where(PlanningProject.code == "CB-QHPK-DETHAM")
            .order_by(PlanZone.id)
            .limit(1)
        ).one()
    return {
        "ids": {h.holder_id_number for h in holders},
        "names": {h.holder_name for h in holders},
        "plans": hidden,
        "zones": set(hidden_zones),
        "hidden_point": tuple(hidden_zone),
    }


def assert_clean(text: str, secrets) -> None:
    for id_number in secrets["ids"]:
        assert id_number not in text
    for name in secrets["names"]:
        assert name not in text
    for plan in secrets["plans"]:
        assert plan.code not in text and plan.name not in text


@pytest.mark.parametrize("collection", list(default_registry()))
def test_items(client, secrets, collection):
    text = client.get(f"/collections/{collection}/items", params={"limit": 10000}).text
    assert_clean(text, secrets)


def test_single_features_of_hidden_plans_and_zones(client, secrets):
    for plan in secrets["plans"]:
        assert client.get(f"/collections/planning_projects/items/{plan.id}").status_code == 404
    for zone_id in list(secrets["zones"])[:50]:
        assert client.get(f"/collections/plan_zones/items/{zone_id}").status_code == 404


def test_filters_cannot_reach_hidden_rows(client, secrets):
    body = client.get(
        "/collections/planning_projects/items",
        params={"filter": "status <> 'approved' OR status = 'approved'"},
    ).json()
    assert {f["id"] for f in body["features"]}.isdisjoint({p.id for p in secrets["plans"]})


@pytest.mark.parametrize("z", [12, 14, 16])
def test_tiles(client, secrets, z):
    x, y = tile_of(*secrets["hidden_point"], z)
    response = client.get(f"/tiles/WebMercatorQuad/{z}/{x}/{y}")
    layers = mapbox_vector_tile.decode(response.content)
    plan_ids = {f["id"] for f in layers.get("planning_projects", {}).get("features", [])}
    zone_ids = {f["id"] for f in layers.get("plan_zones", {}).get("features", [])}
    assert plan_ids.isdisjoint({p.id for p in secrets["plans"]})
    assert zone_ids.isdisjoint(secrets["zones"])
    assert_clean(response.content.decode("utf-8", "replace"), secrets)


def test_lookup_inside_an_unpublished_plan(client, secrets):
    lon, lat = secrets["hidden_point"]
    response = client.get("/lookup", params={"lon": lon, "lat": lat})
    body = response.json()
    assert body["planning"]["zoning"] == []  # Đề Thám's zoning plan is appraised, unpublished
    assert_clean(response.text, secrets)


def test_parcel_planning(client, secrets, conn):
    from layers.parcels import Parcel

    rows = conn.execute(
        select(Parcel.unit_code, Parcel.map_sheet, Parcel.parcel_number)
        .where(Parcel.unit_code == "01270")
        .limit(20)
    ).all()
    for row in rows:
        assert_clean(client.get("/parcels/{}/{}/{}/planning".format(*row)).text, secrets)


@pytest.mark.parametrize("q", ["Nà Cạn", "Đề Thám", "6A", "Xuân Trường", "quy hoach"])
def test_search_finds_no_hidden_plan(client, secrets, q):
    response = client.get("/search", params={"q": q})
    assert all(
        h["kind"] != "plan" or h["id"] not in {p.id for p in secrets["plans"]}
        for h in response.json()["hits"]
    )
    assert_clean(response.text, secrets)


def test_search_by_holder_finds_nothing(client, secrets):
    name = sorted(secrets["names"])[0]
    assert client.get("/search", params={"q": name}).json()["hits"] == []
    id_number = sorted(secrets["ids"])[0]
    assert client.get("/search", params={"q": id_number}).json()["hits"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/openapi.json",
        "/collections",
        "/conformance",
        "/",
        "/tiles/WebMercatorQuad/tilejson.json",
        *[f"/collections/{c}/queryables" for c in default_registry()],
    ],
)
def test_metadata(client, secrets, path):
    text = client.get(path).text
    assert_clean(text, secrets)
    assert "holder_name" not in text and "holder_id_number" not in text


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "csv", "dxf"])
@pytest.mark.parametrize("collection", list(default_registry()))
def test_downloads(client, secrets, collection, fmt):
    response = client.get(f"/collections/{collection}/items", params={"limit": 10000, "f": fmt})
    assert response.status_code == 200
    data = response.content
    if fmt == "shp":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = b"".join(archive.read(name) for name in archive.namelist())
    text = data.decode("utf-8", errors="replace")
    assert_clean(text, secrets)
    for plan in secrets["plans"]:  # hidden plans' zones are not in the file either
        assert plan.name.encode() not in data


def test_map_page(client, secrets):
    text = client.get("/", params={"f": "html"}).text
    assert_clean(text, secrets)
    assert "holder" not in text


def test_extracts_of_parcels_under_an_unpublished_plan(client, secrets, conn):
    from layers.parcels import Parcel

    rows = conn.execute(
        select(Parcel.unit_code, Parcel.map_sheet, Parcel.parcel_number, Parcel.certificate_serial)
        .join(PlanZone, func.ST_Intersects(PlanZone.geom, Parcel.geom))
        .where(PlanZone.id.in_(secrets["zones"]), Parcel.certificate_serial.is_not(None))
        .limit(3)
    ).all()
    assert rows, "the demo has certified parcels under an unpublished plan"
    for unit, sheet, number, serial in rows:
        path = f"/parcels/{unit}/{sheet}/{number}/extract"
        html = client.get(path).text
        pdf = pdf_text(client.get(path, params={"f": "pdf"}).content)
        for text in (html, pdf):
            assert_clean(text, secrets)
            assert serial not in text
