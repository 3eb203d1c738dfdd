"""``ng112 bench fanout`` through the command tree: it runs both modes and prints medians."""

from __future__ import annotations

import argparse
import json

import pytest

from gamer_coordination import cli


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    benches = parser.add_subparsers()
    cli.register_bench(benches)
    cli.register(argparse.ArgumentParser().add_subparsers())
    return parser


@pytest.mark.integration
def test_bench_fanout_prints_both_modes(capsys: pytest.CaptureFixture[str]) -> None:
    """A tiny run prints per-run and median figures for the hub and the naive baseline."""
    args = _parser().parse_args(
        [
            "fanout",
            "--clients",
            "20",
            "--slow",
            "1",
            "--seconds",
            "1",
            "--drain",
            "0.5",
            "--incidents",
            "20",
            "--runs",
            "1",
        ]
    )
    assert args.handler(args) == 0
    result = json.loads(capsys.readouterr().out)
    for mode in ("hub", "naive"):
        run = result["runs"][mode][0]
        assert run["clients"] == 20
        assert run["delivered_updates_per_s"] > 0
        assert run["p50_ms"] is not None
        assert result["median"][mode]["p99_ms"] == run["p99_ms"]
    assert result["target_p99_ms"] == 250


def test_bad_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """Non-positive clients or rates answer exit code 2 with a reason."""
    args = _parser().parse_args(["fanout", "--clients", "0"])
    assert args.handler(args) == 2
    assert "positive" in capsys.readouterr().err
