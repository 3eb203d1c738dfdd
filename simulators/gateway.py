"""The simulated phone gateway: it tells ng112 how each simulated phone call ends.

A carrier's CTI gateway reports a call's life to ng112 (``POST /api/v1/phone/events``,
:mod:`intake.phone`): the simulated calls are posted with the gateway's request id
(``sim:<run>-<n>``, :data:`simulators.traffic.GATEWAY`), so this gateway can report on
them as a real one reports on the calls it offered:

- ``abandoned`` when a caller hangs up during the announcement (the hung-up third of
  112 calls, ``[gateway] announce_s`` after the call arrived), or when a caller waiting
  for a call-taker gives up (``patience_s``, only where call-takers answer the queues);
  a caller a call-taker's console has already taken is put through and stays;
- ``ended`` when the call-taker has finished with the caller: after the handling time
  of a call the simulated call-takers answered (:meth:`PhoneGateway.finished`, called by
  :class:`~simulators.call_takers.CallTakerFloor`), or, with no call-takers, once the
  simulated operator has dealt with the call.

Reports go out in arrays of up to 25 (one request), a few requests at a time, retried
while the engine is busy or unreachable; ng112 keys each status by the gateway call id
and kind, so a retry never records a second one. Times in ``[gateway]`` are scenario
seconds, played at the scenario's speed. Only phone calls have a gateway: text,
sign-language video, panic alarms and eCalls are not reported here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from simulators.drivers import Ack, post_settled
from simulators.timers import Timers
from simulators.traffic import GATEWAY, CallSpec, Disposition

logger = logging.getLogger(__name__)

__all__ = ["GatewayStats", "PhoneGateway"]

#: Events in one report (the gateway endpoint takes up to 100).
MAX_BATCH = 25
#: Reports in flight at once (ng112 commits each event of a report in turn).
SENDERS = 8
#: Reports kept while the engine cannot take them; more are dropped and counted.
MAX_WAITING_REPORTS = 100_000


@dataclass(slots=True)
class GatewayStats:
    """What the gateway reported and how ng112 answered."""

    abandoned: int = 0
    """Calls reported abandoned (hung up during the announcement or while waiting)."""
    gave_up_waiting: int = 0
    """Of those, callers who hung up after ``patience_s`` unanswered."""
    ended: int = 0
    """Calls reported ended after the call-taker finished."""
    acknowledged: int = 0
    """Reports ng112 committed (or recognised as already committed)."""
    refused: int = 0
    """Reports ng112 refused, e.g. ``ended`` for a call already abandoned (409)."""
    requests: int = 0
    dropped: int = 0
    refusals: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Line:
    """A phone call the gateway still has up."""

    spec: CallSpec
    ack: Ack
    put_through: bool = False


class PhoneGateway:
    """The gateway of the simulated phone calls; see the module docstring."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        announce_s: tuple[float, float],
        patience_s: float | None,
        speed: float,
        rng: random.Random,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        on_abandoned: Callable[[CallSpec, Ack], None] | None = None,
    ) -> None:
        self._session = session
        self._url = f"{base_url.rstrip('/')}/api/v1/phone/events"
        self._announce = (announce_s[0] / speed, announce_s[1] / speed)
        self._patience = None if patience_s is None else patience_s / speed
        self._rng = rng
        self._sleep = sleep
        self.on_abandoned = on_abandoned
        """Told of every abandoned call (the operator calls the number back)."""
        self._lines: dict[str, _Line] = {}
        self._timers: Timers[str] = Timers(clock)
        self._outbox: list[dict[str, str]] = []
        self._pending = asyncio.Event()
        self.stats = GatewayStats()
        self.sent = asyncio.Event()
        """Set each time ng112 has answered a report (for watchers and tests)."""

    @property
    def lines(self) -> int:
        """Calls still up (not yet reported abandoned or ended)."""
        return len(self._lines)

    @property
    def unsent(self) -> int:
        """Reports waiting to go out."""
        return len(self._outbox)

    def offered(self, spec: CallSpec, ack: Ack) -> None:
        """ng112 acknowledged a call: if it is a phone call, the gateway has it up."""
        if spec.channel != "phone":
            return
        self._lines[ack.call_id] = _Line(spec, ack)
        if spec.disposition is Disposition.HUNG_UP:
            self._timers.after(self._rng.uniform(*self._announce), ack.call_id)
        elif self._patience is not None:
            self._timers.after(self._patience, ack.call_id)

    def put_through(self, call_id: str) -> None:
        """A call-taker's console took the call: the caller no longer hangs up waiting."""
        line = self._lines.get(call_id)
        if line is not None:
            line.put_through = True

    def finished(self, call_id: str) -> None:
        """The caller and the call-taker are done: the call has ended."""
        line = self._lines.pop(call_id, None)
        if line is not None:
            self.stats.ended += 1
            self._report(line, "ended")

    async def run(self) -> None:
        """Hang up callers when they would, and send the reports, until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._timers.run(self._hang_up), name="ng112-sim-gateway-timers")
            for index in range(SENDERS):
                group.create_task(self._send_reports(), name=f"ng112-sim-gateway-reports-{index}")

    def _hang_up(self, call_id: str) -> None:
        line = self._lines.get(call_id)
        if line is None or line.put_through:
            return
        del self._lines[call_id]
        self.stats.abandoned += 1
        if line.spec.disposition is not Disposition.HUNG_UP:
            self.stats.gave_up_waiting += 1
        self._report(line, "abandoned")
        if self.on_abandoned is not None:
            self.on_abandoned(line.spec, line.ack)

    def _report(self, line: _Line, kind: str) -> None:
        if len(self._outbox) >= MAX_WAITING_REPORTS:
            self.stats.dropped += 1
            return
        self._outbox.append(
            {
                "type": kind,
                "gateway": GATEWAY,
                "gateway_call_id": line.spec.gateway_call_id,
                "time": datetime.now(UTC).isoformat(),
            }
        )
        self._pending.set()

    async def _send_reports(self) -> None:
        while True:
            await self._pending.wait()
            batch = self._outbox[:MAX_BATCH]
            del self._outbox[:MAX_BATCH]
            if not self._outbox:
                self._pending.clear()
            if batch and not await self._send(batch):
                self._outbox[:0] = batch  # the engine is away: keep them, in order
                self._pending.set()
                await self._sleep(1.0)

    async def _send(self, batch: list[dict[str, str]]) -> bool:
        """Post one report; False when ng112 could not be reached or stayed busy."""
        self.stats.requests += 1
        status, data = await post_settled(self._session, self._url, batch, sleep=self._sleep)
        answered = self._answered(batch, status, data)
        if answered:
            self.sent.set()
        return answered

    def _answered(self, batch: list[dict[str, str]], status: int, data: Any) -> bool:
        """Count ng112's answer to a report; False when there was none to count."""
        stats = self.stats
        if status == 202:
            stats.acknowledged += len(batch)
            return True
        if status == 207 and isinstance(data, dict):
            for result in data.get("results", []):
                error = result.get("error") if isinstance(result, dict) else None
                if error is None:
                    stats.acknowledged += 1
                else:
                    self._refused(str(error.get("code")))
            return True
        if 400 <= status < 500:
            for _ in batch:
                self._refused(f"http_{status}")
            logger.warning("the engine refused simulated gateway reports with status %d", status)
            return True
        return False

    def _refused(self, code: str) -> None:
        self.stats.refused += 1
        self.stats.refusals[code] = self.stats.refusals.get(code, 0) + 1
