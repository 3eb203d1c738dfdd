"""The scoped dashboard stream: a snapshot of the projection, then coalesced deltas.

:class:`DashboardHub` sits between the live projection (:class:`Coordination`) and the
dashboard websockets. Each change of a projection key gets the next *version* (the
stream's sequence number) and is encoded once, as a fragment ``{"key", "v", "value"}``
(``value`` ``null``: the key was removed, or moved out of a province's scope). A client
has a scope (one province, or the whole country) and a *pending* map of key -> fragment:
publishing writes the new fragment over an older one of the same key, so a slow client
gets the latest state of each key, never a backlog. The pending map is bounded; a client
that exceeds it is sent a fresh snapshot instead.

Messages (JSON, binary frames)::

    {"type": "snapshot", "epoch": E, "seq": N, "changes": [fragment, ...]}   replace state
    {"type": "delta",    "epoch": E, "seq": N, "changes": [fragment, ...]}   apply on top

``seq`` is the version the client's state is at after the message. A client that
reconnects with ``?since=N&epoch=E`` gets one delta holding every key of its scope changed
after N (and a ``null`` for every key that left its scope since), so nothing is missed;
when the epoch differs (the process restarted) or N is older than the removals the hub
still remembers, it gets a snapshot. Publishing never waits: it runs in the log's
listener, and each client's sender task does its own writes, so a stuck client stalls
only itself.

:class:`HubSnapshots` is the projection's snapshot participant (``gamer.hub``): it saves
the projection's state, and on restore the hub indexes every key afresh, as a full replay
would have left it. Versions belong to an epoch (a process), so nothing of the stream is saved.
The removals it remembers are bounded (``tombstones``); an older ``since`` gets a snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from aiohttp import WSMsgType, web

from dispatch.core.projections import Recorded
from gamer_coordination.projections import Coordination

logger = logging.getLogger(__name__)

_MISSING = object()
_SUMMARY_PREFIXES = ("province/", "national")


@dataclass(slots=True, eq=False)
class DashboardClient:
    """One dashboard connection's place in the fan-out."""

    scope: int | None
    pending: dict[str, bytes] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    overflow: bool = False
    messages: int = 0


@dataclass(slots=True)
class HubStats:
    """Fan-out counters for /metrics."""

    versions: int = 0
    messages: int = 0
    snapshots: int = 0
    overflows: int = 0


class DashboardHub:
    """Versions projection changes and fans them out to scoped clients; see the module doc."""

    def __init__(
        self,
        projection: Coordination,
        *,
        max_pending: int = 20_000,
        tombstones: int = 10_000,
        coalesce_s: float = 0.0,
        summary_interval_s: float = 0.0,
        epoch: str | None = None,
    ) -> None:
        self.projection = projection
        self.epoch = epoch or os.urandom(6).hex()
        self.version = 0
        self.stats = HubStats()
        self._max_pending = max_pending
        self._coalesce_s = coalesce_s
        self._fragments: dict[str, bytes] = {}
        """Live keys' encoded fragments, once a client needed them (lazy)."""
        self._versions: dict[str, int] = {}
        """Each live key's version."""
        self._plates: dict[str, int | None] = {}
        self._plate_keys: dict[int | None, dict[str, None]] = {}
        self._tombstones: deque[tuple[int, str, int | None]] = deque()
        self._tombstone_limit = tombstones
        self._tombstone_floor = 0
        self._summary_interval_s = summary_interval_s
        self._deferred: set[str] = set()
        self._summaries_due = 0.0
        self._flush: asyncio.TimerHandle | None = None
        self._everywhere: set[DashboardClient] = set()
        self._by_plate: dict[int, set[DashboardClient]] = {}

    @property
    def client_count(self) -> int:
        """Connected dashboard clients."""
        return len(self._everywhere) + sum(len(c) for c in self._by_plate.values())

    # -- publishing (synchronous, never waits) ----------------------------------------------

    def on_records(self, records: Sequence[Recorded]) -> None:
        """The log listener: fold a committed batch and publish what changed."""
        self.publish(self.projection.apply(records))

    def tick(self, now: datetime) -> None:
        """Re-evaluate time-driven state (spikes ending) and publish what changed."""
        self.publish(self.projection.tick(now))

    def _clients_seeing(self, plate: int | None) -> Iterable[DashboardClient]:
        yield from self._everywhere
        if plate is not None:
            yield from self._by_plate.get(plate, ())

    def _deliver(self, clients: Iterable[DashboardClient], key: str, fragment: bytes) -> None:
        for client in clients:
            if client.overflow:
                continue
            client.pending[key] = fragment
            if len(client.pending) > self._max_pending:
                client.overflow = True
                client.pending.clear()
                self.stats.overflows += 1
            client.wake.set()

    def restore(self, state: object) -> None:
        """Restore the projection from a :meth:`snapshot` and index its keys afresh."""
        self.projection.restore(state)
        for index in (self._fragments, self._versions, self._plates, self._plate_keys):
            index.clear()
        self._tombstones.clear()
        self._deferred.clear()
        if self.projection.last_seq:  # as a replay of nothing, an empty one publishes nothing
            for key in self.projection.current_keys():
                self.version += 1
                self._keep(key, self.version, self.projection.plate_of(key), None)
        self._tombstone_floor = self.version

    def _keep(self, key: str, version: int, plate: int | None, fragment: bytes | None) -> None:
        """Index a key's current version (``fragment`` ``None``: encoded when first asked)."""
        if fragment is None:
            self._fragments.pop(key, None)
        else:
            self._fragments[key] = fragment
        self._versions[key] = version
        self._plates[key] = plate
        self._plate_keys.setdefault(plate, {})[key] = None

    def _forget(self, key: str) -> None:
        plate = self._plates.pop(key, None)
        self._fragments.pop(key, None)
        self._versions.pop(key, None)
        keys = self._plate_keys.get(plate)
        if keys is not None:
            keys.pop(key, None)

    def _tombstone(self, version: int, key: str, plate: int | None) -> None:
        self._tombstones.append((version, key, plate))
        while len(self._tombstones) > self._tombstone_limit:
            self._tombstone_floor = self._tombstones.popleft()[0]

    def _throttle(self, changed: Iterable[str]) -> list[str]:
        """Summaries (province and national counts) go out at most every summary interval.

        They change with every incident; throttling them keeps a busy country's dashboards
        from carrying the same large summaries many times a second. Deferred summaries are
        published by a timer, so the last state always goes out.
        """
        keys = []
        for key in changed:
            if key.startswith(_SUMMARY_PREFIXES):
                self._deferred.add(key)
            else:
                keys.append(key)
        if not self._deferred:
            return keys
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now >= self._summaries_due:
            keys.extend(self._deferred)
            self._deferred.clear()
            self._summaries_due = now + self._summary_interval_s
        elif self._flush is None:
            self._flush = loop.call_at(self._summaries_due, self._flush_summaries)
        return keys

    def _flush_summaries(self) -> None:
        self._flush = None
        self.publish(())

    def close(self) -> None:
        """Stop the summary timer (at shutdown)."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None

    def publish(self, changed: Iterable[str]) -> None:
        """Give each changed key a version and queue it for every client that may see it."""
        projection = self.projection
        if self._summary_interval_s > 0:
            changed = self._throttle(changed)
        for key in sorted(changed):
            present = projection.has(key)
            old_plate = self._plates.get(key, _MISSING)
            if not present and old_plate is _MISSING:
                continue
            self.version += 1
            version = self.version
            self.stats.versions += 1
            if not present:
                gone = old_plate if isinstance(old_plate, int) else None
                self._forget(key)
                self._tombstone(version, key, gone)
                null = orjson.dumps({"key": key, "v": version, "value": None})
                self._deliver(self._clients_seeing(gone), key, null)
                continue
            plate = projection.plate_of(key)
            watched = bool(self._everywhere) or (plate is not None and plate in self._by_plate)
            fragment = (
                orjson.dumps({"key": key, "v": version, "value": projection.view(key)})
                if watched
                else None
            )
            if old_plate is not _MISSING and old_plate != plate:
                previous = old_plate if isinstance(old_plate, int) else None
                self._forget(key)
                self._tombstone(version, key, previous)
                if previous is not None:  # its province's clients see it no more
                    null = orjson.dumps({"key": key, "v": version, "value": None})
                    self._deliver(self._by_plate.get(previous, ()), key, null)
            self._keep(key, version, plate, fragment)
            if fragment is not None:
                self._deliver(self._clients_seeing(plate), key, fragment)

    def _fragment(self, key: str) -> bytes:
        """A key's fragment, encoded now if nobody was watching when it changed.

        Nobody watching (start-up replay, a quiet province) means no encoding at all: the
        value is read from the projection when a client first asks, at the version of its
        last change (the projection has not changed it since, or it would be newer).
        """
        fragment = self._fragments.get(key)
        if fragment is None:
            value = self.projection.view(key)
            fragment = orjson.dumps({"key": key, "v": self._versions[key], "value": value})
            self._fragments[key] = fragment
        return fragment

    # -- clients ----------------------------------------------------------------------------

    def _visible_keys(self, scope: int | None) -> Iterable[str]:
        if scope is None:
            return self._versions.keys()
        return self._plate_keys.get(scope, {}).keys()

    def _message(self, kind: str, fragments: Iterable[bytes]) -> bytes:
        head = f'{{"type":"{kind}","epoch":"{self.epoch}","seq":{self.version},"changes":['
        return head.encode() + b",".join(fragments) + b"]}"

    def snapshot(self, scope: int | None) -> bytes:
        """Every key of ``scope`` at the current version, as a snapshot message."""
        self.stats.snapshots += 1
        fragment = self._fragment
        return self._message("snapshot", [fragment(k) for k in list(self._visible_keys(scope))])

    def resume(self, scope: int | None, since: int, epoch: str | None) -> bytes:
        """What a client that was at ``since`` missed, or a snapshot if that cannot be known."""
        if epoch != self.epoch or since < self._tombstone_floor or since > self.version:
            return self.snapshot(scope)
        fragments = [
            self._fragment(key)
            for key in list(self._visible_keys(scope))
            if self._versions[key] > since
        ]
        current = set(self._visible_keys(scope))
        nulls: dict[str, bytes] = {}
        for version, key, plate in reversed(self._tombstones):
            if version <= since:
                break
            if key in current or key in nulls:
                continue
            if scope is None or plate == scope:
                nulls[key] = orjson.dumps({"key": key, "v": version, "value": None})
        return self._message("delta", [*fragments, *nulls.values()])

    def connect(
        self, scope: int | None, since: int | None, epoch: str | None
    ) -> tuple[DashboardClient, bytes]:
        """Register a client and return its first message, with no gap in between."""
        client = DashboardClient(scope)
        if scope is None:
            self._everywhere.add(client)
        else:
            self._by_plate.setdefault(scope, set()).add(client)
        first = self.snapshot(scope) if since is None else self.resume(scope, since, epoch)
        return client, first

    def disconnect(self, client: DashboardClient) -> None:
        """Stop fanning out to a client."""
        if client.scope is None:
            self._everywhere.discard(client)
        else:
            clients = self._by_plate.get(client.scope)
            if clients is not None:
                clients.discard(client)
                if not clients:
                    del self._by_plate[client.scope]

    def next_message(self, client: DashboardClient) -> bytes:
        """Drain a client's pending changes into one message (a snapshot after overflow)."""
        client.wake.clear()
        if client.overflow:
            client.overflow = False
            client.pending.clear()
            return self.snapshot(client.scope)
        pending, client.pending = client.pending, {}
        return self._message("delta", pending.values())

    async def serve(
        self, ws: web.WebSocketResponse, scope: int | None, since: int | None, epoch: str | None
    ) -> None:
        """Run one dashboard client until it disconnects."""
        client, first = self.connect(scope, since, epoch)
        loop = asyncio.get_running_loop()
        reader = loop.create_task(_read_until_closed(ws), name="ng112-gamer-stream-reader")
        sender = loop.create_task(self._send(ws, client, first), name="ng112-gamer-stream-sender")
        try:
            await asyncio.wait({reader, sender}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.disconnect(client)
            for task in (reader, sender):
                task.cancel()
            results = await asyncio.gather(reader, sender, return_exceptions=True)
            for result in results:
                if isinstance(result, Exception) and not isinstance(
                    result, (ConnectionResetError, ConnectionError)
                ):
                    logger.warning("dashboard client ended with %r", result)

    async def _send(self, ws: web.WebSocketResponse, client: DashboardClient, first: bytes) -> None:
        await ws.send_bytes(first)
        self.stats.messages += 1
        while not ws.closed:
            await client.wake.wait()
            if self._coalesce_s:
                await asyncio.sleep(self._coalesce_s)  # gather more changes into one frame
            message = self.next_message(client)
            await ws.send_bytes(message)
            client.messages += 1
            self.stats.messages += 1


class HubSnapshots:
    """The dashboard's snapshot participant (:class:`dispatch.ports.Snapshotting`)."""

    snapshot_name = "gamer.hub"
    snapshot_version = 1

    def __init__(self, hub: DashboardHub) -> None:
        self.hub = hub

    def snapshot(self) -> object:
        """The projection's state after the last folded batch."""
        return self.hub.projection.snapshot()

    def restore(self, state: object) -> None:
        """Restore the projection and the hub's index of its keys."""
        self.hub.restore(state)


async def _read_until_closed(ws: web.WebSocketResponse) -> None:
    """Consume client frames until the client leaves."""
    async for message in ws:
        if message.type in {WSMsgType.ERROR, WSMsgType.CLOSE}:
            break
