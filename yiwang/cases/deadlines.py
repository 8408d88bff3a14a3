"""Step clocks: started when a step starts, paused while parked, moved by extensions and supervision, ended
when the step ends. Times come in; nothing here reads the clock. Callers hold the case's row lock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from yiwang.cases.models import Case, CaseDeadline
from yiwang.org.choices import LimitStep
from yiwang.workcal import calendar as wc

WARN_SHARE = 0.8  # the light turns yellow once 80% of the allowed time has passed


def limit_for(case: Case, step: str) -> tuple[Decimal, str]:
    from yiwang.org.selectors import category_limit

    return category_limit(category=case.category, urgency=case.urgency, step=step)


def _warn(start: dt.datetime, due: dt.datetime, unit: str) -> dt.datetime:
    return wc.add(start, WARN_SHARE * wc.elapsed(start, due, unit), unit)


def open_deadline(case: Case) -> CaseDeadline | None:
    return CaseDeadline.objects.filter(case=case, ended_at__isnull=True).first()


def begin(case: Case, step: str, now: dt.datetime) -> CaseDeadline:
    """The step's clock, unsaved, already shown on the case (for a case not saved yet)."""
    amount, unit = limit_for(case, step)
    due = wc.add(now, amount, unit)
    row = CaseDeadline(case=case, step=step, amount=amount, unit=unit, started_at=now, due_at=due,
                       warn_at=_warn(now, due, unit))
    _show(case, row)
    return row


def start(case: Case, step: str, now: dt.datetime) -> CaseDeadline:
    """Start the step's clock (ending any running one) and show it on the case."""
    end(case, now)
    row = begin(case, step, now)
    row.save(force_insert=True)
    return row


def end(case: Case, now: dt.datetime) -> CaseDeadline | None:
    row = open_deadline(case)
    if row is not None:
        row.ended_at = now
        row.met = row.due_at is None or now <= row.due_at
        row.save(update_fields=["ended_at", "met"])
    case.due_at = case.warn_at = None
    return row


def pause(case: Case, now: dt.datetime) -> None:
    row = open_deadline(case)
    if row is None or row.paused_at is not None:
        return
    row.remaining = max(0.0, wc.elapsed(now, row.due_at, row.unit)) if row.due_at > now else 0.0
    row.paused_at = now
    row.save(update_fields=["remaining", "paused_at"])
    case.due_at = case.warn_at = None


def resume(case: Case, now: dt.datetime) -> None:
    row = open_deadline(case)
    if row is None or row.paused_at is None:
        return
    old_due = row.due_at
    row.due_at = wc.add(now, row.remaining, row.unit)
    row.warn_at = wc.add(now, max(0.0, row.remaining - (1 - WARN_SHARE) * float(row.amount)), row.unit)
    row.paused_at = None
    row.remaining = None
    row.save(update_fields=["due_at", "warn_at", "paused_at", "remaining"])
    _moved(case, row, old_due)
    _show(case, row)


def move(case: Case, *, due: dt.datetime, now: dt.datetime) -> CaseDeadline | None:
    """Set the running step's deadline (an approved extension, a leader's new deadline). A deadline moved into
    the future may warn and breach again."""
    row = open_deadline(case)
    if row is None:
        return None
    old_due = row.due_at
    row.due_at = due
    row.warn_at = _warn(row.started_at, due, row.unit) if due > row.started_at else due
    fields = ["due_at", "warn_at"]
    if row.paused_at is None:
        if row.warn_at > now:
            row.warned_at = None
        if row.due_at > now:
            row.breached_at = None
        fields += ["warned_at", "breached_at"]
    else:  # parked: the remaining time grows instead
        row.remaining = (row.remaining or 0.0) + wc.elapsed(old_due, due, row.unit)
        fields.append("remaining")
    row.save(update_fields=fields)
    _moved(case, row, old_due)
    if row.paused_at is None:
        _show(case, row)
    return row


def extend(case: Case, amount: Decimal, unit: str, now: dt.datetime) -> CaseDeadline | None:
    row = open_deadline(case)
    if row is None:
        return None
    return move(case, due=wc.add(row.due_at, amount, unit), now=now)


def _moved(case: Case, row: CaseDeadline, old_due: dt.datetime) -> None:
    """The handling deadline the measures judge by moves with the running handling clock, and the closing
    deadline with it."""
    if row.step == LimitStep.HANDLE and case.handle_due_at == old_due:
        case.handle_due_at = row.due_at
        case.close_due_at = close_due(case, row.due_at)


def close_due(case: Case, handle_due: dt.datetime) -> dt.datetime:
    amount, unit = limit_for(case, LimitStep.VERIFY)
    return wc.add(handle_due, amount, unit)


def _show(case: Case, row: CaseDeadline) -> None:
    case.due_at, case.warn_at = row.due_at, row.warn_at
