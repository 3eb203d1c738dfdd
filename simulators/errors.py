"""The simulators' exceptions, under one root.

Tree::

    SimulatorError
    ├── ScenarioError      a scenario file is missing, not TOML, or fails validation
    ├── DataError          a bundled data table is missing or malformed
    ├── EngineUnavailable  the engine did not answer within the allowed time
    └── FleetRefused       the engine refused to register a simulated unit
"""

from __future__ import annotations


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
