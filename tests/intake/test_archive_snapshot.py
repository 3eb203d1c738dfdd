"""Intake forgets the calls of archived incidents, ages its AML join by the log's time, and
comes back from a snapshot.

Histories are generated over a few numbers and devices: phone, text and sign-video calls,
their status changes, chat messages, AML reports (waiting or joined), callbacks, device
verifications and archives, with time steps long enough to age AML reports and calls out.
An archived call may still get late events, which must be ignored. The reference for
archiving is the same log folded without its archive events, with the archived calls then
left out of what it holds.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import cast

from hypothesis import example, given
from hypothesis import strategies as st

from dispatch.core.projections import Recorded, State
from dispatch.model.events import CallReceived, CallStatusChanged, Event, IncidentArchived
from dispatch.model.ids import CallId, CentreId, IncidentId
from dispatch.model.values import Caller
from dispatch.model.vocabulary import CallStatus, Channel, IncidentStatus
from dispatch.ports import EnginePort, NoLocator
from intake.events import (
    AmlReportJoined,
    AmlReportReceived,
    AppDeviceVerified,
    CallbackCompleted,
    TextMessageSent,
)
from intake.service import IntakeService
from intake.settings import IntakeSettings

T0 = datetime(2026, 2, 6, 1, 17, tzinfo=UTC)
NUMBERS = ("+905321234567", "+905551112233", "+4915112345678")
CHANNELS = (Channel.PHONE, Channel.TEXT, Channel.SIGN_VIDEO)
STATUSES = {"answered": CallStatus.ANSWERED, "ended": CallStatus.ENDED}
STATUSES["abandoned"] = CallStatus.ABANDONED
KINDS = ["call", "call", "answered", "ended", "abandoned", "message", "aml", "aml"]
KINDS += ["joined", "callback", "device", "archive"]

Op = tuple[str, int, int]
ops = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 8), st.integers(0, 6)), max_size=60)


class _Clock:
    def now(self) -> datetime:
        return T0


class FakeEngine:
    """The engine's projections and subscribers, fed by hand one record at a time."""

    def __init__(self) -> None:
        self.state = State()
        self.clock = _Clock()
        self.locator = NoLocator()
        self.listeners: list[Callable[[Sequence[Recorded]], None]] = []
        self.holds: list[Callable[..., bool]] = []

    def subscribe(self, listener: Callable[[Sequence[Recorded]], None], **_: object) -> None:
        self.listeners.append(listener)

    def hold_archive(self, hold: Callable[..., bool]) -> None:
        self.holds.append(hold)

    def fold(self, records: Sequence[Recorded], *, spine_only: bool = False) -> None:
        for record in records:
            self.state.apply(record.seq, record.event)
            if not spine_only:
                for listener in self.listeners:
                    listener([record])


def intake() -> tuple[FakeEngine, IntakeService]:
    engine = FakeEngine()
    return engine, IntakeService(
        cast("EnginePort", engine), IntakeSettings(), development_mode=True
    )


@dataclass
class History:
    """A generated log and the calls it archived."""

    records: list[Recorded]
    archived: set[CallId]


def _call(k: int, v: int, at: datetime) -> CallReceived:
    channel = CHANNELS[v % 3]
    details = {} if channel is Channel.PHONE else {"device_id": f"dev-{k % 2}"}
    return CallReceived(
        occurred_at=at,
        call_id=CallId(f"call-{k}"),
        incident_id=IncidentId(f"inc-{k}"),
        channel=channel,
        centre=CentreId("34"),
        caller=Caller(number=NUMBERS[k % 3]),
        details=details,
    )


def history(steps: list[Op]) -> History:
    """Turn generated steps into events; `v` also moves the log's time by `v` * 100 s."""
    events: list[Event] = []
    received: set[CallId] = set()
    archived: set[CallId] = set()
    reports: list[str] = []
    at = T0
    for n, (kind, k, v) in enumerate(steps):
        at += timedelta(seconds=100 * v)
        call, incident = CallId(f"call-{k}"), IncidentId(f"inc-{k}")
        if kind == "call":
            if call in received:
                continue
            received.add(call)
            events.append(_call(k, v, at))
        elif kind in STATUSES:
            events.append(CallStatusChanged(occurred_at=at, call_id=call, status=STATUSES[kind]))
        elif kind == "message":
            sender = ("caller", "operator")[v % 2]
            events.append(
                TextMessageSent(
                    occurred_at=at,
                    call_id=call,
                    incident_id=incident,
                    sender=sender,
                    message_id=f"m{v % 3}",
                    text="yardım edin",
                )
            )
        elif kind == "aml":
            key = f"aml-{n}"
            joined = v % 3 == 0 and call in received
            reports.append(key)
            events.append(
                AmlReportReceived(
                    occurred_at=at,
                    report_key=key,
                    number=NUMBERS[v % 3],
                    transport="sms",
                    version=2,
                    time=at,
                    lat=41.0,
                    lon=29.0,
                    radius_m=20.0,
                    call_id=call if joined else None,
                    incident_id=incident if joined else None,
                )
            )
        elif kind == "joined" and reports:
            key = reports[v % len(reports)]
            events.append(
                AmlReportJoined(occurred_at=at, report_key=key, call_id=call, incident_id=incident)
            )
        elif kind == "callback":
            events.append(
                CallbackCompleted(
                    occurred_at=at, call_id=call, incident_id=incident, actor="op", outcome="ok"
                )
            )
        elif kind == "device":
            events.append(
                AppDeviceVerified(
                    occurred_at=at,
                    device_id=f"dev-{v}",
                    number=NUMBERS[v % 3],
                    token_sha256=f"{v:064x}",
                )
            )
        elif kind == "archive" and call in received - archived:
            archived.add(call)
            events.append(
                IncidentArchived(
                    occurred_at=at,
                    incident_id=incident,
                    status=IncidentStatus.CLOSED,
                    calls=(call,),
                )
            )
    records = [Recorded(seq, event) for seq, event in enumerate(events, start=1)]
    return History(records=records, archived=archived)


def folded(records: Sequence[Recorded]) -> IntakeService:
    engine, service = intake()
    engine.fold(records)
    return service


def held(service: IntakeService, leaving: AbstractSet[CallId] = frozenset()) -> dict[str, object]:
    """What intake's fold holds (calls in `leaving` left out), the AML join's counters and
    waiting reports included."""
    aml = service.aml.snapshot()
    calls = {
        number: kept
        for number, refs in aml.calls.items()
        if (kept := [ref for ref in refs if ref.call_id not in leaving])
    }
    sessions = {c: s for c, s in service.sessions.items() if c not in leaving}
    return {
        "aml calls": calls,
        "aml pending": aml.pending,
        "aml counters": (aml.evicted, aml.expired, aml.sweep_due),
        "callbacks": [c for c in service.callbacks.entries() if c.call_id not in leaving],
        "sessions": sessions,
        "relays": [c for c in service.relays if c not in leaving],
        "devices": service.registrations.devices(),
    }


def call_ids_held(service: IntakeService) -> set[CallId]:
    """Every call id anywhere in intake's projections."""
    aml = service.aml
    ids = {ref.call_id for refs in aml._calls.values() for ref in refs}
    ids |= set(aml._numbers_of_calls)
    ids |= {c.call_id for c in service.callbacks.entries()}
    ids |= {c for calls in service.callbacks._by_number.values() for c in calls}
    ids |= set(service.sessions) | {s.call_id for s in service.sessions.values()}
    return ids | set(service.relays)


@given(ops)
@example([("call", 0, 0), ("call", 3, 0), ("abandoned", 0, 0), ("archive", 0, 1)])
@example([("call", 1, 1), ("message", 1, 0), ("archive", 1, 0), ("message", 1, 1)])
def test_archiving_drops_the_calls_and_nothing_else(steps: list[Op]) -> None:
    """No archived call stays anywhere; everything else is what the log folded without its
    archives holds, late events about archived calls ignored."""
    made = history(steps)
    service = folded(made.records)
    reference = folded([r for r in made.records if not isinstance(r.event, IncidentArchived)])
    assert not call_ids_held(service) & made.archived
    assert held(service) == held(reference, made.archived)


def test_archived_calls_leave_intake_empty() -> None:
    """Thousands of calls on every channel, each abandoned or ended and then archived: the
    projections end as empty as they started."""
    steps: list[Op] = []
    for k in range(3000):
        status = ("abandoned", "ended")[k % 2]
        steps += [("call", k, k % 3), ("message", k, 0), (status, k, 0), ("archive", k, 0)]
    service = folded(history(steps).records)
    assert call_ids_held(service) == set()
    assert len(service.callbacks) == 0
    assert service.sessions == {}


def test_waiting_reports_and_ended_calls_age_out_by_the_logs_time() -> None:
    """Folding a long log keeps the reports still within their time to live and the calls
    still within the join window, not every report and call ever seen."""
    engine, service = intake()
    records: list[Recorded] = []
    for n in range(2000):
        at = T0 + timedelta(seconds=60 * n)
        records.append(
            Recorded(
                len(records) + 1,
                AmlReportReceived(
                    occurred_at=at,
                    report_key=f"r{n}",
                    number=f"+90532{n:07d}",
                    transport="sms",
                    version=2,
                    time=at,
                ),
            )
        )
        call = replace(_call(n, 0, at), caller=Caller(number=f"+90555{n:07d}"))
        ended = CallStatusChanged(occurred_at=at, call_id=call.call_id, status=CallStatus.ENDED)
        records += [Recorded(len(records) + 1, call), Recorded(len(records) + 2, ended)]
    engine.fold(records)
    settings = IntakeSettings()
    lifetime = max(settings.aml_join_window_s, settings.aml_pending_ttl_s)
    assert service.aml.pending_count <= 2 * lifetime / 60 + 1
    assert len(service.aml._numbers_of_calls) <= 2 * lifetime / 60 + 1
    last = T0 + timedelta(seconds=60 * 1999)
    assert service.aml.find_call(f"+90555{1999:07d}", last) is not None
    assert service.aml.take_pending(f"+90532{1999:07d}", last) != []


def _observed(service: IntakeService) -> tuple[object, ...]:
    aml = service.aml
    return (
        held(service),
        aml._numbers_of_calls,
        aml._pending_by_number,
        service.callbacks._by_number,
        (service.callbacks.superseded, service.callbacks.completed),
        {c: (r.state, r.negotiations) for c, r in service.relays.items()},
    )


@given(ops, st.integers(0, 60))
@example([("call", 2, 2), ("call", 4, 1), ("aml", 2, 1), ("archive", 2, 0), ("ended", 4, 0)], 3)
def test_a_restored_snapshot_folds_on_like_the_original(steps: list[Op], cut: int) -> None:
    """Fold a prefix, snapshot it through pickle into a fresh service (over the engine's
    projections at the same point), fold the rest into both: they are the same."""
    records = history(steps).records
    before, after = records[:cut], records[cut:]
    engine, original = intake()
    engine.fold(before)
    saved = pickle.dumps(original.snapshot())
    again, restored = intake()
    again.fold(before, spine_only=True)
    restored.restore(pickle.loads(saved))  # noqa: S301 - our own
    assert _observed(restored) == _observed(original)
    engine.fold(after)
    again.fold(after)
    assert _observed(restored) == _observed(original)


def test_a_snapshot_does_not_follow_the_live_service() -> None:
    """A snapshot is a copy: a message folded after it is in the session, not the snapshot."""
    made = history([("call", 1, 1), ("message", 1, 0)])
    engine, service = intake()
    engine.fold(made.records[:1])
    saved = service.snapshot()
    engine.fold(made.records[1:])
    assert len(service.sessions[CallId("call-1")].transcript) == 1
    assert saved.sessions[0].transcript == []
    assert IntakeService.snapshot_name == "intake.projections"
