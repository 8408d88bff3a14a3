"""Writes to people and their roles."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from yiwang.accounts.models import Role, RoleAssignment, User, phone_validator
from yiwang.accounts.policies import ensure_in_scope, forget_grants, require
from yiwang.accounts.roles import DEFAULT_ROLES
from yiwang.core.errors import PermissionRefused, ValidationFailed, check_date_order, check_editable, invalid
from yiwang.core.services import audit_write, snapshot


def _check_phone(phone: str) -> None:
    if phone:
        try:
            phone_validator(phone)
        except DjangoValidationError:
            raise invalid(_("Enter a valid phone number."), "invalid_phone", "phone") from None


@transaction.atomic
def user_create(*, actor, username: str, real_name: str = "", phone: str = "", password: str | None = None,
                region=None, unit=None, email: str = "", reason: str = "") -> User:
    username = (username or "").strip()
    if not username:
        raise invalid(_("A username is required."), "required", "username")
    if User.objects.filter(username=username).exists():
        raise invalid(_("This username is taken."), "duplicate_username", "username")
    _check_phone(phone)
    user = User(username=username, real_name=real_name, phone=phone, region=region,
                region_path=region.path if region else "", unit=unit, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save(force_insert=True)
    ensure_in_scope(user, actor=actor, action="add")
    audit_write(actor=actor, action="user.create", obj=user, after=_public(user), reason=reason,
                scope_path=user.region_path)
    return user


def _public(user: User) -> dict:
    data = snapshot(user, ["username", "real_name", "phone", "region", "unit", "email", "is_active"])
    if data.get("phone"):
        data["phone"] = user.masked_phone  # the journal does not keep personal data in the clear
    return data


@transaction.atomic
def user_password_set(*, actor, user: User, password: str | None, reason: str = "") -> User:
    """Set a new password, or None to make signing in with a password impossible. The journal records that it
    changed, never the password or its hash."""
    user = User.objects.select_for_update().get(pk=user.pk)
    require(user, actor=actor, action="change")
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save(update_fields=["password"])
    audit_write(actor=actor, action="user.password", obj=user, after={"password_usable": bool(password)},
                reason=reason, scope_path=user.region_path)
    return user


USER_EDITABLE = {"real_name", "phone", "region", "unit", "email", "is_active"}


@transaction.atomic
def user_update(*, actor, user: User, reason: str = "", **changes) -> User:
    check_editable(changes, USER_EDITABLE)
    user = User.objects.select_for_update().get(pk=user.pk)
    require(user, actor=actor, action="change")
    before = _public(user)
    for field, value in changes.items():
        setattr(user, field, value)
    _check_phone(user.phone)
    user.region_path = user.region.path if user.region else ""
    user.save()
    ensure_in_scope(user, actor=actor, action="change")
    audit_write(actor=actor, action="user.update", obj=user, before=before, after=_public(user), reason=reason,
                scope_path=user.region_path)
    return user


@transaction.atomic
def role_assign(*, actor, user: User, role: Role, valid_from: dt.date, region=None, grid=None, unit=None,
                valid_to: dt.date | None = None, note: str = "", reason: str = "") -> RoleAssignment:
    """Give `user` the role `role` in one scope (a region subtree, a grid or a unit; none: own records)."""
    if sum(x is not None for x in (region, grid, unit)) > 1:
        raise invalid(_("A role is held in one scope: a region, a grid or a unit."), "one_scope")
    check_date_order(valid_from, valid_to)
    scope_path = (region.path if region else grid.path if grid else unit.region_path if unit else user.region_path)
    assignment = RoleAssignment.objects.create(
        user=user, role=role, region=region, grid=grid, unit=unit, scope_path=scope_path, valid_from=valid_from,
        valid_to=valid_to, note=note,
    )
    ensure_in_scope(assignment, actor=actor, action="add")
    if actor is not None:
        # Nobody hands out more than they hold: every permission of the role must be the actor's in that scope.
        _ensure_grantable(actor=actor, role=role, scope_path=scope_path)
    if role.is_staff_role and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    audit_write(actor=actor, action="role.assign", obj=assignment, after=snapshot(assignment), reason=reason,
                scope_path=scope_path)
    forget_grants(user)
    return assignment


def _ensure_grantable(*, actor, role: Role, scope_path: str) -> None:
    from yiwang.accounts.policies import REGION, grants_for

    if actor.is_superuser:
        return
    held = grants_for(actor)
    for permission in role.permissions.select_related("content_type"):
        name = f"{permission.content_type.app_label}.{permission.codename}"
        if not any(g.kind == REGION and scope_path.startswith(g.path) for g in held.get(name, [])):
            raise ValidationFailed(
                _("You cannot hand out a role with permissions you do not hold there (%(perm)s).") % {"perm": name},
                code="role_exceeds_actor",
            )


@transaction.atomic
def role_assignment_end(*, actor, assignment: RoleAssignment, valid_to: dt.date, reason: str = "") -> RoleAssignment:
    require(assignment, actor=actor, action="change")
    check_date_order(assignment.valid_from, valid_to)
    before = snapshot(assignment)
    assignment.valid_to = valid_to
    assignment.save(update_fields=["valid_to"])
    audit_write(actor=actor, action="role.end", obj=assignment, before=before, after=snapshot(assignment),
                reason=reason, scope_path=assignment.scope_path)
    forget_grants(assignment.user)
    return assignment


@transaction.atomic
def roles_ensure_defaults() -> list[Role]:
    """Create the default roles that are missing, and give existing default roles the default permissions a
    new version introduced. A default permission is granted once: if an admin removed it, it stays removed."""
    by_name = {
        f"{p.content_type.app_label}.{p.codename}": p for p in Permission.objects.select_related("content_type")
    }
    changed = []
    for code, (name, is_staff_role, perms) in DEFAULT_ROLES.items():
        missing = sorted(set(perms) - set(by_name))
        if missing:
            raise RuntimeError(f"default role {code} names unknown permissions: {missing}")
        role = Role.objects.filter(code=code).first()
        if role is None:
            role = Role.objects.create(code=code, name=name, is_staff_role=is_staff_role,
                                       defaults_applied=sorted(perms))
            role.permissions.set([by_name[p] for p in perms])
            audit_write(actor=None, action="role.install", obj=role,
                        after={"code": code, "permissions": sorted(perms)}, actor_name="system")
            changed.append(role)
            continue
        new = sorted(set(perms) - set(role.defaults_applied))
        if not new:
            continue
        role.permissions.add(*[by_name[p] for p in new])
        role.defaults_applied = sorted(set(role.defaults_applied) | set(new))
        role.save(update_fields=["defaults_applied"])
        audit_write(actor=None, action="role.defaults_upgrade", obj=role, after={"added": new}, actor_name="system")
        changed.append(role)
    return changed


@transaction.atomic
def role_save(*, actor, role: Role, permissions, reason: str = "") -> Role:
    """Create or change a role definition and its permissions. Roles apply everywhere they are held, so only
    someone who may change roles over a whole tree (a root region) edits them."""
    from yiwang.accounts.policies import REGION, grants_for

    if actor is not None and not actor.is_superuser:
        action = "accounts.change_role" if role.pk else "accounts.add_role"
        grants = grants_for(actor).get(action, [])
        if not any(g.kind == REGION and g.path.count("/") == 1 for g in grants):
            raise PermissionRefused(_("Only an administrator of a whole city may define roles."))
    if not (role.code or "").strip() or not (role.name or "").strip():
        raise invalid(_("A role needs a code and a name."), "required", "code")
    before = None
    if role.pk:
        stored = Role.objects.get(pk=role.pk)
        before = {**snapshot(stored), "permissions": sorted(_perm_names(stored.permissions.all()))}
    role.save()
    role.permissions.set(permissions)
    after = {**snapshot(role), "permissions": sorted(_perm_names(role.permissions.all()))}
    audit_write(actor=actor, action="role.save", obj=role, before=before, after=after, reason=reason)
    return role


def _perm_names(permissions) -> list[str]:
    return [f"{p.content_type.app_label}.{p.codename}" for p in permissions.select_related("content_type")]
