"""Reads of units and the responsibility matrix."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from yiwang.accounts.policies import restrict
from yiwang.org.models import Category, ResponsibilityRule, Unit


def unit_list_for(*, actor, action: str = "view", kind: str | None = None, under: str | None = None) -> QuerySet:
    queryset = restrict(Unit.objects.select_related("region"), actor=actor, action=action)
    if kind:
        queryset = queryset.filter(kind=kind)
    if under:
        queryset = queryset.filter(region_path__under=under)
    return queryset


@dataclass(frozen=True)
class RoutingSuggestion:
    unit: Unit
    rule: ResponsibilityRule
    # "category", "major_category" or "fallback": which kind of rule matched, for the case record.
    matched: str


def responsible_unit_for(*, category: Category | None, path: str) -> RoutingSuggestion | None:
    """The unit the matrix names for `category` at a place with region path `path` (a region's or a grid's).

    A rule for the subcategory beats one for its major category, which beats a fallback; among rules of the
    same kind, the deepest region on the path wins. So a street's fallback never overrides a district rule
    that names the category.
    """
    codes = path.strip("/").split("/")
    ancestor_paths = ["/".join(codes[: i + 1]) + "/" for i in range(len(codes))]
    category_ids = [c for c in (category.pk if category else None, category.parent_id if category else None) if c]
    rules = list(
        ResponsibilityRule.objects.select_related("unit", "category")
        .filter(region__path__in=ancestor_paths, unit__is_active=True)
        .filter(category_id__in=category_ids) | ResponsibilityRule.objects.select_related("unit", "category")
        .filter(region__path__in=ancestor_paths, unit__is_active=True, category__isnull=True)
    )

    def rank(rule: ResponsibilityRule):
        depth = len(rule.region_path)
        if category is not None and rule.category_id == category.pk:
            specificity = 2
        elif rule.category_id is not None:
            specificity = 1
        else:
            specificity = 0
        return specificity, depth

    if not rules:
        return None
    best = max(rules, key=rank)
    matched = {2: "category", 1: "major_category", 0: "fallback"}[rank(best)[0]]
    return RoutingSuggestion(unit=best.unit, rule=best, matched=matched)
