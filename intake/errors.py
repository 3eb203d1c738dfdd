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
    └── PidfError                    a PIDF-LO document (RFC 4119, 5491, 5139) is refused
        ├── PidfUnsafeXml            DTD, entity declaration or external reference (`construct`)
        ├── PidfTooLarge             bytes, shapes, vertices or a value over its limit
        ├── PidfSyntaxError          not well-formed XML, or not a PIDF `presence` document
        ├── PidfUnsupportedShape     a shape or coordinate form this parser does not read
        ├── PidfValueError           one element breaks its rule (`field` attribute)
        └── PidfMultipartError       the SIP multipart body or its PIDF part cannot be found

Other intake channels add their own branch under `IntakeError` (one class per documented
rejection, its line in this tree).
"""

from __future__ import annotations

__all__ = [
    "AmlError",
    "AmlHmacMismatch",
    "AmlSyntaxError",
    "AmlTooLong",
    "AmlUnsupportedVersion",
    "AmlValueError",
    "IntakeError",
    "PidfError",
    "PidfMultipartError",
    "PidfSyntaxError",
    "PidfTooLarge",
    "PidfUnsafeXml",
    "PidfUnsupportedShape",
    "PidfValueError",
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
