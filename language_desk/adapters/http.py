"""HTTP routes of the language desk: the hand-back of a case to the province of the incident.

``POST /api/v1/calls/{call_id}/hand-back`` (language-desk operators and administrators):
the desk operator who answered the call gives the incident type and the address (and,
when known, the incident's position); the case goes to the province of the incident with
the caller still attached and the original answer clock. ``/metrics`` gets the desk's
detection counters through ``EXTRA_METRICS``.
"""

from __future__ import annotations

import weakref
from typing import Any

import msgspec
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from dispatch.adapters.http import (
    ENGINE,
    EXTRA_METRICS,
    OPENAPI_MODELS,
    OPENAPI_PATHS,
    ApiError,
    json_response,
    principal_of,
    read_body,
)
from dispatch.model.ids import CallId
from dispatch.model.values import Location
from language_desk.errors import IncompleteCase, NotAtDesk, UnknownDeskCall
from language_desk.service import LanguageDeskService

LANGUAGE_DESK = web.AppKey("language_desk", LanguageDeskService)

_STRICT = ConfigDict(extra="forbid", frozen=True)


class IncidentLocationIn(BaseModel):
    """Where the incident is, as the desk operator established it."""

    model_config = _STRICT

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    radius_m: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)


class HandBackIn(BaseModel):
    """``POST /api/v1/calls/{id}/hand-back``: the structured case for the province."""

    model_config = _STRICT

    incident_type: str = Field(pattern=r"^[a-z_]{2,64}$")
    address: str = Field(min_length=1, max_length=500)
    location: IncidentLocationIn | None = None


async def post_hand_back(request: web.Request) -> web.Response:
    """Hand the desk's case back to the province of the incident."""
    body = await read_body(request, HandBackIn)
    service = request.app[LANGUAGE_DESK]
    location = None
    if body.location is not None:
        location = Location(
            lat=body.location.lat,
            lon=body.location.lon,
            radius_m=body.location.radius_m,
            source="language_desk",
        )
    try:
        case = await service.hand_back(
            CallId(request.match_info["call_id"]),
            incident_type=body.incident_type,
            address=body.address,
            location=location,
            principal=principal_of(request),
        )
    except UnknownDeskCall as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except NotAtDesk as exc:
        raise ApiError(409, "not_at_desk", str(exc)) from None
    except IncompleteCase as exc:
        raise ApiError(422, "incomplete_case", str(exc)) from None
    return json_response({"case": msgspec.to_builtins(case)})


_SERVICES: weakref.WeakKeyDictionary[Any, LanguageDeskService] = weakref.WeakKeyDictionary()


def metrics_lines(service: LanguageDeskService) -> list[str]:
    """Prometheus lines: detections, backlog, skipped calls, invalid hints, failures."""
    rows = (
        (
            "ng112_language_detections_total",
            "counter",
            "Language verdicts committed.",
            service.detections,
        ),
        (
            "ng112_language_detection_backlog",
            "gauge",
            "Calls waiting for detection.",
            service.backlog,
        ),
        (
            "ng112_language_detection_skipped_total",
            "counter",
            "Calls not detected because the backlog was full.",
            service.skipped,
        ),
        (
            "ng112_language_hints_invalid_total",
            "counter",
            "Malformed language hints dropped.",
            service.invalid_hints,
        ),
        (
            "ng112_language_routing_failures_total",
            "counter",
            "Verdicts the log did not commit.",
            service.failures,
        ),
    )
    lines: list[str] = []
    for name, kind, help_text, value in rows:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    return lines


def _extra_metrics(engine: object) -> bytes:
    service = _SERVICES.get(engine)
    if service is None:
        return b""
    return ("\n".join(metrics_lines(service)) + "\n").encode()


def add_routes(app: web.Application, service: LanguageDeskService) -> None:
    """Install the desk's route, metrics and OpenAPI path on ``app``."""
    app[LANGUAGE_DESK] = service
    _SERVICES[app[ENGINE]] = service
    if _extra_metrics not in EXTRA_METRICS:
        EXTRA_METRICS.append(_extra_metrics)
    OPENAPI_MODELS["HandBackIn"] = HandBackIn
    OPENAPI_PATHS["/api/v1/calls/{call_id}/hand-back"] = {
        "post": {
            "summary": "The central desk hands a case back to the province of the incident",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/HandBackIn"}}
                },
            },
            "responses": {
                "200": {"description": "committed: the case and where it went"},
                "403": {"description": "not a desk operator"},
                "404": {"description": "unknown call"},
                "409": {"description": "not at the desk, not answered there, or done"},
                "422": {"description": "incomplete case"},
            },
        }
    }
    app.router.add_post("/api/v1/calls/{call_id}/hand-back", post_hand_back)
