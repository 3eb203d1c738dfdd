"""``decide``: commands in, events out, against the current state. Pure.

The service looks up what a command needs (the incident, a placement from ``routing``,
fresh ids, the time) and passes it in; nothing here awaits, reads a clock or a database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from dispatch.core.classification import classify
from dispatch.core.lifecycle import check_transition
from dispatch.core.projections import IncidentView
from dispatch.model.centres import CENTRAL_DESK, provincial_centre
from dispatch.model.events import (
    CallAttached,
    CallReceived,
    Event,
    IncidentClassified,
    IncidentNoteAdded,
    IncidentOpened,
    IncidentPlaced,
    IncidentStatusChanged,
)
from dispatch.model.ids import CallId, CentreId, IncidentId
from dispatch.model.values import Caller, Location, Placement
from dispatch.model.vocabulary import (
    Agency,
    Channel,
    IncidentStatus,
    Priority,
    UnfoundedReason,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveCall:
    """Record a new call from any channel."""

    channel: Channel
    caller: Caller = field(default_factory=Caller)
    dialled: str = "112"
    text: str | None = None
    location: Location | None = None
    client_request_id: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    priority: Priority | None = None
    incident_type: str | None = None
    agencies: tuple[Agency, ...] = ()
    centre: CentreId | None = None

    @property
    def idempotency_key(self) -> str | None:
        """The key under which a retry of this command is recognised."""
        if self.client_request_id is None:
            return None
        return f"call:{self.client_request_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DecidedCall:
    """A new call already decided (by a front process): its ids and its events.

    ``idempotency_key`` is the :class:`ReceiveCall`'s, so the engine still recognises a
    retry and answers it with the original instead of these events.
    """

    idempotency_key: str | None
    call_id: CallId
    incident_id: IncidentId
    events: tuple[Event, ...]


class Action(enum.StrEnum):
    """What an operator can do to an incident through the API."""

    CLASSIFY = "classify"
    QUEUE = "queue"
    ASSIGN = "assign"
    DISPATCH = "dispatch"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVE = "resolve"
    CLOSE = "close"
    CANCEL = "cancel"
    MERGE = "merge"
    UNFOUNDED = "unfounded"
    NOTE = "note"
    PLACE = "place"


_TARGET: dict[Action, IncidentStatus] = {
    Action.CLASSIFY: IncidentStatus.CLASSIFIED,
    Action.QUEUE: IncidentStatus.QUEUED,
    Action.ASSIGN: IncidentStatus.ASSIGNED,
    Action.DISPATCH: IncidentStatus.DISPATCHED,
    Action.EN_ROUTE: IncidentStatus.EN_ROUTE,
    Action.ON_SCENE: IncidentStatus.ON_SCENE,
    Action.RESOLVE: IncidentStatus.RESOLVED,
    Action.CLOSE: IncidentStatus.CLOSED,
    Action.CANCEL: IncidentStatus.CANCELLED,
    Action.MERGE: IncidentStatus.MERGED,
    Action.UNFOUNDED: IncidentStatus.UNFOUNDED,
}


class CommandRefused(Exception):  # noqa: N818 - names the refusal
    """A well-formed command that the current state does not allow."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentAction:
    """An operator's action on an incident."""

    action: Action
    actor: str
    reason: str | None = None
    into: IncidentId | None = None
    unfounded_reason: UnfoundedReason | None = None
    incident_type: str | None = None
    priority: Priority | None = None
    agencies: tuple[Agency, ...] = ()
    suggested_type: str | None = None
    text: str | None = None
    location: Location | None = None
    client_request_id: str | None = None

    @property
    def idempotency_key(self) -> str | None:
        """The key under which a retry of this action is recognised."""
        if self.client_request_id is None:
            return None
        return f"action:{self.client_request_id}"


def centre_for(placement: Placement | None) -> CentreId:
    """The centre that takes a case: its province's, else the central desk."""
    if placement is not None and placement.plate is not None:
        return provincial_centre(placement.plate)
    return CENTRAL_DESK


def default_priority(channel: Channel) -> Priority:
    """Priority before anyone has classified the call: alarms without voice come first."""
    if channel in {Channel.ECALL, Channel.PANIC_APP}:
        return Priority.IMMEDIATE
    return Priority.PROMPT


def decide_receive_call(
    command: ReceiveCall,
    *,
    call_id: CallId,
    incident_id: IncidentId,
    placement: Placement | None,
    now: datetime,
) -> list[Event]:
    """A new call opens a new incident in ``new``; merging duplicates is a later action."""
    plate = placement.plate if placement else None
    centre = command.centre or centre_for(placement)
    suggestion = classify(
        channel=command.channel,
        dialled=command.dialled,
        text=command.text,
        language=command.caller.language,
    )
    ground = placement.ground if placement else None
    received = CallReceived(
        occurred_at=now,
        idempotency_key=command.idempotency_key,
        plate=plate,
        call_id=call_id,
        incident_id=incident_id,
        channel=command.channel,
        centre=centre,
        caller=command.caller,
        dialled=command.dialled,
        text=command.text,
        location=command.location,
        placement=placement,
        details=command.details,
    )
    opened = IncidentOpened(
        occurred_at=now,
        plate=plate,
        incident_id=incident_id,
        call_id=call_id,
        channel=command.channel,
        centre=centre,
        priority=command.priority or min(suggestion.priority, default_priority(command.channel)),
        incident_type=command.incident_type,
        agencies=command.agencies or suggestion.agencies_for(ground),
        location=command.location,
        placement=placement,
        suggested_type=suggestion.incident_type.value,
        suggestion_confidence=round(suggestion.confidence, 3),
        suggestion_reasons=suggestion.reasons,
    )
    return [received, opened]


def decide_action(
    incident: IncidentView,
    command: IncidentAction,
    *,
    now: datetime,
    target: IncidentView | None = None,
    placement: Placement | None = None,
) -> list[Event]:
    """The events an operator's action produces, or :class:`CommandRefused` / IllegalTransition.

    ``placement`` is where ``command.location`` falls (the service asks the locator).
    """
    plate = incident.plate
    key = command.idempotency_key
    if command.action is Action.PLACE:
        return [_place(incident, command, now=now, placement=placement)]
    if command.action is Action.NOTE:
        if not command.text:
            raise CommandRefused("a note needs text")
        return [
            IncidentNoteAdded(
                occurred_at=now,
                idempotency_key=key,
                plate=plate,
                incident_id=incident.incident_id,
                actor=command.actor,
                text=command.text,
            )
        ]
    status = _TARGET[command.action]
    check_transition(incident.status, status)
    events: list[Event] = []
    if command.action is Action.CLASSIFY:
        if command.incident_type is None or command.priority is None:
            raise CommandRefused("classify needs incident_type and priority")
        events.append(
            IncidentClassified(
                occurred_at=now,
                idempotency_key=key,
                plate=plate,
                incident_id=incident.incident_id,
                incident_type=command.incident_type,
                priority=command.priority,
                agencies=command.agencies,
                actor=command.actor,
                suggested_type=command.suggested_type,
            )
        )
        key = None
        if incident.status is IncidentStatus.CLASSIFIED:
            return events
    if command.action is Action.UNFOUNDED and command.unfounded_reason is None:
        raise CommandRefused("unfounded needs an unfounded_reason")
    if command.action is Action.MERGE:
        _check_merge(incident, target)
    events.append(
        IncidentStatusChanged(
            occurred_at=now,
            idempotency_key=key,
            plate=plate,
            incident_id=incident.incident_id,
            previous=incident.status,
            status=status,
            actor=command.actor,
            reason=command.reason,
            merged_into=command.into if command.action is Action.MERGE else None,
            unfounded_reason=command.unfounded_reason,
        )
    )
    if command.action is Action.MERGE and target is not None:
        events.extend(
            CallAttached(
                occurred_at=now,
                plate=target.plate,
                incident_id=target.incident_id,
                call_id=call_id,
                actor=command.actor,
            )
            for call_id in incident.calls
        )
    return events


def _place(
    incident: IncidentView,
    command: IncidentAction,
    *,
    now: datetime,
    placement: Placement | None,
) -> Event:
    if command.location is None:
        raise CommandRefused("place needs a location")
    if not incident.status.is_open:
        raise CommandRefused(f"the incident is {incident.status}")
    return IncidentPlaced(
        occurred_at=now,
        idempotency_key=command.idempotency_key,
        plate=placement.plate if placement else None,
        incident_id=incident.incident_id,
        actor=command.actor,
        location=command.location,
        placement=placement,
        centre=centre_for(placement) if placement and placement.plate else incident.centre,
        previous_centre=incident.centre,
    )


def _check_merge(incident: IncidentView, target: IncidentView | None) -> None:
    if target is None:
        raise CommandRefused("merge needs an existing incident to merge into")
    if target.incident_id == incident.incident_id:
        raise CommandRefused("an incident cannot be merged into itself")
    if not target.status.is_open:
        raise CommandRefused(f"the incident to merge into is {target.status}")
