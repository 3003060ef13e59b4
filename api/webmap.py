"""The public map: a Folium (Leaflet) page over the API's vector tiles, lookup and search.

Folium builds the page: the map, a vector-tile overlay per layer (VectorGrid), panes, the
layer switcher, measure and locate controls. Every script and stylesheet comes from the
project's own npm install (``web/``) and is served by the app or copied beside a
published page: the page asks no other host for anything but the basemap, which is a
setting (``none`` for offline). ``web/static/landplan.js`` adds what Folium has no element
for: the legend, the lookup popup, search, the available-land panel and the language
switch. It gets its configuration (API address, land-use palette) as one JSON object.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import LocateControl, MeasureControl, VectorGridProtobuf
from folium.template import Template

from api.settings import PROJECT_ROOT, MapSettings
from layers.registry import Registry

WEB = PROJECT_ROOT / "web"
OWN_ASSETS = WEB / "static"
NODE_MODULES = WEB / "node_modules"
#: npm package → its directory of built files, served under ``static/vendor/<package>``.
VENDOR = {
    "leaflet": "leaflet/dist",
    "leaflet.vectorgrid": "leaflet.vectorgrid/dist",
    "leaflet-measure": "leaflet-measure/dist",
    "leaflet.locatecontrol": "leaflet.locatecontrol/dist",
}


@dataclass(frozen=True)
class Overlay:
    """One switchable layer of the map: the features of a collection that landplan.js
    gives to ``key`` (plans by level, units current or before the reform)."""

    key: str
    collection: str
    show: bool = True


MAX_ZOOM = 20
OVERLAYS = (
    Overlay("zones", "plan_zones"),
    Overlay("plans_general", "planning_projects"),
    Overlay("plans_zoning", "planning_projects"),
    Overlay("plans_detailed", "planning_projects"),
    Overlay("lots", "auction_lots"),
    Overlay("development_areas", "development_areas", show=False),
    Overlay("wards", "admin_units"),
    Overlay("units_before_2025", "admin_units", show=False),
    Overlay("parcels", "parcels"),
)
#: Collections bottom to top: the map's tile holds them in this order, and one canvas per
#: tile draws them in the order the tile holds them.
DRAW_ORDER = (
    "plan_zones",
    "parcels",
    "development_areas",
    "auction_lots",
    "planning_projects",
    "admin_units",
)


def vendor_dir(package: str) -> Path:
    return NODE_MODULES / VENDOR[package]


class _App(JSCSSMixin, MacroElement):
    """landplan.js, started on the map once the tile layer, the switches and the layer
    control exist."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        landplan.start({{ this._parent.get_name() }}, {{ this.grid.get_name() }}, {
        {%- for key, switch in this.overlays.items() %}
            {{ key|tojson }}: {{ switch.get_name() }},
        {%- endfor %}
        }, {{ this.control.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        grid: VectorGridProtobuf,
        overlays: dict[str, Any],
        control: folium.LayerControl,
        config: dict,
        assets: str,
    ):
        super().__init__()
        self.default_js = [
            ("landplan_text", f"{assets}/landplan-text.js"),
            ("landplan", f"{assets}/landplan.js"),
        ]
        self.default_css = [("landplan_css", f"{assets}/landplan.css")]
        self.grid = grid
        self.overlays = overlays
        self.control = control
        self.config = config


def _local(element: Any, assets: str, js: dict[str, str], css: dict[str, str]) -> Any:
    """Point a Folium element's scripts and stylesheets at our copies (no CDN)."""
    element.default_js = [(name, f"{assets}/vendor/{path}") for name, path in js.items()]
    element.default_css = [(name, f"{assets}/vendor/{path}") for name, path in css.items()]
    return element


def _grid_options(collections: list[str]) -> str:
    """VectorGrid options as JavaScript: each MVT layer's style is a function from
    landplan.js, and Folium's dict conversion would camel-case their names."""
    styles = ", ".join(
        f"{json.dumps(c)}: landplan.layerStyle({json.dumps(c)})" for c in collections
    )
    plain = {"interactive": False, "maxNativeZoom": MAX_ZOOM, "maxZoom": MAX_ZOOM}
    fields = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in plain.items()]
    fields += [f'"vectorTileLayerStyles": {{{styles}}}', '"rendererFactory": L.canvas.tile']
    return "{" + ", ".join(fields) + "}"


def tile_url(api: str, collections: list[str]) -> str:
    """The map's tile URL for the collections shown, bottom to top (landplan.js changes
    its list when a layer is switched)."""
    return f"{api}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}?collections={','.join(collections)}"


def build(
    registry: Registry,
    settings: MapSettings,
    uses: list[dict[str, str]],
    *,
    api: str = "",
    assets: str = "/static",
) -> str:
    """The map page as HTML.

    ``api`` is the API's address ("" for the page's own origin); ``assets`` where the
    page finds ``landplan.js`` and ``vendor/`` (an absolute path when the app serves it, a
    relative one beside a published page).
    """
    figure = Figure(title="landplan — Bản đồ quy hoạch Cao Bằng", height="100%")
    fmap = folium.Map(
        location=(settings.center_lat, settings.center_lon),
        zoom_start=settings.zoom,
        tiles=None,
        control_scale=False,  # landplan.js adds a metric-only one
        max_zoom=MAX_ZOOM,
    )
    _local(fmap, assets, {"leaflet": "leaflet/leaflet.js"}, {"leaflet_css": "leaflet/leaflet.css"})
    figure.add_child(fmap)
    basemap = settings.basemap_tiles()
    if basemap is not None:
        url, attribution = basemap
        folium.TileLayer(
            url, attr=attribution, name="basemap", max_zoom=MAX_ZOOM, control=False
        ).add_to(fmap)
    # One tile layer draws every overlay, on one canvas per tile, from one request per
    # tile; the overlays in the layer control are switches landplan.js reads (a canvas
    # and a request per overlay took the first view from 1.58 to 2.27 s: benchmarks.md).
    order = [c for c in DRAW_ORDER if c in registry]
    shown = [c for c in order if any(o.show for o in OVERLAYS if o.collection == c)]
    grid = VectorGridProtobuf(
        tile_url(api, shown), name="landplan", options=_grid_options(order), control=False
    )
    _local(grid, assets, {"vectorGrid": "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"}, {})
    grid.add_to(fmap)
    overlays = {o.key: folium.FeatureGroup(name=o.key, show=o.show).add_to(fmap) for o in OVERLAYS}
    measure = MeasureControl(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="sqmeters",
        secondary_area_unit="hectares",
    )
    _local(
        measure,
        assets,
        {"leaflet_measure_js": "leaflet-measure/leaflet-measure.min.js"},
        {"leaflet_measure_css": "leaflet-measure/leaflet-measure.css"},
    )
    measure.add_to(fmap)
    locate = LocateControl(
        position="topleft", flyTo=True, showPopup=False, locateOptions={"maxZoom": 17}
    )
    _local(
        locate,
        assets,
        {"Control_locate_min_js": "leaflet.locatecontrol/L.Control.Locate.min.js"},
        {"Control_locate_min_css": "leaflet.locatecontrol/L.Control.Locate.min.css"},
    )
    locate.add_to(fmap)
    control = folium.LayerControl(position="topright", collapsed=True)
    control.add_to(fmap)
    config = {
        "api": api,
        "landUses": uses,
        "overlays": {o.key: o.collection for o in OVERLAYS},
        "drawOrder": order,
    }
    fmap.add_child(_App(grid, overlays, control, config, assets))
    figure.header.add_child(Element(f'<link rel="icon" href="{assets}/favicon.svg"/>'))
    return figure.render()


#: Files of the vendor packages that a published page never loads.
UNUSED = shutil.ignore_patterns("*.map", "*-src.js", "*.esm.js", "*.html", "*.mapbox.*")


def publish(html: str, out: Path) -> list[Path]:
    """Write a map page and every asset it uses to ``out`` (a static site); returns the
    files written."""
    static = out / "static"
    if static.exists():
        shutil.rmtree(static)
    shutil.copytree(OWN_ASSETS, static)
    for package in VENDOR:
        shutil.copytree(vendor_dir(package), static / "vendor" / package, ignore=UNUSED)
    (out / "index.html").write_text(html, encoding="utf-8")
    return sorted(p for p in out.rglob("*") if p.is_file())
