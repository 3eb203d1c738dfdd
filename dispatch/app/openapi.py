"""The OpenAPI 3.1 description of the HTTP API, built from the pydantic body models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from dispatch.adapters.http import OPENAPI_MODELS, OPENAPI_PATHS
from dispatch.adapters.schemas import ActionIn, CallBatchIn, CallIn

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "reason"],
            "properties": {"code": {"type": "string"}, "reason": {"type": "string"}},
        }
    },
}

BODY_MODELS: dict[str, type[BaseModel]] = {
    "CallIn": CallIn,
    "CallBatchIn": CallBatchIn,
    "ActionIn": ActionIn,
}


def _json_body(name: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": "refused",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def openapi_document() -> dict[str, Any]:
    """The whole document (built once at start)."""
    schemas: dict[str, Any] = {"Error": _ERROR}
    for name, model in {**BODY_MODELS, **OPENAPI_MODELS}.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    paths: dict[str, Any] = {
        "/api/v1/calls": {
            "post": {
                "summary": "Ingest a call from any channel; 202 after commit",
                "requestBody": _json_body("CallIn"),
                "responses": {
                    "202": {"description": "committed"},
                    **_errors(400, 401, 403, 413, 415, 422),
                },
            }
        },
        "/api/v1/calls/batch": {
            "post": {
                "summary": "A gateway's batch of calls, committed together; 202 with the acks",
                "requestBody": _json_body("CallBatchIn"),
                "responses": {
                    "202": {"description": "committed: one ack per call, in order"},
                    **_errors(400, 401, 403, 413, 415, 422),
                },
            }
        },
        "/api/v1/calls/{call_id}": {
            "get": {
                "summary": "One call",
                "responses": {"200": {"description": "the call"}, **_errors(403, 404)},
            }
        },
        "/api/v1/incidents": {
            "get": {
                "summary": "Incidents filtered by province, agency, status and since",
                "parameters": [
                    {"name": n, "in": "query", "schema": {"type": "string"}}
                    for n in ("province", "agency", "status", "since", "limit")
                ],
                "responses": {"200": {"description": "incidents"}, **_errors(400, 403)},
            }
        },
        "/api/v1/incidents/{incident_id}": {
            "get": {
                "summary": "One incident and its timeline (an archived one from the log)",
                "responses": {
                    "200": {"description": "the incident; archived: read from the log"},
                    **_errors(403, 404),
                },
            }
        },
        "/api/v1/incidents/{incident_id}/actions": {
            "post": {
                "summary": "An operator's transition",
                "requestBody": _json_body("ActionIn"),
                "responses": {
                    "200": {"description": "committed"},
                    **_errors(400, 403, 404, 409, 422),
                },
            }
        },
        "/api/v1/stream": {
            "get": {
                "summary": "Websocket: snapshot then committed events; ?since=SEQ resumes",
                "responses": {"101": {"description": "switching protocols"}},
            }
        },
        "/healthz": {"get": {"responses": {"200": {"description": "alive"}}}},
        "/readyz": {
            "get": {
                "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}
            }
        },
        "/metrics": {"get": {"responses": {"200": {"description": "Prometheus text"}}}},
        **OPENAPI_PATHS,
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "ng112", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
