"""The leader's phone view (领导手机端) and the monthly assessment pages (一月一考核).

`/command/m/` shows the overview of the command centre (yiwang.command.selectors.overview) for the leader's
area or a part of it, with the cases to act on, each supervised (督办) or urged (催办) with one tap through
`case_supervise`. `/command/assessment/` is the month's assessment table with its exports, and
`/command/assessment/print/` the printable monthly report. Sign-in is all a page asks for: the selectors and
the service enforce scope, so an area or case outside it answers 404 and a refused step changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from yiwang.accounts.policies import can
from yiwang.cases.choices import Status, SuperviseAction
from yiwang.cases.selectors import case_get_for, light_of
from yiwang.cases.services import case_supervise
from yiwang.command.api import month_of
from yiwang.command.selectors import (
    ACT_ON_LIMIT,
    ASSESSMENT_LEVELS,
    assessment,
    crumbs,
    overview,
    place_for,
    region_month,
    urged,
)
from yiwang.command.views import RATE_LABELS, percent
from yiwang.core import clock
from yiwang.core.errors import DomainError, NotFound, invalid
from yiwang.geo.models import Grid

LEVEL_NAMES = {"district": _("District"), "street": _("Street"), "community": _("Community"),
               "grid": _("Grid"), "unit": _("Unit")}
# The §6 rates a leader reads first: the three weighted in the area score, and satisfaction.
KEY_RATES = ["patrol_rate", "closed_rate", "closed_on_time_rate", "satisfied_rate"]
# The assessment's columns on screen and in print (the exports carry every count and rate).
KEY_COUNTS = ["reported", "filed", "due_close", "closed", "closed_on_time"]
# Their names in the user's language (measures.COUNTS holds the Chinese ones the exports use).
COUNT_LABELS = {"reported": pgettext_lazy("measure", "Reported"), "filed": pgettext_lazy("measure", "Filed"),
                "due_close": pgettext_lazy("measure", "Due to close"), "closed": pgettext_lazy("measure", "Closed"),
                "closed_on_time": pgettext_lazy("measure", "Closed on time")}
NEXT_LEVEL = {"street": "community", "community": "grid"}
LEADER_ACTIONS = {SuperviseAction.FLAG: _("Case %(n)s is now supervised."),
                  SuperviseAction.URGE: _("Case %(n)s was urged: whoever holds it has been told.")}
NOTE_MAX = 500


def leader_page(view):
    """Sign-in required; an area or a case outside the actor's scope is the 404 page."""
    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (NotFound, Http404):
            return render(request, "command/leader/404.html", status=404)
    return wrapped


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- the phone view ------------------------------------------------------------------------------------------

def _case_rows(rows: list[dict]) -> list[dict]:
    urged_by_case = urged([row["id"] for row in rows])
    return [{**row, "status_label": Status(row["status"]).label, "urged": urged_by_case.get(row["id"]),
             "due_at": dt.datetime.fromisoformat(row["due_at"]) if isinstance(row["due_at"], str) else row["due_at"]}
            for row in rows]


def _row_of(case, now) -> dict:
    """One case as the act-on list shows it (the shape of selectors.act_on)."""
    return {"id": case.pk, "number": case.number, "light": light_of(case, now), "supervised": case.supervised,
            "category": case.category.name if case.category_id else "",
            "region": case.grid.name if case.grid_id else case.region.name,
            "due_at": case.due_at, "status": case.status}


def _figures(actor, place) -> dict:
    data = overview(actor=actor, region=place)
    return {"data": data, "key_rates": [(RATE_LABELS[name], percent(data["measures"][name])) for name in KEY_RATES]}


def _phone_context(request, place, *, result: dict | None = None) -> dict:
    actor = request.user
    figures = _figures(actor, place)
    data = figures["data"]
    return {
        **figures, "place": place, "crumbs": crumbs(actor, place),
        "children_label": LEVEL_NAMES.get(data["children_level"] or "", ""),
        "cases": _case_rows(data["act_on"]), "may_supervise": can(actor, "cases.supervise_case"),
        "cases_more": len(data["act_on"]) >= ACT_ON_LIMIT,  # the list stops there: "20+"
        "result": result or {}, "region_code": data["region"]["code"],
        "as_of": dt.datetime.fromisoformat(data["as_of"]),
        "assessment_region": place.community.code if isinstance(place, Grid) else place.code,
    }


@leader_page
@require_GET
def phone(request):
    place = place_for(actor=request.user, code=request.GET.get("region"), grids=True)
    return render(request, "command/leader/phone.html", _phone_context(request, place))


def _back(region_code: str, pk: int) -> str:
    query = f"?{urlencode({'region': region_code})}" if region_code else ""
    return f"{reverse('command:leader')}{query}#case-{pk}"


@leader_page
@require_POST
def supervise(request, pk):
    """督办 / 催办 one case of the act-on list; the answer is the case's row again (htmx) or the page."""
    actor = request.user
    case = case_get_for(actor=actor, pk=pk)
    action = request.POST.get("action", "")
    region_code = "".join(ch for ch in request.POST.get("region", "") if ch.isalnum())[:20]
    try:
        if action not in LEADER_ACTIONS:
            raise invalid(gettext("Choose supervise or urge."), "supervise_action_invalid", "action")
        case_supervise(actor=actor, case=case.pk, action=action, note=request.POST.get("note", "")[:NOTE_MAX])
    except NotFound:
        raise
    except DomainError as error:
        result = {"id": case.pk, "ok": False, "message": str(error.message)}
        status = error.status
    else:
        result = {"id": case.pk, "ok": True, "message": str(LEADER_ACTIONS[action]) % {"n": case.number}}
        status = 200
        if not _is_htmx(request):
            messages.success(request, result["message"])
            return HttpResponseRedirect(_back(region_code, case.pk), status=303)
    if _is_htmx(request):
        case = case_get_for(actor=actor, pk=pk)
        context = {"case": _case_rows([_row_of(case, clock.now())])[0], "result": result,
                   "may_supervise": can(actor, "cases.supervise_case"), "region_code": region_code}
        if result["ok"]:  # the supervised count may have moved: the figures come along (out of band)
            with contextlib.suppress(NotFound):  # the area came from the form: it may not be the actor's
                context.update(_figures(actor, place_for(actor=actor, code=region_code, grids=True)), oob=True)
        return render(request, "command/leader/_answer.html", context, status=status)
    place = place_for(actor=actor, code=region_code, grids=True)
    return render(request, "command/leader/phone.html", _phone_context(request, place, result=result),
                  status=status)


# --- the monthly assessment ------------------------------------------------------------------------------------

MONTHS_OFFERED = 36  # the month picker's reach back; the address takes any month


def _months(shown: tuple[int, int] | None) -> list[tuple[str, str]]:
    """The month picker's choices, newest first, named in the user's language (2026年12月 / December 2026):
    this month and the MONTHS_OFFERED - 1 before it, and the month shown if it is older. A list rather than the
    browser's month input, which some browsers lack and which speaks the browser's language, not the page's."""
    today = timezone.localdate(clock.now())
    months = [divmod(today.year * 12 + today.month - 1 - back, 12) for back in range(MONTHS_OFFERED)]
    choices = [(year, month + 1) for year, month in months]
    if shown is not None and shown not in choices:
        choices = sorted([*choices, shown], reverse=True)
    return [(f"{year:04d}-{month:02d}", date_format(dt.date(year, month, 1), "YEAR_MONTH_FORMAT"))
            for year, month in choices]


def _assessment_context(request) -> tuple[dict, int]:
    actor = request.user
    params = request.GET
    region = place_for(actor=actor, code=params.get("region"), grids=False)
    level = params.get("level") or "street"
    error, status = "", 200
    try:
        year, month = month_of(params.get("month"))
    except DomainError as refused:
        error, status = str(refused.message), refused.status
        year, month = month_of("")
    summary = region_month(actor=actor, region=region, year=year, month=month)  # the scope check: 404
    rows = []
    if not error:
        try:
            rows = assessment(actor=actor, region=region, year=year, month=month, level=level)
        except DomainError as refused:
            error, status = str(refused.message), refused.status
    month_value = f"{year:04d}-{month:02d}"
    query = urlencode({"region": region.code, "month": month_value, "level": level})
    next_level = NEXT_LEVEL.get(level)
    table = [{
        "rank": rank, "code": row["code"], "name": row["name"], "score": row["score"], "grade": row["grade"],
        "drill": (f"?{urlencode({'region': row['code'], 'month': month_value, 'level': next_level})}"
                  if next_level else ""),
        "cells": [row[name] for name in KEY_COUNTS] + [percent(row[name]) for name in KEY_RATES],
    } for rank, row in enumerate(rows, 1)]
    context = {
        "region": region, "crumbs": crumbs(actor, region), "year": year, "month": month,
        "month_value": "" if error and params.get("month") else month_value,
        "months": _months(None if error and params.get("month") else (year, month)),
        "level": level, "levels": [(code, LEVEL_NAMES[code]) for code in ASSESSMENT_LEVELS],
        "error": error, "rows": table, "summary": summary, "query": query,
        "headers": [COUNT_LABELS[name] for name in KEY_COUNTS] + [RATE_LABELS[name] for name in KEY_RATES],
        "summary_counts": [(COUNT_LABELS[name], summary.counts[name]) for name in KEY_COUNTS],
        "summary_rates": [(RATE_LABELS[name], percent(summary.rates[name])) for name in KEY_RATES],
        "level_label": LEVEL_NAMES.get(level, ""),
        "csv": f"{reverse('v1:command-assessment-csv')}?{query}",
        "xlsx": f"{reverse('v1:command-assessment-xlsx')}?{query}",
        "print": f"{reverse('command:assessment-print')}?{query}",
        "generated": clock.now(),
    }
    return context, status


@leader_page
@require_GET
def assessment_page(request):
    context, status = _assessment_context(request)
    return render(request, "command/assessment/page.html", context, status=status)


@leader_page
@require_GET
def assessment_print(request):
    context, status = _assessment_context(request)
    return render(request, "command/assessment/print.html", context, status=status)
