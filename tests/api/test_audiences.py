"""Each caller reads what its role may: the public the published plans and no personal
data; a planner unpublished plans; a cadastral officer the holders. Answers computed for
staff are private to them, and caches are told so."""

from __future__ import annotations

import httpx
import mapbox_vector_tile
import pytest
from shapely.geometry import shape

from tests.api.tilemath import tile_of
from tests.staff import parcels_in_and_out

PROJECTS = "/collections/planning_projects/items"


def _features(api, path, headers=None, **params) -> list[dict]:
    response = httpx.get(f"{api}{path}", headers=headers or {}, params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["features"]


def test_planners_read_unpublished_plans_and_their_private_properties(staff_api, staff):
    public = _features(staff_api, PROJECTS)
    planner = _features(staff_api, PROJECTS, staff.headers("planner"))
    cadastral = _features(staff_api, PROJECTS, staff.headers("cadastral"))
    assert {f["properties"]["status"] for f in public} == {"approved"}
    assert "preparation" in {f["properties"]["status"] for f in planner}
    assert len(planner) > len(public) == len(cadastral)
    assert "notes" in planner[0]["properties"] and "notes" not in public[0]["properties"]
    unpublished = next(f for f in planner if not f["properties"]["published"])
    one = f"{staff_api}{PROJECTS}/{unpublished['id']}"
    assert httpx.get(one).status_code == 404
    assert httpx.get(one, headers=staff.headers("planner")).status_code == 200


@pytest.mark.parametrize(
    ("role", "sees"), [("cadastral", True), ("admin", True), ("planner", False)]
)
def test_holders_are_read_by_cadastral_officers_only(staff_api, staff, role, sees):
    path = f"{staff_api}/collections/parcels/items/1"
    properties = httpx.get(path, headers=staff.headers(role)).json()["properties"]
    assert ("holders" in properties) is sees
    if sees:
        assert properties["holders"] and {"name", "id_number"} <= set(properties["holders"][0])
    assert "holders" not in httpx.get(path).json()["properties"]


def _centre_tile(z: int = 13) -> str:
    x, y = tile_of(106.2575, 22.6657, z)
    return f"{z}/{x}/{y}"


def test_tiles_carry_what_the_reader_may_see(staff_api, staff):
    path = f"{staff_api}/collections/planning_projects/tiles/WebMercatorQuad/{_centre_tile()}"

    def projects(headers) -> int:
        response = httpx.get(path, headers=headers)
        assert response.status_code == 200
        return len(mapbox_vector_tile.decode(response.content)["planning_projects"]["features"])

    assert projects(staff.headers("planner")) > projects({}) > 0


STAFF_READS = [
    "/collections/plan_zones/items?limit=5",
    "/collections/plan_zones/items/1",
    f"/collections/plan_zones/tiles/WebMercatorQuad/{_centre_tile(14)}",
    f"/tiles/WebMercatorQuad/{_centre_tile(14)}",
    "/lookup?lon=106.2575&lat=22.6657",
    "/staff/collections/plan_zones/items/1",
]


@pytest.mark.parametrize("path", STAFF_READS)
def test_answers_for_staff_are_private_and_vary_by_credentials(staff_api, staff, path):
    answer = httpx.get(f"{staff_api}{path}", headers=staff.headers("planner"))
    assert answer.status_code in (200, 204), answer.text
    assert answer.headers["cache-control"] == "private, no-store"
    assert {"Authorization", "Cookie"} <= {v.strip() for v in answer.headers["vary"].split(",")}
    if not path.startswith("/staff/"):
        public = httpx.get(f"{staff_api}{path}")
        assert public.headers["cache-control"] == "public, no-cache"
        assert "Authorization" in public.headers["vary"]


def test_the_staff_api_needs_credentials(staff_api):
    for path in ("/staff/collections", "/staff/collections/plan_zones/items/1", "/staff/"):
        response = httpx.get(f"{staff_api}{path}")
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_lookup_shows_a_planner_the_plans_in_preparation(staff_api, staff):
    zone = httpx.get(
        f"{staff_api}/collections/plan_zones/items/150", headers=staff.headers("planner")
    ).json()
    lon, lat = shape(zone["geometry"]).representative_point().coords[0]
    point = {"lon": lon, "lat": lat}

    def plans(headers) -> set[str]:
        found = httpx.get(f"{staff_api}/lookup", params=point, headers=headers).json()
        return {z["plan"]["code"] for zones in found["planning"].values() for z in zones}

    assert "CB-QHC-2045" in plans(staff.headers("planner"))
    assert "CB-QHC-2045" not in plans({})
    assert "CB-QHC-2045" not in plans(staff.headers("land_fund"))


def test_an_officer_limited_to_units_reads_holders_only_there(staff_api, staff, staff_engine):
    inside, outside = parcels_in_and_out(staff_engine)
    north = staff.headers("cadastral-north")

    def holders(parcel: int, headers):
        url = f"{staff_api}/collections/parcels/items/{parcel}"
        return httpx.get(url, headers=headers).json()["properties"]["holders"]

    assert holders(inside, north) and holders(inside, north) == holders(
        inside, staff.headers("cadastral")
    )
    assert holders(outside, north) is None
    assert holders(outside, staff.headers("cadastral"))
