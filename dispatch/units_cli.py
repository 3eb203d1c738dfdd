"""``ng112 units broker-config``: Mosquitto password and ACL files for the units' devices.

Each unit device logs in to the broker with its unit id and a password of its own, and the
ACL lets every login use only its own topics (``pattern`` lines with ``%u``); ng112's own
login may use every unit's subtree. The input lists one unit per line, ``unit_id`` or
``unit_id password`` (``#`` starts a comment); units without a password get a generated
one. The command writes ``passwd`` (PBKDF2-SHA512 hashes in Mosquitto's ``$7$`` format,
as ``mosquitto_passwd`` writes them), ``acl`` and ``credentials.json`` (the generated
passwords, mode 0600) into ``--out`` and prints a JSON summary. Point Mosquitto at them
with ``password_file`` and ``acl_file``; the password file is private (0600), so it must be
owned by the user Mosquitto runs as (``user`` in its configuration).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dispatch.units_topics import DEFAULT_PREFIX, UnitTopics, valid_unit_id

#: Mosquitto 2's defaults for ``$7$`` hashes: PBKDF2-HMAC-SHA512, 12-byte salt.
PBKDF2_ITERATIONS = 101
_SALT_BYTES = 12
_HASH_BYTES = 64
_PRIVATE = 0o600


class BrokerConfigError(ValueError):
    """The units file cannot be turned into a broker configuration."""


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """A password hash as Mosquitto's password file stores it (``$7$iterations$salt$hash``)."""
    salt = salt if salt is not None else os.urandom(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _HASH_BYTES)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def read_units(text: str) -> dict[str, str | None]:
    """Unit ids and their passwords (``None``: generate one) from the units file's text."""
    units: dict[str, str | None] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) > 2 or not valid_unit_id(parts[0]):
            raise BrokerConfigError(f"line {number}: expected 'unit_id [password]'")
        if parts[0] in units:
            raise BrokerConfigError(f"line {number}: the unit is listed twice")
        units[parts[0]] = parts[1] if len(parts) == 2 else None
    if not units:
        raise BrokerConfigError("the units file lists no unit")
    return units


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerConfig:
    """Where the files were written and how many logins they hold."""

    password_file: Path
    acl_file: Path
    credentials_file: Path
    units: int


def write_broker_config(
    units: Mapping[str, str],
    out: Path,
    *,
    server_user: str,
    server_password: str,
    topics: UnitTopics | None = None,
) -> BrokerConfig:
    """Write ``passwd``, ``acl`` and ``credentials.json`` for these units and ng112's login."""
    topics = topics or UnitTopics()
    if server_user in units:
        raise BrokerConfigError("ng112's login must not be a unit id")
    out.mkdir(parents=True, exist_ok=True)
    logins = {**units, server_user: server_password}
    password_file = out / "passwd"
    _write_private(
        password_file, "".join(f"{user}:{mosquitto_hash(pw)}\n" for user, pw in logins.items())
    )
    acl_file = out / "acl"
    acl_file.write_text(
        "# Each unit may use only its own topics (%u is the login).\n"
        + "".join(f"{line}\n" for line in topics.acl_patterns())
        + f"\nuser {server_user}\n{topics.server_acl()}\n"
    )
    credentials_file = out / "credentials.json"
    _write_private(
        credentials_file,
        json.dumps(
            {"server": {"username": server_user, "password": server_password}, "units": units},
            indent=2,
        ),
    )
    return BrokerConfig(
        password_file=password_file,
        acl_file=acl_file,
        credentials_file=credentials_file,
        units=len(units),
    )


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def _broker_config(args: argparse.Namespace) -> int:
    try:
        listed = read_units(Path(args.units).read_text())
        units = {u: pw or secrets.token_urlsafe(18) for u, pw in listed.items()}
        config = write_broker_config(
            units,
            Path(args.out),
            server_user=args.server_user,
            server_password=args.server_password or secrets.token_urlsafe(24),
            topics=UnitTopics(args.prefix),
        )
    except (OSError, BrokerConfigError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        sys.stderr.write(f"broker-config: {reason}\n")
        return 1
    summary = {
        "password_file": str(config.password_file),
        "acl_file": str(config.acl_file),
        "credentials_file": str(config.credentials_file),
        "units": config.units,
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ng112 units broker-config``."""
    units = commands.add_parser("units", help="unit devices and their broker")
    sub = units.add_subparsers(dest="units_command", required=True, metavar="ACTION")
    config = sub.add_parser(
        "broker-config", help="write Mosquitto password and ACL files for unit devices"
    )
    config.add_argument("--units", required=True, help="file: one 'unit_id [password]' a line")
    config.add_argument("--out", default=".", help="directory for passwd, acl, credentials.json")
    config.add_argument("--server-user", default="ng112", help="ng112's own broker login")
    config.add_argument("--server-password", help="its password (generated if absent)")
    config.add_argument("--prefix", default=DEFAULT_PREFIX, help="the units' topic prefix")
    config.set_defaults(handler=_broker_config)


def register_bench(benches: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """No unit benchmarks (``ng112 bench recommend`` lives in routing)."""
    del benches
