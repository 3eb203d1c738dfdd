# Copyright 2025 the ng112 authors. Licensed under the Apache License 2.0.
"""Advanced Mobile Location (ETSI TS 103 625) parsers: the SMS text form and the HTTPS form.

When a caller dials 112, the handset sends its own position to the PSAP twice: as an SMS
(`A"ML=1;lt=...;lg=...;rd=...`) and, where the PSAP has an endpoint, as an HTTPS POST of
form-encoded fields. This module turns either into one `AmlReport`, a pure value the intake service
joins to the caller's call and hands to location fusion. It is sans-I/O: no clock, no network, no
logging; every rejection is a documented `intake.errors.AmlError` whose message never echoes caller
data.

Rules applied to the SMS text form (`parse_aml`):

* The version is read before any key (`A"ML=<n>` must open the text), because version 2 (Google's
  ELS beta) reuses keys with other meanings: `lt` is a time offset in seconds, `lg` a language tag,
  the position travels in `lo=lat,lon,accuracy`. Version 1 and version 2 each have their own key
  table; any other version is `AmlUnsupportedVersion`.
* `ml` is the length of the whole message including the header and `ml` itself. Published examples
  often carry a wrong value (Google's ELS page shows one): a mismatch sets `length_ok=False` and the
  warning `length_mismatch`, never a failure. No `ml` (always so in v2 and HTTPS) gives
  `length_ok=None`.
* `rd=N` (or `pm=N`) means the handset had no fix: `latitude`, `longitude` and `radius_m` are
  None and the `lt`/`lg` placeholders (`+00.00000`) are dropped, because a (0, 0) position in the
  Gulf of Guinea would look like a real one.
* `top` is `YYYYMMDDhhmmss` UTC and becomes an aware datetime; it is required (the report's time).
* `mcc`/`mnc` are the serving network's codes and stay strings (`"01"` keeps its zero). `si` (the
  IMSI) may be truncated or zero-padded by the sender (Google sends its first six digits); it is
  kept as given and `home_mcc` is taken from its first three digits.
* Unknown keys are kept in `extra`; a duplicate key, a control character or a non-ASCII character
  is an `AmlSyntaxError`.

Rules applied to the HTTPS form (`parse_aml_https`), after ETSI TS 103 625 and Google's ELS
HTTPS page (field names `v`, `emergency_number`, `location_latitude`, `location_longitude`,
`location_accuracy`, `location_time` in milliseconds, `location_source`, `location_certainty`
(percent) or `location_confidence` (0..1), `device_number`, `device_imei`, `device_imsi`,
`cell_home_mcc`, `cell_home_mnc`, `cell_network_mcc`, `cell_network_mnc`, `device_languages`,
`hmac`):

* `v` must be `1`. Empty values count as absent (senders post `cell_carrier=`).
* `location_time` gives the report's time; without it the call start `time` is used with the warning
  `time_from_call_start`; with neither the report is refused.
* HMAC: when a key is configured, the `hmac` field must be the last field and hold the lowercase or
  uppercase hex HMAC-SHA1, computed with that key over the raw body bytes that precede `&hmac=`
  (assumption checked against the public aml-lib test vector; ETSI TS 103 625 leaves the key
  exchange to the PSAP and the operator). It is compared with `hmac.compare_digest`.

Limits (each an `AmlTooLong`): `MAX_SMS_CHARS`, `MAX_SMS_FIELDS`, `MAX_HTTPS_BYTES`,
`MAX_HTTPS_FIELDS`, `MAX_VALUE_CHARS`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote_plus

from intake.errors import (
    AmlHmacMismatch,
    AmlSyntaxError,
    AmlTooLong,
    AmlUnsupportedVersion,
    AmlValueError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "MAX_HTTPS_BYTES",
    "MAX_HTTPS_FIELDS",
    "MAX_SMS_CHARS",
    "MAX_SMS_FIELDS",
    "MAX_VALUE_CHARS",
    "AmlMethod",
    "AmlReport",
    "AmlTransport",
    "AmlWarning",
    "parse_aml",
    "parse_aml_https",
]

MAX_SMS_CHARS: Final = 640
"""Longest SMS text accepted: four concatenated GSM 7-bit segments (an AML v1 text is ~130)."""
MAX_SMS_FIELDS: Final = 32
"""Most `key=value` fields in one SMS text, header included."""
MAX_HTTPS_BYTES: Final = 8192
"""Largest HTTPS form body accepted, in bytes."""
MAX_HTTPS_FIELDS: Final = 64
"""Most fields in one HTTPS form body."""
MAX_VALUE_CHARS: Final = 256
"""Longest value of one field (after percent-decoding for HTTPS)."""

_HEADER: Final = 'A"ML='
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_RADIUS_M: Final = 1_000_000.0
_MAX_V2_OFFSET_S: Final = 86_400
_SHA1_HEX_LEN: Final = 40

_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_SMS_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,15}")
_FORM_KEY = re.compile(r"[A-Za-z0-9_]{1,40}")
_VERSION = re.compile(r"[0-9]{1,3}")
_DEGREES = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{1,12})?")
_METRES = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?")
_SIGNED_METRES = re.compile(r"[+-]?[0-9]{1,9}(?:\.[0-9]{1,6})?")
_FRACTION = re.compile(r"[0-9](?:\.[0-9]{1,12})?")
_TOP = re.compile(r"[0-9]{14}")
_PERCENT = re.compile(r"[0-9]{1,3}")
_IMSI = re.compile(r"[0-9]{1,15}")
_IMEI = re.compile(r"[0-9]{14,16}")
_MCC = re.compile(r"[0-9]{3}")
_MNC = re.compile(r"[0-9]{2,3}")
_MCC_MNC = re.compile(r"([0-9]{3})([0-9]{2,3})")
_EPOCH_S = re.compile(r"[0-9]{1,12}")
_EPOCH_MS = re.compile(r"[0-9]{1,15}")
_OFFSET_S = re.compile(r"[+-]?[0-9]{1,6}")
_PHONE = re.compile(r"\+?[0-9]{1,20}")
_LANGUAGES = re.compile(
    r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*(?:,[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)*"
)
_HEX_SHA1 = re.compile(r"[0-9A-Fa-f]{40}")


class AmlTransport(StrEnum):
    """How the report reached the PSAP."""

    SMS = "sms"
    HTTPS = "https"


class AmlMethod(StrEnum):
    """Positioning method: one vocabulary for SMS letters (`pm`, `ls`) and `location_source`."""

    GPS = "gps"
    WIFI = "wifi"
    CELL = "cell"
    FUSED = "fused"
    UNKNOWN = "unknown"


class AmlWarning(StrEnum):
    """A defect that does not make the report unusable; kept on the report and in its JSON."""

    LENGTH_MISMATCH = "length_mismatch"
    """`ml` is not the text's length (or not a number)."""
    METHOD_UNKNOWN = "method_unknown"
    """The method letter or word is not in the specification's list; method set to `unknown`."""
    IMSI_SHORT = "imsi_short"
    """`si`/`device_imsi` has fewer than 14 digits: truncated by the sender, not a full IMSI."""
    TIME_FROM_CALL_START = "time_from_call_start"
    """No location time: the report's time is the call start (HTTPS `time`, v2 `et`)."""
    TIME_OFFSET_IGNORED = "time_offset_ignored"
    """v2 `lt` is more than a day from `et`: ignored, the call start is used."""


_SMS_METHODS: Final[Mapping[str, AmlMethod | None]] = MappingProxyType(
    {
        "G": AmlMethod.GPS,
        "W": AmlMethod.WIFI,
        "C": AmlMethod.CELL,
        "F": AmlMethod.FUSED,
        "U": AmlMethod.UNKNOWN,
        "N": None,
    }
)
_HTTPS_METHODS: Final[Mapping[str, AmlMethod]] = MappingProxyType(
    {
        "gps": AmlMethod.GPS,
        "gnss": AmlMethod.GPS,
        "wifi": AmlMethod.WIFI,
        "cell": AmlMethod.CELL,
        "fused": AmlMethod.FUSED,
        "unknown": AmlMethod.UNKNOWN,
    }
)
_V1_KEYS: Final = frozenset({"lt", "lg", "rd", "top", "lc", "pm", "si", "ei", "mcc", "mnc", "ml"})
_V2_KEYS: Final = frozenset({"en", "et", "lo", "lt", "lc", "lz", "ls", "ei", "nc", "hc", "lg"})
_HTTPS_KEYS: Final = frozenset(
    {
        "v",
        "emergency_number",
        "time",
        "location_latitude",
        "location_longitude",
        "location_time",
        "location_altitude",
        "location_source",
        "location_accuracy",
        "location_certainty",
        "location_confidence",
        "device_number",
        "device_imsi",
        "device_imei",
        "cell_home_mcc",
        "cell_home_mnc",
        "cell_network_mcc",
        "cell_network_mnc",
        "device_languages",
        "hmac",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AmlReport:
    """One AML location report, from either transport, in one shape.

    `latitude`/`longitude` are WGS 84 degrees (None with no fix), `radius_m` the horizontal
    uncertainty in metres, `time` the fix time (aware UTC), `confidence` a percentage, `mcc`/`mnc`
    the serving network, `home_mcc`/`home_mnc` the SIM's home network (a language hint),
    `extra` every field this parser does not model, as given. Not hashable (`extra` is a mapping).
    """

    version: int
    transport: AmlTransport
    time: datetime
    latitude: float | None = None
    longitude: float | None = None
    radius_m: float | None = None
    confidence: int | None = None
    method: AmlMethod | None = None
    imsi: str | None = None
    imei: str | None = None
    mcc: str | None = None
    mnc: str | None = None
    home_mcc: str | None = None
    home_mnc: str | None = None
    length_ok: bool | None = None
    emergency_number: str | None = None
    device_number: str | None = None
    language: str | None = None
    altitude_m: float | None = None
    call_time: datetime | None = None
    warnings: tuple[AmlWarning, ...] = ()
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def has_fix(self) -> bool:
        """True when the report carries a position."""
        return self.latitude is not None and self.longitude is not None

    @property
    def idempotency_key(self) -> str:
        """Stable key of this report for deduplication by the intake service.

        The device (IMEI first, being unique per handset, then IMSI, which senders may truncate
        to six digits, then the device number) plus the fix time, transport and version. A handset
        sends the same fix by SMS and HTTPS: the two keep distinct keys and both reach location
        fusion.
        """
        identity = self.imei or self.imsi or self.device_number
        if identity is None:
            identity = f"{self.latitude},{self.longitude},{self.radius_m}"
        return f"aml:{self.transport}:{self.version}:{identity}:{_iso(self.time)}"

    def to_json_dict(self) -> dict[str, object]:
        """The report as the JSON object of the `ng112 aml parse` contract (plus extra keys)."""
        return {
            "version": self.version,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "radius_m": self.radius_m,
            "time": _iso(self.time),
            "confidence": self.confidence,
            "method": None if self.method is None else str(self.method),
            "imsi": self.imsi,
            "imei": self.imei,
            "mcc": self.mcc,
            "mnc": self.mnc,
            "length_ok": self.length_ok,
            "transport": str(self.transport),
            "home_mcc": self.home_mcc,
            "home_mnc": self.home_mnc,
            "emergency_number": self.emergency_number,
            "device_number": self.device_number,
            "language": self.language,
            "altitude_m": self.altitude_m,
            "call_time": None if self.call_time is None else _iso(self.call_time),
            "warnings": [str(w) for w in self.warnings],
            "extra": dict(self.extra),
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- shared field readers ----------------------------------------------------------------------


class _Fields:
    """The decoded fields of one report, consumed key by key; what is left over is `extra`."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def take(self, key: str) -> str | None:
        value = self._values.pop(key, None)
        return value or None  # an empty value counts as absent

    def take_match(self, key: str, pattern: re.Pattern[str], rule: str) -> str | None:
        value = self.take(key)
        if value is not None and pattern.fullmatch(value) is None:
            raise AmlValueError(key, rule)
        return value

    def extra(self) -> Mapping[str, str]:
        return MappingProxyType({k: v for k, v in self._values.items() if v})


def _number(
    value: str | None, key: str, pattern: re.Pattern[str], rule: str, *, low: float, high: float
) -> float | None:
    if value is None:
        return None
    if pattern.fullmatch(value) is None:
        raise AmlValueError(key, rule)
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise AmlValueError(key, f"{rule}, within [{low:g}, {high:g}]")
    return number


def _latitude(value: str | None, key: str) -> float | None:
    return _number(value, key, _DEGREES, "latitude must be decimal degrees", low=-90.0, high=90.0)


def _longitude(value: str | None, key: str) -> float | None:
    return _number(
        value, key, _DEGREES, "longitude must be decimal degrees", low=-180.0, high=180.0
    )


def _radius(value: str | None, key: str) -> float | None:
    return _number(value, key, _METRES, "radius must be metres", low=0.0, high=_MAX_RADIUS_M)


def _percent(value: str | None, key: str) -> int | None:
    if value is None:
        return None
    if _PERCENT.fullmatch(value) is None or int(value) > 100:
        raise AmlValueError(key, "confidence must be a whole percentage 0..100")
    return int(value)


def _position_pair(
    lat: float | None, lon: float | None, lat_key: str, lon_key: str
) -> tuple[float | None, float | None]:
    if (lat is None) != (lon is None):
        missing = lon_key if lon is None else lat_key
        raise AmlValueError(missing, "latitude and longitude must come together")
    return lat, lon


def _from_epoch(value: str, key: str, *, millis: bool) -> datetime:
    try:
        delta = timedelta(milliseconds=int(value)) if millis else timedelta(seconds=int(value))
        return _EPOCH + delta
    except OverflowError as exc:
        raise AmlValueError(key, "time is beyond the year 9999") from exc


def _imsi_warnings(imsi: str | None) -> tuple[AmlWarning, ...]:
    return (AmlWarning.IMSI_SHORT,) if imsi is not None and len(imsi) < 14 else ()


# --- SMS text form -------------------------------------------------------------------------------


def parse_aml(text: str) -> AmlReport:
    """Parse the SMS text form of an AML report (`A"ML=1;lt=...;...;ml=...`, or version 2).

    Surrounding whitespace (a gateway's trailing newline) is ignored; `ml` is checked against the
    stripped text. Raises an `AmlError` subclass documented in `intake.errors`.
    """
    text = text.strip()
    if len(text) > MAX_SMS_CHARS:
        raise AmlTooLong(f"AML text: longer than {MAX_SMS_CHARS} characters")
    if _PRINTABLE_ASCII.fullmatch(text) is None:
        raise AmlSyntaxError("AML text: holds a character outside printable ASCII")
    if not text.startswith(_HEADER):
        raise AmlSyntaxError('AML text: does not open with the A"ML= header')
    segments = text.split(";")
    if segments[-1] == "":
        segments.pop()  # one trailing separator is tolerated
    if len(segments) > MAX_SMS_FIELDS:
        raise AmlTooLong(f"AML text: more than {MAX_SMS_FIELDS} fields")
    version_text = segments[0][len(_HEADER) :]
    if _VERSION.fullmatch(version_text) is None:
        raise AmlUnsupportedVersion("AML text: the header's version is not a number")
    version = int(version_text)
    if version not in {1, 2}:
        raise AmlUnsupportedVersion(
            "AML text: only versions 1 and 2 (ELS beta) are read", version=version
        )
    values: dict[str, str] = {}
    for segment in segments[1:]:
        key, sep, value = segment.partition("=")
        if not sep or _SMS_KEY.fullmatch(key) is None:
            raise AmlSyntaxError("AML text: a field is not key=value with a short ASCII key")
        if key in values:
            name = repr(key) if key in _V1_KEYS | _V2_KEYS else "a key"
            raise AmlSyntaxError(f"AML text: {name} appears twice")
        if len(value) > MAX_VALUE_CHARS:
            raise AmlTooLong(f"AML text: a value is longer than {MAX_VALUE_CHARS} characters")
        values[key] = value
    if version == 1:
        return _parse_v1(_Fields(values), text)
    return _parse_v2(_Fields(values))


def _parse_v1(fields: _Fields, text: str) -> AmlReport:
    warnings: list[AmlWarning] = []
    rd = fields.take("rd")
    pm = fields.take("pm")
    method: AmlMethod | None = None
    if pm is not None:
        if pm.upper() in _SMS_METHODS:
            method = _SMS_METHODS[pm.upper()]
        else:
            method = AmlMethod.UNKNOWN
            warnings.append(AmlWarning.METHOD_UNKNOWN)
    lt_text, lg_text = fields.take("lt"), fields.take("lg")
    no_fix = (rd is not None and rd.upper() == "N") or (pm is not None and pm.upper() == "N")
    latitude = longitude = radius = None
    if not no_fix:
        latitude, longitude = _position_pair(
            _latitude(lt_text, "lt"), _longitude(lg_text, "lg"), "lt", "lg"
        )
        radius = _radius(rd, "rd") if latitude is not None else None
    top = fields.take_match("top", _TOP, "time of positioning must be YYYYMMDDhhmmss UTC")
    if top is None:
        raise AmlValueError("top", "time of positioning is required")
    try:
        time = datetime.strptime(top, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise AmlValueError("top", "time of positioning is not a real UTC date and time") from exc
    imsi = fields.take_match("si", _IMSI, "IMSI must be 1..15 digits")
    warnings.extend(_imsi_warnings(imsi))
    length_ok: bool | None = None
    ml = fields.take("ml")
    if ml is not None:
        length_ok = ml.isdigit() and len(ml) <= 4 and int(ml) == len(text)
        if not length_ok:
            warnings.append(AmlWarning.LENGTH_MISMATCH)
    return AmlReport(
        version=1,
        transport=AmlTransport.SMS,
        time=time,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius,
        confidence=_percent(fields.take("lc"), "lc"),
        method=method,
        imsi=imsi,
        imei=fields.take_match("ei", _IMEI, "IMEI must be 14..16 digits"),
        mcc=fields.take_match("mcc", _MCC, "MCC must be 3 digits"),
        mnc=fields.take_match("mnc", _MNC, "MNC must be 2 or 3 digits"),
        home_mcc=imsi[:3] if imsi is not None and len(imsi) >= 3 else None,
        length_ok=length_ok,
        warnings=tuple(warnings),
        extra=fields.extra(),
    )


def _split_numbers(value: str | None, key: str, count: int) -> list[str | None]:
    if value is None:
        return [None] * count
    parts = value.split(",")
    if not 2 <= len(parts) <= count:
        raise AmlValueError(key, f"must be {count} comma-separated numbers")
    return [p or None for p in parts] + [None] * (count - len(parts))


def _parse_v2(fields: _Fields) -> AmlReport:
    """Google ELS beta (`A"ML=2`): `en`, `et`, `lo`, `lt` (offset), `lc`, `lz`, `ls`, `ei`, `nc`,
    `hc`, `lg`."""
    warnings: list[AmlWarning] = []
    et = fields.take_match("et", _EPOCH_S, "call time must be UNIX seconds")
    if et is None:
        raise AmlValueError("et", "call time is required in version 2")
    call_time = _from_epoch(et, "et", millis=False)
    lat_text, lon_text, acc_text = _split_numbers(fields.take("lo"), "lo", 3)
    latitude, longitude = _position_pair(
        _latitude(lat_text, "lo"), _longitude(lon_text, "lo"), "lo", "lo"
    )
    accuracy = _radius(acc_text, "lo")
    radius = accuracy or None  # an accuracy of 0 means unknown
    offset = fields.take_match("lt", _OFFSET_S, "location time offset must be whole seconds")
    time = call_time
    if offset is None or latitude is None:
        warnings.append(AmlWarning.TIME_FROM_CALL_START)
    elif abs(int(offset)) > _MAX_V2_OFFSET_S:
        warnings.append(AmlWarning.TIME_OFFSET_IGNORED)
    else:
        time = call_time + timedelta(seconds=int(offset))
    altitude_text, _vertical = _split_numbers(fields.take("lz"), "lz", 2)
    altitude = _number(
        altitude_text, "lz", _SIGNED_METRES, "altitude must be metres", low=-1e4, high=1e5
    )
    ls = fields.take("ls")
    method: AmlMethod | None = None
    if ls is not None:
        method = _SMS_METHODS.get(ls.upper(), AmlMethod.UNKNOWN)
        if ls.upper() not in _SMS_METHODS:
            warnings.append(AmlWarning.METHOD_UNKNOWN)
    mcc = mnc = home_mcc = home_mnc = None
    nc = fields.take_match("nc", _MCC_MNC, "network code must be MCC and MNC digits")
    if nc is not None:
        mcc, mnc = nc[:3], nc[3:]
    hc = fields.take_match("hc", _MCC_MNC, "home network code must be MCC and MNC digits")
    if hc is not None:
        home_mcc, home_mnc = hc[:3], hc[3:]
    return AmlReport(
        version=2,
        transport=AmlTransport.SMS,
        time=time,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius if latitude is not None else None,
        confidence=_percent(fields.take("lc"), "lc"),
        method=method if latitude is not None else None,
        imei=fields.take_match("ei", _IMEI, "IMEI must be 14..16 digits"),
        mcc=mcc,
        mnc=mnc,
        home_mcc=home_mcc,
        home_mnc=home_mnc,
        emergency_number=fields.take_match("en", _PHONE, "emergency number must be digits"),
        language=fields.take_match("lg", _LANGUAGES, "language must be a BCP 47 tag"),
        altitude_m=altitude if latitude is not None else None,
        call_time=call_time,
        warnings=tuple(warnings),
        extra=fields.extra(),
    )


# --- HTTPS form --------------------------------------------------------------------------------


def _check_hmac(raw: bytes, key: bytes) -> None:
    message, sep, mac = raw.rpartition(b"&hmac=")
    if not sep:
        raise AmlHmacMismatch("AML HTTPS: a key is configured and the hmac field is missing")
    if len(mac) != _SHA1_HEX_LEN or _HEX_SHA1.fullmatch(mac.decode("ascii")) is None:
        raise AmlHmacMismatch("AML HTTPS: hmac must be the last field, 40 hex digits of HMAC-SHA1")
    expected = hmac.new(key, message, hashlib.sha1).hexdigest().encode("ascii")
    if not hmac.compare_digest(expected, mac.lower()):
        raise AmlHmacMismatch("AML HTTPS: hmac does not match the body and the configured key")


def _decode_form(raw: bytes) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in raw.decode("ascii").split("&"):
        if not pair:
            continue
        key_text, sep, value_text = pair.partition("=")
        if not sep:
            raise AmlSyntaxError("AML HTTPS: a field is not name=value")
        try:
            key = unquote_plus(key_text, errors="strict")
            value = unquote_plus(value_text, errors="strict").strip()
        except UnicodeDecodeError as exc:
            raise AmlSyntaxError("AML HTTPS: a percent-encoded field is not UTF-8") from exc
        if _FORM_KEY.fullmatch(key) is None:
            raise AmlSyntaxError("AML HTTPS: a field name is not 1..40 of [A-Za-z0-9_]")
        if key in values:
            name = repr(key) if key in _HTTPS_KEYS else "a field"
            raise AmlSyntaxError(f"AML HTTPS: {name} appears twice")
        if len(value) > MAX_VALUE_CHARS:
            raise AmlTooLong(f"AML HTTPS: a value is longer than {MAX_VALUE_CHARS} characters")
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
            name = key if key in _HTTPS_KEYS else "(an unknown field)"
            raise AmlValueError(name, "holds a control character")
        values[key] = value
    return values


def parse_aml_https(body: str | bytes, *, hmac_key: bytes | None = None) -> AmlReport:
    """Parse the HTTPS form-urlencoded variant of an AML report.

    With `hmac_key`, the body must end with a matching `hmac` field (see the module docstring);
    without it, an `hmac` field is ignored. Raises an `AmlError` subclass from `intake.errors`.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(raw) > MAX_HTTPS_BYTES:
        raise AmlTooLong(f"AML HTTPS: body larger than {MAX_HTTPS_BYTES} bytes")
    if any(b < 0x20 or b > 0x7E for b in raw):
        raise AmlSyntaxError("AML HTTPS: body holds a byte outside printable ASCII")
    if raw.count(b"&") + 1 > MAX_HTTPS_FIELDS:
        raise AmlTooLong(f"AML HTTPS: more than {MAX_HTTPS_FIELDS} fields")
    if hmac_key is not None:
        _check_hmac(raw, hmac_key)
    fields = _Fields(_decode_form(raw))
    version_text = fields.take("v")
    if version_text is None:
        raise AmlUnsupportedVersion("AML HTTPS: the version field v is missing")
    if _VERSION.fullmatch(version_text) is None:
        raise AmlUnsupportedVersion("AML HTTPS: the version field v is not a number")
    if int(version_text) != 1:
        raise AmlUnsupportedVersion("AML HTTPS: only version 1 is read", version=int(version_text))
    warnings: list[AmlWarning] = []
    latitude, longitude = _position_pair(
        _latitude(fields.take("location_latitude"), "location_latitude"),
        _longitude(fields.take("location_longitude"), "location_longitude"),
        "location_latitude",
        "location_longitude",
    )
    radius = _radius(fields.take("location_accuracy"), "location_accuracy")
    call_ms = fields.take_match("time", _EPOCH_MS, "call time must be UNIX milliseconds")
    call_time = None if call_ms is None else _from_epoch(call_ms, "time", millis=True)
    fix_ms = fields.take_match("location_time", _EPOCH_MS, "must be UNIX milliseconds")
    if fix_ms is not None:
        time = _from_epoch(fix_ms, "location_time", millis=True)
    elif call_time is not None:
        time = call_time
        warnings.append(AmlWarning.TIME_FROM_CALL_START)
    else:
        raise AmlValueError("location_time", "a fix time (or the call time) is required")
    source = fields.take("location_source")
    method: AmlMethod | None = None
    if source is not None:
        method = _HTTPS_METHODS.get(source.lower(), AmlMethod.UNKNOWN)
        if source.lower() not in _HTTPS_METHODS:
            warnings.append(AmlWarning.METHOD_UNKNOWN)
    confidence = _percent(fields.take("location_certainty"), "location_certainty")
    fraction = _number(
        fields.take("location_confidence"),
        "location_confidence",
        _FRACTION,
        "confidence must be a fraction",
        low=0.0,
        high=1.0,
    )
    if confidence is None and fraction is not None:
        confidence = round(fraction * 100)
    imsi = fields.take_match("device_imsi", _IMSI, "IMSI must be 1..15 digits")
    warnings.extend(_imsi_warnings(imsi))
    home_mcc = fields.take_match("cell_home_mcc", _MCC, "MCC must be 3 digits")
    if home_mcc is None and imsi is not None and len(imsi) >= 3:
        home_mcc = imsi[:3]
    altitude = _number(
        fields.take("location_altitude"),
        "location_altitude",
        _SIGNED_METRES,
        "altitude must be metres",
        low=-1e4,
        high=1e5,
    )
    fields.take("hmac")  # checked above when a key is configured, never part of `extra`
    return AmlReport(
        version=1,
        transport=AmlTransport.HTTPS,
        time=time,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius if latitude is not None else None,
        confidence=confidence,
        method=method,
        imsi=imsi,
        imei=fields.take_match("device_imei", _IMEI, "IMEI must be 14..16 digits"),
        mcc=fields.take_match("cell_network_mcc", _MCC, "MCC must be 3 digits"),
        mnc=fields.take_match("cell_network_mnc", _MNC, "MNC must be 2 or 3 digits"),
        home_mcc=home_mcc,
        home_mnc=fields.take_match("cell_home_mnc", _MNC, "MNC must be 2 or 3 digits"),
        emergency_number=fields.take_match("emergency_number", _PHONE, "must be digits"),
        device_number=fields.take_match("device_number", _PHONE, "must be an E.164 number"),
        language=fields.take_match("device_languages", _LANGUAGES, "must be BCP 47 tags"),
        altitude_m=altitude,
        call_time=call_time,
        warnings=tuple(warnings),
        extra=fields.extra(),
    )
