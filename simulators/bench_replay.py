"""``ng112 bench replay``: how long the engine takes to start on a log of N events.

Writes N events (calls and their incidents, as an ingest commits them) into a temporary
SQLite log with the event log's own ``append``, then starts the whole engine on it and
times start-up to ready (migrations, replay of every event into the projections of the
spine and of every installed package), and the start on an empty log (boundaries and
models loaded, nothing to fold), so the folding rate is shown apart from the fixed cost.
It also times the spine's own fold alone (``Engine.rebuild`` without package
listeners), to show where start-up time goes. The
target is 10 million events in at most 60 s: ``ng112 bench replay --events 10000000``
(writing them takes several minutes and a few GB of disk).
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

from simulators.host import settings_from, temp_sqlite, time_rebuild, time_start, write_log


async def _start_s(db: str) -> float:
    settings = settings_from(
        config=None, environ={}, overrides={"db": db, "port": 0, "embedded_broker": False}
    )
    start_s, runner, _url = await time_start(settings)
    await runner.cleanup()
    return start_s


async def run_replay(args: argparse.Namespace) -> dict[str, Any]:
    """Write, then time the start; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="ng112-replay-") as folder:
        empty_s = await _start_s(temp_sqlite(folder))  # boundaries, models: no events
        db = args.db or temp_sqlite(folder)
        write_s = await write_log(db, args.events)
        rebuild_s = await time_rebuild(db)
        start_s = await _start_s(db)
    folding_s = max(start_s - empty_s, 1e-9)
    return {
        "bench": "replay",
        "events": args.events,
        "write_s": round(write_s, 2),
        "write_events_per_s": round(args.events / write_s),
        "start_s": round(start_s, 2),
        "replay_events_per_s": round(args.events / start_s),
        "empty_start_s": round(empty_s, 2),
        "fold_events_per_s": round(args.events / folding_s),
        "projected_10m_s": round(empty_s + folding_s * 10_000_000 / args.events, 1),
        "spine_rebuild_s": round(rebuild_s, 2),
        "spine_events_per_s": round(args.events / rebuild_s),
        "spine_projected_10m_s": round(rebuild_s * 10_000_000 / args.events, 1),
    }
