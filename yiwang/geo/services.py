"""Writes to the region tree and the grids. Each one is atomic, checked in the actor's scope before and
after, journaled in the same transaction, and bumps the geography version so every process's point → grid
index refreshes."""

from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _
from shapely.geometry import shape

from yiwang.accounts.policies import ensure_in_scope, require, restrict
from yiwang.core.errors import ValidationFailed, check_date_order, check_editable, invalid
from yiwang.core.scope import ScopeSpec
from yiwang.core.services import audit_write, snapshot
from yiwang.geo import locator_state
from yiwang.geo.choices import LEVEL_PARENT, GridDuty, GridKind, RegionLevel
from yiwang.geo.geometry import OVERLAP_TOLERANCE_M2, bounds, clean_boundary, degrees2_to_m2
from yiwang.geo.models import GeoVersion, Grid, GridStaff, Region

# Division-code shape per level: how many leading digits a child shares with its parent, and which tail must
# be zeros (GB/T 2260 + the statistical 12-digit code: 6 county + 3 street + 3 community).
CODE_PARENT_PREFIX = {RegionLevel.DISTRICT: 4, RegionLevel.STREET: 6, RegionLevel.COMMUNITY: 9}
CODE_ZERO_TAIL = {RegionLevel.CITY: 4, RegionLevel.DISTRICT: 6, RegionLevel.STREET: 9, RegionLevel.COMMUNITY: 12}


def region_code_error(*, code: str, level: str, parent: Region | None) -> str | None:
    """Why `code` cannot be a `level` region under `parent`, or None."""
    if level not in RegionLevel.values:
        return _("Unknown region level “%(level)s”.") % {"level": level}
    if not (isinstance(code, str) and len(code) == 12 and code.isdigit()):
        return _("A region code must be 12 digits.")
    tail = CODE_ZERO_TAIL[level]
    if tail < 12 and code[tail:] != "0" * (12 - tail):
        return _("A %(level)s code must end in %(n)d zeros.") % {"level": RegionLevel(level).label, "n": 12 - tail}
    if level == RegionLevel.COMMUNITY and code[9:] == "000":
        return _("A community code must not end in 000.")
    expected_parent = LEVEL_PARENT[RegionLevel(level)]
    if expected_parent is None:
        if parent is not None:
            return _("A city has no parent region.")
        return None
    if parent is None:
        return _("A %(level)s needs a parent region.") % {"level": RegionLevel(level).label}
    if parent.level != expected_parent:
        return _("A %(level)s must sit under a %(parent)s.") % {
            "level": RegionLevel(level).label, "parent": RegionLevel(expected_parent).label,
        }
    prefix = CODE_PARENT_PREFIX[RegionLevel(level)]
    if code[:prefix] != parent.code[:prefix]:
        return _("The code %(code)s does not belong under %(parent)s.") % {"code": code, "parent": parent.code}
    return None


def grid_code_error(*, code: str, community: Region | None) -> str | None:
    if community is None or community.level != RegionLevel.COMMUNITY:
        return _("A grid must sit under a community.")
    if not (isinstance(code, str) and code.isdigit() and len(code) in (14, 15) and code.startswith(community.code)):
        return _("A grid code is its community's 12-digit code followed by 2 or 3 digits.")
    return None


def _bump_geo_version() -> None:
    updated = GeoVersion.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        GeoVersion.objects.create(pk=1, version=1)
    locator_state.mark_stale()


def _repath(old: str, new: str) -> None:
    """Rewrite every path under `old` to sit under `new` — regions, grids and everything that carries a region
    path — in one UPDATE per table."""
    if old == new:
        return
    for model in apps.get_models():
        spec = getattr(model, "scope", None)
        if not isinstance(spec, ScopeSpec) or not spec.path or not spec.follows_moves:
            continue
        model._default_manager.filter(**{f"{spec.path}__under": old}).update(
            **{spec.path: Concat(Value(new), Substr(F(spec.path), len(old) + 1))}
        )



def _reaches(obj, actor, action: str) -> bool:
    if actor is None:
        return True
    return restrict(type(obj)._default_manager.filter(pk=obj.pk), actor=actor, action=action).exists()


# --- Regions ------------------------------------------------------------------------------------------------


@transaction.atomic
def region_create(
    *, actor, code: str, name: str, level: str, parent: Region | None = None, boundary: dict | None = None,
    is_urban: bool = True, reason: str = "",
) -> Region:
    error = region_code_error(code=code, level=level, parent=parent)
    if error:
        raise invalid(error, "region_code", "code")
    if Region.objects.filter(code=code).exists():
        raise invalid(_("A region with this code already exists."), "duplicate_code", "code")
    if not (name or "").strip():
        raise invalid(_("A name is required."), "required", "name")
    region = Region.objects.create(
        code=code, name=name.strip(), level=level, parent=parent, path=(parent.path if parent else "") + code + "/",
        boundary=clean_boundary(boundary) if boundary else None, is_urban=is_urban,
    )
    ensure_in_scope(region, actor=actor, action="add")
    audit_write(actor=actor, action="region.create", obj=region, after=snapshot(region), reason=reason,
                scope_path=region.path)
    return region


REGION_EDITABLE = {"name", "code", "parent", "boundary", "is_urban"}


@transaction.atomic
def region_update(*, actor, region: Region, reason: str = "", **changes) -> Region:
    check_editable(changes, REGION_EDITABLE)
    region = Region.objects.select_for_update().get(pk=region.pk)
    require(region, actor=actor, action="change")
    before = snapshot(region)
    old_path = region.path
    for field, value in changes.items():
        setattr(region, field, value)
    if "boundary" in changes and region.boundary:
        region.boundary = clean_boundary(region.boundary)
    if not (region.name or "").strip():
        raise invalid(_("A name is required."), "required", "name")
    if "code" in changes or "parent" in changes:
        error = region_code_error(code=region.code, level=region.level, parent=region.parent)
        if error:
            raise invalid(error, "region_code", "code")
        if Region.objects.filter(code=region.code).exclude(pk=region.pk).exists():
            raise invalid(_("A region with this code already exists."), "duplicate_code", "code")
        if region.parent and region.parent.path.startswith(old_path):
            raise invalid(_("A region cannot move under itself."), "region_cycle", "parent")
    region.save()
    new_path = (region.parent.path if region.parent else "") + region.code + "/"
    if new_path != old_path:
        _repath(old_path, new_path)
        region.refresh_from_db()
        _bump_geo_version()
    ensure_in_scope(region, actor=actor, action="change")
    audit_write(actor=actor, action="region.update", obj=region, before=before, after=snapshot(region),
                reason=reason, scope_path=region.path)
    return region


@transaction.atomic
def region_delete(*, actor, region: Region, reason: str = "") -> None:
    require(region, actor=actor, action="delete")
    if region.children.exists() or region.grids.exists():
        raise ValidationFailed(_("A region that still has regions or grids under it cannot be deleted."),
                               code="region_not_empty")
    audit_write(actor=actor, action="region.delete", obj=region, before=snapshot(region), reason=reason,
                scope_path=region.path)
    region.delete()


# --- Grids --------------------------------------------------------------------------------------------------


def _grid_fields_error(*, kind, households, population) -> ValidationFailed | None:
    if kind not in GridKind.values:
        return invalid(_("Unknown grid kind “%(kind)s”.") % {"kind": kind}, "grid_kind", "kind")
    for field, value in (("households", households), ("population", population)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return invalid(_("Must be a whole number, zero or more."), "invalid_number", field)
    return None


def _set_bounds(grid: Grid) -> None:
    grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat = bounds(grid.boundary)


def _refuse_overlap(grid: Grid) -> None:
    """Grids tile their area: a grid may touch its neighbours but not share area with any active grid."""
    if not grid.is_active:
        return
    mine = shape(grid.boundary)
    neighbours = Grid.objects.filter(is_active=True, max_lon__gte=grid.min_lon, min_lon__lte=grid.max_lon,
                                     max_lat__gte=grid.min_lat, min_lat__lte=grid.max_lat)
    if grid.pk:
        neighbours = neighbours.exclude(pk=grid.pk)
    for code, boundary in neighbours.values_list("code", "boundary"):
        area = degrees2_to_m2(mine.intersection(shape(boundary)).area, mine.centroid.y)
        if area > OVERLAP_TOLERANCE_M2:
            raise invalid(_("The grid overlaps grid %(other)s (%(area).0f m²).") % {"other": code, "area": area},
                          "grid_overlap", "boundary")


@transaction.atomic
def grid_create(
    *, actor, code: str, name: str, community: Region, boundary: dict, kind: str = GridKind.RESIDENTIAL,
    households: int = 0, population: int = 0, party_organisation=None, reason: str = "",
) -> Grid:
    error = grid_code_error(code=code, community=community)
    if error:
        raise invalid(error, "grid_code", "code")
    if Grid.objects.filter(code=code).exists():
        raise invalid(_("A grid with this code already exists."), "duplicate_code", "code")
    if not (name or "").strip():
        raise invalid(_("A name is required."), "required", "name")
    problem = _grid_fields_error(kind=kind, households=households, population=population)
    if problem:
        raise problem
    grid = Grid(
        code=code, name=name.strip(), community=community, path=community.path + code + "/", kind=kind,
        households=households, population=population, boundary=clean_boundary(boundary),
        party_organisation=party_organisation,
    )
    _set_bounds(grid)
    _refuse_overlap(grid)
    grid.save(force_insert=True)
    ensure_in_scope(grid, actor=actor, action="add")
    _bump_geo_version()
    audit_write(actor=actor, action="grid.create", obj=grid, after=snapshot(grid), reason=reason,
                scope_path=grid.path)
    return grid


# What grid workers and community staff keep up to date themselves (geo.change_grid_basedata); everything
# else about a grid (code, boundary, community …) needs geo.change_grid.
GRID_BASE_DATA = {"households", "population"}
GRID_EDITABLE = {"name", "code", "community", "kind", "households", "population", "boundary",
                 "party_organisation", "is_active"}


@transaction.atomic
def grid_update(*, actor, grid: Grid, reason: str = "", **changes) -> Grid:
    check_editable(changes, GRID_EDITABLE)
    grid = Grid.objects.select_for_update().get(pk=grid.pk)
    action = "change"
    if set(changes) <= GRID_BASE_DATA and not _reaches(grid, actor, "change"):
        action = "geo.change_grid_basedata"
    require(grid, actor=actor, action=action)
    before = snapshot(grid)
    for field, value in changes.items():
        setattr(grid, field, value)
    if "code" in changes or "community" in changes:
        error = grid_code_error(code=grid.code, community=grid.community)
        if error:
            raise invalid(error, "grid_code", "code")
        if Grid.objects.filter(code=grid.code).exclude(pk=grid.pk).exists():
            raise invalid(_("A grid with this code already exists."), "duplicate_code", "code")
    if not (grid.name or "").strip():
        raise invalid(_("A name is required."), "required", "name")
    problem = _grid_fields_error(kind=grid.kind, households=grid.households, population=grid.population)
    if problem:
        raise problem
    grid.boundary = clean_boundary(grid.boundary)
    _set_bounds(grid)
    if {"boundary", "is_active"} & set(changes):
        _refuse_overlap(grid)
    old_path, grid.path = grid.path, grid.community.path + grid.code + "/"
    grid.save()
    if grid.path != old_path:
        GridStaff.objects.filter(grid=grid).update(path=grid.path)
    ensure_in_scope(grid, actor=actor, action=action)
    if {"boundary", "code", "community", "is_active"} & set(changes):
        _bump_geo_version()
    audit_write(actor=actor, action="grid.update", obj=grid, before=before, after=snapshot(grid), reason=reason,
                scope_path=grid.path)
    return grid


@transaction.atomic
def grid_delete(*, actor, grid: Grid, reason: str = "") -> None:
    require(grid, actor=actor, action="delete")
    audit_write(actor=actor, action="grid.delete", obj=grid, before=snapshot(grid), reason=reason,
                scope_path=grid.path)
    grid.delete()
    _bump_geo_version()


@transaction.atomic
def grid_staff_assign(
    *, actor, grid: Grid, user, duty: str, valid_from: dt.date, valid_to: dt.date | None = None, unit=None,
    reason: str = "",
) -> GridStaff:
    if duty not in GridDuty.values:
        raise invalid(_("Unknown duty “%(duty)s”.") % {"duty": duty}, "grid_duty", "duty")
    if duty == GridDuty.FUNCTIONAL and unit is None:
        raise invalid(_("A functional member must name the department they come from."), "required", "unit")
    check_date_order(valid_from, valid_to)
    staff = GridStaff.objects.create(
        grid=grid, user=user, duty=duty, unit=unit, path=grid.path, valid_from=valid_from, valid_to=valid_to
    )
    ensure_in_scope(staff, actor=actor, action="add")
    audit_write(actor=actor, action="grid_staff.assign", obj=staff, after=snapshot(staff), reason=reason,
                scope_path=staff.path)
    return staff


@transaction.atomic
def grid_staff_end(*, actor, staff: GridStaff, valid_to: dt.date, reason: str = "") -> GridStaff:
    require(staff, actor=actor, action="change")
    check_date_order(staff.valid_from, valid_to)
    before = snapshot(staff)
    staff.valid_to = valid_to
    staff.save(update_fields=["valid_to"])
    audit_write(actor=actor, action="grid_staff.end", obj=staff, before=before, after=snapshot(staff),
                reason=reason, scope_path=staff.path)
    return staff
