"""The simulators' exceptions, under one root.

Tree::

    SimulatorError
    ├── ScenarioError      a scenario file is missing, not TOML, or fails validation
    ├── DataError          a bundled data table is missing or malformed
    ├── EngineUnavailable  the engine did not answer within the allowed time
    └── FleetRefused       the engine refused to register a simulated unit

:func:`raise_if_cancelled` gives back a cancellation a library turned into its own error.
"""

from __future__ import annotations

import asyncio


class SimulatorError(Exception):
    """Root of every simulator error."""


class ScenarioError(SimulatorError):
    """A scenario could not be loaded; the message lists each problem with its location."""


class DataError(SimulatorError):
    """A bundled data table is missing or malformed."""


class EngineUnavailable(SimulatorError):  # noqa: N818 - names the condition
    """The engine did not answer (start-up, health check or a request) in time."""


class FleetRefused(SimulatorError):  # noqa: N818 - names the condition
    """The engine refused to register a simulated unit (the HTTP status says why)."""


def raise_if_cancelled() -> None:
    """Raise ``CancelledError`` if this task is being cancelled; call it in an ``except``.

    aiomqtt may end an ``async with Client()`` that was cancelled from outside with an
    ``MqttError`` (raised while disconnecting on the way out), so a reconnecting loop that
    catches ``MqttError`` would swallow the cancellation and connect again: a simulated
    device that never stops, and a demo that never finishes stopping.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
