"""ecall.cli: `ng112 msd decode|encode` and `ng112 bench msd` through a parser built here."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from ecall.cli import register, register_bench

GOLDEN = json.loads((Path(__file__).parent / "msd_golden.json").read_text("utf-8"))["vectors"]


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ng112")
    commands = parser.add_subparsers()
    register(commands)
    register_bench(commands.add_parser("bench").add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


@pytest.mark.parametrize("vector", GOLDEN, ids=[v["name"] for v in GOLDEN])
def test_decode_prints_the_json_object(
    vector: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    """`ng112 msd decode HEX` prints exactly one JSON object with the standard's names."""
    assert _run(["msd", "decode", str(vector["hex"])]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == vector["expected"]
    assert out.count("\n") == 1


@pytest.mark.parametrize(
    ("hex_text", "reason"),
    [("zz", "not hexadecimal"), ("", "empty input"), ("0400", "unsupported MSD version"),
     ("0305000000", "shorter than its announced")],
)  # fmt: skip
def test_decode_malformed_exits_non_zero_with_reason(
    hex_text: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed MSD exits 1, prints nothing on stdout and one reason line on stderr."""
    assert _run(["msd", "decode", hex_text]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert reason in captured.err
    assert captured.err.count("\n") == 1


def test_encode_from_argument_and_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ng112 msd encode` takes the decode JSON (argument or -) and prints the same hex."""
    vector = next(v for v in GOLDEN if v["name"] == "v3-ankara-electric-multi-octet-oid")
    text = json.dumps(vector["expected"])
    assert _run(["msd", "encode", text]) == 0
    assert capsys.readouterr().out.strip() == vector["hex"]
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert _run(["msd", "encode", "-"]) == 0
    assert capsys.readouterr().out.strip() == vector["hex"]


def test_encode_version_override_and_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    """--msd-version 2 writes version 2; decoding that hex gives msdVersion 2."""
    vector = next(v for v in GOLDEN if v["name"] == "v3-en15722-example")
    assert _run(["msd", "encode", json.dumps(vector["expected"]), "--msd-version", "2"]) == 0
    hex_text = capsys.readouterr().out.strip()
    assert _run(["msd", "decode", hex_text]) == 0
    assert json.loads(capsys.readouterr().out)["msdVersion"] == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [("{", "not JSON"), ("[]", "JSON object"), ('{"msdVersion": 1}', "missing keys")],
)
def test_encode_rejections_exit_non_zero(
    text: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad JSON, a wrong shape or a decode-only version exit 1 with the reason on stderr."""
    assert _run(["msd", "encode", text]) == 1
    assert reason in capsys.readouterr().err


def test_encode_version_1_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A JSON object with msdVersion 1 cannot be encoded (version 1 is decode-only)."""
    assert _run(["msd", "encode", json.dumps(GOLDEN[0]["expected"])]) == 1
    assert "versions 2 and 3" in capsys.readouterr().err
