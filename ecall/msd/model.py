"""Value types of the EN 15722 Minimum Set of Data, independent of any wire version.

``MinimumSetOfData`` holds what every version carries, under the standard's element names in
snake_case; version differences (v2's numberOfPassengers is v3's numberOfOccupants, v3's
vehicle types and mandatory deltas) are resolved by the codec. ``to_json_dict`` and
``from_json_dict`` are the JSON form printed and read by ``ng112 msd decode|encode``.
Constructing a value checks nothing beyond types: the codec validates against the version it
reads or writes, so that a decoded v2 MSD and a hand-built one obey the same rules.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Final, Self, TypeVar

from ecall.errors import InvalidRelativeOid, MsdJsonError, MsdOutOfRange

__all__ = [
    "LATITUDE_LIMIT_MAS",
    "LONGITUDE_LIMIT_MAS",
    "MAS_PER_DEGREE",
    "POSITION_UNKNOWN",
    "AdditionalData",
    "MinimumSetOfData",
    "PropulsionStorage",
    "VehicleLocationDelta",
    "VehicleType",
    "decode_relative_oid",
    "encode_relative_oid",
    "msd_idempotency_key",
]

POSITION_UNKNOWN: Final = 2147483647
"""positionLatitude/positionLongitude value meaning "unknown" (2^31 - 1)."""
LATITUDE_LIMIT_MAS: Final = 324_000_000
"""|positionLatitude| limit: 90 degrees in milliarcseconds."""
LONGITUDE_LIMIT_MAS: Final = 648_000_000
"""|positionLongitude| limit: 180 degrees in milliarcseconds."""
MAS_PER_DEGREE: Final = 3_600_000
DIRECTION_UNKNOWN: Final = 255


class VehicleType(enum.StrEnum):
    """EN 15722 vehicleType; the value is the ASN.1 enumeration name used on the wire.

    Versions 1 and 2 define the first 13 (codes 1..13); version 3 adds ten more (14..23).
    """

    PASSENGER_VEHICLE_CLASS_M1 = "passengerVehicleClassM1"
    BUSES_AND_COACHES_CLASS_M2 = "busesAndCoachesClassM2"
    BUSES_AND_COACHES_CLASS_M3 = "busesAndCoachesClassM3"
    LIGHT_COMMERCIAL_VEHICLES_CLASS_N1 = "lightCommercialVehiclesClassN1"
    HEAVY_DUTY_VEHICLES_CLASS_N2 = "heavyDutyVehiclesClassN2"
    HEAVY_DUTY_VEHICLES_CLASS_N3 = "heavyDutyVehiclesClassN3"
    MOTORCYCLES_CLASS_L1E = "motorcyclesClassL1e"
    MOTORCYCLES_CLASS_L2E = "motorcyclesClassL2e"
    MOTORCYCLES_CLASS_L3E = "motorcyclesClassL3e"
    MOTORCYCLES_CLASS_L4E = "motorcyclesClassL4e"
    MOTORCYCLES_CLASS_L5E = "motorcyclesClassL5e"
    MOTORCYCLES_CLASS_L6E = "motorcyclesClassL6e"
    MOTORCYCLES_CLASS_L7E = "motorcyclesClassL7e"
    TRAILERS_CLASS_O = "trailersClassO"
    AGRI_VEHICLES_CLASS_R = "agriVehiclesClassR"
    AGRI_VEHICLES_CLASS_S = "agriVehiclesClassS"
    AGRI_VEHICLES_CLASS_T = "agriVehiclesClassT"
    OFF_ROAD_VEHICLES_G = "offRoadVehiclesG"
    SPECIAL_PURPOSE_MOTOR_CARAVAN_CLASS_SA = "specialPurposeMotorCaravanClassSA"
    SPECIAL_PURPOSE_ARMOURED_VEHICLE_CLASS_SB = "specialPurposeArmouredVehicleClassSB"
    SPECIAL_PURPOSE_AMBULANCE_CLASS_SC = "specialPurposeAmbulanceClassSC"
    SPECIAL_PURPOSE_HEARSE_CLASS_SD = "specialPurposeHearseClassSD"
    OTHER_VEHICLE_CLASS = "otherVehicleClass"

    @property
    def code(self) -> int:
        """The ASN.1 enumeration number (1..23)."""
        return _VEHICLE_TYPE_CODES[self]

    def defined_in(self, version: int) -> bool:
        """Whether MSD format ``version`` defines this vehicle type (13 before v3, then 23)."""
        return _VEHICLE_TYPE_CODES[self] <= (23 if version >= 3 else 13)


_VEHICLE_TYPE_CODES: Final = {
    vehicle_type: code for code, vehicle_type in enumerate(VehicleType, 1)
}


class PropulsionStorage(enum.StrEnum):
    """A vehiclePropulsionStorageType flag; the value is the ASN.1 element name.

    ``OTHER_STORAGE`` exists from version 2 on.
    """

    GASOLINE_TANK_PRESENT = "gasolineTankPresent"
    DIESEL_TANK_PRESENT = "dieselTankPresent"
    COMPRESSED_NATURAL_GAS = "compressedNaturalGas"
    LIQUID_PROPANE_GAS = "liquidPropaneGas"
    ELECTRIC_ENERGY_STORAGE = "electricEnergyStorage"
    HYDROGEN_STORAGE = "hydrogenStorage"
    OTHER_STORAGE = "otherStorage"


@dataclass(frozen=True, slots=True, kw_only=True)
class VehicleLocationDelta:
    """A recent position as a delta in units of 100 milliarcseconds (about 3 m), -512..511.

    recentVehicleLocationN1 is relative to the current position, N2 relative to N1.
    """

    latitude_delta: int
    longitude_delta: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AdditionalData:
    """optionalAdditionalData: a RELATIVE-OID naming the data's format, and the data octets."""

    oid: tuple[int, ...]
    data: bytes

    @property
    def oid_text(self) -> str:
        """The relative OID in dotted form, e.g. ``"8.1"``."""
        return ".".join(str(arc) for arc in self.oid)


@dataclass(frozen=True, slots=True, kw_only=True)
class MinimumSetOfData:
    """One decoded EN 15722 Minimum Set of Data (any version).

    Positions are WGS84 milliarcseconds as coded (``POSITION_UNKNOWN`` when unknown);
    ``timestamp`` is Unix seconds, 0 when the vehicle could not tell the time;
    ``vehicle_direction`` is in 2-degree steps, 255 unknown. ``number_of_occupants`` is
    version 3's numberOfOccupants and version 1/2's numberOfPassengers.
    """

    msd_version: int
    message_identifier: int
    automatic_activation: bool
    test_call: bool
    position_can_be_trusted: bool
    vehicle_type: VehicleType
    vin: str
    vehicle_propulsion_storage_type: frozenset[PropulsionStorage]
    timestamp: int
    position_latitude: int
    position_longitude: int
    vehicle_direction: int
    recent_vehicle_location_n1: VehicleLocationDelta | None = None
    recent_vehicle_location_n2: VehicleLocationDelta | None = None
    number_of_occupants: int | None = None
    additional_data: AdditionalData | None = None

    @property
    def latitude_deg(self) -> float | None:
        """Latitude in degrees, or None when the vehicle did not know it."""
        if self.position_latitude == POSITION_UNKNOWN:
            return None
        return self.position_latitude / MAS_PER_DEGREE

    @property
    def longitude_deg(self) -> float | None:
        """Longitude in degrees, or None when the vehicle did not know it."""
        if self.position_longitude == POSITION_UNKNOWN:
            return None
        return self.position_longitude / MAS_PER_DEGREE

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object ``ng112 msd decode`` prints (EN 15722 element names)."""
        out: dict[str, Any] = {
            "msdVersion": self.msd_version,
            "messageIdentifier": self.message_identifier,
            "automaticActivation": self.automatic_activation,
            "testCall": self.test_call,
            "positionCanBeTrusted": self.position_can_be_trusted,
            "vehicleType": self.vehicle_type.value,
            "vin": self.vin,
            "vehiclePropulsionStorageType": [
                flag.value
                for flag in PropulsionStorage
                if flag in self.vehicle_propulsion_storage_type
            ],
            "timestamp": self.timestamp,
            "positionLatitude": self.position_latitude,
            "positionLongitude": self.position_longitude,
            "vehicleDirection": self.vehicle_direction,
        }
        for key, delta in (
            ("recentVehicleLocationN1", self.recent_vehicle_location_n1),
            ("recentVehicleLocationN2", self.recent_vehicle_location_n2),
        ):
            if delta is not None:
                out[key] = [delta.latitude_delta, delta.longitude_delta]
        if self.number_of_occupants is not None:
            out["numberOfOccupants"] = self.number_of_occupants
        if self.additional_data is not None:
            out["additionalData"] = {
                "oid": self.additional_data.oid_text,
                "data_hex": self.additional_data.data.hex().upper(),
            }
        out["latitude_deg"] = self.latitude_deg
        out["longitude_deg"] = self.longitude_deg
        return out

    @classmethod
    def from_json_dict(cls, obj: object) -> Self:
        """Read the JSON form back (what ``ng112 msd encode`` takes).

        Unknown keys are rejected; ``latitude_deg``/``longitude_deg`` are accepted and ignored
        (they are derived). Value ranges are checked by ``encode_msd``, not here.
        Raises ``MsdJsonError`` for a wrong shape, ``MsdOutOfRange`` for an unknown enum name.
        """
        if not isinstance(obj, dict):
            raise MsdJsonError("an MSD must be a JSON object")
        unknown = set(obj) - _JSON_KEYS
        if unknown:
            raise MsdJsonError(f"unknown keys: {', '.join(sorted(map(str, unknown)))}")
        missing = _JSON_REQUIRED - set(obj)
        if missing:
            raise MsdJsonError(f"missing keys: {', '.join(sorted(missing))}")
        try:
            vehicle_type = VehicleType(_typed(obj, "vehicleType", str))
        except ValueError:
            raise MsdOutOfRange("vehicleType", "not an EN 15722 vehicle type name") from None
        flags_raw = _typed(obj, "vehiclePropulsionStorageType", list)
        flags: set[PropulsionStorage] = set()
        for flag in flags_raw:
            if not isinstance(flag, str):
                raise MsdJsonError("vehiclePropulsionStorageType: expected a list of names")
            try:
                flags.add(PropulsionStorage(flag))
            except ValueError:
                raise MsdOutOfRange(
                    "vehiclePropulsionStorageType", "not an EN 15722 propulsion storage name"
                ) from None
        occupants = obj.get("numberOfOccupants")
        if occupants is not None:
            occupants = _typed(obj, "numberOfOccupants", int)
        return cls(
            msd_version=_typed(obj, "msdVersion", int),
            message_identifier=_typed(obj, "messageIdentifier", int),
            automatic_activation=_typed(obj, "automaticActivation", bool),
            test_call=_typed(obj, "testCall", bool),
            position_can_be_trusted=_typed(obj, "positionCanBeTrusted", bool),
            vehicle_type=vehicle_type,
            vin=_typed(obj, "vin", str),
            vehicle_propulsion_storage_type=frozenset(flags),
            timestamp=_typed(obj, "timestamp", int),
            position_latitude=_typed(obj, "positionLatitude", int),
            position_longitude=_typed(obj, "positionLongitude", int),
            vehicle_direction=_typed(obj, "vehicleDirection", int),
            recent_vehicle_location_n1=_delta_from_json(obj, "recentVehicleLocationN1"),
            recent_vehicle_location_n2=_delta_from_json(obj, "recentVehicleLocationN2"),
            number_of_occupants=occupants,
            additional_data=_additional_data_from_json(obj.get("additionalData")),
        )


_JSON_REQUIRED: Final = frozenset(
    {
        "msdVersion",
        "messageIdentifier",
        "automaticActivation",
        "testCall",
        "positionCanBeTrusted",
        "vehicleType",
        "vin",
        "vehiclePropulsionStorageType",
        "timestamp",
        "positionLatitude",
        "positionLongitude",
        "vehicleDirection",
    }
)
_JSON_KEYS: Final = _JSON_REQUIRED | {
    "recentVehicleLocationN1",
    "recentVehicleLocationN2",
    "numberOfOccupants",
    "additionalData",
    "latitude_deg",
    "longitude_deg",
}


_T = TypeVar("_T")


def _typed(obj: dict[str, Any], key: str, kind: type[_T]) -> _T:
    value = obj[key]
    # bool is an int in Python: keep JSON true/false out of integer fields and vice versa.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MsdJsonError(f"{key}: expected {kind.__name__}")
    return value


def _delta_from_json(obj: dict[str, Any], key: str) -> VehicleLocationDelta | None:
    value = obj.get(key)
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise MsdJsonError(f"{key}: expected [latitudeDelta, longitudeDelta] integers")
    return VehicleLocationDelta(latitude_delta=value[0], longitude_delta=value[1])


def _additional_data_from_json(value: object) -> AdditionalData | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"oid", "data_hex"}:
        raise MsdJsonError('additionalData: expected {"oid": ..., "data_hex": ...}')
    oid_text, data_hex = value["oid"], value["data_hex"]
    if not isinstance(oid_text, str) or not isinstance(data_hex, str):
        raise MsdJsonError("additionalData: oid and data_hex must be strings")
    parts = oid_text.split(".")
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise MsdJsonError("additionalData.oid: expected dotted decimal arcs such as 8.1")
    try:
        data = bytes.fromhex(data_hex)
    except ValueError:
        raise MsdJsonError("additionalData.data_hex: not hexadecimal") from None
    return AdditionalData(oid=tuple(int(part) for part in parts), data=data)


def decode_relative_oid(contents: bytes) -> tuple[int, ...]:
    """Arcs of an X.690 (8.20) RELATIVE-OID contents encoding.

    Each arc is base-128, most significant group first, bit 8 set on every octet but the
    last of the arc. A leading 0x80 octet (non-minimal), an unfinished last arc and an empty
    encoding are rejected with ``InvalidRelativeOid``.
    """
    if not contents:
        raise InvalidRelativeOid("additionalData.oid: empty relative OID")
    arcs: list[int] = []
    arc = 0
    starting = True
    for octet in contents:
        if starting and octet == 0x80:
            raise InvalidRelativeOid("additionalData.oid: arc not in minimal octets")
        arc = (arc << 7) | (octet & 0x7F)
        starting = not octet & 0x80
        if starting:
            arcs.append(arc)
            arc = 0
    if not starting:
        raise InvalidRelativeOid("additionalData.oid: last arc is unfinished")
    return tuple(arcs)


def encode_relative_oid(arcs: tuple[int, ...]) -> bytes:
    """X.690 RELATIVE-OID contents octets of ``arcs`` (the inverse of decode_relative_oid)."""
    if not arcs:
        raise MsdOutOfRange("additionalData", "relative OID needs at least one arc")
    out = bytearray()
    for arc in arcs:
        if arc < 0:
            raise MsdOutOfRange("additionalData", "relative OID arcs are non-negative")
        groups = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            groups.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out.extend(reversed(groups))
    return bytes(out)


def msd_idempotency_key(msd: MinimumSetOfData) -> str:
    """Key under which a retransmitted MSD is the same message: VIN and message identifier.

    A vehicle increments messageIdentifier for an updated MSD in the same eCall, so an
    identical key means a retransmission; a new identifier from the same VIN is an update.
    """
    return f"{msd.vin}:{msd.message_identifier}"
