"""A cancellation a library turned into its own error is given back, and only then."""

from __future__ import annotations

import asyncio

import pytest

from simulators.errors import raise_if_cancelled


class LibraryError(Exception):
    """What a client library raises while disconnecting on the way out."""


async def _reconnecting(attempts: list[int], connected: asyncio.Event) -> None:
    """A device's loop: connect, work, and on the library's error connect again."""
    while True:
        try:
            try:
                attempts.append(len(attempts) + 1)
                connected.set()
                await asyncio.Event().wait()  # working until the connection ends
            finally:
                raise LibraryError("disconnected")  # replaces whatever ended the work
        except LibraryError:
            raise_if_cancelled()


async def test_a_cancelled_reconnecting_loop_stops() -> None:
    """Cancelled from outside, the loop ends cancelled instead of connecting again."""
    attempts: list[int] = []
    connected = asyncio.Event()
    task = asyncio.create_task(_reconnecting(attempts, connected))
    await connected.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):  # a swallowed cancellation would loop on instead
            await task
    assert attempts == [1]


async def test_a_library_error_alone_is_left_to_the_caller() -> None:
    """Not being cancelled, the call returns: the loop may go on and reconnect."""
    raise_if_cancelled()  # returns
    current = asyncio.current_task()
    assert current is not None
    assert current.cancelling() == 0
