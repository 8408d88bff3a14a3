import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from yiwang.core.scope import ScopeSpec
from yiwang.org.choices import (
    CatalogueStatus,
    CategoryKind,
    CommitteeKind,
    LimitStep,
    PartyLevel,
    UnitKind,
    Urgency,
)
from yiwang.workcal.choices import LimitUnit


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


def new_revision() -> str:
    return uuid.uuid4().hex


class Catalogue(models.Model):
    """One version of the category catalogue (事部件分类目录) for a jurisdiction: a region and its subtree, or the
    whole installation (the national default) when `region` is empty. A draft is edited; activating it retires
    the jurisdiction's previous version; an active or retired version never changes again (cases point at its
    categories), so a change means cloning into a new draft. The region whose active catalogue is deepest on
    a place's path decides for that place (yiwang.org.selectors.catalogue_for).

    Catalogues are reference data: anyone holding org.view_catalogue reads them all (no `scope`); writes also
    need the permission over the catalogue's region (yiwang.org.services)."""

    region = models.ForeignKey(
        "geo.Region", verbose_name=_("jurisdiction"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="catalogues", help_text=_("Empty: the national default catalogue."),
    )
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=100)
    status = models.CharField(_("status"), max_length=16, choices=CatalogueStatus.choices,
                              default=CatalogueStatus.DRAFT)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    # A fresh value per catalogue row, never reused (ids can be after a rollback): the key of the in-process
    # cache of an immutable catalogue's time limits (yiwang.org.selectors.category_limit).
    revision = models.CharField(_("revision"), max_length=32, default=new_revision, editable=False, unique=True)

    class Meta:
        verbose_name = _("category catalogue")
        verbose_name_plural = _("category catalogues")
        ordering = [F("region__path").asc(nulls_first=True), "-version"]
        constraints = [
            models.UniqueConstraint(fields=["region", "version"], name="catalogue_version_unique"),
            # NULL regions are distinct in a unique index: the national catalogue needs its own constraints.
            models.UniqueConstraint(fields=["version"], condition=Q(region__isnull=True),
                                    name="catalogue_national_version_unique"),
            models.UniqueConstraint(fields=["region"], condition=Q(status=CatalogueStatus.ACTIVE),
                                    name="catalogue_one_active"),
            models.UniqueConstraint(fields=["status"],
                                    condition=Q(status=CatalogueStatus.ACTIVE, region__isnull=True),
                                    name="catalogue_one_active_national"),
            models.CheckConstraint(condition=Q(version__gte=1), name="catalogue_version_positive"),
            models.CheckConstraint(
                condition=Q(status=CatalogueStatus.DRAFT, activated_at__isnull=True)
                | (~Q(status=CatalogueStatus.DRAFT) & Q(activated_at__isnull=False)),
                name="catalogue_activated_at_iff_not_draft",
            ),
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"

    @property
    def is_draft(self) -> bool:
        return self.status == CatalogueStatus.DRAFT


class Category(models.Model):
    """A major category (大类, no parent) or a subcategory (小类) of one catalogue version; codes `EECC` are
    unique within the catalogue and stable across its versions, which is how the responsibility matrix keeps
    matching after a new version is activated. A subcategory carries what a case of its kind needs: filing
    and closing conditions (立案条件/结案条件), the default urgency, time limits (CategoryTimeLimit), the
    default responsible unit kind and the extra questions its report form asks (Open311 attributes)."""

    catalogue = models.ForeignKey(Catalogue, verbose_name=_("catalogue"), on_delete=models.PROTECT,
                                  related_name="categories")
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=CategoryKind.choices, default=CategoryKind.EVENT)
    parent = models.ForeignKey(
        "self", verbose_name=_("major category"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    default_unit_kind = models.CharField(_("default responsible unit kind"), max_length=32, choices=UnitKind.choices, blank=True)
    default_urgency = models.CharField(_("default urgency"), max_length=8, choices=Urgency.choices,
                                       default=Urgency.YELLOW)
    filing_condition = models.TextField(_("filing condition"), blank=True)
    closing_condition = models.TextField(_("closing condition"), blank=True)
    form_questions = models.JSONField(
        _("form questions"), default=list, blank=True,
        help_text=_("Extra questions the report form asks (Open311 attributes), checked by the service."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["catalogue_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["catalogue", "code"], name="category_code_unique_in_catalogue"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class CategoryTimeLimit(models.Model):
    """How long a step of the case loop may take for a category at an urgency (blank: any urgency). The
    subcategory's rows come first, then its major category's, then yiwang.org.policies.DEFAULT_LIMITS."""

    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.CASCADE,
                                 related_name="time_limits")
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, blank=True,
                               help_text=_("Empty: any urgency without its own row."))
    step = models.CharField(_("step"), max_length=16, choices=LimitStep.choices)
    amount = models.DecimalField(_("amount"), max_digits=8, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=16, choices=LimitUnit.choices)

    class Meta:
        verbose_name = _("time limit")
        verbose_name_plural = _("time limits")
        ordering = ["category_id", "step", "urgency"]
        constraints = [
            models.UniqueConstraint(fields=["category", "urgency", "step"], name="category_limit_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="category_limit_positive"),
        ]

    def __str__(self):
        return f"{self.category.code} {self.get_step_display()} {self.get_urgency_display() or '*'}: " \
               f"{self.amount} {self.get_unit_display()}"


class ResponsibilityRule(models.Model):
    """Category × region subtree → the unit that handles it. A rule without a category is the region's
    fallback. The most specific rule wins: subcategory over major category over fallback, then the deepest
    region (see yiwang.org.selectors.responsible_unit_for). Rules match by the category's code, so a rule
    keeps working when a new version of the catalogue is activated."""

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
