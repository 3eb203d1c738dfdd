"""The one place events become bytes and bytes become events.

An event is stored as ``(event_type, schema_version, payload)`` where the payload is
the JSON of its fields. Decoding an older ``schema_version`` passes the payload through
the registered upcasters first, so projections only ever see current classes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from dispatch.model.events import EVENT_TYPES, Event

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

#: ``(event_type, from_version) -> function`` turning that version's payload into the next.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}

_encoder = msgspec.json.Encoder()
_decoders: dict[type[Event], msgspec.json.Decoder[Any]] = {}


class UnknownEventType(Exception):  # noqa: N818 - names the refusal
    """The log holds an event type this code does not know."""


def encode_event(event: Event) -> bytes:
    """The payload bytes of an event (its fields as JSON)."""
    return _encoder.encode(event)


def decode_event(event_type: str, schema_version: int, payload: bytes | str) -> Event:
    """Rebuild an event from its stored form, upcasting old schema versions."""
    try:
        cls = EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(f"unknown event type {event_type!r}") from None
    if schema_version != cls.schema_version:
        data: dict[str, Any] = msgspec.json.decode(payload)
        version = schema_version
        while version < cls.schema_version:
            data = UPCASTERS[event_type, version](data)
            version += 1
        return msgspec.convert(data, type=cls)
    decoder = _decoders.get(cls)
    if decoder is None:
        decoder = _decoders[cls] = msgspec.json.Decoder(cls)
    result: Event = decoder.decode(payload)
    return result


_packer = msgspec.msgpack.Encoder()
_unpackers: dict[type[Event], msgspec.msgpack.Decoder[Any]] = {}


def packed_event(event: Event) -> tuple[str, bytes]:
    """An event as snapshots keep it: its type and its fields as MessagePack."""
    return event.event_type, _packer.encode(event)


def unpacked_event(event_type: str, payload: bytes) -> Event:
    """The event :func:`packed_event` packed (same code: no upcasting)."""
    cls = EVENT_TYPES[event_type]
    decoder = _unpackers.get(cls)
    if decoder is None:
        decoder = _unpackers[cls] = msgspec.msgpack.Decoder(cls)
    result: Event = decoder.decode(payload)
    return result


def event_to_wire(seq: int, event: Event) -> dict[str, Any]:
    """The JSON-ready form of a committed event on streams and in the API."""
    data: dict[str, Any] = msgspec.to_builtins(event)
    return {
        "seq": seq,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "occurred_at": data.pop("occurred_at"),
        "plate": data.pop("plate"),
        "idempotency_key": data.pop("idempotency_key"),
        "data": data,
    }


_EVENT_HEAD = b'{"type":"event","seq":'
_OCCURRED_AT = b'{"occurred_at":'
_IDEMPOTENCY_KEY = b',"idempotency_key":'
_PLATE = b',"plate":'
_BACKSLASH = 0x5C
_QUOTE = 0x22
_INTEGER_BYTES = frozenset(b"-0123456789")


def _value_end(payload: bytes, start: int) -> int:
    """Where the JSON ``null``, string or integer at ``start`` ends; -1 if there is none."""
    if payload.startswith(b"null", start):
        return start + 4
    if start >= len(payload):
        return -1
    if payload[start] == _QUOTE:
        end = start + 1
        while (end := payload.find(b'"', end)) != -1:
            escapes = 0
            while payload[end - 1 - escapes] == _BACKSLASH:
                escapes += 1
            if escapes % 2 == 0:
                return end + 1
            end += 1
        return -1
    end = start
    while end < len(payload) and payload[end] in _INTEGER_BYTES:
        end += 1
    return end if end > start else -1


def _field_after(payload: bytes, prefix: bytes, at: int) -> tuple[int, int]:
    """The value following ``prefix`` at ``at``: (start, end), or (-1, -1)."""
    if at < 0 or not payload.startswith(prefix, at):
        return -1, -1
    start = at + len(prefix)
    return start, _value_end(payload, start)


def wire_message(seq: int, event: Event, payload: bytes) -> bytes:
    """The stream's ``event`` message: ``{"type": "event", **event_to_wire(seq, event)}``.

    Spliced from ``payload`` (:func:`spliced_wire_message`) when it has the stored shape;
    built through the dictionary otherwise.
    """
    spliced = spliced_wire_message(seq, event, payload)
    if spliced is None:
        return _encoder.encode({"type": "event", **event_to_wire(seq, event)})
    return spliced


def spliced_wire_message(seq: int, event: Event, payload: bytes) -> bytes | None:
    """:func:`wire_message` from ``payload``, the event's stored JSON; ``None`` if unlike it.

    A stored payload's first fields are the base class's ``occurred_at``,
    ``idempotency_key`` and ``plate``: they are lifted out and the rest becomes ``data``,
    without decoding or re-encoding anything (a fifth of the dictionary route's cost).
    """
    occurred_start, occurred_end = _field_after(payload, _OCCURRED_AT, 0)
    key_start, key_end = _field_after(payload, _IDEMPOTENCY_KEY, occurred_end)
    plate_start, plate_end = _field_after(payload, _PLATE, key_end)
    rest = payload[plate_end:] if plate_end > 0 else b""
    if rest[:1] == b",":
        data = b"{" + rest[1:]
    elif rest == b"}":
        data = b"{}"
    else:
        return None
    return b"".join(
        (
            _EVENT_HEAD,
            str(seq).encode(),
            b',"event_type":"',
            event.event_type.encode(),
            b'","schema_version":',
            str(event.schema_version).encode(),
            b',"occurred_at":',
            payload[occurred_start:occurred_end],
            b',"plate":',
            payload[plate_start:plate_end],
            b',"idempotency_key":',
            payload[key_start:key_end],
            b',"data":',
            data,
            b"}",
        )
    )
