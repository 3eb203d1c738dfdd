"""Exceptions of the ecall package: every rejection of an eCall input is one of these.

The tree (catch ``EcallError`` at a transport edge, ``MsdError`` around the codec)::

    EcallError                      root of everything ecall raises on purpose
    └── MsdError                    an MSD could not be decoded, encoded or read from JSON
        ├── MsdDecodeError          the bytes are not a valid EN 15722 MSD
        │   ├── MsdTruncated        the bytes end before the MSD does
        │   ├── MsdTooLong          the MSD structure exceeds 140 octets
        │   ├── UnsupportedMsdVersion   octet 0 is not 1, 2 or 3
        │   └── InvalidRelativeOid  additionalData.oid is not valid X.690 RELATIVE-OID content
        ├── MsdEncodeError          a value cannot be encoded (version, size, missing element)
        ├── MsdValueError           a field value the standard forbids; it is both a
        │   │                       MsdDecodeError (found in bytes) and a MsdEncodeError
        │   │                       (asked to encode it), so either ``except`` clause sees it
        │   ├── MsdOutOfRange       a numeric or enumerated element outside its range;
        │   │                       ``field`` names the element as in the ASN.1
        │   └── InvalidVin          the VIN is not 17 characters of the 33-letter alphabet
        └── MsdJsonError            the JSON form of an MSD has a wrong key or type

Messages state the reason and the element concerned, never the offending value or any part
of the payload (an MSD carries a VIN and a position: personal data).
"""

from __future__ import annotations

__all__ = [
    "EcallError",
    "InvalidRelativeOid",
    "InvalidVin",
    "MsdDecodeError",
    "MsdEncodeError",
    "MsdError",
    "MsdJsonError",
    "MsdOutOfRange",
    "MsdTooLong",
    "MsdTruncated",
    "MsdValueError",
    "UnsupportedMsdVersion",
]


class EcallError(Exception):
    """Root of every exception the ecall package raises on purpose."""


class MsdError(EcallError):
    """An MSD could not be decoded, encoded or read from its JSON form."""


class MsdDecodeError(MsdError):
    """The bytes are not a valid EN 15722 Minimum Set of Data."""


class MsdEncodeError(MsdError):
    """A MinimumSetOfData cannot be encoded in the requested version."""


class MsdTruncated(MsdDecodeError):  # noqa: N818 - the issue's error vocabulary
    """The bytes end before the MSD does (empty input, short wrapper, cut structure)."""


class MsdTooLong(MsdDecodeError):  # noqa: N818 - the issue's error vocabulary
    """The MSD structure is longer than the 140 octets EN 15722 allows."""


class UnsupportedMsdVersion(MsdDecodeError):  # noqa: N818 - the issue's error vocabulary
    """Octet 0 names an MSD version this codec does not know (only 1, 2 and 3 exist)."""

    def __init__(self, version: int) -> None:
        # The message does not echo the octet (caller data); the attribute keeps it.
        super().__init__("unsupported MSD version (known: 1, 2, 3)")
        self.version = version


class InvalidRelativeOid(MsdDecodeError):  # noqa: N818 - the issue's error vocabulary
    """additionalData.oid is not a valid X.690 RELATIVE-OID contents encoding."""


class MsdValueError(MsdDecodeError, MsdEncodeError):
    """A field value EN 15722 forbids, found while decoding, encoding or reading JSON."""


class MsdOutOfRange(MsdValueError):  # noqa: N818 - the issue's error vocabulary
    """A numeric or enumerated element lies outside the range its version allows."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


class InvalidVin(MsdValueError):  # noqa: N818 - the issue's error vocabulary
    """The VIN is not 17 characters from the ISO 3779 alphabet (no I, O or Q)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"vehicleIdentificationNumber: {reason}")
        self.field = "vehicleIdentificationNumber"


class MsdJsonError(MsdError):
    """The JSON form of an MSD misses a required key or has a value of the wrong type."""
