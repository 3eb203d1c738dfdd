"""Hosting an engine for the demo and the replay benchmark (the composition seam).

This is the one simulators module that imports the engine itself (``dispatch.app`` to
start it in-process, ``dispatch.adapters.store`` to write, copy and read a log for the
replay benchmark); the traffic generators and drivers speak only HTTP, MQTT and websockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import shutil
import sqlite3
import time
import uuid
from collections.abc import Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from dispatch.adapters.store import EventLog, create_engine, events_table
from dispatch.app import event_loop
from dispatch.app.gc_tuning import bulk_load
from dispatch.app.runner import start_site
from dispatch.app.settings import Settings, load_settings
from dispatch.model.centres import provincial_centre
from dispatch.model.events import CallReceived, Event, IncidentOpened
from dispatch.model.ids import new_call_id, new_incident_id
from dispatch.model.values import Caller, Location
from dispatch.model.vocabulary import Channel
from dispatch.service import Engine
from simulators.centre_log import CentreLog, Pace
from simulators.errors import SimulatorError

#: The synthetic logs ``bench replay`` writes: a centre's whole day, or every call held.
LogKind = Literal["centre", "held"]
LOG_KINDS: tuple[LogKind, ...] = ("centre", "held")
#: Events a call leaves in the ``centre`` log on average (to date the log to end now).
EVENTS_PER_CALL = 11.0

__all__ = [
    "LOG_KINDS",
    "LogContents",
    "LogKind",
    "Settings",
    "centre_batches",
    "copy_sqlite_log",
    "held_batches",
    "log_contents",
    "settings_from",
    "start_engine",
    "temp_sqlite",
    "time_rebuild",
    "time_start",
    "write_log",
]


def settings_from(
    *,
    config: Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any],
) -> Settings:
    """Settings as ``ng112 serve`` builds them: TOML file, environment, then options."""
    return load_settings(config_file=config, environ=environ, overrides=overrides)


def log_start_settings(db: str) -> Settings:
    """Settings for timing a start on the log at ``db``: any free port, no broker."""
    return settings_from(
        config=None, environ={}, overrides={"db": db, "port": 0, "embedded_broker": False}
    )


def run_on_engine_loop(main: Coroutine[Any, Any, int], settings: Settings) -> int:
    """Run ``main`` on the event loop the engine's settings choose (uvloop by default)."""
    return event_loop.run(main, settings.event_loop)


async def start_engine(settings: Settings) -> tuple[web.AppRunner, str]:
    """Start the whole engine in this process; returns its runner and base URL."""
    if settings.db.startswith("sqlite") and ":///" in settings.db:
        path = Path(settings.db.split(":///", 1)[1])
        path.parent.mkdir(parents=True, exist_ok=True)
    return await start_site(settings)


def _events(i: int, plate: int) -> list[Event]:
    now = datetime.now(UTC)
    call_id, incident_id = new_call_id(), new_incident_id()
    location = Location(lat=39.0 + (i % 1000) / 1000, lon=32.0 + (i % 777) / 777, radius_m=25.0)
    return [
        CallReceived(
            occurred_at=now,
            idempotency_key=f"call:replay-{i}",
            plate=plate,
            call_id=call_id,
            incident_id=incident_id,
            channel=Channel.PHONE,
            centre=provincial_centre(plate),
            caller=Caller(number=f"+90532{i % 10_000_000:07d}"),
            text="Kavşakta iki araç çarpıştı, yaralılar var",
            location=location,
        ),
        IncidentOpened(
            occurred_at=now,
            plate=plate,
            incident_id=incident_id,
            call_id=call_id,
            channel=Channel.PHONE,
            centre=provincial_centre(plate),
            location=location,
        ),
    ]


def held_batches(events: int, chunk: int) -> Iterator[list[Event]]:
    """The ``held`` log: every call open and waiting, none answered, nothing decided.

    The worst case for memory (nothing ever concludes); kept so figures stay comparable
    with the benchmark's earlier runs.
    """
    written = 0
    while written < events:
        batch: list[Event] = []
        while len(batch) < chunk and written + len(batch) < events:
            batch.extend(_events(written + len(batch), 1 + (written // 2) % 81))
        batch = batch[: events - written]
        written += len(batch)
        yield batch


def centre_log(
    events: int, *, first_seq: int = 1, pace: Pace | None = None, seed: int = 112
) -> CentreLog:
    """A ``centre`` log (:mod:`simulators.centre_log`) whose ``events`` end about now."""
    pace = pace or Pace()
    span = timedelta(seconds=events / (pace.calls_per_s * EVENTS_PER_CALL))
    return CentreLog(
        start=datetime.now(UTC) - span,
        first_seq=first_seq,
        seed=seed,
        run_id=uuid.uuid4().hex[:8],
        pace=pace,
    )


def centre_batches(
    events: int, chunk: int, *, first_seq: int, pace: Pace | None = None, seed: int = 112
) -> Iterator[list[Event]]:
    """The ``centre`` log (:mod:`simulators.centre_log`), ending about now, in chunks."""
    source = centre_log(events, first_seq=first_seq, pace=pace, seed=seed).events(events)
    while batch := list(itertools.islice(source, chunk)):
        yield batch


async def continue_centre_log(
    db_url: str, centre: CentreLog, events: int, *, chunk: int = 5000
) -> tuple[float, int]:
    """Append the next ``events`` of ``centre`` (and its step's leftover) after the log's end.

    The log may have grown since ``centre`` last wrote (a started engine records its own
    decisions), so its numbering resumes after the log's last event. Returns the seconds
    it took and how many events were written (a few more than ``events``: a step's events
    are written together).
    """
    engine = create_engine(db_url)
    log = EventLog(engine, group_commit=True, max_batch=chunk)
    await log.open()
    await engine.dispose()
    centre.resume_at(log.head + 1)
    source = itertools.chain(centre.events(events), _leftover(centre))
    written = 0

    def batches() -> Iterator[list[Event]]:
        nonlocal written
        while batch := list(itertools.islice(source, chunk)):
            written += len(batch)
            yield batch

    seconds = await _append_numbered(db_url, batches(), chunk)
    return seconds, written


def _leftover(centre: CentreLog) -> Iterator[Event]:
    yield from centre.leftover()  # called once the step's given events are written


async def write_log(
    db_url: str,
    events: int,
    *,
    chunk: int = 5000,
    kind: LogKind = "centre",
    pace: Pace | None = None,
    seed: int = 112,
) -> float:
    """Write ``events`` events of a ``centre`` or ``held`` log with the log's own append.

    Returns the seconds it took. A ``centre`` log names its events' seqs (its archive
    events list their timelines), so it is written in order after the log's last event,
    and :class:`SimulatorError` is raised if the log numbered them otherwise.
    """
    if kind == "held":
        return await _append_numbered(db_url, held_batches(events, chunk), chunk, numbered=False)
    engine = create_engine(db_url)
    log = EventLog(engine)
    await log.open()
    await engine.dispose()
    batches = centre_batches(events, chunk, first_seq=log.head + 1, pace=pace, seed=seed)
    return await _append_numbered(db_url, batches, chunk)


async def _append_numbered(
    db_url: str, batches: Iterable[list[Event]], chunk: int, *, numbered: bool = True
) -> float:
    """Append ``batches`` in order; returns the seconds it took.

    ``numbered`` batches were given their seqs by the writer of the log (from the log's
    end on): :class:`SimulatorError` if the log numbered them otherwise.
    """
    engine = create_engine(db_url)
    log = EventLog(engine, group_commit=True, max_batch=chunk)
    await log.open()
    expected = log.head + 1
    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as tasks:
            writer = tasks.create_task(log.run_writer(), name="ng112-replay-writer")
            pending: list[asyncio.Task[list[int]]] = []
            for batch in batches:
                pending.append(tasks.create_task(log.append(batch)))
                if len(pending) >= 8:
                    appended = await asyncio.gather(*pending)
                    expected = _check_seqs(appended, expected) if numbered else expected
                    pending.clear()
            appended = await asyncio.gather(*pending)
            if numbered:
                _check_seqs(appended, expected)
            writer.cancel()
    finally:
        await engine.dispose()
    return time.perf_counter() - started


def _check_seqs(appended: list[list[int]], expected: int) -> int:
    """The next seq after ``appended``, which must run on from ``expected``."""
    for seqs in appended:
        if seqs and (seqs[0] != expected or seqs[-1] != expected + len(seqs) - 1):
            msg = f"the log numbered events from {seqs[0]}, not {expected}: another writer?"
            raise SimulatorError(msg)
        expected += len(seqs)
    return expected


async def time_start(settings: Settings) -> tuple[float, web.AppRunner, str]:
    """Start the engine on an existing log; returns the seconds to ready, runner and URL."""
    started = time.perf_counter()
    runner, url = await start_site(settings)
    return time.perf_counter() - started, runner, url


def temp_sqlite(folder: str) -> str:
    """A fresh SQLite URL in ``folder``."""
    return f"sqlite+aiosqlite:///{Path(folder) / f'ng112-{uuid.uuid4().hex[:8]}.db'}"


async def time_rebuild(db_url: str) -> float:
    """Seconds for the spine alone (no package listeners) to fold the whole log."""
    engine = create_engine(db_url)
    log = EventLog(engine)
    await log.open()
    started = time.perf_counter()
    with bulk_load():  # as the engine's start does
        await Engine(log).rebuild()
    elapsed = time.perf_counter() - started
    gc.unfreeze()  # this process goes on to start an engine of its own
    await engine.dispose()
    return elapsed


_SQLITE_HEADER = b"SQLite format 3\x00"
_SIDE_FILES = ("-wal", "-shm")  # SQLite's write-ahead log and its index, beside the file


def copy_sqlite_log(source: Path, folder: str) -> str:
    """Copy an SQLite event log, with its ``-wal`` and ``-shm``, into ``folder``.

    Returns the copy's URL. The original is only read (its first bytes, then a byte copy):
    start-up runs migrations and may write, so it runs on the copy. Raises
    :class:`SimulatorError` when ``source`` is missing, not a file, not SQLite, or not an
    ng112 event log (no ``events`` table with the log's columns, or no migration record).
    """
    if not source.exists():
        msg = f"{source}: no such file"
        raise SimulatorError(msg)
    if not source.is_file():
        msg = f"{source}: not a file"
        raise SimulatorError(msg)
    copy = Path(folder) / f"from-{uuid.uuid4().hex[:8]}.db"
    try:
        with source.open("rb") as file:
            header = file.read(len(_SQLITE_HEADER))
        if header == _SQLITE_HEADER:
            shutil.copyfile(source, copy)  # contents only: a read-only original, a writable copy
            for suffix in _SIDE_FILES:
                side = source.with_name(source.name + suffix)
                if side.is_file():
                    shutil.copyfile(side, copy.with_name(copy.name + suffix))
    except OSError as exc:
        msg = f"{source}: cannot be copied ({exc.strerror})"
        raise SimulatorError(msg) from exc
    if header != _SQLITE_HEADER:
        msg = f"{source}: not an SQLite database, so not an ng112 event log"
        raise SimulatorError(msg)
    _check_event_log(copy, source)
    return f"sqlite+aiosqlite:///{copy}"


def _check_event_log(copy: Path, source: Path) -> None:
    try:
        with contextlib.closing(sqlite3.connect(copy)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            columns = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    except sqlite3.DatabaseError as exc:
        msg = f"{source}: not a readable SQLite database ({exc})"
        raise SimulatorError(msg) from exc
    if "events" not in tables:
        msg = f"{source}: not an ng112 event log (no events table)"
        raise SimulatorError(msg)
    missing = sorted(set(events_table.columns.keys()) - columns)
    if missing:
        msg = f"{source}: not an ng112 event log (events table lacks {', '.join(missing)})"
        raise SimulatorError(msg)
    if "alembic_version" not in tables:
        msg = f"{source}: not an ng112 event log (no alembic_version table: never migrated)"
        raise SimulatorError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogContents:
    """How many events a log holds, and how many of each type, most frequent first."""

    events: int
    by_type: tuple[tuple[str, int], ...]


async def snapshot_size(db_url: str) -> tuple[int, int] | None:
    """The newest projection snapshot in the log's database: ``(seq, bytes)``, or ``None``."""
    engine = create_engine(db_url)
    try:
        log = EventLog(engine)
        await log.open()
        stored = await log.latest_snapshot()
    finally:
        await engine.dispose()
    return None if stored is None else (stored.seq, len(stored.payload))


async def drop_snapshots(db_url: str) -> None:
    """Delete the log's projection snapshots, so the next start folds the whole log."""
    engine = create_engine(db_url)
    try:
        log = EventLog(engine)
        await log.open()
        await log.delete_snapshots()
    finally:
        await engine.dispose()


async def log_contents(db_url: str) -> LogContents:
    """Count a log's events by type (one scan of the ``events`` table)."""
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            result = await conn.exec_driver_sql(
                "SELECT event_type, count(*) FROM events GROUP BY event_type"
            )
            found: list[Any] = list(result.fetchall())  # (event_type, count) pairs
    finally:
        await engine.dispose()
    rows = [(str(event_type), int(count)) for event_type, count in found]
    rows.sort(key=lambda row: (-row[1], row[0]))
    return LogContents(events=sum(count for _, count in rows), by_type=tuple(rows))
