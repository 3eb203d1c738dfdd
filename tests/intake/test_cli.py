"""Tests of intake.cli: `ng112 aml parse`, `ng112 pidf parse` and the two benchmarks."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import json
from pathlib import Path

import pytest

from intake.cli import register, register_bench

DATA = Path(__file__).parent / "data"
ELS_CALCULATED = (
    'A"ML=1;lt=+51.53321;lg=-0.12601;rd=14;top=20220131171748;lc=68;pm=W;'
    "si=234159000000000;ei=123456789012345;mcc=234;mnc=15;ml=126"
)
SIGNED_HTTPS = (
    "v=1&device_number=%2B33611223344&location_latitude=0.85732&location_longitude=-4.26325"
    "&location_time=1604912121000&location_accuracy=10.4&location_source=GPS"
    "&location_certainty=83&hmac=f64c70eb238bb239e00e8ac8c023bf2b5d3c41dd"
)


def run(argv: list[str]) -> int:
    """Build the parser as dispatch.app.cli will, parse argv and run the chosen handler."""
    parser = argparse.ArgumentParser(prog="ng112")
    commands = parser.add_subparsers()
    register(commands)
    bench = commands.add_parser("bench")
    register_bench(bench.add_subparsers())
    args = parser.parse_args(argv)
    code = args.handler(args)
    assert isinstance(code, int)
    return code


def test_aml_parse_prints_the_contract_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`aml parse TEXT` prints one JSON object with the contract's keys and exits 0."""
    assert run(["aml", "parse", ELS_CALCULATED]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["version"] == 1
    assert out["latitude"] == pytest.approx(51.53321)
    assert out["time"] == "2022-01-31T17:17:48Z"
    assert out["mnc"] == "15"
    assert out["length_ok"] is False
    assert captured.err == ""


def test_aml_parse_https(capsys: pytest.CaptureFixture[str]) -> None:
    """`aml parse --https BODY` reads the form variant."""
    assert run(["aml", "parse", "--https", SIGNED_HTTPS]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["confidence"] == 83
    assert out["method"] == "gps"
    assert out["length_ok"] is None


def test_aml_parse_https_with_hmac_key_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--hmac-key-file checks the body's hmac; a wrong key exits 1 with the reason."""
    key_file = tmp_path / "aml.key"
    key_file.write_bytes(b"AML\n")
    assert run(["aml", "parse", "--https", SIGNED_HTTPS, "--hmac-key-file", str(key_file)]) == 0
    assert json.loads(capsys.readouterr().out)["latitude"] == pytest.approx(0.85732)
    key_file.write_bytes(b"not-the-key")
    assert run(["aml", "parse", "--https", SIGNED_HTTPS, "--hmac-key-file", str(key_file)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "hmac does not match" in captured.err


def test_aml_parse_https_signed_here(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A body signed with our own key verifies through the command."""
    key_file = tmp_path / "aml.key"
    key_file.write_bytes(b"ankara")
    body = "v=1&location_latitude=39.92&location_longitude=32.85&location_time=1700000000000"
    mac = hmac.new(b"ankara", body.encode(), hashlib.sha1).hexdigest()
    argv = ["aml", "parse", "--https", f"{body}&hmac={mac}", "--hmac-key-file", str(key_file)]
    assert run(argv) == 0
    assert json.loads(capsys.readouterr().out)["longitude"] == pytest.approx(32.85)


def test_aml_parse_missing_key_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unreadable key file exits 1 with a one-line reason."""
    missing = str(tmp_path / "absent.key")
    assert run(["aml", "parse", "--https", SIGNED_HTTPS, "--hmac-key-file", missing]) == 1
    assert "cannot read the HMAC key file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        pytest.param(["aml", "parse", 'A"ML=1;lt=+91.2;lg=1;top=20220131171748'], "'lt'", id="lat"),
        pytest.param(["aml", "parse", 'A"ML=9;lt=1'], "versions 1 and 2", id="version"),
        pytest.param(["aml", "parse", "hello"], "header", id="not-aml"),
        pytest.param(["aml", "parse", "--https", "v=1"], "'location_time'", id="https-no-time"),
    ],
)
def test_aml_parse_broken_report_exits_non_zero(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken report exits 1, prints nothing on stdout and one reason line on stderr."""
    assert run(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("ng112 aml parse: ")
    assert reason in captured.err
    assert captured.err.count("\n") == 1


def test_pidf_parse_file(capsys: pytest.CaptureFixture[str]) -> None:
    """`pidf parse FILE` prints the shapes, civic address and method as JSON."""
    assert run(["pidf", "parse", str(DATA / "tr_civic_point.xml")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["shapes"] == [
        {"shape": "Circle", "lat": 40.99043, "lon": 29.02935, "radius_m": 35.0}
    ]
    assert out["civic"]["A2"] == "Kadıköy"
    assert out["civic"]["NAM"] == "مطعم 🚑 Çiğdem"
    assert out["method"] == "GPS"


def test_pidf_parse_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pidf parse -` reads the document from stdin."""
    document = (DATA / "rfc5491_ellipse.xml").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(document)))
    assert run(["pidf", "parse", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["shapes"][0]["shape"] == "Ellipse"
    assert out["shapes"][0]["radius_m"] == 1275.0


def test_pidf_parse_multipart_sip_body(capsys: pytest.CaptureFixture[str]) -> None:
    """--content-type/--content-id extract the PIDF part of a SIP multipart body first."""
    argv = [
        "pidf",
        "parse",
        str(DATA / "rfc6442_multipart.bin"),
        "--content-type",
        "multipart/mixed; boundary=boundary1",
        "--content-id",
        "<cid:target123@atlanta.example.com>",
    ]
    assert run(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "802.11"
    assert out["shapes"][0]["lat"] == 32.86726


def test_pidf_parse_hostile_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An XXE document exits 1 with the DTD reason and reads no file."""
    path = tmp_path / "xxe.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf">&x;</presence>'
    )
    assert run(["pidf", "parse", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "document type declaration (DTD) is refused" in captured.err
    assert "root:" not in captured.err


def test_pidf_parse_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing FILE exits 1 with a one-line reason."""
    assert run(["pidf", "parse", str(tmp_path / "absent.xml")]) == 1
    assert "cannot read the input" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["aml", "pidf"])
def test_benchmarks_print_medians_and_ratio(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`bench aml|pidf` print median µs for ng112 and the naive baseline, and their ratio."""
    assert run(["bench", name, "--iterations", "5", "--rounds", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["benchmark"] == name
    assert set(out["median_us"]) == {"ng112", "naive"}
    assert out["median_us"]["ng112"] > 0
    assert out["ratio_to_naive"] > 0


def test_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    """`ng112 aml` alone is a usage error (argparse exit 2)."""
    with pytest.raises(SystemExit) as caught:
        run(["aml"])
    assert caught.value.code == 2
