"""Settings: one frozen object built at start and passed down; defaults are embedded mode.

Precedence, lowest first: defaults, the TOML file (``--config`` or ``NG112_CONFIG``),
environment variables (``NG112_HOST``, ``NG112_PORT``, ``NG112_DB`` ...), command-line
options. Nothing reads the environment at import time: :func:`load_settings` is called by
the CLI with the environment it was given.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dispatch.app.event_loop import EventLoopName
from dispatch.model.vocabulary import Agency, Role


class TokenGrant(BaseModel):
    """A bearer token and the principal it authenticates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str = Field(min_length=16)
    subject: str
    role: Role
    province: int | None = Field(default=None, ge=1, le=81)
    centre: str | None = None
    agency: Agency | None = None


class Settings(BaseModel):
    """Everything a running ng112 process is told."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8112, ge=0, le=65535)
    db: str = "sqlite+aiosqlite:///./var/ng112.db"
    db_schema: str | None = None
    body_limit: int = Field(default=64 * 1024, ge=1024)
    group_commit: bool = True
    max_batch: int = Field(default=5000, ge=1)
    stream_queue: int = Field(default=16384, ge=4)
    """Events a stream subscriber may lag behind before it is resynced from the log. One
    group commit publishes up to thousands of events at once in a surge, so the queue must
    hold more than a commit; its entries share each event's encoded bytes (about 100 bytes
    per entry per subscriber)."""
    boundaries: Path | None = None
    load_boundaries: bool = True
    development_mode: bool = True
    tokens: tuple[TokenGrant, ...] = ()
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    access_log: bool = False
    gc_freeze_interval_s: float = Field(default=5.0, gt=0)
    gc_full_every: int = Field(default=100, ge=1, le=100_000)
    """Young (generation 1) collections before a full one is considered (CPython: 10)."""
    archive_after_s: float = Field(default=3600.0, ge=0)
    """How long a concluded incident stays in memory (and on live screens) before archiving."""
    archive_every_s: float = Field(default=10.0, gt=0)
    """How often the archivist looks for incidents to archive."""
    snapshot_every_events: int = Field(default=200_000, ge=0)
    """Save the projections after this many new events (0: only at a clean stop)."""
    snapshot_min_interval_s: float = Field(default=60.0, ge=0)
    """At most one snapshot this often: in a surge the child's CPU belongs to the engine."""
    snapshot_on_stop: bool = True
    call_front_workers: int = Field(default=0, ge=0, le=16)
    """Processes that parse, locate, classify and decide gateways' call batches beside the
    engine's loop (``dispatch.app.call_front``); 0 decides them on the loop."""
    event_loop: EventLoopName = "uvloop"
    """``uvloop`` (asyncio's loop where uvloop is not installed) or ``asyncio``."""
    mqtt_url: str | None = None
    embedded_broker: bool = True
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=18830, ge=0, le=65535)
    tile_url: str | None = None
    # Each package validates its own table ([routing], [ecall], [intake] ...).
    routing: dict[str, Any] = Field(default_factory=dict)
    ecall: dict[str, Any] = Field(default_factory=dict)
    intake: dict[str, Any] = Field(default_factory=dict)
    call_taking: dict[str, Any] = Field(default_factory=dict)
    language_desk: dict[str, Any] = Field(default_factory=dict)
    units: dict[str, Any] = Field(default_factory=dict)
    gamer_coordination: dict[str, Any] = Field(default_factory=dict)
    simulators: dict[str, Any] = Field(default_factory=dict)


_ENV = {
    "NG112_HOST": "host",
    "NG112_PORT": "port",
    "NG112_DB": "db",
    "NG112_DB_SCHEMA": "db_schema",
    "NG112_MQTT_URL": "mqtt_url",
    "NG112_MQTT_PORT": "mqtt_port",
    "NG112_EVENT_LOOP": "event_loop",
    "NG112_BOUNDARIES": "boundaries",
}


def load_settings(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings from a TOML file, the environment and explicit overrides."""
    environ = environ or {}
    values: dict[str, Any] = {}
    path = config_file or (Path(environ["NG112_CONFIG"]) if "NG112_CONFIG" in environ else None)
    if path is not None:
        with path.open("rb") as handle:
            values.update(tomllib.load(handle))
    for name, field in _ENV.items():
        if name in environ:
            values[field] = environ[name]
    values.update({f: v for f, v in (overrides or {}).items() if v is not None})
    return Settings.model_validate(values)
