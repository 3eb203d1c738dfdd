# Copyright 2025 the ng112 authors. Licensed under the Apache License 2.0.
"""Errors raised by the intake package, one root for every channel.

Every rejection of caller input is a documented subclass of `IntakeError`, so an adapter can answer
with a precise reason and count it by class. Messages name the field and the rule that failed and
never echo caller data (a report may carry an IMSI, a phone number or an address).

Tree::

    IntakeError                      root of every intake rejection
    ├── AmlError                     an Advanced Mobile Location report (ETSI TS 103 625) is refused
    │   ├── AmlSyntaxError           not key=value form, no `A"ML=` header, a duplicate key
    │   ├── AmlUnsupportedVersion    a version this parser does not read (`version` attribute)
    │   ├── AmlValueError            one field breaks its rule (`field` attribute)
    │   ├── AmlTooLong               total length, number of fields or one field over its limit
    │   └── AmlHmacMismatch          HTTPS form: the HMAC-SHA1 is missing, malformed or wrong
    ├── PidfError                    a PIDF-LO document (RFC 4119, 5491, 5139) is refused
    │   ├── PidfUnsafeXml            DTD, entity declaration or external reference (`construct`)
    │   ├── PidfTooLarge             bytes, shapes, vertices or a value over its limit
    │   ├── PidfSyntaxError          not well-formed XML, or not a PIDF `presence` document
    │   ├── PidfUnsupportedShape     a shape or coordinate form this parser does not read
    │   ├── PidfValueError           one element breaks its rule (`field` attribute)
    │   └── PidfMultipartError       the SIP multipart body or its PIDF part cannot be found
    └── ChannelError                 a channel refuses input; `code` is its wire reason
        ├── InvalidNumber            a phone number is not a dialable E.164 / Turkish number
        ├── InvalidPosition          a position is impossible (range, radius, time)
        ├── FloodLimited             one number sends faster than its token bucket allows
        ├── GatewayEventError        a CTI gateway's call event cannot be applied
        │   ├── UnknownGatewayCall   no call was offered under that gateway call id
        │   └── CallAlreadyEnded     the call has already ended or been abandoned
        ├── UnknownCall              no call (or callback) has that id
        ├── SessionError             a text or video session frame is refused
        │   ├── FrameError           not JSON, not an object, an unknown type, a bad field
        │   ├── TextTooLong          a chat message is longer than the configured limit
        │   ├── SessionClosed        the session has ended
        │   ├── NotYourSession       the device or operator may not use this session
        │   └── SignallingError      a WebRTC signalling message is refused (size, order, kind)
        └── RegistrationError        app registration or device authentication is refused
            ├── UnknownChallenge     no live one-time-code challenge has that id
            ├── CodeExpired          the one-time code is older than its lifetime
            ├── CodeMismatch         the code is wrong (`attempts_left` attribute)
            ├── TooManyAttempts      the challenge used up its attempts
            ├── SmsUnavailable       no SMS gateway is configured to send the code
            └── InvalidDeviceToken   the device token is missing, malformed or unknown

Each channel class has a `code` attribute: the stable machine-readable reason an adapter puts
on the wire and counts.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AmlError",
    "AmlHmacMismatch",
    "AmlSyntaxError",
    "AmlTooLong",
    "AmlUnsupportedVersion",
    "AmlValueError",
    "CallAlreadyEnded",
    "ChannelError",
    "CodeExpired",
    "CodeMismatch",
    "FloodLimited",
    "FrameError",
    "GatewayEventError",
    "IntakeError",
    "InvalidDeviceToken",
    "InvalidNumber",
    "InvalidPosition",
    "NotYourSession",
    "PidfError",
    "PidfMultipartError",
    "PidfSyntaxError",
    "PidfTooLarge",
    "PidfUnsafeXml",
    "PidfUnsupportedShape",
    "PidfValueError",
    "RegistrationError",
    "SessionClosed",
    "SessionError",
    "SignallingError",
    "SmsUnavailable",
    "TextTooLong",
    "TooManyAttempts",
    "UnknownCall",
    "UnknownChallenge",
    "UnknownGatewayCall",
]


class IntakeError(Exception):
    """Root of every rejection of caller input by the intake package."""


# --- AML (ETSI TS 103 625) ---------------------------------------------------------------------


class AmlError(IntakeError):
    """An Advanced Mobile Location report is refused."""


class AmlSyntaxError(AmlError):
    """The report is not `key=value` pairs with an `A"ML=` header (SMS) or a form body (HTTPS)."""


class AmlUnsupportedVersion(AmlError):  # noqa: N818 - names the refusal
    """The report declares a version this parser does not read.

    `version` is the declared version when it is a small number, else None (never caller text).
    """

    def __init__(self, message: str, *, version: int | None = None) -> None:
        super().__init__(message)
        self.version = version


class AmlValueError(AmlError):
    """One field of the report breaks its rule; `field` names it (`lt`, `location_time`...)."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"AML field {field!r}: {rule}")
        self.field = field
        self.rule = rule


class AmlTooLong(AmlError):  # noqa: N818 - names the refusal
    """The report, its number of fields or one field is over the documented limit."""


class AmlHmacMismatch(AmlError):  # noqa: N818 - names the refusal
    """HTTPS form: a key is configured and the `hmac` field is missing, malformed or wrong."""


# --- PIDF-LO (RFC 4119, RFC 5491, RFC 5139) -----------------------------------------------------


class PidfError(IntakeError):
    """A PIDF-LO location document is refused."""


class PidfUnsafeXml(PidfError):  # noqa: N818 - names the refusal
    """The XML uses a construct never processed: a DTD, an entity or an external reference.

    `construct` is one of ``"dtd"``, ``"entity"``, ``"external-reference"``.
    """

    def __init__(self, message: str, *, construct: str) -> None:
        super().__init__(message)
        self.construct = construct


class PidfTooLarge(PidfError):  # noqa: N818 - names the refusal
    """The document, its number of shapes or vertices, or one value is over its limit."""


class PidfSyntaxError(PidfError):
    """The document is not well-formed XML or its root is not a PIDF `presence` element."""


class PidfUnsupportedShape(PidfError):  # noqa: N818 - names the refusal
    """A shape, coordinate reference system or coordinate form this parser does not read."""


class PidfValueError(PidfError):
    """One element breaks its rule; `field` names it (`gml:pos`, `gs:radius`, `ca:HNO`...)."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"PIDF-LO {field}: {rule}")
        self.field = field
        self.rule = rule


class PidfMultipartError(PidfError):
    """The multipart SIP body is malformed or holds no PIDF-LO part with the wanted Content-ID."""


# --- channels: phone, AML join, text, video, panic, registration ------------------------------


class ChannelError(IntakeError):
    """Base of the channel refusals: `code` is the stable wire reason (counted by adapters)."""

    code: ClassVar[str] = "intake_refused"


class InvalidNumber(ChannelError):  # noqa: N818 - names the refusal
    """A phone number is not a dialable international (E.164) or Turkish national number."""

    code = "invalid_number"


class InvalidPosition(ChannelError):  # noqa: N818 - names the refusal
    """A position is impossible: latitude, longitude, radius out of range, or a naive time."""

    code = "invalid_position"


class FloodLimited(ChannelError):  # noqa: N818 - names the refusal
    """One number sends faster than its token bucket allows; `retry_after_s` says when to retry."""

    code = "flood_limited"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class GatewayEventError(ChannelError):
    """A CTI gateway's call event cannot be applied to the call it names."""

    code = "gateway_event_refused"


class UnknownGatewayCall(GatewayEventError):  # noqa: N818 - names the refusal
    """No call was offered under that gateway and gateway call id."""

    code = "unknown_gateway_call"


class CallAlreadyEnded(GatewayEventError):  # noqa: N818 - names the refusal
    """The call has already ended or been abandoned; a different final status is refused."""

    code = "call_already_ended"


class UnknownCall(ChannelError):  # noqa: N818 - names the refusal
    """No call, alarm or callback has that id."""

    code = "unknown_call"


class SessionError(ChannelError):
    """A text or sign-language video session frame is refused."""

    code = "session_refused"


class FrameError(SessionError):
    """A frame is not JSON, not an object, of an unknown type, or one field breaks its rule."""

    code = "invalid_frame"


class TextTooLong(SessionError):  # noqa: N818 - names the refusal
    """A chat message is longer than the configured limit (counted in code points)."""

    code = "text_too_long"


class SessionClosed(SessionError):  # noqa: N818 - names the refusal
    """The session has ended: nothing more is accepted on it."""

    code = "session_closed"


class NotYourSession(SessionError):  # noqa: N818 - names the refusal
    """The device or operator may not use this session (another device, wrong skill)."""

    code = "not_your_session"


class SignallingError(SessionError):
    """A WebRTC signalling message is refused: size, kind, order or session type."""

    code = "invalid_signalling"


class RegistrationError(ChannelError):
    """App registration or device authentication is refused."""

    code = "registration_refused"


class UnknownChallenge(RegistrationError):  # noqa: N818 - names the refusal
    """No live one-time-code challenge has that id."""

    code = "unknown_challenge"


class CodeExpired(RegistrationError):  # noqa: N818 - names the refusal
    """The one-time code is older than its lifetime."""

    code = "code_expired"


class CodeMismatch(RegistrationError):  # noqa: N818 - names the refusal
    """The one-time code is wrong; `attempts_left` says how many tries remain."""

    code = "code_mismatch"

    def __init__(self, message: str, *, attempts_left: int) -> None:
        super().__init__(message)
        self.attempts_left = attempts_left


class TooManyAttempts(RegistrationError):  # noqa: N818 - names the refusal
    """The challenge used up its attempts; the user must ask for a new code."""

    code = "too_many_attempts"


class InvalidDeviceToken(RegistrationError):  # noqa: N818 - names the refusal
    """The device token is missing, malformed or not one that a verification issued."""

    code = "invalid_device_token"


class SmsUnavailable(RegistrationError):  # noqa: N818 - names the refusal
    """Production mode without an SMS gateway: no one-time code can be sent."""

    code = "sms_unavailable"
