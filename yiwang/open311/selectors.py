"""Reads for Open311 GeoReport v2: the services (the subcategories of the catalogue that applies), and the
public view of service requests (cases). A request read with an API key starts from what the key's service
user may see (its jurisdiction); without a key, the spec's reads are public and cover the installation, or the
`jurisdiction_id` region's subtree. Nothing here reads or returns reporters' names, phones or e-mails."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max, QuerySet
from django.utils import translation
from django.utils.translation import gettext

from yiwang.accounts.policies import restrict
from yiwang.cases.choices import OPEN, Status
from yiwang.cases.models import Case
from yiwang.core.errors import NotFound
from yiwang.core.models import AuditEntry
from yiwang.open311.models import ApiClient, Open311Request
from yiwang.org.choices import CatalogueStatus, LimitStep
from yiwang.org.models import Catalogue, Category
from yiwang.org.selectors import catalogue_for, category_limit, category_list_for
from yiwang.workcal.choices import LimitUnit

OPEN_STATUSES = sorted(OPEN)  # reported … handled (awaiting verification), parked
CLOSED_STATUSES = sorted(set(Status.values) - OPEN)  # closed, rated, rejected, merged, voided
MAX_RESULTS = 1000  # "first 1000 requests returned"
WINDOW = dt.timedelta(days=90)  # "a span of 90 days"


def open311_status(status: str) -> str:
    """Open while anything is still to be done (up to verification, parked included); closed once verified
    and closed, rated, or ended without handling (rejected, merged into another case, voided)."""
    return "open" if status in OPEN else "closed"


def localized(chinese: str, english: str) -> str:
    return english if english and (translation.get_language() or "").startswith("en") else chinese


# --- services -----------------------------------------------------------------------------------------------

def service_list(*, path: str) -> QuerySet:
    """The active subcategories of the catalogue that applies at `path` ("" for the national one), with their
    major category. The catalogue is public reference data for Open311, read as the system."""
    return (category_list_for(actor=None, catalogue=catalogue_for(path=path))
            .filter(parent__isnull=False, is_active=True).select_related("catalogue"))


def service_get(*, path: str, code: str) -> Category:
    category = service_list(path=path).filter(code=code).first()
    if category is None:
        raise NotFound(gettext("service_code %(code)s was not found.") % {"code": code[:32]},
                       code="service_not_found")
    return category


def services_changed_at() -> dt.datetime | None:
    """When the services last changed: the newest activation of an active catalogue (the discovery changeset)."""
    return Catalogue.objects.filter(status=CatalogueStatus.ACTIVE).aggregate(at=Max("activated_at"))["at"]


def _amount(amount: Decimal) -> str:
    return f"{Decimal(amount).normalize():f}"  # 1.00 → "1", 0.25 → "0.25"


def service_notice(category: Category | None, urgency: str = "", _cache: dict | None = None) -> str | None:
    """What the platform commits to for a request of this service: the handling time limit at the urgency (the
    category's default urgency when not given). None without a category."""
    if category is None:
        return None
    key = (category.pk, urgency)
    if _cache is not None and key in _cache:
        return _cache[key]
    amount, unit = category_limit(category=category, urgency=urgency, step=LimitStep.HANDLE)
    notice = gettext("To be handled within %(amount)s %(unit)s of being filed as a case.") % {
        "amount": _amount(amount), "unit": LimitUnit(unit).label}
    if _cache is not None:
        _cache[key] = notice
    return notice


# --- service requests ---------------------------------------------------------------------------------------

LISTED = ("category", "category__parent", "category__catalogue", "lead_unit", "parent", "open311")


def requests_visible(*, client: ApiClient | None, under: str | None = None) -> QuerySet:
    """The cases Open311 may show: with a key, those its service user may view (the jurisdiction); without,
    all of them (the spec's reads are public). `under` narrows to a region path's subtree."""
    queryset = Case.objects.select_related(*LISTED)
    if client is not None:
        queryset = restrict(queryset, actor=client.service_user, action="view")
    if under:
        queryset = queryset.filter(region_path__under=under)
    return queryset


@dataclass
class RequestFilters:
    numbers: list[str] | None = None  # overrides everything else, as the spec says
    service_codes: list[str] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    statuses: list[str] | None = None  # "open", "closed"


def request_list(*, client: ApiClient | None, under: str | None, filters: RequestFilters,
                 limit: int = MAX_RESULTS, offset: int = 0) -> list[Case]:
    """Newest first. The caller has settled the 90-day window (start and end both set) unless `numbers`."""
    queryset = requests_visible(client=client, under=under)
    if filters.numbers is not None:
        queryset = queryset.filter(number__in=filters.numbers[:MAX_RESULTS])
    else:
        if filters.service_codes:
            queryset = queryset.filter(category__code__in=filters.service_codes)
        if filters.start is not None:
            queryset = queryset.filter(reported_at__gte=filters.start)
        if filters.end is not None:
            queryset = queryset.filter(reported_at__lte=filters.end)
        wanted = set(filters.statuses or [])
        if wanted == {"open"}:
            queryset = queryset.filter(status__in=OPEN_STATUSES)
        elif wanted == {"closed"}:
            queryset = queryset.filter(status__in=CLOSED_STATUSES)
    return list(queryset.order_by("-reported_at", "-id")[offset:offset + limit])


def request_get(*, client: ApiClient | None, under: str | None, number: str) -> Case:
    case = requests_visible(client=client, under=under).filter(number=number).first()
    if case is None:
        raise NotFound(gettext("service_request_id %(id)s was not found.") % {"id": number[:40]},
                       code="request_not_found")
    return case


def token_get(*, client: ApiClient | None, under: str | None, token: str) -> Open311Request:
    row = Open311Request.objects.select_related("case").filter(
        token=token, case__in=requests_visible(client=client, under=under).values("pk")).first()
    if row is None:
        raise NotFound(gettext("token %(token)s was not found.") % {"token": token[:40]}, code="token_not_found")
    return row


@dataclass(frozen=True)
class Facts:
    updated_at: dt.datetime | None
    reason: str  # why it was rejected or voided (public in the case's timeline too)


def request_facts(cases: list[Case]) -> dict[int, Facts]:
    """Per case, from the journal in two queries: when it last changed, and the reason of a rejection or
    voiding."""
    ids = [str(case.pk) for case in cases]
    if not ids:
        return {}
    entries = AuditEntry.objects.filter(object_type="cases.case", object_id__in=ids)
    # A member of staff reading the reporter's contact is journaled too, but changes nothing.
    last = dict(entries.exclude(action="case.contact_read").values("object_id").annotate(at=Max("created_at"))
                .values_list("object_id", "at"))
    ended = [str(c.pk) for c in cases if c.status in (Status.REJECTED, Status.VOIDED)]
    reasons = {}
    if ended:
        for object_id, reason in (entries.filter(object_id__in=ended, action__in=["case.reject", "case.void"])
                                  .order_by("id").values_list("object_id", "reason")):
            reasons[object_id] = reason
    return {case.pk: Facts(updated_at=last.get(str(case.pk)), reason=reasons.get(str(case.pk), ""))
            for case in cases}


def status_notes(case: Case, facts: Facts) -> str:
    if case.status == Status.REJECTED:
        return gettext("Not accepted: %(reason)s") % {"reason": facts.reason}
    if case.status == Status.VOIDED:
        return gettext("Voided: %(reason)s") % {"reason": facts.reason}
    if case.status == Status.MERGED and case.parent_id:
        return gettext("Duplicate of request %(number)s, handled there.") % {"number": case.parent.number}
    if case.status in (Status.CLOSED, Status.RATED) and case.result:
        return case.result
    return str(Status(case.status).label)
