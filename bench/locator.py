#!/usr/bin/env python
"""Benchmark: point -> grid lookup, yiwang's in-memory GridIndex against PostGIS.

Run from the repository root:  python bench/locator.py

Polygons come from the demo city (yiwang.demo.citygen.generate_city).  Both sides
answer the same random points, uniform over the city's bounding box (fixed seed).

yiwang (yiwang.geo.locator.GridIndex):
  * build time of the index;
  * single ``locate`` on N_SINGLE random points, timed two ways with
    ``time.perf_counter_ns()``: (a) each call between its own timer pair, minus the
    median cost of an empty timer pair (~0.1 µs), giving the per-lookup median, p95
    and p99 (these are the headline figures); (b) batches of BATCH_OF consecutive
    distinct points under one timer pair, per-lookup = batch time / BATCH_OF, median
    and p95 over the batches (timer cost negligible, tails averaged out).  A plain
    pass over all points gives the mean;
  * ``locate_many`` on N_BATCH points: median of 5 runs.

PostGIS (local PostgreSQL; env BENCH_PG_DSN, default postgresql://postgres@127.0.0.1:5432/postgres):
  * database ``yiwang_bench`` (created if missing), table ``bench_grid`` with a GiST index;
  * single: N_PG_SINGLE prepared ``ST_Contains ... LIMIT 1`` round trips, each timed;
  * batch: the same N_BATCH points in one query joining ``unnest(x[], y[])`` with
    ``ST_Contains`` (LEFT JOIN, every point answered, rows fetched to the client).

Cross-check: ST_Contains excludes the boundary, GridIndex includes it, so the two must
agree on every point except points exactly on a grid boundary (counted separately).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from yiwang.geo.locator import GridIndex  # noqa: E402  (needs the sys.path line above)

SEED = 20240601
N_SINGLE = 100_000
BATCH_OF = 100
N_BATCH = 1_000_000
N_PG_SINGLE = 2_000
BATCH_RUNS = 5
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "yiwang_bench"

TARGET_SINGLE_US = 10.0
TARGET_BATCH_S = 1.0
TARGET_RATIO = 10.0


def load_city():
    from yiwang.demo.citygen import generate_city  # lazy: only the benchmark needs the demo city

    t0 = time.perf_counter()
    city = generate_city()
    elapsed = time.perf_counter() - t0
    items = [(k + 1, grid.code, grid.geometry) for k, grid in enumerate(city.grids)]
    return items, elapsed


def bbox_of(items):
    import shapely

    geoms = [shapely.geometry.shape(g) for _, _, g in items]
    return shapely.total_bounds(geoms)


def pct(values, q):
    return float(np.percentile(np.asarray(values, dtype=float), q))


# ---------------------------------------------------------------- yiwang


def bench_yiwang(items, single_x, single_y, batch_x, batch_y):
    res = {}
    builds = []
    index = None
    for _ in range(3):
        t0 = time.perf_counter()
        index = GridIndex.build(items)
        builds.append(time.perf_counter() - t0)
    res["build_s"] = statistics.median(builds)
    res["stats"] = index.stats()

    locate = index.locate
    clock = time.perf_counter_ns
    xs, ys = single_x.tolist(), single_y.tolist()
    for a, b in zip(xs[:2000], ys[:2000], strict=True):  # warm-up
        locate(a, b)
    # (a) every lookup timed on its own; the timer pair's own cost is subtracted
    timer_ns = float(np.median([-(clock() - clock()) for _ in range(20_000)]))
    per_call = np.empty(len(xs))
    for k, (a, b) in enumerate(zip(xs, ys, strict=True)):
        t0 = clock()
        locate(a, b)
        per_call[k] = clock() - t0
    per_call_us = (per_call - timer_ns) / 1000.0
    res["timer_ns"] = timer_ns
    res["single_median_us"] = float(np.median(per_call_us))
    res["single_p95_us"] = pct(per_call_us, 95)
    res["single_p99_us"] = pct(per_call_us, 99)
    # (b) batches of BATCH_OF consecutive distinct points, one timer pair per batch
    batch_means = []
    for start in range(0, len(xs), BATCH_OF):
        bx, by = xs[start : start + BATCH_OF], ys[start : start + BATCH_OF]
        t0 = clock()
        for a, b in zip(bx, by, strict=True):
            locate(a, b)
        batch_means.append((clock() - t0) / len(bx) / 1000.0)
    res["batched_median_us"] = float(np.median(batch_means))
    res["batched_p95_us"] = pct(batch_means, 95)
    t0 = clock()
    single_answers = [locate(a, b) for a, b in zip(xs, ys, strict=True)]
    res["single_mean_us"] = (clock() - t0) / len(xs) / 1000.0
    res["single_answers"] = np.array([-1 if r is None else r for r in single_answers], dtype=np.int64)

    runs = []
    answers = None
    for _ in range(BATCH_RUNS):
        t0 = time.perf_counter()
        answers = index.locate_many(batch_x, batch_y)
        runs.append(time.perf_counter() - t0)
    res["batch_runs_s"] = runs
    res["batch_s"] = statistics.median(runs)
    res["batch_answers"] = answers
    res["index"] = index
    return res


# ---------------------------------------------------------------- PostGIS


def bench_postgis(items, single_x, single_y, batch_x, batch_y):
    """Returns a result dict, or None (after printing why) when PostGIS is unavailable."""
    try:
        import psycopg
        from psycopg.conninfo import make_conninfo
    except ImportError:
        print("PostGIS: psycopg is not installed - skipping the PostGIS comparison.")
        return None

    dsn = os.environ.get("BENCH_PG_DSN", DEFAULT_DSN)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)).fetchone()
            if not exists:
                admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
        conn = psycopg.connect(make_conninfo(dsn, dbname=BENCH_DB), autocommit=True)
    except psycopg.Error as exc:
        print(f"PostGIS: cannot connect to PostgreSQL ({dsn}): {exc}".strip())
        print("PostGIS: skipping the PostGIS comparison.")
        return None

    res = {}
    with conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            print(f"PostGIS: CREATE EXTENSION postgis failed: {str(exc).strip()}")
            print("PostGIS: not installed (Debian: apt-get install postgresql-15-postgis-3) - skipping it.")
            return None
        res["version"] = conn.execute("SELECT postgis_lib_version()").fetchone()[0]

        t0 = time.perf_counter()
        conn.execute("DROP TABLE IF EXISTS bench_grid")
        conn.execute(
            "CREATE TABLE bench_grid (id int PRIMARY KEY, code text, geom geometry(MultiPolygon, 4326))"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO bench_grid (id, code, geom) "
                "VALUES (%s, %s, ST_SetSRID(ST_Multi(ST_GeomFromGeoJSON(%s)), 4326))",
                [(gid, code, json.dumps(geom)) for gid, code, geom in items],
            )
        conn.execute("CREATE INDEX bench_grid_geom_gist ON bench_grid USING gist (geom)")
        conn.execute("ANALYZE bench_grid")
        res["load_s"] = time.perf_counter() - t0

        sql_one = (
            "SELECT id FROM bench_grid "
            "WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) LIMIT 1"
        )
        xs, ys = single_x[:N_PG_SINGLE].tolist(), single_y[:N_PG_SINGLE].tolist()
        clock = time.perf_counter_ns
        times = []
        answers = []
        with conn.cursor() as cur:
            for a, b in zip(xs[:50], ys[:50], strict=True):  # warm-up, and psycopg prepares the statement
                cur.execute(sql_one, (a, b), prepare=True)
                cur.fetchone()
            for a, b in zip(xs, ys, strict=True):
                t0 = clock()
                cur.execute(sql_one, (a, b), prepare=True)
                row = cur.fetchone()
                times.append(clock() - t0)
                answers.append(-1 if row is None else row[0])
        us = np.array(times) / 1000.0
        res["single_median_us"] = float(np.median(us))
        res["single_p95_us"] = pct(us, 95)
        res["single_p99_us"] = pct(us, 99)
        res["single_answers"] = np.array(answers, dtype=np.int64)

        sql_many = (
            "SELECT p.i, min(g.id) "
            "FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, i) "
            "LEFT JOIN bench_grid g ON ST_Contains(g.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)) "
            "GROUP BY p.i"
        )
        bx, by = batch_x.tolist(), batch_y.tolist()
        t0 = time.perf_counter()
        with conn.cursor(binary=True) as cur:
            cur.execute(sql_many, (bx, by))
            rows = cur.fetchall()
        res["batch_s"] = time.perf_counter() - t0
        out = np.full(len(bx), -1, dtype=np.int64)
        idx = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)) - 1
        ids = np.fromiter((-1 if r[1] is None else r[1] for r in rows), dtype=np.int64, count=len(rows))
        out[idx] = ids
        res["batch_answers"] = out
    return res


# ---------------------------------------------------------------- report


def on_boundary_mask(index, x, y):
    """Which points lie exactly on some grid's boundary (closed-vs-open disagreement is fine there)."""
    import shapely

    boundaries = shapely.boundary(index._geoms)
    tree = shapely.STRtree(boundaries)
    pts_idx, _ = tree.query(shapely.points(x, y), predicate="intersects")
    mask = np.zeros(len(x), dtype=bool)
    mask[pts_idx] = True
    return mask


def cross_check(label, index, x, y, ours, theirs):
    diff = np.flatnonzero(ours != theirs)
    boundary = on_boundary_mask(index, x[diff], y[diff]) if diff.size else np.zeros(0, dtype=bool)
    real = diff[~boundary]
    inside = int((theirs >= 0).sum())
    print(
        f"  {label}: {len(x):,} points, {len(x) - diff.size:,} agree "
        f"({inside:,} strictly inside a grid per PostGIS), "
        f"{int(boundary.sum())} differ on exact boundaries, {real.size} real mismatches"
    )
    for k in real[:5]:
        print(f"    mismatch at ({x[k]!r}, {y[k]!r}): yiwang {ours[k]}, PostGIS {theirs[k]}")
    return real.size


def yes(flag):
    return "yes" if flag else "NO"


def main() -> int:
    items, gen_s = load_city()
    minx, miny, maxx, maxy = bbox_of(items)
    print(f"demo city: {len(items):,} grids, generated in {gen_s:.2f} s")
    print(f"bbox lon {minx:.4f}..{maxx:.4f}, lat {miny:.4f}..{maxy:.4f}")

    rng = np.random.default_rng(SEED)
    single_x = rng.uniform(minx, maxx, N_SINGLE)
    single_y = rng.uniform(miny, maxy, N_SINGLE)
    batch_x = rng.uniform(minx, maxx, N_BATCH)
    batch_y = rng.uniform(miny, maxy, N_BATCH)

    print("\n== yiwang GridIndex ==")
    yw = bench_yiwang(items, single_x, single_y, batch_x, batch_y)
    st = yw["stats"]
    print(f"build: {yw['build_s']:.3f} s (median of 3)")
    print(
        f"raster {st['raster'][0]}x{st['raster'][1]} = {st['cells']:,} cells, "
        f"{st['bytes'] / 1e6:.1f} MB; pure {st['pure_frac']:.1%}, empty {st['empty_frac']:.1%}, "
        f"mixed {st['mixed_frac']:.1%} (mean {st['mean_candidates']:.2f} candidates)"
    )
    print(
        f"single locate, {N_SINGLE:,} random points, each call timed alone (timer cost "
        f"{yw['timer_ns']:.0f} ns subtracted): median {yw['single_median_us']:.2f} µs, "
        f"p95 {yw['single_p95_us']:.2f} µs, p99 {yw['single_p99_us']:.2f} µs"
    )
    print(
        f"single locate, batches of {BATCH_OF} distinct points (one timer pair per batch): per-lookup "
        f"median {yw['batched_median_us']:.2f} µs, p95 {yw['batched_p95_us']:.2f} µs over batches; "
        f"one plain pass over all points: mean {yw['single_mean_us']:.2f} µs"
    )
    print(
        f"locate_many ({N_BATCH:,} points): median {yw['batch_s']:.3f} s of {BATCH_RUNS} runs "
        f"[{', '.join(f'{t:.3f}' for t in yw['batch_runs_s'])}], {N_BATCH / yw['batch_s']:,.0f} points/s"
    )
    agree_single = bool(np.array_equal(yw["single_answers"], yw["index"].locate_many(single_x, single_y)))
    print(f"locate and locate_many agree on all {N_SINGLE:,} single points: {agree_single}")

    print("\n== PostGIS ==")
    pg = bench_postgis(items, single_x, single_y, batch_x, batch_y)
    mismatches = 0
    if pg is not None:
        print(f"PostGIS {pg['version']}: load + GiST + ANALYZE {pg['load_s']:.2f} s")
        print(
            f"single ({N_PG_SINGLE:,} prepared round trips): median {pg['single_median_us']:.1f} µs, "
            f"p95 {pg['single_p95_us']:.1f} µs, p99 {pg['single_p99_us']:.1f} µs"
        )
        print(
            f"batch ({N_BATCH:,} points, one unnest + ST_Contains query, rows fetched): "
            f"{pg['batch_s']:.2f} s, {N_BATCH / pg['batch_s']:,.0f} points/s"
        )
        print("cross-check (PostGIS ST_Contains = interior only):")
        index = yw["index"]
        n = N_PG_SINGLE
        mismatches += cross_check(
            "single", index, single_x[:n], single_y[:n], yw["single_answers"][:n], pg["single_answers"]
        )
        mismatches += cross_check("batch", index, batch_x, batch_y, yw["batch_answers"], pg["batch_answers"])

    print("\n== summary ==")
    rows = [
        ("metric", "yiwang", "PostGIS", "PostGIS/yiwang", "target met"),
        ("build / load (s)", f"{yw['build_s']:.3f}", f"{pg['load_s']:.2f}" if pg else "-", "", ""),
    ]
    single_ok = yw["single_median_us"] < TARGET_SINGLE_US
    batch_ok = yw["batch_s"] < TARGET_BATCH_S
    if pg:
        r_med = pg["single_median_us"] / yw["single_median_us"]
        r_p95 = pg["single_p95_us"] / yw["single_p95_us"]
        r_batch = pg["batch_s"] / yw["batch_s"]
        rows += [
            (
                "single median (µs)",
                f"{yw['single_median_us']:.2f}",
                f"{pg['single_median_us']:.1f}",
                f"{r_med:,.0f}x",
                f"<{TARGET_SINGLE_US:g} µs: {yes(single_ok)}; >={TARGET_RATIO:g}x: {yes(r_med >= TARGET_RATIO)}",
            ),
            (
                "single p95 (µs)",
                f"{yw['single_p95_us']:.2f}",
                f"{pg['single_p95_us']:.1f}",
                f"{r_p95:,.0f}x",
                "",
            ),
            (
                f"batch {N_BATCH:,} (s)",
                f"{yw['batch_s']:.3f}",
                f"{pg['batch_s']:.2f}",
                f"{r_batch:,.0f}x",
                f"<{TARGET_BATCH_S:g} s: {yes(batch_ok)}; >={TARGET_RATIO:g}x: {yes(r_batch >= TARGET_RATIO)}",
            ),
            ("batch points/s", f"{N_BATCH / yw['batch_s']:,.0f}", f"{N_BATCH / pg['batch_s']:,.0f}", "", ""),
            ("cross-check mismatches", "", "", "", f"0: {yes(mismatches == 0)} ({mismatches})"),
        ]
    else:
        rows += [
            (
                "single median (µs)",
                f"{yw['single_median_us']:.2f}",
                "-",
                "",
                f"<{TARGET_SINGLE_US:g} µs: {yes(single_ok)}",
            ),
            ("single p95 (µs)", f"{yw['single_p95_us']:.2f}", "-", "", ""),
            (
                f"batch {N_BATCH:,} (s)",
                f"{yw['batch_s']:.3f}",
                "-",
                "",
                f"<{TARGET_BATCH_S:g} s: {yes(batch_ok)}",
            ),
        ]
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    for k, r in enumerate(rows):
        print(
            "  ".join(
                cell.ljust(widths[c]) if c in (0, 4) else cell.rjust(widths[c]) for c, cell in enumerate(r)
            )
        )
        if k == 0:
            print("  ".join("-" * w for w in widths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
