"""The command centre's figures counted straight from the cases table with GROUP BY queries.

This is the reference the aggregates are checked against (`recount_aggregates --check`, the tests) and the
baseline `bench/dashboard.py` compares them with. It counts exactly what yiwang.cases.measures counts: the
same conditions, the same exclusions (voided, merged, any case with a parent), the same cut at `until`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, Substr, TruncDate
from django.utils import timezone

from yiwang.cases.choices import OPEN, Channel, Rating, Status
from yiwang.cases.measures import COUNTS
from yiwang.cases.models import Case

# Besides the measures: cases closed in the period (结案 by closed_at), for "today" and the trend.
EXTRA = ["closings"]
FIELDS = [*COUNTS, *EXTRA]


def counted(queryset):
    """Voided cases and merged duplicates count nowhere (as in yiwang.cases.measures)."""
    return queryset.exclude(status__in=[Status.VOIDED, Status.MERGED]).filter(parent__isnull=True)


def conditions(start: dt.datetime, until: dt.datetime) -> dict[str, Q]:
    def within(field: str) -> Q:
        return Q(**{f"{field}__gte": start, f"{field}__lt": until})

    reported, due_handle, due_close, due_respond = (
        within("reported_at"), within("handle_due_at"), within("close_due_at"), within("respond_due_at"))
    closed = due_close & Q(closed_at__isnull=False)
    rated = within("rated_at")
    return {
        "reported": reported,
        "patrol": reported & Q(channel=Channel.PATROL),
        "accepted": within("accepted_at"),
        "filed": within("filed_at"),
        "due_handle": due_handle,
        "handled": due_handle & Q(done_at__isnull=False),
        "handled_on_time": due_handle & Q(done_at__lte=F("handle_due_at")),
        "handled_late": due_handle & Q(done_at__gt=F("handle_due_at")),
        "extended": due_handle & Q(extension_count__gt=0),
        "due_close": due_close,
        "closed": closed,
        "closed_on_time": due_close & Q(closed_at__lte=F("close_due_at")),
        "reworked": due_close & Q(rework_count__gt=0),
        "resolved": closed & ~Q(rating=Rating.UNSATISFIED),
        "due_respond": due_respond,
        "responded_on_time": due_respond & Q(responded_at__lte=F("respond_due_at")),
        "rated": rated,
        "satisfied": rated & Q(rating__in=[Rating.SATISFIED, Rating.BASICALLY]),
        "closings": within("closed_at"),
    }


def _any(start, until) -> Q:
    q = Q()
    for field in ("reported_at", "accepted_at", "filed_at", "handle_due_at", "close_due_at", "respond_due_at",
                  "rated_at", "closed_at"):
        q |= Q(**{f"{field}__gte": start, f"{field}__lt": until})
    return q


# The figures that fall on a deadline's day, by the deadline.
DUE = {
    "handle_due_at": ["due_handle", "handled", "handled_on_time", "handled_late", "extended"],
    "close_due_at": ["due_close", "closed", "closed_on_time", "reworked", "resolved"],
    "respond_due_at": ["due_respond", "responded_on_time"],
}


def _grouped(queryset, key, start, until, *, due_only: bool = False) -> dict:
    """{key: figures}. `due_only`: just the deadline figures, one index range scan per deadline."""
    conds = conditions(start, until)
    if due_only:
        parts = [(Q(**{f"{column}__gte": start, f"{column}__lt": until}), names) for column, names in DUE.items()]
    else:
        parts = [(_any(start, until), FIELDS)]
    found: dict = {}
    for where, names in parts:
        rows = (counted(queryset).filter(where).alias(done_at=Coalesce("handled_at", "closed_at"))
                .annotate(key=key).order_by().values("key")
                .annotate(**{name: Count("pk", filter=conds[name]) for name in names}))
        for row in rows:
            found.setdefault(row.pop("key"), zero()).update(row)
    return found


def zero() -> dict[str, int]:
    return dict.fromkeys(FIELDS, 0)


def node_counts(nodes: list[str], start: dt.datetime, until: dt.datetime, *,
                due_only: bool = False, memo=None) -> dict[str, dict[str, int]]:
    """Counts per region subtree or grid (each given by its path) over [start, until)."""
    found = {node: zero() for node in nodes}
    if until <= start:
        return found
    by_length = defaultdict(list)
    for node in nodes:
        by_length[len(node)].append(node)
    for length, same in by_length.items():
        common = _common_prefix(same)
        rows = _grouped(Case.objects.filter(region_path__under=common), Substr("region_path", 1, length),
                        start, until, due_only=due_only)
        for key, row in rows.items():
            if key in found:
                found[key] = row
    return found


def _common_prefix(paths: list[str]) -> str:
    parts = [p.strip("/").split("/") for p in paths]
    common = []
    for codes in zip(*parts, strict=False):
        if len(set(codes)) != 1:
            break
        common.append(codes[0])
    return "/".join(common) + "/" if common else ""


def unit_counts(unit_ids: list[int], start: dt.datetime, until: dt.datetime, *,
                due_only: bool = False, memo=None) -> dict[int, dict[str, int]]:
    found = {pk: zero() for pk in unit_ids}
    if until <= start or not unit_ids:
        return found
    rows = _grouped(Case.objects.filter(lead_unit_id__in=unit_ids), F("lead_unit_id"), start, until,
                    due_only=due_only)
    for key, row in rows.items():
        found[key] = row
    return found


def active_units(start: dt.datetime, until: dt.datetime, *, memo=None) -> set[int]:
    """The units leading any counted case with a measured time in the period."""
    return set(counted(Case.objects.filter(lead_unit__isnull=False)).filter(_any(start, until)).order_by()
               .values_list("lead_unit_id", flat=True).distinct())


def open_state(nodes: list[str], now: dt.datetime, *, memo=None) -> dict[str, dict[str, int]]:
    """Open cases (not closed, rated, rejected, merged or voided) per node now, those past their running
    deadline (the red light), and those under supervision."""
    found = {node: {"open": 0, "overdue": 0, "supervised": 0} for node in nodes}
    by_length = defaultdict(list)
    for node in nodes:
        by_length[len(node)].append(node)
    for length, same in by_length.items():
        rows = (Case.objects.filter(region_path__under=_common_prefix(same), status__in=OPEN)
                .annotate(key=Substr("region_path", 1, length)).order_by().values("key")
                .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)),
                          supervised=Count("pk", filter=Q(supervised=True))))
        for row in rows:
            if row["key"] in found:
                found[row.pop("key")] = row
    return found


def overdue_since(nodes: list[str], since: dt.datetime, now: dt.datetime) -> dict[str, int]:
    """Open cases per node whose running deadline fell in [since, now) (an index range scan on due_at)."""
    found = dict.fromkeys(nodes, 0)
    if now <= since:
        return found
    by_length = defaultdict(list)
    for node in nodes:
        by_length[len(node)].append(node)
    for length, same in by_length.items():
        rows = (Case.objects.filter(region_path__under=_common_prefix(same), status__in=OPEN,
                                    due_at__gte=since, due_at__lt=now)
                .annotate(key=Substr("region_path", 1, length)).order_by().values("key").annotate(n=Count("pk")))
        for row in rows:
            if row["key"] in found:
                found[row["key"]] = row["n"]
    return found


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


def daily(node: str, days: list[dt.date], fields=("reported", "closings"), *, memo=None) -> dict[dt.date, dict]:
    """Per local day: cases reported and closed in the subtree (for the trend)."""
    start, until = local_midnight(days[0]), local_midnight(days[-1] + dt.timedelta(days=1))
    local = timezone.get_default_timezone()
    base = counted(Case.objects.filter(region_path__under=node))
    out = {day: dict.fromkeys(fields, 0) for day in days}
    for name, column in (("reported", "reported_at"), ("closings", "closed_at")):
        if name not in fields:
            continue
        rows = (base.filter(**{f"{column}__gte": start, f"{column}__lt": until})
                .annotate(day=TruncDate(column, tzinfo=local)).order_by().values("day").annotate(n=Count("pk")))
        for row in rows:
            out[row["day"]][name] = row["n"]
    return out


def mix(node: str, start: dt.datetime, until: dt.datetime, dimension: str, *, memo=None) -> dict:
    """Cases reported in [start, until) in the subtree, by category id or by channel."""
    rows = (counted(Case.objects.filter(region_path__under=node))
            .filter(reported_at__gte=start, reported_at__lt=until)
            .order_by().values(dimension).annotate(n=Count("pk")))
    return {row[dimension]: row["n"] for row in rows if row[dimension] is not None}


class Memo:
    """Nothing is shared between reads here: every figure is counted afresh."""
