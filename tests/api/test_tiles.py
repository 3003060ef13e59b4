"""Vector tiles decoded as a client decodes them."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from sqlalchemy import func, select

from layers.admin_units import AdminUnit
from layers.registry import default_registry
from layers.tiles import tile_properties
from tests.api.tilemath import tile_of

CENTRE = (106.2575, 22.6657)


def decode(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(response.content)


def test_map_tile_has_every_layer_visible_at_its_zoom(client):
    x, y = tile_of(*CENTRE, 16)
    layers = decode(client.get(f"/tiles/WebMercatorQuad/16/{x}/{y}"))
    assert {"admin_units", "planning_projects", "plan_zones", "parcels"} <= layers.keys()
    parcels = layers["parcels"]["features"]
    assert len(parcels) > 50
    assert set(parcels[0]["properties"]) == set(tile_properties(default_registry()["parcels"]))


def test_map_tile_of_chosen_collections_in_their_order(client):
    x, y = tile_of(*CENTRE, 16)
    chosen = ["plan_zones", "parcels", "admin_units"]
    response = client.get(
        f"/tiles/WebMercatorQuad/16/{x}/{y}", params={"collections": ",".join(chosen)}
    )
    assert list(decode(response)) == chosen  # the order a client draws them in


@pytest.mark.parametrize("collections", ["parcels,nowhere", "", "parcels,parcels"])
def test_map_tile_refuses_unknown_collections(client, collections):
    x, y = tile_of(*CENTRE, 16)
    response = client.get(f"/tiles/WebMercatorQuad/16/{x}/{y}", params={"collections": collections})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "collections" in response.text


def test_parcels_only_from_their_min_zoom(client):
    x, y = tile_of(*CENTRE, 12)
    assert "parcels" not in decode(client.get(f"/tiles/WebMercatorQuad/12/{x}/{y}"))
    response = client.get(f"/collections/parcels/tiles/WebMercatorQuad/12/{x}/{y}")
    assert response.status_code == 204


@pytest.mark.parametrize("collection", [layer for layer in default_registry()])
def test_collection_tile_holds_only_its_layer(client, collection):
    layer = default_registry()[collection]
    z = max(layer.min_zoom, 14)
    x, y = tile_of(*CENTRE, z)
    response = client.get(f"/collections/{collection}/tiles/WebMercatorQuad/{z}/{x}/{y}")
    if response.status_code == 204:
        return  # nothing of this layer under the city centre
    assert set(decode(response)) == {collection}


def test_feature_cap_per_tile(client):
    x, y = tile_of(*CENTRE, 15)
    layers = decode(client.get(f"/collections/parcels/tiles/WebMercatorQuad/15/{x}/{y}"))
    assert len(layers["parcels"]["features"]) <= default_registry()["parcels"].tile_feature_limit


def _vertices(geometry) -> int:
    def count(coords):
        if coords and isinstance(coords[0], int | float):
            return 1
        return sum(count(c) for c in coords)

    return count(geometry["coordinates"])


def test_low_zoom_tiles_are_simplified(client, conn):
    stored = conn.execute(
        select(func.sum(func.ST_NPoints(AdminUnit.geom))).where(AdminUnit.valid_to.is_(None))
    ).scalar_one()
    x, y = tile_of(*CENTRE, 6)
    layer = decode(client.get(f"/collections/admin_units/tiles/WebMercatorQuad/6/{x}/{y}"))
    current = [
        f
        for f in layer["admin_units"]["features"]
        if "valid_to" not in f["properties"] or f["properties"]["valid_to"] is None
    ]
    assert len(current) == 3
    assert sum(_vertices(f["geometry"]) for f in current) < stored / 3


def test_empty_tile_is_204(client):
    assert client.get("/tiles/WebMercatorQuad/14/0/0").status_code == 204


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/WebMercatorQuad/25/0/0",
        "/tiles/WebMercatorQuad/3/8/0",
        "/collections/parcels/tiles/WebMercatorQuad/2/-1/0",
    ],
)
def test_out_of_range_tiles(client, path):
    assert client.get(path).status_code in (400, 404)


def test_unknown_collection_tile_is_404(client):
    assert client.get("/collections/nope/tiles/WebMercatorQuad/1/0/0").status_code == 404


def test_tilejson(client):
    body = client.get("/tiles/WebMercatorQuad/tilejson.json").json()
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"][0].endswith("/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert [v["id"] for v in body["vector_layers"]] == list(default_registry())
    one = client.get("/collections/parcels/tiles/WebMercatorQuad/tilejson.json").json()
    assert one["minzoom"] == 15
    assert "holder_name" not in str(one)


def test_tile_etag(client):
    x, y = tile_of(*CENTRE, 14)
    first = client.get(f"/tiles/WebMercatorQuad/14/{x}/{y}")
    again = client.get(
        f"/tiles/WebMercatorQuad/14/{x}/{y}", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
