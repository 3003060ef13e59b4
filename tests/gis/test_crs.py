import pytest

from gis.crs import (
    REFERENCE_POINT_VN2000,
    REFERENCE_POINT_WGS84,
    VN2000_CAO_BANG,
    VN2000_PROJECTED,
    VN2000_UTM48N,
    WGS84,
    area_of_use,
    clip_to_area_of_use,
    crs_from_user_input,
    in_area_of_use,
    ogc_crs,
    spatial_ref_sys_row,
    suggest_crs,
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


#: Lon/lat bounds around Cao Bằng province, as a service area.
CAO_BANG_AREA = (105.27, 22.3, 106.85, 23.15)


def _box(x: float, y: float, half: float = 500) -> tuple[float, float, float, float]:
    return (x - half, y - half, x + half, y + half)


def test_every_vn2000_zone_round_trips_with_pyproj_within_a_millimetre():
    lon, lat = REFERENCE_POINT_WGS84
    for epsg in VN2000_PROJECTED:
        x, y = transformer(WGS84, epsg).transform(lon, lat)
        back = transformer(epsg, WGS84).transform(x, y)
        again = transformer(WGS84, epsg).transform(*back)
        assert abs(again[0] - x) < 0.001 and abs(again[1] - y) < 0.001, epsg


def test_suggestion_for_cao_bang_metres_leads_with_the_province_zone():
    suggested = suggest_crs(_box(*REFERENCE_POINT_VN2000), CAO_BANG_AREA)
    assert suggested[0] == VN2000_CAO_BANG
    # every suggestion puts the data inside the area
    for epsg in suggested:
        lon, lat = transformer(epsg, WGS84).transform(*REFERENCE_POINT_VN2000)
        assert CAO_BANG_AREA[0] <= lon <= CAO_BANG_AREA[2], epsg
        assert CAO_BANG_AREA[1] <= lat <= CAO_BANG_AREA[3], epsg


def test_suggestion_for_utm_metres_names_the_zones_that_fit():
    x, y = transformer(WGS84, VN2000_UTM48N).transform(*REFERENCE_POINT_WGS84)
    suggested = suggest_crs(_box(x, y), CAO_BANG_AREA)
    assert VN2000_UTM48N in suggested
    assert VN2000_CAO_BANG not in suggested  # read as 105°45' it lands ~80 km east


def test_suggestion_for_degrees_is_wgs84():
    assert suggest_crs((106.2, 22.6, 106.3, 22.7), CAO_BANG_AREA) == [WGS84]


def test_no_suggestion_for_coordinates_that_land_nowhere_near():
    x, y = REFERENCE_POINT_VN2000
    assert suggest_crs(_box(x, y - 1_500_000), CAO_BANG_AREA) == []


def test_area_of_use_is_in_the_crs_own_coordinates():
    xmin, ymin, xmax, ymax = area_of_use(VN2000_CAO_BANG)
    assert xmin < REFERENCE_POINT_VN2000[0] < xmax and ymin < REFERENCE_POINT_VN2000[1] < ymax
    assert area_of_use(WGS84) == (-180, -90, 180, 90)


def test_a_box_is_clipped_to_the_area_of_use():
    area = area_of_use(VN2000_UTM48N)
    assert clip_to_area_of_use((-1e300, -1e300, 1e300, 1e300), VN2000_UTM48N) == area
    inside = (500_000.0, 2_500_000.0, 501_000.0, 2_501_000.0)
    assert clip_to_area_of_use(inside, VN2000_UTM48N) == inside
    assert clip_to_area_of_use((-1e300, -1e300, -1e299, -1e299), VN2000_UTM48N) is None


def test_a_point_outside_the_area_of_use_is_told():
    assert in_area_of_use(*REFERENCE_POINT_VN2000, VN2000_CAO_BANG)
    assert not in_area_of_use(1e308, 1e308, VN2000_CAO_BANG)
    assert not in_area_of_use(float("nan"), 0, VN2000_CAO_BANG)


@pytest.mark.parametrize(
    ("name", "srid", "lat_first"),
    [
        ("urn:ogc:def:crs:EPSG::9210", VN2000_CAO_BANG, False),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", WGS84, False),
        ("urn:ogc:def:crs:EPSG::4326", WGS84, True),
        ("[EPSG:3405]", VN2000_UTM48N, False),
    ],
)
def test_ogc_crs_reads_uris_curies_and_urns(name, srid, lat_first):
    assert ogc_crs(name)[1:] == (srid, lat_first)
