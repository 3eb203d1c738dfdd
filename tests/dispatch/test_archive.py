"""Archiving concluded incidents: the rule, the fold, reads from the log, settled keys."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from dispatch.adapters.http import ENGINE
from dispatch.adapters.store import EventLog, create_engine
from dispatch.app.housekeeping import archive_once
from dispatch.app.web import build_app
from dispatch.core.archive import due_for_archive
from dispatch.core.decide import Action, IncidentAction, ReceiveCall
from dispatch.core.projections import State
from dispatch.model.access import DEVELOPMENT_PRINCIPAL
from dispatch.model.events import (
    CallAttached,
    CallReceived,
    CallStatusChanged,
    Event,
    IncidentArchived,
    IncidentOpened,
    IncidentStatusChanged,
    UnitDispatched,
    UnitRegistered,
    UnitStatusReported,
)
from dispatch.model.ids import CallId, CentreId, IncidentId, UnitId
from dispatch.model.values import Location
from dispatch.model.vocabulary import (
    Agency,
    CallStatus,
    Channel,
    IncidentStatus,
    UnfoundedReason,
    UnitKind,
    UnitStatus,
)
from dispatch.ports import CallAck
from dispatch.service import Engine
from tests.conftest import Database
from tests.dispatch.conftest import ClientFactory, settings_for
from tests.dispatch.test_units_support import ControlledClock

T0 = datetime(2026, 2, 6, 4, 17, tzinfo=UTC)
CENTRE = CentreId("ist-112")
HOUR = timedelta(hours=1)


def _call(n: int, at: datetime = T0) -> list[Event]:
    call, incident = CallId(f"call-{n}"), IncidentId(f"inc-{n}")
    return [
        CallReceived(
            occurred_at=at,
            idempotency_key=f"call:{n}",
            call_id=call,
            incident_id=incident,
            channel=Channel.PHONE,
            centre=CENTRE,
            location=Location(lat=41.0, lon=29.0, radius_m=50),
        ),
        IncidentOpened(
            occurred_at=at, incident_id=incident, call_id=call, channel=Channel.PHONE, centre=CENTRE
        ),
    ]


def _end(n: int, at: datetime = T0, status: CallStatus = CallStatus.ENDED) -> Event:
    return CallStatusChanged(occurred_at=at, call_id=CallId(f"call-{n}"), status=status)


def _conclude(
    n: int, at: datetime = T0, status: IncidentStatus = IncidentStatus.UNFOUNDED
) -> Event:
    return IncidentStatusChanged(
        occurred_at=at,
        idempotency_key=f"action:{n}",
        incident_id=IncidentId(f"inc-{n}"),
        previous=IncidentStatus.NEW,
        status=status,
        actor="op-1",
    )


def _fold(*events: Event) -> State:
    state = State()
    for seq, event in enumerate(events, start=1):
        state.apply(seq, event)
    return state


def test_an_incident_is_due_once_final_for_the_retention_with_every_call_over() -> None:
    """Final for an hour, call ended, no unit: due; one minute short of the hour: not yet."""
    state = _fold(*_call(1), _end(1), _conclude(1))
    assert due_for_archive(state, T0 + HOUR - timedelta(minutes=1), after=HOUR) == []
    (due,) = due_for_archive(state, T0 + HOUR, after=HOUR)
    assert due.incident_id == "inc-1"
    assert due.status is IncidentStatus.UNFOUNDED
    assert due.calls == ("call-1",)
    assert due.timeline == tuple(r.seq for r in state.incidents[IncidentId("inc-1")].timeline)
    assert due.idempotency_key == "archive:inc-1"


def test_an_open_incident_a_live_call_or_an_assigned_unit_holds_it_back() -> None:
    """Open incident, a call still on the line, a unit still on it: none is archived."""
    later = T0 + 2 * HOUR
    assert due_for_archive(_fold(*_call(1), _end(1)), later, after=HOUR) == []
    assert due_for_archive(_fold(*_call(1), _conclude(1)), later, after=HOUR) == []
    unit = UnitId("unit-1")
    with_unit = [
        UnitRegistered(
            occurred_at=T0,
            unit_id=unit,
            kind=UnitKind.AMBULANCE,
            agency=Agency.HEALTH,
            centre=CENTRE,
            callsign="34-A-1",
        ),
        *_call(1),
        UnitDispatched(occurred_at=T0, unit_id=unit, incident_id=IncidentId("inc-1"), actor="d"),
        _end(1),
        _conclude(1, status=IncidentStatus.CANCELLED),
    ]
    assert due_for_archive(_fold(*with_unit), later, after=HOUR) == []
    back = UnitStatusReported(occurred_at=T0, unit_id=unit, status=UnitStatus.AVAILABLE)
    (due,) = due_for_archive(_fold(*with_unit, back), later, after=HOUR)
    assert due.incident_id == "inc-1"


@pytest.mark.parametrize(
    ("channel", "due"),
    [
        (Channel.ECALL, True),
        (Channel.PANIC_APP, True),
        (Channel.TEXT, False),
        (Channel.SIGN_VIDEO, False),
        (Channel.PHONE, False),
    ],
)
def test_a_call_without_an_end_signal_is_over_when_its_incident_is(
    channel: Channel, due: bool
) -> None:
    """An MSD or an alarm never ends by itself; a phone, text or video call must end."""
    received, opened = _call(1)
    assert isinstance(received, CallReceived)
    assert isinstance(opened, IncidentOpened)
    state = _fold(
        dataclasses.replace(received, channel=channel),
        dataclasses.replace(opened, channel=channel),
        _conclude(1),
    )
    assert bool(due_for_archive(state, T0 + HOUR, after=HOUR)) is due


def test_a_package_can_hold_an_incident_back() -> None:
    """A hold that answers true for the incident keeps it; the others still go."""
    events: list[Event] = []
    for n in (1, 2):
        events += [*_call(n), _end(n), _conclude(n)]
    state = _fold(*events)
    seen: list[tuple[str, tuple[str, ...]]] = []

    def hold(incident_id: IncidentId, calls: tuple[CallId, ...]) -> bool:
        seen.append((incident_id, calls))
        return incident_id == "inc-1"

    due = due_for_archive(state, T0 + HOUR, after=HOUR, holds=[hold])
    assert [d.incident_id for d in due] == ["inc-2"]
    assert seen == [("inc-1", ("call-1",)), ("inc-2", ("call-2",))]


def test_the_scan_stops_at_the_first_incident_concluded_too_recently() -> None:
    """Oldest conclusions first, at most ``limit``; a recent one ends the scan."""
    events: list[Event] = []
    for n in range(5):
        at = T0 + timedelta(minutes=n)
        events += [*_call(n, at), _end(n, at), _conclude(n, at)]
    state = _fold(*events)
    now = T0 + HOUR + timedelta(minutes=2, seconds=30)
    assert [d.incident_id for d in due_for_archive(state, now, after=HOUR)] == [
        "inc-0",
        "inc-1",
        "inc-2",
    ]
    assert [d.incident_id for d in due_for_archive(state, now, after=HOUR, limit=2)] == [
        "inc-0",
        "inc-1",
    ]


def test_folding_the_archive_drops_the_incident_its_calls_and_their_events() -> None:
    """The archived incident, its call and its keys' events leave; the other stays whole."""
    history = [*_call(1), _end(1), _conclude(1), *_call(2)]
    state = _fold(*history)
    untouched = _fold(*_call(2))
    (due,) = due_for_archive(state, T0 + HOUR, after=HOUR)
    state.apply(len(history) + 1, due)
    assert set(state.incidents) == {"inc-2"}
    assert set(state.calls) == {"call-2"}
    assert state.concluded == {}
    assert state.original("call:1") is None, "the call's event left memory"
    assert state.settled("call:1") == 1
    assert state.settled("action:1") == 4
    assert state.original("call:2") is not None
    assert (
        state.incidents[IncidentId("inc-2")].calls == untouched.incidents[IncidentId("inc-2")].calls
    )
    assert state.open_by_centre[CENTRE] == 1


def test_a_merged_incidents_calls_stay_with_the_incident_they_joined() -> None:
    """Archiving the merged source keeps the call it gave to the target."""
    merge = IncidentStatusChanged(
        occurred_at=T0,
        incident_id=IncidentId("inc-2"),
        previous=IncidentStatus.NEW,
        status=IncidentStatus.MERGED,
        actor="op",
        merged_into=IncidentId("inc-1"),
    )
    attach = CallAttached(
        occurred_at=T0, incident_id=IncidentId("inc-1"), call_id=CallId("call-2"), actor="op"
    )
    state = _fold(*_call(1), *_call(2), attach, merge)
    (due,) = due_for_archive(state, T0 + HOUR, after=HOUR)
    assert due.incident_id == "inc-2"
    assert due.calls == (), "call-2 belongs to inc-1 now"
    state.apply(100, due)
    assert set(state.calls) == {"call-1", "call-2"}
    assert state.calls[CallId("call-2")].incident_id == "inc-1"


def test_old_keys_keep_only_their_seq() -> None:
    """Beyond the recent window a key keeps its seq; the first carrier still wins."""
    state = State(recent_keys=4)
    events = [e for n in range(10) for e in _call(n)]
    for seq, event in enumerate(events, start=1):
        state.apply(seq, event)
    assert len(state.keys) < 2 * 4
    assert state.original("call:9") is not None
    assert state.original("call:0") is None
    assert state.settled("call:0") == 1
    repeat = _call(0)[0]
    state.apply(len(events) + 1, repeat)
    assert state.settled("call:0") == 1, "a second event with the key changes nothing"
    assert state.original("call:0") is None


def test_the_oldest_settled_keys_are_forgotten_past_the_limit() -> None:
    """Settled keys stay bounded: past the limit the oldest half goes, the newest stay."""
    state = State(recent_keys=2, settled_limit=6)
    events = [e for n in range(20) for e in _call(n)]
    for seq, event in enumerate(events, start=1):
        state.apply(seq, event)
        assert len(state.settled_keys) <= 6
    assert state.original("call:19") is not None
    assert state.settled("call:0") is None, "forgotten"
    newest_settled = max(state.settled_keys, key=state.settled_keys.__getitem__)
    assert state.settled_keys[newest_settled] == max(state.settled_keys.values())
    assert {int(k.split(":")[1]) for k in state.settled_keys} == set(
        range(20 - 2 - len(state.settled_keys), 18)
    ), "the newest settled keys are the ones kept"


@asynccontextmanager
async def engine_on(
    database: Database, clock: ControlledClock, install: Callable[[Engine], None] | None = None
) -> AsyncIterator[Engine]:
    """A bare engine (the spine, and what ``install`` subscribes) on the test database."""
    db = create_engine(database.url, schema=database.schema)
    log = EventLog(db)
    await log.open()
    engine = Engine(log, clock=clock)
    if install is not None:
        install(engine)
    try:
        await engine.rebuild()
        async with asyncio.TaskGroup() as tasks:
            writer = tasks.create_task(log.run_writer())
            try:
                yield engine
            finally:
                log.stop_writer()
                await writer
    finally:
        await db.dispose()


async def test_the_archivist_archives_and_the_incident_reads_back_from_the_log(
    database: Database,
) -> None:
    """Live view before == the view read back from the log; a replay archives the same."""
    clock = ControlledClock(T0)
    command = ReceiveCall(channel=Channel.PHONE, client_request_id="gw-1")
    async with engine_on(database, clock) as engine:
        ack = await engine.receive_call(command, DEVELOPMENT_PRINCIPAL)
        kept = await engine.receive_call(
            ReceiveCall(channel=Channel.PHONE, client_request_id="gw-2"), DEVELOPMENT_PRINCIPAL
        )
        await engine.record(
            [
                CallStatusChanged(
                    occurred_at=clock.now(), call_id=ack.call_id, status=CallStatus.ENDED
                )
            ]
        )
        unfounded = IncidentAction(
            action=Action.UNFOUNDED,
            actor="op-1",
            unfounded_reason=UnfoundedReason.SILENT,
            client_request_id="op-1",
        )
        await engine.act(ack.incident_id, unfounded, DEVELOPMENT_PRINCIPAL)
        live = engine.incident(ack.incident_id)
        assert await archive_once(engine, after=HOUR) == 0, "not before the retention"
        clock.advance(3600)
        assert await archive_once(engine, after=HOUR) == 1
        assert await archive_once(engine, after=HOUR) == 0, "archived once"
        assert ack.incident_id not in engine.state.incidents
        assert ack.call_id not in engine.state.calls
        assert kept.incident_id in engine.state.incidents
        back = await engine.archived_incident(ack.incident_id)
        assert back == live
        assert await engine.archived_incident(kept.incident_id) is None, "not archived"
        retry = await engine.receive_call(command, DEVELOPMENT_PRINCIPAL)
        assert retry.duplicate
        assert (retry.call_id, retry.incident_id, retry.seq) == (
            ack.call_id,
            ack.incident_id,
            ack.seq,
        )
        state_after = engine.state
    async with engine_on(database, ControlledClock(T0)) as replayed:
        assert set(replayed.state.incidents) == set(state_after.incidents)
        assert set(replayed.state.calls) == set(state_after.calls)


async def _phone_calls(engine: Engine, *request_ids: str) -> list[CallAck]:
    """One phone call per gateway request id, each committed on its own, in order."""
    return [
        await engine.receive_call(
            ReceiveCall(channel=Channel.PHONE, client_request_id=request_id),
            DEVELOPMENT_PRINCIPAL,
        )
        for request_id in request_ids
    ]


async def test_a_retry_of_a_settled_key_gets_the_original_answer(database: Database) -> None:
    """A gateway retry older than the recent window is answered from the log, not re-made."""
    clock = ControlledClock(T0)
    async with engine_on(database, clock) as engine:
        engine.state.recent_keys = 2
        first, *_ = await _phone_calls(engine, "old", *(f"new-{n}" for n in range(6)))
        assert engine.state.original("call:old") is None
        assert engine.state.settled("call:old") == first.seq
        calls = len(engine.state.calls)
        again = await engine.receive_calls(
            [ReceiveCall(channel=Channel.PHONE, client_request_id="old")], DEVELOPMENT_PRINCIPAL
        )
        assert again[0].duplicate
        assert again[0].call_id == first.call_id
        assert len(engine.state.calls) == calls


async def test_a_retry_of_a_forgotten_key_gets_the_original_answer(database: Database) -> None:
    """Past every key the process keeps, the log's unique index still knows the call."""
    clock = ControlledClock(T0)
    async with engine_on(database, clock) as engine:
        engine.state.recent_keys, engine.state.settled_limit = 2, 2
        first, *_ = await _phone_calls(engine, "ancient", *(f"later-{n}" for n in range(12)))
        assert engine.state.original("call:ancient") is None
        assert engine.state.settled("call:ancient") is None, "forgotten"
        head = engine.log.head
        batch = [
            ReceiveCall(channel=Channel.PHONE, client_request_id="ancient"),
            ReceiveCall(channel=Channel.PHONE, client_request_id="new-one"),
        ]
        again, new = await engine.receive_calls(batch, DEVELOPMENT_PRINCIPAL)
        assert again.duplicate
        assert (again.call_id, again.seq) == (first.call_id, first.seq)
        assert not new.duplicate
        assert new.seq > head, "the rest of the batch is committed"


async def test_the_api_serves_an_archived_incident_from_the_log(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """GET /api/v1/incidents/{id} answers for an archived incident, marked archived."""
    clock = ControlledClock(T0)
    client: TestClient = await aiohttp_client(  # type: ignore[type-arg]
        build_app(settings_for(database), clock=clock)
    )
    response = await client.post("/api/v1/calls", json={"channel": "phone"})
    assert response.status == 202
    ack = await response.json()
    engine: Engine = client.app[ENGINE]
    await engine.record(
        [
            CallStatusChanged(
                occurred_at=clock.now(), call_id=CallId(ack["call_id"]), status=CallStatus.ABANDONED
            )
        ]
    )
    action = {"action": "unfounded", "unfounded_reason": "silent"}
    url = f"/api/v1/incidents/{ack['incident_id']}"
    assert (await client.post(f"{url}/actions", json=action)).status == 200
    live = await (await client.get(url)).json()
    assert live["archived"] is False
    live_call = await (await client.get(f"/api/v1/calls/{ack['call_id']}")).json()
    assert live_call.pop("archived") is False
    clock.advance(3600)
    assert await archive_once(engine, after=HOUR) == 1
    response = await client.get(url)
    assert response.status == 200
    archived = await response.json()
    assert archived.pop("archived") is True
    live.pop("archived")
    assert archived == live
    assert (await client.get("/api/v1/incidents/inc-nope")).status == 404
    call_url = f"/api/v1/calls/{ack['call_id']}"
    call = await (await client.get(call_url)).json()
    assert call.pop("archived") is True
    assert call == live_call
    assert call["status"] == "abandoned"
    assert (await client.get("/api/v1/calls/call-nope")).status == 404
    listed = await (await client.get("/api/v1/incidents")).json()
    assert ack["incident_id"] not in {i["incident_id"] for i in listed["incidents"]}
    archive = await engine.log.archived(ack["incident_id"])
    assert archive is not None
    assert isinstance(archive.event, IncidentArchived)
