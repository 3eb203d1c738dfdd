"""``ng112 bench ecall``: its arguments, the simulated VINs, and one tiny real run.

The run starts a real ``ng112 serve`` (embedded broker) twice, group commit on and off,
and checks every MSD was acknowledged; the figures themselves are never asserted.
"""

from __future__ import annotations

import argparse

import pytest

from ecall.bench_ingest import fleet_msd, run_ingest, vin_for
from ecall.cli import register_bench
from ecall.msd import decode_msd

pytestmark = pytest.mark.integration


def test_simulated_vins_are_valid_and_distinct() -> None:
    """vin_for gives 17-character VINs of the ISO 3779 alphabet the codec accepts."""
    vins = [vin_for(n) for n in (0, 1, 32, 33, 10**9)]
    assert len(set(vins)) == len(vins)
    for vin in vins:
        assert decode_msd(fleet_msd(vin)).vin == vin


@pytest.mark.parametrize(
    "argv",
    [["--vehicles", "0"], ["--runs", "0"], ["--updates", "-1"], ["--resend-after", "0"]],
)
def test_bench_refuses_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Non-positive sizes exit 1 with a one-line reason on standard error."""
    parser = argparse.ArgumentParser()
    register_bench(parser.add_subparsers())
    args = parser.parse_args(["ecall", *argv])
    assert args.handler(args) == 1
    assert capsys.readouterr().err.startswith("error: ")


async def test_tiny_run_acknowledges_every_msd() -> None:
    """Three vehicles, an MSD and an update each, against a real server: six acks per run."""
    results = await run_ingest(
        vehicles=3, updates=1, runs=1, brokers=("embedded",), resend_after_s=30.0
    )
    assert [(r.broker, r.group_commit, r.msds) for r in results] == [
        ("embedded", True, 6),
        ("embedded", False, 6),
    ]
    assert all(r.seconds > 0 and r.p99_ms >= r.p50_ms > 0 for r in results)
