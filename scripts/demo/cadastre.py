"""Cadastral parcels: blocks of lots around each unit's centre, numbered by map sheet.

Certificates are issued for most parcels, some are pending, some have none; a few legal
areas disagree with the geometry, as with certificates issued from sketches (the report's
own complaint).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely
import shapely.affinity
import shapely.ops
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep

from scripts.demo.city import UNITS, inner_point, snap

URBAN_USES = {
    "ODT": 78,
    "TMD": 5,
    "CLN": 5,
    "BHK": 3,
    "DGD": 1.5,
    "DYT": 0.5,
    "TSC": 1,
    "DVH": 1,
    "DCH": 0.5,
    "SKC": 1,
    "TON": 0.5,
    "TIN": 0.5,
    "NTS": 1,
    "DTT": 1,
    "DKV": 1,
}
RURAL_USES = {
    "ONT": 22,
    "LUC": 25,
    "LUK": 5,
    "BHK": 12,
    "CLN": 18,
    "NTS": 4,
    "RSX": 8,
    "NHK": 3,
    "DGD": 0.5,
    "NTD": 1,
    "TIN": 0.5,
    "BCS": 0.5,
    "DCS": 0.5,
}
PER_UNIT = {"ward": 650, "commune": 350}
SHEET_SIZE_M = {"ward": 250.0, "commune": 600.0}
SERIAL_PREFIXES = ("BA", "BB", "BĐ", "BK", "BM", "BS", "CA", "CĐ", "CK", "CS", "CT", "DA", "DĐ")
ORIGINS = (
    "Nhà nước giao đất có thu tiền sử dụng đất",
    "Công nhận quyền sử dụng đất như giao đất có thu tiền sử dụng đất",
    "Nhận chuyển nhượng quyền sử dụng đất",
    "Nhận thừa kế quyền sử dụng đất",
    "Nhà nước giao đất không thu tiền sử dụng đất",
)
FAMILY = (
    "Nông",
    "Hoàng",
    "Lương",
    "Đàm",
    "Bế",
    "Lục",
    "Nguyễn",
    "Triệu",
    "Lý",
    "Mã",
    "Hà",
    "Vi",
    "La",
    "Đinh",
    "Lưu",
)
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thanh", "Hữu", "Ngọc", "Quang")
GIVEN = (
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hoa",
    "Hùng",
    "Lan",
    "Linh",
    "Mai",
    "Nam",
    "Phương",
    "Quân",
    "Sơn",
    "Thảo",
    "Tuấn",
    "Vân",
    "Xuân",
    "Thắng",
    "Yến",
)


def parcels(units: dict[str, BaseGeometry], rng: np.random.Generator) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for spec in UNITS:
        lots = _lots(units[spec.code], spec.kind, rng)
        uses = URBAN_USES if spec.kind == "ward" else RURAL_USES
        codes, weights = list(uses), np.array(list(uses.values()), dtype=float)
        for sheet, number, geom in lots:
            land_use = codes[int(rng.choice(len(codes), p=weights / weights.sum()))]
            rows.append(_parcel(spec, sheet, number, land_use, geom, rng))
    return rows


def _lots(unit: BaseGeometry, kind: str, rng: np.random.Generator):
    """Lots in blocks of two back-to-back rows, on a grid turned to a random bearing,
    nearest to the unit's centre first; numbered per sheet north-west to south-east."""
    urban = kind == "ward"
    width, depth, street = ((5.0, 9.0), 20.0, 8.0) if urban else ((15.0, 35.0), 40.0, 6.0)
    block_len = 80.0 if urban else 210.0
    target = PER_UNIT[kind]
    anchor = inner_point(unit)
    angle = float(rng.uniform(-30, 30))
    half = 700.0 if urban else 1400.0
    inside = prep(unit)
    candidates = []
    for v in np.arange(-half, half, 2 * depth + street):
        for u in np.arange(-half, half, block_len + street):
            # Both rows share the splits, so neighbours share vertices exactly (no
            # T-junctions that snapping to the mm grid would turn into slivers).
            x = u
            while x < u + block_len - width[0]:
                w = min(float(rng.uniform(*width)), u + block_len - x)
                for row in (0, 1):
                    local = shapely.box(x, v + row * depth, x + w, v + (row + 1) * depth)
                    candidates.append((local, x, v + row * depth))
                x += w
    candidates.sort(key=lambda c: c[1] ** 2 + c[2] ** 2)
    chosen = []
    for local, x, y in candidates:
        geom = shapely.affinity.rotate(local, angle, origin=(0, 0))
        geom = snap(shapely.affinity.translate(geom, anchor.x, anchor.y))
        if inside.contains(geom):
            chosen.append((geom, x, y))
        if len(chosen) == target:
            break
    size = SHEET_SIZE_M[kind]
    first_sheet = int(rng.integers(3, 30))
    by_sheet: dict[tuple[int, int], list] = {}
    for geom, x, y in chosen:
        key = (int((half - y) // size), int((x + half) // size))
        by_sheet.setdefault(key, []).append((geom, x, y))
    out = []
    for index, key in enumerate(sorted(by_sheet)):
        members = sorted(by_sheet[key], key=lambda c: (-round(c[2]), c[1]))
        for number, (geom, _, _) in enumerate(members, start=1):
            out.append((first_sheet + index, number, geom))
    return out


def _parcel(
    spec, sheet: int, number: int, land_use: str, geom: BaseGeometry, rng: np.random.Generator
) -> dict[str, Any]:
    area = round(geom.area, 1)
    if rng.random() < 0.04:  # certificate drawn from a sketch: the legal area disagrees
        area = round(area * float(rng.choice([rng.uniform(0.8, 0.95), rng.uniform(1.05, 1.25)])), 1)
    draw = rng.random()
    status = "issued" if draw < 0.86 else "pending" if draw < 0.94 else "none"
    residential = land_use in ("ODT", "ONT")
    row: dict[str, Any] = dict(
        unit_code=spec.code,
        map_sheet=sheet,
        parcel_number=number,
        land_use_code=land_use,
        legal_area_m2=area,
        certificate_status=status,
        certificate_serial=None,
        certificate_register_number=None,
        certificate_issued_on=None,
        use_term="Lâu dài" if residential else "Đến ngày 01/07/2064",
        origin=ORIGINS[int(rng.integers(len(ORIGINS)))],
        address=(
            f"Tổ {int(rng.integers(1, 30))}, phường {spec.name}"
            if spec.kind == "ward"
            else f"Xóm {int(rng.integers(1, 15))}, xã {spec.name}"
        ),
        geom=geom,
        holder=None,
    )
    if status == "issued":
        row["certificate_serial"] = (
            f"{SERIAL_PREFIXES[int(rng.integers(len(SERIAL_PREFIXES)))]} "
            f"{int(rng.integers(100000, 999999))}"
        )
        row["certificate_register_number"] = f"CH{int(rng.integers(1, 99999)):05d}"
        row["certificate_issued_on"] = date(1995, 1, 1) + timedelta(
            days=int(rng.integers(0, 10900))
        )
    if status != "none":
        name = " ".join(
            (
                FAMILY[int(rng.integers(len(FAMILY)))],
                MIDDLE[int(rng.integers(len(MIDDLE)))],
                GIVEN[int(rng.integers(len(GIVEN)))],
            )
        )
        row["holder"] = dict(
            holder_name=name, holder_id_number=f"004{int(rng.integers(0, 10**9)):09d}"
        )
    return row
