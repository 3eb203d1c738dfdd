"""Tests of intake.lifespan: routes, the OpenAPI contract, metrics and settings at install."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dispatch.app.composition import compose
from dispatch.app.openapi import openapi_document
from tests.conftest import Database
from tests.intake.conftest import INTAKE_ONLY, Intake, intake_settings


async def test_openapi_describes_the_gateway_contract(intake: Intake) -> None:
    """The OpenAPI document has the CTI gateway's events and every intake route."""
    status, document = await intake.get("/api/v1/openapi.json")
    assert status == 200
    for path in (
        "/api/v1/phone/events",
        "/api/v1/aml",
        "/api/v1/calls/{call_id}/location",
        "/api/v1/callbacks",
        "/api/v1/app/register",
        "/api/v1/panic/alarms",
    ):
        assert path in document["paths"]
    offered = document["components"]["schemas"]["OfferedIn"]
    assert {"caller", "dialled", "trunk", "cell", "time", "gateway_call_id"} <= set(
        offered["properties"]
    )
    assert "EndedIn" in openapi_document()["components"]["schemas"]


async def test_metrics_include_intake_gauges(intake: Intake) -> None:
    """/metrics shows the waiting AML reports, callbacks, sessions and flood refusals."""
    text = await intake.metrics()
    for name in (
        "ng112_intake_aml_pending",
        "ng112_intake_callbacks_waiting",
        "ng112_intake_sessions",
        "ng112_intake_flood_refused_total",
    ):
        assert name in text


def test_a_bad_intake_table_is_refused_at_install(database: Database) -> None:
    """A misspelt key in [intake] stops the start with a validation error."""
    settings = intake_settings(database, aml_window=5)
    with pytest.raises(ValidationError):
        compose(settings, packages=INTAKE_ONLY)
