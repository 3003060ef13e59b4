"""The public map in a real browser: loads clean, draws, answers clicks, searches, lists
land on offer, speaks English, fits a phone, and works as a published static site."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from layers.auction_lots import AuctionLot
from layers.parcels import Parcel
from layers.plan_zones import PlanZone
from layers.planning_projects import PlanningProject
from scripts.localhost import serve_files
from tests.api.test_webmap import publish_map
from tests.web.conftest import open_page


def point_on_surface(conn, column, *where):
    return conn.execute(
        select(func.ST_X(func.ST_PointOnSurface(column)), func.ST_Y(func.ST_PointOnSurface(column)))
        .where(*where)
        .limit(1)
    ).one()


def click_on_map(page, lon: float, lat: float) -> None:
    x, y = page.evaluate(
        f"(() => {{ const p = landplan.map.latLngToContainerPoint([{lat}, {lon}]);"
        " return [p.x, p.y]; })()"
    )
    page.mouse.click(x, y)


def click_at(page, lon: float, lat: float, zoom: int = 17) -> None:
    """Centre the map on a place, let the tiles settle, and click it."""
    page.evaluate(f"landplan.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
    page.wait_for_load_state("networkidle")
    click_on_map(page, lon, lat)


def popup_text(page) -> str:
    page.wait_for_selector(".leaflet-popup-content .lp-popup h4")
    return page.inner_text(".leaflet-popup-content")


@pytest.fixture(scope="module")
def known_zone(engine):
    """A zone of the commune's approved general plan, inside a parcel: a point on it."""
    with engine.connect() as conn:
        zone = conn.execute(
            select(PlanZone.id, PlanZone.zone_code, PlanZone.max_floors, PlanningProject.name)
            .join(PlanningProject, PlanningProject.id == PlanZone.project_id)
            .join(Parcel, func.ST_Intersects(Parcel.geom, PlanZone.geom))
            .where(PlanningProject.code == "CB-QHC-CHUTRINH")
            .order_by(PlanZone.id)
            .limit(1)
        ).one()
        spot = func.ST_PointOnSurface(func.ST_Intersection(Parcel.geom_wgs84, PlanZone.geom_wgs84))
        lon, lat = conn.execute(
            select(func.ST_X(spot), func.ST_Y(spot))
            .select_from(PlanZone)
            .join(Parcel, func.ST_Intersects(Parcel.geom, PlanZone.geom))
            .where(PlanZone.id == zone.id)
            .order_by(func.ST_Area(func.ST_Intersection(Parcel.geom, PlanZone.geom)).desc())
            .limit(1)
        ).one()
    return {"zone": zone, "lon": lon, "lat": lat}


def test_page_loads_clean_from_its_own_host(visit, map_api):
    visit.page.wait_for_function("!landplan.loading()")
    visit.screenshot("map-desktop")
    assert visit.errors == []
    assert visit.failed == []
    assert visit.hosts == {map_api.removeprefix("http://")}
    assert visit.page.evaluate("document.documentElement.lang") == "vi"


def test_layers_draw_features(visit, known_zone):
    page = visit.page
    page.wait_for_load_state("networkidle")
    for key in ("zones", "plans_general", "lots", "wards"):
        assert page.evaluate(f"landplan.drawn('{key}')") > 0, key
    assert page.evaluate("landplan.drawn('parcels')") == 0  # parcels from zoom 15 only
    page.evaluate(
        f"landplan.map.setView([{known_zone['lat']}, {known_zone['lon']}], 17, {{animate: false}})"
    )
    page.wait_for_load_state("networkidle")
    page.wait_for_function("landplan.drawn('parcels') > 0 && !landplan.loading()")
    visit.screenshot("map-parcels-z17")
    assert visit.errors == [] and visit.failed == []


def test_layers_switch_on_and_off(visit):
    page = visit.page
    asked: list[str] = []
    page.on("request", lambda r: "/tiles/" in r.url and asked.append(r.url))
    page.hover(".leaflet-control-layers")
    before = page.evaluate("landplan.drawn('units_before_2025')")
    assert before == 0  # off at start
    page.get_by_label("Phường, xã trước 1/7/2025").check()
    page.wait_for_function("landplan.drawn('units_before_2025') > 0 && !landplan.loading()")
    zones = page.evaluate("landplan.drawn('zones')")
    page.get_by_label("Chức năng sử dụng đất theo quy hoạch").uncheck()
    page.wait_for_function("!landplan.loading()")
    page.wait_for_timeout(300)
    assert page.evaluate("landplan.drawn('zones')") == zones  # redrawn without them
    assert "plan_zones" not in asked[-1] and "admin_units" in asked[-1]
    visit.screenshot("layers-switched")
    assert visit.errors == [] and visit.failed == []


def test_click_on_a_zone_shows_what_is_planned(visit, known_zone):
    zone = known_zone["zone"]
    click_at(visit.page, known_zone["lon"], known_zone["lat"])
    text = popup_text(visit.page)
    visit.screenshot("popup-zone")
    assert "Quy hoạch chung" in text
    assert zone.name in text
    assert f"Ô quy hoạch\t{zone.zone_code}" in text
    if zone.max_floors is not None:
        assert f"Tầng cao tối đa\t{zone.max_floors}" in text
    assert "Thửa đất" in text and "Giấy chứng nhận" in text
    assert re.search(r"Quyết định\t.*\(\d{2}/\d{2}/\d{4}, ", text)  # dates as Vietnamese write them
    extract = visit.page.get_attribute(".lp-extract", "href")
    assert "/extract" in extract
    response = visit.page.request.get(extract)
    assert response.status == 200 and "Trích lục thông tin quy hoạch" in response.text()


def test_search_zooms_to_the_parcel(visit, engine):
    with engine.connect() as conn:
        parcel = conn.execute(
            select(Parcel.map_sheet, Parcel.parcel_number)
            .where(Parcel.unit_code == "01273")
            .order_by(Parcel.id)
            .limit(1)
        ).one()
        lon, lat = point_on_surface(
            conn,
            Parcel.geom_wgs84,
            Parcel.unit_code == "01273",
            Parcel.map_sheet == parcel.map_sheet,
            Parcel.parcel_number == parcel.parcel_number,
        )
    page = visit.page
    box = page.locator(".lp-search-input")
    box.fill(f"{parcel.map_sheet}/{parcel.parcel_number} Hợp Giang")
    page.wait_for_selector(".lp-hit")
    box.press("Enter")
    text = popup_text(page)
    visit.screenshot("search-parcel")
    assert page.evaluate("landplan.map.getZoom()") >= 17
    assert page.evaluate(f"landplan.map.getBounds().contains([{lat}, {lon}])")
    assert f"Thửa số\t{parcel.parcel_number}" in text
    assert f"Tờ bản đồ số\t{parcel.map_sheet}" in text


def test_english_switch_changes_legend_layers_and_popups(visit, known_zone):
    page = visit.page
    legend = page.locator(".lp-legend")
    assert "Chú giải" in legend.inner_text()
    page.click(".lp-lang")
    assert page.evaluate("document.documentElement.lang") == "en"
    text = legend.inner_text()
    assert "Legend" in text and "Plan boundaries" in text and "Open for bidding" in text
    assert "Chú giải" not in text
    layers = page.locator(".leaflet-control-layers-overlays").inner_text()
    assert "Plan zones by land-use function" in layers and "Zoning plans" in layers
    assert page.get_attribute(".lp-search-input", "placeholder").startswith("Find a parcel")
    click_at(page, known_zone["lon"], known_zone["lat"])
    text = popup_text(page)
    assert "General plan" in text and "Zone" in text and "Parcel no." in text
    visit.screenshot("english")
    page.click(".lp-lang")
    assert "Chú giải" in legend.inner_text()


def test_available_land_lists_lots_open_for_bidding(visit, engine):
    with engine.connect() as conn:
        open_lots = conn.execute(
            select(
                AuctionLot.lot_code,
                AuctionLot.land_use_code,
                AuctionLot.area_m2,
                AuctionLot.starting_price_vnd,
            ).where(AuctionLot.status == "announced")
        ).all()
    assert open_lots
    page = visit.page
    page.wait_for_selector(".lp-lot")
    assert page.locator(".lp-lot").count() == len(open_lots)
    use = open_lots[0].land_use_code
    page.select_option(".lp-available select", use)
    shown = page.locator(".lp-lot")
    assert shown.count() == sum(1 for lot in open_lots if lot.land_use_code == use)
    page.fill(".lp-available input[name=min]", "100000000")
    assert page.locator(".lp-lot").count() == 0
    page.fill(".lp-available input[name=min]", "")
    page.select_option(".lp-available select", "")
    prices = sorted(lot.starting_price_vnd for lot in open_lots)
    limit = prices[len(prices) // 2] // 1_000_000  # million đồng, as the panel asks
    page.fill(".lp-available input[name=price]", str(limit))
    assert page.locator(".lp-lot").count() == sum(
        1 for lot in open_lots if lot.starting_price_vnd <= limit * 1_000_000
    )
    page.fill(".lp-available input[name=price]", "")
    areas = sorted(float(lot.area_m2) for lot in open_lots)
    page.fill(".lp-available input[name=max]", str(areas[len(areas) // 2]))
    assert page.locator(".lp-lot").count() == sum(
        1 for lot in open_lots if float(lot.area_m2) <= areas[len(areas) // 2]
    )
    page.fill(".lp-available input[name=max]", "")
    page.select_option(".lp-available select", use)
    first = page.locator(".lp-lot").first
    code = first.get_attribute("data-lot")
    first.click()
    text = popup_text(page)
    assert f"Lô đấu giá {code}" in text and "Đang mời đấu giá" in text
    assert page.evaluate("landplan.map.getZoom()") >= 17


def test_the_address_keeps_the_view(browser, map_api, known_zone):
    lat, lon = round(known_zone["lat"], 5), round(known_zone["lon"], 5)
    visit = open_page(
        browser, f"{map_api}/#17/{lat}/{lon}", viewport={"width": 1280, "height": 800}
    )
    page = visit.page
    try:
        assert page.evaluate("landplan.map.getZoom()") == 17
        assert page.evaluate(f"landplan.map.getCenter().distanceTo([{lat}, {lon}])") < 1
        page.evaluate("landplan.map.setZoom(15, {animate: false})")
        page.wait_for_function("window.location.hash.startsWith('#15/')")
        assert visit.errors == []
    finally:
        page.context.close()


def test_measure_and_locate_controls(browser, map_api):
    here = {"latitude": 22.6657, "longitude": 106.2575}
    visit = open_page(
        browser,
        f"{map_api}/",
        viewport={"width": 1280, "height": 800},
        geolocation=here,
        permissions=["geolocation"],
    )
    page = visit.page
    try:
        page.evaluate("landplan.map.setView([22.70, 106.20], 13, {animate: false})")
        page.click(".leaflet-control-locate a")
        page.wait_for_function(
            "landplan.map.getCenter().distanceTo([22.6657, 106.2575]) < 50", timeout=10_000
        )
        assert page.get_attribute(".leaflet-control-locate a", "title") == "Vị trí của tôi"
        page.hover(".leaflet-control-measure")
        assert "Đo khoảng cách và diện tích" in page.inner_text(".leaflet-control-measure")
        page.click(".leaflet-control-measure .js-start")
        prompt = page.locator(".leaflet-control-measure .js-measuringprompt")
        page.evaluate("landplan.map.setView([22.666, 106.2585], 16, {animate: false})")
        assert prompt.is_visible() and "Kết thúc đo" in prompt.inner_text()
        for lon, lat in ((106.2570, 22.6650), (106.2600, 22.6650), (106.2600, 22.6670)):
            click_on_map(page, lon, lat)
            page.wait_for_timeout(400)
        # Three points: about 308 m east then 222 m north, so a path of ~530 m and a
        # right triangle of ~34,200 m², in the reader's language.
        results = prompt.inner_text()
        path = int(re.search(r"Chiều dài ([\d,]+) m ", results).group(1).replace(",", ""))
        area = int(re.search(r"Diện tích ([\d,]+) m²", results).group(1).replace(",", ""))
        assert 520 <= path <= 540 and 33_500 <= area <= 35_000
        assert "Điểm cuối" in results and "Meters" not in results
        page.click(".leaflet-control-measure .js-finish")
        popup = page.locator(".leaflet-measure-resultpopup")
        assert "Đo diện tích" in popup.inner_text() and "chu vi" in popup.inner_text()
        assert visit.errors == []
    finally:
        page.context.close()


def test_usable_at_phone_width(browser, map_api):
    visit = open_page(
        browser,
        f"{map_api}/",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    page = visit.page
    try:
        visit.screenshot("map-phone")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for selector in (
            ".lp-search-input",
            ".lp-lang",
            ".lp-legend .lp-toggle",
            ".leaflet-control-locate",
            ".leaflet-control-measure",
        ):
            box = page.locator(selector).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
        # Panels start closed on a phone and open on a tap.
        assert page.get_attribute(".lp-legend", "data-open") == "false"
        page.tap(".lp-legend .lp-toggle")
        assert page.get_attribute(".lp-legend", "data-open") == "true"
        assert page.locator(".lp-legend-body").is_visible()
        visit.screenshot("map-phone-legend")
        assert visit.errors == [] and visit.failed == []
    finally:
        page.context.close()


def test_published_static_site_works_against_the_api(
    browser, map_api, site_port, tmp_path, database_url, known_zone
):
    publish_map(database_url, tmp_path, map_api)
    with serve_files(tmp_path, port=site_port) as site:
        visit = open_page(browser, f"{site}/index.html", viewport={"width": 1280, "height": 800})
        try:
            click_at(visit.page, known_zone["lon"], known_zone["lat"])
            assert known_zone["zone"].zone_code in popup_text(visit.page)
            visit.screenshot("published-site")
            assert visit.errors == [] and visit.failed == []
            assert visit.hosts == {site.removeprefix("http://"), map_api.removeprefix("http://")}
        finally:
            visit.page.context.close()
