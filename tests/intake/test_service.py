"""Tests of intake.service: its projections come back from the log after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from dispatch.adapters.http import ENGINE
from dispatch.app.composition import compose
from dispatch.app.housekeeping import archive_once
from dispatch.app.routing_wiring import GazetteerLocator
from dispatch.model.ids import CallId
from intake.adapters.http import INTAKE
from tests.conftest import Database
from tests.intake.conftest import INTAKE_ONLY, ManualClock, intake_settings
from tests.intake.test_e2e_phone import aml_sms, offered, status


async def _aml_waiting_and_a_callback(
    http: aiohttp.ClientSession, base: str, clock: ManualClock
) -> None:
    """An AML report with no call yet, and an abandoned call whose callback waits."""
    async with http.post(
        base + "/api/v1/aml?from=%2B905321234567",
        data=aml_sms(40.99, 29.03, clock.now()),
        headers={"Content-Type": "text/plain"},
    ) as response:
        assert response.status == 202
    for event in (offered("x1", number="05551234567"), status("abandoned", "x1")):
        assert await _phone_event(http, base, event)


async def _phone_event(
    http: aiohttp.ClientSession, base: str, event: dict[str, object]
) -> dict[str, str]:
    """Post one gateway event; it must be accepted. Returns the ack."""
    async with http.post(base + "/api/v1/phone/events", json=event) as response:
        assert response.status == 202, await response.text()
        ack: dict[str, str] = await response.json()
        return ack


@asynccontextmanager
async def _serving(app: web.Application) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """The application on a loopback port: an HTTP session and the base URL."""
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as http:
        yield http, f"http://127.0.0.1:{server.port}"


async def test_projections_survive_a_restart(database: Database, locator: GazetteerLocator) -> None:
    """A waiting AML report, a callback and a device come back when the log is replayed; the
    report then joins its call `before`."""
    clock = ManualClock()
    settings = intake_settings(database)
    app = compose(settings, clock=clock, locator=locator, packages=INTAKE_ONLY)
    async with _serving(app) as (http, base):
        await _aml_waiting_and_a_callback(http, base, clock)
        async with http.post(base + "/api/v1/app/register", json={"number": "05321234567"}) as r:
            challenge = await r.json()
        async with http.post(base + "/api/v1/app/verify", json=challenge) as r:
            token = (await r.json())["device_token"]
    restarted = compose(settings, clock=clock, locator=locator, packages=INTAKE_ONLY)
    async with _serving(restarted) as (http, base):
        service = restarted[INTAKE]
        assert service.aml.pending_count == 1
        assert len(service.callbacks) == 1
        assert service.device(token).number == "+905321234567"
        async with http.post(base + "/api/v1/phone/events", json=offered("x2")) as response:
            ack = await response.json()
        assert service.aml.pending_count == 0
        incident = service.engine.state.incidents[ack["incident_id"]]
        joined = [r.event for r in incident.timeline if r.event.event_type == "intake_aml_joined"]
        assert [j.order for j in joined] == ["before"]  # type: ignore[attr-defined]


async def test_projections_come_back_from_a_snapshot(
    database: Database, locator: GazetteerLocator
) -> None:
    """A snapshot saved by the running engine restores intake's projections at the next
    start, which folds only the events after it; they are those the first run held."""
    clock = ManualClock()
    settings = intake_settings(database).model_copy(update={"snapshot_on_stop": False})
    app = compose(settings, clock=clock, locator=locator, packages=INTAKE_ONLY)
    async with _serving(app) as (http, base):
        await _aml_waiting_and_a_callback(http, base, clock)
        engine = app[ENGINE]
        saved = await engine.save_snapshot()
        assert saved == engine.state.last_seq
        async with http.post(base + "/api/v1/phone/events", json=offered("x2")) as response:
            assert response.status == 202
        before = app[INTAKE].snapshot()
    restarted = compose(settings, clock=clock, locator=locator, packages=INTAKE_ONLY)
    async with TestServer(restarted, host="127.0.0.1"):
        assert restarted[ENGINE].restored_seq == saved
        after = restarted[INTAKE].snapshot()
    assert after == before
    assert after.aml.pending == []
    assert [c.call_id for c in after.callbacks.entries()] != []


async def test_a_call_older_than_the_recent_keys_still_ends(
    database: Database, locator: GazetteerLocator
) -> None:
    """The gateway's end of a long call finds it although its key now keeps only a seq."""
    clock = ManualClock()
    app = compose(intake_settings(database), clock=clock, locator=locator, packages=INTAKE_ONLY)
    async with _serving(app) as (http, base):
        engine = app[ENGINE]
        engine.state.recent_keys = 2
        for name in ("long", "a", "b", "c", "d", "e"):
            await _phone_event(http, base, offered(name))
        (key,) = [k for k in engine.state.settled_keys if k.endswith(":long")]
        assert engine.state.original(key) is None, "only its seq is kept"
        ended = await _phone_event(http, base, status("ended", "long"))
        call = engine.state.calls[CallId(ended["call_id"])]
        assert call.status == "ended"


async def test_an_incident_waits_for_its_callback_before_it_is_archived(
    database: Database, locator: GazetteerLocator
) -> None:
    """An abandoned call's incident stays while its callback waits, then is archived."""
    clock = ManualClock()
    app = compose(intake_settings(database), clock=clock, locator=locator, packages=INTAKE_ONLY)
    async with _serving(app) as (http, base):
        engine = app[ENGINE]
        ack = await _phone_event(http, base, offered("cb1"))
        await _phone_event(http, base, status("abandoned", "cb1"))
        call_id, incident_id = ack["call_id"], ack["incident_id"]
        action = {"action": "unfounded", "unfounded_reason": "silent"}
        url = f"{base}/api/v1/incidents/{incident_id}/actions"
        async with http.post(url, json=action) as response:
            assert response.status == 200
        clock.advance(2 * 3600)
        assert await archive_once(engine, after=timedelta(hours=1)) == 0, "callback waits"
        assert incident_id in engine.state.incidents
        done = f"{base}/api/v1/callbacks/{call_id}/done"
        async with http.post(done, json={"outcome": "reached"}) as response:
            assert response.status == 200
        assert await archive_once(engine, after=timedelta(hours=1)) == 1
        assert incident_id not in engine.state.incidents
