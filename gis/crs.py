"""Coordinate reference systems used for Vietnamese land and planning data.

Storage is in VN-2000 provincial 3° zones (Cao Bằng: EPSG:9210); serving is in WGS 84
(EPSG:4326 / CRS84) and Web Mercator (EPSG:3857). Transformations between VN-2000 and
WGS 84 are left to PROJ, which picks the EPSG 7-parameter operation of Decision
05/2007/QĐ-BTNMT (EPSG:6960) rather than a hand-written proj string.
"""

from __future__ import annotations

import warnings
from functools import cache, lru_cache
from typing import Any

import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as _ProjCRSError

from gis.errors import CRSError

#: VN-2000 / TM-3 105-45: the provincial 3° zone of Cao Bằng, the storage CRS.
VN2000_CAO_BANG = 9210
#: VN-2000 / UTM zone 48N.
VN2000_UTM48N = 3405
#: VN-2000 geographic 2D.
VN2000_GEOGRAPHIC = 4756
WGS84 = 4326
WEB_MERCATOR = 3857
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

#: Every VN-2000 projected CRS in EPSG: the provincial TM-3 zones, the national TM-3
#: zones and the two UTM zones. Each province uses one TM-3 zone (Decision
#: 973/2001/TT-TCĐC); files from surveyors come in any of them.
VN2000_PROJECTED = (*range(9205, 9219), 5896, 5897, 5898, 5899, 3405, 3406)

#: Reference point from the domain brief: lon/lat (WGS 84) and E/N in EPSG:9210.
REFERENCE_POINT_WGS84 = (106.2575, 22.6657)
REFERENCE_POINT_VN2000 = (551_956.731, 2_507_463.119)


def crs_from_user_input(value: str | int) -> CRS:
    """Parse ``EPSG:9210``, ``9210``, an OGC URI or a WKT string into a :class:`pyproj.CRS`.

    Raises
    ------
    CRSError
        If PROJ does not know the CRS.
    """
    try:
        return CRS.from_user_input(value)
    except _ProjCRSError as exc:
        raise CRSError(f"unknown coordinate reference system: {value!r}") from exc


@lru_cache(maxsize=64)
def transformer(source: int | str, target: int | str) -> Transformer:
    """A cached, axis-order-safe (x=easting/longitude) transformer between two CRSs."""
    return Transformer.from_crs(
        crs_from_user_input(source), crs_from_user_input(target), always_xy=True
    )


def spatial_ref_sys_row(epsg: int) -> dict[str, object]:
    """The ``spatial_ref_sys`` row PostGIS needs for an EPSG code it does not ship.

    PostGIS resolves a row with ``auth_name='EPSG'`` through PROJ's database first, so the
    WKT and proj string here are fallbacks for tools that read the table directly.
    """
    crs = crs_from_user_input(epsg)
    with warnings.catch_warnings():
        # PROJ warns that a proj string loses information; it is only a fallback here.
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4()
    return {
        "srid": epsg,
        "auth_name": "EPSG",
        "auth_srid": epsg,
        "srtext": crs.to_wkt("WKT1_GDAL"),
        "proj4text": proj4,
    }


def transform_geometry(geom: Any, source: int | str, target: int | str) -> Any:
    """``geom`` (a geometry or an array of them) from ``source`` to ``target`` CRS
    (x = easting/longitude)."""
    return shapely.transform(geom, transformer(source, target).transform, interleaved=False)


#: Output CRSs offered by the API (OGC API Features Part 2), by URI: the SRID and whether
#: the CRS's own axis order is latitude first (EPSG:4326 is; CRS84 is not).
OGC_CRS: dict[str, tuple[int, bool]] = {
    CRS84_URI: (WGS84, False),
    "http://www.opengis.net/def/crs/EPSG/0/4326": (WGS84, True),
    "http://www.opengis.net/def/crs/EPSG/0/3857": (WEB_MERCATOR, False),
    "http://www.opengis.net/def/crs/EPSG/0/9210": (VN2000_CAO_BANG, False),
    "http://www.opengis.net/def/crs/EPSG/0/3405": (VN2000_UTM48N, False),
}


def ogc_crs(value: str) -> tuple[str, int, bool]:
    """Resolve a ``crs``/``bbox-crs`` parameter: its URI, SRID and latitude-first flag.

    Accepts the OGC URI, ``EPSG:n`` or ``[EPSG:n]`` (safe CURIE), ``CRS84`` and the
    older URNs (``urn:ogc:def:crs:EPSG::9210``, ``urn:ogc:def:crs:OGC:1.3:CRS84``).

    Raises
    ------
    CRSError
        If the CRS is not one the API offers.
    """
    text = value.strip().strip("[]")
    urn = text.lower()
    if urn.startswith("urn:ogc:def:crs:epsg:"):
        text = "EPSG:" + text.rsplit(":", 1)[-1]
    if text.upper() in ("CRS84", "OGC:CRS84") or urn in (
        "urn:ogc:def:crs:ogc:1.3:crs84",
        "urn:ogc:def:crs:ogc::crs84",
    ):
        text = CRS84_URI
    elif text.upper().startswith("EPSG:"):
        text = f"http://www.opengis.net/def/crs/EPSG/0/{text[5:]}"
    if text not in OGC_CRS:
        offered = ", ".join(OGC_CRS)
        raise CRSError(f"unsupported CRS {value!r}; offered: {offered}")
    srid, lat_first = OGC_CRS[text]
    return text, srid, lat_first


Box = tuple[float, float, float, float]


@cache
def area_of_use(srid: int) -> Box:
    """Where a CRS may be used, in its own coordinates (x = easting or longitude): EPSG's
    area of use, transformed. Outside it PROJ's results are meaningless, or infinite."""
    use = crs_from_user_input(srid).area_of_use
    if use is None:
        raise CRSError(f"EPSG:{srid} has no area of use")
    if srid == WGS84:
        return use.bounds
    xmin, ymin, xmax, ymax = transformer(WGS84, srid).transform_bounds(*use.bounds, densify_pts=21)
    return (xmin, ymin, xmax, ymax)


def clip_to_area_of_use(box: Box, srid: int) -> Box | None:
    """``box`` (xmin, ymin, xmax, ymax in ``srid``) cut to the CRS's area of use; None when
    the two do not meet. Clients such as QGIS and GDAL send boxes of the whole world."""
    axmin, aymin, axmax, aymax = area_of_use(srid)
    xmin, ymin, xmax, ymax = (
        max(box[0], axmin),
        max(box[1], aymin),
        min(box[2], axmax),
        min(box[3], aymax),
    )
    if xmin > xmax or ymin > ymax:
        return None
    return (xmin, ymin, xmax, ymax)


def in_area_of_use(x: float, y: float, srid: int) -> bool:
    """Whether the point (x = easting or longitude) lies in the CRS's area of use."""
    xmin, ymin, xmax, ymax = area_of_use(srid)
    return xmin <= x <= xmax and ymin <= y <= ymax


def looks_geographic(bounds: tuple[float, float, float, float]) -> bool:
    """Whether coordinates within ``bounds`` can only be degrees of longitude/latitude."""
    xmin, ymin, xmax, ymax = bounds
    return -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90


def suggest_crs(
    bounds: tuple[float, float, float, float],
    area: tuple[float, float, float, float],
    preferred: int = VN2000_CAO_BANG,
) -> list[int]:
    """EPSG codes under which data with ``bounds`` (in an unknown CRS) lands in ``area``
    (lon/lat bounds of the service area), the likeliest first; empty if none does.

    Degrees suggest WGS 84. Metres are tried as every VN-2000 zone: a zone is a candidate
    when the data's centre, read in it, falls in both ``area`` and the zone's EPSG area
    of use; ``preferred`` (the municipality's own zone) leads, then zones by distance of
    their central meridian. Neighbouring TM-3 zones shift data by tens of kilometres,
    which can still fall inside a province, so this is a suggestion, never a choice.
    """
    if looks_geographic(bounds):
        return [WGS84]
    centre = ((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
    found: list[tuple[float, int]] = []
    for epsg in VN2000_PROJECTED:
        lon, lat = transformer(epsg, WGS84).transform(*centre)
        use = CRS.from_epsg(epsg).area_of_use
        if not (area[0] <= lon <= area[2] and area[1] <= lat <= area[3]):
            continue
        if use is not None and not (use.west <= lon <= use.east and use.south <= lat <= use.north):
            continue
        meridian = _central_meridian(epsg)
        found.append((-1.0 if epsg == preferred else abs(lon - meridian), epsg))
    return [epsg for _, epsg in sorted(found)]


@cache
def _central_meridian(epsg: int) -> float:
    operation = CRS.from_epsg(epsg).coordinate_operation
    assert operation is not None
    return float(next(p.value for p in operation.params if p.name == "Longitude of natural origin"))
