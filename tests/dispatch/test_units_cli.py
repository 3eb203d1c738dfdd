"""``ng112 units broker-config``: Mosquitto password and ACL files for unit devices."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import stat
import subprocess
from pathlib import Path

import pytest

from dispatch.units_cli import (
    BrokerConfigError,
    mosquitto_hash,
    read_units,
    register,
    register_bench,
)


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    register_bench(argparse.ArgumentParser().add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_hashes_are_pbkdf2_sha512_in_mosquittos_format() -> None:
    """``$7$101$salt$hash`` with PBKDF2-HMAC-SHA512, as mosquitto_passwd writes them."""
    salt = b"0123456789ab"
    text = mosquitto_hash("secret", salt=salt)
    kind, iterations, salt_b64, digest_b64 = text.split("$")[1:]
    assert (kind, iterations) == ("7", "101")
    assert base64.b64decode(salt_b64) == salt
    expected = hashlib.pbkdf2_hmac("sha512", b"secret", salt, 101, 64)
    assert base64.b64decode(digest_b64) == expected
    assert mosquitto_hash("secret") != mosquitto_hash("secret"), "a fresh salt each time"


def test_mosquitto_passwd_accepts_our_file(tmp_path: Path) -> None:
    """Debian's mosquitto_passwd reads our password file and can add to it."""
    path = tmp_path / "passwd"
    path.write_text(f"amb-1:{mosquitto_hash('pw')}\n")
    subprocess.run(["/usr/bin/mosquitto_passwd", "-b", str(path), "amb-2", "pw2"], check=True)
    users = [line.split(":", 1)[0] for line in path.read_text().splitlines()]
    assert users == ["amb-1", "amb-2"]


def test_units_file_lines() -> None:
    """One 'unit_id [password]' a line; comments and blanks ignored; mistakes refused."""
    assert read_units("amb-1\n# the boat\nboat-7 s3cret  # spare\n\n") == {
        "amb-1": None,
        "boat-7": "s3cret",
    }
    for text, reason in [
        ("", "no unit"),
        ("amb-1\namb-1\n", "twice"),
        ("amb/1\n", "line 1"),
        ("a b c\n", "line 1"),
    ]:
        with pytest.raises(BrokerConfigError, match=reason):
            read_units(text)


def test_broker_config_command_writes_private_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command writes passwd, acl and credentials; the ACL confines each login."""
    units = tmp_path / "units.txt"
    units.write_text("amb-1\npc-2 fixed-password\n")
    out = tmp_path / "broker"
    assert _run(["units", "broker-config", "--units", str(units), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["units"] == 2
    passwd = Path(summary["password_file"]).read_text().splitlines()
    assert [line.split(":", 1)[0] for line in passwd] == ["amb-1", "pc-2", "ng112"]
    assert stat.S_IMODE(Path(summary["password_file"]).stat().st_mode) == 0o600
    credentials = json.loads(Path(summary["credentials_file"]).read_text())
    assert credentials["units"]["pc-2"] == "fixed-password"
    assert len(credentials["units"]["amb-1"]) >= 20, "a generated password"
    acl = Path(summary["acl_file"]).read_text()
    assert "pattern write ng112/units/%u/status" in acl
    assert "pattern read ng112/units/%u/orders" in acl
    assert "user ng112\ntopic readwrite ng112/units/#" in acl


def test_broker_config_command_reports_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing or malformed units file is a one-line reason and exit code 1."""
    assert _run(["units", "broker-config", "--units", str(tmp_path / "none")]) == 1
    assert "broker-config:" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("ng112\n")
    code = _run(["units", "broker-config", "--units", str(bad), "--out", str(tmp_path / "o")])
    assert code == 1
    assert "must not be a unit id" in capsys.readouterr().err
