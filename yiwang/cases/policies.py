"""The case loop as data: which verb moves a case from which states to which, who may do it and where, what
the journal calls it and what the reporter is told. One transition core (`services._transition`) applies it;
each verb service is a thin door into it.

Scopes say where the actor's role must be held:
- LEVEL: a region role over the level that holds the case now (escalation moves it up a level);
- AREA: a region or grid role over the place of the case (a grid worker in their grid);
- UNIT: a role in the case's current lead unit;
- OWN: the reporter themself.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop

from yiwang.cases.choices import Status as S

LEVEL, AREA, UNIT, OWN = "level", "area", "unit", "own"

WORKING = frozenset({S.FILED, S.DISPATCHED, S.IN_PROGRESS, S.RETURNED})


@dataclass(frozen=True)
class Transition:
    verb: str
    sources: frozenset
    target: str | None  # None: the service decides (escalate, resume, reopen) or the state stays
    perm: str
    scopes: tuple
    # What the reporter reads in the public timeline ("" = internal step). Formatted with the entry's details.
    public: str = ""
    needs_reason: bool = False


TRANSITIONS: dict[str, Transition] = {t.verb: t for t in [
    Transition("accept", frozenset({S.REPORTED}), S.ACCEPTED, "cases.accept_case", (LEVEL,),
               gettext_noop("Your report was accepted.")),
    Transition("reject", frozenset({S.REPORTED, S.ACCEPTED}), S.REJECTED, "cases.accept_case", (LEVEL,),
               gettext_noop("Your report was not accepted: %(reason)s"), needs_reason=True),
    Transition("merge", frozenset({S.REPORTED, S.ACCEPTED}), S.MERGED, "cases.accept_case", (LEVEL,),
               gettext_noop("The same problem is already being handled as case %(parent)s; you will hear its "
                            "outcome.")),
    Transition("file", frozenset({S.ACCEPTED}), S.FILED, "cases.file_case", (LEVEL,),
               gettext_noop("Filed as a case.")),
    Transition("dispatch", frozenset({S.FILED, S.RETURNED}), S.DISPATCHED, "cases.dispatch_case", (LEVEL,),
               gettext_noop("Sent to %(unit)s to be handled.")),
    Transition("sign", frozenset({S.DISPATCHED}), S.IN_PROGRESS, "cases.handle_case", (UNIT,),
               gettext_noop("%(unit)s has taken on the case.")),
    Transition("return", frozenset({S.DISPATCHED, S.IN_PROGRESS}), S.RETURNED, "cases.handle_case", (UNIT,),
               needs_reason=True),
    Transition("feedback", frozenset({S.IN_PROGRESS}), S.HANDLED, "cases.handle_case", (UNIT,),
               gettext_noop("%(unit)s reports the problem handled: %(result)s")),
    Transition("verify", frozenset({S.HANDLED}), S.CLOSED, "cases.verify_case", (AREA,),
               gettext_noop("Checked on site and closed. Please rate the result.")),
    Transition("rework", frozenset({S.HANDLED}), None, "cases.verify_case", (AREA,),
               gettext_noop("The check on site found more to do; the case went back to be handled."),
               needs_reason=True),
    Transition("rate", frozenset({S.CLOSED}), S.RATED, "cases.rate_case", (OWN,),
               gettext_noop("You rated the result.")),
    # 回访: a case nobody reported through the app (a hotline call, a patrol, an import) is rated by the desk
    # that calls the citizen back.
    Transition("rate_callback", frozenset({S.CLOSED}), S.RATED, "cases.accept_case", (AREA, LEVEL),
               gettext_noop("Rated on our return call.")),
    Transition("reopen", frozenset({S.RATED}), None, "cases.reopen_case", (LEVEL,),
               gettext_noop("Reopened to be handled again."), needs_reason=True),
    Transition("reopen_deny", frozenset({S.RATED}), None, "cases.reopen_case", (LEVEL,),
               gettext_noop("Not reopened: %(reason)s"), needs_reason=True),
    Transition("self_handle", frozenset({S.REPORTED}), S.HANDLED, "cases.self_handle_case", (AREA,),
               gettext_noop("Handled on the spot by the grid worker: %(result)s")),
    Transition("escalate", frozenset({S.ACCEPTED, *WORKING}), None, "cases.escalate_case", (LEVEL, UNIT),
               gettext_noop("Passed up to %(level)s to coordinate."), needs_reason=True),
    Transition("extend", frozenset({S.DISPATCHED, S.IN_PROGRESS}), None, "cases.request_extension_case", (UNIT,),
               needs_reason=True),
    Transition("approve_extension", frozenset({S.DISPATCHED, S.IN_PROGRESS, S.PARKED}), None,
               "cases.approve_extension_case", (LEVEL,)),
    Transition("park", WORKING, S.PARKED, "cases.park_case", (LEVEL,),
               gettext_noop("Recorded as a hard case; its deadline is paused."), needs_reason=True),
    Transition("resume", frozenset({S.PARKED}), None, "cases.park_case", (LEVEL,),
               gettext_noop("Handling resumed.")),
    Transition("void", frozenset({S.REPORTED, S.ACCEPTED, *WORKING, S.HANDLED, S.PARKED}), S.VOIDED,
               "cases.void_case", (LEVEL,), gettext_noop("Voided: %(reason)s"), needs_reason=True),
    Transition("supervise", frozenset({S.REPORTED, S.ACCEPTED, *WORKING, S.HANDLED, S.PARKED}), None,
               "cases.supervise_case", (AREA,)),
]}

# Entries the reporter sees besides the transitions above.
PUBLIC_EVENTS = {
    "case.report": gettext_noop("Report received as %(number)s."),
    "case.outcome_from_parent": gettext_noop("The case this report was joined to is closed: %(result)s"),
}

# What the deadline sweep does on a breach, by urgency: "notify" tells whoever holds the case; "supervise" also
# flags the case as supervised (督办) and tells the leaders of the level above; "escalate" moves a case still
# waiting at its level (not yet with a unit) up one level. The setting YIWANG_BREACH_POLICY (environment) decides;
# this is its default and the fallback for an urgency it leaves out.
BREACH_POLICY = {"red": "escalate", "orange": "supervise", "yellow": "supervise", "green": "notify"}

# Who is told when a case waits at its level for a step, by the permission that step needs.
WAITING_FOR = {
    S.REPORTED: "accept_case", S.ACCEPTED: "file_case", S.FILED: "dispatch_case", S.RETURNED: "dispatch_case",
    S.HANDLED: "verify_case", S.PARKED: "park_case",
}
