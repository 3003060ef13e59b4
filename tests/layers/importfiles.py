"""Survey files for the import tests, written with GDAL as surveyors' software would.

Parcels are 20 m × 25 m lots in EPSG:9210 north-east of the reference point, with the
field names of the cadastral database standard and Vietnamese addresses.
"""

from __future__ import annotations

import subprocess
import warnings
from datetime import date
from pathlib import Path

import geopandas as gpd
import shapely
from sqlalchemy import Connection, insert

from gis.crs import REFERENCE_POINT_VN2000, VN2000_CAO_BANG

ADDRESSES = ["Đề Thám", "Hợp Giang", "Sông Bằng", "Phường Sông Hiến", "Nà Cạn", "Đất ở tại đô thị"]
VNI = {
    "Đề Thám": "Ñeà Thaùm",
    "Hợp Giang": "Hôïp Giang",
    "Sông Bằng": "Soâng Baèng",
    "Phường Sông Hiến": "Phöôøng Soâng Hieán",
    "Nà Cạn": "Naø Caïn",
    "Đất ở tại đô thị": "Ñaát ôû taïi ñoâ thò",
}
#: Far enough from the demo's parcels (none in the import tests' database anyway).
ORIGIN = (REFERENCE_POINT_VN2000[0] + 3000, REFERENCE_POINT_VN2000[1] + 3000)


def lot(i: int, *, dx: float = 0.0) -> shapely.Polygon:
    x0, y0 = ORIGIN[0] + (i % 3) * 20 + dx, ORIGIN[1] + (i // 3) * 25
    return shapely.box(x0, y0, x0 + 20, y0 + 25)


def parcels(count: int = 6) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "MaXa": ["01273"] * count,
            "SoHieuToBanDo": [90] * count,
            "SoThuTuThua": list(range(1, count + 1)),
            "DienTich": [500.0] * count,
            "KyHieuMucDichSuDung": ["ODT"] * count,
            "DiaChi": [ADDRESSES[i % len(ADDRESSES)] for i in range(count)],
        },
        geometry=[lot(i) for i in range(count)],
        crs="EPSG:9210",
    )


def write_shapefile(frame: gpd.GeoDataFrame, path: Path, encoding: str = "utf-8") -> Path:
    """A Shapefile whose .dbf text is in ``encoding`` (utf-8, cp1258, tcvn3 or vni).

    The standard's field names longer than 10 characters are cut as surveyors' software
    cuts them (SoHieuToBanDo -> SoHieuToBa): that is what the import must read, so GDAL's
    warnings about it are expected here, not news."""
    frame = frame.copy()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Column names longer than 10 characters")
        warnings.filterwarnings("ignore", "Normalized/laundered field name")
        if encoding != "utf-8":
            frame["DiaChi"] = [legacy(text, encoding).decode("latin-1") for text in frame["DiaChi"]]
            frame.to_file(path, driver="ESRI Shapefile", encoding="ISO-8859-1")
            path.with_suffix(".cpg").unlink(missing_ok=True)  # legacy files carry none
        else:
            frame.to_file(path, driver="ESRI Shapefile", encoding="utf-8")
    return path


def legacy(text: str, encoding: str) -> bytes:
    """``text`` in a legacy encoding, made by glibc's iconv (TCVN3, cp1258), an
    implementation independent of ours, or spelled as VNI-Windows users type it."""
    if encoding == "vni":
        return VNI[text].encode("cp1252")
    charset = {"tcvn3": "TCVN5712-1", "cp1258": "CP1258"}[encoding]
    command = ["iconv", "-f", "UTF-8", "-t", charset]
    return subprocess.run(command, input=text.encode(), capture_output=True, check=True).stdout


def write_drawing(
    path: Path,
    shapes: list[tuple[str, shapely.Polygon]],
    texts: list[tuple[str, float, float, bytes]],
) -> Path:
    """A DXF drawing as CAD surveys are: closed polylines, and TEXT entities (their bytes
    as the drawing holds them, in a legacy encoding if need be) placed inside them."""
    lines: list[bytes] = [b"0", b"SECTION", b"2", b"ENTITIES"]
    for layer, shape in shapes:
        ring = list(shape.exterior.coords)[:-1]
        lines += [b"0", b"LWPOLYLINE", b"8", layer.encode(), b"90", str(len(ring)).encode()]
        lines += [b"70", b"1"]
        for x, y in ring:
            lines += [b"10", repr(x).encode(), b"20", repr(y).encode()]
    for layer, x, y, text in texts:
        lines += [b"0", b"TEXT", b"8", layer.encode(), b"10", repr(x).encode()]
        lines += [b"20", repr(y).encode(), b"30", b"0", b"40", b"1.0", b"1", text]
    lines += [b"0", b"ENDSEC", b"0", b"EOF"]
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return path


def insert_ward(conn: Connection, half_side: float = 1000) -> None:
    """Ward 01273 as a square around :data:`ORIGIN`, where the test files' parcels lie."""
    from layers.admin_units import AdminUnit

    x, y = ORIGIN
    ward = shapely.MultiPolygon(
        [shapely.box(x - half_side, y - half_side, x + half_side, y + half_side)]
    )
    conn.execute(
        insert(AdminUnit.__table__).values(
            code="01273",
            name="Hợp Giang",
            kind="ward",
            valid_from=date(2000, 1, 1),
            geom=f"SRID={VN2000_CAO_BANG};{ward.wkt}",
        )
    )
