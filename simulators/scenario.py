"""Scenario files: what traffic to offer, written in TOML and validated before anything runs.

A scenario describes a normal day (its speed, start hour and mix) and optional events on
top of it: an earthquake in a region, a centre out of service, a broker restart, a burst
of malformed inputs. Every table forbids unknown keys, so a typo is an error with its
location, never a silent default. The bundled scenarios live in ``simulators/scenarios``;
a user can copy and edit them.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulators.errors import ScenarioError

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Mix(BaseModel):
    """Shares of legitimate, false and hung-up calls (2024-2025: 37.6/28.8/33.6 %)."""

    model_config = _STRICT

    legitimate: float = Field(default=0.376, ge=0, le=1)
    false: float = Field(default=0.288, ge=0, le=1)
    hung_up: float = Field(default=0.336, ge=0, le=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> Self:
        total = self.legitimate + self.false + self.hung_up
        if abs(total - 1.0) > 0.01:
            raise ValueError(f"shares must sum to 1 (they sum to {total:.3f})")
        return self


class Channels(BaseModel):
    """Shares of calls arriving by a channel other than a phone call (the rest are phone)."""

    model_config = _STRICT

    ecall: float = Field(default=0.0032, ge=0, le=1)
    text: float = Field(default=0.001, ge=0, le=1)
    sign_video: float = Field(default=0.0002, ge=0, le=1)
    panic_app: float = Field(default=0.003, ge=0, le=1)

    @model_validator(mode="after")
    def _room_for_phone(self) -> Self:
        if self.ecall + self.text + self.sign_video + self.panic_app > 1.0:
            raise ValueError("channel shares leave no room for phone calls (sum > 1)")
        return self


class Foreign(BaseModel):
    """Foreign-language callers: a national share, concentrated by ``weights`` per plate."""

    model_config = _STRICT

    share: float = Field(default=0.0008, ge=0, le=1)
    weights: dict[str, float] = Field(
        default_factory=lambda: {"7": 30.0, "48": 25.0, "34": 4.0},
        description="plate -> how many times the national share applies there",
    )
    default_weight: float = Field(default=0.3, ge=0)

    @model_validator(mode="after")
    def _plates(self) -> Self:
        for plate in self.weights:
            if not plate.isdigit() or not 1 <= int(plate) <= 81:
                raise ValueError(f"weights: {plate!r} is not a plate 1..81")
        return self


def _check_range(name: str, span: tuple[float, float]) -> None:
    low, high = span
    if not 0 <= low <= high:
        raise ValueError(f"{name} must be [low, high] with 0 <= low <= high")


class Operator(BaseModel):
    """The simulated operators and dispatchers (``simulators.operators``).

    They mark false and hung-up calls unfounded and queue the rest ``delay_s`` (wall
    seconds) after the call; with ``conclude`` every queued incident is then concluded:
    the agency dispatches it, resolves it ``respond_s`` later and the dispatcher closes
    it ``close_s`` after that (scenario seconds). A unit of the simulated fleet within
    ``dispatch_within_s`` of travel is sent instead, and the incident closed once the
    unit has been on scene and is back.
    """

    model_config = _STRICT

    enabled: bool = True
    delay_s: tuple[float, float] = (1.0, 8.0)
    queue_legitimate: bool = True
    dispatch_within_s: float = Field(default=0.0, ge=0.0, le=86_400.0)
    """Send the recommended unit when it is at most this many seconds away (0: never)."""
    conclude: bool = True
    respond_s: tuple[float, float] = (900.0, 3600.0)
    close_s: tuple[float, float] = (60.0, 600.0)

    @model_validator(mode="after")
    def _order(self) -> Self:
        _check_range("delay_s", self.delay_s)
        _check_range("respond_s", self.respond_s)
        _check_range("close_s", self.close_s)
        return self


class Gateway(BaseModel):
    """The phone gateway (``simulators.gateway``): how simulated phone calls end.

    A caller who hangs up does so during the announcement, ``announce_s`` after the call
    arrived; where call-takers answer the queues, a caller nobody answered within
    ``patience_s`` hangs up too (scenario seconds).
    """

    model_config = _STRICT

    enabled: bool = True
    announce_s: tuple[float, float] = (2.0, 10.0)
    patience_s: float = Field(default=300.0, gt=0, le=86_400.0)

    @model_validator(mode="after")
    def _order(self) -> Self:
        _check_range("announce_s", self.announce_s)
        return self


class CallTakers(BaseModel):
    """Call-takers at the centres (``simulators.call_takers``) answering the engine's queues.

    ``operators`` in all, spread by population (at least one per centre, four at the
    central desk); ``handle_s`` is how long a call takes from answer to wrap-up in
    scenario seconds; ``idle_s`` how long (wall seconds) an operator with nothing to do
    waits before asking again.
    """

    model_config = _STRICT

    enabled: bool = False
    operators: int = Field(default=300, ge=85, le=10_000)
    handle_s: tuple[float, float] = (60.0, 180.0)
    idle_s: float = Field(default=1.0, gt=0, le=60)

    @model_validator(mode="after")
    def _order(self) -> Self:
        _check_range("handle_s", self.handle_s)
        return self


class Ecall(BaseModel):
    """Vehicles: how MSDs travel and how many are tests."""

    model_config = _STRICT

    transport: Literal["http", "mqtt"] = "http"
    test_call_share: float = Field(default=0.6, ge=0, le=1)
    manual_share: float = Field(default=0.3, ge=0, le=1)
    resend_interval_s: float = Field(default=2.0, gt=0, le=60)


class Earthquake(BaseModel):
    """A strong earthquake: a jump in calls, most about a few collapsed buildings."""

    model_config = _STRICT

    plate: int | None = Field(default=None, ge=1, le=81)
    lat: float | None = Field(default=None, ge=35, le=43)
    lon: float | None = Field(default=None, ge=25, le=45)
    at_s: float = Field(default=30.0, ge=0)
    multiplier: float = Field(default=15.0, ge=1, le=10_000)
    ramp_s: float = Field(default=60.0, ge=0)
    decay_s: float = Field(default=600.0, gt=0)
    radius_km: float = Field(default=40.0, gt=0, le=300)
    buildings: int = Field(default=5, ge=1, le=1000)
    building_share: float = Field(default=0.7, ge=0, le=1)
    position_noise_m: float = Field(default=150.0, ge=0, le=10_000)

    @model_validator(mode="after")
    def _where(self) -> Self:
        has_point = self.lat is not None or self.lon is not None
        if self.plate is None and not has_point:
            raise ValueError("give the epicentre as plate or as lat and lon")
        if has_point and (self.lat is None or self.lon is None):
            raise ValueError("lat and lon go together")
        return self


class Outage(BaseModel):
    """A centre out of service: its operators stop answering between ``from_s`` and ``to_s``."""

    model_config = _STRICT

    plate: int = Field(ge=1, le=81)
    from_s: float = Field(ge=0)
    to_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.to_s <= self.from_s:
            raise ValueError("to_s must be after from_s")
        return self


class BrokerRestart(BaseModel):
    """The MQTT broker goes away at ``at_s`` for ``down_s`` seconds."""

    model_config = _STRICT

    at_s: float = Field(ge=0)
    down_s: float = Field(default=5.0, gt=0, le=600)


class Malformed(BaseModel):
    """A burst of malformed inputs at ``at_s``; each must be refused with a 4xx."""

    model_config = _STRICT

    at_s: float = Field(default=10.0, ge=0)
    count: int = Field(default=200, ge=1, le=1_000_000)


class Units(BaseModel):
    """Unit fleets (``simulators.unit_fleet``): units that report, take orders and move.

    Give ``count_per_agency`` (that many units of each agency in each plate) or ``count``
    (a total, spread round-robin over plates and agencies). ``speed_kmh`` is the units'
    wall-clock speed (straight-line toward the order's location), ``step_s`` how often a
    moving unit reports its position and ``on_scene_s`` how long it stays at a scene.
    """

    model_config = _STRICT

    enabled: bool = False
    count: int | None = Field(default=None, ge=1, le=10_000)
    count_per_agency: int | None = Field(default=None, ge=1, le=1_000)
    agencies: tuple[Literal["health", "police", "fire", "gendarmerie", "afad"], ...] = (
        "health",
        "police",
        "fire",
    )
    plates: tuple[int, ...] = (34,)
    speed_kmh: float = Field(default=60.0, gt=0, le=100_000)
    step_s: float = Field(default=1.0, gt=0, le=60)
    on_scene_s: float = Field(default=10.0, ge=0, le=3600)
    resend_interval_s: float = Field(default=2.0, gt=0, le=60)

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        if self.count is not None and self.count_per_agency is not None:
            raise ValueError("give count or count_per_agency, not both")
        if not self.agencies:
            raise ValueError("agencies must name at least one agency")
        if not self.plates or any(not 1 <= plate <= 81 for plate in self.plates):
            raise ValueError("plates must be one or more plates 1..81")
        return self

    @property
    def total(self) -> int:
        """How many units the fleet has (default: one per agency and plate)."""
        if self.count is not None:
            return self.count
        return (self.count_per_agency or 1) * len(self.agencies) * len(self.plates)


class Scenario(BaseModel):
    """One scenario file."""

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    seed: int = 112
    duration_s: float = Field(default=0.0, ge=0, description="wall seconds; 0 runs until stopped")
    speed: float = Field(default=1.0, ge=1, le=100)
    start_hour: float = Field(default=18.0, ge=0, lt=24)
    base_rate_per_s: float = Field(default=3.1, gt=0, le=100)
    rate_multiplier: float = Field(default=1.0, gt=0, le=100_000)
    max_in_flight: int = Field(default=256, ge=1, le=100_000)
    mix: Mix = Field(default_factory=Mix)
    channels: Channels = Field(default_factory=Channels)
    foreign: Foreign = Field(default_factory=Foreign)
    operator: Operator = Field(default_factory=Operator)
    call_takers: CallTakers = Field(default_factory=CallTakers)
    gateway: Gateway = Field(default_factory=Gateway)
    ecall: Ecall = Field(default_factory=Ecall)
    earthquake: Earthquake | None = None
    outage: Outage | None = None
    broker_restart: BrokerRestart | None = None
    malformed: Malformed | None = None
    units: Units = Field(default_factory=Units)

    def with_overrides(
        self,
        *,
        speed: float | None = None,
        duration_s: float | None = None,
        rate_multiplier: float | None = None,
    ) -> Scenario:
        """A copy with command-line overrides applied (and validated)."""
        data = self.model_dump()
        for key, value in (
            ("speed", speed),
            ("duration_s", duration_s),
            ("rate_multiplier", rate_multiplier),
        ):
            if value is not None:
                data[key] = value
        return parse_scenario(data, source="command line")


def _reasons(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def parse_scenario(data: dict[str, object], *, source: str) -> Scenario:
    """Validate a scenario's data; :class:`ScenarioError` lists every problem."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {_reasons(exc)}") from None


def bundled_names() -> list[str]:
    """The scenarios shipped with ng112."""
    folder = resources.files("simulators.scenarios")
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    )


def load_scenario(name_or_path: str) -> Scenario:
    """A bundled scenario by name (``normal-day``) or a TOML file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise ScenarioError(f"{path}: cannot read the scenario file") from None
        source = str(path)
    else:
        if name_or_path not in bundled_names():
            known = ", ".join(bundled_names())
            raise ScenarioError(f"no bundled scenario of that name (bundled: {known})")
        entry = resources.files("simulators.scenarios").joinpath(f"{name_or_path}.toml")
        text = entry.read_text(encoding="utf-8")
        source = f"{name_or_path}.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML ({exc})") from None
    return parse_scenario(data, source=source)
