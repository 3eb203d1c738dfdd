"""Keep the garbage collector's full collections off the latency path.

ng112 holds its projections in memory: millions of long-lived objects. CPython's full
(generation 2) collection walks every tracked object, and measured under load here it
paused the event loop for 100-300 ms at a time, which showed as the p99 of call
acknowledgements. Long-lived objects do not need to be walked again and again, so once
start-up is done (log replayed, boundaries and models loaded) everything alive is moved
to the permanent generation with :func:`gc.freeze`, and the same is done periodically for
what survived since. Young generations are still collected as usual, so short-lived
cycles (tasks, exceptions) are reclaimed; a cycle that became garbage only after being
frozen is not, which for projections that live as long as the process is the trade.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterator

from aiohttp import web

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def bulk_load() -> Iterator[None]:
    """No collections while the log is replayed; what the replay built is frozen after.

    Replaying builds millions of long-lived objects and almost no garbage, yet each young
    collection walks what was allocated since the last one and the full ones walk all of
    it: a fifth of the start-up time went to the collector. With collections off, the
    objects wait in the young generation and :func:`gc.freeze` moves them out in one
    splice, before anything walks them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def freeze_survivors() -> None:
    """Collect the young generations, then freeze whatever survived.

    Cheap: a young collection and a list splice. (Counting the frozen objects is not:
    ``gc.get_freeze_count`` walks all of them, tens of milliseconds with millions.)
    """
    gc.collect(1)
    gc.freeze()


def gc_lifespan(
    interval_s: float, full_every: int = 10
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that freezes at start and then every ``interval_s`` seconds.

    ``full_every`` young collections must pass before CPython considers a full one (its
    default is 10). Between two freezes the full collections only walk what survived since
    the last freeze, yet under load that is hundreds of thousands of objects: 15-50 ms
    pauses every two seconds at 1,000 calls/s, the tail of the latency. The default
    setting (100) makes them rare; a process that makes lots of cyclic garbage can lower it.
    """

    async def lifespan(_app: web.Application) -> AsyncIterator[None]:
        thresholds = gc.get_threshold()
        gc.set_threshold(thresholds[0], thresholds[1], full_every)
        freeze_survivors()
        logger.info(
            "garbage collector: %d long-lived objects frozen at start", gc.get_freeze_count()
        )
        async with asyncio.TaskGroup() as tasks:
            loop = tasks.create_task(_periodically(interval_s), name="ng112-gc-freeze")
            try:
                yield
            finally:
                loop.cancel()
        gc.unfreeze()
        gc.set_threshold(*thresholds)

    return lifespan


async def _periodically(interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)  # a period, not synchronisation
        freeze_survivors()
