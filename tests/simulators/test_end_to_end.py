"""A short simulation against the served engine loses and duplicates nothing."""

from __future__ import annotations

import pytest

from dispatch.app.settings import Settings
from simulators.host import start_engine
from simulators.runner import Simulation
from simulators.scenario import Scenario
from tests.conftest import Database

pytestmark = pytest.mark.integration


async def test_simulation_loses_and_duplicates_nothing(database: Database) -> None:
    """Every acknowledged call reaches the dashboard and the API once; bad input is refused."""
    settings = Settings(
        db=database.url,
        db_schema=database.schema,
        port=0,
        embedded_broker=False,
    )
    runner, url = await start_engine(settings)
    try:
        scenario = Scenario.model_validate(
            {
                "name": "e2e",
                "seed": 1,
                "speed": 100,
                "duration_s": 2.5,
                "channels": {"ecall": 0.05, "text": 0.05, "sign_video": 0.02, "panic_app": 0.05},
                "operator": {"delay_s": [0.05, 0.2]},
                "malformed": {"at_s": 0.5, "count": 60},
            }
        )
        report = await Simulation(scenario, url, settle_s=15.0).run()
    finally:
        await runner.cleanup()
    assert report.acknowledged > 300
    assert report.acknowledged == report.offered
    assert report.lost == 0
    assert report.duplicated == 0
    assert report.seen_on_stream >= report.acknowledged
    assert report.api_checked == report.acknowledged
    assert report.api_missing == 0
    assert report.malformed == {"sent": 60, "refused": 60, "accepted": 0}
    assert report.operator["unfounded"] > 0
    assert set(report.by_channel) >= {"phone", "ecall", "text", "panic_app"}
