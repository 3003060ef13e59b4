"""Real OGC API clients read every public collection: GDAL's OAPIF driver and OWSLib."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from owslib.ogcapi.features import Features
from sqlalchemy import func, select

from layers.planning_projects import PlanningProject, is_public
from layers.registry import default_registry

LAYERS = list(default_registry().values())


def public_count(conn, layer) -> int:
    return conn.execute(
        select(func.count()).select_from(layer.table).where(layer.public_where())
    ).scalar_one()


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.id)
def test_gdal_ogrinfo_reads_each_collection(api_url, conn, layer):
    assert shutil.which("ogrinfo"), "gdal-bin is installed by make setup"
    result = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{api_url}", layer.id],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    count = int(re.search(r"Feature Count: (\d+)", result.stdout).group(1))
    assert count == public_count(conn, layer)
    fields = set(re.findall(r"^(\w+): \w+", result.stdout, re.MULTILINE))
    shown = set(layer.public_properties) - {"documents"}
    assert shown <= fields
    assert not {"holder_name", "holder_id_number", "notes"} & fields


def test_gdal_reads_features_with_attributes(api_url, conn):
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", f"OAPIF:{api_url}", "planning_projects"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    codes = set(re.findall(r"code \(String\) = (\S+)", result.stdout))
    public = conn.execute(
        select(PlanningProject.code).where(is_public(PlanningProject.__table__))
    ).scalars()
    assert codes == set(public) and len(codes) == 5
    assert "2218/QĐ-UBND" in result.stdout
    assert "MULTIPOLYGON" in result.stdout


def test_owslib_lists_and_reads_collections(api_url, conn):
    service = Features(api_url)
    ids = [c["id"] for c in service.collections()["collections"]]
    assert ids == [layer.id for layer in LAYERS]
    lots = service.collection_items("auction_lots", limit=1000)
    assert lots["numberReturned"] == public_count(conn, default_registry()["auction_lots"])
    assert service.collection_queryables("parcels")["properties"]["map_sheet"]["type"] == (
        "integer"
    )
