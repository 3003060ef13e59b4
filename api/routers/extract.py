"""The planning-information extract of a parcel (HTML or PDF) and its reopening by code."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from api import extract
from api.deps import ConnectionDep, heavy_slot, in_worker
from api.errors import problems
from api.links import base_url
from api.params import ParcelNumberPath, SheetPath, UnitCodePath
from layers import extracts

router = APIRouter(tags=["lookup"])

PDF = "application/pdf"
FormatParam = Annotated[
    Literal["html", "pdf"] | None, Query(description="html (default) or pdf; or Accept")
]
LangParam = Annotated[Literal["vi", "en"], Query(description="Language of the extract")]
#: The code as printed (groups of four from A–Z and 2–7), dashes and case optional.
CodePath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z2-7]{4}-?[A-Za-z2-7]{4}-?[A-Za-z2-7]{4}$",
        description="Verification code, e.g. TIGA-MNZA-GXAV",
    ),
]


async def _respond(
    request: Request, data: dict[str, Any], code: str, f: str | None, lang: str
) -> Response:
    suffix = "" if lang == "vi" else f"?lang={lang}"
    verify_url = f"{base_url(request)}/extracts/{code}{suffix}"
    html = extract.render_html(data, code, verify_url, lang)
    if (f or ("pdf" if PDF in request.headers.get("accept", "") else "html")) == "html":
        return HTMLResponse(html)
    async with heavy_slot(request):  # a PDF is heavy work too: a worker process, a place
        pdf = await in_worker(request, extract.render_pdf, html, base_url(request))
    p = data["parcel"]
    name = f"trich-luc-{p['unit_code']}-{p['map_sheet']}-{p['parcel_number']}-{code}.pdf"
    return Response(
        pdf, media_type=PDF, headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


@router.get(
    "/parcels/{unit}/{sheet}/{number}/extract",
    summary="Planning-information extract of a parcel (HTML or PDF), kept under a "
    "verification code",
    responses={200: {"content": {"text/html": {}, PDF: {}}}, **problems(400, 404, 503)},
)
async def parcel_extract(
    request: Request,
    conn: ConnectionDep,
    unit: UnitCodePath,
    sheet: SheetPath,
    number: ParcelNumberPath,
    f: FormatParam = None,
    lang: LangParam = "vi",
) -> Response:
    data = await extract.gather(conn, unit, sheet, number, extract.today())
    if data is None:
        raise HTTPException(404, f"no parcel {unit}/{sheet}/{number}")
    code = extracts.verification_code(data)
    await conn.execute(extracts.keep(code, data))  # one statement, committed on its own
    return await _respond(request, data, code, f, lang)


@router.get(
    "/extracts/{code}",
    summary="Reopen an extract as it was issued, by its verification code",
    responses={200: {"content": {"text/html": {}, PDF: {}}}, **problems(400, 404, 503)},
)
async def reopen_extract(
    request: Request,
    conn: ConnectionDep,
    code: CodePath,
    f: FormatParam = None,
    lang: LangParam = "vi",
) -> Response:
    plain = code.replace("-", "").upper()
    code = "-".join(plain[i : i + 4] for i in (0, 4, 8))
    data = (await conn.execute(extracts.by_code(code))).scalar_one_or_none()
    if data is None:
        raise HTTPException(404, f"no extract with code {code}")
    return await _respond(request, data, code, f, lang)
