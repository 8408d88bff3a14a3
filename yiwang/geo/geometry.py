"""Boundary polygons: validation and normalisation of GeoJSON geometry (WGS-84 lon/lat)."""

from __future__ import annotations

import json

import shapely
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape
from shapely.geometry.polygon import orient

from yiwang.core.errors import ValidationFailed

AREA_TYPES = {"Polygon", "MultiPolygon"}


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
