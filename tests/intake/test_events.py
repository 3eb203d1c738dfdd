"""Tests of intake.events: every intake event survives the log's codec unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch.model import CallId, IncidentId
from dispatch.model.codec import decode_event, encode_event
from dispatch.model.events import Event
from intake.events import (
    AmlReportJoined,
    AmlReportReceived,
    AppDeviceVerified,
    CallbackCompleted,
    CivicAddressReported,
    SignVideoNegotiated,
    TextMessageSent,
)

NOW = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
CALL, INCIDENT = CallId("call-1"), IncidentId("inc-1")

EVENTS: list[Event] = [
    AmlReportReceived(
        occurred_at=NOW,
        idempotency_key="aml:k",
        report_key="aml:k",
        number="+905321234567",
        transport="sms",
        version=1,
        time=NOW,
        lat=41.0,
        lon=29.0,
        radius_m=12.0,
        home_mcc="262",
    ),
    AmlReportJoined(
        occurred_at=NOW,
        report_key="aml:k",
        call_id=CALL,
        incident_id=INCIDENT,
        home_mcc="262",
        order="before",
    ),
    CivicAddressReported(
        occurred_at=NOW, call_id=CALL, incident_id=INCIDENT, civic={"A1": "İstanbul"}
    ),
    CallbackCompleted(
        occurred_at=NOW, call_id=CALL, incident_id=INCIDENT, actor="op", outcome="reached"
    ),
    TextMessageSent(
        occurred_at=NOW,
        call_id=CALL,
        incident_id=INCIDENT,
        sender="caller",
        message_id="m1",
        text="<script>\u202e🚑\x00</script>",
    ),
    SignVideoNegotiated(
        occurred_at=NOW, call_id=CALL, incident_id=INCIDENT, offerer="caller", answerer="operator"
    ),
    AppDeviceVerified(occurred_at=NOW, device_id="dev-1", number="+1555", token_sha256="ab" * 32),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_type)
def test_round_trip(event: Event) -> None:
    """Encoded and decoded by the log's codec, each event is equal to itself (text unchanged)."""
    assert decode_event(event.event_type, event.schema_version, encode_event(event)) == event
