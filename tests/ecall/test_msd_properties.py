"""Property tests of the MSD codec (hypothesis): round trips for versions 2 and 3, pycrate.

Values are drawn from everything EN 15722 allows for the version: all vehicle types the
version defines, any propulsion flags, VINs from the 33-character alphabet, positions up to
the limits or unknown, direction per version, deltas at the extremes, optional occupants and
additional data with multi-octet OID arcs.
"""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ecall.msd import (
    POSITION_UNKNOWN,
    AdditionalData,
    MinimumSetOfData,
    PropulsionStorage,
    VehicleLocationDelta,
    VehicleType,
    decode_msd,
    encode_msd,
)
from ecall.msd.crosscheck import pycrate_decode, pycrate_encode

VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"

deltas = st.builds(
    VehicleLocationDelta,
    latitude_delta=st.integers(-512, 511),
    longitude_delta=st.integers(-512, 511),
)
additional = st.builds(
    AdditionalData,
    oid=st.lists(st.integers(0, 2**40), min_size=1, max_size=5).map(tuple),
    data=st.binary(max_size=60),
)


@st.composite
def msds(draw: st.DrawFn, version: int) -> MinimumSetOfData:
    """A MinimumSetOfData valid in ``version``."""
    direction = (
        st.one_of(st.integers(0, 179), st.just(255)) if version >= 3 else st.integers(0, 255)
    )
    delta = deltas if version >= 3 else st.none() | deltas
    return MinimumSetOfData(
        msd_version=version,
        message_identifier=draw(st.integers(0, 255)),
        automatic_activation=draw(st.booleans()),
        test_call=draw(st.booleans()),
        position_can_be_trusted=draw(st.booleans()),
        vehicle_type=draw(st.sampled_from([t for t in VehicleType if t.defined_in(version)])),
        vin=draw(st.text(VIN_ALPHABET, min_size=17, max_size=17)),
        vehicle_propulsion_storage_type=draw(st.frozensets(st.sampled_from(PropulsionStorage))),
        timestamp=draw(st.integers(0, 2**32 - 1)),
        position_latitude=draw(st.integers(-324_000_000, 324_000_000) | st.just(POSITION_UNKNOWN)),
        position_longitude=draw(st.integers(-648_000_000, 648_000_000) | st.just(POSITION_UNKNOWN)),
        vehicle_direction=draw(direction),
        recent_vehicle_location_n1=draw(delta),
        recent_vehicle_location_n2=draw(delta),
        number_of_occupants=draw(st.none() | st.integers(0, 255)),
        additional_data=draw(st.none() | additional),
    )


@given(msds(2))
def test_version_2_round_trip(msd: MinimumSetOfData) -> None:
    """decode(encode(m, 2)) == m for every valid version 2 value."""
    assert decode_msd(encode_msd(msd, 2)) == msd


@given(msds(3))
def test_version_3_round_trip(msd: MinimumSetOfData) -> None:
    """decode(encode(m, 3)) == m for every valid version 3 value."""
    assert decode_msd(encode_msd(msd, 3)) == msd


@given(msds(3))
def test_json_round_trip(msd: MinimumSetOfData) -> None:
    """The CLI JSON form, through JSON text, reads back to the same value."""
    text = json.dumps(msd.to_json_dict())
    assert MinimumSetOfData.from_json_dict(json.loads(text)) == msd


@given(msds(2))
def test_version_2_value_without_new_types_encodes_as_version_3_when_deltas_present(
    msd: MinimumSetOfData,
) -> None:
    """A v2 value with both deltas and a v2 direction (0..179, 255) is also valid v3."""
    if (
        msd.recent_vehicle_location_n1 is None
        or msd.recent_vehicle_location_n2 is None
        or 179 < msd.vehicle_direction < 255
    ):
        return
    assert decode_msd(encode_msd(msd, 3)) == dataclasses.replace(msd, msd_version=3)


@settings(max_examples=60)
@given(st.sampled_from([2, 3]).flatmap(msds))
def test_pycrate_agrees_bit_for_bit(msd: MinimumSetOfData) -> None:
    """pycrate (real RELATIVE-OID) re-encodes our bytes identically and reads the same arcs.

    And pycrate's explicit-DEFAULT form of the same value decodes equal with our codec.
    """
    data = encode_msd(msd, msd.msd_version)
    value = pycrate_decode(data)
    assert pycrate_encode(value) == data
    extra = value["msd"][1].get("optionalAdditionalData")
    if msd.additional_data is None:
        assert extra is None
    else:
        assert extra["oid"] == msd.additional_data.oid
    storage = value["msd"][1]["msdStructure"]["vehiclePropulsionStorageType"]
    storage.update(
        {flag.value: flag in msd.vehicle_propulsion_storage_type for flag in PropulsionStorage}
    )
    if len(data) - 2 < 140:  # six more flag bits may cross the limit
        assert decode_msd(pycrate_encode(value, explicit_defaults=True)) == msd
