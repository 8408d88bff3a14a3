"""The demo city generator: pure, no Django, no database.

Run with ``python -m pytest yiwang/demo/tests -q -p no:django``.

Tolerances. Coordinates are rounded to 7 decimals (1e-7° ≈ 1 cm), and neighbouring grids share the very same
vertex coordinates, so the tiling checks are exact wherever possible:

* overlaps: the DE-9IM predicate "interiors intersect" (robust, no tolerance) must be false for every pair of
  grids whose boxes meet; on top, the intersection area must be < 1e-12 deg² (≈ 0.01 m² at 41°N). The smallest
  grid is ~1e-6 deg², and a single vertex off by one rounding quantum (1e-7°) along a ~1e-3° edge already makes
  ~1e-10 deg², so the bound is far below anything real and far above floating noise (which is 0 here).
* gaps: the city outline has no holes, every grid edge is either shared with exactly one other grid (traversed
  the other way round) or lies on the outline, and the areas agree (sum of grid areas = area of their union =
  area of the city) to 1e-10 relative; GEOS' ring area is exact to ~1e-13 relative here, while one missing grid
  would be ~1e-5 relative.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from yiwang.demo.citygen import KIND_TOTALS, City, generate_city

DISTRICTS = {
    "211102000000": "双台子区",
    "211103000000": "兴隆台区",
    "211104000000": "大洼区",
    "211122000000": "盘山县",
}
URBAN_DISTRICTS = {"211102000000", "211103000000"}
OVERLAP_AREA = 1e-12  # deg², see the module docstring
AREA_RTOL = 1e-10

# ----------------------------------------------------------------------------------------------------------------
# fixtures and checkers (the checkers are themselves tested against broken tilings below)


@pytest.fixture(scope="module")
def city() -> City:
    return generate_city(2022)  # how long it takes is measured by bench/locator.py, not here


@pytest.fixture(scope="module")
def other_city() -> City:
    return generate_city(7)


@pytest.fixture(scope="module")
def grid_polys(city) -> np.ndarray:
    return np.array([shape(g.geometry) for g in city.grids])


def by_level(city: City, level: str):
    return [r for r in city.regions if r.level == level]


def overlapping_pairs(polys: np.ndarray) -> list[tuple[int, int]]:
    """Pairs of polygons whose interiors intersect or whose intersection has area."""
    tree = shapely.STRtree(polys)
    left, right = tree.query(polys, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    interiors = shapely.relate_pattern(polys[left], polys[right], "T********")
    areas = shapely.area(shapely.intersection(polys[left], polys[right]))
    bad = interiors | (areas >= OVERLAP_AREA)
    return list(zip(left[bad].tolist(), right[bad].tolist(), strict=True))


def edge_problems(rings: list[list[list[float]]], outline_length: float) -> list[str]:
    """Every edge must be shared by exactly two rings, in opposite directions, or lie on the outline (whose
    length the unshared edges must add up to)."""
    directed: Counter = Counter()
    for ring in rings:
        for a, b in zip(ring[:-1], ring[1:], strict=True):
            directed[(tuple(a), tuple(b))] += 1
    problems = []
    boundary = 0.0
    for (a, b), n in directed.items():
        if n > 1:
            problems.append(f"edge {a}->{b} used {n} times in the same direction")
        if (b, a) not in directed:
            boundary += math.dist(a, b)
    if not math.isclose(boundary, outline_length, rel_tol=1e-9):
        problems.append(f"unshared edges add up to {boundary}, the outline is {outline_length}")
    return problems


def tiling_problems(city: City) -> list[str]:
    polys = np.array([shape(g.geometry) for g in city.grids])
    problems = [f"grid {city.grids[i].code} invalid" for i in np.flatnonzero(~shapely.is_valid(polys))]
    problems += [f"{city.grids[a].code} overlaps {city.grids[b].code}" for a, b in overlapping_pairs(polys)]
    outline = shape(city.regions[0].geometry)
    if outline.geom_type != "Polygon" or len(outline.interiors):
        problems.append("the city outline is not one polygon without holes")
    union = shapely.union_all(polys)
    total = float(shapely.area(polys).sum())
    for what, area in (("union", union.area), ("outline", outline.area)):
        if not math.isclose(total, area, rel_tol=AREA_RTOL):
            problems.append(f"sum of grid areas {total} != {what} area {area}")
    problems += edge_problems([g.geometry["coordinates"][0] for g in city.grids], outline.exterior.length)
    return problems


# ----------------------------------------------------------------------------------------------------------------
# structure


def test_counts_per_level(city):
    assert Counter(r.level for r in city.regions) == {"city": 1, "district": 4, "street": 48, "community": 538}
    assert len(city.grids) == 4642


def test_city_and_districts(city):
    top = city.regions[0]
    assert (top.code, top.name, top.level, top.parent_code) == ("211100000000", "盘锦市", "city", None)
    districts = by_level(city, "district")
    assert {d.code: d.name for d in districts} == DISTRICTS
    assert all(d.parent_code == "211100000000" for d in districts)
    assert {d.code for d in districts if d.urban} == URBAN_DISTRICTS


def test_parents_come_before_children(city):
    seen = set()
    for r in city.regions:
        assert r.parent_code is None or r.parent_code in seen, r.code
        seen.add(r.code)
    assert all(g.community_code in seen for g in city.grids)


def test_code_formats_and_prefixes(city):
    regions = {r.code: r for r in city.regions}
    for r in city.regions:
        assert re.fullmatch(r"\d{12}", r.code), r.code
    for s in by_level(city, "street"):
        assert regions[s.parent_code].level == "district"
        assert re.fullmatch(re.escape(s.parent_code[:6]) + r"\d{3}000", s.code) and s.code[6:9] != "000"
    for c in by_level(city, "community"):
        assert regions[c.parent_code].level == "street"
        assert re.fullmatch(re.escape(c.parent_code[:9]) + r"\d{3}", c.code) and c.code[9:] != "000"
    for g in city.grids:
        assert regions[g.community_code].level == "community"
        assert re.fullmatch(re.escape(g.community_code) + r"\d{3}", g.code) and g.code[12:] != "000"


def test_serials_run_from_001_without_holes(city):
    serials = defaultdict(list)
    for s in by_level(city, "street"):
        serials[s.parent_code].append(int(s.code[6:9]))
    for c in by_level(city, "community"):
        serials[c.parent_code].append(int(c.code[9:]))
    for g in city.grids:
        serials[g.community_code].append(int(g.code[12:]))
    for parent, numbers in serials.items():
        assert numbers == list(range(1, len(numbers) + 1)), parent


def test_codes_unique_and_names_unique_within_parent(city):
    codes = [r.code for r in city.regions] + [g.code for g in city.grids]
    assert len(codes) == len(set(codes))
    names = defaultdict(list)
    for r in city.regions:
        names[r.parent_code].append(r.name)
    for g in city.grids:
        names[g.community_code].append(g.name)
    for parent, values in names.items():
        assert len(values) == len(set(values)), parent
    assert all(g.name.endswith("网格") for g in city.grids)


def test_names_follow_the_urban_rural_split(city):
    regions = {r.code: r for r in city.regions}
    for s in by_level(city, "street"):
        assert s.name.endswith("街道") if s.urban else s.name.endswith("镇"), s.name
        if s.parent_code in URBAN_DISTRICTS:
            assert s.urban
    for c in by_level(city, "community"):
        assert c.name.endswith("社区") if c.urban else c.name.endswith("村"), c.name
        if regions[c.parent_code].parent_code in URBAN_DISTRICTS:
            assert c.urban
    rural_streets = [s for s in by_level(city, "street") if s.parent_code not in URBAN_DISTRICTS]
    assert any(s.urban for s in rural_streets) and any(not s.urban for s in rural_streets)
    assert 300 <= sum(not c.urban for c in by_level(city, "community")) <= 420


def test_counts_per_district_are_plausible(city):
    streets = Counter(s.parent_code for s in by_level(city, "street"))
    communities = Counter(c.parent_code[:6] for c in by_level(city, "community"))
    grids = Counter(g.code[:6] for g in city.grids)
    assert sum(streets.values()) == 48 and all(streets[d] >= 5 for d in DISTRICTS)
    for code in DISTRICTS:
        assert communities[code[:6]] >= 3 * streets[code]
        assert grids[code[:6]] >= 3 * communities[code[:6]]
    # the rural districts are the big ones
    assert min(grids["211104"], grids["211122"]) > max(grids["211102"], grids["211103"])


# ----------------------------------------------------------------------------------------------------------------
# determinism and speed


def test_deterministic(city):
    again = generate_city(2022)
    assert again == city
    dump = json.dumps([city.regions, city.grids], default=vars, ensure_ascii=False)
    assert json.dumps([again.regions, again.grids], default=vars, ensure_ascii=False) == dump


def test_seed_matters(city, other_city):
    assert other_city.grids[0].geometry != city.grids[0].geometry
    assert [g.kind for g in other_city.grids] != [g.kind for g in city.grids]


# ----------------------------------------------------------------------------------------------------------------
# geometry


def test_grid_polygons_are_valid_closed_ccw_single_rings(city, grid_polys):
    for g, poly in zip(city.grids, grid_polys, strict=True):
        assert g.geometry["type"] == "Polygon" and len(g.geometry["coordinates"]) == 1, g.code
        ring = g.geometry["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 4, g.code
        assert all(round(v, 7) == v for pt in ring for v in pt), g.code
        assert poly.is_valid and poly.area > 0, g.code
        assert poly.exterior.is_ccw, g.code


def test_region_polygons_are_valid(city):
    for r in city.regions:
        geom = shape(r.geometry)
        assert r.geometry["type"] in {"Polygon", "MultiPolygon"}
        assert geom.is_valid and geom.area > 0, r.code
        parts = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
        assert all(p.exterior.is_ccw for p in parts), r.code


def test_no_overlapping_grids(grid_polys):
    assert overlapping_pairs(grid_polys) == []


def test_no_gaps_and_shared_edges_are_exact(city):
    assert tiling_problems(city) == []


def test_other_seed_tiles_too(other_city):
    assert len(other_city.grids) == 4642
    assert tiling_problems(other_city) == []
    assert all(shape(r.geometry).geom_type == "Polygon" for r in other_city.regions)


def test_regions_are_unions_of_their_children(city, grid_polys):
    children = defaultdict(list)
    for g, poly in zip(city.grids, grid_polys, strict=True):
        children[g.community_code].append(poly)
    geoms = {r.code: shape(r.geometry) for r in city.regions}
    for r in reversed(city.regions):  # children first
        union = shapely.union_all(children[r.code])
        assert union.equals(geoms[r.code]), r.code
        assert math.isclose(union.area, geoms[r.code].area, rel_tol=AREA_RTOL), r.code
        if r.parent_code:
            children[r.parent_code].append(geoms[r.code])


def test_every_region_is_one_contiguous_patch(city):
    assert all(r.geometry["type"] == "Polygon" for r in city.regions)


def test_layout_around_panjin(city):
    geoms = {r.code: shape(r.geometry) for r in city.regions}
    min_lon, min_lat, max_lon, max_lat = geoms["211100000000"].bounds
    assert min_lon >= 121.65 and min_lat >= 40.75
    assert max_lon <= 122.45 and max_lat <= 41.45
    assert max_lon - min_lon > 0.55 and max_lat - min_lat > 0.5
    for code in URBAN_DISTRICTS:  # the urban districts sit around the centre (41.1°N 122.05°E)
        c = geoms[code].centroid
        assert abs(c.x - 122.05) < 0.1 and abs(c.y - 41.12) < 0.1, code
    north, south = geoms["211102000000"].centroid, geoms["211103000000"].centroid
    assert north.y > south.y  # 双台子 north of 兴隆台
    assert geoms["211104000000"].centroid.x > geoms["211122000000"].centroid.x  # 大洼 east of 盘山
    grids = Counter(code[:6] for code in (g.code for g in city.grids))
    density = {code: grids[code[:6]] / geoms[code].area for code in DISTRICTS}
    area = {code: geoms[code].area for code in DISTRICTS}
    assert min(density[c] for c in URBAN_DISTRICTS) > 2 * max(density[c] for c in DISTRICTS if c not in URBAN_DISTRICTS)
    assert max(area[c] for c in URBAN_DISTRICTS) < min(area[c] for c in DISTRICTS if c not in URBAN_DISTRICTS)


# ----------------------------------------------------------------------------------------------------------------
# kinds and people


def test_kind_proportions(city):
    kinds = Counter(g.kind for g in city.grids)
    assert set(kinds) <= set(KIND_TOTALS)
    core = kinds["residential"] + kinds["enterprise"] + kinds["school"]
    # Dashiqiao: 1,480 residential, 249 enterprise, 69 school of 1,798
    assert abs(kinds["residential"] / core - 1480 / 1798) < 0.02
    assert abs(kinds["enterprise"] / core - 249 / 1798) < 0.02
    assert abs(kinds["school"] / core - 69 / 1798) < 0.01
    assert 0.02 <= kinds["commercial"] / len(city.grids) <= 0.03
    assert 5 <= kinds["other"] <= 40


def _neighbours(city: City) -> list[set[int]]:
    owners = defaultdict(list)
    for i, g in enumerate(city.grids):
        ring = g.geometry["coordinates"][0]
        for a, b in zip(ring[:-1], ring[1:], strict=True):
            owners[tuple(sorted((tuple(a), tuple(b))))].append(i)
    nbrs = [set() for _ in city.grids]
    for cells in owners.values():
        if len(cells) == 2:
            nbrs[cells[0]].add(cells[1])
            nbrs[cells[1]].add(cells[0])
    return nbrs


def test_enterprises_cluster_and_schools_spread(city):
    nbrs = _neighbours(city)
    kinds = [g.kind for g in city.grids]

    def share_with_same_kind_neighbour(kind):
        mine = [i for i, k in enumerate(kinds) if k == kind]
        return sum(any(kinds[j] == kind for j in nbrs[i]) for i in mine) / len(mine)

    assert share_with_same_kind_neighbour("enterprise") > 0.8
    assert share_with_same_kind_neighbour("school") < 0.15
    schools = Counter(g.community_code for g in city.grids if g.kind == "school")
    assert len(schools) > 150 and max(schools.values()) <= 2
    residential = {g.community_code for g in city.grids if g.kind == "residential"}
    assert residential == {c.code for c in by_level(city, "community")}


def test_households_and_population(city):
    urban = {r.code: r.urban for r in city.regions if r.level == "community"}
    for g in city.grids:
        assert g.households >= 0 and g.population >= 0, g.code
        if g.kind == "residential":
            low, high = (220, 380) if urban[g.community_code] else (30, 90)
            assert low <= g.households <= high, g.code
            assert g.households * 2.4 - 0.5 <= g.population <= g.households * 3.0 + 0.5, g.code
        elif g.kind == "school":
            assert g.households == 0 and 150 <= g.population <= 3000, g.code
        elif g.kind == "enterprise":
            assert g.households == 0 and 20 <= g.population <= 3000, g.code
        elif g.kind == "commercial":
            assert g.households <= 40 and g.population >= 150, g.code
        else:
            assert g.households == 0 and g.population <= 50, g.code
    residents = sum(g.population for g in city.grids if g.kind == "residential")
    total = sum(g.population for g in city.grids)
    assert 1_150_000 <= residents <= 1_650_000  # Panjin: about 1.39 million residents
    assert residents < total <= 2_500_000
    urban_hh = [g.households for g in city.grids if g.kind == "residential" and urban[g.community_code]]
    rural_hh = [g.households for g in city.grids if g.kind == "residential" and not urban[g.community_code]]
    assert abs(np.mean(urban_hh) - 300) < 15 and abs(np.mean(rural_hh) - 60) < 6


# ----------------------------------------------------------------------------------------------------------------
# the checkers catch broken tilings


def _square(x0, y0, size=0.01):
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]


def test_checkers_catch_overlaps_gaps_and_loose_edges():
    left, right = _square(122.0, 41.0), _square(122.01, 41.0)
    polys = np.array([shapely.Polygon(left), shapely.Polygon(right)])
    outline = shapely.union_all(polys).exterior.length
    assert overlapping_pairs(polys) == [] and edge_problems([left, right], outline) == []

    # shift one shared vertex of the right square by a single rounding quantum into the left one
    nudged = [list(p) for p in right]
    nudged[0][0] = round(nudged[0][0] - 1e-7, 7)
    nudged[-1] = list(nudged[0])
    assert overlapping_pairs(np.array([polys[0], shapely.Polygon(nudged)])) == [(0, 1)]
    assert edge_problems([left, nudged], outline) != []

    # ... or away from it: no overlap, but a sliver gap and edges that do not match
    gap = [list(p) for p in right]
    gap[0][0] = round(gap[0][0] + 1e-7, 7)
    gap[-1] = list(gap[0])
    assert overlapping_pairs(np.array([polys[0], shapely.Polygon(gap)])) == []
    assert edge_problems([left, gap], outline) != []

    # a T-junction (a vertex on the neighbour's edge that the neighbour does not have) is caught too
    split = [right[0], right[1], right[2], right[3], [122.01, 41.005], right[0]]
    assert edge_problems([left, split], outline) != []
