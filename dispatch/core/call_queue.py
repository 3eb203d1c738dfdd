"""Skill-based call queues and call-takers of one centre, as a pure state machine.

A :class:`CallQueues` holds the calls waiting at one centre (a provincial 112 centre or the
central foreign-language desk) and the call-takers logged in there. It is fed inputs
(:meth:`~CallQueues.offer`, :meth:`~CallQueues.log_in`, :meth:`~CallQueues.set_ready`,
:meth:`~CallQueues.next_call_for`, :meth:`~CallQueues.wrap_up`, ...) and asked for outputs
(:class:`Assignment`, :meth:`~CallQueues.snapshot`); it has no clock of its own: every input
that depends on time takes ``now`` as monotonic seconds (a float from the service's clock).

Ordering. A call waits for the skills it needs: its language (``"tr"``, ``"en"``, ``"de"``,
``"ar"``, ``"ru"``, ...) and, for the text channel, ``"text"``; a sign-language video session
needs ``"tid"`` (Türk İşaret Dili) only. Among the calls an operator can serve, the best is
the one with the lowest :class:`QueueClass` (eCalls and panic alarms first), then the one
waiting longest (``since``: a call handed back or overflowed keeps its original start, so it
does not lose its place), then the first offered.

Speed. Calls are kept in one heap per skill key (language, media), with lazy deletion:
a withdrawn call stays in its heap as a stale entry, skipped when it reaches the top and
dropped when the heap is compacted. Assignment looks only at the head of each bucket the
operator can serve, so it costs O(buckets + log n), never a scan of the waiting calls
(``ng112 bench queue`` measures it against a list scan).

Fallback language. When no operator on shift (logged in, ready or not) speaks a call's
language, the call is servable by operators speaking the first language of
``fallback_order`` (English by default) that someone on shift speaks; the waiting entry says
so (:class:`WaitingEntry.reason`). When an operator speaking the language logs in, the
call waits for them again. The fallback is decided at the moment of assignment, never
frozen at offer time.

Bounds. A centre holds at most ``max_waiting`` calls; one more is refused with
:class:`QueueFull`, so the service overflows it to another centre: a call is never dropped
silently.

Saving. :meth:`~CallQueues.save` gives the queue's state as plain values
(:class:`SavedQueue`: the waiting calls in offer order with their places, the operators,
the calls being handled) and :meth:`~CallQueues.restore` puts it back, so a restored queue
serves, refuses and reports exactly as the saved one would (the heaps are rebuilt without
their stale entries).

Errors (all in this module)::

    CallQueueError
     ├── QueueFull             the centre's queue holds max_waiting calls already
     ├── DuplicateCall         the call is already waiting or being handled here
     ├── CallNotWaiting        withdraw() of a call that is not waiting here
     ├── UnknownOperator       the operator is not logged in here
     └── OperatorStateError    the operator's state does not allow the request
"""

from __future__ import annotations

import enum
import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dispatch.model.ids import CallId, CentreId, OperatorId
from dispatch.model.vocabulary import Channel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

#: A skill an operator has and a call may need: a language code, ``"tid"`` or ``"text"``.
Skill = str

#: The skill of Turkish Sign Language operators (sign-language video sessions).
SIGN_LANGUAGE = "tid"
#: The skill of operators who take written (text chat) sessions.
TEXT = "text"

_LANGUAGE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz")
_ALARM_CHANNELS = frozenset({Channel.ECALL, Channel.PANIC_APP})


class QueueClass(enum.IntEnum):
    """A call's priority class in the queue: lower is served first."""

    ALARM = 0
    """eCalls and panic alarms: automatic or silent, often from someone who cannot talk."""
    NORMAL = 1
    """Every other call."""


def priority_class(channel: Channel) -> QueueClass:
    """The default queue class of a call on ``channel``: eCall and panic app are alarms."""
    if channel in _ALARM_CHANNELS:
        return QueueClass.ALARM
    return QueueClass.NORMAL


def check_language(code: str) -> str:
    """Return ``code`` if it looks like an ISO 639 code (2-3 lower-case letters), else raise.

    Raises ``ValueError`` without echoing the value (it may come from a caller's device).
    """
    if not (2 <= len(code) <= 3 and set(code) <= _LANGUAGE_CHARS):
        raise ValueError("a language code is 2 or 3 lower-case ASCII letters")
    return code


# -- errors ------------------------------------------------------------------------------


class CallQueueError(Exception):
    """Root of the call-queue errors; each subclass names one refusal."""


class QueueFull(CallQueueError):  # noqa: N818 - names the refusal
    """The centre already holds ``limit`` waiting calls: overflow the call elsewhere."""

    def __init__(self, centre: CentreId, limit: int) -> None:
        self.centre = centre
        self.limit = limit
        super().__init__(f"the queue of centre {centre} is full ({limit} calls waiting)")


class DuplicateCall(CallQueueError):  # noqa: N818 - names the refusal
    """The call is already waiting or being handled at this centre."""

    def __init__(self, centre: CentreId) -> None:
        super().__init__(f"the call is already queued or handled at centre {centre}")


class CallNotWaiting(CallQueueError):  # noqa: N818 - names the refusal
    """The call is not waiting at this centre (answered, withdrawn or never offered)."""

    def __init__(self, centre: CentreId) -> None:
        super().__init__(f"the call is not waiting at centre {centre}")


class UnknownOperator(CallQueueError):  # noqa: N818 - names the refusal
    """The operator is not logged in at this centre."""

    def __init__(self, centre: CentreId) -> None:
        super().__init__(f"the operator is not logged in at centre {centre}")


class OperatorStateError(CallQueueError):
    """The operator's current state does not allow the request."""

    def __init__(self, state: OperatorState, wanted: str) -> None:
        self.state = state
        super().__init__(f"an operator who is {state} cannot {wanted}")


# -- values ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSettings:
    """How a centre's queue behaves; a setting, not code."""

    max_waiting: int = 1_000
    """The most calls that may wait at the centre; one more raises :class:`QueueFull`."""
    fallback_order: tuple[str, ...] = ("en",)
    """Languages to fall back to, best first, when nobody on shift speaks a call's language."""
    compact_ratio: int = 2
    """Compact a bucket's heap when stale entries exceed this many times the live ones."""

    def __post_init__(self) -> None:
        if self.max_waiting < 1:
            raise ValueError("max_waiting must be at least 1")
        if self.compact_ratio < 1:
            raise ValueError("compact_ratio must be at least 1")
        for code in self.fallback_order:
            check_language(code)


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedCall:
    """A call offered to a centre's queue with what it needs from an operator."""

    call_id: CallId
    channel: Channel
    language: str
    """The caller's language (ISO 639 code); ignored for sign-language video."""
    since: float
    """Monotonic seconds when the call started waiting; kept across hand-offs."""
    home_centre: CentreId | None = None
    """The centre of the call's province, when it waits elsewhere (overflow, central desk)."""
    priority: QueueClass | None = None
    """An explicit queue class; ``None`` takes :func:`priority_class` of the channel."""

    def __post_init__(self) -> None:
        check_language(self.language)

    @property
    def queue_class(self) -> QueueClass:
        """The class the call waits in."""
        return self.priority if self.priority is not None else priority_class(self.channel)

    @property
    def language_skill(self) -> str | None:
        """The language an operator must speak; ``None`` for sign-language video."""
        return None if self.channel is Channel.SIGN_VIDEO else self.language

    @property
    def media_skill(self) -> str | None:
        """The channel skill an operator must have (``"tid"``, ``"text"``) or ``None``."""
        if self.channel is Channel.SIGN_VIDEO:
            return SIGN_LANGUAGE
        if self.channel is Channel.TEXT:
            return TEXT
        return None

    @property
    def skills(self) -> frozenset[Skill]:
        """Every skill the call needs."""
        return frozenset(s for s in (self.language_skill, self.media_skill) if s is not None)


class OperatorState(enum.StrEnum):
    """What a logged-in call-taker is doing."""

    NOT_READY = "not_ready"
    READY = "ready"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class WaitReason(enum.StrEnum):
    """Why a waiting call waits for someone other than a speaker of its language."""

    FALLBACK = "fallback"
    """Nobody on shift speaks the language: it waits for the fallback language."""
    NO_OPERATOR = "no_operator"
    """Nobody on shift speaks the language nor any fallback language."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Enqueued:
    """The answer to :meth:`CallQueues.offer`: the call waits, for whom, and why."""

    call_id: CallId
    depth: int
    waiting_for: frozenset[Skill]
    reason: WaitReason | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitingEntry:
    """A waiting call as a console shows it: how long, and whom it waits for."""

    call: QueuedCall
    waited_s: float
    waiting_for: frozenset[Skill]
    reason: WaitReason | None = None
    detail: str | None = None
    """Human reason, e.g. ``"no operator on shift speaks fa; waiting for en"``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    """A call given to an operator by :meth:`CallQueues.next_call_for`."""

    operator_id: OperatorId
    call: QueuedCall
    waited_s: float
    served_in: str | None
    """The language the operator will use (the fallback's, when one was needed)."""
    fallback_from: str | None = None
    """The call's own language when the operator serves it in a fallback language."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorView:
    """One operator's state, for consoles and metrics."""

    operator_id: OperatorId
    skills: frozenset[Skill]
    state: OperatorState
    call_id: CallId | None
    state_since: float


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSnapshot:
    """What a centre's queue looks like now: depth per skill key, oldest wait, operators."""

    centre: CentreId
    depth: int
    max_waiting: int
    depth_by_skill: dict[str, int]
    """Waiting calls per skill key (``"en"``, ``"en+text"``, ``"tid"``)."""
    depth_by_class: dict[str, int]
    oldest_wait_s: float | None
    fallback_waiting: int
    """Calls waiting for a fallback language or for nobody on shift."""
    operators_by_state: dict[str, int] = field(default_factory=dict)


#: A waiting call as :meth:`CallQueues.save` gives it: the :class:`QueuedCall`'s
#: ``call_id``, ``channel``, ``language``, ``since``, ``home_centre`` and ``priority``, then
#: its place in the queue.
SavedCall = tuple[CallId, Channel, str, float, CentreId | None, QueueClass | None, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedOperator:
    """A logged-in operator as :meth:`CallQueues.save` saw them."""

    operator_id: OperatorId
    skills: frozenset[Skill]
    state: OperatorState
    state_since: float
    call: QueuedCall | None
    """The call they handle (busy), if any."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedQueue:
    """A centre's queue as plain values: what :meth:`CallQueues.restore` needs to go on."""

    next_seq: int
    """The place the next offered call gets (places order calls waiting equally long)."""
    waiting: tuple[SavedCall, ...]
    """The waiting calls with their places, in the order they were offered."""
    operators: tuple[SavedOperator, ...]
    """The logged-in operators, in the order they logged in."""
    handled: tuple[CallId, ...]
    """Calls given to an operator here and not wrapped up or declined yet."""


# -- the state machine -------------------------------------------------------------------

_Key = tuple[str | None, str | None]  # (language skill, media skill)
_HeapItem = tuple[int, float, int, CallId]  # (class, since, seq, call)


def _key_name(key: _Key) -> str:
    return "+".join(part for part in key if part is not None)


class _Waiting:
    __slots__ = ("call", "key", "seq")

    def __init__(self, call: QueuedCall, key: _Key, seq: int) -> None:
        self.call = call
        self.key = key
        self.seq = seq


def _saved_call(entry: _Waiting) -> SavedCall:
    call = entry.call
    return (
        call.call_id,
        call.channel,
        call.language,
        call.since,
        call.home_centre,
        call.priority,
        entry.seq,
    )


class _Operator:
    __slots__ = ("call", "operator_id", "skills", "state", "state_since")

    def __init__(self, operator_id: OperatorId, skills: frozenset[Skill], now: float) -> None:
        self.operator_id = operator_id
        self.skills = skills
        self.state = OperatorState.NOT_READY
        self.state_since = now
        self.call: QueuedCall | None = None


class _Bucket:
    __slots__ = ("heap", "live")

    def __init__(self) -> None:
        self.heap: list[_HeapItem] = []
        self.live = 0


class CallQueues:
    """The waiting calls and the call-takers of one centre (see the module docstring).

    ``on_depth``, when given, is told ``(centre, depth)`` after every change of the number
    of waiting calls, so an owner of many queues (the call-taking fold) can keep which
    centres have room and how deep they are without asking each queue.
    """

    def __init__(
        self,
        *,
        centre: CentreId,
        settings: QueueSettings | None = None,
        on_depth: Callable[[CentreId, int], None] | None = None,
    ) -> None:
        self.centre = centre
        self.settings = settings if settings is not None else QueueSettings()
        self._on_depth = on_depth
        self._next_seq = 0
        self._buckets: dict[_Key, _Bucket] = {}
        self._waiting: dict[CallId, _Waiting] = {}
        self._by_age: list[tuple[float, int, CallId]] = []
        self._operators: dict[OperatorId, _Operator] = {}
        self._on_shift: Counter[str] = Counter()
        self._handled: set[CallId] = set()
        self._by_class: Counter[QueueClass] = Counter()

    # -- calls ---------------------------------------------------------------------------

    def offer(self, call: QueuedCall) -> Enqueued:
        """Put ``call`` in the queue; raise :class:`QueueFull` or :class:`DuplicateCall`."""
        self.put(call)
        waiting_for, reason, detail = self._waiting_for(call)
        return Enqueued(
            call_id=call.call_id,
            depth=len(self._waiting),
            waiting_for=waiting_for,
            reason=reason,
            detail=detail,
        )

    def put(self, call: QueuedCall) -> None:
        """:meth:`offer` without the answer (for an owner that only needs the call queued)."""
        if call.call_id in self._waiting or call.call_id in self._handled:
            raise DuplicateCall(self.centre)
        if len(self._waiting) >= self.settings.max_waiting:
            raise QueueFull(self.centre, self.settings.max_waiting)
        self._push(call, self._take_seq())

    def holds(self, call_id: CallId) -> bool:
        """Whether the call waits or is being handled here (an offer of it is a duplicate)."""
        return call_id in self._waiting or call_id in self._handled

    def withdraw(self, call_id: CallId) -> QueuedCall:
        """Take a waiting call out (the caller hung up, or it moves to another centre)."""
        entry = self._waiting.pop(call_id, None)
        if entry is None:
            raise CallNotWaiting(self.centre)
        bucket = self._buckets[entry.key]
        bucket.live -= 1
        self._by_class[entry.call.queue_class] -= 1
        if len(bucket.heap) > (self.settings.compact_ratio + 1) * bucket.live + 64:
            self._compact(entry.key, bucket)
        self._tidy_by_age()
        if self._on_depth is not None:
            self._on_depth(self.centre, len(self._waiting))
        return entry.call

    def is_waiting(self, call_id: CallId) -> bool:
        """Whether ``call_id`` waits here."""
        return call_id in self._waiting

    # -- operators -----------------------------------------------------------------------

    def log_in(self, operator_id: OperatorId, skills: Iterable[Skill], now: float) -> None:
        """Log an operator in, not ready, with their skills (languages, ``tid``, ``text``)."""
        if operator_id in self._operators:
            raise OperatorStateError(self._operators[operator_id].state, "log in again")
        skill_set = frozenset(skills)
        self._operators[operator_id] = _Operator(operator_id, skill_set, now)
        self._on_shift.update(skill_set)

    def log_out(self, operator_id: OperatorId) -> None:
        """Log an operator out; refused while they handle a call."""
        operator = self._operator(operator_id)
        if operator.state is OperatorState.BUSY:
            raise OperatorStateError(operator.state, "log out")
        del self._operators[operator_id]
        self._on_shift.subtract(operator.skills)
        self._on_shift = +self._on_shift

    def set_ready(self, operator_id: OperatorId, now: float) -> None:
        """The operator is ready for the next call (from not ready or wrap-up)."""
        operator = self._operator(operator_id)
        if operator.state is OperatorState.BUSY:
            raise OperatorStateError(operator.state, "go ready")
        self._set_state(operator, OperatorState.READY, now)

    def set_not_ready(self, operator_id: OperatorId, now: float) -> None:
        """The operator takes no calls for now (pause); refused while busy."""
        operator = self._operator(operator_id)
        if operator.state is OperatorState.BUSY:
            raise OperatorStateError(operator.state, "go not ready")
        self._set_state(operator, OperatorState.NOT_READY, now)

    def next_call_for(self, operator_id: OperatorId, now: float) -> Assignment | None:
        """Give the ready operator the best waiting call they can serve, or ``None``.

        The operator becomes busy with the call, which leaves the queue.
        """
        operator = self._operator(operator_id)
        if operator.state is not OperatorState.READY:
            raise OperatorStateError(operator.state, "take a call")
        best: _HeapItem | None = None
        best_key: _Key | None = None
        served_in: str | None = None
        for key, bucket in self._buckets.items():
            if bucket.live == 0:
                continue
            servable, language = self._servable_in(key, operator.skills)
            if not servable:
                continue
            head = self._head(bucket)
            if best is None or head < best:
                best, best_key, served_in = head, key, language
        if best is None or best_key is None:
            return None
        heapq.heappop(self._buckets[best_key].heap)
        entry = self._waiting.pop(best[3])
        self._buckets[best_key].live -= 1
        call = entry.call
        self._by_class[call.queue_class] -= 1
        self._handled.add(call.call_id)
        self._tidy_by_age()
        if self._on_depth is not None:
            self._on_depth(self.centre, len(self._waiting))
        operator.call = call
        self._set_state(operator, OperatorState.BUSY, now)
        language_skill = call.language_skill
        return Assignment(
            operator_id=operator_id,
            call=call,
            waited_s=max(0.0, now - call.since),
            served_in=served_in,
            fallback_from=language_skill if served_in != language_skill else None,
        )

    def assign_ready(self, now: float) -> list[Assignment]:
        """Give waiting calls to ready operators, the longest ready first, while any fit."""
        ready = sorted(
            (op for op in self._operators.values() if op.state is OperatorState.READY),
            key=lambda op: op.state_since,
        )
        assignments: list[Assignment] = []
        for operator in ready:
            if not self._waiting:
                break
            assignment = self.next_call_for(operator.operator_id, now)
            if assignment is not None:
                assignments.append(assignment)
        return assignments

    def wrap_up(self, operator_id: OperatorId, now: float) -> CallId:
        """The operator has finished talking: the call ends here, the operator wraps up."""
        operator = self._operator(operator_id)
        if operator.state is not OperatorState.BUSY or operator.call is None:
            raise OperatorStateError(operator.state, "wrap up")
        call_id = operator.call.call_id
        self._handled.discard(call_id)
        operator.call = None
        self._set_state(operator, OperatorState.WRAP_UP, now)
        return call_id

    def decline(self, operator_id: OperatorId, now: float) -> QueuedCall:
        """The operator did not take the call: it goes back in its place, they go not ready."""
        operator = self._operator(operator_id)
        if operator.state is not OperatorState.BUSY or operator.call is None:
            raise OperatorStateError(operator.state, "decline a call")
        call = operator.call
        self._handled.discard(call.call_id)
        operator.call = None
        self._set_state(operator, OperatorState.NOT_READY, now)
        self._push(call, self._take_seq())
        return call

    # -- observation ---------------------------------------------------------------------

    def depth(self) -> int:
        """How many calls wait here."""
        return len(self._waiting)

    @property
    def full(self) -> bool:
        """Whether one more call would be refused with :class:`QueueFull`."""
        return len(self._waiting) >= self.settings.max_waiting

    def depth_by_skill(self) -> dict[str, int]:
        """Waiting calls per skill key (``"tr"``, ``"en+text"``, ``"tid"``), non-empty only."""
        return {_key_name(k): b.live for k, b in self._buckets.items() if b.live}

    def oldest_wait(self, now: float) -> float | None:
        """Seconds the longest-waiting call has waited, ``None`` when nobody waits."""
        heap = self._by_age
        while heap:
            since, seq, call_id = heap[0]
            entry = self._waiting.get(call_id)
            if entry is not None and entry.seq == seq:
                return max(0.0, now - since)
            heapq.heappop(heap)
        return None

    def waiting(self, now: float, *, limit: int | None = None) -> list[WaitingEntry]:
        """The waiting calls in serving order (class, then wait), for a console; O(n log n)."""
        ordered = sorted(
            self._waiting.values(),
            key=lambda e: (e.call.queue_class, e.call.since, e.seq),
        )
        if limit is not None:
            ordered = ordered[:limit]
        entries = []
        for entry in ordered:
            waiting_for, reason, detail = self._waiting_for(entry.call)
            entries.append(
                WaitingEntry(
                    call=entry.call,
                    waited_s=max(0.0, now - entry.call.since),
                    waiting_for=waiting_for,
                    reason=reason,
                    detail=detail,
                )
            )
        return entries

    def operators(self) -> list[OperatorView]:
        """Every logged-in operator's state."""
        return [
            OperatorView(
                operator_id=op.operator_id,
                skills=op.skills,
                state=op.state,
                call_id=op.call.call_id if op.call is not None else None,
                state_since=op.state_since,
            )
            for op in self._operators.values()
        ]

    def on_shift_skills(self) -> frozenset[Skill]:
        """Skills of the operators logged in now."""
        return frozenset(self._on_shift)

    def snapshot(self, now: float) -> QueueSnapshot:
        """Depths, oldest wait and operator counts, cheap enough for every metrics scrape."""
        fallback = sum(
            bucket.live
            for key, bucket in self._buckets.items()
            if bucket.live and key[0] is not None and not self._on_shift[key[0]]
        )
        by_class = {cls.name.lower(): n for cls, n in self._by_class.items() if n}
        states = Counter(op.state.value for op in self._operators.values())
        return QueueSnapshot(
            centre=self.centre,
            depth=len(self._waiting),
            max_waiting=self.settings.max_waiting,
            depth_by_skill=self.depth_by_skill(),
            depth_by_class=by_class,
            oldest_wait_s=self.oldest_wait(now),
            fallback_waiting=fallback,
            operators_by_state=dict(states),
        )

    def __iter__(self) -> Iterator[QueuedCall]:
        """The waiting calls, in no particular order."""
        return (entry.call for entry in self._waiting.values())

    # -- saving --------------------------------------------------------------------------

    def save(self) -> SavedQueue:
        """The queue's state as plain values sharing nothing mutable with the queue."""
        return SavedQueue(
            next_seq=self._next_seq,
            waiting=tuple(map(_saved_call, self._waiting.values())),
            operators=tuple(
                SavedOperator(
                    operator_id=op.operator_id,
                    skills=op.skills,
                    state=op.state,
                    state_since=op.state_since,
                    call=op.call,
                )
                for op in self._operators.values()
            ),
            handled=tuple(self._handled),
        )

    def restore(self, saved: SavedQueue) -> None:
        """Replace the queue's state with a saved one; ``on_depth`` is told the new depth."""
        self._next_seq = saved.next_seq
        self._waiting = {}
        for call_id, channel, language, since, home, priority, seq in saved.waiting:
            call = QueuedCall(
                call_id=call_id,
                channel=channel,
                language=language,
                since=since,
                home_centre=home,
                priority=priority,
            )
            self._waiting[call_id] = _Waiting(call, (call.language_skill, call.media_skill), seq)
        self._reindex()
        self._operators = {}
        self._on_shift = Counter()
        for saved_operator in saved.operators:
            operator = _Operator(
                saved_operator.operator_id, saved_operator.skills, saved_operator.state_since
            )
            operator.state = saved_operator.state
            operator.call = saved_operator.call
            self._operators[operator.operator_id] = operator
            self._on_shift.update(operator.skills)
        self._handled = set(saved.handled)
        if self._on_depth is not None:
            self._on_depth(self.centre, len(self._waiting))

    # -- internals -----------------------------------------------------------------------

    def _take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq = seq + 1
        return seq

    def _reindex(self) -> None:
        """The buckets, the class counts and the age heap afresh from the waiting calls."""
        self._buckets = {}
        self._by_class = Counter()
        for entry in self._waiting.values():
            call = entry.call
            bucket = self._buckets.get(entry.key)
            if bucket is None:
                bucket = self._buckets[entry.key] = _Bucket()
            bucket.heap.append((call.queue_class, call.since, entry.seq, call.call_id))
            bucket.live += 1
            self._by_class[call.queue_class] += 1
        for bucket in self._buckets.values():
            heapq.heapify(bucket.heap)
        self._by_age = self._age_heap()

    def _age_heap(self) -> list[tuple[float, int, CallId]]:
        heap = [(e.call.since, e.seq, e.call.call_id) for e in self._waiting.values()]
        heapq.heapify(heap)
        return heap

    def _tidy_by_age(self) -> None:
        """Rebuild the age heap once its stale entries outnumber the waiting calls."""
        if len(self._by_age) > (self.settings.compact_ratio + 1) * len(self._waiting) + 64:
            self._by_age = self._age_heap()

    def _operator(self, operator_id: OperatorId) -> _Operator:
        try:
            return self._operators[operator_id]
        except KeyError:
            raise UnknownOperator(self.centre) from None

    @staticmethod
    def _set_state(operator: _Operator, state: OperatorState, now: float) -> None:
        operator.state = state
        operator.state_since = now

    def _push(self, call: QueuedCall, seq: int) -> None:
        key: _Key = (call.language_skill, call.media_skill)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket()
        queue_class = call.queue_class
        heapq.heappush(bucket.heap, (queue_class, call.since, seq, call.call_id))
        bucket.live += 1
        self._by_class[queue_class] += 1
        waiting = self._waiting
        waiting[call.call_id] = _Waiting(call, key, seq)
        heapq.heappush(self._by_age, (call.since, seq, call.call_id))
        self._tidy_by_age()
        if self._on_depth is not None:
            self._on_depth(self.centre, len(waiting))

    def _head(self, bucket: _Bucket) -> _HeapItem:
        """The bucket's best live entry, dropping stale ones on the way (bucket.live > 0)."""
        heap = bucket.heap
        while True:
            item = heap[0]
            entry = self._waiting.get(item[3])
            if entry is not None and entry.seq == item[2]:
                return item
            heapq.heappop(heap)

    def _compact(self, key: _Key, bucket: _Bucket) -> None:
        bucket.heap = [
            (e.call.queue_class, e.call.since, e.seq, e.call.call_id)
            for e in self._waiting.values()
            if e.key == key
        ]
        heapq.heapify(bucket.heap)

    def _effective_language(self, language: str | None) -> tuple[str | None, bool]:
        """The language a call in ``language`` is served in now, and whether it is a fallback.

        ``(language, False)`` when someone on shift speaks it (or it has none);
        ``(fallback, True)`` for the first fallback someone on shift speaks;
        ``(None, True)`` when nobody on shift speaks it or a fallback.
        """
        if language is None or self._on_shift[language]:
            return language, False
        for fallback in self.settings.fallback_order:
            if self._on_shift[fallback]:
                return fallback, True
        return None, True

    def _servable_in(self, key: _Key, skills: frozenset[Skill]) -> tuple[bool, str | None]:
        """Whether an operator with ``skills`` can serve bucket ``key``, and in which language."""
        language, media = key
        if media is not None and media not in skills:
            return False, None
        if language is None or language in skills:
            return True, language
        effective, fallback = self._effective_language(language)
        if fallback and effective is not None and effective in skills:
            return True, effective
        return False, None

    def _waiting_for(
        self, call: QueuedCall
    ) -> tuple[frozenset[Skill], WaitReason | None, str | None]:
        language = call.language_skill
        effective, fallback = self._effective_language(language)
        media = call.media_skill
        if not fallback:
            return call.skills, None, None
        if effective is None:
            return (
                call.skills,
                WaitReason.NO_OPERATOR,
                f"no operator on shift speaks {language} or a fallback language",
            )
        skills = frozenset(s for s in (effective, media) if s is not None)
        return (
            skills,
            WaitReason.FALLBACK,
            f"no operator on shift speaks {language}; waiting for {effective}",
        )
