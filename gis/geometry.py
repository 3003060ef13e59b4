"""Geometry checks shared by importers, the demo generator and the API."""

from __future__ import annotations

from typing import Literal

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from gis.errors import GeometryError

OnInvalid = Literal["raise", "fix"]


def as_multipolygon(geom: BaseGeometry, *, on_invalid: OnInvalid = "raise") -> MultiPolygon:
    """Return ``geom`` as a valid, non-empty MultiPolygon.

    Parameters
    ----------
    geom
        A Polygon or MultiPolygon.
    on_invalid
        ``"raise"`` (default) refuses an invalid geometry; ``"fix"`` repairs it with
        :func:`shapely.make_valid` and keeps only its polygonal parts.

    Raises
    ------
    GeometryError
        Wrong type, empty, or invalid (with ``on_invalid="raise"``); the error carries the
        reason and, where GEOS gives one, the location of the problem.
    """
    if geom is None or geom.is_empty:
        raise GeometryError("geometry is empty", reason="empty")
    if not isinstance(geom, Polygon | MultiPolygon):
        raise GeometryError(
            f"expected a Polygon or MultiPolygon, got {geom.geom_type}", reason="wrong_type"
        )
    if not geom.is_valid:
        if on_invalid == "raise":
            raise _invalid(geom)
        geom = _polygonal_part(shapely.make_valid(geom))
        if geom.is_empty:
            raise GeometryError("geometry has no area once repaired", reason="empty")
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


def _invalid(geom: BaseGeometry) -> GeometryError:
    reason = explain_validity(geom)
    location = None
    if "[" in reason:
        coords = reason[reason.index("[") + 1 : reason.rindex("]")].split()
        location = (float(coords[0]), float(coords[1]))
    return GeometryError(f"invalid geometry: {reason}", reason="invalid", location=location)


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    return shapely.union_all(parts) if parts else Polygon()
