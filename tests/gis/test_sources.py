"""Files refused from what they say of themselves, before they are read or inflated."""

from __future__ import annotations

import shutil
import zipfile

import pytest

from gis.errors import GISError
from gis.sources import ZIP_MAX_RATIO, open_source
from tests.layers.importfiles import parcels, write_shapefile


def test_a_dbf_cut_short_beside_a_whole_shp_is_refused(tmp_path):
    shp = write_shapefile(parcels(50), tmp_path / "thua.shp")
    dbf = shp.with_suffix(".dbf")
    data = dbf.read_bytes()
    dbf.write_bytes(data[: len(data) // 4])
    with pytest.raises(GISError, match=r"truncated, it holds \d+ of the 50 records"):
        open_source(shp)


def test_a_dbf_of_another_file_is_refused(tmp_path):
    shp = write_shapefile(parcels(50), tmp_path / "thua.shp")
    (tmp_path / "other").mkdir()
    other = write_shapefile(parcels(6), tmp_path / "other" / "thua.shp")
    shutil.copy(other.with_suffix(".dbf"), shp.with_suffix(".dbf"))
    with pytest.raises(GISError, match="6 attribute records for 50 shapes"):
        open_source(shp)


def test_the_same_checks_inside_a_zip(tmp_path):
    shp = write_shapefile(parcels(50), tmp_path / "thua.shp")
    dbf = shp.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes()[:-400])
    archive = tmp_path / "thua.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("thua.*"):
            if part != archive:
                z.write(part, part.name)
    with pytest.raises(GISError, match="truncated"):
        open_source(archive)


def test_a_whole_shapefile_opens(tmp_path):
    assert open_source(write_shapefile(parcels(50), tmp_path / "thua.shp")).count == 50


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("thua.shp", "w", force_zip64=True) as entry:
            chunk = bytes(1024**2)
            for _ in range(256):  # 256 MiB of zeros in about 250 KiB
                entry.write(chunk)
    assert bomb.stat().st_size * ZIP_MAX_RATIO < 256 * 1024**2
    with pytest.raises(GISError, match="zip bomb"):
        open_source(bomb)


def test_many_small_zero_entries_are_a_zip_bomb_too(tmp_path):
    bomb = tmp_path / "many.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for i in range(40):
            z.writestr(f"zero{i}.bin", bytes(1024**2 - 1))  # each just under 1 MiB
    with pytest.raises(GISError, match="zip bomb"):
        open_source(bomb)


def test_an_encrypted_entry_is_refused(tmp_path):
    archive = tmp_path / "secret.zip"
    write_shapefile(parcels(3), tmp_path / "thua.shp")
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("thua.*"):
            z.write(part, part.name)
    data = bytearray(archive.read_bytes())
    # Set the "encrypted" flag in every central directory and local header.
    for signature, offset in ((b"PK\x01\x02", 8), (b"PK\x03\x04", 6)):
        start = 0
        while (found := data.find(signature, start)) >= 0:
            data[found + offset] |= 0x1
            start = found + 4
    archive.write_bytes(bytes(data))
    with pytest.raises(GISError, match="encrypted"):
        open_source(archive)


def test_too_many_entries_are_refused(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(1001):
            z.writestr(f"f{i}.txt", b"")
    with pytest.raises(GISError, match="1,001 entries"):
        open_source(archive)
