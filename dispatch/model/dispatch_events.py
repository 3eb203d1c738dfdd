"""Events of dispatching: agency hand-offs, duplicate proposals, unit orders and positions.

They complete the spine's unit events (``UnitRegistered``, ``UnitStatusReported``,
``UnitDispatched`` in :mod:`dispatch.model.events`). Events that carry an ``incident_id``
join that incident's timeline, so a dispatcher sees every hand-off, order, acknowledgement,
escalation, proposal and trapped count where the incident's story is told.

The ``event_type`` names are the wire and database identity: never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatch.model.events import Event, event_type
from dispatch.model.ids import CallId, IncidentId, UnitId
from dispatch.model.values import Location
from dispatch.model.vocabulary import Agency

# -- multi-agency hand-offs ---------------------------------------------------------------


@event_type("agency_hand_off_requested")
@dataclass(frozen=True, slots=True, kw_only=True)
class AgencyHandOffRequested(Event):
    """An incident was handed to one agency, which must acknowledge it by ``deadline``."""

    incident_id: IncidentId
    agency: Agency
    deadline: datetime

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("agency_hand_off_acknowledged")
@dataclass(frozen=True, slots=True, kw_only=True)
class AgencyHandOffAcknowledged(Event):
    """One agency's dispatcher took the incident over (``waited_s`` after the request)."""

    incident_id: IncidentId
    agency: Agency
    actor: str
    waited_s: float

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("agency_hand_off_escalated")
@dataclass(frozen=True, slots=True, kw_only=True)
class AgencyHandOffEscalated(Event):
    """An agency had not acknowledged in time: raised to the coordinator (``level`` 1, 2 ...).

    ``next_deadline`` is when it is escalated again if still unacknowledged (``None``
    at the last level).
    """

    incident_id: IncidentId
    agency: Agency
    level: int
    missed_deadline: datetime
    next_deadline: datetime | None = None

    @property
    def subject(self) -> str | None:
        return self.incident_id


# -- duplicates and the trapped register --------------------------------------------------


@event_type("duplicate_proposed")
@dataclass(frozen=True, slots=True, kw_only=True)
class DuplicateProposed(Event):
    """A new call (and the incident it opened) is probably about an open incident.

    ``incident_id`` is the new call's own incident, ``candidate`` the open incident it
    probably duplicates; ``distance_m``, ``gate_m`` and ``score`` say why. The dispatcher
    decides: merging is the ordinary ``merge`` action.

    ``searched_through`` is the last sequence number the duplicate search had folded when
    the proposal was recorded: every new call up to it has been searched, so a replay
    applies the recorded proposals instead of searching again, and searches only the
    calls after the last such mark (absent in logs written before it existed).
    """

    call_id: CallId
    incident_id: IncidentId
    candidate: IncidentId
    distance_m: float
    gate_m: float
    score: float
    searched_through: int | None = None

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("duplicate_search_marked")
@dataclass(frozen=True, slots=True, kw_only=True)
class DuplicateSearchMarked(Event):
    """Every new call up to ``searched_through`` has been searched for duplicates.

    Recorded now and then when no proposal has carried the mark for a while, so a replay
    applies the recorded decisions up to it instead of searching again, even where
    duplicates are rare.
    """

    searched_through: int


@event_type("duplicate_rejected")
@dataclass(frozen=True, slots=True, kw_only=True)
class DuplicateRejected(Event):
    """A dispatcher decided a proposed duplicate is an incident of its own."""

    call_id: CallId
    incident_id: IncidentId
    candidate: IncidentId
    actor: str

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("trapped_reported")
@dataclass(frozen=True, slots=True, kw_only=True)
class TrappedReported(Event):
    """A caller says ``count`` people are trapped (at the site of the call's incident)."""

    incident_id: IncidentId
    call_id: CallId
    count: int
    actor: str

    @property
    def subject(self) -> str | None:
        return self.call_id


# -- unit orders and positions ------------------------------------------------------------


@event_type("unit_order_sent")
@dataclass(frozen=True, slots=True, kw_only=True)
class UnitOrderSent(Event):
    """An order was issued to a unit; the unit must acknowledge it by ``deadline``."""

    order_id: str
    unit_id: UnitId
    incident_id: IncidentId
    deadline: datetime

    @property
    def subject(self) -> str | None:
        return self.unit_id


@event_type("unit_order_acknowledged")
@dataclass(frozen=True, slots=True, kw_only=True)
class UnitOrderAcknowledged(Event):
    """The unit's device acknowledged an order (``late`` if after it was flagged)."""

    order_id: str
    unit_id: UnitId
    incident_id: IncidentId
    late: bool = False

    @property
    def subject(self) -> str | None:
        return self.unit_id


@event_type("unit_order_unacknowledged")
@dataclass(frozen=True, slots=True, kw_only=True)
class UnitOrderUnacknowledged(Event):
    """A unit did not acknowledge an order in time: flagged to the dispatcher."""

    order_id: str
    unit_id: UnitId
    incident_id: IncidentId
    deadline: datetime

    @property
    def subject(self) -> str | None:
        return self.unit_id


@event_type("recommendation_overridden")
@dataclass(frozen=True, slots=True, kw_only=True)
class RecommendationOverridden(Event):
    """The dispatcher sent another unit than the recommended one, and said why."""

    incident_id: IncidentId
    unit_id: UnitId
    recommended: UnitId | None
    reason: str
    actor: str

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("unit_position_reported")
@dataclass(frozen=True, slots=True, kw_only=True)
class UnitPositionReported(Event):
    """A unit's automatic vehicle location (AVL) report."""

    unit_id: UnitId
    location: Location

    @property
    def subject(self) -> str | None:
        return self.unit_id


__all__ = [
    "AgencyHandOffAcknowledged",
    "AgencyHandOffEscalated",
    "AgencyHandOffRequested",
    "DuplicateProposed",
    "DuplicateRejected",
    "RecommendationOverridden",
    "TrappedReported",
    "UnitOrderAcknowledged",
    "UnitOrderSent",
    "UnitOrderUnacknowledged",
    "UnitPositionReported",
]
