"""The ecall commands of the ``ng112`` console script: ``msd decode|encode``, ``bench msd|ecall``.

``ng112 msd decode HEX`` prints the MSD as one JSON object (EN 15722 element names);
``ng112 msd encode JSON`` (or ``-`` for standard input) prints the encoded MSD in hex. A
rejected input exits with status 1 and a one-line reason on standard error, never the input.
"""

from __future__ import annotations

import argparse
import json
import sys

from ecall.bench import print_msd_bench
from ecall.errors import MsdError
from ecall.msd import ENCODABLE_VERSIONS, MinimumSetOfData, decode_msd, encode_msd

__all__ = ["register", "register_bench"]

EXIT_REJECTED = 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``msd decode`` and ``msd encode`` to the ``ng112`` command line."""
    msd = commands.add_parser("msd", help="decode or encode an eCall Minimum Set of Data")
    actions = msd.add_subparsers(dest="msd_command", required=True)

    decode = actions.add_parser("decode", help="print an MSD (hex) as JSON")
    decode.add_argument("hex", help="the MSD in hexadecimal (spaces allowed), octet 0 = version")
    decode.set_defaults(handler=_decode)

    encode = actions.add_parser("encode", help="print the hex of an MSD given as JSON")
    encode.add_argument("json", help="the JSON object `msd decode` prints, or - for stdin")
    encode.add_argument(
        "--msd-version",
        type=int,
        choices=ENCODABLE_VERSIONS,
        help="version to write (default: the JSON's msdVersion)",
    )
    encode.set_defaults(handler=_encode)


def register_bench(benches: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bench msd`` (MSD decodes/s) and ``bench ecall`` (end-to-end ingest/s)."""
    bench = benches.add_parser("msd", help="MSD decodes per second, against pycrate")
    bench.add_argument("--number", type=int, default=5000, help="decodes per timed run")
    bench.add_argument("--runs", type=int, default=5, help="timed runs (the median is shown)")
    bench.set_defaults(handler=_bench)

    ecall = benches.add_parser(
        "ecall", help="MSD decodes/s and end-to-end eCall ingest/s over MQTT, against a baseline"
    )
    ecall.add_argument("--vehicles", type=int, default=200, help="simulated vehicles at once")
    ecall.add_argument("--updates", type=int, default=1, help="updated MSDs after each first one")
    ecall.add_argument("--runs", type=int, default=3, help="runs per configuration (median)")
    ecall.add_argument("--decodes", type=int, default=5000, help="MSD decodes per timed run")
    ecall.add_argument(
        "--resend-after", type=float, default=30.0, help="seconds a vehicle waits before resending"
    )
    ecall.set_defaults(handler=_bench_ecall)


def _reject(reason: str) -> int:
    print(f"error: {reason}", file=sys.stderr)
    return EXIT_REJECTED


def _decode(args: argparse.Namespace) -> int:
    try:
        data = bytes.fromhex(args.hex)
    except ValueError:
        return _reject("the MSD is not hexadecimal")
    try:
        msd = decode_msd(data)
    except MsdError as exc:
        return _reject(str(exc))
    print(json.dumps(msd.to_json_dict(), ensure_ascii=False))
    return 0


def _encode(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.json == "-" else args.json
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return _reject("the input is not JSON")
    try:
        msd = MinimumSetOfData.from_json_dict(obj)
        version = args.msd_version or msd.msd_version
        print(encode_msd(msd, version).hex().upper())
    except MsdError as exc:
        return _reject(str(exc))
    return 0


def _bench_ecall(args: argparse.Namespace) -> int:
    from ecall.bench_ingest import print_ecall_bench  # noqa: PLC0415 - MQTT only for the bench

    if min(args.vehicles, args.runs, args.decodes) < 1 or args.updates < 0:
        return _reject("--vehicles, --runs and --decodes must be positive, --updates >= 0")
    if args.resend_after <= 0:
        return _reject("--resend-after must be positive")
    print_ecall_bench(
        vehicles=args.vehicles,
        updates=args.updates,
        runs=args.runs,
        decodes=args.decodes,
        resend_after_s=args.resend_after,
    )
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.number < 1 or args.runs < 1:
        return _reject("--number and --runs must be positive")
    print_msd_bench(number=args.number, runs=args.runs)
    return 0
