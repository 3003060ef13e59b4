"""POST /imports over real HTTP, against the import tests' database."""

from __future__ import annotations

import time
import zipfile

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from api.settings import DatabaseSettings, ServerSettings, Settings
from layers.parcels import Parcel
from tests.layers.importfiles import parcels, write_shapefile
from tests.servers import serve

TOKEN = "a-long-test-token-for-imports"
STAFF = {"Authorization": f"Bearer {TOKEN}"}


def post(url: str, headers: dict | None = None, **kwargs) -> httpx.Response:
    """POST as staff: with the token, unless ``headers`` says otherwise."""
    return httpx.post(url, headers={**STAFF, **(headers or {})}, **kwargs)


def get(url: str, headers: dict | None = None, **kwargs) -> httpx.Response:
    return httpx.get(url, headers={**STAFF, **(headers or {})}, **kwargs)


@pytest.fixture(scope="module")
def staff_api(import_database_url):
    settings = Settings(
        database=DatabaseSettings(
            url=SecretStr(import_database_url.render_as_string(hide_password=False))
        ),
        server=ServerSettings(admin_token=SecretStr(TOKEN), max_upload_mb=1),
    )
    yield from serve(settings)


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Parcel.__table__)).scalar_one()


def zipped(tmp_path, encoding="tcvn3", frame=None):
    write_shapefile(parcels() if frame is None else frame, tmp_path / "thua.shp", encoding)
    archive = tmp_path / "thua.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("thua.*"):
            if part != archive:
                z.write(part, part.name)
    return archive


def test_upload_a_zipped_shapefile(db, staff_api, tmp_path):
    archive = zipped(tmp_path)
    response = post(
        f"{staff_api}/imports",
        files={"files": ("thua.zip", archive.read_bytes(), "application/zip")},
        data={"layer": "parcels"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["counts"]["inserted"] == 6 and body["encoding"] == "tcvn3 (detected)"
    assert count(db) == 6


def test_upload_shapefile_parts(db, staff_api, tmp_path):
    shp = write_shapefile(parcels(), tmp_path / "thua.shp")
    files = [("files", (p.name, p.read_bytes())) for p in tmp_path.glob("thua.*")]
    response = post(
        f"{staff_api}/imports",
        files=files,
        data={"layer": "parcels", "dry_run": "true"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["inserted"] == 6 and count(db) == 0
    assert shp.exists()


def test_refused_upload_is_422_with_the_report(db, staff_api, tmp_path):
    frame = parcels(3)
    frame["KyHieuMucDichSuDung"] = ["ODT", "XYZ", "ODT"]
    archive = zipped(tmp_path, "utf-8", frame)
    response = post(
        f"{staff_api}/imports",
        files={"files": ("thua.zip", archive.read_bytes())},
        data={"layer": "parcels"},
        timeout=60,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    rules = [f["rule"] for f in response.json()["report"]["findings"]]
    assert rules == ["LANDUSE_UNKNOWN"] and count(db) == 0


def test_a_mapping_file_goes_with_the_upload(db, staff_api, tmp_path):
    frame = parcels(3).rename(columns={"SoThuTuThua": "STT"})  # a name no mapping knows
    archive = zipped(tmp_path, "utf-8", frame)
    upload = {"files": ("thua.zip", archive.read_bytes())}
    without = post(f"{staff_api}/imports", files=upload, data={"layer": "parcels"})
    assert without.status_code == 400 and "no field for parcel_number" in without.json()["detail"]
    mapping = b"fields:\n  parcel_number: STT\nconstants:\n  source: 'Do dac 2024'\n"
    response = post(
        f"{staff_api}/imports",
        files={**upload, "mapping": ("map.yaml", mapping, "application/yaml")},
        data={"layer": "parcels"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["mapping"]["parcel_number"] == "STT"
    with db.connect() as conn:
        sources = conn.execute(select(Parcel.__table__.c.source).distinct()).scalars().all()
    assert sources == ["Do dac 2024"] and count(db) == 3
    bad = post(
        f"{staff_api}/imports",
        files={**upload, "mapping": ("map.yaml", b"fields: [oops]\n")},
        data={"layer": "parcels"},
    )
    assert bad.status_code == 400 and "'column: value' lines" in bad.json()["detail"]


def test_a_bad_file_is_a_400_naming_the_problem(db, staff_api):
    response = post(
        f"{staff_api}/imports",
        files={"files": ("thua.zip", b"PK\x03\x04 not really")},
        data={"layer": "parcels"},
        timeout=60,
    )
    assert response.status_code == 400
    assert "not a readable zip" in response.json()["detail"]


def test_an_upload_over_the_limit_is_a_413(db, staff_api):
    response = post(
        f"{staff_api}/imports",
        files={"files": ("big.zip", b"0" * (2 * 1024 * 1024))},
        data={"layer": "parcels"},
        timeout=60,
    )
    assert response.status_code == 413
    # Refused before the whole body was read: the rest of it must not be read as a request.
    assert response.headers["connection"] == "close"
    assert count(db) == 0


def test_imports_need_the_token_from_anywhere(db, staff_api, tmp_path):
    archive = zipped(tmp_path)
    request = {
        "files": {"files": ("thua.zip", archive.read_bytes())},
        "data": {"layer": "parcels", "dry_run": "true"},
        "timeout": 60,
    }
    # From this very machine, as a proxy on it would connect: no longer enough.
    anonymous = httpx.post(f"{staff_api}/imports", **request)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.headers["connection"] == "close"  # the upload was never read
    wrong = post(f"{staff_api}/imports", headers={"Authorization": "Bearer nope"}, **request)
    assert wrong.status_code == 401
    assert post(f"{staff_api}/imports", **request).status_code == 200
    assert count(db) == 0  # a dry run


def test_an_upload_that_is_not_a_form_is_a_415(db, staff_api):
    response = post(f"{staff_api}/imports", json={"layer": "parcels"})
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_layer_is_a_400(db, staff_api, tmp_path):
    archive = zipped(tmp_path)
    response = post(
        f"{staff_api}/imports",
        files={"files": ("thua.zip", archive.read_bytes())},
        data={"layer": "holders"},
        timeout=60,
    )
    assert response.status_code == 400 and response.json()["parameter"] == "layer"


def test_an_unknown_encoding_is_a_400(db, staff_api, tmp_path):
    archive = zipped(tmp_path)
    response = post(
        f"{staff_api}/imports",
        files={"files": ("thua.zip", archive.read_bytes())},
        data={"layer": "parcels", "encoding": "vnn"},
        timeout=60,
    )
    assert response.status_code == 400 and "unknown encoding" in response.json()["detail"]


def start(staff_api: str, payload: bytes, **data: str) -> httpx.Response:
    """Upload a zipped file for an import in the background (Prefer: respond-async)."""
    return post(
        f"{staff_api}/imports",
        files={"files": ("thua.zip", payload)},
        data=data,
        headers={"Prefer": "respond-async"},
        timeout=60,
    )


def wait_for(url: str, headers: dict | None = None) -> dict:
    """Poll an import job until it is no longer running."""
    for _ in range(600):
        job = get(url, headers=headers).json()
        if job["status"] != "running":
            return job
        time.sleep(0.1)
    raise AssertionError(f"{url} still running")


def test_a_long_import_can_run_in_the_background(db, staff_api, tmp_path):
    response = start(staff_api, zipped(tmp_path).read_bytes(), layer="parcels")
    assert response.status_code == 202
    assert response.headers["preference-applied"] == "respond-async"
    location = response.headers["location"]
    assert location == f"/imports/{response.json()['id']}"
    job = wait_for(f"{staff_api}{location}")
    assert job["status"] == "imported" and job["phase"] == "write"
    assert (job["read"], job["total"]) == (6, 6)
    assert job["report"]["counts"]["inserted"] == 6 and count(db) == 6
    assert job["finished"] >= job["started"]


def test_a_background_import_says_why_it_failed_or_was_refused(db, staff_api, tmp_path):
    broken = start(staff_api, b"PK\x03\x04 not really", layer="parcels")
    job = wait_for(f"{staff_api}{broken.headers['location']}")
    assert job["status"] == "failed" and "not a readable zip" in job["detail"]
    frame = parcels(3)
    frame["KyHieuMucDichSuDung"] = ["ODT", "XYZ", "ODT"]
    refused = start(staff_api, zipped(tmp_path, "utf-8", frame).read_bytes(), layer="parcels")
    job = wait_for(f"{staff_api}{refused.headers['location']}")
    assert job["status"] == "refused" and count(db) == 0
    assert [f["rule"] for f in job["report"]["findings"]] == ["LANDUSE_UNKNOWN"]


def test_import_jobs_are_for_staff_and_unknown_ones_are_404(db, staff_api, tmp_path):
    response = start(staff_api, zipped(tmp_path).read_bytes(), layer="parcels", dry_run="true")
    url = f"{staff_api}{response.headers['location']}"
    assert wait_for(url)["status"] == "importable"  # a dry run that would import
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert get(url).is_success
    missing = get(f"{staff_api}/imports/0123456789abcdef")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


@pytest.fixture(scope="module")
def importers(import_database_url):
    from tests.staff import make_staff

    return make_staff(import_database_url, prefix="imp-")


def test_an_import_needs_a_role_that_writes_its_layer(db, staff_api, importers, tmp_path):
    from sqlalchemy import text

    archive = zipped(tmp_path)
    upload = {
        "files": {"files": ("thua.zip", archive.read_bytes(), "application/zip")},
        "data": {"layer": "parcels"},
        "timeout": 60,
    }
    refused = post(f"{staff_api}/imports", headers=importers.headers("planner"), **upload)
    assert refused.status_code == 403 and count(db) == 0
    reason = {"Landplan-Reason": "S%E1%BB%91%20h%C3%B3a%20t%E1%BB%9D%2017"}
    headers = {**importers.headers("cadastral"), **reason}
    done = post(f"{staff_api}/imports", headers=headers, **upload)
    assert done.status_code == 200, done.text
    assert count(db) == 6
    with db.connect() as conn:
        entry = conn.execute(
            text(
                "SELECT actor, via, reason FROM private.edits WHERE layer = 'parcels' "
                "AND operation = 'insert' ORDER BY id DESC LIMIT 1"
            )
        ).one()
    assert tuple(entry) == ("imp-cadastral", "import", "Số hóa tờ 17")


def test_an_account_limited_to_units_imports_only_there(db, staff_api, tmp_path):
    """A cadastral officer of another unit cannot import the parcels of 01273."""
    from datetime import timedelta

    from sqlalchemy import insert

    from layers import accounts
    from layers.admin_units import AdminUnit
    from tests.layers.importfiles import ORIGIN

    x, y = ORIGIN
    with db.begin() as conn:
        if conn.scalar(select(AdminUnit.id).where(AdminUnit.code == "01279")) is None:
            ring = f"{x + 5000} {y}, {x + 6000} {y}, {x + 6000} {y + 1000}, {x + 5000} {y}"
            far = f"SRID=9210;MULTIPOLYGON((({ring})))"
            conn.execute(
                insert(AdminUnit.__table__).values(
                    code="01279",
                    name="Nùng Trí Cao",
                    kind="ward",
                    valid_from="2025-07-01",
                    geom=far,
                )
            )
        accounts.add_account(conn, "imp-east", "cadastral", "a long staff password", ["01279"])
        _, token = accounts.create_token(conn, "imp-east", timedelta(hours=1))
    archive = zipped(tmp_path)
    response = post(
        f"{staff_api}/imports",
        headers={"Authorization": f"Bearer {token}"},
        files={"files": ("thua.zip", archive.read_bytes(), "application/zip")},
        data={"layer": "parcels"},
        timeout=60,
    )
    assert response.status_code == 422, response.text
    rules = [f["rule"] for f in response.json()["report"]["findings"]]
    assert rules == ["OUTSIDE_UNITS"] * 6
    assert count(db) == 0


def test_an_api_import_without_a_reason_is_flagged(db, staff_api, importers, tmp_path):
    from sqlalchemy import text

    archive = zipped(tmp_path)
    done = post(
        f"{staff_api}/imports",
        headers=importers.headers("cadastral"),
        files={"files": ("thua.zip", archive.read_bytes(), "application/zip")},
        data={"layer": "parcels"},
        timeout=60,
    )
    assert done.status_code == 200, done.text
    with db.connect() as conn:
        entry = conn.execute(
            text(
                "SELECT reason, no_reason_given FROM private.edits WHERE layer = 'parcels' "
                "AND operation = 'insert' ORDER BY id DESC LIMIT 1"
            )
        ).one()
    assert tuple(entry) == (None, True)
