"""Tests of intake.registration: one-time codes, attempts, expiry and device tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intake.errors import (
    CodeExpired,
    CodeMismatch,
    InvalidDeviceToken,
    TooManyAttempts,
    UnknownChallenge,
)
from intake.registration import Registrations, token_digest

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
TOKEN = "secret-token-0123456789"


def test_verify_issues_a_device_that_the_token_authenticates() -> None:
    """The right code gives an event with the token's hash only; applied, the token works."""
    book = Registrations()
    book.start("+905321234567", code="123456", challenge_id="ch1", now=T0)
    event = book.verify("ch1", "123456", now=T0, device_id="dev-1", token=TOKEN)
    assert event.token_sha256 == token_digest(TOKEN)
    assert TOKEN not in repr(event)
    book.apply(event)
    assert book.authenticate(TOKEN).number == "+905321234567"
    with pytest.raises(UnknownChallenge):
        book.verify("ch1", "123456", now=T0, device_id="dev-2", token=TOKEN)


def test_wrong_codes_then_void() -> None:
    """Each wrong code counts down; the last voids the challenge."""
    book = Registrations(max_attempts=2)
    book.start("+1", code="1111", challenge_id="ch", now=T0)
    with pytest.raises(CodeMismatch) as info:
        book.verify("ch", "2222", now=T0, device_id="d", token=TOKEN)
    assert info.value.attempts_left == 1
    with pytest.raises(TooManyAttempts):
        book.verify("ch", "2222", now=T0, device_id="d", token=TOKEN)
    with pytest.raises(UnknownChallenge):
        book.verify("ch", "1111", now=T0, device_id="d", token=TOKEN)


def test_codes_expire_and_challenges_are_bounded() -> None:
    """A code past its lifetime is refused; beyond max_challenges the oldest is dropped."""
    book = Registrations(ttl_s=60, max_challenges=1)
    book.start("+1", code="1111", challenge_id="a", now=T0)
    book.start("+1", code="1111", challenge_id="b", now=T0)
    with pytest.raises(UnknownChallenge):
        book.verify("a", "1111", now=T0, device_id="d", token=TOKEN)
    with pytest.raises(CodeExpired):
        book.verify("b", "1111", now=T0 + timedelta(seconds=61), device_id="d", token=TOKEN)


@pytest.mark.parametrize("token", [None, "", "x" * 300, "unknown-token-123456"])
def test_bad_tokens(token: str | None) -> None:
    """A missing, oversized or unknown token is `InvalidDeviceToken`."""
    with pytest.raises(InvalidDeviceToken):
        Registrations().authenticate(token)
