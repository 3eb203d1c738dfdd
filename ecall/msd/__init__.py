"""EN 15722 eCall Minimum Set of Data: decode versions 1, 2 and 3, encode versions 2 and 3.

Sans-I/O and dependency-free within ng112 (it imports nothing of dispatch and the other
channel packages): ``decode_msd(bytes) -> MinimumSetOfData`` and back with ``encode_msd``.
Errors are those of ``ecall.errors``.
"""

from ecall.msd.codec import (
    DECODABLE_VERSIONS,
    ENCODABLE_VERSIONS,
    MAX_MSD_OCTETS,
    decode_msd,
    encode_msd,
    schema_text,
    validate_msd,
)
from ecall.msd.model import (
    POSITION_UNKNOWN,
    AdditionalData,
    MinimumSetOfData,
    PropulsionStorage,
    VehicleLocationDelta,
    VehicleType,
    decode_relative_oid,
    encode_relative_oid,
    msd_idempotency_key,
)

__all__ = [
    "DECODABLE_VERSIONS",
    "ENCODABLE_VERSIONS",
    "MAX_MSD_OCTETS",
    "POSITION_UNKNOWN",
    "AdditionalData",
    "MinimumSetOfData",
    "PropulsionStorage",
    "VehicleLocationDelta",
    "VehicleType",
    "decode_msd",
    "decode_relative_oid",
    "encode_msd",
    "encode_relative_oid",
    "msd_idempotency_key",
    "schema_text",
    "validate_msd",
]
