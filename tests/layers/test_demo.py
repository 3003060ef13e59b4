"""The demo reproduces the report: its plans, statuses, decisions, units and figures."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, text

from layers.admin_units import AdminUnit
from layers.auction_lots import STATUSES as AUCTION_STATUSES
from layers.auction_lots import AuctionLot
from layers.development_areas import DevelopmentArea
from layers.dossiers import summary
from layers.lifecycle import LOT, PLAN, PLAN_ORDER
from layers.parcels import Parcel, ParcelHolder
from layers.plan_zones import PlanZone
from layers.planning_projects import PlanningProject
from layers.registry import default_registry
from layers.workflows import EVENTS
from scripts.demo import DEMO_SOURCE, cadastre, city, plans

START, END = date(2024, 1, 1), date(2024, 11, 15)


def test_one_stop_figures(conn):
    received, resolved, early, on_time, late, open_ = conn.execute(
        summary(START, END, channel="one_stop")
    ).one()
    assert (received, resolved, early, on_time, late, open_) == (2715, 2679, 2455, 224, 0, 36)
    assert round(100 * early / resolved, 1) == 91.6
    assert round(100 * on_time / resolved, 1) == 8.4


@pytest.mark.parametrize(
    ("category", "expected"), [("construction_permit", (588, 539, 49)), ("land", (128, 103, 25))]
)
def test_category_figures(conn, category, expected):
    row = conn.execute(summary(START, END, category=category)).one()
    assert (row.received, row.resolved, row.open) == expected


def test_units_before_and_after_the_reform(conn):
    rows = conn.execute(
        select(
            AdminUnit.code,
            AdminUnit.name,
            AdminUnit.kind,
            AdminUnit.valid_to,
            AdminUnit.id,
            AdminUnit.merged_into_id,
        )
    ).all()
    old = {r.name: r for r in rows if r.valid_to == date(2025, 7, 1)}
    new = {r.id: r.name for r in rows if r.valid_to is None}
    assert sorted(new.values()) == ["Nùng Trí Cao", "Thục Phán", "Tân Giang"]
    assert len(old) == 11
    assert sum(r.kind == "ward" for r in old.values()) == 8
    assert old["Đề Thám"].code == "01282" and old["Chu Trinh"].code == "01720"
    successors = {name: new[r.merged_into_id] for name, r in old.items()}
    assert {n for n, s in successors.items() if s == "Thục Phán"} == {
        "Sông Hiến",
        "Đề Thám",
        "Hợp Giang",
        "Hưng Đạo",
    }
    assert {n for n, s in successors.items() if s == "Nùng Trí Cao"} == {
        "Ngọc Xuân",
        "Sông Bằng",
        "Vĩnh Quang",
    }
    assert {n for n, s in successors.items() if s == "Tân Giang"} == {
        "Tân Giang",
        "Duyệt Trung",
        "Hòa Chung",
        "Chu Trinh",
    }


def test_city_area_and_location(conn):
    area_ha, xmin, ymin, xmax, ymax = conn.execute(
        select(
            func.sum(func.ST_Area(AdminUnit.geom)) / 10_000,
            func.min(func.ST_XMin(AdminUnit.geom_wgs84)),
            func.min(func.ST_YMin(AdminUnit.geom_wgs84)),
            func.max(func.ST_XMax(AdminUnit.geom_wgs84)),
            func.max(func.ST_YMax(AdminUnit.geom_wgs84)),
        ).where(AdminUnit.valid_to.is_not(None))
    ).one()
    assert area_ha == pytest.approx(10_711.7, abs=0.1)
    assert 106.13 <= xmin < xmax <= 106.35
    assert 22.57 <= ymin < ymax <= 22.73
    new_area = conn.execute(
        select(func.sum(func.ST_Area(AdminUnit.geom)) / 10_000).where(AdminUnit.valid_to.is_(None))
    ).scalar_one()
    assert new_area == pytest.approx(10_711.7, abs=0.1)


@pytest.mark.parametrize(
    ("code", "level", "scale", "status", "decision"),
    [
        ("CB-QHC-2017", "general", 10000, "approved", None),
        ("CB-QHC-2045", "general", 10000, "preparation", None),
        ("CB-QHPK-DETHAM", "zoning", 2000, "appraised", None),
        ("CB-QHCT-6A", "detailed", 500, "task_preparation", None),
        ("CB-QHPK-09", "zoning", 2000, "contractor_selection", None),
        ("CB-QHCT-XUANTRUONG", "detailed", 500, "approved", None),
        ("CB-NARUA", "detailed", 500, "task_preparation", None),
        ("CB-TDC-DETHAM-DC", "detailed", 500, "task_preparation", None),
        ("CB-NACAN1", "detailed", 500, "approved", None),
        ("CB-QHC-CHUTRINH", "general", 5000, "approved", ("2218/QĐ-UBND", date(2023, 11, 30))),
        ("CB-QHC-VINHQUANG", "general", 5000, "approved", ("2219/QĐ-UBND", date(2023, 11, 30))),
    ],
)
def test_plans_of_the_report(conn, code, level, scale, status, decision):
    p = conn.execute(select(PlanningProject).where(PlanningProject.code == code)).one()
    assert (p.level, p.scale_denominator, p.status) == (level, scale, status)
    if decision:
        assert (p.decision_number, p.decision_date) == decision
        assert p.published and p.decision_source is None
    elif status == "approved":  # the report gives no number: none is invented
        assert p.decision_number is None and p.decision_source == plans.NOT_IN_REPORT
    assert p.source == DEMO_SOURCE
    # The road the lifecycle allows, from the first state, one transition at a time.
    moves = conn.execute(
        select(EVENTS.c.from_status, EVENTS.c.to_status)
        .where(
            EVENTS.c.layer == "planning_projects",
            EVENTS.c.feature_id == p.id,
            EVENTS.c.kind == "transition",
        )
        .order_by(EVENTS.c.id)
    ).all()
    states = ["task_preparation", *(to for _, to in moves)]
    assert states == list(PLAN_ORDER[: PLAN_ORDER.index(status) + 1])
    assert all((a, b) in PLAN.pairs() for a, b in moves)


def test_the_demo_s_decisions_never_invent_a_number(conn):
    grounds = conn.execute(
        select(EVENTS.c.grounds).where(EVENTS.c.layer == "planning_projects")
    ).scalars()
    decisions = [g["decision"] for g in grounds if "decision" in g]
    assert len(decisions) > 10
    known = {"2218/QĐ-UBND", "2219/QĐ-UBND"}
    for decision in decisions:
        assert decision["number"] in known or (
            decision["number"] is None and decision["source"] == plans.NOT_IN_REPORT
        )
        assert decision["authority"] and decision["date"] <= "2024-11-15"


def test_every_demo_lot_reached_its_status_by_its_steps(conn):
    lots = conn.execute(select(AuctionLot.id, AuctionLot.status)).all()
    for key, status in lots:
        moves = conn.execute(
            select(EVENTS.c.from_status, EVENTS.c.to_status)
            .where(EVENTS.c.layer == "auction_lots", EVENTS.c.feature_id == key)
            .order_by(EVENTS.c.id)
        ).all()
        reached = moves[-1][1] if moves else "planned"
        assert reached == status
        assert all((a, b) in LOT.pairs() for a, b in moves)


@pytest.mark.parametrize("layer", default_registry().values(), ids=lambda layer: layer.id)
def test_every_demo_feature_is_labelled_illustrative(conn, layer):
    sources = conn.execute(select(layer.table.c.source).distinct()).scalars().all()
    assert sources == [DEMO_SOURCE]


def test_de_tham_appraisal_date(conn):
    appraised = conn.execute(
        select(PlanningProject.appraisal_date).where(PlanningProject.code == "CB-QHPK-DETHAM")
    ).scalar_one()
    assert appraised == date(2024, 5, 20)


def test_only_approved_plans_are_published(conn):
    published = (
        conn.execute(
            select(PlanningProject.code)
            .where(PlanningProject.published)
            .order_by(PlanningProject.code)
        )
        .scalars()
        .all()
    )
    assert published == [
        "CB-NACAN1",
        "CB-QHC-2017",
        "CB-QHC-CHUTRINH",
        "CB-QHC-VINHQUANG",
        "CB-QHCT-XUANTRUONG",
    ]
    statuses = conn.execute(
        select(PlanningProject.status).where(PlanningProject.published)
    ).scalars()
    assert set(statuses) == {"approved"}


def test_zones_have_plausible_indicators(conn):
    rows = conn.execute(
        select(
            PlanZone.land_use_code,
            PlanZone.max_coverage_pct,
            PlanZone.floor_area_ratio,
            PlanZone.max_floors,
            PlanZone.area_m2,
        )
    ).all()
    assert len(rows) > 500
    residential = [r for r in rows if r.land_use_code == "ODT" and r.max_floors]
    assert residential
    for r in residential:
        assert 0 < r.max_coverage_pct <= 100
        assert 0 < r.floor_area_ratio <= r.max_floors * float(r.max_coverage_pct) / 100
        assert r.area_m2 > 0


def test_na_can_zone_b_lots(conn):
    codes = (
        conn.execute(
            select(PlanZone.zone_code)
            .join(PlanningProject, PlanningProject.id == PlanZone.project_id)
            .where(PlanningProject.code == "CB-NACAN1", PlanZone.zone_code.like("B-%"))
            .order_by(PlanZone.zone_code)
        )
        .scalars()
        .all()
    )
    assert codes == [f"B-{i:02d}" for i in range(1, 57)]


def test_development_areas(conn):
    rows = conn.execute(select(DevelopmentArea.code, DevelopmentArea.decision_number)).all()
    assert sorted(r.code for r in rows) == sorted(["3B", "4B", "5A1", "14A", "1A", "5D"])
    assert {r.decision_number for r in rows} == {"2696/QĐ-UBND"}


def test_auction_lots_in_every_status(conn):
    statuses = conn.execute(select(AuctionLot.status).distinct()).scalars().all()
    assert sorted(statuses) == sorted(AUCTION_STATUSES)


def test_parcels(conn):
    total = conn.execute(select(func.count()).select_from(Parcel)).scalar_one()
    assert total >= 5000
    by_status = dict(
        conn.execute(
            select(Parcel.certificate_status, func.count()).group_by(Parcel.certificate_status)
        ).all()
    )
    assert by_status["issued"] > total / 2
    assert by_status["pending"] > 0 and by_status["none"] > 0
    disagree = conn.execute(
        select(func.count()).where(
            func.abs(Parcel.legal_area_m2 - Parcel.geom_area_m2) > 0.05 * Parcel.geom_area_m2
        )
    ).scalar_one()
    assert 0 < disagree < total / 10
    uses = conn.execute(select(Parcel.land_use_code).distinct()).scalars().all()
    assert {"ODT", "ONT", "LUC", "CLN", "TMD", "DGD"} <= set(uses)
    holders = conn.execute(select(func.count()).select_from(ParcelHolder)).scalar_one()
    assert holders == by_status["issued"] + by_status["pending"]


def test_parcels_do_not_overlap(conn):
    overlaps = conn.execute(
        text(
            "SELECT count(*) FROM parcels a JOIN parcels b ON a.id < b.id "
            "AND ST_Intersects(a.geom, b.geom) AND ST_Area(ST_Intersection(a.geom, b.geom)) > 0.01"
        )
    ).scalar_one()
    assert overlaps == 0


def test_generator_is_deterministic():
    outline = city.city_outline()
    units = city.old_units(outline)
    first = cadastre.parcels(units, np.random.default_rng(7))
    second = cadastre.parcels(units, np.random.default_rng(7))
    assert [(p["unit_code"], p["map_sheet"], p["parcel_number"], p["geom"].wkb) for p in first] == [
        (p["unit_code"], p["map_sheet"], p["parcel_number"], p["geom"].wkb) for p in second
    ]


def test_demo_data_twice_does_not_duplicate(database_url, engine):
    def count():
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Parcel)).scalar_one()

    before = count()
    env = {**os.environ, "DATABASE_URL": database_url.render_as_string(hide_password=False)}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("landplan")), "demo-data"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "already loaded" in result.stdout
    assert count() == before
