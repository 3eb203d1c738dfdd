"""ecall.bench: `ng112 bench msd` prints a table and a JSON line with every decoder's rate."""

from __future__ import annotations

import argparse
import json

import pytest

from ecall.bench import run_msd_bench, sample_msd_bytes
from ecall.cli import register_bench
from ecall.msd import decode_msd


def test_sample_is_a_valid_version_3_msd() -> None:
    """The benchmark decodes a real 38-octet version 3 MSD."""
    data = sample_msd_bytes()
    assert len(data) == 38
    assert decode_msd(data).msd_version == 3


def test_run_reports_every_decoder_against_the_pycrate_baseline() -> None:
    """Each decoder gets a positive rate; the baseline's ratio to itself is 1."""
    results, baseline = run_msd_bench(number=20, runs=3)
    assert baseline is not None
    assert "pycrate" in baseline
    assert {r.name for r in results} >= {"ng112 decode_msd", baseline}
    assert all(r.decodes_per_s > 0 for r in results)
    assert next(r for r in results if r.name == baseline).ratio_to_baseline == 1.0


def test_command_prints_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`ng112 bench msd` prints a header, one row per decoder and a JSON summary line."""
    parser = argparse.ArgumentParser()
    register_bench(parser.add_subparsers())
    args = parser.parse_args(["msd", "--number", "10", "--runs", "1"])
    assert args.handler(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("MSD decode, version 3")
    summary = json.loads(lines[-1])
    assert summary["bench"] == "msd"
    assert len(summary["results"]) == 3


def test_command_rejects_non_positive_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """--runs 0 exits 1 with the reason on stderr."""
    parser = argparse.ArgumentParser()
    register_bench(parser.add_subparsers())
    args = parser.parse_args(["msd", "--runs", "0"])
    assert args.handler(args) == 1
    assert "positive" in capsys.readouterr().err
