"""Reads for the pages' shell."""

from django.utils import timezone

from yiwang.core import clock

# Where each role's work is, most specific first: a person holding several roles lands on the first match.
HOME_BY_ROLE = [
    ({"admin", "acceptor", "shift_lead", "dispatcher", "unit_staff"}, "/console/"),
    ({"leader"}, "/command/"),
    ({"grid_worker", "community_staff"}, "/m/grid/"),
]
RESIDENT_HOME = "/m/"


def roles_of(actor) -> set[str]:
    """The codes of the roles the actor holds today (a local date), in any scope."""
    if not getattr(actor, "is_authenticated", False):
        return set()
    from yiwang.accounts.models import RoleAssignment

    day = timezone.localdate(clock.now())
    return set(
        RoleAssignment.objects.filter(user=actor, valid_from__lte=day)
        .exclude(valid_to__lt=day).values_list("role__code", flat=True)
    )


def home_for(actor) -> str:
    """The page a person starts on: staff at the console, leaders at the command centre, grid workers on
    their grid, everyone else (residents, anonymous visitors) at the report page."""
    if getattr(actor, "is_superuser", False):
        return "/console/"
    held = roles_of(actor)
    for codes, url in HOME_BY_ROLE:
        if held & codes:
            return url
    return RESIDENT_HOME
