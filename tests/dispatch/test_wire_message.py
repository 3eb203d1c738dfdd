"""The stream's event message spliced from stored bytes equals the dictionary route's."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ecall.events
import gamer_coordination.events
import intake.events
from dispatch.model import call_taking_events, dispatch_events
from dispatch.model.centres import provincial_centre
from dispatch.model.codec import (
    encode_event,
    event_to_wire,
    spliced_wire_message,
    wire_message,
)
from dispatch.model.events import EVENT_TYPES, CallReceived, Event, IncidentOpened
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.vocabulary import Channel

# every package's events are registered once their modules are imported
_MODULES = (ecall.events, gamer_coordination.events, intake.events)
_MODULES_TOO = (call_taking_events, dispatch_events)


def _by_dict(seq: int, event: Event) -> Any:
    # msgspec, not orjson, for the reference: generated integers may exceed 64 bits
    return json.loads(msgspec.json.encode({"type": "event", **event_to_wire(seq, event)}))


def test_every_event_type_is_registered_and_plainly_named() -> None:
    """The splice writes the type name unescaped: names are lower-case ASCII words."""
    assert len(EVENT_TYPES) >= 50
    for name in EVENT_TYPES:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name


@pytest.mark.parametrize("cls", [EVENT_TYPES[name] for name in sorted(EVENT_TYPES)])
@settings(max_examples=25, deadline=None)
@given(data=st.data(), seq=st.integers(min_value=1, max_value=2**53))
def test_spliced_message_equals_the_dictionary_route(
    cls: type[Event], data: st.DataObject, seq: int
) -> None:
    """For generated events of every type: same JSON, same keys in the same order."""
    event = data.draw(st.from_type(cls))
    message = spliced_wire_message(seq, event, encode_event(event))
    assert message is not None, "a stored payload is always spliced"
    assert wire_message(seq, event, encode_event(event)) == message
    spliced = json.loads(message)
    expected = _by_dict(seq, event)
    assert spliced == expected
    assert list(spliced) == list(expected)


_HOSTILE = st.text(alphabet=st.sampled_from('"\\\n\t\u2028é\x00{},:ab'), max_size=12)


@settings(max_examples=200, deadline=None)
@given(key=st.none() | _HOSTILE, text=st.none() | _HOSTILE, plate=st.none() | st.integers(1, 81))
def test_hostile_keys_and_texts_survive_the_splice(
    key: str | None, text: str | None, plate: int | None
) -> None:
    """Quotes, backslashes and braces in the key or the caller's words end nothing early."""
    event = CallReceived(
        occurred_at=datetime(2026, 11, 26, 13, 0, tzinfo=UTC),
        idempotency_key=key,
        plate=plate,
        call_id=CallId("call-1"),
        incident_id=IncidentId("inc-1"),
        channel=Channel.TEXT,
        centre=provincial_centre(6),
        text=text,
        details={"gateway": text or ""},
    )
    message = spliced_wire_message(7, event, encode_event(event))
    assert message is not None
    assert json.loads(message) == _by_dict(7, event)


@pytest.mark.parametrize(
    "payload",
    [b"", b"{}", b'{"x":1}', b'{"occurred_at":"2026', b'{"occurred_at":"a","plate":1}'],
)
def test_a_payload_of_another_shape_takes_the_dictionary_route(payload: bytes) -> None:
    """Bytes that do not start with the base fields: the message is still right."""
    event = IncidentOpened(
        occurred_at=datetime(2026, 11, 26, 13, 0, tzinfo=UTC),
        incident_id=IncidentId("inc-9"),
        call_id=CallId("call-9"),
        channel=Channel.PHONE,
        centre=provincial_centre(6),
        plate=6,
    )
    assert spliced_wire_message(3, event, payload) is None
    assert json.loads(wire_message(3, event, payload)) == _by_dict(3, event)
