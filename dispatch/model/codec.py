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
