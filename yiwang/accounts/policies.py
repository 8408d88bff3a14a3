"""The one mechanism that decides what an actor may see and do.

Permissions are data: a Role bundles Django permissions (object type × action, e.g. "geo.change_grid"), and a
RoleAssignment holds a role *in* a scope — a region subtree, a grid, a unit — or over own records only,
between two dates. Every read starts from `restrict(queryset, actor=…, action=…)`; every write looks its
object up with `access()` / `require()` and re-reads it with `ensure_in_scope()` after the change, so a
write that would move a record out of the actor's reach is refused and rolled back. A record out of scope
answers exactly like a missing one (NotFound → 404).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from yiwang.core import clock
from yiwang.core.errors import NotFound, OutOfScope, PermissionRefused

REGION = "region"
GRID = "grid"
UNIT = "unit"
OWN = "own"


@dataclass(frozen=True)
class Grant:
    perm: str
    kind: str  # REGION, GRID, UNIT or OWN
    path: str = ""  # for REGION and GRID; for UNIT, the unit's region path
    unit_id: int | None = None


def perm_name(model: type[Model], action: str) -> str:
    """"view" on Grid → "geo.view_grid"; a full name ("geo.import_regions") passes through."""
    if "." in action:
        return action
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


# Grants each process has computed: user pk → (what they were computed under, grants). See GrantsGeneration.
_computed: dict[int, tuple[tuple, dict[str, list[Grant]]]] = {}
_COMPUTED_MAX = 20000


def grants_generation() -> str:
    from yiwang.accounts.models import GrantsGeneration

    return GrantsGeneration.objects.filter(pk=1).values_list("token", flat=True).first() or ""


def grants_changed() -> None:
    """In the transaction of any change grants are made of: every process computes grants afresh."""
    import uuid

    from yiwang.accounts.models import GrantsGeneration

    token = uuid.uuid4().hex
    if not GrantsGeneration.objects.filter(pk=1).update(token=token):
        GrantsGeneration.objects.create(pk=1, token=token)
    _computed.clear()


def grants_for(actor, *, today: dt.date | None = None) -> dict[str, list[Grant]]:
    """The actor's grants by permission name, from assignments valid today. Kept on the user object for the
    rest of the request, and in this process until anything they are made of changes (one primary-key read
    of the generation token per request instead of four queries); `forget_grants()` drops both."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return {}
    today = today or timezone.localdate(clock.now())  # role dates are local (Asia/Shanghai) dates
    cached = getattr(actor, "_yiwang_grants", None)
    if cached is not None and cached[0] == today:
        return cached[1]
    # The join date tells a user apart from an earlier one with the same pk (SQLite reuses rolled-back pks).
    stamp = (today, grants_generation(), actor.date_joined)
    kept = _computed.get(actor.pk)
    if kept is not None and kept[0] == stamp:
        actor._yiwang_grants = (today, kept[1])
        return kept[1]
    from yiwang.accounts.models import RoleAssignment

    grants: dict[str, list[Grant]] = {}
    assignments = (
        RoleAssignment.objects.filter(user=actor, valid_from__lte=today)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .select_related("region", "grid", "unit")
        .prefetch_related("role__permissions__content_type")
    )
    for assignment in assignments:
        if assignment.region_id:
            scope = {"kind": REGION, "path": assignment.region.path}
        elif assignment.grid_id:
            scope = {"kind": GRID, "path": assignment.grid.path}
        elif assignment.unit_id:
            scope = {"kind": UNIT, "path": assignment.unit.region_path, "unit_id": assignment.unit_id}
        else:
            scope = {"kind": OWN}
        for permission in assignment.role.permissions.all():
            name = f"{permission.content_type.app_label}.{permission.codename}"
            grants.setdefault(name, []).append(Grant(perm=name, **scope))
    actor._yiwang_grants = (today, grants)
    if len(_computed) >= _COMPUTED_MAX:
        _computed.clear()
    _computed[actor.pk] = (stamp, grants)
    return grants


def forget_grants(actor=None) -> None:
    """Drop the grants kept for one actor (on the object and in this process), or for everyone."""
    if actor is None:
        _computed.clear()
        return
    if hasattr(actor, "_yiwang_grants"):
        del actor._yiwang_grants
    _computed.pop(actor.pk, None)


def can(actor, perm: str) -> bool:
    """Whether the actor holds `perm` anywhere (for menus and the admin index; objects still go through
    `restrict`)."""
    if actor is not None and getattr(actor, "is_superuser", False) and actor.is_active:
        return True
    return bool(grants_for(actor).get(perm))


def _grant_q(model: type[Model], grant: Grant, actor) -> Q | None:
    spec = getattr(model, "scope", None)
    if spec is None:  # catalogue data (categories …) with no place in the tree
        return Q()
    if grant.kind in (REGION, GRID):
        return Q(**{f"{spec.path}__under": grant.path}) if spec.path else None
    if grant.kind == UNIT:
        if spec.unit:
            return Q(**{spec.unit: grant.unit_id})
        # Models with no link to a unit are reached through the unit's own region subtree.
        return Q(**{f"{spec.path}__under": grant.path}) if spec.path else None
    if grant.kind == OWN:
        return Q(**{spec.owner: actor.pk}) if spec.owner else None
    return None


def restrict(queryset: QuerySet, *, actor, action: str) -> QuerySet:
    """The part of `queryset` the actor may `action` ("view", "change", … or a full permission name)."""
    model = queryset.model
    if actor is None:  # the system itself: management commands, seeds, migrations
        return queryset
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return queryset
    condition = None
    for grant in grants_for(actor).get(perm_name(model, action), []):
        q = _grant_q(model, grant, actor)
        if q is None:
            continue
        if not q:  # an unrestricted grant
            return queryset
        condition = q if condition is None else condition | q
    if condition is None:
        return queryset.none()
    return queryset.filter(condition).distinct() if _may_duplicate(model) else queryset.filter(condition)


def _may_duplicate(model: type[Model]) -> bool:
    spec = getattr(model, "scope", None)
    return bool(spec and spec.unit and "__" in spec.unit)


def access(queryset_or_model, *, actor, action: str, pk) -> Model:
    """Look up and authorize in one step: missing and forbidden both raise NotFound."""
    queryset = (
        queryset_or_model._default_manager.all() if isinstance(queryset_or_model, type) else queryset_or_model
    )
    try:
        return restrict(queryset, actor=actor, action=action).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def require(obj: Model, *, actor, action: str) -> None:
    """Refuse to act on an object the actor cannot reach for `action`: NotFound if they cannot even see it
    (exactly like a missing one), PermissionRefused if they see it but may not do this. `actor=None` is the
    system itself (management commands, migrations)."""
    if actor is None:
        return
    one = type(obj)._default_manager.filter(pk=obj.pk)
    if restrict(one, actor=actor, action=action).exists():
        return
    if restrict(one, actor=actor, action="view").exists():
        raise PermissionRefused()
    raise NotFound()


def ensure_in_scope(obj: Model, *, actor, action: str) -> None:
    """After a write, inside its transaction: re-read the object through the actor's scope. If the write put
    it out of reach, raise OutOfScope so the transaction rolls back and nothing changes."""
    if actor is None:
        return
    if not restrict(type(obj)._default_manager.filter(pk=obj.pk), actor=actor, action=action).exists():
        raise OutOfScope()
