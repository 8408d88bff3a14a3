"""Builds the demo city, deterministically: the Panjin-shaped region tree and grids (through the GeoJSON
import service), the category catalogue, units, joint committees, the responsibility matrix, grid staff and
the demo accounts."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction

from yiwang.accounts.models import Role, RoleAssignment, User
from yiwang.core.models import AuditEntry
from yiwang.core.services import audit_entry, bulk_create_journaled
from yiwang.demo.citygen import generate_city
from yiwang.geo.choices import GridDuty, GridKind, RegionLevel
from yiwang.geo.models import Grid, GridStaff, Region
from yiwang.geo.transfer import regions_import
from yiwang.org.catalogue_csv import FIXTURE as CATALOGUE_FIXTURE
from yiwang.org.choices import CommitteeKind, PartyLevel, UnitKind
from yiwang.org.models import Category, CommitteeMembership, ResponsibilityRule, Unit
from yiwang.org.selectors import catalogue_for
from yiwang.org.services import catalogue_load_csv

CITY_CODE = "211100000000"
DEMO_PASSWORD = "yiwang-demo"
START = dt.date(2026, 1, 1)

# (code suffix, name, short name) — the departments every district (and the city) has.
DEPARTMENTS = [
    ("GA", "公安分局", "公安"), ("CG", "城市管理综合行政执法局", "城管"), ("HB", "生态环境分局", "环保"),
    ("SL", "水利局", "水利"), ("ZJ", "住房和城乡建设局", "住建"), ("SJ", "市场监督管理局", "市场监管"),
    ("YJ", "应急管理局", "应急"), ("MZ", "民政局", "民政"),
]
# Major category → the department that handles it (by code suffix); anything else falls back to 城管 at the
# district and to the street office within a street.
MATRIX = {"E01": "CG", "E02": "CG", "E03": "ZJ", "E04": "YJ", "E05": "CG", "C01": "SL", "C02": "GA",
          "C03": "CG", "C04": "CG", "C05": "ZJ", "S01": "MZ", "S02": "MZ", "S03": "YJ", "S04": "SJ"}
UTILITIES = [("GS", "盘锦市供水有限公司"), ("GD", "国网盘锦供电公司"), ("RQ", "盘锦市燃气有限公司"),
             ("RL", "盘锦市热力有限公司")]
UTILITY_CATEGORIES = {"E0402": "GS", "S0202": "GS", "E0403": "RQ", "E0405": "RL", "S0201": "RL", "E0408": "GD"}

DEMO_ACCOUNTS = [
    # username, real name, role, scope description
    ("admin", "王建国", "admin", "city"),
    ("acceptor", "李晓梅", "acceptor", "district"),
    ("shiftlead", "张立新", "shift_lead", "district"),
    ("dispatcher", "刘海燕", "dispatcher", "district"),
    ("dispatcher2", "陈志强", "dispatcher", "district2"),
    ("unit", "赵国庆", "unit_staff", "unit"),
    ("gridworker", "孙丽娟", "grid_worker", "grid"),
    ("community", "周红霞", "community_staff", "community"),
    ("leader", "吴振华", "leader", "city"),
    ("resident", "郑秀英", "resident", "own"),
    ("enterprise", "冯德胜", "enterprise", "own"),
    ("partymember", "何建军", "party_member", "own"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国文辉玲红梅鑫波斌宇浩凯健俊帆帅旭宁"


@dataclass
class DemoReport:
    regions: int
    grids: int
    units: int
    users: int


def demo_loaded() -> bool:
    return Region.objects.filter(code=CITY_CODE).exists()


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _phone(n: int) -> str:
    return f"139{n:08d}"[:11]


@transaction.atomic
def demo_city_build(*, seed: int = 2022) -> DemoReport:
    rng = random.Random(seed)
    city = generate_city(seed=seed)
    features = [
        {"type": "Feature", "geometry": r.geometry,
         "properties": {"level": r.level, "code": r.code, "name": r.name, "parent": r.parent_code, "urban": r.urban}}
        for r in city.regions
    ] + [
        {"type": "Feature", "geometry": g.geometry,
         "properties": {"level": "grid", "code": g.code, "name": g.name, "parent": g.community_code, "kind": g.kind,
                        "households": g.households, "population": g.population}}
        for g in city.grids
    ]
    regions_import(actor=None, data={"type": "FeatureCollection", "features": features}, source="seed_demo")
    reason = "seed_demo"

    # Categories: the national catalogue, which migration org.0003 installs; loaded here if it is missing.
    catalogue = catalogue_for(path="") or catalogue_load_csv(actor=None, path_or_file=CATALOGUE_FIXTURE,
                                                             reason=reason)
    categories: dict[str, Category] = {c.code: c for c in catalogue.categories.all()}

    regions = {r.code: r for r in Region.objects.all()}
    by_level: dict[str, list[Region]] = {}
    for region in sorted(regions.values(), key=lambda r: r.path):
        by_level.setdefault(region.level, []).append(region)
    city_region = regions[CITY_CODE]

    units: list[Unit] = []

    def unit(code, name, kind, region, parent=None, party_level="", short=""):
        u = Unit(code=code, name=name, kind=kind, region=region, region_path=region.path, parent=parent,
                 party_level=party_level, short_name=short, contact_phone=f"0427-{rng.randint(2000000, 8999999)}")
        units.append(u)
        return u

    city_party = unit("P-" + CITY_CODE, "中共盘锦市委员会", UnitKind.PARTY_ORGANISATION, city_region,
                      party_level=PartyLevel.COMMITTEE, short="市委")
    city_depts = {s: unit(f"D-{CITY_CODE}-{s}", "盘锦市" + n.replace("分局", "局"), UnitKind.DEPARTMENT, city_region,
                          short=sh) for s, n, sh in DEPARTMENTS}
    utilities = {s: unit(f"U-{s}", n, UnitKind.UTILITY, city_region) for s, n in UTILITIES}
    unit("S-" + CITY_CODE, "盘锦市志愿服务联合会", UnitKind.SOCIAL_ORGANISATION, city_region)
    district_depts: dict[str, dict[str, Unit]] = {}
    street_offices: dict[str, Unit] = {}
    community_committees: dict[str, Unit] = {}
    community_party: dict[str, Unit] = {}
    property_companies: dict[str, list[Unit]] = {}
    for district in by_level[RegionLevel.DISTRICT]:
        party = unit("P-" + district.code, f"中共{district.name}委员会", UnitKind.PARTY_ORGANISATION, district,
                     parent=city_party, party_level=PartyLevel.COMMITTEE, short="区委")
        district_depts[district.code] = {
            s: unit(f"D-{district.code}-{s}", district.name + n, UnitKind.DEPARTMENT, district,
                    parent=city_depts[s], short=sh)
            for s, n, sh in DEPARTMENTS
        }
        unit("S-" + district.code, f"{district.name}社会工作协会", UnitKind.SOCIAL_ORGANISATION, district)
        district_party = party
        for street in [s for s in by_level[RegionLevel.STREET] if s.parent_id == district.pk]:
            office_kind = "办事处" if street.name.endswith("街道") else "人民政府"
            street_offices[street.code] = unit("O-" + street.code, street.name + office_kind, UnitKind.STREET_OFFICE,
                                               street, short=street.name)
            street_party = unit("P-" + street.code, f"中共{street.name}{'工作委员会' if street.is_urban else '委员会'}",
                                UnitKind.PARTY_ORGANISATION, street, parent=district_party,
                                party_level=PartyLevel.WORKING_COMMITTEE if street.is_urban else PartyLevel.COMMITTEE)
            if street.is_urban:
                property_companies[street.code] = [
                    unit(f"W-{street.code}-{i}", f"盘锦{street.name[:2]}{name}物业服务有限公司",
                         UnitKind.PROPERTY_COMPANY, street)
                    for i, name in enumerate(("安居", "嘉园"), start=1)
                ]
            for community in [c for c in by_level[RegionLevel.COMMUNITY] if c.parent_id == street.pk]:
                village = community.name.endswith("村")
                community_committees[community.code] = unit(
                    "C-" + community.code, community.name + ("村民委员会" if village else "居民委员会"),
                    UnitKind.COMMUNITY_COMMITTEE, community, parent=street_offices[street.code])
                community_party[community.code] = unit(
                    "P-" + community.code, f"中共{community.name}{'支部委员会' if village else '委员会'}",
                    UnitKind.PARTY_ORGANISATION, community, parent=street_party,
                    party_level=PartyLevel.BRANCH if village else PartyLevel.COMMITTEE)
    grids = list(Grid.objects.select_related("community").order_by("path"))
    grid_party: dict[int, Unit] = {}
    for grid in grids:
        if grid.kind == GridKind.RESIDENTIAL:
            grid_party[grid.pk] = unit("P-" + grid.code, f"{grid.name}党小组", UnitKind.PARTY_ORGANISATION,
                                       grid.community, parent=community_party[grid.community.code],
                                       party_level=PartyLevel.GROUP)
    # Parents first, so each bulk insert can reference ids that exist.
    for _depth in range(6):
        layer = [u for u in units if u.pk is None and (u.parent is None or u.parent.pk is not None)]
        for u in layer:
            u.parent_id = u.parent.pk if u.parent else None
        bulk_create_journaled(actor=None, objs=layer, action="unit.seed", reason=reason, path_attr="region_path")
        if all(u.pk for u in units):
            break
    with_party = [grid for grid in grids if grid.pk in grid_party]
    for grid in with_party:
        grid.party_organisation_id = grid_party[grid.pk].pk
    Grid.objects.bulk_update(with_party, ["party_organisation"], batch_size=1000)
    AuditEntry.objects.bulk_create(
        [audit_entry(actor=None, action="grid.seed_party", obj=grid, before={"party_organisation_id": None},
                     after={"party_organisation_id": grid.party_organisation_id}, reason=reason, scope_path=grid.path)
         for grid in with_party], batch_size=1000)

    # Joint committees: departments, utilities and companies that signed co-building agreements.
    memberships = []
    for street in by_level[RegionLevel.STREET]:
        depts = district_depts[street.parent.code]
        members = [depts["GA"], depts["CG"], depts["SJ"], *property_companies.get(street.code, [])][:4]
        memberships += [CommitteeMembership(committee_kind=CommitteeKind.STREET_JOINT_WORKING_COMMITTEE, host=street,
                                            host_path=street.path, unit=m, position="兼职委员",
                                            agreement_signed_on=START, valid_from=START) for m in members]
    for community in by_level[RegionLevel.COMMUNITY]:
        street_code = community.parent.code
        members = [street_offices[street_code], *property_companies.get(street_code, [])[:1]]
        memberships += [CommitteeMembership(committee_kind=CommitteeKind.COMMUNITY_JOINT_PARTY_COMMITTEE,
                                            host=community, host_path=community.path, unit=m, position="兼职委员",
                                            agreement_signed_on=START, valid_from=START) for m in members]
    bulk_create_journaled(actor=None, objs=memberships, action="committee.seed", reason=reason, path_attr="host_path")

    # Responsibility matrix: per district by major category, utilities city-wide for their subcategories,
    # and a fallback at every district (城管) and street (the street office).
    rules = []
    for district in by_level[RegionLevel.DISTRICT]:
        depts = district_depts[district.code]
        rules += [ResponsibilityRule(category=categories[major], region=district, region_path=district.path,
                                     unit=depts[suffix]) for major, suffix in MATRIX.items() if major in categories]
        rules.append(ResponsibilityRule(category=None, region=district, region_path=district.path, unit=depts["CG"],
                                        note="区级兜底"))
    rules += [ResponsibilityRule(category=categories[code], region=city_region, region_path=city_region.path,
                                 unit=utilities[suffix]) for code, suffix in UTILITY_CATEGORIES.items()
              if code in categories]
    rules.append(ResponsibilityRule(category=None, region=city_region, region_path=city_region.path,
                                    unit=city_depts["CG"], note="市级兜底"))
    for street in by_level[RegionLevel.STREET]:
        rules.append(ResponsibilityRule(category=None, region=street, region_path=street.path,
                                        unit=street_offices[street.code], note="街道兜底"))
    bulk_create_journaled(actor=None, objs=rules, action="responsibility.seed", reason=reason,
                          path_attr="region_path")

    # People: a full-time worker per grid, a leader per community, an instructor per street, and police
    # officers as functional members — the "1+1+1+N" model. Only demo accounts can sign in.
    password_hash = make_password(DEMO_PASSWORD)
    roles = {r.code: r for r in Role.objects.all()}
    people: list[User] = []

    def person(username, region=None, unit=None, real_name=None, usable=False):
        n = len(people) + 1
        user = User(username=username, real_name=real_name or _person(rng), phone=_phone(n), region=region,
                    region_path=region.path if region else "", unit=unit,
                    password=password_hash if usable else make_password(None))
        people.append(user)
        return user

    community_leaders = {c.code: person(f"sq{c.code}", region=c, unit=community_committees[c.code])
                         for c in by_level[RegionLevel.COMMUNITY]}
    street_instructors = {s.code: person(f"jd{s.code}", region=s, unit=street_offices[s.code])
                          for s in by_level[RegionLevel.STREET]}
    street_police = {s.code: person(f"ga{s.code}", region=s, unit=district_depts[s.parent.code]["GA"])
                     for s in by_level[RegionLevel.STREET]}
    grid_workers = {g.pk: person(f"wg{g.code}", region=g.community, unit=community_committees[g.community.code])
                    for g in grids}

    district = next(d for d in by_level[RegionLevel.DISTRICT] if d.code == "211103000000")
    district2 = next(d for d in by_level[RegionLevel.DISTRICT] if d.code == "211102000000")
    demo_grid = next(g for g in grids if g.path.startswith(district.path) and g.kind == GridKind.RESIDENTIAL)
    demo_community = demo_grid.community
    demo_unit = district_depts[district.code]["CG"]
    scopes = {"city": ("region", city_region), "district": ("region", district), "district2": ("region", district2),
              "unit": ("unit", demo_unit), "grid": ("grid", demo_grid), "community": ("region", demo_community),
              "own": (None, None)}
    demo_users = {}
    for username, real_name, _role_code, scope in DEMO_ACCOUNTS:
        kind, target = scopes[scope]
        home = {"region": target, "grid": demo_community, "unit": demo_unit.region}.get(kind, demo_community)
        demo_users[username] = person(username, region=home, unit=demo_unit if kind == "unit" else None,
                                      real_name=real_name, usable=True)
    # The desks and units that work the cases (yiwang.demo.history acts through them): an acceptor (受理), a
    # shift leader (值班长) and a dispatcher (派遣) at every street, district and the city, a leader (督办) at
    # every district, the 12345 hotline seats at the city, and one member of staff in every unit the matrix or
    # a dispatcher can send a case to.
    desks: list[tuple[User, str, str, object]] = []
    for region in [*by_level[RegionLevel.STREET], *by_level[RegionLevel.DISTRICT], city_region]:
        for prefix, role_code in (("sl", "acceptor"), ("zb", "shift_lead"), ("pq", "dispatcher")):
            desks.append((person(f"{prefix}{region.code}", region=region), role_code, "region", region))
    for region in by_level[RegionLevel.DISTRICT]:
        desks.append((person(f"ld{region.code}", region=region), "leader", "region", region))
    for n in range(1, 4):
        desks.append((person(f"rx12345-{n}", region=city_region), "acceptor", "region", city_region))
    handling = [*city_depts.values(), *utilities.values(), *street_offices.values(),
                *(u for depts in district_depts.values() for u in depts.values())]
    for u in handling:
        desks.append((person(f"cb-{u.code}", region=u.region, unit=u), "unit_staff", "unit", u))
    for user in people:
        user.is_staff = not user.username.startswith(("resident", "enterprise", "partymember"))
    bulk_create_journaled(actor=None, objs=people, action="user.seed", reason=reason, path_attr="region_path",
                          batch_size=1000)

    staff = []
    for grid in grids:
        c, s = grid.community.code, grid.community.parent.code
        staff += [
            GridStaff(grid=grid, user=grid_workers[grid.pk], duty=GridDuty.FULL_TIME, path=grid.path, valid_from=START),
            GridStaff(grid=grid, user=community_leaders[c], duty=GridDuty.LEADER, path=grid.path, valid_from=START),
            GridStaff(grid=grid, user=street_instructors[s], duty=GridDuty.INSTRUCTOR, path=grid.path,
                      valid_from=START),
            GridStaff(grid=grid, user=street_police[s], duty=GridDuty.FUNCTIONAL, path=grid.path, valid_from=START,
                      unit=street_police[s].unit),
        ]
    staff.append(GridStaff(grid=demo_grid, user=demo_users["gridworker"], duty=GridDuty.FULL_TIME,
                           path=demo_grid.path, valid_from=START))
    bulk_create_journaled(actor=None, objs=staff, action="grid_staff.seed", reason=reason, path_attr="path",
                          batch_size=1000)

    assignments = []

    def assign(user, role_code, kind, target):
        a = RoleAssignment(user=user, role=roles[role_code], valid_from=START)
        if kind == "region":
            a.region, a.scope_path = target, target.path
        elif kind == "grid":
            a.grid, a.scope_path = target, target.path
        elif kind == "unit":
            a.unit, a.scope_path = target, target.region_path
        else:
            a.scope_path = user.region_path
        assignments.append(a)

    for grid in grids:
        assign(grid_workers[grid.pk], "grid_worker", "grid", grid)
    for code, user in community_leaders.items():
        assign(user, "community_staff", "region", regions[code])
    for code, user in street_instructors.items():
        assign(user, "community_staff", "region", regions[code])
    for user in street_police.values():
        assign(user, "unit_staff", "unit", user.unit)
    for username, _real_name, role_code, scope in DEMO_ACCOUNTS:
        kind, target = scopes[scope]
        assign(demo_users[username], role_code, kind, target)
    for user, role_code, kind, target in desks:
        assign(user, role_code, kind, target)
    bulk_create_journaled(actor=None, objs=assignments, action="role.seed", reason=reason, path_attr="scope_path",
                          batch_size=1000)
    return DemoReport(regions=len(regions), grids=len(grids), units=len(units), users=len(people))


def demo_accounts() -> list[tuple[str, str, str, str]]:
    """(username, real name, role, scope) of the demo accounts as stored now."""
    names = [username for username, *_rest in DEMO_ACCOUNTS]
    rows = RoleAssignment.objects.filter(user__username__in=names).select_related("user", "role", "region", "grid",
                                                                                   "unit")
    by_user = {a.user.username: a for a in rows}
    return [(n, by_user[n].user.real_name, str(by_user[n].role), by_user[n].scope_label) for n in names if n in by_user]


DEMO_OPEN311_KEY = "yiwang-demo-key"  # published in the README: for the demo only


def demo_open311_client():
    """The demo's Open311 client system, with the key `yiwang-demo-key` for the whole demo city (issued through
    the service, once). None before the city is built."""
    from yiwang.open311.models import ApiClient
    from yiwang.open311.services import api_client_issue

    city = Region.objects.filter(code=CITY_CODE).first()
    if city is None:
        return None
    existing = ApiClient.objects.filter(key_prefix=DEMO_OPEN311_KEY[:8]).first()
    if existing is not None:
        return existing
    client, _key = api_client_issue(actor=None, name="盘锦市民通（演示）", region=city, key=DEMO_OPEN311_KEY,
                                    contact="demo", reason="seed_demo")
    return client
