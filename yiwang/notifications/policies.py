"""What goes out where, as data: the SMS text of each kind of notification, the case events a webhook can ask
for, and how long to wait before trying a failed delivery again."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from yiwang.cases.policies import TRANSITIONS

# An SMS goes out only for the kinds listed here, and says only this: the case number and what happened. It
# never carries the notification's own text, which can hold a reason or a note typed by someone (and with it
# other people's names or phone numbers). The details are in the app.
SMS_TEXTS = {
    # to the staff who must act
    "case_dispatched": _("Case %(n)s was dispatched to your unit. Please sign for it."),
    "case_returned": _("Case %(n)s was returned by the unit and waits to be dispatched again."),
    "case_to_verify": _("Case %(n)s is reported handled. Please check on site."),
    "case_rework": _("Case %(n)s needs more work."),
    "case_unsatisfied": _("The reporter of case %(n)s is not satisfied and asks to reopen it."),
    "case_reopened": _("Case %(n)s was reopened."),
    "case_escalated": _("Case %(n)s was passed up to your level."),
    "case_urged": _("A leader urges action on case %(n)s."),
    "extension_request": _("More time is asked for on case %(n)s."),
    "extension_decided": _("The request for more time on case %(n)s was decided."),
    "deadline_warning": _("Case %(n)s is due soon."),
    "deadline_breach": _("Case %(n)s is overdue."),
    # to the reporter
    "case_accepted": _("Your report %(n)s was accepted."),
    "case_rejected": _("Your report %(n)s was not accepted. The reason is in the app."),
    "case_merged": _("Your report %(n)s is handled together with an earlier report of the same problem."),
    "case_closed": _("Your report %(n)s is closed. Please rate the result in the app."),
    "case_voided": _("Your report %(n)s was closed without handling. The reason is in the app."),
}

# The case events of the journal ("case.<verb>") a webhook subscription can name; "*" names them all.
CASE_EVENTS = ["case.report", *(f"case.{verb}" for verb in TRANSITIONS), "case.outcome_from_parent",
               "case.deadline_warning", "case.deadline_breach"]
ALL_EVENTS = "*"

# A claimed delivery that was not finished by then (the worker died mid-send) is due again.
LEASE = dt.timedelta(minutes=5)


def backoff() -> list[int]:
    """Seconds to wait after the 1st, 2nd … failed attempt; after as many failures as there are waits plus
    one, the delivery has failed for good."""
    return list(settings.YIWANG_DELIVERY_BACKOFF)


def max_attempts() -> int:
    return len(backoff()) + 1
