"""Timers hand each item out when it is due, in time order, however they were put in."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.timers import Timers


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@settings(max_examples=200)
@given(dues=st.lists(st.floats(0.0, 100.0), max_size=60), now=st.floats(0.0, 100.0))
def test_due_items_come_out_in_time_order_and_only_when_due(dues: list[float], now: float) -> None:
    """At ``now``: every item due by then, earliest first (ties in insertion order)."""
    clock = Clock()
    timers: Timers[int] = Timers(clock)
    for index, due in enumerate(dues):
        timers.at(due, index)
    clock.now = now
    expected = sorted((due, index) for index, due in enumerate(dues) if due <= now)
    assert timers.due() == [index for _, index in expected]
    assert len(timers) == len(dues) - len(expected)


def test_items_beyond_the_limit_are_dropped_and_counted() -> None:
    """A full heap refuses more items rather than growing without bound."""
    timers: Timers[str] = Timers(Clock(), limit=2)
    for item in ("a", "b", "c"):
        timers.after(1.0, item)
    assert (len(timers), timers.dropped) == (2, 1)


async def test_an_earlier_item_wakes_the_waiting_loop() -> None:
    """The loop waits for a far item; an item due now is delivered without waiting for it."""
    loop = asyncio.get_running_loop()
    timers: Timers[str] = Timers(loop.time)
    delivered: list[str] = []
    arrived = asyncio.Event()

    def deliver(item: str) -> None:
        delivered.append(item)
        arrived.set()

    timers.after(3600.0, "far")
    running = asyncio.create_task(timers.run(deliver))
    await asyncio.sleep(0)  # the loop is waiting for "far"
    timers.after(0.0, "now")
    async with asyncio.timeout(5):
        await arrived.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert delivered == ["now"]
    assert len(timers) == 1
