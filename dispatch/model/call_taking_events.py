"""Events of call-taking: operators, answers, language, the central desk and overflow.

Queue placement is a projection (``dispatch.call_taking``): these events record the causes
(an operator went ready, a centre went out of service, the desk routed a call by its
language, a case was handed back) and the fold over the log decides, deterministically,
where each call waits. Replaying the log therefore rebuilds the same queues.

Events that belong to a call carry ``incident_id`` so that they join the incident's
timeline; ``plate`` is the province of the call when known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatch.model.events import Event, event_type
from dispatch.model.ids import CallId, CentreId, IncidentId, OperatorId
from dispatch.model.values import Location

#: The values of :attr:`CentreStatusChanged.condition` (``dispatch.core.overflow.CentreCondition``).
CENTRE_CONDITIONS = ("in_service", "overloaded", "out_of_service")


# -- operators ---------------------------------------------------------------------------


@event_type("operator_logged_in")
@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorLoggedIn(Event):
    """A call-taker logged in at a centre with their skills (languages, ``tid``, ``text``)."""

    operator: OperatorId
    centre: CentreId
    skills: tuple[str, ...]
    actor: str

    @property
    def subject(self) -> str | None:
        return self.operator


@event_type("operator_logged_out")
@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorLoggedOut(Event):
    """A call-taker logged out."""

    operator: OperatorId
    centre: CentreId
    actor: str

    @property
    def subject(self) -> str | None:
        return self.operator


@event_type("operator_ready")
@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorReady(Event):
    """A call-taker is ready for the next call."""

    operator: OperatorId
    centre: CentreId

    @property
    def subject(self) -> str | None:
        return self.operator


@event_type("operator_not_ready")
@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorNotReady(Event):
    """A call-taker takes no calls for now."""

    operator: OperatorId
    centre: CentreId
    reason: str | None = None

    @property
    def subject(self) -> str | None:
        return self.operator


@event_type("next_call_requested")
@dataclass(frozen=True, slots=True, kw_only=True)
class NextCallRequested(Event):
    """A ready call-taker asked for the next call; the fold gives them the best one."""

    operator: OperatorId
    centre: CentreId

    @property
    def subject(self) -> str | None:
        return self.operator


# -- calls -------------------------------------------------------------------------------


@event_type("call_answered")
@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered(Event):
    """The call-taker holding a call answered it: the end of its answer time."""

    call_id: CallId
    incident_id: IncidentId
    operator: OperatorId
    centre: CentreId

    @property
    def subject(self) -> str | None:
        return self.call_id


@event_type("call_wrapped_up")
@dataclass(frozen=True, slots=True, kw_only=True)
class CallWrappedUp(Event):
    """The call-taker finished with a call and is wrapping up."""

    call_id: CallId
    incident_id: IncidentId
    operator: OperatorId
    centre: CentreId

    @property
    def subject(self) -> str | None:
        return self.call_id


@event_type("language_flagged")
@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageFlagged(Event):
    """A call-taker flagged the caller's language (a code, or ``"foreign"``) or corrected it."""

    call_id: CallId
    incident_id: IncidentId
    flag: str
    actor: str
    operator: OperatorId | None = None

    @property
    def subject(self) -> str | None:
        return self.call_id


@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageHint:
    """One piece of language evidence: source, language, confidence, what it was."""

    source: str
    language: str
    confidence: float
    detail: str | None = None


@event_type("language_detected")
@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageDetected(Event):
    """The language desk's verdict on a call's language, with every piece of evidence.

    ``revision`` counts the hints the verdict saw (each new hint or flag adds one).
    """

    call_id: CallId
    incident_id: IncidentId
    language: str
    confidence: float
    decided_by: str | None
    reason: str
    evidence: tuple[LanguageHint, ...] = ()
    revision: int = 1

    @property
    def subject(self) -> str | None:
        return self.call_id


@event_type("call_routed_to_desk")
@dataclass(frozen=True, slots=True, kw_only=True)
class CallRoutedToDesk(Event):
    """A call in a language other than Turkish goes to the central desk.

    ``language`` is the caller's; ``queue_language`` the one it waits for (the fallback's
    when the desk does not serve the caller's); ``reason`` says why, when it waits for a
    fallback. ``province_centre`` is the call's province (never forgotten).
    """

    call_id: CallId
    incident_id: IncidentId
    language: str
    queue_language: str
    province_centre: CentreId | None
    fallback: bool = False
    reason: str | None = None

    @property
    def subject(self) -> str | None:
        return self.call_id


@event_type("call_routed_to_province")
@dataclass(frozen=True, slots=True, kw_only=True)
class CallRoutedToProvince(Event):
    """A call is in the home language after all (a correction): back to its province."""

    call_id: CallId
    incident_id: IncidentId
    language: str
    province_centre: CentreId
    reason: str | None = None

    @property
    def subject(self) -> str | None:
        return self.call_id


@event_type("case_handed_back")
@dataclass(frozen=True, slots=True, kw_only=True)
class CaseHandedBack(Event):
    """The central desk hands a case to the province of the incident.

    The caller stays attached (the desk operator, ``interpreter``, stays on the line) and
    the answer clock does not restart: ``offered_at`` is the call's first offer.
    """

    call_id: CallId
    incident_id: IncidentId
    from_centre: CentreId
    to_centre: CentreId
    language: str
    interpreter: OperatorId
    caller_attached: bool
    incident_type: str
    address: str
    offered_at: datetime
    answered_at: datetime
    reason: str
    actor: str
    location: Location | None = None

    @property
    def subject(self) -> str | None:
        return self.call_id


# -- centres -----------------------------------------------------------------------------


@event_type("centre_status_changed")
@dataclass(frozen=True, slots=True, kw_only=True)
class CentreStatusChanged(Event):
    """An administrator marked a centre in service, overloaded or out of service."""

    centre: CentreId
    condition: str
    """One of :data:`CENTRE_CONDITIONS`."""
    actor: str
    reason: str | None = None

    @property
    def subject(self) -> str | None:
        return self.centre
