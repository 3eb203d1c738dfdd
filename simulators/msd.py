"""Minimum Set of Data for a simulated vehicle crash (built with ``ecall.msd``, pure)."""

from __future__ import annotations

import zlib

from ecall.msd import MinimumSetOfData, PropulsionStorage, VehicleType, encode_msd
from ecall.msd.model import MAS_PER_DEGREE, VehicleLocationDelta
from simulators.traffic import CallSpec

_PROPULSION = (
    frozenset({PropulsionStorage.GASOLINE_TANK_PRESENT}),
    frozenset({PropulsionStorage.DIESEL_TANK_PRESENT}),
    frozenset({PropulsionStorage.LIQUID_PROPANE_GAS, PropulsionStorage.GASOLINE_TANK_PRESENT}),
    frozenset({PropulsionStorage.ELECTRIC_ENERGY_STORAGE}),
)


def msd_for(spec: CallSpec, *, timestamp: int) -> MinimumSetOfData:
    """The MSD a vehicle sends for this simulated eCall (``spec.vehicle`` must be set)."""
    vehicle = spec.vehicle
    location = spec.location
    if vehicle is None or location is None:
        raise ValueError("an MSD needs a vehicle and a position")
    # The vehicle came from behind: the recent positions are back along the heading.
    return MinimumSetOfData(
        msd_version=3,
        message_identifier=vehicle.message_identifier % 256,
        automatic_activation=vehicle.automatic,
        test_call=vehicle.test_call,
        position_can_be_trusted=True,
        vehicle_type=VehicleType.PASSENGER_VEHICLE_CLASS_M1,
        vin=vehicle.vin,
        vehicle_propulsion_storage_type=_PROPULSION[
            zlib.crc32(vehicle.vin.encode()) % len(_PROPULSION)
        ],
        timestamp=timestamp,
        position_latitude=round(location.lat * MAS_PER_DEGREE),
        position_longitude=round(location.lon * MAS_PER_DEGREE),
        vehicle_direction=int(vehicle.heading_deg // 2) % 180,
        recent_vehicle_location_n1=VehicleLocationDelta(latitude_delta=-10, longitude_delta=-8),
        recent_vehicle_location_n2=VehicleLocationDelta(latitude_delta=-10, longitude_delta=-8),
        number_of_occupants=vehicle.occupants,
    )


def encode_for(spec: CallSpec, *, timestamp: int) -> bytes:
    """The MSD's UPER octets (version 3)."""
    return encode_msd(msd_for(spec, timestamp=timestamp))
