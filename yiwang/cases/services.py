"""Every change to a case. Each verb is a thin door into `_transition`, which applies the table in
yiwang.cases.policies: lock the case, check who and where, check the state, change it, write the journal and
the notifications in the same transaction. An illegal transition changes nothing."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.policies import GRID, OWN, REGION, UNIT, grants_for, restrict
from yiwang.cases import deadlines
from yiwang.cases.choices import AttachmentKind, ExtensionDecision, HandlerRole, Rating, SuperviseAction
from yiwang.cases.choices import Status as S
from yiwang.cases.models import (
    Case,
    CaseAttachment,
    CaseDeadline,
    CaseExtension,
    CaseHandler,
    CaseNumberCounter,
    CaseSupervision,
)
from yiwang.cases.policies import AREA, BREACH_POLICY, LEVEL, TRANSITIONS, WAITING_FOR, Transition
from yiwang.command.aggregates import case_figures_after, case_figures_before
from yiwang.core import clock
from yiwang.core.errors import DomainError, NotFound, OutOfScope, PermissionRefused, invalid
from yiwang.core.services import audit_write, snapshot
from yiwang.geo.models import Grid, Region
from yiwang.geo.selectors import grid_locate, located_grid
from yiwang.media.processing import Processed, Upload
from yiwang.media.services import media_playable_later, media_prepare, media_write
from yiwang.notifications.services import case_event_publish, notify
from yiwang.org.choices import LimitStep, Urgency
from yiwang.org.models import Category, Unit
from yiwang.org.selectors import ancestor_paths, question_label, responsible_unit_for
from yiwang.workcal.choices import LimitUnit


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409
    default_message = _("The case is not in a state that allows this.")


# The case fields the journal follows (before/after of each step). The reporter's phone is kept masked.
TRACKED = [
    "status", "category", "urgency", "region_path", "level", "level_path", "lead_unit", "parent", "grid",
    "supervised", "rating", "due_at", "respond_due_at", "handle_due_at", "close_due_at", "rework_count",
    "extension_count", "return_count", "escalation_count", "reopen_count", "reopen_requested", "self_handled",
]


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else ("****" if phone else "")


# --- who may -------------------------------------------------------------------------------------------------

def actor_holds(actor, perm: str, case: Case, scopes: Iterable[str]) -> bool:
    """Whether the actor holds `perm` where a transition needs it (policies: LEVEL, AREA, UNIT, OWN) — the
    check every step makes, also used to offer only the steps a person may take."""
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return True
    for grant in grants_for(actor).get(perm, []):
        if grant.kind == REGION and LEVEL in scopes and case.level_path.startswith(grant.path):
            return True
        if grant.kind in (REGION, GRID) and AREA in scopes and case.region_path.startswith(grant.path):
            return True
        if grant.kind == UNIT and UNIT in scopes and case.lead_unit_id and grant.unit_id == case.lead_unit_id:
            return True
        if grant.kind == OWN and OWN in scopes and case.reporter_id == actor.pk:
            return True
    return False


def _authorize(actor, case: Case, transition: Transition) -> None:
    """Missing and invisible look alike (404); visible but not yours to act on is 403."""
    if actor is None:
        return
    if not restrict(Case.objects.filter(pk=case.pk), actor=actor, action="view").exists():
        raise NotFound()
    if not actor_holds(actor, transition.perm, case, transition.scopes):
        raise PermissionRefused()


def _lock(case: Case | int) -> Case:
    """The case, its row locked until the transaction ends, with what the steps read of it alongside."""
    try:
        return (Case.objects.select_for_update(of=("self",))
                .select_related("category__catalogue", "category__parent", "level", "lead_unit", "grid")
                .get(pk=case.pk if isinstance(case, Case) else case))
    except (Case.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def _journal(*, actor, case: Case, action: str, before: dict | None, details: dict | None = None,
             reason: str = "") -> None:
    after = {**snapshot(case, TRACKED), **(details or {})}
    case_event_publish(case=case, action=action)  # webhooks, sent after commit
    # Last: the journal's tail is what concurrent writes wait on, so it is held as briefly as possible.
    audit_write(actor=actor, action=action, obj=case, before=before, after=after, reason=reason,
                scope_path=case.region_path)


def _transition(verb: str, *, actor, case: Case | int, now: dt.datetime | None, reason: str = "",
                apply: Callable[[Case, dt.datetime], dict | None] | None = None) -> Case:
    transition = TRANSITIONS[verb]
    now = now or clock.now()
    reason = (reason or "").strip()
    with clock.frozen(now), transaction.atomic():
        case = _lock(case)
        _authorize(actor, case, transition)
        if case.status not in transition.sources:
            raise InvalidTransition(
                gettext("Case %(number)s is %(status)s; it cannot be changed this way now.")
                % {"number": case.number, "status": S(case.status).label})
        if transition.needs_reason and not reason:
            raise invalid(gettext("Please give a reason."), "reason_required", "reason")
        before = snapshot(case, TRACKED)
        figures = case_figures_before(case)
        details = (apply(case, now) if apply else None) or {}
        if transition.target:
            case.status = transition.target
        case.save()
        case_figures_after(case, figures)
        _journal(actor=actor, case=case, action=f"case.{verb}", before=before, details=details, reason=reason)
    return case


# --- people to tell ------------------------------------------------------------------------------------------

def people_holding(codename: str, *, path: str | None = None, unit: Unit | int | None = None,
                   today: dt.date | None = None):
    """Active users holding `cases.<codename>` today in a region/grid over `path`, or in `unit`."""
    from yiwang.accounts.models import RoleAssignment, User

    today = today or timezone.localdate(clock.now())
    assignments = RoleAssignment.objects.filter(
        valid_from__lte=today, role__permissions__codename=codename,
        role__permissions__content_type__app_label="cases",
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
    if unit is not None:
        assignments = assignments.filter(unit=unit)
    else:
        assignments = assignments.filter(unit__isnull=True, scope_path__in=ancestor_paths(path or ""))
    return User.objects.filter(is_active=True, pk__in=assignments.values("user"))


def _holders(case: Case):
    """Whoever must act on the case next: its lead unit, or the staff of its level for the waiting step."""
    if case.lead_unit_id and case.status in (S.DISPATCHED, S.IN_PROGRESS):
        return people_holding("handle_case", unit=case.lead_unit_id)
    codename = WAITING_FOR.get(case.status)
    if codename == "verify_case":
        return people_holding(codename, path=case.region_path)
    return people_holding(codename, path=case.level_path) if codename else []


def _tell_reporter(case: Case, kind: str, text: str) -> None:
    if case.reporter_id:
        notify(recipients=[case.reporter], kind=kind, text=text, case=case)


# --- attachments -------------------------------------------------------------------------------------------

def _check_uploads(uploads: Iterable[Upload]) -> list[Processed]:
    """Every file of the step checked and processed (yiwang.media) before the step writes anything."""
    return media_prepare(uploads)


def _store_files(checked: list[Processed]) -> list:
    """Files are content-addressed, so a retried step never stores one twice; if the step rolls back, the
    files it wrote are removed again (yiwang.media.services)."""
    return media_write(checked) if checked else []


def _attach(case: Case, stored: list, *, action: str, actor, now: dt.datetime, public: bool = True) -> list[int]:
    rows = [CaseAttachment(case=case, action=action, kind=s.item.kind, file=s.name,
                           thumbnail=s.thumbnail_name, content_type=s.item.content_type,
                           extension=s.item.extension, size=s.item.size,
                           width=s.item.width, height=s.item.height, duration=s.item.duration,
                           sha256=s.item.sha256, codecs=s.item.codecs, uploaded_by=actor, created_at=now,
                           is_public=public)
            for s in stored]
    if not rows:
        return []
    media_playable_later([s.item for s in stored])  # after commit: a copy of a video not every browser plays
    return [row.pk for row in CaseAttachment.objects.bulk_create(rows)]


def _store(case: Case, checked: list[Processed], *, action: str, actor, now: dt.datetime,
           public: bool = True) -> list[int]:
    return _attach(case, _store_files(checked), action=action, actor=actor, now=now, public=public)


# --- numbers, places, categories ----------------------------------------------------------------------------

def _next_number(now: dt.datetime) -> str:
    """XL20261121-000123: the prefix, the day, the day's running number. One UPDATE … RETURNING takes the
    number; its row lock is the only thing concurrent reports wait on."""
    day = timezone.localdate(now)
    table = connection.ops.quote_name(CaseNumberCounter._meta.db_table)
    for _attempt in range(3):
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET last = last + 1 WHERE day = %s RETURNING last",
                           [connection.ops.adapt_datefield_value(day)])
            row = cursor.fetchone()
        if row is not None:
            return f"{settings.YIWANG_CASE_PREFIX}{day:%Y%m%d}-{row[0]:06d}"
        try:
            with transaction.atomic():  # the day's first report makes the day's row
                CaseNumberCounter.objects.create(day=day, last=0)
        except IntegrityError:  # another transaction made it first
            pass
    raise RuntimeError("could not take a case number")


def _place(*, lat, lon, region: Region | None) -> tuple[Grid | None, Region, str]:
    if lat is not None or lon is not None:
        try:
            lat, lon = float(lat), float(lon)
        except (TypeError, ValueError):
            raise invalid(gettext("Latitude and longitude must both be numbers."), "location_invalid", "lat") from None
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise invalid(gettext("Latitude and longitude must both be numbers."), "location_invalid", "lat")
        location = grid_locate(lat=lat, lon=lon)
        if location is not None:
            grid = located_grid(location)
            return grid, grid.community, grid.path
        if region is None:
            raise invalid(gettext("This place is outside every grid of the platform."), "outside_area", "lat")
    if region is None:
        raise invalid(gettext("Give the place: a position on the map or the region it is in."),
                      "location_required", "lat")
    return None, region, region.path


def _subcategory(category: Category | None, *, required: bool) -> Category | None:
    if category is None:
        if required:
            raise invalid(gettext("Choose the category first."), "category_required", "category")
        return None
    if category.parent_id is None or not category.is_active:
        raise invalid(gettext("Choose an active subcategory."), "category_invalid", "category")
    return category


def _check_urgency(urgency: str | None) -> None:
    if urgency and urgency not in Urgency.values:
        raise invalid(gettext("Unknown urgency."), "urgency_invalid", "urgency")


def _check_answers(category: Category | None, answers: dict | None) -> dict:
    answers = dict(answers or {})
    questions = (getattr(category, "form_questions", None) or []) if category else []
    known = {q["code"]: q for q in questions}
    for code in answers:
        if code not in known:
            raise invalid(gettext("Unknown question: %(code)s") % {"code": code}, "answer_unknown", "answers")
    for code, question in known.items():
        value = answers.get(code)
        if question.get("required") and value in (None, "", []):
            raise invalid(gettext("Please answer: %(q)s") % {"q": question_label(question)}, "answer_required",
                          "answers")
        keys = {v["key"] for v in question.get("values", [])}
        if value not in (None, "", []) and keys:
            values = value if isinstance(value, list) else [value]
            if any(str(v) not in keys for v in values):
                raise invalid(gettext("Not one of the offered answers: %(q)s") % {"q": question_label(question)},
                              "answer_invalid", "answers")
    return answers


# --- report 上报 ---------------------------------------------------------------------------------------------

def _may_report(actor, path: str) -> bool | None:
    """True: as a member of staff over the place; "own": as a resident, anywhere; False: not here."""
    if actor is None or (getattr(actor, "is_superuser", False) and actor.is_active):
        return True
    grants = grants_for(actor).get("cases.add_case", [])
    if any(g.kind in (REGION, GRID) and path.startswith(g.path) for g in grants):
        return True
    if any(g.kind == OWN for g in grants):
        return "own"
    if grants:
        raise OutOfScope(gettext("This place is outside the area you report for."))
    raise PermissionRefused()


@dataclass
class ReportDraft:
    """A report checked and placed, not yet written: `case_report_prepare` does every read (the grid, the
    reporter's grants, the category, the photos' processing) outside any transaction, so the write that
    follows holds the database's locks for as short a time as possible. On PostgreSQL it also takes the
    case's number (see there)."""

    actor: object
    case: Case  # unsaved, without its number
    clock_row: CaseDeadline
    checked: list[Processed]
    now: dt.datetime


def case_report_prepare(*, actor, description: str, channel: str, lat=None, lon=None, address: str = "",
                        region: Region | None = None, category: Category | None = None, urgency: str | None = None,
                        answers: dict | None = None, reporter_name: str = "", reporter_phone: str = "",
                        is_anonymous: bool = False, external_ref: str = "", attachments: Iterable[Upload] = (),
                        now: dt.datetime | None = None) -> ReportDraft:
    """Check a report and place it on its grid; writes nothing (see `case_report_commit`)."""
    from yiwang.cases.choices import Channel

    now = now or clock.now()
    description = (description or "").strip()
    if not description:
        raise invalid(gettext("Describe the problem."), "description_required", "description")
    if channel not in Channel.values:
        raise invalid(gettext("Unknown channel."), "channel_invalid", "channel")
    _check_urgency(urgency)
    category = _subcategory(category, required=False)
    answers = _check_answers(category, answers)
    checked = _check_uploads(attachments)
    with clock.frozen(now):
        grid, place, path = _place(lat=lat, lon=lon, region=region)
        how = _may_report(actor, path)
        if how == "own" and channel not in (Channel.APP, Channel.ENTERPRISE):
            raise invalid(gettext("Residents report through the app or as an enterprise appeal."),
                          "channel_invalid", "channel")
        reporter = actor if how == "own" else None
        if reporter is not None:
            reporter_name = reporter_name or reporter.real_name
            reporter_phone = reporter_phone or reporter.phone
        case = Case(
            channel=channel, external_ref=external_ref, description=description,
            address=address.strip(), lat=float(lat) if lat is not None else None,
            lon=float(lon) if lon is not None else None, grid=grid, region=place, region_path=path,
            level=place, level_path=place.path, category=category,
            urgency=urgency or (category.default_urgency if category else Urgency.YELLOW), answers=answers,
            reporter=reporter, reporter_name=reporter_name.strip(), reporter_phone=reporter_phone.strip(),
            is_anonymous=is_anonymous, reported_at=now,
        )
        clock_row = deadlines.begin(case, LimitStep.RESPOND, now)
        case.respond_due_at = case.due_at
        if external_ref and Case.objects.filter(channel=channel, external_ref=external_ref).exists():
            raise _external_ref_taken()
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # The number in its own statement: the day's counter row is then locked for one statement instead of
            # the whole write, which every concurrent report would wait on. A write that fails after this
            # leaves a gap in the day's numbers. (SQLite writers take turns anyway, so there it is taken in
            # the write.)
            case.number = _next_number(now)
    return ReportDraft(actor=actor, case=case, clock_row=clock_row, checked=checked, now=now)


def _external_ref_taken() -> DomainError:
    return invalid(gettext("A case with this external reference already came in through this channel."),
                   "external_ref_taken", "external_ref")


def case_report_commit(*, draft: ReportDraft) -> Case:
    """Write a prepared report: the case, its first clock, its files and the journal. The journal's tail, which
    every concurrent write waits on, is taken last, right before the commit."""
    case, now, actor = draft.case, draft.now, draft.actor
    with clock.frozen(now), transaction.atomic():
        files = _store_files(draft.checked)  # removed again if this rolls back
        if not case.number:
            case.number = _next_number(now)
        if case.external_ref:
            try:
                with transaction.atomic():
                    case.save(force_insert=True)
            except IntegrityError:  # the same reference committed by another request in the meantime
                raise _external_ref_taken() from None
        else:
            case.save(force_insert=True)
        draft.clock_row.case = case
        draft.clock_row.save(force_insert=True)
        case_figures_after(case, None)
        attachment_ids = _attach(case, files, action="report", actor=actor, now=now)
        _journal(actor=actor, case=case, action="case.report", before=None, details={
            "number": case.number, "channel": case.channel, "description": case.description,
            "address": case.address, "lat": case.lat, "lon": case.lon, "reporter_name": case.reporter_name,
            "reporter_phone": mask_phone(case.reporter_phone), "attachments": attachment_ids,
        })
    return case


def case_report(*, actor, description: str, channel: str, lat=None, lon=None, address: str = "",
                region: Region | None = None, category: Category | None = None, urgency: str | None = None,
                answers: dict | None = None, reporter_name: str = "", reporter_phone: str = "",
                is_anonymous: bool = False, external_ref: str = "", attachments: Iterable[Upload] = (),
                now: dt.datetime | None = None) -> Case:
    """上报: a new report from any channel, located to its grid, waiting to be accepted."""
    return case_report_commit(draft=case_report_prepare(
        actor=actor, description=description, channel=channel, lat=lat, lon=lon, address=address, region=region,
        category=category, urgency=urgency, answers=answers, reporter_name=reporter_name,
        reporter_phone=reporter_phone, is_anonymous=is_anonymous, external_ref=external_ref,
        attachments=attachments, now=now))


# --- accept 受理, reject 不予受理, merge 合并 -------------------------------------------------------------------

def _classify(case: Case, category: Category | None, urgency: str | None) -> None:
    if category is not None:
        case.category = _subcategory(category, required=True)
    if urgency:
        _check_urgency(urgency)
        case.urgency = urgency


def case_accept(*, actor, case, category: Category | None = None, urgency: str | None = None, note: str = "",
                now=None) -> Case:
    def apply(case, now):
        _classify(case, category, urgency)
        deadlines.end(case, now)
        case.responded_at = case.responded_at or now
        case.accepted_at = now
        _tell_reporter(case, "case_accepted", gettext("Your report %(n)s was accepted.") % {"n": case.number})
    return _transition("accept", actor=actor, case=case, now=now, reason=note, apply=apply)


def case_reject(*, actor, case, reason: str, now=None) -> Case:
    def apply(case, now):
        deadlines.end(case, now)
        case.responded_at = case.responded_at or now
        case.ended_at = now
        _tell_reporter(case, "case_rejected", gettext("Your report %(n)s was not accepted: %(r)s")
                       % {"n": case.number, "r": reason})
    return _transition("reject", actor=actor, case=case, now=now, reason=reason, apply=apply)


def case_merge(*, actor, case, into: Case | int, reason: str = "", now=None) -> Case:
    """合并: a duplicate joins the open case about the same problem; that case's outcome reaches this reporter."""
    def apply(case, now):
        # Locked, so the parent cannot close between this check and the merge (its reporters would miss it).
        parent = Case.objects.select_for_update().filter(pk=into.pk if isinstance(into, Case) else into).first()
        if parent is None or (actor is not None and not restrict(
                Case.objects.filter(pk=parent.pk), actor=actor, action="view").exists()):
            raise invalid(gettext("The case to merge into was not found."), "merge_target_invalid", "into")
        if parent.pk == case.pk or parent.parent_id or parent.status in (
                S.REJECTED, S.MERGED, S.VOIDED, S.CLOSED, S.RATED):
            raise invalid(gettext("Merge only into another open case."), "merge_target_invalid", "into")
        deadlines.end(case, now)
        case.parent = parent
        case.responded_at = case.responded_at or now
        case.ended_at = now
        _tell_reporter(case, "case_merged", gettext("Your report %(n)s is handled together with case %(p)s.")
                       % {"n": case.number, "p": parent.number})
        return {"parent_number": parent.number}
    return _transition("merge", actor=actor, case=case, now=now, reason=reason, apply=apply)


# --- file 立案, dispatch 派遣 ----------------------------------------------------------------------------------

def case_file(*, actor, case, category: Category | None = None, urgency: str | None = None, note: str = "",
              now=None) -> Case:
    """立案: category and urgency are fixed, the handling clock starts, and the matrix suggests a unit."""
    def apply(case, now):
        _classify(case, category, urgency)
        _subcategory(case.category, required=True)
        case.filed_at = now
        deadlines.start(case, LimitStep.HANDLE, now)
        case.handle_due_at = case.due_at
        case.close_due_at = deadlines.close_due(case, case.due_at)
        suggestion = responsible_unit_for(category=case.category, path=case.region_path)
        case.routing = {
            "suggested_unit": suggestion.unit.pk if suggestion else None,
            "suggested_unit_name": suggestion.unit.name if suggestion else "",
            "rule": suggestion.rule.pk if suggestion else None,
            "matched": suggestion.matched if suggestion else "none",
        }
        return {"routing": case.routing}
    return _transition("file", actor=actor, case=case, now=now, reason=note, apply=apply)


def _check_unit_reach(case: Case, unit: Unit, field_name: str) -> None:
    """A unit may take a case in its own area or above it (a district department for a community's case)."""
    if not unit.is_active or not (case.region_path.startswith(unit.region_path)
                                  or unit.region_path.startswith(case.level_path)):
        raise invalid(gettext("%(unit)s cannot take a case here.") % {"unit": unit.name}, "unit_out_of_reach",
                      field_name)


def _end_handlers(case: Case, now: dt.datetime, why: str, *, keep_lead: bool = False) -> None:
    """End the units' work on the case. A closed or voided case keeps its last lead unit (the measures count
    the case for it); a returned, escalated or re-dispatched one has none until it is dispatched again."""
    CaseHandler.objects.filter(case=case, ended_at__isnull=True).update(ended_at=now, end_reason=why)
    if not keep_lead:
        case.lead_unit = None


def _assign(case: Case, unit: Unit, assisting: Iterable[Unit], now: dt.datetime) -> list[Unit]:
    _end_handlers(case, now, "redispatched")
    CaseHandler.objects.create(case=case, unit=unit, role=HandlerRole.LEAD, assigned_at=now)
    helpers = [u for u in dict.fromkeys(assisting) if u.pk != unit.pk]
    CaseHandler.objects.bulk_create(
        [CaseHandler(case=case, unit=u, role=HandlerRole.ASSIST, assigned_at=now) for u in helpers])
    case.lead_unit = unit
    return helpers


def case_dispatch(*, actor, case, unit: Unit, assisting: Iterable[Unit] = (), note: str = "", now=None) -> Case:
    """派遣: to a lead unit (主办) with assisting units (协办); the final choice is recorded next to the
    suggestion."""
    assisting = list(assisting or [])

    def apply(case, now):
        _check_unit_reach(case, unit, "unit")
        for helper in assisting:
            _check_unit_reach(case, helper, "assisting")
        helpers = _assign(case, unit, assisting, now)
        case.dispatched_at = case.dispatched_at or now
        suggested = case.routing.get("suggested_unit")
        case.routing = {**case.routing, "final_unit": unit.pk, "overridden": suggested is not None and suggested != unit.pk}
        notify(recipients=people_holding("handle_case", unit=unit), kind="case_dispatched", case=case,
               text=gettext("Case %(n)s was dispatched to your unit.") % {"n": case.number})
        return {"unit_name": unit.name, "assisting": [u.pk for u in helpers], "routing": case.routing}
    return _transition("dispatch", actor=actor, case=case, now=now, reason=note, apply=apply)


# --- sign 签收, return 退回, feed back 反馈 ----------------------------------------------------------------------

def case_sign(*, actor, case, note: str = "", now=None) -> Case:
    def apply(case, now):
        case.signed_at = now
        return {"unit_name": case.lead_unit.name}
    return _transition("sign", actor=actor, case=case, now=now, reason=note, apply=apply)


def case_return(*, actor, case, reason: str, now=None) -> Case:
    """退回: the unit says the case is not theirs; the level's dispatcher sends it elsewhere."""
    def apply(case, now):
        unit_name = case.lead_unit.name
        _end_handlers(case, now, "returned")
        case.return_count += 1
        notify(recipients=people_holding("dispatch_case", path=case.level_path), kind="case_returned", case=case,
               text=gettext("%(u)s returned case %(n)s: %(r)s") % {"u": unit_name, "n": case.number, "r": reason})
        return {"unit_name": unit_name}
    return _transition("return", actor=actor, case=case, now=now, reason=reason, apply=apply)


def case_feedback(*, actor, case, result: str, attachments: Iterable[Upload] = (), now=None) -> Case:
    """反馈: the unit reports the result with photos; the verification clock starts."""
    result = (result or "").strip()
    if not result:
        raise invalid(gettext("Describe what was done."), "result_required", "result")
    checked = _check_uploads(attachments)

    def apply(case, now):
        case.result = result
        case.handled_at = now
        deadlines.start(case, LimitStep.VERIFY, now)
        files = _store(case, checked, action="feedback", actor=actor, now=now)
        notify(recipients=people_holding("verify_case", path=case.region_path), kind="case_to_verify", case=case,
               text=gettext("Case %(n)s is reported handled; please check on site.") % {"n": case.number})
        return {"unit_name": case.lead_unit.name, "result": result, "attachments": files}
    return _transition("feedback", actor=actor, case=case, now=now, apply=apply)


# --- verify 核查 → close 结案 or rework 返工, rate 评价, reopen 重办 ------------------------------------------------

def _not_self_verified(actor, case: Case) -> None:
    if actor is not None and case.self_handled and case.self_handled_by_id == actor.pk:
        raise PermissionRefused(gettext("Someone else must check a case you handled yourself."),
                                code="self_verification")


def case_verify(*, actor, case, note: str = "", attachments: Iterable[Upload] = (), now=None) -> Case:
    """核查属实 → 结案. Every report merged into this case is closed with it and its reporter told."""
    checked = _check_uploads(attachments)

    def apply(case, now):
        _not_self_verified(actor, case)
        deadlines.end(case, now)
        _end_handlers(case, now, "closed", keep_lead=True)
        case.closed_at = now
        files = _store(case, checked, action="verify", actor=actor, now=now)
        _tell_reporter(case, "case_closed", gettext("Your report %(n)s is closed. Please rate the result.")
                       % {"n": case.number})
        _close_duplicates(actor, case, now)
        return {"attachments": files}
    return _transition("verify", actor=actor, case=case, now=now, reason=note, apply=apply)


def _close_duplicates(actor, parent: Case, now: dt.datetime) -> None:
    for child in Case.objects.select_for_update().filter(parent=parent, status=S.MERGED):
        before = snapshot(child, TRACKED)
        figures = case_figures_before(child)
        child.status = S.CLOSED
        child.closed_at = now
        child.result = parent.result
        child.save()
        case_figures_after(child, figures)
        _journal(actor=actor, case=child, action="case.outcome_from_parent", before=before,
                 details={"parent_number": parent.number, "result": parent.result})
        _tell_reporter(child, "case_closed", gettext("Your report %(n)s is closed. Please rate the result.")
                       % {"n": child.number})


def case_rework(*, actor, case, reason: str, attachments: Iterable[Upload] = (), now=None) -> Case:
    """核查不属实 → 返工: back to the unit with a fresh handling clock; the measured deadline does not move."""
    checked = _check_uploads(attachments)

    def apply(case, now):
        _not_self_verified(actor, case)
        case.rework_count += 1
        case.handled_at = None
        deadlines.start(case, LimitStep.HANDLE, now)
        files = _store(case, checked, action="rework", actor=actor, now=now)
        if case.lead_unit_id:
            case.status = S.IN_PROGRESS
            notify(recipients=people_holding("handle_case", unit=case.lead_unit_id), kind="case_rework", case=case,
                   text=gettext("Case %(n)s needs more work: %(r)s") % {"n": case.number, "r": reason})
        else:  # handled on the spot and found not done: the level dispatches it to a unit
            case.status = S.FILED
        return {"attachments": files}
    return _transition("rework", actor=actor, case=case, now=now, reason=reason, apply=apply)


def _rated(rating: str, comment: str):
    if rating not in Rating.values:
        raise invalid(gettext("Choose satisfied, basically satisfied or unsatisfied."), "rating_invalid", "rating")

    def apply(case, now):
        case.rating = rating
        case.rating_comment = (comment or "").strip()
        case.rated_at = now
        if rating == Rating.UNSATISFIED:
            case.reopen_requested = True
            notify(recipients=people_holding("reopen_case", path=case.level_path), kind="case_unsatisfied",
                   case=case, text=gettext("The reporter of case %(n)s is not satisfied and asks to reopen it.")
                   % {"n": case.number})
        return {"rating": rating, "comment": case.rating_comment}
    return apply


def case_rate(*, actor, case, rating: str, comment: str = "", now=None) -> Case:
    """评价: the reporter rates the result of a closed case."""
    return _transition("rate", actor=actor, case=case, now=now, apply=_rated(rating, comment))


def case_rate_callback(*, actor, case, rating: str, comment: str = "", now=None) -> Case:
    """回访: the desk calls back the citizen of a case nobody reported through the app (a hotline call, a
    patrol, an import) and records their rating. A case with a reporter's account is theirs to rate."""
    rate = _rated(rating, comment)

    def apply(case, now):
        if case.reporter_id:
            raise InvalidTransition(gettext("The reporter rates this case in the app."), code="reporter_rates")
        return {**rate(case, now), "on_behalf": True}
    return _transition("rate_callback", actor=actor, case=case, now=now, apply=apply)


def case_reopen_deny(*, actor, case, reason: str, now=None) -> Case:
    """不予重办: the shift leader turns down an unsatisfied reporter's request to reopen, with the reason the
    reporter reads; the case stays rated (and counts as unresolved)."""
    def apply(case, now):
        if not case.reopen_requested:
            raise InvalidTransition(gettext("Only a case rated unsatisfied can be reopened."), code="not_unsatisfied")
        case.reopen_requested = False
        _tell_reporter(case, "case_reopen_denied", gettext("Your report %(n)s will not be handled again: %(r)s")
                       % {"n": case.number, "r": reason})
    return _transition("reopen_deny", actor=actor, case=case, now=now, reason=reason, apply=apply)


def case_reopen(*, actor, case, reason: str, now=None) -> Case:
    """重办: approved after an unsatisfied rating; back to the last lead unit (or to dispatch) with a new
    handling clock."""
    def apply(case, now):
        if not case.reopen_requested:
            raise InvalidTransition(gettext("Only a case rated unsatisfied can be reopened."), code="not_unsatisfied")
        case.reopen_requested = False
        case.reopen_count += 1
        case.closed_at = case.handled_at = None
        last = CaseHandler.objects.filter(case=case, role=HandlerRole.LEAD).order_by("-assigned_at", "-id").first()
        deadlines.start(case, LimitStep.HANDLE, now)
        if last is not None and last.unit.is_active:
            _assign(case, last.unit, [], now)
            case.status = S.DISPATCHED
            notify(recipients=people_holding("handle_case", unit=last.unit), kind="case_reopened", case=case,
                   text=gettext("Case %(n)s was reopened: %(r)s") % {"n": case.number, "r": reason})
        else:
            case.status = S.FILED
        _tell_reporter(case, "case_reopened", gettext("Your report %(n)s will be handled again.")
                       % {"n": case.number})
    return _transition("reopen", actor=actor, case=case, now=now, reason=reason, apply=apply)


# --- self-handle 自处置 ---------------------------------------------------------------------------------------

EVIDENCE = {AttachmentKind.PHOTO, AttachmentKind.VIDEO}  # what shows a fix on the spot was made


def case_self_handle(*, actor, case, result: str, category: Category | None = None,
                     attachments: Iterable[Upload] = (), now=None) -> Case:
    """自处置: a grid worker fixes a small problem on the spot. Accepting, filing and handling happen at once; the
    case still waits for someone else's check before it closes. No unit's feedback stands behind such a fix, so
    a photo or video of the result is required: it is what the checker and the public see of it."""
    result = (result or "").strip()
    if not result:
        raise invalid(gettext("Describe what was done."), "result_required", "result")
    checked = _check_uploads(attachments)
    if not any(item.kind in EVIDENCE for item in checked):
        raise invalid(gettext("Add a photo or a video of the result."), "photo_required", "attachments")

    def apply(case, now):
        _classify(case, category, None)
        _subcategory(case.category, required=True)
        deadlines.end(case, now)
        case.responded_at = case.accepted_at = case.filed_at = case.handled_at = now
        case.handle_due_at = now
        case.close_due_at = deadlines.close_due(case, now)
        case.self_handled = True
        case.self_handled_by = actor
        case.result = result
        deadlines.start(case, LimitStep.VERIFY, now)
        files = _store(case, checked, action="self_handle", actor=actor, now=now)
        return {"result": result, "attachments": files}
    return _transition("self_handle", actor=actor, case=case, now=now, apply=apply)


# --- escalate 上报上级 ---------------------------------------------------------------------------------------

def _escalate(case: Case, now: dt.datetime) -> dict:
    upper = case.level.parent
    if upper is None:
        raise InvalidTransition(gettext("The case is already at the top level."), code="no_parent_level")
    _end_handlers(case, now, "escalated")
    case.level = upper
    case.level_path = upper.path
    case.escalation_count += 1
    if case.status != S.ACCEPTED:
        case.status = S.FILED
    notify(recipients=people_holding("dispatch_case", path=upper.path), kind="case_escalated", case=case,
           text=gettext("Case %(n)s was passed up to %(l)s.") % {"n": case.number, "l": upper.name})
    return {"level_name": upper.name}


def case_escalate(*, actor, case, reason: str, now=None) -> Case:
    """街道吹哨、部门报到: the level (or its unit) cannot solve it; the case moves to the parent level with its
    history and running deadline."""
    return _transition("escalate", actor=actor, case=case, now=now, reason=reason, apply=_escalate)


# --- extension 延期 --------------------------------------------------------------------------------------------

MAX_EXTENSION_HOURS = 24 * 366


def _amount(amount, unit: str) -> Decimal:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        value = Decimal(0)
    if unit not in LimitUnit.values:
        raise invalid(gettext("Unknown time unit."), "unit_invalid", "unit")
    hours = value * (8 if unit == LimitUnit.WORKING_DAYS else 1)
    if not value.is_finite() or value <= 0 or hours > MAX_EXTENSION_HOURS:
        raise invalid(gettext("Ask for a positive amount of time, at most a year."), "amount_invalid", "amount")
    return value


def case_extend(*, actor, case, amount, unit: str, reason: str, now=None) -> CaseExtension:
    """延期申请: the unit asks for more time; the level decides."""
    value = _amount(amount, unit)
    holder = {}

    def apply(case, now):
        if CaseExtension.objects.filter(case=case, decision=ExtensionDecision.PENDING).exists():
            raise InvalidTransition(gettext("An extension request is already waiting for a decision."),
                                    code="extension_pending")
        holder["request"] = CaseExtension.objects.create(case=case, requested_by=actor, requested_at=now,
                                                         amount=value, unit=unit, reason=reason.strip())
        notify(recipients=people_holding("approve_extension_case", path=case.level_path), kind="extension_request",
               case=case, text=gettext("%(u)s asks for more time on case %(n)s.") % {"u": case.lead_unit.name,
                                                                                     "n": case.number})
        return {"extension": holder["request"].pk, "amount": str(value), "unit": unit}
    _transition("extend", actor=actor, case=case, now=now, reason=reason, apply=apply)
    return holder["request"]


def case_decide_extension(*, actor, case, approve: bool, note: str = "", now=None) -> CaseExtension:
    """批准/驳回延期: an approved extension moves the running deadline (and the measured one)."""
    holder = {}

    def apply(case, now):
        request = CaseExtension.objects.select_for_update().filter(
            case=case, decision=ExtensionDecision.PENDING).first()
        if request is None:
            raise InvalidTransition(gettext("No extension request is waiting."), code="no_pending_extension")
        request.decision = ExtensionDecision.APPROVED if approve else ExtensionDecision.DENIED
        request.decided_by, request.decided_at, request.decision_note = actor, now, (note or "").strip()
        request.save()
        if approve:
            deadlines.extend(case, request.amount, request.unit, now)
            case.extension_count += 1
        notify(recipients=[request.requested_by], kind="extension_decided", case=case,
               text=(gettext("More time on case %(n)s approved.") if approve
                     else gettext("More time on case %(n)s denied.")) % {"n": case.number})
        holder["request"] = request
        return {"extension": request.pk, "decision": request.decision}
    _transition("approve_extension", actor=actor, case=case, now=now, reason=note, apply=apply)
    return holder["request"]


# --- park 挂账, resume, void 作废 ---------------------------------------------------------------------------------

def case_park(*, actor, case, reason: str, now=None) -> Case:
    def apply(case, now):
        case.status_before_park = case.status
        deadlines.pause(case, now)
    return _transition("park", actor=actor, case=case, now=now, reason=reason, apply=apply)


def case_resume(*, actor, case, note: str = "", now=None) -> Case:
    def apply(case, now):
        case.status = case.status_before_park or S.FILED
        case.status_before_park = ""
        deadlines.resume(case, now)
    return _transition("resume", actor=actor, case=case, now=now, reason=note, apply=apply)


def case_void(*, actor, case, reason: str, now=None) -> Case:
    def apply(case, now):
        deadlines.end(case, now)
        _end_handlers(case, now, "voided", keep_lead=True)
        case.ended_at = now
        _tell_reporter(case, "case_voided", gettext("Your report %(n)s was voided: %(r)s")
                       % {"n": case.number, "r": reason})
    return _transition("void", actor=actor, case=case, now=now, reason=reason, apply=apply)


# --- supervise 督办 -------------------------------------------------------------------------------------------

def case_supervise(*, actor, case, action: str, note: str = "", due_at: dt.datetime | None = None,
                   now=None) -> CaseSupervision:
    """督办: flag the case, urge whoever holds it (催办), or set a new deadline for the running step."""
    if action not in SuperviseAction.values:
        raise invalid(gettext("Choose flag, urge or a new deadline."), "supervise_action_invalid", "action")
    holder = {}

    def apply(case, now):
        if action == SuperviseAction.DEADLINE:
            if due_at is None:
                raise invalid(gettext("Give the new deadline."), "due_required", "due_at")
            if due_at <= now:
                raise invalid(gettext("The new deadline must be in the future."), "due_invalid", "due_at")
            if deadlines.move(case, due=due_at, now=now) is None:
                raise InvalidTransition(gettext("No deadline is running on this case."), code="no_running_deadline")
        case.supervised = True
        holder["row"] = CaseSupervision.objects.create(case=case, leader=actor, action=action,
                                                       note=(note or "").strip(), new_due_at=due_at, created_at=now)
        if action != SuperviseAction.FLAG:
            notify(recipients=_holders(case), kind="case_urged", case=case,
                   text=gettext("Leader's urging on case %(n)s: %(t)s") % {"n": case.number, "t": note or ""})
        return {"supervision": action}
    _transition("supervise", actor=actor, case=case, now=now, reason=note, apply=apply)
    return holder["row"]


# --- privacy -----------------------------------------------------------------------------------------------

def case_contact_read(*, actor, case: Case) -> None:
    """Showing a reporter's full name and phone to a member of staff is itself journaled: who looked, when."""
    with transaction.atomic():
        audit_write(actor=actor, action="case.contact_read", obj=case, scope_path=case.region_path)


# --- the deadline sweep ------------------------------------------------------------------------------------

@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    supervised: int = 0
    cases: list = field(default_factory=list)


def deadline_sweep(*, now: dt.datetime | None = None, batch: int = 500) -> SweepResult:
    """Mark every warning and breach due by `now` exactly once — a conditional UPDATE claims each one, so two
    sweeps running at once, or a sweep after downtime, never mark one twice or skip one. Warnings come before
    breaches, so a sweep catching up after downtime tells both in order."""
    now = now or clock.now()
    result = SweepResult()
    open_rows = CaseDeadline.objects.filter(ended_at__isnull=True, paused_at__isnull=True)
    for kind, flag, limit in (("warning", "warned_at", "warn_at"), ("breach", "breached_at", "due_at")):
        while True:
            ids = list(open_rows.filter(**{f"{flag}__isnull": True, f"{limit}__lte": now})
                       .order_by(limit).values_list("pk", flat=True)[:batch])
            if not ids:
                break
            for pk in ids:
                _sweep_one(pk, kind, flag, now, result)
    return result


def _sweep_one(pk: int, kind: str, flag: str, now: dt.datetime, result: SweepResult) -> None:
    with clock.frozen(now), transaction.atomic():
        row = CaseDeadline.objects.filter(pk=pk).select_related("case").first()
        if row is None:
            return
        case = _lock(row.case_id)
        claimed = CaseDeadline.objects.filter(pk=pk, ended_at__isnull=True, paused_at__isnull=True,
                                              **{f"{flag}__isnull": True}).update(**{flag: now})
        if not claimed:
            return
        before = snapshot(case, TRACKED)
        figures = case_figures_before(case)
        when = row.warn_at if kind == "warning" else row.due_at
        details = {"step": row.step, "due_at": row.due_at.isoformat(), "at": when.isoformat()}
        holders = list(_holders(case))
        if kind == "warning":
            result.warned += 1
            notify(recipients=holders, kind="deadline_warning", case=case,
                   text=gettext("Case %(n)s is due soon (%(d)s).") % {
                       "n": case.number, "d": timezone.localtime(row.due_at).strftime("%Y-%m-%d %H:%M")})
        else:
            result.breached += 1
            notify(recipients=holders, kind="deadline_breach", case=case,
                   text=gettext("Case %(n)s is overdue.") % {"n": case.number})
            details["policy"] = _breach_policy(case, now, result)
        case.save()
        case_figures_after(case, figures)
        _journal(actor=None, case=case, action=f"case.deadline_{kind}", before=before, details=details)
        result.cases.append(case.pk)


def _breach_policy(case: Case, now: dt.datetime, result: SweepResult) -> str:
    what = settings.YIWANG_BREACH_POLICY.get(case.urgency, BREACH_POLICY.get(case.urgency, "notify"))
    if what == "escalate" and case.status in (S.ACCEPTED, S.FILED, S.RETURNED) and case.level.parent_id:
        _escalate(case, now)
        result.escalated += 1
        return "escalated"
    if what in ("escalate", "supervise"):
        if not case.supervised:
            case.supervised = True
            result.supervised += 1
        upper = case.level.parent.path if case.level.parent_id else case.level_path
        notify(recipients=people_holding("supervise_case", path=upper), kind="deadline_breach", case=case,
               text=gettext("Case %(n)s is overdue and now supervised.") % {"n": case.number})
        return "supervised"
    return "notified"
