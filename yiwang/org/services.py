"""Writes to units, joint-committee memberships, categories and the responsibility matrix."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from yiwang.accounts.policies import ensure_in_scope, require
from yiwang.core.errors import check_date_order, check_editable, invalid
from yiwang.core.services import audit_write, snapshot
from yiwang.geo.choices import RegionLevel
from yiwang.org.choices import CategoryKind, CommitteeKind, PartyLevel, UnitKind
from yiwang.org.models import Category, CommitteeMembership, ResponsibilityRule, Unit


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


@transaction.atomic
def category_save(*, actor, code: str, name: str, parent: Category | None = None, name_en: str = "",
                  kind: str = CategoryKind.EVENT, default_unit_kind: str = "", reason: str = "") -> Category:
    """Create or update a category by code (the case-loop work extends the catalogue)."""
    if parent is not None and parent.parent_id is not None:
        raise invalid(_("Categories have two levels: a subcategory's parent must be a major category."),
                       "category_depth", "parent")
    category = Category.objects.filter(code=code).first()
    if category is not None:
        require(category, actor=actor, action="change")
    before = snapshot(category) if category else None
    category = category or Category(code=code)
    category.name, category.parent, category.name_en, category.kind = name, parent, name_en, kind
    category.default_unit_kind = default_unit_kind
    category.save()
    ensure_in_scope(category, actor=actor, action="change" if before else "add")
    audit_write(actor=actor, action="category.save", obj=category, before=before, after=snapshot(category),
                reason=reason)
    return category


@transaction.atomic
def responsibility_set(*, actor, region, unit: Unit, category: Category | None = None, note: str = "",
                       reason: str = "") -> ResponsibilityRule:
    """Say which unit handles `category` (None: everything else) in `region`'s subtree."""
    rule = ResponsibilityRule.objects.select_for_update().filter(region=region, category=category).order_by("pk").first()
    if rule is not None:
        require(rule, actor=actor, action="change")
    before = snapshot(rule) if rule else None
    rule = rule or ResponsibilityRule(region=region, category=category)
    rule.region_path, rule.unit, rule.note = region.path, unit, note
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
