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
from collections.abc import Awaitable, Callable, Sequence

from dispatch.adapters.store import EventLog
from dispatch.core.decide import (
    CommandRefused,
    IncidentAction,
    ReceiveCall,
    decide_action,
    decide_receive_call,
)
from dispatch.core.projections import IncidentView, Recorded, State
from dispatch.locks import KeyedLocks
from dispatch.model.access import Principal
from dispatch.model.events import CallReceived, Event
from dispatch.model.ids import CallId, IncidentId, new_call_id, new_incident_id
from dispatch.ports import CallAck, Clock, Locator, NoLocator, Snapshotting, SystemClock

logger = logging.getLogger(__name__)


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

    async def last_recorded(self, event_type: str) -> Recorded | None:
        """The newest committed event of a type (``event_type`` as stored), or ``None``."""
        return await self.log.last_of_type(event_type)

    def _apply(self, records: Sequence[Recorded]) -> None:
        for record in records:
            self.state.apply(record.seq, record.event)

    async def rebuild(self) -> int:
        """Fold the whole log into fresh projections; returns how many events were read."""
        self.state = State()
        for prepare in self._prepare:
            await prepare()
        count = 0
        async for page in self.log.replay():
            self._apply(page)
            for listener in self._replay_listeners:
                listener(page)
            count += len(page)
        for finished in self._rebuilt:
            finished()
        logger.info("projections rebuilt from %d events", count)
        return count

    # -- calls ----------------------------------------------------------------------------

    async def receive_call(self, command: ReceiveCall, principal: Principal) -> CallAck:
        """Commit a new call and its incident; a retry returns the original ack."""
        (ack,) = await self.receive_calls([command], principal)
        return ack

    def _known_call(self, key: str) -> CallAck | None:
        original = self.state.original(key)
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
        failure nothing is acknowledged and the gateway resends the batch.
        """
        principal.require_ingest()
        loop = asyncio.get_running_loop()
        acks: list[CallAck | None] = [None] * len(commands)
        waiting: list[tuple[int, asyncio.Future[CallAck]]] = []
        # (position in the batch, call, incident, offset of its first event, retry future)
        fresh: list[tuple[int, CallId, IncidentId, int, asyncio.Future[CallAck] | None]] = []
        events: list[Event] = []
        keys: list[str] = []
        try:
            for index, command in enumerate(commands):
                key = command.idempotency_key
                future: asyncio.Future[CallAck] | None = None
                if key is not None:
                    known = self._known_call(key)
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
                decided, call_id, incident_id = self._decide_call(command)
                fresh.append((index, call_id, incident_id, len(events), future))
                events.extend(decided)
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

    def _decide_call(self, command: ReceiveCall) -> tuple[list[Event], CallId, IncidentId]:
        placement = None
        if command.location is not None:
            loc = command.location
            placement = self.locator.place(loc.lat, loc.lon, loc.radius_m)
        call_id, incident_id = new_call_id(), new_incident_id()
        events = decide_receive_call(
            command,
            call_id=call_id,
            incident_id=incident_id,
            placement=placement,
            now=self.clock.now(),
        )
        return events, call_id, incident_id

    # -- incidents ------------------------------------------------------------------------

    def incident(self, incident_id: str) -> IncidentView:
        """The incident with this id, or :class:`UnknownIncident`."""
        incident = self.state.incidents.get(IncidentId(incident_id))
        if incident is None:
            raise UnknownIncident(f"no incident {incident_id}")
        return incident

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
                original = self.state.original(key)
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
