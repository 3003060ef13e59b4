"""``POST /imports``: the import of ``landplan import`` over HTTP, for staff.

Staff credentials of a role that writes some layer are checked before the body is read
(api/staff/rules.py), the layer's own writers once the form names it; an account limited
to units imports only there, and ``Landplan-Reason`` says why. Uploads are limited to
``LANDPLAN_MAX_UPLOAD_MB`` (413 beyond, checked as the body streams in), saved to a
temporary directory and imported exactly as the CLI does: one transaction, a report,
nothing written when a finding is an error (422 with the report).

A big file takes minutes (a million parcels: three), longer than proxies keep a request
open. With ``Prefer: respond-async`` (RFC 7240) the answer is at once: ``202 Accepted``
and a ``Location``, ``/imports/{id}``, that tells the import's phase and progress and,
when it is done, its outcome and report. Jobs live in the server's memory (the last
:data:`KEPT_JOBS`): a restart forgets them (an import it cut short was never
committed), and with several worker processes (``landplan serve --workers``) a job is
known only to the one that runs it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import sync_engine
from api.errors import PROBLEM_JSON, BadRequest, problems
from api.params import DECISION_HEADER, DOSSIER_HEADER, REASON_HEADER, reason
from api.settings import Settings
from api.staff.auth import principal
from api.staff.rules import may_write
from gis.errors import GISError
from layers.editing import Grounds
from layers.imports import TARGETS, Report, import_as

LOG = logging.getLogger(__name__)
JSON = "application/json"
#: Findings listed in a response (the counts by rule cover all of them); the CLI writes
#: every one to its report files.
MAX_FINDINGS = 1000
#: Finished and running import jobs remembered for GET /imports/{id}.
KEPT_JOBS = 100


@dataclass
class Job:
    """An import running in the background, as GET /imports/{id} shows it."""

    id: str
    layer: str
    file: str
    status: str = "running"  # then: imported, importable (dry run), refused, failed
    phase: str = "read"
    read: int = 0
    total: int | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    detail: str | None = None
    report: dict[str, Any] | None = None

    def progress(self, phase: str, done: int, total: int | None) -> None:
        self.phase, self.read = phase, done
        if total is not None:
            self.total = total

    def finish(self, report: Report) -> None:
        self.report = report.as_dict(limit=MAX_FINDINGS)
        if report.refused:
            self.status = "refused"
        else:
            self.status = "importable" if report.dry_run else "imported"
        self.finished = time.time()

    def fail(self, detail: str) -> None:
        self.status, self.detail, self.finished = "failed", detail, time.time()

    def as_dict(self) -> dict[str, Any]:
        body = {
            "id": self.id,
            "layer": self.layer,
            "file": self.file,
            "status": self.status,
            "phase": self.phase,
            "read": self.read,
            "total": self.total,
            "started": _iso(self.started),
            "finished": _iso(self.finished) if self.finished else None,
            "links": [{"rel": "self", "type": JSON, "href": f"/imports/{self.id}"}],
        }
        if self.detail is not None:
            body["detail"] = self.detail
        if self.report is not None:
            body["report"] = self.report
        return body


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def router(settings: Settings) -> APIRouter:
    """The imports router; the upload limit comes from the settings."""
    routes = APIRouter(tags=["imports"])

    @routes.post(
        "/imports",
        summary="Validate an uploaded file and import it into a layer (staff)",
        max_body_size=settings.server.max_upload_mb * 1024 * 1024,
        responses={
            200: {"description": "Imported, or importable with dry_run; the report"},
            202: {"description": "Started in the background (Prefer: respond-async)"},
            **problems(400, 401, 403, 413, 415, 422, 503),
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
        if layer not in TARGETS:
            raise BadRequest("layer", f"not importable; importable: {', '.join(TARGETS)}")
        who = principal(request)
        if not may_write(who, layer):
            raise HTTPException(
                403, f"the role {who.role if who else 'of nobody'} does not write {layer}"
            )
        tmp = Path(tempfile.mkdtemp(prefix="landplan-import-"))
        try:
            main = _save(files, tmp / "data")
            mapping_path = None
            if mapping is not None:
                mapping_path = tmp / "mapping.yaml"
                with mapping_path.open("wb") as out:
                    shutil.copyfileobj(mapping.file, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        options: dict[str, Any] = {
            "source_layer": source_layer,
            "crs": crs,
            "encoding": encoding,
            "mapping": mapping_path,
            "fix": fix,
            "dry_run": dry_run,
        }
        engine = sync_engine(request)
        headers = request.headers
        as_who = (who.name if who else "", reason(headers.get(REASON_HEADER)))
        options["grounds"] = Grounds(
            decision=reason(headers.get(DECISION_HEADER), DECISION_HEADER),
            dossier=reason(headers.get(DOSSIER_HEADER), DOSSIER_HEADER),
        )
        options["units"] = who.units if who else ()
        if "respond-async" in request.headers.get("prefer", ""):
            job = Job(uuid.uuid4().hex, layer, main.name)
            _remember(request, job)
            work = _work(job, engine, as_who, main, layer, options, tmp)
            task = asyncio.get_running_loop().create_task(work)
            running: set[asyncio.Task] = request.app.state.import_tasks
            running.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(running.discard)
            return Response(
                orjson.dumps(job.as_dict()),
                status_code=202,
                media_type=JSON,
                headers={"Location": f"/imports/{job.id}", "Preference-Applied": "respond-async"},
            )
        try:
            report = await run_in_threadpool(import_as, engine, *as_who, main, layer, **options)
        except GISError as exc:
            raise BadRequest("files", str(exc)) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
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

    @routes.get(
        "/imports/{job_id}",
        summary="The phase, progress and outcome of an import started with respond-async",
        responses=problems(401, 403, 404),
    )
    async def import_status(request: Request, job_id: str) -> Response:
        job = _jobs(request).get(job_id)
        if job is None:
            raise HTTPException(404, f"no import {job_id!r}: unknown, or forgotten")
        return Response(orjson.dumps(job.as_dict()), media_type=JSON)

    return routes


async def _work(
    job: Job,
    engine: Any,
    as_who: tuple[str, str | None],
    main: Path,
    layer: str,
    options: dict[str, Any],
    tmp: Path,
) -> None:
    """Run an import for ``job`` in a worker thread; whatever happens, say so in the job."""
    try:
        report = await run_in_threadpool(
            import_as, engine, *as_who, main, layer, progress=job.progress, **options
        )
        job.finish(report)
    except GISError as exc:
        job.fail(str(exc))
    except Exception as exc:  # the job must end, and say why, whatever broke
        job.fail(f"the import failed: {type(exc).__name__}; the server's log has the cause")
        LOG.exception("import %s of %s failed", job.id, job.file)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _jobs(request: Request) -> OrderedDict[str, Job]:
    state = request.app.state
    if getattr(state, "import_jobs", None) is None:
        state.import_jobs = OrderedDict()
        state.import_tasks = set()
    return state.import_jobs


def _remember(request: Request, job: Job) -> None:
    jobs = _jobs(request)
    jobs[job.id] = job
    while len(jobs) > KEPT_JOBS:
        jobs.popitem(last=False)


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
