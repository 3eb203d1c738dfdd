"""HTTP routes of the intake channels: CTI gateway events, AML, PIDF-LO, callbacks, apps.

Bodies are checked with pydantic (`extra="forbid"`) or by intake's own codecs; every refusal
answers `{"error": {"code", "reason"}}` with a precise 4xx (429 with `Retry-After` for a
flood), never echoes the input, and is counted in `ng112_rejected{code=...}`. Every 202 is
sent after the commit. Routes:

* `POST /api/v1/phone/events`: one gateway event or a JSON array of up to 100;
* `POST /api/v1/aml`: an AML SMS text (`text/plain`, the sender in `?from=`) or the HTTPS form;
* `POST /api/v1/calls/{call_id}/location`: PIDF-LO by value, or a SIP multipart body;
* `GET /api/v1/callbacks`, `POST /api/v1/callbacks/{call_id}/done`: the callback list;
* `POST /api/v1/app/register`, `POST /api/v1/app/verify`: app registration;
* `POST /api/v1/panic/alarms`, `POST /api/v1/panic/alarms/{call_id}/positions`: panic alarms
  (device token in `X-NG112-Device-Token`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, Literal

import orjson
from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from dispatch.adapters.http import (
    METRICS,
    OPENAPI_MODELS,
    OPENAPI_PATHS,
    ApiError,
    json_response,
    principal_of,
    read_body,
)
from dispatch.model.values import Location
from intake.aml import MAX_HTTPS_BYTES, MAX_SMS_CHARS, parse_aml, parse_aml_https
from intake.errors import (
    AmlHmacMismatch,
    AmlTooLong,
    CallAlreadyEnded,
    ChannelError,
    CodeExpired,
    FloodLimited,
    IntakeError,
    InvalidDeviceToken,
    NotYourSession,
    PidfTooLarge,
    SmsUnavailable,
    TooManyAttempts,
    UnknownCall,
    UnknownChallenge,
    UnknownGatewayCall,
)
from intake.phone import GatewayEventKind, GatewayOffer, GatewayStatusReport, normalise_number
from intake.pidf_lo import MAX_MULTIPART_BYTES
from intake.positions import check_position
from intake.service import Ack, IntakeService

__all__ = ["INTAKE", "add_routes", "error_status", "intake_errors"]

INTAKE = web.AppKey("intake", IntakeService)
DEVICE_TOKEN_HEADER: Final = "X-NG112-Device-Token"  # noqa: S105 - a header name
MAX_BATCH: Final = 100

_STRICT = ConfigDict(extra="forbid", frozen=True)
_ID = r"^[A-Za-z0-9._:\-]{1,128}$"
_GATEWAY = r"^[A-Za-z0-9._\-]{1,64}$"
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- errors -------------------------------------------------------------------------------

_STATUS: Final[tuple[tuple[type[IntakeError], int], ...]] = (
    (FloodLimited, 429),
    (TooManyAttempts, 429),
    (AmlHmacMismatch, 403),
    (AmlTooLong, 413),
    (PidfTooLarge, 413),
    (UnknownGatewayCall, 404),
    (UnknownCall, 404),
    (UnknownChallenge, 404),
    (CallAlreadyEnded, 409),
    (CodeExpired, 410),
    (InvalidDeviceToken, 401),
    (NotYourSession, 403),
    (SmsUnavailable, 503),
)


def error_status(exc: IntakeError) -> tuple[int, str]:
    """The HTTP status and wire code of an intake refusal."""
    status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 422)
    if isinstance(exc, ChannelError):
        return status, exc.code
    return status, _CAMEL.sub("_", type(exc).__name__).lower()


def intake_errors(handler: Handler) -> Handler:
    """Answer intake refusals precisely and count them (flood refusals with Retry-After)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except IntakeError as exc:
            status, code = error_status(exc)
            request.app[METRICS].rejected.labels(code).inc()
            response = json_response({"error": {"code": code, "reason": str(exc)}}, status)
            if isinstance(exc, FloodLimited):
                response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s + 0.5)))
            return response

    guarded.__doc__ = handler.__doc__
    return guarded


# -- bodies -------------------------------------------------------------------------------


class CellIn(BaseModel):
    """The serving cell and its centroid."""

    model_config = _STRICT

    id: str | None = Field(default=None, max_length=64)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    radius_m: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)


class LocationByValueIn(BaseModel):
    """A PIDF-LO document, or a SIP multipart body with the PIDF-LO part's Content-ID."""

    model_config = _STRICT

    content_type: str = Field(default="application/pidf+xml", max_length=256)
    content_id: str | None = Field(default=None, max_length=256)
    body: str = Field(max_length=MAX_MULTIPART_BYTES)


class _GatewayEventIn(BaseModel):
    model_config = _STRICT

    id: str | None = Field(default=None, pattern=_ID, description="request id, echoed in acks")
    gateway: str | None = Field(default=None, pattern=_GATEWAY)
    gateway_call_id: str = Field(pattern=_ID)
    time: AwareDatetime


class OfferedIn(_GatewayEventIn):
    """A call reached the gateway: caller, dialled number, trunk and serving cell."""

    type: Literal["offered"]
    caller: str | None = Field(default=None, max_length=32, description="None when withheld")
    dialled: str = Field(default="112", pattern=r"^(112|110|155|156|177|178|122)$")
    trunk: str | None = Field(default=None, max_length=64)
    cell: CellIn | None = None
    location_by_value: LocationByValueIn | None = None


class AnsweredIn(_GatewayEventIn):
    """An operator answered the call."""

    type: Literal["answered"]
    operator: str = Field(pattern=_ID)


class AbandonedIn(_GatewayEventIn):
    """The caller hung up before an answer (the call goes to the callback list)."""

    type: Literal["abandoned"]


class EndedIn(_GatewayEventIn):
    """The call ended after an answer."""

    type: Literal["ended"]


PhoneEventIn = Annotated[
    OfferedIn | AnsweredIn | AbandonedIn | EndedIn, Field(discriminator="type")
]
_PHONE_EVENT: TypeAdapter[OfferedIn | AnsweredIn | AbandonedIn | EndedIn] = TypeAdapter(
    PhoneEventIn
)


class PhoneEventEnvelope(BaseModel):
    """OpenAPI view of a gateway event (one of offered, answered, abandoned, ended)."""

    model_config = _STRICT

    event: PhoneEventIn


class CallbackDoneIn(BaseModel):
    """The outcome of a callback."""

    model_config = _STRICT

    outcome: Literal["reached", "no_answer", "wrong_number", "not_needed"]


class RegisterIn(BaseModel):
    """An app asks for a one-time code for its phone number."""

    model_config = _STRICT

    number: str = Field(max_length=32)


class VerifyIn(BaseModel):
    """An app sends the one-time code back."""

    model_config = _STRICT

    challenge_id: str = Field(pattern=r"^[A-Za-z0-9_\-]{8,64}$")
    code: str = Field(pattern=r"^[0-9]{4,10}$")


class PositionIn(BaseModel):
    """A device's position (WGS 84), with its accuracy and time when known."""

    model_config = _STRICT

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    radius_m: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)
    at: AwareDatetime | None = None


class PanicAlarmIn(BaseModel):
    """A silent alarm from a registered device."""

    model_config = _STRICT

    alarm_id: str = Field(pattern=_ID)
    position: PositionIn


class PanicPositionIn(PositionIn):
    """A follow-up position of an alarm, numbered by the app."""

    position_id: str = Field(pattern=_ID)


def _validation_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def parse_phone_event(data: object) -> OfferedIn | AnsweredIn | AbandonedIn | EndedIn:
    """One gateway event from decoded JSON, or a 422 `ApiError`."""
    try:
        return _PHONE_EVENT.validate_python(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_body", _validation_reason(exc)) from None


# -- phone ----------------------------------------------------------------------------------


async def apply_phone_event(
    service: IntakeService,
    event: OfferedIn | AnsweredIn | AbandonedIn | EndedIn,
    request: web.Request,
) -> dict[str, object]:
    """Commit one gateway event; returns its acknowledgement (after commit)."""
    principal = principal_of(request)
    gateway = event.gateway or service.settings.default_gateway
    if isinstance(event, OfferedIn):
        cell = None
        if event.cell is not None:
            cell = check_position(
                event.cell.lat,
                event.cell.lon,
                event.cell.radius_m,
                source="cell",
                at=event.time,
                default_radius_m=service.settings.cell_default_radius_m,
            )
        offer = GatewayOffer(
            gateway=gateway,
            gateway_call_id=event.gateway_call_id,
            number=normalise_number(event.caller) if event.caller else None,
            dialled=event.dialled,
            time=event.time,
            trunk=event.trunk,
            cell_id=event.cell.id if event.cell else None,
            cell=cell,
        )
        by_value = event.location_by_value
        out: dict[str, object] = {"id": event.id, "type": "ack"}
        ack, refused = await service.offered(
            offer,
            principal,
            location_document=by_value.body.encode() if by_value else None,
            content_type=by_value.content_type if by_value else "application/pidf+xml",
            content_id=by_value.content_id if by_value else None,
        )
        out.update(ack.to_json_dict())
        if refused is not None:  # the call is committed; only its document is refused
            status, code = error_status(refused)
            request.app[METRICS].rejected.labels(code).inc()
            out["location_error"] = {"code": code, "reason": str(refused), "status": status}
        return out
    kind = GatewayEventKind(event.type)
    report = GatewayStatusReport(
        kind=kind,
        gateway=gateway,
        gateway_call_id=event.gateway_call_id,
        time=event.time,
        operator=event.operator if isinstance(event, AnsweredIn) else None,
    )
    ack = await service.gateway_status(report, principal)
    return {"id": event.id, "type": "ack", **ack.to_json_dict()}


@intake_errors
async def post_phone_events(request: web.Request) -> web.Response:
    """`POST /api/v1/phone/events`: one gateway event or an array; 202 after commit."""
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send application/json")
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from None
    service = request.app[INTAKE]
    if isinstance(data, list):
        if not 1 <= len(data) <= MAX_BATCH:
            raise ApiError(422, "invalid_body", f"a batch holds 1..{MAX_BATCH} events")
        events = [parse_phone_event(item) for item in data]
        results: list[dict[str, object]] = []
        refused = False
        for event in events:
            try:
                results.append(await apply_phone_event(service, event, request))
            except IntakeError as exc:
                status, code = error_status(exc)
                request.app[METRICS].rejected.labels(code).inc()
                results.append(
                    {"id": event.id, "error": {"code": code, "reason": str(exc), "status": status}}
                )
                refused = True
        return json_response({"results": results}, 207 if refused else 202)
    return json_response(await apply_phone_event(service, parse_phone_event(data), request), 202)


# -- AML --------------------------------------------------------------------------------------


@intake_errors
async def post_aml(request: web.Request) -> web.Response:
    """`POST /api/v1/aml`: an AML SMS text or HTTPS form; joined to its call after commit."""
    service = request.app[INTAKE]
    raw = await request.read()
    if len(raw) > MAX_HTTPS_BYTES:
        raise AmlTooLong(f"an AML body is at most {MAX_HTTPS_BYTES} bytes")
    if request.content_type == "text/plain":
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise ApiError(400, "aml_encoding", "the SMS text must be UTF-8") from None
        if len(text) > MAX_SMS_CHARS:
            raise AmlTooLong(f"an AML SMS text is at most {MAX_SMS_CHARS} characters")
        report = parse_aml(text)
    elif request.content_type == "application/x-www-form-urlencoded":
        report = parse_aml_https(raw, hmac_key=service.hmac_key)
    else:
        raise ApiError(
            415, "unsupported_media_type", "send text/plain or application/x-www-form-urlencoded"
        )
    ack, order = await service.aml_report(report, request.query.get("from"), principal_of(request))
    body: dict[str, object] = {
        **ack.to_json_dict(),
        "report_key": report.idempotency_key,
        "joined": ack.call_id is not None,
        "order": None if order is None else str(order),
        "warnings": [str(w) for w in report.warnings],
    }
    return json_response(body, 202)


# -- PIDF-LO by value -------------------------------------------------------------------------


@intake_errors
async def post_call_location(request: web.Request) -> web.Response:
    """`POST /api/v1/calls/{call_id}/location`: PIDF-LO (or multipart SIP body) evidence."""
    service = request.app[INTAKE]
    body = await request.read()
    content_type = request.headers.get("Content-Type", "")
    content_id = request.query.get("cid")
    geolocation = request.headers.get("Geolocation")
    if content_id is None and geolocation is not None and "cid:" in geolocation:
        content_id = geolocation.strip().split(",")[0]
    if not content_type.startswith(("application/pidf+xml", "multipart/")):
        raise ApiError(
            415, "unsupported_media_type", "send application/pidf+xml or a multipart SIP body"
        )
    ack = await service.location_by_value(
        request.match_info["call_id"], body, content_type, content_id, principal_of(request)
    )
    return json_response(ack.to_json_dict(), 202)


# -- callbacks ----------------------------------------------------------------------------------


@intake_errors
async def get_callbacks(request: web.Request) -> web.Response:
    """`GET /api/v1/callbacks`: abandoned calls to call back, the longest waiting first."""
    service = request.app[INTAKE]
    entries = service.callback_list(principal_of(request))
    return json_response({"callbacks": [c.to_json_dict() for c in entries]})


@intake_errors
async def post_callback_done(request: web.Request) -> web.Response:
    """`POST /api/v1/callbacks/{call_id}/done`: record the outcome; 200 after commit."""
    body = await read_body(request, CallbackDoneIn)
    service = request.app[INTAKE]
    ack = await service.complete_callback(
        request.match_info["call_id"], body.outcome, principal_of(request)
    )
    return json_response(ack.to_json_dict())


# -- registration and panic ----------------------------------------------------------------------


@intake_errors
async def post_register(request: web.Request) -> web.Response:
    """`POST /api/v1/app/register`: a one-time code for the number (by SMS; in development
    mode also in the answer)."""
    body = await read_body(request, RegisterIn)
    challenge_id, code = await request.app[INTAKE].register(body.number)
    out: dict[str, object] = {"challenge_id": challenge_id}
    if code is not None:
        out["code"] = code
    return json_response(out, 202)


@intake_errors
async def post_verify(request: web.Request) -> web.Response:
    """`POST /api/v1/app/verify`: the code back; the answer holds the device token once."""
    body = await read_body(request, VerifyIn)
    device, token = await request.app[INTAKE].verify(body.challenge_id, body.code)
    return json_response({"device_id": device.device_id, "device_token": token}, 201)


def _position(body: PositionIn, service: IntakeService) -> Location:
    return check_position(
        body.lat,
        body.lon,
        body.radius_m,
        source="app",
        at=body.at or service.now(),
        default_radius_m=service.settings.app_default_radius_m,
    )


@intake_errors
async def post_panic_alarm(request: web.Request) -> web.Response:
    """`POST /api/v1/panic/alarms`: a silent alarm; 202 with the call once committed."""
    service = request.app[INTAKE]
    device = service.device(request.headers.get(DEVICE_TOKEN_HEADER))
    body = await read_body(request, PanicAlarmIn)
    ack = await service.panic_alarm(
        device, body.alarm_id, _position(body.position, service), principal_of(request)
    )
    return json_response({"alarm_id": body.alarm_id, **ack.to_json_dict()}, 202)


@intake_errors
async def post_panic_position(request: web.Request) -> web.Response:
    """`POST /api/v1/panic/alarms/{call_id}/positions`: a follow-up position of the alarm."""
    service = request.app[INTAKE]
    device = service.device(request.headers.get(DEVICE_TOKEN_HEADER))
    principal_of(request).require_ingest()
    body = await read_body(request, PanicPositionIn)
    ack: Ack = await service.panic_position(
        device, request.match_info["call_id"], body.position_id, _position(body, service)
    )
    return json_response(ack.to_json_dict(), 202)


# -- OpenAPI ----------------------------------------------------------------------------------


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": "refused",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def _json(name: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


_GATEWAY_EVENT_SCHEMA: Final = {
    "oneOf": [
        {"$ref": f"#/components/schemas/{name}"}
        for name in ("OfferedIn", "AnsweredIn", "AbandonedIn", "EndedIn")
    ],
    "discriminator": {"propertyName": "type"},
}

OPENAPI: Final[dict[str, dict[str, Any]]] = {
    "/api/v1/phone/events": {
        "post": {
            "summary": "CTI gateway call events (offered, answered, abandoned, ended); "
            "202 after commit, 207 when a batch item was refused",
            "description": "The same JSON objects travel over the websocket /api/v1/phone/ws, "
            "each answered by {type: ack, id, call_id, incident_id, seq, duplicate} or "
            "{type: error, id, code, reason}.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                _GATEWAY_EVENT_SCHEMA,
                                {
                                    "type": "array",
                                    "maxItems": MAX_BATCH,
                                    "items": _GATEWAY_EVENT_SCHEMA,
                                },
                            ]
                        }
                    }
                },
            },
            "responses": {
                "202": {"description": "committed"},
                "207": {"description": "a batch with refused items"},
                **_errors(400, 401, 403, 404, 409, 413, 415, 422, 429),
            },
        }
    },
    "/api/v1/aml": {
        "post": {
            "summary": "An AML report (ETSI TS 103 625): SMS text (sender in ?from=) or "
            "HTTPS form; joined to the caller's call",
            "parameters": [{"name": "from", "in": "query", "schema": {"type": "string"}}],
            "requestBody": {
                "required": True,
                "content": {
                    "text/plain": {"schema": {"type": "string", "maxLength": MAX_SMS_CHARS}},
                    "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                },
            },
            "responses": {
                "202": {"description": "committed (joined or waiting for its call)"},
                **_errors(400, 401, 403, 413, 415, 422, 429),
            },
        }
    },
    "/api/v1/calls/{call_id}/location": {
        "post": {
            "summary": "PIDF-LO location by value (or a SIP multipart body, ?cid= or "
            "Geolocation header) as the call's location evidence",
            "requestBody": {
                "required": True,
                "content": {
                    "application/pidf+xml": {"schema": {"type": "string"}},
                    "multipart/mixed": {"schema": {"type": "string"}},
                },
            },
            "responses": {
                "202": {"description": "committed"},
                **_errors(401, 403, 404, 413, 415, 422),
            },
        }
    },
    "/api/v1/callbacks": {
        "get": {
            "summary": "Abandoned calls to call back, the longest waiting first",
            "responses": {"200": {"description": "the callback list"}, **_errors(401, 403)},
        }
    },
    "/api/v1/callbacks/{call_id}/done": {
        "post": {
            "summary": "Record a callback's outcome",
            "requestBody": _json("CallbackDoneIn"),
            "responses": {"200": {"description": "committed"}, **_errors(403, 404, 422)},
        }
    },
    "/api/v1/app/register": {
        "post": {
            "summary": "Ask for a one-time code for an app user's number",
            "requestBody": _json("RegisterIn"),
            "responses": {"202": {"description": "code sent"}, **_errors(422, 429, 503)},
        }
    },
    "/api/v1/app/verify": {
        "post": {
            "summary": "Verify the one-time code; returns the device token once",
            "requestBody": _json("VerifyIn"),
            "responses": {
                "201": {"description": "device registered"},
                **_errors(404, 410, 422, 429),
            },
        }
    },
    "/api/v1/panic/alarms": {
        "post": {
            "summary": "A panic-app alarm (X-NG112-Device-Token); 202 after commit",
            "requestBody": _json("PanicAlarmIn"),
            "responses": {"202": {"description": "committed"}, **_errors(401, 403, 422, 429)},
        }
    },
    "/api/v1/panic/alarms/{call_id}/positions": {
        "post": {
            "summary": "A follow-up position of a panic alarm",
            "requestBody": _json("PanicPositionIn"),
            "responses": {"202": {"description": "committed"}, **_errors(401, 403, 404, 422, 429)},
        }
    },
}

MODELS: Final[dict[str, type[BaseModel]]] = {
    "OfferedIn": OfferedIn,
    "AnsweredIn": AnsweredIn,
    "AbandonedIn": AbandonedIn,
    "EndedIn": EndedIn,
    "CallbackDoneIn": CallbackDoneIn,
    "RegisterIn": RegisterIn,
    "VerifyIn": VerifyIn,
    "PanicAlarmIn": PanicAlarmIn,
    "PanicPositionIn": PanicPositionIn,
}


def add_routes(app: web.Application) -> None:
    """Add the intake routes and their OpenAPI description."""
    app.router.add_post("/api/v1/phone/events", post_phone_events)
    app.router.add_post("/api/v1/aml", post_aml)
    app.router.add_post("/api/v1/calls/{call_id}/location", post_call_location)
    app.router.add_get("/api/v1/callbacks", get_callbacks)
    app.router.add_post("/api/v1/callbacks/{call_id}/done", post_callback_done)
    app.router.add_post("/api/v1/app/register", post_register)
    app.router.add_post("/api/v1/app/verify", post_verify)
    app.router.add_post("/api/v1/panic/alarms", post_panic_alarm)
    app.router.add_post("/api/v1/panic/alarms/{call_id}/positions", post_panic_position)
    OPENAPI_PATHS.update(OPENAPI)
    OPENAPI_MODELS.update(MODELS)
