"""Point -> grid locator: which grid (网格) contains a longitude/latitude point.

``GridIndex.build(items)`` takes ``(grid_id, code, geometry)`` triples, where
``geometry`` is a GeoJSON dict (``Polygon`` or ``MultiPolygon``, coordinates
``[lon, lat]`` in WGS-84, holes allowed; a shapely geometry is accepted too).
``locate(lon, lat)`` answers one point, ``locate_many(lon, lat)`` answers numpy
arrays of points.  All geometry is planar in lon/lat degrees.

Semantics (exact, identical for ``locate`` and ``locate_many``):

* A point strictly inside a grid's polygon belongs to that grid.  A point in a
  hole is *not* in the grid with the hole; it belongs to whichever grid fills
  the hole, or to none.  For a MultiPolygon any part counts.
* A point exactly on a boundary belongs to a grid whose *closed* polygon covers
  it (GEOS ``intersects``/``covers`` with exact orientation predicates).  When
  several grids cover the point (a shared edge, a shared vertex, or grids that
  overlap), the grid with the smallest ``code`` in plain string order wins
  (ties between equal codes: smallest ``grid_id``).  So every point on a shared
  edge gets exactly one deterministic answer.
* A point outside every grid gives ``None`` (``locate``) / ``-1``
  (``locate_many``).  NaN, infinite or out-of-range coordinates give ``None`` /
  ``-1``; nothing here raises for a bad point.
* Invalid polygons (self-intersections, ...) are repaired once with
  ``shapely.make_valid`` at build time and the repaired polygon is used.

Design.  A uniform raster of cells covers the grids' bounding box (plus one
cell of margin), with the cell size chosen from the data: cells are roughly
square in metres and a median grid spans about ``CELLS_PER_GRID_SIDE`` cells
across, with at most ``MAX_CELLS`` cells in all.  Each cell of an ``int32``
array holds:

* ``-1``: no grid touches the cell -> answer "none" without geometry;
* ``r >= 0``: the cell lies in the interior of exactly one grid (rank ``r``)
  and touches no other grid -> answer directly, without geometry;
* ``-2 - k``: a "mixed" cell; slot ``k`` of a CSR candidate list holds every
  grid that may touch the cell, ordered by code.  Candidates are tested
  exactly with shapely prepared geometries (``intersects_xy``, i.e. closed
  polygon) and the first hit wins, which gives the smallest-code rule.
  A mixed cell is flagged "full" when every point of it is covered by some
  candidate (its centre is covered and every boundary edge near it is shared,
  bit for bit and in opposite direction, by two grids); then the last
  candidate is answered without a test, since nothing else can cover the point.

The build is vectorised: every polygon boundary is densified to pieces shorter
than a cell and the (cell, grid) pairs each piece may touch are marked
(with a small epsilon so that rounding can never hide a boundary from a cell);
cells touched by no boundary take their answer from an even-odd scanline fill
through the cell centres (one difference array for the cover count and one for
the sum of covering ranks: count 1 -> pure, the rank is the sum).  Cells whose
centre is covered by two or more grids (overlapping data) ask an STRtree.  A
query maps a point to its cell with the same floating-point formula as the
build, and that mapping is monotonic, so a boundary point always lands in a
cell marked for that boundary: pure and empty cells are exact, and mixed cells
are exact by construction.  ``locate`` and ``locate_many`` run the same steps
(scalar and vectorised), so they always agree.

Typical figures (4,642-grid demo city, 2-core VM; ``python bench/locator.py``):
build ~0.6 s, ~4 M cells / 20 MB; ``locate`` median ~0.5 µs, p95 ~3.5 µs;
``locate_many`` on 1 M points ~0.06-0.09 s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely
from shapely import lib as _shapely_lib

__all__ = ["GridIndex"]

# The ufunc behind shapely.intersects_xy, called directly for single points:
# the public wrapper re-checks preparation on every call and costs ~1 µs more.
_intersects_xy = _shapely_lib.intersects_xy

#: A median grid is about this many cells across.
CELLS_PER_GRID_SIDE = 24
#: Upper bound on raster size (int32 cells -> at most ~24 MB).
MAX_CELLS = 6_000_000

_EMPTY_CELL = -1


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique's hash path is several times slower here)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if a.size else a


def _ring_edges(rings: np.ndarray, ring_owner: np.ndarray) -> tuple[np.ndarray, ...]:
    """Edges (ax, ay, bx, by, owner) of closed rings / linestrings, in boundary order."""
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    same = cidx[1:] == cidx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    return a[:, 0], a[:, 1], b[:, 0], b[:, 1], ring_owner[cidx[:-1][same]]


def _shared_edges(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    """For each edge a->b, whether some edge runs b->a with bit-identical coordinates."""
    n = len(ax)
    fwd = np.stack([ax, ay, bx, by], axis=1)
    rev = np.stack([bx, by, ax, ay], axis=1)
    both = np.concatenate([fwd, rev]) + 0.0  # + 0.0 turns -0.0 into 0.0
    order = np.lexsort(both.T[::-1])
    srt = both[order]
    new_group = np.r_[True, (srt[1:] != srt[:-1]).any(axis=1)]
    group = np.cumsum(new_group) - 1
    is_fwd = order < n
    has_fwd = np.bincount(group, weights=is_fwd, minlength=group[-1] + 1 if n else 0) > 0
    shared = np.zeros(n, dtype=bool)
    rev_pos = ~is_fwd
    shared[order[rev_pos] - n] = has_fwd[group[rev_pos]]
    return shared


class _Raster:
    """Cell arithmetic shared by the build steps (the same formula as the lookups)."""

    def __init__(self, x0, y0, inv_w, inv_h, ncols, nrows, eps, max_piece) -> None:
        self.x0, self.y0, self.inv_w, self.inv_h = x0, y0, inv_w, inv_h
        self.ncols, self.nrows, self.eps, self.max_piece = ncols, nrows, eps, max_piece

    def touch_keys(self, lines: np.ndarray, line_owner: np.ndarray, n_owners: int) -> np.ndarray:
        """Sorted distinct ``cell * n_owners + owner`` for every cell a line may touch.

        Lines are densified to pieces shorter than half a cell; each piece's bbox, grown by
        ``eps`` (far above the rounding of densification), spans at most 2x2 cells, all marked.
        """
        dense = shapely.segmentize(lines, max_segment_length=self.max_piece)
        ax, ay, bx, by, owner = _ring_edges(dense, line_owner)
        eps, x0, y0, inv_w, inv_h = self.eps, self.x0, self.y0, self.inv_w, self.inv_h
        i_lo = np.floor((np.minimum(ax, bx) - eps - x0) * inv_w).astype(np.int64)
        i_hi = np.floor((np.maximum(ax, bx) + eps - x0) * inv_w).astype(np.int64)
        j_lo = np.floor((np.minimum(ay, by) - eps - y0) * inv_h).astype(np.int64)
        j_hi = np.floor((np.maximum(ay, by) + eps - y0) * inv_h).astype(np.int64)
        del ax, ay, bx, by
        np.clip(i_lo, 0, self.ncols - 1, out=i_lo)
        np.clip(i_hi, 0, self.ncols - 1, out=i_hi)
        np.clip(j_lo, 0, self.nrows - 1, out=j_lo)
        np.clip(j_hi, 0, self.nrows - 1, out=j_hi)
        if (i_hi - i_lo > 1).any() or (j_hi - j_lo > 1).any():  # pragma: no cover - segmentize guards it
            raise AssertionError("boundary piece longer than a cell")
        # 4 slots per piece (-1 = unused), in boundary order so that consecutive duplicates
        # (successive pieces in the same cell) drop out before the sort.
        keys = np.full((len(owner), 4), -1, dtype=np.int64)
        for slot, (di, dj) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
            ii, jj = i_lo + di, j_lo + dj
            ok = (ii <= i_hi) & (jj <= j_hi)
            keys[ok, slot] = (jj[ok] * self.ncols + ii[ok]) * n_owners + owner[ok]
        keys = keys.ravel()
        keys = keys[keys >= 0]
        if keys.size:
            keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
        return _sorted_unique(keys)


def _to_geometry(geometry: Any) -> shapely.Geometry:
    if isinstance(geometry, shapely.Geometry):
        geom = geometry
    elif isinstance(geometry, dict):
        geom = shapely.geometry.shape(geometry)
    elif isinstance(geometry, str):
        geom = shapely.from_geojson(geometry)
    else:
        raise TypeError(f"unsupported geometry: {type(geometry).__name__}")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"grid geometry must be a Polygon or MultiPolygon, not {geom.geom_type}")
    if not geom.is_empty and not geom.is_valid:
        repaired = shapely.make_valid(geom)
        parts = [p for p in shapely.get_parts(repaired) if p.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(parts) if parts else shapely.Polygon()
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            geom = shapely.Polygon()
    return shapely.force_2d(geom)


class GridIndex:
    """Immutable point -> grid index.  See the module docstring for the semantics."""

    EMPTY: GridIndex  # set below the class

    def __init__(self, ids: np.ndarray, codes: list[str], geoms: np.ndarray) -> None:
        # ids/codes/geoms are in rank order (sorted by code, then grid id).
        self._ids = np.asarray(ids, dtype=np.int64)
        self._codes = list(codes)
        self._geoms = geoms
        self._ids_list = self._ids.tolist()
        self._geoms_list = list(geoms)
        # Degenerate raster (answers "none" everywhere) until _build_raster runs.
        self._x0 = self._x1 = self._y0 = self._y1 = 0.0
        self._inv_w = self._inv_h = 1.0
        self._w = self._h = 1.0
        self._ncols = self._nrows = 1
        self._cells = np.full(1, _EMPTY_CELL, dtype=np.int32)
        self._offsets = np.zeros(1, dtype=np.int32)
        self._cands = np.zeros(0, dtype=np.int32)
        self._full = np.zeros(0, dtype=np.uint8)
        self._finish()

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, items: Iterable[tuple[int, str, Any]]) -> GridIndex:
        rows = [(int(gid), str(code), _to_geometry(geom)) for gid, code, geom in items]
        rows.sort(key=lambda r: (r[1], r[0]))
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        codes = [r[1] for r in rows]
        geoms = np.empty(len(rows), dtype=object)
        geoms[:] = [r[2] for r in rows]
        if len(rows):
            # exteriors CCW, holes CW (same point sets; lets the build tell shared edges apart)
            geoms = shapely.orient_polygons(geoms)
        index = cls(ids, codes, geoms)
        if len(rows):
            shapely.prepare(geoms)
            index._build_raster()
        return index

    @classmethod
    def empty(cls) -> GridIndex:
        return cls.EMPTY

    def _finish(self) -> None:
        """Derive the lookup-time views (memoryviews index ~2x faster than numpy scalars)."""
        self._cells_mv = memoryview(self._cells)
        self._offsets_mv = memoryview(self._offsets)
        self._cands_mv = memoryview(self._cands)
        self._full_mv = memoryview(self._full)

    def _build_raster(self) -> None:
        geoms = self._geoms
        n_grids = len(geoms)
        nonempty = ~shapely.is_empty(geoms)
        if not nonempty.any():
            return
        minx, miny, maxx, maxy = shapely.total_bounds(geoms[nonempty])

        # --- cell size: square-ish in metres, a median grid ~CELLS_PER_GRID_SIDE cells across.
        coslat = max(0.1, math.cos(math.radians(min(89.0, abs((miny + maxy) / 2)))))
        areas = shapely.area(geoms[nonempty])
        typical = float(np.median(areas[areas > 0])) if (areas > 0).any() else 0.0
        span_w, span_h = maxx - minx, maxy - miny
        if typical > 0:
            h = math.sqrt(typical * coslat) / CELLS_PER_GRID_SIDE
        else:
            h = max(span_w * coslat, span_h, 1e-9) / 64
        h = max(h, 1e-9)
        w = h / coslat
        ncells = (span_w / w + 3) * (span_h / h + 3)
        if ncells > MAX_CELLS:
            scale = math.sqrt(ncells / MAX_CELLS) * 1.01
            h *= scale
            w *= scale
        ncols = int(math.ceil(span_w / w)) + 2
        nrows = int(math.ceil(span_h / h)) + 2
        x0, y0 = minx - w, miny - h
        inv_w, inv_h = 1.0 / w, 1.0 / h
        eps = 1e-6 * min(w, h) + 4 * np.finfo(float).eps * max(abs(minx), abs(maxx), abs(miny), abs(maxy))
        ncell_total = ncols * nrows

        # --- rings of every grid (exteriors CCW, holes CW: the grid is left of every edge).
        parts, part_owner = shapely.get_parts(geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        ring_owner = part_owner[ring_part].astype(np.int64)
        ax, ay, bx, by, owner = _ring_edges(rings, ring_owner)

        # --- (1) even-odd scanline fill through cell centres: cover count + rank sum.
        xc = x0 + (np.arange(ncols) + 0.5) * w
        yc = y0 + (np.arange(nrows) + 0.5) * h
        lo_y, hi_y = np.minimum(ay, by), np.maximum(ay, by)
        # rows whose centre y satisfies lo_y <= yc < hi_y (half-open: vertices count once, exactly)
        r_lo = np.searchsorted(yc, lo_y, side="left")
        r_hi = np.searchsorted(yc, hi_y, side="left")
        nrow_per_edge = r_hi - r_lo
        edge_rep = np.repeat(np.arange(len(ax)), nrow_per_edge)
        first = np.repeat(np.cumsum(nrow_per_edge) - nrow_per_edge, nrow_per_edge)
        row = r_lo[edge_rep] + (np.arange(len(edge_rep)) - first)
        ex_a, ey_a, ex_b, ey_b = ax[edge_rep], ay[edge_rep], bx[edge_rep], by[edge_rep]
        cross_x = ex_a + (yc[row] - ey_a) * (ex_b - ex_a) / (ey_b - ey_a)
        cross_owner = owner[edge_rep]
        del edge_rep, first, ex_a, ey_a, ex_b, ey_b
        order = np.lexsort((cross_x, row, cross_owner))
        cross_x, row, cross_owner = cross_x[order], row[order], cross_owner[order]
        # each (grid, row) group has an even number of crossings: pair them into spans
        xa, xb = cross_x[0::2], cross_x[1::2]
        span_row, span_owner = row[0::2], cross_owner[0::2]
        c_start = np.searchsorted(xc, xa, side="left")
        c_end = np.searchsorted(xc, xb, side="left")
        keep = c_end > c_start
        c_start, c_end, span_row, span_owner = c_start[keep], c_end[keep], span_row[keep], span_owner[keep]
        stride = ncols + 1
        flat = np.concatenate([span_row * stride + c_start, span_row * stride + c_end])
        ones = np.concatenate([np.ones(len(c_start)), -np.ones(len(c_start))])
        ranks = np.concatenate([span_owner, -span_owner]).astype(np.float64)
        count = np.bincount(flat, weights=ones, minlength=nrows * stride).round().astype(np.int32)
        rsum = np.bincount(flat, weights=ranks, minlength=nrows * stride).round().astype(np.int64)
        count = np.cumsum(count.reshape(nrows, stride), axis=1)[:, :ncols].ravel()
        rsum = np.cumsum(rsum.reshape(nrows, stride), axis=1)[:, :ncols].ravel()
        del flat, ones, ranks

        grid = _Raster(x0, y0, inv_w, inv_h, ncols, nrows, eps, 0.45 * min(w, h))
        # --- (2) (cell, grid) pairs where a boundary may touch the cell.
        seg_keys = grid.touch_keys(rings, ring_owner, n_grids)
        marked = np.zeros(ncell_total, dtype=bool)
        marked[seg_keys // n_grids] = True

        # --- (3) cells next to an edge that is not shared (same segment, opposite direction)
        # with another grid: only those can hold points outside every candidate.
        shared = _shared_edges(ax, ay, bx, by)
        lone = ~shared
        if lone.any():
            lines = shapely.linestrings(
                np.stack([np.c_[ax[lone], ay[lone]], np.c_[bx[lone], by[lone]]], axis=1)
            )
            lone_cells = grid.touch_keys(lines, np.zeros(len(lines), dtype=np.int64), 1)
        else:
            lone_cells = np.zeros(0, dtype=np.int64)
        del ax, ay, bx, by, owner, shared, lone

        # --- (4) assemble: pure / empty / mixed with candidate lists.
        cand_keys = [seg_keys]
        one = marked & (count == 1)
        one_cells = np.nonzero(one)[0]
        cand_keys.append(one_cells * n_grids + rsum[one_cells])
        multi_cells = np.nonzero(count >= 2)[0]  # overlapping grids: ask the tree
        if len(multi_cells):
            tree = shapely.STRtree(geoms)
            mj, mi = np.divmod(multi_cells, ncols)
            pts = shapely.points(xc[mi], yc[mj])
            p_idx, g_idx = tree.query(pts, predicate="intersects")
            cand_keys.append(multi_cells[p_idx] * n_grids + g_idx)
        cand_keys = _sorted_unique(np.concatenate(cand_keys))
        cand_cells = cand_keys // n_grids
        cands = (cand_keys - cand_cells * n_grids).astype(np.int32)
        starts = np.flatnonzero(np.r_[True, cand_cells[1:] != cand_cells[:-1]])
        mixed_cells = cand_cells[starts]
        offsets = np.append(starts, len(cands)).astype(np.int32)
        # A mixed cell is "full" when every point of it is covered by some candidate: no lone
        # edge near it and its centre covered.  Then the last candidate needs no test: a point
        # that none of the others covers is covered by it.
        full = count[mixed_cells] >= 1
        full &= ~np.isin(mixed_cells, lone_cells, assume_unique=True)

        cells = np.full(ncell_total, _EMPTY_CELL, dtype=np.int32)
        pure = (count == 1) & ~marked
        cells[pure] = rsum[pure]
        cells[mixed_cells] = -2 - np.arange(len(mixed_cells), dtype=np.int32)

        self._x0, self._y0 = float(x0), float(y0)
        self._x1, self._y1 = float(x0 + ncols * w), float(y0 + nrows * h)
        self._w, self._h = float(w), float(h)
        self._inv_w, self._inv_h = float(inv_w), float(inv_h)
        self._ncols, self._nrows = ncols, nrows
        self._cells = cells
        self._offsets = offsets
        self._cands = cands
        self._full = full.astype(np.uint8)
        self._finish()

    # ----------------------------------------------------------------- lookup
    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"<GridIndex grids={len(self)} raster={self._ncols}x{self._nrows}>"

    def locate(self, lon: float, lat: float) -> int | None:
        """The grid id containing (lon, lat), or None."""
        try:
            x = float(lon)
            y = float(lat)
        except (TypeError, ValueError):
            return None
        # NaN fails every comparison, so it falls out here too.
        if not (self._x0 <= x < self._x1 and self._y0 <= y < self._y1):
            return None
        i = int((x - self._x0) * self._inv_w)
        j = int((y - self._y0) * self._inv_h)
        ncols = self._ncols
        if i >= ncols:
            i = ncols - 1
        if j >= self._nrows:
            j = self._nrows - 1
        v = self._cells_mv[j * ncols + i]
        if v >= 0:
            return self._ids_list[v]
        if v == _EMPTY_CELL:
            return None
        k = -2 - v
        cands = self._cands_mv
        geoms = self._geoms_list
        last = self._offsets_mv[k + 1] - 1
        for p in range(self._offsets_mv[k], last):
            c = cands[p]
            if _intersects_xy(geoms[c], x, y):
                return self._ids_list[c]
        c = cands[last]
        if self._full_mv[k] or _intersects_xy(geoms[c], x, y):
            return self._ids_list[c]
        return None

    def locate_many(self, lon: Any, lat: Any) -> np.ndarray:
        """Vectorised ``locate``: int64 grid ids with the broadcast shape of the inputs, -1 = none."""
        x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        shape = x.shape
        x = x.ravel()
        y = y.ravel()
        out = np.full(x.shape[0], -1, dtype=np.int64)
        ok = (x >= self._x0) & (x < self._x1) & (y >= self._y0) & (y < self._y1)
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return out.reshape(shape)
        px = x[idx]
        py = y[idx]
        i = ((px - self._x0) * self._inv_w).astype(np.int64)
        j = ((py - self._y0) * self._inv_h).astype(np.int64)
        np.minimum(i, self._ncols - 1, out=i)
        np.minimum(j, self._nrows - 1, out=j)
        v = self._cells[j * self._ncols + i]
        pure = v >= 0
        out[idx[pure]] = self._ids[v[pure]]
        mixed = np.flatnonzero(v <= -2)
        if mixed.size:
            k = -2 - v[mixed].astype(np.int64)
            pos = self._offsets[k].astype(np.int64)
            last = self._offsets[k + 1].astype(np.int64) - 1
            full = self._full[k].astype(bool)
            midx = idx[mixed]
            mx, my = px[mixed], py[mixed]
            # Round r tests each unresolved point against its r-th candidate (code order);
            # the last candidate of a full cell wins untested, exactly as in locate().
            while midx.size:
                cand = self._cands[pos]
                hit = full & (pos == last)
                test = np.flatnonzero(~hit)
                hit[test] = shapely.intersects_xy(self._geoms[cand[test]], mx[test], my[test])
                out[midx[hit]] = self._ids[cand[hit]]
                more = ~hit & (pos < last)
                midx, mx, my, pos, last, full = (
                    midx[more],
                    mx[more],
                    my[more],
                    pos[more] + 1,
                    last[more],
                    full[more],
                )
        return out.reshape(shape)

    # ------------------------------------------------------------ diagnostics
    def stats(self) -> dict[str, Any]:
        """Raster figures, for benchmarks and debugging."""
        cells = self._cells
        n = cells.size
        mixed = int((cells <= -2).sum())
        return {
            "grids": len(self),
            "raster": (self._ncols, self._nrows),
            "cell_deg": (self._w, self._h),
            "cells": n,
            "pure_frac": float((cells >= 0).sum()) / n,
            "empty_frac": float((cells == _EMPTY_CELL).sum()) / n,
            "mixed_frac": mixed / n,
            "mean_candidates": float(len(self._cands)) / mixed if mixed else 0.0,
            "bytes": int(cells.nbytes + self._offsets.nbytes + self._cands.nbytes),
        }


GridIndex.EMPTY = GridIndex(np.zeros(0, dtype=np.int64), [], np.empty(0, dtype=object))
