"""Call-taking in the running engine: one queue per centre, operators, answer times, overflow.

Two halves, both over the engine's ports (no HTTP here):

- :class:`CallTakingFold`, a projection fed every committed event in order (live and, at
  start, the whole log), keeps one :class:`~dispatch.core.call_queue.CallQueues` per centre
  (the 81 provincial centres and ``"central"``), each call's place, the answer clock and
  the nuisance register. It is the only code that changes them, and it decides
  deterministically from the log: replaying the log rebuilds the same queues.
- :class:`CallTaking`, the command side: an operator's request is checked against the fold,
  committed as an event through ``engine.record`` and only then answered; the fold has
  applied it by the time ``record`` returns.

Where a call waits. A new call (``CallReceived``) waits at its centre, needing Turkish plus
``text`` for text chat or only ``tid`` for sign-language video, in priority order (eCalls
and panic alarms first). If its centre is out of service or overloaded, or its queue is
full, it overflows (:func:`~dispatch.core.overflow.choose_centre`) to the configured
neighbours; it is never dropped (with every queue full it is held and re-offered as room
appears) and its province is never forgotten: it is handed back when the centre recovers.
A call the language desk routes to the central desk (``CallRoutedToDesk``) waits there for
its language (or the fallback, with the reason visible); a correction
(``CallRoutedToProvince``, or a call-taker's flag of the home language) sends it home. A
case handed back by the desk (``CaseHandedBack``) waits at the province of the incident
with its original start, so the wait and the answer clock continue.

Times. Queue times are the events' own ``occurred_at`` (POSIX seconds), never a clock read
inside the fold; answer times (NENA-STA-020.1) are ``CallAnswered.occurred_at`` minus the
call's first offer, per answering centre and channel.

Archive. ``IncidentArchived`` drops everything the fold keeps about the incident and its
calls (records, queue places, held places, answer clocks, the caller number kept for a
nuisance disposition): afterwards they are unknown here, and later events about them are
ignored like events about any unknown call. A call an operator still holds stays on the
operator until they wrap up (operators, not calls, bound that). The answer-time figures
and the nuisance register are kept: they cover periods and numbers, not incidents.

Snapshots. The fold is a :class:`~dispatch.ports.Snapshotting` participant:
:meth:`CallTakingFold.snapshot` gives its state as plain values (:class:`SavedCallTaking`)
and :meth:`CallTakingFold.restore` puts it back, so a restored fold decides exactly as the
saved one would from the next event on. Settings are not saved: the fold restored keeps
its own (as a full fold would use them).

Errors (this module)::

    CallTakingError
     ├── UnknownCentre          no such centre
     ├── NotPermitted           the principal's role or scope does not allow the request
     ├── OperatorRefused        the operator's state does not allow the request
     └── CallRefused            the call is not in a state for the request
          └── UnknownCall       no call in progress has this id

Messages never echo caller data.
"""

from __future__ import annotations

import asyncio
import copy
import enum
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from dispatch.core.answer_times import (
    AnswerClock,
    AnswerTimeError,
    AnswerTimes,
    AnswerTimeStats,
    SavedAnswerTimes,
    SavedClock,
)
from dispatch.core.call_queue import (
    SIGN_LANGUAGE,
    TEXT,
    CallQueueError,
    CallQueues,
    OperatorState,
    OperatorView,
    QueuedCall,
    QueueSettings,
    QueueSnapshot,
    SavedQueue,
    WaitingEntry,
    check_language,
)
from dispatch.core.decide import Action, IncidentAction
from dispatch.core.nuisance import NuisanceFlag, NuisanceRegister
from dispatch.core.overflow import (
    CentreCondition,
    CentreStatus,
    ChoiceReason,
    OverflowSettings,
    WaitingAway,
    calls_to_hand_back,
    pick_centre,
    rings,
)
from dispatch.model.call_taking_events import (
    CallAnswered,
    CallRoutedToDesk,
    CallRoutedToProvince,
    CallWrappedUp,
    CaseHandedBack,
    CentreStatusChanged,
    LanguageDetected,
    LanguageFlagged,
    NextCallRequested,
    OperatorLoggedIn,
    OperatorLoggedOut,
    OperatorNotReady,
    OperatorReady,
)
from dispatch.model.centres import ALL_CENTRES, CENTRAL_DESK, centre_plate, is_known_centre
from dispatch.model.codec import decode_event, encode_event
from dispatch.model.events import (
    CallAttached,
    CallReceived,
    CallStatusChanged,
    Event,
    IncidentArchived,
    IncidentStatusChanged,
)
from dispatch.model.ids import CallId, CentreId, IncidentId, OperatorId
from dispatch.model.vocabulary import CallStatus, Channel, IncidentStatus, Role, UnfoundedReason

if TYPE_CHECKING:
    from dispatch.core.projections import Recorded
    from dispatch.model.access import Principal
    from dispatch.ports import EnginePort

logger = logging.getLogger(__name__)

#: What a call-taker's flag says when they only know the caller does not speak Turkish.
FOREIGN_FLAG = "foreign"
#: The language code of a caller flagged foreign whose language nobody knows yet.
UNDETERMINED = "und"


# -- errors ------------------------------------------------------------------------------


class CallTakingError(Exception):
    """Root of the call-taking service's refusals."""


class UnknownCentre(CallTakingError):  # noqa: N818 - names the refusal
    """The centre id names none of the 82 centres."""


class NotPermitted(CallTakingError):  # noqa: N818 - names the refusal
    """The principal's role or scope does not allow the request."""


class OperatorRefused(CallTakingError):  # noqa: N818 - names the refusal
    """The operator's state does not allow the request."""


class CallRefused(CallTakingError):  # noqa: N818 - names the refusal
    """The call is not in a state for the request."""


class UnknownCall(CallRefused):
    """No call in progress has this id."""


# -- settings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTakingSettings:
    """How the centres' queues behave; settings, not code (``[call_taking]``)."""

    max_waiting: int = 1_000
    """The most calls one centre holds; one more overflows."""
    overload_depth: int = 20
    """A centre with more calls waiting than this counts as overloaded for new calls."""
    max_rings: int = 2
    fallback_order: tuple[str, ...] = ("en",)
    home_language: str = "tr"
    neighbours: Mapping[CentreId, tuple[CentreId, ...]] = field(default_factory=dict)
    """``centre -> neighbour centres, best first`` for overflow."""
    nuisance_threshold: int = 3
    nuisance_window: timedelta = timedelta(hours=24)

    def queue_settings(self) -> QueueSettings:
        """The per-centre queue settings."""
        return QueueSettings(max_waiting=self.max_waiting, fallback_order=self.fallback_order)

    def overflow_settings(self) -> OverflowSettings:
        """The overflow settings."""
        return OverflowSettings(overload_depth=self.overload_depth, max_rings=self.max_rings)


# -- the fold ----------------------------------------------------------------------------


class CallState(enum.StrEnum):
    """Where a call is in call-taking."""

    WAITING = "waiting"
    HELD = "held"
    """Every reachable queue was full: held until room appears (never dropped)."""
    ASSIGNED = "assigned"
    ANSWERED = "answered"


#: A :class:`CallRecord` as plain values, its fields in order with the verdict and the case
#: as event payloads: a tuple of values and bytes pickles fast (a record or an event would
#: pickle field by field). The flag is a value never changed once made, so it is shared.
SavedRecord: TypeAlias = tuple[
    CallId,
    IncidentId,
    Channel,
    CentreId,
    int | None,
    datetime,
    float,
    str,
    str | None,
    CallState,
    CentreId | None,
    CentreId | None,
    str,
    OperatorId | None,
    OperatorId | None,
    str | None,
    NuisanceFlag | None,
    bytes | None,
    bytes | None,
]


@dataclass(slots=True, kw_only=True)
class CallRecord:
    """What call-taking knows of one call in progress."""

    call_id: CallId
    incident_id: IncidentId
    channel: Channel
    province: CentreId
    """The centre of the call's province (of the incident after a hand-back)."""
    plate: int | None
    offered_at: datetime
    since: float
    language: str
    number: str | None = None
    state: CallState = CallState.WAITING
    centre: CentreId | None = None
    """Where the call waits or is handled now."""
    target: CentreId | None = None
    """Where it belongs now: its province, or the central desk for a foreign language."""
    placed_because: str = ChoiceReason.HOME.value
    operator: OperatorId | None = None
    interpreter: OperatorId | None = None
    desk_reason: str | None = None
    flag: NuisanceFlag | None = None
    verdict: LanguageDetected | None = None
    case: CaseHandedBack | None = None

    @property
    def at_desk(self) -> bool:
        """Whether the call belongs to the central desk now."""
        return self.target == CENTRAL_DESK and self.province != CENTRAL_DESK

    def save(self) -> SavedRecord:
        """The record as plain values (a copy: the record itself changes as the call goes)."""
        return (
            self.call_id,
            self.incident_id,
            self.channel,
            self.province,
            self.plate,
            self.offered_at,
            self.since,
            self.language,
            self.number,
            self.state,
            self.centre,
            self.target,
            self.placed_because,
            self.operator,
            self.interpreter,
            self.desk_reason,
            self.flag,
            encode_event(self.verdict) if self.verdict is not None else None,
            encode_event(self.case) if self.case is not None else None,
        )

    @classmethod
    def restored(cls, saved: SavedRecord) -> CallRecord:
        """The record :meth:`save` gave."""
        (
            call_id,
            incident_id,
            channel,
            province,
            plate,
            offered_at,
            since,
            language,
            number,
            state,
            centre,
            target,
            placed_because,
            operator,
            interpreter,
            desk_reason,
            flag,
            verdict,
            case,
        ) = saved
        return cls(
            call_id=call_id,
            incident_id=incident_id,
            channel=channel,
            province=province,
            plate=plate,
            offered_at=offered_at,
            since=since,
            language=language,
            number=number,
            state=state,
            centre=centre,
            target=target,
            placed_because=placed_because,
            operator=operator,
            interpreter=interpreter,
            desk_reason=desk_reason,
            flag=flag,
            verdict=_decoded(LanguageDetected, verdict),
            case=_decoded(CaseHandedBack, case),
        )


_E = TypeVar("_E", bound=Event)


def _decoded(kind: type[_E], payload: bytes | None) -> _E | None:
    """The event of type ``kind`` whose payload :func:`encode_event` gave, if any."""
    if payload is None:
        return None
    event = decode_event(kind.event_type, kind.schema_version, payload)
    if not isinstance(event, kind):  # pragma: no cover - the codec decodes as told
        raise TypeError("a saved payload decoded to another event type")
    return event


def _seconds(at: datetime) -> float:
    return at.timestamp()


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedCallTaking:
    """The call-taking fold's state as plain values (see :meth:`CallTakingFold.snapshot`).

    Only what the fold cannot work out again: centres' statuses and which have room follow
    from ``conditions`` and the queues, the calls waiting away grouped by home from ``away``.
    """

    last_seq: int
    refused: int
    conditions: dict[CentreId, CentreCondition]
    queues: dict[CentreId, SavedQueue]
    calls: tuple[SavedRecord, ...]
    """The calls in progress, in the order they came."""
    operators: dict[OperatorId, CentreId]
    answer_times: SavedAnswerTimes
    clocks: dict[CallId, SavedClock]
    nuisance: NuisanceRegister
    """A copy of the register."""
    held: tuple[CallId, ...]
    away: dict[CallId, CentreId]
    by_incident: dict[IncidentId, tuple[CallId, ...]]
    numbers: tuple[tuple[IncidentId, str], ...]


class CallTakingFold:
    """The queues of every centre, folded from the log (see the module docstring)."""

    snapshot_name: str = "dispatch.call_taking"
    snapshot_version: int = 1

    def __init__(self, settings: CallTakingSettings | None = None) -> None:
        self.settings = settings if settings is not None else CallTakingSettings()
        queue_settings = self.settings.queue_settings()
        self.overflow = self.settings.overflow_settings()
        self._rings: dict[CentreId, list[CentreId]] = {}
        """Each centre's overflow rings (configuration only: computed once per centre)."""
        self.conditions: dict[CentreId, CentreCondition] = {}
        self._statuses: dict[CentreId, CentreStatus] = {}
        """Each centre's status as :func:`pick_centre` reads it, kept as depths and marks
        change (an administrator's "overloaded" counts as deeper than ``overload_depth``)."""
        self._interned: dict[tuple[bool, int], CentreStatus] = {}
        """Statuses are values: one object per (in service, depth) seen, made once."""
        self._open: set[CentreId] = set()
        """Centres with room that are not out of service: where a call goes when the
        overflow choice is full. Empty when every queue is full, so such a call is held
        without looking at each centre."""
        self.queues: dict[CentreId, CallQueues] = {
            centre: CallQueues(centre=centre, settings=queue_settings, on_depth=self._refresh)
            for centre in ALL_CENTRES
        }
        for centre in self.queues:
            self._refresh(centre, 0)
        self.calls: dict[CallId, CallRecord] = {}
        self.operators: dict[OperatorId, CentreId] = {}
        self.answer_times = AnswerTimes()
        self.clock = AnswerClock(self.answer_times)
        self.nuisance = NuisanceRegister(
            window=self.settings.nuisance_window, threshold=self.settings.nuisance_threshold
        )
        self.held: OrderedDict[CallId, None] = OrderedDict()
        self._away: dict[CallId, CentreId] = {}
        """Calls waiting away from where they belong, with that centre (their home)."""
        self._away_by_home: dict[CentreId, dict[CallId, None]] = {}
        """The same calls grouped by home: a hand-back looks only at homes with room."""
        self.last_seq = 0
        self.refused = 0
        """Events the fold could not apply (logged): a state that moved on meanwhile."""
        self._by_incident: dict[IncidentId, list[CallId]] = {}
        self._numbers: OrderedDict[IncidentId, str] = OrderedDict()
        self._handlers: dict[type[Event], Callable[[Event], None]] = {
            CallReceived: self._call_received,
            CallStatusChanged: self._call_status,
            CallAttached: self._call_attached,
            IncidentStatusChanged: self._incident_status,
            OperatorLoggedIn: self._logged_in,
            OperatorLoggedOut: self._logged_out,
            OperatorReady: self._ready,
            OperatorNotReady: self._not_ready,
            NextCallRequested: self._next_call,
            CallAnswered: self._answered,
            CallWrappedUp: self._wrapped_up,
            LanguageFlagged: self._flagged,
            LanguageDetected: self._detected,
            CallRoutedToDesk: self._routed_to_desk,
            CallRoutedToProvince: self._routed_to_province,
            CaseHandedBack: self._handed_back,
            CentreStatusChanged: self._centre_status,
            IncidentArchived: self._archived,
        }

    # -- feeding -------------------------------------------------------------------------

    def apply(self, records: Sequence[Recorded]) -> None:
        """Fold a committed batch (the engine's subscriber); never raises on a stale event."""
        for record in records:
            if record.seq <= self.last_seq:
                continue  # already folded (a replay of what the live feed gave)
            self.last_seq = record.seq
            handler = self._handlers.get(type(record.event))
            if handler is None:
                continue
            try:
                handler(record.event)
            except (CallQueueError, CallTakingError, AnswerTimeError, ValueError) as exc:
                # the log is the truth: an event the fold cannot apply (a second login
                # committed by a racing engine, say) is counted, never a failed start
                self.refused += 1
                logger.warning(
                    "call-taking could not apply %s (seq %d): %s",
                    record.event.event_type,
                    record.seq,
                    type(exc).__name__,
                )

    # -- snapshots -----------------------------------------------------------------------

    def snapshot(self) -> SavedCallTaking:
        """The fold's state after the last folded event, sharing nothing mutable with it."""
        return SavedCallTaking(
            last_seq=self.last_seq,
            refused=self.refused,
            conditions=dict(self.conditions),
            queues={centre: queues.save() for centre, queues in self.queues.items()},
            calls=tuple(record.save() for record in self.calls.values()),
            operators=dict(self.operators),
            answer_times=self.answer_times.save(),
            clocks=self.clock.save(),
            nuisance=copy.deepcopy(self.nuisance),
            held=tuple(self.held),
            away=dict(self._away),
            by_incident={incident: tuple(calls) for incident, calls in self._by_incident.items()},
            numbers=tuple(self._numbers.items()),
        )

    def restore(self, state: object) -> None:
        """Replace the fold's state with one :meth:`snapshot` gave."""
        if not isinstance(state, SavedCallTaking):
            raise TypeError("not a call-taking snapshot")
        self.last_seq = state.last_seq
        self.refused = state.refused
        self.conditions = dict(state.conditions)
        empty = SavedQueue(next_seq=0, waiting=(), operators=(), handled=())
        for centre, queues in self.queues.items():
            queues.restore(state.queues.get(centre, empty))  # refreshes the centre's status
        self.calls = {}
        for saved in state.calls:
            record = CallRecord.restored(saved)
            self.calls[record.call_id] = record
        self.operators = dict(state.operators)
        self.answer_times.restore(state.answer_times)
        self.clock.restore(state.clocks)
        self.nuisance = state.nuisance
        self.held = OrderedDict.fromkeys(state.held)
        self._away = {}
        self._away_by_home = {}
        for call_id, home in state.away.items():
            self._away[call_id] = home
            self._away_by_home.setdefault(home, {})[call_id] = None
        self._by_incident = {incident: list(calls) for incident, calls in state.by_incident.items()}
        self._numbers = OrderedDict(state.numbers)

    # -- reading -------------------------------------------------------------------------

    def condition(self, centre: CentreId) -> CentreCondition:
        """The administrator's mark of a centre (in service by default)."""
        return self.conditions.get(centre, CentreCondition.IN_SERVICE)

    def operator_view(self, operator: OperatorId) -> OperatorView | None:
        """The operator's state, ``None`` when not logged in."""
        centre = self.operators.get(operator)
        if centre is None:
            return None
        for view in self.queues[centre].operators():
            if view.operator_id == operator:
                return view
        return None  # pragma: no cover - operators and queues are kept together

    def call_of(self, operator: OperatorId) -> CallRecord | None:
        """The call an operator holds now, if any."""
        view = self.operator_view(operator)
        if view is None or view.call_id is None:
            return None
        return self.calls.get(view.call_id)

    def queue_snapshot(self, centre: CentreId, now: datetime) -> QueueSnapshot:
        """Depths, oldest wait and operators of one centre."""
        return self.queues[centre].snapshot(_seconds(now))

    def waiting(self, centre: CentreId, now: datetime, limit: int) -> list[WaitingEntry]:
        """The calls waiting at a centre in serving order."""
        return self.queues[centre].waiting(_seconds(now), limit=limit)

    def answer_stats(
        self, centre: CentreId | None = None, channel: Channel | None = None
    ) -> AnswerTimeStats:
        """NENA answer-time figures for a centre and/or channel."""
        return self.answer_times.stats(centre=centre, channel=channel)

    # -- placing calls -------------------------------------------------------------------

    def _queued(self, record: CallRecord) -> QueuedCall:
        language = record.language if record.at_desk else self.settings.home_language
        return QueuedCall(
            call_id=record.call_id,
            channel=record.channel,
            language=language,
            since=record.since,
            home_centre=record.province,
        )

    def _refresh(self, centre: CentreId, depth: int) -> None:
        """Note a centre's depth (its queue tells every change) or mark (after a change)."""
        condition = self.conditions.get(centre, CentreCondition.IN_SERVICE)
        in_service = condition is not CentreCondition.OUT_OF_SERVICE
        shown = depth
        if condition is CentreCondition.OVERLOADED:
            shown += self.overflow.overload_depth + 1
        key = (in_service, shown)
        status = self._interned.get(key)
        if status is None:
            status = self._interned[key] = CentreStatus(in_service=in_service, queue_depth=shown)
        self._statuses[centre] = status
        if in_service and depth < self.settings.max_waiting:
            self._open.add(centre)
        else:
            self._open.discard(centre)

    def _choice(self, target: CentreId) -> tuple[CentreId, str]:
        """Where the overflow rule sends a call that belongs to ``target``, and why."""
        ringed = self._rings.get(target)
        if ringed is None:
            ringed = rings(target, self.settings.neighbours, self.overflow.max_rings)
            self._rings[target] = ringed
        centre, reason = pick_centre(target, self._statuses, ringed, self.overflow.overload_depth)
        return centre, reason.value

    def _with_room(self, target: CentreId) -> CentreId | None:
        """The first centre with room not out of service: ``target``, its neighbours, any.

        Asked when the overflow choice is full (so it is not among them).
        """
        room = self._open
        if not room:
            return None
        if target in room:
            return target
        for centre in self.settings.neighbours.get(target, ()):
            if centre in room:
                return centre
        for centre in self.queues:
            if centre in room:
                return centre
        return None  # pragma: no cover - every centre with room is one of the queues

    def _place(self, record: CallRecord) -> None:
        """Offer the call to the best centre for its target; hold it if every queue is full.

        The overflow choice first; if its queue is full, the target itself, its neighbours
        and then every other centre in service with room; else the call is held.
        """
        target = record.target or record.province
        queued = self._queued(record)
        centre, reason = self._choice(target)
        queues = self.queues[centre]
        if queues.full and not queues.holds(record.call_id):  # offering would be QueueFull
            elsewhere = self._with_room(target)
            if elsewhere is None:
                self._hold(record)
                return
            centre, reason = elsewhere, "queue_full"
            queues = self.queues[centre]
        queues.put(queued)
        self._placed_at(record, centre, reason)

    def _placed_at(self, record: CallRecord, centre: CentreId, reason: str) -> None:
        """The call waits at ``centre`` now (it is in that queue), for ``reason``."""
        record.state = CallState.WAITING
        self._wait_at(record, centre)
        record.placed_because = reason
        self.held.pop(record.call_id, None)
        self.clock.offered(
            record.call_id, centre=centre, channel=record.channel, at=record.offered_at
        )

    def _hold(self, record: CallRecord) -> None:
        """Every queue the call may go to is full: it is held, after those held before it."""
        record.state = CallState.HELD
        self._wait_at(record, None)
        record.placed_because = "all_queues_full"
        self.held[record.call_id] = None

    def _wait_at(self, record: CallRecord, centre: CentreId | None) -> None:
        """Note where the call is now, and whether it waits away from where it belongs."""
        record.centre = centre
        home = record.target or record.province
        if record.state is CallState.WAITING and centre is not None and centre != home:
            before = self._away.get(record.call_id)
            if before != home:
                if before is not None:
                    self._not_away(record.call_id)
                self._away[record.call_id] = home
                self._away_by_home.setdefault(home, {})[record.call_id] = None
        else:
            self._not_away(record.call_id)

    def _not_away(self, call_id: CallId) -> None:
        home = self._away.pop(call_id, None)
        if home is not None:
            calls = self._away_by_home[home]
            del calls[call_id]
            if not calls:
                del self._away_by_home[home]

    def _take_out(self, record: CallRecord) -> bool:
        """Take a waiting or held call out of its queue; False if someone holds it."""
        if record.state is CallState.WAITING and record.centre is not None:
            self.queues[record.centre].withdraw(record.call_id)
            self._not_away(record.call_id)
            return True
        if record.state is CallState.HELD:
            self.held.pop(record.call_id, None)
            return True
        return False

    def _move(self, record: CallRecord, target: CentreId) -> None:
        """The call belongs to ``target`` now; a waiting call moves there, keeping its start."""
        record.target = target
        if self._take_out(record):
            self._place(record)

    def _re_offer_held(self) -> None:
        """Offer held calls again, oldest first, until one is still held.

        A placed call leaves ``held`` and one still held keeps its place, so taking the
        first each time walks them in order without copying them.
        """
        held = self.held
        while held:
            call_id = next(iter(held))
            record = self.calls.get(call_id)
            if record is None:
                del held[call_id]
                continue
            self._place(record)
            if record.state is CallState.HELD:
                break

    def _hand_back_overflowed(self) -> None:
        """Overflowed calls go back to their centre when it can take them again.

        Only the calls of homes in service with room are looked at: the others would take
        nothing back (:func:`calls_to_hand_back`).
        """
        depth_limit = self.overflow.overload_depth
        candidates = [
            call_id
            for home, calls in self._away_by_home.items()
            if (status := self._statuses.get(home)) is not None
            and status.in_service
            and status.queue_depth < depth_limit
            for call_id in calls
        ]
        if candidates:
            self._hand_back(candidates, self._statuses)

    def _hand_back(
        self, call_ids: Iterable[CallId], statuses: Mapping[CentreId, CentreStatus]
    ) -> None:
        """Hand back what :func:`calls_to_hand_back` says of these overflowed calls."""
        away = []
        for call_id in call_ids:
            record = self.calls[call_id]
            if record.centre is not None:
                away.append(
                    WaitingAway(
                        call_id=call_id,
                        home=record.target or record.province,
                        at=record.centre,
                        since=record.since,
                    )
                )
        for order in calls_to_hand_back(away, statuses, self.overflow):
            record = self.calls[order.call_id]
            self.queues[order.from_centre].withdraw(order.call_id)
            self.queues[order.to_centre].put(self._queued(record))
            self._wait_at(record, order.to_centre)
            record.placed_because = "handed_back_on_recovery"
            self.clock.offered(
                record.call_id, centre=order.to_centre, channel=record.channel, at=record.offered_at
            )

    def _end(self, record: CallRecord) -> None:
        self.calls.pop(record.call_id, None)
        self.held.pop(record.call_id, None)
        self._not_away(record.call_id)
        self.clock.ended(record.call_id)
        calls = self._by_incident.get(record.incident_id)
        if calls is not None and record.call_id in calls:
            calls.remove(record.call_id)
            if not calls:
                del self._by_incident[record.incident_id]

    # -- handlers ------------------------------------------------------------------------

    def _call_received(self, event: Event) -> None:
        assert isinstance(event, CallReceived)  # noqa: S101 - dispatch table guarantees it
        if event.call_id in self.calls:  # a call id reused while the call is in progress
            raise CallRefused("the call is in progress already")
        province = event.centre if is_known_centre(event.centre) else CENTRAL_DESK
        record = CallRecord(
            call_id=event.call_id,
            incident_id=event.incident_id,
            channel=event.channel,
            province=province,
            plate=event.plate,
            offered_at=event.occurred_at,
            since=_seconds(event.occurred_at),
            language=self.settings.home_language,
            number=event.caller.number,
            target=province,
        )
        record.flag = self.nuisance.flag_for(event.caller.number, event.occurred_at)
        self.calls[event.call_id] = record
        self._by_incident.setdefault(event.incident_id, []).append(event.call_id)
        if event.caller.number:
            self._numbers[event.incident_id] = event.caller.number
            while len(self._numbers) > self.nuisance.max_numbers:
                self._numbers.popitem(last=False)
        self._place(record)

    def _call_status(self, event: Event) -> None:
        assert isinstance(event, CallStatusChanged)  # noqa: S101
        record = self.calls.get(event.call_id)
        if record is None or event.status not in {CallStatus.ABANDONED, CallStatus.ENDED}:
            return
        if self._take_out(record):
            self.clock.abandoned(record.call_id, at=event.occurred_at)
            self._end(record)
            self._re_offer_held()

    def _call_attached(self, event: Event) -> None:
        assert isinstance(event, CallAttached)  # noqa: S101
        record = self.calls.get(event.call_id)
        if record is None or record.incident_id == event.incident_id:
            return
        old = self._by_incident.get(record.incident_id, [])
        if event.call_id in old:
            old.remove(event.call_id)
        record.incident_id = event.incident_id
        self._by_incident.setdefault(event.incident_id, []).append(event.call_id)

    def _incident_status(self, event: Event) -> None:
        assert isinstance(event, IncidentStatusChanged)  # noqa: S101
        if event.status is not IncidentStatus.UNFOUNDED or event.unfounded_reason is None:
            return
        number = self._numbers.get(event.incident_id)
        self.nuisance.record(number, UnfoundedReason(event.unfounded_reason), event.occurred_at)

    def _logged_in(self, event: Event) -> None:
        assert isinstance(event, OperatorLoggedIn)  # noqa: S101
        if event.operator in self.operators:
            raise OperatorRefused("the operator is logged in already")
        self.queues[event.centre].log_in(event.operator, event.skills, _seconds(event.occurred_at))
        self.operators[event.operator] = event.centre

    def _logged_out(self, event: Event) -> None:
        assert isinstance(event, OperatorLoggedOut)  # noqa: S101
        centre = self.operators.get(event.operator)
        if centre is None:
            return
        self.queues[centre].log_out(event.operator)
        del self.operators[event.operator]

    def _ready(self, event: Event) -> None:
        assert isinstance(event, OperatorReady)  # noqa: S101
        centre = self.operators.get(event.operator, event.centre)
        self.queues[centre].set_ready(event.operator, _seconds(event.occurred_at))

    def _not_ready(self, event: Event) -> None:
        assert isinstance(event, OperatorNotReady)  # noqa: S101
        centre = self.operators.get(event.operator, event.centre)
        self.queues[centre].set_not_ready(event.operator, _seconds(event.occurred_at))

    def _next_call(self, event: Event) -> None:
        assert isinstance(event, NextCallRequested)  # noqa: S101
        centre = self.operators.get(event.operator, event.centre)
        assignment = self.queues[centre].next_call_for(event.operator, _seconds(event.occurred_at))
        if assignment is None:
            return
        record = self.calls.get(assignment.call.call_id)
        if record is None:  # pragma: no cover - every queued call has a record
            return
        record.state = CallState.ASSIGNED
        record.operator = event.operator
        self._wait_at(record, centre)
        self._re_offer_held()
        self._hand_back_overflowed()

    def _answered(self, event: Event) -> None:
        assert isinstance(event, CallAnswered)  # noqa: S101
        record = self.calls.get(event.call_id)
        if record is None or record.operator != event.operator:
            raise OperatorRefused("the operator does not hold the call")
        record.state = CallState.ANSWERED
        self.clock.answered(record.call_id, at=event.occurred_at)

    def _wrapped_up(self, event: Event) -> None:
        assert isinstance(event, CallWrappedUp)  # noqa: S101
        centre = self.operators.get(event.operator, event.centre)
        self.queues[centre].wrap_up(event.operator, _seconds(event.occurred_at))
        record = self.calls.get(event.call_id)
        if record is None:
            return
        if record.interpreter == event.operator:
            record.interpreter = None
        if record.operator == event.operator:
            record.operator = None
            self._end(record)

    def _release(self, record: CallRecord, now: float) -> None:
        """The operator holding the call lets it go (it moves elsewhere); they go ready."""
        operator, centre = record.operator, record.centre
        if operator is None or centre is None:
            return
        queues = self.queues[centre]
        queues.decline(operator, now)
        queues.withdraw(record.call_id)
        queues.set_ready(operator, now)
        record.operator = None
        record.state = CallState.HELD  # taken out; _move places it again
        self.held[record.call_id] = None

    def _flagged(self, event: Event) -> None:
        assert isinstance(event, LanguageFlagged)  # noqa: S101
        record = self.calls.get(event.call_id)
        if record is None or record.case is not None:
            return  # a handed-back case stays in its province, its interpreter on the line
        flag = event.flag
        language = UNDETERMINED if flag == FOREIGN_FLAG else check_language(flag)
        if record.operator is not None and record.state in {
            CallState.ASSIGNED,
            CallState.ANSWERED,
        }:
            self._release(record, _seconds(event.occurred_at))
        if language == self.settings.home_language:
            record.language = language
            record.desk_reason = None
            self._move(record, record.province)
        else:
            record.language = language
            if language == UNDETERMINED:
                record.desk_reason = "language not determined; waiting for a fallback"
            self._move(record, CENTRAL_DESK)

    def _detected(self, event: Event) -> None:
        assert isinstance(event, LanguageDetected)  # noqa: S101
        record = self.calls.get(event.call_id)
        if record is not None:
            record.verdict = event

    def _routed_to_desk(self, event: Event) -> None:
        assert isinstance(event, CallRoutedToDesk)  # noqa: S101
        record = self.calls.get(event.call_id)
        if record is None or record.case is not None:
            return
        check_language(event.language)
        changed = record.language != event.language or not record.at_desk
        record.language = event.language
        record.desk_reason = event.reason
        if changed:
            self._move(record, CENTRAL_DESK)

    def _routed_to_province(self, event: Event) -> None:
        assert isinstance(event, CallRoutedToProvince)  # noqa: S101
        record = self.calls.get(event.call_id)
        if record is None or record.case is not None:
            return
        record.language = self.settings.home_language
        record.desk_reason = None
        if record.target != record.province:
            self._move(record, record.province)

    def _handed_back(self, event: Event) -> None:
        assert isinstance(event, CaseHandedBack)  # noqa: S101
        record = self.calls.get(event.call_id)
        if record is None:
            return
        record.case = event
        record.interpreter = record.operator
        record.operator = None
        record.province = event.to_centre
        record.plate = centre_plate(event.to_centre)
        record.language = self.settings.home_language
        record.desk_reason = None
        record.target = event.to_centre
        if record.state in {CallState.WAITING, CallState.HELD}:
            self._take_out(record)
        self._place(record)

    def _archived(self, event: Event) -> None:
        """Forget the incident and its calls (see the module docstring); figures stay."""
        assert isinstance(event, IncidentArchived)  # noqa: S101
        listed = self._by_incident.pop(event.incident_id, ())
        freed = False
        for call_id in dict.fromkeys((*event.calls, *listed)):
            record = self.calls.get(call_id)
            if record is None:
                continue
            waiting_here = (
                record.state is not CallState.WAITING
                or record.centre is None
                or self.queues[record.centre].is_waiting(call_id)
            )
            if waiting_here:  # else its queue let it go already: nothing to take out
                freed = self._take_out(record) or freed
            self._end(record)
        self._numbers.pop(event.incident_id, None)
        if freed:  # an archived call still waiting (the log says it ended): room again
            self._re_offer_held()

    def _centre_status(self, event: Event) -> None:
        assert isinstance(event, CentreStatusChanged)  # noqa: S101
        condition = CentreCondition(event.condition)
        self.conditions[event.centre] = condition
        if event.centre in self.queues:
            self._refresh(event.centre, self.queues[event.centre].depth())
        if condition is CentreCondition.OUT_OF_SERVICE:
            for call in list(self.queues[event.centre]):
                record = self.calls.get(call.call_id)
                if record is not None:
                    self.queues[event.centre].withdraw(call.call_id)
                    self._place(record)
        self._re_offer_held()
        self._hand_back_overflowed()


# -- the command side --------------------------------------------------------------------

_OPERATOR_ROLES = frozenset(
    {Role.CALL_TAKER, Role.LANGUAGE_DESK_OPERATOR, Role.SIGN_LANGUAGE_OPERATOR, Role.ADMINISTRATOR}
)
_SKILL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz")


def check_skill(skill: str) -> str:
    """A skill is a language code (2-3 lower-case letters), ``tid`` or ``text``."""
    if skill in {SIGN_LANGUAGE, TEXT}:
        return skill
    if not (2 <= len(skill) <= 3 and set(skill) <= _SKILL_CHARS):
        raise OperatorRefused("a skill is a language code (ISO 639), 'tid' or 'text'")
    return skill


def check_centre(centre: str) -> CentreId:
    """The centre id, if it names one of the 82 centres."""
    if not is_known_centre(centre):
        raise UnknownCentre("a centre is a plate code 01..81 or 'central'")
    return CentreId(centre)


def may_work_at(principal: Principal, centre: CentreId) -> bool:
    """Whether ``principal`` may take calls at ``centre``.

    Call-takers work at their own centre (or province); the desk's operators at the central
    desk; sign-language operators at the central desk or their province; administrators
    anywhere.
    """
    role = principal.role
    if role not in _OPERATOR_ROLES:
        return False
    if role is Role.ADMINISTRATOR:
        return True
    if role is Role.LANGUAGE_DESK_OPERATOR:
        return centre == CENTRAL_DESK
    plate = centre_plate(centre)
    own = principal.centre == centre or (
        principal.province is not None and principal.province == plate
    )
    unscoped = principal.centre is None and principal.province is None
    if role is Role.SIGN_LANGUAGE_OPERATOR:
        return centre == CENTRAL_DESK or own or unscoped
    return own or unscoped


@dataclass(frozen=True, slots=True, kw_only=True)
class Offered:
    """What ``next`` gives an operator: the call and where it stands."""

    record: CallRecord
    centre: CentreId
    waited_s: float


class CallTaking:
    """Operators' commands over the engine; reads from :class:`CallTakingFold`."""

    def __init__(self, engine: EnginePort, fold: CallTakingFold) -> None:
        self.engine = engine
        self.fold = fold
        self._locks: dict[OperatorId, asyncio.Lock] = {}

    def subscribe(self) -> None:
        """Feed the fold every committed batch (and, at start, the log after its snapshot)."""
        self.engine.subscribe(self.fold.apply, snapshot=self.fold)

    # -- operators -------------------------------------------------------------------------

    def _require(self, principal: Principal, centre: CentreId) -> None:
        if not may_work_at(principal, centre):
            raise NotPermitted("the principal may not take calls at this centre")

    def _logged_in(
        self, operator: OperatorId, principal: Principal
    ) -> tuple[CentreId, OperatorView]:
        view = self.fold.operator_view(operator)
        centre = self.fold.operators.get(operator)
        if view is None or centre is None:
            raise OperatorRefused("the operator is not logged in")
        self._require(principal, centre)
        return centre, view

    def _lock(self, operator: OperatorId) -> asyncio.Lock:
        lock = self._locks.get(operator)
        if lock is None:
            lock = self._locks[operator] = asyncio.Lock()
        return lock

    async def log_in(
        self, operator: OperatorId, centre: str, skills: Sequence[str], principal: Principal
    ) -> OperatorView:
        """Log an operator in at ``centre`` with ``skills`` (not ready yet)."""
        where = check_centre(centre)
        self._require(principal, where)
        skill_set = tuple(sorted({check_skill(s) for s in skills}))
        if not skill_set:
            raise OperatorRefused("an operator needs at least one skill")
        async with self._lock(operator):
            if operator in self.fold.operators:
                raise OperatorRefused("the operator is logged in already")
            await self.engine.record(
                [
                    OperatorLoggedIn(
                        occurred_at=self.engine.clock.now(),
                        plate=centre_plate(where),
                        operator=operator,
                        centre=where,
                        skills=skill_set,
                        actor=principal.subject,
                    )
                ]
            )
        return self._view(operator)

    async def log_out(self, operator: OperatorId, principal: Principal) -> None:
        """Log an operator out (refused while they hold a call)."""
        async with self._lock(operator):
            centre, view = self._logged_in(operator, principal)
            if view.state is OperatorState.BUSY:
                raise OperatorRefused("an operator holding a call cannot log out")
            await self.engine.record(
                [
                    OperatorLoggedOut(
                        occurred_at=self.engine.clock.now(),
                        plate=centre_plate(centre),
                        operator=operator,
                        centre=centre,
                        actor=principal.subject,
                    )
                ]
            )
        self._locks.pop(operator, None)

    async def ready(self, operator: OperatorId, principal: Principal) -> OperatorView:
        """The operator is ready for calls."""
        async with self._lock(operator):
            centre, view = self._logged_in(operator, principal)
            if view.state is OperatorState.BUSY:
                raise OperatorRefused("wrap up the call first")
            await self.engine.record(
                [
                    OperatorReady(
                        occurred_at=self.engine.clock.now(),
                        plate=centre_plate(centre),
                        operator=operator,
                        centre=centre,
                    )
                ]
            )
        return self._view(operator)

    async def not_ready(
        self, operator: OperatorId, principal: Principal, reason: str | None = None
    ) -> OperatorView:
        """The operator pauses."""
        async with self._lock(operator):
            centre, view = self._logged_in(operator, principal)
            if view.state is OperatorState.BUSY:
                raise OperatorRefused("wrap up the call first")
            await self.engine.record(
                [
                    OperatorNotReady(
                        occurred_at=self.engine.clock.now(),
                        plate=centre_plate(centre),
                        operator=operator,
                        centre=centre,
                        reason=reason,
                    )
                ]
            )
        return self._view(operator)

    async def next_call(self, operator: OperatorId, principal: Principal) -> Offered | None:
        """Give a ready operator the best waiting call they can serve, or ``None``."""
        async with self._lock(operator):
            centre, view = self._logged_in(operator, principal)
            if view.state is not OperatorState.READY:
                raise OperatorRefused("only a ready operator takes the next call")
            if self.fold.queues[centre].depth() == 0:
                return None  # nothing waits: nothing to record (consoles poll this)
            now = self.engine.clock.now()
            await self.engine.record(
                [
                    NextCallRequested(
                        occurred_at=now,
                        plate=centre_plate(centre),
                        operator=operator,
                        centre=centre,
                    )
                ]
            )
            record = self.fold.call_of(operator)
        if record is None:
            return None
        return Offered(
            record=record, centre=centre, waited_s=max(0.0, _seconds(now) - record.since)
        )

    async def answer(self, operator: OperatorId, principal: Principal) -> CallRecord:
        """The operator answers the call they were given: the end of its answer time."""
        async with self._lock(operator):
            centre, _ = self._logged_in(operator, principal)
            record = self.fold.call_of(operator)
            if record is None or record.operator != operator:
                raise CallRefused("the operator holds no call to answer")
            if record.state is CallState.ANSWERED:
                raise CallRefused("the call is answered already")
            await self.engine.record(
                [
                    CallAnswered(
                        occurred_at=self.engine.clock.now(),
                        plate=record.plate,
                        call_id=record.call_id,
                        incident_id=record.incident_id,
                        operator=operator,
                        centre=centre,
                    )
                ]
            )
        return record

    async def wrap_up(self, operator: OperatorId, principal: Principal) -> CallId:
        """The operator has finished with their call (or interpreting a handed-back case)."""
        async with self._lock(operator):
            centre, view = self._logged_in(operator, principal)
            if view.state is not OperatorState.BUSY or view.call_id is None:
                raise OperatorRefused("the operator holds no call")
            record = self.fold.calls.get(view.call_id)
            incident = record.incident_id if record is not None else IncidentId("")
            await self.engine.record(
                [
                    CallWrappedUp(
                        occurred_at=self.engine.clock.now(),
                        plate=record.plate if record is not None else None,
                        call_id=view.call_id,
                        incident_id=incident,
                        operator=operator,
                        centre=centre,
                    )
                ]
            )
            return view.call_id

    # -- calls ---------------------------------------------------------------------------

    def _call(self, call_id: CallId) -> CallRecord:
        record = self.fold.calls.get(call_id)
        if record is None:
            raise UnknownCall("no call in progress with this id")
        return record

    async def flag_language(
        self, call_id: CallId, flag: str, principal: Principal, operator: OperatorId | None
    ) -> CallRecord:
        """A call-taker flags the caller's language (a code or ``"foreign"``) or corrects it."""
        if flag != FOREIGN_FLAG:
            try:
                check_language(flag)
            except ValueError:
                raise CallRefused("a language flag is a language code or 'foreign'") from None
        record = self._call(call_id)
        where = record.centre or record.province
        if not may_work_at(principal, where):
            raise NotPermitted("the principal may not take calls at this centre")
        await self.engine.record(
            [
                LanguageFlagged(
                    occurred_at=self.engine.clock.now(),
                    plate=record.plate,
                    call_id=call_id,
                    incident_id=record.incident_id,
                    flag=flag,
                    actor=principal.subject,
                    operator=operator,
                )
            ]
        )
        return record

    async def unfounded(
        self,
        call_id: CallId,
        reason: UnfoundedReason,
        principal: Principal,
        note: str | None = None,
    ) -> list[Recorded]:
        """The one-key disposition: the call's incident is unfounded, with its reason."""
        record = self._call(call_id)
        return await self.engine.act(
            record.incident_id,
            IncidentAction(
                action=Action.UNFOUNDED,
                actor=principal.subject,
                unfounded_reason=reason,
                reason=note,
            ),
            principal,
        )

    # -- centres -------------------------------------------------------------------------

    async def set_centre_status(
        self,
        centre: str,
        condition: CentreCondition,
        principal: Principal,
        reason: str | None = None,
    ) -> CentreCondition:
        """An administrator marks a centre in service, overloaded or out of service."""
        where = check_centre(centre)
        if principal.role is not Role.ADMINISTRATOR:
            raise NotPermitted("only an administrator sets a centre's status")
        await self.engine.record(
            [
                CentreStatusChanged(
                    occurred_at=self.engine.clock.now(),
                    plate=centre_plate(where),
                    centre=where,
                    condition=condition.value,
                    actor=principal.subject,
                    reason=reason,
                )
            ]
        )
        return self.fold.condition(where)

    def _view(self, operator: OperatorId) -> OperatorView:
        view = self.fold.operator_view(operator)
        if view is None:
            raise OperatorRefused("the operator is not logged in")
        return view
