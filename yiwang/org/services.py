"""Writes to units, joint-committee memberships, the category catalogue and the responsibility matrix."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from yiwang.accounts.policies import REGION, ensure_in_scope, grants_for, require
from yiwang.core import clock
from yiwang.core.errors import PermissionRefused, ValidationFailed, check_date_order, check_editable, invalid
from yiwang.core.services import audit_write, bulk_create_journaled, snapshot
from yiwang.geo.choices import RegionLevel
from yiwang.org.catalogue_csv import MAX_AMOUNT, read_catalogue_csv, write_catalogue_rows
from yiwang.org.choices import (
    CatalogueStatus,
    CategoryKind,
    CommitteeKind,
    LimitStep,
    PartyLevel,
    UnitKind,
    Urgency,
)
from yiwang.org.models import (
    Catalogue,
    Category,
    CategoryTimeLimit,
    CommitteeMembership,
    ResponsibilityRule,
    Unit,
)
from yiwang.org.policies import form_questions_clean
from yiwang.workcal.choices import LimitUnit


def _check_unit(unit: Unit) -> None:
    if not (unit.name or "").strip():
        raise invalid(_("A name is required."), "required", "name")
    if unit.kind not in UnitKind.values:
        raise invalid(_("Unknown unit kind."), "unit_kind", "kind")
    if unit.party_level and unit.kind != UnitKind.PARTY_ORGANISATION:
        raise invalid(_("Only party organisations have a party level."), "party_level", "party_level")
    if unit.kind == UnitKind.PARTY_ORGANISATION and unit.party_level not in PartyLevel.values:
        raise invalid(_("A party organisation needs its level."), "party_level", "party_level")
    if unit.parent_id and unit.parent_id == unit.pk:
        raise invalid(_("A unit cannot be its own parent."), "unit_cycle", "parent")
    ancestor = unit.parent
    while ancestor is not None and unit.pk is not None:
        if ancestor.pk == unit.pk:
            raise invalid(_("A unit cannot sit under itself."), "unit_cycle", "parent")
        ancestor = ancestor.parent


@transaction.atomic
def unit_create(*, actor, code: str, name: str, kind: str, region, parent: Unit | None = None,
                party_level: str = "", short_name: str = "", contact_phone: str = "", reason: str = "") -> Unit:
    if not (code or "").strip():
        raise invalid(_("A code is required."), "required", "code")
    if Unit.objects.filter(code=code).exists():
        raise invalid(_("A unit with this code already exists."), "duplicate_code", "code")
    unit = Unit(code=code.strip(), name=(name or "").strip(), kind=kind, region=region, region_path=region.path,
                parent=parent, party_level=party_level, short_name=short_name, contact_phone=contact_phone)
    _check_unit(unit)
    unit.save(force_insert=True)
    ensure_in_scope(unit, actor=actor, action="add")
    audit_write(actor=actor, action="unit.create", obj=unit, after=snapshot(unit), reason=reason,
                scope_path=unit.region_path)
    return unit


UNIT_EDITABLE = {"name", "short_name", "kind", "party_level", "region", "parent", "contact_phone", "is_active"}


@transaction.atomic
def unit_update(*, actor, unit: Unit, reason: str = "", **changes) -> Unit:
    check_editable(changes, UNIT_EDITABLE)
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    require(unit, actor=actor, action="change")
    before = snapshot(unit)
    for field, value in changes.items():
        setattr(unit, field, value)
    unit.region_path = unit.region.path
    _check_unit(unit)
    unit.save()
    ensure_in_scope(unit, actor=actor, action="change")
    audit_write(actor=actor, action="unit.update", obj=unit, before=before, after=snapshot(unit), reason=reason,
                scope_path=unit.region_path)
    return unit


@transaction.atomic
def unit_delete(*, actor, unit: Unit, reason: str = "") -> None:
    require(unit, actor=actor, action="delete")
    audit_write(actor=actor, action="unit.delete", obj=unit, before=snapshot(unit), reason=reason,
                scope_path=unit.region_path)
    unit.delete()


@transaction.atomic
def committee_member_add(*, actor, host, unit: Unit, valid_from: dt.date, position: str = "",
                         agreement_signed_on: dt.date | None = None, reason: str = "") -> CommitteeMembership:
    """A unit joins a street's 大工委 or a community's 大党委 (the kind follows the host's level)."""
    kinds = {RegionLevel.STREET: CommitteeKind.STREET_JOINT_WORKING_COMMITTEE,
             RegionLevel.COMMUNITY: CommitteeKind.COMMUNITY_JOINT_PARTY_COMMITTEE}
    if host.level not in kinds:
        raise invalid(_("Joint committees exist only at streets and communities."), "committee_host", "host")
    membership = CommitteeMembership.objects.create(
        committee_kind=kinds[host.level], host=host, host_path=host.path, unit=unit, position=position,
        agreement_signed_on=agreement_signed_on, valid_from=valid_from,
    )
    ensure_in_scope(membership, actor=actor, action="add")
    audit_write(actor=actor, action="committee.add", obj=membership, after=snapshot(membership), reason=reason,
                scope_path=membership.host_path)
    return membership


@transaction.atomic
def committee_member_end(*, actor, membership: CommitteeMembership, valid_to: dt.date,
                         reason: str = "") -> CommitteeMembership:
    require(membership, actor=actor, action="change")
    check_date_order(membership.valid_from, valid_to)
    before = snapshot(membership)
    membership.valid_to = valid_to
    membership.save(update_fields=["valid_to"])
    audit_write(actor=actor, action="committee.end", obj=membership, before=before, after=snapshot(membership),
                reason=reason, scope_path=membership.host_path)
    return membership


# --- The category catalogue ------------------------------------------------------------------------------------
# Catalogues are reference data everyone with org.view_catalogue reads; a write needs the permission over the
# catalogue's jurisdiction (see _require_jurisdiction). Only drafts change; an active version is changed by
# cloning it into a new draft and activating that.


class CatalogueImportRejected(ValidationFailed):
    """A catalogue file with problems: nothing was written. `errors` lists them by row."""

    code = "import_invalid"

    def __init__(self, errors: list[dict]):
        self.errors = errors
        lines = [f"#{e['row']} {e.get('code') or ''}: {e['reason']}" for e in errors[:MAX_IMPORT_ERRORS]]
        super().__init__(_("The file was rejected; nothing was imported.") + "\n" + "\n".join(lines))


MAX_IMPORT_ERRORS = 100


def _require_jurisdiction(actor, region, perm: str) -> None:
    """Refuse a catalogue write unless the actor holds `perm` over the catalogue's region (that region or one
    above it); the national catalogue needs it over a whole city (a root region), like role definitions."""
    if actor is None or (getattr(actor, "is_superuser", False) and actor.is_active):
        return
    paths = [g.path for g in grants_for(actor).get(perm, []) if g.kind == REGION]
    if region is None:
        allowed = any(path.count("/") == 1 for path in paths)
    else:
        allowed = any(region.path.startswith(path) for path in paths)
    if not allowed:
        raise PermissionRefused(
            _("Only an administrator of the whole city may change the national catalogue.") if region is None
            else _("You may change only the catalogues of the area you are responsible for."))


def _require_draft(catalogue: Catalogue) -> None:
    if not catalogue.is_draft:
        raise invalid(_("Version %(v)s of this catalogue is %(s)s and cannot change: clone it into a new draft, "
                        "edit that, then activate it.") % {"v": catalogue.version, "s": catalogue.get_status_display()},
                      "catalogue_not_draft")


def _lock_versions(region) -> int:
    """Lock the jurisdiction's catalogues (so concurrent clones and activations take turns) and return the
    next free version number."""
    versions = list(Catalogue.objects.select_for_update(of=("self",)).filter(region=region).order_by()
                    .values_list("version", flat=True))
    return max(versions, default=0) + 1


def _catalogue_path(catalogue: Catalogue) -> str:
    return catalogue.region.path if catalogue.region_id else ""


def _default_name(region) -> str:
    return f"{region.name}分类目录" if region is not None else "全国默认分类目录"


def _new_catalogue(*, actor, region, name: str, note: str, version: int | None, reason: str,
                   action: str) -> Catalogue:
    _require_jurisdiction(actor, region, "org.add_catalogue")
    next_version = _lock_versions(region)
    if version is not None:
        if version < 1:
            raise invalid(_("A version is a whole number from 1."), "version", "version")
        if Catalogue.objects.filter(region=region, version=version).exists():
            raise invalid(_("This jurisdiction already has version %(v)s.") % {"v": version}, "duplicate_version",
                          "version")
    catalogue = Catalogue(region=region, version=version or next_version,
                          name=(name or "").strip() or _default_name(region), note=note or "",
                          status=CatalogueStatus.DRAFT)
    if len(catalogue.name) > 100:
        raise invalid(_("The name is longer than 100 characters."), "name", "name")
    catalogue.save(force_insert=True)
    ensure_in_scope(catalogue, actor=actor, action="add")
    audit_write(actor=actor, action=action, obj=catalogue, after=snapshot(catalogue), reason=reason,
                scope_path=_catalogue_path(catalogue))
    return catalogue


@transaction.atomic
def catalogue_create(*, actor, region=None, name: str = "", note: str = "", reason: str = "") -> Catalogue:
    """An empty draft catalogue for `region` (None: national), numbered after the region's last version."""
    return _new_catalogue(actor=actor, region=region, name=name, note=note, version=None, reason=reason,
                          action="catalogue.create")


CATALOGUE_EDITABLE = {"name", "note"}


@transaction.atomic
def catalogue_update(*, actor, catalogue: Catalogue, reason: str = "", **changes) -> Catalogue:
    """Rename a draft or change its note."""
    check_editable(changes, CATALOGUE_EDITABLE)
    catalogue = Catalogue.objects.select_for_update(of=("self",)).select_related("region").get(pk=catalogue.pk)
    require(catalogue, actor=actor, action="change")
    _require_jurisdiction(actor, catalogue.region, "org.change_catalogue")
    _require_draft(catalogue)
    before = snapshot(catalogue)
    for field, value in changes.items():
        setattr(catalogue, field, (value or "").strip())
    if not catalogue.name or len(catalogue.name) > 100:
        raise invalid(_("A name of at most 100 characters is required."), "name", "name")
    catalogue.save(update_fields=list(changes))
    audit_write(actor=actor, action="catalogue.update", obj=catalogue, before=before, after=snapshot(catalogue),
                reason=reason, scope_path=_catalogue_path(catalogue))
    return catalogue


def _journaled_saver(*, actor, reason: str, prefix: str):
    actions = {"category": f"category.{prefix}", "limit": f"category_limit.{prefix}"}
    return lambda objs, kind: bulk_create_journaled(actor=actor, objs=objs, action=actions[kind], reason=reason)


@transaction.atomic
def catalogue_load_csv(*, actor, path_or_file, region=None, version: int | None = None, activate: bool = True,
                       name: str = "", note: str = "", reason: str = "") -> Catalogue:
    """Load a catalogue file (yiwang.org.catalogue_csv) as a new version for `region` (None: national), all or
    nothing: a file with any problem raises CatalogueImportRejected ("import_invalid") listing them by row, and
    writes nothing. Activated at once unless `activate` is false (it then stays a draft)."""
    rows, errors = read_catalogue_csv(path_or_file)
    if errors:
        raise CatalogueImportRejected(errors)
    catalogue = _new_catalogue(actor=actor, region=region, name=name, note=note, version=version, reason=reason,
                               action="catalogue.load")
    write_catalogue_rows(rows, catalogue=catalogue, category_model=Category, limit_model=CategoryTimeLimit,
                         save=_journaled_saver(actor=actor, reason=reason, prefix="load"))
    if activate:
        catalogue = catalogue_activate(actor=actor, catalogue=catalogue, reason=reason)
    return catalogue


@transaction.atomic
def catalogue_clone(*, actor, catalogue: Catalogue, region=..., name: str = "", note: str = "",
                    reason: str = "") -> Catalogue:
    """A new draft version copying `catalogue`'s categories and time limits, for the same jurisdiction or for
    `region` (None: national) — e.g. a district starting its own catalogue from the national one."""
    require(catalogue, actor=actor, action="view")
    region = catalogue.region if region is ... else region
    draft = _new_catalogue(actor=actor, region=region, name=name or catalogue.name,
                           note=note or _("Cloned from %(c)s") % {"c": f"{catalogue.name} v{catalogue.version}"},
                           version=None, reason=reason, action="catalogue.clone")
    save = _journaled_saver(actor=actor, reason=reason, prefix="clone")
    copies: dict[int, Category] = {}
    categories = list(catalogue.categories.order_by("code"))
    for level in (False, True):
        batch = []
        for original in categories:
            if (original.parent_id is not None) != level:
                continue
            copy = Category(catalogue=draft, parent=copies.get(original.parent_id),
                            **{f.attname: getattr(original, f.attname) for f in Category._meta.concrete_fields
                               if f.attname not in {"id", "catalogue_id", "parent_id"}})
            copies[original.pk] = copy
            batch.append(copy)
        save(batch, "category")
    limits = CategoryTimeLimit.objects.filter(category__catalogue=catalogue).order_by("pk")
    save([CategoryTimeLimit(category=copies[limit.category_id], urgency=limit.urgency, step=limit.step,
                            amount=limit.amount, unit=limit.unit) for limit in limits], "limit")
    return draft


@transaction.atomic
def catalogue_activate(*, actor, catalogue: Catalogue, reason: str = "") -> Catalogue:
    """启用: the draft becomes its jurisdiction's active catalogue; the one active before is retired (its
    categories stay for the cases that use them)."""
    require(catalogue, actor=actor, action="view")
    _require_jurisdiction(actor, catalogue.region, "org.change_catalogue")
    _lock_versions(catalogue.region)
    catalogue = Catalogue.objects.select_related("region").get(pk=catalogue.pk)
    _require_draft(catalogue)
    if not catalogue.categories.filter(parent__isnull=False).exists():
        raise invalid(_("A catalogue needs at least one subcategory before it is activated."), "catalogue_empty")
    now = clock.now()
    previous = Catalogue.objects.filter(region=catalogue.region, status=CatalogueStatus.ACTIVE).first()
    if previous is not None:
        before = snapshot(previous)
        previous.status = CatalogueStatus.RETIRED
        previous.save(update_fields=["status"])
        audit_write(actor=actor, action="catalogue.retire", obj=previous, before=before, after=snapshot(previous),
                    reason=reason, scope_path=_catalogue_path(previous))
    before = snapshot(catalogue)
    catalogue.status, catalogue.activated_at = CatalogueStatus.ACTIVE, now
    catalogue.save(update_fields=["status", "activated_at"])
    audit_write(actor=actor, action="catalogue.activate", obj=catalogue, before=before, after=snapshot(catalogue),
                reason=reason, scope_path=_catalogue_path(catalogue))
    return catalogue


def _national_draft() -> Catalogue:
    draft = Catalogue.objects.filter(region__isnull=True, status=CatalogueStatus.DRAFT).order_by("-version").first()
    if draft is None:
        raise invalid(_("The national catalogue has no draft: clone the active version to change it."),
                      "catalogue_not_draft")
    return draft


_CODE = re.compile(r"^[A-Za-z0-9]{1,16}$")


def _check_category(category: Category, *, had_children: bool) -> None:
    if not _CODE.match(category.code or ""):
        raise invalid(_("A code is 1 to 16 letters or digits."), "code", "code")
    if not (category.name or "").strip() or len(category.name) > 100:
        raise invalid(_("A name of at most 100 characters is required."), "required", "name")
    if category.kind not in CategoryKind.values:
        raise invalid(_("Unknown category kind."), "category_kind", "kind")
    if category.default_unit_kind and category.default_unit_kind not in UnitKind.values:
        raise invalid(_("Unknown unit kind."), "unit_kind", "default_unit_kind")
    if category.default_urgency not in Urgency.values:
        raise invalid(_("Unknown urgency."), "urgency_invalid", "default_urgency")
    parent = category.parent
    if parent is not None:
        if parent.catalogue_id != category.catalogue_id:
            raise invalid(_("The major category belongs to another catalogue."), "category_catalogue", "parent")
        if parent.parent_id is not None or had_children or parent.pk == category.pk:
            raise invalid(_("Categories have two levels: a subcategory's parent must be a major category."),
                          "category_depth", "parent")


@transaction.atomic
def category_save(*, actor, code: str, name: str, parent: Category | None = None, name_en: str = "",
                  kind: str = CategoryKind.EVENT, default_unit_kind: str = "", catalogue: Catalogue | None = None,
                  default_urgency: str | None = None, filing_condition: str | None = None,
                  closing_condition: str | None = None, form_questions: list | None = None,
                  is_active: bool | None = None, reason: str = "") -> Category:
    """Create or update the category `code` of a draft catalogue: `catalogue`, else the parent's, else the
    national draft. The newer fields left as None keep their stored value (or take the default when new);
    `form_questions` is checked and normalised (yiwang.org.policies.form_questions_clean)."""
    catalogue = catalogue or (parent.catalogue if parent is not None else _national_draft())
    catalogue = Catalogue.objects.select_for_update(of=("self",)).select_related("region").get(pk=catalogue.pk)
    _require_draft(catalogue)
    category = Category.objects.select_for_update().filter(catalogue=catalogue, code=code).first()
    if category is not None:
        require(category, actor=actor, action="change")
    _require_jurisdiction(actor, catalogue.region, "org.change_category" if category else "org.add_category")
    before = snapshot(category) if category else None
    had_children = bool(category and category.children.exists())
    category = category or Category(catalogue=catalogue, code=(code or "").strip())
    category.name, category.parent, category.name_en, category.kind = (name or "").strip(), parent, name_en, kind
    category.default_unit_kind = default_unit_kind
    for field, value in [("default_urgency", default_urgency), ("filing_condition", filing_condition),
                         ("closing_condition", closing_condition), ("is_active", is_active)]:
        if value is not None:
            setattr(category, field, value)
    if form_questions is not None:
        category.form_questions = form_questions_clean(form_questions)
    _check_category(category, had_children=had_children and parent is not None)
    category.save()
    ensure_in_scope(category, actor=actor, action="change" if before else "add")
    audit_write(actor=actor, action="category.save", obj=category, before=before, after=snapshot(category),
                reason=reason, scope_path=_catalogue_path(catalogue))
    return category


def _check_limit(*, step: str, urgency: str, amount, unit: str) -> Decimal:
    if step not in LimitStep.values:
        raise invalid(_("Unknown step."), "limit_step", "step")
    if urgency and urgency not in Urgency.values:
        raise invalid(_("Unknown urgency."), "urgency_invalid", "urgency")
    if unit not in LimitUnit.values:
        raise invalid(_("Unknown unit."), "limit_unit", "unit")
    try:
        amount = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        amount = Decimal(0)
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise invalid(_("A time limit is a positive number with at most two decimals."), "limit_amount", "amount")
    return amount


@transaction.atomic
def category_limit_set(*, actor, category: Category, step: str, urgency: str, amount, unit: str,
                       reason: str = "") -> CategoryTimeLimit:
    """Set how long `step` may take for `category` at `urgency` ("" for any urgency without its own row)."""
    category = Category.objects.select_related("catalogue__region").get(pk=category.pk)
    catalogue = Catalogue.objects.select_for_update(of=("self",)).select_related("region").get(pk=category.catalogue_id)
    _require_draft(catalogue)
    urgency = urgency or ""
    amount = _check_limit(step=step, urgency=urgency, amount=amount, unit=unit)
    limit = CategoryTimeLimit.objects.select_for_update().filter(category=category, step=step,
                                                                 urgency=urgency).first()
    if limit is not None:
        require(limit, actor=actor, action="change")
    _require_jurisdiction(actor, catalogue.region,
                          "org.change_categorytimelimit" if limit else "org.add_categorytimelimit")
    before = snapshot(limit) if limit else None
    limit = limit or CategoryTimeLimit(category=category, step=step, urgency=urgency)
    limit.amount, limit.unit = amount, unit
    limit.save()
    ensure_in_scope(limit, actor=actor, action="change" if before else "add")
    audit_write(actor=actor, action="category_limit.set", obj=limit, before=before, after=snapshot(limit),
                reason=reason, scope_path=_catalogue_path(catalogue))
    return limit


@transaction.atomic
def category_limit_delete(*, actor, limit: CategoryTimeLimit, reason: str = "") -> None:
    """Remove a time limit row: the step falls back to the next row (see selectors.category_limit)."""
    limit = CategoryTimeLimit.objects.select_related("category").get(pk=limit.pk)
    catalogue = (Catalogue.objects.select_for_update(of=("self",)).select_related("region")
                 .get(pk=limit.category.catalogue_id))
    require(limit, actor=actor, action="delete")
    _require_draft(catalogue)
    _require_jurisdiction(actor, catalogue.region, "org.delete_categorytimelimit")
    audit_write(actor=actor, action="category_limit.delete", obj=limit, before=snapshot(limit), reason=reason,
                scope_path=_catalogue_path(catalogue))
    limit.delete()


@transaction.atomic
def responsibility_set(*, actor, region, unit: Unit, category: Category | None = None, note: str = "",
                       reason: str = "") -> ResponsibilityRule:
    """Say which unit handles `category` (None: everything else) in `region`'s subtree. Rules are about a
    category's code: setting one for a code that already has a rule in `region` (through any catalogue version)
    replaces that rule, and points it at `category`."""
    rules = ResponsibilityRule.objects.select_for_update().filter(region=region)
    rules = rules.filter(category__code=category.code) if category is not None else rules.filter(category=None)
    rule = rules.order_by("pk").first()
    if rule is not None:
        require(rule, actor=actor, action="change")
    before = snapshot(rule) if rule else None
    rule = rule or ResponsibilityRule(region=region)
    rule.category, rule.region_path, rule.unit, rule.note = category, region.path, unit, note
    rule.save()
    ensure_in_scope(rule, actor=actor, action="change" if before else "add")
    audit_write(actor=actor, action="responsibility.set", obj=rule, before=before, after=snapshot(rule),
                reason=reason, scope_path=rule.region_path)
    return rule


@transaction.atomic
def responsibility_delete(*, actor, rule: ResponsibilityRule, reason: str = "") -> None:
    require(rule, actor=actor, action="delete")
    audit_write(actor=actor, action="responsibility.delete", obj=rule, before=snapshot(rule), reason=reason,
                scope_path=rule.region_path)
    rule.delete()
