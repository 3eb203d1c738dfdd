"""Per-key locks: serial per key, parallel across keys, nothing left behind."""

from __future__ import annotations

import asyncio

from dispatch.locks import KeyedLocks


async def test_same_key_runs_in_order_and_other_keys_in_parallel() -> None:
    """Holders of one key never overlap; a different key is not blocked by them."""
    locks = KeyedLocks()
    log: list[str] = []
    release_first = asyncio.Event()
    first_holds = asyncio.Event()

    async def first() -> None:
        async with locks.hold("inc-1"):
            log.append("first in")
            first_holds.set()
            await release_first.wait()
            log.append("first out")

    async def second() -> None:
        async with locks.hold("inc-1"):
            log.append("second in")

    async def other() -> None:
        async with locks.hold("inc-2"):
            log.append("other in")

    task_first = asyncio.create_task(first())
    await first_holds.wait()
    task_second = asyncio.create_task(second())
    await other()
    assert log == ["first in", "other in"], "another key is not blocked"
    assert len(locks) == 1, "inc-2's lock is gone once released"
    release_first.set()
    await asyncio.gather(task_first, task_second)
    assert log == ["first in", "other in", "first out", "second in"]
    assert len(locks) == 0
