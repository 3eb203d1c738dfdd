"""The ``[ecall]`` settings table: where vehicles publish and how the gateway answers.

The composition root hands the table to :func:`load_ecall_settings` untouched; unknown
keys and out-of-range values are refused at start, with pydantic's reason.

Example (``ng112.toml``)::

    [ecall]
    topic_prefix = "ng112/ecall"      # vehicles publish to {prefix}/{vin}/msd
    update_window_s = 3600            # EN 16062 T9: a new MSD within an hour updates the case
    honour_response_topic = true      # MQTT 5 only: also answer on the device's response topic
    mqtt_protocol = "3.1.1"           # the embedded amqtt broker speaks only 3.1.1
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["EcallSettings", "load_ecall_settings"]


class EcallSettings(BaseModel):
    """The validated ``[ecall]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic_prefix: str = Field(default="ng112/ecall", min_length=1, max_length=200)
    """Vehicles publish to ``{topic_prefix}/{vin}/msd`` and read ``{topic_prefix}/{vin}/ack``."""
    update_window_s: float = Field(default=3600.0, gt=0, le=7 * 86400)
    """A new messageIdentifier from a VIN within this many seconds of its last MSD updates
    the same case (EN 16062 T9, the one-hour call-back period); later, it opens a new one."""
    honour_response_topic: bool = True
    """With MQTT 5, also publish the ack to the message's response topic with its
    correlation data. Ignored on MQTT 3.1.1, which has neither."""
    mqtt_protocol: Literal["3.1.1", "5"] = "3.1.1"
    """The protocol the gateway speaks to the broker."""
    mqtt_enabled: bool = True
    """Run the MQTT gateway when a broker is configured (HTTP ingest runs regardless)."""
    max_in_flight: int = Field(default=256, ge=1, le=100_000)
    """MSDs being committed at once; the receive loop waits when this many are in flight."""
    reconnect_min_s: float = Field(default=0.2, gt=0, le=60)
    """First back-off after the broker goes away; doubles up to ``reconnect_max_s``."""
    reconnect_max_s: float = Field(default=10.0, gt=0, le=600)

    @field_validator("topic_prefix")
    @classmethod
    def _plain_prefix(cls, value: str) -> str:
        if any(char in value for char in "+#\x00") or value.startswith("$"):
            raise ValueError("the topic prefix may not hold wildcards, NUL or start with $")
        if value.startswith("/") or value.endswith("/") or "//" in value:
            raise ValueError("the topic prefix has no leading, trailing or empty levels")
        return value


def load_ecall_settings(section: Mapping[str, Any]) -> EcallSettings:
    """Validate the ``[ecall]`` table (raises pydantic's ``ValidationError``)."""
    settings = EcallSettings.model_validate(dict(section))
    if settings.reconnect_max_s < settings.reconnect_min_s:
        raise ValueError("reconnect_max_s must be at least reconnect_min_s")
    return settings
