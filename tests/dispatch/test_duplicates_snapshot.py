"""The duplicate desk's snapshot and archive: a start from a snapshot ends where the live desk is.

The live side and its log come from ``test_duplicates_replay`` (calls, ticks, closes,
merges, rejections, reclassifications, trapped counts and archives). A snapshot is taken
at a random point of the log, pickled as the engine does, and restored into a fresh desk,
which then folds the rest: live (it must equal the live desk exactly) or as the engine's
start does (``begin_replay``, ``replay`` of the tail, ``finish_replay``: the same sites,
proposals and counts as the live desk, searching only what the log cannot show).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.core.projections import Recorded
from dispatch.duplicates import DeskSnapshot, DuplicateDesk, DuplicatesService
from dispatch.model.dispatch_events import DuplicateProposed, DuplicateSearchMarked
from dispatch.model.events import Event, IncidentArchived, IncidentOpened
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.vocabulary import IncidentStatus
from dispatch.ports import Snapshotting
from tests.dispatch.test_duplicates_replay import (
    OPERATIONS,
    T0,
    Centre,
    CountingFinder,
    _latest,
    _replayed,
    _run,
    _state,
)

Log = list[tuple[int, Event]]


def _saved(desk: DuplicateDesk) -> DeskSnapshot:
    """The desk's snapshot through pickle, as the engine stores it."""
    state = pickle.loads(pickle.dumps(desk.snapshot()))  # noqa: S301 - our own bytes
    assert isinstance(state, DeskSnapshot)
    return state


def _live(log: Log, upto: int | None = None) -> DuplicateDesk:
    """A desk that folded the log live (as the centre's desk did, event by event)."""
    desk = DuplicateDesk(mark_every=12)
    for seq, event in log[:upto]:
        desk.apply(event, seq)
    return desk


def _started(log: Log, snapshot: DeskSnapshot, after: int) -> tuple[DuplicateDesk, int, bool]:
    """The engine's start: restore, prepare, replay the events after ``after``, rebuilt."""
    finder = CountingFinder()
    desk = DuplicateDesk(finder, mark_every=12)
    desk.restore(snapshot)
    desk.begin_replay(*_latest(log))
    for seq, event in log:
        if seq > after:
            desk.replay(event, seq)
    due = desk.finish_replay()
    return desk, finder.searches, due


def _searchable(log: Log, after: int) -> int:
    """Calls after the snapshot that no recorded proposal or mark covers."""
    marks = [0]
    for seq, event in log:
        if isinstance(event, DuplicateProposed):
            marks.append(event.searched_through or seq)
        elif isinstance(event, DuplicateSearchMarked):
            marks.append(event.searched_through)
    newest = max(marks)
    return sum(1 for seq, e in log if isinstance(e, IncidentOpened) and seq > max(after, newest))


def test_the_desk_is_a_snapshot_participant() -> None:
    """It has the protocol's name and version, and refuses another package's state."""
    desk: Snapshotting = DuplicateDesk()
    assert (desk.snapshot_name, desk.snapshot_version) == ("dispatch.duplicates", 1)
    with pytest.raises(TypeError):
        desk.restore({"sites": []})


@given(OPERATIONS, st.floats(0.0, 1.0))
def test_restored_then_folded_live_equals_the_live_desk_exactly(
    operations: list[tuple[Any, ...]], where: float
) -> None:
    """Snapshot at any point, restore, fold the rest live: the same state to the last bit."""
    centre = _run(operations)
    split = round(where * len(centre.log))
    desk = DuplicateDesk(mark_every=12)
    desk.restore(_saved(_live(centre.log, split)))
    for seq, event in centre.log[split:]:
        desk.apply(event, seq)
    assert desk.snapshot() == centre.desk.snapshot()
    assert [p.event(T0) for p in desk.due()] == [p.event(T0) for p in centre.desk.due()]
    assert desk.mark_due() == centre.desk.mark_due()


@given(OPERATIONS, st.floats(0.0, 1.0), st.integers(0, 4))
def test_a_start_from_a_snapshot_replays_the_tail_to_the_live_desk(
    operations: list[tuple[Any, ...]], where: float, tail: int
) -> None:
    """Restore, replay what follows: the live desk's sites, proposals, marks and counts.

    ``tail`` calls are committed at the end without their proposals recorded (the engine
    stopped): they are searched at start, as without a snapshot.
    """
    centre = _run(operations)
    centre.tick()
    for number in range(tail):
        centre.open_call(number % 4, 2.0 * number, 20.0)
    split = round(where * len(centre.log))
    after = centre.log[split - 1][0] if split else 0
    desk, searches, due = _started(centre.log, _saved(_live(centre.log, split)), after)
    assert _state(desk) == _state(centre.desk)
    assert searches == _searchable(centre.log, after)
    assert due == bool(centre.desk.due())
    assert [(p.incident_id, p.candidate) for p in desk.due()] == [
        (p.incident_id, p.candidate) for p in centre.desk.due()
    ]
    assert desk.recorded_mark == centre.desk.recorded_mark
    assert desk.folded_through == centre.desk.folded_through


def test_a_start_keeps_the_snapshot_s_marks_when_none_follows() -> None:
    """No mark is recorded early: the recorded mark comes from the snapshot, not the tail."""
    centre = Centre()
    for number in range(14):
        centre.open_call(number % 2, float(number), 20.0)
        centre.tick()
    for number in range(6):  # far apart: no proposal, and not yet a mark's worth
        centre.open_call(0, 5000.0 * (number + 1), 20.0)
    assert centre.desk.recorded_mark > 0
    assert not centre.desk.mark_due()
    for split in (len(centre.log) - 6, len(centre.log)):
        after = centre.log[split - 1][0]
        desk, _, _ = _started(centre.log, _saved(_live(centre.log, split)), after)
        assert desk.recorded_mark == centre.desk.recorded_mark
        assert not desk.mark_due()


@given(OPERATIONS, st.floats(0.0, 1.0))
def test_a_snapshot_taken_during_a_replay_keeps_its_bookkeeping(
    operations: list[tuple[Any, ...]], where: float
) -> None:
    """Calls opened before the snapshot still meet their recorded proposals after it."""
    centre = _run(operations)
    centre.tick()
    split = round(where * len(centre.log))
    after = centre.log[split - 1][0] if split else 0
    replaying = DuplicateDesk(mark_every=12)
    replaying.begin_replay(*_latest(centre.log))
    for seq, event in centre.log[:split]:
        replaying.replay(event, seq)
    desk, _, _ = _started(centre.log, _saved(replaying), after)
    whole, _, _ = _replayed(centre.log)
    assert _state(desk) == _state(whole) == _state(centre.desk)


@pytest.mark.parametrize("status", [IncidentStatus.CLOSED, IncidentStatus.MERGED])
def test_a_snapshot_between_a_close_and_the_proposal_it_preceded(status: IncidentStatus) -> None:
    """A replay's closed, unsearched call survives the snapshot and meets its proposal."""
    centre = Centre()
    centre.open_call(0, 0.0, 20.0)
    centre.open_call(0, 5.0, 20.0)  # a duplicate of inc-1, its proposal due
    in_flight = [p.event(T0, centre.desk.folded_through) for p in centre.desk.due()]
    centre.close(IncidentId("inc-2"), status, "inc-1" if status is IncidentStatus.MERGED else None)
    for proposed in in_flight:  # recorded after the close
        centre.commit(proposed)
    whole, _, _ = _replayed(centre.log)
    for split in range(len(centre.log) + 1):
        replaying = DuplicateDesk()
        replaying.begin_replay(*_latest(centre.log))
        for seq, event in centre.log[:split]:
            replaying.replay(event, seq)
        desk, searches, _ = _started(centre.log, _saved(replaying), split)
        assert _state(desk) == _state(whole) == _state(centre.desk)
        assert searches == 0


def test_an_incident_archived_while_open_leaves_its_site() -> None:
    """A log written by hand may archive an incident it never closed: its site goes too."""
    centre = Centre()
    centre.open_call(0, 0.0, 20.0)
    centre.commit(
        IncidentArchived(
            occurred_at=T0,
            incident_id=IncidentId("inc-1"),
            status=IncidentStatus.CLOSED,
            calls=(CallId("call-1"),),
        )
    )
    assert len(centre.desk.finder) == 0
    centre.open_call(0, 1.0, 20.0)
    assert centre.desk.due() == [], "not a candidate"


@given(OPERATIONS)
def test_nothing_of_an_archived_incident_or_its_calls_remains(
    operations: list[tuple[Any, ...]],
) -> None:
    """No site, proposal or due proposal of an archived incident; no count of its calls."""
    centre = _run(operations)
    for incident_id in list(centre.concluded):
        centre.tick()
        centre.archive(incident_id)
    replaying = DuplicateDesk()  # before finish_replay: its bookkeeping too
    replaying.begin_replay(*_latest(centre.log))
    for seq, event in centre.log:
        replaying.replay(event, seq)
    for state in (centre.desk.snapshot(), replaying.snapshot()):
        assert not {s.incident.incident_id for s in state.sites} & centre.archived
        assert not {p.incident_id for p in state.proposals} & centre.archived
        assert not set(state.due) & centre.archived
        assert not {r.call_id for r in state.reports} & centre.archived_calls
        remaining = {IncidentId(s.incident.incident_id) for s in state.sites}
        assert remaining <= set(centre.owners.values()), "only incidents with live calls"
        pending = [i for i, _ in (*state.unsearched, *state.closed_unsearched)]
        assert not set(pending) & centre.archived


def test_an_archived_incident_is_never_a_candidate_and_leaves_the_desk_as_before() -> None:
    """After the archive the desk is what it was before the incident, but for its marks."""
    centre = Centre()
    centre.open_call(0, 0.0, 20.0)
    centre.tick()
    before = centre.desk.snapshot()
    centre.open_call(1, 0.0, 20.0)  # inc-2, 300 m north: a site of its own
    centre.open_call(1, 5.0, 20.0)  # inc-3: a duplicate of inc-2
    centre.tick()
    centre.report_trapped(CallId("call-3"), 4)
    centre.close(IncidentId("inc-3"), IncidentStatus.MERGED, "inc-2")
    centre.close(IncidentId("inc-2"), IncidentStatus.CLOSED, None)
    centre.archive(IncidentId("inc-2"))
    assert centre.desk.proposals[IncidentId("inc-3")].state.value == "merged"
    centre.archive(IncidentId("inc-3"))
    after = centre.desk.snapshot()
    assert after == replace(
        before, recorded_mark=after.recorded_mark, folded_through=after.folded_through
    )
    centre.open_call(1, 2.0, 20.0)  # where inc-2 was: a new site, no proposal
    assert centre.desk.due() == []
    assert IncidentId("inc-4") in centre.desk.finder


def test_events_about_an_archived_incident_are_ignored() -> None:
    """A log may hold events after the archive: nothing raises and nothing comes back."""
    centre = Centre()
    centre.open_call(0, 0.0, 20.0)
    centre.open_call(0, 5.0, 20.0)
    centre.tick()
    centre.close(IncidentId("inc-2"), IncidentStatus.CLOSED, None)
    centre.archive(IncidentId("inc-2"))
    before = centre.desk.snapshot()
    (proposed,) = [e for _, e in centre.log if isinstance(e, DuplicateProposed)]
    centre.commit(proposed)
    centre.close(IncidentId("inc-2"), IncidentStatus.CANCELLED, None)
    centre.commit(
        IncidentArchived(
            occurred_at=T0, incident_id=IncidentId("inc-2"), status=IncidentStatus.CLOSED
        )
    )
    assert replace(centre.desk.snapshot(), folded_through=0) == replace(before, folded_through=0)
    desk, _, _ = _replayed(centre.log)
    assert _state(desk) == _state(centre.desk)


# -- the service over an engine that starts from snapshots ---------------------------------


@dataclass
class SnapshotEngine:
    """An engine as ``dispatch.ports`` describes it: a log, listeners, and a start."""

    log: Log = field(default_factory=list)
    listeners: list[Callable[[Sequence[Recorded]], None]] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)

    @dataclass
    class Clock:
        def now(self) -> datetime:
            return T0

    clock: Clock = field(default_factory=Clock)

    def subscribe(self, listener: Callable[[Sequence[Recorded]], None], **hooks: Any) -> None:
        """``EnginePort.subscribe``: ``replay``, ``prepare``, ``rebuilt``, ``snapshot``."""
        self.listeners.append(listener)
        self.hooks.append({"replay": listener, "prepare": None, "rebuilt": None} | hooks)

    async def last_recorded(self, event_type: str) -> Recorded | None:
        found = [Recorded(s, e) for s, e in self.log if e.event_type == event_type]
        return found[-1] if found else None

    async def record(self, events: Sequence[Event]) -> list[Recorded]:
        batch = [Recorded(len(self.log) + n + 1, e) for n, e in enumerate(events)]
        self.log.extend((r.seq, r.event) for r in batch)
        for listener in self.listeners:
            listener(batch)
        return batch

    def saved(self) -> tuple[int, bytes]:
        """Every participant's snapshot at the last seq, pickled together."""
        states = {h["snapshot"].snapshot_name: h["snapshot"].snapshot() for h in self.hooks}
        return len(self.log), pickle.dumps(states)

    async def start(self, saved: tuple[int, bytes]) -> None:
        after, payload = saved
        states = pickle.loads(payload)  # noqa: S301 - our own bytes
        for hook in self.hooks:
            hook["snapshot"].restore(states[hook["snapshot"].snapshot_name])
        for hook in self.hooks:
            if hook["prepare"] is not None:
                await hook["prepare"]()
        tail = [Recorded(s, e) for s, e in self.log if s > after]
        for hook in self.hooks:
            hook["replay"](tail)
        for hook in self.hooks:
            if hook["rebuilt"] is not None:
                hook["rebuilt"]()


async def test_the_service_starts_from_its_desk_s_snapshot() -> None:
    """Subscribed with its desk as participant, a restarted service proposes as before."""
    centre = Centre()
    first = SnapshotEngine()
    service = DuplicatesService(first, DuplicateDesk())  # type: ignore[arg-type]
    for north in (0.0, 4.0, 400.0):  # a site, its duplicate (due), another site
        centre.open_call(0, north, 20.0)
    await first.record([event for _, event in centre.log])
    saved = first.saved()
    for north in (8.0, 404.0):  # a duplicate of each site
        centre.open_call(0, north, 20.0)
        await first.record([centre.log[-1][1]])
    await service.tick(T0)  # the proposals of the two calls after the snapshot
    assert len(service.desk.open_proposals()) == 3
    second = SnapshotEngine(log=list(first.log))
    restarted = DuplicatesService(second, DuplicateDesk())  # type: ignore[arg-type]
    await second.start(saved)
    assert _state(restarted.desk) == _state(service.desk)
    assert not restarted.wake.is_set(), "every proposal is recorded: nothing is due"
    assert await restarted.tick(T0) == []
