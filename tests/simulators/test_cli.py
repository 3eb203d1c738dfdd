"""The benchmark commands run end to end at a tiny scale and print table and JSON."""

from __future__ import annotations

import argparse
import json

import pytest

from simulators.cli import register, register_bench

pytestmark = pytest.mark.integration


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    register(commands)
    bench = commands.add_parser("bench").add_subparsers()
    register_bench(bench)
    return parser


def test_bench_replay_prints_start_time(capsys: pytest.CaptureFixture[str]) -> None:
    """``bench replay`` writes N events and reports the engine's start-up on them."""
    args = _parser().parse_args(["bench", "replay", "--events", "2000"])
    assert args.handler(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["events"] == 2000
    assert result["start_s"] > 0
    assert result["spine_rebuild_s"] > 0
    assert result["empty_start_s"] > 0
    assert result["fold_events_per_s"] > 0


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


def test_simulate_refuses_a_bad_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    """``simulate`` with an unknown scenario exits 2 with a one-line reason."""
    args = _parser().parse_args(["simulate", "no-such-scenario", "--url", "http://127.0.0.1:9"])
    assert args.handler(args) == 2
    assert "no bundled scenario" in capsys.readouterr().err
