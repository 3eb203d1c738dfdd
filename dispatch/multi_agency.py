"""Multi-agency cases: one incident, one hand-off per agency, each acknowledged on its own.

When the call-taker classifies an incident, every agency concerned (health, police or
gendarmerie by ground, fire, AFAD, forest, coast guard) gets a hand-off with its own
deadline. Each agency's dispatcher acknowledges its hand-off separately
(``POST /api/v1/incidents/{id}/hand-offs/{agency}/ack``); an agency that has not
acknowledged by its deadline is escalated to the coordinator, again every ``ack_s`` up to
``max_level``. A reclassification that adds an agency hands the incident to it too; a
closed, merged or cancelled incident escalates no more.

:class:`HandOffBook` holds the rules, sans-I/O: it is folded from committed events and
asked what is due at a given time. :class:`MultiAgencyService` commits what it answers;
the lifespan's timer loop (or a test with a controlled clock) calls :meth:`tick`. An
archived incident (``IncidentArchived``) leaves the book with its hand-offs. The book is a
:class:`~dispatch.ports.Snapshotting` participant: its snapshot holds every case and
hand-off; the deadlines are made again from them on restore.

Errors::

    HandOffError
    ├── UnknownHandOff (LookupError)   the incident was not handed to that agency
    └── HandOffRefused                 already acknowledged, or the incident is closed
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from dispatch.core.projections import Recorded
from dispatch.model.access import AccessDenied, Principal
from dispatch.model.dispatch_events import (
    AgencyHandOffAcknowledged,
    AgencyHandOffEscalated,
    AgencyHandOffRequested,
)
from dispatch.model.events import (
    Event,
    IncidentArchived,
    IncidentClassified,
    IncidentStatusChanged,
)
from dispatch.model.ids import IncidentId
from dispatch.model.vocabulary import Agency
from dispatch.ports import EnginePort

logger = logging.getLogger(__name__)


class HandOffError(Exception):
    """Root of the multi-agency errors."""


class UnknownHandOff(HandOffError, LookupError):  # noqa: N818 - names the refusal
    """The incident was not handed to that agency."""


class HandOffRefused(HandOffError):  # noqa: N818 - names the refusal
    """The hand-off cannot be acknowledged in its current state."""


class HandOffState(enum.StrEnum):
    """Where one agency's hand-off is."""

    REQUESTED = "requested"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"


@dataclass(frozen=True, slots=True, kw_only=True)
class HandOffPolicy:
    """How long an agency has to acknowledge, and how often it is escalated."""

    ack_s: float = 120.0
    max_level: int = 2

    @property
    def ack(self) -> timedelta:
        """The acknowledgement window."""
        return timedelta(seconds=self.ack_s)


@dataclass(slots=True, kw_only=True)
class HandOff:
    """One agency's hand-off of one incident."""

    incident_id: IncidentId
    agency: Agency
    requested_at: datetime
    deadline: datetime
    state: HandOffState = HandOffState.REQUESTED
    level: int = 0
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The API's view of the hand-off."""
        return {
            "agency": self.agency.value,
            "state": self.state.value,
            "requested_at": self.requested_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "level": self.level,
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "acknowledged_by": self.acknowledged_by,
        }


@dataclass(slots=True, kw_only=True)
class _Case:
    """One incident as the book sees it: its agencies and their hand-offs."""

    agencies: tuple[Agency, ...] = ()
    plate: int | None = None
    open: bool = True
    hand_offs: dict[Agency, HandOff] = field(default_factory=dict)

    def copy(self) -> _Case:
        """A copy sharing no mutable object with this case."""
        return replace(self, hand_offs={a: replace(h) for a, h in self.hand_offs.items()})


@dataclass(frozen=True, slots=True, kw_only=True)
class HandOffBookSnapshot:
    """What a :class:`HandOffBook` holds after the last folded event (copies)."""

    cases: tuple[tuple[IncidentId, _Case], ...]
    dirty: tuple[IncidentId, ...]


class HandOffBook:
    """Hand-offs of the incidents not archived, folded from the log; answers what is due (pure).

    ``_dirty`` holds the open incidents some of whose agencies have no hand-off yet: the
    fold keeps it exact, so a book folded at start asks for no request already recorded.
    """

    snapshot_name = "dispatch.multi_agency"
    snapshot_version = 1

    def __init__(self, policy: HandOffPolicy) -> None:
        self.policy = policy
        self._cases: dict[IncidentId, _Case] = {}
        self._dirty: set[IncidentId] = set()
        self._deadlines: list[tuple[datetime, IncidentId, Agency]] = []

    def apply(self, event: Event) -> bool:
        """Fold one committed event; ``True`` if it may have made something due."""
        if isinstance(event, IncidentClassified):
            case = self._cases.setdefault(event.incident_id, _Case())
            case.agencies = event.agencies
            case.plate = event.plate
            if case.open and self._missing(event.incident_id):
                self._dirty.add(event.incident_id)
                return True
            self._dirty.discard(event.incident_id)
        elif isinstance(event, IncidentStatusChanged):
            closing = self._cases.get(event.incident_id)
            if closing is not None and not event.status.is_open:
                closing.open = False
                self._dirty.discard(event.incident_id)
        elif isinstance(event, AgencyHandOffRequested):
            case = self._cases.setdefault(event.incident_id, _Case(plate=event.plate))
            case.hand_offs[event.agency] = HandOff(
                incident_id=event.incident_id,
                agency=event.agency,
                requested_at=event.occurred_at,
                deadline=event.deadline,
            )
            heapq.heappush(self._deadlines, (event.deadline, event.incident_id, event.agency))
            if not self._missing(event.incident_id):
                self._dirty.discard(event.incident_id)
            return True
        elif isinstance(event, AgencyHandOffAcknowledged):
            hand_off = self._hand_off(event.incident_id, event.agency)
            if hand_off is not None:
                hand_off.state = HandOffState.ACKNOWLEDGED
                hand_off.acknowledged_at = event.occurred_at
                hand_off.acknowledged_by = event.actor
        elif isinstance(event, AgencyHandOffEscalated):
            hand_off = self._hand_off(event.incident_id, event.agency)
            if hand_off is not None and hand_off.state is not HandOffState.ACKNOWLEDGED:
                hand_off.state = HandOffState.ESCALATED
                hand_off.level = event.level
                if event.next_deadline is not None:
                    hand_off.deadline = event.next_deadline
                    heapq.heappush(
                        self._deadlines, (event.next_deadline, event.incident_id, event.agency)
                    )
                return True
        elif isinstance(event, IncidentArchived):
            self._cases.pop(event.incident_id, None)  # its deadlines lapse: _pending says so
            self._dirty.discard(event.incident_id)
        return False

    def snapshot(self) -> HandOffBookSnapshot:
        """Every case and hand-off after the last folded event, copied."""
        return HandOffBookSnapshot(
            cases=tuple((i, case.copy()) for i, case in self._cases.items()),
            dirty=tuple(sorted(self._dirty)),
        )

    def restore(self, state: object) -> None:
        """Replace the book with a :meth:`snapshot`; the deadlines still live are made again."""
        if not isinstance(state, HandOffBookSnapshot):
            raise TypeError("not a hand-off book's snapshot")
        self._cases = {i: case.copy() for i, case in state.cases}
        self._dirty = set(state.dirty)
        self._deadlines = [
            (hand_off.deadline, incident_id, agency)
            for incident_id, case in self._cases.items()
            if case.open
            for agency, hand_off in case.hand_offs.items()
            if hand_off.state is not HandOffState.ACKNOWLEDGED
        ]
        heapq.heapify(self._deadlines)

    def _hand_off(self, incident_id: IncidentId, agency: Agency) -> HandOff | None:
        case = self._cases.get(incident_id)
        return case.hand_offs.get(agency) if case is not None else None

    def hand_offs(self, incident_id: str) -> list[HandOff]:
        """The incident's hand-offs, in the order they were requested."""
        case = self._cases.get(IncidentId(incident_id))
        return list(case.hand_offs.values()) if case is not None else []

    def _pending(self, deadline: datetime, incident_id: IncidentId, agency: Agency) -> bool:
        """Whether a deadline entry is still live (not acknowledged, not superseded)."""
        case = self._cases.get(incident_id)
        if case is None or not case.open:
            return False
        hand_off = case.hand_offs.get(agency)
        return (
            hand_off is not None
            and hand_off.state is not HandOffState.ACKNOWLEDGED
            and hand_off.deadline == deadline
            and hand_off.level < self.policy.max_level
        )

    def requests(self, now: datetime) -> list[AgencyHandOffRequested]:
        """Hand-offs still to request: agencies of classified open incidents without one."""
        events: list[AgencyHandOffRequested] = []
        for incident_id in sorted(self._dirty):
            case = self._cases[incident_id]
            events.extend(
                AgencyHandOffRequested(
                    occurred_at=now,
                    idempotency_key=f"hand-off:{incident_id}:{agency.value}",
                    plate=case.plate,
                    incident_id=incident_id,
                    agency=agency,
                    deadline=now + self.policy.ack,
                )
                for agency in case.agencies
                if agency not in case.hand_offs
            )
        return events

    def settle_requests(self) -> None:
        """The requests answered by :meth:`requests` are committed."""
        self._dirty = {i for i in self._dirty if self._cases[i].open and self._missing(i)}

    def _missing(self, incident_id: IncidentId) -> bool:
        case = self._cases[incident_id]
        return any(a not in case.hand_offs for a in case.agencies)

    def due(self, now: datetime) -> list[AgencyHandOffEscalated]:
        """Escalations of hand-offs not acknowledged by their deadline."""
        while self._deadlines and not self._pending(*self._deadlines[0]):
            heapq.heappop(self._deadlines)
        events: list[AgencyHandOffEscalated] = []
        for deadline, incident_id, agency in sorted(self._deadlines):
            if deadline > now:
                break
            if not self._pending(deadline, incident_id, agency):
                continue
            case = self._cases[incident_id]
            level = case.hand_offs[agency].level + 1
            events.append(
                AgencyHandOffEscalated(
                    occurred_at=now,
                    idempotency_key=f"hand-off-escalated:{incident_id}:{agency.value}:{level}",
                    plate=case.plate,
                    incident_id=incident_id,
                    agency=agency,
                    level=level,
                    missed_deadline=deadline,
                    next_deadline=now + self.policy.ack if level < self.policy.max_level else None,
                )
            )
        return events

    def next_deadline(self) -> datetime | None:
        """The earliest deadline still live."""
        while self._deadlines and not self._pending(*self._deadlines[0]):
            heapq.heappop(self._deadlines)
        return self._deadlines[0][0] if self._deadlines else None

    @property
    def has_requests(self) -> bool:
        """Whether some classified incident still lacks a hand-off."""
        return bool(self._dirty)

    def acknowledge(
        self, incident_id: str, agency: Agency, actor: str, now: datetime
    ) -> AgencyHandOffAcknowledged:
        """The event acknowledging one agency's hand-off, or a documented refusal."""
        case = self._cases.get(IncidentId(incident_id))
        hand_off = case.hand_offs.get(agency) if case is not None else None
        if case is None or hand_off is None:
            raise UnknownHandOff("the incident was not handed to that agency")
        if hand_off.state is HandOffState.ACKNOWLEDGED:
            raise HandOffRefused("the hand-off is already acknowledged")
        if not case.open:
            raise HandOffRefused("the incident is no longer open")
        return AgencyHandOffAcknowledged(
            occurred_at=now,
            idempotency_key=f"hand-off-ack:{incident_id}:{agency.value}",
            plate=case.plate,
            incident_id=hand_off.incident_id,
            agency=agency,
            actor=actor,
            waited_s=round((now - hand_off.requested_at).total_seconds(), 3),
        )


class MultiAgencyService:
    """Commits hand-off requests, acknowledgements and escalations over the engine."""

    def __init__(self, engine: EnginePort, policy: HandOffPolicy) -> None:
        self.engine = engine
        self.book = HandOffBook(policy)
        self.wake = asyncio.Event()
        self._lock = asyncio.Lock()
        engine.subscribe(self._on_commit, snapshot=self.book)

    def _on_commit(self, batch: Sequence[Recorded]) -> None:
        for record in batch:
            if self.book.apply(record.event):
                self.wake.set()

    def next_deadline(self) -> datetime | None:
        """When :meth:`tick` next has something to do (``now`` if requests are waiting)."""
        if self.book.has_requests:
            return self.engine.clock.now()
        return self.book.next_deadline()

    async def tick(self, now: datetime) -> list[Recorded]:
        """Request missing hand-offs and escalate late ones; returns what was committed."""
        async with self._lock:
            events: list[Event] = [*self.book.requests(now), *self.book.due(now)]
            if not events:
                return []
            records = await self.engine.record(events)
            self.book.settle_requests()
        for event in events:
            if isinstance(event, AgencyHandOffEscalated):
                logger.warning(
                    "incident %s: %s did not acknowledge its hand-off (level %d)",
                    event.incident_id,
                    event.agency.value,
                    event.level,
                )
        return records

    async def acknowledge(self, incident_id: str, agency: Agency, principal: Principal) -> Recorded:
        """One agency's dispatcher acknowledges its hand-off."""
        incident = self.engine.state.incidents.get(IncidentId(incident_id))
        principal.require_incident_action(incident.plate if incident else None)
        if principal.agency is not None and principal.agency is not agency:
            raise AccessDenied("a dispatcher acknowledges only its own agency's hand-off")
        async with self._lock:
            event = self.book.acknowledge(
                incident_id, agency, principal.subject, self.engine.clock.now()
            )
            (record,) = await self.engine.record([event])
        return record


__all__ = [
    "HandOff",
    "HandOffBook",
    "HandOffBookSnapshot",
    "HandOffError",
    "HandOffPolicy",
    "HandOffRefused",
    "HandOffState",
    "MultiAgencyService",
    "UnknownHandOff",
]
