"""Things the simulated people do later: a heap of items due at clock times.

The simulated gateway (a caller hangs up when the announcement is over) and the simulated
dispatchers (an incident is resolved half an hour after its dispatch) put items in with
:meth:`Timers.at`; :meth:`Timers.run` hands each to its consumer when it is due. One
waiting loop serves any number of items, and an item put in earlier than every other
wakes it, so no item waits behind a later one.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Timers"]

T = TypeVar("T")


class Timers(Generic[T]):
    """Items due at times of ``clock`` (seconds), handed out in time order when due."""

    def __init__(self, clock: Callable[[], float], *, limit: int = 200_000) -> None:
        self._clock = clock
        self._limit = limit
        self._heap: list[tuple[float, int, T]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self.dropped = 0
        """Items refused because ``limit`` items were waiting already."""

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, due: float, item: T) -> None:
        """Hand ``item`` out at ``due`` (at once if that has passed)."""
        if len(self._heap) >= self._limit:
            self.dropped += 1
            return
        heapq.heappush(self._heap, (due, next(self._order), item))
        if self._heap[0][2] is item:
            self._wake.set()

    def after(self, delay: float, item: T) -> None:
        """Hand ``item`` out ``delay`` seconds from now."""
        self.at(self._clock() + delay, item)

    def due(self) -> list[T]:
        """Take out the items due now, earliest first."""
        now = self._clock()
        heap = self._heap
        ready: list[T] = []
        while heap and heap[0][0] <= now:
            ready.append(heapq.heappop(heap)[2])
        return ready

    async def run(self, deliver: Callable[[T], None]) -> None:
        """Deliver every item when it is due, until cancelled."""
        while True:
            for item in self.due():
                deliver(item)
            self._wake.clear()
            wait = self._heap[0][0] - self._clock() if self._heap else None
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass
