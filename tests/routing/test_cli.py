"""``ng112 locate`` and ``ng112 bench locate`` through a parser built as the lead's CLI does."""

from __future__ import annotations

import argparse
import json

import pytest

from routing.cli import register, register_bench
from routing.locate import Gazetteer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ng112")
    parser.add_argument("--verbose", "-v", action="store_true")
    commands = parser.add_subparsers()
    register(commands)
    bench = commands.add_parser("bench").add_subparsers()
    register_bench(bench)
    return parser


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    code: int = args.handler(args)
    return code


def test_locate_prints_json(gazetteer: Gazetteer, capsys: pytest.CaptureFixture[str]) -> None:
    """The command prints the issue's JSON object for a point in Beyoğlu."""
    assert _run(["locate", "41.0369", "28.9850"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == gazetteer.locate(41.0369, 28.9850).to_json_dict()
    assert data["province"] == {"plate": 34, "name": "İstanbul"}
    assert data["district"]["name"] == "Beyoğlu"


def test_locate_with_radius_snaps(gazetteer: Gazetteer, capsys: pytest.CaptureFixture[str]) -> None:
    """``--radius`` reaches land from 2.6 km out in the Gulf of Antalya."""
    assert _run(["locate", "36.85", "30.70", "--radius", "3000"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["province"]["plate"] == 7
    assert data["nearest_province"]["plate"] == 7
    assert data["snapped_km"] > 2


@pytest.mark.parametrize(
    "argv",
    [
        ["locate", "-33.9249", "18.4241"],
        ["locate", "-33.9249", "-18.4241", "--radius", "10"],
        ["locate", "--radius", "10", "-33.9249", "18.4241"],
    ],
)
def test_negative_numbers_are_coordinates(
    gazetteer: Gazetteer, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """Negative coordinates parse as numbers, not options (Cape Town, and the ocean)."""
    assert _run(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["in_service_area"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["locate", "nan", "30"], "latitude is NaN"),
        (["locate", "40", "inf"], "longitude is infinite"),
        (["locate", "95", "30"], "latitude must be within -90..90"),
        (["locate", "40", "-181"], "longitude must be within -180..180"),
        (["locate", "40", "30", "--radius", "-5"], "radius must not be negative"),
    ],
)
def test_impossible_input_exits_nonzero(
    gazetteer: Gazetteer, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Impossible coordinates exit with status 2 and a one-line reason on stderr."""
    assert _run(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.count("\n") == 1


def test_unparsable_number_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A coordinate that is not a number is refused by the parser (status 2)."""
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args(["locate", "north", "30"])
    assert exit_info.value.code == 2
    assert "invalid float value" in capsys.readouterr().err


def test_bench_prints_table_and_json(
    gazetteer: Gazetteer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A small benchmark run prints the table rows and one JSON object with every figure."""
    argv = ["bench", "locate", "--single", "300", "--naive", "5", "--bulk", "2000", "--no-sjoin"]
    assert _run(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("load boundaries")
    assert any(line.startswith("naive loop over polygons") for line in lines)
    figures = json.loads(lines[-1])
    assert figures["single_land"]["points"] == 300
    assert figures["naive_loop_land"]["points"] == 5
    assert figures["bulk"]["points"] == 2000
    assert figures["single_land"]["median_us"] > 0
    assert figures["speedup_median"] > 0


def test_bench_rejects_zero_points(capsys: pytest.CaptureFixture[str]) -> None:
    """Point counts below one are refused with a reason."""
    assert _run(["bench", "locate", "--bulk", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
