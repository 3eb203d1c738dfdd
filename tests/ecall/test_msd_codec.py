"""ecall.msd.codec: every documented rejection, the version rules, and encode/decode behaviour.

Hostile bytes are built by encoding out-of-range values with the codec's compiled asn1tools
type directly (skipping ``validate_msd``), then wrapping them as a vehicle would.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ecall.errors import (
    EcallError,
    InvalidRelativeOid,
    InvalidVin,
    MsdDecodeError,
    MsdEncodeError,
    MsdOutOfRange,
    MsdTooLong,
    MsdTruncated,
    UnsupportedMsdVersion,
)
from ecall.msd import (
    POSITION_UNKNOWN,
    AdditionalData,
    MinimumSetOfData,
    PropulsionStorage,
    VehicleLocationDelta,
    VehicleType,
    decode_msd,
    encode_msd,
    schema_text,
)
from ecall.msd.codec import _message_type

BASE = MinimumSetOfData(
    msd_version=3,
    message_identifier=4,
    automatic_activation=True,
    test_call=False,
    position_can_be_trusted=True,
    vehicle_type=VehicleType.PASSENGER_VEHICLE_CLASS_M1,
    vin="WM9VDSVDSYA123456",
    vehicle_propulsion_storage_type=frozenset({PropulsionStorage.DIESEL_TANK_PRESENT}),
    timestamp=1_767_225_600,
    position_latitude=143_538_120,
    position_longitude=118_208_160,
    vehicle_direction=45,
    recent_vehicle_location_n1=VehicleLocationDelta(latitude_delta=3, longitude_delta=-4),
    recent_vehicle_location_n2=VehicleLocationDelta(latitude_delta=-5, longitude_delta=6),
    number_of_occupants=3,
)


def _asn1_value(version: int, **structure: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "msdStructure": {
            "messageIdentifier": 1,
            "control": {
                "automaticActivation": True,
                "testCall": False,
                "positionCanBeTrusted": True,
                "vehicleType": "passengerVehicleClassM1",
            },
            "vehicleIdentificationNumber": {
                "isowmi": "WM9",
                "isovds": "VDSVDS",
                "isovisModelyear": "Y",
                "isovisSeqPlant": "A123456",
            },
            "vehiclePropulsionStorageType": {"gasolineTankPresent": True},
            "timestamp": 0,
            "vehicleLocation": {"positionLatitude": 0, "positionLongitude": 0},
            "vehicleDirection": 0,
        }
    }
    if version == 3:
        value["msdStructure"]["recentVehicleLocationN1"] = {"latitudeDelta": 0, "longitudeDelta": 0}
        value["msdStructure"]["recentVehicleLocationN2"] = {"latitudeDelta": 0, "longitudeDelta": 0}
    value["msdStructure"].update(structure)
    return value


def _raw(version: int, value: dict[str, Any]) -> bytes:
    """Wrap an MSDMessage value as a vehicle would, without any validation."""
    inner: bytes = _message_type(version).encode(value)
    if version == 1:
        return b"\x01" + inner
    assert len(inner) < 128
    return bytes((version, len(inner))) + inner


def _raw_additional(version: int, oid: bytes, data: bytes = b"\x00") -> bytes:
    value = _asn1_value(version)
    value["optionalAdditionalData"] = {"oid": oid, "data": data}
    return _raw(version, value)


def test_error_tree_roots() -> None:
    """Every codec error is an EcallError; value errors count as both decode and encode errors."""
    assert issubclass(MsdOutOfRange, MsdDecodeError)
    assert issubclass(MsdOutOfRange, MsdEncodeError)
    assert issubclass(InvalidVin, MsdDecodeError)
    assert issubclass(InvalidVin, MsdEncodeError)
    for error in (MsdTruncated, MsdTooLong, UnsupportedMsdVersion, InvalidRelativeOid):
        assert issubclass(error, MsdDecodeError)
        assert issubclass(error, EcallError)


@pytest.mark.parametrize("version", [2, 3])
def test_round_trip_preserves_every_field(version: int) -> None:
    """encode then decode gives the same value, apart from the version it was written in."""
    msd = dataclasses.replace(BASE, msd_version=version)
    assert decode_msd(encode_msd(msd, version)) == msd


def test_version_2_number_of_passengers_is_number_of_occupants() -> None:
    """v2's numberOfPassengers is decoded into number_of_occupants and printed under that name."""
    data = _raw(2, _asn1_value(2, numberOfPassengers=5))
    msd = decode_msd(data)
    assert msd.number_of_occupants == 5
    assert msd.to_json_dict()["numberOfOccupants"] == 5


def test_version_2_optional_deltas_may_be_absent() -> None:
    """Version 2 accepts an MSD without recent locations: None, and absent from the JSON."""
    msd = decode_msd(_raw(2, _asn1_value(2)))
    assert msd.recent_vehicle_location_n1 is None
    assert msd.recent_vehicle_location_n2 is None
    assert "recentVehicleLocationN1" not in msd.to_json_dict()


def test_version_3_schema_makes_deltas_mandatory() -> None:
    """Version 3 has no presence bits for the deltas: the structure is shorter by two bits."""
    text = schema_text(3)
    assert "recentVehicleLocationN1      VehicleLocationDelta," in text
    assert "numberOfOccupants            INTEGER (0 .. 255) OPTIONAL" in text
    assert "numberOfPassengers           INTEGER" not in text


def test_unknown_position_gives_null_degrees() -> None:
    """2147483647 means unknown: accepted, and latitude_deg/longitude_deg are None."""
    msd = decode_msd(
        _raw(
            3,
            _asn1_value(
                3,
                vehicleLocation={
                    "positionLatitude": POSITION_UNKNOWN,
                    "positionLongitude": POSITION_UNKNOWN,
                },
            ),
        )
    )
    assert msd.latitude_deg is None
    assert msd.longitude_deg is None
    assert msd.to_json_dict()["latitude_deg"] is None


def test_position_limits_are_inclusive() -> None:
    """Exactly +-324,000,000 / +-648,000,000 milliarcseconds are valid positions."""
    for lat, lon in ((324_000_000, -648_000_000), (-324_000_000, 648_000_000)):
        msd = decode_msd(
            _raw(
                3,
                _asn1_value(3, vehicleLocation={"positionLatitude": lat, "positionLongitude": lon}),
            )
        )
        assert (msd.latitude_deg, msd.longitude_deg) == (lat / 3_600_000, lon / 3_600_000)


def test_timestamp_zero_means_unknown_and_is_accepted() -> None:
    """timestamp 0 (the vehicle could not tell the time) decodes as 0."""
    assert decode_msd(_raw(3, _asn1_value(3, timestamp=0))).timestamp == 0


def test_version_2_accepts_any_direction_octet() -> None:
    """Versions 1 and 2 carry vehicleDirection 0..255 as coded; only v3 restricts it."""
    assert decode_msd(_raw(2, _asn1_value(2, vehicleDirection=200))).vehicle_direction == 200


def test_version_3_direction_255_means_unknown() -> None:
    """255 is the one value above 179 that version 3 accepts."""
    assert decode_msd(_raw(3, _asn1_value(3, vehicleDirection=255))).vehicle_direction == 255


def test_version_3_vehicle_types_decode() -> None:
    """The ten vehicle types added in version 3 decode by their ASN.1 names."""
    control = dict(_asn1_value(3)["msdStructure"]["control"], vehicleType="agriVehiclesClassT")
    msd = decode_msd(_raw(3, _asn1_value(3, control=control)))
    assert msd.vehicle_type is VehicleType.AGRI_VEHICLES_CLASS_T
    assert msd.vehicle_type.code == 17


# --- one test per documented decode rejection -------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x03", id="no-length"),
        pytest.param(b"\x02\x81", id="inside-two-octet-length"),
        pytest.param(b"\x03\x20" + bytes(10), id="shorter-than-announced"),
        pytest.param(b"\x03\x05" + bytes(5), id="structure-cut"),
        pytest.param(b"\x01" + bytes(10), id="v1-cut"),
    ],
)
def test_truncated_input_raises_msd_truncated(data: bytes) -> None:
    """Input ending before the MSD does is MsdTruncated."""
    with pytest.raises(MsdTruncated):
        decode_msd(data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x03\x80\x8d" + bytes(141), id="wrapper-141-octets"),
        pytest.param(b"\x02\xc1" + bytes(10), id="fragmented-length"),
    ],
)
def test_wrapped_structure_over_140_octets_raises_msd_too_long(data: bytes) -> None:
    """A v2/v3 structure announced longer than 140 octets is MsdTooLong."""
    with pytest.raises(MsdTooLong):
        decode_msd(data)


def test_version_1_over_140_octets_raises_msd_too_long() -> None:
    """A v1 MSD whose additional data runs past octet 140 is MsdTooLong, not truncated."""
    data = _raw_additional(1, b"\x08\x01", bytes(200))
    with pytest.raises(MsdTooLong):
        decode_msd(data)


def test_wrapped_structure_of_exactly_140_octets_is_accepted() -> None:
    """The 140-octet limit is inclusive (two-octet length determinant from 128 on)."""
    inner = _message_type(3).encode(
        dict(_asn1_value(3), optionalAdditionalData={"oid": b"\x08\x01", "data": bytes(100)})
    )
    inner += bytes(140 - len(inner))
    msd = decode_msd(b"\x03\x80\x8c" + inner)
    assert msd.additional_data is not None


@pytest.mark.parametrize("version", [0, 4, 255])
def test_unknown_version_raises_unsupported_msd_version(version: int) -> None:
    """Octet 0 other than 1, 2, 3 is UnsupportedMsdVersion, with the octet as an attribute."""
    with pytest.raises(UnsupportedMsdVersion) as info:
        decode_msd(bytes((version,)) + bytes(40))
    assert info.value.version == version
    assert str(version) not in str(info.value).replace("1, 2, 3", "")


@pytest.mark.parametrize(
    ("oid", "reason"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"\x08\x81", "unfinished", id="unfinished-last-arc"),
        pytest.param(b"\x80\x01", "minimal", id="leading-0x80"),
    ],
)
def test_bad_relative_oid_raises_invalid_relative_oid(oid: bytes, reason: str) -> None:
    """additionalData.oid that is not X.690 RELATIVE-OID content is InvalidRelativeOid."""
    with pytest.raises(InvalidRelativeOid, match=reason):
        decode_msd(_raw_additional(3, oid))


@pytest.mark.parametrize(
    ("structure", "field"),
    [
        (
            {"vehicleLocation": {"positionLatitude": 324_000_001, "positionLongitude": 0}},
            "positionLatitude",
        ),
        (
            {"vehicleLocation": {"positionLatitude": -324_000_001, "positionLongitude": 0}},
            "positionLatitude",
        ),
        (
            {"vehicleLocation": {"positionLatitude": 0, "positionLongitude": 648_000_001}},
            "positionLongitude",
        ),
        (
            {"vehicleLocation": {"positionLatitude": 0, "positionLongitude": -2_147_483_648}},
            "positionLongitude",
        ),
        ({"vehicleDirection": 180}, "vehicleDirection"),
        ({"vehicleDirection": 254}, "vehicleDirection"),
    ],
)
def test_out_of_range_element_raises_msd_out_of_range(
    structure: dict[str, Any], field: str
) -> None:
    """A position beyond its limit or a v3 direction 180..254 is MsdOutOfRange(field)."""
    with pytest.raises(MsdOutOfRange) as info:
        decode_msd(_raw(3, _asn1_value(3, **structure)))
    assert info.value.field == field
    assert "324000001" not in str(info.value)


def _set_vehicle_type_extension(data: bytes) -> bytes:
    """Rewrite a v2 MSD's vehicleType as extension index 0 (a type v2 does not know)."""
    bits = "".join(f"{octet:08b}" for octet in data[2:])
    # MSDMessage ext+opt (2), MSDStructure ext+3 opt (4), messageIdentifier (8), 3 booleans.
    at = 2 + 4 + 8 + 3
    assert bits[at] == "0"
    bits = bits[:at] + "1" + "0000000" + bits[at + 5 :]
    bits += "0" * (-len(bits) % 8)
    inner = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return bytes((2, len(inner))) + inner


def test_vehicle_type_extension_unknown_to_version_raises_msd_out_of_range() -> None:
    """A vehicleType extension value the version does not define is MsdOutOfRange(vehicleType)."""
    data = _set_vehicle_type_extension(_raw(2, _asn1_value(2)))
    with pytest.raises(MsdOutOfRange) as info:
        decode_msd(data)
    assert info.value.field == "vehicleType"


def test_vin_character_outside_alphabet_raises_invalid_vin() -> None:
    """A 6-bit VIN code past the 33-character alphabet is InvalidVin."""
    data = bytearray(_raw(3, _asn1_value(3)))
    # v3: MSDMessage ext+opt (2), MSDStructure ext+1 opt (2), id (8), control 3+1+5 = 21 bits
    # after the two wrapper octets; the first VIN character is the next 6 bits.
    bits = "".join(f"{octet:08b}" for octet in data[2:])
    at = 2 + 2 + 8 + 3 + 1 + 5
    bits = bits[:at] + "111111" + bits[at + 6 :]
    data[2:] = int(bits, 2).to_bytes(len(bits) // 8, "big")
    with pytest.raises(InvalidVin):
        decode_msd(bytes(data))


def test_malformed_extension_raises_msd_decode_error() -> None:
    """Extension bits asn1tools cannot follow are a plain MsdDecodeError, not a library error."""
    data = bytes.fromhex("030affffffffffffffffffff")
    with pytest.raises(MsdDecodeError) as info:
        decode_msd(data)
    assert info.value.__cause__ is not None


# --- encode rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 4])
def test_encode_only_versions_2_and_3(version: int) -> None:
    """Version 1 is decode-only; other versions do not exist: MsdEncodeError."""
    with pytest.raises(MsdEncodeError, match="versions 2 and 3"):
        encode_msd(BASE, version)


def test_encode_version_3_requires_both_deltas() -> None:
    """Version 3 cannot be written without recentVehicleLocationN1 and N2."""
    with pytest.raises(MsdEncodeError, match="recentVehicleLocationN2"):
        encode_msd(dataclasses.replace(BASE, recent_vehicle_location_n2=None), 3)
    version_2 = decode_msd(
        encode_msd(dataclasses.replace(BASE, recent_vehicle_location_n2=None), 2)
    )
    assert version_2.recent_vehicle_location_n2 is None


def test_encode_structure_of_128_to_140_octets_uses_two_octet_length() -> None:
    """From 128 octets on the wrapper length takes two octets (X.691 10.9), and decodes back."""
    for size in (90, 100):
        msd = dataclasses.replace(
            BASE, additional_data=AdditionalData(oid=(8, 1), data=bytes(size))
        )
        data = encode_msd(msd)
        inner_length = ((data[1] & 0x3F) << 8) | data[2]
        assert data[1] & 0xC0 == 0x80
        assert 128 <= inner_length <= 140
        assert len(data) == 3 + inner_length
        assert decode_msd(data) == msd


def test_encode_refuses_structure_over_140_octets() -> None:
    """Additional data that would push the structure past 140 octets is MsdEncodeError."""
    big = dataclasses.replace(BASE, additional_data=AdditionalData(oid=(8, 1), data=bytes(120)))
    with pytest.raises(MsdEncodeError, match="140"):
        encode_msd(big)


@pytest.mark.parametrize(
    ("changes", "field", "version"),
    [
        ({"message_identifier": 256}, "messageIdentifier", 3),
        ({"timestamp": -1}, "timestamp", 3),
        ({"timestamp": 2**32}, "timestamp", 3),
        ({"position_latitude": 324_000_001}, "positionLatitude", 3),
        ({"position_longitude": -648_000_001}, "positionLongitude", 2),
        ({"vehicle_direction": 180}, "vehicleDirection", 3),
        ({"vehicle_direction": 256}, "vehicleDirection", 2),
        ({"number_of_occupants": 256}, "numberOfOccupants", 3),
        ({"number_of_occupants": -1}, "numberOfPassengers", 2),
        ({"vehicle_type": VehicleType.TRAILERS_CLASS_O}, "vehicleType", 2),
        (
            {
                "recent_vehicle_location_n1": VehicleLocationDelta(
                    latitude_delta=512, longitude_delta=0
                )
            },
            "recentVehicleLocationN1.latitudeDelta",
            3,
        ),
        (
            {
                "recent_vehicle_location_n2": VehicleLocationDelta(
                    latitude_delta=0, longitude_delta=-513
                )
            },
            "recentVehicleLocationN2.longitudeDelta",
            3,
        ),
        ({"additional_data": AdditionalData(oid=(), data=b"")}, "additionalData", 3),
        ({"additional_data": AdditionalData(oid=(1, -1), data=b"")}, "additionalData", 3),
    ],
)
def test_encode_out_of_range_raises_msd_out_of_range(
    changes: dict[str, Any], field: str, version: int
) -> None:
    """Each value outside what the version allows is MsdOutOfRange naming the element."""
    with pytest.raises(MsdOutOfRange) as info:
        encode_msd(dataclasses.replace(BASE, **changes), version)
    assert info.value.field == field


@pytest.mark.parametrize(
    "vin",
    [
        "WM9VDSVDSYA12345",
        "WM9VDSVDSYA1234567",
        "WM9VDSVDSIA123456",
        "WM9VDSVDSOA123456",
        "WM9VDSVDSQA123456",
        "wm9vdsvdsya123456",
        "WM9VDSVDSYA12345Ü",
    ],
)
def test_encode_invalid_vin_raises_invalid_vin(vin: str) -> None:
    """A VIN not of 17 characters from 0-9 and A-Z without I, O, Q is InvalidVin."""
    with pytest.raises(InvalidVin) as info:
        encode_msd(dataclasses.replace(BASE, vin=vin))
    assert vin not in str(info.value)


def test_encoded_v3_is_minimal_and_small() -> None:
    """Our encoder writes the minimal form: 284 bits, so 36 octets plus version and length."""
    data = encode_msd(BASE, 3)
    assert data[0] == 3
    assert data[1] == len(data) - 2
    assert len(data) == 38
