"""Simulated call-takers: operators at the centres who take calls from the engine's queues.

Each operator speaks only the call-taking API, as a console would: log in at a centre with
skills, say ready, then ask for the next call (``POST .../next``), answer it, hold it for
a handling time and wrap it up; with nothing waiting, ask again a little later. The floor
is sized by population: a centre gets operators in proportion to its province's share of
the country (at least one), the central desk its foreign-language operators, and every
tenth operator also takes text and sign-language calls. Handling times are scenario
seconds (``[call_takers] handle_s``), played at the scenario's speed.

With call-takers the engine's queues empty as they would in a centre: calls are answered
and wrapped up, answer times fill the NENA statistics, and packages forget the calls they
no longer need. Without them (the default) calls wait in the queues for the whole run.
With the simulated phone gateway (:mod:`simulators.gateway`), a call-taker tells it when
their console takes a call (the caller is put through) and when they are done with the
caller, so it reports the call ended.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from simulators.drivers import post_settled
from simulators.geography import provinces

if TYPE_CHECKING:
    from simulators.gateway import PhoneGateway

#: The central desk's operators and the languages each speaks besides Turkish.
DESK_LANGUAGES: tuple[str, ...] = ("en", "de", "ar", "ru")


@dataclass(slots=True)
class FloorStats:
    """What the call-takers did."""

    logged_in: int = 0
    answered: int = 0
    wrapped_up: int = 0
    idle_polls: int = 0
    refused: int = 0


@dataclass(frozen=True, slots=True)
class Seat:
    """One operator: who, where and with which skills."""

    operator_id: str
    centre: str
    skills: tuple[str, ...]


def seats(total: int, *, run_id: str) -> list[Seat]:
    """``total`` operators over the 81 centres by population, plus the central desk's."""
    people = provinces()
    country = sum(p.population for p in people)
    room = max(total - len(DESK_LANGUAGES) - len(people), 0)
    result: list[Seat] = []
    for province in people:
        count = 1 + round(room * province.population / country)
        centre = f"{province.plate:02d}"
        for number in range(count):
            skills = ("tr", "text", "tid") if number % 10 == 9 or count == 1 else ("tr",)
            result.append(Seat(f"sim-{run_id}-{centre}-{number}", centre, skills))
    result.extend(
        Seat(f"sim-{run_id}-central-{language}", "central", (language, "tr"))
        for language in DESK_LANGUAGES
    )
    return result


class CallTakerFloor:
    """Every seat's operator working the engine's queues until cancelled."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        floor: list[Seat],
        *,
        handle_s: tuple[float, float],
        speed: float,
        idle_s: float,
        rng: random.Random,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        gateway: PhoneGateway | None = None,
    ) -> None:
        self._session = session
        self._gateway = gateway
        self._base = base_url.rstrip("/")
        self.floor = floor
        self._handle = (handle_s[0] / speed, handle_s[1] / speed)
        self._idle_s = idle_s
        self._rng = rng
        self._sleep = sleep
        self.stats = FloorStats()
        self._progress = asyncio.Event()

    async def wait_wrapped_up(self, count: int) -> None:
        """Return once ``count`` calls have been wrapped up (for watchers and tests)."""
        while self.stats.wrapped_up < count:
            self._progress.clear()
            await self._progress.wait()

    async def run(self) -> None:
        """Log every operator in and work until cancelled."""
        async with asyncio.TaskGroup() as group:
            for seat in self.floor:
                group.create_task(self._work(seat), name=f"ng112-sim-{seat.operator_id}")

    async def _post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        return await post_settled(self._session, f"{self._base}{path}", body, sleep=self._sleep)

    async def _work(self, seat: Seat) -> None:
        base = f"/api/v1/operators/{seat.operator_id}"
        status, _ = await self._post(
            f"{base}/login", {"centre": seat.centre, "skills": list(seat.skills)}
        )
        if status not in {201, 409}:  # 409: logged in already (a restarted simulator)
            self.stats.refused += 1
            return
        self.stats.logged_in += 1
        while True:
            await self._post(f"{base}/ready")  # after logging in, and after each wrap-up
            status, data = await self._post(f"{base}/next")
            while status == 200 and isinstance(data, dict) and data.get("call") is None:
                self.stats.idle_polls += 1
                await self._sleep(self._idle_s * self._rng.uniform(0.5, 1.5))
                status, data = await self._post(f"{base}/next")
            if status != 200:
                self.stats.refused += 1
                await self._sleep(self._idle_s)
                continue
            call = data.get("call") if isinstance(data, dict) else None
            call_id = call.get("call_id") if isinstance(call, dict) else None
            gateway = self._gateway if isinstance(call_id, str) else None
            if gateway is not None:
                gateway.put_through(str(call_id))
            status, _ = await self._post(f"{base}/answer")
            if status == 200:
                self.stats.answered += 1
                await self._sleep(self._rng.uniform(*self._handle))
                if gateway is not None:
                    gateway.finished(str(call_id))  # the caller has been dealt with
            status, _ = await self._post(f"{base}/wrap-up")
            if status == 200:
                self.stats.wrapped_up += 1
                self._progress.set()
            else:
                self.stats.refused += 1
