"""The README is run by people and by CI: its commands and its settings example must hold."""

from __future__ import annotations

import re
from pathlib import Path

from dispatch.app.cli import build_parser
from dispatch.app.settings import load_settings
from dispatch.units import UnitsSettings
from language_desk.lifespan import LanguageDeskSection
from routing import RoutingSettings
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_two_commands_exist_and_ci_runs_the_second() -> None:
    """The README's first two commands are scripts in the repo; .ci/run calls the test one."""
    commands = re.findall(r"^\./(scripts/\w+)", README, flags=re.MULTILINE)
    assert commands[:2] == ["scripts/demo", "scripts/test"]
    for command in commands[:2]:
        assert (REPO / command).stat().st_mode & 0o111, f"{command} is not executable"
    assert "scripts/test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_the_settings_example_is_valid(tmp_path: Path) -> None:
    """The TOML example loads, and each package accepts its own table."""
    example = re.search(r"```toml\n(.*?)```", README, flags=re.DOTALL)
    assert example is not None
    config = tmp_path / "ng112.toml"
    config.write_text(example.group(1), encoding="utf-8")
    settings = load_settings(config_file=config)
    assert settings.db.startswith("postgresql://")
    routing = RoutingSettings.model_validate(settings.routing)
    assert routing.districts is not None
    assert LanguageDeskSection.model_validate(settings.language_desk).languages[-1] == "fa"
    assert UnitsSettings.model_validate(settings.units).road_graph == Path("/data/roads.graphml")


def test_every_command_in_the_table_exists() -> None:
    """Each ``ng112 X`` the README lists is a real command."""
    parser = build_parser()
    listed = set(re.findall(r"`ng112 ([a-z]+)", README))
    action = parser._subparsers._group_actions[0]  # type: ignore[union-attr]
    commands = set(action.choices or ())
    assert listed <= commands, listed - commands
