"""Situation reports: content, period rules, escaping, the SVG map, on demand and scheduled."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from dispatch.app.composition import compose
from dispatch.model.events import CallReceived, IncidentOpened
from dispatch.model.values import Placement
from dispatch.model.vocabulary import Agency, IncidentStatus
from gamer_coordination.adapters.http import RUNTIME
from gamer_coordination.errors import InvalidPeriod
from gamer_coordination.projections import Coordination
from gamer_coordination.sitrep import build_report, render_html, svg_map
from routing.layout import DEFAULT_DATA_DIR
from tests.gamer_coordination.conftest import GAMER, artifact, gamer_settings, post_call
from tests.gamer_coordination.events import T0, Log, seconds

DAY = timedelta(days=1)


def _state(log: Log) -> Coordination:
    projection = Coordination()
    projection.apply(log.records)
    return projection


def _provinces() -> dict[str, object]:
    data: dict[str, object] = orjson.loads((DEFAULT_DATA_DIR / "provinces.geojson").read_bytes())
    return data


def _day() -> Log:
    log = Log()
    log.unit("amb-1", 80)
    for number in range(4):
        log.call(number, 80, T0 + seconds(number))
        log.answer(number, 80, T0 + seconds(number + 8))
    log.classify(0, 80, "disaster.earthquake_collapse", (Agency.AFAD, Agency.HEALTH))
    log.dispatch("amb-1", 0, 80, T0 + seconds(50))
    for number in (1, 2):
        log.status(number, 80, IncidentStatus.NEW, IncidentStatus.MERGED, merged_into="inc-0")
        log.attach(number, 0, 80)
    log.call(9, 34, T0 + seconds(5))
    log.call(10, 34, T0 - 2 * DAY)
    return log


def test_a_province_report_counts_times_and_busiest() -> None:
    """Osmaniye's day: merged calls count once in the busiest incident; times meet standards.

    Every answered call counts once, in the incident it belongs to (the merged calls in
    the one they joined), as on the dashboard.
    """
    state = _state(_day())
    report = build_report(
        state.summaries(), plate=80, start=T0 - DAY, end=T0 + DAY, generated_at=T0
    )
    assert report.incidents == 4
    assert report.calls == 4
    assert report.by_status == {"merged": 2, "classified": 1, "new": 1}
    assert report.by_type == {"disaster.earthquake_collapse": 1, "unclassified": 1}
    assert report.by_agency == {"afad": 1, "health": 1}
    assert report.busiest[0].incident_id == "inc-0"
    assert report.busiest[0].calls == 3
    assert report.answer["count"] == 4
    assert report.answer["p90_s"] == 8
    assert report.dispatch["count"] == 1
    assert report.dispatch["p50_s"] == 42
    assert report.dispatch["standards"][0]["met"] is True


def test_the_national_report_covers_every_province_in_the_period() -> None:
    """The country's report counts İstanbul and Osmaniye, and leaves out the older call."""
    state = _state(_day())
    report = build_report(
        state.summaries(), plate=None, start=T0 - DAY, end=T0 + DAY, generated_at=T0
    )
    assert report.by_province == {34: 1, 80: 2}
    assert report.incidents == 5


def test_bad_periods_are_refused() -> None:
    """Reversed, empty, naive or longer than 31 days: InvalidPeriod with a reason."""
    state = _state(_day())
    for start, end in ((T0, T0), (T0, T0 - DAY), (T0, T0 + 40 * DAY)):
        with pytest.raises(InvalidPeriod):
            build_report(state.summaries(), plate=None, start=start, end=end, generated_at=T0)
    naive = T0.replace(tzinfo=None)
    with pytest.raises(InvalidPeriod, match="offset"):
        build_report(state.summaries(), plate=None, start=naive, end=T0, generated_at=T0)


def test_the_page_escapes_every_value_and_has_no_script() -> None:
    """A place name with markup is shown as text; the page carries no script at all."""
    log = Log()
    hostile = Placement(
        in_service_area=True,
        at_sea=False,
        plate=6,
        province="<script>x()</script>",
        district="<img src=x onerror=alert(1)>",
    )
    for record in log.call(1, 6):
        event = record.event
        if isinstance(event, (CallReceived, IncidentOpened)):
            log.records[record.seq - 1] = record._replace(event=replace(event, placement=hostile))
    state = _state(log)
    report = build_report(state.summaries(), plate=6, start=T0 - DAY, end=T0 + DAY, generated_at=T0)
    html = render_html(report, _provinces())
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "secret caller words" not in html


def test_the_map_is_svg_drawn_from_the_boundaries() -> None:
    """81 province paths, a dot per incident, scoped maps zoom to the province."""
    state = _state(_day())
    national = build_report(
        state.summaries(), plate=None, start=T0 - DAY, end=T0 + DAY, generated_at=T0
    )
    svg = svg_map(national, _provinces())
    assert svg.count("<path") == 81
    assert svg.count("<circle") == 3
    assert "Osmaniye (80): 2" in svg
    scoped = build_report(
        state.summaries(), plate=80, start=T0 - DAY, end=T0 + DAY, generated_at=T0
    )
    assert svg_map(scoped, _provinces()).count("<circle") == 2
    assert "map is left out" in render_html(scoped, None)


@pytest.mark.integration
@pytest.mark.browser
async def test_reports_on_demand_and_on_schedule(tmp_path: Path, browser: Browser) -> None:
    """The HTTP report shows what was posted; the schedule writes files under report_dir."""
    settings = gamer_settings(
        f"sqlite+aiosqlite:///{tmp_path}/ng112.db",
        report_dir=str(tmp_path / "reports"),
        report_provinces=[34],
    )
    server = TestServer(compose(settings, packages=GAMER), host="127.0.0.1")
    async with server:
        for _ in range(3):
            await post_call(server, {"channel": "phone", "location": {"lat": 41.0, "lon": 29.0}})
        base = f"http://127.0.0.1:{server.port}/api/v1/reports/situation"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}?role=central_coordinator") as response:
                assert response.status == 200
                assert "script-src" not in response.headers["Content-Security-Policy"]
                html = await response.text()
            async with session.get(f"{base}?role=central_coordinator&format=json") as response:
                body = await response.json()
            reversed_period = {
                "role": "central_coordinator",
                "from": "2026-01-02T00:00:00+00:00",
                "to": "2026-01-01T00:00:00+00:00",
            }
            async with session.get(base, params=reversed_period) as response:
                assert response.status == 400
                assert (await response.json())["error"]["code"] == "invalid_period"
            async with session.get(f"{base}?role=provincial_coordinator&province=6") as response:
                assert response.status == 200
                assert "Map" in await response.text()
        assert body["incidents"] == 3
        assert body["by_province"] == {"34": 3}
        assert "Situation report · Türkiye" in html
        assert html.count("<path") == 81
        written = await server.app[RUNTIME].write_reports()
        assert [p.name.split("-")[1] for p in written] == ["tr", "34"]
        assert all(p.read_text(encoding="utf-8").startswith("<!doctype html>") for p in written)
        page = await browser.new_page(viewport={"width": 900, "height": 1200})
        await page.set_content(html)
        await page.screenshot(path=artifact("sitrep.png"), full_page=True)
        await page.close()
