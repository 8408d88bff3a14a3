"""Reads of units, the category catalogue and the responsibility matrix."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils.translation import get_language

from yiwang.accounts.policies import restrict
from yiwang.org.choices import CatalogueStatus, LimitStep, Urgency
from yiwang.org.models import Catalogue, Category, CategoryTimeLimit, ResponsibilityRule, Unit
from yiwang.org.policies import DEFAULT_LIMITS


def ancestor_paths(path: str) -> list[str]:
    """"a/b/c/" → ["a/", "a/b/", "a/b/c/"]: the region paths on the way down to `path` (a region's or a grid's)."""
    codes = [code for code in (path or "").strip("/").split("/") if code]
    return ["/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def unit_list_for(*, actor, action: str = "view", kind: str | None = None, under: str | None = None) -> QuerySet:
    queryset = restrict(Unit.objects.select_related("region"), actor=actor, action=action)
    if kind:
        queryset = queryset.filter(kind=kind)
    if under:
        queryset = queryset.filter(region_path__under=under)
    return queryset


# --- The category catalogue -----------------------------------------------------------------------------------

def _english() -> bool:
    return (get_language() or "").startswith("en")


def category_name(category: Category | None) -> str:
    """A category's name in the reader's language (the Chinese name where no English one is given)."""
    if category is None:
        return ""
    return (_english() and category.name_en) or category.name


def question_label(question: dict) -> str:
    """A category's form question as the reader reads it: its English label on English pages, if it has one."""
    return (_english() and question.get("label_en")) or question.get("label") or question["code"]


def catalogue_list_for(*, actor, status: str | None = None) -> QuerySet:
    queryset = restrict(Catalogue.objects.select_related("region"), actor=actor, action="view").annotate(
        category_count=Count("categories", filter=Q(categories__parent__isnull=False)))
    return queryset.filter(status=status) if status else queryset


def catalogue_for(*, path: str = "") -> Catalogue | None:
    """The catalogue that applies at a place with region path `path`: the active catalogue of the deepest
    region on the path that has one, else the national active one ("" asks for the national one). None only
    before any catalogue was activated. One small query (the active catalogues' ids and revisions); the
    catalogue objects of a revision are kept per process, since an active catalogue never changes."""
    paths = set(ancestor_paths(path))
    best, depth = None, -1
    for pk, revision, region_path in Catalogue.objects.filter(status=CatalogueStatus.ACTIVE).values_list(
            "pk", "revision", "region__path"):
        if region_path is None or region_path in paths:
            here = len(region_path or "")
            if here > depth:
                best, depth = (pk, revision), here
    if best is None:
        return None
    catalogue = _FROZEN_CATALOGUES.get(best[1])
    if catalogue is None:
        catalogue = Catalogue.objects.select_related("region").get(pk=best[0])
        _remember(_FROZEN_CATALOGUES, best[1], catalogue)
    return catalogue


def category_list_for(*, actor, catalogue: Catalogue | None) -> QuerySet:
    """A catalogue's categories (majors and subcategories) with their time limits, for whoever may view
    categories (catalogue data has no place in the tree)."""
    if catalogue is None:
        return Category.objects.none()
    queryset = (Category.objects.filter(catalogue=catalogue).select_related("parent")
                .prefetch_related("time_limits").order_by("code"))
    return restrict(queryset, actor=actor, action="view")


def category_by_code(*, path: str, code: str) -> Category | None:
    """The category `code` of the catalogue that applies at `path` (see catalogue_for)."""
    catalogue = catalogue_for(path=path)
    if catalogue is None or not code:
        return None
    if catalogue.status == CatalogueStatus.DRAFT:  # (never, as catalogue_for answers active ones)
        category = Category.objects.select_related("parent").filter(catalogue=catalogue, code=code).first()
    else:
        by_code = _FROZEN_CATEGORIES.get(catalogue.revision)
        if by_code is None:
            by_code = {c.code: c for c in Category.objects.select_related("parent").filter(catalogue=catalogue)}
            _remember(_FROZEN_CATEGORIES, catalogue.revision, by_code)
        category = by_code.get(code)
    if category is not None:
        category.catalogue = catalogue
    return category


# Catalogues that can no longer change (active or retired) and their categories, kept per process by the
# catalogue's revision (a random key each version gets; a rolled-back version's never comes back).
_FROZEN_CATALOGUES: dict = {}
_FROZEN_CATEGORIES: dict = {}


def _remember(cache: dict, key, value) -> None:
    if len(cache) >= _FROZEN_MAX:
        cache.pop(next(iter(cache)))
    cache[key] = value


# Time limits of catalogues that can no longer change (active or retired), by the catalogue's revision:
# {(category id, step, urgency): (amount, unit)}. Drafts are read afresh each time.
_FROZEN_LIMITS: dict = {}
_FROZEN_MAX = 32


def _limit_rows(catalogue: Catalogue, category: Category) -> dict:
    if catalogue.status != CatalogueStatus.DRAFT:
        rows = _FROZEN_LIMITS.get(catalogue.revision)
        if rows is None:
            if len(_FROZEN_LIMITS) >= _FROZEN_MAX:
                _FROZEN_LIMITS.pop(next(iter(_FROZEN_LIMITS)))
            rows = _FROZEN_LIMITS[catalogue.revision] = {
                (category_id, step, urgency): (amount, unit)
                for category_id, step, urgency, amount, unit in CategoryTimeLimit.objects.filter(
                    category__catalogue=catalogue).values_list("category_id", "step", "urgency", "amount", "unit")
            }
        return rows
    ids = [pk for pk in (category.pk, category.parent_id) if pk]
    return {(category_id, step, urgency): (amount, unit)
            for category_id, step, urgency, amount, unit in CategoryTimeLimit.objects.filter(
                category_id__in=ids).values_list("category_id", "step", "urgency", "amount", "unit")}


def category_limit(*, category: Category | None, urgency: str, step: str) -> tuple[Decimal, str]:
    """How long `step` (respond / handle / verify) may take for a case of `category` at `urgency`, as
    (amount, LimitUnit): the subcategory's row for that urgency, else its any-urgency row, else the same two of
    its major category, else yiwang.org.policies.DEFAULT_LIMITS. An empty urgency means the category's default.

    Cheap enough for every step of every case: an active or retired catalogue never changes, so its limits are
    read once per process (keyed by the catalogue's revision); the category's catalogue is one query unless the
    caller selected it along.
    """
    if step not in LimitStep.values:
        raise ValueError(f"unknown step {step!r}")
    urgency = urgency or (category.default_urgency if category is not None else Urgency.YELLOW)
    if urgency not in Urgency.values:
        raise ValueError(f"unknown urgency {urgency!r}")
    if category is not None:
        rows = _limit_rows(category.catalogue, category)
        for category_id in (category.pk, category.parent_id):
            for urgency_ in (urgency, ""):
                found = rows.get((category_id, step, urgency_))
                if found is not None:
                    return found
    return DEFAULT_LIMITS[step][urgency]


# --- The responsibility matrix --------------------------------------------------------------------------------


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
    that names the category. Rules match by category code, so they keep working for the categories of a newer
    catalogue version (or of a jurisdiction's own catalogue) that keep the code.
    """
    own_code = category.code if category is not None else None
    major_code = category.parent.code if category is not None and category.parent_id else None
    codes = [code for code in (own_code, major_code) if code]
    rules = list(
        ResponsibilityRule.objects.select_related("unit", "category")
        .filter(region__path__in=ancestor_paths(path), unit__is_active=True)
        .filter(Q(category__code__in=codes) | Q(category__isnull=True))
    )

    def rank(rule: ResponsibilityRule):
        rule_code = rule.category.code if rule.category_id else None
        specificity = 0 if rule_code is None else 2 if rule_code == own_code else 1
        # Two rules for one code in one region can only come from outside the services; the one made for this
        # very catalogue, then the newest, wins.
        same_catalogue = bool(category is not None and rule.category_id
                              and rule.category.catalogue_id == category.catalogue_id)
        return specificity, len(rule.region_path), same_catalogue, rule.pk

    if not rules:
        return None
    best = max(rules, key=rank)
    matched = {2: "category", 1: "major_category", 0: "fallback"}[rank(best)[0]]
    return RoutingSuggestion(unit=best.unit, rule=best, matched=matched)
