"""A realistic event log of Türkiye's 112 centres, synthesised: each call's whole life.

``ng112 bench replay`` times the engine's start on a log. The log it writes by default is
what a working day leaves behind, as the engine and its packages would have recorded it,
so a replay folds a real mix of events and keeps a real working set. :class:`CentreLog` is
a discrete-event simulation, pure (a seed, a start time and the first sequence number in;
events out, in time order), of the centres' calls, all by phone:

- calls arrive at the national rate (:attr:`Pace.calls_per_s`, shaped by the daily
  rhythm), drawn by :class:`~simulators.traffic.TrafficModel` (provinces by population,
  the 2024-2025 mix of legitimate, false and hung-up calls, agencies and types): each is
  ``CallReceived`` with its placement, then ``IncidentOpened``;
- a caller who hangs up during the announcement: the gateway reports the call
  abandoned (``CallStatusChanged``); later a call-taker calls back
  (``CallbackCompleted``) and marks the incident unfounded (hung up);
- every other call waits at its province's centre after the announcement, and the
  centre's next free call-taker takes it (``NextCallRequested``, ``CallAnswered``);
  most handsets send AML meanwhile (``AmlReportReceived``, ``CallLocated``,
  ``AmlReportJoined``); the call-taker marks a false call unfounded, or classifies a
  legitimate one and queues it; the gateway reports the call ended, the call-taker
  wraps up (``CallWrappedUp``) and is ready again (``OperatorReady``);
- the agency dispatches a queued incident, is on scene, resolves it and the dispatcher
  closes it (``IncidentStatusChanged``, as the actions API records them);
- :attr:`Pace.retention_s` after an incident concluded and its call was over,
  ``IncidentArchived`` with its call and the seqs of its timeline, as the engine's
  archivist records it. Nothing about the incident or its call follows.

So at any point only the working set of the last hour or so is live, however long the log.

Call-taking is mirrored exactly. Call-takers log in at the start, a few per centre by
population (one more logs in where calls start to wait). The call-taking fold gives a
call-taker the oldest call waiting at their centre; a call is answerable only once the
announcement is over (:attr:`Pace.offer_after_s`), and every caller who hangs up does so
before that (:attr:`Pace.announce_s`), so the oldest waiting call is always the one this
simulation answers next. A centre never holds more than :data:`MAX_WAITING` calls, well
under the fold's overload depth, so no call overflows to another centre.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch.model.call_taking_events import (
    CallAnswered,
    CallWrappedUp,
    NextCallRequested,
    OperatorLoggedIn,
    OperatorReady,
)
from dispatch.model.centres import CENTRAL_DESK, provincial_centre
from dispatch.model.dispatch_events import DuplicateSearchMarked
from dispatch.model.events import (
    CallLocated,
    CallReceived,
    CallStatusChanged,
    Event,
    IncidentArchived,
    IncidentClassified,
    IncidentOpened,
    IncidentStatusChanged,
)
from dispatch.model.ids import CallId, CentreId, IncidentId, OperatorId
from dispatch.model.values import Caller, Location, Placement
from dispatch.model.vocabulary import (
    Agency,
    CallStatus,
    Channel,
    Ground,
    IncidentStatus,
    Priority,
    UnfoundedReason,
)
from intake.events import AmlReportJoined, AmlReportReceived, CallbackCompleted
from simulators import geography
from simulators.scenario import Scenario
from simulators.traffic import CallSpec, Disposition, TrafficModel, rhythm

__all__ = ["MAX_WAITING", "CentreLog", "CentreLogStats", "Pace"]

#: The most calls waiting at one centre (the call-taking fold overflows above 20).
MAX_WAITING = 12

#: The gateway name in the calls' request ids (``synth:<run>-<n>``).
GATEWAY = "synth"

_IMMEDIATE = frozenset(
    {
        "medical.cardiac_arrest",
        "medical.unconscious",
        "medical.breathing_problem",
        "medical.stroke",
        "fire.building",
        "security.weapon",
        "disaster.building_collapse",
        "water.drowning",
    }
)
_CALLBACK_OUTCOMES = ("no_answer", "no_answer", "reached", "not_needed")
_TURKIYE = timedelta(hours=3)  # the daily rhythm is by local time (UTC+3, no summer time)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pace:
    """How the synthetic centres work, in seconds of the log's own time.

    Ranges are uniform ``(low, high)``. The defaults follow the demo's scenario and the
    published call mix; ``retention_s`` is how long a concluded incident stays live
    before it is archived.
    """

    calls_per_s: float = 3.1
    announce_s: tuple[float, float] = (1.0, 5.0)
    """When a caller who hangs up does so (during the announcement)."""
    offer_after_s: float = 6.0
    """When a call can be answered: the announcement is over."""
    ring_s: tuple[float, float] = (1.0, 4.0)
    handle_s: tuple[float, float] = (45.0, 150.0)
    wrap_s: tuple[float, float] = (5.0, 20.0)
    callback_s: tuple[float, float] = (30.0, 300.0)
    aml_share: float = 0.6
    aml_s: tuple[float, float] = (3.0, 20.0)
    dispatch_s: tuple[float, float] = (30.0, 300.0)
    on_scene_s: tuple[float, float] = (300.0, 1200.0)
    resolve_s: tuple[float, float] = (600.0, 2400.0)
    close_s: tuple[float, float] = (60.0, 600.0)
    retention_s: float = 120.0
    mark_every: int = 5000
    """A ``DuplicateSearchMarked`` every this many events, as the duplicate desk records."""
    operators: int = 400
    """Call-takers logged in at the start, over the 81 centres by population."""

    def __post_init__(self) -> None:
        ranges = (
            self.announce_s,
            self.ring_s,
            self.handle_s,
            self.wrap_s,
            self.callback_s,
            self.aml_s,
            self.dispatch_s,
            self.on_scene_s,
            self.resolve_s,
            self.close_s,
        )
        if any(not 0.0 <= low <= high for low, high in ranges):
            raise ValueError("every range must be (low, high) with 0 <= low <= high")
        if not self.announce_s[1] < self.offer_after_s:
            raise ValueError("callers hang up during the announcement: before offer_after_s")
        if not self.aml_s[1] < self.offer_after_s + self.ring_s[0] + self.handle_s[0]:
            raise ValueError("AML arrives during the call: before the shortest call ends")
        if self.calls_per_s <= 0 or self.retention_s < 0 or self.mark_every < 1:
            raise ValueError("calls_per_s > 0, retention_s >= 0 and mark_every >= 1")
        if self.operators < 2 * 81 or not 0.0 <= self.aml_share <= 1.0:
            raise ValueError("at least two call-takers per centre; aml_share within 0..1")


@dataclass(slots=True)
class CentreLogStats:
    """What the synthetic log holds so far."""

    events: int = 0
    calls: int = 0
    abandoned: int = 0
    answered: int = 0
    unfounded: int = 0
    closed: int = 0
    archived: int = 0
    operators: int = 0
    live: int = 0
    """Incidents opened and not archived."""
    peak_live: int = 0
    redrawn: int = 0
    """Calls drawn again elsewhere because their centre had :data:`MAX_WAITING` waiting."""


# Steps of a call's life, in the order they happen.
_ABANDON, _CALLBACK, _OFFER, _ANSWER, _AML, _DECIDE, _END, _WRAP = range(8)
_DISPATCH, _ON_SCENE, _RESOLVE, _CLOSE, _ARCHIVE = range(8, 13)


class _Life:
    """One call and its incident, from arrival to archive."""

    __slots__ = (
        "call_id",
        "centre",
        "final",
        "incident_id",
        "operator",
        "over",
        "pending",
        "plate",
        "request",
        "spec",
        "status",
        "timeline",
    )

    def __init__(
        self, spec: CallSpec, call_id: CallId, incident_id: IncidentId, request: str
    ) -> None:
        self.spec = spec
        self.call_id = call_id
        self.incident_id = incident_id
        self.request = request
        self.plate = spec.plate if spec.location is not None else None
        self.centre = _centre_of(spec)
        self.status = IncidentStatus.NEW
        self.timeline: list[int] = []
        self.pending = 0
        self.operator: OperatorId | None = None
        self.final = False
        self.over = False


class _Centre:
    """One centre's call-takers and the calls waiting there, as the fold keeps them."""

    __slots__ = ("centre", "free", "queue", "staff", "waiting")

    def __init__(self, centre: CentreId) -> None:
        self.centre = centre
        self.free: deque[OperatorId] = deque()
        self.queue: deque[_Life] = deque()
        """Answerable calls (announcement over), oldest first."""
        self.waiting = 0
        """Calls in the fold's queue: received, not yet taken or abandoned."""
        self.staff = 0


class CentreLog:
    """The synthetic log's simulation; see the module docstring.

    ``events(count)`` yields exactly ``count`` events. Each is given the next sequence
    number from ``first_seq`` on (the archive events name their timeline by seq), so the
    events must be appended in order to a log whose next seq is ``first_seq``.
    """

    def __init__(
        self,
        *,
        start: datetime,
        first_seq: int = 1,
        seed: int = 112,
        run_id: str = "log",
        pace: Pace | None = None,
    ) -> None:
        self.pace = pace or Pace()
        self.start = start
        self.run_id = run_id
        self.stats = CentreLogStats()
        self._rng = random.Random(seed)
        scenario = Scenario.model_validate(
            {
                "name": "centre-log",
                "seed": seed,
                "channels": {"ecall": 0.0, "text": 0.0, "sign_video": 0.0, "panic_app": 0.0},
                "foreign": {"share": 0.0},
            }
        )
        self._model = TrafficModel(scenario, run_id=run_id)
        self._seq = first_seq - 1
        self._last_mark = self._seq
        self._now = 0.0
        self._at = start
        self._order = 0
        self._heap: list[tuple[float, int, int, _Life]] = []
        self._out: list[Event] = []
        self._calls = 0
        self._centres = {
            provincial_centre(p.plate): _Centre(provincial_centre(p.plate))
            for p in geography.provinces()
        }
        self._centres[CENTRAL_DESK] = _Centre(CENTRAL_DESK)
        self._next_arrival = 0.0
        self._steps = (
            self._abandon,
            self._callback,
            self._offer,
            self._answer,
            self._aml,
            self._decide,
            self._end,
            self._wrap,
            self._dispatch,
            self._on_scene,
            self._resolve,
            self._close,
            self._archive,
        )
        """What each step does, by its number (``_ABANDON`` ... ``_ARCHIVE``)."""
        local = start + _TURKIYE
        self._start_hour = local.hour + local.minute / 60 + local.second / 3600

    # -- the simulation ------------------------------------------------------------------

    def events(self, count: int) -> Iterator[Event]:
        """The next ``count`` events of the log, in order."""
        given = 0
        if not self.stats.operators:
            self._staff()
        while given < count:
            if not self._out:
                self._step()
                continue
            batch, self._out = self._out, []
            for index, event in enumerate(batch):
                if given == count:
                    self._out = batch[index:]
                    return
                given += 1
                yield event

    def leftover(self) -> list[Event]:
        """The events of the last step not yet given (already numbered): write them next."""
        out, self._out = self._out, []
        return out

    def resume_at(self, next_seq: int) -> None:
        """Number the events to come from ``next_seq`` on (others were appended meanwhile).

        Only between steps: events already numbered and not given would be misnumbered.
        """
        if self._out:
            msg = "events already numbered are waiting: write leftover() first"
            raise ValueError(msg)
        self._seq = next_seq - 1

    def _step(self) -> None:
        """Run the next thing that happens (an arrival or a step), then maybe a mark."""
        heap = self._heap
        if not heap or self._next_arrival <= heap[0][0]:
            self._clock(self._next_arrival)
            self._arrive()
            rate = self.pace.calls_per_s * rhythm(self._start_hour + self._now / 3600.0)
            self._next_arrival = self._now + self._rng.expovariate(rate)
        else:
            at, _, step, life = heapq.heappop(heap)
            self._clock(at)
            life.pending -= 1
            self._steps[step](life)
            if life.pending == 0 and life.final and life.over and step != _ARCHIVE:
                self._after(self.pace.retention_s, _ARCHIVE, life)
        if self._seq - self._last_mark >= self.pace.mark_every:
            self._emit(DuplicateSearchMarked(occurred_at=self._at, searched_through=self._seq))
            self._last_mark = self._seq

    def _clock(self, at: float) -> None:
        if at != self._now:
            self._now = at
            self._at = self.start + timedelta(seconds=at)

    def _emit(self, event: Event, life: _Life | None = None) -> None:
        self._seq += 1
        self.stats.events += 1
        self._out.append(event)
        if life is not None:
            life.timeline.append(self._seq)

    def _after(self, delay: float, step: int, life: _Life) -> None:
        self._order += 1
        life.pending += 1
        heapq.heappush(self._heap, (self._now + delay, self._order, step, life))

    def _draw(self, span: tuple[float, float]) -> float:
        return self._rng.uniform(*span)

    # -- call-takers ---------------------------------------------------------------------

    def _staff(self) -> None:
        """Log the call-takers in at every centre, by population (at least two each)."""
        people = geography.provinces()
        country = sum(p.population for p in people)
        room = self.pace.operators - 2 * len(people)
        for province in people:
            centre = self._centres[provincial_centre(province.plate)]
            for _ in range(2 + math.floor(room * province.population / country)):
                self._log_in(centre)

    def _log_in(self, centre: _Centre) -> None:
        operator = OperatorId(f"{GATEWAY}-{self.run_id}-{centre.centre}-{centre.staff}")
        centre.staff += 1
        self.stats.operators += 1
        plate = int(centre.centre)
        self._emit(
            OperatorLoggedIn(
                occurred_at=self._at,
                plate=plate,
                operator=operator,
                centre=centre.centre,
                skills=("tr",),
                actor=operator,
            )
        )
        self._emit(
            OperatorReady(
                occurred_at=self._at, plate=plate, operator=operator, centre=centre.centre
            )
        )
        centre.free.append(operator)

    def _serve(self, centre: _Centre) -> None:
        """Free call-takers take the oldest answerable calls (one more logs in if they wait)."""
        if len(centre.queue) > 2 and not centre.free:
            self._log_in(centre)
        while centre.free and centre.queue:
            operator = centre.free.popleft()
            life = centre.queue.popleft()
            centre.waiting -= 1
            life.operator = operator
            self._emit(
                NextCallRequested(
                    occurred_at=self._at,
                    plate=int(centre.centre),
                    operator=operator,
                    centre=centre.centre,
                )
            )
            self._after(self._draw(self.pace.ring_s), _ANSWER, life)

    # -- a call's life -------------------------------------------------------------------

    def _arrive(self) -> None:
        """A call arrives (at a centre with room for it) and opens its incident."""
        spec = self._model.normal_call(self._now)
        while self._centres[_centre_of(spec)].waiting >= MAX_WAITING:
            self.stats.redrawn += 1
            spec = self._model.normal_call(self._now)
        self._calls += 1
        self.stats.calls += 1
        self.stats.live += 1
        self.stats.peak_live = max(self.stats.peak_live, self.stats.live)
        stamp = f"{int(self._at.timestamp() * 1000):012x}"
        call_id = CallId(f"call-{stamp}{self._rng.getrandbits(64):016x}")
        incident_id = IncidentId(f"inc-{stamp}{self._rng.getrandbits(64):016x}")
        life = _Life(spec, call_id, incident_id, f"{GATEWAY}:{self.run_id}-{self._calls}")
        centre = self._centres[life.centre]
        centre.waiting += 1
        location = placement = None
        if spec.location is not None:
            location = Location(
                lat=spec.location.lat, lon=spec.location.lon, radius_m=spec.location.radius_m
            )
            placement = self._placement(spec)
        legitimate = spec.disposition is Disposition.LEGITIMATE
        self._emit(
            CallReceived(
                occurred_at=self._at,
                idempotency_key=f"call:{life.request}",
                plate=life.plate,
                call_id=call_id,
                incident_id=incident_id,
                channel=Channel.PHONE,
                centre=life.centre,
                caller=Caller(number=spec.caller_number),
                dialled=spec.dialled,
                text=spec.text,
                location=location,
                placement=placement,
            ),
            life,
        )
        self._emit(
            IncidentOpened(
                occurred_at=self._at,
                plate=life.plate,
                incident_id=incident_id,
                call_id=call_id,
                channel=Channel.PHONE,
                centre=life.centre,
                priority=_priority(spec),
                agencies=(Agency(spec.agency),) if legitimate and spec.agency else (),
                location=location,
                placement=placement,
                suggested_type=spec.incident_type if legitimate else "other.unknown",
                suggestion_confidence=0.6 if legitimate else 0.0,
            ),
            life,
        )
        pace = self.pace
        if spec.disposition is Disposition.HUNG_UP:
            self._after(self._draw(pace.announce_s), _ABANDON, life)
            return
        self._after(pace.offer_after_s, _OFFER, life)
        if spec.location is not None and self._rng.random() < pace.aml_share:
            self._after(self._draw(pace.aml_s), _AML, life)

    def _placement(self, spec: CallSpec) -> Placement:
        province = geography.province(spec.plate)
        ground = Ground.POLICE if self._rng.random() < 0.75 else Ground.GENDARMERIE
        return Placement(
            in_service_area=True,
            at_sea=False,
            plate=spec.plate,
            province=province.name,
            ground=ground,
        )

    def _gateway(self, life: _Life, status: CallStatus) -> None:
        """The phone gateway reports the call abandoned or ended."""
        life.over = True
        self._emit(
            CallStatusChanged(
                occurred_at=self._at,
                idempotency_key=f"phone:{life.request}:{status.value}",
                plate=life.plate,
                call_id=life.call_id,
                status=status,
            ),
            life,
        )

    def _abandon(self, life: _Life) -> None:
        self._centres[life.centre].waiting -= 1
        self.stats.abandoned += 1
        self._gateway(life, CallStatus.ABANDONED)
        self._after(self._draw(self.pace.callback_s), _CALLBACK, life)

    def _callback(self, life: _Life) -> None:
        """A call-taker calls the number back, then marks the incident unfounded."""
        actor = f"callback-{life.centre}"
        self._emit(
            CallbackCompleted(
                occurred_at=self._at,
                idempotency_key=f"callback:{life.call_id}",
                plate=life.plate,
                call_id=life.call_id,
                incident_id=life.incident_id,
                actor=actor,
                outcome=self._rng.choice(_CALLBACK_OUTCOMES),
            ),
            life,
        )
        self._status(life, IncidentStatus.UNFOUNDED, actor, "unfounded", UnfoundedReason.HUNG_UP)

    def _by_call_taker(self, kind: type[CallAnswered | CallWrappedUp], life: _Life) -> OperatorId:
        """The call-taker who took the call answers it or wraps it up; returns who."""
        operator = life.operator
        if operator is None:  # pragma: no cover - _serve gives every answered call one
            raise RuntimeError("only a call a call-taker took is answered and wrapped up")
        self._emit(
            kind(
                occurred_at=self._at,
                plate=life.plate,
                call_id=life.call_id,
                incident_id=life.incident_id,
                operator=operator,
                centre=life.centre,
            ),
            life,
        )
        return operator

    def _offer(self, life: _Life) -> None:
        """The announcement is over: the call waits for the centre's next call-taker."""
        centre = self._centres[life.centre]
        centre.queue.append(life)
        self._serve(centre)

    def _answer(self, life: _Life) -> None:
        self.stats.answered += 1
        self._by_call_taker(CallAnswered, life)
        handle = self._draw(self.pace.handle_s)
        self._after(handle * 0.6, _DECIDE, life)
        self._after(handle, _END, life)

    def _aml(self, life: _Life) -> None:
        """The handset's AML SMS: recorded, placed on the call and joined to it."""
        spec = life.spec
        if spec.location is None or spec.caller_number is None:  # pragma: no cover
            return
        lat, lon = geography.scatter(self._rng, spec.location.lat, spec.location.lon, 10.0)
        evidence = Location(
            lat=round(lat, 6),
            lon=round(lon, 6),
            radius_m=geography.aml_radius(self._rng),
            source="aml",
            at=self._at,
        )
        key = f"aml:{life.request}"
        self._emit(
            AmlReportReceived(
                occurred_at=self._at,
                idempotency_key=key,
                plate=life.plate,
                report_key=key,
                number=spec.caller_number,
                transport="sms",
                version=2,
                time=self._at,
                lat=evidence.lat,
                lon=evidence.lon,
                radius_m=evidence.radius_m,
                method="gnss",
                call_id=life.call_id,
                incident_id=life.incident_id,
            ),
            life,
        )
        self._emit(
            CallLocated(
                occurred_at=self._at,
                idempotency_key=f"aml-located:{key}",
                plate=life.plate,
                call_id=life.call_id,
                evidence=evidence,
                best=evidence,
                placement=self._placement(spec),
            ),
            life,
        )
        self._emit(
            AmlReportJoined(
                occurred_at=self._at,
                idempotency_key=f"aml-joined:{key}",
                plate=life.plate,
                report_key=key,
                call_id=life.call_id,
                incident_id=life.incident_id,
                order="during",
            ),
            life,
        )

    def _decide(self, life: _Life) -> None:
        """Mid-call, the call-taker marks a false call unfounded or classifies the incident."""
        spec, operator = life.spec, str(life.operator)
        if spec.disposition is not Disposition.LEGITIMATE:
            reason = UnfoundedReason(spec.unfounded_reason or "silent")
            self._status(life, IncidentStatus.UNFOUNDED, operator, "unfounded", reason)
            return
        self._emit(
            IncidentClassified(
                occurred_at=self._at,
                idempotency_key=f"action:{life.request}-classify",
                plate=life.plate,
                incident_id=life.incident_id,
                incident_type=spec.incident_type or "other.unknown",
                priority=_priority(spec),
                agencies=(Agency(spec.agency),) if spec.agency else (),
                actor=operator,
                suggested_type=spec.incident_type,
            ),
            life,
        )
        self._status(life, IncidentStatus.CLASSIFIED, operator, None)

    def _end(self, life: _Life) -> None:
        """The call ends: a legitimate incident is queued for its agency first."""
        if life.spec.disposition is Disposition.LEGITIMATE:
            self._status(life, IncidentStatus.QUEUED, str(life.operator), "queue")
            self._after(self._draw(self.pace.dispatch_s), _DISPATCH, life)
        self._gateway(life, CallStatus.ENDED)
        self._after(self._draw(self.pace.wrap_s), _WRAP, life)

    def _wrap(self, life: _Life) -> None:
        operator = self._by_call_taker(CallWrappedUp, life)
        plate = int(life.centre)
        self._emit(
            OperatorReady(occurred_at=self._at, plate=plate, operator=operator, centre=life.centre)
        )
        centre = self._centres[life.centre]
        centre.free.append(operator)
        self._serve(centre)

    # -- the agency's response: dispatched, on scene, resolved, then closed -------------

    def _dispatch(self, life: _Life) -> None:
        self._status(life, IncidentStatus.DISPATCHED, f"dispatcher-{life.centre}", "dispatch")
        self._after(self._draw(self.pace.on_scene_s), _ON_SCENE, life)

    def _on_scene(self, life: _Life) -> None:
        self._status(life, IncidentStatus.ON_SCENE, f"dispatcher-{life.centre}", "on_scene")
        self._after(self._draw(self.pace.resolve_s), _RESOLVE, life)

    def _resolve(self, life: _Life) -> None:
        self._status(life, IncidentStatus.RESOLVED, f"dispatcher-{life.centre}", "resolve")
        self._after(self._draw(self.pace.close_s), _CLOSE, life)

    def _close(self, life: _Life) -> None:
        self._status(life, IncidentStatus.CLOSED, f"dispatcher-{life.centre}", "close")
        self.stats.closed += 1

    def _status(
        self,
        life: _Life,
        status: IncidentStatus,
        actor: str,
        action: str | None,
        unfounded: UnfoundedReason | None = None,
    ) -> None:
        """An incident status change, keyed as the actions API keys it (None: no key)."""
        key = f"action:{life.request}-{action}" if action is not None else None
        self._emit(
            IncidentStatusChanged(
                occurred_at=self._at,
                idempotency_key=key,
                plate=life.plate,
                incident_id=life.incident_id,
                previous=life.status,
                status=status,
                actor=actor,
                unfounded_reason=unfounded,
            ),
            life,
        )
        life.status = status
        if status in {IncidentStatus.CLOSED, IncidentStatus.UNFOUNDED}:
            life.final = True
            if status is IncidentStatus.UNFOUNDED:
                self.stats.unfounded += 1

    def _archive(self, life: _Life) -> None:
        self.stats.archived += 1
        self.stats.live -= 1
        self._emit(
            IncidentArchived(
                occurred_at=self._at,
                idempotency_key=f"archive:{life.incident_id}",
                plate=life.plate,
                incident_id=life.incident_id,
                status=life.status,
                calls=(life.call_id,),
                timeline=tuple(life.timeline),
            )
        )


def _centre_of(spec: CallSpec) -> CentreId:
    """Where the engine sends the call: its province's centre, the desk when unplaced."""
    return CENTRAL_DESK if spec.location is None else provincial_centre(spec.plate)


def _priority(spec: CallSpec) -> Priority:
    if spec.disposition is not Disposition.LEGITIMATE:
        return Priority.PROMPT
    return Priority.IMMEDIATE if spec.incident_type in _IMMEDIATE else Priority.URGENT
