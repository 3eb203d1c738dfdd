"""Call-taking forgets archived incidents and calls, and comes back from a snapshot.

Generated histories (those of ``test_call_taking_fold``, plus archives, unfounded
dispositions, language verdicts and attachments) are folded into the fold and into the
straightforward :class:`~tests.dispatch.call_taking_reference.ReferenceFold`: after every
event they must agree, and after an archive nothing of the incident or its calls may be
left (but the call an operator still holds, on the operator). A fold restored from a
pickled snapshot must then go on exactly like the fold the snapshot was taken from.
"""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.call_taking import CallState, CallTaking, CallTakingFold, CallTakingSettings
from dispatch.core.projections import Recorded
from dispatch.model import (
    CallAnswered,
    CallAttached,
    Caller,
    CallId,
    CallReceived,
    CallRoutedToDesk,
    CallStatus,
    CallStatusChanged,
    CallWrappedUp,
    CentreId,
    Channel,
    IncidentId,
    IncidentStatus,
    IncidentStatusChanged,
    LanguageDetected,
    LanguageFlagged,
    NextCallRequested,
    OperatorId,
    OperatorLoggedIn,
    OperatorReady,
    UnfoundedReason,
)
from dispatch.model.call_taking_events import LanguageHint
from dispatch.model.events import Event, IncidentArchived
from dispatch.ports import Snapshotting
from tests.dispatch.call_taking_reference import ReferenceFold
from tests.dispatch.test_call_taking_fold import (
    ARGUMENTS,
    CALLS,
    CENTRES,
    KINDS,
    LIVE,
    OPERATORS,
    T0,
    Action,
    History,
    call_taking_settings,
    check_kept_statuses,
    fold_alongside,
    fold_both,
    outages,
    state_of,
)

# -- generated histories with archives --------------------------------------------------------

MORE: dict[str, st.SearchStrategy[Action]] = {
    "archive": st.tuples(st.just("archive"), st.sampled_from(CALLS), st.booleans()),
    "unfounded": st.tuples(
        st.just("unfounded"), st.sampled_from(CALLS), st.sampled_from(list(UnfoundedReason))
    ),
    "detected": st.tuples(
        st.just("detected"), st.sampled_from(CALLS), st.sampled_from(("tr", "de"))
    ),
    "attach": st.tuples(st.just("attach"), st.sampled_from(CALLS), st.sampled_from(CALLS)),
}
#: The fold test's mix, with archives about as often as calls end.
ARCHIVE_KINDS = KINDS + ("archive",) * 3 + ("unfounded", "unfounded", "detected", "attach")
archive_actions = st.sampled_from(ARCHIVE_KINDS).flatmap({**ARGUMENTS, **MORE}.__getitem__)


class ArchiveHistory(History):
    """:class:`History` with archives and the other events about incidents."""

    def event(self, action: Action) -> Event:
        kind, *args = action
        if kind not in MORE:
            event: Event = super().event(action)
            return event
        at = self.at()
        call_id = args[0]
        incident = self.incident(call_id)
        if kind == "archive":
            # the engine lists the incident's calls; without them the fold's own index serves
            belonging = [c for c, r in self.reference.calls.items() if r.incident_id == incident]
            listed = tuple(dict.fromkeys((call_id, *belonging))) if args[1] else ()
            return IncidentArchived(
                occurred_at=at, incident_id=incident, status=IncidentStatus.CLOSED, calls=listed
            )
        if kind == "unfounded":
            return IncidentStatusChanged(
                occurred_at=at,
                incident_id=incident,
                previous=IncidentStatus.NEW,
                status=IncidentStatus.UNFOUNDED,
                actor="t",
                unfounded_reason=args[1],
            )
        if kind == "detected":
            hint = LanguageHint(source="text", language=args[1], confidence=0.75, detail="hint")
            return LanguageDetected(
                occurred_at=at,
                call_id=call_id,
                incident_id=incident,
                language=args[1],
                confidence=0.75,
                decided_by="text",
                reason="text",
                evidence=(hint,),
            )
        return CallAttached(
            occurred_at=at, incident_id=self.incident(args[1]), call_id=call_id, actor="t"
        )


def archived_ids_left(fold: CallTakingFold, event: IncidentArchived) -> list[str]:
    """Where the fold still keeps the archived incident or its calls (a held call aside)."""
    calls = set(event.calls)
    left: list[str] = []
    if event.incident_id in fold._by_incident or event.incident_id in fold._numbers:
        left.append("incident index")
    for call_id, record in fold.calls.items():
        if call_id in calls or record.incident_id == event.incident_id:
            left.append(f"record {call_id}")
    places = {
        "clock": set(fold.clock._clocks),
        "held": set(fold.held),
        "away": set(fold._away),
        "away by home": {c for home in fold._away_by_home.values() for c in home},
        "by incident": {c for listed in fold._by_incident.values() for c in listed},
    }
    for queues in fold.queues.values():
        places[f"queue {queues.centre}"] = set(queues._waiting)
        on_operators = {op.call.call_id for op in queues._operators.values() if op.call}
        places[f"handled {queues.centre}"] = queues._handled - on_operators
    left.extend(name for name, ids in places.items() if ids & calls)
    return left


@settings(max_examples=120, deadline=None)
@given(
    setup=call_taking_settings(),
    down=st.sampled_from((0, 82)),
    history=st.lists(archive_actions, min_size=20, max_size=120),
)
def test_archives_leave_nothing_behind_and_decide_like_the_straightforward_fold(
    setup: CallTakingSettings, down: int, history: list[Action]
) -> None:
    """After an archive no trace of it stays; the figures do; both folds still agree."""
    fast, reference = CallTakingFold(setup), ReferenceFold(setup)
    before = state_of(fast)
    for event, after in fold_alongside(fast, reference, ArchiveHistory(reference), down, history):
        if isinstance(event, IncidentArchived):
            assert archived_ids_left(fast, event) == []
            assert after["histograms"] == before["histograms"]
            assert after["refused"] == before["refused"]
        before = after


# -- snapshots -----------------------------------------------------------------------------


def observed(fold: CallTakingFold, now: datetime) -> dict[str, Any]:
    """Everything the fold keeps and answers, comparable between two folds."""
    state = state_of(fold)
    state.update(
        records=dict(fold.calls),
        numbers=list(fold._numbers.items()),
        by_incident=dict(fold._by_incident),
        away_by_home={home: list(calls) for home, calls in fold._away_by_home.items()},
        nuisance=[(number, list(seen)) for number, seen in fold.nuisance._seen.items()],
        conditions=dict(fold.conditions),
        statuses=dict(fold._statuses),
        open=set(fold._open),
        last_seq=fold.last_seq,
        places={c: (q._next_seq, q._on_shift, q._by_class) for c, q in fold.queues.items()},
        queue_snapshots=[fold.queue_snapshot(c, now) for c in CENTRES],
        waiting=[fold.waiting(c, now, 50) for c in CENTRES],
        answer_stats=fold.answer_stats(),
        exposition=fold.answer_times.exposition(),
        operator_views=[fold.operator_view(o) for o in OPERATORS],
        held_calls=[fold.call_of(o) for o in OPERATORS],
    )
    return state


def round_trip(fold: CallTakingFold) -> object:
    """The fold's snapshot as the engine keeps it: pickled, then read back."""
    return pickle.loads(pickle.dumps(fold.snapshot()))  # noqa: S301 - our own bytes


@settings(max_examples=120, deadline=None)
@given(
    setup=call_taking_settings(),
    down=st.sampled_from((0, 82)),
    first=st.lists(archive_actions, min_size=5, max_size=80),
    then=st.lists(archive_actions, min_size=1, max_size=60),
)
def test_a_restored_fold_goes_on_like_the_saved_one(
    setup: CallTakingSettings, down: int, first: list[Action], then: list[Action]
) -> None:
    """Fold A, snapshot through pickle, restore into a new fold, fold B into both: the same."""
    saved = CallTakingFold(setup)
    seq = itertools.count(1)
    builder = ArchiveHistory(saved)
    for event in outages(down):
        saved.apply([Recorded(next(seq), event)])
    for action in first:
        event = builder.event(action)
        builder.events.append(event)
        saved.apply([Recorded(next(seq), event)])
    unpickled = saved.snapshot()
    pickled = pickle.dumps(unpickled)
    restored = CallTakingFold(setup)
    restored.apply([Recorded(1, builder.events[0])])  # what restore replaces
    restored.restore(round_trip(saved))
    now = builder.at()
    assert observed(restored, now) == observed(saved, now)
    check_kept_statuses(restored)
    for action in then:
        event = builder.event(action)
        builder.events.append(event)
        fold_both(saved, restored, next(seq), event)
        now = builder.at()
        assert observed(restored, now) == observed(saved, now)
    check_kept_statuses(restored)
    assert pickle.dumps(unpickled) == pickled, "the snapshot shares nothing the fold changed"


def test_the_fold_is_the_snapshot_participant_it_subscribes_with() -> None:
    """CallTaking subscribes its fold's listener and the fold itself as the participant."""
    subscribed: list[dict[str, Any]] = []

    class Engine:
        def subscribe(self, listener: Callable[[Sequence[Recorded]], None], **kw: Any) -> None:
            subscribed.append({"listener": listener, **kw})

    fold = CallTakingFold()
    CallTaking(Engine(), fold).subscribe()  # type: ignore[arg-type]  # only subscribe is used
    [call] = subscribed
    assert call["listener"] == fold.apply
    participant: Snapshotting = call["snapshot"]
    assert participant is fold
    assert fold.snapshot_name == "dispatch.call_taking"
    assert fold.snapshot_version >= 1


def test_restore_refuses_what_is_not_a_call_taking_snapshot() -> None:
    """Another participant's state is refused rather than half applied."""
    fold = CallTakingFold()
    with pytest.raises(TypeError, match="not a call-taking snapshot"):
        fold.restore({"last_seq": 3})
    assert fold.last_seq == 0


# -- archiving, step by step ---------------------------------------------------------------

ISTANBUL = CentreId("34")
ANKARA = CentreId("06")
OPERATOR = OperatorId("op-34")
INCIDENT = IncidentId("inc-archived")

#: An event of the log, made when its time comes.
Maker = Callable[[datetime], Event]


class Log:
    """A fold fed events one at a time, with consecutive sequence numbers and times."""

    def __init__(self, fold: CallTakingFold) -> None:
        self.fold = fold
        self.seq = 0

    def __call__(self, make: Maker) -> None:
        self.seq += 1
        self.fold.apply([Recorded(self.seq, make(T0 + timedelta(seconds=5 * self.seq)))])


def received(call_id: str, incident: IncidentId, centre: CentreId) -> Maker:
    return lambda at: CallReceived(
        occurred_at=at,
        call_id=CallId(call_id),
        incident_id=incident,
        channel=Channel.PHONE,
        centre=centre,
        caller=Caller(number="+905551112233"),
    )


def call_status(call_id: str, status: CallStatus) -> Maker:
    return lambda at: CallStatusChanged(occurred_at=at, call_id=CallId(call_id), status=status)


def unfounded(incident: IncidentId, previous: IncidentStatus) -> Maker:
    return lambda at: IncidentStatusChanged(
        occurred_at=at,
        incident_id=incident,
        previous=previous,
        status=IncidentStatus.UNFOUNDED,
        actor="t",
        unfounded_reason=UnfoundedReason.PRANK,
    )


def archived(incident: IncidentId, *calls: str) -> Maker:
    return lambda at: IncidentArchived(
        occurred_at=at,
        incident_id=incident,
        status=IncidentStatus.CLOSED,
        calls=tuple(CallId(c) for c in calls),
    )


def logged_in(at: datetime) -> Event:
    return OperatorLoggedIn(
        occurred_at=at, operator=OPERATOR, centre=ISTANBUL, skills=("tr",), actor="t"
    )


def ready(at: datetime) -> Event:
    return OperatorReady(occurred_at=at, operator=OPERATOR, centre=ISTANBUL)


def take_and_answer(log: Log, call_id: str) -> None:
    """The Istanbul operator takes the next call and answers it."""
    log(lambda at: NextCallRequested(occurred_at=at, operator=OPERATOR, centre=ISTANBUL))
    log(
        lambda at: CallAnswered(
            occurred_at=at,
            call_id=CallId(call_id),
            incident_id=INCIDENT,
            operator=OPERATOR,
            centre=ISTANBUL,
        )
    )


def wrapped_up(call_id: str) -> Maker:
    return lambda at: CallWrappedUp(
        occurred_at=at,
        call_id=CallId(call_id),
        incident_id=INCIDENT,
        operator=OPERATOR,
        centre=ISTANBUL,
    )


def sizes(fold: CallTakingFold) -> dict[str, int]:
    """How much the fold keeps per call and per incident."""
    return {
        "calls": len(fold.calls),
        "clock": len(fold.clock),
        "held": len(fold.held),
        "away": len(fold._away),
        "by incident": len(fold._by_incident),
        "numbers": len(fold._numbers),
        "waiting": sum(q.depth() for q in fold.queues.values()),
        "handled": sum(len(q._handled) for q in fold.queues.values()),
    }


def test_archiving_gives_back_everything_the_incident_took_and_keeps_the_figures() -> None:
    """Sizes return to what they were before the incident; answer figures stay."""
    fold = CallTakingFold()
    log = Log(fold)
    log(logged_in)
    log(ready)
    log(received("other", IncidentId("inc-other"), ANKARA))
    before = sizes(fold)
    waiting_elsewhere = fold.waiting(ANKARA, T0, 10)
    log(received("first", INCIDENT, ISTANBUL))
    log(received("second", INCIDENT, ISTANBUL))
    take_and_answer(log, "first")
    log(call_status("first", CallStatus.ENDED))
    log(wrapped_up("first"))
    log(call_status("second", CallStatus.ABANDONED))
    log(unfounded(INCIDENT, IncidentStatus.NEW))
    figures = (fold.answer_stats(), fold.answer_times.exposition())
    assert figures[0].answered == 1
    assert figures[0].abandoned == 1
    assert sizes(fold) != before, "the incident's caller number is kept until the archive"
    log(archived(INCIDENT, "first", "second"))
    assert sizes(fold) == before
    assert (fold.answer_stats(), fold.answer_times.exposition()) == figures
    assert len(fold.nuisance) == 1, "the register counts numbers, not incidents"
    assert fold.waiting(ANKARA, T0, 10) == waiting_elsewhere
    assert fold.refused == 0


def test_an_archived_call_still_waiting_leaves_its_queue_and_makes_room() -> None:
    """A log that archives a waiting call (it should not) frees its place for a held call."""
    fold = CallTakingFold(CallTakingSettings(max_waiting=1, overload_depth=0))
    log = Log(fold)
    log(received("first", INCIDENT, ISTANBUL))
    for centre in fold.queues:
        if centre != ISTANBUL:  # every other queue full with a call of its own
            log(received(f"fill-{centre}", IncidentId(f"inc-{centre}"), centre))
    log(received("late", IncidentId("inc-late"), ISTANBUL))
    assert list(fold.held) == ["late"]
    log(archived(INCIDENT))  # no calls listed: the fold knows the incident's calls
    assert "first" not in fold.calls
    assert not fold.held
    assert fold.calls[CallId("late")].state is CallState.WAITING
    assert [e.call.call_id for e in fold.waiting(ISTANBUL, T0, 10)] == ["late"]
    assert len(fold.clock) == len(fold.calls)


def test_events_after_the_archive_are_ignored() -> None:
    """Late events about an archived incident or call change nothing and raise nothing."""
    fold = CallTakingFold()
    log = Log(fold)
    log(received("first", INCIDENT, ISTANBUL))
    log(call_status("first", CallStatus.ENDED))
    log(archived(INCIDENT, "first"))
    after = sizes(fold)
    call = CallId("first")
    log(
        lambda at: LanguageFlagged(
            occurred_at=at, call_id=call, incident_id=INCIDENT, flag="en", actor="t"
        )
    )
    log(
        lambda at: CallRoutedToDesk(
            occurred_at=at,
            call_id=call,
            incident_id=INCIDENT,
            language="de",
            queue_language="de",
            province_centre=ISTANBUL,
        )
    )
    log(
        lambda at: CallAttached(
            occurred_at=at, incident_id=IncidentId("inc-new"), call_id=call, actor="t"
        )
    )
    log(call_status("first", CallStatus.ABANDONED))
    log(unfounded(INCIDENT, IncidentStatus.CLOSED))
    assert sizes(fold) == after
    assert len(fold.nuisance) == 0, "no number is known for the archived incident any more"
    assert fold.refused == 0
    assert fold.answer_stats().abandoned == 1, "counted when it ended unanswered, not again"


def test_an_operator_holding_an_archived_call_wraps_up_as_usual() -> None:
    """The call leaves the fold; the operator keeps it until wrap-up, then is free."""
    fold = CallTakingFold()
    log = Log(fold)
    log(logged_in)
    log(ready)
    log(received("first", INCIDENT, ISTANBUL))
    take_and_answer(log, "first")
    log(call_status("first", CallStatus.ENDED))
    log(archived(INCIDENT, "first"))
    assert fold.calls == {}
    assert len(fold.clock) == 0
    assert fold.call_of(OPERATOR) is None
    view = fold.operator_view(OPERATOR)
    assert view is not None
    assert view.call_id == "first"
    log(wrapped_up("first"))
    view = fold.operator_view(OPERATOR)
    assert view is not None
    assert view.call_id is None
    assert sizes(fold)["handled"] == 0
    assert fold.refused == 0


def test_memory_follows_the_live_calls_not_the_archived_ones() -> None:
    """Thousands of calls received, ended and archived leave the fold as it was."""
    fold = CallTakingFold(CallTakingSettings(max_waiting=50))
    log = Log(fold)
    empty = sizes(fold)
    for n in range(3_000):
        log(received(f"call-{n}", IncidentId(f"inc-{n}"), LIVE[n % len(LIVE)]))
        if n % 3:  # the others are archived while still waiting
            log(call_status(f"call-{n}", CallStatus.ABANDONED))
    assert sizes(fold)["waiting"] == 1_000
    for n in range(3_000):
        log(archived(IncidentId(f"inc-{n}"), f"call-{n}"))
    assert sizes(fold) == empty
    for queues in fold.queues.values():
        assert len(queues._by_age) <= 64
        assert all(len(bucket.heap) <= 64 for bucket in queues._buckets.values())
    assert fold.answer_stats().abandoned == 2_000
    assert fold.refused == 0


def test_a_snapshot_after_archives_holds_only_the_live_calls() -> None:
    """Restored after archives, the fold knows only the live call and goes on alike."""
    fold = CallTakingFold()
    log = Log(fold)
    log(logged_in)
    log(ready)
    for n in range(200):
        log(received(f"gone-{n}", IncidentId(f"inc-gone-{n}"), ISTANBUL))
        log(call_status(f"gone-{n}", CallStatus.ABANDONED))
        log(unfounded(IncidentId(f"inc-gone-{n}"), IncidentStatus.NEW))
        log(archived(IncidentId(f"inc-gone-{n}"), f"gone-{n}"))
    log(received("live", INCIDENT, ANKARA))
    saved = pickle.dumps(fold.snapshot())
    assert len(saved) < 10_000, "nothing of the archived calls is saved"
    restored = CallTakingFold()
    restored.restore(pickle.loads(saved))  # noqa: S301 - our own bytes
    assert set(restored.calls) == {"live"}
    assert sizes(restored) == sizes(fold)
    assert restored.answer_stats() == fold.answer_stats()
    assert restored.answer_stats().abandoned == 200
    later = Log(restored)
    later.seq = log.seq
    for feed in (log, later):
        feed(call_status("gone-3", CallStatus.ENDED))  # about an archived call: ignored
        feed(received("next", IncidentId("inc-next"), ISTANBUL))
        feed(lambda at: NextCallRequested(occurred_at=at, operator=OPERATOR, centre=ISTANBUL))
    assert restored.call_of(OPERATOR) == fold.call_of(OPERATOR)
    assert observed(restored, T0) == observed(fold, T0)
