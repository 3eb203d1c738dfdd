"""App registration: one-time codes and device tokens (pure; time and randomness are inputs).

Text, sign-language video and panic alarms come from apps whose user proved their phone
number once: `start` issues a one-time code for a number (the service sends it by SMS), and
`verify` checks it and issues a device token, which authenticates every later session or
alarm (`authenticate`).

* A code lives `ttl_s` seconds and allows `max_attempts` wrong tries; each refusal is a
  documented `RegistrationError`. Challenges live in memory only: after a restart the user
  asks for a new code, which gives a guesser nothing.
* Codes and tokens are compared in constant time; only hashes are kept (the code's while it
  lives, the token's for good), so neither the log nor a memory dump gives a usable token.
* The devices are a projection of the log (`AppDeviceVerified` events, fed to `apply`),
  saved and loaded with the engine's snapshots (`devices`, `restore_devices`); one entry per
  verified installation, kept for good (a token stays valid).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from intake.errors import (
    CodeExpired,
    CodeMismatch,
    InvalidDeviceToken,
    TooManyAttempts,
    UnknownChallenge,
)
from intake.events import AppDeviceVerified

__all__ = ["Challenge", "Device", "Registrations", "token_digest"]


def token_digest(secret: str) -> str:
    """The SHA-256 hex digest under which a code or a token is kept."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(slots=True, kw_only=True)
class Challenge:
    """A one-time code waiting to be typed in."""

    challenge_id: str
    number: str
    code_sha256: str
    expires_at: datetime
    attempts_left: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """A verified app installation: its id and the number it proved."""

    device_id: str
    number: str


@dataclass(slots=True)
class Registrations:
    """Live challenges and verified devices; see the module docstring."""

    ttl_s: float = 300.0
    max_attempts: int = 5
    max_challenges: int = 100_000
    _challenges: OrderedDict[str, Challenge] = field(default_factory=OrderedDict)
    _devices: dict[str, Device] = field(default_factory=dict)

    @property
    def device_count(self) -> int:
        """Verified devices."""
        return len(self._devices)

    def start(self, number: str, *, code: str, challenge_id: str, now: datetime) -> Challenge:
        """A new challenge for `number` with `code` (drawn by the caller)."""
        challenge = Challenge(
            challenge_id=challenge_id,
            number=number,
            code_sha256=token_digest(code),
            expires_at=now + timedelta(seconds=self.ttl_s),
            attempts_left=self.max_attempts,
        )
        self._challenges[challenge_id] = challenge
        while len(self._challenges) > self.max_challenges:
            self._challenges.popitem(last=False)
        return challenge

    def verify(
        self,
        challenge_id: str,
        code: str,
        *,
        now: datetime,
        device_id: str,
        token: str,
    ) -> AppDeviceVerified:
        """The event that registers the device when `code` is right (the challenge is spent).

        Raises `UnknownChallenge`, `CodeExpired`, `TooManyAttempts` or `CodeMismatch`.
        """
        challenge = self._challenges.get(challenge_id)
        if challenge is None:
            raise UnknownChallenge("no live registration challenge has that id")
        if now > challenge.expires_at:
            del self._challenges[challenge_id]
            raise CodeExpired("the one-time code has expired: ask for a new one")
        if challenge.attempts_left <= 0:
            del self._challenges[challenge_id]
            raise TooManyAttempts("too many wrong codes: ask for a new one")
        if not hmac.compare_digest(token_digest(code), challenge.code_sha256):
            challenge.attempts_left -= 1
            if challenge.attempts_left <= 0:
                del self._challenges[challenge_id]
                raise TooManyAttempts("too many wrong codes: ask for a new one")
            raise CodeMismatch("the one-time code is wrong", attempts_left=challenge.attempts_left)
        del self._challenges[challenge_id]
        return AppDeviceVerified(
            occurred_at=now,
            idempotency_key=f"app-device:{device_id}",
            device_id=device_id,
            number=challenge.number,
            token_sha256=token_digest(token),
        )

    def apply(self, event: AppDeviceVerified) -> None:
        """A committed verification: the token now authenticates the device."""
        self._devices[event.token_sha256] = Device(device_id=event.device_id, number=event.number)

    def devices(self) -> dict[str, Device]:
        """The verified devices by token digest, in a dict of their own (for snapshots)."""
        return dict(self._devices)

    def restore_devices(self, devices: dict[str, Device]) -> None:
        """Replace the verified devices with saved ones (live challenges are kept)."""
        self._devices = dict(devices)

    def authenticate(self, token: str | None) -> Device:
        """The device a token belongs to, or `InvalidDeviceToken`."""
        if not token or len(token) > 256:
            raise InvalidDeviceToken("a device token is required (X-NG112-Device-Token)")
        device = self._devices.get(token_digest(token))
        if device is None:
            raise InvalidDeviceToken("the device token is not known")
        return device
