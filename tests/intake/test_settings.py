"""Tests of intake.settings: defaults, and a misspelt or impossible key refused at start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from intake.settings import IntakeSettings


def test_defaults() -> None:
    """The AML join window is ten minutes by default; unsigned HTTPS AML is accepted."""
    settings = IntakeSettings()
    assert settings.aml_join_window_s == 600
    assert settings.aml_hmac_key is None


@pytest.mark.parametrize(
    "table",
    [{"aml_join_windw_s": 5}, {"flood_burst": 0}, {"otp_digits": 3}, {"default_gateway": "a b"}],
)
def test_bad_tables_are_refused(table: dict[str, object]) -> None:
    """Unknown keys and out-of-range values fail validation."""
    with pytest.raises(ValidationError):
        IntakeSettings.model_validate(table)
