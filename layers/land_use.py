"""Land-use codes (ký hiệu mục đích sử dụng đất).

The table is seeded by the migrations (codes in common use, per the domain brief; check
them against Circular 08/2024/TT-BTNMT Appendix II before a release). Every land-use column
references it, so an unknown code is refused by the database with a foreign-key error
naming the column.
"""

from __future__ import annotations

from sqlalchemy import String, Text
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
