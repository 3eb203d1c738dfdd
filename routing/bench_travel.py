"""Benchmark of unit recommendation (``ng112 bench recommend``).

Latency of :func:`routing.recommend.recommend` for one incident with 500 candidate units,
on the real road graph of central Rize (when ``../shared/data/roads`` is present) and on a
synthetic 100,000-node city grid; against NetworkX's Dijkstra over the same graph in the
same run (the naive baseline), and against one Dijkstra bounded by the fixed one-hour limit
(the plain SciPy method). Every method's top-k is compared with NetworkX's to show that
the speed costs no correctness.

The synthetic graph (:func:`synthetic_city`) is a jittered grid about 120 m apart: arterials
every eighth street at 50 km/h both ways, side streets at 20–30 km/h, one in ten of them
one-way, 3 % of street segments missing (dead ends, rivers), so shortest paths bend.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from routing.recommend import DEFAULT_LIMIT_S, UnitCandidate, recommend
from routing.travel import ACCESS_SPEED_KPH, EARTH_RADIUS_M, RoadGraph

#: Where the Rize extract lives next to the repository, when it does.
RIZE_GRAPHML = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "roads"
) / "rize_center_drive.graphml"

_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchConfig:
    """What to measure."""

    units: int = 500
    incidents: int = 300
    naive_incidents: int = 20
    k: int = 3
    side: int = 317  # 317 x 317 = 100,489 nodes
    seed: int = 112
    rize: Path | None = RIZE_GRAPHML


def synthetic_city(side: int, seed: int, lat0: float = 41.0, lon0: float = 29.0) -> RoadGraph:
    """A jittered side x side street grid with arterials, one-way streets and gaps."""
    rng = np.random.default_rng(seed)
    spacing = 120.0
    rows, cols = np.divmod(np.arange(side * side), side)
    north = rows * spacing + rng.uniform(-30.0, 30.0, side * side)
    east = cols * spacing + rng.uniform(-30.0, 30.0, side * side)
    lats = lat0 + north / _M_PER_DEG
    lons = lon0 + east / (_M_PER_DEG * math.cos(math.radians(lat0)))
    sources: list[Any] = []
    targets: list[Any] = []
    seconds: list[Any] = []
    index = np.arange(side * side).reshape(side, side)
    for all_a, all_b, all_line in (
        (index[:, :-1].ravel(), index[:, 1:].ravel(), rows.reshape(side, side)[:, :-1].ravel()),
        (index[:-1, :].ravel(), index[1:, :].ravel(), cols.reshape(side, side)[:-1, :].ravel()),
    ):
        keep = rng.random(len(all_a)) >= 0.03
        a, b, line = all_a[keep], all_b[keep], all_line[keep]
        arterial = line % 8 == 0
        speed_kph = np.where(arterial, 50.0, rng.uniform(20.0, 30.0, len(a)))
        length = np.hypot(north[a] - north[b], east[a] - east[b])
        time_s = length / (speed_kph / 3.6)
        one_way = ~arterial & (rng.random(len(a)) < 0.1)
        flip = rng.random(len(a)) < 0.5
        fwd_src, fwd_dst = np.where(flip, b, a), np.where(flip, a, b)
        sources += [fwd_src, fwd_dst[~one_way]]
        targets += [fwd_dst, fwd_src[~one_way]]
        seconds += [time_s, time_s[~one_way]]
    return RoadGraph.from_edges(
        node_ids=[str(i) for i in range(side * side)],
        lats=lats,
        lons=lons,
        sources=np.concatenate(sources).astype(np.intp),
        targets=np.concatenate(targets).astype(np.intp),
        seconds=np.concatenate(seconds),
    )


def _units(graph: RoadGraph, count: int, rng: np.random.Generator) -> list[UnitCandidate]:
    nodes = rng.integers(0, graph.node_count, count)
    return [
        UnitCandidate(
            unit_id=f"unit-{i}",
            lat=float(graph.lats[n] + rng.normal(0.0, 1e-4)),
            lon=float(graph.lons[n] + rng.normal(0.0, 1e-4)),
            agency="health",
        )
        for i, n in enumerate(nodes)
    ]


def _percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return {
        "median_ms": round(statistics.median(ordered) * 1e3, 3),
        "p99_ms": round(p99 * 1e3, 3),
        "n": len(ordered),
    }


def _networkx_recommend(
    graph: RoadGraph,
    *,
    reverse: nx.DiGraph,
    lat: float,
    lon: float,
    units: list[UnitCandidate],
    k: int,
) -> list[str]:
    """The naive way: a full NetworkX Dijkstra from the incident on the reversed graph."""
    target = graph.snap(np.array([lat]), np.array([lon]))
    lats = np.array([u.lat for u in units])
    lons = np.array([u.lon for u in units])
    snapped = graph.snap(lats, lons)
    lengths = nx.single_source_dijkstra_path_length(reverse, int(target.nodes[0]), weight="w")
    speed = ACCESS_SPEED_KPH / 3.6
    times = [
        lengths.get(int(node), math.inf) + access / speed
        for node, access in zip(snapped.nodes, snapped.distance_m, strict=True)
    ]
    order = sorted(range(len(units)), key=lambda i: times[i])[:k]
    return [units[i].unit_id for i in order]


def _to_networkx(graph: RoadGraph) -> nx.DiGraph:
    reverse = graph.reverse.tocoo()
    digraph = nx.DiGraph()
    digraph.add_nodes_from(range(graph.node_count))
    digraph.add_weighted_edges_from(
        zip(reverse.row.tolist(), reverse.col.tolist(), reverse.data.tolist(), strict=True),
        weight="w",
    )
    return digraph


def _timed(fn: Callable[[], list[str]]) -> tuple[float, list[str]]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_graph(name: str, graph: RoadGraph, config: BenchConfig) -> dict[str, Any]:
    """Latencies of the adaptive and plain searches and of NetworkX on one graph."""
    rng = np.random.default_rng(config.seed)
    units = _units(graph, config.units, rng)
    incidents = rng.integers(0, graph.node_count, config.incidents)
    points = [(float(graph.lats[n]), float(graph.lons[n])) for n in incidents]
    adaptive: list[float] = []
    plain: list[float] = []
    tops: list[list[str]] = []
    disagree_plain = 0

    def ours(lat: float, lon: float, *, bounded_by_estimate: bool) -> Callable[[], list[str]]:
        def run() -> list[str]:
            found = recommend(graph, lat, lon, units, config.k, adaptive=bounded_by_estimate)
            return [r.unit_id for r in found]

        return run

    for lat, lon in points:
        elapsed, top = _timed(ours(lat, lon, bounded_by_estimate=True))
        adaptive.append(elapsed)
        tops.append(top)
        elapsed, top_plain = _timed(ours(lat, lon, bounded_by_estimate=False))
        plain.append(elapsed)
        disagree_plain += top_plain != top
    build_start = time.perf_counter()
    reverse = _to_networkx(graph)
    nx_build_s = time.perf_counter() - build_start
    naive: list[float] = []
    disagree_naive = 0
    for (lat, lon), top in list(zip(points, tops, strict=True))[: config.naive_incidents]:
        elapsed, top_nx = _timed(
            partial(
                _networkx_recommend,
                graph,
                reverse=reverse,
                lat=lat,
                lon=lon,
                units=units,
                k=config.k,
            )
        )
        naive.append(elapsed)
        disagree_naive += top_nx != top
    result: dict[str, Any] = {
        "graph": name,
        "nodes": graph.node_count,
        "edges": graph.edge_count,
        "units": config.units,
        "k": config.k,
        "adaptive": _percentiles(adaptive),
        "plain_limit_1h": _percentiles(plain),
        "networkx_full": _percentiles(naive),
        "networkx_graph_build_s": round(nx_build_s, 2),
        "top_k_differs_plain": disagree_plain,
        "top_k_differs_networkx": disagree_naive,
    }
    result["speedup_median_vs_networkx"] = round(
        result["networkx_full"]["median_ms"] / max(result["adaptive"]["median_ms"], 1e-9), 1
    )
    return result


def run_bench(config: BenchConfig) -> dict[str, Any]:
    """Every figure of ``ng112 bench recommend`` as one JSON-ready dictionary."""
    graphs: list[dict[str, Any]] = []
    notes: list[str] = []
    if config.rize is not None and config.rize.is_file():
        start = time.perf_counter()
        rize = RoadGraph.from_graphml(config.rize)
        load_s = time.perf_counter() - start
        figures = bench_graph("rize_center_drive", rize, config)
        figures["load_s"] = round(load_s, 3)
        graphs.append(figures)
    else:
        notes.append("Rize graph not found: synthetic graph only")
    start = time.perf_counter()
    city = synthetic_city(config.side, config.seed)
    build_s = time.perf_counter() - start
    figures = bench_graph(f"synthetic_grid_{config.side}x{config.side}", city, config)
    figures["build_s"] = round(build_s, 2)
    graphs.append(figures)
    return {
        "benchmark": "recommend",
        "limit_s": DEFAULT_LIMIT_S,
        "target": "p99 <= 5 ms per incident on the 100,000-node graph",
        "graphs": graphs,
        "notes": notes,
    }


def render(result: dict[str, Any]) -> str:
    """A plain table followed by the JSON object (one line)."""
    import json  # noqa: PLC0415 - only the renderer needs it

    header = f"{'graph':<28} {'nodes':>8} {'method':<16} {'median ms':>10} {'p99 ms':>9} {'n':>5}"
    lines = [header, "-" * len(header)]
    for figures in result["graphs"]:
        for method in ("adaptive", "plain_limit_1h", "networkx_full"):
            p = figures[method]
            lines.append(
                f"{figures['graph']:<28} {figures['nodes']:>8,} {method:<16} "
                f"{p['median_ms']:>10.3f} {p['p99_ms']:>9.3f} {p['n']:>5}"
            )
        lines.append(
            f"{'':<28} {'':>8} adaptive is {figures['speedup_median_vs_networkx']}x faster than "
            f"NetworkX (median); top-{figures['k']} differs: plain "
            f"{figures['top_k_differs_plain']}, NetworkX {figures['top_k_differs_networkx']}"
        )
    lines.extend(f"note: {note}" for note in result["notes"])
    lines.append(f"target: {result['target']}")
    return "\n".join(lines) + "\n" + json.dumps(result, ensure_ascii=False)
