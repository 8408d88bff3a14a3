"""Reads of the phone pages: what a reporter may choose at a place, a grid worker's grids and cases."""

from __future__ import annotations

from django.utils.translation import get_language

from yiwang.accounts.policies import GRID, OWN, REGION, grants_for
from yiwang.geo.models import Grid, Region
from yiwang.org.models import Category
from yiwang.org.selectors import catalogue_for, question_label

MAX_GRIDS = 50


def categories_at(*, path: str = "") -> dict:
    """The active subcategories of the catalogue that applies at `path`, as the report form offers them: code,
    name in the reader's language, the major category's name, `names` (its names in both languages, which the
    description's words are matched against for suggestions), search words, and the questions its report form
    asks (`questions_of`)."""
    catalogue = catalogue_for(path=path)
    if catalogue is None:
        return {"catalogue": None, "items": []}
    english = (get_language() or "").startswith("en")
    items = []
    for c in (Category.objects.filter(catalogue=catalogue, parent__isnull=False, is_active=True)
              .select_related("parent").order_by("code")):
        name = (c.name_en or c.name) if english else c.name
        group = (c.parent.name_en or c.parent.name) if english else c.parent.name
        items.append({"code": c.code, "name": name, "group": group, "names": f"{c.name} {c.name_en}".strip(),
                      "words": f"{c.name} {c.name_en} {c.parent.name} {c.parent.name_en}".strip(),
                      "questions": questions_of(c)})
    return {"catalogue": catalogue.pk, "items": items}


def questions_of(category: Category) -> list[dict]:
    """The extra questions a category's report form asks, as the form shows them: code, label in the reader's
    language, datatype, required, and the offered values of a list question."""
    return [{"code": q["code"], "label": question_label(q), "datatype": q["datatype"],
             "required": bool(q.get("required")), "values": q.get("values", [])}
            for q in sorted(category.form_questions or [], key=lambda q: q.get("order", 0))]


def region_from_address(address: str) -> Region | None:
    """The deepest region (community, street, district) whose name the typed address contains, so an address
    without a position still reaches the right desk."""
    address = (address or "").strip()
    if len(address) < 2:
        return None
    found = (Region.objects.extra(where=["%s LIKE ('%%' || name || '%%')"], params=[address])
             .exclude(level="city").only("id", "name", "path", "level", "code"))
    return max(found, key=lambda r: (len(r.path), len(r.name)), default=None)


def reporter_kind(actor) -> str:
    """"patrol" for a grid worker or community staff (reports in their own grids), "enterprise" for an enterprise
    account, "resident" otherwise (also anonymous visitors)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "resident"
    grants = grants_for(actor).get("cases.add_case", [])
    if any(g.kind in (GRID, REGION) for g in grants):
        return "patrol"
    from yiwang.web.selectors import roles_of

    return "enterprise" if "enterprise" in roles_of(actor) else "resident"


def grids_of(actor) -> list[Grid]:
    """The grids a grid worker (or community staff) verifies in: grids held directly, and those under a region
    held for verification."""
    grants = grants_for(actor).get("cases.verify_case", [])
    grid_paths = [g.path for g in grants if g.kind == GRID]
    region_paths = [g.path for g in grants if g.kind == REGION]
    queryset = Grid.objects.select_related("community").filter(is_active=True)
    found = list(queryset.filter(path__in=grid_paths)) if grid_paths else []
    for path in region_paths:
        found += list(queryset.filter(path__under=path)[:MAX_GRIDS])
    unique = {g.pk: g for g in found}
    return sorted(unique.values(), key=lambda g: g.code)[:MAX_GRIDS]


GRID_VERBS = ("verify", "rework", "self_handle")


def grid_steps_for(actor, case) -> set[str]:
    """The grid worker's steps (check, rework, fix on the spot) the actor may take on the case now, by the
    transition table and the services' own scope check: the page offers only these."""
    from yiwang.cases.policies import TRANSITIONS
    from yiwang.cases.services import actor_holds

    return {verb for verb in GRID_VERBS
            if case.status in TRANSITIONS[verb].sources
            and actor_holds(actor, TRANSITIONS[verb].perm, case, TRANSITIONS[verb].scopes)}


def may_fix_on_the_spot(actor) -> bool:
    """Whether the actor may fix what they report on patrol (自处置): community staff report but do not fix."""
    return bool(grants_for(actor).get("cases.self_handle_case"))


def same_as_claimed(case) -> str:
    """The number of the open case the reporter said this report is the same problem as ("" if none)."""
    from yiwang.phone.models import DuplicateClaim

    return DuplicateClaim.objects.filter(case=case).values_list("same_as__number", flat=True).first() or ""


def is_own_only(actor) -> bool:
    grants = grants_for(actor).get("cases.view_case", [])
    return bool(grants) and all(g.kind == OWN for g in grants)

