"""eCall: EN 15722 Minimum Set of Data codec, vehicle gateway and the hand-off to the province."""

from ecall.errors import (
    EcallError,
    InvalidRelativeOid,
    InvalidVin,
    MsdDecodeError,
    MsdEncodeError,
    MsdError,
    MsdJsonError,
    MsdOutOfRange,
    MsdTooLong,
    MsdTruncated,
    MsdValueError,
    UnsupportedMsdVersion,
)
from ecall.msd import (
    MinimumSetOfData,
    PropulsionStorage,
    VehicleType,
    decode_msd,
    encode_msd,
    msd_idempotency_key,
)

__all__ = [
    "EcallError",
    "InvalidRelativeOid",
    "InvalidVin",
    "MinimumSetOfData",
    "MsdDecodeError",
    "MsdEncodeError",
    "MsdError",
    "MsdJsonError",
    "MsdOutOfRange",
    "MsdTooLong",
    "MsdTruncated",
    "MsdValueError",
    "PropulsionStorage",
    "UnsupportedMsdVersion",
    "VehicleType",
    "decode_msd",
    "encode_msd",
    "msd_idempotency_key",
]
