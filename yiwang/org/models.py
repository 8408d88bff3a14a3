from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiwang.core.scope import ScopeSpec
from yiwang.org.choices import CategoryKind, CommitteeKind, PartyLevel, UnitKind


class Unit(models.Model):
    """An organisation that works in the tree: a department, a street office, a committee, a company, a party
    organisation or a social organisation. It sits at a region; `region_path` copies that region's path."""

    code = models.CharField(_("unit code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=150)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=UnitKind.choices)
    party_level = models.CharField(_("party organisation level"), max_length=32, choices=PartyLevel.choices, blank=True)
    region = models.ForeignKey(
        "geo.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="units"
    )
    region_path = models.CharField(_("path"), max_length=255, editable=False, db_index=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent unit"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    scope = ScopeSpec(path="region_path", unit="pk")

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["region_path", "kind", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(party_level="") | Q(kind=UnitKind.PARTY_ORGANISATION), name="unit_party_level_only_party"
            ),
        ]

    def __str__(self):
        return self.name


class CommitteeMembership(models.Model):
    """A unit from outside the hierarchy that joined a street's 大工委 or a community's 大党委 by signing a
    co-building agreement."""

    committee_kind = models.CharField(_("committee"), max_length=32, choices=CommitteeKind.choices)
    host = models.ForeignKey(
        "geo.Region", verbose_name=_("street or community"), on_delete=models.PROTECT, related_name="committee_members"
    )
    host_path = models.CharField(_("path"), max_length=255, editable=False, db_index=True)
    unit = models.ForeignKey(Unit, verbose_name=_("member unit"), on_delete=models.PROTECT, related_name="committees")
    position = models.CharField(_("position"), max_length=50, blank=True, help_text=_("e.g. rotating vice-secretary"))
    agreement_signed_on = models.DateField(_("agreement signed on"), null=True, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    scope = ScopeSpec(path="host_path", unit="unit")

    class Meta:
        verbose_name = _("joint committee membership")
        verbose_name_plural = _("joint committee memberships")
        ordering = ["host_path", "unit__name"]
        constraints = [
            models.UniqueConstraint(fields=["host", "unit", "valid_from"], name="committee_membership_unique"),
        ]

    def __str__(self):
        return f"{self.host.name} · {self.unit.name}"


class Category(models.Model):
    """Minimal two-level category tree (大类/小类). The case-loop work extends it with versions, conditions and
    time limits."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=CategoryKind.choices, default=CategoryKind.EVENT)
    parent = models.ForeignKey(
        "self", verbose_name=_("major category"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    default_unit_kind = models.CharField(_("default responsible unit kind"), max_length=32, choices=UnitKind.choices, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class ResponsibilityRule(models.Model):
    """Category × region subtree → the unit that handles it. A rule without a category is the region's
    fallback. The most specific rule wins: subcategory over major category over fallback, then the deepest
    region (see yiwang.org.selectors.responsible_unit_for)."""

    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT,
        help_text=_("Empty: the fallback for everything in this region."),
    )
    region = models.ForeignKey("geo.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(_("path"), max_length=255, editable=False, db_index=True)
    unit = models.ForeignKey(Unit, verbose_name=_("responsible unit"), on_delete=models.PROTECT, related_name="rules")
    note = models.CharField(_("note"), max_length=200, blank=True)

    scope = ScopeSpec(path="region_path", unit="unit")

    class Meta:
        verbose_name = _("responsibility rule")
        verbose_name_plural = _("responsibility matrix")
        ordering = ["region_path", "category__code"]
        constraints = [
            models.UniqueConstraint(fields=["category", "region"], name="responsibility_unique"),
            models.UniqueConstraint(
                fields=["region"], condition=Q(category__isnull=True), name="responsibility_one_fallback"
            ),
        ]

    def __str__(self):
        return f"{self.region.name} · {self.category or _('fallback')} → {self.unit.name}"
