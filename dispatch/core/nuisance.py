"""Repeat nuisance numbers: counted, flagged to the next call-taker, never blocked.

Most calls to 112 need no response: pocket dials, pranks, information requests, silent
calls. The call-taker closes them with one key and a reason (:class:`UnfoundedReason`).
:class:`NuisanceRegister` counts those dispositions per caller number in a sliding
window and, when a number reaches ``threshold`` within ``window``, flags its next call for
the call-taker. It never blocks anything: a real emergency can come from the same
number, and the flag only informs.

Bounded memory: a number is forgotten once its last unfounded call is older than the
window (by the times passed in, the log's event times, which move forward: the number
could not be flagged any more), at most ``max_numbers`` numbers are remembered (the least
recently seen are forgotten first) and each keeps at most ``threshold`` + ``keep_extra``
timestamps. Numbers are personal data: the register holds them in memory (and in the
snapshot its owner saves with :meth:`NuisanceRegister.snapshot`, stored next to the log
that holds the calls' numbers anyway), and its flag carries no number. No clock of its
own: times are aware datetimes passed in.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias

from dispatch.model.vocabulary import UnfoundedReason

if TYPE_CHECKING:
    from collections.abc import Iterable

#: One number's unfounded dispositions, oldest first, as a snapshot keeps them.
SavedNumber: TypeAlias = tuple[str, tuple[tuple[datetime, UnfoundedReason], ...]]

#: Reasons that count towards a nuisance flag: a test call is nobody's fault.
COUNTED_REASONS: frozenset[UnfoundedReason] = frozenset(UnfoundedReason) - {UnfoundedReason.TEST}


@dataclass(frozen=True, slots=True, kw_only=True)
class NuisanceFlag:
    """What the next call-taker is told: how many unfounded calls, and which kinds."""

    count: int
    window: timedelta
    reasons: dict[str, int] = field(default_factory=dict)
    last_at: datetime | None = None
    note: str = "repeat unfounded calls from this number; answer as usual"


class NuisanceRegister:
    """Unfounded dispositions per caller number in a sliding window (see module docstring)."""

    def __init__(
        self,
        *,
        window: timedelta = timedelta(hours=24),
        threshold: int = 3,
        max_numbers: int = 100_000,
        keep_extra: int = 16,
        counted: frozenset[UnfoundedReason] = COUNTED_REASONS,
    ) -> None:
        if window <= timedelta(0) or threshold < 1 or max_numbers < 1 or keep_extra < 0:
            raise ValueError("window, threshold and max_numbers must be positive")
        self.window = window
        self.threshold = threshold
        self.max_numbers = max_numbers
        self.counted = counted
        self._cap = threshold + keep_extra
        self._seen: OrderedDict[str, deque[tuple[datetime, UnfoundedReason]]] = OrderedDict()
        self._forget_at = datetime.min.replace(tzinfo=UTC)
        """No number is forgotten before this time (the first number's newest plus the
        window, or earlier): most calls need no more than this comparison."""

    def record(self, number: str | None, reason: UnfoundedReason, at: datetime) -> None:
        """Count an unfounded disposition for ``number`` (anonymous calls are not counted)."""
        if at.tzinfo is None:
            raise ValueError("nuisance times must be aware datetimes")
        if at >= self._forget_at:
            self._forget_before(at)
        if not number or reason not in self.counted:
            return
        history = self._seen.get(number)
        if history is None:
            history = self._seen[number] = deque(maxlen=self._cap)
            while len(self._seen) > self.max_numbers:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(number)
        history.append((at, reason))

    def flag_for(self, number: str | None, now: datetime) -> NuisanceFlag | None:
        """The flag to show with a new call from ``number``, or ``None``."""
        if now.tzinfo is None:
            raise ValueError("nuisance times must be aware datetimes")
        if not number:
            return None
        if now >= self._forget_at:
            self._forget_before(now)
        history = self._seen.get(number)
        if history is None:
            return None
        start = now - self.window
        while history and history[0][0] <= start:
            history.popleft()
        if not history:
            del self._seen[number]
            return None
        recent = [entry for entry in history if entry[0] <= now]
        if len(recent) < self.threshold:
            return None
        return NuisanceFlag(
            count=len(recent),
            window=self.window,
            reasons=dict(Counter(reason.value for _, reason in recent)),
            last_at=recent[-1][0],
        )

    def _forget_before(self, now: datetime) -> None:
        """Forget the least recently seen numbers whose every disposition left the window.

        Numbers are in the order last recorded, so the scan stops at the first one still
        in the window: a few steps, whatever the number of numbers.
        """
        seen = self._seen
        while seen:
            history = seen[next(iter(seen))]
            forget_at = history[-1][0] + self.window  # its newest, the times moving forward
            if now < forget_at:
                self._forget_at = forget_at
                return
            seen.popitem(last=False)

    def snapshot(self) -> list[SavedNumber]:
        """Every number remembered with its dispositions, least recently seen first."""
        return [(number, tuple(history)) for number, history in self._seen.items()]

    def restore(self, saved: Iterable[SavedNumber]) -> None:
        """Replace what the register remembers with a :meth:`snapshot`."""
        self._seen = OrderedDict(
            (number, deque(history, maxlen=self._cap)) for number, history in saved
        )
        self._forget_at = datetime.min.replace(tzinfo=UTC)

    def __len__(self) -> int:
        """Numbers remembered now."""
        return len(self._seen)
