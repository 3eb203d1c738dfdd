"""The `[intake]` settings table: limits, windows and keys of every intake channel.

Validated once at start by `intake.lifespan.install` (pydantic at the edge, `extra="forbid"`,
so a misspelt key is refused at start instead of silently ignored).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["IntakeSettings"]


class IntakeSettings(BaseModel):
    """Every knob of the intake channels, with its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_gateway: str = Field(default="cti", pattern=r"^[A-Za-z0-9._\-]{1,64}$")
    """Gateway id used when a CTI event names none (part of the call's idempotency key)."""
    aml_hmac_key: str | None = Field(default=None, min_length=8, max_length=256)
    """Shared key of the HTTPS AML form's HMAC-SHA1 (UTF-8); None accepts unsigned forms."""
    aml_join_window_s: float = Field(default=600.0, ge=0, le=86_400)
    """How long after a call ended an AML report of the same number still joins it."""
    aml_pending_ttl_s: float = Field(default=300.0, ge=1, le=3_600)
    """How long an AML report that arrived before its call waits for the call event."""
    aml_pending_max: int = Field(default=10_000, ge=1, le=1_000_000)
    """Most AML reports waiting for their call; the oldest is dropped (and counted) beyond."""
    flood_burst: float = Field(default=20.0, ge=1, le=10_000)
    """Requests one number may send at once (token bucket capacity)."""
    flood_per_s: float = Field(default=1.0, gt=0, le=10_000)
    """Requests per second one number may keep sending (token bucket refill)."""
    flood_numbers_max: int = Field(default=100_000, ge=10, le=10_000_000)
    """Most numbers tracked by the flood buckets (idle full buckets are forgotten first)."""
    text_max_chars: int = Field(default=2_000, ge=1, le=100_000)
    """Longest chat message in Unicode code points; longer is refused, never cut."""
    sdp_max_bytes: int = Field(default=16_384, ge=256, le=262_144)
    """Largest SDP offer or answer relayed."""
    ice_max_bytes: int = Field(default=2_048, ge=64, le=16_384)
    """Largest ICE candidate relayed."""
    signal_buffer_max: int = Field(default=64, ge=1, le=4_096)
    """Signalling messages kept for a party that has not joined yet."""
    pidf_point_radius_m: float = Field(default=100.0, ge=1, le=1_000_000)
    """Uncertainty given to a PIDF-LO point without one (fusion needs a radius)."""
    cell_default_radius_m: float = Field(default=5_000.0, ge=1, le=1_000_000)
    """Uncertainty of a cell centroid reported without a radius."""
    app_default_radius_m: float = Field(default=1_000.0, ge=1, le=1_000_000)
    """Uncertainty of an app position reported without accuracy."""
    otp_digits: int = Field(default=6, ge=4, le=10)
    """Digits of a one-time registration code."""
    otp_ttl_s: float = Field(default=300.0, ge=10, le=3_600)
    """Lifetime of a one-time code."""
    otp_max_attempts: int = Field(default=5, ge=1, le=20)
    """Wrong codes accepted before a challenge is void."""
    otp_challenges_max: int = Field(default=100_000, ge=10, le=10_000_000)
    """Most live challenges kept; the oldest is dropped beyond."""
