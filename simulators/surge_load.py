"""The surge benchmark's load: calls drawn, batched and encoded before the clock starts.

``ng112 bench surge`` shares two cores between the engine it measures and its own load
generators. A generator that draws each call, wraps it in a task and a future and encodes
it while it offers it spends about 60 µs of CPU per call; at 5,000 calls/s its two
processes took about 45% of a core, which the engine then waited for (its loop thread was
runnable but not running 13% of the time). A gateway in front of a real centre runs on
other machines. So the benchmark's generators do the drawing before the run:

- :func:`plan_batches` (pure) draws the whole run's calls from the traffic model and
  groups them by the gateway's rule (:class:`~simulators.drivers.BatchSender`): a batch
  goes out when ``max_batch`` calls wait, or ``linger_s`` after its first call arrived,
  whichever comes first; each batch's body is encoded once, there;
- :func:`offer_planned` posts each batch at its time, keeps at most ``max_in_flight``
  calls unacknowledged, and resends a batch until the engine acknowledges it (the engine
  is idempotent on each call's ``client_request_id``).

A call's latency still counts from its own arrival, lingering included; when the
generator falls behind (every in-flight slot taken), from the moment its batch was let go,
as :func:`~simulators.runner.offer_calls` counts it. With ``max_batch`` 1 each call is
posted alone to ``POST /api/v1/calls``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
import orjson

from simulators.drivers import RetryingPoster
from simulators.traffic import TrafficModel


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    """One request of the run: when it goes out, its calls' arrival times, its body."""

    post_at_s: float
    """Seconds after the start: the last call's arrival, or the first's plus the linger."""
    arrivals_s: tuple[float, ...]
    body: bytes

    @property
    def calls(self) -> int:
        """Calls in the request."""
        return len(self.arrivals_s)


def plan_batches(
    model: TrafficModel, *, duration_s: float, max_batch: int, linger_s: float
) -> list[PlannedBatch]:
    """The run's requests, in the order they go out (see the module docstring)."""
    if max_batch < 1 or linger_s < 0 or duration_s <= 0:
        raise ValueError("max_batch must be >= 1, linger_s >= 0 and duration_s > 0")
    plan: list[PlannedBatch] = []
    waiting: list[tuple[float, dict[str, object]]] = []

    def close(post_at: float) -> None:
        if max_batch == 1:
            body = orjson.dumps(waiting[0][1])
        else:
            body = orjson.dumps({"calls": [call for _, call in waiting]})
        plan.append(PlannedBatch(post_at, tuple(t for t, _ in waiting), body))
        waiting.clear()

    for t in model.arrivals(0.0, duration_s):
        if waiting and t > waiting[0][0] + linger_s:
            close(waiting[0][0] + linger_s)
        waiting.append((t, model.call_at(t).body()))
        if len(waiting) >= max_batch:
            close(t)
    if waiting:
        close(waiting[0][0] + linger_s)
    return plan


@dataclass(slots=True)
class PlannedStats:
    """What the planned load offered, and what came back."""

    offered: int = 0
    refused: int = 0
    max_lag_s: float = 0.0
    acks: list[tuple[str, float, float]] = field(default_factory=list)
    """``(call_id, sent_at, acked_at)`` per acknowledged call, ``time.monotonic()``."""


async def offer_planned(
    session: aiohttp.ClientSession,
    base_url: str,
    plan: Sequence[PlannedBatch],
    *,
    max_in_flight: int,
) -> tuple[PlannedStats, RetryingPoster]:
    """Post ``plan`` on schedule; returns what was acknowledged, and the poster's counts."""
    batched = any(batch.calls > 1 for batch in plan)
    endpoint = "/api/v1/calls/batch" if batched else "/api/v1/calls"
    poster = RetryingPoster(session, f"{base_url.rstrip('/')}{endpoint}")
    stats = PlannedStats()
    in_flight: dict[asyncio.Task[None], int] = {}  # each posting task and its calls
    held = 0  # calls posted and not answered yet
    start = time.monotonic()

    def answered(task: asyncio.Task[None]) -> None:
        nonlocal held
        held -= in_flight.pop(task)

    async def post(batch: PlannedBatch, lag: float) -> None:
        answer = await poster.post_until_acknowledged(batch.body)
        if answer is None:
            stats.refused += batch.calls
            return
        data, _ = answer
        acked_at = time.monotonic()
        results = data["results"] if batched else [data]
        for arrival, result in zip(batch.arrivals_s, results, strict=True):
            stats.acks.append((result["call_id"], start + arrival + lag, acked_at))

    async with asyncio.TaskGroup() as group:
        for batch in plan:
            delay = start + batch.post_at_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            while in_flight and held + batch.calls > max_in_flight:
                await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            lag = max(0.0, time.monotonic() - start - batch.post_at_s)
            stats.max_lag_s = max(stats.max_lag_s, lag)
            stats.offered += batch.calls
            task = group.create_task(post(batch, lag))
            in_flight[task] = batch.calls
            held += batch.calls
            task.add_done_callback(answered)
    return stats, poster
