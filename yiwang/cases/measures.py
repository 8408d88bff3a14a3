"""The measures of DESIGN §6 (综合评价): counts, rates, an area score and a grade for one region subtree, one
grid or one handling unit over a period.

A period is half-open, [period_start, period_end), and is cut at `now`: what has not happened yet is not
counted, so a deadline later this month is not "due" yet. Voided cases (作废) and merged duplicates (合并:
status "merged", or any case with a parent — a duplicate closed with its parent keeps the parent) are left
out of every count. A unit is measured on the cases it leads now or led last: a closed or voided case keeps
its lead unit; a returned or escalated one has none until it is dispatched again.

"应…数" are the cases whose *deadline* falls in the period, not the cases created in it. The deadlines are the
measured ones on the case (`respond_due_at`, `handle_due_at`, `close_due_at`): extensions, parking and a
leader's new deadline move them; rework and reopening do not.

| measure | name | counts the cases … |
|---|---|---|
| reported | 上报数 | reported in the period |
| patrol | 监督举报数 | of those, found by grid workers on patrol (channel "patrol") |
| accepted | 受理数 | accepted in the period |
| filed | 立案数 | filed in the period |
| due_handle | 应处置数 | whose handling deadline falls in the period |
| handled | 处置数 | of those, handled (or closed) |
| handled_on_time | 按期处置数 | of those, handled (or else closed) no later than the deadline |
| handled_late | 超期处置数 | of those, handled, but after the deadline |
| extended | 延期数 | of those, given more time at least once |
| due_close | 应结案数 | whose closing deadline falls in the period |
| closed | 结案数 | of those, closed |
| closed_on_time | 按期结案数 | of those, closed no later than the deadline |
| reworked | 返工数 | of those, sent back for rework at least once |
| resolved | 解决数 | of those, closed and not rated unsatisfied |
| due_respond | 应响应数 | whose response deadline falls in the period |
| responded_on_time | 按时响应数 | of those, answered (accepted, rejected, merged …) in time |
| rated | 评价数 | rated in the period |
| satisfied | 满意数 | of those, rated satisfied or basically satisfied |

Each rate is named after its numerator and is a float in 0–1, or None when its denominator is 0 (shown "—"):

| rate | name | = |
|---|---|---|
| patrol_rate | 监督举报率 | patrol / reported |
| filed_rate | 立案率 | filed / accepted |
| handled_rate, handled_on_time_rate | 处置率, 按期处置率 | … / due_handle |
| handled_late_rate, extended_rate | 超期处置率, 延期率 | … / due_handle |
| closed_rate, closed_on_time_rate, reworked_rate | 结案率, 按期结案率, 返工率 | … / due_close |
| responded_on_time_rate | 响应率 (the hotline's 三率) | responded_on_time / due_respond |
| resolved_rate | 解决率 | resolved / due_close |
| satisfied_rate | 满意率 | satisfied / rated |

The area score (0–100, one decimal, rounded half up) is
100 × (0.10·监督举报率 + 0.20·立案数得分 + 0.30·结案率 + 0.40·按期结案率), where 立案数得分 (filed_score) =
1 − filed / the most filed by any of the subject's peers, itself included (filing fewer problems than one's
peers is better; 1 when no peer filed anything). Peers: a region's siblings (a root region has none but
itself, so it scores 0 there as soon as it filed anything), a grid's fellow grids of its community, a unit's
fellow units of the same kind at the same region. A rate that is None counts as 1 in the score: nothing was
due, so nothing failed. The score is computed exactly from the counts and the grade is read from the rounded
score, so the two never disagree: A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, else E.

Two queries: one aggregate with a conditional count per measure, and one grouped count of the peers' filings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone
from django.utils.translation import gettext

from yiwang.accounts.policies import GRID, REGION, UNIT, grants_for
from yiwang.cases.choices import Channel, Rating, Status
from yiwang.cases.models import Case
from yiwang.core import clock
from yiwang.core.errors import NotFound, invalid

VIEW = "cases.view_case"

# name → Chinese name, in the order they are shown.
COUNTS = {
    "reported": "上报数", "patrol": "监督举报数", "accepted": "受理数", "filed": "立案数",
    "due_handle": "应处置数", "handled": "处置数", "handled_on_time": "按期处置数",
    "handled_late": "超期处置数", "extended": "延期数",
    "due_close": "应结案数", "closed": "结案数", "closed_on_time": "按期结案数", "reworked": "返工数",
    "resolved": "解决数", "due_respond": "应响应数", "responded_on_time": "按时响应数",
    "rated": "评价数", "satisfied": "满意数",
}
# rate → (numerator, denominator, Chinese name)
RATES = {
    "patrol_rate": ("patrol", "reported", "监督举报率"),
    "filed_rate": ("filed", "accepted", "立案率"),
    "handled_rate": ("handled", "due_handle", "处置率"),
    "handled_on_time_rate": ("handled_on_time", "due_handle", "按期处置率"),
    "handled_late_rate": ("handled_late", "due_handle", "超期处置率"),
    "extended_rate": ("extended", "due_handle", "延期率"),
    "closed_rate": ("closed", "due_close", "结案率"),
    "closed_on_time_rate": ("closed_on_time", "due_close", "按期结案率"),
    "reworked_rate": ("reworked", "due_close", "返工率"),
    "responded_on_time_rate": ("responded_on_time", "due_respond", "响应率"),
    "resolved_rate": ("resolved", "due_close", "解决率"),
    "satisfied_rate": ("satisfied", "rated", "满意率"),
}
# The area score's weights (DESIGN §6); "filed_score" is 立案数得分.
WEIGHTS = {"patrol_rate": Fraction(1, 10), "filed_score": Fraction(2, 10), "closed_rate": Fraction(3, 10),
           "closed_on_time_rate": Fraction(4, 10)}
GRADES = [(90, "A"), (75, "B"), (60, "C"), (40, "D")]
LOWEST_GRADE = "E"


@dataclasses.dataclass(frozen=True)
class Subject:
    kind: str  # "region", "grid" or "unit"
    id: int
    code: str
    name: str


@dataclasses.dataclass(frozen=True)
class Measures:
    subject: Subject
    period_start: dt.datetime
    period_end: dt.datetime
    as_of: dt.datetime  # the period counted up to: period_end, or now if that is earlier
    counts: dict[str, int]  # by the names of COUNTS
    rates: dict[str, float | None]  # by the names of RATES
    peers_filed_max: int  # the most cases any peer (the subject included) filed in the period
    filed_score: float  # 立案数得分, 0–1
    score: float  # 0–100, one decimal
    grade: str

    def as_dict(self) -> dict:
        return {
            "subject": dataclasses.asdict(self.subject),
            "period_start": self.period_start, "period_end": self.period_end, "as_of": self.as_of,
            **self.counts, **self.rates,
            "peers_filed_max": self.peers_filed_max, "filed_score": self.filed_score,
            "score": self.score, "grade": self.grade,
        }


def grade_for(score: float) -> str:
    for floor, grade in GRADES:
        if score >= floor:
            return grade
    return LOWEST_GRADE


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def area_score(rates: dict[str, Fraction | None], filed_score: Fraction) -> float:
    """The weighted sum, exact until it is rounded half up to one decimal; a rate that is None counts as 1."""
    parts = {**rates, "filed_score": filed_score}
    exact = 100 * sum(weight * (1 if parts[name] is None else parts[name])
                      for name, weight in WEIGHTS.items())
    rounded = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return float(rounded)


# --- who may see, and what the subject covers ---------------------------------------------------------------

def _parent_path(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return "/".join(parts[:-1]) + "/" if len(parts) > 1 else None


def _may_view(actor, *, path: str, unit=None) -> bool:
    """A region or grid: a view_case grant over its path. A unit: a grant in that unit, or a region grant over
    the unit's place. The actor covers the whole subject, so nothing is filtered further."""
    if actor is None or (getattr(actor, "is_superuser", False) and actor.is_active):
        return True
    for grant in grants_for(actor).get(VIEW, []):
        if unit is not None:
            if (grant.kind == UNIT and grant.unit_id == unit.pk) or (
                    grant.kind == REGION and unit.region_path.startswith(grant.path)):
                return True
        elif grant.kind in (REGION, GRID) and path.startswith(grant.path):
            return True
    return False


def _subject(*, region, grid, unit):
    """(Subject, the subject's cases, the peers' cases annotated with the `peer` their filings are grouped
    by — None for a root region, which has no peers)."""
    given = [x for x in (region, grid, unit) if x is not None]
    if len(given) != 1:
        raise invalid(gettext("Give exactly one of a region, a grid or a unit."), "subject_required")
    cases = Case.objects.all()
    if region is not None:
        parent = _parent_path(region.path)
        # A child's path is its parent's plus one code; cases held at the parent itself belong to no child.
        peers = (cases.filter(region_path__under=parent).exclude(region_path=parent)
                 .annotate(peer=Substr("region_path", 1, len(region.path))) if parent else None)
        return (Subject("region", region.pk, region.code, region.name),
                cases.filter(region_path__under=region.path), peers)
    if grid is not None:
        community = _parent_path(grid.path)
        peers = cases.filter(region_path__under=community, grid__isnull=False).annotate(peer=F("grid_id"))
        return Subject("grid", grid.pk, grid.code, grid.name), cases.filter(grid_id=grid.pk), peers
    peers = cases.filter(lead_unit__kind=unit.kind, lead_unit__region_id=unit.region_id).annotate(
        peer=F("lead_unit_id"))
    return Subject("unit", unit.pk, unit.code, unit.name), cases.filter(lead_unit_id=unit.pk), peers


def _counted(queryset):
    """Voided cases and merged duplicates count nowhere."""
    return queryset.exclude(status__in=[Status.VOIDED, Status.MERGED]).filter(parent__isnull=True)


# --- the measures -------------------------------------------------------------------------------------------

def measures_for(*, actor, period_start: dt.datetime, period_end: dt.datetime, region=None, grid=None,
                 unit=None, now: dt.datetime | None = None) -> Measures:
    """The measures of exactly one subject — a region (its subtree), a grid or a unit — over [period_start,
    period_end) cut at `now`. An actor who cannot view cases across the whole subject gets NotFound, exactly
    as if it did not exist."""
    if timezone.is_naive(period_start) or timezone.is_naive(period_end) or period_end <= period_start:
        raise invalid(gettext("The period must have a time zone and end after it starts."), "period_invalid")
    subject, cases, peers = _subject(region=region, grid=grid, unit=unit)
    place = unit.region_path if unit is not None else (region or grid).path
    if not _may_view(actor, path=place, unit=unit):
        raise NotFound()
    now = now or clock.now()
    until = max(period_start, min(period_end, now))

    def within(field: str) -> Q:
        return Q(**{f"{field}__gte": period_start, f"{field}__lt": until})

    reported, due_handle, due_close, due_respond = (
        within("reported_at"), within("handle_due_at"), within("close_due_at"), within("respond_due_at"))
    handled = due_handle & Q(done_at__isnull=False)
    closed = due_close & Q(closed_at__isnull=False)
    rated = within("rated_at")
    conditions = {
        "reported": reported,
        "patrol": reported & Q(channel=Channel.PATROL),
        "accepted": within("accepted_at"),
        "filed": within("filed_at"),
        "due_handle": due_handle,
        "handled": handled,
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
    }
    # Only rows with one of the measured times in the period can count; saying so lets the indexes help.
    any_time = (reported | within("accepted_at") | within("filed_at") | due_handle | due_close | due_respond
                | rated)
    counts = (
        _counted(cases).filter(any_time)
        .alias(done_at=Coalesce("handled_at", "closed_at"))  # handled, or closed without a separate feedback
        .aggregate(**{name: Count("pk", filter=condition) for name, condition in conditions.items()})
    )

    peers_filed_max = counts["filed"]
    if peers is not None:
        grouped = (_counted(peers).filter(within("filed_at")).order_by().values("peer")
                   .annotate(filed=Count("pk")).values_list("peer", "filed"))
        peers_filed_max = max([peers_filed_max, *(n for _key, n in grouped)])
    filed_score = 1 - Fraction(counts["filed"], peers_filed_max) if peers_filed_max else Fraction(1)

    exact = {name: _ratio(counts[num], counts[den]) for name, (num, den, _zh) in RATES.items()}
    score = area_score(exact, filed_score)
    return Measures(
        subject=subject, period_start=period_start, period_end=period_end, as_of=until, counts=counts,
        rates={name: None if value is None else float(value) for name, value in exact.items()},
        peers_filed_max=peers_filed_max, filed_score=float(filed_score), score=score, grade=grade_for(score),
    )


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """A calendar month in the platform's local time (settings.TIME_ZONE, Asia/Shanghai)."""
    if not 1 <= month <= 12:
        raise invalid(gettext("A month is 1 to 12."), "period_invalid", "month")
    local = timezone.get_default_timezone()
    start = dt.datetime(year, month, 1, tzinfo=local)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=local)
    return start, end


def measures_month(*, actor, year: int, month: int, region=None, grid=None, unit=None,
                   now: dt.datetime | None = None) -> Measures:
    """一月一考核: the measures of one calendar month in local time."""
    start, end = month_bounds(year, month)
    return measures_for(actor=actor, period_start=start, period_end=end, region=region, grid=grid, unit=unit,
                        now=now)
