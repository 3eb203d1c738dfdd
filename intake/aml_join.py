"""Which call an AML report belongs to: the join of reports and calls by number (pure).

A handset sends its AML report (ETSI TS 103 625) when it has a fix, or 20 s after the call
starts at the latest, by SMS and HTTPS, on networks that do not wait for our CTI gateway. So
a report may arrive before the gateway's `offered` event, during the call, or after it
ended. `AmlJoin` keeps, per normalised caller number:

* the calls of that number: live ones, and ended ones for `window_s` after their end; a
  report joins the most recent of them (`find_call`), `during` a live call or `after` an
  ended one;
* reports that found no call: they wait (`hold`) up to `pending_ttl_s` for the call event,
  which takes them (`take_pending`) and joins them `before`. At most `pending_max` wait; the
  oldest is dropped beyond (counted in `evicted`), expired ones are counted in `expired`.

It is a projection: the service feeds it the committed log in order (also at start, so the
waiting reports come back after a restart) and asks it with the current time as an input.
Folding a long log, the log's own time ages it (`advance`: what could no longer join is
swept once per lifetime), and an archived incident's calls are forgotten (`forget`), so it
holds the live calls and the recent past only. `snapshot` and `restore` save and load it
(the settings stay the running process's).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from dispatch.model.ids import CallId, IncidentId
from dispatch.model.values import Location

__all__ = ["AmlJoin", "AmlJoinSnapshot", "CallRef", "JoinOrder", "PendingReport"]

_CALLS_PER_NUMBER: Final = 8


class JoinOrder(enum.StrEnum):
    """When the report came, relative to its call."""

    BEFORE = "before"
    DURING = "during"
    AFTER = "after"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRef:
    """A call of a number, as the join knows it."""

    call_id: CallId
    incident_id: IncidentId
    number: str
    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingReport:
    """A report that found no call yet, with what joining it needs."""

    report_key: str
    number: str
    arrived_at: datetime
    evidence: Location | None
    home_mcc: str | None = None
    home_mnc: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AmlJoinSnapshot:
    """What `AmlJoin.snapshot` saves: the calls by number, the waiting reports in arrival
    order, the counters and when the log's time sweeps next."""

    calls: dict[str, list[CallRef]]
    pending: list[PendingReport]
    evicted: int
    expired: int
    sweep_due: datetime | None


@dataclass(slots=True)
class AmlJoin:
    """Reports and calls by number; see the module docstring."""

    window_s: float = 600.0
    pending_ttl_s: float = 300.0
    pending_max: int = 10_000
    _calls: dict[str, list[CallRef]] = field(default_factory=dict)
    _numbers_of_calls: dict[CallId, str] = field(default_factory=dict)
    _pending: OrderedDict[str, PendingReport] = field(default_factory=OrderedDict)
    _pending_by_number: dict[str, set[str]] = field(default_factory=dict)
    evicted: int = 0
    expired: int = 0
    _sweep_due: datetime | None = None

    @property
    def pending_count(self) -> int:
        """Reports waiting for their call."""
        return len(self._pending)

    # -- calls -------------------------------------------------------------------------

    def call_started(self, ref: CallRef) -> None:
        """A call of `ref.number` was received."""
        calls = self._calls.setdefault(ref.number, [])
        calls.append(ref)
        self._numbers_of_calls[ref.call_id] = ref.number
        if len(calls) > _CALLS_PER_NUMBER:
            dropped = calls.pop(0)
            self._numbers_of_calls.pop(dropped.call_id, None)

    def call_ended(self, call_id: CallId, at: datetime) -> None:
        """A call ended or was abandoned at `at` (its join window starts)."""
        number = self._numbers_of_calls.get(call_id)
        if number is None:
            return
        calls = self._calls[number]
        for k, ref in enumerate(calls):
            if ref.call_id == call_id and ref.ended_at is None:
                calls[k] = CallRef(
                    call_id=ref.call_id,
                    incident_id=ref.incident_id,
                    number=ref.number,
                    started_at=ref.started_at,
                    ended_at=at,
                )

    def forget(self, call_ids: Iterable[CallId]) -> None:
        """These calls' incident was archived: no report joins them any more."""
        for call_id in call_ids:
            number = self._numbers_of_calls.pop(call_id, None)
            if number is None:
                continue
            kept = [ref for ref in self._calls[number] if ref.call_id != call_id]
            if kept:
                self._calls[number] = kept
            else:
                del self._calls[number]

    def find_call(self, number: str, now: datetime) -> tuple[CallRef, JoinOrder] | None:
        """The call a report of `number` arriving at `now` joins, and when it came."""
        calls = self._calls.get(number)
        if not calls:
            return None
        window = timedelta(seconds=self.window_s)
        live = [ref for ref in calls if ref.ended_at is None]
        if live:
            return live[-1], JoinOrder.DURING
        recent = [ref for ref in calls if ref.ended_at is not None and now - ref.ended_at <= window]
        if recent:
            return max(recent, key=lambda ref: ref.ended_at or ref.started_at), JoinOrder.AFTER
        return None

    # -- reports waiting for their call --------------------------------------------------

    def hold(self, report: PendingReport) -> PendingReport | None:
        """Keep a report until its call comes; returns the report dropped to make room."""
        self._pending[report.report_key] = report
        self._pending_by_number.setdefault(report.number, set()).add(report.report_key)
        if len(self._pending) > self.pending_max:
            _, dropped = self._pending.popitem(last=False)
            self._unindex(dropped)
            self.evicted += 1
            return dropped
        return None

    def _unindex(self, report: PendingReport) -> None:
        keys = self._pending_by_number.get(report.number)
        if keys is not None:
            keys.discard(report.report_key)
            if not keys:
                del self._pending_by_number[report.number]

    def release(self, report_key: str) -> None:
        """A waiting report was joined (seen in the log): it waits no more."""
        report = self._pending.pop(report_key, None)
        if report is not None:
            self._unindex(report)

    def take_pending(self, number: str, now: datetime) -> list[PendingReport]:
        """The waiting reports of `number` still within their time to live, removed, in the
        order they arrived."""
        ttl = timedelta(seconds=self.pending_ttl_s)
        keys = self._pending_by_number.pop(number, set())
        reports = sorted(
            (self._pending.pop(key) for key in keys if key in self._pending),
            key=lambda report: report.arrived_at,
        )
        taken = [report for report in reports if now - report.arrived_at <= ttl]
        self.expired += len(reports) - len(taken)
        return taken

    def advance(self, now: datetime) -> None:
        """The log's time reached `now`: sweep once the longer of the window and the time
        to live has passed since the last sweep at log time (what is swept could no longer
        join; at most twice that lifetime is held)."""
        due = self._sweep_due
        if due is None or now >= due:
            self.sweep(now)
            self._sweep_due = now + timedelta(seconds=max(self.window_s, self.pending_ttl_s))

    def sweep(self, now: datetime) -> None:
        """Forget expired reports and calls ended longer ago than the window."""
        ttl = timedelta(seconds=self.pending_ttl_s)
        while self._pending:
            key, report = next(iter(self._pending.items()))
            if now - report.arrived_at <= ttl:
                break
            del self._pending[key]
            self._unindex(report)
            self.expired += 1
        window = timedelta(seconds=self.window_s)
        for number in list(self._calls):
            kept = [
                ref
                for ref in self._calls[number]
                if ref.ended_at is None or now - ref.ended_at <= window
            ]
            for ref in self._calls[number]:
                if ref not in kept:
                    self._numbers_of_calls.pop(ref.call_id, None)
            if kept:
                self._calls[number] = kept
            else:
                del self._calls[number]

    # -- snapshots -----------------------------------------------------------------------

    def snapshot(self) -> AmlJoinSnapshot:
        """The join's content now, in containers of its own (the values are immutable)."""
        return AmlJoinSnapshot(
            calls={number: list(refs) for number, refs in self._calls.items()},
            pending=list(self._pending.values()),
            evicted=self.evicted,
            expired=self.expired,
            sweep_due=self._sweep_due,
        )

    def restore(self, state: AmlJoinSnapshot) -> None:
        """Replace the content with a snapshot's (the indexes are rebuilt from it)."""
        self._calls = {number: list(refs) for number, refs in state.calls.items()}
        self._numbers_of_calls = {
            ref.call_id: number for number, refs in state.calls.items() for ref in refs
        }
        self._pending = OrderedDict()
        self._pending_by_number = {}
        self.evicted, self.expired = state.evicted, state.expired
        for report in state.pending:
            self.hold(report)
        self._sweep_due = state.sweep_due
