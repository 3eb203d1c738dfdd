"""Period totals: what situation reports count of incidents no longer held one by one. Pure.

The live projection (``projections``) keeps each incident until it leaves the map (a
concluded incident beyond the map's retention) or the engine archives it
(``IncidentArchived``). Either way its :class:`IncidentSummary`, what a situation report
reads of it, is then added to :class:`PeriodTotals`: one :class:`HourTotals` per hour it was
opened in and province it is in. Hour totals hold the report's counts, the answer and
dispatch histograms and the hour's busiest incidents (each report's busiest are among
them), so a report's totals do not depend on whether an incident is still held.

An hour counts in a report when it starts within the report's period: totals of periods
that start and end on the hour are exact; otherwise the incidents the projection no
longer holds are counted by whole hours. Hours older than the history horizon are
forgotten, so the totals stay bounded (``history`` is a setting; reports cover 31 days at
most). The map of a report draws, of those incidents, the busiest only.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dispatch.model.pickling import pickled_as_tuple
from dispatch.model.vocabulary import Agency, IncidentStatus
from gamer_coordination.response_times import Histogram

#: The busiest incidents a report lists (and an hour keeps).
BUSIEST = 10
#: The length of one bucket of totals.
HOUR_S = 3600
_UNCLASSIFIED = "unclassified"


@pickled_as_tuple
@dataclass(frozen=True, slots=True, kw_only=True)
class BusyIncident:
    """One of the period's busiest incidents."""

    incident_id: str
    incident_type: str | None
    priority: int
    status: str
    calls: int
    units: int
    events: int
    province: str | None
    district: str | None
    opened_at: datetime
    concluded_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentSummary:
    """What a situation report reads of one incident (no caller data).

    ``answer_s`` are the answer times of the calls that belong to it, ``dispatch_s`` the
    time from its first answer (its opening when none) to its first unit dispatched,
    ``events`` how many events concerned it or its calls.
    """

    incident_id: str
    plate: int | None
    province: str | None
    district: str | None
    status: IncidentStatus
    incident_type: str | None
    priority: int
    agencies: tuple[Agency, ...]
    calls: int
    units: int
    events: int
    opened_at: datetime
    concluded_at: datetime | None
    answer_s: tuple[float, ...]
    dispatch_s: float | None
    position: tuple[float, float] | None

    def rank(self) -> tuple[int, int, datetime, str]:
        """Busiest first: most calls, then most events, then the oldest (then the id)."""
        return (-self.calls, -self.events, self.opened_at, self.incident_id)

    def busy(self) -> BusyIncident:
        """As a report lists it among the busiest."""
        return BusyIncident(
            incident_id=self.incident_id,
            incident_type=self.incident_type,
            priority=self.priority,
            status=self.status.value,
            calls=self.calls,
            units=self.units,
            events=self.events,
            province=self.province,
            district=self.district,
            opened_at=self.opened_at,
            concluded_at=self.concluded_at,
        )


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Ranked:
    """A busy incident with its rank and map position, as an hour keeps it."""

    rank: tuple[int, int, datetime, str]
    incident: BusyIncident
    position: tuple[float, float] | None


@pickled_as_tuple
@dataclass(slots=True)
class HourTotals:
    """What a report counts of one hour's (and one province's) incidents."""

    incidents: int = 0
    counted: int = 0
    """Incidents not merged (a report's ``by_province`` counts these)."""
    calls: int = 0
    province: str | None = None
    by_type: Counter[str] = field(default_factory=Counter)
    by_agency: Counter[str] = field(default_factory=Counter)
    by_priority: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    answer: Histogram = field(default_factory=Histogram)
    dispatch: Histogram = field(default_factory=Histogram)
    busiest: list[Ranked] = field(default_factory=list)

    def add(self, summary: IncidentSummary) -> None:
        """Count one incident (a merged one only by status: its calls joined another)."""
        self.incidents += 1
        self.by_status[summary.status.value] += 1
        if summary.status is IncidentStatus.MERGED:
            return
        self.counted += 1
        self.calls += summary.calls
        if summary.province is not None:
            self.province = summary.province
        self.by_type[summary.incident_type or _UNCLASSIFIED] += 1
        self.by_priority[str(summary.priority)] += 1
        self.by_agency.update(a.value for a in summary.agencies)
        for seconds in summary.answer_s:
            self.answer.add(seconds)
        if summary.dispatch_s is not None:
            self.dispatch.add(summary.dispatch_s)
        self.busiest.append(Ranked(summary.rank(), summary.busy(), summary.position))
        self.busiest.sort(key=by_rank)
        del self.busiest[BUSIEST:]


def by_rank(ranked: Ranked) -> tuple[int, int, datetime, str]:
    """The sort key of busy incidents (busiest first)."""
    return ranked.rank


def hour_of(at: datetime) -> int:
    """The hour (since the Unix epoch) an incident opened at ``at`` is counted in."""
    return math.floor(at.timestamp() / HOUR_S)


def hour_start(hour: int) -> datetime:
    """When an hour starts (UTC)."""
    return datetime.fromtimestamp(hour * HOUR_S, tz=UTC)


class PeriodTotals:
    """Hour totals by (hour, province) for the history horizon; see the module docstring."""

    __slots__ = ("_hours", "history_h", "horizon")

    def __init__(self, history: timedelta = timedelta(days=62)) -> None:
        self._hours: dict[tuple[int, int | None], HourTotals] = {}
        self.history_h = max(1, math.ceil(history.total_seconds() / HOUR_S))
        self.horizon: int | None = None
        """The oldest hour still counted once older ones were forgotten (``None``: none were)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PeriodTotals):
            return NotImplemented
        return (self._hours, self.history_h, self.horizon) == (
            other._hours,
            other.history_h,
            other.horizon,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __len__(self) -> int:
        return len(self._hours)

    def add(self, summary: IncidentSummary) -> None:
        """Count an incident the projection no longer holds."""
        hour = hour_of(summary.opened_at)
        if self.horizon is not None and hour < self.horizon:
            return  # opened before the horizon: a report of that time is incomplete anyway
        key = (hour, summary.plate)
        totals = self._hours.get(key)
        if totals is None:
            totals = self._hours[key] = HourTotals()
        totals.add(summary)

    def forget_before(self, now: datetime) -> None:
        """Drop the hours older than the history horizon at event time ``now``."""
        horizon = hour_of(now) - self.history_h
        if self.horizon is not None and horizon <= self.horizon:
            return
        self.horizon = horizon
        for key in [k for k in self._hours if k[0] < horizon]:
            del self._hours[key]

    def within(
        self, start: datetime, end: datetime, plate: int | None
    ) -> Iterator[tuple[int | None, HourTotals]]:
        """The province and totals of each hour that starts in ``[start, end)`` (of ``plate``)."""
        first, last = math.ceil(start.timestamp() / HOUR_S), math.ceil(end.timestamp() / HOUR_S)
        for (hour, where), totals in self._hours.items():
            if first <= hour < last and (plate is None or where == plate):
                yield where, totals

    def incomplete_before(self) -> datetime | None:
        """Reports of a period starting before this lack the incidents forgotten since."""
        return None if self.horizon is None else hour_start(self.horizon)
