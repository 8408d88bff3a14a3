"""A realistic case history for the demo city (DESIGN §4), made through the real case services.

Reports come in over the last DAYS days from every channel, located by the real locator at a point inside a
grid (grids weighted by population), and move through the loop in time order: each step is a call to the
service with `now=` its simulated time, done by a person who holds the right role in the right scope on that
day (the street's desk, the lead unit's staff, the grid's grid worker, the district's leader …), so the
services check every step exactly as they would check a person at the desk. Side paths come in realistic
shares — rejected, merged duplicates, voided, self-handled, returned, reworked, escalated, extended,
supervised, parked, reopened, handled late — and recent cases are left open in every state. Everything
follows from `seed`: the same seed and `now` give the same history.

The steps of all cases run as one queue ordered by time, so the journal's times follow its order, every step
is at or before `now`, and each person's grants are read once per simulated day.
"""

from __future__ import annotations

import datetime as dt
import heapq
import io
import itertools
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from shapely.geometry import Point, shape

from yiwang.accounts.models import RoleAssignment, User
from yiwang.accounts.policies import grants_for
from yiwang.cases import services as cs
from yiwang.cases.choices import Channel, Rating, SuperviseAction
from yiwang.cases.choices import Status as S
from yiwang.cases.models import Case
from yiwang.core import clock
from yiwang.demo.services import CITY_CODE, START, _person
from yiwang.geo import locator_state
from yiwang.geo.models import Grid
from yiwang.media.processing import Upload
from yiwang.org.choices import LimitStep, UnitKind, Urgency
from yiwang.org.models import Category, Unit
from yiwang.org.selectors import ancestor_paths, catalogue_for, category_by_code, category_limit
from yiwang.workcal import calendar as wc
from yiwang.workcal.choices import LimitUnit

DAYS = 120

# How reports come in (DESIGN §4 channels).
CHANNELS = {Channel.APP: 45, Channel.PATROL: 30, Channel.HOTLINE: 15, Channel.ENTERPRISE: 5, Channel.VIDEO: 2,
            Channel.DEPARTMENT: 2, Channel.COMMUNITY: 1}

# Subcategory → (weight, descriptions, result). Common city problems weigh most. {spot} is where it is.
PROBLEMS: dict[str, tuple[float, tuple[str, ...], str]] = {
    "E0102": (10, ("{spot}有一堆生活垃圾没人清理，味道很大", "{spot}垃圾桶满了溢出来，垃圾散落一地",
                   "{spot}有人乱倒垃圾，已经堆了好几天"), "已安排环卫人员清运，现场已清理干净"),
    "E0103": (4, ("{spot}堆放大量建筑渣土，长期无人清运", "{spot}积存垃圾和渣土，影响通行"),
              "渣土垃圾已全部清运，现场已平整"),
    "E0104": (5, ("{spot}路面很脏，有油污和泥土", "{spot}地面有大片污渍，行人反映强烈"), "已安排保洁人员冲洗路面，现场恢复整洁"),
    "E0106": (2, ("{spot}绿地里有很多塑料袋和烟头",), "已清理绿地内杂物"),
    "E0101": (3, ("{spot}有住户私自搭建彩钢房", "{spot}一楼住户私扩院墙、搭建棚子"), "已下达限期拆除通知，违建已拆除"),
    "E0107": (1.5, ("{spot}有一辆废弃车辆长期停放，积满灰尘",), "已联系车主将车辆移走"),
    "E0108": (2, ("{spot}有人丢弃旧沙发和床垫",), "废弃家具已清运"),
    "E0110": (2, ("{spot}路面出现坑洼，下雨就积水",), "已对破损路面进行修补"),
    "E0115": (1, ("{spot}有人焚烧垃圾和树叶，烟很大",), "已制止焚烧行为并清理现场"),
    "E0116": (1.5, ("{spot}饭店油烟直排，楼上居民没法开窗",), "已责令商户安装油烟净化设备"),
    "E0201": (5, ("{spot}墙上和电线杆上贴满了小广告", "{spot}楼道里被喷涂了办证小广告"), "小广告已清除，墙面已粉刷"),
    "E0202": (1, ("{spot}商户违规悬挂大型广告条幅",), "已责令商户拆除违规广告"),
    "E0301": (2, ("{spot}工地夜间施工，噪音扰民",), "已约谈施工单位，夜间停止施工"),
    "E0302": (2, ("{spot}工地扬尘严重，裸土没有覆盖",), "已督促施工单位覆盖裸土、洒水降尘"),
    "E0303": (1, ("{spot}施工废料随意堆放在路边",), "施工废料已清运"),
    "E0401": (0.3, ("{spot}路面突然塌陷，有安全隐患",), "已设置围挡并完成抢修回填"),
    "E0402": (0.7, ("{spot}自来水管破裂，水流到路面上",), "已关阀抢修，管道修复，供水恢复"),
    "E0404": (2, ("{spot}下水道堵塞，污水外溢",), "已疏通下水道，现场已清理"),
    "E0406": (1, ("{spot}下雨后路面积水很深，车辆无法通行",), "已排水疏通，积水已消除"),
    "E0407": (0.7, ("{spot}路面结冰很滑，已有行人摔倒",), "已清除积雪并撒融雪剂"),
    "E0501": (5, ("{spot}有流动摊贩占道经营", "{spot}早市摊贩占满人行道"), "已劝离摊贩，现场恢复秩序"),
    "E0504": (6, ("{spot}商户把货物摆到店外经营，占用人行道",), "已责令商户将物品收回店内"),
    "E0505": (8, ("{spot}有车辆乱停放，堵住了消防通道", "{spot}机动车停在人行道上，行人无法通过"), "已联系车主挪走车辆"),
    "E0506": (4, ("{spot}共享单车乱停乱放，堆了一大片",), "已联系运维人员清理摆放"),
    "E0507": (4, ("{spot}有人乱堆杂物，占用公共空间",), "杂物已清理"),
    "E0508": (1.5, ("{spot}商户用音响招揽顾客，声音很大",), "已责令商户降低音量"),
    "E0510": (2, ("{spot}晚上有露天烧烤，油烟很大",), "已劝导取缔露天烧烤"),
    "E0511": (1, ("{spot}沿街晾晒衣物，影响市容",), "已劝导住户收回衣物"),
    "C0101": (1, ("{spot}上水井盖{cover}，很危险",), "已更换井盖并固定"),
    "C0102": (1, ("{spot}污水井盖{cover}，晚上容易踩空",), "已更换井盖并固定"),
    "C0103": (1, ("{spot}雨水井盖{cover}",), "已更换井盖并固定"),
    "C0120": (4, ("{spot}有{lamps}盏路灯晚上不亮",), "已维修路灯，恢复照明"),
    "C0122": (1.5, ("{spot}健身器材损坏，存在安全隐患",), "已维修健身器材"),
    "C0204": (1, ("{spot}交通护栏被撞坏倒在路边",), "已修复交通护栏"),
    "C0301": (1, ("{spot}公共厕所很脏，没有人打扫",), "已安排专人保洁"),
    "C0302": (2.5, ("{spot}垃圾箱破损，垃圾洒落",), "已更换垃圾箱"),
    "C0402": (2, ("{spot}行道树枝条过长，挡住了路灯和行人",), "已修剪行道树"),
    "C0403": (1, ("{spot}绿地被踩踏成裸土",), "已补植绿化"),
    "S0101": (2, ("{spot}楼上住户漏水到楼下，双方协商不成",), "经社区调解，双方达成一致"),
    "S0103": (2, ("{spot}小区物业服务不到位，居民与物业发生纠纷",), "已约谈物业公司，整改到位"),
    "S0201": (2, ("{spot}暖气不热，室内只有十几度",), "已排查管线并放风，室温达标"),
    "S0202": (1, ("{spot}停水一整天，事先没有通知",), "管网已修复，恢复供水"),
    "S0205": (2, ("{spot}晚上有人跳广场舞，音响声音太大",), "已协调降低音量、调整时间"),
    "S0301": (1.5, ("{spot}楼道里堆放杂物，电动车在楼道充电",), "已清理楼道杂物，劝导规范充电"),
    "S0303": (0.5, ("{spot}老楼外墙墙皮脱落，存在安全隐患",), "已设置警示并完成修缮"),
}
ENTERPRISE_PROBLEMS: dict[str, tuple[float, tuple[str, ...], str]] = {
    "S0401": (3, ("企业办理项目审批进度缓慢，希望协调加快",), "已协调审批部门加快办理"),
    "S0402": (2, ("企业扩大生产遇到资金困难，希望对接融资渠道",), "已组织银企对接"),
    "S0403": (2, ("企业招工难，希望帮助发布招聘信息",), "已在就业服务平台发布招聘信息"),
    "S0404": (1, ("企业技术改造需要专家指导",), "已联系科技部门安排专家上门"),
    "S0405": (2, ("企业咨询减税降费相关政策",), "已安排专人上门解读政策"),
}
# What the other channels mostly see.
CHANNEL_PROBLEMS = {
    Channel.VIDEO: ("E0505", "E0504", "E0501", "E0102", "E0507", "E0510"),
    Channel.DEPARTMENT: ("S0301", "E0302", "E0116", "C0204", "E0505", "S0303"),
    Channel.COMMUNITY: ("S0101", "S0103", "S0205", "E0101", "S0303", "C0122"),
}
DEPARTMENT_REFS = {"S0301": "AJ", "S0303": "ZJ", "E0302": "HB", "E0116": "HB", "C0204": "GA", "E0505": "GA"}
SPOTS = ("小区南门", "小区北门", "3号楼东侧", "5号楼楼下", "菜市场门口", "公交站旁", "幼儿园附近", "十字路口东北角",
         "停车场入口", "商铺门前", "健身广场", "学校门口", "超市后身", "小区中心花园", "河边步道", "12号楼西侧")
COVER = {"missing": "丢失", "broken": "破损", "displaced": "移位"}

# Fates: the share of cases that take each side path (DESIGN §4), of all cases unless said otherwise.
SIDE_PATHS = {"reject": 0.03, "merge": 0.02, "void": 0.01, "return": 0.03, "rework": 0.03, "escalate": 0.02,
              "extension": 0.03, "supervise": 0.02, "park": 0.01, "reopen": 0.01}
SELF_HANDLED_OF_PATROL = 0.10
# Cases still open at `now`, by the state they wait in: (share, reported within the last … days).
OPEN_AT_NOW = {S.REPORTED: (0.004, 1), S.ACCEPTED: (0.003, 1), S.FILED: (0.003, 2), S.DISPATCHED: (0.004, 3),
               S.RETURNED: (0.002, 5), S.IN_PROGRESS: (0.008, 10), S.HANDLED: (0.004, 2), S.PARKED: (0.004, 60)}
# Of the history, the share reported in the grid of the demo account `gridworker` (about 70 times a grid's
# average), so that account's lists — to check on site, reported in my grid, lights — are not empty.
HOME_SHARE = 0.01
LATE_HANDLING = 0.07  # handled after the handling deadline
LATE_RESPONSE = 0.03  # accepted after the response deadline
LATE_CHECK = 0.05  # verified after the verification deadline
RATED = 0.9  # of the reporters who can rate, how many do
RATINGS = {Rating.SATISFIED: 0.80, Rating.BASICALLY: 0.16, Rating.UNSATISFIED: 0.04}

REASONS = {
    "reject": ("不属于城市管理受理范围，已告知向相关部门反映", "反映内容不清，回访无法联系上报人",
               "属于民事纠纷，建议通过司法途径解决", "经核实为已办结事项的重复诉求"),
    "void": ("经现场核实问题不存在", "上报信息有误，已与上报人确认", "与已立案件重复，作废处理"),
    "return": ("不属于本单位职责范围，请重新派遣", "点位不在本单位管辖范围", "问题涉及产权单位，非本单位处置"),
    "rework": ("现场核查仍有残留，未处理到位", "处置不彻底，问题反弹", "照片与现场不符，请重新处置"),
    "extension": ("需协调产权单位，材料尚未到齐", "需采购配件，预计延后", "涉及多个部门，需联合处置", "天气原因无法施工"),
    "park": ("涉及历史遗留问题，需市级层面研究", "产权不清，暂无法处置", "需纳入年度改造计划统筹解决"),
    "supervise": ("群众反映强烈，请加快办理", "请于规定时限内办结并反馈", "重点督办，注意处置质量"),
}
COMMENTS = {Rating.SATISFIED: ("处理很及时，谢谢！", "效率很高，点赞", "", ""),
            Rating.BASICALLY: ("处理了，但速度有点慢", "基本解决了", ""),
            Rating.UNSATISFIED: ("问题没有彻底解决", "处理太慢了", "反映多次还是老样子")}
# Still open at merge time, so a duplicate can join it.
MERGEABLE = {S.REPORTED, S.ACCEPTED, S.FILED, S.DISPATCHED, S.IN_PROGRESS, S.RETURNED, S.HANDLED}

# When in the day reports come in (hour 0 … 23).
HOURS = list(itertools.accumulate((1, .5, .3, .3, .3, .5, 1, 3, 6, 8, 8, 7, 5, 6, 7, 7, 6, 5, 4, 4, 3, 2, 1.5, 1)))

DESK = ("acceptor", "shift_lead")
DISPATCH = ("dispatcher", "shift_lead")
DECIDE = ("shift_lead", "dispatcher")
MINUTE, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)
TZ = timezone.get_default_timezone()  # Asia/Shanghai: no daylight saving, so adding hours is plain


class HistoryImpossible(Exception):
    """The loaded city lacks what a history needs (built before the case loop's desks and unit staff)."""


@dataclass
class HistoryReport:
    cases: int
    by_status: dict[str, int]
    seconds: float


def history_loaded() -> bool:
    return Case.objects.exists()


def demo_history_build(*, cases: int = 3000, seed: int = 2022, now: dt.datetime | None = None) -> HistoryReport:
    """Report `cases` cases over the DAYS days up to `now` and move each through the real services."""
    started = time.perf_counter()
    now = timezone.localtime(now or clock.now(), TZ).replace(microsecond=0)
    since = now - dt.timedelta(days=DAYS)
    if since.date() < START:
        raise HistoryImpossible(f"The demo staff take office on {START}; a history up to {now:%Y-%m-%d} would "
                                f"begin before that.")
    if not transaction.get_connection().in_atomic_block:
        # An index built inside a transaction is rebuilt at each use (it may hold uncommitted grids), so build
        # it before this one: every report below is located by the same index.
        locator_state.current()
    with transaction.atomic():  # the services' own atomic blocks become savepoints
        history = _History(rng=random.Random(seed), now=now, since=since)
        history.plan(cases)
        history.run()
        cs.deadline_sweep(now=now)
        pks = [story.case.pk for story in history.stories if story.case is not None]
        by_status = dict(sorted(Counter(Case.objects.filter(pk__in=pks).values_list("status", flat=True)).items()))
    return HistoryReport(cases=len(pks), by_status=by_status, seconds=time.perf_counter() - started)


def _after_photo(number: str) -> Upload:
    """The photo a fix on the spot carries (the service requires one): swept pavement under a kerb, its tones
    drawn from the case's number — not from the history's random stream, which stays as it was."""
    from PIL import Image, ImageDraw

    rng = random.Random(number)
    grey = rng.randrange(110, 170)
    image = Image.new("RGB", (320, 240), (grey, grey, grey + rng.randrange(0, 12)))
    draw = ImageDraw.Draw(image)
    kerb = rng.randrange(60, 120)
    draw.rectangle((0, kerb, 320, kerb + 14), fill=(205, 200, 190))
    draw.rectangle((0, 0, 320, kerb), fill=(70 + rng.randrange(30), 120 + rng.randrange(40), 60))  # the verge
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return Upload(name=f"{number}-after.jpg", content=out.getvalue())


# --- who works where ----------------------------------------------------------------------------------------

class _EveryDayOf:
    """Equal to each day from `first` to `last`: the key of a grants cache that holds for all of them."""

    __hash__ = None

    def __init__(self, first: dt.date, last: dt.date):
        self.first, self.last = first, last

    def __eq__(self, other):
        return isinstance(other, dt.date) and self.first <= other <= self.last


class _Cast:
    """The people holding each role over the whole simulated period, by scope; one User object per person."""

    def __init__(self, *, since: dt.date, until: dt.date):
        self.region: dict[str, dict[str, list[User]]] = defaultdict(lambda: defaultdict(list))
        self.grid: dict[str, dict[int, list[User]]] = defaultdict(lambda: defaultdict(list))
        self.unit: dict[str, dict[int, list[User]]] = defaultdict(lambda: defaultdict(list))
        self.own: dict[str, list[User]] = defaultdict(list)
        users: dict[int, User] = {}
        whole = Q(valid_from__lte=since) & (Q(valid_to__isnull=True) | Q(valid_to__gte=until))
        assignments = (RoleAssignment.objects.filter(whole, user__is_active=True)
                       .select_related("user", "role", "region", "grid").order_by("pk"))
        for a in assignments:
            user = users.setdefault(a.user_id, a.user)
            if a.region_id:
                self.region[a.role.code][a.region.path].append(user)
            elif a.grid_id:
                self.grid[a.role.code][a.grid_id].append(user)
            elif a.unit_id:
                self.unit[a.role.code][a.unit_id].append(user)
            else:
                self.own[a.role.code].append(user)
        # People whose roles change during the period (an assignment begins or ends inside it).
        self.changing = set(RoleAssignment.objects.exclude(whole).exclude(
            Q(valid_from__gt=until) | Q(valid_to__lt=since)).values_list("user_id", flat=True))
        self.period = _EveryDayOf(since, until)
        self.until = until
        self.ready: set[int] = set()

    def _ready(self, user: User) -> User:
        """Read the person's grants once for the whole period. grants_for caches them on the user object for
        one day; someone whose assignments all hold (or all do not) on every day of the period has the same
        grants each day, so the cache is keyed by the period instead of being re-read for every simulated day.
        Anyone else keeps the day-by-day reading."""
        if user.pk not in self.ready:
            self.ready.add(user.pk)
            if user.pk not in self.changing:
                grants = grants_for(user, today=self.until)
                cached = getattr(user, "_yiwang_grants", None)
                if isinstance(cached, tuple) and len(cached) == 2 and cached[1] is grants:
                    user._yiwang_grants = (self.period, grants)
        return user

    def _tiers(self, roles: tuple[str, ...], path: str, exclude: int | None = None) -> list[list[User]]:
        """The holders of `roles` in the regions over `path`, nearest level first."""
        tiers = []
        for ancestor in reversed(ancestor_paths(path)):
            people = [u for role in roles for u in self.region[role].get(ancestor, ()) if u.pk != exclude]
            if people:
                tiers.append(people)
        return tiers

    def covers(self, roles: tuple[str, ...], path: str) -> bool:
        return bool(self._tiers(roles, path))

    def over(self, rng: random.Random, roles: tuple[str, ...], path: str, *, exclude: int | None = None) -> User:
        """Someone holding one of `roles` in a region over `path`: mostly from the nearest level that has such
        people (the street's desk for a community's case), now and then from the level above."""
        tiers = self._tiers(roles, path, exclude)
        if not tiers:
            raise HistoryImpossible(f"Nobody in the demo city holds {'/'.join(roles)} over {path}.")
        return self._ready(rng.choice(tiers[1] if len(tiers) > 1 and rng.random() < 0.15 else tiers[0]))

    def in_unit(self, rng: random.Random, unit_id: int) -> User:
        return self._ready(rng.choice(self.unit["unit_staff"][unit_id]))

    def has_staff(self, unit_id: int | None) -> bool:
        return bool(unit_id and self.unit["unit_staff"].get(unit_id))

    def in_grid(self, rng: random.Random, grid_id: int) -> User | None:
        people = self.grid["grid_worker"].get(grid_id)
        return self._ready(rng.choice(people)) if people else None

    def account(self, role: str) -> User | None:
        """The demo account that reports as a resident or an enterprise (the only people who sign in as such)."""
        people = self.own[role]
        found = next((u for u in people if u.username == role), people[0] if people else None)
        return self._ready(found) if found else None


# --- one case's story ---------------------------------------------------------------------------------------

@dataclass
class _Story:
    n: int
    at: dt.datetime
    channel: str
    fate: str = "normal"
    stop_at: str | None = None  # the state the case waits in at `now`
    late: bool = False
    slow_response: bool = False
    grid: Grid | None = None
    point: tuple[float, float] | None = None  # (lat, lon)
    code: str = ""
    answers: dict = field(default_factory=dict)
    words: dict = field(default_factory=dict)
    category_at_report: bool = True
    reporter: User | None = None
    case: Case | None = None
    t: dt.datetime | None = None  # the time of its last step
    parent: _Story | None = None
    children: list[_Story] = field(default_factory=list)
    next_unit: Unit | None = None
    returned: bool = False
    reworked: bool = False
    reopened: bool = False
    extended: bool = False
    supervised: bool = False
    parked: bool = False
    escalations: int = 0


class _History:
    def __init__(self, *, rng: random.Random, now: dt.datetime, since: dt.datetime):
        self.rng, self.now, self.since = rng, now, since
        self.cast = _Cast(since=since.date(), until=now.date())
        city = f"{CITY_CODE}/"
        self.grids = {g.pk: g for g in Grid.objects.filter(is_active=True, path__startswith=city)
                      .select_related("community").order_by("path")}
        if not self.grids:
            raise HistoryImpossible("Build the demo city first.")
        self.shapes: dict[int, object] = {}
        self.units = {u.pk: u for u in Unit.objects.filter(is_active=True, kind__in=(
            UnitKind.DEPARTMENT, UnitKind.STREET_OFFICE, UnitKind.UTILITY))}
        self.unit_by_code = {u.code: u for u in self.units.values()}
        if catalogue_for(path=city) is None:
            raise HistoryImpossible("No active category catalogue.")
        self.categories: dict[str, Category] = {}
        for code in [*PROBLEMS, *ENTERPRISE_PROBLEMS]:
            category = category_by_code(path=city, code=code)
            if category is not None and category.parent_id and category.is_active:
                self.categories[code] = category
        self.problems = [c for c in PROBLEMS if c in self.categories]
        self.problem_weights = list(itertools.accumulate(PROBLEMS[c][0] for c in self.problems))
        self.enterprise_problems = [c for c in ENTERPRISE_PROBLEMS if c in self.categories]
        # Reports follow people: grids weighted by population (a little for empty ones); enterprises report from
        # enterprise grids.
        self.all_grids = list(self.grids.values())
        self.grid_weights = list(itertools.accumulate(g.population + 20 for g in self.all_grids))
        self.enterprise_grids = [g for g in self.all_grids if g.kind == "enterprise"] or self.all_grids
        self.enterprise_weights = list(itertools.accumulate(g.population + 20 for g in self.enterprise_grids))
        self.resident = self.cast.account("resident")
        self.enterprise = self.cast.account("enterprise")
        self._check_staff()
        self.stories: list[_Story] = []
        self.queue: list[tuple[dt.datetime, int, int, str]] = []
        self.seq = itertools.count()
        self.home_worker: User | None = None  # the demo account `gridworker` (see _home)
        self.home_worker_grid: int | None = None

    def _check_staff(self) -> None:
        """Every street has its desks and every unit a case can be sent to has staff, before anything is written."""
        for path in sorted({ancestor_paths(g.path)[2] for g in self.all_grids}):
            for roles in (DESK, ("shift_lead",), DISPATCH, ("leader",), ("community_staff",)):
                if not self.cast.covers(roles, path):
                    raise HistoryImpossible(f"Nobody in the demo city holds {'/'.join(roles)} over {path}.")
        for unit in self.units.values():
            if not self.cast.has_staff(unit.pk):
                raise HistoryImpossible(f"Nobody works in {unit.name} to take its cases.")

    # --- planning ---------------------------------------------------------------------------------------------

    def plan(self, count: int) -> None:
        rng = self.rng
        channels, weights = list(CHANNELS), list(CHANNELS.values())
        drawn = sorted((self._when(channel), channel) for channel in rng.choices(channels, weights, k=count))
        self.stories = [_Story(n=n, at=at, channel=channel) for n, (at, channel) in enumerate(drawn)]
        for story in self.stories:
            if story.channel == Channel.APP and self.resident is None or \
                    story.channel == Channel.ENTERPRISE and self.enterprise is None:
                story.channel = Channel.HOTLINE
        for story in self.stories:
            self._place(story)
        self._assign_fates(count)
        self._home()
        for story in self.stories:
            story.late = rng.random() < LATE_HANDLING
            story.slow_response = rng.random() < LATE_RESPONSE
            self._then(story, "report", story.at)

    def _when(self, channel: str) -> dt.datetime:
        """A report time: any day of the period, mostly by day; grid workers patrol in working hours."""
        rng = self.rng
        while True:
            day = (self.since + dt.timedelta(days=rng.uniform(0, DAYS))).date()
            if channel == Channel.PATROL:
                minute = rng.uniform(8.5 * 60, 17.5 * 60)
            else:
                minute = rng.choices(range(24), cum_weights=HOURS)[0] * 60 + rng.uniform(0, 60)
            at = (dt.datetime.combine(day, dt.time(), tzinfo=TZ) + dt.timedelta(minutes=minute)).replace(microsecond=0)
            if self.since <= at <= self.now:
                return at

    def _assign_fates(self, count: int) -> None:
        """Shares become counts (at least one of each in any history of 50 cases or more); open states go to
        recent cases, self-handling to patrols, reopening to reporters who can rate."""
        rng = self.rng

        def quota(share: float) -> int:
            return max(1, round(share * count)) if count >= 50 else round(share * count)

        free = set(range(count))
        # Red cases waiting at their level would be passed up by the final sweep; they are not left waiting.
        calm = {n for n in free if self.categories[self.stories[n].code].default_urgency != Urgency.RED}
        for status, (share, days) in OPEN_AT_NOW.items():
            recent = [s.n for s in self.stories
                      if s.n in free and s.n in calm and self.now - s.at <= dt.timedelta(days=days)]
            want = quota(share)
            if len(recent) < want:
                recent = sorted(free & calm, key=lambda n: (self.stories[n].at, n))[-want:]
            for n in rng.sample(sorted(recent), min(want, len(recent))):
                self.stories[n].fate, self.stories[n].stop_at = "open", status
                if status == S.RETURNED:
                    self.stories[n].fate = "return"
                elif status == S.PARKED:
                    self.stories[n].fate = "park"
                free.discard(n)
        patrols = sorted(n for n in free if self.stories[n].channel == Channel.PATROL)
        for n in rng.sample(patrols, min(len(patrols), round(SELF_HANDLED_OF_PATROL * len(patrols)))):
            self.stories[n].fate = "self_handle"
            free.discard(n)
        for fate, share in SIDE_PATHS.items():
            pool = sorted(free) if fate != "reopen" else sorted(
                n for n in free if self.stories[n].channel in (Channel.APP, Channel.ENTERPRISE))
            if fate == "merge":  # a duplicate needs an earlier case to duplicate
                pool = [n for n in pool if n >= 20]
            for n in rng.sample(pool, min(len(pool), quota(share))):
                self.stories[n].fate = fate
                free.discard(n)

    def _home(self) -> None:
        """Move HOME_SHARE of the cases (no enterprise's) into the demo grid worker's own grid: three waiting
        there to be handled or checked and two patrol reports first, then any. A random stream of its own: the other draws stay as they were."""
        home, self.home_worker = next(((grid_id, u) for grid_id, people in sorted(self.cast.grid["grid_worker"].items())
                                       for u in people if u.username == "gridworker"), (None, None))
        if home not in self.grids:
            self.home_worker = None
            return
        self.home_worker_grid = home
        rng = random.Random(len(self.stories))
        movable = [s for s in self.stories if s.channel != Channel.ENTERPRISE]
        waiting = [s for s in movable if s.fate == "open" and s.stop_at in (S.DISPATCHED, S.IN_PROGRESS, S.HANDLED)]
        chosen = rng.sample(waiting, min(len(waiting), 3))
        patrols = [s for s in movable if s.channel == Channel.PATROL and s not in chosen]
        chosen += rng.sample(patrols, min(len(patrols), 2))  # reported by the grid worker: their own patrols
        taken = {s.n for s in chosen}
        rest = [s for s in movable if s.n not in taken]
        chosen += rng.sample(rest, min(len(rest), max(0, round(HOME_SHARE * len(self.stories)) - len(chosen))))
        for story in chosen:
            story.grid = self.grids[home]
            story.point = self._inside(story.grid, rng=rng)

    def _place(self, story: _Story) -> None:
        rng = self.rng
        if story.channel == Channel.ENTERPRISE:
            story.grid = rng.choices(self.enterprise_grids, cum_weights=self.enterprise_weights)[0]
        else:
            story.grid = rng.choices(self.all_grids, cum_weights=self.grid_weights)[0]
        story.point = self._inside(story.grid)
        if story.channel == Channel.ENTERPRISE and self.enterprise_problems and rng.random() < 0.7:
            story.code = rng.choice(self.enterprise_problems)
        elif story.channel in CHANNEL_PROBLEMS:
            story.code = rng.choice([c for c in CHANNEL_PROBLEMS[story.channel] if c in self.categories])
        else:
            story.code = rng.choices(self.problems, cum_weights=self.problem_weights)[0]
        story.category_at_report = story.channel != Channel.APP or rng.random() < 0.75
        self._describe(story)

    def _describe(self, story: _Story) -> None:
        rng = self.rng
        answers, words = {}, {"spot": rng.choice(SPOTS)}
        if story.code in ("C0101", "C0102", "C0103", "C0105", "C0111"):
            answers["cover_state"] = rng.choice(list(COVER))
            words["cover"] = COVER[answers["cover_state"]]
        elif story.code == "C0120":
            answers["lamps_out"] = words["lamps"] = rng.randint(1, 6)
        elif story.code == "E0401":
            answers["traffic"] = rng.choice(("yes", "no"))
        elif story.code == "E0505" and rng.random() < 0.5:
            answers["plate"] = "辽L" + "".join(rng.choice("ABCDEFGHJK0123456789") for _ in range(5))
        story.answers, story.words = answers, words

    def _inside(self, grid: Grid, *, near: tuple[float, float] | None = None, metres: float = 0,
                rng: random.Random | None = None) -> tuple:
        """A uniform point inside the grid's polygon (or within `metres` of `near`, still inside it)."""
        rng = rng or self.rng
        poly = self.shapes.get(grid.pk)
        if poly is None:
            poly = self.shapes[grid.pk] = shape(grid.boundary)
        if near is None:
            min_lon, min_lat, max_lon, max_lat = poly.bounds
        else:
            d = metres / 111_000
            min_lon, min_lat, max_lon, max_lat = near[1] - d, near[0] - d, near[1] + d, near[0] + d
        for _try in range(1000):
            lon, lat = rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)
            if poly.contains(Point(lon, lat)):
                return lat, lon
        if near is not None:
            return near
        point = poly.representative_point()
        return point.y, point.x

    # --- the queue ------------------------------------------------------------------------------------------

    def _then(self, story: _Story, step: str, when: dt.datetime) -> None:
        """Queue the story's next step; one that would fall after `now` never happens (the case waits)."""
        when = when.replace(microsecond=0)
        if story.t is not None:
            when = max(when, story.t + dt.timedelta(seconds=1))
        if when > self.now:
            return
        heapq.heappush(self.queue, (when, next(self.seq), story.n, step))

    def run(self) -> None:
        while self.queue:
            when, _seq, n, step = heapq.heappop(self.queue)
            story = self.stories[n]
            story.t = when
            getattr(self, f"_{step}")(story, when)

    # --- times ----------------------------------------------------------------------------------------------

    def _minutes(self, t: dt.datetime, low: float, high: float) -> dt.datetime:
        return t + self.rng.uniform(low, high) * MINUTE

    def _desk(self, t: dt.datetime) -> dt.datetime:
        """The grid centre's desk works 07:30–21:30 every day; what arrives at night waits for the morning."""
        local = timezone.localtime(t, TZ)
        opens = local.replace(hour=7, minute=30, second=0)
        if local < opens:
            return self._minutes(opens, 0, 40)
        if local.hour * 60 + local.minute >= 21 * 60 + 30:
            return self._minutes(opens + dt.timedelta(days=1), 0, 40)
        return t

    def _working(self, t: dt.datetime, low: float, high: float) -> dt.datetime:
        return wc.add(t, round(self.rng.uniform(low, high), 3), LimitUnit.WORKING_HOURS)

    def _share_of_due(self, story: _Story, t: dt.datetime, low: float, high: float) -> dt.datetime:
        """A time `low`–`high` of the way from `t` to the running deadline, counted in the deadline's unit."""
        case = story.case
        _amount, unit = category_limit(category=self.categories[story.code], urgency=case.urgency,
                                       step=LimitStep.HANDLE)
        span = wc.elapsed(t, case.due_at, unit) if case.due_at else 0.0
        if span <= 0:
            return self._minutes(t, 30, 240)
        return wc.add(t, round(self.rng.uniform(low, high) * span, 4), unit)

    def _handled_at(self, story: _Story, t: dt.datetime) -> dt.datetime:
        if story.late:
            story.late = False
            return self._share_of_due(story, t, 1.1, 2.2)
        return self._share_of_due(story, t, 0.1, 0.85)

    # --- the steps ------------------------------------------------------------------------------------------

    def _report(self, story: _Story, t: dt.datetime) -> None:
        rng = self.rng
        if story.fate == "merge" and not self._copy_parent(story, t):
            story.fate = "normal"
        grid, category = story.grid, self.categories[story.code]
        problems = ENTERPRISE_PROBLEMS if story.code in ENTERPRISE_PROBLEMS else PROBLEMS
        description = rng.choice(problems[story.code][1]).format(**story.words)
        fields = {"description": description, "channel": story.channel, "lat": story.point[0],
                  "lon": story.point[1], "address": f"{grid.community.name}{grid.name}{story.words['spot']}"}
        if story.category_at_report:
            fields.update(category=category, answers=story.answers)
        channel = story.channel
        if channel == Channel.APP:
            actor = self.resident
            fields["is_anonymous"] = rng.random() < 0.15
        elif channel == Channel.ENTERPRISE:
            actor = self.enterprise
        elif channel == Channel.PATROL:
            actor = self.cast.in_grid(rng, grid.pk)
            if self.home_worker is not None and grid.pk == self.home_worker_grid:
                actor = self.home_worker  # the demo account patrols its own grid (the draw above still happens)
        elif channel == Channel.HOTLINE:
            actor = self.cast.over(rng, ("acceptor",), f"{CITY_CODE}/")
            fields.update(reporter_name=_person(rng), reporter_phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}")
        elif channel == Channel.COMMUNITY:
            actor = self.cast.over(rng, ("community_staff",), grid.community.path)
        else:  # video monitoring and department systems come in through the district's desk
            actor = self.cast.over(rng, ("acceptor",), ancestor_paths(grid.path)[1])
            if channel == Channel.DEPARTMENT:
                fields["external_ref"] = f"{DEPARTMENT_REFS.get(story.code, 'GA')}-{t:%Y%m%d%H%M%S}-{rng.randrange(10**4):04d}"
        story.reporter = actor
        story.case = cs.case_report(actor=actor, now=t, **fields)
        story.grid = self.grids[story.case.grid_id]
        if story.stop_at == S.REPORTED:
            return
        if story.fate == "self_handle":
            self._then(story, "self_handle", self._minutes(t, 5, 40))
        elif story.slow_response:
            self._then(story, "accept", self._desk(t + rng.uniform(3, 9) * HOUR))
        elif story.case.urgency in (Urgency.RED, Urgency.ORANGE):
            self._then(story, "accept", self._minutes(t, 2, 12))
        else:
            self._then(story, "accept", self._desk(self._minutes(t, 3, 45)))

    def _copy_parent(self, story: _Story, t: dt.datetime) -> bool:
        """A duplicate: someone else reports an open case's problem, a few metres from it, within days."""
        candidates = [s for s in self.stories[:story.n]
                      if s.case is not None and s.case.status in MERGEABLE and s.fate not in ("merge", "self_handle")
                      and s.case.parent_id is None and t - s.at <= dt.timedelta(days=5) and s.code in PROBLEMS]
        if not candidates:
            return False
        parent = self.rng.choice(candidates)
        story.parent, story.grid, story.code = parent, parent.grid, parent.code
        story.point = self._inside(parent.grid, near=(parent.case.lat, parent.case.lon), metres=25)
        story.category_at_report = True
        self._describe(story)
        return True

    def _accept(self, story: _Story, t: dt.datetime) -> None:
        rng, case = self.rng, story.case
        actor = self.cast.over(rng, DESK, case.level_path)
        if story.fate == "reject":
            story.case = cs.case_reject(actor=actor, case=case, reason=rng.choice(REASONS["reject"]), now=t)
            return
        parent = story.parent
        if story.fate == "merge" and parent is not None and parent.case.status in MERGEABLE:
            story.case = cs.case_merge(actor=actor, case=case, into=parent.case, reason="同一问题已在办理", now=t)
            parent.children.append(story)
            return
        category = None if case.category_id else self.categories[story.code]
        story.case = cs.case_accept(actor=actor, case=case, category=category, now=t)
        if story.stop_at == S.ACCEPTED:
            return
        if story.fate == "escalate":
            self._then(story, "escalate", self._minutes(t, 20, 180))
        else:
            self._then(story, "file", self._minutes(t, 2, 15))

    def _escalate(self, story: _Story, t: dt.datetime) -> None:
        """基层难题上报 then 街道吹哨: the community passes it to the street, the street to the district."""
        case = story.case
        if story.escalations == 0:
            actor = self.cast.over(self.rng, ("community_staff",), case.level_path)
            story.case = cs.case_escalate(actor=actor, case=case, reason="社区协调未果，提请街道处置", now=t)
            self._then(story, "file", self._minutes(t, 10, 120))
        else:
            actor = self.cast.over(self.rng, DECIDE, case.level_path)
            story.case = cs.case_escalate(actor=actor, case=case, reason="街道吹哨：需区级职能部门报到，协同处置",
                                          now=t)
            self._then(story, "dispatch", self._minutes(t, 15, 180))
        story.escalations += 1

    def _file(self, story: _Story, t: dt.datetime) -> None:
        rng, case = self.rng, story.case
        urgency = None
        if case.urgency == Urgency.YELLOW and not story.stop_at and rng.random() < 0.1:
            urgency = Urgency.ORANGE if rng.random() < 0.8 else Urgency.RED
        actor = self.cast.over(rng, ("shift_lead",), case.level_path)
        story.case = cs.case_file(actor=actor, case=case, urgency=urgency, now=t)
        if story.stop_at == S.FILED:
            return
        if story.fate == "escalate" and story.escalations == 1:
            self._then(story, "escalate", self._minutes(t, 30, 240))
        else:
            self._then(story, "dispatch", self._minutes(t, 1, 20))

    def _unit_for(self, story: _Story) -> Unit:
        """The matrix's suggestion; the street office when it names nobody; a district's own department once
        the district holds the case."""
        case = story.case
        unit = self.units.get(case.routing.get("suggested_unit"))
        paths = ancestor_paths(case.region_path)
        street_office = self.unit_by_code.get(f"O-{paths[2].strip('/').split('/')[-1]}")
        if unit is None or not self.cast.has_staff(unit.pk):
            unit = street_office
        if case.level_path == paths[1] and unit.kind == UnitKind.STREET_OFFICE:
            unit = self._district_unit(case, "CG")
        return unit

    def _district_unit(self, case: Case, suffix: str) -> Unit:
        district = ancestor_paths(case.region_path)[1].strip("/").split("/")[-1]
        return self.unit_by_code[f"D-{district}-{suffix}"]

    def _dispatch(self, story: _Story, t: dt.datetime) -> None:
        rng, case = self.rng, story.case
        unit = story.next_unit or self._unit_for(story)
        story.next_unit = None
        assisting = []
        police = self._district_unit(case, "GA")
        if rng.random() < 0.05 and police.pk != unit.pk:
            assisting.append(police)
        actor = self.cast.over(rng, DISPATCH, case.level_path)
        story.case = cs.case_dispatch(actor=actor, case=case, unit=unit, assisting=assisting, now=t)
        if story.stop_at == S.DISPATCHED:
            return
        if story.fate == "return" and not story.returned:
            self._then(story, "return", self._working(t, 0.2, 3))
        elif story.fate == "void":
            self._then(story, "void", self._desk(self._minutes(t, 60, 480)))
        else:
            self._then(story, "sign", self._signed_at(story, t))

    def _signed_at(self, story: _Story, t: dt.datetime) -> dt.datetime:
        _amount, unit = category_limit(category=self.categories[story.code], urgency=story.case.urgency,
                                       step=LimitStep.HANDLE)
        if unit == LimitUnit.NATURAL_HOURS:  # urgent work is taken on at once, day or night
            return self._minutes(t, 3, 25)
        return self._working(t, 0.05, 1.2)

    def _return(self, story: _Story, t: dt.datetime) -> None:
        case = story.case
        returned = self.units[case.lead_unit_id]
        actor = self.cast.in_unit(self.rng, case.lead_unit_id)
        story.case = cs.case_return(actor=actor, case=case, reason=self.rng.choice(REASONS["return"]), now=t)
        story.returned = True
        if returned.kind == UnitKind.STREET_OFFICE:
            story.next_unit = self._district_unit(case, "CG")
        else:
            street = ancestor_paths(case.region_path)[2].strip("/").split("/")[-1]
            story.next_unit = self.unit_by_code[f"O-{street}"]
        if story.stop_at == S.RETURNED:
            return
        self._then(story, "dispatch", self._desk(self._minutes(t, 10, 90)))

    def _sign(self, story: _Story, t: dt.datetime) -> None:
        case = story.case
        story.case = cs.case_sign(actor=self.cast.in_unit(self.rng, case.lead_unit_id), case=case, now=t)
        if story.stop_at == S.IN_PROGRESS:
            return
        if story.fate == "park" and not story.parked:
            self._then(story, "park", self._working(t, 1, 16))
        elif story.fate == "extension" and not story.extended:
            self._then(story, "extend", self._share_of_due(story, t, 0.3, 0.7))
        elif story.fate == "supervise" and not story.supervised:
            self._then(story, "supervise", self._share_of_due(story, t, 0.2, 0.6))
        else:
            self._then(story, "feedback", self._handled_at(story, t))

    def _extend(self, story: _Story, t: dt.datetime) -> None:
        rng, case = self.rng, story.case
        cs.case_extend(actor=self.cast.in_unit(rng, case.lead_unit_id), case=case, amount=rng.choice((1, 2, 3, 5)),
                       unit=LimitUnit.WORKING_DAYS, reason=rng.choice(REASONS["extension"]), now=t)
        story.extended = True
        self._then(story, "decide_extension", self._desk(self._minutes(t, 30, 360)))

    def _decide_extension(self, story: _Story, t: dt.datetime) -> None:
        rng, case = self.rng, story.case
        approve = rng.random() < 0.7
        cs.case_decide_extension(actor=self.cast.over(rng, DECIDE, case.level_path), case=case, approve=approve,
                                 note="同意延期" if approve else "理由不充分，请按原时限办结", now=t)
        case.refresh_from_db()
        story.late = not approve and rng.random() < 0.5
        self._then(story, "feedback", self._handled_at(story, t))

    def _supervise(self, story: _Story, t: dt.datetime) -> None:
        rng, case = self.rng, story.case
        action = rng.choices((SuperviseAction.URGE, SuperviseAction.FLAG, SuperviseAction.DEADLINE), (6, 2.5, 1.5))[0]
        due = (t + rng.uniform(20, 60) * HOUR).replace(microsecond=0) if action == SuperviseAction.DEADLINE else None
        cs.case_supervise(actor=self.cast.over(rng, ("leader",), case.region_path), case=case, action=action,
                          note=rng.choice(REASONS["supervise"]), due_at=due, now=t)
        case.refresh_from_db()
        story.supervised, story.late = True, False
        self._then(story, "feedback", self._handled_at(story, t))

    def _park(self, story: _Story, t: dt.datetime) -> None:
        rng, case = self.rng, story.case
        story.case = cs.case_park(actor=self.cast.over(rng, ("shift_lead",), case.level_path), case=case,
                                  reason=rng.choice(REASONS["park"]), now=t)
        story.parked = True
        if story.stop_at == S.PARKED:
            return
        self._then(story, "resume", self._desk(t + rng.uniform(3, 25) * 24 * HOUR))

    def _resume(self, story: _Story, t: dt.datetime) -> None:
        case = story.case
        story.case = cs.case_resume(actor=self.cast.over(self.rng, ("shift_lead",), case.level_path), case=case,
                                    note="协调已到位，恢复办理", now=t)
        self._then(story, "feedback", self._handled_at(story, t))

    def _void(self, story: _Story, t: dt.datetime) -> None:
        case = story.case
        story.case = cs.case_void(actor=self.cast.over(self.rng, ("shift_lead",), case.level_path), case=case,
                                  reason=self.rng.choice(REASONS["void"]), now=t)

    def _feedback(self, story: _Story, t: dt.datetime) -> None:
        case = story.case
        problems = ENTERPRISE_PROBLEMS if story.code in ENTERPRISE_PROBLEMS else PROBLEMS
        story.case = cs.case_feedback(actor=self.cast.in_unit(self.rng, case.lead_unit_id), case=case,
                                      result=problems[story.code][2], now=t)
        if story.stop_at == S.HANDLED:
            return
        self._then(story, "verify", self._checked_at(story, t))

    def _checked_at(self, story: _Story, t: dt.datetime) -> dt.datetime:
        if self.rng.random() < LATE_CHECK:
            return self._minutes(t, 150, 480)
        if story.case.urgency == Urgency.RED:
            return self._minutes(t, 8, 50)
        return self._minutes(t, 15, 100)

    def _self_handle(self, story: _Story, t: dt.datetime) -> None:
        problems = ENTERPRISE_PROBLEMS if story.code in ENTERPRISE_PROBLEMS else PROBLEMS
        story.case = cs.case_self_handle(actor=story.reporter, case=story.case, result=f"已现场处置：{problems[story.code][2]}",
                                         attachments=[_after_photo(story.case.number)], now=t)
        self._then(story, "verify", self._minutes(t, 20, 110))

    def _verifier(self, story: _Story) -> User:
        """The grid's grid worker checks on site; a case its grid worker handled himself, the community."""
        case = story.case
        worker = self.cast.in_grid(self.rng, case.grid_id) if case.grid_id else None
        if worker is None or case.self_handled_by_id == worker.pk:
            return self.cast.over(self.rng, ("community_staff",), case.region_path, exclude=case.self_handled_by_id)
        return worker

    def _verify(self, story: _Story, t: dt.datetime) -> None:
        rng, case = self.rng, story.case
        actor = self._verifier(story)
        if story.fate == "rework" and not story.reworked:
            story.case = cs.case_rework(actor=actor, case=case, reason=rng.choice(REASONS["rework"]), now=t)
            story.reworked = True
            if story.case.status == S.IN_PROGRESS:
                self._then(story, "feedback", self._handled_at(story, t))
            else:
                self._then(story, "dispatch", self._desk(self._minutes(t, 5, 30)))
            return
        story.case = cs.case_verify(actor=actor, case=case, note="现场核查属实，问题已解决", now=t)
        children, story.children = story.children, []  # closed with it, once
        for child in children:  # each reporter of a duplicate rates the outcome too
            child.t = t
            self._maybe_rate(child, t)
        self._maybe_rate(story, t)

    def _maybe_rate(self, story: _Story, t: dt.datetime) -> None:
        if story.reporter is None or story.reporter.pk != story.case.reporter_id:
            return
        if story.fate == "reopen" or self.rng.random() < RATED:
            self._then(story, "rate", self._desk(t + self.rng.uniform(0.5, 30) * HOUR))

    def _rate(self, story: _Story, t: dt.datetime) -> None:
        rng = self.rng
        if story.fate == "reopen" and not story.reopened:
            rating = Rating.UNSATISFIED
        else:
            ratings = dict(RATINGS)
            if story.reopened:
                ratings.pop(Rating.UNSATISFIED)
            rating = rng.choices(list(ratings), list(ratings.values()))[0]
        story.case = cs.case_rate(actor=story.reporter, case=story.case, rating=rating,
                                  comment=rng.choice(COMMENTS[rating]), now=t)
        if story.fate == "reopen" and not story.reopened:
            self._then(story, "reopen", self._desk(t + rng.uniform(2, 20) * HOUR))

    def _reopen(self, story: _Story, t: dt.datetime) -> None:
        case = story.case
        story.case = cs.case_reopen(actor=self.cast.over(self.rng, ("shift_lead",), case.level_path), case=case,
                                    reason="群众对处置结果不满意，经审核同意重办", now=t)
        story.reopened = True
        if story.case.status == S.DISPATCHED:
            self._then(story, "sign", self._signed_at(story, t))
        else:
            self._then(story, "dispatch", self._minutes(t, 5, 30))
