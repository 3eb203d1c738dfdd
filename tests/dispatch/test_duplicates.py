"""Duplicates: a scripted earthquake collapses to its buildings; merges keep every call."""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.adapters.http import ENGINE
from dispatch.adapters.store import EventLog, create_engine
from dispatch.adapters.units_http import DUPLICATES
from dispatch.core.taxonomy import IncidentType
from dispatch.duplicates import DuplicateDesk, DuplicatesService, ProposalState
from dispatch.model.dispatch_events import (
    DuplicateProposed,
    DuplicateSearchMarked,
)
from dispatch.model.events import Event, IncidentOpened, IncidentStatusChanged
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.values import Location
from dispatch.model.vocabulary import Channel, IncidentStatus
from tests.conftest import Database
from tests.dispatch.conftest import ClientFactory
from tests.dispatch.test_duplicates_replay import _replayed, _state, concluded, rejected
from tests.dispatch.test_units_support import ControlledClock, get, post, timeline, units_app

T0 = datetime(2025, 2, 6, 1, 17, tzinfo=UTC)
M_PER_DEG = 6_371_008.8 * math.pi / 180.0
RIZE = (41.0201, 40.5234)

TEXTS = [
    "Deprem oldu, bina çöktü, enkaz altında insanlar var",
    "deprem bina yikildi yardim edin",
    "Binamız yıkıldı, enkaz altında kalanlar var",
    "earthquake, the building collapsed, people under the rubble",
    "Erdbeben, das Haus ist eingestürzt",
]


def _opened(number: int, lat: float, lon: float, radius: float = 20.0) -> IncidentOpened:
    return IncidentOpened(
        occurred_at=T0,
        incident_id=IncidentId(f"inc-{number}"),
        call_id=CallId(f"call-{number}"),
        channel=Channel.PHONE,
        centre="53",  # type: ignore[arg-type]
        location=Location(lat=lat, lon=lon, radius_m=radius),
        suggested_type=IncidentType.EARTHQUAKE_COLLAPSE.value,
    )


def test_a_second_call_at_the_site_is_proposed_and_a_distant_one_is_not() -> None:
    """The desk proposes the nearby site, opens a far call as a site, replays the same way."""
    desk = DuplicateDesk()
    assert desk.apply(_opened(1, *RIZE)) is False
    assert desk.apply(_opened(2, RIZE[0] + 10 / M_PER_DEG, RIZE[1])) is True
    assert desk.apply(_opened(3, RIZE[0] + 500 / M_PER_DEG, RIZE[1])) is False
    (proposal,) = desk.due()
    assert (proposal.incident_id, proposal.candidate) == ("inc-2", "inc-1")
    assert 9 < proposal.distance_m < 11
    desk.apply(proposal.event(T0))
    assert desk.due() == [], "a recorded proposal is not made again"
    assert desk.open_proposals() == [proposal]
    assert len(desk.finder) == 2, "the proposed call does not become a rival site"


def test_merge_and_reject_settle_a_proposal() -> None:
    """Merging settles the proposal; rejecting it makes the call's incident a site."""
    desk = DuplicateDesk()
    desk.apply(_opened(1, *RIZE))
    desk.apply(_opened(2, *RIZE))
    desk.apply(_opened(3, *RIZE))
    desk.apply(
        IncidentStatusChanged(
            occurred_at=T0,
            incident_id=IncidentId("inc-2"),
            previous=IncidentStatus.NEW,
            status=IncidentStatus.MERGED,
            actor="ct",
            merged_into=IncidentId("inc-1"),
        )
    )
    desk.apply(rejected("call-3", "inc-3", "inc-1"))
    assert desk.proposals[IncidentId("inc-2")].state is ProposalState.MERGED
    assert desk.proposals[IncidentId("inc-3")].state is ProposalState.REJECTED
    assert "inc-3" in desk.finder
    assert desk.open_proposals() == []


def test_proposals_naming_an_incident_that_concluded_are_withdrawn() -> None:
    """A merge needs an open incident to merge into. When the proposed one concludes first,
    a recorded proposal naming it is withdrawn, one not recorded yet is dropped, and each
    call's incident stands as a site of its own. A start's replay of the log, with the
    dropped proposal committed after the conclusion, rebuilds the same desk."""
    desk = DuplicateDesk()
    log: list[tuple[int, Event]] = []

    def commit(event: Event) -> None:
        log.append((len(log) + 1, event))
        desk.apply(event, len(log))

    commit(_opened(1, *RIZE))
    commit(_opened(2, *RIZE))
    (recorded,) = desk.due()
    commit(recorded.event(T0, len(log)))
    commit(_opened(3, *RIZE))
    (late,) = desk.due()
    assert [p.candidate for p in desk.open_proposals()] == ["inc-1", "inc-1"]
    commit(concluded(IncidentId("inc-1"), IncidentStatus.CANCELLED))
    assert desk.proposals[IncidentId("inc-2")].state is ProposalState.WITHDRAWN
    assert IncidentId("inc-3") not in desk.proposals
    assert desk.open_proposals() == []
    assert desk.due() == []
    assert {i.incident_id for i in desk.finder.incidents()} == {"inc-2", "inc-3"}
    commit(late.event(T0, len(log)))  # the service's record, committed after the conclusion
    assert IncidentId("inc-3") not in desk.proposals
    commit(_opened(4, *RIZE))
    (fourth,) = desk.due()
    assert fourth.candidate in {"inc-2", "inc-3"}, "the calls' incidents are sites again"
    replayed, _, _ = _replayed(log)
    assert _state(replayed) == _state(desk)


async def _a_recorded_proposal(
    aiohttp_client: ClientFactory, database: Database
) -> tuple[TestClient[web.Request, web.Application], dict[str, Any], dict[str, Any]]:
    """Two calls about one building through the API, the second's proposal recorded: the
    client and both calls' acknowledgements."""
    clock = ControlledClock()
    client = await aiohttp_client(units_app(database, clock))
    first, second = _earthquake(buildings=1, calls=2, seed=1)
    kept = await post(client, "/api/v1/calls", first[1], 202)
    ack = await post(client, "/api/v1/calls", second[1], 202)
    await client.app[DUPLICATES].tick(clock.now())
    return client, kept, ack


async def test_a_proposal_whose_incident_was_cancelled_cannot_be_accepted(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Through the API: after the proposed incident is cancelled, accepting is refused."""
    client, kept, ack = await _a_recorded_proposal(aiohttp_client, database)
    url = f"/api/v1/incidents/{kept['incident_id']}/actions"
    await post(client, url, {"action": "cancel"}, 200)
    refused = await post(
        client, f"/api/v1/incidents/{ack['incident_id']}/duplicate/accept", {}, 409
    )
    assert "withdrawn" in refused["error"]["reason"]
    assert client.app[ENGINE].incident(ack["incident_id"]).status is IncidentStatus.NEW


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (
        lat + north_m / M_PER_DEG,
        lon + east_m / (M_PER_DEG * math.cos(math.radians(lat))),
    )


def _earthquake(buildings: int, calls: int, seed: int) -> list[tuple[int, dict[str, object]]]:
    """Calls about collapsed buildings 250 m apart, with noisy AML positions (5-40 m)."""
    rng = random.Random(seed)
    sites = [_offset(*RIZE, 250.0 * (b // 3), 250.0 * (b % 3)) for b in range(buildings)]
    script: list[tuple[int, dict[str, object]]] = []
    for number in range(calls):
        building = rng.randrange(buildings)
        radius = rng.uniform(5.0, 40.0)
        north, east = rng.gauss(0.0, radius / 2), rng.gauss(0.0, radius / 2)
        lat, lon = _offset(*sites[building], north, east)
        body: dict[str, object] = {
            "channel": "phone",
            "caller": {"number": f"+90532{number:07d}"},
            "text": TEXTS[number % len(TEXTS)],
            "location": {"lat": lat, "lon": lon, "radius_m": round(radius, 1)},
            "client_request_id": f"quake-{number}",
        }
        script.append((building, body))
    return script


async def test_an_earthquake_collapses_to_its_buildings_through_the_api(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """120 noisy calls about 6 buildings: proposals point at the right sites; merges keep all."""
    clock = ControlledClock()
    client = await aiohttp_client(units_app(database, clock))
    service = client.app[DUPLICATES]
    script = _earthquake(buildings=6, calls=120, seed=11)
    building_of: dict[str, int] = {}
    number_of: dict[str, str] = {}
    for building, body in script:
        clock.advance(3)
        ack = await post(client, "/api/v1/calls", body, 202)
        building_of[ack["incident_id"]] = building
        number_of[ack["call_id"]] = body["caller"]["number"]  # type: ignore[index]
    await service.tick(clock.now())
    assert await service.tick(clock.now()) == [], "each proposal is recorded once"

    engine = client.app[ENGINE]
    proposed = {
        r.event.incident_id: r.event.candidate
        for incident in engine.state.incidents.values()
        for r in incident.timeline
        if isinstance(r.event, DuplicateProposed)
    }
    sites = [i for i in building_of if i not in proposed]
    # precision: proposals that point at the caller's building; recall: duplicates proposed
    right = sum(building_of[dup] == building_of[site] for dup, site in proposed.items())
    assert right == len(proposed), f"precision {right / len(proposed):.3f}"
    assert len(proposed) == len(script) - 6, "recall: every call after a building's first"
    assert sorted(building_of[s] for s in sites) == list(range(6))

    listed = (await get(client, "/api/v1/duplicates"))["duplicates"]
    assert len(listed) == len(proposed)
    scraped = await (await client.get("/metrics")).text()
    assert f"ng112_duplicate_proposals_open {len(proposed)}" in scraped.splitlines()
    trapped_by_building: dict[int, list[int]] = defaultdict(list)
    for number, (dup, target) in enumerate(sorted(proposed.items())):
        call_id = engine.state.incidents[dup].calls[0]
        if number % 4 == 0:
            count = 1 + number % 5
            await post(client, f"/api/v1/calls/{call_id}/trapped", {"count": count}, 202)
            trapped_by_building[building_of[target]].append(count)
        if number % 2 == 0:
            await post(
                client, f"/api/v1/incidents/{dup}/actions", {"action": "merge", "into": target}, 200
            )
        else:
            await post(client, f"/api/v1/incidents/{dup}/duplicate/accept", {}, 200)
    assert (await get(client, "/api/v1/duplicates"))["duplicates"] == []
    scraped = await (await client.get("/metrics")).text()
    assert "ng112_duplicate_proposals_open 0" in scraped.splitlines()

    per_building = Counter(building for building, _ in script)
    for site in sites:
        shown = await get(client, f"/api/v1/incidents/{site}")
        assert len(shown["calls"]) == per_building[building_of[site]], "every call attached"
        for call_id in shown["calls"]:
            call = await get(client, f"/api/v1/calls/{call_id}")
            assert call["incident_id"] == site
            assert call["caller"]["number"] == number_of[call_id], "every caller kept"
        trapped = await get(client, f"/api/v1/incidents/{site}/trapped")
        counts = trapped_by_building[building_of[site]]
        assert trapped["reports"] == len(counts)
        assert trapped["estimate"] == max(counts, default=0)
        assert trapped["reported_sum"] == sum(counts)
    merged = sum(1 for i in engine.state.incidents.values() if i.status is IncidentStatus.MERGED)
    assert merged == len(proposed)
    kinds = [e["event_type"] for e in await timeline(client, sites[0])]
    assert "call_attached" in kinds


async def test_a_rejected_proposal_stays_its_own_incident(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Rejecting a proposal keeps the incident; deciding twice is refused; bad input is 4xx."""
    client, _, ack = await _a_recorded_proposal(aiohttp_client, database)
    await post(client, f"/api/v1/incidents/{ack['incident_id']}/duplicate/reject", {}, 200)
    again = await post(client, f"/api/v1/incidents/{ack['incident_id']}/duplicate/accept", {}, 409)
    assert "rejected" in again["error"]["reason"]
    incident = client.app[ENGINE].incident(ack["incident_id"])
    assert incident.status is IncidentStatus.NEW
    await post(client, f"/api/v1/calls/{ack['call_id']}/trapped", {"count": -1}, 422)
    await post(client, "/api/v1/calls/call-nope/trapped", {"count": 2}, 404)
    await post(client, f"/api/v1/incidents/{ack['incident_id']}/duplicate/reject", {}, 409)


async def _commit_without_engine(database: Database, *events: Event) -> int:
    """Append as an engine would just before it stops (no package sees the events)."""
    engine = create_engine(database.url, schema=database.schema)
    log = EventLog(engine, group_commit=False)
    await log.open()
    async with asyncio.TaskGroup() as tasks:
        writer = tasks.create_task(log.run_writer())
        seqs = await log.append(list(events))
        writer.cancel()
    await engine.dispose()
    return seqs[-1]


async def test_a_restart_applies_recorded_proposals_and_records_the_missing_one(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Proposals come back from the log; one never recorded before the stop is recorded once."""
    clock = ControlledClock()
    before = await aiohttp_client(units_app(database, clock))
    script = _earthquake(buildings=2, calls=6, seed=5)
    for _, body in script:
        await post(before, "/api/v1/calls", body, 202)
    await before.app[DUPLICATES].tick(clock.now())
    kept = {i: (p.candidate, p.state) for i, p in before.app[DUPLICATES].book.proposals.items()}
    assert len(kept) == 4, "two buildings, six calls"
    assert {state for _, state in kept.values()} == {ProposalState.PROPOSED}
    await before.close()
    lat, lon = RIZE
    last_seq = await _commit_without_engine(database, _opened(99, lat, lon))

    after = await aiohttp_client(units_app(database, clock))
    service = after.app[DUPLICATES]
    again = {i: (p.candidate, p.state) for i, p in service.book.proposals.items()}
    missing = again.pop(IncidentId("inc-99"))
    assert again == kept, "the recorded proposals as they were"
    assert missing[1] is ProposalState.DUE
    await service.tick(clock.now())
    engine = after.app[ENGINE]
    newest = await engine.last_recorded(DuplicateProposed.event_type)
    assert newest is not None
    assert isinstance(newest.event, DuplicateProposed)
    assert newest.event.incident_id == "inc-99"
    assert newest.event.candidate == missing[0]
    assert newest.event.searched_through is not None
    assert newest.event.searched_through >= last_seq, "the mark covers the last call"
    assert await service.tick(clock.now()) == [], "recorded once"


async def test_the_service_records_a_mark_when_no_proposal_carried_one(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Calls far apart make no proposal; the service records a mark, and a restart reads it."""
    clock = ControlledClock()
    client = await aiohttp_client(units_app(database, clock))
    engine = client.app[ENGINE]
    service = DuplicatesService(engine, DuplicateDesk(mark_every=4))  # beside the app's own
    for number, (_, body) in enumerate(_earthquake(buildings=1, calls=3, seed=2)):
        body["location"] = {"lat": RIZE[0] + number * 0.05, "lon": RIZE[1], "radius_m": 10.0}
        await post(client, "/api/v1/calls", body, 202)
    assert service.desk.proposals == {}
    assert service.next_deadline() is not None, "a mark is due"
    (marked,) = await service.tick(clock.now())
    assert isinstance(marked.event, DuplicateSearchMarked)
    assert marked.event.searched_through == 6, "three calls, two events each, all searched"
    assert service.desk.recorded_mark == 6
    assert await service.tick(clock.now()) == [], "the mark is recorded once"
    await client.close()

    again = await aiohttp_client(units_app(database, clock))
    restarted = again.app[DUPLICATES]
    assert isinstance(restarted, DuplicatesService)
    assert restarted.desk.recorded_mark == marked.event.searched_through
