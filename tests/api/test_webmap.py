"""The public map page: served to browsers at /, offline-ready, small, and publishable."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from api import webmap
from api.settings import MapSettings
from layers.registry import default_registry
from tests.cli import run
from tests.scripts.test_import_cli import env_for

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class _References(HTMLParser):
    """Every script src and stylesheet/icon href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.found.append(values["src"])
        if tag == "link" and values.get("href"):
            self.found.append(values["href"])


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.found


def css_references(css: str) -> list[str]:
    return [
        u for u in re.findall(r"url\(['\"]?([^'\")]+)", css) if not u.startswith(("data:", "#"))
    ]


@pytest.fixture(scope="module")
def page(api_url) -> str:
    response = httpx.get(f"{api_url}/", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def test_browsers_get_the_map_and_clients_the_landing_json(client, page):
    assert "L.map(" in page and "landplan.start(" in page
    assert client.get("/").json()["links"][0]["rel"] == "self"  # httpx asks */*
    assert client.get("/", headers=HTML, params={"f": "json"}).json()["title"]
    assert "landplan.start(" in client.get("/", params={"f": "html"}).text
    alternate = [x for x in client.get("/").json()["links"] if x["rel"] == "alternate"]
    assert alternate[0]["type"] == "text/html"


def test_page_loads_nothing_from_another_host(client, page):
    refs = references(page)
    assert refs, "the page loads scripts and stylesheets"
    for ref in refs:
        assert not urlsplit(ref).netloc, ref
    # The only absolute URL the page may hold is the basemap's, a setting.
    tiles = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    absolute = {
        u
        for u in re.findall(r"https?://[^\s\"'<>)\\]+", page)
        if not u.startswith(
            "https://github.com/ljagis/leaflet-measure/issues"  # a comment in folium's template
        )
    }
    assert absolute <= {tiles, "https://www.openstreetmap.org/copyright"}


def test_every_file_the_page_loads_is_served(client, page):
    for ref in references(page):
        response = client.get(ref)
        assert response.status_code == 200, ref
        if ref.endswith(".css"):
            for inner in css_references(response.text):
                assert client.get(urljoin(ref, inner)).status_code == 200, (ref, inner)


def test_only_the_vendor_build_directories_are_served(client):
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/static/vendor/leaflet/../package.json").status_code == 404
    assert client.get("/static/vendor/pbf/index.js").status_code == 404


def test_page_is_small_and_embeds_no_features(page):
    assert len(page.encode()) < 64 * 1024
    assert '"FeatureCollection"' not in page and '"Feature"' not in page


def test_one_tile_layer_draws_every_overlay(client, page):
    """One tile URL (one request and query per tile) for the collections of the overlays
    shown at start, bottom to top; each MVT layer styled by landplan.js; a switch in the
    layer control per overlay."""
    urls = re.findall(r"L\.vectorGrid\.protobuf\(\s*'([^']+)'", page)
    shown = [
        c for c in webmap.DRAW_ORDER if any(o.show for o in webmap.OVERLAYS if o.collection == c)
    ]
    assert urls == [f"/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}?collections={','.join(shown)}"]
    assert "development_areas" not in urls[0]  # its only overlay starts switched off
    styles = re.search(r'"vectorTileLayerStyles": \{([^}]*)\}', page).group(1)
    for collection in default_registry():
        assert f'"{collection}": landplan.layerStyle("{collection}")' in styles
    switches = re.search(r"overlays :\s*\{([^}]*)\}", page).group(1)
    assert re.findall(r'"(\w+)" : feature_group_', switches) == [o.key for o in webmap.OVERLAYS]
    assert client.get(urls[0].format(z=13, x=6513, y=3565)).status_code == 200


def test_basemap_is_a_setting():
    registry = default_registry()
    offline = webmap.build(registry, MapSettings(basemap="none"), [])
    assert "tile.openstreetmap.org" not in offline and "L.tileLayer" not in offline
    custom = webmap.build(
        registry,
        MapSettings(
            basemap="http://tiles.example.vn/{z}/{x}/{y}.png",
            basemap_attribution="So TNMT Cao Bang",
        ),
        [],
    )
    assert "http://tiles.example.vn/{z}/{x}/{y}.png" in custom and "So TNMT Cao Bang" in custom
    with pytest.raises(ValueError, match="osm, none or a tile URL template"):
        MapSettings(basemap="satellite")


def test_palette_gives_every_land_use_a_colour(page):
    colours = re.findall(r'"code": "([A-Z]{3})"[^}]*"colour": "(#[0-9a-f]{6})"', page)
    assert len(colours) >= 33
    assert len({c for _, c in colours}) == len(colours)  # a distinct colour each


def publish_map(database_url, out: Path, api_url: str) -> None:
    """``landplan publish-map`` as a user runs it, on the run's database, no basemap."""
    result = run(
        "publish-map",
        "--out",
        str(out),
        "--api-url",
        api_url,
        env={**env_for(database_url), "LANDPLAN_MAP_BASEMAP": "none"},
    )
    assert result.returncode == 0, result.stderr


def test_publish_map_writes_a_static_site(tmp_path, database_url):
    publish_map(database_url, tmp_path, "https://gis.example.vn/")
    html = (tmp_path / "index.html").read_text()
    assert "'https://gis.example.vn/tiles/WebMercatorQuad/{z}/{x}/{y}?collections=" in html
    assert '"api": "https://gis.example.vn"' in html
    for ref in references(html):
        assert not ref.startswith("/") and not urlsplit(ref).netloc, ref
        file = tmp_path / ref
        assert file.is_file(), ref
        if ref.endswith(".css"):
            for inner in css_references(file.read_text()):
                assert (file.parent / inner).is_file(), (ref, inner)
    assert not list(Path(tmp_path).rglob("*.map"))


def test_both_languages_have_every_word():
    text = (webmap.OWN_ASSETS / "landplan-text.js").read_text()
    vi, en = text.split("\n  en: {")
    keys = [set(re.findall(r"^    (\w+):", part, re.MULTILINE)) for part in (vi, en)]
    assert keys[0] == keys[1] and len(keys[0]) > 80
    used = set(re.findall(r'\bt\("(\w+)"\)', (webmap.OWN_ASSETS / "landplan.js").read_text()))
    assert used <= keys[0]
