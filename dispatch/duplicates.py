"""Duplicate proposals and the trapped register, kept from the event log.

:class:`DuplicateDesk` folds committed events into a
:class:`~dispatch.core.clustering.DuplicateFinder` of open incidents. Each new call (the
``IncidentOpened`` its call produced) is checked against the open incidents: if it
probably describes one of them, a :class:`~dispatch.model.DuplicateProposed` is due and
the call is attached to that site *tentatively*, so the site's position sharpens with
every call and the call's own incident does not become a rival site. Otherwise the call's
incident becomes a site of its own. The fold is deterministic, so replaying the log at
start rebuilds the same sites.

At start the desk does not search again (:meth:`DuplicateDesk.replay`): a proposal is a
decision, and the log records it (``DuplicateProposed``, with ``searched_through``, the
last event the search had seen). Before the replay the desk reads the newest proposal's
mark; a call up to it is opened as a site, and when its recorded proposal follows, the
site is closed and the call attached to the proposed incident, as the live search did.
Calls after the mark, which the engine may have committed without recording their
proposals before it stopped, are searched as they are folded, as live. Where duplicates
are rare, the service records a ``DuplicateSearchMarked`` every
:attr:`DuplicateDesk.MARK_EVERY` events, so that tail stays short. On the demo's
traffic the search had been two thirds of the whole start-up fold.

:class:`DuplicatesService` runs the desk on the engine's loop. With ``[units]
duplicate_search = "process"`` the desk runs in a child process following the log
(:mod:`dispatch.app.duplicate_search`) and the loop keeps only a
:class:`~dispatch.duplicate_ledger.ProposalLedger`; both services share
:class:`DuplicateDecisions`, the dispatcher's side.

A dispatcher decides: merging is the engine's ``merge`` action (every call and caller
stays attached, by ``CallAttached``), :meth:`DuplicateDecisions.accept` is a shortcut for
it; :meth:`DuplicateDecisions.reject` records that the call is an incident of its own.
A merge needs an open incident to merge into, so when the proposed incident concludes
first, the proposals naming it are withdrawn (one not recorded yet is dropped) and each
call's incident becomes a site of its own, as after a rejection.

The earthquake register: ``TrappedReported`` events give, per call, how many people a
caller says are trapped; :meth:`DuplicateDecisions.trapped` folds them per site with
:func:`~dispatch.core.clustering.trapped_register`, following each call to the incident
it belongs to now (after merges).

An archived incident (``IncidentArchived``) leaves the desk: its site (closed already
when it concluded), its proposal and the trapped counts of its calls; it is never a
candidate again. The desk is a :class:`~dispatch.ports.Snapshotting` participant: its
snapshot holds the sites with their sums, the proposals, the trapped counts and the
marks, so a start restored from it replays only the events after it, as above.

Errors::

    DuplicateError
    ├── UnknownProposal (LookupError)   the incident has no duplicate proposal
    └── ProposalRefused                 the proposal was already decided
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from dispatch.core.clustering import (
    DuplicateCandidate,
    DuplicateFinder,
    NewCall,
    OpenIncident,
    SavedSite,
    SiteTrapped,
    TrappedReport,
    trapped_register,
)
from dispatch.core.decide import Action, IncidentAction
from dispatch.core.projections import Recorded
from dispatch.core.taxonomy import IncidentType
from dispatch.model.access import Principal
from dispatch.model.dispatch_events import (
    DuplicateProposed,
    DuplicateRejected,
    DuplicateSearchMarked,
    TrappedReported,
)
from dispatch.model.events import (
    Event,
    IncidentArchived,
    IncidentClassified,
    IncidentOpened,
    IncidentStatusChanged,
)
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.vocabulary import IncidentStatus
from dispatch.ports import EnginePort

logger = logging.getLogger(__name__)

_TYPES = {t.value: t for t in IncidentType}


class DuplicateError(Exception):
    """Root of the duplicates service's errors."""


class UnknownProposal(DuplicateError, LookupError):  # noqa: N818 - names the refusal
    """The incident has no duplicate proposal."""


class ProposalRefused(DuplicateError):  # noqa: N818 - names the refusal
    """The proposal was already decided."""


class ProposalState(enum.StrEnum):
    """Where a duplicate proposal is."""

    DUE = "due"
    PROPOSED = "proposed"
    MERGED = "merged"
    REJECTED = "rejected"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    """The proposed incident concluded first: there is nothing left to merge into."""


_UNDECIDED = frozenset({ProposalState.DUE, ProposalState.PROPOSED})
"""The states of a proposal waiting for the dispatcher's decision."""

# The events the desk folds; any other (most of the log: calls received, queued, answered...)
# passes at the cost of a dictionary lookup: whether a type is one of these, or a subclass, is
# decided on its first event.
_FOLDED: tuple[type[Event], ...] = (
    IncidentOpened,
    DuplicateSearchMarked,
    DuplicateProposed,
    DuplicateRejected,
    IncidentStatusChanged,
    IncidentClassified,
    TrappedReported,
    IncidentArchived,
)
_folds: dict[type[Event], bool] = {}
#: The stored names of the folded types (a reader of the log asks for these only).
FOLDED_EVENT_TYPES: tuple[str, ...] = tuple(kind.event_type for kind in _FOLDED)


def _folds_type(kind: type[Event]) -> bool:
    """Whether the desk folds events of this type (remembered per type)."""
    folds = _folds[kind] = issubclass(kind, _FOLDED)
    return folds


@dataclass(slots=True, kw_only=True)
class Proposal:
    """A call's incident proposed as a duplicate of an open incident."""

    call_id: CallId
    incident_id: IncidentId
    candidate: IncidentId
    distance_m: float
    gate_m: float
    score: float
    plate: int | None
    call: NewCall | None
    """The call as the search saw it (``None`` in a :class:`~dispatch.duplicate_ledger.
    ProposalLedger`, which knows proposals only as the log records them)."""
    state: ProposalState = ProposalState.DUE

    @classmethod
    def recorded(
        cls,
        event: DuplicateProposed,
        state: ProposalState,
        *,
        plate: int | None,
        call: NewCall | None = None,
    ) -> Proposal:
        """The proposal a ``DuplicateProposed`` records, in ``state``."""
        return cls(
            call_id=event.call_id,
            incident_id=event.incident_id,
            candidate=event.candidate,
            distance_m=event.distance_m,
            gate_m=event.gate_m,
            score=event.score,
            plate=plate,
            call=call,
            state=state,
        )

    def event(self, now: datetime, searched_through: int | None = None) -> DuplicateProposed:
        """The event recording this proposal (see ``DuplicateProposed.searched_through``)."""
        return DuplicateProposed(
            occurred_at=now,
            idempotency_key=f"duplicate:{self.call_id}",
            plate=self.plate,
            call_id=self.call_id,
            incident_id=self.incident_id,
            candidate=self.candidate,
            distance_m=round(self.distance_m, 1),
            gate_m=round(self.gate_m, 1),
            score=round(self.score, 4),
            searched_through=searched_through,
        )

    def to_json(self) -> dict[str, Any]:
        """The API's view of the proposal."""
        return {
            "call_id": self.call_id,
            "incident_id": self.incident_id,
            "candidate": self.candidate,
            "distance_m": round(self.distance_m, 1),
            "gate_m": round(self.gate_m, 1),
            "state": self.state.value,
        }


def _mark_of(event: Event, seq: int) -> int:
    """The sequence number up to which a recorded proposal or mark says calls were searched.

    A proposal written before ``searched_through`` existed marks its own place.
    """
    if isinstance(event, DuplicateSearchMarked):
        return event.searched_through
    if isinstance(event, DuplicateProposed) and event.searched_through is not None:
        return event.searched_through
    return seq


def _new_call(event: IncidentOpened) -> NewCall | None:
    """The duplicate search's view of the call that opened an incident (none unplaced)."""
    where = event.location
    if where is None:
        return None
    return NewCall(
        call_id=event.call_id,
        incident_type=incident_type_of(event.incident_type or event.suggested_type),
        lat=where.lat,
        lon=where.lon,
        radius_m=where.radius_m,
        at=event.occurred_at,
    )


def trapped_report(event: TrappedReported) -> TrappedReport:
    """The register's line for a caller's count."""
    return TrappedReport(
        incident_id=event.incident_id,
        call_id=event.call_id,
        trapped=event.count,
        at=event.occurred_at,
    )


def incident_type_of(value: str | None) -> IncidentType | None:
    """The taxonomy's type for a stored type name (``None`` if unknown or absent)."""
    return _TYPES.get(value) if value else None


@dataclass(slots=True, frozen=True)
class _Unsearched:
    """A call opened during replay whose proposal, if any, the log has not shown yet."""

    seq: int
    call: NewCall
    plate: int | None


@dataclass(slots=True, frozen=True)
class _ClosedUnsearched:
    """An unsearched call whose incident closed before any proposal for it was folded."""

    call: NewCall
    plate: int | None
    state: ProposalState
    merged_into: IncidentId | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskSnapshot:
    """What a :class:`DuplicateDesk` holds after the last folded event (values only).

    ``proposals`` and ``reports`` in the order the desk holds them, ``due`` the incidents
    whose proposals are not recorded yet; the replay's bookkeeping (``mark``,
    ``unsearched``, ``closed_unsearched``) is empty once a start's replay has finished.
    """

    sites: tuple[SavedSite, ...]
    proposals: tuple[Proposal, ...]
    due: tuple[IncidentId, ...]
    reports: tuple[TrappedReport, ...]
    recorded_mark: int
    folded_through: int
    mark: int
    unsearched: tuple[tuple[IncidentId, _Unsearched], ...]
    closed_unsearched: tuple[tuple[IncidentId, _ClosedUnsearched], ...]


class DuplicateDesk:
    """Sites of open incidents and the proposals made against them (a pure fold)."""

    snapshot_name = "dispatch.duplicates"
    snapshot_version = 1

    #: How many closed, unsearched calls a replay remembers for a proposal recorded after
    #: the close (the proposal follows its call within one commit, so a few suffice).
    CLOSED_MEMORY = 4096

    #: Events folded past the newest recorded mark before a mark of its own is due.
    MARK_EVERY = 5000

    def __init__(
        self, finder: DuplicateFinder | None = None, *, mark_every: int = MARK_EVERY
    ) -> None:
        self.finder = finder if finder is not None else DuplicateFinder()
        self.mark_every = mark_every
        self.recorded_mark = 0
        """The newest mark the log holds (a proposal's ``searched_through``, or a mark's)."""
        self.proposals: dict[IncidentId, Proposal] = {}
        self._undecided: dict[IncidentId, Proposal] | None = {}
        """The proposals waiting for a decision, in the order of ``proposals`` (``None``: to
        be listed again, after one came back to wait where a decided one was)."""
        self._due: dict[IncidentId, Proposal] = {}
        self._naming: dict[IncidentId, list[IncidentId]] = {}
        """By candidate: the incidents whose proposals named it while waiting (some of
        them decided since), to withdraw when it concludes."""
        self._reports: dict[CallId, list[TrappedReport]] = {}
        """Trapped counts by call, in the order they were reported."""
        self.folded_through = 0
        """The last sequence number folded: every new call up to it has been searched."""
        self._unsearched: dict[IncidentId, _Unsearched] = {}
        self._closed_unsearched: OrderedDict[IncidentId, _ClosedUnsearched] = OrderedDict()
        self._mark = 0
        """Replay: calls up to this sequence number were searched when they came."""

    @property
    def reports(self) -> list[TrappedReport]:
        """Every trapped count kept (a call's in the order reported)."""
        return [report for reports in self._reports.values() for report in reports]

    def mark_due(self) -> bool:
        """Whether a :class:`DuplicateSearchMarked` should be recorded (none for a while)."""
        return self.folded_through - self.recorded_mark >= self.mark_every

    def apply(self, event: Event, seq: int = 0) -> bool:
        """Fold one committed event; ``True`` if a proposal became due."""
        self.folded_through = max(self.folded_through, seq)
        folds = _folds.get(type(event))
        if not (folds or (folds is None and _folds_type(type(event)))):
            return False
        if isinstance(event, IncidentOpened):
            call = _new_call(event)
            return call is not None and self._search(event.incident_id, call, event.plate)
        if isinstance(event, DuplicateSearchMarked):
            self.recorded_mark = max(self.recorded_mark, event.searched_through)
        elif isinstance(event, DuplicateProposed):
            self.recorded_mark = max(self.recorded_mark, _mark_of(event, seq))
            proposal = self.proposals.get(event.incident_id)
            if proposal is not None and proposal.state is ProposalState.DUE:
                proposal.state = ProposalState.PROPOSED
                self._due.pop(event.incident_id, None)
        elif isinstance(event, DuplicateRejected):
            self._rejected(event)
        elif isinstance(event, IncidentStatusChanged):
            self._status(event)
        elif isinstance(event, IncidentClassified):
            site = self.finder.get(event.incident_id)
            kind = incident_type_of(event.incident_type)
            if site is not None and kind is not None:
                self.finder.open(replace(site, incident_type=kind))
        elif isinstance(event, TrappedReported):
            self._reports.setdefault(event.call_id, []).append(trapped_report(event))
        elif isinstance(event, IncidentArchived):
            self._archived(event)
        return False

    def _archived(self, event: IncidentArchived) -> None:
        """The incident and its calls leave the desk (a replay's bookkeeping included)."""
        gone = event.incident_id
        self.finder.close(gone)  # closed already when it concluded, unless a log says not
        self.proposals.pop(gone, None)
        self._decided(gone)
        self._withdraw(gone)
        self._unsearched.pop(gone, None)
        self._closed_unsearched.pop(gone, None)
        for call_id in event.calls:
            self._reports.pop(call_id, None)

    # -- snapshot -------------------------------------------------------------------------

    def snapshot(self) -> DeskSnapshot:
        """The desk's state after the last folded event, sharing no mutable object."""
        return DeskSnapshot(
            sites=tuple(self.finder.snapshot()),
            proposals=tuple(replace(p) for p in self.proposals.values()),
            due=tuple(self._due),
            reports=tuple(self.reports),
            recorded_mark=self.recorded_mark,
            folded_through=self.folded_through,
            mark=self._mark,
            unsearched=tuple(self._unsearched.items()),
            closed_unsearched=tuple(self._closed_unsearched.items()),
        )

    def restore(self, state: object) -> None:
        """Replace the desk's state with a :meth:`snapshot` (``TypeError`` for anything else)."""
        if not isinstance(state, DeskSnapshot):
            raise TypeError("not a duplicate desk's snapshot")
        self.finder.restore(state.sites)
        self.proposals = {p.incident_id: replace(p) for p in state.proposals}
        self._undecided = None
        self._naming = {}
        for proposal in self.proposals.values():
            if proposal.state in _UNDECIDED:
                self._naming.setdefault(proposal.candidate, []).append(proposal.incident_id)
        self._due = {incident_id: self.proposals[incident_id] for incident_id in state.due}
        self._reports = {}
        for report in state.reports:
            self._reports.setdefault(CallId(report.call_id), []).append(report)
        self.recorded_mark = state.recorded_mark
        self.folded_through = state.folded_through
        self._mark = state.mark
        self._unsearched = dict(state.unsearched)
        self._closed_unsearched = OrderedDict(state.closed_unsearched)

    # -- replay ---------------------------------------------------------------------------

    def begin_replay(self, *latest: Recorded | None) -> None:
        """Before a replay: the log's newest proposal and mark say which calls were searched.

        Every call up to the newest ``searched_through`` was (up to the proposal's own
        sequence number in a log written before that field existed): their proposals, if
        any, are in the log. A desk restored from a snapshot keeps its marks; the replay
        then folds only the events after the snapshot.
        """
        marks = [_mark_of(r.event, r.seq) for r in latest if r is not None]
        self._mark = max([self._mark, *marks])

    def replay(self, event: Event, seq: int) -> None:
        """Fold one stored event at start, applying recorded proposals instead of searching."""
        self.folded_through = max(self.folded_through, seq)
        if isinstance(event, IncidentOpened):
            call = _new_call(event)
            if call is None:
                return
            if seq > self._mark:  # the engine may have stopped before recording a proposal
                self._search(event.incident_id, call, event.plate)
                return
            self._open_site(event.incident_id, call)
            self._unsearched[event.incident_id] = _Unsearched(seq, call, event.plate)
        elif isinstance(event, DuplicateProposed) and (
            event.incident_id in self._unsearched or event.incident_id in self._closed_unsearched
        ):
            self.recorded_mark = max(self.recorded_mark, _mark_of(event, seq))
            self._recorded(event)
        elif isinstance(event, IncidentStatusChanged) and event.incident_id in self._unsearched:
            self.apply(event, seq)
            if not event.status.is_open:
                opened = self._unsearched.pop(event.incident_id)
                merged = event.status is IncidentStatus.MERGED
                self._closed_unsearched[event.incident_id] = _ClosedUnsearched(
                    call=opened.call,
                    plate=opened.plate,
                    state=ProposalState.MERGED if merged else ProposalState.CLOSED,
                    merged_into=event.merged_into if merged else None,
                )
                while len(self._closed_unsearched) > self.CLOSED_MEMORY:
                    self._closed_unsearched.popitem(last=False)
        else:
            self.apply(event, seq)

    def _recorded(self, event: DuplicateProposed) -> None:
        """A proposal the live search made: the call joins the proposed incident's site."""
        opened = self._unsearched.pop(event.incident_id, None)
        state = ProposalState.PROPOSED
        if opened is not None and event.candidate not in self.finder:
            # The candidate concluded between the search and this record (committed after
            # its conclusion): the live desk dropped the proposal, not yet recorded, then,
            # and the call's incident stays a site of its own.
            return
        if opened is not None:
            call, plate = opened.call, opened.plate
            self.finder.close(event.incident_id)  # it was a site only until now
            attach = True
        else:
            closed = self._closed_unsearched.pop(event.incident_id)
            call, plate, state = closed.call, closed.plate, closed.state
            # A merge into the candidate brought the call's weight there already. A merge
            # into another incident, committed between the call and its proposal (within
            # one commit of the live engine), leaves that incident's fused position a call
            # heavier than the live desk had it: the one case the replay does not rebuild.
            attach = closed.merged_into != event.candidate
        if attach and event.candidate in self.finder:
            self.finder.attach(event.candidate, call)
        self._keep(Proposal.recorded(event, state, plate=plate, call=call))

    def finish_replay(self) -> bool:
        """End a replay; ``True`` if a proposal is due (a call searched after the mark)."""
        self._unsearched.clear()
        self._closed_unsearched.clear()
        self._mark = 0
        return bool(self._due)

    # -- the live search --------------------------------------------------------------------

    def _search(self, incident_id: IncidentId, call: NewCall, plate: int | None) -> bool:
        best = self.finder.propose(call)
        if best is None:
            self._open_site(incident_id, call)
            return False
        self._propose(incident_id, call, plate, best)
        return True

    def _propose(
        self, incident_id: IncidentId, call: NewCall, plate: int | None, best: DuplicateCandidate
    ) -> None:
        """The call joins the best site, and its proposal is due."""
        self.finder.attach(best.incident_id, call)
        proposal = Proposal(
            call_id=CallId(call.call_id),
            incident_id=incident_id,
            candidate=IncidentId(best.incident_id),
            distance_m=best.distance_m,
            gate_m=best.gate_m,
            score=best.score,
            plate=plate,
            call=call,
        )
        self._keep(proposal)
        self._due[incident_id] = proposal

    def _open_site(self, incident_id: IncidentId, call: NewCall) -> None:
        self.finder.open(
            OpenIncident(
                incident_id=incident_id,
                incident_type=call.incident_type,
                lat=call.lat,
                lon=call.lon,
                radius_m=call.radius_m if call.radius_m is not None else 100.0,
                opened_at=call.at,
            )
        )

    def _rejected(self, event: DuplicateRejected) -> None:
        proposal = self.proposals.get(event.incident_id)
        if proposal is None or proposal.state not in _UNDECIDED:
            return
        proposal.state = ProposalState.REJECTED
        self._decided(event.incident_id)
        if proposal.call is not None:
            self._open_site(proposal.incident_id, proposal.call)

    def _status(self, event: IncidentStatusChanged) -> None:
        if event.status.is_open:
            return
        gone = event.incident_id
        proposal = self.proposals.get(gone)
        if proposal is not None and proposal.state in _UNDECIDED:
            merged = event.status is IncidentStatus.MERGED
            proposal.state = ProposalState.MERGED if merged else ProposalState.CLOSED
            self._decided(gone)
        into = event.merged_into
        if into is not None and gone in self.finder and into in self.finder:
            self.finder.merge(into, gone)
        else:
            self.finder.close(gone)
        self._withdraw(gone)

    def _withdraw(self, candidate: IncidentId) -> None:
        """The candidate concluded: no proposal naming it can be accepted any more (a merge
        needs an open incident to merge into). Each is withdrawn, and its call's incident
        stands as a site of its own again, as after a rejection. One not recorded yet is
        dropped: the log never shows it (a start's replay opens that call's site alone)."""
        for incident_id in self._naming.pop(candidate, ()):
            proposal = self.proposals.get(incident_id)
            if (
                proposal is not None
                and proposal.candidate == candidate
                and proposal.state in _UNDECIDED
            ):
                if proposal.state is ProposalState.DUE:
                    del self.proposals[incident_id]
                else:
                    proposal.state = ProposalState.WITHDRAWN
                self._decided(incident_id)
                if proposal.call is not None:
                    self._open_site(incident_id, proposal.call)

    def due(self) -> list[Proposal]:
        """Proposals not yet recorded."""
        return list(self._due.values())

    def open_proposals(self) -> list[Proposal]:
        """Proposals waiting for the dispatcher's decision (in the order of ``proposals``)."""
        return list(self._undecided_index().values())

    def open_proposal_count(self) -> int:
        """How many proposals wait for a decision (for metrics: no list is built)."""
        return len(self._undecided_index())

    def _undecided_index(self) -> dict[IncidentId, Proposal]:
        undecided = self._undecided
        if undecided is None:
            undecided = self._undecided = {
                incident_id: p for incident_id, p in self.proposals.items() if p.state in _UNDECIDED
            }
        return undecided

    def _keep(self, proposal: Proposal) -> None:
        """Hold a proposal (in place of the incident's earlier one), its waiting noted."""
        incident_id = proposal.incident_id
        known = incident_id in self.proposals
        self.proposals[incident_id] = proposal
        if proposal.state in _UNDECIDED:
            self._naming.setdefault(proposal.candidate, []).append(incident_id)
        undecided = self._undecided
        if undecided is None:
            return
        if proposal.state not in _UNDECIDED:
            undecided.pop(incident_id, None)
        elif incident_id in undecided or not known:
            undecided[incident_id] = proposal  # its place in ``proposals``: kept, or the last
        else:  # waiting again where a decided one was: list them again when asked
            self._undecided = None

    def _decided(self, incident_id: IncidentId) -> None:
        """The incident's proposal no longer waits (decided, or gone), nor is it due."""
        self._due.pop(incident_id, None)
        if self._undecided is not None:
            self._undecided.pop(incident_id, None)


class ProposalBook(Protocol):
    """What the dispatchers' API reads of the proposals and the trapped counts."""

    proposals: dict[IncidentId, Proposal]

    @property
    def reports(self) -> list[TrappedReport]:
        """Every trapped count kept."""
        ...

    def open_proposals(self) -> list[Proposal]:
        """Proposals waiting for a decision."""
        ...

    def open_proposal_count(self) -> int:
        """How many proposals wait for a decision."""
        ...


class DuplicateDecisions:
    """The dispatcher's side: proposals read, decided, and trapped counts recorded.

    Subclasses keep the :class:`ProposalBook` and record the proposals (``tick``).
    """

    book: ProposalBook
    wake: asyncio.Event

    def __init__(self, engine: EnginePort) -> None:
        self.engine = engine
        self.wake = asyncio.Event()

    def next_deadline(self) -> datetime | None:
        """When :meth:`tick` next has something to do."""
        raise NotImplementedError

    async def tick(self, now: datetime) -> list[Recorded]:
        """Record what is due at ``now``."""
        raise NotImplementedError

    def proposal(self, incident_id: str) -> Proposal:
        """The proposal made for an incident's call, or :class:`UnknownProposal`."""
        proposal = self.book.proposals.get(IncidentId(incident_id))
        if proposal is None:
            raise UnknownProposal("the incident has no duplicate proposal")
        return proposal

    def _open(self, incident_id: str) -> Proposal:
        proposal = self.proposal(incident_id)
        if proposal.state not in _UNDECIDED:
            raise ProposalRefused(f"the proposal is already {proposal.state.value}")
        return proposal

    async def accept(self, incident_id: str, principal: Principal) -> list[Recorded]:
        """Merge the call's incident into the proposed one (the engine's merge action)."""
        proposal = self._open(incident_id)
        return await self.engine.act(
            incident_id,
            IncidentAction(
                action=Action.MERGE,
                actor=principal.subject,
                into=proposal.candidate,
                reason="duplicate accepted",
            ),
            principal,
        )

    async def reject(self, incident_id: str, principal: Principal) -> Recorded:
        """The call's incident is an incident of its own."""
        proposal = self._open(incident_id)
        incident = self.engine.state.incidents.get(proposal.incident_id)
        principal.require_incident_action(incident.plate if incident else proposal.plate)
        (record,) = await self.engine.record(
            [
                DuplicateRejected(
                    occurred_at=self.engine.clock.now(),
                    idempotency_key=f"duplicate-rejected:{proposal.call_id}",
                    plate=proposal.plate,
                    call_id=proposal.call_id,
                    incident_id=proposal.incident_id,
                    candidate=proposal.candidate,
                    actor=principal.subject,
                )
            ]
        )
        return record

    async def report_trapped(self, call_id: str, count: int, principal: Principal) -> Recorded:
        """A caller's count of people trapped, recorded against the call's incident."""
        if count < 0:
            raise ValueError("a trapped count must not be negative")
        call = self.engine.state.calls.get(CallId(call_id))
        if call is None:
            raise LookupError("no such call")
        plate = call.placement.plate if call.placement else None
        principal.require_incident_action(plate)
        (record,) = await self.engine.record(
            [
                TrappedReported(
                    occurred_at=self.engine.clock.now(),
                    plate=plate,
                    incident_id=call.incident_id,
                    call_id=call.call_id,
                    count=count,
                    actor=principal.subject,
                )
            ]
        )
        return record

    def trapped(self, incident_id: str) -> SiteTrapped | None:
        """The register line of the site, following every call to its incident now."""
        calls = self.engine.state.calls
        current = [
            replace(r, incident_id=calls[CallId(r.call_id)].incident_id)
            if CallId(r.call_id) in calls
            else r
            for r in self.book.reports
        ]
        return trapped_register(current).get(incident_id)


class DuplicatesService(DuplicateDecisions):
    """The search on the engine's loop: a :class:`DuplicateDesk` folds every commit."""

    def __init__(self, engine: EnginePort, desk: DuplicateDesk | None = None) -> None:
        super().__init__(engine)
        self.desk = desk or DuplicateDesk()
        self.book = self.desk
        self._lock = asyncio.Lock()
        engine.subscribe(
            self._on_commit,
            replay=self._on_replay,
            prepare=self._before_replay,
            rebuilt=self._on_rebuilt,
            snapshot=self.desk,
        )

    def _on_commit(self, batch: Sequence[Recorded]) -> None:
        desk = self.desk
        apply = desk.apply
        due = False
        for seq, event in batch:
            due = apply(event, seq) or due
        if due or desk.mark_due():
            self.wake.set()

    async def _before_replay(self) -> None:
        self.desk.begin_replay(
            await self.engine.last_recorded(DuplicateProposed.event_type),
            await self.engine.last_recorded(DuplicateSearchMarked.event_type),
        )

    def _on_replay(self, batch: Sequence[Recorded]) -> None:
        replay = self.desk.replay
        for record in batch:
            replay(record.event, record.seq)

    def _on_rebuilt(self) -> None:
        if self.desk.finish_replay() or self.desk.mark_due():
            self.wake.set()

    def next_deadline(self) -> datetime | None:
        """Proposals (and a mark) are due at once; nothing waits for a time."""
        desk = self.desk
        return self.engine.clock.now() if desk.due() or desk.mark_due() else None

    async def tick(self, now: datetime) -> list[Recorded]:
        """Record every proposal that is due (once each), else a mark when one is due."""
        async with self._lock:
            desk = self.desk
            due, searched = desk.due(), desk.folded_through
            if due:
                return await self.engine.record([p.event(now, searched) for p in due])
            if desk.mark_due():
                return await self.engine.record(
                    [DuplicateSearchMarked(occurred_at=now, searched_through=searched)]
                )
            return []


__all__ = [
    "FOLDED_EVENT_TYPES",
    "DeskSnapshot",
    "DuplicateDecisions",
    "DuplicateDesk",
    "DuplicateError",
    "DuplicatesService",
    "Proposal",
    "ProposalBook",
    "ProposalRefused",
    "ProposalState",
    "UnknownProposal",
    "incident_type_of",
    "trapped_report",
]
