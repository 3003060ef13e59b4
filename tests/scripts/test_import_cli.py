"""``landplan import`` as staff run it: messages, exit status, report files."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from layers.parcels import Parcel
from tests.cli import run
from tests.layers.importfiles import parcels, write_shapefile


def env_for(url) -> dict[str, str]:
    return {"DATABASE_URL": url.render_as_string(hide_password=False)}


def import_parcels(url, path, report_dir, *options: str):
    """``landplan import PATH --layer parcels [options] --report-dir DIR``."""
    arguments = ["import", str(path), "--layer", "parcels", *options]
    return run(*arguments, "--report-dir", str(report_dir), env=env_for(url))


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Parcel.__table__)).scalar_one()


def test_import_writes_and_reports(db, import_database_url, tmp_path):
    path = write_shapefile(parcels(), tmp_path / "thua.shp", "tcvn3")
    out = tmp_path / "report"
    result = import_parcels(import_database_url, path, out)
    assert result.returncode == 0, result.stderr
    assert "6 new" in result.stdout and "tcvn3 (detected)" in result.stdout
    assert count(db) == 6
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["inserted"] == 6 and report["written"] is True


def test_refused_import_exits_3_with_findings_and_problem_locations(
    db, import_database_url, tmp_path
):
    frame = parcels(3)
    frame["KyHieuMucDichSuDung"] = ["ODT", "XYZ", "ODT"]
    path = write_shapefile(frame, tmp_path / "thua.shp")
    out = tmp_path / "report"
    result = import_parcels(import_database_url, path, out)
    assert result.returncode == 3
    assert "LANDUSE_UNKNOWN" in result.stdout and "Nothing was written" in result.stderr
    assert count(db) == 0
    problems = json.loads((out / "problems.geojson").read_text())
    assert [f["properties"]["rule"] for f in problems["features"]] == ["LANDUSE_UNKNOWN"]


def test_a_file_that_cannot_be_imported_exits_1_without_traceback(
    db, import_database_url, tmp_path
):
    path = write_shapefile(parcels(), tmp_path / "thua.shp")
    path.with_suffix(".prj").unlink()
    result = run("import", str(path), "--layer", "parcels", env=env_for(import_database_url))
    assert result.returncode == 1
    assert "--crs" in result.stderr and "EPSG:9210" in result.stderr
    assert "Traceback" not in result.stderr


def test_dry_run_exits_0_and_writes_nothing(db, import_database_url, tmp_path):
    path = write_shapefile(parcels(), tmp_path / "thua.shp")
    result = import_parcels(import_database_url, path, tmp_path / "r", "--dry-run")
    assert result.returncode == 0 and "Dry run" in result.stdout
    assert count(db) == 0


def test_export_writes_the_public_layer(db, import_database_url, tmp_path):
    import_parcels(
        import_database_url, write_shapefile(parcels(), tmp_path / "t.shp"), tmp_path / "r"
    )
    out = tmp_path / "thua.gpkg"
    result = run(
        "export",
        "--layer",
        "parcels",
        "--format",
        "gpkg",
        "--out",
        str(out),
        env=env_for(import_database_url),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("6 parcels") and out.exists()


def test_export_of_an_unknown_layer_or_format_exits_1(import_database_url):
    result = run("export", "--layer", "holders", env=env_for(import_database_url))
    assert result.returncode == 1 and "no public layer 'holders'" in result.stderr
    result = run(
        "export", "--layer", "parcels", "--format", "dwg", env=env_for(import_database_url)
    )
    assert result.returncode == 1 and "unknown format" in result.stderr
