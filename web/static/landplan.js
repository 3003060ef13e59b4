/* landplan's public map: layer styles, legend, "what is planned here?" popups, search,
 * the available-land panel and the Vietnamese / English switch.
 *
 * The page is built by Folium (api/webmap.py): one vector-tile layer draws every overlay
 * (landplan.layerStyle gives each MVT layer's features to their overlay), and the
 * overlays in the layer control are switches. landplan.start(...) runs once they exist.
 * Everything comes from the landplan API (config.api, "" for the page's own origin).
 */
(function () {
  "use strict";

  const TEXT = window.landplanText;

  const LEVEL_COLOURS = { general: "#b2182b", zoning: "#2166ac", detailed: "#6a3d9a" };
  const LOT_STYLES = {
    planned: { color: "#e6550d", weight: 1.5, dashArray: "4 3", fillColor: "#fdd0a2", fillOpacity: 0.3 },
    announced: { color: "#d7191c", weight: 3, fillColor: "#ff7f00", fillOpacity: 0.75 },
    auctioned: { color: "#8c6d31", weight: 1, fillColor: "#d9d9d9", fillOpacity: 0.4 },
    sold: { color: "#636363", weight: 1, fillColor: "#bdbdbd", fillOpacity: 0.4 },
    cancelled: { color: "#969696", weight: 1, dashArray: "2 3", fillOpacity: 0 },
  };
  const AREA_STYLE = { color: "#1b7837", weight: 2, dashArray: "6 4", fillColor: "#a6dba0", fillOpacity: 0.12 };
  const WARD_STYLE = { color: "#252525", weight: 2.5, fill: false };
  const OLD_UNIT_STYLE = { color: "#8c510a", weight: 1.5, dashArray: "2 4", fill: false };
  const HIDDEN = [];

  const state = {
    lang: "vi",
    config: null,
    map: null,
    grid: null,
    overlays: {}, // key -> its switch in the layer control
    visible: new Set(),
    control: null,
    colours: {},
    drawn: {},
  };

  function t(key) {
    const words = TEXT[state.lang];
    return key in words ? words[key] : key;
  }

  function fill(style) {
    return Object.assign({ fill: true, stroke: true }, style);
  }

  /* Which overlay a feature of an MVT layer belongs to. */
  const OVERLAY_OF = {
    planning_projects: (p) => `plans_${p.level}`,
    admin_units: (p) => (p.valid_to ? "units_before_2025" : "wards"),
    plan_zones: () => "zones",
    parcels: () => "parcels",
    auction_lots: () => "lots",
    development_areas: () => "development_areas",
  };
  const styles = {};

  /* The VectorGrid style of one MVT layer: each feature drawn in its overlay's style if
   * that overlay is switched on, else not at all. Drawn features are counted per overlay
   * (landplan.drawn(key)). */
  function layerStyle(collection) {
    const overlayOf = OVERLAY_OF[collection] || (() => collection);
    return (properties, zoom) => {
      const key = overlayOf(properties);
      if (!state.visible.has(key)) return HIDDEN;
      styles[key] ??= styleOf(key);
      const chosen = styles[key](properties, zoom);
      if (chosen !== HIDDEN) state.drawn[key] = (state.drawn[key] || 0) + 1;
      return chosen;
    };
  }

  function styleOf(key) {
    if (key.startsWith("plans_")) {
      const level = key.slice("plans_".length);
      return (p) =>
        p.level === level ? { color: LEVEL_COLOURS[level], weight: level === "general" ? 3 : 2, fill: false } : HIDDEN;
    }
    switch (key) {
      case "zones":
        return (p) => fill({ color: "#7a7a7a", weight: 0.6, fillColor: colour(p.land_use_code), fillOpacity: 0.6 });
      case "parcels":
        return (p) => fill({ color: "#525252", weight: 0.6, fillColor: colour(p.land_use_code), fillOpacity: 0.2 });
      case "lots":
        return (p) => fill(LOT_STYLES[p.status] || LOT_STYLES.planned);
      case "development_areas":
        return () => fill(AREA_STYLE);
      case "wards":
        return (p) => (p.valid_to ? HIDDEN : WARD_STYLE);
      case "units_before_2025":
        return (p) => (p.valid_to ? OLD_UNIT_STYLE : HIDDEN);
      default:
        return () => ({ color: "#3182bd", weight: 1 });
    }
  }

  function colour(code) {
    return state.colours[code] || "#cccccc";
  }

  /* --- small helpers ----------------------------------------------------------------- */

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  function api(path, params) {
    const url = new URL(state.config.api + path, window.location.href);
    for (const [name, value] of Object.entries(params || {})) url.searchParams.set(name, value);
    return url.toString();
  }

  async function getJSON(path, params) {
    const response = await fetch(api(path, params), { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} ${path}`);
    return response.json();
  }

  const formats = {};

  /* Numbers as the reader writes them (1.234,5 in Vietnamese); formatters are made once:
   * toLocaleString builds one per call. */
  function number(value, digits) {
    const key = `${state.lang}:${digits ?? 1}`;
    formats[key] ??= new Intl.NumberFormat(state.lang === "vi" ? "vi-VN" : "en-GB", {
      maximumFractionDigits: digits ?? 1,
    });
    return formats[key].format(Number(value));
  }

  function day(iso) {
    if (!iso) return null;
    const [y, m, d] = iso.split("-").map(Number);
    const when = new Date(Date.UTC(y, m - 1, d));
    return state.lang === "vi"
      ? `${String(d).padStart(2, "0")}/${String(m).padStart(2, "0")}/${y}`
      : when.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  }

  function money(vnd) {
    return `${number(vnd / 1e6, 1)} ${t("million")}`;
  }

  function landUseName(code) {
    const use = state.config.landUses.find((u) => u.code === code);
    return use ? `${use[state.lang]} (${code})` : code;
  }

  function rows(pairs) {
    const table = el("table", { class: "lp-fields" });
    for (const [label, value] of pairs) {
      if (value === null || value === undefined || value === "") continue;
      table.append(el("tr", {}, el("th", { text: label }), el("td", { text: String(value) })));
    }
    return table;
  }

  function bboxBounds(bbox) {
    return L.latLngBounds([bbox[1], bbox[0]], [bbox[3], bbox[2]]);
  }

  /* --- "what is planned here?" ------------------------------------------------------- */

  function zoneBlock(zone) {
    const plan = zone.plan;
    const decision = plan.decision_number
      ? `${plan.decision_number} (${[day(plan.decision_date), plan.decision_authority].filter(Boolean).join(", ")})`
      : null;
    return el(
      "div",
      { class: "lp-zone" },
      el("div", { class: "lp-plan", text: plan.name }),
      rows([
        [t("zone"), zone.zone_code],
        [t("function"), zone.function_name],
        [t("landUseOf"), landUseName(zone.land_use_code)],
        [t("coverage"), zone.max_coverage_pct != null ? `${number(zone.max_coverage_pct)} %` : null],
        [t("far"), zone.floor_area_ratio != null ? number(zone.floor_area_ratio, 2) : null],
        [t("floors"), zone.max_floors],
        [t("height"), zone.max_height_m != null ? `${number(zone.max_height_m)} m` : null],
        [t("setback"), zone.setback_m != null ? `${number(zone.setback_m)} m` : null],
        [t("decision"), decision],
      ]),
    );
  }

  function lookupContent(found) {
    const box = el("div", { class: "lp-popup" });
    const unit = found.admin_unit.current;
    const before = found.admin_unit.before_2025;
    if (!unit && !found.parcel && !Object.values(found.planning).some((z) => z.length)) {
      box.append(el("p", { text: t("outside") }));
      return box;
    }
    if (unit) {
      box.append(rows([[t("unit"), unit.name], [t("unitBefore"), before ? before.name : null]]));
    }
    const parcel = found.parcel;
    if (parcel) {
      box.append(el("h4", { text: t("parcel") }));
      box.append(
        rows([
          [t("sheet"), parcel.map_sheet],
          [t("number"), parcel.parcel_number],
          [t("landUseOf"), landUseName(parcel.land_use_code)],
          [t("legalArea"), `${number(parcel.legal_area_m2)} m²`],
          [t("measuredArea"), `${number(parcel.geom_area_m2)} m²`],
          [t("certificate"), t(`cert_${parcel.certificate_status}`)],
          [t("address"), parcel.address],
        ]),
      );
      const path = `/parcels/${parcel.unit_code}/${parcel.map_sheet}/${parcel.parcel_number}/extract`;
      box.append(
        el("a", { class: "lp-extract", href: api(path, { lang: state.lang }), target: "_blank", text: t("extract") }),
      );
    }
    box.append(el("h4", { text: t("planning") }));
    let any = false;
    for (const level of ["general", "zoning", "detailed"]) {
      const zones = found.planning[level] || [];
      if (!zones.length) continue;
      any = true;
      box.append(el("h5", { text: t(`level_${level}`) }));
      for (const zone of zones) box.append(zoneBlock(zone));
    }
    if (!any) box.append(el("p", { class: "lp-muted", text: t("noPlan") }));
    const lot = found.auction_lot;
    if (lot) {
      box.append(el("h4", { text: `${t("lot")} ${lot.lot_code}` }));
      box.append(
        rows([
          [t("status"), t(`lot_${lot.status}`)],
          [t("landUseOf"), landUseName(lot.land_use_code)],
          [t("area"), `${number(lot.area_m2)} m²`],
          [t("startingPrice"), money(lot.starting_price_vnd)],
          [t("auctionDate"), day(lot.auction_date)],
        ]),
      );
    }
    if (found.development_area) {
      box.append(el("h4", { text: t("developmentArea") }));
      box.append(rows([[found.development_area.code, found.development_area.name]]));
    }
    return box;
  }

  async function lookupAt(latlng) {
    const popup = L.popup({ maxWidth: 360, maxHeight: 420, autoPanPadding: [20, 20] })
      .setLatLng(latlng)
      .setContent(el("div", { class: "lp-popup", text: t("loading") }))
      .openOn(state.map);
    try {
      const found = await getJSON("/lookup", { lon: latlng.lng.toFixed(7), lat: latlng.lat.toFixed(7) });
      popup.setContent(lookupContent(found));
    } catch (error) {
      popup.setContent(el("div", { class: "lp-popup", text: t("failed") }));
    }
  }

  /* --- legend ------------------------------------------------------------------------ */

  function swatch(styleOf, label) {
    const s = styleOf;
    const css = [
      `border: ${Math.max(1, Math.min(s.weight || 1, 3))}px ${s.dashArray ? "dashed" : "solid"} ${s.color || "transparent"}`,
      `background: ${s.fill === false ? "transparent" : s.fillColor || "transparent"}`,
      `opacity: ${s.fill === false ? 1 : Math.max(0.6, s.fillOpacity || 0)}`,
    ].join(";");
    return el("li", {}, el("span", { class: "lp-swatch", style: css }), el("span", { text: label }));
  }

  function legendBody() {
    const body = el("div", { class: "lp-legend-body" });
    body.append(el("h4", { text: t("planLevels") }));
    const levels = el("ul");
    for (const level of ["general", "zoning", "detailed"]) {
      levels.append(swatch({ color: LEVEL_COLOURS[level], weight: 3, fill: false }, t(`plans_${level}`)));
    }
    body.append(levels);
    body.append(el("h4", { text: t("auctions") }));
    const lots = el("ul");
    for (const status of Object.keys(LOT_STYLES)) lots.append(swatch(LOT_STYLES[status], t(`lot_${status}`)));
    lots.append(swatch(AREA_STYLE, t("development_areas")));
    body.append(lots);
    body.append(el("h4", { text: t("boundaries") }));
    const units = el("ul");
    units.append(swatch(WARD_STYLE, t("wards")));
    units.append(swatch(OLD_UNIT_STYLE, t("units_before_2025")));
    body.append(units);
    body.append(el("h4", { text: t("landUse") }));
    const uses = el("ul", { class: "lp-uses" });
    for (const use of state.config.landUses) {
      uses.append(swatch({ color: "#7a7a7a", weight: 1, fillColor: use.colour, fillOpacity: 1 }, `${use.code} ${use[state.lang]}`));
    }
    body.append(uses);
    return body;
  }

  function panelControl(className, position) {
    const Control = L.Control.extend({
      options: { position },
      onAdd() {
        const box = L.DomUtil.create("div", `leaflet-control leaflet-bar lp-panel ${className}`);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        // A click that removes its own button (a picked search hit) would otherwise
        // reach the map as a click on the map.
        L.DomEvent.on(box, "click", L.DomEvent.stopPropagation);
        this.box = box;
        return box;
      },
    });
    return new Control();
  }

  /* A panel with a title that opens and closes it (closed on phones at start). */
  function collapsible(box, titleKey, body) {
    const open = window.matchMedia("(min-width: 700px)").matches && box.dataset.open !== "false";
    const toggle = el("button", { class: "lp-toggle", type: "button", "aria-expanded": String(open), text: t(titleKey) });
    toggle.addEventListener("click", () => {
      const now = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(now));
      box.dataset.open = String(now);
    });
    box.dataset.open = String(open);
    box.replaceChildren(toggle, body);
  }

  /* --- search ------------------------------------------------------------------------ */

  function buildSearch(box) {
    const input = el("input", { type: "search", class: "lp-search-input", "aria-label": t("searchPlaceholder"), placeholder: t("searchPlaceholder") });
    const results = el("ul", { class: "lp-results" });
    let timer = null;
    let asked = 0;
    async function run() {
      const q = input.value.trim();
      const ticket = ++asked;
      if (!q) return results.replaceChildren();
      try {
        const found = await getJSON("/search", { q, limit: 10 });
        if (ticket !== asked) return;
        if (!found.hits.length) return results.replaceChildren(el("li", { class: "lp-muted", text: t("nothingFound") }));
        results.replaceChildren(
          ...found.hits.map((hit) =>
            el(
              "li",
              {},
              el("button", { type: "button", class: "lp-hit", onclick: () => pick(hit) },
                el("span", { class: "lp-kind", text: t(`kind_${hit.kind}`) }),
                el("span", { text: hit.title })),
            ),
          ),
        );
      } catch (error) {
        results.replaceChildren(el("li", { class: "lp-muted", text: t("failed") }));
      }
    }
    function pick(hit) {
      const bounds = bboxBounds(hit.bbox);
      state.map.fitBounds(bounds, { maxZoom: hit.kind === "parcel" ? 19 : 17, padding: [20, 20] });
      results.replaceChildren();
      input.value = hit.title;
      if (hit.kind === "parcel") lookupAt(L.latLng(hit.point[1], hit.point[0]));
    }
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(run, 250);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        clearTimeout(timer);
        run().then(() => {
          const first = results.querySelector(".lp-hit");
          if (first) first.click();
        });
      }
    });
    box.replaceChildren(input, results);
  }

  /* --- available land ---------------------------------------------------------------- */

  const lots = { features: [], filter: { use: "", min: "", max: "", price: "" } };

  async function loadLots() {
    const found = await getJSON("/collections/auction_lots/items", { status: "announced", limit: 1000 });
    lots.features = found.features;
  }

  function matching() {
    const f = lots.filter;
    return lots.features.filter((feature) => {
      const p = feature.properties;
      if (f.use && p.land_use_code !== f.use) return false;
      if (f.min !== "" && p.area_m2 < Number(f.min)) return false;
      if (f.max !== "" && p.area_m2 > Number(f.max)) return false;
      if (f.price !== "" && p.starting_price_vnd > Number(f.price) * 1e6) return false;
      return true;
    });
  }

  function buildAvailable(box) {
    const uses = [...new Set(lots.features.map((f) => f.properties.land_use_code))].sort();
    const select = el("select", { name: "land_use", "aria-label": t("landUseOf") }, el("option", { value: "", text: t("all") }));
    for (const code of uses) select.append(el("option", { value: code, text: landUseName(code) }));
    select.value = lots.filter.use;
    const numberInput = (name, label) => {
      const input = el("input", { type: "number", min: "0", name, "aria-label": label, placeholder: label });
      input.value = lots.filter[name];
      return input;
    };
    const min = numberInput("min", t("areaFrom"));
    const max = numberInput("max", t("areaTo"));
    const price = numberInput("price", t("maxPrice"));
    const list = el("ul", { class: "lp-lots" });
    const count = el("div", { class: "lp-muted" });
    function refresh() {
      lots.filter = { use: select.value, min: min.value, max: max.value, price: price.value };
      const shown = matching();
      count.textContent = `${shown.length} ${t("lotsCount")}`;
      list.replaceChildren(
        ...(shown.length ? [] : [el("li", { class: "lp-muted", text: t("noLot") })]),
        ...shown.map((feature) => {
          const p = feature.properties;
          return el(
            "li",
            {},
            el("button", { type: "button", class: "lp-lot", "data-lot": p.lot_code, onclick: () => zoomToLot(feature) },
              el("strong", { text: p.lot_code }),
              el("span", { text: ` ${landUseName(p.land_use_code)} · ${number(p.area_m2)} m² · ${money(p.starting_price_vnd)}` })),
          );
        }),
      );
    }
    for (const input of [select, min, max, price]) input.addEventListener("input", refresh);
    const form = el("div", { class: "lp-filters" },
      el("label", {}, el("span", { text: t("landUseOf") }), select),
      el("label", {}, el("span", { text: t("areaFrom") }), min),
      el("label", {}, el("span", { text: t("areaTo") }), max),
      el("label", {}, el("span", { text: t("maxPrice") }), price));
    collapsible(box, "available", el("div", { class: "lp-body" }, form, count, list));
    refresh();
  }

  function zoomToLot(feature) {
    const shape = L.geoJSON(feature);
    state.map.fitBounds(shape.getBounds(), { maxZoom: 19, padding: [30, 30] });
    lookupAt(shape.getBounds().getCenter());
  }

  /* --- languages --------------------------------------------------------------------- */

  function relabelOverlays() {
    for (const [key, layer] of Object.entries(state.overlays)) {
      state.control.removeLayer(layer);
      state.control.addOverlay(layer, t(key));
    }
  }

  const panels = {};

  /* The measure and locate plugins take their words once, at creation (leaflet-measure
   * has no Vietnamese locale): their fixed labels are set here in the reader's language. */
  const PLUGIN_LABELS = [
    [".leaflet-control-locate a", "title", "locate"],
    [".leaflet-control-measure-toggle", "title", "measureTitle"],
    [".leaflet-control-measure-toggle", "text", "measure"],
    [".leaflet-control-measure h3", "text", "measureTitle"],
    [".leaflet-control-measure .js-start", "text", "measureStart"],
    [".leaflet-control-measure .js-starthelp", "text", "measureHelp"],
    [".leaflet-control-measure .js-cancel", "text", "measureCancel"],
    [".leaflet-control-measure .js-finish", "text", "measureFinish"],
  ];

  /* Replace leaflet-measure's English phrases in its results and popups. */
  function translateMeasure(root) {
    const words = TEXT[state.lang].measureWords;
    const phrases = Object.keys(words).sort((a, b) => b.length - a.length);
    if (!root || !phrases.length) return;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      let text = node.nodeValue;
      for (const phrase of phrases) text = text.split(phrase).join(words[phrase]);
      if (text !== node.nodeValue) node.nodeValue = text;
    }
  }

  if (window.L && L.Control && L.Control.Measure) {
    const updateResults = L.Control.Measure.prototype._updateResults;
    L.Control.Measure.prototype._updateResults = function () {
      updateResults.apply(this, arguments);
      translateMeasure(this.$results);
    };
  }

  function relabelPlugins() {
    const root = state.map.getContainer();
    for (const [selector, what, key] of PLUGIN_LABELS) {
      for (const node of root.querySelectorAll(selector)) {
        if (what === "text") node.textContent = t(key);
        else node.setAttribute(what, t(key));
      }
    }
  }

  function render() {
    document.documentElement.lang = state.lang;
    document.title = t("title");
    relabelOverlays();
    relabelPlugins();
    collapsible(panels.legend.box, "legend", legendBody());
    buildSearch(panels.search.box);
    buildAvailable(panels.available.box);
    panels.language.box.replaceChildren(
      el("button", { type: "button", class: "lp-lang", lang: state.lang === "vi" ? "en" : "vi", onclick: () => setLanguage(state.lang === "vi" ? "en" : "vi"), text: t("switchTo") }),
    );
    state.map.closePopup();
  }

  function setLanguage(lang) {
    state.lang = lang in TEXT ? lang : "vi";
    try {
      window.localStorage.setItem("landplan.lang", state.lang);
    } catch (error) {
      /* private browsing: the choice lasts for this page only */
    }
    render();
  }

  function initialLang() {
    const asked = new URLSearchParams(window.location.search).get("lang");
    let stored = null;
    try {
      stored = window.localStorage.getItem("landplan.lang");
    } catch (error) {
      stored = null;
    }
    const lang = asked || stored || "vi";
    return lang in TEXT ? lang : "vi";
  }

  /* --- permalink: #zoom/lat/lon in the address, to share or bookmark a place ----------- */

  function viewFromHash() {
    const match = /^#(\d{1,2})\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(window.location.hash);
    if (match) state.map.setView([Number(match[2]), Number(match[3])], Number(match[1]), { animate: false });
  }

  function hashFromView() {
    const c = state.map.getCenter();
    const hash = `#${state.map.getZoom()}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`;
    window.history.replaceState(null, "", window.location.pathname + window.location.search + hash);
  }

  /* --- start ------------------------------------------------------------------------- */

  /* The map's tile URL (as api/webmap.py wrote it) asking only for the collections of the
   * overlays switched on, bottom to top. */
  function tileUrl() {
    const wanted = state.config.drawOrder.filter((collection) =>
      Object.entries(state.config.overlays).some(([key, c]) => c === collection && state.visible.has(key)),
    );
    const base = state.grid._url.split("?collections=")[0];
    return wanted.length ? `${base}?collections=${wanted.join(",")}` : null;
  }

  function onSwitch() {
    state.visible = new Set(Object.keys(state.overlays).filter((key) => state.map.hasLayer(state.overlays[key])));
    const url = tileUrl();
    if (!url) return state.map.removeLayer(state.grid);
    if (!state.map.hasLayer(state.grid)) state.grid.addTo(state.map);
    if (url !== state.grid._url) state.grid.setUrl(url);
    else state.grid.redraw();
  }

  function start(map, grid, overlays, control, config) {
    state.map = map;
    state.grid = grid;
    state.overlays = overlays;
    state.control = control;
    state.config = config;
    state.lang = initialLang();
    state.visible = new Set(Object.keys(overlays).filter((key) => map.hasLayer(overlays[key])));
    map.on("overlayadd overlayremove", onSwitch);
    for (const use of config.landUses) state.colours[use.code] = use.colour;
    panels.search = panelControl("lp-search", "topleft").addTo(map);
    panels.language = panelControl("lp-language", "topright").addTo(map);
    panels.available = panelControl("lp-available", "topright").addTo(map);
    panels.legend = panelControl("lp-legend", "bottomright").addTo(map);
    // The search box goes above the zoom buttons.
    const corner = map._controlCorners.topleft;
    corner.insertBefore(panels.search.box, corner.firstChild);
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
    map.on("click", (event) => lookupAt(event.latlng));
    map.on("popupopen", (event) => {
      if (event.popup.options.className === "leaflet-measure-resultpopup") translateMeasure(event.popup.getElement());
    });
    viewFromHash();
    map.on("moveend", hashFromView);
    window.addEventListener("hashchange", viewFromHash);
    render();
    loadLots()
      .then(() => buildAvailable(panels.available.box))
      .catch(() => panels.available.box.append(el("div", { class: "lp-muted", text: t("failed") })));
  }

  window.landplan = {
    layerStyle,
    start,
    setLanguage,
    lookupAt,
    get map() {
      return state.map;
    },
    /* The overlays' switches by key (zones, lots, …), for scripts embedding the map. */
    get overlays() {
      return Object.assign({}, state.overlays);
    },
    /* True while tiles of the current view are still coming. */
    loading() {
      return state.map.hasLayer(state.grid) && state.grid.isLoading();
    },
    /* How many features an overlay has drawn since the page opened. */
    drawn(key) {
      return state.drawn[key] || 0;
    },
    get lang() {
      return state.lang;
    },
  };
})();
