"""Tile SQL at the layer level: the feature cap and the zoom range of a layer."""

from __future__ import annotations

import dataclasses

import mapbox_vector_tile

from layers.registry import default_registry
from layers.tiles import tile
from tests.api.tilemath import tile_of

CENTRE = (106.2575, 22.6657)


def decode(conn, layers, z):
    x, y = tile_of(*CENTRE, z)
    data = conn.execute(tile(layers, z), {"x": x, "y": y}).scalar_one()
    return mapbox_vector_tile.decode(bytes(data)) if data else {}


def test_feature_cap_applies(conn):
    parcels = default_registry()["parcels"]
    full = decode(conn, [parcels], 16)["parcels"]["features"]
    assert len(full) > 10
    capped = dataclasses.replace(parcels, tile_feature_limit=10)
    assert len(decode(conn, [capped], 16)["parcels"]["features"]) == 10


def test_layer_outside_its_zoom_range_is_left_out(conn):
    parcels = default_registry()["parcels"]
    assert decode(conn, [parcels], parcels.min_zoom - 1) == {}
    narrow = dataclasses.replace(parcels, max_zoom=15)
    assert decode(conn, [narrow], 16) == {}


def test_properties_are_the_public_ones(conn):
    zones = decode(conn, [default_registry()["plan_zones"]], 14)["plan_zones"]["features"]
    keys = set().union(*(f["properties"] for f in zones))
    assert keys <= set(default_registry()["plan_zones"].public_properties)
    assert "land_use_code" in keys
