"""The simulated operators and dispatchers: they decide every incident and conclude it.

:class:`Operator` acts on each acknowledged call through the public actions API
(``POST /api/v1/incidents/{id}/actions``), as a centre's staff would, after a short
handling delay (``[operator] delay_s``, wall seconds):

- a false or hung-up call is marked unfounded; when the gateway reported a call
  abandoned, a call-taker also calls the number back
  (``POST /api/v1/callbacks/{call_id}/done``);
- a legitimate call is queued for its agency. Where one of the simulated fleet's units is
  near enough (``dispatch_within_s``), the dispatcher sends it
  (``POST .../dispatch``) and follows the incident: the unit reports on scene and then
  available (ng112 resolves the incident), and the dispatcher closes it; should the unit
  come back without ng112 resolving it, the dispatcher resolves it first. Elsewhere the
  agency responds with units of its own, outside the simulated fleet: the incident is
  dispatched, resolved ``respond_s`` later and closed ``close_s`` after that (the only
  way the lifecycle leads from ``queued`` to ``closed``; ``dispatch/core/lifecycle.py``).

So every incident concludes, as in a centre, and the engine's archivist can let it go.
``respond_s`` and ``close_s`` are scenario seconds, played at the scenario's speed. With
no call-takers answering the queues, the operator's handling is the call itself:
``on_handled`` tells the gateway the call has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from simulators.drivers import Ack, post_settled
from simulators.scenario import Outage
from simulators.timers import Timers
from simulators.traffic import CallSpec, Disposition

__all__ = ["Operator", "OperatorStats"]

_FINAL = frozenset({"closed", "cancelled", "merged", "unfounded"})
_CALLBACK_OUTCOMES = ("no_answer", "no_answer", "reached", "not_needed")


@dataclass(slots=True)
class OperatorStats:
    """What the simulated operators did."""

    unfounded: int = 0
    queued: int = 0
    refused: int = 0
    deferred_by_outage: int = 0
    dispatched: int = 0
    """Units of the simulated fleet sent to queued incidents (the recommended one)."""
    no_unit: int = 0
    """Queued incidents with no unit of the simulated fleet within reach."""
    called_back: int = 0
    """Abandoned calls whose number a call-taker called back."""
    agency_dispatched: int = 0
    """Incidents the agency responded to with units outside the simulated fleet."""
    resolved: int = 0
    """Incidents the dispatcher resolved (ng112 resolves those a fleet unit left)."""
    closed: int = 0


class _Step(enum.Enum):
    """What an operator does next about an incident."""

    DECIDE = "decide"
    CALL_BACK = "call-back"
    AGENCY = "dispatch"
    RESOLVE = "resolve"
    CLOSE = "close"
    FOLLOW = "follow"


@dataclass(slots=True)
class _Job:
    """One incident's next step."""

    step: _Step
    spec: CallSpec
    ack: Ack
    unit_id: str | None = None
    since: float = 0.0


class Operator:
    """Simulated call-takers and dispatchers; see the module docstring."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        delay_s: tuple[float, float],
        queue_legitimate: bool,
        outage: Outage | None,
        clock: Callable[[], float],
        rng: random.Random,
        concurrency: int = 32,
        dispatch_within_s: float = 0.0,
        conclude: bool = True,
        respond_s: tuple[float, float] = (900.0, 3600.0),
        close_s: tuple[float, float] = (60.0, 600.0),
        speed: float = 1.0,
        follow_s: float = 2.0,
        follow_for_s: float = 600.0,
        on_handled: Callable[[CallSpec, Ack], None] | None = None,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._dispatch_within = dispatch_within_s
        self._delay = delay_s
        self._queue_legitimate = queue_legitimate
        self._outage = outage
        self._clock = clock
        self._rng = rng
        self._concurrency = concurrency
        self._conclude = conclude
        self._respond = (respond_s[0] / speed, respond_s[1] / speed)
        self._close = (close_s[0] / speed, close_s[1] / speed)
        self._follow_s = follow_s
        self._follow_for_s = follow_for_s
        self.on_handled = on_handled
        """Told when the operator has dealt with a call (the gateway ends it)."""
        self._timers: Timers[_Job] = Timers(clock, limit=100_000)
        self._ready: asyncio.Queue[_Job] = asyncio.Queue()
        self.stats = OperatorStats()
        self.acted = asyncio.Event()
        """Set each time an operator has finished a step (for watchers and tests)."""

    @property
    def backlog(self) -> int:
        """Steps not yet taken: calls waiting out the handling delay, incidents to conclude."""
        return len(self._timers) + self._ready.qsize()

    def take(self, spec: CallSpec, ack: Ack) -> None:
        """Hand an acknowledged call to the operators (dropped when the backlog is full)."""
        self._timers.after(self._rng.uniform(*self._delay), _Job(_Step.DECIDE, spec, ack))

    def abandoned(self, spec: CallSpec, ack: Ack) -> None:
        """The gateway reported the call abandoned: the number is called back."""
        self._timers.after(self._rng.uniform(*self._delay), _Job(_Step.CALL_BACK, spec, ack))

    async def run(self) -> None:
        """Work the steps as they fall due with a few concurrent operators until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._timers.run(self._ready.put_nowait), name="ng112-sim-op-timers")
            for index in range(self._concurrency):
                group.create_task(self._worker(), name=f"ng112-sim-operator-{index}")

    def _later(self, delay: float, job: _Job, step: _Step) -> None:
        job.step = step
        self._timers.after(delay, job)

    def _out_of_service(self, spec: CallSpec, now: float) -> float | None:
        outage = self._outage
        if outage is None or spec.plate != outage.plate:
            return None
        if outage.from_s <= now < outage.to_s:
            return outage.to_s
        return None

    async def _worker(self) -> None:
        steps = {
            _Step.DECIDE: self._decide,
            _Step.CALL_BACK: self._call_back,
            _Step.AGENCY: self._agency,
            _Step.RESOLVE: self._resolve,
            _Step.CLOSE: self._close_incident,
            _Step.FOLLOW: self._follow,
        }
        while True:
            job = await self._ready.get()
            back = self._out_of_service(job.spec, self._clock())
            if back is not None and job.step in {_Step.DECIDE, _Step.CALL_BACK}:
                self.stats.deferred_by_outage += 1
                self._timers.at(back + self._rng.uniform(*self._delay), job)
                continue
            await steps[job.step](job)
            self.acted.set()

    async def _action(self, job: _Job, action: str, **extra: Any) -> dict[str, Any] | None:
        """Post an action on the job's incident; ng112's answer when it made it (200)."""
        body: dict[str, Any] = {"action": action, **extra}
        suffix = "op" if job.step is _Step.DECIDE else job.step.value
        body["client_request_id"] = f"{job.spec.client_request_id}-{suffix}"
        url = f"{self._base}/api/v1/incidents/{job.ack.incident_id}/actions"
        status, data = await post_settled(self._session, url, body)
        if status != 200:
            self.stats.refused += 1  # e.g. merged meanwhile: not our call to make
            return None
        return data if isinstance(data, dict) else {}

    def _handled(self, job: _Job) -> None:
        if self.on_handled is not None:
            self.on_handled(job.spec, job.ack)

    # -- steps ---------------------------------------------------------------------------

    async def _decide(self, job: _Job) -> None:
        """The call-taker's decision: queue a legitimate call, or mark the call unfounded."""
        spec = job.spec
        if spec.disposition is not Disposition.LEGITIMATE:
            reason = spec.unfounded_reason or "silent"
            if await self._action(job, "unfounded", unfounded_reason=reason) is not None:
                self.stats.unfounded += 1
            self._handled(job)
            return
        if not self._queue_legitimate:
            self._handled(job)
            return
        queued = await self._action(job, "queue")
        self._handled(job)
        if queued is None:
            return
        self.stats.queued += 1
        unit_id = None
        if self._dispatch_within > 0:
            incident = queued.get("incident")
            agencies = incident.get("agencies") if isinstance(incident, dict) else None
            unit_id = await self._dispatch(job.ack.incident_id, agencies or [])
        if unit_id is not None:
            job.unit_id, job.since = unit_id, self._clock()
            self._later(self._follow_s, job, _Step.FOLLOW)
        elif self._conclude:
            self._later(0.0, job, _Step.AGENCY)

    async def _call_back(self, job: _Job) -> None:
        """Call the abandoned number back (its callback leaves the list)."""
        url = f"{self._base}/api/v1/callbacks/{job.ack.call_id}/done"
        outcome = self._rng.choice(_CALLBACK_OUTCOMES)
        status, _ = await post_settled(self._session, url, {"outcome": outcome})
        if status == 200:
            self.stats.called_back += 1
        elif status != 404:  # 404: no longer waiting (the number called again meanwhile)
            self.stats.refused += 1

    async def _agency(self, job: _Job) -> None:
        """The agency sends a unit of its own: the incident is dispatched."""
        reason = "dispatched by the agency (a unit outside the simulated fleet)"
        if await self._action(job, "dispatch", reason=reason) is not None:
            self.stats.agency_dispatched += 1
            self._later(self._rng.uniform(*self._respond), job, _Step.RESOLVE)

    async def _resolve(self, job: _Job) -> None:
        if await self._action(job, "resolve") is not None:
            self.stats.resolved += 1
            self._later(self._rng.uniform(*self._close), job, _Step.CLOSE)
        elif job.unit_id is not None:  # ng112 resolved it meanwhile (the unit's report)
            self._later(self._follow_s, job, _Step.FOLLOW)

    async def _close_incident(self, job: _Job) -> None:
        if await self._action(job, "close") is not None:
            self.stats.closed += 1

    async def _follow(self, job: _Job) -> None:
        """A fleet unit was sent: close once resolved; resolve if the unit came back."""
        status = await self._status_of(job.ack.incident_id)
        if status == "resolved":
            self._later(self._rng.uniform(*self._close), job, _Step.CLOSE)
            return
        if status is None or status in _FINAL:
            return
        waited = self._clock() - job.since
        if waited >= self._follow_for_s or await self._unit_back(job):
            job.step = _Step.RESOLVE
            await self._resolve(job)
            return
        self._later(self._follow_s, job, _Step.FOLLOW)

    async def _get(self, path: str) -> Any:
        """GET JSON from the engine; None when it did not answer 200."""
        try:
            async with self._session.get(f"{self._base}{path}") as response:
                return await response.json() if response.status == 200 else None
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def _status_of(self, incident_id: str) -> str | None:
        incident = await self._get(f"/api/v1/incidents/{incident_id}")
        return str(incident["status"]) if isinstance(incident, dict) else None

    async def _unit_back(self, job: _Job) -> bool:
        """Whether the unit sent to the job's incident is available again (and not on it)."""
        found = await self._get("/api/v1/units?status=available")
        units = found.get("units", []) if isinstance(found, dict) else []
        return any(unit.get("unit_id") == job.unit_id for unit in units)

    async def _dispatch(self, incident_id: str, agencies: list[str]) -> str | None:
        """Send the recommended unit of the incident's first agency, if it is near enough.

        A dispatcher's move, simplified: one unit, the recommended one, and only within
        ``dispatch_within_s`` of travel (a unit two provinces away is not sent). Returns
        the unit sent, if any.
        """
        base = f"/api/v1/incidents/{incident_id}"
        if not agencies:
            self.stats.no_unit += 1
            return None
        found = await self._get(f"{base}/recommendations?agency={agencies[0]}")
        near = [
            r
            for r in (found or {}).get("recommendations", [])
            if r["travel_time_s"] is not None and r["travel_time_s"] <= self._dispatch_within
        ]
        if not near:
            self.stats.no_unit += 1
            return None
        unit_id = str(near[0]["unit_id"])
        sent = False
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with self._session.post(
                f"{self._base}{base}/dispatch", json={"unit_id": unit_id}
            ) as response:
                await response.read()
                sent = response.status == 201
        if not sent:
            self.stats.refused += 1  # taken by another incident meanwhile, or unreachable
            return None
        self.stats.dispatched += 1
        return unit_id
