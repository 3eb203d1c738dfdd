"""Events the intake channels add to the log (beside dispatch's call and location events).

A phone call, a text or video session and a panic alarm each become a dispatch `CallReceived`;
status changes are `CallStatusChanged` and positions `CallLocated`. What only intake knows is
recorded here. Each event that belongs to an incident has an `incident_id` (so it joins the
incident's timeline); names are stable wire identities, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dispatch.model.events import Event, event_type
from dispatch.model.ids import CallId, IncidentId

__all__ = [
    "AmlReportJoined",
    "AmlReportReceived",
    "AppDeviceVerified",
    "CallbackCompleted",
    "CivicAddressReported",
    "SignVideoNegotiated",
    "TextMessageSent",
]


@event_type("intake_aml_received")
@dataclass(frozen=True, slots=True, kw_only=True)
class AmlReportReceived(Event):
    """An AML report arrived (SMS or HTTPS); `idempotency_key` is the report's own key.

    `number` is the caller's number as normalised by `intake.phone`; `call_id` is set when the
    report joined a call at once, None when it waits for its call (see `AmlReportJoined`).
    """

    report_key: str
    number: str
    transport: str
    version: int
    time: datetime
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    method: str | None = None
    confidence: int | None = None
    home_mcc: str | None = None
    home_mnc: str | None = None
    serving_mcc: str | None = None
    serving_mnc: str | None = None
    language: str | None = None
    call_id: CallId | None = None
    incident_id: IncidentId | None = None


@event_type("intake_aml_joined")
@dataclass(frozen=True, slots=True, kw_only=True)
class AmlReportJoined(Event):
    """An AML report was joined to a call; the SIM's home network travels with it.

    `home_mcc` (three digits) is the language desk's hint: a foreign SIM may mean a foreign
    caller. `language` is the handset's language tag when the report carried one (AML v2).
    """

    report_key: str
    call_id: CallId
    incident_id: IncidentId
    home_mcc: str | None = None
    home_mnc: str | None = None
    language: str | None = None
    order: str = "during"
    """When the report came: `before` the call event, `during` the call, `after` it ended."""


@event_type("intake_civic_address_reported")
@dataclass(frozen=True, slots=True, kw_only=True)
class CivicAddressReported(Event):
    """A PIDF-LO civic address (RFC 5139 element -> value) reported for a call, as given."""

    call_id: CallId
    incident_id: IncidentId
    civic: dict[str, str] = field(default_factory=dict)
    method: str | None = None


@event_type("intake_callback_completed")
@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackCompleted(Event):
    """An operator worked an abandoned call's callback (`outcome`: reached, no_answer...)."""

    call_id: CallId
    incident_id: IncidentId
    actor: str
    outcome: str


@event_type("intake_text_message")
@dataclass(frozen=True, slots=True, kw_only=True)
class TextMessageSent(Event):
    """One chat message of a text or video session: the transcript, stored exactly as given.

    `sender` is `caller` or `operator`; `message_id` the sender's own id (idempotency);
    `actor` the operator's subject (None for the caller).
    """

    call_id: CallId
    incident_id: IncidentId
    sender: str
    message_id: str
    text: str
    actor: str | None = None


@event_type("intake_sign_video_negotiated")
@dataclass(frozen=True, slots=True, kw_only=True)
class SignVideoNegotiated(Event):
    """A WebRTC offer/answer pair was relayed: media may flow (SDP itself is not stored)."""

    call_id: CallId
    incident_id: IncidentId
    offerer: str
    answerer: str
    actor: str | None = None


@event_type("intake_app_device_verified")
@dataclass(frozen=True, slots=True, kw_only=True)
class AppDeviceVerified(Event):
    """An app user proved their number with a one-time code; the device token was issued.

    Only the token's SHA-256 is kept, so the log cannot be used to impersonate a device.
    """

    device_id: str
    number: str
    token_sha256: str
