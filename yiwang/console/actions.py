"""The doors from the console's action forms into the case services: each step parses its form and calls one
service. A refusal (yiwang.core.errors.DomainError) goes back to the form, next to its field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yiwang.cases import services
from yiwang.cases.choices import SuperviseAction
from yiwang.cases.models import Case
from yiwang.cases.selectors import CaseFilters, case_list_for
from yiwang.core.errors import invalid
from yiwang.media.processing import uploads_from
from yiwang.org.models import Unit
from yiwang.org.selectors import category_by_code


@dataclass(frozen=True)
class Step:
    label: str
    fields: tuple
    run: Callable
    done: str  # the message after it went through; %(n)s is the case number
    # (field, {value: message}): a message of its own for what the form chose (urge, approve …)
    done_by: tuple[str, dict] | None = None

    def done_message(self, data) -> str:
        if self.done_by is None:
            return self.done
        field, messages = self.done_by
        return messages.get(data.get(field), self.done)


def _category(data, case: Case):
    code = (data.get("category") or "").strip()
    if not code:
        return None
    category = category_by_code(path=case.region_path, code=code)
    if category is None:
        raise invalid(gettext("Unknown category: %(code)s") % {"code": code}, "category_invalid", "category")
    return category


def _unit(value, field: str, *, required: bool) -> Unit | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise invalid(gettext("Choose the unit to send the case to."), "unit_required", field)
        return None
    unit = Unit.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if unit is None:
        raise invalid(gettext("Unknown unit."), "unit_invalid", field)
    return unit


def _merge_target(actor, value) -> int:
    """The case to merge into, by number (or id), looked up in the actor's scope."""
    value = (value or "").strip()
    if not value:
        raise invalid(gettext("Give the number of the case to merge into."), "merge_target_required", "into")
    found = case_list_for(actor=actor, filters=CaseFilters(number=value)).first()
    if found is None and value.isdigit():
        found = case_list_for(actor=actor).filter(pk=int(value)).first()
    if found is None:
        raise invalid(gettext("The case to merge into was not found."), "merge_target_invalid", "into")
    return found.pk


def _due(value) -> dt.datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise invalid(gettext("Give the date and time as shown, e.g. 2026-11-24 17:00."), "due_invalid",
                      "due_at") from None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _accept(actor, case, data, files):
    return services.case_accept(actor=actor, case=case.pk, category=_category(data, case),
                                urgency=data.get("urgency") or None, note=data.get("note", ""))


def _file(actor, case, data, files):
    return services.case_file(actor=actor, case=case.pk, category=_category(data, case),
                              urgency=data.get("urgency") or None, note=data.get("note", ""))


def _dispatch(actor, case, data, files):
    unit = _unit(data.get("unit"), "unit", required=True)
    assisting = [_unit(v, "assisting", required=False) for v in data.getlist("assisting") if v]
    return services.case_dispatch(actor=actor, case=case.pk, unit=unit, assisting=assisting,
                                  note=data.get("note", ""))


def _extend(actor, case, data, files):
    return services.case_extend(actor=actor, case=case.pk, amount=(data.get("amount") or "").strip() or "0",
                                unit=data.get("unit", ""), reason=data.get("reason", "")).case


def _decide(actor, case, data, files):
    return services.case_decide_extension(actor=actor, case=case.pk, approve=data.get("decision") == "approve",
                                          note=data.get("note", "")).case


def _supervise(actor, case, data, files):
    return services.case_supervise(actor=actor, case=case.pk, action=data.get("action", ""),
                                   note=data.get("note", ""), due_at=_due(data.get("due_at"))).case


STEPS: dict[str, Step] = {
    "accept": Step(_("Accept"), ("category", "urgency", "note"), _accept, _("Case %(n)s accepted.")),
    "reject": Step(_("Reject"), ("reason",), lambda a, c, d, f: services.case_reject(
        actor=a, case=c.pk, reason=d.get("reason", "")), _("Case %(n)s rejected.")),
    "merge": Step(_("Merge"), ("into", "reason"), lambda a, c, d, f: services.case_merge(
        actor=a, case=c.pk, into=_merge_target(a, d.get("into")), reason=d.get("reason", "")),
        _("Case %(n)s merged.")),
    "file": Step(_("File"), ("category", "urgency", "note"), _file, _("Case %(n)s filed.")),
    "dispatch": Step(_("Dispatch"), ("unit", "assisting", "note"), _dispatch, _("Case %(n)s dispatched.")),
    "sign": Step(_("Sign for"), ("note",), lambda a, c, d, f: services.case_sign(
        actor=a, case=c.pk, note=d.get("note", "")), _("Case %(n)s signed for.")),
    "return": Step(_("Return"), ("reason",), lambda a, c, d, f: services.case_return(
        actor=a, case=c.pk, reason=d.get("reason", "")), _("Case %(n)s returned.")),
    "feedback": Step(_("Feed back"), ("result", "attachments"), lambda a, c, d, f: services.case_feedback(
        actor=a, case=c.pk, result=d.get("result", ""), attachments=uploads_from(f.getlist("attachments"))),
        _("Feedback on case %(n)s sent.")),
    "extend": Step(_("Ask for more time"), ("amount", "unit", "reason"), _extend,
                   _("More time asked for on case %(n)s.")),
    "approve_extension": Step(_("Decide on more time"), ("decision", "note"), _decide,
                              _("Extension on case %(n)s decided."), done_by=("decision", {
                                  "approve": _("More time on case %(n)s approved."),
                                  "deny": _("More time on case %(n)s denied.")})),
    "supervise": Step(_("Supervise"), ("action", "due_at", "note"), _supervise, _("Case %(n)s supervised."),
                      done_by=("action", {
                          SuperviseAction.URGE: _("Case %(n)s was urged: whoever holds it has been told."),
                          SuperviseAction.FLAG: _("Case %(n)s is now supervised."),
                          SuperviseAction.DEADLINE: _("New deadline set for case %(n)s.")})),
    "escalate": Step(_("Escalate"), ("reason",), lambda a, c, d, f: services.case_escalate(
        actor=a, case=c.pk, reason=d.get("reason", "")), _("Case %(n)s passed up.")),
    "reopen": Step(_("Reopen"), ("reason",), lambda a, c, d, f: services.case_reopen(
        actor=a, case=c.pk, reason=d.get("reason", "")), _("Case %(n)s reopened.")),
    "reopen_deny": Step(_("Turn down reopening"), ("reason",), lambda a, c, d, f: services.case_reopen_deny(
        actor=a, case=c.pk, reason=d.get("reason", "")), _("Reopening case %(n)s turned down.")),
    "rate_callback": Step(_("Record the return call"), ("rating", "comment"), lambda a, c, d, f:
                          services.case_rate_callback(actor=a, case=c.pk, rating=d.get("rating", ""),
                                                      comment=d.get("comment", "")),
                          _("Return call on case %(n)s recorded.")),
    "park": Step(_("Park"), ("reason",), lambda a, c, d, f: services.case_park(
        actor=a, case=c.pk, reason=d.get("reason", "")), _("Case %(n)s parked.")),
    "resume": Step(_("Resume"), ("note",), lambda a, c, d, f: services.case_resume(
        actor=a, case=c.pk, note=d.get("note", "")), _("Case %(n)s resumed.")),
    "void": Step(_("Void"), ("reason",), lambda a, c, d, f: services.case_void(
        actor=a, case=c.pk, reason=d.get("reason", "")), _("Case %(n)s voided.")),
}
