"""Every route of the app × every role (and anonymous): the table of api/staff/rules.py
decides, before the body is read, and the app holds to it. A route without a row in the
table fails here."""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from api.app import create_app
from api.staff import rules
from layers.accounts import Principal
from layers.registry import default_registry
from tests.staff import PATH_EXAMPLES, ROLES

CALLERS = ("anonymous", *ROLES)


def app_routes() -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves (its /staff copies too)."""
    found = []
    for route in iter_route_contexts(create_app().routes):
        methods = getattr(route, "methods", None)
        if methods is None:  # mounts of static files
            continue
        found += [(method, route.path) for method in methods if method != "HEAD"]
    return sorted(set(found))


def _public_template(template: str) -> str:
    if template.startswith(rules.STAFF_PREFIX + "/") and template not in rules.OWN_STAFF_ROUTES:
        return template[len(rules.STAFF_PREFIX) :] or "/"
    return template


def test_every_route_has_a_row_in_the_table():
    routes = app_routes()
    assert len(routes) > 50
    missing = [(m, t) for m, t in routes if (m, _public_template(t)) not in rules.TABLE]
    assert missing == []


def _paths(template: str) -> list[str]:
    path = template
    for name, value in PATH_EXAMPLES.items():
        path = path.replace("{" + name + "}", value)
    if "{collection_id}" not in path:
        return [path]
    return [path.replace("{collection_id}", layer) for layer in default_registry()]


def _principal(caller: str) -> Principal | None:
    return None if caller == "anonymous" else Principal(caller, caller)


@pytest.mark.parametrize("caller", CALLERS)
def test_every_route_refuses_whom_the_table_refuses(staff_api, staff, caller):
    tried = 0
    with httpx.Client(base_url=staff_api, timeout=60, headers=staff.headers(caller)) as client:
        for method, template in app_routes():
            for path in _paths(template):
                expected = rules.decide(method, path, _principal(caller)).status
                response = client.request(method, path)
                assert response.status_code < 500, (method, path, caller)
                if expected is None:
                    assert response.status_code not in (401, 403), (method, path, caller)
                else:
                    assert response.status_code == expected, (method, path, caller)
                    assert response.headers["content-type"] == "application/problem+json"
                tried += 1
    assert tried > 100


@pytest.mark.parametrize(
    ("caller", "method", "path", "status"),
    [
        ("anonymous", "POST", "/collections/plan_zones/items", 401),
        ("anonymous", "GET", "/staff/collections", 401),
        ("anonymous", "GET", "/staff/auth/me", None),
        ("planner", "POST", "/collections/parcels/items", 403),
        ("planner", "PATCH", "/collections/auction_lots/items/1", 403),
        ("planner", "PATCH", "/collections/development_areas/items/1", None),
        ("cadastral", "PUT", "/collections/plan_zones/items/1", 403),
        ("cadastral", "PATCH", "/staff/collections/parcels/items/1", None),
        ("land_fund", "DELETE", "/collections/auction_lots/items/1", None),
        ("land_fund", "DELETE", "/collections/admin_units/items/1", 403),
        ("admin", "DELETE", "/collections/admin_units/items/1", None),
        ("land_fund", "POST", "/imports", None),
        ("anonymous", "GET", "/imports/0123456789abcdef", 401),
        ("anonymous", "GET", "/collections/parcels/items", None),
    ],
)
def test_the_table_says_what_the_roles_are_for(caller, method, path, status):
    assert rules.decide(method, path, _principal(caller)).status == status
