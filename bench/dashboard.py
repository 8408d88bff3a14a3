#!/usr/bin/env python
"""Benchmark: the command centre at a big city's scale, on SQLite and PostgreSQL.

Run from the repository root:
    python bench/dashboard.py [--cases N] [--db sqlite|postgres|both] [--repeat R] [--plain-repeat P] [--keep DIR]

Each database is a scratch one made for the run (SQLite: a file in a temporary folder, or in DIR with --keep,
where a later run with the same --cases reuses it; PostgreSQL: the database ``cmddata_bench_dashboard`` on
BENCH_PG_DSN, default postgresql://postgres@127.0.0.1:5432/postgres, made again unless --keep finds it filled,
dropped at the end unless --keep). Each is migrated, gets the demo city (yiwang.demo: 4 districts, 48 streets,
538 communities, 4,642 grids, its units) and N cases over two years up to now from `seed_bulk`
(yiwang.command.bulkseed: written in batches, then the rollups rebuilt once with recount).

Measured, in this process, by calling the selectors the API and pages call (yiwang.command.selectors; no HTTP,
no JSON encoding): the city overview, a street's overview (the drill-down; the street with the most cases) and
the monthly assessment of the city's streets for the current month — each with the rollups (the default
source) R times, and with plain GROUP BY queries over the cases table (yiwang.command.plain, same selectors,
same figures) P times. Printed: median and p95 server time of each, the ratio, and whether both sources gave
the same figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_CASES = 1_000_000
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = os.environ.get("BENCH_PG_DB", "cmddata_bench_dashboard")
AIM_MS, AIM_RATIO, AIM_CASES = 50.0, 100.0, 10_000_000  # the aim: p95 under 50 ms, 100× at 10M cases


def setup_django(db: str, workdir: Path, *, fresh: bool) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
    os.environ["YIWANG_DEBUG"] = "0"
    os.environ["YIWANG_VAR_DIR"] = str(workdir)
    os.environ["YIWANG_MEDIA_ROOT"] = str(workdir / "media")
    os.environ["YIWANG_DB_CONN_MAX_AGE"] = "0"
    os.environ["YIWANG_LOG_LEVEL"] = "WARNING"
    if db == "postgres":
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        dsn = os.environ.get("BENCH_PG_DSN", DEFAULT_DSN)
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
            if fresh or not exists:
                admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
        info = conninfo_to_dict(make_conninfo(dsn, dbname=BENCH_DB))
        os.environ["DATABASE_URL"] = (f"postgres://{info.get('user', 'postgres')}"
                                      f"{':' + info['password'] if info.get('password') else ''}"
                                      f"@{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}/{BENCH_DB}")
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


def drop_postgres() -> None:
    import psycopg

    with psycopg.connect(os.environ.get("BENCH_PG_DSN", DEFAULT_DSN), autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def build(db: str, cases: int) -> None:
    from django.core.management import call_command

    from yiwang.cases.models import Case
    from yiwang.command.bulkseed import seed_bulk
    from yiwang.demo.services import demo_city_build, demo_loaded

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    if not demo_loaded():
        demo_city_build(seed=2022)
    print(f"[{db}] migrated, demo city built in {time.perf_counter() - t0:.1f} s", flush=True)
    have = Case.objects.count()
    if have >= cases:
        print(f"[{db}] reusing {have:,} cases", flush=True)
        settle(db)
        return

    def progress(done, seconds):
        if done % 500_000 == 0 or done == cases - have:
            print(f"  [{db}] {done:,} cases in {seconds:.0f} s", flush=True)

    report = seed_bulk(cases=cases - have, progress=progress)
    print(f"[{db}] {report.cases:,} cases written in {report.seconds_insert:.0f} s "
          f"({report.cases / report.seconds_insert:,.0f} cases/s); rollups rebuilt in {report.seconds_recount:.0f} s "
          f"({', '.join(f'{k} {v:,}' for k, v in report.rollup_rows.items())})", flush=True)
    settle(db)


def settle(db: str) -> None:
    """PostgreSQL: what autovacuum does soon after a load (the cases table is tuned to vacuum every ten thousand
    changed rows, yiwang/cases/migrations/0005): the visibility map and the statistics brought up to date."""
    if db != "postgres":
        return
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) cases_case")
    print(f"[{db}] cases table vacuumed and analysed in {time.perf_counter() - t0:.1f} s", flush=True)


def serve_like() -> None:
    """This process as a server's worker is when it answers: what it loaded moved out of the garbage
    collector's sight (config/wsgi.py), the load's own leftovers collected first."""
    import gc

    gc.collect()
    gc.freeze()


def jit(db: str, on: bool) -> None:
    """The plain GROUP BY queries run with PostgreSQL's JIT compiling (their best: they scan millions of rows);
    the application runs without (config/settings.py)."""
    if db == "postgres":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"SET jit = {'on' if on else 'off'}")


def timed(fn, repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, result


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def measure(db: str, repeat: int, plain_repeat: int) -> list[tuple]:
    from django.db.models import Count
    from django.utils import timezone

    from yiwang.cases.models import Case
    from yiwang.command import aggregates, plain
    from yiwang.command.selectors import assessment, overview
    from yiwang.core import clock
    from yiwang.demo.services import CITY_CODE
    from yiwang.geo.models import Region

    now = clock.now()
    today = timezone.localdate(now)
    city = Region.objects.get(code=CITY_CODE)
    streets = {r.path: r for r in Region.objects.filter(level="street")}
    busiest = max(streets.values(), key=lambda s: Case.objects.filter(region_path__under=s.path).count())
    n = Case.objects.aggregate(n=Count("pk"))["n"]
    print(f"[{db}] {n:,} cases; the street: {busiest.name} ({busiest.code}); now {now:%Y-%m-%d %H:%M}", flush=True)
    views = [
        ("city overview", lambda source: overview(actor=None, region=city, now=now, source=source)),
        ("street overview", lambda source: overview(actor=None, region=busiest, now=now, source=source)),
        ("assessment (city's streets, month)", lambda source: assessment(
            actor=None, region=city, year=today.year, month=today.month, level="street", now=now, source=source)),
    ]
    rows = []
    for name, view in views:
        view(aggregates)  # warm: the Python side's caches, the database's pages
        fast, fast_result = timed(lambda v=view: v(aggregates), repeat)
        jit(db, True)
        slow, slow_result = timed(lambda v=view: v(plain), plain_repeat)
        jit(db, False)
        same = fast_result == slow_result
        rows.append((db, n, name, statistics.median(fast), p95(fast), statistics.median(slow), p95(slow), same))
        print(f"  [{db}] {name}: rollups median {statistics.median(fast):.1f} ms, plain median "
              f"{statistics.median(slow):.0f} ms, same figures: {'yes' if same else 'NO'}", flush=True)
    return rows


def run_one(db: str, cases: int, repeat: int, plain_repeat: int, keep: str | None) -> None:
    if keep:
        workdir = Path(keep) / db
        workdir.mkdir(parents=True, exist_ok=True)
        setup_django(db, workdir, fresh=False)
        build(db, cases)
        serve_like()
        rows = measure(db, repeat, plain_repeat)
    else:
        with tempfile.TemporaryDirectory(prefix=f"yiwang-bench-dashboard-{db}-") as tmp:
            setup_django(db, Path(tmp), fresh=True)
            build(db, cases)
            serve_like()
            rows = measure(db, repeat, plain_repeat)
            from django.db import connection

            connection.close()
        if db == "postgres":
            drop_postgres()
    for row in rows:
        print("ROW\t" + "\t".join(str(x) for x in row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=30, help="requests per view with the rollups")
    parser.add_argument("--plain-repeat", type=int, default=3, help="requests per view with plain GROUP BY")
    parser.add_argument("--keep", help="keep (and reuse) the databases under this folder / the PG database")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.cases, args.repeat, args.plain_repeat, args.keep)
        return
    rows = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        print(f"=== {db}: {args.cases:,} cases ===", flush=True)
        command = [sys.executable, __file__, "--one", db, "--cases", str(args.cases), "--repeat", str(args.repeat),
                   "--plain-repeat", str(args.plain_repeat)] + (["--keep", args.keep] if args.keep else [])
        process = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
        for line in process.stdout.splitlines():
            if line.startswith("ROW\t"):
                db_, n, name, fm, fp, sm, sp, same = line.split("\t")[1:]
                rows.append((db_, int(n), name, float(fm), float(fp), float(sm), float(sp), same == "True"))
            else:
                print(line)
        if process.returncode:
            print(f"[{db}] FAILED (exit {process.returncode})")
    print()
    print(f"{'database':<9} {'cases':>10}  {'view':<36} {'rollups median':>14} {'p95':>8}  {'plain median':>12} "
          f"{'p95':>8}  {'ratio':>7}  same  aim (<{AIM_MS:.0f} ms, ≥{AIM_RATIO:.0f}×)")
    for db, n, name, fm, fp, sm, sp, same in rows:
        ratio = sm / fm if fm else float("inf")
        aim = ("met" if fp < AIM_MS and ratio >= AIM_RATIO else "MISSED") if n >= AIM_CASES else "(aim at 10M)"
        print(f"{db:<9} {n:>10,}  {name:<36} {fm:>11.1f} ms {fp:>5.1f} ms  {sm:>9.0f} ms {sp:>5.0f} ms  "
              f"{ratio:>6.0f}×  {'yes' if same else 'NO':<4}  {aim}")


if __name__ == "__main__":
    main()
