"""The engine: commands in, committed events out, projections and streams fed in order.

Flow for every command (``STYLE.md`` section 4): look up what it needs, ``decide``
(pure), append to the log (group commit), and only then acknowledge. Commands on the same
incident run one at a time under that incident's lock, so each decides against the state
its predecessor committed; different incidents proceed in parallel and share commits.
A retry with a known idempotency key gets the original answer and writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from functools import partial

from dispatch.adapters.store import DuplicateKey, EventLog, StoredSnapshot
from dispatch.core.archive import ArchiveHold
from dispatch.core.decide import (
    CommandRefused,
    DecidedCall,
    IncidentAction,
    ReceiveCall,
    decide_action,
    decide_receive_call,
)
from dispatch.core.projections import CallView, IncidentView, Recorded, State
from dispatch.locks import KeyedLocks
from dispatch.model.access import Principal
from dispatch.model.events import CallReceived, Event, IncidentArchived
from dispatch.model.ids import CallId, IncidentId, new_call_id, new_incident_id
from dispatch.ports import CallAck, Clock, Locator, NoLocator, Snapshotting, SystemClock

logger = logging.getLogger(__name__)

#: Version of the spine's own projections (:class:`State` and its views) in snapshots:
#: bump it whenever their shape or their fold's meaning changes.
STATE_SNAPSHOT_VERSION = 1


#: a call's idempotency key and how to decide it (only called when the call is new)
_Undecided = tuple[str | None, Callable[[], DecidedCall]]


def decide_new_call(command: ReceiveCall, *, locator: Locator, now: datetime) -> DecidedCall:
    """A new call's ids and events: where it is, then :func:`decide_receive_call`.

    Depends on no engine state, so a front process decides exactly as the engine would.
    """
    placement = None
    if command.location is not None:
        loc = command.location
        placement = locator.place(loc.lat, loc.lon, loc.radius_m)
    call_id, incident_id = new_call_id(), new_incident_id()
    events = decide_receive_call(
        command, call_id=call_id, incident_id=incident_id, placement=placement, now=now
    )
    return DecidedCall(
        idempotency_key=command.idempotency_key,
        call_id=call_id,
        incident_id=incident_id,
        events=tuple(events),
    )


def _already(call: DecidedCall) -> DecidedCall:
    return call


class SnapshotUnusable(RuntimeError):  # noqa: N818 - names the condition
    """A snapshot matched this code but could not be restored; it has been deleted."""


class UnknownIncident(LookupError):  # noqa: N818 - names the refusal
    """No incident has that id."""


class Engine:
    """Commands, the log and the projections of one ng112 process."""

    def __init__(
        self,
        log: EventLog,
        *,
        locator: Locator | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.log = log
        self.state = State()
        self.locator: Locator = locator or NoLocator()
        self.clock: Clock = clock or SystemClock()
        self._locks = KeyedLocks()
        self._in_flight: dict[str, asyncio.Future[CallAck]] = {}
        self._replay_listeners: list[Callable[[Sequence[Recorded]], None]] = []
        self._prepare: list[Callable[[], Awaitable[None]]] = []
        self._rebuilt: list[Callable[[], None]] = []
        self._snapshotting: list[Snapshotting] = []
        self._without_snapshot: list[str] = []
        #: the seq of the snapshot the last rebuild started from (0: the whole log)
        self.restored_seq = 0
        #: packages' vetoes on archiving an incident (see ``dispatch.core.archive``)
        self.archive_holds: list[ArchiveHold] = []
        log.add_listener(self._apply)

    def subscribe(
        self,
        listener: Callable[[Sequence[Recorded]], None],
        *,
        replay: Callable[[Sequence[Recorded]], None] | None = None,
        prepare: Callable[[], Awaitable[None]] | None = None,
        rebuilt: Callable[[], None] | None = None,
        snapshot: Snapshotting | None = None,
    ) -> None:
        """Call ``listener`` with every committed batch, in order, after the projections.

        The listener is also fed the whole log when the projections are rebuilt at
        start, so a package's own projections come back after a restart; a package whose
        replay differs from its live fold (it applies decisions the log records instead
        of making them again) passes that fold as ``replay``, and may ``prepare`` it (for
        example with :meth:`last_recorded`) before the first event. ``rebuilt`` is called
        once the whole log has been folded, before the engine takes new events. A package
        that passes ``snapshot`` is saved with the engine's snapshots and restored from
        them at start (see :class:`dispatch.ports.Snapshotting`).
        """
        self.log.add_listener(listener)
        self._replay_listeners.append(replay if replay is not None else listener)
        if prepare is not None:
            self._prepare.append(prepare)
        if rebuilt is not None:
            self._rebuilt.append(rebuilt)
        if snapshot is not None:
            self._snapshotting.append(snapshot)
        else:
            self._without_snapshot.append(getattr(listener, "__qualname__", repr(listener)))

    def hold_archive(self, hold: ArchiveHold) -> None:
        """Let a package keep a concluded incident in memory while it still needs it."""
        self.archive_holds.append(hold)

    async def last_recorded(self, event_type: str) -> Recorded | None:
        """The newest committed event of a type (``event_type`` as stored), or ``None``."""
        return await self.log.last_of_type(event_type)

    def _apply(self, records: Sequence[Recorded]) -> None:
        for record in records:
            self.state.apply(record.seq, record.event)

    async def rebuild(self) -> int:
        """Rebuild the projections at start; returns how many events were folded.

        From the newest compatible snapshot (see :meth:`save_snapshot`) and the events
        after it, or, with none, from the whole log.
        """
        self.state = State()
        after = await self._restore_snapshot()
        self.restored_seq = after
        for prepare in self._prepare:
            await prepare()
        count = 0
        async for page in self.log.replay(after=after):
            self._apply(page)
            for listener in self._replay_listeners:
                listener(page)
            count += len(page)
        for finished in self._rebuilt:
            finished()
        logger.info("projections rebuilt: snapshot at seq %d, then %d events", after, count)
        return count

    # -- snapshots ------------------------------------------------------------------------

    @property
    def snapshots_possible(self) -> bool:
        """Whether every subscribed package can be snapshotted (else none is saved or used)."""
        return not self._without_snapshot

    def snapshot_compatibility(self) -> str:
        """What a snapshot must have been written by to be restored by this process."""
        parts = [
            f"python:{sys.version_info.major}.{sys.version_info.minor}",
            f"spine:{STATE_SNAPSHOT_VERSION}",
            *sorted(f"{p.snapshot_name}:{p.snapshot_version}" for p in self._snapshotting),
        ]
        return ";".join(parts)

    def snapshot_contents(self) -> dict[str, object]:
        """Every projection after the last folded event (take it between two commits)."""
        packages = {p.snapshot_name: p.snapshot() for p in self._snapshotting}
        return {"state": self.state, "packages": packages}

    def snapshot_payload(self) -> bytes:
        """:meth:`snapshot_contents` pickled (on the loop: consistent)."""
        return pickle.dumps(self.snapshot_contents(), protocol=pickle.HIGHEST_PROTOCOL)

    async def store_snapshot(self, seq: int, payload: bytes) -> None:
        """Keep a pickled snapshot taken at ``seq`` as the newest."""
        await self.log.save_snapshot(
            StoredSnapshot(seq=seq, compatibility=self.snapshot_compatibility(), payload=payload)
        )
        logger.info("snapshot saved at seq %d (%d bytes)", seq, len(payload))

    async def save_snapshot(self) -> int | None:
        """Save every projection at the last folded seq; returns that seq.

        The projections are pickled at once, between two commits, so the spine and every
        package are at the same seq; the write then runs while the engine goes on. Returns
        ``None`` (and saves nothing) when a subscribed package cannot be snapshotted: its
        projection would miss every event before the snapshot.
        """
        if not self.snapshots_possible:
            return None
        seq = self.state.last_seq
        await self.store_snapshot(seq, self.snapshot_payload())
        return seq

    def _restore(self, stored: StoredSnapshot) -> None:
        data = pickle.loads(stored.payload)  # noqa: S301 - this engine wrote it into its own store
        state = data["state"]
        packages = data["packages"]
        if not isinstance(state, State) or state.last_seq != stored.seq:
            msg = "the snapshot's spine state is not at its seq"
            raise TypeError(msg)
        self.state = state
        for participant in self._snapshotting:
            participant.restore(packages[participant.snapshot_name])

    async def _restore_snapshot(self) -> int:
        """Restore the newest usable snapshot; returns its seq, or 0 to fold the whole log."""
        if not self.snapshots_possible:
            logger.info(
                "folding the whole log: no snapshot support in %s",
                ", ".join(self._without_snapshot),
            )
            return 0
        stored = await self.log.latest_snapshot()
        if stored is None:
            return 0
        if stored.compatibility != self.snapshot_compatibility():
            logger.info(
                "snapshot at seq %d was written by other code (%s): folding the whole log",
                stored.seq,
                stored.compatibility,
            )
            return 0
        if stored.seq > self.log.head:
            logger.warning(
                "snapshot at seq %d is ahead of the log (head %d): folding the whole log",
                stored.seq,
                self.log.head,
            )
            return 0
        try:
            self._restore(stored)
        except Exception as exc:
            await self.log.delete_snapshots()
            msg = (
                f"the snapshot at seq {stored.seq} could not be restored ({exc!r}); it has"
                " been deleted, and the next start folds the whole log"
            )
            raise SnapshotUnusable(msg) from exc
        logger.info("projections restored from the snapshot at seq %d", stored.seq)
        return stored.seq

    # -- calls ----------------------------------------------------------------------------

    async def receive_call(self, command: ReceiveCall, principal: Principal) -> CallAck:
        """Commit a new call and its incident; a retry returns the original ack."""
        (ack,) = await self.receive_calls([command], principal)
        return ack

    async def original(self, key: str) -> Recorded | None:
        """The committed event that first carried an idempotency key, if any.

        Recent keys are answered from memory; older ones by reading the event back.
        """
        recent = self.state.original(key)
        if recent is not None:
            return recent
        seq = self.state.settled(key)
        if seq is None:
            return None
        found = await self.log.at([seq])
        return found[0] if found else None

    def _known_call(self, key: str) -> CallAck | None:
        original = self.state.original(key)
        return self._call_ack(original)

    @staticmethod
    def _call_ack(original: Recorded | None) -> CallAck | None:
        if original is None or not isinstance(original.event, CallReceived):
            return None
        return CallAck(
            call_id=original.event.call_id,
            incident_id=original.event.incident_id,
            seq=original.seq,
            duplicate=True,
        )

    async def receive_calls(
        self, commands: Sequence[ReceiveCall], principal: Principal
    ) -> list[CallAck]:
        """Commit calls (a gateway's batch, or one) in one append; acks in the commands' order.

        Retries (a known or in-flight ``client_request_id``, also twice in one batch) get
        the original ack with ``duplicate`` set. The new calls'
        events are appended together, so they commit together or not at all: on a store
        failure nothing is acknowledged and the gateway resends the batch. A retry so old
        that this process no longer remembers its key is refused by the log's unique
        index; its original is then read by key and the batch decided again.
        """
        return await self._receive(
            [(c.idempotency_key, partial(self._decide_call, c)) for c in commands], principal
        )

    async def receive_decided(
        self, calls: Sequence[DecidedCall], principal: Principal
    ) -> list[CallAck]:
        """As :meth:`receive_calls`, for calls a front process has already decided.

        A front (``dispatch.app.call_front``) parses, locates, classifies and decides a
        gateway's batch in another process; new calls depend on no state, so its events
        are those this process would have decided. Retries are recognised here, by key,
        exactly as for :meth:`receive_calls`, and their front-decided events are dropped.
        """
        return await self._receive(
            [(c.idempotency_key, partial(_already, c)) for c in calls], principal
        )

    async def _receive(self, calls: Sequence[_Undecided], principal: Principal) -> list[CallAck]:
        try:
            return await self._receive_calls(calls, principal, {})
        except DuplicateKey:
            stale: dict[str, Recorded] = {}
            for key, _ in calls:
                if key is not None and (found := await self.log.by_key(key)) is not None:
                    stale[key] = found
            if not stale:
                raise
            return await self._receive_calls(calls, principal, stale)

    async def _receive_calls(
        self,
        calls: Sequence[_Undecided],
        principal: Principal,
        stale: Mapping[str, Recorded],
    ) -> list[CallAck]:
        principal.require_ingest()
        loop = asyncio.get_running_loop()
        acks: list[CallAck | None] = [None] * len(calls)
        waiting: list[tuple[int, asyncio.Future[CallAck]]] = []
        # (position in the batch, call, incident, offset of its first event, retry future)
        fresh: list[tuple[int, CallId, IncidentId, int, asyncio.Future[CallAck] | None]] = []
        events: list[Event] = []
        keys: list[str] = []
        try:
            for index, (key, decide) in enumerate(calls):
                future: asyncio.Future[CallAck] | None = None
                if key is not None:
                    known = self._known_call(key) or self._call_ack(stale.get(key))
                    if known is None and self.state.settled(key) is not None:
                        known = self._call_ack(await self.original(key))
                    if known is not None:
                        acks[index] = known
                        continue
                    pending = self._in_flight.get(key)
                    if pending is not None:
                        waiting.append((index, pending))
                        continue
                    future = loop.create_future()
                    self._in_flight[key] = future
                    keys.append(key)
                decided = decide()
                fresh.append((index, decided.call_id, decided.incident_id, len(events), future))
                events.extend(decided.events)
            seqs = await self.log.append(events) if events else []
        except BaseException as exc:
            for *_, future in fresh:
                if future is not None and not future.done():
                    future.set_exception(exc)
                    future.exception()  # mark retrieved: a retry, if any, re-raises it
            raise
        else:
            for index, call_id, incident_id, offset, future in fresh:
                ack = CallAck(call_id=call_id, incident_id=incident_id, seq=seqs[offset])
                acks[index] = ack
                if future is not None:
                    future.set_result(ack)
        finally:
            for key in keys:
                self._in_flight.pop(key, None)
        for index, pending in waiting:
            original = await asyncio.shield(pending)
            acks[index] = CallAck(
                call_id=original.call_id,
                incident_id=original.incident_id,
                seq=original.seq,
                duplicate=True,
            )
        return [ack for ack in acks if ack is not None]

    def _decide_call(self, command: ReceiveCall) -> DecidedCall:
        return decide_new_call(command, locator=self.locator, now=self.clock.now())

    # -- incidents ------------------------------------------------------------------------

    def incident(self, incident_id: str) -> IncidentView:
        """The incident with this id, or :class:`UnknownIncident`."""
        incident = self.state.incidents.get(IncidentId(incident_id))
        if incident is None:
            raise UnknownIncident(f"no incident {incident_id}")
        return incident

    async def archived_incident(self, incident_id: str) -> IncidentView | None:
        """An archived incident as it was when archived, read back from the log, or ``None``.

        Its timeline's events are folded into fresh projections, so the view (status,
        type, agencies, calls, units, timeline) is the one the live engine had.
        """
        state = await self._archived_state(incident_id)
        return None if state is None else state.incidents.get(IncidentId(incident_id))

    async def archived_call(self, call_id: str) -> CallView | None:
        """An archived call as its incident's archive left it, read back from the log."""
        received = await self.log.received(call_id)
        if received is None or not isinstance(received.event, CallReceived):
            return None
        state = await self._archived_state(received.event.incident_id)
        return None if state is None else state.calls.get(CallId(call_id))

    async def _archived_state(self, incident_id: str) -> State | None:
        """Projections of an archived incident's timeline alone, or ``None``."""
        archived = await self.log.archived(incident_id)
        if archived is None or not isinstance(archived.event, IncidentArchived):
            return None
        state = State()
        for record in await self.log.at(archived.event.timeline):
            state.apply(record.seq, record.event)
        return state

    async def act(
        self,
        incident_id: str,
        command: IncidentAction,
        principal: Principal,
        *,
        also: Sequence[Event] = (),
    ) -> list[Recorded]:
        """Apply an operator's action; returns the committed events (or the original ones).

        ``also`` are events a package decided together with the action (the unit and its
        order with ``dispatch``): they are appended with the action's events, so both commit
        or neither does.
        """
        incident = self.incident(incident_id)
        principal.require_incident_action(incident.plate)
        key = command.idempotency_key
        async with self._locks.hold(incident_id):
            if key is not None:
                original = await self.original(key)
                if original is not None:
                    return [original]
            incident = self.incident(incident_id)
            target = None
            if command.into is not None:
                target = self.state.incidents.get(command.into)
                if target is None:
                    raise CommandRefused(f"no incident {command.into} to merge into")
            placement = None
            if command.location is not None:
                loc = command.location
                placement = self.locator.place(loc.lat, loc.lon, loc.radius_m)
            events = decide_action(
                incident, command, now=self.clock.now(), target=target, placement=placement
            )
            events = [*events, *also]
            seqs = await self.log.append(events)
        return [Recorded(seq, event) for seq, event in zip(seqs, events, strict=True)]

    async def record(self, events: Sequence[Event]) -> list[Recorded]:
        """Commit events that a channel package decided on its own."""
        seqs = await self.log.append(events)
        return [Recorded(seq, event) for seq, event in zip(seqs, events, strict=True)]

    @property
    def lock_count(self) -> int:
        """Incidents with a command in progress (a gauge)."""
        return len(self._locks)
