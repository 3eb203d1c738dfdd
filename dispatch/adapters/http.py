"""The HTTP API: routes, authentication, bad-input handling and metrics.

Every handler gets the request's :class:`Principal` from the auth middleware and checks
role and scope itself. Every rejection answers a 4xx with a machine-readable
``{"error": {"code", "reason"}}`` (never echoing the input), writes nothing, and is
counted in ``ng112_rejected_total``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector, generate_latest
from pydantic import BaseModel, ValidationError

from dispatch.adapters.schemas import ActionIn, CallBatchIn, CallIn
from dispatch.adapters.store import StoreError
from dispatch.adapters.views import call_json, incident_json, snapshot_json
from dispatch.adapters.ws import Broadcaster
from dispatch.core.decide import CommandRefused, DecidedCall
from dispatch.core.lifecycle import IllegalTransition
from dispatch.model.access import DEVELOPMENT_PRINCIPAL, AccessDenied, Principal
from dispatch.model.events import CallReceived
from dispatch.model.ids import CallId, CentreId
from dispatch.model.vocabulary import Agency, IncidentStatus, Role
from dispatch.ports import CallAck, CallFront, FrontUnavailable
from dispatch.service import Engine, UnknownIncident

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)


class Metrics:
    """The process's Prometheus registry and the instruments handlers update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rejected = Counter(
            "ng112_rejected", "Requests refused for bad input", ["code"], registry=self.registry
        )
        self.calls = Counter(
            "ng112_calls_received", "Calls committed", ["channel"], registry=self.registry
        )
        self.retries = Counter(
            "ng112_idempotent_retries", "Retries answered from the log", registry=self.registry
        )
        self.log_depth = Gauge(
            "ng112_event_log_queue_depth", "Appends waiting for a commit", registry=self.registry
        )
        self.log_events = Gauge(
            "ng112_event_log_committed_events", "Events committed", registry=self.registry
        )
        self.log_transactions = Gauge(
            "ng112_event_log_transactions", "Commits made", registry=self.registry
        )
        self.log_commit_seconds = Gauge(
            "ng112_event_log_commit_seconds",
            "Seconds spent committing, from a batch's first row to its commit",
            registry=self.registry,
        )
        self.stream_clients = Gauge(
            "ng112_stream_clients", "Connected stream clients", registry=self.registry
        )
        self.stream_resyncs = Gauge(
            "ng112_stream_resyncs", "Stream clients that fell behind", registry=self.registry
        )
        self.open_incidents = Gauge(
            "ng112_open_incidents", "Open incidents", ["centre"], registry=self.registry
        )
        self.incidents_held = Gauge(
            "ng112_projection_incidents",
            "Incidents held in memory: open ones and those concluded within the retention",
            registry=self.registry,
        )
        self.calls_held = Gauge(
            "ng112_projection_calls", "Calls held in memory", registry=self.registry
        )
        self.concluded_held = Gauge(
            "ng112_projection_concluded",
            "Concluded incidents not yet archived (a call or a unit may hold one back)",
            registry=self.registry,
        )
        self.idempotency_keys = Gauge(
            "ng112_idempotency_keys",
            "Idempotency keys the engine remembers, by how (event: recent; seq: older)",
            ["kept_as"],
            registry=self.registry,
        )
        self.snapshot_seq = Gauge(
            "ng112_snapshot_restored_seq",
            "The seq of the snapshot this process started from (0: it folded the whole log)",
            registry=self.registry,
        )
        # process_resident_memory_bytes and friends: memory follows the live working set
        # (archiving), so a rise that does not fall is the figure to alert on
        ProcessCollector(registry=self.registry)


class ApiError(Exception):
    """An error answered as JSON with a status and a machine-readable code."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason


ENGINE = web.AppKey("engine", Engine)
BROADCASTER = web.AppKey("broadcaster", Broadcaster)
METRICS = web.AppKey("metrics", Metrics)
CALL_FRONT = web.AppKey("call_front", CallFront)
PRINCIPALS = web.AppKey("principals", dict[str, Principal])
DEVELOPMENT = web.AppKey("development", bool)
READY = web.AppKey("ready", dict[str, bool])
PRINCIPAL = web.RequestKey("principal", Principal)


def json_response(body: Any, status: int = 200) -> web.Response:
    """A JSON response encoded with orjson."""
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def error_response(status: int, code: str, reason: str) -> web.Response:
    """The one shape of every error."""
    return json_response({"error": {"code": code, "reason": reason}}, status)


def _validation_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


async def read_body(request: web.Request, model: type[M]) -> M:
    """Parse a JSON body into ``model`` or raise a precise :class:`ApiError`."""
    return parse_body(await read_raw(request), model)


async def read_raw(request: web.Request) -> bytes:
    """A JSON body's bytes, unparsed (415 for another media type)."""
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send application/json")
    return await request.read()


def parse_body(raw: bytes, model: type[M]) -> M:
    """A JSON body's bytes as ``model``, or a precise :class:`ApiError` (no I/O)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_body", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_body", _validation_reason(exc)) from None


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn domain refusals into precise 4xx answers and count them."""
    metrics = request.app[METRICS]
    try:
        return await handler(request)
    except ApiError as exc:
        metrics.rejected.labels(exc.code).inc()
        return error_response(exc.status, exc.code, exc.reason)
    except web.HTTPRequestEntityTooLarge:
        metrics.rejected.labels("body_too_large").inc()
        return error_response(413, "body_too_large", "the body exceeds the configured limit")
    except AccessDenied as exc:
        metrics.rejected.labels("forbidden").inc()
        return error_response(403, "forbidden", str(exc))
    except UnknownIncident as exc:
        metrics.rejected.labels("not_found").inc()
        return error_response(404, "not_found", str(exc))
    except IllegalTransition as exc:
        metrics.rejected.labels("illegal_transition").inc()
        return error_response(409, "illegal_transition", str(exc))
    except CommandRefused as exc:
        metrics.rejected.labels("refused").inc()
        return error_response(409, "refused", str(exc))
    except StoreError:
        # nothing was committed: the client may retry (with its request id, idempotently)
        metrics.rejected.labels("store_unavailable").inc()
        return error_response(503, "store_unavailable", "the event log could not commit; retry")


def _dev_principal(request: web.Request) -> Principal:
    """Embedded mode: act as any role the request names (for the demo and tests)."""
    role_name = request.headers.get("X-NG112-Role") or request.query.get("role")
    if not role_name:
        return DEVELOPMENT_PRINCIPAL
    try:
        role = Role(role_name)
    except ValueError:
        raise ApiError(400, "unknown_role", "unknown role") from None
    province_text = request.headers.get("X-NG112-Province") or request.query.get("province")
    agency_text = request.headers.get("X-NG112-Agency") or request.query.get("agency")
    try:
        province = int(province_text) if province_text else None
        agency = Agency(agency_text) if agency_text else None
    except ValueError:
        raise ApiError(400, "invalid_scope", "province must be 1..81, agency a known one") from None
    if province is not None and not 1 <= province <= 81:
        raise ApiError(400, "invalid_scope", "province must be 1..81")
    centre = CentreId(f"{province:02d}") if province else None
    return Principal(
        subject=f"dev-{role.value}", role=role, province=province, centre=centre, agency=agency
    )


def _token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    return request.query.get("token")


def authenticate(request: web.Request) -> Principal:
    """The principal behind a request (bearer token, or the development grant)."""
    token = _token(request)
    principals = request.app[PRINCIPALS]
    if token is not None:
        for known, principal in principals.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return principal
        raise ApiError(401, "unauthenticated", "unknown token")
    if request.app[DEVELOPMENT]:
        return _dev_principal(request)
    raise ApiError(401, "unauthenticated", "a bearer token is required")


_PUBLIC = frozenset({"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"})


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the principal to every non-public request."""
    path = request.path
    if path not in _PUBLIC and not path.startswith(("/static/", "/api/v1/boundaries/")):
        request[PRINCIPAL] = authenticate(request)
    return await handler(request)


def principal_of(request: web.Request) -> Principal:
    """The authenticated principal of a request."""
    principal: Principal = request[PRINCIPAL]
    return principal


# -- handlers -----------------------------------------------------------------------------


async def post_call(request: web.Request) -> web.Response:
    """Ingest a call; 202 with its id once committed (the same id on a retry)."""
    body = await read_body(request, CallIn)
    engine = request.app[ENGINE]
    ack = await engine.receive_call(body.to_command(), principal_of(request))
    metrics = request.app[METRICS]
    if ack.duplicate:
        metrics.retries.inc()
    else:
        metrics.calls.labels(body.channel.value).inc()
    return json_response(
        {"call_id": ack.call_id, "incident_id": ack.incident_id, "seq": ack.seq}, 202
    )


async def _commit_batch(request: web.Request) -> tuple[list[CallAck], list[str]]:
    """A batch's acks and each call's channel, decided by a front if one is up."""
    engine = request.app[ENGINE]
    principal = principal_of(request)
    front = request.app.get(CALL_FRONT)
    if front is None or not front.ready:
        body = await read_body(request, CallBatchIn)
    else:
        principal.require_ingest()
        raw = await read_raw(request)
        try:
            decided = await front.decide(raw)
        except FrontUnavailable as exc:
            logger.warning("deciding a batch on the loop: %s", exc)
            body = parse_body(raw, CallBatchIn)
        else:
            acks = await engine.receive_decided(decided, principal)
            return acks, [_channel_of(call) for call in decided]
    acks = await engine.receive_calls([call.to_command() for call in body.calls], principal)
    return acks, [call.channel.value for call in body.calls]


async def post_call_batch(request: web.Request) -> web.Response:
    """Ingest a gateway's batch of calls; 202 with one ack per call, in order, once committed.

    Retried calls (a known ``client_request_id``) get their original ids and
    ``"duplicate": true``; a resent batch therefore acknowledges the same calls again.
    With call fronts running (``call_front_workers``), a front process parses and
    decides the batch and the loop commits it; without one, or if it fails, the loop does
    both.
    """
    acks, channels = await _commit_batch(request)
    metrics = request.app[METRICS]
    for channel, ack in zip(channels, acks, strict=True):
        if ack.duplicate:
            metrics.retries.inc()
        else:
            metrics.calls.labels(channel).inc()
    results = [
        {
            "call_id": ack.call_id,
            "incident_id": ack.incident_id,
            "seq": ack.seq,
            "duplicate": ack.duplicate,
        }
        for ack in acks
    ]
    return json_response({"results": results}, 202)


def _channel_of(call: DecidedCall) -> str:
    received = call.events[0]
    return received.channel.value if isinstance(received, CallReceived) else "unknown"


async def get_call(request: web.Request) -> web.Response:
    """One call; an archived one is read back from the log."""
    engine = request.app[ENGINE]
    call_id = request.match_info["call_id"]
    call = engine.state.calls.get(CallId(call_id))
    archived = call is None
    if call is None:
        call = await engine.archived_call(call_id)
    if call is None:
        raise ApiError(404, "not_found", "no such call")
    principal = principal_of(request)
    principal.require_read(call.placement.plate if call.placement else None)
    body = call_json(call, principal)
    body["archived"] = archived
    return json_response(body)


def _parse_since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "invalid_query", "since must be an ISO 8601 time") from None
    if value.tzinfo is None:
        raise ApiError(400, "invalid_query", "since must carry a UTC offset")
    return value


async def list_incidents(request: web.Request) -> web.Response:
    """Incidents, filtered by province, agency, status and since."""
    principal = principal_of(request)
    principal.require_read(principal.province)
    query = request.query
    try:
        province = int(query["province"]) if "province" in query else None
        agency = Agency(query["agency"]) if "agency" in query else None
        status = IncidentStatus(query["status"]) if "status" in query else None
        limit = min(int(query.get("limit", "500")), 5000)
    except ValueError:
        raise ApiError(
            400, "invalid_query", "province/limit integers, agency/status known values"
        ) from None
    since = _parse_since(query.get("since"))
    incidents = []
    for incident in reversed(request.app[ENGINE].state.incidents.values()):
        plate = incident.plate
        if not principal.sees_province(plate):
            continue
        if province is not None and plate != province:
            continue
        if agency is not None and agency not in incident.agencies:
            continue
        if status is not None and incident.status is not status:
            continue
        if since is not None and incident.opened_at < since:
            continue
        incidents.append(incident_json(incident, principal))
        if len(incidents) >= limit:
            break
    return json_response({"incidents": incidents})


async def get_incident(request: web.Request) -> web.Response:
    """One incident with its timeline; an archived one is read back from the log."""
    engine = request.app[ENGINE]
    incident_id = request.match_info["incident_id"]
    archived = False
    try:
        incident = engine.incident(incident_id)
    except UnknownIncident:
        found = await engine.archived_incident(incident_id)
        if found is None:
            raise
        incident, archived = found, True
    principal = principal_of(request)
    principal.require_read(incident.plate)
    body = incident_json(incident, principal, timeline=True)
    body["archived"] = archived
    return json_response(body)


async def post_action(request: web.Request) -> web.Response:
    """An operator's transition on an incident."""
    body = await read_body(request, ActionIn)
    principal = principal_of(request)
    engine = request.app[ENGINE]
    incident_id = request.match_info["incident_id"]
    records = await engine.act(incident_id, body.to_command(principal.subject), principal)
    incident = engine.incident(incident_id)
    return json_response(
        {
            "incident": incident_json(incident, principal),
            "seqs": [r.seq for r in records],
        }
    )


async def stream(request: web.Request) -> web.StreamResponse:
    """``GET /api/v1/stream``: a snapshot then every committed event (see ``ws``)."""
    principal = principal_of(request)
    principal.require_read(principal.province)
    since_text = request.query.get("since")
    try:
        since = int(since_text) if since_text is not None else None
    except ValueError:
        raise ApiError(400, "invalid_query", "since must be a sequence number") from None
    if since is not None and since < 0:
        raise ApiError(400, "invalid_query", "since must be >= 0")
    # no per-message deflate: fan-out would compress every event once per client
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024, compress=False)
    await ws.prepare(request)
    engine = request.app[ENGINE]
    await request.app[BROADCASTER].serve(
        ws,
        principal,
        since=since,
        snapshot=lambda p: snapshot_json(engine.state, p),
    )
    await ws.close()
    return ws


async def healthz(_request: web.Request) -> web.Response:
    """The process is alive."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The process has replayed its log and accepts work."""
    ready = request.app[READY]
    status = 200 if all(ready.values()) else 503
    return json_response({"ready": all(ready.values()), "components": ready}, status)


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    metrics = request.app[METRICS]
    engine = request.app[ENGINE]
    stats = engine.log.stats
    metrics.log_depth.set(engine.log.queue_depth)
    metrics.log_events.set(stats.events)
    metrics.log_transactions.set(stats.transactions)
    metrics.log_commit_seconds.set(stats.commit_seconds_total)
    broadcaster = request.app[BROADCASTER]
    metrics.stream_clients.set(broadcaster.subscriber_count)
    metrics.stream_resyncs.set(broadcaster.stats.resyncs)
    for centre, count in engine.state.open_by_centre.items():
        metrics.open_incidents.labels(centre).set(count)
    metrics.incidents_held.set(len(engine.state.incidents))
    metrics.calls_held.set(len(engine.state.calls))
    metrics.concluded_held.set(len(engine.state.concluded))
    metrics.idempotency_keys.labels("event").set(len(engine.state.keys))
    metrics.idempotency_keys.labels("seq").set(len(engine.state.settled_keys))
    metrics.snapshot_seq.set(engine.restored_seq)
    text = generate_latest(metrics.registry)
    extra: list[bytes] = [line(engine) for line in EXTRA_METRICS]
    return web.Response(
        body=text + b"".join(extra),
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


#: Other packages append functions that render more Prometheus text lines.
EXTRA_METRICS: list[Callable[[Engine], bytes]] = []
#: OpenAPI path items other packages add when they install their routes.
OPENAPI_PATHS: dict[str, dict[str, Any]] = {}
#: Request body models other packages add (name -> pydantic model).
OPENAPI_MODELS: dict[str, type[BaseModel]] = {}


def add_routes(app: web.Application) -> None:
    """The spine's routes."""
    app.router.add_post("/api/v1/calls", post_call)
    app.router.add_post("/api/v1/calls/batch", post_call_batch)
    app.router.add_get("/api/v1/calls/{call_id}", get_call)
    app.router.add_get("/api/v1/incidents", list_incidents)
    app.router.add_get("/api/v1/incidents/{incident_id}", get_incident)
    app.router.add_post("/api/v1/incidents/{incident_id}/actions", post_action)
    app.router.add_get("/api/v1/stream", stream)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
