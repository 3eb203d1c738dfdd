"""``ng112 bench replay``: how long the engine takes to start on a log of N events.

Writes N events into a temporary SQLite log with the event log's own ``append``, then
starts the whole engine on it and
times start-up to ready (migrations, replay of every event into the projections of the
spine and of every installed package), and the start on an empty log (boundaries and
models loaded, nothing to fold), so the folding rate is shown apart from the fixed cost.
It also times the spine's own fold alone (``Engine.rebuild`` without package
listeners), to show where start-up time goes. The
target is 10 million events in at most 60 s: ``ng112 bench replay --events 10000000``
(writing them takes several minutes and a few GB of disk).

What is written (``--log``): ``centre`` (the default, a few events more than ``--events``:
the events of one step of the simulation are written together) is a working day of the centres
(:mod:`simulators.centre_log`): every call's whole life, answered or abandoned, ended,
its incident unfounded or dispatched and closed, and archived a retention period later
(``--retention``, seconds of the log's time), so only a bounded working set is live at
any point, as on a real log. ``held`` is the old worst case: every call received and its
incident opened, nothing answered, decided or archived, so everything stays live; keep it
to compare with earlier figures.

``--from PATH`` times the start on an existing SQLite event log instead, one the real
engine wrote (the demo's log under ``./var``, a centre's backup): nothing is written,
the file (with its ``-wal`` and ``-shm``) is copied into the temporary folder and the
engine starts on the copy, so the original is never modified (start-up runs migrations).
Copy a live engine's log only through a backup, or stop the engine first: a byte copy
taken while it writes may be torn. The JSON has the same keys either way: ``source`` is
``synthetic`` or ``file``, ``write_s`` and ``write_events_per_s`` are null when nothing
was written, and ``event_types`` gives the most frequent event types with their counts.

Snapshots: the engine saves its projections when it stops (and every
``snapshot_every_events`` while it runs), and the next start restores them and folds only
the events after them. The first timed start on the full log has no snapshot (a copy
given with ``--from`` has its snapshots removed), so ``start_s`` is the whole fold; its
stop saves a snapshot (``snapshot_mb``), ``--tail`` more events of a centre's log are
appended (by default half the log, at most 100,000: half the running engine's snapshot
interval, the tail a restart folds on average) and the start is timed again:
``snapshot_start_s``, what a restart of a running centre costs.

Memory: the engine is also started once on the empty log and once on the full one in a
fresh process each (:mod:`simulators.start_probe`); ``rss_mb`` is its resident memory
when ready, ``bytes_per_event`` what the projections hold per event folded, and
``projected_10m_rss_gb`` what 10 million such events would need at that rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from simulators.centre_log import CentreLog, Pace
from simulators.errors import SimulatorError
from simulators.host import (
    centre_log,
    continue_centre_log,
    copy_sqlite_log,
    drop_snapshots,
    log_contents,
    log_start_settings,
    snapshot_size,
    temp_sqlite,
    time_rebuild,
    time_start,
    write_log,
)

DEFAULT_EVENTS = 200_000
DEFAULT_TAIL = 100_000
TOP_EVENT_TYPES = 10


async def _start_s(db: str, *, snapshot_on_stop: bool = False) -> float:
    settings = log_start_settings(db).model_copy(update={"snapshot_on_stop": snapshot_on_stop})
    start_s, runner, _url = await time_start(settings)
    await runner.cleanup()
    return start_s


async def _probe(db: str) -> dict[str, float]:
    """Start the engine on ``db`` in a fresh process: its start time and resident memory."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulators.start_probe",
        db,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await child.communicate()
    if child.returncode != 0:
        msg = f"the engine did not start on the log in a fresh process (exit {child.returncode})"
        raise SimulatorError(msg)
    figures: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    return figures


async def run_replay(args: argparse.Namespace) -> dict[str, Any]:
    """Write (or copy ``--from``), then time the start; returns the figures.

    Raises :class:`SimulatorError` for options that do not go together, and for a
    ``--from`` file that is missing, not an ng112 event log, or holds no events.
    """
    source: Path | None = args.from_path
    kind = args.log
    written_options = (args.events, args.db, args.log, args.retention)
    if source is not None and any(option is not None for option in written_options):
        msg = "--from times an existing log: --events, --db, --log and --retention do not apply"
        raise SimulatorError(msg)
    if args.tail is not None and args.tail < 0:
        msg = "--tail is a number of events, 0 or more"
        raise SimulatorError(msg)
    if args.retention is not None and args.retention < 0:
        msg = "--retention is seconds of the log's time, 0 or more"
        raise SimulatorError(msg)
    if args.retention is not None and kind == "held":
        msg = "--retention applies to the centre log; the held log archives nothing"
        raise SimulatorError(msg)
    centre: CentreLog | None = None
    with tempfile.TemporaryDirectory(prefix="ng112-replay-") as folder:
        written = 0  # nothing is written when timing a file
        write_s: float | None = None
        if source is None:
            db = args.db or temp_sqlite(folder)
            written = DEFAULT_EVENTS if args.events is None else args.events
            pace = Pace() if args.retention is None else Pace(retention_s=args.retention)
            if kind == "held":
                write_s = await write_log(db, written, kind="held")
            else:  # the tail, written later, is the same centre's next events
                centre = centre_log(written + DEFAULT_TAIL, pace=pace)
                write_s, written = await continue_centre_log(db, centre, written)
            contents = await log_contents(db)
        else:
            db = await asyncio.to_thread(copy_sqlite_log, source, folder)
            contents = await log_contents(db)
            if contents.events == 0:
                msg = f"{source}: the log holds no events, there is nothing to replay"
                raise SimulatorError(msg)
        await drop_snapshots(db)
        # The first start in this process pays for imports and cold caches: untimed, so
        # the empty-log figure is what every start pays (boundaries, models, no events).
        await _start_s(temp_sqlite(folder))
        empty_s = await _start_s(temp_sqlite(folder))
        rebuild_s = await time_rebuild(db)
        start_s = await _start_s(db, snapshot_on_stop=True)  # the whole fold; then saved
        snapshot = await snapshot_size(db)
        empty_probe = await _probe(temp_sqlite(folder))
        full_probe = await _probe(db)  # from the snapshot: the same projections
        tail = min(DEFAULT_TAIL, contents.events // 2) if args.tail is None else args.tail
        if tail:
            if centre is None:  # another log: a centre's day of its own after it
                centre = centre_log(tail, seed=113)
            _, tail = await continue_centre_log(db, centre, tail)
        snapshot_start_s = await _start_s(db)
    restored = {
        "snapshot_seq": None if snapshot is None else snapshot[0],
        "snapshot_mb": None if snapshot is None else round(snapshot[1] / 2**20, 1),
        "tail_events": tail,
        "snapshot_start_s": round(snapshot_start_s, 2),
    }
    return (
        _figures(
            source="synthetic" if source is None else "file",
            log=None if source is not None else kind or "centre",
            events=contents.events,
            event_types=dict(contents.by_type[:TOP_EVENT_TYPES]),
            written=written,
            write_s=write_s,
            empty_s=empty_s,
            rebuild_s=rebuild_s,
            start_s=start_s,
            empty_rss_mb=empty_probe["rss_mb"],
            rss_mb=full_probe["rss_mb"],
        )
        | restored
    )


def _figures(
    *,
    source: str,
    log: str | None,
    events: int,
    event_types: dict[str, int],
    written: int,
    write_s: float | None,
    empty_s: float,
    rebuild_s: float,
    start_s: float,
    empty_rss_mb: float,
    rss_mb: float,
) -> dict[str, Any]:
    folding_s = max(start_s - empty_s, 1e-9)
    held_mb = max(rss_mb - empty_rss_mb, 0.0)
    return {
        "bench": "replay",
        "source": source,
        "log": log,
        "events": events,
        "event_types": event_types,
        "write_s": None if write_s is None else round(write_s, 2),
        "write_events_per_s": None if write_s is None else round(written / write_s),
        "start_s": round(start_s, 2),
        "replay_events_per_s": round(events / start_s),
        "empty_start_s": round(empty_s, 2),
        "fold_events_per_s": round(events / folding_s),
        "projected_10m_s": round(empty_s + folding_s * 10_000_000 / events, 1),
        "spine_rebuild_s": round(rebuild_s, 2),
        "spine_events_per_s": round(events / rebuild_s),
        "spine_projected_10m_s": round(rebuild_s * 10_000_000 / events, 1),
        "empty_rss_mb": round(empty_rss_mb),
        "rss_mb": round(rss_mb),
        "bytes_per_event": round(held_mb * 1024 * 1024 / events),
        "projected_10m_rss_gb": round((empty_rss_mb + held_mb * 10_000_000 / events) / 1024, 1),
    }
