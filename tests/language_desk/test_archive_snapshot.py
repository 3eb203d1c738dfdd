"""The desk forgets the calls of archived incidents and comes back from a snapshot.

Histories are generated: calls with language hints (some malformed), flags, verdicts,
routes, answers, hand-backs, MCCs from other events, and archives (an archived call may
still get late events, which must be ignored). The reference for archiving is a fold of the
same history without the archived calls' events.
"""

from __future__ import annotations

import asyncio
import pickle
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dispatch.core.projections import Recorded
from dispatch.model.access import Principal
from dispatch.model.call_taking_events import (
    CallAnswered,
    CallRoutedToDesk,
    CallRoutedToProvince,
    CaseHandedBack,
    LanguageDetected,
    LanguageFlagged,
)
from dispatch.model.centres import CENTRAL_DESK
from dispatch.model.events import CallReceived, Event, IncidentArchived
from dispatch.model.ids import CallId, CentreId, IncidentId, OperatorId
from dispatch.model.values import Caller
from dispatch.model.vocabulary import Channel, IncidentStatus, Role
from dispatch.ports import EnginePort
from language_desk.errors import UnknownDeskCall
from language_desk.service import LanguageDeskService, LanguageDeskSettings

T0 = datetime(2026, 2, 6, 1, 17, tzinfo=UTC)
ISTANBUL = CentreId("34")


@dataclass(frozen=True, slots=True, kw_only=True)
class MccSeen(Event):
    """Another package's event naming a call and its SIM's home network (not registered)."""

    call_id: CallId
    home_mcc: str


KINDS = ["call", "call", "flag", "detected", "desk", "province", "answered", "back", "mcc"]
Op = tuple[str, int, int]
ops = st.lists(
    st.tuples(st.sampled_from([*KINDS, "archive"]), st.integers(0, 6), st.integers(0, 6)),
    max_size=50,
)


def _event(kind: str, k: int, variant: int, at: datetime) -> Event:
    call, incident = CallId(f"call-{k}"), IncidentId(f"inc-{k}")
    if kind == "call":
        return CallReceived(
            occurred_at=at,
            plate=34,
            call_id=call,
            incident_id=incident,
            channel=Channel.TEXT,
            centre=ISTANBUL if variant % 2 else CentreId("nowhere"),
            caller=Caller(language=("de", None, "x!")[variant % 3]),
            text=("help", None, "")[variant % 3],
            details={"ivr_digit": ("2", "", "22")[variant % 3], "home_mcc": ("262", "abc")[k % 2]},
        )
    if kind == "flag":
        flag = ("foreign", "tr", "de")[variant % 3]
        return LanguageFlagged(
            occurred_at=at, call_id=call, incident_id=incident, flag=flag, actor="ct"
        )
    if kind == "detected":
        return LanguageDetected(
            occurred_at=at,
            call_id=call,
            incident_id=incident,
            language="de",
            confidence=0.9,
            decided_by="mcc",
            reason="sim",
            revision=variant % 3 + 1,
        )
    if kind == "desk":
        return CallRoutedToDesk(
            occurred_at=at,
            call_id=call,
            incident_id=incident,
            language="fa",
            queue_language="en",
            province_centre=ISTANBUL,
            fallback=bool(variant % 2),
        )
    if kind == "province":
        return CallRoutedToProvince(
            occurred_at=at,
            call_id=call,
            incident_id=incident,
            language="tr",
            province_centre=ISTANBUL,
        )
    if kind == "answered":
        return CallAnswered(
            occurred_at=at,
            call_id=call,
            incident_id=incident,
            operator=OperatorId(f"op-{variant}"),
            centre=CENTRAL_DESK if variant % 2 else ISTANBUL,
        )
    if kind == "back":
        return CaseHandedBack(
            occurred_at=at,
            call_id=call,
            incident_id=incident,
            from_centre=CENTRAL_DESK,
            to_centre=ISTANBUL,
            language="de",
            interpreter=OperatorId("op-1"),
            caller_attached=True,
            incident_type="fire",
            address="",
            offered_at=T0,
            answered_at=at,
            reason="hand-back",
            actor="op-1",
        )
    return MccSeen(occurred_at=at, call_id=call, home_mcc=("286", "262", "2x6")[variant % 3])


@dataclass
class History:
    """A generated log and the calls it archived."""

    records: list[Recorded]
    archived: set[CallId]


def history(steps: list[Op]) -> History:
    """Turn generated steps into events: a call is received once, and an archive takes an
    incident's call and, as after a merge, possibly another live call."""
    events: list[Event] = []
    received: set[CallId] = set()
    archived: set[CallId] = set()
    for n, (kind, k, variant) in enumerate(steps):
        at = T0 + timedelta(seconds=n)
        call = CallId(f"call-{k}")
        if kind == "archive":
            calls = [c for c in (call, CallId(f"call-{variant}")) if c in received - archived]
            if calls:
                archived.update(calls)
                events.append(
                    IncidentArchived(
                        occurred_at=at,
                        incident_id=IncidentId(f"inc-{k}"),
                        status=IncidentStatus.CLOSED,
                        calls=tuple(dict.fromkeys(calls)),
                    )
                )
        elif kind != "call" or call not in received:
            if kind == "call":
                received.add(call)
            events.append(_event(kind, k, variant, at))
    records = [Recorded(seq, event) for seq, event in enumerate(events, start=1)]
    return History(records=records, archived=archived)


def desk(max_pending: int = 10_000, max_calls: int = 100_000) -> LanguageDeskService:
    """A desk whose fold is fed by hand (the engine is never used by the fold)."""
    settings = LanguageDeskSettings(max_pending=max_pending, max_calls=max_calls)
    return LanguageDeskService(cast("EnginePort", object()), settings)


def folded(
    records: list[Recorded], max_pending: int = 10_000, max_calls: int = 100_000
) -> LanguageDeskService:
    service = desk(max_pending, max_calls)
    service.on_committed(records)
    return service


@given(ops)
@example([("call", 0, 0), ("call", 1, 1), ("archive", 0, 1), ("flag", 0, 0)])
def test_archiving_leaves_the_desk_of_a_log_without_the_archived_calls(steps: list[Op]) -> None:
    """No archived call stays in the desk's calls or backlog; every other call, and the
    backlog's order, are what a log without the archived calls gives."""
    made = history(steps)
    service = folded(made.records)
    kept = [r for r in made.records if getattr(r.event, "call_id", None) not in made.archived]
    reference = folded([r for r in kept if not isinstance(r.event, IncidentArchived)])
    assert list(service.calls.items()) == list(reference.calls.items())
    assert list(service._pending) == list(reference._pending)
    assert not made.archived & (set(service.calls) | set(service._pending))


def _observed(service: LanguageDeskService) -> tuple[object, ...]:
    return (
        list(service.calls.items()),
        list(service._pending),
        service.last_seq,
        service.skipped,
        service._skipped_in_row,
        service.invalid_hints,
    )


@given(ops, st.integers(0, 50))
@example([("call", 0, 0), ("call", 1, 1), ("archive", 0, 0), ("flag", 1, 0)], 3)
def test_a_restored_snapshot_folds_on_like_the_original(steps: list[Op], cut: int) -> None:
    """Fold a prefix, snapshot it through pickle into a fresh desk, fold the rest into both:
    they are the same, bounds and counters included (also when the prefix archived calls)."""
    records = history(steps).records
    original = folded(records[:cut], max_pending=3, max_calls=5)
    restored = desk(max_pending=3, max_calls=5)
    restored.restore(pickle.loads(pickle.dumps(original.snapshot())))  # noqa: S301 - our own
    assert _observed(restored) == _observed(original)
    original.on_committed(records[cut:])
    restored.on_committed(records[cut:])
    assert _observed(restored) == _observed(original)


def test_a_snapshot_does_not_follow_the_live_desk() -> None:
    """A snapshot is a copy: a flag folded after it changes the desk, not the snapshot."""
    made = history([("call", 1, 0), ("flag", 1, 0)])
    service = folded(made.records[:1])
    saved = service.snapshot()
    service.on_committed(made.records[1:])
    assert service.calls[CallId("call-1")].operator_flag == "foreign"
    restored = desk()
    restored.restore(saved)
    assert restored.calls[CallId("call-1")].operator_flag is None
    assert LanguageDeskService.snapshot_name == "language_desk.calls"


class _Clock:
    def now(self) -> datetime:
        return T0


class _Engine:
    """What the desk's worker and hand-back use of the engine: a clock and ``record``."""

    def __init__(self) -> None:
        self.clock = _Clock()
        self.recorded: list[Event] = []

    async def record(self, events: list[Event]) -> list[Recorded]:
        self.recorded.extend(events)
        return [Recorded(n, e) for n, e in enumerate(events, start=1)]


class _German:
    def rank(self, text: str) -> list[tuple[str, float]]:
        del text
        return [("de", 1.0)]


async def test_a_restored_backlog_is_detected_and_an_archived_call_is_unknown() -> None:
    """A call waiting for detection in the snapshot is detected by the restored desk's worker;
    a call archived before the snapshot cannot be handed back (unknown to the desk)."""
    made = history([("call", 1, 0), ("call", 2, 0), ("archive", 2, 2)])
    saved = pickle.dumps(folded(made.records).snapshot())
    engine = _Engine()
    service = LanguageDeskService(cast("EnginePort", engine), identifier=_German())
    service.restore(pickle.loads(saved))  # noqa: S301 - our own
    async with asyncio.TaskGroup() as tasks:
        worker = tasks.create_task(service.run())
        await asyncio.wait_for(service.settled(), timeout=10)
        worker.cancel()
    detected = [e for e in engine.recorded if isinstance(e, LanguageDetected)]
    assert [e.call_id for e in detected] == ["call-1"]
    with pytest.raises(UnknownDeskCall):
        await service.hand_back(
            CallId("call-2"),
            incident_type="fire",
            address="",
            location=None,
            principal=Principal(subject="op-1", role=Role.LANGUAGE_DESK_OPERATOR),
        )
