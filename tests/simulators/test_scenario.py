"""Scenario files: the bundled ones load; mistakes are refused with their location."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.errors import ScenarioError
from simulators.progress import gauges_from, parse_metrics
from simulators.scenario import bundled_names, load_scenario


def test_every_bundled_scenario_loads() -> None:
    """Each shipped scenario validates, and the issue's kinds are all there."""
    names = bundled_names()
    for required in ("normal-day", "earthquake", "centre-outage", "broker-restart"):
        assert required in names
    assert "malformed-burst" in names
    for name in names:
        assert load_scenario(name).name == name


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\nspeeed = 2\n', "speeed: Extra inputs are not permitted"),
        ('name = "x"\nspeed = 500\n', "speed: Input should be less than or equal to 100"),
        ('name = "x"\n[mix]\nlegitimate = 0.9\n', "mix: Value error, shares must sum to 1"),
        ('name = "x"\n[earthquake]\nat_s = 3\n', "earthquake: Value error, give the epicentre"),
        ('name = "x"\n[earthquake]\nlat = 37.0\n', "lat and lon go together"),
        ('name = "x"\n[outage]\nplate = 34\nfrom_s = 50\nto_s = 10\n', "to_s must be after"),
        ('name = "x"\n[outage]\nplate = 99\nfrom_s = 0\nto_s = 10\n', "outage.plate"),
        ('name = "x"\n[foreign]\nweights = { "90" = 2.0 }\n', "is not a plate 1..81"),
        ('name = "x"\n[units]\nenabled = true\ncount = 3\ncount_per_agency = 1\n', "not both"),
        ('name = "x"\n[units]\nenabled = true\nfleet = 3\n', "units.fleet: Extra inputs"),
        ('name = "x"\n[ecall]\ntransport = "pigeon"\n', "ecall.transport"),
        ("speed = 2\n", "name: Field required"),
        ('name = "x"\nspeed = \n', "not valid TOML"),
    ],
)
def test_mistakes_are_refused_with_their_location(tmp_path: Path, text: str, message: str) -> None:
    """A bad scenario file raises ScenarioError naming the file and the field."""
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError, match=r"s\.toml") as caught:
        load_scenario(path)
    assert message in str(caught.value)


def test_unknown_bundled_name_lists_the_known_ones() -> None:
    """An unknown scenario name is refused with the bundled names."""
    with pytest.raises(ScenarioError, match="normal-day"):
        load_scenario("no-such-scenario")


def test_overrides_are_validated() -> None:
    """Command-line overrides go through the same validation."""
    scenario = load_scenario("normal-day")
    assert scenario.with_overrides(speed=50).speed == 50
    with pytest.raises(ScenarioError, match="speed"):
        scenario.with_overrides(speed=0.5)


def test_metrics_text_is_summed_over_labels() -> None:
    """Prometheus samples with labels are summed per name; comments are skipped."""
    text = (
        "# HELP ng112_open_incidents Open incidents\n"
        'ng112_open_incidents{centre="34"} 5.0\n'
        'ng112_open_incidents{centre="06"} 2.0\n'
        "ng112_event_log_queue_depth 3.0\n"
        "ng112_projection_incidents 42.0\n"
        "process_resident_memory_bytes 4.194304e+08\n"
    )
    gauges = gauges_from(parse_metrics(text))
    assert gauges.open_incidents == 7
    assert gauges.log_queue_depth == 3
    assert gauges.incidents_held == 42
    assert gauges.resident_mb == 400.0
