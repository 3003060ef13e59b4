"""``POST /imports``: the import of ``landplan import`` over HTTP, for staff.

Until staff accounts exist, the endpoint answers requests from the machine itself
(loopback) or bearing ``LANDPLAN_ADMIN_TOKEN``; everyone else gets a 403. Uploads are
limited to ``LANDPLAN_MAX_UPLOAD_MB`` (413 beyond, checked as the body streams in), saved
to a temporary directory and imported exactly as the CLI does: one transaction, a
report, nothing written when a finding is an error (422 with the report).
"""

from __future__ import annotations

import hmac
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import orjson
from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import create_engine

from api.errors import PROBLEM_JSON, BadRequest
from api.settings import Settings
from gis.errors import GISError
from layers.imports import TARGETS, run_import

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
JSON = "application/json"
#: Findings listed in a response (the counts by rule cover all of them); the CLI writes
#: every one to its report files.
MAX_FINDINGS = 1000


def _allowed(request: Request, settings: Settings) -> bool:
    token = settings.server.admin_token
    header = request.headers.get("authorization", "")
    if token is not None and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].encode(), token.get_secret_value().encode())
    return request.client is not None and request.client.host in LOOPBACK


def router(settings: Settings) -> APIRouter:
    """The imports router; the upload limit comes from the settings."""
    routes = APIRouter(tags=["imports"])

    @routes.post(
        "/imports",
        summary="Validate an uploaded file and import it into a layer (staff)",
        max_body_size=settings.server.max_upload_mb * 1024 * 1024,
        responses={
            200: {"description": "Imported, or importable with dry_run; the report"},
            400: {"description": "The file cannot be imported as sent"},
            403: {"description": "Not from this machine and no valid token"},
            413: {"description": "Upload larger than the limit"},
            422: {"description": "Refused by validation; the report says why"},
        },
    )
    async def create_import(
        request: Request,
        files: Annotated[
            list[UploadFile],
            File(description="The file; a Shapefile as .zip or as its .shp, .dbf, .shx, .prj…"),
        ],
        layer: Annotated[str, Form(description=f"One of: {', '.join(TARGETS)}")],
        source_layer: Annotated[str | None, Form()] = None,
        crs: Annotated[str | None, Form()] = None,
        encoding: Annotated[str | None, Form()] = None,
        mapping: Annotated[
            UploadFile | None,
            File(description="A mapping YAML file (fields, constants, values), as --mapping"),
        ] = None,
        fix: Annotated[bool, Form()] = False,
        dry_run: Annotated[bool, Form()] = False,
    ) -> Response:
        if not _allowed(request, settings):
            raise HTTPException(403, "imports are open to staff: from this machine or with a token")
        if layer not in TARGETS:
            raise BadRequest("layer", f"not importable; importable: {', '.join(TARGETS)}")
        with tempfile.TemporaryDirectory(prefix="landplan-import-") as tmp:
            main = _save(files, Path(tmp) / "data")
            mapping_path = None
            if mapping is not None:
                mapping_path = Path(tmp) / "mapping.yaml"
                with mapping_path.open("wb") as out:
                    shutil.copyfileobj(mapping.file, out)
            engine = _engine(request)
            try:
                report = await run_in_threadpool(
                    run_import,
                    engine,
                    main,
                    layer,
                    source_layer=source_layer,
                    crs=crs,
                    encoding=encoding,
                    mapping=mapping_path,
                    fix=fix,
                    dry_run=dry_run,
                )
            except GISError as exc:
                raise BadRequest("files", str(exc)) from None
        body = report.as_dict(limit=MAX_FINDINGS)
        if report.refused:
            problem = {
                "type": "about:blank",
                "title": "Refused by validation",
                "status": 422,
                "detail": f"{report.findings.errors} errors; nothing was written",
                "report": body,
            }
            return Response(orjson.dumps(problem), status_code=422, media_type=PROBLEM_JSON)
        return Response(orjson.dumps(body), media_type=JSON)

    return routes


def _save(files: list[UploadFile], directory: Path) -> Path:
    """Save the uploaded parts; the one to open (.zip, .shp, .gpkg, …)."""
    directory.mkdir()
    saved = []
    for upload in files:
        name = Path(upload.filename or "upload").name  # never a path from the client
        if not name or name in (".", ".."):
            raise BadRequest("files", "an uploaded file has no usable name")
        target = directory / name
        with target.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        saved.append(target)
    mains = [p for p in saved if p.suffix.lower() not in (".dbf", ".shx", ".prj", ".cpg", ".qmd")]
    if len(mains) != 1:
        raise BadRequest("files", "send one dataset: a .zip, or a .shp with its parts, or one file")
    return mains[0]


def _engine(request: Request):
    """A synchronous engine for imports (COPY and the checks run on one connection)."""
    state = request.app.state
    if getattr(state, "import_engine", None) is None:
        state.import_engine = create_engine(
            state.settings.database.sqlalchemy_url(), pool_size=2, max_overflow=0
        )
    return state.import_engine
