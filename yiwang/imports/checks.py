"""Checking the rows of an import file and placing them, in memory: each row's values as the exports write
them, its grid (the whole batch in one vectorised call), its category and whether the importer may report
there. Nothing here writes; yiwang.imports.services writes what passes."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

import numpy as np
from django.utils import timezone

from yiwang.accounts.policies import GRID, REGION, grants_for
from yiwang.cases.choices import Channel
from yiwang.cases.deadlines import WARN_SHARE
from yiwang.geo import locator_state
from yiwang.geo.models import Region
from yiwang.imports import crs as crs_convert
from yiwang.imports.choices import Crs
from yiwang.imports.models import ImportRun
from yiwang.imports.readers import cell_text
from yiwang.org.choices import CatalogueStatus, Urgency
from yiwang.org.models import Catalogue, Category
from yiwang.org.selectors import category_limit
from yiwang.workcal import calendar as wc

MAX_LENGTHS = {"external_ref": 64, "address": 255, "reporter_name": 64, "reporter_phone": 32}
FUTURE_TOLERANCE = dt.timedelta(minutes=5)

# --- values as the exports write them ------------------------------------------------------------------------

URGENCY_WORDS = {
    **dict.fromkeys(["red", "特急", "特别紧急", "非常紧急", "红", "红色"], Urgency.RED),
    **dict.fromkeys(["orange", "紧急", "加急", "较急", "橙", "橙色"], Urgency.ORANGE),
    **dict.fromkeys(["yellow", "一般", "普通", "正常", "黄", "黄色"], Urgency.YELLOW),
    **dict.fromkeys(["green", "不急", "缓办", "低", "绿", "绿色"], Urgency.GREEN),
}
# Statuses of a case finished in the source system.
FINISHED_WORDS = {"办结", "已办结", "结案", "已结案", "完成", "已完成", "关闭", "已关闭", "归档", "已归档", "已回访",
                  "closed", "finished", "done"}
CHANNEL_WORDS = {
    **{c: c for c in Channel.values},
    **dict.fromkeys(["12345", "8890", "热线", "12345热线", "8890热线", "市长热线", "政务服务热线"], Channel.HOTLINE),
    **dict.fromkeys(["部门", "部门系统", "部门转办"], Channel.DEPARTMENT),
    **dict.fromkeys(["企业", "企业诉求"], Channel.ENTERPRISE),
    **dict.fromkeys(["随手拍", "群众上报"], Channel.APP),
    **dict.fromkeys(["网格员", "网格员巡查", "巡查"], Channel.PATROL),
    **dict.fromkeys(["视频", "千里眼", "视频监控"], Channel.VIDEO),
    **dict.fromkeys(["领导交办"], Channel.LEADER),
    **dict.fromkeys(["社区", "基层难题上报"], Channel.COMMUNITY),
}

_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:(?:\s+|\s*T\s*)(\d{1,2})\s*[:：时点]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})(?:\.(\d{1,6}))?)?\s*[秒分]?)?\s*")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?")


def parse_when(value, tz) -> dt.datetime:
    """A time as exports write it (2024-03-05 14:23:11, 2024/3/5 14:23, 2024年3月5日 14时23分, 20240305142311,
    ISO 8601 with a zone, an Excel date cell), local time unless it says otherwise. ValueError if it is none."""
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=tz)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=tz)
    text = cell_text(value)
    match = _DATE.fullmatch(text) or _COMPACT.fullmatch(text)
    if match:
        y, mo, d, h, mi, s, frac = (match.groups() + (None,))[:7]
        return dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                           int((frac or "0").ljust(6, "0")), tzinfo=tz)
    parsed = dt.datetime.fromisoformat(text)
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=tz)


@dataclass(slots=True)
class Row:
    position: int
    line: int
    number: str
    channel: str
    description: str = ""
    address: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""
    result: str = ""
    legacy_status: str = ""
    reported_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    finished: bool = False
    lon: float | None = None
    lat: float | None = None
    region: tuple | None = None  # (id, path) named by the row
    category_text: str = ""
    urgency: str | None = None
    # Filled by location and classification.
    grid_id: int | None = None
    place_id: int | None = None
    path: str = ""
    level_path: str = ""
    category: Category | None = None


@dataclass
class Batch:
    rows: list[Row] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    failed: int = 0
    read: int = 0
    position_after: int = 0
    seen: dict = field(default_factory=dict)


class Context:
    """What a run needs for every batch, loaded once: the actor's area, regions, grids, catalogues."""

    def __init__(self, run: ImportRun, index: dict[str, int]):
        self.run = run
        self.actor = run.created_by
        self.index = index
        self.columns = run.columns
        self.tz = timezone.get_default_timezone()
        self.seen: dict[str, int] = {}  # channel + number → first row
        everyone = self.actor is None or (self.actor.is_superuser and self.actor.is_active)
        self.scope = None if everyone else [g.path for g in grants_for(self.actor).get("cases.add_case", [])
                                           if g.kind in (REGION, GRID)]
        self._allowed: dict[str, bool] = {}
        self.regions_by_code: dict[str, tuple[int, str]] = {}
        self.regions_by_name: dict[str, list[tuple[int, str]]] = {}
        self.region_paths: dict[int, str] = {}
        for pk, code, name, path in Region.objects.values_list("id", "code", "name", "path"):
            self.regions_by_code[code] = (pk, path)
            self.regions_by_name.setdefault(name, []).append((pk, path))
            self.region_paths[pk] = path
        self._grids_version = None
        self.grids: dict[int, tuple[str, int, str]] = {}  # grid id → (path, community id, community path)
        catalogues = list(Catalogue.objects.filter(status=CatalogueStatus.ACTIVE).select_related("region"))
        self.catalogues = sorted(((c.region.path if c.region_id else "", c) for c in catalogues),
                                 key=lambda pair: -len(pair[0]))
        self._catalogue_at: dict[str, int | None] = {}
        self.by_code: dict[tuple[int, str], Category] = {}
        self.by_name: dict[tuple[int, str], Category | None] = {}
        by_id = {c.pk: c for c in catalogues}
        for category in Category.objects.filter(catalogue__in=catalogues):
            category.catalogue = by_id[category.catalogue_id]
            self.by_code[(category.catalogue_id, category.code.casefold())] = category
            if category.parent_id:
                key = (category.catalogue_id, category.name)
                self.by_name[key] = None if key in self.by_name else category  # a name twice: ambiguous
        self._limits: dict[tuple, tuple] = {}

    # -- cells

    def cell(self, cells: list, name: str):
        i = self.index.get(name)
        return cells[i] if i is not None and i < len(cells) else None

    def text(self, cells: list, name: str) -> str:
        return cell_text(self.cell(cells, name))

    def channel_of(self, cells: list) -> str | None:
        value = self.text(cells, "channel")
        return CHANNEL_WORDS.get(value.casefold() if value.isascii() else value) if value else self.run.channel

    def key(self, channel: str, number: str) -> str:
        return number if channel == self.run.channel else f"{channel}\x00{number}"

    # -- the actor's area, places, categories

    def allowed(self, path: str) -> bool:
        if self.scope is None:
            return True
        found = self._allowed.get(path)
        if found is None:
            found = self._allowed[path] = any(path.startswith(p) for p in self.scope)
        return found

    def grid(self, grid_id: int, state) -> tuple[str, int, str]:
        if self._grids_version != state.version or grid_id not in self.grids:
            self.grids = {}
            for pk, (_code, _name, _kind, path) in state.grids.items():
                codes = path.strip("/").split("/")
                community = self.regions_by_code.get(codes[-2]) if len(codes) >= 2 else None
                if community is not None:
                    self.grids[pk] = (path, community[0], community[1])
            self._grids_version = state.version
        return self.grids[grid_id]

    def catalogue_at(self, path: str) -> int | None:
        if path not in self._catalogue_at:
            self._catalogue_at[path] = next((c.pk for prefix, c in self.catalogues if path.startswith(prefix)), None)
        return self._catalogue_at[path]

    def limit(self, category: Category | None, urgency: str, step: str, start: dt.datetime) -> tuple:
        """(amount, unit, due, warn) of a clock started at `start`; the same for a whole batch."""
        key = (category.pk if category else None, urgency, step, start)
        found = self._limits.get(key)
        if found is None:
            if len(self._limits) > 10_000:
                self._limits.clear()
            amount, unit = category_limit(category=category, urgency=urgency, step=step)
            due = wc.add(start, amount, unit)
            warn = wc.add(start, WARN_SHARE * wc.elapsed(start, due, unit), unit)
            found = self._limits[key] = (amount, unit, due, warn)
        return found


def row_error(ctx: Context, row_or_line, number: str, field_name: str, code: str, **params) -> dict:
    """An ImportRowError, as the values of its row."""
    line = row_or_line.line if isinstance(row_or_line, Row) else row_or_line
    column = ctx.columns.get(field_name, "") if field_name else ""
    return {"run_id": ctx.run.pk, "row": line, "number": number[:64], "column": column[:100], "code": code,
            "params": params}


def _parse(ctx: Context, position: int, line: int, cells: list, number: str, channel: str | None,
           now: dt.datetime, errors: list) -> Row | None:
    """One row's own values, or None after adding its errors (all of them, so one pass fixes a row)."""
    text = ctx.text
    row = Row(position=position, line=line, number=number, channel=channel or ctx.run.channel)
    before = len(errors)

    def fail(name, code, **params):
        errors.append(row_error(ctx, line, number, name, code, **params))

    if not number:
        fail("external_ref", "missing_number")
    if channel is None:
        fail("channel", "bad_channel", value=text(cells, "channel"))
    row.description = text(cells, "description")
    if not row.description:
        fail("description", "missing_description")
    for name in ("address", "reporter_name", "reporter_phone", "result", "legacy_status"):
        setattr(row, name, text(cells, name))
    for name, limit in MAX_LENGTHS.items():
        value = number if name == "external_ref" else getattr(row, name)
        if len(value) > limit:
            fail(name, "too_long", max=limit)

    reported = ctx.cell(cells, "reported_at")
    if reported in (None, ""):
        fail("reported_at", "missing_date")
    else:
        try:
            row.reported_at = parse_when(reported, ctx.tz)
        except (ValueError, OverflowError):
            fail("reported_at", "bad_date", value=cell_text(reported))
        else:
            if row.reported_at > now + FUTURE_TOLERANCE:
                fail("reported_at", "bad_date", value=cell_text(reported), variant="future")
    status = row.legacy_status
    row.finished = (status.casefold() if status.isascii() else status) in FINISHED_WORDS
    closed = ctx.cell(cells, "closed_at")
    if closed not in (None, ""):
        try:
            row.closed_at = parse_when(closed, ctx.tz)
        except (ValueError, OverflowError):
            fail("closed_at", "bad_date", value=cell_text(closed))
        else:
            if row.closed_at > now + FUTURE_TOLERANCE:
                fail("closed_at", "bad_date", value=cell_text(closed), variant="future")
            elif row.reported_at and row.closed_at < row.reported_at:
                fail("closed_at", "bad_date", value=cell_text(closed), variant="before_report")
    elif row.finished:
        fail("closed_at", "close_time_required", value=status)

    lon_text, lat_text = text(cells, "lon"), text(cells, "lat")
    if lon_text or lat_text:
        try:
            lon, lat = float(lon_text), float(lat_text)
        except ValueError:
            if bool(lon_text) != bool(lat_text):
                fail("lat" if not lat_text else "lon", "bad_coordinates", variant="one")
            else:
                fail("lon", "bad_coordinates", value=f"{lon_text}, {lat_text}")
        else:
            if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
                fail("lon", "bad_coordinates", value=f"{lon_text}, {lat_text}")
            elif lon or lat:  # 0, 0 is what many exports write for "no position"
                row.lon, row.lat = lon, lat
    region = text(cells, "region")
    if region:
        found = ctx.regions_by_code.get(region)
        if found is None:
            named = ctx.regions_by_name.get(region, [])
            if len(named) > 1:
                fail("region", "ambiguous_region", value=region)
            elif named:
                found = named[0]
            else:
                fail("region", "unknown_region", value=region)
        row.region = found
    urgency = text(cells, "urgency")
    if urgency:
        row.urgency = URGENCY_WORDS.get(urgency.casefold() if urgency.isascii() else urgency)
        if row.urgency is None:
            fail("urgency", "bad_urgency", value=urgency)
    row.category_text = text(cells, "category")
    return row if len(errors) == before else None


def _locate(ctx: Context, rows: list[Row], errors: list) -> list[Row]:
    """Every row with a position to its grid (one vectorised call), then to its community; rows without one
    to the region they name."""
    state = locator_state.current()
    placed = [r for r in rows if r.lon is not None]
    if placed:
        lon = np.fromiter((r.lon for r in placed), dtype=np.float64, count=len(placed))
        lat = np.fromiter((r.lat for r in placed), dtype=np.float64, count=len(placed))
        if ctx.run.crs != Crs.WGS84:
            lon, lat = crs_convert.to_wgs84(lon, lat, ctx.run.crs)
            for row, x, y in zip(placed, lon.tolist(), lat.tolist(), strict=True):
                row.lon, row.lat = round(x, 7), round(y, 7)
        for row, grid_id in zip(placed, state.index.locate_many(lon, lat).tolist(), strict=True):
            if grid_id >= 0:
                row.grid_id = grid_id
                row.path, row.place_id, row.level_path = ctx.grid(grid_id, state)
    kept = []
    for row in rows:
        if row.grid_id is None:
            if row.region is None:
                code = "outside_area" if row.lon is not None else "no_location"
                errors.append(row_error(ctx, row, row.number, "lon" if row.lon is not None else "region", code,
                                     value=f"{row.lon}, {row.lat}"))
                continue
            row.place_id, row.path = row.region
            row.level_path = row.path
        kept.append(row)
    return kept


def _classify(ctx: Context, rows: list[Row], errors: list) -> list[Row]:
    kept = []
    for row in rows:
        if not ctx.allowed(row.path):
            errors.append(row_error(ctx, row, row.number, "region" if row.grid_id is None else "lon", "out_of_scope"))
            continue
        if row.category_text:
            catalogue = ctx.catalogue_at(row.path)
            value = row.category_text
            category = ctx.by_code.get((catalogue, value.casefold())) or ctx.by_name.get((catalogue, value))
            if category is None:
                errors.append(row_error(ctx, row, row.number, "category", "unknown_category", value=value))
                continue
            if category.parent_id is None or not category.is_active:
                errors.append(row_error(ctx, row, row.number, "category", "category_invalid", value=value))
                continue
            row.category = category
        kept.append(row)
    return kept


def prepare_batch(ctx: Context, rows: list[tuple[int, int, list]], now: dt.datetime) -> Batch:
    """Check a batch's rows and place them, in memory: nothing is written here."""
    batch = Batch(read=len(rows), position_after=rows[-1][0] + 1 if rows else 0)
    errors = batch.errors
    parsed = []
    for position, line, cells in rows:
        count = len(errors)
        number = ctx.text(cells, "external_ref")
        channel = ctx.channel_of(cells)
        row = _parse(ctx, position, line, cells, number, channel, now, errors)
        if number:
            key = ctx.key(channel or ctx.run.channel, number)
            first = ctx.seen.get(key) or batch.seen.get(key)
            if first is None:
                batch.seen[key] = line
            else:
                errors.append(row_error(ctx, line, number, "external_ref", "duplicate_in_file", value=number,
                                     first=first))
                row = None
        if row is not None:
            parsed.append(row)
        elif len(errors) == count:  # refused without an error of its own: cannot happen, but never silently
            errors.append(row_error(ctx, line, number, "", "invalid"))
    rows_ok = _classify(ctx, _locate(ctx, parsed, errors), errors)
    batch.rows = rows_ok
    batch.failed = len(rows) - len(rows_ok)
    return batch
