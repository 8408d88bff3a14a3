"""The command centre's wall screen (指挥中心大屏): one region's subtree — or one grid — at a glance, for a
1920×1080 screen, with drill-down city → district → street → community → grid by the map or the rankings.

Every figure comes from `yiwang.command.selectors.overview` (the same dict the API serves), rendered in HTML
on the server; the charts and the map draw the same figures from a `json_script`. The screen refreshes its
live panels every 60 s (htmx, out-of-band swaps); the map's polygons are sent once per page. The place, its
breadcrumbs and the map's polygons come from the selectors too."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from yiwang.cases.choices import Status
from yiwang.cases.measures import RATES, WEIGHTS
from yiwang.command.selectors import ACT_ON_LIMIT, crumbs, map_shapes, overview, place_for
from yiwang.core.errors import NotFound
from yiwang.geo.choices import RegionLevel

REFRESH_SECONDS = 60

# The §6 rates as the wall names them (the Chinese names are measures.RATES'); the area score's parts first.
RATE_LABELS = {
    "patrol_rate": _("Patrol report rate"), "filed_rate": _("Filing rate"), "handled_rate": _("Handling rate"),
    "handled_on_time_rate": _("On-time handling rate"), "handled_late_rate": _("Late handling rate"),
    "extended_rate": _("Extension rate"), "closed_rate": _("Closing rate"),
    "closed_on_time_rate": _("On-time closing rate"), "reworked_rate": _("Rework rate"),
    "responded_on_time_rate": _("Response rate"), "resolved_rate": _("Resolution rate"),
    "satisfied_rate": _("Satisfaction rate"),
}
assert set(RATE_LABELS) == set(RATES)

FIGURES = [
    ("reported", _("Reports received")), ("filed", _("Cases filed")), ("closed", _("Cases closed")),
    ("overdue", _("Overdue now")), ("supervised", _("Under supervision")),
]

LEVEL_LABELS = {
    RegionLevel.CITY: _("districts"), RegionLevel.DISTRICT: _("streets"), RegionLevel.STREET: _("communities"),
    RegionLevel.COMMUNITY: _("grids"),
}

MAP_MEASURES = [("open", _("Open cases")), ("overdue", _("Overdue cases")), ("score", _("Area score"))]


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _panels(data: dict) -> dict:
    """What the live panels show, shaped for the templates (every number from `overview`)."""
    measures = data["measures"]
    statuses = dict(Status.choices)
    scored = [name for name in RATES if name in WEIGHTS]
    return {
        "figures": [{"key": key, "label": label, "today_display": f"{data['today'][key]:,}",
                     "month_display": f"{data['month'][key]:,}"} for key, label in FIGURES],
        "rates": [{"key": name, "label": RATE_LABELS[name], "value": percent(measures[name]),
                   "scored": name in WEIGHTS} for name in [*scored, *(n for n in RATES if n not in scored)]],
        "children": [{**row, "closed_rate_display": percent(row["closed_rate"])}
                     for row in data["rankings"]["children"]],
        "units": [{**row, "handled_on_time_display": percent(row["handled_on_time_rate"])}
                  for row in data["rankings"]["units"]],
        "act_on": [{**case, "status_label": statuses.get(case["status"], case["status"])}
                   for case in data["act_on"]],
        "channels_total": sum(c["count"] for c in data["channels"]),
        # The list stops at ACT_ON_LIMIT cases: its count then says "20+" and links the full lists.
        "act_on_more": len(data["act_on"]) >= ACT_ON_LIMIT,
    }


def _chart_data(data: dict) -> dict:
    """What wall.js draws (the same figures as the HTML)."""
    return {
        "region": data["region"]["code"],
        "trend": data["trend"], "hot": data["hot_categories"], "channels": data["channels"],
        "map": data["map"], "points": data["points"],
        "labels": {"reported": str(_("Reports")), "closed": str(_("Closings")),
                   **{key: str(label) for key, label in MAP_MEASURES}},
    }


@login_required
@require_GET
def wall(request):
    """The wall screen; asked by its own refresh (htmx), just the live panels."""
    actor = request.user
    try:
        place = place_for(actor=actor, code=request.GET.get("region"), grids=True)
        data = overview(actor=actor, region=place)
    except NotFound:
        return render(request, "command/wall_not_found.html", status=404)
    context = {
        "data": data, "place": place, "chart_data": _chart_data(data), **_panels(data),
        "as_of": dt.datetime.fromisoformat(data["as_of"]), "refresh_seconds": REFRESH_SECONDS,
        "is_grid": data["children_level"] is None,
        "children_label": LEVEL_LABELS.get(getattr(place, "level", None), ""),
    }
    if request.headers.get("HX-Request") == "true":
        return render(request, "command/_wall_live.html", {**context, "oob": True})
    context.update({
        "crumbs": crumbs(actor, place),
        "map_measures": MAP_MEASURES,
        "map_setup": {"shapes": map_shapes(place), "tiles": getattr(settings, "YIWANG_TILE_URL", "") or "",
                      "attribution": getattr(settings, "YIWANG_TILE_ATTRIBUTION", "") or ""},
    })
    return render(request, "command/wall.html", context)
