"""``f=`` on items: the same features as the page, as a file a desktop GIS opens."""

from __future__ import annotations

import io
import zipfile

import pyogrio
import pytest

from layers.registry import default_registry

PARCELS = default_registry()["parcels"]


def read(tmp_path, response, suffix):
    path = tmp_path / f"download{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            archive.extractall(tmp_path / "shp")
            (shp,) = [n for n in archive.namelist() if n.endswith(".shp")]
        return pyogrio.read_dataframe(tmp_path / "shp" / shp)
    path.write_bytes(response.content)
    return pyogrio.read_dataframe(path)


@pytest.mark.parametrize(
    ("fmt", "suffix", "media"),
    [
        ("gpkg", ".gpkg", "application/geopackage+sqlite3"),
        ("shp", ".zip", "application/zip"),
        ("csv", ".csv", "text/csv; charset=utf-8"),
    ],
)
def test_a_download_holds_the_page_with_public_fields(client, tmp_path, fmt, suffix, media):
    page = client.get("/collections/parcels/items", params={"limit": 25}).json()
    response = client.get("/collections/parcels/items", params={"limit": 25, "f": fmt})
    assert response.status_code == 200
    assert response.headers["content-type"] == media
    assert "attachment" in response.headers["content-disposition"]
    frame = read(tmp_path, response, suffix)
    assert len(frame) == 25
    if fmt != "shp":  # (Shapefile names are checked in tests/layers/test_exports.py)
        columns = set(frame.columns) - {"geometry", "WKT", "fid"}
        assert columns == set(PARCELS.public_properties)
        expected = [f["properties"]["parcel_number"] for f in page["features"]]
        assert [int(v) for v in frame["parcel_number"]] == expected


def test_a_download_honours_filters_and_crs(client, tmp_path):
    params = {
        "limit": 10000,
        "land_use_code": "ODT",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/9210",
    }
    geojson = client.get("/collections/parcels/items", params=params).json()
    response = client.get("/collections/parcels/items", params={**params, "f": "gpkg"})
    frame = read(tmp_path, response, ".gpkg")
    assert len(frame) == geojson["numberReturned"]
    assert set(frame["land_use_code"]) == {"ODT"}
    assert frame.crs.to_epsg() == 9210


def test_an_unknown_format_is_a_400(client):
    response = client.get("/collections/parcels/items", params={"f": "dwg"})
    assert response.status_code == 400
    assert response.json()["parameter"] == "f"


@pytest.mark.parametrize(("fmt", "suffix"), [("gpkg", ".gpkg"), ("shp", ".zip"), ("csv", ".csv")])
def test_a_download_of_nothing_is_an_empty_file(client, tmp_path, fmt, suffix):
    response = client.get(
        "/collections/parcels/items", params={"f": fmt, "filter": "map_sheet = 999999"}
    )
    assert response.status_code == 200
    assert len(read(tmp_path, response, suffix)) == 0


def test_a_dead_download_worker_is_replaced(client):
    import multiprocessing
    import os
    import signal
    import time

    url = "/collections/parcels/items"
    assert client.get(url, params={"f": "csv", "limit": 5}).status_code == 200
    workers = multiprocessing.active_children()  # the server runs in this process
    assert workers
    for worker in workers:
        os.kill(worker.pid, signal.SIGKILL)
    time.sleep(0.5)  # the pool notices its worker is gone
    failed = client.get(url, params={"f": "csv", "limit": 5})
    assert failed.status_code == 503 and failed.headers["retry-after"]  # the dead pool's
    assert client.get(url, params={"f": "csv", "limit": 5}).status_code == 200  # a new one
