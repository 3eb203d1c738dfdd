"""The benchmark commands run end to end at a tiny scale and print table and JSON."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from simulators import bench_replay, start_probe
from simulators.cli import register, register_bench
from simulators.host import write_log

pytestmark = pytest.mark.integration


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    register(commands)
    bench = commands.add_parser("bench").add_subparsers()
    register_bench(bench)
    return parser


def test_bench_replay_prints_start_time(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """``bench replay`` writes a centre's log of N events; the engine starts on it cleanly."""
    caplog.set_level(logging.WARNING)
    args = _parser().parse_args(["bench", "replay", "--events", "8000"])
    assert args.handler(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 8000 <= result["events"] < 8100, "a step's events are written together"
    assert result["source"] == "synthetic"
    assert result["log"] == "centre"
    types = result["event_types"]
    assert set(types) >= {
        "call_received",
        "incident_opened",
        "call_status_changed",
        "incident_status_changed",
        "call_answered",
    }
    assert types["call_received"] == types["incident_opened"]
    assert [r.getMessage() for r in caplog.records] == [], "the start refused or failed"
    assert result["write_s"] > 0
    assert result["write_events_per_s"] > 0
    assert result["start_s"] > 0
    assert result["spine_rebuild_s"] > 0
    assert result["empty_start_s"] > 0
    assert result["fold_events_per_s"] > 0
    assert result["empty_rss_mb"] > 50, "a started engine holds boundaries and models"
    assert result["rss_mb"] > 50
    assert result["bytes_per_event"] >= 0
    assert result["projected_10m_rss_gb"] * 1024 >= result["empty_rss_mb"] - 1
    assert result["snapshot_seq"] >= result["events"], "the first start's stop saved it"
    assert result["snapshot_mb"] > 0
    assert 4000 <= result["tail_events"] < 4100, "half the log by default"
    assert result["snapshot_start_s"] > 0


def test_bench_replay_held_log_keeps_the_old_worst_case(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--log held``: every call received and opened, nothing else (comparable figures)."""
    args = _parser().parse_args(["bench", "replay", "--events", "2000", "--log", "held"])
    assert args.handler(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["log"] == "held"
    assert result["event_types"] == {"call_received": 1000, "incident_opened": 1000}


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (["--log", "held", "--retention", "60"], "--retention applies to the centre log"),
        (["--retention", "-5"], "--retention is seconds of the log's time, 0 or more"),
    ],
)
def test_bench_replay_refuses_a_retention_that_cannot_apply(
    capsys: pytest.CaptureFixture[str], options: list[str], reason: str
) -> None:
    """A retention for the held log, or a negative one, is refused before anything runs."""
    args = _parser().parse_args(["bench", "replay", "--events", "10", *options])
    assert args.handler(args) == 2
    assert capsys.readouterr().err.startswith(f"ng112 bench replay: {reason}")


def test_start_probe_reports_the_fresh_engine_s_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The probe starts an engine on a log, reports its resident memory, and stops it."""
    log = _engine_log(tmp_path / "log" / "ng112.db", 4000)
    assert start_probe.main([_sqlite_url(log)]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(figures) == {"start_s", "rss_mb"}
    assert figures["start_s"] > 0
    assert figures["rss_mb"] > 50
    assert start_probe.main([]) == 2


def test_memory_per_event_is_what_the_full_log_adds_to_the_empty_start() -> None:
    """400 MB empty, 600 MB on 100,000 events: about 2 KB per event, 20 GB for 10 M."""
    figures = bench_replay._figures(
        source="file",
        log=None,
        events=100_000,
        event_types={},
        written=0,
        write_s=None,
        empty_s=1.0,
        rebuild_s=0.5,
        start_s=3.0,
        empty_rss_mb=400.0,
        rss_mb=600.0,
    )
    assert figures["bytes_per_event"] == round(200 * 1024 * 1024 / 100_000)
    assert figures["projected_10m_rss_gb"] == round((400 + 200 * 100) / 1024, 1)
    assert figures["fold_events_per_s"] == 50_000
    assert figures["projected_10m_s"] == 201.0


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _engine_log(path: Path, events: int) -> Path:
    """A log migrated and written by the engine's own event log (``events`` may be 0)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(write_log(_sqlite_url(path), events, kind="held"))
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {file.name: file.read_bytes() for file in sorted(folder.iterdir())}


def _count_events(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def test_bench_replay_from_times_a_copy_of_an_engine_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--from`` counts the file's events, writes nothing and leaves the file as it was."""
    log = _engine_log(tmp_path / "centre" / "ng112.db", 600)
    before = _snapshot(log.parent)
    args = _parser().parse_args(["bench", "replay", "--from", str(log)])
    assert args.handler(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert f"read from a copy of {log}" in lines[0]
    result = json.loads(lines[-1])
    assert result["source"] == "file"
    assert result["events"] == 600
    assert result["event_types"] == {"call_received": 300, "incident_opened": 300}
    assert result["write_s"] is None
    assert result["write_events_per_s"] is None
    assert result["start_s"] > 0
    assert result["spine_events_per_s"] > 0
    assert result["snapshot_seq"] >= 600, "the engine's own decisions at start come first"
    assert result["tail_events"] >= 300
    assert _snapshot(log.parent) == before  # same files, byte for byte: no -wal, no -shm


def test_bench_replay_from_copies_the_write_ahead_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Events still only in the file's ``-wal`` are counted and replayed from the copy."""
    log = _engine_log(tmp_path / "centre" / "ng112.db", 0)
    with contextlib.closing(sqlite3.connect(log)) as reader:
        # An open reader keeps the engine's close from checkpointing the WAL into the file.
        reader.execute("SELECT count(*) FROM events").fetchone()
        asyncio.run(write_log(_sqlite_url(log), 400, kind="held"))
        main_file_only = tmp_path / "main-only.db"
        shutil.copyfile(log, main_file_only)
        assert _count_events(main_file_only) == 0  # the 400 events are in ng112.db-wal
        before = _snapshot(log.parent)
        assert set(before) == {"ng112.db", "ng112.db-wal", "ng112.db-shm"}
        args = _parser().parse_args(["bench", "replay", "--from", str(log)])
        assert args.handler(args) == 0
        assert _snapshot(log.parent) == before
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["events"] == 400
    assert result["source"] == "file"


def _text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.db"
    path.write_text("not a database\n", encoding="utf-8")
    return path


def _sqlite_file(name: str, table: str) -> Callable[[Path], Path]:
    """Makes an SQLite file another program could have written, holding one table."""

    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute(f"CREATE TABLE {table}")
            conn.commit()
        return path

    return make


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda tmp_path: tmp_path / "missing.db", "no such file"),
        (lambda tmp_path: tmp_path, "not a file"),
        (_text_file, "not an SQLite database, so not an ng112 event log"),
        (
            _sqlite_file("other.db", "readings (value REAL)"),
            "not an ng112 event log (no events table)",
        ),
        (
            _sqlite_file("calendar.db", "events (id INTEGER PRIMARY KEY, title TEXT)"),
            "not an ng112 event log (events table lacks event_type,",
        ),
        (
            _sqlite_file(
                "unmigrated.db",
                "events (seq, event_type, schema_version, occurred_at, recorded_at,"
                " idempotency_key, subject, plate, payload)",
            ),
            "not an ng112 event log (no alembic_version table: never migrated)",
        ),
        (
            lambda tmp_path: _engine_log(tmp_path / "empty.db", 0),
            "the log holds no events, there is nothing to replay",
        ),
    ],
    ids=[
        "missing",
        "directory",
        "text",
        "other-sqlite",
        "foreign-events",
        "unmigrated",
        "empty-log",
    ],
)
def test_bench_replay_from_refuses_what_is_not_an_event_log(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], Path],
    reason: str,
) -> None:
    """A missing path or a file that is no ng112 log: one line on stderr, exit 2, untouched."""
    path = make(tmp_path)
    before = _snapshot(tmp_path)
    args = _parser().parse_args(["bench", "replay", "--from", str(path)])
    assert args.handler(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"ng112 bench replay: {path}: {reason}")
    assert captured.err.endswith("\n")
    assert captured.err.count("\n") == 1
    assert _snapshot(tmp_path) == before


def test_bench_replay_from_refuses_write_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--from`` with ``--events`` or ``--log`` is refused before anything runs."""
    log = _engine_log(tmp_path / "ng112.db", 10)
    for option in (["--events", "5"], ["--log", "centre"], ["--retention", "60"]):
        args = _parser().parse_args(["bench", "replay", "--from", str(log), *option])
        assert args.handler(args) == 2
        assert capsys.readouterr().err == (
            "ng112 bench replay: --from times an existing log:"
            " --events, --db, --log and --retention do not apply\n"
        )


def test_bench_surge_reports_zero_loss(capsys: pytest.CaptureFixture[str]) -> None:
    """``bench surge`` at a small rate: a table, then JSON with zero lost and duplicated."""
    argv = ["bench", "surge", "--rate", "40", "--duration", "2", "--workers", "1"]
    argv += ["--no-baseline", "--api-sample", "100"]
    args = _parser().parse_args(argv)
    assert args.handler(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("mode")
    result = json.loads(lines[-1])
    row = result["results"][0]
    assert row["acknowledged"] == row["offered"] > 0
    assert row["lost"] == 0
    assert row["duplicated"] == 0
    assert row["latency_ms"]["p99"] is not None


def test_bench_surge_runs_the_engine_with_call_fronts(capsys: pytest.CaptureFixture[str]) -> None:
    """``--call-fronts 1``: gateways' batches decided by a front process, nothing lost."""
    argv = ["bench", "surge", "--rate", "40", "--duration", "2", "--workers", "1"]
    argv += ["--no-baseline", "--api-sample", "100", "--batch", "10", "--call-fronts", "1"]
    args = _parser().parse_args(argv)
    assert args.handler(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:3] == ["mode", "batch", "fronts"]
    row = json.loads(lines[-1])["results"][0]
    assert row["call_fronts"] == 1
    assert row["peak_front_rss_mb"] > 0, "the engine ran its front process"
    assert row["acknowledged"] == row["offered"] > 0
    assert row["lost"] == row["duplicated"] == 0


def test_simulate_refuses_a_bad_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    """``simulate`` with an unknown scenario exits 2 with a one-line reason."""
    args = _parser().parse_args(["simulate", "no-such-scenario", "--url", "http://127.0.0.1:9"])
    assert args.handler(args) == 2
    assert "no bundled scenario" in capsys.readouterr().err
