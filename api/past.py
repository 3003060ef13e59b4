"""``as-of``: a moment of the past, as the change set that opened last by then
(layers/history.py reads the data as that change set left it)."""

from __future__ import annotations

from typing import Any

from api.errors import BadRequest
from api.params import AS_OF, moment
from layers import history


def statement(given: str) -> Any:
    """The query that finds the change set of ``as-of=given`` (a 400 if not a date-time)."""
    return history.change_set_at(moment(AS_OF, given))


def found(row: Any) -> int:
    """The change set of the row :func:`statement` returned; a 400 before history began."""
    change_set, began = row
    if change_set is None:
        raise BadRequest(
            AS_OF, f"history begins at {began.isoformat()}: nothing earlier is recorded"
        )
    return int(change_set)


async def change_set(conn: Any, given: str | None) -> int | None:
    """The change set of ``as-of`` on a SQLAlchemy connection; None without ``as-of``."""
    if given is None:
        return None
    return found((await conn.execute(statement(given))).one())
