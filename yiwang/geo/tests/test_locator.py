"""Tests for yiwang.geo.locator.GridIndex (pure: no database, no Django)."""

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping

from yiwang.geo.locator import GridIndex


def sq(x0, y0, x1, y1, holes=()):
    return mapping(shapely.Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], holes=list(holes)))


def ring(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def both(index, lon, lat):
    """locate() and locate_many() for one point, asserting that they agree."""
    one = index.locate(lon, lat)
    many = int(index.locate_many(np.array([lon], dtype=float), np.array([lat], dtype=float))[0])
    assert (one if one is not None else -1) == many, (lon, lat, one, many)
    return one


# --------------------------------------------------------------------------- basics


def test_interior_and_outside():
    index = GridIndex.build([(7, "A", sq(0, 0, 1, 1)), (8, "B", sq(1, 0, 2, 1))])
    assert len(index) == 2
    assert both(index, 0.25, 0.5) == 7
    assert both(index, 1.75, 0.5) == 8
    assert both(index, 0.5, 1.5) is None
    assert both(index, -0.5, 0.5) is None
    assert both(index, 2.5, 0.5) is None
    assert both(index, 1.0, -0.001) is None


@pytest.mark.parametrize(("code_left", "code_right", "winner"), [("A", "B", 1), ("B", "A", 2)])
def test_shared_edge_smallest_code_wins(code_left, code_right, winner):
    index = GridIndex.build([(1, code_left, sq(0, 0, 1, 1)), (2, code_right, sq(1, 0, 2, 1))])
    for y in (0.0, 0.1, 0.5, 0.999, 1.0):
        assert both(index, 1.0, y) == winner
    # just off the edge, each side gets its own grid
    assert both(index, math.nextafter(1.0, 0.0), 0.5) == 1
    assert both(index, math.nextafter(1.0, 2.0), 0.5) == 2


def test_code_order_is_string_order_not_id_order():
    # "G10" < "G9" as strings; ids deliberately in the other order.
    index = GridIndex.build([(1, "G9", sq(0, 0, 1, 1)), (2, "G10", sq(1, 0, 2, 1))])
    assert both(index, 1.0, 0.5) == 2


def test_shared_vertex_of_four_squares():
    items = [
        (11, "D", sq(0, 0, 1, 1)),
        (12, "B", sq(1, 0, 2, 1)),
        (13, "C", sq(0, 1, 1, 2)),
        (14, "E", sq(1, 1, 2, 2)),
    ]
    index = GridIndex.build(items)
    assert both(index, 1.0, 1.0) == 12  # "B" is the smallest of the four codes
    assert both(index, 1.0, 0.5) == 12  # edge D|B -> B
    assert both(index, 1.0, 1.5) == 13  # edge C|E -> C
    assert both(index, 0.5, 1.0) == 13  # edge D|C -> C
    assert both(index, 1.5, 1.0) == 12  # edge B|E -> B
    assert both(index, 0.5, 0.5) == 11
    assert both(index, 1.5, 1.5) == 14
    assert both(index, 0.0, 0.0) == 11  # outer corner
    assert both(index, 2.0, 2.0) == 14


def test_point_in_hole_is_not_in_grid():
    index = GridIndex.build([(1, "A", sq(0, 0, 10, 10, holes=[ring(4, 4, 6, 6)]))])
    assert both(index, 5, 5) is None
    assert both(index, 4.5, 5.5) is None
    assert both(index, 2, 2) == 1
    assert both(index, 4, 5) == 1  # the hole's edge is part of the closed polygon
    assert both(index, 6, 6) == 1


def test_point_in_hole_belongs_to_the_grid_filling_it():
    items = [(1, "B", sq(0, 0, 10, 10, holes=[ring(4, 4, 6, 6)])), (2, "C", sq(4, 4, 6, 6))]
    index = GridIndex.build(items)
    assert both(index, 5, 5) == 2
    assert both(index, 2, 8) == 1
    assert both(index, 4, 5) == 1  # shared hole edge: "B" < "C"
    assert both(index, 6, 4) == 1
    swapped = GridIndex.build([(1, "D", items[0][2]), (2, "C", items[1][2])])
    assert both(swapped, 4, 5) == 2
    assert both(swapped, 5, 5) == 2
    assert both(swapped, 1, 1) == 1


def test_multipolygon_parts_and_gap():
    multi = mapping(shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)]))
    index = GridIndex.build([(5, "M", multi)])
    assert both(index, 0.5, 0.5) == 5
    assert both(index, 2.5, 0.5) == 5
    assert both(index, 1.5, 0.5) is None
    assert both(index, 1.0, 0.5) == 5
    assert both(index, 2.0, 0.5) == 5


def test_concave_u_shape_notch():
    u = {
        "type": "Polygon",
        "coordinates": [[[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]]],
    }
    index = GridIndex.build([(3, "U", u)])
    assert both(index, 1.5, 2.0) is None  # in the notch
    assert both(index, 1.5, 2.999) is None
    assert both(index, 0.5, 2.5) == 3  # left arm
    assert both(index, 2.5, 2.5) == 3  # right arm
    assert both(index, 1.5, 0.5) == 3  # base
    assert both(index, 1.5, 1.0) == 3  # notch floor is boundary
    assert both(index, 1.0, 2.0) == 3  # notch wall is boundary


def test_outer_boundary_of_lone_grid():
    index = GridIndex.build([(9, "Z", sq(121.7, 40.8, 121.8, 40.9))])
    assert both(index, 121.7, 40.85) == 9
    assert both(index, 121.8, 40.85) == 9
    assert both(index, 121.75, 40.8) == 9
    assert both(index, 121.75, 40.9) == 9
    assert both(index, 121.7, 40.8) == 9
    assert both(index, 121.8, 40.9) == 9
    assert both(index, math.nextafter(121.8, 200.0), 40.85) is None
    assert both(index, 121.75, math.nextafter(40.9, 100.0)) is None


def test_nan_inf_and_bad_input_never_raise():
    index = GridIndex.build([(1, "A", sq(0, 0, 1, 1))])
    for lon, lat in [
        (math.nan, 0.5),
        (0.5, math.nan),
        (math.inf, 0.5),
        (0.5, -math.inf),
        (1e308, 0.5),
        (-500.0, 0.5),
    ]:
        assert both(index, lon, lat) is None
    assert index.locate(None, 0.5) is None
    assert index.locate("x", 0.5) is None
    got = index.locate_many(np.array([0.5, np.nan, 0.5, np.inf]), np.array([0.5, 0.5, np.nan, 0.5]))
    assert got.dtype == np.int64
    assert got.tolist() == [1, -1, -1, -1]


def test_overlapping_grids_smallest_code_wins():
    index = GridIndex.build([(1, "B", sq(0, 0, 2, 2)), (2, "A", sq(1, 1, 3, 3))])
    assert both(index, 1.5, 1.5) == 2
    assert both(index, 0.5, 0.5) == 1
    assert both(index, 2.5, 2.5) == 2
    # next to A's edges but only inside B (cells that A's boundary crosses)
    assert both(index, 0.999, 1.5) == 1
    assert both(index, 1.5, 0.999) == 1
    assert both(index, 1.0, 1.5) == 2
    assert both(index, 2.001, 1.5) == 2


def test_far_apart_grids_and_tiny_grid():
    # bbox spans most of the globe; the raster is capped and must stay exact.
    items = [(1, "A", sq(-170, -80, -169.9, -79.9)), (2, "B", sq(170, 80, 170.0001, 80.0001))]
    index = GridIndex.build(items)
    assert both(index, -169.95, -79.95) == 1
    assert both(index, 170.00005, 80.00005) == 2
    assert both(index, 170.0001, 80.0001) == 2
    assert both(index, 0.0, 0.0) is None
    assert index.stats()["cells"] <= 6_000_000


def test_locate_many_shape_and_broadcast():
    index = GridIndex.build([(1, "A", sq(0, 0, 1, 1)), (2, "B", sq(1, 0, 2, 1))])
    lon = np.array([[0.5, 1.5], [2.5, 1.0]])
    got = index.locate_many(lon, 0.5)
    assert got.shape == (2, 2)
    assert got.tolist() == [[1, 2], [-1, 1]]
    assert index.locate_many([], []).tolist() == []


def test_shapely_geometry_and_invalid_bowtie_accepted():
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}
    index = GridIndex.build([(1, "A", bowtie), (2, "B", shapely.box(5, 5, 6, 6))])
    assert both(index, 0.2, 1.0) == 1  # left triangle of the repaired bowtie
    assert both(index, 1.0, 0.2) is None  # outside both triangles
    assert both(index, 5.5, 5.5) == 2
    with pytest.raises(ValueError):
        GridIndex.build([(1, "A", {"type": "Point", "coordinates": [0, 0]})])


def test_empty_geometries_are_counted_but_never_match():
    empty = {"type": "Polygon", "coordinates": []}
    only_empty = GridIndex.build([(1, "A", empty)])
    assert len(only_empty) == 1
    assert both(only_empty, 0.0, 0.0) is None
    mixed = GridIndex.build([(1, "A", empty), (2, "B", sq(0, 0, 1, 1))])
    assert len(mixed) == 2
    assert both(mixed, 0.5, 0.5) == 2
    assert both(mixed, 0.0, 0.0) == 2


def test_empty_index():
    for index in (GridIndex.EMPTY, GridIndex.empty(), GridIndex.build([])):
        assert len(index) == 0
        assert index.locate(0.0, 0.0) is None
        assert index.locate(121.9, 41.0) is None
        got = index.locate_many(np.array([0.0, 121.9, np.nan]), np.array([0.0, 41.0, 1.0]))
        assert got.tolist() == [-1, -1, -1]


# ------------------------------------------------------------- randomized oracle


def random_tiling(seed, n_seeds=160, bounds=(121.7, 40.8, 122.4, 41.4)):
    """Voronoi cells clipped to a box, with holes punched into some cells (half filled by new grids)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    seeds = np.c_[rng.uniform(x0, x1, n_seeds), rng.uniform(y0, y1, n_seeds)]
    box = shapely.box(x0, y0, x1, y1)
    cells = list(
        shapely.intersection(
            shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box)), box
        )
    )
    geoms = []
    for k, cell in enumerate(cells):
        if k < 6:
            # punch a hole (a shrunken copy of the cell, so it is strictly inside)
            c = cell.centroid
            hole = shapely.affinity.scale(cell, 0.4, 0.4, origin=c)
            cell = shapely.Polygon(cell.exterior.coords, [hole.exterior.coords])
            if k % 2 == 0:
                geoms.append(hole)  # a grid filling the hole exactly
        geoms.append(cell)
    # one MultiPolygon: merge two non-adjacent cells into one grid
    a, b = geoms.pop(), geoms.pop(len(geoms) // 2)
    geoms.append(shapely.MultiPolygon([a, b]) if not a.intersects(b) else shapely.union(a, b))
    ids = rng.permutation(len(geoms)) + 100
    codes = [f"C{int(v):04d}" for v in rng.permutation(len(geoms))]
    return [(int(i), code, mapping(g)) for i, code, g in zip(ids, codes, geoms, strict=True)]


def oracle(items, x, y):
    """Brute force: covering grid with the smallest (code, id), -1 if none."""
    ranked = sorted(items, key=lambda it: (it[1], it[0]))
    out = np.full(len(x), -1, dtype=np.int64)
    pts = shapely.points(x, y)
    for gid, _code, geom in reversed(ranked):  # later (smaller) codes overwrite
        out[shapely.covers(shapely.geometry.shape(geom), pts)] = gid
    return out


def sample_points(items, rng, n_random=12000, n_vertices=4000, n_midpoints=4000):
    geoms = [shapely.geometry.shape(g) for _, _, g in items]
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    dx, dy = (x1 - x0) * 0.05, (y1 - y0) * 0.05
    px = rng.uniform(x0 - dx, x1 + dx, n_random)
    py = rng.uniform(y0 - dy, y1 + dy, n_random)
    coords = shapely.get_coordinates(geoms)
    verts = coords[rng.integers(0, len(coords), n_vertices)]
    rings = shapely.get_rings(shapely.get_parts(geoms))
    edge_coords, edge_ring = shapely.get_coordinates(rings, return_index=True)
    same = np.flatnonzero(edge_ring[1:] == edge_ring[:-1])
    pick = same[rng.integers(0, len(same), n_midpoints)]
    mids = (edge_coords[pick] + edge_coords[pick + 1]) / 2
    x = np.concatenate([px, verts[:, 0], mids[:, 0]])
    y = np.concatenate([py, verts[:, 1], mids[:, 1]])
    return x, y


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_locate_many_matches_bruteforce_oracle(seed):
    items = random_tiling(seed)
    index = GridIndex.build(items)
    rng = np.random.default_rng(seed + 1000)
    x, y = sample_points(items, rng)
    expected = oracle(items, x, y)
    got = index.locate_many(x, y)
    bad = np.flatnonzero(got != expected)
    assert bad.size == 0, [(x[i], y[i], got[i], expected[i]) for i in bad[:10]]
    # scalar path agrees point by point
    scalar = np.array(
        [-1 if (r := index.locate(a, b)) is None else r for a, b in zip(x.tolist(), y.tolist(), strict=True)]
    )
    assert np.array_equal(scalar, expected)
    # the sample really exercised the interesting cases
    pts = shapely.points(x, y)
    n_cover = sum(shapely.covers(shapely.geometry.shape(g), pts).astype(int) for _, _, g in items)
    assert (n_cover >= 2).sum() > 3000  # shared edges and vertices
    assert (expected == -1).sum() > 500  # outside and unfilled holes
    stats = index.stats()
    assert stats["pure_frac"] > 0.5
    assert stats["mixed_frac"] > 0


def test_rotated_fine_tiling_matches_oracle():
    # many small grids far from the origin, tilted so that no edge is axis-aligned
    items = random_tiling(7, n_seeds=600, bounds=(121.9, 41.0, 121.95, 41.04))
    items = [
        (gid, code, mapping(shapely.affinity.rotate(shapely.geometry.shape(g), 17, origin=(121.92, 41.02))))
        for gid, code, g in items
    ]
    index = GridIndex.build(items)
    rng = np.random.default_rng(99)
    x, y = sample_points(items, rng, n_random=8000, n_vertices=3000, n_midpoints=3000)
    expected = oracle(items, x, y)
    assert np.array_equal(index.locate_many(x, y), expected)


def test_demo_city_matches_oracle():
    """The real demo city (if its generator is importable): exact agreement on 30,000 points."""
    citygen = pytest.importorskip("yiwang.demo.citygen")
    city = citygen.generate_city()
    items = [(k + 1, grid.code, grid.geometry) for k, grid in enumerate(city.grids)]
    index = GridIndex.build(items)
    assert len(index) == len(items)
    rng = np.random.default_rng(2022)
    x, y = sample_points(items, rng, n_random=20000, n_vertices=5000, n_midpoints=5000)
    # oracle through an STRtree: every grid covering the point, smallest (code, id) wins
    geoms = [shapely.geometry.shape(g) for _, _, g in items]
    rank = {k: r for r, k in enumerate(sorted(range(len(items)), key=lambda k: (items[k][1], items[k][0])))}
    pt_idx, geom_idx = shapely.STRtree(geoms).query(shapely.points(x, y), predicate="covered_by")
    best = np.full(len(x), len(items))
    np.minimum.at(best, pt_idx, np.array([rank[k] for k in geom_idx.tolist()], dtype=np.int64))
    by_rank = np.array([items[k][0] for k in sorted(rank, key=rank.get)] + [-1], dtype=np.int64)
    expected = by_rank[best]
    assert np.array_equal(index.locate_many(x, y), expected)
    assert (np.bincount(pt_idx, minlength=len(x)) >= 2).sum() > 3000
