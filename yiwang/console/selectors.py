"""Reads for the staff consoles, on top of yiwang.cases.selectors: which steps an actor may take on a case now,
the desk's queues, what the action forms offer, and the map's data. Nothing here writes."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.policies import UNIT, can, grants_for
from yiwang.cases.choices import OPEN, ExtensionDecision
from yiwang.cases.choices import Status as S
from yiwang.cases.models import Case, CaseExtension, CaseHandler
from yiwang.cases.policies import TRANSITIONS
from yiwang.cases.selectors import CaseFilters, case_list_for, light_of
from yiwang.org.models import Category, Unit
from yiwang.org.selectors import ancestor_paths, catalogue_for, category_list_for, responsible_unit_for

# The steps the consoles offer, in the order the action panel lists them. Verify, rework, self-handling and
# rating happen on the phone pages (grid workers, reporters).
CONSOLE_VERBS = ["accept", "file", "dispatch", "merge", "reject", "sign", "feedback", "return", "extend",
                 "approve_extension", "supervise", "escalate", "reopen", "reopen_deny", "rate_callback", "park", "resume",
                 "void"]


def case_actions_for(*, actor, case: Case) -> list[str]:
    """The steps the actor may take on the case now, by the transition table (state, permission, scope) and
    the guards a service would check first. The service still decides when the step is taken."""
    # The services' own scope check, so the console and the service never disagree on who may.
    from yiwang.cases.services import actor_holds

    pending = None
    allowed = []
    for verb in CONSOLE_VERBS:
        transition = TRANSITIONS[verb]
        if case.status not in transition.sources or not actor_holds(actor, transition.perm, case, transition.scopes):
            continue
        if verb in ("extend", "approve_extension"):
            if pending is None:
                pending = CaseExtension.objects.filter(case=case, decision=ExtensionDecision.PENDING).exists()
            if pending != (verb == "approve_extension"):
                continue
        if verb in ("reopen", "reopen_deny") and not case.reopen_requested:
            continue
        if verb == "rate_callback" and case.reporter_id:  # the reporter rates it in the app
            continue
        if verb == "escalate" and case.level.parent_id is None:
            continue
        if verb in ("sign", "feedback", "return", "extend") and not case.lead_unit_id:
            continue
        allowed.append(verb)
    return allowed


# --- the desk's queues ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Queue:
    code: str
    label: str
    statuses: tuple
    perm: str


QUEUES = [
    Queue("new", _("New reports"), (S.REPORTED,), "cases.accept_case"),
    Queue("accepted", _("To file"), (S.ACCEPTED,), "cases.file_case"),
    Queue("dispatch", _("To dispatch"), (S.FILED,), "cases.dispatch_case"),
    Queue("returned", _("Returned"), (S.RETURNED,), "cases.dispatch_case"),
    Queue("extensions", _("Extension requests"), (), "cases.approve_extension_case"),
    # Rated unsatisfied, with the reporter asking for the case to be handled again (重办申请).
    Queue("reopen", _("Reopen requests"), (), "cases.reopen_case"),
    # Closed, reported without an account (hotline, patrol, import): the desk calls the citizen back (回访).
    Queue("callback", _("Return calls"), (), "cases.accept_case"),
]
QUEUE_BY_CODE = {q.code: q for q in QUEUES}
QUEUE_OF_STATUS = {status: q.code for q in QUEUES for status in q.statuses}


def queues_for(actor) -> list[Queue]:
    """The queues whose step the actor may take somewhere."""
    return [q for q in QUEUES if can(actor, q.perm)]


def queue_cases(*, actor, code: str, now: dt.datetime) -> QuerySet:
    """A queue's cases, oldest first: the desk works first in, first out."""
    if code == "extensions":
        pending = CaseExtension.objects.filter(decision=ExtensionDecision.PENDING).values("case")
        queryset = case_list_for(actor=actor, now=now).filter(pk__in=pending)
    elif code == "callback":
        queryset = case_list_for(actor=actor, filters=CaseFilters(status=[S.CLOSED]), now=now) \
            .filter(reporter__isnull=True)
    elif code == "reopen":
        queryset = case_list_for(actor=actor, filters=CaseFilters(status=[S.RATED]), now=now) \
            .filter(reopen_requested=True)
    else:
        queryset = case_list_for(actor=actor, filters=CaseFilters(status=list(QUEUE_BY_CODE[code].statuses)),
                                 now=now)
    return queryset.order_by("reported_at", "id")


def queue_counts(*, actor, queues: list[Queue], now: dt.datetime) -> dict[str, int]:
    counts = {}
    visible = case_list_for(actor=actor, now=now)
    by_status = dict(visible.filter(status__in=[s for q in queues for s in q.statuses]).order_by()
                     .values_list("status").annotate(n=Count("id")))
    for queue in queues:
        if not queue.statuses:  # extensions, reopen requests, return calls
            counts[queue.code] = queue_cases(actor=actor, code=queue.code, now=now).count()
        else:
            counts[queue.code] = sum(by_status.get(s, 0) for s in queue.statuses)
    return counts


def queue_after(queryset: QuerySet, case: Case) -> Case | None:
    """The case after `case` in a first-in-first-out queue (whether or not `case` is still in it)."""
    return queryset.filter(Q(reported_at__gt=case.reported_at) | Q(reported_at=case.reported_at, id__gt=case.pk)) \
        .first() or queryset.first()


# --- what the forms offer ------------------------------------------------------------------------------------

def categories_for(*, actor, case: Case) -> list[tuple[str, list[Category]]]:
    """The active subcategories of the catalogue that applies at the case's place, grouped by major category."""
    rows = category_list_for(actor=actor, catalogue=catalogue_for(path=case.region_path))
    groups: dict[str, list[Category]] = {}
    names: dict[str, str] = {}
    for category in rows:
        if category.parent_id is None:
            names[category.code] = f"{category.code} {category.name}"
        elif category.is_active:
            groups.setdefault(category.parent.code, []).append(category)
    return [(names.get(code, code), items) for code, items in sorted(groups.items())]


def dispatch_units_for(case: Case) -> QuerySet:
    """Units that may take the case: active ones over its place, or below the level that holds it (the rule
    the dispatch service checks)."""
    return (Unit.objects.filter(is_active=True)
            .filter(Q(region_path__in=ancestor_paths(case.region_path)) | Q(region_path__startswith=case.level_path))
            .order_by("region_path", "name"))


def last_return(case: Case) -> dict | None:
    """For a returned case: which unit sent it back, when and why (the journal's last return entry)."""
    if case.status != S.RETURNED:
        return None
    from yiwang.core.models import AuditEntry

    entry = (AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk), action="case.return")
             .order_by("-id").first())
    if entry is None:
        return None
    handler = CaseHandler.objects.filter(case=case, end_reason="returned").order_by("-ended_at", "-id").first()
    return {"unit": handler.unit if handler else None, "unit_name": (entry.after or {}).get("unit_name", ""),
            "at": entry.created_at, "reason": entry.reason, "actor": entry.actor_name}


def routing_for(case: Case) -> dict:
    """The unit the responsibility matrix suggests: the one recorded at filing, or — before filing — the
    matrix's answer now. A returned case is not offered again to the unit that just sent it back."""
    routing = dict(case.routing or {})
    returned = last_return(case)
    if returned and returned["unit"] is not None and routing.get("suggested_unit") == returned["unit"].pk:
        routing["returned_by_suggested"] = True
        routing["preselect"] = None
        return routing
    routing["preselect"] = routing.get("suggested_unit")
    if not routing.get("suggested_unit") and case.category_id:
        suggestion = responsible_unit_for(category=case.category, path=case.region_path)
        if suggestion is not None:
            routing.update(suggested_unit=suggestion.unit.pk, suggested_unit_name=suggestion.unit.name,
                           matched=suggestion.matched, live=True, preselect=suggestion.unit.pk)
    return routing


def handlers_of(case: Case) -> list[CaseHandler]:
    return list(CaseHandler.objects.filter(case=case).select_related("unit").order_by("-assigned_at", "-id"))


def pending_extension(case: Case) -> CaseExtension | None:
    return CaseExtension.objects.filter(case=case, decision=ExtensionDecision.PENDING) \
        .select_related("requested_by").first()


def units_of(actor) -> list[Unit]:
    """The units in which the actor handles cases (unit staff); every active unit for a superuser."""
    if getattr(actor, "is_superuser", False):
        return list(Unit.objects.filter(is_active=True).order_by("region_path", "name")[:200])
    ids = {g.unit_id for g in grants_for(actor).get("cases.handle_case", []) if g.kind == UNIT}
    return list(Unit.objects.filter(pk__in=ids).order_by("name"))


def open_statuses() -> list[str]:
    return sorted(OPEN)


# --- the map ---------------------------------------------------------------------------------------------

def map_data(case: Case) -> dict:
    """What the case's map draws: its point and its grid's boundary (the app's own data); base tiles only when
    a tile URL is configured (government intranets often have none)."""
    return {
        "point": [case.lat, case.lon] if case.lat is not None and case.lon is not None else None,
        "grid": case.grid.boundary if case.grid_id else None,
        "grid_name": case.grid.name if case.grid_id else "",
        "tiles": getattr(settings, "YIWANG_TILE_URL", "") or "",
        "attribution": getattr(settings, "YIWANG_TILE_ATTRIBUTION", "") or "",
    }


# --- the case list as a file ---------------------------------------------------------------------------------

class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    """A text cell a spreadsheet will not run as a formula (citizens write the descriptions)."""
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _local(at: dt.datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else ""


def cases_csv(queryset: QuerySet, now: dt.datetime) -> Iterator[str]:
    """The cases of a list as CSV text in the reader's language, streamed: number, status, light, urgency,
    category, description, grid or region, address, lead unit, channel, reported, deadline, supervised. No
    reporter contact. UTF-8 with a BOM, so Excel reads it."""
    from yiwang.cases.choices import Channel, Light
    from yiwang.org.choices import Urgency

    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([
        gettext("Case number"), gettext("Status"), gettext("Light"), gettext("Urgency"), gettext("Category"),
        gettext("Description"), gettext("Place"), gettext("Address"), gettext("Lead unit"), gettext("Channel"),
        gettext("Reported"), gettext("Due"), gettext("supervised")])
    statuses, lights = dict(S.choices), dict(Light.choices)
    urgencies, channels = dict(Urgency.choices), dict(Channel.choices)
    buffer = io.StringIO()
    for n, case in enumerate(queryset.iterator(chunk_size=2000), start=1):
        light = light_of(case, now)
        buffer.write(writer.writerow([
            case.number, statuses.get(case.status, case.status), lights.get(light, "") if light else "",
            urgencies.get(case.urgency, case.urgency), _cell(f"{case.category.code} {case.category.name}"
                                                           if case.category_id else ""),
            _cell(case.description), _cell(case.grid.name if case.grid_id else case.region.name),
            _cell(case.address), _cell(case.lead_unit.name if case.lead_unit_id else ""),
            channels.get(case.channel, case.channel), _local(case.reported_at), _local(case.due_at),
            gettext("yes") if case.supervised else ""]))
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer = io.StringIO()
    yield buffer.getvalue()
