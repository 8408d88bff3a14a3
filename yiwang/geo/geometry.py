"""Boundary polygons: validation and normalisation of GeoJSON geometry (WGS-84 lon/lat)."""

from __future__ import annotations

import json
import math

import numpy as np
import shapely
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape
from shapely.geometry.polygon import orient

from yiwang.core.errors import ValidationFailed

AREA_TYPES = {"Polygon", "MultiPolygon"}
# Grids may touch but not share area; allow about 1 m² of slack for rounding in surveyed data.
OVERLAP_TOLERANCE_M2 = 1.0
METRES_PER_DEGREE = 111_320.0


def degrees2_to_m2(area_deg2, lat_deg):
    """Planar lon/lat area (degrees²) → approximate m² at latitude `lat_deg` (scalar or numpy array)."""
    return area_deg2 * METRES_PER_DEGREE**2 * np.cos(np.radians(lat_deg))


def clean_boundary(value) -> dict:
    """A valid Polygon or MultiPolygon in lon/lat, rings oriented (exterior counter-clockwise), as plain
    GeoJSON. Raises ValidationFailed with the reason."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationFailed(_("The boundary is not valid JSON."), code="geometry_invalid") from None
    if not isinstance(value, dict) or value.get("type") not in AREA_TYPES:
        raise ValidationFailed(_("The boundary must be a GeoJSON Polygon or MultiPolygon."), code="geometry_type")
    try:
        geom = shape(value)
    except Exception:  # shapely raises several types for malformed coordinates
        raise ValidationFailed(_("The boundary's coordinates are malformed."), code="geometry_invalid") from None
    if geom.is_empty:
        raise ValidationFailed(_("The boundary is empty."), code="geometry_empty")
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ValidationFailed(
            _("The boundary is not in WGS-84 longitude/latitude degrees."), code="geometry_not_wgs84"
        )
    if not geom.is_valid:
        raise ValidationFailed(
            _("The boundary is not a valid polygon: %(reason)s") % {"reason": shapely.is_valid_reason(geom)},
            code="geometry_invalid",
        )
    if geom.area <= 0:
        raise ValidationFailed(_("The boundary has no area."), code="geometry_empty")
    if geom.geom_type == "Polygon":
        geom = orient(geom)
    else:
        geom = shapely.MultiPolygon([orient(part) for part in geom.geoms])
    return json.loads(json.dumps(mapping(geom)))


def bounds(boundary: dict) -> tuple[float, float, float, float]:
    return shape(boundary).bounds


def boundary_svg(boundary: dict | None, *, size: int = 320) -> str:
    """A small inline SVG drawing of a boundary (north up, east-west shrunk by cos(latitude) so shapes look as
    on a map), for admin pages — no map library or tile server needed."""
    if not boundary:
        return ""
    geom = shape(boundary)
    min_x, min_y, max_x, max_y = geom.bounds
    squeeze = math.cos(math.radians((min_y + max_y) / 2))
    span = max((max_x - min_x) * squeeze, max_y - min_y) or 1.0
    scale = (size - 10) / span
    width = (max_x - min_x) * squeeze * scale + 10
    height = (max_y - min_y) * scale + 10

    def ring(coords) -> str:
        points = " ".join(f"{(x - min_x) * squeeze * scale + 5:.1f},{(max_y - y) * scale + 5:.1f}" for x, y in coords)
        return f"M{points}Z"

    polygons = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    path = " ".join(ring(p.exterior.coords) + " " + " ".join(ring(i.coords) for i in p.interiors)
                    for p in polygons)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
            f'height="{height:.0f}" style="max-width:100%;height:auto" role="img">'
            f'<path d="{path}" fill="#79aec8" fill-opacity="0.35" stroke="#417690" stroke-width="1.5" '
            f'fill-rule="evenodd"/></svg>')


def simplified(boundaries: list[dict | None], *, pixels: int = 1500) -> list[dict | None]:
    """The boundaries drawn together on one map, each simplified to about 1/`pixels` of their joint extent
    (below a screen pixel) and rounded to 6 decimals (~0.1 m), so a page can carry a city's districts."""
    shapes = [shape(b) if b else None for b in boundaries]
    present = [s for s in shapes if s is not None]
    if not present:
        return [None] * len(boundaries)
    min_x, min_y, max_x, max_y = shapely.GeometryCollection(present).bounds
    tolerance = max(max_x - min_x, max_y - min_y) / pixels
    out = []
    for geom in shapes:
        if geom is None:
            out.append(None)
            continue
        small = shapely.set_precision(geom.simplify(tolerance, preserve_topology=True), 1e-6)
        out.append(json.loads(json.dumps(mapping(small if not small.is_empty else geom))))
    return out
