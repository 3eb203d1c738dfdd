"""``ng112 bench recommend``: the command, its table and JSON, and the synthetic city."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from routing.bench_travel import synthetic_city
from routing.cli_travel import register, register_bench


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ng112")
    commands = root.add_subparsers()
    register(commands)
    bench = commands.add_parser("bench").add_subparsers()
    register_bench(bench)
    return root


def test_bench_recommend_prints_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    """A small run prints one row per method and a JSON object with medians and p99s."""
    args = parser().parse_args(
        [
            *("bench", "recommend", "--side", "40", "--units", "50"),
            *("--incidents", "10", "--naive", "3", "--no-rize"),
        ]
    )
    assert args.handler(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert any("adaptive" in line for line in out)
    result = json.loads(out[-1])
    (figures,) = result["graphs"]
    assert figures["nodes"] == 1_600
    assert figures["adaptive"]["n"] == 10
    assert figures["networkx_full"]["n"] == 3
    assert figures["top_k_differs_networkx"] == 0
    assert figures["top_k_differs_plain"] == 0
    assert result["notes"] == ["Rize graph not found: synthetic graph only"]


def test_bench_recommend_refuses_bad_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Zero units is refused with a one-line reason and exit status 2."""
    args = parser().parse_args(["bench", "recommend", "--units", "0"])
    assert args.handler(args) == 2
    assert "at least 1" in capsys.readouterr().err


def test_synthetic_city_is_a_connected_street_grid() -> None:
    """The synthetic grid has side² nodes, both-way arterials, and most nodes reach the centre."""
    city = synthetic_city(60, seed=1)
    assert city.node_count == 3_600
    assert 3.0 < city.edge_count / city.node_count < 4.0
    times = city.times_to(float(city.lats[1_830]), float(city.lons[1_830]))
    assert np.isfinite(times).mean() > 0.95
    assert math.isfinite(float(np.nanmax(np.where(np.isfinite(times), times, np.nan))))
