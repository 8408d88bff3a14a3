from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.scope import ScopeSpec
from yiwang.geo.choices import GridDuty, GridKind, RegionLevel


class Region(models.Model):
    """A node of the one tree: city → district/county → street/town → community/village.

    `path` is the chain of division codes from the city down, each followed by "/", so "this subtree" is a
    prefix match (`path__under=`). Services keep it; nothing derives it in save().
    """

    code = models.CharField(_("division code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent region"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=255, unique=True, editable=False)
    boundary = models.JSONField(_("boundary (GeoJSON)"), null=True, blank=True)
    is_urban = models.BooleanField(_("urban"), default=True)

    scope = ScopeSpec(path="path")

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["path"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class Grid(models.Model):
    """The smallest unit of the tree: a grid (网格) inside one community, with its boundary and its staff."""

    code = models.CharField(_("grid code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    community = models.ForeignKey(
        Region, verbose_name=_("community"), on_delete=models.PROTECT, related_name="grids",
        limit_choices_to={"level": RegionLevel.COMMUNITY},
    )
    path = models.CharField(_("path"), max_length=255, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=GridKind.choices, default=GridKind.RESIDENTIAL)
    households = models.PositiveIntegerField(_("households"), default=0)
    population = models.PositiveIntegerField(_("population"), default=0)
    boundary = models.JSONField(_("boundary (GeoJSON)"))
    # Bounding box, kept by services, so map views can fetch what is on screen without parsing polygons.
    min_lon = models.FloatField(_("minimum longitude"), editable=False, default=0)
    min_lat = models.FloatField(_("minimum latitude"), editable=False, default=0)
    max_lon = models.FloatField(_("maximum longitude"), editable=False, default=0)
    max_lat = models.FloatField(_("maximum latitude"), editable=False, default=0)
    party_organisation = models.ForeignKey(
        "org.Unit", verbose_name=_("party branch or group"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="party_grids",
    )
    is_active = models.BooleanField(_("active"), default=True)

    scope = ScopeSpec(path="path")

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["path"]
        permissions = [("change_grid_basedata", _("Can keep a grid's base data (households, population)"))]
        indexes = [models.Index(fields=["min_lon", "max_lon", "min_lat", "max_lat"])]

    def __str__(self):
        return f"{self.name} ({self.code})"


class GridStaff(models.Model):
    """Who works a grid, in which duty, from when to when (grid leader, instructor, workers, functional members
    seconded from departments such as police, urban management or environment)."""

    grid = models.ForeignKey(Grid, verbose_name=_("grid"), on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.PROTECT, related_name="grid_duties"
    )
    duty = models.CharField(_("duty"), max_length=16, choices=GridDuty.choices)
    unit = models.ForeignKey(
        "org.Unit", verbose_name=_("from unit"), null=True, blank=True, on_delete=models.PROTECT,
        help_text=_("For functional members: the department they come from."),
    )
    path = models.CharField(_("path"), max_length=255, editable=False, db_index=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    scope = ScopeSpec(path="path", owner="user")

    class Meta:
        verbose_name = _("grid staff assignment")
        verbose_name_plural = _("grid staff")
        ordering = ["grid__code", "duty"]
        constraints = [
            models.UniqueConstraint(fields=["grid", "user", "duty", "valid_from"], name="grid_staff_unique"),
        ]

    def __str__(self):
        return f"{self.grid.code} {self.get_duty_display()} {self.user}"


class GeoVersion(models.Model):
    """A single counter bumped in the same transaction as any grid change, so every process can tell that its
    in-memory point → grid index is stale."""

    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("geography version")
        verbose_name_plural = _("geography version")

    def __str__(self):
        return f"v{self.version}"
