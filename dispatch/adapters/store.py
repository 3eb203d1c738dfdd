"""The event log on SQLite or PostgreSQL, with group commit.

Appends go through one writer task. Whatever arrives while a transaction is in flight
is written by the next one, so under load many appends share a commit (group commit)
while a lone append still commits at once. Each append's future resolves only after its
transaction has committed; listeners (projections first, then streams) are then called in
sequence order on the loop's next turn, while the writer already commits the next batch
(the driver's thread writes as the loop folds), so nothing is shown that is not durable.

Sequence numbers are assigned by the writer: strictly increasing, no gaps unless a
transaction failed (its events are then reported failed to their appenders and the
numbers are reused). One process owns the writer; a second writer on the same database
fails on the primary key rather than interleaving.

ORM rows never leave this module: callers get :class:`Recorded` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dispatch.core.projections import Recorded
from dispatch.model.codec import decode_event, encode_event
from dispatch.model.events import Event

logger = logging.getLogger(__name__)

metadata = sa.MetaData()
events_table = sa.Table(
    "events",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("schema_version", sa.SmallInteger(), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=True),
    sa.Column("subject", sa.String(64), nullable=True),
    sa.Column("plate", sa.SmallInteger(), nullable=True),
    sa.Column("payload", sa.LargeBinary(), nullable=False),
)

snapshots_table = sa.Table(
    "snapshots",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("compatibility", sa.String(2000), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.LargeBinary(), nullable=False),
)

CommitListener = Callable[[Sequence[Recorded]], None]
#: A listener that also takes each event's stored JSON (:func:`encode_event`), in order.
EncodedListener = Callable[[Sequence[Recorded], Sequence[bytes]], None]


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """Saved projections: folded up to ``seq``, readable by code of ``compatibility``."""

    seq: int
    compatibility: str
    payload: bytes


class StoreError(Exception):
    """The event log could not commit; nothing of the failed batch is durable."""


class DuplicateKey(StoreError):  # noqa: N818 - names the refusal
    """An idempotency key that is already in the log (a race the service lost)."""


@dataclass(slots=True)
class _Pending:
    events: Sequence[Event]
    future: asyncio.Future[list[int]]


@dataclass(slots=True)
class CommitStats:
    """What the writer has done, for /metrics and benchmarks."""

    transactions: int = 0
    events: int = 0
    failures: int = 0
    last_batch: int = 0
    commit_seconds_total: float = 0.0


def database_url(url: str) -> str:
    """Normalise a user's database URL to an async SQLAlchemy URL."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///") and not url.startswith("sqlite+aiosqlite"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    return url


def is_memory_database(url: str) -> bool:
    """Whether the URL names an SQLite database in memory (no other process can open it)."""
    url = database_url(url)
    if not url.startswith("sqlite"):
        return False
    path = url.split("://", 1)[1].removeprefix("/")
    return path in ("", ":memory:") or "mode=memory" in path


def create_engine(url: str, *, schema: str | None = None) -> AsyncEngine:
    """An async engine with the settings the event log relies on.

    SQLite gets WAL and ``synchronous=FULL`` (an acknowledged event survives power
    loss); PostgreSQL may be confined to ``schema`` (tests use one per test).
    """
    url = database_url(url)
    connect_args: dict[str, Any] = {}
    if url.startswith("sqlite"):
        if not is_memory_database(url):
            Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        connect_args["timeout"] = 30
    elif schema is not None:
        connect_args["server_settings"] = {"search_path": schema}
    engine = create_async_engine(url, connect_args=connect_args, pool_pre_ping=False)
    if url.startswith("sqlite"):
        sa_event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _migrate(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class EventLog:
    """Append-only event log with group commit; see the module docstring."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        group_commit: bool = True,
        max_batch: int = 5000,
        queue_size: int = 100_000,
    ) -> None:
        self._engine = engine
        self._group_commit = group_commit
        self._max_batch = max_batch if group_commit else 1
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue(maxsize=queue_size)
        """Appends waiting for the writer; ``None`` wakes an idle writer to stop."""
        self._stopping = False
        self._listeners: list[tuple[CommitListener | None, EncodedListener | None]] = []
        self._next_seq = 1
        self._published_seq = 0
        self.stats = CommitStats()
        self._sqlite = engine.dialect.name == "sqlite"
        marks = (
            ", ".join("?" * 9)
            if engine.dialect.paramstyle == "qmark"
            else ", ".join(f"${i}" for i in range(1, 10))
            if engine.dialect.paramstyle.startswith("numeric")
            else ", ".join(["%s"] * 9)
        )
        # Raw driver SQL: the hot path skips SQLAlchemy's per-row type processing.
        columns = (
            "seq, event_type, schema_version, occurred_at, recorded_at,"
            " idempotency_key, subject, plate, payload"
        )
        # placeholders only, never caller data
        self._insert_sql = f"INSERT INTO events ({columns}) VALUES ({marks})"  # noqa: S608
        p1, p2, p3 = marks.split(", ")[:3]
        self._read_sql = (
            "SELECT seq, event_type, schema_version, payload FROM events"  # noqa: S608
            f" WHERE seq > {p1} AND seq <= {p2} ORDER BY seq LIMIT {p3}"
        )

    @property
    def head(self) -> int:
        """The sequence number of the last committed and published event."""
        return self._published_seq

    @property
    def queue_depth(self) -> int:
        """Appends waiting for the writer."""
        return self._queue.qsize()

    async def open(self) -> None:
        """Run migrations and find where the log ends."""
        async with self._engine.begin() as conn:
            await conn.run_sync(_migrate)
        last = await self.last_seq()
        self._next_seq = last + 1
        self._published_seq = last

    def add_listener(self, listener: CommitListener) -> None:
        """Call ``listener`` with every committed batch, in order, from the writer."""
        self._listeners.append((listener, None))

    def add_encoded_listener(self, listener: EncodedListener) -> None:
        """As :meth:`add_listener`, also passing the bytes each event was stored as."""
        self._listeners.append((None, listener))

    async def append(self, events: Sequence[Event]) -> list[int]:
        """Append events atomically; returns their sequence numbers once committed."""
        if not events:
            return []
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        pending = _Pending(events, future)
        try:
            self._queue.put_nowait(pending)
        except asyncio.QueueFull:
            await self._queue.put(pending)  # bounded: appenders wait for the writer
        return await future

    async def run_writer(self) -> None:
        """The writer loop, until :meth:`stop_writer` (or cancelled, e.g. by a test)."""
        while not self._stopping:
            first = await self._queue.get()
            if first is None:
                continue
            await self._commit(self._gather(first))

    def stop_writer(self) -> None:
        """Let the writer finish the commit in flight and return (for a clean shutdown).

        Cancelling it instead could abandon a transaction in the driver's thread, leaving the
        SQLite write lock held while :meth:`drain` tries to commit what is left.
        """
        self._stopping = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)  # an idle writer wakes; a busy one sees the flag

    def _gather(self, first: _Pending) -> list[_Pending]:
        """``first`` and whatever else waits, up to ``max_batch`` events."""
        batch = [first]
        count = len(first.events)
        while count < self._max_batch and not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                batch.append(item)
                count += len(item.events)
        return batch

    async def drain(self) -> None:
        """Commit whatever is queued now (used at shutdown after intake has stopped)."""
        while not self._queue.empty():
            first = self._queue.get_nowait()
            if first is not None:
                await self._commit(self._gather(first))

    async def _commit(self, batch: list[_Pending]) -> None:
        started = time.perf_counter()
        now = datetime.now(UTC)
        sqlite = self._sqlite
        recorded_at: datetime | str = now.isoformat() if sqlite else now
        rows: list[tuple[Any, ...]] = []
        seqs: list[list[int]] = []
        payloads: list[bytes] = []
        seq = self._next_seq
        for pending in batch:
            mine = []
            for event in pending.events:
                payload = encode_event(event)
                payloads.append(payload)
                rows.append(
                    (
                        seq,
                        event.event_type,
                        event.schema_version,
                        event.occurred_at.isoformat() if sqlite else event.occurred_at,
                        recorded_at,
                        event.idempotency_key,
                        event.subject,
                        event.plate,
                        payload,
                    )
                )
                mine.append(seq)
                seq += 1
            seqs.append(mine)
        try:
            async with self._engine.begin() as conn:
                await conn.exec_driver_sql(self._insert_sql, rows)
        except IntegrityError as exc:
            self.stats.failures += 1
            await self._retry_one_by_one(batch, exc)
            return
        except Exception as exc:
            self.stats.failures += 1
            logger.exception("event log commit failed for %d events", len(rows))
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(StoreError("the event log could not commit"))
            del exc
            return
        self._next_seq = seq
        self.stats.transactions += 1
        self.stats.events += len(rows)
        self.stats.last_batch = len(rows)
        self.stats.commit_seconds_total += time.perf_counter() - started
        # Listeners run on the loop's next turn, not here: the writer goes straight on to
        # the next batch, whose commit (in the driver's thread) then overlaps this batch's
        # listeners. Order holds: this callback is queued before the next commit can end.
        asyncio.get_running_loop().call_soon(self._publish, batch, seqs, payloads)

    async def _retry_one_by_one(self, batch: list[_Pending], exc: IntegrityError) -> None:
        """A batch hit a unique key: commit its members alone so only the culprit fails."""
        if len(batch) == 1:
            batch[0].future.set_exception(DuplicateKey("idempotency key already committed"))
            logger.debug("duplicate idempotency key: %s", exc)
            return
        for pending in batch:
            await self._commit([pending])

    def _publish(self, batch: list[_Pending], seqs: list[list[int]], payloads: list[bytes]) -> None:
        recorded = [
            Recorded(seq, event)
            for pending, mine in zip(batch, seqs, strict=True)
            for seq, event in zip(mine, pending.events, strict=True)
        ]
        if recorded:
            self._published_seq = recorded[-1].seq
        for listener, encoded in self._listeners:
            try:
                if listener is not None:
                    listener(recorded)
                elif encoded is not None:
                    encoded(recorded, payloads)
            except Exception:
                logger.exception("commit listener %r failed", listener or encoded)
        for pending, mine in zip(batch, seqs, strict=True):
            if not pending.future.done():
                pending.future.set_result(mine)

    async def read(self, after: int, limit: int = 1000) -> list[Recorded]:
        """Committed events with ``seq > after``, oldest first, at most ``limit``."""
        return _decoded(await self._rows(after, limit))

    async def _rows(self, after: int, limit: int) -> list[Any]:
        async with self._engine.connect() as conn:
            result = await conn.exec_driver_sql(self._read_sql, (after, self._published_seq, limit))
            return list(result.fetchall())

    async def read_types(
        self, after: int, through: int, event_types: Sequence[str], limit: int = 20_000
    ) -> list[Recorded]:
        """Committed events of these types with ``after < seq <= through``, oldest first.

        For a reader in another process following the log (``through`` as far as it
        knows the log has been committed), which folds only a few of its types.
        """
        query = (
            _select_events()
            .where(events_table.c.seq > after)
            .where(events_table.c.seq <= through)
            .where(events_table.c.event_type.in_(list(event_types)))
            .order_by(events_table.c.seq)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return _decoded(list((await conn.execute(query)).fetchall()))

    async def last_seq(self) -> int:
        """The newest committed sequence number (0 for an empty log), read from the table."""
        async with self._engine.connect() as conn:
            last = (await conn.execute(sa.select(sa.func.max(events_table.c.seq)))).scalar()
        return int(last or 0)

    async def replay(self, page: int = 20_000, *, after: int = 0) -> AsyncIterator[list[Recorded]]:
        """Every committed event after ``after`` in order, in pages (to rebuild projections).

        The next page is read (in the driver's thread) while the caller folds this one.
        """
        loop = asyncio.get_running_loop()
        ahead = loop.create_task(self._rows(after, page))
        try:
            while True:
                rows = await ahead
                if not rows:
                    return
                ahead = loop.create_task(self._rows(rows[-1][0], page))
                yield _decoded(rows)
        finally:
            if not ahead.done():
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ahead

    async def last_of_type(self, event_type: str) -> Recorded | None:
        """The newest committed event of a type, or ``None`` (read backwards from the end)."""
        query = (
            _select_events()
            .where(events_table.c.event_type == event_type)
            .order_by(events_table.c.seq.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            rows = list((await conn.execute(query)).fetchall())
        return _decoded(rows)[0] if rows else None

    async def at(self, seqs: Sequence[int]) -> list[Recorded]:
        """The committed events with these sequence numbers, in seq order."""
        found: list[Recorded] = []
        wanted = sorted(set(seqs))
        async with self._engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                query = (
                    _select_events()
                    .where(events_table.c.seq.in_(wanted[start : start + 500]))
                    .order_by(events_table.c.seq)
                )
                found.extend(_decoded(list((await conn.execute(query)).fetchall())))
        return found

    async def by_key(self, key: str) -> Recorded | None:
        """The committed event that carried an idempotency key (its unique index finds it)."""
        query = _select_events().where(events_table.c.idempotency_key == key).limit(1)
        async with self._engine.connect() as conn:
            rows = list((await conn.execute(query)).fetchall())
        return _decoded(rows)[0] if rows else None

    async def archived(self, incident_id: str) -> Recorded | None:
        """The event that archived an incident, or ``None`` (a partial index finds it)."""
        return await self._first_about(incident_id, "incident_archived")

    async def received(self, call_id: str) -> Recorded | None:
        """The event that received a call, or ``None`` (the same partial index)."""
        return await self._first_about(call_id, "call_received")

    async def _first_about(self, subject: str, event_type: str) -> Recorded | None:
        query = (
            _select_events()
            .where(events_table.c.event_type == event_type)
            .where(events_table.c.subject == subject)
            .order_by(events_table.c.seq)
            .limit(1)
        )
        async with self._engine.connect() as conn:
            rows = list((await conn.execute(query)).fetchall())
        return _decoded(rows)[0] if rows else None

    async def save_snapshot(self, snapshot: StoredSnapshot) -> None:
        """Keep ``snapshot`` as the newest; older ones are deleted in the same transaction."""
        async with self._engine.begin() as conn:
            await conn.execute(snapshots_table.delete())
            await conn.execute(
                snapshots_table.insert().values(
                    seq=snapshot.seq,
                    compatibility=snapshot.compatibility,
                    created_at=datetime.now(UTC),
                    payload=snapshot.payload,
                )
            )

    async def delete_snapshots(self) -> None:
        """Forget every saved snapshot (the next start folds the whole log)."""
        async with self._engine.begin() as conn:
            await conn.execute(snapshots_table.delete())

    async def latest_snapshot(self) -> StoredSnapshot | None:
        """The newest saved snapshot, or ``None``."""
        query = (
            sa.select(
                snapshots_table.c.seq, snapshots_table.c.compatibility, snapshots_table.c.payload
            )
            .order_by(snapshots_table.c.seq.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return StoredSnapshot(seq=int(row[0]), compatibility=str(row[1]), payload=bytes(row[2]))

    async def count(self) -> int:
        """How many events the log holds (tests and benchmarks)."""
        async with self._engine.connect() as conn:
            return int(
                (
                    await conn.execute(sa.select(sa.func.count()).select_from(events_table))
                ).scalar_one()
            )


def _select_events() -> sa.Select[Any]:
    """The columns :func:`_decoded` turns into events."""
    return sa.select(
        events_table.c.seq,
        events_table.c.event_type,
        events_table.c.schema_version,
        events_table.c.payload,
    )


def _decoded(rows: list[Any]) -> list[Recorded]:
    return [Recorded(row[0], decode_event(row[1], row[2], row[3])) for row in rows]
