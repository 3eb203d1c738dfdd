"""Duplicate clustering: compatible types, uncertainty-grown gates, windows, the quake register."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.core.clustering import (
    ClusterPolicy,
    DuplicateFinder,
    NewCall,
    OpenIncident,
    TrappedReport,
    compatible,
    distance_m,
    gate_radius_m,
    trapped_register,
)
from dispatch.core.taxonomy import IncidentType

T = IncidentType
T0 = datetime(2023, 2, 6, 1, 17, 35, tzinfo=UTC)
# Antakya, Hatay: the old town by the Asi (Orontes).
ANTAKYA = (36.2028, 36.1605)
_M_PER_DEG = 6_371_008.8 * math.pi / 180.0


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A point some metres north and east of another."""
    return (
        lat + north_m / _M_PER_DEG,
        lon + east_m / (_M_PER_DEG * math.cos(math.radians(lat))),
    )


def incident(
    incident_id: str,
    incident_type: IncidentType | None,
    at: tuple[float, float],
    radius_m: float = 20.0,
    opened: datetime = T0,
) -> OpenIncident:
    return OpenIncident(
        incident_id=incident_id,
        incident_type=incident_type,
        lat=at[0],
        lon=at[1],
        radius_m=radius_m,
        opened_at=opened,
    )


def call(
    incident_type: IncidentType | None,
    at: tuple[float, float],
    radius_m: float | None = 20.0,
    when: datetime = T0 + timedelta(minutes=5),
    call_id: str = "c1",
) -> NewCall:
    return NewCall(
        call_id=call_id,
        incident_type=incident_type,
        lat=at[0],
        lon=at[1],
        radius_m=radius_m,
        at=when,
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (T.EARTHQUAKE_COLLAPSE, T.BUILDING_COLLAPSE, True),
        (T.EARTHQUAKE_COLLAPSE, T.BLEEDING_INJURY, True),
        (T.TRAFFIC_COLLISION, T.FIRE_VEHICLE, True),
        (T.TRAFFIC_COLLISION, T.UNCONSCIOUS, True),
        (T.FIRE_BUILDING, T.FIRE_OTHER, True),
        (T.FOREST_FIRE, T.FIRE_OTHER, True),
        (T.CRIME_PROPERTY, T.FIRE_BUILDING, False),
        (T.TRAFFIC_COLLISION, T.DOMESTIC_VIOLENCE, False),
        (T.FLOOD, T.CHEST_PAIN, True),
        (None, T.CRIME_WEAPON, True),
        (T.UNKNOWN, T.SEA_RESCUE, True),
        (T.INFORMATION_REQUEST, T.INFORMATION_REQUEST, False),
        (T.INFORMATION_REQUEST, None, False),
    ],
)
def test_compatible_types(a: IncidentType | None, b: IncidentType | None, expected: bool) -> None:
    """Types of one scene are compatible both ways; unknown with all; information with none."""
    assert compatible(a, b) is expected
    assert compatible(b, a) is expected


def test_gate_grows_with_both_uncertainties() -> None:
    """The gate is base + k·sqrt(r1² + r2²), capped, the base of the known type."""
    policy = ClusterPolicy(k=2.0, max_spread_m=1_000.0)
    assert gate_radius_m(T.EARTHQUAKE_COLLAPSE, None, 30.0, 40.0, policy) == 30.0 + 2.0 * 50.0
    assert gate_radius_m(T.FOREST_FIRE, T.FIRE_OTHER, 0.0, 0.0, policy) == 2_000.0
    assert gate_radius_m(T.CHEST_PAIN, T.CHEST_PAIN, 5_000.0, 5_000.0, policy) == 50.0 + 2_000.0


def test_nearby_compatible_call_is_proposed() -> None:
    """A collapse call 40 m from an open collapse site (radii 20 m) is its duplicate."""
    finder = DuplicateFinder()
    finder.open(incident("inc-1", T.EARTHQUAKE_COLLAPSE, ANTAKYA))
    proposal = finder.propose(call(T.BUILDING_COLLAPSE, offset(*ANTAKYA, 40.0, 0.0)))
    assert proposal is not None
    assert proposal.incident_id == "inc-1"
    assert proposal.distance_m == pytest.approx(40.0, rel=1e-3)


def test_uncertain_call_reaches_further() -> None:
    """The same call 150 m away is a duplicate with a 100 m radius, not with a 10 m radius."""
    finder = DuplicateFinder()
    finder.open(incident("inc-1", T.EARTHQUAKE_COLLAPSE, ANTAKYA, radius_m=10.0))
    far = offset(*ANTAKYA, 150.0, 0.0)
    assert finder.propose(call(T.EARTHQUAKE_COLLAPSE, far, radius_m=10.0)) is None
    assert finder.propose(call(T.EARTHQUAKE_COLLAPSE, far, radius_m=100.0)) is not None


def test_incompatible_or_stale_calls_are_not_duplicates() -> None:
    """A stray dog next to a heart attack, or a heart attack an hour later, is a new incident."""
    finder = DuplicateFinder()
    finder.open(incident("inc-1", T.CHEST_PAIN, ANTAKYA))
    assert finder.propose(call(T.ANIMAL, ANTAKYA)) is None
    late = T0 + timedelta(minutes=61)
    assert finder.propose(call(T.CHEST_PAIN, ANTAKYA, when=late)) is None
    assert finder.propose(call(None, ANTAKYA)) is not None


def test_precise_call_goes_to_its_own_building() -> None:
    """Between two sites 160 m apart, a precise call 40 m from B is B's, not vague A's."""
    a = ANTAKYA
    b = offset(*ANTAKYA, 0.0, 160.0)
    finder = DuplicateFinder()
    finder.open(incident("A", T.EARTHQUAKE_COLLAPSE, a, radius_m=100.0))
    finder.open(incident("B", T.EARTHQUAKE_COLLAPSE, b, radius_m=15.0))
    candidates = finder.candidates(call(T.EARTHQUAKE_COLLAPSE, offset(*b, 0.0, -40.0), 15.0))
    assert [c.incident_id for c in candidates] == ["B", "A"]


def test_attaching_calls_sharpens_the_site() -> None:
    """A vague first position moves to the weighted mean as precise calls arrive."""
    truth = ANTAKYA
    finder = DuplicateFinder()
    finder.open(incident("inc-1", T.EARTHQUAKE_COLLAPSE, offset(*truth, 80.0, 0.0), 100.0))
    for index in range(5):
        finder.attach(
            "inc-1",
            call(T.EARTHQUAKE_COLLAPSE, offset(*truth, 0.0, 0.0), 10.0, call_id=f"c{index}"),
        )
    site = finder.get("inc-1")
    assert site is not None
    assert distance_m(site.lat, site.lon, *truth) < 2.0
    assert site.radius_m == pytest.approx(10.0)  # floored at the site minimum
    assert site.calls == 6
    assert site.last_call_at == T0 + timedelta(minutes=5)


def test_merge_and_close() -> None:
    """Merging folds positions and counts; closed and merged-away incidents are never proposed."""
    finder = DuplicateFinder()
    finder.open(incident("A", T.EARTHQUAKE_COLLAPSE, ANTAKYA))
    finder.open(incident("B", T.EARTHQUAKE_COLLAPSE, offset(*ANTAKYA, 20.0, 0.0)))
    kept = finder.merge("A", "B")
    assert kept.calls == 2
    assert distance_m(kept.lat, kept.lon, *offset(*ANTAKYA, 10.0, 0.0)) < 0.5
    assert "B" not in finder
    assert len(finder) == 1
    finder.close("A")
    finder.close("never-opened")
    assert finder.propose(call(T.EARTHQUAKE_COLLAPSE, ANTAKYA)) is None


def test_sites_far_apart_use_the_index() -> None:
    """Thousands of open incidents across a province: only the nearby one is proposed."""
    rng = random.Random(7)
    finder = DuplicateFinder()
    for index in range(3_000):
        where = offset(*ANTAKYA, rng.uniform(-40e3, 40e3), rng.uniform(-40e3, 40e3))
        finder.open(incident(f"far-{index}", T.CHEST_PAIN, where))
    target = offset(*ANTAKYA, 50e3, 50e3)
    finder.open(incident("near", T.CHEST_PAIN, target))
    proposal = finder.propose(call(T.CHEST_PAIN, offset(*target, 10.0, 10.0)))
    assert proposal is not None
    assert proposal.incident_id == "near"


def test_trapped_register() -> None:
    """Per site: the largest current count, the sum, and a caller's update replaces theirs."""
    at = T0 + timedelta(minutes=10)
    register = trapped_register(
        [
            TrappedReport(incident_id="A", call_id="c1", trapped=3, at=at),
            TrappedReport(incident_id="A", call_id="c2", trapped=5, at=at),
            TrappedReport(incident_id="A", call_id="c1", trapped=6, at=at + timedelta(minutes=1)),
            TrappedReport(incident_id="A", call_id="c1", trapped=1, at=at - timedelta(minutes=1)),
            TrappedReport(incident_id="B", call_id="c3", trapped=0, at=at),
        ]
    )
    assert register["A"].estimate == 6
    assert register["A"].reported_sum == 11
    assert register["A"].reports == 2
    assert register["A"].last_report_at == at + timedelta(minutes=1)
    assert register["B"].estimate == 0
    with pytest.raises(ValueError, match="negative"):
        trapped_register([TrappedReport(incident_id="A", call_id="c", trapped=-1, at=at)])


# --- The scripted earthquake -------------------------------------------------------------

N_BUILDINGS = 12
N_CALLS = 2_000
# AML's rd at 68 % confidence: for a circular normal error, P(d <= r) = 0.68 at r = 1.5096 σ.
R68_PER_SIGMA = math.sqrt(-2.0 * math.log(1.0 - 0.68))


def earthquake(seed: int) -> tuple[list[tuple[float, float]], list[tuple[int, NewCall, int]]]:
    """12 collapsed buildings in Antakya and 2,000 noisy calls about them over two hours.

    Buildings lie within 1.5 km of the old town, at least 150 m apart, two of them exactly
    160 m apart. Each call has an AML-like radius between 10 and 100 m (log-uniform) and a
    position drawn around its building with that radius at 68 % confidence. Types are what
    a classifier would say: mostly collapse, some injury, some unknown.
    """
    rng = random.Random(seed)
    sites = [ANTAKYA, offset(*ANTAKYA, 0.0, 160.0)]
    while len(sites) < N_BUILDINGS:
        reach, angle = 1_500.0 * math.sqrt(rng.random()), rng.uniform(0.0, 2.0 * math.pi)
        where = offset(*ANTAKYA, reach * math.cos(angle), reach * math.sin(angle))
        if all(distance_m(*where, *site) >= 150.0 for site in sites):
            sites.append(where)
    popularity = [1.0 / (rank + 1) ** 0.8 for rank in range(N_BUILDINGS)]
    rng.shuffle(popularity)
    trapped_truth = [rng.randint(0, 12) for _ in range(N_BUILDINGS)]
    types = [T.EARTHQUAKE_COLLAPSE, T.BUILDING_COLLAPSE, None, T.BLEEDING_INJURY]
    calls: list[tuple[int, NewCall, int]] = []
    for index in range(N_CALLS):
        building = rng.choices(range(N_BUILDINGS), popularity)[0]
        radius = math.exp(rng.uniform(math.log(10.0), math.log(100.0)))
        sigma = radius / R68_PER_SIGMA
        position = offset(*sites[building], rng.gauss(0.0, sigma), rng.gauss(0.0, sigma))
        new = NewCall(
            call_id=f"call-{index}",
            incident_type=rng.choices(types, [70, 10, 10, 10])[0],
            lat=position[0],
            lon=position[1],
            radius_m=radius,
            at=T0 + timedelta(seconds=rng.uniform(0.0, 7_200.0)),
        )
        reported = max(0, trapped_truth[building] + rng.choice([-1, 0, 0, 0, 1]))
        calls.append((building, new, reported))
    calls.sort(key=lambda item: item[1].at)
    return sites, calls


def cluster(
    calls: list[tuple[int, NewCall, int]], policy: ClusterPolicy
) -> tuple[list[tuple[int, str]], DuplicateFinder, list[TrappedReport]]:
    """What a call-taker accepting every proposal would do: attach, or open a new incident."""
    finder = DuplicateFinder(policy)
    assigned: list[tuple[int, str]] = []
    reports: list[TrappedReport] = []
    for building, new, reported in calls:
        proposal = finder.propose(new)
        if proposal is None:
            incident_id = f"inc-{len(finder) + 1}-{new.call_id}"
            finder.open(
                OpenIncident(
                    incident_id=incident_id,
                    incident_type=new.incident_type,
                    lat=new.lat,
                    lon=new.lon,
                    radius_m=new.radius_m or 100.0,
                    opened_at=new.at,
                )
            )
        else:
            incident_id = proposal.incident_id
            finder.attach(incident_id, new)
        assigned.append((building, incident_id))
        reports.append(
            TrappedReport(incident_id=incident_id, call_id=new.call_id, trapped=reported, at=new.at)
        )
    return assigned, finder, reports


def pairwise(assigned: list[tuple[int, str]]) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering against the true buildings."""

    def pairs(counts: Counter[object]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    together = pairs(Counter(assigned))
    predicted = pairs(Counter(incident_id for _, incident_id in assigned))
    true = pairs(Counter(building for building, _ in assigned))
    return together / predicted, together / true


def test_earthquake_calls_collapse_to_the_buildings() -> None:
    """2,000 calls about 12 collapsed buildings become 12 incidents, pairwise P and R >= 0.95."""
    sites, calls = earthquake(seed=20230206)
    nearest = min(distance_m(*a, *b) for i, a in enumerate(sites) for b in sites[i + 1 :])
    farthest = max(distance_m(*a, *b) for i, a in enumerate(sites) for b in sites[i + 1 :])
    assert 150.0 <= nearest <= 200.0
    assert farthest <= 3_000.0

    assigned, finder, reports = cluster(calls, ClusterPolicy())
    precision, recall = pairwise(assigned)
    print(
        f"\nearthquake: {N_CALLS} calls, {N_BUILDINGS} buildings (nearest pair {nearest:.0f} m)"
        f" -> {len(finder)} incidents; pairwise precision {precision:.4f}, recall {recall:.4f}"
    )
    assert len(finder) == N_BUILDINGS
    assert precision >= 0.95
    assert recall >= 0.95

    # Every site's fused position is within a few metres of its building.
    for site in finder.incidents():
        assert min(distance_m(site.lat, site.lon, *where) for where in sites) < 10.0

    register = trapped_register(reports)
    assert len(register) == N_BUILDINGS
    assert sum(line.reports for line in register.values()) == N_CALLS


def test_ignoring_uncertainty_fails_the_same_earthquake() -> None:
    """With k = 0 (a fixed radius, blind to AML's rd) the thresholds above are not met."""
    _, calls = earthquake(seed=20230206)
    assigned, finder, _ = cluster(calls, ClusterPolicy(k=0.0))
    precision, recall = pairwise(assigned)
    print(f"\nk=0: {len(finder)} incidents; precision {precision:.4f}, recall {recall:.4f}")
    assert len(finder) > 2 * N_BUILDINGS
    assert recall < 0.95


def test_one_big_radius_fails_the_same_earthquake() -> None:
    """With a 1 km scene radius the buildings run together: precision falls below 0.95."""
    _, calls = earthquake(seed=20230206)
    finder_policy = ClusterPolicy(k=20.0, max_spread_m=100_000.0)
    assigned, _, _ = cluster(calls, finder_policy)
    precision, _ = pairwise(assigned)
    assert precision < 0.95
