# Copyright 2025 the ng112 authors. Licensed under the Apache License 2.0.
"""Command-line tools of the intake package: parse AML and PIDF-LO input, benchmark the parsers.

`ng112 aml parse TEXT` (or `--https BODY`) and `ng112 pidf parse FILE` print one JSON object on
stdout; refused input exits with status 1 and a one-line reason on stderr (the reason is the
documented error's message, which never echoes the input). `ng112 bench aml` and `ng112 bench pidf`
print median microseconds per parse and the ratio to a naive baseline measured in the same run.
The lead's `dispatch.app.cli` calls `register` and `register_bench`.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from intake.aml import parse_aml, parse_aml_https
from intake.errors import IntakeError
from intake.pidf_lo import MAX_MULTIPART_BYTES, extract_pidf_from_multipart, parse_pidf_lo

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

__all__ = ["register", "register_bench"]

_MAX_KEY_BYTES = 1024

_BENCH_AML = (
    'A"ML=1;lt=+41.01513;lg=+028.97953;rd=12;top=20250314093012;lc=68;pm=G;'
    "si=286011234567890;ei=356938035643809;mcc=286;mnc=01;ml=129"
)
_BENCH_PIDF = b"""<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
    xmlns:gml="http://www.opengis.net/gml"
    xmlns:gs="http://www.opengis.net/pidflo/1.0"
    entity="pres:bench@example.com">
  <dm:device id="bench">
    <gp:geopriv>
      <gp:location-info>
        <gs:Circle srsName="urn:ogc:def:crs:EPSG::4326">
          <gml:pos>41.01513 28.97953</gml:pos>
          <gs:radius uom="urn:ogc:def:uom:EPSG::9001">35</gs:radius>
        </gs:Circle>
      </gp:location-info>
      <gp:usage-rules/>
      <gp:method>GPS</gp:method>
    </gp:geopriv>
  </dm:device>
</presence>
"""


def _print_json(value: dict[str, object]) -> None:
    print(json.dumps(value, ensure_ascii=False))


def _refuse(command: str, reason: object) -> int:
    print(f"ng112 {command}: {reason}", file=sys.stderr)
    return 1


def _read_limited(path: str, limit: int) -> bytes:
    """The bytes of FILE (`-` for stdin), at most `limit` + 1 so an oversize input is detected."""
    if path == "-":
        return sys.stdin.buffer.read(limit + 1)
    with Path(path).open("rb") as handle:
        return handle.read(limit + 1)


def _aml_parse(args: argparse.Namespace) -> int:
    key: bytes | None = None
    if args.hmac_key_file is not None:
        try:
            key = _read_limited(args.hmac_key_file, _MAX_KEY_BYTES).rstrip(b"\r\n")
        except OSError as exc:
            return _refuse("aml parse", f"cannot read the HMAC key file ({exc.strerror})")
    try:
        report = parse_aml_https(args.text, hmac_key=key) if args.https else parse_aml(args.text)
    except IntakeError as exc:
        return _refuse("aml parse", exc)
    _print_json(report.to_json_dict())
    return 0


def _pidf_parse(args: argparse.Namespace) -> int:
    try:
        data = _read_limited(args.file, MAX_MULTIPART_BYTES)
    except OSError as exc:
        return _refuse("pidf parse", f"cannot read the input ({exc.strerror})")
    try:
        if args.content_type is not None:
            data = extract_pidf_from_multipart(data, args.content_type, args.content_id)
        location = parse_pidf_lo(data)
    except IntakeError as exc:
        return _refuse("pidf parse", exc)
    _print_json(location.to_json_dict())
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ng112 aml parse` and `ng112 pidf parse`."""
    aml = commands.add_parser("aml", help="Advanced Mobile Location reports (ETSI TS 103 625)")
    aml_commands = aml.add_subparsers(dest="aml_command", required=True)
    aml_parse = aml_commands.add_parser("parse", help="parse one AML report and print its JSON")
    aml_parse.add_argument("text", metavar="TEXT", help='the SMS text (A"ML=1;...) or HTTPS body')
    aml_parse.add_argument(
        "--https", action="store_true", help="TEXT is the HTTPS form-urlencoded body"
    )
    aml_parse.add_argument(
        "--hmac-key-file",
        metavar="PATH",
        help="with --https: check the body's hmac field with the key in this file",
    )
    aml_parse.set_defaults(handler=_aml_parse)

    pidf = commands.add_parser("pidf", help="PIDF-LO location documents (RFC 4119/5491/5139)")
    pidf_commands = pidf.add_subparsers(dest="pidf_command", required=True)
    pidf_parse = pidf_commands.add_parser("parse", help="parse one PIDF-LO and print its JSON")
    pidf_parse.add_argument("file", metavar="FILE", help="the document, or - for stdin")
    pidf_parse.add_argument(
        "--content-type",
        metavar="VALUE",
        help="FILE is a SIP body with this Content-Type (multipart/mixed; boundary=...)",
    )
    pidf_parse.add_argument(
        "--content-id",
        metavar="CID",
        help="with --content-type: the Geolocation header's cid (default: first PIDF-LO part)",
    )
    pidf_parse.set_defaults(handler=_pidf_parse)


# --- benchmarks ---------------------------------------------------------------------------------


def _median_us(function: Callable[[], object], iterations: int, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(iterations):
            function()
        samples.append((time.perf_counter() - start) / iterations * 1e6)
    return statistics.median(samples)


def _naive_aml() -> dict[str, str]:
    return dict(field.split("=", 1) for field in _BENCH_AML.split(";"))


def _naive_pidf() -> object:
    root = ET.fromstring(_BENCH_PIDF)  # noqa: S314 - the unsafe naive baseline, on our own constant
    return root.find(".//{http://www.opengis.net/gml}pos")


def _bench(
    name: str, ours: Callable[[], object], naive: Callable[[], object]
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        ours_us = _median_us(ours, args.iterations, args.rounds)
        naive_us = _median_us(naive, args.iterations, args.rounds)
        _print_json(
            {
                "benchmark": name,
                "iterations": args.iterations,
                "rounds": args.rounds,
                "median_us": {"ng112": round(ours_us, 3), "naive": round(naive_us, 3)},
                "ratio_to_naive": round(ours_us / naive_us, 2) if naive_us else None,
            }
        )
        return 0

    return run


def register_bench(benches: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ng112 bench aml` and `ng112 bench pidf` (median µs per parse vs a naive parse)."""
    cases = {
        "aml": (
            "AML SMS text: parse_aml vs a bare split into a dict",
            lambda: parse_aml(_BENCH_AML),
            _naive_aml,
        ),
        "pidf": (
            "PIDF-LO circle: parse_pidf_lo (defusedxml, checks) vs stdlib ElementTree + find",
            lambda: parse_pidf_lo(_BENCH_PIDF),
            _naive_pidf,
        ),
    }
    for name, (description, ours, naive) in cases.items():
        bench = benches.add_parser(name, help=description)
        bench.add_argument("--iterations", type=int, default=2000, help="parses per round")
        bench.add_argument("--rounds", type=int, default=7, help="rounds; the median is printed")
        bench.set_defaults(handler=_bench(name, ours, naive))
