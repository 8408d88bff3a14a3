"""GeoJSON import and export of the region tree and grids.

Format: a FeatureCollection; each feature's properties carry `level` ("city", "district", "street",
"community" or "grid"), `code`, `name` and `parent` (the parent's code; a grid's parent is its community).
Regions may add `urban` (bool); grids add `kind`, `households`, `population`, and must have a Polygon or
MultiPolygon geometry. Features may come in any order; codes already in the database are updated.

An import is all or nothing: every feature is checked first and a bad file is rejected whole, with each
error naming the feature (its number in the file and its code) and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from django.db import transaction
from django.utils.translation import gettext as _
from shapely.geometry import shape

from yiwang.accounts.policies import restrict
from yiwang.core.errors import OutOfScope, ValidationFailed
from yiwang.core.models import AuditEntry
from yiwang.core.services import audit_entry, snapshot
from yiwang.geo.choices import GridKind, RegionLevel
from yiwang.geo.geometry import OVERLAP_TOLERANCE_M2, bounds, clean_boundary, degrees2_to_m2
from yiwang.geo.models import Grid, GridStaff, Region
from yiwang.geo.services import _bump_geo_version, grid_code_error, region_code_error

LEVEL_ORDER = [RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY]
GRID = "grid"
MAX_ERRORS = 100


class ImportRejected(ValidationFailed):
    code = "import_rejected"

    def __init__(self, errors: list[dict]):
        self.errors = errors
        lines = [f"#{e['feature']} {e.get('code') or ''}: {e['reason']}" for e in errors]
        super().__init__(_("The file was rejected; nothing was imported.") + "\n" + "\n".join(lines))


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class _Row:
    number: int  # 1-based position in the file
    level: str
    code: str
    name: str
    parent: str | None
    props: dict
    geometry: dict | None


def _parse(data) -> tuple[list[_Row], list[dict]]:
    errors: list[dict] = []
    rows: list[_Row] = []

    def fail(number, code, reason):
        errors.append({"feature": number, "code": code, "reason": str(reason)})

    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
        data.get("features"), list
    ):
        fail(0, "", _("The file is not a GeoJSON FeatureCollection."))
        return rows, errors
    seen: dict[str, int] = {}
    for number, feature in enumerate(data["features"], start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            fail(number, "", _("Not a GeoJSON Feature."))
            continue
        props = feature.get("properties") or {}
        code = str(props.get("code") or "").strip()
        level = str(props.get("level") or "").strip()
        name = str(props.get("name") or "").strip()
        parent = props.get("parent")
        parent = str(parent).strip() if parent not in (None, "") else None
        if level not in [*LEVEL_ORDER, GRID]:
            fail(number, code, _("Unknown level “%(level)s”.") % {"level": level})
            continue
        if not code:
            fail(number, code, _("The code is missing."))
            continue
        if code in seen:
            fail(number, code, _("The code also appears in feature #%(n)d.") % {"n": seen[code]})
            continue
        seen[code] = number
        if not name:
            fail(number, code, _("The name is missing."))
            continue
        geometry = feature.get("geometry")
        if geometry is not None:
            try:
                geometry = clean_boundary(geometry)
            except ValidationFailed as exc:
                fail(number, code, exc.message)
                continue
        elif level == GRID:
            fail(number, code, _("A grid needs a boundary polygon."))
            continue
        if level == GRID:
            if props.get("kind", GridKind.RESIDENTIAL) not in GridKind.values:
                fail(number, code, _("Unknown grid kind “%(kind)s”.") % {"kind": props.get("kind")})
                continue
            bad = [f for f in ("households", "population") if not _count_ok(props.get(f, 0))]
            if bad:
                label = Grid._meta.get_field(bad[0]).verbose_name
                fail(number, code, _("%(field)s must be a whole number, zero or more.") % {"field": label})
                continue
        rows.append(_Row(number, level, code, name, parent, props, geometry))
    return rows, errors


def _count_ok(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_overlaps(grid_rows: list[_Row], errors: list[dict]) -> None:
    """Grids may not share area with each other, nor with grids already stored that the file does not
    replace."""
    codes = [row.code for row in grid_rows]
    geoms = [shape(row.geometry) for row in grid_rows]
    labels = [f"#{row.number}" for row in grid_rows]
    in_file = set(codes)
    for code, boundary in Grid.objects.filter(is_active=True).values_list("code", "boundary").iterator():
        if code not in in_file:
            codes.append(code)
            geoms.append(shape(boundary))
            labels.append(code)
    if len(geoms) < 2:
        return
    array = np.array(geoms, dtype=object)
    tree = shapely.STRtree(array)
    left, right = tree.query(array, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return
    interior = shapely.relate_pattern(array[left], array[right], "T********")
    left, right = left[interior], right[interior]
    if not len(left):
        return
    areas = shapely.area(shapely.intersection(array[left], array[right]))
    areas_m2 = degrees2_to_m2(areas, np.array([g.centroid.y for g in array[left]]))
    for i, j, area in zip(left, right, areas_m2, strict=True):
        if area > OVERLAP_TOLERANCE_M2 and i < len(grid_rows):
            row = grid_rows[i]
            errors.append({
                "feature": row.number, "code": row.code,
                "reason": _("The grid overlaps grid %(other)s (%(area).0f m²).") % {
                    "other": f"{labels[j]} {codes[j]}" if j < len(grid_rows) else codes[j], "area": area,
                },
            })
            if len(errors) >= MAX_ERRORS:
                return


@transaction.atomic
def regions_import(*, actor, data, source: str = "") -> ImportReport:
    """Import regions and grids from a GeoJSON FeatureCollection, all or nothing."""
    rows, errors = _parse(data)
    by_level: dict[str, list[_Row]] = {level: [] for level in [*LEVEL_ORDER, GRID]}
    for row in rows:
        by_level[row.level].append(row)
    if not errors:
        _check_overlaps(by_level[GRID], errors)
    if errors:
        raise ImportRejected(errors[:MAX_ERRORS])

    report = ImportReport()
    audits: list[AuditEntry] = []
    reason = _("Imported from %(source)s") % {"source": source} if source else _("Imported")
    regions = {r.code: r for r in Region.objects.filter(code__in=[row.code for row in rows] +
                                                       [row.parent for row in rows if row.parent])}

    def reject(row: _Row, message: str):
        raise ImportRejected([{"feature": row.number, "code": row.code, "reason": str(message)}])

    touched_regions: list[Region] = []
    for level in LEVEL_ORDER:
        new: list[Region] = []
        for row in by_level[level]:
            parent = regions.get(row.parent) if row.parent else None
            if row.parent and parent is None:
                reject(row, _("The parent region %(parent)s is neither in the file nor stored.") % {
                    "parent": row.parent})
            error = region_code_error(code=row.code, level=level, parent=parent)
            if error:
                reject(row, error)
            is_urban = bool(row.props.get("urban", True))
            existing = regions.get(row.code)
            if existing is not None:
                if existing.level != level or existing.parent_id != (parent.pk if parent else None):
                    reject(row, _("Region %(code)s is stored elsewhere in the tree; an import does not move "
                                  "regions (change its parent in the administration site).") % {"code": row.code})
                before = snapshot(existing)
                existing.name, existing.boundary, existing.is_urban = row.name, row.geometry, is_urban
                after = snapshot(existing)
                if after != before:
                    existing.save(update_fields=["name", "boundary", "is_urban"])
                    audits.append(audit_entry(actor=actor, action="region.import", obj=existing, before=before,
                                              after=after, reason=reason, scope_path=existing.path))
                    report.updated += 1
                else:
                    report.unchanged += 1
                touched_regions.append(existing)
                continue
            region = Region(code=row.code, name=row.name, level=level, parent=parent,
                            path=(parent.path if parent else "") + row.code + "/", boundary=row.geometry,
                            is_urban=is_urban)
            new.append(region)
        Region.objects.bulk_create(new)
        for region in new:
            regions[region.code] = region
            audits.append(audit_entry(actor=actor, action="region.import", obj=region, after=snapshot(region),
                                      reason=reason, scope_path=region.path))
        touched_regions.extend(new)
        report.created += len(new)

    grid_rows = by_level[GRID]
    stored_grids = {g.code: g for g in Grid.objects.filter(code__in=[row.code for row in grid_rows])}
    new_grids, changed_grids, moved = [], [], []
    for row in grid_rows:
        community = regions.get(row.parent) if row.parent else None
        if community is None and row.parent:
            community = Region.objects.filter(code=row.parent).first()
        error = grid_code_error(code=row.code, community=community)
        if error:
            reject(row, error)
        values = {
            "name": row.name, "community": community, "path": community.path + row.code + "/",
            "kind": row.props.get("kind", GridKind.RESIDENTIAL), "households": row.props.get("households", 0),
            "population": row.props.get("population", 0), "boundary": row.geometry,
        }
        grid = stored_grids.get(row.code)
        if grid is None:
            grid = Grid(code=row.code, **values)
            grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat = bounds(row.geometry)
            new_grids.append(grid)
            continue
        before = snapshot(grid)
        for field, value in values.items():
            setattr(grid, field, value)
        grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat = bounds(row.geometry)
        after = snapshot(grid)
        if after == before:
            report.unchanged += 1
            continue
        if before["path"] != after["path"]:
            moved.append(grid)
        changed_grids.append(grid)
        audits.append(audit_entry(actor=actor, action="grid.import", obj=grid, before=before, after=after,
                                  reason=reason, scope_path=grid.path))
    Grid.objects.bulk_create(new_grids, batch_size=500)
    Grid.objects.bulk_update(
        changed_grids, ["name", "community", "path", "kind", "households", "population", "boundary", "min_lon",
                        "min_lat", "max_lon", "max_lat"], batch_size=500,
    )
    for grid in moved:
        GridStaff.objects.filter(grid=grid).update(path=grid.path)
    for grid in new_grids:
        audits.append(audit_entry(actor=actor, action="grid.import", obj=grid, after=snapshot(grid), reason=reason,
                                  scope_path=grid.path))
    report.created += len(new_grids)
    report.updated += len(changed_grids)

    # Everything the file touched must lie inside the actor's scope; otherwise nothing is imported.
    if actor is not None:
        for model, objs, action in (
            (Region, list(touched_regions), "change"), (Grid, new_grids + changed_grids, "change"),
        ):
            ids = [obj.pk for obj in objs]
            visible = set()
            for start in range(0, len(ids), 900):
                chunk = ids[start:start + 900]
                visible |= set(restrict(model.objects.filter(pk__in=chunk), actor=actor, action=action)
                               .values_list("pk", flat=True))
            outside = [obj for obj in objs if obj.pk not in visible]
            if outside:
                raise OutOfScope(_("%(code)s lies outside the area you are responsible for; nothing was "
                                   "imported.") % {"code": outside[0].code})
    AuditEntry.objects.bulk_create(audits, batch_size=500)
    if new_grids or changed_grids:
        _bump_geo_version()
    return report


def regions_export(*, actor, root: Region | None = None) -> dict:
    """The regions and grids the actor can see (under `root` if given) as a FeatureCollection that
    `regions_import` reads back unchanged."""
    regions = restrict(Region.objects.select_related("parent"), actor=actor, action="view")
    grids = restrict(Grid.objects.select_related("community"), actor=actor, action="view")
    if root is not None:
        regions = regions.filter(path__under=root.path)
        grids = grids.filter(path__under=root.path)
    features = []
    for region in regions.order_by("path"):
        features.append({
            "type": "Feature",
            "properties": {"level": region.level, "code": region.code, "name": region.name,
                           "parent": region.parent.code if region.parent else None, "urban": region.is_urban},
            "geometry": region.boundary,
        })
    for grid in grids.order_by("path").iterator(chunk_size=1000):
        features.append({
            "type": "Feature",
            "properties": {"level": GRID, "code": grid.code, "name": grid.name, "parent": grid.community.code,
                           "kind": grid.kind, "households": grid.households, "population": grid.population},
            "geometry": grid.boundary,
        })
    return {"type": "FeatureCollection", "features": features}
