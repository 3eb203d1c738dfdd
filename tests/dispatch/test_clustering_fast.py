"""The duplicate index's quicker paths give what judging every open incident gives.

A query gathers the members of the zones near a call (its tiers', or the coarse map's when a
tier would visit too many zones). Few members are judged directly, each in its shelf's box;
more in the coarse map are swept with arrays, each row pairing as its shelf does; else their
shelves are searched. Each path is forced in turn (its thresholds patched) on mixes spread as a
national surge is (cities hundreds of kilometres apart, dense spots, scattered sites, precise
and vague radii) and after churn, and every answer must be the reference's: the plain rule over
every open incident (``brute_force``). The zones' member lists and the coarse map's rows are
checked against the members; the radius classes against the loop that found them before.
"""

from __future__ import annotations

import math
import pickle
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.core import clustering
from dispatch.core.clustering import (
    ClusterPolicy,
    DuplicateFinder,
    NewCall,
    OpenIncident,
    compatible,
)
from dispatch.core.taxonomy import IncidentType
from tests.dispatch.test_clustering_index import (
    POLICIES,
    T0,
    TYPES,
    Area,
    assert_rows_match,
    assert_zones_match,
    brute_force,
)

# Türkiye's big cities, a town at the far east, Hammerfest, Taveuni (by the 180th meridian).
CITIES = [
    (41.01, 28.97),
    (39.93, 32.86),
    (38.42, 27.14),
    (36.2028, 36.1605),
    (38.50, 43.38),
    (70.66, 23.68),
    (-16.85, 179.97),
]
# Thresholds that force one path: every gathered member judged, every wide query swept, every
# query's shelves searched.
PATHS: dict[str, dict[str, int]] = {
    "shipped": {},
    "judged": {"_JUDGE_SITES": 10**9, "_JUDGE_SITES_WIDE": 10**9},
    "swept": {"_JUDGE_SITES": -1, "_JUDGE_SITES_WIDE": -1, "_SWEEP_SITES_WIDE": 10**9},
    "shelves": {"_JUDGE_SITES": -1, "_JUDGE_SITES_WIDE": -1, "_SWEEP_SITES_WIDE": -1},
}


@contextmanager
def path(name: str) -> Iterator[None]:
    """The index's thresholds set to take one path."""
    with ExitStack() as patches:
        for constant, value in PATHS[name].items():
            patches.enter_context(mock.patch.object(clustering, constant, value))
        yield


class Country(Area):
    """Where a national mix happens: a few cities, dense spots in them, and a wide country.

    Sites and calls as :class:`Area` makes them (``site``, ``call``), at these positions and
    with these radii.
    """

    def __init__(self, rng: random.Random, cities: list[tuple[float, float]]) -> None:
        super().__init__(rng, cities[0], spots=0)
        self.cities = cities
        self.spots = [self.near(rng.choice(cities), 8_000.0) for _ in range(6)]

    def near(self, origin: tuple[float, float], spread_m: float) -> tuple[float, float]:
        return self.at(origin, self.rng.gauss(0.0, spread_m), self.rng.gauss(0.0, spread_m))

    def position(self) -> tuple[float, float]:
        """In a dense spot (tens to hundreds of metres), around a city, or anywhere."""
        draw = self.rng.random()
        if draw < 0.45:
            return self.near(self.rng.choice(self.spots), self.rng.choice([20.0, 150.0, 600.0]))
        if draw < 0.8:
            return self.near(self.rng.choice(self.cities), 15_000.0)
        lat, lon = self.rng.choice(self.cities)
        return lat + self.rng.uniform(-3.0, 3.0), lon + self.rng.uniform(-8.0, 8.0)

    def radius(self) -> float:
        """Mostly a handset's fix, some Wi-Fi, some cell-id; log-uniform up to 10 km besides."""
        draw = self.rng.random()
        if draw < 0.55:
            return self.rng.uniform(5.0, 50.0)
        if draw < 0.75:
            return self.rng.uniform(20.0, 150.0)
        if draw < 0.9:
            return self.rng.uniform(300.0, 5_000.0)
        return math.exp(self.rng.uniform(math.log(1.0), math.log(10_000.0)))

    def open_site(self, index: int) -> OpenIncident:
        """A site of any type, opened up to a few hours ago."""
        age = timedelta(minutes=self.rng.expovariate(1.0 / 90.0))
        return self.site(f"inc-{index}", self.rng.choice(TYPES), self.radius(), age)


def churn(rng: random.Random, country: Country, finder: DuplicateFinder, steps: int) -> None:
    """Attach, merge, retype, close, withdraw and reinstate, as the event log and desk would."""
    withdrawn = []
    for step in range(steps):
        open_ids = [incident.incident_id for incident in finder.incidents()]
        if len(open_ids) < 2:
            break
        target = rng.choice(open_ids)
        action = rng.random()
        if action < 0.45:
            finder.attach(target, country.call(50_000 + step))
        elif action < 0.55:
            finder.merge(target, rng.choice([i for i in open_ids if i != target]))
        elif action < 0.65:
            current = finder.get(target)
            assert current is not None
            finder.open(replace(current, incident_type=rng.choice(TYPES)))
        elif action < 0.8:
            finder.close(target)
        elif action < 0.9:
            site = finder.withdraw(target)
            assert site is not None
            withdrawn.append(site)
        elif withdrawn:
            finder.reinstate(withdrawn.pop())
    for site in withdrawn:
        finder.reinstate(site)


def assert_lists_match(finder: DuplicateFinder) -> None:
    """Each member is listed once in its tier's zone and in the coarse map's, at its place,
    with its shelf; the coarse map's rows hold each member's values. A site no call may
    duplicate (an information request) is on no shelf and in no list."""
    area = finder._area
    indexed = 0
    for site in finder._sites.values():
        if not any(compatible(kind, site.incident.incident_type) for kind in IncidentType):
            assert site.shelf is None
            assert site.home is None
            continue
        indexed += 1
        assert site.shelf is not None
        shelf = finder._shelves[site.shelf]
        assert site.home is shelf
        assert shelf.tier.zones.sites[site.zone][site.zone_at] is site
        assert area.sites[site.area][site.area_at] is site
        incident = site.incident
        moment = incident.last_activity
        epoch = datetime(1970, 1, 1, tzinfo=UTC if moment.utcoffset() is not None else None)
        micros = (moment - epoch) // timedelta(microseconds=1)
        row = area.rows[site.area][site.area_at].tolist()
        assert row == [incident.lat, incident.lon, incident.radius_m, micros, shelf.order[1]]
    maps = [tier.zones for tier in finder._tiers.values()]
    assert sum(len(sites) for zones in maps for sites in zones.sites.values()) == indexed
    assert sum(map(len, area.sites.values())) == indexed
    assert area.rows.keys() == area.sites.keys()
    assert all(len(area.rows[zone]) >= len(sites) for zone, sites in area.sites.items())


def assert_answers(finder: DuplicateFinder, calls: list[NewCall]) -> None:
    """Every path gives the reference's list, for a few limits; ``propose`` its first."""
    for call in calls:
        for limit in (1, 3, 1_000):
            expected = brute_force(finder, call, limit)
            for name in PATHS:
                with path(name):
                    assert finder.candidates(call, limit) == expected, (name, limit)
        assert finder.propose(call) == next(iter(brute_force(finder, call, 1)), None)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    policy=st.sampled_from(POLICIES),
    sites=st.integers(min_value=0, max_value=400),
    sweep_from=st.sampled_from([0, 4, None]),
)
def test_every_path_gives_the_rule_s_answer_on_a_national_mix(
    seed: int, policy: ClusterPolicy, sites: int, sweep_from: int | None
) -> None:
    """Sites over several cities and the country between, churned; calls anywhere."""
    rng = random.Random(seed)
    country = Country(rng, rng.sample(CITIES[:5], rng.randint(1, 5)))
    finder = (
        DuplicateFinder(policy)
        if sweep_from is None
        else DuplicateFinder(policy, sweep_from=sweep_from)
    )
    for index in range(sites):
        finder.open(country.open_site(index))
    assert_answers(finder, [country.call(index) for index in range(15)])
    churn(rng, country, finder, sites // 2)
    assert_lists_match(finder)
    assert_zones_match(finder)
    assert_rows_match(finder)
    assert_answers(finder, [country.call(100 + index) for index in range(15)])


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    city=st.sampled_from(CITIES),
    sites=st.integers(min_value=1, max_value=300),
)
def test_every_path_in_a_dense_city_and_by_the_edges(
    seed: int, city: tuple[float, float], sites: int
) -> None:
    """One city, most sites in a few spots: many members per zone; Hammerfest and Taveuni."""
    rng = random.Random(seed)
    country = Country(rng, [city])
    finder = DuplicateFinder()
    for index in range(sites):
        finder.open(country.open_site(index))
    churn(rng, country, finder, sites // 3)
    assert_lists_match(finder)
    assert_answers(finder, [country.call(index) for index in range(20)])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), sites=st.integers(1, 200))
def test_a_restored_finder_lists_its_members_again(seed: int, sites: int) -> None:
    """Snapshot and restore (pickled): the lists and rows are made again, answers the same."""
    rng = random.Random(seed)
    country = Country(rng, CITIES[:3])
    saved = DuplicateFinder()
    for index in range(sites):
        saved.open(country.open_site(index))
    churn(rng, country, saved, sites // 2)
    restored = DuplicateFinder()
    restored.open(country.open_site(10_000))  # replaced by the restore
    restored.restore(pickle.loads(pickle.dumps(saved.snapshot())))  # noqa: S301 - our own bytes
    assert_lists_match(restored)
    calls = [country.call(index) for index in range(10)]
    for call in calls:
        assert restored.candidates(call, 3) == saved.candidates(call, 3)
    assert_answers(restored, calls)


def test_longitudes_past_the_180th_meridian_share_zones_and_answer_the_same() -> None:
    """A longitude a full turn past ±180° numbers its zone as another place's: the zone's
    members are only a superset of those near a query, so no answer changes."""
    rng = random.Random(11)
    finder = DuplicateFinder()
    area = finder._area
    home = (41.0, 29.0)
    north = (home[0] + area.size, home[1])  # the next row of the coarse map's zones
    beyond = (home[0], home[1] + area.step * area.size)  # numbered as ``north``
    assert area.zone(*beyond) == area.zone(*north) != area.zone(*home)
    places = [home, north, beyond, (home[0], home[1] - 360.0)]
    for index in range(240):
        lat, lon = rng.choice(places)
        finder.open(
            OpenIncident(
                incident_id=f"inc-{index}",
                incident_type=rng.choice(TYPES),
                lat=lat + rng.gauss(0.0, 0.005),
                lon=lon + rng.gauss(0.0, 0.005),
                radius_m=rng.choice([10.0, 80.0, 600.0, 3_000.0]),
                opened_at=T0,
            )
        )
    assert_lists_match(finder)
    calls = [
        NewCall(
            call_id=f"c{index}",
            incident_type=rng.choice(TYPES),
            lat=lat + rng.gauss(0.0, 0.005),
            lon=lon + rng.gauss(0.0, 0.005),
            radius_m=rng.choice([None, 20.0, 1_500.0]),
            at=T0,
        )
        for index, (lat, lon) in enumerate(rng.choice(places) for _ in range(40))
    ]
    assert_answers(finder, calls)


def test_a_moment_beyond_exact_microseconds_turns_the_rows_off() -> None:
    """Rows hold microseconds as floats; a last activity beyond 2**53 µs (after 2255) would
    round, so the coarse map stops sweeping its rows, and answers stay the rule's."""
    rng = random.Random(5)
    country = Country(rng, CITIES[:1])
    finder = DuplicateFinder()
    for index in range(300):
        finder.open(country.open_site(index))
    before = finder._area.exact
    late = datetime(9000, 1, 1, tzinfo=UTC)
    far = replace(country.open_site(999), opened_at=late, incident_type=None)  # (indexed)
    finder.open(far)
    assert (before, finder._area.exact) == (True, False)
    calls = [country.call(index) for index in range(10)]
    calls.append(
        NewCall(call_id="late", incident_type=None, lat=far.lat, lon=far.lon, radius_m=2e3, at=late)
    )
    assert_answers(finder, calls)


def _loop_radius_class(policy: ClusterPolicy, radius_m: float) -> tuple[int, float, float]:
    """How the radius class was found before: doubling bounds from 25 m, one class past the cap."""
    floor, bound, level = 0.0, 25.0, 0
    while radius_m > bound:
        if bound >= policy.max_spread_m:
            return level + 1, bound, math.inf
        floor, bound, level = bound, bound * 2.0, level + 1
    return level, floor, bound


@pytest.mark.parametrize("policy", [*POLICIES, ClusterPolicy(max_spread_m=25.0)])
def test_radius_classes_are_the_doubling_loop_s(policy: ClusterPolicy) -> None:
    """Looked up among precomputed bounds: the class the loop found, at and around each bound."""
    rng = random.Random(3)
    radii = [0.0, -5.0, 1.0, math.inf, *(rng.uniform(0.0, 20_000.0) for _ in range(500))]
    bound = 25.0
    while bound < 10 * max(policy.max_spread_m, 25.0):
        radii += [bound, math.nextafter(bound, 0.0), math.nextafter(bound, math.inf)]
        bound *= 2.0
    finder = DuplicateFinder(policy)
    for radius in radii:
        found = finder._radius_class(radius)
        assert (found.level, found.floor_m, found.bound_m) == _loop_radius_class(policy, radius)
    nan = finder._radius_class(math.nan)
    assert (nan.level, nan.floor_m, nan.bound_m) == _loop_radius_class(policy, math.nan)
