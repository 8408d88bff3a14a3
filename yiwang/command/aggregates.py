"""The command centre's rollups (yiwang.command.models), kept up to date as cases move, and read back.

Upkeep. A case's *contributions* are a pure function of its fields: which figure falls on which local day at
which nodes (every level of its path, and its lead unit), which open-case row it sits in (by the day its
running deadline falls on), which month's category and channel it adds to. Every write of a case calls
`case_figures_before(case)` before it changes the case and `case_figures_after(case, before)` after it saved
it, in the same transaction; the difference is added to the rollups with one INSERT … ON CONFLICT DO UPDATE
per table. The bulk import adds its rows with `cases_inserted(rows)`. `recount()` rebuilds everything from
the cases table with a few GROUP BY statements (yiwang.command.management.commands.recount_aggregates).

Reading. A figure over [start, until) is the sum of whole months (MonthFigures) and whole days (DayFigures;
for a month cut short, the month's row less its remaining days when those are fewer); a day cut at `now`
takes its event figures from the day's row (nothing happens after now) and its deadline figures from the
quarter-hour slots (DueSlot) up to the slot boundary nearest now, and one exact query over the cases due
between that boundary and now (three index range scans of at most seven and a half minutes' deadlines).
Open and overdue counts: the OpenCases rows of the node, the rows before today being overdue, plus today's
open cases already past their deadline (one range scan of the open cases' deadline index).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, MutableMapping

from django.db import connection, transaction
from django.db.models import CharField, Count, DateField, F, Func, IntegerField, Q, Value
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate, TruncMonth
from django.utils import timezone

from yiwang.cases.choices import OPEN, Channel, Rating, Status
from yiwang.cases.models import Case, open_cases_sql
from yiwang.command import plain
from yiwang.command.models import (
    DUE_FIELDS,
    EVENT_FIELDS,
    FIELDS,
    NO_CLOCK,
    SLOT_MINUTES,
    DayFigures,
    DueSlot,
    MonthFigures,
    MonthMix,
    OpenCases,
)
from yiwang.core import clock
from yiwang.geo.models import Grid

CASE_FIELDS = ["status", "parent_id", "region_path", "grid_id", "lead_unit_id", "channel", "category_id",
               "reported_at", "accepted_at", "filed_at", "handled_at", "closed_at", "rated_at", "rating",
               "responded_at", "respond_due_at", "handle_due_at", "close_due_at", "extension_count",
               "rework_count", "due_at", "supervised"]
NOT_COUNTED = {Status.VOIDED, Status.MERGED}
DUE = set(DUE_FIELDS)
SATISFIED = {Rating.SATISFIED, Rating.BASICALLY}


def _tz():
    return timezone.get_default_timezone()


def local_day(value: dt.datetime) -> dt.date:
    return value.astimezone(_tz()).date()


SLOT = dt.timedelta(minutes=SLOT_MINUTES)


def local_slot(value: dt.datetime) -> dt.datetime:
    """The start of the local quarter of an hour (DueSlot's slot) the time falls in."""
    local = value.astimezone(_tz())
    return local.replace(minute=local.minute - local.minute % SLOT_MINUTES, second=0, microsecond=0)


def horizon(now: dt.datetime) -> dt.datetime:
    """DueSlot keeps the slots from the start of yesterday on."""
    return _midnight(local_day(now) - dt.timedelta(days=1))


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def prefixes(path: str) -> list[str]:
    """'a/b/c/' → ['a/', 'a/b/', 'a/b/c/']."""
    out, at = [], 0
    while (at := path.find("/", at) + 1) > 0:
        out.append(path[:at])
    return out


def unit_node(unit_id) -> str:
    return f"u:{unit_id}"


# --- contributions -------------------------------------------------------------------------------------------

def contributions(case: Mapping, since: dt.datetime | None = None, out: MutableMapping | None = None) -> Counter:
    """What one case adds to the rollups: {("f", node, day, figure) | ("s", node, slot, figure) |
    ("o", node, due_day, "open"|"supervised") | ("m", node, month, dimension, value): n}. Counts exactly what
    yiwang.cases.measures counts. Deadline figures also go by slot when the slot is at or after `since`. Added
    to `out` when given (a defaultdict(int) summing many cases: no counter each, and a new key costs no call of
    Counter.__missing__)."""
    if out is None:
        out = Counter()
    paths = prefixes(case["region_path"])
    status = case["status"]
    if status not in NOT_COUNTED and case["parent_id"] is None:
        nodes = paths + ([unit_node(case["lead_unit_id"])] if case["lead_unit_id"] else [])

        def add(figure: str, when: dt.datetime | None) -> None:
            if when is not None:
                day = local_day(when)
                for node in nodes:
                    out["f", node, day, figure] += 1
                if since is not None and figure in DUE and (slot := local_slot(when)) >= since:
                    for node in nodes:
                        out["s", node, slot, figure] += 1

        reported = case["reported_at"]
        add("reported", reported)
        if case["channel"] == Channel.PATROL:
            add("patrol", reported)
        add("accepted", case["accepted_at"])
        add("filed", case["filed_at"])
        add("rated", case["rated_at"])
        if case["rating"] in SATISFIED:
            add("satisfied", case["rated_at"])
        closed_at = case["closed_at"]
        add("closings", closed_at)
        due = case["handle_due_at"]
        if due is not None:
            done = case["handled_at"] or closed_at
            add("due_handle", due)
            if done is not None:
                add("handled", due)
                add("handled_on_time" if done <= due else "handled_late", due)
            if case["extension_count"]:
                add("extended", due)
        due = case["close_due_at"]
        if due is not None:
            add("due_close", due)
            if closed_at is not None:
                add("closed", due)
                if closed_at <= due:
                    add("closed_on_time", due)
                if case["rating"] != Rating.UNSATISFIED:
                    add("resolved", due)
            if case["rework_count"]:
                add("reworked", due)
        due = case["respond_due_at"]
        if due is not None:
            add("due_respond", due)
            if case["responded_at"] is not None and case["responded_at"] <= due:
                add("responded_on_time", due)
        month = first_of_month(local_day(reported))
        regions = paths[:-1] if case["grid_id"] else paths
        for node in regions:
            if case["category_id"]:
                out["m", node, month, "category", str(case["category_id"])] += 1
            out["m", node, month, "channel", case["channel"]] += 1
    if status in OPEN:
        due_day = local_day(case["due_at"]) if case["due_at"] is not None else NO_CLOCK
        for node in paths:
            out["o", node, due_day, "open"] += 1
            if case["supervised"]:
                out["o", node, due_day, "supervised"] += 1
    return out


def _fields_of(case: Case) -> dict:
    return {name: getattr(case, name) for name in CASE_FIELDS}


def case_figures_before(case: Case) -> Counter:
    """Called with the locked case before a change (yiwang.cases.services)."""
    return contributions(_fields_of(case), horizon(clock.now()))


def case_figures_after(case: Case, before: Counter | None) -> None:
    """Called after the changed (or new) case is saved, in the same transaction."""
    difference = contributions(_fields_of(case), horizon(clock.now()))
    difference.subtract(before or Counter())
    apply(difference)


def cases_inserted(rows: Iterable[Mapping]) -> None:
    """The bulk import's rows ({attname: value}, as given to yiwang.core.bulk.insert)."""
    total: defaultdict = defaultdict(int)
    since = horizon(clock.now())
    defaults = _DEFAULTS
    for row in rows:
        contributions({name: row.get(name, default) for name, default in defaults.items()}, since, total)
    apply(total)


_DEFAULTS = dict.fromkeys(CASE_FIELDS) | {
    "status": Status.REPORTED, "rating": "", "extension_count": 0, "rework_count": 0, "supervised": False,
    "channel": "", "category_id": None}


# --- writing -------------------------------------------------------------------------------------------------

def _upsert_sql(model, keys: list[str], columns: list[str]) -> str:
    """INSERT … VALUES (…) ON CONFLICT (keys) DO UPDATE SET c = c + excluded.c, for one row."""
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    names = [*keys, *columns]
    adds = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in columns)
    return (f"INSERT INTO {table} ({', '.join(q(n) for n in names)}) VALUES ({', '.join(['%s'] * len(names))}) "
            f"ON CONFLICT ({', '.join(q(k) for k in keys)}) DO UPDATE SET {adds}")


def _upsert_all(tables: list[tuple]) -> None:
    """Add each table's rows ((model, keys, columns, rows), in a fixed table order) to the rollups.

    Rows go in key order, so two transactions adding to the same rows lock them in the same order (no
    deadlock). On PostgreSQL a change to every table is one statement of a fixed text — each table's rows
    passed as one array per column and unnested, each table's INSERT a data-modifying WITH query — so it is one
    round trip, and the driver parses the statement once per process rather than a placeholder per value; each
    array goes as the text of an array literal, which costs the driver one string instead of adapting every
    value (an import's batch adds some 20,000 rows). SQLite runs in-process and takes one prepared statement
    over all rows of a table (`executemany`)."""
    # A table's keys are distinct and lead each row, so the rows' own order is their keys' order.
    ordered = [(model, keys, columns, sorted(rows)) for model, keys, columns, rows in tables]
    if not any(rows for *_head, rows in ordered):
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            shape = tuple((model, tuple(keys), tuple(columns)) for model, keys, columns, _rows in ordered)
            sql = _unnested_sql(shape)
            params = []
            for _model, keys, columns, rows in ordered:
                params += map(_array_text, zip(*rows, strict=True)) if rows else ["{}"] * (len(keys) + len(columns))
            cursor.execute(sql, params)
            return
        for model, keys, columns, rows in ordered:
            if rows:
                cursor.executemany(_upsert_sql(model, keys, columns), rows)


class _IntText(dict):
    """The text of an integer, remembered: most figures in a batch are the same few small numbers."""

    def __missing__(self, value: int) -> str:
        text = self[value] = str(value)
        return text


_INT_TEXT = _IntText()


def _array_text(values: tuple) -> str:
    """A PostgreSQL array literal of a column's values: integers as they are, anything else (paths, dates,
    times) as a quoted element of its text form."""
    if all(type(value) is int for value in values):
        if len(_INT_TEXT) > 100_000:
            _INT_TEXT.clear()
        return "{" + ",".join(map(_INT_TEXT.__getitem__, values)) + "}"
    return "{" + ",".join('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for value in values) + "}"


@functools.cache
def _unnested_sql(shape: tuple) -> str:
    q = connection.ops.quote_name
    parts = []
    for model, keys, columns in shape:
        table = q(model._meta.db_table)
        names = [*keys, *columns]
        arrays = ", ".join(f"%s::{model._meta.get_field(n).db_type(connection)}[]" for n in names)
        adds = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in columns)
        parts.append(f"INSERT INTO {table} ({', '.join(q(n) for n in names)}) SELECT * FROM unnest({arrays}) "
                     f"ON CONFLICT ({', '.join(q(k) for k in keys)}) DO UPDATE SET {adds}")
    *first, last = parts
    return (f"WITH {', '.join(f'w{i} AS ({part})' for i, part in enumerate(first))} " if first else "") + last


def _date(value: dt.date):
    return connection.ops.adapt_datefield_value(value)


def apply(difference: Mapping) -> None:
    days: dict = defaultdict(lambda: [0] * len(FIELDS))
    months: dict = defaultdict(lambda: [0] * len(FIELDS))
    slots: dict = defaultdict(lambda: [0] * len(DUE_FIELDS))
    opens: dict = defaultdict(lambda: [0, 0])
    mixes: dict = defaultdict(int)
    position = {name: i for i, name in enumerate(FIELDS)}
    due_position = {name: i for i, name in enumerate(DUE_FIELDS)}
    month_of: dict = {}
    for key, n in difference.items():
        if not n:
            continue
        if key[0] == "f":
            _f, node, day, figure = key
            days[node, day][position[figure]] += n
            month = month_of.get(day)
            if month is None:
                month = month_of[day] = first_of_month(day)
            months[node, month][position[figure]] += n
        elif key[0] == "s":
            _s, node, slot, figure = key
            slots[node, slot][due_position[figure]] += n
        elif key[0] == "o":
            _o, node, due_day, what = key
            opens[node, due_day][0 if what == "open" else 1] += n
        else:
            _m, node, month, dimension, value = key
            mixes[node, month, dimension, value] += n
    # The adapters looked up once: `connection.ops` is a lookup in a thread-local each time.
    date_value, slot_value = connection.ops.adapt_datefield_value, connection.ops.adapt_datetimefield_value
    _upsert_all([
        (DayFigures, ["node", "day"], FIELDS, [[node, date_value(day), *v] for (node, day), v in days.items()]),
        (MonthFigures, ["node", "month"], FIELDS,
         [[node, date_value(month), *v] for (node, month), v in months.items()]),
        (DueSlot, ["node", "start"], DUE_FIELDS,
         [[node, slot_value(slot), *v] for (node, slot), v in slots.items()]),
        (OpenCases, ["node", "due_day"], ["open", "supervised"],
         [[node, date_value(day), *v] for (node, day), v in opens.items()]),
        (MonthMix, ["node", "month", "dimension", "value"], ["n"],
         [[node, date_value(month), d, value, n] for (node, month, d, value), n in mixes.items() if n]),
    ])


def due_slots_prune(*, now: dt.datetime | None = None) -> int:
    """Forget the quarter-hour slots before yesterday (no read looks at them; run by the deadline sweep)."""
    deleted, _rows = DueSlot.objects.filter(start__lt=horizon(now or clock.now())).delete()
    return deleted


# --- reading -------------------------------------------------------------------------------------------------

def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=_tz())


def _month_after(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _plan(first: dt.date, last: dt.date) -> tuple[list[dt.date], list[tuple[dt.date, dt.date, int]]]:
    """Whole days [first, last) as whole months plus day ranges (signed: +1 add, -1 take away)."""
    months, ranges = [], []
    day = first
    while day < last:
        month = first_of_month(day)
        following = _month_after(month)
        end = min(following, last)
        if day == month and end == following:
            months.append(month)
        elif (end - day).days <= ((day - month).days + (following - end).days):
            ranges.append((day, end, 1))
        else:  # the month less the days outside the range
            months.append(month)
            if day > month:
                ranges.append((month, day, -1))
            if end < following:
                ranges.append((end, following, -1))
        day = end
    return months, ranges


def _query(sql: str, params: Iterable = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall()


def _in(values) -> str:
    return ", ".join(["%s"] * len(values))


def _sum_rows(keys: list[str], first: dt.date, last: dt.date) -> dict[str, dict[str, int]]:
    """Whole days [first, last): one statement over the month and day rows (raw SQL: these reads are the
    screen's hot path, and the ORM's compiling would cost more than the database's work)."""
    total = {key: dict.fromkeys(FIELDS, 0) for key in keys}
    months, ranges = _plan(first, last)
    if not keys or not (months or ranges):
        return total
    q = connection.ops.quote_name
    parts, params = [], []
    if months:
        parts.append(f"SELECT node, {', '.join(q(c) for c in FIELDS)} FROM {q(MonthFigures._meta.db_table)} "
                     f"WHERE node IN ({_in(keys)}) AND month IN ({_in(months)})")
        params += [*keys, *(_date(m) for m in months)]
    for start, end, sign in ranges:
        columns = ", ".join(f"{sign} * {q(c)} AS {q(c)}" for c in FIELDS)
        parts.append(f"SELECT node, {columns} FROM {q(DayFigures._meta.db_table)} "
                     f"WHERE node IN ({_in(keys)}) AND day >= %s AND day < %s")
        params += [*keys, _date(start), _date(end)]
    sums = ", ".join(f"SUM({q(c)})" for c in FIELDS)
    for node, *values in _query(f"SELECT node, {sums} FROM ({' UNION ALL '.join(parts)}) u GROUP BY node", params):
        total[node] = dict(zip(FIELDS, (v or 0 for v in values), strict=True))
    return total


# The exact count of the deadline figures over a stretch of at most half a slot, city-wide, grouped by path and lead
# unit: compiled once from the ORM (the conditions are plain.conditions, yiwang.cases.measures' own), run with
# the stretch's ends in place of two stand-in times.
_STAND_IN = (dt.datetime(1971, 1, 1, 1, 1, 1, tzinfo=dt.UTC), dt.datetime(1971, 1, 2, 2, 2, 2, tzinfo=dt.UTC))
_EXACT_SQL: dict = {}


def _exact_sql():
    key = connection.vendor
    if key not in _EXACT_SQL:
        conds = plain.conditions(*_STAND_IN)
        parts = []
        for column, names in plain.DUE.items():
            queryset = (Case.objects.filter(**{f"{column}__gte": _STAND_IN[0], f"{column}__lt": _STAND_IN[1]})
                        .exclude(status__in=list(NOT_COUNTED))
                        .alias(done_at=Coalesce("handled_at", "closed_at"), no_parent=Coalesce("parent_id", 0))
                        .filter(no_parent=0).order_by().values("region_path", "lead_unit_id")
                        .annotate(**{name: (Count("pk", filter=conds[name]) if name in names
                                            else Value(0, output_field=IntegerField())) for name in DUE_FIELDS}))
            parts.append(_compiled(queryset))
        # One statement, one round trip: the three SELECTs each keep their own deadline's index.
        _EXACT_SQL[key] = (" UNION ALL ".join(f"SELECT * FROM ({sql}) e{i}" for i, (sql, _p) in enumerate(parts)),
                           [p for _sql, params in parts for p in params])
    return _EXACT_SQL[key]


def _exact_rows(start: dt.datetime, until: dt.datetime) -> list[tuple]:
    """[(region_path, lead_unit_id, *DUE_FIELDS)] of the cases due in [start, until), a few minutes: each
    statement bound to its deadline's index alone (no condition another index could serve)."""
    if until <= start:
        return []
    adapt = connection.ops.adapt_datetimefield_value  # the compiled parameters are already in the database's form
    stand_in, real = [adapt(t) for t in _STAND_IN], [adapt(start), adapt(until)]
    sql, params = _exact_sql()
    return _query(sql, [real[0] if p == stand_in[0] else real[1] if p == stand_in[1] else p for p in params])


class Memo:
    """What one screen's several reads share: the day cut at now, counted once."""

    def __init__(self):
        self.partial: dict = {}


def _partial(keys: list[str], day: dt.date, until: dt.datetime, memo: Memo | None) -> dict[str, dict[str, int]]:
    """The day cut at `until`: its events from the day's row (nothing happens after now); its deadlines up to
    the slot boundary nearest `until` — the slots from midnight (DueSlot), or the day's row less the slots
    after the boundary when those are fewer — then the cases due between that boundary and `until`, counted
    exactly: added when the boundary lies before `until`, taken away when after (at most half a slot's
    deadlines, city-wide, read once per screen)."""
    memo = memo or Memo()
    known = memo.partial.setdefault((day, until), {})
    missing = [key for key in keys if key not in known]
    if missing:
        q = connection.ops.quote_name
        adapt = connection.ops.adapt_datetimefield_value
        midnight, next_midnight = _midnight(day), _midnight(day + dt.timedelta(days=1))
        first = local_slot(until)
        following = min(first + SLOT, next_midnight)
        cut = first if until - first <= following - until else following
        if "rows" not in known:
            known["rows"] = (_exact_rows(cut, until), 1) if cut <= until else (_exact_rows(until, cut), -1)
        for key in missing:
            known[key] = dict.fromkeys(FIELDS, 0)
        forward = cut - midnight <= next_midnight - cut
        columns = ", ".join(q(c) for c in (EVENT_FIELDS if forward else FIELDS))
        for node, *values in _query(f"SELECT node, {columns} FROM {q(DayFigures._meta.db_table)} "
                                    f"WHERE node IN ({_in(missing)}) AND day = %s", [*missing, _date(day)]):
            known[node].update(zip(EVENT_FIELDS if forward else FIELDS, values, strict=True))
        sums = ", ".join(f"SUM({q(c)})" for c in DUE_FIELDS)
        span = [adapt(midnight), adapt(cut)] if forward else [adapt(cut), adapt(next_midnight)]
        sign = 1 if forward else -1
        for node, *values in _query(
                f"SELECT node, {sums} FROM {q(DueSlot._meta.db_table)} WHERE node IN ({_in(missing)}) "
                f"AND start >= %s AND start < %s GROUP BY node", [*missing, *span]):
            into = known[node]
            for name, n in zip(DUE_FIELDS, values, strict=True):
                into[name] += sign * (n or 0)
        wanted = set(missing)
        rows, sign = known["rows"]
        for path, unit, *values in rows:
            for node in [*prefixes(path), *([unit_node(unit)] if unit else [])]:
                if node in wanted:
                    into = known[node]
                    for name, n in zip(DUE_FIELDS, values, strict=True):
                        into[name] += sign * n
    return {key: known[key] for key in keys}


def _counts(keys: list[str], start: dt.datetime, until: dt.datetime, memo: Memo | None) -> dict[str, dict[str, int]]:
    if until <= start:
        return {key: dict.fromkeys(FIELDS, 0) for key in keys}
    first, last = local_day(start), local_day(until)
    if _midnight(first) != start:
        raise ValueError("a period starts at a local midnight")
    total = _sum_rows(keys, first, last)
    if until > _midnight(last):
        for key, part in _partial(keys, last, until, memo).items():
            into = total[key]
            for name, n in part.items():
                into[name] += n
    return total


def node_counts(nodes: list[str], start: dt.datetime, until: dt.datetime, *,
                memo: Memo | None = None) -> dict[str, dict[str, int]]:
    """The figures of regions' subtrees and grids (by path) over [start, until); start a local midnight."""
    return _counts(nodes, start, until, memo)


def unit_counts(unit_ids: list[int], start: dt.datetime, until: dt.datetime, *,
                memo: Memo | None = None) -> dict[int, dict[str, int]]:
    found = _counts([unit_node(pk) for pk in unit_ids], start, until, memo)
    return {pk: found[unit_node(pk)] for pk in unit_ids}


def active_units(start: dt.datetime, until: dt.datetime, *, memo: Memo | None = None) -> set[int]:
    """The units with a rollup row in the months the period touches (a superset of those with a figure)."""
    months, day = [], first_of_month(local_day(start))
    while _midnight(day) < until:
        months.append(day)
        day = _month_after(day)
    nodes = (MonthFigures.objects.filter(node__gte="u:", node__lt="u;", month__in=months)
             .values_list("node", flat=True).distinct())
    return {int(node[2:]) for node in nodes}


def open_state(nodes: list[str], now: dt.datetime, *, memo: Memo | None = None) -> dict[str, dict[str, int]]:
    today = local_day(now)
    found = {node: {"open": 0, "overdue": 0, "supervised": 0} for node in nodes}
    q = connection.ops.quote_name
    for node, open_, supervised, overdue in _query(
            f"SELECT node, SUM(open), SUM(supervised), SUM(CASE WHEN due_day < %s THEN open ELSE 0 END) "
            f"FROM {q(OpenCases._meta.db_table)} WHERE node IN ({_in(nodes)}) GROUP BY node",
            [_date(today), *nodes]):
        found[node] = {"open": open_ or 0, "overdue": overdue or 0, "supervised": supervised or 0}
    # Today's open cases already past their running deadline: city-wide from the open cases' deadline index
    # alone (case_open_due), summed up here.
    wanted = set(nodes)
    table, open_condition = open_cases_sql("case_open_due")
    adapt = connection.ops.adapt_datetimefield_value
    rows = _query(f"SELECT {q('region_path')}, COUNT(*) FROM {table} WHERE {open_condition} AND {q('due_at')} >= %s "
                  f"AND {q('due_at')} < %s GROUP BY {q('region_path')}", [adapt(_midnight(today)), adapt(now)])
    for path, n in rows:
        for node in prefixes(path):
            if node in wanted:
                found[node]["overdue"] += n
    return found


def daily(node: str, days: list[dt.date], *, memo: Memo | None = None) -> dict[dt.date, dict]:
    out = {day: {"reported": 0, "closings": 0} for day in days}
    q = connection.ops.quote_name
    for day, reported, closings in _query(
            f"SELECT day, reported, closings FROM {q(DayFigures._meta.db_table)} WHERE node = %s AND day >= %s "
            f"AND day <= %s", [node, _date(days[0]), _date(days[-1])]):
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        out[day] = {"reported": reported, "closings": closings}
    return out


def mix(node: str, start: dt.datetime, until: dt.datetime, dimension: str, *, memo: Memo | None = None) -> dict:
    """Cases reported in [start, until) by category id or channel; from the rollup when the period is one
    month up to now (nothing is reported after now), otherwise counted."""
    month = first_of_month(local_day(start))
    whole_month = start == _midnight(month) and until <= _midnight(_month_after(month))
    memo = memo or Memo()
    if ("grid", node) not in memo.partial:
        memo.partial["grid", node] = Grid.objects.filter(path=node).exists()
    region = not memo.partial["grid", node]
    if not (whole_month and region):
        return plain.mix(node, start, until, dimension)
    rows = MonthMix.objects.filter(node=node, month=month, dimension=dimension).values_list("value", "n")
    if dimension == "category":
        return {int(value): n for value, n in rows if n}
    return {value: n for value, n in rows if n}


# --- recount from scratch ------------------------------------------------------------------------------------

def _families() -> list[tuple[str, dict[str, Q]]]:
    """Each time column and the figures that fall on its day, with their conditions (yiwang.cases.measures)."""
    done = Q(done_at__isnull=False)
    return [
        ("reported_at", {"reported": Q(), "patrol": Q(channel=Channel.PATROL)}),
        ("accepted_at", {"accepted": Q()}),
        ("filed_at", {"filed": Q()}),
        ("rated_at", {"rated": Q(), "satisfied": Q(rating__in=SATISFIED)}),
        ("closed_at", {"closings": Q()}),
        ("handle_due_at", {"due_handle": Q(), "handled": done, "handled_on_time": Q(done_at__lte=F("handle_due_at")),
                           "handled_late": Q(done_at__gt=F("handle_due_at")), "extended": Q(extension_count__gt=0)}),
        ("close_due_at", {"due_close": Q(), "closed": Q(closed_at__isnull=False),
                          "closed_on_time": Q(closed_at__lte=F("close_due_at")),
                          "reworked": Q(rework_count__gt=0),
                          "resolved": Q(closed_at__isnull=False) & ~Q(rating=Rating.UNSATISFIED)}),
        ("respond_due_at", {"due_respond": Q(), "responded_on_time": Q(responded_at__lte=F("respond_due_at"))}),
    ]


class _ShiftedDate(Func):
    """SQLite's date(column, '+480 minutes'[, 'start of month']): the local date in a zone with one fixed
    offset, computed by SQLite itself — Django's TruncDate calls back into Python for every row there."""

    function = "date"
    output_field = DateField()


def _fixed_offset_minutes() -> int | None:
    """The time zone's offset if it has been the same every month of 1992–2060 (Asia/Shanghai: +480)."""
    tz = _tz()
    offsets = {dt.datetime(year, month, 15, 12, tzinfo=tz).utcoffset() for year in range(1992, 2061)
               for month in range(1, 13)}
    return int(offsets.pop().total_seconds() // 60) if len(offsets) == 1 else None


def local_date_of(column: str, *, month: bool = False):
    """The local date (or its month's first day) of a datetime column, as an expression."""
    offset = _fixed_offset_minutes() if connection.vendor == "sqlite" else None
    if offset is None:
        truncate = TruncMonth if month else TruncDate
        return truncate(column, tzinfo=_tz(), output_field=DateField())
    modifiers = [Value(f"{offset:+d} minutes")] + ([Value("start of month")] if month else [])
    return _ShiftedDate(F(column), *modifiers)


def _compiled(queryset) -> tuple[str, tuple]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def _family_sql(node_expression, only: Q) -> list[tuple[str, tuple]]:
    """One SELECT per time column: node, day, then every figure (0 where the column does not bear it)."""
    selects = []
    for column, figures in _families():
        queryset = (plain.counted(Case.objects.filter(only, **{f"{column}__isnull": False}))
                    .alias(done_at=Coalesce("handled_at", "closed_at"))
                    .annotate(node_=node_expression, day_=local_date_of(column))
                    .order_by().values("node_", "day_")
                    .annotate(**{name: (Count("pk", filter=figures[name]) if name in figures
                                        else Value(0, output_field=IntegerField())) for name in FIELDS}))
        selects.append(_compiled(queryset))
    return selects


def _run(sql: str, params: Iterable = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))


def _path_lengths() -> list[int]:
    """Every length a node path can have: the lengths of the regions' and grids' paths and their prefixes."""
    from yiwang.geo.models import Grid, Region

    lengths = set()
    for model in (Region, Grid):
        for path in model.objects.values_list("path", flat=True).distinct():
            lengths.update(len(p) for p in prefixes(path))
    for path in Case.objects.order_by().values_list("region_path", flat=True).distinct():
        lengths.update(len(p) for p in prefixes(path))
    return sorted(lengths)


def _month_of(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"date({column}, 'start of month')"


def _sum_list(columns: list[str]) -> str:
    q = connection.ops.quote_name
    return ", ".join(f"SUM({q(c)}) AS {q(c)}" for c in columns)


def recount() -> dict[str, int]:
    """Rebuild every rollup from the cases table, in the caller's transaction (or one of its own)."""
    q = connection.ops.quote_name
    names = ", ".join(q(c) for c in FIELDS)
    day_table, month_table = q(DayFigures._meta.db_table), q(MonthFigures._meta.db_table)
    open_table, mix_table = q(OpenCases._meta.db_table), q(MonthMix._meta.db_table)
    lengths = _path_lengths()
    with transaction.atomic():
        for model in (DayFigures, MonthFigures, OpenCases, MonthMix):
            model.objects.all().delete()
        _run("DROP TABLE IF EXISTS command_stage")
        # The finest rows: by the case's own path, and by its lead unit.
        unions = _family_sql(F("region_path"), Q())
        sql = " UNION ALL ".join(f"SELECT * FROM ({s}) f{i}" for i, (s, _p) in enumerate(unions))
        params = [p for _s, ps in unions for p in ps]
        _run(f"CREATE TEMPORARY TABLE command_stage AS SELECT node_, day_, {_sum_list(FIELDS)} "
             f"FROM ({sql}) u GROUP BY node_, day_", params)
        _run(f"INSERT INTO {day_table} (node, day, {names}) SELECT node_, day_, {_sum_list(FIELDS)} FROM "
             f"command_stage GROUP BY node_, day_")
        for length in lengths:  # every ancestor level from the finest rows (a prefix ending in "/")
            _run(f"INSERT INTO {day_table} (node, day, {names}) SELECT SUBSTR(node_, 1, {length}), day_, "
                 f"{_sum_list(FIELDS)} FROM command_stage WHERE LENGTH(node_) > {length} AND "
                 f"SUBSTR(node_, {length}, 1) = '/' GROUP BY SUBSTR(node_, 1, {length}), day_ "
                 f"ON CONFLICT (node, day) DO UPDATE SET "
                 + ", ".join(f"{q(c)} = {day_table}.{q(c)} + excluded.{q(c)}" for c in FIELDS))
        _run("DROP TABLE command_stage")
        units = _family_sql(Concat(Value("u:"), Cast("lead_unit_id", CharField())), Q(lead_unit_id__isnull=False))
        sql = " UNION ALL ".join(f"SELECT * FROM ({s}) f{i}" for i, (s, _p) in enumerate(units))
        params = [p for _s, ps in units for p in ps]
        _run(f"INSERT INTO {day_table} (node, day, {names}) SELECT node_, day_, {_sum_list(FIELDS)} "
             f"FROM ({sql}) u GROUP BY node_, day_", params)
        _run(f"INSERT INTO {month_table} (node, month, {names}) SELECT node, {_month_of('day')}, "
             f"{_sum_list(FIELDS)} FROM {day_table} GROUP BY node, {_month_of('day')}")

        # Open cases by the day their running deadline falls on.
        stage, stage_params = _compiled(
            Case.objects.filter(status__in=OPEN)
            .annotate(node_=F("region_path"),
                      day_=Coalesce(local_date_of("due_at"), Value(NO_CLOCK, output_field=DateField())))
            .order_by().values("node_", "day_")
            .annotate(open_=Count("pk"), supervised_=Count("pk", filter=Q(supervised=True))))
        _run(f"CREATE TEMPORARY TABLE command_stage AS {stage}", stage_params)
        _run(f"INSERT INTO {open_table} (node, due_day, open, supervised) SELECT node_, day_, SUM(open_), "
             f"SUM(supervised_) FROM command_stage GROUP BY node_, day_")
        for length in lengths:
            _run(f"INSERT INTO {open_table} (node, due_day, open, supervised) SELECT SUBSTR(node_, 1, {length}), "
                 f"day_, SUM(open_), SUM(supervised_) FROM command_stage WHERE LENGTH(node_) > {length} AND "
                 f"SUBSTR(node_, {length}, 1) = '/' GROUP BY SUBSTR(node_, 1, {length}), day_ "
                 f"ON CONFLICT (node, due_day) DO UPDATE SET open = {open_table}.open + excluded.open, "
                 f"supervised = {open_table}.supervised + excluded.supervised")
        _run("DROP TABLE command_stage")

        # The month's mix: regions only (a grid's own path is not a node here).
        month = local_date_of("reported_at", month=True)
        selects = []
        for dimension, column, only in (("category", Cast("category_id", CharField()), Q(category__isnull=False)),
                                        ("channel", F("channel"), Q())):
            selects.append(_compiled(
                plain.counted(Case.objects.filter(only)).annotate(
                    node_=F("region_path"), grid_=Coalesce("grid_id", Value(0)), month_=month,
                    dimension_=Value(dimension, output_field=CharField()), value_=column)
                .order_by().values("node_", "grid_", "month_", "dimension_", "value_")
                .annotate(n_=Count("pk"))))
        sql = " UNION ALL ".join(f"SELECT * FROM ({s}) f{i}" for i, (s, _p) in enumerate(selects))
        _run(f"CREATE TEMPORARY TABLE command_stage AS {sql}", [p for _s, ps in selects for p in ps])
        _run(f"INSERT INTO {mix_table} (node, month, dimension, value, n) SELECT node_, month_, dimension_, "
             f"value_, SUM(n_) FROM command_stage WHERE grid_ = 0 GROUP BY node_, month_, dimension_, value_")
        for length in lengths:
            _run(f"INSERT INTO {mix_table} (node, month, dimension, value, n) SELECT SUBSTR(node_, 1, {length}), "
                 f"month_, dimension_, value_, SUM(n_) FROM command_stage WHERE LENGTH(node_) > {length} AND "
                 f"SUBSTR(node_, {length}, 1) = '/' GROUP BY SUBSTR(node_, 1, {length}), month_, dimension_, "
                 f"value_ ON CONFLICT (node, month, dimension, value) DO UPDATE SET n = {mix_table}.n + excluded.n")
        _run("DROP TABLE command_stage")

        rebuild_due_slots()
    return {model.__name__: model.objects.count()
            for model in (DayFigures, MonthFigures, OpenCases, MonthMix, DueSlot)}


def rebuild_due_slots() -> None:
    """Deadlines by slot, from the start of yesterday on: few cases, so through `contributions`."""
    with transaction.atomic():
        DueSlot.objects.all().delete()
        since = horizon(clock.now())
        ids: set[int] = set()
        for column in plain.DUE:
            ids.update(Case.objects.filter(**{f"{column}__gte": since}).values_list("pk", flat=True))
        slots: Counter = Counter()
        for case in Case.objects.filter(pk__in=ids).values(*CASE_FIELDS).iterator(chunk_size=5000):
            slots.update({k: n for k, n in contributions(case, since).items() if k[0] == "s"})
        apply(slots)


# --- checking ------------------------------------------------------------------------------------------------

def snapshot_rows() -> dict[tuple, tuple]:
    """Every non-zero rollup row, keyed by table and key (for comparing the live rollups with a recount)."""
    out = {}
    DueSlot.objects.filter(start__lt=horizon(clock.now())).delete()
    for model, keys, columns in ((DayFigures, ["node", "day"], FIELDS), (MonthFigures, ["node", "month"], FIELDS),
                                 (DueSlot, ["node", "start"], DUE_FIELDS),
                                 (OpenCases, ["node", "due_day"], ["open", "supervised"]),
                                 (MonthMix, ["node", "month", "dimension", "value"], ["n"])):
        for row in model.objects.values_list(*keys, *columns).iterator(chunk_size=10_000):
            values = row[len(keys):]
            if any(values):
                out[(model.__name__, *row[:len(keys)])] = dict(zip(columns, values, strict=True))
    return out


def check() -> list[str]:
    """Differences between the live rollups and a recount from scratch (the recount is rolled back)."""
    live = snapshot_rows()
    with transaction.atomic():
        recount()
        fresh = snapshot_rows()
        transaction.set_rollback(True)
    differences = []
    for key in sorted(set(live) | set(fresh), key=str):
        a, b = live.get(key), fresh.get(key)
        if a != b:
            differences.append(f"{' '.join(map(str, key))}: live {a or 0}, recount {b or 0}")
    return differences
