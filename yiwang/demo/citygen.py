"""A deterministic demo city shaped like Panjin (盘锦市, Liaoning): regions, grids and their boundaries.

Pure Python + numpy + shapely: no Django, no database, nothing cached on disk. ``generate_city(seed)`` returns
the same :class:`City` (byte for byte) for the same seed.

How the map is built
--------------------
Everything is laid out in a flat kilometre frame (x east, y north from 121.7°E 40.8°N) and mapped linearly to
lon/lat at the end.

1. A city outline (a jagged, shield-like polygon with the Liaodong Bay coast in the south) and a classifier that
   puts each point in one of the four districts: an urban core blob around Panjin's centre, cut into
   双台子区 (north) and 兴隆台区 (south), and the rural rest cut by angle around the core into 大洼区 (east and
   south) and 盘山县 (west and north).
2. One seed point per grid (exactly as many per district as that district has grids), placed by
   Mitchell's best-candidate sampling against a density field (dense core, denser county and town seats),
   plus a band of "ghost" points outside the outline that bound the border cells.
3. The grids are the Voronoi cells of the real seed points, built from a Delaunay triangulation: every
   Voronoi vertex is the circumcentre of one triangle, computed once, merged with neighbours closer than
   10 cm, mapped to lon/lat and rounded to 7 decimals once. Neighbouring cells therefore share edges made of
   the very same coordinates: no gaps, no overlaps, no T-junctions. The city outline is the union of the cells.
4. The seed points of a district are split recursively (k-d style, across their longest extent, with exact
   group sizes) into streets, and each street's points into communities, so every group is a compact patch.
   Rural districts split in polar coordinates around the core (towns as ring sectors of their wedge). A cell
   or two stranded on the wrong side of a ragged cut joins the neighbouring group (same parent) it shares
   most edges with, so every district, street and community is one connected polygon. Region boundaries
   are unions of their children (exact, since the shared edges are identical).
5. Names, kinds (residential/enterprise/school/commercial/other), households and population follow. The
   densest streets of the rural districts become 街道, the rest 镇; urban districts have only 街道. All
   communities of urban districts are 社区; in rural districts the densest ~30% of a 街道's communities and the
   town centre of each 镇 are 社区, the rest are 村. ``urban`` on a region means city district / 街道 / 社区.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

__all__ = ["City", "GridSpec", "RegionSpec", "generate_city", "KIND_TOTALS"]


@dataclass(frozen=True)
class RegionSpec:
    code: str  # 12-digit statistical division code
    name: str  # Chinese name
    level: str  # "city" | "district" | "street" | "community"
    parent_code: str | None
    geometry: dict  # GeoJSON Polygon or MultiPolygon (lon, lat), the union of its grids
    urban: bool  # urban (city districts, 街道, 社区) vs rural (county/towns/villages)


@dataclass(frozen=True)
class GridSpec:
    code: str  # community code + 3 digits (15 digits)
    name: str  # e.g. "兴隆街道振兴社区第1网格"
    community_code: str
    kind: str  # "residential" | "enterprise" | "school" | "commercial" | "other"
    households: int
    population: int
    geometry: dict  # GeoJSON Polygon (lon, lat), counter-clockwise exterior, closed ring


@dataclass(frozen=True)
class City:
    regions: list[RegionSpec]  # parents before children
    grids: list[GridSpec]


# ---------------------------------------------------------------------------------------------------------------
# The plan: what Panjin has, and how many of each.

CITY_CODE = "211100000000"
CITY_NAME = "盘锦市"

# Kinds, in the proportions of the Dashiqiao seed data (1,480 residential, 249 enterprise, 69 school of 1,798)
# for 97% of the grids, plus ~2.5% commercial/building (专属) grids and a handful of "other".
KIND_TOTALS = {"residential": 3709, "enterprise": 624, "school": 173, "commercial": 116, "other": 20}


@dataclass(frozen=True)
class _DistrictPlan:
    code: str
    name: str
    urban: bool
    streets: int
    urban_streets: int  # how many of them are 街道 (the rest are 镇)
    communities: int
    grids: int
    street_names: tuple[str, ...]  # 街道 names first, then 镇 names
    min_grids_per_community: int


_DISTRICTS = (
    _DistrictPlan(
        "211102000000", "双台子区", True, 9, 9, 45, 450,
        ("红旗街道", "胜利街道", "建设街道", "辽河街道", "铁东街道", "双盛街道", "陆家街道", "统一街道", "站前街道"),
        5,
    ),
    _DistrictPlan(
        "211103000000", "兴隆台区", True, 14, 14, 80, 842,
        ("兴隆街道", "振兴街道", "渤海街道", "曙光街道", "友谊街道", "新工街道", "创新街道", "惠宾街道", "兴盛街道",
         "茨采街道", "沈家街道", "欢喜岭街道", "新生街道", "兴海街道"),
        5,
    ),
    _DistrictPlan(
        "211104000000", "大洼区", False, 13, 5, 213, 1700,
        ("大洼街道", "田家街道", "于楼街道", "榆树街道", "王家街道",
         "东风镇", "新开镇", "清水镇", "新兴镇", "西安镇", "唐家镇", "赵圈河镇", "荣兴镇"),
        3,
    ),
    _DistrictPlan(
        "211122000000", "盘山县", False, 12, 2, 200, 1650,
        ("太平街道", "高升街道",
         "沙岭镇", "胡家镇", "石新镇", "东郭镇", "羊圈子镇", "坝墙子镇", "古城子镇", "甜水镇", "吴家镇", "陈家镇"),
        3,
    ),
)

# Share of the communities of a rural district's 街道 that are 社区 (the densest ones); the rest are 村.
# Each 镇 has one 社区 (its town centre).
_STREET_SHARE_SHEQU = 0.3

# ---------------------------------------------------------------------------------------------------------------
# The frame.

LON0, LAT0 = 121.7, 40.8
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(41.1))
KM_PER_DEG_LAT = 111.0
DECIMALS = 7
_MERGE_KM = 1e-4  # Voronoi vertices closer than 10 cm are merged into one

_BASE_OUTLINE_KM = (
    (3.0, 30.0), (5.0, 42.0), (10.0, 52.0), (17.0, 60.0), (26.0, 64.0), (36.0, 64.5), (44.0, 60.0),
    (51.0, 53.0), (56.0, 44.0), (57.0, 32.0), (55.0, 20.0), (50.0, 11.0), (43.0, 5.0), (36.0, 3.0),
    (31.5, 7.5), (27.0, 3.0), (19.0, 3.5), (11.0, 8.0), (6.0, 16.0), (3.5, 24.0),
)
_CORE = (30.5, 38.0)  # Panjin's centre, between 双台子 and 兴隆台
_CORE_R = 9.5
_SPLIT_Y = 41.5  # 双台子 north of this line through the core, 兴隆台 south
_COUNTY_SEATS = {"211104000000": (33.0, 22.0), "211122000000": (18.0, 45.0)}
# Industrial parts (x, y, sigma km, weight): 辽滨 coastal zone, 兴隆台 oil & petrochemicals,
# 双台子 north industrial park, 盘山 west industrial park, 大洼 east port industry.
_INDUSTRY = ((35.0, 8.0, 2.6, 1.0), (25.0, 32.0, 2.2, 1.0), (35.0, 46.0, 1.8, 0.9), (12.0, 32.0, 2.2, 0.8),
             (46.0, 24.0, 2.2, 0.8), (27.0, 14.0, 1.5, 0.7))
_GHOST_SPACING = 1.0
_RADIAL_STRETCH = 1.6  # favour ring-wise cuts in rural districts, so towns are not long spokes
_CANDIDATES = 12


def _to_lonlat(xy: np.ndarray) -> np.ndarray:
    out = np.empty_like(xy)
    out[:, 0] = LON0 + xy[:, 0] / KM_PER_DEG_LON
    out[:, 1] = LAT0 + xy[:, 1] / KM_PER_DEG_LAT
    return np.round(out, DECIMALS)


# ---------------------------------------------------------------------------------------------------------------
# Step 1: outline and districts.


class _Layout:
    """The outline, the district classifier and the density field, all drawn from ``rng``."""

    def __init__(self, rng: np.random.Generator):
        self.outline = self._outline(rng)
        self.core_phase = rng.uniform(0, 2 * math.pi, 3)
        self.split_phase = rng.uniform(0, 2 * math.pi)
        self.wedge_phase = rng.uniform(0, 2 * math.pi, 2)
        shapely.prepare(self.outline)
        self.bumps: list[tuple[float, float, float, float]] = []  # x, y, sigma, amplitude

    @staticmethod
    def _outline(rng: np.random.Generator):
        pts = [np.array(p) for p in _BASE_OUTLINE_KM]
        for amplitude in (0.16, 0.12, 0.09, 0.06):
            out = []
            for i, a in enumerate(pts):
                b = pts[(i + 1) % len(pts)]
                d = b - a
                normal = np.array([-d[1], d[0]])
                out.append(a)
                out.append((a + b) / 2 + normal * rng.uniform(-amplitude, amplitude))
            pts = out
        poly = shapely.Polygon(np.array(pts))
        if not poly.is_valid:  # pragma: no cover - the offsets are far too small for this
            poly = shapely.Polygon(np.array([np.array(p) for p in _BASE_OUTLINE_KM]))
        return poly

    def core_radius(self, theta: np.ndarray) -> np.ndarray:
        p = self.core_phase
        return _CORE_R * (1 + 0.10 * np.sin(2 * theta + p[0]) + 0.07 * np.sin(3 * theta + p[1])
                          + 0.04 * np.sin(5 * theta + p[2]))

    def polar(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = x - _CORE[0], y - _CORE[1]
        return np.hypot(dx, dy), np.arctan2(dy, dx)

    def classify(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """District index (0..3, as in _DISTRICTS) of each point, -1 outside the city."""
        r, theta = self.polar(x, y)
        result = np.full(x.shape, -1, dtype=np.int64)
        inside = shapely.contains_xy(self.outline, x, y)
        core = inside & (r < self.core_radius(theta))
        split = _SPLIT_Y + 0.12 * (x - _CORE[0]) + 0.6 * np.sin(x / 2.5 + self.split_phase)
        result[core & (y >= split)] = 0
        result[core & (y < split)] = 1
        deg = np.degrees(theta)
        south = -90.0 + 7.0 * np.sin(r / 5.0 + self.wedge_phase[0])
        north = 52.0 + 9.0 * np.sin(r / 6.0 + self.wedge_phase[1])
        rural = inside & ~core
        east = (deg > south) & (deg < north)
        result[rural & east] = 2
        result[rural & ~east] = 3
        return result

    def density(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Relative seed-point density (points per km², up to a factor)."""
        r, theta = self.polar(x, y)
        rho = 1.0 + 2.2 / (1 + np.exp((r - self.core_radius(theta)) / 0.4))
        rho = rho + 1.5 * np.exp(-(r**2) / (2 * 4.0**2))
        for bx, by, sigma, amplitude in self.bumps:
            rho = rho + amplitude * np.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * sigma**2))
        return rho


def _sample_in(layout: _Layout, rng: np.random.Generator, district: int, n: int, box) -> np.ndarray:
    """``n`` uniform points of one district, by rejection from ``box``."""
    x0, y0, x1, y1 = box
    chunks, have = [], 0
    while have < n:
        m = max(2 * (n - have), 1024)
        x = rng.uniform(x0, x1, m)
        y = rng.uniform(y0, y1, m)
        keep = layout.classify(x, y) == district
        chunk = np.column_stack([x[keep], y[keep]])
        chunks.append(chunk)
        have += len(chunk)
    return np.concatenate(chunks)[:n]


def _seats(layout: _Layout, rng: np.random.Generator, district: int, code: str, count: int, box) -> list:
    """Town seats of a rural district: the county seat, then farthest-point picks among random points."""
    pool = _sample_in(layout, rng, district, 400, box)
    target = np.array(_COUNTY_SEATS[code])
    first = int(np.argmin(((pool - target) ** 2).sum(1)))
    chosen = [first]
    dist = np.sqrt(((pool - pool[first]) ** 2).sum(1))
    # keep town seats off the outline so their bumps sit inside the district
    edge = shapely.distance(layout.outline.exterior, shapely.points(pool))
    while len(chosen) < count:
        score = np.minimum(dist, 2.0 * edge)
        nxt = int(np.argmax(score))
        chosen.append(nxt)
        dist = np.minimum(dist, np.sqrt(((pool - pool[nxt]) ** 2).sum(1)))
    return [tuple(pool[i]) for i in chosen]


# ---------------------------------------------------------------------------------------------------------------
# Step 2: seed points.


def _ghosts(layout: _Layout, rng: np.random.Generator) -> np.ndarray:
    x0, y0, x1, y1 = layout.outline.bounds
    pad = 4 * _GHOST_SPACING
    s = _GHOST_SPACING
    h = s * math.sqrt(3) / 2
    ys = np.arange(y0 - pad, y1 + pad, h)
    xs = np.arange(x0 - pad, x1 + pad, s)
    gx, gy = np.meshgrid(xs, ys)
    gx = gx + (np.arange(len(ys))[:, None] % 2) * s / 2
    gx = gx.ravel() + rng.uniform(-0.2, 0.2, gx.size) * s
    gy = gy.ravel() + rng.uniform(-0.2, 0.2, gy.size) * s
    outside = layout.classify(gx, gy) < 0
    return np.column_stack([gx[outside], gy[outside]])


def _seed_points(layout: _Layout, rng: np.random.Generator, ghosts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best-candidate sampling of one point per grid. Returns (points, district index per point)."""
    counts = np.array([d.grids for d in _DISTRICTS])
    total = int(counts.sum())
    x0, y0, x1, y1 = layout.outline.bounds
    rmax = _CORE_R * 1.25
    core_box = (_CORE[0] - rmax, _CORE[1] - rmax, _CORE[0] + rmax, _CORE[1] + rmax)
    weighted = []
    for i, plan in enumerate(_DISTRICTS):
        need = int(counts[i]) * _CANDIDATES
        box = core_box if plan.urban else (x0, y0, x1, y1)
        pool = _sample_in(layout, rng, i, 2 * need, box)
        # keep half of a uniform pool, preferring dense places (weighted sampling without replacement)
        rho = layout.density(pool[:, 0], pool[:, 1])
        keys = rng.random(len(pool)) ** (1.0 / rho)
        keep = np.lexsort((np.arange(len(pool)), -keys))[:need]
        weighted.append(pool[keep[rng.permutation(need)]])

    # interleave districts so that all fill up at the same pace
    schedule = np.empty(total, dtype=np.int64)
    placed = np.zeros(len(counts))
    for step in range(total):
        deficit = (step + 1) * counts / total - placed
        d = int(np.argmax(deficit))
        schedule[step] = d
        placed[d] += 1

    # The candidates of every step are known in advance, so the search runs in batches: candidates of a
    # batch are measured against an STRtree of everything placed before the batch, and then, one step at a
    # time, against the few points placed earlier in the same batch. Exact nearest distances, few calls.
    cand = np.empty((total, _CANDIDATES, 2))
    cursor = [0] * len(counts)
    for step in range(total):
        d = int(schedule[step])
        cand[step] = weighted[d][cursor[d]: cursor[d] + _CANDIDATES]
        cursor[d] += _CANDIDATES
    weight = np.sqrt(layout.density(cand[..., 0].ravel(), cand[..., 1].ravel())).reshape(total, _CANDIDATES)

    pts = np.empty((len(ghosts) + total, 2))
    pts[: len(ghosts)] = ghosts
    n = len(ghosts)
    batch = 64
    for first in range(0, total, batch):
        last = min(first + batch, total)
        tree = shapely.STRtree(shapely.points(pts[:n]))
        flat = cand[first:last].reshape(-1, 2)
        _, dist = tree.query_nearest(shapely.points(flat), return_distance=True, all_matches=False)
        before = dist.reshape(last - first, _CANDIDATES) ** 2
        start = n
        for step in range(first, last):
            c = cand[step]
            d2 = before[step - first]
            if n > start:
                recent = pts[start:n]
                d2 = np.minimum(d2, ((c[:, None, :] - recent[None, :, :]) ** 2).sum(-1).min(1))
            best = int(np.argmax(d2 * weight[step] ** 2))
            pts[n] = c[best]
            n += 1
    return pts, schedule


# ---------------------------------------------------------------------------------------------------------------
# Step 3: Voronoi cells from a Delaunay triangulation.


def _voronoi(points: np.ndarray, first_real: int) -> tuple[list[list[list[float]]], np.ndarray]:
    """Rounded lon/lat rings (closed, counter-clockwise) of the Voronoi cells of points[first_real:]."""
    tri_geoms = shapely.get_parts(shapely.delaunay_triangles(shapely.multipoints(points)))
    corners = shapely.get_coordinates(tri_geoms).reshape(-1, 4, 2)[:, :3, :]
    index = {xy: i for i, xy in enumerate(map(tuple, points.tolist()))}
    tris = np.array([index[xy] for xy in map(tuple, corners.reshape(-1, 2).tolist())], dtype=np.int64)
    tris = tris.reshape(-1, 3)
    a, b, c = points[tris[:, 0]], points[tris[:, 1]], points[tris[:, 2]]
    ba, ca = b - a, c - a
    den = 2 * (ba[:, 0] * ca[:, 1] - ba[:, 1] * ca[:, 0])
    bb, cc2 = (ba**2).sum(1), (ca**2).sum(1)
    centre = np.column_stack([
        a[:, 0] + (ca[:, 1] * bb - ba[:, 1] * cc2) / den,
        a[:, 1] + (ba[:, 0] * cc2 - ca[:, 0] * bb) / den,
    ])

    # corners (vertex, triangle) of the real points, sorted by vertex then by angle around it
    vert = tris.ravel()
    tri_of = np.repeat(np.arange(len(tris)), 3)
    real = vert >= first_real
    vert, tri_of = vert[real], tri_of[real]
    centroid = points[tris].mean(axis=1)
    rel = centroid[tri_of] - points[vert]
    angle = np.arctan2(rel[:, 1], rel[:, 0])
    order = np.lexsort((angle, vert))
    vert, tri_of = vert[order], tri_of[order]
    starts = np.flatnonzero(np.r_[True, vert[1:] != vert[:-1]])
    ends = np.r_[starts[1:], len(vert)]
    n_real = len(points) - first_real
    if len(starts) != n_real:  # pragma: no cover
        raise RuntimeError("some seed points are missing from the triangulation")

    # each real point's fan must close (the ghosts surround them): angles at the point sum to 2π
    p0 = points[tris]
    ang = np.empty((len(tris), 3))
    for k in range(3):
        u = p0[:, (k + 1) % 3] - p0[:, k]
        v = p0[:, (k + 2) % 3] - p0[:, k]
        ang[:, k] = np.abs(np.arctan2(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0], (u * v).sum(1)))
    total_angle = np.bincount(tris.ravel(), weights=ang.ravel(), minlength=len(points))
    if np.abs(total_angle[first_real:] - 2 * math.pi).max() > 1e-6:  # pragma: no cover
        raise RuntimeError("a seed point lies on the hull of the triangulation")

    # merge circumcentres of fan-neighbour triangles that (nearly) coincide
    pos = np.arange(len(vert))
    group_start = np.repeat(starts, ends - starts)
    group_end = np.repeat(ends, ends - starts)
    nxt = np.where(pos + 1 < group_end, pos + 1, group_start)
    gap = np.hypot(*(centre[tri_of[pos]] - centre[tri_of[nxt]]).T)
    parent = np.arange(len(tris))

    def find(t: int) -> int:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for p in np.flatnonzero(gap < _MERGE_KM):
        ra, rb = find(int(tri_of[p])), find(int(tri_of[nxt[p]]))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    rep = np.array([find(t) for t in range(len(tris))])
    lonlat = _to_lonlat(centre)[rep]

    rings = []
    fan = lonlat[tri_of]
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        ring = fan[s:e].tolist()
        clean = [pt for i, pt in enumerate(ring) if pt != ring[i - 1]]
        clean.append(list(clean[0]))
        rings.append(clean)
    return rings, vert[starts] - first_real


# ---------------------------------------------------------------------------------------------------------------
# Step 4: grouping.


def _composition(rng: np.random.Generator, total: int, parts: int, minimum: int, spread: float) -> list[int]:
    """``parts`` positive integers, each >= minimum, summing to ``total``, randomly uneven."""
    weights = rng.uniform(1 - spread, 1 + spread, parts)
    free = total - minimum * parts
    if free < 0:  # pragma: no cover
        raise ValueError("not enough to go round")
    raw = weights / weights.sum() * free
    base = np.floor(raw).astype(np.int64)
    rest = free - int(base.sum())
    order = np.lexsort((np.arange(parts), -(raw - base)))
    base[order[:rest]] += 1
    return (base + minimum).tolist()


def _fit(sizes: list[int], total: int) -> list[int]:
    """``sizes`` nudged (smallest up, largest down) until they sum to ``total``."""
    sizes = list(sizes)
    if total < len(sizes):  # pragma: no cover
        raise RuntimeError("a street lost too many grids to its neighbours")
    while sum(sizes) < total:
        j = min(range(len(sizes)), key=lambda k: (sizes[k], k))
        sizes[j] += 1
    while sum(sizes) > total:
        j = max(range(len(sizes)), key=lambda k: (sizes[k], -k))
        sizes[j] -= 1
    return sizes


def _adjacency(rings: list[list[list[float]]]) -> list[list[int]]:
    """Cells that share an edge (of positive length), per cell, sorted."""
    edges: dict[tuple, list[int]] = {}
    for i, ring in enumerate(rings):
        for a, b in zip(ring[:-1], ring[1:], strict=True):
            ta, tb = tuple(a), tuple(b)
            edges.setdefault((ta, tb) if ta < tb else (tb, ta), []).append(i)
    nbrs: list[list[int]] = [[] for _ in rings]
    for cells in edges.values():
        if len(cells) == 2:
            nbrs[cells[0]].append(cells[1])
            nbrs[cells[1]].append(cells[0])
    return [sorted(set(n)) for n in nbrs]


def _components(members: list[int], label: np.ndarray, nbrs: list[list[int]]) -> list[list[int]]:
    lab = label[members[0]]
    seen: dict[int, bool] = {}
    comps = []
    for m in members:
        if m in seen:
            continue
        comp, stack = [], [m]
        seen[m] = True
        while stack:
            v = stack.pop()
            comp.append(v)
            for w in nbrs[v]:
                if w not in seen and label[w] == lab:
                    seen[w] = True
                    stack.append(w)
        comps.append(sorted(comp))
    return comps


def _make_contiguous(sites: np.ndarray, label: np.ndarray, nbrs: list[list[int]]) -> None:
    """Relabel (in place) detached pieces of each label among ``sites`` to an adjacent label among ``sites``."""
    inside = np.zeros(len(label), dtype=bool)
    inside[sites] = True
    for _ in range(100):
        moved = False
        for lab in np.unique(label[sites]).tolist():
            members = sites[label[sites] == lab].tolist()
            comps = _components(members, label, nbrs)
            if len(comps) < 2:
                continue
            comps.sort(key=lambda c: (-len(c), c[0]))
            for comp in comps[1:]:
                votes: dict[int, int] = {}
                for v in comp:
                    for w in nbrs[v]:
                        if inside[w] and label[w] != lab:
                            votes[int(label[w])] = votes.get(int(label[w]), 0) + 1
                if not votes:  # pragma: no cover - the parent itself is in pieces
                    continue
                label[comp] = min(votes, key=lambda k: (-votes[k], k))
                moved = True
        if not moved:
            return
    raise RuntimeError("could not make the groups contiguous")  # pragma: no cover


_DIRECTIONS = np.radians(np.arange(0, 180, 15))


def _partition(idx: np.ndarray, sizes: list[int], coords: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Split the points ``idx`` into groups of exactly ``sizes`` by recursive cuts across their longest extent."""
    if len(sizes) == 1:
        return [idx]
    csum = np.cumsum(sizes)
    k = int(np.argmin(np.abs(csum[:-1] - csum[-1] / 2))) + 1
    left = int(csum[k - 1])
    angles = _DIRECTIONS + rng.uniform(-math.pi / 24, math.pi / 24)
    dirs = np.column_stack([np.cos(angles), np.sin(angles)])
    proj = coords[idx] @ dirs.T
    best = int(np.argmax(proj.max(0) - proj.min(0)))
    order = np.argsort(proj[:, best], kind="stable")
    return (_partition(idx[order[:left]], sizes[:k], coords, rng)
            + _partition(idx[order[left:]], sizes[k:], coords, rng))


# ---------------------------------------------------------------------------------------------------------------
# Step 5: names.

_SHEQU_FIXED = (
    "振兴", "兴隆", "石油", "油建", "园丁", "湖滨", "锦绣", "曙光", "渤海", "惠宾", "友谊", "幸福", "阳光", "滨河",
    "明珠", "春光", "金秋", "康乐", "怡园", "泰山", "华锦", "兴安", "翠园", "鑫海", "红旗", "胜利", "建设", "和平",
    "团结", "光明", "育才", "长青", "辽河", "广厦", "世纪", "东湖", "西苑", "南湖", "北苑", "中兴", "新华", "东升",
    "文化", "民主", "工农", "站前", "双兴", "油城", "钻采", "物探",
)
_SHEQU_A = "兴振和康福泰华新金锦明安盛宏瑞祥荣润嘉裕丰永昌鑫春阳绿翠长光育惠繁凯鼎顺"
_SHEQU_B = "园苑城安华兴和平泰海河湖林光明丰源庭居里悦都景馨秀福康府湾"
_SURNAMES = (
    "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆范金石贾夏付方白邹孟秦邱尹薛闫段雷侯史陶贺顾毛郝邵万钱严武戴孔常关"
)
_VILLAGE_SUFFIX = ("家村", "家窝棚村", "家台村", "家屯村", "家堡村", "家岗村", "家坨村", "家铺村")
_VILLAGE_FIXED = (
    "前进村", "红光村", "胜利村", "光明村", "新民村", "永丰村", "向阳村", "建设村", "立新村", "友谊村", "团结村",
    "红旗村", "东升村", "民主村", "和平村", "兴旺村", "新生村", "曙光村", "太平村", "丰收村", "富强村", "新建村",
    "荣胜村", "平安村", "育新村", "北窑村", "南岗村", "西河村", "东河村", "苇塘村", "稻香村", "蟹田村",
)
_NUMERALS = "一二三四五六七八九十"
_NUMERAL_SUFFIX = ("台子村", "道沟村", "间房村", "家子村", "棵树村")
_PLACE_PREFIX = "前后东西南北大小新上下"
_PLACE_SUFFIX = ("台子村", "窝棚村", "坨子村", "岗子村", "甸子村", "泡子村")


def _name_pools(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    shequ = [a + b for a in _SHEQU_A for b in _SHEQU_B if a != b]
    shequ = list(_SHEQU_FIXED) + [shequ[i] for i in rng.permutation(len(shequ))]
    shequ = list(dict.fromkeys(shequ))
    fixed = [shequ[i] for i in rng.permutation(len(_SHEQU_FIXED))]
    shequ = fixed + shequ[len(_SHEQU_FIXED):]
    villages = [s + suffix for s in _SURNAMES for suffix in _VILLAGE_SUFFIX]
    villages += [n + suffix for n in _NUMERALS for suffix in _NUMERAL_SUFFIX]
    villages += [p + suffix for p in _PLACE_PREFIX for suffix in _PLACE_SUFFIX]
    villages += list(_VILLAGE_FIXED)
    villages = list(dict.fromkeys(villages))
    villages = [villages[i] for i in rng.permutation(len(villages))]
    return [s + "社区" for s in shequ], villages


# ---------------------------------------------------------------------------------------------------------------
# GeoJSON.


def _geojson(geom) -> dict:
    geom = shapely.orient_polygons(geom, exterior_cw=False)

    def rings(poly) -> list:
        return [np.round(shapely.get_coordinates(r), DECIMALS).tolist() for r in (poly.exterior, *poly.interiors)]

    if geom.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": rings(geom)}
    if geom.geom_type == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [rings(p) for p in geom.geoms]}
    raise RuntimeError(f"unexpected region geometry {geom.geom_type}")  # pragma: no cover


# ---------------------------------------------------------------------------------------------------------------
# The generator.


@dataclass
class _Community:
    district: int
    street: int  # index into streets list
    sites: np.ndarray  # indices into the real points
    density: float
    urban: bool = False
    code: str = ""
    name: str = ""


@dataclass
class _Street:
    district: int
    sites: np.ndarray
    communities: list[int]
    density: float
    urban: bool = False
    code: str = ""
    name: str = ""


def generate_city(seed: int = 2022) -> City:
    """The demo city for ``seed``: 1 city, 4 districts, 48 streets, 538 communities, 4,642 grids."""
    rng = np.random.default_rng(seed)
    layout = _Layout(rng)
    x0, y0, x1, y1 = layout.outline.bounds
    for i, plan in enumerate(_DISTRICTS):
        if not plan.urban:
            seats = _seats(layout, rng, i, plan.code, plan.streets, (x0, y0, x1, y1))
            for k, (sx, sy) in enumerate(seats):
                if k == 0:
                    layout.bumps.append((sx, sy, 2.2, 3.0))
                else:
                    layout.bumps.append((sx, sy, 1.3, rng.uniform(0.8, 1.6)))

    ghosts = _ghosts(layout, rng)
    points, district_of = _seed_points(layout, rng, ghosts)
    rings, site_order = _voronoi(points, len(ghosts))
    if not np.array_equal(site_order, np.arange(len(site_order))):  # pragma: no cover
        raise RuntimeError("Voronoi cells out of order")
    real = points[len(ghosts):]
    rho = layout.density(real[:, 0], real[:, 1])
    r, theta = layout.polar(real[:, 0], real[:, 1])

    shequ_pool, village_pool = _name_pools(rng)
    shequ_next, village_next = 0, 0

    # Contiguity: a cut through a ragged point set can strand a cell or two on the wrong side. Stranded
    # pieces join the neighbouring group they share most edges with (within the same parent), so every
    # district, street and community is one connected patch of grids.
    nbrs = _adjacency(rings)
    district_of = district_of.copy()
    _make_contiguous(np.arange(len(real)), district_of, nbrs)
    street_of = np.full(len(real), -1, dtype=np.int64)
    comm_of = np.full(len(real), -1, dtype=np.int64)

    streets: list[_Street] = []
    communities: list[_Community] = []
    district_streets: list[list[int]] = []
    for d, plan in enumerate(_DISTRICTS):
        sites = np.flatnonzero(district_of == d)
        if plan.urban:
            coords = real
            anchor = np.array(_CORE)
        else:
            # polar coordinates around the core keep groups contiguous inside the wedge-shaped districts
            t = np.mod(theta, 2 * math.pi) if d == 3 else theta
            scale = float(r[sites].mean())
            coords = np.column_stack([t * scale, _RADIAL_STRETCH * r])
            anchor = np.array(_COUNTY_SEATS[plan.code])
        per_street = _composition(rng, plan.communities, plan.streets, 3, 0.35)
        per_comm = _composition(rng, len(sites), plan.communities, plan.min_grids_per_community, 0.4)
        street_sizes, at = [], 0
        for n in per_street:
            street_sizes.append(sum(per_comm[at: at + n]))
            at += n
        base = len(streets)
        for k, g in enumerate(_partition(sites, street_sizes, coords, rng)):
            street_of[g] = base + k
        _make_contiguous(sites, street_of, nbrs)
        local: list[_Street] = []
        at = 0
        for k, n in enumerate(per_street):
            g = np.flatnonzero(street_of == base + k)
            sizes = _fit(per_comm[at: at + n], len(g))
            at += n
            cbase = len(communities)
            for j, p in enumerate(_partition(g, sizes, coords, rng)):
                comm_of[p] = cbase + j
            _make_contiguous(g, comm_of, nbrs)
            local.append(_Street(d, g, [], float(rho[g].mean())))
            for j in range(n):
                p = np.flatnonzero(comm_of == cbase + j)
                local[-1].communities.append(len(communities))
                communities.append(_Community(d, -1, p, float(rho[p].mean())))
        # which streets are 街道: all in urban districts; the densest ones in rural districts
        by_density = sorted(range(len(local)), key=lambda s: (-local[s].density, s))
        for s in by_density[: plan.urban_streets]:
            local[s].urban = True

        to_anchor = [float(np.hypot(*(real[st.sites].mean(0) - anchor))) for st in local]
        ordered = sorted(range(len(local)), key=lambda s: (not local[s].urban, to_anchor[s], s))
        ids = []
        for serial, s in enumerate(ordered, start=1):
            st = local[s]
            st.code = plan.code[:6] + f"{serial:03d}000"
            st.name = plan.street_names[serial - 1]
            ids.append(len(streets))
            for c in st.communities:
                communities[c].street = len(streets)
            streets.append(st)
        district_streets.append(ids)

        # 社区 or 村
        for s in ids:
            st = streets[s]
            comms = sorted(st.communities, key=lambda c: (-communities[c].density, c))
            if plan.urban:
                n_shequ = len(comms)
            elif st.urban:
                n_shequ = max(1, math.ceil(_STREET_SHARE_SHEQU * len(comms)))
            else:
                n_shequ = 1
            for c in comms[:n_shequ]:
                communities[c].urban = True
            centre = real[st.sites].mean(0)

            def comm_key(c: int, centre=centre) -> tuple:
                cm = real[communities[c].sites].mean(0) - centre
                return (not communities[c].urban, round(math.atan2(cm[1], cm[0]), 9), c)

            st.communities = sorted(st.communities, key=comm_key)
            for serial, c in enumerate(st.communities, start=1):
                com = communities[c]
                com.code = st.code[:9] + f"{serial:03d}"
                if com.urban:
                    com.name, shequ_next = shequ_pool[shequ_next], shequ_next + 1
                else:
                    com.name, village_next = village_pool[village_next], village_next + 1

    # grids, in code order
    grid_site: list[int] = []
    grid_comm: list[int] = []
    for st in streets:
        for c in st.communities:
            com = communities[c]
            pts = real[com.sites]
            row_h = (pts[:, 1].max() - pts[:, 1].min()) / max(round(math.sqrt(len(pts))), 1) + 1e-9
            rows = np.floor((pts[:, 1].max() - pts[:, 1]) / row_h)
            order = np.lexsort((pts[:, 0], rows))
            for k in order.tolist():
                grid_site.append(int(com.sites[k]))
                grid_comm.append(c)
    site_arr = np.array(grid_site)
    comm_arr = np.array(grid_comm)
    n_grids = len(site_arr)

    grid_of_site = np.empty(len(real), dtype=np.int64)
    grid_of_site[site_arr] = np.arange(n_grids)
    grid_nbrs = [grid_of_site[nbrs[s]].tolist() for s in grid_site]
    kinds = _assign_kinds(rng, real[site_arr], rho[site_arr], comm_arr, communities, layout.bumps, grid_nbrs)
    households, population = _people(rng, kinds, [communities[c].urban for c in grid_comm])

    polygons = np.array([shapely.Polygon(rings[s]) for s in grid_site])
    bad = np.flatnonzero(~shapely.is_valid(polygons))
    if len(bad):  # pragma: no cover
        raise RuntimeError(f"{len(bad)} grid polygons became invalid")

    grids: list[GridSpec] = []
    counters: dict[int, int] = {}
    for g in range(n_grids):
        c = grid_comm[g]
        com = communities[c]
        serial = counters.get(c, 0) + 1
        counters[c] = serial
        st = streets[com.street]
        grids.append(GridSpec(
            code=f"{com.code}{serial:03d}",
            name=f"{st.name}{com.name}第{serial}网格",
            community_code=com.code,
            kind=kinds[g],
            households=int(households[g]),
            population=int(population[g]),
            geometry={"type": "Polygon", "coordinates": [rings[grid_site[g]]]},
        ))

    # region geometries: unions of children
    comm_geom: dict[int, object] = {}
    start = 0
    for st in streets:
        for c in st.communities:
            n = len(communities[c].sites)
            comm_geom[c] = shapely.union_all(polygons[start: start + n])
            start += n
    street_geom = [shapely.union_all([comm_geom[c] for c in st.communities]) for st in streets]
    district_geom = [shapely.union_all([street_geom[s] for s in ids]) for ids in district_streets]
    city_geom = shapely.union_all(district_geom)

    regions = [RegionSpec(CITY_CODE, CITY_NAME, "city", None, _geojson(city_geom), True)]
    for d, plan in enumerate(_DISTRICTS):
        regions.append(RegionSpec(plan.code, plan.name, "district", CITY_CODE, _geojson(district_geom[d]),
                                  plan.urban))
    for d, ids in enumerate(district_streets):
        for s in ids:
            st = streets[s]
            regions.append(RegionSpec(st.code, st.name, "street", _DISTRICTS[d].code, _geojson(street_geom[s]),
                                      st.urban))
    for ids in district_streets:
        for s in ids:
            st = streets[s]
            for c in st.communities:
                com = communities[c]
                regions.append(RegionSpec(com.code, com.name, "community", st.code, _geojson(comm_geom[c]),
                                          com.urban))
    return City(regions=regions, grids=grids)


def _assign_kinds(rng: np.random.Generator, xy: np.ndarray, rho: np.ndarray, comm: np.ndarray,
                  communities: list[_Community], bumps: list, nbrs: list[list[int]]) -> list[str]:
    n = len(xy)
    kinds = ["residential"] * n
    size = np.bincount(comm, minlength=len(communities))
    nonres = np.zeros(len(communities), dtype=np.int64)

    def take(order, count: int, kind: str, eligible=None) -> int:
        """Turn the first ``count`` eligible residential grids of ``order`` into ``kind``; how many were."""
        got = 0
        for g in order:
            if got == count:
                break
            g = int(g)
            c = comm[g]
            if kinds[g] != "residential" or nonres[c] >= size[c] - 1:
                continue  # every community keeps at least one residential grid
            if eligible is not None and not eligible[g]:
                continue
            kinds[g] = kind
            nonres[c] += 1
            got += 1
        return got

    # enterprise grids cluster in the industrial parts
    score = np.zeros(n)
    for ix, iy, sigma, weight in _INDUSTRY:
        score += weight * np.exp(-((xy[:, 0] - ix) ** 2 + (xy[:, 1] - iy) ** 2) / (2 * sigma**2))
    for bx, by, _sigma, amplitude in bumps:  # and a little at every town seat
        score += 0.45 * (amplitude / 3.0) ** 0.5 * np.exp(-((xy[:, 0] - bx) ** 2 + (xy[:, 1] - by) ** 2) / (2 * 0.8**2))
    score += 0.3 * rng.random(n)
    placed = {"enterprise": take(np.lexsort((np.arange(n), -score)), KIND_TOTALS["enterprise"], "enterprise")}

    # commercial / building grids in the densest urban places
    urban = np.array([communities[c].urban for c in comm])
    score = rho * (0.7 + 0.6 * rng.random(n))
    placed["commercial"] = take(np.lexsort((np.arange(n), -score)), KIND_TOTALS["commercial"], "commercial",
                                eligible=urban)

    # schools spread out: one in each of many communities (weighted by size), in each a random grid that does
    # not border a school already placed
    weight = size.astype(float) * np.where([c.urban for c in communities], 1.5, 1.0)
    keys = rng.random(len(communities)) ** (1.0 / weight)
    placed["school"] = 0
    for c in np.lexsort((np.arange(len(communities)), -keys)).tolist():
        if placed["school"] == KIND_TOTALS["school"]:
            break
        members = np.flatnonzero(comm == c)
        members = members[rng.permutation(len(members))]
        crowded = [any(kinds[w] == "school" for w in nbrs[g]) for g in members.tolist()]
        placed["school"] += take(members[np.argsort(crowded, kind="stable")], 1, "school")

    # a handful of other grids (parks, wetlands, reservoirs) anywhere
    placed["other"] = take(rng.permutation(n), KIND_TOTALS["other"], "other")
    for kind, count in placed.items():
        if count != KIND_TOTALS[kind]:  # pragma: no cover
            raise RuntimeError(f"could only place {count} of {KIND_TOTALS[kind]} {kind} grids")
    return kinds


def _people(rng: np.random.Generator, kinds: list[str], urban: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    n = len(kinds)
    households = np.zeros(n, dtype=np.int64)
    population = np.zeros(n, dtype=np.int64)
    for g in range(n):
        kind, is_urban = kinds[g], urban[g]
        if kind == "residential":
            hh = int(rng.integers(220, 381)) if is_urban else int(rng.integers(30, 91))
            households[g] = hh
            population[g] = round(hh * rng.uniform(2.4, 3.0))
        elif kind == "enterprise":
            population[g] = int(np.clip(rng.lognormal(math.log(160), 0.8), 20, 3000))
        elif kind == "school":
            population[g] = int(rng.integers(800, 3001)) if is_urban else int(rng.integers(150, 801))
        elif kind == "commercial":
            hh = int(rng.integers(0, 41))
            households[g] = hh
            population[g] = round(hh * rng.uniform(2.4, 3.0)) + int(rng.integers(150, 1201))
        else:
            population[g] = int(rng.integers(0, 31))
    return households, population
