"""The authorization table: role × resource × operation, for every route of the app.

One table, one check (:func:`decide`), made from the request's method, path and
credentials before anything reads its body or validates its parameters. A route with no
row is refused (and fails the route × role test, tests/api/test_authorization.py): a
new route cannot be open by omission.

The app serves its API a second time under ``/staff`` for the browser workspace (the
session cookie's Path): there every route needs a signed-in caller, whatever the public
route allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from starlette.routing import compile_path

from layers.accounts import Principal
from layers.base import PUBLIC, Audience

STAFF_PREFIX = "/staff"


class Who(Enum):
    ANYONE = "anyone"
    #: Any signed-in caller, whatever the role.
    STAFF = "staff"
    #: The roles that write the route's collection (:data:`WRITERS`), and admin.
    WRITERS = "writers"
    #: The roles that write some collection (imports: the layer is in the body, and is
    #: checked against :data:`WRITERS` once read).
    SOME_WRITER = "some writer"


#: Which roles write each collection, beside ``admin``, who writes every one.
WRITERS: dict[str, frozenset[str]] = {
    "planning_projects": frozenset({"planner"}),
    "plan_zones": frozenset({"planner"}),
    "development_areas": frozenset({"planner"}),
    "parcels": frozenset({"cadastral"}),
    "auction_lots": frozenset({"land_fund"}),
    "admin_units": frozenset(),
}
#: Which roles read a collection's personal data (a parcel's holders), beside admin.
PERSONAL: dict[str, frozenset[str]] = {"parcels": frozenset({"cadastral"})}
ROLES = ("planner", "cadastral", "land_fund", "admin")

READ, WRITE = "read", "write"

#: (method, route path) -> who may, and the operation (for the docs and the test).
#: HEAD is GET's (api.http.HeadAsGet).
TABLE: dict[tuple[str, str], tuple[Who, str]] = {
    ("GET", "/"): (Who.ANYONE, READ),
    ("GET", "/health"): (Who.ANYONE, READ),
    ("GET", "/openapi.json"): (Who.ANYONE, READ),
    ("GET", "/docs"): (Who.ANYONE, READ),
    ("GET", "/docs/oauth2-redirect"): (Who.ANYONE, READ),
    ("GET", "/redoc"): (Who.ANYONE, READ),
    ("GET", "/conformance"): (Who.ANYONE, READ),
    ("GET", "/collections"): (Who.ANYONE, READ),
    ("GET", "/collections/{collection_id}"): (Who.ANYONE, READ),
    ("GET", "/collections/{collection_id}/queryables"): (Who.ANYONE, READ),
    ("GET", "/collections/{collection_id}/items"): (Who.ANYONE, READ),
    ("POST", "/collections/{collection_id}/items"): (Who.WRITERS, "create"),
    ("OPTIONS", "/collections/{collection_id}/items"): (Who.ANYONE, READ),
    ("GET", "/collections/{collection_id}/items/{feature_id}"): (Who.ANYONE, READ),
    ("PUT", "/collections/{collection_id}/items/{feature_id}"): (Who.WRITERS, "replace"),
    ("PATCH", "/collections/{collection_id}/items/{feature_id}"): (Who.WRITERS, "update"),
    ("DELETE", "/collections/{collection_id}/items/{feature_id}"): (Who.WRITERS, "delete"),
    ("OPTIONS", "/collections/{collection_id}/items/{feature_id}"): (Who.ANYONE, READ),
    ("GET", "/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{x}/{y}"): (Who.ANYONE, READ),
    ("GET", "/collections/{collection_id}/tiles/WebMercatorQuad/tilejson.json"): (
        Who.ANYONE,
        READ,
    ),
    ("GET", "/tiles/WebMercatorQuad/{z}/{x}/{y}"): (Who.ANYONE, READ),
    ("GET", "/tiles/WebMercatorQuad/tilejson.json"): (Who.ANYONE, READ),
    ("GET", "/collections/{collection_id}/items/{feature_id}/history"): (Who.STAFF, READ),
    ("GET", "/changes"): (Who.STAFF, READ),
    ("GET", "/changes/{change_id}"): (Who.STAFF, READ),
    ("POST", "/changes/{change_id}/revert"): (Who.SOME_WRITER, "revert"),
    ("GET", "/plans/{code}/transitions"): (Who.WRITERS, READ),
    ("POST", "/plans/{code}/transitions"): (Who.WRITERS, "move"),
    ("PUT", "/plans/{code}/publication"): (Who.WRITERS, "publish"),
    ("DELETE", "/plans/{code}/publication"): (Who.WRITERS, "withdraw"),
    ("GET", "/auction-lots/{lot_code}/transitions"): (Who.WRITERS, READ),
    ("POST", "/auction-lots/{lot_code}/transitions"): (Who.WRITERS, "move"),
    ("POST", "/change-requests"): (Who.SOME_WRITER, "draft"),
    ("GET", "/change-requests"): (Who.SOME_WRITER, READ),
    ("GET", "/change-requests/{request_id}"): (Who.SOME_WRITER, READ),
    ("POST", "/change-requests/{request_id}/approve"): (Who.SOME_WRITER, "approve"),
    ("POST", "/change-requests/{request_id}/reject"): (Who.SOME_WRITER, "reject"),
    ("POST", "/change-requests/{request_id}/withdraw"): (Who.SOME_WRITER, "withdraw"),
    ("GET", "/lookup"): (Who.ANYONE, READ),
    ("GET", "/parcels/{unit}/{sheet}/{number}/planning"): (Who.ANYONE, READ),
    ("GET", "/parcels/{unit}/{sheet}/{number}/extract"): (Who.ANYONE, READ),
    ("GET", "/extracts/{code}"): (Who.ANYONE, READ),
    ("GET", "/search"): (Who.ANYONE, READ),
    ("POST", "/imports"): (Who.SOME_WRITER, "import"),
    ("GET", "/imports/{job_id}"): (Who.SOME_WRITER, READ),
    ("POST", "/staff/auth/login"): (Who.ANYONE, "sign in"),
    ("POST", "/staff/auth/logout"): (Who.ANYONE, "sign out"),
    ("GET", "/staff/auth/me"): (Who.ANYONE, READ),
}

#: The collection a route without ``{collection_id}`` acts on (for :attr:`Who.WRITERS`).
COLLECTION_OF = {
    "/plans/{code}/transitions": "planning_projects",
    "/plans/{code}/publication": "planning_projects",
    "/auction-lots/{lot_code}/transitions": "auction_lots",
}

#: Staff routes with nothing public behind them (no ``/staff`` copy of a public route).
OWN_STAFF_ROUTES = frozenset(path for _, path in TABLE if path.startswith(STAFF_PREFIX + "/"))

#: Static files of the map: public, and not routes of the table.
STATIC_PREFIX = "/static/"


@dataclass(frozen=True)
class Decision:
    """``status`` None: allowed. ``template`` is the route's path, ``params`` its path
    parameters, ``staff`` whether it is the ``/staff`` copy."""

    status: int | None
    detail: str = ""
    template: str | None = None
    params: dict[str, str] | None = None
    staff: bool = False
    #: For a 405: the methods the path takes.
    allow: tuple[str, ...] = ()


@lru_cache(maxsize=4)
def _patterns(rows: tuple[tuple[str, str], ...]) -> list[tuple[str, str, re.Pattern[str]]]:
    """The table's paths as the router matches them (compiled once per table)."""
    return [(method, path, compile_path(path)[0]) for method, path in rows]


def match(method: str, path: str) -> tuple[str, dict[str, str], bool] | None:
    """The table's route for ``path`` (the ``/staff`` copy's too): (template, path
    parameters, whether under ``/staff``); None when no route has this path. A path
    with a row for another method is matched (the caller's method decides)."""
    patterns = _patterns(tuple(TABLE))
    staff = path.startswith(STAFF_PREFIX + "/") and not any(
        p.match(path) for _, t, p in patterns if t in OWN_STAFF_ROUTES
    )
    public_path = path[len(STAFF_PREFIX) :] if staff else path
    if staff and public_path == "":
        public_path = "/"
    method = "GET" if method == "HEAD" else method
    found = None
    for row_method, template, pattern in patterns:
        m = pattern.match(public_path)
        if m is None:
            continue
        if row_method == method:
            return template, m.groupdict(), staff
        found = found or (template, m.groupdict(), staff)
    return found


def may_write(principal: Principal | None, collection: str) -> bool:
    if principal is None:
        return False
    return principal.role == "admin" or principal.role in WRITERS.get(collection, frozenset())


def decide(method: str, path: str, principal: Principal | None) -> Decision:
    """May ``principal`` (None: anonymous) use ``method`` on ``path``?"""
    if path.startswith(STATIC_PREFIX):
        return Decision(None)
    found = match(method, path)
    if found is None and path.endswith("/") and path != "/" and match(method, path[:-1]):
        return Decision(None)  # the router redirects to the path without the slash
    if found is None:
        # Refused, not passed on: a route the table does not name is not served.
        return Decision(404, f"nothing at {path}")
    template, params, staff = found
    row = TABLE.get(("GET" if method == "HEAD" else method, template))
    if row is None:
        allow = tuple(m for m, t in TABLE if t == template)
        allow += ("HEAD",) if "GET" in allow else ()
        detail = f"{method} is not allowed on {path}"
        return Decision(405, detail, template, params, staff, allow)
    who, operation = row
    if staff and who is Who.ANYONE and template not in OWN_STAFF_ROUTES:
        who = Who.STAFF
    collection = params.get("collection_id") or COLLECTION_OF.get(template, "")
    refusal = _refusal(who, operation, collection, principal)
    if refusal is not None:
        return Decision(refusal[0], refusal[1], template, params, staff)
    return Decision(None, template=template, params=params, staff=staff)


def _refusal(
    who: Who, operation: str, collection: str, principal: Principal | None
) -> tuple[int, str] | None:
    if who is Who.ANYONE:
        return None
    if principal is None:
        return 401, "this needs a signed-in staff member (a bearer token or a session)"
    if who is Who.STAFF or principal.role == "admin":
        return None
    if who is Who.SOME_WRITER:
        if any(principal.role in roles for roles in WRITERS.values()):
            return None
        return 403, f"the role {principal.role} writes no layer"
    if collection in WRITERS and not may_write(principal, collection):
        writers = ", ".join(sorted(WRITERS[collection] | {"admin"}))
        return 403, f"to {operation} in {collection} needs the role {writers}"
    return None  # an unknown collection: the router's 404


def audience(principal: Principal | None, collection: str) -> Audience:
    """What ``principal`` may read of ``collection``: the public's for anonymous callers;
    everything of the layers its role writes (unpublished plans for planners, certificate
    details and holders for cadastral officers)."""
    if principal is None:
        return PUBLIC
    writes = may_write(principal, collection)
    personal = principal.role == "admin" or principal.role in PERSONAL.get(collection, ())
    personal = writes and personal
    # Statements are cached per audience: the units matter only where personal data is.
    units = principal.units if personal else ()
    return Audience(all_rows=writes, private=writes, personal=personal, units=units)


def allowed_methods(principal: Principal | None, collection: str, item: bool) -> list[str]:
    """The methods of an items (``item`` False) or a feature path the caller may use."""
    methods = ["GET", "HEAD", "OPTIONS"]
    if may_write(principal, collection):
        methods += ["PUT", "PATCH", "DELETE"] if item else ["POST"]
    return methods
