"""The event log on SQLite and PostgreSQL: group commit, order, replay, durability."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import pytest

from dispatch.adapters.store import DuplicateKey, EventLog, create_engine
from dispatch.core.projections import Recorded
from dispatch.model import IncidentId, IncidentNoteAdded
from tests.conftest import Database


def _note(n: int, key: str | None = None) -> IncidentNoteAdded:
    return IncidentNoteAdded(
        occurred_at=datetime.now(UTC),
        idempotency_key=key,
        plate=6,
        incident_id=IncidentId(f"inc-{n % 7}"),
        actor="op",
        text=f"note {n} — çığ İstanbul",
    )


@pytest.fixture
async def log(database: Database) -> AsyncIterator[EventLog]:
    engine = create_engine(database.url, schema=database.schema)
    event_log = EventLog(engine)
    await event_log.open()
    async with asyncio.TaskGroup() as tasks:
        writer = tasks.create_task(event_log.run_writer())
        yield event_log
        writer.cancel()
    await engine.dispose()


async def test_concurrent_appends_share_transactions_and_get_increasing_seqs(log: EventLog) -> None:
    """Appends that arrive during a commit share the next one; seqs are 1..n without gaps."""
    committed: list[Recorded] = []
    log.add_listener(committed.extend)
    results = await asyncio.gather(*(log.append([_note(i)]) for i in range(300)))
    seqs = sorted(seq for result in results for seq in result)
    assert seqs == list(range(1, 301))
    assert log.stats.transactions < 300 // 2, "group commit should batch concurrent appends"
    assert [r.seq for r in committed] == list(range(1, 301))
    assert log.head == 300


async def test_listeners_see_every_commit_in_order_before_its_appenders_hear(
    log: EventLog,
) -> None:
    """Listeners run while the next batch commits, yet in seq order, each event once, and
    an append returns only after the listeners have seen its events."""
    seen: list[int] = []
    log.add_listener(lambda records: seen.extend(r.seq for r in records))

    async def append_and_check(n: int) -> None:
        seqs = await log.append([_note(n), _note(n + 1)])
        assert set(seqs) <= set(seen), "acknowledged before the listeners saw it"

    for wave in range(4):
        await asyncio.gather(*(append_and_check(1000 * wave + i) for i in range(250)))
    assert seen == list(range(1, 2001))
    assert log.stats.transactions < 1000


async def test_a_multi_event_append_is_atomic_and_contiguous(log: EventLog) -> None:
    """One append's events get consecutive seqs in one transaction."""
    seqs = await log.append([_note(1), _note(2), _note(3)])
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]


async def test_read_returns_exactly_what_follows(log: EventLog) -> None:
    """read(after) returns the events after a seq, decoded, in order."""
    for i in range(10):
        await log.append([_note(i)])
    records = await log.read(4, limit=3)
    assert [r.seq for r in records] == [5, 6, 7]
    assert records[0].event == _replace_time(records[0].event, 4)


def _replace_time(event: object, n: int) -> object:
    assert isinstance(event, IncidentNoteAdded)
    assert event.text == f"note {n} — çığ İstanbul"
    return event


async def test_a_duplicate_key_fails_alone(log: EventLog) -> None:
    """A unique-key clash fails its own append only; the rest of the batch commits."""
    await log.append([_note(0, key="k-1")])
    results = await asyncio.gather(
        log.append([_note(1)]),
        log.append([_note(2, key="k-1")]),
        log.append([_note(3)]),
        return_exceptions=True,
    )
    assert isinstance(results[1], DuplicateKey)
    assert not isinstance(results[0], BaseException)
    assert not isinstance(results[2], BaseException)
    assert await log.count() == 3


async def test_replay_after_reopen_sees_everything(database: Database) -> None:
    """Closing and reopening the log loses nothing and continues the sequence."""
    engine = create_engine(database.url, schema=database.schema)
    first = EventLog(engine)
    await first.open()
    async with asyncio.TaskGroup() as tasks:
        writer = tasks.create_task(first.run_writer())
        await asyncio.gather(*(first.append([_note(i)]) for i in range(50)))
        writer.cancel()
    second = EventLog(engine)
    await second.open()
    replayed: list[Sequence[Recorded]] = [page async for page in second.replay(page=16)]
    assert [r.seq for page in replayed for r in page] == list(range(1, 51))
    async with asyncio.TaskGroup() as tasks:
        writer = tasks.create_task(second.run_writer())
        assert await second.append([_note(99)]) == [51]
        writer.cancel()
    await engine.dispose()


async def test_without_group_commit_each_append_is_its_own_transaction(database: Database) -> None:
    """The baseline mode really commits one append per transaction."""
    engine = create_engine(database.url, schema=database.schema)
    log = EventLog(engine, group_commit=False)
    await log.open()
    async with asyncio.TaskGroup() as tasks:
        writer = tasks.create_task(log.run_writer())
        await asyncio.gather(*(log.append([_note(i)]) for i in range(20)))
        writer.cancel()
    assert log.stats.transactions == 20
    await engine.dispose()


async def test_stopping_the_writer_finishes_its_commit_and_drain_takes_the_rest(
    database: Database,
) -> None:
    """A clean shutdown: the writer ends after the commit in flight (no transaction left
    open in the driver's thread), and drain commits what still waits; nothing is lost."""
    engine = create_engine(database.url, schema=database.schema)
    log = EventLog(engine, max_batch=10)
    await log.open()
    appends = [asyncio.create_task(log.append([_note(i)])) for i in range(100)]
    stopped_at: list[int] = []

    def stop_on_first_publish(records: Sequence[Recorded]) -> None:
        # runs after batch 1 committed, while batch 2 is being committed
        if not stopped_at:
            stopped_at.append(records[-1].seq)
            log.stop_writer()

    log.add_listener(stop_on_first_publish)
    writer = asyncio.create_task(log.run_writer())
    await asyncio.wait_for(writer, timeout=30)
    assert stopped_at == [10]
    assert log.stats.transactions == 2, "the commit in flight was finished, then it stopped"
    await log.drain()
    results = await asyncio.gather(*appends)
    assert sorted(seq for result in results for seq in result) == list(range(1, 101))
    assert await log.count() == 100
    await engine.dispose()


async def test_an_idle_writer_stops_at_once(database: Database) -> None:
    """With nothing queued, stop_writer wakes the writer, which returns."""
    engine = create_engine(database.url, schema=database.schema)
    log = EventLog(engine)
    await log.open()
    writer = asyncio.create_task(log.run_writer())
    await log.append([_note(1)])
    log.stop_writer()
    await asyncio.wait_for(writer, timeout=30)
    assert writer.exception() is None
    await engine.dispose()
