"""The duplicate index gives exactly what scanning every open incident gives.

``DuplicateFinder.candidates`` searches shelves of incidents (by family, scene and radius
class) in grids of their own and stops early once no shelf can place; the reference here is
the plain rule: judge every open incident, sort by (score, distance, id), cut to the limit.
Mixes cover every incident type, site radii from 5 m to 10 km, dense clusters and scattered
sites, attached, merged and closed incidents, stale and fresh ones, and a few policies. Each
runs with shelves swept by arrays (``sweep_from=0``: every shelf; a low threshold: a mix of
swept and looped shelves) and looped as in production, and churn (open, attach, merge, retype,
close between queries) keeps the shelves' rows in step with their members.

A query searches only the shelves its tiers' zones show members near (``DuplicateFinder._near``);
the second reference is the search before zones, every compatible shelf in floor order
(``every_shelf``), and the zones' notes are checked against the members after churn,
withdrawals, reinstatements and restores.
"""

from __future__ import annotations

import math
import pickle
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.core import clustering
from dispatch.core.clustering import (
    ClusterPolicy,
    DuplicateCandidate,
    DuplicateFinder,
    NewCall,
    OpenIncident,
    compatible,
)
from dispatch.core.taxonomy import IncidentType

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
_M_PER_DEG = 6_371_008.8 * math.pi / 180.0
TYPES: list[IncidentType | None] = [*IncidentType, None]
# The types of sites a call may duplicate (not an information request): the indexed ones.
INDEXED_TYPES = [kind for kind in TYPES if any(compatible(call, kind) for call in TYPES)]
POLICIES = [
    ClusterPolicy(),
    ClusterPolicy(k=1.0, max_spread_m=500.0, min_site_radius_m=0.0),
    ClusterPolicy(k=3.0, max_spread_m=12_000.0, unknown_radius_m=2_500.0),
    ClusterPolicy(max_spread_m=10.0),
]
# Every shelf swept; a shelf swept from 4 members in the query's cells; the default.
SWEEPS: list[int | None] = [0, 4, None]
# Istanbul, Antakya, Hammerfest, Tierra del Fuego, a few kilometres from the north pole, Taveuni
# (Fiji: the square around it crosses the 180th meridian, whose far side no gate reaches).
CENTRES = [
    (41.01, 28.97),
    (36.2028, 36.1605),
    (70.66, 23.68),
    (-54.8, -68.3),
    (89.97, 10.0),
    (-16.85, 179.97),
]


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


def every_shelf(finder: DuplicateFinder, call: NewCall, limit: int) -> list[DuplicateCandidate]:
    """The search before zones: every shelf, in floor order, with the same ranking and stop."""
    if len(finder) == 0 or limit <= 0:
        return []
    welcome = clustering._COMPATIBLE_WITH[clustering._family(call.incident_type)]
    shelves = sorted(finder._shelves.values(), key=lambda shelf: shelf.radius.floor_m)
    return finder._ranked(call, finder._radius(call.radius_m), welcome, shelves, limit)


def assert_zones_match(finder: DuplicateFinder) -> None:
    """Each tier's zones, and the coarse map, count exactly the members in them, nothing else."""
    expected: dict[int, Counter[tuple[int, int]]] = {}
    coarse: Counter[tuple[int, int]] = Counter()
    tier_of = {id(tier): band for band, tier in finder._tiers.items()}
    for shelf in finder._shelves.values():
        zones = shelf.tier.zones
        counts = expected.setdefault(tier_of[id(shelf.tier)], Counter())
        for members in shelf.cells.values():
            for site in members.values():
                incident = site.incident
                assert site.zone == zones.zone(incident.lat, incident.lon)
                assert site.area == finder._area.zone(incident.lat, incident.lon)
                counts[site.zone, id(shelf)] += 1
                coarse[site.area, id(shelf)] += 1

    def held(zones: clustering._Zones) -> Counter[tuple[int, int]]:
        assert all(zones.members.values())  # an empty zone is dropped
        return Counter(
            (zone, id(shelf)) for zone, shelves in zones.members.items() for shelf in shelves
        )

    for band, tier in finder._tiers.items():
        assert held(tier.zones) == expected.get(band, Counter())
        for shelf in finder._shelves.values():
            if shelf.tier is tier:
                assert tier.base_m >= shelf_scene(shelf).base_radius_m
                assert tier.bound_m >= shelf.radius.bound_m
    assert held(finder._area) == coarse


def shelf_scene(shelf: clustering._Shelf) -> clustering.Scene:
    """The scene every member of a shelf has."""
    return clustering.scene(shelf.sample_type)


def assert_skipped_shelves_hold_nothing_near(finder: DuplicateFinder, call: NewCall) -> None:
    """A shelf the zones skip has no member in the box its own search would look at."""
    policy = finder._policy
    radius = finder._radius(call.radius_m)
    near = {id(shelf) for shelf in finder._near(call, radius)}
    for shelf in finder._shelves.values():
        if id(shelf) in near:
            continue
        pair = clustering._pair_scene(shelf.sample_type, call.incident_type)
        spread = min(math.hypot(radius, shelf.radius.bound_m), policy.max_spread_m)
        dlat = (pair.base_radius_m + policy.k * spread) / _M_PER_DEG * clustering._REACH_MARGIN
        dlon = dlat / math.cos(math.radians(min(abs(call.lat) + dlat, 90.0)))
        for members in shelf.cells.values():
            for site in members.values():
                incident = site.incident
                assert not (
                    call.lat - dlat <= incident.lat <= call.lat + dlat
                    and call.lon - dlon <= incident.lon <= call.lon + dlon
                )


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
    assert_zones_match(finder)
    for index in range(40):
        call = area.call(index)
        for limit in (1, 3, 1_000):
            expected = brute_force(finder, call, limit)
            assert finder.candidates(call, limit) == expected
            assert every_shelf(finder, call, limit) == expected
        assert finder.propose(call) == next(iter(brute_force(finder, call, 1)), None)
        assert_skipped_shelves_hold_nothing_near(finder, call)


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
    assert placed == sum(site.shelf is not None for site in finder._sites.values())


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
        assert_skipped_shelves_hold_nothing_near(finder, call)

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
        assert_zones_match(finder)
        check()
        if phase == 1:  # close most: crowded shelves compact
            for incident in finder.incidents()[: len(finder) * 9 // 10]:
                finder.close(incident.incident_id)
            assert_rows_match(finder)
            assert_zones_match(finder)
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
    assert_zones_match(restored)
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
    assert_zones_match(restored)
    assert_zones_match(saved)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    centre=st.sampled_from(CENTRES),
    policy=st.sampled_from(POLICIES),
    sites=st.integers(min_value=1, max_value=200),
)
def test_withdrawn_sites_leave_the_zones_and_come_back(
    seed: int, centre: tuple[float, float], policy: ClusterPolicy, sites: int
) -> None:
    """Withdraw some sites (as the desk does while a decision is pending), reinstate them.

    While out they are no candidates; back, they are again, and the zones count them as
    before (a withdrawn site that was attached to meanwhile keeps its old place).
    """
    rng = random.Random(seed)
    area = Area(rng, centre, spots=3)
    finder = DuplicateFinder(policy)
    build(rng, area, finder, sites)
    calls = [area.call(index) for index in range(15)]
    before = [finder.candidates(call, 1_000) for call in calls]
    chosen = [i.incident_id for i in finder.incidents() if rng.random() < 0.4]
    withdrawn = [site for i in chosen if (site := finder.withdraw(i)) is not None]
    assert len(withdrawn) == len(chosen)
    assert_zones_match(finder)
    for call in calls:
        found = finder.candidates(call, 1_000)
        assert found == brute_force(finder, call, 1_000)
        assert not {c.incident_id for c in found} & set(chosen)
        assert_skipped_shelves_hold_nothing_near(finder, call)
    for site in reversed(withdrawn):
        finder.reinstate(site)
    assert_zones_match(finder)
    assert_rows_match(finder)
    assert [finder.candidates(call, 1_000) for call in calls] == before


@pytest.mark.parametrize("side", [-1.0, 1.0])
@pytest.mark.parametrize("radius_m", [90.0, 300.0, 5_000.0])
def test_a_site_that_sharpens_across_a_zone_edge_moves_zone(side: float, radius_m: float) -> None:
    """An attached call moves a site a little over its zone's edge: the zones follow it.

    The site keeps its shelf and its shelf's cell (cells and zones have sizes of their own),
    so only its zone changes; the zones still match the members and a call just over the
    edge finds the site. Radii in each band of radius classes.
    """
    finder = DuplicateFinder()
    site = OpenIncident(
        incident_id="site",
        incident_type=IncidentType.CHEST_PAIN,
        lat=41.0,
        lon=29.0,
        radius_m=radius_m,
        opened_at=T0,
    )
    finder.open(site)
    zones = finder._shelves[finder._sites["site"].shelf].tier.zones  # type: ignore[index]
    edge = (math.floor(41.0 / zones.size) + 1) * zones.size  # where the next row of zones starts
    step = 0.4 / _M_PER_DEG * side
    finder.open(replace(site, lat=edge - step))
    placed = finder._sites["site"]
    shelf, cell, zone = placed.shelf, placed.cell, placed.zone
    pull = NewCall(
        call_id="pull",
        incident_type=IncidentType.CHEST_PAIN,
        lat=edge + 3 * step,
        lon=29.0,
        radius_m=radius_m,
        at=T0,
    )
    finder.attach("site", pull)  # the site moves half-way, to about edge + step
    moved = finder_incident(finder, "site")
    assert (moved.lat >= edge) == (side > 0)
    assert (placed.shelf, placed.cell) == (shelf, cell)
    assert placed.zone != zone
    assert_zones_match(finder)
    assert_rows_match(finder)
    call = replace(pull, call_id="c", lat=edge + 2 * step, incident_type=None, radius_m=5.0)
    found = finder.candidates(call, 3)
    assert found == brute_force(finder, call, 3)
    assert [candidate.incident_id for candidate in found] == ["site"]


RADII = [5.0, 25.0, 60.0, 100.0, 300.0, 1_000.0, 2_000.0, 3_000.0, 8_000.0]


@settings(max_examples=300, deadline=None)
@given(
    centre=st.sampled_from(CENTRES),
    policy=st.sampled_from(POLICIES),
    site_type=st.sampled_from(INDEXED_TYPES),
    call_type=st.sampled_from(TYPES),
    site_radius=st.sampled_from(RADII),
    call_radius=st.sampled_from([None, *RADII]),
    side=st.sampled_from(["north", "south", "east", "west"]),
)
def test_a_site_at_the_edge_of_a_search_box_over_a_zone_edge_is_near(
    *,
    centre: tuple[float, float],
    policy: ClusterPolicy,
    site_type: IncidentType | None,
    call_type: IncidentType | None,
    site_radius: float,
    call_radius: float | None,
    side: str,
) -> None:
    """The tightest case for the zones: a site just inside its shelf's search box for a call,
    just over the edge of a zone from the call, with no other site to widen the tier.

    Its shelf is among those searched, and the answer is the rule's.
    """
    finder = DuplicateFinder(policy)
    site = OpenIncident(
        incident_id="site",
        incident_type=site_type,
        lat=centre[0],
        lon=centre[1],
        radius_m=site_radius,
        opened_at=T0,
    )
    finder.open(site)
    shelf = finder._shelves[finder._sites["site"].shelf]  # type: ignore[index]
    size = shelf.tier.zones.size
    over = 1e-9 * size * (1.0 if side in {"north", "east"} else -1.0)
    if side in {"north", "south"}:
        site = replace(site, lat=(math.floor(centre[0] / size) + 1) * size + over)
    else:
        site = replace(site, lon=(math.floor(centre[1] / size) + 1) * size + over)
    finder.open(site)
    radius = finder._radius(call_radius)
    pair = clustering._pair_scene(shelf.sample_type, call_type)
    spread = min(math.hypot(radius, shelf.radius.bound_m), policy.max_spread_m)
    dlat = (pair.base_radius_m + policy.k * spread) / _M_PER_DEG * clustering._REACH_MARGIN
    inside = 1.0 - 1e-7
    lat, lon = site.lat, site.lon
    if side == "north":
        lat -= dlat * inside
    elif side == "south":
        lat += dlat * inside
    else:
        dlon = dlat / math.cos(math.radians(min(abs(lat) + dlat, 90.0)))
        lon += -dlon * inside if side == "east" else dlon * inside
    call = NewCall(
        call_id="c", incident_type=call_type, lat=lat, lon=lon, radius_m=call_radius, at=T0
    )
    assert shelf in finder._near(call, radius)
    for limit in (1, 3):
        assert finder.candidates(call, limit) == brute_force(finder, call, limit)


def test_an_information_request_is_kept_on_no_shelf_until_it_may_be_duplicated() -> None:
    """No call may duplicate an information request: its site is kept (counted, saved) but
    indexed nowhere. Classified as something else, it is placed and found like any site."""
    questions = [kind for kind in TYPES if kind not in INDEXED_TYPES]
    assert questions == [IncidentType.INFORMATION_REQUEST]
    finder = DuplicateFinder()
    asked = OpenIncident(
        incident_id="asked",
        incident_type=IncidentType.INFORMATION_REQUEST,
        lat=41.01,
        lon=28.97,
        radius_m=20.0,
        opened_at=T0,
    )
    finder.open(asked)
    assert len(finder) == 1
    assert finder.get("asked") == asked
    assert [saved.incident for saved in finder.snapshot()] == [asked]
    assert finder._shelves == {}
    assert finder._area.sites == {}
    assert_rows_match(finder)
    call = NewCall(call_id="c", incident_type=None, lat=41.01, lon=28.97, radius_m=20.0, at=T0)
    assert finder.candidates(call, 3) == brute_force(finder, call, 3) == []
    finder.open(replace(asked, incident_type=IncidentType.CARDIAC_ARREST))
    assert [found.incident_id for found in finder.candidates(call, 3)] == ["asked"]
    finder.open(asked)  # back to a question: off its shelf again
    assert finder.candidates(call, 3) == []
    assert sum(map(len, finder._area.sites.values())) == 0
