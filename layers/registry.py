"""The explicit registry of published layers. Adding a layer means adding its module and
one line here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from layers import (
    admin_units,
    auction_lots,
    development_areas,
    parcels,
    plan_zones,
    planning_projects,
)
from layers.base import Layer


class UnknownLayerError(KeyError):
    """No public layer has this id."""


class Registry(Mapping[str, Layer]):
    def __init__(self, layers: list[Layer]):
        self._layers = {layer.id: layer for layer in layers}

    def __getitem__(self, layer_id: str) -> Layer:
        try:
            return self._layers[layer_id]
        except KeyError:
            raise UnknownLayerError(layer_id) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._layers)

    def __len__(self) -> int:
        return len(self._layers)


def default_registry() -> Registry:
    return Registry(
        [
            admin_units.LAYER,
            planning_projects.LAYER,
            plan_zones.LAYER,
            parcels.LAYER,
            auction_lots.LAYER,
            development_areas.LAYER,
        ]
    )
