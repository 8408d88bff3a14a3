#!/usr/bin/env python
"""Benchmark: reports per second through the real server, and nothing lost or doubled.

Run from the repository root:  python bench/intake.py        (make bench runs it)

For each database (the embedded SQLite and the local PostgreSQL) it:
  1. makes a scratch installation (its own var/ folder, or database ``yiwang_bench_intake``), migrates it and
     builds the demo city without a case history (``seed_demo --cases 0``), plus RESIDENTS resident accounts
     with API tokens;
  2. starts the production server exactly as ``make demo`` does (gunicorn config.wsgi, 2 workers × 4
     threads) on a free loopback port, with the task worker;
  3. drives it from an asyncio load generator on loopback (raw HTTP/1.1 keep-alive connections, so the
     generator costs little next to the server):
       - trivial: ``GET /healthz`` from CONCURRENCY connections for SECONDS (the server's ceiling);
       - floor: ``GET /api/v1/me/`` with a resident's token, the same way (the cheapest authenticated API call:
         Django, DRF, the token's query and one more — what any API request costs before it does its work);
       - throughput: ``POST /api/v1/cases/`` realistic reports (a point inside a random grid, a category,
         a description, an address, a reference to a small photo already uploaded — the ``external_ref`` —
         and an ``Idempotency-Key``) from CONCURRENCY connections for SECONDS;
       - paced: the same reports at RATE per second (open loop: sent on schedule whether or not answers
         came) for SECONDS, for the latency at a steady load;
       - carried: the same at half the throughput just measured, for the latency at a load the server carries;
  4. compares the database with the answers: every 2xx answer's case exists exactly once, no case exists
     that was not answered, and no key made two cases.

Prints reports/s, p50/p99 latency, the ratio to the trivial endpoint in the same run, and the check.
Environment: BENCH_SECONDS (default 15), BENCH_CONCURRENCY (32), BENCH_RATE (200), BENCH_DATABASES
("sqlite,postgres"), BENCH_PG_DSN (postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
from benchkit.server import Server  # noqa: E402  (bench/ is on the path: this file runs as a script)

SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
RATE = float(os.environ.get("BENCH_RATE", "200"))
DATABASES = os.environ.get("BENCH_DATABASES", "sqlite,postgres").split(",")
PG_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = "yiwang_bench_intake"
RESIDENTS = 64
SEED = 20261122

CATEGORIES = ["E0102", "E0103", "E0501", "E0502", "C0101", "C0301", "E0101", "E0104"]
TEXTS = ["路边垃圾堆积无人清运", "人行道被占用摆摊", "井盖破损存在安全隐患", "路灯不亮", "小区门口车辆乱停",
         "绿化带垃圾较多", "道路积水影响通行", "违规张贴小广告"]

SETUP = r"""
import json, random
from django.db import transaction
from rest_framework.authtoken.models import Token
from shapely.geometry import shape
from yiwang.accounts.models import Role
from yiwang.accounts.services import role_assign, user_create
from yiwang.geo.models import Grid
from yiwang.org.selectors import category_by_code
import datetime as dt
rng = random.Random(%(seed)d)
resident = Role.objects.get(code="resident")
tokens = []
with transaction.atomic():
    for n in range(%(residents)d):
        user = user_create(actor=None, username=f"bench{n}", real_name="压测居民", phone="13800000000")
        role_assign(actor=None, user=user, role=resident, valid_from=dt.date(2020, 1, 1))
        tokens.append(Token.objects.create(user=user).key)
points = []
grids = list(Grid.objects.filter(kind="residential").values_list("boundary", flat=True))
for boundary in rng.sample(grids, 400):
    p = shape(boundary).representative_point()
    points.append([p.y, p.x])
codes = [c for c in %(categories)r if (cat := category_by_code(path="", code=c)) is not None
         and not any(q.get("required") for q in cat.form_questions)]  # reports answer no form questions
print("BENCH" + json.dumps({"tokens": tokens, "points": points, "categories": codes}))
"""

COUNT = r"""
import json
from yiwang.cases.models import Case
rows = list(Case.objects.filter(description__startswith=%(tag)r).values_list("number", "description"))
print("BENCH" + json.dumps(rows))
"""


def manage(env, *args, capture=False):
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args[:2])} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    if capture:
        line = next(line for line in result.stdout.splitlines() if line.startswith("BENCH"))
        return json.loads(line[5:])
    return None


def installation(kind: str, workdir: Path) -> dict:
    env = {**os.environ, "SECRET_KEY": "bench-" + uuid.uuid4().hex, "YIWANG_VAR_DIR": str(workdir),
           "ALLOWED_HOSTS": "127.0.0.1", "YIWANG_DEBUG": "0"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if kind == "postgres":
        import psycopg

        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        env["DATABASE_URL"] = PG_DSN.rsplit("/", 1)[0] + "/" + PG_DB
    started = time.perf_counter()
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "seed_demo", "--cases", "0")
    data = manage(env, "shell", "-c", SETUP % {"seed": SEED, "residents": RESIDENTS, "categories": CATEGORIES},
                  capture=True)
    print(f"  installation ready in {time.perf_counter() - started:.0f} s")
    return {"env": env, **data}


class Connection:
    """One keep-alive HTTP/1.1 connection; enough of the protocol for gunicorn's answers."""

    def __init__(self, port):
        self.port = port
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None):
        for attempt in range(2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
            head += [f"{k}: {v}" for k, v in (headers or {}).items()]
            self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            try:
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError
                length, close = 0, False
                while True:
                    line = await self.reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "connection" and "close" in value.lower():
                        close = True
                payload = await self.reader.readexactly(length) if length else b""
                if close:
                    self.writer.close()
                    self.writer = None
                return int(status_line.split()[1]), payload
            except (ConnectionResetError, asyncio.IncompleteReadError, BrokenPipeError):
                self.writer = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


class Reports:
    def __init__(self, data, tag):
        self.rng = random.Random(SEED)
        self.data, self.tag, self.n = data, tag, 0

    def next(self):
        self.n += 1
        lat, lon = self.rng.choice(self.data["points"])
        body = {"description": f"{self.tag}{self.n:07d} {self.rng.choice(TEXTS)}", "lat": lat, "lon": lon,
                "address": f"{self.rng.randint(1, 300)}号附近", "external_ref": f"photo:{uuid.uuid4().hex[:16]}.jpg"}
        if self.data["categories"]:
            body["category"] = self.rng.choice(self.data["categories"])
        token = self.data["tokens"][self.n % len(self.data["tokens"])]
        headers = {"Content-Type": "application/json", "Authorization": f"Token {token}",
                   "Idempotency-Key": f"{self.tag}-{self.n}", "Accept-Language": "zh-hans"}
        return json.dumps(body, ensure_ascii=False).encode(), headers


async def closed_loop(port, make, seconds, concurrency):
    latencies, answers, errors = [], [], 0
    stop = time.perf_counter() + seconds

    async def worker():
        nonlocal errors
        conn = Connection(port)
        while time.perf_counter() < stop:
            method, path, body, headers = make()
            t0 = time.perf_counter()
            try:
                status, payload = await conn.request(method, path, body, headers)
            except OSError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - t0)
            answers.append((status, payload))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, answers, errors, time.perf_counter() - started


async def open_loop(port, make, seconds, rate):
    latencies, answers, errors = [], [], 0
    pool = [Connection(port) for _ in range(64)]
    free = asyncio.Queue()
    for conn in pool:
        free.put_nowait(conn)

    async def one(method, path, body, headers, scheduled):
        nonlocal errors
        conn = await free.get()
        try:
            status, payload = await conn.request(method, path, body, headers)
            latencies.append(time.perf_counter() - scheduled)  # from when it should have been sent
            answers.append((status, payload))
        except OSError:
            errors += 1
        finally:
            free.put_nowait(conn)

    tasks, start = [], time.perf_counter()
    for i in range(int(seconds * rate)):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(*make(), scheduled)))
    await asyncio.gather(*tasks)
    return latencies, answers, errors, time.perf_counter() - start


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else float("nan")


def run(kind: str) -> dict:
    print(f"--- {kind} ---")
    workdir = Path(tempfile.mkdtemp(prefix=f"yiwang-bench-{kind}-"))
    try:
        data = installation(kind, workdir)
        tasks = subprocess.Popen([PY, "manage.py", "run_huey", "--workers", "1"], cwd=ROOT, env=data["env"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = Server(data["env"])
        try:
            warm = Reports(data, "warmup-")
            tag = f"bench{uuid.uuid4().hex[:6]}-"
            reports = Reports(data, tag)

            def report(source=reports):
                body, headers = source.next()
                return "POST", "/api/v1/cases/", body, headers

            def health():
                return "GET", "/healthz", b"", {}

            def me():
                return "GET", "/api/v1/me/", b"", {"Authorization": f"Token {data['tokens'][0]}"}

            asyncio.run(closed_loop(server.port, health, 2, CONCURRENCY))  # warm up both workers
            asyncio.run(closed_loop(server.port, lambda: report(warm), 2, 4))
            h_lat, h_ans, h_err, h_time = asyncio.run(closed_loop(server.port, health, SECONDS, CONCURRENCY))
            m_lat, m_ans, m_err, m_time = asyncio.run(closed_loop(server.port, me, SECONDS, CONCURRENCY))
            r_lat, r_ans, r_err, r_time = asyncio.run(closed_loop(server.port, report, SECONDS, CONCURRENCY))
            p_lat, p_ans, p_err, p_time = asyncio.run(open_loop(server.port, report, SECONDS, RATE))
            carried = max(1.0, round(sum(1 for s, _ in r_ans if 200 <= s < 300) / r_time / 2))
            c_lat, c_ans, c_err, c_time = asyncio.run(open_loop(server.port, report, SECONDS, carried))
        finally:
            server.stop()
            tasks.send_signal(signal.SIGTERM)
            tasks.wait(timeout=20)
        answered = {}
        failures = {}
        for status, payload in r_ans + p_ans + c_ans:
            if 200 <= status < 300:
                body = json.loads(payload)
                answered.setdefault(body["number"], []).append(body["description"])
            else:
                failures[status] = failures.get(status, 0) + 1
        rows = manage(data["env"], "shell", "-c", COUNT % {"tag": tag}, capture=True)
        in_db = {}
        for number, description in rows:
            in_db.setdefault(number, []).append(description)
        descriptions = [d for _, d in rows]
        lost = [n for n in answered if n not in in_db]
        unanswered = [n for n in in_db if n not in answered]
        doubled = len(descriptions) - len(set(descriptions))
        trivial = len(h_lat) / h_time
        floor = sum(1 for s, _ in m_ans if s == 200) / m_time
        rps = sum(1 for s, _ in r_ans if 200 <= s < 300) / r_time
        result = {
            "db": kind, "trivial_rps": trivial, "reports_rps": rps, "ratio": rps / trivial,
            "floor_rps": floor, "floor_ratio": rps / floor,
            "p50": pct(r_lat, 50), "p99": pct(r_lat, 99),
            "paced_rate": sum(1 for s, _ in p_ans if 200 <= s < 300) / p_time,
            "paced_p50": pct(p_lat, 50), "paced_p99": pct(p_lat, 99),
            "carried": carried, "carried_rate": sum(1 for s, _ in c_ans if 200 <= s < 300) / c_time,
            "carried_p50": pct(c_lat, 50), "carried_p99": pct(c_lat, 99),
            "answered": len(answered), "in_db": len(in_db), "lost": len(lost), "unanswered": len(unanswered),
            "doubled": doubled, "non_2xx": failures, "errors": r_err + p_err + c_err + h_err + m_err,
        }
        print(f"  trivial GET /healthz     {trivial:8.0f} req/s  (p50 {pct(h_lat, 50):.1f} ms)")
        print(f"  floor GET /api/v1/me/    {floor:8.0f} req/s  (p50 {pct(m_lat, 50):.1f} ms; the token and the roles: two queries)")
        print(f"  reports, {CONCURRENCY} connections {rps:8.0f} reports/s  p50 {result['p50']:.1f} ms  "
              f"p99 {result['p99']:.1f} ms  ratio to trivial {result['ratio']:.3f}, "
              f"to the floor {result['floor_ratio']:.3f}")
        print(f"  reports paced at {RATE:.0f}/s    {result['paced_rate']:8.0f} reports/s  p50 "
              f"{result['paced_p50']:.1f} ms  p99 {result['paced_p99']:.1f} ms")
        print(f"  reports paced at {carried:.0f}/s     {result['carried_rate']:8.0f} reports/s  p50 "
              f"{result['carried_p50']:.1f} ms  p99 {result['carried_p99']:.1f} ms  (half the throughput above)")
        print(f"  check: {len(answered)} answered 2xx, {len(in_db)} in the database, lost {len(lost)}, "
              f"unanswered {len(unanswered)}, doubled {doubled}, non-2xx {failures or 0}, "
              f"connection errors {result['errors']}")
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    results = [run(kind) for kind in DATABASES]
    print("\nsummary (aim: ≥1,000 reports/s on PostgreSQL, p99 < 100 ms at 200/s, zero lost)")
    for r in results:
        print(f"  {r['db']:<9} {r['reports_rps']:6.0f} reports/s (ratio {r['ratio']:.3f} to /healthz "
              f"{r['trivial_rps']:.0f}/s, {r['floor_ratio']:.3f} to /api/v1/me/ "
              f"{r['floor_rps']:.0f}/s), p99 at {RATE:.0f}/s: {r['paced_p99']:.1f} ms, p99 at {r['carried']:.0f}/s: "
              f"{r['carried_p99']:.1f} ms, lost {r['lost']}, doubled {r['doubled']}")


if __name__ == "__main__":
    main()
