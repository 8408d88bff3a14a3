"""Reads of cases. Every list starts from the actor's visible set (yiwang.accounts.policies.restrict)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext

from yiwang.accounts.policies import OWN, access, can, restrict
from yiwang.cases.choices import FINAL, Light, Status
from yiwang.cases.models import Case
from yiwang.cases.policies import PUBLIC_EVENTS, TRANSITIONS
from yiwang.core import clock
from yiwang.core.errors import invalid
from yiwang.core.models import AuditEntry
from yiwang.geo.models import Region

EARTH_RADIUS_M = 6_371_008.8
LISTED = ("category", "category__parent", "grid", "region", "level", "lead_unit")


def light_of(case: Case, now: dt.datetime) -> str | None:
    """Green in time, yellow past 80% of the allowed time, red overdue; None when no clock runs."""
    if case.due_at is None:
        return None
    if now > case.due_at:
        return Light.RED
    if case.warn_at is not None and now >= case.warn_at:
        return Light.YELLOW
    return Light.GREEN


def light_q(light: str, now: dt.datetime) -> Q:
    if light == Light.RED:
        return Q(due_at__lt=now)
    if light == Light.YELLOW:
        return Q(due_at__gte=now, warn_at__lte=now)
    return Q(due_at__gte=now) & (Q(warn_at__gt=now) | Q(warn_at__isnull=True))


@dataclass
class CaseFilters:
    status: list[str] | None = None
    category: str | None = None  # a subcategory or major category code
    under: str | None = None  # region path subtree
    grid: int | None = None
    unit: int | None = None
    urgency: str | None = None
    light: str | None = None
    channel: str | None = None
    supervised: bool | None = None
    reported_from: dt.datetime | None = None
    reported_to: dt.datetime | None = None
    number: str | None = None


def case_filters_from(params) -> CaseFilters:
    """A list's filters from query parameters (the API's and the console's): `status` (comma list), `category`,
    `region` (a code: its subtree), `grid`, `unit`, `urgency`, `light`, `channel`, `supervised`, `from`/`to`
    (ISO 8601), `number`. A bad value is refused with its field's code."""
    def boolean(name):
        value = params.get(name)
        return None if value in (None, "") else value.lower() in ("1", "true", "yes")

    def when(name):
        value = params.get(name)
        if not value:
            return None
        try:
            parsed = parse_datetime(value) or (dt.datetime.combine(parse_date(value), dt.time())
                                               if parse_date(value) else None)
        except ValueError:
            parsed = None
        if parsed is None:
            raise invalid(gettext("Not a date and time: %(v)s") % {"v": value}, "datetime_invalid", name)
        return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed

    under = None
    if params.get("region"):
        region = Region.objects.filter(code=params["region"]).only("path").first()
        under = region.path if region else "-nowhere-/"
    status = [s for s in (params.get("status") or "").split(",") if s]
    if any(s not in Status.values for s in status):
        raise invalid(gettext("Unknown status."), "status_invalid", "status")
    if params.get("light") and params["light"] not in Light.values:
        raise invalid(gettext("Unknown light."), "light_invalid", "light")
    return CaseFilters(
        status=status or None, category=params.get("category") or None, under=under,
        grid=int(params["grid"]) if params.get("grid", "").isdigit() else None,
        unit=int(params["unit"]) if params.get("unit", "").isdigit() else None,
        urgency=params.get("urgency") or None, light=params.get("light") or None,
        channel=params.get("channel") or None, supervised=boolean("supervised"),
        reported_from=when("from"), reported_to=when("to"), number=params.get("number") or None,
    )


def case_list_for(*, actor, filters: CaseFilters | None = None, now: dt.datetime | None = None) -> QuerySet:
    f = filters or CaseFilters()
    now = now or clock.now()
    queryset = restrict(Case.objects.select_related(*LISTED), actor=actor, action="view")
    if f.status:
        queryset = queryset.filter(status__in=f.status)
    if f.category:
        queryset = queryset.filter(Q(category__code=f.category) | Q(category__parent__code=f.category))
    if f.under:
        queryset = queryset.filter(region_path__under=f.under)
    if f.grid:
        queryset = queryset.filter(grid_id=f.grid)
    if f.unit:
        queryset = queryset.filter(handlers__unit_id=f.unit, handlers__ended_at__isnull=True).distinct()
    if f.urgency:
        queryset = queryset.filter(urgency=f.urgency)
    if f.light:
        queryset = queryset.filter(light_q(f.light, now))
    if f.channel:
        queryset = queryset.filter(channel=f.channel)
    if f.supervised is not None:
        queryset = queryset.filter(supervised=f.supervised)
    if f.reported_from:
        queryset = queryset.filter(reported_at__gte=f.reported_from)
    if f.reported_to:
        queryset = queryset.filter(reported_at__lt=f.reported_to)
    if f.number:
        queryset = queryset.filter(number=f.number)
    return queryset


def case_get_for(*, actor, pk) -> Case:
    return access(Case.objects.select_related(*LISTED, "parent"), actor=actor, action="view", pk=pk)


def may_see_contact(actor, case: Case) -> bool:
    """Reporters' names and phones are shown in full only to those who call reporters back (and the reporter)."""
    if actor is None:
        return True
    if case.reporter_id and case.reporter_id == actor.pk:
        return True
    return can(actor, "cases.view_contact_case") and restrict(
        Case.objects.filter(pk=case.pk), actor=actor, action="cases.view_contact_case").exists()


def is_staff(actor, case: Case | None = None) -> bool:
    """Whether the actor works cases — holds a case view grant beyond their own reports — anywhere, or over
    `case` (its place, the level holding it, or its lead unit)."""
    if actor is None or getattr(actor, "is_superuser", False):
        return True
    from yiwang.accounts.policies import GRID, OWN, REGION, UNIT, grants_for

    grants = [g for g in grants_for(actor).get("cases.view_case", []) if g.kind != OWN]
    if case is None:
        return bool(grants)
    return any(
        (g.kind in (REGION, GRID) and (case.region_path.startswith(g.path) or case.level_path.startswith(g.path)))
        or (g.kind == UNIT and case.lead_unit_id == g.unit_id)
        for g in grants)


def _distance_m(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def case_duplicates_for(*, actor, category, lat: float | None, lon: float | None, at: dt.datetime,
                        exclude: int | None = None, radius_m: float | None = None,
                        days: float | None = None, limit: int = 20) -> list[tuple[Case, float]]:
    """Open cases of the same subcategory within `radius_m` metres and `days` days before `at`, the `limit`
    nearest first —
    the cases a new report is probably a duplicate of. Staff see those in their scope; a resident (who may
    join an open case instead of reporting it again) is offered every open case nearby, and the API shows them
    only its public fields."""
    if category is None or lat is None or lon is None:
        return []
    radius_m = settings.YIWANG_DUPLICATE_RADIUS_M if radius_m is None else radius_m
    days = settings.YIWANG_DUPLICATE_DAYS if days is None else days
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
    visible = Case.objects.all() if not is_staff(actor) else restrict(Case.objects.all(), actor=actor, action="view")
    candidates = (
        visible.filter(category__code=category.code, lat__range=(lat - dlat, lat + dlat),
                       lon__range=(lon - dlon, lon + dlon), reported_at__gte=at - dt.timedelta(days=days),
                       reported_at__lte=at, parent__isnull=True)
        .exclude(status__in=[*FINAL, Status.CLOSED])
    )
    if exclude:
        candidates = candidates.exclude(pk=exclude)
    # Only what the answer shows is loaded: this runs on every new report.
    candidates = candidates.only("id", "number", "status", "description", "reported_at", "lat", "lon")
    found = [(case, _distance_m(lat, lon, case.lat, case.lon)) for case in candidates.order_by()[:200]]
    return sorted([(c, d) for c, d in found if d <= radius_m], key=lambda pair: pair[1])[:limit]


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    action: str
    text: str
    status: str | None
    actor: str  # "" for the public and for the system's own steps; for staff, who took the step (see _who)
    reason: str
    details: dict


def _public_text(action: str, after: dict, reason: str) -> str | None:
    verb = action.removeprefix("case.")
    template = TRANSITIONS[verb].public if verb in TRANSITIONS else PUBLIC_EVENTS.get(action, "")
    if not template:
        return None
    values = {
        "reason": reason, "parent": after.get("parent_number", ""), "unit": after.get("unit_name", ""),
        "result": after.get("result", ""), "level": after.get("level_name", ""), "number": after.get("number", ""),
    }
    return gettext(template) % values


def _who(entry: AuditEntry, case: Case) -> str:
    """Who took a step, as staff see it: a person holding an area, grid or unit role by name (and user name);
    a member of the public — who holds rights over their own records only — as the reporter or a resident,
    never by user name (a resident who signed in by phone has their phone number in it); "" for the system."""
    person = entry.actor
    if person is None:
        return ""
    if not (person.is_staff or person.is_superuser) and all(role[0] == OWN for role in entry.actor_roles or []):
        return gettext("the reporter") if person.pk == case.reporter_id else gettext("a resident")
    if person.real_name:
        return gettext("%(name)s (%(username)s)") % {"name": person.real_name, "username": person.username}
    return person.username


def case_timeline(*, actor, case: Case, public: bool | None = None) -> list[TimelineEntry]:
    """The case's journal as a timeline. The public part (what a reporter or anyone without staff rights
    sees) is the steps a citizen cares about, in plain words, without names; staff see every step. A report
    merged into another case also shows that case's steps after the merge: its outcome is theirs."""
    if public is None:
        public = not is_staff(actor, case)
    sources = [(case.pk, None)]
    if case.parent_id:
        merged_at = case.ended_at
        sources.append((case.parent_id, merged_at))
    condition = Q()
    for pk, since in sources:
        part = Q(object_type="cases.case", object_id=str(pk))
        if since is not None:
            part &= Q(created_at__gt=since)
            part &= ~Q(action__in=["case.report"])
        condition |= part
    entries = []
    for entry in AuditEntry.objects.filter(condition).select_related("actor").order_by("id"):
        after = entry.after or {}
        text = _public_text(entry.action, after, entry.reason)
        if public and text is None:
            continue
        if public and entry.object_id != str(case.pk) and entry.action in ("case.rate", "case.merge"):
            continue
        entries.append(TimelineEntry(
            at=entry.created_at, action=entry.action.removeprefix("case."),
            text=text or entry.action.removeprefix("case."), status=after.get("status"),
            actor="" if public else _who(entry, case), reason="" if public and entry.action != "case.reject"
            and entry.action != "case.void" else entry.reason,
            details={} if public else {k: v for k, v in after.items() if k not in ("reporter_phone",)},
        ))
    return entries
