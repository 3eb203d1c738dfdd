"""Multi-agency cases: one hand-off per agency, separate acknowledgements, escalation on time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.adapters.http import ENGINE
from dispatch.adapters.units_http import HAND_OFFS
from dispatch.core.projections import Recorded
from dispatch.model.dispatch_events import AgencyHandOffEscalated, AgencyHandOffRequested
from dispatch.model.events import IncidentClassified, IncidentStatusChanged
from dispatch.model.ids import IncidentId
from dispatch.model.vocabulary import Agency, IncidentStatus, Priority
from dispatch.multi_agency import HandOffBook, HandOffPolicy, HandOffRefused, UnknownHandOff
from tests.conftest import Database
from tests.dispatch.conftest import ClientFactory
from tests.dispatch.test_units_support import (
    ControlledClock,
    get,
    open_incident,
    post,
    timeline,
    units_app,
)

T0 = datetime(2025, 2, 6, 1, 17, tzinfo=UTC)
INC = IncidentId("inc-1")


def _classified(*agencies: Agency) -> IncidentClassified:
    return IncidentClassified(
        occurred_at=T0,
        plate=53,
        incident_id=INC,
        incident_type="traffic.collision",
        priority=Priority.URGENT,
        agencies=agencies,
        actor="ct-1",
    )


def _fold(
    book: HandOffBook, events: list[AgencyHandOffRequested] | list[AgencyHandOffEscalated]
) -> None:
    for event in events:
        book.apply(event)


def test_each_agency_gets_its_own_hand_off_and_deadline() -> None:
    """Classification requests one hand-off per agency; a reclassification adds the new ones."""
    book = HandOffBook(HandOffPolicy(ack_s=60, max_level=2))
    book.apply(_classified(Agency.HEALTH, Agency.POLICE))
    requests = book.requests(T0)
    assert [(e.agency, e.deadline) for e in requests] == [
        (Agency.HEALTH, T0 + timedelta(seconds=60)),
        (Agency.POLICE, T0 + timedelta(seconds=60)),
    ]
    _fold(book, requests)
    book.settle_requests()
    assert book.requests(T0) == []
    book.apply(_classified(Agency.HEALTH, Agency.POLICE, Agency.FIRE))
    assert [e.agency for e in book.requests(T0)] == [Agency.FIRE]


def test_late_agencies_are_escalated_level_by_level_until_acknowledged() -> None:
    """Unacknowledged at the deadline: level 1, then level 2, then no more; acked ones never."""
    book = HandOffBook(HandOffPolicy(ack_s=60, max_level=2))
    book.apply(_classified(Agency.HEALTH, Agency.POLICE))
    _fold(book, book.requests(T0))
    book.settle_requests()
    book.apply(book.acknowledge(INC, Agency.HEALTH, "health-1", T0 + timedelta(seconds=20)))
    with pytest.raises(HandOffRefused):
        book.acknowledge(INC, Agency.HEALTH, "health-1", T0 + timedelta(seconds=21))
    with pytest.raises(UnknownHandOff):
        book.acknowledge(INC, Agency.FIRE, "fire-1", T0)
    assert book.due(T0 + timedelta(seconds=59)) == []
    first = book.due(T0 + timedelta(seconds=60))
    assert [(e.agency, e.level) for e in first] == [(Agency.POLICE, 1)]
    _fold(book, first)
    assert book.due(T0 + timedelta(seconds=60)) == [], "escalated once per deadline"
    second = book.due(T0 + timedelta(seconds=120))
    assert [(e.agency, e.level, e.next_deadline) for e in second] == [(Agency.POLICE, 2, None)]
    _fold(book, second)
    assert book.due(T0 + timedelta(hours=5)) == []
    assert book.next_deadline() is None


def test_a_closed_incident_is_not_escalated() -> None:
    """Once the incident is merged, closed or cancelled, its hand-offs stop escalating."""
    book = HandOffBook(HandOffPolicy(ack_s=60, max_level=2))
    book.apply(_classified(Agency.HEALTH))
    _fold(book, book.requests(T0))
    book.apply(
        IncidentStatusChanged(
            occurred_at=T0,
            incident_id=INC,
            previous=IncidentStatus.CLASSIFIED,
            status=IncidentStatus.CANCELLED,
            actor="ct-1",
        )
    )
    assert book.due(T0 + timedelta(hours=1)) == []
    with pytest.raises(HandOffRefused):
        book.acknowledge(INC, Agency.HEALTH, "health-1", T0)


async def test_health_and_police_acknowledge_separately_and_the_late_one_is_escalated(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Through the API: two hand-offs, health acknowledges in time, police is escalated."""
    clock = ControlledClock()
    client = await aiohttp_client(units_app(database, clock, section={"handoff_ack_s": 90}))
    service = client.app[HAND_OFFS]
    incident_id = await open_incident(
        client,
        lat=41.02,
        lon=40.52,
        text="kavga var, bıçaklanan biri yerde yatıyor",
        incident_type="security.violence",
        agencies=("health", "police"),
    )
    await service.tick(clock.now())
    hand_offs = (await get(client, f"/api/v1/incidents/{incident_id}/hand-offs"))["hand_offs"]
    assert [(h["agency"], h["state"]) for h in hand_offs] == [
        ("health", "requested"),
        ("police", "requested"),
    ]
    clock.advance(40)
    wrong = await client.post(
        f"/api/v1/incidents/{incident_id}/hand-offs/health/ack",
        headers={"X-NG112-Role": "agency_dispatcher", "X-NG112-Agency": "police"},
    )
    assert wrong.status == 403, "police cannot acknowledge for health"
    acked = await client.post(
        f"/api/v1/incidents/{incident_id}/hand-offs/health/ack",
        headers={"X-NG112-Role": "agency_dispatcher", "X-NG112-Agency": "health"},
    )
    assert acked.status == 200
    again = await post(client, f"/api/v1/incidents/{incident_id}/hand-offs/health/ack", {}, 409)
    assert "already" in again["error"]["reason"]
    await post(client, f"/api/v1/incidents/{incident_id}/hand-offs/fire/ack", {}, 404)
    assert await service.tick(clock.advance(49)) == [], "89 s: still in time"
    escalated = await service.tick(clock.advance(1))
    assert [(r.event.agency, r.event.level) for r in escalated] == [(Agency.POLICE, 1)]  # type: ignore[attr-defined]
    hand_offs = (await get(client, f"/api/v1/incidents/{incident_id}/hand-offs"))["hand_offs"]
    assert [(h["agency"], h["state"], h["level"]) for h in hand_offs] == [
        ("health", "acknowledged", 0),
        ("police", "escalated", 1),
    ]
    assert hand_offs[0]["acknowledged_by"] == "dev-agency_dispatcher"
    late = await client.post(
        f"/api/v1/incidents/{incident_id}/hand-offs/police/ack",
        headers={"X-NG112-Role": "agency_dispatcher", "X-NG112-Agency": "police"},
    )
    assert late.status == 200, "an escalated hand-off can still be acknowledged"
    assert await service.tick(clock.advance(600)) == []
    kinds = [e["event_type"] for e in await timeline(client, incident_id)]
    assert kinds.count("agency_hand_off_requested") == 2
    assert kinds.count("agency_hand_off_acknowledged") == 2
    assert kinds.count("agency_hand_off_escalated") == 1


async def test_hand_offs_survive_a_restart(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """The hand-off book is folded from the log: a new process knows what is pending."""
    clock = ControlledClock()
    first = await aiohttp_client(units_app(database, clock, section={"handoff_ack_s": 60}))
    incident_id = await open_incident(
        first, lat=41.02, lon=40.52, agencies=("health", "fire"), incident_type="fire.building"
    )
    await first.app[HAND_OFFS].tick(clock.now())
    await first.close()
    second = await aiohttp_client(units_app(database, clock, section={"handoff_ack_s": 60}))
    service = second.app[HAND_OFFS]
    assert await service.tick(clock.now()) == [], "nothing requested twice"
    escalated = await service.tick(clock.advance(60))
    assert sorted(r.event.agency for r in escalated) == [Agency.FIRE, Agency.HEALTH]  # type: ignore[attr-defined]
    assert len((await get(second, f"/api/v1/incidents/{incident_id}/hand-offs"))["hand_offs"]) == 2


async def test_the_timer_loop_requests_hand_offs_by_itself(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Without an explicit tick, the lifespan's loop commits the hand-offs after a classify."""
    client = await aiohttp_client(units_app(database, ControlledClock()))
    requested: list[Agency] = []
    both = asyncio.Event()

    def watch(batch: Sequence[Recorded]) -> None:
        requested.extend(
            r.event.agency for r in batch if isinstance(r.event, AgencyHandOffRequested)
        )
        if len(requested) >= 2:
            both.set()

    client.app[ENGINE].subscribe(watch)
    await open_incident(
        client, lat=41.02, lon=40.52, agencies=("health", "fire"), incident_type="fire.building"
    )
    async with asyncio.timeout(10):
        await both.wait()
    assert sorted(requested) == [Agency.FIRE, Agency.HEALTH]
