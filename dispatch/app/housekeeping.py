"""The engine's housekeeping loops: the archivist and the snapshot keeper.

- The archivist records :class:`~dispatch.model.events.IncidentArchived` for the
  incidents :func:`dispatch.core.archive.due_for_archive` names, so memory holds the live
  working set rather than every incident since the log began.
- The snapshot keeper saves every projection once enough events have been folded since
  the last save, so a restart folds only the tail. It pickles in a forked child
  (:func:`save_snapshot_forked`, as Redis's background save does): the child has the
  projections exactly as they were between two commits, copy-on-write, while the engine
  goes on serving; the parent reads the bytes from a pipe and stores them. Pickling a
  large working set takes seconds, which the event loop must never pause for.

Both run in the store lifespan's task group and stop with it. They wake on a timer (they
poll; nothing waits on them) and do nothing while there is nothing to do.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta

from dispatch.core.archive import due_for_archive
from dispatch.service import Engine

logger = logging.getLogger(__name__)


async def archive_once(engine: Engine, *, after: timedelta, limit: int = 1000) -> int:
    """Record the archive events due now; returns how many incidents were archived."""
    archived = 0
    while True:
        due = due_for_archive(
            engine.state,
            engine.clock.now(),
            after=after,
            limit=limit,
            holds=engine.archive_holds,
        )
        if not due:
            return archived
        await engine.record(due)  # folded before this returns: the next round skips them
        archived += len(due)
        if len(due) < limit:
            return archived


async def run_archivist(engine: Engine, *, after: timedelta, every_s: float) -> None:
    """Archive what is due every ``every_s`` seconds, until cancelled."""
    while True:
        await asyncio.sleep(every_s)
        try:
            count = await archive_once(engine, after=after)
        except Exception:  # the store may be down: the next round tries again
            logger.exception("archiving failed; retrying in %.0f s", every_s)
            continue
        if count:
            logger.info("archived %d concluded incidents", count)


class SnapshotChildFailed(RuntimeError):  # noqa: N818 - names the condition
    """The forked child that pickles a snapshot did not finish."""


def _read_all(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read()


def _pickle_into(fd: int, contents: object) -> None:
    """In the child: pickle ``contents`` into the pipe and leave without cleaning up."""
    code = 1
    try:
        with os.fdopen(fd, "wb") as pipe:
            pickle.dump(contents, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)  # a forked child must not run the parent's exit handlers


@dataclass(frozen=True, slots=True)
class SnapshotChild:
    """A forked child pickling the projections as they were at ``seq``."""

    seq: int
    pid: int
    read_fd: int

    async def saved(self, engine: Engine) -> int:
        """Read the child's bytes, reap it and store the snapshot; returns its seq."""
        payload = await asyncio.to_thread(_read_all, self.read_fd)
        _, status = await asyncio.to_thread(os.waitpid, self.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            msg = f"the snapshot child exited with status {status}"
            raise SnapshotChildFailed(msg)
        await engine.store_snapshot(self.seq, payload)
        return self.seq

    def kill(self) -> None:
        """Stop and reap the child (a child writing into a pipe nobody reads never exits)."""
        with suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with suppress(ChildProcessError):
            os.waitpid(self.pid, 0)  # killed: returns at once


def fork_snapshot(engine: Engine) -> SnapshotChild | None:
    """Fork a child that pickles every projection as it is now (between two commits).

    ``None`` when the engine cannot snapshot (a package without support).
    """
    if not engine.snapshots_possible:
        return None
    seq = engine.state.last_seq
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: pickle, write, exit
        os.close(read_fd)
        _pickle_into(write_fd, engine.snapshot_contents())
    os.close(write_fd)
    return SnapshotChild(seq=seq, pid=pid, read_fd=read_fd)


async def save_snapshot_forked(
    engine: Engine, *, forked: Callable[[SnapshotChild], None] | None = None
) -> int | None:
    """Save every projection at the last folded seq, pickled by a forked child.

    Cancelled (the engine stops) or failing, it kills the child first. ``forked`` is told
    the child as soon as it runs.
    """
    child = fork_snapshot(engine)
    if child is None:
        return None
    try:
        if forked is not None:
            forked(child)
        return await child.saved(engine)
    except BaseException:
        child.kill()
        raise


async def run_snapshot_keeper(
    engine: Engine,
    *,
    every_events: int,
    min_interval_s: float = 60.0,
    check_s: float = 5.0,
    on_saved: Callable[[int], None] | None = None,
) -> None:
    """Save a snapshot whenever ``every_events`` events were folded since the last one.

    At most one every ``min_interval_s``: in a surge 200,000 events pass in seconds, and
    a child pickling all the time would take the CPU the engine needs. ``on_saved`` is
    told each saved snapshot's seq.
    """
    saved = engine.state.last_seq
    saved_at = time.monotonic()
    while True:
        await asyncio.sleep(check_s)
        due = engine.state.last_seq - saved >= every_events
        if not due or time.monotonic() - saved_at < min_interval_s:
            continue
        saved_at = time.monotonic()
        try:
            seq = await save_snapshot_forked(engine)
        except Exception:
            logger.exception("saving a snapshot failed; retrying in %.0f s", check_s)
            continue
        saved = engine.state.last_seq if seq is None else seq
        if seq is not None and on_saved is not None:
            on_saved(seq)
