"""The parcel's planning-information extract: HTML, PDF, and reopening by its code."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, func, select, update

from api.extract import today
from layers.land_use import LandUseCode
from layers.parcels import Parcel
from layers.plan_zones import PlanZone
from layers.planning_projects import PlanningProject, is_public

CODE = re.compile(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="module")
def parcel(engine):
    """A parcel under zones of two public plans (the city's and a commune's general plan:
    the demo's finer plans are not approved yet), with what it overlaps."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                Parcel.id,
                Parcel.unit_code,
                Parcel.map_sheet,
                Parcel.parcel_number,
                Parcel.legal_area_m2,
                Parcel.land_use_code,
                Parcel.certificate_status,
            )
            .join(PlanZone, func.ST_Within(Parcel.geom, PlanZone.geom))
            .join(PlanningProject, PlanningProject.id == PlanZone.project_id)
            .where(is_public(PlanningProject.__table__), PlanningProject.code != "CB-QHC-2017")
            .order_by(Parcel.id)
            .limit(1)
        ).one()
        zones = conn.execute(
            select(
                PlanZone.id,
                PlanZone.zone_code,
                PlanZone.max_floors,
                PlanningProject.name,
                PlanningProject.decision_number,
                PlanningProject.level,
            )
            .join(PlanningProject, PlanningProject.id == PlanZone.project_id)
            .join(Parcel, func.ST_Intersects(Parcel.geom, PlanZone.geom))
            .where(Parcel.id == row.id, is_public(PlanningProject.__table__))
        ).all()
        use = conn.execute(
            select(LandUseCode.name_vi, LandUseCode.name_en).where(
                LandUseCode.code == row.land_use_code
            )
        ).one()
    return {"row": row, "zones": zones, "use": use}


def path_of(row) -> str:
    return f"/parcels/{row.unit_code}/{row.map_sheet}/{row.parcel_number}/extract"


def test_html_extract_has_identity_areas_zones_decisions_and_a_map(client, parcel):
    row = parcel["row"]
    response = client.get(path_of(row))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "Trích lục thông tin quy hoạch thửa đất" in html
    assert f"Tờ bản đồ số {row.map_sheet}, Thửa đất số {row.parcel_number}" in html
    assert parcel["use"].name_vi in html
    assert {"none": "Chưa cấp", "pending": "Đang giải quyết", "issued": "Đã cấp"}[
        row.certificate_status
    ] in html
    assert len({z.name for z in parcel["zones"]}) == 2
    for zone in parcel["zones"]:
        assert f"<td>{zone.zone_code}</td>" in html
        assert zone.name in html
        if zone.decision_number:
            assert zone.decision_number in html
    assert re.findall(r"<h3>([^<]+)</h3>", html) == ["Quy hoạch chung"]
    assert html.count("<svg") == 1 and 'stroke="#d7191c"' in html
    assert f"Ngày trích lục: <strong>{today().strftime('%d/%m/%Y')}</strong>" in html
    assert CODE.search(html)


def test_overlap_shares_add_up_to_the_whole_parcel_per_plan(client, parcel):
    """Each plan's zones tile its area: the parcel's shares of one plan sum to 100 %."""
    html = client.get(path_of(parcel["row"]), params={"lang": "en"}).text
    for table in html.split('<table class="zones">')[1:]:
        shares = re.findall(r'<span class="note">([\d.]+) %</span>', table.split("</table>")[0])
        assert shares and abs(sum(float(s) for s in shares) - 100) < 0.5


def test_pdf_extract_reads_back_with_its_diacritics(client, parcel):
    row = parcel["row"]
    response = client.get(path_of(row), params={"f": "pdf"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    assert "Trích lục thông tin quy hoạch thửa đất" in text
    assert "Thông tin quy hoạch" in text and "Giấy chứng nhận quyền sử dụng đất" in text
    assert parcel["use"].name_vi in text
    for zone in parcel["zones"]:
        assert zone.zone_code in text
    code = CODE.search(client.get(path_of(row)).text).group()
    assert code in text
    assert code in response.headers["content-disposition"]
    # The glyphs come from an embedded font that has them (DejaVu), not a fallback.
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in PdfReader(io.BytesIO(response.content)).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts and all("DejaVu" in name for name in fonts)


def test_accept_header_chooses_pdf(client, parcel):
    response = client.get(path_of(parcel["row"]), headers={"Accept": "application/pdf"})
    assert response.headers["content-type"] == "application/pdf"


def test_english_extract(client, parcel):
    html = client.get(path_of(parcel["row"]), params={"lang": "en"}).text
    assert "Planning-information extract for a land parcel" in html
    assert parcel["use"].name_en in html
    assert "Trích lục" not in html


def test_the_code_reopens_the_extract_as_issued(client, parcel, database_url):
    """Reissued after a plan changed, the extract gets a new code; the old code still
    opens the old extract."""
    row = parcel["row"]
    zone = parcel["zones"][0]
    first = client.get(path_of(row)).text
    code = CODE.search(first).group()
    assert client.get(path_of(row)).text == first  # same day, same data: same extract
    reopened = client.get(f"/extracts/{code}")
    assert reopened.status_code == 200 and reopened.text == first
    assert client.get(f"/extracts/{code.lower()}").text == first
    assert client.get(f"/extracts/{code.replace('-', '')}").text == first

    engine = create_engine(database_url)
    changed_floors = (zone.max_floors or 0) + 7
    try:
        with engine.begin() as conn:
            conn.execute(
                update(PlanZone).where(PlanZone.id == zone.id).values(max_floors=changed_floors)
            )
        second = client.get(path_of(row)).text
        new_code = CODE.search(second).group()
        assert new_code != code
        assert f'<td class="num">{changed_floors}</td>' in second
        assert client.get(f"/extracts/{code}").text == first
        assert f'<td class="num">{changed_floors}</td>' not in first
    finally:
        with engine.begin() as conn:
            conn.execute(
                update(PlanZone).where(PlanZone.id == zone.id).values(max_floors=zone.max_floors)
            )
        engine.dispose()
    pdf = client.get(f"/extracts/{code}", params={"f": "pdf"})
    assert code in pdf_text(pdf.content)


@pytest.mark.parametrize(
    ("path", "status", "where"),
    [
        ("/parcels/01273/99999/1/extract", 404, "no parcel"),
        ("/parcels/01273/abc/1/extract", 400, "sheet"),
        ("/parcels/01273/17/32/extract?f=docx", 400, "f"),
        ("/parcels/01273/17/32/extract?lang=fr", 400, "lang"),
        ("/extracts/AAAA-BBBB-CCCC", 404, "no extract"),
        ("/extracts/%00", 400, "code"),
        ("/extracts/AAAA-BBBB-CCC1", 400, "code"),
        ("/parcels/01273/17/99999999999/extract", 400, "number"),
        ("/parcels/01273/0/1/extract", 400, "sheet"),
        ("/parcels/1273/17/32/extract", 400, "unit"),
        ("/parcels/01273/17/99999999999/planning", 400, "number"),
    ],
)
def test_bad_requests_are_problems(client, path, status, where):
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert where in response.text
