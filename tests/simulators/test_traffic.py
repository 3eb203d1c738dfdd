"""The pure generators: population weighting, the mix, the rhythm, foreign callers, eCalls."""

from __future__ import annotations

from collections import Counter

import pytest

from ecall.msd import decode_msd
from simulators import geography
from simulators.msd import encode_for
from simulators.scenario import Earthquake, Scenario
from simulators.traffic import AGENCY_CALLS_2021, CallSpec, Disposition, TrafficModel, rhythm


def _calls(scenario: Scenario, n: int) -> list[CallSpec]:
    model = TrafficModel(scenario, run_id="t")
    return [model.normal_call(0.0) for _ in range(n)]


def test_provinces_table_matches_tuik_2025_total() -> None:
    """The bundled table holds all 81 provinces and TÜİK's 2025 total of 86,092,168."""
    provinces = geography.provinces()
    assert [p.plate for p in provinces] == list(range(1, 82))
    assert sum(p.population for p in provinces) == 86_092_168
    assert geography.province(34).name == "İstanbul"


def test_calls_are_weighted_by_province_population() -> None:
    """Over 40,000 calls each large province's share is within 12 % of its population share."""
    calls = _calls(Scenario(name="w", seed=7), 40_000)
    counts = Counter(c.plate for c in calls)
    total_pop = sum(p.population for p in geography.provinces())
    for province in geography.provinces():
        expected = province.population / total_pop
        if expected < 0.02:
            continue
        observed = counts[province.plate] / len(calls)
        assert observed == pytest.approx(expected, rel=0.12), province.name
    assert counts[34] > 5 * counts[35] / 2  # İstanbul far ahead of İzmir


def test_mix_follows_the_2024_2025_shares() -> None:
    """Phone calls are about 38 % legitimate, 29 % false and 34 % hung up."""
    scenario = Scenario(name="m", seed=3)
    scenario = scenario.model_copy(
        update={"channels": scenario.channels.model_copy(update={"ecall": 0.0, "panic_app": 0.0})}
    )
    calls = _calls(scenario, 20_000)
    shares = Counter(c.disposition for c in calls)
    assert shares[Disposition.LEGITIMATE] / 20_000 == pytest.approx(0.376, abs=0.015)
    assert shares[Disposition.FALSE] / 20_000 == pytest.approx(0.288, abs=0.015)
    assert shares[Disposition.HUNG_UP] / 20_000 == pytest.approx(0.336, abs=0.015)
    hung_up = [c for c in calls if c.disposition is Disposition.HUNG_UP]
    assert all(c.text is None and c.unfounded_reason == "hung_up" for c in hung_up)


def test_agencies_follow_the_2021_shares() -> None:
    """Legitimate calls go to health and police most, then gendarmerie and fire."""
    calls = _calls(Scenario(name="a", seed=5), 30_000)
    agencies = Counter(c.agency for c in calls if c.disposition is Disposition.LEGITIMATE)
    legit = sum(agencies.values())
    total = sum(AGENCY_CALLS_2021.values())
    assert agencies["health"] / legit == pytest.approx(18.64 / total, abs=0.03)
    assert agencies["police"] / legit == pytest.approx(17.70 / total, abs=0.03)
    assert agencies["health"] > agencies["gendarmerie"] > agencies["forest"]


def test_daily_rhythm_peaks_in_the_evening_and_dips_at_four() -> None:
    """The rhythm averages 1 over a day, is lowest near 04:00 and highest in the evening."""
    samples = [rhythm(h / 10) for h in range(240)]
    assert sum(samples) / len(samples) == pytest.approx(1.0, abs=0.01)
    lowest = min(range(240), key=lambda i: samples[i]) / 10
    highest = max(range(240), key=lambda i: samples[i]) / 10
    assert 3.0 <= lowest <= 5.0
    assert 18.0 <= highest <= 22.0
    assert rhythm(20.0) > 3 * rhythm(4.0)


def test_arrivals_follow_the_rate() -> None:
    """A 100x day at 18:00 offers about 3.1 x 100 x rhythm(18) calls a second."""
    model = TrafficModel(Scenario(name="r", speed=100, start_hour=18.0), run_id="r")
    count = sum(1 for _ in model.arrivals(0.0, 20.0))
    expected = 20.0 * model.rate(10.0)
    assert count == pytest.approx(expected, rel=0.05)


def test_foreign_callers_concentrate_in_antalya() -> None:
    """Antalya callers speak a foreign language far more often than elsewhere."""
    model = TrafficModel(Scenario(name="f", seed=9), run_id="f")
    antalya = Counter(model._language(7) for _ in range(20_000))
    konya = Counter(model._language(42) for _ in range(20_000))
    assert antalya["tr"] < 20_000 * 0.99
    assert 20_000 - antalya["tr"] > 20 * (20_000 - konya["tr"] + 1) / 2
    assert antalya["en"] > antalya["ru"] > antalya["de"]


def test_earthquake_surges_tenfold_around_few_buildings() -> None:
    """After the shock the rate jumps tenfold+ and most calls are about the few buildings."""
    quake = Earthquake(plate=46, at_s=10.0, multiplier=15.0, ramp_s=5.0, buildings=4)
    model = TrafficModel(Scenario(name="q", earthquake=quake), run_id="q")
    assert model.rate(20.0) >= 10 * model.rate(0.0)
    calls = [model.call_at(20.0) for _ in range(3000)]
    about = Counter(c.building for c in calls if c.building is not None)
    assert len(about) == 4
    assert sum(about.values()) / len(calls) > 0.55
    building = model.buildings[0]
    near = [c.location for c in calls if c.building == 0 and c.location is not None]
    far = [geography.distance_m((p.lat, p.lon), (building.lat, building.lon)) for p in near]
    assert sorted(far)[len(far) // 2] < 400  # noisy, but around the building


def test_ecall_msd_round_trips_with_the_position() -> None:
    """A simulated eCall's MSD decodes back to its VIN, test flag and position."""
    model = TrafficModel(Scenario(name="e"), run_id="e")
    spec = model._ecall(0.0)
    assert spec.vehicle is not None
    assert spec.location is not None
    msd = decode_msd(encode_for(spec, timestamp=1_700_000_000))
    assert msd.vin == spec.vehicle.vin
    assert msd.test_call == spec.vehicle.test_call
    assert msd.latitude_deg == pytest.approx(spec.location.lat, abs=1e-6)


def test_same_seed_same_traffic() -> None:
    """Two models with the same seed generate the same calls."""
    first = _calls(Scenario(name="s", seed=11), 50)
    second = _calls(Scenario(name="s", seed=11), 50)
    assert [c.body() for c in first] == [c.body() for c in second]


def test_a_rerun_crashes_other_cars() -> None:
    """Same seed: the same crashes, by other vehicles in another run (a rerun's MSDs are
    new ones, not resends of the last run's); the same run id gives the same vehicles."""

    def vins(run_id: str) -> list[str]:
        model = TrafficModel(Scenario(name="v", seed=11), run_id=run_id)
        crashes = [model._ecall(float(t)) for t in range(20)]
        assert all(c.vehicle is not None for c in crashes)
        return [c.vehicle.vin for c in crashes if c.vehicle is not None]

    first, again, other = vins("run-a"), vins("run-a"), vins("run-b")
    assert first == again
    assert not set(first) & set(other)


def test_generators_sharing_a_scenario_draw_their_own_calls() -> None:
    """Each stream of one scenario is reproducible and differs from the others; stream 0
    is what the scenario's seed alone draws, and a negative stream is refused."""

    def places(specs: list[CallSpec]) -> list[tuple[float, float]]:
        return [(s.location.lat, s.location.lon) for s in specs if s.location is not None]

    def calls(stream: int) -> list[tuple[float, float]]:
        model = TrafficModel(Scenario(name="w", seed=5), run_id="w", stream=stream)
        return places([model.normal_call(0.0) for _ in range(40)])

    assert calls(0) == places(_calls(Scenario(name="w", seed=5), 40))
    assert len(calls(1)) > 30
    assert calls(1) == calls(1)
    assert not set(calls(0)) & set(calls(1))
    assert not set(calls(1)) & set(calls(2))
    with pytest.raises(ValueError, match="stream"):
        TrafficModel(Scenario(name="w"), run_id="w", stream=-1)
