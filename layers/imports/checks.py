"""The staging table the rows are copied to, and the rules that need the whole file or
the database, run on it as set-based SQL before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from geoalchemy2 import Geometry
from psycopg import sql
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    Row,
    Select,
    Table,
    and_,
    exists,
    func,
    literal,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, insert
from sqlalchemy.sql.expression import column as sql_column

from layers import accounts
from layers.admin_units import AdminUnit
from layers.base import STORAGE_SRID
from layers.imports.report import Finding, Findings
from layers.imports.targets import Reference, Target
from layers.land_use import LandUseCode
from layers.service_area import ServiceArea

#: DE-9IM pattern: the interiors intersect. Neighbours that only touch (most candidate
#: pairs of a cadastral map) fail it without the cost of an intersection.
INTERIORS_MEET = "T********"
#: Overlap between parcels tolerated (digitising noise), m².
OVERLAP_TOLERANCE_M2 = 0.5
#: Gaps smaller than this are digitising noise, m² (as overlaps).
GAP_TOLERANCE_M2 = OVERLAP_TOLERANCE_M2
#: A polygon whose mean width (2 · area / perimeter) is below this is a sliver, m.
SLIVER_WIDTH_M = 0.5
#: Legal vs measured area: a finding beyond this share and this many m².
AREA_TOLERANCE_SHARE, AREA_TOLERANCE_M2 = 0.05, 2.0


STAGING = "import_staging"


def staging_table(target: Target, present: list[str]) -> Table:
    """The temporary table the rows are copied to; dropped at the end of the transaction."""
    return Table(
        STAGING,
        MetaData(),
        # No index on fid: with one, the planner scans fid ranges for "a.fid < b.fid" in
        # the overlap self-join, once per row (quadratic); the GiST index is the way in.
        Column("fid", Integer, nullable=False),
        *(Column(name, target.columns[name].type) for name in present),
        Column("geom", Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=False)),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )


def copy_rows(conn: Connection, staging: Table, rows: list[dict]) -> None:
    if not rows:
        return
    names = [c.name for c in staging.columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(staging.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row.get(name) for name in names])


def _key_object(table: Any, key: tuple[str, ...]):
    return func.json_build_object(*(part for k in key for part in (literal(k), table.c[k])))


def _point_on(geom):
    return func.ST_AsBinary(func.ST_PointOnSurface(geom))


def check_units(
    conn: Connection, target: Target, s: Table, units: tuple[str, ...], findings: Findings
) -> None:
    """Features outside the units an account is limited to: a parcel by its unit code
    (the pre-2025 units merged into them count), any other by a point on its surface.
    Both the feature as the file has it and, when the file replaces one, the feature as
    it stands: an account may not move another unit's plan into its own."""
    key = _key_object(s, target.key)
    message = f"outside the units of the importing account ({', '.join(units)})"
    new = select(s.c.fid, key, _point_on(s.c.geom)).where(~accounts.in_units(s, units))
    table = target.table
    by_code = {r.code: r for r in target.references}
    same_key = [
        table.c[by_code[k].column] == by_code[k].row_of(s.c[k]).scalar_subquery()
        if k in by_code
        else table.c[k] == s.c[k]
        for k in target.key
    ]
    replaced = (
        select(s.c.fid, key, _point_on(table.c.geom))
        .select_from(s.join(table, and_(*same_key)))
        .where(~accounts.in_units(table, units))
    )
    for query in (new, replaced):
        for fid, key_value, where in _stream(conn, query):
            findings.append(Finding("OUTSIDE_UNITS", fid, message, key_value, _point(where)))


def run_checks(conn: Connection, target: Target, s: Table, findings: Findings) -> None:
    """Run the set-based rules, adding what they find to ``findings`` as they go (a
    rule may find something on every other feature)."""
    # The checks join the staging table with itself and the layer: index it first.
    Index(f"{STAGING}_geom", s.c.geom, postgresql_using="gist").create(conn)
    conn.execute(text("ANALYZE " + STAGING))
    key = _key_object(s, target.key)
    duplicates = (
        select(func.array_agg(aggregate_order_by(s.c.fid, s.c.fid)), key)
        .group_by(*(s.c[k] for k in target.key))
        .having(func.count() > 1)
    )
    for fids, key_value in _stream(conn, duplicates):
        for fid in fids:
            others = [f for f in fids if f != fid]
            message = f"same identity as feature(s) {others}"
            findings.append(Finding("KEY_DUPLICATE", fid, message, key_value))
    if "land_use_code" in s.c:
        codes = LandUseCode.__table__
        unknown = (
            select(s.c.fid, s.c.land_use_code, key, _point_on(s.c.geom))
            .outerjoin(codes, codes.c.code == s.c.land_use_code)
            .where(s.c.land_use_code.is_not(None), codes.c.code.is_(None))
        )
        for fid, code, key_value, where in _stream(conn, unknown):
            message = f"land-use code {code!r} is not in the code list"
            findings.append(Finding("LANDUSE_UNKNOWN", fid, message, key_value, _point(where)))
    if "unit_code" in s.c:
        units = AdminUnit.__table__
        unknown = select(s.c.fid, s.c.unit_code, key, _point_on(s.c.geom)).where(
            s.c.unit_code.is_not(None),
            ~exists().where(units.c.code == s.c.unit_code),
        )
        for fid, code, key_value, where in _stream(conn, unknown):
            message = f"unit code {code!r} is not an administrative unit"
            findings.append(Finding("UNIT_UNKNOWN", fid, message, key_value, _point(where)))
    area = ServiceArea.__table__
    outside = select(s.c.fid, key, _point_on(s.c.geom)).where(
        # the area first: PostGIS prepares the geometry that repeats in that place
        ~func.ST_Covers(select(area.c.geom).scalar_subquery(), s.c.geom)
    )
    for fid, key_value, where in _stream(conn, outside):
        message = "outside the service area"
        findings.append(Finding("OUTSIDE_AREA", fid, message, key_value, _point(where)))
    for ref in target.references:
        if ref.code in s.c:  # given by the file or a constant
            findings.extend(_unknown_references(conn, target, s, ref))
    if target.within is not None:
        findings.extend(_outside_project(conn, target, s, target.reference(target.within)))
    if target.coverage:
        findings.extend(_coverage(conn, target, s))
    thin = select(s.c.fid, key, func.ST_Area(s.c.geom), _point_on(s.c.geom)).where(
        2 * func.ST_Area(s.c.geom) < SLIVER_WIDTH_M * func.ST_Perimeter(s.c.geom)
    )
    for fid, key_value, m2, where in _stream(conn, thin):
        message = f"{m2:.2f} m², on average under {SLIVER_WIDTH_M} m wide"
        findings.append(Finding("SLIVER", fid, message, key_value, _point(where)))
    if target.area_check:
        legal = s.c[target.area_check]
        measured = func.ST_Area(s.c.geom)
        mismatched = select(s.c.fid, key, legal, measured, _point_on(s.c.geom)).where(
            legal.is_not(None),
            func.abs(measured - legal)
            > func.greatest(AREA_TOLERANCE_M2, AREA_TOLERANCE_SHARE * legal),
        )
        for fid, key_value, legal_m2, geom_m2, where in _stream(conn, mismatched):
            message = f"legal area {float(legal_m2):.1f} m², geometry {geom_m2:.1f} m²"
            findings.append(Finding("AREA_MISMATCH", fid, message, key_value, _point(where)))


def _unknown_references(
    conn: Connection, target: Target, s: Table, ref: Reference
) -> list[Finding]:
    code = s.c[ref.code]
    named: ColumnElement[bool] = exists().where(ref.table.c[ref.by] == code)
    if ref.table is target.table:  # a unit may be merged into one the same file brings
        other = s.alias("other")
        named = named | exists().where(other.c[ref.by] == code)
    unknown = select(s.c.fid, code, _key_object(s, target.key), _point_on(s.c.geom)).where(
        code.is_not(None), ~named
    )
    return [
        Finding(
            "REF_UNKNOWN",
            fid,
            f"{ref.code} {value!r} is not a {ref.by} of {ref.table.name}",
            key_value,
            _point(where),
        )
        for fid, value, key_value, where in _stream(conn, unknown)
    ]


#: How far a zone may reach past its project's boundary (digitising rounding), m; the
#: same tolerance as the database's own check (migration 0001).
WITHIN_TOLERANCE_M = 0.01


def _outside_project(conn: Connection, target: Target, s: Table, ref: Reference) -> list[Finding]:
    """Zones that reach outside the boundary of the project their code names."""
    boundary = ref.row_of(s.c[ref.code], "geom").scalar_subquery()
    outside = func.ST_Difference(s.c.geom, boundary)
    query = select(
        s.c.fid,
        s.c[ref.code],
        _key_object(s, target.key),
        func.ST_Area(outside),
        _point_on(outside),
    ).where(
        ~func.ST_Covers(boundary, s.c.geom),
        ~func.ST_Covers(func.ST_Buffer(boundary, WITHIN_TOLERANCE_M), s.c.geom),
    )
    return [
        Finding(
            "OUTSIDE_PROJECT",
            fid,
            f"{m2:.2f} m² outside the boundary of planning project {code}",
            key_value,
            _point(where),
        )
        for fid, code, key_value, m2, where in _stream(conn, query)
    ]


def _overlaps(conn: Connection, target: Target, s: Table) -> list[Finding]:
    findings = []
    a, b = s.alias("a"), s.alias("b")
    shared = func.ST_Intersection(a.c.geom, b.c.geom)
    within_file = (
        select(
            a.c.fid, b.c.fid, _key_object(a, target.key), func.ST_Area(shared), _point_on(shared)
        )
        .join(b, and_(a.c.fid < b.c.fid, a.c.geom.op("&&")(b.c.geom)))
        .where(
            func.ST_Relate(a.c.geom, b.c.geom, INTERIORS_MEET),
            func.ST_Area(shared) > OVERLAP_TOLERANCE_M2,
        )
    )
    for fid, other, key_value, m2, where in _stream(conn, within_file):
        message = f"overlaps feature {other} of the file by {m2:.1f} m²"
        findings.append(Finding("OVERLAP", fid, message, key_value, _point(where)))
    t = target.table
    replaced = s.alias("r")
    shared = func.ST_Intersection(s.c.geom, t.c.geom)
    with_stored = (
        select(
            s.c.fid,
            _key_object(s, target.key),
            _key_object(t, target.key),
            func.ST_Area(shared),
            _point_on(shared),
        )
        .join(t, s.c.geom.op("&&")(t.c.geom))
        .where(
            func.ST_Relate(s.c.geom, t.c.geom, INTERIORS_MEET),
            # a stored row the file replaces does not count
            ~exists().where(and_(*(replaced.c[k] == t.c[k] for k in target.key))),
            func.ST_Area(shared) > OVERLAP_TOLERANCE_M2,
        )
    )
    for fid, key_value, other, m2, where in _stream(conn, with_stored):
        message = f"overlaps stored {t.name} {other} by {m2:.1f} m²"
        findings.append(Finding("OVERLAP", fid, message, key_value, _point(where)))
    return findings


BLOCKS = "import_blocks"


def _coverage(conn: Connection, target: Target, s: Table) -> list[Finding]:
    """Overlaps and gaps of features that should tile each block (a map sheet).

    Each block is dissolved once, with its stored features the file does not replace.
    Holes in a block's union are gaps. The sum of the features' areas less the area of
    their union bounds every pairwise overlap from above, so when that excess, over the
    blocks and the stored features around them, is within the tolerance no pair can
    overlap beyond it, and the search pair by pair (a DE-9IM relate for every pair of
    neighbours, most of the cost of validating a clean file) is not needed."""
    blocks = _dissolve(conn, target, s)
    findings = _gaps(conn, target, blocks)
    if _excess(conn, target, blocks) > OVERLAP_TOLERANCE_M2:
        findings.extend(_overlaps(conn, target, s))
    return findings


def _dissolve(conn: Connection, target: Target, s: Table) -> Table:
    """A temporary table of each block's union and the sum of its features' areas."""
    blocks = Table(
        BLOCKS,
        MetaData(),
        *(Column(g, target.columns[g].type) for g in target.coverage),
        Column("parts_m2", Float),
        Column("geom", Geometry("GEOMETRY", srid=STORAGE_SRID, spatial_index=False)),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    blocks.create(conn)
    t, r = target.table, s.alias("r")
    replaced = exists().where(and_(*(r.c[k] == t.c[k] for k in target.key)))
    in_blocks = tuple_(*(t.c[g] for g in target.coverage)).in_(
        select(*(s.c[g] for g in target.coverage))
    )
    pieces = union_all(
        select(*(s.c[g] for g in target.coverage), s.c.geom),
        select(*(t.c[g] for g in target.coverage), t.c.geom).where(in_blocks, ~replaced),
    ).subquery("pieces")
    group = [pieces.c[g] for g in target.coverage]
    dissolved = select(
        *group, func.sum(func.ST_Area(pieces.c.geom)), func.ST_Union(pieces.c.geom)
    ).group_by(*group)
    conn.execute(insert(blocks).from_select([c.name for c in blocks.columns], dissolved))
    return blocks


def _excess(conn: Connection, target: Target, blocks: Table) -> float:
    """Sum of areas less the area of the union, over the blocks and the stored features
    of other blocks that reach into them (neighbouring sheets)."""
    t = target.table
    around = select(t.c.geom, func.ST_Area(t.c.geom).label("parts_m2")).where(
        exists().where(t.c.geom.op("&&")(blocks.c.geom)), _of_other_blocks(target, blocks)
    )
    pieces = union_all(select(blocks.c.geom, blocks.c.parts_m2), around).subquery("pieces")
    excess = func.sum(pieces.c.parts_m2) - func.ST_Area(func.ST_Union(pieces.c.geom))
    return conn.execute(select(func.coalesce(excess, 0))).scalar_one()


def _of_other_blocks(target: Target, blocks: Table) -> ColumnElement[bool]:
    """Stored features of blocks the file does not bring (whose own stored features are
    in the blocks' unions already)."""
    t = target.table
    in_file = select(*(blocks.c[g] for g in target.coverage))
    return tuple_(*(t.c[g] for g in target.coverage)).not_in(in_file)


def _gaps(conn: Connection, target: Target, blocks: Table) -> list[Finding]:
    """Holes in the union of each block that no other feature fills: land no feature
    claims. A hole another block fills is no gap (a 1/500 sheet drawn inside a 1/2000
    one). Gaps that reach a block's outer edge are not holes and are not found."""
    parts = func.ST_Dump(blocks.c.geom).scalar_table_valued("geom")
    group = [blocks.c[g] for g in target.coverage]
    polygons = select(*group, parts.label("geom")).subquery("polygons")
    dumped = (sql_column("path", ARRAY(Integer)), sql_column("geom", Geometry))
    rings = func.ST_DumpRings(polygons.c.geom).table_valued(*dumped).lateral("rings")
    holes = (
        select(*(polygons.c[g] for g in target.coverage), rings.c.geom)
        .select_from(polygons.join(rings, literal(True)))
        .where(rings.c.path[1] > 0, func.ST_Area(rings.c.geom) > GAP_TOLERANCE_M2)
        .subquery("holes")
    )
    # what fills a hole: the other blocks of the file, stored features of other blocks
    other, t = blocks.alias("other"), target.table
    block_of = tuple_(*(holes.c[g] for g in target.coverage))
    nothing = func.ST_GeomFromText("GEOMETRYCOLLECTION EMPTY", STORAGE_SRID)
    other_blocks = select(func.ST_Union(other.c.geom)).where(
        other.c.geom.op("&&")(holes.c.geom),
        tuple_(*(other.c[g] for g in target.coverage)) != block_of,
    )
    stored_elsewhere = select(func.ST_Union(t.c.geom)).where(
        t.c.geom.op("&&")(holes.c.geom), _of_other_blocks(target, blocks)
    )
    filled = func.ST_Union(
        func.coalesce(other_blocks.scalar_subquery(), nothing),
        func.coalesce(stored_elsewhere.scalar_subquery(), nothing),
    )
    gaps = select(
        *(holes.c[g] for g in target.coverage),
        func.ST_Difference(holes.c.geom, filled).label("geom"),
    ).subquery("gaps")
    gap = gaps.c.geom
    query = select(
        _key_object(gaps, target.coverage),
        func.ST_Area(gap),
        func.ST_Perimeter(gap),
        _point_on(gap),
    ).where(func.ST_Area(gap) > GAP_TOLERANCE_M2)
    findings = []
    for block, m2, perimeter, where in _stream(conn, query):
        width = 2 * m2 / perimeter
        kind = "a sliver gap" if width < SLIVER_WIDTH_M else "a gap"
        message = f"{kind} of {m2:.2f} m² (mean width {width:.2f} m) that no feature covers"
        findings.append(Finding("GAP", None, message, block, _point(where)))
    return findings


def _stream(conn: Connection, query: Select) -> Iterator[Row]:
    """The rows of a findings query fetched in chunks (a server-side cursor): a file
    with a finding on every feature does not arrive in memory at once."""
    yield from conn.execute(query, execution_options={"yield_per": 10_000})


def _point(wkb: bytes | memoryview) -> bytes:
    return bytes(wkb)
