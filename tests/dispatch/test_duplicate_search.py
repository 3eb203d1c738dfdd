"""The duplicate search in its own process: the same proposals as the loop's, recorded once."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
from collections.abc import Callable, Sequence
from typing import Any

import psutil
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.adapters.http import ENGINE
from dispatch.adapters.units_http import DUPLICATES
from dispatch.app.duplicate_search import (
    MARK,
    MAX_UNREAD_NOTICES,
    NICENESS,
    PROPOSED,
    ProcessDuplicatesService,
    SearchFollower,
    recorded_events,
    restore_desk,
    saved_desk,
)
from dispatch.core.projections import Recorded
from dispatch.duplicates import DuplicateDesk, ProposalState
from dispatch.model.dispatch_events import DuplicateProposed, DuplicateSearchMarked
from dispatch.service import Engine
from tests.conftest import Database
from tests.dispatch.test_duplicates import RIZE, T0, _earthquake, _opened
from tests.dispatch.test_duplicates_replay import BUILDINGS
from tests.dispatch.test_units_support import ControlledClock, get, post, units_app

Client = TestClient[web.Request, web.Application]
PROCESS = {"duplicate_search": "process", "duplicate_search_save_every": 5}


# -- the child's core ------------------------------------------------------------------------


def test_the_follower_sends_each_proposal_once_and_the_engine_records_it_under_its_key() -> None:
    """New proposals go out once, with how far the search had read; the recorded events
    carry the call's key; once recorded and folded, nothing is sent again."""
    follower = SearchFollower()
    calls = [Recorded(n, _opened(n, *BUILDINGS[n % 2])) for n in range(1, 6)]
    follower.fold(calls[:2], through=2)
    assert follower.messages() == [], "two buildings: two sites"
    follower.fold(calls[2:], through=7)
    (message,) = follower.messages()
    assert message[0] == PROPOSED
    assert message[1] == 7, "searched through the end of the read, not the last call"
    assert [(p[0], p[1], p[2]) for p in message[2]] == [
        ("call-3", "inc-3", "inc-1"),
        ("call-4", "inc-4", "inc-2"),
        ("call-5", "inc-5", "inc-1"),
    ]
    assert follower.messages() == [], "sent already"
    events = recorded_events(message, T0)
    assert [e.idempotency_key for e in events] == [
        "duplicate:call-3",
        "duplicate:call-4",
        "duplicate:call-5",
    ]
    assert all(isinstance(e, DuplicateProposed) and e.searched_through == 7 for e in events)
    follower.fold([Recorded(8 + n, e) for n, e in enumerate(events)], through=10)
    assert follower.desk.due() == []
    assert [p.state for p in follower.desk.open_proposals()] == [ProposalState.PROPOSED] * 3
    assert follower.messages() == []


def test_a_saved_desk_restores_the_same_sites_and_another_version_is_refused() -> None:
    """What the child sends to be kept restores its desk; a newer code's is not used."""
    follower = SearchFollower()
    follower.fold([Recorded(n, _opened(n, *BUILDINGS[n % 3])) for n in range(1, 8)], 9)
    payload = saved_desk(follower.desk)
    again = DuplicateDesk()
    assert restore_desk(again, payload)
    assert again.snapshot() == follower.desk.snapshot()
    other = pickle.dumps((DuplicateDesk.snapshot_version + 1, follower.desk.snapshot()))
    fresh = DuplicateDesk()
    assert not restore_desk(fresh, other)
    assert len(fresh.finder) == 0


def test_the_follower_asks_for_a_mark_once_until_the_log_holds_it() -> None:
    """Where no call is a duplicate, a mark is asked for every ``mark_every`` events."""
    follower = SearchFollower(DuplicateDesk(mark_every=4))
    far = [Recorded(n, _opened(n, RIZE[0] + n, RIZE[1])) for n in range(1, 4)]
    follower.fold(far, through=5)
    assert follower.messages() == [[MARK, 5]]
    follower.fold([], through=9)
    assert follower.messages() == [], "asked already: not again before it is folded"
    (mark,) = recorded_events([MARK, 5], T0)
    assert isinstance(mark, DuplicateSearchMarked)
    follower.fold([Recorded(10, mark)], through=10)
    assert follower.messages() == [[MARK, 10]], "the log holds the mark: five more events"


# -- the engine with its child -----------------------------------------------------------------


class Watch:
    """The proposals the engine commits, and a way to wait for a condition on them."""

    def __init__(self, engine: Engine) -> None:
        self.proposed: list[DuplicateProposed] = []
        self.changed = asyncio.Event()
        engine.log.add_listener(self._committed)

    def _committed(self, batch: Sequence[Recorded]) -> None:
        self.proposed += [r.event for r in batch if isinstance(r.event, DuplicateProposed)]
        self.changed.set()

    async def until(self, condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not condition():
                self.changed.clear()
                await self.changed.wait()

    def pairs(self) -> dict[str, str]:
        return {e.incident_id: e.candidate for e in self.proposed}


async def _searched_in_the_loop(engine: Engine) -> dict[str, str]:
    """The proposals a desk on the loop makes over the log's calls, in the log's order."""
    desk = DuplicateDesk()
    async for page in engine.log.replay():
        for seq, event in page:
            if not isinstance(event, DuplicateProposed | DuplicateSearchMarked):
                desk.apply(event, seq)
    return {i: p.candidate for i, p in desk.proposals.items()}


def _service(client: Client) -> ProcessDuplicatesService:
    service = client.app[DUPLICATES]
    assert isinstance(service, ProcessDuplicatesService)
    return service


async def _post_all(client: Client, bodies: Sequence[dict[str, Any]]) -> None:
    for body in bodies:
        await post(client, "/api/v1/calls", body, 202)


async def test_the_child_proposes_what_the_loop_would_and_survives_being_killed(
    aiohttp_client: Callable[..., Any], database: Database
) -> None:
    """An earthquake's calls are proposed by the child as the in-loop desk proposes them;
    killed, the child is started again, folds the log and searches the calls after it."""
    clock = ControlledClock()
    client: Client = await aiohttp_client(units_app(database, clock, section=PROCESS))
    service = _service(client)
    engine = client.app[ENGINE]
    watch = Watch(engine)
    script = [body for _, body in _earthquake(buildings=4, calls=40, seed=11)]

    await _post_all(client, script[:25])
    expected = await _searched_in_the_loop(engine)
    assert 15 <= len(expected) <= 21, "four buildings, 25 calls"
    await watch.until(lambda: len(watch.proposed) >= len(expected))
    assert watch.pairs() == expected

    listed = await get(client, "/api/v1/duplicates")
    assert {(d["incident_id"], d["candidate"]) for d in listed["duplicates"]} == set(
        expected.items()
    )

    await service.saved.wait()  # every 5 events: sent long before
    assert service.ledger.search_desk is not None
    saved_at = service.ledger.search_desk[0]
    first = service.process.pid
    assert first is not None
    ours = psutil.Process().nice()
    assert psutil.Process(first).nice() == min(19, ours + NICENESS), "it yields to the loop"
    service.process.kill()
    await service.process.exited.wait()
    await _post_all(client, script[25:])  # committed while no child runs
    await service.process.up.wait()
    assert service.process.pid not in (None, first)
    assert service.process.last_start is not None
    assert service.process.last_start[1] >= saved_at > 0, "it started from a saved desk"
    expected = await _searched_in_the_loop(engine)
    await watch.until(lambda: len(watch.proposed) >= len(expected))
    assert watch.pairs() == expected, "the calls of the pause searched by the new child"
    assert len(watch.proposed) == len(expected), "none recorded twice"


async def test_after_a_restart_the_child_knows_the_sites_and_decisions_reach_it(
    aiohttp_client: Callable[..., Any], database: Database
) -> None:
    """A restarted engine's child rebuilds the sites from the log; the dispatcher's accept
    and reject go through the ledger; a new call at a building joins its site."""
    clock = ControlledClock()
    before: Client = await aiohttp_client(units_app(database, clock, section=PROCESS))
    watch = Watch(before.app[ENGINE])
    script = _earthquake(buildings=2, calls=8, seed=5)
    await _post_all(before, [body for _, body in script])
    expected = await _searched_in_the_loop(before.app[ENGINE])
    await watch.until(lambda: len(watch.proposed) >= len(expected))
    await before.close()

    after: Client = await aiohttp_client(units_app(database, clock, section=PROCESS))
    service = _service(after)
    assert {i: p.candidate for i, p in service.book.proposals.items()} == expected
    kept = service.ledger.search_desk
    assert kept is not None, "kept in the snapshot saved at the stop"
    merged, rejected = sorted(expected)[:2]
    await post(after, f"/api/v1/incidents/{merged}/duplicate/accept", {}, 200)
    await post(after, f"/api/v1/incidents/{rejected}/duplicate/reject", {}, 200)
    assert service.proposal(merged).state is ProposalState.MERGED
    assert service.proposal(rejected).state is ProposalState.REJECTED

    watch = Watch(after.app[ENGINE])
    await service.process.up.wait()
    assert service.process.last_start is not None
    assert service.process.last_start[1] == kept[0] > 0, "the child started from it"
    where = script[0][1]["location"]
    assert isinstance(where, dict)
    late = {
        "channel": "phone",
        "caller": {"number": "+905320000999"},
        "text": "deprem bina yikildi yardim edin",
        "location": {"lat": where["lat"], "lon": where["lon"], "radius_m": 10.0},
        "client_request_id": "quake-late",
    }
    ack = await post(after, "/api/v1/calls", late, 202)
    await watch.until(lambda: bool(watch.proposed))
    (proposal,) = watch.proposed
    assert proposal.incident_id == ack["incident_id"]
    again = await _searched_in_the_loop(after.app[ENGINE])
    assert again[proposal.incident_id] == proposal.candidate, "the site the loop would pick"


def test_a_database_in_memory_cannot_be_shared_with_the_child() -> None:
    """The child reads the log itself: an in-memory SQLite database is refused at start."""
    with pytest.raises(ValueError, match="in-memory"):
        units_app(Database(url="sqlite+aiosqlite:///:memory:"), ControlledClock(), section=PROCESS)


async def test_a_child_that_reads_nothing_does_not_make_the_engine_hold_notices(
    aiohttp_client: Callable[..., Any], database: Database
) -> None:
    """A stopped child reads no notice: past a bound they are dropped, not buffered; when
    it runs again it reads the log's end and searches what came meanwhile."""
    clock = ControlledClock()
    client: Client = await aiohttp_client(units_app(database, clock, section=PROCESS))
    service = _service(client)
    watch = Watch(client.app[ENGINE])
    await service.process.up.wait()
    pid = service.process.pid
    assert pid is not None
    script = [body for _, body in _earthquake(buildings=1, calls=3, seed=2)]
    os.kill(pid, signal.SIGSTOP)
    try:
        await _post_all(client, script)
        for head in range(50_000):
            service.process.notify(head)
        assert service.process.buffered_bytes() < MAX_UNREAD_NOTICES + 64
    finally:
        os.kill(pid, signal.SIGCONT)
    expected = await _searched_in_the_loop(client.app[ENGINE])
    assert expected, "three calls at one building"
    await watch.until(lambda: len(watch.proposed) >= len(expected))
    assert watch.pairs() == expected


async def test_the_search_reports_how_far_behind_the_log_it_is(
    aiohttp_client: Callable[..., Any], database: Database
) -> None:
    """The lag gauge: the whole log while no child runs, none once it has caught up."""
    clock = ControlledClock()
    client: Client = await aiohttp_client(units_app(database, clock, section=PROCESS))
    service = _service(client)
    engine = client.app[ENGINE]
    watch = Watch(engine)
    await _post_all(client, [body for _, body in _earthquake(buildings=2, calls=6, seed=3)])
    expected = await _searched_in_the_loop(engine)
    await watch.until(lambda: len(watch.proposed) >= len(expected))  # the last commits
    async with asyncio.timeout(60):
        while service.lag_events() > 0:
            service.process.reported.clear()
            await service.process.reported.wait()
    metrics = await (await client.get("/metrics")).text()
    assert "ng112_duplicate_search_lag_events 0" in metrics
    assert "ng112_duplicate_search_up 1" in metrics
    service.process.kill()
    await service.process.exited.wait()
    assert service.lag_events() == engine.state.last_seq > 0
