import pytest
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from gis.errors import GeometryError
from gis.geometry import as_multipolygon

BOWTIE = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])


def test_polygon_becomes_multipolygon():
    result = as_multipolygon(box(0, 0, 1, 1))
    assert isinstance(result, MultiPolygon)
    assert result.area == 1


def test_multipolygon_is_kept():
    geom = MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)])
    assert as_multipolygon(geom).equals(geom)


@pytest.mark.parametrize(
    ("geom", "reason"),
    [
        (Polygon(), "empty"),
        (Point(1, 1), "wrong_type"),
        (LineString([(0, 0), (1, 1)]), "wrong_type"),
    ],
)
def test_unusable_geometry_is_refused(geom, reason):
    with pytest.raises(GeometryError) as info:
        as_multipolygon(geom)
    assert info.value.reason == reason


def test_invalid_geometry_is_refused_with_its_location():
    with pytest.raises(GeometryError, match="Self-intersection") as info:
        as_multipolygon(BOWTIE)
    assert info.value.reason == "invalid"
    assert info.value.location == pytest.approx((5.0, 5.0))


def test_invalid_geometry_is_repaired_on_request():
    fixed = as_multipolygon(BOWTIE, on_invalid="fix")
    assert fixed.is_valid
    assert len(fixed.geoms) == 2
    assert fixed.area == pytest.approx(50.0)
