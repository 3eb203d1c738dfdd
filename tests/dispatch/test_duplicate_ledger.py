"""The proposal ledger: what the log records of proposals, as the in-loop desk shows it."""

from __future__ import annotations

import pickle

import pytest

from dispatch.core.projections import Recorded, State
from dispatch.duplicate_ledger import ProposalLedger
from dispatch.duplicates import DuplicateDesk, ProposalState
from dispatch.model.dispatch_events import DuplicateProposed, TrappedReported
from dispatch.model.events import Event, IncidentArchived
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.vocabulary import IncidentStatus
from tests.dispatch.test_duplicates import RIZE, T0, _opened
from tests.dispatch.test_duplicates_replay import BUILDINGS, concluded, rejected


class Log:
    """Events committed in order: the engine's projections and a ledger fold them."""

    def __init__(self) -> None:
        self.state = State()
        self.ledger = ProposalLedger(self.status_of)
        self.records: list[Recorded] = []

    def status_of(self, incident_id: IncidentId) -> IncidentStatus | None:
        incident = self.state.incidents.get(incident_id)
        return incident.status if incident is not None else None

    def commit(self, *events: Event) -> None:
        batch = [Recorded(len(self.records) + n + 1, e) for n, e in enumerate(events)]
        for seq, event in batch:
            self.state.apply(seq, event)  # the projections fold a batch first, as live
        self.ledger.apply_batch(batch)
        self.records += batch


def _proposed(number: int, candidate: int) -> DuplicateProposed:
    return DuplicateProposed(
        occurred_at=T0,
        idempotency_key=f"duplicate:call-{number}",
        call_id=CallId(f"call-{number}"),
        incident_id=IncidentId(f"inc-{number}"),
        candidate=IncidentId(f"inc-{candidate}"),
        distance_m=12.0,
        gate_m=80.0,
        score=0.9,
    )


def _states(ledger: ProposalLedger) -> dict[str, ProposalState]:
    return {incident: p.state for incident, p in ledger.proposals.items()}


def test_a_recorded_proposal_waits_until_rejected_or_its_incident_ends() -> None:
    """Recorded: waiting; rejected, merged or closed: decided, in the order of the log."""
    log = Log()
    log.commit(*(_opened(n, *RIZE) for n in range(1, 5)))
    log.commit(_proposed(2, 1), _proposed(3, 1), _proposed(4, 1))
    assert [p.incident_id for p in log.ledger.open_proposals()] == ["inc-2", "inc-3", "inc-4"]
    log.commit(
        rejected("call-2", "inc-2", "inc-1"),
        concluded(IncidentId("inc-3"), IncidentStatus.MERGED, IncidentId("inc-1")),
        concluded(IncidentId("inc-4"), IncidentStatus.CLOSED),
    )
    assert _states(log.ledger) == {
        "inc-2": ProposalState.REJECTED,
        "inc-3": ProposalState.MERGED,
        "inc-4": ProposalState.CLOSED,
    }
    assert log.ledger.open_proposal_count() == 0


def test_proposals_naming_an_incident_that_ends_are_withdrawn_even_when_recorded_late() -> None:
    """The candidate concludes: waiting proposals are withdrawn; one the search recorded
    after the conclusion (it runs behind the log) is withdrawn as it is folded."""
    log = Log()
    log.commit(*(_opened(n, *RIZE) for n in range(1, 4)))
    log.commit(_proposed(2, 1))
    log.commit(concluded(IncidentId("inc-1"), IncidentStatus.CLOSED))
    log.commit(_proposed(3, 1))
    assert _states(log.ledger) == {
        "inc-2": ProposalState.WITHDRAWN,
        "inc-3": ProposalState.WITHDRAWN,
    }
    assert log.ledger.open_proposals() == []


def test_a_proposal_recorded_after_its_own_incident_ended_is_never_open() -> None:
    """The dispatcher merged the call's incident before its proposal reached the log."""
    log = Log()
    log.commit(_opened(1, *RIZE), _opened(2, *RIZE))
    log.commit(concluded(IncidentId("inc-2"), IncidentStatus.MERGED, IncidentId("inc-1")))
    log.commit(_proposed(2, 1))
    assert _states(log.ledger) == {"inc-2": ProposalState.MERGED}
    assert log.ledger.open_proposal_count() == 0


def test_archiving_forgets_the_proposal_and_the_trapped_counts_of_its_calls() -> None:
    """An archived incident's proposal and its calls' counts leave; others stay."""
    log = Log()
    log.commit(_opened(1, *RIZE), _opened(2, *RIZE))
    log.commit(_proposed(2, 1))
    for number, count in ((1, 3), (2, 5), (2, 4)):
        log.commit(
            TrappedReported(
                occurred_at=T0,
                incident_id=IncidentId(f"inc-{number}"),
                call_id=CallId(f"call-{number}"),
                count=count,
                actor="ct",
            )
        )
    assert [(r.call_id, r.trapped) for r in log.ledger.reports] == [
        ("call-1", 3),
        ("call-2", 5),
        ("call-2", 4),
    ]
    log.commit(concluded(IncidentId("inc-2"), IncidentStatus.CLOSED))
    log.commit(
        IncidentArchived(
            occurred_at=T0,
            incident_id=IncidentId("inc-2"),
            status=IncidentStatus.CLOSED,
            calls=(CallId("call-2"),),
        )
    )
    assert log.ledger.proposals == {}
    assert [(r.call_id, r.trapped) for r in log.ledger.reports] == [("call-1", 3)]


def test_the_ledger_shows_the_recorded_proposals_as_the_in_loop_desk_does() -> None:
    """Over calls at four buildings, decisions and a conclusion, the ledger's proposals
    (as recorded) have the states the desk that made them gives them."""
    desk = DuplicateDesk()
    log = Log()
    number = 0

    def call_at(building: int) -> None:
        nonlocal number
        number += 1
        opened = _opened(number, *BUILDINGS[building])
        log.commit(opened)
        if desk.apply(opened, len(log.records)):
            events = [p.event(T0, desk.folded_through) for p in desk.due()]
            log.commit(*events)
            for event in events:
                desk.apply(event, len(log.records))

    def decide(*events: Event) -> None:
        log.commit(*events)
        for event in events:
            desk.apply(event, len(log.records))

    for building in (0, 1, 0, 0, 2, 1, 3, 0, 2, 2):
        call_at(building)
    waiting = [p.incident_id for p in desk.open_proposals()]
    assert len(waiting) == 6
    decide(concluded(waiting[0], IncidentStatus.MERGED, desk.proposals[waiting[0]].candidate))
    decide(
        rejected(
            desk.proposals[waiting[1]].call_id, waiting[1], desk.proposals[waiting[1]].candidate
        )
    )
    decide(concluded(IncidentId("inc-2"), IncidentStatus.CLOSED))  # building 1's first site
    for building in (1, 3, 0):
        call_at(building)

    assert {i: (p.candidate, p.state) for i, p in log.ledger.proposals.items()} == {
        i: (p.candidate, p.state) for i, p in desk.proposals.items()
    }
    assert [p.incident_id for p in log.ledger.open_proposals()] == [
        p.incident_id for p in desk.open_proposals()
    ]


def test_a_snapshot_restores_the_same_ledger() -> None:
    """Pickled and restored: the same proposals, states, counts and withdrawals to come."""
    log = Log()
    log.commit(*(_opened(n, *RIZE) for n in range(1, 5)))
    log.commit(_proposed(2, 1), _proposed(3, 1), _proposed(4, 3))
    log.commit(
        TrappedReported(
            occurred_at=T0,
            incident_id=IncidentId("inc-1"),
            call_id=CallId("call-1"),
            count=2,
            actor="ct",
        )
    )
    restored = ProposalLedger(log.status_of)
    restored.restore(pickle.loads(pickle.dumps(log.ledger.snapshot())))  # noqa: S301 - our own bytes
    assert _states(restored) == _states(log.ledger)
    assert restored.reports == log.ledger.reports
    ending = concluded(IncidentId("inc-1"), IncidentStatus.CLOSED)
    log.commit(ending)
    restored.apply(ending)
    assert (
        _states(restored)
        == _states(log.ledger)
        == {
            "inc-2": ProposalState.WITHDRAWN,
            "inc-3": ProposalState.WITHDRAWN,
            "inc-4": ProposalState.PROPOSED,
        }
    )
    with pytest.raises(TypeError):
        restored.restore(object())
