"""Landing page, health, collections and the OpenAPI document over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from layers.planning_projects import PlanningProject, is_public
from layers.registry import default_registry
from tests.servers import serve, settings_for

PUBLIC_IDS = [
    "admin_units",
    "planning_projects",
    "plan_zones",
    "parcels",
    "auction_lots",
    "development_areas",
]


def test_health(client, conn):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["postgis"] == conn.execute(select(func.postgis_lib_version())).scalar_one()
    assert body["postgis"].startswith("3.")
    assert body["postgres"].startswith("15")


@pytest.mark.parametrize(
    "path", ["/health", "/tiles/WebMercatorQuad/14/13030/7133", "/collections/parcels/items"]
)
def test_503_when_the_database_is_down(path):
    unreachable = "postgresql://nobody:secret@127.0.0.1:1/nowhere"
    for base in serve(settings_for(unreachable, pool_timeout=1)):
        response = httpx.get(f"{base}{path}", timeout=30)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 503
        assert "nobody" not in response.text and "refused" not in response.text.lower()


def test_landing_links(client):
    body = client.get("/").json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert {"self", "service-desc", "service-doc", "data"} <= rels.keys()
    assert client.get(rels["data"]).status_code == 200
    assert client.get(rels["service-desc"]).status_code == 200


def test_collections_list_the_public_layers(client):
    response = client.get("/collections")
    assert response.status_code == 200
    collections = response.json()["collections"]
    assert [c["id"] for c in collections] == PUBLIC_IDS
    for c in collections:
        assert c["title"]
        ((xmin, ymin, xmax, ymax),) = c["extent"]["spatial"]["bbox"]
        assert 106.13 <= xmin < xmax <= 106.35, c["id"]
        assert 22.57 <= ymin < ymax <= 22.73, c["id"]


def test_plan_extent_covers_only_public_plans(client, conn):
    table = PlanningProject.__table__
    expected = conn.execute(
        select(
            func.ST_XMin(func.ST_Extent(table.c.geom_wgs84)),
            func.ST_YMax(func.ST_Extent(table.c.geom_wgs84)),
        ).where(is_public(table))
    ).one()
    everything = conn.execute(select(func.ST_XMin(func.ST_Extent(table.c.geom_wgs84)))).scalar_one()
    body = client.get("/collections/planning_projects").json()
    ((xmin, _, _, ymax),) = body["extent"]["spatial"]["bbox"]
    assert (xmin, ymax) == pytest.approx(tuple(expected))
    assert xmin >= everything


def test_unknown_collection_is_a_problem(client):
    response = client.get("/collections/parcel_holders")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "parcel_holders" in response.json()["detail"]


def test_openapi_document(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/", "/health", "/collections", "/collections/{collection_id}"} <= doc["paths"].keys()


@pytest.mark.parametrize(
    "path", ["/", "/collections", "/openapi.json", *[f"/collections/{i}" for i in PUBLIC_IDS]]
)
def test_no_personal_data_in_public_responses(client, path):
    text = client.get(path).text
    for secret in ("holder_name", "holder_id_number", "parcel_holders", "certificate_serial"):
        assert secret not in text


def test_public_properties_never_name_personal_data():
    for layer in default_registry().values():
        assert not {"holder_name", "holder_id_number"} & set(layer.public_properties)
        assert set(layer.public_properties) <= set(layer.table.c.keys()), layer.id


def test_cors_is_configurable(database_url):
    settings = settings_for(database_url.render_as_string(hide_password=False))
    settings.server.cors_origins = ["https://portal.caobang.gov.vn"]
    for base in serve(settings):
        allowed = httpx.get(
            f"{base}/collections", headers={"Origin": "https://portal.caobang.gov.vn"}, timeout=30
        )
        assert allowed.headers["access-control-allow-origin"] == "https://portal.caobang.gov.vn"
        other = httpx.get(
            f"{base}/collections", headers={"Origin": "https://evil.example"}, timeout=30
        )
        assert "access-control-allow-origin" not in other.headers


def test_no_cors_by_default(client):
    response = client.get("/collections", headers={"Origin": "https://portal.caobang.gov.vn"})
    assert "access-control-allow-origin" not in response.headers
