"""``ng112 bench queue``: call assignment through :class:`CallQueues` against a list scan.

The workload is a day's mix at a busy centre squeezed into one backlog: ``--calls`` calls
(100,000 by default) in Turkish, English, Russian, German, Arabic and Persian, on the phone,
text, sign-language video, eCall and panic channels, queued first and then drained by
call-takers with language, ``text`` and ``tid`` skills (nobody speaks Persian: those calls
fall back to English). Each assignment is ``next_call_for`` + ``wrap_up`` + ``set_ready``.

The naive baseline keeps the waiting calls in a list and scans it for the best call each
time, with the same ordering and fallback rules; it drains only the first
``--naive-assignments`` calls (the queue is still about ``--calls`` deep while it does, so
the figures compare like with like), because draining 100,000 by scanning takes hours.
Both runs must hand out the same calls in the same order (``same_order`` in the output).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dispatch.core.call_queue import CallQueues, QueueClass, QueuedCall, QueueSettings, Skill
from dispatch.model.ids import CallId, CentreId, OperatorId
from dispatch.model.vocabulary import Channel

if TYPE_CHECKING:
    import argparse

_LANGUAGES = (("tr", 0.90), ("en", 0.04), ("ru", 0.03), ("de", 0.01), ("ar", 0.015), ("fa", 0.005))
_CHANNELS = (
    (Channel.PHONE, 0.90),
    (Channel.ECALL, 0.03),
    (Channel.PANIC_APP, 0.02),
    (Channel.TEXT, 0.03),
    (Channel.SIGN_VIDEO, 0.02),
)
#: (how many operators, their skills): every skill key of the workload is covered.
_ROSTER: tuple[tuple[int, frozenset[Skill]], ...] = (
    (40, frozenset({"tr"})),
    (5, frozenset({"tr", "text"})),
    (3, frozenset({"tr", "tid"})),
    (4, frozenset({"en"})),
    (3, frozenset({"ru", "en"})),
    (2, frozenset({"de", "en"})),
    (2, frozenset({"ar", "en"})),
    (1, frozenset({"en", "ru", "de", "ar", "text"})),
)


def make_workload(count: int, seed: int) -> list[QueuedCall]:
    """``count`` calls with the benchmark's language and channel mix, 1 ms apart."""
    rng = random.Random(seed)
    languages = rng.choices([lang for lang, _ in _LANGUAGES], [w for _, w in _LANGUAGES], k=count)
    channels = rng.choices([c for c, _ in _CHANNELS], [w for _, w in _CHANNELS], k=count)
    return [
        QueuedCall(
            call_id=CallId(f"call-{i:07d}"),
            channel=channel,
            language=language,
            since=i * 0.001,
        )
        for i, (language, channel) in enumerate(zip(languages, channels, strict=True))
    ]


def roster() -> list[tuple[OperatorId, frozenset[Skill]]]:
    """The benchmark's call-takers."""
    operators: list[tuple[OperatorId, frozenset[Skill]]] = []
    for group, (count, skills) in enumerate(_ROSTER):
        operators.extend((OperatorId(f"op-{group}-{i}"), skills) for i in range(count))
    return operators


_NaiveEntry = tuple[tuple[QueueClass, float, int], str | None, str | None, QueuedCall]


class NaiveCallQueue:
    """The baseline: a list of waiting calls, scanned in full for every assignment.

    Each entry keeps its rank and skills precomputed, so the scan is as cheap as a plain
    Python loop can make it: the comparison measures the data structure, not overheads.
    """

    def __init__(self, *, fallback_order: tuple[str, ...] = ("en",)) -> None:
        self.fallback_order = fallback_order
        self.waiting: list[_NaiveEntry] = []
        self.on_shift: Counter[str] = Counter()
        self._seq = 0

    def log_in(self, skills: frozenset[Skill]) -> None:
        """Count an operator's skills as on shift."""
        self.on_shift.update(skills)

    def offer(self, call: QueuedCall) -> None:
        """Append the call."""
        rank = (call.queue_class, call.since, self._seq)
        self.waiting.append((rank, call.language_skill, call.media_skill, call))
        self._seq += 1

    def take(self, skills: frozenset[Skill]) -> QueuedCall | None:
        """Scan every waiting call for the best one an operator with ``skills`` can serve."""
        best: tuple[QueueClass, float, int] | None = None
        best_index = -1
        for index, (rank, language, media, _) in enumerate(self.waiting):
            if (best is None or rank < best) and self._servable(language, media, skills):
                best, best_index = rank, index
        if best is None:
            return None
        return self.waiting.pop(best_index)[3]

    def _servable(self, language: str | None, media: str | None, skills: frozenset[Skill]) -> bool:
        if media is not None and media not in skills:
            return False
        if language is None or language in skills:
            return True
        if self.on_shift[language]:
            return False
        for fallback in self.fallback_order:
            if self.on_shift[fallback]:
                return fallback in skills
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFigures:
    """What one implementation did: throughput and latency percentiles in microseconds."""

    name: str
    queued: int
    assignments: int
    assignments_per_s: float
    offer_p50_us: float
    offer_p99_us: float
    assign_p50_us: float
    assign_p99_us: float


def _percentile(samples_ns: list[int], fraction: float) -> float:
    ordered = sorted(samples_ns)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index] / 1_000.0


def run_indexed(
    calls: list[QueuedCall], limit: int | None = None
) -> tuple[RunFigures, list[CallId]]:
    """Queue every call in :class:`CallQueues`, then assign until empty (or ``limit``)."""
    queues = CallQueues(centre=CentreId("central"), settings=QueueSettings(max_waiting=len(calls)))
    operators = roster()
    for operator_id, skills in operators:
        queues.log_in(operator_id, skills, 0.0)
        queues.set_ready(operator_id, 0.0)
    clock = time.perf_counter_ns
    offer_ns: list[int] = []
    for call in calls:
        start = clock()
        queues.offer(call)
        offer_ns.append(clock() - start)
    assign_ns: list[int] = []
    order: list[CallId] = []
    target = len(calls) if limit is None else min(limit, len(calls))
    now = 1_000.0
    idle_rounds = 0
    phase_start = clock()
    while len(order) < target and idle_rounds < 2:
        progressed = False
        for operator_id, _ in operators:
            start = clock()
            assignment = queues.next_call_for(operator_id, now)
            assign_ns.append(clock() - start)
            if assignment is None:
                continue
            progressed = True
            order.append(assignment.call.call_id)
            queues.wrap_up(operator_id, now)
            queues.set_ready(operator_id, now)
            if len(order) >= target:
                break
        idle_rounds = 0 if progressed else idle_rounds + 1
    elapsed = (clock() - phase_start) / 1e9
    figures = RunFigures(
        name="CallQueues (heaps per skill, lazy deletion)",
        queued=len(calls),
        assignments=len(order),
        assignments_per_s=len(order) / elapsed if elapsed else float("inf"),
        offer_p50_us=_percentile(offer_ns, 0.50),
        offer_p99_us=_percentile(offer_ns, 0.99),
        assign_p50_us=_percentile(assign_ns, 0.50),
        assign_p99_us=_percentile(assign_ns, 0.99),
    )
    return figures, order


def run_naive(calls: list[QueuedCall], limit: int) -> tuple[RunFigures, list[CallId]]:
    """Queue every call in a list, then assign ``limit`` calls by scanning it."""
    queue = NaiveCallQueue()
    operators = roster()
    for _, skills in operators:
        queue.log_in(skills)
    clock = time.perf_counter_ns
    offer_ns: list[int] = []
    for call in calls:
        start = clock()
        queue.offer(call)
        offer_ns.append(clock() - start)
    assign_ns: list[int] = []
    order: list[CallId] = []
    target = min(limit, len(calls))
    idle_rounds = 0
    phase_start = clock()
    while len(order) < target and idle_rounds < 2:
        progressed = False
        for _, skills in operators:
            start = clock()
            taken = queue.take(skills)
            assign_ns.append(clock() - start)
            if taken is None:
                continue
            progressed = True
            order.append(taken.call_id)
            if len(order) >= target:
                break
        idle_rounds = 0 if progressed else idle_rounds + 1
    elapsed = (clock() - phase_start) / 1e9
    figures = RunFigures(
        name="naive list scan",
        queued=len(calls),
        assignments=len(order),
        assignments_per_s=len(order) / elapsed if elapsed else float("inf"),
        offer_p50_us=_percentile(offer_ns, 0.50),
        offer_p99_us=_percentile(offer_ns, 0.99),
        assign_p50_us=_percentile(assign_ns, 0.50),
        assign_p99_us=_percentile(assign_ns, 0.99),
    )
    return figures, order


def run(calls: int, naive_assignments: int, seed: int, repeats: int) -> dict[str, object]:
    """Run both implementations ``repeats`` times; report medians and ratios."""
    workload = make_workload(calls, seed)
    indexed_runs: list[RunFigures] = []
    indexed_prefix: list[RunFigures] = []
    naive_runs: list[RunFigures] = []
    same_order = True
    for _ in range(repeats):
        full, full_order = run_indexed(workload)
        prefix, _ = run_indexed(workload, limit=naive_assignments)
        naive, naive_order = run_naive(workload, naive_assignments)
        same_order = same_order and full_order[: len(naive_order)] == naive_order
        indexed_runs.append(full)
        indexed_prefix.append(prefix)
        naive_runs.append(naive)

    def median(runs: list[RunFigures], attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in runs))

    def summary(runs: list[RunFigures]) -> dict[str, object]:
        return {
            "name": runs[0].name,
            "queued": runs[0].queued,
            "assignments": runs[0].assignments,
            "assignments_per_s": round(median(runs, "assignments_per_s")),
            "offer_p50_us": round(median(runs, "offer_p50_us"), 2),
            "offer_p99_us": round(median(runs, "offer_p99_us"), 2),
            "assign_p50_us": round(median(runs, "assign_p50_us"), 2),
            "assign_p99_us": round(median(runs, "assign_p99_us"), 2),
        }

    return {
        "bench": "queue",
        "calls": calls,
        "repeats": repeats,
        "seed": seed,
        "operators": len(roster()),
        "indexed_full_drain": summary(indexed_runs),
        "indexed_first_assignments": summary(indexed_prefix),
        "naive_first_assignments": summary(naive_runs),
        "speedup_assignments_per_s": round(
            median(indexed_prefix, "assignments_per_s") / median(naive_runs, "assignments_per_s"),
            1,
        ),
        "assign_p99_ratio": round(
            median(naive_runs, "assign_p99_us") / median(indexed_prefix, "assign_p99_us"), 1
        ),
        "same_order": same_order,
    }


def _table(result: dict[str, object]) -> str:
    rows = [
        ("indexed, full drain", result["indexed_full_drain"]),
        ("indexed, first N", result["indexed_first_assignments"]),
        ("naive scan, first N", result["naive_first_assignments"]),
    ]
    header = (
        f"{'run':<22}{'queued':>9}{'assigned':>10}{'assign/s':>12}"
        f"{'offer p99 us':>14}{'assign p50 us':>15}{'assign p99 us':>15}"
    )
    lines = [header, "-" * len(header)]
    for label, row in rows:
        assert isinstance(row, dict)  # noqa: S101 - built above
        lines.append(
            f"{label:<22}{row['queued']:>9}{row['assignments']:>10}"
            f"{row['assignments_per_s']:>12,}{row['offer_p99_us']:>14}"
            f"{row['assign_p50_us']:>15}{row['assign_p99_us']:>15}"
        )
    lines.append(
        f"speed-up {result['speedup_assignments_per_s']}x assignments/s, "
        f"p99 assignment latency {result['assign_p99_ratio']}x lower; "
        f"same order: {result['same_order']}"
    )
    return "\n".join(lines)


def handle(args: argparse.Namespace) -> int:
    """Run the benchmark and print a table and/or one JSON object."""
    if args.calls < 1 or args.naive_assignments < 1 or args.repeats < 1:
        print("calls, naive-assignments and repeats must be positive", file=sys.stderr)
        return 2
    result = run(args.calls, args.naive_assignments, args.seed, args.repeats)
    if args.format in {"table", "both"}:
        print(_table(result))
    if args.format in {"json", "both"}:
        print(json.dumps(result, sort_keys=True))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options."""
    parser.add_argument("--calls", type=int, default=100_000, help="calls queued (100,000)")
    parser.add_argument(
        "--naive-assignments",
        type=int,
        default=500,
        help="assignments the naive list scan makes from the full queue (500)",
    )
    parser.add_argument("--seed", type=int, default=112, help="workload seed")
    parser.add_argument("--repeats", type=int, default=3, help="runs; medians reported")
    parser.add_argument("--format", choices=("table", "json", "both"), default="both")
    parser.set_defaults(handler=handle)
