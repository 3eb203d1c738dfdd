"""Ports: the protocols through which dispatch's service uses other packages and the world.

Other packages implement these (``routing`` places points; a clock is injected), and
channel packages call the service through :class:`Intake`. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from dispatch.core.archive import ArchiveHold
from dispatch.core.decide import DecidedCall, IncidentAction, ReceiveCall
from dispatch.core.projections import Recorded, State
from dispatch.model.access import Principal
from dispatch.model.events import Event
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.values import Placement


class Clock(Protocol):
    """Where the engine gets the time; tests inject a controlled one."""

    def now(self) -> datetime:
        """The current aware UTC time."""
        ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        """The current aware UTC time."""
        return datetime.now(UTC)


class Locator(Protocol):
    """Places a point: il, ilçe, ground (``routing`` implements it)."""

    def place(self, lat: float, lon: float, radius_m: float | None) -> Placement:
        """Where the point falls."""
        ...


class NoLocator:
    """A locator that knows nothing (used where no boundaries are loaded)."""

    def place(self, lat: float, lon: float, radius_m: float | None) -> Placement:  # noqa: ARG002
        """Every point is of unknown placement."""
        return Placement(in_service_area=False, at_sea=False)


class FrontUnavailable(RuntimeError):  # noqa: N818 - names the condition
    """No front process can take a batch now: decide it on the engine's loop instead."""


class CallFront(Protocol):
    """Decides gateways' call batches in other processes, beside the engine's loop.

    Parsing, locating, classifying and deciding a new call depend on no engine state, so
    they can run elsewhere; the engine still recognises retries and commits.
    """

    @property
    def ready(self) -> bool:
        """Whether a front process is up to take batches."""
        ...

    async def decide(self, body: bytes) -> Sequence[DecidedCall]:
        """A batch body's calls, decided in order.

        Raises the HTTP layer's error for a bad body (the same as deciding on the loop
        would) and :class:`FrontUnavailable` when no front process can answer.
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAck:
    """What an ingest answers once the call is committed."""

    call_id: CallId
    incident_id: IncidentId
    seq: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttEndpoint:
    """Where the MQTT broker is: the embedded one or an external cluster."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


class Intake(Protocol):
    """How channel packages hand calls and other events to the engine."""

    async def receive_call(self, command: ReceiveCall, principal: Principal) -> CallAck:
        """Commit a new call (idempotent on the command's key) and acknowledge it."""
        ...

    async def record(self, events: Sequence[Event]) -> list[Recorded]:
        """Commit events produced by a channel's own pure logic."""
        ...


class Snapshotting(Protocol):
    """A package's projection that can be saved at a sequence number and restored.

    The engine saves every participant's :meth:`snapshot` together, at one sequence
    number, and at the next start restores them all and folds only the events after it.
    What ``snapshot`` returns must be picklable, must not share mutable objects with
    the live projection (the engine pickles it at once, before the next event is folded)
    and must hold everything the package's fold needs to go on as if it had folded the
    log up to that point. Bump ``snapshot_version`` whenever that shape changes: a
    snapshot whose names and versions do not all match is ignored and the whole log is
    folded instead.
    """

    snapshot_name: str
    snapshot_version: int

    def snapshot(self) -> object:
        """The projection's state after the last folded event."""
        ...

    def restore(self, state: object) -> None:
        """Replace the projection's state with one :meth:`snapshot` returned."""
        ...


class EnginePort(Intake, Protocol):
    """What packages may use of the running engine (``dispatch.service.Engine`` is one)."""

    @property
    def state(self) -> State:
        """The projections (read only for packages)."""
        ...

    @property
    def clock(self) -> Clock:
        """The engine's clock."""
        ...

    @property
    def locator(self) -> Locator:
        """The engine's locator."""
        ...

    def subscribe(
        self,
        listener: Callable[[Sequence[Recorded]], None],
        *,
        replay: Callable[[Sequence[Recorded]], None] | None = None,
        prepare: Callable[[], Awaitable[None]] | None = None,
        rebuilt: Callable[[], None] | None = None,
        snapshot: Snapshotting | None = None,
    ) -> None:
        """Call ``listener`` with every committed batch, in order, after commit.

        At start ``prepare`` is awaited, the log is folded through ``replay``
        (``listener`` if none), then ``rebuilt`` is called once. A package that passes
        ``snapshot`` is restored from the newest compatible snapshot instead, and only
        the events after it are folded.
        """
        ...

    async def last_recorded(self, event_type: str) -> Recorded | None:
        """The newest committed event of a type, or ``None``."""
        ...

    def hold_archive(self, hold: ArchiveHold) -> None:
        """Keep a concluded incident in memory while ``hold(incident, calls)`` is true."""
        ...

    async def original(self, key: str) -> Recorded | None:
        """The committed event that first carried an idempotency key, or ``None``.

        Use this, not ``state.original``, to answer a retry: the state keeps only recent
        keys' events, and this reads older ones back from the log.
        """
        ...

    async def act(
        self,
        incident_id: str,
        command: IncidentAction,
        principal: Principal,
        *,
        also: Sequence[Event] = (),
    ) -> list[Recorded]:
        """An operator's action on an incident (with ``also`` committed in the same append)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageContext:
    """What the composition root hands each package's ``install``.

    ``section`` is the package's own table from the settings file (``[ecall]``,
    ``[intake]`` ...), validated by the package itself.
    """

    engine: EnginePort
    mqtt: MqttEndpoint | None
    section: Mapping[str, Any]
    development_mode: bool = True
    database: tuple[str, str | None] | None = None
    """The event log's database URL and schema, for a package whose helper process reads
    the log itself (``None`` where the engine is given no database of its own)."""
