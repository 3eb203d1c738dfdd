"""The command line: settings precedence, events tail, bench log."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from dispatch.app.cli import build_parser, main
from dispatch.app.settings import load_settings
from dispatch.app.tail import tail
from dispatch.app.web import build_app
from tests.conftest import Database
from tests.dispatch.conftest import settings_for


def test_settings_precedence(tmp_path: Path) -> None:
    """Defaults < TOML file < environment < command line."""
    config = tmp_path / "ng112.toml"
    config.write_text('host = "127.0.0.2"\nport = 9000\ndb = "sqlite:///file.db"\n')
    settings = load_settings(
        config_file=config,
        environ={"NG112_PORT": "9100"},
        overrides={"db": "postgresql://x@y/z", "host": None},
    )
    assert settings.host == "127.0.0.2"
    assert settings.port == 9100
    assert settings.db == "postgresql://x@y/z"
    assert load_settings().port == 8112


def test_settings_refuse_unknown_keys(tmp_path: Path) -> None:
    """A misspelt setting is an error, not silently ignored."""
    config = tmp_path / "ng112.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(ValueError, match="prot"):
        load_settings(config_file=config)


def test_every_command_is_registered() -> None:
    """The top-level commands the issues promise exist."""
    parser = build_parser()
    for argv in (
        ["serve", "--port", "1"],
        ["events", "tail"],
        ["bench", "log"],
        ["locate", "41", "29"],
        ["msd", "decode", "00"],
        ["aml", "parse", "x"],
    ):
        args = parser.parse_args(argv)
        assert callable(args.handler)


async def test_events_tail_prints_committed_events(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ng112 events tail --since 0 --count 2`` prints the first two events as JSON lines."""
    app = build_app(settings_for(database))
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        async with session.post(
            f"http://127.0.0.1:{server.port}/api/v1/calls", json={"channel": "phone"}
        ) as response:
            assert response.status == 202
        code = await tail(
            f"ws://127.0.0.1:{server.port}/api/v1/stream", since=0, token=None, count=2
        )
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(m["seq"], m["event_type"]) for m in lines] == [
        (1, "call_received"),
        (2, "incident_opened"),
    ]


def test_bench_log_reports_both_modes(capsys: pytest.CaptureFixture[str]) -> None:
    """A small bench log run prints a table and JSON comparing both modes, losing nothing."""
    code = main(
        [
            "bench",
            "log",
            "--events",
            "400",
            "--baseline-events",
            "40",
            "--runs",
            "1",
            "--producers",
            "20",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])["results"][0]
    assert result["group_commit"]["events_per_s"] > 0
    assert result["commit_per_event"]["transactions"] == 40
    assert result["group_commit"]["transactions"] < 400


def test_a_command_leaves_sigpipe_ignored() -> None:
    """Running a command must not restore SIGPIPE's default: a serving engine would then
    be killed by the first socket whose peer vanished (writes must raise, not kill)."""
    golden = Path(__file__).parents[1] / "ecall" / "msd_golden.json"
    vector = json.loads(golden.read_text("utf-8"))["vectors"][0]
    before = signal.getsignal(signal.SIGPIPE)
    assert main(["msd", "decode", str(vector["hex"])]) == 0
    assert signal.getsignal(signal.SIGPIPE) == before == signal.SIG_IGN


def test_a_closed_pipe_ends_a_command_quietly(tmp_path: Path) -> None:
    """``ng112 ... | head`` after head has gone: exit 141, no traceback."""
    golden = Path(__file__).parents[1] / "ecall" / "msd_golden.json"
    vector = json.loads(golden.read_text("utf-8"))["vectors"][0]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes a byte
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dispatch", "msd", "decode", str(vector["hex"])],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize("taken", ["http", "mqtt"])
def test_serve_on_a_taken_port_says_so_in_one_line(
    taken: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A port someone else holds: exit 2, one line naming it, and what did start stops."""
    with socket.socket() as holder, socket.socket() as spare:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        spare.bind(("127.0.0.1", 0))
        held, free = holder.getsockname()[1], spare.getsockname()[1]
        spare.close()
        http_port, mqtt_port = (held, free) if taken == "http" else (free, held)
        monkeypatch.setenv("NG112_MQTT_PORT", str(mqtt_port))
        code = main(
            ["serve", "--port", str(http_port), "--db", f"sqlite+aiosqlite:///{tmp_path}/e.db"]
        )
    assert code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ng112:")]
    what = "the engine" if taken == "http" else "the embedded MQTT broker"
    assert err == [f"ng112: {what} cannot listen on 127.0.0.1:{held}: address already in use"]
    if taken == "http":
        # the broker had started before the HTTP bind failed; it has let its port go (a
        # listener would refuse this bind even with SO_REUSEADDR, TIME_WAIT would not)
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", free))
