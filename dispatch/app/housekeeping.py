"""The engine's housekeeping loops: the archivist and the snapshot keeper.

- The archivist records :class:`~dispatch.model.events.IncidentArchived` for the
  incidents :func:`dispatch.core.archive.due_for_archive` names, so memory holds the live
  working set rather than every incident since the log began.
- The snapshot keeper saves every projection (``Engine.save_snapshot``) once enough
  events have been folded since the last save, so a restart folds only the tail.

Both run in the store lifespan's task group and stop with it. They wake on a timer (they
poll; nothing waits on them) and do nothing while there is nothing to do.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from dispatch.core.archive import due_for_archive
from dispatch.service import Engine

logger = logging.getLogger(__name__)


async def archive_once(engine: Engine, *, after: timedelta, limit: int = 1000) -> int:
    """Record the archive events due now; returns how many incidents were archived."""
    archived = 0
    while True:
        due = due_for_archive(engine.state, engine.clock.now(), after=after, limit=limit)
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


async def run_snapshot_keeper(engine: Engine, *, every_events: int, check_s: float = 5.0) -> None:
    """Save a snapshot whenever ``every_events`` events were folded since the last one."""
    saved = engine.state.last_seq
    while True:
        await asyncio.sleep(check_s)
        if engine.state.last_seq - saved < every_events:
            continue
        try:
            saved = await engine.save_snapshot() or engine.state.last_seq
        except Exception:
            logger.exception("saving a snapshot failed; retrying in %.0f s", check_s)
