"""The lean route class of the tile endpoints (api/routing.py)."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Request

from api.routing import PathRoute


@pytest.mark.parametrize(
    "path",
    ["/tiles/WebMercatorQuad/x/0/0", "/collections/plan_zones/tiles/WebMercatorQuad/1/0/1.5"],
)
def test_a_path_parameter_that_is_not_an_integer_is_a_400_naming_it(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["parameter"] == ("z" if "/x/" in path else "y")
    assert "integer" in body["detail"]


def test_tile_endpoints_are_documented_with_their_parameters(client):
    paths = client.get("/openapi.json").json()["paths"]
    operation = paths["/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{x}/{y}"]["get"]
    documented = {p["name"]: p["schema"]["type"] for p in operation["parameters"]}
    assert documented == {
        "collection_id": "string",
        "z": "integer",
        "x": "integer",
        "y": "integer",
        "as-of": "string",  # read by the route itself, documented by hand
    }
    assert "application/vnd.mapbox-vector-tile" in operation["responses"]["200"]["content"]


def test_an_endpoint_with_more_than_path_parameters_is_refused_at_startup():
    router = APIRouter(route_class=PathRoute)

    async def with_query(request: Request, z: int, extra: str):  # extra is not in the path
        raise AssertionError("never called")

    with pytest.raises(TypeError, match="path parameters"):
        router.add_api_route("/t/{z}", with_query)


def test_an_endpoint_with_an_unsupported_annotation_is_refused_at_startup():
    router = APIRouter(route_class=PathRoute)

    async def with_float(request: Request, z: float):
        raise AssertionError("never called")

    with pytest.raises(TypeError, match="int or str"):
        router.add_api_route("/t/{z}", with_float)
