"""The nearest polygon of a set, in great-circle km, for points off land.

Where :class:`routing.locate.Gazetteer` finds a point outside every district (a beach, a
harbour, the sea) it asks :class:`Nearest` for the nearest district and the nearest foreign
land: the polygon with the least great-circle distance, the km, and the nearest point itself.
The polygons' rings are cut into short boundary pieces (the distance from a point outside a
polygon is its distance to the boundary); a :class:`_PieceTable` over them answers in tens of
microseconds with a few vectorised steps: a raster of each cell's nearest boundary sample
(coast distance bounds from both sides, and regions no boundary crosses), a bucket index of
the pieces near each cell, box bounds, then GEOS's own segment formulas for near ties, so that
every answer is the same double as the plain STRtree algorithm's. That algorithm is kept as
:meth:`Nearest.nearest_reference`: the definition the table follows, the fallback where the
table declines (far out at sea, off its raster), and the reference in the tests.

Distances are planar in lon/lat for finding pieces and great-circle km (haversine) for ranking.
"""

from __future__ import annotations

import math
from array import array
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import shapely
from scipy import ndimage

__all__ = [
    "RASTER_STEP",
    "Nearest",
    "haversine_km",
    "km_one",
    "segment_distance",
    "segment_foot",
]

_EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat: float, lon: float, lats: Any, lons: Any) -> Any:
    """Great-circle km from (lat, lon) to each point of ``lats``, ``lons`` (degrees)."""
    p1, p2 = math.radians(lat), np.radians(lats)
    dp = p2 - p1
    dl = np.radians(lons) - math.radians(lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


#: Vertices per boundary piece: short pieces make exact nearest queries cheap.
_PIECE_VERTICES = 32


def _boundary_pieces(geoms: Any) -> tuple[Any, npt.NDArray[np.intp]]:
    """Every polygon's rings cut into short linestrings, with the polygon each belongs to.

    The distance from a point outside a polygon to the polygon is its distance to the
    boundary, so the nearest piece gives the nearest polygon exactly; measuring against
    pieces of a few dozen vertices is far cheaper than against whole coastlines.
    """
    pieces: list[Any] = []
    owners: list[int] = []
    for owner, geom in enumerate(geoms):
        for ring in shapely.get_parts(shapely.boundary(geom)):
            coords = shapely.get_coordinates(ring)
            step = _PIECE_VERTICES - 1
            for first in range(0, max(len(coords) - 1, 1), step):
                chunk = coords[first : first + _PIECE_VERTICES]
                if len(chunk) >= 2:
                    pieces.append(chunk)
                    owners.append(owner)
    lines = shapely.linestrings(
        np.concatenate(pieces), indices=np.repeat(np.arange(len(pieces)), [len(p) for p in pieces])
    )
    return lines, np.asarray(owners, dtype=np.intp)


#: What a nearest lookup answers when nothing is within reach.
_NONE_WITHIN = (-1, math.inf, math.nan, math.nan)

#: Cell size (degrees) of :class:`_PieceTable`'s raster of nearest boundary samples.
RASTER_STEP = 1.0 / 64.0
#: Lookups needing a wider search box (degrees) go to the STRtree instead.
_MAX_SEARCH_DEG = 0.3
#: Bound (degrees, about 1 µm) on how far a vectorised distance or foot point may be from
#: the one GEOS computes: both subtract nearby doubles exactly, then round a few times.
_SLACK_DEG = 1e-11
#: Padding vertex of the table: farther from any coordinate than any search reaches.
_FAR = complex(1.0e4, 1.0e4)


def segment_distance(x: float, y: float, a: complex, b: complex) -> float:
    """Planar distance from (x, y) to segment AB, as GEOS ``Distance::pointToSegment``.

    The same operations in the same order, so the same double.
    """
    ax, ay, bx, by = a.real, a.imag, b.real, b.imag
    if ax == bx and ay == by:
        return math.sqrt((x - ax) * (x - ax) + (y - ay) * (y - ay))
    dx = bx - ax
    dy = by - ay
    len2 = dx * dx + dy * dy
    r = ((x - ax) * dx + (y - ay) * dy) / len2
    if r <= 0.0:
        return math.sqrt((x - ax) * (x - ax) + (y - ay) * (y - ay))
    if r >= 1.0:
        return math.sqrt((x - bx) * (x - bx) + (y - by) * (y - by))
    s = ((ay - y) * dx - (ax - x) * dy) / len2
    return abs(s) * math.sqrt(len2)


def segment_foot(x: float, y: float, a: complex, b: complex) -> tuple[float, float]:
    """The point of segment AB nearest to (x, y), as GEOS ``LineSegment::closestPoint``."""
    ax, ay, bx, by = a.real, a.imag, b.real, b.imag
    if x == ax and y == ay:
        factor = 0.0
    elif x == bx and y == by:
        factor = 1.0
    else:
        dx = bx - ax
        dy = by - ay
        len2 = dx * dx + dy * dy
        # GEOS divides by zero here (inf or NaN), which picks an end point below.
        factor = ((x - ax) * dx + (y - ay) * dy) / len2 if len2 else math.nan
    if 0.0 < factor < 1.0:
        return ax + factor * (bx - ax), ay + factor * (by - ay)
    to_a = math.sqrt((ax - x) * (ax - x) + (ay - y) * (ay - y))
    to_b = math.sqrt((bx - x) * (bx - x) + (by - y) * (by - y))
    return (ax, ay) if to_a < to_b else (bx, by)


def _envelope_distance(x: float, y: float, box: list[float]) -> float:
    """GEOS ``Envelope::distance`` from the point (x, y) to ``box``, as ``isWithinDistance``."""
    minx, miny, maxx, maxy = box
    dx = max(x, maxx) - min(x, minx) - (x - x) - (maxx - minx)
    dy = max(y, maxy) - min(y, miny) - (y - y) - (maxy - miny)
    dx = max(0.0, dx)
    dy = max(0.0, dy)
    return math.sqrt(dx * dx + dy * dy)


def _km_within(planar: float) -> float:
    """An upper bound on the great-circle km of a point at most ``planar`` degrees away in
    lon/lat (sin u <= u, cos <= 1, asin v <= v / sqrt(1 - v²))."""
    half = math.radians(planar) / 2
    return 2 * _EARTH_RADIUS_KM * half / math.sqrt(1 - half * half) * (1 + 1e-9)


def km_one(lat: float, lon: float, to_lat: float, to_lon: float) -> float:
    """:func:`haversine_km` of one point: numpy's functions on scalars, the same double."""
    p1, p2 = math.radians(lat), math.radians(to_lat)
    half_dp = np.sin((p2 - p1) / 2)
    half_dl = np.sin((math.radians(to_lon) - math.radians(lon)) / 2)
    a = half_dp * half_dp + math.cos(p1) * np.cos(p2) * (half_dl * half_dl)
    return float(2 * _EARTH_RADIUS_KM * np.arcsin(math.sqrt(min(max(a, 0.0), 1.0))))


class _Search(NamedTuple):
    """What :meth:`_PieceTable.search` gathered around a point for a nearest lookup.

    ``found`` is ``None`` when nothing is within reach; ``gap_x`` and ``gap_y`` are the
    squared gaps from the point to each found piece's bounding box, ``above`` an upper bound
    on the least planar distance.
    """

    lat: float
    lon: float
    cos_lat: float
    reach_deg: float
    radius: float
    found: Any
    gap_x: Any
    gap_y: Any
    above: float


class _PieceTable:
    """The nearest boundary piece without shapely per call: the same answers as the tree.

    :meth:`Nearest.nearest_reference` asks the STRtree for the distance ``d`` of the
    nearest piece (planar lon/lat), takes every piece within ``d / cos(lat)``, the nearest
    point of each (GEOS, planar) and the first piece (in tree order) of least great-circle km.
    This table reaches the same answer with a few vectorised steps over the pieces near the
    point, all kept in tree order:

    - a raster (1/64°) holds, per cell, a boundary sample of the nearest cell that has one:
      it bounds ``d`` from both sides, which sizes the search (a few cells of a bucket index
      of pieces) or shows that nothing is in reach (:meth:`none_within`);
    - piece bounding boxes give lower bounds on planar distance and on km; only the pieces
      that can hold the nearest point or match its km get per-segment work (a padded table
      of 31 segments per piece, as complex lon + i·lat);
    - near-ties are settled with GEOS's own formulas in Python, the km with
      :func:`haversine_km`'s operations, so the result is the same double.

    :meth:`coast` stops after the box bounds (km bounds and candidate owners, enough to place
    most points at sea). :meth:`search` declines (``None``: the caller asks the tree) where
    it would need a wide search (far out at sea, off the raster) or where the data has
    zero-length segments. With ``clear``, the raster also labels the regions that no
    boundary crosses (:meth:`clear_region`).
    """

    __slots__ = (
        "_bounds",
        "_box",
        "_clear",
        "_clear_points",
        "_cols",
        "_entries",
        "_len2",
        "_middle",
        "_nearest",
        "_offsets",
        "_owners",
        "_rows",
        "_sample_cell",
        "_sample_x",
        "_sample_y",
        "_segments",
        "_south",
        "_step",
        "_usable",
        "_verts",
        "_west",
    )

    def __init__(
        self,
        pieces: Any,
        owners: Any,
        tree: Any,
        region: tuple[float, float, float, float],
        *,
        step: float = RASTER_STEP,
        clear: bool = False,
    ) -> None:
        """Index ``pieces`` (linestrings of at most 32 vertices) over ``region`` (w, s, e, n)
        with a raster of ``step`` degrees; with ``clear``, also label the raster's regions
        that no boundary crosses."""
        # Tree order: the order in which every STRtree query lists the pieces it finds.
        order = tree.query(shapely.box(*shapely.total_bounds(pieces)))
        self._usable = len(order) == len(pieces)
        # Only pieces reaching into the region: lookups leave the table before needing others.
        west, south, east, north = region
        bounds = shapely.bounds(pieces[order])
        inside = (
            (bounds[:, 0] <= east)
            & (bounds[:, 2] >= west)
            & (bounds[:, 1] <= north)
            & (bounds[:, 3] >= south)
        )
        order, bounds = order[inside], bounds[inside]
        pieces = pieces[order]
        self._owners = owners[order]
        count = len(pieces)
        coords, index = shapely.get_coordinates(pieces, return_index=True)
        sizes = np.bincount(index, minlength=count)
        slot = np.arange(len(coords)) - (np.cumsum(sizes) - sizes)[index]
        verts = np.full((count, _PIECE_VERTICES), _FAR, dtype=np.complex128)
        verts.real[index, slot] = coords[:, 0]
        verts.imag[index, slot] = coords[:, 1]
        edges = verts[:, 1:] - verts[:, :-1]
        len2 = edges.real * edges.real + edges.imag * edges.imag
        del edges
        real = np.arange(_PIECE_VERTICES - 1) < (sizes - 1)[:, None]
        # A padding slot projects to its start (t = 0): the piece's last vertex, or far away.
        len2[~real] = np.inf
        self._usable = self._usable and not bool(np.any(real & (len2 == 0.0)))
        self._verts = verts
        self._len2 = len2
        self._segments: list[int] = (sizes - 1).tolist()
        self._middle = verts[np.arange(count), (sizes - 1) // 2]
        self._bounds = bounds
        # Centre x, y and half-widths x, y, the latter a hair wide so that gaps computed from
        # them never exceed the true gaps.
        self._box = np.column_stack(
            (
                (bounds[:, 0] + bounds[:, 2]) / 2,
                (bounds[:, 1] + bounds[:, 3]) / 2,
                (bounds[:, 2] - bounds[:, 0]) / 2 + _SLACK_DEG,
                (bounds[:, 3] - bounds[:, 1]) / 2 + _SLACK_DEG,
            )
        )
        self._west, self._south = west, south
        self._step = step
        self._cols = math.ceil((east - west) / step)
        self._rows = math.ceil((north - south) / step)
        cell, piece, point = self._samples(coords, index)
        self._nearest_sample(cell, point)
        self._clear, self._clear_points = self._clear_regions(cell) if clear else (array("i"), [])
        # Bucket index: 2 x 2 raster cells per bucket, the pieces sampled in each (tree order).
        bucket_cols = (self._cols + 1) // 2
        bucket = (cell // self._cols // 2) * bucket_cols + (cell % self._cols) // 2
        key = bucket * count + piece
        repeat = np.zeros(len(key), dtype=bool)
        repeat[1:] = key[1:] == key[:-1]  # a piece's samples come in order: most repeat
        pairs = np.unique(key[~repeat])
        self._entries = (pairs % count).astype(np.int32)
        buckets = bucket_cols * ((self._rows + 1) // 2)
        per_bucket = np.bincount(pairs // count, minlength=buckets)
        self._offsets = np.concatenate(([0], np.cumsum(per_bucket)))

    def _samples(self, coords: Any, index: Any) -> tuple[Any, Any, Any]:
        """Raster cell, piece and position (lon + i·lat) of boundary samples: every vertex,
        and every half cell along longer segments (every boundary point is within a quarter
        cell of a sample)."""
        step = self._step
        west, south = self._west, self._south
        east, north = west + self._cols * step, south + self._rows * step
        x0, y0 = coords[:-1, 0], coords[:-1, 1]
        dx, dy = np.diff(coords[:, 0]), np.diff(coords[:, 1])
        span = np.maximum(np.abs(dx), np.abs(dy))
        longer = np.flatnonzero(
            (index[1:] == index[:-1])
            & (span > step / 2)
            & (np.minimum(x0, x0 + dx) < east)
            & (np.maximum(x0, x0 + dx) > west)
            & (np.minimum(y0, y0 + dy) < north)
            & (np.maximum(y0, y0 + dy) > south)
        )
        extra = np.ceil(span[longer] / (step / 2)).astype(np.int64) - 1
        origin = np.repeat(longer, extra)
        first = np.repeat(np.cumsum(extra) - extra, extra)
        fraction = (np.arange(int(extra.sum())) - first + 1) / np.repeat(extra + 1, extra)
        xs = np.concatenate((coords[:, 0], x0[origin] + fraction * dx[origin]))
        ys = np.concatenate((coords[:, 1], y0[origin] + fraction * dy[origin]))
        piece = np.concatenate((index, index[origin]))
        col = np.floor((xs - west) / step)
        row = np.floor((ys - south) / step)
        inside = (col >= 0) & (col < self._cols) & (row >= 0) & (row < self._rows)
        cell = row[inside].astype(np.int64) * self._cols + col[inside].astype(np.int64)
        point = xs[inside] + 1j * ys[inside]
        return cell, piece[inside].astype(np.int64), point

    def _clear_regions(self, cell: Any) -> tuple[array[int], list[tuple[float, float]]]:
        """Label (1, 2, ...) the connected raster regions that no boundary crosses, with a
        point (lat, lon) in each; 0 where a boundary may pass.

        A boundary point is within a quarter cell of a sample, so it lies in a cell next to
        (or holding) a sample; cells clear of samples all around, joined edge to edge, are
        then on one side of every boundary. The raster's rim is never clear (beyond it the
        boundary is not sampled).
        """
        step = self._step
        occupied = np.zeros(self._rows * self._cols, dtype=bool)
        occupied[cell] = True
        near = ndimage.binary_dilation(
            occupied.reshape(self._rows, self._cols), structure=np.ones((3, 3), dtype=bool)
        )
        near[0, :] = near[-1, :] = near[:, 0] = near[:, -1] = True
        labels, _ = ndimage.label(~near)
        points: list[tuple[float, float]] = []
        for label, box in enumerate(ndimage.find_objects(labels), start=1):
            rows, cols = np.nonzero(labels[box] == label)
            row, col = box[0].start + int(rows[0]), box[1].start + int(cols[0])
            points.append((self._south + (row + 0.5) * step, self._west + (col + 0.5) * step))
        return array("i", labels.astype(np.int32).ravel().tobytes()), points

    def clear_region(self, lat: float, lon: float) -> int:
        """The clear region (see :meth:`_clear_regions`) holding the point, or 0."""
        step = self._step
        col = math.floor((lon - self._west) / step)
        row = math.floor((lat - self._south) / step)
        if not (self._clear and 0 <= col < self._cols and 0 <= row < self._rows):
            return 0
        return self._clear[row * self._cols + col]

    @property
    def clear_points(self) -> list[tuple[float, float]]:
        """A point (lat, lon) in each clear region, region 1 first."""
        return self._clear_points

    def _nearest_sample(self, cell: Any, point: Any) -> None:
        """For every raster cell, one sample in the nearest cell (centre to centre) that has
        one: its position and that cell (the raster's bounds on boundary distance)."""
        first_of = np.full(self._rows * self._cols, -1, dtype=np.int64)
        first_of[cell[::-1]] = np.arange(len(cell) - 1, -1, -1)  # the first sample wins
        occupied = np.flatnonzero(first_of >= 0)
        first = first_of[occupied]
        # Plain arrays: single items read from them far faster than from numpy arrays.
        self._sample_x = array("d", point[first].real.tolist())
        self._sample_y = array("d", point[first].imag.tolist())
        self._sample_cell = array("i", occupied.astype(np.int32).tobytes())
        if len(occupied) == 0:
            self._usable = False
            self._nearest = array("i")
            return
        empty = np.ones(self._rows * self._cols, dtype=bool)
        empty[occupied] = False
        where = ndimage.distance_transform_edt(
            empty.reshape(self._rows, self._cols), return_distances=False, return_indices=True
        )
        number = np.zeros(self._rows * self._cols, dtype=np.int32)
        number[occupied] = np.arange(len(occupied), dtype=np.int32)
        self._nearest = array("i", number[where[0] * self._cols + where[1]].tobytes())

    def _reach(self, lat: float, lon: float) -> tuple[float, float, float] | None:
        """(lower, upper) bounds on the planar distance to the boundary, from the raster, and
        the distance to the raster's edge; ``None`` off the raster."""
        step = self._step
        x, y = lon - self._west, lat - self._south
        col, row = math.floor(x / step), math.floor(y / step)
        if not (self._usable and 0 <= col < self._cols and 0 <= row < self._rows):
            return None
        # Outside the raster the boundary is not sampled: it is at least this far.
        edge = min(x, self._cols * step - x, y, self._rows * step - y)
        k = self._nearest[row * self._cols + col]
        o_row, o_col = divmod(self._sample_cell[k], self._cols)
        # No cell centre holding a sample is nearer to this cell's centre than o's; the point
        # is off its centre, a sample off its centre by half a diagonal at most, and a
        # boundary point a quarter cell off some sample.
        centres = math.hypot((col - o_col) * step, (row - o_row) * step)
        off_centre = math.hypot(x - (col + 0.5) * step, y - (row + 0.5) * step)
        lower = centres - off_centre - (math.sqrt(0.5) + 0.25) * step
        lower = min(lower * (1 - 1e-9), edge)
        upper = math.hypot(lon - self._sample_x[k], lat - self._sample_y[k])
        upper = upper * (1 + 1e-9) + _SLACK_DEG
        return lower, upper, edge

    def none_within(self, lat: float, lon: float, within_km: float) -> bool:
        """Whether :meth:`nearest` surely finds nothing within ``within_km``."""
        cos_lat = max(math.cos(math.radians(lat)), 0.01)
        reach = self._reach(lat, lon)
        return reach is not None and reach[0] > within_km / (111.0 * cos_lat) + 0.01

    def _search_radius(
        self, lat: float, reach: tuple[float, float, float], reach_deg: float
    ) -> float | None:
        """How far to gather pieces (the widest window ``d / cos(lat)``), or ``None``."""
        cos_lat = max(math.cos(math.radians(lat)), 0.01)
        radius = min(reach[1], reach_deg) / cos_lat + 1e-9
        if radius > _MAX_SEARCH_DEG or abs(lat) + radius >= 89.0:
            return None
        if radius + self._step / 2 >= reach[2]:
            return None  # the bucket index only holds the raster's part of the boundary
        return radius

    def _gather(self, lat: float, lon: float, radius: float) -> Any:
        """The pieces (tree order, possibly repeated) with a sample within ``radius``."""
        step = 2 * self._step
        reach = radius + self._step / 4 + _SLACK_DEG
        bucket_cols = (self._cols + 1) // 2
        c0 = max(math.floor((lon - reach - self._west) / step), 0)
        c1 = min(math.floor((lon + reach - self._west) / step), bucket_cols - 1)
        r0 = max(math.floor((lat - reach - self._south) / step), 0)
        r1 = min(math.floor((lat + reach - self._south) / step), (self._rows + 1) // 2 - 1)
        offsets, entries = self._offsets, self._entries
        parts = [
            entries[offsets[r * bucket_cols + c0] : offsets[r * bucket_cols + c1 + 1]]
            for r in range(r0, r1 + 1)
        ]
        return np.concatenate(parts) if parts else entries[:0]

    def _box_bounds(self, found: Any, here: Any) -> tuple[Any, Any, float]:
        """Per piece the squared box gaps (x, y) from ``here`` and an upper bound on the
        least planar distance (to the nearest middle vertex)."""
        box = self._box.take(found, axis=0)
        gap = np.abs(box[:, :2] - here) - box[:, 2:]
        np.maximum(gap, 0.0, out=gap)
        gap *= gap
        to_middle = np.abs(self._middle.take(found) - complex(here[0], here[1]))
        above = float(to_middle[to_middle.argmin()]) * (1 + 1e-9) + _SLACK_DEG
        return gap[:, 0], gap[:, 1], above

    def search(self, lat: float, lon: float, within_km: float) -> _Search | None:
        """The pieces around the point that a nearest lookup needs, or ``None`` where the
        table cannot help (the tree must answer)."""
        cos_lat = max(math.cos(math.radians(lat)), 0.01)
        reach_deg = within_km / (111.0 * cos_lat) + 0.01
        reach = self._reach(lat, lon)
        if reach is None:
            return None
        if reach[0] > reach_deg:
            return _Search(lat, lon, cos_lat, reach_deg, 0.0, None, None, None, math.inf)
        radius = self._search_radius(lat, reach, reach_deg)
        if radius is None:
            return None
        found = self._gather(lat, lon, radius)
        if len(found) == 0:
            return _Search(lat, lon, cos_lat, reach_deg, radius, None, None, None, math.inf)
        gap_x, gap_y, above = self._box_bounds(found, np.array((lon, lat)))
        above = min(above, reach[1])  # both bound the least distance from above
        return _Search(lat, lon, cos_lat, reach_deg, radius, found, gap_x, gap_y, above)

    def nearest(self, search: _Search) -> tuple[int, float, float, float]:
        """What :meth:`Nearest.nearest_reference` answers, from a :meth:`search`."""
        lat, lon, cos_lat, reach_deg, radius, found, gap_x, gap_y, above = search
        if found is None:
            return _NONE_WITHIN
        # Measured: every piece that can hold the nearest point (within ``above``) or match
        # its km (within the window, and within the km of a foot at most ``above`` away).
        per_degree, squeeze = self._km_per_degree(lat, radius)
        window_most = (above / cos_lat + 1e-9) * (1 + 1e-9) + _SLACK_DEG
        km_most = _km_within(above) / per_degree + _SLACK_DEG
        pieces: list[int] = sorted(
            set(
                found[
                    (gap_x + gap_y <= window_most * window_most)
                    & (gap_y + squeeze * gap_x <= km_most * km_most)
                ].tolist()
            )
        )
        rows, offsets, gaps = self._segment_gaps(pieces, complex(lon, lat))
        nearest = self._least(lon, lat, pieces, rows, gaps)
        if nearest is None or nearest[0] > reach_deg:
            return _NONE_WITHIN
        d0, piece0, seg_a, seg_b = nearest
        foot_x, foot_y = segment_foot(lon, lat, seg_a, seg_b)
        answer0 = (int(self._owners[piece0]), km_one(lat, lon, foot_y, foot_x), foot_y, foot_x)
        limit_km = answer0[1] * (1 + 1e-9) / per_degree + _SLACK_DEG
        return self._closest_rival(
            lat,
            lon,
            (pieces, rows, offsets, gaps),
            window=d0 / cos_lat + 1e-9,
            known=(piece0, seg_a, seg_b, answer0),
            bound=(squeeze, limit_km * limit_km),
        )

    @staticmethod
    def _km_per_degree(lat: float, radius: float) -> tuple[float, float]:
        """(k, s): within ``radius`` degrees of ``lat``, great-circle km >= k·sqrt(dy² + s·dx²)
        for offsets (dx, dy) in degrees (sin u >= u (1 - u²/6), asin v >= v, and cos of the
        far latitude for the second factor)."""
        half_span = math.radians(radius) / 2
        per_degree = _EARTH_RADIUS_KM * math.pi / 180 * (1 - half_span * half_span / 6)
        squeeze = math.cos(math.radians(lat)) * math.cos(math.radians(abs(lat) + radius))
        return per_degree * (1 - 1e-9), squeeze * (1 - 1e-9)

    def coast(self, search: _Search) -> tuple[float, float, Any] | None:
        """Bounds on what :meth:`nearest` answers, without its per-segment work:
        ``(low, high, owners)`` with ``low <= km <= high`` and the owner among ``owners``
        (never -1), or ``None`` when a piece may not be within reach."""
        found, gap_x, gap_y, above = search.found, search.gap_x, search.gap_y, search.above
        if found is None or above > search.reach_deg:
            return None
        high = _km_within(above)  # the winner's foot is at most ``above`` away (planar)
        per_degree, squeeze = self._km_per_degree(search.lat, search.radius)
        low_km = gap_y + squeeze * gap_x  # squared, in degrees: km >= per_degree·sqrt(this)
        limit_km = high / per_degree + _SLACK_DEG
        low = per_degree * math.sqrt(float(low_km[low_km.argmin()])) * (1 - 1e-9)
        return low, high, self._owners.take(found[low_km <= limit_km * limit_km])

    def _segment_gaps(self, pieces: list[int], here: complex) -> tuple[Any, Any, Any]:
        """Per piece: its vertex row, and per segment ``here`` minus the (approximate) foot
        point and its length (the approximate distance)."""
        rows = self._verts.take(pieces, axis=0)
        start = rows[:, :-1]
        step = rows[:, 1:] - start
        offset = here - start
        along = (offset * step.conjugate()).real / self._len2.take(pieces, axis=0)
        np.maximum(along, 0.0, out=along)
        np.minimum(along, 1.0, out=along)
        offset -= along * step
        return rows, offset, np.abs(offset)

    def _least(
        self, lon: float, lat: float, pieces: list[int], rows: Any, gaps: Any
    ) -> tuple[float, int, complex, complex] | None:
        """The exact least planar distance over ``pieces``, and the first piece (in ``pieces``
        order) and its first segment (A, B) at that distance: GEOS's nearest segment."""
        if not pieces:
            return None
        limit = float(gaps.flat[int(gaps.argmin())]) + 2 * _SLACK_DEG
        best: tuple[float, int, complex, complex] | None = None
        width = _PIECE_VERTICES - 1
        for flat in np.flatnonzero(gaps <= limit).tolist():
            k, j = divmod(flat, width)
            if j >= self._segments[pieces[k]]:
                continue
            a, b = rows[k, j].item(), rows[k, j + 1].item()
            distance = segment_distance(lon, lat, a, b)
            if best is None or distance < best[0]:
                best = (distance, pieces[k], a, b)
        return best

    def _closest_rival(
        self,
        lat: float,
        lon: float,
        measured: tuple[list[int], Any, Any, Any],
        *,
        window: float,
        known: tuple[int, complex, complex, tuple[int, float, float, float]],
        bound: tuple[float, float],
    ) -> tuple[int, float, float, float]:
        """Among the ``measured`` pieces (tree order) within ``window``, the first of least km.

        ``measured``: pieces with their :meth:`_segment_gaps`; ``known``: the nearest piece,
        its nearest segment (A, B) and its answer; ``bound`` (squeeze, limit): a foot offset
        (dx, dy) can match ``known``'s km only if dy² + squeeze·dx² <= limit.
        """
        pieces, rows, offsets, gaps = measured
        squeeze, limit = bound
        weighted = offsets.imag * offsets.imag
        weighted += squeeze * (offsets.real * offsets.real)
        weighted[gaps > window + _SLACK_DEG] = np.inf
        hopeful = np.flatnonzero(weighted.min(axis=1) <= limit).tolist()
        known_piece, known_a, known_b, known_answer = known
        if len(hopeful) == 1 and pieces[hopeful[0]] == known_piece:
            return known_answer  # the usual case: no other piece comes close in km
        best: tuple[int, float, float, float] | None = None
        width = _PIECE_VERTICES - 1
        for k in hopeful:
            piece = pieces[k]
            row_gaps = gaps[k]
            first: tuple[float, complex, complex] | None = None
            limit_gap = float(row_gaps[int(row_gaps.argmin())]) + 2 * _SLACK_DEG
            for j in np.flatnonzero(row_gaps <= limit_gap).tolist():
                if j >= min(self._segments[piece], width):
                    continue
                a, b = rows[k, j].item(), rows[k, j + 1].item()
                distance = segment_distance(lon, lat, a, b)
                if first is None or distance < first[0]:
                    first = (distance, a, b)
            if first is None or first[0] > window:
                continue
            if _envelope_distance(lon, lat, self._bounds[piece].tolist()) > window:
                continue
            _, a, b = first
            foot_x, foot_y = segment_foot(lon, lat, a, b)
            same = a == known_a and b == known_b
            km = known_answer[1] if same else km_one(lat, lon, foot_y, foot_x)
            if best is None or km < best[1]:
                best = (int(self._owners[piece]), km, foot_y, foot_x)
        if best is None:  # cannot happen: the nearest piece is always hopeful
            raise AssertionError("no piece within the window")
        return best


class Nearest:
    """Nearest polygon of a set in great-circle km, through an STRtree of boundary pieces.

    With a ``region``, lookups there go through a :class:`_PieceTable` (the same answers,
    several times faster); elsewhere, and where the table declines, through the tree.
    """

    __slots__ = ("_owners", "_pieces", "_table", "_tree")

    def __init__(
        self,
        geoms: Any,
        region: tuple[float, float, float, float] | None = None,
        *,
        step: float = RASTER_STEP,
        clear: bool = False,
    ) -> None:
        self._pieces, self._owners = _boundary_pieces(geoms)
        self._tree = shapely.STRtree(self._pieces)
        self._table = (
            _PieceTable(self._pieces, self._owners, self._tree, region, step=step, clear=clear)
            if region
            else None
        )

    def nearest(
        self, lat: float, lon: float, within_km: float, search: _Search | None = None
    ) -> tuple[int, float, float, float]:
        """(index, km, lat, lon of the nearest point), index -1 when none is within reach.

        Only for points outside every polygon of the set (inside, the distance is 0).
        ``search``: this point's :meth:`search`, when the caller already has it.
        """
        if search is None:
            search = self.search(lat, lon, within_km)
        if search is not None and self._table is not None:
            return self._table.nearest(search)
        return self.nearest_reference(lat, lon, within_km)

    def search(self, lat: float, lon: float, within_km: float) -> _Search | None:
        """The table's search around the point, or ``None`` where only the tree can answer."""
        return None if self._table is None else self._table.search(lat, lon, within_km)

    def coast(self, search: _Search) -> tuple[float, float, Any] | None:
        """Bounds on :meth:`nearest` without its exact work: ``(low, high, owners)`` with
        ``low <= km <= high`` and the index among ``owners`` (never -1); ``None`` when they
        are not to be had cheaply."""
        return None if self._table is None else self._table.coast(search)

    def none_within(self, lat: float, lon: float, within_km: float) -> bool:
        """Whether :meth:`nearest` surely answers -1 (nothing within ``within_km``)."""
        return self._table is not None and self._table.none_within(lat, lon, within_km)

    def clear_region(self, lat: float, lon: float) -> int:
        """A region (1, 2, ...) no boundary crosses that holds the point, or 0 (see
        :meth:`_PieceTable.clear_region`): every point of a region is inside the same
        polygons."""
        return 0 if self._table is None else self._table.clear_region(lat, lon)

    @property
    def clear_points(self) -> list[tuple[float, float]]:
        """A point (lat, lon) in each clear region, region 1 first."""
        return [] if self._table is None else self._table.clear_points

    def nearest_reference(
        self, lat: float, lon: float, within_km: float
    ) -> tuple[int, float, float, float]:
        """:meth:`nearest` straight through the STRtree: the definition the table follows."""
        point = shapely.Point(lon, lat)
        cos_lat = max(math.cos(math.radians(lat)), 0.01)
        reach_deg = within_km / (111.0 * cos_lat) + 0.01
        hits, dists = self._tree.query_nearest(
            point, max_distance=reach_deg, return_distance=True, all_matches=False
        )
        if len(hits) == 0:
            return _NONE_WITHIN
        window = float(dists[0]) / cos_lat + 1e-9
        candidates = self._tree.query(point, predicate="dwithin", distance=window)
        lines = shapely.shortest_line(self._pieces[candidates], point)
        ends = shapely.get_coordinates(shapely.get_point(lines, 0))
        km = haversine_km(lat, lon, ends[:, 1], ends[:, 0])
        best = int(np.argmin(km))
        owner = int(self._owners[candidates[best]])
        return owner, float(km[best]), float(ends[best, 1]), float(ends[best, 0])
