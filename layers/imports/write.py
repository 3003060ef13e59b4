"""The upsert by natural key: one statement through the table's own rules, rows that
did not change left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Table,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.schema import DropIndex

from layers.imports.targets import Reference, Target


def upsert(conn: Connection, target: Target, s: Table) -> tuple[int, int, int]:
    """Insert new keys, update changed rows, leave identical rows alone; the counts.

    Codes become ids on the way (project_code -> project_id). A layer referring to itself
    (a unit merged into another) gets those ids in a second statement, once every row of
    the file is there to be referred to."""
    table = target.table
    by_code = {r.code: r for r in target.references}
    later = [r for r in target.references if r.table is table and r.code in s.c]
    names = [c.name for c in s.columns if c.name != "fid" and c.name not in {r.code for r in later}]
    columns = [by_code[n].column if n in by_code else n for n in names]
    values = [
        by_code[n].row_of(s.c[n]).scalar_subquery()
        if n in by_code
        else _with_default(target.columns.get(n), s.c[n])
        for n in names
    ]
    updates = [c for c in columns if c not in target.conflict]
    rows = insert(table).from_select(columns, select(*values).order_by(s.c.fid))
    statement = rows.on_conflict_do_update(
        index_elements=list(target.conflict),
        set_={c: rows.excluded[c] for c in updates},
        where=tuple_(*(_compared(table.c[c]) for c in updates)).is_distinct_from(
            tuple_(*(_compared(rows.excluded[c]) for c in updates))
        ),
    ).returning(
        table.c.id, (literal_column("xmax") == literal_column("'0'::xid")).label("inserted")
    )
    total = conn.execute(select(func.count()).select_from(s)).scalar_one()
    with _spatial_indexes_rebuilt(conn, table, total):
        if later:  # which rows the upsert wrote, so the links do not count them again
            written: dict[int, bool] = dict(conn.execute(statement).all())
        else:  # counted by the database: a million ids need not come back
            rows_written = statement.cte("written")
            counted = select(func.count().filter(rows_written.c.inserted), func.count())
            inserted, changed = conn.execute(counted.select_from(rows_written)).one()
            return inserted, changed - inserted, total - changed
    for ref in later:
        linked = _link(conn, target, s, ref)
        written |= {row_id: False for row_id in linked if row_id not in written}
    inserted = sum(written.values())
    updated = len(written) - inserted
    return inserted, updated, total - inserted - updated


@contextmanager
def _spatial_indexes_rebuilt(conn: Connection, table: Table, rows: int) -> Iterator[None]:
    """Drop the table's GiST indexes for a write of ``rows`` when the table holds fewer,
    and build them again after: PostGIS builds a GiST index from sorted
    geometries in a fraction of the time that inserting each row into it takes. The
    drop locks the table against readers until the import commits, which for a bulk load
    (a new city's parcels) is what it is: nobody reads a half-loaded layer."""
    # Counted only as far as it matters: no cost for a big table.
    stored = select(literal(1)).select_from(table).limit(rows).subquery()
    if conn.execute(select(func.count()).select_from(stored)).scalar_one() >= rows:
        yield
        return
    spatial = [
        index for index in table.indexes if index.dialect_options["postgresql"]["using"] == "gist"
    ]
    definitions = (
        conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname IN :names").bindparams(
                bindparam("names", expanding=True)
            ),
            {"names": [index.name for index in spatial]},
        )
        .scalars()
        .all()
    )
    for index in spatial:
        conn.execute(DropIndex(index))
    yield
    for definition in definitions:
        conn.execute(text(definition))


def _link(conn: Connection, target: Target, s: Table, ref: Reference) -> list[int]:
    """Set a self-reference from the file's codes; the ids of the rows it changed."""
    table = target.table
    wanted = ref.row_of(s.c[ref.code], other_than=table.c.id).scalar_subquery()
    keys = and_(*(table.c[k] == s.c[k] for k in target.conflict))
    statement = (
        table.update()
        .where(keys, table.c[ref.column].is_distinct_from(wanted))
        .values({ref.column: wanted})
        .returning(table.c.id)
    )
    return list(conn.execute(statement).scalars())


def _compared(column: Any) -> Any:
    """A column as the upsert compares it: a geometry with its rings in one orientation,
    so a parcel stored clockwise (as Shapefiles and some tools write) is not "changed"
    by the same parcel in a file that has it the other way round."""
    return func.ST_ForcePolygonCCW(column) if column.key == "geom" else column


def _with_default(column: Column | None, value: Any) -> Any:
    """An empty value of a column with a server default takes the default."""
    if column is None or column.server_default is None:
        return value
    default = getattr(column.server_default, "arg", None)
    if default is None:
        return value
    return func.coalesce(value, default if hasattr(default, "text") else literal(default))
