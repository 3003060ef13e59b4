"""Land-use codes (ký hiệu mục đích sử dụng đất).

The table is seeded by the migrations (codes in common use, per the domain brief; check
them against Circular 08/2024/TT-BTNMT Appendix II before a release). Every land-use column
references it, so an unknown code is refused by the database with a foreign-key error
naming the column.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from layers.base import Base, one_of

GROUPS = ("agricultural", "non_agricultural", "unused")


class LandUseCode(Base):
    __tablename__ = "land_use_codes"
    __table_args__ = (one_of("land_group", GROUPS, "group_known"),)

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    land_group: Mapped[str] = mapped_column(Text)


#: Fill colours of plan zones and parcels by land use, after the colour families of
#: Vietnamese planning drawings (Circular 04/2022/TT-BXD's legend for land-use plans):
#: residential yellow to orange, public services red and pink, commerce magenta, green
#: space and recreation green, industry and mining violet, infrastructure grey, water blue,
#: farmland pale green to olive, forest dark green, religion brown, cemeteries dark grey,
#: unused land beige. docs/map.md shows the legend.
COLOURS = {
    "ODT": "#ffd24d",
    "ONT": "#ffe999",
    "TSC": "#e31a1c",
    "DGD": "#fb6a8a",
    "DYT": "#f768a1",
    "DVH": "#fa9fb5",
    "DTT": "#c51b8a",
    "TMD": "#dd3497",
    "DCH": "#ae017e",
    "DKV": "#41ab5d",
    "SKC": "#9e9ac8",
    "SKK": "#807dba",
    "SKS": "#6a51a3",
    "DGT": "#bdbdbd",
    "DTL": "#9ecae1",
    "DNL": "#969696",
    "SON": "#6baed6",
    "MNC": "#4292c6",
    "LUC": "#d9f0a3",
    "LUK": "#addd8e",
    "BHK": "#f7fcb9",
    "NHK": "#e5f5b0",
    "CLN": "#a1d99b",
    "NTS": "#c6dbef",
    "RSX": "#31a354",
    "RPH": "#006d2c",
    "RDD": "#00441b",
    "TON": "#a6611a",
    "TIN": "#dfc27d",
    "NTD": "#636363",
    "BCS": "#f5f0e1",
    "DCS": "#e8dcc0",
    "NCS": "#d9d0c1",
}
#: For a code added later without a colour of its own.
GROUP_COLOURS = {"agricultural": "#c7e9c0", "non_agricultural": "#fdd0a2", "unused": "#f0f0f0"}


def listing(codes: Iterable[str] | None = None) -> Select:
    """The codes with their names and group, by group then code (only ``codes`` if given)."""
    table = LandUseCode.__table__
    query = select(table).order_by(table.c.land_group, table.c.code)
    return query if codes is None else query.where(table.c.code.in_(sorted(codes)))


def colour(code: str, group: str) -> str:
    return COLOURS.get(code, GROUP_COLOURS[group])


def described(rows: Iterable[Any]) -> list[dict[str, str]]:
    """Rows of :func:`listing` as maps and documents show them: code, names in both
    languages, group and colour."""
    return [
        {
            "code": row.code,
            "vi": row.name_vi,
            "en": row.name_en,
            "group": row.land_group,
            "colour": colour(row.code, row.land_group),
        }
        for row in rows
    ]
