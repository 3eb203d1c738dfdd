"""End to end over HTTP: app registration with a one-time code, in development and production."""

from __future__ import annotations

import aiohttp
import orjson
from aiohttp.test_utils import TestServer

from dispatch.app.composition import compose
from dispatch.app.routing_wiring import GazetteerLocator
from dispatch.app.settings import Settings
from intake.lifespan import SMS_GATEWAY
from tests.conftest import Database
from tests.intake.conftest import INTAKE_ONLY, Intake, ManualClock


async def test_wrong_codes_are_limited_and_codes_expire(intake: Intake) -> None:
    """A wrong code says how many tries are left; the fifth voids the challenge; an old code
    has expired; a spent challenge is gone."""
    _, challenge = await intake.post("/api/v1/app/register", {"number": "0532 123 45 67"})
    wrong = "0" * 6 if challenge["code"] != "0" * 6 else "1" * 6
    body = {"challenge_id": challenge["challenge_id"], "code": wrong}
    for left in (4, 3, 2, 1):
        code, refused = await intake.post("/api/v1/app/verify", body)
        assert (code, refused["error"]["code"]) == (422, "code_mismatch")
        assert (
            intake.service.registrations._challenges[challenge["challenge_id"]].attempts_left
            == left
        )
    code, refused = await intake.post("/api/v1/app/verify", body)
    assert (code, refused["error"]["code"]) == (429, "too_many_attempts")
    body["code"] = challenge["code"]
    code, refused = await intake.post("/api/v1/app/verify", body)
    assert (code, refused["error"]["code"]) == (404, "unknown_challenge")
    _, late = await intake.post("/api/v1/app/register", {"number": "+905321234567"})
    intake.clock.advance(301)
    code, refused = await intake.post(
        "/api/v1/app/verify", {"challenge_id": late["challenge_id"], "code": late["code"]}
    )
    assert (code, refused["error"]["code"]) == (410, "code_expired")
    code, refused = await intake.post("/api/v1/app/register", {"number": "112"})
    assert (code, refused["error"]["code"]) == (422, "invalid_number")
    assert intake.engine.log.head == 0


class RecordingSms:
    """A hand-written SMS gateway that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, number: str, text: str) -> None:
        self.sent.append((number, text))


GATEWAY_TOKEN = "gateway-token-0123456789abcdef"


async def test_production_sends_the_code_by_sms_only(
    database: Database, locator: GazetteerLocator
) -> None:
    """In production the code goes by SMS (never in the answer); the verified device's token
    then authenticates it, surviving a restart of the process (the log holds its hash)."""
    settings = Settings.model_validate(
        {
            "db": database.url,
            "db_schema": database.schema,
            "load_boundaries": False,
            "embedded_broker": False,
            "development_mode": False,
            "tokens": [{"token": GATEWAY_TOKEN, "subject": "app-gateway", "role": "device"}],
        }
    )
    headers = {"Authorization": f"Bearer {GATEWAY_TOKEN}"}
    sms = RecordingSms()
    app = compose(settings, clock=ManualClock(), locator=locator, packages=INTAKE_ONLY)
    app[SMS_GATEWAY] = sms
    async with (
        TestServer(app, host="127.0.0.1") as server,
        aiohttp.ClientSession(headers=headers) as session,
    ):
        base = f"http://127.0.0.1:{server.port}"
        async with session.post(base + "/api/v1/app/register", json={"number": "05321234567"}) as r:
            assert r.status == 202
            challenge = orjson.loads(await r.read())
        assert "code" not in challenge
        [(number, text)] = sms.sent
        assert number == "+905321234567"
        code = text.rsplit(" ", 1)[-1]
        body = {"challenge_id": challenge["challenge_id"], "code": code}
        async with session.post(base + "/api/v1/app/verify", json=body) as r:
            assert r.status == 201
            token = orjson.loads(await r.read())["device_token"]
    restarted = compose(settings, clock=ManualClock(), locator=locator, packages=INTAKE_ONLY)
    async with (
        TestServer(restarted, host="127.0.0.1") as server,
        aiohttp.ClientSession(headers={**headers, "X-NG112-Device-Token": token}) as session,
    ):
        alarm = {"alarm_id": "a1", "position": {"lat": 41.0082, "lon": 28.9784}}
        url = f"http://127.0.0.1:{server.port}/api/v1/panic/alarms"
        async with session.post(url, json=alarm) as r:
            assert r.status == 202
        async with session.post(
            f"http://127.0.0.1:{server.port}/api/v1/app/register", json={"number": "05321234567"}
        ) as r:
            assert r.status == 503
            assert (await r.json())["error"]["code"] == "sms_unavailable"
