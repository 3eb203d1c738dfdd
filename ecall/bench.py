"""``ng112 bench msd``: MSD decodes per second, against a baseline decoder, in one run.

Three decoders read the same version 3 MSD (38 octets, no additional data):

- ``ng112 decode_msd``: the full path a gateway uses (wrapper, asn1tools UPER, RELATIVE-OID,
  validation, the frozen ``MinimumSetOfData``);
- ``asn1tools MSDMessage``: the bare compiled asn1tools decode of the wrapped structure, to
  show what validation and the value type cost on top;
- baseline ``pycrate ECallMessage``: pycrate's decode of the same bytes to a Python value
  (the other maintained Python ASN.1 library; compiled once, like ours). Skipped, and said
  so, when pycrate (a test extra) is not installed.

Each decoder runs ``--runs`` timed batches of ``--number`` decodes; the figure is the median
batch rate. Nothing here is asserted in tests: the numbers vary with the machine.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from ecall.msd import (
    MinimumSetOfData,
    PropulsionStorage,
    VehicleLocationDelta,
    VehicleType,
    decode_msd,
    encode_msd,
)
from ecall.msd.codec import _message_type

__all__ = ["BenchResult", "run_msd_bench", "sample_msd_bytes"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchResult:
    """Median decodes per second of one decoder over the timed batches."""

    name: str
    decodes_per_s: float
    microseconds: float
    ratio_to_baseline: float | None


def sample_msd_bytes() -> bytes:
    """A typical version 3 MSD: a crash on the Ankara ring road, three occupants."""
    msd = MinimumSetOfData(
        msd_version=3,
        message_identifier=1,
        automatic_activation=True,
        test_call=False,
        position_can_be_trusted=True,
        vehicle_type=VehicleType.PASSENGER_VEHICLE_CLASS_M1,
        vin="NMTBE3JE10R123456",
        vehicle_propulsion_storage_type=frozenset({PropulsionStorage.GASOLINE_TANK_PRESENT}),
        timestamp=1_767_225_600,
        position_latitude=143_538_120,
        position_longitude=118_208_160,
        vehicle_direction=45,
        recent_vehicle_location_n1=VehicleLocationDelta(latitude_delta=-12, longitude_delta=7),
        recent_vehicle_location_n2=VehicleLocationDelta(latitude_delta=-11, longitude_delta=6),
        number_of_occupants=3,
    )
    return encode_msd(msd, 3)


def _decoders(data: bytes) -> tuple[list[tuple[str, Callable[[], object]]], str | None]:
    message_type = _message_type(3)
    inner = data[2:]
    decoders: list[tuple[str, Callable[[], object]]] = [
        ("ng112 decode_msd", lambda: decode_msd(data)),
        ("asn1tools MSDMessage", lambda: message_type.decode(inner)),
    ]
    try:
        from ecall.msd.crosscheck import pycrate_module  # noqa: PLC0415 - optional extra
    except ModuleNotFoundError:
        return decoders, None
    message = pycrate_module(3).ECallMessage

    def pycrate_decode() -> object:
        message.from_uper(data)
        return message.get_val()

    baseline = "pycrate ECallMessage (baseline)"
    decoders.append((baseline, pycrate_decode))
    return decoders, baseline


def _median_rate(decode: Callable[[], object], number: int, runs: int) -> float:
    decode()  # warm caches (compiled schema, imports) outside the timed batches
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(number):
            decode()
        rates.append(number / (time.perf_counter() - start))
    return statistics.median(rates)


def run_msd_bench(*, number: int = 5000, runs: int = 5) -> tuple[list[BenchResult], str | None]:
    """Time every decoder; returns the results and the baseline's name (None if absent)."""
    data = sample_msd_bytes()
    decoders, baseline = _decoders(data)
    rates = {name: _median_rate(decode, number, runs) for name, decode in decoders}
    base_rate = rates.get(baseline) if baseline else None
    return [
        BenchResult(
            name=name,
            decodes_per_s=rate,
            microseconds=1e6 / rate,
            ratio_to_baseline=None if base_rate is None else rate / base_rate,
        )
        for name, rate in rates.items()
    ], baseline


def print_msd_bench(*, number: int, runs: int) -> None:
    """Print the table, then one JSON object with the same figures."""
    results, baseline = run_msd_bench(number=number, runs=runs)
    size = len(sample_msd_bytes())
    print(f"MSD decode, version 3, {size} octets; median of {runs} runs x {number} decodes")
    print(f"{'decoder':<34} {'decodes/s':>12} {'us/decode':>10} {'x baseline':>11}")
    for result in results:
        ratio = "-" if result.ratio_to_baseline is None else f"{result.ratio_to_baseline:.2f}"
        print(
            f"{result.name:<34} {result.decodes_per_s:>12,.0f} "
            f"{result.microseconds:>10.1f} {ratio:>11}"
        )
    if baseline is None:
        print("baseline skipped: pycrate is not installed (pip install 'ng112[test]')")
    print(
        json.dumps(
            {
                "bench": "msd",
                "msd_octets": size,
                "runs": runs,
                "number": number,
                "baseline": baseline,
                "results": [
                    {
                        "decoder": r.name,
                        "decodes_per_s": round(r.decodes_per_s),
                        "us_per_decode": round(r.microseconds, 2),
                        "ratio_to_baseline": (
                            None if r.ratio_to_baseline is None else round(r.ratio_to_baseline, 2)
                        ),
                    }
                    for r in results
                ],
            }
        )
    )
