"""EN 15722 Minimum Set of Data codec (UPER), sans-I/O: bytes in, value out, and back.

Wire layout, by the version in octet 0:

- version 1 (EN 15722:2011): ``id`` octet, then the UPER ``MSDMessage`` directly; the whole
  message is at most 140 octets.
- versions 2 (2015) and 3 (2020): ``id`` octet, then ``msd`` as an UPER OCTET STRING (an
  X.691 length determinant, one octet below 128, two from 128 to 16383) whose contents, at
  most 140 octets, are the UPER ``MSDMessage``. The wrapper is read and written here by
  hand (three lines of X.691); the ``MSDMessage`` by asn1tools from the modules in ``asn1/``.

asn1tools has no RELATIVE-OID codec. In UPER a RELATIVE-OID is its X.690 contents octets
behind an unconstrained length determinant, which is bit for bit how an unconstrained OCTET
STRING is encoded, so the compiled schema declares ``additionalData.oid`` as an OCTET STRING
and ``decode_relative_oid`` turns the octets into arcs (tests check this against pycrate,
which compiles the same modules with a real RELATIVE-OID).

Decoding is liberal where the standard allows it and strict where it does not: trailing
octets after the MSD (or after the wrapper) are ignored, DEFAULT flags may be coded
minimally or explicitly, and every rejection is a documented ``ecall.errors`` exception.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any, Final

import asn1tools

from ecall.errors import (
    InvalidVin,
    MsdDecodeError,
    MsdEncodeError,
    MsdOutOfRange,
    MsdTooLong,
    MsdTruncated,
    UnsupportedMsdVersion,
)
from ecall.msd.model import (
    DIRECTION_UNKNOWN,
    LATITUDE_LIMIT_MAS,
    LONGITUDE_LIMIT_MAS,
    POSITION_UNKNOWN,
    AdditionalData,
    MinimumSetOfData,
    PropulsionStorage,
    VehicleLocationDelta,
    VehicleType,
    decode_relative_oid,
    encode_relative_oid,
)

__all__ = [
    "DECODABLE_VERSIONS",
    "ENCODABLE_VERSIONS",
    "MAX_MSD_OCTETS",
    "decode_msd",
    "encode_msd",
    "schema_text",
    "validate_msd",
]

MAX_MSD_OCTETS: Final = 140
"""EN 15722's limit on the MSD (v1: the whole message; v2/v3: the wrapped structure)."""
DECODABLE_VERSIONS: Final = (1, 2, 3)
ENCODABLE_VERSIONS: Final = (2, 3)

VIN_ALPHABET: Final = frozenset("0123456789ABCDEFGHJKLMNPRSTUVWXYZ")
"""ISO 3779 VIN characters: digits and capitals without I, O and Q (33 characters)."""
VIN_LENGTH: Final = 17
_DELTA_MIN, _DELTA_MAX = -512, 511
_UINT8_MAX: Final = 255
_UINT32_MAX: Final = 4_294_967_295
_V3_DIRECTION_MAX: Final = 179
_SHORT_LENGTH_LIMIT: Final = 0x80
_LONG_LENGTH_LIMIT: Final = 0x4000


def schema_text(version: int) -> str:
    """The ASN.1 module of MSD format ``version`` (1, 2 or 3) as shipped in ``asn1/``."""
    if version not in DECODABLE_VERSIONS:
        raise UnsupportedMsdVersion(version)
    return (resources.files("ecall.msd") / "asn1" / f"msd_v{version}.asn").read_text("utf-8")


@functools.cache
def _message_type(version: int) -> Any:
    """The compiled asn1tools ``MSDMessage`` type of a version (compiled once per process)."""
    # RELATIVE-OID -> OCTET STRING: identical UPER encoding, see the module docstring.
    text = schema_text(version).replace("RELATIVE-OID", "OCTET STRING")
    return asn1tools.compile_string(text, "uper").types["MSDMessage"]


def decode_msd(data: bytes) -> MinimumSetOfData:
    """Decode one MSD (EN 15722 version 1, 2 or 3) from ``data``.

    Octets after the MSD are ignored. Raises a ``MsdDecodeError`` subclass with the reason:
    ``MsdTruncated``, ``MsdTooLong``, ``UnsupportedMsdVersion``, ``InvalidRelativeOid``,
    ``MsdOutOfRange`` (with ``field``), ``InvalidVin``, or ``MsdDecodeError`` itself for
    bits that are not a valid UPER ``MSDMessage``.
    """
    if not data:
        raise MsdTruncated("empty input: no MSD version octet")
    version = data[0]
    if version == 1:
        body = data[1:MAX_MSD_OCTETS]
        too_long = len(data) > MAX_MSD_OCTETS
    elif version in (2, 3):
        body = _unwrap(data)
        too_long = False
    else:
        raise UnsupportedMsdVersion(version)
    try:
        value = _message_type(version).decode(body)
    except asn1tools.codecs.OutOfDataError as exc:
        if too_long:
            raise MsdTooLong("version 1 MSD runs past 140 octets") from exc
        raise MsdTruncated("MSD structure ends before its last element") from exc
    except asn1tools.Error as exc:
        where = _location(exc)
        if "vehicleIdentificationNumber" in where:
            # The only check asn1tools makes inside the VIN: a 6-bit index past the alphabet.
            raise InvalidVin("character code outside the 33-character alphabet") from exc
        raise MsdDecodeError(f"malformed UPER encoding in {where}") from exc
    except NotImplementedError as exc:
        # asn1tools stops at extension bitmaps over 64 bits, which no EN 15722 version has.
        raise MsdDecodeError("extension additions beyond any EN 15722 version") from exc
    msd = _from_asn1(version, value)
    validate_msd(msd, version)
    return msd


def encode_msd(msd: MinimumSetOfData, version: int = 3) -> bytes:
    """Encode ``msd`` as an EN 15722 version 2 or 3 ECallMessage (minimal UPER).

    ``msd.msd_version`` is not consulted: ``version`` says what to write. Raises
    ``MsdEncodeError`` (version 1 or another unknown version; the structure would exceed 140
    octets; version 3 without both recent-location deltas) or a ``MsdValueError`` subclass
    (``MsdOutOfRange``, ``InvalidVin``) for a value the version forbids.
    """
    if version not in ENCODABLE_VERSIONS:
        raise MsdEncodeError("only MSD versions 2 and 3 are encoded (version 1 is decode-only)")
    validate_msd(msd, version)
    try:
        inner: bytes = _message_type(version).encode(_to_asn1(msd, version))
    except asn1tools.Error as exc:  # pragma: no cover - validate_msd rules these out
        raise MsdEncodeError(f"cannot encode {_location(exc)}") from exc
    if len(inner) > MAX_MSD_OCTETS:
        raise MsdEncodeError("MSD structure would exceed 140 octets (additionalData too long)")
    return bytes((version,)) + _length_determinant(len(inner)) + inner


def validate_msd(msd: MinimumSetOfData, version: int) -> None:
    """Check ``msd`` against the rules of MSD format ``version``; raise on the first breach.

    Ranges: messageIdentifier, numberOfOccupants 0..255; timestamp 0..2^32-1 (0 = unknown);
    positionLatitude within +-324,000,000 and positionLongitude within +-648,000,000
    milliarcseconds, or 2147483647 = unknown; deltas -512..511; vehicleDirection 0..255 in
    versions 1 and 2, 0..179 or 255 in version 3; the vehicle type and propulsion flags the
    version defines; the VIN alphabet. Version 3 also requires both recent-location deltas.
    """
    _check_range("messageIdentifier", msd.message_identifier, 0, _UINT8_MAX)
    if not msd.vehicle_type.defined_in(version):
        raise MsdOutOfRange("vehicleType", "not defined in this MSD version")
    if version < 2 and PropulsionStorage.OTHER_STORAGE in msd.vehicle_propulsion_storage_type:
        raise MsdOutOfRange("vehiclePropulsionStorageType", "otherStorage needs version 2+")
    _check_vin(msd.vin)
    _check_range("timestamp", msd.timestamp, 0, _UINT32_MAX)
    _check_position("positionLatitude", msd.position_latitude, LATITUDE_LIMIT_MAS)
    _check_position("positionLongitude", msd.position_longitude, LONGITUDE_LIMIT_MAS)
    direction = msd.vehicle_direction
    if version >= 3:
        if not (0 <= direction <= _V3_DIRECTION_MAX or direction == DIRECTION_UNKNOWN):
            raise MsdOutOfRange("vehicleDirection", "must be 0..179 or 255 in version 3")
    else:
        _check_range("vehicleDirection", direction, 0, _UINT8_MAX)
    for name, delta in (
        ("recentVehicleLocationN1", msd.recent_vehicle_location_n1),
        ("recentVehicleLocationN2", msd.recent_vehicle_location_n2),
    ):
        if delta is None:
            if version >= 3:
                raise MsdEncodeError(f"{name} is mandatory in version 3")
            continue
        _check_range(f"{name}.latitudeDelta", delta.latitude_delta, _DELTA_MIN, _DELTA_MAX)
        _check_range(f"{name}.longitudeDelta", delta.longitude_delta, _DELTA_MIN, _DELTA_MAX)
    if msd.number_of_occupants is not None:
        name = "numberOfOccupants" if version >= 3 else "numberOfPassengers"
        _check_range(name, msd.number_of_occupants, 0, _UINT8_MAX)


def _check_range(field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise MsdOutOfRange(field, f"must be within {low}..{high}")


def _check_position(field: str, value: int, limit: int) -> None:
    if value != POSITION_UNKNOWN and not -limit <= value <= limit:
        raise MsdOutOfRange(
            field, f"must be within +-{limit} milliarcseconds or {POSITION_UNKNOWN} (unknown)"
        )


def _check_vin(vin: str) -> None:
    if len(vin) != VIN_LENGTH:
        raise InvalidVin("must be 17 characters")
    if not VIN_ALPHABET.issuperset(vin):
        raise InvalidVin("only digits and capital letters other than I, O and Q")


def _unwrap(data: bytes) -> bytes:
    """The contents of the v2/v3 ``msd`` OCTET STRING (X.691 10.9 length determinant)."""
    if len(data) < 2:  # version octet plus the first length octet
        raise MsdTruncated("MSD wrapper ends before its length")
    first = data[1]
    if first < _SHORT_LENGTH_LIMIT:
        length, start = first, 2
    elif first < 0xC0:
        if len(data) < 3:  # version octet plus a two-octet length
            raise MsdTruncated("MSD wrapper ends inside its length")
        length, start = ((first & 0x3F) << 8) | data[2], 3
    else:
        raise MsdTooLong("MSD wrapper announces a fragmented (16K octets or more) structure")
    if length > MAX_MSD_OCTETS:
        raise MsdTooLong("MSD structure longer than 140 octets")
    if len(data) < start + length:
        raise MsdTruncated("MSD structure shorter than its announced length")
    return data[start : start + length]


def _length_determinant(length: int) -> bytes:
    if length < _SHORT_LENGTH_LIMIT:
        return bytes((length,))
    if length < _LONG_LENGTH_LIMIT:  # 128..140 octets: the two-octet form
        return bytes((0x80 | (length >> 8), length & 0xFF))
    raise MsdEncodeError("MSD structure too long")  # pragma: no cover - 140 is checked first


def _location(exc: asn1tools.Error) -> str:
    """Where in the schema a library error happened, without the offending value."""
    location = getattr(exc, "location", None)
    if isinstance(location, list) and location:
        return ".".join(str(part) for part in reversed(location))
    return "MSDMessage"


_PASSENGERS: Final = {1: "numberOfPassengers", 2: "numberOfPassengers", 3: "numberOfOccupants"}
# Lookups built once: enum iteration and value lookup cost microseconds per decode.
_FLAG_NAMES: Final = tuple((flag, flag.value) for flag in PropulsionStorage)
_VEHICLE_TYPES: Final = {vehicle_type.value: vehicle_type for vehicle_type in VehicleType}


def _from_asn1(version: int, value: dict[str, Any]) -> MinimumSetOfData:
    structure = value["msdStructure"]
    control = structure["control"]
    vehicle_type_name = control["vehicleType"]
    if vehicle_type_name is None:
        # An extension addition of the enumeration that this version's module lacks.
        raise MsdOutOfRange("vehicleType", "extension value unknown to this MSD version")
    vin = structure["vehicleIdentificationNumber"]
    storage = structure["vehiclePropulsionStorageType"]
    location = structure["vehicleLocation"]
    extra = value.get("optionalAdditionalData")
    additional = (
        None
        if extra is None
        else AdditionalData(oid=decode_relative_oid(extra["oid"]), data=bytes(extra["data"]))
    )
    return MinimumSetOfData(
        msd_version=version,
        message_identifier=structure["messageIdentifier"],
        automatic_activation=control["automaticActivation"],
        test_call=control["testCall"],
        position_can_be_trusted=control["positionCanBeTrusted"],
        vehicle_type=_VEHICLE_TYPES[vehicle_type_name],
        vin=vin["isowmi"] + vin["isovds"] + vin["isovisModelyear"] + vin["isovisSeqPlant"],
        vehicle_propulsion_storage_type=frozenset(
            flag for flag, name in _FLAG_NAMES if storage.get(name, False)
        ),
        timestamp=structure["timestamp"],
        position_latitude=location["positionLatitude"],
        position_longitude=location["positionLongitude"],
        vehicle_direction=structure["vehicleDirection"],
        recent_vehicle_location_n1=_delta(structure.get("recentVehicleLocationN1")),
        recent_vehicle_location_n2=_delta(structure.get("recentVehicleLocationN2")),
        number_of_occupants=structure.get(_PASSENGERS[version]),
        additional_data=additional,
    )


def _delta(value: dict[str, int] | None) -> VehicleLocationDelta | None:
    if value is None:
        return None
    return VehicleLocationDelta(
        latitude_delta=value["latitudeDelta"], longitude_delta=value["longitudeDelta"]
    )


def _to_asn1(msd: MinimumSetOfData, version: int) -> dict[str, Any]:
    flags = [flag for flag in PropulsionStorage if version >= 2 or flag.value != "otherStorage"]
    structure: dict[str, Any] = {
        "messageIdentifier": msd.message_identifier,
        "control": {
            "automaticActivation": msd.automatic_activation,
            "testCall": msd.test_call,
            "positionCanBeTrusted": msd.position_can_be_trusted,
            "vehicleType": msd.vehicle_type.value,
        },
        "vehicleIdentificationNumber": {
            "isowmi": msd.vin[0:3],
            "isovds": msd.vin[3:9],
            "isovisModelyear": msd.vin[9:10],
            "isovisSeqPlant": msd.vin[10:17],
        },
        "vehiclePropulsionStorageType": {
            flag.value: flag in msd.vehicle_propulsion_storage_type for flag in flags
        },
        "timestamp": msd.timestamp,
        "vehicleLocation": {
            "positionLatitude": msd.position_latitude,
            "positionLongitude": msd.position_longitude,
        },
        "vehicleDirection": msd.vehicle_direction,
    }
    for key, delta in (
        ("recentVehicleLocationN1", msd.recent_vehicle_location_n1),
        ("recentVehicleLocationN2", msd.recent_vehicle_location_n2),
    ):
        if delta is not None:
            structure[key] = {
                "latitudeDelta": delta.latitude_delta,
                "longitudeDelta": delta.longitude_delta,
            }
    if msd.number_of_occupants is not None:
        structure[_PASSENGERS[version]] = msd.number_of_occupants
    message: dict[str, Any] = {"msdStructure": structure}
    if msd.additional_data is not None:
        message["optionalAdditionalData"] = {
            "oid": encode_relative_oid(msd.additional_data.oid),
            "data": msd.additional_data.data,
        }
    return message
