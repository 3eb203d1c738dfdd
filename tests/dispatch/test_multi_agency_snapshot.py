"""The hand-off book's snapshot and archive, on generated histories.

A centre classifies, reclassifies and closes incidents, acknowledges hand-offs, lets time
pass and ticks (the service's requests and escalations are folded back, as committed);
the archivist archives closed incidents. The history is the log. A book restored from a
snapshot taken anywhere in it and fed the rest answers exactly as the live book; archiving
leaves the book as if the archived incidents had never been; a book folded from the whole
log (a start) has no request left to make.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.model.dispatch_events import AgencyHandOffAcknowledged
from dispatch.model.events import Event, IncidentArchived, IncidentClassified, IncidentStatusChanged
from dispatch.model.ids import IncidentId
from dispatch.model.vocabulary import Agency, IncidentStatus, Priority
from dispatch.multi_agency import (
    HandOffBook,
    HandOffBookSnapshot,
    HandOffError,
    HandOffPolicy,
)
from dispatch.ports import Snapshotting

T0 = datetime(2025, 2, 6, 1, 17, tzinfo=UTC)
POLICY = HandOffPolicy(ack_s=60, max_level=2)
AGENCIES = [Agency.HEALTH, Agency.POLICE, Agency.FIRE, Agency.AFAD]


@dataclass
class Centre:
    """The live book, its log and the clock."""

    book: HandOffBook = field(default_factory=lambda: HandOffBook(POLICY))
    log: list[Event] = field(default_factory=list)
    now: datetime = T0
    closed: set[IncidentId] = field(default_factory=set)
    archived: set[IncidentId] = field(default_factory=set)

    def commit(self, event: Event) -> None:
        self.log.append(event)
        self.book.apply(event)

    def tick(self) -> None:
        """What ``MultiAgencyService.tick`` commits."""
        events = [*self.book.requests(self.now), *self.book.due(self.now)]
        for event in events:
            self.commit(event)
        self.book.settle_requests()


def _incident(number: int) -> IncidentId:
    return IncidentId(f"inc-{number % 6}")


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("classify"), st.integers(0, 5), st.sets(st.sampled_from(AGENCIES))),
        st.tuples(st.just("classify"), st.integers(0, 5), st.sets(st.sampled_from(AGENCIES))),
        st.tuples(st.just("tick")),
        st.tuples(st.just("wait"), st.integers(1, 200)),
        st.tuples(st.just("ack"), st.integers(0, 5), st.sampled_from(AGENCIES)),
        st.tuples(st.just("close"), st.integers(0, 5)),
        st.tuples(st.just("archive"), st.integers(0, 5)),
    ),
    min_size=8,
    max_size=50,
)


def _run(operations: list[tuple[Any, ...]]) -> Centre:
    centre = Centre()
    for kind, *args in operations:
        if kind == "tick":
            centre.tick()
        elif kind == "wait":
            centre.now += timedelta(seconds=int(args[0]))
            continue
        incident_id = _incident(int(args[0])) if args else None
        if incident_id is None or incident_id in centre.archived:
            continue
        if kind == "classify" and incident_id not in centre.closed:
            centre.commit(
                IncidentClassified(
                    occurred_at=centre.now,
                    plate=53,
                    incident_id=incident_id,
                    incident_type="fire.building",
                    priority=Priority.URGENT,
                    agencies=tuple(sorted(args[1])),
                    actor="ct",
                )
            )
        elif kind == "ack":
            try:
                acked = centre.book.acknowledge(incident_id, args[1], "dispatcher", centre.now)
            except HandOffError:
                continue
            centre.commit(acked)
        elif kind == "close" and incident_id not in centre.closed:
            centre.closed.add(incident_id)
            centre.commit(
                IncidentStatusChanged(
                    occurred_at=centre.now,
                    incident_id=incident_id,
                    previous=IncidentStatus.CLASSIFIED,
                    status=IncidentStatus.CLOSED,
                    actor="ct",
                )
            )
        elif kind == "archive" and incident_id in centre.closed:
            centre.archived.add(incident_id)
            centre.commit(
                IncidentArchived(
                    occurred_at=centre.now, incident_id=incident_id, status=IncidentStatus.CLOSED
                )
            )
    return centre


def _folded(log: list[Event], book: HandOffBook | None = None) -> HandOffBook:
    book = book if book is not None else HandOffBook(POLICY)
    for event in log:
        book.apply(event)
    return book


def _answers(book: HandOffBook, now: datetime) -> list[Any]:
    """Everything the book answers: hand-offs, requests, escalations now and later."""
    later = [now + timedelta(seconds=s) for s in (0, 59, 60, 61, 600)]
    return [
        {i: [h.to_json() for h in book.hand_offs(f"inc-{i}")] for i in range(6)},
        book.has_requests,
        book.next_deadline(),
        [book.requests(moment) for moment in later],
        [book.due(moment) for moment in later],
    ]


def _saved(book: HandOffBook) -> HandOffBookSnapshot:
    state = pickle.loads(pickle.dumps(book.snapshot()))  # noqa: S301 - our own bytes
    assert isinstance(state, HandOffBookSnapshot)
    return state


def test_the_book_is_a_snapshot_participant() -> None:
    """It has the protocol's name and version, and refuses another package's state."""
    book: Snapshotting = HandOffBook(POLICY)
    assert (book.snapshot_name, book.snapshot_version) == ("dispatch.multi_agency", 1)
    with pytest.raises(TypeError):
        book.restore(None)


@given(OPERATIONS, st.floats(0.0, 1.0))
def test_restored_then_folded_equals_the_live_book(
    operations: list[tuple[Any, ...]], where: float
) -> None:
    """Snapshot anywhere (pickled), restore, fold the rest: the same state and answers."""
    centre = _run(operations)
    split = round(where * len(centre.log))
    restored = HandOffBook(POLICY)
    restored.restore(_saved(_folded(centre.log[:split])))
    _folded(centre.log[split:], restored)
    assert restored.snapshot() == centre.book.snapshot()
    assert _answers(restored, centre.now) == _answers(centre.book, centre.now)


@given(OPERATIONS)
def test_archiving_leaves_the_book_as_if_the_incident_had_never_been(
    operations: list[tuple[Any, ...]],
) -> None:
    """The live book equals a fold of the log without the archived incidents' events."""
    centre = _run(operations)
    kept = [e for e in centre.log if getattr(e, "incident_id", None) not in centre.archived]
    without = _folded(kept)
    assert centre.book.snapshot() == without.snapshot()
    assert _answers(centre.book, centre.now) == _answers(without, centre.now)
    for incident_id in centre.archived:
        assert centre.book.hand_offs(incident_id) == []


@given(OPERATIONS)
def test_a_start_asks_for_no_request_already_recorded(operations: list[tuple[Any, ...]]) -> None:
    """Folded from the whole log (no ``settle_requests``), the book is the live one."""
    centre = _run(operations)
    started = _folded(centre.log)
    assert started.snapshot() == centre.book.snapshot()
    centre.tick()
    assert not centre.book.has_requests, "every request recorded"
    assert not _folded(centre.log).has_requests


def test_events_about_an_archived_incident_are_ignored() -> None:
    """A late acknowledgement or escalation of an archived incident changes nothing."""
    centre = _run(
        [("classify", 1, {Agency.HEALTH, Agency.FIRE}), ("tick",), ("close", 1), ("archive", 1)]
    )
    assert centre.book.snapshot() == HandOffBookSnapshot(cases=(), dirty=())
    centre.commit(
        AgencyHandOffAcknowledged(
            occurred_at=T0, incident_id=_incident(1), agency=Agency.HEALTH, actor="x", waited_s=1
        )
    )
    assert centre.book.snapshot() == HandOffBookSnapshot(cases=(), dirty=())
    assert centre.book.due(T0 + timedelta(hours=1)) == []
    assert centre.book.next_deadline() is None
