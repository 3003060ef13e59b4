"""kill -9 of an import while it writes: every table as it was, and the server ends
the dead client's query within seconds (client_connection_check_interval)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import geopandas as gpd
import shapely
from sqlalchemy import create_engine, text

from tests.cli import LANDPLAN
from tests.fingerprint import fingerprint
from tests.layers.importfiles import ORIGIN, insert_ward

SIDE = 160  # a 160 x 160 grid of 8 m parcels: long enough an import to kill mid-write


def big_survey(path) -> None:
    x0, y0 = ORIGIN[0] - SIDE * 4, ORIGIN[1] - SIDE * 4
    cells = [(i % SIDE, i // SIDE) for i in range(SIDE * SIDE)]
    gpd.GeoDataFrame(
        {
            "MaXa": ["01273"] * len(cells),
            "SoHieuToBanDo": [1 + j // 40 for _, j in cells],
            "SoThuTuThua": [1 + i for i in range(len(cells))],
            "DienTich": [64.0] * len(cells),
            "KyHieuMucDichSuDung": ["ODT"] * len(cells),
        },
        geometry=[
            shapely.box(x0 + 8 * i, y0 + 8 * j, x0 + 8 * i + 8, y0 + 8 * j + 8) for i, j in cells
        ],
        crs="EPSG:9210",
    ).to_file(path, driver="GPKG")


def clients(conn) -> int:
    return conn.execute(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
    ).scalar_one()


def test_kill_9_of_an_import_while_it_writes_leaves_every_table_as_it_was(fault_cluster, tmp_path):
    _, settings = fault_cluster
    url = settings.sqlalchemy_url()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM parcels"))
        conn.execute(text("DELETE FROM admin_units"))
        insert_ward(conn, half_side=3000)
    survey = tmp_path / "survey.gpkg"
    big_survey(survey)
    before = fingerprint(url)
    env = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False)}
    proc = subprocess.Popen(
        [LANDPLAN, "import", str(survey), "--layer", "parcels"],
        env=env,
        stdout=(tmp_path / "import.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    # Autocommit: pg_stat_activity is read once per transaction.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watch:
        deadline = time.monotonic() + 120
        writing = False
        while time.monotonic() < deadline and proc.poll() is None and not writing:
            writing = bool(
                watch.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND state = 'active' AND pid <> pg_backend_pid() "
                        "AND query ~* '(COPY|INSERT INTO|UPDATE) '"
                    )
                ).scalar_one()
            )
            time.sleep(0.05)
        log = (tmp_path / "import.log").read_text()[-2000:]
        assert writing and proc.poll() is None, f"ended ({proc.poll()}, {writing}): {log}"
        time.sleep(0.3)  # well inside the write
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed = time.monotonic()
        while clients(watch) and time.monotonic() - killed < 5:
            time.sleep(0.1)
        assert clients(watch) == 0, "the dead import's query still runs 5 s after kill -9"
    engine.dispose()
    assert fingerprint(url) == before
