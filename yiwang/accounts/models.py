from django.contrib.auth.models import AbstractUser, Permission
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yiwang.core.scope import ScopeSpec

phone_validator = RegexValidator(r"^\+?[0-9][0-9 -]{5,19}$", _("Enter a valid phone number."), code="invalid_phone")


class User(AbstractUser):
    """A person: staff, grid worker, resident, enterprise contact or party member. What they may see and do
    comes only from their role assignments."""

    real_name = models.CharField(_("real name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, validators=[phone_validator], db_index=True)
    region = models.ForeignKey(
        "geo.Region", verbose_name=_("home region"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    region_path = models.CharField(_("path"), max_length=255, blank=True, editable=False, db_index=True)
    unit = models.ForeignKey(
        "org.Unit", verbose_name=_("unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )

    scope = ScopeSpec(path="region_path", unit="unit", owner="pk")

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self):
        return f"{self.real_name} ({self.username})" if self.real_name else self.username

    @property
    def masked_phone(self) -> str:
        digits = self.phone
        return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


class Role(models.Model):
    """A named bundle of permissions (Django's object types × actions), edited as data by an admin. A role
    grants nothing until it is held in a scope through a RoleAssignment."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    permissions = models.ManyToManyField(Permission, verbose_name=_("permissions"), blank=True, related_name="+")
    is_staff_role = models.BooleanField(
        _("staff role"), default=True, help_text=_("Holders may sign in to the administration site.")
    )
    # The default permissions the installer has granted this role at some point. A new version's new default
    # permissions are added once; one an admin removed stays removed.
    defaults_applied = models.JSONField(_("default permissions applied"), default=list, blank=True, editable=False)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["code"]

    def __str__(self):
        # Default roles are named by msgids (see roles.py) so they show in the user's language.
        return gettext(self.name)


class RoleAssignment(models.Model):
    """A role held *in* a scope — a region subtree, a grid or a unit — or, with no scope, over the holder's own
    records only; valid between two dates."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="assignments")
    role = models.ForeignKey(Role, verbose_name=_("role"), on_delete=models.PROTECT, related_name="assignments")
    region = models.ForeignKey(
        "geo.Region", verbose_name=_("region"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    grid = models.ForeignKey(
        "geo.Grid", verbose_name=_("grid"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        "org.Unit", verbose_name=_("unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The path of whichever scope is set, so an admin's own scope decides which assignments they manage.
    scope_path = models.CharField(_("path"), max_length=255, blank=True, editable=False, db_index=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    scope = ScopeSpec(path="scope_path", owner="user")

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering = ["user__username", "role__code"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(region__isnull=True, grid__isnull=True)
                    | Q(region__isnull=True, unit__isnull=True)
                    | Q(grid__isnull=True, unit__isnull=True)
                ),
                name="role_assignment_one_scope",
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.role} @ {self.scope_label}"

    @property
    def scope_label(self) -> str:
        target = self.region or self.grid or self.unit
        return str(target) if target else str(_("own records"))


class GrantsGeneration(models.Model):
    """One row whose token changes, in the same transaction, with anything a grant is made of (assignments,
    roles and their permissions, the paths of regions, grids and units). Each process keeps the grants it
    computed under the token it saw; a new token makes every process compute them afresh. A random token, not
    a counter: a change that rolls back restores the old token, and the next change can never meet an entry
    computed inside the rolled-back one."""

    token = models.CharField(max_length=32)

    class Meta:
        verbose_name = _("grants generation")
        default_permissions = ()

    def __str__(self):
        return self.token
