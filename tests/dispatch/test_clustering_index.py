"""The duplicate index gives exactly what scanning every open incident gives.

``DuplicateFinder.candidates`` searches shelves of incidents (by family, scene and radius
class) in grids of their own and stops early once no shelf can place; the reference here is
the plain rule: judge every open incident, sort by (score, distance, id), cut to the limit.
Mixes cover every incident type, site radii from 5 m to 10 km, dense clusters and scattered
sites, attached, merged and closed incidents, stale and fresh ones, and a few policies. Each
runs with shelves swept by arrays (``sweep_from=0``: every shelf; a low threshold: a mix of
swept and looped shelves) and looped as in production, and churn (open, attach, merge, retype,
close between queries) keeps the shelves' rows in step with their members.
"""

from __future__ import annotations

import math
import pickle
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
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
# Every shelf swept; a shelf swept from 4 members in the query's cells; the default.
SWEEPS: list[int | None] = [0, 4, None]
# Istanbul, Antakya, Hammerfest, Tierra del Fuego, a few kilometres from the north pole.
CENTRES = [(41.01, 28.97), (36.2028, 36.1605), (70.66, 23.68), (-54.8, -68.3), (89.97, 10.0)]


def finder_for(policy: ClusterPolicy, sweep_from: int | None) -> DuplicateFinder:
    """A finder with the given sweep threshold (``None``: the default)."""
    if sweep_from is None:
        return DuplicateFinder(policy)
    return DuplicateFinder(policy, sweep_from=sweep_from)


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

    def site(
        self, incident_id: str, kind: IncidentType | None, radius_m: float, age: timedelta
    ) -> OpenIncident:
        """An incident opened ``age`` before T0 at a position of the mix."""
        lat, lon = self.position()
        return OpenIncident(
            incident_id=incident_id,
            incident_type=kind,
            lat=lat,
            lon=lon,
            radius_m=radius_m,
            opened_at=T0 - age,
        )

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
        kind = rng.choice(TYPES)
        radius = area.radius()
        age = timedelta(minutes=rng.expovariate(1.0 / 120.0))
        finder.open(area.site(f"inc-{index}", kind, radius, age))
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
    sweep_from=st.sampled_from(SWEEPS),
)
def test_candidates_equal_the_brute_force_scan(
    *,
    seed: int,
    centre: tuple[float, float],
    policy: ClusterPolicy,
    sites: int,
    spots: int,
    sweep_from: int | None,
) -> None:
    """For every call and limit, the index returns the reference's list exactly."""
    rng = random.Random(seed)
    area = Area(rng, centre, spots)
    finder = finder_for(policy, sweep_from)
    build(rng, area, finder, sites)
    for index in range(40):
        call = area.call(index)
        for limit in (1, 3, 1_000):
            assert finder.candidates(call, limit) == brute_force(finder, call, limit)
        assert finder.propose(call) == next(iter(brute_force(finder, call, 1)), None)


@pytest.mark.parametrize("sweep_from", SWEEPS)
def test_dense_surge_with_forest_fires_and_vague_sites(sweep_from: int | None) -> None:
    """A city surge: 3,000 sites, a few forest fires and kilometre radii, calls in the crowd."""
    rng = random.Random(112)
    area = Area(rng, CENTRES[0], spots=8)
    finder = finder_for(ClusterPolicy(), sweep_from)
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
        assert finder.propose(call) == next(iter(expected), None)
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


def assert_rows_match(finder: DuplicateFinder) -> None:
    """Every shelf's rows hold exactly its members, with their current values; free rows none."""
    placed = 0
    for shelf in finder._shelves.values():
        members = {id(site) for group in shelf.cells.values() for site in group.values()}
        live = [slot for slot, site in enumerate(shelf.sites) if site is not None]
        assert sorted(shelf.free) == [s for s, x in enumerate(shelf.sites) if x is None]
        assert {id(shelf.sites[slot]) for slot in live} == members
        assert len(live) == len(members)
        placed += len(live)
        for slot in shelf.free:
            assert math.isnan(shelf.lat[slot])
        for slot in live:
            site = shelf.sites[slot]
            assert site is not None
            assert site.slot == slot
            incident = site.incident
            assert shelf.lat[slot] == incident.lat
            assert shelf.lon[slot] == incident.lon
            assert shelf.radius_m[slot] == incident.radius_m
            moment = incident.last_activity
            assert shelf.last_us[slot] == (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
                microseconds=1
            )
    assert placed == len(finder)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    policy=st.sampled_from(POLICIES),
    sweep_from=st.sampled_from([0, 4]),
    kinds=st.integers(min_value=1, max_value=4),
)
def test_churn_between_queries_keeps_rows_in_step(
    seed: int, policy: ClusterPolicy, sweep_from: int, kinds: int
) -> None:
    """Open, attach, merge, retype and close between queries: the sweep stays exact.

    Few types and radii close to one another crowd a few shelves, so rows are freed, reused
    and compacted (most of a crowded shelf closes, then it fills again).
    """
    rng = random.Random(seed)
    area = Area(rng, CENTRES[0], spots=2)
    types = rng.sample(TYPES, kinds)
    finder = DuplicateFinder(policy, sweep_from=sweep_from)
    istanbul = timezone(timedelta(hours=3))
    serial = 0

    def open_one() -> None:
        nonlocal serial
        kind = rng.choice(types)
        radius = rng.choice([8.0, 20.0, 40.0, rng.uniform(5.0, 3_000.0)])
        age = timedelta(minutes=rng.uniform(0.0, 90.0))
        finder.open(area.site(f"inc-{serial}", kind, radius, age))
        serial += 1

    def check() -> None:
        call = area.call(serial)
        if rng.random() < 0.3:  # the same moment in another offset
            call = replace(call, at=call.at.astimezone(istanbul))
        for limit in (1, 3, 1_000):
            assert finder.candidates(call, limit) == brute_force(finder, call, limit)

    for phase in range(3):
        for _ in range(rng.randint(80, 160)):
            open_one()
        check()
        for step in range(rng.randint(50, 200)):
            open_ids = [incident.incident_id for incident in finder.incidents()]
            if len(open_ids) < 2:
                open_one()
                continue
            target = rng.choice(open_ids)
            action = rng.random()
            if action < 0.35:
                finder.attach(target, replace(area.call(step), incident_type=rng.choice(types)))
            elif action < 0.45:
                finder.merge(target, rng.choice([i for i in open_ids if i != target]))
            elif action < 0.55:
                current = finder.get(target)
                assert current is not None
                finder.open(replace(current, incident_type=rng.choice(types)))
            else:
                finder.close(target)
            if step % 25 == 0:
                check()
        assert_rows_match(finder)
        check()
        if phase == 1:  # close most: crowded shelves compact
            for incident in finder.incidents()[: len(finder) * 9 // 10]:
                finder.close(incident.incident_id)
            assert_rows_match(finder)
            check()


def test_a_crowded_shelf_compacts_and_reuses_rows() -> None:
    """Closing most of one shelf shrinks its rows; opening again reuses free rows first."""
    finder = DuplicateFinder(sweep_from=0)
    for index in range(400):
        finder.open(
            OpenIncident(
                incident_id=f"inc-{index}",
                incident_type=IncidentType.CHEST_PAIN,
                lat=41.0 + index * 1e-5,
                lon=29.0,
                radius_m=10.0,
                opened_at=T0,
            )
        )
    (shelf,) = finder._shelves.values()
    assert len(shelf.sites) == 400
    for index in range(0, 400, 2):
        finder.close(f"inc-{index}")
    assert len(shelf.sites) == 400  # half free: not yet compacted
    for index in range(1, 400, 4):
        finder.close(f"inc-{index}")
    assert len(shelf.sites) == 400  # three quarters free: not yet
    assert_rows_match(finder)
    finder.close("inc-399")
    assert len(shelf.sites) == 99  # compacted to the live rows
    assert shelf.free == []
    assert_rows_match(finder)
    finder.close("inc-3")
    finder.open(replace(finder_incident(finder, "inc-7"), incident_id="inc-new"))
    assert len(shelf.sites) == 99  # the freed row was reused
    assert_rows_match(finder)
    call = NewCall(call_id="c", incident_type=None, lat=41.001, lon=29.0, radius_m=30.0, at=T0)
    for limit in (1, 3, 1_000):
        assert finder.candidates(call, limit) == brute_force(finder, call, limit)


def finder_incident(finder: DuplicateFinder, incident_id: str) -> OpenIncident:
    incident = finder.get(incident_id)
    assert incident is not None
    return incident


def test_naive_times_give_the_rule_s_answer() -> None:
    """Naive times throughout (read as one clock) give the same answer swept and looped."""
    rng = random.Random(3)
    area = Area(rng, CENTRES[0], spots=3)
    swept, looped = DuplicateFinder(sweep_from=0), DuplicateFinder(sweep_from=10**9)
    naive = T0.replace(tzinfo=None)
    for index in range(300):
        kind, radius = rng.choice(TYPES), area.radius()
        age = timedelta(minutes=rng.uniform(0.0, 240.0))
        incident = area.site(f"inc-{index}", kind, radius, age)
        incident = replace(incident, opened_at=incident.opened_at.replace(tzinfo=None))
        swept.open(incident)
        looped.open(incident)
    for index in range(60):
        call = replace(area.call(index), at=naive + timedelta(minutes=rng.uniform(-30.0, 30.0)))
        assert swept.candidates(call, 1_000) == looped.candidates(call, 1_000)
        assert swept.candidates(call, 1_000) == brute_force(swept, call, 1_000)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(POLICIES),
    st.sampled_from(SWEEPS),
    st.integers(0, 200),
)
def test_a_restored_finder_answers_and_sharpens_as_the_saved_one(
    seed: int, policy: ClusterPolicy, sweep_from: int | None, sites: int
) -> None:
    """Snapshot (pickled), restore into a fresh finder, churn both alike: identical throughout.

    The same sites with the same sums in the same order, the same candidates (the rule's),
    and rows in step with the members on the restored finder's new shelves.
    """
    rng = random.Random(seed)
    area = Area(rng, CENTRES[0], spots=3)
    saved = finder_for(policy, sweep_from)
    build(rng, area, saved, sites)
    restored = finder_for(policy, sweep_from)
    restored.open(area.site("stale", None, 50.0, timedelta(0)))  # replaced by the restore
    restored.restore(pickle.loads(pickle.dumps(saved.snapshot())))  # noqa: S301 - our own bytes
    assert restored.snapshot() == saved.snapshot()
    assert_rows_match(restored)
    serial = 0
    for step in range(120):
        open_ids = [incident.incident_id for incident in saved.incidents()]
        action = rng.random()
        if len(open_ids) < 2 or action < 0.2:
            site = area.site(f"new-{serial}", rng.choice(TYPES), area.radius(), timedelta(0))
            serial += 1
            for finder in (saved, restored):
                finder.open(site)
            continue
        target = rng.choice(open_ids)
        if action < 0.6:
            call = area.call(step)
            for finder in (saved, restored):
                finder.attach(target, call)
        elif action < 0.7:
            other = rng.choice([i for i in open_ids if i != target])
            for finder in (saved, restored):
                finder.merge(target, other)
        else:
            for finder in (saved, restored):
                finder.close(target)
        if step % 10 == 0:
            call = area.call(10_000 + step)
            for limit in (1, 3, 1_000):
                assert restored.candidates(call, limit) == saved.candidates(call, limit)
                assert restored.candidates(call, limit) == brute_force(restored, call, limit)
    assert restored.snapshot() == saved.snapshot()
    assert restored.incidents() == saved.incidents()
    assert_rows_match(restored)
