"""Pure traffic generators: who calls, when, from where, about what, and how it ends.

Everything here is deterministic for a given ``random.Random`` and has no clock or I/O:
:class:`TrafficModel` turns scenario time into :class:`CallSpec` values, which the
drivers (``simulators.drivers``) send over the public protocols. The shapes follow the
published figures (``simulators/data/SOURCES.md``): provinces weighted by population, the
2024-2025 mix of legitimate, false and hung-up calls, the 2021 shares by agency, a daily
rhythm with an evening peak and a trough near 04:00, foreign callers where tourists are.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from simulators import geography, texts
from simulators.geography import Position, WeightedChoice
from simulators.scenario import Earthquake, Scenario

#: The simulated carrier gateway: a call's request id is ``sim:<gateway call id>``, the form
#: ng112 gives a gateway's calls (``intake.phone.gateway_request_id``), so the simulated
#: gateway (:mod:`simulators.gateway`) can report how the call ends.
GATEWAY = "sim"


class Disposition(enum.StrEnum):
    """How a call turns out: what the simulated operator will do with it."""

    LEGITIMATE = "legitimate"
    FALSE = "false"
    HUNG_UP = "hung_up"


#: Calls by agency in 2021 (millions): health, police, gendarmerie, fire, forest, coast guard, AFAD.
AGENCY_CALLS_2021: Mapping[str, float] = MappingProxyType(
    {
        "health": 18.64,
        "police": 17.70,
        "gendarmerie": 2.06,
        "fire": 1.33,
        "forest": 0.189,
        "coast_guard": 0.0439,
        "afad": 0.0367,
    }
)

#: Incident types per agency with relative weights (project estimates within each agency).
TYPES_BY_AGENCY: Mapping[str, tuple[tuple[str, float], ...]] = MappingProxyType(
    {
        "health": (
            ("medical.sick_person", 30),
            ("medical.chest_pain", 10),
            ("medical.breathing_problem", 10),
            ("medical.unconscious", 8),
            ("medical.bleeding_injury", 10),
            ("traffic.collision", 12),
            ("medical.stroke", 5),
            ("medical.cardiac_arrest", 3),
            ("medical.seizure", 4),
            ("medical.poisoning", 3),
            ("medical.childbirth", 2),
        ),
        "police": (
            ("security.violence", 25),
            ("security.property", 25),
            ("security.public_order", 20),
            ("security.domestic_violence", 15),
            ("traffic.collision", 10),
            ("security.weapon", 3),
            ("security.missing_person", 2),
        ),
        "gendarmerie": (
            ("security.violence", 25),
            ("security.property", 25),
            ("traffic.collision", 20),
            ("security.domestic_violence", 15),
            ("other.animal", 10),
            ("security.missing_person", 5),
        ),
        "fire": (
            ("fire.building", 40),
            ("fire.vehicle", 20),
            ("fire.other", 30),
            ("hazmat.gas_leak", 10),
        ),
        "forest": (("forest.fire", 1),),
        "coast_guard": (("water.sea_rescue", 2), ("water.drowning", 1)),
        "afad": (
            ("disaster.flood", 4),
            ("disaster.landslide", 3),
            ("disaster.building_collapse", 3),
        ),
    }
)

#: Legacy number a caller might dial for each agency (most dial 112 anyway).
LEGACY_NUMBER: Mapping[str, str] = MappingProxyType(
    {
        "health": "112",
        "police": "155",
        "gendarmerie": "156",
        "fire": "110",
        "forest": "177",
        "coast_guard": "178",
        "afad": "122",
    }
)

#: Relative call volume by hour of day (project curve: evening peak, trough near 04:00).
_HOURLY = (
    0.90, 0.70, 0.52, 0.42, 0.36, 0.40, 0.50, 0.68, 0.85, 0.95, 1.00, 1.05,
    1.10, 1.10, 1.10, 1.15, 1.22, 1.32, 1.42, 1.52, 1.58, 1.50, 1.30, 1.10,
)  # fmt: skip
_HOURLY_MEAN = sum(_HOURLY) / len(_HOURLY)

#: Foreign-caller languages by plate (Antalya's desk 2022: 55 % en, 36 % ru, 4 % de).
FOREIGN_LANGUAGES: Mapping[int, tuple[tuple[str, float], ...]] = MappingProxyType(
    {
        7: (("en", 55), ("ru", 36), ("de", 4), ("ar", 5)),
        48: (("en", 65), ("ru", 10), ("de", 20), ("ar", 5)),
        34: (("en", 45), ("ar", 35), ("ru", 12), ("de", 8)),
    }
)
_OTHER_LANGUAGES = (("en", 40), ("ar", 40), ("de", 10), ("ru", 10))


def rhythm(hour: float) -> float:
    """Relative call rate at an hour of day (mean 1 over a day), linearly interpolated."""
    hour %= 24.0
    low = int(hour)
    frac = hour - low
    value = _HOURLY[low] * (1 - frac) + _HOURLY[(low + 1) % 24] * frac
    return value / _HOURLY_MEAN


@dataclass(frozen=True, slots=True, kw_only=True)
class VehicleCrash:
    """What an eCall vehicle reports besides its position."""

    vin: str
    message_identifier: int
    automatic: bool
    test_call: bool
    heading_deg: float
    occupants: int
    corridor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallSpec:
    """One simulated call: what is sent, and the truth behind it (for checks and reports)."""

    client_request_id: str
    at_s: float
    channel: str
    dialled: str
    text: str | None
    caller_number: str | None
    location: Position | None
    plate: int
    disposition: Disposition
    agency: str | None
    incident_type: str | None
    language: str
    unfounded_reason: str | None = None
    building: int | None = None
    vehicle: VehicleCrash | None = None

    @property
    def gateway_call_id(self) -> str:
        """The call's id at the simulated gateway (its request id without ``sim:``)."""
        return self.client_request_id.removeprefix(f"{GATEWAY}:")

    def body(self) -> dict[str, Any]:
        """The ``POST /api/v1/calls`` body."""
        body: dict[str, Any] = {
            "channel": self.channel,
            "dialled": self.dialled,
            "client_request_id": self.client_request_id,
        }
        if self.caller_number is not None:
            body["caller"] = {"number": self.caller_number}
        if self.text is not None:
            body["text"] = self.text
        if self.location is not None:
            body["location"] = {
                "lat": self.location.lat,
                "lon": self.location.lon,
                "radius_m": self.location.radius_m,
            }
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class Building:
    """A collapsed building in an earthquake scenario."""

    index: int
    lat: float
    lon: float
    place: str
    plate: int


def collapsed_buildings(quake: Earthquake, rng: random.Random) -> tuple[Building, ...]:
    """The few collapsed buildings most earthquake calls are about (near populated places)."""
    lat, lon = epicentre(quake)
    nearby = _places_near(lat, lon, quake.radius_km * 1000)
    choice = WeightedChoice(nearby, [max(p.population, 2_000) for p in nearby])
    buildings = []
    for index in range(quake.buildings):
        place = choice.draw(rng)
        b_lat, b_lon = geography.scatter(rng, place.lat, place.lon, 400.0)
        buildings.append(
            Building(
                index=index,
                lat=round(b_lat, 6),
                lon=round(b_lon, 6),
                place=place.name,
                plate=place.plate,
            )
        )
    return tuple(buildings)


def epicentre(quake: Earthquake) -> tuple[float, float]:
    """The epicentre: given coordinates, or the admin centre of the given province."""
    if quake.lat is not None and quake.lon is not None:
        return quake.lat, quake.lon
    if quake.plate is None:  # the scenario validator makes this impossible
        raise ValueError("an earthquake needs an epicentre")
    centre = geography.province(quake.plate)
    return centre.lat, centre.lon


def _places_near(lat: float, lon: float, radius_m: float) -> list[geography.Place]:
    found = [
        place
        for places in geography.places_by_plate().values()
        for place in places
        if geography.distance_m((lat, lon), (place.lat, place.lon)) <= radius_m
    ]
    if not found:
        nearest = min(
            geography.provinces(), key=lambda p: geography.distance_m((lat, lon), (p.lat, p.lon))
        )
        found = [
            geography.Place(
                name=nearest.name, lat=lat, lon=lon, population=10_000, plate=nearest.plate
            )
        ]
    return found


def quake_envelope(quake: Earthquake, t: float) -> float:
    """0 before the shock, rising linearly over ``ramp_s`` to 1, then decaying exponentially."""
    if t < quake.at_s:
        return 0.0
    since = t - quake.at_s
    if quake.ramp_s > 0 and since < quake.ramp_s:
        return since / quake.ramp_s
    return math.exp(-(since - quake.ramp_s) / quake.decay_s)


class TrafficModel:
    """Turns a scenario into a stream of :class:`CallSpec` at scenario times.

    ``run_id`` makes client request ids unique across runs against one engine; the
    sequence number makes them unique within a run. They are the simulated gateway's
    request ids (``sim:<run>-<n>``, see :data:`GATEWAY`). Vehicles (VINs) are drawn per
    run too: a rerun against the same log must crash other cars, or the engine rightly
    answers their MSDs as resends of the last run's.

    ``stream`` tells apart generators that share one scenario's load (the benchmark's
    worker processes): each draws its own calls, reproducibly. Without it every generator
    would offer the same callers at the same places and moments, each call with a twin.
    Stream 0 draws what the scenario's seed alone gives. The scenario's collapsed buildings
    are the same for every stream: callers of all generators describe the same sites.
    """

    def __init__(self, scenario: Scenario, *, run_id: str, stream: int = 0) -> None:
        if stream < 0:
            raise ValueError(f"a generator's stream is a number from 0, not {stream}")
        self.scenario = scenario
        self.run_id = run_id
        self.rng = random.Random(scenario.seed if stream == 0 else f"{scenario.seed}/{stream}")
        self._vehicles = random.Random(f"{scenario.seed}:{run_id}")
        self._count = 0
        self._message_ids: dict[str, int] = {}
        self._agencies = WeightedChoice(list(AGENCY_CALLS_2021), list(AGENCY_CALLS_2021.values()))
        self._types = {
            agency: WeightedChoice([t for t, _ in pairs], [w for _, w in pairs])
            for agency, pairs in TYPES_BY_AGENCY.items()
        }
        mix = scenario.mix
        self._mix = WeightedChoice(
            [Disposition.LEGITIMATE, Disposition.FALSE, Disposition.HUNG_UP],
            [mix.legitimate, mix.false, mix.hung_up],
        )
        channels = scenario.channels
        shares = [channels.ecall, channels.text, channels.sign_video, channels.panic_app]
        self._channels = WeightedChoice(
            ["ecall", "text", "sign_video", "panic_app", "phone"], [*shares, 1.0 - sum(shares)]
        )
        self._false = WeightedChoice(
            ["prank", "pocket_dial", "information_request", "silent"], [3, 3, 3, 1]
        )
        self.buildings: tuple[Building, ...] = ()
        self._quake_places: WeightedChoice[geography.Place] | None = None
        quake = scenario.earthquake
        if quake is not None:
            self.buildings = collapsed_buildings(quake, random.Random(scenario.seed + 1))
            lat, lon = epicentre(quake)
            nearby = _places_near(lat, lon, quake.radius_km * 1000)
            self._quake_places = WeightedChoice(nearby, [max(p.population, 2_000) for p in nearby])

    # -- rates ---------------------------------------------------------------------------

    def hour_at(self, t: float) -> float:
        """Simulated hour of day at wall time ``t`` seconds into the scenario."""
        return (self.scenario.start_hour + t * self.scenario.speed / 3600.0) % 24.0

    def normal_rate(self, t: float) -> float:
        """Calls/s offered at ``t`` by a normal day (national, speed and multiplier applied)."""
        s = self.scenario
        return s.base_rate_per_s * s.speed * s.rate_multiplier * rhythm(self.hour_at(t))

    def quake_rate(self, t: float) -> float:
        """Extra calls/s at ``t`` caused by the earthquake, if any."""
        quake = self.scenario.earthquake
        if quake is None:
            return 0.0
        s = self.scenario
        base = s.base_rate_per_s * s.speed * s.rate_multiplier
        return (quake.multiplier - 1.0) * base * quake_envelope(quake, t)

    def rate(self, t: float) -> float:
        """Total calls/s offered at ``t``."""
        return self.normal_rate(t) + self.quake_rate(t)

    def arrivals(self, start: float = 0.0, until: float | None = None) -> Iterator[float]:
        """Arrival times of a non-homogeneous Poisson process with :meth:`rate` (thinning)."""
        t = start
        while until is None or t < until:
            bound = max(self.rate(t), self.rate(t + 1.0)) * 1.25 + 1e-9
            t += self.rng.expovariate(bound)
            if until is not None and t >= until:
                return
            if self.rng.random() * bound <= self.rate(t):
                yield t

    # -- calls ---------------------------------------------------------------------------

    def _next_id(self) -> str:
        self._count += 1
        return f"{GATEWAY}:{self.run_id}-{self._count}"

    def call_at(self, t: float) -> CallSpec:
        """The call arriving at ``t``: an earthquake call in proportion to the surge."""
        total = self.rate(t)
        if total > 0 and self.rng.random() < self.quake_rate(t) / total:
            return self._quake_call(t)
        return self.normal_call(t)

    def _phone_number(self, language: str) -> str:
        if language == "tr":
            return f"+905{self.rng.randint(30, 59)}{self.rng.randint(0, 9_999_999):07d}"
        prefix = self.rng.choice(texts.FOREIGN_PREFIX[language])
        return f"+{prefix}{self.rng.randint(100_000_000, 999_999_999)}"

    def _language(self, plate: int) -> str:
        foreign = self.scenario.foreign
        weight = foreign.weights.get(str(plate), foreign.default_weight)
        if self.rng.random() >= min(1.0, foreign.share * weight):
            return "tr"
        pairs = FOREIGN_LANGUAGES.get(plate, _OTHER_LANGUAGES)
        return WeightedChoice([x for x, _ in pairs], [w for _, w in pairs]).draw(self.rng)

    def normal_call(self, t: float) -> CallSpec:
        """A call of a normal day."""
        rng = self.rng
        channel = self._channels.draw(rng)
        if channel == "ecall":
            return self._ecall(t)
        plate = geography.province_by_population().draw(rng).plate
        language = "tr" if channel in {"sign_video", "panic_app"} else self._language(plate)
        disposition = self._mix.draw(rng)
        if channel == "panic_app":
            disposition = Disposition.LEGITIMATE if rng.random() < 0.6 else Disposition.FALSE
        position: Position | None = geography.caller_position(rng, plate)
        agency: str | None = None
        incident_type: str | None = None
        unfounded: str | None = None
        text: str | None = None
        dialled = "112"
        if disposition is Disposition.LEGITIMATE:
            agency = self._agencies.draw(rng)
            incident_type = self._types[agency].draw(rng)
            if channel == "panic_app":
                agency, incident_type = "police", "security.domestic_violence"
            if rng.random() < 0.15:
                dialled = LEGACY_NUMBER[agency]
            text = (
                texts.turkish(rng, incident_type)
                if language == "tr"
                else texts.foreign(rng, language)
            )
        elif disposition is Disposition.FALSE:
            unfounded = self._false.draw(rng)
            text = rng.choice(texts.FALSE_CALLS[unfounded])
        else:
            unfounded = "hung_up"
            if rng.random() < 0.2:
                position = None  # hung up before the handset sent AML
        if channel == "text" and text is not None:
            text = rng.choice(texts.TEXT_OPENERS) + text
        if channel == "panic_app":
            text = texts.PANIC_TEXT
        return CallSpec(
            client_request_id=self._next_id(),
            at_s=t,
            channel=channel,
            dialled=dialled,
            text=text if channel != "sign_video" else None,
            caller_number=self._phone_number(language),
            location=position,
            plate=plate,
            disposition=disposition,
            agency=agency,
            incident_type=incident_type,
            language=language,
            unfounded_reason=unfounded,
        )

    def _ecall(self, t: float) -> CallSpec:
        rng = self.rng
        position, heading, corridor = geography.highway_position(rng)
        test_call = rng.random() < self.scenario.ecall.test_call_share
        automatic = not test_call and rng.random() >= self.scenario.ecall.manual_share
        vin = _vin(self._vehicles)
        self._message_ids[vin] = self._message_ids.get(vin, 0) + 1
        nearest = min(
            geography.provinces(),
            key=lambda p: geography.distance_m((position.lat, position.lon), (p.lat, p.lon)),
        )
        return CallSpec(
            client_request_id=self._next_id(),
            at_s=t,
            channel="ecall",
            dialled="112",
            text=None,
            caller_number=None,
            location=position,
            plate=nearest.plate,
            disposition=Disposition.FALSE if test_call else Disposition.LEGITIMATE,
            agency=None if test_call else "health",
            incident_type=None if test_call else "traffic.collision",
            language="tr",
            unfounded_reason="test" if test_call else None,
            vehicle=VehicleCrash(
                vin=vin,
                message_identifier=self._message_ids[vin],
                automatic=automatic,
                test_call=test_call,
                heading_deg=heading,
                occupants=rng.randint(1, 5),
                corridor=corridor,
            ),
        )

    def _quake_call(self, t: float) -> CallSpec:
        rng = self.rng
        quake = self.scenario.earthquake
        if quake is None or self._quake_places is None:
            return self.normal_call(t)
        if rng.random() < quake.building_share:
            building = rng.choice(self.buildings)
            lat, lon = geography.scatter(rng, building.lat, building.lon, quake.position_noise_m)
            radius = max(geography.aml_radius(rng), quake.position_noise_m)
            return CallSpec(
                client_request_id=self._next_id(),
                at_s=t,
                channel="phone",
                dialled=rng.choice(("112", "112", "112", "122")),
                text=rng.choice(texts.EARTHQUAKE_COLLAPSE).format(place=building.place),
                caller_number=self._phone_number("tr"),
                location=Position(lat=round(lat, 6), lon=round(lon, 6), radius_m=radius),
                plate=building.plate,
                disposition=Disposition.LEGITIMATE,
                agency="afad",
                incident_type="disaster.earthquake_collapse",
                language="tr",
                building=building.index,
            )
        place = self._quake_places.draw(rng)
        lat, lon = geography.scatter(rng, place.lat, place.lon, 1_500.0)
        hung_up = rng.random() < 0.3
        return CallSpec(
            client_request_id=self._next_id(),
            at_s=t,
            channel="phone",
            dialled="112",
            text=None if hung_up else rng.choice(texts.EARTHQUAKE_OTHER),
            caller_number=self._phone_number("tr"),
            location=Position(
                lat=round(lat, 6), lon=round(lon, 6), radius_m=geography.aml_radius(rng)
            ),
            plate=place.plate,
            disposition=Disposition.HUNG_UP if hung_up else Disposition.LEGITIMATE,
            agency=None if hung_up else "health",
            incident_type=None if hung_up else "medical.sick_person",
            language="tr",
            unfounded_reason="hung_up" if hung_up else None,
        )


_VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_WMI = ("NM0", "NMT", "VF1", "WVW", "WBA", "TMB", "ZFA", "KMH", "JTD", "NLA")


def _vin(rng: random.Random) -> str:
    """A plausible 17-character VIN (makers assembling in or selling to Türkiye)."""
    return rng.choice(_WMI) + "".join(rng.choice(_VIN_ALPHABET) for _ in range(14))
