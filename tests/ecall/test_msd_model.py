"""ecall.msd.model: the JSON form, from_json_dict's rejections, enums and the idempotency key."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from ecall.errors import MsdJsonError, MsdOutOfRange
from ecall.msd import (
    AdditionalData,
    MinimumSetOfData,
    PropulsionStorage,
    VehicleLocationDelta,
    VehicleType,
    encode_relative_oid,
    msd_idempotency_key,
)

MSD = MinimumSetOfData(
    msd_version=3,
    message_identifier=9,
    automatic_activation=False,
    test_call=True,
    position_can_be_trusted=False,
    vehicle_type=VehicleType.SPECIAL_PURPOSE_HEARSE_CLASS_SD,
    vin="NMTBE3JE10R123456",
    vehicle_propulsion_storage_type=frozenset(
        {PropulsionStorage.HYDROGEN_STORAGE, PropulsionStorage.GASOLINE_TANK_PRESENT}
    ),
    timestamp=0,
    position_latitude=2147483647,
    position_longitude=-118_208_160,
    vehicle_direction=255,
    recent_vehicle_location_n1=VehicleLocationDelta(latitude_delta=1, longitude_delta=-1),
    recent_vehicle_location_n2=VehicleLocationDelta(latitude_delta=-512, longitude_delta=511),
    number_of_occupants=0,
    additional_data=AdditionalData(oid=(8, 1, 128), data=b"\xab\x01"),
)


def test_json_shape_is_exactly_the_cli_shape() -> None:
    """to_json_dict has the issue's keys in order, flags in ASN.1 order, hex in upper case."""
    obj = MSD.to_json_dict()
    assert list(obj) == [
        "msdVersion", "messageIdentifier", "automaticActivation", "testCall",
        "positionCanBeTrusted", "vehicleType", "vin", "vehiclePropulsionStorageType",
        "timestamp", "positionLatitude", "positionLongitude", "vehicleDirection",
        "recentVehicleLocationN1", "recentVehicleLocationN2", "numberOfOccupants",
        "additionalData", "latitude_deg", "longitude_deg",
    ]  # fmt: skip
    assert obj["vehicleType"] == "specialPurposeHearseClassSD"
    assert obj["vehiclePropulsionStorageType"] == ["gasolineTankPresent", "hydrogenStorage"]
    assert obj["recentVehicleLocationN2"] == [-512, 511]
    assert obj["additionalData"] == {"oid": "8.1.128", "data_hex": "AB01"}
    assert obj["latitude_deg"] is None
    assert obj["longitude_deg"] == pytest.approx(-32.8356)
    json.dumps(obj)  # plain JSON types only


def test_json_round_trip() -> None:
    """from_json_dict(to_json_dict(m)) == m, also after a trip through JSON text."""
    assert MinimumSetOfData.from_json_dict(json.loads(json.dumps(MSD.to_json_dict()))) == MSD
    bare = dataclasses.replace(
        MSD,
        recent_vehicle_location_n1=None,
        recent_vehicle_location_n2=None,
        number_of_occupants=None,
        additional_data=None,
    )
    assert "numberOfOccupants" not in bare.to_json_dict()
    assert MinimumSetOfData.from_json_dict(bare.to_json_dict()) == bare


def _broken(**changes: Any) -> dict[str, Any]:
    obj = MSD.to_json_dict()
    for key, value in changes.items():
        if value is KeyError:
            del obj[key]
        else:
            obj[key] = value
    return obj


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        pytest.param([], "JSON object", id="not-object"),
        pytest.param(_broken(colour="red"), "unknown keys: colour", id="unknown-key"),
        pytest.param(_broken(vin=KeyError), "missing keys: vin", id="missing-key"),
        pytest.param(_broken(timestamp="0"), "timestamp: expected int", id="string-for-int"),
        pytest.param(_broken(messageIdentifier=True), "messageIdentifier", id="bool-for-int"),
        pytest.param(_broken(testCall=1), "testCall: expected bool", id="int-for-bool"),
        pytest.param(_broken(vehiclePropulsionStorageType=[1]), "list of names", id="flag-type"),
        pytest.param(_broken(recentVehicleLocationN1=[1]), "latitudeDelta", id="delta-shape"),
        pytest.param(_broken(additionalData={"oid": "8.1"}), "additionalData", id="extra-keys"),
        pytest.param(
            _broken(additionalData={"oid": "8.x", "data_hex": ""}), "dotted", id="oid-text"
        ),
        pytest.param(
            _broken(additionalData={"oid": "8.1", "data_hex": "XY"}), "hexadecimal", id="hex"
        ),
        pytest.param(_broken(numberOfOccupants=1.5), "numberOfOccupants", id="float"),
    ],
)
def test_from_json_dict_rejects_wrong_shapes(obj: object, match: str) -> None:
    """A JSON object of the wrong shape or types is MsdJsonError naming the key."""
    with pytest.raises(MsdJsonError, match=match):
        MinimumSetOfData.from_json_dict(obj)


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        (_broken(vehicleType="tractor"), "vehicleType"),
        (_broken(vehiclePropulsionStorageType=["nuclear"]), "vehiclePropulsionStorageType"),
    ],
)
def test_from_json_dict_rejects_unknown_names(obj: dict[str, Any], field: str) -> None:
    """An enumeration name EN 15722 does not define is MsdOutOfRange(field)."""
    with pytest.raises(MsdOutOfRange) as info:
        MinimumSetOfData.from_json_dict(obj)
    assert info.value.field == field


def test_vehicle_types_per_version() -> None:
    """13 vehicle types exist before version 3 and 23 from version 3, coded 1..23."""
    assert [t.code for t in VehicleType] == list(range(1, 24))
    assert sum(t.defined_in(2) for t in VehicleType) == 13
    assert all(t.defined_in(3) for t in VehicleType)
    assert VehicleType.MOTORCYCLES_CLASS_L7E.defined_in(1)
    assert not VehicleType.TRAILERS_CLASS_O.defined_in(2)


def test_relative_oid_encoding_is_minimal_base_128() -> None:
    """Arcs are written base-128, most significant group first, without 0x80 padding."""
    assert encode_relative_oid((8, 1)) == b"\x08\x01"
    assert encode_relative_oid((0, 127, 128, 16383, 16384)) == bytes.fromhex("007f8100ff7f818000")


def test_idempotency_key_is_vin_and_message_identifier() -> None:
    """Retransmissions share the key; an updated MSD (new identifier) gets a new one."""
    again = dataclasses.replace(MSD, timestamp=5)
    update = dataclasses.replace(MSD, message_identifier=10)
    assert msd_idempotency_key(again) == msd_idempotency_key(MSD) == "NMTBE3JE10R123456:9"
    assert msd_idempotency_key(update) != msd_idempotency_key(MSD)
