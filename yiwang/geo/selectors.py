"""Reads of the region tree and grids. Lists start from the actor's visible set."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import QuerySet

from yiwang.accounts.policies import restrict
from yiwang.geo import locator_state
from yiwang.geo.models import Grid, Region


@dataclass(frozen=True)
class Place:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class Location:
    """Where a point falls: its grid and the grid's community, street, district and city."""

    grid: Place
    grid_kind: str
    grid_path: str
    community: Place | None
    street: Place | None
    district: Place | None
    city: Place | None


def _location(state, grid_id: int) -> Location:
    code, name, kind, path = state.grids[grid_id]
    levels = {}
    for region_code in path.strip("/").split("/")[:-1]:
        region = state.regions.get(region_code)
        if region:
            levels[region[2]] = Place(id=region[0], code=region_code, name=region[1])
    return Location(
        grid=Place(id=grid_id, code=code, name=name), grid_kind=kind, grid_path=path,
        community=levels.get("community"), street=levels.get("street"), district=levels.get("district"),
        city=levels.get("city"),
    )


def grid_locate(*, lat: float, lon: float) -> Location | None:
    """The grid containing a WGS-84 point, or None outside every grid. Points on a boundary shared by grids go
    to the grid with the smallest code (see yiwang.geo.locator)."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    state = locator_state.current()
    grid_id = state.index.locate(lon, lat)
    return None if grid_id is None else _location(state, grid_id)


def _known(model, **values):
    """A model instance of the fields known; the others are deferred (loaded from the database on access)."""
    fields = [f for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(None, [f.attname for f in fields], [values[f.attname] for f in fields])


def located_grid(location: Location) -> Grid:
    """The grid a point was located in, with its community, as model instances made from the locator's memory
    rather than read again (a report's place needs their ids, codes, names and paths)."""
    if location.community is None:  # (a grid always sits in a community; this only guards the shortcut)
        return Grid.objects.select_related("community").defer("boundary", "community__boundary") \
            .get(pk=location.grid.id)
    parent = location.grid_path.rstrip("/")
    community = _known(Region, id=location.community.id, code=location.community.code,
                       name=location.community.name, level="community", path=parent[:parent.rfind("/") + 1])
    grid = _known(Grid, id=location.grid.id, code=location.grid.code, name=location.grid.name,
                  community_id=community.id, path=location.grid_path, kind=location.grid_kind)
    grid.community = community
    return grid


def region_list_for(*, actor, action: str = "view", level: str | None = None, parent=None,
                    under: str | None = None) -> QuerySet:
    queryset = restrict(Region.objects.all(), actor=actor, action=action)
    if level:
        queryset = queryset.filter(level=level)
    if parent is not None:
        queryset = queryset.filter(parent=parent)
    if under:
        queryset = queryset.filter(path__under=under)
    return queryset


def grid_list_for(*, actor, action: str = "view", under: str | None = None, kind: str | None = None,
                  bbox: tuple[float, float, float, float] | None = None) -> QuerySet:
    queryset = restrict(Grid.objects.select_related("community"), actor=actor, action=action)
    if under:
        queryset = queryset.filter(path__under=under)
    if kind:
        queryset = queryset.filter(kind=kind)
    if bbox:
        min_lon, min_lat, max_lon, max_lat = bbox
        queryset = queryset.filter(max_lon__gte=min_lon, min_lon__lte=max_lon, max_lat__gte=min_lat,
                                   min_lat__lte=max_lat)
    return queryset
