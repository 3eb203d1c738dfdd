"""Snapshots: a start from a snapshot and the tail equals a fold of the whole log."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from dispatch.adapters.store import StoredSnapshot, create_engine, snapshots_table
from dispatch.app.housekeeping import (
    SnapshotChild,
    archive_once,
    fork_snapshot,
    run_snapshot_keeper,
    save_snapshot_forked,
)
from dispatch.core.decide import Action, IncidentAction, ReceiveCall
from dispatch.core.projections import Recorded, State
from dispatch.model.access import DEVELOPMENT_PRINCIPAL
from dispatch.model.events import CallStatusChanged
from dispatch.model.vocabulary import CallStatus, Channel, UnfoundedReason
from dispatch.service import Engine, SnapshotUnusable
from tests.conftest import Database
from tests.dispatch.test_archive import HOUR, T0, engine_on
from tests.dispatch.test_units_support import ControlledClock


@dataclass
class CallCounter:
    """A package's projection: calls seen per channel (a Snapshotting participant)."""

    snapshot_name: str = "test.counter"
    snapshot_version: int = 1
    per_channel: dict[str, int] = field(default_factory=dict)
    folded: int = 0

    def apply(self, records: Sequence[Recorded]) -> None:
        for record in records:
            self.folded += 1
            channel = getattr(record.event, "channel", None)
            if channel is not None and type(record.event).__name__ == "CallReceived":
                self.per_channel[channel] = self.per_channel.get(channel, 0) + 1

    def snapshot(self) -> object:
        return dict(self.per_channel)

    def restore(self, state: object) -> None:
        assert isinstance(state, dict)
        self.per_channel = dict(state)


def _engine(
    database: Database,
    clock: ControlledClock,
    counter: CallCounter | None = None,
    *,
    snapshot: bool = True,
) -> AbstractAsyncContextManager[Engine]:
    def install(engine: Engine) -> None:
        if counter is not None:
            engine.subscribe(counter.apply, snapshot=counter if snapshot else None)

    return engine_on(database, clock, install)


async def _traffic(engine: Engine, clock: ControlledClock, start: int, count: int) -> None:
    """Calls on several channels; every other one ended, unfounded and archived later."""
    channels = [Channel.PHONE, Channel.TEXT, Channel.ECALL]
    for n in range(start, start + count):
        command = ReceiveCall(channel=channels[n % 3], client_request_id=f"c{n}")
        ack = await engine.receive_call(command, DEVELOPMENT_PRINCIPAL)
        if n % 2:
            ended = CallStatusChanged(
                occurred_at=clock.now(), call_id=ack.call_id, status=CallStatus.ENDED
            )
            await engine.record([ended])
            action = IncidentAction(
                action=Action.UNFOUNDED, actor="op", unfounded_reason=UnfoundedReason.SILENT
            )
            await engine.act(ack.incident_id, action, DEVELOPMENT_PRINCIPAL)
        clock.advance(600)
        await archive_once(engine, after=HOUR)


async def _fold_everything(database: Database) -> tuple[State, dict[str, int]]:
    """The projections a fold of the whole log gives (no snapshot)."""
    counter = CallCounter()
    async with _engine(database, ControlledClock(T0), counter) as engine:
        await engine.log.delete_snapshots()
    async with _engine(database, ControlledClock(T0), counter := CallCounter()) as engine:
        assert engine.restored_seq == 0
        return engine.state, counter.per_channel


@pytest.mark.parametrize("forked", [False, True], ids=["in-process", "forked"])
async def test_a_start_from_a_snapshot_and_the_tail_equals_the_whole_fold(
    database: Database, forked: bool
) -> None:
    """Snapshot mid-way, more traffic, restart: same projections, only the tail folded.

    Forked: a child process pickles the projections while the engine goes on; what it
    saved is the state at the fork, even though the engine commits more meanwhile.
    """
    clock = ControlledClock(T0)
    async with _engine(database, clock, CallCounter()) as engine:
        await _traffic(engine, clock, 0, 12)
        if forked:
            child = fork_snapshot(engine)
            assert child is not None
            assert child.seq == engine.state.last_seq
            await _traffic(engine, clock, 12, 3)
            at = await child.saved(engine)
            await _traffic(engine, clock, 15, 6)
        else:
            saved = await engine.save_snapshot()
            assert saved == engine.state.last_seq
            at = saved
            await _traffic(engine, clock, 12, 9)
        head = engine.state.last_seq
    counter = CallCounter()
    async with _engine(database, ControlledClock(T0), counter) as restarted:
        assert restarted.restored_seq == at
        assert counter.folded == head - at, "only the tail was folded"
        from_snapshot = restarted.state
        counted = counter.per_channel
    whole, whole_counted = await _fold_everything(database)
    assert from_snapshot == whole
    assert counted == whole_counted
    assert sum(counted.values()) == 21
    assert 0 < len(whole.incidents) < 21, "some were archived"


async def test_a_snapshot_from_other_code_or_without_every_package_is_not_used(
    database: Database,
) -> None:
    """Another version, or a subscriber that cannot be snapshotted: the whole log is folded."""
    clock = ControlledClock(T0)
    async with _engine(database, clock, CallCounter()) as engine:
        await _traffic(engine, clock, 0, 4)
        assert await engine.save_snapshot() is not None
    async with _engine(database, clock, CallCounter(snapshot_version=2)) as engine:
        assert engine.restored_seq == 0
    async with _engine(database, clock, CallCounter(), snapshot=False) as engine:
        assert engine.restored_seq == 0
        assert await engine.save_snapshot() is None, "nothing saved either"
    async with _engine(database, clock, CallCounter()) as engine:
        assert engine.restored_seq > 0, "the snapshot is still there for matching code"


async def test_a_snapshot_that_cannot_be_restored_is_deleted_and_the_start_fails_loudly(
    database: Database,
) -> None:
    """A damaged payload stops the start with a precise error; the next start folds all."""
    clock = ControlledClock(T0)
    async with _engine(database, clock, CallCounter()) as engine:
        await _traffic(engine, clock, 0, 3)
        seq = engine.state.last_seq
        compatibility = engine.snapshot_compatibility()
        await engine.log.save_snapshot(
            StoredSnapshot(seq=seq, compatibility=compatibility, payload=b"not a pickle")
        )
    with pytest.raises(SnapshotUnusable, match=f"seq {seq}"):
        async with _engine(database, clock, CallCounter()):
            pass
    async with _engine(database, clock, counter := CallCounter()) as engine:
        assert engine.restored_seq == 0
        assert sum(counter.per_channel.values()) == 3


async def test_only_the_newest_snapshot_is_kept(database: Database) -> None:
    """Each save replaces the previous one."""
    clock = ControlledClock(T0)
    async with _engine(database, clock, CallCounter()) as engine:
        await _traffic(engine, clock, 0, 2)
        await engine.save_snapshot()
        await _traffic(engine, clock, 2, 2)
        last = await engine.save_snapshot()
        db = create_engine(database.url, schema=database.schema)
        try:
            async with db.connect() as conn:
                rows = (await conn.execute(sa.select(snapshots_table.c.seq))).fetchall()
        finally:
            await db.dispose()
    assert [row[0] for row in rows] == [last]


async def test_a_stop_while_a_child_pickles_kills_the_child(database: Database) -> None:
    """Cancelled before the child finished, the save kills and reaps it: nothing is left."""
    clock = ControlledClock(T0)
    async with _engine(database, clock, CallCounter()) as engine:
        await _traffic(engine, clock, 0, 3)
        children: list[SnapshotChild] = []
        running = asyncio.Event()

        def forked(child: SnapshotChild) -> None:
            children.append(child)
            running.set()

        saving = asyncio.create_task(save_snapshot_forked(engine, forked=forked))
        await running.wait()
        saving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await saving
        with pytest.raises(ChildProcessError):
            os.waitpid(children[0].pid, os.WNOHANG)  # noqa: ASYNC222 - WNOHANG: never blocks
        assert await engine.log.latest_snapshot() is None


async def test_the_keeper_saves_once_enough_events_were_folded(database: Database) -> None:
    """Once ``every_events`` new events were folded a forked child saves the projections."""
    clock = ControlledClock(T0)
    async with _engine(database, clock, CallCounter()) as engine:
        await _traffic(engine, clock, 0, 2)
        start = engine.state.last_seq
        saves: list[int] = []
        saved = asyncio.Event()

        def on_saved(seq: int) -> None:
            saves.append(seq)
            saved.set()

        keeper = asyncio.create_task(
            run_snapshot_keeper(
                engine, every_events=10, min_interval_s=0, check_s=0.01, on_saved=on_saved
            )
        )
        try:
            await _traffic(engine, clock, 2, 6)
            async with asyncio.timeout(30):
                await saved.wait()
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        stored = await engine.log.latest_snapshot()
    assert stored is not None
    assert stored.seq == saves[-1]
    assert start + 10 <= saves[0] <= stored.seq, "not before ten new events"
