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
from folium.map import CustomPane
from folium.plugins import LocateControl, MeasureControl, VectorGridProtobuf
from folium.template import Template

from api.settings import PROJECT_ROOT, MapSettings
from layers.base import Layer
from layers.land_use import COLOURS, GROUP_COLOURS
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
    """One switchable layer of the map: a collection's tiles, styled by ``key`` in
    landplan.js (several overlays may share a collection: plans by level)."""

    key: str
    collection: str
    pane: str
    show: bool = True


#: Drawn bottom to top: panes order them whatever order tiles arrive in.
PANES = {"zones": 410, "parcels": 420, "areas": 430, "lots": 440, "plans": 450, "units": 460}
MAX_ZOOM = 20
OVERLAYS = (
    Overlay("zones", "plan_zones", "zones"),
    Overlay("plans_general", "planning_projects", "plans"),
    Overlay("plans_zoning", "planning_projects", "plans"),
    Overlay("plans_detailed", "planning_projects", "plans"),
    Overlay("lots", "auction_lots", "lots"),
    Overlay("development_areas", "development_areas", "areas", show=False),
    Overlay("wards", "admin_units", "units"),
    Overlay("units_before_2025", "admin_units", "units", show=False),
    Overlay("parcels", "parcels", "parcels"),
)


def vendor_dir(package: str) -> Path:
    return NODE_MODULES / VENDOR[package]


class _App(JSCSSMixin, MacroElement):
    """landplan.js, started on the map once every layer and the layer switcher exist."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        landplan.start({{ this._parent.get_name() }}, {
        {%- for key, layer in this.overlays.items() %}
            {{ key|tojson }}: {{ layer.get_name() }},
        {%- endfor %}
        }, {{ this.control.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(
        self, overlays: dict[str, Any], control: folium.LayerControl, config: dict, assets: str
    ):
        super().__init__()
        self.default_js = [
            ("landplan_text", f"{assets}/landplan-text.js"),
            ("landplan", f"{assets}/landplan.js"),
        ]
        self.default_css = [("landplan_css", f"{assets}/landplan.css")]
        self.overlays = overlays
        self.control = control
        self.config = config


def _local(element: Any, assets: str, js: dict[str, str], css: dict[str, str]) -> Any:
    """Point a Folium element's scripts and stylesheets at our copies (no CDN)."""
    element.default_js = [(name, f"{assets}/vendor/{path}") for name, path in js.items()]
    element.default_css = [(name, f"{assets}/vendor/{path}") for name, path in css.items()]
    return element


def _grid_options(layer: Layer, overlay: Overlay, others: list[str]) -> str:
    """VectorGrid options as JavaScript: the style is a function from landplan.js, the
    tile's other layers are not drawn (an empty style list), and Folium's dict conversion
    would camel-case the MVT layers' names (``plan_zones``)."""
    plain = {
        "interactive": False,
        "pane": overlay.pane,
        "minZoom": layer.min_zoom,
        "maxNativeZoom": min(layer.max_zoom, MAX_ZOOM),
        "maxZoom": MAX_ZOOM,
    }
    styles = ", ".join(
        [
            f"{json.dumps(layer.id)}: landplan.style({json.dumps(overlay.key)})",
            *(f"{json.dumps(other)}: []" for other in others if other != layer.id),
        ]
    )
    styles = "{" + styles + "}"
    fields = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in plain.items()]
    fields += [f'"vectorTileLayerStyles": {styles}', '"rendererFactory": L.canvas.tile']
    return "{" + ", ".join(fields) + "}"


def land_uses(rows: list[Any]) -> list[dict[str, str]]:
    """Land-use codes as the page needs them: names in both languages and a colour."""
    return [
        {
            "code": row.code,
            "vi": row.name_vi,
            "en": row.name_en,
            "group": row.land_group,
            "colour": COLOURS.get(row.code, GROUP_COLOURS[row.land_group]),
        }
        for row in rows
    ]


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
    for pane, z_index in PANES.items():
        CustomPane(pane, z_index=z_index, pointer_events=False).add_to(fmap)
    overlays = {}
    for overlay in OVERLAYS:
        layer: Layer = registry[overlay.collection]
        # Every overlay reads the tile of all public layers: one request and one query
        # per tile for the whole map, not one per overlay (the browser's cache gives the
        # same URL to the other overlays). docs/benchmarks.md, "map page".
        grid = VectorGridProtobuf(
            f"{api}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}",
            name=overlay.key,  # landplan.js names it in the reader's language
            options=_grid_options(layer, overlay, list(registry)),
            show=overlay.show,
        )
        _local(
            grid, assets, {"vectorGrid": "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"}, {}
        )
        overlays[overlay.key] = grid.add_to(fmap)
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
    control = folium.LayerControl(position="topright", collapsed=True).add_to(fmap)
    config = {
        "api": api,
        "landUses": uses,
        "overlays": {o.key: o.collection for o in OVERLAYS},
        "minZoom": {o.key: registry[o.collection].min_zoom for o in OVERLAYS},
    }
    fmap.add_child(_App(overlays, control, config, assets))
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
