"""GAMER coordination's HTTP surface: pages, static assets, the dashboard stream and APIs.

Routes:

- ``/`` (redirect to ``/map``), ``/map``, ``/console``: the pages (plain HTML + ES modules
  under ``/static/gamer/``), served with a Content-Security-Policy that allows no inline
  script, so caller text can never run even if a page forgot to escape it.
- ``/static/leaflet/`` and ``/static/leaflet-markercluster/``: the map library from the
  installed PyPI packages ``xstatic-leaflet`` and ``xstatic-leaflet-markercluster``.
- ``GET /api/v1/gamer/config``: what the pages need to know (tile URL, the principal's scope).
- ``GET /api/v1/gamer/stream?province=&since=&epoch=``: the scoped dashboard websocket.
- ``GET /api/v1/gamer/summary?province=``: the current counts, as JSON.
- ``POST /api/v1/classify``: the classifier's suggestion for a text (read only).
- ``GET /api/v1/reports/situation?province=&from=&to=``: a situation report (HTML).
- ``POST /api/v1/gamer/push``, ``GET /api/v1/gamer/push/{message_id}``: information to units.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import msgspec
import orjson
import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster
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
from dispatch.core.classification import classify
from dispatch.core.interrogation import Question
from dispatch.core.projections import Recorded
from dispatch.core.taxonomy import IncidentType
from dispatch.model.access import AccessDenied, Principal
from dispatch.model.centres import centre_plate
from dispatch.model.ids import IncidentId
from dispatch.model.vocabulary import Agency, Channel, Role
from dispatch.ports import EnginePort, MqttEndpoint
from gamer_coordination.adapters.mqtt import PushGateway
from gamer_coordination.adapters.ws import DashboardHub
from gamer_coordination.errors import InvalidPeriod, PushRefused
from gamer_coordination.events import UnitInfoSent
from gamer_coordination.projections import NATIONAL, province_key
from gamer_coordination.push import Circle, PushLedger, decide_push, resolve_targets
from gamer_coordination.settings import GamerSettings
from gamer_coordination.sitrep import SituationReport, render_html, report_of
from routing.layout import DEFAULT_DATA_DIR

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parents[1] / "static"
LEAFLET = Path(xstatic.pkg.leaflet.BASE_DIR)
MARKERCLUSTER = Path(xstatic.pkg.leaflet_markercluster.BASE_DIR)
MAX_CLASSIFY_TEXT = 4000


class GamerRuntime:
    """What GAMER's handlers and loops share: settings, the hub, the engine, the broker."""

    def __init__(
        self,
        *,
        settings: GamerSettings,
        hub: DashboardHub,
        engine: EnginePort,
        mqtt: MqttEndpoint | None,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.engine = engine
        self.mqtt = mqtt
        self.tasks: asyncio.TaskGroup | None = None
        self.ledger = PushLedger()
        self.gateway = (
            PushGateway(mqtt, self.ledger, engine, retry_s=settings.push_retry_s)
            if mqtt is not None
            else None
        )
        self.provinces: dict[str, Any] | None = None
        self.reports_written: list[Path] = []

    def on_records(self, records: Sequence[Recorded]) -> None:
        """The log listener of the push ledger (and the gateway's outbox)."""
        if self.gateway is not None:
            self.gateway.on_records(records)
        else:
            self.ledger.apply(records)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tick_s)
            self.hub.tick(self.engine.clock.now())

    def report(self, plate: int | None, start: datetime, end: datetime) -> SituationReport:
        """A situation report of GAMER's projection (raises InvalidPeriod)."""
        return report_of(
            self.hub.projection,
            plate=plate,
            start=start,
            end=end,
            generated_at=self.engine.clock.now(),
        )

    def report_html(self, plate: int | None, start: datetime, end: datetime) -> str:
        """A situation report as a printable page (raises InvalidPeriod)."""
        return render_html(self.report(plate, start, end), self.provinces)

    async def write_reports(self) -> list[Path]:
        """Write the scheduled reports (the country and each configured province) now."""
        settings = self.settings
        end = self.engine.clock.now()
        start = end - timedelta(seconds=settings.report_period_s)
        written = []
        for plate in (None, *settings.report_provinces):
            html = self.report_html(plate, start, end)
            scope = "tr" if plate is None else f"{plate:02d}"
            path = settings.report_dir / f"sitrep-{scope}-{end:%Y%m%dT%H%M%SZ}.html"
            await asyncio.to_thread(_write, path, html)
            written.append(path)
            logger.info("situation report written to %s", path)
        self.reports_written.extend(written)
        return written

    async def _reports(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            await self.write_reports()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the background loops for the application's lifetime."""
        self.provinces = await asyncio.to_thread(
            _load_geojson, self.settings.provinces_geojson or DEFAULT_DATA_DIR / "provinces.geojson"
        )
        async with asyncio.TaskGroup() as tasks:
            self.tasks = tasks
            loops = [tasks.create_task(self._tick(), name="ng112-gamer-spike-ticker")]
            if self.gateway is not None:
                loops.append(tasks.create_task(self.gateway.run(), name="ng112-gamer-push"))
            if self.settings.report_every_s is not None:
                loops.append(
                    tasks.create_task(
                        self._reports(self.settings.report_every_s),
                        name="ng112-gamer-scheduled-reports",
                    )
                )
            try:
                yield
            finally:
                self.tasks = None
                self.hub.close()
                for loop in loops:
                    loop.cancel()
                for loop in loops:
                    with suppress(asyncio.CancelledError):
                        await loop


RUNTIME = web.AppKey("gamer_runtime", GamerRuntime)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _load_geojson(path: Path) -> dict[str, Any] | None:
    """The province boundaries for the reports' maps, or None (the map is left out)."""
    try:
        data: dict[str, Any] = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        logger.warning("no province boundaries for situation reports at %s", path)
        return None
    return data


def _runtime(request: web.Request) -> GamerRuntime:
    return request.app[RUNTIME]


# -- scope ----------------------------------------------------------------------------------


def _province_param(request: web.Request) -> int | None:
    text = request.query.get("province")
    if not text:
        return None
    try:
        province = int(text)
    except ValueError:
        raise ApiError(400, "invalid_query", "province must be a plate code 1..81") from None
    if not 1 <= province <= 81:
        raise ApiError(400, "invalid_query", "province must be a plate code 1..81")
    return province


def dashboard_scope(principal: Principal, province: int | None) -> int | None:
    """The province a dashboard shows (``None``: the whole country), or AccessDenied."""
    principal.require_read(province)
    if principal.sees_province(None):
        return province
    return principal.province


# -- pages ----------------------------------------------------------------------------------

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: {tiles}; connect-src 'self' ws: wss:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def _page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        principal = principal_of(request)
        principal.require_read(principal.province)
        tiles = _tile_origin(_runtime(request).settings.tile_url)
        return web.FileResponse(
            STATIC / name,
            headers={
                "Content-Security-Policy": _CSP.format(tiles=tiles),
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
        )

    return handler


def _tile_origin(url: str | None) -> str:
    if not url:
        return ""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].replace("{s}", "*")
    return f"{scheme}://{host}" if scheme in {"http", "https"} else ""


async def root(request: web.Request) -> web.StreamResponse:
    """``/``: the live map, keeping the query (role, province, token)."""
    query = request.query_string
    raise web.HTTPFound("/map" + (f"?{query}" if query else ""))


# -- API ------------------------------------------------------------------------------------


async def config(request: web.Request) -> web.Response:
    """What the pages need: tile layer, the principal's role and scope."""
    principal = principal_of(request)
    principal.require_read(principal.province)
    settings = _runtime(request).settings
    return json_response(
        {
            "tile_url": settings.tile_url,
            "incident_types": [t.value for t in IncidentType],
            "tile_attribution": settings.tile_attribution,
            "role": principal.role.value,
            "province": principal.province,
            "agency": principal.agency.value if principal.agency else None,
            "sees_country": principal.sees_province(None),
            "sees_caller_data": principal.sees_caller_data,
            "takes_calls": principal.role
            in {
                Role.CALL_TAKER,
                Role.LANGUAGE_DESK_OPERATOR,
                Role.SIGN_LANGUAGE_OPERATOR,
                Role.ADMINISTRATOR,
            },
        }
    )


async def stream(request: web.Request) -> web.StreamResponse:
    """The scoped dashboard websocket (see ``adapters.ws``)."""
    principal = principal_of(request)
    scope = dashboard_scope(principal, _province_param(request))
    since_text = request.query.get("since")
    try:
        since = int(since_text) if since_text else None
    except ValueError:
        raise ApiError(400, "invalid_query", "since must be a sequence number") from None
    if since is not None and since < 0:
        raise ApiError(400, "invalid_query", "since must be >= 0")
    epoch = request.query.get("epoch")
    # no per-message deflate: fan-out would compress every update once per client
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096, compress=False)
    await ws.prepare(request)
    await _runtime(request).hub.serve(ws, scope, since, epoch)
    await ws.close()
    return ws


async def summary(request: web.Request) -> web.Response:
    """The current counts of a province (or the country), as the stream shows them."""
    principal = principal_of(request)
    scope = dashboard_scope(principal, _province_param(request))
    projection = _runtime(request).hub.projection
    key = NATIONAL if scope is None else province_key(scope)
    return json_response({"key": key, "value": projection.view(key)})


class ClassifyIn(BaseModel):
    """``POST /api/v1/classify``: what is known about a call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(default=None, max_length=MAX_CLASSIFY_TEXT)
    channel: Channel = Channel.PHONE
    dialled: str | None = Field(default=None, pattern=r"^[0-9]{3}$")
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    answers: dict[str, bool] = Field(default_factory=dict, max_length=50)


async def post_classify(request: web.Request) -> web.Response:
    """The classifier's suggestion; changes nothing."""
    principal = principal_of(request)
    principal.require_read(principal.province)
    body = await read_body(request, ClassifyIn)
    suggestion = classify(
        channel=body.channel,
        dialled=body.dialled,
        text=body.text,
        answers=body.answers,
        language=body.language,
    )
    return json_response(
        {
            "incident_type": suggestion.incident_type.value,
            "priority": int(suggestion.priority),
            "responders": [r.value for r in suggestion.responders],
            "agencies": [a.value for a in suggestion.agencies_for(None)],
            "confidence": suggestion.confidence,
            "reasons": list(suggestion.reasons),
            "also": [t.value for t in suggestion.also],
            "questions": [_question(q) for q in suggestion.questions],
        }
    )


def _question(question: Question) -> dict[str, str]:
    return {"key": question.key, "text_tr": question.text_tr, "text_en": question.text_en}


def parse_time(text: str | None, default: datetime) -> datetime:
    """An ISO 8601 time with an offset from a query parameter, or ``default``."""
    if not text:
        return default
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "invalid_query", "times must be ISO 8601") from None
    if value.tzinfo is None:
        raise ApiError(400, "invalid_query", "times must carry a UTC offset")
    return value


DAY = timedelta(days=1)

_REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


async def situation_report(request: web.Request) -> web.Response:
    """``GET /api/v1/reports/situation?province=&from=&to=[&format=json]``."""
    principal = principal_of(request)
    scope = dashboard_scope(principal, _province_param(request))
    runtime = _runtime(request)
    now = runtime.engine.clock.now()
    end = parse_time(request.query.get("to"), now)
    start = parse_time(request.query.get("from"), end - DAY)
    try:
        if request.query.get("format") == "json":
            report = runtime.report(scope, start, end)
            return json_response(msgspec.to_builtins(report, str_keys=True))
        html = runtime.report_html(scope, start, end)
    except InvalidPeriod as exc:
        raise ApiError(400, "invalid_period", str(exc)) from None
    return web.Response(
        text=html,
        content_type="text/html",
        headers={"Content-Security-Policy": _REPORT_CSP, "X-Content-Type-Options": "nosniff"},
    )


_PUSHERS = frozenset(
    {
        Role.PROVINCIAL_COORDINATOR,
        Role.CENTRAL_COORDINATOR,
        Role.ADMINISTRATOR,
        Role.AGENCY_DISPATCHER,
    }
)
_REQUEST_ID = r"^[A-Za-z0-9._:\-]{1,128}$"
_UNIT = r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,63}$"


class PushIn(BaseModel):
    """``POST /api/v1/gamer/push``: text for the units of an incident, an area or a list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=20_000)
    incident_id: str | None = Field(default=None, max_length=64)
    unit_ids: list[Annotated[str, Field(pattern=_UNIT)]] = Field(
        default_factory=list, max_length=500
    )
    province: int | None = Field(default=None, ge=1, le=81)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    radius_km: float | None = Field(default=None, gt=0, le=500, allow_inf_nan=False)
    agency: Agency | None = None
    client_request_id: str | None = Field(default=None, pattern=_REQUEST_ID)


async def post_push(request: web.Request) -> web.Response:
    """Record a push to units, then publish it over MQTT (202 with the message id)."""
    principal = principal_of(request)
    if principal.role not in _PUSHERS:
        raise AccessDenied(f"role {principal.role} may not push to units")
    body = await read_body(request, PushIn)
    runtime = _runtime(request)
    engine = runtime.engine
    key = f"gamer-push:{body.client_request_id}" if body.client_request_id else None
    if key is not None:
        original = await engine.original(key)
        if original is not None and isinstance(original.event, UnitInfoSent):
            sent = original.event
            return json_response(
                {"message_id": sent.message_id, "units": list(sent.unit_ids), "seq": original.seq},
                202,
            )
    incident = None
    if body.incident_id is not None:
        incident = engine.state.incidents.get(IncidentId(body.incident_id))
        if incident is None:
            raise ApiError(404, "not_found", "no such incident")
        principal.require_read(incident.plate)
    plate = body.province
    if plate is not None:
        principal.require_read(plate)
    elif incident is None and not principal.sees_province(None):
        plate = principal.province
    circle = None
    if body.lat is not None and body.lon is not None and body.radius_km is not None:
        circle = Circle(lat=body.lat, lon=body.lon, radius_km=body.radius_km)
    elif (body.lat, body.lon, body.radius_km) != (None, None, None):
        raise ApiError(422, "invalid_body", "an area needs lat, lon and radius_km together")
    if incident is None and not body.unit_ids and plate is None and circle is None:
        raise ApiError(422, "invalid_body", "name units, an incident or an area")
    targets = tuple(
        unit_id
        for unit_id in resolve_targets(
            engine.state.units.values(),
            unit_ids=body.unit_ids,
            incident=incident,
            plate=plate,
            circle=circle,
            agency=body.agency,
        )
        if principal.sees_province(centre_plate(engine.state.units[unit_id].centre))
    )
    area = None
    if circle is not None:
        area = f"{circle.lat:.5f},{circle.lon:.5f} r{circle.radius_km:g} km"
    elif plate is not None:
        area = f"il {plate:02d}"
    try:
        event = decide_push(
            message_id=f"msg-{os.urandom(8).hex()}",
            targets=targets,
            text=body.text,
            actor=principal.subject,
            now=engine.clock.now(),
            plate=incident.plate if incident is not None else plate,
            incident_id=incident.incident_id if incident is not None else None,
            area=area,
            idempotency_key=key,
            max_text=runtime.settings.push_max_text,
        )
    except PushRefused as exc:
        raise ApiError(422, "push_refused", str(exc)) from None
    records = await engine.record([event])
    return json_response(
        {"message_id": event.message_id, "units": list(targets), "seq": records[0].seq}, 202
    )


async def get_push(request: web.Request) -> web.Response:
    """A push and which units have acknowledged it."""
    principal = principal_of(request)
    push = _runtime(request).ledger.messages.get(request.match_info["message_id"])
    if push is None:
        raise ApiError(404, "not_found", "no such message")
    principal.require_read(push.sent.plate)
    return json_response(push.to_json())


def add_routes(app: web.Application) -> None:
    """GAMER coordination's routes and OpenAPI entries."""
    app.router.add_get("/", root)
    app.router.add_get("/map", _page("map.html"))
    app.router.add_get("/console", _page("console.html"))
    app.router.add_static("/static/gamer/", STATIC, append_version=False)
    app.router.add_static("/static/leaflet/", LEAFLET)
    app.router.add_static("/static/leaflet-markercluster/", MARKERCLUSTER)
    app.router.add_get("/api/v1/gamer/config", config)
    app.router.add_get("/api/v1/gamer/stream", stream)
    app.router.add_get("/api/v1/gamer/summary", summary)
    app.router.add_post("/api/v1/classify", post_classify)
    app.router.add_get("/api/v1/reports/situation", situation_report)
    app.router.add_post("/api/v1/gamer/push", post_push)
    app.router.add_get("/api/v1/gamer/push/{message_id}", get_push)
    OPENAPI_MODELS["PushIn"] = PushIn
    OPENAPI_MODELS["ClassifyIn"] = ClassifyIn
    OPENAPI_PATHS.update(
        {
            "/api/v1/gamer/stream": {
                "get": {
                    "summary": "Dashboard websocket: snapshot, then coalesced deltas (scoped)",
                    "parameters": [
                        {"name": n, "in": "query", "schema": {"type": "string"}}
                        for n in ("province", "since", "epoch")
                    ],
                    "responses": {"101": {"description": "websocket"}},
                }
            },
            "/api/v1/gamer/summary": {
                "get": {
                    "summary": "Open incidents, times, units, spikes of a province or the country",
                    "responses": {"200": {"description": "summary"}},
                }
            },
            "/api/v1/reports/situation": {
                "get": {
                    "summary": "Situation report of a province or the country (printable HTML)",
                    "parameters": [
                        {"name": n, "in": "query", "schema": {"type": "string"}}
                        for n in ("province", "from", "to", "format")
                    ],
                    "responses": {"200": {"description": "text/html (or JSON)"}},
                }
            },
            "/api/v1/gamer/push": {
                "post": {
                    "summary": "Push information to units of an incident, an area or a list",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/PushIn"}}
                        },
                    },
                    "responses": {"202": {"description": "recorded; published over MQTT"}},
                }
            },
            "/api/v1/gamer/push/{message_id}": {
                "get": {
                    "summary": "A push and its acknowledgements",
                    "responses": {"200": {"description": "the push"}},
                }
            },
            "/api/v1/classify": {
                "post": {
                    "summary": "Classification suggestion for a call's text (read only)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ClassifyIn"}
                            }
                        },
                    },
                    "responses": {"200": {"description": "suggestion"}},
                }
            },
        }
    )
