"""Each database rule refuses its bad row with an error that names the rule."""

from __future__ import annotations

from datetime import date

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, Polygon, box
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from gis.crs import REFERENCE_POINT_VN2000
from layers.auction_lots import AuctionLot
from layers.dossiers import Dossier
from layers.parcels import Parcel
from layers.plan_zones import PlanZone
from layers.planning_projects import PlanningProject

X0, Y0 = REFERENCE_POINT_VN2000
SQUARE = MultiPolygon([box(X0 + 5000, Y0 - 5000, X0 + 5020, Y0 - 4980)])
BOWTIE = MultiPolygon([Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])])


def geom(shape=SQUARE):
    return from_shape(shape, srid=9210)


def parcel(**changes):
    row = dict(
        unit_code="01273",
        map_sheet=999,
        parcel_number=1,
        land_use_code="ODT",
        legal_area_m2=400.0,
        certificate_status="none",
        geom=geom(),
    )
    return {**row, **changes}


def project(**changes):
    row = dict(
        code="TEST-1",
        name="Test plan",
        level="detailed",
        scale_denominator=500,
        status="preparation",
        geom=geom(MultiPolygon([box(X0, Y0, X0 + 100, Y0 + 100)])),
    )
    return {**row, **changes}


def refused(conn, statement, params=None) -> DBAPIError:
    """Run a statement that must fail, inside a savepoint so the test can go on."""
    with pytest.raises(DBAPIError) as info, conn.begin_nested():
        conn.execute(statement, params) if params is not None else conn.execute(statement)
    return info.value


def constraint_of(error: DBAPIError) -> str:
    return error.orig.diag.constraint_name


def test_a_valid_parcel_is_accepted_and_measured_in_vn2000(conn):
    parcel_id = conn.execute(insert(Parcel).returning(Parcel.id), parcel()).scalar_one()
    area = conn.execute(select(Parcel.geom_area_m2).where(Parcel.id == parcel_id)).scalar_one()
    assert area == pytest.approx(SQUARE.area)


def test_duplicate_parcel_identity(conn):
    conn.execute(insert(Parcel), parcel())
    error = refused(conn, insert(Parcel), parcel(geom=geom(SQUARE)))
    assert isinstance(error, IntegrityError)
    assert constraint_of(error) == "parcels_unit_code_map_sheet_parcel_number_key"
    assert "(unit_code, map_sheet, parcel_number)=(01273, 999, 1)" in str(error.orig)


@pytest.mark.parametrize(
    ("table", "row", "constraint"),
    [
        (Parcel, parcel(geom=geom(BOWTIE)), "parcels_geom_valid"),
        (Parcel, parcel(geom=from_shape(MultiPolygon(), srid=9210)), "parcels_geom_not_empty"),
        (PlanningProject, project(geom=geom(BOWTIE)), "planning_projects_geom_valid"),
    ],
)
def test_invalid_or_empty_geometry(conn, table, row, constraint):
    assert constraint_of(refused(conn, insert(table), row)) == constraint


def test_geometry_of_the_wrong_type(conn):
    point = from_shape(Point(X0, Y0), srid=9210)
    error = refused(conn, insert(Parcel), parcel(geom=point))
    assert "Geometry type (Point) does not match column type (MultiPolygon)" in str(error.orig)


def test_geometry_outside_the_service_area(conn):
    hanoi = MultiPolygon([box(X0 - 300_000, Y0 - 250_000, X0 - 299_980, Y0 - 249_980)])
    error = refused(conn, insert(Parcel), parcel(geom=geom(hanoi)))
    assert constraint_of(error) == "parcels_in_service_area"
    assert "outside the service area (Cao Bằng province" in str(error.orig)


def test_one_row_outside_the_service_area_refuses_the_whole_statement(conn):
    hanoi = MultiPolygon([box(X0 - 300_000, Y0 - 250_000, X0 - 299_980, Y0 - 249_980)])
    rows = [parcel(parcel_number=n) for n in range(1, 50)] + [
        parcel(parcel_number=50, geom=geom(hanoi))
    ]
    error = refused(conn, insert(Parcel), rows)
    assert constraint_of(error) == "parcels_in_service_area"
    count = select(func.count()).select_from(Parcel).where(Parcel.map_sheet == 999)
    assert conn.execute(count).scalar_one() == 0


def test_moving_a_parcel_outside_the_service_area_is_refused(conn):
    conn.execute(insert(Parcel), parcel())
    hanoi = MultiPolygon([box(X0 - 300_000, Y0 - 250_000, X0 - 299_980, Y0 - 249_980)])
    moved = update(Parcel).where(Parcel.map_sheet == 999).values(geom=geom(hanoi))
    assert constraint_of(refused(conn, moved)) == "parcels_in_service_area"


def test_changing_a_parcel_to_an_unknown_unit_is_refused(conn):
    conn.execute(insert(Parcel), parcel())
    changed = update(Parcel).where(Parcel.map_sheet == 999).values(unit_code="09999")
    assert constraint_of(refused(conn, changed)) == "parcels_unit_code_known"


def test_unknown_land_use_code(conn):
    error = refused(conn, insert(Parcel), parcel(land_use_code="XYZ"))
    assert constraint_of(error) == "parcels_land_use_code_fkey"
    assert "(land_use_code)=(XYZ)" in str(error.orig)


def test_unknown_admin_unit_code(conn):
    error = refused(conn, insert(Parcel), parcel(unit_code="09999"))
    assert constraint_of(error) == "parcels_unit_code_known"


def test_issued_certificate_needs_a_serial(conn):
    error = refused(conn, insert(Parcel), parcel(certificate_status="issued"))
    assert constraint_of(error) == "parcels_issued_has_serial"


@pytest.mark.parametrize(
    ("table", "row", "constraint"),
    [
        (PlanningProject, project(status="draft"), "planning_projects_status_known"),
        (PlanningProject, project(level="regional"), "planning_projects_level_known"),
        (PlanningProject, project(scale_denominator=750), "planning_projects_scale_known"),
        (PlanningProject, project(status="approved"), "planning_projects_approved_has_authority"),
        (Parcel, parcel(certificate_status="lost"), "parcels_certificate_status_known"),
    ],
)
def test_values_outside_their_list(conn, table, row, constraint):
    assert constraint_of(refused(conn, insert(table), row)) == constraint


def test_auction_lot_status_and_result(conn):
    lot = dict(
        lot_code="T-01",
        land_use_code="ODT",
        area_m2=100,
        starting_price_vnd=10**9,
        status="on_sale",
        geom=geom(),
    )
    assert constraint_of(refused(conn, insert(AuctionLot), lot)) == "auction_lots_status_known"
    sold = {**lot, "status": "sold", "auction_date": date(2024, 5, 1)}
    assert constraint_of(refused(conn, insert(AuctionLot), sold)) == (
        "auction_lots_sold_has_winning_price"
    )
    announced = {**lot, "status": "announced"}
    assert constraint_of(refused(conn, insert(AuctionLot), announced)) == (
        "auction_lots_auction_has_date"
    )


def test_dossier_rules(conn):
    dossier = dict(
        number="T-1",
        category="land",
        channel="one_stop",
        received_on=date(2024, 3, 1),
        due_on=date(2024, 3, 31),
        status="resolved",
    )
    assert constraint_of(refused(conn, insert(Dossier), dossier)) == "dossiers_resolved_has_date"
    assert (
        constraint_of(
            refused(conn, insert(Dossier), {**dossier, "status": "lost", "resolved_on": None})
        )
        == "dossiers_status_known"
    )
    assert (
        constraint_of(
            refused(
                conn, insert(Dossier), {**dossier, "status": "received", "due_on": date(2024, 2, 1)}
            )
        )
        == "dossiers_due_after_received"
    )


def test_zone_outside_its_project(conn):
    project_id = conn.execute(
        insert(PlanningProject).returning(PlanningProject.id), project()
    ).scalar_one()
    inside = MultiPolygon([box(X0 + 10, Y0 + 10, X0 + 50, Y0 + 50)])
    conn.execute(
        insert(PlanZone),
        dict(project_id=project_id, zone_code="A", land_use_code="ODT", geom=geom(inside)),
    )
    # A zone on the boundary within the 1 cm tolerance is accepted.
    edge = MultiPolygon([box(X0 + 50, Y0 + 50, X0 + 100.005, Y0 + 100)])
    conn.execute(
        insert(PlanZone),
        dict(project_id=project_id, zone_code="B", land_use_code="DKV", geom=geom(edge)),
    )
    outside = MultiPolygon([box(X0 + 90, Y0 + 90, X0 + 120, Y0 + 120)])
    error = refused(
        conn,
        insert(PlanZone),
        dict(project_id=project_id, zone_code="C", land_use_code="ODT", geom=geom(outside)),
    )
    assert constraint_of(error) == "plan_zones_within_project"
    assert "zone C lies outside the boundary of planning project TEST-1" in str(error.orig)
    assert "800.00 m² outside" in str(error.orig)


def test_project_boundary_cannot_leave_its_zones_outside(conn):
    project_id = conn.execute(
        insert(PlanningProject).returning(PlanningProject.id), project()
    ).scalar_one()
    conn.execute(
        insert(PlanZone),
        dict(
            project_id=project_id,
            zone_code="A",
            land_use_code="ODT",
            geom=geom(MultiPolygon([box(X0 + 60, Y0 + 60, X0 + 90, Y0 + 90)])),
        ),
    )
    shrunk = geom(MultiPolygon([box(X0, Y0, X0 + 50, Y0 + 50)]))
    error = refused(
        conn, update(PlanningProject).where(PlanningProject.id == project_id).values(geom=shrunk)
    )
    assert constraint_of(error) == "plan_zones_within_project"
    assert "leaves zone A outside" in str(error.orig)


def test_holders_live_apart_from_public_parcel_columns(conn):
    columns = set(Parcel.__table__.c.keys())
    assert not {"holder_name", "holder_id_number"} & columns
    schemas = conn.execute(
        text(
            "SELECT DISTINCT table_schema FROM information_schema.columns "
            "WHERE column_name = 'holder_name'"
        )
    )
    assert schemas.scalars().all() == ["private"]  # the holders, and their history
