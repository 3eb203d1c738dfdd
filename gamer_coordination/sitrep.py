"""Situation reports: a province's or the country's period in one printable page. Pure.

:func:`build_report` reads GAMER's own projection: the summaries of the incidents it holds
(``Coordination.summaries``) and the period totals of those it no longer holds
(``periods``: concluded ones past the map's retention, archived ones). For the incidents
opened in ``[start, end)`` in the scope it gathers counts by type, agency, priority, status
and province; answer and dispatch times against the standards (``response_times``); the
busiest incidents (most calls, then most events); and the positions to map. Incidents in
the totals count by the hour they were opened in (an hour counts when it starts in the
period) and only the busiest of them are drawn. :func:`render_html` turns it into one
self-contained HTML page that prints well on A4 (no script, inline CSS, the map as inline
SVG drawn here from the province boundaries GeoJSON). Every value is escaped; caller
personal data (names, numbers, words) is never part of a report.

No clock: ``generated_at`` is passed in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any

from dispatch.model.vocabulary import IncidentStatus
from gamer_coordination.errors import InvalidPeriod
from gamer_coordination.periods import (
    BUSIEST,
    BusyIncident,
    IncidentSummary,
    PeriodTotals,
    Ranked,
    by_rank,
)
from gamer_coordination.projections import Coordination
from gamer_coordination.response_times import ANSWER_STANDARDS, DISPATCH_STANDARDS, Histogram

__all__ = [
    "MAX_PERIOD",
    "MAX_POINTS",
    "BusyIncident",
    "SituationReport",
    "build_report",
    "check_period",
    "render_html",
    "report_of",
    "svg_map",
]

#: The longest period a report may cover.
MAX_PERIOD = timedelta(days=31)
#: Incidents drawn on the map at most (the busiest first).
MAX_POINTS = 5000
_TURKIYE_BBOX = (25.6, 35.8, 44.9, 42.2)
_PRIORITY_COLOURS = {1: "#b3261e", 2: "#e8710a", 3: "#c9a100", 4: "#4f7cac"}


@dataclass(frozen=True, slots=True, kw_only=True)
class SituationReport:
    """What a situation report says (JSON-ready through ``msgspec.to_builtins``).

    ``incomplete_before``: the period totals forgot the hours before this time (the
    history horizon), so incidents opened before it that the projection no longer
    holds are not counted.
    """

    plate: int | None
    province: str | None
    start: datetime
    end: datetime
    generated_at: datetime
    incidents: int
    calls: int
    still_open: int
    by_type: dict[str, int]
    by_agency: dict[str, int]
    by_priority: dict[str, int]
    by_status: dict[str, int]
    by_province: dict[int, int]
    answer: dict[str, Any]
    dispatch: dict[str, Any]
    busiest: tuple[BusyIncident, ...]
    points: tuple[tuple[float, float, int], ...] = field(default_factory=tuple)
    incomplete_before: datetime | None = None


def check_period(start: datetime, end: datetime) -> None:
    """Refuse naive, empty, reversed or too long periods."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidPeriod("report times must carry a UTC offset")
    if end <= start:
        raise InvalidPeriod("the report period must end after it starts")
    if end - start > MAX_PERIOD:
        raise InvalidPeriod("a report covers at most 31 days")


def report_of(
    projection: Coordination,
    *,
    plate: int | None,
    start: datetime,
    end: datetime,
    generated_at: datetime,
) -> SituationReport:
    """The report of a period from GAMER's projection (see :func:`build_report`)."""
    return build_report(
        projection.summaries(),
        totals=projection.periods,
        plate=plate,
        start=start,
        end=end,
        generated_at=generated_at,
    )


def build_report(
    incidents: Iterable[IncidentSummary],
    *,
    plate: int | None,
    start: datetime,
    end: datetime,
    generated_at: datetime,
    totals: PeriodTotals | None = None,
    busiest: int = BUSIEST,
) -> SituationReport:
    """The report of the incidents opened in ``[start, end)`` in province ``plate`` (or all).

    ``incidents`` are the ones held one by one, ``totals`` those no longer held.
    """
    check_period(start, end)
    chosen = [
        i for i in incidents if start <= i.opened_at < end and (plate is None or i.plate == plate)
    ]
    hours = list(totals.within(start, end, plate)) if totals is not None else []
    by_type: Counter[str] = Counter()
    by_agency: Counter[str] = Counter()
    by_priority: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    by_province: Counter[int] = Counter()
    answer, dispatch = Histogram(), Histogram()
    calls = 0
    province_name = None
    for incident in chosen:
        by_status[incident.status.value] += 1
        if incident.status is IncidentStatus.MERGED:
            continue  # its calls are counted in the incident it joined
        calls += incident.calls
        by_type[incident.incident_type or "unclassified"] += 1
        by_priority[str(incident.priority)] += 1
        by_agency.update(a.value for a in incident.agencies)
        if incident.plate is not None:
            by_province[incident.plate] += 1
            if incident.plate == plate and incident.province is not None:
                province_name = incident.province
        for seconds in incident.answer_s:
            answer.add(seconds)
        if incident.dispatch_s is not None:
            dispatch.add(incident.dispatch_s)
    for where, hour in hours:
        if where is not None and hour.counted:
            by_province[where] += hour.counted
        calls += hour.calls
        by_type.update(hour.by_type)
        by_agency.update(hour.by_agency)
        by_priority.update(hour.by_priority)
        by_status.update(hour.by_status)
        answer.merge(hour.answer)
        dispatch.merge(hour.dispatch)
        if plate is not None and province_name is None:
            province_name = hour.province
    ranked = sorted(
        [
            Ranked(i.rank(), i.busy(), i.position)
            for i in chosen
            if i.status is not IncidentStatus.MERGED
        ]
        + [r for _, hour in hours for r in hour.busiest],
        key=by_rank,
    )
    return SituationReport(
        plate=plate,
        province=province_name,
        start=start,
        end=end,
        generated_at=generated_at,
        incidents=len(chosen) + sum(h.incidents for _, h in hours),
        calls=calls,
        still_open=sum(1 for i in chosen if i.status.is_open),
        by_type=dict(by_type.most_common()),
        by_agency=dict(by_agency.most_common()),
        by_priority=dict(sorted(by_priority.items())),
        by_status=dict(by_status.most_common()),
        by_province=dict(sorted(by_province.items())),
        answer=answer.summary(ANSWER_STANDARDS),
        dispatch=dispatch.summary(DISPATCH_STANDARDS),
        busiest=tuple(r.incident for r in ranked[:busiest]),
        points=tuple(
            (r.position[0], r.position[1], r.incident.priority)
            for r in ranked[:MAX_POINTS]
            if r.position is not None
        ),
        incomplete_before=(
            horizon
            if totals is not None
            and (horizon := totals.incomplete_before()) is not None
            and start < horizon
            else None
        ),
    )


# -- the map ---------------------------------------------------------------------------------


class _Projection:
    """Equirectangular, scaled by the cosine of the middle latitude, y down."""

    def __init__(self, bbox: tuple[float, float, float, float], width: float) -> None:
        west, south, east, north = bbox
        self.kx = math.cos(math.radians((south + north) / 2))
        self.west, self.north = west, north
        self.scale = width / ((east - west) * self.kx)
        self.width = width
        self.height = (north - south) * self.scale

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.west) * self.kx * self.scale, (self.north - lat) * self.scale


def _rings(geometry: Mapping[str, Any]) -> Iterable[Sequence[Sequence[float]]]:
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates") or []
    if kind == "Polygon":
        yield from coordinates
    elif kind == "MultiPolygon":
        for polygon in coordinates:
            yield from polygon


def _bbox(features: Iterable[Mapping[str, Any]]) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []
    for feature in features:
        for ring in _rings(feature.get("geometry") or {}):
            xs.extend(p[0] for p in ring)
            ys.extend(p[1] for p in ring)
    if not xs:
        return None
    pad_x, pad_y = (max(xs) - min(xs)) * 0.05, (max(ys) - min(ys)) * 0.05
    return min(xs) - pad_x, min(ys) - pad_y, max(xs) + pad_x, max(ys) + pad_y


def _path(geometry: Mapping[str, Any], project: _Projection) -> str:
    parts = []
    for ring in _rings(geometry):
        points: list[tuple[float, float]] = []
        for lon, lat, *_ in ring:
            x, y = project(lon, lat)
            point = (round(x, 1), round(y, 1))
            if not points or abs(point[0] - points[-1][0]) + abs(point[1] - points[-1][1]) >= 0.8:
                points.append(point)
        if len(points) >= 3:
            parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in points) + "Z")
    return "".join(parts)


def _shade(count: int, most: int) -> str:
    if count == 0 or most == 0:
        return "#f4f1ea"
    share = math.sqrt(count / most)
    return f"rgb(255,{round(236 - 150 * share)},{round(200 - 170 * share)})"


def svg_map(report: SituationReport, provinces: Mapping[str, Any] | None, width: int = 720) -> str:
    """The report's map as inline SVG: provinces shaded by incidents, incidents as dots."""
    features = list((provinces or {}).get("features") or [])
    scoped = [f for f in features if f.get("properties", {}).get("plate") == report.plate]
    bbox = _bbox(scoped) if report.plate is not None and scoped else None
    project = _Projection(bbox or _TURKIYE_BBOX, width)
    most = max(report.by_province.values(), default=0)
    shapes = []
    for feature in features:
        properties = feature.get("properties") or {}
        plate = properties.get("plate")
        count = report.by_province.get(plate, 0) if isinstance(plate, int) else 0
        inside = report.plate is None or plate == report.plate
        fill = _shade(count, most) if inside else "#fbfaf7"
        title = f"{properties.get('name', '')} ({plate}): {count}"
        shapes.append(
            f'<path d="{_path(feature.get("geometry") or {}, project)}" fill="{fill}" '
            f'stroke="#7a8796" stroke-width="{0.8 if inside else 0.4}">'
            f"<title>{escape(title)}</title></path>"
        )
    dots = []
    for lat, lon, priority in report.points:
        x, y = project(lon, lat)
        if 0 <= x <= project.width and 0 <= y <= project.height:
            colour = _PRIORITY_COLOURS.get(priority, "#555")
            dots.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}" '
                'stroke="#fff" stroke-width="0.6"/>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {width} '
        f'{project.height:.0f}" width="100%" role="img" aria-label="map of incidents">'
        f'<rect width="100%" height="100%" fill="#dce9f3"/>{"".join(shapes)}{"".join(dots)}</svg>'
    )


# -- the page --------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 14mm; }
body { font: 11pt/1.4 "DejaVu Sans", system-ui, sans-serif; color: #1d232b; margin: 0 auto;
  max-width: 190mm; }
h1 { font-size: 17pt; margin: 0 0 2mm; } h2 { font-size: 12.5pt; margin: 6mm 0 2mm;
  border-bottom: 1px solid #ccd; break-after: avoid; }
.meta { color: #55606d; font-size: 9.5pt; }
.kpis { display: flex; gap: 4mm; margin: 4mm 0; }
.kpi { border: 1px solid #ccd; border-radius: 2mm; padding: 2mm 4mm; }
.kpi b { display: block; font-size: 16pt; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; break-inside: auto; }
th, td { border-bottom: 1px solid #dde; padding: 1mm 2mm; text-align: left; vertical-align: top; }
tr { break-inside: avoid; } thead { display: table-header-group; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 6mm; }
.met { color: #2e7d32; } .missed { color: #b3261e; }
svg.map { border: 1px solid #ccd; margin-top: 2mm; break-inside: avoid; }
footer { margin-top: 8mm; color: #55606d; font-size: 8.5pt; }
"""


def _table(title: str, rows: Mapping[Any, int], head: str) -> str:
    body = "".join(
        f'<tr><td>{escape(str(k))}</td><td class="n">{v}</td></tr>' for k, v in rows.items()
    )
    if not body:
        body = '<tr><td colspan="2">none</td></tr>'
    return (
        f"<section><h2>{escape(title)}</h2><table><thead><tr><th>{escape(head)}</th>"
        f'<th class="n">incidents</th></tr></thead><tbody>{body}</tbody></table></section>'
    )


def _seconds(value: Any) -> str:
    return "–" if value is None else f"{value:g} s"


def _times_table(title: str, summary: Mapping[str, Any]) -> str:
    rows = [
        f"<tr><td>samples</td><td class='n'>{summary['count']}</td></tr>",
        f"<tr><td>median</td><td class='n'>{_seconds(summary['p50_s'])}</td></tr>",
        f"<tr><td>90th percentile</td><td class='n'>{_seconds(summary['p90_s'])}</td></tr>",
        f"<tr><td>95th percentile</td><td class='n'>{_seconds(summary['p95_s'])}</td></tr>",
    ]
    for check in summary["standards"]:
        share = "–" if check["share"] is None else f"{check['share'] * 100:.1f}%"
        verdict = {True: "met", False: "missed", None: "no data"}[check["met"]]
        css = {True: "met", False: "missed", None: ""}[check["met"]]
        rows.append(
            f"<tr><td>{escape(check['standard'])}</td>"
            f'<td class="n {css}">{share} ({verdict})</td></tr>'
        )
    return (
        f"<section><h2>{escape(title)}</h2><table><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _where(incident: BusyIncident) -> str:
    return " / ".join(x for x in (incident.province, incident.district) if x) or "not placed"


def _when(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def render_html(report: SituationReport, provinces: Mapping[str, Any] | None) -> str:
    """The report as one printable, script-free HTML page."""
    scope = "Türkiye" if report.plate is None else f"{report.province or 'il'} ({report.plate:02d})"
    busiest_rows = (
        "".join(
            "<tr>"
            f"<td>{escape(b.incident_type or 'unclassified')}<br>"
            f"<small>{escape(b.incident_id)}</small></td>"
            f'<td class="n">P{b.priority}</td><td>{escape(b.status)}</td>'
            f'<td class="n">{b.calls}</td><td class="n">{b.units}</td>'
            f"<td>{escape(_where(b))}</td>"
            f"<td>{_when(b.opened_at)}<br>{_when(b.concluded_at)}</td>"
            "</tr>"
            for b in report.busiest
        )
        or '<tr><td colspan="7">no incidents in the period</td></tr>'
    )
    province_rows: dict[Any, int] = {}
    names = {
        f.get("properties", {}).get("plate"): f.get("properties", {}).get("name")
        for f in (provinces or {}).get("features") or []
    }
    for plate, count in sorted(report.by_province.items(), key=lambda kv: -kv[1])[:20]:
        province_rows[f"{plate:02d} {names.get(plate) or ''}".strip()] = count
    map_section = (
        svg_map(report, provinces)
        if provinces
        else "<p>No boundaries are configured, so the map is left out.</p>"
    )
    return (
        "<!doctype html><html lang='tr'><head><meta charset='utf-8'>"
        f"<title>Situation report · {escape(scope)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Situation report · {escape(scope)}</h1>"
        f"<p class='meta'>Period {_when(report.start)} – {_when(report.end)} · generated "
        f"{_when(report.generated_at)} by ng112 GAMER coordination</p>"
        + (
            f"<p class='meta'>Concluded incidents opened before {_when(report.incomplete_before)}"
            " are no longer counted (beyond the history kept).</p>"
            if report.incomplete_before is not None
            else ""
        )
        + "<div class='kpis'>"
        f"<div class='kpi'><b>{report.incidents}</b>incidents</div>"
        f"<div class='kpi'><b>{report.calls}</b>calls</div>"
        f"<div class='kpi'><b>{report.still_open}</b>still open</div>"
        f"<div class='kpi'><b>{_seconds(report.answer['p90_s'])}</b>answer p90</div>"
        f"<div class='kpi'><b>{_seconds(report.dispatch['p90_s'])}</b>dispatch p90</div>"
        "</div>"
        f"<section><h2>Map</h2>{map_section}</section>"
        "<div class='cols'>"
        f"{_times_table('Answer times', report.answer)}"
        f"{_times_table('Answer to first unit dispatched', report.dispatch)}"
        "</div>"
        "<section><h2>Busiest incidents</h2><table><thead><tr><th>type</th>"
        "<th class='n'>priority</th><th>status</th><th class='n'>calls</th>"
        "<th class='n'>units</th><th>where</th><th>opened / concluded</th></tr></thead>"
        f"<tbody>{busiest_rows}</tbody></table></section>"
        "<div class='cols'>"
        f"{_table('By type', report.by_type, 'type')}"
        f"{_table('By status', report.by_status, 'status')}"
        f"{_table('By priority', report.by_priority, 'priority')}"
        f"{_table('By agency', report.by_agency, 'agency')}"
        "</div>"
        + (_table("Busiest provinces", province_rows, "province") if report.plate is None else "")
        + "<footer>Boundaries: OCHA/HDX COD-AB Türkiye, geometry © HGK. Answer-time standards:"
        " NENA-STA-020.1-2020, NFPA 1225 (2022).</footer></body></html>"
    )
