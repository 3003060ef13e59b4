import pytest

from gis.crs import (
    REFERENCE_POINT_VN2000,
    REFERENCE_POINT_WGS84,
    VN2000_CAO_BANG,
    WGS84,
    crs_from_user_input,
    spatial_ref_sys_row,
    transformer,
)
from gis.errors import CRSError


def test_reference_point_forward_within_a_centimetre():
    east, north = transformer(WGS84, VN2000_CAO_BANG).transform(*REFERENCE_POINT_WGS84)
    assert east == pytest.approx(REFERENCE_POINT_VN2000[0], abs=0.01)
    assert north == pytest.approx(REFERENCE_POINT_VN2000[1], abs=0.01)


def test_reference_point_inverse_round_trips():
    lon, lat = transformer(VN2000_CAO_BANG, WGS84).transform(*REFERENCE_POINT_VN2000)
    back = transformer(WGS84, VN2000_CAO_BANG).transform(lon, lat)
    assert back == pytest.approx(REFERENCE_POINT_VN2000, abs=0.001)
    assert (lon, lat) == pytest.approx(REFERENCE_POINT_WGS84, abs=1e-6)


def test_the_seven_parameter_transformation_is_used():
    # A bare "+towgs84=0" datum shift would be ~100 m off; the EPSG:6960 operation is not.
    east, _ = transformer("EPSG:4326", "EPSG:9210").transform(*REFERENCE_POINT_WGS84)
    assert abs(east - REFERENCE_POINT_VN2000[0]) < 0.01


@pytest.mark.parametrize("value", ["EPSG:9210", 9210, "http://www.opengis.net/def/crs/EPSG/0/9210"])
def test_crs_inputs(value):
    assert crs_from_user_input(value).to_epsg() == 9210


def test_unknown_crs_is_a_crs_error():
    with pytest.raises(CRSError, match="EPSG:999999"):
        crs_from_user_input("EPSG:999999")


def test_spatial_ref_sys_row_names_epsg_authority():
    row = spatial_ref_sys_row(VN2000_CAO_BANG)
    assert (row["srid"], row["auth_name"], row["auth_srid"]) == (9210, "EPSG", 9210)
    assert "VN-2000" in row["srtext"]
    assert "+lon_0=105.75" in row["proj4text"]
