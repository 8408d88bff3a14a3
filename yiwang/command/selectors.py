"""The command centre's reads: the overview of one region subtree (the wall screen and the leader's phone)
and the monthly assessment (一月一考核).

Every figure comes from a *source* of counts: `yiwang.command.aggregates` (the rollup tables kept up to date
as cases move; the default) or `yiwang.command.plain` (GROUP BY over the cases table; the reference and the
benchmark's baseline). Both count exactly what yiwang.cases.measures counts, and the measures, scores and
grades are built here from those counts with measures.py's own rules, so they agree with `measures_for`.

"overdue" is a snapshot: open cases (not closed, rated, rejected, merged or voided) whose running deadline
has passed now (the red light); "supervised" likewise counts the open cases under supervision now. Both are
the same number under "today" and "month". "closed" under today/month is the cases closed (结案) in that
period; the measures' "closed" is the §6 one (of the cases whose closing deadline fell in the period).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from types import SimpleNamespace

from django.db import connection
from django.db.models import Case as DbCase
from django.db.models import CharField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from yiwang.accounts.policies import REGION, grants_for
from yiwang.cases.choices import OPEN, Channel, Light
from yiwang.cases.measures import (
    COUNTS,
    RATES,
    VIEW,
    Measures,
    Subject,
    _may_view,
    _ratio,
    area_score,
    grade_for,
    month_bounds,
)
from yiwang.cases.models import Case, open_cases_sql
from yiwang.cases.selectors import light_of
from yiwang.core import clock
from yiwang.core.errors import NotFound, invalid
from yiwang.geo.choices import RegionLevel
from yiwang.geo.models import Grid, Region
from yiwang.org.models import Category, Unit

PLACE_FIELDS = ("id", "code", "name", "path")  # never the boundaries: big JSON, not needed here
LEVELS = ["city", "district", "street", "community", "grid"]
ASSESSMENT_LEVELS = ["street", "community", "grid", "unit"]
ACT_ON_LIMIT = 20
POINTS_LIMIT = 500
HOT_LIMIT = 10
TREND_DAYS = 30


def default_source():
    from yiwang.command import aggregates

    return aggregates


# --- time ----------------------------------------------------------------------------------------------------

def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


def _iso(value):
    return value.isoformat() if isinstance(value, dt.datetime | dt.date) else value


# --- who and where -------------------------------------------------------------------------------------------

def top_region_for(actor) -> Region:
    """The highest region whose cases the actor may view throughout (the root for the system and superusers)."""
    if actor is None or (getattr(actor, "is_superuser", False) and actor.is_active):
        found = Region.objects.filter(parent__isnull=True).order_by("path").first()
    else:
        paths = sorted((g.path for g in grants_for(actor).get(VIEW, []) if g.kind == REGION), key=len)
        found = Region.objects.filter(path=paths[0]).first() if paths else None
    if found is None:
        raise NotFound()
    return found


def place_for(*, actor, code: str | None, grids: bool):
    """The region (or, with `grids`, the grid) of that code; without a code, the highest region the actor
    watches. Scope is the selectors' to check."""
    code = (code or "").strip()
    if not code:
        return top_region_for(actor)
    found = Region.objects.filter(code=code).first()
    if found is None and grids:
        found = Grid.objects.filter(code=code).first()
    if found is None:
        raise NotFound()
    return found


def crumbs(actor, place: Region | Grid) -> list:
    """The drill-down path to `place`: its ancestor regions the actor may view (a leader's chain starts at
    their own region), then the place itself."""
    from yiwang.org.selectors import ancestor_paths

    above = [p for p in ancestor_paths(place.path) if p != place.path]
    ancestors = Region.objects.filter(path__in=above).order_by("path").only("code", "name", "path")
    return [*(r for r in ancestors if _may_view(actor, path=r.path)), place]


def urged(case_ids: list[int]) -> dict[int, dict]:
    """How often each case was urged (催办), and when last: {case id: {"times", "last"}}."""
    from django.db.models import Count, Max

    from yiwang.cases.choices import SuperviseAction
    from yiwang.cases.models import CaseSupervision

    rows = (CaseSupervision.objects.filter(case_id__in=case_ids, action=SuperviseAction.URGE)
            .values("case_id").annotate(times=Count("id"), last=Max("created_at")))
    return {row["case_id"]: row for row in rows}


def _check(actor, region: Region) -> None:
    if not _may_view(actor, path=region.path):
        raise NotFound()


def _children(region, *extra: str) -> tuple[str | None, list]:
    if isinstance(region, Grid):
        return None, []
    if region.level == RegionLevel.COMMUNITY:
        return "grid", list(Grid.objects.filter(community=region).order_by("path")
                            .only(*PLACE_FIELDS, "community", *extra))
    level = LEVELS[LEVELS.index(region.level) + 1]
    return level, list(Region.objects.filter(parent=region).order_by("path")
                       .only(*PLACE_FIELDS, "level", "parent", *extra))


def map_shapes(place: Region | Grid) -> dict:
    """The polygons the wall's map draws: the place's outline and its children's areas by code, simplified
    together (an area without a stored boundary is left out)."""
    from yiwang.geo.geometry import simplified

    _level, children = _children(place, "boundary")
    outline, *areas = simplified([place.boundary, *(child.boundary for child in children)])
    return {"outline": outline,
            "areas": {child.code: area for child, area in zip(children, areas, strict=True) if area is not None}}


def _level_of(node) -> str:
    return "grid" if isinstance(node, Grid) else node.level


def _peer_sets(nodes: list) -> dict[str, list[str] | None]:
    """Each node's peers' paths, itself included (yiwang.cases.measures); None for a root region. Two reads."""
    grids = {n.community_id for n in nodes if isinstance(n, Grid)}
    parents = {n.parent_id for n in nodes if not isinstance(n, Grid) and n.parent_id is not None}
    by_community: dict = {}
    for community, path in Grid.objects.filter(community_id__in=grids).values_list("community_id", "path"):
        by_community.setdefault(community, []).append(path)
    by_parent: dict = {}
    for parent, path in Region.objects.filter(parent_id__in=parents).values_list("parent_id", "path"):
        by_parent.setdefault(parent, []).append(path)
    return {n.path: (by_community.get(n.community_id, []) if isinstance(n, Grid)
                     else None if n.parent_id is None else by_parent.get(n.parent_id, [])) for n in nodes}


# --- measures from counts ------------------------------------------------------------------------------------

def build_measures(subject: Subject, counts: dict, peers_filed_max: int, start, end, until) -> Measures:
    """measures.py's rates, filed score, area score and grade, from the counts."""
    counts = {name: counts[name] for name in COUNTS}
    peers_filed_max = max(peers_filed_max, counts["filed"])
    filed_score = 1 - Fraction(counts["filed"], peers_filed_max) if peers_filed_max else Fraction(1)
    exact = {name: _ratio(counts[num], counts[den]) for name, (num, den, _zh) in RATES.items()}
    score = area_score(exact, filed_score)
    return Measures(
        subject=subject, period_start=start, period_end=end, as_of=until, counts=counts,
        rates={name: None if value is None else float(value) for name, value in exact.items()},
        peers_filed_max=peers_filed_max, filed_score=float(filed_score), score=score, grade=grade_for(score))


@dataclass(frozen=True, slots=True)
class UnitRow:
    """What the rankings need of a unit (read as plain values: model instances cost more than the figures)."""

    pk: int
    code: str
    name: str
    kind: str
    region_id: int | None
    region_path: str


def _subject(node) -> Subject:
    kind = "unit" if isinstance(node, UnitRow) else "grid" if isinstance(node, Grid) else "region"
    return Subject(kind, node.pk, node.code, node.name)


def _node_measures(nodes: list, start, end, until, source, memo) -> dict[str, Measures]:
    """The measures of several regions/grids at once: their counts and their peers' filings in few reads."""
    peer_sets = _peer_sets(nodes)
    wanted = {node.path for node in nodes} | {p for peers in peer_sets.values() if peers for p in peers}
    counts = source.node_counts(sorted(wanted), start, until, memo=memo)
    out = {}
    for node in nodes:
        peers = peer_sets[node.path]
        peers_max = max((counts[p]["filed"] for p in peers), default=0) if peers else 0
        out[node.path] = build_measures(_subject(node), counts[node.path], peers_max, start, end, until)
    return out, counts


def _units_under(path: str, start, until, source, memo) -> tuple[list[UnitRow], list[UnitRow]]:
    """The units located in the subtree that led a case with a figure in the period (a unit with none has
    nothing to rank), and every unit that did (their peers)."""
    active = source.active_units(start, until, memo=memo)
    every = [UnitRow(*row) for row in Unit.objects.filter(pk__in=active).order_by("code")
             .values_list("id", "code", "name", "kind", "region_id", "region_path")]
    return [u for u in every if u.region_path.startswith(path)], every


def _unit_measures(units: list[UnitRow], active_units: list[UnitRow], start, end, until, source,
                   memo) -> dict[int, Measures]:
    """The units' measures, with their peers' filings (a peer that led no case filed nothing)."""
    peer_ids: dict[tuple, list[int]] = {}
    for unit in active_units:
        peer_ids.setdefault((unit.kind, unit.region_id), []).append(unit.pk)
    wanted = {u.pk for u in units} | {pk for ids in peer_ids.values() for pk in ids}
    counts = source.unit_counts(sorted(wanted), start, until, memo=memo)
    out = {}
    for unit in units:
        if not any(counts[unit.pk][name] for name in COUNTS):
            continue
        peers_max = max((counts[pk]["filed"] for pk in peer_ids.get((unit.kind, unit.region_id), [])), default=0)
        out[unit.pk] = build_measures(_subject(unit), counts[unit.pk], peers_max, start, end, until)
    return out


def _measures_dict(measures: Measures) -> dict:
    return {key: _iso(value) for key, value in measures.as_dict().items()}


# --- the overview --------------------------------------------------------------------------------------------

def overview(*, actor, region: Region | Grid, now: dt.datetime | None = None, source=None) -> dict:
    """The state of a region's subtree (or of one grid) at a glance (see the module docstring);
    JSON-serialisable. A grid has no children: its map and child rankings are empty."""
    _check(actor, region)
    source = source or default_source()
    now = now or clock.now()
    today = timezone.localdate(now)
    day_start = local_midnight(today)
    month_start, month_end = month_bounds(today.year, today.month)
    until = max(month_start, min(month_end, now))
    children_level, children = _children(region)

    memo = source.Memo()
    own, counts = _node_measures([region, *children], month_start, month_end, until, source, memo)
    today_counts = source.node_counts(sorted(counts), day_start, max(day_start, now), memo=memo)[region.path]
    root = region.path.split("/", 1)[0] + "/"
    states = source.open_state(sorted({root, region.path, *[c.path for c in children]}), now, memo=memo)
    state = states[region.path]

    def period(c):
        return {"reported": c["reported"], "filed": c["filed"], "closed": c["closings"],
                "overdue": state["overdue"], "supervised": state["supervised"]}

    days = [today - dt.timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    trend = source.daily(region.path, days, memo=memo)

    categories = source.mix(region.path, month_start, until, "category", memo=memo)
    top = sorted(categories.items(), key=lambda item: (-item[1], item[0]))[:HOT_LIMIT]
    names = {c.pk: c for c in Category.objects.filter(pk__in=[pk for pk, _n in top])}
    channels = source.mix(region.path, month_start, until, "channel", memo=memo)

    child_rows = []
    for child in children:
        m = own[child.path]
        child_rows.append({
            "code": child.code, "name": child.name, "level": children_level, "path": child.path,
            "score": m.score, "grade": m.grade, "reported": m.counts["reported"],
            "closed_rate": m.rates["closed_rate"], "closed_on_time_rate": m.rates["closed_on_time_rate"],
            "open": states[child.path]["open"], "overdue": states[child.path]["overdue"],
        })
    units, active = _units_under(region.path, month_start, until, source, memo)
    unit_measures = _unit_measures(units, active, month_start, month_end, until, source, memo)
    unit_rows = [
        {"id": u.pk, "code": u.code, "name": u.name, "score": m.score, "grade": m.grade,
         "reported": m.counts["reported"], "closed_on_time_rate": m.rates["closed_on_time_rate"],
         "due_handle": m.counts["due_handle"], "handled_on_time_rate": m.rates["handled_on_time_rate"]}
        for u in units if (m := unit_measures.get(u.pk)) is not None
    ]

    return {
        "region": {"code": region.code, "name": region.name, "level": _level_of(region), "path": region.path},
        "children_level": children_level,
        "today": period(today_counts),
        "month": period(counts[region.path]),
        "measures": _measures_dict(own[region.path]),
        "trend": [{"day": day.isoformat(), "reported": trend[day]["reported"], "closed": trend[day]["closings"]}
                  for day in days],
        "hot_categories": [{"code": names[pk].code, "name": names[pk].name, "count": n}
                           for pk, n in top if pk in names],
        "channels": [{"channel": value, "label": str(label), "count": channels.get(value, 0)}
                     for value, label in Channel.choices],
        "rankings": {
            "children": sorted(child_rows, key=lambda r: (-r["score"], r["path"])),
            # a unit with cases due ranks above one with nothing due yet at the same score
            "units": sorted(unit_rows, key=lambda r: (-r["score"], -r["due_handle"], r["code"])),
        },
        "map": [{key: row[key] for key in ("code", "name", "level", "path", "open", "overdue", "score", "grade")}
                for row in child_rows],
        "act_on": act_on(region, now, state["open"], states[root]["open"]),
        "points": points(region, now, state["open"], states[root]["open"]),
        "as_of": now.isoformat(),
    }


# A subtree holding at least this share of all open cases finds its first rows early along the open cases' own
# indexes (case_open_latest, case_open_due: they hold just the open cases, with every column read here, so each
# step is an index entry, not a table row): at most ~limit × OPEN_SHARE entries. A smaller subtree reads its own
# (status, path) index, which holds just its open cases.
OPEN_SHARE = 50


def _along_open_index(open_count: int | None, all_open: int | None) -> bool:
    return open_count is None or all_open is None or open_count * OPEN_SHARE >= all_open


def _open_along(index: str, path: str, select: str, select_params: list, where: str, where_params: list,
                order: str, limit: int) -> list[tuple]:
    """The first `limit` open cases of the subtree along the index, in its order."""
    q = connection.ops.quote_name
    table, open_condition = open_cases_sql(index)
    conditions, params = [open_condition, where], [*select_params, *where_params]
    if "/" in path[:-1]:  # not the root: everything is under the root
        conditions.append(f"SUBSTR({q('region_path')}, 1, %s) = %s")
        params += [len(path), path]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {table} WHERE {' AND '.join(conditions)} ORDER BY {order} "
                       f"LIMIT {int(limit)}", params)
        return cursor.fetchall()


def act_on(region, now: dt.datetime, open_count: int | None = None, all_open: int | None = None) -> list[dict]:
    """Open cases that are overdue (red) or supervised, most overdue first, then the supervised by deadline."""
    q = connection.ops.quote_name
    base = Case.objects.filter(region_path__under=region.path, status__in=OPEN)
    if _along_open_index(open_count, all_open):
        ids = [row[0] for row in _open_along(
            "case_open_due", region.path, q("id"), [], f"{q('due_at')} < %s",
            [connection.ops.adapt_datetimefield_value(now)], f"{q('due_at')}, {q('id')}", ACT_ON_LIMIT)]
    else:
        ids = list(base.filter(due_at__lt=now).order_by("due_at", "id").values_list("id", flat=True)[:ACT_ON_LIMIT])
    if len(ids) < ACT_ON_LIMIT:
        ids += list(base.filter(supervised=True).filter(Q(due_at__gte=now) | Q(due_at__isnull=True))
                    .order_by("due_at", "id").values_list("id", flat=True)[:ACT_ON_LIMIT - len(ids)])
    fields = ("id", "number", "supervised", "due_at", "warn_at", "status", "category__name", "region__name",
              "grid__name")
    cases = {row["id"]: row for row in Case.objects.filter(pk__in=ids).order_by().values(*fields)}
    return [{
        "id": case["id"], "number": case["number"], "light": light_of(SimpleNamespace(**case), now),
        "supervised": case["supervised"], "category": case["category__name"] or "",
        "region": case["grid__name"] or case["region__name"], "due_at": _iso(case["due_at"]), "status": case["status"],
    } for case in (cases[pk] for pk in ids)]


def points(region, now: dt.datetime | None = None, open_count: int | None = None,
           all_open: int | None = None) -> list[dict]:
    """The latest open cases with a position, with their lights (worked out by the database: no times to
    parse for 500 rows)."""
    now = now or clock.now()
    if _along_open_index(open_count, all_open):
        q = connection.ops.quote_name
        at = connection.ops.adapt_datetimefield_value(now)
        rows = _open_along(
            "case_open_latest", region.path,
            f"{q('id')}, {q('lat')}, {q('lon')}, CASE WHEN {q('due_at')} IS NULL THEN NULL WHEN {q('due_at')} < %s "
            f"THEN %s WHEN {q('warn_at')} <= %s THEN %s ELSE %s END", [at, Light.RED, at, Light.YELLOW, Light.GREEN],
            f"{q('lat')} IS NOT NULL", [], f"{q('reported_at')} DESC, {q('id')} DESC", POINTS_LIMIT)
    else:
        light = DbCase(When(due_at__isnull=True, then=Value(None)), When(due_at__lt=now, then=Value(Light.RED)),
                       When(warn_at__lte=now, then=Value(Light.YELLOW)), default=Value(Light.GREEN),
                       output_field=CharField())
        rows = (Case.objects.filter(region_path__under=region.path, status__in=OPEN, lat__isnull=False)
                .annotate(light=light).order_by("-reported_at", "-id").values_list("id", "lat", "lon", "light")
                [:POINTS_LIMIT])
    return [{"id": row[0], "lat": row[1], "lon": row[2], "light": row[3]} for row in rows]


# --- the monthly assessment ------------------------------------------------------------------------------------

def assessment(*, actor, region: Region, year: int, month: int, level: str, now: dt.datetime | None = None,
               source=None) -> list[dict]:
    """一月一考核: one row per street, community or grid of the region's subtree, or per unit located in it
    that led a case counted in the month, with the month's counts, rates, score and grade, best first."""
    if level not in ASSESSMENT_LEVELS:
        raise invalid(gettext("Choose street, community, grid or unit."), "level_invalid", "level")
    _check(actor, region)
    source = source or default_source()
    now = now or clock.now()
    start, end = month_bounds(year, month)
    until = max(start, min(end, now))
    memo = source.Memo()
    if level == "unit":
        subjects, active = _units_under(region.path, start, until, source, memo)
        measures = _unit_measures(subjects, active, start, end, until, source, memo)
        rows = [(u.code, u.name, u.region_path, measures[u.pk]) for u in subjects if u.pk in measures]
    else:
        if level == "grid":
            subjects = list(Grid.objects.filter(path__under=region.path).order_by("path")
                            .only(*PLACE_FIELDS, "community"))
        else:
            subjects = list(Region.objects.filter(path__under=region.path, level=level).order_by("path")
                            .only(*PLACE_FIELDS, "level", "parent"))
        measures, _counts = _node_measures(subjects, start, end, until, source, memo) if subjects else ({}, {})
        rows = [(s.code, s.name, s.path, measures[s.path]) for s in subjects]
    out = [{"code": code, "name": name, "path": path, **m.counts, **m.rates, "score": m.score, "grade": m.grade}
           for code, name, path, m in rows]
    return sorted(out, key=lambda r: (-r["score"], r["path"], r["code"]))


def region_month(*, actor, region: Region | Grid, year: int, month: int, now: dt.datetime | None = None,
                 source=None) -> Measures:
    """One region's (or grid's) own measures for a calendar month, from the same counts as the assessment's
    rows: the monthly report's summary."""
    _check(actor, region)
    source = source or default_source()
    now = now or clock.now()
    start, end = month_bounds(year, month)
    until = max(start, min(end, now))
    measures, _counts = _node_measures([region], start, end, until, source, source.Memo())
    return measures[region.path]
