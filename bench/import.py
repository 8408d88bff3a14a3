#!/usr/bin/env python
"""Benchmark: bulk import of hotline cases (yiwang.imports), one million rows, on SQLite and PostgreSQL.

Run from the repository root:  python bench/import.py [--rows N] [--db sqlite|postgres|both] [--no-verify]

Each database is a scratch one made for the run (SQLite: a file in a temporary folder; PostgreSQL: the
database ``yiwang_bench_import`` on BENCH_PG_DSN, default postgresql://postgres@127.0.0.1:5432/postgres,
dropped and created again). Each is migrated and gets the demo city's regions and 4,642 grids
(yiwang.demo.citygen, loaded through yiwang.geo.transfer.regions_import like seed_demo does) and a city-wide
administrator who imports, so every row goes through the real scope check.

The file is a realistic 12345 hotline export (the default Chinese headers), made once with a fixed seed and
kept in the system's temporary folder: two years of calls in time order, positions inside the city's grids
(weighted by population), 3% with a community code instead of a position, 70% finished in the source system
(办结 with a close time), the rest open; about 1% of the rows are faulty in the ways exports are (no
description, bad coordinates, a bad date, an unknown category, a position outside the city, a number twice).

The import runs exactly as `manage.py import_cases` does (in this process, batches of 2,000 rows). Printed:
rows per second and the total time (reading and counting the file included), the median batch, and
afterwards the rows in the database against the run's counters, and the journal's hash chain checked over the
imported entries.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20261122
DEFAULT_ROWS = 1_000_000
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "yiwang_bench_import"
HEADER = ["工单编号", "来电时间", "诉求内容", "事发地址", "经度", "纬度", "区划代码", "来电人", "联系电话", "分类代码",
          "紧急程度", "办理状态", "办结时间", "办理结果"]
TARGET_SECONDS = 300  # "one million rows in minutes": a few minutes at most

PROBLEMS = ["路边垃圾堆积无人清运", "路灯不亮", "井盖破损存在安全隐患", "占道经营影响通行", "噪音扰民", "小区内私搭乱建",
            "道路坑洼积水", "绿化带树木倒伏", "违规停车堵塞消防通道", "广告牌松动", "下水道堵塞污水外溢", "施工扬尘严重"]
PLACES = ["幸福路", "兴隆大街", "石油大街", "双兴路", "泰山路", "惠宾街", "渤海路", "红旗大街", "育才路", "中兴路"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文辉玲红梅鑫波斌宇浩凯健俊帆帅旭宁"
OPEN = ["待受理", "办理中", "已派发", ""]
URGENCY = ["一般"] * 80 + ["紧急"] * 12 + ["特急"] * 3 + ["不急"] * 5


# ---------------------------------------------------------------- the file


def make_file(path: Path, rows: int) -> None:
    import numpy as np
    import shapely

    from yiwang.demo.citygen import generate_city

    rng = random.Random(SEED)
    nrng = np.random.default_rng(SEED)
    city = generate_city()
    grids = city.grids
    weights = np.array([max(g.population, 1) for g in grids], dtype=float)
    polygons = [shapely.geometry.shape(g.geometry) for g in grids]
    with open(ROOT / "yiwang/org/fixtures/categories.csv", encoding="utf-8") as handle:
        codes = [r["code"] for r in csv.DictReader(handle) if r["parent"]]
    chosen = nrng.choice(len(grids), size=rows, p=weights / weights.sum())
    # A point inside the chosen grid: a random point of its bounding box, pulled halfway to a point inside.
    bounds = shapely.bounds(np.array(polygons, dtype=object))
    inside = np.array([p.representative_point().coords[0] for p in polygons])
    u = nrng.random((rows, 2))
    box = bounds[chosen]
    px = box[:, 0] + u[:, 0] * (box[:, 2] - box[:, 0])
    py = box[:, 1] + u[:, 1] * (box[:, 3] - box[:, 1])
    px = (px + inside[chosen, 0]) / 2
    py = (py + inside[chosen, 1]) / 2
    end = dt.datetime(2026, 11, 1, 0, 0)
    start = end - dt.timedelta(days=730)
    offsets = np.sort(nrng.random(rows)) * (end - start).total_seconds()
    t0 = time.perf_counter()
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        seq_day, seq = None, 0
        for i in range(rows):
            when = start + dt.timedelta(seconds=float(offsets[i]))
            if when.date() != seq_day:
                seq_day, seq = when.date(), 0
            seq += 1
            number = f"GD{when:%Y%m%d}{seq:05d}"
            grid = grids[chosen[i]]
            lon, lat = f"{px[i]:.6f}", f"{py[i]:.6f}"
            region = ""
            roll = rng.random()
            if roll < 0.03:
                lon = lat = ""
                region = grid.community_code
            place = f"{rng.choice(PLACES)}{rng.randrange(1, 300)}号"
            text = f"市民反映{place}附近{rng.choice(PROBLEMS)}，请尽快处理。"
            finished = rng.random() < 0.7
            closed = (when + dt.timedelta(hours=rng.uniform(2, 240))) if finished else None
            if closed and closed > end:
                closed = end
            row = [number, f"{when:%Y-%m-%d %H:%M:%S}", text, place, lon, lat, region,
                   rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
                   f"1{rng.choice('358')}{rng.randrange(10**9):09d}", rng.choice(codes), rng.choice(URGENCY),
                   "已办结" if finished else rng.choice(OPEN), f"{closed:%Y-%m-%d %H:%M:%S}" if closed else "",
                   "已处理完毕" if finished else ""]
            fault = rng.random()
            if fault < 0.010:  # about 1% of the rows are faulty, in the ways exports are
                kind = rng.randrange(6)
                if kind == 0:
                    row[2] = ""
                elif kind == 1:
                    row[4], row[5] = "122.O", row[5] or "41.1"
                elif kind == 2:
                    row[1] = "2025-13-45 25:00"
                elif kind == 3:
                    row[9] = "Z9999"
                elif kind == 4:
                    row[4], row[5], row[6] = "110.0", "20.0", ""
                else:
                    row[0] = f"GD{when:%Y%m%d}{max(1, seq - 1):05d}"  # the previous row's number again
            writer.writerow(row)
    print(f"  file: {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB, made in {time.perf_counter() - t0:.1f} s")


# ---------------------------------------------------------------- one database (a child process)


def setup_django(db: str, workdir: Path) -> None:
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


def run_one(db: str, csv_path: Path, verify: bool) -> None:
    with tempfile.TemporaryDirectory(prefix=f"yiwang-bench-import-{db}-") as tmp:
        workdir = Path(tmp)
        setup_django(db, workdir)
        from django.core.management import call_command
        from django.db import connection

        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        migrate_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        admin = load_city()
        city_s = time.perf_counter() - t0
        print(f"[{db}] migrated in {migrate_s:.1f} s, demo city (regions, 4,642 grids, an admin) in {city_s:.1f} s")

        from yiwang.cases.models import Case
        from yiwang.core.journal import journal_verify
        from yiwang.core.models import AuditEntry
        from yiwang.imports.models import ImportRowError
        from yiwang.imports.selectors import import_run_progress
        from yiwang.imports.services import import_run_create, import_run_execute

        first_entry = (AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        batches: list[tuple[float, int]] = []
        last = {"done": 0, "wall": time.perf_counter(), "cpu": time.process_time(), "server": server_cpu(),
                "at": 0}

        def on_batch(run, seconds):
            batches.append((seconds, run.rows_done - last["done"]))
            last["done"] = run.rows_done
            if len(batches) % 50 == 0:
                p = import_run_progress(run)
                wall, cpu, server = time.perf_counter(), time.process_time(), server_cpu()
                n = run.rows_done - last["at"]
                print(f"  [{db}] {run.rows_done:>9,} rows, {p.rate or 0:,.0f} rows/s so far, ETA {p.eta_seconds or 0:.0f} s;"
                      f" last {n:,}: {n / (wall - last['wall']):,.0f} rows/s, CPU per row {1e6 * (cpu - last['cpu']) / n:.0f} µs"
                      + (f" + server {1e6 * (server - last['server']) / n:.0f} µs" if server else "")
                      + f", load {os.getloadavg()[0]:.1f}", flush=True)
                last.update(wall=wall, cpu=cpu, server=server, at=run.rows_done)

        cpu0, server0, load0 = time.process_time(), server_cpu(), os.getloadavg()[0]
        t0 = time.perf_counter()
        with open(csv_path, "rb") as handle:
            run = import_run_create(actor=admin, file=handle, file_name=csv_path.name, enqueue=False)
        stored_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        run = import_run_execute(run=run, on_batch=on_batch)
        run_s = time.perf_counter() - t1
        total_s = stored_s + run_s
        cpu_s, server_s = time.process_time() - cpu0, server_cpu() - server0
        batch_s = [s for s, _n in batches]
        batch_rate = [n / s for s, n in batches if s > 0]
        print(f"[{db}] run {run.status}: {run.rows_done:,} rows -> {run.rows_ok:,} cases, {run.rows_failed:,} refused, "
              f"{run.rows_skipped:,} already imported")
        print(f"[{db}] total {total_s:.1f} s ({total_s / 60:.1f} min; storing the upload {stored_s:.1f} s, "
              f"reading and importing {run_s:.1f} s) = {run.rows_done / total_s:,.0f} rows/s; "
              f"median batch of 2,000 rows {statistics.median(batch_s):.3f} s = "
              f"{statistics.median(batch_rate):,.0f} rows/s ({len(batches)} batches)")
        print(f"[{db}] CPU: this process {cpu_s:.0f} s ({1e6 * cpu_s / run.rows_done:.0f} µs per row)"
              + (f", the PostgreSQL backend {server_s:.0f} s ({1e6 * server_s / run.rows_done:.0f} µs per row)"
                 if server_s else "")
              + f"; load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (2 cores, shared)")
        cases = Case.objects.count()
        entries = AuditEntry.objects.filter(id__gte=first_entry, action="case.import").count()
        errors = ImportRowError.objects.filter(run=run).values("row").distinct().count()
        ok = cases == run.rows_ok and entries == run.rows_ok and errors == run.rows_failed + run.rows_skipped
        print(f"[{db}] check: {cases:,} cases, {entries:,} case.import journal entries, {errors:,} rows in the error "
              f"report -> {'consistent' if ok else 'INCONSISTENT'}")
        if verify:
            t0 = time.perf_counter()
            report = journal_verify(start_id=first_entry)
            print(f"[{db}] journal hash chain over the {report.checked:,} new entries: "
                  f"{'intact' if report.ok else 'BROKEN at ' + str(report.first_broken_id)} "
                  f"({time.perf_counter() - t0:.1f} s)")
        print(f"[{db}] aim: 1,000,000 rows in a few minutes -> "
              f"{'met' if total_s * DEFAULT_ROWS / max(run.rows_done, 1) <= TARGET_SECONDS else 'MISSED'} "
              f"({total_s * DEFAULT_ROWS / max(run.rows_done, 1) / 60:.1f} min per million)")
        connection.close()


def server_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend (same machine), 0 on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_city():
    import datetime as dt_

    from yiwang.accounts.models import Role
    from yiwang.accounts.services import role_assign, user_create
    from yiwang.demo.citygen import generate_city
    from yiwang.geo.models import Region
    from yiwang.geo.transfer import regions_import

    city = generate_city()
    features = [
        {"type": "Feature", "geometry": r.geometry,
         "properties": {"level": r.level, "code": r.code, "name": r.name, "parent": r.parent_code, "urban": r.urban}}
        for r in city.regions
    ] + [
        {"type": "Feature", "geometry": g.geometry,
         "properties": {"level": "grid", "code": g.code, "name": g.name, "parent": g.community_code, "kind": g.kind,
                        "households": g.households, "population": g.population}}
        for g in city.grids
    ]
    regions_import(actor=None, data={"type": "FeatureCollection", "features": features}, source="bench")
    top = Region.objects.get(code=city.regions[0].code)
    admin = user_create(actor=None, username="bench_admin", real_name="导入员", password=None, region=top)
    role_assign(actor=None, user=admin, role=Role.objects.get(code="admin"), region=top,
                valid_from=dt_.date(2020, 1, 1))
    return admin


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--no-verify", action="store_true", help="skip checking the journal's hash chain")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(args.child, Path(args.file), verify=not args.no_verify)
        return 0
    csv_path = Path(tempfile.gettempdir()) / f"yiwang-bench-import-{args.rows}-{SEED}.csv"
    if not csv_path.exists():
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        partial = csv_path.with_suffix(".part")
        make_file(partial, args.rows)
        partial.rename(csv_path)
    else:
        print(f"  file: {csv_path} ({args.rows:,} rows, made earlier with the same seed)")
    status = 0
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        command = [sys.executable, __file__, "--child", db, "--file", str(csv_path)]
        if args.no_verify:
            command.append("--no-verify")
        status |= subprocess.call(command, cwd=ROOT)
    return status


if __name__ == "__main__":
    sys.exit(main())
