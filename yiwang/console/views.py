"""The staff consoles (desktop): the desk's inbox (accept, reject, merge, file, dispatch, returns and
extensions), case lists, the unit's cases, the leader's supervision list, and one page per case. Reads go
through the case selectors, every step through one case service (yiwang.console.actions); a case outside the
actor's scope answers 404, exactly like a missing one."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from yiwang.accounts.policies import can
from yiwang.cases.choices import OPEN, Light, Rating, SuperviseAction
from yiwang.cases.choices import Status as S
from yiwang.cases.models import Case, CaseDeadline, CaseSupervision
from yiwang.cases.policies import TRANSITIONS
from yiwang.cases.selectors import (
    CaseFilters,
    case_duplicates_for,
    case_filters_from,
    case_get_for,
    case_list_for,
    case_timeline,
    is_staff,
    light_of,
    light_q,
    may_see_contact,
)
from yiwang.cases.services import case_contact_read, mask_phone
from yiwang.console import selectors as sel
from yiwang.console.actions import STEPS
from yiwang.core import clock
from yiwang.core.errors import DomainError, NotFound
from yiwang.geo.models import Grid
from yiwang.media.selectors import attachments_for_cases
from yiwang.org.choices import Urgency
from yiwang.org.models import Unit
from yiwang.workcal.choices import LimitUnit

PAGE_SIZE = 50

# What the staff timeline calls each journal entry.
ENTRY_LABELS = {
    "report": _("Report received"), "accept": _("Accepted"), "reject": _("Rejected"), "merge": _("Merged"),
    "file": _("Filed"), "dispatch": _("Dispatched"), "sign": _("Signed for"), "return": _("Returned"),
    "feedback": _("Fed back"), "verify": _("Verified and closed"), "rework": _("Sent back for rework"),
    "rate": _("Rated"), "reopen": _("Reopened"), "self_handle": _("Handled on the spot"),
    "escalate": _("Escalated"), "extend": _("More time asked for"), "approve_extension": _("Extension decided"),
    "park": _("Parked"), "resume": _("Resumed"), "void": _("Voided"), "supervise": _("Supervised"),
    "deadline_warning": _("Deadline warning"), "deadline_breach": _("Deadline missed"),
    "contact_read": _("Reporter's contact viewed"), "outcome_from_parent": _("Closed with the case it joined"),
}


# Why a unit's work on a case ended (CaseHandler.end_reason).
END_REASONS = {"returned": _("returned"), "redispatched": _("dispatched elsewhere"), "escalated": _("escalated"),
               "closed": _("closed"), "voided": _("voided")}


def console_page(view):
    """Sign-in required; staff only (residents go to their own pages); a case out of scope is the 404 page."""
    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_staff(request.user):
            return redirect("web:home")
        try:
            return view(request, *args, **kwargs)
        except (NotFound, Http404):
            return render(request, "console/404.html", _nav(request, ""), status=404)
    return wrapped


def _nav(request, current: str) -> dict:
    actor = request.user
    return {"nav_current": current, "nav_inbox": bool(sel.queues_for(actor)), "nav_unit": bool(sel.units_of(actor)),
            "nav_leader": can(actor, "cases.supervise_case")}


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- where to start ------------------------------------------------------------------------------------------

@console_page
@require_GET
def home(request):
    actor = request.user
    if sel.queues_for(actor):
        return redirect("console:inbox")
    if sel.units_of(actor):
        return redirect("console:unit")
    if can(actor, "cases.supervise_case"):
        return redirect("console:leader")
    return redirect("console:cases")


# --- one case, shared by the inbox's panel and the case page ----------------------------------------------------

def _blank_forms(case: Case, routing: dict) -> dict:
    forms = {verb: {"values": {}, "errors": {}, "error": ""} for verb in STEPS}
    code = case.category.code if case.category_id else ""
    for verb in ("accept", "file"):
        forms[verb]["values"] = {"category": code, "urgency": case.urgency}
    suggested = routing.get("preselect")
    forms["dispatch"]["values"] = {"unit": str(suggested) if suggested else "", "assisting": []}
    forms["supervise"]["values"] = {"action": SuperviseAction.URGE}
    forms["extend"]["values"] = {"unit": LimitUnit.WORKING_DAYS}
    return forms


def _masked_name(name: str) -> str:
    return name[:1] + "*" * (len(name) - 1) if name else ""


def case_context(request, case: Case, *, forms: dict | None = None, reveal: bool = False) -> dict:
    actor = request.user
    now = clock.now()
    actions = sel.case_actions_for(actor=actor, case=case)
    routing = sel.routing_for(case)
    handlers = sel.handlers_of(case)
    for handler in handlers:
        handler.end_label = END_REASONS.get(handler.end_reason, handler.end_reason)
    attachments = attachments_for_cases(actor=actor, cases=[case])[case.pk]
    for attachment in attachments:
        attachment.step_label = ENTRY_LABELS.get(attachment.action, attachment.action)
    context = {
        "case": case, "now": now, "light": light_of(case, now), "actions": actions, "routing": routing,
        "forms": forms or _blank_forms(case, routing),
        "attachments": attachments,
        "handlers": handlers, "extension": sel.pending_extension(case),
        "returned": sel.last_return(case),
        "deadline_rows": list(CaseDeadline.objects.filter(case=case).order_by("started_at", "id")),
        "supervisions": list(CaseSupervision.objects.filter(case=case).select_related("leader").order_by("-id")[:20]),
        "map_data": sel.map_data(case),
        "may_see_contact": may_see_contact(actor, case) and bool(case.reporter_name or case.reporter_phone),
        "revealed": reveal,
        "reporter_name": case.reporter_name if reveal else _masked_name(case.reporter_name),
        "reporter_phone": case.reporter_phone if reveal else mask_phone(case.reporter_phone),
        "urgencies": Urgency.choices, "limit_units": LimitUnit.choices,
        "supervise_actions": SuperviseAction.choices, "ratings": Rating.choices,
    }
    if case.status in (S.REPORTED, S.ACCEPTED):
        context["duplicates"] = case_duplicates_for(actor=actor, category=case.category, lat=case.lat,
                                                    lon=case.lon, at=case.reported_at, exclude=case.pk)
    if {"accept", "file"} & set(actions):
        context["categories"] = sel.categories_for(actor=actor, case=case)
    if "dispatch" in actions:
        context["units"] = list(sel.dispatch_units_for(case))
    return context


def _timeline(actor, case):
    labels = dict(S.choices)
    return [{"entry": e, "label": ENTRY_LABELS.get(e.action, e.action), "status": labels.get(e.status, ""),
             # A step that needs a reason (reject, return …) gave one; any other (accept, dispatch …) a note.
             "reason_label": _("Reason") if getattr(TRANSITIONS.get(e.action), "needs_reason", False) else _("Note")}
            for e in reversed(case_timeline(actor=actor, case=case, public=False))]


@console_page
@require_GET
def case_detail(request, pk):
    case = case_get_for(actor=request.user, pk=pk)
    return _case_page(request, case)


def _case_page(request, case, *, forms=None, reveal=False, status=200):
    context = {**_nav(request, "cases"), **case_context(request, case, forms=forms, reveal=reveal),
               "timeline": _timeline(request.user, case), "next": request.get_full_path()}
    return render(request, "console/case.html", context, status=status)


@console_page
@require_POST
def case_contact(request, pk):
    """Shows the reporter's full contact data to those who call reporters back; the look is journaled."""
    case = case_get_for(actor=request.user, pk=pk)
    if not may_see_contact(request.user, case):
        raise NotFound()
    case_contact_read(actor=request.user, case=case)
    return _case_page(request, case, reveal=True)


# --- taking a step ----------------------------------------------------------------------------------------

def _values(step, data: QueryDict) -> dict:
    values = {name: data.get(name, "") for name in step.fields if name not in ("attachments", "assisting")}
    values["assisting"] = data.getlist("assisting")
    return values


def _refused(request, case, verb, step, error: DomainError):
    """The refusal next to its field, in the user's language, with everything typed kept: an htmx form gets
    only its error slots back (its inputs, files included, stay as they are); a plain form the whole page."""
    message = str(error.message)
    errors = {name: " ".join(str(m) for m in msgs) for name, msgs in (error.fields or {}).items()
              if name in step.fields}
    general = "" if errors else message
    if _is_htmx(request):
        slot = "".join(ch for ch in request.POST.get("slot", "") if ch.isalnum() or ch == "-")[:24]
        slots = [] if slot else [(name, errors.get(name, "")) for name in step.fields]
        return render(request, "console/_refused.html", {
            "verb": verb, "slot": slot, "slots": slots, "general": message if slot else general,
        }, status=error.status)
    forms = _blank_forms(case, sel.routing_for(case))
    forms[verb] = {"values": _values(step, request.POST), "errors": errors, "error": general}
    return _case_page(request, case, forms=forms, status=error.status)


def _safe(request, url: str) -> str:
    return url if url and url_has_allowed_host_and_scheme(url, {request.get_host()}) and url.startswith("/") else ""


def _after(request, case: Case) -> str:
    """Where the step leads: the inbox (with this case still selected if this person takes its next step, else
    the next case of the queue), or back to the page it came from, if the case is still in sight."""
    queue = request.POST.get("queue")
    if queue in sel.QUEUE_BY_CODE:
        return f"{reverse('console:inbox')}?queue={queue}&done={case.pk}"
    target = _safe(request, request.POST.get("next", ""))
    try:
        case_get_for(actor=request.user, pk=case.pk)
    except NotFound:  # escalated out of sight, say
        return target if target and f"/cases/{case.pk}/" not in target else reverse("console:cases")
    return target or reverse("console:case", args=[case.pk])


def _go(request, url: str):
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url, status=303)


@console_page
@require_POST
def case_act(request, pk, verb):
    step = STEPS.get(verb)
    if step is None:
        raise NotFound()
    case = case_get_for(actor=request.user, pk=pk)
    try:
        step.run(request.user, case, request.POST, request.FILES)
    except NotFound:
        raise
    except DomainError as error:
        return _refused(request, case, verb, step, error)
    messages.success(request, step.done_message(request.POST) % {"n": case.number})
    return _go(request, _after(request, case))


# --- the desk's inbox -------------------------------------------------------------------------------------

@console_page
@require_GET
def inbox(request):
    actor = request.user
    now = clock.now()
    queues = sel.queues_for(actor)
    if not queues:
        raise NotFound()
    code = request.GET.get("queue")
    queue = sel.QUEUE_BY_CODE.get(code) if code in {q.code for q in queues} else queues[0]
    cases = sel.queue_cases(actor=actor, code=queue.code, now=now)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    selected = None
    done = None
    if request.GET.get("done"):
        try:
            done = case_get_for(actor=actor, pk=request.GET["done"])
        except NotFound:  # the step took it out of sight: carry on with the queue
            done = None
    if done is not None:
        actions = sel.case_actions_for(actor=actor, case=done)
        if set(actions) & {"file", "dispatch"} and done.status in sel.QUEUE_OF_STATUS:
            # This person takes the case's next step too: stay on it, in its new queue.
            return redirect(f"{reverse('console:inbox')}?queue={sel.QUEUE_OF_STATUS[done.status]}&case={done.pk}")
        selected = sel.queue_after(cases, done)
        if selected is not None:
            return redirect(f"{reverse('console:inbox')}?queue={queue.code}&case={selected.pk}")
    elif request.GET.get("case"):
        selected = case_get_for(actor=actor, pk=request.GET["case"])
    elif page.object_list:
        selected = page.object_list[0]
    rows = list(page.object_list)
    context = {
        **_nav(request, "inbox"), "queues": queues, "queue": queue,
        "counts": sel.queue_counts(actor=actor, queues=queues, now=now), "page": page,
        "rows": [{"case": c, "light": light_of(c, now)} for c in rows], "selected": selected,
    }
    if selected is not None:
        context.update(case_context(request, selected))
        ids = [c.pk for c in rows]
        if selected.pk in ids:
            i = ids.index(selected.pk)
            context["prev_case"] = rows[i - 1] if i > 0 else None
            context["next_case"] = rows[i + 1] if i + 1 < len(rows) else None
    return render(request, "console/inbox.html", context)


# --- lists ---------------------------------------------------------------------------------------------------

STATUS_CHOICES = [("open", _("all open")), *S.choices]


def _params(request) -> dict:
    params = {k: v for k, v in request.GET.items() if k not in ("page",) and v}
    if params.get("status") == "open":
        params["status"] = ",".join(sorted(OPEN))
    if params.get("grid"):  # the list's own links give an id; a grid code (digits too) may be typed in
        grid = Grid.objects.filter(code=params["grid"].strip()).only("pk").first()
        if grid is not None:
            params["grid"] = str(grid.pk)
        elif not params["grid"].isdigit():
            params["grid"] = "0"
    return params


@console_page
@require_GET
def case_list(request):
    actor = request.user
    now = clock.now()
    error = ""
    try:
        filters = case_filters_from(_params(request))
    except DomainError as refused:
        error, filters = str(refused.message), CaseFilters()
    if request.GET.get("grid") and filters.grid is None:
        filters.grid = 0
    cases = case_list_for(actor=actor, filters=filters, now=now).order_by("due_at", "-reported_at", "-id") \
        if filters.light else case_list_for(actor=actor, filters=filters, now=now)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    unlit = CaseFilters(**{**filters.__dict__, "light": None})
    scoped = case_list_for(actor=actor, filters=unlit, now=now)
    light_counts = {light: scoped.filter(light_q(light, now)).count() for light in Light.values}
    visible = case_list_for(actor=actor, now=now).filter(status__in=OPEN)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **_nav(request, "cases"), "page": page, "error": error, "get": request.GET, "query": query.urlencode(),
        "rows": [{"case": c, "light": light_of(c, now)} for c in page.object_list],
        "light_counts": light_counts, "lights": Light.choices, "statuses": STATUS_CHOICES,
        "urgencies": Urgency.choices,
        "units": Unit.objects.filter(pk__in=visible.exclude(lead_unit=None).values("lead_unit")).order_by("name"),
        "grids": Grid.objects.filter(pk__in=visible.exclude(grid=None).values("grid")).order_by("code")[:500],
        "grid_chosen": Grid.objects.filter(pk=filters.grid).first() if filters.grid else None,
    }
    return render(request, "console/cases.html", context)


@console_page
@require_GET
def case_export(request):
    """The case list with the same filters, every page, as a CSV file in the reader's language."""
    actor = request.user
    now = clock.now()
    try:
        filters = case_filters_from(_params(request))
    except DomainError as refused:
        return HttpResponse(str(refused.message), status=400, content_type="text/plain; charset=utf-8")
    cases = case_list_for(actor=actor, filters=filters, now=now)
    language = translation.get_language()

    def stream():
        with translation.override(language):
            yield from sel.cases_csv(cases, now)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cases-{timezone.localdate(now):%Y%m%d}.csv"'
    return response


@console_page
@require_GET
def unit_cases(request):
    """Unit staff: the cases with their unit now — to sign for, in hand, handled — with one-click sign."""
    actor = request.user
    now = clock.now()
    units = sel.units_of(actor)
    if not units:
        raise NotFound()
    chosen = request.GET.get("unit", "")
    unit = next((u for u in units if str(u.pk) == chosen), units[0])
    tabs = [("dispatched", _("To sign for"), [S.DISPATCHED]), ("in_progress", _("In hand"), [S.IN_PROGRESS]),
            ("handled", _("Handled, awaiting check"), [S.HANDLED]), ("parked", _("Parked"), [S.PARKED])]
    tab = next((t for t in tabs if t[0] == request.GET.get("tab")), tabs[0])
    base = case_list_for(actor=actor, filters=CaseFilters(unit=unit.pk), now=now)
    counts = dict(base.order_by().values_list("status").annotate(n=Count("id", distinct=True)))
    cases = case_list_for(actor=actor, filters=CaseFilters(unit=unit.pk, status=tab[2]), now=now) \
        .order_by("due_at", "reported_at", "id")
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"case": c, "light": light_of(c, now), "actions": sel.case_actions_for(actor=actor, case=c)}
            for c in page.object_list]
    context = {**_nav(request, "unit"), "units": units, "unit": unit, "tabs": [
        {"code": code, "label": label, "count": sum(counts.get(s, 0) for s in statuses)}
        for code, label, statuses in tabs], "tab": tab[0], "page": page, "rows": rows,
        "query": urlencode({"unit": unit.pk, "tab": tab[0]})}
    return render(request, "console/unit.html", context)


@console_page
@require_GET
def leader(request):
    """Leaders: overdue (red) and supervised open cases in their area, urged with one click."""
    actor = request.user
    now = clock.now()
    if not can(actor, "cases.supervise_case"):
        raise NotFound()
    open_ = sorted(OPEN)
    tabs = {"overdue": CaseFilters(status=open_, light=Light.RED), "supervised": CaseFilters(status=open_, supervised=True)}
    tab = request.GET.get("tab") if request.GET.get("tab") in tabs else "overdue"
    counts = {code: case_list_for(actor=actor, filters=f, now=now).count() for code, f in tabs.items()}
    cases = case_list_for(actor=actor, filters=tabs[tab], now=now).order_by("due_at", "reported_at", "id")
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"case": c, "light": light_of(c, now), "actions": sel.case_actions_for(actor=actor, case=c)}
            for c in page.object_list]
    context = {**_nav(request, "leader"), "tab": tab, "counts": counts, "page": page, "rows": rows,
               "tabs": [("overdue", _("Overdue")), ("supervised", _("Supervised"))]}
    return render(request, "console/leader.html", context)
