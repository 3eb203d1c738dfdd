"""HTTP routes of call-taking: operators, the next call, language flags, queues, answer times.

Every route checks the principal's role and scope (call-takers at their centre, the
desk's operators at the central desk, sign-language operators at the central desk or their
province, administrators anywhere); refusals are ``{"error": {"code", "reason"}}`` answers
counted in ``ng112_rejected_total`` and never echo input. Commands answer only after their
event is committed. ``/metrics`` gets the answer-time histogram (NENA-STA-020.1) and the
queue gauges through ``EXTRA_METRICS``.
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

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
from dispatch.call_taking import (
    CallRecord,
    CallRefused,
    CallTaking,
    CallTakingError,
    NotPermitted,
    OperatorRefused,
    UnknownCall,
    UnknownCentre,
    check_centre,
)
from dispatch.core.answer_times import AnswerTimeStats
from dispatch.core.call_queue import OperatorView, QueueSnapshot, WaitingEntry
from dispatch.core.overflow import CentreCondition
from dispatch.model.centres import ALL_CENTRES, centre_plate
from dispatch.model.ids import CallId, CentreId, OperatorId
from dispatch.model.vocabulary import Channel, UnfoundedReason

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from dispatch.model.access import Principal
    from dispatch.service import Engine

CALL_TAKING = web.AppKey("call_taking", CallTaking)

_STRICT = ConfigDict(extra="forbid", frozen=True)
_ID = r"^[A-Za-z0-9._:\-]{1,64}$"
_MAX_WAITING_SHOWN = 500


class LoginIn(BaseModel):
    """``POST /api/v1/operators/{id}/login``: where and with which skills."""

    model_config = _STRICT

    centre: str = Field(pattern=r"^(central|[0-9]{2})$")
    skills: list[str] = Field(min_length=1, max_length=16)

    def checked_skills(self) -> list[str]:
        """Skills, each a language code, ``tid`` or ``text``."""
        for skill in self.skills:
            if not (2 <= len(skill) <= 4 and skill.isascii() and skill.isalpha()):
                raise ApiError(422, "invalid_body", "skills: language codes, 'tid' or 'text'")
        return self.skills


class NotReadyIn(BaseModel):
    """``POST /api/v1/operators/{id}/not-ready``: an optional reason (a break, training)."""

    model_config = _STRICT

    reason: str | None = Field(default=None, max_length=200)


class LanguageFlagIn(BaseModel):
    """``POST /api/v1/calls/{id}/language``: a call-taker's flag or correction."""

    model_config = _STRICT

    language: str = Field(pattern=r"^([a-z]{2,3}|foreign)$")
    operator: str | None = Field(default=None, pattern=_ID)


class UnfoundedIn(BaseModel):
    """``POST /api/v1/calls/{id}/unfounded``: the one-key disposition and its reason."""

    model_config = _STRICT

    reason: UnfoundedReason
    note: str | None = Field(default=None, max_length=1000)


class CentreStatusIn(BaseModel):
    """``POST /api/v1/centres/{centre}/status``: an administrator's mark."""

    model_config = _STRICT

    condition: CentreCondition
    reason: str | None = Field(default=None, max_length=500)


# -- helpers -------------------------------------------------------------------------------


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _operator_id(request: web.Request) -> OperatorId:
    text = request.match_info["operator_id"]
    if not (0 < len(text) <= 64 and all(c.isalnum() or c in "._:-" for c in text)):
        raise ApiError(400, "invalid_operator", "an operator id is 1-64 letters, digits, ._:-")
    return OperatorId(text)


def _centre(text: str) -> CentreId:
    try:
        return check_centre(text)
    except UnknownCentre as exc:
        raise ApiError(400, "unknown_centre", str(exc)) from None


T = TypeVar("T")


async def _guard(work: Awaitable[T]) -> T:
    """Run a service call, turning its refusals into API errors."""
    try:
        return await work
    except UnknownCentre as exc:
        raise ApiError(404, "unknown_centre", str(exc)) from None
    except NotPermitted as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except OperatorRefused as exc:
        raise ApiError(409, "operator_state", str(exc)) from None
    except UnknownCall as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except CallRefused as exc:
        raise ApiError(409, "call_state", str(exc)) from None
    except CallTakingError as exc:  # pragma: no cover - every subclass is handled above
        raise ApiError(409, "refused", str(exc)) from None


def operator_json(view: OperatorView, centre: CentreId) -> dict[str, Any]:
    """One operator as the API shows it."""
    return {
        "operator": view.operator_id,
        "centre": centre,
        "state": view.state.value,
        "skills": sorted(view.skills),
        "call_id": view.call_id,
        "state_since": _iso(view.state_since),
    }


def offered_call_json(
    service: CallTaking, record: CallRecord, principal: Principal, now: datetime
) -> dict[str, Any]:
    """The call an operator holds: caller data, location evidence, language and flags."""
    engine_call = service.engine.state.calls.get(record.call_id)
    flags: list[dict[str, Any]] = []
    if record.flag is not None:
        flags.append(
            {
                "kind": "repeat_unfounded",
                "count": record.flag.count,
                "window_s": record.flag.window.total_seconds(),
                "reasons": record.flag.reasons,
                "note": record.flag.note,
            }
        )
    body: dict[str, Any] = {
        "call_id": record.call_id,
        "incident_id": record.incident_id,
        "channel": record.channel.value,
        "centre": record.centre,
        "province_centre": record.province,
        "plate": record.plate,
        "state": record.state.value,
        "offered_at": record.offered_at.isoformat(),
        "waited_s": max(0.0, now.timestamp() - record.since),
        "language": record.language,
        "desk_reason": record.desk_reason,
        "placed_because": record.placed_because,
        "interpreter": record.interpreter,
        "flags": flags,
        "language_verdict": msgspec.to_builtins(record.verdict) if record.verdict else None,
        "case": msgspec.to_builtins(record.case) if record.case else None,
    }
    if engine_call is not None and principal.sees_caller_data:
        body["caller"] = msgspec.to_builtins(engine_call.caller)
        body["text"] = engine_call.text
        body["dialled"] = engine_call.dialled
        body["location"] = msgspec.to_builtins(engine_call.location)
        body["placement"] = msgspec.to_builtins(engine_call.placement)
        body["evidence"] = msgspec.to_builtins(engine_call.evidence)
    return body


def _waiting_json(service: CallTaking, entry: WaitingEntry) -> dict[str, Any]:
    record = service.fold.calls.get(entry.call.call_id)
    return {
        "call_id": entry.call.call_id,
        "channel": entry.call.channel.value,
        "language": entry.call.language,
        "queue_class": entry.call.queue_class.name.lower(),
        "waited_s": entry.waited_s,
        "waiting_for": sorted(entry.waiting_for),
        "reason": entry.reason.value if entry.reason else None,
        "detail": entry.detail,
        "province_centre": entry.call.home_centre,
        "placed_because": record.placed_because if record else None,
        "desk_reason": record.desk_reason if record else None,
    }


def _snapshot_json(
    service: CallTaking, snapshot: QueueSnapshot, waiting: list[WaitingEntry]
) -> dict[str, Any]:
    return {
        "centre": snapshot.centre,
        "condition": service.fold.condition(snapshot.centre).value,
        "depth": snapshot.depth,
        "max_waiting": snapshot.max_waiting,
        "depth_by_skill": snapshot.depth_by_skill,
        "depth_by_class": snapshot.depth_by_class,
        "oldest_wait_s": snapshot.oldest_wait_s,
        "fallback_waiting": snapshot.fallback_waiting,
        "operators_by_state": snapshot.operators_by_state,
        "waiting": [_waiting_json(service, entry) for entry in waiting],
    }


def stats_json(stats: AnswerTimeStats) -> dict[str, Any]:
    """Answer-time figures as the API shows them."""
    return {
        "answered": stats.answered,
        "abandoned": stats.abandoned,
        "within_15s": stats.within_15s,
        "within_20s": stats.within_20s,
        "p50_s": stats.p50_s,
        "p90_s": stats.p90_s,
        "p95_s": stats.p95_s,
        "mean_s": stats.mean_s,
        "meets_standard": stats.meets_standard,
        "standard": "NENA-STA-020.1-2020: 90% within 15 s, 95% within 20 s",
    }


def _service(request: web.Request) -> CallTaking:
    return request.app[CALL_TAKING]


# -- operator handlers ---------------------------------------------------------------------


async def login(request: web.Request) -> web.Response:
    """Log an operator in at a centre with skills; not ready until they say so."""
    body = await read_body(request, LoginIn)
    service = _service(request)
    operator = _operator_id(request)
    view = await _guard(
        service.log_in(operator, body.centre, body.checked_skills(), principal_of(request))
    )
    return json_response({"operator": operator_json(view, _centre(body.centre))}, 201)


async def logout(request: web.Request) -> web.Response:
    """Log an operator out."""
    service = _service(request)
    await _guard(service.log_out(_operator_id(request), principal_of(request)))
    return json_response({"logged_out": True})


async def ready(request: web.Request) -> web.Response:
    """The operator is ready for calls."""
    service = _service(request)
    operator = _operator_id(request)
    view = await _guard(service.ready(operator, principal_of(request)))
    return json_response({"operator": operator_json(view, service.fold.operators[operator])})


async def not_ready(request: web.Request) -> web.Response:
    """The operator pauses (an optional JSON body gives the reason)."""
    reason = None
    if request.can_read_body:
        reason = (await read_body(request, NotReadyIn)).reason
    service = _service(request)
    operator = _operator_id(request)
    view = await _guard(service.not_ready(operator, principal_of(request), reason))
    return json_response({"operator": operator_json(view, service.fold.operators[operator])})


async def next_call(request: web.Request) -> web.Response:
    """The best waiting call the operator can serve, with caller data; ``null`` if none."""
    service = _service(request)
    principal = principal_of(request)
    offered = await _guard(service.next_call(_operator_id(request), principal))
    if offered is None:
        return json_response({"call": None})
    now = service.engine.clock.now()
    return json_response({"call": offered_call_json(service, offered.record, principal, now)})


async def answer(request: web.Request) -> web.Response:
    """The operator answers the call they hold: its answer time ends here."""
    service = _service(request)
    principal = principal_of(request)
    record = await _guard(service.answer(_operator_id(request), principal))
    now = service.engine.clock.now()
    return json_response({"call": offered_call_json(service, record, principal, now)})


async def wrap_up(request: web.Request) -> web.Response:
    """The operator has finished with the call they hold."""
    service = _service(request)
    operator = _operator_id(request)
    call_id = await _guard(service.wrap_up(operator, principal_of(request)))
    view = service.fold.operator_view(operator)
    centre = service.fold.operators[operator]
    return json_response(
        {"call_id": call_id, "operator": operator_json(view, centre) if view else None}
    )


# -- call handlers -------------------------------------------------------------------------


async def flag_language(request: web.Request) -> web.Response:
    """A call-taker flags the caller's language (or corrects it); the call moves after."""
    body = await read_body(request, LanguageFlagIn)
    service = _service(request)
    principal = principal_of(request)
    call_id = CallId(request.match_info["call_id"])
    operator = OperatorId(body.operator) if body.operator else None
    record = await _guard(service.flag_language(call_id, body.language, principal, operator))
    now = service.engine.clock.now()
    return json_response({"call": offered_call_json(service, record, principal, now)})


async def unfounded(request: web.Request) -> web.Response:
    """The one-key disposition: the call's incident is unfounded, with its reason."""
    body = await read_body(request, UnfoundedIn)
    service = _service(request)
    call_id = CallId(request.match_info["call_id"])
    records = await _guard(
        service.unfounded(call_id, body.reason, principal_of(request), body.note)
    )
    return json_response({"seqs": [r.seq for r in records]})


# -- centres, queues, answer times ---------------------------------------------------------


async def centre_status(request: web.Request) -> web.Response:
    """An administrator marks a centre in service, overloaded or out of service."""
    body = await read_body(request, CentreStatusIn)
    service = _service(request)
    centre = request.match_info["centre"]
    condition = await _guard(
        service.set_centre_status(centre, body.condition, principal_of(request), body.reason)
    )
    return json_response({"centre": centre, "condition": condition.value})


def _visible_centres(request: web.Request) -> list[CentreId]:
    principal = principal_of(request)
    text = request.query.get("centre")
    if text is not None:
        centre = _centre(text)
        principal.require_read(centre_plate(centre))
        return [centre]
    principal.require_read(principal.province)
    return [c for c in ALL_CENTRES if principal.sees_province(centre_plate(c))]


async def queues(request: web.Request) -> web.Response:
    """Depth, oldest wait, fallback waits and operators per centre (``?centre=`` for one).

    Without ``centre`` only centres with calls, operators or a non-default status are listed.
    """
    service = _service(request)
    centres = _visible_centres(request)
    try:
        limit = min(int(request.query.get("limit", "50")), _MAX_WAITING_SHOWN)
    except ValueError:
        raise ApiError(400, "invalid_query", "limit must be an integer") from None
    if limit < 0:
        raise ApiError(400, "invalid_query", "limit must be >= 0")
    now = service.engine.clock.now()
    listed = []
    single = "centre" in request.query
    for centre in centres:
        snapshot = service.fold.queue_snapshot(centre, now)
        quiet = (
            snapshot.depth == 0
            and not snapshot.operators_by_state
            and service.fold.condition(centre) is CentreCondition.IN_SERVICE
        )
        if quiet and not single:
            continue
        waiting = service.fold.waiting(centre, now, limit)
        listed.append(_snapshot_json(service, snapshot, waiting))
    return json_response({"centres": listed, "held": len(service.fold.held)})


async def answer_times(request: web.Request) -> web.Response:
    """Answer-time figures per centre and/or channel against NENA-STA-020.1."""
    service = _service(request)
    principal = principal_of(request)
    centre_text = request.query.get("centre")
    centre = _centre(centre_text) if centre_text else None
    principal.require_read(centre_plate(centre) if centre else principal.province)
    channel_text = request.query.get("channel")
    try:
        channel = Channel(channel_text) if channel_text else None
    except ValueError:
        raise ApiError(400, "invalid_query", "channel must be a known channel") from None
    stats = service.fold.answer_stats(centre, channel)
    body = stats_json(stats)
    body["centre"] = centre
    body["channel"] = channel.value if channel else None
    return json_response(body)


# -- metrics -------------------------------------------------------------------------------

_SERVICES: weakref.WeakKeyDictionary[Engine, CallTaking] = weakref.WeakKeyDictionary()


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics_lines(service: CallTaking, now: datetime) -> list[str]:
    """Prometheus lines: answer times, queue depths, oldest waits, operators, held calls."""
    lines = service.fold.answer_times.exposition()
    depth = [
        "# HELP ng112_call_queue_depth Calls waiting per centre and skill key.",
        "# TYPE ng112_call_queue_depth gauge",
    ]
    oldest = [
        "# HELP ng112_call_queue_oldest_wait_seconds Wait of the longest-waiting call.",
        "# TYPE ng112_call_queue_oldest_wait_seconds gauge",
    ]
    fallback = [
        "# HELP ng112_call_queue_fallback_waiting Calls waiting for a fallback language.",
        "# TYPE ng112_call_queue_fallback_waiting gauge",
    ]
    operators = [
        "# HELP ng112_call_takers Logged-in call-takers per centre and state.",
        "# TYPE ng112_call_takers gauge",
    ]
    conditions = [
        "# HELP ng112_centre_in_service 1 if the centre takes calls (0 out of service).",
        "# TYPE ng112_centre_in_service gauge",
    ]
    for centre in ALL_CENTRES:
        snapshot = service.fold.queue_snapshot(centre, now)
        label = f'centre="{_label(centre)}"'
        depth.append(f'ng112_call_queue_depth{{{label},skill="all"}} {snapshot.depth}')
        for skill, count in sorted(snapshot.depth_by_skill.items()):
            depth.append(f'ng112_call_queue_depth{{{label},skill="{_label(skill)}"}} {count}')
        if snapshot.oldest_wait_s is not None:
            oldest.append(
                f"ng112_call_queue_oldest_wait_seconds{{{label}}} {snapshot.oldest_wait_s:.3f}"
            )
        if snapshot.fallback_waiting:
            fallback.append(
                f"ng112_call_queue_fallback_waiting{{{label}}} {snapshot.fallback_waiting}"
            )
        for state, count in sorted(snapshot.operators_by_state.items()):
            operators.append(f'ng112_call_takers{{{label},state="{_label(state)}"}} {count}')
        in_service = service.fold.condition(centre) is not CentreCondition.OUT_OF_SERVICE
        conditions.append(f"ng112_centre_in_service{{{label}}} {int(in_service)}")
    held = [
        "# HELP ng112_calls_held Calls held because every reachable queue was full.",
        "# TYPE ng112_calls_held gauge",
        f"ng112_calls_held {len(service.fold.held)}",
    ]
    return lines + depth + oldest + fallback + operators + conditions + held


def _extra_metrics(engine: Engine) -> bytes:
    service = _SERVICES.get(engine)
    if service is None:
        return b""
    return ("\n".join(metrics_lines(service, engine.clock.now())) + "\n").encode()


# -- installation --------------------------------------------------------------------------


def _operation(summary: str, body: str | None = None, ok: str = "200") -> dict[str, Any]:
    item: dict[str, Any] = {
        "summary": summary,
        "responses": {
            ok: {"description": "done"},
            "400": {"description": "bad input"},
            "403": {"description": "forbidden"},
            "409": {"description": "state does not allow it"},
        },
    }
    if body is not None:
        item["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return item


OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/operators/{operator_id}/login": {
        "post": _operation("Log a call-taker in at a centre with skills", "LoginIn", "201")
    },
    "/api/v1/operators/{operator_id}/logout": {"post": _operation("Log a call-taker out")},
    "/api/v1/operators/{operator_id}/ready": {"post": _operation("Ready for calls")},
    "/api/v1/operators/{operator_id}/not-ready": {"post": _operation("Pause", "NotReadyIn")},
    "/api/v1/operators/{operator_id}/next": {
        "post": _operation("Take the best waiting call (caller data, location, flags)")
    },
    "/api/v1/operators/{operator_id}/answer": {
        "post": _operation("Answer the call held: the end of its answer time")
    },
    "/api/v1/operators/{operator_id}/wrap-up": {"post": _operation("Finish with the call")},
    "/api/v1/calls/{call_id}/language": {
        "post": _operation("Flag or correct a call's language", "LanguageFlagIn")
    },
    "/api/v1/calls/{call_id}/unfounded": {
        "post": _operation("One-key unfounded disposition with a reason", "UnfoundedIn")
    },
    "/api/v1/centres/{centre}/status": {
        "post": _operation(
            "Mark a centre in service, overloaded or out of service", "CentreStatusIn"
        )
    },
    "/api/v1/queues": {"get": _operation("Queue depths, oldest waits and operators per centre")},
    "/api/v1/answer-times": {
        "get": _operation("Answer-time figures per centre and channel (NENA-STA-020.1)")
    },
}


def add_routes(app: web.Application, service: CallTaking) -> None:
    """Install the call-taking routes, metrics and OpenAPI paths on ``app``."""
    app[CALL_TAKING] = service
    _SERVICES[app[ENGINE]] = service
    if _extra_metrics not in EXTRA_METRICS:
        EXTRA_METRICS.append(_extra_metrics)
    OPENAPI_PATHS.update(OPENAPI)
    OPENAPI_MODELS.update(
        {
            "LoginIn": LoginIn,
            "NotReadyIn": NotReadyIn,
            "LanguageFlagIn": LanguageFlagIn,
            "UnfoundedIn": UnfoundedIn,
            "CentreStatusIn": CentreStatusIn,
        }
    )
    base = "/api/v1/operators/{operator_id}"
    app.router.add_post(f"{base}/login", login)
    app.router.add_post(f"{base}/logout", logout)
    app.router.add_post(f"{base}/ready", ready)
    app.router.add_post(f"{base}/not-ready", not_ready)
    app.router.add_post(f"{base}/next", next_call)
    app.router.add_post(f"{base}/answer", answer)
    app.router.add_post(f"{base}/wrap-up", wrap_up)
    app.router.add_post("/api/v1/calls/{call_id}/language", flag_language)
    app.router.add_post("/api/v1/calls/{call_id}/unfounded", unfounded)
    app.router.add_post("/api/v1/centres/{centre}/status", centre_status)
    app.router.add_get("/api/v1/queues", queues)
    app.router.add_get("/api/v1/answer-times", answer_times)
