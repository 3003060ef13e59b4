"""2024 administrative dossiers whose totals reproduce the report's figures exactly.

The report's three sets of figures come from different registers and do not nest: the
one-stop desk's 2,715 dossiers (1/1-15/11/2024) have 36 open, while construction permits
alone have 49 open and land procedures 25. They are reproduced by the channel the dossier
came in by: the one-stop desk holds the 2,715, and the permits and land dossiers received
online make up the rest of their categories (docs/data.md shows the arithmetic).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

PERIOD_START = date(2024, 1, 2)
REPORT_DATE = date(2024, 11, 15)
PROCESSING_DAYS = {"construction_permit": 20, "land": 30, "other": 7}
OPEN_STATUS = {"construction_permit": "in_progress", "land": "in_appraisal", "other": "in_progress"}
PROCEDURES = {
    "construction_permit": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "land": "Đăng ký biến động quyền sử dụng đất",
    "other": "Chứng thực bản sao từ bản chính",
}

#: (channel, category, received, resolved, of which resolved on the due date)
PLAN = (
    ("one_stop", "construction_permit", 500, 490, 40),
    ("one_stop", "land", 100, 90, 10),
    ("one_stop", "other", 2115, 2099, 174),
    ("online", "construction_permit", 88, 49, 5),
    ("online", "land", 28, 13, 2),
)


def dossiers(parcel_ids: list[int], rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    per_day: dict[date, int] = {}
    for channel, category, received, resolved, on_time in PLAN:
        days = PROCESSING_DAYS[category]
        for i in range(received):
            is_resolved = i < resolved
            if is_resolved:
                span = (REPORT_DATE - PERIOD_START).days - days
                received_on = PERIOD_START + timedelta(days=int(rng.integers(0, span + 1)))
            else:  # still within its processing time on the report date
                received_on = REPORT_DATE - timedelta(days=int(rng.integers(0, days)))
            due_on = received_on + timedelta(days=days)
            resolved_on = None
            if is_resolved:
                resolved_on = (
                    due_on
                    if i < on_time
                    else received_on + timedelta(days=int(rng.integers(0, days)))
                )
            seq = per_day[received_on] = per_day.get(received_on, 0) + 1
            rows.append(
                dict(
                    number=f"H10.22-{received_on:%y%m%d}-{seq:04d}",
                    category=category,
                    channel=channel,
                    procedure=PROCEDURES[category],
                    received_on=received_on,
                    due_on=due_on,
                    resolved_on=resolved_on,
                    status="resolved" if is_resolved else OPEN_STATUS[category],
                    parcel_id=(
                        parcel_ids[int(rng.integers(len(parcel_ids)))]
                        if category == "land"
                        else None
                    ),
                )
            )
    return rows
