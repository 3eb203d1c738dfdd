"""Duplicate proposals as the log records them, for an engine whose search runs elsewhere.

With the duplicate search in a process of its own (:mod:`dispatch.app.duplicate_search`)
the engine's loop keeps no sites: it folds only what the log says about proposals and
trapped people, which is all the dispatchers' API reads:

- ``DuplicateProposed``: the call's incident waits for a decision, unless the log already
  says that the incident itself has ended (then it is closed or merged) or that the
  proposed incident has (then it is withdrawn: a merge needs an open incident to merge
  into). A proposal can reach the log after either, since the search runs behind the
  log;
- ``DuplicateRejected``: the dispatcher kept the incident as one of its own;
- ``IncidentStatusChanged`` to a closed status: the incident's own proposal is merged or
  closed, and every proposal naming it as the candidate is withdrawn;
- ``IncidentArchived``: the incident's proposal and its calls' trapped counts are
  forgotten;
- ``TrappedReported``: a caller's count, kept per call for the register.

Whether an incident is open when its proposal is folded is read from the engine's
projections (``status_of``), which have folded the same batch already. The ledger takes
part in the engine's snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dispatch.core.clustering import TrappedReport
from dispatch.core.projections import Recorded
from dispatch.duplicates import Proposal, ProposalState, trapped_report
from dispatch.model.dispatch_events import DuplicateProposed, DuplicateRejected, TrappedReported
from dispatch.model.events import Event, IncidentArchived, IncidentStatusChanged
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.vocabulary import IncidentStatus

StatusOf = Callable[[IncidentId], IncidentStatus | None]
"""An incident's status in the engine's projections (``None``: unknown or archived)."""

_UNDECIDED = frozenset({ProposalState.DUE, ProposalState.PROPOSED})


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """The ledger's proposals and trapped counts, in the order it holds them (values)."""

    proposals: tuple[Proposal, ...]
    reports: tuple[TrappedReport, ...]
    search_desk: tuple[int, bytes] | None


def _ended(status: IncidentStatus) -> ProposalState:
    return ProposalState.MERGED if status is IncidentStatus.MERGED else ProposalState.CLOSED


class ProposalLedger:
    """The recorded proposals, their decisions and the trapped counts (a fold of the log)."""

    snapshot_name = "dispatch.duplicate_ledger"
    snapshot_version = 2

    def __init__(self, status_of: StatusOf) -> None:
        self._status_of = status_of
        self.proposals: dict[IncidentId, Proposal] = {}
        self._undecided: dict[IncidentId, Proposal] = {}
        self._naming: dict[IncidentId, list[IncidentId]] = {}
        """By candidate: the incidents whose proposals named it while they waited."""
        self._reports: dict[CallId, list[TrappedReport]] = {}
        self.search_desk: tuple[int, bytes] | None = None
        """The search's desk as its process last sent it, with the seq it had folded
        through: kept in the engine's snapshots, given to the next process it starts."""
        self._fold: dict[type[Event], Callable[[Any], None]] = {
            DuplicateProposed: self._proposed,
            IncidentStatusChanged: self._status,
            DuplicateRejected: self._rejected,
            TrappedReported: self._trapped,
            IncidentArchived: self._archived,
        }

    # -- the fold ---------------------------------------------------------------------------

    def apply_batch(self, batch: Sequence[Recorded]) -> None:
        """Fold committed events (every type passes; five are read)."""
        fold = self._fold.get
        for _seq, event in batch:
            handler = fold(type(event))
            if handler is not None:
                handler(event)

    def apply(self, event: Event) -> None:
        """Fold one committed event."""
        handler = self._fold.get(type(event))
        if handler is not None:
            handler(event)

    def _status(self, event: IncidentStatusChanged) -> None:
        if not event.status.is_open:
            self._decide(event.incident_id, _ended(event.status))
            self._withdraw(event.incident_id)

    def _rejected(self, event: DuplicateRejected) -> None:
        self._decide(event.incident_id, ProposalState.REJECTED)

    def _trapped(self, event: TrappedReported) -> None:
        self._reports.setdefault(event.call_id, []).append(trapped_report(event))

    def _archived(self, event: IncidentArchived) -> None:
        gone = event.incident_id
        self.proposals.pop(gone, None)
        self._undecided.pop(gone, None)
        self._withdraw(gone)
        for call_id in event.calls:
            self._reports.pop(call_id, None)

    def _proposed(self, event: DuplicateProposed) -> None:
        own = self._status_of(event.incident_id)
        if own is None:  # archived before its proposal was folded: nothing to decide
            return
        candidate = self._status_of(event.candidate)
        if not own.is_open:
            state = _ended(own)
        elif candidate is None or not candidate.is_open:
            state = ProposalState.WITHDRAWN
        else:
            state = ProposalState.PROPOSED
        proposal = Proposal.recorded(event, state, plate=event.plate)
        self.proposals[event.incident_id] = proposal
        if state is ProposalState.PROPOSED:
            self._undecided[event.incident_id] = proposal
            self._naming.setdefault(event.candidate, []).append(event.incident_id)

    def _decide(self, incident_id: IncidentId, state: ProposalState) -> None:
        proposal = self._undecided.pop(incident_id, None)
        if proposal is not None:
            proposal.state = state

    def _withdraw(self, candidate: IncidentId) -> None:
        for incident_id in self._naming.pop(candidate, ()):
            proposal = self._undecided.get(incident_id)
            if proposal is not None and proposal.candidate == candidate:
                self._decide(incident_id, ProposalState.WITHDRAWN)

    # -- what the API reads -------------------------------------------------------------------

    @property
    def reports(self) -> list[TrappedReport]:
        """Every trapped count kept (a call's in the order reported)."""
        return [report for reports in self._reports.values() for report in reports]

    def open_proposals(self) -> list[Proposal]:
        """Proposals waiting for the dispatcher's decision, in the order recorded."""
        return list(self._undecided.values())

    def open_proposal_count(self) -> int:
        """How many proposals wait for a decision."""
        return len(self._undecided)

    # -- snapshot -----------------------------------------------------------------------------

    def snapshot(self) -> LedgerSnapshot:
        """The ledger after the last folded event, sharing no mutable object."""
        return LedgerSnapshot(
            proposals=tuple(replace(p) for p in self.proposals.values()),
            reports=tuple(self.reports),
            search_desk=self.search_desk,
        )

    def restore(self, state: object) -> None:
        """Replace the ledger with a :meth:`snapshot` (``TypeError`` for anything else)."""
        if not isinstance(state, LedgerSnapshot):
            raise TypeError("not a duplicate ledger's snapshot")
        self.proposals = {p.incident_id: replace(p) for p in state.proposals}
        self._undecided = {}
        self._naming = {}
        for proposal in self.proposals.values():
            if proposal.state in _UNDECIDED:
                self._undecided[proposal.incident_id] = proposal
                self._naming.setdefault(proposal.candidate, []).append(proposal.incident_id)
        self.search_desk = state.search_desk
        self._reports = {}
        for report in state.reports:
            self._reports.setdefault(CallId(report.call_id), []).append(report)


__all__ = ["LedgerSnapshot", "ProposalLedger", "StatusOf"]
