"""The OpenAPI document as the API behaves: bad input is a 400 problem, never FastAPI's
422 validation error; collection ids are the registry's; examples are real places."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import PROBLEM_SCHEMA, problems
from layers.registry import Registry
from layers.tiles import MAX_ZOOM

#: Examples of path parameters FastAPI cannot carry on the lean tile routes
#: (api/routing.py): a tile over Cao Bằng's centre, at street zoom.
PATH_EXAMPLES = {"z": 15, "x": 26056, "y": 14264}


def install(app: FastAPI, registry: Registry) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            _rewrite(document, registry)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _rewrite(document: dict[str, Any], registry: Registry) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    bad_request = problems(400)[400]
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses and "HTTPValidationError" in str(responses["422"]):
                del responses["422"]
                responses.setdefault("400", bad_request)
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "path":
                    continue
                if parameter["name"] == "collection_id":
                    parameter["schema"] = {"type": "string", "enum": list(registry)}
                elif parameter["name"] in PATH_EXAMPLES:
                    name = parameter["name"]
                    parameter["schema"]["examples"] = [PATH_EXAMPLES[name]]
                    parameter["schema"]["minimum"] = 0
                    if name == "z":
                        parameter["schema"]["maximum"] = MAX_ZOOM
