"""A big city's case history written straight into the tables, for measuring the command centre at scale
(`manage.py seed_bulk --cases 10000000`).

yiwang.demo.history walks each case through the real services — right for a demo of a few thousand cases, far
too slow for millions. Here the demo city's cases are drawn in batches: reported over the last `days` days in
time order, in grids weighted by population with a position inside the grid's box, from every channel in the
demo's shares, in the demo's categories; then accepted (some late), filed, dispatched to the district's
department for the category, handled (most in time, some late, some after an extension or a rework), closed
and rated — or rejected, merged, voided, left open (recent cases in every state, a backlog of overdue ones,
some supervised). Each step's time is at or before `now`; deadlines follow the category's limits, counted in
calendar time (the working calendar is skipped for speed). Open cases get their running clock row.

The rows go in with yiwang.core.bulk (COPY on PostgreSQL, one prepared INSERT on SQLite), batch by batch,
each batch in its own transaction; the whole load writes ONE journal entry ("demo.bulk_cases", on the city,
with the count, the id range and the period), not one per case. The command centre's rollups are then
rebuilt once with yiwang.command.aggregates.recount().
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from yiwang.cases.choices import Rating, Status
from yiwang.cases.models import Case, CaseDeadline, CaseNumberCounter
from yiwang.core import bulk, clock
from yiwang.core.services import audit_write
from yiwang.geo.models import Grid, Region
from yiwang.org.choices import LimitStep
from yiwang.org.models import Category, Unit
from yiwang.org.selectors import category_limit
from yiwang.workcal.choices import LimitUnit

HOUR = 3600.0
DAY = 86400.0
BATCH = 50_000


@dataclass
class BulkReport:
    cases: int
    seconds_insert: float
    seconds_recount: float
    rollup_rows: dict


def _hours(amount: Decimal, unit: str) -> float:
    """A limit in calendar hours: a working day counts as a day, a working hour as an hour."""
    return float(amount) * (24.0 if unit == LimitUnit.WORKING_DAYS else 1.0)


def _city():
    from yiwang.demo.history import CHANNELS, PROBLEMS
    from yiwang.demo.services import CITY_CODE, MATRIX

    # The demo city; any other loaded city works too (its districts' departments lead where they exist).
    city = (Region.objects.filter(code=CITY_CODE).first()
            or Region.objects.filter(parent__isnull=True).order_by("path").first())
    if city is None or not Grid.objects.filter(path__startswith=city.path).exists():
        raise RuntimeError("no city with grids is loaded (run seed_demo --cases 0 first)")
    grids = list(Grid.objects.filter(is_active=True, path__startswith=city.path).select_related("community")
                 .order_by("path"))
    districts = {r.path: r.code for r in Region.objects.filter(level="district")}
    categories = {c.code: c for c in Category.objects.filter(code__in=list(PROBLEMS), parent__isnull=False)
                  .select_related("catalogue", "parent")}
    codes = [code for code in PROBLEMS if code in categories]
    units = {u.code: u.pk for u in Unit.objects.filter(code__startswith="D-")}
    return city, grids, districts, categories, codes, PROBLEMS, CHANNELS, MATRIX, units


def seed_bulk(*, cases: int, days: int = 730, seed: int = 2022, now: dt.datetime | None = None,
              batch: int = BATCH, progress=None) -> BulkReport:
    import numpy as np

    now = now or clock.now()
    rng = np.random.default_rng(seed)
    city, grids, districts, categories, codes, problems, channel_weights, matrix, units = _city()
    tz = timezone.get_default_timezone()

    weights = np.array([max(g.population, 1) for g in grids], dtype=float)
    weights /= weights.sum()
    box = np.array([(g.min_lon, g.min_lat, g.max_lon, g.max_lat) for g in grids])
    category_weights = np.array([problems[c][0] for c in codes], dtype=float)
    category_weights /= category_weights.sum()
    channels = list(channel_weights)
    channel_p = np.array([channel_weights[c] for c in channels], dtype=float)
    channel_p /= channel_p.sum()
    limits = {}
    for code in codes:
        category = categories[code]
        urgency = category.default_urgency
        limits[code] = tuple(_hours(*category_limit(category=category, urgency=urgency, step=step))
                             for step in (LimitStep.RESPOND, LimitStep.HANDLE, LimitStep.VERIFY))
    district_of = []
    for g in grids:
        district = next(code for path, code in districts.items() if g.path.startswith(path))
        district_of.append(district)
    lead_unit = {}
    for district in set(district_of):
        for code in codes:
            suffix = matrix.get(categories[code].parent.code, "CG")
            lead_unit[district, code] = units.get(f"D-{district}-{suffix}") or units.get(f"D-{district}-CG")

    end = now.timestamp()
    start = end - days * DAY
    # Reports come in over the period in time order, a little more recently (a growing city).
    offsets = np.sort(rng.power(1.3, size=cases)) * (end - start)
    counters = dict(CaseNumberCounter.objects.values_list("day", "last"))
    if connection.vendor == "sqlite":  # a page cache for the case table's 21 indexes (this connection only)
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -1000000")
    prefix = settings.YIWANG_CASE_PREFIX
    first_id = last_id = None
    started = time.perf_counter()
    done = 0

    def at(seconds: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)

    while done < cases:
        n = min(batch, cases - done)
        reported = start + offsets[done:done + n]
        grid_ix = rng.choice(len(grids), size=n, p=weights)
        cat_ix = rng.choice(len(codes), size=n, p=category_weights)
        chan_ix = rng.choice(len(channels), size=n, p=channel_p)
        u = rng.random((n, 12))
        fate = rng.random(n)
        with transaction.atomic():
            ids = bulk.allocate_ids(Case, n)
            first_id = first_id or ids[0]
            last_id = ids[-1]
            rows, clocks, used_days = [], [], {}
            for i in range(n):
                pk = ids[i]
                t0 = float(reported[i])
                g = grids[grid_ix[i]]
                code = codes[cat_ix[i]]
                category = categories[code]
                respond_h, handle_h, verify_h = limits[code]
                reported_at = at(t0)
                day = reported_at.astimezone(tz).date()
                seq = used_days.get(day)
                if seq is None:
                    seq = counters.get(day, 0)
                seq += 1
                used_days[day] = seq
                x0, y0, x1, y1 = box[grid_ix[i]]
                lon = x0 + (0.25 + 0.5 * u[i, 0]) * (x1 - x0)
                lat = y0 + (0.25 + 0.5 * u[i, 1]) * (y1 - y0)
                channel = channels[chan_ix[i]]
                texts = problems[code][1]
                row = {
                    "id": pk, "number": f"{prefix}{day:%Y%m%d}-{seq:06d}", "channel": channel,
                    "description": texts[int(u[i, 2] * len(texts))].format(spot=f"{g.name}附近", cover="破损", lamps=2),
                    "address": f"{g.community.name}{g.name}", "lat": round(lat, 6), "lon": round(lon, 6),
                    "grid_id": g.pk, "region_id": g.community_id, "region_path": g.path,
                    "level_id": g.community_id, "level_path": g.community.path, "category_id": category.pk,
                    "urgency": category.default_urgency, "reported_at": reported_at,
                    "respond_due_at": at(t0 + respond_h * HOUR), "answers": {}, "routing": {},
                }
                _lifecycle(row, t0, end, fate[i], u[i], respond_h, handle_h, verify_h,
                           lead_unit[district_of[grid_ix[i]], code], at, pk, ids[0])
                if row["status"] not in (Status.CLOSED, Status.RATED, Status.REJECTED, Status.MERGED,
                                         Status.VOIDED) and row.get("due_at") is not None:
                    clocks.append({"case_id": pk, "step": row.pop("_step"), "amount": Decimal(1),
                                   "unit": LimitUnit.WORKING_DAYS, "started_at": row.pop("_started"),
                                   "due_at": row["due_at"], "warn_at": row["warn_at"]})
                row.pop("_step", None)
                row.pop("_started", None)
                rows.append(row)
            rows.sort(key=lambda r: r["region_path"])  # neighbouring pages of the indexes by place (as the import)
            bulk.insert(Case, rows, with_pk=True)
            bulk.insert(CaseDeadline, clocks)
            _save_counters(used_days)
            counters.update(used_days)
        done += n
        if progress:
            progress(done, time.perf_counter() - started)
    inserted = time.perf_counter() - started
    with transaction.atomic():
        audit_write(actor=None, action="demo.bulk_cases", obj=city, scope_path=city.path, after={
            "cases": cases, "first_id": first_id, "last_id": last_id, "days": days, "seed": seed,
            "until": now.isoformat()}, reason="seed_bulk")
    from yiwang.command.aggregates import recount

    started = time.perf_counter()
    rows = recount()
    return BulkReport(cases=cases, seconds_insert=inserted, seconds_recount=time.perf_counter() - started,
                      rollup_rows=rows)


def _save_counters(used: dict) -> None:
    table = connection.ops.quote_name(CaseNumberCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (day, last) VALUES (%s, %s) ON CONFLICT (day) DO UPDATE SET "
            f"last = CASE WHEN excluded.last > {table}.last THEN excluded.last ELSE {table}.last END",
            [[connection.ops.adapt_datefield_value(day), last] for day, last in used.items()])


def _lifecycle(row: dict, t0: float, end: float, fate: float, u, respond_h: float, handle_h: float,
               verify_h: float, unit_id: int | None, at, pk: int, first_pk: int) -> None:
    """Move the case along the loop as far as `end` (now) lets it; every time set is at or before `end`."""
    respond_due = t0 + respond_h * HOUR

    def running(step: str, since: float, due: float) -> None:
        row["due_at"] = at(due)
        row["warn_at"] = at(since + 0.8 * (due - since))
        row["_step"] = step
        row["_started"] = at(since)

    answered = t0 + (0.05 + 1.3 * u[3] ** 2) * respond_h * HOUR  # about one in ten answered late
    if answered > end:
        row["status"] = Status.REPORTED
        running(LimitStep.RESPOND, t0, respond_due)
        return
    row["responded_at"] = at(answered)
    if fate < 0.03:  # not accepted
        row.update(status=Status.REJECTED, ended_at=at(answered))
        return
    if fate < 0.05 and pk > first_pk:  # a duplicate of an earlier report
        row.update(status=Status.MERGED, ended_at=at(answered), parent_id=pk - 1)
        return
    row["accepted_at"] = at(answered)
    filed = answered + u[4] * 0.5 * HOUR
    if filed > end:
        row["status"] = Status.ACCEPTED
        return
    handle_due = filed + handle_h * HOUR
    row.update(filed_at=at(filed), status=Status.FILED)
    if fate < 0.06:  # voided after filing
        row.update(status=Status.VOIDED, ended_at=at(filed + HOUR), handle_due_at=at(handle_due),
                   close_due_at=at(handle_due + verify_h * HOUR))
        return
    extended = u[5] < 0.05
    if extended:
        handle_due += 24 * HOUR
        row["extension_count"] = 1
    close_due = handle_due + verify_h * HOUR
    row.update(handle_due_at=at(handle_due), close_due_at=at(close_due))
    dispatched = filed + u[6] * HOUR
    if dispatched > end:
        running(LimitStep.HANDLE, filed, handle_due)
        return
    row.update(dispatched_at=at(dispatched), lead_unit_id=unit_id, status=Status.DISPATCHED)
    signed = dispatched + u[7] * 2 * HOUR
    if signed > end:
        running(LimitStep.HANDLE, filed, handle_due)
        return
    row.update(signed_at=at(signed), status=Status.IN_PROGRESS)
    backlog = fate > 0.985  # never handled: the overdue backlog, mostly supervised
    if backlog:
        row["supervised"] = u[8] < 0.7
        running(LimitStep.HANDLE, filed, handle_due)
        return
    handled = filed + (0.2 + 1.1 * u[8] ** 1.5) * (handle_due - filed)  # about one in eight late
    if handled > end:
        row["supervised"] = u[9] < 0.03
        running(LimitStep.HANDLE, filed, handle_due)
        return
    reworked = u[10] < 0.04
    row.update(handled_at=at(handled), status=Status.HANDLED)
    if reworked:
        row["rework_count"] = 1
        handled += 0.3 * (handle_due - filed)
        if handled > end:
            row.update(handled_at=None, status=Status.IN_PROGRESS)
            running(LimitStep.HANDLE, handled - 0.3 * (handle_due - filed), handled + handle_h * HOUR)
            return
        row["handled_at"] = at(handled)
    closed = handled + (0.1 + 0.9 * u[11]) * verify_h * HOUR
    if closed > end:
        running(LimitStep.VERIFY, handled, handled + verify_h * HOUR)
        return
    row.update(closed_at=at(closed), status=Status.CLOSED, result="已处理完毕")
    spare = (fate * 7919.0) % 1.0, (fate * 104729.0) % 1.0, (fate * 1299709.0) % 1.0  # more draws from one
    rated = closed + (1 + 47 * spare[0]) * HOUR
    if spare[1] < 0.4 and rated <= end:
        roll = spare[2]
        rating = Rating.SATISFIED if roll < 0.7 else Rating.BASICALLY if roll < 0.9 else Rating.UNSATISFIED
        row.update(rated_at=at(rated), rating=rating, status=Status.RATED)
