"""The synthetic centre log folds as a real one: the engine's own folds refuse nothing.

Every check feeds the generated events, numbered as the log would number them, to the
engine's real projections (``dispatch.core.projections.State``) and the real call-taking
fold: each answered call must be the one the fold gave the call-taker, each archive must
name an incident the engine itself would archive (final, calls over, its exact timeline),
and nothing may follow an archive about its incident or call.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.call_taking import CallTakingFold
from dispatch.core.projections import Recorded, State
from dispatch.model.call_taking_events import CallAnswered, NextCallRequested
from dispatch.model.codec import encode_event
from dispatch.model.events import (
    CallStatusChanged,
    Event,
    IncidentArchived,
    IncidentStatusChanged,
)
from dispatch.model.vocabulary import CallStatus, IncidentStatus
from simulators.centre_log import MAX_WAITING, CentreLog, Pace

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

#: A centre at a quicker pace, so incidents close and are archived within a short log.
QUICK = Pace(
    callback_s=(10.0, 30.0),
    dispatch_s=(5.0, 20.0),
    on_scene_s=(10.0, 30.0),
    resolve_s=(10.0, 30.0),
    close_s=(5.0, 10.0),
    retention_s=30.0,
    mark_every=500,
)

FINAL = frozenset(
    {
        IncidentStatus.CLOSED,
        IncidentStatus.CANCELLED,
        IncidentStatus.MERGED,
        IncidentStatus.UNFOUNDED,
    }
)


class Folded:
    """The generated events folded into the engine's projections and call-taking fold."""

    def __init__(self) -> None:
        self.state = State()
        self.fold = CallTakingFold()
        self.archived_incidents: set[str] = set()
        self.archived_calls: set[str] = set()
        self.peak_incidents = 0
        self.answered_as_given = 0

    def apply(self, seq: int, event: Event) -> None:
        """Check ``event`` against what the folds hold, then fold it."""
        incident_id = getattr(event, "incident_id", None)
        call_id = getattr(event, "call_id", None)
        assert incident_id not in self.archived_incidents, f"{event} after its archive"
        assert call_id not in self.archived_calls, f"{event} after its call's archive"
        if isinstance(event, IncidentArchived):
            self._check_archive(event)
        if isinstance(event, CallAnswered):
            held = self.fold.call_of(event.operator)
            assert held is not None, "the call-taker holds no call"
            assert held.call_id == event.call_id, "not the call the fold gave"
            self.answered_as_given += 1
        self.state.apply(seq, event)
        self.fold.apply([Recorded(seq, event)])
        if isinstance(event, NextCallRequested):
            assert self.fold.call_of(event.operator) is not None, "the fold gave no call"
        self.peak_incidents = max(self.peak_incidents, len(self.state.incidents))

    def _check_archive(self, event: IncidentArchived) -> None:
        """The archive is what the engine's archivist would record for this incident."""
        incident = self.state.incidents[event.incident_id]
        assert incident.status in FINAL
        assert event.status is incident.status
        assert event.timeline == tuple(record.seq for record in incident.timeline)
        assert event.calls == tuple(incident.calls)
        for call_id in event.calls:
            assert self.state.calls[call_id].status in {CallStatus.ENDED, CallStatus.ABANDONED}
        assert not any(unit.incident_id == event.incident_id for unit in self.state.units.values())
        assert event.occurred_at >= max(r.event.occurred_at for r in incident.timeline)
        self.archived_incidents.add(event.incident_id)
        self.archived_calls.update(event.calls)


def _fold(log: CentreLog, count: int, first_seq: int = 1) -> tuple[Folded, list[Event]]:
    folded = Folded()
    events = list(log.events(count))
    for seq, event in enumerate(events, first_seq):
        folded.apply(seq, event)
    return folded, events


def test_a_day_of_calls_folds_without_a_refusal_and_archives_what_concluded() -> None:
    """60,000 events: every answer as the fold gave it, archives exact, working set bounded."""
    log = CentreLog(start=START, seed=5, run_id="day", pace=QUICK)
    folded, events = _fold(log, 60_000)
    stats = log.stats
    assert folded.fold.refused == 0
    assert folded.answered_as_given == stats.answered > 1000
    assert folded.fold.answer_stats().answered == stats.answered
    assert stats.archived == len(folded.archived_incidents) > 2000
    assert stats.redrawn == 0
    # Only the working set is live: far fewer incidents than calls ever received.
    assert len(folded.state.incidents) == stats.live < stats.calls / 5
    assert folded.peak_incidents == stats.peak_live < stats.calls / 4
    kinds = Counter(type(event).__name__ for event in events)
    assert kinds["CallReceived"] == kinds["IncidentOpened"] == stats.calls
    assert kinds["DuplicateSearchMarked"] >= 60_000 // 500 - 1


def test_calls_end_and_incidents_conclude_in_the_published_mix() -> None:
    """A third of callers hang up; six in ten incidents are unfounded, the rest close."""
    log = CentreLog(start=START, seed=11, run_id="mix", pace=QUICK)
    _, events = _fold(log, 80_000)
    ends = Counter(e.status for e in events if isinstance(e, CallStatusChanged))
    concluded = Counter(
        e.status for e in events if isinstance(e, IncidentStatusChanged) and e.status in FINAL
    )
    calls = log.stats.calls
    assert 0.30 < ends[CallStatus.ABANDONED] / calls < 0.37
    assert ends[CallStatus.ABANDONED] + ends[CallStatus.ENDED] > 0.95 * calls
    unfounded = concluded[IncidentStatus.UNFOUNDED]
    closed = concluded[IncidentStatus.CLOSED]
    assert set(concluded) == {IncidentStatus.UNFOUNDED, IncidentStatus.CLOSED}
    assert 0.58 < unfounded / (unfounded + closed) < 0.68
    statuses = [
        e.status
        for e in events
        if isinstance(e, IncidentStatusChanged) and e.incident_id == _first_closed(events)
    ]
    assert statuses == [
        IncidentStatus.CLASSIFIED,
        IncidentStatus.QUEUED,
        IncidentStatus.DISPATCHED,
        IncidentStatus.ON_SCENE,
        IncidentStatus.RESOLVED,
        IncidentStatus.CLOSED,
    ]


def _first_closed(events: list[Event]) -> str:
    return next(
        e.incident_id
        for e in events
        if isinstance(e, IncidentStatusChanged) and e.status is IncidentStatus.CLOSED
    )


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    first_seq=st.integers(1, 10**9),
    retention_s=st.floats(0.0, 600.0),
    aml_share=st.floats(0.0, 1.0),
    calls_per_s=st.floats(0.5, 40.0),
    operators=st.integers(162, 600),
)
def test_any_pace_folds_without_a_refusal(  # noqa: PLR0917 - hypothesis gives each
    seed: int,
    first_seq: int,
    retention_s: float,
    aml_share: float,
    calls_per_s: float,
    operators: int,
) -> None:
    """Whatever the rate, staffing, retention or AML share: no refusal, exact archives."""
    pace = Pace(
        calls_per_s=calls_per_s,
        retention_s=retention_s,
        aml_share=aml_share,
        operators=operators,
        callback_s=(5.0, 20.0),
        dispatch_s=(5.0, 20.0),
        on_scene_s=(5.0, 20.0),
        resolve_s=(5.0, 20.0),
        close_s=(1.0, 5.0),
    )
    log = CentreLog(start=START, first_seq=first_seq, seed=seed, run_id="any", pace=pace)
    folded, _ = _fold(log, 6000, first_seq)
    assert folded.fold.refused == 0
    assert folded.answered_as_given == log.stats.answered
    assert all(queue.depth() <= MAX_WAITING for queue in folded.fold.queues.values())


def test_the_log_is_the_same_however_it_is_read() -> None:
    """One seed, one log: read at once or in pieces, byte for byte the same events."""
    whole = [encode_event(e) for e in CentreLog(start=START, seed=3, run_id="r").events(5000)]
    pieces = CentreLog(start=START, seed=3, run_id="r")
    parts = [pieces.events(n) for n in (1, 999, 1500, 2500)]
    assert [encode_event(e) for e in itertools.chain(*parts)] == whole
    other = [encode_event(e) for e in CentreLog(start=START, seed=4, run_id="r").events(5000)]
    assert other != whole


def test_idempotency_keys_are_unique_as_the_log_requires() -> None:
    """The events table refuses a repeated key: the synthetic log never repeats one."""
    keys = [
        e.idempotency_key
        for e in CentreLog(start=START, seed=8, run_id="k", pace=QUICK).events(30_000)
        if e.idempotency_key is not None
    ]
    assert len(keys) == len(set(keys)) > 10_000


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"announce_s": (1.0, 7.0)}, "callers hang up during the announcement"),
        ({"aml_s": (3.0, 60.0)}, "AML arrives during the call"),
        ({"handle_s": (150.0, 45.0)}, "every range must be (low, high)"),
        ({"retention_s": -1.0}, "calls_per_s > 0, retention_s >= 0"),
        ({"operators": 100}, "at least two call-takers per centre"),
    ],
)
def test_a_pace_the_mirror_cannot_keep_is_refused(changes: dict[str, object], reason: str) -> None:
    """Paces under which the log could disagree with the fold are refused at once."""
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        Pace(**changes)  # type: ignore[arg-type]
