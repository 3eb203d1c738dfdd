"""eCall over HTTP: ``POST /api/v1/ecall`` (an MSD in) and a case's track (out).

``POST /api/v1/ecall`` takes the MSD as ``application/octet-stream`` (the bytes) or as
``application/json`` ``{"msd_hex": "..."}`` and answers 202 after commit with the same
JSON acknowledgement the MQTT gateway publishes. A malformed MSD is a 422 whose code and
reason are the codec's (``msd_truncated``, ``msd_out_of_range`` ...), never the payload;
every refusal is counted in /metrics.

``GET /api/v1/ecall/incidents/{incident_id}/track`` returns the positions the vehicle
reported for the case, oldest first, for the dashboard to draw.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from dispatch.adapters.http import (
    OPENAPI_MODELS,
    OPENAPI_PATHS,
    ApiError,
    json_response,
    principal_of,
    read_body,
)
from dispatch.model.ids import IncidentId
from ecall.service import MAX_MESSAGE_OCTETS, AckStatus, EcallService

__all__ = ["ECALL_SERVICE", "EcallIn", "add_routes"]

ECALL_SERVICE: Final = web.AppKey("ecall_service", EcallService)

_OCTET_STREAM = "application/octet-stream"
_JSON = "application/json"


class EcallIn(BaseModel):
    """An MSD in hexadecimal (octet 0 is the version; spaces allowed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    msd_hex: str = Field(min_length=1, max_length=3 * MAX_MESSAGE_OCTETS)


async def post_ecall(request: web.Request) -> web.Response:
    """Ingest one MSD; 202 with the ack once committed, 422 with the codec's reason."""
    principal = principal_of(request)
    principal.require_ingest()
    service = request.app[ECALL_SERVICE]
    if request.content_type == _OCTET_STREAM:
        data = await request.read()
    elif request.content_type == _JSON:
        body = await read_body(request, EcallIn)
        try:
            data = bytes.fromhex(body.msd_hex)
        except ValueError:
            raise ApiError(422, "invalid_msd_hex", "msd_hex is not hexadecimal") from None
    else:
        raise ApiError(
            415, "unsupported_media_type", "send application/octet-stream or application/json"
        )
    ack = await service.ingest(data, principal, transport="http")
    if ack.status is AckStatus.REJECTED:
        raise ApiError(422, ack.code or "invalid_msd", ack.reason or "the MSD was refused")
    return json_response(ack.to_json(), 202)


async def get_track(request: web.Request) -> web.Response:
    """The vehicle's reported positions for an eCall case, oldest first."""
    principal = principal_of(request)
    service = request.app[ECALL_SERVICE]
    incident_id = IncidentId(request.match_info["incident_id"])
    case = service.ledger.by_incident.get(incident_id)
    incident = service.engine.state.incidents.get(incident_id)
    if case is None or incident is None:
        raise ApiError(404, "not_found", "no eCall case with that incident id")
    principal.require_read(incident.plate)
    body: dict[str, Any] = {
        "incident_id": case.incident_id,
        "call_id": case.call_id,
        "centre": case.centre,
        "position_can_be_trusted": case.position_can_be_trusted,
        "hazards": list(case.hazards),
        "message_identifiers": list(case.message_identifiers),
        "track": [
            {
                "lat": point.lat,
                "lon": point.lon,
                "source": point.source,
                "message_identifier": point.message_identifier,
            }
            for point in case.track
        ],
    }
    if principal.sees_caller_data:
        body["vin"] = case.vin
    return json_response(body)


_ACK_SCHEMA: Final = {
    "type": "object",
    "required": ["call_id", "incident_id", "message_identifier", "status"],
    "properties": {
        "call_id": {"type": ["string", "null"]},
        "incident_id": {"type": ["string", "null"]},
        "message_identifier": {"type": ["integer", "null"]},
        "status": {"enum": [s.value for s in AckStatus if s is not AckStatus.REJECTED]},
        "original_status": {"enum": ["accepted", "updated", "test"]},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def add_routes(app: web.Application, service: EcallService) -> None:
    """Register the eCall routes and their OpenAPI description."""
    app[ECALL_SERVICE] = service
    app.router.add_post("/api/v1/ecall", post_ecall)
    app.router.add_get("/api/v1/ecall/incidents/{incident_id}/track", get_track)
    OPENAPI_MODELS["EcallIn"] = EcallIn
    OPENAPI_PATHS["/api/v1/ecall"] = {
        "post": {
            "summary": "Ingest an eCall MSD (EN 15722 v1-v3); 202 with the ack after commit",
            "requestBody": {
                "required": True,
                "content": {
                    _OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}},
                    _JSON: {"schema": {"$ref": "#/components/schemas/EcallIn"}},
                },
            },
            "responses": {
                "202": {
                    "description": "committed: accepted, updated, duplicate or test",
                    "content": {_JSON: {"schema": _ACK_SCHEMA}},
                },
                "400": _error("malformed JSON"),
                "401": _error("no credentials"),
                "403": _error("the principal may not submit calls"),
                "413": _error("body too large"),
                "415": _error("neither octet-stream nor JSON"),
                "422": _error("the MSD is malformed; the code names the codec's rejection"),
            },
        }
    }
    OPENAPI_PATHS["/api/v1/ecall/incidents/{incident_id}/track"] = {
        "get": {
            "summary": "The positions an eCall vehicle reported for a case, oldest first",
            "responses": {
                "200": {"description": "the track"},
                "403": _error("outside the principal's province"),
                "404": _error("no eCall case with that id"),
            },
        }
    }
