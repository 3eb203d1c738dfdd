"""Tests of intake.phone: number normalisation, gateway events to commands, callback list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.model import CallId, CallStatus, CallStatusChanged, Channel, IncidentId, Location
from intake.errors import CallAlreadyEnded, InvalidNumber
from intake.phone import (
    Callback,
    CallbackBook,
    GatewayEventKind,
    GatewayOffer,
    normalise_number,
    offer_command,
    status_event,
)

NOW = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given_number", "expected"),
    [
        ("05321234567", "+905321234567"),
        ("0532 123 45 67", "+905321234567"),
        ("(0532) 123-45-67", "+905321234567"),
        ("5321234567", "+905321234567"),
        ("905321234567", "+905321234567"),
        ("+905321234567", "+905321234567"),
        ("00905321234567", "+905321234567"),
        ("+4915112345678", "+4915112345678"),
        ("02121234567", "+902121234567"),
    ],
)
def test_numbers_normalise_to_e164(given_number: str, expected: str) -> None:
    """Turkish national and international spellings of one number become one E.164 form."""
    assert normalise_number(given_number) == expected


@pytest.mark.parametrize("bad", ["", "112", "+0123456", "abc", "0532123456x", "1" * 40, "+1"])
def test_bad_numbers_are_refused(bad: str) -> None:
    """Anything that is not a dialable number is `InvalidNumber`."""
    with pytest.raises(InvalidNumber):
        normalise_number(bad)


@given(st.text(max_size=40))
def test_every_text_is_a_number_or_invalid(text: str) -> None:
    """Normalisation returns an E.164 number or raises the documented error."""
    try:
        number = normalise_number(text)
    except InvalidNumber:
        return
    assert number.startswith("+")
    assert number[1:].isdigit()


def test_offer_keeps_the_dialled_number_and_cell() -> None:
    """The offered call keeps the legacy number as a hint and the cell centroid as evidence."""
    cell = Location(lat=41.0, lon=29.0, radius_m=2000, source="cell")
    offer = GatewayOffer(
        gateway="gw",
        gateway_call_id="77",
        number="+905321234567",
        dialled="156",
        time=NOW,
        trunk="t1",
        cell_id="c-1",
        cell=cell,
    )
    command = offer_command(offer)
    assert command.channel is Channel.PHONE
    assert command.dialled == "156"
    assert command.location == cell
    assert command.idempotency_key == "call:gw:77"
    assert command.details["cell_id"] == "c-1"
    assert command.agencies == ()


def test_status_transitions() -> None:
    """A final status repeated is nothing; a different one after the end is refused."""

    def event(current: CallStatus, kind: GatewayEventKind) -> CallStatusChanged | None:
        return status_event(
            call_id=CallId("c"),
            current=current,
            kind=kind,
            request_id="gw:1",
            now=NOW,
            plate=34,
            operator="op",
        )

    answered = event(CallStatus.OFFERED, GatewayEventKind.ANSWERED)
    assert answered is not None
    assert answered.status is CallStatus.ANSWERED
    assert answered.operator == "op"
    assert event(CallStatus.ENDED, GatewayEventKind.ENDED) is None
    with pytest.raises(CallAlreadyEnded):
        event(CallStatus.ABANDONED, GatewayEventKind.ANSWERED)


def _callback(call: str, number: str) -> Callback:
    return Callback(
        call_id=CallId(call), incident_id=IncidentId("i" + call), number=number, abandoned_at=NOW
    )


def test_callback_book() -> None:
    """Abandoned calls wait in order; completion or a new call from the number removes them."""
    book = CallbackBook()
    book.abandoned(_callback("1", "+1"))
    book.abandoned(_callback("2", "+2"))
    book.abandoned(_callback("3", "+1"))
    assert [c.call_id for c in book.entries()] == ["1", "2", "3"]
    book.complete(CallId("2"))
    book.complete(CallId("2"))
    book.call_received("+1")
    assert book.entries() == []
    assert (book.completed, book.superseded) == (1, 2)
