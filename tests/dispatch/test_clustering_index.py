"""The duplicate index gives exactly what scanning every open incident gives.

``DuplicateFinder.candidates`` searches shelves of incidents (by family, scene and radius
class) in grids of their own and stops early once no shelf can place; the reference here is
the plain rule: judge every open incident, sort by (score, distance, id), cut to the limit.
Mixes cover every incident type, site radii from 5 m to 10 km, dense clusters and scattered
sites, attached, merged and closed incidents, stale and fresh ones, and a few policies.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.core.clustering import (
    ClusterPolicy,
    DuplicateCandidate,
    DuplicateFinder,
    NewCall,
    OpenIncident,
)
from dispatch.core.taxonomy import IncidentType

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
_M_PER_DEG = 6_371_008.8 * math.pi / 180.0
TYPES: list[IncidentType | None] = [*IncidentType, None]
POLICIES = [
    ClusterPolicy(),
    ClusterPolicy(k=1.0, max_spread_m=500.0, min_site_radius_m=0.0),
    ClusterPolicy(k=3.0, max_spread_m=12_000.0, unknown_radius_m=2_500.0),
    ClusterPolicy(max_spread_m=10.0),
]
# Istanbul, Antakya, Hammerfest, Tierra del Fuego, a few kilometres from the north pole.
CENTRES = [(41.01, 28.97), (36.2028, 36.1605), (70.66, 23.68), (-54.8, -68.3), (89.97, 10.0)]


def brute_force(finder: DuplicateFinder, call: NewCall, limit: int) -> list[DuplicateCandidate]:
    """The reference: every open incident judged by the rule, sorted, cut."""
    policy = finder._policy
    radius = max(policy.unknown_radius_m if call.radius_m is None else call.radius_m, 1.0)
    found = [
        candidate
        for incident in finder.incidents()
        if (candidate := finder._judge(incident, call, radius)) is not None
    ]
    found.sort(key=lambda c: (c.score, c.distance_m, c.incident_id))
    return found[:limit]


class Area:
    """Where a mix happens: a centre, a few dense spots and a 40 km square around it."""

    def __init__(self, rng: random.Random, centre: tuple[float, float], spots: int) -> None:
        self.rng = rng
        self.centre = centre
        self.spots = [self.scattered() for _ in range(spots)]

    def at(self, origin: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
        lat = origin[0] + north_m / _M_PER_DEG
        lon = origin[1] + east_m / (_M_PER_DEG * math.cos(math.radians(origin[0])))
        return lat, lon

    def scattered(self) -> tuple[float, float]:
        return self.at(
            self.centre, self.rng.uniform(-20_000.0, 20_000.0), self.rng.uniform(-20_000, 20_000)
        )

    def position(self) -> tuple[float, float]:
        """Mostly in a dense spot (tens to hundreds of metres), else anywhere in the square."""
        if self.spots and self.rng.random() < 0.7:
            spread = self.rng.choice([20.0, 150.0, 600.0])
            spot = self.rng.choice(self.spots)
            return self.at(spot, self.rng.gauss(0.0, spread), self.rng.gauss(0.0, spread))
        return self.scattered()

    def radius(self) -> float:
        """Log-uniform from 5 m to 10 km, with extra weight on handset and cell-id sizes."""
        choice = self.rng.random()
        if choice < 0.15:
            return self.rng.uniform(2_000.0, 5_000.0)
        return math.exp(self.rng.uniform(math.log(5.0), math.log(10_000.0)))

    def call(self, index: int) -> NewCall:
        lat, lon = self.position()
        return NewCall(
            call_id=f"call-{index}",
            incident_type=self.rng.choice(TYPES),
            lat=lat,
            lon=lon,
            radius_m=None if self.rng.random() < 0.1 else self.radius(),
            at=T0 + timedelta(minutes=self.rng.uniform(-30.0, 30.0)),
        )


def build(rng: random.Random, area: Area, finder: DuplicateFinder, sites: int) -> None:
    """Open sites, then attach, merge, retype and close some, as the event log would."""
    for index in range(sites):
        lat, lon = area.position()
        finder.open(
            OpenIncident(
                incident_id=f"inc-{index}",
                incident_type=rng.choice(TYPES),
                lat=lat,
                lon=lon,
                radius_m=area.radius(),
                opened_at=T0 - timedelta(minutes=rng.expovariate(1.0 / 120.0)),
            )
        )
    for step in range(sites):
        open_ids = [incident.incident_id for incident in finder.incidents()]
        if len(open_ids) < 2:
            break
        action = rng.random()
        target = rng.choice(open_ids)
        if action < 0.5:
            finder.attach(target, area.call(10_000 + step))
        elif action < 0.6:
            other = rng.choice([i for i in open_ids if i != target])
            finder.merge(target, other)
        elif action < 0.7:
            finder.close(target)
        elif action < 0.75:
            current = finder.get(target)
            assert current is not None
            finder.open(
                OpenIncident(
                    incident_id=target,
                    incident_type=rng.choice(TYPES),
                    lat=current.lat,
                    lon=current.lon,
                    radius_m=current.radius_m,
                    opened_at=current.opened_at,
                    last_call_at=current.last_call_at,
                    calls=current.calls,
                )
            )


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    centre=st.sampled_from(CENTRES),
    policy=st.sampled_from(POLICIES),
    sites=st.integers(min_value=0, max_value=300),
    spots=st.integers(min_value=0, max_value=6),
)
def test_candidates_equal_the_brute_force_scan(
    seed: int, centre: tuple[float, float], policy: ClusterPolicy, sites: int, spots: int
) -> None:
    """For every call and limit, the index returns the reference's list exactly."""
    rng = random.Random(seed)
    area = Area(rng, centre, spots)
    finder = DuplicateFinder(policy)
    build(rng, area, finder, sites)
    for index in range(40):
        call = area.call(index)
        for limit in (1, 3, 1_000):
            assert finder.candidates(call, limit) == brute_force(finder, call, limit)
        assert finder.propose(call) == next(iter(brute_force(finder, call, 1)), None)


def test_dense_surge_with_forest_fires_and_vague_sites() -> None:
    """A city surge: 3,000 sites, a few forest fires and kilometre radii, calls in the crowd."""
    rng = random.Random(112)
    area = Area(rng, CENTRES[0], spots=8)
    finder = DuplicateFinder()
    build(rng, area, finder, 3_000)
    for index in range(2_000, 2_020):
        lat, lon = area.at(rng.choice(area.spots), rng.gauss(0.0, 200.0), rng.gauss(0.0, 200.0))
        at = T0 + timedelta(minutes=index - 2_000)
        finder.open(
            OpenIncident(
                incident_id=f"fire-{index}",
                incident_type=IncidentType.FOREST_FIRE if index % 2 else IncidentType.CHEST_PAIN,
                lat=lat,
                lon=lon,
                radius_m=rng.choice([5.0, 3_000.0, 9_000.0]),
                opened_at=at,
            )
        )
    found_any = 0
    for index in range(60):
        call = area.call(index)
        expected = brute_force(finder, call, 3)
        found_any += bool(expected)
        assert finder.candidates(call, 3) == expected
    assert found_any > 30  # the mix is dense enough that most calls have a candidate


def test_a_closed_mix_is_empty_and_reopens() -> None:
    """Closing every site leaves nothing to propose; reopening one finds it again."""
    rng = random.Random(7)
    area = Area(rng, CENTRES[1], spots=2)
    finder = DuplicateFinder()
    build(rng, area, finder, 100)
    incidents = finder.incidents()
    for incident in incidents:
        finder.close(incident.incident_id)
    call = NewCall(
        call_id="c",
        incident_type=None,
        lat=incidents[0].lat,
        lon=incidents[0].lon,
        radius_m=20.0,
        at=incidents[0].last_activity,
    )
    assert len(finder) == 0
    assert finder.candidates(call, 1_000) == []
    finder.open(incidents[0])
    proposal = finder.propose(call)
    assert proposal is not None
    assert proposal.incident_id == incidents[0].incident_id
