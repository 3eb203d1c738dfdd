"""The dispatchers' HTTP API for units, recommendations, hand-offs and duplicates.

- ``POST /api/v1/units`` (administrator) registers a unit; ``GET /api/v1/units`` lists them.
- ``GET /api/v1/incidents/{id}/recommendations?agency=&k=``: the ``k`` best available units
  of the agency by travel time (``travel_time_s``, ``distance_m``, ``method``).
- ``POST /api/v1/incidents/{id}/dispatch`` ``{"unit_id", "override_reason"?}``: the
  dispatcher accepts the recommendation or overrides it with a reason; the order goes to
  the unit after commit. ``GET /api/v1/orders?state=`` lists orders (``unacknowledged``:
  the ones flagged to the dispatcher).
- ``GET /api/v1/incidents/{id}/hand-offs`` and
  ``POST /api/v1/incidents/{id}/hand-offs/{agency}/ack``: one hand-off per agency.
- ``GET /api/v1/duplicates``; ``POST /api/v1/incidents/{id}/duplicate/accept`` (merge into
  the proposed incident) and ``.../duplicate/reject``.
- ``GET /api/v1/incidents/{id}/trapped`` and ``POST /api/v1/calls/{id}/trapped``
  ``{"count"}``: the earthquake register per site.

Every rejection is an :class:`~dispatch.adapters.http.ApiError` (counted, never echoing
input); domain refusals of the services map to 404 or 409.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from dispatch.adapters.http import (
    ENGINE,
    OPENAPI_MODELS,
    OPENAPI_PATHS,
    ApiError,
    json_response,
    principal_of,
    read_body,
)
from dispatch.adapters.schemas import LocationIn
from dispatch.duplicates import DuplicateDecisions, DuplicateError, UnknownProposal
from dispatch.model.access import AccessDenied
from dispatch.model.centres import is_known_centre
from dispatch.model.ids import CentreId, IncidentId
from dispatch.model.vocabulary import Agency, Role, UnitKind, UnitStatus
from dispatch.multi_agency import HandOffError, MultiAgencyService, UnknownHandOff
from dispatch.units import OrderState, UnitsError, UnitsService, UnknownUnit
from dispatch.units_topics import UNIT_ID_PATTERN

UNITS = web.AppKey("units", UnitsService)
HAND_OFFS = web.AppKey("hand_offs", MultiAgencyService)
DUPLICATES = web.AppKey("duplicates", DuplicateDecisions)

_STRICT = ConfigDict(extra="forbid", frozen=True)
Handler = Callable[[web.Request], Awaitable[web.Response]]


class RegisterUnitIn(BaseModel):
    """``POST /api/v1/units``: a unit of one agency and one home centre."""

    model_config = _STRICT

    unit_id: str = Field(pattern=UNIT_ID_PATTERN)
    kind: UnitKind
    agency: Agency
    centre: str = Field(pattern=r"^([0-9]{2}|central)$")
    callsign: str = Field(min_length=1, max_length=32)
    home: LocationIn | None = None


class DispatchIn(BaseModel):
    """``POST /api/v1/incidents/{id}/dispatch``: the unit to send, and why if not the best."""

    model_config = _STRICT

    unit_id: str = Field(pattern=UNIT_ID_PATTERN)
    override_reason: str | None = Field(default=None, min_length=3, max_length=500)


class TrappedIn(BaseModel):
    """``POST /api/v1/calls/{id}/trapped``: how many people the caller says are trapped."""

    model_config = _STRICT

    count: int = Field(ge=0, le=10_000)


def _refusals(handler: Handler) -> Handler:
    """Map the services' refusals to precise API errors."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except (UnknownUnit, UnknownHandOff, UnknownProposal) as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        except (UnitsError, HandOffError, DuplicateError) as exc:
            raise ApiError(409, "refused", str(exc)) from None

    return wrapped


def _incident_plate(request: web.Request) -> tuple[IncidentId, int | None]:
    incident_id = IncidentId(request.match_info["incident_id"])
    incident = request.app[ENGINE].incident(incident_id)  # 404 if unknown
    return incident_id, incident.plate


@_refusals
async def register_unit(request: web.Request) -> web.Response:
    """Register a unit (administrators only)."""
    principal = principal_of(request)
    if principal.role is not Role.ADMINISTRATOR:
        raise AccessDenied("only an administrator registers units")
    body = await read_body(request, RegisterUnitIn)
    if not is_known_centre(body.centre):
        raise ApiError(422, "invalid_body", "centre: not a known centre")
    record = await request.app[UNITS].register(
        unit_id=body.unit_id,
        kind=body.kind,
        agency=body.agency,
        centre=CentreId(body.centre),
        callsign=body.callsign,
        home=body.home.to_location("home") if body.home else None,
    )
    unit = request.app[UNITS].unit(body.unit_id)
    return json_response({"unit": unit.to_json(), "seq": record.seq}, 201)


_E = TypeVar("_E", Agency, UnitStatus, OrderState)


def _enum_query(request: web.Request, name: str, kind: type[_E]) -> _E | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        raise ApiError(400, "invalid_query", f"{name} is not a known value") from None


async def list_units(request: web.Request) -> web.Response:
    """The fleet, optionally by agency and status."""
    principal = principal_of(request)
    principal.require_read(principal.province)
    agency = _enum_query(request, "agency", Agency)
    status = _enum_query(request, "status", UnitStatus)
    return json_response({"units": request.app[UNITS].units_json(agency, status)})


@_refusals
async def recommendations(request: web.Request) -> web.Response:
    """The k best available units of an agency by travel time."""
    incident_id, plate = _incident_plate(request)
    principal_of(request).require_read(plate)
    units = request.app[UNITS]
    incident = request.app[ENGINE].incident(incident_id)
    agency = _enum_query(request, "agency", Agency)
    if agency is None:
        if not incident.agencies:
            raise ApiError(400, "invalid_query", "agency is required for this incident")
        agency = incident.agencies[0]
    try:
        k = int(request.query.get("k", str(units.settings.recommend_k)))
    except ValueError:
        raise ApiError(400, "invalid_query", "k must be an integer") from None
    if not 1 <= k <= 50:
        raise ApiError(400, "invalid_query", "k must be within 1..50")
    ranked = units.recommend(incident_id, agency, k)
    return json_response(
        {
            "incident_id": incident_id,
            "agency": agency.value,
            "road_graph": units.graph is not None,
            "recommendations": [
                {
                    "unit_id": r.unit_id,
                    "callsign": units.unit(r.unit_id).callsign,
                    "travel_time_s": r.travel_time_s,
                    "distance_m": r.distance_m,
                    "method": r.method,
                }
                for r in ranked
            ],
        }
    )


@_refusals
async def dispatch_unit(request: web.Request) -> web.Response:
    """Send a unit; the order goes out after commit."""
    incident_id, _plate = _incident_plate(request)
    body = await read_body(request, DispatchIn)
    result = await request.app[UNITS].dispatch(
        incident_id,
        body.unit_id,
        principal_of(request),
        override_reason=body.override_reason,
    )
    recommendation = result.recommendation
    return json_response(
        {
            "order": result.order.to_json(),
            "recommended": result.recommended,
            "travel_time_s": recommendation.travel_time_s if recommendation else None,
            "method": recommendation.method if recommendation else None,
            "seqs": result.seqs,
        },
        201,
    )


async def list_orders(request: web.Request) -> web.Response:
    """Orders, optionally by state (``unacknowledged``: flagged) and incident."""
    principal = principal_of(request)
    principal.require_read(principal.province)
    state = _enum_query(request, "state", OrderState)
    incident_id = request.query.get("incident_id")
    incidents = request.app[ENGINE].state.incidents
    orders = []
    for order in request.app[UNITS].orders.orders.values():
        incident = incidents.get(order.incident_id)
        if not principal.sees_province(incident.plate if incident else None):
            continue
        if state is not None and order.state is not state:
            continue
        if incident_id is not None and order.incident_id != incident_id:
            continue
        orders.append(order.to_json())
    return json_response({"orders": orders})


async def list_hand_offs(request: web.Request) -> web.Response:
    """One incident's hand-offs, one per agency."""
    incident_id, plate = _incident_plate(request)
    principal_of(request).require_read(plate)
    book = request.app[HAND_OFFS].book
    return json_response(
        {
            "incident_id": incident_id,
            "hand_offs": [h.to_json() for h in book.hand_offs(incident_id)],
        }
    )


@_refusals
async def acknowledge_hand_off(request: web.Request) -> web.Response:
    """One agency's dispatcher acknowledges its hand-off."""
    incident_id, _plate = _incident_plate(request)
    try:
        agency = Agency(request.match_info["agency"])
    except ValueError:
        raise ApiError(404, "not_found", "no such agency") from None
    record = await request.app[HAND_OFFS].acknowledge(incident_id, agency, principal_of(request))
    return json_response({"seq": record.seq, "agency": agency.value})


async def list_duplicates(request: web.Request) -> web.Response:
    """Proposals waiting for a dispatcher's decision."""
    principal = principal_of(request)
    principal.require_read(principal.province)
    proposals = [
        p.to_json()
        for p in request.app[DUPLICATES].book.open_proposals()
        if principal.sees_province(p.plate)
    ]
    return json_response({"duplicates": proposals})


@_refusals
async def accept_duplicate(request: web.Request) -> web.Response:
    """Merge the incident into the one it was proposed to duplicate."""
    incident_id, _plate = _incident_plate(request)
    records = await request.app[DUPLICATES].accept(incident_id, principal_of(request))
    proposal = request.app[DUPLICATES].proposal(incident_id)
    return json_response({"merged_into": proposal.candidate, "seqs": [r.seq for r in records]})


@_refusals
async def reject_duplicate(request: web.Request) -> web.Response:
    """Keep the incident as one of its own."""
    incident_id, _plate = _incident_plate(request)
    record = await request.app[DUPLICATES].reject(incident_id, principal_of(request))
    return json_response({"seq": record.seq})


async def get_trapped(request: web.Request) -> web.Response:
    """The register line of one site: people reported trapped."""
    incident_id, plate = _incident_plate(request)
    principal_of(request).require_read(plate)
    line = request.app[DUPLICATES].trapped(incident_id)
    body: dict[str, Any] = {
        "incident_id": incident_id,
        "estimate": line.estimate if line else 0,
        "reported_sum": line.reported_sum if line else 0,
        "reports": line.reports if line else 0,
        "last_report_at": line.last_report_at.isoformat() if line else None,
    }
    return json_response(body)


async def post_trapped(request: web.Request) -> web.Response:
    """A caller's count of people trapped."""
    body = await read_body(request, TrappedIn)
    try:
        record = await request.app[DUPLICATES].report_trapped(
            request.match_info["call_id"], body.count, principal_of(request)
        )
    except LookupError:
        raise ApiError(404, "not_found", "no such call") from None
    return json_response({"seq": record.seq}, 202)


def add_routes(app: web.Application) -> None:
    """The routes of units, hand-offs and duplicates, and their OpenAPI entries."""
    router = app.router
    router.add_post("/api/v1/units", register_unit)
    router.add_get("/api/v1/units", list_units)
    router.add_get("/api/v1/orders", list_orders)
    router.add_get("/api/v1/incidents/{incident_id}/recommendations", recommendations)
    router.add_post("/api/v1/incidents/{incident_id}/dispatch", dispatch_unit)
    router.add_get("/api/v1/incidents/{incident_id}/hand-offs", list_hand_offs)
    router.add_post("/api/v1/incidents/{incident_id}/hand-offs/{agency}/ack", acknowledge_hand_off)
    router.add_get("/api/v1/duplicates", list_duplicates)
    router.add_post("/api/v1/incidents/{incident_id}/duplicate/accept", accept_duplicate)
    router.add_post("/api/v1/incidents/{incident_id}/duplicate/reject", reject_duplicate)
    router.add_get("/api/v1/incidents/{incident_id}/trapped", get_trapped)
    router.add_post("/api/v1/calls/{call_id}/trapped", post_trapped)
    OPENAPI_MODELS.update(
        {"RegisterUnitIn": RegisterUnitIn, "DispatchIn": DispatchIn, "TrappedIn": TrappedIn}
    )
    for path, method, summary, model in _OPENAPI:
        item: dict[str, Any] = {
            "summary": summary,
            "responses": {"200": {"description": "JSON"}, "4XX": {"description": "refused"}},
        }
        if model is not None:
            item["requestBody"] = {
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}
                }
            }
        OPENAPI_PATHS.setdefault(path, {})[method] = item


_OPENAPI: tuple[tuple[str, str, str, str | None], ...] = (
    ("/api/v1/units", "post", "Register a unit (administrator)", "RegisterUnitIn"),
    ("/api/v1/units", "get", "The fleet by agency and status", None),
    ("/api/v1/orders", "get", "Orders to units; state=unacknowledged lists flagged ones", None),
    (
        "/api/v1/incidents/{incident_id}/recommendations",
        "get",
        "The k best available units of an agency by travel time",
        None,
    ),
    (
        "/api/v1/incidents/{incident_id}/dispatch",
        "post",
        "Send a unit (recommended, or overridden with a reason)",
        "DispatchIn",
    ),
    ("/api/v1/incidents/{incident_id}/hand-offs", "get", "The incident's agency hand-offs", None),
    (
        "/api/v1/incidents/{incident_id}/hand-offs/{agency}/ack",
        "post",
        "An agency acknowledges its hand-off",
        None,
    ),
    ("/api/v1/duplicates", "get", "Duplicate proposals waiting for a decision", None),
    (
        "/api/v1/incidents/{incident_id}/duplicate/accept",
        "post",
        "Merge into the proposed incident",
        None,
    ),
    (
        "/api/v1/incidents/{incident_id}/duplicate/reject",
        "post",
        "Keep the incident as its own",
        None,
    ),
    ("/api/v1/incidents/{incident_id}/trapped", "get", "People reported trapped at a site", None),
    ("/api/v1/calls/{call_id}/trapped", "post", "A caller's count of people trapped", "TrappedIn"),
)
