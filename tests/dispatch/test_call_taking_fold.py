"""The call-taking fold's fast paths decide exactly what the straightforward fold decides.

Generated event sequences (overloads, outages, operators taking and ending calls, desk
routing and hand-backs, reused call ids) are folded into the fold and into
:class:`~tests.dispatch.call_taking_reference.ReferenceFold`; after every event the queues,
the held order, the call records and the answer clock must be the same, and the statuses
and centres with room the fold keeps must match its queues.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.call_taking import CallState, CallTakingFold, CallTakingSettings
from dispatch.core.overflow import CentreCondition
from dispatch.core.projections import Recorded
from dispatch.model import (
    CallAnswered,
    Caller,
    CallId,
    CallReceived,
    CallRoutedToDesk,
    CallRoutedToProvince,
    CallStatus,
    CallStatusChanged,
    CallWrappedUp,
    CaseHandedBack,
    CentreId,
    CentreStatusChanged,
    Channel,
    IncidentId,
    LanguageFlagged,
    NextCallRequested,
    OperatorId,
    OperatorLoggedIn,
    OperatorLoggedOut,
    OperatorNotReady,
    OperatorReady,
)
from dispatch.model.centres import ALL_CENTRES, CENTRAL_DESK
from dispatch.model.events import Event
from tests.dispatch.call_taking_reference import ReferenceFold, fresh_statuses

T0 = datetime(2025, 8, 3, 14, 0, tzinfo=UTC)

#: Centres the generated calls and outages use; every other centre is out of service from
#: the start, so small queues fill and calls overflow, wait out of service or are held.
LIVE = tuple(CentreId(c) for c in ("31", "01", "80", "27", "46", "33"))
CENTRES = (*LIVE, CENTRAL_DESK)
CALLS = tuple(CallId(f"c{i}") for i in range(20))
OPERATORS = tuple(OperatorId(f"o{i}") for i in range(4))


def state_of(fold: CallTakingFold) -> dict[str, Any]:
    """Everything the fold decided, comparable between two folds."""
    queues = {}
    for centre, q in fold.queues.items():
        entries = sorted(
            q._waiting.values(), key=lambda e: (e.call.queue_class, e.call.since, e.seq)
        )
        views = [(v.operator_id, v.state, v.call_id) for v in q.operators()]
        if entries or views:
            queues[centre] = ([(e.call, e.seq) for e in entries], views, sorted(q._handled))
    calls = {
        call_id: (
            r.incident_id,
            r.centre,
            r.state,
            r.placed_because,
            r.target,
            r.province,
            r.language,
            r.desk_reason,
            r.operator,
            r.interpreter,
            r.since,
        )
        for call_id, r in fold.calls.items()
    }
    histograms = {
        key: (list(h.counts), h.total_s, h.abandoned)
        for key, h in fold.answer_times._histograms.items()
    }
    return {
        "queues": queues,
        "held": list(fold.held),
        "calls": calls,
        "clock": dict(fold.clock._clocks),
        "histograms": histograms,
        "away": dict(fold._away),
        "refused": fold.refused,
        "operators": dict(fold.operators),
    }


def check_kept_statuses(fold: CallTakingFold) -> None:
    """The statuses and the centres with room the fast fold keeps match its queues."""
    assert fold._statuses == fresh_statuses(fold)
    has_room = {
        centre
        for centre, queues in fold.queues.items()
        if not queues.full and fold.condition(centre) is not CentreCondition.OUT_OF_SERVICE
    }
    assert fold._open == has_room
    grouped = {(call, home) for home, calls in fold._away_by_home.items() for call in calls}
    assert grouped == set(fold._away.items())


# -- generated histories ---------------------------------------------------------------------

Action = tuple[Any, ...]


def _operator(kind: str) -> st.SearchStrategy[Action]:
    return st.tuples(st.just(kind), st.sampled_from(OPERATORS))


ARGUMENTS: dict[str, st.SearchStrategy[Action]] = {
    "receive": st.tuples(
        st.just("receive"),
        st.sampled_from(CALLS),
        st.sampled_from((*CENTRES, "99")),
        st.sampled_from(list(Channel)),
    ),
    "status": st.tuples(
        st.just("status"),
        st.sampled_from(CALLS),
        st.sampled_from((CallStatus.ABANDONED, CallStatus.ENDED, CallStatus.QUEUED)),
    ),
    "centre": st.tuples(
        st.just("centre"), st.sampled_from(CENTRES), st.sampled_from(list(CentreCondition))
    ),
    "login": st.tuples(
        st.just("login"),
        st.sampled_from(OPERATORS),
        st.sampled_from((LIVE[0], LIVE[1], CENTRAL_DESK, *CENTRES)),
        st.lists(st.sampled_from(("tr", "tr", "en", "de", "text", "tid")), min_size=1, unique=True),
    ),
    **{kind: _operator(kind) for kind in ("logout", "ready", "not_ready", "next", "answer")},
    "wrap_up": _operator("wrap_up"),
    "flag": st.tuples(
        st.just("flag"), st.sampled_from(CALLS), st.sampled_from(("tr", "en", "foreign"))
    ),
    "desk": st.tuples(st.just("desk"), st.sampled_from(CALLS), st.sampled_from(("en", "de", "ar"))),
    "province": st.tuples(st.just("province"), st.sampled_from(CALLS)),
    "hand_back": st.tuples(st.just("hand_back"), st.sampled_from(CALLS), st.sampled_from(LIVE)),
}
#: How often each kind of event comes (by repetition): mostly calls and operators at work.
KINDS = (
    ("receive",) * 8
    + ("status",) * 3
    + ("ready", "next", "next", "answer", "wrap_up", "wrap_up")
    + tuple(kind for kind in ARGUMENTS if kind not in {"receive", "status"})
)
actions = st.sampled_from(KINDS).flatmap(ARGUMENTS.__getitem__)


@st.composite
def call_taking_settings(draw: st.DrawFn) -> CallTakingSettings:
    """Small queues and a random neighbour map over the live centres (and the desk)."""
    neighbours = {
        centre: tuple(
            draw(
                st.lists(
                    st.sampled_from([c for c in CENTRES if c != centre]), unique=True, max_size=4
                )
            )
        )
        for centre in LIVE
    }
    return CallTakingSettings(
        max_waiting=draw(st.integers(1, 4)),
        overload_depth=draw(st.integers(0, 2)),
        max_rings=draw(st.integers(1, 2)),
        neighbours=neighbours,
    )


@dataclass
class History:
    """Builds events from actions, filling in what only the fold knows (the held call)."""

    reference: CallTakingFold
    events: list[Event] = field(default_factory=list)

    def at(self) -> datetime:
        return T0 + timedelta(seconds=7 * len(self.events))

    def incident(self, call_id: CallId) -> IncidentId:
        record = self.reference.calls.get(call_id)
        return record.incident_id if record is not None else IncidentId(f"i-{call_id}")

    def held_by(self, operator: OperatorId) -> CallId:
        record = self.reference.call_of(operator)
        return record.call_id if record is not None else CALLS[0]

    def centre_of(self, operator: OperatorId) -> CentreId:
        return self.reference.operators.get(operator, LIVE[0])

    def event(self, action: Action) -> Event:
        kind, *args = action
        at = self.at()
        if kind == "receive":
            call_id, centre, channel = args
            return CallReceived(
                occurred_at=at,
                call_id=call_id,
                incident_id=IncidentId(f"i-{call_id}-{len(self.events)}"),
                channel=channel,
                centre=centre,
                caller=Caller(number=f"+90555{len(self.events) % 3}"),
            )
        if kind == "status":
            return CallStatusChanged(occurred_at=at, call_id=args[0], status=args[1])
        if kind == "centre":
            return CentreStatusChanged(
                occurred_at=at, centre=args[0], condition=args[1].value, actor="admin"
            )
        if kind == "login":
            operator, centre, skills = args
            return OperatorLoggedIn(
                occurred_at=at, operator=operator, centre=centre, skills=tuple(skills), actor="t"
            )
        if kind in {"flag", "desk", "province", "hand_back"}:
            return self.about_call(kind, args, at)
        return self.about_operator(kind, args[0], at)

    def about_call(self, kind: str, args: list[Any], at: datetime) -> Event:
        call_id = args[0]
        incident = self.incident(call_id)
        if kind == "flag":
            return LanguageFlagged(
                occurred_at=at, call_id=call_id, incident_id=incident, flag=args[1], actor="t"
            )
        if kind == "desk":
            return CallRoutedToDesk(
                occurred_at=at,
                call_id=call_id,
                incident_id=incident,
                language=args[1],
                queue_language=args[1],
                province_centre=None,
            )
        if kind == "province":
            return CallRoutedToProvince(
                occurred_at=at,
                call_id=call_id,
                incident_id=incident,
                language="tr",
                province_centre=LIVE[0],
            )
        return CaseHandedBack(
            occurred_at=at,
            call_id=call_id,
            incident_id=incident,
            from_centre=CENTRAL_DESK,
            to_centre=args[1],
            language="en",
            interpreter=OPERATORS[0],
            caller_attached=True,
            incident_type="fire",
            address="somewhere",
            offered_at=T0,
            answered_at=at,
            reason="interpreted",
            actor="t",
        )

    def about_operator(self, kind: str, operator: OperatorId, at: datetime) -> Event:
        centre = self.centre_of(operator)
        if kind == "logout":
            return OperatorLoggedOut(occurred_at=at, operator=operator, centre=centre, actor="t")
        if kind == "ready":
            return OperatorReady(occurred_at=at, operator=operator, centre=centre)
        if kind == "not_ready":
            return OperatorNotReady(occurred_at=at, operator=operator, centre=centre)
        if kind == "next":
            return NextCallRequested(occurred_at=at, operator=operator, centre=centre)
        call_id = self.held_by(operator)
        if kind == "answer":
            return CallAnswered(
                occurred_at=at,
                call_id=call_id,
                incident_id=self.incident(call_id),
                operator=operator,
                centre=centre,
            )
        return CallWrappedUp(
            occurred_at=at,
            call_id=call_id,
            incident_id=self.incident(call_id),
            operator=operator,
            centre=centre,
        )


def fold_both(fast: CallTakingFold, reference: CallTakingFold, seq: int, event: Event) -> None:
    """Apply one event to both folds: the same outcome, raised or not."""
    outcomes: list[type[Exception] | None] = []
    for fold in (fast, reference):
        try:
            fold.apply([Recorded(seq, event)])
        except Exception as exc:  # noqa: BLE001 - the two must fail alike
            outcomes.append(type(exc))
        else:
            outcomes.append(None)
    assert outcomes[0] == outcomes[1], event


def outages(count: int) -> list[Event]:
    """Every centre but the live ones and the desk out of service."""
    return [
        CentreStatusChanged(
            occurred_at=T0 - timedelta(seconds=1),
            centre=centre,
            condition=CentreCondition.OUT_OF_SERVICE.value,
            actor="admin",
        )
        for centre in ALL_CENTRES[:count]
        if centre not in CENTRES
    ]


def fold_alongside(
    fast: CallTakingFold,
    reference: CallTakingFold,
    builder: History,
    down: int,
    history: list[Action],
) -> Iterator[tuple[Event, dict[str, Any]]]:
    """Fold a generated history into both folds, checking they agree after every event.

    ``down`` centres go out of service first; ``builder`` (over ``reference``) makes the
    events. Yields each event with the fast fold's state after it.
    """
    seq = itertools.count(1)
    for event in outages(down):
        fold_both(fast, reference, next(seq), event)
    for action in history:
        event = builder.event(action)
        builder.events.append(event)
        fold_both(fast, reference, next(seq), event)
        state = state_of(fast)
        assert state == state_of(reference)
        check_kept_statuses(fast)
        check_kept_statuses(reference)
        yield event, state


@settings(max_examples=150, deadline=None)
@given(
    setup=call_taking_settings(),
    down=st.sampled_from((0, 82)),
    history=st.lists(actions, min_size=20, max_size=120),
)
def test_the_fast_fold_decides_like_the_straightforward_one(
    setup: CallTakingSettings, down: int, history: list[Action]
) -> None:
    """Same queues, placements, held order and answer clock after every event."""
    fast, reference = CallTakingFold(setup), ReferenceFold(setup)
    for _event, _state in fold_alongside(fast, reference, History(reference), down, history):
        pass  # fold_alongside checks every event


def test_a_storm_fills_every_queue_then_holds_in_order_and_re_offers_oldest_first() -> None:
    """With every queue full calls are held in arrival order; room takes the oldest held."""
    setup = CallTakingSettings(max_waiting=2, overload_depth=1)
    fast, reference = CallTakingFold(setup), ReferenceFold(setup)
    seq = itertools.count(1)
    events: list[Event] = list(outages(82))
    calls = [CallId(f"storm-{i}") for i in range(20)]
    for index, call_id in enumerate(calls):
        events.append(
            CallReceived(
                occurred_at=T0 + timedelta(seconds=index),
                call_id=call_id,
                incident_id=IncidentId(f"i-{call_id}"),
                channel=Channel.PHONE,
                centre=LIVE[index % 2],
            )
        )
    for event in events:
        fold_both(fast, reference, next(seq), event)
    # the desk and the six live centres hold two calls each; the six others are held
    assert list(fast.held) == calls[14:]
    assert not fast._open
    assert all(fast.calls[c].placed_because == "all_queues_full" for c in calls[14:])
    waiting = [c for c in calls[:14] if fast.calls[c].state is CallState.WAITING]
    for ended, call_id in enumerate(waiting[:3]):
        fold_both(
            fast,
            reference,
            next(seq),
            CallStatusChanged(
                occurred_at=T0 + timedelta(minutes=1, seconds=ended),
                call_id=call_id,
                status=CallStatus.ABANDONED,
            ),
        )
        assert list(fast.held) == calls[15 + ended :]
        assert state_of(fast) == state_of(reference)
    check_kept_statuses(fast)


def test_an_event_the_fold_refuses_is_counted_and_the_fold_goes_on() -> None:
    """A second login and an answer by the wrong operator in the log do not stop a replay."""
    fold = CallTakingFold(CallTakingSettings())
    centre = LIVE[0]
    login = OperatorLoggedIn(
        occurred_at=T0, operator=OperatorId("op-1"), centre=centre, skills=("tr",), actor="op-1"
    )
    wrong_answer = CallAnswered(
        occurred_at=T0,
        call_id=CallId("nobody-holds-it"),
        incident_id=IncidentId("inc-1"),
        operator=OperatorId("op-1"),
        centre=centre,
    )
    later = OperatorLoggedIn(
        occurred_at=T0, operator=OperatorId("op-2"), centre=centre, skills=("tr",), actor="op-2"
    )
    fold.apply([Recorded(1, login), Recorded(2, login), Recorded(3, wrong_answer)])
    fold.apply([Recorded(4, later)])
    assert fold.refused == 2
    assert set(fold.operators) == {"op-1", "op-2"}, "the events after them are folded"
