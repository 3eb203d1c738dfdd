"""The duplicate search in a process of its own, following the event log.

In a surge the search for duplicates (placing every new call among the open sites and
judging the nearest) took about a fifth of the engine loop's time. With
``[units] duplicate_search = "process"`` a child interpreter
(``python -m dispatch.app.duplicate_search``) runs the :class:`~dispatch.duplicates.
DuplicateDesk` instead. It reads the log itself, from the same database, only the eight
event types the desk folds; the loop folds a :class:`~dispatch.duplicate_ledger.
ProposalLedger` of what the log records and commits what the child proposes.

The two talk over the child's stdin and stdout in length-prefixed MessagePack frames
(:func:`dispatch.app.child_process.frame`):

- to the child: first ``[START, seq, desk]``, the desk it last sent to be kept (``seq``
  0 and ``None`` for none), then ``[HEAD, seq]`` after each commit (the log holds events
  up to ``seq``);
- from the child: ``[READY, seq, restored]`` once it has folded the log up to ``seq`` at
  start (from a desk saved at ``restored``, 0 for none), ``[PROPOSED, searched_through,
  [[call_id, incident_id, candidate, distance_m, gate_m, score, plate], ...]]`` for the
  proposals its search made, ``[MARK, searched_through]`` when a
  ``DuplicateSearchMarked`` is due, and ``[SAVED, seq, desk]``, its desk pickled, every
  :data:`SAVE_EVERY` log events, and ``[FOLDED, seq]`` at most every
  :data:`REPORT_EVERY_S` when it has folded more of the log (the lag gauge).

The engine records what the child sends in the order sent (the timer loop's ``tick``),
each proposal under the idempotency key ``duplicate:{call_id}``, so a proposal sent twice
(by a child started again, which searches again the calls after the log's newest mark)
is recorded once. Nothing the engine acknowledged depends on the child: a call is
committed and streamed before it is searched. A child that dies is started again.

At start the child restores the desk it is given and folds the log after it as the
in-loop desk does (:meth:`~dispatch.duplicates.DuplicateDesk.replay`): recorded proposals
are applied, not searched again. The engine keeps the last desk the child sent in its
:class:`~dispatch.duplicate_ledger.ProposalLedger`, so it travels in the engine's own
snapshots: after a restart, or a child's death, the child folds only the log after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, BinaryIO

import msgspec
from aiohttp import web

from dispatch.adapters.store import DuplicateKey, EventLog, create_engine
from dispatch.app.child_process import SupervisedChild, frame, next_frame
from dispatch.core.projections import Recorded
from dispatch.duplicate_ledger import ProposalLedger
from dispatch.duplicates import (
    FOLDED_EVENT_TYPES,
    DuplicateDecisions,
    DuplicateDesk,
    Proposal,
)
from dispatch.model.dispatch_events import DuplicateProposed, DuplicateSearchMarked
from dispatch.model.events import Event
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.vocabulary import IncidentStatus
from dispatch.ports import EnginePort

logger = logging.getLogger(__name__)

HEAD, READY, PROPOSED, MARK, START, SAVED, FOLDED = 0, 1, 2, 3, 4, 5, 6

#: The environment variable that tells the child its database and its intervals.
ENVIRONMENT = "NG112_DUPLICATE_SEARCH"

#: The search yields the processor to the engine's loop and the call fronts: a proposal
#: may come a little later in a surge, an acknowledgement may not.
NICENESS = 10
#: Bytes of notices the child may leave unread before more are dropped.
MAX_UNREAD_NOTICES = 64 * 1024
#: Log events between two saves of the child's desk (and a start that folded more saves
#: at once), so that a child started again folds only the log after its last save.
SAVE_EVERY = 200_000
#: How often at most the child says how far it has folded the log (for the lag gauge).
REPORT_EVERY_S = 1.0
#: Events of the folded types read from the log at once.
PAGE = 20_000
#: With no word from the engine for this long, the child looks at the log's end itself
#: (a commit whose notice was lost while it started).
IDLE_LOOK_S = 1.0

WireProposal = tuple[str, str, str, float, float, float, int | None]


# -- the child's core (no I/O) -------------------------------------------------------------


class SearchFollower:
    """A desk fed from the log, and the messages its folds make for the engine."""

    def __init__(self, desk: DuplicateDesk | None = None) -> None:
        self.desk = desk or DuplicateDesk()
        self._sent: set[IncidentId] = set()
        self._mark_asked = 0

    def replay(self, records: Sequence[Recorded]) -> None:
        """Fold events stored before the child started (recorded proposals applied)."""
        replay = self.desk.replay
        for seq, event in records:
            replay(event, seq)

    def finish_replay(self, through: int) -> None:
        """The log up to ``through`` is folded; calls after the mark were searched."""
        self.desk.folded_through = max(self.desk.folded_through, through)
        self.desk.finish_replay()

    def fold(self, records: Sequence[Recorded], through: int) -> None:
        """Fold committed events of the desk's types; the log is read up to ``through``."""
        desk = self.desk
        apply = desk.apply
        for seq, event in records:
            apply(event, seq)
        desk.folded_through = max(desk.folded_through, through)

    def messages(self) -> list[list[Any]]:
        """What the engine should record now: new proposals, then a mark if one is due."""
        desk = self.desk
        searched = desk.folded_through
        due = desk.due()
        out: list[list[Any]] = []
        fresh = [p for p in due if p.incident_id not in self._sent]
        if fresh:
            out.append([PROPOSED, searched, [_wire(p) for p in fresh]])
        self._sent = {p.incident_id for p in due}
        if desk.mark_due() and self._mark_asked <= desk.recorded_mark:
            out.append([MARK, searched])
            self._mark_asked = searched
        return out


def _wire(proposal: Proposal) -> WireProposal:
    return (
        proposal.call_id,
        proposal.incident_id,
        proposal.candidate,
        proposal.distance_m,
        proposal.gate_m,
        proposal.score,
        proposal.plate,
    )


def recorded_events(message: Sequence[Any], now: datetime) -> list[Event]:
    """The events recording one message of the child (none for ``READY``)."""
    kind = message[0]
    if kind == PROPOSED:
        _kind, searched, proposals = message
        return [
            Proposal(
                call_id=CallId(call_id),
                incident_id=IncidentId(incident_id),
                candidate=IncidentId(candidate),
                distance_m=distance_m,
                gate_m=gate_m,
                score=score,
                plate=plate,
                call=None,
            ).event(now, searched)
            for call_id, incident_id, candidate, distance_m, gate_m, score, plate in proposals
        ]
    if kind == MARK:
        return [DuplicateSearchMarked(occurred_at=now, searched_through=message[1])]
    return []


# -- the child -------------------------------------------------------------------------------


class _Child:
    """The child's loop: fold the log at start, then follow the engine's notices."""

    def __init__(
        self, log: EventLog, sink: BinaryIO, follower: SearchFollower, save_every: int
    ) -> None:
        self.log = log
        self.sink = sink
        self.follower = follower
        self.save_every = save_every
        self.saved_seq = 0
        self.reported: tuple[int, float] = (0, 0.0)
        self.head = 0
        self.notice = asyncio.Event()
        self.ended = False
        self.started: asyncio.Future[tuple[int, bytes | None]] = (
            asyncio.get_running_loop().create_future()
        )

    def send(self, message: list[Any]) -> None:
        self.sink.write(frame(message))

    async def start(self) -> int:
        """Restore the desk the engine kept (if any), fold the log after it; ``READY``."""
        seq, payload = await self.started
        follower, desk = self.follower, self.follower.desk
        if payload is not None and restore_desk(desk, payload):
            self.saved_seq = seq
        head = await self.log.last_seq()
        desk.begin_replay(
            await self.log.last_of_type(DuplicateProposed.event_type),
            await self.log.last_of_type(DuplicateSearchMarked.event_type),
        )
        after = restored = self.saved_seq
        while after < head:
            page = await self.log.read_types(after, head, FOLDED_EVENT_TYPES, PAGE)
            follower.replay(page)
            after = page[-1].seq if len(page) == PAGE else head
        follower.finish_replay(head)
        self.send([READY, head, restored])
        self.save(head)
        self.flush()
        return head

    def save(self, folded: int) -> None:
        """Send the desk to the engine when enough of the log has been folded since."""
        if folded - self.saved_seq >= self.save_every:
            self.send([SAVED, folded, saved_desk(self.follower.desk)])
            self.saved_seq = folded

    def flush(self) -> None:
        for message in self.follower.messages():
            self.send(message)
        self.sink.flush()

    def report(self, folded: int) -> None:
        """Say how far the log is folded, when it moved and a report is due."""
        seq, at = self.reported
        now = time.monotonic()
        if folded != seq and now - at >= REPORT_EVERY_S:
            self.send([FOLDED, folded])
            self.sink.flush()
            self.reported = (folded, now)

    async def listen(self, reader: asyncio.StreamReader) -> None:
        while (message := await next_frame(reader)) is not None:
            if message[0] == HEAD:
                self.head = max(self.head, int(message[1]))
                self.notice.set()
            elif message[0] == START and not self.started.done():
                self.started.set_result((int(message[1]), message[2]))
        self.ended = True  # the engine closed our input: it is stopping
        self.notice.set()
        if not self.started.done():
            self.started.set_result((0, None))

    async def follow(self) -> None:
        folded = await self.start()
        self.head = max(self.head, folded)
        while not self.ended:
            try:
                await asyncio.wait_for(self.notice.wait(), IDLE_LOOK_S)
            except TimeoutError:
                self.head = max(self.head, await self.log.last_seq())
            self.notice.clear()
            while folded < self.head:
                through = self.head
                page = await self.log.read_types(folded, through, FOLDED_EVENT_TYPES, PAGE)
                if len(page) == PAGE:
                    through = page[-1].seq
                self.follower.fold(page, through)
                folded = through
                self.save(folded)
                self.flush()
            self.report(folded)


def saved_desk(desk: DuplicateDesk) -> bytes:
    """The desk as the child sends it to be kept (its snapshot, pickled with its version)."""
    return pickle.dumps((desk.snapshot_version, desk.snapshot()), pickle.HIGHEST_PROTOCOL)


def restore_desk(desk: DuplicateDesk, payload: bytes) -> bool:
    """Restore a desk :func:`saved_desk` sent (``False``, untouched, if another version's)."""
    version, snapshot = pickle.loads(payload)  # noqa: S301 - our own child's, kept in our log
    if version != desk.snapshot_version:
        return False
    desk.restore(snapshot)
    return True


async def _child_main(
    url: str, schema: str | None, mark_every: int, save_every: int, sink: BinaryIO
) -> None:
    db = create_engine(url, schema=schema)
    follower = SearchFollower(DuplicateDesk(mark_every=mark_every))
    child = _Child(EventLog(db), sink, follower, save_every)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", buffering=0)
    )
    listening = asyncio.create_task(child.listen(reader))
    try:
        await child.follow()
    finally:
        listening.cancel()
        await db.dispose()


def main(environ: Mapping[str, str] | None = None) -> int:
    """The child: ``[db_url, db_schema, mark_every, save_every]`` as JSON in
    :data:`ENVIRONMENT`."""
    url, schema, mark_every, save_every = msgspec.json.decode((environ or os.environ)[ENVIRONMENT])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Frames own the real stdout; anything a library prints goes to stderr instead.
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.nice(NICENESS)
    with sink:
        asyncio.run(_child_main(url, schema, int(mark_every), int(save_every), sink))
    return 0


# -- the engine's side ------------------------------------------------------------------------


class SearchProcess(SupervisedChild):
    """The child process of the search, started again when it dies until it is stopped."""

    def __init__(
        self,
        db_url: str,
        db_schema: str | None,
        intervals: tuple[int, int],
        on_message: Callable[[list[Any]], None],
        saved: Callable[[], tuple[int, bytes] | None],
    ) -> None:
        # The URL may hold a password: the environment, unlike the arguments, is the user's.
        mark_every, save_every = intervals
        settings = [db_url, db_schema, mark_every, save_every]
        env = {**os.environ, ENVIRONMENT: msgspec.json.encode(settings).decode()}
        super().__init__(
            [sys.executable, "-m", "dispatch.app.duplicate_search"], "duplicate search", env=env
        )
        self._on_message = on_message
        self._saved = saved
        #: set while a child has folded the log and follows it
        self.up = asyncio.Event()
        #: the last ``READY``: ``(seq folded through, seq of the desk it was restored at)``
        self.last_start: tuple[int, int] | None = None
        #: how far the running child has said it folded the log (0: none running)
        self.folded_through = 0
        #: set whenever the child says how far it has folded
        self.reported = asyncio.Event()

    def greeting(self) -> Any:
        """``START`` with the desk the engine keeps for the child, if any."""
        saved = self._saved()
        return [START, *saved] if saved is not None else [START, 0, None]

    def received(self, message: Any) -> None:
        """A message of the child, for the service."""
        if message[0] in (READY, FOLDED):
            self.folded_through = int(message[1])
            self.reported.set()
        if message[0] == READY:
            self.up.set()
            self.last_start = (message[1], message[2])
            logger.info(
                "duplicate search ready: the log folded up to seq %d, from a desk saved at %d",
                message[1],
                message[2],
            )
        self._on_message(message)

    def ended(self) -> None:
        """Not following the log any more."""
        self.up.clear()
        self.folded_through = 0

    def notify(self, head: int) -> None:
        """Tell the child the log holds events up to ``head``.

        A notice is only a wake-up: one is dropped while no child runs (a child reads the
        log's end when it starts) or while the child has not read the earlier ones (a
        later notice, or its own look after a quiet second, brings it up to date).
        """
        if self.buffered_bytes() < MAX_UNREAD_NOTICES:
            self.send([HEAD, head])


class ProcessDuplicatesService(DuplicateDecisions):
    """Duplicates with the search in a child process; the loop keeps a ledger."""

    def __init__(
        self,
        engine: EnginePort,
        *,
        db_url: str,
        db_schema: str | None = None,
        mark_every: int = DuplicateDesk.MARK_EVERY,
        save_every: int = SAVE_EVERY,
    ) -> None:
        super().__init__(engine)
        self.ledger = ProposalLedger(self._status_of)
        self.book = self.ledger
        self.process = SearchProcess(
            db_url,
            db_schema,
            (mark_every, save_every),
            self._arrived,
            lambda: self.ledger.search_desk,
        )
        #: set each time the child sends its desk to be kept
        self.saved = asyncio.Event()
        self._waiting: list[list[Any]] = []
        """The child's messages not yet recorded, in the order sent."""
        self._lock = asyncio.Lock()
        engine.subscribe(self._on_commit, snapshot=self.ledger)

    def _status_of(self, incident_id: IncidentId) -> IncidentStatus | None:
        incident = self.engine.state.incidents.get(incident_id)
        return incident.status if incident is not None else None

    def _on_commit(self, batch: Sequence[Recorded]) -> None:
        self.ledger.apply_batch(batch)
        if batch:
            self.process.notify(batch[-1].seq)

    def _arrived(self, message: list[Any]) -> None:
        if message[0] in (PROPOSED, MARK):
            self._waiting.append(message)
            self.wake.set()
        elif message[0] == SAVED:
            self.ledger.search_desk = (int(message[1]), bytes(message[2]))
            self.saved.set()

    @property
    def waiting(self) -> int:
        """Messages of the child not yet recorded."""
        return len(self._waiting)

    def lag_events(self) -> int:
        """Log events the search has not folded yet, as far as it last said (the whole
        log while no child follows it)."""
        return max(0, self.engine.state.last_seq - self.process.folded_through)

    def next_deadline(self) -> datetime | None:
        """What the child sent is recorded at once."""
        return self.engine.clock.now() if self._waiting else None

    async def tick(self, now: datetime) -> list[Recorded]:
        """Record the child's proposals and marks, in the order sent (each once)."""
        async with self._lock:
            taken = list(self._waiting)
            if not taken:
                return []
            events = [e for message in taken for e in recorded_events(message, now)]
            try:
                recorded = await self.engine.record(events)
            except DuplicateKey:  # some were recorded before (a child started again)
                recorded = []
                for event in events:
                    with contextlib.suppress(DuplicateKey):
                        recorded += await self.engine.record([event])
            del self._waiting[: len(taken)]
            return recorded


def install(app: web.Application, service: ProcessDuplicatesService) -> None:
    """Run the service's child while the application runs."""

    async def lifespan(_app: web.Application) -> AsyncIterator[None]:
        service.process.start()
        try:
            yield
        finally:
            await service.process.stop()

    app.cleanup_ctx.append(lifespan)


if __name__ == "__main__":
    sys.exit(main())
